/* The reference for the floating-point tapset tests: the host CPU's own
 * double arithmetic (SSE2, round to nearest) and libc's conversions.
 *
 *   fp_reference kernel   issue one prctl(0x46500000 + OP, operands,
 *                         expected) per case, for floatingpoint_kernel.stp
 *                         to recompute in a kernel handler and compare:
 *                         special values in all pairs, then values from a
 *                         seeded generator
 *   fp_reference user     print what floatingpoint_user.stp prints when
 *                         the tapset is right: the same loops over the
 *                         same values (its generator is repeated here)
 *
 * Expected values: a + b, a * b by addsd/mulsd with the operands in order
 * (the first NaN operand wins, as the tapset documents), a - b, a / b,
 * sqrt(), == < <=, (double) of a long and of a float, fprem1 (the x87's
 * IEEE remainder; glibc's remainder() gives -0 for some exact zero
 * results, against IEEE 754's sign of the dividend), llrint() under each
 * rounding mode, llround(), snprintf("%.*f") cut at 127 bytes and
 * strtod(). */
#define _GNU_SOURCE
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

enum { ADD, SUB, MUL, DIV, REM, SQRT, EQ, LT, LE, LTOF, F32, TOLONG, TOSTR, FROMSTR, NOPS };


static uint64_t bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double dbl(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const uint64_t specials[] = {
	0x0000000000000000ULL, 0x8000000000000000ULL, /* +0 -0 */
	0x3ff0000000000000ULL, 0xbff0000000000000ULL, /* 1 -1 */
	0x3fe0000000000000ULL, 0x3ff8000000000000ULL, /* 0.5 1.5 */
	0x4008000000000000ULL, 0xc004000000000000ULL, /* 3 -2.5 */
	0x3fb999999999999aULL, 0x3fd5555555555555ULL, /* 0.1 1/3 */
	0x7fefffffffffffffULL, 0xffefffffffffffffULL, /* +-DBL_MAX */
	0x0010000000000000ULL, 0x000fffffffffffffULL, /* DBL_MIN, largest subnormal */
	0x0000000000000001ULL, 0x8000000000000003ULL, /* subnormals */
	0x4340000000000001ULL, 0x7e37e43c8800759cULL, /* 2^54+2, 1e300 */
	0x7ff0000000000000ULL, 0xfff0000000000000ULL, /* +-inf */
	0x7ff8000000000000ULL, 0xfff8000000000123ULL, /* quiet NaNs */
	0x7ff0000000000001ULL,                        /* signalling NaN */
};
#define NSPECIAL (sizeof specials / sizeof specials[0])
#define NELEM(a) (sizeof a / sizeof a[0])

/* Cases both modes go through: fp_to_long's operands (ties, the ends of
 * a long's range), fp_to_string's precisions, long_to_fp's and
 * fp32_to_fp64's operands, string_to_fp's inputs. */
static const double roundings[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 2.75,
				   -3.25, 4503599627370495.5, 9223372036854774784.0,
				   9223372036854775808.0, -9223372036854775808.0, -1e19, 1e-310, -7.0};
static const int64_t precs[] = {0, 1, 2, 3, 6, 17, 30, 126, 127, 128, 300, -1};
static const int64_t longs[] = {0, 1, -1, 9007199254740993LL, -9007199254740993LL, INT64_MAX,
				INT64_MIN, 0x7ffffffffffffdffLL, 0x20000000000001LL, 123456789};
static const uint64_t floats[] = {0, 0x80000000, 0x3f800000, 0xbfc00000, 0x00000001, 0x807fffff,
				  0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001,
				  0xffc12345, 0xdeadbeef3fc00000ULL};
static const char *const inputs[] = {
	"0", "-0", "1", "+1.5", "  2.5e3 ", ".5", "5.", "0.1", "1e-400", "-1e400", "4.9e-324",
	"2.4703282292062327e-324", "2.4703282292062328e-324", "2.2250738585072011e-308",
	"1.7976931348623157e308", "1.7976931348623158e308", "1.797693134862315808e308",
	"9007199254740993", "9007199254740993.0000000000000000000000000000001", "inf",
	"-Infinity", "nan", "-NaN", "123456789012345678901234567890e-20",
	"0.00000000000000000000000000000000000000000000000000000000000000000000000000001e-245",
};

/* A double of any kind: random bits, subnormals, near 1, small integers. */
static uint64_t random_double(void)
{
	uint64_t r = rnd();
	switch (r % 6) {
	case 0: return specials[(r >> 8) % NSPECIAL];
	case 1: return r & 0x800fffffffffffffULL;
	case 2: return (r & 0x80000000000fffffULL) | ((uint64_t)(1023 + (r >> 20) % 64 - 32) << 52);
	case 3: return bits((double)((int64_t)(rnd() % 4001) - 2000) / 8);
	default: return rnd();
	}
}

static double add_in_order(double a, double b) { __asm__("addsd %1, %0" : "+x"(a) : "x"(b)); return a; }
static double mul_in_order(double a, double b) { __asm__("mulsd %1, %0" : "+x"(a) : "x"(b)); return a; }

static double ieee_remainder(double x, double y)
{
	if (isnan(x) || isnan(y))
		return add_in_order(x, y); /* NaN in, the first NaN out */
	long double a = x, b = y;
	unsigned short sw;
	do
		__asm__("fprem1; fnstsw %%ax" : "+t"(a), "=a"(sw) : "u"(b));
	while (sw & 0x400);
	return (double)a;
}

static uint64_t binary(int op, uint64_t a, uint64_t b)
{
	volatile double x = dbl(a), y = dbl(b);
	switch (op) {
	case ADD: return bits(add_in_order(x, y));
	case SUB: return bits(x - y);
	case MUL: return bits(mul_in_order(x, y));
	case DIV: return bits(x / y);
	case REM: return bits(ieee_remainder(x, y));
	case EQ: return x == y;
	case LT: return x < y;
	default: return x <= y;
	}
}

static int64_t to_long(uint64_t a, int mode)
{
	static const int fe[] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
	double x = dbl(a);
	if (!(x >= -0x1p63 && x < 0x1p63))
		return INT64_MIN;
	if (mode < 4) {
		fesetround(fe[mode]);
		int64_t r = llrint(x);
		fesetround(FE_TONEAREST);
		return r;
	}
	if (mode == 4)
		return llround(x);
	double t = trunc(x); /* to odd: toward zero, then odd if inexact */
	int64_t m = (int64_t)fabs(t);
	if (t != x)
		m |= 1;
	return x < 0 ? -m : m;
}

/* printf's text, cut as a MAXSTRINGLEN (128) string is; a precision
 * below 0 is 0 for fp_to_string (printf would take it as 6) */
static void to_string(char *out, uint64_t a, int prec)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "%.*f", prec < 0 ? 0 : prec, dbl(a));
	buf[127] = 0;
	strcpy(out, buf);
}

