/* test_format.c - the printf engine against stap's documented output
 * (man stap, "printf") and C's printf where stap follows it. */
#include "format.h"
#include "stp_module.h"
#include "unit.h"

#include <stdarg.h>
#include <stdint.h>

/* Formats fmt with arguments described by `types` ('l' long, 's' string). */
static const char *fmt(const char *f, const char *types, ...)
{
	static struct stp_buf out;
	struct stp_buf args = { 0 };
	va_list ap;
	va_start(ap, types);
	for (const char *t = types; *t; t++) {
		if (*t == 'l')
			stp_pack_long(&args, va_arg(ap, int64_t));
		else
			stp_pack_str(&args, va_arg(ap, const char *));
	}
	va_end(ap);
	stp_buf_reset(&out);
	stp_format(&out, f, args.data, args.len);
	stp_buf_free(&args);
	return stp_buf_cstr(&out);
}

#define L(x) ((int64_t)(x))

TEST(man_page_examples)
{
	CHECK_STR(fmt("%c is %s; %x or %X or %p; %d or %u\n", "lslllll", L(97), "alice", L(0x1234abcd),
		      L(0x1234abcd), L(0x1234abcd), L(-1), L(-1)),
		  "a is alice; 1234abcd or 1234ABCD or 0x1234abcd; -1 or 18446744073709551615\n");
	CHECK_STR(fmt("%#o %#x %#X\n", "lll", L(1), L(2), L(3)), "01 0x2 0X3\n");
	CHECK_STR(fmt("%#c %#c %#c\n", "lll", L(0), L(9), L(42)), "\\000 \\t *\n");
}

TEST(signed_decimal)
{
	CHECK_STR(fmt("%d", "l", L(0)), "0");
	CHECK_STR(fmt("%i", "l", L(-42)), "-42");
	CHECK_STR(fmt("%d", "l", INT64_MIN), "-9223372036854775808");
	CHECK_STR(fmt("%d", "l", INT64_MAX), "9223372036854775807");
	CHECK_STR(fmt("%+d %+d", "ll", L(5), L(-5)), "+5 -5");
	CHECK_STR(fmt("% d|% d", "ll", L(5), L(-5)), " 5|-5");
	CHECK_STR(fmt("%5d|%-5d|%05d", "lll", L(42), L(42), L(-42)), "   42|42   |-0042");
	CHECK_STR(fmt("%.3d|%8.3d|%-8.3d|", "lll", L(7), L(-7), L(7)), "007|    -007|007     |");
	CHECK_STR(fmt("%08.3d", "l", L(5)), "     005");
	CHECK_STR(fmt("%.0d|%.0d", "ll", L(0), L(3)), "|3");
	CHECK_STR(fmt("%ld %lld %hd %Ld", "llll", L(1), L(2), L(3), L(4)), "1 2 3 4");
}

TEST(unsigned_conversions)
{
	CHECK_STR(fmt("%u", "l", L(-2)), "18446744073709551614");
	CHECK_STR(fmt("%o|%#o|%#o", "lll", L(8), L(8), L(0)), "10|010|0");
	CHECK_STR(fmt("%x|%X|%#x|%#X", "llll", L(255), L(255), L(255), L(0)), "ff|FF|0xff|0");
	CHECK_STR(fmt("%x", "l", L(-1)), "ffffffffffffffff");
	CHECK_STR(fmt("%08x|%#08x|%-#8x|", "lll", L(0xbeef), L(0xbeef), L(0xbeef)), "0000beef|0x00beef|0xbeef  |");
	CHECK_STR(fmt("%.6x", "l", L(0xab)), "0000ab");
}

TEST(pointer)
{
	CHECK_STR(fmt("%p", "l", L(0x1234abcd)), "0x1234abcd");
	CHECK_STR(fmt("%p", "l", L(0)), "0x0");
	CHECK_STR(fmt("%12p|%-12p|", "ll", L(0xabc), L(0xabc)), "       0xabc|0xabc       |");
	CHECK_STR(fmt("%p", "l", L(-1)), "0xffffffffffffffff");
}

TEST(characters)
{
	CHECK_STR(fmt("%c%c", "ll", L('o'), L('k')), "ok");
	CHECK_STR(fmt("[%3c][%-3c]", "ll", L('x'), L('y')), "[  x][y  ]");
	CHECK_STR(fmt("%#c%#c%#c%#c", "llll", L('\n'), L('\\'), L(200), L('"')), "\\n\\\\\\310\\\"");
}

TEST(strings)
{
	CHECK_STR(fmt("%s", "s", "hello"), "hello");
	CHECK_STR(fmt("[%8s][%-8s]", "ss", "abc", "abc"), "[     abc][abc     ]");
	CHECK_STR(fmt("[%.2s][%5.1s]", "ss", "abc", "xyz"), "[ab][    x]");
	CHECK_STR(fmt("%s|%s", "ss", "", "odd"), "|odd");
	CHECK_STR(fmt("%#s", "s", "a\tb\"c\\\n"), "a\\tb\\\"c\\\\\\n");
	CHECK_STR(fmt("%s and %d", "sl", "abc", L(7)), "abc and 7");
	CHECK_STR(fmt("%s%d%s%d", "slsl", "a", L(1), "bb", L(2)), "a1bb2");
}

