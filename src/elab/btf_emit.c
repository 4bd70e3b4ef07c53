/* btf_emit.c - C for the BPF side from BTF: declarations of the kernel
 * types a program uses, and member chains ($file->f_path->dentry) turned
 * into CO-RE reads.  See kernel.h for the design.
 */
#include "elab/kernel.h"

#include <bpf/btf.h>
#include <stdlib.h>
#include <string.h>

static const char *name_of(const KernelBtf *kb, const struct btf_type *t)
{
	return t->name_off ? btf__name_by_offset(kbtf_raw(kb), t->name_off) : "";
}

/* ---- C declarations for the BPF translation unit
 *
 * Types are written in their plainest C form: typedefs are looked through,
 * qualifiers dropped, enums become integers of their size and function
 * pointers void *, so that only structs and unions ever need declaring.
 * A named struct used by value is defined (before its user), one used only
 * through a pointer is forward-declared.  Member declarations carry no
 * offsets: CO-RE relocations find members by name at load time, so a
 * struct need only list the members the program touches.
 */

typedef struct DeclWriter {
	const KernelBtf *kb;
	const Vec *needs;
	Vec *record;       /* recording mode: push KBTF_NEED_TYPE here instead */
	StrBuf fwd, defs;
	unsigned char *state; /* per type id: 0 none, 1 forward, 2 defining, 3 defined */
	int ntypes;
} DeclWriter;

static void c_decl(DeclWriter *w, int32_t id, const char *inner, bool by_value, StrBuf *out);

static const char *int_of_size(int size, bool is_signed)
{
	switch (size) {
	case 1: return is_signed ? "signed char" : "unsigned char";
	case 2: return is_signed ? "short" : "unsigned short";
	case 8: return is_signed ? "long long" : "unsigned long long";
	default: return is_signed ? "int" : "unsigned int";
	}
}

static void forward_struct(DeclWriter *w, int32_t id, const struct btf_type *t)
{
	if (w->record) {
		vec_push(w->record, (void *)KBTF_NEED_TYPE(id));
		return;
	}
	if (w->state[id])
		return;
	w->state[id] = 1;
	sb_printf(&w->fwd, "%s %s;\n", btf_is_union(t) ? "union" : "struct", name_of(w->kb, t));
}

/* The member names of struct `sid` that `needs` asks for. */
static void needed_members(DeclWriter *w, int32_t sid, Vec *names)
{
	for (int i = 0; i < w->needs->len; i++) {
		uint64_t v = (uint64_t)(intptr_t)VEC_AT(w->needs, i);
		uint32_t name_off = (uint32_t)(v >> 32);
		if ((int32_t)(uint32_t)v != sid || !name_off)
			continue;
		const char *name = btf__name_by_offset(kbtf_raw(w->kb), name_off);
		bool dup = false;
		for (int j = 0; j < names->len && !dup; j++)
			dup = strcmp(VEC_AT(names, j), name) == 0;
		if (!dup)
			vec_push(names, (void *)name);
	}
}

static void struct_body(DeclWriter *w, int32_t sid, StrBuf *body)
{
	Vec names = { 0 };
	needed_members(w, sid, &names);
	/* in the kernel's order: libbpf indexes a flexible array (pid's
	 * numbers[]) only when it is the last member of the local struct */
	for (int i = 1; i < names.len; i++) {
		for (int j = i; j > 0; j--) {
			KMember a, b;
			if (!kbtf_member_find(w->kb, sid, VEC_AT(&names, j - 1), &a) ||
			    !kbtf_member_find(w->kb, sid, VEC_AT(&names, j), &b) || a.bit_offset <= b.bit_offset)
				break;
			void *t = names.data[j - 1];
			names.data[j - 1] = names.data[j];
			names.data[j] = t;
		}
	}
	for (int i = 0; i < names.len; i++) {
		KMember m;
		if (!kbtf_member_find(w->kb, sid, VEC_AT(&names, i), &m))
			continue;
		sb_puts(body, "\t");
		c_decl(w, m.type_id, VEC_AT(&names, i), true, body);
		if (m.bitfield_size)
			sb_printf(body, " : %u", m.bitfield_size);
		sb_puts(body, ";\n");
	}
	free(names.data);
}

