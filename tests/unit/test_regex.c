/* test_regex.c - the regex compiler (src/regex.c): a table of patterns,
 * inputs and expected answers, the error cases with stap's messages, the
 * size cap, and agreement with glibc's POSIX matcher on generated inputs. */
#include "translate/regex.h"
#include "unit.h"

#include <regex.h>
#include <stdlib.h>

static int search(const char *pat, const char *s)
{
	Regex re;
	RegexError err;
	if (!regex_compile(&re, pat, strlen(pat), &err))
		return -1;
	int r = regex_search(&re, s);
	regex_free(&re);
	return r;
}

static const struct {
	const char *pat, *s;
	int want;
} cases[] = {
	/* literals and search anywhere */
	{"tap", "systemtap", 1}, {"tap", "stapng", 1}, {"tap", "ta", 0}, {"", "", 1}, {"", "x", 1},
	{"abc", "", 0}, {"a.c", "abc", 1}, {"a.c", "ac", 0}, {"a\\.c", "abc", 0}, {"a\\.c", "a.c", 1},
	/* anchors */
	{"^foo", "foobar", 1}, {"^foo", "xfoo", 0}, {"bar$", "foobar", 1}, {"bar$", "barx", 0},
	{"^$", "", 1}, {"^$", "x", 0}, {"^a$", "a", 1}, {"^a$", "aa", 0}, {"a^b", "a^b", 0},
	{"a$b", "ab", 0}, {"(^a|b)c", "xbc", 1}, {"(^a|b)c", "xac", 0}, {"(^a|b)c", "ac", 1},
	{"x*^a", "a", 1}, {"$^", "", 1}, {"^/etc/", "/etc/passwd", 1}, {"^/etc/", "/usr/etc/x", 0},
	/* alternation and groups */
	{"cat|dog", "hotdog", 1}, {"cat|dog", "cow", 0}, {"^(cat|dog)s?$", "dogs", 1},
	{"^(cat|dog)s?$", "dogss", 0}, {"a||b", "x", 1}, {"()", "", 1}, {"^(ab)*$", "ababab", 1},
	{"^(ab)*$", "ababa", 0}, {"^((a|b)c)+$", "acbcac", 1}, {"^((a|b)c)+$", "acbd", 0},
	/* bracket expressions */
	{"^[abc]+$", "cab", 1}, {"^[abc]+$", "cabd", 0}, {"^[a-f0-9]+$", "deadbeef42", 1},
	{"^[a-f0-9]+$", "xyz", 0}, {"^[^0-9]+$", "abc", 1}, {"^[^0-9]+$", "ab1", 0},
	{"[]a]", "]", 1}, {"[^]a]", "]a", 0}, {"[^]a]", "]ab", 1}, {"[a-]", "-", 1},
	{"^[[:digit:]]+$", "2026", 1}, {"^[[:digit:]]+$", "20x6", 0}, {"[[:upper:]]", "abC", 1},
	{"[[:upper:]]", "abc", 0}, {"^[[:alpha:]_][[:alnum:]_]*$", "sys_open2", 1},
	{"^[[:alpha:]_][[:alnum:]_]*$", "2sys", 0}, {"[[:space:]]", "a\tb", 1}, {"[[:punct:]]", "ab", 0},
	{"[[:xdigit:]]+$", "0xFF", 1}, {"[\\]", "a\\b", 1}, {"[.]", "a.b", 1}, {"[.]", "ab", 0},
	/* repetition */
	{"^a*$", "", 1}, {"^a*$", "aaa", 1}, {"^a+$", "", 0}, {"^a+$", "aa", 1}, {"^ab?c$", "ac", 1},
	{"^ab?c$", "abbc", 0}, {"^a{3}$", "aaa", 1}, {"^a{3}$", "aa", 0}, {"^a{3}$", "aaaa", 0},
	{"^a{2,}$", "a", 0}, {"^a{2,}$", "aaaaa", 1}, {"^a{2,3}$", "aaa", 1}, {"^a{2,3}$", "aaaa", 0},
	{"^a{0}b$", "b", 1}, {"^a{0,1}b$", "ab", 1}, {"^(ab){2}$", "abab", 1}, {"^x{3}{2}$", "xxxxxx", 1},
	{"^x{3}{2}$", "xxxxx", 0}, {"^(a*)*$", "aaa", 1}, {"^(a|b)*abb$", "babaabb", 1},
	{"^(a|b)*abb$", "babab", 0}, {"^.{5}$", "hello", 1}, {"^.{5}$", "hell", 0},
	/* escapes; an unmatched ')' is an ordinary byte, as in stap */
	{"a\\*", "a*", 1}, {"a\\*", "aa", 0}, {"\\(x\\)", "(x)", 1}, {"a)", "a)", 1}, {"\\t", "a\tb", 1},
	/* bytes above 127 */
	{"\xc3\xa9", "caf\xc3\xa9", 1}, {"^[^a]$", "\xff", 1},
};

TEST(table)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = search(cases[i].pat, cases[i].s);
		if (got != cases[i].want && !unit_failed_now) {
			printf("FAIL %s: /%s/ on \"%s\": got %d, want %d\n", unit_name, cases[i].pat, cases[i].s, got,
			       cases[i].want);
			unit_failed_now = 1;
		}
	}
}

static const char *compile_error(const char *pat, int *pos)
{
	static RegexError err;
	Regex re;
	if (regex_compile(&re, pat, strlen(pat), &err)) {
		regex_free(&re);
		return "(compiled)";
	}
	*pos = err.pos;
	return err.msg;
}

