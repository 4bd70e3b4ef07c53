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

#define stp_error(K, id)                                          \
	do {                                                       \
		stp_rt_error((K), (id), NULL);                     \
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
#include <regex.h>
#include <stdio.h>

/* One compiled expression per =~ site, compiled on first use. */
#define STP_MAX_REGEX 256
static inline int64_t stp_regex_match(int slot, const char *re, const char *s)
{
	static regex_t compiled[STP_MAX_REGEX];
	static char ok[STP_MAX_REGEX];
	if (slot < 0 || slot >= STP_MAX_REGEX)
		return 0;
	if (!ok[slot]) {
		if (regcomp(&compiled[slot], re, REG_EXTENDED | REG_NOSUB) != 0)
			return 0;
		ok[slot] = 1;
	}
	return regexec(&compiled[slot], s, 0, NULL, 0) == 0;
}

static inline void stp_substr(char *dst, const char *s, int64_t start, int64_t len)
{
	int64_t n = (int64_t)strnlen(s, STP_STRLEN - 1);
	if (start < 0 || start >= n || len <= 0) {
		dst[0] = 0;
		return;
	}
	if (len > n - start)
		len = n - start;
	memmove(dst, s + start, (size_t)len);
	dst[len] = 0;
}

static inline int64_t stp_isinstr(const char *s1, const char *s2) { return strstr(s1, s2) != NULL; }

static inline int64_t stp_strtol(const char *s, int64_t base)
{
	if (base < 2 || base > 36)
		base = 10;
	return (int64_t)strtoll(s, NULL, (int)base);
}

static inline void stp_str_replace(char *dst, const char *src, const char *old, const char *rep)
{
	char out[2 * STP_STRLEN + 2];
	size_t o = 0, lo = strlen(old), lr = strlen(rep);
	const char *p = src;
	if (!lo) {
		stp_str_copy(dst, src);
		return;
	}
	while (*p && o < STP_STRLEN - 1) {
		if (!strncmp(p, old, lo)) {
			for (size_t i = 0; i < lr && o < STP_STRLEN - 1; i++)
				out[o++] = rep[i];
			p += lo;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = 0;
	stp_str_copy(dst, out);
}

static inline int64_t stp_isdigit(const char *s) { return isdigit((unsigned char)s[0]) != 0; }

static inline int64_t stp_stringat(const char *s, int64_t i)
{
	int64_t n = (int64_t)strnlen(s, STP_STRLEN - 1);
	return i >= 0 && i < n ? (unsigned char)s[i] : 0;
}

/* text_str: escape non-printing characters as C would write them. */
static inline void stp_text_str(char *dst, const char *s)
{
	size_t o = 0;
	for (; *s && o + 5 < STP_STRLEN; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = NULL;
		switch (c) {
		case '\n': esc = "\\n"; break;
		case '\t': esc = "\\t"; break;
		case '\r': esc = "\\r"; break;
		case '\v': esc = "\\v"; break;
		case '\f': esc = "\\f"; break;
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		}
		if (esc) {
			size_t l = strlen(esc);
			memcpy(dst + o, esc, l);
			o += l;
		} else if (c < 32 || c >= 127) {
			o += (size_t)snprintf(dst + o, STP_STRLEN - o, "\\%03o", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = 0;
}

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
