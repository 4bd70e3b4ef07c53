/* targetvars.c - context values in kernel handlers: $vars of a probe
 * point, member chains ($p->f->g) and @cast, read with CO-RE.
 */
#include "translate.h"
#include "elab/dwarf.h"
#include "elab/kernel.h"

#include <stdlib.h>
#include <string.h>
/* Record what a CO-RE expression needs declared in the BPF unit. */
static void need_btf_types(Emitter *e, const TargetAccess *ta)
{
	for (int i = 0; i < ta->btf_types.len; i++)
		vec_push(e->btf_needs, VEC_AT(&ta->btf_types, i));
}

/* Read x's member chain from the pointer value in `base`, as CO-RE reads
 * written by the kernel side (elab/btf.c); shared by $var->... and @cast. */
static char *emit_chain_read(Emitter *e, Expr *x, TargetAccess *ta, const char *base)
{
	char **idx = xcalloc((size_t)x->ncomps + 1, sizeof *idx);
	for (int i = 0; i < x->ncomps; i++)
		if (x->comps[i].kind == COMP_INDEX_EXPR && x->comps[i].expr)
			idx[i] = emit_expr(e, x->comps[i].expr);
	char *err = NULL;
	int err_at = -1;
	char *base_expr = xasprintf("((uint64_t)%s)", base);
	TargetAccess *r = kernel_member_access(e->s, ta, base_expr, x->comps, x->ncomps, idx, x->addressof, &err,
					       &err_at);
	free(idx);
	free(base_expr);
	if (!r) {
		SrcLoc loc = err_at >= 0 && err_at < x->ncomps ? x->comps[err_at].loc : x->loc;
		emit_fail(e, loc, "%s", err ? err : "cannot resolve the member chain");
		free(err);
		return xstrdup("0");
	}
	need_btf_types(e, r);
	if (r->type == TY_STRING) {
		char *str = emit_new_str(e);
		int n = r->size > 0 && r->size < (int)e->s->limits.maxstringlen ? r->size : (int)e->s->limits.maxstringlen;
		emit_line(e, "if (bpf_probe_read_kernel_str(%s, %d, (void *)(%s)) < 0) %s[0] = 0;", str, n, r->c_expr, str);
		return str;
	}
	char *t = emit_new_long(e);
	emit_line(e, "%s = (int64_t)(%s);", t, r->c_expr);
	return t;
}

/* The C type a value of `size` bytes is truncated to before it widens
 * to a long: stap gives an int argument's -1 as -1, an unsigned one's as
 * 4294967295. */
static const char *sized_c_type(int size, bool is_signed)
{
	switch (size) {
	case 1: return is_signed ? "int8_t" : "uint8_t";
	case 2: return is_signed ? "int16_t" : "uint16_t";
	case 4: return is_signed ? "int32_t" : "uint32_t";
	default: return "int64_t";
	}
}

/* A function probe's argument or return value: the words the program
 * wrapper put in K->args / K->retval (unit.c), whatever the attachment. */
static char *func_value(const TargetAccess *ta)
{
	if (ta->kind == TA_FUNC_RET)
		return xasprintf("(%s)K->retval", sized_c_type(ta->size, ta->is_signed));
	return xasprintf("(%s)K->args[%d]", sized_c_type(ta->size, ta->is_signed), ta->index & 15); /* USDT: up to 12 */
}

/* $var->member[...]->member: the base's value, then the chain. */
static char *emit_member_chain(Emitter *e, Expr *x, TargetAccess *ta, int off)
{
	char *base = emit_new_long(e);
	if (ta->kind == TA_FUNC_ARG || ta->kind == TA_FUNC_RET)
		emit_line(e, "%s = (int64_t)%s;", base, func_value(ta));
	else if (ta->kind == TA_TP_ARG)
		emit_line(e, "{ uint64_t v_ = 0; bpf_probe_read_kernel(&v_, 8, (uint64_t *)K->ctx + %d); %s = (int64_t)v_; }",
			  ta->index, base);
	else if (ta->kind == TA_CTX_FIELD || ta->kind == TA_SYSCALL_ARG)
		emit_line(e, "{ uint64_t v_ = 0; bpf_probe_read_kernel(&v_, %d, (char *)K->ctx + %d); %s = (int64_t)v_; }",
			  ta->size > 0 && ta->size < 8 ? ta->size : 8, off, base);
	else {
		emit_fail(e, x->loc, "target variable '%s' needs kernel function probes, which this build cannot read yet",
			  x->name);
		return xstrdup("0");
	}
	return emit_chain_read(e, x, ta, base);
}

