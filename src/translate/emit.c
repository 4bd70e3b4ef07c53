/* emit.c - expressions and statements to C, for both targets.
 *
 * emit_expr() appends the statements that compute an expression to the
 * current C function and returns the operand that holds the result: a
 * long temporary ("t3") or a pointer to a string buffer ("F->s2",
 * "G->g_name", "stp_lit_4").  Statements check K->error after anything
 * that can fail and leave through e->unwind.  Where the targets differ
 * (loops, arrays, statistics, output), the functions below say so.
 */
#include "translate.h"
#include "elab/kernel.h"
#include "regex.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ basics */

void emit_line(Emitter *e, const char *fmt, ...)
{
	StrBuf *b = &e->fn->body;
	for (int i = 0; i < e->fn->indent; i++)
		sb_putc(b, '\t');
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
	sb_putc(b, '\n');
}

void emit_fail(Emitter *e, SrcLoc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	diag_error(e->s, loc, "semantic error", "%s", msg);
	free(msg);
	e->failed = true;
}

char *emit_new_long(Emitter *e)
{
	return xasprintf("t%d", e->fn->nlong++);
}

char *emit_new_str(Emitter *e)
{
	return xasprintf("F->s%d", e->frame->nstr++);
}

static char *new_key(Emitter *e, Var *v)
{
	vec_push(&e->frame->key_types, global_key_type(v));
	return xasprintf("F->k%d", e->frame->key_types.len - 1);
}

static char *new_stat(Emitter *e, Var *v)
{
	vec_push(&e->frame->stat_types, global_value_type(v));
	return xasprintf("F->v%d", e->frame->stat_types.len - 1);
}

static char *new_label(Emitter *e, const char *what)
{
	return xasprintf("L%s%d", what, e->label_counter++);
}

char *c_string_literal(const char *s, size_t len)
{
	StrBuf b = {0};
	sb_putc(&b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			sb_printf(&b, "\\%c", c);
		else if (c == '\n')
			sb_puts(&b, "\\n");
		else if (c == '\t')
			sb_puts(&b, "\\t");
		else if (c < 32 || c >= 127 || c == '?')
			sb_printf(&b, "\\%03o", c);
		else
			sb_putc(&b, (char)c);
	}
	sb_putc(&b, '"');
	return sb_steal(&b);
}

int emit_literal(Emitter *e, const char *s, size_t len)
{
	for (int i = 0; i < e->literals->len; i++) {
		if ((size_t)(intptr_t)VEC_AT(e->literal_lens, i) == len &&
		    memcmp(VEC_AT(e->literals, i), s, len) == 0)
			return i;
	}
	vec_push(e->literals, xstrndup(s, len));
	vec_push(e->literal_lens, (void *)(intptr_t)len);
	return e->literals->len - 1;
}

char *literal_operand(Emitter *e, const char *s)
{
	return xasprintf("stp_lit_%d", emit_literal(e, s, strlen(s)));
}

int emit_error_site(Emitter *e, const char *msg, const char *near, SrcLoc loc)
{
	char *where = loc.file ? xasprintf("near %s at %s:%d:%d", near, loc.file->name, loc.line, loc.col)
			       : xstrdup("");
	for (int i = 0; i < e->error_msgs->len; i++)
		if (!strcmp(VEC_AT(e->error_msgs, i), msg) && !strcmp(VEC_AT(e->error_wheres, i), where)) {
			free(where);
			return i;
		}
	vec_push(e->error_msgs, xstrdup(msg));
	vec_push(e->error_wheres, where);
	return e->error_msgs->len - 1;
}

int emit_format(Emitter *e, const char *fmt)
{
	for (int i = 0; i < e->formats->len; i++)
		if (!strcmp(VEC_AT(e->formats, i), fmt))
			return i;
	vec_push(e->formats, xstrdup(fmt));
	return e->formats->len - 1;
}

/* Whether an error raised here is left for someone else to report.  Inside
 * try the catch handler gets it.  In a function body it is not known until
 * run time whether a caller catches it, so functions never report: they
 * set K->error (and their frame's errmsg, when the message is not the
 * site's) and each call site decides (emit_call_error). */
bool in_try(Emitter *e)
{
	return e->try_depth > 0 || e->frame->is_function;
}

/* Raise error site `id` and leave (reported here unless in_try). */
void emit_raise(Emitter *e, int id)
{
	if (in_try(e))
		emit_line(e, "K->error = %d;", id + 1);
	else
		emit_line(e, "stp_error(K, %d);", id);
	emit_line(e, "goto %s;", e->unwind);
}

/* if (COND) raise error site `id` */
void emit_raise_if(Emitter *e, int id, const char *cond)
{
	emit_line(e, "if (%s) {", cond);
	e->fn->indent++;
	emit_raise(e, id);
	e->fn->indent--;
	emit_line(e, "}");
}

void emit_check_unwind(Emitter *e)
{
	emit_line(e, "if (K->error) goto %s;", e->unwind);
}

char *near_op(const char *op)
{
	return xasprintf("operator '%s'", op);
}

char *near_ident(const char *name)
{
	return xasprintf("identifier '%s'", name);
}

/* ---------------------------------------------------------- variables */

const char *var_c_name(Emitter *e, Var *v)
{
	(void)e;
	if (v->scope == VAR_GLOBAL)
		return xasprintf("G->g_%s", v->name);
	return xasprintf("F->l_%s", v->name);
}

static bool is_array_var(Var *v)
{
	return v && (v->is_array || v->nkeys > 0);
}

/* Fill key temporary `key` of array v from index expressions. */
static char *emit_key(Emitter *e, Var *v, Expr **idx, int n)
{
	char **vals = xcalloc((size_t)n, sizeof *vals);
	/* execname() into a narrow key is written straight into the key */
	for (int i = 0; i < n; i++)
		if (!(v->keys[i] == TY_STRING && key_width(v, i) && idx[i]->kind == E_CALL))
			vals[i] = emit_expr(e, idx[i]);
	char *key = new_key(e, v);
	emit_line(e, "__builtin_memset(&%s, 0, sizeof %s);", key, key);
	for (int i = 0; i < n; i++) {
		int w = v->keys[i] == TY_STRING ? key_width(v, i) : 0;
		if (w && !vals[i])
			emit_line(e, "stp_execname_n(%s.k%d, %d);", key, i, w);
		else if (w)
			emit_line(e, "__builtin_memcpy(%s.k%d, %s, %d);", key, i, vals[i], w);
		else if (v->keys[i] == TY_STRING)
			emit_line(e, "stp_str_copy(%s.k%d, %s);", key, i, vals[i]);
		else
			emit_line(e, "%s.k%d = %s;", key, i, vals[i]);
	}
	free(vals);
	return key;
}

/* Array element read into a temporary. */
static char *emit_array_read(Emitter *e, Var *v, char *key)
{
	int gid = global_id(e->p, v);
	if (v->type == TY_STRING) {
		char *s = emit_new_str(e);
		if (e->target == T_BPF) {
			emit_line(e, "{ struct stp_strv *p_ = bpf_map_lookup_elem(&g_%s, &%s);", v->name, key);
			emit_line(e, "  if (p_) stp_str_copy(%s, p_->s); else %s[0] = 0; }", s, s);
		} else {
			emit_line(e, "{ struct stp_strv v_; stp_rt_map_lookup(K, %d, &%s, &v_); stp_str_copy(%s, v_.s); }",
				  gid, key, s);
		}
		return s;
	}
	char *t = emit_new_long(e);
	if (e->target == T_BPF) {
		emit_line(e, "{ int64_t *p_ = bpf_map_lookup_elem(&g_%s, &%s); %s = p_ ? *p_ : 0; }", v->name, key, t);
	} else {
		emit_line(e, "{ int64_t v_ = 0; stp_rt_map_lookup(K, %d, &%s, &v_); %s = v_; }", gid, key, t);
	}
	return t;
}

/* Map full: an error unless the array wraps (LRU maps evict instead). */
static void emit_overflow_check(Emitter *e, Var *v, const char *rc, SrcLoc loc)
{
	int id = emit_error_site(e, "Array overflow, check MAXMAPENTRIES", near_ident(v->name), loc);
	emit_raise_if(e, id, rc);
}

