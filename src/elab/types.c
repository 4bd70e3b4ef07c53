/* types.c - target variables and type inference.
 *
 * Target variables first: @defined($x) becomes 1 or 0 by asking the
 * probe's provider, constant if/?: are pruned (so a missing variable in the
 * branch not taken is no error), and every remaining $x gets its
 * TargetAccess.
 *
 * Then types, as stap infers them: every expression is visited with the
 * type its context wants (or TY_UNKNOWN).  A variable, array slot,
 * parameter or function return whose type is unknown takes the wanted
 * type; one already known must match.  Information flows both ways (from
 * `x = 1` to x, from `f(x) + 1` into f's return), so all probes and used
 * functions are visited again until nothing changes.  A last visit reports
 * what stayed unknown and registers printf formats.
 */
#include "elab/elab.h"
#include "elab/dwarf.h"
#include "elab/kernel.h"
#include "stp_module.h"
#include "translate/regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================ targets */

typedef struct TargetWalk {
	Elab *E;
	DerivedProbe *dp;
} TargetWalk;

static TargetAccess *target_at(TargetWalk *tw, const char *name)
{
	if (!tw->dp->npoints)
		return NULL;
	const Resolved *r = tw->dp->points[0];
	const Provider *p = r->provider;
	if (!p || !p->target)
		return NULL;
	return p->target(tw->E->s, r, name[0] == '$' ? name + 1 : name);
}

static char *target_missing(TargetWalk *tw, const char *name)
{
	const Resolved *r = tw->dp->npoints ? tw->dp->points[0] : NULL;
	if (!r || !r->provider || !r->provider->target_missing || name[0] != '$' || name[1] == '$')
		return NULL;
	return r->provider->target_missing(tw->E->s, r, name[0] == '$' ? name + 1 : name);
}

/* A user program's variable ($var->member... from DWARF): typed and
 * checked now, so that what cannot be read is a pass-2 error. */
static Type user_chain_type(TargetWalk *tw, Expr *e, TargetAccess *ta)
{
	char *err = NULL;
	int err_at = -1;
	TargetAccess *r = udwarf_access(ta, e->comps, e->ncomps, NULL, &err, &err_at);
	if (!r) {
		SrcLoc loc = err_at >= 0 && err_at < e->ncomps ? e->comps[err_at].loc : e->loc;
		if (elab_report_once(tw->E, e))
			diag_error(tw->E->s, loc, "semantic error", "%s", err ? err : "invalid access");
		free(err);
		return TY_LONG;
	}
	Type t = r->type;
	kernel_free_access(r);
	return t;
}

/* The type at the end of $var->member[...]..., checked against the
 * kernel's BTF now so that a wrong member is a pass-2 error naming it. */
static Type chain_type(TargetWalk *tw, Expr *e, TargetAccess *ta)
{
	if (ta->uvar && e->addressof) {
		if (elab_report_once(tw->E, e))
			diag_error(tw->E->s, e->loc, "semantic error",
				   "taking the address of a user-space variable is not supported");
		return TY_LONG;
	}
	if (ta->uvar)
		return user_chain_type(tw, e, ta);
	if (!ta->btf_id)
		return TY_LONG; /* the translator reports what it cannot read */
	char **idx = xcalloc((size_t)e->ncomps + 1, sizeof *idx);
	for (int i = 0; i < e->ncomps; i++)
		idx[i] = "0";
	char *err = NULL;
	int err_at = -1;
	TargetAccess *r = kernel_member_access(tw->E->s, ta, "0", e->comps, e->ncomps, idx, e->addressof, &err,
					       &err_at);
	free(idx);
	if (!r) {
		SrcLoc loc = err_at >= 0 && err_at < e->ncomps ? e->comps[err_at].loc : e->loc;
		if (elab_report_once(tw->E, e))
			diag_error(tw->E->s, loc, "semantic error", "%s", err ? err : "invalid member access");
		free(err);
		return TY_LONG;
	}
	Type t = r->type;
	kernel_free_access(r);
	return t;
}

/* @cast(p, "type"[, "module"])->member...: p is a pointer to the kernel
 * type; the chain is typed and checked like a target variable's. */
static void cast_target(TargetWalk *tw, Expr *e)
{
	const char *why = NULL;
	KernelBtf *kb = kbtf_get(tw->E->s, NULL, &why);
	int32_t ptr = kb && e->str ? kbtf_cast_type(kb, e->str) : 0;
	if (!ptr) {
		if (elab_report_once(tw->E, e))
			diag_error(tw->E->s, e->loc, "semantic error", "type definition '%s' not found in kernel%s%s",
				   e->str ? e->str : "?", why ? ": " : "", why ? why : "");
		e->type = TY_LONG;
		return;
	}
	TargetAccess *ta = xcalloc(1, sizeof *ta);
	ta->kind = TA_C_EXPR;
	ta->type = TY_LONG;
	ta->btf_id = ptr;
	e->target = ta;
	e->type = e->ncomps ? chain_type(tw, e, ta) : TY_LONG;
}

/* @defined(@cast(p, "type")->chain): whether the type and every member
 * of the chain exist in the kernel's BTF, without reporting anything
 * (tapset functions pick a member by kernel version this way). */
