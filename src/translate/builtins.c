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

/* kernel_long(addr) and friends: a fault is a runtime error. */
static char *emit_mem_read(Emitter *e, Expr *x, const char *space, int size, bool is_signed, bool str)
{
	char *addr = emit_expr(e, x->args[0]);
	if (e->target != T_BPF) {
		emit_fail(e, x->loc, "%s() reads memory in kernel-context probes only", x->name);
		return xstrdup("0");
	}
	char *msg = xasprintf("%s %s copy fault", space, str ? "string" : "data");
	int id = emit_error_site(e, msg, near_ident(x->name), x->loc);
	if (str) {
		char *s = emit_new_str(e);
		emit_raise_if(e, id, xasprintf("bpf_probe_read_%s_str(%s, STP_STRLEN, (void *)%s) < 0", space, s, addr));
		return s;
	}
	char *t = emit_new_long(e);
	const char *ctype = size == 1 ? (is_signed ? "int8_t" : "uint8_t")
			   : size == 2 ? (is_signed ? "int16_t" : "uint16_t")
			   : size == 4 ? (is_signed ? "int32_t" : "uint32_t") : "int64_t";
	emit_line(e, "{ %s v_ = 0;", ctype);
	emit_raise_if(e, id, xasprintf("bpf_probe_read_%s(&v_, sizeof v_, (void *)%s) < 0", space, addr));
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

static bool needs_bpf(Emitter *e, Expr *x)
{
	if (e->target == T_BPF)
		return true;
	emit_fail(e, x->loc, "%s() reads registers, in kernel-context probes only", x->name);
	return false;
}

/* int_arg(n) and friends: argument n by the calling convention. */
static char *emit_arg_read(Emitter *e, Expr *x, const ArgReader *ar)
{
	char *n = emit_expr(e, x->args[0]);
	if (!needs_bpf(e, x))
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
	if (!needs_bpf(e, x))
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
		if (!needs_bpf(e, x))
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
	if (!strcmp(n, "error")) {
		char *msg = emit_expr(e, x->args[0]);
		int id = emit_error_site(e, "", "", (SrcLoc){0});
		if (e->target == T_HOST && !in_try(e)) {
			emit_line(e, "stp_rt_error(K, %d, %s); if (!K->error) K->error = %d;", id, msg, id + 1);
		} else if (e->target == T_BPF && !in_try(e)) {
			emit_line(e, "{ unsigned char *r_ = stp_rec_begin(); __sync_fetch_and_add(&stp_g.st.errors, 1);");
			emit_line(e, "  if (r_) { uint32_t o_ = stp_rec_str(r_, sizeof(struct stp_rec_hdr), %s, 0);", msg);
			emit_line(e, "  stp_rec_send(K, r_, STP_REC_ERROR, %d, o_); } K->error = %d; }", id, id + 1);
		} else {
			emit_line(e, "stp_str_copy(F->errmsg, %s); K->error = %d;", msg, id + 1);
		}
		emit_line(e, "goto %s;", e->unwind);
		return xstrdup("0");
	}
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
	if (!strcmp(n, "kernel_long")) return emit_mem_read(e, x, "kernel", 8, true, false);
	if (!strcmp(n, "kernel_int")) return emit_mem_read(e, x, "kernel", 4, true, false);
	if (!strcmp(n, "kernel_short")) return emit_mem_read(e, x, "kernel", 2, true, false);
	if (!strcmp(n, "kernel_char")) return emit_mem_read(e, x, "kernel", 1, true, false);
	if (!strcmp(n, "kernel_string")) return emit_mem_read(e, x, "kernel", 0, false, true);
	if (!strcmp(n, "user_long")) return emit_mem_read(e, x, "user", 8, true, false);
	if (!strcmp(n, "user_int")) return emit_mem_read(e, x, "user", 4, true, false);
	if (!strcmp(n, "user_short")) return emit_mem_read(e, x, "user", 2, true, false);
	if (!strcmp(n, "user_char")) return emit_mem_read(e, x, "user", 1, true, false);
	if (!strcmp(n, "user_string")) return emit_mem_read(e, x, "user", 0, false, true);

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

