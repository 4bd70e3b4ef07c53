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

static int binary_level(const char *op)
{
	static const struct { const char *op; int level; } table[] = {
		{ "||", P_OR }, { "&&", P_AND }, { "|", P_BITOR }, { "^", P_XOR }, { "&", P_BITAND },
		{ "<<", P_SHIFT }, { ">>", P_SHIFT }, { ">>>", P_SHIFT }, { ".", P_CONCAT },
		{ "+", P_ADD }, { "-", P_ADD }, { "*", P_MUL }, { "/", P_MUL }, { "%", P_MUL },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(op, table[i].op) == 0)
			return table[i].level;
	return P_PRIMARY;
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
	sb_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '\n': sb_puts(b, "\\n"); break;
		case '\t': sb_puts(b, "\\t"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\a': sb_puts(b, "\\a"); break;
		case '\b': sb_puts(b, "\\b"); break;
		case '\f': sb_puts(b, "\\f"); break;
		case '\v': sb_puts(b, "\\v"); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '"': sb_puts(b, "\\\""); break;
		default:
			if (c < 0x20 || c == 0x7f)
				sb_printf(b, "\\%03o", c);
			else
				sb_putc(b, (char)c);
		}
	}
	sb_putc(b, '"');
}

static void put_expr(StrBuf *b, const Expr *e, int min_level);

static void put_args(StrBuf *b, Expr *const *args, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			sb_puts(b, ", ");
		put_expr(b, args[i], P_ASSIGN);
	}
}

static void put_components(StrBuf *b, const Expr *e)
{
	for (int i = 0; i < e->ncomps; i++) {
		const Component *c = &e->comps[i];
		if (c->kind == COMP_MEMBER) {
			sb_printf(b, "->%s", c->name);
		} else if (c->kind == COMP_INDEX) {
			sb_printf(b, "[%" PRId64 "]", c->index);
		} else {
			sb_putc(b, '[');
			put_expr(b, c->expr, P_ASSIGN);
			sb_putc(b, ']');
		}
	}
	if (e->suffix)
		sb_puts(b, e->suffix == 1 ? "$" : "$$");
}

/* Prefix operators: keep "- -x" and "! ~x" apart so they do not lex as
 * "--" or "!~". */
static void put_prefix(StrBuf *b, const char *op, const Expr *operand)
{
	StrBuf inner = {0};
	put_expr(&inner, operand, P_UNARY);
	sb_puts(b, op);
	char last = op[strlen(op) - 1], first = inner.s[0];
	if ((last == '-' && first == '-') || (last == '+' && first == '+') ||
	    (last == '!' && (first == '~' || first == '=')) || (last == '&' && first == '&'))
		sb_putc(b, ' ');
	sb_puts(b, inner.s);
	free(inner.s);
}

static void put_binary(StrBuf *b, const Expr *e, int level)
{
	/* left-associative: the right operand must bind tighter */
	put_expr(b, e->args[0], level);
	sb_printf(b, " %s ", e->op);
	put_expr(b, e->args[1], level + 1);
}

