/* stp_softfloat.h - IEEE-754 binary64 arithmetic in integers, for the
 * floating-point tapset (tapset/floatingpoint.stp).
 *
 * A value is the bit pattern of a double held in a long, as stap keeps
 * it.  BPF has no floating-point instructions, so the kernel unit computes
 * with integers; the host unit includes the same code, so that a script
 * gets the same bits from a kernel handler and from a user-space one.
 * The results are those of an x86-64 CPU computing with doubles:
 *   - every operation is correctly rounded, round to nearest, ties to
 *     even; subnormals are kept (no flush to zero), signed zeros follow
 *     IEEE 754 (-0 + -0 = -0, x - x = +0, sqrt(-0) = -0);
 *   - a NaN operand is returned quieted, the first one when both are
 *     NaN; an invalid operation (inf - inf, 0 * inf, 0 / 0, inf / inf,
 *     sqrt of a negative number, the remainder of inf or by 0) gives
 *     the default NaN 0xfff8000000000000;
 *   - conversions to an integer that are out of range or NaN give
 *     INT64_MIN (the x86 "integer indefinite");
 *   - fp_rem is IEEE 754's remainder (x - n * y, n the nearest integer to
 *     x / y, ties to even), C's remainder(), exact.
 * Decimal conversions are exact as well: string_to_fp rounds the decimal
 * value written correctly (as strtod does), fp_to_string prints what
 * printf("%.*f") prints, both through big integers (struct stp_sf_work).
 *
 * Kernel-side constraints:
 *   - the entry points and the big steps inside them (STP_SF_API) are
 *     global BPF functions, verified once with arguments of any value
 *     rather than at every call with what the caller knows of them, so
 *     they take and return scalars or pointers to sized structures;
 *   - the big integers live in a per-CPU map (stp_sf_scratch), not on
 *     the 512-byte stack;
 *   - the long loops over big integers and strings are stp_loop()s
 *     (bpf_loop: the verifier checks the body once, not once for each
 *     iteration, which would pass its instruction limit), the short
 *     ones over the limbs of a number have constant bounds;
 *   - a value that a loop computes through branches and that later code
 *     indexes with is kept in the work structure through volatile
 *     accesses (STP_SF_VOL): the verifier knows nothing of map memory,
 *     so the paths through the loop end in equal states, instead of one
 *     state per value seen so far.
 */
#ifndef STP_SOFTFLOAT_H
#define STP_SOFTFLOAT_H

#ifdef STP_BPF
#define STP_SF_API __noinline
#else
#define STP_SF_API static
#endif

#define STP_SF_SIGN 0x8000000000000000ULL
#define STP_SF_INF 0x7ff0000000000000ULL
#define STP_SF_QUIET 0x0008000000000000ULL
#define STP_SF_FRAC 0x000fffffffffffffULL
#define STP_SF_DEFAULT_NAN 0xfff8000000000000ULL
#define STP_SF_INT_INDEFINITE ((int64_t)0x8000000000000000ULL)

#define STP_SF_VOL(lv) (*(volatile __typeof__(lv) *)&(lv))

/* i within an array of n (a power of two) elements.  In BPF the mask is
 * applied to the register the access uses: clang drops a mask it can
 * prove redundant, then bounds a copy that the verifier does not tie to
 * the one indexed with. */
#ifdef STP_BPF
#define STP_SF_IDX(i, n)                                                 \
	({                                                               \
		uint64_t i_ = (uint64_t)(i);                             \
		__asm__ volatile("" : "+r"(i_));                         \
		i_ & ((n) - 1);                                          \
	})
#else
#define STP_SF_IDX(i, n) ((uint64_t)(i) & ((n) - 1))
#endif

/* ------------------------------------------------------------ scalars */

static inline int stp_sf_isnan(uint64_t x)
{
	return (x & ~STP_SF_SIGN) > STP_SF_INF;
}

/* The NaN an operation on a NaN gives: the first NaN operand, quiet. */
static inline uint64_t stp_sf_nan2(uint64_t a, uint64_t b)
{
	return (stp_sf_isnan(a) ? a : b) | STP_SF_QUIET;
}

/* Leading zero bits of x != 0 (BPF has no instruction for it). */
static inline int stp_sf_clz64(uint64_t x)
{
	int n = 0;
	if (!(x >> 32)) { n += 32; x <<= 32; }
	if (!(x >> 48)) { n += 16; x <<= 16; }
	if (!(x >> 56)) { n += 8; x <<= 8; }
	if (!(x >> 60)) { n += 4; x <<= 4; }
	if (!(x >> 62)) { n += 2; x <<= 2; }
	if (!(x >> 63)) n += 1;
	return n;
}

/* The significand of a finite nonzero x, as an integer below 2^53 with
 * its top bit at 52 (subnormals shifted up); *e makes it sig * 2^e. */
static inline uint64_t stp_sf_unpack(uint64_t x, int *e)
{
	int be = (int)((x >> 52) & 0x7ff);
	uint64_t sig = x & STP_SF_FRAC;
	if (be) {
		*e = be - 1075;
		return sig | (1ULL << 52);
	}
	int n = stp_sf_clz64(sig) - 11;
	*e = -1074 - n;
	return sig << n;
}

/*
 * The double nearest to (sig + t) * 2^e, ties to even, where 0 <= t < 1 is
 * nonzero when sticky is: sig != 0 holds the exact value's leading bits
 * and the bits below it are only known to be zero or not.  The mantissa
 * is the top 53 bits once sig is normalised to bit 63; a carry out of
 * rounding moves into the exponent field (and from there to infinity).
 */
static inline uint64_t stp_sf_round_pack(uint64_t sign, int e, uint64_t sig, int sticky)
{
	int n = stp_sf_clz64(sig);
	sig <<= n;
	e -= n;
	int be = e + 1086;
	if (be >= 2047)
		return sign | STP_SF_INF;
	if (be <= 0) { /* subnormal: 2^-1074 is the unit of the mantissa */
		int sh = 1 - be;
		if (sh >= 64) {
			sticky |= sig != 0;
			sig = 0;
		} else {
			sticky |= (sig << (64 - sh)) != 0;
			sig >>= sh;
		}
		be = 1;
	}
	uint64_t m = sig >> 11, low = sig & 0x7ff;
	if (low > 0x400 || (low == 0x400 && (sticky || (m & 1))))
		m++;
	return sign | (((uint64_t)(be - 1) << 52) + m);
}

