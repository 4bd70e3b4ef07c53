/* test_preprocess.c - conditionals, macros and script arguments. */
#include "unit.h"
#include "p1_helpers.h"

#include <sys/stat.h>
#include <unistd.h>

/* The preprocessed token texts, space separated. */
static const char *pp(Session *s, const char *text)
{
	static char buf[4096];
	Token *t = preprocess(s, lex_string(s, text));
	buf[0] = '\0';
	for (; t && t->kind != TK_EOF; t = t->next) {
		size_t n = strlen(buf);
		if (t->kind == TK_STRING)
			snprintf(buf + n, sizeof buf - n, "%s\"%s\"", n ? " " : "", t->text);
		else
			snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "", t->text);
	}
	return buf;
}

TEST(kernel_version_conditions)
{
	Session *s = new_session(); /* 6.18.0-1-amd64 */
	CHECK_STR(pp(s, "%( kernel_v >= \"2.6.9\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( kernel_v < \"6.18.1\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( kernel_v == \"6.18.0\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( kernel_v > \"6.18.0\" %? a %: b %)"), "b");
	CHECK_STR(pp(s, "%( kernel_vr == \"6.18.0-1-amd64\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( kernel_vr > \"6.18.0\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( kernel_vr == \"6.*-amd64\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( kernel_vr != \"5.*\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( kernel_v <= \"6.9\" %? a %: b %)"), "b");
	CHECK(s->errors == 0);
}

TEST(other_conditions)
{
	Session *s = new_session();
	CHECK_STR(pp(s, "%( arch == \"x86_64\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( arch == \"i?86\" %? a %: b %)"), "b");
	CHECK_STR(pp(s, "%( arch != \"arm*\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( runtime == \"kernel\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( systemtap_v >= \"4.0\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( systemtap_v <= \"1.8\" %? a %: b %)"), "b");
	CHECK_STR(pp(s, "%( systemtap_privilege == \"stapdev\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( guru_mode == 0 %? a %: b %)"), "a");
	s->guru = true;
	CHECK_STR(pp(s, "%( guru_mode == 1 %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( 1 < 2 %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( -5 < -4 %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( \"abc\" == \"abc\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( \"abc\" > \"abd\" %? a %: b %)"), "b");
	CHECK(s->errors == 0);
}

TEST(and_binds_tighter_than_or)
{
	Session *s = new_session();
	CHECK_STR(pp(s, "%( 1 == 1 || 1 == 2 && 1 == 2 %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( 1 == 2 && 1 == 1 || 1 == 1 %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( 1 == 2 || 1 == 1 && 1 == 2 %? a %: b %)"), "b");
}

TEST(nesting_and_empty_branches)
{
	Session *s = new_session();
	CHECK_STR(pp(s, "x %( 1 == 1 %? %( 2 == 3 %? a %: b %( 4 == 4 %? c %) %) %: d %) y"), "x b c y");
	CHECK_STR(pp(s, "%( 1 == 2 %? a %) z"), "z");
	CHECK_STR(pp(s, "%( 1 == 1 %? %: a %) z"), "z");
	CHECK(s->errors == 0);
}

TEST(kernel_config)
{
	Session *s = new_session();
	char path[] = "/tmp/stapng-config-XXXXXX";
	int fd = mkstemp(path);
	const char cfg[] = "# comment\nCONFIG_FOO=y\nCONFIG_BAR=m\nCONFIG_HZ=250\n# CONFIG_BAZ is not set\n";
	CHECK(write(fd, cfg, sizeof cfg - 1) == (ssize_t)(sizeof cfg - 1));
	close(fd);
	s->kernel_config_path = path;
	CHECK_STR(pp(s, "%( CONFIG_FOO == \"y\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( CONFIG_BAR == \"[ym]\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( CONFIG_BAZ == \"\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( CONFIG_FOO == \"y\" && CONFIG_NOPE != \"y\" %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( CONFIG_HZ >= 100 %? a %: b %)"), "a");
	CHECK_STR(pp(s, "%( CONFIG_HZ > 1000 %? a %: b %)"), "b");
	unlink(path);
	CHECK(s->errors == 0);
}

TEST(script_arguments)
{
	Session *s = new_session();
	vec_push(&s->script_args, "42");
	vec_push(&s->script_args, "foo + 1");
	vec_push(&s->script_args, "a \"quoted\" string");
	CHECK_STR(pp(s, "$1 @1 $2 @3 $# @#"), "42 \"42\" foo + 1 \"a \"quoted\" string\" 3 \"3\"");
	CHECK_STR(pp(s, "%( $# == 3 && @1 == \"42\" %? yes %: no %)"), "yes");
	Token *t = preprocess(s, lex_string(s, "x $1"));
	CHECK(t->next->kind == TK_NUMBER && t->next->num == 42);
	capture_begin();
	pp(s, "x = $4");
	const char *err = capture_end();
	CHECK(s->errors == 1);
	CHECK_STR(err, "parse error: command line argument out of range [1-3]\n"
		       "         at: junk '' at <t>:1:5\n"
		       "     source: x = $4\n"
		       "                 ^\n\n");
}