static void define_struct(DeclWriter *w, int32_t id, const struct btf_type *t)
{
	if (w->record) {
		vec_push(w->record, (void *)KBTF_NEED_TYPE(id));
		return;
	}
	if (w->state[id] >= 2)
		return;
	bool had_forward = w->state[id] == 1;
	w->state[id] = 2;
	StrBuf body = { 0 };
	struct_body(w, id, &body);
	sb_printf(&w->defs, "%s %s {\n%s} __attribute__((preserve_access_index));\n\n",
		  btf_is_union(t) ? "union" : "struct", name_of(w->kb, t), body.s ? body.s : "");
	free(body.s);
	(void)had_forward;
	w->state[id] = 3;
}

static void c_decl_base(DeclWriter *w, const char *base, const char *inner, StrBuf *out)
{
	sb_puts(out, base);
	if (*inner) {
		sb_putc(out, ' ');
		sb_puts(out, inner);
	}
}

static void c_decl(DeclWriter *w, int32_t id, const char *inner, bool by_value, StrBuf *out)
{
	id = kbtf_skip_mods(w->kb, id);
	const struct btf_type *t = id ? btf__type_by_id(kbtf_raw(w->kb), id) : NULL;
	if (!t) {
		c_decl_base(w, "void", inner, out);
		return;
	}
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_FLOAT:
		c_decl_base(w, name_of(w->kb, t), inner, out);
		return;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		c_decl_base(w, int_of_size((int)t->size, btf_kflag(t)), inner, out);
		return;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_FWD: {
		const char *tag = btf_is_union(t) || (btf_is_fwd(t) && btf_kflag(t)) ? "union" : "struct";
		if (!t->name_off) {
			/* anonymous: written inline with the members used */
			StrBuf body = { 0 };
			if (!w->record)
				struct_body(w, id, &body);
			sb_printf(out, "%s {\n%s\t}", tag, body.s ? body.s : "");
			free(body.s);
			if (*inner)
				sb_printf(out, " %s", inner);
			return;
		}
		if (by_value && !btf_is_fwd(t))
			define_struct(w, id, t);
		else
			forward_struct(w, id, t);
		sb_printf(out, "%s %s", tag, name_of(w->kb, t));
		if (*inner)
			sb_printf(out, " %s", inner);
		return;
	}
	case BTF_KIND_PTR: {
		int32_t to = kbtf_skip_mods(w->kb, t->type);
		const struct btf_type *tt = to ? btf__type_by_id(kbtf_raw(w->kb), to) : NULL;
		char *inner2;
		if (tt && btf_is_func_proto(tt)) {
			inner2 = xasprintf("*%s", inner);
			c_decl_base(w, "void", inner2, out);
		} else {
			inner2 = xasprintf(tt && btf_is_array(tt) ? "(*%s)" : "*%s", inner);
			c_decl(w, to, inner2, false, out);
		}
		free(inner2);
		return;
	}
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		char *inner2 = xasprintf("%s[%u]", inner, a->nelems);
		c_decl(w, (int32_t)a->type, inner2, by_value, out);
		free(inner2);
		return;
	}
	default:
		c_decl_base(w, "void *", inner, out);
		return;
	}
}

static const char kread_fallback[] =
	"#include <bpf/bpf_core_read.h>\n"
	"#ifndef STP_KREAD\n"
	"#define STP_KREAD(T, addr) ({ T _stp_v = (T)0; "
	"bpf_probe_read_kernel(&_stp_v, sizeof(_stp_v), (const void *)(addr)); _stp_v; })\n"
	"#endif\n";

