/* kernel.h - what the kernel offers: BTF, tracepoints, syscalls, and the
 * probe providers built on them (the kernel side of pass 2).
 *
 *   elab/btf.c              BTF of vmlinux and modules: functions, types,
 *                           tracepoint prototypes
 *   elab/btf_emit.c         C from BTF: minimal declarations, member chains
 *                           as CO-RE reads
 *   elab/tracefs.c          tracepoint names and format files
 *   elab/syscalls.c         x86_64 syscall numbers and argument lists
 *   elab/providers_kernel.c kernel.* module(...) perf.* timer.profile
 *   elab/providers_process.c process(...) procfs(...)
 *   elab/providers_net.c     netfilter.hook(...).pf(...)
 *   elab/listing.c          list_probes(): -l and -L
 *
 * Everything is read lazily, once per session, and kept in
 * Session.kernel_facts.
 *
 * Providers (providers_kernel.c and providers_process.c) export
 *
 *     provider_kernel   "kernel":  kernel.trace/.function/.statement
 *     provider_module   "module":  module("m").function/.statement
 *     provider_perf     "perf":    perf.sw.* perf.hw.* perf.type(T).config(C)
 *     provider_process  "process": process(...).function/.statement/.mark/
 *                                  .begin/.end/.syscall
 *     provider_procfs   "procfs":  procfs("name").read/.write
 *
 * Perf points (PK_PERF) set perf_type, perf_config, sample_period (default
 * 1000000) or sample_freq (.hz), path for .process("PROC") (pid -1 for
 * .process with no name: the -c/-x target), and mark for .counter("NAME").
 *
 * timer.profile belongs to the "timer" family, which the language side
 * owns; its provider calls kernel_resolve_timer_profile() for a point whose
 * second component is "profile".
 *
 * Errors.  When a provider's resolve() returns -1 it has printed the whole
 * diagnostic in stap's layout, including the leading "while resolving probe
 * point: identifier 'kernel' at ..." line.  When it returns 0 nothing was
 * printed: the caller reports stap's "no match" (unless the point is
 * optional).  Optional points (trailing ?) and sufficient points (!) never
 * print errors for names that do not exist; they return 0.
 *
 * Resolved kernel.trace points carry tp_format (a TpFormat*, NULL when
 * tracefs is missing; then tp_system may be NULL too) except in -l mode.
 *
 * Tracepoint variables.  kernel.trace points offer the record's fields
 * (TA_CTX_FIELD, read from the classic tracepoint context), then the
 * tracepoint's TP_PROTO arguments that no field shadows (TA_TP_ARG: index
 * into a raw tracepoint's args[], typed by btf_id, so $prev->pid works as
 * in stap).  A probe that reads any TA_TP_ARG must attach as a raw
 * tracepoint (and then read its fields from the arguments: a probe uses
 * one kind or the other).
 *
 * target() answers NULL for "$$vars", "$$parms", "$$locals", "$$return":
 * build those from target_list() (the parameters / fields, in order).
 *
 * Member chains ($file->f_path->dentry->d_name->name).  target() gives the
 * base variable a TargetAccess with btf_id set (the BTF type id of its value;
 * btf_module names the module BTF it belongs to, NULL for vmlinux).  The
 * translator, which knows how to read the base in its program type (fentry
 * ctx[i], PT_REGS_PARMi, a record field...), calls kernel_member_access()
 * with that C expression; the result is a TA_C_EXPR whose c_expr walks the
 * chain with one STP_KREAD(type, address) per pointer dereference, and whose
 * address computations are plain C member accesses on structs declared
 * with __attribute__((preserve_access_index)), so clang emits CO-RE
 * relocations and the module runs on any kernel with the same member names.
 * The TargetAccess's btf_types lists what must be declared (KBTF_NEED_*
 * values); the translator collects them over the whole program and calls
 * kbtf_emit_decls() once, which writes only those structs, with only the
 * members used, plus forward declarations (never the whole vmlinux.h).
 * STP_KREAD is the BPF runtime's macro for a kernel read (it may record a
 * fault, as stap reports "kernel read fault"); kbtf_emit_decls() defines a
 * fallback with bpf_probe_read_kernel() when the runtime has none.
 * Bitfield members are read with libbpf's BPF_CORE_READ_BITFIELD_PROBED
 * (kbtf_emit_decls() includes <bpf/bpf_core_read.h>, so the unit must have
 * included <bpf/bpf_helpers.h> before the declarations).
 * A chain that ends on a char array gives TY_STRING with strkind
 * TA_STR_ARRAY: c_expr is then the array's kernel address and size its
 * length.  char * ends give a long (the address), as in stap: read the text
 * with kernel_string().
 */
