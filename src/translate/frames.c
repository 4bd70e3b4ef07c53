/* frames.c - keep each BPF program within the verifier's 8 call frames.
 *
 * The verifier lets a program nest at most MAX_CALL_FRAMES (8) frames:
 * the program itself, each BPF-to-BPF call (a handler stp_probe_N, a
 * script function stp_fn_N, a runtime function that is not inlined) and
 * each callback a helper runs (bpf_loop bodies of while/for/foreach, the
 * runtime's string walks, bpf_for_each_map_elem copies).  Past that, the
 * whole module fails to load with "the call stack of 9 frames is too
 * deep".
 *
 * Which functions are frames is decided by the C text, so that is what
 * is measured: the finished BPF unit and the runtime headers it includes
 * ("..." includes, followed from runtime/ and runtime/target/) are read
 * as a list of top-level definitions, each with the names its body
 * mentions.  A function is a frame of its own unless it is declared
 * inline (clang inlines those here); a macro is never one, but what its
 * body mentions counts where it is used.  The depth of a program is one
 * plus the deepest path through what it mentions.
 *
 * A program deeper than the limit gets script functions inlined
 * (`static __always_inline`), one at a time, from its deepest chain,
 * until it fits: the chain's function with the fewest call sites first
 * (one call site costs no code: its body moves into the caller), then
 * the smallest; when no script function is left on the chain, the
 * handler goes into its programs.  Nothing changes where the depth fits:
 * the verifier walks a static subprogram once per call site anyway, so
 * inlining saves it little (measured: +-5% of the instructions it
 * processes) while the code grows with every call site (ns_uid() with
 * everything inlined: 48 KB of instructions instead of 17 KB, three
 * times the compile time) and the inlined locals land on the caller's
 * 512-byte stack.  Inlining keeps the behaviour: a function's locals
 * stay in its stp_frames entry, its `goto out` and return paths stay
 * within its body, and errors still travel through K->error and the
 * frame's errmsg.
 *
 * Loop bodies cannot be inlined: when a chain still does not fit, pass 3
 * fails naming the probe and the chain.  Recursion in a kernel handler
 * fails too (a function has one frame in stp_frames, and the verifier
 * refuses a program that calls itself).
 *
 * The reading of C is shallow: a `static inline` runtime function that
 * clang chose not to inline would be a frame not counted, and then the
 * verifier, not pass 3, says the program is too deep.
 */
#include "translate.h"

#include <stdlib.h>
#include <string.h>

#define BPF_MAX_CALL_FRAMES 8

typedef struct CDef {
	char *name;
	bool frame;           /* a subprogram (or callback) of its own */
	bool root;            /* a program: SEC("...") */
	bool is_macro;
	Vec raw;              /* char*: identifiers its body mentions */
	Vec refs;             /* CDef*: those that are definitions */
	size_t size;          /* body text, in bytes */
	int callers;          /* mentions from other bodies */
	int depth;            /* memo: -1 not yet, -2 in progress */
	struct CDef *deepest; /* the mention on its deepest path */
	struct CDef *next;    /* hash chain */
} CDef;

#define NBUCKETS 4096

typedef struct Defs {
	CDef *bucket[NBUCKETS];
	Vec all;      /* CDef* in order of definition */
	Vec files;    /* char*: headers already read */
	const char *rtdir;
} Defs;

static CDef *def_find(Defs *d, const char *name, size_t n)
{
	uint64_t h = hash64(name, n, 0) % NBUCKETS;
	for (CDef *c = d->bucket[h]; c; c = c->next)
		if (!strncmp(c->name, name, n) && !c->name[n])
			return c;
	return NULL;
}

/* A name defined twice (host and BPF halves of a shared header) is one
 * definition: what either body mentions, a frame if either is one. */
static CDef *def_get(Defs *d, const char *name, size_t n)
{
	CDef *c = def_find(d, name, n);
	if (c)
		return c;
	c = xcalloc(1, sizeof *c);
	c->name = xstrndup(name, n);
	c->depth = -1;
	uint64_t h = hash64(name, n, 0) % NBUCKETS;
	c->next = d->bucket[h];
	d->bucket[h] = c;
	vec_push(&d->all, c);
	return c;
}

