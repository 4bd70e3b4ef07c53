/* unit.c - pass 3: the two translation units of a module.
 *
 * bpf.c:   the global block (.data), a BPF map per array or statistics
 *          global, a per-CPU frame map per handler and function, the
 *          ring buffer, and a program per resolved kernel probe point
 *          that calls its handler's body.
 * host.c:  the same type definitions, the user-space handlers and script
 *          functions they call, and `stp_module`, the descriptor staprun
 *          reads (probes, globals, formats, error sites, limits).
 * Both are produced by running the emitter over the Program once per
 * target; literals, formats and error sites are numbered once and shared,
 * so an id means the same thing on both sides.
 */
#include "translate.h"
#include "elab/kernel.h"
#include "stp_module.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define STAT_MAX_CPUS 1024

/* Probes that read TP_PROTO arguments run as raw tracepoints. */
static Vec raw_tp_probes; /* DerivedProbe* */

static unsigned pow2_at_least(unsigned n)
{
	unsigned p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

int global_id(Program *p, Var *v)
{
	for (int i = 0; i < p->globals.len; i++)
		if (VEC_AT(&p->globals, i) == v)
			return i;
	return -1;
}

static bool is_array(Var *v)
{
	return v->is_array || v->nkeys > 0;
}

int hist_nbuckets(Var *v)
{
	if (v->hist_kind == 1)
		return 129; /* STP_HIST_LOG_BUCKETS */
	if (v->hist_kind == 2 && v->hist_step > 0) {
		int64_t n = (v->hist_stop - v->hist_start) / v->hist_step;
		if (n < 0)
			n = 0;
		if (n > 1000)
			n = 1000;
		return (int)n + 3; /* start..stop inclusive, under- and overflow */
	}
	return 0;
}

/* ------------------------------------------------- narrow string keys */

/* A string key position that only ever holds execname() or a short
 * literal needs 16 bytes, not MAXSTRINGLEN: hashing a 16-byte key instead
 * of 128 is most of the cost of c[execname()]++.  No other expression is
 * ever used at that position, so nothing can be truncated. */
#define COMM_LEN 16
static Vec narrow_vars;     /* Var* */
static Vec narrow_masks;    /* (intptr_t) bit i: key i is narrow */

static bool narrow_key_expr(const Expr *x)
{
	if (x->kind == E_CALL && !x->func && !strcmp(x->name, "execname"))
		return true;
	return x->kind == E_STR && x->len < COMM_LEN && !memchr(x->str, 0, x->len);
}

static intptr_t *narrow_slot(Var *v)
{
	for (int i = 0; i < narrow_vars.len; i++)
		if (VEC_AT(&narrow_vars, i) == v)
			return (intptr_t *)&narrow_masks.data[i];
	vec_push(&narrow_vars, v);
	vec_push(&narrow_masks, (void *)(intptr_t)((1 << MAX_INDEXES) - 1));
	return (intptr_t *)&narrow_masks.data[narrow_masks.len - 1];
}

/* A string index that is not a narrow key clears its position's bit. */
static bool narrow_scan_node(Expr *x, void *arg)
{
	(void)arg;
	if ((x->kind == E_INDEX || x->kind == E_IN) && x->var) {
		intptr_t *m = narrow_slot(x->var);
		for (int i = 0; i < x->nargs && i < MAX_INDEXES; i++)
			if (!narrow_key_expr(x->args[i]))
				*m &= ~((intptr_t)1 << i);
	}
	return false;
}

static void narrow_scan(Program *p)
{
	const AstWalk scan = {.expr = narrow_scan_node};
	narrow_vars.len = narrow_masks.len = 0;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		ast_walk_stmt(dp->body, &scan);
		ast_walk_expr(dp->cond, &scan);
	}
	for (int i = 0; i < p->functions.len; i++)
		ast_walk_stmt(((Func *)VEC_AT(&p->functions, i))->body, &scan);
}

/* Whether any handler or function calls pn(): only then does each
 * handler store its name in K->pn (a store per event otherwise wasted). */
static bool uses_pn;

static bool pn_call(Expr *x, void *arg)
{
	(void)arg;
	return x->kind == E_CALL && !x->func && !strcmp(x->name, "pn");
}

/* Whether any handler or function calls matched(), matched_str() or
 * ngroups(): only then does each =~ record where its groups are (and
 * each handler start with no match). */
static bool caps_call(Expr *x, void *arg)
{
	(void)arg;
	return x->kind == E_CALL && !x->func &&
	       (!strcmp(x->name, "matched") || !strcmp(x->name, "matched_str") || !strcmp(x->name, "ngroups"));
}

static bool caps_scan(Program *p)
{
	const AstWalk scan = {.expr = caps_call};
	for (int i = 0; i < p->probes.len; i++)
		if (ast_walk_stmt(((DerivedProbe *)VEC_AT(&p->probes, i))->body, &scan))
			return true;
	for (int i = 0; i < p->functions.len; i++)
		if (ast_walk_stmt(((Func *)VEC_AT(&p->functions, i))->body, &scan))
			return true;
	return false;
}

static void pn_scan(Program *p)
{
	const AstWalk scan = {.expr = pn_call};
	uses_pn = false;
	for (int i = 0; i < p->probes.len && !uses_pn; i++)
		uses_pn = ast_walk_stmt(((DerivedProbe *)VEC_AT(&p->probes, i))->body, &scan);
	for (int i = 0; i < p->functions.len && !uses_pn; i++)
		uses_pn = ast_walk_stmt(((Func *)VEC_AT(&p->functions, i))->body, &scan);
}

int key_width(Var *v, int k)
{
	if (v->keys[k] != TY_STRING)
		return 8;
	for (int i = 0; i < narrow_vars.len; i++)
		if (VEC_AT(&narrow_vars, i) == v)
			return ((intptr_t)VEC_AT(&narrow_masks, i) >> k) & 1 ? COMM_LEN : 0;
	return 0; /* 0: STP_STRLEN */
}

char *global_key_type(Var *v)
{
	return xasprintf("struct stp_key_%s", v->name);
}

char *global_value_type(Var *v)
{
	if (v->type == TY_STATS)
		return xasprintf("struct stp_statv_%s", v->name);
	if (v->type == TY_STRING)
		return xstrdup("struct stp_strv");
	return xstrdup("int64_t");
}

/* CONFIG_HZ of the target kernel, for jiffies in user space. */
static int kernel_hz(Session *s)
{
	char *path = s->kernel_config_path ? xstrdup(s->kernel_config_path)
					   : xasprintf("/boot/config-%s", s->kernel_release);
	gzFile f = gzopen(path, "r");
	if (!f)
		f = gzopen("/proc/config.gz", "r");
	free(path);
	int hz = 250;
	if (!f)
		return hz;
	char line[256];
	while (gzgets(f, line, sizeof line)) {
		if (!strncmp(line, "CONFIG_HZ=", 10)) {
			hz = atoi(line + 10);
			break;
		}
	}
	gzclose(f);
	return hz > 0 ? hz : 250;
}

/* ------------------------------------------------------ shared types */

static void emit_common(StrBuf *b, Session *s, Program *p, unsigned recmax, int nerr)
{
	unsigned strlen_ = (unsigned)s->limits.maxstringlen;
	sb_printf(b, "#define STP_STRLEN %u\n", strlen_);
	sb_printf(b, "#define STP_STRBUF %u\n", pow2_at_least(strlen_));
	sb_printf(b, "#define STP_RECMAX %u\n", recmax);
	sb_printf(b, "#define STP_MAXACTION %lldLL\n", (long long)s->limits.maxaction);
	sb_printf(b, "#define STP_MAXNESTING %lld\n", (long long)s->limits.maxnesting);
	sb_printf(b, "#define STP_NERRMSG %u\n", pow2_at_least((unsigned)(nerr ? nerr : 1)));
	sb_printf(b, "#define STP_HZ %d\n", kernel_hz(s));
	sb_printf(b, "#define STP_MAXCPU %d\n", STAT_MAX_CPUS);
}

