/* stp_string.h - the string functions of stap's library and the regex
 * walk, written once for both targets.
 *
 * stp_bpf.h and stp_host.h include this after defining
 *   stp_loop(n, fn, ctx)   call fn(i, ctx) for i = 0.. until it returns
 *                          nonzero or n calls were made (bpf_loop in the
 *                          kernel: the verifier checks fn once);
 *   stp_str_vars()         the memory a walk keeps its positions in and
 *                          tokenize() its string (per CPU in the kernel),
 *                          or NULL.
 * so a script gets the same answer in a kernel probe and in begin/end.
 *
 * Why the positions of a walk are not in its context on the stack: the
 * verifier tracks stack values exactly, so each position would be a new
 * state and bpf_loop's callback would be checked once per byte of the
 * string (past its million-instruction limit with a few calls).  It
 * knows nothing of what a map holds, so with the positions there every
 * step looks alike and the callback is checked about once.
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

/* What walks carry from one step to the next (see above). */
struct stp_replace_vars {
	uint64_t i, o;          /* next byte of src, of the result */
};

struct stp_text_vars {
	uint64_t i, o;          /* next byte of s, of the result */
	int64_t room;           /* output bytes left */
	uint64_t esc, esc_len;  /* first escape that a "..." could cut */
	int64_t truncated;
	uint64_t limit;         /* bytes of s to take, NULs escaped; 0: up to the NUL */
};

struct stp_utf_vars {
	uint64_t i, o;          /* next byte of the UTF-16/32 source, of the result */
	int64_t status;         /* 0, or why the walk stopped: -1 fault, -2 bad sequence */
};

struct stp_tok_vars {
	uint64_t o;             /* next byte of the token */
};

struct stp_re_vars {
	uint64_t state;         /* the DFA's state after the bytes so far */
};

/* What tokenize() keeps between calls. */
struct stp_tok_state {
	char s[STP_STRLEN];
	uint64_t pos;
};

struct stp_str_vars {
	union {
		struct stp_replace_vars replace;
		struct stp_text_vars text;
		struct stp_tok_vars tok;
		struct stp_re_vars re;
		struct stp_utf_vars utf;
	} walk;                 /* one walk at a time: none calls another */
	struct stp_tok_state tok;
};
static inline struct stp_str_vars *stp_str_vars(void);

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
	struct stp_replace_vars *v;
};

static inline void stp_replace_put(struct stp_replace_walk *w, char ch)
{
	uint64_t o = w->v->o;
	stp_opaque(o);
	if (o < STP_STR_LAST) {
		w->dst[o] = ch;
		w->v->o = o + 1;
	}
}

/* The length of old when src holds it at i, else 0. */
static inline uint64_t stp_replace_matches(const struct stp_replace_walk *w, uint64_t i)
{
	uint64_t j;
	for (j = 0; j < STP_STRLEN; j++) {
		uint64_t k = i + j;
		stp_opaque(k);
		if (!w->old[j])
			return j;
		if (k >= STP_STRLEN || w->src[k] != w->old[j])
			return 0;
	}
	return 0;
}

STP_CALLBACK stp_replace_cb(uint32_t n, void *ctx)
{
	struct stp_replace_walk *w = ctx;
	uint64_t i = w->v->i;
	stp_opaque(i);
	if (i >= STP_STRLEN || !w->src[i] || w->v->o >= STP_STR_LAST)
		return 1;
	uint64_t len = stp_replace_matches(w, i);
	if (len) {
		for (uint64_t r = 0; r < STP_STRLEN && w->rep[r]; r++)
			stp_replace_put(w, w->rep[r]);
		w->v->i = i + len;
	} else {
		stp_replace_put(w, w->src[i]);
		w->v->i = i + 1;
	}
	return 0;
}

/* str_replace(src, old, rep): every occurrence of old, left to right,
 * replaced; src itself when old is empty. */
static inline void stp_str_replace(char *dst, const char *src, const char *old, const char *rep)
{
	struct stp_str_vars *vars = stp_str_vars();
	dst[0] = 0;
	if (!vars)
		return;
	if (!old[0]) {
		stp_str_copy(dst, src);
		return;
	}
	struct stp_replace_walk w = {dst, src, old, rep, &vars->walk.replace};
	w.v->i = w.v->o = 0;
	stp_loop(STP_STRLEN, stp_replace_cb, &w);
	stp_str_end(dst, w.v->o);
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
	struct stp_text_vars *v;
};

