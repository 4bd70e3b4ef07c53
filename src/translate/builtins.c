/* builtins.c - the runtime's native functions (elab/builtins.c lists
 * them) as C for each target: context, time, memory reads, strings.
 */
#include "translate.h"
#include "elab/kernel.h"

#include <stdlib.h>
#include <string.h>
static char *long_call(Emitter *e, const char *fmt, const char *arg)
{
	char *t = emit_new_long(e);
	char *call = xasprintf(fmt, arg ? arg : "");
	emit_line(e, "%s = %s;", t, call);
	free(call);
	return t;
}

/* ------------------------------------------------------ memory readers */

/* What a reader does when the address cannot be read: stap's kernel_*
 * and *_error readers raise an error, most user_* readers give 0 (or a
 * fixed text), the *_warn ones give that and print a warning. */
enum fault_mode { FAULT_ERROR, FAULT_ZERO, FAULT_WARN };

typedef struct NumReader {
	const char *name;
	bool user;
	int size;            /* bytes */
	bool is_signed;
	enum fault_mode fault;
	const char *what;    /* the type in stap's fault message */
} NumReader;

#define USER_READER(base, size, sgn, what)                                                  \
	{base, true, size, sgn, FAULT_ZERO, what}, {base "_error", true, size, sgn, FAULT_ERROR, what}, \
	{base "_warn", true, size, sgn, FAULT_WARN, what}

static const NumReader num_readers[] = {
	{"kernel_char", false, 1, true, FAULT_ERROR, "char"},
	{"kernel_short", false, 2, true, FAULT_ERROR, "short"},
	{"kernel_int", false, 4, true, FAULT_ERROR, "int"},
	{"kernel_long", false, 8, true, FAULT_ERROR, "long"},
	{"kernel_pointer", false, 8, false, FAULT_ERROR, "pointer"},
	USER_READER("user_char", 1, true, "char"),
	USER_READER("user_short", 2, true, "short"),
	USER_READER("user_ushort", 2, false, "unsigned short"),
	USER_READER("user_int", 4, true, "int"),
	USER_READER("user_long", 8, true, "long"),
	USER_READER("user_ulong", 8, false, "unsigned long"),
	USER_READER("user_int8", 1, true, "int8"),
	USER_READER("user_uint8", 1, false, "uint8"),
	USER_READER("user_int16", 2, true, "int16"),
	USER_READER("user_uint16", 2, false, "uint16"),
	USER_READER("user_int32", 4, true, "int32"),
	USER_READER("user_uint32", 4, false, "uint32"),
	USER_READER("user_int64", 8, true, "int64"),
	USER_READER("user_uint64", 8, false, "uint64"),
};

typedef struct StrReader {
	const char *name;
	bool user;
	bool has_n;          /* second argument: at most n bytes */
	enum fault_mode fault;
	const char *fallback; /* the result on a fault (FAULT_ZERO/WARN) */
} StrReader;

/* An optional last argument (after addr[, n]) is the text to return on a
 * fault instead (stap's err_msg / warn_msg). */
static const StrReader str_readers[] = {
	{"kernel_string", false, false, FAULT_ERROR, NULL},
	{"kernel_string2", false, false, FAULT_ERROR, NULL},
	{"kernel_string_n", false, true, FAULT_ERROR, NULL},
	{"user_string", true, false, FAULT_ERROR, NULL},
	{"user_string2", true, false, FAULT_ERROR, NULL},
	{"user_string_n", true, true, FAULT_ERROR, NULL},
	{"user_string_n2", true, true, FAULT_ERROR, NULL},
	{"user_string_nofault", true, false, FAULT_ZERO, ""},
	{"user_string_n_nofault", true, true, FAULT_ZERO, ""},
	{"user_string_warn", true, false, FAULT_WARN, ""},
	{"user_string2_warn", true, false, FAULT_WARN, ""},
	{"user_string_n_warn", true, true, FAULT_WARN, "<unknown>"},
	{"user_string2_n_warn", true, true, FAULT_WARN, "<unknown>"},
};

/* Leave by a fault at `addr`: stap's message names the address, so the
 * kernel formats it into the record ("user int copy fault at 0x1000
 * [man error::fault]"); inside try the site's text is the message. */
void emit_fault(Emitter *e, Expr *x, const char *what, bool user, const char *addr, bool warn)
{
	char *fmt = xasprintf("%s %s %s at 0x%%llx [man error::fault]", user ? "user" : "kernel", what,
			      user || !strcmp(what, "string") ? "copy fault" : "read fault");
	char *site = xasprintf("%s %s fault", user ? "user" : "kernel", what);
	emit_fault_text(e, x, fmt, site, addr, warn);
	free(fmt);
	free(site);
}