/* a + b, or a - b when negb is the sign bit. */
static inline uint64_t stp_sf_addsub(uint64_t a, uint64_t b, uint64_t negb)
{
	if (stp_sf_isnan(a) || stp_sf_isnan(b))
		return stp_sf_nan2(a, b);
	b ^= negb;
	uint64_t ma = a & ~STP_SF_SIGN, mb = b & ~STP_SF_SIGN;
	if (ma == STP_SF_INF)
		return mb == STP_SF_INF && (a ^ b) >> 63 ? STP_SF_DEFAULT_NAN : a;
	if (mb == STP_SF_INF)
		return b;
	if (ma == 0)
		return mb == 0 ? (a & b) : b;
	if (mb == 0)
		return a;
	if (ma < mb) { /* a is the larger in magnitude */
		uint64_t t = a;
		a = b;
		b = t;
	}
	int ea, eb;
	/* ten guard bits: a sum stays below 2^64, a difference loses at
	 * most two bits to normalisation when bits of b were shifted out */
	uint64_t siga = stp_sf_unpack(a, &ea) << 10;
	uint64_t sigb = stp_sf_unpack(b, &eb) << 10;
	int d = ea - eb, sticky = 0;
	if (d >= 64) {
		sticky = 1;
		sigb = 0;
	} else if (d > 0) {
		sticky = (sigb << (64 - d)) != 0;
		sigb >>= d;
	}
	uint64_t sign = a & STP_SF_SIGN;
	if (!((a ^ b) >> 63))
		return stp_sf_round_pack(sign, ea - 10, siga + sigb, sticky);
	/* b's lost bits t: siga - (sigb + t) = (siga - sigb - 1) + (1 - t) */
	uint64_t diff = siga - sigb - (uint64_t)sticky;
	if (diff == 0)
		return 0;
	return stp_sf_round_pack(sign, ea - 10, diff, sticky);
}

STP_SF_API uint64_t stp_sf_add(uint64_t a, uint64_t b)
{
	return stp_sf_addsub(a, b, 0);
}

STP_SF_API uint64_t stp_sf_sub(uint64_t a, uint64_t b)
{
	return stp_sf_addsub(a, b, STP_SF_SIGN);
}

