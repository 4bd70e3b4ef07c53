/* stp_module.h - the contract between a compiled module and staprun.
 *
 * An instrumentation module (NAME.ko) is an ELF shared object built by
 * pass 4.  It holds:
 *   - the BPF object for every kernel-context handler, as bytes
 *     (stp_module.bpf_obj), compiled with clang -target bpf;
 *   - the host code for every user-space handler (begin, end, error,
 *     timer.*), compiled with the host C compiler;
 *   - one exported descriptor, `stp_module`, that tells staprun what to
 *     load, what to attach, how to print what the kernel sends, and how to
 *     print globals at the end.
 * staprun dlopen()s the module; host handlers call back into staprun
 * through the stp_rt_* functions below (staprun is linked -rdynamic), so
 * modules stay small and all runtime logic lives in runtime/.
 *
 * This header is included by staprun, by generated host code and (for the
 * record and value layouts only, under __bpf__) by generated BPF code.
 * Changing a layout here changes STP_ABI_VERSION.
 */
#ifndef STP_MODULE_H
#define STP_MODULE_H

#ifdef __bpf__
typedef signed long long stp_i64;
typedef unsigned long long stp_u64;
typedef unsigned int stp_u32;
typedef unsigned short stp_u16;
typedef unsigned char stp_u8;
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef int64_t stp_i64;
typedef uint64_t stp_u64;
typedef uint32_t stp_u32;
typedef uint16_t stp_u16;
typedef uint8_t stp_u8;
#endif

#define STP_ABI_VERSION 3
#define STP_MAX_INDEXES 9

/* ------------------------------------------------------------ values */

enum stp_type {
	STP_T_LONG = 1,   /* int64, 8 bytes */
	STP_T_STRING = 2, /* NUL-terminated char[size] */
	STP_T_STATS = 3,  /* struct stp_stat + histogram buckets */
};

/* Statistics aggregate, one per CPU in the kernel; summed when read.
 * Followed in memory by `nbuckets` int64 histogram counts when the
 * global uses @hist_log / @hist_linear. */
struct stp_stat {
	stp_i64 count;
	stp_i64 sum;
	stp_i64 min;
	stp_i64 max;
	/* Running sum of squares, for @variance; wraps like stap's 64-bit math. */
	stp_i64 sumsq;
	stp_i64 buckets[];
};

/* Signed division and remainder through unsigned operations: the BPF
 * instruction set of clang 14 has no signed division, and this form also
 * gives INT64_MIN / -1 its wrapped result instead of a trap.  The caller
 * has checked b != 0.  C's truncating semantics, as stap's. */
static inline stp_i64 stp_sdiv(stp_i64 a, stp_i64 b)
{
	stp_u64 ua = a < 0 ? (stp_u64)0 - (stp_u64)a : (stp_u64)a;
	stp_u64 ub = b < 0 ? (stp_u64)0 - (stp_u64)b : (stp_u64)b;
	stp_u64 q = ua / ub;
	return (stp_i64)((a < 0) != (b < 0) ? (stp_u64)0 - q : q);
}

static inline stp_i64 stp_smod(stp_i64 a, stp_i64 b)
{
	stp_u64 ua = a < 0 ? (stp_u64)0 - (stp_u64)a : (stp_u64)a;
	stp_u64 ub = b < 0 ? (stp_u64)0 - (stp_u64)b : (stp_u64)b;
	stp_u64 r = ua % ub;
	return (stp_i64)(a < 0 ? (stp_u64)0 - r : r);
}

/* @variance of an aggregate: the sample variance in integer arithmetic,
 * (n*sumsq - sum*sum) / (n*(n-1)); 0 for fewer than two values.  Shared by
 * both targets and staprun so the kernel and user space agree. */
static inline stp_i64 stp_stat_variance(const struct stp_stat *s)
{
	if (s->count < 2)
		return 0;
	return stp_sdiv(s->count * s->sumsq - s->sum * s->sum, s->count * (s->count - 1));
}

/* @hist_log buckets: index 0..63 for negative values (most negative first),
 * 64 for zero, 65..128 for 1, 2..3, 4..7, ... (power-of-two ranges). */
#define STP_HIST_LOG_BUCKETS 129

/* ----------------------------------------------------- ring buffer records */

/* Every record the kernel side writes starts with this header.  Records are
 * padded to 8 bytes by the ring buffer. */
