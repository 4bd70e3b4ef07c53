/* dispatch.c - syscall tracepoints served by one program on raw_syscalls,
 * with handlers that differ only in constants merged into one.
 *
 * Many syscalls:sys_enter_X / sys_exit_X points (syscall.* expands to
 * hundreds) are served by a program on raw_syscalls:sys_enter and one on
 * sys_exit: arming is two attachments instead of hundreds.  The records
 * line up: both tracepoints put the number at offset 8 and the arguments
 * (or the return value) from offset 16, 8 bytes each.
 *
 * The program is table-driven.  A read-only row per syscall number says
 * which handler runs (its group) and holds the constants that handler
 * reads: pp() text, and the literals in which the handlers of one group
 * differ.  Handlers are grouped when their bodies are the same tree but
 * for numbers and strings at "liftable" places (the value assigned to a
 * local, the argument of a script function or of _syscall_arg_str, the
 * function a deferred string calls: defer.c); a group's handler reads
 * those from the row (K->row).  With argstr deferred, every handler of
 * `probe syscall.* { printf("%s(%s)\n", name, argstr) }` is one group:
 * the verifier checks one body, not 360.
 *
 * Each handler is called from one place per layer (a layer is one probe
 * per syscall; two probes on the same syscall make two layers), so the
 * verifier walks it once per layer whatever the number of syscalls.
 */
#include "translate.h"
#include "elab/kernel.h"

#include <stdlib.h>
#include <string.h>

#define SYSCALL_DISPATCH_MIN 8
/* A BPF program may call at most 256 subprograms (handler bodies, their
 * functions and loop callbacks), so the calls are split into programs of
 * at most this many handlers and functions, all attached to the same raw
 * tracepoint (room is left for loop callbacks). */
#define DISPATCH_SUBPROGS_PER_PROG 160

typedef struct Lift {
	const Expr *x;     /* the node in the group's representative */
	char *c_expr;      /* what the handler reads instead */
} Lift;

typedef struct Group {
	DerivedProbe *rep;  /* the body that is emitted */
	Vec members;        /* DerivedProbe*, rep first */
	Vec member_nodes;   /* per member: Vec* of const Expr*, its lifted nodes in order */
	Vec lifts;          /* Lift*, in the same order */
	int nnum, nstr;
} Group;

static bool dispatch_syscalls;
static Vec groups;      /* Group* */
static Vec dispatch_raw_tp; /* DerivedProbe*: read TP_PROTO args, not dispatched */

int syscall_point(const Resolved *r, bool *is_exit)
{
	if (r->kind != PK_TRACEPOINT || !r->tp_system || strcmp(r->tp_system, "syscalls") || !r->tp_event)
		return -1;
	const char *ev = r->tp_event;
	if (!strncmp(ev, "sys_enter_", 10)) {
		*is_exit = false;
		return syscall_nr(ev + 10);
	}
	if (!strncmp(ev, "sys_exit_", 9)) {
		*is_exit = true;
		return syscall_nr(ev + 9);
	}
	return -1;
}

static bool reads_tp_args(DerivedProbe *dp)
{
	for (int i = 0; i < dispatch_raw_tp.len; i++)
		if (VEC_AT(&dispatch_raw_tp, i) == dp)
			return true;
	return false;
}

bool dispatched_in(DerivedProbe *dp, const Resolved *r)
{
	bool is_exit;
	return dispatch_syscalls && !reads_tp_args(dp) && syscall_point(r, &is_exit) >= 0;
}

/* ------------------------------------------------ comparing handlers */

typedef struct Match {
	Vec *a, *b;  /* lifted nodes of each side, in order */
} Match;

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_var(const Var *a, const Var *b)
{
	if (a == b)
		return true;
	return a && b && a->scope == VAR_LOCAL && b->scope == VAR_LOCAL && a->type == b->type &&
	       !strcmp(a->name, b->name);
}

static bool same_access(const TargetAccess *a, const TargetAccess *b)
{
	if (a == b)
		return true;
	if (!a || !b || a->kind == TA_TP_ARG || b->kind == TA_TP_ARG || a->kind == TA_C_EXPR)
		return false;
	return a->kind == b->kind && a->type == b->type && a->offset == b->offset && a->size == b->size &&
	       a->is_signed == b->is_signed && a->index == b->index && a->strkind == b->strkind;
}

static bool liftable_str(const Expr *x)
{
	return x->kind == E_STR && x->len + 1 < 128 && !memchr(x->str, 0, x->len);
}

static bool lift_pair(Match *m, const Expr *a, const Expr *b)
{
	vec_push(m->a, (void *)a);
	vec_push(m->b, (void *)b);
	return true;
}

