/* btf.c - the kernel's BTF: functions, types and members, read once.
 *
 * vmlinux BTF is about 5 MB and holds some 150,000 types.  It is parsed
 * once per session with libbpf; one pass over the types then collects the
 * names of functions (BTF_KIND_FUNC) and of structs, unions and typedefs
 * into sorted arrays, so that a lookup is a binary search and a glob with a
 * literal prefix only scans the range that shares the prefix.
 *
 * Type names are spelled as stap -L prints them: the base type first, then
 * qualifiers and pointer stars, with no space before a star: "char const*",
 * "struct file*".  C for the BPF side (declarations, member chains) is
 * written by btf_emit.c.
 */
#include "elab/kernel.h"

#include <bpf/btf.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

typedef struct NameId {
	const char *name;
	int32_t id;
} NameId;

struct KernelBtf {
	struct btf *btf;
	char *module;      /* NULL for vmlinux */
	NameId *funcs;     /* sorted by name, unique */
	int nfuncs;
	NameId *structs;   /* struct/union/typedef names, sorted; id's kind tells which */
	int nstructs;
};

KernelFacts *kernel_facts(Session *s)
{
	if (!s->kernel_facts)
		s->kernel_facts = xcalloc(1, sizeof(KernelFacts));
	return s->kernel_facts;
}

static int cmp_name_id(const void *a, const void *b)
{
	const NameId *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return (x->id > y->id) - (x->id < y->id);
}

static void push_name(NameId **arr, int *n, int *cap, const char *name, int32_t id)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*arr = xrealloc(*arr, (size_t)*cap * sizeof(NameId));
	}
	(*arr)[(*n)++] = (NameId){ name, id };
}

/* One pass over the types of this BTF (not its base's, for modules). */
static void index_btf(KernelBtf *kb, const struct btf *base)
{
	int first = base ? (int)btf__type_cnt(base) : 1;
	int cnt = (int)btf__type_cnt(kb->btf);
	int fcap = 0, scap = 0;
	for (int id = first; id < cnt; id++) {
		const struct btf_type *t = btf__type_by_id(kb->btf, id);
		if (!t->name_off)
			continue;
		const char *name = btf__name_by_offset(kb->btf, t->name_off);
		if (btf_is_func(t))
			push_name(&kb->funcs, &kb->nfuncs, &fcap, name, id);
		else if (btf_is_composite(t) || btf_is_typedef(t))
			push_name(&kb->structs, &kb->nstructs, &scap, name, id);
	}
	if (kb->nfuncs)
		qsort(kb->funcs, kb->nfuncs, sizeof(NameId), cmp_name_id);
	/* the same static function may appear more than once: keep one */
	int w = 0;
	for (int i = 0; i < kb->nfuncs; i++)
		if (w == 0 || strcmp(kb->funcs[w - 1].name, kb->funcs[i].name) != 0)
			kb->funcs[w++] = kb->funcs[i];
	kb->nfuncs = w;
	if (kb->nstructs)
		qsort(kb->structs, kb->nstructs, sizeof(NameId), cmp_name_id);
}

bool kernel_is_foreign(Session *s)
{
	struct utsname u;
	return s->kernel_release && uname(&u) == 0 && strcmp(u.release, s->kernel_release) != 0;
}

/* vmlinux BTF: --btf FILE; for -r RELEASE of another kernel, its vmlinux
 * (libbpf reads the .BTF section of an ELF file); else the running one. */
