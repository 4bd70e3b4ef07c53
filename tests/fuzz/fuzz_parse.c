/* fuzz_parse.c - libFuzzer target over pass 1: lex, preprocess, parse and
 * unparse any bytes.  Besides "no crash, no hang, no sanitizer report",
 * it checks the -p1 round trip: when an input parses without errors, its
 * canonical text must parse without errors and print identically.
 *
 * Built and run by tests/fuzz/run.sh (with -close_fd_mask=2: the
 * diagnostics the inputs provoke are not worth reading). */
#include "stap.h"

#include <stdlib.h>
#include <string.h>

static void *config_cache; /* CONFIG_* values, read once, shared by runs */

static void free_session(Session *s)
{
	for (int i = 0; i < s->files.len; i++) {
		SrcFile *f = VEC_AT(&s->files, i);
		free(f->name);
		free(f->text);
		free(f);
	}
	free(s->files.data);
	free(s->macros.data);
	free(s->script_args.data);
	free(s->kernel_release);
	free(s->arch);
	free(s->privilege);
	config_cache = s->kernel_config;
}

static void free_script(Script *sc)
{
	free(sc->globals.data);
	free(sc->probes.data);
	free(sc->functions.data);
	free(sc->embedded.data);
	free(sc->embedded_locs.data);
	free(sc);
}

/* Parse text and return its -p1 output; *errors gets the error count. */
static char *parse_and_print(const char *text, size_t len, bool guru, int *errors)
{
	Session s;
	session_init(&s);
	s.guru = guru;
	s.kernel_config = config_cache;
	vec_push(&s.script_args, "1");
	vec_push(&s.script_args, "foo");
	SrcFile *f = session_add_file(&s, "<fuzz>", xstrndup(text, len), len, false);
	Token *toks = preprocess(&s, lex(&s, f));
	Script *sc = parse(&s, f, toks);
	char *out = NULL;
	size_t outlen = 0;
	FILE *mem = open_memstream(&out, &outlen);
	unparse_script(mem, sc);
	fclose(mem);
	*errors = s.errors;
	free_script(sc);
	free_session(&s);
	return out;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	bool guru = size > 0 && data[0] == '%';
	int errors;
	char *once = parse_and_print((const char *)data, size, guru, &errors);
	if (errors == 0) {
		int errors2;
		char *twice = parse_and_print(once, strlen(once), guru, &errors2);
		if (errors2 != 0 || strcmp(once, twice) != 0) {
			fprintf(stdout, "round trip differs:\n--- first\n%s--- second\n%s", once, twice);
			fflush(stdout);
			abort();
		}
		free(twice);
	}
	free(once);
	arena_release_all();
	return 0;
}
