/* format.h - growable byte buffers and stap's printf engine.
 *
 * The kernel side sends printf calls as records: a format id and the
 * arguments packed as stp_module.h describes (longs 8 bytes, strings a u16
 * length and their bytes, padded to 2).  The same engine formats host-side
 * printf/sprintf calls, so both sides print byte-for-byte alike.
 */
#ifndef STP_FORMAT_H
#define STP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

struct stp_buf {
	char *data;
	size_t len;
	size_t cap;
};

void stp_buf_put(struct stp_buf *b, const void *p, size_t n);
void stp_buf_putc(struct stp_buf *b, char c);
void stp_buf_puts(struct stp_buf *b, const char *s);
void stp_buf_pad(struct stp_buf *b, char c, size_t n);
void stp_buf_printf(struct stp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates (without counting the NUL in len) and returns data. */
const char *stp_buf_cstr(struct stp_buf *b);
void stp_buf_reset(struct stp_buf *b);
void stp_buf_free(struct stp_buf *b);

/* Format `fmt` with packed arguments into out.  Returns 0, or -1 when the
 * packed arguments run out before the format does (what could be formatted
 * is still appended). */
int stp_format(struct stp_buf *out, const char *fmt, const void *args, size_t len);

/* Append s with non-printable characters, quotes and backslashes escaped
 * the way stap's %#s and text_str() do (C escapes, else \ooo). */
void stp_escape_str(struct stp_buf *out, const char *s, size_t n);

/* Readers for packed arguments: advance *pos; return false when short. */
int stp_unpack_long(const void *args, size_t len, size_t *pos, int64_t *v);
int stp_unpack_str(const void *args, size_t len, size_t *pos, const char **s, size_t *n);

/* A deferred string (stp_module.h): when set (staprun), stp_unpack_str
 * calls this on seeing one, with *pos after the marker; it formats the
 * string, advances *pos past its arguments and returns the text. */
extern int (*stp_deferred_expand)(const void *args, size_t len, size_t *pos, const char **s, size_t *n);

/* Writers for packed arguments (used by host code and tests). */
void stp_pack_long(struct stp_buf *b, int64_t v);
void stp_pack_str(struct stp_buf *b, const char *s);

#endif