/* One case, to the kernel handler: operands and the expected value (or
 * the addresses of strings). */
static void emit(int op, uint64_t a, uint64_t b, uint64_t want, const char *sa, const char *sw)
{
	prctl(0x46500000 + op, (unsigned long)(sa ? (uint64_t)(uintptr_t)sa : a), (unsigned long)b,
	      (unsigned long)(sw ? (uint64_t)(uintptr_t)sw : want), 0UL);
}

static void string_case(uint64_t a, int prec)
{
	char want[128];
	to_string(want, a, prec);
	emit(TOSTR, a, (uint64_t)(int64_t)prec, 0, NULL, want);
}

static void parse_case(const char *s)
{
	char in[128];
	snprintf(in, sizeof in, "%s", s);
	char *end;
	double d = strtod(in, &end);
	emit(FROMSTR, 0, 0, bits(d), in, NULL);
}

/* Whether u's digits k+1, k+2 after the point (k the last that fits in
 * 127 bytes) are 9s and the next at least 5: rounding at a precision past
 * the end of the string carries into the text. */
static int carries(uint64_t u)
{
	static char full[1300];
	snprintf(full, sizeof full, "%.1200f", dbl(u));
	const char *dot = strchr(full, '.'), *d = dot + 1 + (126 - (int)(dot - full));
	return d[0] == '9' && d[1] == '9' && d[2] >= '5';
}

