/* test_lex.c - the lexer: every token kind, numbers, escapes, errors. */
#include "unit.h"
#include "p1_helpers.h"

/* "KIND:text KIND:text ..." for a token list */
static const char *kinds(Token *t)
{
	static const char *names[] = { "id", "num", "str", "op", "dollar", "at", "arg", "emb", "pp", "eof" };
	static char buf[4096];
	buf[0] = '\0';
	for (; t; t = t->next) {
		size_t n = strlen(buf);
		snprintf(buf + n, sizeof buf - n, "%s%s:%s", n ? " " : "", names[t->kind], t->text);
	}
	return buf;
}

TEST(identifiers_and_keywords)
{
	Session *s = new_session();
	Token *t = lex_string(s, "probe foo_1 _x global function private if else for foreach in limit return "
				 "delete while do break continue next try catch string long");
	CHECK_STR(kinds(t), "id:probe id:foo_1 id:_x id:global id:function id:private id:if id:else id:for "
			    "id:foreach id:in id:limit id:return id:delete id:while id:do id:break id:continue "
			    "id:next id:try id:catch id:string id:long eof:");
	CHECK(tok_is_keyword("foreach") && tok_is_keyword("long") && !tok_is_keyword("foo_1"));
	CHECK(s->errors == 0);
}

TEST(operators_longest_match)
{
	Session *s = new_session();
	Token *t = lex_string(s, "<<< >>> <<= >>= << >> <= >= == != =~ !~ && || ++ -- += -= *= /= %= &= |= ^= .= -> "
				 "{ } ( ) [ ] ; , . + - * / % < > = ! ~ & | ^ ? :");
	CHECK_STR(kinds(t), "op:<<< op:>>> op:<<= op:>>= op:<< op:>> op:<= op:>= op:== op:!= op:=~ op:!~ op:&& "
			    "op:|| op:++ op:-- op:+= op:-= op:*= op:/= op:%= op:&= op:|= op:^= op:.= op:-> "
			    "op:{ op:} op:( op:) op:[ op:] op:; op:, op:. op:+ op:- op:* op:/ op:% op:< op:> "
			    "op:= op:! op:~ op:& op:| op:^ op:? op:: eof:");
	CHECK_STR(kinds(lex_string(s, "a<<<b")), "id:a op:<<< id:b eof:");
	CHECK_STR(kinds(lex_string(s, "x=-1")), "id:x op:= op:- num:1 eof:");
}

TEST(dollars_ats_and_arguments)
{
	Session *s = new_session();
	Token *t = lex_string(s, "$foo $$vars $$locals $$parms $$return $var$ $v$$ $1 $12 $# @1 @# @cast @hist_log @MY_MACRO @define");
	CHECK_STR(kinds(t), "dollar:$foo dollar:$$vars dollar:$$locals dollar:$$parms dollar:$$return dollar:$var "
			    "dollar:$ dollar:$v dollar:$$ arg:$1 arg:$12 arg:$# arg:@1 arg:@# at:@cast at:@hist_log "
			    "at:@MY_MACRO at:@define eof:");
	/* the suffix of $var$ follows without a space */
	Token *v = lex_string(s, "$var$ $x $");
	CHECK(!v->next->space_before && v->next->next->space_before);
}

TEST(preprocessor_and_embedded)
{
	Session *s = new_session();
	Token *t = lex_string(s, "%( %? %: %) %{ int x; %} a%b %{%}");
	CHECK_STR(kinds(t), "pp:%( pp:%? pp:%: pp:%) emb: int x;  id:a op:% id:b emb: eof:");
	Token *m = lex_string(s, "%{ line1\nline2 %} x");
	CHECK(m->next->loc.line == 2 && m->next->loc.col == 10);
}