/* ------------------------------------------------------ reading C */

typedef enum { CT_END, CT_IDENT, CT_PUNCT, CT_OTHER } CTokKind;

typedef struct Scan {
	const char *p, *end;
	bool line_start;
	Defs *defs;
} Scan;

typedef struct CTok {
	CTokKind kind;
	const char *s;
	size_t n;
} CTok;

static bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

static void read_header(Defs *d, const char *name);

/* The identifiers of a text (a macro body), strings and comments left out. */
static void collect_idents(const char *p, const char *end, Vec *out)
{
	while (p < end) {
		if (*p == '"' || *p == '\'') {
			char q = *p++;
			while (p < end && *p != q)
				p += *p == '\\' ? 2 : 1;
			p++;
		} else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			p = e && e < end ? e + 2 : end;
		} else if (is_ident_start(*p)) {
			const char *s = p;
			while (p < end && is_ident_char(*p))
				p++;
			vec_push(out, xstrndup(s, (size_t)(p - s)));
		} else if (*p >= '0' && *p <= '9') {
			while (p < end && is_ident_char(*p))
				p++;
		} else {
			p++;
		}
	}
}

/* #include "X" reads X; #define NAME ... records a macro. */
static void directive(Scan *sc)
{
	const char *s = sc->p;
	while (sc->p < sc->end && !(*sc->p == '\n' && sc->p[-1] != '\\'))
		sc->p++;
	const char *e = sc->p;
	s++; /* '#' */
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (!strncmp(s, "include", 7)) {
		const char *q = memchr(s, '"', (size_t)(e - s));
		const char *qe = q ? memchr(q + 1, '"', (size_t)(e - q - 1)) : NULL;
		if (qe) {
			char *name = xstrndup(q + 1, (size_t)(qe - q - 1));
			read_header(sc->defs, name);
			free(name);
		}
	} else if (!strncmp(s, "define", 6)) {
		s += 6;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		const char *n = s;
		while (s < e && is_ident_char(*s))
			s++;
		if (s == n)
			return;
		CDef *m = def_get(sc->defs, n, (size_t)(s - n));
		m->is_macro = true;
		if (s < e && *s == '(') { /* the parameters are not mentions */
			const char *c = memchr(s, ')', (size_t)(e - s));
			s = c ? c + 1 : e;
		}
		collect_idents(s, e, &m->raw);
		m->size += (size_t)(e - s);
	}
}

static CTok next_tok(Scan *sc)
{
	for (;;) {
		if (sc->p >= sc->end)
			return (CTok){CT_END, sc->p, 0};
		char c = *sc->p;
		if (c == '\n') {
			sc->line_start = true;
			sc->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\\') {
			sc->p++;
		} else if (c == '#' && sc->line_start) {
			directive(sc);
		} else if (c == '/' && sc->p + 1 < sc->end && sc->p[1] == '*') {
			const char *e = strstr(sc->p + 2, "*/");
			sc->p = e ? e + 2 : sc->end;
		} else if (c == '/' && sc->p + 1 < sc->end && sc->p[1] == '/') {
			while (sc->p < sc->end && *sc->p != '\n')
				sc->p++;
		} else {
			break;
		}
	}
	sc->line_start = false;
	const char *s = sc->p;
	char c = *sc->p;
	if (c == '"' || c == '\'') {
		sc->p++;
		while (sc->p < sc->end && *sc->p != c)
			sc->p += *sc->p == '\\' ? 2 : 1;
		sc->p++;
		if (sc->p > sc->end)
			sc->p = sc->end;
		return (CTok){CT_OTHER, s, (size_t)(sc->p - s)};
	}
	if (is_ident_start(c)) {
		while (sc->p < sc->end && is_ident_char(*sc->p))
			sc->p++;
		return (CTok){CT_IDENT, s, (size_t)(sc->p - s)};
	}
	if (c >= '0' && c <= '9') {
		while (sc->p < sc->end && (is_ident_char(*sc->p) || *sc->p == '.'))
			sc->p++;
		return (CTok){CT_OTHER, s, (size_t)(sc->p - s)};
	}
	sc->p++;
	return (CTok){CT_PUNCT, s, 1};
}

