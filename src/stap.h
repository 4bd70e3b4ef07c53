/* stap.h - the map of the translator.
 *
 * stapng turns a SystemTap script into an instrumentation module in five
 * passes.  This header declares the data handed from one pass to the next,
 * grouped by the file that owns it:
 *
 *   util.c        vectors, string buffers, allocation that never fails
 *   diag.c        diagnostics: file:line:col, source line and caret
 *   lex.c         pass 1a: text -> tokens
 *   preprocess.c  pass 1b: %( %? %: %) conditionals, @define macros
 *   parse.c       pass 1c: tokens -> AST (Script)
 *   unparse.c     pass 1 output: AST -> canonical script text (-p1)
 *   elab/         pass 2: symbols, types, tapsets, probe points (Program)
 *   translate/    pass 3: Program -> C for BPF and for the host
 *   build.c       pass 4: compile and cache the module
 *   main.c        the command line and the pass driver
 *
 * Every AST node keeps the SrcLoc it was read from, so that any pass can
 * report an error at the right place.
 */
#ifndef STAP_H
#define STAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STAPNG_VERSION "0.1"
/* The SystemTap language version we implement (for %( systemtap_v ... %)). */
#define STAP_LANG_VERSION "5.0"

/* ---------------------------------------------------------------- util.c */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable array of pointers. */
typedef struct Vec {
	void **data;
	int len, cap;
} Vec;
void vec_push(Vec *v, void *item);
#define VEC_AT(v, i) ((v)->data[i])

/* A growable string. */
typedef struct StrBuf {
	char *s;
	size_t len, cap;
} StrBuf;
void sb_putc(StrBuf *b, char c);
void sb_puts(StrBuf *b, const char *s);
void sb_putn(StrBuf *b, const char *s, size_t n);
void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
char *sb_steal(StrBuf *b); /* returns the string (never NULL), resets b */

char *read_file(const char *path, size_t *len); /* NULL with errno set */
/* The same into memory from alloc (xmalloc, arena_alloc), NUL-terminated. */
char *read_file_with(const char *path, size_t *len, void *(*alloc)(size_t));
uint64_t hash64(const void *data, size_t n, uint64_t seed);
/* Levenshtein distance, for "similar:" suggestions. */
int edit_distance(const char *a, const char *b);

/* ---------------------------------------------------------------- diag.c */

/* A source file (script, tapset, -e text, stdin). Text is NUL-terminated. */
typedef struct SrcFile {
	char *name;      /* as shown in messages: path, "<input>" for -e */
	char *text;      /* text[len] is a NUL: the lexer's end marker */
	size_t len;
	bool is_tapset;  /* from the tapset library, not the user */
	int index;       /* position in Session.files */
} SrcFile;

typedef struct SrcLoc {
	SrcFile *file;
	int line, col;   /* 1-based; col counts bytes */
} SrcLoc;

struct Session;

/* Print "KIND: message at FILE:LINE:COL" then the source line and a caret,
 * in stap's layout, to stderr.  kind is e.g. "parse error", "semantic
 * error", "WARNING".  Errors increment sess->errors. */
