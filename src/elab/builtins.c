/* builtins.c - the functions the runtime provides natively.
 *
 * Only what cannot be written in the script language lives here (printing,
 * context, time, memory reads, string primitives); everything else belongs
 * in the tapset library.  The table is data: pass 2 checks calls against
 * it, the translator implements each entry for the contexts it lists.
 * Argument type TY_UNKNOWN accepts long or string.
 */
#include "elab/elab.h"

#include <string.h>

#define U (1u << CTX_USER)
#define K (1u << CTX_KERNEL)
#define BOTH (U | K)
#define L TY_LONG
#define S TY_STRING
#define V TY_VOID
#define ANY TY_UNKNOWN

static const Builtin builtins[] = {
	/* output */
	{"print", V, 1, -1, {ANY}, BOTH, "print values"},
	{"println", V, 0, -1, {ANY}, BOTH, "print values and a newline"},
	{"printd", V, 2, -1, {S, ANY}, BOTH, "print values separated by a delimiter"},
	{"printdln", V, 2, -1, {S, ANY}, BOTH, "printd and a newline"},
	{"printf", V, 1, -1, {S, ANY}, BOTH, "formatted print"},
	{"sprint", S, 1, -1, {ANY}, BOTH, "values as a string"},
	{"sprintln", S, 0, -1, {ANY}, BOTH, "values and a newline as a string"},
	{"sprintf", S, 1, -1, {S, ANY}, BOTH, "formatted string"},
	/* control */
	{"exit", V, 0, 0, {0}, BOTH, "stop the session after this handler"},
	{"error", V, 1, 1, {S}, BOTH, "raise an error (catchable with try)"},
	{"warn", V, 1, 1, {S}, BOTH, "print a warning"},
	{"system", V, 1, 1, {S}, BOTH, "run a shell command in staprun"},
	{"abort", V, 0, 0, {0}, BOTH, "stop the session now, leaving this handler (not caught by try)"},
	{"panic", V, 1, 1, {S}, BOTH, "panic the kernel", true,
	 "cannot panic the kernel: eBPF programs may not call the kernel's panic() (and there is no kernel "
	 "module to call it)"},
	/* context */
	{"pid", L, 0, 0, {0}, BOTH, "process id"},
	{"tid", L, 0, 0, {0}, BOTH, "thread id"},
	{"ppid", L, 0, 0, {0}, BOTH, "parent process id"},
	{"uid", L, 0, 0, {0}, BOTH, "user id"},
	{"gid", L, 0, 0, {0}, BOTH, "group id"},
	{"euid", L, 0, 0, {0}, BOTH, "effective user id"},
	{"egid", L, 0, 0, {0}, BOTH, "effective group id"},
	{"execname", S, 0, 0, {0}, BOTH, "name of the current process"},
	{"cpu", L, 0, 0, {0}, BOTH, "current cpu"},
	{"pp", S, 0, 0, {0}, BOTH, "probe point text"},
	{"pn", S, 0, 0, {0}, BOTH, "probe point as the script named it (the alias name, else pp)"},
	{"probefunc", S, 0, 0, {0}, K, "function probed"},
	{"probemod", S, 0, 0, {0}, K, "module probed"},
	{"target", L, 0, 0, {0}, BOTH, "-x PID or -c child pid"},
	{"task_current", L, 0, 0, {0}, K, "address of the current task_struct"},
	/* backtraces and symbols */
	{"backtrace", S, 0, 0, {0}, K, "kernel stack addresses, in hex"},
	{"task_backtrace", S, 1, 1, {L}, K, "kernel stack addresses of another task", false,
	 "cannot unwind another task's stack: bpf_get_task_stack() needs a task pointer the verifier "
	 "trusts, and a task address read from memory is not one (backtrace() gives the current task's)"},
	{"print_backtrace", V, 0, 0, {0}, K, "print the kernel stack, one symbolized frame a line"},
	{"sprint_backtrace", S, 0, 0, {0}, K, "the kernel stack as text (not in kernel handlers)"},
	{"ubacktrace", S, 0, 0, {0}, K, "user stack addresses, in hex"},
	{"print_ubacktrace", V, 0, 0, {0}, K, "print the user stack, one symbolized frame a line"},
	{"sprint_ubacktrace", S, 0, 0, {0}, K, "the user stack as text (not in kernel handlers)"},
	{"print_stack", V, 1, 1, {S}, BOTH, "print a backtrace() string, one symbolized frame a line"},
	{"print_ustack", V, 1, 1, {S}, K, "print a ubacktrace() string, one symbolized frame a line"},
	{"sprint_stack", S, 1, 1, {S}, K, "a backtrace() string, symbolized (not in kernel handlers)"},
	{"sprint_ustack", S, 1, 1, {S}, K, "a ubacktrace() string, symbolized (not in kernel handlers)"},
	{"symname", S, 1, 1, {L}, BOTH, "the kernel function at an address"},
	{"symdata", S, 1, 1, {L}, BOTH, "the kernel function, offset, size and module at an address"},
	{"usymname", S, 1, 1, {L}, K, "the user function at an address (not in kernel handlers)"},
	{"usymdata", S, 1, 1, {L}, K, "the user function at an address, with offset (not in kernel handlers)"},
	/* stacks and addresses, for tapset/symbols.stp */
	{"_addr", L, 0, 0, {0}, BOTH, "the instruction pointer of the probe's registers (0 without)"},
	{"_stack_at", L, 1, 1, {L}, K, "address n of the kernel backtrace (0 past its end)"},
	{"_ustack_at", L, 1, 1, {L}, K, "address n of the user backtrace (0 past its end)"},
	{"_callers", S, 1, 1, {L}, K, "kernel backtrace addresses 1..n, in hex"},
	{"_ucallers", S, 1, 1, {L}, K, "user backtrace addresses 1..n, in hex"},
	{"_stack_pointer", L, 0, 0, {0}, K, "where the handler's frame is on the kernel stack"},
	{"_print_backtrace_fileline", V, 0, 0, {0}, K, "print_backtrace() with source files and lines"},
	{"_print_ubacktrace_fileline", V, 0, 0, {0}, K, "print_ubacktrace() with source files and lines"},
	{"print_ubacktrace_fileline", V, 3, 3, {L, L, L}, K, "a user backtrace from given pc, sp and fp", false,
	 "cannot unwind from given registers: bpf_get_stack() walks the stack of the probe's own context only "
	 "(print_ubacktrace_fileline() without arguments does that)"},
	{"_print_ubacktrace_brief", V, 0, 0, {0}, K, "print the user stack, function and offset a line"},
	{"dump_stack", V, 0, 0, {0}, K, "the kernel backtrace to the kernel's trace buffer (tracefs trace)", true},
	/* made by staprun: the functions of deferred strings call these (tapset/symbols.stp) */
	{"_sym_text", S, 3, 3, {L, L, L}, BOTH, "source file, line or module of an address (pid -1: kernel)"},
	{"_sym_lines", S, 3, 3, {L, S, L}, BOTH, "a backtrace() string, a symbolized frame a line (pid -1: kernel)"},
	{"_module_info", S, 1, 1, {L}, BOTH, "the module's name (0) or its section sizes (1)"},
	/* registers and arguments of function probes (uprobe, kprobe, USDT) */
	{"int_arg", L, 1, 1, {L}, K, "argument n as a signed int"},
	{"uint_arg", L, 1, 1, {L}, K, "argument n as an unsigned int"},
	{"long_arg", L, 1, 1, {L}, K, "argument n as a signed long"},
	{"ulong_arg", L, 1, 1, {L}, K, "argument n as an unsigned long"},
	{"longlong_arg", L, 1, 1, {L}, K, "argument n as a 64-bit value"},
	{"ulonglong_arg", L, 1, 1, {L}, K, "argument n as an unsigned 64-bit value"},
	{"s32_arg", L, 1, 1, {L}, K, "argument n as a signed 32-bit value"},
	{"u32_arg", L, 1, 1, {L}, K, "argument n as an unsigned 32-bit value"},
	{"s64_arg", L, 1, 1, {L}, K, "argument n as a signed 64-bit value"},
	{"u64_arg", L, 1, 1, {L}, K, "argument n as an unsigned 64-bit value"},
	{"pointer_arg", L, 1, 1, {L}, K, "argument n as a pointer"},
	{"register", L, 1, 1, {S}, K, "a CPU register, sign-extended"},
	{"u_register", L, 1, 1, {S}, K, "a CPU register, zero-extended"},
	{"returnval", L, 0, 0, {0}, K, "the return value register"},
	{"uaddr", L, 0, 0, {0}, K, "user-space address the task was at"},
	/* time */
	{"gettimeofday_s", L, 0, 0, {0}, BOTH, "seconds since the epoch"},
	{"gettimeofday_ms", L, 0, 0, {0}, BOTH, "milliseconds since the epoch"},
	{"gettimeofday_us", L, 0, 0, {0}, BOTH, "microseconds since the epoch"},
	{"gettimeofday_ns", L, 0, 0, {0}, BOTH, "nanoseconds since the epoch"},
	{"local_clock_ns", L, 0, 0, {0}, BOTH, "monotonic clock, ns"},
	{"local_clock_us", L, 0, 0, {0}, BOTH, "monotonic clock, us"},
	{"local_clock_ms", L, 0, 0, {0}, BOTH, "monotonic clock, ms"},
	{"local_clock_s", L, 0, 0, {0}, BOTH, "monotonic clock, s"},
	{"cpu_clock_ns", L, 1, 1, {L}, BOTH, "a cpu's clock, ns"},
	{"jiffies", L, 0, 0, {0}, BOTH, "kernel jiffies"},
	/* memory */
	{"kernel_char", L, 1, 1, {L}, K, "kernel char at an address (error on a fault)"},
	{"kernel_short", L, 1, 1, {L}, K, "kernel short at an address (error on a fault)"},
	{"kernel_int", L, 1, 1, {L}, K, "kernel int at an address (error on a fault)"},
	{"kernel_long", L, 1, 1, {L}, K, "kernel long at an address (error on a fault)"},
	{"kernel_pointer", L, 1, 1, {L}, K, "kernel pointer at an address (error on a fault)"},
	{"user_char", L, 1, 1, {L}, K, "user char at an address (0 on a fault)"},
	{"user_char_error", L, 1, 1, {L}, K, "user char at an address (error on a fault)"},
	{"user_char_warn", L, 1, 1, {L}, K, "user char at an address (0 and a warning on a fault)"},
	{"user_short", L, 1, 1, {L}, K, "user short at an address (0 on a fault)"},
	{"user_short_error", L, 1, 1, {L}, K, "user short at an address (error on a fault)"},
	{"user_short_warn", L, 1, 1, {L}, K, "user short at an address (0 and a warning on a fault)"},
	{"user_ushort", L, 1, 1, {L}, K, "user unsigned short at an address (0 on a fault)"},
	{"user_ushort_error", L, 1, 1, {L}, K, "user unsigned short at an address (error on a fault)"},
	{"user_ushort_warn", L, 1, 1, {L}, K, "user unsigned short at an address (0 and a warning on a fault)"},
	{"user_int", L, 1, 1, {L}, K, "user int at an address (0 on a fault)"},
	{"user_int_error", L, 1, 1, {L}, K, "user int at an address (error on a fault)"},
	{"user_int_warn", L, 1, 1, {L}, K, "user int at an address (0 and a warning on a fault)"},
	{"user_long", L, 1, 1, {L}, K, "user long at an address (0 on a fault)"},
	{"user_long_error", L, 1, 1, {L}, K, "user long at an address (error on a fault)"},
	{"user_long_warn", L, 1, 1, {L}, K, "user long at an address (0 and a warning on a fault)"},
	{"user_ulong", L, 1, 1, {L}, K, "user unsigned long at an address (0 on a fault)"},
	{"user_ulong_error", L, 1, 1, {L}, K, "user unsigned long at an address (error on a fault)"},
	{"user_ulong_warn", L, 1, 1, {L}, K, "user unsigned long at an address (0 and a warning on a fault)"},
	{"user_int8", L, 1, 1, {L}, K, "user int8 at an address (0 on a fault)"},
	{"user_int8_error", L, 1, 1, {L}, K, "user int8 at an address (error on a fault)"},
	{"user_int8_warn", L, 1, 1, {L}, K, "user int8 at an address (0 and a warning on a fault)"},
	{"user_uint8", L, 1, 1, {L}, K, "user uint8 at an address (0 on a fault)"},
	{"user_uint8_error", L, 1, 1, {L}, K, "user uint8 at an address (error on a fault)"},
	{"user_uint8_warn", L, 1, 1, {L}, K, "user uint8 at an address (0 and a warning on a fault)"},
	{"user_int16", L, 1, 1, {L}, K, "user int16 at an address (0 on a fault)"},
	{"user_int16_error", L, 1, 1, {L}, K, "user int16 at an address (error on a fault)"},
	{"user_int16_warn", L, 1, 1, {L}, K, "user int16 at an address (0 and a warning on a fault)"},
	{"user_uint16", L, 1, 1, {L}, K, "user uint16 at an address (0 on a fault)"},
	{"user_uint16_error", L, 1, 1, {L}, K, "user uint16 at an address (error on a fault)"},
	{"user_uint16_warn", L, 1, 1, {L}, K, "user uint16 at an address (0 and a warning on a fault)"},
	{"user_int32", L, 1, 1, {L}, K, "user int32 at an address (0 on a fault)"},
	{"user_int32_error", L, 1, 1, {L}, K, "user int32 at an address (error on a fault)"},
	{"user_int32_warn", L, 1, 1, {L}, K, "user int32 at an address (0 and a warning on a fault)"},
	{"user_uint32", L, 1, 1, {L}, K, "user uint32 at an address (0 on a fault)"},
	{"user_uint32_error", L, 1, 1, {L}, K, "user uint32 at an address (error on a fault)"},
	{"user_uint32_warn", L, 1, 1, {L}, K, "user uint32 at an address (0 and a warning on a fault)"},
	{"user_int64", L, 1, 1, {L}, K, "user int64 at an address (0 on a fault)"},
	{"user_int64_error", L, 1, 1, {L}, K, "user int64 at an address (error on a fault)"},
	{"user_int64_warn", L, 1, 1, {L}, K, "user int64 at an address (0 and a warning on a fault)"},
	{"user_uint64", L, 1, 1, {L}, K, "user uint64 at an address (0 on a fault)"},
	{"user_uint64_error", L, 1, 1, {L}, K, "user uint64 at an address (error on a fault)"},
	{"user_uint64_warn", L, 1, 1, {L}, K, "user uint64 at an address (0 and a warning on a fault)"},
	{"kernel_string", S, 1, 2, {L, S}, K, "kernel string at an address (error, or err_msg, on a fault)"},
	{"kernel_string2", S, 2, 2, {L, S}, K, "kernel string at an address (err_msg on a fault)"},
	{"kernel_string_n", S, 2, 2, {L, L}, K, "at most n bytes of a kernel string"},
	{"user_string", S, 1, 2, {L, S}, K, "user string at an address (error, or err_msg, on a fault)"},
	{"user_string2", S, 2, 2, {L, S}, K, "user string at an address (err_msg on a fault)"},
	{"user_string_n", S, 2, 3, {L, L, S}, K, "at most n bytes of a user string (error, or err_msg, on a fault)"},
	{"user_string_n2", S, 3, 3, {L, L, S}, K, "at most n bytes of a user string (err_msg on a fault)"},
	{"user_string_nofault", S, 1, 1, {L}, K, "user string at an address (\"\" on a fault)"},
	{"user_string_n_nofault", S, 2, 2, {L, L}, K, "at most n bytes of a user string (\"\" on a fault)"},
	{"user_string_warn", S, 1, 2, {L, S}, K, "user string, warn on a fault"},
	{"user_string2_warn", S, 2, 2, {L, S}, K, "user string, warn and give warn_msg on a fault"},
	{"user_string_n_warn", S, 2, 3, {L, L, S}, K, "at most n bytes of a user string, warn on a fault"},
	{"user_string2_n_warn", S, 3, 3, {L, L, S}, K, "at most n bytes of a user string, warn and give warn_msg on a fault"},
	/* quoting and UTF readers behind tapset/memtext.stp (translate/memtext.c) */
	{"_text_mem", S, 4, 4, {L, L, L, L}, K, "quoted text of memory: addr, inlen, outlen, STP_MEM_* flags (a literal)"},
	{"_utf_str", S, 2, 3, {L, L, S}, K, "UTF-16/32 string at an address as UTF-8: addr, STP_MEM_* flags (a literal)[, err_msg]"},
	/* memory writers: user memory by bpf_probe_write_user (-g, as in stap) */
	{"set_user_char", V, 2, 2, {L, L}, K, "write a char to user memory", true},
	{"set_user_short", V, 2, 2, {L, L}, K, "write a short to user memory", true},
	{"set_user_int", V, 2, 2, {L, L}, K, "write an int to user memory", true},
	{"set_user_long", V, 2, 2, {L, L}, K, "write a long to user memory", true},
	{"set_user_pointer", V, 2, 2, {L, L}, K, "write a pointer to user memory", true},
	{"set_user_string", V, 2, 2, {L, S}, K, "write a string and its NUL to user memory", true},
	{"set_user_string_n", V, 3, 3, {L, L, S}, K, "write at most n bytes of a string and its NUL to user memory", true},
	{"set_user_string_arg", V, 2, 2, {L, S}, K, "write a string to user memory, warn on a fault"},
#define KERNEL_WRITE "cannot write kernel memory: eBPF programs may read the kernel's memory but never write it"
	{"set_kernel_char", V, 2, 2, {L, L}, BOTH, "write a char to kernel memory", true, KERNEL_WRITE},
	{"set_kernel_short", V, 2, 2, {L, L}, BOTH, "write a short to kernel memory", true, KERNEL_WRITE},
	{"set_kernel_int", V, 2, 2, {L, L}, BOTH, "write an int to kernel memory", true, KERNEL_WRITE},
	{"set_kernel_long", V, 2, 2, {L, L}, BOTH, "write a long to kernel memory", true, KERNEL_WRITE},
	{"set_kernel_pointer", V, 2, 2, {L, L}, BOTH, "write a pointer to kernel memory", true, KERNEL_WRITE},
	{"set_kernel_string", V, 2, 2, {L, S}, BOTH, "write a string to kernel memory", true, KERNEL_WRITE},
	{"set_kernel_string_n", V, 3, 3, {L, L, S}, BOTH, "write at most n bytes of a string to kernel memory", true,
	 KERNEL_WRITE},
#define ARG_WRITE "cannot set a function argument: the registers of an eBPF tracing program's context are read-only"
	{"set_int_arg", V, 2, 2, {L, L}, BOTH, "set argument n as a signed int", false, ARG_WRITE},
	{"set_uint_arg", V, 2, 2, {L, L}, BOTH, "set argument n as an unsigned int", false, ARG_WRITE},
	{"set_long_arg", V, 2, 2, {L, L}, BOTH, "set argument n as a signed long", false, ARG_WRITE},
	{"set_ulong_arg", V, 2, 2, {L, L}, BOTH, "set argument n as an unsigned long", false, ARG_WRITE},
	{"set_longlong_arg", V, 2, 2, {L, L}, BOTH, "set argument n as a 64-bit value", false, ARG_WRITE},
	{"set_ulonglong_arg", V, 2, 2, {L, L}, BOTH, "set argument n as an unsigned 64-bit value", false, ARG_WRITE},
	{"set_s32_arg", V, 2, 2, {L, L}, BOTH, "set argument n as a signed 32-bit value", false, ARG_WRITE},
	{"set_u32_arg", V, 2, 2, {L, L}, BOTH, "set argument n as an unsigned 32-bit value", false, ARG_WRITE},
	{"set_s64_arg", V, 2, 2, {L, L}, BOTH, "set argument n as a signed 64-bit value", false, ARG_WRITE},
	{"set_u64_arg", V, 2, 2, {L, L}, BOTH, "set argument n as an unsigned 64-bit value", false, ARG_WRITE},
	{"set_pointer_arg", V, 2, 2, {L, L}, BOTH, "set argument n as a pointer", false, ARG_WRITE},
	/* deferred formatting (translate/defer.c, doc/module-format.md) */
	{"_defer", S, 1, 1, {S}, BOTH, "the string a script function call returns, formatted by staprun where it is only printed"},
	{"_syscall_arg", L, 1, 1, {L}, K, "raw argument word N of a syscall tracepoint"},
	{"_syscall_name", S, 1, 1, {L}, BOTH, "the name of syscall number N (elab/syscalls.c's table), else its digits"},
	{"_syscall_arg_str", S, 1, 1, {L}, K, "user string at syscall argument word N, empty unless N is 0..5"},
	/* strings */
	{"strlen", L, 1, 1, {S}, BOTH, "length of a string"},
	{"substr", S, 2, 3, {S, L, L}, BOTH, "part of a string"},
	{"isinstr", L, 2, 2, {S, S}, BOTH, "whether s2 occurs in s1"},
	{"strtol", L, 1, 2, {S, L}, BOTH, "string to number"},
	{"str_replace", S, 3, 3, {S, S, S}, BOTH, "replace every occurrence"},
	{"text_str", S, 1, 1, {S}, BOTH, "escape a string"},
	{"text_strn", S, 3, 3, {S, L, L}, BOTH, "escape at most n bytes"},
	{"stringat", L, 2, 2, {S, L}, BOTH, "byte at a position"},
	{"isdigit", L, 1, 1, {S}, BOTH, "whether a string starts with a digit"},
	{"strpos", L, 2, 2, {S, S}, BOTH, "offset of s2 in s1, or -1"},
	{"tokenize", S, 1, 2, {S, S}, BOTH, "next token of a string"},
	/* the last =~ of the handler (tapset/regex.stp documents them) */
	{"matched", S, 1, 1, {L}, BOTH, "a subexpression of the last regex match"},
	{"matched_str", S, 0, 0, {0}, BOTH, "the string the last regex match matched"},
	{"ngroups", L, 0, 0, {0}, BOTH, "subexpressions of the last regex match, the whole one included"},
	/* numbers */
	{"randint", L, 1, 1, {L}, BOTH, "random number below n"},
	{"abs", L, 1, 1, {L}, BOTH, "absolute value"},
};

const Builtin *builtin_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

bool builtin_is_printf_family(const Builtin *b)
{
	return b && (strcmp(b->name, "printf") == 0 || strcmp(b->name, "sprintf") == 0);
}

bool builtin_is_print_family(const Builtin *b)
{
	static const char *const names[] = {"print", "println", "printd", "printdln", "sprint",
					    "sprintln"};
	for (size_t i = 0; b && i < sizeof names / sizeof names[0]; i++)
		if (strcmp(b->name, names[i]) == 0)
			return true;
	return false;
}

/* Names for "(similar: ...)" suggestions. */
int builtin_names(const char **out, int max)
{
	int n = 0;
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0] && n < max; i++)
		out[n++] = builtins[i].name;
	return n;
}