static void emit_types(StrBuf *b, Program *p)
{
	sb_puts(b, "\nstruct stp_strv { char s[STP_STRLEN]; };\n");
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		if (is_array(v)) {
			sb_printf(b, "struct stp_key_%s {", v->name);
			for (int k = 0; k < v->nkeys; k++) {
				if (v->keys[k] == TY_STRING && key_width(v, k))
					sb_printf(b, " char k%d[%d];", k, key_width(v, k));
				else if (v->keys[k] == TY_STRING)
					sb_printf(b, " char k%d[STP_STRLEN];", k);
				else
					sb_printf(b, " int64_t k%d;", k);
			}
			sb_puts(b, " };\n");
		}
		if (v->type == TY_STATS) {
			int nb = hist_nbuckets(v);
			sb_printf(b, "struct stp_statv_%s { struct stp_stat s; int64_t b[%d]; };\n", v->name,
				  nb ? nb : 1);
		}
	}
	sb_puts(b, "\n/* scalar globals, shared by the kernel and staprun (mapped .data) */\n");
	sb_puts(b, "struct stp_globals {\n\tstruct stp_state st;\n");
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		if (is_array(v) || v->type == TY_STATS)
			continue;
		if (v->type == TY_STRING)
			sb_printf(b, "\tchar g_%s[STP_STRLEN];\n", v->name);
		else
			sb_printf(b, "\tint64_t g_%s;\n", v->name);
	}
	sb_puts(b, "};\n\n");
}

static void emit_literals(StrBuf *b, Emitter *e)
{
	for (int i = 0; i < e->literals->len; i++) {
		char *lit = c_string_literal(VEC_AT(e->literals, i), (size_t)(intptr_t)VEC_AT(e->literal_lens, i));
		size_t n = (size_t)(intptr_t)VEC_AT(e->literal_lens, i);
		/* padded so comparisons may read STP_STRBUF bytes; longer ones (formats) fit */
		if (n + 1 > (size_t)e->s->limits.maxstringlen)
			sb_printf(b, "static const char stp_lit_%d[%zu] = %s;\n", i, n + 1 > 1 ? n + 1 : 1, lit);
		else
			sb_printf(b, "static const char stp_lit_%d[STP_STRBUF] = %s;\n", i, lit);
		free(lit);
	}
	sb_puts(b, "static const char stp_errmsgs[STP_NERRMSG][STP_STRLEN] = {\n");
	for (int i = 0; i < e->error_msgs->len; i++) {
		const char *m = VEC_AT(e->error_msgs, i);
		char *lit = c_string_literal(m, strlen(m));
		sb_printf(b, "\t%s,\n", lit);
		free(lit);
	}
	sb_puts(b, "};\n\n");
}

/* --------------------------------------------------------- frames */

static void emit_frame_struct(StrBuf *b, Frame *fr)
{
	sb_printf(b, "%s {\n", fr->type);
	for (int i = 0; i < fr->locals->len; i++) {
		Var *v = VEC_AT(fr->locals, i);
		if (v->type == TY_STRING)
			sb_printf(b, "\tchar l_%s[STP_STRLEN];\n", v->name);
		else
			sb_printf(b, "\tint64_t l_%s;\n", v->name);
	}
	/* a hit resets the locals, ret, returning, ret_s and errmsg
	 * (frame_reset_code) */
	sb_puts(b, "\tint64_t ret;\n\tint64_t returning;\n\tchar ret_s[STP_STRLEN];\n\tchar errmsg[STP_STRLEN];\n");
	/* string temporaries: twice STP_STRBUF, see stp_bpf.h */
	int nstr = fr->nstr ? fr->nstr : 1;
	for (int i = 0; i < nstr; i++)
		sb_printf(b, "\tchar s%d[2 * STP_STRBUF];\n", i);
	for (int i = 0; i < fr->key_types.len; i++)
		sb_printf(b, "\t%s k%d;\n", (char *)VEC_AT(&fr->key_types, i), i);
	for (int i = 0; i < fr->stat_types.len; i++)
		sb_printf(b, "\t%s v%d;\n", (char *)VEC_AT(&fr->stat_types, i), i);
	sb_puts(b, "};\n\n");
}

/* ------------------------------------------------ one handler or function */

typedef struct Unit {
	Target target;
	StrBuf frames;      /* frame struct definitions */
	StrBuf maps;        /* frame maps (BPF) */
	StrBuf protos;
	StrBuf callbacks;
	StrBuf code;        /* functions and handlers */
	Vec frame_types;    /* char*: every frame struct (BPF: members of stp_frames) */
	int nfuncs;         /* script functions (BPF: stp_frames entries 1..) */
	int nkretprobes;    /* kretprobe forms emitted (their entry halves' keys) */
} Unit;

/* All kernel-side frames live in one per-CPU array (a program may use at
 * most 64 maps): entry 0 holds the frame of the handler running on this
 * CPU (one at a time: the kernel does not nest tracing programs on a CPU),
 * entry 1 + id the frame of script function id.  Each entry is as large
 * as the largest frame. */
static void emit_frames_map(StrBuf *b, Unit *u)
{
	sb_puts(b, "union stp_frame_any {\n\tchar none;\n");
	for (int i = 0; i < u->frame_types.len; i++)
		sb_printf(b, "\t%s f%d;\n", (char *)VEC_AT(&u->frame_types, i), i);
	sb_puts(b, "};\n\n");
	sb_printf(b,
		  "struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, %d);\n"
		  "\t__type(key, __u32);\n\t__type(value, union stp_frame_any);\n} stp_frames SEC(\".maps\");\n\n",
		  u->nfuncs + 1);
}

static void begin_fn(Emitter *e, CFn *fn, Frame *fr)
{
	memset(fn, 0, sizeof *fn);
	fn->indent = 1;
	e->fn = fn;
	e->frame = fr;
	e->loop = NULL;
	e->unwind = "out";
	e->try_depth = 0;
}

static void long_decls(StrBuf *b, CFn *fn)
{
	for (int i = 0; i < fn->nlong; i++)
		sb_printf(b, "\tint64_t t%d = 0;\n", i);
}

/* only_deferred: a host function only staprun's formatting of deferred
 * strings calls (hundreds of argstr formatters for syscall.*): compiled
 * without optimisation, which takes a third of the time. */
static void emit_function(Emitter *e, Unit *u, Func *f, bool only_deferred)
{
	Frame *fr = xcalloc(1, sizeof *fr);
	fr->type = xasprintf("struct stp_frame_f%d", f->id);
	fr->locals = &f->locals;
	fr->is_function = true;
	fr->ret = f->ret;
	CFn fn;
	begin_fn(e, &fn, fr);
	e->callbacks = &u->callbacks;
	e->decls = &u->maps;
	if (f->body)
		emit_stmt(e, f->body);
	else
		emit_embedded_function(e, f);

	const char *attr = e->target == T_BPF ? "static __noinline " : only_deferred ? "static STP_DEFERRED_FN " : "static ";
	sb_printf(&u->protos, "%s%s;\n", attr,
		  xasprintf("void stp_fn_%d(stp_kctx_t *K, %s *F)", f->id, fr->type));
	sb_printf(&u->code, "/* function %s */\n%svoid stp_fn_%d(stp_kctx_t *K, %s *F)\n{\n", f->name, attr, f->id,
		  fr->type);
	if (e->target == T_BPF)
		sb_puts(&u->code, "\tstruct stp_globals *G = &stp_g;\n");
	else
		sb_puts(&u->code, "\tstruct stp_globals *G = K->globals;\n\tstatic int nesting;\n");
	long_decls(&u->code, &fn);
	sb_puts(&u->code, "\t(void)G;\n");
	if (e->target == T_HOST) {
		int id = emit_error_site(e, "MAXNESTING exceeded", xasprintf("identifier '%s'", f->name), f->loc);
		sb_printf(&u->code, "\tif (++nesting > STP_MAXNESTING) { stp_error(K, %d); goto out; }\n", id);
	}
	sb_puts(&u->code, fn.body.s ? fn.body.s : "");
	sb_puts(&u->code, "out:\n");
	if (e->target == T_HOST)
		sb_puts(&u->code, "\tnesting--;\n");
	sb_puts(&u->code, "\treturn;\n}\n\n");
	emit_frame_struct(&u->frames, fr);
	if (e->target == T_BPF)
		vec_push(&u->frame_types, fr->type);
}

