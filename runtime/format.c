/* format.c - stap's printf engine over packed arguments.
 *
 * A conversion is  %[flags][width][.precision][length]conv  where flags are
 * any of "-+ 0#", width and precision are digits or '*' (taken from the
 * next packed long), the length modifiers l, ll, h, L, z, j, t are accepted
 * and ignored (every stap number is 64 bits), and conv is one of
 * d i u o x X c s p b m M %.  Numbers follow C's printf on 64-bit values;
 * the differences are stap's: %p is 0x-prefixed hex, %#c and %#s escape,
 * %b writes the value's bytes, %m writes memory bytes and %M their hex.
 */
#include "format.h"
#include "stp_module.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ buffers */

static void buf_reserve(struct stp_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		fputs("staprun: out of memory\n", stderr);
		exit(1);
	}
	b->data = p;
	b->cap = cap;
}

void stp_buf_put(struct stp_buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void stp_buf_putc(struct stp_buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
}

void stp_buf_puts(struct stp_buf *b, const char *s)
{
	stp_buf_put(b, s, strlen(s));
}

void stp_buf_pad(struct stp_buf *b, char c, size_t n)
{
	if (!n)
		return;
	buf_reserve(b, n);
	memset(b->data + b->len, c, n);
	b->len += n;
}

void stp_buf_printf(struct stp_buf *b, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n < sizeof(small)) {
		stp_buf_put(b, small, (size_t)n);
		return;
	}
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *stp_buf_cstr(struct stp_buf *b)
{
	buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return b->data;
}

void stp_buf_reset(struct stp_buf *b)
{
	b->len = 0;
}

void stp_buf_free(struct stp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ------------------------------------------------------ packed arguments */

int stp_unpack_long(const void *args, size_t len, size_t *pos, int64_t *v)
{
	if (*pos + 8 > len) {
		*v = 0;
		return 0;
	}
	memcpy(v, (const char *)args + *pos, 8);
	*pos += 8;
	return 1;
}

int (*stp_deferred_expand)(const void *args, size_t len, size_t *pos, const char **s, size_t *n);

int stp_unpack_str(const void *args, size_t len, size_t *pos, const char **s, size_t *n)
{
	uint16_t slen;
	*s = "";
	*n = 0;
	if (*pos + 2 > len)
		return 0;
	memcpy(&slen, (const char *)args + *pos, 2);
	if (slen == 0xffff) { /* STP_DEFERRED */
		*pos += 2;
		return stp_deferred_expand && stp_deferred_expand(args, len, pos, s, n);
	}
	if (*pos + 2 + slen > len)
		return 0;
	*s = (const char *)args + *pos + 2;
	*n = slen;
	*pos += 2 + slen + (slen & 1);
	if (*pos > len)
		*pos = len;
	return 1;
}

void stp_pack_long(struct stp_buf *b, int64_t v)
{
	stp_buf_put(b, &v, 8);
}

void stp_pack_str(struct stp_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (n > 0xffff)
		n = 0xffff;
	uint16_t len = (uint16_t)n;
	stp_buf_put(b, &len, 2);
	stp_buf_put(b, s, n);
	if (n & 1)
		stp_buf_putc(b, '\0');
}

/* ------------------------------------------------------------ escaping */

static const char *c_escape(unsigned char c)
{
	switch (c) {
	case '\a': return "\\a";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\v': return "\\v";
	case '"': return "\\\"";
	case '\'': return "\\'";
	case '\\': return "\\\\";
	}
	return NULL;
}

static void escape_char(struct stp_buf *out, unsigned char c)
{
	const char *e = c_escape(c);
	if (e)
		stp_buf_puts(out, e);
	else if (c < 0x20 || c >= 0x7f)
		stp_buf_printf(out, "\\%03o", c);
	else
		stp_buf_putc(out, (char)c);
}

void stp_escape_str(struct stp_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++)
		escape_char(out, (unsigned char)s[i]);
}

/* ---------------------------------------------------------- conversions */

struct spec {
	int left, plus, space, zero, alt;
	int width;     /* -1: none */
	int precision; /* -1: none */
	char conv;
};

/* Pads `body` to the field width: spaces on the left (or right with '-'). */
static void put_field(struct stp_buf *out, const struct spec *sp, const char *body, size_t n)
{
	size_t pad = sp->width > 0 && (size_t)sp->width > n ? (size_t)sp->width - n : 0;
	if (!sp->left)
		stp_buf_pad(out, ' ', pad);
	stp_buf_put(out, body, n);
	if (sp->left)
		stp_buf_pad(out, ' ', pad);
}

static size_t utoa_base(uint64_t v, unsigned base, int upper, char *end)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	return (size_t)(end - p);
}