static void emit_array_store(Emitter *e, Var *v, char *key, char *val, SrcLoc loc)
{
	int gid = global_id(e->p, v);
	char *rc = emit_new_long(e);
	if (v->type == TY_STRING) {
		char *tmp = emit_new_str(e);
		emit_line(e, "__builtin_memset(%s, 0, STP_STRLEN);", tmp);
		emit_line(e, "stp_str_copy(%s, %s);", tmp, val);
		if (e->target == T_BPF)
			emit_line(e, "%s = bpf_map_update_elem(&g_%s, &%s, %s, BPF_ANY);", rc, v->name, key, tmp);
		else
			emit_line(e, "%s = stp_rt_map_update(K, %d, &%s, %s);", rc, gid, key, tmp);
	} else {
		char *t = emit_new_long(e);
		(void)t;
		if (e->target == T_BPF)
			emit_line(e, "{ int64_t v_ = %s; %s = bpf_map_update_elem(&g_%s, &%s, &v_, BPF_ANY); }", val, rc,
				  v->name, key);
		else
			emit_line(e, "{ int64_t v_ = %s; %s = stp_rt_map_update(K, %d, &%s, &v_); }", val, rc, gid, key);
	}
	emit_overflow_check(e, v, rc, loc);
}

/* a[k] += delta without losing concurrent updates: the kernel side adds
 * atomically, inserting the element first when it is missing. */
static char *emit_array_add(Emitter *e, Var *v, char *key, char *delta, bool want_old, SrcLoc loc)
{
	char *old = emit_new_long(e);
	int gid = global_id(e->p, v);
	if (e->target == T_BPF) {
		char *rc = emit_new_long(e);
		emit_line(e, "{ int64_t *p_ = bpf_map_lookup_elem(&g_%s, &%s); %s = 0;", v->name, key, rc);
		emit_line(e, "  if (!p_) { int64_t z_ = 0; %s = bpf_map_update_elem(&g_%s, &%s, &z_, BPF_NOEXIST);",
			  rc, v->name, key);
		emit_line(e, "    if (%s == -17) %s = 0; p_ = bpf_map_lookup_elem(&g_%s, &%s); }", rc, rc, v->name,
			  key);
		emit_line(e, "  %s = p_ ? __sync_fetch_and_add(p_, %s) : 0; if (!p_ && !%s) %s = -1; }", old, delta,
			  rc, rc);
		emit_overflow_check(e, v, rc, loc);
	} else {
		char *rc = emit_new_long(e);
		emit_line(e, "{ int64_t v_ = 0; stp_rt_map_lookup(K, %d, &%s, &v_); %s = v_; v_ += %s;", gid, key,
			  old, delta);
		emit_line(e, "  %s = stp_rt_map_update(K, %d, &%s, &v_); }", rc, gid, key);
		emit_overflow_check(e, v, rc, loc);
	}
	(void)want_old;
	return old;
}

/* ------------------------------------------------------------ lvalues */

/* An lvalue: a scalar variable, or an array element with its key built. */
typedef struct LValue {
	Var *var;
	char *key;      /* array element: key temporary */
	char *cname;    /* scalar: C lvalue */
	SrcLoc loc;
} LValue;

static bool emit_lvalue(Emitter *e, Expr *x, LValue *lv)
{
	memset(lv, 0, sizeof *lv);
	lv->loc = x->loc;
	if (x->kind == E_SYM && x->var && !is_array_var(x->var)) {
		lv->var = x->var;
		lv->cname = (char *)var_c_name(e, x->var);
		return true;
	}
	if (x->kind == E_INDEX && x->var) {
		lv->var = x->var;
		lv->key = emit_key(e, x->var, x->args, x->nargs);
		return true;
	}
	if (x->kind == E_TARGET) {
		/* a context value the handler may set ($verdict of a netfilter
		 * hook): a long in the handler's context (pass 2 has refused
		 * writes outside guru mode) */
		static Var context_long = {.name = "", .scope = VAR_LOCAL, .type = TY_LONG};
		const TargetAccess *ta = x->target;
		if (ta && ta->writable && !x->ncomps && !x->addressof && e->target == T_BPF) {
			lv->var = &context_long;
			lv->cname = ta->c_expr;
			return true;
		}
		emit_fail(e, x->loc, "writing to target variable '%s' is not supported", x->name);
		return false;
	}
	emit_fail(e, x->loc, "expected an assignable variable or array element");
	return false;
}

static char *lvalue_read(Emitter *e, LValue *lv)
{
	if (lv->key)
		return emit_array_read(e, lv->var, lv->key);
	if (lv->var->type == TY_STRING)
		return lv->cname;
	char *t = emit_new_long(e);
	emit_line(e, "%s = %s;", t, lv->cname);
	return t;
}

static void lvalue_write(Emitter *e, LValue *lv, char *val)
{
	if (lv->key) {
		emit_array_store(e, lv->var, lv->key, val, lv->loc);
		return;
	}
	if (lv->var->type == TY_STRING)
		emit_line(e, "stp_str_copy(%s, %s);", lv->cname, val);
	else
		emit_line(e, "%s = %s;", lv->cname, val);
}

/* Add delta to a long lvalue; returns the old value.  Kernel globals are
 * updated atomically (concurrent handlers on other CPUs). */
static char *lvalue_add(Emitter *e, LValue *lv, char *delta)
{
	if (lv->key)
		return emit_array_add(e, lv->var, lv->key, delta, true, lv->loc);
	char *old = emit_new_long(e);
	if (e->target == T_BPF && lv->var->scope == VAR_GLOBAL)
		emit_line(e, "%s = __sync_fetch_and_add(&%s, %s);", old, lv->cname, delta);
	else
		emit_line(e, "%s = %s; %s += %s;", old, lv->cname, lv->cname, delta);
	return old;
}

/* ---------------------------------------------------------- operators */

static char *emit_binary_long(Emitter *e, const char *op, char *a, char *b, SrcLoc loc)
{
	char *t = emit_new_long(e);
	if (!strcmp(op, "/") || !strcmp(op, "%")) {
		int id = emit_error_site(e, "division by zero", near_op(op), loc);
		emit_raise_if(e, id, xasprintf("%s == 0", b));
		emit_line(e, "%s = stp_s%s(%s, %s);", t, op[0] == '/' ? "div" : "mod", a, b);
		return t;
	}
	if (!strcmp(op, "<<"))
		emit_line(e, "%s = (int64_t)((uint64_t)%s << (%s & 63));", t, a, b);
	else if (!strcmp(op, ">>"))
		emit_line(e, "%s = %s >> (%s & 63);", t, a, b);
	else if (!strcmp(op, ">>>"))
		emit_line(e, "%s = (int64_t)((uint64_t)%s >> (%s & 63));", t, a, b);
	else if (!strcmp(op, "+") || !strcmp(op, "-") || !strcmp(op, "*"))
		/* two's complement wrap-around, without C's signed overflow */
		emit_line(e, "%s = (int64_t)((uint64_t)%s %s (uint64_t)%s);", t, a, op, b);
	else
		emit_line(e, "%s = %s %s %s;", t, a, op, b);
	return t;
}

static char *emit_concat(Emitter *e, char *a, char *b)
{
	char *s = emit_new_str(e);
	emit_line(e, "stp_str_concat(%s, %s, %s);", s, a, b);
	return s;
}

/* && and ||: the right side runs only when needed. */
static char *emit_logical(Emitter *e, Expr *x)
{
	char *t = emit_new_long(e);
	char *a = emit_expr(e, x->args[0]);
	bool is_and = !strcmp(x->op, "&&");
	emit_line(e, "%s = %s != 0;", t, a);
	emit_line(e, "if (%s%s) {", is_and ? "" : "!", t);
	e->fn->indent++;
	char *b = emit_expr(e, x->args[1]);
	emit_line(e, "%s = %s != 0;", t, b);
	e->fn->indent--;
	emit_line(e, "}");
	return t;
}

/* The table of a =~ pattern (compiled once per distinct pattern), or -1
 * after reporting why it cannot be compiled. */