enum stp_rec_kind {
	STP_REC_PRINTF = 1, /* id: format index; payload: packed arguments */
	STP_REC_PRINT = 2,  /* payload: raw bytes to output (len in hdr.len) */
	STP_REC_ERROR = 3,  /* id: error site index; payload: optional string */
	STP_REC_EXIT = 4,   /* exit() called in a kernel handler */
	STP_REC_WARN = 5,   /* id: warning site; payload: optional string */
	STP_REC_STACK = 6,  /* id: STP_STACK_* bits; payload: u64 pid, then u64
			     * addresses, or (STP_STACK_TEXT) a packed string
			     * of hex addresses as backtrace() returns */
	STP_REC_HIST = 7,   /* id: global; payload: the aggregate (struct stp_stat
			     * and buckets, summed over CPUs) to print as a histogram */
	STP_REC_KMSG = 8,   /* id: printk level 0..7; payload: a packed string
			     * that staprun writes to the kernel log (/dev/kmsg) */
	STP_REC_SWITCH = 9, /* switch_file(): the output goes on in the next file */
};

/* Frames a backtrace holds (stap's MAXBACKTRACE). */
#define STP_MAXBACKTRACE 20
enum stp_stack_flags {
	STP_STACK_USER = 1,  /* user-space addresses of the record's pid */
	STP_STACK_TEXT = 2,  /* print_stack(str): the payload is a string */
	STP_STACK_BRIEF = 4, /* print_ubacktrace_brief(): "function+0xOFF" a line */
	STP_STACK_FILELINE = 8, /* print_*backtrace_fileline(): " at FILE:LINE" */
};

struct stp_rec_hdr {
	stp_u16 kind;
	stp_u16 cpu;
	stp_u32 id;
	stp_u32 len;        /* payload bytes following this header */
	stp_u32 pad;
};

/* Packed printf arguments, in format order:
 *   long conversion  : 8 bytes, native endian
 *   string (%s)      : u16 length, then that many bytes (no NUL), padded to 2
 *   %m / %M          : like a string (the bytes read in the kernel)
 *   '*' width/prec   : 8 bytes, like a long
 * A string argument may instead be a deferred string: u16 STP_DEFERRED,
 * u16 function id, then the function's arguments packed the same way.
 * staprun runs stp_module.deferred[id] on them and uses the text it
 * returns (doc/module-format.md, "Deferred strings").
 */
#define STP_DEFERRED 0xffff

/* Scalar state shared by both sides, at the start of the module's global
 * block (the BPF object's .data section, memory-mapped by staprun). */
struct stp_state {
	stp_i64 session_state; /* STP_SESSION_* */
	stp_i64 errors;        /* soft errors counted in the kernel */
	stp_i64 skipped;       /* probes skipped (reentrancy, MAXACTION, map full) */
	stp_i64 lost_records;  /* ring buffer reservations that failed */
	stp_i64 target_pid;    /* target(): -x PID or the -c child */
	/* CLOCK_REALTIME minus CLOCK_MONOTONIC at start, set by staprun:
	 * the kernel side has only the monotonic clock (gettimeofday_*). */
	stp_i64 realtime_offset_ns;
	stp_i64 pad[2];
};

enum stp_session_state {
	STP_SESSION_STARTING = 0,
	STP_SESSION_RUNNING = 1,
	STP_SESSION_STOPPING = 2,
};

#ifndef __bpf__

/* ------------------------------------------------------- printf formats */

/* Parse a printf format (decoded text) as stap does and give the type of
 * each argument it consumes, in order ('*' width/precision are STP_T_LONG,
 * %s %m %M are STP_T_STRING, the rest STP_T_LONG).  Returns the number of
 * arguments, or -1 with a message in err ("invalid or missing conversion
 * specifier").  Implemented in runtime/format.c; the translator (stap)
 * links it too, to type-check printf calls in pass 2. */
int stp_format_arg_types(const char *fmt, enum stp_type *types, int max, char *err, size_t errlen);

/* ------------------------------------------------------------ descriptors */

enum stp_probe_kind {
	STP_PROBE_BEGIN = 1,
	STP_PROBE_END,
	STP_PROBE_ERROR,
	STP_PROBE_NEVER,
	STP_PROBE_TIMER,      /* user-space interval timer */
	STP_PROBE_PROFILE,    /* perf cpu-clock on each CPU, kernel handler */
	STP_PROBE_PERF,       /* perf event on each CPU, kernel handler */
	STP_PROBE_TRACEPOINT, /* kernel handler on a tracepoint */
	STP_PROBE_SYSCALL,    /* kernel handler on raw_syscalls sys_enter/exit */
	STP_PROBE_KPROBE,     /* kernel handler on a kernel function */
	STP_PROBE_UPROBE,     /* kernel handler on a user function */
	STP_PROBE_USDT,
	STP_PROBE_PROCESS,    /* process begin/end via sched tracepoints */
	STP_PROBE_NETFILTER,  /* kernel handler on a netfilter hook (BPF netfilter link) */
};