void diag_error(struct Session *s, SrcLoc loc, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The parse layout: "parse error: MSG" then "saw: SAW at FILE:L:C". */
void diag_parse_error(struct Session *s, SrcLoc loc, const char *saw, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void diag_warning(struct Session *s, SrcLoc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An error with no source position ("stap: ..."). */
void diag_fatal(struct Session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text of line `line` of file f, without newline (static buffer). */
const char *diag_source_line(const SrcFile *f, int line);
/* stap shows a message once: false (and the repeat counted) when `kind:
 * msg` was shown before, unless -v. */
bool diag_first_time(struct Session *s, const char *kind, const char *msg);
/* At the end of the run: "Number of similar ... messages suppressed". */
void diag_print_suppressed(struct Session *s);

/* ----------------------------------------------------------------- lex.c */

typedef enum TokenKind {
	TK_IDENT,     /* identifiers and keywords (see tok_is_keyword) */
	TK_NUMBER,    /* integer literal; value in Token.num */
	TK_STRING,    /* string literal; Token.text holds the decoded bytes, Token.len its length */
	TK_OP,        /* operator or punctuation: Token.text is its spelling */
	TK_DOLLAR,    /* $name, $$vars, $$locals, $$parms, $$return (text includes $) */
	TK_AT,        /* @name: @cast @count @hist_log @define @MACRO... (text includes @) */
	TK_ARG,       /* $1 @1 $# @#: Token.text as written (resolved by the preprocessor) */
	TK_EMBEDDED,  /* %{ ... %}: Token.text is the code between the braces */
	TK_PP,        /* preprocessor punctuation: %( %? %: %) */
	TK_EOF,
} TokenKind;

/* The keywords, so that the parser tells them apart by number. */
typedef enum Keyword {
	KW_NONE, KW_PROBE, KW_GLOBAL, KW_FUNCTION, KW_PRIVATE, KW_IF, KW_ELSE, KW_FOR, KW_FOREACH,
	KW_IN, KW_LIMIT, KW_RETURN, KW_DELETE, KW_WHILE, KW_DO, KW_BREAK, KW_CONTINUE,
	KW_NEXT, KW_TRY, KW_CATCH, KW_STRING, KW_LONG,
} Keyword;

typedef struct Token {
	TokenKind kind;
	bool space_before;   /* whitespace or comment precedes it (for %( arch == ... %)) */
	bool is_keyword;     /* TK_IDENT spelling a keyword (set by the lexer) */
	unsigned char keyword; /* which: a Keyword (KW_NONE for other tokens) */
	/* Identifiers, numbers, $/@ names: interned (one copy per spelling);
	 * operators: static; strings and embedded code: arena copies.  So the
	 * text outlives the token, and the AST may point to it. */
	char *text;
	size_t len;          /* length of text (strings may hold NUL bytes) */
	int64_t num;         /* TK_NUMBER value (64-bit two's complement) */
	SrcLoc loc;
	struct Token *next;
	/* the @NAME token whose expansion made this one, so that errors inside
	 * macro bodies can say "in expansion of macro ... at" */
	struct Token *macro_call;
} Token;

/* The tokens the preprocessor rewrites or acts on: @NAME, $1 and friends,
 * %( %? %: %).  Every other token passes it untouched. */
static inline bool tok_swept(const Token *t)
{
	return (1u << t->kind) & (1u << TK_AT | 1u << TK_ARG | 1u << TK_PP);
}

/* Read a whole file into tokens.  Errors are reported; the returned list is
 * always terminated by TK_EOF. */
Token *lex(struct Session *s, SrcFile *f);
bool tok_is(const Token *t, const char *text); /* TK_IDENT/TK_OP with this spelling */
bool tok_is_keyword(const char *name);
const char *tok_describe(const Token *t); /* "identifier 'foo'", "operator '+'", ... for errors */
/* Lex text standing for one token elsewhere ($1): tokens get location loc. */
Token *lex_fragment(struct Session *s, const char *text, SrcLoc loc);
/* Integer literal spelling (decimal, 0x hex, 0 octal, < 2**64) to value. */
bool lex_parse_number(const char *s, size_t n, int64_t *out);
/* Pass-1 errors in stap's layout, with "in expansion of macro" notes:
 * p1_error_saw prints "saw: <token>" (parser), p1_error_at prints
 * "at: <desc or token>" (lexer, preprocessor).  Both count in s->errors. */
void p1_error_saw(struct Session *s, const Token *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void p1_error_at(struct Session *s, const Token *t, SrcLoc loc, const char *desc,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A bump allocator for tokens and AST nodes (zeroed memory, never freed
 * except all at once by arena_release_all, for fuzzers). */
void *arena_alloc(size_t n);
char *arena_strndup(const char *s, size_t n);
void arena_release_all(void);
char *intern(const char *s, size_t n); /* one arena copy per distinct text */
/* Tokens come from a recycling pool: token_new is zeroed. */
Token *token_new(void);
void token_free(Token *t);
void token_free_until(Token *first, const Token *stop); /* first, its next, ... before stop */
void token_free_chain(Token *first, Token *last); /* first ... last, linked */

/* On-demand lexing (parse_path pulls tokens through the preprocessor one
 * at a time, so no token list of the whole file is ever made).
 * lexer_next returns TK_EOF at the end, and again if called again. */
typedef struct Lexer Lexer;
Lexer *lexer_open(struct Session *s, SrcFile *f);
Token *lexer_next(Lexer *lx);
/* Every token lexed ahead, as a chain (at least one token; TK_EOF ends
 * the input), and the part of such a chain not used, given back.  Only
 * the first token of a chain may be tok_swept: the lexer ends a run
 * before such a token, so that the preprocessor need not look at the
 * rest. */
Token *lexer_next_run(Lexer *lx);
void lexer_unread_run(Lexer *lx, Token *run);
bool lexer_saw_tokens(const Lexer *lx); /* made a token other than TK_EOF */
void lexer_close(Lexer *lx);

/* While the stages run interleaved, pass-1 errors are held per stage and
 * printed, stage by stage, when the outermost p1_hold(false) comes: the
 * same order as when each stage runs over the whole file in turn. */
enum P1Stage { P1_LEX, P1_MACRO, P1_COND, P1_PARSE, P1_NSTAGES };
void p1_hold(bool on);
enum P1Stage p1_stage(enum P1Stage stage); /* returns the previous stage */

/* ---------------------------------------------------------- preprocess.c */

/* Evaluate conditionals, expand macros and script arguments.  Library
 * macros come from *.stpm files in the tapset path (loaded once per
 * session).  Returns the new token list. */
Token *preprocess(struct Session *s, Token *toks);
/* The same, on demand: from the lexer lx, or from the list toks when lx
 * is NULL.  pp_next returns TK_EOF at the end (and again after it). */
typedef struct PPStream PPStream;
PPStream *pp_open(struct Session *s, SrcFile *f, Lexer *lx, Token *toks);
Token *pp_next(PPStream *pp);
/* As pp_next, but it may return a chain of tokens ready one after the
 * other (those no sweep has to look at): the parser takes runs. */
Token *pp_next_run(PPStream *pp);
void pp_close(PPStream *pp);

/* ----------------------------------------------------------------- AST */

typedef enum Type {
	TY_UNKNOWN = 0,
	TY_LONG,
	TY_STRING,
	TY_STATS,   /* a statistics aggregate (target of <<<) */
	TY_VOID,    /* function with no return value */
} Type;
const char *type_name(Type t); /* "long", "string", "stats", "unknown" */

#define MAX_INDEXES 9

typedef enum ExprKind {
	E_NUM,        /* num */
	E_STR,        /* str, len */
	E_SYM,        /* name: local, global or function parameter */
	E_TARGET,     /* $name / $$vars...: name; comps; suffix */
	E_CAST,       /* @cast(args[0], str "type" [, module "mod"]) comps */
	E_VAR_AT,     /* @var("name@file" [, "module"]) comps */
	E_ENTRY,      /* @entry(args[0]) */
	E_DEFINED,    /* @defined(args[0]) */
	E_STAT,       /* @count(x) @sum @min @max @avg @variance: op, args[0] */
	E_HIST,       /* @hist_log(x) or @hist_linear(x, start, stop, step): op, args */
	E_INDEX,      /* name[args...] : array element */
	E_CALL,       /* name(args...) : function call, incl. printf & co */
	E_UNARY,      /* op in "-" "!" "~" "+" ; args[0] */
	E_INCDEC,     /* op "++" or "--"; postfix flag; args[0] is an lvalue */
	E_BINARY,     /* op: + - * / % << >> >>> & | ^ && || . ; args[0], args[1] */
	E_COMPARE,    /* op: < > <= >= == != =~ !~ ; args[0], args[1] */
	E_ASSIGN,     /* op: = += -= *= /= %= <<= >>= &= |= ^= .= ; args[0] lvalue */
	E_STATS_ADD,  /* args[0] <<< args[1] */
	E_TERNARY,    /* args[0] ? args[1] : args[2] */
	E_IN,         /* [args...] in name  (nargs keys) */
	E_EMBEDDED,   /* %{ code %} used as an expression (guru mode) */
} ExprKind;

/* One step of a target-variable access path: ->name or [index]. */
typedef struct Component {
	enum { COMP_MEMBER, COMP_INDEX, COMP_INDEX_EXPR } kind;
	char *name;        /* COMP_MEMBER */
	int64_t index;     /* COMP_INDEX: literal */
	struct Expr *expr; /* COMP_INDEX_EXPR: computed index */
	SrcLoc loc;
} Component;

struct Var;
struct Func;

typedef struct Expr {
	ExprKind kind;
	int nargs;             /* of args (next to kind: no padding; 100,000-line scripts make ~500,000 Exprs) */
	SrcLoc loc;
	const char *op;        /* operator spelling, or @-operator name without '@' */
	char *name;            /* E_SYM E_TARGET E_INDEX E_CALL E_IN (array name) */
	int64_t num;           /* E_NUM */
	char *str;             /* E_STR (decoded), E_CAST type, E_VAR_AT name, E_EMBEDDED code */
	size_t len;            /* E_STR length */
	char *module;          /* E_CAST / E_VAR_AT optional module string */
	struct Expr **args;    /* operands / indexes / call arguments */
	Component *comps;      /* E_TARGET E_CAST E_VAR_AT access path */
	int ncomps;
	int suffix;            /* E_TARGET/E_CAST: 0, 1 for trailing '$', 2 for '$$' */
	bool postfix;          /* E_INCDEC */
	bool is_array_ref;     /* E_SYM naming a whole array (in foreach/delete/@stat) */
	bool addressof;        /* E_TARGET E_CAST E_VAR_AT under a unary '&': its address, not its value */

	/* Filled in by pass 2. */
	Type type;
	struct Var *var;       /* E_SYM E_INDEX E_IN: the variable */
	struct Func *func;     /* E_CALL: the script/tapset function, NULL for builtins */
	const struct Builtin *builtin; /* E_CALL: the built-in, if any */
	void *target;          /* E_TARGET E_CAST...: how to read it (elab/target.c) */
	int fmt_id;            /* printf-family calls: format table index */
} Expr;

typedef enum StmtKind {
	S_BLOCK,     /* { body... } */
	S_EXPR,      /* expr */
	S_IF,        /* if (cond) then [else els] */
	S_FOR,       /* for (init; cond; incr) body ; also while (cond) body */
	S_DO,        /* do body while (cond) */
	S_FOREACH,   /* foreach (...) body: see ForeachInfo */
	S_BREAK,
	S_CONTINUE,
	S_NEXT,
	S_RETURN,    /* return [expr] */
	S_DELETE,    /* delete expr (array, element, or scalar) */
	S_TRY,       /* try body catch [(var)] handler */
	S_EMBEDDED,  /* %{ code %} as a statement */
	S_NULL,      /* ; */
} StmtKind;

/* foreach ([k1, k2] in arr- limit N) / foreach (v = [k1, k2] in arr+) */
typedef struct ForeachInfo {
	char *keys[MAX_INDEXES];   /* loop variable names */
	SrcLoc key_locs[MAX_INDEXES];
	int nkeys;
	bool bracketed;            /* written as [k] rather than k */
	char *value;               /* "v = [...] in" form, or NULL */
	SrcLoc value_loc;
	char *array;               /* the array name */
	SrcLoc array_loc;
	struct Expr *array_expr;   /* E_SYM for the array (filled by the parser) */
	/* sort: 0 none; sort_key 1..nkeys for a key, 0 for the value
	 * (written as arr+ / arr- or v+ / v-); sort_dir +1 or -1 */
	int sort_key;
	int sort_dir;
	struct Expr *limit;        /* or NULL */
	struct Var *key_vars[MAX_INDEXES];  /* pass 2 */
	struct Var *value_var;              /* pass 2 */
} ForeachInfo;

typedef struct Stmt {
	StmtKind kind;
	int nbody;              /* of body (next to kind: no padding) */
	SrcLoc loc;
	struct Stmt **body;     /* S_BLOCK statements */
	struct Expr *expr;      /* S_EXPR S_RETURN S_DELETE; S_IF/S_FOR/S_DO condition */
	struct Stmt *init;      /* S_FOR */
	struct Expr *incr;      /* S_FOR */
	struct Stmt *then;      /* S_IF then; loop body; S_TRY body */
	struct Stmt *els;       /* S_IF else; S_TRY catch handler */
	char *catch_var;        /* S_TRY: catch (msg) */
	SrcLoc catch_loc;
	ForeachInfo *fe;        /* S_FOREACH */
	char *code;             /* S_EMBEDDED */
	struct Var *var_catch;  /* pass 2 */
} Stmt;

/* A read-only walk over a tree (src/ast.c): `stmt` sees each statement
 * before its parts, `expr` each expression after its operands; either may
 * be NULL, and returning true stops the walk (the walk returns true). */
typedef struct AstWalk {
	bool (*stmt)(Stmt *st, void *arg);
	bool (*expr)(Expr *x, void *arg);
	void *arg;
} AstWalk;
bool ast_walk_stmt(Stmt *st, const AstWalk *w);
bool ast_walk_expr(Expr *x, const AstWalk *w);

/* A component of a probe point: name or name(arg). */
typedef struct PointComp {
	char *name;          /* may hold wildcards * and ** */
	struct Expr *arg;    /* literal E_NUM / E_STR, or NULL */
	SrcLoc loc;
} PointComp;

typedef struct ProbePoint {
	PointComp *comps;
	int ncomps;
	bool optional;       /* trailing ? */
	bool sufficient;     /* trailing ! */
	struct Expr *cond;   /* if (cond) */
	SrcLoc loc;
} ProbePoint;

typedef struct Probe {
	ProbePoint **points;
	int npoints;
	Stmt *body;
	SrcLoc loc;
	bool is_alias;       /* probe NAME = points { prologue } */
	bool alias_epilogue; /* probe NAME += points { epilogue } */
	ProbePoint **alias_names; /* the names being defined (alias only) */
	int nalias_names;
	bool is_private;
	SrcFile *file;
} Probe;

typedef struct Param {
	char *name;
	Type type;           /* declared :long / :string, else TY_UNKNOWN */
	SrcLoc loc;
} Param;

typedef struct Func {
	char *name;
	Type ret;            /* declared return type or TY_UNKNOWN (inferred in pass 2) */
	bool ret_declared;
	Param *params;
	int nparams;
	Stmt *body;          /* script body, or NULL for embedded */
	char *embedded;      /* %{ ... %} body, or NULL */
	SrcLoc embedded_loc; /* where that body's %{ is */
	char **pragmas;      /* /" pragma:... "/ found in an embedded body */
	int npragmas;
	bool is_private;
	SrcLoc loc;
	SrcFile *file;
	/* pass 2 */
	Vec locals;          /* struct Var*: params first, then locals */
	bool used;
	int id;
} Func;

typedef struct Global {
	char *name;
	Expr *init;          /* scalar initialiser, or NULL */
	int64_t size;        /* global a[100]: 0 when not given */
	bool wrap;           /* global a%[100] or a% */
	bool is_array_decl;  /* written with [size] */
	bool is_private;
	SrcLoc loc;
	SrcFile *file;
} Global;

/* A parsed file: user script, -E text or tapset. */
typedef struct Script {
	SrcFile *file;
	Vec globals;         /* Global* */
	Vec probes;          /* Probe* (aliases included, is_alias set) */
	Vec functions;       /* Func* */
	Vec embedded;        /* char*: top-level %{ %} blocks */
	Vec embedded_locs;   /* SrcLoc* of those blocks */
} Script;

/* ---------------------------------------------------------------- parse.c */

/* Parse a preprocessed token list.  Errors are reported (several per run,
 * recovering at the next top-level declaration); returns the script with
 * whatever parsed. */
Script *parse(struct Session *s, SrcFile *f, Token *toks);
/* Convenience: read, lex, preprocess and parse text as file `name`. */
Script *parse_text(struct Session *s, const char *name, const char *text, bool is_tapset);
Script *parse_path(struct Session *s, const char *path, bool is_tapset);
/* Streaming (-p1 of a large script): as parse_text / parse_path, but each
 * top-level declaration is handed to `each` as soon as it is parsed, in a
 * Script holding only it, and its tree is dropped afterwards (the nodes
 * must not be kept; the token text they point to may).  Returns the
 * (then empty) Script, whose `file` names the file. */
typedef void (*ParseEachFn)(const Script *decls, void *arg);
Script *parse_text_each(struct Session *s, const char *name, const char *text, bool is_tapset,
			ParseEachFn each, void *arg);
Script *parse_path_each(struct Session *s, const char *path, bool is_tapset, ParseEachFn each,
			void *arg);

/* -------------------------------------------------------------- unparse.c */

/* Print a script as canonical stap text (the -p1 output). */
void unparse_script(FILE *out, const Script *sc);
/* The same text built up a few declarations at a time (parse_*_each):
 * each kind has its own part so that the order stays unparse_script's
 * (embedded blocks, globals, probes, functions).  A part is a chain of
 * arena blocks; piece is where one declaration is printed. */
typedef struct PartBlock PartBlock;
typedef struct UnparsePart {
	PartBlock *first, *last;
} UnparsePart;
typedef struct UnparseParts {
	UnparsePart embedded, globals, probes, functions;
	StrBuf piece;
} UnparseParts;
void unparse_parts_add(UnparseParts *u, const Script *decls);
/* Append the file's header and parts to out; frees the parts. */
void unparse_parts_finish(StrBuf *out, UnparseParts *u, const SrcFile *file);
/* The same, written to out. */
void unparse_parts_write(FILE *out, UnparseParts *u, const SrcFile *file);
void unparse_expr(StrBuf *b, const Expr *e);
void unparse_stmt(StrBuf *b, const Stmt *st, int indent);
void unparse_point(StrBuf *b, const ProbePoint *pp);

/* ---------------------------------------------------------------- elab/ */

/* A variable after resolution: global, local, parameter or foreach key. */
typedef struct Var {
	char *name;
	SrcLoc loc;                 /* where declared or first assigned */
	enum { VAR_GLOBAL, VAR_LOCAL, VAR_PARAM } scope;
	Type type;                  /* value type (TY_STATS for aggregates) */
	int nkeys;                  /* 0 for scalars */
	Type keys[MAX_INDEXES];
	bool is_array;
	int64_t maxsize;            /* global a[N] or 0 (MAXMAPENTRIES) */
	bool wrap;                  /* % : wrap around when full */
	Expr *init;                 /* global initialiser */
	bool read, written;         /* any probe/function reads / writes it */
	bool is_private;
	int hist_kind;              /* stats: 0 none, 1 log, 2 linear (what @hist_* needs) */
	int64_t hist_start, hist_stop, hist_step;
	unsigned stat_ops;          /* stats: bitmask of @count/@sum/... used (STAT_OP_*) */
	int id;                     /* index in Program.globals or in a frame */
	Global *decl;
} Var;

/* Var.stat_ops bits: which aggregates a statistic needs. */
enum {
	STAT_OP_COUNT = 1 << 0,
	STAT_OP_SUM = 1 << 1,
	STAT_OP_MIN = 1 << 2,
	STAT_OP_MAX = 1 << 3,
	STAT_OP_AVG = 1 << 4,
	STAT_OP_VARIANCE = 1 << 5,
	STAT_OP_HIST_LOG = 1 << 6,
	STAT_OP_HIST_LINEAR = 1 << 7,
};

/* Where a probe handler runs. */
typedef enum Context { CTX_USER, CTX_KERNEL } Context;

/* What a probe point resolved to: one attachable event. */
typedef enum ProbeKind {
	PK_BEGIN,
	PK_END,
	PK_ERROR,
	PK_NEVER,
	PK_TIMER,        /* timer.s/ms/us/ns/hz/jiffies: interval, in user space */
	PK_PROFILE,      /* timer.profile: perf cpu-clock on every CPU */
	PK_PERF,         /* perf.sw.* / perf.hw.* / perf.type().config() */
	PK_TRACEPOINT,   /* kernel.trace("cat:name"): raw tracepoint */
	PK_SYSCALL,      /* raw syscalls sys_enter / sys_exit (one program, many syscalls) */
	PK_KPROBE,       /* kernel.function: fentry/fexit or kprobe at run time */
	PK_UPROBE,       /* process(...).function / .statement */
	PK_USDT,         /* process(...).mark */
	PK_PROCESS,      /* process.begin / .end (via sched tracepoints) */
	PK_PROCFS,       /* procfs("name").read / .write */
	PK_NETFILTER,    /* netfilter.hook("H").pf("PF"): a BPF netfilter hook */
} ProbeKind;

/* One resolved probe point, as the translator and runtime see it. */
typedef struct Resolved {
	ProbeKind kind;
	char *pp;              /* canonical pp() text, e.g. kernel.trace("sched:sched_switch") */
	int64_t priority;      /* begin/end/error(N) */
	uint64_t period_ns;    /* timers */
	uint64_t randomize_ns;
	bool jiffies;          /* period given in jiffies/hz (needs CONFIG_HZ) */
	char *tp_system, *tp_event;  /* PK_TRACEPOINT */
	int syscall_nr;        /* PK_SYSCALL: -1 for all */
	bool is_return;        /* .return probes */
	uint32_t perf_type;
	uint64_t perf_config;
	uint64_t sample_period;
	char *function;        /* PK_KPROBE / PK_UPROBE symbol */
	char *path;            /* PK_UPROBE / PK_USDT / PK_PROCESS binary */
	int64_t pid;           /* process(PID) */
	uint64_t offset;
	char *sdt_provider, *mark; /* PK_USDT */
	bool optional;
	void *tp_format;       /* PK_TRACEPOINT: the event's field layout (elab/tracefs.c) */
	const struct Provider *provider; /* pass 2: the provider that resolved it */
	char *module;          /* PK_KPROBE: kernel module, NULL for vmlinux */
	uint64_t sample_freq;  /* PK_PERF: .hz(N), else 0 and sample_period counts */
	int nf_pf, nf_hook;    /* PK_NETFILTER: NFPROTO_* and hook numbers; priority in `priority` */
} Resolved;

/* A probe as compiled: one handler body attached to one or more points. */
typedef struct DerivedProbe {
	Probe *probe;          /* the user's (or tapset's) probe */
	Stmt *body;            /* alias prologues + body + epilogues */
	Resolved **points;
	int npoints;
	Expr *cond;            /* combined if (...) condition, or NULL */
	Context ctx;
	Vec locals;            /* Var* */
	int id;
	SrcLoc loc;
	char *derivation;      /* " <- alias = points <- user points" (for -p2) */
	char *pn;              /* pn(): the alias name the user's point matched, or
				* NULL where pn() is each point's pp() */
} DerivedProbe;

/* A function the runtime provides (pid, execname, printf, strlen, ...). */
typedef struct Builtin {
	const char *name;
	Type ret;
	int min_args, max_args;     /* max -1: variadic */
	Type args[6];               /* TY_UNKNOWN: any */
	unsigned contexts;          /* 1<<CTX_USER | 1<<CTX_KERNEL where available */
	const char *doc;
	bool guru;                  /* a call from the user's script needs -g, as in stap */
	const char *refused;        /* why pass 2 refuses every call (BPF cannot do it), or NULL */
} Builtin;
const Builtin *builtin_lookup(const char *name);

/* The result of pass 2. */
typedef struct Program {
	Vec globals;           /* Var* (used ones) */
	Vec functions;         /* Func* (used ones) */
	Vec probes;            /* DerivedProbe* */
	Vec embedded;          /* top-level %{ %} code (guru mode) */
	Vec embedded_locs;     /* SrcLoc*: where each of those blocks is */
	Vec formats;           /* char*: printf formats, by Expr.fmt_id */
	int nlibrary_files;    /* tapset files pulled in (for -v) */
	/* -v: "Pass 2: analyzed script: N probes, N functions, N embeds, N globals" */
	int nprobe_points;     /* resolved points over all DerivedProbes */
	int nembeds;           /* embedded-C blocks and functions kept */
	/* globals written but never read (printed at exit by the runtime) */
	Vec print_at_end;      /* Var*: those var_printed_at_end() holds for */
} Program;

/* A global the runtime prints at exit, as stap does: written but never
 * read, and the user's (a tapset's own state, tzinfo's zone, is not). */
static inline bool var_printed_at_end(const struct Var *v)
{
	return v->written && !v->read && !(v->loc.file && v->loc.file->is_tapset);
}

/* Run pass 2 on the user scripts.  Returns NULL on error. */
Program *elaborate(struct Session *s, Vec *user_scripts);
void elab_print(FILE *out, struct Session *s, const Program *p); /* -p2 output */
int list_probes(struct Session *s, const char *pattern, bool verbose); /* -l / -L */

/* ----------------------------------------------------------- translate/ */

/* The generated C for one script. */
typedef struct Translation {
	char *bpf_c;   /* kernel-context handlers, or NULL if there are none */
	char *host_c;  /* the module descriptor and user-space handlers */
	bool has_embedded_c; /* guru mode's C is in a unit: its compile errors are the script's */
} Translation;
int translate(struct Session *s, Program *p, Translation *out); /* 0 or -1 */

/* ---------------------------------------------------------------- build.c */

/* A hash of everything that affects the module: stapng's version, every
 * file read, options, limits and the kernel facts used. */
uint64_t build_cache_key(struct Session *s, const Program *p);
/* The cached module for key, or NULL. */
char *build_find_cached(struct Session *s, uint64_t key);
/* Compile the translation into a module; returns its path or NULL. */
char *build_module(struct Session *s, const Translation *t, uint64_t key);
const char *build_cache_dir(struct Session *s);
const char *build_runtime_dir(void); /* runtime/ (stp_module.h, target/) */
int build_clean_cache(struct Session *s);

/* ------------------------------------------------------------ privilege.c */

/* Without --privilege, a user neither root nor in "stapdev" is held to
 * stapusr for a run (pass 5), as stap does. */
void privilege_default(struct Session *s, bool given);
/* Pass 2: refuse what s->privilege does not allow (stap's messages). */
int privilege_check(struct Session *s, const Program *p);

/* ---------------------------------------------------------------- main.c */

/* Limits settable with -D NAME=VALUE (stap's names and defaults). */
typedef struct Limits {
	int64_t maxaction;      /* 1000 statements per probe hit */
	int64_t maxstringlen;   /* 128 */
	int64_t maxmapentries;  /* 2048 */
	int64_t maxnesting;     /* 10 */
	int64_t maxerrors;      /* 0 */
	int64_t maxskipped;     /* 100 */
	int64_t maxtracepersist;
} Limits;

typedef struct Session {
	/* command line */
	int last_pass;            /* -p N (5 by default) */
	int verbose;              /* -v count */
	bool guru;                /* -g */
	bool unoptimized;         /* -u */
	bool suppress_warnings;   /* -w */
	bool warnings_are_errors; /* -W */
	bool keep_tmp;            /* -k */
	bool use_cache;           /* not --disable-cache */
	bool flight_recorder;     /* -F */
	bool listing_mode;        /* -l / -L */
	bool listing_vars;        /* -L */
	char *output_file;        /* -o */
	int64_t size_limit_mb, max_files; /* -S SIZE,N */
	int64_t timeout_s;        /* -T */
	int64_t bufsize_mb;       /* -s */
	char *target_cmd;         /* -c */
	int64_t target_pid;       /* -x, or the -c child's pid */
	char *module_name;        /* -m */
	char *kernel_release;     /* -r (default: uname -r) */
	char *arch;               /* "x86_64" */
	char *kernel_config_path; /* --kernel-config / /boot/config-RELEASE */
	char *btf_path;           /* --btf FILE (default /sys/kernel/btf/vmlinux) */
	char *privilege;          /* "stapdev", "stapsys", "stapusr" */
	Vec include_dirs;         /* -I DIR (char*) */
	Vec tapset_dirs;          /* shipped tapset dir, then -I dirs */
	Vec script_args;          /* arguments after the script (char*) */
	Vec defines;              /* -D NAME[=VALUE] (char*) */
	Vec global_sets;          /* -G name=value (char*) */
	Limits limits;

	/* state */
	Vec files;                /* SrcFile*: every file read, for diagnostics */
	Vec macros;               /* preprocess.c: defined @macros */
	void *kernel_config;      /* preprocess.c: CONFIG_* values, loaded lazily */
	void *kernel_facts;       /* elab/kernel.h: BTF, tracefs, syscalls, loaded lazily */
	int errors;
	int warnings;
	/* diag.c: the messages shown (each is shown once, as stap does) and
	 * the repeats not shown; the file of the last location shown (a
	 * location in the same file is shown without the file's name) */
	Vec diag_shown;           /* char*: "kind: message" */
	int suppressed_errors, suppressed_warnings;
	const SrcFile *diag_last_file;
	bool stop_after_errors;
	const char *prog;         /* "stap" */
} Session;

void session_init(Session *s);
SrcFile *session_add_file(Session *s, const char *name, char *text, size_t len, bool is_tapset);

/* ----------------------------------------------------------------- dump.c */

/* --dump-functions / --dump-probe-aliases: list the tapset library's
 * functions (and the builtins) or probe aliases on stdout; exit status. */
int dump_functions(Session *s);
int dump_probe_aliases(Session *s);
int dump_probe_types(Session *s);

#endif