#ifndef ELAB_KERNEL_H
#define ELAB_KERNEL_H

#include "elab/provider.h"

#include <stdint.h>

/* The lazily loaded facts, in Session.kernel_facts. */
typedef struct KernelFacts {
	Vec btfs;                /* KernelBtf*: vmlinux first, then modules */
	Vec btf_failures;        /* char*: modules already found missing */
	bool tracefs_probed;
	char *tracefs_root;      /* NULL if there is none */
	bool events_loaded;
	Vec events;              /* char* "system:event", sorted */
	struct TpFormatCache *formats;
	Vec elfs;                /* providers_process.c: ElfInfo* of binaries read */
} KernelFacts;
KernelFacts *kernel_facts(Session *s);
/* -r names a kernel other than the running one: its BTF comes from its
 * vmlinux (or --btf), and tracefs is not consulted. */
bool kernel_is_foreign(Session *s);

/* ----------------------------------------------------------------- btf.c */

struct btf;
typedef struct KernelBtf KernelBtf;

/* The BTF of vmlinux (module NULL: s->btf_path or /sys/kernel/btf/vmlinux)
 * or of a module (/sys/kernel/btf/MODULE, split on vmlinux).  Loaded and
 * indexed once.  NULL when unavailable; *why (if given) then says why. */
KernelBtf *kbtf_get(Session *s, const char *module, const char **why);
const struct btf *kbtf_raw(const KernelBtf *kb);
const char *kbtf_module(const KernelBtf *kb); /* NULL for vmlinux */

/* Functions (BTF_KIND_FUNC), sorted by name, unique. */
int kbtf_func_count(const KernelBtf *kb);
const char *kbtf_func_name(const KernelBtf *kb, int i);
/* The BTF id of function `name`, or -1. */
int32_t kbtf_func_id(const KernelBtf *kb, const char *name);
/* Push (const char *) names of functions matching a glob (* ? [..]),
 * sorted.  Returns how many were added. */
int kbtf_funcs_matching(const KernelBtf *kb, const char *glob, Vec *out);

typedef struct KParam {
	const char *name;  /* "" when BTF has no name */
	int32_t type_id;
	char *c_type;      /* stap's spelling: "struct file*", "char const*" */
} KParam;
/* The parameters of function `func_id`; returns their number (*params is
 * malloc'ed, free with kbtf_free_params) or -1 if it is not a function. */
int kbtf_func_params(const KernelBtf *kb, int32_t func_id, KParam **params);
void kbtf_free_params(KParam *params, int n);
/* The return type id of a function (0 for void), or -1. */
int32_t kbtf_func_ret(const KernelBtf *kb, int32_t func_id);

/* The prototype arguments of tracepoint `event` (TP_PROTO, without the
 * leading void *__data), named when BTF's BPF stubs name them (name ""
 * otherwise); -1 if BTF does not know the event. */
int kbtf_tracepoint_args(const KernelBtf *kb, const char *event, KParam **params);

/* A struct or union by name (without "struct "), or -1. */
int32_t kbtf_struct_find(const KernelBtf *kb, const char *name, bool is_union);
/* A typedef by name, or -1. */
int32_t kbtf_typedef_find(const KernelBtf *kb, const char *name);

typedef struct KMember {
	int32_t type_id;
	uint32_t bit_offset;    /* from the start of the outer struct */
	uint32_t bitfield_size; /* 0 if not a bitfield */
	uint32_t name_off;      /* the name's offset in the string section */
} KMember;
/* Member `name` of struct/union `struct_id` (typedefs and qualifiers on
 * struct_id are skipped), looking inside anonymous members too.  Offsets
 * add up through the anonymous members. */