struct stp_ctx;
typedef void (*stp_host_handler)(struct stp_ctx *ctx);

struct stp_probe_desc {
	enum stp_probe_kind kind;
	const char *pp;            /* pp() text */
	const char *ptype;         /* probe_type() */
	int pret;                  /* is_return() */
	const char *bpf_prog;      /* kernel handler: program name in bpf_obj */
	stp_host_handler handler;  /* user-space handler */
	int64_t priority;          /* begin/end/error ordering; a netfilter hook's priority */
	uint32_t nf_pf, nf_hook;   /* netfilter: NFPROTO_* family and hook number */
	uint64_t period_ns;        /* timers, profile */
	uint64_t randomize_ns;
	const char *tp_system;     /* tracepoint "sched" */
	const char *tp_event;      /* tracepoint "sched_switch" */
	uint32_t perf_type;
	uint64_t perf_config;
	uint64_t sample_period;
	const char *function;      /* kprobe/uprobe symbol */
	const char *path;          /* uprobe binary */
	uint64_t offset;
	int is_return;
	int optional;              /* probe point was written with '?' */
	/* kernel.function points carry two programs with the same handler:
	 * bpf_prog attaches by fentry/fexit, bpf_prog_kprobe by
	 * kprobe/kretprobe; staprun loads the kind the kernel accepts. */
	const char *bpf_prog_kprobe;
};

struct stp_key_desc {
	enum stp_type type;
	uint32_t offset;           /* within the key struct */
	uint32_t size;             /* 8 for long, bytes for string */
};

struct stp_global_desc {
	const char *name;
	enum stp_type type;        /* value type */
	int nkeys;                 /* 0: scalar */
	struct stp_key_desc keys[STP_MAX_INDEXES];
	uint32_t key_size;         /* sizeof the key struct */
	uint32_t value_size;       /* 8, string size, or stat size incl. buckets */
	const char *map_name;      /* BPF map holding the array or stats, or NULL */
	uint32_t offset;           /* scalars: offset in the global block */
	int64_t maxsize;           /* entries (arrays) */
	int wrap;                  /* % arrays */
	int hist_kind;             /* stats: 0 none, 1 log, 2 linear */
	int64_t hist_start, hist_stop, hist_step;
	int print_at_end;          /* written but never read: dump at exit */
	int percpu;                /* stats: per-CPU map, summed when read */
};

struct stp_format_desc {
	const char *fmt;           /* the printf format as written (decoded) */
	int nargs;
	const enum stp_type *args; /* type of each packed argument */
};

struct stp_error_desc {
	const char *message;       /* "division by zero" */
	const char *where;         /* "near operator '/' at file:line:col" */
};

struct stp_limits {
	int64_t maxaction, maxstringlen, maxmapentries, maxnesting;
	int64_t maxerrors, maxskipped;
};

struct stp_ctx;
/* A deferred string's function: unpack its arguments from args at *pos
 * (advancing it) and write its text, NUL-terminated, to out
 * (MAXSTRINGLEN bytes). */
typedef void (*stp_defer_fn)(struct stp_ctx *c, const void *args, size_t len, size_t *pos, char *out);

struct stp_module {
	uint32_t abi_version;      /* STP_ABI_VERSION */
	const char *name;          /* module name (stap_<hash> or -m NAME) */
	const char *script_path;   /* for messages */
	const unsigned char *bpf_obj;
	size_t bpf_obj_len;        /* 0: no kernel handlers */
	const char *globals_section; /* BPF map holding the global block (".data") */
	uint32_t globals_size;
	const struct stp_probe_desc *probes;
	int nprobes;
	const struct stp_global_desc *globals;
	int nglobals;
	const struct stp_format_desc *formats;
	int nformats;
	const struct stp_error_desc *errors;
	int nerrors;
	struct stp_limits limits;
	uint32_t host_frame_size;  /* bytes of scratch a host handler needs */
	const stp_defer_fn *deferred; /* by function id; NULL entries: none */
	int ndeferred;
};

/* ------------------------------------------------ runtime for host code */

/* The context a host handler runs in.  Opaque to generated code except
 * through these functions. */
struct stp_ctx {
	const struct stp_module *mod;
	void *globals;             /* the global block (mapped .data) */
	const char *pp;            /* current probe point */
	int64_t actions;           /* statements executed in this hit */
	int error;                 /* nonzero: handler must unwind */
	char errmsg[256];
	void *frame;               /* per-handler scratch (locals) */
	void *rt;                  /* staprun private */
	const char *pn;            /* pn() where it is not pp (an alias's name), or NULL */
	const char *ptype;         /* probe_type() of the current point */
	int64_t pret;              /* is_return() */
	const char *func;          /* ppfunc(): the probed function, or NULL */
};