/* The 128-bit product of a and b, from 32-bit halves. */
static inline uint64_t stp_sf_mul128(uint64_t a, uint64_t b, uint64_t *lo)
{
	uint64_t a0 = a & 0xffffffff, a1 = a >> 32, b0 = b & 0xffffffff, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
	*lo = (mid << 32) | (p00 & 0xffffffff);
	return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

STP_SF_API uint64_t stp_sf_mul(uint64_t a, uint64_t b)
{
	if (stp_sf_isnan(a) || stp_sf_isnan(b))
		return stp_sf_nan2(a, b);
	uint64_t sign = (a ^ b) & STP_SF_SIGN;
	uint64_t ma = a & ~STP_SF_SIGN, mb = b & ~STP_SF_SIGN;
	if (ma == STP_SF_INF || mb == STP_SF_INF)
		return ma == 0 || mb == 0 ? STP_SF_DEFAULT_NAN : sign | STP_SF_INF;
	if (ma == 0 || mb == 0)
		return sign;
	int ea, eb;
	uint64_t siga = stp_sf_unpack(a, &ea), sigb = stp_sf_unpack(b, &eb);
	uint64_t lo, hi = stp_sf_mul128(siga, sigb, &lo);
	/* siga and sigb have their top bits at 52: the product's is at
	 * 104 or 105, in hi */
	int n = stp_sf_clz64(hi);
	uint64_t top = (hi << n) | (n ? lo >> (64 - n) : 0);
	int sticky = (lo << n) != 0;
	return stp_sf_round_pack(sign, ea + eb + 64 - n, top, sticky);
}

STP_SF_API uint64_t stp_sf_div(uint64_t a, uint64_t b)
{
	if (stp_sf_isnan(a) || stp_sf_isnan(b))
		return stp_sf_nan2(a, b);
	uint64_t sign = (a ^ b) & STP_SF_SIGN;
	uint64_t ma = a & ~STP_SF_SIGN, mb = b & ~STP_SF_SIGN;
	if (ma == STP_SF_INF)
		return mb == STP_SF_INF ? STP_SF_DEFAULT_NAN : sign | STP_SF_INF;
	if (mb == STP_SF_INF)
		return sign;
	if (mb == 0)
		return ma == 0 ? STP_SF_DEFAULT_NAN : sign | STP_SF_INF;
	if (ma == 0)
		return sign;
	int ea, eb;
	uint64_t siga = stp_sf_unpack(a, &ea), sigb = stp_sf_unpack(b, &eb);
	/* 55 quotient bits, 11 at a time: the remainder stays below 2^53,
	 * so shifting it by 11 fits 64 bits and BPF's 64-bit division does */
	uint64_t q = siga / sigb, r = siga % sigb;
	for (int i = 0; i < 5; i++) {
		r <<= 11;
		q = (q << 11) | (r / sigb);
		r %= sigb;
	}
	return stp_sf_round_pack(sign, ea - eb - 55, q, r != 0);
}

STP_SF_API uint64_t stp_sf_sqrt(uint64_t a)
{
	if (stp_sf_isnan(a))
		return a | STP_SF_QUIET;
	if ((a & ~STP_SF_SIGN) == 0)
		return a;
	if (a & STP_SF_SIGN)
		return STP_SF_DEFAULT_NAN;
	if (a == STP_SF_INF)
		return a;
	int e;
	uint64_t sig = stp_sf_unpack(a, &e);
	if (e & 1) {
		sig <<= 1;
		e -= 1;
	}
	/* The integer root of sig * 2^56 (at most 110 bits), two bits of
	 * radicand a step; the root has 55 bits, the rest is sticky.  No
	 * branches: rem and trial stay below 2^58, so the sign of their
	 * difference says which is larger (a branch would double the paths
	 * the verifier walks at every step). */
	uint64_t root = 0, rem = 0;
	for (int i = 0; i < 55; i++) {
		uint64_t pair = i < 27 ? (sig >> (52 - 2 * i)) & 3 : 0;
		uint64_t trial = (root << 2) | 1;
		rem = (rem << 2) | pair;
		uint64_t fits = ((rem - trial) >> 63) ^ 1;
		rem -= trial & -fits;
		root = (root << 1) | fits;
	}
	return stp_sf_round_pack(0, (e - 56) >> 1, root, rem != 0); /* e is even */
}

struct stp_sf_rem_loop {
	uint64_t r, d, qodd;
};

/* 11 more bits of the quotient of the remainder */
static long stp_sf_rem_cb(uint32_t i, void *ctx)
{
	struct stp_sf_rem_loop *L = ctx;
	if (!L->d)
		return 1;
	uint64_t r = L->r << 11;
	L->qodd = (r / L->d) & 1;
	L->r = r % L->d;
	return 0;
}

STP_SF_API uint64_t stp_sf_rem(uint64_t a, uint64_t b)
{
	if (stp_sf_isnan(a) || stp_sf_isnan(b))
		return stp_sf_nan2(a, b);
	uint64_t ma = a & ~STP_SF_SIGN, mb = b & ~STP_SF_SIGN;
	if (ma == STP_SF_INF || mb == 0)
		return STP_SF_DEFAULT_NAN;
	if (mb == STP_SF_INF || ma == 0)
		return a;
	int ea, eb;
	uint64_t siga = stp_sf_unpack(a, &ea), sigb = stp_sf_unpack(b, &eb);
	uint64_t sign = a & STP_SF_SIGN;
	int d = ea - eb;
	if (d < -1)
		return a; /* |a| < |b| / 2 */
	uint64_t r, qodd = 0;
	if (d == -1) { /* quotient 0; compare a with b / 2 */
		sigb <<= 1;
		eb = ea;
		r = siga;
	} else {
		/* r = siga * 2^d mod sigb, 11 bits a step (d <= 2097);
		 * qodd is the quotient's last bit, for ties */
		uint32_t last = (uint32_t)d % 11;
		struct stp_sf_rem_loop L = {siga % sigb, sigb, (siga / sigb) & 1};
		stp_loop((uint32_t)d / 11, stp_sf_rem_cb, &L);
		r = L.r;
		qodd = L.qodd;
		if (last) {
			r <<= last;
			qodd = (r / sigb) & 1;
			r %= sigb;
		}
	}
	if (2 * r > sigb || (2 * r == sigb && qodd)) {
		r = sigb - r;
		sign ^= STP_SF_SIGN;
	}
	if (r == 0)
		return sign;
	return stp_sf_round_pack(sign, eb, r, 0); /* exact */
}

STP_SF_API int64_t stp_sf_eq(uint64_t a, uint64_t b)
{
	if (stp_sf_isnan(a) || stp_sf_isnan(b))
		return 0;
	return a == b || ((a | b) & ~STP_SF_SIGN) == 0;
}

STP_SF_API int64_t stp_sf_lt(uint64_t a, uint64_t b)
{
	if (stp_sf_isnan(a) || stp_sf_isnan(b))
		return 0;
	if ((a ^ b) >> 63)
		return (a >> 63) && ((a | b) & ~STP_SF_SIGN) != 0;
	return a >> 63 ? a > b : a < b;
}

STP_SF_API int64_t stp_sf_le(uint64_t a, uint64_t b)
{
	if (stp_sf_isnan(a) || stp_sf_isnan(b))
		return 0;
	if ((a ^ b) >> 63)
		return (a >> 63) || ((a | b) & ~STP_SF_SIGN) == 0;
	return a >> 63 ? a >= b : a <= b;
}

STP_SF_API uint64_t stp_sf_from_long(int64_t x)
{
	if (x == 0)
		return 0;
	uint64_t sign = x < 0 ? STP_SF_SIGN : 0;
	uint64_t mag = x < 0 ? -(uint64_t)x : (uint64_t)x;
	return stp_sf_round_pack(sign, 0, mag, 0);
}

/* The binary32 in the low 32 bits of x, widened (exactly; a NaN keeps
 * its payload and is quieted, as cvtss2sd does). */
STP_SF_API uint64_t stp_sf_from_fp32(uint64_t x)
{
	uint64_t sign = (x & 0x80000000ULL) << 32;
	int be = (int)((x >> 23) & 0xff);
	uint64_t frac = x & 0x7fffff;
	if (be == 0xff)
		return frac ? sign | STP_SF_INF | STP_SF_QUIET | (frac << 29) : sign | STP_SF_INF;
	if (be == 0)
		return frac ? stp_sf_round_pack(sign, -149, frac, 0) : sign;
	return stp_sf_round_pack(sign, be - 150, frac | (1ULL << 23), 0);
}

/* Rounding modes of fp_to_long, SoftFloat's numbers. */
enum {
	STP_SF_NEAR_EVEN = 0,
	STP_SF_MIN_MAG = 1,
	STP_SF_MIN = 2,
	STP_SF_MAX = 3,
	STP_SF_NEAR_MAX_MAG = 4,
	STP_SF_ODD = 6,
};

static inline int stp_sf_valid_mode(int64_t mode)
{
	return mode >= 0 && mode <= 6 && mode != 5;
}

/* x rounded to an integer in the given mode (a valid one). */
STP_SF_API int64_t stp_sf_to_long(uint64_t x, int64_t mode)
{
	uint64_t mag = x & ~STP_SF_SIGN;
	int neg = (int)(x >> 63);
	if (mag >= STP_SF_INF)
		return STP_SF_INT_INDEFINITE;
	if (mag == 0)
		return 0;
	int e;
	uint64_t sig = stp_sf_unpack(x, &e);
	if (e >= 0) { /* an integer: sig has 53 bits */
		if (e > 10)
			return STP_SF_INT_INDEFINITE; /* >= 2^63 (-2^63 itself is that) */
		sig <<= e;
		return neg ? -(int64_t)sig : (int64_t)sig;
	}
	int n = -e;
	if (n > 54) { /* below 1/2, not zero */
		sig = 1;
		n = 54;
	}
	uint64_t ip = sig >> n, rest = sig & ((1ULL << n) - 1), half = 1ULL << (n - 1);
	int up = 0;
	switch (mode) {
	case STP_SF_NEAR_EVEN: up = rest > half || (rest == half && (ip & 1)); break;
	case STP_SF_MIN: up = neg && rest; break;
	case STP_SF_MAX: up = !neg && rest; break;
	case STP_SF_NEAR_MAX_MAG: up = rest >= half; break;
	case STP_SF_ODD: ip |= rest != 0; break;
	default: break;
	}
	ip += up;
	return neg ? -(int64_t)ip : (int64_t)ip;
}

/* -------------------------------------------------------- big integers */

/*
 * Sizes follow MAXSTRINGLEN.  fp_to_string's m * 5^P * 2^(e + P), m < 2^53,
 * P < MAXSTRINGLEN, e + P <= 971 + P, has fewer than STP_SF_BITS bits (1515
 * for 128); string_to_fp's numbers are smaller (5^451 * 2^63 for 128).
 * Limbs are 32 bits: BPF divides 64 bits by 64 bits, no wider.
 */
#define STP_SF_BITS (1024 + 64 + (10 * STP_STRLEN + 2) / 3)
#define STP_SF_LIMBS ((STP_SF_BITS + 31) / 32)
#define STP_SF_DLIMBS ((10 * STP_STRLEN / 3 + 31) / 32 + 1) /* a number's digits */
#define STP_SF_GROUPS (STP_SF_BITS * 30103 / 100000 / 9 + 2) /* of 9 decimal digits */
#define STP_SF_MAXPREC (STP_STRLEN - 1)
/* powers of two, so that indices can be masked */
#define STP_SF_POW2(n) ((n) <= 64 ? 64 : (n) <= 128 ? 128 : (n) <= 256 ? 256 : (n) <= 512 ? 512 : \
			(n) <= 1024 ? 1024 : (n) <= 2048 ? 2048 : 4096)
