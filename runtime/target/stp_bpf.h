/* stp_bpf.h - the primitives generated BPF code is written against.
 *
 * The translator emits one C text per handler for both targets; this
 * header (for clang -target bpf) and stp_host.h (for the host compiler)
 * give the same names the same meaning.  Kernel-side constraints shape
 * everything here:
 *   - the BPF stack is 512 bytes, so strings live in per-CPU frames
 *     (maps), never on the stack;
 *   - the verifier checks every access against a buffer's size with the
 *     largest possible offset plus the largest possible length, so string
 *     temporaries are twice MAXSTRINGLEN (a concatenation writes at an
 *     offset below MAXSTRINGLEN up to MAXSTRINGLEN bytes) and offsets are
 *     masked with a power of two;
 *   - string literals are emitted padded to STP_STRLEN bytes so that
 *     comparisons can read a whole string's worth from either side.
 */
#ifndef STP_BPF_H
#define STP_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <linux/ptrace.h>     /* struct pt_regs of uprobe/kprobe/USDT programs */
#include <bpf/bpf_tracing.h>

typedef __s64 int64_t;
typedef __u64 uint64_t;
typedef __u32 uint32_t;
typedef __s32 int32_t;
typedef __u16 uint16_t;
typedef __u8 uint8_t;
typedef __s16 int16_t;
typedef __s8 int8_t;

#include "stp_module.h"

#ifndef STP_STRLEN
#error "STP_STRLEN (MAXSTRINGLEN) must be defined by the generated code"
#endif
/* Buffers are sized by powers of two so that offsets can be masked. */
#ifndef STP_STRBUF
#error "STP_STRBUF (power of two >= STP_STRLEN) must be defined"
#endif
#ifndef STP_RECMAX
#error "STP_RECMAX (power of two >= the largest record) must be defined"
#endif

#define STP_BPF 1

typedef struct stp_kctx stp_kctx_t;

/* Per-hit context of a kernel handler, on the BPF stack. */
struct stp_kctx {
	void *ctx;           /* the program's context (tracepoint record, pt_regs) */
	const char *pp;      /* pp() of the point that fired */
	const char *pn;      /* pn(), where it is not pp(): the alias's name, or 0 */
	const char *ptype;   /* probe_type(): the kind of low-level handler ("uprobe"...) */
	int64_t pret;        /* is_return(): 1 at a function's or system call's return */
	int64_t error;       /* nonzero: unwind (>0 error site + 1, -1 next) */
	int64_t actions;     /* statements executed, against MAXACTION */
	/* Function probes (kernel.function, process(...).function): the
	 * program wrapper copies the raw argument words (0..5) into an array
	 * on its stack and points args at it; return probes also set retval.
	 * $args read these, whatever the attachment (fentry ctx, pt_regs,
	 * USDT), so handler bodies do not depend on the program type. */
	const uint64_t *args;
	int64_t retval;      /* netfilter: the verdict ($verdict), which the program returns */
	const char *func;    /* probefunc(), ppfunc(): the probed function, or 0 */
	struct pt_regs *regs; /* uprobe/kprobe/USDT: the registers at the hit, else 0 */
	/* uprobes: where the probed point is in the process (a uretprobe:
	 * its function's entry), against which addresses from DWARF are
	 * moved by the load bias */
	uint64_t upc;
	const void *row;     /* syscall dispatch: the constants of this syscall (struct stp_sysrow) */
};

/* What a loop or foreach callback needs from the handler it runs in. */
struct stp_loopctx {
	stp_kctx_t *K;
	void *F;
	int64_t done;        /* 1: left by break/condition, 2: MAXACTION */
	int64_t count;       /* foreach: elements visited */
	int64_t limit;       /* foreach limit, or -1 */
};

/* The record being built for the ring buffer, per CPU. */
struct stp_recbuf {
	unsigned char b[2 * STP_RECMAX];
};

/* A scratch slot per CPU for a value too big for the 512-byte stack (a
 * handler runs on one CPU from start to end), and the slot's address. */
#define STP_PERCPU_SLOT(map_name, value_type)                                          \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                               \
		__uint(max_entries, 1);                                                \
		__type(key, __u32);                                                    \
		__type(value, value_type);                                             \
	} map_name SEC(".maps")
