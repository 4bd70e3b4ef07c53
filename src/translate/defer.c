/* defer.c - strings formatted by staprun instead of in the kernel.
 *
 * `V = _defer(F(a1, ..., an))` (a tapset-internal built-in; F a script
 * function returning a string) means V = F(a1, ..., an).  In a kernel
 * handler where V is only ever printed, the call need not run there: the
 * handler keeps the arguments' values in hidden locals of its frame
 * ("captured"), and each print of V writes a deferred field into the
 * record instead of text: the function's id and the captured values.
 * staprun runs F, compiled into the host unit, on them when it formats
 * the record (doc/module-format.md, "Deferred strings").  So argstr of
 * syscall.* costs a few word copies in the kernel, and the decoders and
 * sprintf run in user space.
 *
 * `V = W(...)` of such a wrapper W (below) is taken as `V = _defer(F(...))`.
 *
 * The decision is per probe and per variable, made before any code is
 * written, and always safe: V must be assigned exactly once, by that
 * statement, on the handler's straight-line path (not under a condition
 * or loop), and every other use of V must come after it as a direct
 * argument of print, println, printf, printd or printdln.  Anything else
 * (a comparison, strlen, sprintf, a map store, a function argument)
 * needs the text in the kernel, and the call is made there as before.
 * Both ways run the same script function, so the text is the same.
 *
 * A print argument can also be deferred without a local ("direct"): the
 * argument is `_defer(F(...))` itself, or a call of a script function
 * whose whole body is `return _defer(F(p1, ..., pn))` with its own
 * parameters in order (a tapset wrapper, say `symname(addr)`), among
 * which may stand literals and built-ins of literals (`usymfile(addr)`
 * passes `pid()` too).  F's arguments are then evaluated where the
 * argument would have been, and written into the record.
 */
#include "translate.h"

#include <stdlib.h>
#include <string.h>

typedef struct Deferral {
	DerivedProbe *dp;
	Var *var;        /* the local that holds the value */
	Expr *defer;     /* the _defer(...) call */
	Expr *call;      /* F(...), its argument */
	Var **captured;  /* hidden locals, one per argument of F */
	Expr **args;     /* V = W(...) of a wrapper W: what F's arguments are evaluated from */
} Deferral;

static Vec deferrals; /* Deferral* */

/* A print argument deferred without a local. */
typedef struct Direct {
	Expr *arg;       /* the print argument */
	Expr *call;      /* F(...) when the argument is _defer(F(...)), else NULL */
	Func *fn;        /* F */
	Expr **args;     /* the expressions F's arguments are evaluated from */
	int nargs;
} Direct;

static Vec directs; /* Direct* */

static bool is_defer_call(const Expr *x)
{
	return x && x->kind == E_CALL && !x->func && x->name && !strcmp(x->name, "_defer") && x->nargs == 1;
}

/* The argument of _defer that can be deferred: a call of a script
 * function with a script body that returns a string. */
static Expr *deferrable_call(const Expr *defer)
{
	Expr *c = defer->args[0];
	if (c->kind != E_CALL || !c->func || !c->func->body || c->func->ret != TY_STRING)
		return NULL;
	if (c->nargs != c->func->nparams || c->func->locals.len < c->nargs)
		return NULL;
	return c;
}

/* ------------------------------------------------------- the decision */

/* How a local is used, in handler order (pre-order walk). */
typedef struct UseScan {
	Var *var;
	Expr *assign;         /* the one `var = _defer(...)`, if found on the straight path */
	int order;            /* visit counter */
	int assign_order;     /* visit number of that assignment */
	int assignments;      /* every write of var */
	bool bad;             /* a use that needs the text */
	int first_print;      /* visit number of the first printed use (-1 none) */
} UseScan;

static bool is_print_call(const Expr *x, int *first_value)
{
	if (x->kind != E_CALL || x->func || !x->name)
		return false;
	const char *n = x->name;
	if (!strcmp(n, "print") || !strcmp(n, "println")) {
		*first_value = 0;
		return true;
	}
	if (!strcmp(n, "printf") || !strcmp(n, "printd") || !strcmp(n, "printdln")) {
		*first_value = 1;
		return true;
	}
	return false;
}