static void emit_probe_body(Emitter *e, Unit *u, DerivedProbe *dp)
{
	Frame *fr = xcalloc(1, sizeof *fr);
	fr->type = xasprintf("struct stp_frame_p%d", dp->id);
	fr->locals = &dp->locals;
	CFn fn;
	begin_fn(e, &fn, fr);
	e->callbacks = &u->callbacks;
	e->decls = &u->maps;
	e->uses_tp_args = e->uses_tp_fields = false;
	if (dp->cond) {
		char *c = emit_expr(e, dp->cond);
		emit_line(e, "if (!%s) goto out;", c);
	}
	emit_stmt(e, dp->body);
	if (e->uses_tp_args && e->uses_tp_fields)
		emit_fail(e, dp->loc, "a probe reads either tracepoint record fields or prototype arguments "
				      "($prev and the like), not both");
	if (e->target == T_BPF && e->uses_tp_args)
		vec_push(&raw_tp_probes, dp);

	StrBuf *b = &u->code;
	const char *pp = dp->npoints ? dp->points[0]->pp : "?";
	sb_printf(b, "/* probe %s */\n", pp);
	if (e->target == T_BPF) {
		sb_printf(b, "static __noinline int stp_probe_%d(stp_kctx_t *K)\n{\n", dp->id);
		sb_puts(b, "\tstruct stp_globals *G = &stp_g;\n");
		sb_printf(b, "\t%s *F = bpf_map_lookup_elem(&stp_frames, &stp_zero);\n", fr->type);
		sb_puts(b, "\tif (!F)\n\t\treturn 0;\n");
		char *reset = frame_reset_code("F", fr->locals);
		sb_printf(b, "\t%s\n", reset);
		free(reset);
	} else {
		sb_printf(b, "static void stp_probe_%d(struct stp_ctx *K)\n{\n", dp->id);
		sb_puts(b, "\tstruct stp_globals *G = K->globals;\n");
		sb_printf(b, "\t%s *F = calloc(1, sizeof *F);\n", fr->type);
		sb_puts(b, "\tif (!F) {\n\t\tstp_rt_error(K, -1, \"out of memory\");\n\t\treturn;\n\t}\n");
	}
	/* pn(): the alias name, or 0 where it is pp() */
	if (uses_pn && dp->pn)
		sb_printf(b, "\tK->pn = stp_lit_%d;\n", emit_literal(e, dp->pn, strlen(dp->pn)));
	else if (uses_pn)
		sb_puts(b, "\tK->pn = 0;\n");
	if (e->regex_caps) /* matched(): no =~ yet in this handler */
		sb_puts(b, "\tstp_re_reset();\n");
	long_decls(b, &fn);
	sb_puts(b, "\t(void)G;\n");
	sb_puts(b, fn.body.s ? fn.body.s : "");
	sb_puts(b, "out:\n");
	if (e->target == T_BPF)
		sb_puts(b, "\treturn 0;\n}\n\n");
	else
		sb_puts(b, "\tfree(F);\n}\n\n");
	emit_frame_struct(&u->frames, fr);
	if (e->target == T_BPF)
		vec_push(&u->frame_types, fr->type);
}


static bool is_raw_tp(DerivedProbe *dp)
{
	for (int i = 0; i < raw_tp_probes.len; i++)
		if (VEC_AT(&raw_tp_probes, i) == dp)
			return true;
	return false;
}

/* The section that tells libbpf the program type; staprun attaches. */
static char *bpf_section(DerivedProbe *dp, Resolved *r)
{
	switch (r->kind) {
	case PK_TRACEPOINT:
		if (is_raw_tp(dp))
			return xasprintf("raw_tp/%s", r->tp_event);
		return xasprintf("tp/%s/%s", r->tp_system, r->tp_event);
	case PK_SYSCALL:
		return xasprintf("tp/raw_syscalls/%s", r->is_return ? "sys_exit" : "sys_enter");
	case PK_PERF:
	case PK_PROFILE:
		return xstrdup("perf_event");
	case PK_UPROBE:
		return xstrdup(r->is_return ? "uretprobe" : "uprobe");
	case PK_USDT:
		return xstrdup("usdt");
	case PK_PROCESS:
		return xasprintf("tp/sched/%s", r->is_return ? "sched_process_exit" : "sched_process_exec");
	default:
		return NULL;
	}
}

/* process(PID) and process("PATH") points on kernel-wide events (exec,
 * exit, syscalls) run only for that process: by pid, or by the binary's
 * name as the kernel keeps it (comm: the base name, 15 bytes). */
static void emit_process_filter(Emitter *e, StrBuf *b, const Resolved *r)
{
	if (r->kind != PK_PROCESS && !(r->kind == PK_SYSCALL && (r->pid > 0 || r->path)))
		return;
	if (r->pid > 0) {
		sb_printf(b, "\tif (stp_pid() != %lld)\n\t\treturn 0;\n", (long long)r->pid);
	} else if (r->path) {
		const char *base = strrchr(r->path, '/');
		base = base ? base + 1 : r->path;
		char comm[16] = {0};
		strncpy(comm, base, 15);
		int lit = emit_literal(e, comm, strlen(comm));
		sb_printf(b, "\tif (!stp_comm_is(stp_lit_%d))\n\t\treturn 0;\n", lit);
	}
	/* process.end: the whole process ends when its leader thread exits */
	if (r->kind == PK_PROCESS && r->is_return && !(r->mark && !strcmp(r->mark, "thread")))
		sb_puts(b, "\tif (stp_pid() != stp_tid())\n\t\treturn 0;\n");
}

/* probe_type() and is_return() of a point: the low-level handler stap
 * would run it with, and whether it fires at a return.  The kernel and
 * host contexts carry both (set here, at compile time), since pp() is cut
 * at MAXSTRINGLEN and a long path hides its end. */
static const char *point_type_name(const Resolved *r)
{
	switch (r->kind) {
	case PK_BEGIN: case PK_END: case PK_ERROR: case PK_NEVER:
		return "begin_end";
	case PK_TIMER:
		return r->pp && !strncmp(r->pp, "timer.jiffies", 13) ? "timer" : "hrtimer";
	case PK_PROFILE:
		return "profile_timer";
	case PK_PERF:
		return "perf_event";
	case PK_TRACEPOINT:
		return "tracepoint";
	case PK_SYSCALL:
		return r->pid > 0 || r->path ? "utrace_syscall" : "tracepoint";
	case PK_KPROBE:
		return r->is_return ? "kretprobe" : "kprobe";
	case PK_UPROBE:
		return r->is_return ? "uretprobe" : "uprobe";
	case PK_USDT:
		return "uprobe";
	case PK_PROCESS:
		return "utrace";
	case PK_PROCFS:
		return "procfs";
	case PK_NETFILTER:
		return "netfilter";
	}
	return "";
}

static bool point_is_return(const Resolved *r)
{
	switch (r->kind) {
	case PK_KPROBE: case PK_UPROBE: case PK_SYSCALL:
		return r->is_return;
	case PK_TRACEPOINT:
		return r->tp_system && r->tp_event &&
		       ((!strcmp(r->tp_system, "syscalls") && !strncmp(r->tp_event, "sys_exit_", 9)) ||
			(!strcmp(r->tp_system, "raw_syscalls") && !strcmp(r->tp_event, "sys_exit")));
	default:
		return false;
	}
}

/* The context fields every kernel program sets from its point:
 * ".pp = ..., .ptype = ..., .pret = N[, .func = ...]". */
static char *point_context(Emitter *e, const Resolved *r)
{
	const char *t = point_type_name(r);
	int pp = emit_literal(e, r->pp, strlen(r->pp));
	int ty = emit_literal(e, t, strlen(t));
	if (!r->function || r->kind == PK_PROCESS)
		return xasprintf(".pp = stp_lit_%d, .ptype = stp_lit_%d, .pret = %d", pp, ty, point_is_return(r));
	int fn = emit_literal(e, r->function, strlen(r->function));
	return xasprintf(".pp = stp_lit_%d, .ptype = stp_lit_%d, .pret = %d, .func = stp_lit_%d", pp, ty,
			 point_is_return(r), fn);
}

/* ------------------------------------------------- function probes */

/* How many argument words a kernel function takes (its BTF prototype):
 * an fentry program may read only those from its context.  At most 6,
 * the words K->args holds. */
static int kernel_function_nargs(Session *s, const Resolved *r)
{
	KernelBtf *kb = r->function ? kbtf_get(s, r->module, NULL) : NULL;
	int32_t id = kb ? kbtf_func_id(kb, r->function) : -1;
	KParam *params;
	int n = id >= 0 ? kbtf_func_params(kb, id, &params) : -1;
	if (n < 0)
		return 0;
	kbtf_free_params(params, n);
	return n > 6 ? 6 : n;
}