TEST(errors)
{
	int pos = 0;
	CHECK_STR(compile_error("*a", &pos), "unexpected '*'");
	CHECK(pos == 0);
	CHECK_STR(compile_error("a|*", &pos), "unexpected '*'");
	CHECK(pos == 2);
	CHECK_STR(compile_error("(+a)", &pos), "unexpected '+'");
	/* positions as stap reports them */
	CHECK_STR(compile_error("a(", &pos), "expected ), found end of regex");
	CHECK(pos == 1);
	CHECK_STR(compile_error("a(b|c", &pos), "expected ), found end of regex");
	CHECK(pos == 4);
	CHECK_STR(compile_error("a{2", &pos), "unexpected end of regex");
	CHECK(pos == 3);
	CHECK_STR(compile_error("a{,3}", &pos), "expected number");
	CHECK(pos == 3);
	CHECK_STR(compile_error("a{x}", &pos), "expected number");
	CHECK(pos == 3);
	CHECK_STR(compile_error("a{2,x}", &pos), "expected '}' or number");
	CHECK(pos == 5);
	CHECK_STR(compile_error("a{2x}", &pos), "expected ',' or '}'");
	CHECK(pos == 3);
	CHECK_STR(compile_error("a{2,3x}", &pos), "expected }, found x");
	CHECK(pos == 5);
	CHECK_STR(compile_error("a{3,2}", &pos), "invalid repetition bounds {3,2}");
	CHECK_STR(compile_error("a{1001}", &pos), "repetition count is too large (at most 1000)");
	CHECK_STR(compile_error("ab[cd", &pos), "unclosed character class");
	CHECK(pos == 4);
	CHECK_STR(compile_error("xx[d-a]", &pos), "Inverted character range d-a");
	CHECK(pos == 6);
	CHECK_STR(compile_error("[[:foo:]]", &pos), "unknown character class 'foo'");
	CHECK(pos == -1);
	CHECK_STR(compile_error("[[:alpha:]", &pos), "unclosed character class");
	CHECK_STR(compile_error("xy[[:alpha:", &pos), "unclosed character class '[:alpha'");
	CHECK(pos == 11);
	CHECK_STR(compile_error("^*", &pos), "postfix closure '*' applied to anchoring operator");
	CHECK_STR(compile_error("a$+", &pos), "postfix closure '+' applied to anchoring operator");
	CHECK_STR(compile_error("a\\", &pos), "unexpected end of regex");
}

TEST(too_big)
{
	int pos = 0;
	/* "an a, then n arbitrary bytes" needs 2^n states to decide */
	const char *msg = compile_error("a.{12}$", &pos);
	CHECK(strstr(msg, "regex too complex") != NULL);
	CHECK(pos == -1);
	CHECK_STR(compile_error("^a{1000}$", &pos), "(compiled)");
	CHECK_STR(compile_error("a.{5}$", &pos), "(compiled)");
}

TEST(table_shape)
{
	Regex re;
	RegexError err;
	CHECK(regex_compile(&re, "^[0-9]+$", 8, &err));
	/* digits, other bytes, the end of the string */
	CHECK(re.nclasses == 3);
	CHECK(re.classmap['0'] == re.classmap['9']);
	CHECK(re.classmap['a'] != re.classmap['0']);
	CHECK(re.classmap[0] == re.nclasses - 1);
	CHECK(re.nstates <= 4);
	CHECK(re.ngroups == 1);
	regex_free(&re);
	CHECK(regex_compile(&re, "str(ing)", 8, &err));
	CHECK(re.ngroups == 2);
	regex_free(&re);
}

/* Random patterns over a small alphabet against glibc's POSIX ERE. */
TEST(agrees_with_posix)
{
	static const char *const atoms[] = {"a", "b", "c", ".", "[ab]", "[^a]", "(a|bc)", "(b*)", "^", "$"};
	static const char *const quants[] = {"", "", "*", "+", "?", "{2}", "{1,2}", "{0,}"};
	srand(7);
	int checked = 0;
	for (int t = 0; t < 400 && !unit_failed_now; t++) {
		char pat[64] = "";
		int n = 1 + rand() % 4;
		for (int i = 0; i < n; i++) {
			const char *a = atoms[rand() % 10];
			strcat(pat, a);
			if (a[0] != '^' && a[0] != '$')
				strcat(pat, quants[rand() % 8]);
		}
		regex_t posix;
		if (regcomp(&posix, pat, REG_EXTENDED | REG_NOSUB) != 0)
			continue;
		Regex re;
		RegexError err;
		if (!regex_compile(&re, pat, strlen(pat), &err)) {
			printf("FAIL %s: /%s/ rejected: %s\n", unit_name, pat, err.msg);
			unit_failed_now = 1;
			regfree(&posix);
			break;
		}
		for (int k = 0; k < 30; k++) {
			char s[8];
			int len = rand() % 7;
			for (int i = 0; i < len; i++)
				s[i] = "abcx"[rand() % 4];
			s[len] = 0;
			int want = regexec(&posix, s, 0, NULL, 0) == 0;
			if (regex_search(&re, s) != want && !unit_failed_now) {
				printf("FAIL %s: /%s/ on \"%s\": got %d, want %d\n", unit_name, pat, s, !want, want);
				unit_failed_now = 1;
			}
			checked++;
		}
		regex_free(&re);
		regfree(&posix);
	}
	CHECK(checked > 5000);
}

int main(void)
{
	RUN(table);
	RUN(errors);
	RUN(too_big);
	RUN(table_shape);
	RUN(agrees_with_posix);
	return unit_failures != 0;
}
