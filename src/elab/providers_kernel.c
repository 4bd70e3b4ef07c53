/* providers_kernel.c - probe points the kernel offers: kernel.trace,
 * kernel.function, kernel.statement, module(...), perf.*, timer.profile,
 * and the -l / -L listing.  process(...) and procfs(...) live in
 * providers_process.c.
 *
 * Each provider reads a point's components left to right:
 *
 *   kernel.trace("SYSTEM:EVENT")                    tracepoints (tracefs)
 *   kernel.function("FN[@FILE[:LINE]]")[.call|.return|.inline]   BTF
 *   kernel.statement("FN[@FILE:LINE]") / kernel.statement(ADDR)[.absolute]
 *   module("M").function(...) / module("M").statement(...)
 *   perf.sw.NAME / perf.hw.NAME / perf.hw_cache.CACHE.OP.RESULT /
 *   perf.type(T).config(C), each with [.sample(N) | .hz(N)]
 *
 * expands wildcards against this machine, and returns one Resolved per
 * event.  Errors are printed in stap's two-part layout (see kernel.h).
 */
#include "elab/kernel.h"

#include <bpf/btf.h>
#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers shared with providers_process.c */

void kernel_point_error(Session *s, const ProbePoint *pt, int comp, const char *fmt, ...)
{
	if (s->listing_mode) {
		/* stap -l / -L list what matches and say nothing of the rest */
		s->errors++;
		return;
	}
	diag_error(s, pt->comps[0].loc, "semantic error", "while resolving probe point: identifier '%s'",
		   pt->comps[0].name);
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (comp >= 0 && comp < pt->ncomps)
		diag_error(s, pt->comps[comp].loc, "semantic error", "%s: identifier '%s'", msg ? msg : "",
			   pt->comps[comp].name);
	else
		diag_error(s, (SrcLoc){ 0 }, "semantic error", "%s", msg ? msg : "");
	free(msg);
}

/* Whether "no such thing" should stay quiet: optional and sufficient
 * points, and listing. */
bool kernel_point_quiet(Session *s, const ProbePoint *pt)
{
	return pt->optional || pt->sufficient || s->listing_mode;
}

const char *kernel_comp_string(const PointComp *c)
{
	return c->arg && c->arg->kind == E_STR ? c->arg->str : NULL;
}

bool kernel_comp_number(const PointComp *c, int64_t *v)
{
	if (!c->arg || c->arg->kind != E_NUM)
		return false;
	*v = c->arg->num;
	return true;
}

bool kernel_glob(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, 0) == 0;
}

void kernel_free_access(TargetAccess *ta)
{
	if (!ta)
		return;
	free(ta->c_type);
	free(ta->c_expr);
	free(ta->btf_types.data);
	free(ta->btf_module);
	free(ta);
}

void kernel_free_resolved(Vec *rs)
{
	for (int i = 0; i < rs->len; i++) {
		Resolved *r = VEC_AT(rs, i);
		free(r->pp);
		free(r->tp_system);
		free(r->tp_event);
		free(r->function);
		free(r->path);
		free(r->sdt_provider);
		free(r->mark);
		free(r->module);
		free(r);
	}
	free(rs->data);
	*rs = (Vec){ 0 };
}

void kernel_btf_modules(Vec *names)
{
	DIR *d = opendir("/sys/kernel/btf");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "vmlinux") != 0)
			vec_push(names, xstrdup(e->d_name));
	if (d)
		closedir(d);
}

typedef struct Scored {
	int dist, order;
	const char *name;
} Scored;

static int cmp_scored(const void *a, const void *b)
{
	const Scored *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist - y->dist;
	return x->order - y->order;
}

char *kernel_similar_names(const char *word, const char *const *cands, int n)
{
	if (n <= 0)
		return NULL;
	Scored *sc = xmalloc((size_t)n * sizeof(Scored));
	for (int i = 0; i < n; i++)
		sc[i] = (Scored){ edit_distance(word, cands[i]), i, cands[i] };
	qsort(sc, (size_t)n, sizeof(Scored), cmp_scored);
	StrBuf b = { 0 };
	int shown = 0;
	for (int i = 0; i < n && shown < 5; i++) {
		bool dup = false;
		for (int j = 0; j < i && !dup; j++)
			dup = strcmp(sc[j].name, sc[i].name) == 0;
		if (dup)
			continue;
		sb_printf(&b, "%s%s", shown ? ", " : "", sc[i].name);
		shown++;
	}
	free(sc);
	return shown ? sb_steal(&b) : (free(b.s), NULL);
}