static bool cast_exists(TargetWalk *tw, const Expr *e)
{
	KernelBtf *kb = kbtf_get(tw->E->s, NULL, NULL);
	int32_t ptr = kb && e->str ? kbtf_cast_type(kb, e->str) : 0;
	if (!ptr)
		return false;
	if (!e->ncomps)
		return true;
	TargetAccess ta = {.kind = TA_C_EXPR, .type = TY_LONG, .btf_id = ptr};
	char **idx = xcalloc((size_t)e->ncomps + 1, sizeof *idx);
	for (int i = 0; i < e->ncomps; i++)
		idx[i] = "0";
	char *err = NULL;
	int err_at = -1;
	TargetAccess *r = kernel_member_access(tw->E->s, &ta, "0", e->comps, e->ncomps, idx, e->addressof, &err,
					       &err_at);
	free(idx);
	free(err);
	if (r)
		kernel_free_access(r);
	return r != NULL;
}

/* @var("name[@file]"[, "module"]) in a user-space function probe: what
 * $name is there, else the program's global of that name in any compile
 * unit; with @file, the global of that file.  Typed like $name.  Kernel
 * globals are the translator's (targetvars.c). */
static void user_var_at(TargetWalk *tw, Expr *e)
{
	const Resolved *r = tw->dp->npoints ? tw->dp->points[0] : NULL;
	if (!r || r->kind != PK_UPROBE || !e->str)
		return;
	const char *at = strchr(e->str, '@');
	char *module = e->module ? kernel_find_executable(e->module) : NULL;
	bool other_module = e->module && (!module || !r->path || strcmp(module, r->path));
	free(module);
	TargetAccess *ta = NULL;
	if (!other_module) {
		ta = target_at(tw, e->str);
		if (!ta && !at) {
			char *anywhere = xasprintf("%s@", e->str);
			ta = target_at(tw, anywhere);
			free(anywhere);
		}
	}
	if (!ta) {
		int len = at ? (int)(at - e->str) : (int)strlen(e->str);
		const char *in = e->module ? e->module : r->path ? r->path : "the program";
		/* one message per name and place, as stap counts them */
		char *msg = xasprintf("unable to find global '%.*s' in %s%s%s", len, e->str, in, at ? ", in " : "",
				      at ? at + 1 : "");
		if (elab_report_once(tw->E, e))
			diag_error(tw->E->s, e->loc, "semantic error", "%s", msg);
		free(msg);
		e->type = TY_LONG;
		return;
	}
	e->target = ta;
	e->type = chain_type(tw, e, ta);
}

static bool is_context_list(const char *name)
{
	return strcmp(name, "$$vars") == 0 || strcmp(name, "$$parms") == 0 ||
	       strcmp(name, "$$locals") == 0 || strcmp(name, "$$return") == 0;
}

static bool target_exists(TargetWalk *tw, const Expr *e)
{
	switch (e->kind) {
	case E_TARGET:
		if (!tw->dp)
			return false; /* a function has no context variables */
		if (is_context_list(e->name))
			return tw->dp->npoints && tw->dp->points[0]->provider &&
			       tw->dp->points[0]->provider->target_list;
		return target_at(tw, e->name) != NULL;
	case E_ENTRY:
		return e->nargs && target_exists(tw, e->args[0]);
	case E_CAST:
		return cast_exists(tw, e);
	default:
		return true; /* @cast and @var are checked by the kernel side later */
	}
}

static void replace_with_number(Expr *e, int64_t v)
{
	SrcLoc loc = e->loc;
	memset(e, 0, sizeof *e);
	e->kind = E_NUM;
	e->num = v;
	e->loc = loc;
}

static Expr *new_expr(ExprKind kind, SrcLoc loc)
{
	Expr *e = xcalloc(1, sizeof *e);
	e->kind = kind;
	e->loc = loc;
	return e;
}

/* $$vars and friends: sprintf("a=%#x b=%#x", $a, $b). */
static void expand_context_list(TargetWalk *tw, Expr *e)
{
	const Resolved *r = tw->dp->points[0];
	Vec names = {0}, accesses = {0};
	r->provider->target_list(tw->E->s, r, &names, &accesses);
	bool want_return = strcmp(e->name, "$$return") == 0;
	StrBuf fmt = {0};
	Vec args = {0};
	for (int i = 0; i < names.len; i++) {
		const char *n = names.data[i];
		bool is_ret = strcmp(n, "return") == 0;
		if (want_return != is_ret)
			continue;
		TargetAccess *ta = accesses.data[i];
		const char *shown = NULL;
		if (ta && ta->uvar && !udwarf_in_context_list(ta, e->name, &shown))
			continue;
		if (shown) { /* a whole struct or array: "q={...}", as stap */
			sb_printf(&fmt, "%s%s=%s", fmt.len ? " " : "", n, shown);
			continue;
		}
		/* "0x%x" rather than "%#x": the same text (stap prints 0 as 0x0)
		 * in kernel-context sprintf too */
		sb_printf(&fmt, "%s%s=%s", fmt.len ? " " : "", n,
			  ta && ta->type == TY_STRING ? "\"%s\"" : "0x%x");
		Expr *a = new_expr(E_TARGET, e->loc);
		a->name = xasprintf("$%s", n);
		a->target = ta;
		a->type = ta ? ta->type : TY_LONG;
		vec_push(&args, a);
	}
	Expr *f = new_expr(E_STR, e->loc);
	f->str = sb_steal(&fmt);
	f->len = strlen(f->str);
	f->type = TY_STRING;
	SrcLoc loc = e->loc;
	memset(e, 0, sizeof *e);
	e->kind = E_CALL;
	e->loc = loc;
	e->name = "sprintf";
	e->nargs = args.len + 1;
	e->args = xmalloc(sizeof(Expr *) * (size_t)e->nargs);
	e->args[0] = f;
	for (int i = 0; i < args.len; i++)
		e->args[i + 1] = args.data[i];
	e->builtin = builtin_lookup("sprintf");
	free(args.data);
	free(names.data);
	free(accesses.data);
}

