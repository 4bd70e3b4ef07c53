/* util.c - allocation, vectors, string buffers, files. */
#include "stap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
	fputs("stap: out of memory\n", stderr);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void vec_push(Vec *v, void *item)
{
	if (v->len == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->data = xrealloc(v->data, sizeof(void *) * (size_t)v->cap);
	}
	v->data[v->len++] = item;
}

static void sb_reserve(StrBuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void sb_putn(StrBuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_putc(StrBuf *b, char c)
{
	sb_putn(b, &c, 1);
}

void sb_puts(StrBuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void sb_vprintf(StrBuf *b, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	sb_reserve(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
	va_end(again);
	b->len += (size_t)n;
}

void sb_printf(StrBuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

char *sb_steal(StrBuf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

/* A regular file is read in one go into a buffer of its size (scripts
 * of megabytes are read on every -p1); pipes and stdin in chunks. */
static char *read_regular(int fd, size_t size, size_t *len, void *(*alloc)(size_t))
{
	char *text = alloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (alloc == xmalloc)
				free(text);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	*len = got;
	return text;
}

static char *read_stream(FILE *f, size_t *len)
{
	StrBuf b = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		sb_putn(&b, chunk, n);
	if (ferror(f)) {
		free(b.s);
		errno = EIO;
		return NULL;
	}
	*len = b.len;
	return sb_steal(&b);
}

static char *read_stream_into(FILE *f, size_t *len, void *(*alloc)(size_t))
{
	char *text = read_stream(f, len);
	if (!text || alloc == xmalloc)
		return text;
	char *copy = alloc(*len + 1);
	memcpy(copy, text, *len + 1);
	free(text);
	return copy;
}

char *read_file(const char *path, size_t *len)
{
	return read_file_with(path, len, xmalloc);
}

char *read_file_with(const char *path, size_t *len, void *(*alloc)(size_t))
{
	size_t n = 0;
	char *text;
	if (strcmp(path, "-") == 0) {
		text = read_stream_into(stdin, &n, alloc);
	} else {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
			/* a file that grows while read is cut at its size then */
			text = read_regular(fd, (size_t)st.st_size, &n, alloc);
		} else {
			FILE *f = fdopen(fd, "rb");
			if (!f) {
				close(fd);
				return NULL;
			}
			text = read_stream_into(f, &n, alloc);
			fclose(f);
			fd = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	if (text && len)
		*len = n;
	return text;
}

/* FNV-1a, 64 bit: for cache keys and hash tables, not for security. */
uint64_t hash64(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int *row = xmalloc((lb + 1) * sizeof(int));
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	int d = row[lb];
	free(row);
	return d;
}

const char *type_name(Type t)
{
	switch (t) {
	case TY_LONG: return "long";
	case TY_STRING: return "string";
	case TY_STATS: return "stats";
	case TY_VOID: return "void";
	default: return "unknown";
	}
}