#define STP_SF_SLOTS STP_SF_POW2(STP_SF_LIMBS)
#define STP_SF_NDIG STP_SF_POW2(9 * STP_SF_GROUPS + 1)

struct stp_sf_work {
	uint32_t a[STP_SF_SLOTS];
	uint32_t b[STP_SF_SLOTS];
	char dig[STP_SF_NDIG];
	char in[STP_STRBUF];  /* string_to_fp's input */
	char txt[STP_STRBUF]; /* fp_to_string's output */
	/* values loops compute and later code indexes with (STP_SF_VOL) */
	int32_t bitlen, first, state, nd, nfrac, exp, neg, eneg, word, wi;
	uint64_t q;
};

/* A string the size of the translator's string buffers. */
struct stp_sf_str {
	char s[STP_STRLEN];
};

/* What the bodies of stp_loop()s work on. */
struct stp_sf_loop {
	struct stp_sf_work *w;
	uint32_t *x;
	int32_t neg, P, point;
};

#ifdef STP_BPF
STP_PERCPU_SLOT(stp_sf_scratch, struct stp_sf_work);

static inline struct stp_sf_work *stp_sf_work_get(void)
{
	return stp_percpu_slot(stp_sf_scratch);
}
#else
static struct stp_sf_work stp_sf_work_host; /* host handlers run one at a time */
#define stp_sf_work_get() (&stp_sf_work_host)
#endif

static inline void stp_sf_bn_set(uint32_t *x, uint64_t v)
{
	for (int i = 0; i < STP_SF_LIMBS; i++)
		x[i] = 0;
	x[0] = (uint32_t)v;
	x[1] = (uint32_t)(v >> 32);
}

/* x = x * m + add, in the low n limbs (n a constant: x < 2^(32n)) */
static inline void stp_sf_bn_mul_small_n(uint32_t *x, uint32_t m, uint32_t add, int n)
{
	uint64_t c = add;
	for (int i = 0; i < n && i < STP_SF_LIMBS; i++) {
		c += (uint64_t)x[i] * m;
		x[i] = (uint32_t)c;
		c >>= 32;
	}
}

#define stp_sf_bn_mul_small(x, m, add) stp_sf_bn_mul_small_n((x), (m), (add), STP_SF_LIMBS)

static const uint32_t stp_sf_pow5[16] = {
	1, 5, 25, 125, 625, 3125, 15625, 78125, 390625, 1953125, 9765625,
	48828125, 244140625, 1220703125,
};

static long stp_sf_pow13_cb(uint32_t i, void *ctx)
{
	struct stp_sf_loop *L = ctx;
	if (!L->x)
		return 1;
	stp_sf_bn_mul_small(L->x, 1220703125, 0); /* 5^13 < 2^32 */
	return 0;
}

/* x *= 5^k, 0 <= k <= 13 * 37 */
static inline void stp_sf_bn_mul_pow5(uint32_t *x, int k)
{
	struct stp_sf_loop L = {.x = x};
	uint32_t uk = k < 0 ? 0 : (uint32_t)k;
	stp_loop(uk / 13, stp_sf_pow13_cb, &L);
	stp_sf_bn_mul_small(x, stp_sf_pow5[STP_SF_IDX(uk % 13, 16)], 0);
}