static int regex_site(Emitter *e, Expr *pat)
{
	for (int i = 0; i < e->regexes->len; i++) {
		RegexSite *r = VEC_AT(e->regexes, i);
		if (r->len == pat->len && !memcmp(r->pat, pat->str, pat->len))
			return i;
	}
	Regex *re = xcalloc(1, sizeof *re);
	RegexError err;
	if (!regex_compile(re, pat->str, pat->len, &err)) {
		/* pass 2 reports bad patterns; this is for -p3 callers that skip it */
		emit_fail(e, pat->loc, "regex compilation error: %s", err.msg);
		free(re);
		return -1;
	}
	RegexSite *r = xcalloc(1, sizeof *r);
	r->pat = xmalloc(pat->len + 1);
	memcpy(r->pat, pat->str, pat->len + 1);
	r->len = pat->len;
	r->re = re;
	vec_push(e->regexes, r);
	return e->regexes->len - 1;
}

void emit_regex_tables(Emitter *e, StrBuf *b)
{
	for (int i = 0; i < e->regexes->len; i++) {
		RegexSite *r = VEC_AT(e->regexes, i);
		char *shown = c_string_literal(r->pat, r->len);
		if (!strstr(shown, "*/"))
			sb_printf(b, "/* =~ %s */\n", shown);
		free(shown);
		regex_emit_c(r->re, i, b);
		if (r->re->caps)
			regex_emit_caps_c(r->re, i, b);
	}
}

/* The sizes of the sub-match walk's state: the most any pattern needs. */
void emit_regex_caps_defines(Emitter *e, StrBuf *b)
{
	if (!e->regex_caps)
		return;
	int threads = 1, slots = 2;
	for (int i = 0; i < e->regexes->len; i++) {
		const struct RegexCaps *rc = ((RegexSite *)VEC_AT(e->regexes, i))->re->caps;
		if (rc && rc->nthreads > threads)
			threads = rc->nthreads;
		if (rc && rc->nslots > slots)
			slots = rc->nslots;
	}
	sb_printf(b, "#define STP_RE_THREADS %d\n#define STP_RE_SLOTS %d\n", threads, slots);
}

/* s =~ "pattern": a walk over the pattern's DFA, the same in both
 * targets (stp_regex_match, runtime/target/stp_string.h). */
static char *emit_regex(Emitter *e, Expr *x, char *a)
{
	Expr *pat = x->args[1];
	if (pat->kind != E_STR) {
		emit_fail(e, pat->loc, "the regular expression of '%s' must be a literal string", x->op);
		return xstrdup("0");
	}
	int id = regex_site(e, pat);
	if (id < 0)
		return xstrdup("0");
	const Regex *re = ((RegexSite *)VEC_AT(e->regexes, id))->re;
	char *t = emit_new_long(e);
	emit_line(e, "%s = stp_regex_match(%s, stp_re%d_classes, stp_re%d_next, %d, %zu, %d);", t, a, id, id,
		  re->nclasses, regex_table_mask(re), re->start);
	if (e->regex_caps) {
		/* matched() may read this one: where its groups are */
		RegexError err;
		RegexSite *r = VEC_AT(e->regexes, id);
		if (r->caps_failed) {
		} else if (!regex_caps(r->re, r->pat, r->len, &err)) {
			emit_fail(e, pat->loc, "%s: string '%s'", err.msg, r->pat);
			r->caps_failed = true;
		} else {
			char *args = regex_caps_args(re, id);
			emit_line(e, "stp_regex_caps(%s, %s, %s);", a, t, args);
			free(args);
		}
	}
	if (!strcmp(x->op, "!~"))
		emit_line(e, "%s = !%s;", t, t);
	return t;
}

static char *emit_compare(Emitter *e, Expr *x)
{
	char *a = emit_expr(e, x->args[0]);
	if (!strcmp(x->op, "=~") || !strcmp(x->op, "!~"))
		return emit_regex(e, x, a);
	char *b = emit_expr(e, x->args[1]);
	char *t = emit_new_long(e);
	if (x->args[0]->type == TY_STRING)
		emit_line(e, "%s = stp_str_cmp(%s, %s) %s 0;", t, a, b, x->op);
	else
		emit_line(e, "%s = %s %s %s;", t, a, x->op, b);
	return t;
}

static char *emit_assign(Emitter *e, Expr *x)
{
	const char *op = x->op;
	Expr *lhs = x->args[0];
	/* evaluate the key first, then the value, as stap does */
	LValue lv;
	if (!emit_lvalue(e, lhs, &lv))
		return xstrdup("0");
	char *val = emit_expr(e, x->args[1]);
	if (!strcmp(op, "=")) {
		lvalue_write(e, &lv, val);
		return lv.var->type == TY_STRING ? val : val;
	}
	if (!strcmp(op, ".=")) {
		char *cur = lvalue_read(e, &lv);
		char *s = emit_concat(e, cur, val);
		lvalue_write(e, &lv, s);
		return s;
	}
	if (!strcmp(op, "+=") || !strcmp(op, "-=")) {
		char *delta = val;
		if (op[0] == '-') {
			delta = emit_new_long(e);
			emit_line(e, "%s = (int64_t)(0 - (uint64_t)%s);", delta, val);
		}
		char *old = lvalue_add(e, &lv, delta);
		char *t = emit_new_long(e);
		emit_line(e, "%s = (int64_t)((uint64_t)%s + (uint64_t)%s);", t, old, delta);
		return t;
	}
	/* "<<=" -> "<<" */
	char binop[4] = {0};
	size_t oplen = strlen(op);
	if (oplen < 2 || oplen > 4) {
		emit_fail(e, x->loc, "unknown assignment operator '%s'", op);
		return xstrdup("0");
	}
	memcpy(binop, op, oplen - 1);
	char *cur = lvalue_read(e, &lv);
	char *res = emit_binary_long(e, binop, cur, val, x->loc);
	lvalue_write(e, &lv, res);
	return res;
}

static char *emit_incdec(Emitter *e, Expr *x)
{
	LValue lv;
	if (!emit_lvalue(e, x->args[0], &lv))
		return xstrdup("0");
	char *delta = xstrdup(!strcmp(x->op, "++") ? "1" : "-1");
	char *old = lvalue_add(e, &lv, delta);
	if (x->postfix)
		return old;
	char *t = emit_new_long(e);
	emit_line(e, "%s = %s + %s;", t, old, delta);
	return t;
}

static char *emit_ternary(Emitter *e, Expr *x)
{
	char *c = emit_expr(e, x->args[0]);
	bool str = x->type == TY_STRING;
	char *r = str ? emit_new_str(e) : emit_new_long(e);
	emit_line(e, "if (%s) {", c);
	e->fn->indent++;
	char *a = emit_expr(e, x->args[1]);
	emit_line(e, str ? "stp_str_copy(%s, %s);" : "%s = %s;", r, a);
	e->fn->indent--;
	emit_line(e, "} else {");
	e->fn->indent++;
	char *b = emit_expr(e, x->args[2]);
	emit_line(e, str ? "stp_str_copy(%s, %s);" : "%s = %s;", r, b);
	e->fn->indent--;
	emit_line(e, "}");
	return r;
}

static char *emit_in(Emitter *e, Expr *x)
{
	Var *v = x->var;
	char *key = emit_key(e, v, x->args, x->nargs);
	char *t = emit_new_long(e);
	if (e->target == T_BPF)
		emit_line(e, "%s = bpf_map_lookup_elem(&g_%s, &%s) != 0;", t, v->name, key);
	else
		emit_line(e, "%s = stp_rt_map_exists(K, %d, &%s);", t, global_id(e->p, v), key);
	return t;
}

/* ---------------------------------------------------------- statistics */

/* The key for a statistics access: scalar aggregates use key 0. */
char *emit_stat_key(Emitter *e, Expr *x, Var **var)
{
	if (x->kind == E_INDEX) {
		*var = x->var;
		return xasprintf("&%s", emit_key(e, x->var, x->args, x->nargs));
	}
	*var = x->var;
	return xstrdup("&stp_zero");
}