/* At return the argument registers are gone: a kretprobe point comes
 * with an entry half (stp_prog_D_I_kp_entry, attached by staprun with
 * it) that saves them per thread, and the return half takes them back.
 * A recursive call overwrites its caller's saved words (the inner
 * return deletes them), as one slot per thread and point holds. */
static void emit_kretprobe_entry(Unit *u, DerivedProbe *dp, int i, const char *pctx)
{
	Resolved *r = dp->points[i];
	StrBuf *b = &u->code;
	if (u->nkretprobes++ == 0)
		sb_puts(&u->maps, "struct stp_saved_args { uint64_t w[6]; };\n"
				  "struct {\n\t__uint(type, BPF_MAP_TYPE_HASH);\n\t__uint(max_entries, 16384);\n"
				  "\t__type(key, __u64);\n\t__type(value, struct stp_saved_args);\n"
				  "} stp_entry_args SEC(\".maps\");\n\n");
	int slot = u->nkretprobes;
	sb_printf(b, "SEC(\"kprobe/%s\")\nint stp_prog_%d_%d_kp_entry(void *ctx)\n{\n", r->function ? r->function : "",
		  dp->id, i);
	sb_puts(b, "\tstruct stp_saved_args a_ = {0};\n\tstp_regs_args(ctx, a_.w);\n");
	sb_printf(b, "\t__u64 key_ = (bpf_get_current_pid_tgid() << 32) | %d;\n", slot);
	sb_puts(b, "\tbpf_map_update_elem(&stp_entry_args, &key_, &a_, BPF_ANY);\n\treturn 0;\n}\n\n");
	sb_printf(b, "SEC(\"kretprobe/%s\")\nint stp_prog_%d_%d_kp(void *ctx)\n{\n", r->function ? r->function : "",
		  dp->id, i);
	sb_printf(b, "\t__u64 key_ = (bpf_get_current_pid_tgid() << 32) | %d;\n", slot);
	sb_puts(b, "\tstruct stp_saved_args *saved_ = bpf_map_lookup_elem(&stp_entry_args, &key_);\n");
	sb_puts(b, "\tuint64_t a_[6] = {0};\n\tif (saved_) {\n");
	sb_puts(b, "\t\tfor (int j = 0; j < 6; j++)\n\t\t\ta_[j] = saved_->w[j];\n");
	sb_puts(b, "\t\tbpf_map_delete_elem(&stp_entry_args, &key_);\n\t}\n");
	sb_puts(b, "\tif (stp_g.st.session_state != STP_SESSION_RUNNING)\n\t\treturn 0;\n");
	sb_printf(b, "\tstp_kctx_t k = {.ctx = ctx, %s, .regs = ctx, .args = a_, .retval = stp_regs_ret(ctx)};\n",
		  pctx);
	sb_printf(b, "\tstp_probe_%d(&k);\n\treturn 0;\n}\n\n", dp->id);
}

/* A kernel.function point gets two programs calling the same handler:
 * fentry/fexit (stp_prog_D_I), whose context is the arguments as u64
 * words followed by the return value, and kprobe/kretprobe
 * (stp_prog_D_I_kp) on pt_regs.  staprun loads the one the running
 * kernel accepts.  A raw address (kernel.statement(0x...)) has only the
 * kprobe form. */
static void emit_function_programs(Emitter *e, Unit *u, DerivedProbe *dp, int i)
{
	Resolved *r = dp->points[i];
	char *pctx = point_context(e, r);
	StrBuf *b = &u->code;
	const char *run = "\tif (stp_g.st.session_state != STP_SESSION_RUNNING)\n\t\treturn 0;\n";
	if (r->function) {
		int nargs = kernel_function_nargs(e->s, r);
		sb_printf(b, "SEC(\"%s/%s\")\nint stp_prog_%d_%d(unsigned long long *ctx)\n{\n",
			  r->is_return ? "fexit" : "fentry", r->function, dp->id, i);
		sb_puts(b, run);
		sb_puts(b, "\tuint64_t a_[6] = {0};\n");
		for (int k = 0; k < nargs; k++)
			sb_printf(b, "\ta_[%d] = ctx[%d];\n", k, k);
		sb_printf(b, "\tstp_kctx_t k = {.ctx = ctx, %s, .args = a_", pctx);
		if (r->is_return)
			sb_printf(b, ", .retval = (int64_t)ctx[%d]", nargs);
		sb_printf(b, "};\n\tstp_probe_%d(&k);\n\treturn 0;\n}\n\n", dp->id);
	}
	if (r->is_return) {
		emit_kretprobe_entry(u, dp, i, pctx);
		free(pctx);
		return;
	}
	sb_printf(b, "SEC(\"kprobe/%s\")\nint stp_prog_%d_%d_kp(void *ctx)\n{\n", r->function ? r->function : "",
		  dp->id, i);
	sb_puts(b, run);
	sb_puts(b, "\tuint64_t a_[6] = {0};\n\tstp_regs_args(ctx, a_);\n");
	sb_printf(b, "\tstp_kctx_t k = {.ctx = ctx, %s, .regs = ctx, .args = a_", pctx);
	sb_printf(b, "};\n\tstp_probe_%d(&k);\n\treturn 0;\n}\n\n", dp->id);
	free(pctx);
}

/* uprobe, uretprobe and USDT programs (context: struct pt_regs) give
 * their handler the registers, the argument words and the return value
 * (stp_kctx in stp_bpf.h), so that $vars, int_arg() and register() read
 * the same fields whatever the probe type.  Writes the
 * declarations the context needs to `b` and returns the initializers to
 * add to the context ("" for other programs). */
static char *emit_regs_context(Emitter *e, StrBuf *b, const Resolved *r)
{
	if (r->kind != PK_UPROBE && r->kind != PK_USDT)
		return xstrdup("");
	sb_puts(b, "\tstruct pt_regs *regs_ = ctx;\n");
	if (r->kind == PK_USDT) {
		/* libbpf located each argument from the note (usdt.bpf.h) */
		sb_puts(b, "\tuint64_t args_[BPF_USDT_MAX_ARG_CNT] = {0};\n"
			   "\tint nargs_ = bpf_usdt_arg_cnt(regs_);\n"
			   "\tfor (int i_ = 0; i_ < BPF_USDT_MAX_ARG_CNT && i_ < nargs_; i_++) {\n"
			   "\t\tlong v_ = 0;\n\t\tbpf_usdt_arg(regs_, i_, &v_);\n\t\targs_[i_] = v_;\n\t}\n");
	} else {
		/* the x86_64 calling convention (libbpf 1.1 has no PT_REGS_PARM6) */
		sb_puts(b, "\tuint64_t args_[6] = {regs_->rdi, regs_->rsi, regs_->rdx, regs_->rcx, regs_->r8, regs_->r9};\n");
	}
	/* a uretprobe fires at the return address; the kernel keeps the
	 * function's (bpf_get_func_ip, Linux 6.4) */
	const char *upc = r->kind != PK_UPROBE ? "" : r->is_return ? ", .upc = bpf_get_func_ip(ctx)" : ", .upc = regs_->rip";
	return xasprintf(", .regs = regs_, .args = args_, .retval = (int64_t)regs_->rax%s", upc);
}

/* A netfilter hook (elab/providers_net.c): the hook number, skb, in, out
 * and family in the argument words, and the verdict in K->retval, which
 * starts as NF_ACCEPT and is what the program returns: a BPF netfilter
 * program may answer only NF_DROP (0) or NF_ACCEPT (1).  Every read is a
 * bpf_probe_read_kernel() into a scalar, so the handler may do what it
 * likes with the values (the verifier forbids arithmetic on the trusted
 * pointers the context holds). */