/* x <<= n, 0 <= n < 32 * STP_SF_LIMBS; in place from the top */
static inline void stp_sf_bn_shl(uint32_t *x, int n)
{
	if (n < 0 || n >= 32 * STP_SF_LIMBS)
		return;
	int ls = n >> 5, bs = n & 31;
	for (int i = STP_SF_LIMBS - 1; i >= 0; i--) {
		/* unsigned: below zero is out of range too */
		uint32_t j = (uint32_t)(i - ls), j1 = j - 1;
		uint32_t hi = j < STP_SF_LIMBS ? x[j] : 0;
		uint32_t lo = j1 < STP_SF_LIMBS ? x[j1] : 0;
		x[i] = bs ? (hi << bs) | (lo >> (32 - bs)) : hi;
	}
}

/* x >>= n, 0 <= n < 32 * STP_SF_LIMBS; in place from the bottom */
static inline void stp_sf_bn_shr(uint32_t *x, int n)
{
	if (n < 0 || n >= 32 * STP_SF_LIMBS)
		return;
	int ls = n >> 5, bs = n & 31;
	for (int i = 0; i < STP_SF_LIMBS; i++) {
		uint32_t j = (uint32_t)(i + ls), j1 = j + 1;
		uint32_t lo = j < STP_SF_LIMBS ? x[j] : 0;
		uint32_t hi = j1 < STP_SF_LIMBS ? x[j1] : 0;
		x[i] = bs ? (lo >> bs) | (hi << (32 - bs)) : lo;
	}
}

/* x >>= 1 */
static inline void stp_sf_bn_shr1(uint32_t *x)
{
	for (int i = 0; i < STP_SF_LIMBS - 1; i++)
		x[i] = (x[i] >> 1) | (x[i + 1] << 31);
	x[STP_SF_LIMBS - 1] >>= 1;
}

/* Bit n of x. */
static inline int stp_sf_bn_bit(const uint32_t *x, int n)
{
	if (n < 0 || n >= 32 * STP_SF_LIMBS)
		return 0;
	return (int)((x[STP_SF_IDX(n >> 5, STP_SF_SLOTS)] >> (n & 31)) & 1);
}

/* Whether any of the bits of x below bit n is set. */
static inline int stp_sf_bn_any_below(const uint32_t *x, int n)
{
	uint32_t acc = 0;
	for (int i = 0; i < STP_SF_LIMBS; i++) {
		int lo = 32 * i;
		if (lo + 32 <= n)
			acc |= x[i];
		else if (lo < n)
			acc |= x[i] & ((1U << (n - lo)) - 1);
	}
	return acc != 0;
}

/* The number of significant bits of x (0 for 0). */
static inline int stp_sf_bn_bitlen(struct stp_sf_work *w, const uint32_t *x)
{
	STP_SF_VOL(w->bitlen) = 0;
	for (int i = 0; i < STP_SF_LIMBS; i++)
		if (x[i])
			STP_SF_VOL(w->bitlen) = 32 * i + 64 - stp_sf_clz64(x[i]);
	int n = STP_SF_VOL(w->bitlen);
	return n < 0 ? 0 : n > 32 * STP_SF_LIMBS ? 32 * STP_SF_LIMBS : n;
}

static inline int stp_sf_bn_is_zero(const uint32_t *x)
{
	uint32_t acc = 0;
	for (int i = 0; i < STP_SF_LIMBS; i++)
		acc |= x[i];
	return acc == 0;
}

/* x >= y: x - y does not borrow (no branches, for the verifier) */
static inline int stp_sf_bn_ge(const uint32_t *x, const uint32_t *y)
{
	uint64_t borrow = 0;
	for (int i = 0; i < STP_SF_LIMBS; i++)
		borrow = ((uint64_t)x[i] - y[i] - borrow) >> 63;
	return !borrow;
}

/* x -= y (x >= y) */
static inline void stp_sf_bn_sub(uint32_t *x, const uint32_t *y)
{
	uint64_t borrow = 0;
	for (int i = 0; i < STP_SF_LIMBS; i++) {
		uint64_t t = (uint64_t)x[i] - y[i] - borrow;
		x[i] = (uint32_t)t;
		borrow = t >> 63;
	}
}

/* x /= d, the remainder returned */
static inline uint32_t stp_sf_bn_div_small(uint32_t *x, uint32_t d)
{
	uint64_t r = 0;
	for (int i = STP_SF_LIMBS - 1; i >= 0; i--) {
		uint64_t cur = (r << 32) | x[i];
		x[i] = (uint32_t)(cur / d);
		r = cur % d;
	}
	return (uint32_t)r;
}

/* x's top 64 bits, *e the bits below them (so x ~ top * 2^*e), *sticky
 * whether those are not all zero.  x != 0; x is shifted. */
static inline uint64_t stp_sf_bn_top64(struct stp_sf_work *w, uint32_t *x, int *e, int *sticky)
{
	int bl = stp_sf_bn_bitlen(w, x);
	*e = 0;
	*sticky = 0;
	if (bl > 64) {
		*e = bl - 64;
		*sticky = stp_sf_bn_any_below(x, bl - 64);
		stp_sf_bn_shr(x, bl - 64);
	}
	return x[0] | (uint64_t)x[1] << 32;
}

/* --------------------------------------------------------- fp_to_string */

/* w->a = m * 2^e * 10^P (m < 2^53, 0 <= P <= MAXSTRINGLEN - 1) as an
 * integer: rounded to nearest, ties to even, or (floor) truncated. */
STP_SF_API int stp_sf_scaled(struct stp_sf_work *w, uint64_t m, int e, int P, int floor)
{
	if (!w)
		return -1;
	stp_sf_bn_set(w->a, m);
	stp_sf_bn_mul_pow5(w->a, P);
	int t = e + P;
	if (t >= 0) {
		stp_sf_bn_shl(w->a, t);
	} else if (t > -(32 * STP_SF_LIMBS - 1)) {
		int n = -t;
		int half = stp_sf_bn_bit(w->a, n - 1);
		int below = stp_sf_bn_any_below(w->a, n - 1);
		stp_sf_bn_shr(w->a, n);
		if (!floor && half && (below || (w->a[0] & 1)))
			stp_sf_bn_mul_small(w->a, 1, 1);
	} else {
		stp_sf_bn_set(w->a, 0); /* m < 2^53: below 2^-1400 */
	}
	return 0;
}

