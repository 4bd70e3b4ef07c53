/* test_regex_caps.c - the sub-match pass of =~ (matched(), ngroups()):
 * the tables of regex_caps (src/translate/regex.c) walked by the
 * runtime's own code (stp_regex_caps, runtime/target/stp_string.h, here
 * with the host's plain loops), against a brute-force reference that
 * tries every way a random pattern can match, in priority order, and
 * against glibc's POSIX matcher for the whole match. */
#include <sched.h>
#define STP_STRLEN 64
#define STP_HZ 250
#define STP_STRBUF 64
#define STP_RE_THREADS REGEX_CAP_MAX_THREADS
#define STP_RE_SLOTS (2 * REGEX_CAP_MAX_GROUPS)
#include "translate/regex.h"
#include "target/stp_host.h"
#include "unit.h"

#include <regex.h>
#include <stdlib.h>

/* ------------------------------------------------------ the runtime's walk */

/* matched(0 .. ngroups-1) as "s0,e0 s1,e1 ..." (-1: unset), or "nomatch",
 * or "error: why" */
static void walk(const char *pat, const char *s, char *out, size_t size)
{
	Regex re;
	RegexError err;
	if (!regex_compile(&re, pat, strlen(pat), &err) || !regex_caps(&re, pat, strlen(pat), &err)) {
		snprintf(out, size, "error: %s", err.msg);
		if (re.next)
			regex_free(&re);
		return;
	}
	const RegexCaps *rc = re.caps;
	size_t acc = 1, first = 1, ents = 1;
	while (acc < (size_t)rc->nthreads * (size_t)re.nclasses)
		acc *= 2;
	while (first < (size_t)rc->nclosures + 1)
		first *= 2;
	while (ents < (size_t)rc->nents)
		ents *= 2;
	/* the runtime masks its indexes: tables padded as regex_emit_caps_c does */
	uint8_t *a = calloc(acc, 1);
	uint16_t *f = calloc(first, 2), *to = calloc(ents, 2);
	uint32_t *set = calloc(ents, 4), *clr = calloc(ents, 4);
	memcpy(a, rc->acc, (size_t)rc->nthreads * (size_t)re.nclasses);
	memcpy(f, rc->first, ((size_t)rc->nclosures + 1) * 2);
	memcpy(to, rc->to, (size_t)rc->nents * 2);
	memcpy(set, rc->set, (size_t)rc->nents * 4);
	memcpy(clr, rc->clr, (size_t)rc->nents * 4);
	int m = regex_search(&re, s);
	stp_regex_caps(s, m, re.classmap, a, f, to, set, clr, (uint64_t)re.nclasses, (uint64_t)rc->nthreads,
		       (uint64_t)rc->nslots, acc - 1, first - 1, ents - 1, (uint64_t)rc->steps);
	int64_t n = stp_re_ngroups();
	size_t o = 0;
	out[0] = 0;
	if (!m)
		snprintf(out, size, n ? "nomatch but groups" : "nomatch");
	for (int64_t g = 0; m && g < n && o < size; g++)
		o += (size_t)snprintf(out + o, size - o, "%s%d,%d", g ? " " : "", stp_re_caps()->slot[2 * g],
				      stp_re_caps()->slot[2 * g + 1]);
	if (m && !n)
		snprintf(out, size, "match but no groups");
	free(a), free(f), free(to), free(set), free(clr);
	regex_free(&re);
}

static void check_walk(const char *unit_name, const char *pat, const char *s, const char *want)
{
	char got[512];
	walk(pat, s, got, sizeof got);
	if (strcmp(got, want)) {
		if (!unit_failed_now)
			printf("FAIL %s: \"%s\" =~ \"%s\": got \"%s\", want \"%s\"\n", unit_name, s, pat, got, want);
		unit_failed_now = 1;
	}
}