static uint64_t carrying_value(void)
{
	for (;;) {
		uint64_t u = (rnd() & 0x000fffffffffffffULL) | ((uint64_t)(600 + rnd() % 300) << 52);
		if (carries(u))
			return u;
	}
}

static void kernel_cases(int nrandom)
{
	for (int op = ADD; op <= LE; op++) {
		if (op == SQRT)
			continue;
		for (unsigned i = 0; i < NSPECIAL; i++)
			for (unsigned j = 0; j < NSPECIAL; j++)
				emit(op, specials[i], specials[j], binary(op, specials[i], specials[j]), NULL, NULL);
		for (int i = 0; i < nrandom; i++) {
			uint64_t a = random_double(), b = random_double();
			if (i % 4 == 0) /* close operands: cancellation, ties */
				b = a ^ (rnd() & 0xff) ^ (i % 8 ? 0 : 0x8000000000000000ULL);
			emit(op, a, b, binary(op, a, b), NULL, NULL);
		}
	}
	for (unsigned i = 0; i < NSPECIAL + nrandom; i++) {
		uint64_t a = i < NSPECIAL ? specials[i] : random_double();
		if (i >= NSPECIAL && i % 2)
			a &= ~0x8000000000000000ULL;
		volatile double x = dbl(a);
		emit(SQRT, a, 0, bits(sqrt(x)), NULL, NULL);
	}
	for (unsigned i = 0; i < NELEM(longs) + nrandom; i++) {
		int64_t l = i < NELEM(longs) ? longs[i] : (int64_t)rnd() >> (rnd() % 64);
		volatile int64_t v = l;
		emit(LTOF, (uint64_t)l, 0, bits((double)v), NULL, NULL);
	}
	for (unsigned i = 0; i < NELEM(floats) + nrandom; i++) {
		uint64_t f = i < NELEM(floats) ? floats[i] : rnd();
		uint32_t f32 = (uint32_t)f;
		float fl;
		memcpy(&fl, &f32, 4);
		volatile double d = fl;
		emit(F32, f, 0, bits(d), NULL, NULL);
	}
	static const int modes[] = {0, 1, 2, 3, 4, 6};
	for (unsigned i = 0; i < NELEM(roundings) + NSPECIAL + nrandom; i++) {
		uint64_t a = i < NELEM(roundings) ? bits(roundings[i])
			     : i < NELEM(roundings) + NSPECIAL
				 ? specials[i - NELEM(roundings)]
				 : random_double();
		for (int m = 0; m < 6; m++)
			emit(TOLONG, a, (uint64_t)modes[m], (uint64_t)to_long(a, modes[m]), NULL, NULL);
	}
	for (unsigned i = 0; i < NSPECIAL; i++)
		for (unsigned p = 0; p < NELEM(precs); p++)
			string_case(specials[i], (int)precs[p]);
	static const double texts[] = {0.125, 0.375, 2.5, 0.05, 9.995, 999999.5, 1e22, 1e23, -1e-5};
	for (unsigned i = 0; i < sizeof texts / sizeof texts[0]; i++)
		for (int p = 0; p < 4; p++)
			string_case(bits(texts[i]), p);
	for (int i = 0; i < nrandom; i++)
		string_case(random_double(), (int)(rnd() % 40));
	for (int i = 0; i < 4; i++)
		string_case(carrying_value(), 128 + i);
	for (unsigned i = 0; i < NELEM(inputs); i++)
		parse_case(inputs[i]);
	for (int i = 0; i < nrandom; i++) {
		char buf[128];
		double x = dbl(random_double());
		switch (i % 3) {
		case 0: snprintf(buf, sizeof buf, "%.17g", x); break;
		case 1: snprintf(buf, sizeof buf, "%.*e", (int)(rnd() % 25), x); break;
		default: {
			int n = 1 + (int)(rnd() % 60);
			for (int j = 0; j < n; j++)
				buf[j] = (char)('0' + rnd() % 10);
			buf[n] = 0;
			snprintf(buf + n, sizeof buf - n, "e%d", (int)(rnd() % 700) - 350);
		}
		}
		parse_case(buf);
	}
}