static void emit_netfilter_program(Emitter *e, Unit *u, DerivedProbe *dp, int i)
{
	Resolved *r = dp->points[i];
	StrBuf *b = &u->code;
	char *pctx = point_context(e, r);
	sb_printf(b, "SEC(\"netfilter\")\nint stp_prog_%d_%d(struct stp_nf_ctx *ctx)\n{\n", dp->id, i);
	sb_puts(b, "\tif (stp_g.st.session_state != STP_SESSION_RUNNING)\n\t\treturn 1;\n");
	sb_puts(b, "\tuint64_t a_[6] = {0};\n\tconst struct nf_hook_state___stp *st_ = 0;\n"
		   "\tunsigned char h_ = 0, pf_ = 0;\n"
		   "\tbpf_probe_read_kernel(&st_, sizeof st_, &ctx->state);\n"
		   "\tbpf_probe_read_kernel(&a_[1], 8, &ctx->skb);\n"
		   "\tbpf_probe_read_kernel(&h_, 1, &st_->hook);\n"
		   "\tbpf_probe_read_kernel(&pf_, 1, &st_->pf);\n"
		   "\tbpf_probe_read_kernel(&a_[2], 8, &st_->in);\n"
		   "\tbpf_probe_read_kernel(&a_[3], 8, &st_->out);\n"
		   "\ta_[0] = h_;\n\ta_[4] = pf_;\n");
	sb_printf(b, "\tstp_kctx_t k = {.ctx = ctx, %s, .args = a_, .retval = 1};\n", pctx);
	sb_printf(b, "\tstp_probe_%d(&k);\n\treturn k.retval != 0;\n}\n\n", dp->id);
	free(pctx);
}

static void emit_bpf_programs(Emitter *e, Unit *u, DerivedProbe *dp)
{
	for (int i = 0; i < dp->npoints; i++) {
		Resolved *r = dp->points[i];
		if (dispatched_in(dp, r))
			continue;
		if (r->kind == PK_KPROBE) {
			emit_function_programs(e, u, dp, i);
			continue;
		}
		if (r->kind == PK_NETFILTER) {
			emit_netfilter_program(e, u, dp, i);
			continue;
		}
		char *sec = bpf_section(dp, r);
		if (!sec) {
			emit_fail(e, dp->loc, "probe point %s cannot run in the kernel", r->pp);
			continue;
		}
		sb_printf(&u->code, "SEC(\"%s\")\nint stp_prog_%d_%d(void *ctx)\n{\n", sec, dp->id, i);
		sb_puts(&u->code, "\tif (stp_g.st.session_state != STP_SESSION_RUNNING)\n\t\treturn 0;\n");
		if (r->kind == PK_SYSCALL && r->syscall_nr >= 0) {
			sb_puts(&u->code, "\tint64_t nr_ = 0;\n\tbpf_probe_read_kernel(&nr_, 8, (char *)ctx + 8);\n");
			sb_printf(&u->code, "\tif (nr_ != %d)\n\t\treturn 0;\n", r->syscall_nr);
		}
		emit_process_filter(e, &u->code, r);
		char *regs = emit_regs_context(e, &u->code, r);
		char *pctx = point_context(e, r);
		sb_printf(&u->code, "\tstp_kctx_t k = {.ctx = ctx, %s%s};\n", pctx, regs);
		free(pctx);
		free(regs);
		sb_printf(&u->code, "\tstp_probe_%d(&k);\n\treturn 0;\n}\n\n", dp->id);
		free(sec);
	}
}

static bool has_usdt_probes(Program *p)
{
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		for (int j = 0; j < dp->npoints; j++)
			if (dp->ctx == CTX_KERNEL && dp->points[j]->kind == PK_USDT)
				return true;
	}
	return false;
}

/* ------------------------------------------------------------ BPF maps */

static void emit_global_maps(StrBuf *b, Session *s, Program *p)
{
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		char *vt = global_value_type(v);
		if (is_array(v)) {
			const char *type = v->type == TY_STATS ? "BPF_MAP_TYPE_PERCPU_HASH"
					   : v->wrap		 ? "BPF_MAP_TYPE_LRU_HASH"
								 : "BPF_MAP_TYPE_HASH";
			int64_t n = v->maxsize > 0 ? v->maxsize : s->limits.maxmapentries;
			sb_printf(b,
				  "struct {\n\t__uint(type, %s);\n\t__uint(max_entries, %lld);\n"
				  "\t__type(key, struct stp_key_%s);\n\t__type(value, %s);\n} g_%s SEC(\".maps\");\n\n",
				  type, (long long)n, v->name, vt, v->name);
		} else if (v->type == TY_STATS) {
			sb_printf(b,
				  "struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, 1);\n"
				  "\t__type(key, __u32);\n\t__type(value, %s);\n} g_%s SEC(\".maps\");\n\n",
				  vt, v->name);
		}
		free(vt);
	}
}

/* Sum a statistics element over CPUs (kernel-side @count and friends,
 * histograms printed in the kernel).  One bpf_loop step per CPU: the
 * verifier checks the merge once, however many CPUs there are. */
static void emit_stat_sum_fns(StrBuf *b, Program *p)
{
	sb_puts(b, "struct stp_statsum_ctx {\n\tconst void *key;\n\tvoid *out;\n};\n\n");
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		if (v->type != TY_STATS)
			continue;
		int nb = hist_nbuckets(v);
		sb_printf(b, "static long stp_stat_merge_g_%s(__u32 cpu, void *ctx)\n{\n", v->name);
		sb_printf(b, "\tstruct stp_statsum_ctx *c = ctx;\n\tstruct stp_statv_%s *out = c->out;\n", v->name);
		sb_printf(b, "\tstruct stp_statv_%s *p = bpf_map_lookup_percpu_elem(&g_%s, c->key, cpu);\n", v->name,
			  v->name);
		sb_puts(b, "\tif (!p)\n\t\treturn 1;\n\tif (!p->s.count)\n\t\treturn 0;\n"
			   "\tif (!out->s.count || p->s.min < out->s.min)\n\t\tout->s.min = p->s.min;\n"
			   "\tif (!out->s.count || p->s.max > out->s.max)\n\t\tout->s.max = p->s.max;\n"
			   "\tout->s.count += p->s.count;\n\tout->s.sum += p->s.sum;\n\tout->s.sumsq += p->s.sumsq;\n");
		if (nb)
			sb_printf(b, "\tfor (int i = 0; i < %d; i++)\n\t\tout->b[i] += p->b[i];\n", nb);
		sb_puts(b, "\treturn 0;\n}\n\n");
		sb_printf(b, "#define stp_stat_sum_%d(map, key, out) stp_stat_sum_g_%s(key, out)\n", i, v->name);
		sb_printf(b,
			  "static __always_inline void stp_stat_sum_g_%s(const void *key, struct stp_statv_%s *out)\n"
			  "{\n\tstruct stp_statsum_ctx c = {key, out};\n"
			  "\t__builtin_memset(&out->s, 0, sizeof out->s);\n",
			  v->name, v->name);
		/* volatile: clang would make the loop a memset call, which BPF lacks */
		if (nb)
			sb_printf(b, "\tvolatile int64_t *z = out->b;\n\tfor (int i = 0; i < %d; i++)\n\t\tz[i] = 0;\n", nb);
		sb_printf(b, "\tbpf_loop(STP_MAXCPU, stp_stat_merge_g_%s, &c, 0);\n}\n\n", v->name);
	}
}

static unsigned max_stat_size(Program *p)
{
	unsigned m = 64;
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		if (v->type == TY_STATS) {
			unsigned sz = 5 * 8 + 8 * (unsigned)(hist_nbuckets(v) ? hist_nbuckets(v) : 1);
			if (sz > m)
				m = sz;
		}
	}
	return m;
}

static void emit_global_init(StrBuf *b, Program *p)
{
	sb_puts(b, "struct stp_globals stp_g SEC(\".data\") = {\n\t.st = { .session_state = STP_SESSION_STARTING },\n");
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		if (!v->init || is_array(v))
			continue;
		if (v->init->kind == E_NUM)
			sb_printf(b, "\t.g_%s = %lldLL,\n", v->name, (long long)v->init->num);
		else if (v->init->kind == E_STR) {
			char *lit = c_string_literal(v->init->str, v->init->len);
			sb_printf(b, "\t.g_%s = %s,\n", v->name, lit);
			free(lit);
		}
	}
	sb_puts(b, "};\n\n");
}

/* -------------------------------------------------- the module descriptor */

static const char *probe_kind_name(ProbeKind k)
{
	switch (k) {
	case PK_BEGIN: return "STP_PROBE_BEGIN";
	case PK_END: return "STP_PROBE_END";
	case PK_ERROR: return "STP_PROBE_ERROR";
	case PK_NEVER: return "STP_PROBE_NEVER";
	case PK_TIMER: return "STP_PROBE_TIMER";
	case PK_PROFILE: return "STP_PROBE_PROFILE";
	case PK_PERF: return "STP_PROBE_PERF";
	case PK_TRACEPOINT: return "STP_PROBE_TRACEPOINT";
	case PK_SYSCALL: return "STP_PROBE_SYSCALL";
	case PK_KPROBE: return "STP_PROBE_KPROBE";
	case PK_UPROBE: return "STP_PROBE_UPROBE";
	case PK_USDT: return "STP_PROBE_USDT";
	case PK_PROCESS: return "STP_PROBE_PROCESS";
	case PK_PROCFS: return "STP_PROBE_NEVER";
	case PK_NETFILTER: return "STP_PROBE_NETFILTER";
	}
	return "0";
}