static char *emit_stats_add(Emitter *e, Expr *x)
{
	Var *v;
	char *key = emit_stat_key(e, x->args[0], &v);
	char *val = emit_expr(e, x->args[1]);
	if (!v) {
		emit_fail(e, x->loc, "'<<<' needs a statistics variable");
		return val;
	}
	if (e->target == T_BPF) {
		emit_line(e, "{ struct stp_statv_%s *p_ = bpf_map_lookup_elem(&g_%s, %s);", v->name, v->name, key);
		emit_line(e, "  if (!p_) { void *z_ = bpf_map_lookup_elem(&stp_zero_stat, &stp_zero);");
		emit_line(e, "    if (z_) bpf_map_update_elem(&g_%s, %s, z_, BPF_NOEXIST);", v->name, key);
		emit_line(e, "    p_ = bpf_map_lookup_elem(&g_%s, %s); }", v->name, key);
		emit_line(e, "  if (p_) stp_stat_add(&p_->s, %s, %d, %lldLL, %lldLL, %lldLL, %d);", val, v->hist_kind,
			  (long long)v->hist_start, (long long)v->hist_stop, (long long)v->hist_step,
			  hist_nbuckets(v));
		emit_line(e, "  else __sync_fetch_and_add(&stp_g.st.skipped, 1); }");
	} else {
		emit_line(e, "stp_rt_stat_add(K, %d, %s, %s);", global_id(e->p, v), key, val);
		bool known = false;
		for (int i = 0; i < e->host_stat_adds->len; i++)
			known |= VEC_AT(e->host_stat_adds, i) == v;
		if (!known)
			vec_push(e->host_stat_adds, v);
	}
	return val;
}

/* Read an aggregate into a stat temporary; returns its name. */
char *emit_stat_read(Emitter *e, Expr *agg, Var **var)
{
	char *key = emit_stat_key(e, agg, var);
	Var *v = *var;
	if (!v)
		return NULL;
	char *st = new_stat(e, v);
	if (e->target == T_BPF) {
		emit_line(e, "stp_stat_sum_%d(&g_%s, %s, &%s);", global_id(e->p, v), v->name, key, st);
	} else {
		emit_line(e, "__builtin_memset(&%s, 0, sizeof %s);", st, st);
		emit_line(e, "stp_rt_stat_read(K, %d, %s, &%s.s);", global_id(e->p, v), key, st);
	}
	return st;
}

static int stat_op_code(const char *op)
{
	static const char *ops[] = {"count", "sum", "min", "max", "avg", "variance"};
	for (int i = 0; i < 6; i++)
		if (!strcmp(op, ops[i]))
			return i;
	return -1;
}

static char *emit_stat_extract(Emitter *e, Expr *x)
{
	Var *v = NULL;
	char *st = emit_stat_read(e, x->args[0], &v);
	if (!st) {
		emit_fail(e, x->loc, "@%s needs a statistics variable", x->op);
		return xstrdup("0");
	}
	int op = stat_op_code(x->op);
	char *t = emit_new_long(e);
	if (op != 0) {
		/* stap: extracting from an empty aggregate is an error */
		int id = emit_error_site(e, "empty aggregate", near_ident(v->name), x->loc);
		emit_raise_if(e, id, xasprintf("%s.s.count == 0", st));
	}
	switch (op) {
	case 0: emit_line(e, "%s = %s.s.count;", t, st); break;
	case 1: emit_line(e, "%s = %s.s.sum;", t, st); break;
	case 2: emit_line(e, "%s = %s.s.min;", t, st); break;
	case 3: emit_line(e, "%s = %s.s.max;", t, st); break;
	case 4: emit_line(e, "%s = stp_sdiv(%s.s.sum, %s.s.count);", t, st, st); break;
	case 5: emit_line(e, "%s = stp_stat_variance(&%s.s);", t, st); break;
	default: emit_fail(e, x->loc, "unknown statistics operator @%s", x->op);
	}
	return t;
}

/* --------------------------------------------------- script functions */

/* After a call: an error the callee raised carries its message up, and is
 * reported here when nothing above catches it (a probe body outside try). */
static void emit_call_error(Emitter *e)
{
	emit_line(e, "if (K->error > 0) {");
	e->fn->indent++;
	emit_line(e, "if (CF->errmsg[0]) stp_str_copy(F->errmsg, CF->errmsg);");
	if (!in_try(e))
		emit_line(e, "{ int id_ = K->error - 1; if (F->errmsg[0]) stp_error_msg(K, id_, F->errmsg); else stp_error(K, id_); }");
	e->fn->indent--;
	emit_line(e, "}");
}

/* What a hit or a call starts with in a BPF frame (unit.c's frame
 * structs): every local 0 or "", no return value, no error.  Field by
 * field, as a string is empty when its first byte is NUL: clearing the
 * whole frame would write every string's buffer on each hit, and clang
 * cannot lower a memset of a few kilobytes for BPF. */
char *frame_reset_code(const char *frame, const Vec *locals)
{
	StrBuf b = {0};
	for (int i = 0; i < locals->len; i++) {
		const Var *v = VEC_AT(locals, i);
		sb_printf(&b, v->type == TY_STRING ? "%s->l_%s[0] = 0; " : "%s->l_%s = 0; ", frame, v->name);
	}
	sb_printf(&b, "%s->ret = 0; %s->returning = 0; %s->ret_s[0] = 0; %s->errmsg[0] = 0;", frame, frame, frame,
		  frame);
	return sb_steal(&b);
}

static char *emit_call(Emitter *e, Expr *x)
{
	if (!x->func)
		return emit_builtin(e, x);
	Func *f = x->func;
	char **vals = xcalloc((size_t)x->nargs + 1, sizeof *vals);
	for (int i = 0; i < x->nargs; i++)
		vals[i] = emit_expr(e, x->args[i]);
	char *res = f->ret == TY_STRING ? emit_new_str(e) : emit_new_long(e);
	emit_line(e, "{");
	e->fn->indent++;
	if (e->target == T_BPF) {
		emit_line(e, "__u32 fk_ = %d;", f->id + 1);
		emit_line(e, "struct stp_frame_f%d *CF = bpf_map_lookup_elem(&stp_frames, &fk_);", f->id);
		emit_line(e, "if (!CF) goto %s;", e->unwind);
		char *reset = frame_reset_code("CF", &f->locals);
		emit_line(e, "%s", reset);
		free(reset);
	} else {
		emit_line(e, "struct stp_frame_f%d *CF = calloc(1, sizeof *CF);", f->id);
		emit_line(e, "if (!CF) { stp_rt_error(K, -1, \"out of memory\"); K->error = 1; goto %s; }", e->unwind);
	}
	for (int i = 0; i < x->nargs && i < f->nparams; i++) {
		if (f->params[i].type == TY_STRING || x->args[i]->type == TY_STRING)
			emit_line(e, "stp_str_copy(CF->l_%s, %s);", f->params[i].name, vals[i]);
		else
			emit_line(e, "CF->l_%s = %s;", f->params[i].name, vals[i]);
	}
	emit_line(e, "stp_fn_%d(K, CF);", f->id);
	emit_call_error(e);
	if (f->ret == TY_STRING)
		emit_line(e, "stp_str_copy(%s, CF->ret_s);", res);
	else if (f->ret == TY_LONG)
		emit_line(e, "%s = CF->ret;", res);
	else
		emit_line(e, "%s = 0;", res);
	if (e->target == T_HOST)
		emit_line(e, "free(CF);");
	emit_check_unwind(e);
	e->fn->indent--;
	emit_line(e, "}");
	free(vals);
	return res;
}

/* --------------------------------------------------------- expressions */