void kbtf_emit_decls(const KernelBtf *kb, const Vec *needs, StrBuf *out)
{
	DeclWriter w = { .kb = kb, .needs = needs };
	w.ntypes = (int)btf__type_cnt(kbtf_raw(kb));
	w.state = xcalloc((size_t)w.ntypes, 1);
	for (int i = 0; i < needs->len; i++) {
		int32_t id = (int32_t)(uint32_t)(uint64_t)(intptr_t)VEC_AT(needs, i);
		if (id <= 0 || id >= w.ntypes)
			continue;
		const struct btf_type *t = btf__type_by_id(kbtf_raw(kb), id);
		if (btf_is_composite(t) && t->name_off)
			define_struct(&w, id, t);
	}
	if (w.fwd.s)
		sb_printf(out, "%s\n", w.fwd.s);
	if (w.defs.s)
		sb_puts(out, w.defs.s);
	sb_puts(out, kread_fallback);
	free(w.fwd.s);
	free(w.defs.s);
	free(w.state);
}

/* ---- member chains: $file->f_path->dentry->d_name->name */

/* The C type of `id` for a cast or STP_KREAD, recording what it needs. */
static char *c_type_text(const KernelBtf *kb, int32_t id, Vec *needs, const char *inner)
{
	DeclWriter w = { .kb = kb, .record = needs };
	StrBuf b = { 0 };
	c_decl(&w, id, inner, false, &b);
	return sb_steal(&b);
}

static char *member_alternatives(const KernelBtf *kb, int32_t sid)
{
	StrBuf b = { 0 };
	const struct btf_type *t = btf__type_by_id(kbtf_raw(kb), sid);
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		if (m->name_off) {
			if (b.len)
				sb_putc(&b, ' ');
			sb_puts(&b, btf__name_by_offset(kbtf_raw(kb), m->name_off));
		} else {
			char *inner = member_alternatives(kb, kbtf_skip_mods(kb, (int32_t)m->type));
			if (*inner) {
				if (b.len)
					sb_putc(&b, ' ');
				sb_puts(&b, inner);
			}
			free(inner);
		}
	}
	return sb_steal(&b);
}

typedef struct Chain {
	const KernelBtf *kb;
	bool lvalue;     /* expr designates an object in kernel memory, else it is a value */
	char *expr;
	int32_t type;
	Vec *needs;
} Chain;

/* Make the current value a register value: read it if it is in memory. */
static void chain_load(Chain *c)
{
	if (!c->lvalue)
		return;
	char *ty = c_type_text(c->kb, c->type, c->needs, "");
	char *e = xasprintf("STP_KREAD(%s, &%s)", ty, c->expr);
	free(ty);
	free(c->expr);
	c->expr = e;
	c->lvalue = false;
}

static char *chain_member(Chain *c, const Component *comp)
{
	const KernelBtf *kb = c->kb;
	int32_t rid = kbtf_skip_mods(kb, c->type);
	const struct btf_type *t = btf__type_by_id(kbtf_raw(kb), rid);
	int32_t sid;
	if (t && btf_is_ptr(t)) {
		chain_load(c);
		sid = kbtf_skip_mods(kb, t->type);
	} else if (t && btf_is_composite(t) && c->lvalue) {
		sid = rid;
	} else {
		char *ty = kbtf_type_name(kb, c->type);
		char *msg = xasprintf("invalid access '->%s' vs. %s", comp->name, ty);
		free(ty);
		return msg;
	}
	const struct btf_type *st = btf__type_by_id(kbtf_raw(kb), sid);
	if (!st || !btf_is_composite(st)) {
		char *ty = kbtf_type_name(kb, c->type);
		char *msg = xasprintf("invalid access '->%s' vs. %s", comp->name, ty);
		free(ty);
		return msg;
	}
	KMember m;
	if (!kbtf_member_find(kb, sid, comp->name, &m)) {
		char *alts = member_alternatives(kb, sid);
		char *sname = kbtf_type_name(kb, sid);
		char *msg = xasprintf("unable to find member '%s' for %s (alternatives: %s)", comp->name,
				      sname, alts);
		free(alts);
		free(sname);
		return msg;
	}
	vec_push(c->needs, (void *)KBTF_NEED_MEMBER(sid, m.name_off));
	char *e;
	if (m.bitfield_size) {
		/* CO-RE finds the bits at load time (bpf_core_read.h); the
		 * struct pointer is a plain variable so that the relocation
		 * covers only ->field */
		char *sty = c->lvalue ? NULL : c_type_text(kb, sid, c->needs, "*");
		if (c->lvalue)
			e = xasprintf("({ __typeof__(&%s) _stp_bf = &%s; "
				      "BPF_CORE_READ_BITFIELD_PROBED(_stp_bf, %s); })",
				      c->expr, c->expr, comp->name);
		else
			e = xasprintf("({ %s_stp_bf = (%s)(unsigned long)(%s); "
				      "BPF_CORE_READ_BITFIELD_PROBED(_stp_bf, %s); })",
				      sty, sty, c->expr, comp->name);
		free(sty);
		free(c->expr);
		c->expr = e;
		c->lvalue = false;
		c->type = m.type_id;
		return NULL;
	}
	if (c->lvalue) {
		e = xasprintf("%s.%s", c->expr, comp->name);
	} else {
		char *sty = c_type_text(kb, sid, c->needs, "*");
		e = xasprintf("((%s)(unsigned long)(%s))->%s", sty, c->expr, comp->name);
		free(sty);
	}
	free(c->expr);
	c->expr = e;
	c->lvalue = true;
	c->type = m.type_id;
	return NULL;
}

