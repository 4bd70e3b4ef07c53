/* p1_helpers.h - shared helpers for the pass-1 unit tests: sessions,
 * lexing a string, and capturing what a pass prints on stderr. */
#ifndef P1_HELPERS_H
#define P1_HELPERS_H
#include "stap.h"
#include <stdlib.h>
#include <string.h>

static __attribute__((unused)) Session *new_session(void)
{
	Session *s = xcalloc(1, sizeof *s);
	session_init(s);
	free(s->kernel_release);
	s->kernel_release = xstrdup("6.18.0-1-amd64");
	free(s->arch);
	s->arch = xstrdup("x86_64");
	return s;
}

static __attribute__((unused)) Token *lex_string(Session *s, const char *text)
{
	SrcFile *f = session_add_file(s, "<t>", xstrdup(text), strlen(text), false);
	return lex(s, f);
}

/* stderr goes to a memory buffer between capture_begin and capture_end */
static FILE *saved_stderr;
static char *captured;
static size_t captured_len;

static __attribute__((unused)) void capture_begin(void)
{
	fflush(stderr);
	saved_stderr = stderr;
	stderr = open_memstream(&captured, &captured_len);
}

static __attribute__((unused)) const char *capture_end(void)
{
	fclose(stderr);
	stderr = saved_stderr;
	return captured;
}

/* The -p1 text of a script (without the two header lines). */
static __attribute__((unused)) char *p1_of(Session *s, const char *text)
{
	Script *sc = parse_text(s, "<t>", text, false);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	unparse_script(f, sc);
	fclose(f);
	char *body = strchr(out, '\n');
	body = body ? strchr(body + 1, '\n') : NULL;
	char *r = xstrdup(body ? body + 1 : "");
	free(out);
	return r;
}

#endif
