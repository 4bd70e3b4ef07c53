/* unparse.c - the -p1 output: the AST printed back as canonical stap text.
 *
 * The style is our own, meant for reading: one statement per line, tab
 * indentation, ';' after simple statements (so that no newline is ever
 * needed to separate them), and only the parentheses that precedence
 * requires.  Parsing the output and printing it again gives the same text
 * (tests/run.sh checks this for every script test).
 *
 * Expression printing works with precedence levels (see parse.c): a
 * subexpression is put in parentheses when it binds more loosely than its
 * position requires.
 */
#include "stap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum {
	P_ASSIGN = 1,
	P_TERNARY,
	P_OR,
	P_AND,
	P_BITOR,
	P_XOR,
	P_BITAND,
	P_IN,
	P_COMPARE,
	P_SHIFT,
	P_CONCAT,
	P_ADD,
	P_MUL,
	P_UNARY,
	P_POSTFIX,
	P_PRIMARY,
};

/* -p1 of a large script prints millions of small pieces: they go straight
 * into the buffer, not through printf. */
static inline void put_n(StrBuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		sb_putn(b, s, n);
		return;
	}
	char *d = b->s + b->len;
	b->len += n;
	/* short pieces (nearly all) as two overlapping loads and stores */
	if (n >= 8 && n <= 16) {
		uint64_t x, y;
		memcpy(&x, s, 8);
		memcpy(&y, s + n - 8, 8);
		memcpy(d, &x, 8);
		memcpy(d + n - 8, &y, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t x, y;
		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(d, &x, 4);
		memcpy(d + n - 4, &y, 4);
	} else if (n && n < 4) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	} else if (n) {
		memcpy(d, s, n);
	}
	d[n] = '\0';
}

/* The terminating NUL is left to the end of the text (put_end): room
 * for it is always kept. */
static inline void put_c(StrBuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		sb_putc(b, c);
		return;
	}
	b->s[b->len++] = c;
}

/* Terminate the text after put_c (which leaves the NUL out). */
static inline void put_end(StrBuf *b)
{
	if (b->s)
		b->s[b->len] = '\0';
}

static inline void put_s(StrBuf *b, const char *s)
{
	put_n(b, s, strlen(s));
}

/* %{ code %} */
static void put_embedded(StrBuf *b, const char *code)
{
	put_s(b, "%{");
	put_s(b, code);
	put_s(b, "%}");
}

static void put_num(StrBuf *b, int64_t v)
{
	char buf[24], *p = buf + sizeof buf;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	put_n(b, p, (size_t)(buf + sizeof buf - p));
}

static int binary_level(const char *op)
{
	switch (op[0]) {
	case '|': return op[1] ? P_OR : P_BITOR;
	case '&': return op[1] ? P_AND : P_BITAND;
	case '^': return P_XOR;
	case '<': case '>': return P_SHIFT; /* << >> >>> */
	case '.': return P_CONCAT;
	case '+': case '-': return P_ADD;
	case '*': case '/': case '%': return P_MUL;
	default: return P_PRIMARY;
	}
}

static int level_of(const Expr *e)
{
	switch (e->kind) {
	case E_ASSIGN:
	case E_STATS_ADD:
		return P_ASSIGN;
	case E_TERNARY:
		return P_TERNARY;
	case E_BINARY:
		return binary_level(e->op);
	case E_IN:
		return P_IN;
	case E_COMPARE:
		return P_COMPARE;
	case E_UNARY:
		return P_UNARY;
	case E_INCDEC:
		return e->postfix ? P_POSTFIX : P_UNARY;
	case E_NUM:
		/* a negative literal reads as a unary minus */
		return e->num < 0 ? P_UNARY : P_PRIMARY;
	default:
		return P_PRIMARY;
	}
}