/* Cases where the rules one could choose differ: each pins ours down. */
TEST(rules)
{
	check_walk(unit_name, "str(ing)", "an example string", "11,17 14,17");
	/* leftmost, then longest: not the first alternative */
	check_walk(unit_name, "a|ab|abc", "xabcd", "1,4");
	/* among the longest, the left alternative first (POSIX: (ab)(c)(d)) */
	check_walk(unit_name, "(a|ab)(c|bcd)(d*)", "abcd", "0,4 0,1 1,4 4,4");
	/* a repetition is greedy: the first group takes what it can */
	check_walk(unit_name, "(a*)(a*)", "aaa", "0,3 0,3 3,3");
	check_walk(unit_name, "(a*)+", "b", "0,0 0,0");
	/* the last iteration, and a group in it only from that iteration */
	check_walk(unit_name, "(a|b)*", "ab", "0,2 1,2");
	check_walk(unit_name, "((a)|b)*", "ab", "0,2 1,2 -1,-1");
	check_walk(unit_name, "((a)|b)*", "ba", "0,2 1,2 1,2");
	check_walk(unit_name, "(x(y)?)+", "xyx", "0,3 2,3 -1,-1");
	/* a group that does not take part */
	check_walk(unit_name, "(a)|(b)", "b", "0,1 -1,-1 0,1");
	check_walk(unit_name, "(a)|b", "b", "0,1 -1,-1");
	/* nested */
	check_walk(unit_name, "((a)(b(c)))", "abc", "0,3 0,3 0,1 1,3 2,3");
	/* anchors */
	check_walk(unit_name, "^(a+)$", "aaa", "0,3 0,3");
	check_walk(unit_name, "(^a|b)(c$|d)", "xbc", "1,3 1,2 2,3");
	check_walk(unit_name, "()$", "ab", "2,2 2,2");
	check_walk(unit_name, "^()", "ab", "0,0 0,0");
	check_walk(unit_name, "x*", "ab", "0,0");
	check_walk(unit_name, "(b|ab)c", "abc", "0,3 0,2");
	check_walk(unit_name, "a{2}(a{0,2})", "aaaaa", "0,4 2,4");
	check_walk(unit_name, "(a|)+b", "aab", "0,3 1,2");
	check_walk(unit_name, "abc", "ab", "nomatch");
	/* at the end of the longest string (STP_STRLEN - 1 bytes) */
	char longs[STP_STRLEN];
	memset(longs, 'x', sizeof longs - 3);
	memcpy(longs + sizeof longs - 3, "yz", 3);
	check_walk(unit_name, "(y)(z)$", longs, "61,63 61,62 62,63");
}

TEST(limits)
{
	char got[512];
	walk("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)", "abcdefghijklmno", got, sizeof got);
	CHECK(!strncmp(got, "0,15 0,1 1,2", 12));
	walk("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)", "x", got, sizeof got);
	CHECK_STR(got, "error: regex has too many subexpressions for matched(): at most 15");
	walk("[a-z]{70}", "x", got, sizeof got);
	CHECK(!strncmp(got, "error: regex too complex for matched()", 38));
}

/* ------------------------------------------------------ the reference */

typedef enum { T_CHAR, T_DOT, T_BOL, T_EOL, T_CAT, T_ALT, T_GROUP, T_REP } TKind;

typedef struct T {
	TKind kind;
	char ch;
	struct T *a, *b;
	int min, max, group, glo, ghi; /* glo..ghi: the groups inside (REP) */
} T;

static T pool[256];
static int npool, ngroups;
static unsigned rng = 12345;

static unsigned rnd(unsigned n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 16) % n;
}

static T *mk(TKind k)
{
	T *t = &pool[npool++];
	memset(t, 0, sizeof *t);
	t->kind = k;
	return t;
}

static T *gen_alt(int depth);

static T *gen_atom(int depth)
{
	unsigned r = rnd(depth > 0 ? 10 : 7);
	T *t;
	if (r < 4) {
		t = mk(T_CHAR);
		t->ch = "aab"[rnd(3)];
	} else if (r == 4) {
		t = mk(T_DOT);
	} else if (r == 5) {
		return mk(rnd(2) ? T_BOL : T_EOL);
	} else if (r == 6) {
		t = mk(T_CHAR);
		t->ch = 'b';
	} else {
		t = mk(T_GROUP);
		t->group = ++ngroups;
		t->a = gen_alt(depth - 1);
	}
	if (rnd(3) == 0) {
		T *r2 = mk(T_REP);
		r2->a = t;
		static const int forms[][2] = {{0, -1}, {1, -1}, {0, 1}, {2, 2}, {1, 2}, {0, 2}, {2, -1}};
		int f = (int)rnd(7);
		r2->min = forms[f][0];
		r2->max = forms[f][1];
		r2->glo = ngroups + 1;
		/* groups inside t were numbered before: find them */
		r2->glo = t->kind == T_GROUP ? t->group : 1;
		r2->ghi = t->kind == T_GROUP ? ngroups : 0;
		return r2;
	}
	return t;
}