static void put_expr_bare(StrBuf *b, const Expr *e)
{
	switch (e->kind) {
	case E_NUM:
		sb_printf(b, "%" PRId64, e->num);
		break;
	case E_STR:
		put_string(b, e->str, e->len);
		break;
	case E_SYM:
		sb_puts(b, e->name);
		break;
	case E_TARGET:
		sb_puts(b, e->name);
		put_components(b, e);
		break;
	case E_CAST:
		sb_puts(b, "@cast(");
		put_expr(b, e->args[0], P_ASSIGN);
		sb_puts(b, ", ");
		put_string(b, e->str, strlen(e->str));
		if (e->module) {
			sb_puts(b, ", ");
			put_string(b, e->module, strlen(e->module));
		}
		sb_putc(b, ')');
		put_components(b, e);
		break;
	case E_VAR_AT:
		sb_puts(b, "@var(");
		put_string(b, e->str, strlen(e->str));
		if (e->module) {
			sb_puts(b, ", ");
			put_string(b, e->module, strlen(e->module));
		}
		sb_putc(b, ')');
		put_components(b, e);
		break;
	case E_ENTRY:
	case E_DEFINED:
	case E_STAT:
	case E_HIST:
		sb_printf(b, "@%s(", e->op);
		put_args(b, e->args, e->nargs);
		sb_putc(b, ')');
		put_components(b, e);
		break;
	case E_INDEX:
		sb_printf(b, "%s[", e->name);
		put_args(b, e->args, e->nargs);
		sb_putc(b, ']');
		break;
	case E_CALL:
		sb_printf(b, "%s(", e->name);
		put_args(b, e->args, e->nargs);
		sb_putc(b, ')');
		break;
	case E_UNARY:
		put_prefix(b, e->op, e->args[0]);
		break;
	case E_INCDEC:
		if (e->postfix) {
			put_expr(b, e->args[0], P_PRIMARY);
			sb_puts(b, e->op);
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
		sb_printf(b, " %s ", e->op);
		put_expr(b, e->args[1], P_ASSIGN);
		break;
	case E_TERNARY:
		put_expr(b, e->args[0], P_OR);
		sb_puts(b, " ? ");
		put_expr(b, e->args[1], P_ASSIGN);
		sb_puts(b, " : ");
		put_expr(b, e->args[2], P_TERNARY);
		break;
	case E_IN:
		if (e->nargs == 1) {
			put_expr(b, e->args[0], P_COMPARE);
		} else {
			sb_putc(b, '[');
			put_args(b, e->args, e->nargs);
			sb_putc(b, ']');
		}
		sb_printf(b, " in %s", e->name);
		break;
	case E_EMBEDDED:
		sb_printf(b, "%%{%s%%}", e->str);
		break;
	}
}

static void put_expr(StrBuf *b, const Expr *e, int min_level)
{
	bool parens = level_of(e) < min_level;
	if (parens)
		sb_putc(b, '(');
	put_expr_bare(b, e);
	if (parens)
		sb_putc(b, ')');
}

void unparse_expr(StrBuf *b, const Expr *e)
{
	put_expr(b, e, P_ASSIGN);
}

/* ----------------------------------------------------------- statements */

static void indent_to(StrBuf *b, int indent)
{
	for (int i = 0; i < indent; i++)
		sb_putc(b, '\t');
}

/* "{" ... "}" without the leading indentation or trailing newline. */
static void put_block(StrBuf *b, const Stmt *st, int indent)
{
	sb_puts(b, "{\n");
	for (int i = 0; i < st->nbody; i++)
		unparse_stmt(b, st->body[i], indent + 1);
	indent_to(b, indent);
	sb_putc(b, '}');
}

/* The body of if/for/foreach/while: " { ... }" on the same line, or a
 * single statement on the next line, one level in.  Returns true when
 * the body was a block (the caller may continue on the same line). */
static bool put_body(StrBuf *b, const Stmt *body, int indent)
{
	if (body->kind == S_BLOCK) {
		sb_putc(b, ' ');
		put_block(b, body, indent);
		return true;
	}
	sb_putc(b, '\n');
	unparse_stmt(b, body, indent + 1);
	return false;
}

static void end_body(StrBuf *b, bool was_block)
{
	if (was_block)
		sb_putc(b, '\n');
}

static void put_foreach_head(StrBuf *b, const ForeachInfo *fe)
{
	sb_puts(b, "foreach (");
	if (fe->value)
		sb_printf(b, "%s = ", fe->value);
	bool brackets = fe->bracketed || fe->nkeys != 1;
	if (brackets)
		sb_putc(b, '[');
	for (int i = 0; i < fe->nkeys; i++) {
		sb_printf(b, "%s%s", i ? ", " : "", fe->keys[i]);
		if (fe->sort_dir && fe->sort_key == i + 1)
			sb_putc(b, fe->sort_dir > 0 ? '+' : '-');
	}
	if (brackets)
		sb_putc(b, ']');
	sb_printf(b, " in %s", fe->array);
	if (fe->sort_dir && fe->sort_key == 0)
		sb_putc(b, fe->sort_dir > 0 ? '+' : '-');
	if (fe->limit) {
		sb_puts(b, " limit ");
		put_expr(b, fe->limit, P_ASSIGN);
	}
	sb_putc(b, ')');
}

static void put_if(StrBuf *b, const Stmt *st, int indent)
{
	sb_puts(b, "if (");
	put_expr(b, st->expr, P_ASSIGN);
	sb_putc(b, ')');
	bool block = put_body(b, st->then, indent);
	if (!st->els) {
		end_body(b, block);
		return;
	}
	if (block) {
		sb_puts(b, " else");
	} else {
		indent_to(b, indent);
		sb_puts(b, "else");
	}
	if (st->els->kind == S_IF) {
		sb_putc(b, ' ');
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
		sb_putc(b, '\n');
		break;
	case S_EXPR:
		put_expr(b, st->expr, P_ASSIGN);
		sb_puts(b, ";\n");
		break;
	case S_IF:
		put_if(b, st, indent);
		break;
	case S_FOR:
		if (!st->init && !st->incr && st->expr) {
			sb_puts(b, "while (");
			put_expr(b, st->expr, P_ASSIGN);
		} else {
			sb_puts(b, "for (");
			if (st->init)
				put_expr(b, st->init->expr, P_ASSIGN);
			sb_putc(b, ';');
			if (st->expr) {
				sb_putc(b, ' ');
				put_expr(b, st->expr, P_ASSIGN);
			}
			sb_putc(b, ';');
			if (st->incr) {
				sb_putc(b, ' ');
				put_expr(b, st->incr, P_ASSIGN);
			}
		}
		sb_putc(b, ')');
		end_body(b, put_body(b, st->then, indent));
		break;
	case S_DO:
		sb_puts(b, "do");
		if (put_body(b, st->then, indent))
			sb_putc(b, ' ');
		else
			indent_to(b, indent);
		sb_puts(b, "while (");
		put_expr(b, st->expr, P_ASSIGN);
		sb_puts(b, ");\n");
		break;
	case S_FOREACH:
		put_foreach_head(b, st->fe);
		end_body(b, put_body(b, st->then, indent));
		break;
	case S_BREAK:
		sb_puts(b, "break;\n");
		break;
	case S_CONTINUE:
		sb_puts(b, "continue;\n");
		break;
	case S_NEXT:
		sb_puts(b, "next;\n");
		break;
	case S_RETURN:
		sb_puts(b, "return");
		if (st->expr) {
			sb_putc(b, ' ');
			put_expr(b, st->expr, P_ASSIGN);
		}
		sb_puts(b, ";\n");
		break;
	case S_DELETE:
		sb_puts(b, "delete ");
		put_expr(b, st->expr, P_ASSIGN);
		sb_puts(b, ";\n");
		break;
	case S_TRY:
		sb_puts(b, "try ");
		put_block(b, st->then, indent);
		sb_puts(b, " catch ");
		if (st->catch_var)
			sb_printf(b, "(%s) ", st->catch_var);
		put_block(b, st->els, indent);
		sb_putc(b, '\n');
		break;
	case S_EMBEDDED:
		sb_printf(b, "%%{%s%%}\n", st->code);
		break;
	case S_NULL:
		sb_puts(b, ";\n");
		break;
	}
}

/* --------------------------------------------------------- declarations */

void unparse_point(StrBuf *b, const ProbePoint *pp)
{
	for (int i = 0; i < pp->ncomps; i++) {
		const PointComp *c = &pp->comps[i];
		if (i)
			sb_putc(b, '.');
		sb_puts(b, c->name);
		if (c->arg) {
			sb_putc(b, '(');
			put_expr(b, c->arg, P_ASSIGN);
			sb_putc(b, ')');
		}
	}
	if (pp->optional)
		sb_putc(b, '?');
	if (pp->sufficient)
		sb_putc(b, '!');
	if (pp->cond) {
		sb_puts(b, " if (");
		put_expr(b, pp->cond, P_ASSIGN);
		sb_putc(b, ')');
	}
}

static void put_points(StrBuf *b, ProbePoint *const *points, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			sb_puts(b, ", ");
		unparse_point(b, points[i]);
	}
}