/* A string literal with its bytes escaped so that it lexes back the same. */
static void put_string(StrBuf *b, const char *s, size_t len)
{
	put_c(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '\n': put_s(b, "\\n"); break;
		case '\t': put_s(b, "\\t"); break;
		case '\r': put_s(b, "\\r"); break;
		case '\a': put_s(b, "\\a"); break;
		case '\b': put_s(b, "\\b"); break;
		case '\f': put_s(b, "\\f"); break;
		case '\v': put_s(b, "\\v"); break;
		case '\\': put_s(b, "\\\\"); break;
		case '"': put_s(b, "\\\""); break;
		default:
			if (c < 0x20 || c == 0x7f)
				sb_printf(b, "\\%03o", c);
			else
				put_c(b, (char)c);
		}
	}
	put_c(b, '"');
}

static void put_expr(StrBuf *b, const Expr *e, int min_level);

static void put_args(StrBuf *b, Expr *const *args, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			put_s(b, ", ");
		put_expr(b, args[i], P_ASSIGN);
	}
}

static void put_components(StrBuf *b, const Expr *e)
{
	for (int i = 0; i < e->ncomps; i++) {
		const Component *c = &e->comps[i];
		if (c->kind == COMP_MEMBER) {
			put_s(b, "->");
			put_s(b, c->name);
		} else if (c->kind == COMP_INDEX) {
			put_c(b, '[');
			put_num(b, c->index);
			put_c(b, ']');
		} else {
			put_c(b, '[');
			put_expr(b, c->expr, P_ASSIGN);
			put_c(b, ']');
		}
	}
	if (e->suffix)
		put_s(b, e->suffix == 1 ? "$" : "$$");
}

/* Prefix operators: keep "- -x" and "! ~x" apart so they do not lex as
 * "--" or "!~". */
static void put_prefix(StrBuf *b, const char *op, const Expr *operand)
{
	put_s(b, op);
	size_t at = b->len;
	put_expr(b, operand, P_UNARY);
	char last = op[strlen(op) - 1], first = b->s[at];
	if ((last == '-' && first == '-') || (last == '+' && first == '+') ||
	    (last == '!' && (first == '~' || first == '=')) || (last == '&' && first == '&')) {
		put_c(b, ' '); /* room for the space, then move the operand over */
		memmove(b->s + at + 1, b->s + at, b->len - at - 1);
		b->s[at] = ' ';
	}
}

static void put_binary(StrBuf *b, const Expr *e, int level)
{
	/* left-associative: the right operand must bind tighter */
	put_expr(b, e->args[0], level);
	put_c(b, ' ');
	put_s(b, e->op);
	put_c(b, ' ');
	put_expr(b, e->args[1], level + 1);
}

