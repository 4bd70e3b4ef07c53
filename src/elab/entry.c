/* entry.c - @entry(expr) in return probes.
 *
 * stap's meaning: expr is evaluated when the function (or syscall) is
 * entered, and its value read when it returns.  Pass 2 rewrites it into
 * ordinary script code before target variables are resolved, so that it
 * works the same for every kind of return probe:
 *
 *   probe P.return { ... @entry(E) ... }
 *
 * becomes a companion probe on the matching entry point and a per-thread
 * global array,
 *
 *   global __entry_D_K
 *   probe P { __entry_D_K[tid()] = E }
 *   probe P.return { __entry_K = __entry_D_K[tid()]; delete __entry_D_K[tid()]
 *                    ... __entry_K ... }
 *
 * where D is the return probe's number and K counts its @entry uses.  E's
 * target variables are then resolved at the entry point, as they must be.
 * A thread that enters again before returning (recursion) overwrites its
 * saved value; a return seen without its entry (the probe armed in
 * between) reads 0 or "".
 *
 * Each probe reading @entry has exactly one point (aliases.c splits
 * probes that read context values), whose entry point is:
 *   kernel.function(F).return, module(M).function(F).return,
 *   process(...).function(F).return   -> the same point without .return
 *   syscall exits (kernel.trace("syscalls:sys_exit_N"), raw sys_exit)
 *                                     -> the matching sys_enter
 */
#include "elab/elab.h"
#include "elab/kernel.h"

#include <stdlib.h>
#include <string.h>

typedef struct EntryUses {
	Vec exprs; /* Expr*: the @entry nodes of one probe, in order */
} EntryUses;

static bool collect_entry(Expr *x, void *arg)
{
	if (x->kind == E_ENTRY)
		vec_push(&((EntryUses *)arg)->exprs, x);
	return false;
}

static char *strip_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	if (n >= k && strcmp(s + n - k, suffix) == 0)
		return xstrndup(s, n - k);
	return xstrdup(s);
}

/* The entry point matching return point r, or NULL if r is not one. */
static Resolved *entry_point_of(Session *s, const Resolved *r)
{
	Resolved *e = NULL;
	switch (r->kind) {
	case PK_KPROBE:
	case PK_UPROBE:
	case PK_SYSCALL:
		if (!r->is_return)
			return NULL;
		e = xmalloc(sizeof *e);
		*e = *r;
		e->is_return = false;
		e->pp = strip_suffix(r->pp, ".return");
		if (r->kind == PK_UPROBE)
			e->offset = process_entry_offset(s, r);
		return e;
	case PK_TRACEPOINT: {
		const char *ev = r->tp_event;
		bool syscalls = r->tp_system && strcmp(r->tp_system, "syscalls") == 0;
		bool raw = r->tp_system && strcmp(r->tp_system, "raw_syscalls") == 0;
		if (!ev || !((syscalls && strncmp(ev, "sys_exit_", 9) == 0) || (raw && strcmp(ev, "sys_exit") == 0)))
			return NULL;
		e = xmalloc(sizeof *e);
		*e = *r;
		e->tp_event = xasprintf("sys_enter%s", ev + 8);
		e->tp_format = NULL; /* read again for the entry event */
		e->pp = xasprintf("kernel.trace(\"%s:%s\")", r->tp_system, e->tp_event);
		return e;
	}
	default:
		return NULL;
	}
}

static Expr *new_expr(ExprKind kind, SrcLoc loc, const char *name)
{
	Expr *x = xcalloc(1, sizeof *x);
	x->kind = kind;
	x->loc = loc;
	x->name = name ? xstrdup(name) : NULL;
	return x;
}

/* name[tid()] */
static Expr *per_thread(const char *name, SrcLoc loc)
{
	Expr *x = new_expr(E_INDEX, loc, name);
	x->nargs = 1;
	x->args = xmalloc(sizeof(Expr *));
	x->args[0] = new_expr(E_CALL, loc, "tid");
	return x;
}

