/* stp_host.h - the primitives generated host code is written against.
 *
 * Host handlers (begin, end, error, timer.*) run inside staprun, one at a
 * time on its main thread; they reach globals through the mapped global
 * block and the stp_rt_* functions that staprun exports.  The names here
 * mirror stp_bpf.h so that a statement means the same on both sides.
 */
#ifndef STP_HOST_H
#define STP_HOST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "stp_module.h"

/* Functions only deferred strings call (translate/defer.c): many, each
 * run once per record; not worth the compile time of optimising. */
#if defined(__GNUC__) && !defined(__clang__)
#define STP_DEFERRED_FN __attribute__((optimize("O0")))
#else
#define STP_DEFERRED_FN
#endif

#ifndef STP_STRLEN
#error "STP_STRLEN (MAXSTRINGLEN) must be defined by the generated code"
#endif

#define STP_HOST 1

typedef struct stp_ctx stp_kctx_t;

static inline void stp_str_copy(char *dst, const char *src)
{
	size_t n = strnlen(src, STP_STRLEN - 1);
	memmove(dst, src, n);
	dst[n] = 0;
}

static inline void stp_str_concat(char *dst, const char *a, const char *b)
{
	size_t na = strnlen(a, STP_STRLEN - 1);
	size_t nb = strnlen(b, STP_STRLEN - 1 - na);
	memmove(dst, a, na);
	memmove(dst + na, b, nb);
	dst[na + nb] = 0;
}

static inline int64_t stp_str_cmp(const char *a, const char *b)
{
	int c = strncmp(a, b, STP_STRLEN);
	return c < 0 ? -1 : c > 0;
}

static inline int64_t stp_str_len(const char *a) { return (int64_t)strnlen(a, STP_STRLEN - 1); }

/* stp_string.h: the library's string functions, the same text as in the
 * kernel; its loops are plain loops here */
#define stp_loop(n, fn, ctx)                                             \
	do {                                                             \
		for (uint32_t i_ = 0; i_ < (uint32_t)(n); i_++)          \
			if ((fn)(i_, (ctx)))                             \
				break;                                   \
	} while (0)
#include "stp_string.h"

static inline struct stp_str_vars *stp_str_vars(void)
{
	static struct stp_str_vars vars;
	return &vars;
}

#ifdef STP_RE_THREADS
/* matched(): the last =~ of the handler (one runs at a time) */
static inline struct stp_re_caps *stp_re_caps(void)
{
	static struct stp_re_caps caps;
	return &caps;
}
#endif

/* Records: host handlers pack printf arguments the same way. */
static inline uint32_t stp_rec_long(unsigned char *r, uint32_t off, int64_t v)
{
	memcpy(r + off, &v, 8);
	return off + 8;
}

static inline uint32_t stp_rec_str(unsigned char *r, uint32_t off, const char *s, int user)
{
	uint16_t len = (uint16_t)strnlen(s, STP_STRLEN - 1);
	memcpy(r + off, &len, 2);
	memcpy(r + off + 2, s, len);
	(void)user;
	return off + 2 + ((len + 1u) & ~1u);
}

#define stp_error(K, id) stp_error_msg(K, id, NULL)

/* an error at site id whose message is msg (error(), STAP_ERROR, a fault
 * raised in a function), or the site's own when msg is NULL or empty */
#define stp_error_msg(K, id, msg)                                 \
	do {                                                       \
		stp_rt_error((K), (id), (msg));                    \
		if (!(K)->error)                                   \
			(K)->error = (id) + 1;                     \
	} while (0)

#define stp_exit(K) stp_rt_exit(K)

static inline int64_t stp_pid(void) { return getpid(); }
static inline int64_t stp_tid(void) { return (int64_t)syscall(SYS_gettid); }
static inline int64_t stp_ppid(void) { return getppid(); }
static inline int64_t stp_uid(void) { return getuid(); }
static inline int64_t stp_gid(void) { return getgid(); }
static inline int64_t stp_euid(void) { return geteuid(); }
static inline int64_t stp_egid(void) { return getegid(); }
static inline int64_t stp_cpu(void) { return sched_getcpu(); }
static inline void stp_execname(char *dst)
{
	extern const char *program_invocation_short_name;
	stp_str_copy(dst, program_invocation_short_name);
	dst[15] = 0;
}
static inline int64_t stp_realtime_ns(void) { return stp_rt_gettime_ns(); }
static inline int64_t stp_local_clock_ns(void) { return stp_rt_monotonic_ns(); }
static inline int64_t stp_jiffies(void)
{
	/* CONFIG_HZ is not known here; jiffies advance at USER_HZ-independent
	 * kernel HZ, taken from the module (STP_HZ) */
	return stp_rt_monotonic_ns() / (1000000000 / STP_HZ);
}

#endif

/* ------------------------------------------- string and misc functions */

#include <ctype.h>
#include <stdio.h>

/* ctime: "Sat Nov 21 20:44:03 2026" in UTC, as stap's ctime() prints. */
static inline void stp_ctime(char *dst, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		stp_str_copy(dst, "<invalid time>");
		return;
	}
	strftime(dst, STP_STRLEN, "%a %b %e %H:%M:%S %Y", &tm);
}

static inline int64_t stp_randint(int64_t n) { return n > 0 ? (int64_t)(random() % n) : 0; }
static inline int64_t stp_abs(int64_t v) { return v < 0 ? -v : v; }

static inline void stp_execname_n(char *dst, int n)
{
	char tmp[STP_STRLEN];
	stp_execname(tmp);
	memset(dst, 0, (size_t)n);
	strncpy(dst, tmp, (size_t)n - 1);
}