static void targets_expr(TargetWalk *tw, Expr *e);

static void fold_defined(TargetWalk *tw, Expr *e)
{
	if (e->kind == E_DEFINED) {
		replace_with_number(e, e->nargs && target_exists(tw, e->args[0]));
		return;
	}
	for (int i = 0; i < e->nargs; i++)
		fold_defined(tw, e->args[i]);
	if (e->kind == E_TERNARY && e->args[0]->kind == E_NUM) {
		Expr *taken = e->args[0]->num ? e->args[1] : e->args[2];
		*e = *taken;
	}
}

static void targets_expr(TargetWalk *tw, Expr *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->nargs; i++)
		targets_expr(tw, e->args[i]);
	for (int i = 0; i < e->ncomps; i++)
		targets_expr(tw, e->comps[i].expr);
	if (e->kind == E_CAST && !e->target) {
		cast_target(tw, e);
		return;
	}
	if (e->kind == E_VAR_AT && !e->target) {
		user_var_at(tw, e);
		return;
	}
	if (e->kind != E_TARGET || e->target)
		return;
	if (is_context_list(e->name) && target_exists(tw, e)) {
		expand_context_list(tw, e);
		return;
	}
	TargetAccess *ta = is_context_list(e->name) ? NULL : target_at(tw, e->name);
	if (!ta) {
		if (elab_report_once(tw->E, e)) {
			char *why = target_missing(tw, e->name);
			diag_error(tw->E->s, e->loc, "semantic error", "%s: identifier '%s'",
				   why ? why : "unresolved target-symbol expression", e->name);
			free(why);
			diag_error(tw->E->s, e->loc, "semantic error", "unresolved type : identifier '%s'",
				   e->name);
		}
		e->type = TY_LONG;
		return;
	}
	e->target = ta;
	if (e->addressof && !e->ncomps && !ta->uvar) {
		/* a tracepoint's field lives in its record; arguments are registers */
		if (ta->kind != TA_CTX_FIELD && elab_report_once(tw->E, e))
			diag_error(tw->E->s, e->loc, "semantic error",
				   "cannot take the address of '%s': its value is not in memory", e->name);
		e->type = TY_LONG;
		return;
	}
	e->type = e->ncomps || ta->uvar ? chain_type(tw, e, ta) : ta->type;
}

static void targets_stmt(TargetWalk *tw, Stmt *st);

/* Replace a statement by what is left of it when its condition is known. */
static void prune_if(Stmt *st)
{
	Stmt *taken = st->expr->num ? st->then : st->els;
	if (taken) {
		*st = *taken;
	} else {
		SrcLoc loc = st->loc;
		memset(st, 0, sizeof *st);
		st->kind = S_NULL;
		st->loc = loc;
	}
}

static void targets_stmt(TargetWalk *tw, Stmt *st)
{
	if (!st)
		return;
	if (st->expr)
		fold_defined(tw, st->expr);
	if (st->kind == S_IF && st->expr && st->expr->kind == E_NUM) {
		prune_if(st);
		targets_stmt(tw, st);
		return;
	}
	for (int i = 0; i < st->nbody; i++)
		targets_stmt(tw, st->body[i]);
	if (st->incr)
		fold_defined(tw, st->incr);
	targets_expr(tw, st->expr);
	targets_expr(tw, st->incr);
	targets_stmt(tw, st->init);
	targets_stmt(tw, st->then);
	targets_stmt(tw, st->els);
	if (st->fe && st->fe->limit) {
		fold_defined(tw, st->fe->limit);
		targets_expr(tw, st->fe->limit);
	}
}

void elab_targets(Elab *E, DerivedProbe *dp)
{
	TargetWalk tw = {E, dp};
	targets_stmt(&tw, dp->body);
	if (dp->cond) {
		fold_defined(&tw, dp->cond);
		targets_expr(&tw, dp->cond);
	}
}

static bool cast_node(Expr *e, void *arg)
{
	if (e->kind == E_CAST && !e->target)
		cast_target(arg, e);
	return false;
}

/* Fold a function's @defined(...) before its casts are checked, so that
 * a tapset function can name a member that only some kernels have. */
static bool fold_defined_stmt(Stmt *st, void *arg)
{
	if (st->expr)
		fold_defined(arg, st->expr);
	if (st->incr)
		fold_defined(arg, st->incr);
	if (st->fe && st->fe->limit)
		fold_defined(arg, st->fe->limit);
	while (st->kind == S_IF && st->expr && st->expr->kind == E_NUM) {
		prune_if(st);
		if (st->expr)
			fold_defined(arg, st->expr);
	}
	return false;
}

