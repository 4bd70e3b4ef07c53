/* test_parse.c - the parser: precedence, statements, declarations,
 * errors, recovery, and the -p1 round trip. */
#include "unit.h"
#include "p1_helpers.h"

/* The -p1 text of one expression statement inside "probe begin". */
static char *expr_p1(Session *s, const char *e)
{
	char *src = xasprintf("probe begin { %s }", e);
	char *out = p1_of(s, src);
	free(src);
	/* "probe begin {\n\tEXPR;\n}\n" -> "EXPR" */
	char *start = strchr(out, '\t');
	char *end = start ? strstr(start, ";\n}") : NULL;
	char *r = start && end ? xstrndup(start + 1, (size_t)(end - start - 1)) : xstrdup(out);
	free(out);
	return r;
}

static void render(StrBuf *b, const Expr *e)
{
	switch (e->kind) {
	case E_NUM: sb_printf(b, "%lld", (long long)e->num); return;
	case E_SYM: sb_puts(b, e->name); return;
	case E_STR: sb_printf(b, "\"%s\"", e->str); return;
	case E_IN:
		sb_puts(b, "(in");
		for (int i = 0; i < e->nargs; i++) {
			sb_putc(b, ' ');
			render(b, e->args[i]);
		}
		sb_printf(b, " %s)", e->name);
		return;
	case E_INCDEC:
		sb_printf(b, "(%s%s ", e->op, e->postfix ? "post" : "pre");
		render(b, e->args[0]);
		sb_putc(b, ')');
		return;
	default:
		if (!e->op || !e->nargs) {
			sb_puts(b, "?");
			return;
		}
		sb_printf(b, "(%s", e->kind == E_TERNARY ? "?:" : e->op);
		for (int i = 0; i < e->nargs; i++) {
			sb_putc(b, ' ');
			render(b, e->args[i]);
		}
		sb_putc(b, ')');
	}
}

/* Each expression, printed with the precedence made visible. */
static void check_tree(const char *unit_name, Session *s, const char *src, const char *want)
{
	Script *sc = parse_text(s, "<t>", xasprintf("probe begin { %s }", src), false);
	Probe *p = sc->probes.len ? VEC_AT(&sc->probes, 0) : NULL;
	if (!p || p->body->nbody != 1) {
		printf("FAIL %s: did not parse: %s\n", unit_name, src);
		unit_failed_now = 1;
		return;
	}
	StrBuf b = {0};
	const Expr *e = p->body->body[0]->expr;
	/* a fully parenthesised rendering: (op a b) */
	render(&b, e);
	CHECK_STR(b.s, want);
	free(b.s);
}

TEST(precedence_table)
{
	Session *s = new_session();
	check_tree(unit_name, s, "a = b = c", "(= a (= b c))");
	check_tree(unit_name, s, "a += b ? c : d", "(+= a (?: b c d))");
	check_tree(unit_name, s, "a ? b : c ? d : e", "(?: a b (?: c d e))");
	check_tree(unit_name, s, "a ? b = 1 : c", "(?: a (= b 1) c)");
	check_tree(unit_name, s, "a ? b : c = 4", "(= (?: a b c) 4)");
	check_tree(unit_name, s, "a || b && c", "(|| a (&& b c))");
	check_tree(unit_name, s, "a && b | c", "(&& a (| b c))");
	check_tree(unit_name, s, "a | b ^ c & d", "(| a (^ b (& c d)))");
	check_tree(unit_name, s, "a & b in c", "(& a (in b c))");
	check_tree(unit_name, s, "a == b in c", "(in (== a b) c)");
	check_tree(unit_name, s, "[a, b] in c && d", "(&& (in a b c) d)");
	check_tree(unit_name, s, "!a in c", "(in (! a) c)");
	check_tree(unit_name, s, "a < b == c", "(== (< a b) c)");
	check_tree(unit_name, s, "a =~ \"x\" != 0", "(!= (=~ a \"x\") 0)");
	check_tree(unit_name, s, "a < b << c", "(< a (<< b c))");
	check_tree(unit_name, s, "a << b . c", "(<< a (. b c))");
	check_tree(unit_name, s, "a >>> 2 >> 3", "(>> (>>> a 2) 3)");
	check_tree(unit_name, s, "a . b + c", "(. a (+ b c))");
	check_tree(unit_name, s, "a . b . c", "(. (. a b) c)");
	check_tree(unit_name, s, "a + b * c", "(+ a (* b c))");
	check_tree(unit_name, s, "a - b - c", "(- (- a b) c)");
	check_tree(unit_name, s, "a / b % c * d", "(* (% (/ a b) c) d)");
	check_tree(unit_name, s, "-a * b", "(* (- a) b)");
	check_tree(unit_name, s, "-a++", "(- (++post a))");
	check_tree(unit_name, s, "~!a", "(~ (! a))");
	check_tree(unit_name, s, "++a + b--", "(+ (++pre a) (--post b))");
	check_tree(unit_name, s, "-5 * 3", "(* -5 3)");
	check_tree(unit_name, s, "- -5", "(- -5)");
	check_tree(unit_name, s, "a <<< b + 1", "(<<< a (+ b 1))");
	check_tree(unit_name, s, "(a + b) * c", "(* (+ a b) c)");
}