char *emit_expr(Emitter *e, Expr *x)
{
	switch (x->kind) {
	case E_NUM: {
		char *t = emit_new_long(e);
		const char *lifted = emit_lifted(e, x);
		if (lifted)
			emit_line(e, "%s = %s;", t, lifted);
		else if (x->num == INT64_MIN)
			emit_line(e, "%s = (-9223372036854775807LL - 1);", t);
		else
			emit_line(e, "%s = %lldLL;", t, (long long)x->num);
		return t;
	}
	case E_STR:
		if (emit_lifted(e, x))
			return xstrdup(emit_lifted(e, x));
		return xasprintf("stp_lit_%d", emit_literal(e, x->str, x->len));
	case E_SYM: {
		Var *v = x->var;
		if (!v) {
			emit_fail(e, x->loc, "unresolved symbol '%s'", x->name);
			return xstrdup("0");
		}
		if (v->type == TY_STATS || is_array_var(v)) {
			emit_fail(e, x->loc, "'%s' is %s and cannot be used as a value here", v->name,
				  v->type == TY_STATS ? "a statistics aggregate" : "an array");
			return xstrdup("0");
		}
		if (v->type == TY_STRING)
			return (char *)var_c_name(e, v);
		char *t = emit_new_long(e);
		emit_line(e, "%s = %s;", t, var_c_name(e, v));
		return t;
	}
	case E_INDEX: {
		Var *v = x->var;
		if (!v) {
			emit_fail(e, x->loc, "unresolved array '%s'", x->name);
			return xstrdup("0");
		}
		if (v->type == TY_STATS) {
			emit_fail(e, x->loc, "statistics element '%s[...]' must be read with @count, @sum, ...", v->name);
			return xstrdup("0");
		}
		char *key = emit_key(e, v, x->args, x->nargs);
		return emit_array_read(e, v, key);
	}
	case E_TARGET:
		return emit_target_var(e, x);
	case E_CALL:
		if (x->func && e->target == T_BPF && defer_is_captured(x))
			return emit_defer(e, x); /* V = W(...) of a deferred-string wrapper */
		return emit_call(e, x);
	case E_UNARY: {
		if (x->args[0]->addressof)
			return emit_expr(e, x->args[0]); /* the operand computes its address */
		char *a = emit_expr(e, x->args[0]);
		char *t = emit_new_long(e);
		if (!strcmp(x->op, "-"))
			emit_line(e, "%s = (int64_t)(0 - (uint64_t)%s);", t, a);
		else
			emit_line(e, "%s = %s%s;", t, !strcmp(x->op, "+") ? "" : x->op, a);
		return t;
	}
	case E_INCDEC:
		return emit_incdec(e, x);
	case E_BINARY: {
		if (!strcmp(x->op, "&&") || !strcmp(x->op, "||"))
			return emit_logical(e, x);
		char *a = emit_expr(e, x->args[0]);
		char *b = emit_expr(e, x->args[1]);
		if (!strcmp(x->op, "."))
			return emit_concat(e, a, b);
		return emit_binary_long(e, x->op, a, b, x->loc);
	}
	case E_COMPARE:
		return emit_compare(e, x);
	case E_ASSIGN:
		return emit_assign(e, x);
	case E_STATS_ADD:
		return emit_stats_add(e, x);
	case E_TERNARY:
		return emit_ternary(e, x);
	case E_IN:
		return emit_in(e, x);
	case E_STAT:
		return emit_stat_extract(e, x);
	case E_HIST:
		emit_fail(e, x->loc, "@%s can only be printed: print(@%s(...))", x->op, x->op);
		return xstrdup("0");
	case E_DEFINED: {
		char *t = emit_new_long(e);
		emit_line(e, "%s = %d;", t, x->args && x->args[0] && x->args[0]->target ? 1 : 0);
		return t;
	}
	case E_CAST:
		return emit_cast(e, x);
	case E_VAR_AT:
		return emit_var_at(e, x);
	case E_EMBEDDED:
		return emit_embedded_expr(e, x);
	case E_ENTRY:
		emit_fail(e, x->loc, "%s is not supported by this translator yet",
			  x->kind == E_CAST ? "@cast" : x->kind == E_VAR_AT ? "@var" : "@entry");
		return xstrdup("0");
	}
	return xstrdup("0");
}

/* ---------------------------------------------------------- statements */

static void emit_block_body(Emitter *e, Stmt *st)
{
	e->fn->indent++;
	if (st)
		emit_stmt(e, st);
	e->fn->indent--;
}

/* Count statements in a loop body: each iteration costs that many
 * actions against MAXACTION. */
static int count_stmts(Stmt *st)
{
	if (!st)
		return 0;
	if (st->kind == S_BLOCK) {
		int n = 0;
		for (int i = 0; i < st->nbody; i++)
			n += count_stmts(st->body[i]);
		return n;
	}
	return 1;
}

/* stap names a keyword by its kind alone ("MAXACTION exceeded near keyword
 * at FILE:LINE:COL"): the location is the loop's own for, while, do or
 * foreach, which the parser's S_FOR for while does not otherwise tell. */
static const char near_keyword[] = "keyword";

static void emit_action_check(Emitter *e, int n, SrcLoc loc)
{
	int id = emit_error_site(e, "MAXACTION exceeded", near_keyword, loc);
	emit_line(e, "K->actions += %d;", n < 1 ? 1 : n);
	emit_raise_if(e, id, "K->actions > STP_MAXACTION_HERE");
}

/* Host loops are plain C loops with labels for break and continue. */
static void emit_loop_host(Emitter *e, Stmt *st)
{
	Loop lp = {.brk = new_label(e, "brk"), .cont = new_label(e, "cont"), .outer = e->loop};
	if (st->kind == S_FOR && st->init)
		emit_stmt(e, st->init);
	emit_line(e, "for (;;) {");
	e->fn->indent++;
	if (st->kind == S_FOR && st->expr) {
		char *c = emit_expr(e, st->expr);
		emit_line(e, "if (!%s) goto %s;", c, lp.brk);
	}
	emit_action_check(e, count_stmts(st->then), st->loc);
	e->loop = &lp;
	e->fn->indent--;
	emit_block_body(e, st->then);
	e->fn->indent++;
	e->loop = lp.outer;
	emit_line(e, "%s:;", lp.cont);
	if (st->kind == S_FOR && st->incr)
		emit_expr(e, st->incr);
	if (st->kind == S_DO) {
		char *c = emit_expr(e, st->expr);
		emit_line(e, "if (!%s) goto %s;", c, lp.brk);
	}
	e->fn->indent--;
	emit_line(e, "}");
	emit_line(e, "%s:;", lp.brk);
}

/* Start a BPF callback function; the caller's text continues after it. */
static CFn *callback_begin(Emitter *e, const char *proto, char **name_out)
{
	char *name = xasprintf("stp_cb_%d", e->callback_counter++);
	*name_out = name;
	CFn *fn = xcalloc(1, sizeof *fn);
	fn->parent = e->fn;
	fn->is_callback = true;
	fn->indent = 1;
	sb_printf(&fn->body, "%s", "");
	(void)proto;
	e->fn = fn;
	return fn;
}

static void callback_end(Emitter *e, CFn *fn, const char *name, const char *params, const char *setup)
{
	StrBuf out = {0};
	sb_printf(&out, "static long %s(%s)\n{\n", name, params);
	sb_printf(&out, "\tstruct stp_loopctx *L = ctx;\n\tstp_kctx_t *K = L->K;\n\t%s *F = L->F;\n",
		  e->frame->type);
	sb_puts(&out, "\tstruct stp_globals *G = &stp_g;\n");
	for (int i = 0; i < fn->nlong; i++)
		sb_printf(&out, "\tint64_t t%d = 0;\n", i);
	sb_puts(&out, "\t(void)G; (void)F; (void)K;\n");
	if (setup)
		sb_puts(&out, setup);
	sb_puts(&out, fn->body.s ? fn->body.s : "");
	sb_puts(&out, "\treturn 0;\nout:\n\treturn 1;\n}\n\n");
	sb_puts(e->callbacks, out.s);
	free(out.s);
	e->fn = fn->parent;
}

/* BPF loops run as bpf_loop() callbacks: the verifier checks the body once,
 * and MAXACTION bounds the iterations. */
