/* embedded.c - embedded C in guru mode (stap -g).
 *
 * Embedded C is copied verbatim into the unit of each context that runs
 * it, as any other code is:
 *   - a function body %{ ... %} into the BPF unit when a kernel handler
 *     calls the function, into the host unit when a user-space handler
 *     does (both when both do), between definitions of stap's macros
 *     (STAP_ARG_*, STAP_RETVALUE, STAP_RETURN, STAP_ERROR, STAP_PRINTF);
 *   - an expression %{ e %} (a long, or a string with the marker
 *     string in a comment) and a statement %{ s %} where they stand;
 *   - top-level %{ %} blocks at the top of both units, after the
 *     runtime headers (STP_BPF or STP_HOST tells the units apart).
 * Each piece is preceded by a #line directive naming the script, so the
 * compiler's messages point into the script; a marker line after it
 * becomes a #line back to the unit's own numbering once the unit is
 * complete (embedded_restore_lines).
 */
#include "translate/translate.h"

#include <stdlib.h>
#include <string.h>

#define RESUME_MARKER "#line __STP_RESUME__"

/* #line LINE "FILE": the script position the next line comes from. */
static void put_line_directive(StrBuf *b, SrcLoc loc)
{
	sb_printf(b, "#line %d \"", loc.line > 0 ? loc.line : 1);
	for (const char *s = loc.file ? loc.file->name : "<input>"; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_putc(b, '\\');
		sb_putc(b, *s);
	}
	sb_puts(b, "\"\n");
}

/* The code of one %{ %}, as written, with the script's line numbers. */
static void put_code(StrBuf *b, const char *code, SrcLoc loc)
{
	put_line_directive(b, loc);
	sb_puts(b, code);
	sb_puts(b, "\n" RESUME_MARKER "\n");
}

/* The macros stap gives an embedded-C function: its parameters, its
 * return value, and how to return, fail or print. */
static void define_function_macros(Emitter *e, StrBuf *b, Func *f)
{
	for (int i = 0; i < f->nparams; i++)
		sb_printf(b, "#define STAP_ARG_%s (F->l_%s)\n", f->params[i].name, f->params[i].name);
	if (f->ret == TY_STRING) {
		sb_puts(b, "#define STAP_RETVALUE (F->ret_s)\n");
		sb_puts(b, "#define STAP_RETURN(v) do { stp_str_copy(F->ret_s, (v)); goto out; } while (0)\n");
	} else if (f->ret == TY_LONG) {
		sb_puts(b, "#define STAP_RETVALUE (F->ret)\n");
		sb_puts(b, "#define STAP_RETURN(v) do { F->ret = (v); goto out; } while (0)\n");
	} else {
		sb_puts(b, "#define STAP_RETURN() goto out\n");
	}
	int id = emit_error_site(e, "", "", (SrcLoc){0});
	if (e->target == T_BPF) {
		sb_printf(b, "#define STAP_ERROR(...) do { stp_emb_snprintf(F->errmsg, STP_STRLEN, __VA_ARGS__); "
			     "K->error = %d; goto out; } while (0)\n", id + 1);
		/* strlcat needs room for both strings: the frame's temporary */
		sb_puts(b, "#define strlcat(dst, src, size) ((void)(size), stp_str_concat(F->s0, (dst), (src)), "
			   "stp_str_copy((dst), F->s0))\n");
	} else {
		sb_printf(b, "#define STAP_ERROR(...) do { snprintf(F->errmsg, STP_STRLEN, __VA_ARGS__); "
			     "K->error = %d; goto out; } while (0)\n", id + 1);
	}
	sb_puts(b, "#define STAP_PRINTF(...) stp_emb_printf(K, __VA_ARGS__)\n");
}

static void undefine_function_macros(Emitter *e, StrBuf *b, Func *f)
{
	for (int i = 0; i < f->nparams; i++)
		sb_printf(b, "#undef STAP_ARG_%s\n", f->params[i].name);
	if (f->ret == TY_STRING || f->ret == TY_LONG)
		sb_puts(b, "#undef STAP_RETVALUE\n");
	sb_puts(b, "#undef STAP_RETURN\n#undef STAP_ERROR\n#undef STAP_PRINTF\n");
	if (e->target == T_BPF)
		sb_puts(b, "#undef strlcat\n");
}

void emit_embedded_function(Emitter *e, Func *f)
{
	StrBuf *b = &e->fn->body;
	define_function_macros(e, b, f);
	put_code(b, f->embedded, f->embedded_loc);
	undefine_function_macros(e, b, f);
}

/* %{ code %} as an expression: a long, or a string when it says so (the
 * type pass read the same marker). */
char *emit_embedded_expr(Emitter *e, Expr *x)
{
	StrBuf *b = &e->fn->body;
	if (x->type == TY_STRING) {
		char *dst = emit_new_str(e);
		sb_printf(b, "stp_str_copy(%s, (\n", dst);
		put_code(b, x->str, x->loc);
		sb_puts(b, "));\n");
		return dst;
	}
	char *t = emit_new_long(e);
	sb_printf(b, "%s = (int64_t)(\n", t);
	put_code(b, x->str, x->loc);
	sb_puts(b, ");\n");
	return t;
}

/* %{ code %} as a statement: a block of its own. */
void emit_embedded_stmt(Emitter *e, Stmt *st)
{
	StrBuf *b = &e->fn->body;
	sb_puts(b, "{\n");
	put_code(b, st->code, st->loc);
	sb_puts(b, "}\n");
}

/* Guru mode, or embedded-C functions a tapset brought in. */
static bool unit_needs_embedded(Session *s, const Program *p)
{
	return s->guru || p->nembeds > 0;
}

/* The helpers of stp_embedded.h and the top-level blocks, before the
 * functions and handlers of either unit. */
void emit_embedded_toplevel(StrBuf *b, Session *s, Program *p)
{
	if (!unit_needs_embedded(s, p))
		return;
	sb_puts(b, "#include \"stp_embedded.h\"\n");
	for (int i = 0; i < p->embedded.len; i++) {
		SrcLoc *loc = VEC_AT(&p->embedded_locs, i);
		put_code(b, VEC_AT(&p->embedded, i), *loc);
	}
	sb_puts(b, "\n");
}

/* Every marker line becomes "#line N+1 "name"": the lines after it are
 * the unit's own again. */
char *embedded_restore_lines(char *text, const char *name, bool *found)
{
	if (!text || !strstr(text, RESUME_MARKER))
		return text;
	*found = true;
	StrBuf b = {0};
	int line = 1;
	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		if (n == strlen(RESUME_MARKER) && !memcmp(s, RESUME_MARKER, n))
			sb_printf(&b, "#line %d \"%s\"", line + 1, name);
		else
			sb_putn(&b, s, n);
		if (!nl)
			break;
		sb_putc(&b, '\n');
		s = nl + 1;
		line++;
	}
	free(text);
	return sb_steal(&b);
}