/* Nine digits of w->a, the g-th group from the right. */
static long stp_sf_group_cb(uint32_t g, void *ctx)
{
	struct stp_sf_work *w = ((struct stp_sf_loop *)ctx)->w;
	if (!w || g >= STP_SF_GROUPS)
		return 1;
	uint32_t r = stp_sf_bn_div_small(w->a, 1000000000);
	uint32_t at = STP_SF_NDIG - 9 - 9 * g;
	for (int j = 8; j >= 0; j--) {
		w->dig[STP_SF_IDX(at + (uint32_t)j, STP_SF_NDIG)] = (char)('0' + r % 10);
		r /= 10;
	}
	return 0;
}

/* The decimal digits of w->a (which becomes 0) at the end of w->dig,
 * '0' before them; w->first the first nonzero one, or where P + 1 digits
 * start if that is earlier.  Returns the number of digits from there. */
STP_SF_API int stp_sf_digits(struct stp_sf_work *w, int P)
{
	struct stp_sf_loop L = {.w = w};
	if (!w)
		return 1;
	for (int i = 0; i < STP_SF_NDIG; i++)
		w->dig[i] = '0';
	stp_loop(STP_SF_GROUPS, stp_sf_group_cb, &L);
	STP_SF_VOL(w->first) = STP_SF_NDIG - 1 - P;
	for (int i = STP_SF_NDIG - 9 * STP_SF_GROUPS; i < STP_SF_NDIG; i++)
		if (w->dig[i] != '0' && i < STP_SF_VOL(w->first))
			STP_SF_VOL(w->first) = i;
	int first = STP_SF_VOL(w->first);
	return first < 0 || first >= STP_SF_NDIG ? 1 : STP_SF_NDIG - first;
}

/* The k-th character of the text: '-' if neg, the digits of w->dig from
 * w->first with a point before the last P (and after them if point but
 * not P). */
static long stp_sf_emit_cb(uint32_t k, void *ctx)
{
	struct stp_sf_loop *L = ctx;
	struct stp_sf_work *w = L->w;
	if (!w || k >= STP_STRLEN - 1)
		return 1;
	int first = STP_SF_VOL(w->first), P = L->P;
	int nint = STP_SF_NDIG - P - first;
	int j = (int)k - L->neg;
	uint32_t idx;
	char c;
	if (j < 0) {
		c = '-';
	} else if (j < nint) {
		idx = (uint32_t)(first + j);
		c = idx < STP_SF_NDIG ? w->dig[STP_SF_IDX(idx, STP_SF_NDIG)] : '0';
	} else if (!L->point) {
		c = 0;
	} else if (j == nint) {
		c = '.';
	} else if (j <= nint + P) {
		idx = (uint32_t)(first + j - 1);
		c = idx < STP_SF_NDIG ? w->dig[STP_SF_IDX(idx, STP_SF_NDIG)] : '0';
	} else {
		c = 0;
	}
	w->txt[STP_SF_IDX(k, STP_STRBUF)] = c;
	return c == 0;
}

/* out = the text of the digits (stp_sf_emit_cb), cut at MAXSTRINGLEN - 1
 * bytes. */
STP_SF_API int stp_sf_emit(struct stp_sf_str *out, struct stp_sf_work *w, int neg, int P, int point)
{
	struct stp_sf_loop L = {.w = w, .neg = neg, .P = P, .point = point};
	if (!w || !out)
		return -1;
	w->txt[STP_STRLEN - 1] = 0;
	stp_loop(STP_STRLEN - 1, stp_sf_emit_cb, &L);
	for (int i = 0; i < STP_STRLEN; i++)
		out->s[i] = w->txt[i];
	return 0;
}

/*
 * Whether rounding x = m * 2^e to P digits carries into the k-th digit
 * after the point (P - k = j >= 1): whether the fraction of X = x * 10^k
 * is at least 1 - 10^-j / 2 (at equality the tie goes to the even
 * multiple of 10^j).  X = A / 2^n, A = m * 5^k: with d = 2^n - A mod 2^n
 * that is d * 5^j * 2^(j + 1) <= 2^n.  d >= 1, so no carry unless
 * 10^j <= 2^(n-1): j * log2(10) <= n - 1 (j < 339 for MAXSTRINGLEN 128).
 */
STP_SF_API int stp_sf_carries(struct stp_sf_work *w, uint64_t m, int e, int k, int64_t j)
{
	int n = -(e + k);
	if (!w || n <= 0 || j > n || j * 33219 > (int64_t)(n - 1) * 10000)
		return 0;
	stp_sf_bn_set(w->a, m);
	stp_sf_bn_mul_pow5(w->a, k);
	/* b = 2^n - (a mod 2^n): the complement of a's low n bits, plus one */
	for (int i = 0; i < STP_SF_LIMBS; i++) {
		int lo = 32 * i;
		uint32_t mask = lo + 32 <= n ? 0xffffffff : lo < n ? (1U << (n - lo)) - 1 : 0;
		w->b[i] = ~w->a[i] & mask;
	}
	stp_sf_bn_mul_small(w->b, 1, 1);
	/* d * 5^j has at least bitlen(d) + bitlen(5^j) - 1 bits */
	stp_sf_bn_set(w->a, 1);
	stp_sf_bn_mul_pow5(w->a, (int)j);
	int t = n - (int)j - 1;
	if (stp_sf_bn_bitlen(w, w->b) + stp_sf_bn_bitlen(w, w->a) - 1 > t + 1)
		return 0;
	stp_sf_bn_mul_pow5(w->b, (int)j); /* below 2^(t + 2) */
	int bl = stp_sf_bn_bitlen(w, w->b);
	return bl <= t || (bl == t + 1 && !stp_sf_bn_any_below(w->b, t));
}

/*
 * out = printf("%.*f", prec, x) cut at MAXSTRINGLEN - 1 bytes: x * 10^P
 * rounded to an integer (ties to even, as glibc rounds the exact binary
 * value), its decimal digits with a point before the last P.  A
 * precision below 0 is taken as 0.  When P passes the end of the string,
 * the k digits after the point that fit are x * 10^k truncated, plus
 * one when rounding at the P-th digit carries that far.
 * Returns 0, or -1 without scratch memory.
 */