TEST(star_width_precision)
{
	CHECK_STR(fmt("[%*d]", "ll", L(6), L(42)), "[    42]");
	CHECK_STR(fmt("[%-*d]", "ll", L(4), L(1)), "[1   ]");
	CHECK_STR(fmt("[%*d]", "ll", L(-4), L(1)), "[1   ]");
	CHECK_STR(fmt("[%.*s]", "ls", L(2), "abcdef"), "[ab]");
	CHECK_STR(fmt("[%*.*s]", "lls", L(5), L(3), "abcdef"), "[  abc]");
	CHECK_STR(fmt("%.*M", "ls", L(3), "\x01\xab\xff"), "01abff");
}

TEST(memory)
{
	CHECK_STR(fmt("%m", "s", "xyz"), "x");
	CHECK_STR(fmt("%.2m|%5.3m|", "ss", "xyz", "xyz"), "xy|  xyz|");
	CHECK_STR(fmt("%M", "s", "A"), "41");
	CHECK_STR(fmt("%10.4M|", "s", "\x12\x34\x56\x78"), "  12345678|");
}

TEST(binary)
{
	struct stp_buf args = { 0 }, out = { 0 };
	stp_pack_long(&args, 0x1122334455667788LL);
	stp_format(&out, "%b", args.data, args.len);
	CHECK(out.len == 8);
	int64_t v;
	memcpy(&v, out.data, 8);
	CHECK(v == 0x1122334455667788LL);
	stp_buf_reset(&out);
	CHECK(stp_format(&out, "%1b%2b%4b", args.data, args.len) == -1);
	CHECK(out.len == 7); /* one argument: the others write zeros */
	stp_buf_reset(&args);
	stp_pack_long(&args, 0x41);
	stp_pack_long(&args, 0x4243);
	stp_pack_long(&args, 0x44454647);
	stp_buf_reset(&out);
	stp_format(&out, "%1b%2b%4b", args.data, args.len);
	uint16_t w2 = 0x4243;
	uint32_t w4 = 0x44454647;
	CHECK(out.len == 7 && out.data[0] == 0x41 && memcmp(out.data + 1, &w2, 2) == 0 &&
	      memcmp(out.data + 3, &w4, 4) == 0);
	stp_buf_free(&args);
	stp_buf_free(&out);
}

TEST(percent_and_literals)
{
	CHECK_STR(fmt("100%%", ""), "100%");
	CHECK_STR(fmt("no conversions\n", ""), "no conversions\n");
	CHECK_STR(fmt("trailing %", ""), "trailing %");
}

TEST(short_arguments)
{
	struct stp_buf out = { 0 };
	CHECK(stp_format(&out, "%d %s", NULL, 0) == -1);
	CHECK_STR(stp_buf_cstr(&out), "0 ");
	struct stp_buf args = { 0 };
	uint16_t huge = 500; /* claims more bytes than there are */
	stp_buf_put(&args, &huge, 2);
	stp_buf_reset(&out);
	CHECK(stp_format(&out, "[%s]", args.data, args.len) == -1);
	CHECK_STR(stp_buf_cstr(&out), "[]");
	stp_buf_free(&out);
	stp_buf_free(&args);
}

/* Argument types and errors, as stap -p2 reports them. */
TEST(arg_types)
{
	enum stp_type t[8];
	char err[128] = "";
	CHECK(stp_format_arg_types("%d %s %%", t, 8, err, sizeof(err)) == 2);
	CHECK(t[0] == STP_T_LONG && t[1] == STP_T_STRING);
	CHECK(stp_format_arg_types("%*.*s|%-5ld|%#x|%.3m|%M|%b|%c|%p", t, 8, err, sizeof(err)) == 10);
	CHECK(t[0] == STP_T_LONG && t[1] == STP_T_LONG && t[2] == STP_T_STRING && t[5] == STP_T_STRING);
	CHECK(stp_format_arg_types("plain", t, 8, err, sizeof(err)) == 0);
	CHECK(stp_format_arg_types("%q", t, 8, err, sizeof(err)) == -1);
	CHECK_STR(err, "invalid or missing conversion specifier");
	CHECK(stp_format_arg_types("abc%", t, 8, err, sizeof(err)) == -1);
	CHECK_STR(err, "invalid or missing conversion specifier");
	CHECK(stp_format_arg_types("%12", t, 8, err, sizeof(err)) == -1);
	CHECK_STR(err, "trailing incomplete print format conversion");
	CHECK(stp_format_arg_types("%-", t, 8, err, sizeof(err)) == -1);
	CHECK_STR(err, "trailing incomplete print format conversion");
	/* stap takes one flag and one 'l' only */
	CHECK(stp_format_arg_types("%-#8d", t, 8, err, sizeof(err)) == -1);
	CHECK(stp_format_arg_types("%lld", t, 8, err, sizeof(err)) == -1);
	CHECK(stp_format_arg_types("%hd", t, 8, err, sizeof(err)) == -1);
	CHECK(stp_format_arg_types("%.", t, 8, err, sizeof(err)) == 0);
	CHECK(stp_format_arg_types("%d%d%d", t, 2, err, sizeof(err)) == 3);
}

int main(void)
{
	RUN(man_page_examples);
	RUN(signed_decimal);
	RUN(unsigned_conversions);
	RUN(pointer);
	RUN(characters);
	RUN(strings);
	RUN(star_width_precision);
	RUN(memory);
	RUN(binary);
	RUN(percent_and_literals);
	RUN(short_arguments);
	RUN(arg_types);
	UNIT_EXIT();
}
