/* elab.h - the private interface between the files of pass 2.
 *
 * Pass 2 runs in this order (elab.c drives it):
 *
 *   1. symbols.c  register the user scripts' functions, globals, aliases
 *   2. aliases.c  expand every user probe point through probe aliases
 *                 (tapset.c loads the files that define them) and hand the
 *                 remaining points to providers: DerivedProbes
 *   3. symbols.c  resolve every name in every probe body and every used
 *                 function: locals, parameters, globals, functions,
 *                 built-ins; tapset files are pulled in on demand
 *   4. types.c    target variables, @defined folding, then type inference
 *                 to a fixed point, then the checks that need final types
 *   5. elab.c     elide what is unused, number everything, fill Program
 *
 * What the translator can rely on is documented in stap.h (the fields
 * marked "pass 2") and at the end of this file.
 */
#ifndef ELAB_ELAB_H
#define ELAB_ELAB_H

#include "stap.h"
#include "elab/provider.h"

/* ------------------------------------------------------------ maps */

/* A string -> pointer hash map (open addressing, never shrinks). */
typedef struct StrMap {
	char **keys;
	void **vals;
	int cap, len;
} StrMap;
void *strmap_get(const StrMap *m, const char *key);
void strmap_put(StrMap *m, const char *key, void *val);

/* ------------------------------------------------------------ state */

/* What pass 2 knows about a variable beyond struct Var: where its type and
 * arity were first inferred (for "type was first inferred here"). */
typedef struct ElabVar {
	Var v;
	const Expr *type_at;
	const Expr *arity_at;
	bool arity_known;
	const Expr *first_read;  /* for "never-assigned" warnings */
	int variance_shift;      /* @variance(s, N): the one N allowed per global, or -1 */
	bool variance_shift_set;
} ElabVar;
#define ELAB_VAR(var) ((ElabVar *)(var))

/* Per-function facts, indexed by Func.id. */
typedef struct ElabFunc {
	Func *f;
	const Expr *ret_at;     /* where the return type was inferred */
	bool resolved;          /* body symbols resolved */
	bool ctx_checked[2];
	ElabVar **param_vars;
	/* the next function of the same name and a different arity (stap
	 * overloads by argument count), in definition order */
	Func *next_overload;
} ElabFunc;

/* A tapset file known from the index; parsed only when needed. */
typedef struct TapsetFile {
	char *path;
	bool loaded;
	Script *script;
} TapsetFile;

typedef struct TapsetIndex {
	Vec files;             /* TapsetFile* */
	StrMap functions;      /* name -> Vec* of TapsetFile* */
	StrMap globals;        /* name -> Vec* of TapsetFile* */
	Vec alias_names;       /* char*: every alias name defined (dotted) */
	Vec alias_files;       /* TapsetFile*, parallel to alias_names */
} TapsetIndex;

typedef struct Elab {
	Session *s;
	Program *prog;
	Vec scripts;           /* Script*: user scripts, then loaded tapsets */
	TapsetIndex *tapsets;
	StrMap functions;      /* name or "FILEIDX:name" (private) -> Func* */
	StrMap globals;        /* name or "FILEIDX:name" (private) -> ElabVar* */
	Vec all_globals;       /* ElabVar*, declaration order */
	Vec used_globals;      /* ElabVar*, order of first use (stap lists them so) */
	Vec warned;            /* char*: warning texts given (stap drops repeats) */
	Vec all_functions;     /* Func* registered */
	Vec funcs;             /* ElabFunc*, by Func.id */
	Vec aliases;           /* Probe* with is_alias, registered */
	Vec alias_keys;        /* char*: dotted name of each alias name ... */
	Vec alias_owner;       /* ... and the Probe* defining it */
	Vec func_queue;        /* Func* whose bodies still need resolving */
	Vec reported;          /* const void*: nodes already given an error */
	int type_changes;      /* set by types.c while iterating */
	bool final_pass;       /* types.c: report unresolved types */
	bool elided_something; /* elab.c: this elision round removed code */
} Elab;

