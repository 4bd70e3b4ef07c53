/* memtext.c - text read from memory and writes to user memory, in kernel
 * handlers: the primitives under tapset/memtext.stp (_text_mem, _utf_str)
 * and the set_user_* writers.  The C they call is
 * runtime/target/stp_memtext.h.
 *
 * set_kernel_* and set_*_arg never get here: pass 2 refuses them
 * (elab/builtins.c says why), since BPF cannot write kernel memory or the
 * registers of the probed context.
 */
#include "translate.h"

#include <stdlib.h>
#include <string.h>

/* The STP_MEM_* flags of stp_memtext.h that the emitted code depends on. */
enum { MEM_USER = 1, MEM_UTF32 = 8, MEM_HEX = 16 };

/* The STP_MEM_* flags of a primitive: a literal, from the tapset. */
static long long mem_flags(Emitter *e, Expr *x, int i)
{
	if (x->args[i]->kind == E_NUM)
		return (long long)x->args[i]->num;
	emit_fail(e, x->loc, "%s() needs its flags as a literal number", x->name);
	return 0;
}

/* _text_mem(addr, inlen, outlen, flags): stp_text_mem(), an error on a
 * fault unless MEM_HEX gives the address instead. */
static char *emit_text_mem(Emitter *e, Expr *x)
{
	char *addr = emit_expr(e, x->args[0]);
	char *inlen = emit_expr(e, x->args[1]);
	char *outlen = emit_expr(e, x->args[2]);
	long long flags = mem_flags(e, x, 3);
	if (!needs_bpf(e, x, "reads memory"))
		return literal_operand(e, "");
	char *raw = emit_new_str(e);
	char *s = emit_new_str(e);
	if (flags & MEM_HEX) {
		emit_line(e, "stp_text_mem(%s, %s, (uint64_t)%s, %s, %s, %lld);", s, raw, addr, inlen, outlen, flags);
		return s;
	}
	emit_line(e, "if (stp_text_mem(%s, %s, (uint64_t)%s, %s, %s, %lld) < 0) {", s, raw, addr, inlen, outlen, flags);
	e->fn->indent++;
	emit_fault(e, x, "string", (flags & MEM_USER) != 0, addr, false);
	e->fn->indent--;
	emit_line(e, "}");
	return s;
}

/* _utf_str(addr, flags[, err_msg]): stp_utf_str(); a fault or a
 * malformed sequence is an error, or gives err_msg (or, with MEM_HEX,
 * the address). */
static char *emit_utf_str(Emitter *e, Expr *x)
{
	char *addr = emit_expr(e, x->args[0]);
	long long flags = mem_flags(e, x, 1);
	char *err_msg = x->nargs > 2 ? emit_expr(e, x->args[2]) : NULL;
	if (!needs_bpf(e, x, "reads memory"))
		return literal_operand(e, "");
	bool user = flags & MEM_USER;
	const char *utf = flags & MEM_UTF32 ? "UTF-32" : "UTF-16";
	char *raw = emit_new_str(e);
	char *s = emit_new_str(e);
	if (flags & MEM_HEX) {
		emit_line(e, "stp_utf_str(%s, %s, (uint64_t)%s, %lld);", s, raw, addr, flags);
		return s;
	}
	emit_line(e, "{ int r_ = stp_utf_str(%s, %s, (uint64_t)%s, %lld);", s, raw, addr, flags);
	if (err_msg) {
		emit_line(e, "if (r_ < 0) stp_str_copy(%s, %s); }", s, err_msg);
		return s;
	}
	emit_line(e, "if (r_ == -1) {");
	e->fn->indent++;
	emit_fault(e, x, "string", user, addr, false);
	e->fn->indent--;
	emit_line(e, "}");
	emit_line(e, "if (r_ == -2) {");
	e->fn->indent++;
	char *fmt = xasprintf("%s %s conversion error at 0x%%llx", user ? "user" : "kernel", utf);
	char *site = xasprintf("%s %s conversion error", user ? "user" : "kernel", utf);
	emit_fault_text(e, x, fmt, site, addr, false);
	free(fmt);
	free(site);
	e->fn->indent--;
	emit_line(e, "} }");
	return s;
}

static const struct {
	const char *name, *ctype, *what;
} user_writers[] = {
	{"set_user_char", "int8_t", "char"},    {"set_user_short", "int16_t", "short"},
	{"set_user_int", "int32_t", "int"},     {"set_user_long", "int64_t", "long"},
	{"set_user_pointer", "uint64_t", "pointer"},
};

/* set_user_char(addr, val) and its sizes. */
static char *emit_user_num_write(Emitter *e, Expr *x, const char *ctype, const char *what)
{
	char *addr = emit_expr(e, x->args[0]);
	char *val = emit_expr(e, x->args[1]);
	if (!needs_bpf(e, x, "writes user memory"))
		return xstrdup("0");
	emit_line(e, "{ %s v_ = (%s)%s;", ctype, ctype, val);
	emit_line(e, "if (bpf_probe_write_user((void *)%s, &v_, sizeof v_) < 0) {", addr);
	e->fn->indent++;
	emit_fault(e, x, what, true, addr, false);
	e->fn->indent--;
	emit_line(e, "} }");
	return xstrdup("0");
}

/* set_user_string(addr, s), set_user_string_n(addr, n, s) and
 * set_user_string_arg(addr, s), which warns on a fault instead. */
static char *emit_user_str_write(Emitter *e, Expr *x)
{
	bool has_n = x->nargs == 3;
	char *addr = emit_expr(e, x->args[0]);
	char *n = has_n ? emit_expr(e, x->args[1]) : NULL;
	char *s = emit_expr(e, x->args[has_n ? 2 : 1]);
	if (!needs_bpf(e, x, "writes user memory"))
		return xstrdup("0");
	char *limit = n ? xasprintf("(%s) < 0 ? 0 : (%s)", n, n) : xstrdup("-1");
	emit_line(e, "if (stp_write_user_str((uint64_t)%s, %s, %s) < 0) {", addr, s, limit);
	e->fn->indent++;
	emit_fault(e, x, "string", true, addr, !strcmp(x->name, "set_user_string_arg"));
	e->fn->indent--;
	emit_line(e, "}");
	free(limit);
	return xstrdup("0");
}

char *emit_mem_text(Emitter *e, Expr *x)
{
	const char *n = x->name;
	if (!strcmp(n, "_text_mem"))
		return emit_text_mem(e, x);
	if (!strcmp(n, "_utf_str"))
		return emit_utf_str(e, x);
	for (size_t i = 0; i < sizeof user_writers / sizeof user_writers[0]; i++)
		if (!strcmp(n, user_writers[i].name))
			return emit_user_num_write(e, x, user_writers[i].ctype, user_writers[i].what);
	if (!strcmp(n, "set_user_string") || !strcmp(n, "set_user_string_n") || !strcmp(n, "set_user_string_arg"))
		return emit_user_str_write(e, x);
	return NULL;
}