static Stmt *new_stmt(StmtKind kind, SrcLoc loc, Expr *x)
{
	Stmt *st = xcalloc(1, sizeof *st);
	st->kind = kind;
	st->loc = loc;
	st->expr = x;
	return st;
}

static Expr *assign(Expr *lhs, Expr *rhs)
{
	Expr *x = new_expr(E_ASSIGN, lhs->loc, NULL);
	x->op = "=";
	x->nargs = 2;
	x->args = xmalloc(2 * sizeof(Expr *));
	x->args[0] = lhs;
	x->args[1] = rhs;
	return x;
}

static void declare_global(Elab *E, const char *name, SrcLoc loc)
{
	Script *sc = xcalloc(1, sizeof *sc);
	sc->file = loc.file;
	Global *g = xcalloc(1, sizeof *g);
	g->name = xstrdup(name);
	g->loc = loc;
	g->file = loc.file;
	vec_push(&sc->globals, g);
	elab_register_script(E, sc);
}

static Stmt *block_of(Vec *stmts, SrcLoc loc)
{
	Stmt *b = new_stmt(S_BLOCK, loc, NULL);
	b->nbody = stmts->len;
	b->body = (Stmt **)stmts->data;
	return b;
}

static void rewrite_probe(Elab *E, DerivedProbe *dp, EntryUses *uses)
{
	Resolved *entry = dp->npoints == 1 ? entry_point_of(E->s, dp->points[0]) : NULL;
	if (!entry) {
		Expr *first = VEC_AT(&uses->exprs, 0);
		diag_error(E->s, first->loc, "semantic error", "@entry is allowed only in .return probes");
		return;
	}
	Vec saves = {0}, takes = {0};
	for (int k = 0; k < uses->exprs.len; k++) {
		Expr *x = VEC_AT(&uses->exprs, k);
		char *global = xasprintf("__entry_%d_%d", dp->id, k);
		char *local = xasprintf("__entry_%d", k);
		declare_global(E, global, x->loc);
		/* entry: global[tid()] = E */
		vec_push(&saves, new_stmt(S_EXPR, x->loc, assign(per_thread(global, x->loc), x->args[0])));
		/* return: local = global[tid()]; delete global[tid()] */
		vec_push(&takes, new_stmt(S_EXPR, x->loc, assign(new_expr(E_SYM, x->loc, local),
							       per_thread(global, x->loc))));
		vec_push(&takes, new_stmt(S_DELETE, x->loc, per_thread(global, x->loc)));
		/* the use becomes the local */
		x->kind = E_SYM;
		x->nargs = 0;
		x->op = NULL;
		x->name = local;
		x->args = NULL;
		free(global);
	}
	vec_push(&takes, dp->body);
	dp->body = block_of(&takes, dp->loc);

	DerivedProbe *ep = xcalloc(1, sizeof *ep);
	ep->probe = dp->probe;
	ep->body = block_of(&saves, dp->loc);
	ep->points = xmalloc(sizeof(Resolved *));
	ep->points[0] = entry;
	ep->npoints = 1;
	ep->ctx = dp->ctx;
	ep->loc = dp->loc;
	ep->derivation = xasprintf(" <- @entry values of %s", dp->points[0]->pp);
	ep->id = E->prog->probes.len;
	vec_push(&E->prog->probes, ep);
}

void elab_entry_probes(Elab *E)
{
	int n = E->prog->probes.len; /* not the companions added here */
	for (int i = 0; i < n; i++) {
		DerivedProbe *dp = VEC_AT(&E->prog->probes, i);
		EntryUses uses = {0};
		ast_walk_stmt(dp->body, &(AstWalk){.expr = collect_entry, .arg = &uses});
		if (uses.exprs.len)
			rewrite_probe(E, dp, &uses);
		free(uses.exprs.data);
	}
}