TEST(numbers_and_limits)
{
	Session *s = new_session();
	Token *t = lex_string(s, "0 42 0x1F 0XfF 017 9223372036854775807 9223372036854775808 18446744073709551615 "
				 "0xffffffffffffffff 01777777777777777777777");
	int64_t want[] = { 0, 42, 31, 255, 15, INT64_MAX, INT64_MIN, -1, -1, -1 };
	int i = 0;
	for (; t->kind == TK_NUMBER; t = t->next, i++)
		CHECK(i < 10 && t->num == want[i]);
	CHECK(i == 10);
	CHECK(s->errors == 0);
	int64_t v;
	CHECK(!lex_parse_number("18446744073709551616", 20, &v));
	CHECK(!lex_parse_number("0x10000000000000000", 19, &v));
	CHECK(!lex_parse_number("09", 2, &v));
	CHECK(!lex_parse_number("0x", 2, &v));
	CHECK(!lex_parse_number("1a", 2, &v));
	CHECK(lex_parse_number("0x0", 3, &v) && v == 0);
}

TEST(number_errors_have_positions)
{
	Session *s = new_session();
	s->verbose = 1; /* every repeat shown */
	capture_begin();
	lex_string(s, "x = 1\n  y = 99999999999999999999 + 08");
	const char *err = capture_end();
	CHECK(s->errors == 2);
	CHECK(strstr(err, "parse error: number invalid or out of range\n"
			  "        saw: number '99999999999999999999' at <t>:2:7\n") != NULL);
	CHECK(strstr(err, "saw: number '08' at <t>:2:30") != NULL);
}

/* As stap: a message is shown once, later repeats (wherever they are)
 * only counted, and the count printed at the end; -v shows them all. */
TEST(repeats_shown_once)
{
	Session *s = new_session();
	capture_begin();
	lex_string(s, "x = 0x + 08 + 0x");
	diag_print_suppressed(s);
	const char *err = capture_end();
	CHECK(s->errors == 3);
	CHECK(s->suppressed_errors == 2);
	CHECK(strstr(err, "saw: number '0x' at <t>:1:5\n") != NULL);
	CHECK(strstr(err, "saw: number '08'") == NULL);
	CHECK(strstr(err, "Number of similar error messages suppressed: 2.\nRerun with -v to see them.\n") != NULL);
}

/* A semantic error or warning in the file of the one before it leaves
 * the file's name out of its location; a parse error always names it. */
TEST(later_locations_without_file_name)
{
	Session *s = new_session();
	SrcFile *f = session_add_file(s, "a.stp", xstrdup("probe begin {}\n"), 15, false);
	SrcFile *g = session_add_file(s, "b.stp", xstrdup("probe end {}\n"), 13, false);
	capture_begin();
	diag_error(s, (SrcLoc){ f, 1, 1 }, "semantic error", "one");
	diag_warning(s, (SrcLoc){ f, 1, 7 }, "two");
	diag_error(s, (SrcLoc){ g, 1, 1 }, "semantic error", "three");
	diag_parse_error(s, (SrcLoc){ g, 1, 7 }, "identifier 'end'", "four");
	const char *err = capture_end();
	CHECK(strstr(err, "semantic error: one at a.stp:1:1\n") != NULL);
	CHECK(strstr(err, "WARNING: two at :1:7\n") != NULL);
	CHECK(strstr(err, "semantic error: three at b.stp:1:1\n") != NULL);
	CHECK(strstr(err, "saw: identifier 'end' at b.stp:1:7\n") != NULL);
}

TEST(string_escapes)
{
	Session *s = new_session();
	Token *t = lex_string(s, "\"a\\n\\t\\r\\a\\b\\f\\v\\\\\\\"\\'\\?\\101\\0\\x41\\x4a\\q\"");
	const char want[] = "a\n\t\r\a\b\f\v\\\"'?A\0AJq";
	CHECK(t->kind == TK_STRING);
	CHECK(t->len == sizeof want - 1);
	CHECK(memcmp(t->text, want, sizeof want - 1) == 0);
	Token *g = lex_string(s, "\"\\1234\" \"\\x414\"");
	CHECK(g->len == 2 && g->text[0] == 'S' && g->text[1] == '4');
	CHECK(g->next->len == 2 && g->next->text[0] == 'A' && g->next->text[1] == '4');
}

