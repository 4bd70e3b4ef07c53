/* elab.c - pass 2, the driver: from parsed scripts to a Program.
 *
 * The order of the steps is in elab.h.  This file also holds what comes
 * after resolution and before types, as stap does it: warnings for locals
 * read but never assigned, elision of assignments to locals nobody reads
 * and of probes left empty (unless -u); and after types: numbering, the
 * lists the translator reads, and the -p2 listing.
 */
#include "elab/elab.h"
#include "elab/kernel.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ warnings */

static void warn_never_assigned(Elab *E, Vec *locals)
{
	for (int i = 0; i < locals->len; i++) {
		ElabVar *ev = locals->data[i];
		if (ev->v.scope != VAR_LOCAL || ev->v.written || !ev->first_read)
			continue;
		StrBuf sim = {0};
		int k = 0;
		for (int j = 0; j < locals->len; j++) {
			Var *o = locals->data[j];
			if (o == &ev->v || edit_distance(o->name, ev->v.name) > 2 || k >= 5)
				continue;
			sb_printf(&sim, "%s%s", k++ ? ", " : " (similar: ", o->name);
		}
		if (k)
			sb_puts(&sim, ")");
		diag_warning(E->s, ev->first_read->loc, "never-assigned local variable '%s'%s: %s",
			     ev->v.name, sim.s ? sim.s : "", elab_describe(ev->first_read));
		free(sim.s);
	}
}

static void warn_globals_never_assigned(Elab *E)
{
	const char **names = xmalloc(sizeof(char *) * (size_t)(E->used_globals.len + 1));
	for (int i = 0; i < E->used_globals.len; i++)
		names[i] = ((Var *)E->used_globals.data[i])->name;
	for (int i = 0; i < E->used_globals.len; i++) {
		Var *v = E->used_globals.data[i];
		if (v->written || !v->read || v->loc.file == NULL || v->loc.file->is_tapset)
			continue;
		/* stap's list includes the variable itself */
		char *sim = elab_similar(v->name, names, E->used_globals.len, 2);
		diag_warning(E->s, v->loc, "never-assigned global variable '%s'%s: identifier '%s'",
			     v->name, sim, v->name);
		free(sim);
	}
	free(names);
}

/* ------------------------------------------------------------ elision */

/* Built-ins that compute a value and do nothing else: a dead assignment
 * of their result goes, with everything it reads (argstr in syscall.*). */
static bool builtin_is_pure(const char *name)
{
	static const char *const pure[] = {
		"sprintf", "sprint", "strlen", "substr", "isinstr", "strtol", "str_replace", "text_str",
		"text_strn", "stringat", "isdigit", "pid", "tid", "ppid", "uid", "gid", "euid", "egid",
		"execname", "cpu", "pp", "pn", "probefunc", "probemod", "target", "gettimeofday_s",
		"gettimeofday_ms", "gettimeofday_us", "gettimeofday_ns", "local_clock_s", "local_clock_ms",
		"local_clock_us", "local_clock_ns", "cpu_clock_s", "cpu_clock_ms", "cpu_clock_us",
		"cpu_clock_ns", "jiffies", "kernel_string", "kernel_string_n", "kernel_long", "kernel_int",
		"kernel_short", "kernel_char", "user_string", "user_string_n", "user_long", "user_int",
		"user_short", "user_char", "user_string_warn", "abs", "ctime", "_defer", "_syscall_arg",
		"_syscall_arg_str",
	};
	for (size_t i = 0; i < sizeof pure / sizeof pure[0]; i++)
		if (strcmp(name, pure[i]) == 0)
			return true;
	return false;
}

static bool stmt_has_global_effects(const Stmt *st);

/* Embedded C has effects unless it says otherwise with stap's marker. */
static bool embedded_is_pure(const char *code)
{
	return code && strstr(code, "/* pure */");
}

/* A script function is pure when its body writes no global and calls
 * nothing impure; recursion is assumed pure while being decided. */
static bool func_is_pure(Func *f)
{
	/* the functions being decided, innermost last */
	static Func *stack[64];
	static int depth;
	for (int i = 0; i < depth; i++)
		if (stack[i] == f)
			return true;
	if (f->embedded)
		return embedded_is_pure(f->embedded);
	if (!f->body || depth == 64)
		return false;
	stack[depth++] = f;
	bool pure = !stmt_has_global_effects(f->body);
	depth--;
	return pure;
}

static bool call_is_pure(const Expr *e)
{
	if (e->func)
		return func_is_pure(e->func);
	return e->name && builtin_is_pure(e->name);
}