/* The same with the message's format (one %llx, the address) and the
 * text a catch sees given. */
void emit_fault_text(Emitter *e, Expr *x, const char *fmt, const char *site, const char *addr, bool warn)
{
	int id = emit_error_site(e, site, near_ident(x->name), x->loc);
	int lit = emit_literal(e, fmt, strlen(fmt));
	if (warn) {
		emit_line(e, "stp_fault_record(K, STP_REC_WARN, %d, stp_lit_%d, %s);", id, lit, addr);
	} else if (in_try(e)) {
		/* the message a catch, or the caller that reports it, sees */
		emit_line(e, "{ __u64 fa_ = (__u64)(%s); bpf_snprintf(F->errmsg, STP_STRLEN, stp_lit_%d, &fa_, sizeof fa_); }",
			  addr, lit);
		emit_line(e, "K->error = %d; goto %s;", id + 1, e->unwind);
	} else {
		emit_line(e, "stp_fault_record(K, STP_REC_ERROR, %d, stp_lit_%d, %s);", id, lit, addr);
		emit_line(e, "K->error = %d; goto %s;", id + 1, e->unwind);
	}
}

/* Functions that read the kernel context exist in kernel handlers only. */
bool needs_bpf(Emitter *e, Expr *x, const char *what)
{
	if (e->target == T_BPF)
		return true;
	emit_fail(e, x->loc, "%s() %s, in kernel-context probes only", x->name, what);
	return false;
}

static char *emit_num_read(Emitter *e, Expr *x, const NumReader *r)
{
	char *addr = emit_expr(e, x->args[0]);
	if (!needs_bpf(e, x, "reads memory"))
		return xstrdup("0");
	char *t = emit_new_long(e);
	const char *ctype = r->size == 1 ? (r->is_signed ? "int8_t" : "uint8_t")
			   : r->size == 2 ? (r->is_signed ? "int16_t" : "uint16_t")
			   : r->size == 4 ? (r->is_signed ? "int32_t" : "uint32_t") : "int64_t";
	emit_line(e, "{ %s v_ = 0;", ctype);
	emit_line(e, "if (bpf_probe_read_%s(&v_, sizeof v_, (void *)%s) < 0) {", r->user ? "user" : "kernel",
		  addr);
	e->fn->indent++;
	if (r->fault != FAULT_ZERO)
		emit_fault(e, x, r->what, r->user, addr, r->fault == FAULT_WARN);
	emit_line(e, "v_ = 0;");
	e->fn->indent--;
	emit_line(e, "}");
	emit_line(e, "%s = (int64_t)v_; }", t);
	return t;
}

/* ---- registers and arguments of function probes
 *
 * The program wrapper (unit.c) puts the registers in K->regs for the
 * probe types whose context is struct pt_regs; elsewhere K->regs is 0 and
 * these raise stap's errors. */

typedef struct ArgReader {
	const char *name;
	int size;
	bool is_signed;
} ArgReader;

static const ArgReader arg_readers[] = {
	{"int_arg", 4, true},       {"s32_arg", 4, true},     {"uint_arg", 4, false},
	{"u32_arg", 4, false},      {"long_arg", 8, true},    {"ulong_arg", 8, false},
	{"longlong_arg", 8, true},  {"ulonglong_arg", 8, false}, {"s64_arg", 8, true},
	{"u64_arg", 8, false},      {"pointer_arg", 8, false},
};

static const ArgReader *arg_reader(const char *name)
{
	for (size_t i = 0; i < sizeof arg_readers / sizeof arg_readers[0]; i++)
		if (!strcmp(arg_readers[i].name, name))
			return &arg_readers[i];
	return NULL;
}

/* int_arg(n) and friends: argument n by the calling convention. */
static char *emit_arg_read(Emitter *e, Expr *x, const ArgReader *ar)
{
	char *n = emit_expr(e, x->args[0]);
	if (!needs_bpf(e, x, "reads registers"))
		return xstrdup("0");
	int no_regs = emit_error_site(e, "cannot access function args in this context", near_ident(x->name), x->loc);
	char *msg = x->args[0]->kind == E_NUM ? xasprintf("cannot access arg(%lld)", (long long)x->args[0]->num)
					      : xstrdup("cannot access the argument");
	int bad = emit_error_site(e, msg, near_ident(x->name), x->loc);
	free(msg);
	char *t = emit_new_long(e);
	emit_raise_if(e, no_regs, "!K->regs");
	emit_line(e, "{ uint64_t v_ = 0;");
	emit_raise_if(e, bad, xasprintf("stp_reg_arg(K, %s, &v_)", n));
	if (ar->size == 4)
		emit_line(e, "%s = (int64_t)(%s)v_; }", t, ar->is_signed ? "int32_t" : "uint32_t");
	else
		emit_line(e, "%s = (int64_t)v_; }", t);
	return t;
}

