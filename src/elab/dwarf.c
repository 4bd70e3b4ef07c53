/* dwarf.c - the DWARF debuginfo of user programs, read with libdw
 * (see dwarf.h for what the rest of stapng asks of it).
 *
 * A binary is opened once per session.  Its functions (subprograms with
 * an address) are collected from every compile unit up front and sorted
 * by address; variables are found on demand from the scopes around the
 * probe's address (dwarf_getscopes) and the compile unit's globals.
 *
 * Locations.  A DWARF location expression is a little stack program; it
 * is turned into a C expression over the probe's registers by running it
 * symbolically: each stack slot holds the C text of a 64-bit value.  What
 * is read here: registers (DW_OP_reg*, a value held in a register),
 * register plus offset (DW_OP_breg*), the frame base (DW_OP_fbreg, whose
 * base is usually DW_OP_call_frame_cfa: the CFA comes from the call frame
 * information at the probe's address, rsp+8 at a function's first
 * instruction, rbp+16 after the usual prologue), static addresses
 * (DW_OP_addr, moved by the load bias in PIE programs), constants and
 * simple arithmetic, DW_OP_deref, DW_OP_stack_value, and a single piece.
 * Anything else is "not accessible at this address", as stap says.
 */
#include "elab/dwarf.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct UDwarf {
	char *path;
	int fd;
	Dwarf *dw;          /* NULL without debuginfo */
	Dwarf_CFI *cfi;     /* from .eh_frame, for the CFA */
	bool pie;           /* ET_DYN: static addresses move by the load bias */
	UserFunc *funcs;    /* sorted by entry */
	Dwarf_Off *dies;    /* the DIE of each function */
	int nfuncs;
} UDwarf;

/* How a variable is found, when it can be. */
enum { LOC_MEM, LOC_REG, LOC_VALUE };

struct UserVar {
	UDwarf *ud;
	char *name;
	Dwarf_Off type;     /* 0: void */
	char *error;        /* why it cannot be read here; NULL when located */
	int loc;            /* LOC_*: expr is an address, a register's value, a value */
	char *expr;
	bool is_param;
	const char *shown;  /* whole structs and arrays in $$vars: "{...}" */
};

static Vec open_binaries; /* UDwarf* */

/* ---- functions */

/* A function and its DIE, while they are collected and sorted. */
typedef struct FuncDie {
	UserFunc f;
	Dwarf_Off die;
} FuncDie;

static int cmp_func(const void *a, const void *b)
{
	const FuncDie *x = a, *y = b;
	return (x->f.entry > y->f.entry) - (x->f.entry < y->f.entry);
}

static int collect_function(Dwarf_Die *die, void *arg)
{
	Vec *out = arg;
	Dwarf_Addr lo, hi;
	const char *name = dwarf_diename(die);
	if (!name || dwarf_lowpc(die, &lo) != 0 || dwarf_highpc(die, &hi) != 0)
		return DWARF_CB_OK;
	FuncDie *fd = xcalloc(1, sizeof *fd);
	UserFunc *f = &fd->f;
	f->name = name;
	f->file = dwarf_decl_file(die);
	dwarf_decl_line(die, &f->line);
	f->entry = lo;
	f->end = hi;
	Dwarf_Addr *bkpts = NULL;
	int n = dwarf_entry_breakpoints(die, &bkpts);
	f->body = n > 0 && bkpts[0] >= lo && bkpts[0] < hi ? bkpts[0] : lo;
	free(bkpts);
	fd->die = dwarf_dieoffset(die);
	vec_push(out, fd);
	return DWARF_CB_OK;
}

static void collect_functions(UDwarf *ud)
{
	Vec all = { 0 };
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(ud->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(ud->dw, off + hsize, &cu))
			dwarf_getfuncs(&cu, collect_function, &all, 0);
		off = next;
	}
	int n = all.len;
	FuncDie *arr = xcalloc((size_t)(n ? n : 1), sizeof *arr);
	for (int i = 0; i < n; i++) {
		arr[i] = *(FuncDie *)VEC_AT(&all, i);
		free(VEC_AT(&all, i));
	}
	free(all.data);
	qsort(arr, (size_t)n, sizeof *arr, cmp_func);
	ud->funcs = xcalloc((size_t)(n ? n : 1), sizeof *ud->funcs);
	ud->dies = xcalloc((size_t)(n ? n : 1), sizeof *ud->dies);
	for (int i = 0; i < n; i++) {
		ud->funcs[i] = arr[i].f;
		ud->dies[i] = arr[i].die;
	}
	ud->nfuncs = n;
	free(arr);
}

