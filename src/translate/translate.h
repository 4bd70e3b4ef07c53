/* translate.h - pass 3 internals.
 *
 * One emitter writes every handler and script function as C, once per
 * target that needs it:
 *   T_BPF   kernel-context handlers, compiled with clang -target bpf and
 *           the primitives of runtime/target/stp_bpf.h;
 *   T_HOST  user-space handlers run by staprun, compiled with the host
 *           compiler and runtime/target/stp_host.h.
 * Expressions are lowered to straight-line C over temporaries so that
 * evaluation is left to right and every runtime error can leave the
 * handler at once ("goto out").  Names in the generated code:
 *   G->g_NAME       scalar global in the global block (struct stp_globals)
 *   g_NAME          BPF map of an array or statistics global
 *   F->l_NAME       local variable or parameter, in the frame
 *   F->sN           string temporary (frame), tN long temporary (C local)
 *   K               the hit context (stp_kctx_t)
 *   stp_lit_N       string literal, padded to STP_STRBUF bytes
 *
 *   emit.c        expressions and statements
 *   targetvars.c  $vars, member chains and @cast (kernel context)
 *   print.c       print, printf, sprintf and friends
 *   builtins.c    the runtime's native functions (context, time, memory,
 *                 strings)
 *   embedded.c    embedded C (guru mode)
 *   unit.c        the two translation units: globals, maps, frames,
 *                 probes, the module descriptor
 *   frames.c      BPF call depth: inlines functions so that programs fit
 *                 the verifier's 8 call frames
 */
#ifndef TRANSLATE_H
#define TRANSLATE_H

#include "stap.h"
#include "elab/provider.h"

typedef enum Target { T_BPF, T_HOST } Target;

/* A C function being generated (probe body, script function, or a BPF
 * loop callback). */
typedef struct CFn {
	StrBuf body;
	int nlong;              /* long temporaries t0..t{nlong-1} */
	int indent;
	bool is_callback;       /* BPF loop/foreach callback: "out" returns 1 */
	struct CFn *parent;
} CFn;

/* A frame: the locals and string temporaries of one probe or function. */
typedef struct Frame {
	char *type;             /* "struct stp_frame_p3" */
	Vec *locals;            /* Var* */
	int nstr;               /* string temporaries s0.. */
	Vec key_types;          /* char*: key struct type of key temporary kN */
	Vec stat_types;         /* char*: value type of stat temporary vN */
	bool is_function;
	Type ret;
} Frame;

/* An enclosing loop, for break/continue. */
typedef struct Loop {
	char *brk, *cont;       /* host: labels */
	bool bpf_callback;      /* BPF: break/continue return from the callback */
	bool is_foreach;
	struct Loop *outer;
} Loop;

typedef struct Emitter {
	Session *s;
	Program *p;
	Target target;
	CFn *fn;
	Frame *frame;
	Loop *loop;
	const char *unwind;     /* label to leave by on error/next/return */
	int label_counter;
	int try_depth;          /* static try nesting in the current function */
	StrBuf *callbacks;      /* BPF: loop callbacks, emitted before their user */
	int callback_counter;
	Vec *host_stat_adds;    /* Var*: statistics that host handlers add to (<<<) */
	StrBuf *decls;          /* BPF: types and maps of foreach snapshots, before the callbacks */
	int snapshot_counter;
	/* shared by both targets, filled as code is emitted */
	Vec *literals;          /* char* (decoded) -> stp_lit_N */
	Vec *literal_lens;      /* (intptr_t) lengths */
	Vec *error_msgs;        /* char*: message */
	Vec *error_wheres;      /* char*: "near operator '/' at F:L:C" */
	Vec *formats;           /* char*: printf formats (prog formats first) */
	Vec *regexes;           /* RegexSite*: =~ patterns, tables stp_reN_* */
	int dispatch_used[2];   /* raw_syscalls sys_enter / sys_exit dispatch programs emitted */
	Vec *btf_needs;         /* (intptr_t) KBTF_NEED_* of CO-RE member chains */
	bool uses_tp_args;      /* current probe reads TP_PROTO arguments: raw_tp */
	bool uses_tp_fields;    /* current probe reads tracepoint record fields */
	Vec *lifts;             /* merged handler: constants read from the row (dispatch.c) */
	unsigned rec_max;       /* largest record with deferred fields (defer.c) */
	bool uses_syscall_names; /* _syscall_name(): both units carry the table */
	bool regex_caps;        /* the program calls matched()/ngroups(): every =~ records its groups */
	bool failed;
} Emitter;

/* A compiled =~ pattern; both units carry its tables (regex.c). */
typedef struct RegexSite {
	char *pat;
	size_t len;
	struct Regex *re;
	bool caps_failed;       /* its sub-match tables would be too big (reported) */
} RegexSite;