/* Whether elements of `elem` need their size from the running kernel: the
 * unit declares only the members it uses, so sizeof of a partial struct is
 * not the kernel's.  A literal index is relocated by CO-RE (it is part of
 * the access string); a computed one is not, so it steps by
 * bpf_core_type_size() (a named type: libbpf finds it by name). */
static bool elem_size_relocated(const KernelBtf *kb, int32_t elem)
{
	const struct btf_type *t = btf__type_by_id(kbtf_raw(kb), kbtf_skip_mods(kb, elem));
	return t && btf_is_composite(t) && t->name_off;
}

static char *chain_index(Chain *c, const Component *comp, const char *index_text, bool computed)
{
	const KernelBtf *kb = c->kb;
	int32_t rid = kbtf_skip_mods(kb, c->type);
	const struct btf_type *t = btf__type_by_id(kbtf_raw(kb), rid);
	int32_t elem;
	if (t && btf_is_ptr(t)) {
		chain_load(c);
		elem = (int32_t)t->type;
	} else if (t && btf_is_array(t) && c->lvalue) {
		elem = (int32_t)btf_array(t)->type;
	} else {
		char *ty = kbtf_type_name(kb, c->type);
		char *msg = xasprintf("invalid access '[]' vs. %s", ty);
		free(ty);
		return msg;
	}
	if (kbtf_skip_mods(kb, elem) == 0)
		return xstrdup("cannot index a void pointer");
	char *e;
	if (computed && elem_size_relocated(kb, elem)) {
		char *ety = c_type_text(kb, elem, c->needs, "");
		if (c->lvalue)
			e = xasprintf("(*(%s *)((char *)&(%s)[0] + (long)(%s) * bpf_core_type_size(%s)))", ety, c->expr,
				      index_text, ety);
		else
			e = xasprintf("(*(%s *)((char *)(unsigned long)(%s) + (long)(%s) * bpf_core_type_size(%s)))", ety,
				      c->expr, index_text, ety);
		free(ety);
	} else if (c->lvalue) {
		e = xasprintf("%s[%s]", c->expr, index_text);
	} else {
		char *ety = c_type_text(kb, elem, c->needs, "*");
		e = xasprintf("((%s)(unsigned long)(%s))[%s]", ety, c->expr, index_text);
		free(ety);
	}
	free(c->expr);
	c->expr = e;
	c->lvalue = true;
	c->type = elem;
	return NULL;
}

static bool is_char(const KernelBtf *kb, int32_t id)
{
	const struct btf_type *t = btf__type_by_id(kbtf_raw(kb), kbtf_skip_mods(kb, id));
	return t && btf_is_int(t) && t->size == 1;
}

