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
 *
 * As stap, a semantic error or warning whose location is in the same file
 * as the last one shown says ":LINE:COL" without the file's name, and a
 * message already shown once is not shown again (unless -v): the number
 * of such repeats is printed at the end of the run.  "Already shown" is
 * stap's notion: a warning with the same text, whatever token it names
 * (the ": identifier 'x'" at its end); an error raised by the same check,
 * whatever it names (stap keys errors on the place in its source that
 * raises them: here, the format of the message).
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

/* " at FILE:LINE:COL"; with `short_form`, FILE is left out when it is
 * the file of the last location so shown. */
static void print_where(struct Session *s, const SrcLoc *loc, bool short_form)
{
	if (!loc->file)
		return;
	bool same = short_form && s && s->diag_last_file == loc->file;
	fprintf(stderr, " at %s:%d:%d", same ? "" : loc->file->name, loc->line, loc->col);
	if (short_form && s)
		s->diag_last_file = loc->file;
}

bool diag_first_time(struct Session *s, const char *kind, const char *msg)
{
	if (!s || s->verbose)
		return true;
	char *key = xasprintf("%s: %s", kind, msg);
	for (int i = 0; i < s->diag_shown.len; i++) {
		if (strcmp(VEC_AT(&s->diag_shown, i), key) == 0) {
			free(key);
			if (strcmp(kind, "WARNING") == 0)
				s->suppressed_warnings++;
			else
				s->suppressed_errors++;
			return false;
		}
	}
	vec_push(&s->diag_shown, key);
	return true;
}

void diag_print_suppressed(struct Session *s)
{
	if (s->suppressed_warnings)
		fprintf(stderr, "Number of similar warning messages suppressed: %d.\n", s->suppressed_warnings);
	if (s->suppressed_errors)
		fprintf(stderr, "Number of similar error messages suppressed: %d.\n", s->suppressed_errors);
	if (s->suppressed_warnings || s->suppressed_errors)
		fprintf(stderr, "Rerun with -v to see them.\n");
}

/* The text of a warning without the token description that ends it
 * (elab_describe, tok_describe: ": identifier 'x'", ": keyword", ...). */
static char *without_token(const char *msg)
{
	static const char *const descs[] = {
		": identifier '", ": operator '", ": keyword", ": string '", ": number '",
		": embedded-code", NULL,
	};
	size_t cut = strlen(msg);
	for (int i = 0; descs[i]; i++) {
		const char *at = strstr(msg, descs[i]);
		if (at && (size_t)(at - msg) < cut)
			cut = (size_t)(at - msg);
	}
	return xstrndup(msg, cut);
}

static void report(struct Session *s, SrcLoc loc, const char *kind, const char *saw,
		   const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	/* an error's format stands for the check that raised it, unless it
	 * says nothing itself (a message made beforehand) */
	bool warning = strcmp(kind, "WARNING") == 0;
	char *key = warning && msg ? without_token(msg) : NULL;
	const char *by_check = saw || strcmp(fmt, "%s") == 0 ? (msg ? msg : fmt) : fmt;
	bool first = diag_first_time(s, kind, key ? key : by_check);
	free(key);
	if (!first) {
		free(msg);
		return;
	}
	fprintf(stderr, "%s: %s", kind, msg ? msg : fmt);
	free(msg);
	if (saw) {
		/* parse layout: labels right-aligned in 12 columns, as stap;
		 * parse errors always name the file */
		fprintf(stderr, "\n%*s %s", 12, "saw:", saw);
		print_where(s, &loc, false);
		fputc('\n', stderr);
		print_source(&loc, 12);
	} else {
		print_where(s, &loc, true);
		fputc('\n', stderr);
		print_source(&loc, (int)strlen(kind) + 1);
	}
	/* errors are followed by a blank line, warnings are not (as stap) */
	if (strcmp(kind, "WARNING") != 0)
		fputc('\n', stderr);
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