static void put_global(StrBuf *b, const Global *g)
{
	sb_printf(b, "%sglobal %s", g->is_private ? "private " : "", g->name);
	if (g->wrap)
		sb_putc(b, '%');
	if (g->is_array_decl)
		sb_printf(b, "[%" PRId64 "]", g->size);
	if (g->init) {
		sb_puts(b, " = ");
		put_expr(b, g->init, P_ASSIGN);
	}
	sb_putc(b, '\n');
}

static void put_probe(StrBuf *b, const Probe *pr)
{
	sb_puts(b, pr->is_private ? "private probe " : "probe ");
	if (pr->is_alias) {
		put_points(b, pr->alias_names, pr->nalias_names);
		sb_puts(b, pr->alias_epilogue ? " += " : " = ");
	}
	put_points(b, pr->points, pr->npoints);
	sb_putc(b, ' ');
	put_block(b, pr->body, 0);
	sb_putc(b, '\n');
}

static void put_typed(StrBuf *b, const char *name, Type t)
{
	sb_puts(b, name);
	if (t == TY_LONG || t == TY_STRING)
		sb_printf(b, ":%s", type_name(t));
}

static void put_function(StrBuf *b, const Func *fn)
{
	sb_puts(b, fn->is_private ? "private function " : "function ");
	put_typed(b, fn->name, fn->ret_declared ? fn->ret : TY_UNKNOWN);
	sb_putc(b, '(');
	for (int i = 0; i < fn->nparams; i++) {
		if (i)
			sb_puts(b, ", ");
		put_typed(b, fn->params[i].name, fn->params[i].type);
	}
	sb_puts(b, ") ");
	if (fn->embedded)
		sb_printf(b, "%%{%s%%}", fn->embedded);
	else
		put_block(b, fn->body, 0);
	sb_putc(b, '\n');
}

void unparse_script(FILE *out, const Script *sc)
{
	StrBuf b = {0};
	sb_puts(&b, "# parse tree dump\n# file ");
	sb_puts(&b, sc->file ? sc->file->name : "<input>");
	sb_putc(&b, '\n');
	for (int i = 0; i < sc->embedded.len; i++)
		sb_printf(&b, "%%{%s%%}\n", (char *)VEC_AT(&sc->embedded, i));
	for (int i = 0; i < sc->globals.len; i++)
		put_global(&b, VEC_AT(&sc->globals, i));
	for (int i = 0; i < sc->probes.len; i++)
		put_probe(&b, VEC_AT(&sc->probes, i));
	for (int i = 0; i < sc->functions.len; i++)
		put_function(&b, VEC_AT(&sc->functions, i));
	fwrite(b.s, 1, b.len, out);
	free(b.s);
}