static UDwarf *udwarf_open(const char *path)
{
	for (int i = 0; i < open_binaries.len; i++) {
		UDwarf *ud = VEC_AT(&open_binaries, i);
		if (!strcmp(ud->path, path))
			return ud;
	}
	UDwarf *ud = xcalloc(1, sizeof *ud);
	ud->path = xstrdup(path);
	ud->fd = open(path, O_RDONLY | O_CLOEXEC);
	vec_push(&open_binaries, ud);
	if (ud->fd < 0)
		return ud;
	ud->dw = dwarf_begin(ud->fd, DWARF_C_READ);
	if (!ud->dw)
		return ud;
	Elf *elf = dwarf_getelf(ud->dw);
	GElf_Ehdr eh;
	if (elf && gelf_getehdr(elf, &eh))
		ud->pie = eh.e_type == ET_DYN;
	ud->cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
	collect_functions(ud);
	return ud;
}

int udwarf_functions(Session *s, const char *path, const UserFunc **out)
{
	(void)s;
	UDwarf *ud = udwarf_open(path);
	*out = ud->funcs;
	return ud->nfuncs;
}

const UserFunc *udwarf_function_at(Session *s, const char *path, uint64_t pc)
{
	(void)s;
	UDwarf *ud = udwarf_open(path);
	for (int i = 0; i < ud->nfuncs; i++)
		if (pc >= ud->funcs[i].entry && pc < ud->funcs[i].end)
			return &ud->funcs[i];
	return NULL;
}

static int by_line(const void *a, const void *b)
{
	const UserLine *x = a, *y = b;
	return x->line != y->line ? (x->line > y->line) - (x->line < y->line) : (x->addr > y->addr) - (x->addr < y->addr);
}

int udwarf_lines(Session *s, const char *path, const UserFunc *fn, UserLine **out)
{
	(void)s;
	*out = NULL;
	UDwarf *ud = udwarf_open(path);
	Dwarf_Die cu;
	Dwarf_Lines *lines;
	size_t n;
	if (!ud->dw || !fn->file || !dwarf_addrdie(ud->dw, fn->entry, &cu) || dwarf_getsrclines(&cu, &lines, &n) != 0)
		return 0;
	UserLine *all = xcalloc(n + 1, sizeof *all);
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		Dwarf_Addr a;
		int ln;
		bool stmt;
		const char *src = dwarf_linesrc(l, NULL, NULL);
		if (dwarf_lineaddr(l, &a) || dwarf_lineno(l, &ln) || a < fn->entry || a >= fn->end)
			continue;
		if (dwarf_linebeginstatement(l, &stmt) || !stmt || !src || strcmp(src, fn->file))
			continue;
		all[count++] = (UserLine){ .line = ln, .addr = a };
	}
	/* sorted by line then address: the first of each line is its lowest */
	qsort(all, (size_t)count, sizeof *all, by_line);
	int kept = 0;
	for (int i = 0; i < count; i++)
		if (!kept || all[kept - 1].line != all[i].line)
			all[kept++] = all[i];
	*out = all;
	return kept;
}

/* ---- types */

/* The type a DIE's DW_AT_type names, false for void. */
static bool die_type(Dwarf_Die *die, Dwarf_Die *type)
{
	Dwarf_Attribute a;
	return dwarf_attr_integrate(die, DW_AT_type, &a) && dwarf_formref_die(&a, type);
}

/* Without typedefs and qualifiers. */
static int peel(Dwarf_Die *type)
{
	Dwarf_Die t;
	if (dwarf_peel_type(type, &t) == 0)
		*type = t;
	return dwarf_tag(type);
}