static void put_expr_bare(StrBuf *b, const Expr *e)
{
	switch (e->kind) {
	case E_NUM:
		put_num(b, e->num);
		break;
	case E_STR:
		put_string(b, e->str, e->len);
		break;
	case E_SYM:
		put_s(b, e->name);
		break;
	case E_TARGET:
		put_s(b, e->name);
		put_components(b, e);
		break;
	case E_CAST:
		put_s(b, "@cast(");
		put_expr(b, e->args[0], P_ASSIGN);
		put_s(b, ", ");
		put_string(b, e->str, strlen(e->str));
		if (e->module) {
			put_s(b, ", ");
			put_string(b, e->module, strlen(e->module));
		}
		put_c(b, ')');
		put_components(b, e);
		break;
	case E_VAR_AT:
		put_s(b, "@var(");
		put_string(b, e->str, strlen(e->str));
		if (e->module) {
			put_s(b, ", ");
			put_string(b, e->module, strlen(e->module));
		}
		put_c(b, ')');
		put_components(b, e);
		break;
	case E_ENTRY:
	case E_DEFINED:
	case E_STAT:
	case E_HIST:
		put_c(b, '@');
		put_s(b, e->op);
		put_c(b, '(');
		put_args(b, e->args, e->nargs);
		put_c(b, ')');
		put_components(b, e);
		break;
	case E_INDEX:
		put_s(b, e->name);
		put_c(b, '[');
		put_args(b, e->args, e->nargs);
		put_c(b, ']');
		break;
	case E_CALL:
		put_s(b, e->name);
		put_c(b, '(');
		put_args(b, e->args, e->nargs);
		put_c(b, ')');
		break;
	case E_UNARY:
		put_prefix(b, e->op, e->args[0]);
		break;
	case E_INCDEC:
		if (e->postfix) {
			put_expr(b, e->args[0], P_PRIMARY);
			put_s(b, e->op);
		} else {
			put_prefix(b, e->op, e->args[0]);
		}
		break;
	case E_BINARY:
		put_binary(b, e, binary_level(e->op));
		break;
	case E_COMPARE:
		put_binary(b, e, P_COMPARE);
		break;
	case E_ASSIGN:
	case E_STATS_ADD:
		/* right-associative; the target is read at ternary level */
		put_expr(b, e->args[0], P_TERNARY);
		put_c(b, ' ');
		put_s(b, e->op);
		put_c(b, ' ');
		put_expr(b, e->args[1], P_ASSIGN);
		break;
	case E_TERNARY:
		put_expr(b, e->args[0], P_OR);
		put_s(b, " ? ");
		put_expr(b, e->args[1], P_ASSIGN);
		put_s(b, " : ");
		put_expr(b, e->args[2], P_TERNARY);
		break;
	case E_IN:
		if (e->nargs == 1) {
			put_expr(b, e->args[0], P_COMPARE);
		} else {
			put_c(b, '[');
			put_args(b, e->args, e->nargs);
			put_c(b, ']');
		}
		put_s(b, " in ");
		put_s(b, e->name);
		break;
	case E_EMBEDDED:
		put_embedded(b, e->str);
		break;
	}
}

static void put_expr(StrBuf *b, const Expr *e, int min_level)
{
	bool parens = level_of(e) < min_level;
	if (parens)
		put_c(b, '(');
	put_expr_bare(b, e);
	if (parens)
		put_c(b, ')');
}

void unparse_expr(StrBuf *b, const Expr *e)
{
	put_expr(b, e, P_ASSIGN);
	put_end(b);
}

/* ----------------------------------------------------------- statements */

static void indent_to(StrBuf *b, int indent)
{
	for (int i = 0; i < indent; i++)
		put_c(b, '\t');
}

/* "{" ... "}" without the leading indentation or trailing newline. */
static void put_block(StrBuf *b, const Stmt *st, int indent)
{
	put_s(b, "{\n");
	for (int i = 0; i < st->nbody; i++)
		unparse_stmt(b, st->body[i], indent + 1);
	indent_to(b, indent);
	put_c(b, '}');
}

/* The body of if/for/foreach/while: " { ... }" on the same line, or a
 * single statement on the next line, one level in.  Returns true when
 * the body was a block (the caller may continue on the same line). */
static bool put_body(StrBuf *b, const Stmt *body, int indent)
{
	if (body->kind == S_BLOCK) {
		put_c(b, ' ');
		put_block(b, body, indent);
		return true;
	}
	put_c(b, '\n');
	unparse_stmt(b, body, indent + 1);
	return false;
}

static void end_body(StrBuf *b, bool was_block)
{
	if (was_block)
		put_c(b, '\n');
}