/* A constant where a different one means the same code with another
 * value: numbers and short strings, compared by kind only. */
static bool same_constant(Match *m, const Expr *a, const Expr *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == E_NUM)
		return lift_pair(m, a, b);
	if (liftable_str(a) && liftable_str(b))
		return lift_pair(m, a, b);
	return false;
}

static bool same_expr(Match *m, const Expr *a, const Expr *b);

/* args[i] of a and b, where the argument is a liftable place */
static bool same_operand(Match *m, const Expr *a, const Expr *b, bool liftable)
{
	if (liftable && (a->kind == E_NUM || a->kind == E_STR))
		return same_constant(m, a, b);
	return same_expr(m, a, b);
}

static bool is_defer(const Expr *x)
{
	return x->kind == E_CALL && !x->func && x->name && !strcmp(x->name, "_defer");
}

static bool same_call(Match *m, const Expr *a, const Expr *b, bool deferred)
{
	if (a->func != b->func) {
		/* a deferred string's function is a constant of the record */
		if (!deferred || !a->func || !b->func || a->func->nparams != b->func->nparams)
			return false;
		for (int i = 0; i < a->func->nparams; i++)
			if (((Var *)VEC_AT(&a->func->locals, i))->type != ((Var *)VEC_AT(&b->func->locals, i))->type)
				return false;
		lift_pair(m, a, b);
	} else if (!a->func && !same_str(a->name, b->name)) {
		return false;
	}
	bool args_liftable = a->func || (a->name && !strcmp(a->name, "_syscall_arg_str"));
	for (int i = 0; i < a->nargs; i++)
		if (!same_operand(m, a->args[i], b->args[i], args_liftable))
			return false;
	return true;
}

static bool same_expr(Match *m, const Expr *a, const Expr *b)
{
	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->nargs != b->nargs || a->type != b->type || !same_str(a->op, b->op) ||
	    a->ncomps || b->ncomps || a->postfix != b->postfix || a->suffix != b->suffix)
		return false;
	switch (a->kind) {
	case E_NUM:
		return a->num == b->num;
	case E_STR:
		return a->len == b->len && !memcmp(a->str, b->str, a->len);
	case E_SYM:
	case E_INDEX:
	case E_IN:
		if (!same_var(a->var, b->var))
			return false;
		break;
	case E_TARGET:
		return same_str(a->name, b->name) && same_access(a->target, b->target);
	case E_CALL:
		if (a->fmt_id != b->fmt_id)
			return false;
		if (is_defer(a))
			/* only a captured call's function is a row constant; one
			 * made in the kernel is code */
			return is_defer(b) && a->args[0]->kind == E_CALL && b->args[0]->kind == E_CALL &&
			       defer_is_captured(a) == defer_is_captured(b) &&
			       same_call(m, a->args[0], b->args[0], defer_is_captured(a));
		return same_call(m, a, b, false);
	case E_ASSIGN:
		if (!same_expr(m, a->args[0], b->args[0]))
			return false;
		return same_operand(m, a->args[1], b->args[1],
				    a->args[0]->kind == E_SYM && a->args[0]->var && a->args[0]->var->scope == VAR_LOCAL);
	case E_CAST:
	case E_VAR_AT:
	case E_EMBEDDED:
	case E_ENTRY:
		return false;
	default:
		break;
	}
	for (int i = 0; i < a->nargs; i++)
		if (!same_expr(m, a->args[i], b->args[i]))
			return false;
	return true;
}

/* Elision leaves S_NULL where a dead statement was. */
static int next_live(const Stmt *block, int i)
{
	while (i < block->nbody && block->body[i]->kind == S_NULL)
		i++;
	return i;
}

static bool same_stmt(Match *m, const Stmt *a, const Stmt *b)
{
	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->fe || b->fe || a->kind == S_EMBEDDED || !same_str(a->catch_var, b->catch_var))
		return false;
	int i = next_live(a, 0), j = next_live(b, 0);
	for (; i < a->nbody && j < b->nbody; i = next_live(a, i + 1), j = next_live(b, j + 1))
		if (!same_stmt(m, a->body[i], b->body[j]))
			return false;
	if (i < a->nbody || j < b->nbody)
		return false;
	return same_expr(m, a->expr, b->expr) && same_stmt(m, a->init, b->init) && same_expr(m, a->incr, b->incr) &&
	       same_stmt(m, a->then, b->then) && same_stmt(m, a->els, b->els);
}