void kernel_mismatch(Session *s, const ProbePoint *pt, int comp, const char *const *cands, int n)
{
	char *sim = kernel_similar_names(pt->comps[comp].name, cands, n);
	if (sim)
		kernel_point_error(s, pt, comp, "probe point mismatch (similar: %s)", sim);
	else
		kernel_point_error(s, pt, comp, "probe point mismatch");
	free(sim);
}

bool kernel_has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* A quoted string for pp() text. */
char *kernel_quote(const char *s)
{
	StrBuf b = { 0 };
	sb_putc(&b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_putc(&b, '\\');
		sb_putc(&b, *s);
	}
	sb_putc(&b, '"');
	return sb_steal(&b);
}

Resolved *kernel_new_resolved(ProbeKind kind, const ProbePoint *pt, char *pp)
{
	Resolved *r = xcalloc(1, sizeof *r);
	r->kind = kind;
	r->pp = pp;
	r->optional = pt->optional;
	r->syscall_nr = -1;
	return r;
}

TargetAccess *kernel_new_access(int kind, Type type, const char *c_type)
{
	TargetAccess *ta = xcalloc(1, sizeof *ta);
	ta->kind = kind;
	ta->type = type;
	ta->c_type = xstrdup(c_type);
	return ta;
}

/* ---- kernel.trace */

static int resolve_trace(Session *s, const ProbePoint *pt, Vec *out)
{
	const char *pat = kernel_comp_string(&pt->comps[1]);
	if (!pat) {
		kernel_point_error(s, pt, 1, "expected a string argument");
		return -1;
	}
	if (pt->ncomps > 2) {
		kernel_point_error(s, pt, 2, "invalid suffix for probe");
		return -1;
	}
	const char *colon = strchr(pat, ':');
	char *sys = colon ? xstrndup(pat, (size_t)(colon - pat)) : xstrdup("*");
	const char *ev = colon ? colon + 1 : pat;
	Vec names = { 0 };
	tracefs_events_matching(s, sys, ev, &names);
	for (int i = 0; i < names.len; i++) {
		const char *se = VEC_AT(&names, i);
		const char *c = strchr(se, ':');
		char *system = xstrndup(se, (size_t)(c - se));
		if (strcmp(system, "*") == 0) {
			/* known from BTF only: the system is whatever the user said */
			free(system);
			system = colon && !kernel_has_wildcard(sys) ? xstrdup(sys) : NULL;
		}
		char *text = system ? xasprintf("%s:%s", system, c + 1) : xstrdup(c + 1);
		char *q = kernel_quote(text);
		Resolved *r = kernel_new_resolved(PK_TRACEPOINT, pt, xasprintf("kernel.trace(%s)", q));
		free(q);
		free(text);
		r->tp_system = system;
		r->tp_event = xstrdup(c + 1);
		/* the layout for the translator; -l never needs it */
		if (system && !s->listing_mode)
			r->tp_format = tracefs_format(s, system, r->tp_event);
		vec_push(out, r);
	}
	free(sys);
	int n = names.len;
	free(names.data);
	return n;
}

/* Integer types that syscall records widen to 8 bytes: read the C type's
 * own width, or -100 would read as 4294967196. */
static const struct {
	const char *type;
	int size;
	bool is_signed;
} syscall_ints[] = {
	{ "int", 4, true },           { "unsigned int", 4, false }, { "pid_t", 4, true },
	{ "uid_t", 4, false },        { "gid_t", 4, false },        { "qid_t", 4, false },
	{ "key_serial_t", 4, true },  { "clockid_t", 4, true },     { "timer_t", 4, true },
	{ "mqd_t", 4, true },         { "rwf_t", 4, true },         { "u32", 4, false },
	{ "__u32", 4, false },        { "umode_t", 2, false },      { "unsigned short", 2, false },
	{ "old_uid_t", 2, false },    { "old_gid_t", 2, false },    { "__s32", 4, true },
};

static TargetAccess *trace_field_access(const TpFormat *f, const TpField *fld)
{
	TargetAccess *ta = kernel_new_access(TA_CTX_FIELD, TY_LONG, fld->c_type);
	ta->offset = fld->offset;
	ta->size = fld->size;
	ta->is_signed = fld->is_signed;
	bool syscall = strcmp(f->system, "syscalls") == 0;
	switch (fld->kind) {
	case TPF_INT:
		for (size_t i = 0; syscall && fld->size == 8 && i < sizeof syscall_ints / sizeof syscall_ints[0]; i++)
			if (strcmp(fld->c_type, syscall_ints[i].type) == 0) {
				ta->size = syscall_ints[i].size;
				ta->is_signed = syscall_ints[i].is_signed;
			}
		break;
	case TPF_CHAR_ARRAY:
		ta->type = TY_STRING;
		ta->strkind = TA_STR_ARRAY;
		ta->size = fld->array_len;
		break;
	case TPF_DATA_LOC:
		ta->type = TY_STRING;
		ta->strkind = TA_STR_DATA_LOC;
		break;
	case TPF_POINTER:
		/* an address, as in stap: "const char *filename" of a syscall
		 * is read with user_string($filename), and a buffer such as
		 * write's $buf with user_string_n($buf, $count) */
		ta->is_signed = false;
		break;
	default:
		/* arrays and structs have no scalar value */
		free(ta->c_type);
		free(ta);
		return NULL;
	}
	return ta;
}