#define stp_percpu_slot(map_name) ({ __u32 zero_ = 0; bpf_map_lookup_elem(&(map_name), &zero_); })

STP_PERCPU_SLOT(stp_recbuf_map, struct stp_recbuf);

/* ------------------------------------------------------------ strings */

static __always_inline void stp_str_copy(char *dst, const char *src)
{
	if (bpf_probe_read_kernel_str(dst, STP_STRLEN, src) < 0)
		dst[0] = 0;
}

/* dst must be a temporary (2 * STP_STRBUF bytes). */
static __always_inline void stp_str_concat(char *dst, const char *a, const char *b)
{
	long n = bpf_probe_read_kernel_str(dst, STP_STRLEN, a);
	if (n < 1)
		n = 1;
	n = (n - 1) & (STP_STRBUF - 1);
	if (bpf_probe_read_kernel_str(dst + n, STP_STRLEN, b) < 0)
		dst[n] = 0;
	dst[STP_STRLEN - 1] = 0;
}

static __always_inline int64_t stp_str_cmp(const char *a, const char *b)
{
	for (int i = 0; i < STP_STRLEN; i++) {
		unsigned char x = a[i], y = b[i];
		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			return 0;
	}
	return 0;
}

struct stp_len_walk {
	const char *s;
	int64_t len;
};

static long stp_str_len_cb(__u32 i, void *ctx)
{
	struct stp_len_walk *w = ctx;
	if (i >= STP_STRLEN - 1 || !w->s[i]) {
		w->len = i;
		return 1;
	}
	return 0;
}

/* A loop the verifier checks once: unrolled, each possible length would
 * be a path of its own through the rest of the handler (three calls made
 * 128^3 of them). */
static __always_inline int64_t stp_str_len(const char *a)
{
	struct stp_len_walk w = {a, STP_STRLEN - 1};
	bpf_loop(STP_STRLEN, stp_str_len_cb, &w, 0);
	return w.len;
}

/* stp_string.h: the library's string functions, loops run by bpf_loop */
#define stp_loop(n, fn, ctx) bpf_loop((n), (fn), (ctx), 0)
#include "stp_string.h"
#include "stp_memtext.h" /* quoting and UTF readers, set_user_* */

/* The string walks' positions and tokenize()'s string, per CPU: a
 * handler runs on one CPU from start to end. */
STP_PERCPU_SLOT(stp_str_vars_map, struct stp_str_vars);

static inline struct stp_str_vars *stp_str_vars(void)
{
	return stp_percpu_slot(stp_str_vars_map);
}

#ifdef STP_RE_THREADS
/* matched(): the last =~ of the handler running on this CPU */
STP_PERCPU_SLOT(stp_re_caps_map, struct stp_re_caps);

static inline struct stp_re_caps *stp_re_caps(void)
{
	return stp_percpu_slot(stp_re_caps_map);
}
#endif

/* --------------------------------------------------------- records */

static __always_inline unsigned char *stp_rec_begin(void)
{
	return stp_percpu_slot(stp_recbuf_map);
}

static __always_inline __u32 stp_rec_long(unsigned char *r, __u32 off, int64_t v)
{
	off &= STP_RECMAX - 1;
	__builtin_memcpy(r + off, &v, 8);
	return off + 8;
}

static __always_inline __u32 stp_rec_str(unsigned char *r, __u32 off, const char *s, int user)
{
	off &= STP_RECMAX - 1;
	long n = user ? bpf_probe_read_user_str(r + off + 2, STP_STRLEN, s)
		      : bpf_probe_read_kernel_str(r + off + 2, STP_STRLEN, s);
	__u16 len = n > 0 ? (__u16)(n - 1) : 0;
	__builtin_memcpy(r + off, &len, 2);
	return off + 2 + ((len + 1) & ~1u);
}

/* The head of a deferred string field: its function's packed arguments
 * follow (stp_module.h). */
static __always_inline __u32 stp_rec_defer(unsigned char *r, __u32 off, int64_t fid)
{
	off &= STP_RECMAX - 1;
	__u16 h[2] = {STP_DEFERRED, (__u16)fid};
	__builtin_memcpy(r + off, h, 4);
	return off + 4;
}

/* stp_events and stp_g are defined by the generated code before this is
 * used (the global block holds the lost-record counter). */