void elab_function_casts(Elab *E, Func *f)
{
	TargetWalk tw = {E, NULL};
	ast_walk_stmt(f->body, &(AstWalk){.stmt = fold_defined_stmt, .arg = &tw});
	ast_walk_stmt(f->body, &(AstWalk){.expr = cast_node, .arg = &tw});
}

/* ============================================================ types */

typedef struct Infer {
	Elab *E;
	Func *func;           /* the function being visited, or NULL */
} Infer;

static void mismatch_var(Infer *in, const Expr *at, Type want, Type had, const Expr *first)
{
	if (!elab_report_once(in->E, at))
		return;
	diag_error(in->E->s, at->loc, "semantic error", "type mismatch (%s): %s", type_name(want),
		   elab_describe(at));
	if (first)
		diag_error(in->E->s, first->loc, "semantic error",
			   "type was first inferred here (%s): %s", type_name(had),
			   elab_describe(first));
}

static void mismatch_fixed(Infer *in, const Expr *at, Type want, Type have)
{
	if (!elab_report_once(in->E, at))
		return;
	diag_error(in->E->s, at->loc, "semantic error", "type mismatch: expected %s but found %s: %s",
		   type_name(want), type_name(have), elab_describe(at));
}

/* Give a slot (variable value, key, parameter, return) a type. */
static Type unify_slot(Infer *in, Type *slot, const Expr **slot_at, Type want, const Expr *at)
{
	if (want == TY_UNKNOWN || want == TY_VOID)
		return *slot;
	if (*slot == TY_UNKNOWN) {
		*slot = want;
		if (slot_at && !*slot_at)
			*slot_at = at;
		in->E->type_changes++;
		return want;
	}
	if (*slot != want)
		mismatch_var(in, at, want, *slot, slot_at ? *slot_at : NULL);
	return *slot;
}

/* An expression whose type is fixed by its kind. */
static Type fixed(Infer *in, Expr *e, Type have, Type want)
{
	e->type = have;
	if (want != TY_UNKNOWN && want != TY_VOID && have != want)
		mismatch_fixed(in, e, want, have);
	return have;
}

static Type infer(Infer *in, Expr *e, Type want);
static void infer_stmt(Infer *in, Stmt *st);

static void check_arity(Infer *in, ElabVar *ev, int n, const Expr *at)
{
	if (!ev->arity_known) {
		ev->arity_known = true;
		ev->v.nkeys = n;
		ev->v.is_array = n > 0;
		ev->arity_at = at;
		in->E->type_changes++;
		return;
	}
	if (ev->v.nkeys == n || !elab_report_once(in->E, at))
		return;
	diag_error(in->E->s, at->loc, "semantic error", "inconsistent arity (%d vs %d): %s",
		   ev->v.nkeys, n, elab_describe(at));
	if (ev->arity_at)
		diag_error(in->E->s, ev->arity_at->loc, "semantic error",
			   "arity %d first inferred here: %s", ev->v.nkeys,
			   elab_describe(ev->arity_at));
}

/* Keys of arr[k1, k2] or [k1, k2] in arr. */
static void infer_keys(Infer *in, ElabVar *ev, Expr **keys, int n)
{
	for (int i = 0; i < n && i < MAX_INDEXES; i++) {
		Type t = infer(in, keys[i], ev->v.keys[i]);
		if (ev->v.nkeys == n)
			unify_slot(in, &ev->v.keys[i], NULL, t, keys[i]);
	}
}

static Type infer_var_value(Infer *in, Expr *e, Type want)
{
	ElabVar *ev = ELAB_VAR(e->var);
	if (in->E->final_pass && ev->v.scope == VAR_GLOBAL && ev->v.type == TY_UNKNOWN &&
	    want == TY_UNKNOWN && elab_report_once(in->E, ev))
		diag_error(in->E->s, e->loc, "semantic error", "unresolved type : %s", elab_describe(e));
	if (want == TY_UNKNOWN && ev->v.type != TY_UNKNOWN)
		return e->type = ev->v.type;
	return e->type = unify_slot(in, &ev->v.type, &ev->type_at, want, e);
}

static unsigned stat_op_bit(const char *op)
{
	static const struct {
		const char *name;
		unsigned bit;
	} ops[] = {
		{"count", STAT_OP_COUNT}, {"sum", STAT_OP_SUM},       {"min", STAT_OP_MIN},
		{"max", STAT_OP_MAX},     {"avg", STAT_OP_AVG},       {"variance", STAT_OP_VARIANCE},
		{"hist_log", STAT_OP_HIST_LOG}, {"hist_linear", STAT_OP_HIST_LINEAR},
	};
	for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, op) == 0)
			return ops[i].bit;
	return 0;
}