static TpFormat *trace_format(Session *s, const Resolved *r)
{
	if (!r->tp_format && r->tp_system)
		((Resolved *)r)->tp_format = tracefs_format(s, r->tp_system, r->tp_event);
	return r->tp_format;
}

/* stap's spelling of a format file type: "const char *" -> "char const*",
 * "__data_loc char[]" stays as it is. */
char *kernel_stap_spelling(const char *c_type)
{
	StrBuf b = { 0 };
	const char *p = c_type;
	bool is_const = strncmp(p, "const ", 6) == 0;
	if (is_const)
		p += 6;
	const char *star = strchr(p, '*');
	size_t base = star ? (size_t)(star - p) : strlen(p);
	while (base > 0 && p[base - 1] == ' ')
		base--;
	sb_putn(&b, p, base);
	if (is_const)
		sb_puts(&b, " const");
	for (; star && *star; star++)
		if (*star != ' ')
			sb_putc(&b, *star);
	return sb_steal(&b);
}

/* ---- kernel.function / kernel.statement / module(...) */

static const char *const kernel_families[] = { "trace", "function", "statement" };
static const char *const function_suffixes[] = { "call", "return", "inline" };

typedef struct FuncSpec {
	char *func;      /* glob */
	char *file;      /* after '@', or NULL */
	bool is_return, is_inline;
	const char *suffix; /* canonical suffix text: "", ".call", ".return" */
} FuncSpec;

/* Parse "FN[@FILE[:LINE]]" and the suffix components from index `from`. */
static int parse_func_spec(Session *s, const ProbePoint *pt, int arg_comp, int from, FuncSpec *fs)
{
	const char *arg = kernel_comp_string(&pt->comps[arg_comp]);
	if (!arg) {
		kernel_point_error(s, pt, arg_comp, "expected a string argument");
		return -1;
	}
	const char *at = strchr(arg, '@');
	fs->func = at ? xstrndup(arg, (size_t)(at - arg)) : xstrdup(arg);
	fs->file = at ? xstrdup(at + 1) : NULL;
	fs->suffix = "";
	if (from < pt->ncomps) {
		const char *suf = pt->comps[from].name;
		if (strcmp(suf, "return") == 0) {
			fs->is_return = true;
			fs->suffix = ".return";
		} else if (strcmp(suf, "call") == 0) {
			fs->suffix = ".call";
		} else if (strcmp(suf, "inline") == 0) {
			fs->is_inline = true;
		} else {
			kernel_mismatch(s, pt, from, function_suffixes, 3);
			return -1;
		}
		if (from + 1 < pt->ncomps) {
			kernel_point_error(s, pt, from + 1, "invalid suffix for probe");
			return -1;
		}
	}
	return 0;
}

static void free_func_spec(FuncSpec *fs)
{
	free(fs->func);
	free(fs->file);
}

static void suggest_functions(Session *s, const ProbePoint *pt, const KernelBtf *kb, const char *func)
{
	int n = kbtf_func_count(kb);
	const char **names = xmalloc((size_t)n * sizeof(char *));
	for (int i = 0; i < n; i++)
		names[i] = kbtf_func_name(kb, i);
	char *sim = kernel_has_wildcard(func) ? NULL : kernel_similar_names(func, names, n);
	free(names);
	if (sim)
		kernel_point_error(s, pt, -1, "no match (similar functions: %s)", sim);
	else
		kernel_point_error(s, pt, -1, "no match");
	free(sim);
}

/* kernel.function(...) and module("m").function(...): family_comp is the
 * index of "function"/"statement". */
