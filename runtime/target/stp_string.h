/* stp_string.h - the string functions of stap's library and the regex
 * walk, written once for both targets.
 *
 * stp_bpf.h and stp_host.h include this after defining
 *   stp_loop(n, fn, ctx)   call fn(i, ctx) for i = 0.. until it returns
 *                          nonzero or n calls were made (bpf_loop in the
 *                          kernel: the verifier checks fn once);
 *   stp_tok_state()        tokenize()'s saved string (per CPU in the
 *                          kernel), or NULL.
 * so a script gets the same answer in a kernel probe and in begin/end.
 *
 * Every string operand may be read for STP_STRLEN bytes and holds a NUL
 * within them; results go to a temporary (2 * STP_STRBUF bytes) and are
 * at most STP_STRLEN - 1 bytes long.  Indexes are unsigned and compared
 * with STP_STRLEN right before each access: that comparison is what the
 * verifier uses to prove the access in bounds.  stp_opaque() first, so
 * that clang compares the register that indexes rather than something
 * it derived the index from (the verifier cannot follow that).
 */
#ifndef STP_STRING_H
#define STP_STRING_H

#define STP_STR_LAST (STP_STRLEN - 1) /* room for the bytes of a result */

#define stp_opaque(v) asm volatile("" : "+r"(v))

/* a loop body: unused ones are left out of the object without a warning */
#define STP_CALLBACK static long __attribute__((unused))

/* A result ends after n bytes. */
static inline void stp_str_end(char *dst, uint64_t n)
{
	stp_opaque(n);
	if (n < STP_STRLEN)
		dst[n] = 0;
}

/* ------------------------------------------------------------ substr */

struct stp_copy_walk {
	char *dst;
	const char *src;
	uint64_t start, max, n;
};

STP_CALLBACK stp_substr_cb(uint32_t i, void *ctx)
{
	struct stp_copy_walk *w = ctx;
	uint64_t k = w->start + i, o = i;
	stp_opaque(k);
	stp_opaque(o);
	if (o >= w->max || o >= STP_STR_LAST || k >= STP_STRLEN)
		return 1;
	char ch = w->src[k];
	if (!ch)
		return 1;
	w->dst[o] = ch;
	w->n = o + 1;
	return 0;
}

/* substr(s, start, len): len bytes from start, fewer at the end of s;
 * empty when start is outside s or len is not positive. */
static inline void stp_substr(char *dst, const char *s, int64_t start, int64_t len)
{
	struct stp_copy_walk w = {dst, s, (uint64_t)start, (uint64_t)len, 0};
	if (start >= 0 && len > 0 && start < stp_str_len(s))
		stp_loop(STP_STR_LAST, stp_substr_cb, &w);
	stp_str_end(dst, w.n);
}

/* ------------------------------------------------------------ searching */

struct stp_find_walk {
	const char *hay, *needle;
	int64_t at;
};

STP_CALLBACK stp_strpos_cb(uint32_t n, void *ctx)
{
	struct stp_find_walk *w = ctx;
	uint64_t i = n;
	stp_opaque(i);
	if (i >= STP_STRLEN)
		return 1;
	for (uint64_t j = 0; j < STP_STRLEN; j++) {
		char want = w->needle[j];
		if (!want) {
			w->at = i;
			return 1;
		}
		uint64_t k = i + j;
		stp_opaque(k);
		if (k >= STP_STRLEN || w->hay[k] != want)
			break;
	}
	return w->hay[i] == 0;
}

/* strpos(s1, s2): offset of the first s2 in s1, or -1 (0 for "") */
static inline int64_t stp_strpos(const char *s1, const char *s2)
{
	struct stp_find_walk w = {s1, s2, -1};
	stp_loop(STP_STRLEN, stp_strpos_cb, &w);
	return w.at;
}

static inline int64_t stp_isinstr(const char *s1, const char *s2) { return stp_strpos(s1, s2) >= 0; }

/* ------------------------------------------------------------ str_replace */

struct stp_replace_walk {
	char *dst;
	const char *src, *old, *rep;
	uint64_t i, o;
};

