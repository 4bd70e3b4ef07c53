/* test_p1_stream.c - pass 1 on demand (parse_text / parse_path pull tokens
 * one at a time through the preprocessor from the lexer) must behave
 * exactly as the stage-by-stage pipeline over token lists (lex, then
 * preprocess, then parse): same tree, same errors in the same order. */
#include "unit.h"
#include "p1_helpers.h"

/* -p1 text and stderr of the on-demand pipeline. */
static void run_on_demand(const char *text, char **out, char **err, int *errors)
{
	Session *s = new_session();
	vec_push(&s->script_args, "7");
	capture_begin();
	Script *sc = parse_text(s, "<t>", text, false);
	*err = xstrdup(capture_end());
	size_t len = 0;
	FILE *f = open_memstream(out, &len);
	unparse_script(f, sc);
	fclose(f);
	*errors = s->errors;
}

/* The same through the list functions, each stage over the whole file. */
static void run_by_stages(const char *text, char **out, char **err, int *errors)
{
	Session *s = new_session();
	vec_push(&s->script_args, "7");
	SrcFile *f = session_add_file(s, "<t>", xstrdup(text), strlen(text), false);
	capture_begin();
	Script *sc = parse(s, f, preprocess(s, lex(s, f)));
	*err = xstrdup(capture_end());
	size_t len = 0;
	FILE *o = open_memstream(out, &len);
	unparse_script(o, sc);
	fclose(o);
	*errors = s->errors;
}

static void same_both_ways(const char *unit_name, const char *text, int want_errors)
{
	char *out1, *err1, *out2, *err2;
	int n1, n2;
	run_on_demand(text, &out1, &err1, &n1);
	run_by_stages(text, &out2, &err2, &n2);
	CHECK_STR(out1, out2);
	CHECK_STR(err1, err2);
	CHECK(n1 == n2);
	CHECK(n1 == want_errors);
	free(out1);
	free(err1);
	free(out2);
	free(err2);
}

/* One error of each stage, placed so that the parse error comes first in
 * the file and the lexer's last: the report still goes lexer, macros,
 * conditionals, parser, as when each stage runs over the whole file. */
TEST(errors_in_stage_order)
{
	const char *text =
		"probe begin { x = }\n"                          /* parser */
		"%( kernel_v >= %? probe a {} %)\n"              /* conditional */
		"@define m(a) %( @a %)\nprobe b { y = @m(1, 2) }\n" /* macro */
		"probe c { z = 0x }\n"                           /* lexer: bad number */
		"probe d { s = \"open\n}\n";                     /* lexer: no closing quote */
	same_both_ways(unit_name, text, 5);
	char *out, *err;
	int n;
	run_on_demand(text, &out, &err, &n);
	const char *lex = strstr(err, "number invalid");
	const char *quote = strstr(err, "closing quote");
	const char *macro = strstr(err, "too many parameters");
	const char *cond = strstr(err, "expected string literal");
	const char *parse = strstr(err, "saw: operator '}'");
	CHECK(lex && quote && macro && cond && parse);
	CHECK(lex < quote && quote < macro && macro < cond && cond < parse);
	free(out);
	free(err);
}

/* Many declarations (so tokens are recycled many times over), with
 * macros, nested conditionals, script arguments and strings that span
 * expansion boundaries. */
TEST(large_script_same_tree)
{
	StrBuf b = {0};
	sb_puts(&b, "@define twice(x) %( ((@x) * 2) %)\n@define K %( 10 %)\n");
	for (int i = 0; i < 400; i++) {
		sb_printf(&b, "global g%d = %d\n", i, i);
		sb_printf(&b, "probe timer.ms(%d) { g%d += @twice($1 + @K) ; s = \"a\" \"b%d\"\n", i + 1, i, i);
		sb_printf(&b, "\t%%( arch == \"x86_64\" %%? %%( $# > 0 %%? x = %d %%: x = -1 %%) %%: y = 2 %%)\n", i);
		sb_printf(&b, "\tif ([\"k\", %d] in a%d && x =~ \"^%d\") next else delete a%d }\n", i, i, i, i);
		sb_printf(&b, "function f%d:long (n:long) { return n > 0 ? f%d(n - 1) : @1 . \"\" }\n", i, i);
	}
	same_both_ways(unit_name, b.s, 0);
	free(b.s);
}

/* A macro invocation that never ends drops the rest of the file (only
 * that error: the parser says nothing more at the end); an unterminated
 * conditional likewise.  The tokens dropped on the way go back to the
 * pool exactly once: what is parsed next is intact. */
TEST(runaway_constructs)
{
	char *out, *err;
	int n;
	run_on_demand("@define m(a) %( @a %)\nprobe a { x = @m(1 }\nprobe b {}\n", &out, &err, &n);
	CHECK(n == 1);
	CHECK(strstr(err, "could not find end of macro invocation") != NULL);
	CHECK(strstr(out, "probe") == NULL);
	run_on_demand("probe a { %( arch == \"x\" %? x = 1 }\nprobe b {}\n", &out, &err, &n);
	CHECK(n == 1);
	CHECK(strstr(err, "incomplete conditional at end of file") != NULL);
	run_on_demand("probe c { x = 1 } probe d { y = [1, 2] in a }", &out, &err, &n);
	CHECK(n == 0);
	CHECK(strstr(out, "probe c {\n\tx = 1;\n}\nprobe d {\n\ty = [1, 2] in a;\n}\n") != NULL);
	same_both_ways(unit_name, "%( arch == %? probe a {} %: probe b {} %) %)\nprobe c {}\n", 2);
}