static char *cstr_or_null(const char *s)
{
	return s ? c_string_literal(s, strlen(s)) : xstrdup("0");
}

static void emit_descriptor(StrBuf *b, Session *s, Program *p, Emitter *e)
{
	/* probes */
	sb_puts(b, "static const struct stp_probe_desc stp_probes[] = {\n");
	int nprobes = 0;
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		for (int j = 0; j < dp->npoints; j++) {
			Resolved *r = dp->points[j];
			if (dispatched_in(dp, r))
				continue;
			char *pp = cstr_or_null(r->pp);
			sb_printf(b, "\t{ .kind = %s, .pp = %s, .ptype = \"%s\", .pret = %d", probe_kind_name(r->kind), pp,
				  point_type_name(r), point_is_return(r));
			if (r->kind == PK_KPROBE && !r->function)
				sb_printf(b, ", .bpf_prog = \"stp_prog_%d_%d_kp\"", dp->id, j);
			else if (dp->ctx == CTX_KERNEL)
				sb_printf(b, ", .bpf_prog = \"stp_prog_%d_%d\"", dp->id, j);
			else
				sb_printf(b, ", .handler = stp_probe_%d", dp->id);
			sb_printf(b, ", .priority = %lld, .period_ns = %lluULL, .randomize_ns = %lluULL",
				  (long long)r->priority, (unsigned long long)r->period_ns,
				  (unsigned long long)r->randomize_ns);
			if (r->tp_system)
				sb_printf(b, ", .tp_system = %s, .tp_event = %s", cstr_or_null(r->tp_system),
					  cstr_or_null(r->tp_event));
			if (r->kind == PK_SYSCALL)
				sb_printf(b, ", .tp_system = \"raw_syscalls\", .tp_event = \"%s\"",
					  r->is_return ? "sys_exit" : "sys_enter");
			if (r->kind == PK_USDT) /* the note's provider and name, for libbpf */
				sb_printf(b, ", .tp_system = %s, .tp_event = %s", cstr_or_null(r->sdt_provider),
					  cstr_or_null(r->mark));
			if (r->kind == PK_PROCESS)
				sb_printf(b, ", .tp_system = \"sched\", .tp_event = \"%s\"",
					  r->is_return ? "sched_process_exit" : "sched_process_exec");
			if (r->kind == PK_PERF || r->kind == PK_PROFILE)
				sb_printf(b, ", .perf_type = %u, .perf_config = %lluULL, .sample_period = %lluULL",
					  r->perf_type, (unsigned long long)r->perf_config,
					  (unsigned long long)r->sample_period);
			if (r->kind == PK_KPROBE)
				sb_printf(b, ", .bpf_prog_kprobe = \"stp_prog_%d_%d_kp\"", dp->id, j);
			if (r->kind == PK_NETFILTER)
				sb_printf(b, ", .nf_pf = %d, .nf_hook = %d", r->nf_pf, r->nf_hook);
			if (r->function)
				sb_printf(b, ", .function = %s", cstr_or_null(r->function));
			if (r->path)
				sb_printf(b, ", .path = %s", cstr_or_null(r->path));
			sb_printf(b, ", .offset = %lluULL, .is_return = %d, .optional = %d },\n",
				  (unsigned long long)r->offset, r->is_return, r->optional);
			free(pp);
			nprobes++;
		}
	}
	for (int dir = 0; dir < 2; dir++) {
		const char *d = dir ? "exit" : "enter";
		for (int c = 0; c < e->dispatch_used[dir]; c++) {
			sb_printf(b, "\t{ .kind = STP_PROBE_TRACEPOINT, .pp = \"syscall dispatch (sys_%s)\", "
				     ".bpf_prog = \"stp_sys_%s_%d\", .tp_system = \"raw_syscalls\", .tp_event = \"sys_%s\" },\n",
				  d, d, c, d);
			nprobes++;
		}
	}
	if (!nprobes)
		sb_puts(b, "\t{ 0 }\n");
	sb_puts(b, "};\n\n");

	/* globals */
	sb_puts(b, "static const struct stp_global_desc stp_globals_desc[] = {\n");
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		const char *t = v->type == TY_STATS ? "STP_T_STATS" : v->type == TY_STRING ? "STP_T_STRING" : "STP_T_LONG";
		sb_printf(b, "\t{ .name = \"%s\", .type = %s, .nkeys = %d", v->name, t, is_array(v) ? v->nkeys : 0);
		if (is_array(v)) {
			sb_puts(b, ", .keys = {");
			for (int k = 0; k < v->nkeys; k++) {
				if (v->keys[k] == TY_STRING)
					sb_printf(b, " { STP_T_STRING, offsetof(struct stp_key_%s, k%d), sizeof(((struct stp_key_%s *)0)->k%d) },",
						  v->name, k, v->name, k);
				else
					sb_printf(b, " { STP_T_LONG, offsetof(struct stp_key_%s, k%d), 8 },", v->name, k);
			}
			sb_printf(b, " }, .key_size = sizeof(struct stp_key_%s)", v->name);
		} else if (v->type == TY_STATS) {
			sb_puts(b, ", .key_size = 4");
		}
		char *vt = global_value_type(v);
		if (is_array(v) || v->type == TY_STATS)
			sb_printf(b, ", .value_size = sizeof(%s), .map_name = \"g_%s\"", vt, v->name);
		else
			sb_printf(b, ", .value_size = %s, .offset = offsetof(struct stp_globals, g_%s)",
				  v->type == TY_STRING ? "STP_STRLEN" : "8", v->name);
		free(vt);
		sb_printf(b, ", .maxsize = %lld, .wrap = %d, .hist_kind = %d, .hist_start = %lldLL, .hist_stop = %lldLL, .hist_step = %lldLL",
			  (long long)(v->maxsize > 0 ? v->maxsize : s->limits.maxmapentries), v->wrap, v->hist_kind,
			  (long long)v->hist_start, (long long)v->hist_stop, (long long)v->hist_step);
		sb_printf(b, ", .print_at_end = %d, .percpu = %d },\n", var_printed_at_end(v), v->type == TY_STATS);
	}
	if (!p->globals.len)
		sb_puts(b, "\t{ 0 }\n");
	sb_puts(b, "};\n\n");

	/* formats */
	for (int i = 0; i < e->formats->len; i++) {
		enum stp_type types[64];
		char err[128];
		int n = stp_format_arg_types(VEC_AT(e->formats, i), types, 64, err, sizeof err);
		sb_printf(b, "static const enum stp_type stp_fmt_args_%d[] = {", i);
		for (int k = 0; k < n; k++)
			sb_printf(b, " %s,", types[k] == STP_T_STRING ? "STP_T_STRING" : "STP_T_LONG");
		if (n <= 0)
			sb_puts(b, " 0");
		sb_puts(b, " };\n");
	}
	sb_puts(b, "static const struct stp_format_desc stp_formats[] = {\n");
	for (int i = 0; i < e->formats->len; i++) {
		const char *f = VEC_AT(e->formats, i);
		char *lit = c_string_literal(f, strlen(f));
		enum stp_type types[64];
		char err[128];
		int n = stp_format_arg_types(f, types, 64, err, sizeof err);
		sb_printf(b, "\t{ %s, %d, stp_fmt_args_%d },\n", lit, n < 0 ? 0 : n, i);
		free(lit);
	}
	if (!e->formats->len)
		sb_puts(b, "\t{ 0 }\n");
	sb_puts(b, "};\n\n");

	/* error sites */
	sb_puts(b, "static const struct stp_error_desc stp_errors[] = {\n");
	for (int i = 0; i < e->error_msgs->len; i++) {
		char *m = cstr_or_null(VEC_AT(e->error_msgs, i));
		char *w = cstr_or_null(VEC_AT(e->error_wheres, i));
		sb_printf(b, "\t{ %s, %s },\n", m, w);
		free(m);
		free(w);
	}
	if (!e->error_msgs->len)
		sb_puts(b, "\t{ 0 }\n");
	sb_puts(b, "};\n\n");

	const char *name = s->module_name ? s->module_name : "stap_module";
	sb_puts(b, "extern const unsigned char _binary_bpf_o_start[], _binary_bpf_o_end[];\n");
	sb_puts(b, "struct stp_module stp_module = {\n");
	sb_printf(b, "\t.abi_version = STP_ABI_VERSION,\n\t.name = \"%s\",\n", name);
	sb_puts(b, "\t.bpf_obj = _binary_bpf_o_start,\n\t.globals_section = \".data\",\n");
	sb_puts(b, "\t.globals_size = sizeof(struct stp_globals),\n");
	sb_printf(b, "\t.probes = stp_probes, .nprobes = %d,\n", nprobes);
	sb_printf(b, "\t.globals = stp_globals_desc, .nglobals = %d,\n", p->globals.len);
	sb_printf(b, "\t.formats = stp_formats, .nformats = %d,\n", e->formats->len);
	sb_printf(b, "\t.errors = stp_errors, .nerrors = %d,\n", e->error_msgs->len);
	sb_puts(b, "\t.deferred = stp_deferred, .ndeferred = STP_NDEFERRED,\n");
	sb_printf(b,
		  "\t.limits = { .maxaction = %lld, .maxstringlen = %lld, .maxmapentries = %lld, .maxnesting = %lld, "
		  ".maxerrors = %lld, .maxskipped = %lld },\n",
		  (long long)s->limits.maxaction, (long long)s->limits.maxstringlen,
		  (long long)s->limits.maxmapentries, (long long)s->limits.maxnesting, (long long)s->limits.maxerrors,
		  (long long)s->limits.maxskipped);
	sb_puts(b, "};\n\n");
	sb_puts(b, "/* the BPF object's length is known only at link time */\n"
		   "__attribute__((constructor)) static void stp_module_init(void)\n{\n"
		   "\tstp_module.bpf_obj_len = (size_t)(_binary_bpf_o_end - _binary_bpf_o_start);\n}\n");
}