static bool same_locals(const DerivedProbe *a, const DerivedProbe *b)
{
	if (a->locals.len != b->locals.len)
		return false;
	for (int i = 0; i < a->locals.len; i++)
		if (!same_var(VEC_AT(&a->locals, i), VEC_AT(&b->locals, i)))
			return false;
	return true;
}

/* Compare b with a; on success *nodes_b holds b's lifted nodes (and a's
 * in *nodes_a), in walk order. */
static bool same_handler(DerivedProbe *a, DerivedProbe *b, Vec *nodes_a, Vec *nodes_b)
{
	nodes_a->len = nodes_b->len = 0;
	Match m = {nodes_a, nodes_b};
	return same_locals(a, b) && same_expr(&m, a->cond, b->cond) && same_stmt(&m, a->body, b->body);
}

/* ------------------------------------------------------------ grouping */

static bool all_points_dispatched(DerivedProbe *dp)
{
	for (int j = 0; j < dp->npoints; j++)
		if (!dispatched_in(dp, dp->points[j]))
			return false;
	return dp->npoints > 0;
}

static bool uses_tp_args_expr(const Expr *x)
{
	if (!x)
		return false;
	if (x->kind == E_TARGET && x->target && ((TargetAccess *)x->target)->kind == TA_TP_ARG)
		return true;
	for (int i = 0; i < x->nargs; i++)
		if (uses_tp_args_expr(x->args[i]))
			return true;
	return false;
}

static bool uses_tp_args_stmt(const Stmt *st)
{
	if (!st)
		return false;
	for (int i = 0; i < st->nbody; i++)
		if (uses_tp_args_stmt(st->body[i]))
			return true;
	return uses_tp_args_expr(st->expr) || uses_tp_args_expr(st->incr) || uses_tp_args_stmt(st->init) ||
	       uses_tp_args_stmt(st->then) || uses_tp_args_stmt(st->els);
}

static Group *new_group(DerivedProbe *rep)
{
	Group *g = xcalloc(1, sizeof *g);
	g->rep = rep;
	vec_push(&g->members, rep);
	vec_push(&g->member_nodes, xcalloc(1, sizeof(Vec)));
	vec_push(&groups, g);
	return g;
}

static void join_group(DerivedProbe *dp)
{
	Vec rep_nodes = {0}, *nodes = xcalloc(1, sizeof *nodes);
	for (int i = 0; i < groups.len; i++) {
		Group *g = VEC_AT(&groups, i);
		if (!all_points_dispatched(g->rep) || !same_handler(g->rep, dp, &rep_nodes, nodes))
			continue;
		*(Vec *)VEC_AT(&g->member_nodes, 0) = rep_nodes;
		vec_push(&g->members, dp);
		vec_push(&g->member_nodes, nodes);
		return;
	}
	free(rep_nodes.data);
	free(nodes);
	new_group(dp);
}

/* A group of several handlers reads every lifted node from the row. */
static void lift_group(Group *g)
{
	if (g->members.len < 2)
		return;
	Vec *rep_nodes = VEC_AT(&g->member_nodes, 0);
	for (int i = 0; i < rep_nodes->len; i++) {
		const Expr *x = VEC_AT(rep_nodes, i);
		Lift *l = xcalloc(1, sizeof *l);
		l->x = x;
		if (x->kind == E_STR)
			l->c_expr = xasprintf("((const struct stp_sysrow *)K->row)->s[%d]", g->nstr++);
		else
			l->c_expr = xasprintf("((const struct stp_sysrow *)K->row)->n[%d]", g->nnum++);
		vec_push(&g->lifts, l);
	}
}

void dispatch_plan(Program *p)
{
	groups.len = 0;
	dispatch_raw_tp.len = 0;
	int n = 0;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		bool is_exit;
		for (int j = 0; j < dp->npoints; j++)
			if (dp->ctx == CTX_KERNEL && syscall_point(dp->points[j], &is_exit) >= 0)
				n++;
	}
	dispatch_syscalls = n >= SYSCALL_DISPATCH_MIN;
	if (!dispatch_syscalls)
		return;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		if (dp->ctx != CTX_KERNEL)
			continue;
		if (uses_tp_args_stmt(dp->body) || uses_tp_args_expr(dp->cond))
			vec_push(&dispatch_raw_tp, dp);
		if (all_points_dispatched(dp))
			join_group(dp);
	}
	for (int i = 0; i < groups.len; i++)
		lift_group(VEC_AT(&groups, i));
}

static Group *group_of(DerivedProbe *dp, int *member)
{
	for (int i = 0; i < groups.len; i++) {
		Group *g = VEC_AT(&groups, i);
		for (int k = 0; k < g->members.len; k++)
			if (VEC_AT(&g->members, k) == dp) {
				if (member)
					*member = k;
				return g;
			}
	}
	return NULL;
}