/* register() names: the pt_regs member and whether it is 32 bits wide. */
static const struct {
	const char *name, *member;
	bool narrow;
} register_names[] = {
	{"rax", "rax"}, {"ax", "rax"}, {"rbx", "rbx"}, {"bx", "rbx"}, {"rcx", "rcx"}, {"cx", "rcx"},
	{"rdx", "rdx"}, {"dx", "rdx"}, {"rsi", "rsi"}, {"si", "rsi"}, {"rdi", "rdi"}, {"di", "rdi"},
	{"rbp", "rbp"}, {"bp", "rbp"}, {"rsp", "rsp"}, {"sp", "rsp"}, {"rip", "rip"}, {"ip", "rip"},
	{"r8", "r8"}, {"r9", "r9"}, {"r10", "r10"}, {"r11", "r11"}, {"r12", "r12"}, {"r13", "r13"},
	{"r14", "r14"}, {"r15", "r15"}, {"orig_rax", "orig_rax"},
	{"eax", "rax", true}, {"ebx", "rbx", true}, {"ecx", "rcx", true}, {"edx", "rdx", true},
	{"esi", "rsi", true}, {"edi", "rdi", true}, {"ebp", "rbp", true}, {"esp", "rsp", true},
	{"eip", "rip", true}, {"orig_eax", "orig_rax", true}, {"flags", "eflags", true},
	{"eflags", "eflags", true}, {"xcs", "cs"}, {"cs", "cs"}, {"xss", "ss"}, {"ss", "ss"},
};

/* register("name"), u_register("name"), returnval(). */
static char *emit_register_read(Emitter *e, Expr *x, const char *name, bool is_signed)
{
	if (!needs_bpf(e, x, "reads registers"))
		return xstrdup("0");
	int k = -1;
	for (size_t i = 0; name && i < sizeof register_names / sizeof register_names[0] && k < 0; i++)
		if (!strcmp(register_names[i].name, name))
			k = (int)i;
	if (k < 0) {
		if (name)
			emit_fail(e, x->loc, "Unknown register: %s", name);
		else
			emit_fail(e, x->loc, "%s() needs the register's name as a literal string", x->name);
		return xstrdup("0");
	}
	int id = emit_error_site(e, "No registers available in this context", near_ident(x->name), x->loc);
	char *t = emit_new_long(e);
	emit_line(e, "{ uint64_t v_ = 0;");
	emit_raise_if(e, id, xasprintf("stp_reg_read(K, offsetof(struct pt_regs, %s), &v_)", register_names[k].member));
	if (register_names[k].narrow)
		emit_line(e, "%s = (int64_t)(%s)v_; }", t, is_signed ? "int32_t" : "uint32_t");
	else
		emit_line(e, "%s = (int64_t)v_; }", t);
	return t;
}

static char *emit_register_builtin(Emitter *e, Expr *x)
{
	const char *n = x->name;
	const ArgReader *ar = arg_reader(n);
	if (ar)
		return emit_arg_read(e, x, ar);
	if (!strcmp(n, "returnval"))
		return emit_register_read(e, x, "rax", true);
	if (!strcmp(n, "register") || !strcmp(n, "u_register")) {
		Expr *a = x->args[0];
		return emit_register_read(e, x, a->kind == E_STR ? a->str : NULL, !strcmp(n, "register"));
	}
	if (!strcmp(n, "uaddr")) {
		if (!needs_bpf(e, x, "reads registers"))
			return xstrdup("0");
		return long_call(e, "stp_uaddr(K)", NULL);
	}
	return NULL;
}

/* A string function writing into a new temporary: fn(result, args). */
static char *str_call(Emitter *e, const char *fn, char *args)
{
	char *r = emit_new_str(e);
	emit_line(e, "%s(%s, %s);", fn, r, args);
	free(args);
	return r;
}

/* The library's string functions: the same call on both targets, written
 * once in runtime/target/stp_string.h.  NULL when x is not one of them. */