TEST(interning)
{
	char *a = intern("counts", 6), *b = intern("counts_x", 6);
	CHECK(a == b);
	CHECK_STR(a, "counts");
	Session *s = new_session();
	Token *t = lex_string(s, "foo bar foo");
	CHECK(t->text == t->next->next->text);
	CHECK(t->text != t->next->text);
}

/* parse_text_each's callback: count the calls, check each holds at most
 * one declaration kind, and print what it is given. */
typedef struct EachLog {
	UnparseParts parts;
	int calls, most_probes;
	bool mixed;
	bool left_empty; /* the returned Script holds nothing */
} EachLog;

static void log_decls(const Script *decls, void *arg)
{
	EachLog *log = arg;
	int kinds = (decls->embedded.len > 0) + (decls->globals.len > 0) + (decls->probes.len > 0) +
		    (decls->functions.len > 0);
	log->calls++;
	log->mixed |= kinds != 1;
	if (decls->probes.len > log->most_probes)
		log->most_probes = decls->probes.len;
	unparse_parts_add(&log->parts, decls);
}

/* -p1 text, stderr and calls of the streaming parse. */
static char *run_streaming(const char *text, char **err, int *errors, EachLog *log)
{
	Session *s = new_session();
	s->guru = true;
	*log = (EachLog){0};
	capture_begin();
	Script *sc = parse_text_each(s, "<t>", text, false, log_decls, log);
	*err = xstrdup(capture_end());
	log->left_empty = !sc->globals.len && !sc->probes.len && !sc->functions.len && !sc->embedded.len;
	StrBuf out = {0};
	unparse_parts_finish(&out, &log->parts, sc->file);
	*errors = s->errors;
	return sb_steal(&out);
}

static char *run_whole(const char *text, char **err, int *errors)
{
	Session *s = new_session();
	s->guru = true;
	capture_begin();
	Script *sc = parse_text(s, "<t>", text, false);
	*err = xstrdup(capture_end());
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	unparse_script(f, sc);
	fclose(f);
	*errors = s->errors;
	return out;
}

/* Streaming hands over one declaration at a time and prints what the
 * whole tree prints: embedded blocks, globals, probes, functions, each
 * kind in source order, whatever order the file has them in. */
TEST(streaming_same_text)
{
	const char *text =
		"function f(a) { return a + 1 }\nprobe end { println(f(1)) }\n"
		"global x = 3, y\n%{ int c; %}\nprobe begin { x = y . \"s\" \"t\" }\n"
		"private global z%\nfunction g:string() %{ STAP_RETURN(\"x\"); %}\n"
		"probe a.b(1)?, c.* if (x) { foreach ([k, v] in y- limit 2) next }\n"
		"%{ int d; %}\nprobe al = begin { } probe al2 += end { }\n";
	char *err1, *err2;
	int n1, n2;
	EachLog log;
	char *out1 = run_streaming(text, &err1, &n1, &log);
	char *out2 = run_whole(text, &err2, &n2);
	CHECK_STR(out1, out2);
	CHECK_STR(err1, err2);
	CHECK(n1 == 0 && n2 == 0);
	CHECK(log.calls == 11); /* "global x = 3, y" is one call */
	CHECK(!log.mixed);
	CHECK(log.left_empty);
	CHECK(log.most_probes == 1);
	const char *emb = strstr(out1, "%{ int c; %}"), *glob = strstr(out1, "global x");
	const char *probe = strstr(out1, "probe end"), *fn = strstr(out1, "function f");
	CHECK(emb && glob && probe && fn && emb < glob && glob < probe && probe < fn);
	free(out1);
	free(out2);
	free(err1);
	free(err2);
}

/* Errors: the same reports and count as the whole-tree parse, several
 * per file; a probe after a broken one is still handed over. */
TEST(streaming_errors)
{
	const char *text = "probe a { x = }\nglobal g, = 1\nprobe b { y = 1 }\nfunction f( {}\n"
			   "probe c { if (1) }\n";
	char *err1, *err2;
	int n1, n2;
	EachLog log;
	char *out1 = run_streaming(text, &err1, &n1, &log);
	char *out2 = run_whole(text, &err2, &n2);
	CHECK_STR(out1, out2);
	CHECK_STR(err1, err2);
	CHECK(n1 == 4 && n2 == 4);
	CHECK(strstr(out1, "probe b {\n\ty = 1;\n}\n") != NULL);
	free(out1);
	free(out2);
	free(err1);
	free(err2);
}

/* Many large declarations: the scratch memory is reused (and grows past
 * one chunk for a big one) without the text changing. */
TEST(streaming_large)
{
	StrBuf b = {0};
	for (int k = 0; k < 4; k++) {
		sb_printf(&b, "probe p%d {\n", k);
		for (int i = 0; i < 4000 * (k + 1); i++)
			sb_printf(&b, "\tv%d = a[%d, \"s%d\"] + f(%d) . \"t\"\n", i, i, i, i);
		sb_puts(&b, "}\nfunction f(n) { return n * 2 }\nglobal a\n");
	}
	char *err1, *err2;
	int n1, n2;
	EachLog log;
	char *out1 = run_streaming(b.s, &err1, &n1, &log);
	char *out2 = run_whole(b.s, &err2, &n2);
	CHECK(strcmp(out1, out2) == 0);
	CHECK(n1 == 0 && n2 == 0);
	CHECK(log.calls == 12);
	CHECK(strstr(out1, "\tv15999 = a[15999, \"s15999\"] + f(15999) . \"t\";\n") != NULL);
	free(b.s);
	free(out1);
	free(out2);
	free(err1);
	free(err2);
}

int main(void)
{
	RUN(errors_in_stage_order);
	RUN(large_script_same_tree);
	RUN(runaway_constructs);
	RUN(interning);
	RUN(streaming_same_text);
	RUN(streaming_errors);
	RUN(streaming_large);
	UNIT_EXIT();
}