static inline void stp_replace_put(struct stp_replace_walk *w, char ch)
{
	uint64_t o = w->o;
	stp_opaque(o);
	if (o < STP_STR_LAST) {
		w->dst[o] = ch;
		w->o = o + 1;
	}
}

STP_CALLBACK stp_replace_cb(uint32_t n, void *ctx)
{
	struct stp_replace_walk *w = ctx;
	uint64_t i = w->i, j;
	stp_opaque(i);
	if (i >= STP_STRLEN || !w->src[i] || w->o >= STP_STR_LAST)
		return 1;
	for (j = 0; j < STP_STRLEN; j++) {
		uint64_t k = i + j;
		stp_opaque(k);
		if (!w->old[j] || k >= STP_STRLEN || w->src[k] != w->old[j])
			break;
	}
	if (j < STP_STRLEN && !w->old[j]) {
		for (uint64_t r = 0; r < STP_STRLEN && w->rep[r]; r++)
			stp_replace_put(w, w->rep[r]);
		w->i = i + j;
	} else {
		stp_replace_put(w, w->src[i]);
		w->i = i + 1;
	}
	return 0;
}

/* str_replace(src, old, rep): every occurrence of old, left to right,
 * replaced; src itself when old is empty. */
static inline void stp_str_replace(char *dst, const char *src, const char *old, const char *rep)
{
	struct stp_replace_walk w = {dst, src, old, rep, 0, 0};
	if (!old[0]) {
		stp_str_copy(dst, src);
		return;
	}
	stp_loop(STP_STRLEN, stp_replace_cb, &w);
	stp_str_end(dst, w.o);
}

/* ------------------------------------------------------------ numbers */

struct stp_strtol_walk {
	const char *s;
	uint64_t start, base, val;
};