/* A merged handler's body is emitted once, by its representative. */
bool dispatch_skips_body(DerivedProbe *dp)
{
	Group *g = group_of(dp, NULL);
	return g && g->rep != dp;
}

/* The lifted nodes of the probe about to be emitted (NULL: none). */
Vec *dispatch_lifts(DerivedProbe *dp)
{
	Group *g = group_of(dp, NULL);
	return g && g->lifts.len ? &g->lifts : NULL;
}

const char *emit_lifted(Emitter *e, const Expr *x)
{
	if (!e->lifts)
		return NULL;
	for (int i = 0; i < e->lifts->len; i++) {
		Lift *l = VEC_AT(e->lifts, i);
		if (l->x == x)
			return l->c_expr;
	}
	return NULL;
}

/* ------------------------------------------------------ the row tables */

typedef struct Entry {
	int nr;
	DerivedProbe *dp;
	Resolved *r;
	int layer;
} Entry;

static int entries_for(Program *p, bool want_exit, Vec *out, int *max_nr)
{
	int layers = 0;
	*max_nr = 0;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		if (dp->ctx != CTX_KERNEL || reads_tp_args(dp))
			continue;
		for (int j = 0; j < dp->npoints; j++) {
			bool is_exit;
			int nr = syscall_point(dp->points[j], &is_exit);
			if (nr < 0 || is_exit != want_exit)
				continue;
			Entry *en = xcalloc(1, sizeof *en);
			en->nr = nr;
			en->dp = dp;
			en->r = dp->points[j];
			for (int k = 0; k < out->len; k++)
				if (((Entry *)VEC_AT(out, k))->nr == nr)
					en->layer++;
			if (en->layer + 1 > layers)
				layers = en->layer + 1;
			if (nr > *max_nr)
				*max_nr = nr;
			vec_push(out, en);
		}
	}
	return layers;
}

static int group_index(Group *g)
{
	for (int i = 0; i < groups.len; i++)
		if (VEC_AT(&groups, i) == g)
			return i;
	return -1;
}

static void emit_row(StrBuf *b, const Entry *en)
{
	int member = 0;
	Group *g = group_of(en->dp, &member);
	char *pp = c_string_literal(en->r->pp, strlen(en->r->pp));
	sb_printf(b, "\t[%d] = { .group = %d, .pp = %s", en->nr, group_index(g) + 1, pp);
	free(pp);
	Vec *nodes = VEC_AT(&g->member_nodes, member);
	if (g->lifts.len) {
		sb_puts(b, ", .n = {");
		for (int i = 0; i < nodes->len; i++) {
			const Expr *x = VEC_AT(nodes, i);
			if (x->kind == E_NUM)
				sb_printf(b, " %lldLL,", (long long)x->num);
			else if (x->kind == E_CALL)
				sb_printf(b, " %d,", x->func->id);
		}
		sb_puts(b, " }, .s = {");
		for (int i = 0; i < nodes->len; i++) {
			const Expr *x = VEC_AT(nodes, i);
			if (x->kind == E_STR) {
				char *lit = c_string_literal(x->str, x->len);
				sb_printf(b, " %s,", lit);
				free(lit);
			}
		}
		sb_puts(b, " }");
	}
	sb_puts(b, " },\n");
}

void dispatch_emit_types(StrBuf *b, Program *p)
{
	if (!dispatch_syscalls)
		return;
	size_t pplen = 8;
	int nnum = 1, nstr = 1;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		for (int j = 0; j < dp->npoints; j++)
			if (dp->points[j]->pp && strlen(dp->points[j]->pp) + 1 > pplen)
				pplen = strlen(dp->points[j]->pp) + 1;
	}
	for (int i = 0; i < groups.len; i++) {
		Group *g = VEC_AT(&groups, i);
		if (g->nnum > nnum)
			nnum = g->nnum;
		if (g->nstr > nstr)
			nstr = g->nstr;
	}
	sb_puts(b, "/* one row per syscall number: the handler group to run (0: none),\n"
		   " * pp(), and the constants the group's handler reads */\n");
	sb_printf(b, "struct stp_sysrow {\n\tint32_t group;\n\tint32_t pad;\n\tchar pp[%zu];\n\tint64_t n[%d];\n"
		     "\tchar s[%d][STP_STRBUF];\n};\n\n",
		  (pplen + 7) & ~(size_t)7, nnum, nstr);
}