static void record_hist(Infer *in, Expr *e, Var *v)
{
	if (!v || !e->op)
		return;
	if (strcmp(e->op, "hist_log") == 0) {
		v->hist_kind = 1;
		return;
	}
	if (strcmp(e->op, "hist_linear") != 0)
		return;
	int64_t p[3] = {0, 0, 0};
	for (int i = 1; i < e->nargs && i <= 3; i++) {
		Expr *a = e->args[i];
		if (a->kind == E_NUM)
			p[i - 1] = a->num;
		else if (a->kind == E_UNARY && strcmp(a->op, "-") == 0 && a->args[0]->kind == E_NUM)
			p[i - 1] = -a->args[0]->num;
		else if (elab_report_once(in->E, a))
			diag_error(in->E->s, a->loc, "semantic error",
				   "Expected a literal number: %s", elab_describe(a));
	}
	if (e->nargs != 4 && elab_report_once(in->E, e))
		diag_error(in->E->s, e->loc, "semantic error",
			   "@hist_linear takes 4 arguments: %s", elab_describe(e));
	if (p[2] <= 0 && e->nargs == 4 && elab_report_once(in->E, e))
		diag_error(in->E->s, e->loc, "semantic error",
			   "histogram bucket width (step) must be positive: %s", elab_describe(e));
	v->hist_kind = 2;
	v->hist_start = p[0];
	v->hist_stop = p[1];
	v->hist_step = p[2];
}

/* @variance(s, N): N is a literal bit shift 0..62, one per global (stap's
 * rules and messages).  Our variance comes from exact running sums, so the
 * shift, which stap uses to scale its integer Welford updates, changes
 * nothing in the result. */
#define VARIANCE_MAX_SHIFT 62

static void check_variance_shift(Infer *in, Expr *e, Var *v)
{
	Expr *n = e->args[1];
	if (n->kind != E_NUM) {
		if (elab_report_once(in->E, n))
			diag_error(in->E->s, n->loc, "semantic error", "expected number: %s", elab_describe(n));
		return;
	}
	if (n->num < 0 || n->num > VARIANCE_MAX_SHIFT) {
		if (elab_report_once(in->E, e))
			diag_error(in->E->s, e->loc, "semantic error", "bit shift (%lld) out of range <0..%d>: %s",
				   (long long)n->num, VARIANCE_MAX_SHIFT, elab_describe(e));
		return;
	}
	ElabVar *ev = ELAB_VAR(v);
	if (ev->variance_shift_set && ev->variance_shift != (int)n->num) {
		if (elab_report_once(in->E, e))
			diag_error(in->E->s, e->loc, "semantic error",
				   "conflicting bit shifts declared (previously %d): %s", ev->variance_shift,
				   elab_describe(e));
		return;
	}
	ev->variance_shift = (int)n->num;
	ev->variance_shift_set = true;
}

static Type infer_stat(Infer *in, Expr *e, Type want)
{
	Expr *a = e->nargs ? e->args[0] : NULL;
	if (a) {
		infer(in, a, TY_STATS);
		if (a->var) {
			a->var->stat_ops |= stat_op_bit(e->op);
			if (e->kind == E_HIST)
				record_hist(in, e, a->var);
			if (e->kind == E_STAT && e->nargs == 2 && !strcmp(e->op, "variance"))
				check_variance_shift(in, e, a->var);
		}
	}
	for (int i = 1; i < e->nargs; i++)
		infer(in, e->args[i], TY_LONG);
	if (e->kind == E_HIST)
		return e->type = TY_STATS;
	return fixed(in, e, TY_LONG, want);
}

static enum stp_type to_stp(Type t)
{
	return t == TY_STRING ? STP_T_STRING : STP_T_LONG;
}

static int register_format(Elab *E, const char *fmt)
{
	for (int i = 0; i < E->prog->formats.len; i++)
		if (strcmp(E->prog->formats.data[i], fmt) == 0)
			return i;
	vec_push(&E->prog->formats, xstrdup(fmt));
	return E->prog->formats.len - 1;
}

static void infer_printf(Infer *in, Expr *e)
{
	Expr *f = e->args[0];
	if (f->kind != E_STR) {
		infer(in, f, TY_STRING);
		if (elab_report_once(in->E, f))
			diag_error(in->E->s, f->loc, "semantic error",
				   "format string must be a literal string: %s", elab_describe(f));
		return;
	}
	f->type = TY_STRING;
	enum stp_type types[64];
	char err[256] = "";
	int n = stp_format_arg_types(f->str, types, 64, err, sizeof err);
	if (n < 0) {
		if (elab_report_once(in->E, e))
			diag_error(in->E->s, f->loc, "semantic error", "%s: %s", err, elab_describe(f));
		return;
	}
	if (n != e->nargs - 1) {
		if (elab_report_once(in->E, e))
			diag_error(in->E->s, e->loc, "semantic error",
				   "Wrong number of args to formatted print operator: %s",
				   elab_describe(e));
		return;
	}
	for (int i = 1; i < e->nargs; i++) {
		Type want = types[i - 1] == STP_T_STRING ? TY_STRING : TY_LONG;
		infer(in, e->args[i], want);
		(void)to_stp;
	}
	if (in->E->final_pass)
		e->fmt_id = register_format(in->E, f->str);
}