/* Whether evaluating node e (its operands aside) changes anything.  With
 * *globals_only, writes to locals of its own function do not count (a
 * function that writes only its locals is still pure to its callers). */
static bool effect_node(Expr *e, void *globals_only)
{
	switch (e->kind) {
	case E_CALL:
		return !call_is_pure(e);
	case E_ASSIGN:
	case E_INCDEC:
		return !*(bool *)globals_only || !e->args[0]->var || e->args[0]->var->scope == VAR_GLOBAL ||
		       e->args[0]->kind != E_SYM;
	case E_STATS_ADD:
		return true;
	case E_EMBEDDED:
		return !embedded_is_pure(e->str);
	default:
		return false;
	}
}

static bool stmt_effect_node(Stmt *st, void *arg)
{
	(void)arg;
	return st->kind == S_NEXT || st->kind == S_DELETE || st->kind == S_EMBEDDED ||
	       st->kind == S_FOREACH; /* conservative */
}

static bool stmt_has_global_effects(const Stmt *st)
{
	bool globals_only = true;
	return ast_walk_stmt((Stmt *)st, &(AstWalk){stmt_effect_node, effect_node, &globals_only});
}

static bool has_side_effects(const Expr *e)
{
	bool globals_only = false;
	return ast_walk_expr((Expr *)e, &(AstWalk){.expr = effect_node, .arg = &globals_only});
}

static void make_null(Stmt *st)
{
	SrcLoc loc = st->loc;
	memset(st, 0, sizeof *st);
	st->kind = S_NULL;
	st->loc = loc;
}

/* `x = EXPR;` where local x is never read: keep EXPR only if it does
 * something. */
static void elide_dead_assignment(Elab *E, Stmt *st)
{
	Expr *e = st->expr;
	if (!e || e->kind != E_ASSIGN || strcmp(e->op, "=") != 0)
		return;
	Expr *lhs = e->args[0];
	if (lhs->kind != E_SYM || !lhs->var || lhs->var->scope != VAR_LOCAL || lhs->var->read)
		return;
	/* stap warns about the user's script, not the library's */
	bool user = e->loc.file && !e->loc.file->is_tapset;
	char *msg = xasprintf("Eliding assignment to '%s': %s", lhs->name, elab_describe(e));
	if (user && elab_warn_once(E, msg))
		diag_warning(E->s, e->loc, "%s", msg);
	free(msg);
	E->elided_something = true;
	if (has_side_effects(e->args[1])) {
		st->expr = e->args[1];
		return;
	}
	msg = xasprintf("Eliding side-effect-free expression : %s", elab_describe(lhs));
	if (user && elab_warn_once(E, msg))
		diag_warning(E->s, lhs->loc, "%s", msg);
	free(msg);
	make_null(st);
}

/* Recount which locals are read, after elision removed some reads. */
static void recount_reads_expr(const Expr *e)
{
	if (!e)
		return;
	if (e->kind == E_ASSIGN && !strcmp(e->op, "=") && e->args[0]->kind == E_SYM) {
		recount_reads_expr(e->args[1]);
		return;
	}
	if (e->kind == E_SYM && e->var && e->var->scope != VAR_GLOBAL)
		e->var->read = true;
	for (int i = 0; i < e->nargs; i++)
		recount_reads_expr(e->args[i]);
	for (int i = 0; i < e->ncomps; i++)
		recount_reads_expr(e->comps[i].expr);
}

static void recount_reads_stmt(const Stmt *st)
{
	if (!st)
		return;
	for (int i = 0; i < st->nbody; i++)
		recount_reads_stmt(st->body[i]);
	recount_reads_expr(st->expr);
	recount_reads_expr(st->incr);
	recount_reads_stmt(st->init);
	recount_reads_stmt(st->then);
	recount_reads_stmt(st->els);
	if (st->fe) {
		recount_reads_expr(st->fe->limit);
		/* loop variables count as read: the loop assigns them */
		for (int i = 0; i < st->fe->nkeys; i++)
			if (st->fe->key_vars[i])
				st->fe->key_vars[i]->read = true;
		if (st->fe->value_var)
			st->fe->value_var->read = true;
	}
	if (st->var_catch)
		st->var_catch->read = true;
}

static void recount_reads(Vec *locals, const Stmt *body)
{
	for (int i = 0; i < locals->len; i++) {
		Var *v = locals->data[i];
		if (v->scope == VAR_LOCAL)
			v->read = false;
	}
	recount_reads_stmt(body);
}

