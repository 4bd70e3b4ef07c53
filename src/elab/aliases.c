/* aliases.c - from probe points as written to DerivedProbes.
 *
 * A point that names a probe alias (`probe syscall.open = kernel.trace(...)
 * { name = "open" ... }`) stands for the alias's own points, with the
 * alias body before the user's body (`=`, a prologue) or after it (`+=`,
 * an epilogue).  Aliases nest, so expansion is recursive; every alias
 * definition whose name matches (wildcards in the user's point match whole
 * components, `**` across dots) gives its own expansion.  Points that name
 * no alias go to the provider of their first component.
 *
 * Each leaf of an expansion is one resolved point with the list of body
 * parts (alias prologues, the user's body, epilogues, in order) and the
 * conjunction of the `if (...)` conditions met on the way.  Leaves of one
 * user probe that share their body parts, condition and context become one
 * DerivedProbe, with a private copy of the body, since types and locals
 * are per DerivedProbe.  Leaves whose body reads target variables get a
 * DerivedProbe each: $vars depend on the point.
 */
#include "elab/elab.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ALIAS_DEPTH 32

/* ------------------------------------------------------------ cloning */

Expr *ast_clone_expr(const Expr *e)
{
	if (!e)
		return NULL;
	Expr *c = xmalloc(sizeof *c);
	*c = *e;
	c->type = TY_UNKNOWN;
	c->var = NULL;
	c->func = NULL;
	c->builtin = NULL;
	c->target = NULL;
	c->fmt_id = 0;
	if (e->nargs) {
		c->args = xmalloc(sizeof(Expr *) * (size_t)e->nargs);
		for (int i = 0; i < e->nargs; i++)
			c->args[i] = ast_clone_expr(e->args[i]);
	}
	if (e->ncomps) {
		c->comps = xmalloc(sizeof(Component) * (size_t)e->ncomps);
		for (int i = 0; i < e->ncomps; i++) {
			c->comps[i] = e->comps[i];
			c->comps[i].expr = ast_clone_expr(e->comps[i].expr);
		}
	}
	return c;
}

Stmt *ast_clone_stmt(const Stmt *st)
{
	if (!st)
		return NULL;
	Stmt *c = xmalloc(sizeof *c);
	*c = *st;
	c->var_catch = NULL;
	if (st->nbody) {
		c->body = xmalloc(sizeof(Stmt *) * (size_t)st->nbody);
		for (int i = 0; i < st->nbody; i++)
			c->body[i] = ast_clone_stmt(st->body[i]);
	}
	c->expr = ast_clone_expr(st->expr);
	c->init = ast_clone_stmt(st->init);
	c->incr = ast_clone_expr(st->incr);
	c->then = ast_clone_stmt(st->then);
	c->els = ast_clone_stmt(st->els);
	if (st->fe) {
		c->fe = xmalloc(sizeof *c->fe);
		*c->fe = *st->fe;
		c->fe->array_expr = ast_clone_expr(st->fe->array_expr);
		c->fe->limit = ast_clone_expr(st->fe->limit);
		memset(c->fe->key_vars, 0, sizeof c->fe->key_vars);
		c->fe->value_var = NULL;
	}
	return c;
}

/* ------------------------------------------------------------ point text */

char *point_text(const ProbePoint *pt, bool with_suffixes)
{
	StrBuf b = {0};
	for (int i = 0; i < pt->ncomps; i++) {
		const PointComp *c = &pt->comps[i];
		sb_printf(&b, "%s%s", i ? "." : "", c->name);
		if (c->arg) {
			StrBuf a = {0};
			unparse_expr(&a, c->arg);
			sb_printf(&b, "(%s)", a.s ? a.s : "");
			free(a.s);
		}
	}
	if (with_suffixes) {
		if (pt->sufficient)
			sb_putc(&b, '!');
		if (pt->optional)
			sb_putc(&b, '?');
		if (pt->cond) {
			StrBuf a = {0};
			unparse_expr(&a, pt->cond);
			sb_printf(&b, " if (%s)", a.s ? a.s : "");
			free(a.s);
		}
	}
	return sb_steal(&b);
}

static char *dotted_name(const ProbePoint *pt)
{
	StrBuf b = {0};
	for (int i = 0; i < pt->ncomps; i++)
		sb_printf(&b, "%s%s", i ? "." : "", pt->comps[i].name);
	return sb_steal(&b);
}

/* The dotted name a point is matched against alias names with, or NULL
 * when a component has an argument (alias names have none). */
static char *alias_pattern(const ProbePoint *pt)
{
	for (int i = 0; i < pt->ncomps; i++)
		if (pt->comps[i].arg)
			return NULL;
	return dotted_name(pt);
}