TEST(comments)
{
	Session *s = new_session();
	Token *t = lex_string(s, "a # shell\nb // c++\nc /* c\n style */ d $# e /* unterminated");
	CHECK_STR(kinds(t), "id:a id:b id:c id:d arg:$# id:e eof:");
	CHECK(t->next->next->next->loc.line == 4);
	CHECK(s->errors == 0);
}

TEST(positions)
{
	Session *s = new_session();
	Token *t = lex_string(s, "probe begin {\n\tx = \"s\"\n}");
	CHECK(t->loc.line == 1 && t->loc.col == 1);
	CHECK(t->next->loc.col == 7);
	Token *x = t->next->next->next;
	CHECK(x->loc.line == 2 && x->loc.col == 2);
	CHECK(x->next->next->loc.col == 6);
	CHECK(x->next->next->next->loc.line == 3);
}

TEST(unterminated_string_and_embedded)
{
	Session *s = new_session();
	capture_begin();
	lex_string(s, "x = \"abc\ny = 1");
	const char *err = capture_end();
	CHECK(s->errors == 1);
	CHECK_STR(err, "parse error: Could not find matching closing quote\n"
		       "         at: junk '' at <t>:1:5\n"
		       "     source: x = \"abc\n"
		       "                 ^\n\n");
	capture_begin();
	lex_string(s, "a\n  %{ never closed");
	err = capture_end();
	CHECK(s->errors == 2);
	CHECK(strstr(err, "Could not find matching '%}' to close embedded function block\n"
			  "         at: junk '' at <t>:2:3\n") != NULL);
}

TEST(nul_bytes_and_junk)
{
	Session *s = new_session();
	char text[] = "a\0b ` \x01";
	SrcFile *f = session_add_file(s, "<nul>", xstrndup(text, sizeof text - 1), sizeof text - 1, false);
	Token *t = lex(s, f);
	CHECK_STR(kinds(t), "id:a op:\\x00 id:b op:` op:\\x01 eof:");
}

TEST(describe)
{
	Session *s = new_session();
	Token *t = lex_string(s, "foo probe + \"str\" 12 %{ x %} @cast $x");
	CHECK_STR(tok_describe(t), "identifier 'foo'");
	CHECK_STR(tok_describe(t->next), "keyword");
	CHECK_STR(tok_describe(t->next->next), "operator '+'");
	CHECK_STR(tok_describe(t->next->next->next), "string 'str'");
	CHECK_STR(tok_describe(t->next->next->next->next), "number '12'");
	CHECK_STR(tok_describe(t->next->next->next->next->next), "embedded-code");
	CHECK_STR(tok_describe(t->next->next->next->next->next->next), "operator '@cast'");
	Token *e = t;
	while (e->kind != TK_EOF)
		e = e->next;
	CHECK_STR(tok_describe(e), "<t> EOF");
}

TEST(big_input_is_linear)
{
	Session *s = new_session();
	StrBuf b = {0};
	for (int i = 0; i < 200000; i++)
		sb_puts(&b, "x = y + 1 # c\n");
	Token *t = lex_string(s, b.s);
	int n = 0;
	for (; t->kind != TK_EOF; t = t->next)
		n++;
	CHECK(n == 1000000);
	CHECK(t->loc.line == 200001);
	free(b.s);
}

int main(void)
{
	RUN(identifiers_and_keywords);
	RUN(operators_longest_match);
	RUN(dollars_ats_and_arguments);
	RUN(preprocessor_and_embedded);
	RUN(numbers_and_limits);
	RUN(number_errors_have_positions);
	RUN(repeats_shown_once);
	RUN(later_locations_without_file_name);
	RUN(string_escapes);
	RUN(comments);
	RUN(positions);
	RUN(unterminated_string_and_embedded);
	RUN(nul_bytes_and_junk);
	RUN(describe);
	RUN(big_input_is_linear);
	UNIT_EXIT();
}