#define stp_rec_send(K, r, kind_, id_, len_)                                           \
	do {                                                                           \
		struct stp_rec_hdr *h_ = (struct stp_rec_hdr *)(r);                    \
		__u32 l_ = (len_) & (STP_RECMAX - 1);                                   \
		h_->kind = (kind_);                                                    \
		h_->cpu = bpf_get_smp_processor_id();                                  \
		h_->id = (id_);                                                        \
		h_->len = l_ - sizeof(struct stp_rec_hdr);                              \
		h_->pad = 0;                                                           \
		if (l_ < sizeof(struct stp_rec_hdr) ||                                 \
		    bpf_ringbuf_output(&stp_events, (r), l_, 0) != 0)                  \
			__sync_fetch_and_add(&stp_g.st.lost_records, 1);               \
	} while (0)

/* A runtime error at site `id` (index in the module's error table). */
#define stp_error(K, id)                                                              \
	do {                                                                           \
		unsigned char *r_ = stp_rec_begin();                                   \
		__sync_fetch_and_add(&stp_g.st.errors, 1);                             \
		if (r_)                                                                \
			stp_rec_send(K, r_, STP_REC_ERROR, (id), sizeof(struct stp_rec_hdr)); \
		(K)->error = (id) + 1;                                                 \
	} while (0)

/* An error at site id whose message is msg (error(), STAP_ERROR, a fault
 * raised in a function), not the site's: staprun prints the record's text. */
#define stp_error_msg(K, id, msg)                                                      \
	do {                                                                           \
		unsigned char *r_ = stp_rec_begin();                                   \
		__sync_fetch_and_add(&stp_g.st.errors, 1);                             \
		if (r_) {                                                              \
			__u32 o_ = stp_rec_str(r_, sizeof(struct stp_rec_hdr), (msg), 0); \
			stp_rec_send(K, r_, STP_REC_ERROR, (id), o_);                  \
		}                                                                      \
		(K)->error = (id) + 1;                                                 \
	} while (0)

/* A diagnostic record (STP_REC_ERROR counts as an error, STP_REC_WARN
 * does not) whose message is fmt, a read-only literal with one %llx,
 * formatted with addr here: stap's fault messages name the address. */
#define stp_fault_record(K, kind_, id, fmt, addr)                                      \
	do {                                                                           \
		unsigned char *r_ = stp_rec_begin();                                   \
		if ((kind_) == STP_REC_ERROR)                                          \
			__sync_fetch_and_add(&stp_g.st.errors, 1);                     \
		if (r_) {                                                              \
			__u64 fa_ = (__u64)(addr);                                      \
			long fn_ = bpf_snprintf((char *)r_ + sizeof(struct stp_rec_hdr) + 2, \
					       STP_STRLEN, (fmt), &fa_, sizeof fa_);     \
			__u16 fl_ = fn_ > 0 ? (__u16)(fn_ - 1) : 0;                       \
			__builtin_memcpy(r_ + sizeof(struct stp_rec_hdr), &fl_, 2);     \
			stp_rec_send(K, r_, (kind_), (id),                             \
				     sizeof(struct stp_rec_hdr) + 2 + (fl_ & (STP_STRLEN - 1))); \
		}                                                                      \
	} while (0)

/* warn(msg): a warning record carrying the message. */
#define stp_warn_str(K, id, msg)                                                      \
	do {                                                                           \
		unsigned char *r_ = stp_rec_begin();                                   \
		if (r_) {                                                              \
			__u32 o_ = stp_rec_str(r_, sizeof(struct stp_rec_hdr), (msg), 0); \
			stp_rec_send(K, r_, STP_REC_WARN, (id), o_);                   \
		}                                                                      \
	} while (0)

#define stp_exit(K)                                                                   \
	do {                                                                           \
		unsigned char *r_ = stp_rec_begin();                                   \
		stp_g.st.session_state = STP_SESSION_STOPPING;                         \
		if (r_)                                                                \
			stp_rec_send(K, r_, STP_REC_EXIT, 0, sizeof(struct stp_rec_hdr)); \
	} while (0)

/* ------------------------------------------------------ statistics */

