/* parse.c - pass 1c: tokens to AST.
 *
 * A recursive-descent parser.  Each function is named after the grammar
 * symbol it reads and starts with that rule; it consumes the tokens of the
 * symbol from Parser.t and returns the node.  Expressions follow stap's
 * precedence ladder, from the loosest (the binary levels by precedence
 * climbing, in binary()):
 *
 *   assignment  = += -= *= /= %= <<= >>= &= |= ^= .= <<<   (right)
 *   ternary     ?:                                        (right)
 *   ||   &&   |   ^   &                                   (left)
 *   in          key in array, [k1, k2] in array           (none)
 *   comparison  < > <= >= == != =~ !~                     (left)
 *   shift       << >> >>>                                 (left)
 *   concat      .                                         (left)
 *   additive    + -          multiplicative  * / %        (left)
 *   unary       - + ! ~ ++ -- &    postfix  ++ --
 *
 * Errors: the first error in a declaration is reported (stap's "parse
 * error: expected X / saw: Y" layout) and the parser jumps back to the
 * top level, skips to the next "probe", "global", "function" or
 * "private", and goes on; so one run reports one error per bad
 * declaration.  Nesting is bounded (MAX_NESTING) so that no input can
 * exhaust the stack.
 *
 * parse_path and parse_text pull tokens from the preprocessor as they
 * reach them, in runs of ready tokens (pp_next_run); a declaration's
 * tokens stay linked until it is parsed
 * (error recovery may step back over them) and then go back to the pool.
 * parse() reads a ready-made token list instead.
 *
 * parse_text_each and parse_path_each (for -p1) also hand each finished
 * declaration to a callback and then drop its nodes, which come from a
 * scratch area reused for the next one (see "node memory"): the tree of
 * a large script is never built whole.
 */
#include "stap.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 200

typedef struct Parser {
	Session *s;
	SrcFile *f;
	Script *sc;
	Token *t;          /* the next token */
	PPStream *src;     /* where tokens come from, or NULL: a whole list */
	Token *unreleased; /* oldest token not yet given back to the pool */
	Token *taken;      /* the token advance() took last */
	int depth;         /* nesting of statements and expressions */
	bool in_function;  /* "return" is allowed */
	bool privileged;   /* guru mode or a tapset: embedded C allowed */
	int errors_before; /* Session.errors when this file's lexing began */
	ParseEachFn each;  /* streaming: called with each declaration, or NULL */
	void *each_arg;
	jmp_buf recover;
} Parser;

static Expr *expr(Parser *p);
static Stmt *statement(Parser *p);

/* ---------------------------------------------------------- node memory */

/* Nodes come from the process-wide arena, where the tree lives until the
 * end; except while a streaming parse (parse_*_each) runs: then each
 * declaration's nodes are dropped once the callback has seen them, so
 * they come from a scratch area rewound after every declaration, which
 * stays small and in the cache.  (The arena itself cannot be rewound:
 * the lexer and preprocessor allocate from it in between, and keep what
 * they allocate.)  Token text the nodes point to is the lexer's, in the
 * arena, either way. */
#define SCRATCH_CHUNK (256 * 1024)

typedef struct ScratchChunk {
	struct ScratchChunk *next;
	size_t used, size;
	max_align_t data[];
} ScratchChunk;

typedef struct Scratch {
	ScratchChunk *first, *cur;
} Scratch;

static Scratch *scratch; /* set while a streaming parse runs */

/* The memory handed out is already zero: chunks come zeroed from calloc,
 * and a rewind clears what was used, in one memset per chunk (far cheaper
 * than clearing each node as it is made: a memset of a node's size costs
 * a "rep stos" start-up each time). */
static ScratchChunk *scratch_chunk(size_t need)
{
	size_t size = need > SCRATCH_CHUNK ? need : SCRATCH_CHUNK;
	ScratchChunk *c = xcalloc(1, sizeof *c + size);
	c->size = size;
	return c;
}

static __attribute__((noinline)) void *scratch_alloc_next(Scratch *sc, size_t n)
{
	ScratchChunk *c = sc->cur;
	while (c->size - c->used < n) {
		/* chunks after cur are empty (kept from an earlier rewind) */
		if (!c->next || c->next->size < n) {
			ScratchChunk *fresh = scratch_chunk(n);
			fresh->next = c->next;
			c->next = fresh;
		}
		c = sc->cur = c->next;
	}
	char *mem = (char *)c->data + c->used;
	c->used += n;
	return mem;
}

static inline void *scratch_alloc(Scratch *sc, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	ScratchChunk *c = sc->cur;
	if (c->size - c->used < n)
		return scratch_alloc_next(sc, n);
	char *mem = (char *)c->data + c->used;
	c->used += n;
	return mem;
}

/* One call of glibc's memset, whose vector loop clears 2 KB in ~80
 * instructions.  Kept out of the compiler's sight (noipa): where it sees
 * that n is at most 2 KB, it inlines the memset as a "rep stos", one
 * instruction per 8 bytes as callgrind counts them. */
#if defined(__has_attribute) && __has_attribute(noipa)
#define OUT_OF_SIGHT __attribute__((noipa))
#else
#define OUT_OF_SIGHT __attribute__((noinline)) /* clang: no value ranges across calls */
#endif
static OUT_OF_SIGHT void clear_block(void *p, size_t n)
{
	memset(p, 0, n);
}

/* Clear the n bytes at p, in memsets of at most 2 KB: above that glibc
 * switches to "rep stosb", no faster on memory in the cache, and counted
 * byte by byte by callgrind (bench/parse.sh figures are its counts). */
static void clear_used(void *p, size_t n)
{
	for (size_t off = 0; off < n; off += 2048)
		clear_block((char *)p + off, n - off < 2048 ? n - off : 2048);
}

static void scratch_rewind(Scratch *sc)
{
	for (ScratchChunk *c = sc->first; c && c != sc->cur->next; c = c->next) {
		clear_used(c->data, c->used);
		c->used = 0;
	}
	sc->cur = sc->first;
}

static void scratch_free(Scratch *sc)
{
	for (ScratchChunk *c = sc->first; c;) {
		ScratchChunk *next = c->next;
		free(c);
		c = next;
	}
	sc->first = sc->cur = NULL;
}

/* Zeroed memory for a node. */
static inline void *ast_alloc(size_t n)
{
	return scratch ? scratch_alloc(scratch, n) : arena_alloc(n);
}