static int resolve_btf_function(Session *s, const ProbePoint *pt, const char *module, int family_comp,
				bool statement, Vec *out)
{
	FuncSpec fs = { 0 };
	if (parse_func_spec(s, pt, family_comp, family_comp + 1, &fs) < 0) {
		free_func_spec(&fs);
		return -1;
	}
	if (statement && (fs.is_return || fs.is_inline)) {
		kernel_point_error(s, pt, family_comp + 1, "invalid suffix for probe");
		free_func_spec(&fs);
		return -1;
	}
	if (fs.file) {
		kernel_point_error(s, pt, family_comp,
				   "'%s@%s': source files and lines need DWARF debuginfo, and this kernel "
				   "offers only BTF (use \"%s\" without '@')",
				   fs.func, fs.file, fs.func);
		free_func_spec(&fs);
		return -1;
	}
	if (fs.is_inline) {
		kernel_point_error(s, pt, family_comp + 1,
				   "inline instances need DWARF debuginfo, and this kernel offers only BTF");
		free_func_spec(&fs);
		return -1;
	}
	const char *why = NULL;
	KernelBtf *kb = kbtf_get(s, module, &why);
	if (!kb) {
		if (module && kernel_point_quiet(s, pt)) {
			free_func_spec(&fs);
			return 0;
		}
		kernel_point_error(s, pt, module ? 1 : -1, "%s%s%s", why, module ? " for module " : "",
				   module ? module : "");
		free_func_spec(&fs);
		return -1;
	}
	Vec names = { 0 };
	kbtf_funcs_matching(kb, fs.func, &names);
	if (names.len == 0 && !kernel_point_quiet(s, pt) && !kernel_has_wildcard(fs.func)) {
		suggest_functions(s, pt, kb, fs.func);
		free_func_spec(&fs);
		return -1;
	}
	char *prefix = NULL;
	if (module) {
		char *qm = kernel_quote(module);
		prefix = xasprintf("module(%s)", qm);
		free(qm);
	} else {
		prefix = xstrdup("kernel");
	}
	for (int i = 0; i < names.len; i++) {
		char *q = kernel_quote(VEC_AT(&names, i));
		Resolved *r = kernel_new_resolved(PK_KPROBE, pt,
						  xasprintf("%s.%s(%s)%s", prefix,
							    statement ? "statement" : "function", q, fs.suffix));
		free(q);
		r->function = xstrdup(VEC_AT(&names, i));
		r->is_return = fs.is_return;
		r->module = module ? xstrdup(module) : NULL;
		vec_push(out, r);
	}
	int n = names.len;
	free(names.data);
	free(prefix);
	free_func_spec(&fs);
	return n;
}

/* kernel.statement(0xADDR)[.absolute] */
static int resolve_statement_addr(Session *s, const ProbePoint *pt, int64_t addr, Vec *out)
{
	if (pt->ncomps > 3 || (pt->ncomps == 3 && strcmp(pt->comps[2].name, "absolute") != 0)) {
		kernel_point_error(s, pt, pt->ncomps == 3 ? 2 : 3, "invalid suffix for probe");
		return -1;
	}
	Resolved *r = kernel_new_resolved(PK_KPROBE, pt,
					  xasprintf("kernel.statement(0x%llx)%s", (unsigned long long)addr,
						    pt->ncomps == 3 ? ".absolute" : ""));
	r->offset = (uint64_t)addr;
	vec_push(out, r);
	return 1;
}

static int kernel_resolve(Session *s, const ProbePoint *pt, Vec *out)
{
	if (pt->ncomps < 2) {
		kernel_point_error(s, pt, 0, "probe point is incomplete");
		return -1;
	}
	const PointComp *fam = &pt->comps[1];
	int64_t addr;
	if (strcmp(fam->name, "trace") == 0)
		return resolve_trace(s, pt, out);
	if (strcmp(fam->name, "function") == 0)
		return resolve_btf_function(s, pt, NULL, 1, false, out);
	if (strcmp(fam->name, "statement") == 0) {
		if (kernel_comp_number(fam, &addr))
			return resolve_statement_addr(s, pt, addr, out);
		return resolve_btf_function(s, pt, NULL, 1, true, out);
	}
	kernel_mismatch(s, pt, 1, kernel_families, 3);
	return -1;
}

static int module_resolve(Session *s, const ProbePoint *pt, Vec *out)
{
	const char *mod = kernel_comp_string(&pt->comps[0]);
	if (!mod) {
		kernel_point_error(s, pt, 0, "expected a module name string");
		return -1;
	}
	if (pt->ncomps < 2) {
		kernel_point_error(s, pt, 0, "probe point is incomplete");
		return -1;
	}
	const char *fam = pt->comps[1].name;
	bool statement = strcmp(fam, "statement") == 0;
	if (!statement && strcmp(fam, "function") != 0) {
		static const char *const fams[] = { "function", "statement" };
		kernel_mismatch(s, pt, 1, fams, 2);
		return -1;
	}
	if (!kernel_has_wildcard(mod))
		return resolve_btf_function(s, pt, mod, 1, statement, out);
	/* module("ext*"): every module with BTF whose name matches */
	Vec mods = { 0 };
	kernel_btf_modules(&mods);
	int total = 0;
	for (int i = 0; i < mods.len; i++) {
		if (!kernel_glob(mod, VEC_AT(&mods, i)))
			continue;
		ProbePoint quiet = *pt;
		quiet.optional = true;
		int n = resolve_btf_function(s, &quiet, VEC_AT(&mods, i), 1, statement, out);
		if (n < 0) {
			total = -1;
			break;
		}
		total += n;
	}
	for (int i = 0; i < mods.len; i++)
		free(VEC_AT(&mods, i));
	free(mods.data);
	return total;
}