/* emit.c */
void emit_stmt(Emitter *e, Stmt *st);
/* Evaluate e into a long temporary ("tN") or string buffer expression. */
char *emit_expr(Emitter *e, Expr *x);
void emit_line(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *emit_new_long(Emitter *e);
char *emit_new_str(Emitter *e);
int emit_literal(Emitter *e, const char *s, size_t len);
int emit_error_site(Emitter *e, const char *msg, const char *near, SrcLoc loc);
int emit_format(Emitter *e, const char *fmt);
void emit_fail(Emitter *e, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *c_string_literal(const char *s, size_t len);
const char *var_c_name(Emitter *e, Var *v); /* "G->g_x" / "F->l_x" */
char *literal_operand(Emitter *e, const char *s); /* "stp_lit_N" */
/* C statements resetting a BPF frame's locals and return state */
char *frame_reset_code(const char *frame, const Vec *locals);
bool in_try(Emitter *e);
/* Raise error site `id` (stap's message) and leave by e->unwind. */
void emit_raise(Emitter *e, int id);
void emit_raise_if(Emitter *e, int id, const char *cond);
void emit_check_unwind(Emitter *e);
char *near_op(const char *op);        /* "operator '/'" */
char *near_ident(const char *name);   /* "identifier 'x'" */
char *emit_stat_read(Emitter *e, Expr *agg, Var **var);
void emit_regex_tables(Emitter *e, StrBuf *b);
void emit_regex_caps_defines(Emitter *e, StrBuf *b); /* STP_RE_THREADS/_SLOTS, when e->regex_caps */
/* builtins.c: the syscall names by number, when _syscall_name() is used */
void emit_syscall_names(Emitter *e, StrBuf *b);
/* "&stp_zero" for a scalar aggregate, else "&F->kN" built from the index */
char *emit_stat_key(Emitter *e, Expr *agg, Var **var);

/* embedded.c: guru mode's %{ %} (stap -g) */
void emit_embedded_function(Emitter *e, Func *f);
char *emit_embedded_expr(Emitter *e, Expr *x);
void emit_embedded_stmt(Emitter *e, Stmt *st);
void emit_embedded_toplevel(StrBuf *b, Session *s, Program *p);
/* Sets *found when text holds embedded C. */
char *embedded_restore_lines(char *text, const char *name, bool *found);

/* targetvars.c */
char *emit_target_var(Emitter *e, Expr *x);
char *emit_cast(Emitter *e, Expr *x);
char *emit_var_at(Emitter *e, Expr *x);

/* print.c */
char *emit_print_family(Emitter *e, Expr *x);

/* builtins.c */
char *emit_builtin(Emitter *e, Expr *x);
/* builtins.c: a memory function's fault (stap's message with the address),
 * and the check that x runs in a kernel handler */
void emit_fault(Emitter *e, Expr *x, const char *what, bool user, const char *addr, bool warn);
void emit_fault_text(Emitter *e, Expr *x, const char *fmt, const char *site, const char *addr, bool warn);
bool needs_bpf(Emitter *e, Expr *x, const char *what);
/* memtext.c: the quoting and UTF readers and set_user_*, or NULL */
char *emit_mem_text(Emitter *e, Expr *x);

/* defer.c: strings formatted by staprun (doc/module-format.md) */
void defer_plan(Program *p);
char *emit_defer(Emitter *e, Expr *x);             /* the _defer(...) built-in */
bool defer_is_captured(const Expr *x);             /* a _defer(...) whose call staprun makes */
bool defer_call_is_captured(const Expr *call);     /* F(...) of such a _defer */
bool defer_is_printed(const Expr *arg);            /* a print argument that is deferred */
char **defer_eval(Emitter *e, const Expr *arg);   /* before the record: a direct one's arguments */
void emit_defer_field(Emitter *e, const Expr *arg, char **vals);
unsigned defer_field_max(Session *s, const Expr *arg);
void defer_host_roots(Program *p, Vec *funcs);     /* Func*: staprun calls them */
void defer_emit_host(StrBuf *b, Program *p);       /* wrappers and stp_deferred[] */

/* dispatch.c: syscall tracepoints on raw_syscalls, merged handlers */
int syscall_point(const Resolved *r, bool *is_exit); /* syscall number or -1 */
void dispatch_plan(Program *p);
bool dispatched_in(DerivedProbe *dp, const Resolved *r);
bool dispatch_skips_body(DerivedProbe *dp);
Vec *dispatch_lifts(DerivedProbe *dp);
const char *emit_lifted(Emitter *e, const Expr *x); /* row read for a lifted constant, or NULL */
void dispatch_emit_types(StrBuf *b, Program *p);
void dispatch_emit(Emitter *e, StrBuf *b, Program *p);

/* frames.c */
int frames_fit(Session *s, Program *p, char **bpf_c); /* inline until each program nests <= 8 frames */
void frames_note_loop(const char *callback, SrcLoc loc); /* for messages: the loop a callback runs */

/* unit.c helpers used by emit.c */
char *global_key_type(Var *v);   /* "struct stp_key_3" */
char *global_value_type(Var *v); /* "int64_t", "struct stp_strv", "struct stp_statv_3" */
int global_id(Program *p, Var *v);
int hist_nbuckets(Var *v);
int key_width(Var *v, int k);
bool *probe_functions(Program *p, DerivedProbe *dp); /* by Func id: called from dp's kernel handler */    /* bytes of string key k when narrowed, else 0 */

#endif