/* @cast(p, "type")->member...: the pointer's value, then the chain. */
char *emit_cast(Emitter *e, Expr *x)
{
	char *p = emit_expr(e, x->args[0]);
	if (!x->ncomps)
		return p;
	if (e->target != T_BPF) {
		emit_fail(e, x->loc, "@cast reads kernel memory, in kernel-context probes only");
		return xstrdup("0");
	}
	TargetAccess *ta = x->target;
	if (!ta) {
		emit_fail(e, x->loc, "@cast to an unknown type");
		return xstrdup("0");
	}
	return emit_chain_read(e, x, ta, p);
}

/* A user program's variable and its member chain, located from DWARF
 * (elab/dwarf.h): registers of the uprobe and reads of user memory. */
static char *emit_user_var(Emitter *e, Expr *x, TargetAccess *ta)
{
	char **idx = xcalloc((size_t)x->ncomps + 1, sizeof *idx);
	for (int i = 0; i < x->ncomps; i++)
		if (x->comps[i].kind == COMP_INDEX_EXPR && x->comps[i].expr)
			idx[i] = emit_expr(e, x->comps[i].expr);
	char *err = NULL;
	int err_at = -1;
	TargetAccess *r = udwarf_access(ta, x->comps, x->ncomps, idx, &err, &err_at);
	free(idx);
	if (!r) {
		emit_fail(e, err_at >= 0 ? x->comps[err_at].loc : x->loc, "%s", err ? err : "cannot read this variable");
		free(err);
		return xstrdup("0");
	}
	if (r->type == TY_STRING) {
		char *str = emit_new_str(e);
		int n = r->size > 0 && r->size < (int)e->s->limits.maxstringlen ? r->size + 1
										   : (int)e->s->limits.maxstringlen;
		emit_line(e, "if (bpf_probe_read_user_str(%s, %d, (void *)(%s)) < 0) %s[0] = 0;", str, n, r->c_expr, str);
		emit_line(e, "%s[%d] = 0;", str, n - 1);
		kernel_free_access(r);
		return str;
	}
	char *t = emit_new_long(e);
	emit_line(e, "%s = %s;", t, r->c_expr);
	kernel_free_access(r);
	return t;
}

char *emit_target_var(Emitter *e, Expr *x)
{
	TargetAccess *ta = x->target;
	if (!ta) {
		emit_fail(e, x->loc, "target variable '%s' is not available here", x->name);
		return xstrdup("0");
	}
	if (e->target != T_BPF) {
		emit_fail(e, x->loc, "target variable '%s' used outside a kernel-context probe", x->name);
		return xstrdup("0");
	}
	if (ta->uvar)
		return emit_user_var(e, x, ta);
	int off = ta->offset;
	if (ta->kind == TA_SYSCALL_ARG)
		off = 16 + 8 * ta->index;
	if (ta->kind == TA_TP_ARG)
		e->uses_tp_args = true;
	else if (ta->kind == TA_CTX_FIELD)
		e->uses_tp_fields = true;
	if (x->ncomps > 0)
		return emit_member_chain(e, x, ta, off);
	if (x->addressof) {
		/* &$field of a tracepoint: where the record holds it (pass 2
		 * refuses the others) */
		char *t = emit_new_long(e);
		emit_line(e, "%s = (int64_t)(unsigned long)((char *)K->ctx + %d);", t, off);
		return t;
	}
	if (ta->kind == TA_TP_ARG) {
		/* a raw tracepoint's context is the prototype's arguments, u64 each */
		char *t = emit_new_long(e);
		emit_line(e, "{ uint64_t v_ = 0; bpf_probe_read_kernel(&v_, 8, (uint64_t *)K->ctx + %d); %s = (int64_t)v_; }",
			  ta->index, t);
		return t;
	}
	if (ta->kind == TA_FUNC_ARG || ta->kind == TA_FUNC_RET) {
		char *t = emit_new_long(e);
		emit_line(e, "%s = (int64_t)%s;", t, func_value(ta));
		return t;
	}
	if (ta->kind == TA_C_EXPR && ta->type == TY_STRING) {
		/* c_expr is the address of a NUL-terminated string */
		char *s = emit_new_str(e);
		emit_line(e, "stp_str_copy(%s, %s);", s, ta->c_expr);
		return s;
	}
	if (ta->kind == TA_C_EXPR) {
		char *t = emit_new_long(e);
		emit_line(e, "%s = (int64_t)(%s);", t, ta->c_expr);
		return t;
	}
	if (ta->kind != TA_CTX_FIELD && ta->kind != TA_SYSCALL_ARG) {
		emit_fail(e, x->loc, "target variable '%s' needs kernel function probes, which this build cannot read yet",
			  x->name);
		return xstrdup("0");
	}
	if (ta->type == TY_STRING) {
		char *s = emit_new_str(e);
		switch (ta->strkind) {
		case TA_STR_ARRAY:
			emit_line(e, "if (bpf_probe_read_kernel_str(%s, %d, (char *)K->ctx + %d) < 0) %s[0] = 0;", s,
				  ta->size < 1 || ta->size > 4096 ? 1 : ta->size, off, s);
			emit_line(e, "%s[STP_STRLEN - 1] = 0;", s);
			break;
		case TA_STR_DATA_LOC:
			emit_line(e, "{ uint32_t l_ = 0; bpf_probe_read_kernel(&l_, 4, (char *)K->ctx + %d);", off);
			emit_line(e, "  if (bpf_probe_read_kernel_str(%s, STP_STRLEN, (char *)K->ctx + (l_ & 0xffff)) < 0) %s[0] = 0; }",
				  s, s);
			break;
		case TA_STR_UPTR:
		case TA_STR_KPTR:
			emit_line(e, "{ uint64_t p_ = 0; bpf_probe_read_kernel(&p_, 8, (char *)K->ctx + %d);", off);
			emit_line(e, "  if (bpf_probe_read_%s_str(%s, STP_STRLEN, (void *)p_) < 0) %s[0] = 0; }",
				  ta->strkind == TA_STR_UPTR ? "user" : "kernel", s, s);
			break;
		default:
			emit_line(e, "%s[0] = 0;", s);
		}
		return s;
	}
	char *t = emit_new_long(e);
	int size = ta->kind == TA_SYSCALL_ARG ? 8 : ta->size;
	const char *ctype = sized_c_type(size, ta->is_signed);
	emit_line(e, "{ %s v_ = 0; bpf_probe_read_kernel(&v_, sizeof v_, (char *)K->ctx + %d); %s = (int64_t)v_; }",
		  ctype, off, t);
	return t;
}