/* Integer conversions, as C's printf does them on 64-bit values. */
static void put_integer(struct stp_buf *out, const struct spec *sp, int64_t value)
{
	char digits[72];
	char *end = digits + sizeof(digits);
	const char *prefix = "";
	uint64_t mag = (uint64_t)value;
	unsigned base = 10;
	int upper = 0;

	switch (sp->conv) {
	case 'd':
	case 'i':
		if (value < 0) {
			mag = 0 - (uint64_t)value;
			prefix = "-";
		} else if (sp->plus) {
			prefix = "+";
		} else if (sp->space) {
			prefix = " ";
		}
		break;
	case 'o':
		base = 8;
		break;
	case 'X':
		upper = 1;
		/* fall through */
	case 'x':
		base = 16;
		if (sp->alt && value != 0)
			prefix = upper ? "0X" : "0x";
		break;
	case 'p':
		base = 16;
		prefix = "0x";
		break;
	}
	size_t n = utoa_base(mag, base, upper, end);
	/* C: an explicit zero precision prints nothing for the value 0. */
	if (sp->precision == 0 && mag == 0 && sp->conv != 'p')
		n = 0;
	size_t zeros = sp->precision > 0 && (size_t)sp->precision > n ? (size_t)sp->precision - n : 0;
	if (sp->conv == 'o' && sp->alt && zeros == 0 && (n == 0 || end[-(long)n] != '0'))
		zeros = 1;
	size_t body = strlen(prefix) + zeros + n;
	size_t pad = sp->width > 0 && (size_t)sp->width > body ? (size_t)sp->width - body : 0;
	int zero_pad = sp->zero && !sp->left && sp->precision < 0;

	if (!sp->left && !zero_pad)
		stp_buf_pad(out, ' ', pad);
	stp_buf_puts(out, prefix);
	if (zero_pad)
		stp_buf_pad(out, '0', pad);
	stp_buf_pad(out, '0', zeros);
	stp_buf_put(out, end - n, n);
	if (sp->left)
		stp_buf_pad(out, ' ', pad);
}

static void put_char(struct stp_buf *out, const struct spec *sp, int64_t value)
{
	unsigned char c = (unsigned char)value;
	struct stp_buf tmp = { 0 };
	if (sp->alt)
		escape_char(&tmp, c);
	else
		stp_buf_putc(&tmp, (char)c);
	put_field(out, sp, tmp.data, tmp.len);
	stp_buf_free(&tmp);
}

static void put_string(struct stp_buf *out, const struct spec *sp, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	if (sp->precision >= 0 && (size_t)sp->precision < len)
		len = (size_t)sp->precision;
	if (!sp->alt) {
		put_field(out, sp, s, len);
		return;
	}
	struct stp_buf tmp = { 0 };
	stp_escape_str(&tmp, s, len);
	put_field(out, sp, tmp.data, tmp.len);
	stp_buf_free(&tmp);
}

/* %m: the memory bytes themselves; %M: two lowercase hex digits a byte.
 * The precision (default 1) is how many bytes the kernel read. */
static void put_memory(struct stp_buf *out, const struct spec *sp, const char *s, size_t n)
{
	size_t want = sp->precision >= 0 ? (size_t)sp->precision : 1;
	if (want < n)
		n = want;
	if (sp->conv == 'm') {
		put_field(out, sp, s, n);
		return;
	}
	struct stp_buf tmp = { 0 };
	for (size_t i = 0; i < n; i++)
		stp_buf_printf(&tmp, "%02x", (unsigned char)s[i]);
	put_field(out, sp, tmp.data, tmp.len);
	stp_buf_free(&tmp);
}

/* %b: the low `width` bytes of the value (1, 2, 4 or 8; default 8), in the
 * machine's byte order. */
static void put_binary(struct stp_buf *out, const struct spec *sp, int64_t value)
{
	int w = sp->width;
	if (w != 1 && w != 2 && w != 4)
		w = 8;
	uint8_t b1 = (uint8_t)value;
	uint16_t b2 = (uint16_t)value;
	uint32_t b4 = (uint32_t)value;
	switch (w) {
	case 1: stp_buf_put(out, &b1, 1); break;
	case 2: stp_buf_put(out, &b2, 2); break;
	case 4: stp_buf_put(out, &b4, 4); break;
	default: stp_buf_put(out, &value, 8); break;
	}
}

/* Reads digits or '*' for a width or precision. */
static const char *parse_number(const char *p, int *val, const void *args, size_t len, size_t *pos, int *ok)
{
	if (*p == '*') {
		int64_t v;
		if (!stp_unpack_long(args, len, pos, &v))
			*ok = 0;
		*val = v > 100000 ? 100000 : v < -100000 ? -100000 : (int)v;
		return p + 1;
	}
	int v = 0;
	while (*p >= '0' && *p <= '9') {
		if (v < 100000)
			v = v * 10 + (*p - '0');
		p++;
	}
	*val = v;
	return p;
}