static char *vmlinux_btf_path(Session *s)
{
	if (s->btf_path)
		return xstrdup(s->btf_path);
	if (!kernel_is_foreign(s))
		return xstrdup("/sys/kernel/btf/vmlinux");
	const char *const where[] = { "/boot/vmlinux-%s", "/lib/modules/%s/build/vmlinux",
				      "/usr/lib/debug/boot/vmlinux-%s", "/usr/lib/debug/lib/modules/%s/vmlinux" };
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
		char *p = xasprintf(where[i], s->kernel_release);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static KernelBtf *load_btf(Session *s, const char *module, const char **why)
{
	KernelFacts *kf = kernel_facts(s);
	struct btf *base = NULL, *btf;
	char *path;
	if (module) {
		KernelBtf *vm = kbtf_get(s, NULL, why);
		if (!vm)
			return NULL;
		if (kernel_is_foreign(s)) {
			if (why)
				*why = "module BTF of another kernel release is not available";
			return NULL;
		}
		base = vm->btf;
		path = xasprintf("/sys/kernel/btf/%s", module);
		btf = btf__parse_split(path, base);
	} else {
		path = vmlinux_btf_path(s);
		if (!path) {
			if (why)
				*why = "no BTF for this kernel release (give --btf FILE)";
			return NULL;
		}
		btf = btf__parse(path, NULL);
	}
	if (!btf) {
		int err = errno;
		if (why)
			*why = module ? "module BTF not found" : "kernel BTF not available";
		(void)err;
		free(path);
		return NULL;
	}
	free(path);
	KernelBtf *kb = xcalloc(1, sizeof *kb);
	kb->btf = btf;
	kb->module = module ? xstrdup(module) : NULL;
	index_btf(kb, base);
	vec_push(&kf->btfs, kb);
	return kb;
}

KernelBtf *kbtf_get(Session *s, const char *module, const char **why)
{
	KernelFacts *kf = kernel_facts(s);
	for (int i = 0; i < kf->btfs.len; i++) {
		KernelBtf *kb = VEC_AT(&kf->btfs, i);
		if (module ? kb->module && strcmp(kb->module, module) == 0 : !kb->module)
			return kb;
	}
	const char *key = module ? module : "";
	for (int i = 0; i < kf->btf_failures.len; i++)
		if (strcmp(VEC_AT(&kf->btf_failures, i), key) == 0) {
			if (why)
				*why = module ? "module BTF not found" : "kernel BTF not available";
			return NULL;
		}
	KernelBtf *kb = load_btf(s, module, why);
	if (!kb)
		vec_push(&kf->btf_failures, xstrdup(key));
	return kb;
}

const struct btf *kbtf_raw(const KernelBtf *kb) { return kb->btf; }
const char *kbtf_module(const KernelBtf *kb) { return kb->module; }
int kbtf_func_count(const KernelBtf *kb) { return kb->nfuncs; }
const char *kbtf_func_name(const KernelBtf *kb, int i) { return kb->funcs[i].name; }

/* The first index in a sorted array whose name is >= key. */
static int lower_bound(const NameId *arr, int n, const char *key, size_t keylen)
{
	int lo = 0, hi = n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int c = keylen ? strncmp(arr[mid].name, key, keylen) : strcmp(arr[mid].name, key);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int32_t kbtf_func_id(const KernelBtf *kb, const char *name)
{
	int i = lower_bound(kb->funcs, kb->nfuncs, name, 0);
	if (i < kb->nfuncs && strcmp(kb->funcs[i].name, name) == 0)
		return kb->funcs[i].id;
	return -1;
}

int kbtf_funcs_matching(const KernelBtf *kb, const char *glob, Vec *out)
{
	size_t prefix = strcspn(glob, "*?[\\");
	int n = 0;
	if (glob[prefix] == '\0') {
		int32_t id = kbtf_func_id(kb, glob);
		if (id < 0)
			return 0;
		vec_push(out, (void *)kb->funcs[lower_bound(kb->funcs, kb->nfuncs, glob, 0)].name);
		return 1;
	}
	int i = prefix ? lower_bound(kb->funcs, kb->nfuncs, glob, prefix) : 0;
	for (; i < kb->nfuncs; i++) {
		const char *name = kb->funcs[i].name;
		if (prefix && strncmp(name, glob, prefix) != 0)
			break;
		if (fnmatch(glob, name, 0) == 0) {
			vec_push(out, (void *)name);
			n++;
		}
	}
	return n;
}

static int32_t find_named(const KernelBtf *kb, const char *name, bool (*want)(const struct btf_type *))
{
	int i = lower_bound(kb->structs, kb->nstructs, name, 0);
	for (; i < kb->nstructs && strcmp(kb->structs[i].name, name) == 0; i++) {
		const struct btf_type *t = btf__type_by_id(kb->btf, kb->structs[i].id);
		if (want(t))
			return kb->structs[i].id;
	}
	return -1;
}

int32_t kbtf_struct_find(const KernelBtf *kb, const char *name, bool is_union)
{
	return find_named(kb, name, is_union ? btf_is_union : btf_is_struct);
}

int32_t kbtf_typedef_find(const KernelBtf *kb, const char *name)
{
	return find_named(kb, name, btf_is_typedef);
}

int32_t kbtf_ptr_to(const KernelBtf *kb, int32_t id)
{
	int n = (int)btf__type_cnt(kb->btf);
	for (int i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(kb->btf, i);
		if (btf_is_ptr(t) && (int32_t)t->type == id)
			return i;
	}
	return 0;
}

int32_t kbtf_cast_type(const KernelBtf *kb, const char *name)
{
	while (*name == ' ')
		name++;
	bool is_union = !strncmp(name, "union ", 6);
	const char *bare = !strncmp(name, "struct ", 7) ? name + 7 : is_union ? name + 6 : name;
	int32_t id = kbtf_struct_find(kb, bare, is_union);
	if (id <= 0 && bare == name)
		id = kbtf_typedef_find(kb, bare);
	return id > 0 ? kbtf_ptr_to(kb, id) : 0;
}

int32_t kbtf_skip_mods(const KernelBtf *kb, int32_t id)
{
	for (;;) {
		const struct btf_type *t = btf__type_by_id(kb->btf, id);
		if (!t || !(btf_is_mod(t) || btf_is_typedef(t)))
			return id;
		id = t->type;
	}
}

static const char *name_of(const KernelBtf *kb, const struct btf_type *t)
{
	return t->name_off ? btf__name_by_offset(kb->btf, t->name_off) : "";
}

/* Search `sid` (a struct or union) and its anonymous members. */
static bool member_in(const KernelBtf *kb, int32_t sid, const char *name, uint32_t base_bits,
		      KMember *m)
{
	const struct btf_type *t = btf__type_by_id(kb->btf, sid);
	if (!t || !btf_is_composite(t))
		return false;
	const struct btf_member *mem = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, mem++) {
		uint32_t off = base_bits + btf_member_bit_offset(t, i);
		if (mem->name_off) {
			if (strcmp(btf__name_by_offset(kb->btf, mem->name_off), name) == 0) {
				*m = (KMember){ .type_id = (int32_t)mem->type,
						.bit_offset = off,
						.bitfield_size = btf_member_bitfield_size(t, i),
						.name_off = mem->name_off };
				return true;
			}
		} else if (member_in(kb, kbtf_skip_mods(kb, (int32_t)mem->type), name, off, m)) {
			return true;
		}
	}
	return false;
}

bool kbtf_member_find(const KernelBtf *kb, int32_t struct_id, const char *name, KMember *m)
{
	return member_in(kb, kbtf_skip_mods(kb, struct_id), name, 0, m);
}

bool kbtf_is_user_ptr(const KernelBtf *kb, int32_t id)
{
	const struct btf_type *t = btf__type_by_id(kb->btf, kbtf_skip_mods(kb, id));
	if (!t || !btf_is_ptr(t))
		return false;
	for (id = t->type;;) {
		t = btf__type_by_id(kb->btf, id);
		if (!t || !btf_is_mod(t))
			return false;
		if (btf_is_type_tag(t) && strcmp(name_of(kb, t), "user") == 0)
			return true;
		id = t->type;
	}
}

/* ---- stap's spelling of a type */

static void spell(const KernelBtf *kb, int32_t id, StrBuf *b, int depth);

static void spell_proto(const KernelBtf *kb, const struct btf_type *t, StrBuf *b, int depth)
{
	spell(kb, t->type, b, depth + 1);
	sb_puts(b, " (*)(");
	const struct btf_param *p = btf_params(t);
	for (int i = 0; i < btf_vlen(t); i++) {
		if (i)
			sb_puts(b, ", ");
		if (p[i].type == 0)
			sb_puts(b, "...");
		else
			spell(kb, (int32_t)p[i].type, b, depth + 1);
	}
	sb_putc(b, ')');
}

static void spell(const KernelBtf *kb, int32_t id, StrBuf *b, int depth)
{
	const struct btf_type *t = id ? btf__type_by_id(kb->btf, id) : NULL;
	if (!t) {
		sb_puts(b, "void");
		return;
	}
	if (depth > 32) {
		sb_puts(b, "...");
		return;
	}
	const char *name = name_of(kb, t);
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPEDEF:
		sb_puts(b, name);
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FWD: {
		const char *tag = btf_is_union(t) ? "union"
				  : btf_is_any_enum(t) ? "enum"
				  : btf_is_fwd(t) ? (btf_kflag(t) ? "union" : "struct")
						   : "struct";
		sb_printf(b, "%s %s", tag, *name ? name : "{...}");
		break;
	}
	case BTF_KIND_PTR: {
		const struct btf_type *to = btf__type_by_id(kb->btf, kbtf_skip_mods(kb, t->type));
		if (t->type && to && btf_is_func_proto(to) &&
		    kbtf_skip_mods(kb, t->type) == (int32_t)t->type) {
			spell_proto(kb, to, b, depth);
			break;
		}
		spell(kb, t->type, b, depth + 1);
		sb_putc(b, '*');
		break;
	}
	case BTF_KIND_CONST:
		spell(kb, t->type, b, depth + 1);
		sb_puts(b, " const");
		break;
	case BTF_KIND_VOLATILE:
		spell(kb, t->type, b, depth + 1);
		sb_puts(b, " volatile");
		break;
	case BTF_KIND_RESTRICT:
		spell(kb, t->type, b, depth + 1);
		sb_puts(b, " restrict");
		break;
	case BTF_KIND_TYPE_TAG:
		spell(kb, t->type, b, depth + 1);
		break;
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		spell(kb, (int32_t)a->type, b, depth + 1);
		sb_printf(b, "[%u]", a->nelems);
		break;
	}
	case BTF_KIND_FUNC_PROTO:
		spell_proto(kb, t, b, depth);
		break;
	default:
		sb_puts(b, *name ? name : "?");
		break;
	}
}