static char *emit_string_fn(Emitter *e, Expr *x)
{
	static const char *const names[] = {"substr", "isinstr", "strpos", "strtol", "str_replace", "isdigit",
					    "stringat", "text_str", "text_strn", "tokenize"};
	const char *n = x->name;
	size_t i = 0;
	while (i < sizeof names / sizeof names[0] && strcmp(names[i], n))
		i++;
	if (i == sizeof names / sizeof names[0])
		return NULL;
	char *a[3] = {0};
	for (int k = 0; k < x->nargs && k < 3; k++)
		a[k] = emit_expr(e, x->args[k]);
	if (!strcmp(n, "substr"))
		return str_call(e, "stp_substr", xasprintf("%s, %s, %s", a[0], a[1], x->nargs > 2 ? a[2] : "STP_STRLEN"));
	if (!strcmp(n, "isinstr"))
		return long_call(e, "stp_isinstr(%s)", xasprintf("%s, %s", a[0], a[1]));
	if (!strcmp(n, "strpos"))
		return long_call(e, "stp_strpos(%s)", xasprintf("%s, %s", a[0], a[1]));
	if (!strcmp(n, "strtol"))
		return long_call(e, "stp_strtol(%s)", xasprintf("%s, %s", a[0], x->nargs > 1 ? a[1] : "10"));
	if (!strcmp(n, "str_replace"))
		return str_call(e, "stp_str_replace", xasprintf("%s, %s, %s", a[0], a[1], a[2]));
	if (!strcmp(n, "isdigit"))
		return long_call(e, "stp_isdigit(%s)", a[0]);
	if (!strcmp(n, "text_str"))
		return str_call(e, "stp_text_strn", xasprintf("%s, 0, 0", a[0]));
	if (!strcmp(n, "text_strn"))
		return str_call(e, "stp_text_strn", xasprintf("%s, %s, %s", a[0], a[1], a[2]));
	if (!strcmp(n, "tokenize")) {
		if (x->nargs == 1) /* tokenize(delim): go on with the last string */
			return str_call(e, "stp_tokenize", xasprintf("%s, %s", literal_operand(e, ""), a[0]));
		return str_call(e, "stp_tokenize", xasprintf("%s, %s", a[0], a[1]));
	}
	/* stringat */
	int id = emit_error_site(e, "Position out of bounds", near_ident(n), x->loc);
	emit_raise_if(e, id, xasprintf("(uint64_t)%s >= (uint64_t)stp_str_len(%s)", a[1], a[0]));
	return long_call(e, "stp_stringat(%s)", xasprintf("%s, %s", a[0], a[1]));
}

static char *emit_str_read(Emitter *e, Expr *x, const StrReader *r)
{
	char *addr = emit_expr(e, x->args[0]);
	char *n = r->has_n ? emit_expr(e, x->args[1]) : NULL;
	int fixed = r->has_n ? 2 : 1;
	char *given = x->nargs > fixed ? emit_expr(e, x->args[fixed]) : NULL;
	if (!needs_bpf(e, x, "reads memory"))
		return literal_operand(e, "");
	char *s = emit_new_str(e);
	/* n bytes and the NUL, bounded for the verifier by the buffer */
	char *size = n ? xasprintf("((%s) <= 0 ? 1 : (%s) >= STP_STRLEN ? STP_STRLEN : ((%s) & (STP_STRBUF - 1)) + 1)",
				   n, n, n)
		       : xstrdup("STP_STRLEN");
	emit_line(e, "if (bpf_probe_read_%s_str(%s, %s, (void *)%s) < 0) {", r->user ? "user" : "kernel", s,
		  size, addr);
	e->fn->indent++;
	if (r->fault == FAULT_WARN || (r->fault == FAULT_ERROR && !given))
		emit_fault(e, x, "string", r->user, addr, r->fault == FAULT_WARN);
	if (given)
		emit_line(e, "stp_str_copy(%s, %s);", s, given);
	else
		emit_line(e, "stp_str_copy(%s, %s);", s, literal_operand(e, r->fallback ? r->fallback : ""));
	e->fn->indent--;
	emit_line(e, "}");
	free(size);
	return s;
}

/* The reader called x, if it is one. */
static char *emit_mem_read(Emitter *e, Expr *x)
{
	for (size_t i = 0; i < sizeof num_readers / sizeof num_readers[0]; i++)
		if (!strcmp(x->name, num_readers[i].name))
			return emit_num_read(e, x, &num_readers[i]);
	for (size_t i = 0; i < sizeof str_readers / sizeof str_readers[0]; i++)
		if (!strcmp(x->name, str_readers[i].name))
			return emit_str_read(e, x, &str_readers[i]);
	return NULL;
}

/* ------------------------------------------------------- backtraces */