bool kbtf_member_find(const KernelBtf *kb, int32_t struct_id, const char *name, KMember *m);

/* Skip typedefs, const, volatile, restrict and type tags. */
int32_t kbtf_skip_mods(const KernelBtf *kb, int32_t type_id);
/* The pointer type to `id`, or 0 if the kernel's BTF has none. */
int32_t kbtf_ptr_to(const KernelBtf *kb, int32_t id);
/* @cast(p, "NAME"): the pointer type to struct/union/typedef NAME
 * ("task_struct", "struct task_struct", "union ..."), or 0. */
int32_t kbtf_cast_type(const KernelBtf *kb, const char *name);
/* The C spelling of a type as stap prints it: "struct file*", "char const*",
 * "size_t", "char[16]", "void*".  Malloc'ed. */
char *kbtf_type_name(const KernelBtf *kb, int32_t type_id);
/* Whether a pointer type carries the __user tag (btf_type_tag("user")). */
bool kbtf_is_user_ptr(const KernelBtf *kb, int32_t type_id);

/* What a C translation unit needs declared, as (intptr_t) values in a Vec:
 * a member of a struct/union (found again by name, so anonymous nesting
 * is flattened), or a whole type (forward-declared if a struct). */
#define KBTF_NEED_MEMBER(struct_id, name_off) \
	((intptr_t)(((uint64_t)(uint32_t)(name_off) << 32) | (uint32_t)(struct_id)))
#define KBTF_NEED_TYPE(type_id) ((intptr_t)(uint32_t)(type_id))
/* Write C declarations for `needs` (from vmlinux BTF): forward declarations
 * of structs used through pointers, then each struct used, with only the
 * members needed, marked preserve_access_index.  Duplicates are fine. */
void kbtf_emit_decls(const KernelBtf *kb, const Vec *needs, StrBuf *out);

/* Resolve a chain of components after a base variable (see the top of this
 * file).  base_expr is the C expression of the base's value in the BPF
 * program; index_exprs[i] the C text of components[i] when it is a
 * COMP_INDEX_EXPR (may be NULL otherwise).  Returns a new TA_C_EXPR, or
 * NULL with *err set to stap's message (malloc'ed) and *err_at to the
 * component at fault.  With `address`, the result is the last member's
 * address (&$var->member), not its value. */
TargetAccess *kernel_member_access(Session *s, const TargetAccess *base, const char *base_expr,
				   const Component *comps, int ncomps, char **index_exprs, bool address,
				   char **err, int *err_at);

/* ------------------------------------------------------------- tracefs.c */

typedef enum TpFieldKind {
	TPF_INT,        /* integers, enums, bool */
	TPF_CHAR_ARRAY, /* char name[N] */
	TPF_DATA_LOC,   /* __data_loc char[] name (a string) */
	TPF_DATA_LOC_OTHER, /* __data_loc of something else (dynamic array) */
	TPF_POINTER,    /* any T * */
	TPF_ARRAY,      /* other fixed arrays: u8 addr[16] */
	TPF_OTHER,
} TpFieldKind;

typedef struct TpField {
	char *name;
	char *c_type;    /* as the format file spells it, without the name: "char[16]" */
	int offset, size;
	bool is_signed;
	TpFieldKind kind;
	int array_len;   /* TPF_CHAR_ARRAY, TPF_ARRAY */
} TpField;

/* One event's format, without the common_* fields. */
typedef struct TpFormat {
	char *system, *event;
	int id;
	TpField *fields;
	int nfields;
} TpFormat;

/* The tracefs mount point ("/sys/kernel/tracing" or the debugfs one),
 * mounting tracefs if its events/ are missing; NULL if there is none. */
const char *tracefs_root(Session *s);
/* Parse the text of a format file.  NULL (with *err) if it is not one. */
TpFormat *tracefs_parse_format(const char *system, const char *event, const char *text,
			       const char **err);
