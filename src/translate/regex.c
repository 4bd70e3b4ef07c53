/* regex.c - POSIX extended regular expressions: pattern -> tree -> NFA ->
 * DFA table (see regex.h for what the table means).
 *
 * The parser is recursive descent over the ERE grammar (one function per
 * rule, the rule above it).  The tree is turned into a Thompson NFA built
 * back to front: each construct is given the state that follows it and
 * returns its own first state, so {m,n} is simply the operand built m..n
 * times.  Bytes that no bracket expression or literal tells apart share a
 * class, which keeps the table narrow; subset construction then builds
 * the rows, adding the NFA's start to every step so that a match may begin
 * anywhere.  `^` holds only before the first byte and `$` only on the
 * terminating NUL, as POSIX says when newlines are not special.
 */
#include "translate/regex.h"
#include "stap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the tree */

typedef struct ByteSet {
	uint64_t w[4];
} ByteSet;

static bool set_has(const ByteSet *s, unsigned c) { return (s->w[c >> 6] >> (c & 63)) & 1; }
static void set_add(ByteSet *s, unsigned c) { s->w[c >> 6] |= (uint64_t)1 << (c & 63); }

typedef enum RxKind { RX_SET, RX_CAT, RX_ALT, RX_REPEAT, RX_BOL, RX_EOL, RX_EMPTY, RX_GROUP } RxKind;

typedef struct RxNode {
	RxKind kind;
	int set;                /* RX_SET: index into Compiler.sets */
	struct RxNode *a, *b;   /* operands */
	int min, max;           /* RX_REPEAT; max -1: no bound */
	int group;              /* RX_GROUP: its number, 1.. in the order of the '(' */
} RxNode;

typedef struct Compiler {
	const unsigned char *pat;
	size_t len, pos;
	RegexError *err;
	bool failed;
	RxNode **nodes;         /* every node, for freeing */
	int nnodes, capnodes;
	ByteSet *sets;          /* distinct sets, interned */
	int nsets, capsets;
	int ngroups;
	int depth;              /* open groups: ')' closes one */
} Compiler;