static bool ctok_is(CTok t, const char *w)
{
	return t.n == strlen(w) && !strncmp(t.s, w, t.n);
}

static bool word_says_inline(Defs *d, CTok t)
{
	if (ctok_is(t, "inline") || ctok_is(t, "__inline") || ctok_is(t, "__always_inline") || ctok_is(t, "always_inline"))
		return true;
	/* an attribute macro of the runtime's own (#define STP_X __always_inline) */
	CDef *m = def_find(d, t.s, t.n);
	if (m && m->is_macro)
		for (int i = 0; i < m->raw.len; i++) {
			const char *w = VEC_AT(&m->raw, i);
			if (!strcmp(w, "inline") || !strcmp(w, "__always_inline") || !strcmp(w, "always_inline"))
				return true;
		}
	return false;
}

static bool word_says_noinline(Defs *d, CTok t)
{
	if (ctok_is(t, "__noinline") || ctok_is(t, "noinline"))
		return true;
	CDef *m = def_find(d, t.s, t.n);
	if (m && m->is_macro)
		for (int i = 0; i < m->raw.len; i++) {
			const char *w = VEC_AT(&m->raw, i);
			if (!strcmp(w, "__noinline") || !strcmp(w, "noinline"))
				return true;
		}
	return false;
}

/* The top-level definitions of a text: a function is a declaration that
 * ends in a parameter list and is followed by a body; its name is the
 * identifier before that list. */
static void scan_text(Defs *d, const char *text, size_t len)
{
	Scan sc = {.p = text, .end = text + len, .line_start = true, .defs = d};
	Vec decl = {0}; /* CTok* since the last ';' or '}' at the top level */
	for (;;) {
		CTok t = next_tok(&sc);
		if (t.kind == CT_END)
			break;
		if (t.kind == CT_PUNCT && (*t.s == ';' || *t.s == '}')) {
			for (int i = 0; i < decl.len; i++)
				free(VEC_AT(&decl, i));
			decl.len = 0;
			continue;
		}
		if (!(t.kind == CT_PUNCT && *t.s == '{')) {
			CTok *c = xmalloc(sizeof *c);
			*c = t;
			vec_push(&decl, c);
			continue;
		}
		/* a '{' at the top level: a function body or an aggregate */
		CDef *fn = NULL;
		int n = decl.len;
		if (n >= 3 && ctok_is(*(CTok *)VEC_AT(&decl, n - 1), ")")) {
			int depth = 0, i = n - 1;
			for (; i >= 0; i--) {
				CTok *k = VEC_AT(&decl, i);
				if (ctok_is(*k, ")"))
					depth++;
				else if (ctok_is(*k, "(") && --depth == 0)
					break;
			}
			CTok *name = i > 0 ? VEC_AT(&decl, i - 1) : NULL;
			if (name && name->kind == CT_IDENT && !ctok_is(*name, "__attribute__")) {
				fn = def_get(d, name->s, name->n);
				bool is_inline = false, is_noinline = false;
				for (int k = 0; k < i - 1; k++) {
					CTok *w = VEC_AT(&decl, k);
					if (w->kind != CT_IDENT)
						continue;
					if (ctok_is(*w, "SEC"))
						fn->root = true;
					is_inline |= word_says_inline(d, *w);
					is_noinline |= word_says_noinline(d, *w);
				}
				fn->frame |= is_noinline || !is_inline || fn->root;
			}
		}
		/* the body (or aggregate) up to its matching '}' */
		const char *body = sc.p;
		int depth = 1;
		bool member = false; /* after '.', '->', struct/union/enum: not a mention */
		while (depth > 0) {
			CTok b = next_tok(&sc);
			if (b.kind == CT_END)
				break;
			if (b.kind == CT_PUNCT) {
				if (*b.s == '{')
					depth++;
				else if (*b.s == '}')
					depth--;
				member = *b.s == '.' || (*b.s == '>' && b.s > body && b.s[-1] == '-');
				continue;
			}
			if (b.kind == CT_IDENT && fn && !member &&
			    !(ctok_is(b, "struct") || ctok_is(b, "union") || ctok_is(b, "enum")))
				vec_push(&fn->raw, xstrndup(b.s, b.n));
			member = b.kind == CT_IDENT && (ctok_is(b, "struct") || ctok_is(b, "union") || ctok_is(b, "enum"));
		}
		if (fn) {
			fn->size += (size_t)(sc.p - body);
			for (int i = 0; i < decl.len; i++)
				free(VEC_AT(&decl, i));
			decl.len = 0;
		}
	}
	for (int i = 0; i < decl.len; i++)
		free(VEC_AT(&decl, i));
	free(decl.data);
}