static void put_foreach_head(StrBuf *b, const ForeachInfo *fe)
{
	put_s(b, "foreach (");
	if (fe->value)
		{
		put_s(b, fe->value);
		put_s(b, " = ");
	}
	bool brackets = fe->bracketed || fe->nkeys != 1;
	if (brackets)
		put_c(b, '[');
	for (int i = 0; i < fe->nkeys; i++) {
		put_s(b, i ? ", " : "");
		put_s(b, fe->keys[i]);
		if (fe->sort_dir && fe->sort_key == i + 1)
			put_c(b, fe->sort_dir > 0 ? '+' : '-');
	}
	if (brackets)
		put_c(b, ']');
	put_s(b, " in ");
	put_s(b, fe->array);
	if (fe->sort_dir && fe->sort_key == 0)
		put_c(b, fe->sort_dir > 0 ? '+' : '-');
	if (fe->limit) {
		put_s(b, " limit ");
		put_expr(b, fe->limit, P_ASSIGN);
	}
	put_c(b, ')');
}

static void put_if(StrBuf *b, const Stmt *st, int indent)
{
	put_s(b, "if (");
	put_expr(b, st->expr, P_ASSIGN);
	put_c(b, ')');
	bool block = put_body(b, st->then, indent);
	if (!st->els) {
		end_body(b, block);
		return;
	}
	if (block) {
		put_s(b, " else");
	} else {
		indent_to(b, indent);
		put_s(b, "else");
	}
	if (st->els->kind == S_IF) {
		put_c(b, ' ');
		put_if(b, st->els, indent);
		return;
	}
	end_body(b, put_body(b, st->els, indent));
}

/* Print one statement on its own line(s) at the given indentation. */
void unparse_stmt(StrBuf *b, const Stmt *st, int indent)
{
	indent_to(b, indent);
	switch (st->kind) {
	case S_BLOCK:
		put_block(b, st, indent);
		put_c(b, '\n');
		break;
	case S_EXPR:
		put_expr(b, st->expr, P_ASSIGN);
		put_s(b, ";\n");
		break;
	case S_IF:
		put_if(b, st, indent);
		break;
	case S_FOR:
		if (!st->init && !st->incr && st->expr) {
			put_s(b, "while (");
			put_expr(b, st->expr, P_ASSIGN);
		} else {
			put_s(b, "for (");
			if (st->init)
				put_expr(b, st->init->expr, P_ASSIGN);
			put_c(b, ';');
			if (st->expr) {
				put_c(b, ' ');
				put_expr(b, st->expr, P_ASSIGN);
			}
			put_c(b, ';');
			if (st->incr) {
				put_c(b, ' ');
				put_expr(b, st->incr, P_ASSIGN);
			}
		}
		put_c(b, ')');
		end_body(b, put_body(b, st->then, indent));
		break;
	case S_DO:
		put_s(b, "do");
		if (put_body(b, st->then, indent))
			put_c(b, ' ');
		else
			indent_to(b, indent);
		put_s(b, "while (");
		put_expr(b, st->expr, P_ASSIGN);
		put_s(b, ");\n");
		break;
	case S_FOREACH:
		put_foreach_head(b, st->fe);
		end_body(b, put_body(b, st->then, indent));
		break;
	case S_BREAK:
		put_s(b, "break;\n");
		break;
	case S_CONTINUE:
		put_s(b, "continue;\n");
		break;
	case S_NEXT:
		put_s(b, "next;\n");
		break;
	case S_RETURN:
		put_s(b, "return");
		if (st->expr) {
			put_c(b, ' ');
			put_expr(b, st->expr, P_ASSIGN);
		}
		put_s(b, ";\n");
		break;
	case S_DELETE:
		put_s(b, "delete ");
		put_expr(b, st->expr, P_ASSIGN);
		put_s(b, ";\n");
		break;
	case S_TRY:
		put_s(b, "try ");
		put_block(b, st->then, indent);
		put_s(b, " catch ");
		if (st->catch_var) {
			put_c(b, '(');
			put_s(b, st->catch_var);
			put_s(b, ") ");
		}
		put_block(b, st->els, indent);
		put_c(b, '\n');
		break;
	case S_EMBEDDED:
		put_embedded(b, st->code);
		put_c(b, '\n');
		break;
	case S_NULL:
		put_s(b, ";\n");
		break;
	}
	put_end(b);
}