static void scan_expr(UseScan *u, const Expr *x);

static void scan_expr_list(UseScan *u, Expr **args, int n)
{
	for (int i = 0; i < n; i++)
		scan_expr(u, args[i]);
}

static void scan_expr(UseScan *u, const Expr *x)
{
	if (!x)
		return;
	u->order++;
	int first = 0;
	if (is_print_call(x, &first)) {
		for (int i = 0; i < x->nargs; i++) {
			const Expr *a = x->args[i];
			if (i >= first && a->kind == E_SYM && a->var == u->var) {
				u->order++;
				if (u->first_print < 0)
					u->first_print = u->order;
				continue;
			}
			scan_expr(u, a);
		}
		return;
	}
	if (x->kind == E_ASSIGN && x->args[0]->kind == E_SYM && x->args[0]->var == u->var) {
		u->assignments++;
		if (x != u->assign)
			u->bad = true;
		scan_expr(u, x->args[1]);
		return;
	}
	if ((x->kind == E_SYM || x->kind == E_INCDEC) && x->var == u->var)
		u->bad = true;
	if (x->kind == E_SYM && x->var == u->var)
		u->bad = true;
	scan_expr_list(u, x->args, x->nargs);
	for (int i = 0; i < x->ncomps; i++)
		scan_expr(u, x->comps[i].expr);
}

static void scan_stmt(UseScan *u, const Stmt *st)
{
	if (!st)
		return;
	u->order++;
	if (st->kind == S_FOREACH && st->fe) {
		for (int i = 0; i < st->fe->nkeys; i++)
			if (st->fe->key_vars[i] == u->var)
				u->bad = true;
		if (st->fe->value_var == u->var)
			u->bad = true;
		scan_expr(u, st->fe->limit);
	}
	if (st->var_catch == u->var)
		u->bad = true;
	if (st->kind == S_EXPR && st->expr == u->assign)
		u->assign_order = u->order;
	for (int i = 0; i < st->nbody; i++)
		scan_stmt(u, st->body[i]);
	scan_expr(u, st->expr);
	scan_stmt(u, st->init);
	scan_expr(u, st->incr);
	scan_stmt(u, st->then);
	scan_stmt(u, st->els);
}

static Expr *wrapped_call(const Func *f);

/* A call of a wrapper (below) with its arguments. */
static bool is_wrapper_call(const Expr *x)
{
	return x->kind == E_CALL && x->func && x->func->body && x->nargs == x->func->nparams && wrapped_call(x->func);
}

/* F's arguments as a call of wrapper W evaluates them: W's parameters
 * replaced by the call's arguments. */
static Expr **wrapper_args(const Expr *wcall, const Expr *c)
{
	Expr **args = xcalloc((size_t)c->nargs + 1, sizeof *args);
	for (int k = 0, next = 0; k < c->nargs; k++)
		args[k] = c->args[k]->kind == E_SYM ? wcall->args[next++] : c->args[k];
	return args;
}

/* Candidate statements `V = _defer(F(...))`, or `V = W(...)` of a
 * wrapper W, on the straight-line path: statements of the body's blocks,
 * not under if, loops or try. */
static void straight_candidates(Stmt *st, Vec *out)
{
	if (!st)
		return;
	if (st->kind == S_BLOCK) {
		for (int i = 0; i < st->nbody; i++)
			straight_candidates(st->body[i], out);
		return;
	}
	if (st->kind != S_EXPR || !st->expr)
		return;
	Expr *x = st->expr;
	if (x->kind == E_ASSIGN && !strcmp(x->op, "=") && x->args[0]->kind == E_SYM && x->args[0]->var &&
	    x->args[0]->var->scope == VAR_LOCAL &&
	    ((is_defer_call(x->args[1]) && deferrable_call(x->args[1])) || is_wrapper_call(x->args[1])))
		vec_push(out, x);
}