static inline void stp_text_put(struct stp_text_walk *w, char ch)
{
	uint64_t o = w->v->o;
	stp_opaque(o);
	if (o < STP_STR_LAST) {
		w->dst[o] = ch;
		w->v->o = o + 1;
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
	if (n == 1 || i + n > STP_STR_LAST || (w->v->limit && i + n > w->v->limit)) {
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

/* The escape of c (a code point of len bytes) after its backslash. */
static inline void stp_text_escape(struct stp_text_walk *w, int64_t c, uint64_t len, int64_t need)
{
	char short_esc = stp_text_short_escape(c);
	stp_text_put(w, '\\');
	if (len > 1) {
		stp_text_put(w, need == 6 ? 'u' : 'U');
		for (int64_t d = need - 3; d >= 0; d--) {
			int nib = (int)((c >> (4 * d)) & 0xF);
			stp_text_put(w, (char)(nib < 10 ? '0' + nib : 'A' + nib - 10));
		}
	} else if (short_esc) {
		stp_text_put(w, short_esc);
	} else {
		stp_text_put(w, (char)('0' + ((c >> 6) & 3)));
		stp_text_put(w, (char)('0' + ((c >> 3) & 7)));
		stp_text_put(w, (char)('0' + (c & 7)));
	}
}

STP_CALLBACK stp_text_cb(uint32_t n, void *ctx)
{
	struct stp_text_walk *w = ctx;
	struct stp_text_vars *v = w->v;
	int64_t c;
	uint64_t i = v->i;
	uint64_t len = stp_utf8_decode(w, i, &c);
	if ((v->limit ? i >= v->limit : c == 0) || i >= STP_STR_LAST)
		return 1;
	if (v->room <= 0) {
		v->truncated = 1;
		return 1;
	}
	char short_esc = stp_text_short_escape(c);
	int64_t need = len > 1 ? (c <= 0xFFFF ? 6 : 10) : (c >= 32 && c < 127 && !short_esc) ? 1 : short_esc ? 2 : 4;
	if (need > 1 && !v->esc_len && v->room - 3 < need) {
		v->esc = v->o;
		v->esc_len = (uint64_t)need;
	}
	if (v->room < need) {
		v->truncated = 1;
		return 1;
	}
	v->i = i + len;
	v->room -= need;
	if (need == 1)
		stp_text_put(w, (char)c);
	else
		stp_text_escape(w, c, len, need);
	return 0;
}

/* text_strn(s, len, quoted): s with non-printing bytes escaped as C
 * writes them (\n, \ooo; UTF-8 as \uXXXX), at most len bytes of output
 * (0: MAXSTRINGLEN - 1); quoted puts it in double quotes, followed by
 * "..." when it had to be cut.  text_str(s) is text_strn(s, 0, 0).
 * stp_text_run() also quotes the first limit bytes of a buffer (NULs
 * included) and, with more, input that goes on past what s holds (the
 * memory readers of stp_memtext.h): the "..." follows even if all of s fit. */
static inline void stp_text_run(char *dst, const char *s, uint64_t limit, int64_t len, int64_t quoted, int64_t more);

static inline void stp_text_strn(char *dst, const char *s, int64_t len, int64_t quoted)
{
	stp_text_run(dst, s, 0, len, quoted, 0);
}

static inline void stp_text_run(char *dst, const char *s, uint64_t limit, int64_t len, int64_t quoted, int64_t more)
{
	struct stp_str_vars *vars = stp_str_vars();
	dst[0] = 0;
	if (!vars)
		return;
	struct stp_text_walk w = {dst, s, &vars->walk.text};
	struct stp_text_vars *v = w.v;
	*v = (struct stp_text_vars){0, 0, len, 0, 0, 0, limit};
	if (len <= 0 || len > STP_STR_LAST)
		v->room = STP_STR_LAST;
	if (quoted) {
		v->room = (v->room > 5 ? v->room : 5) - 2;
		stp_text_put(&w, '"');
	}
	stp_loop(STP_STRLEN, stp_text_cb, &w);
	if (quoted && (v->truncated || more)) {
		/* "..." replaces the last bytes, or the escape it would cut */
		int64_t room = v->truncated || v->room < 3 ? v->room : 3;
		uint64_t cut = v->o - 3 + (uint64_t)room;
		v->o = v->esc_len && v->esc < cut && cut < v->esc + v->esc_len ? v->esc : cut;
		stp_text_put(&w, '"');
		stp_text_put(&w, '.');
		stp_text_put(&w, '.');
		stp_text_put(&w, '.');
	} else if (quoted) {
		stp_text_put(&w, '"');
	}
	stp_str_end(dst, v->o);
}

/* ------------------------------------------------------------ tokenize */

struct stp_tok_walk {
	struct stp_tok_state *st;
	const char *delim;
	char *dst;
	struct stp_tok_vars *v;
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
	uint64_t p = w->st->pos, o = w->v->o;
	stp_opaque(p);
	stp_opaque(o);
	if (p >= STP_STR_LAST)
		return 1;
	char ch = w->st->s[p];
	if (!ch)
		return 1;
	w->st->pos = p + 1;
	if (stp_is_delim(w->delim, ch))
		return o > 0; /* a token ends here; empty ones are skipped */
	if (o < STP_STR_LAST) {
		w->dst[o] = ch;
		w->v->o = o + 1;
	}
	return 0;
}

/* tokenize(input, delim): the next non-empty token of input, or of the
 * string given last time when input is empty; "" when none is left. */
static inline void stp_tokenize(char *dst, const char *input, const char *delim)
{
	struct stp_str_vars *vars = stp_str_vars();
	dst[0] = 0;
	if (!vars)
		return;
	struct stp_tok_walk w = {&vars->tok, delim, dst, &vars->walk.tok};
	if (input[0]) {
		stp_str_copy(vars->tok.s, input);
		vars->tok.pos = 0;
	}
	w.v->o = 0;
	stp_loop(STP_STRLEN, stp_tok_cb, &w);
	stp_str_end(dst, w.v->o);
}

/* ------------------------------------------------------------ regex */

/* A pattern compiled by the translator (src/translate/regex.c): the byte
 * classes, and next[state * nclasses + class] padded to mask + 1 cells.
 * State 0: no match possible, 1: found; both lead only to themselves, and
 * the string's NUL (a class of its own, where `$` holds) leads to one of
 * them, so a walk may go on past the end without changing its answer. */
struct stp_re_walk {
	const char *s;
	const uint8_t *classes;
	const uint16_t *next;
	uint64_t nclasses, mask;
	struct stp_re_vars *v;
};

/* Bytes per callback, stepped without a branch: the kernel's loop calls
 * cost more than a step. */
#define STP_RE_CHUNK 16

STP_CALLBACK stp_re_cb(uint32_t n, void *ctx)
{
	struct stp_re_walk *w = ctx;
	uint64_t st = w->v->state;
	for (uint64_t j = 0; j < STP_RE_CHUNK; j++) {
		uint64_t i = (uint64_t)n * STP_RE_CHUNK + j;
		stp_opaque(i);
		unsigned char ch = i < STP_STR_LAST ? (unsigned char)w->s[i] : 0;
		st = w->next[(st * w->nclasses + w->classes[ch]) & w->mask];
	}
	w->v->state = st;
	return st <= 1;
}

/* always inlined: a BPF function takes at most 5 arguments */
static __always_inline int64_t stp_regex_match(const char *s, const uint8_t *classes, const uint16_t *next,
				      uint64_t nclasses, uint64_t mask, uint64_t start)
{
	struct stp_str_vars *vars = stp_str_vars();
	if (!vars)
		return 0;
	struct stp_re_walk w = {s, classes, next, nclasses, mask, &vars->walk.re};
	w.v->state = start;
	if (start > 1)
		stp_loop(STP_STRLEN / STP_RE_CHUNK + 1, stp_re_cb, &w);
	return w.v->state == 1;
}


#ifdef STP_RE_THREADS
/* ------------------------------------------------------------ sub-matches */

#if STP_STRLEN > 32767
#error "matched(): positions are 16 bits: MAXSTRINGLEN must be at most 32767"
#endif

/* matched(), ngroups(): a program that calls them defines STP_RE_THREADS
 * and STP_RE_SLOTS (the most any of its patterns needs), and each =~
 * then runs this pass after the DFA's walk: a Pike VM over the tables of
 * regex_caps() (src/translate/regex.h says what they hold and which of
 * the matches it reports).  A thread is a state of the pattern that takes
 * a byte, with its slots; the list for a position holds each state once,
 * in priority order, and the threads that took the byte bring their
 * closures into the next one.  Like the other walks, all its state is in
 * memory the verifier does not track (per CPU in the kernel), one step
 * per callback: a step of the start, one closure entry, one thread, or
 * the turn to the next position. */
struct stp_re_list {
	uint16_t st[STP_RE_THREADS];
	int16_t slot[STP_RE_THREADS][STP_RE_SLOTS];
};

struct stp_re_caps {
	int64_t ngroups;                /* of the last =~ in this handler; 0: it failed, or none yet */
	int16_t slot[STP_RE_SLOTS];     /* group g from slot[2g] to slot[2g + 1]; -1: did not take part */
	char s[STP_STRLEN];             /* the string it matched */
	/* the walk */
	struct stp_re_list list[2];     /* list[cur]: the threads at pos; the other: at pos + 1 */
	uint64_t n[2];
	uint16_t mark[STP_RE_THREADS];  /* pos + 1: the state is in the list for pos */
	uint64_t pos, cur, t, e, end, phase, found;
};
static inline struct stp_re_caps *stp_re_caps(void);

struct stp_re_cwalk {
	const uint8_t *classes, *acc;
	const uint16_t *first, *to;
	const uint32_t *set, *clr;
	uint64_t nclasses, nthreads, accmask, firstmask, entmask;
	struct stp_re_caps *c;
};

enum { STP_RE_START, STP_RE_ADD, STP_RE_SCAN, STP_RE_TAKE };

static inline unsigned char stp_re_at(const struct stp_re_caps *c, uint64_t p)
{
	stp_opaque(p);
	return p < STP_STR_LAST ? (unsigned char)c->s[p] : 0;
}

/* Thread `to` joins list l, the list for position `at`, unless it is
 * there already: its slots those of src (0: a new thread, all unset)
 * with closure entry e's changes. */
static inline void stp_re_join(struct stp_re_cwalk *w, uint64_t l, uint64_t at, uint64_t e, const int16_t *src)
{
	struct stp_re_caps *c = w->c;
	e &= w->entmask;
	uint64_t to = w->to[e], k = c->n[l & 1];
	uint32_t set = w->set[e], clr = w->clr[e];
	stp_opaque(to);
	stp_opaque(k);
	if (to >= STP_RE_THREADS || k >= STP_RE_THREADS || c->mark[to] == at + 1)
		return;
	c->mark[to] = (uint16_t)(at + 1);
	struct stp_re_list *dst = &c->list[l & 1];
	dst->st[k] = (uint16_t)to;
	for (int j = 0; j < STP_RE_SLOTS; j++) {
		int16_t v = src ? src[j] : -1;
		if ((set >> j) & 1)
			v = (int16_t)at;
		else if ((clr >> j) & 1)
			v = -1;
		dst->slot[k][j] = v;
	}
	c->n[l & 1] = k + 1;
}

STP_CALLBACK stp_re_caps_cb(uint32_t n, void *ctx)
{
	struct stp_re_cwalk *w = ctx;
	struct stp_re_caps *c = w->c;
	uint64_t p = c->pos, cur = c->cur & 1, t = c->t, cl;
	unsigned char ch = stp_re_at(c, p);
	(void)n;
	stp_opaque(t);
	if (t >= STP_RE_THREADS)
		return 1;
	switch (c->phase) {
	case STP_RE_START: /* a match may begin here, until one is found */
		cl = 2 * w->nthreads + 2 * (p == 0) + (ch == 0);
		c->e = w->first[cl & w->firstmask];
		c->end = w->first[(cl + 1) & w->firstmask];
		c->phase = c->found ? STP_RE_SCAN : STP_RE_ADD;
		c->t = 0;
		return 0;
	case STP_RE_ADD:
		if (c->e >= c->end) {
			c->phase = STP_RE_SCAN;
			return 0;
		}
		stp_re_join(w, cur, p, c->e++, 0);
		return 0;
	case STP_RE_SCAN: {
		if (t >= c->n[cur]) { /* the turn */
			if (!ch || (c->found && !c->n[cur ^ 1]))
				return 1;
			c->n[cur] = 0;
			c->cur = cur ^ 1;
			c->pos = p + 1;
			c->phase = STP_RE_START;
			return 0;
		}
		uint64_t st = c->list[cur].st[t];
		const int16_t *sl = c->list[cur].slot[t];
		if (st == w->nthreads - 1) { /* at the match: the best at this position */
			if (!c->found || sl[0] <= c->slot[0]) {
				for (int j = 0; j < STP_RE_SLOTS; j++)
					c->slot[j] = sl[j];
				c->found = 1;
			}
			c->t = t + 1;
			return 0;
		}
		if (!ch || (c->found && sl[0] > c->slot[0]) ||
		    !w->acc[(st * w->nclasses + w->classes[ch]) & w->accmask]) {
			c->t = t + 1;
			return 0;
		}
		cl = 2 * st + (stp_re_at(c, p + 1) == 0);
		c->e = w->first[cl & w->firstmask];
		c->end = w->first[(cl + 1) & w->firstmask];
		c->phase = STP_RE_TAKE;
		return 0;
	}
	default: /* thread t took the byte: its closure, into the next list */
		if (c->e >= c->end) {
			c->phase = STP_RE_SCAN;
			c->t = t + 1;
			return 0;
		}
		stp_re_join(w, cur ^ 1, p + 1, c->e++, c->list[cur].slot[t]);
		return 0;
	}
}

/* After s =~ pattern gave `matched`: where the match and its groups are,
 * for matched() and ngroups().  The arguments after `matched` are the
 * pattern's tables (regex_emit_caps_c) and their sizes (regex_caps_args);
 * always inlined, as a BPF function takes at most 5 arguments, and so
 * that the tables' addresses are the program's own (a struct of them
 * built as a constant would hold addresses libbpf does not relocate). */
static __always_inline void stp_regex_caps(const char *s, int64_t matched, const uint8_t *classes,
					   const uint8_t *acc, const uint16_t *first, const uint16_t *to,
					   const uint32_t *set, const uint32_t *clr, uint64_t nclasses,
					   uint64_t nthreads, uint64_t nslots, uint64_t accmask,
					   uint64_t firstmask, uint64_t entmask, uint64_t steps)
{
	struct stp_re_caps *c = stp_re_caps();
	if (!c)
		return;
	c->ngroups = 0;
	if (!matched)
		return;
	stp_str_copy(c->s, s);
	__builtin_memset(c->mark, 0, sizeof c->mark);
	for (int j = 0; j < STP_RE_SLOTS; j++)
		c->slot[j] = -1;
	c->n[0] = c->n[1] = 0;
	c->pos = c->cur = c->t = c->phase = c->found = 0;
	struct stp_re_cwalk w = {classes, acc, first, to, set, clr, nclasses, nthreads, accmask, firstmask, entmask, c};
	uint64_t loops = steps * STP_STRLEN;
	stp_loop(loops < (1 << 23) ? loops : (1 << 23), stp_re_caps_cb, &w);
	if (c->found)
		c->ngroups = (int64_t)(nslots / 2);
}

/* ngroups(): 0 when the handler's last =~ failed (or there was none). */
static inline int64_t stp_re_ngroups(void)
{
	struct stp_re_caps *c = stp_re_caps();
	return c ? c->ngroups : 0;
}

/* A handler begins with no match. */
static inline void stp_re_reset(void)
{
	struct stp_re_caps *c = stp_re_caps();
	if (c)
		c->ngroups = 0;
}

/* matched(n): group n of the last match, "" when it did not take part
 * (the caller checked n against ngroups()). */
static inline void stp_re_matched(char *dst, int64_t n)
{
	struct stp_re_caps *c = stp_re_caps();
	dst[0] = 0;
	if (!c || n < 0 || n >= c->ngroups)
		return;
	uint64_t k = (uint64_t)n * 2;
	stp_opaque(k);
	if (k + 1 >= STP_RE_SLOTS)
		return;
	int64_t a = c->slot[k], b = c->slot[k + 1];
	if (a >= 0 && b > a)
		stp_substr(dst, c->s, a, b - a);
}
#endif /* STP_RE_THREADS */

#endif