/* --------------------------------------------------------- declarations */

void unparse_point(StrBuf *b, const ProbePoint *pp)
{
	for (int i = 0; i < pp->ncomps; i++) {
		const PointComp *c = &pp->comps[i];
		if (i)
			put_c(b, '.');
		put_s(b, c->name);
		if (c->arg) {
			put_c(b, '(');
			put_expr(b, c->arg, P_ASSIGN);
			put_c(b, ')');
		}
	}
	if (pp->optional)
		put_c(b, '?');
	if (pp->sufficient)
		put_c(b, '!');
	if (pp->cond) {
		put_s(b, " if (");
		put_expr(b, pp->cond, P_ASSIGN);
		put_c(b, ')');
	}
	put_end(b);
}

static void put_points(StrBuf *b, ProbePoint *const *points, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			put_s(b, ", ");
		unparse_point(b, points[i]);
	}
}

static void put_global(StrBuf *b, const Global *g)
{
	put_s(b, g->is_private ? "private global " : "global ");
	put_s(b, g->name);
	if (g->wrap)
		put_c(b, '%');
	if (g->is_array_decl)
		{
		put_c(b, '[');
		put_num(b, g->size);
		put_c(b, ']');
	}
	if (g->init) {
		put_s(b, " = ");
		put_expr(b, g->init, P_ASSIGN);
	}
	put_c(b, '\n');
}

static void put_probe(StrBuf *b, const Probe *pr)
{
	put_s(b, pr->is_private ? "private probe " : "probe ");
	if (pr->is_alias) {
		put_points(b, pr->alias_names, pr->nalias_names);
		put_s(b, pr->alias_epilogue ? " += " : " = ");
	}
	put_points(b, pr->points, pr->npoints);
	put_c(b, ' ');
	put_block(b, pr->body, 0);
	put_c(b, '\n');
}

static void put_typed(StrBuf *b, const char *name, Type t)
{
	put_s(b, name);
	if (t == TY_LONG || t == TY_STRING) {
		put_c(b, ':');
		put_s(b, type_name(t));
	}
}

static void put_function(StrBuf *b, const Func *fn)
{
	put_s(b, fn->is_private ? "private function " : "function ");
	put_typed(b, fn->name, fn->ret_declared ? fn->ret : TY_UNKNOWN);
	put_c(b, '(');
	for (int i = 0; i < fn->nparams; i++) {
		if (i)
			put_s(b, ", ");
		put_typed(b, fn->params[i].name, fn->params[i].type);
	}
	put_s(b, ") ");
	if (fn->embedded)
		put_embedded(b, fn->embedded);
	else
		put_block(b, fn->body, 0);
	put_c(b, '\n');
}

/* Output goes out in pieces of about this size: a buffer that stays in
 * the cache, not one as large as the script. */
#define FLUSH_SIZE (64 * 1024)

static void flush_some(FILE *out, StrBuf *b)
{
	if (b->len < FLUSH_SIZE)
		return;
	fwrite(b->s, 1, b->len, out);
	b->len = 0;
	b->s[0] = '\0';
}

void unparse_script(FILE *out, const Script *sc)
{
	StrBuf b = {0};
	put_s(&b, "# parse tree dump\n# file ");
	put_s(&b, sc->file ? sc->file->name : "<input>");
	put_c(&b, '\n');
	for (int i = 0; i < sc->embedded.len; i++) {
		put_embedded(&b, VEC_AT(&sc->embedded, i));
		put_c(&b, '\n');
	}
	for (int i = 0; i < sc->globals.len; i++) {
		put_global(&b, VEC_AT(&sc->globals, i));
		flush_some(out, &b);
	}
	for (int i = 0; i < sc->probes.len; i++) {
		if (i + 1 < sc->probes.len)
			__builtin_prefetch(((Probe *)VEC_AT(&sc->probes, i + 1))->body);
		put_probe(&b, VEC_AT(&sc->probes, i));
		flush_some(out, &b);
	}
	for (int i = 0; i < sc->functions.len; i++) {
		put_function(&b, VEC_AT(&sc->functions, i));
		flush_some(out, &b);
	}
	fwrite(b.s, 1, b.len, out);
	free(b.s);
}