static Var *hidden_local(DerivedProbe *dp, Var *v, int i, Type type)
{
	Var *h = xcalloc(1, sizeof *h);
	h->name = xasprintf("_d_%s_%d", v->name, i);
	h->scope = VAR_LOCAL;
	h->type = type;
	h->loc = v->loc;
	vec_push(&dp->locals, h);
	return h;
}

static void plan_probe(DerivedProbe *dp)
{
	Vec cands = {0};
	straight_candidates(dp->body, &cands);
	for (int i = 0; i < cands.len; i++) {
		Expr *assign = VEC_AT(&cands, i);
		UseScan u = {.var = assign->args[0]->var, .assign = assign, .first_print = -1};
		scan_stmt(&u, dp->body);
		scan_expr(&u, dp->cond);
		if (u.bad || u.assignments != 1 || u.first_print < 0 || u.first_print < u.assign_order)
			continue;
		Deferral *d = xcalloc(1, sizeof *d);
		d->dp = dp;
		d->var = u.var;
		d->defer = assign->args[1];
		if (is_defer_call(d->defer)) {
			d->call = deferrable_call(d->defer);
		} else {
			d->call = wrapped_call(d->defer->func);
			d->args = wrapper_args(d->defer, d->call);
		}
		d->captured = xcalloc((size_t)d->call->nargs + 1, sizeof *d->captured);
		for (int k = 0; k < d->call->nargs; k++) {
			Var *param = VEC_AT(&d->call->func->locals, k);
			d->captured[k] = hidden_local(dp, u.var, k, param->type);
		}
		vec_push(&deferrals, d);
	}
	free(cands.data);
}

/* An argument a wrapper may give F besides its parameters: a literal, or
 * a built-in of literals (pid(), _stack_at(1)), which means the same
 * evaluated where the print is. */
static bool context_arg(const Expr *x)
{
	if (x->kind == E_NUM || x->kind == E_STR)
		return true;
	if (x->kind != E_CALL || x->func || !x->builtin)
		return false;
	for (int i = 0; i < x->nargs; i++)
		if (!context_arg(x->args[i]))
			return false;
	return true;
}

/* F(...) of a function whose body is `return _defer(F(a1, ..., am))`,
 * where the a's are its parameters, each once and in order, and
 * context arguments (so F(args) is the wrapper's value), else NULL. */
static Expr *wrapped_call(const Func *f)
{
	const Stmt *st = f->body;
	while (st && st->kind == S_BLOCK && st->nbody == 1)
		st = st->body[0];
	if (!st || st->kind != S_RETURN || !is_defer_call(st->expr))
		return NULL;
	Expr *c = deferrable_call(st->expr);
	if (!c)
		return NULL;
	int next = 0;
	for (int k = 0; k < c->nargs; k++) {
		Expr *a = c->args[k];
		if (next < f->nparams && a->kind == E_SYM && a->var == VEC_AT(&f->locals, next))
			next++;
		else if (!context_arg(a))
			return NULL;
	}
	return next == f->nparams ? c : NULL;
}

static void plan_direct(Expr *arg)
{
	Direct d = {.arg = arg};
	if (is_defer_call(arg) && (d.call = deferrable_call(arg))) {
		d.fn = d.call->func;
		d.args = d.call->args;
		d.nargs = d.call->nargs;
	} else if (arg->kind == E_CALL && arg->func && arg->func->body && arg->nargs == arg->func->nparams) {
		Expr *c = wrapped_call(arg->func);
		if (!c)
			return;
		d.fn = c->func;
		d.nargs = c->nargs;
		d.args = wrapper_args(arg, c);
	} else {
		return;
	}
	Direct *n = xmalloc(sizeof *n);
	*n = d;
	vec_push(&directs, n);
}

static bool plan_print_args(Expr *x, void *unused)
{
	int first = 0;
	if (is_print_call(x, &first))
		for (int i = first; i < x->nargs; i++)
			plan_direct(x->args[i]);
	return false;
}

void defer_plan(Program *p)
{
	deferrals.len = 0;
	directs.len = 0;
	const AstWalk walk = {.expr = plan_print_args};
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		if (dp->ctx != CTX_KERNEL)
			continue;
		plan_probe(dp);
		ast_walk_stmt(dp->body, &walk);
	}
}