static inline uint64_t stp_digit_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return (uint64_t)(ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (uint64_t)(ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (uint64_t)(ch - 'A' + 10);
	return 99;
}

STP_CALLBACK stp_strtol_cb(uint32_t i, void *ctx)
{
	struct stp_strtol_walk *w = ctx;
	uint64_t k = w->start + i;
	stp_opaque(k);
	if (k >= STP_STRLEN)
		return 1;
	uint64_t d = stp_digit_value(w->s[k]);
	if (d >= w->base)
		return 1;
	w->val = w->val * w->base + d;
	return 0;
}

/* strtol(s, base) as stap's kernel runtime reads numbers: an optional
 * '-', no blanks, "0x" skipped in base 16, base 0 guessing 16 ("0x" and
 * a hex digit), 8 (a leading 0) or 10; digits 0-9 and a-f only; stops at
 * the first byte that is not a digit of the base; wraps on overflow. */
static inline int64_t stp_strtol(const char *s, int64_t base)
{
	uint64_t skip = s[0] == '-';
	const char *p = s + skip;
	int x_prefix = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	if (base == 0)
		base = p[0] != '0' ? 10 : x_prefix && stp_digit_value(p[2]) < 16 ? 16 : 8;
	if (base == 16 && x_prefix)
		skip += 2;
	struct stp_strtol_walk w = {s, skip, base > 0 ? (uint64_t)base : 0, 0};
	stp_loop(STP_STRLEN, stp_strtol_cb, &w);
	return s[0] == '-' ? -(int64_t)w.val : (int64_t)w.val;
}

static inline int64_t stp_isdigit(const char *s) { return s[0] >= '0' && s[0] <= '9'; }

/* stringat(s, pos): the byte (a signed char, as stap returns it); the
 * caller raises "Position out of bounds" outside 0 .. strlen(s) - 1 */
static inline int64_t stp_stringat(const char *s, int64_t pos)
{
	uint64_t k = (uint64_t)pos;
	stp_opaque(k);
	return k < STP_STRLEN ? (int64_t)(signed char)s[k] : 0;
}

/* ------------------------------------------------------------ text_str */

struct stp_text_walk {
	char *dst;
	const char *s;
	uint64_t i, o;
	int64_t room;           /* output bytes left */
	uint64_t esc, esc_len;  /* first escape that a "..." could cut */
	int truncated;
};

static inline void stp_text_put(struct stp_text_walk *w, char ch)
{
	uint64_t o = w->o;
	stp_opaque(o);
	if (o < STP_STR_LAST) {
		w->dst[o] = ch;
		w->o = o + 1;
	}
}

static inline unsigned char stp_text_byte(const struct stp_text_walk *w, uint64_t k)
{
	stp_opaque(k);
	return k < STP_STRLEN ? (unsigned char)w->s[k] : 0;
}

/* A UTF-8 sequence at s[i]: its code point in *cp and its length, or 1
 * for any byte that does not start a complete, well-formed sequence. */
static inline uint64_t stp_utf8_decode(const struct stp_text_walk *w, uint64_t i, int64_t *cp)
{
	unsigned char b = stp_text_byte(w, i);
	uint64_t n = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
	int64_t c = n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
	if (n == 1 || i + n > STP_STR_LAST) {
		*cp = (signed char)b;
		return 1;
	}
	for (uint64_t k = 1; k < 4; k++) {
		if (k >= n)
			break;
		unsigned char cont = stp_text_byte(w, i + k);
		if ((cont & 0xC0) != 0x80) {
			*cp = (signed char)b;
			return 1;
		}
		c = (c << 6) | (cont & 0x3F);
	}
	*cp = c;
	return n;
}

static inline char stp_text_short_escape(int64_t c)
{
	switch (c) {
	case '\a': return 'a';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	case '\v': return 'v';
	case '"': return '"';
	case '\\': return '\\';
	}
	return 0;
}

STP_CALLBACK stp_text_cb(uint32_t n, void *ctx)
{
	struct stp_text_walk *w = ctx;
	int64_t c;
	uint64_t len = stp_utf8_decode(w, w->i, &c);
	if (c == 0 || w->i >= STP_STR_LAST)
		return 1;
	if (w->room <= 0) {
		w->truncated = 1;
		return 1;
	}
	char short_esc = stp_text_short_escape(c);
	int64_t need = len > 1 ? (c <= 0xFFFF ? 6 : 10) : (c >= 32 && c < 127 && !short_esc) ? 1 : short_esc ? 2 : 4;
	if (need > 1 && !w->esc_len && w->room - 3 < need) {
		w->esc = w->o;
		w->esc_len = (uint64_t)need;
	}
	if (w->room < need) {
		w->truncated = 1;
		return 1;
	}
	w->i += len;
	w->room -= need;
	if (need == 1) {
		stp_text_put(w, (char)c);
	} else if (len > 1) {
		stp_text_put(w, '\\');
		stp_text_put(w, need == 6 ? 'u' : 'U');
		for (int64_t d = need - 3; d >= 0; d--) {
			int nib = (int)((c >> (4 * d)) & 0xF);
			stp_text_put(w, (char)(nib < 10 ? '0' + nib : 'A' + nib - 10));
		}
	} else if (short_esc) {
		stp_text_put(w, '\\');
		stp_text_put(w, short_esc);
	} else {
		stp_text_put(w, '\\');
		stp_text_put(w, (char)('0' + ((c >> 6) & 3)));
		stp_text_put(w, (char)('0' + ((c >> 3) & 7)));
		stp_text_put(w, (char)('0' + (c & 7)));
	}
	return 0;
}

/* text_strn(s, len, quoted): s with non-printing bytes escaped as C
 * writes them (\n, \ooo; UTF-8 as \uXXXX), at most len bytes of output
 * (0: MAXSTRINGLEN - 1); quoted puts it in double quotes, followed by
 * "..." when it had to be cut.  text_str(s) is text_strn(s, 0, 0). */
static inline void stp_text_strn(char *dst, const char *s, int64_t len, int64_t quoted)
{
	struct stp_text_walk w = {dst, s, 0, 0, len, 0, 0, 0};
	if (len <= 0 || len > STP_STR_LAST)
		w.room = STP_STR_LAST;
	if (quoted) {
		w.room = (w.room > 5 ? w.room : 5) - 2;
		stp_text_put(&w, '"');
	}
	stp_loop(STP_STRLEN, stp_text_cb, &w);
	if (quoted && w.truncated) {
		/* "..." replaces the last bytes, or the escape it would cut */
		uint64_t cut = w.o - 3 + (uint64_t)w.room;
		w.o = w.esc_len && w.esc < cut && cut < w.esc + w.esc_len ? w.esc : cut;
		stp_text_put(&w, '"');
		stp_text_put(&w, '.');
		stp_text_put(&w, '.');
		stp_text_put(&w, '.');
	} else if (quoted) {
		stp_text_put(&w, '"');
	}
	stp_str_end(dst, w.o);
}

/* ------------------------------------------------------------ tokenize */

/* What tokenize() keeps between calls (the target defines where). */
struct stp_tok_state {
	char s[STP_STRLEN];
	uint64_t pos;
};
static inline struct stp_tok_state *stp_tok_state(void);

struct stp_tok_walk {
	struct stp_tok_state *st;
	const char *delim;
	char *dst;
	uint64_t o;
};

static inline int stp_is_delim(const char *delim, char ch)
{
	for (uint64_t j = 0; j < STP_STRLEN && delim[j]; j++)
		if (delim[j] == ch)
			return 1;
	return 0;
}

STP_CALLBACK stp_tok_cb(uint32_t n, void *ctx)
{
	struct stp_tok_walk *w = ctx;
	uint64_t p = w->st->pos, o = w->o;
	stp_opaque(p);
	stp_opaque(o);
	if (p >= STP_STR_LAST)
		return 1;
	char ch = w->st->s[p];
	if (!ch)
		return 1;
	w->st->pos = p + 1;
	if (stp_is_delim(w->delim, ch))
		return w->o > 0; /* a token ends here; empty ones are skipped */
	if (o < STP_STR_LAST) {
		w->dst[o] = ch;
		w->o = o + 1;
	}
	return 0;
}

/* tokenize(input, delim): the next non-empty token of input, or of the
 * string given last time when input is empty; "" when none is left. */
static inline void stp_tokenize(char *dst, const char *input, const char *delim)
{
	struct stp_tok_state *st = stp_tok_state();
	struct stp_tok_walk w = {st, delim, dst, 0};
	dst[0] = 0;
	if (!st)
		return;
	if (input[0]) {
		stp_str_copy(st->s, input);
		st->pos = 0;
	}
	stp_loop(STP_STRLEN, stp_tok_cb, &w);
	stp_str_end(dst, w.o);
}

/* ------------------------------------------------------------ regex */

/* A pattern compiled by the translator (src/translate/regex.c): the byte
 * classes, and next[state * nclasses + class] padded to mask + 1 cells.
 * State 0: no match possible, 1: found; the string's NUL is a byte of
 * the last class, where `$` holds. */
struct stp_re_walk {
	const char *s;
	const uint8_t *classes;
	const uint16_t *next;
	uint64_t nclasses, mask, state;
};

/* Bytes per callback: the kernel's loop calls cost more than a step. */
#define STP_RE_CHUNK 8

STP_CALLBACK stp_re_cb(uint32_t n, void *ctx)
{
	struct stp_re_walk *w = ctx;
	uint64_t st = w->state;
	for (uint64_t j = 0; j < STP_RE_CHUNK; j++) {
		uint64_t i = (uint64_t)n * STP_RE_CHUNK + j;
		stp_opaque(i);
		unsigned char ch = i < STP_STR_LAST ? (unsigned char)w->s[i] : 0;
		st = w->next[(st * w->nclasses + w->classes[ch]) & w->mask];
		if (st <= 1)
			break;
	}
	w->state = st;
	return st <= 1;
}

static inline int64_t stp_regex_match(const char *s, const uint8_t *classes, const uint16_t *next,
				      uint64_t nclasses, uint64_t mask, uint64_t start)
{
	struct stp_re_walk w = {s, classes, next, nclasses, mask, start};
	if (start > 1)
		stp_loop(STP_STRLEN / STP_RE_CHUNK + 1, stp_re_cb, &w);
	return w.state == 1;
}

#endif