/* Packed arguments (format.c), for deferred strings' functions. */
int stp_unpack_long(const void *args, size_t len, size_t *pos, int64_t *v);
int stp_unpack_str(const void *args, size_t len, size_t *pos, const char **s, size_t *n);

/* Output. */
void stp_rt_printf(struct stp_ctx *c, int fmt_id, const void *args, size_t len);
void stp_rt_print(struct stp_ctx *c, const char *s, size_t len);
/* Format into buf (size MAXSTRINGLEN+1); packed args as in records. */
void stp_rt_sprintf(struct stp_ctx *c, char *buf, size_t size, int fmt_id, const void *args, size_t len);

/* Errors: record message, set c->error; the generated code then returns. */
void stp_rt_error(struct stp_ctx *c, int error_id, const char *detail);
/* Symbols (runtime/symbols.c): symname()/symdata() of a kernel address
 * in host handlers, and print_stack() of a backtrace() string. */
void stp_rt_symname(struct stp_ctx *c, char *dst, size_t size, int64_t addr, int with_data);
void stp_rt_print_stack(struct stp_ctx *c, const char *stk);
/* What the functions of deferred symbol texts (tapset/symbols.stp) ask
 * staprun: of an address (pid -1: kernel), what 0 its source file, 1 its
 * line, 2 "file:line", 3 its module; the frames of a backtrace() string
 * as sprint_syms() writes them; the module's name (0) or sizes (1). */
void stp_rt_sym_text(struct stp_ctx *c, char *dst, size_t size, int64_t pid, int64_t addr, int64_t what);
void stp_rt_sym_lines(struct stp_ctx *c, char *dst, size_t size, int64_t pid, const char *stk, int64_t style);
void stp_rt_module_info(struct stp_ctx *c, char *dst, size_t size, int64_t what);
/* warn(msg): print a warning, go on. */
void stp_rt_warn(struct stp_ctx *c, int site_id, const char *msg);
void stp_rt_exit(struct stp_ctx *c);
/* printk(level, msg): a line in the kernel log, written to /dev/kmsg. */
void stp_rt_kmsg(struct stp_ctx *c, int64_t level, const char *msg, size_t len);
/* switch_file(): what was printed so far stays in this output file, the
 * rest goes to the next one (as SIGUSR2 does; nothing without -o). */
void stp_rt_switch_file(struct stp_ctx *c);

/* Arrays (global id = index in stp_module.globals). Keys and values use
 * the layouts in the global's descriptor.  lookup returns false if absent
 * (value zeroed). */
bool stp_rt_map_lookup(struct stp_ctx *c, int gid, const void *key, void *value);
int stp_rt_map_update(struct stp_ctx *c, int gid, const void *key, const void *value);
void stp_rt_map_delete(struct stp_ctx *c, int gid, const void *key);
void stp_rt_map_clear(struct stp_ctx *c, int gid);
bool stp_rt_map_exists(struct stp_ctx *c, int gid, const void *key);
int64_t stp_rt_map_size(struct stp_ctx *c, int gid);

/* Statistics: add a value; read the aggregate (summed over CPUs). */
void stp_rt_stat_add(struct stp_ctx *c, int gid, const void *key, int64_t v);
/* Returns false if the key has no data.  out must hold value_size bytes. */
bool stp_rt_stat_read(struct stp_ctx *c, int gid, const void *key, struct stp_stat *out);
int64_t stp_rt_stat_extract(struct stp_ctx *c, const struct stp_stat *s, int op); /* STP_STAT_* */
void stp_rt_hist_print(struct stp_ctx *c, int gid, const struct stp_stat *s);

enum stp_stat_op { STP_STAT_COUNT, STP_STAT_SUM, STP_STAT_MIN, STP_STAT_MAX, STP_STAT_AVG, STP_STAT_VARIANCE };

/* foreach: a sorted snapshot of keys (and values).  sort_key: -1 none,
 * 0 value, 1..n key n; dir +1/-1; limit <0 none; for stats arrays, sort by
 * value sorts by the aggregate selected with stat_op. */
struct stp_iter;
struct stp_iter *stp_rt_iter_begin(struct stp_ctx *c, int gid, int sort_key, int dir, int64_t limit, int stat_op);
/* Next element: copies the key (and value, if value != NULL); false at end. */
bool stp_rt_iter_next(struct stp_iter *it, void *key, void *value);
void stp_rt_iter_end(struct stp_iter *it);

/* Context built-ins in user space. */
int64_t stp_rt_target(struct stp_ctx *c);
int64_t stp_rt_gettime_ns(void);      /* CLOCK_REALTIME */
int64_t stp_rt_monotonic_ns(void);

#endif /* !__bpf__ */
#endif