static Direct *direct_of_arg(const Expr *arg)
{
	for (int i = 0; i < directs.len; i++) {
		Direct *d = VEC_AT(&directs, i);
		if (d->arg == arg)
			return d;
	}
	return NULL;
}

static Deferral *deferral_of_call(const Expr *defer)
{
	for (int i = 0; i < deferrals.len; i++) {
		Deferral *d = VEC_AT(&deferrals, i);
		if (d->defer == defer)
			return d;
	}
	return NULL;
}

static Deferral *deferral_of_var(const Var *v)
{
	for (int i = 0; i < deferrals.len; i++) {
		Deferral *d = VEC_AT(&deferrals, i);
		if (d->var == v)
			return d;
	}
	return NULL;
}

/* ------------------------------------------------------- kernel side */

bool defer_is_captured(const Expr *x)
{
	if (x && x->kind == E_CALL && x->func)
		return deferral_of_call(x) != NULL; /* V = W(...) */
	return is_defer_call(x) && (deferral_of_call(x) || direct_of_arg(x));
}

bool defer_call_is_captured(const Expr *call)
{
	for (int i = 0; i < deferrals.len; i++) {
		Deferral *d = VEC_AT(&deferrals, i);
		if (d->call == call || (d->args && d->defer == call))
			return true;
	}
	for (int i = 0; i < directs.len; i++) {
		Direct *d = VEC_AT(&directs, i);
		if (d->call == call || (!d->call && d->arg == call))
			return true;
	}
	return false;
}

/* _defer(F(...)), or W(...) assigned to a deferred local: captured, the
 * arguments go to the hidden locals and the value is empty (never read
 * as text); otherwise the call is made. */
char *emit_defer(Emitter *e, Expr *x)
{
	Deferral *d = e->target == T_BPF ? deferral_of_call(x) : NULL;
	if (!d)
		return emit_expr(e, x->args[0]);
	for (int k = 0; k < d->call->nargs; k++) {
		char *v = emit_expr(e, d->args ? d->args[k] : d->call->args[k]);
		const char *dst = var_c_name(e, d->captured[k]);
		if (d->captured[k]->type == TY_STRING)
			emit_line(e, "stp_str_copy(%s, %s);", dst, v);
		else
			emit_line(e, "%s = %s;", dst, v);
	}
	return literal_operand(e, "");
}

bool defer_is_printed(const Expr *arg)
{
	return (arg->kind == E_SYM && arg->var && deferral_of_var(arg->var)) || direct_of_arg(arg);
}

/* A direct deferral's arguments, evaluated where the print argument would
 * be (one value per argument of F); NULL for a deferred local, whose
 * values are in hidden locals already. */
char **defer_eval(Emitter *e, const Expr *arg)
{
	Direct *d = direct_of_arg(arg);
	if (!d)
		return NULL;
	char **vals = xcalloc((size_t)d->nargs + 1, sizeof *vals);
	for (int k = 0; k < d->nargs; k++)
		vals[k] = emit_expr(e, d->args[k]);
	return vals;
}

static void emit_field_value(Emitter *e, Type type, const char *v)
{
	if (type == TY_STRING)
		emit_line(e, "  o_ = stp_rec_str(r_, o_, %s, 0);", v);
	else
		emit_line(e, "  o_ = stp_rec_long(r_, o_, %s);", v);
}

/* The record field of a printed deferred value: the marker, the
 * function id, then each argument of the function packed as a printf
 * argument.  vals: what defer_eval returned for arg (freed here). */
void emit_defer_field(Emitter *e, const Expr *arg, char **vals)
{
	Direct *dir = direct_of_arg(arg);
	Deferral *d = dir ? NULL : deferral_of_var(arg->var);
	Expr *call = dir ? dir->call : d->call;
	Func *fn = dir ? dir->fn : d->call->func;
	const char *fid = call ? emit_lifted(e, call) : NULL;
	if (fid)
		emit_line(e, "  o_ = stp_rec_defer(r_, o_, %s);", fid);
	else
		emit_line(e, "  o_ = stp_rec_defer(r_, o_, %d);", fn->id);
	for (int k = 0; k < fn->nparams; k++) {
		Type type = ((Var *)VEC_AT(&fn->locals, k))->type;
		emit_field_value(e, type, dir ? vals[k] : var_c_name(e, d->captured[k]));
		if (dir)
			free(vals[k]);
	}
	free(vals);
}