static void elide_stmt(Elab *E, Stmt *st)
{
	if (!st)
		return;
	if (st->kind == S_EXPR)
		elide_dead_assignment(E, st);
	for (int i = 0; i < st->nbody; i++)
		elide_stmt(E, st->body[i]);
	elide_stmt(E, st->then);
	elide_stmt(E, st->els);
}

static bool stmt_is_empty(const Stmt *st)
{
	if (!st || st->kind == S_NULL)
		return true;
	if (st->kind != S_BLOCK)
		return false;
	for (int i = 0; i < st->nbody; i++)
		if (!stmt_is_empty(st->body[i]))
			return false;
	return true;
}

/* Which variables a body still mentions, after elision. */
static bool mark_vars_node(Expr *e, void *seen)
{
	if (e->var)
		vec_push(seen, e->var);
	return false;
}

/* Loop and catch variables are bound by the statement, not an expression. */
static bool mark_bound_vars(Stmt *st, void *seen)
{
	if (st->var_catch)
		vec_push(seen, st->var_catch);
	if (st->fe) {
		for (int i = 0; i < st->fe->nkeys; i++)
			if (st->fe->key_vars[i])
				vec_push(seen, st->fe->key_vars[i]);
		if (st->fe->value_var)
			vec_push(seen, st->fe->value_var);
	}
	return false;
}

static bool vec_has(const Vec *v, const void *p)
{
	for (int i = 0; i < v->len; i++)
		if (v->data[i] == p)
			return true;
	return false;
}

static void drop_unmentioned_locals(Vec *locals, const Stmt *body)
{
	Vec seen = {0};
	ast_walk_stmt((Stmt *)body, &(AstWalk){mark_bound_vars, mark_vars_node, &seen});
	int k = 0;
	for (int i = 0; i < locals->len; i++) {
		Var *v = locals->data[i];
		if (v->scope == VAR_PARAM || vec_has(&seen, v))
			locals->data[k++] = v;
	}
	locals->len = k;
	free(seen.data);
}

static void elide_probes(Elab *E)
{
	Program *p = E->prog;
	int k = 0;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = p->probes.data[i];
		/* each round may make more assignments dead */
		do {
			E->elided_something = false;
			elide_stmt(E, dp->body);
			if (E->elided_something && !E->s->unoptimized)
				recount_reads(&dp->locals, dp->body);
		} while (E->elided_something && !E->s->unoptimized);
		drop_unmentioned_locals(&dp->locals, dp->body);
		if (stmt_is_empty(dp->body) && !E->s->unoptimized) {
			diag_warning(E->s, dp->loc, "Probe '%s' has been elided: keyword",
				     dp->npoints ? dp->points[0]->pp : "?");
			continue;
		}
		p->probes.data[k++] = dp;
	}
	p->probes.len = k;
	for (int i = 0; i < E->func_queue.len; i++) {
		Func *f = E->func_queue.data[i];
		elide_stmt(E, f->body);
		drop_unmentioned_locals(&f->locals, f->body);
	}
}

/* ------------------------------------------------------------ numbering */

static int cmp_func_id(const void *a, const void *b)
{
	const Func *x = *(Func *const *)a, *y = *(Func *const *)b;
	return x->id - y->id;
}

static void number_locals(Vec *locals)
{
	for (int i = 0; i < locals->len; i++)
		((Var *)locals->data[i])->id = i;
}

static void fill_program(Elab *E)
{
	Program *p = E->prog;
	for (int i = 0; i < E->used_globals.len; i++) {
		ElabVar *ev = E->used_globals.data[i];
		if (!ev->v.read && !ev->v.written)
			continue;
		ev->v.id = p->globals.len;
		vec_push(&p->globals, &ev->v);
		if (var_printed_at_end(&ev->v))
			vec_push(&p->print_at_end, &ev->v);
	}
	for (int i = 0; i < E->func_queue.len; i++)
		vec_push(&p->functions, E->func_queue.data[i]);
	if (p->functions.len)
		qsort(p->functions.data, (size_t)p->functions.len, sizeof(void *), cmp_func_id);
	for (int i = 0; i < p->functions.len; i++) {
		Func *f = p->functions.data[i];
		number_locals(&f->locals);
		if (f->embedded)
			p->nembeds++;
	}
	/* function ids now index Program.functions; ElabFunc lookups are over */
	for (int i = 0; i < p->functions.len; i++)
		((Func *)p->functions.data[i])->id = i;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = p->probes.data[i];
		dp->id = i;
		number_locals(&dp->locals);
		p->nprobe_points += dp->npoints;
	}
	p->nembeds += p->embedded.len;
}