/* A runtime header the unit includes: runtime/target/ first, then runtime/
 * (as clang's -I order finds them); each is read once. */
static void read_header(Defs *d, const char *name)
{
	for (int i = 0; i < d->files.len; i++)
		if (!strcmp(VEC_AT(&d->files, i), name))
			return;
	vec_push(&d->files, xstrdup(name));
	const char *dirs[] = {"%s/target/%s", "%s/%s"};
	for (int i = 0; i < 2; i++) {
		char *path = xasprintf(dirs[i], d->rtdir, name);
		size_t len;
		char *text = read_file(path, &len);
		free(path);
		if (text) {
			scan_text(d, text, len);
			free(text);
			return;
		}
	}
}

/* ------------------------------------------------------ the graph */

static void resolve_refs(Defs *d)
{
	for (int i = 0; i < d->all.len; i++) {
		CDef *c = VEC_AT(&d->all, i);
		for (int k = 0; k < c->raw.len; k++) {
			const char *w = VEC_AT(&c->raw, k);
			CDef *r = def_find(d, w, strlen(w));
			if (!r)
				continue;
			vec_push(&c->refs, r);
			if (!r->is_macro)
				r->callers++;
		}
	}
}

static void reset_depths(Defs *d)
{
	for (int i = 0; i < d->all.len; i++)
		((CDef *)VEC_AT(&d->all, i))->depth = -1;
}

/* N of a definition named PREFIX followed by the number N, or -1. */
static int numbered(const CDef *c, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(c->name, prefix, n) || !c->name[n])
		return -1;
	char *end;
	long id = strtol(c->name + n, &end, 10);
	return *end ? -1 : (int)id;
}

/* The script function stp_fn_N's N, or -1. */
static int script_fn_id(const CDef *c)
{
	return numbered(c, "stp_fn_");
}

/* The definitions being measured, outermost first; cycle is set to the
 * first recursion found (where on the path it starts). */
typedef struct Walk {
	Vec path;     /* CDef* */
	int cycle;    /* index in path, -1 when none */
	Vec cycle_at; /* CDef*: the recursion's frames, in call order */
} Walk;

static int depth_of(Walk *w, CDef *c)
{
	if (c->depth >= 0)
		return c->depth;
	if (c->depth == -2) {
		/* a recursion: script functions may have one (a runtime name
		 * its own body mentions is no call, as in a struct of that name) */
		if (w->cycle < 0 && script_fn_id(c) >= 0) {
			for (int i = 0; i < w->path.len; i++)
				if (VEC_AT(&w->path, i) == c)
					w->cycle = i;
			for (int i = w->cycle; i >= 0 && i < w->path.len; i++)
				vec_push(&w->cycle_at, VEC_AT(&w->path, i));
			vec_push(&w->cycle_at, c);
		}
		return 0;
	}
	c->depth = -2;
	vec_push(&w->path, c);
	int best = 0;
	c->deepest = NULL;
	for (int i = 0; i < c->refs.len; i++) {
		CDef *r = VEC_AT(&c->refs, i);
		int k = depth_of(w, r);
		if (k > best) {
			best = k;
			c->deepest = r;
		}
	}
	w->path.len--;
	c->depth = best + (c->frame ? 1 : 0);
	return c->depth;
}

