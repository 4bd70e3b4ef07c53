/* provider.h - probe point providers: one per family of probe points.
 *
 * Pass 2 hands every probe point that is not a probe alias to the
 * provider named by its first component (begin, end, error, never, timer,
 * perf, kernel, module, process, procfs, ...).  A provider knows its
 * syntax, expands wildcards against this machine (or the -r target), and
 * says which context variables ($name) a resolved point offers and how to
 * read them.
 *
 *   elab/providers_basic.c   begin end error never timer   (language side)
 *   elab/providers_kernel.c  kernel.trace kernel.function module perf
 *                            syscall tracepoints, process, procfs (kernel side)
 */
#ifndef ELAB_PROVIDER_H
#define ELAB_PROVIDER_H

#include "stap.h"

/* How to read one context variable in a kernel handler.  The translator
 * turns this into C; providers fill it in. */
typedef struct TargetAccess {
	enum {
		TA_CTX_FIELD,  /* tracepoint record: a field at offset in the raw record (ctx) */
		TA_SYSCALL_ARG,/* raw syscall tracepoint: args[index] / ret */
		TA_FUNC_ARG,   /* function entry: argument `index` (fentry/kprobe) */
		TA_FUNC_RET,   /* function return value */
		TA_C_EXPR,     /* anything else: c_expr is a C expression of the BPF side */
		TA_TP_ARG,     /* tracepoint prototype argument `index` (raw tracepoint args[index]; elab/kernel.h) */
	} kind;
	Type type;         /* TY_LONG or TY_STRING */
	int offset;        /* TA_CTX_FIELD: byte offset in the record */
	int size;          /* bytes of the field (1,2,4,8) or array length */
	bool is_signed;
	int index;         /* TA_SYSCALL_ARG / TA_FUNC_ARG */
	/* how a string is found */
	enum {
		TA_STR_NONE,
		TA_STR_ARRAY,     /* char name[size] inline in the record */
		TA_STR_DATA_LOC,  /* __data_loc char[]: u32 (len<<16 | offset) at `offset` */
		TA_STR_KPTR,      /* pointer to a kernel string */
		TA_STR_UPTR,      /* pointer to a user string (syscall arguments) */
	} strkind;
	char *c_type;      /* the C type as the kernel spells it, for -L: "char[16]" */
	char *c_expr;      /* TA_C_EXPR */
	Vec btf_types;     /* (intptr_t) BTF type ids the expression needs declared */
	int btf_id;        /* kernel BTF type id of the value, 0 if none (elab/kernel.h) */
	char *btf_module;  /* module whose BTF btf_id is in; NULL for vmlinux */
	struct UserVar *uvar; /* a user program's variable from DWARF (elab/dwarf.h), or NULL */
	bool writable;     /* TA_C_EXPR: a C lvalue that guru mode may assign ($verdict) */
} TargetAccess;

typedef struct Provider {
	const char *name;  /* first component: "begin", "kernel", "timer"... */
	/* Resolve one probe point (wildcards expanded) into Resolved* pushed on
	 * `out`.  Returns the number added; reports errors itself and returns
	 * -1 on a syntax error; returns 0 when nothing matched (the caller
	 * reports stap's "no match" error unless the point is optional). */
	int (*resolve)(Session *s, const ProbePoint *pt, Vec *out);
	/* The context variable `name` ("$prev_comm" without '$', or "$$vars")
	 * at a resolved point, or NULL if there is none. */
	TargetAccess *(*target)(Session *s, const Resolved *r, const char *name);
	/* All context variables at a point (for -L and $$vars): TargetAccess*
	 * with c_type set, names in `names` (char*). */
	void (*target_list)(Session *s, const Resolved *r, Vec *names, Vec *accesses);
	/* -l / -L: append every point matching `pattern` (a point's text with
	 * wildcards) as char* lines, without variables; NULL if the family
	 * cannot be listed. */
	void (*list)(Session *s, const ProbePoint *pattern, Vec *out);
	/* Optional: why `name` is not a context variable at a point ("unable
	 * to find local 'x' ... (alternatives: $a, $b)"), or NULL for stap's
	 * generic "unresolved target-symbol expression". */
	char *(*target_missing)(Session *s, const Resolved *r, const char *name);
} Provider;

/* Registered providers, NULL-terminated, defined in elab/providers.c. */
extern const Provider *const elab_providers[];
const Provider *provider_find(const char *name);

/* Shell-style glob match with stap's '*' and '?' (and '**' across '.'). */
bool glob_match(const char *pattern, const char *text);

#endif
