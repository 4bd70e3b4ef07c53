/* ast.c - one walk over a statement tree, for the passes that only look.
 *
 * Statements are visited before their parts, expressions after their
 * operands (arguments, then member-chain indexes): nested nodes are seen
 * first, which is the order diagnostics are reported in and the order
 * @cast targets are resolved in.  A statement's parts come in a fixed
 * order: block body, expr, incr, init, then, else, foreach array and
 * limit.  A callback that returns true stops the walk.
 */
#include "stap.h"

bool ast_walk_expr(Expr *x, const AstWalk *w)
{
	if (!x)
		return false;
	for (int i = 0; i < x->nargs; i++)
		if (ast_walk_expr(x->args[i], w))
			return true;
	for (int i = 0; i < x->ncomps; i++)
		if (ast_walk_expr(x->comps[i].expr, w))
			return true;
	return w->expr && w->expr(x, w->arg);
}

bool ast_walk_stmt(Stmt *st, const AstWalk *w)
{
	if (!st)
		return false;
	if (w->stmt && w->stmt(st, w->arg))
		return true;
	for (int i = 0; i < st->nbody; i++)
		if (ast_walk_stmt(st->body[i], w))
			return true;
	if (ast_walk_expr(st->expr, w) || ast_walk_expr(st->incr, w) || ast_walk_stmt(st->init, w) ||
	    ast_walk_stmt(st->then, w) || ast_walk_stmt(st->els, w))
		return true;
	return st->fe && (ast_walk_expr(st->fe->array_expr, w) || ast_walk_expr(st->fe->limit, w));
}