STP_SF_API int stp_sf_format(struct stp_sf_str *out, uint64_t x, int64_t prec)
{
	struct stp_sf_work *w = stp_sf_work_get();
	if (!w || !out)
		return -1;
	int neg = (int)(x >> 63);
	uint64_t mag = x & ~STP_SF_SIGN;
	if (mag >= STP_SF_INF) {
		const char *t = mag > STP_SF_INF ? "nan" : "inf";
		int o = 0;
		if (neg)
			out->s[o++] = '-';
		for (int i = 0; i < 3; i++)
			out->s[o + i] = t[i];
		out->s[o + 3] = 0;
		return 0;
	}
	int e = 0;
	uint64_t m = mag ? stp_sf_unpack(mag, &e) : 0;
	if (prec <= STP_SF_MAXPREC) {
		int P = prec < 0 ? 0 : (int)prec;
		stp_sf_scaled(w, m, e, P, 0);
		stp_sf_digits(w, P);
		stp_sf_emit(out, w, neg, P, P > 0);
		return 0;
	}
	/* the integer digits, then the fraction digits that fit */
	stp_sf_scaled(w, m, e, 0, 1);
	int k = STP_SF_MAXPREC - 1 - neg - stp_sf_digits(w, 0);
	if (k < 0)
		k = 0;
	if (k > STP_SF_MAXPREC)
		k = STP_SF_MAXPREC;
	int carry = stp_sf_carries(w, m, e, k, prec - k);
	stp_sf_scaled(w, m, e, k, 1);
	if (carry)
		stp_sf_bn_mul_small(w->a, 1, 1);
	stp_sf_digits(w, k);
	stp_sf_emit(out, w, neg, k, 1);
	return 0;
}

/* --------------------------------------------------------- string_to_fp */

enum {
	STP_SF_S_START,   /* spaces, then a sign, digits, '.', inf or nan */
	STP_SF_S_SIGN,    /* after the sign */
	STP_SF_S_INT,     /* integer digits */
	STP_SF_S_DOT,     /* a '.' with no digits before it */
	STP_SF_S_FRAC,    /* fraction digits */
	STP_SF_S_E,       /* after the 'e' */
	STP_SF_S_ESIGN,   /* after the exponent's sign */
	STP_SF_S_EXP,     /* exponent digits */
	STP_SF_S_WORD,    /* the letters of inf, infinity or nan */
	STP_SF_S_TRAIL,   /* spaces after the number */
	STP_SF_S_DONE,
	STP_SF_S_BAD,
};

static inline int stp_sf_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The state after the last character of a number. */
static inline int stp_sf_after(char c)
{
	return c == 0 ? STP_SF_S_DONE : stp_sf_space(c) ? STP_SF_S_TRAIL : STP_SF_S_BAD;
}

/* A digit of the number: kept from the first nonzero one on. */
static inline void stp_sf_digit(struct stp_sf_work *w, char c)
{
	uint32_t nd = (uint32_t)STP_SF_VOL(w->nd);
	if (nd == 0 && c == '0')
		return;
	if (nd < STP_SF_NDIG)
		w->dig[STP_SF_IDX(nd, STP_SF_NDIG)] = c - '0';
	STP_SF_VOL(w->nd) = (int32_t)(nd + 1);
}

/* One character of the number: the next state, counts kept in w. */
static inline int stp_sf_scan(struct stp_sf_work *w, int st, char c)
{
	static const char words[2][9] = {"infinity", "nan"};
	int digit = c >= '0' && c <= '9';
	char lc = c >= 'A' && c <= 'Z' ? c + 32 : c;
	switch (st) {
	case STP_SF_S_START:
		if (stp_sf_space(c))
			return st;
		if (c == '-' || c == '+') {
			STP_SF_VOL(w->neg) = c == '-';
			return STP_SF_S_SIGN;
		}
		/* fall through */
	case STP_SF_S_SIGN:
	case STP_SF_S_INT:
	case STP_SF_S_FRAC:
		if (digit) {
			stp_sf_digit(w, c);
			if (st == STP_SF_S_FRAC)
				STP_SF_VOL(w->nfrac) = STP_SF_VOL(w->nfrac) + 1;
			return st == STP_SF_S_FRAC ? st : STP_SF_S_INT;
		}
		if (c == '.' && st != STP_SF_S_FRAC)
			return st == STP_SF_S_INT ? STP_SF_S_FRAC : STP_SF_S_DOT;
		if (st == STP_SF_S_INT || st == STP_SF_S_FRAC) {
			if (lc == 'e')
				return STP_SF_S_E;
			return stp_sf_after(c);
		}
		if (lc == 'i' || lc == 'n') {
			STP_SF_VOL(w->word) = lc == 'n';
			STP_SF_VOL(w->wi) = 1;
			return STP_SF_S_WORD;
		}
		return STP_SF_S_BAD;
	case STP_SF_S_DOT:
		if (!digit)
			return STP_SF_S_BAD;
		stp_sf_digit(w, c);
		STP_SF_VOL(w->nfrac) = STP_SF_VOL(w->nfrac) + 1;
		return STP_SF_S_FRAC;
	case STP_SF_S_E:
		if (c == '-' || c == '+') {
			STP_SF_VOL(w->eneg) = c == '-';
			return STP_SF_S_ESIGN;
		}
		/* fall through */
	case STP_SF_S_ESIGN:
	case STP_SF_S_EXP:
		if (digit) {
			int ex = STP_SF_VOL(w->exp) * 10 + (c - '0');
			STP_SF_VOL(w->exp) = ex > 100000 ? 100000 : ex;
			return STP_SF_S_EXP;
		}
		return st == STP_SF_S_EXP ? stp_sf_after(c) : STP_SF_S_BAD;
	case STP_SF_S_WORD: {
		uint32_t wd = STP_SF_VOL(w->word) & 1, wi = (uint32_t)STP_SF_VOL(w->wi);
		if (wi > 8)
			return STP_SF_S_BAD;
		if ((c == 0 || stp_sf_space(c)) && ((wd == 0 && (wi == 3 || wi == 8)) || (wd == 1 && wi == 3)))
			return stp_sf_after(c);
		if (lc != words[wd][wi])
			return STP_SF_S_BAD;
		STP_SF_VOL(w->wi) = (int32_t)(wi + 1);
		return st;
	}
	case STP_SF_S_TRAIL:
		if (c == 0)
			return STP_SF_S_DONE;
		return stp_sf_space(c) ? st : STP_SF_S_BAD;
	default:
		return st;
	}
}