/* ------------------------------------------------------------ driver */

/* Which script functions each target needs: those reachable from its
 * handlers. */
typedef struct CallMarks {
	bool *need;  /* by function id */
	Vec work;    /* Func* whose bodies are still to scan */
} CallMarks;

static bool mark_call(Expr *x, void *arg)
{
	CallMarks *cm = arg;
	/* a deferred call staprun makes: the kernel keeps only its arguments */
	if (defer_call_is_captured(x))
		return false;
	if (x->kind == E_CALL && x->func && !cm->need[x->func->id]) {
		cm->need[x->func->id] = true;
		vec_push(&cm->work, x->func);
	}
	return false;
}

/* The script functions one kernel handler calls, directly or not. */
bool *probe_functions(Program *p, DerivedProbe *dp)
{
	CallMarks cm = {.need = xcalloc((size_t)p->functions.len + 1, 1)};
	const AstWalk walk = {.expr = mark_call, .arg = &cm};
	ast_walk_stmt(dp->body, &walk);
	ast_walk_expr(dp->cond, &walk);
	while (cm.work.len) {
		Func *f = cm.work.data[--cm.work.len];
		ast_walk_stmt(f->body, &walk);
	}
	free(cm.work.data);
	return cm.need;
}

static bool *functions_needed(Program *p, Context ctx, int nfuncs, bool with_deferred)
{
	CallMarks cm = {.need = xcalloc((size_t)nfuncs + 1, 1)};
	const AstWalk walk = {.expr = mark_call, .arg = &cm};
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		if (dp->ctx != ctx)
			continue;
		ast_walk_stmt(dp->body, &walk);
		ast_walk_expr(dp->cond, &walk);
	}
	if (ctx == CTX_USER && with_deferred) {
		/* staprun runs the functions of deferred strings (defer.c) */
		Vec deferred = {0};
		defer_host_roots(p, &deferred);
		for (int i = 0; i < deferred.len; i++) {
			Func *f = VEC_AT(&deferred, i);
			if (!cm.need[f->id]) {
				cm.need[f->id] = true;
				vec_push(&cm.work, f);
			}
		}
		free(deferred.data);
	}
	while (cm.work.len) {
		Func *f = cm.work.data[--cm.work.len];
		ast_walk_stmt(f->body, &walk);
	}
	free(cm.work.data);
	return cm.need;
}

void emit_target(Emitter *e, Unit *u, Program *p, Context ctx)
{
	bool *need = functions_needed(p, ctx, p->functions.len, true);
	bool *by_handlers = functions_needed(p, ctx, p->functions.len, false);
	for (int i = 0; i < p->functions.len; i++) {
		Func *f = VEC_AT(&p->functions, i);
		if (need[f->id])
			emit_function(e, u, f, !by_handlers[f->id]);
	}
	free(need);
	free(by_handlers);
	for (int i = 0; i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		if (dp->ctx != ctx)
			continue;
		if (ctx == CTX_KERNEL && dispatch_skips_body(dp))
			continue; /* merged: its group's handler serves it (dispatch.c) */
		e->lifts = ctx == CTX_KERNEL ? dispatch_lifts(dp) : NULL;
		emit_probe_body(e, u, dp);
		e->lifts = NULL;
		if (ctx == CTX_KERNEL)
			emit_bpf_programs(e, u, dp);
	}
}

static char *join_unit(Unit *u)
{
	StrBuf b = {0};
	sb_puts(&b, u->frames.s ? u->frames.s : "");
	if (u->target == T_BPF)
		emit_frames_map(&b, u);
	sb_puts(&b, u->maps.s ? u->maps.s : "");
	sb_puts(&b, u->protos.s ? u->protos.s : "");
	sb_puts(&b, "\n");
	sb_puts(&b, u->callbacks.s ? u->callbacks.s : "");
	sb_puts(&b, u->code.s ? u->code.s : "");
	return sb_steal(&b);
}

/* The largest printf record: header plus each argument at its largest. */
static unsigned record_max(Session *s, Program *p, Vec *formats)
{
	unsigned m = 64;
	for (int i = 0; i < formats->len; i++) {
		enum stp_type types[64];
		char err[128];
		int n = stp_format_arg_types(VEC_AT(formats, i), types, 64, err, sizeof err);
		unsigned sz = sizeof(struct stp_rec_hdr);
		for (int k = 0; k < n; k++)
			sz += types[k] == STP_T_STRING ? (unsigned)s->limits.maxstringlen + 4 : 8;
		if (sz > m)
			m = sz;
	}
	/* stack records: a pid and MAXBACKTRACE addresses */
	if (sizeof(struct stp_rec_hdr) + 8 + STP_MAXBACKTRACE * 8 > m)
		m = sizeof(struct stp_rec_hdr) + 8 + STP_MAXBACKTRACE * 8;
	/* histogram records carry an aggregate and its buckets */
	unsigned hist = (unsigned)sizeof(struct stp_rec_hdr) + max_stat_size(p);
	if (hist > m)
		m = hist;
	/* error records carry one string */
	if ((unsigned)s->limits.maxstringlen + 32 > m)
		m = (unsigned)s->limits.maxstringlen + 32;
	return pow2_at_least(m);
}

static bool has_kernel_probes(Program *p)
{
	for (int i = 0; i < p->probes.len; i++)
		if (((DerivedProbe *)VEC_AT(&p->probes, i))->ctx == CTX_KERNEL)
			return true;
	return false;
}

/* A host handler's `s <<< v` on a statistic that kernel handlers also
 * update: rewriting every CPU's copy from user space would lose the
 * kernel's updates made meanwhile.  Instead staprun puts the key and
 * value in stp_hostop and runs this program (BPF_PROG_TEST_RUN), which
 * adds to the current CPU's copy in the kernel, as a kernel handler
 * would.  The program is never attached. */