static void emit_loop_bpf(Emitter *e, Stmt *st)
{
	if (st->kind == S_FOR && st->init)
		emit_stmt(e, st->init);
	char *name;
	const char *saved_unwind = e->unwind;
	CFn *fn = callback_begin(e, NULL, &name);
	frames_note_loop(name, st->loc);
	Loop lp = {.cont = new_label(e, "cont"), .bpf_callback = true, .outer = e->loop};
	e->unwind = "out";
	if (st->kind == S_FOR && st->expr) {
		char *c = emit_expr(e, st->expr);
		emit_line(e, "if (!%s) { L->done = 1; return 1; }", c);
	}
	emit_line(e, "K->actions += %d;", count_stmts(st->then) < 1 ? 1 : count_stmts(st->then));
	e->loop = &lp;
	emit_block_body(e, st->then);
	e->loop = lp.outer;
	emit_line(e, "%s:;", lp.cont);
	if (st->kind == S_FOR && st->incr)
		emit_expr(e, st->incr);
	if (st->kind == S_DO) {
		char *c = emit_expr(e, st->expr);
		emit_line(e, "if (!%s) { L->done = 1; return 1; }", c);
	}
	callback_end(e, fn, name, "__u32 i, void *ctx", NULL);
	e->unwind = saved_unwind;
	int id = emit_error_site(e, "MAXACTION exceeded", near_keyword, st->loc);
	emit_line(e, "{ struct stp_loopctx lc_ = {K, F, 0}; bpf_loop(STP_MAXACTION_HERE, %s, &lc_, 0);", name);
	emit_line(e, "  if (K->error || F->returning) goto %s;", e->unwind);
	emit_raise_if(e, id, "!lc_.done");
	emit_line(e, "}");
}

static void assign_foreach_vars(Emitter *e, ForeachInfo *fe, Var *arr, const char *key, const char *val)
{
	for (int i = 0; i < fe->nkeys; i++) {
		Var *kv = fe->key_vars[i];
		if (!kv)
			continue;
		if (arr->keys[i] == TY_STRING)
			emit_line(e, "stp_str_copy(%s, %s.k%d);", var_c_name(e, kv), key, i);
		else
			emit_line(e, "%s = %s.k%d;", var_c_name(e, kv), key, i);
	}
	if (fe->value_var && val) {
		if (arr->type == TY_STRING)
			emit_line(e, "stp_str_copy(%s, %s);", var_c_name(e, fe->value_var), val);
		else if (arr->type == TY_LONG)
			emit_line(e, "%s = %s;", var_c_name(e, fe->value_var), val);
	}
}

static void emit_foreach_host(Emitter *e, Stmt *st)
{
	ForeachInfo *fe = st->fe;
	Var *arr = fe->array_expr ? fe->array_expr->var : NULL;
	if (!arr) {
		emit_fail(e, fe->array_loc, "unresolved array '%s'", fe->array);
		return;
	}
	int gid = global_id(e->p, arr);
	char *lim = fe->limit ? emit_expr(e, fe->limit) : xstrdup("-1");
	char *key = new_key(e, arr);
	char *val = arr->type == TY_STATS ? new_stat(e, arr) : NULL;
	Loop lp = {.brk = new_label(e, "brk"), .cont = new_label(e, "cont"), .is_foreach = true, .outer = e->loop};
	int sort_key = fe->sort_dir ? fe->sort_key : -1;
	/* a sort on the value written on a key variable: v+ in "v = [k] in a" */
	emit_line(e, "{ struct stp_iter *it_ = stp_rt_iter_begin(K, %d, %d, %d, %s, 0);", gid, sort_key,
		  fe->sort_dir ? fe->sort_dir : 1, lim);
	if (arr->type == TY_LONG)
		emit_line(e, "  int64_t fv_ = 0;");
	else if (arr->type == TY_STRING)
		emit_line(e, "  struct stp_strv fv_;");
	emit_line(e, "  while (stp_rt_iter_next(it_, &%s, %s)) {", key,
		  arr->type == TY_STATS ? xasprintf("&%s", val) : "&fv_");
	e->fn->indent++;
	assign_foreach_vars(e, fe, arr, key, arr->type == TY_STRING ? "fv_.s" : "fv_");
	emit_action_check(e, count_stmts(st->then), st->loc);
	const char *saved = e->unwind;
	e->unwind = lp.brk;
	e->loop = &lp;
	emit_block_body(e, st->then);
	e->loop = lp.outer;
	e->unwind = saved;
	emit_line(e, "%s:;", lp.cont);
	e->fn->indent--;
	emit_line(e, "  }");
	emit_line(e, "%s:", lp.brk);
	emit_line(e, "  stp_rt_iter_end(it_);");
	emit_line(e, "  if (K->error || F->returning) goto %s; }", e->unwind);
}

/* ------------------------------------------------ kernel foreach */

/* A kernel foreach's state, in the per-CPU map stp_sortstate (entry
 * `site`): the verifier tracks values on the stack exactly, so a count or
 * an action budget kept there and tested in the callback would make it
 * walk every iteration apart; map contents are just numbers to it. */
static void emit_site_begin(Emitter *e, int site, const char *lim)
{
	emit_line(e, "{ __u32 site_ = %d; struct stp_sortctx sc_ = {.L = {K, F, 0, 0, %s}};", site, lim);
	emit_line(e, "  sc_.st = bpf_map_lookup_elem(&stp_sortstate, &site_);");
	emit_line(e, "  if (!sc_.st) goto %s;", e->unwind);
	emit_line(e, "  sc_.st->n = 0; sc_.st->spent = 0;");
	emit_line(e, "  sc_.st->budget = STP_MAXACTION_HERE - K->actions;");
}

static void emit_site_end(Emitter *e, Stmt *st)
{
	int id = emit_error_site(e, "MAXACTION exceeded", near_keyword, st->loc);
	emit_line(e, "  if (K->error || F->returning) goto %s;", e->unwind);
	emit_raise_if(e, id, "sc_.L.done == 2");
	emit_line(e, "}");
}

/* Each iteration pays for the body's statements against MAXACTION. */
static void emit_body_actions(Emitter *e, Stmt *st)
{
	int per = count_stmts(st->then) < 1 ? 1 : count_stmts(st->then);
	emit_line(e, "K->actions += %d;", per);
	emit_line(e, "SC->st->spent += %d;", per);
	emit_line(e, "if (SC->st->spent > SC->st->budget) { L->done = 2; return 1; }");
}

/* The snapshot of one sorted (or statistics) foreach site: its entry type
 * and per-CPU map, sized like the array (see stp_sortctx in stp_bpf.h).
 * For a statistics array the entry keeps the aggregate it is sorted by. */
typedef struct Snapshot {
	int id;
	Var *arr;
	char *ent;      /* "struct stp_sortent_3" */
	char *map;      /* "stp_sort_3" */
	int64_t cap;
} Snapshot;

static int64_t array_capacity(Emitter *e, Var *arr)
{
	return arr->maxsize > 0 ? arr->maxsize : e->s->limits.maxmapentries;
}

static void snapshot_decls(Emitter *e, Snapshot *sn)
{
	Var *arr = sn->arr;
	const char *vt = arr->type == TY_STRING ? "struct stp_strv" : "int64_t";
	sb_printf(e->decls, "%s { %s k; %s v; __u32 ix[2]; };\n", sn->ent, global_key_type(arr), vt);
	sb_printf(e->decls,
		  "struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, %lld);\n"
		  "\t__type(key, __u32);\n\t__type(value, %s);\n} %s SEC(\".maps\");\n\n",
		  (long long)sn->cap, sn->ent, sn->map);
}

/* The callback of bpf_for_each_map_elem that copies one element. */
static void snapshot_collect_fn(Emitter *e, Snapshot *sn, const char *stat_tmp)
{
	Var *arr = sn->arr;
	StrBuf *b = e->callbacks;
	sb_printf(b, "static long stp_sortcollect_%d(void *map, void *key, void *value, void *ctx)\n{\n", sn->id);
	sb_puts(b, "\tstruct stp_sortstate *c = ((struct stp_sortctx *)ctx)->st;\n\t__u32 x = c->n;\n");
	sb_printf(b, "\tif (x >= %lld)\n\t\treturn 1;\n", (long long)sn->cap);
	sb_printf(b, "\t%s *p = bpf_map_lookup_elem(&%s, &x);\n\tif (!p)\n\t\treturn 1;\n", sn->ent, sn->map);
	sb_puts(b, "\t__builtin_memcpy(&p->k, key, sizeof p->k);\n");
	if (arr->type == TY_STATS) {
		/* this CPU's copy is in value; the order is by the whole @count */
		sb_printf(b, "\t%s *F = ((struct stp_sortctx *)ctx)->L.F;\n", e->frame->type);
		sb_printf(b, "\tstp_stat_sum_%d(&g_%s, key, &%s);\n\tp->v = %s.s.count;\n", global_id(e->p, arr),
			  arr->name, stat_tmp, stat_tmp);
	} else if (arr->type == TY_STRING) {
		sb_puts(b, "\t__builtin_memcpy(&p->v, value, sizeof p->v);\n");
	} else {
		sb_puts(b, "\tp->v = *(int64_t *)value;\n");
	}
	sb_puts(b, "\tp->ix[0] = x;\n\tc->n = x + 1;\n\treturn 0;\n}\n\n");
}

