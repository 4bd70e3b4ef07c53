/* stp_memtext.h - text read from kernel or user memory, and writes to
 * user memory, for kernel handlers (BPF only; stp_bpf.h includes it).
 *
 *   stp_text_mem()   the quoting readers: kernel_string_quoted,
 *                    user_string_n_quoted, kernel_buffer_quoted... (the
 *                    escaping is stp_string.h's text walk)
 *   stp_utf_str()    kernel_string_utf16/_utf32 and the user ones: UTF-16
 *                    or UTF-32 converted to UTF-8
 *   stp_write_user() the set_user_* writers (bpf_probe_write_user)
 *
 * A reader returns 0, or -1 when the memory cannot be read (and -2 for a
 * malformed UTF-16/32 sequence), which the generated code raises as stap's
 * error; with STP_MEM_HEX it gives the address in hex instead ("0x1000"),
 * as stap's quoting readers do.
 */
#ifndef STP_MEMTEXT_H
#define STP_MEMTEXT_H

#define STP_MEM_USER 1   /* user memory (else kernel) */
#define STP_MEM_BUFFER 2 /* exactly inlen bytes, NULs included (else a C string) */
#define STP_MEM_EITHER 4 /* kernel memory, else user memory */
#define STP_MEM_UTF32 8  /* stp_utf_str: 32-bit units (else 16-bit) */
#define STP_MEM_HEX 16   /* when it cannot be read: the address in hex, no error */
#define STP_MEM_QUOTE 32 /* stp_utf_str: the result as string_quoted() gives it */

/* "0x" and the address in lowercase hex digits, as sprintf("0x%x") */
static __always_inline void stp_mem_hex(char *dst, uint64_t addr)
{
	int o = 0, started = 0;
	dst[o++] = '0';
	dst[o++] = 'x';
	for (int k = 60; k >= 0; k -= 4) {
		int d = (addr >> k) & 15;
		if (!d && !started && k)
			continue;
		started = 1;
		dst[o++ & (2 * STP_STRBUF - 1)] = d < 10 ? '0' + d : 'a' + d - 10;
	}
	dst[o & (2 * STP_STRBUF - 1)] = 0;
}

static __always_inline long stp_mem_read(void *dst, __u32 size, uint64_t addr, int user)
{
	return user ? bpf_probe_read_user(dst, size, (void *)addr) : bpf_probe_read_kernel(dst, size, (void *)addr);
}

static __always_inline long stp_mem_read_str(void *dst, __u32 size, uint64_t addr, int user)
{
	return user ? bpf_probe_read_user_str(dst, size, (void *)addr)
		    : bpf_probe_read_kernel_str(dst, size, (void *)addr);
}

/* The text of inlen bytes (a buffer) or of a string of at most inlen bytes
 * (0: as many as MAXSTRINGLEN holds) at addr, quoted, in at most outlen
 * bytes (0: MAXSTRINGLEN - 1).  "..." follows the closing quote when the
 * output is cut or the input goes on past inlen.  raw and dst are
 * temporaries (2 * STP_STRBUF bytes each). */
static __always_inline int stp_text_mem_read(char *dst, char *raw, uint64_t addr, int64_t inlen, int64_t outlen,
					     int flags)
{
	int user = flags & STP_MEM_USER;
	int64_t more = 0;
	uint64_t limit = 0;
	dst[0] = 0;
	if (flags & STP_MEM_BUFFER) {
		uint64_t want = inlen > 0 ? (uint64_t)inlen : 0;
		if (want > STP_STR_LAST) {
			want = STP_STR_LAST; /* the rest could not be shown anyway */
			more = 1;
		}
		stp_opaque(want);
		if (want > STP_STR_LAST)
			return -1;
		if (want) {
			long n = stp_mem_read(raw, want, addr, user);
			if (n < 0 && (flags & STP_MEM_EITHER))
				n = stp_mem_read(raw, want, addr, 1);
			if (n < 0)
				return -1;
		}
		raw[want] = 0;
		limit = want;
	} else {
		/* one byte more than asked for tells whether the string goes on */
		uint64_t size = inlen <= 0 || inlen >= STP_STR_LAST ? STP_STRLEN : (uint64_t)inlen + 2;
		stp_opaque(size);
		if (size > STP_STRLEN)
			return -1;
		long n = stp_mem_read_str(raw, size, addr, user);
		if (n < 0 && (flags & STP_MEM_EITHER))
			n = stp_mem_read_str(raw, size, addr, 1);
		if (n < 0)
			return -1;
		if (inlen > 0 && inlen < STP_STR_LAST && n - 1 > inlen) {
			more = 1;
			limit = (uint64_t)inlen;
		}
	}
	stp_text_run(dst, raw, limit, outlen, 1, more);
	return 0;
}