/* The parts of a large script grow to megabytes.  Grown by realloc, a
 * part would take its memory one 4 KB page fault at a time, which for a
 * 100,000-line script costs more than printing the text; so a part is a
 * chain of blocks from the arena (huge pages, each byte touched once),
 * and each declaration is printed into a small buffer (`piece`, reused,
 * in the cache) and then appended. */
#define PART_BLOCK (256 * 1024)

struct PartBlock {
	struct PartBlock *next;
	size_t len;
	char text[PART_BLOCK];
};

static void part_append(UnparsePart *part, StrBuf *piece)
{
	const char *s = piece->s;
	size_t n = piece->len;
	while (n) {
		PartBlock *b = part->last;
		if (!b || b->len == PART_BLOCK) {
			b = arena_alloc(sizeof *b);
			if (part->last)
				part->last->next = b;
			else
				part->first = b;
			part->last = b;
		}
		size_t k = n < PART_BLOCK - b->len ? n : PART_BLOCK - b->len;
		memcpy(b->text + b->len, s, k);
		b->len += k;
		s += k;
		n -= k;
	}
	piece->len = 0;
}

void unparse_parts_add(UnparseParts *u, const Script *decls)
{
	StrBuf *piece = &u->piece;
	for (int i = 0; i < decls->embedded.len; i++) {
		put_embedded(piece, VEC_AT(&decls->embedded, i));
		put_c(piece, '\n');
		part_append(&u->embedded, piece);
	}
	for (int i = 0; i < decls->globals.len; i++) {
		put_global(piece, VEC_AT(&decls->globals, i));
		part_append(&u->globals, piece);
	}
	for (int i = 0; i < decls->probes.len; i++) {
		put_probe(piece, VEC_AT(&decls->probes, i));
		part_append(&u->probes, piece);
	}
	for (int i = 0; i < decls->functions.len; i++) {
		put_function(piece, VEC_AT(&decls->functions, i));
		part_append(&u->functions, piece);
	}
}

static void put_header(StrBuf *out, const SrcFile *file)
{
	put_s(out, "# parse tree dump\n# file ");
	put_s(out, file ? file->name : "<input>");
	put_c(out, '\n');
	put_end(out);
}

static void take_part(StrBuf *out, UnparsePart *part)
{
	for (const PartBlock *b = part->first; b; b = b->next)
		sb_putn(out, b->text, b->len);
	*part = (UnparsePart){0};
}

static void free_piece(UnparseParts *u)
{
	free(u->piece.s);
	u->piece = (StrBuf){0};
}

void unparse_parts_finish(StrBuf *out, UnparseParts *u, const SrcFile *file)
{
	put_header(out, file);
	take_part(out, &u->embedded);
	take_part(out, &u->globals);
	take_part(out, &u->probes);
	take_part(out, &u->functions);
	free_piece(u);
}

static void write_part(FILE *out, UnparsePart *part)
{
	for (const PartBlock *b = part->first; b; b = b->next)
		fwrite(b->text, 1, b->len, out);
	*part = (UnparsePart){0};
}

/* As unparse_parts_finish, straight to a file: a large script's text is
 * not copied once more. */
void unparse_parts_write(FILE *out, UnparseParts *u, const SrcFile *file)
{
	StrBuf head = {0};
	put_header(&head, file);
	fwrite(head.s, 1, head.len, out);
	free(head.s);
	write_part(out, &u->embedded);
	write_part(out, &u->globals);
	write_part(out, &u->probes);
	write_part(out, &u->functions);
	free_piece(u);
}