static __always_inline int stp_hist_log_bucket(int64_t v)
{
	if (v == 0)
		return 64;
	__u64 u = v < 0 ? -(__u64)v : (__u64)v;
	int b = 0;
	if (u >> 32) { b += 32; u >>= 32; }
	if (u >> 16) { b += 16; u >>= 16; }
	if (u >> 8) { b += 8; u >>= 8; }
	if (u >> 4) { b += 4; u >>= 4; }
	if (u >> 2) { b += 2; u >>= 2; }
	if (u >> 1) { b += 1; }
	/* b = floor(log2(|v|)), 0..63 */
	return v < 0 ? 63 - b : 65 + b;
}

static __always_inline void stp_stat_add(struct stp_stat *s, int64_t v, int hist_kind, int64_t start,
					 int64_t stop, int64_t step, int nbuckets)
{
	if (s->count == 0 || v < s->min)
		s->min = v;
	if (s->count == 0 || v > s->max)
		s->max = v;
	s->count++;
	s->sum += v;
	s->sumsq += v * v;
	if (hist_kind == 1) {
		int b = stp_hist_log_bucket(v);
		if (b >= 0 && b < STP_HIST_LOG_BUCKETS)
			s->buckets[b & 255]++;
	} else if (hist_kind == 2) {
		/* bucket 0 underflow, 1..n for start..stop (stop included, as
		 * stap counts them), n+1 overflow; nbuckets = n + 2 */
		__u64 b;
		if (v < start)
			b = 0;
		else
			b = 1 + (__u64)stp_sdiv(v - start, step);
		/* the test must stay next to the access for the verifier:
		 * the empty asm keeps clang from folding it into the clamp */
		asm volatile("" : "+r"(b));
		if (b > (__u64)nbuckets - 1)
			b = nbuckets - 1;
		asm volatile("" : "+r"(b));
		if (b < (__u64)nbuckets)
			s->buckets[b]++;
	}
}

/* ------------------------------------------------- function arguments */

/* x86_64 struct pt_regs in 8-byte words (kprobe and uprobe context): the
 * SysV argument registers di si dx cx r8 r9, and ax for the return value.
 * Constant offsets: the verifier allows only those into a context. */
static __always_inline void stp_regs_args(const uint64_t *regs, uint64_t *a)
{
	a[0] = regs[14];
	a[1] = regs[13];
	a[2] = regs[12];
	a[3] = regs[11];
	a[4] = regs[9];
	a[5] = regs[8];
}
#define stp_regs_ret(regs) ((int64_t)((const uint64_t *)(regs))[10])

/* ------------------------------------------------- sorted foreach */

/* A sorted (or statistics) foreach in a kernel handler copies the array
 * into a per-CPU snapshot map of (key, value, order) entries, sorts the
 * order with a bottom-up merge sort (one bpf_loop step per element and
 * pass: n log n comparisons, checked once by the verifier) and then runs
 * the body over the snapshot.  The sort's state lives in a per-CPU map
 * (stp_sortstate, one entry per foreach site), not on the stack: the
 * verifier tracks stack values exactly and would walk every pass and
 * step apart, while map contents are just numbers to it. */
struct stp_sortstate {
	__u32 n;                /* entries copied */
	__u32 w;                /* run width of the current pass */
	__u32 k;                /* next output position of the pass */
	__u32 lo, mid, hi;      /* the two runs being merged: [lo, mid) [mid, hi) */
	__u32 i, j;             /* read positions in the left and right run */
	__u32 src;              /* which of the entries' two order slots is read */
	__u32 pad;
	int64_t budget;         /* MAXACTION left when the body loop starts */
	int64_t spent;          /* actions of the body loop so far */
};

struct stp_sortctx {
	struct stp_loopctx L;   /* first: the body's callback reads it as L */
	struct stp_sortstate *st;
};

/* Byte-wise string order within a field of n bytes (keys may be narrow),
 * as strncmp orders them on the host. */
static __always_inline int stp_sort_strcmp(const char *a, const char *b, int n)
{
	for (int i = 0; i < n; i++) {
		unsigned char x = a[i], y = b[i];
		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			return 0;
	}
	return 0;
}