void tracefs_free_format(TpFormat *f);
/* The format of one event, cached; NULL if there is no such event. */
TpFormat *tracefs_format(Session *s, const char *system, const char *event);
/* All events as "system:event", sorted (from directory names only; from
 * BTF btf_trace_* names when tracefs is missing: system is then "*"). */
const Vec *tracefs_events(Session *s);
/* Push (const char *) "system:event" entries matching two globs. */
int tracefs_events_matching(Session *s, const char *sys_glob, const char *event_glob, Vec *out);

/* ------------------------------------------------------------ syscalls.c */

/* x86_64 numbers (asm/unistd_64.h). */
int syscall_nr(const char *name);     /* -1 if unknown */
const char *syscall_name(int nr);     /* NULL if unknown */
int syscall_max_nr(void);             /* highest number in the table */
/* The arguments of a syscall from tracefs syscalls/sys_enter_NAME/format
 * (without __syscall_nr); returns their number, -1 if unknown. */
int syscall_args(Session *s, const char *name, const TpField **args);

/* ---------------------------------------------------- providers_kernel.c */

extern const Provider provider_kernel, provider_module, provider_perf, provider_process,
	provider_procfs;  /* the last two in providers_process.c */
extern const Provider provider_netfilter; /* providers_net.c */

/* timer.profile: a perf cpu-clock sampling event on every CPU. */
int kernel_resolve_timer_profile(Session *s, const ProbePoint *pt, Vec *out);

/* Helpers shared by the kernel-side providers. */
void kernel_point_error(Session *s, const ProbePoint *pt, int comp, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void kernel_mismatch(Session *s, const ProbePoint *pt, int comp, const char *const *cands, int n);
bool kernel_point_quiet(Session *s, const ProbePoint *pt);
const char *kernel_comp_string(const PointComp *c);
bool kernel_comp_number(const PointComp *c, int64_t *v);
bool kernel_has_wildcard(const char *s);
bool kernel_glob(const char *pattern, const char *name); /* fnmatch: * ? [..] */
char *kernel_quote(const char *s);
char *kernel_stap_spelling(const char *format_type); /* "const char *" -> "char const*" */
Resolved *kernel_new_resolved(ProbeKind kind, const ProbePoint *pt, char *pp);
void kernel_free_resolved(Vec *resolved); /* frees the Resolved* and the Vec's array */
TargetAccess *kernel_new_access(int kind, Type type, const char *c_type);
void kernel_free_access(TargetAccess *ta);
TargetAccess *kernel_target_from_list(Session *s, const Resolved *r, const char *name,
				      void (*list)(Session *, const Resolved *, Vec *, Vec *));
void kernel_btf_modules(Vec *names); /* char*: modules in /sys/kernel/btf */
/* -l: the pp() of every point `resolve` finds for pattern, quietly. */
void kernel_list_by_resolving(Session *s, const ProbePoint *pattern, Vec *out,
			      int (*resolve)(Session *, const ProbePoint *, Vec *));
/* A program as process("NAME") finds it: via $PATH, canonical; NULL if none. */
char *kernel_find_executable(const char *name);
/* The file offset where the entry probe matching a .return uprobe point
 * goes: after the function's prologue when it has debuginfo, where its
 * parameters can be read (@entry($param)). */
uint64_t process_entry_offset(Session *s, const Resolved *ret);
extern const Provider *const kernel_side_providers[]; /* NULL-terminated, for listing */

/* Filled by the language side (aliases, begin, end, timer...): append the
 * lines (char*, with " $var:type" when verbose) of probe points matching
 * pattern.  Declared weak: list_probes() calls it only when it is linked. */
void elab_list_aliases(Session *s, const char *pattern, bool verbose, Vec *lines)
	__attribute__((weak));
/* -L: append " $name:type" for each context variable of r, as prov lists them. */
void list_target_vars(Session *s, const Provider *prov, const Resolved *r, StrBuf *b);

/* Stable sort `cands` by edit distance to `word` and return up to five,
 * ", "-separated, as stap's "(similar: ...)" lists them; NULL if none. */
char *kernel_similar_names(const char *word, const char *const *cands, int n);

#endif