/* The type as stap prints it: "char const*", "struct point*", "int[]". */
static void dwarf_type_name(Dwarf_Die *type, StrBuf *b)
{
	Dwarf_Die inner;
	bool has_inner = die_type(type, &inner);
	const char *name = dwarf_diename(type);
	switch (dwarf_tag(type)) {
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
		if (has_inner)
			dwarf_type_name(&inner, b);
		else
			sb_puts(b, "void");
		sb_puts(b, dwarf_tag(type) == DW_TAG_pointer_type ? "*" : "&");
		return;
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
		if (has_inner)
			dwarf_type_name(&inner, b);
		else
			sb_puts(b, "void");
		sb_puts(b, dwarf_tag(type) == DW_TAG_const_type ? " const" : " volatile");
		return;
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		if (has_inner)
			dwarf_type_name(&inner, b);
		return;
	case DW_TAG_array_type:
		if (has_inner)
			dwarf_type_name(&inner, b);
		sb_puts(b, "[]");
		return;
	case DW_TAG_structure_type:
		sb_printf(b, "struct %s", name ? name : "{...}");
		return;
	case DW_TAG_union_type:
		sb_printf(b, "union %s", name ? name : "{...}");
		return;
	case DW_TAG_enumeration_type:
		sb_printf(b, "enum %s", name ? name : "{...}");
		return;
	case DW_TAG_subroutine_type:
		sb_puts(b, "void");
		return;
	default:
		sb_puts(b, name ? name : "?");
	}
}

static char *type_text(Dwarf_Die *die_with_type)
{
	Dwarf_Die t;
	if (!die_type(die_with_type, &t))
		return xstrdup("void");
	StrBuf b = { 0 };
	dwarf_type_name(&t, &b);
	return sb_steal(&b);
}

/* ---- locations */

static const char *const x86_64_regs[] = {
	"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
	"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip",
};

static const char *reg_name(unsigned regno)
{
	return regno < sizeof x86_64_regs / sizeof x86_64_regs[0] ? x86_64_regs[regno] : NULL;
}

typedef struct Eval {
	UDwarf *ud;
	Dwarf_Die *func;    /* for DW_AT_frame_base */
	uint64_t pc;        /* where the probe stops */
	char *stack[16];
	int depth;
	int loc;            /* LOC_* of the result */
	int nesting;        /* frame base and CFA are evaluated recursively */
} Eval;

static bool push(Eval *ev, char *text)
{
	if (ev->depth == 16) {
		free(text);
		return false;
	}
	ev->stack[ev->depth++] = text;
	return true;
}

static char *pop(Eval *ev)
{
	return ev->depth ? ev->stack[--ev->depth] : NULL;
}

static bool eval_ops(Eval *ev, const Dwarf_Op *ops, size_t n);

/* Runs a nested expression (frame base, CFA) and pushes its value. */
static bool push_nested(Eval *ev, const Dwarf_Op *ops, size_t n)
{
	if (ev->nesting > 2)
		return false;
	Eval sub = { .ud = ev->ud, .func = ev->func, .pc = ev->pc, .nesting = ev->nesting + 1 };
	if (!eval_ops(&sub, ops, n) || sub.depth != 1)
		return false;
	/* a frame base "in a register" is that register's value */
	return push(ev, pop(&sub));
}

static bool push_frame_base(Eval *ev)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t n;
	if (!ev->func || !dwarf_attr_integrate(ev->func, DW_AT_frame_base, &a) ||
	    dwarf_getlocation_addr(&a, ev->pc, &ops, &n, 1) != 1)
		return false;
	return push_nested(ev, ops, n);
}

static bool push_cfa(Eval *ev)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op *ops;
	size_t n;
	if (!ev->ud->cfi || dwarf_cfi_addrframe(ev->ud->cfi, ev->pc, &frame) != 0)
		return false;
	bool ok = dwarf_frame_cfa(frame, &ops, &n) == 0 && push_nested(ev, ops, n);
	free(frame);
	return ok;
}

static bool binary_op(Eval *ev, const char *op)
{
	char *b = pop(ev), *a = pop(ev);
	if (!a || !b) {
		free(a);
		free(b);
		return false;
	}
	bool ok = push(ev, xasprintf("(%s %s %s)", a, op, b));
	free(a);
	free(b);
	return ok;
}