static Type infer_builtin(Infer *in, Expr *e, Type want)
{
	const Builtin *b = e->builtin;
	if (builtin_is_printf_family(b) && e->nargs >= 1) {
		infer_printf(in, e);
	} else {
		for (int i = 0; i < e->nargs; i++) {
			Type at = i < 6 ? b->args[i] : TY_UNKNOWN;
			if (b->max_args < 0 && i >= 1 && b->args[1] == TY_UNKNOWN)
				at = TY_UNKNOWN;
			Type t = infer(in, e->args[i], at);
			if (builtin_is_print_family(b) && t == TY_STATS && e->args[i]->kind != E_HIST &&
			    elab_report_once(in->E, e->args[i]))
				diag_error(in->E->s, e->args[i]->loc, "semantic error",
					   "cannot print a statistic directly; use @count, @sum or @hist_*: %s",
					   elab_describe(e->args[i]));
		}
	}
	if (b->ret == TY_VOID)
		return e->type = TY_VOID;
	return fixed(in, e, b->ret, want);
}

static Type infer_call(Infer *in, Expr *e, Type want)
{
	if (e->builtin)
		return infer_builtin(in, e, want);
	Func *f = e->func;
	if (!f || f->nparams != e->nargs) {
		for (int i = 0; i < e->nargs; i++)
			infer(in, e->args[i], TY_UNKNOWN);
		return e->type = TY_UNKNOWN;
	}
	ElabFunc *ef = elab_func_info(in->E, f);
	for (int i = 0; i < e->nargs; i++) {
		ElabVar *pv = ef->param_vars[i];
		Type t = infer(in, e->args[i], pv->v.type);
		if (pv->v.type == TY_UNKNOWN && t != TY_UNKNOWN)
			unify_slot(in, &pv->v.type, &pv->type_at, t, e->args[i]);
	}
	/* stap infers a return type from the function's return statements
	 * only, never from how a call is used */
	e->type = f->ret;
	if (want != TY_UNKNOWN && want != TY_VOID && f->ret != TY_UNKNOWN && f->ret != want)
		mismatch_var(in, e, want, f->ret, ef->ret_at);
	return e->type;
}

static bool is_arith(const char *op)
{
	return strcmp(op, ".") != 0 && strcmp(op, ".=") != 0 && strcmp(op, "=") != 0;
}

static Type infer_assign(Infer *in, Expr *e, Type want)
{
	Expr *lhs = e->args[0], *rhs = e->args[1];
	if (strcmp(e->op, "=") == 0) {
		Type t = infer(in, rhs, lhs->type);
		Type l = infer(in, lhs, t);
		if (t == TY_UNKNOWN && l != TY_UNKNOWN)
			t = infer(in, rhs, l);
		if (l == TY_STATS && elab_report_once(in->E, e))
			diag_error(in->E->s, e->loc, "semantic error",
				   "cannot assign to a statistic; use <<<: %s", elab_describe(e));
		return e->type = l != TY_UNKNOWN ? l : t;
	}
	Type t = is_arith(e->op) ? TY_LONG : TY_STRING;
	infer(in, rhs, t);
	infer(in, lhs, t);
	return fixed(in, e, t, want);
}

static Type infer_binary(Infer *in, Expr *e, Type want)
{
	if (strcmp(e->op, ".") == 0) {
		infer(in, e->args[0], TY_STRING);
		infer(in, e->args[1], TY_STRING);
		return fixed(in, e, TY_STRING, want);
	}
	infer(in, e->args[0], TY_LONG);
	infer(in, e->args[1], TY_LONG);
	return fixed(in, e, TY_LONG, want);
}

/* A bad =~ pattern is a pass-2 error, in stap's words. */
static void check_regex(Infer *in, const Expr *pat)
{
	Regex re;
	RegexError err;
	if (regex_compile(&re, pat->str, pat->len, &err)) {
		regex_free(&re);
		return;
	}
	if (!elab_report_once(in->E, pat))
		return;
	char at[48] = "";
	if (err.pos >= 0)
		snprintf(at, sizeof at, " (at position %d)", err.pos);
	diag_error(in->E->s, pat->loc, "semantic error", "regex compilation error%s: %s: string '%s'", at,
		   err.msg, pat->str);
}

static Type infer_compare(Infer *in, Expr *e, Type want)
{
	if (strcmp(e->op, "=~") == 0 || strcmp(e->op, "!~") == 0) {
		infer(in, e->args[0], TY_STRING);
		infer(in, e->args[1], TY_STRING);
		if (e->args[1]->kind != E_STR && elab_report_once(in->E, e->args[1]))
			diag_error(in->E->s, e->args[1]->loc, "semantic error",
				   "regex must be a literal string: %s", elab_describe(e->args[1]));
		else if (e->args[1]->kind == E_STR && e->type == TY_UNKNOWN)
			check_regex(in, e->args[1]);
		return fixed(in, e, TY_LONG, want);
	}
	Type l = infer(in, e->args[0], TY_UNKNOWN);
	Type r = infer(in, e->args[1], l);
	if (l == TY_UNKNOWN && r != TY_UNKNOWN)
		infer(in, e->args[0], r);
	return fixed(in, e, TY_LONG, want);
}

static Type infer_index(Infer *in, Expr *e, Type want)
{
	if (!e->var) {
		for (int i = 0; i < e->nargs; i++)
			infer(in, e->args[i], TY_UNKNOWN);
		return e->type = TY_UNKNOWN;
	}
	ElabVar *ev = ELAB_VAR(e->var);
	check_arity(in, ev, e->nargs, e);
	infer_keys(in, ev, e->args, e->nargs);
	if (e->kind == E_IN)
		return fixed(in, e, TY_LONG, want);
	return infer_var_value(in, e, want);
}