bool point_matches_alias_name(const ProbePoint *pt, const ProbePoint *alias_name)
{
	for (int i = 0; i < pt->ncomps; i++)
		if (pt->comps[i].arg)
			return false;
	char *pat = dotted_name(pt), *name = dotted_name(alias_name);
	bool m = glob_match(pat, name);
	free(pat);
	free(name);
	return m;
}

/* "a.b = begin, end" / "a.b += end": how stap shows an alias level. */
static char *alias_text(const Probe *alias)
{
	StrBuf b = {0};
	for (int i = 0; i < alias->nalias_names; i++) {
		char *t = point_text(alias->alias_names[i], false);
		sb_printf(&b, "%s%s", i ? ", " : "", t);
		free(t);
	}
	sb_puts(&b, alias->alias_epilogue ? " += " : " = ");
	for (int i = 0; i < alias->npoints; i++) {
		char *t = point_text(alias->points[i], true);
		sb_printf(&b, "%s%s", i ? ", " : "", t);
		free(t);
	}
	return sb_steal(&b);
}

static char *probe_points_text(const Probe *p)
{
	StrBuf b = {0};
	for (int i = 0; i < p->npoints; i++) {
		char *t = point_text(p->points[i], true);
		sb_printf(&b, "%s%s", i ? "," : "", t);
		free(t);
	}
	return sb_steal(&b);
}

/* ------------------------------------------------------------ expansion */

/* The path taken to one resolved point. */
typedef struct Leaf {
	Resolved *r;
	Stmt **parts;          /* body parts, in order (not copied) */
	int nparts;
	Expr *cond;            /* shared, cloned per DerivedProbe */
	const Probe **chain;   /* aliases, innermost first */
	int nchain;
	const char *pn;        /* the alias name the user's point matched, or NULL */
} Leaf;

typedef struct Walk {
	Elab *E;
	const Probe *user;
	Vec leaves;            /* Leaf* */
} Walk;

typedef struct Path {
	Stmt **parts;
	int nparts;
	Expr *cond;
	const Probe **chain;   /* outermost first while walking */
	int nchain;
	const char *pn;        /* the alias name the user's point matched, or NULL */
} Path;

static Expr *and_cond(Expr *a, Expr *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	Expr *e = xcalloc(1, sizeof *e);
	e->kind = E_BINARY;
	e->op = "&&";
	e->loc = a->loc;
	e->nargs = 2;
	e->args = xmalloc(2 * sizeof(Expr *));
	e->args[0] = a;
	e->args[1] = b;
	return e;
}

static bool has_wildcard(const ProbePoint *pt)
{
	for (int i = 0; i < pt->ncomps; i++)
		if (strpbrk(pt->comps[i].name, "*?["))
			return true;
	return false;
}

static void mismatch_error(Elab *E, const ProbePoint *pt)
{
	const PointComp *at = &pt->comps[0];
	for (int i = 0; i < pt->ncomps; i++)
		if (strpbrk(pt->comps[i].name, "*?[")) {
			at = &pt->comps[i];
			break;
		}
	diag_error(E->s, pt->comps[0].loc, "semantic error",
		   "while resolving probe point: identifier '%s'", pt->comps[0].name);
	/* nearest provider and alias names */
	const char *cands[64];
	int n = 0;
	for (int i = 0; elab_providers[i] && n < 32; i++)
		cands[n++] = elab_providers[i]->name;
	for (int i = 0; i < E->aliases.len && n < 64; i++) {
		const Probe *a = E->aliases.data[i];
		if (a->nalias_names && a->alias_names[0]->ncomps)
			cands[n++] = a->alias_names[0]->comps[0].name;
	}
	char *sim = elab_similar(at->name, cands, n, 4);
	const char *what = has_wildcard(pt) ? ": didn't find any wildcard matches" : "";
	bool is_op = strcmp(at->name, "*") == 0 || strcmp(at->name, "**") == 0;
	diag_error(E->s, at->loc, "semantic error", "probe point mismatch%s%s: %s '%s'", what, sim,
		   is_op ? "operator" : "identifier", at->name);
	free(sim);
}

static int expand_point(Walk *w, const ProbePoint *pt, Path *path, bool optional);