static char *ast_strndup(const char *s, size_t n)
{
	char *p = ast_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ------------------------------------------------------------ utilities */

/* The token after t.  Tokens are pulled from the preprocessor as the
 * parser reaches them and stay linked until the declaration is done, so
 * that error recovery may step back to one. */
static Token *next_of(Parser *p, Token *t)
{
	if (!t->next && t->kind != TK_EOF)
		t->next = pp_next_run(p->src);
	return t->next;
}

static Token *advance(Parser *p)
{
	Token *t = p->t;
	if (t->kind != TK_EOF)
		p->t = next_of(p, t);
	p->taken = t;
	return t;
}

/* The token after the next one (one token of lookahead). */
static Token *peek(Parser *p)
{
	return next_of(p, p->t);
}

/* tok_is, inlined: the parser asks it of every token many times over,
 * and the first byte nearly always settles it. */
static inline bool at(Parser *p, const char *text)
{
	const Token *t = p->t;
	const char *s = t->text;
	if (s[0] != text[0] || !(t->kind == TK_IDENT || t->kind == TK_OP || t->kind == TK_PP))
		return false;
	for (size_t i = 1; text[i - 1]; i++)
		if (s[i] != text[i])
			return false;
	return true;
}

/* Token t spells the string literal lit: its length first, then a memcmp
 * of known size (a load or two), no strcmp call. */
#define SPELLS(t, lit) ((t)->len == sizeof(lit) - 1 && memcmp((t)->text, lit, sizeof(lit) - 1) == 0)

static inline bool accept(Parser *p, const char *text)
{
	if (!at(p, text))
		return false;
	advance(p);
	return true;
}

static _Noreturn void fail(Parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report an error at the next token and abandon the declaration. */
static _Noreturn void fail(Parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* at the end of input after an earlier error, the real problem has
	 * been reported already (an unterminated string, say) */
	if (p->t->kind != TK_EOF || p->s->errors == p->errors_before)
		p1_error_saw(p->s, p->t, "%s", msg ? msg : fmt);
	free(msg);
	longjmp(p->recover, 1);
}

static _Noreturn __attribute__((noinline)) void fail_expected(Parser *p, const char *text)
{
	fail(p, "expected '%s'", text);
}

/* Inline, so that the test of a constant text is a compare or two. */
static inline Token *expect(Parser *p, const char *text)
{
	if (__builtin_expect(!at(p, text), 0))
		fail_expected(p, text);
	return advance(p);
}

static bool is_ident(const Token *t)
{
	return t->kind == TK_IDENT && !t->is_keyword;
}

static Token *expect_ident(Parser *p)
{
	if (!is_ident(p->t))
		fail(p, "expected identifier");
	return advance(p);
}

static void enter(Parser *p)
{
	if (++p->depth > MAX_NESTING)
		fail(p, "nesting too deep (more than %d levels)", MAX_NESTING);
}

static void leave(Parser *p)
{
	p->depth--;
}

static Expr *new_expr(ExprKind kind, const Token *t)
{
	Expr *e = ast_alloc(sizeof *e);
	e->kind = kind;
	e->loc = t->loc;
	return e;
}

static Stmt *new_stmt(StmtKind kind, const Token *t)
{
	Stmt *st = ast_alloc(sizeof *st);
	st->kind = kind;
	st->loc = t->loc;
	return st;
}

/* Nodes collected for a list (arguments, statements of a block): the
 * first few in place, so that most lists cost no malloc. */
typedef struct List {
	void *local[8];
	void **items;
	int len, cap;
} List;

static void list_push(List *l, void *item)
{
	if (l->len == l->cap) {
		if (!l->items) {
			l->items = l->local;
			l->cap = 8;
		} else {
			void **more = xmalloc(sizeof(void *) * (size_t)l->cap * 2);
			memcpy(more, l->items, sizeof(void *) * (size_t)l->len);
			if (l->items != l->local)
				free(l->items);
			l->items = more;
			l->cap *= 2;
		}
	}
	l->items[l->len++] = item;
}

/* The items as an arena array (NULL-terminated); the list is emptied. */
static void **list_to_array(List *l)
{
	void **a = ast_alloc(sizeof(void *) * (size_t)(l->len + 1));
	if (l->len)
		memcpy(a, l->items, sizeof(void *) * (size_t)l->len);
	if (l->items != l->local)
		free(l->items);
	l->items = NULL;
	l->len = l->cap = 0;
	return a;
}

/* Move a temporary vector's items into an arena array. */
static void **vec_to_array(Vec *v)
{
	void **a = ast_alloc(sizeof(void *) * (size_t)(v->len + 1));
	if (v->len)
		memcpy(a, v->data, sizeof(void *) * (size_t)v->len);
	free(v->data);
	*v = (Vec){0};
	return a;
}

static Expr *unary_expr(const Token *t, const char *op, Expr *operand)
{
	Expr *e = new_expr(E_UNARY, t);
	e->op = op;
	e->args = ast_alloc(sizeof(Expr *));
	e->args[0] = operand;
	e->nargs = 1;
	return e;
}

static Expr *binary_expr(ExprKind kind, const Token *t, Expr *l, Expr *r)
{
	Expr *e = new_expr(kind, t);
	e->op = t->text;
	e->loc = l->loc;
	e->args = ast_alloc(sizeof(Expr *) * 2);
	e->args[0] = l;
	e->args[1] = r;
	e->nargs = 2;
	return e;
}

/* Embedded C is for guru mode and the tapset library only. */
static void check_embedded_allowed(Parser *p, const Token *t, bool as_expr)
{
	if (p->privileged)
		return;
	p1_error_saw(p->s, t, "embedded %scode in unprivileged script; need stap -g",
		     as_expr ? "expression " : "");
}

/* ---------------------------------------------------------- expressions */

/* string -> STRING { STRING }   (adjacent literals are glued, as in C) */
static Expr *string_literal(Parser *p)
{
	Token *t = advance(p);
	Expr *e = new_expr(E_STR, t);
	if (p->t->kind != TK_STRING) {
		e->str = t->text;
		e->len = t->len;
		return e;
	}
	StrBuf b = {0};
	sb_putn(&b, t->text, t->len);
	while (p->t->kind == TK_STRING) {
		Token *more = advance(p);
		sb_putn(&b, more->text, more->len);
	}
	e->len = b.len;
	e->str = ast_strndup(b.s, b.len);
	free(b.s);
	return e;
}

static Expr *number_literal(Parser *p)
{
	Token *t = advance(p);
	Expr *e = new_expr(E_NUM, t);
	e->num = t->num;
	return e;
}

/* args -> '(' [ expr { ',' expr } ] ')' */
static Expr **call_args(Parser *p, int *n, bool allow_hist);

/* components -> { '->' IDENT | '[' expr ']' } [ '$' | '$$' ] */
static void target_components(Parser *p, Expr *e)
{
	/* most targets have no components: no list until the first */
	List comps = {0};
	for (;;) {
		Token *t = p->t;
		Component *c;
		if (accept(p, "->")) {
			if (p->t->kind != TK_IDENT)
				fail(p, "expected field name");
			c = ast_alloc(sizeof *c);
			c->kind = COMP_MEMBER;
			c->name = advance(p)->text;
		} else if (accept(p, "[")) {
			c = ast_alloc(sizeof *c);
			if (p->t->kind == TK_NUMBER && tok_is(peek(p), "]")) {
				c->kind = COMP_INDEX;
				c->index = advance(p)->num;
			} else {
				c->kind = COMP_INDEX_EXPR;
				c->expr = expr(p);
			}
			expect(p, "]");
		} else {
			break;
		}
		c->loc = t->loc;
		list_push(&comps, c);
	}
	if (comps.len) {
		e->comps = ast_alloc(sizeof(Component) * (size_t)comps.len);
		for (int i = 0; i < comps.len; i++)
			e->comps[i] = *(Component *)comps.items[i];
		e->ncomps = comps.len;
	}
	if (comps.items != comps.local)
		free(comps.items);
	Token *t = p->t;
	if (t->kind == TK_DOLLAR && !t->space_before &&
	    (SPELLS(t, "$") || SPELLS(t, "$$"))) {
		e->suffix = (int)t->len;
		advance(p);
	}
}

/* target -> DOLLAR components */
static Expr *target(Parser *p)
{
	Token *t = advance(p);
	Expr *e = new_expr(E_TARGET, t);
	e->name = t->text;
	if (SPELLS(t, "$") || SPELLS(t, "$$")) {
		p->t = t;
		fail(p, "expected target variable name after '%s'", t->text);
	}
	target_components(p, e);
	return e;
}

static Expr **one_arg(Parser *p, Expr *a)
{
	(void)p;
	Expr **args = ast_alloc(sizeof(Expr *));
	args[0] = a;
	return args;
}

static const char *const stat_ops[] = { "count", "sum", "min", "max", "avg", "variance", NULL };

static bool is_stat_op(const char *name)
{
	for (int i = 0; stat_ops[i]; i++)
		if (strcmp(name, stat_ops[i]) == 0)
			return true;
	return false;
}

static char *string_arg(Parser *p, const char *what)
{
	if (p->t->kind != TK_STRING)
		fail(p, "expected literal string for %s", what);
	return string_literal(p)->str;
}

/* cast -> '@cast' '(' expr ',' STRING [ ',' STRING ] ')' components */
static Expr *at_cast(Parser *p, Token *t)
{
	Expr *e = new_expr(E_CAST, t);
	e->op = "cast";
	expect(p, "(");
	e->args = one_arg(p, expr(p));
	e->nargs = 1;
	expect(p, ",");
	e->str = string_arg(p, "@cast type");
	if (accept(p, ","))
		e->module = string_arg(p, "@cast module");
	expect(p, ")");
	target_components(p, e);
	return e;
}

/* var -> '@var' '(' STRING [ ',' STRING ] ')' components */
static Expr *at_var(Parser *p, Token *t)
{
	Expr *e = new_expr(E_VAR_AT, t);
	e->op = "var";
	expect(p, "(");
	e->str = string_arg(p, "@var name");
	if (accept(p, ","))
		e->module = string_arg(p, "@var module");
	expect(p, ")");
	target_components(p, e);
	return e;
}

/* hist -> '@hist_log' '(' expr ')' | '@hist_linear' '(' expr ',' expr ',' expr ',' expr ')'
 *         [ '[' expr ']' ]    (a bucket: kept as one COMP_INDEX_EXPR component) */
static Expr *at_hist(Parser *p, Token *t)
{
	Expr *e = new_expr(E_HIST, t);
	e->op = t->text + 1;
	e->args = call_args(p, &e->nargs, false);
	int want = strcmp(e->op, "hist_log") == 0 ? 1 : 4;
	if (e->nargs != want) {
		p->t = t;
		fail(p, "@%s takes %d argument%s", e->op, want, want == 1 ? "" : "s");
	}
	if (at(p, "[")) {
		Token *b = advance(p);
		e->comps = ast_alloc(sizeof(Component));
		e->comps[0] = (Component){ .kind = COMP_INDEX_EXPR, .expr = expr(p), .loc = b->loc };
		e->ncomps = 1;
		expect(p, "]");
	}
	return e;
}

/* at_op -> '@cast' ... | '@var' ... | '@entry' '(' expr ')' | '@defined' '(' expr ')'
 *        | '@count' ... '@variance' '(' expr [ ',' expr ] ')' | hist */
static Expr *at_operator(Parser *p, bool allow_hist)
{
	Token *t = p->t;
	const char *name = t->text + 1;
	if (SPELLS(t, "@cast"))
		return advance(p), at_cast(p, t);
	if (SPELLS(t, "@var"))
		return advance(p), at_var(p, t);
	if (SPELLS(t, "@hist_log") || SPELLS(t, "@hist_linear")) {
		advance(p);
		Expr *e = at_hist(p, t);
		/* a whole histogram can only be printed; a bucket is a number */
		if (!allow_hist && e->ncomps == 0)
			p1_error_at(p->s, t, t->loc, NULL, "base histogram operator where expression expected");
		return e;
	}
	ExprKind kind;
	if (SPELLS(t, "@entry"))
		kind = E_ENTRY;
	else if (SPELLS(t, "@defined"))
		kind = E_DEFINED;
	else if (is_stat_op(name))
		kind = E_STAT;
	else
		fail(p, "unknown operator %s", t->text);
	advance(p);
	Expr *e = new_expr(kind, t);
	e->op = name;
	e->args = call_args(p, &e->nargs, false);
	int max = SPELLS(t, "@variance") ? 2 : 1;
	if (e->nargs < 1 || e->nargs > max) {
		p->t = t;
		fail(p, "@%s takes %s argument", name, max == 1 ? "one" : "one or two");
	}
	if (kind == E_STAT && e->args[0]->kind == E_SYM)
		e->args[0]->is_array_ref = true;
	return e;
}

/* symbol -> IDENT [ '(' args ')' | '[' expr { ',' expr } ']' ] */
static Expr *symbol(Parser *p)
{
	Token *t = advance(p);
	if (at(p, "(")) {
		Expr *e = new_expr(E_CALL, t);
		e->name = t->text;
		bool printing = SPELLS(t, "print") || SPELLS(t, "println");
		e->args = call_args(p, &e->nargs, printing);
		return e;
	}
	if (accept(p, "[")) {
		Expr *e = new_expr(E_INDEX, t);
		e->name = t->text;
		List idx = {0};
		do
			list_push(&idx, expr(p));
		while (accept(p, ","));
		expect(p, "]");
		e->nargs = idx.len;
		e->args = (Expr **)list_to_array(&idx);
		return e;
	}
	Expr *e = new_expr(E_SYM, t);
	e->name = t->text;
	return e;
}

/* primary -> NUMBER | string | '(' expr ')' | symbol | target | at_op | EMBEDDED
 * (Inlined, as postfix is: every operand passes through both, and a call
 * frame less for each is a few percent of a -p1 run.) */
static inline __attribute__((always_inline)) Expr *primary(Parser *p, bool allow_hist)
{
	Token *t = p->t;
	switch (t->kind) {
	case TK_NUMBER:
		return number_literal(p);
	case TK_STRING:
		return string_literal(p);
	case TK_DOLLAR:
		return target(p);
	case TK_AT:
		return at_operator(p, allow_hist);
	case TK_EMBEDDED: {
		check_embedded_allowed(p, t, true);
		advance(p);
		Expr *e = new_expr(E_EMBEDDED, t);
		e->str = t->text;
		return e;
	}
	case TK_IDENT:
		if (is_ident(t))
			return symbol(p);
		break;
	case TK_OP:
		if (accept(p, "(")) {
			Expr *e = expr(p);
			expect(p, ")");
			return e;
		}
		break;
	default:
		break;
	}
	fail(p, "expected literal string or number");
}

static Expr **call_args(Parser *p, int *n, bool allow_hist)
{
	expect(p, "(");
	List args = {0};
	if (!at(p, ")")) {
		do {
			if (allow_hist && p->t->kind == TK_AT &&
			    (SPELLS(p->t, "@hist_log") || SPELLS(p->t, "@hist_linear")) &&
			    args.len == 0)
				list_push(&args, primary(p, true));
			else
				list_push(&args, expr(p));
		} while (accept(p, ","));
	}
	expect(p, ")");
	*n = args.len;
	return (Expr **)list_to_array(&args);
}

/* postfix -> primary [ '++' | '--' ] */
static inline __attribute__((always_inline)) Expr *postfix(Parser *p)
{
	Expr *e = primary(p, false);
	if (at(p, "++") || at(p, "--")) {
		Token *t = advance(p);
		Expr *inc = new_expr(E_INCDEC, t);
		inc->op = t->text;
		inc->postfix = true;
		inc->args = one_arg(p, e);
		inc->nargs = 1;
		inc->loc = e->loc;
		return inc;
	}
	return e;
}

/* unary -> ( '-' | '+' | '!' | '~' | '&' ) unary | ( '++' | '--' ) unary | postfix
 * A minus before a number literal is folded into the literal. */
static Expr *unary(Parser *p)
{
	Token *t = p->t;
	if (t->kind != TK_OP)
		return postfix(p);
	const char *op = t->text;
	bool one = !op[1];
	bool prefix = one && (op[0] == '-' || op[0] == '+' || op[0] == '!' || op[0] == '~' || op[0] == '&');
	bool crement = (op[0] == '+' || op[0] == '-') && op[1] == op[0] && !op[2];
	if (!prefix && !crement)
		return postfix(p);
	advance(p);
	if (op[0] == '-' && !op[1] && p->t->kind == TK_NUMBER) {
		Expr *e = number_literal(p);
		e->num = (int64_t)(0 - (uint64_t)e->num);
		e->loc = t->loc;
		return e;
	}
	enter(p);
	Expr *operand = unary(p);
	leave(p);
	/* &$var->member, &@cast(...)->member, &@var(...): an address (pass 2
	 * refuses '&' before anything else) */
	if (op[0] == '&' && (operand->kind == E_TARGET || operand->kind == E_CAST || operand->kind == E_VAR_AT))
		operand->addressof = true;
	if (crement) {
		Expr *e = new_expr(E_INCDEC, t);
		e->op = op;
		e->args = one_arg(p, operand);
		e->nargs = 1;
		return e;
	}
	return unary_expr(t, op, operand);
}

/* The binary levels, loosest first, as in the ladder at the top. */
enum {
	L_NONE, L_OR, L_AND, L_BITOR, L_XOR, L_BITAND, L_IN, L_COMPARE, L_SHIFT, L_CONCAT, L_ADD,
	L_MUL,
};

/* The level of the token as a binary operator, L_NONE if it is none:
 * one switch instead of comparing the token with each level's operators. */
static int binary_level(const Token *t)
{
	const char *s = t->text;
	if (t->kind != TK_OP)
		return t->kind == TK_IDENT && s[0] == 'i' && s[1] == 'n' && !s[2] ? L_IN : L_NONE;
	switch (s[0]) {
	case '*': case '/': case '%':
		return s[1] ? L_NONE : L_MUL;
	case '+': case '-':
		return s[1] ? L_NONE : L_ADD;
	case '.':
		return s[1] ? L_NONE : L_CONCAT;
	case '<':
		if (!s[1] || (s[1] == '=' && !s[2]))
			return L_COMPARE;
		return s[1] == '<' && !s[2] ? L_SHIFT : L_NONE;
	case '>':
		if (!s[1] || (s[1] == '=' && !s[2]))
			return L_COMPARE;
		return s[1] == '>' && (!s[2] || (s[2] == '>' && !s[3])) ? L_SHIFT : L_NONE;
	case '=': case '!': /* == != =~ !~ */
		return (s[1] == '=' || s[1] == '~') && !s[2] ? L_COMPARE : L_NONE;
	case '&':
		return !s[1] ? L_BITAND : s[1] == '&' && !s[2] ? L_AND : L_NONE;
	case '|':
		return !s[1] ? L_BITOR : s[1] == '|' && !s[2] ? L_OR : L_NONE;
	case '^':
		return s[1] ? L_NONE : L_XOR;
	default:
		return L_NONE;
	}
}

static Expr *in_expr(const Token *t, Expr **keys, int nkeys, Token *array)
{
	Expr *e = new_expr(E_IN, t);
	e->op = "in";
	e->args = keys;
	e->nargs = nkeys;
	e->name = array->text;
	return e;
}

/* keys_in -> '[' expr { ',' expr } ']' 'in' IDENT */
static Expr *keys_in(Parser *p)
{
	Token *t = advance(p);
	List keys = {0};
	do
		list_push(&keys, expr(p));
	while (accept(p, ","));
	expect(p, "]");
	if (!at(p, "in"))
		fail(p, "expected 'in'");
	advance(p);
	int n = keys.len;
	return in_expr(t, (Expr **)list_to_array(&keys), n, expect_ident(p));
}

/* binary(min) -> operand { OP binary(level(OP) + 1) }   for OP of level >= min
 *              | operand 'in' IDENT                       (level in)
 *              | operand ( '=~' | '!~' ) STRING           (level comparison)
 * operand      -> keys_in   (where min <= level in)  | unary
 *
 * All the left-associative levels from || down to * / %, by precedence
 * climbing: an operator's right operand takes only tighter operators.
 * 'in' takes a comparison on its left and cannot be chained, so after it
 * (or after keys_in) only the looser bitwise and logical operators go on;
 * after =~ no operator tighter than a comparison does. */
static Expr *binary(Parser *p, int min)
{
	Expr *e;
	int max = L_MUL; /* the tightest operator that may still combine e */
	if (min <= L_IN && at(p, "[")) {
		e = keys_in(p);
		max = L_BITAND;
	} else {
		e = unary(p);
	}
	for (;;) {
		Token *t = p->t;
		int level = binary_level(t);
		if (level == L_NONE || level < min || level > max)
			return e;
		advance(p);
		if (level == L_IN) {
			Expr *in = in_expr(t, one_arg(p, e), 1, expect_ident(p));
			in->loc = e->loc;
			e = in;
			max = L_BITAND;
		} else if (t->text[1] == '~') {
			if (p->t->kind != TK_STRING)
				fail(p, "expected literal string");
			e = binary_expr(E_COMPARE, t, e, string_literal(p));
			max = L_COMPARE;
		} else {
			ExprKind kind = level == L_COMPARE ? E_COMPARE : E_BINARY;
			e = binary_expr(kind, t, e, binary(p, level + 1));
			max = level;
		}
	}
}


/* ternary -> binary(||) [ '?' expr ':' ternary ] */
static Expr *ternary(Parser *p)
{
	Expr *cond = binary(p, L_OR);
	if (!at(p, "?"))
		return cond;
	Token *t = advance(p);
	enter(p);
	Expr *e = new_expr(E_TERNARY, t);
	e->op = "?:";
	e->loc = cond->loc;
	e->args = ast_alloc(sizeof(Expr *) * 3);
	e->args[0] = cond;
	e->args[1] = expr(p);
	expect(p, ":");
	e->args[2] = ternary(p);
	e->nargs = 3;
	leave(p);
	return e;
}

static bool is_assign_op(const Token *t)
{
	/* = += -= *= /= %= <<= >>= &= |= ^= .= <<< */
	if (t->kind != TK_OP)
		return false;
	const char *s = t->text;
	switch (s[0]) {
	case '=':
		return !s[1];
	case '+': case '-': case '*': case '/': case '%': case '&': case '|': case '^': case '.':
		return s[1] == '=' && !s[2];
	case '<':
		return s[1] == '<' && (s[2] == '=' || s[2] == '<') && !s[3];
	case '>':
		return s[1] == '>' && s[2] == '=' && !s[3];
	default:
		return false;
	}
}

/* expr -> ternary [ assign_op expr ] */
static Expr *expr(Parser *p)
{
	enter(p);
	Expr *lhs = ternary(p);
	if (is_assign_op(p->t)) {
		Token *t = advance(p);
		ExprKind kind = SPELLS(t, "<<<") ? E_STATS_ADD : E_ASSIGN;
		lhs = binary_expr(kind, t, lhs, expr(p));
		/* an assignment is where its operator is, as in stap's
		 * messages ("Eliding assignment to 'x': operator '=' at") */
		lhs->loc = t->loc;
	}
	leave(p);
	return lhs;
}

/* ----------------------------------------------------------- statements */

/* block -> '{' { statement } '}' */
static Stmt *block(Parser *p)
{
	Token *t = expect(p, "{");
	Stmt *st = new_stmt(S_BLOCK, t);
	List body = {0};
	enter(p);
	while (!at(p, "}")) {
		if (p->t->kind == TK_EOF)
			fail(p, "expected statement");
		list_push(&body, statement(p));
	}
	advance(p);
	leave(p);
	st->nbody = body.len;
	st->body = (Stmt **)list_to_array(&body);
	return st;
}

/* A simple statement may be followed by one ';'. */
static void end_simple(Parser *p)
{
	accept(p, ";");
}

/* if_stmt -> 'if' '(' expr ')' statement [ 'else' statement ] */
static Stmt *if_stmt(Parser *p, Token *t)
{
	Stmt *st = new_stmt(S_IF, t);
	expect(p, "(");
	st->expr = expr(p);
	expect(p, ")");
	st->then = statement(p);
	if (accept(p, "else"))
		st->els = statement(p);
	return st;
}

/* for_stmt -> 'for' '(' [ expr ] ';' [ expr ] ';' [ expr ] ')' statement */
static Stmt *for_stmt(Parser *p, Token *t)
{
	Stmt *st = new_stmt(S_FOR, t);
	expect(p, "(");
	if (!at(p, ";")) {
		Token *it = p->t;
		st->init = new_stmt(S_EXPR, it);
		st->init->expr = expr(p);
	}
	expect(p, ";");
	if (!at(p, ";"))
		st->expr = expr(p);
	expect(p, ";");
	if (!at(p, ")"))
		st->incr = expr(p);
	expect(p, ")");
	st->then = statement(p);
	return st;
}

/* while_stmt -> 'while' '(' expr ')' statement   (an S_FOR without init/incr) */
static Stmt *while_stmt(Parser *p, Token *t)
{
	Stmt *st = new_stmt(S_FOR, t);
	expect(p, "(");
	st->expr = expr(p);
	expect(p, ")");
	st->then = statement(p);
	return st;
}

/* do_stmt -> 'do' statement 'while' '(' expr ')' */
static Stmt *do_stmt(Parser *p, Token *t)
{
	Stmt *st = new_stmt(S_DO, t);
	st->then = statement(p);
	expect(p, "while");
	expect(p, "(");
	st->expr = expr(p);
	expect(p, ")");
	end_simple(p);
	return st;
}

/* sort -> [ '+' | '-' ] : records the direction of sort number `which` */
static void foreach_sort(Parser *p, ForeachInfo *fe, int which)
{
	if (!at(p, "+") && !at(p, "-"))
		return;
	if (fe->sort_dir)
		fail(p, "multiple sort directives");
	fe->sort_dir = advance(p)->text[0] == '+' ? 1 : -1;
	fe->sort_key = which;
}

static void foreach_key(Parser *p, ForeachInfo *fe)
{
	if (fe->nkeys == MAX_INDEXES)
		fail(p, "too many foreach keys (at most %d)", MAX_INDEXES);
	Token *k = expect_ident(p);
	fe->keys[fe->nkeys] = k->text;
	fe->key_locs[fe->nkeys] = k->loc;
	fe->nkeys++;
	foreach_sort(p, fe, fe->nkeys);
}

/* foreach_stmt -> 'foreach' '(' [ IDENT '=' ] keys 'in' IDENT sort [ 'limit' expr ] ')' statement
 * keys -> IDENT sort | '[' IDENT sort { ',' IDENT sort } ']' */
static Stmt *foreach_stmt(Parser *p, Token *t)
{
	Stmt *st = new_stmt(S_FOREACH, t);
	ForeachInfo *fe = st->fe = ast_alloc(sizeof *fe);
	expect(p, "(");
	if (is_ident(p->t) && tok_is(peek(p), "=")) {
		Token *v = advance(p);
		fe->value = v->text;
		fe->value_loc = v->loc;
		advance(p);
	}
	if (accept(p, "[")) {
		fe->bracketed = true;
		do
			foreach_key(p, fe);
		while (accept(p, ","));
		expect(p, "]");
	} else {
		foreach_key(p, fe);
	}
	if (!at(p, "in"))
		fail(p, "expected 'in'");
	advance(p);
	if (!is_ident(p->t))
		fail(p, "expected identifier or statistical operation");
	Token *a = advance(p);
	fe->array = a->text;
	fe->array_loc = a->loc;
	fe->array_expr = new_expr(E_SYM, a);
	fe->array_expr->name = a->text;
	fe->array_expr->is_array_ref = true;
	foreach_sort(p, fe, 0);
	if (accept(p, "limit"))
		fe->limit = expr(p);
	expect(p, ")");
	st->then = statement(p);
	return st;
}

/* try_stmt -> 'try' block 'catch' [ '(' IDENT ')' ] block */
static Stmt *try_stmt(Parser *p, Token *t)
{
	Stmt *st = new_stmt(S_TRY, t);
	st->then = block(p);
	expect(p, "catch");
	if (accept(p, "(")) {
		Token *v = expect_ident(p);
		st->catch_var = v->text;
		st->catch_loc = v->loc;
		expect(p, ")");
	}
	st->els = block(p);
	return st;
}

/* return_stmt -> 'return' [ expr ] */
static Stmt *return_stmt(Parser *p, Token *t)
{
	if (!p->in_function) {
		p->t = t;
		fail(p, "found 'return' not in function context");
	}
	Stmt *st = new_stmt(S_RETURN, t);
	if (!at(p, ";") && !at(p, "}") && p->t->kind != TK_EOF)
		st->expr = expr(p);
	end_simple(p);
	return st;
}

static Stmt *keyword_stmt(Parser *p, Token *t, StmtKind kind)
{
	Stmt *st = new_stmt(kind, t);
	end_simple(p);
	return st;
}

/* statement -> ';' | block | if_stmt | for_stmt | while_stmt | do_stmt
 *            | foreach_stmt | try_stmt | return_stmt | 'break' | 'continue'
 *            | 'next' | 'delete' expr | EMBEDDED | expr     (then an optional ';') */
static Stmt *statement(Parser *p)
{
	Token *t = p->t;
	Stmt *st;
	enter(p);
	if (t->kind == TK_EOF) {
		fail(p, "expected statement");
	} else if (at(p, "{")) {
		st = block(p);
	} else if (accept(p, ";")) {
		st = new_stmt(S_NULL, t);
	} else if (t->kind == TK_EMBEDDED) {
		check_embedded_allowed(p, t, false);
		advance(p);
		st = new_stmt(S_EMBEDDED, t);
		st->code = t->text;
		end_simple(p);
	} else if (t->kind == TK_IDENT && t->is_keyword) {
		advance(p);
		switch (t->keyword) {
		case KW_IF:
			st = if_stmt(p, t);
			break;
		case KW_FOR:
			st = for_stmt(p, t);
			break;
		case KW_WHILE:
			st = while_stmt(p, t);
			break;
		case KW_DO:
			st = do_stmt(p, t);
			break;
		case KW_FOREACH:
			st = foreach_stmt(p, t);
			break;
		case KW_TRY:
			st = try_stmt(p, t);
			break;
		case KW_RETURN:
			st = return_stmt(p, t);
			break;
		case KW_BREAK:
			st = keyword_stmt(p, t, S_BREAK);
			break;
		case KW_CONTINUE:
			st = keyword_stmt(p, t, S_CONTINUE);
			break;
		case KW_NEXT:
			st = keyword_stmt(p, t, S_NEXT);
			break;
		case KW_DELETE:
			st = new_stmt(S_DELETE, t);
			st->expr = expr(p);
			if (st->expr->kind == E_SYM)
				st->expr->is_array_ref = true;
			end_simple(p);
			break;
		default:
			p->t = t;
			fail(p, "expected statement");
		}
	} else {
		st = new_stmt(S_EXPR, t);
		st->expr = expr(p);
		end_simple(p);
	}
	leave(p);
	return st;
}

/* --------------------------------------------------------- declarations */

/* literal -> [ '-' ] NUMBER | STRING { STRING } */
static Expr *literal(Parser *p, const char *what)
{
	Token *t = p->t;
	if (t->kind == TK_STRING)
		return string_literal(p);
	if (t->kind == TK_NUMBER)
		return number_literal(p);
	if (tok_is(t, "-") && peek(p)->kind == TK_NUMBER) {
		advance(p);
		Expr *e = number_literal(p);
		e->num = (int64_t)(0 - (uint64_t)e->num);
		e->loc = t->loc;
		return e;
	}
	fail(p, "%s", what);
}

/* global_item -> IDENT [ '%' ] [ '[' NUMBER ']' ] [ '%' ] [ '=' literal ] */
static void global_item(Parser *p, bool is_private)
{
	Token *t = expect_ident(p);
	Global *g = ast_alloc(sizeof *g);
	g->name = t->text;
	g->loc = t->loc;
	g->file = p->f;
	g->is_private = is_private;
	if (accept(p, "%"))
		g->wrap = true;
	if (accept(p, "[")) {
		if (p->t->kind != TK_NUMBER)
			fail(p, "expected number");
		g->size = advance(p)->num;
		g->is_array_decl = true;
		expect(p, "]");
		if (accept(p, "%"))
			g->wrap = true;
	}
	if (accept(p, "=")) {
		if (g->is_array_decl || g->wrap)
			fail(p, "array initialisation is not supported");
		g->init = literal(p, "expected literal string or number");
	}
	vec_push(&p->sc->globals, g);
}

/* globals -> 'global' global_item { ',' global_item } */
static void globals(Parser *p, bool is_private)
{
	do
		global_item(p, is_private);
	while (accept(p, ","));
	accept(p, ";");
}

/* A component name: identifiers, numbers and '*' written without spaces
 * in between ("sys_*", "**", "foo*bar").  Keywords are allowed
 * ("function", "return"). */
static char *component_name(Parser *p)
{
	Token *t = p->t;
	bool ok = t->kind == TK_IDENT || t->kind == TK_NUMBER || tok_is(t, "*");
	if (!ok)
		fail(p, "expected identifier or '*'");
	Token *first = advance(p);
	bool glued = (p->t->kind == TK_IDENT || p->t->kind == TK_NUMBER || tok_is(p->t, "*")) &&
		     !p->t->space_before;
	/* most names are one token, whose text (interned or static) outlives
	 * the tree */
	if (!glued)
		return first->text;
	StrBuf b = {0};
	sb_puts(&b, first->text);
	while ((p->t->kind == TK_IDENT || p->t->kind == TK_NUMBER || tok_is(p->t, "*")) &&
	       !p->t->space_before)
		sb_puts(&b, advance(p)->text);
	char *name = ast_strndup(b.s, b.len);
	free(b.s);
	return name;
}

/* point -> component { '.' component } { '?' | '!' } [ 'if' '(' expr ')' ]
 * component -> name [ '(' literal ')' ] */
static ProbePoint *probe_point(Parser *p)
{
	ProbePoint *pp = ast_alloc(sizeof *pp);
	pp->loc = p->t->loc;
	List comps = {0};
	do {
		PointComp *c = ast_alloc(sizeof *c);
		c->loc = p->t->loc;
		c->name = component_name(p);
		if (accept(p, "(")) {
			c->arg = literal(p, "expected literal string or number");
			expect(p, ")");
		}
		list_push(&comps, c);
	} while (accept(p, "."));
	pp->ncomps = comps.len;
	pp->comps = ast_alloc(sizeof(PointComp) * (size_t)comps.len);
	for (int i = 0; i < comps.len; i++)
		pp->comps[i] = *(PointComp *)comps.items[i];
	if (comps.items != comps.local)
		free(comps.items);
	for (;;) {
		if (accept(p, "?"))
			pp->optional = true;
		else if (accept(p, "!"))
			pp->sufficient = true;
		else
			break;
	}
	if (accept(p, "if")) {
		expect(p, "(");
		pp->cond = expr(p);
		expect(p, ")");
	}
	return pp;
}

static ProbePoint **point_list(Parser *p, int *n)
{
	List points = {0};
	do
		list_push(&points, probe_point(p));
	while (accept(p, ","));
	*n = points.len;
	return (ProbePoint **)list_to_array(&points);
}

/* probe_decl -> 'probe' point { ',' point } block
 *             | 'probe' point { ',' point } ( '=' | '+=' ) point { ',' point } block */
static void probe_decl(Parser *p, Token *t, bool is_private)
{
	Probe *pr = ast_alloc(sizeof *pr);
	pr->loc = t->loc;
	pr->file = p->f;
	pr->is_private = is_private;
	if (!(p->t->kind == TK_IDENT || p->t->kind == TK_NUMBER || at(p, "*")))
		fail(p, "expected identifier or '*' or '{'");
	pr->points = point_list(p, &pr->npoints);
	if (at(p, "=") || at(p, "+=")) {
		pr->is_alias = true;
		pr->alias_epilogue = advance(p)->text[0] == '+';
		pr->alias_names = pr->points;
		pr->nalias_names = pr->npoints;
		pr->points = point_list(p, &pr->npoints);
	}
	p->in_function = false;
	pr->body = block(p);
	vec_push(&p->sc->probes, pr);
}

static bool parse_type(Parser *p, Type *ty)
{
	if (!accept(p, ":"))
		return false;
	if (accept(p, "long"))
		*ty = TY_LONG;
	else if (accept(p, "string"))
		*ty = TY_STRING;
	else
		fail(p, "expected 'long' or 'string'");
	return true;
}

/* The "/" "* pragma:NAME *" "/" markers of an embedded-C body. */
static void collect_pragmas(Func *fn)
{
	Vec pragmas = {0};
	for (const char *s = fn->embedded; (s = strstr(s, "/* pragma:"));) {
		s += 10;
		size_t n = strcspn(s, " \t\n*");
		vec_push(&pragmas, ast_strndup(s, n));
	}
	fn->npragmas = pragmas.len;
	fn->pragmas = (char **)vec_to_array(&pragmas);
}

/* function -> 'function' IDENT [ ':' type ] '(' [ param { ',' param } ] ')' ( block | EMBEDDED )
 * param -> IDENT [ ':' type ] */
static void function_decl(Parser *p, Token *t, bool is_private)
{
	Func *fn = ast_alloc(sizeof *fn);
	Token *name = expect_ident(p);
	fn->name = name->text;
	fn->loc = name->loc;
	fn->file = p->f;
	fn->is_private = is_private;
	fn->ret_declared = parse_type(p, &fn->ret);
	expect(p, "(");
	List params = {0};
	if (!at(p, ")")) {
		for (;;) {
			Param *pa = ast_alloc(sizeof *pa);
			Token *pt = expect_ident(p);
			pa->name = pt->text;
			pa->loc = pt->loc;
			parse_type(p, &pa->type);
			list_push(&params, pa);
			if (at(p, ")"))
				break;
			if (!accept(p, ","))
				fail(p, "expected ',' or ')'");
		}
	}
	expect(p, ")");
	fn->nparams = params.len;
	fn->params = ast_alloc(sizeof(Param) * (size_t)(params.len + 1));
	for (int i = 0; i < params.len; i++)
		fn->params[i] = *(Param *)params.items[i];
	if (params.items != params.local)
		free(params.items);
	if (p->t->kind == TK_EMBEDDED) {
		Token *code = advance(p);
		check_embedded_allowed(p, code, false);
		fn->embedded = code->text;
		fn->embedded_loc = code->loc;
		collect_pragmas(fn);
	} else {
		p->in_function = true;
		fn->body = block(p);
		p->in_function = false;
	}
	(void)t;
	vec_push(&p->sc->functions, fn);
}

static bool is_declaration_start(const Token *t)
{
	return tok_is(t, "probe") || tok_is(t, "global") || tok_is(t, "function") ||
	       tok_is(t, "private") || t->kind == TK_EOF;
}

/* declaration -> [ 'private' ] ( 'probe' probe_decl | 'global' globals
 *                               | 'function' function | globals )
 *              | EMBEDDED */
static void declaration(Parser *p)
{
	Token *t = p->t;
	if (t->kind == TK_EMBEDDED) {
		advance(p);
		check_embedded_allowed(p, t, false);
		vec_push(&p->sc->embedded, t->text);
		SrcLoc *loc = ast_alloc(sizeof *loc);
		*loc = t->loc;
		vec_push(&p->sc->embedded_locs, loc);
		return;
	}
	bool is_private = accept(p, "private");
	Token *k = p->t;
	if (accept(p, "probe"))
		probe_decl(p, k, is_private);
	else if (accept(p, "global"))
		globals(p, is_private);
	else if (accept(p, "function"))
		function_decl(p, k, is_private);
	else if (is_private && is_ident(k))
		globals(p, true);
	else
		fail(p, "expected 'probe', 'global', 'private', 'function', or '%%{'");
}

/* Give back the tokens of finished declarations (those before p->t). */
static void release_tokens(Parser *p)
{
	if (!p->src)
		return;
	if (p->unreleased == p->t)
		return;
	/* in one splice when the last token taken is the one before p->t
	 * (error recovery may have stepped back) */
	if (p->taken && p->taken->next == p->t && p->taken != p->t)
		token_free_chain(p->unreleased, p->taken);
	else
		token_free_until(p->unreleased, p->t);
	p->unreleased = p->t;
}

/* Streaming: hand the declarations parsed since the last call (one, or
 * the items of one "global a, b", or what a broken one left) to the
 * callback, then forget them and reuse their memory. */
static void hand_over(Parser *p)
{
	if (!p->each)
		return;
	Script *sc = p->sc;
	if (sc->embedded.len || sc->globals.len || sc->probes.len || sc->functions.len)
		p->each(sc, p->each_arg);
	sc->globals.len = sc->probes.len = sc->functions.len = 0;
	sc->embedded.len = sc->embedded_locs.len = 0;
	scratch_rewind(scratch);
}

/* script -> { declaration } EOF */
static Script *parse_file(Session *s, SrcFile *f, PPStream *src, Token *toks, int errors_before,
			  ParseEachFn each, void *each_arg)
{
	Parser p = { .s = s, .f = f, .t = toks, .src = src, .unreleased = toks,
		     .errors_before = errors_before, .each = each, .each_arg = each_arg };
	p.privileged = s->guru || (f && f->is_tapset);
	p.sc = xcalloc(1, sizeof(Script));
	p.sc->file = f;
	/* volatile: read after longjmp */
	Token *volatile start = NULL;
	while (p.t->kind != TK_EOF) {
		if (setjmp(p.recover)) {
			/* skip what remains of the broken declaration; a new
			 * declaration where the error was found is kept */
			p.depth = 0;
			p.in_function = false;
			if (p.t == start || !is_declaration_start(p.t)) {
				do
					advance(&p);
				while (!is_declaration_start(p.t));
			}
			continue;
		}
		release_tokens(&p);
		hand_over(&p);
		start = p.t;
		declaration(&p);
	}
	release_tokens(&p);
	hand_over(&p);
	if (src)
		token_free(p.t);
	return p.sc;
}

Script *parse(Session *s, SrcFile *f, Token *toks)
{
	return parse_file(s, f, NULL, toks, s->errors, NULL, NULL);
}

/* A library file that does not parse is left out, as stap does: its
 * errors are shown (they were), counted, and do not fail the run. */
static Script *skip_broken_tapset(Session *s, SrcFile *f, int errors_before)
{
	int n = s->errors - errors_before;
	fprintf(stderr, "%d parse error%s.\n", n, n == 1 ? "" : "s");
	s->errors = errors_before;
	diag_warning(s, (SrcLoc){ 0 }, "tapset \"%s\" has errors, and will be skipped", f->name);
	return NULL;
}

/* Lex, preprocess and parse f, a token at a time (each: see
 * parse_text_each). */
static Script *parse_source(Session *s, SrcFile *f, ParseEachFn each, void *each_arg)
{
	int errors = s->errors;
	p1_hold(true);
	Lexer *lx = lexer_open(s, f);
	PPStream *pp = pp_open(s, f, lx, NULL);
	Token *first = pp_next(pp);
	if (!f->is_tapset && s->errors == errors && first->kind == TK_EOF) {
		fprintf(stderr, "Input file '%s' is empty%s.\n", f->name,
			lexer_saw_tokens(lx) ? " after preprocessing" : "");
		s->errors++;
	}
	Scratch nodes = {0};
	Scratch *outer = scratch;
	if (each) {
		nodes.first = nodes.cur = scratch_chunk(SCRATCH_CHUNK);
		scratch = &nodes;
	}
	Script *sc = parse_file(s, f, pp, first, errors, each, each_arg);
	if (each) {
		scratch = outer;
		scratch_free(&nodes);
	}
	pp_close(pp);
	lexer_close(lx);
	p1_hold(false);
	if (f->is_tapset && s->errors > errors)
		return skip_broken_tapset(s, f, errors);
	return sc;
}

Script *parse_text_each(Session *s, const char *name, const char *text, bool is_tapset,
			ParseEachFn each, void *arg)
{
	size_t len = strlen(text);
	SrcFile *f = session_add_file(s, name, xstrndup(text, len), len, is_tapset);
	return parse_source(s, f, each, arg);
}

Script *parse_path_each(Session *s, const char *path, bool is_tapset, ParseEachFn each, void *arg)
{
	size_t len;
	/* into the arena: a big script lands in a few huge pages, not in
	 * a thousand page faults */
	char *text = read_file_with(path, &len, arena_alloc);
	if (!text) {
		fprintf(stderr, "Input file '%s' is missing.\n", path);
		s->errors++;
		Script *sc = xcalloc(1, sizeof(Script));
		return sc;
	}
	/* NUL bytes are allowed in files: lex() goes by the length */
	SrcFile *f = session_add_file(s, strcmp(path, "-") == 0 ? "<input>" : path, text, len, is_tapset);
	return parse_source(s, f, each, arg);
}

Script *parse_text(Session *s, const char *name, const char *text, bool is_tapset)
{
	return parse_text_each(s, name, text, is_tapset, NULL, NULL);
}

Script *parse_path(Session *s, const char *path, bool is_tapset)
{
	return parse_path_each(s, path, is_tapset, NULL, NULL);
}
