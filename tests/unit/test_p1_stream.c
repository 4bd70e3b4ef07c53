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

int main(void)
{
	RUN(errors_in_stage_order);
	RUN(large_script_same_tree);
	RUN(runaway_constructs);
	RUN(interning);
	UNIT_EXIT();
}