/* The handler stp_probe_N's N, or -1. */
static int probe_id(const CDef *c)
{
	return numbered(c, "stp_probe_");
}

/* The loops whose bodies the emitter made callbacks, by callback name. */
typedef struct LoopNote {
	char *callback;
	SrcLoc loc;
} LoopNote;

static Vec loop_notes; /* LoopNote* */

void frames_note_loop(const char *callback, SrcLoc loc)
{
	LoopNote *n = xmalloc(sizeof *n);
	n->callback = xstrdup(callback);
	n->loc = loc;
	vec_push(&loop_notes, n);
}

/* How a frame of the chain reads in a message: script functions by their
 * names, loop bodies by where the loop is, the rest by their C names. */
static char *frame_label(Program *p, const CDef *c)
{
	int id = script_fn_id(c);
	if (id >= 0 && id < p->functions.len)
		return xstrdup(((Func *)VEC_AT(&p->functions, id))->name);
	for (int i = 0; i < loop_notes.len; i++) {
		LoopNote *n = VEC_AT(&loop_notes, i);
		if (!strcmp(n->callback, c->name) && n->loc.file)
			return xasprintf("loop at %s:%d:%d", n->loc.file->name, n->loc.line, n->loc.col);
	}
	return xstrdup(c->name);
}

/* The too-deep chain below the handler: "f -> loop at x.stp:3:2 -> g",
 * script functions on it whether inlined or not, and every other frame. */
static char *chain_text(Program *p, CDef *root, DerivedProbe **dp_out)
{
	StrBuf b = {0};
	*dp_out = NULL;
	for (CDef *c = root; c; c = c->deepest) {
		int pid = probe_id(c);
		if (pid >= 0 && pid < p->probes.len && !*dp_out)
			*dp_out = VEC_AT(&p->probes, pid);
		if (c == root || pid >= 0 || c->is_macro || (!c->frame && script_fn_id(c) < 0))
			continue; /* the program and the handler are the probe's */
		char *l = frame_label(p, c);
		sb_printf(&b, "%s%s", b.len ? " -> " : "", l);
		free(l);
	}
	return sb_steal(&b);
}

/* The frame to give up on a chain that is too deep: a script function
 * still called as a subprogram, with the fewest call sites, then the
 * smallest body; when none is left, the handler (into its programs). */
static CDef *pick_inline(CDef *root)
{
	CDef *best = NULL, *handler = NULL;
	for (CDef *c = root; c; c = c->deepest) {
		if (c->frame && probe_id(c) >= 0 && !handler)
			handler = c;
		if (!c->frame || script_fn_id(c) < 0)
			continue;
		if (!best || c->callers < best->callers || (c->callers == best->callers && c->size < best->size))
			best = c;
	}
	return best ? best : handler;
}

/* text with "static __noinline T NAME(" made "static __always_inline T
 * NAME(" (a function's prototype and definition; T is void or int). */
static char *make_inline(char *text, const char *name)
{
	const char *types[] = {"void", "int"};
	for (int t = 0; t < 2; t++) {
		char *from = xasprintf("static __noinline %s %s(", types[t], name);
		char *to = xasprintf("static __always_inline %s %s(", types[t], name);
		size_t nf = strlen(from);
		StrBuf b = {0};
		const char *p = text, *hit;
		while ((hit = strstr(p, from))) {
			sb_putn(&b, p, (size_t)(hit - p));
			sb_puts(&b, to);
			p = hit + nf;
		}
		sb_puts(&b, p);
		free(from);
		free(to);
		free(text);
		text = sb_steal(&b);
	}
	return text;
}

static void free_defs(Defs *d)
{
	for (int i = 0; i < d->all.len; i++) {
		CDef *c = VEC_AT(&d->all, i);
		for (int k = 0; k < c->raw.len; k++)
			free(VEC_AT(&c->raw, k));
		free(c->raw.data);
		free(c->refs.data);
		free(c->name);
		free(c);
	}
	free(d->all.data);
	for (int i = 0; i < d->files.len; i++)
		free(VEC_AT(&d->files, i));
	free(d->files.data);
}