static __always_inline int stp_text_mem(char *dst, char *raw, uint64_t addr, int64_t inlen, int64_t outlen, int flags)
{
	int r = stp_text_mem_read(dst, raw, addr, inlen, outlen, flags);
	if (r < 0 && (flags & STP_MEM_HEX)) {
		stp_mem_hex(dst, addr);
		return 0;
	}
	return r;
}

/* --------------------------------------------------------- UTF-16/32 */

struct stp_utf_walk {
	char *dst;
	uint64_t addr;
	int flags;
	struct stp_utf_vars *v;
};

static __always_inline void stp_utf_put(struct stp_utf_walk *w, uint64_t o, unsigned char ch)
{
	stp_opaque(o);
	if (o < STP_STR_LAST)
		w->dst[o] = ch;
}

STP_CALLBACK stp_utf_cb(uint32_t n, void *ctx)
{
	struct stp_utf_walk *w = ctx;
	struct stp_utf_vars *v = w->v;
	int user = w->flags & STP_MEM_USER;
	uint64_t i = v->i, o = v->o;
	uint32_t cp = 0;
	if (w->flags & STP_MEM_UTF32) {
		if (stp_mem_read(&cp, 4, w->addr + i, user) < 0)
			return v->status = -1, 1;
		i += 4;
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
			return v->status = cp ? -2 : 0, 1;
	} else {
		uint16_t unit = 0, low = 0;
		if (stp_mem_read(&unit, 2, w->addr + i, user) < 0)
			return v->status = -1, 1;
		i += 2;
		cp = unit;
		if (unit >= 0xDC00 && unit < 0xE000)
			return v->status = -2, 1; /* a low surrogate alone */
		if (unit >= 0xD800 && unit < 0xDC00) {
			if (stp_mem_read(&low, 2, w->addr + i, user) < 0)
				return v->status = -1, 1;
			if (low < 0xDC00 || low >= 0xE000)
				return v->status = -2, 1;
			i += 2;
			cp = 0x10000 + ((uint32_t)(unit - 0xD800) << 10) + (low - 0xDC00);
		}
	}
	if (!cp)
		return 1;
	uint64_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	if (o + len > STP_STR_LAST)
		return 1; /* what MAXSTRINGLEN holds, in whole characters */
	if (len == 1) {
		stp_utf_put(w, o, (unsigned char)cp);
	} else {
		stp_utf_put(w, o, (unsigned char)(len == 2 ? 0xC0 | (cp >> 6) : len == 3 ? 0xE0 | (cp >> 12) : 0xF0 | (cp >> 18)));
		for (uint64_t k = 1; k < 4; k++) {
			if (k >= len)
				break;
			stp_utf_put(w, o + k, (unsigned char)(0x80 | ((cp >> (6 * (len - 1 - k))) & 0x3F)));
		}
	}
	v->i = i;
	v->o = o + len;
	return 0;
}

/* The UTF-16 or UTF-32 string at addr (up to its 0 unit) as UTF-8, as
 * much of it as MAXSTRINGLEN holds.  With STP_MEM_EITHER, user memory
 * when the first unit is not kernel memory. */
static __always_inline int stp_utf_read(char *dst, uint64_t addr, int flags)
{
	struct stp_str_vars *vars = stp_str_vars();
	dst[0] = 0;
	if (!vars)
		return -1;
	if (flags & STP_MEM_EITHER) {
		uint16_t probe = 0;
		if (bpf_probe_read_kernel(&probe, sizeof probe, (void *)addr) < 0)
			flags |= STP_MEM_USER;
	}
	struct stp_utf_walk w = {dst, addr, flags, &vars->walk.utf};
	*w.v = (struct stp_utf_vars){0, 0, 0};
	stp_loop(STP_STR_LAST, stp_utf_cb, &w);
	stp_str_end(dst, w.v->o);
	return (int)w.v->status;
}

/* stp_utf_read(), quoted with STP_MEM_QUOTE (raw holds the UTF-8 then);
 * raw and dst are temporaries. */
static __always_inline int stp_utf_str(char *dst, char *raw, uint64_t addr, int flags)
{
	int r = stp_utf_read(flags & STP_MEM_QUOTE ? raw : dst, addr, flags);
	if (r < 0 && (flags & STP_MEM_HEX)) {
		stp_mem_hex(dst, addr);
		return 0;
	}
	if (r == 0 && (flags & STP_MEM_QUOTE))
		stp_text_strn(dst, raw, 0, 1);
	return r;
}

/* ------------------------------------------------------------ writes */

/* set_user_string(_n): the string and its NUL, at most n bytes of them
 * (n < 0: no limit); bpf_probe_write_user() does the write. */
static __always_inline long stp_write_user_str(uint64_t addr, const char *s, int64_t n)
{
	int64_t len = stp_str_len(s) + 1;
	if (n >= 0 && n < len)
		len = n;
	stp_opaque(len);
	if (len <= 0 || len > STP_STRLEN)
		return 0;
	return bpf_probe_write_user((void *)addr, s, (__u32)len);
}

#endif