/* Targets at a function: parameters by name, $return on .return. */
static TargetAccess *btf_value_access(const KernelBtf *kb, int kind, int32_t type_id, int index)
{
	char *c_type = kbtf_type_name(kb, type_id);
	TargetAccess *ta = kernel_new_access(kind, TY_LONG, c_type);
	free(c_type);
	ta->index = index;
	ta->btf_id = type_id;
	ta->btf_module = kbtf_module(kb) ? xstrdup(kbtf_module(kb)) : NULL;
	const struct btf_type *t = btf__type_by_id(kbtf_raw(kb), kbtf_skip_mods(kb, type_id));
	ta->size = 8;
	if (t && (btf_is_int(t) || btf_is_any_enum(t))) {
		ta->size = (int)t->size;
		ta->is_signed = btf_is_int(t) ? (btf_int_encoding(t) & BTF_INT_SIGNED) != 0 : btf_kflag(t);
	}
	return ta;
}

static void function_targets(Session *s, const Resolved *r, Vec *names, Vec *accesses)
{
	KernelBtf *kb = kbtf_get(s, r->module, NULL);
	int32_t id = kb && r->function ? kbtf_func_id(kb, r->function) : -1;
	if (id < 0)
		return;
	if (r->is_return) {
		int32_t ret = kbtf_func_ret(kb, id);
		if (ret > 0) {
			vec_push(names, xstrdup("return"));
			vec_push(accesses, btf_value_access(kb, TA_FUNC_RET, ret, 0));
		}
	}
	KParam *params;
	int n = kbtf_func_params(kb, id, &params);
	for (int i = 0; i < n; i++) {
		if (!*params[i].name)
			continue;
		vec_push(names, xstrdup(params[i].name));
		vec_push(accesses, btf_value_access(kb, TA_FUNC_ARG, params[i].type_id, i));
	}
	if (n >= 0)
		kbtf_free_params(params, n);
}