static Type infer_sym(Infer *in, Expr *e, Type want)
{
	if (!e->var)
		return e->type = TY_UNKNOWN;
	ElabVar *ev = ELAB_VAR(e->var);
	if (!e->is_array_ref && ev->v.scope == VAR_GLOBAL)
		check_arity(in, ev, 0, e);
	if (e->is_array_ref)
		return e->type = ev->v.type;
	return infer_var_value(in, e, want);
}

static Type infer(Infer *in, Expr *e, Type want)
{
	if (!e)
		return TY_UNKNOWN;
	switch (e->kind) {
	case E_NUM:
		return fixed(in, e, TY_LONG, want);
	case E_STR:
		return fixed(in, e, TY_STRING, want);
	case E_SYM:
		return infer_sym(in, e, want);
	case E_INDEX:
	case E_IN:
		return infer_index(in, e, want);
	case E_CALL:
		return infer_call(in, e, want);
	case E_TARGET:
		for (int i = 0; i < e->ncomps; i++)
			infer(in, e->comps[i].expr, TY_LONG);
		if (e->type == TY_UNKNOWN)
			e->type = TY_LONG;
		return fixed(in, e, e->type, want);
	case E_CAST:
	case E_VAR_AT:
		for (int i = 0; i < e->nargs; i++)
			infer(in, e->args[i], i == 0 ? TY_LONG : TY_STRING);
		for (int i = 0; i < e->ncomps; i++)
			infer(in, e->comps[i].expr, TY_LONG);
		return fixed(in, e, e->type ? e->type : TY_LONG, want);
	case E_ENTRY: {
		Type t = e->nargs ? infer(in, e->args[0], want) : TY_LONG;
		return e->type = t;
	}
	case E_DEFINED:
		return fixed(in, e, TY_LONG, want);
	case E_STAT:
	case E_HIST:
		return infer_stat(in, e, want);
	case E_UNARY:
		if (e->op[0] == '&' && !e->args[0]->addressof && elab_report_once(in->E, e))
			diag_error(in->E->s, e->loc, "semantic error",
				   "'&' takes the address of $var->member, @cast(...)->member or @var(...), "
				   "not of an expression");
		infer(in, e->args[0], TY_LONG);
		return fixed(in, e, TY_LONG, want);
	case E_INCDEC:
		infer(in, e->args[0], TY_LONG);
		return fixed(in, e, TY_LONG, want);
	case E_BINARY:
		return infer_binary(in, e, want);
	case E_COMPARE:
		return infer_compare(in, e, want);
	case E_ASSIGN:
		return infer_assign(in, e, want);
	case E_STATS_ADD:
		infer(in, e->args[0], TY_STATS);
		infer(in, e->args[1], TY_LONG);
		return e->type = TY_VOID;
	case E_TERNARY: {
		infer(in, e->args[0], TY_LONG);
		Type a = infer(in, e->args[1], want);
		Type b = infer(in, e->args[2], a != TY_UNKNOWN ? a : want);
		if (a == TY_UNKNOWN && b != TY_UNKNOWN)
			a = infer(in, e->args[1], b);
		return e->type = a;
	}
	case E_EMBEDDED:
		return e->type = e->str && strstr(e->str, "/* string */") ? TY_STRING : TY_LONG;
	}
	return TY_UNKNOWN;
}

static void bind_loop_var(Infer *in, Var *v, Type *slot, const Expr *slot_at, const Expr *at)
{
	if (!v)
		return;
	ElabVar *ev = ELAB_VAR(v);
	if (*slot != TY_UNKNOWN)
		unify_slot(in, &ev->v.type, &ev->type_at, *slot, at);
	else if (ev->v.type != TY_UNKNOWN && *slot == TY_UNKNOWN) {
		*slot = ev->v.type;
		in->E->type_changes++;
	}
	(void)slot_at;
}

static void infer_foreach(Infer *in, Stmt *st)
{
	ForeachInfo *fe = st->fe;
	Expr *arr = fe->array_expr;
	if (arr && arr->var) {
		ElabVar *ev = ELAB_VAR(arr->var);
		check_arity(in, ev, fe->nkeys, arr);
		if (ev->v.nkeys == fe->nkeys) {
			for (int i = 0; i < fe->nkeys; i++)
				bind_loop_var(in, fe->key_vars[i], &ev->v.keys[i], NULL, arr);
			if (fe->value_var)
				bind_loop_var(in, fe->value_var, &ev->v.type, ev->type_at, arr);
		}
		arr->type = ev->v.type;
	} else if (arr) {
		infer(in, arr, TY_UNKNOWN);
	}
	infer(in, fe->limit, TY_LONG);
	infer_stmt(in, st->then);
}