/* ------------------------------------------------ floatingpoint_user.stp */

/* The script's generator: an LCG modulo 2^31, whose products fit a long */
static int64_t seed = 1;
static int64_t rand31(void)
{
	seed = (seed * 1103515245 + 12345) % 2147483648LL;
	return seed;
}

static uint64_t script_double(void)
{
	int64_t k = rand31() % 6;
	if (k == 0)
		return specials[rand31() % NSPECIAL];
	int64_t hi = rand31() % 1073741824, mid = rand31(), lo = rand31() % 4;
	uint64_t v = (uint64_t)hi << 33 | (uint64_t)mid << 2 | (uint64_t)lo;
	if (rand31() % 2)
		v |= 0x8000000000000000ULL;
	if (k == 1)
		return v & 0x800fffffffffffffULL;
	if (k == 2)
		return (v & 0x80000000000fffffULL) | (uint64_t)(1023 + rand31() % 64 - 32) << 52;
	if (k == 3) {
		volatile double n = (double)(rand31() % 4001 - 2000);
		return bits(n / 8);
	}
	return v;
}

static void user_pair(uint64_t a, uint64_t b)
{
	printf("%016llx %016llx %016llx %016llx %016llx %016llx %016llx %d%d%d\n",
	       (unsigned long long)a, (unsigned long long)b, (unsigned long long)binary(ADD, a, b),
	       (unsigned long long)binary(SUB, a, b), (unsigned long long)binary(MUL, a, b),
	       (unsigned long long)binary(DIV, a, b), (unsigned long long)binary(REM, a, b),
	       (int)binary(EQ, a, b), (int)binary(LT, a, b), (int)binary(LE, a, b));
}

static void user_unary(uint64_t a)
{
	volatile double x = dbl(a);
	printf("%016llx %016llx %lld %lld %lld %lld %lld %lld\n", (unsigned long long)a,
	       (unsigned long long)bits(sqrt(x)), (long long)to_long(a, 0), (long long)to_long(a, 1),
	       (long long)to_long(a, 2), (long long)to_long(a, 3), (long long)to_long(a, 4),
	       (long long)to_long(a, 6));
}

static void user_string(uint64_t a, int64_t prec)
{
	char s[128];
	to_string(s, a, (int)prec);
	printf("%016llx %lld %s\n", (unsigned long long)a, (long long)prec, s);
}

static void user_parse(const char *s)
{
	printf("%s %016llx\n", s, (unsigned long long)bits(strtod(s, NULL)));
}

static const uint64_t user_texts[] = {
	0x3fc0000000000000ULL, 0x3fd8000000000000ULL, 0x4004000000000000ULL, /* 0.125 0.375 2.5 */
	0x3fa999999999999aULL, 0x4023fd70a3d70a3dULL, 0x412e847f00000000ULL, /* 0.05 9.995 999999.5 */
	0x44b52d02c7e14af6ULL, 0x44b52d02c7e14af7ULL, 0xbee4f8b588e368f1ULL, /* 1e22 ~1e23 -1e-5 */
};
/* digits 126 to 128 after the point are 995 or more: a precision past
 * the end of the string carries into the text (found by searching) */