char *kbtf_type_name(const KernelBtf *kb, int32_t id)
{
	StrBuf b = { 0 };
	spell(kb, id, &b, 0);
	return sb_steal(&b);
}

int kbtf_func_params(const KernelBtf *kb, int32_t func_id, KParam **params)
{
	const struct btf_type *f = btf__type_by_id(kb->btf, func_id);
	if (!f || !btf_is_func(f))
		return -1;
	const struct btf_type *proto = btf__type_by_id(kb->btf, f->type);
	if (!proto || !btf_is_func_proto(proto))
		return -1;
	int n = btf_vlen(proto);
	const struct btf_param *p = btf_params(proto);
	/* a trailing type 0 is "...": not a parameter one can name */
	if (n > 0 && p[n - 1].type == 0)
		n--;
	*params = xcalloc(n ? (size_t)n : 1, sizeof(KParam));
	for (int i = 0; i < n; i++) {
		(*params)[i].name = p[i].name_off ? btf__name_by_offset(kb->btf, p[i].name_off) : "";
		(*params)[i].type_id = (int32_t)p[i].type;
		(*params)[i].c_type = kbtf_type_name(kb, (int32_t)p[i].type);
	}
	return n;
}

void kbtf_free_params(KParam *params, int n)
{
	for (int i = 0; i < n; i++)
		free(params[i].c_type);
	free(params);
}

