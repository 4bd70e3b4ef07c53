/* symbols.c - name resolution.
 *
 * Scopes, innermost first: the locals and parameters of the probe or
 * function being resolved; the file's private globals; the public globals
 * of the script and of loaded tapsets; globals of tapset files not yet
 * loaded (found in the tapset index, then loaded).  A name that is none of
 * these becomes a local of the probe or function: stap has no local
 * declarations, the first use declares.  Calls resolve to script and
 * loaded tapset functions, then built-ins, then functions of the tapset
 * index (their file is loaded, and their bodies resolved in turn).
 */
#include "elab/elab.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ StrMap */

static uint64_t strmap_hash(const char *key)
{
	return hash64(key, strlen(key), 0);
}

static void strmap_grow(StrMap *m)
{
	StrMap bigger = {0};
	bigger.cap = m->cap ? m->cap * 2 : 64;
	bigger.keys = xcalloc((size_t)bigger.cap, sizeof(char *));
	bigger.vals = xcalloc((size_t)bigger.cap, sizeof(void *));
	for (int i = 0; i < m->cap; i++)
		if (m->keys[i])
			strmap_put(&bigger, m->keys[i], m->vals[i]);
	for (int i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	*m = bigger;
}

void *strmap_get(const StrMap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	for (uint64_t i = strmap_hash(key) & (uint64_t)(m->cap - 1);; i = (i + 1) & (uint64_t)(m->cap - 1)) {
		if (!m->keys[i])
			return NULL;
		if (strcmp(m->keys[i], key) == 0)
			return m->vals[i];
	}
}

void strmap_put(StrMap *m, const char *key, void *val)
{
	if ((m->len + 1) * 2 > m->cap)
		strmap_grow(m);
	uint64_t i = strmap_hash(key) & (uint64_t)(m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (uint64_t)(m->cap - 1);
	if (!m->keys[i]) {
		m->keys[i] = xstrdup(key);
		m->len++;
	}
	m->vals[i] = val;
}

/* ------------------------------------------------------------ helpers */

typedef struct Cand {
	const char *name;
	int dist;
} Cand;

static int cmp_cand(const void *a, const void *b)
{
	const Cand *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist - y->dist;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* " (similar: a, b, c)" with the five nearest names (edit distance at most
 * maxdist; nearest, then shortest first), or "" when none is near. */
char *elab_similar(const char *word, const char *const *cands, int n, int maxdist)
{
	Cand *cs = xmalloc(sizeof(Cand) * (size_t)(n + 1));
	int k = 0;
	for (int i = 0; i < n; i++) {
		bool dup = false;
		for (int j = 0; j < k && !dup; j++)
			dup = strcmp(cs[j].name, cands[i]) == 0;
		int d = dup ? 0 : edit_distance(word, cands[i]);
		if (!dup && d <= maxdist)
			cs[k++] = (Cand){cands[i], d};
	}
	qsort(cs, (size_t)k, sizeof(Cand), cmp_cand);
	StrBuf b = {0};
	for (int i = 0; i < k && i < 5; i++)
		sb_printf(&b, "%s%s", i ? ", " : " (similar: ", cs[i].name);
	if (k)
		sb_puts(&b, ")");
	free(cs);
	return sb_steal(&b);
}

const char *elab_describe(const Expr *e)
{
	static char buf[256];
	switch (e->kind) {
	case E_NUM:
		snprintf(buf, sizeof buf, "number '%lld'", (long long)e->num);
		break;
	case E_STR:
		snprintf(buf, sizeof buf, "string '%.200s'", e->str ? e->str : "");
		break;
	case E_SYM:
	case E_INDEX:
	case E_CALL:
	case E_IN:
		if (e->kind == E_IN) {
			snprintf(buf, sizeof buf, "operator 'in'");
			break;
		}
		snprintf(buf, sizeof buf, "identifier '%.200s'", e->name);
		break;
	case E_TARGET:
		snprintf(buf, sizeof buf, "identifier '%.200s'", e->name);
		break;
	case E_CAST:
	case E_VAR_AT:
	case E_ENTRY:
	case E_DEFINED:
	case E_STAT:
	case E_HIST:
		snprintf(buf, sizeof buf, "operator '@%.200s'", e->op ? e->op : "");
		break;
	case E_EMBEDDED:
		snprintf(buf, sizeof buf, "embedded-code");
		break;
	case E_TERNARY:
		snprintf(buf, sizeof buf, "operator '?'");
		break;
	case E_STATS_ADD:
		snprintf(buf, sizeof buf, "operator '<<<'");
		break;
	default:
		snprintf(buf, sizeof buf, "operator '%.200s'", e->op ? e->op : "");
		break;
	}
	return buf;
}

bool elab_report_once(Elab *E, const void *node)
{
	for (int i = 0; i < E->reported.len; i++)
		if (E->reported.data[i] == node)
			return false;
	vec_push(&E->reported, (void *)node);
	return true;
}

bool elab_warn_once(Elab *E, const char *text)
{
	for (int i = 0; i < E->warned.len; i++)
		if (strcmp(E->warned.data[i], text) == 0)
			return false;
	vec_push(&E->warned, xstrdup(text));
	return true;
}

ElabVar *elab_new_var(const char *name, SrcLoc loc, int scope)
{
	ElabVar *ev = xcalloc(1, sizeof *ev);
	ev->v.name = xstrdup(name);
	ev->v.loc = loc;
	ev->v.scope = scope;
	return ev;
}

/* ------------------------------------------------------------ registry */

static char *private_key(const SrcFile *f, const char *name)
{
	return xasprintf("%d:%s", f ? f->index : -1, name);
}

ElabFunc *elab_func_info(Elab *E, Func *f)
{
	return E->funcs.data[f->id];
}

static void register_function(Elab *E, Func *f)
{
	char *key = f->is_private ? private_key(f->file, f->name) : xstrdup(f->name);
	Func *first = strmap_get(&E->functions, key);
	Func *last = NULL;
	for (Func *o = first; o; o = elab_func_info(E, o)->next_overload) {
		if (o->nparams == f->nparams) {
			/* stap keeps the first definition of a name and arity */
			free(key);
			return;
		}
		last = o;
	}
	if (!first)
		strmap_put(&E->functions, key, f);
	free(key);
	ElabFunc *ef = xcalloc(1, sizeof *ef);
	ef->f = f;
	f->id = E->funcs.len;
	vec_push(&E->funcs, ef);
	vec_push(&E->all_functions, f);
	if (last)
		elab_func_info(E, last)->next_overload = f;
	f->locals = (Vec){0};
	ef->param_vars = xcalloc((size_t)f->nparams + 1, sizeof(ElabVar *));
	for (int i = 0; i < f->nparams; i++) {
		ElabVar *pv = elab_new_var(f->params[i].name, f->params[i].loc, VAR_PARAM);
		pv->v.type = f->params[i].type;
		pv->v.written = true;
		ef->param_vars[i] = pv;
		vec_push(&f->locals, pv);
	}
}

static void register_global(Elab *E, Global *g)
{
	char *key = g->is_private ? private_key(g->file, g->name) : xstrdup(g->name);
	if (strmap_get(&E->globals, key)) {
		diag_error(E->s, g->loc, "semantic error", "duplicate global variable '%s'", g->name);
		free(key);
		return;
	}
	ElabVar *ev = elab_new_var(g->name, g->loc, VAR_GLOBAL);
	ev->v.decl = g;
	ev->v.maxsize = g->size;
	ev->v.wrap = g->wrap;
	ev->v.init = g->init;
	ev->v.is_private = g->is_private;
	if (g->is_array_decl) {
		ev->v.is_array = true;
	}
	if (g->init) {
		ev->v.written = true;
		ev->v.type = g->init->kind == E_STR ? TY_STRING : TY_LONG;
		ev->type_at = g->init;
		ev->arity_known = true;
		ev->arity_at = g->init;
	}
	strmap_put(&E->globals, key, ev);
	free(key);
	vec_push(&E->all_globals, ev);
}

void elab_register_script(Elab *E, Script *sc)
{
	vec_push(&E->scripts, sc);
	for (int i = 0; i < sc->functions.len; i++)
		register_function(E, sc->functions.data[i]);
	for (int i = 0; i < sc->globals.len; i++)
		register_global(E, sc->globals.data[i]);
	for (int i = 0; i < sc->probes.len; i++) {
		Probe *p = sc->probes.data[i];
		if (!p->is_alias)
			continue;
		vec_push(&E->aliases, p);
		for (int j = 0; j < p->nalias_names; j++) {
			vec_push(&E->alias_keys, point_text(p->alias_names[j], false));
			vec_push(&E->alias_owner, p);
		}
	}
	for (int i = 0; i < sc->embedded.len; i++) {
		vec_push(&E->prog->embedded, sc->embedded.data[i]);
		vec_push(&E->prog->embedded_locs, sc->embedded_locs.data[i]);
	}
}

Func *elab_find_function(Elab *E, const char *name, const SrcFile *from)
{
	char *key = private_key(from, name);
	Func *f = strmap_get(&E->functions, key);
	free(key);
	return f ? f : strmap_get(&E->functions, name);
}

ElabVar *elab_find_global(Elab *E, const char *name, const SrcFile *from)
{
	char *key = private_key(from, name);
	ElabVar *v = strmap_get(&E->globals, key);
	free(key);
	return v ? v : strmap_get(&E->globals, name);
}

/* ------------------------------------------------------------ resolving */

/* The scope a body is resolved in. */
#define MAX_FOREACH_NESTING 32

typedef struct Frame {
	Elab *E;
	Vec *locals;
	const SrcFile *file;
	Func *func;     /* NULL in a probe */
	/* globals of the enclosing foreach loops: stap forbids changing them
	 * inside the loop */
	Var *iterating[MAX_FOREACH_NESTING];
	int niterating;
} Frame;

static Var *find_local(Frame *fr, const char *name)
{
	for (int i = 0; i < fr->locals->len; i++) {
		Var *v = fr->locals->data[i];
		if (strcmp(v->name, name) == 0)
			return v;
	}
	return NULL;
}

static void note_global_use(Elab *E, ElabVar *g)
{
	for (int i = 0; i < E->used_globals.len; i++)
		if (E->used_globals.data[i] == g)
			return;
	vec_push(&E->used_globals, g);
}

/* Resolve a name used as a variable; creates a local if nothing else. */
static Var *lookup_var(Frame *fr, const char *name, SrcLoc loc)
{
	Var *v = find_local(fr, name);
	if (v)
		return v;
	ElabVar *g = elab_find_global(fr->E, name, fr->file);
	if (!g && tapset_load_global(fr->E, name))
		g = elab_find_global(fr->E, name, fr->file);
	if (g) {
		note_global_use(fr->E, g);
		return &g->v;
	}
	ElabVar *lv = elab_new_var(name, loc, VAR_LOCAL);
	vec_push(fr->locals, lv);
	return &lv->v;
}

static void mark_use(Var *v, bool read, bool write)
{
	if (read)
		v->read = true;
	if (write)
		v->written = true;
}

static void resolve_expr(Frame *fr, Expr *e, bool read, bool write);
static void resolve_stmt(Frame *fr, Stmt *st);

static void similar_functions(Elab *E, const char *name, StrBuf *b)
{
	const char *cands[512];
	int n = builtin_names(cands, 256);
	for (int i = 0; i < E->all_functions.len && n < 400; i++)
		cands[n++] = ((Func *)E->all_functions.data[i])->name;
	n += tapset_similar_functions(E, name, cands + n, 512 - n);
	char *sim = elab_similar(name, cands, n, 3);
	sb_puts(b, sim);
	free(sim);
}

/* "identifier 'f' at FILE:L:C" and its source line, without a kind: the
 * second half of stap's arity mismatch diagnostic. */
static void print_decl_location(const char *what, SrcLoc loc)
{
	if (!loc.file)
		return;
	fprintf(stderr, "%s at %s:%d:%d\n", what, loc.file->name, loc.line, loc.col);
	const char *line = diag_source_line(loc.file, loc.line);
	fprintf(stderr, "        source: %s\n", line);
	StrBuf b = {0};
	sb_puts(&b, "                ");
	for (int i = 0; i + 1 < loc.col && (size_t)i < strlen(line); i++)
		sb_putc(&b, line[i] == '\t' ? '\t' : ' ');
	sb_putc(&b, '^');
	fprintf(stderr, "%s\n", b.s);
	free(b.s);
}

static void arity_error(Elab *E, Expr *call, const char *name, int takes, SrcLoc decl)
{
	/* stap shows the declaration right under the call, before the blank
	 * line that ends a diagnostic, so this one is printed by hand */
	char *msg = xasprintf("semantic error: arity mismatch found (function '%s' takes %d args): "
			      "identifier '%s'", name, takes, name);
	print_decl_location(msg, call->loc);
	free(msg);
	char *what = xasprintf("identifier '%s'", name);
	print_decl_location(what, decl);
	free(what);
	fputc('\n', stderr);
	E->s->errors++;
}

static void use_function(Elab *E, Func *f)
{
	if (f->used)
		return;
	f->used = true;
	vec_push(&E->func_queue, f);
}

/* The overload of `first` (a function and the others of its name) that
 * takes nargs arguments, or NULL. */
static Func *pick_overload(Elab *E, Func *first, int nargs)
{
	for (Func *o = first; o; o = elab_func_info(E, o)->next_overload)
		if (o->nparams == nargs)
			return o;
	return NULL;
}

static Func *last_overload(Elab *E, Func *first)
{
	while (first && elab_func_info(E, first)->next_overload)
		first = elab_func_info(E, first)->next_overload;
	return first;
}

static bool builtin_takes(const Builtin *b, int nargs)
{
	return nargs >= b->min_args && (b->max_args < 0 || nargs <= b->max_args);
}

/* A call resolves by name and argument count: to the script or tapset
 * function of that arity, else to a built-in that takes it, else (after
 * loading the tapset files that define the name) to theirs.  When the
 * name exists but no arity fits, stap names the last definition. */
static void resolve_call(Frame *fr, Expr *e)
{
	Elab *E = fr->E;
	for (int i = 0; i < e->nargs; i++)
		resolve_expr(fr, e->args[i], true, false);
	Func *first = elab_find_function(E, e->name, fr->file);
	Func *f = pick_overload(E, first, e->nargs);
	const Builtin *b = f ? NULL : builtin_lookup(e->name);
	if (!f && !(b && builtin_takes(b, e->nargs)) && tapset_load_function(E, e->name)) {
		first = elab_find_function(E, e->name, fr->file);
		f = pick_overload(E, first, e->nargs);
	}
	if (f) {
		e->func = f;
		use_function(E, f);
		/* a tapset function marked guru (udelay, mdelay) needs -g, as in stap */
		if (f->embedded && strstr(f->embedded, "/* guru */") && !E->s->guru && !fr->file->is_tapset)
			diag_error(E->s, e->loc, "semantic error",
				   "function may not be used unless -g is specified: identifier '%s'", e->name);
		return;
	}
	if (first && !(b && builtin_takes(b, e->nargs))) {
		Func *last = last_overload(E, first);
		e->func = last;
		arity_error(E, e, e->name, last->nparams, last->loc);
		return;
	}
	if (b) {
		e->builtin = b;
		if (b->guru && !E->s->guru && !fr->file->is_tapset)
			diag_error(E->s, e->loc, "semantic error",
				   "function may not be used unless -g is specified: identifier '%s'", e->name);
		else if (b->refused)
			diag_error(E->s, e->loc, "semantic error", "%s() %s: identifier '%s'", e->name, b->refused,
				   e->name);
		if (e->nargs < b->min_args || (b->max_args >= 0 && e->nargs > b->max_args)) {
			if (builtin_is_printf_family(b) || builtin_is_print_family(b))
				diag_error(E->s, e->loc, "semantic error",
					   "Wrong number of args to formatted print operator: identifier '%s'",
					   e->name);
			else
				arity_error(E, e, e->name, b->min_args, (SrcLoc){0});
		}
		return;
	}
	StrBuf sim = {0};
	similar_functions(E, e->name, &sim);
	diag_error(E->s, e->loc, "semantic error", "unresolved function %s%s: identifier '%s'", e->name,
		   sim.s ? sim.s : "", e->name);
	free(sim.s);
}

static void resolve_array_name(Frame *fr, Expr *e, bool read, bool write)
{
	ElabVar *g = elab_find_global(fr->E, e->name, fr->file);
	if (!g && tapset_load_global(fr->E, e->name))
		g = elab_find_global(fr->E, e->name, fr->file);
	if (!g) {
		Var *local = find_local(fr, e->name);
		if (local && e->kind == E_SYM) {
			e->var = local;
			mark_use(local, read, write);
			return;
		}
		int arity = e->kind == E_INDEX ? e->nargs : 1;
		if (elab_report_once(fr->E, e))
			diag_error(fr->E->s, e->loc, "semantic error",
				   "unresolved arity-%d global array %s, missing global declaration?: identifier '%s'",
				   arity, e->name, e->name);
		return;
	}
	e->var = &g->v;
	note_global_use(fr->E, g);
	mark_use(&g->v, read, write);
	/* deleting the whole array inside the loop is allowed, as in stap */
	for (int i = 0; write && e->kind != E_SYM && i < fr->niterating; i++)
		if (fr->iterating[i] == &g->v && elab_report_once(fr->E, e))
			diag_error(fr->E->s, e->loc, "semantic error",
				   "variable '%s' modified during 'foreach' iteration: identifier '%s'", e->name,
				   e->name);
}

static void resolve_expr(Frame *fr, Expr *e, bool read, bool write)
{
	if (!e)
		return;
	switch (e->kind) {
	case E_NUM:
	case E_STR:
	case E_EMBEDDED:
		return;
	case E_SYM:
		if (e->is_array_ref) {
			resolve_array_name(fr, e, read, write);
			return;
		}
		e->var = lookup_var(fr, e->name, e->loc);
		mark_use(e->var, read, write);
		if (read && !ELAB_VAR(e->var)->first_read)
			ELAB_VAR(e->var)->first_read = e;
		return;
	case E_INDEX:
		for (int i = 0; i < e->nargs; i++)
			resolve_expr(fr, e->args[i], true, false);
		resolve_array_name(fr, e, read, write);
		return;
	case E_IN:
		for (int i = 0; i < e->nargs; i++)
			resolve_expr(fr, e->args[i], true, false);
		resolve_array_name(fr, e, true, false);
		return;
	case E_CALL:
		resolve_call(fr, e);
		return;
	case E_ASSIGN: {
		/* x += 1 and x++ as statements only write x: a global updated
		 * so and never read is printed at the end, as in stap; their
		 * value used (y = x++) reads it */
		bool plain = strcmp(e->op, "=") == 0;
		resolve_expr(fr, e->args[1], true, false);
		resolve_expr(fr, e->args[0], !plain && read, true);
		return;
	}
	case E_INCDEC:
		resolve_expr(fr, e->args[0], read, true);
		return;
	case E_STATS_ADD:
		resolve_expr(fr, e->args[1], true, false);
		resolve_expr(fr, e->args[0], false, true);
		return;
	case E_STAT:
	case E_HIST:
		if (e->nargs && e->args[0]->kind == E_SYM)
			e->args[0]->is_array_ref = false;
		for (int i = 0; i < e->nargs; i++)
			resolve_expr(fr, e->args[i], true, false);
		return;
	case E_TARGET:
	case E_CAST:
	case E_VAR_AT:
		for (int i = 0; i < e->ncomps; i++)
			resolve_expr(fr, e->comps[i].expr, true, false);
		for (int i = 0; i < e->nargs; i++)
			resolve_expr(fr, e->args[i], true, false);
		if (write && e->kind == E_TARGET && !fr->E->s->guru &&
		    elab_report_once(fr->E, e))
			diag_error(fr->E->s, e->loc, "semantic error",
				   "target variable assignment requires guru mode (-g): identifier '%s'",
				   e->name);
		return;
	default:
		for (int i = 0; i < e->nargs; i++)
			resolve_expr(fr, e->args[i], true, false);
		return;
	}
}

static Var *bind_loop_var(Frame *fr, const char *name, SrcLoc loc)
{
	Var *v = lookup_var(fr, name, loc);
	mark_use(v, false, true);
	return v;
}

static void resolve_foreach(Frame *fr, Stmt *st)
{
	ForeachInfo *fe = st->fe;
	Expr *arr = fe->array_expr;
	if (arr) {
		if (arr->kind == E_SYM)
			arr->is_array_ref = true;
		resolve_expr(fr, arr, true, false);
	}
	for (int i = 0; i < fe->nkeys; i++)
		fe->key_vars[i] = bind_loop_var(fr, fe->keys[i], fe->key_locs[i]);
	if (fe->value)
		fe->value_var = bind_loop_var(fr, fe->value, fe->value_loc);
	resolve_expr(fr, fe->limit, true, false);
	bool pushed = arr && arr->var && fr->niterating < MAX_FOREACH_NESTING;
	if (pushed)
		fr->iterating[fr->niterating++] = arr->var;
	resolve_stmt(fr, st->then);
	if (pushed)
		fr->niterating--;
}

static void resolve_stmt(Frame *fr, Stmt *st)
{
	if (!st)
		return;
	switch (st->kind) {
	case S_BLOCK:
		for (int i = 0; i < st->nbody; i++)
			resolve_stmt(fr, st->body[i]);
		return;
	case S_FOREACH:
		resolve_foreach(fr, st);
		return;
	case S_DELETE:
		if (st->expr && st->expr->kind == E_SYM) {
			Var *local = find_local(fr, st->expr->name);
			st->expr->is_array_ref = !local;
		}
		resolve_expr(fr, st->expr, false, true);
		return;
	case S_TRY:
		resolve_stmt(fr, st->then);
		if (st->catch_var) {
			st->var_catch = bind_loop_var(fr, st->catch_var, st->catch_loc);
			st->var_catch->type = TY_STRING;
		}
		resolve_stmt(fr, st->els);
		return;
	case S_EMBEDDED:
		if (!fr->E->s->guru && elab_report_once(fr->E, st))
			diag_error(fr->E->s, st->loc, "semantic error",
				   "embedded code in unprivileged script; need stap -g");
		return;
	default:
		resolve_stmt(fr, st->init);
		/* a statement's value is not used */
		resolve_expr(fr, st->expr, st->kind != S_EXPR, false);
		resolve_expr(fr, st->incr, true, false);
		resolve_stmt(fr, st->then);
		resolve_stmt(fr, st->els);
		return;
	}
}

void elab_resolve_probe(Elab *E, DerivedProbe *dp)
{
	Frame fr = {E, &dp->locals, dp->probe ? dp->probe->file : NULL, NULL};
	if (dp->loc.file)
		fr.file = dp->loc.file;
	resolve_stmt(&fr, dp->body);
	if (dp->cond) {
		/* conditions see only globals: resolve in a throwaway frame */
		Vec none = {0};
		Frame cf = {E, &none, fr.file, NULL};
		resolve_expr(&cf, dp->cond, true, false);
		for (int i = 0; i < none.len; i++) {
			Var *v = none.data[i];
			diag_error(E->s, v->loc, "semantic error",
				   "probe condition must use only global variables: identifier '%s'",
				   v->name);
		}
	}
}

static void resolve_function(Elab *E, Func *f)
{
	ElabFunc *ef = elab_func_info(E, f);
	if (ef->resolved)
		return;
	ef->resolved = true;
	if (f->embedded && !f->file->is_tapset && !E->s->guru)
		diag_error(E->s, f->loc, "semantic error",
			   "embedded code in unprivileged script; need stap -g");
	Frame fr = {E, &f->locals, f->file, f};
	resolve_stmt(&fr, f->body);
}

void elab_resolve_queued_functions(Elab *E)
{
	for (int i = 0; i < E->func_queue.len; i++)
		resolve_function(E, E->func_queue.data[i]);
}