TEST(canonical_text_has_minimal_parentheses)
{
	Session *s = new_session();
	char *r;
	CHECK_STR(r = expr_p1(s, "x = ((a + b)) * (c)"), "x = (a + b) * c"); free(r);
	CHECK_STR(r = expr_p1(s, "x = a - (b - c)"), "x = a - (b - c)"); free(r);
	CHECK_STR(r = expr_p1(s, "x = (a - b) - c"), "x = a - b - c"); free(r);
	CHECK_STR(r = expr_p1(s, "x = -(-a)"), "x = - -a"); free(r);
	CHECK_STR(r = expr_p1(s, "x = !(k in a)"), "x = !(k in a)"); free(r);
	CHECK_STR(r = expr_p1(s, "x = (1 in a) == 0"), "x = (1 in a) == 0"); free(r);
	CHECK_STR(r = expr_p1(s, "x = a ? b : (c = 4)"), "x = a ? b : (c = 4)"); free(r);
	CHECK_STR(r = expr_p1(s, "x = (a ? b : c) ? d : e"), "x = (a ? b : c) ? d : e"); free(r);
	CHECK_STR(r = expr_p1(s, "x = \"a\\tb\\\"\\\\\\001\" \"c\""), "x = \"a\\tb\\\"\\\\\\001c\""); free(r);
	CHECK_STR(r = expr_p1(s, "x = 0x10 + 010"), "x = 16 + 8"); free(r);
}

TEST(statements)
{
	Session *s = new_session();
	Script *sc = parse_text(s, "<t>",
		"probe begin { if (a) b; else c\n for (i = 0; i < 3; i++) ; while (x) {}\n"
		"do x++ ; while (x < 3)\n foreach (v = [k1, k2-] in arr limit 5) {}\n"
		"try { a } catch (e) { b }\n break continue next delete a[1] ; ; %( 1 == 1 %? x %: y %) }\n"
		"function f() { return 1; return }", false);
	CHECK(s->errors == 0);
	Probe *p = VEC_AT(&sc->probes, 0);
	StmtKind want[] = { S_IF, S_FOR, S_FOR, S_DO, S_FOREACH, S_TRY, S_BREAK, S_CONTINUE, S_NEXT, S_DELETE, S_NULL, S_EXPR };
	CHECK(p->body->nbody == 12);
	for (int i = 0; i < p->body->nbody && i < 12; i++)
		CHECK(p->body->body[i]->kind == want[i]);
	Stmt *fe = p->body->body[4];
	CHECK_STR(fe->fe->value, "v");
	CHECK(fe->fe->nkeys == 2 && fe->fe->bracketed && fe->fe->sort_key == 2 && fe->fe->sort_dir == -1);
	CHECK(fe->fe->limit && fe->fe->limit->num == 5);
	CHECK_STR(fe->fe->array, "arr");
	Stmt *tr = p->body->body[5];
	CHECK_STR(tr->catch_var, "e");
	CHECK(p->body->body[1]->init && p->body->body[1]->incr && p->body->body[1]->then->kind == S_NULL);
	CHECK(p->body->body[2]->init == NULL && p->body->body[2]->expr != NULL);
	Func *f = VEC_AT(&sc->functions, 0);
	CHECK(f->body->nbody == 2 && f->body->body[0]->expr && !f->body->body[1]->expr);
}

TEST(declarations)
{
	Session *s = new_session();
	Script *sc = parse_text(s, "<t>",
		"global a = 1, b[100], c%[10], d%, e = \"x\", f = -5\nprivate g\n"
		"function h:string (x:long, y) { }\n"
		"probe n.m = kernel.function(\"x\").return ?, c.d! if (a) { }\n"
		"probe n.m += e { }\nprobe begin(-1), timer.ms(100).randomize(5) { }", false);
	CHECK(s->errors == 0);
	CHECK(sc->globals.len == 7);
	Global *g[7];
	for (int i = 0; i < 7; i++)
		g[i] = VEC_AT(&sc->globals, i);
	CHECK(g[0]->init && g[0]->init->num == 1);
	CHECK(g[1]->is_array_decl && g[1]->size == 100 && !g[1]->wrap);
	CHECK(g[2]->is_array_decl && g[2]->size == 10 && g[2]->wrap);
	CHECK(!g[3]->is_array_decl && g[3]->wrap);
	CHECK(g[4]->init->kind == E_STR && g[5]->init->num == -5);
	CHECK(g[6]->is_private);
	Func *f = VEC_AT(&sc->functions, 0);
	CHECK(f->ret == TY_STRING && f->ret_declared && f->nparams == 2);
	CHECK(f->params[0].type == TY_LONG && f->params[1].type == TY_UNKNOWN);
	Probe *al = VEC_AT(&sc->probes, 0);
	CHECK(al->is_alias && !al->alias_epilogue && al->nalias_names == 1 && al->npoints == 2);
	CHECK(al->points[0]->optional && al->points[1]->sufficient && al->points[1]->cond);
	CHECK_STR(al->points[0]->comps[2].name, "return");
	CHECK_STR(al->points[0]->comps[1].arg->str, "x");
	Probe *ep = VEC_AT(&sc->probes, 1);
	CHECK(ep->is_alias && ep->alias_epilogue);
	Probe *b = VEC_AT(&sc->probes, 2);
	CHECK(b->points[0]->comps[0].arg->num == -1);
	CHECK(b->points[1]->ncomps == 3 && b->points[1]->comps[2].arg->num == 5);
}