static T *gen_cat(int depth)
{
	T *t = gen_atom(depth);
	for (int n = (int)rnd(3); n > 0; n--) {
		T *c = mk(T_CAT);
		c->a = t;
		c->b = gen_atom(depth);
		t = c;
	}
	return t;
}

static T *gen_alt(int depth)
{
	T *t = gen_cat(depth);
	if (rnd(3) == 0) {
		T *c = mk(T_ALT);
		c->a = t;
		c->b = gen_cat(depth);
		t = c;
	}
	return t;
}

static void print_t(const T *t, char *out, size_t *o)
{
	switch (t->kind) {
	case T_CHAR: out[(*o)++] = t->ch; break;
	case T_DOT: out[(*o)++] = '.'; break;
	case T_BOL: out[(*o)++] = '^'; break;
	case T_EOL: out[(*o)++] = '$'; break;
	case T_CAT: print_t(t->a, out, o); print_t(t->b, out, o); break;
	case T_ALT: print_t(t->a, out, o); out[(*o)++] = '|'; print_t(t->b, out, o); break;
	case T_GROUP: out[(*o)++] = '('; print_t(t->a, out, o); out[(*o)++] = ')'; break;
	case T_REP:
		print_t(t->a, out, o);
		if (t->min == 0 && t->max < 0)
			out[(*o)++] = '*';
		else if (t->min == 1 && t->max < 0)
			out[(*o)++] = '+';
		else if (t->min == 0 && t->max == 1)
			out[(*o)++] = '?';
		else if (t->max < 0)
			*o += (size_t)sprintf(out + *o, "{%d,}", t->min);
		else if (t->min == t->max)
			*o += (size_t)sprintf(out + *o, "{%d}", t->min);
		else
			*o += (size_t)sprintf(out + *o, "{%d,%d}", t->min, t->max);
		break;
	}
	out[*o] = 0;
}

/* The continuation of a backtracking match: what is left to match. */
typedef enum { K_NODE, K_CLOSE, K_REP, K_STAR_CHECK, K_DONE } KKind;
typedef struct K {
	KKind kind;
	const T *t;
	int count, from;
	const struct K *next;
} K;

static const char *subj;
static int slots[64], best_end, best[64];

static void bt(const K *k, int pos);

static void rep_step(const T *t, int count, int pos, const K *next)
{
	/* an iteration starts with the groups inside unset */
	int saved[64];
	memcpy(saved, slots, sizeof saved);
	if (count < t->min || t->max < 0 || count < t->max)
		for (int g = t->glo; g <= t->ghi; g++)
			slots[2 * g] = slots[2 * g + 1] = -1;
	if (count < t->min) {
		K k2 = {K_REP, t, count + 1, -1, next};
		K k1 = {K_NODE, t->a, 0, 0, &k2};
		bt(&k1, pos);
		memcpy(slots, saved, sizeof saved);
		return;
	}
	if (t->max < 0 || count < t->max) {
		/* one more iteration first; one of * or + must consume a byte */
		K k2 = {t->max < 0 ? K_STAR_CHECK : K_REP, t, count + 1, pos, next};
		K k1 = {K_NODE, t->a, 0, 0, &k2};
		bt(&k1, pos);
		memcpy(slots, saved, sizeof saved);
	}
	bt(next, pos);
}