/* Order of two entries: the sort field in the asked direction, then all
 * keys ascending (the host's tie order, so both sides print alike). */
static void snapshot_compare_fn(Emitter *e, Snapshot *sn, ForeachInfo *fe)
{
	Var *arr = sn->arr;
	StrBuf *b = e->callbacks;
	sb_printf(b, "static __always_inline int stp_sortcmp_%d(const %s *a, const %s *b)\n{\n\tint r = 0;\n", sn->id,
		  sn->ent, sn->ent);
	if (fe->sort_key == 0) {
		if (arr->type == TY_STRING)
			sb_puts(b, "\tr = stp_sort_strcmp(a->v.s, b->v.s, STP_STRLEN);\n");
		else
			sb_puts(b, "\tr = stp_sort_i64cmp(a->v, b->v);\n");
	} else {
		int k = fe->sort_key - 1;
		if (arr->keys[k] == TY_STRING)
			sb_printf(b, "\tr = stp_sort_strcmp(a->k.k%d, b->k.k%d, sizeof a->k.k%d);\n", k, k, k);
		else
			sb_printf(b, "\tr = stp_sort_i64cmp(a->k.k%d, b->k.k%d);\n", k, k);
	}
	sb_printf(b, "\tif (r)\n\t\treturn %sr;\n", fe->sort_dir < 0 ? "-" : "");
	for (int k = 0; k < arr->nkeys; k++) {
		if (arr->keys[k] == TY_STRING)
			sb_printf(b, "\tr = stp_sort_strcmp(a->k.k%d, b->k.k%d, sizeof a->k.k%d);\n", k, k, k);
		else
			sb_printf(b, "\tr = stp_sort_i64cmp(a->k.k%d, b->k.k%d);\n", k, k);
		sb_puts(b, "\tif (r)\n\t\treturn r;\n");
	}
	sb_puts(b, "\treturn 0;\n}\n\n");
}

/* One step of a merge pass: output position k takes the smaller head of
 * the runs [lo, mid) and [mid, hi) of order slot src into slot src ^ 1. */
static void snapshot_merge_fn(Emitter *e, Snapshot *sn)
{
	StrBuf *b = e->callbacks;
	sb_printf(b, "static long stp_sortstep_%d(__u32 step, void *ctx)\n{\n", sn->id);
	sb_printf(b, "\tstruct stp_sortstate *c = ((struct stp_sortctx *)ctx)->st;\n\t__u32 s = c->src & 1, k = c->k, x;\n"
		     "\t%s *a = 0, *b = 0, *o;\n\t__u32 xa = 0, xb = 0;\n", sn->ent);
	sb_puts(b, "\tif (k >= c->n)\n\t\treturn 1;\n"
		   "\tif (k == c->hi) {\n\t\tc->lo = k;\n\t\tc->mid = k + c->w < c->n ? k + c->w : c->n;\n"
		   "\t\tc->hi = c->mid + c->w < c->n ? c->mid + c->w : c->n;\n\t\tc->i = c->lo;\n\t\tc->j = c->mid;\n\t}\n");
	const char *m = sn->map;
	sb_printf(b, "\tif (c->i < c->mid) {\n\t\tx = c->i;\n\t\to = bpf_map_lookup_elem(&%s, &x);\n"
		     "\t\tif (!o)\n\t\t\treturn 1;\n\t\txa = o->ix[s];\n\t\ta = bpf_map_lookup_elem(&%s, &xa);\n\t}\n",
		  m, m);
	sb_printf(b, "\tif (c->j < c->hi) {\n\t\tx = c->j;\n\t\to = bpf_map_lookup_elem(&%s, &x);\n"
		     "\t\tif (!o)\n\t\t\treturn 1;\n\t\txb = o->ix[s];\n\t\tb = bpf_map_lookup_elem(&%s, &xb);\n\t}\n",
		  m, m);
	/* the tests stay apart: clang would merge !a && !b into a|b,
	 * arithmetic on pointers that the verifier refuses */
	sb_printf(b, "\to = bpf_map_lookup_elem(&%s, &k);\n\tif (!o)\n\t\treturn 1;\n\tint left = 0;\n", m);
	sb_printf(b, "\tif (a) {\n\t\tleft = 1;\n\t\tif (b)\n\t\t\tleft = stp_sortcmp_%d(a, b) <= 0;\n\t}\n", sn->id);
	sb_puts(b, "\tif (left) {\n\t\to->ix[s ^ 1] = xa;\n\t\tc->i++;\n\t} else if (b) {\n\t\to->ix[s ^ 1] = xb;\n"
		   "\t\tc->j++;\n\t} else {\n\t\treturn 1;\n\t}\n\tc->k = k + 1;\n\treturn 0;\n}\n\n");
	/* pass p merges runs of width 2^p; a bpf_loop of passes keeps the
	 * verifier from walking each pass separately */
	sb_printf(b, "static long stp_sortpass_%d(__u32 p, void *ctx)\n{\n", sn->id);
	sb_printf(b, "\tstruct stp_sortstate *c = ((struct stp_sortctx *)ctx)->st;\n\tif (p >= 32 || (1u << p) >= c->n)\n\t\treturn 1;\n"
		     "\tc->w = 1u << p;\n\tc->k = 0;\n\tc->hi = 0;\n\tc->src = p & 1;\n"
		     "\tbpf_loop(c->n, stp_sortstep_%d, ctx, 0);\n\tc->src = (p + 1) & 1;\n\treturn 0;\n}\n\n",
		  sn->id);
}

/* Sorted foreach, and foreach over statistics, in a kernel handler:
 * copy, sort (when asked), then run the body over the copy with bpf_loop.
 * stap forbids changing the array inside the loop (pass 2 checks), so the
 * copy is what the loop would have seen. */
static void emit_foreach_bpf_snapshot(Emitter *e, Stmt *st, Var *arr)
{
	ForeachInfo *fe = st->fe;
	Snapshot sn = {.id = e->snapshot_counter++, .arr = arr, .cap = array_capacity(e, arr)};
	sn.ent = xasprintf("struct stp_sortent_%d", sn.id);
	sn.map = xasprintf("stp_sort_%d", sn.id);
	char *lim = fe->limit ? emit_expr(e, fe->limit) : xstrdup("-1");
	char *stat_tmp = arr->type == TY_STATS ? new_stat(e, arr) : NULL;
	snapshot_decls(e, &sn);
	snapshot_collect_fn(e, &sn, stat_tmp);
	if (fe->sort_dir) {
		snapshot_compare_fn(e, &sn, fe);
		snapshot_merge_fn(e, &sn);
	}

	/* the body, one bpf_loop step per element of the sorted order */
	char *name;
	const char *saved_unwind = e->unwind;
	CFn *fn = callback_begin(e, NULL, &name);
	frames_note_loop(name, st->loc);
	Loop lp = {.cont = new_label(e, "cont"), .bpf_callback = true, .is_foreach = true, .outer = e->loop};
	e->unwind = "out";
	emit_line(e, "__u32 x_ = i;");
	emit_line(e, "%s *p_ = bpf_map_lookup_elem(&%s, &x_);", sn.ent, sn.map);
	emit_line(e, "if (!p_) return 1;");
	emit_line(e, "x_ = p_->ix[SC->st->src & 1];");
	emit_line(e, "p_ = bpf_map_lookup_elem(&%s, &x_);", sn.map);
	emit_line(e, "if (!p_) return 1;");
	assign_foreach_vars(e, fe, arr, "p_->k",
			    arr->type == TY_STATS ? NULL : arr->type == TY_STRING ? "p_->v.s" : "p_->v");
	emit_body_actions(e, st);
	e->loop = &lp;
	emit_block_body(e, st->then);
	e->loop = lp.outer;
	emit_line(e, "%s:;", lp.cont);
	callback_end(e, fn, name, "__u32 i, void *ctx", "\tstruct stp_sortctx *SC = ctx;\n\t(void)SC;\n");
	e->unwind = saved_unwind;

	emit_site_begin(e, sn.id, lim);
	emit_line(e, "  sc_.st->src = 0;");
	emit_line(e, "  bpf_for_each_map_elem(&g_%s, stp_sortcollect_%d, &sc_, 0);", arr->name, sn.id);
	if (fe->sort_dir)
		emit_line(e, "  bpf_loop(32, stp_sortpass_%d, &sc_, 0);", sn.id);
	emit_line(e, "  __u32 n_ = sc_.st->n;");
	emit_line(e, "  if (sc_.L.limit >= 0 && sc_.L.limit < n_) n_ = sc_.L.limit;");
	emit_line(e, "  bpf_loop(n_, %s, &sc_, 0);", name);
	emit_site_end(e, st);
}