static bool eval_op(Eval *ev, const Dwarf_Op *op, bool last)
{
	uint8_t a = op->atom;
	if (a >= DW_OP_reg0 && a <= DW_OP_reg31) {
		const char *r = reg_name(a - DW_OP_reg0);
		ev->loc = LOC_REG;
		return r && last && push(ev, xasprintf("STP_UREG(K, %s)", r));
	}
	if (a >= DW_OP_breg0 && a <= DW_OP_breg31) {
		const char *r = reg_name(a - DW_OP_breg0);
		return r && push(ev, xasprintf("(STP_UREG(K, %s) + %lld)", r, (long long)op->number));
	}
	if (a >= DW_OP_lit0 && a <= DW_OP_lit31)
		return push(ev, xasprintf("%dULL", a - DW_OP_lit0));
	switch (a) {
	case DW_OP_regx:
		ev->loc = LOC_REG;
		return reg_name((unsigned)op->number) && last &&
		       push(ev, xasprintf("STP_UREG(K, %s)", reg_name((unsigned)op->number)));
	case DW_OP_bregx:
		return reg_name((unsigned)op->number) &&
		       push(ev, xasprintf("(STP_UREG(K, %s) + %lld)", reg_name((unsigned)op->number),
					  (long long)op->number2));
	case DW_OP_fbreg: {
		if (!push_frame_base(ev))
			return false;
		char *fb = pop(ev);
		bool ok = push(ev, xasprintf("(%s + %lld)", fb, (long long)op->number));
		free(fb);
		return ok;
	}
	case DW_OP_call_frame_cfa:
		return push_cfa(ev);
	case DW_OP_addr:
		/* in a PIE, where the program was loaded: where the probed
		 * point is at run time (K->upc) less the address it was
		 * placed at */
		if (ev->ud->pie)
			return push(ev, xasprintf("(K->upc - 0x%llxULL + 0x%llxULL)",
						  (unsigned long long)ev->pc, (unsigned long long)op->number));
		return push(ev, xasprintf("0x%llxULL", (unsigned long long)op->number));
	case DW_OP_const1u: case DW_OP_const2u: case DW_OP_const4u: case DW_OP_const8u: case DW_OP_constu:
		return push(ev, xasprintf("%lluULL", (unsigned long long)op->number));
	case DW_OP_const1s: case DW_OP_const2s: case DW_OP_const4s: case DW_OP_const8s: case DW_OP_consts:
		return push(ev, xasprintf("(uint64_t)%lldLL", (long long)op->number));
	case DW_OP_plus_uconst: {
		char *t = pop(ev);
		bool ok = t && push(ev, xasprintf("(%s + %lluULL)", t, (unsigned long long)op->number));
		free(t);
		return ok;
	}
	case DW_OP_plus: return binary_op(ev, "+");
	case DW_OP_minus: return binary_op(ev, "-");
	case DW_OP_and: return binary_op(ev, "&");
	case DW_OP_or: return binary_op(ev, "|");
	case DW_OP_mul: return binary_op(ev, "*");
	case DW_OP_deref: {
		char *t = pop(ev);
		bool ok = t && push(ev, xasprintf("STP_UREAD(uint64_t, %s)", t));
		free(t);
		return ok;
	}
	case DW_OP_stack_value:
		ev->loc = LOC_VALUE;
		return last;
	default:
		return false;
	}
}

/* A single DW_OP_piece that ends an expression covers the whole variable
 * (a variable in one register, written as a piece); more pieces are not
 * read. */
static bool eval_ops(Eval *ev, const Dwarf_Op *ops, size_t n)
{
	if (n > 1 && ops[n - 1].atom == DW_OP_piece) {
		for (size_t i = 0; i + 1 < n; i++)
			if (ops[i].atom == DW_OP_piece)
				return false;
		n--;
	}
	ev->loc = LOC_MEM;
	for (size_t i = 0; i < n; i++)
		if (!eval_op(ev, &ops[i], i + 1 == n))
			return false;
	return n > 0 && ev->depth == 1;
}

static void locate(struct UserVar *v, Dwarf_Die *var, Dwarf_Die *func, uint64_t pc)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t n;
	if (!dwarf_attr_integrate(var, DW_AT_location, &a) || dwarf_getlocation_addr(&a, pc, &ops, &n, 1) != 1) {
		v->error = xasprintf("not accessible at this address (0x%llx)", (unsigned long long)pc);
		return;
	}
	Eval ev = { .ud = v->ud, .func = func, .pc = pc };
	if (!eval_ops(&ev, ops, n)) {
		while (ev.depth)
			free(pop(&ev));
		v->error = xasprintf("not accessible at this address (0x%llx): its location is not one stapng reads",
				     (unsigned long long)pc);
		return;
	}
	v->loc = ev.loc;
	v->expr = pop(&ev);
}

/* ---- variables at a point */