/* ------------------------------------------------------------ driver */

Program *elaborate(Session *s, Vec *user_scripts)
{
	Elab *E = xcalloc(1, sizeof *E);
	E->s = s;
	E->prog = xcalloc(1, sizeof *E->prog);
	if (s->tapset_dirs.len)
		E->tapsets = tapset_index_build(s);
	int errors = s->errors;
	for (int i = 0; i < user_scripts->len; i++)
		elab_register_script(E, user_scripts->data[i]);
	for (int i = 0; i < user_scripts->len; i++)
		elab_expand_probes(E, user_scripts->data[i]);
	if (s->errors > errors)
		return NULL;

	Program *p = E->prog;
	elab_entry_probes(E);
	for (int i = 0; i < p->probes.len; i++)
		elab_targets(E, p->probes.data[i]);
	for (int i = 0; i < p->probes.len; i++)
		elab_resolve_probe(E, p->probes.data[i]);
	elab_resolve_queued_functions(E);
	/* A tapset file's own probes (target_set's fork tracking, tzinfo's
	 * begin) join the session when something the file defines is used,
	 * as in stap; they may pull in further files. */
	for (int k = user_scripts->len; k < E->scripts.len; k++) {
		int first = p->probes.len;
		elab_expand_probes(E, E->scripts.data[k]);
		for (int i = first; i < p->probes.len; i++)
			elab_targets(E, p->probes.data[i]);
		for (int i = first; i < p->probes.len; i++)
			elab_resolve_probe(E, p->probes.data[i]);
		elab_resolve_queued_functions(E);
	}
	for (int i = 0; i < E->func_queue.len; i++)
		elab_function_casts(E, E->func_queue.data[i]);
	for (int i = 0; i < p->probes.len; i++)
		warn_never_assigned(E, &((DerivedProbe *)p->probes.data[i])->locals);
	for (int i = 0; i < E->func_queue.len; i++)
		warn_never_assigned(E, &((Func *)E->func_queue.data[i])->locals);
	warn_globals_never_assigned(E);
	if (!s->unoptimized)
		elide_probes(E);
	if (!p->probes.len && s->errors == errors) {
		diag_error(s, (SrcLoc){0}, "semantic error", "no probes found");
		return NULL;
	}
	elab_infer_types(E);
	elab_check_contexts(E);
	if (s->errors > errors)
		return NULL;
	fill_program(E);
	return p;
}

/* ------------------------------------------------------------ -p2 */

static void print_var(FILE *out, const Var *v)
{
	fprintf(out, "%s:%s", v->name, type_name(v->type));
	if (v->nkeys) {
		fputs(" [", out);
		for (int i = 0; i < v->nkeys; i++)
			fprintf(out, "%s%s", i ? ", " : "", type_name(v->keys[i]));
		fputc(']', out);
	}
	fputc('\n', out);
}

static void print_locals(FILE *out, const Vec *locals)
{
	bool any = false;
	for (int i = 0; i < locals->len; i++) {
		const Var *v = locals->data[i];
		if (v->scope == VAR_PARAM)
			continue;
		if (!any)
			fputs("  # locals\n", out);
		any = true;
		fputs("  ", out);
		print_var(out, v);
	}
}

static void print_function(FILE *out, const Func *f)
{
	fprintf(out, "%s:%s (", f->name, type_name(f->ret));
	for (int i = 0; i < f->nparams; i++) {
		const Var *pv = f->locals.data[i];
		fprintf(out, "%s%s:%s", i ? ", " : "", pv->name, type_name(pv->type));
	}
	fputs(")\n", out);
	print_locals(out, &f->locals);
}

static void print_probe(FILE *out, const DerivedProbe *dp)
{
	char *cond = NULL;
	if (dp->cond) {
		StrBuf b = {0};
		unparse_expr(&b, dp->cond);
		cond = sb_steal(&b);
	}
	for (int i = 0; i < dp->npoints; i++) {
		const Resolved *r = dp->points[i];
		fprintf(out, "%s%s", r->pp, r->optional ? "?" : "");
		if (cond)
			fprintf(out, " if (%s)", cond);
		fprintf(out, " /*%s */\n", dp->derivation ? dp->derivation : "");
		print_locals(out, &dp->locals);
	}
	free(cond);
}