/* symbols.c */
void elab_register_script(Elab *E, Script *sc);
Func *elab_find_function(Elab *E, const char *name, const SrcFile *from);
ElabVar *elab_find_global(Elab *E, const char *name, const SrcFile *from);
void elab_resolve_probe(Elab *E, DerivedProbe *dp);
void elab_resolve_queued_functions(Elab *E);
ElabFunc *elab_func_info(Elab *E, Func *f);
ElabVar *elab_new_var(const char *name, SrcLoc loc, int scope);
const char *elab_describe(const Expr *e); /* "identifier 'x'", "string 'a'"... */
bool elab_report_once(Elab *E, const void *node);
bool elab_warn_once(Elab *E, const char *text);

/* tapset.c */
TapsetIndex *tapset_index_build(Session *s);
/* Load (parse and register) every tapset file that defines `name` as a
 * function / global; returns true if any was loaded now. */
bool tapset_load_function(Elab *E, const char *name);
bool tapset_load_global(Elab *E, const char *name);
/* Load every file defining an alias that matches the point's name. */
void tapset_load_aliases_matching(Elab *E, const ProbePoint *pt);
int tapset_similar_functions(Elab *E, const char *name, const char **out, int max);

/* aliases.c */
void elab_expand_probes(Elab *E, Script *user);
bool point_matches_alias_name(const ProbePoint *pt, const ProbePoint *alias_name);
char *point_text(const ProbePoint *pt, bool with_suffixes);
Stmt *ast_clone_stmt(const Stmt *st);
Expr *ast_clone_expr(const Expr *e);

/* entry.c: @entry(expr) in return probes becomes a companion entry probe
 * saving expr per thread (runs after step 2, before target variables) */
void elab_entry_probes(Elab *E);

/* types.c */
void elab_targets(Elab *E, DerivedProbe *dp);
void elab_function_casts(Elab *E, Func *f); /* @cast in function bodies */
void elab_infer_types(Elab *E);
void elab_check_contexts(Elab *E);

/* builtins.c */
bool builtin_is_printf_family(const Builtin *b); /* format in args[0] */
bool builtin_is_print_family(const Builtin *b);  /* print println printd printdln sprint sprintln */
int builtin_names(const char **out, int max);

/* providers_basic.c */
extern const Provider provider_begin, provider_end, provider_error, provider_never, provider_timer;
extern const Provider provider_json_data;
int elab_config_hz(Session *s);

/* Edit distance, for "(similar: ...)" suggestions. */
char *elab_similar(const char *word, const char *const *cands, int n, int maxdist);

/* ------------------------------------------------- for the translator
 *
 * After elaborate() returns a Program:
 *  - Every Expr has .type (TY_LONG, TY_STRING, TY_STATS; TY_VOID for calls
 *    of functions that return nothing).
 *  - E_SYM / E_INDEX / E_IN / foreach arrays: .var is the Var (globals are
 *    in Program.globals with .id their index; locals and parameters are in
 *    the DerivedProbe's or Func's `locals` with .id their index there).
 *  - E_CALL: .func (script or tapset function, in Program.functions with
 *    .id its index) or .builtin (builtins.c); printf/sprintf/printf-like:
 *    .fmt_id indexes Program.formats (the decoded format string); the
 *    argument types match the format (checked with stp_format_arg_types).
 *  - E_TARGET: .target is the TargetAccess* from the provider of the
 *    probe's first point (all points of a DerivedProbe that uses target
 *    variables have the same provider and the same variable layout:
 *    probes with target variables are split one point per DerivedProbe).
 *    $$vars, $$parms, $$locals, $$return are rewritten by pass 2 into an
 *    E_CALL of the sprintf builtin: "a=%#x b=%#x" over E_TARGET $a, $b,
 *    so the translator never sees them.
 *  - @defined(...) is folded to E_NUM 0/1 and if/?: on constants pruned.
 *  - E_CAST / E_VAR_AT: type long, .target NULL (kernel side resolves).
 *  - E_ENTRY: type of its operand; kept for the translator.
 *  - Stmt S_FOREACH: fe->key_vars[], fe->value_var set; S_TRY: var_catch.
 *  - DerivedProbe: body is alias prologues + user body + epilogues (a copy
 *    private to this DerivedProbe), points all of one Context, cond is the
 *    combined condition (or NULL), locals its Var*s.
 */

#endif