static TargetAccess *variable_access(UDwarf *ud, Dwarf_Die *var, Dwarf_Die *func, uint64_t pc)
{
	char *ty = type_text(var);
	TargetAccess *ta = xcalloc(1, sizeof *ta);
	ta->kind = TA_C_EXPR;
	ta->type = TY_LONG;
	ta->c_type = ty;
	struct UserVar *v = xcalloc(1, sizeof *v);
	v->ud = ud;
	v->name = xstrdup(dwarf_diename(var));
	Dwarf_Die t;
	v->type = die_type(var, &t) ? dwarf_dieoffset(&t) : 0;
	locate(v, var, func, pc);
	v->is_param = dwarf_tag(var) == DW_TAG_formal_parameter;
	ta->uvar = v;
	/* char arrays read as strings; say so before the chain is typed */
	Dwarf_Die peeled = t;
	int tag = v->type ? peel(&peeled) : 0;
	if (tag == DW_TAG_array_type) {
		Dwarf_Die el;
		if (die_type(&peeled, &el) && peel(&el) == DW_TAG_base_type && dwarf_bytesize(&el) == 1)
			ta->type = TY_STRING;
		else
			v->shown = "[...]";
	} else if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type) {
		v->shown = "{...}";
	}
	return ta;
}

static void add_variable(Vec *names, Vec *accesses, TargetAccess *ta)
{
	vec_push(names, xstrdup(ta->uvar->name));
	vec_push(accesses, ta);
}

static bool find_function(UDwarf *ud, const UserFunc *fn, Dwarf_Die *die)
{
	for (int i = 0; i < ud->nfuncs; i++)
		if (&ud->funcs[i] == fn || ud->funcs[i].entry == fn->entry)
			return dwarf_offdie(ud->dw, ud->dies[i], die) != NULL;
	return false;
}

/* The children of `scope` with `tag` that have names. */
static void scope_variables(UDwarf *ud, Dwarf_Die *scope, int tag, Dwarf_Die *func, uint64_t pc, Vec *names,
			    Vec *accesses)
{
	Dwarf_Die child;
	if (dwarf_child(scope, &child) != 0)
		return;
	do {
		if (dwarf_tag(&child) == tag && dwarf_diename(&child))
			add_variable(names, accesses, variable_access(ud, &child, func, pc));
	} while (dwarf_siblingof(&child, &child) == 0);
}

static void return_value(UDwarf *ud, Dwarf_Die *func, Vec *names, Vec *accesses)
{
	Dwarf_Die t;
	if (!die_type(func, &t))
		return; /* void */
	TargetAccess *ta = xcalloc(1, sizeof *ta);
	ta->kind = TA_C_EXPR;
	ta->type = TY_LONG;
	ta->c_type = type_text(func);
	struct UserVar *v = xcalloc(1, sizeof *v);
	v->ud = ud;
	v->name = xstrdup("return");
	v->type = dwarf_dieoffset(&t);
	v->loc = LOC_REG; /* x86_64: integers and pointers come back in rax */
	v->expr = xstrdup("(uint64_t)K->retval");
	ta->uvar = v;
	add_variable(names, accesses, ta);
}

void udwarf_variables(Session *s, const char *path, const UserFunc *fn, uint64_t pc, bool at_return,
		      Vec *names, Vec *accesses)
{
	(void)s;
	UDwarf *ud = udwarf_open(path);
	Dwarf_Die func;
	if (!ud->dw || !find_function(ud, fn, &func))
		return;
	if (at_return) {
		return_value(ud, &func, names, accesses);
		return;
	}
	scope_variables(ud, &func, DW_TAG_formal_parameter, &func, pc, names, accesses);
	scope_variables(ud, &func, DW_TAG_variable, &func, pc, names, accesses);
	/* locals of the blocks around pc, outermost first */
	Dwarf_Die cu, *scopes = NULL;
	if (!dwarf_addrdie(ud->dw, pc, &cu))
		return;
	int n = dwarf_getscopes(&cu, pc, &scopes);
	int f = -1;
	for (int i = 0; i < n && f < 0; i++)
		if (dwarf_dieoffset(&scopes[i]) == dwarf_dieoffset(&func))
			f = i;
	for (int i = f - 1; i >= 0; i--)
		if (dwarf_tag(&scopes[i]) == DW_TAG_lexical_block)
			scope_variables(ud, &scopes[i], DW_TAG_variable, &func, pc, names, accesses);
	free(scopes);
}

/* The variable `name` defined at the top of compile unit `cu`, or NULL;
 * *declared is set when the unit only declares it (extern). */