static const uint64_t user_carrying[] = { /* fp_reference carrying */
	0x312f0e382a747e06ULL, 0x2d591ffb1252c396ULL, 0x2975d96233349139ULL, 0x37caeedba51e3576ULL,
};

static void user_output(void)
{
	for (unsigned i = 0; i < NSPECIAL; i++)
		for (unsigned j = 0; j < NSPECIAL; j++)
			user_pair(specials[i], specials[j]);
	for (int i = 0; i < 150; i++) {
		uint64_t a = script_double(), b = script_double();
		if (i % 4 == 0) /* close operands: cancellation, ties */
			b = a ^ (uint64_t)(rand31() % 256) ^ (i % 8 ? 0 : 0x8000000000000000ULL);
		user_pair(a, b);
	}
	for (unsigned i = 0; i < NSPECIAL; i++)
		user_unary(specials[i]);
	for (unsigned i = 0; i < NELEM(roundings); i++)
		user_unary(bits(roundings[i]));
	for (int i = 0; i < 100; i++)
		user_unary(script_double());
	for (unsigned i = 0; i < NELEM(longs); i++) {
		volatile int64_t l = longs[i];
		printf("%lld %016llx\n", (long long)l, (unsigned long long)bits((double)l));
	}
	for (int i = 0; i < 60; i++) {
		int64_t hi = rand31() % 1073741824, lo = rand31(), sh = rand31() % 64;
		volatile int64_t l = (hi << 33 | lo << 2) >> sh;
		if (rand31() % 2)
			l = -l;
		printf("%lld %016llx\n", (long long)l, (unsigned long long)bits((double)l));
	}
	for (unsigned i = 0; i < NELEM(floats) + 60; i++) {
		uint64_t f = floats[i % NELEM(floats)];
		if (i >= NELEM(floats)) {
			int64_t f1 = rand31(), f2 = rand31() % 2;
			f = (uint64_t)(f1 << 1 | f2);
		}
		uint32_t f32 = (uint32_t)f;
		float fl;
		memcpy(&fl, &f32, 4);
		volatile double d = fl;
		printf("%016llx %016llx\n", (unsigned long long)f, (unsigned long long)bits(d));
	}
	for (unsigned i = 0; i < NSPECIAL; i++)
		for (unsigned p = 0; p < NELEM(precs); p++)
			user_string(specials[i], precs[p]);
	for (unsigned i = 0; i < NELEM(user_texts); i++)
		for (int p = 0; p < 4; p++)
			user_string(user_texts[i], p);
	for (unsigned i = 0; i < NELEM(user_carrying); i++)
		for (int p = 128; p < 132; p++)
			user_string(user_carrying[i], p);
	for (int i = 0; i < 100; i++) {
		uint64_t a = script_double();
		user_string(a, rand31() % 40);
	}
	for (unsigned i = 0; i < NELEM(inputs); i++)
		user_parse(inputs[i]);
	for (int i = 0; i < 100; i++) {
		char s[128];
		uint64_t a = script_double();
		int64_t p = rand31() % 30;
		if (i % 2) {
			to_string(s, a, (int)p);
		} else {
			int64_t d1 = rand31(), d2 = rand31(), e = rand31() % 700 - 350;
			snprintf(s, sizeof s, "%lld.%llde%lld", (long long)d1, (long long)d2, (long long)e);
		}
		user_parse(s);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "kernel")) {
		kernel_cases(60);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "carrying")) { /* how user_carrying was found */
		for (int i = 0; i < 4; i++)
			printf("0x%016llxULL\n", (unsigned long long)carrying_value());
		return 0;
	}
	for (unsigned i = 0; i < NELEM(user_carrying); i++)
		if (!carries(user_carrying[i])) {
			fprintf(stderr, "%016llx does not carry\n", (unsigned long long)user_carrying[i]);
			return 1;
		}
	user_output();
	return 0;
}