static Path path_through(const Path *in, const Probe *alias, const ProbePoint *ap, const char *name)
{
	Path p = {0};
	p.pn = in->pn ? in->pn : name; /* the outermost alias names the probe */
	p.nparts = in->nparts + (alias->body ? 1 : 0);
	p.parts = xmalloc(sizeof(Stmt *) * (size_t)(p.nparts + 1));
	int k = 0;
	if (alias->body && !alias->alias_epilogue)
		p.parts[k++] = alias->body;
	for (int i = 0; i < in->nparts; i++)
		p.parts[k++] = in->parts[i];
	if (alias->body && alias->alias_epilogue)
		p.parts[k++] = alias->body;
	p.cond = and_cond(ap->cond, in->cond);
	p.nchain = in->nchain + 1;
	p.chain = xmalloc(sizeof(Probe *) * (size_t)p.nchain);
	for (int i = 0; i < in->nchain; i++)
		p.chain[i] = in->chain[i];
	p.chain[in->nchain] = alias;
	return p;
}

static int expand_alias(Walk *w, const Probe *alias, const char *name, Path *path, bool optional)
{
	int total = 0;
	for (int i = 0; i < alias->npoints; i++) {
		const ProbePoint *ap = alias->points[i];
		Path p = path_through(path, alias, ap, name);
		int n = expand_point(w, ap, &p, optional || ap->optional);
		if (n > 0)
			total += n;
		if (n > 0 && ap->sufficient)
			break;
	}
	return total;
}

static int resolve_leaf(Walk *w, const ProbePoint *pt, Path *path, bool optional)
{
	Elab *E = w->E;
	const Provider *prov = provider_find(pt->comps[0].name);
	/* "!" is both optional and sufficient (stapprobes): it fails silently */
	bool quiet = optional || pt->sufficient;
	if (!prov) {
		if (!quiet)
			mismatch_error(E, pt);
		return 0;
	}
	Vec out = {0};
	int errors = E->s->errors;
	int n = prov->resolve(E->s, pt, &out);
	if (n < 0 && quiet)
		E->s->errors = errors; /* optional points fail silently */
	if (n == 0 && !quiet) {
		/* the family exists but nothing in it matched: stap's two lines */
		diag_error(E->s, pt->comps[0].loc, "semantic error",
			   "while resolving probe point: identifier '%s'", pt->comps[0].name);
		fputs("semantic error: no match\n\n", stderr);
	}
	for (int i = 0; i < out.len; i++) {
		Leaf *lf = xcalloc(1, sizeof *lf);
		lf->r = out.data[i];
		lf->r->provider = prov;
		if (optional)
			lf->r->optional = true;
		lf->parts = path->parts;
		lf->nparts = path->nparts;
		lf->cond = path->cond;
		lf->nchain = path->nchain;
		lf->pn = path->pn;
		lf->chain = xmalloc(sizeof(Probe *) * (size_t)(path->nchain + 1));
		for (int j = 0; j < path->nchain; j++)
			lf->chain[j] = path->chain[path->nchain - 1 - j];
		vec_push(&w->leaves, lf);
	}
	free(out.data);
	return n < 0 ? 0 : out.len;
}

static int expand_point(Walk *w, const ProbePoint *pt, Path *path, bool optional)
{
	Elab *E = w->E;
	if (path->nchain > MAX_ALIAS_DEPTH) {
		diag_error(E->s, pt->loc, "semantic error", "recursive loop in alias expansion");
		return 0;
	}
	for (int i = 0; i < path->nchain; i++) {
		const Probe *a = path->chain[i];
		for (int j = 0; j < a->nalias_names; j++)
			if (point_matches_alias_name(pt, a->alias_names[j]) && !has_wildcard(pt)) {
				diag_error(E->s, pt->loc, "semantic error",
					   "recursive loop in alias expansion of %s", pt->comps[0].name);
				return 0;
			}
	}
	tapset_load_aliases_matching(E, pt);
	int total = 0;
	bool matched = false;
	char *pat = alias_pattern(pt);
	const Probe *last = NULL;
	for (int i = 0; pat && i < E->alias_keys.len; i++) {
		const Probe *a = E->alias_owner.data[i];
		if (a == last || !glob_match(pat, E->alias_keys.data[i]))
			continue;
		last = a; /* one expansion per definition, whichever name matched */
		matched = true;
		total += expand_alias(w, a, E->alias_keys.data[i], path, optional);
	}
	free(pat);
	if (matched)
		return total;
	return resolve_leaf(w, pt, path, optional);
}

/* ------------------------------------------------------------ grouping */

static bool reads_target(Expr *e, void *arg)
{
	(void)arg;
	return e->kind == E_TARGET || e->kind == E_DEFINED || e->kind == E_ENTRY;
}

static bool body_reads_targets(Stmt *st)
{
	return ast_walk_stmt(st, &(AstWalk){.expr = reads_target});
}

static Context point_context(const Resolved *r)
{
	switch (r->kind) {
	case PK_BEGIN:
	case PK_END:
	case PK_ERROR:
	case PK_NEVER:
	case PK_TIMER:
		return CTX_USER;
	default:
		return CTX_KERNEL;
	}
}