static TargetAccess *cu_global(UDwarf *ud, Dwarf_Die *cu, uint64_t pc, const char *name, bool *declared)
{
	Dwarf_Die child;
	if (dwarf_child(cu, &child) != 0)
		return NULL;
	do {
		const char *n = dwarf_diename(&child);
		if (dwarf_tag(&child) != DW_TAG_variable || !n || strcmp(n, name))
			continue;
		if (!dwarf_hasattr(&child, DW_AT_declaration))
			return variable_access(ud, &child, NULL, pc);
		if (declared)
			*declared = true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}

/* Whether a compile unit's file is what "@FILE" names: as written, or
 * after any directory; "" names every unit. */
static bool cu_matches(Dwarf_Die *cu, const char *file)
{
	const char *name = dwarf_diename(cu);
	if (!name)
		return false;
	size_t n = strlen(name), k = strlen(file);
	return !k || !strcmp(name, file) || (n > k && name[n - k - 1] == '/' && !strcmp(name + n - k, file));
}

/* `name` in the units that `file` names: stap resolves a file global in
 * the matching unit with the shortest path, and "" (any unit) in the
 * first that defines it. */
static TargetAccess *file_global(UDwarf *ud, const char *file, uint64_t pc, const char *name)
{
	Dwarf_Off off = 0, next, best = 0;
	size_t hsize, best_len = SIZE_MAX;
	while (dwarf_nextcu(ud->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(ud->dw, off + hsize, &cu) && cu_matches(&cu, file)) {
			if (!*file) {
				TargetAccess *ta = cu_global(ud, &cu, pc, name, NULL);
				if (ta)
					return ta;
			} else if (strlen(dwarf_diename(&cu)) < best_len) {
				best = off + hsize;
				best_len = strlen(dwarf_diename(&cu));
			}
		}
		off = next;
	}
	Dwarf_Die cu;
	return best_len != SIZE_MAX && dwarf_offdie(ud->dw, best, &cu) ? cu_global(ud, &cu, pc, name, NULL) : NULL;
}

TargetAccess *udwarf_global(Session *s, const char *path, const UserFunc *fn, uint64_t pc, const char *name)
{
	(void)s;
	UDwarf *ud = udwarf_open(path);
	if (!ud->dw)
		return NULL;
	const char *at = strchr(name, '@');
	if (!at) {
		/* fn's unit; an extern it declares is found where it is defined */
		Dwarf_Die cu;
		bool declared = false;
		TargetAccess *ta = dwarf_addrdie(ud->dw, fn->entry, &cu) ? cu_global(ud, &cu, pc, name, &declared) : NULL;
		return ta || !declared ? ta : file_global(ud, "", pc, name);
	}
	char *var = xstrndup(name, (size_t)(at - name));
	TargetAccess *ta = file_global(ud, at + 1, pc, var);
	free(var);
	return ta;
}

char *udwarf_missing(Session *s, const char *path, const UserFunc *fn, uint64_t pc, bool at_return,
		     const char *name)
{
	Vec names = { 0 }, accesses = { 0 };
	udwarf_variables(s, path, fn, pc, at_return, &names, &accesses);
	StrBuf alt = { 0 };
	for (int i = 0; i < names.len; i++)
		sb_printf(&alt, "%s$%s", i ? ", " : "", (char *)VEC_AT(&names, i));
	const char *base = fn->file ? strrchr(fn->file, '/') : NULL;
	char *msg = xasprintf("unable to find %s '%s', [man error::dwarf] in %s, near pc 0x%llx in %s %s%s%s%s",
			      at_return ? "return value" : "local", name, path, (unsigned long long)pc, fn->name,
			      base ? base + 1 : fn->file ? fn->file : "", names.len ? " (alternatives: " : "",
			      alt.s ? alt.s : "", names.len ? ")" : "");
	free(alt.s);
	for (int i = 0; i < names.len; i++)
		free(VEC_AT(&names, i));
	free(names.data);
	free(accesses.data);
	return msg;
}

bool udwarf_in_context_list(const TargetAccess *var, const char *list, const char **shown)
{
	const struct UserVar *v = var->uvar;
	*shown = v->shown;
	if (!strcmp(list, "$$parms"))
		return v->is_param;
	if (!strcmp(list, "$$locals"))
		return !v->is_param && strcmp(v->name, "return");
	return true;
}

/* ---- reading a variable and its member chain */

typedef struct Place {
	int loc;            /* LOC_* */
	char *expr;         /* address (LOC_MEM) or value */
	Dwarf_Die type;
	bool has_type;
} Place;

static const char *sized_type(int size, bool is_signed)
{
	switch (size) {
	case 1: return is_signed ? "int8_t" : "uint8_t";
	case 2: return is_signed ? "int16_t" : "uint16_t";
	case 4: return is_signed ? "int32_t" : "uint32_t";
	default: return is_signed ? "int64_t" : "uint64_t";
	}
}

/* The 64-bit value at a place of pointer type. */
static char *pointer_value(const Place *p)
{
	return p->loc == LOC_MEM ? xasprintf("STP_UREAD(uint64_t, %s)", p->expr) : xstrdup(p->expr);
}

static char *kind_name(Dwarf_Die *t)
{
	StrBuf b = { 0 };
	dwarf_type_name(t, &b);
	return sb_steal(&b);
}

/* A member of a struct or union, looking into anonymous members. */
static bool find_member(Dwarf_Die *agg, const char *name, Dwarf_Die *member, uint64_t *offset)
{
	Dwarf_Die child;
	if (dwarf_child(agg, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		Dwarf_Attribute a;
		Dwarf_Word off = 0;
		if (dwarf_attr_integrate(&child, DW_AT_data_member_location, &a))
			dwarf_formudata(&a, &off);
		const char *n = dwarf_diename(&child);
		if (n && !strcmp(n, name)) {
			*member = child;
			*offset = off;
			return true;
		}
		Dwarf_Die t;
		if (!n && die_type(&child, &t)) {
			int tag = peel(&t);
			uint64_t inner;
			if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type) &&
			    find_member(&t, name, member, &inner)) {
				*offset = off + inner;
				return true;
			}
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static char *member_names(Dwarf_Die *agg)
{
	StrBuf b = { 0 };
	Dwarf_Die child;
	if (dwarf_child(agg, &child) == 0) {
		do {
			const char *n = dwarf_diename(&child);
			if (dwarf_tag(&child) == DW_TAG_member && n)
				sb_printf(&b, "%s%s", b.len ? ", " : "", n);
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	return b.s ? sb_steal(&b) : xstrdup("");
}

static char *step_member(Place *p, const Component *c)
{
	if (!p->has_type)
		return xasprintf("invalid access '->%s' vs. void", c->name);
	Dwarf_Die t = p->type;
	int tag = peel(&t);
	if (tag == DW_TAG_pointer_type) {
		char *v = pointer_value(p);
		free(p->expr);
		p->expr = v;
		p->loc = LOC_MEM;
		if (!die_type(&t, &t))
			return xasprintf("invalid access '->%s' vs. void*", c->name);
		tag = peel(&t);
	}
	if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type && tag != DW_TAG_class_type) {
		char *k = kind_name(&t);
		char *err = xasprintf("invalid access '->%s' vs. %s", c->name, k);
		free(k);
		return err;
	}
	if (p->loc != LOC_MEM)
		return xasprintf("cannot read member '%s' of a structure held in registers", c->name);
	Dwarf_Die member;
	uint64_t off;
	if (!find_member(&t, c->name, &member, &off)) {
		char *k = kind_name(&t), *alts = member_names(&t);
		char *err = xasprintf("unable to find member '%s' for %s (alternatives: %s)", c->name, k, alts);
		free(k);
		free(alts);
		return err;
	}
	char *e = xasprintf("(%s + %llu)", p->expr, (unsigned long long)off);
	free(p->expr);
	p->expr = e;
	p->has_type = die_type(&member, &p->type);
	return NULL;
}

static char *step_index(Place *p, const char *index)
{
	Dwarf_Die t = p->type, el;
	int tag = p->has_type ? peel(&t) : 0;
	if (tag != DW_TAG_array_type && tag != DW_TAG_pointer_type)
		return xstrdup("cannot index a value that is not an array or pointer");
	if (!die_type(&t, &el))
		return xstrdup("cannot index a void pointer");
	Dwarf_Die sized = el;
	peel(&sized);
	Dwarf_Word size = 0;
	if (dwarf_aggregate_size(&sized, &size) != 0 || !size)
		return xstrdup("cannot index an array of elements of unknown size");
	if (tag == DW_TAG_array_type && p->loc != LOC_MEM)
		return xstrdup("cannot index an array held in registers");
	char *base = tag == DW_TAG_pointer_type ? pointer_value(p) : xstrdup(p->expr);
	free(p->expr);
	p->expr = xasprintf("(%s + (uint64_t)(%s) * %llu)", base, index, (unsigned long long)size);
	free(base);
	p->loc = LOC_MEM;
	p->type = el;
	return NULL;
}

/* The value at the end of the chain. */
static char *finish(Place *p, TargetAccess *ta)
{
	if (!p->has_type)
		return xstrdup("cannot read a value of type void");
	Dwarf_Die t = p->type;
	int tag = peel(&t);
	char *k = kind_name(&t);
	ta->c_type = k;
	if (tag == DW_TAG_array_type) {
		Dwarf_Die el;
		Dwarf_Word n = 0;
		if (die_type(&t, &el) && peel(&el) == DW_TAG_base_type && dwarf_bytesize(&el) == 1 &&
		    p->loc == LOC_MEM) {
			ta->type = TY_STRING;
			ta->strkind = TA_STR_UPTR;
			ta->size = dwarf_aggregate_size(&t, &n) == 0 && n ? (int)n : 0;
			ta->c_expr = xstrdup(p->expr);
			return NULL;
		}
	}
	if (tag == DW_TAG_array_type)
		return xasprintf("'%s' is being accessed instead of an element such as '[0]'", k);
	if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type) {
		/* stap names where the type is declared and a member to pick */
		const char *file = dwarf_decl_file(&t);
		int line = 0;
		dwarf_decl_line(&t, &line);
		char *members = member_names(&t);
		char *first = xstrndup(members, strcspn(members, ","));
		char *where = file ? xasprintf(" (%s:%d)", file, line) : xstrdup("");
		char *err = xasprintf("'%s'%s is being accessed instead of a member%s%s%s", k, where,
				      *first ? " such as '->" : "", first, *first ? "'" : "");
		free(members);
		free(first);
		free(where);
		return err;
	}
	int size = tag == DW_TAG_pointer_type ? 8 : dwarf_bytesize(&t);
	bool is_signed = false;
	if (tag == DW_TAG_base_type || tag == DW_TAG_enumeration_type) {
		Dwarf_Attribute a;
		Dwarf_Word enc = 0;
		if (dwarf_attr_integrate(&t, DW_AT_encoding, &a))
			dwarf_formudata(&a, &enc);
		if (enc == DW_ATE_float || enc == DW_ATE_complex_float)
			return xasprintf("'%s' is a floating-point type, which stapng does not read", k);
		is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char ||
			    (tag == DW_TAG_enumeration_type && enc != DW_ATE_unsigned);
	} else if (tag != DW_TAG_pointer_type) {
		return xasprintf("cannot read a value of type '%s'", k);
	}
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return xasprintf("cannot read a %d-byte value of type '%s'", size, k);
	const char *ct = sized_type(size, is_signed);
	ta->type = TY_LONG;
	ta->size = size;
	ta->is_signed = is_signed;
	ta->c_expr = p->loc == LOC_MEM ? xasprintf("(int64_t)STP_UREAD(%s, %s)", ct, p->expr)
				       : xasprintf("(int64_t)(%s)(%s)", ct, p->expr);
	return NULL;
}

TargetAccess *udwarf_access(const TargetAccess *var, const Component *comps, int ncomps, char **index_exprs,
			    char **err, int *err_at)
{
	const struct UserVar *v = var->uvar;
	*err = NULL;
	*err_at = -1;
	if (v->error) {
		*err = xstrdup(v->error);
		return NULL;
	}
	Place p = { .loc = v->loc, .expr = xstrdup(v->expr) };
	p.has_type = v->type && dwarf_offdie(v->ud->dw, v->type, &p.type);
	for (int i = 0; i < ncomps && !*err; i++) {
		char lit[32];
		if (comps[i].kind == COMP_MEMBER) {
			*err = step_member(&p, &comps[i]);
		} else if (comps[i].kind == COMP_INDEX) {
			snprintf(lit, sizeof lit, "%lld", (long long)comps[i].index);
			*err = step_index(&p, lit);
		} else {
			*err = step_index(&p, index_exprs && index_exprs[i] ? index_exprs[i] : "0");
		}
		if (*err)
			*err_at = i;
	}
	TargetAccess *ta = xcalloc(1, sizeof *ta);
	ta->kind = TA_C_EXPR;
	if (!*err)
		*err = finish(&p, ta);
	free(p.expr);
	if (*err) {
		free(ta->c_type);
		free(ta->c_expr);
		free(ta);
		return NULL;
	}
	return ta;
}