int32_t kbtf_func_ret(const KernelBtf *kb, int32_t func_id)
{
	const struct btf_type *f = btf__type_by_id(kb->btf, func_id);
	if (!f || !btf_is_func(f))
		return -1;
	const struct btf_type *proto = btf__type_by_id(kb->btf, f->type);
	return proto ? (int32_t)proto->type : -1;
}

/* ---- tracepoint prototypes
 *
 * For every tracepoint EVENT, BTF has "typedef void (*btf_trace_EVENT)(void
 * *__data, ARGS...)" with unnamed parameters, and the kernel's BPF stub
 * "__bpf_trace_CLASS(void *__data, ARGS...)" with named ones.  The class
 * is often the event itself; when it is not, a stub whose argument types
 * are the same gives the names, if all such stubs agree on them.
 */

static bool same_types(const struct btf_type *a, const struct btf_type *b)
{
	if (btf_vlen(a) != btf_vlen(b))
		return false;
	const struct btf_param *pa = btf_params(a), *pb = btf_params(b);
	for (int i = 0; i < btf_vlen(a); i++)
		if (pa[i].type != pb[i].type)
			return false;
	return true;
}

static const struct btf_type *func_proto_of(const KernelBtf *kb, int32_t func_id)
{
	const struct btf_type *f = btf__type_by_id(kb->btf, func_id);
	const struct btf_type *p = f && btf_is_func(f) ? btf__type_by_id(kb->btf, f->type) : NULL;
	return p && btf_is_func_proto(p) ? p : NULL;
}