/* Stack addresses and frames (the kernel side of tapset/symbols.stp),
 * and the texts staprun makes from its symbol tables for the functions
 * of deferred strings: in a kernel handler those can only be printed. */
static char *emit_stack_more(Emitter *e, Expr *x)
{
	const char *n = x->name;
	if (!strcmp(n, "_addr"))
		return e->target == T_BPF ? long_call(e, "stp_addr(K)", NULL) : xstrdup("0");
	if (!strcmp(n, "_stack_at") || !strcmp(n, "_ustack_at")) {
		char *depth = emit_expr(e, x->args[0]);
		if (!needs_bpf(e, x, "reads the stack"))
			return xstrdup("0");
		return long_call(e, n[1] == 'u' ? "stp_stack_at(K, %s, STP_STACK_USER)" : "stp_stack_at(K, %s, 0)", depth);
	}
	if (!strcmp(n, "_callers") || !strcmp(n, "_ucallers")) {
		char *count = emit_expr(e, x->args[0]);
		if (!needs_bpf(e, x, "reads the stack"))
			return literal_operand(e, "");
		char *s = emit_new_str(e);
		emit_line(e, "stp_stack_text_range(K, %s, %s, 1, %s);", s, n[1] == 'u' ? "STP_STACK_USER" : "0",
			  count);
		return s;
	}
	if (!strcmp(n, "_stack_pointer")) {
		if (!needs_bpf(e, x, "reads the stack"))
			return xstrdup("0");
		return long_call(e, "stp_stack_pointer()", NULL);
	}
	if (!strcmp(n, "_print_backtrace_fileline") || !strcmp(n, "_print_ubacktrace_fileline") ||
	    !strcmp(n, "_print_ubacktrace_brief")) {
		if (needs_bpf(e, x, "reads the stack"))
			emit_line(e, "stp_stack_print(K, %s | %s);", strstr(n, "ubacktrace") ? "STP_STACK_USER" : "0",
				  strstr(n, "brief") ? "STP_STACK_BRIEF" : "STP_STACK_FILELINE");
		return xstrdup("0");
	}
	if (!strcmp(n, "dump_stack")) {
		if (needs_bpf(e, x, "reads the stack"))
			emit_line(e, "stp_dump_stack(K);");
		return xstrdup("0");
	}
	if (!strcmp(n, "_sym_text") || !strcmp(n, "_sym_lines") || !strcmp(n, "_module_info")) {
		char *a[3] = {0};
		for (int i = 0; i < x->nargs && i < 3; i++)
			a[i] = emit_expr(e, x->args[i]);
		if (e->target == T_BPF) {
			const char *users = !strcmp(n, "_sym_text")
						    ? "symfile(), symline(), symfileline(), usymfile(), usymline(), "
						      "usymfileline(), modname() and umodname()"
					    : !strcmp(n, "_sym_lines") ? "sprint_syms() and sprint_usyms()"
								       : "module_name() and module_size()";
			emit_fail(e, x->loc,
				  "%s() in a kernel-context probe: the text of %s is made by staprun from its symbol "
				  "tables, so in a kernel handler it can only be printed (a direct argument of print, "
				  "println, printf, printd or printdln, or a local only ever printed); use it otherwise "
				  "in a user-space probe (begin, end, timer)",
				  n, users);
			return literal_operand(e, "");
		}
		char *s = emit_new_str(e);
		if (!strcmp(n, "_sym_text"))
			emit_line(e, "stp_rt_sym_text(K, %s, STP_STRLEN, %s, %s, %s);", s, a[0], a[1], a[2]);
		else if (!strcmp(n, "_sym_lines"))
			emit_line(e, "stp_rt_sym_lines(K, %s, STP_STRLEN, %s, %s, %s);", s, a[0], a[1], a[2]);
		else
			emit_line(e, "stp_rt_module_info(K, %s, STP_STRLEN, %s);", s, a[0]);
		return s;
	}
	return NULL;
}

/* Backtraces are addresses in the kernel (bpf_get_stack) and names in
 * staprun (runtime/symbols.c): printing a stack sends the addresses and
 * staprun prints each frame; backtrace() is the addresses as text. */