static void fail_at(Compiler *c, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(Compiler *c, int pos, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = true;
	c->err->pos = pos;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
	va_end(ap);
}

static RxNode *node(Compiler *c, RxKind kind, RxNode *a, RxNode *b)
{
	if (c->nnodes == c->capnodes) {
		c->capnodes = c->capnodes ? 2 * c->capnodes : 32;
		c->nodes = xrealloc(c->nodes, (size_t)c->capnodes * sizeof *c->nodes);
	}
	RxNode *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->a = a;
	n->b = b;
	c->nodes[c->nnodes++] = n;
	return n;
}

static RxNode *set_node(Compiler *c, const ByteSet *s)
{
	int i;
	for (i = 0; i < c->nsets; i++)
		if (!memcmp(&c->sets[i], s, sizeof *s))
			break;
	if (i == c->nsets) {
		if (c->nsets == c->capsets) {
			c->capsets = c->capsets ? 2 * c->capsets : 8;
			c->sets = xrealloc(c->sets, (size_t)c->capsets * sizeof *c->sets);
		}
		c->sets[c->nsets++] = *s;
	}
	RxNode *n = node(c, RX_SET, NULL, NULL);
	n->set = i;
	return n;
}

static RxNode *byte_node(Compiler *c, unsigned char ch)
{
	ByteSet s = {{0}};
	set_add(&s, ch);
	return set_node(c, &s);
}

static bool at_end(Compiler *c) { return c->pos >= c->len; }
static int peek(Compiler *c) { return at_end(c) ? -1 : c->pat[c->pos]; }

static bool is_quantifier(int ch) { return ch == '*' || ch == '+' || ch == '?' || ch == '{'; }

/* ------------------------------------------------------------ the parser */

static RxNode *parse_alternation(Compiler *c);

/* class-name -> alpha | digit | alnum | upper | lower | space | blank
 *             | punct | print | graph | cntrl | xdigit */
static bool class_has(const char *name, unsigned ch)
{
	bool upper = ch >= 'A' && ch <= 'Z', lower = ch >= 'a' && ch <= 'z';
	bool digit = ch >= '0' && ch <= '9';
	bool print = ch >= 32 && ch < 127;
	if (!strcmp(name, "alpha")) return upper || lower;
	if (!strcmp(name, "digit")) return digit;
	if (!strcmp(name, "alnum")) return upper || lower || digit;
	if (!strcmp(name, "upper")) return upper;
	if (!strcmp(name, "lower")) return lower;
	if (!strcmp(name, "space")) return ch == ' ' || (ch >= '\t' && ch <= '\r');
	if (!strcmp(name, "blank")) return ch == ' ' || ch == '\t';
	if (!strcmp(name, "punct")) return print && ch != ' ' && !upper && !lower && !digit;
	if (!strcmp(name, "print")) return print;
	if (!strcmp(name, "graph")) return print && ch != ' ';
	if (!strcmp(name, "cntrl")) return ch < 32 || ch == 127;
	if (!strcmp(name, "xdigit")) return digit || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
	return false;
}

static bool class_known(const char *name)
{
	static const char *const names[] = {"alpha", "digit", "alnum", "upper", "lower", "space",
					    "blank", "punct", "print", "graph", "cntrl", "xdigit"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* class -> '[:' name ':]'   (c->pos is on the '[') */
static void parse_named_class(Compiler *c, ByteSet *s)
{
	size_t open = c->pos;
	c->pos += 2;
	size_t from = c->pos;
	while (!at_end(c) && !(peek(c) == ':' && c->pos + 1 < c->len && c->pat[c->pos + 1] == ']'))
		c->pos++;
	char name[32];
	size_t n = c->pos - from < sizeof name - 1 ? c->pos - from : sizeof name - 1;
	memcpy(name, c->pat + from, n);
	name[n] = 0;
	if (at_end(c)) {
		fail_at(c, (int)c->len, "unclosed character class '%.*s'", (int)(c->len - open - 1), c->pat + open);
		return;
	}
	c->pos += 2;
	if (!class_known(name)) {
		fail_at(c, -1, "unknown character class '%s'", name);
		return;
	}
	for (unsigned ch = 1; ch < 256; ch++)
		if (class_has(name, ch))
			set_add(s, ch);
}

/* bracket -> '[' '^'? ']'? ( class | byte '-' byte | byte )* ']'
 * A backslash is an ordinary byte here, as POSIX has it. */
static RxNode *parse_bracket(Compiler *c)
{
	c->pos++;
	ByteSet s = {{0}};
	bool negate = peek(c) == '^';
	if (negate)
		c->pos++;
	bool first = true;
	for (;;) {
		if (at_end(c)) {
			fail_at(c, (int)c->len - 1, "unclosed character class");
			return NULL;
		}
		int ch = peek(c);
		if (ch == ']' && !first)
			break;
		first = false;
		if (ch == '[' && c->pos + 1 < c->len && c->pat[c->pos + 1] == ':') {
			parse_named_class(c, &s);
			if (c->failed)
				return NULL;
			continue;
		}
		c->pos++;
		int hi = ch;
		if (peek(c) == '-' && c->pos + 1 < c->len && c->pat[c->pos + 1] != ']') {
			hi = c->pat[c->pos + 1];
			c->pos += 2;
			if (hi < ch) {
				fail_at(c, (int)c->pos, "Inverted character range %c-%c", ch, hi);
				return NULL;
			}
		}
		for (int b = ch; b <= hi; b++)
			set_add(&s, (unsigned)b);
	}
	c->pos++;
	if (negate)
		for (int i = 0; i < 4; i++)
			s.w[i] = ~s.w[i];
	s.w[0] &= ~(uint64_t)1; /* NUL ends the string: never a byte of it */
	return set_node(c, &s);
}

static int escaped_byte(int ch)
{
	switch (ch) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'v': return '\v';
	case 'a': return '\a';
	default: return ch;
	}
}

/* atom -> '(' alternation ')' | bracket | '.' | '^' | '$' | '\' byte | byte */
static RxNode *parse_atom(Compiler *c)
{
	int ch = peek(c);
	size_t at = c->pos;
	if (is_quantifier(ch)) {
		fail_at(c, (int)at, "unexpected '%c'", ch);
		return NULL;
	}
	c->pos++;
	switch (ch) {
	case '(': {
		int group = ++c->ngroups;
		c->depth++;
		RxNode *inner = parse_alternation(c);
		c->depth--;
		if (c->failed)
			return NULL;
		if (peek(c) != ')') {
			fail_at(c, (int)c->pos - 1, "expected ), found end of regex");
			return NULL;
		}
		c->pos++;
		RxNode *g = node(c, RX_GROUP, inner, NULL);
		g->group = group;
		return g;
	}
	case '[':
		c->pos--;
		return parse_bracket(c);
	case '.': {
		ByteSet s;
		memset(&s, 0xff, sizeof s);
		s.w[0] &= ~(uint64_t)1;
		return set_node(c, &s);
	}
	case '^':
		return node(c, RX_BOL, NULL, NULL);
	case '$':
		return node(c, RX_EOL, NULL, NULL);
	case '\\':
		if (at_end(c)) {
			fail_at(c, (int)c->pos, "unexpected end of regex");
			return NULL;
		}
		return byte_node(c, (unsigned char)escaped_byte(c->pat[c->pos++]));
	default:
		return byte_node(c, (unsigned char)ch);
	}
}

static int parse_count(Compiler *c, const char *expected)
{
	if (at_end(c)) {
		fail_at(c, (int)c->pos, "unexpected end of regex");
		return -1;
	}
	if (peek(c) < '0' || peek(c) > '9') {
		fail_at(c, (int)c->pos + 1, "%s", expected);
		return -1;
	}
	long n = 0;
	while (peek(c) >= '0' && peek(c) <= '9') {
		n = n * 10 + (peek(c) - '0');
		c->pos++;
		if (n > REGEX_MAX_REPEAT) {
			while (peek(c) >= '0' && peek(c) <= '9')
				c->pos++;
			fail_at(c, (int)c->pos, "repetition count is too large (at most %d)", REGEX_MAX_REPEAT);
			return -1;
		}
	}
	return (int)n;
}

/* bounds -> '{' count ( ',' count? )? '}'   (c->pos is after the '{') */
static bool parse_bounds(Compiler *c, int *min, int *max)
{
	*min = parse_count(c, "expected number");
	if (*min < 0)
		return false;
	*max = *min;
	bool upper = peek(c) == ',';
	if (upper) {
		c->pos++;
		if (peek(c) == '}')
			*max = -1;
		else if ((*max = parse_count(c, "expected '}' or number")) < 0)
			return false;
	}
	if (at_end(c)) {
		fail_at(c, (int)c->pos, "unexpected end of regex");
		return false;
	}
	if (peek(c) != '}') {
		if (upper)
			fail_at(c, (int)c->pos, "expected }, found %c", peek(c));
		else
			fail_at(c, (int)c->pos, "expected ',' or '}'");
		return false;
	}
	c->pos++;
	if (*max >= 0 && *max < *min) {
		fail_at(c, (int)c->pos - 1, "invalid repetition bounds {%d,%d}", *min, *max);
		return false;
	}
	return true;
}

/* piece -> atom ( '*' | '+' | '?' | bounds )* */
static RxNode *parse_piece(Compiler *c)
{
	RxNode *a = parse_atom(c);
	while (a && is_quantifier(peek(c))) {
		int q = peek(c);
		if (a->kind == RX_BOL || a->kind == RX_EOL) {
			fail_at(c, (int)c->pos, "postfix closure '%c' applied to anchoring operator", q);
			return NULL;
		}
		c->pos++;
		int min = q == '+', max = q == '?' ? 1 : -1;
		if (q == '{' && !parse_bounds(c, &min, &max))
			return NULL;
		RxNode *r = node(c, RX_REPEAT, a, NULL);
		r->min = min;
		r->max = max;
		a = r;
	}
	return a;
}

/* branch -> piece*   (ends at '|', at a ')' closing a group, or at the end) */
static RxNode *parse_branch(Compiler *c)
{
	RxNode *acc = node(c, RX_EMPTY, NULL, NULL);
	while (!at_end(c) && peek(c) != '|' && !(peek(c) == ')' && c->depth > 0)) {
		RxNode *p;
		if (peek(c) == ')') { /* unmatched ')' at the top: an ordinary byte */
			c->pos++;
			p = byte_node(c, ')');
		} else {
			p = parse_piece(c);
		}
		if (!p)
			return NULL;
		acc = node(c, RX_CAT, acc, p);
	}
	return acc;
}

/* alternation -> branch ( '|' branch )* */
static RxNode *parse_alternation(Compiler *c)
{
	RxNode *a = parse_branch(c);
	while (a && peek(c) == '|') {
		c->pos++;
		RxNode *b = parse_branch(c);
		a = b ? node(c, RX_ALT, a, b) : NULL;
	}
	return a;
}

/* ------------------------------------------------------------ the NFA */

/* N_SAVE and N_RESET exist only in the NFA of the sub-match pass. */
typedef enum NKind { N_SET, N_SPLIT, N_EPS, N_BOL, N_EOL, N_MATCH, N_SAVE, N_RESET } NKind;

typedef struct NState {
	NKind kind;
	int set;                /* N_SET; N_SAVE: the slot; N_RESET: the first group */
	int out, out1;          /* successors (out1: N_SPLIT only) */
	int last;               /* N_RESET: the last group */
} NState;

typedef struct Nfa {
	NState *st;
	int n, cap;
	bool too_big;
	bool caps;              /* groups save their bounds (regex_caps) */
} Nfa;

static int nfa_add(Nfa *a, NKind kind, int set, int out, int out1)
{
	if (a->n >= REGEX_MAX_NFA) {
		a->too_big = true;
		return 0;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->st = xrealloc(a->st, (size_t)a->cap * sizeof *a->st);
	}
	a->st[a->n] = (NState){kind, set, out, out1, 0};
	return a->n++;
}

/* The groups inside n: lo..hi, none when hi < lo. */
static void group_range(const RxNode *n, int *lo, int *hi)
{
	if (!n)
		return;
	if (n->kind == RX_GROUP) {
		if (*hi < *lo)
			*lo = *hi = n->group;
		else {
			if (n->group < *lo)
				*lo = n->group;
			if (n->group > *hi)
				*hi = n->group;
		}
	}
	group_range(n->a, lo, hi);
	group_range(n->b, lo, hi);
}

static int nfa_build(Nfa *a, const RxNode *n, int next);

/* One iteration of a repetition; for sub-matches it first unsets the
 * groups inside, so that they report the last iteration only. */
static int nfa_iteration(Nfa *a, const RxNode *n, int next)
{
	int lo = 1, hi = 0;
	if (a->caps)
		group_range(n, &lo, &hi);
	int first = nfa_build(a, n, next);
	if (hi < lo || a->too_big)
		return first;
	int r = nfa_add(a, N_RESET, lo, first, -1);
	if (!a->too_big)
		a->st[r].last = hi;
	return r;
}

/* The states matching n, followed by state `next`; returns the first. */
static int nfa_build(Nfa *a, const RxNode *n, int next)
{
	if (a->too_big)
		return next;
	switch (n->kind) {
	case RX_SET: return nfa_add(a, N_SET, n->set, next, -1);
	case RX_BOL: return nfa_add(a, N_BOL, -1, next, -1);
	case RX_EOL: return nfa_add(a, N_EOL, -1, next, -1);
	case RX_EMPTY: return next;
	case RX_GROUP:
		if (a->caps) {
			int end = nfa_add(a, N_SAVE, 2 * n->group + 1, next, -1);
			return nfa_add(a, N_SAVE, 2 * n->group, nfa_build(a, n->a, end), -1);
		}
		return nfa_build(a, n->a, next);
	case RX_CAT: return nfa_build(a, n->a, nfa_build(a, n->b, next));
	case RX_ALT: {
		int x = nfa_build(a, n->a, next);
		int y = nfa_build(a, n->b, next);
		return nfa_add(a, N_SPLIT, -1, x, y);
	}
	case RX_REPEAT: {
		int tail = next;
		if (n->max < 0) {
			/* a loop: split -> operand -> back to the split, or on */
			int loop = nfa_add(a, N_SPLIT, -1, -1, next);
			if (a->too_big)
				return next;
			int body = nfa_iteration(a, n->a, loop);
			a->st[loop].out = body;
			tail = loop;
		} else {
			/* max - min optional copies, each may stop early */
			for (int i = n->min; i < n->max && !a->too_big; i++)
				tail = nfa_add(a, N_SPLIT, -1, nfa_iteration(a, n->a, tail), next);
		}
		for (int i = 0; i < n->min && !a->too_big; i++)
			tail = nfa_iteration(a, n->a, tail);
		return tail;
	}
	}
	return next;
}

/* ------------------------------------------------------------ the DFA */

/* A set of NFA states: sorted, holding only those that matter after the
 * closure (byte sets, `$` still to pass, the match). */
typedef struct StateSet {
	int *s;
	int n;
	bool initial;           /* before the first byte: `^` holds */
} StateSet;

typedef struct Builder {
	const Nfa *nfa;
	const ByteSet *sets;
	int start;              /* NFA start */
	int *mark, stamp;       /* closure: visited when mark[i] == stamp */
	int *stack;
	int *work, nwork;       /* closure result, unsorted */
	StateSet *dstates;      /* DFA rows 2.. (0 and 1 are fixed) */
	int ndstates, capdstates;
	int *hash, hashcap;     /* open addressing: index into dstates + 1 */
} Builder;

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Follow empty moves from the seeds; `^` only at the start, `$` only at
 * the end of the string.  Leaves the sorted result in b->work. */
static void closure(Builder *b, const int *seeds, int nseeds, bool at_start, bool at_end_)
{
	int sp = 0;
	b->stamp++;
	b->nwork = 0;
	for (int i = 0; i < nseeds; i++)
		b->stack[sp++] = seeds[i];
	while (sp > 0) {
		int i = b->stack[--sp];
		if (i < 0 || b->mark[i] == b->stamp)
			continue;
		b->mark[i] = b->stamp;
		const NState *st = &b->nfa->st[i];
		switch (st->kind) {
		case N_SPLIT:
			b->stack[sp++] = st->out1;
			b->stack[sp++] = st->out;
			break;
		case N_EPS:
		case N_SAVE:
		case N_RESET:
			b->stack[sp++] = st->out;
			break;
		case N_BOL:
			if (at_start)
				b->stack[sp++] = st->out;
			break;
		case N_EOL:
			b->work[b->nwork++] = i;
			if (at_end_)
				b->stack[sp++] = st->out;
			break;
		case N_SET:
		case N_MATCH:
			b->work[b->nwork++] = i;
			break;
		}
	}
	qsort(b->work, (size_t)b->nwork, sizeof *b->work, cmp_int);
}

static bool work_has_match(const Builder *b)
{
	for (int i = 0; i < b->nwork; i++)
		if (b->nfa->st[b->work[i]].kind == N_MATCH)
			return true;
	return false;
}

static unsigned hash_work(const Builder *b, bool initial)
{
	unsigned h = initial ? 2166136261u ^ 1u : 2166136261u;
	for (int i = 0; i < b->nwork; i++)
		h = (h ^ (unsigned)b->work[i]) * 16777619u;
	return h;
}

static void rehash(Builder *b)
{
	free(b->hash);
	b->hashcap = b->hashcap ? 2 * b->hashcap : 64;
	b->hash = xcalloc((size_t)b->hashcap, sizeof *b->hash);
	for (int d = 0; d < b->ndstates; d++) {
		const StateSet *ss = &b->dstates[d];
		unsigned h = 2166136261u ^ (ss->initial ? 1u : 0u);
		for (int i = 0; i < ss->n; i++)
			h = (h ^ (unsigned)ss->s[i]) * 16777619u;
		unsigned j = h & (unsigned)(b->hashcap - 1);
		while (b->hash[j])
			j = (j + 1) & (unsigned)(b->hashcap - 1);
		b->hash[j] = d + 1;
	}
}

/* The DFA state for b->work: REGEX_FOUND, REGEX_DEAD, or a row (2..);
 * -1 when the automaton grew past REGEX_MAX_STATES. */
static int dfa_state(Builder *b, bool initial)
{
	if (work_has_match(b))
		return REGEX_FOUND;
	if (b->nwork == 0)
		return REGEX_DEAD;
	if (2 * (b->ndstates + 1) > b->hashcap)
		rehash(b);
	unsigned j = hash_work(b, initial) & (unsigned)(b->hashcap - 1);
	for (; b->hash[j]; j = (j + 1) & (unsigned)(b->hashcap - 1)) {
		const StateSet *ss = &b->dstates[b->hash[j] - 1];
		if (ss->initial == initial && ss->n == b->nwork &&
		    !memcmp(ss->s, b->work, (size_t)ss->n * sizeof *ss->s))
			return b->hash[j] - 1 + 2;
	}
	if (b->ndstates + 2 >= REGEX_MAX_STATES)
		return -1;
	if (b->ndstates == b->capdstates) {
		b->capdstates = b->capdstates ? 2 * b->capdstates : 16;
		b->dstates = xrealloc(b->dstates, (size_t)b->capdstates * sizeof *b->dstates);
	}
	StateSet *ss = &b->dstates[b->ndstates];
	ss->n = b->nwork;
	ss->initial = initial;
	ss->s = xmalloc((size_t)(b->nwork ? b->nwork : 1) * sizeof *ss->s);
	memcpy(ss->s, b->work, (size_t)b->nwork * sizeof *ss->s);
	b->hash[j] = ++b->ndstates;
	return b->ndstates - 1 + 2;
}

/* Bytes that every set either holds or lacks together form one class;
 * byte 0 (the end of the string) is a class of its own, the last one. */
static int byte_classes(const ByteSet *sets, int nsets, uint8_t *classmap, int *rep)
{
	int cls[256] = {0}, n = 1;
	for (int s = 0; s < nsets; s++) {
		int in_id[256], out_id[256], m = 0;
		for (int k = 0; k < n; k++)
			in_id[k] = out_id[k] = -1;
		for (int ch = 1; ch < 256; ch++) {
			int *slot = set_has(&sets[s], (unsigned)ch) ? &in_id[cls[ch]] : &out_id[cls[ch]];
			if (*slot < 0)
				*slot = m++;
			cls[ch] = *slot;
		}
		n = m;
	}
	for (int ch = 1; ch < 256; ch++) {
		classmap[ch] = (uint8_t)cls[ch];
		rep[cls[ch]] = ch;
	}
	classmap[0] = (uint8_t)n;
	rep[n] = 0;
	return n + 1;
}

/* One row of the table: where each class leads from DFA state d. */
static bool build_row(Builder *b, Regex *re, int d, const int *rep, int **seeds)
{
	const StateSet ss = b->dstates[d - 2];
	int eos = re->nclasses - 1;
	for (int k = 0; k < re->nclasses; k++) {
		int ns = 0;
		if (k == eos) {
			closure(b, ss.s, ss.n, ss.initial, true);
			re->next[d * re->nclasses + k] = work_has_match(b) ? REGEX_FOUND : REGEX_DEAD;
			continue;
		}
		for (int i = 0; i < ss.n; i++) {
			const NState *st = &b->nfa->st[ss.s[i]];
			if (st->kind == N_SET && set_has(&b->sets[st->set], (unsigned)rep[k]))
				(*seeds)[ns++] = st->out;
		}
		(*seeds)[ns++] = b->start; /* a match may begin at the next byte */
		closure(b, *seeds, ns, false, false);
		int to = dfa_state(b, false);
		if (to < 0)
			return false;
		re->next[d * re->nclasses + k] = (uint16_t)to;
	}
	return true;
}

static bool build_dfa(Regex *re, const Nfa *nfa, int start, const ByteSet *sets, int nsets)
{
	int rep[257];
	re->nclasses = byte_classes(sets, nsets, re->classmap, rep);
	Builder b = {.nfa = nfa, .sets = sets, .start = start};
	b.mark = xcalloc((size_t)nfa->n, sizeof *b.mark);
	b.stack = xmalloc((size_t)(2 * nfa->n + 2) * sizeof *b.stack);
	b.work = xmalloc((size_t)(nfa->n + 1) * sizeof *b.work);
	int *seeds = xmalloc((size_t)(nfa->n + 1) * sizeof *seeds);
	bool ok = true;
	closure(&b, &start, 1, true, false);
	re->start = dfa_state(&b, true);
	size_t cap = 0;
	for (int d = 2; d < b.ndstates + 2 && ok; d++) {
		size_t need = (size_t)(b.ndstates + 2) * (size_t)re->nclasses;
		if (need > REGEX_MAX_CELLS) {
			ok = false;
			break;
		}
		if (need > cap) {
			cap = need * 2 < REGEX_MAX_CELLS ? need * 2 : REGEX_MAX_CELLS;
			re->next = xrealloc(re->next, cap * sizeof *re->next);
		}
		ok = build_row(&b, re, d, rep, &seeds);
	}
	if (ok) {
		re->nstates = b.ndstates + 2;
		if ((size_t)re->nstates * (size_t)re->nclasses > REGEX_MAX_CELLS) {
			ok = false;
		} else {
			re->next = xrealloc(re->next, (size_t)re->nstates * (size_t)re->nclasses * sizeof *re->next);
			/* the two final rows stay where they are */
			for (int k = 0; k < re->nclasses; k++) {
				re->next[REGEX_DEAD * re->nclasses + k] = REGEX_DEAD;
				re->next[REGEX_FOUND * re->nclasses + k] = REGEX_FOUND;
			}
		}
	}
	for (int d = 0; d < b.ndstates; d++)
		free(b.dstates[d].s);
	free(b.dstates);
	free(b.hash);
	free(b.mark);
	free(b.stack);
	free(b.work);
	free(seeds);
	return ok;
}

/* ------------------------------------------------------------ sub-matches */

static void caps_free(Regex *re);
static void compiler_free(Compiler *c);

typedef struct CapBuilder {
	const Nfa *nfa;
	const int *thread;      /* NFA state -> thread, -1 */
	int *mark, stamp;
	struct CapItem { int st; uint32_t set, clr; } *stack;
	RegexCaps *rc;
	int capents;
} CapBuilder;

static void cap_entry(CapBuilder *b, int to, uint32_t set, uint32_t clr)
{
	RegexCaps *rc = b->rc;
	if (rc->nents == b->capents) {
		b->capents = b->capents ? 2 * b->capents : 64;
		rc->to = xrealloc(rc->to, (size_t)b->capents * sizeof *rc->to);
		rc->set = xrealloc(rc->set, (size_t)b->capents * sizeof *rc->set);
		rc->clr = xrealloc(rc->clr, (size_t)b->capents * sizeof *rc->clr);
	}
	rc->to[rc->nents] = (uint16_t)to;
	rc->set[rc->nents] = set;
	rc->clr[rc->nents] = clr;
	rc->nents++;
}

/* The threads reached from NFA state `from` by empty moves, in priority
 * order (a depth-first walk, the preferred successor first; a state is
 * entered once, by the first path that reaches it), each with what its
 * path did to the slots. */
static void cap_closure(CapBuilder *b, int from, bool bol, bool eol)
{
	int sp = 0;
	b->stamp++;
	b->stack[sp++] = (struct CapItem){from, 0, 0};
	while (sp > 0) {
		struct CapItem it = b->stack[--sp];
		if (it.st < 0 || b->mark[it.st] == b->stamp)
			continue;
		b->mark[it.st] = b->stamp;
		const NState *st = &b->nfa->st[it.st];
		switch (st->kind) {
		case N_SPLIT:
			b->stack[sp++] = (struct CapItem){st->out1, it.set, it.clr};
			b->stack[sp++] = (struct CapItem){st->out, it.set, it.clr};
			break;
		case N_EPS:
			b->stack[sp++] = (struct CapItem){st->out, it.set, it.clr};
			break;
		case N_SAVE:
			b->stack[sp++] = (struct CapItem){st->out, it.set | 1u << st->set, it.clr & ~(1u << st->set)};
			break;
		case N_RESET: {
			uint32_t bits = 0;
			for (int g = st->set; g <= st->last; g++)
				bits |= 3u << (2 * g);
			b->stack[sp++] = (struct CapItem){st->out, it.set & ~bits, it.clr | bits};
			break;
		}
		case N_BOL:
			if (bol)
				b->stack[sp++] = (struct CapItem){st->out, it.set, it.clr};
			break;
		case N_EOL:
			if (eol)
				b->stack[sp++] = (struct CapItem){st->out, it.set, it.clr};
			break;
		case N_SET:
		case N_MATCH:
			cap_entry(b, b->thread[it.st], it.set, it.clr);
			break;
		}
	}
}

#define STP_STR_(x) #x
#define STP_XSTR(x) STP_STR_(x)

static bool caps_fail(RegexError *err, const char *fmt, int n)
{
	err->pos = -1;
	snprintf(err->msg, sizeof err->msg, fmt, n);
	return false;
}

bool regex_caps(Regex *re, const char *pat, size_t len, RegexError *err)
{
	memset(err, 0, sizeof *err);
	if (re->caps)
		return true;
	if (re->ngroups > REGEX_CAP_MAX_GROUPS)
		return caps_fail(err, "regex has too many subexpressions for matched(): at most %d",
				 REGEX_CAP_MAX_GROUPS - 1);
	Compiler c = {.pat = (const unsigned char *)pat, .len = len, .err = err};
	RxNode *tree = parse_alternation(&c);
	if (c.failed || !tree || !at_end(&c)) {
		compiler_free(&c);
		return caps_fail(err, "regex compilation error (%d)", (int)c.pos);
	}
	Nfa nfa = {.caps = true};
	int match = nfa_add(&nfa, N_MATCH, -1, -1, -1);
	int end = nfa_add(&nfa, N_SAVE, 1, match, -1);
	int start = nfa_add(&nfa, N_SAVE, 0, nfa_build(&nfa, tree, end), -1);
	uint8_t classmap[256];
	int rep[257];
	int ncls = byte_classes(c.sets, c.nsets, classmap, rep);
	int *thread = xmalloc((size_t)(nfa.n ? nfa.n : 1) * sizeof *thread);
	int nthreads = 0;
	for (int i = 0; i < nfa.n; i++)
		thread[i] = nfa.st[i].kind == N_SET ? nthreads++ : -1;
	thread[match] = nthreads++;
	bool ok = !nfa.too_big && nthreads <= REGEX_CAP_MAX_THREADS && ncls == re->nclasses &&
		  !memcmp(classmap, re->classmap, sizeof classmap);
	RegexCaps *rc = xcalloc(1, sizeof *rc);
	if (ok) {
		rc->nthreads = nthreads;
		rc->nslots = 2 * re->ngroups;
		rc->nclosures = 2 * nthreads + 4;
		rc->acc = xcalloc((size_t)nthreads * (size_t)ncls, 1);
		rc->first = xcalloc((size_t)rc->nclosures + 1, sizeof *rc->first);
		CapBuilder b = {.nfa = &nfa, .thread = thread, .rc = rc};
		b.mark = xcalloc((size_t)nfa.n, sizeof *b.mark);
		b.stack = xmalloc((size_t)(2 * nfa.n + 2) * sizeof *b.stack);
		for (int i = 0; i < nfa.n; i++) {
			int t = thread[i];
			if (nfa.st[i].kind != N_SET)
				continue;
			for (int k = 0; k + 1 < ncls; k++)
				rc->acc[t * ncls + k] = set_has(&c.sets[nfa.st[i].set], (unsigned)rep[k]);
		}
		for (int cl = 0; cl < rc->nclosures; cl++) {
			rc->first[cl] = (uint16_t)rc->nents;
			int t = cl / 2;
			bool eol = cl & 1, bol = cl >= 2 * nthreads + 2;
			int from = cl >= 2 * nthreads ? start : -1;
			for (int i = 0; i < nfa.n && from < 0 && t < nthreads - 1; i++)
				if (thread[i] == t)
					from = nfa.st[i].out;
			if (from >= 0)
				cap_closure(&b, from, bol, eol);
			if (rc->nents > 60000)
				break;
		}
		rc->first[rc->nclosures] = (uint16_t)rc->nents;
		/* the walk's steps at one byte (stp_re_caps_cb): the start, the start's
		 * closure and its end, each thread and, for one that took the byte,
		 * its closure and its end, the turn */
		int most_start = 0, most = 0;
		for (int cl = 2 * nthreads; cl < rc->nclosures; cl++)
			if (rc->first[cl + 1] - rc->first[cl] > most_start)
				most_start = rc->first[cl + 1] - rc->first[cl];
		for (int t = 0; t < nthreads; t++) {
			int a = rc->first[2 * t + 1] - rc->first[2 * t], z = rc->first[2 * t + 2] - rc->first[2 * t + 1];
			most += 2 + (a > z ? a : z);
		}
		rc->steps = 3 + most_start + most;
		ok = rc->nents <= 60000 && rc->steps <= REGEX_CAP_MAX_STEPS;
		free(b.mark);
		free(b.stack);
	}
	free(thread);
	free(nfa.st);
	compiler_free(&c);
	re->caps = rc;
	if (!ok) {
		caps_free(re);
		return caps_fail(err, "regex too complex for matched(): its sub-match pass would need more than "
				      "%d states that take a byte or " STP_XSTR(REGEX_CAP_MAX_STEPS) " steps per byte",
				 REGEX_CAP_MAX_THREADS - 1);
	}
	return true;
}

/* ------------------------------------------------------------ interface */

static void compiler_free(Compiler *c)
{
	for (int i = 0; i < c->nnodes; i++)
		free(c->nodes[i]);
	free(c->nodes);
	free(c->sets);
}

bool regex_compile(Regex *re, const char *pat, size_t len, RegexError *err)
{
	memset(re, 0, sizeof *re);
	memset(err, 0, sizeof *err);
	Compiler c = {.pat = (const unsigned char *)pat, .len = len, .err = err};
	RxNode *tree = parse_alternation(&c);
	if (!c.failed && !at_end(&c))
		fail_at(&c, (int)c.pos, "unexpected '%c'", peek(&c));
	if (c.failed || !tree) {
		compiler_free(&c);
		return false;
	}
	re->ngroups = c.ngroups + 1;
	Nfa nfa = {0};
	int match = nfa_add(&nfa, N_MATCH, -1, -1, -1);
	int start = nfa_build(&nfa, tree, match);
	bool ok = !nfa.too_big && build_dfa(re, &nfa, start, c.sets, c.nsets);
	free(nfa.st);
	compiler_free(&c);
	if (!ok) {
		err->pos = -1;
		snprintf(err->msg, sizeof err->msg,
			 "regex too complex: its automaton would need more than %d states or %d table cells",
			 REGEX_MAX_STATES, REGEX_MAX_CELLS);
		regex_free(re);
		return false;
	}
	return true;
}

static void caps_free(Regex *re)
{
	if (re->caps) {
		free(re->caps->acc);
		free(re->caps->first);
		free(re->caps->to);
		free(re->caps->set);
		free(re->caps->clr);
		free(re->caps);
		re->caps = NULL;
	}
}

void regex_free(Regex *re)
{
	free(re->next);
	re->next = NULL;
	caps_free(re);
}

bool regex_search(const Regex *re, const char *s)
{
	int st = re->start;
	for (const unsigned char *p = (const unsigned char *)s; st > REGEX_FOUND; p++) {
		st = re->next[st * re->nclasses + re->classmap[*p]];
		if (!*p)
			break;
	}
	return st == REGEX_FOUND;
}

size_t regex_table_mask(const Regex *re)
{
	size_t cells = (size_t)re->nstates * (size_t)re->nclasses, size = 1;
	while (size < cells)
		size *= 2;
	return size - 1;
}

/* The tables as C for the generated units: stp_reN_classes (256 bytes)
 * and stp_reN_next, padded with zeros (no match) to a power of two so
 * that the kernel's index can be masked into bounds. */
void regex_emit_c(const Regex *re, int id, StrBuf *out)
{
	size_t cells = (size_t)re->nstates * (size_t)re->nclasses, size = regex_table_mask(re) + 1;
	sb_printf(out, "static const uint8_t stp_re%d_classes[256] = {", id);
	for (int i = 0; i < 256; i++)
		sb_printf(out, "%s%d", !i ? "\n\t" : i % 32 ? "," : ",\n\t", re->classmap[i]);
	sb_printf(out, "\n};\nstatic const uint16_t stp_re%d_next[%zu] = {", id, size);
	for (size_t i = 0; i < cells; i++)
		sb_printf(out, "%s%d", !i ? "\n\t" : i % 16 ? "," : ",\n\t", re->next[i]);
	sb_puts(out, "\n};\n");
}

static size_t pow2_cells(size_t n)
{
	size_t size = 1;
	while (size < n)
		size *= 2;
	return size;
}

static void emit_u32s(StrBuf *out, const char *type, const char *name, int id, const void *v, int elt, size_t n)
{
	size_t size = pow2_cells(n);
	sb_printf(out, "static const %s stp_re%d_%s[%zu] = {", type, id, name, size);
	for (size_t i = 0; i < n; i++) {
		unsigned x = elt == 1 ? ((const uint8_t *)v)[i] : elt == 2 ? ((const uint16_t *)v)[i]
								       : ((const uint32_t *)v)[i];
		sb_printf(out, "%s%u", !i ? "\n\t" : i % 16 ? "," : ",\n\t", x);
	}
	sb_puts(out, "\n};\n");
}

/* The sub-match tables, each padded with zeros to a power of two so that
 * the kernel's index can be masked into bounds. */
void regex_emit_caps_c(const Regex *re, int id, StrBuf *out)
{
	const RegexCaps *rc = re->caps;
	emit_u32s(out, "uint8_t", "acc", id, rc->acc, 1, (size_t)rc->nthreads * (size_t)re->nclasses);
	emit_u32s(out, "uint16_t", "first", id, rc->first, 2, (size_t)rc->nclosures + 1);
	emit_u32s(out, "uint16_t", "to", id, rc->to, 2, (size_t)rc->nents);
	emit_u32s(out, "uint32_t", "set", id, rc->set, 4, (size_t)rc->nents);
	emit_u32s(out, "uint32_t", "clr", id, rc->clr, 4, (size_t)rc->nents);
}

char *regex_caps_args(const Regex *re, int id)
{
	const RegexCaps *rc = re->caps;
	return xasprintf("stp_re%d_classes, stp_re%d_acc, stp_re%d_first, stp_re%d_to, "
			 "stp_re%d_set, stp_re%d_clr, %d, %d, %d, %zu, %zu, %zu, %d",
			 id, id, id, id, id, id, re->nclasses, rc->nthreads, rc->nslots,
			 pow2_cells((size_t)rc->nthreads * (size_t)re->nclasses) - 1, pow2_cells((size_t)rc->nclosures + 1) - 1,
			 pow2_cells((size_t)rc->nents) - 1, rc->steps);
}