/* Bytes a deferred field may take in a record. */
unsigned defer_field_max(Session *s, const Expr *arg)
{
	Direct *dir = direct_of_arg(arg);
	Func *fn = dir ? dir->fn : deferral_of_var(arg->var)->call->func;
	unsigned n = 4;
	for (int k = 0; k < fn->nparams; k++)
		n += ((Var *)VEC_AT(&fn->locals, k))->type == TY_STRING ? (unsigned)s->limits.maxstringlen + 4 : 8;
	return n;
}

/* --------------------------------------------------------- host side */

static bool *deferred_functions(Program *p)
{
	bool *is = xcalloc((size_t)p->functions.len + 1, 1);
	for (int i = 0; i < deferrals.len; i++) {
		Deferral *d = VEC_AT(&deferrals, i);
		is[d->call->func->id] = true;
	}
	for (int i = 0; i < directs.len; i++)
		is[((Direct *)VEC_AT(&directs, i))->fn->id] = true;
	return is;
}

/* Host handlers need these too: staprun calls them. */
void defer_host_roots(Program *p, Vec *funcs)
{
	bool *is = deferred_functions(p);
	for (int i = 0; i < p->functions.len; i++)
		if (is[i])
			vec_push(funcs, VEC_AT(&p->functions, i));
	free(is);
}

/* One wrapper per deferred function: unpack the captured values into a
 * fresh frame, run the function, copy its text out (STP_STRLEN bytes). */
static void emit_host_wrapper(StrBuf *b, Func *f)
{
	sb_printf(b, "static void stp_defer_fn_%d(struct stp_ctx *K, const void *a_, size_t n_, size_t *pos_, char *out)\n{\n",
		  f->id);
	sb_printf(b, "\tstruct stp_frame_f%d *CF = calloc(1, sizeof *CF);\n", f->id);
	sb_puts(b, "\tout[0] = 0;\n\tif (!CF)\n\t\treturn;\n");
	for (int k = 0; k < f->nparams; k++) {
		Var *v = VEC_AT(&f->locals, k);
		if (v->type == TY_STRING)
			sb_printf(b, "\t{ const char *s_; size_t l_; stp_unpack_str(a_, n_, pos_, &s_, &l_);\n"
				     "\t  if (l_ > STP_STRLEN - 1) l_ = STP_STRLEN - 1;\n"
				     "\t  memcpy(CF->l_%s, s_, l_); CF->l_%s[l_] = 0; }\n",
				  v->name, v->name);
		else
			sb_printf(b, "\tstp_unpack_long(a_, n_, pos_, &CF->l_%s);\n", v->name);
	}
	sb_printf(b, "\tstp_fn_%d(K, CF);\n", f->id);
	sb_puts(b, "\tif (!K->error)\n\t\tmemcpy(out, CF->ret_s, STP_STRLEN);\n\tfree(CF);\n}\n\n");
}

/* The wrappers and the table staprun reads (stp_module.deferred),
 * indexed by function id. */
void defer_emit_host(StrBuf *b, Program *p)
{
	bool *is = deferred_functions(p);
	bool any = false;
	for (int i = 0; i < p->functions.len; i++)
		if (is[i]) {
			emit_host_wrapper(b, VEC_AT(&p->functions, i));
			any = true;
		}
	if (!any) {
		sb_puts(b, "#define stp_deferred 0\n#define STP_NDEFERRED 0\n\n");
		free(is);
		return;
	}
	sb_puts(b, "static const stp_defer_fn stp_deferred[] = {\n");
	for (int i = 0; i < p->functions.len; i++)
		if (is[i])
			sb_printf(b, "\t[%d] = stp_defer_fn_%d,\n", i, i);
	sb_printf(b, "};\n#define STP_NDEFERRED %d\n\n", p->functions.len);
	free(is);
}