static char *emit_stack_builtin(Emitter *e, Expr *x)
{
	const char *n = x->name;
	bool user = n[0] == 'u' || !strncmp(n, "print_u", 7) || !strncmp(n, "sprint_u", 8);
	const char *flags = user ? "STP_STACK_USER" : "0";
	if (!strcmp(n, "backtrace") || !strcmp(n, "ubacktrace")) {
		if (!needs_bpf(e, x, "reads the stack"))
			return literal_operand(e, "");
		char *s = emit_new_str(e);
		emit_line(e, "stp_stack_text(K, %s, %s);", s, flags);
		return s;
	}
	if (!strcmp(n, "print_backtrace") || !strcmp(n, "print_ubacktrace")) {
		if (needs_bpf(e, x, "reads the stack"))
			emit_line(e, "stp_stack_print(K, %s);", flags);
		return xstrdup("0");
	}
	if (!strcmp(n, "print_stack") || !strcmp(n, "print_ustack")) {
		char *stk = emit_expr(e, x->args[0]);
		if (e->target == T_BPF)
			emit_line(e, "stp_stack_print_text(K, %s, %s);", flags, stk);
		else if (!user)
			emit_line(e, "stp_rt_print_stack(K, %s);", stk);
		else
			needs_bpf(e, x, "names addresses of the probed process");
		return xstrdup("0");
	}
	char *more = emit_stack_more(e, x);
	if (more)
		return more;
	if (!strcmp(n, "symname") || !strcmp(n, "symdata")) {
		char *addr = emit_expr(e, x->args[0]);
		if (e->target == T_HOST) {
			char *s = emit_new_str(e);
			emit_line(e, "stp_rt_symname(K, %s, STP_STRLEN, %s, %d);", s, addr, !strcmp(n, "symdata"));
			return s;
		}
	}
	if (!strcmp(n, "symname") || !strcmp(n, "symdata") || !strcmp(n, "usymname") || !strcmp(n, "usymdata") ||
	    !strncmp(n, "sprint_", 7)) {
		for (int i = 0; i < x->nargs; i++)
			emit_expr(e, x->args[i]);
		emit_fail(e, x->loc,
			  "%s() in a kernel-context probe: symbol names are looked up by staprun, not in the kernel; "
			  "print the stack with print_backtrace()/print_ubacktrace() or print_stack(backtrace()), "
			  "or name kernel addresses with symname() in a user-space probe (begin, end, timer)",
			  n);
		return literal_operand(e, "");
	}
	return NULL;
}

/* _syscall_arg(N): raw argument word N of a syscall tracepoint record
 * (sys_enter_X and raw_syscalls:sys_enter alike: 8 bytes each from
 * offset 16); _syscall_arg_str(N): the user string it points to, or ""
 * unless N is 0..5.  N may be a row constant of a merged handler (dispatch.c),
 * so it is masked, not trusted. */
static char *emit_syscall_arg(Emitter *e, Expr *x)
{
	char *idx = emit_expr(e, x->args[0]);
	if (e->target != T_BPF) {
		emit_fail(e, x->loc, "%s() reads a syscall record in kernel-context probes only", x->name);
		return xstrdup("0");
	}
	bool str = !strcmp(x->name, "_syscall_arg_str");
	if (str) {
		char *s = emit_new_str(e);
		emit_line(e, "%s[0] = 0;", s);
		emit_line(e, "if (%s >= 0 && %s < 6) { uint64_t p_ = 0;", idx, idx);
		emit_line(e, "  bpf_probe_read_kernel(&p_, 8, (char *)K->ctx + 16 + 8 * (%s & 7));", idx);
		emit_line(e, "  if (bpf_probe_read_user_str(%s, STP_STRLEN, (void *)p_) < 0) %s[0] = 0; }", s, s);
		return s;
	}
	char *t = emit_new_long(e);
	emit_line(e, "{ uint64_t v_ = 0; bpf_probe_read_kernel(&v_, 8, (char *)K->ctx + 16 + 8 * (%s & 7)); %s = (int64_t)v_; }",
		  idx, t);
	return t;
}

/* _syscall_name(nr): the table of elab/syscalls.c, carried by the unit
 * (a read-only array indexed by number), so that the tapset (syscall_any)
 * does not write the names out again; an unknown number is its digits. */
static char *emit_syscall_name(Emitter *e, Expr *x)
{
	char *nr = emit_expr(e, x->args[0]);
	char *s = emit_new_str(e);
	e->uses_syscall_names = true;
	emit_line(e, "if ((uint64_t)%s < STP_NSYSCALL_NAMES && stp_syscall_names[%s][0])", nr, nr);
	emit_line(e, "\tstp_str_copy(%s, stp_syscall_names[%s]);", s, nr);
	if (e->target == T_BPF)
		emit_line(e, "else { static const char f_[] = \"%%lld\"; __u64 a_ = (__u64)%s; "
			     "bpf_snprintf(%s, STP_STRLEN, f_, &a_, sizeof a_); }", nr, s);
	else
		emit_line(e, "else snprintf(%s, STP_STRLEN, \"%%lld\", (long long)%s);", s, nr);
	return s;
}