/* @var("name[@file]"[, "module"]): a kernel global, by its address as the
 * running kernel's symbol table gives it (a typeless __ksym extern, which
 * libbpf resolves from kallsyms at load time, so the module is not tied
 * to one kernel's addresses).  BTF describes only per-CPU variables, not
 * ordinary globals, so the value is read as one 8-byte word (jiffies,
 * counters, pointers) and member chains, which need the variable's type,
 * are refused.  The @file part names a source file, which only DWARF
 * could check: it is accepted and not checked. */
char *emit_var_at(Emitter *e, Expr *x)
{
	TargetAccess *ta = x->target;
	if (ta && ta->uvar && e->target == T_BPF)
		return emit_user_var(e, x, ta); /* a user program's global (elab/types.c) */
	if (e->target != T_BPF) {
		emit_fail(e, x->loc, "@var reads kernel memory, in kernel-context probes only");
		return xstrdup("0");
	}
	const char *spec = x->str ? x->str : "";
	const char *at = strchr(spec, '@');
	char *name = at ? xstrndup(spec, (size_t)(at - spec)) : xstrdup(spec);
	bool ok = *name != 0;
	for (const char *c = name; *c; c++)
		ok = ok && (*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (c != name && *c >= '0' && *c <= '9'));
	if (!ok) {
		emit_fail(e, x->loc, "@var(\"%s\"): not a kernel symbol name", spec);
		free(name);
		return xstrdup("0");
	}
	if (x->ncomps > 0) {
		emit_fail(e, x->comps[0].loc,
			  "@var(\"%s\")->...: members need the variable's type, and this kernel's BTF "
			  "describes only per-CPU variables (read the address with a pointer global "
			  "and @cast, or use a probe's $variables)", name);
		free(name);
		return xstrdup("0");
	}
	/* one declaration per symbol; redeclaring an extern is also valid C */
	sb_printf(e->callbacks, "extern const void %s __ksym;\n", name);
	char *t = emit_new_long(e);
	if (x->addressof)
		emit_line(e, "%s = (int64_t)(unsigned long)&%s;", t, name);
	else
		emit_line(e, "{ uint64_t v_ = 0; bpf_probe_read_kernel(&v_, 8, (const void *)&%s); %s = (int64_t)v_; }",
			  name, t);
	free(name);
	return t;
}