static void emit_host_add_programs(StrBuf *b, Program *p, Vec *vars)
{
	if (!vars->len)
		return;
	sb_puts(b, "union stp_hostop_key {\n\t__u32 none;\n");
	for (int i = 0; i < vars->len; i++) {
		Var *v = VEC_AT(vars, i);
		if (is_array(v))
			sb_printf(b, "\tstruct stp_key_%s k%d;\n", v->name, i);
	}
	sb_puts(b, "};\n\nstruct stp_hostop {\n\tint64_t v;\n\tunion stp_hostop_key key;\n};\n\n");
	sb_puts(b, "struct {\n\t__uint(type, BPF_MAP_TYPE_ARRAY);\n\t__uint(max_entries, 1);\n\t__type(key, __u32);\n"
		   "\t__type(value, struct stp_hostop);\n} stp_hostop SEC(\".maps\");\n\n");
	for (int i = 0; i < vars->len; i++) {
		Var *v = VEC_AT(vars, i);
		const char *key = is_array(v) ? "&op->key" : "&stp_zero";
		sb_printf(b, "SEC(\"raw_tp\")\nint stp_hostadd_%d(void *ctx)\n{\n", global_id(p, v));
		sb_puts(b, "\tstruct stp_hostop *op = bpf_map_lookup_elem(&stp_hostop, &stp_zero);\n"
			   "\tif (!op)\n\t\treturn 0;\n");
		sb_printf(b, "\tstruct stp_statv_%s *p = bpf_map_lookup_elem(&g_%s, %s);\n", v->name, v->name, key);
		sb_printf(b, "\tif (!p) {\n\t\tvoid *z = bpf_map_lookup_elem(&stp_zero_stat, &stp_zero);\n"
			     "\t\tif (z)\n\t\t\tbpf_map_update_elem(&g_%s, %s, z, BPF_NOEXIST);\n"
			     "\t\tp = bpf_map_lookup_elem(&g_%s, %s);\n\t}\n",
			  v->name, key, v->name, key);
		sb_printf(b, "\tif (!p)\n\t\treturn 1;\n\tstp_stat_add(&p->s, op->v, %d, %lldLL, %lldLL, %lldLL, %d);\n"
			     "\treturn 0;\n}\n\n",
			  v->hist_kind, (long long)v->hist_start, (long long)v->hist_stop, (long long)v->hist_step,
			  hist_nbuckets(v));
	}
}

/* A linear histogram travels whole in one ring buffer record (and sits
 * in per-CPU map values), so its bucket count is bounded. */
#define HIST_LINEAR_MAX_BUCKETS 1000

static int check_hist_sizes(Session *s, Program *p)
{
	int bad = 0;
	for (int i = 0; i < p->globals.len; i++) {
		Var *v = VEC_AT(&p->globals, i);
		if (v->type != TY_STATS || v->hist_kind != 2 || v->hist_step <= 0)
			continue;
		int64_t n = (v->hist_stop - v->hist_start) / v->hist_step + 1;
		if (n <= HIST_LINEAR_MAX_BUCKETS)
			continue;
		diag_error(s, v->loc, "semantic error",
			   "@hist_linear of '%s' would have %lld buckets; at most %d are supported: identifier '%s'",
			   v->name, (long long)n, HIST_LINEAR_MAX_BUCKETS, v->name);
		bad = 1;
	}
	return bad;
}

int translate(Session *s, Program *p, Translation *out)
{
	for (int i = 0; i < p->functions.len; i++)
		((Func *)VEC_AT(&p->functions, i))->id = i;
	for (int i = 0; i < p->probes.len; i++)
		((DerivedProbe *)VEC_AT(&p->probes, i))->id = i;

	if (check_hist_sizes(s, p))
		return -1;
	narrow_scan(p);
	pn_scan(p);
	raw_tp_probes.len = 0;
	Vec literals = {0}, lens = {0}, msgs = {0}, wheres = {0}, formats = {0}, btf_needs = {0}, regexes = {0};
	for (int i = 0; i < p->formats.len; i++)
		vec_push(&formats, xstrdup(VEC_AT(&p->formats, i)));
	Vec host_stat_adds = {0};
	Emitter e = {.s = s, .p = p, .literals = &literals, .literal_lens = &lens, .error_msgs = &msgs,
		     .error_wheres = &wheres, .formats = &formats, .btf_needs = &btf_needs, .regexes = &regexes,
		     .host_stat_adds = &host_stat_adds, .regex_caps = caps_scan(p)};
	/* literal 0 is the empty string */
	emit_literal(&e, "", 0);

	Unit bpf = {.target = T_BPF, .nfuncs = p->functions.len}, host = {.target = T_HOST};
	e.target = T_BPF;
	defer_plan(p);
	dispatch_plan(p);
	emit_target(&e, &bpf, p, CTX_KERNEL);
	dispatch_emit(&e, &bpf.code, p);
	e.target = T_HOST;
	emit_target(&e, &host, p, CTX_USER);
	if (e.failed || s->errors)
		return -1;

	unsigned recmax = record_max(s, p, &formats);
	if (e.rec_max > recmax)
		recmax = pow2_at_least(e.rec_max);

	/* the BPF unit */
	StrBuf b = {0};
	sb_puts(&b, "/* Generated by stapng: kernel-context handlers. */\n");
	emit_common(&b, s, p, recmax, msgs.len);
	emit_regex_caps_defines(&e, &b);
	sb_puts(&b, "#define STP_MAXACTION_HERE STP_MAXACTION\n");
	sb_puts(&b, "#include \"stp_bpf.h\"\n\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n");
	if (has_usdt_probes(p))
		sb_puts(&b, "#include <stdbool.h>\n#include <bpf/usdt.bpf.h>\n");
	emit_types(&b, p);
	if (btf_needs.len) {
		/* only the kernel structs and members the script reads (CO-RE) */
		KernelBtf *kb = kbtf_get(s, NULL, NULL);
		if (kb)
			kbtf_emit_decls(kb, &btf_needs, &b);
	}
	emit_global_init(&b, p);
	dispatch_emit_types(&b, p);
	sb_printf(&b,
		  "struct {\n\t__uint(type, BPF_MAP_TYPE_RINGBUF);\n\t__uint(max_entries, %lld);\n} stp_events SEC(\".maps\");\n\n",
		  (long long)(s->bufsize_mb > 0 ? s->bufsize_mb : 4) << 20);
	sb_printf(&b,
		  "struct {\n\t__uint(type, BPF_MAP_TYPE_ARRAY);\n\t__uint(max_entries, 1);\n\t__type(key, __u32);\n"
		  "\t__type(value, struct { unsigned char z[%u]; });\n} stp_zero_stat SEC(\".maps\");\n\n",
		  max_stat_size(p));
	sb_puts(&b, "static const __u32 stp_zero = 0;\n\n");
	emit_literals(&b, &e);
	emit_regex_tables(&e, &b);
	emit_syscall_names(&e, &b);
	emit_global_maps(&b, s, p);
	emit_stat_sum_fns(&b, p);
	if (e.snapshot_counter)
		sb_printf(&b,
			  "struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, %d);\n"
			  "\t__type(key, __u32);\n\t__type(value, struct stp_sortstate);\n} stp_sortstate SEC(\".maps\");\n\n",
			  e.snapshot_counter);
	sb_puts(&b, "static long stp_delete_cb(void *map, void *key, void *value, void *ctx)\n"
		    "{\n\tbpf_map_delete_elem(map, key);\n\treturn 0;\n}\n\n");
	emit_embedded_toplevel(&b, s, p);
	char *bpf_body = join_unit(&bpf);
	sb_puts(&b, bpf_body);
	free(bpf_body);
	if (has_kernel_probes(p))
		emit_host_add_programs(&b, p, &host_stat_adds);
	char *bpf_c = sb_steal(&b);
	if (frames_fit(s, p, &bpf_c))
		return -1;
	out->bpf_c = embedded_restore_lines(bpf_c, "bpf.c", &out->has_embedded_c);

	/* the host unit */
	sb_puts(&b, "/* Generated by stapng: user-space handlers and the module descriptor. */\n");
	sb_puts(&b, "#define _GNU_SOURCE\n#include <stddef.h>\n");
	emit_common(&b, s, p, recmax, msgs.len);
	emit_regex_caps_defines(&e, &b);
	sb_puts(&b, "#define STP_MAXACTION_HERE (STP_MAXACTION * 10)\n");
	sb_puts(&b, "#include \"stp_host.h\"\n");
	emit_types(&b, p);
	sb_puts(&b, "static const uint32_t stp_zero = 0;\n\n");
	emit_literals(&b, &e);
	emit_regex_tables(&e, &b);
	emit_syscall_names(&e, &b);
	emit_embedded_toplevel(&b, s, p);
	char *host_body = join_unit(&host);
	sb_puts(&b, host_body);
	free(host_body);
	defer_emit_host(&b, p);
	emit_descriptor(&b, s, p, &e);
	out->host_c = embedded_restore_lines(sb_steal(&b), "host.c", &out->has_embedded_c);
	return 0;
}