TEST(macros)
{
	Session *s = new_session();
	CHECK_STR(pp(s, "@define foo %( 3 + 4 %) x = @foo"), "x = 3 + 4");
	CHECK_STR(pp(s, "@define add(a,b) %( (@a + @b) %) x = @add(1, f(2, 3))"), "x = ( 1 + f ( 2 , 3 ) )");
	CHECK_STR(pp(s, "@define two(a) %( @a @a %) @define four(a) %( @two(@two(@a)) %) @four(z)"), "z z z z");
	CHECK_STR(pp(s, "@define c %( %( 1 == 1 %? yes %: no %) %) @c"), "yes");
	CHECK_STR(pp(s, "@define e %( %) a @e b"), "a b");
	CHECK_STR(pp(s, "@define arr(k) %( a[@k] %) @arr([1, 2])"), "a [ [ 1 , 2 ] ]");
	/* macros are local to their file */
	CHECK_STR(pp(s, "@foo"), "@foo");
	CHECK(s->errors == 0);
}

TEST(macro_errors)
{
	Session *s = new_session();
	capture_begin();
	pp(s, "@define m(a) %( @a %) x = @m(1, 2)");
	const char *err = capture_end();
	CHECK(s->errors == 1);
	CHECK(strstr(err, "too many parameters for macro '@m' (expected 1)\n"
			  "         at: operator ',' at <t>:1:31\n") != NULL);
	capture_begin();
	pp(s, "@define m(a, b) %( @a %) x = @m");
	err = capture_end();
	CHECK(strstr(err, "expected '(' in invocation of macro '@m' taking 2 parameters") != NULL);
	capture_begin();
	pp(s, "@define m %( 1 %)\n@define m %( 2 %)");
	err = capture_end();
	CHECK(strstr(err, "attempt to redefine macro '@m' in the same file\n"
			  "         at: identifier 'm' at <t>:2:9\n") != NULL);
	CHECK(strstr(err, "macro '@m' first defined here\n"
			  "         at: identifier 'm' at <t>:1:9\n") != NULL);
	capture_begin();
	pp(s, "@define r %( @r %) @r");
	err = capture_end();
	CHECK(strstr(err, "macro '@r' expands too deeply") != NULL);
	capture_begin();
	pp(s, "@define m(a) %( @a %) @m(1");
	err = capture_end();
	CHECK(strstr(err, "could not find end of macro invocation") != NULL);
}

TEST(errors_in_expansions_name_the_invocation)
{
	Session *s = new_session();
	capture_begin();
	parse_text(s, "<t>", "@define bad %( 1 + ) %)\nprobe begin { x = @bad }", false);
	const char *err = capture_end();
	CHECK(s->errors == 1);
	CHECK(strstr(err, "saw: operator '%)' at <t>:1:22") == NULL); /* the body ends before %) */
	CHECK(strstr(err, "\tin expansion of macro: operator '@bad' at <t>:2:19\n"
			  "     source: probe begin { x = @bad }\n"
			  "                               ^\n") != NULL);
}

TEST(conditional_errors)
{
	Session *s = new_session();
	capture_begin();
	pp(s, "%( foo == 1 %? a %) b");
	const char *err = capture_end();
	CHECK(s->errors == 1);
	CHECK(strstr(err, "expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n") != NULL);
	CHECK(strstr(err, "at: identifier 'foo' at <t>:1:4") != NULL);
	capture_begin();
	pp(s, "a %) b");
	err = capture_end();
	CHECK(strstr(err, "incomplete conditional - missing '%('") != NULL);
	capture_begin();
	pp(s, "%( 1 == 1 %? a");
	err = capture_end();
	CHECK(strstr(err, "incomplete conditional at end of file\n         at: operator '%(' at <t>:1:1") != NULL);
	capture_begin();
	pp(s, "%( arch < \"x\" %? a %)");
	err = capture_end();
	CHECK(strstr(err, "expected '==' or '!='") != NULL);
	CHECK(s->errors == 4);
}

TEST(library_macros)
{
	Session *s = new_session();
	char dir[] = "/tmp/stapng-tapset-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *sub = xasprintf("%s/linux", dir);
	mkdir(sub, 0755);
	char *file = xasprintf("%s/lib.stpm", sub);
	FILE *f = fopen(file, "w");
	fputs("@define libmac(x) %( (@x * 2) %)\n"
	      "%( 1 == 2 %? @define hidden %( no %) %)\n", f);
	fclose(f);
	vec_push(&s->tapset_dirs, dir);
	CHECK_STR(pp(s, "@libmac(3) @hidden"), "( 3 * 2 ) @hidden");
	CHECK(s->errors == 0);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
	free(file);
	free(sub);
}

int main(void)
{
	RUN(kernel_version_conditions);
	RUN(other_conditions);
	RUN(and_binds_tighter_than_or);
	RUN(nesting_and_empty_branches);
	RUN(kernel_config);
	RUN(script_arguments);
	RUN(macros);
	RUN(macro_errors);
	RUN(errors_in_expansions_name_the_invocation);
	RUN(conditional_errors);
	RUN(library_macros);
	UNIT_EXIT();
}