static bool same_path(const Leaf *a, const Leaf *b)
{
	if (a->nparts != b->nparts || a->cond != b->cond || a->nchain != b->nchain)
		return false;
	if ((a->pn == NULL) != (b->pn == NULL) || (a->pn && strcmp(a->pn, b->pn) != 0))
		return false;
	for (int i = 0; i < a->nparts; i++)
		if (a->parts[i] != b->parts[i])
			return false;
	for (int i = 0; i < a->nchain; i++)
		if (a->chain[i] != b->chain[i])
			return false;
	return true;
}

static char *derivation_text(const Leaf *lf, const Probe *user)
{
	StrBuf b = {0};
	for (int i = 0; i < lf->nchain; i++) {
		char *t = alias_text(lf->chain[i]);
		sb_printf(&b, " <- %s", t);
		free(t);
	}
	char *t = probe_points_text(user);
	sb_printf(&b, " <- %s", t);
	free(t);
	return sb_steal(&b);
}

static DerivedProbe *new_derived(Elab *E, const Probe *user, const Leaf *lf, Context ctx)
{
	DerivedProbe *dp = xcalloc(1, sizeof *dp);
	dp->probe = (Probe *)user;
	Stmt *body = xcalloc(1, sizeof *body);
	body->kind = S_BLOCK;
	body->loc = user->loc;
	body->nbody = lf->nparts;
	body->body = xmalloc(sizeof(Stmt *) * (size_t)(lf->nparts + 1));
	for (int i = 0; i < lf->nparts; i++)
		body->body[i] = ast_clone_stmt(lf->parts[i]);
	dp->body = body;
	dp->cond = ast_clone_expr(lf->cond);
	dp->ctx = ctx;
	dp->loc = user->loc;
	dp->derivation = derivation_text(lf, user);
	dp->pn = lf->pn ? xstrdup(lf->pn) : NULL;
	dp->id = E->prog->probes.len;
	vec_push(&E->prog->probes, dp);
	return dp;
}

static void add_point(DerivedProbe *dp, Resolved *r)
{
	dp->points = xrealloc(dp->points, sizeof(Resolved *) * (size_t)(dp->npoints + 1));
	dp->points[dp->npoints++] = r;
}

static bool duplicate_leaf(Vec *seen, const Leaf *lf)
{
	for (int i = 0; i < seen->len; i++) {
		const Leaf *o = seen->data[i];
		if (same_path(o, lf) && strcmp(o->r->pp, lf->r->pp) == 0)
			return true;
	}
	return false;
}

static void group_leaves(Elab *E, const Probe *user, Vec *leaves)
{
	Vec groups = {0}; /* DerivedProbe* of this user probe */
	Vec firsts = {0}; /* the Leaf each group was made from */
	Vec seen = {0};
	for (int i = 0; i < leaves->len; i++) {
		Leaf *lf = leaves->data[i];
		if (duplicate_leaf(&seen, lf))
			continue;
		vec_push(&seen, lf);
		Context ctx = point_context(lf->r);
		bool per_point = false;
		for (int j = 0; j < lf->nparts && !per_point; j++)
			per_point = body_reads_targets(lf->parts[j]);
		DerivedProbe *dp = NULL;
		for (int g = 0; g < groups.len && !per_point; g++) {
			DerivedProbe *cand = groups.data[g];
			if (cand->ctx == ctx && same_path(firsts.data[g], lf))
				dp = cand;
		}
		if (!dp) {
			dp = new_derived(E, user, lf, ctx);
			vec_push(&groups, dp);
			vec_push(&firsts, lf);
		}
		add_point(dp, lf->r);
	}
	free(groups.data);
	free(firsts.data);
	free(seen.data);
}

static void expand_user_probe(Elab *E, const Probe *p)
{
	Walk w = {E, p, {0}};
	for (int i = 0; i < p->npoints; i++) {
		const ProbePoint *pt = p->points[i];
		Path path = {0};
		path.parts = xmalloc(sizeof(Stmt *));
		path.parts[0] = p->body;
		path.nparts = p->body ? 1 : 0;
		path.cond = pt->cond;
		int n = expand_point(&w, pt, &path, pt->optional);
		if (n > 0 && pt->sufficient)
			break;
	}
	group_leaves(E, p, &w.leaves);
}

void elab_expand_probes(Elab *E, Script *user)
{
	for (int i = 0; i < user->probes.len; i++) {
		Probe *p = user->probes.data[i];
		if (!p->is_alias)
			expand_user_probe(E, p);
	}
}