void emit_syscall_names(Emitter *e, StrBuf *b)
{
	if (!e->uses_syscall_names)
		return;
	int n = syscall_max_nr() + 1;
	sb_printf(b, "#define STP_NSYSCALL_NAMES %d\nstatic const char stp_syscall_names[%d][32] = {\n", n, n);
	for (int i = 0; i < n; i++) {
		const char *name = syscall_name(i);
		if (name)
			sb_printf(b, "\t[%d] = \"%s\",\n", i, name);
	}
	sb_puts(b, "};\n\n");
}

/* matched(n), matched_str(), ngroups(): the groups the last =~ of the
 * handler recorded (stp_regex_caps); an error when it did not match or
 * there is no group n. */
static char *emit_regex_group(Emitter *e, Expr *x)
{
	const char *n = x->name;
	char *arg = x->nargs ? emit_expr(e, x->args[0]) : xstrdup("0");
	int failed = emit_error_site(e, !strcmp(n, "ngroups") ? "Attempted to get the number of subexpressions of a failed match"
							      : "Attempted to get subexpression of a failed match",
				     near_ident(n), x->loc);
	emit_raise_if(e, failed, "stp_re_ngroups() <= 0");
	if (!strcmp(n, "ngroups"))
		return long_call(e, "stp_re_ngroups()", NULL);
	if (x->nargs) {
		int range = emit_error_site(e, "Attempted to get a subexpression the regex does not have",
					    near_ident(n), x->loc);
		emit_raise_if(e, range, xasprintf("(uint64_t)%s >= (uint64_t)stp_re_ngroups()", arg));
	}
	char *s = emit_new_str(e);
	emit_line(e, "stp_re_matched(%s, %s);", s, arg);
	return s;
}

