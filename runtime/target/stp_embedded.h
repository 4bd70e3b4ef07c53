/* stp_embedded.h - what embedded C (stap -g) is written against.
 *
 * A unit that holds embedded C includes this after stp_bpf.h or
 * stp_host.h.  The translator defines, around each embedded-C function,
 * STAP_ARG_name (its parameters), STAP_RETVALUE, STAP_RETURN, STAP_ERROR
 * and STAP_PRINTF on top of the helpers here; everything else is plain C
 * of the target: BPF helpers in the kernel unit, libc in the host unit.
 */
#ifndef STP_EMBEDDED_H
#define STP_EMBEDDED_H

#define MAXSTRINGLEN STP_STRLEN

#ifdef STP_BPF
/*
 * Formatting goes through bpf_snprintf(), which wants the format in
 * read-only data and every argument widened to 64 bits in an array: the
 * format must be a string literal (it is copied into a static const) and
 * at most 12 arguments follow it.  The array holds the format's address
 * first so that a call without arguments needs no special case.
 */
#define STP_EMB_FIRST(...) STP_EMB_FIRST_(__VA_ARGS__, 0)
#define STP_EMB_FIRST_(a, ...) a
#define STP_EMB_COUNT(...) STP_EMB_COUNT_(__VA_ARGS__, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define STP_EMB_COUNT_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, n, ...) n
#define STP_EMB_CAT(a, b) STP_EMB_CAT_(a, b)
#define STP_EMB_CAT_(a, b) a##b
#define STP_EMB_U64_1(a) (__u64)(a)
#define STP_EMB_U64_2(a, ...) (__u64)(a), STP_EMB_U64_1(__VA_ARGS__)
#define STP_EMB_U64_3(a, ...) (__u64)(a), STP_EMB_U64_2(__VA_ARGS__)
#define STP_EMB_U64_4(a, ...) (__u64)(a), STP_EMB_U64_3(__VA_ARGS__)
#define STP_EMB_U64_5(a, ...) (__u64)(a), STP_EMB_U64_4(__VA_ARGS__)
#define STP_EMB_U64_6(a, ...) (__u64)(a), STP_EMB_U64_5(__VA_ARGS__)
#define STP_EMB_U64_7(a, ...) (__u64)(a), STP_EMB_U64_6(__VA_ARGS__)
#define STP_EMB_U64_8(a, ...) (__u64)(a), STP_EMB_U64_7(__VA_ARGS__)
#define STP_EMB_U64_9(a, ...) (__u64)(a), STP_EMB_U64_8(__VA_ARGS__)
#define STP_EMB_U64_10(a, ...) (__u64)(a), STP_EMB_U64_9(__VA_ARGS__)
#define STP_EMB_U64_11(a, ...) (__u64)(a), STP_EMB_U64_10(__VA_ARGS__)
#define STP_EMB_U64_12(a, ...) (__u64)(a), STP_EMB_U64_11(__VA_ARGS__)
#define STP_EMB_U64_13(a, ...) (__u64)(a), STP_EMB_U64_12(__VA_ARGS__)
#define STP_EMB_U64S(...) STP_EMB_CAT(STP_EMB_U64_, STP_EMB_COUNT(__VA_ARGS__))(__VA_ARGS__)

/* snprintf(buf, size, fmt, ...): the length written, without the NUL */
#define stp_emb_snprintf(buf, size, ...)                                              \
	({                                                                             \
		static const char f_[] = STP_EMB_FIRST(__VA_ARGS__);                   \
		__u64 a_[] = {STP_EMB_U64S(__VA_ARGS__)};                              \
		long n_ = bpf_snprintf((buf), (size), f_, a_ + 1, sizeof a_ - sizeof a_[0]); \
		n_ > 0 ? n_ - 1 : 0;                                                   \
	})

/* STAP_PRINTF: one output record of at most MAXSTRINGLEN bytes */
#define stp_emb_printf(K, ...)                                                         \
	do {                                                                           \
		unsigned char *r_ = stp_rec_begin();                                   \
		if (r_) {                                                              \
			long pl_ = stp_emb_snprintf((char *)r_ + sizeof(struct stp_rec_hdr), \
						   STP_STRLEN, __VA_ARGS__);           \
			if (pl_ > STP_STRLEN - 1)                                       \
				pl_ = STP_STRLEN - 1;                                   \
			if (pl_ > 0)                                                    \
				stp_rec_send(K, r_, STP_REC_PRINT, 0,                  \
					     sizeof(struct stp_rec_hdr) + pl_);         \
		}                                                                      \
	} while (0)

/*
 * The string functions stap's examples use, on MAXSTRINGLEN buffers: the
 * kernel has no libc.  The size argument is not used: a copy stops at
 * MAXSTRINGLEN - 1 bytes and at the end of the source.  strlcat needs a
 * frame temporary, so it is defined inside embedded-C functions only.
 */
#define strlcpy(dst, src, size) ((void)(size), stp_str_copy((dst), (src)))
#define strcmp(a, b) stp_str_cmp((a), (b))
#define strlen(a) stp_str_len(a)
#define snprintf(buf, size, ...) stp_emb_snprintf((buf), (size), __VA_ARGS__)
#else /* the host unit */
#include <stdio.h>
#include <stdarg.h>

static inline size_t stp_emb_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size) {
		size_t k = n < size - 1 ? n : size - 1;
		memcpy(dst, src, k);
		dst[k] = 0;
	}
	return n;
}

static inline size_t stp_emb_strlcat(char *dst, const char *src, size_t size)
{
	size_t d = strnlen(dst, size);
	if (d == size)
		return d + strlen(src);
	return d + stp_emb_strlcpy(dst + d, src, size - d);
}

/* glibc before 2.38 has neither */
#define strlcpy stp_emb_strlcpy
#define strlcat stp_emb_strlcat

static inline void stp_emb_printf(struct stp_ctx *K, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void stp_emb_printf(struct stp_ctx *K, const char *fmt, ...)
{
	char buf[STP_STRLEN];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 1)
		n = (int)sizeof buf - 1;
	if (n > 0)
		stp_rt_print(K, buf, (size_t)n);
}

#endif

#endif
