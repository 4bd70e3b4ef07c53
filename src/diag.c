/* diag.c - diagnostics in stap's layout.
 *
 *   parse error: expected literal string or number
 *           saw: operator '}' at <input>:1:24
 *        source: probe begin { x = 1 +  }
 *                                       ^
 *
 *   semantic error: unresolved function foo: identifier 'foo' at <input>:1:19
 *           source: probe begin { x = foo(1) }
 *                                     ^
 */
#include "stap.h"

#include <stdlib.h>
#include <string.h>

const char *diag_source_line(const SrcFile *f, int line)
{
	static char *buf;
	if (!f || !f->text || line < 1)
		return "";
	const char *p = f->text;
	for (int i = 1; i < line && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return "";
	const char *e = strchr(p, '\n');
	size_t n = e ? (size_t)(e - p) : strlen(p);
	free(buf);
	buf = xstrndup(p, n);
	return buf;
}

/* "source: LINE" then a caret under column col; `label_width` is the width
 * of the label column so that "source:" lines up with "saw:". */
static void print_source(const SrcLoc *loc, int label_width)
{
	if (!loc->file || loc->line < 1)
		return;
	const char *line = diag_source_line(loc->file, loc->line);
	fprintf(stderr, "%*s %s\n", label_width, "source:", line);
	StrBuf b = {0};
	for (int i = 0; i < label_width + 1; i++)
		sb_putc(&b, ' ');
	size_t len = strlen(line);
	for (int i = 0; i + 1 < loc->col && (size_t)i < len; i++)
		sb_putc(&b, line[i] == '\t' ? '\t' : ' ');
	sb_putc(&b, '^');
	fprintf(stderr, "%s\n", b.s);
	free(b.s);
}

static void print_where(const SrcLoc *loc)
{
	if (loc->file)
		fprintf(stderr, " at %s:%d:%d", loc->file->name, loc->line, loc->col);
}

static void report(struct Session *s, SrcLoc loc, const char *kind, const char *saw,
		   const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", kind);
	vfprintf(stderr, fmt, ap);
	if (saw) {
		/* parse layout: labels right-aligned in 12 columns, as stap */
		fprintf(stderr, "\n%*s %s", 12, "saw:", saw);
		print_where(&loc);
		fputc('\n', stderr);
		print_source(&loc, 12);
	} else {
		print_where(&loc);
		fputc('\n', stderr);
		print_source(&loc, (int)strlen(kind) + 1);
	}
	/* errors are followed by a blank line, warnings are not (as stap) */
	if (strcmp(kind, "WARNING") != 0)
		fputc('\n', stderr);
	(void)s;
}

void diag_error(struct Session *s, SrcLoc loc, const char *kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(s, loc, kind, NULL, fmt, ap);
	va_end(ap);
	if (s)
		s->errors++;
}

void diag_parse_error(struct Session *s, SrcLoc loc, const char *saw, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(s, loc, "parse error", saw, fmt, ap);
	va_end(ap);
	if (s)
		s->errors++;
}

void diag_warning(struct Session *s, SrcLoc loc, const char *fmt, ...)
{
	if (s && s->suppress_warnings)
		return;
	va_list ap;
	va_start(ap, fmt);
	report(s, loc, "WARNING", NULL, fmt, ap);
	va_end(ap);
	if (s) {
		s->warnings++;
		if (s->warnings_are_errors)
			s->errors++;
	}
}

void diag_fatal(struct Session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("stap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (s)
		s->errors++;
}