/* Kernel foreach walks the map with bpf_for_each_map_elem(): unsorted,
 * like stap's foreach without a sort mark.  Sorted foreach and foreach
 * over statistics go through a snapshot. */
static void emit_foreach_bpf(Emitter *e, Stmt *st)
{
	ForeachInfo *fe = st->fe;
	Var *arr = fe->array_expr ? fe->array_expr->var : NULL;
	if (!arr) {
		emit_fail(e, fe->array_loc, "unresolved array '%s'", fe->array);
		return;
	}
	if (fe->sort_dir || arr->type == TY_STATS) {
		emit_foreach_bpf_snapshot(e, st, arr);
		return;
	}
	int site = e->snapshot_counter++;
	char *lim = fe->limit ? emit_expr(e, fe->limit) : xstrdup("-1");
	char *name;
	const char *saved_unwind = e->unwind;
	CFn *fn = callback_begin(e, NULL, &name);
	frames_note_loop(name, st->loc);
	Loop lp = {.cont = new_label(e, "cont"), .bpf_callback = true, .is_foreach = true, .outer = e->loop};
	e->unwind = "out";
	/* the count and the budget are map-held (see stp_sortstate) */
	emit_line(e, "if (L->limit >= 0 && SC->st->n >= L->limit) return 1;");
	emit_line(e, "SC->st->n++;");
	char *kexpr = xasprintf("(*(%s *)key)", global_key_type(arr));
	char *vexpr = arr->type == TY_STRING ? xstrdup("((struct stp_strv *)value)->s") : xstrdup("(*(int64_t *)value)");
	assign_foreach_vars(e, fe, arr, kexpr, vexpr);
	emit_body_actions(e, st);
	e->loop = &lp;
	emit_block_body(e, st->then);
	e->loop = lp.outer;
	emit_line(e, "%s:;", lp.cont);
	callback_end(e, fn, name, "void *map, void *key, void *value, void *ctx",
		     "\tstruct stp_sortctx *SC = ctx;\n\t(void)SC;\n");
	e->unwind = saved_unwind;
	emit_site_begin(e, site, lim);
	emit_line(e, "  bpf_for_each_map_elem(&g_%s, %s, &sc_, 0);", arr->name, name);
	emit_site_end(e, st);
}

static void emit_delete(Emitter *e, Stmt *st)
{
	Expr *x = st->expr;
	Var *v = x->var;
	if (!v) {
		emit_fail(e, x->loc, "delete needs a variable or array element");
		return;
	}
	int gid = global_id(e->p, v);
	if (x->kind == E_INDEX) {
		char *key = emit_key(e, v, x->args, x->nargs);
		if (e->target == T_BPF)
			emit_line(e, "bpf_map_delete_elem(&g_%s, &%s);", v->name, key);
		else
			emit_line(e, "stp_rt_map_delete(K, %d, &%s);", gid, key);
		return;
	}
	if (is_array_var(v) || (v->type == TY_STATS && v->scope == VAR_GLOBAL)) {
		if (e->target == T_BPF) {
			if (is_array_var(v))
				emit_line(e, "bpf_for_each_map_elem(&g_%s, stp_delete_cb, 0, 0);", v->name);
			else
				emit_line(e, "{ void *z_ = bpf_map_lookup_elem(&stp_zero_stat, &stp_zero); "
					     "if (z_) bpf_map_update_elem(&g_%s, &stp_zero, z_, BPF_ANY); }",
					  v->name);
		} else {
			emit_line(e, "stp_rt_map_clear(K, %d);", gid);
		}
		return;
	}
	if (v->type == TY_STRING)
		emit_line(e, "%s[0] = 0;", var_c_name(e, v));
	else
		emit_line(e, "%s = 0;", var_c_name(e, v));
}

static void emit_try(Emitter *e, Stmt *st)
{
	char *catch_label = new_label(e, "catch");
	char *done = new_label(e, "tried");
	const char *saved = e->unwind;
	e->unwind = catch_label;
	e->try_depth++;
	emit_line(e, "{");
	emit_block_body(e, st->then);
	emit_line(e, "}");
	e->try_depth--;
	e->unwind = saved;
	emit_line(e, "goto %s;", done);
	emit_line(e, "%s:", catch_label);
	/* next and return pass through; errors are caught */
	emit_line(e, "if (K->error < 0 || F->returning) goto %s;", e->unwind);
	emit_line(e, "if (K->error > 0) {");
	e->fn->indent++;
	if (st->var_catch) {
		if (e->target == T_BPF)
			emit_line(e, "stp_str_copy(%s, F->errmsg[0] ? F->errmsg : stp_errmsgs[(K->error - 1) & (STP_NERRMSG - 1)]);",
				  var_c_name(e, st->var_catch));
		else
			emit_line(e, "stp_str_copy(%s, F->errmsg[0] ? F->errmsg : stp_errmsgs[K->error - 1]);",
				  var_c_name(e, st->var_catch));
	}
	emit_line(e, "K->error = 0; F->errmsg[0] = 0;");
	e->fn->indent--;
	emit_line(e, "}");
	emit_block_body(e, st->els);
	emit_line(e, "%s:;", done);
}

void emit_stmt(Emitter *e, Stmt *st)
{
	if (!st)
		return;
	switch (st->kind) {
	case S_BLOCK:
		for (int i = 0; i < st->nbody; i++)
			emit_stmt(e, st->body[i]);
		break;
	case S_EXPR:
		emit_expr(e, st->expr);
		break;
	case S_IF: {
		char *c = emit_expr(e, st->expr);
		emit_line(e, "if (%s) {", c);
		emit_block_body(e, st->then);
		if (st->els) {
			emit_line(e, "} else {");
			emit_block_body(e, st->els);
		}
		emit_line(e, "}");
		break;
	}
	case S_FOR:
	case S_DO:
		if (e->target == T_BPF)
			emit_loop_bpf(e, st);
		else
			emit_loop_host(e, st);
		break;
	case S_FOREACH:
		if (e->target == T_BPF)
			emit_foreach_bpf(e, st);
		else
			emit_foreach_host(e, st);
		break;
	case S_BREAK:
		if (!e->loop)
			emit_fail(e, st->loc, "'break' outside a loop");
		else if (e->loop->bpf_callback)
			emit_line(e, "L->done = 1; return 1;");
		else
			emit_line(e, "goto %s;", e->loop->brk);
		break;
	case S_CONTINUE:
		if (!e->loop)
			emit_fail(e, st->loc, "'continue' outside a loop");
		else
			emit_line(e, "goto %s;", e->loop->cont);
		break;
	case S_NEXT:
		emit_line(e, "K->error = -1;");
		emit_line(e, "goto %s;", e->unwind);
		break;
	case S_RETURN:
		if (!e->frame->is_function) {
			emit_fail(e, st->loc, "'return' outside a function");
			break;
		}
		if (st->expr) {
			char *v = emit_expr(e, st->expr);
			if (st->expr->type == TY_STRING)
				emit_line(e, "stp_str_copy(F->ret_s, %s);", v);
			else
				emit_line(e, "F->ret = %s;", v);
		}
		emit_line(e, "F->returning = 1;");
		emit_line(e, "goto %s;", e->unwind);
		break;
	case S_DELETE:
		emit_delete(e, st);
		break;
	case S_TRY:
		emit_try(e, st);
		break;
	case S_EMBEDDED:
		emit_embedded_stmt(e, st);
		break;
	case S_NULL:
		break;
	}
}