static size_t common_prefix(const char *a, const char *b)
{
	size_t n = 0;
	while (a[n] && a[n] == b[n])
		n++;
	return n;
}

static bool same_names(const KernelBtf *kb, const struct btf_type *a, const struct btf_type *b)
{
	const struct btf_param *pa = btf_params(a), *pb = btf_params(b);
	for (int k = 1; k < btf_vlen(a); k++)
		if (strcmp(btf__name_by_offset(kb->btf, pa[k].name_off),
			   btf__name_by_offset(kb->btf, pb[k].name_off)) != 0)
			return false;
	return true;
}

/* The named stub for prototype `want`: the event's own, else among the
 * stubs with the same argument types the one whose class name shares the
 * longest prefix with the event (sched_wakeup -> sched_wakeup_template);
 * NULL if none, or if the best ones disagree on names. */
static const struct btf_type *stub_for(const KernelBtf *kb, const char *event, const struct btf_type *want)
{
	char *name = xasprintf("__bpf_trace_%s", event);
	int32_t id = kbtf_func_id(kb, name);
	free(name);
	const struct btf_type *p = id > 0 ? func_proto_of(kb, id) : NULL;
	if (p && same_types(p, want))
		return p;
	const char *prefix = "__bpf_trace_";
	size_t plen = strlen(prefix), best_len = 0;
	const struct btf_type *best = NULL;
	bool ambiguous = false;
	for (int i = lower_bound(kb->funcs, kb->nfuncs, prefix, plen);
	     i < kb->nfuncs && strncmp(kb->funcs[i].name, prefix, plen) == 0; i++) {
		p = func_proto_of(kb, kb->funcs[i].id);
		if (!p || !same_types(p, want))
			continue;
		size_t len = common_prefix(kb->funcs[i].name + plen, event);
		if (!best || len > best_len) {
			best = p;
			best_len = len;
			ambiguous = false;
		} else if (len == best_len && !same_names(kb, best, p)) {
			ambiguous = true;
		}
	}
	return ambiguous ? NULL : best;
}

int kbtf_tracepoint_args(const KernelBtf *kb, const char *event, KParam **params)
{
	char *tname = xasprintf("btf_trace_%s", event);
	int32_t td = kbtf_typedef_find(kb, tname);
	free(tname);
	if (td < 0)
		return -1;
	const struct btf_type *ptr = btf__type_by_id(kb->btf, btf__type_by_id(kb->btf, td)->type);
	const struct btf_type *proto = ptr && btf_is_ptr(ptr) ? btf__type_by_id(kb->btf, ptr->type) : NULL;
	if (!proto || !btf_is_func_proto(proto) || btf_vlen(proto) < 1)
		return -1;
	const struct btf_type *stub = stub_for(kb, event, proto);
	int n = btf_vlen(proto) - 1; /* without void *__data */
	const struct btf_param *p = btf_params(proto) + 1;
	const struct btf_param *named = stub ? btf_params(stub) + 1 : NULL;
	*params = xcalloc(n ? (size_t)n : 1, sizeof(KParam));
	for (int i = 0; i < n; i++) {
		(*params)[i].name = named ? btf__name_by_offset(kb->btf, named[i].name_off) : "";
		(*params)[i].type_id = (int32_t)p[i].type;
		(*params)[i].c_type = kbtf_type_name(kb, (int32_t)p[i].type);
	}
	return n;
}