static void infer_stmt(Infer *in, Stmt *st)
{
	if (!st)
		return;
	switch (st->kind) {
	case S_BLOCK:
		for (int i = 0; i < st->nbody; i++)
			infer_stmt(in, st->body[i]);
		return;
	case S_EXPR:
		infer(in, st->expr, TY_UNKNOWN);
		return;
	case S_IF:
		infer(in, st->expr, TY_LONG);
		infer_stmt(in, st->then);
		infer_stmt(in, st->els);
		return;
	case S_FOR:
	case S_DO:
		infer_stmt(in, st->init);
		infer(in, st->expr, TY_LONG);
		infer(in, st->incr, TY_UNKNOWN);
		infer_stmt(in, st->then);
		return;
	case S_FOREACH:
		infer_foreach(in, st);
		return;
	case S_RETURN:
		if (in->func && st->expr) {
			Func *f = in->func;
			ElabFunc *ef = elab_func_info(in->E, f);
			Type t = infer(in, st->expr, f->ret);
			if (f->ret == TY_UNKNOWN && t != TY_UNKNOWN)
				unify_slot(in, &f->ret, &ef->ret_at, t, st->expr);
		}
		return;
	case S_DELETE:
		if (st->expr && st->expr->kind == E_INDEX)
			infer(in, st->expr, TY_UNKNOWN);
		else if (st->expr && st->expr->kind == E_SYM && st->expr->var)
			st->expr->type = st->expr->var->type;
		return;
	case S_TRY:
		infer_stmt(in, st->then);
		infer_stmt(in, st->els);
		return;
	default:
		return;
	}
}

static void report_unresolved_vars(Elab *E, Vec *vars)
{
	for (int i = 0; i < vars->len; i++) {
		ElabVar *ev = vars->data[i];
		if (ev->v.type != TY_UNKNOWN || ev->v.scope == VAR_GLOBAL)
			continue;
		if (!elab_report_once(E, ev))
			continue;
		diag_error(E->s, ev->v.loc, "semantic error", "unresolved type : identifier '%s'",
			   ev->v.name);
	}
}

static void visit_all(Elab *E)
{
	Program *p = E->prog;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = p->probes.data[i];
		Infer in = {E, NULL};
		infer_stmt(&in, dp->body);
		infer(&in, dp->cond, TY_LONG);
	}
	for (int i = 0; i < E->func_queue.len; i++) {
		Func *f = E->func_queue.data[i];
		Infer in = {E, f};
		infer_stmt(&in, f->body);
	}
}

void elab_infer_types(Elab *E)
{
	for (int round = 0; round < 64; round++) {
		E->type_changes = 0;
		visit_all(E);
		if (!E->type_changes)
			break;
	}
	E->final_pass = true;
	visit_all(E);
	for (int i = 0; i < E->prog->probes.len; i++)
		report_unresolved_vars(E, &((DerivedProbe *)E->prog->probes.data[i])->locals);
	for (int i = 0; i < E->func_queue.len; i++)
		report_unresolved_vars(E, &((Func *)E->func_queue.data[i])->locals);
}

/* ============================================================ contexts */

static const char *ctx_name(Context c)
{
	return c == CTX_USER ? "user-space probes (begin, end, error, timer)" : "kernel probes";
}

typedef struct CtxCheck {
	Elab *E;
	Context ctx;
	Expr *calls[64];     /* the script-function calls that led here */
	int ncalls;
} CtxCheck;

static bool in_tapset(SrcLoc loc)
{
	return loc.file && loc.file->is_tapset;
}

/* A built-in unavailable in the context, here or in a function called
 * from here (each function checked once per context).  Deep in the
 * library, the error is the script's call into it, with the chain: the
 * line the user wrote is the one to change. */
static bool check_ctx_node(Expr *e, void *arg)
{
	CtxCheck *cc = arg;
	if (e->kind == E_CALL && e->builtin && !(e->builtin->contexts & (1u << cc->ctx)) &&
	    elab_report_once(cc->E, e)) {
		int user = -1;
		for (int i = 0; i < cc->ncalls; i++)
			if (!in_tapset(cc->calls[i]->loc))
				user = i;
		if (in_tapset(e->loc) && user >= 0) {
			StrBuf chain = {0};
			for (int i = user + 1; i < cc->ncalls; i++)
				sb_printf(&chain, "%s() -> ", cc->calls[i]->name);
			Expr *at = cc->calls[user];
			diag_error(cc->E->s, at->loc, "semantic error",
				   "function '%s' is not available in %s: it calls %s%s() (%s:%d): %s", at->name,
				   ctx_name(cc->ctx), chain.s ? chain.s : "", e->name, e->loc.file->name, e->loc.line,
				   elab_describe(at));
			free(chain.s);
		} else {
			diag_error(cc->E->s, e->loc, "semantic error", "function '%s' is not available in %s: %s",
				   e->name, ctx_name(cc->ctx), elab_describe(e));
		}
	}
	if (e->kind == E_CALL && e->func) {
		ElabFunc *ef = elab_func_info(cc->E, e->func);
		if (!ef->ctx_checked[cc->ctx] && cc->ncalls < 64) {
			ef->ctx_checked[cc->ctx] = true;
			cc->calls[cc->ncalls++] = e;
			ast_walk_stmt(e->func->body, &(AstWalk){.expr = check_ctx_node, .arg = cc});
			cc->ncalls--;
		}
	}
	return false;
}

void elab_check_contexts(Elab *E)
{
	for (int i = 0; i < E->prog->probes.len; i++) {
		DerivedProbe *dp = E->prog->probes.data[i];
		CtxCheck cc = {.E = E, .ctx = dp->ctx};
		ast_walk_stmt(dp->body, &(AstWalk){.expr = check_ctx_node, .arg = &cc});
	}
}