static long stp_sf_scan_cb(uint32_t i, void *ctx)
{
	struct stp_sf_work *w = ((struct stp_sf_loop *)ctx)->w;
	if (!w || i >= STP_STRLEN)
		return 1;
	int st = STP_SF_VOL(w->state);
	if (st == STP_SF_S_DONE || st == STP_SF_S_BAD)
		return 1;
	STP_SF_VOL(w->state) = stp_sf_scan(w, st, w->in[STP_SF_IDX(i, STP_STRBUF)]);
	return 0;
}

/* a = a * 10 + the i-th digit: D below 10^(MAXSTRINGLEN - 1) */
static long stp_sf_accumulate_cb(uint32_t i, void *ctx)
{
	struct stp_sf_work *w = ((struct stp_sf_loop *)ctx)->w;
	if (!w || i >= STP_SF_NDIG)
		return 1;
	stp_sf_bn_mul_small_n(w->a, 10, (uint32_t)w->dig[STP_SF_IDX(i, STP_SF_NDIG)], STP_SF_DLIMBS);
	return 0;
}

/* The k-th quotient bit from the top: a -= b if it fits, b >>= 1. */
static long stp_sf_divide_cb(uint32_t i, void *ctx)
{
	struct stp_sf_work *w = ((struct stp_sf_loop *)ctx)->w;
	if (!w || i > 63)
		return 1;
	if (stp_sf_bn_ge(w->a, w->b)) {
		stp_sf_bn_sub(w->a, w->b);
		STP_SF_VOL(w->q) |= 1ULL << (63 - i);
	}
	stp_sf_bn_shr1(w->b);
	return 0;
}

/*
 * *res = the double nearest the decimal number in s (strtod's syntax
 * without hexadecimal: spaces, a sign, digits with an optional point, an
 * optional exponent, spaces; or inf, infinity, nan in any case).  The
 * value D * 10^E (D the digits as an integer) is D * 5^E * 2^E: for
 * E >= 0 the top bits of D * 5^E, for E < 0 a 64-bit quotient of
 * D * 2^s by 5^-E, each with a sticky bit, rounded once.
 * Returns 0, 1 when s is not a number, -1 without scratch memory.
 */
STP_SF_API int stp_sf_parse(const struct stp_sf_str *in, uint64_t *res)
{
	struct stp_sf_work *w = stp_sf_work_get();
	if (!w || !in || !res)
		return -1;
	struct stp_sf_loop L = {.w = w};
	for (int i = 0; i < STP_STRLEN; i++)
		w->in[i] = in->s[i];
	w->in[STP_STRLEN - 1] = 0;
	STP_SF_VOL(w->state) = STP_SF_S_START;
	STP_SF_VOL(w->nd) = 0;
	STP_SF_VOL(w->nfrac) = 0;
	STP_SF_VOL(w->exp) = 0;
	STP_SF_VOL(w->neg) = 0;
	STP_SF_VOL(w->eneg) = 0;
	STP_SF_VOL(w->word) = 0;
	STP_SF_VOL(w->wi) = 0;
	stp_loop(STP_STRLEN, stp_sf_scan_cb, &L);
	if (STP_SF_VOL(w->state) != STP_SF_S_DONE)
		return 1;
	uint64_t sign = STP_SF_VOL(w->neg) ? STP_SF_SIGN : 0;
	if (STP_SF_VOL(w->wi)) { /* a word: inf or nan, with its sign */
		*res = sign | STP_SF_INF | (STP_SF_VOL(w->word) & 1 ? STP_SF_QUIET : 0);
		return 0;
	}
	int nd = STP_SF_VOL(w->nd), nfrac = STP_SF_VOL(w->nfrac), ex = STP_SF_VOL(w->exp);
	if (STP_SF_VOL(w->eneg))
		ex = -ex;
	int E = ex - nfrac;
	if (nd <= 0 || nd + E < -324) { /* below 10^-325: half the least subnormal */
		*res = sign;
		return 0;
	}
	if (nd + E > 310) { /* at least 10^310 */
		*res = sign | STP_SF_INF;
		return 0;
	}
	stp_sf_bn_set(w->a, 0);
	stp_loop((uint32_t)nd, stp_sf_accumulate_cb, &L);
	int sticky, e;
	if (E >= 0) {
		stp_sf_bn_mul_pow5(w->a, E);
		uint64_t sig = stp_sf_bn_top64(w, w->a, &e, &sticky);
		*res = stp_sf_round_pack(sign, E + e, sig, sticky);
		return 0;
	}
	/* b = 5^-E; a = D * 2^s (or b * 2^-s) so that a has 63 bits more
	 * than b: a / b is below 2^64 and at least 2^62 */
	stp_sf_bn_set(w->b, 1);
	stp_sf_bn_mul_pow5(w->b, -E);
	int s = stp_sf_bn_bitlen(w, w->b) - stp_sf_bn_bitlen(w, w->a) + 63;
	if (s >= 0)
		stp_sf_bn_shl(w->a, s);
	else
		stp_sf_bn_shl(w->b, -s);
	stp_sf_bn_shl(w->b, 63);
	STP_SF_VOL(w->q) = 0;
	stp_loop(64, stp_sf_divide_cb, &L);
	sticky = !stp_sf_bn_is_zero(w->a);
	*res = stp_sf_round_pack(sign, E - s, STP_SF_VOL(w->q), sticky);
	return 0;
}

#endif