static void emit_call_chunk(StrBuf *b, const char *dir, int chunk, int nrows, const char *calls, int ptype)
{
	sb_printf(b, "SEC(\"tp/raw_syscalls/sys_%s\")\nint stp_sys_%s_%d(void *ctx)\n{\n", dir, dir, chunk);
	sb_puts(b, "\tif (stp_g.st.session_state != STP_SESSION_RUNNING)\n\t\treturn 0;\n");
	/* the number is copied out of the variable whose address the helper
	 * took, so that its bounds check holds across the handler calls */
	sb_puts(b, "\tint64_t raw_ = 0;\n\tbpf_probe_read_kernel(&raw_, 8, (char *)ctx + 8);\n");
	sb_printf(b, "\tuint64_t nr_ = (uint64_t)raw_;\n\tif (nr_ >= %d)\n\t\treturn 0;\n", nrows);
	/* every dispatched point is a syscalls:sys_enter_/sys_exit_ tracepoint */
	sb_printf(b, "\tstp_kctx_t k = {.ctx = ctx, .ptype = stp_lit_%d, .pret = %d};\n\tconst struct stp_sysrow *row;\n",
		  ptype, !strcmp(dir, "exit"));
	sb_puts(b, calls);
	sb_puts(b, "\treturn 0;\n}\n\n");
}

/* Returns the number of programs emitted for this direction. */
static int emit_direction(Emitter *e, StrBuf *b, Program *p, bool want_exit)
{
	const char *dir = want_exit ? "exit" : "enter";
	Vec entries = {0};
	int max_nr;
	int layers = entries_for(p, want_exit, &entries, &max_nr);
	if (!entries.len)
		return 0;
	int nrows = max_nr + 1;
	for (int L = 0; L < layers; L++) {
		sb_printf(b, "static const struct stp_sysrow stp_sysrows_%s_%d[%d] = {\n", dir, L, nrows);
		for (int i = 0; i < entries.len; i++) {
			Entry *en = VEC_AT(&entries, i);
			if (en->layer == L)
				emit_row(b, en);
		}
		sb_puts(b, "};\n\n");
	}
	/* each (layer, group) is one call site */
	StrBuf calls = {0};
	int ncalls = 0, chunks = 0, nsub = 0;
	bool *in_chunk = xcalloc((size_t)p->functions.len + 1, 1);
	for (int L = 0; L < layers; L++) {
		bool open = false;
		for (int gi = 0; gi < groups.len; gi++) {
			Group *g = VEC_AT(&groups, gi);
			bool used = false;
			for (int i = 0; i < entries.len && !used; i++) {
				Entry *en = VEC_AT(&entries, i);
				used = en->layer == L && group_of(en->dp, NULL) == g;
			}
			if (!used)
				continue;
			/* the handler and the functions it calls that this program
			 * does not have yet */
			bool *fns = probe_functions(p, g->rep);
			int cost = 1;
			for (int f = 0; f < p->functions.len; f++)
				cost += fns[f] && !in_chunk[f];
			if (ncalls && nsub + cost > DISPATCH_SUBPROGS_PER_PROG) {
				if (open)
					sb_puts(&calls, "\t}\n");
				emit_call_chunk(b, dir, chunks++, nrows, calls.s, emit_literal(e, "tracepoint", 10));
				calls.len = 0;
				calls.s[0] = 0;
				ncalls = nsub = 0;
				memset(in_chunk, 0, (size_t)p->functions.len + 1);
				open = false;
				cost = 1;
				for (int f = 0; f < p->functions.len; f++)
					cost += fns[f];
			}
			for (int f = 0; f < p->functions.len; f++)
				in_chunk[f] |= fns[f];
			free(fns);
			nsub += cost;
			if (!open) {
				sb_printf(&calls, "\trow = &stp_sysrows_%s_%d[nr_];\n\tk.pp = row->pp;\n\tk.row = row;\n"
						  "\tswitch (row->group) {\n", dir, L);
				open = true;
			}
			sb_printf(&calls, "\tcase %d:\n\t\tk.error = 0;\n\t\tk.actions = 0;\n\t\tstp_probe_%d(&k);\n\t\tbreak;\n",
				  gi + 1, g->rep->id);
			ncalls++;
		}
		if (open)
			sb_puts(&calls, "\t}\n");
	}
	if (ncalls)
		emit_call_chunk(b, dir, chunks++, nrows, calls.s, emit_literal(e, "tracepoint", 10));
	free(calls.s);
	free(in_chunk);
	(void)e;
	return chunks;
}

void dispatch_emit(Emitter *e, StrBuf *b, Program *p)
{
	if (!dispatch_syscalls)
		return;
	e->dispatch_used[0] = emit_direction(e, b, p, false);
	e->dispatch_used[1] = emit_direction(e, b, p, true);
}