static const char *parse_spec(const char *p, struct spec *sp, const void *args, size_t len, size_t *pos, int *ok)
{
	memset(sp, 0, sizeof(*sp));
	sp->width = -1;
	sp->precision = -1;
	for (;; p++) {
		if (*p == '-') sp->left = 1;
		else if (*p == '+') sp->plus = 1;
		else if (*p == ' ') sp->space = 1;
		else if (*p == '0') sp->zero = 1;
		else if (*p == '#') sp->alt = 1;
		else break;
	}
	if ((*p >= '1' && *p <= '9') || *p == '*') {
		p = parse_number(p, &sp->width, args, len, pos, ok);
		if (sp->width < 0) { /* C: a negative '*' width means '-' */
			sp->left = 1;
			sp->width = -sp->width;
		}
	}
	if (*p == '.') {
		p = parse_number(p + 1, &sp->precision, args, len, pos, ok);
		if (sp->precision < 0)
			sp->precision = -1;
	}
	while (*p && strchr("lhLzjtq", *p))
		p++;
	sp->conv = *p;
	return *p ? p + 1 : p;
}

int stp_format(struct stp_buf *out, const char *fmt, const void *args, size_t len)
{
	size_t pos = 0;
	int ok = 1;
	const char *p = fmt;

	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			stp_buf_puts(out, p);
			break;
		}
		stp_buf_put(out, p, (size_t)(pct - p));
		struct spec sp;
		p = parse_spec(pct + 1, &sp, args, len, &pos, &ok);
		int64_t v;
		const char *s;
		size_t n;
		switch (sp.conv) {
		case 'd': case 'i': case 'u': case 'o': case 'x': case 'X': case 'p':
			ok &= stp_unpack_long(args, len, &pos, &v);
			put_integer(out, &sp, v);
			break;
		case 'c':
			ok &= stp_unpack_long(args, len, &pos, &v);
			put_char(out, &sp, v);
			break;
		case 'b':
			ok &= stp_unpack_long(args, len, &pos, &v);
			put_binary(out, &sp, v);
			break;
		case 's':
			ok &= stp_unpack_str(args, len, &pos, &s, &n);
			put_string(out, &sp, s, n);
			break;
		case 'm': case 'M':
			ok &= stp_unpack_str(args, len, &pos, &s, &n);
			put_memory(out, &sp, s, n);
			break;
		case '%':
			stp_buf_putc(out, '%');
			break;
		case '\0':
			stp_buf_putc(out, '%');
			break;
		default: /* the translator rejects these; print them as written */
			stp_buf_put(out, pct, (size_t)(p - pct));
			break;
		}
	}
	return ok ? 0 : -1;
}

/* ------------------------------------------------- translator's view */

/* stap's format grammar, as its parser accepts it (checked against stap
 * -p2): '%' [one flag of "-+ #0"] [width: digits | '*'] ['.' [digits | '*']]
 * ['l'] conversion.  A format that ends inside a conversion after a flag
 * or width is "trailing incomplete"; one that ends right after '.' or 'l'
 * is taken as text. */
static int set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

int stp_format_arg_types(const char *fmt, enum stp_type *types, int max, char *err, size_t errlen)
{
	int n = 0;
	const char *p = fmt;
#define ADD_ARG(t) \
	do { \
		if (n < max && types) \
			types[n] = (t); \
		n++; \
	} while (0)

	while ((p = strchr(p, '%'))) {
		p++;
		if (*p == '\0')
			return set_err(err, errlen, "invalid or missing conversion specifier");
		if (*p == '%') {
			p++;
			continue;
		}
		int partial = 0;
		if (strchr("-+ #0", *p)) {
			p++;
			partial = 1;
		}
		if (*p == '*') {
			ADD_ARG(STP_T_LONG);
			p++;
			partial = 1;
		} else {
			while (*p >= '0' && *p <= '9') {
				p++;
				partial = 1;
			}
		}
		int soft_end = 0;
		if (*p == '.') {
			p++;
			soft_end = 1;
			if (*p == '*') {
				ADD_ARG(STP_T_LONG);
				p++;
			} else {
				while (*p >= '0' && *p <= '9')
					p++;
			}
		}
		if (*p == 'l') {
			p++;
			soft_end = 1;
		}
		if (*p == '\0') {
			if (soft_end)
				break;
			return set_err(err, errlen, partial ? "trailing incomplete print format conversion"
							    : "invalid or missing conversion specifier");
		}
		switch (*p) {
		case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
		case 'c': case 'p': case 'b':
			ADD_ARG(STP_T_LONG);
			break;
		case 's': case 'm': case 'M':
			ADD_ARG(STP_T_STRING);
			break;
		case '%':
			break;
		default:
			return set_err(err, errlen, "invalid or missing conversion specifier");
		}
		p++;
	}
#undef ADD_ARG
	return n;
}