/* stap prints globals that are written but never read in an `end` probe
 * per variable that it adds; we print them from the runtime, but list
 * those probes the same way so that -p2 reads as stap's. */
static void print_end_dump(FILE *out, const Program *p)
{
	for (int i = 0; i < p->print_at_end.len; i++) {
		const Var *v = p->print_at_end.data[i];
		fputs("end /* <- end */\n", out);
		if (!v->nkeys)
			continue;
		fputs("  # locals\n", out);
		for (int k = 0; k < v->nkeys; k++)
			fprintf(out, "  __idx%d:%s\n", k, type_name(v->keys[k]));
		if (v->type != TY_STATS)
			fprintf(out, "  __val:%s\n", type_name(v->type));
	}
}

void elab_print(FILE *out, Session *s, const Program *p)
{
	(void)s;
	if (p->embedded.len)
		fputs("# global embedded code\n", out);
	for (int i = 0; i < p->embedded.len; i++)
		fprintf(out, "%%{%s%%}\n", (char *)p->embedded.data[i]);
	if (p->globals.len)
		fputs("# globals\n", out);
	for (int i = 0; i < p->globals.len; i++)
		print_var(out, p->globals.data[i]);
	if (p->functions.len)
		fputs("# functions\n", out);
	for (int i = 0; i < p->functions.len; i++)
		print_function(out, p->functions.data[i]);
	fputs("# probes\n", out);
	for (int i = 0; i < p->probes.len; i++)
		print_probe(out, p->probes.data[i]);
	print_end_dump(out, p);
}

/* ------------------------------------------------------------ -l / -L */

static bool listed(Vec *lines, const char *text)
{
	for (int i = 0; i < lines->len; i++)
		if (strcmp(lines->data[i], text) == 0)
			return true;
	return false;
}

/* -L on aliases: as stap lists them, the alias with the script variables
 * its prologue sets (name:type) and then the context variables of the
 * point it stands for.  One script with an empty probe on each alias is
 * elaborated, unoptimized so that no variable is elided; false when that
 * fails (the names are then listed bare). */
static bool list_alias_variables(Session *s, const Vec *names, Vec *lines)
{
	StrBuf text = {0};
	for (int i = 0; i < names->len; i++)
		sb_printf(&text, "probe %s {}\n", (char *)names->data[i]);
	bool unoptimized = s->unoptimized, quiet = s->suppress_warnings;
	s->unoptimized = s->suppress_warnings = true;
	Script *sc = parse_text(s, "<listing>", text.s, false);
	Vec scripts = {0};
	Program *prog = NULL;
	if (sc) {
		vec_push(&scripts, sc);
		prog = elaborate(s, &scripts);
	}
	s->unoptimized = unoptimized;
	s->suppress_warnings = quiet;
	free(text.s);
	free(scripts.data);
	if (!prog)
		return false;
	for (int i = 0; i < names->len; i++) {
		const Probe *user = i < sc->probes.len ? sc->probes.data[i] : NULL;
		for (int k = 0; k < prog->probes.len; k++) {
			const DerivedProbe *dp = prog->probes.data[k];
			if (dp->probe != user)
				continue;
			StrBuf b = {0};
			sb_puts(&b, names->data[i]);
			for (int v = 0; v < dp->locals.len; v++) {
				const Var *var = dp->locals.data[v];
				sb_printf(&b, " %s:%s", var->name, type_name(var->type));
			}
			if (dp->npoints)
				list_target_vars(s, dp->points[0]->provider, dp->points[0], &b);
			vec_push(lines, sb_steal(&b));
			break;
		}
	}
	return true;
}

void elab_list_aliases(Session *s, const char *pattern, bool verbose, Vec *lines)
{
	static const char *const fixed[] = {"begin", "end", "error", "never"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (glob_match(pattern, fixed[i]) && !listed(lines, fixed[i]))
			vec_push(lines, xstrdup(fixed[i]));
	TapsetIndex *ix = s->tapset_dirs.len ? tapset_index_build(s) : NULL;
	Vec names = {0};
	for (int i = 0; ix && i < ix->alias_names.len; i++) {
		const char *name = ix->alias_names.data[i];
		if (strpbrk(name, "*?") || !glob_match(pattern, name) || listed(lines, name) || listed(&names, name))
			continue;
		vec_push(&names, (void *)name);
	}
	if (verbose && names.len && list_alias_variables(s, &names, lines)) {
		free(names.data);
		return;
	}
	for (int i = 0; i < names.len; i++)
		vec_push(lines, xstrdup(names.data[i]));
	free(names.data);
}