/* The final value of a chain as a TargetAccess. */
static char *chain_finish(Chain *c, TargetAccess *ta)
{
	const KernelBtf *kb = c->kb;
	int32_t rid = kbtf_skip_mods(kb, c->type);
	const struct btf_type *t = rid ? btf__type_by_id(kbtf_raw(kb), rid) : NULL;
	ta->c_type = kbtf_type_name(kb, c->type);
	if (t && btf_is_array(t) && c->lvalue && is_char(kb, (int32_t)btf_array(t)->type)) {
		ta->type = TY_STRING;
		ta->strkind = TA_STR_ARRAY;
		ta->size = (int)btf_array(t)->nelems;
		ta->c_expr = xasprintf("(char *)&%s", c->expr);
		return NULL;
	}
	if (!t || btf_is_composite(t) || btf_is_array(t) || btf_is_func_proto(t))
		return xasprintf("%s '%s' being accessed instead of a member",
				 t && btf_is_union(t) ? "union" : t && btf_is_array(t) ? "array" : "struct",
				 ta->c_type);
	chain_load(c);
	ta->type = TY_LONG;
	ta->size = btf_is_ptr(t) ? 8 : (int)t->size;
	ta->is_signed = btf_is_int(t) ? (btf_int_encoding(t) & BTF_INT_SIGNED) != 0
			: btf_is_any_enum(t) ? btf_kflag(t) : false;
	ta->c_expr = c->expr;
	c->expr = NULL;
	return NULL;
}

/* The address of the chain's last member, for &$var->member. */
static char *chain_finish_address(Chain *c, TargetAccess *ta)
{
	ta->c_type = kbtf_type_name(c->kb, c->type);
	if (!c->lvalue)
		return xstrdup(strstr(c->expr, "BPF_CORE_READ_BITFIELD") ? "cannot take the address of a bitfield"
							: "cannot take the address of a value");
	ta->type = TY_LONG;
	ta->size = 8;
	ta->c_expr = xasprintf("((unsigned long)&%s)", c->expr);
	return NULL;
}

TargetAccess *kernel_member_access(Session *s, const TargetAccess *base, const char *base_expr,
				   const Component *comps, int ncomps, char **index_exprs, bool address,
				   char **err, int *err_at)
{
	*err = NULL;
	*err_at = 0;
	const char *why = NULL;
	const KernelBtf *kb = kbtf_get(s, base->btf_module, &why);
	if (!kb || base->btf_id <= 0) {
		*err = xstrdup(kb ? "no type information for this variable" : why);
		return NULL;
	}
	TargetAccess *ta = xcalloc(1, sizeof *ta);
	ta->kind = TA_C_EXPR;
	ta->btf_module = base->btf_module ? xstrdup(base->btf_module) : NULL;
	Chain c = { .kb = kb, .expr = xstrdup(base_expr), .type = base->btf_id, .needs = &ta->btf_types };
	for (int i = 0; i < ncomps && !*err; i++) {
		const Component *comp = &comps[i];
		char lit[32];
		if (comp->kind == COMP_MEMBER) {
			*err = chain_member(&c, comp);
		} else if (comp->kind == COMP_INDEX) {
			snprintf(lit, sizeof lit, "%lld", (long long)comp->index);
			*err = chain_index(&c, comp, lit, false);
		} else if (index_exprs && index_exprs[i]) {
			*err = chain_index(&c, comp, index_exprs[i], true);
		} else {
			*err = xstrdup("computed index without its C expression");
		}
		if (*err)
			*err_at = i;
	}
	if (!*err)
		*err = address ? chain_finish_address(&c, ta) : chain_finish(&c, ta);
	free(c.expr);
	if (*err) {
		*err_at = *err_at < ncomps ? *err_at : ncomps - 1;
		free(ta->c_type);
		free(ta->btf_types.data);
		free(ta->btf_module);
		free(ta->c_expr);
		free(ta);
		return NULL;
	}
	ta->btf_id = c.type;
	return ta;
}