/* Each script function has one frame in stp_frames, and the verifier
 * refuses a program that calls itself: recursion cannot run in the
 * kernel (it can in begin, end and timer handlers). */
static void report_recursion(Session *s, Program *p, Walk *w)
{
	const char *pp = "?";
	for (int i = 0; i < w->cycle; i++) {
		int id = probe_id(VEC_AT(&w->path, i));
		if (id >= 0 && id < p->probes.len) {
			DerivedProbe *dp = VEC_AT(&p->probes, id);
			pp = dp->npoints ? dp->points[0]->pp : pp;
		}
	}
	StrBuf chain = {0};
	Func *first = NULL;
	for (int i = 0; i < w->cycle_at.len; i++) {
		CDef *c = VEC_AT(&w->cycle_at, i);
		int id = script_fn_id(c);
		if (id < 0 || id >= p->functions.len)
			continue;
		Func *f = VEC_AT(&p->functions, id);
		if (!first)
			first = f;
		sb_printf(&chain, "%s%s", chain.len ? " -> " : "", f->name);
	}
	diag_error(s, first ? first->loc : (SrcLoc){0}, "semantic error",
		   "recursive call chain %s in a kernel handler (probe %s): a BPF program cannot call itself: "
		   "identifier '%s'",
		   chain.s ? chain.s : "?", pp, first ? first->name : "?");
	free(chain.s);
}

int frames_fit(Session *s, Program *p, char **bpf_c)
{
	Defs *d = xcalloc(1, sizeof *d);
	d->rtdir = build_runtime_dir();
	scan_text(d, *bpf_c, strlen(*bpf_c));
	resolve_refs(d);
	int rc = 0;
	Walk w = {.cycle = -1};
	for (;;) {
		reset_depths(d);
		CDef *worst = NULL;
		for (int i = 0; i < d->all.len && w.cycle < 0; i++) {
			CDef *c = VEC_AT(&d->all, i);
			if (c->root && depth_of(&w, c) > BPF_MAX_CALL_FRAMES && (!worst || c->depth > worst->depth))
				worst = c;
		}
		if (w.cycle >= 0) {
			report_recursion(s, p, &w);
			rc = -1;
			break;
		}
		if (!worst) {
			if (s->verbose >= 3)
				for (int i = 0; i < d->all.len; i++) {
					CDef *c = VEC_AT(&d->all, i);
					if (c->root)
						fprintf(stderr, "Pass 3: program %s nests %d call frames\n", c->name, c->depth);
				}
			break;
		}
		CDef *victim = pick_inline(worst);
		if (!victim) {
			DerivedProbe *dp;
			char *chain = chain_text(p, worst, &dp);
			const char *pp = dp && dp->npoints ? dp->points[0]->pp : worst->name;
			SrcLoc loc = dp ? dp->loc : (SrcLoc){0};
			diag_error(s, loc, "semantic error",
				   "call chain %s is deeper than the %d frames a BPF program may nest "
				   "(%d with the program, after inlining the functions and the handler): probe %s",
				   chain, BPF_MAX_CALL_FRAMES, worst->depth, pp);
			free(chain);
			rc = -1;
			break;
		}
		victim->frame = false;
		if (s->verbose >= 2) {
			char *l = probe_id(victim) >= 0 ? xstrdup("the handler") : frame_label(p, victim);
			fprintf(stderr, "Pass 3: inlining %s (%s): %s is %d call frames deep\n", l, victim->name,
				worst->name, worst->depth);
			free(l);
		}
		*bpf_c = make_inline(*bpf_c, victim->name);
	}
	free(w.path.data);
	free(w.cycle_at.data);
	free_defs(d);
	free(d);
	for (int i = 0; i < loop_notes.len; i++) {
		LoopNote *n = VEC_AT(&loop_notes, i);
		free(n->callback);
		free(n);
	}
	loop_notes.len = 0;
	return rc;
}