static __always_inline int stp_sort_i64cmp(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* --------------------------------------------------------- context */

static __always_inline int64_t stp_pid(void) { return bpf_get_current_pid_tgid() >> 32; }
static __always_inline int64_t stp_tid(void) { return (__u32)bpf_get_current_pid_tgid(); }
static __always_inline int64_t stp_uid(void) { return (__u32)bpf_get_current_uid_gid(); }
static __always_inline int64_t stp_gid(void) { return bpf_get_current_uid_gid() >> 32; }
static __always_inline int64_t stp_cpu(void) { return bpf_get_smp_processor_id(); }

static __always_inline void stp_execname(char *dst)
{
	if (bpf_get_current_comm(dst, 16) != 0)
		dst[0] = 0;
}

/* execname() straight into a narrow (16-byte) array key */
static __always_inline void stp_execname_n(char *dst, int n)
{
	if (bpf_get_current_comm(dst, n) != 0)
		dst[0] = 0;
}

/* Whether the current task's comm is `name` (NUL-padded to 16 bytes):
 * process("PATH") points filter on the binary's base name. */
static __always_inline int stp_comm_is(const char *name)
{
	char comm[16] = {0};
	bpf_get_current_comm(comm, sizeof comm);
	for (int i = 0; i < 16; i++) {
		if (comm[i] != name[i])
			return 0;
		if (!comm[i])
			return 1;
	}
	return 1;
}

/* Just the members stapng reads, located by CO-RE at load time. */
struct task_struct___stp {
	int pid;
	int tgid;
	struct task_struct___stp *real_parent;
	struct task_struct___stp *parent;
	const struct cred___stp *cred;
} __attribute__((preserve_access_index));
/* netfilter programs: the context (uapi struct bpf_nf_ctx) and the hook
 * state it points to, whose members move between kernels (CO-RE) */
struct nf_hook_state___stp {
	unsigned char hook;
	unsigned char pf;
	void *in;
	void *out;
} __attribute__((preserve_access_index));
struct stp_nf_ctx {
	const struct nf_hook_state___stp *state;
	void *skb;
};
struct kuid___stp { unsigned int val; } __attribute__((preserve_access_index));
struct cred___stp {
	struct kuid___stp uid, gid, suid, sgid, euid, egid;
} __attribute__((preserve_access_index));

static __always_inline int64_t stp_ppid(void)
{
	struct task_struct___stp *t = (void *)bpf_get_current_task();
	struct task_struct___stp *p = 0;
	int v = 0;
	bpf_probe_read_kernel(&p, sizeof p, &t->real_parent);
	if (p)
		bpf_probe_read_kernel(&v, sizeof v, &p->tgid);
	return v;
}

static __always_inline int64_t stp_cred_field(int which)
{
	struct task_struct___stp *t = (void *)bpf_get_current_task();
	const struct cred___stp *c = 0;
	unsigned int v = 0;
	bpf_probe_read_kernel(&c, sizeof c, &t->cred);
	if (!c)
		return 0;
	if (which == 0)
		bpf_probe_read_kernel(&v, sizeof v, &c->euid.val);
	else
		bpf_probe_read_kernel(&v, sizeof v, &c->egid.val);
	return v;
}
#define stp_euid() stp_cred_field(0)
#define stp_egid() stp_cred_field(1)

/* ------------------------------------------------------- registers */

/* The registers are read with bpf_probe_read_kernel rather than through
 * the pointer: K reaches handlers (subprograms) through the stack, where
 * the verifier no longer knows K->regs is the program's context. */
static __always_inline int stp_reg_read(stp_kctx_t *K, int off, uint64_t *v)
{
	*v = 0;
	if (!K->regs || off < 0 || off + 8 > (int)sizeof(struct pt_regs))
		return -1;
	return bpf_probe_read_kernel(v, 8, (char *)K->regs + off) < 0 ? -1 : 0;
}

/* Argument n (from 1) of the function a probe stopped at the entry of, by
 * the x86_64 calling convention: six registers, then the stack above the
 * return address.  0 or -1 when it cannot be read. */
static __always_inline int stp_reg_arg(stp_kctx_t *K, int64_t n, uint64_t *v)
{
	int off;
	switch (n) {
	case 1: off = offsetof(struct pt_regs, rdi); break;
	case 2: off = offsetof(struct pt_regs, rsi); break;
	case 3: off = offsetof(struct pt_regs, rdx); break;
	case 4: off = offsetof(struct pt_regs, rcx); break;
	case 5: off = offsetof(struct pt_regs, r8); break;
	case 6: off = offsetof(struct pt_regs, r9); break;
	default: off = -1;
	}
	*v = 0;
	if (n < 1 || !K->regs)
		return -1;
	if (off >= 0)
		return stp_reg_read(K, off, v);
	uint64_t sp = 0, cs = 0;
	if (stp_reg_read(K, offsetof(struct pt_regs, rsp), &sp) || stp_reg_read(K, offsetof(struct pt_regs, cs), &cs))
		return -1;
	void *at = (void *)(sp + 8 * (n - 6));
	long err = (cs & 3) ? bpf_probe_read_user(v, 8, at) : bpf_probe_read_kernel(v, 8, at);
	return err < 0 ? -1 : 0;
}

struct task_struct;
/* uaddr(): where the current task is in user space: the probe's own
 * registers when it stopped in user mode, else those the task entered the
 * kernel with. */
static __always_inline int64_t stp_uaddr(stp_kctx_t *K)
{
	uint64_t cs = 0, ip = 0;
	if (!stp_reg_read(K, offsetof(struct pt_regs, cs), &cs) && (cs & 3) &&
	    !stp_reg_read(K, offsetof(struct pt_regs, rip), &ip))
		return ip;
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs((struct task_struct *)bpf_get_current_task_btf());
	if (!r || bpf_probe_read_kernel(&ip, 8, &r->rip) < 0)
		return 0;
	return ip;
}

/* Reads of a user program's memory for DWARF variables: a fault gives 0,
 * as the kernel side's STP_KREAD does. */
#define STP_UREAD(T, addr) ({ T _stp_v = (T)0; bpf_probe_read_user(&_stp_v, sizeof _stp_v, (const void *)(uint64_t)(addr)); _stp_v; })
#define STP_UREG(K, name) ({ uint64_t _stp_r = 0; stp_reg_read((K), offsetof(struct pt_regs, name), &_stp_r); _stp_r; })

#define stp_realtime_ns() ((int64_t)bpf_ktime_get_ns() + stp_g.st.realtime_offset_ns)
#define stp_local_clock_ns() ((int64_t)bpf_ktime_get_ns())
#define stp_jiffies() ((int64_t)bpf_jiffies64())

/* ------------------------------------------------------- backtraces */

/* Addresses are taken here and named by staprun (runtime/symbols.c). */
struct stp_stack { __u64 ips[STP_MAXBACKTRACE]; };

STP_PERCPU_SLOT(stp_stack_map, struct stp_stack);

/* A stack record for print_backtrace() / print_ubacktrace(): the pid
 * and the addresses, for staprun to name.  Returns its length. */
static __always_inline __u32 stp_stack_fill(stp_kctx_t *K, unsigned char *r, __u32 flags)
{
	__u64 pid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(r + sizeof(struct stp_rec_hdr), &pid, 8);
	long n = bpf_get_stack(K->ctx, r + sizeof(struct stp_rec_hdr) + 8, STP_MAXBACKTRACE * 8,
			       flags & STP_STACK_USER ? BPF_F_USER_STACK : 0);
	if (n < 0 || n > STP_MAXBACKTRACE * 8)
		n = 0;
	return sizeof(struct stp_rec_hdr) + 8 + n;
}

/* print_stack(str) / print_ustack(str): the pid and the backtrace()
 * text, for staprun to name each address. */
static __always_inline __u32 stp_stack_fill_text(unsigned char *r, const char *text)
{
	__u64 pid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(r + sizeof(struct stp_rec_hdr), &pid, 8);
	return stp_rec_str(r, sizeof(struct stp_rec_hdr) + 8, text, 0);
}

#define stp_stack_print(K, flags)                                                      \
	do {                                                                           \
		unsigned char *sr_ = stp_rec_begin();                                  \
		if (sr_) {                                                             \
			__u32 sl_ = stp_stack_fill((K), sr_, (flags));                 \
			stp_rec_send(K, sr_, STP_REC_STACK, (flags), sl_);             \
		}                                                                      \
	} while (0)

#define stp_stack_print_text(K, flags, text)                                           \
	do {                                                                           \
		unsigned char *sr_ = stp_rec_begin();                                  \
		if (sr_) {                                                             \
			__u32 sl_ = stp_stack_fill_text(sr_, (text));                  \
			stp_rec_send(K, sr_, STP_REC_STACK, (flags) | STP_STACK_TEXT, sl_); \
		}                                                                      \
	} while (0)

/* backtrace() / ubacktrace(): "0xffffffff8120f4a0 0xffffffff81210a35 ...",
 * as many whole addresses as MAXSTRINGLEN holds.  dst is a temporary
 * (2 * STP_STRBUF bytes). */
#define stp_stack_text(K, dst, flags) stp_stack_text_range((K), (dst), (flags), 0, -1)

/* callers(n) / ucallers(n): the same text of frames first..first+count-1
 * (count < 0: all of them). */
static __always_inline void stp_stack_text_range(stp_kctx_t *K, char *dst, __u32 flags, int64_t first,
						 int64_t count)
{
	struct stp_stack *st = stp_percpu_slot(stp_stack_map);
	dst[0] = 0;
	if (!st)
		return;
	long n = bpf_get_stack(K->ctx, st->ips, sizeof st->ips, flags & STP_STACK_USER ? BPF_F_USER_STACK : 0);
	if (n <= 0)
		return;
	n /= 8;
	if (count >= 0 && first + count < n)
		n = first + count;
	__u32 o = 0;
	for (int i = 0; i < STP_MAXBACKTRACE && i < n; i++) {
		if (i < first)
			continue;
		__u32 need = o ? 19 : 18;
		if (o + need > STP_STRLEN - 1)
			break;
		if (o)
			dst[o++ & (2 * STP_STRBUF - 1)] = ' ';
		dst[o++ & (2 * STP_STRBUF - 1)] = '0';
		dst[o++ & (2 * STP_STRBUF - 1)] = 'x';
		__u64 v = st->ips[i];
		for (int k = 60; k >= 0; k -= 4) {
			int d = (v >> k) & 15;
			dst[o++ & (2 * STP_STRBUF - 1)] = d < 10 ? '0' + d : 'a' + d - 10;
		}
	}
	dst[o & (2 * STP_STRBUF - 1)] = 0;
}

/* stack(n), caller_addr(): address n of the kernel backtrace (0: where
 * the probe hit), or 0 when the stack is not that deep. */
static __always_inline int64_t stp_stack_at(stp_kctx_t *K, int64_t n, __u32 flags)
{
	struct stp_stack *st = stp_percpu_slot(stp_stack_map);
	if (!st || n < 0 || n >= STP_MAXBACKTRACE)
		return 0;
	long len = bpf_get_stack(K->ctx, st->ips, sizeof st->ips, flags & STP_STACK_USER ? BPF_F_USER_STACK : 0);
	if (len <= 0 || n >= (len >> 3))
		return 0;
	return st->ips[n];
}

/* stack_used(): the handler's frame pointer is on the kernel stack the
 * probe hit on (the task's, or an interrupt stack: both THREAD_SIZE
 * long and aligned to it).  The verifier does not let a stack pointer
 * become a number by arithmetic; as privileged code may, it goes through
 * a map slot.  Returns 0 when the frame is elsewhere (a BPF private
 * stack), as the caller checks. */
static __always_inline int64_t stp_stack_pointer(void)
{
	struct stp_stack *st = stp_percpu_slot(stp_stack_map);
	unsigned long long fp;
	if (!st)
		return 0;
	asm volatile("%0 = r10" : "=r"(fp));
	st->ips[0] = fp;
	return *(volatile __u64 *)&st->ips[0];
}

/* dump_stack(): the kernel backtrace into the kernel's trace buffer
 * (tracefs "trace"), a frame a line, named by the kernel's %pB. */
static __always_inline void stp_dump_stack(stp_kctx_t *K)
{
	struct stp_stack *st = stp_percpu_slot(stp_stack_map);
	if (!st)
		return;
	long n = bpf_get_stack(K->ctx, st->ips, sizeof st->ips, 0);
	char head[] = "Call Trace:", frame[] = " %pB";
	bpf_trace_printk(head, sizeof head);
	for (int i = 0; i < STP_MAXBACKTRACE && i < (n >> 3); i++)
		bpf_trace_printk(frame, sizeof frame, st->ips[i]);
}

/* addr(): the instruction pointer of the probe's registers, 0 without. */
static __always_inline int64_t stp_addr(stp_kctx_t *K)
{
	uint64_t ip = 0;
	stp_reg_read(K, offsetof(struct pt_regs, rip), &ip);
	return ip;
}

#endif