static void bt(const K *k, int pos)
{
	const T *t = k->t;
	int save;
	switch (k->kind) {
	case K_DONE:
		if (pos > best_end) {
			best_end = pos;
			memcpy(best, slots, sizeof best);
			best[1] = pos;
		}
		return;
	case K_CLOSE:
		save = slots[2 * k->count + 1];
		slots[2 * k->count + 1] = pos;
		bt(k->next, pos);
		slots[2 * k->count + 1] = save;
		return;
	case K_REP:
		rep_step(t, k->count, pos, k->next);
		return;
	case K_STAR_CHECK:
		if (pos > k->from)
			rep_step(t, k->count, pos, k->next);
		return;
	case K_NODE:
		break;
	}
	switch (t->kind) {
	case T_CHAR:
		if (subj[pos] == t->ch)
			bt(k->next, pos + 1);
		break;
	case T_DOT:
		if (subj[pos])
			bt(k->next, pos + 1);
		break;
	case T_BOL:
		if (pos == 0)
			bt(k->next, pos);
		break;
	case T_EOL:
		if (!subj[pos])
			bt(k->next, pos);
		break;
	case T_CAT: {
		K kb = {K_NODE, t->b, 0, 0, k->next};
		K ka = {K_NODE, t->a, 0, 0, &kb};
		bt(&ka, pos);
		break;
	}
	case T_ALT: {
		K ka = {K_NODE, t->a, 0, 0, k->next};
		K kb = {K_NODE, t->b, 0, 0, k->next};
		bt(&ka, pos);
		bt(&kb, pos);
		break;
	}
	case T_GROUP: {
		int s0 = slots[2 * t->group];
		slots[2 * t->group] = pos;
		K kc = {K_CLOSE, NULL, t->group, 0, k->next};
		K ki = {K_NODE, t->a, 0, 0, &kc};
		bt(&ki, pos);
		slots[2 * t->group] = s0;
		break;
	}
	case T_REP:
		rep_step(t, 0, pos, k->next);
		break;
	}
}

static void reference(const T *tree, const char *s, char *out, size_t size)
{
	subj = s;
	int len = (int)strlen(s);
	for (int start = 0; start <= len; start++) {
		for (int i = 0; i < 64; i++)
			slots[i] = -1;
		slots[0] = start;
		best_end = -1;
		K done = {K_DONE, NULL, 0, 0, NULL};
		K k = {K_NODE, tree, 0, 0, &done};
		bt(&k, start);
		if (best_end >= 0) {
			size_t o = 0;
			for (int g = 0; g <= ngroups && o < size; g++)
				o += (size_t)snprintf(out + o, size - o, "%s%d,%d", g ? " " : "", best[2 * g],
						      best[2 * g + 1]);
			return;
		}
	}
	snprintf(out, size, "nomatch");
}

/* Random patterns over {a, b} and strings up to 6 bytes: the walk, the
 * reference and (the whole match) glibc agree. */
TEST(agrees_with_reference)
{
	int compared = 0;
	for (int iter = 0; iter < 3000 && !unit_failed_now; iter++) {
		npool = ngroups = 0;
		T *tree = gen_alt(2);
		char pat[256];
		size_t o = 0;
		print_t(tree, pat, &o);
		if (ngroups + 1 > REGEX_CAP_MAX_GROUPS)
			continue;
		regex_t posix;
		if (regcomp(&posix, pat, REG_EXTENDED) != 0)
			continue;
		for (int n = 0; n < 12 && !unit_failed_now; n++) {
			char s[8];
			int len = (int)rnd(7);
			for (int i = 0; i < len; i++)
				s[i] = "abc"[rnd(3)];
			s[len] = 0;
			char want[512], got[512];
			reference(tree, s, want, sizeof want);
			walk(pat, s, got, sizeof got);
			if (!strncmp(got, "error: regex too complex", 24))
				break; /* limits covers it */
			if (strcmp(got, want)) {
				printf("FAIL %s: \"%s\" =~ \"%s\": got \"%s\", reference \"%s\"\n", unit_name, s, pat, got,
				       want);
				unit_failed_now = 1;
				break;
			}
			compared++;
			/* glibc's anchors inside groups and repetitions are not POSIX's
			 * ("($.){0,2}a" matches "ca" there): the reference covers them */
			if (strpbrk(pat, "^$"))
				continue;
			regmatch_t pm[1];
			char whole[64] = "nomatch";
			if (regexec(&posix, s, 1, pm, 0) == 0)
				snprintf(whole, sizeof whole, "%d,%d", (int)pm[0].rm_so, (int)pm[0].rm_eo);
			size_t wl = strlen(whole);
			if (strncmp(got, whole, wl) || (got[wl] && got[wl] != ' ')) {
				printf("FAIL %s: \"%s\" =~ \"%s\": got \"%s\", glibc's whole match \"%s\"\n", unit_name, s,
				       pat, got, whole);
				unit_failed_now = 1;
				break;
			}
		}
		regfree(&posix);
	}
	CHECK(compared > 20000);
}

int main(void)
{
	RUN(rules);
	RUN(limits);
	RUN(agrees_with_reference);
	return unit_failures != 0;
}