char *emit_builtin(Emitter *e, Expr *x)
{
	char *reg = emit_register_builtin(e, x);
	if (reg)
		return reg;
	const char *n = x->name;
	if (!strcmp(n, "printf") || !strcmp(n, "sprintf") || !strcmp(n, "print") || !strcmp(n, "println") ||
	    !strcmp(n, "printd") || !strcmp(n, "printdln") || !strcmp(n, "sprint"))
		return emit_print_family(e, x);
	if (!strcmp(n, "exit")) {
		emit_line(e, "stp_exit(K);");
		return xstrdup("0");
	}
	if (!strcmp(n, "abort")) {
		/* exit(), and leave the handler as `next` does: try passes it on */
		emit_line(e, "stp_exit(K);");
		emit_line(e, "K->error = -1;");
		emit_line(e, "goto %s;", e->unwind);
		return xstrdup("0");
	}
	if (!strcmp(n, "error")) {
		char *msg = emit_expr(e, x->args[0]);
		int id = emit_error_site(e, "", "", (SrcLoc){0});
		if (!in_try(e)) {
			emit_line(e, "stp_error_msg(K, %d, %s);", id, msg);
		} else {
			emit_line(e, "stp_str_copy(F->errmsg, %s); K->error = %d;", msg, id + 1);
		}
		emit_line(e, "goto %s;", e->unwind);
		return xstrdup("0");
	}
	if (!strcmp(n, "_defer"))
		return emit_defer(e, x);
	if (!strcmp(n, "_syscall_name"))
		return emit_syscall_name(e, x);
	if (!strcmp(n, "_syscall_arg") || !strcmp(n, "_syscall_arg_str"))
		return emit_syscall_arg(e, x);
	if (!strcmp(n, "matched") || !strcmp(n, "matched_str") || !strcmp(n, "ngroups"))
		return emit_regex_group(e, x);
	if (!strcmp(n, "pid")) return long_call(e, "stp_pid()", NULL);
	if (!strcmp(n, "tid")) return long_call(e, "stp_tid()", NULL);
	if (!strcmp(n, "ppid")) return long_call(e, "stp_ppid()", NULL);
	if (!strcmp(n, "uid")) return long_call(e, "stp_uid()", NULL);
	if (!strcmp(n, "gid")) return long_call(e, "stp_gid()", NULL);
	if (!strcmp(n, "euid")) return long_call(e, "stp_euid()", NULL);
	if (!strcmp(n, "egid")) return long_call(e, "stp_egid()", NULL);
	if (!strcmp(n, "cpu")) return long_call(e, "stp_cpu()", NULL);
	if (!strcmp(n, "target"))
		return long_call(e, e->target == T_BPF ? "stp_g.st.target_pid" : "stp_rt_target(K)", NULL);
	if (!strcmp(n, "gettimeofday_ns")) return long_call(e, "stp_realtime_ns()", NULL);
	if (!strcmp(n, "gettimeofday_us")) return long_call(e, "stp_sdiv(stp_realtime_ns(), 1000)", NULL);
	if (!strcmp(n, "gettimeofday_ms")) return long_call(e, "stp_sdiv(stp_realtime_ns(), 1000000)", NULL);
	if (!strcmp(n, "gettimeofday_s")) return long_call(e, "stp_sdiv(stp_realtime_ns(), 1000000000)", NULL);
	if (!strcmp(n, "local_clock_ns") || !strcmp(n, "cpu_clock_ns"))
		return long_call(e, "stp_local_clock_ns()", NULL);
	if (!strcmp(n, "local_clock_us") || !strcmp(n, "cpu_clock_us"))
		return long_call(e, "stp_sdiv(stp_local_clock_ns(), 1000)", NULL);
	if (!strcmp(n, "local_clock_ms") || !strcmp(n, "cpu_clock_ms"))
		return long_call(e, "stp_sdiv(stp_local_clock_ns(), 1000000)", NULL);
	if (!strcmp(n, "local_clock_s") || !strcmp(n, "cpu_clock_s"))
		return long_call(e, "stp_sdiv(stp_local_clock_ns(), 1000000000)", NULL);
	if (!strcmp(n, "jiffies")) return long_call(e, "stp_jiffies()", NULL);
	if (!strcmp(n, "execname")) {
		char *s = emit_new_str(e);
		emit_line(e, "stp_execname(%s);", s);
		return s;
	}
	if (!strcmp(n, "pn")) {
		/* K->pn: set by the handler of a probe reached through an alias */
		char *s = emit_new_str(e);
		emit_line(e, "stp_str_copy(%s, K->pn ? K->pn : K->pp);", s);
		return s;
	}
	if (!strcmp(n, "pp") || !strcmp(n, "probefunc") || !strcmp(n, "probemod")) {
		char *s = emit_new_str(e);
		if (!strcmp(n, "pp"))
			emit_line(e, e->target == T_BPF ? "stp_str_copy(%s, K->pp);" : "stp_str_copy(%s, K->pp);", s);
		else if (!strcmp(n, "probefunc") && e->target == T_BPF)
			emit_line(e, "stp_str_copy(%s, K->func);", s);
		else
			emit_line(e, "%s[0] = 0;", s);
		return s;
	}
	if (!strcmp(n, "strlen")) {
		char *a = emit_expr(e, x->args[0]);
		return long_call(e, "stp_str_len(%s)", a);
	}
	char *mem = emit_mem_read(e, x);
	if (mem)
		return mem;
	mem = emit_mem_text(e, x);
	if (mem)
		return mem;
	char *stack = emit_stack_builtin(e, x);
	if (stack)
		return stack;
	if (!strcmp(n, "task_current")) {
		if (!needs_bpf(e, x, "reads the current task"))
			return xstrdup("0");
		return long_call(e, "(int64_t)bpf_get_current_task()", NULL);
	}
	if (!strcmp(n, "warn")) {
		char *msg = emit_expr(e, x->args[0]);
		int id = emit_error_site(e, "", "", (SrcLoc){0});
		if (e->target == T_HOST)
			emit_line(e, "stp_rt_warn(K, %d, %s);", id, msg);
		else
			emit_line(e, "stp_warn_str(K, %d, %s);", id, msg);
		return xstrdup("0");
	}

	char *r = emit_string_fn(e, x);
	if (r)
		return r;

	/* Host-only functions, implemented in stp_host.h. */
	if (e->target == T_HOST) {
		char *a0 = x->nargs ? emit_expr(e, x->args[0]) : NULL;
		if (!strcmp(n, "ctime")) {
			r = emit_new_str(e);
			emit_line(e, "stp_ctime(%s, %s);", r, a0 ? a0 : "stp_sdiv(stp_realtime_ns(), 1000000000)");
		} else if (!strcmp(n, "randint")) {
			r = long_call(e, "stp_randint(%s)", a0);
		} else if (!strcmp(n, "abs")) {
			r = long_call(e, "stp_abs(%s)", a0);
		}
		if (r)
			return r;
	}
	emit_fail(e, x->loc, "function %s() is not available in %s probes", n,
		  e->target == T_BPF ? "kernel-context" : "user-space");
	return x->type == TY_STRING ? literal_operand(e, "") : xstrdup("0");
}