static bool is_field(const TpFormat *f, const char *name)
{
	for (int i = 0; f && i < f->nfields; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return true;
	return false;
}

/* The TP_PROTO arguments ($prev in sched_switch, as stap offers them),
 * after the record's fields, unless a field has the same name. */
static void trace_proto_targets(Session *s, const Resolved *r, const TpFormat *f, Vec *names,
				Vec *accesses)
{
	KernelBtf *kb = kbtf_get(s, NULL, NULL);
	KParam *params;
	int n = kb ? kbtf_tracepoint_args(kb, r->tp_event, &params) : -1;
	for (int i = 0; i < n; i++) {
		if (!*params[i].name || is_field(f, params[i].name))
			continue;
		vec_push(names, xstrdup(params[i].name));
		vec_push(accesses, btf_value_access(kb, TA_TP_ARG, params[i].type_id, i));
	}
	if (n >= 0)
		kbtf_free_params(params, n);
}

static void trace_targets(Session *s, const Resolved *r, Vec *names, Vec *accesses)
{
	TpFormat *f = trace_format(s, r);
	for (int i = 0; f && i < f->nfields; i++) {
		TargetAccess *ta = trace_field_access(f, &f->fields[i]);
		if (!ta) {
			/* listed (for -L) but without a scalar value */
			ta = kernel_new_access(TA_CTX_FIELD, TY_UNKNOWN, f->fields[i].c_type);
			ta->offset = f->fields[i].offset;
			ta->size = f->fields[i].size;
		}
		vec_push(names, xstrdup(f->fields[i].name));
		vec_push(accesses, ta);
	}
	trace_proto_targets(s, r, f, names, accesses);
}

static void kernel_target_list(Session *s, const Resolved *r, Vec *names, Vec *accesses)
{
	if (r->kind == PK_TRACEPOINT)
		trace_targets(s, r, names, accesses);
	else if (r->kind == PK_KPROBE)
		function_targets(s, r, names, accesses);
}

/* One variable by name from a target list; the others are freed. */
TargetAccess *kernel_target_from_list(Session *s, const Resolved *r, const char *name,
				      void (*list)(Session *, const Resolved *, Vec *, Vec *))
{
	if (name[0] == '$')
		return NULL; /* $$vars and friends: built from target_list */
	Vec names = { 0 }, accesses = { 0 };
	list(s, r, &names, &accesses);
	TargetAccess *found = NULL;
	for (int i = 0; i < names.len; i++) {
		TargetAccess *ta = VEC_AT(&accesses, i);
		if (!found && strcmp(VEC_AT(&names, i), name) == 0 && ta->type != TY_UNKNOWN) {
			found = ta;
		} else {
			kernel_free_access(ta);
		}
		free(VEC_AT(&names, i));
	}
	free(names.data);
	free(accesses.data);
	return found;
}

/* A tracepoint's record field without the TP_PROTO arguments: those need
 * the kernel's BTF, whose loading would cost more than a cached run of
 * syscall.* (hundreds of aliases reading $fd, $ret...). */
static TargetAccess *trace_field_target(Session *s, const Resolved *r, const char *name)
{
	TpFormat *f = trace_format(s, r);
	for (int i = 0; f && i < f->nfields; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return trace_field_access(f, &f->fields[i]);
	return NULL;
}

static TargetAccess *kernel_target(Session *s, const Resolved *r, const char *name)
{
	TargetAccess *ta = r->kind == PK_TRACEPOINT && name[0] != '$' ? trace_field_target(s, r, name) : NULL;
	return ta ? ta : kernel_target_from_list(s, r, name, kernel_target_list);
}

void kernel_list_by_resolving(Session *s, const ProbePoint *pattern, Vec *out,
			      int (*resolve)(Session *, const ProbePoint *, Vec *))
{
	ProbePoint quiet = *pattern;
	quiet.optional = true;
	Vec rs = { 0 };
	if (resolve(s, &quiet, &rs) > 0)
		for (int i = 0; i < rs.len; i++)
			vec_push(out, xstrdup(((Resolved *)VEC_AT(&rs, i))->pp));
	kernel_free_resolved(&rs);
}

static void kernel_list(Session *s, const ProbePoint *pattern, Vec *out)
{
	kernel_list_by_resolving(s, pattern, out, kernel_resolve);
}

static void module_list(Session *s, const ProbePoint *pattern, Vec *out)
{
	kernel_list_by_resolving(s, pattern, out, module_resolve);
}

const Provider provider_kernel = {
	.name = "kernel",
	.resolve = kernel_resolve,
	.target = kernel_target,
	.target_list = kernel_target_list,
	.list = kernel_list,
};

const Provider provider_module = {
	.name = "module",
	.resolve = module_resolve,
	.target = kernel_target,
	.target_list = kernel_target_list,
	.list = module_list,
};

/* ---- perf */

enum { PERF_HW = 0, PERF_SW = 1, PERF_HW_CACHE = 3 };

static const char *const perf_sw_names[] = {
	"cpu_clock",   "task_clock",      "page_faults",     "context_switches", "cpu_migrations",
	"page_faults_min", "page_faults_maj", "alignment_faults", "emulation_faults",
};
static const char *const perf_hw_names[] = {
	"cpu_cycles",          "instructions",  "cache_references",        "cache_misses",
	"branch_instructions", "branch_misses", "bus_cycles",              "stalled_cycles_frontend",
	"stalled_cycles_backend", "ref_cpu_cycles",
};
static const char *const perf_caches[] = { "l1d", "l1i", "ll", "dtlb", "itlb", "bpu", "node" };
static const char *const perf_cache_ops[] = { "read", "write", "prefetch" };
static const char *const perf_cache_results[] = { "access", "miss" };
static const char *const perf_families[] = { "sw", "hw", "hw_cache", "type" };
static const char *const perf_options[] = { "sample", "hz", "process", "counter" };

#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void free_one(Resolved *r)
{
	Vec v = { 0 };
	vec_push(&v, r);
	kernel_free_resolved(&v);
}

/* The suffixes from comps[i] on, in this order, each optional:
 * .sample(N) or .hz(N), .process("PROC"), .counter("NAME").  A process
 * binds the event to that program's tasks (path; with no name, the -c/-x
 * target: pid -1); a counter (mark = NAME) is read with @perf("NAME")
 * instead of running a handler. */
static int perf_options_at(Session *s, const ProbePoint *pt, int i, Resolved *r)
{
	r->sample_period = 1000000;
	int64_t v;
	if (i < pt->ncomps && (strcmp(pt->comps[i].name, "sample") == 0 ||
			       strcmp(pt->comps[i].name, "hz") == 0)) {
		if (!kernel_comp_number(&pt->comps[i], &v) || v <= 0) {
			kernel_point_error(s, pt, i, "expected a positive number");
			return -1;
		}
		if (strcmp(pt->comps[i].name, "sample") == 0) {
			r->sample_period = (uint64_t)v;
		} else {
			r->sample_freq = (uint64_t)v;
			r->sample_period = 0;
		}
		i++;
	}
	if (i < pt->ncomps && strcmp(pt->comps[i].name, "process") == 0) {
		const char *proc = pt->comps[i].arg ? kernel_comp_string(&pt->comps[i]) : "";
		if (!proc) {
			kernel_point_error(s, pt, i, "expected a string argument");
			return -1;
		}
		if (*proc) {
			r->path = kernel_find_executable(proc);
			if (!r->path) {
				kernel_point_error(s, pt, -1, "cannot find executable '%s'", proc);
				return -1;
			}
		} else {
			r->pid = -1;
		}
		i++;
	}
	if (i < pt->ncomps && strcmp(pt->comps[i].name, "counter") == 0) {
		const char *name = kernel_comp_string(&pt->comps[i]);
		if (!name || !*name) {
			kernel_point_error(s, pt, i, "expected a counter name");
			return -1;
		}
		r->mark = xstrdup(name);
		i++;
	}
	if (i < pt->ncomps) {
		bool known = false;
		for (int k = 0; k < NELEMS(perf_options); k++)
			known |= strcmp(pt->comps[i].name, perf_options[k]) == 0;
		if (known) /* a repeated suffix, or out of order */
			kernel_point_error(s, pt, i, "invalid suffix for probe");
		else
			kernel_mismatch(s, pt, i, perf_options, NELEMS(perf_options));
		return -1;
	}
	return 0;
}

static void perf_pp_options(StrBuf *b, const Resolved *r)
{
	if (r->sample_freq)
		sb_printf(b, ".hz(%llu)", (unsigned long long)r->sample_freq);
	else if (r->sample_period != 1000000)
		sb_printf(b, ".sample(%llu)", (unsigned long long)r->sample_period);
	if (r->path) {
		char *q = kernel_quote(r->path);
		sb_printf(b, ".process(%s)", q);
		free(q);
	} else if (r->pid == -1) {
		sb_puts(b, ".process");
	}
	if (r->mark) {
		char *q = kernel_quote(r->mark);
		sb_printf(b, ".counter(%s)", q);
		free(q);
	}
}

/* Push one perf event per matching name in `names` at comps[i]. */
static int perf_named(Session *s, const ProbePoint *pt, int i, const char *const *names, int n,
		      uint32_t type, Vec *out)
{
	if (i >= pt->ncomps) {
		kernel_point_error(s, pt, i - 1, "probe point is incomplete");
		return -1;
	}
	int found = 0;
	for (int k = 0; k < n; k++) {
		if (!kernel_glob(pt->comps[i].name, names[k]))
			continue;
		Resolved *r = kernel_new_resolved(PK_PERF, pt, NULL);
		r->perf_type = type;
		r->perf_config = (uint64_t)k;
		if (perf_options_at(s, pt, i + 1, r) < 0) {
			free_one(r);
			return -1;
		}
		StrBuf b = { 0 };
		sb_printf(&b, "perf.%s.%s", type == PERF_SW ? "sw" : "hw", names[k]);
		perf_pp_options(&b, r);
		r->pp = sb_steal(&b);
		vec_push(out, r);
		found++;
	}
	if (!found && !kernel_has_wildcard(pt->comps[i].name)) {
		/* stap keeps these names in a sorted map: ties go alphabetically */
		const char **sorted = xmalloc((size_t)n * sizeof(char *));
		memcpy(sorted, names, (size_t)n * sizeof(char *));
		qsort(sorted, (size_t)n, sizeof(char *), cmp_cstr);
		kernel_mismatch(s, pt, i, sorted, n);
		free(sorted);
		return -1;
	}
	return found;
}

/* perf.hw_cache.CACHE.OP.RESULT: config is cache | op << 8 | result << 16 */
static int perf_cache(Session *s, const ProbePoint *pt, Vec *out)
{
	const char *const *lists[] = { perf_caches, perf_cache_ops, perf_cache_results };
	const int sizes[] = { NELEMS(perf_caches), NELEMS(perf_cache_ops), NELEMS(perf_cache_results) };
	int idx[3];
	for (int level = 0; level < 3; level++) {
		int c = 2 + level;
		if (c >= pt->ncomps) {
			kernel_point_error(s, pt, c - 1, "probe point is incomplete");
			return -1;
		}
		idx[level] = -1;
		for (int k = 0; k < sizes[level]; k++)
			if (strcmp(pt->comps[c].name, lists[level][k]) == 0)
				idx[level] = k;
		if (idx[level] < 0) {
			kernel_mismatch(s, pt, c, lists[level], sizes[level]);
			return -1;
		}
	}
	Resolved *r = kernel_new_resolved(PK_PERF, pt, NULL);
	r->perf_type = PERF_HW_CACHE;
	r->perf_config = (uint64_t)idx[0] | (uint64_t)idx[1] << 8 | (uint64_t)idx[2] << 16;
	if (perf_options_at(s, pt, 5, r) < 0) {
		free_one(r);
		return -1;
	}
	StrBuf b = { 0 };
	sb_printf(&b, "perf.hw_cache.%s.%s.%s", perf_caches[idx[0]], perf_cache_ops[idx[1]],
		  perf_cache_results[idx[2]]);
	perf_pp_options(&b, r);
	r->pp = sb_steal(&b);
	vec_push(out, r);
	return 1;
}

static int perf_type_config(Session *s, const ProbePoint *pt, Vec *out)
{
	int64_t type, config;
	if (!kernel_comp_number(&pt->comps[1], &type) || type < 0) {
		kernel_point_error(s, pt, 1, "expected a number");
		return -1;
	}
	if (pt->ncomps < 3 || strcmp(pt->comps[2].name, "config") != 0 ||
	    !kernel_comp_number(&pt->comps[2], &config)) {
		kernel_point_error(s, pt, pt->ncomps < 3 ? 1 : 2, "expected .config(NUMBER)");
		return -1;
	}
	Resolved *r = kernel_new_resolved(PK_PERF, pt, NULL);
	r->perf_type = (uint32_t)type;
	r->perf_config = (uint64_t)config;
	if (perf_options_at(s, pt, 3, r) < 0) {
		free_one(r);
		return -1;
	}
	StrBuf b = { 0 };
	sb_printf(&b, "perf.type(%lld).config(%lld)", (long long)type, (long long)config);
	perf_pp_options(&b, r);
	r->pp = sb_steal(&b);
	vec_push(out, r);
	return 1;
}

static int perf_resolve(Session *s, const ProbePoint *pt, Vec *out)
{
	if (pt->ncomps < 2) {
		kernel_point_error(s, pt, 0, "probe point is incomplete");
		return -1;
	}
	const char *fam = pt->comps[1].name;
	if (strcmp(fam, "sw") == 0)
		return perf_named(s, pt, 2, perf_sw_names, NELEMS(perf_sw_names), PERF_SW, out);
	if (strcmp(fam, "hw") == 0)
		return perf_named(s, pt, 2, perf_hw_names, NELEMS(perf_hw_names), PERF_HW, out);
	if (strcmp(fam, "hw_cache") == 0)
		return perf_cache(s, pt, out);
	if (strcmp(fam, "type") == 0)
		return perf_type_config(s, pt, out);
	kernel_mismatch(s, pt, 1, perf_families, NELEMS(perf_families));
	return -1;
}

static void perf_target_list(Session *s, const Resolved *r, Vec *names, Vec *accesses)
{
}

static TargetAccess *perf_target(Session *s, const Resolved *r, const char *name)
{
	return NULL;
}

static void perf_list(Session *s, const ProbePoint *pattern, Vec *out)
{
	/* perf.* and perf.sw.* list every name; hw_cache only when spelled out */
	if (pattern->ncomps == 2 && kernel_has_wildcard(pattern->comps[1].name)) {
		for (int k = 0; k < NELEMS(perf_sw_names); k++)
			if (kernel_glob(pattern->comps[1].name, "sw"))
				vec_push(out, xasprintf("perf.sw.%s", perf_sw_names[k]));
		for (int k = 0; k < NELEMS(perf_hw_names); k++)
			if (kernel_glob(pattern->comps[1].name, "hw"))
				vec_push(out, xasprintf("perf.hw.%s", perf_hw_names[k]));
		return;
	}
	kernel_list_by_resolving(s, pattern, out, perf_resolve);
}

const Provider provider_perf = {
	.name = "perf",
	.resolve = perf_resolve,
	.target = perf_target,
	.target_list = perf_target_list,
	.list = perf_list,
};

int kernel_resolve_timer_profile(Session *s, const ProbePoint *pt, Vec *out)
{
	if (pt->ncomps > 2 && strcmp(pt->comps[2].name, "tick") != 0) {
		kernel_point_error(s, pt, 2, "invalid suffix for probe");
		return -1;
	}
	Resolved *r = kernel_new_resolved(PK_PROFILE, pt, xstrdup("timer.profile"));
	r->perf_type = PERF_SW;
	r->perf_config = 0; /* PERF_COUNT_SW_CPU_CLOCK */
	r->sample_period = 1000000; /* ns of cpu-clock: a sample per ms on each CPU */
	r->period_ns = 1000000;
	vec_push(out, r);
	return 1;
}