TEST(embedded_code_and_pragmas)
{
	Session *s = new_session();
	s->guru = true;
	Script *sc = parse_text(s, "<t>", "%{ #include <x.h> %}\n"
		"function f:long() %{ /* pure */ /* pragma:read:a */ /* pragma:unprivileged */ %}", false);
	CHECK(s->errors == 0 && sc->embedded.len == 1);
	Func *f = VEC_AT(&sc->functions, 0);
	CHECK(f->embedded && f->npragmas == 2);
	CHECK_STR(f->pragmas[0], "read:a");
	CHECK_STR(f->pragmas[1], "unprivileged");
	s = new_session();
	capture_begin();
	parse_text(s, "<t>", "probe begin { %{ x %} }", false);
	const char *err = capture_end();
	CHECK(s->errors == 1);
	CHECK_STR(err, "parse error: embedded code in unprivileged script; need stap -g\n"
		       "        saw: embedded-code at <t>:1:15\n"
		       "     source: probe begin { %{ x %} }\n"
		       "                           ^\n\n");
	/* tapsets may use embedded C without -g */
	s = new_session();
	parse_text(s, "tapset.stp", "function g() %{ %}", true);
	CHECK(s->errors == 0);
}

TEST(error_layout)
{
	Session *s = new_session();
	capture_begin();
	parse_text(s, "<t>", "probe begin {\n\tx = 1 +  }", false);
	const char *err = capture_end();
	CHECK_STR(err, "parse error: expected literal string or number\n"
		       "        saw: operator '}' at <t>:2:11\n"
		       "     source: \tx = 1 +  }\n"
		       "             \t         ^\n\n");
	capture_begin();
	parse_text(s, "<t>", "probe begin { x = 1 ", false);
	err = capture_end();
	CHECK_STR(err, "parse error: expected statement\n        saw: <t> EOF\n\n");
}

TEST(several_errors_and_recovery)
{
	Session *s = new_session();
	capture_begin();
	Script *sc = parse_text(s, "<t>",
		"probe begin { x = }\nglobal ok\nprobe end { if x }\nfunction f(a b) {}\n"
		"probe good { y = 1 }\nfoo bar\nprobe begin { return }\nfunction g() { return 2 }", false);
	const char *err = capture_end();
	CHECK(s->errors == 5);
	CHECK(strstr(err, "at <t>:1:19") && strstr(err, "at <t>:3:16") && strstr(err, "at <t>:4:14") &&
	      strstr(err, "identifier 'foo' at <t>:6:1") && strstr(err, "found 'return' not in function context"));
	CHECK(sc->globals.len == 1 && sc->probes.len == 1 && sc->functions.len == 1);
}

TEST(nesting_is_bounded)
{
	Session *s = new_session();
	StrBuf b = {0};
	sb_puts(&b, "probe begin { x = ");
	for (int i = 0; i < 100000; i++)
		sb_putc(&b, '(');
	sb_puts(&b, "1 }\nprobe end { }");
	capture_begin();
	Script *sc = parse_text(s, "<t>", b.s, false);
	const char *err = capture_end();
	CHECK(s->errors == 1 && strstr(err, "nesting too deep"));
	CHECK(sc->probes.len == 1);
	free(b.s);
}

TEST(round_trip)
{
	const char *src =
		"global a%[10], b = -3\n"
		"probe x.y = begin, end? if (b > 0) { z = 1 }\n"
		"probe begin {\n"
		"  if (a) if (b) c; else d\n"
		"  if (a) { if (b) c } else d\n"
		"  x = - -1 - -a; y = !(1 in a) . \"s\\n\" . @count(s) ? 1 : 2\n"
		"  foreach ([k-, v] in a limit 3) { try { delete a[k] } catch { next } }\n"
		"  do { x <<= 2 } while (x < 100)\n"
		"  z = $p->q[3]->r$ + @cast(p, \"t\")->f + @entry($x) + &$y\n"
		"}\n"
		"function f:long (n:long) { while (n) n--; return n }\n";
	Session *s = new_session();
	char *once = p1_of(s, src);
	char *twice = p1_of(s, once);
	CHECK_STR(twice, once);
	CHECK(s->errors == 0);
	free(once);
	free(twice);
}

int main(void)
{
	RUN(precedence_table);
	RUN(canonical_text_has_minimal_parentheses);
	RUN(statements);
	RUN(declarations);
	RUN(embedded_code_and_pragmas);
	RUN(error_layout);
	RUN(several_errors_and_recovery);
	RUN(nesting_is_bounded);
	RUN(round_trip);
	UNIT_EXIT();
}
