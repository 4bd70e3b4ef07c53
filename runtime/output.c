/* output.c - where a session's output goes: standard output, a file that
 * may rotate (-o FILE -S SIZE,N), or an in-memory ring (flight recorder).
 *
 * Files rotate as stap's do: with -S the output goes to FILE.0, FILE.1, ...
 * and a new file is started before one would pass SIZE megabytes; with N,
 * only the N newest files are kept.  Output is cut only between lines, so
 * every file holds whole lines (a single line longer than SIZE is cut at
 * SIZE).  SIGUSR2 switches to the next file at once (FILE.1, FILE.2, ...
 * when -S was not given).  FILE may hold strftime(3) conversions, expanded
 * whenever a file is opened.
 *
 * In the background there is no terminal, so errors and warnings are
 * written where the output goes, in order with it.  The ring keeps the
 * newest bytes; an attached `staprun -A` is sent everything as it comes
 * (flight.c).
 */
#include "rt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_RING_MB 1

enum output_kind { OUT_STDOUT, OUT_FILE, OUT_RING };

struct stp_output {
	enum output_kind kind;
	int fd;
	const char *path;       /* -o FILE as given (maybe a strftime template) */
	long long limit;        /* -S SIZE in bytes; 0: no rotation by size */
	int max_files;          /* -S SIZE,N; 0: keep every file */
	int seq;                /* current FILE.seq; -1: plain FILE */
	long long size;         /* bytes in the current file */
	char *ring;             /* OUT_RING: cap bytes, oldest at head */
	size_t cap, head, len;
	int wrapped;            /* the ring has dropped old bytes */
};

/* ------------------------------------------------------------- files */

static void expand_name(const struct stp_output *o, int seq, char *buf, size_t size)
{
	char base[PATH_MAX];
	const char *path = o->path;
	if (strchr(path, '%')) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		if (strftime(base, sizeof(base), path, &tm) > 0)
			path = base;
	}
	if (seq < 0)
		snprintf(buf, size, "%s", path);
	else
		snprintf(buf, size, "%s.%d", path, seq);
}

static int open_file(struct stp_output *o, int seq)
{
	char name[PATH_MAX + 16];
	expand_name(o, seq, name, sizeof(name));
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "ERROR: cannot open output file %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (o->fd >= 0)
		close(o->fd);
	o->fd = fd;
	o->seq = seq;
	o->size = 0;
	if (o->max_files > 0 && seq - o->max_files >= 0) {
		expand_name(o, seq - o->max_files, name, sizeof(name));
		unlink(name);
	}
	return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a closed pipe or a full disk: drop, keep tracing */
		p += w;
		n -= (size_t)w;
	}
}

/* The length of the longest prefix of p[0..n) that ends with a newline. */
static size_t whole_lines(const char *p, size_t n)
{
	while (n > 0 && p[n - 1] != '\n')
		n--;
	return n;
}

static void file_put(struct stp_output *o, const char *p, size_t n)
{
	while (n > 0) {
		if (!o->limit || o->size + (long long)n <= o->limit) {
			write_all(o->fd, p, n);
			o->size += (long long)n;
			return;
		}
		size_t room = o->limit > o->size ? (size_t)(o->limit - o->size) : 0;
		size_t cut = whole_lines(p, room < n ? room : n);
		if (cut == 0 && o->size == 0)
			cut = room; /* one line longer than SIZE */
		write_all(o->fd, p, cut);
		o->size += (long long)cut;
		p += cut;
		n -= cut;
		if (open_file(o, o->seq + 1))
			return;
	}
}

void rt_output_switch(struct stp_session *s)
{
	struct stp_output *o = s->output;
	if (o && o->kind == OUT_FILE)
		open_file(o, o->seq < 0 ? 1 : o->seq + 1);
}

/* -------------------------------------------------------------- ring */

static void ring_put(struct stp_output *o, const char *p, size_t n)
{
	if (n >= o->cap) {
		memcpy(o->ring, p + n - o->cap, o->cap);
		o->head = 0;
		o->wrapped |= n > o->cap || o->len > 0;
		o->len = o->cap;
		return;
	}
	size_t tail = (o->head + o->len) % o->cap;
	size_t first = o->cap - tail < n ? o->cap - tail : n;
	memcpy(o->ring + tail, p, first);
	memcpy(o->ring, p + first, n - first);
	if (o->len + n > o->cap) {
		o->head = (o->head + o->len + n - o->cap) % o->cap;
		o->len = o->cap;
		o->wrapped = 1;
	} else {
		o->len += n;
	}
}

/* Copies the ring, oldest first; once old bytes were dropped, from the
 * first whole line on. */
void rt_output_ring_copy(struct stp_session *s, struct stp_buf *to)
{
	struct stp_output *o = s->output;
	if (!o || o->kind != OUT_RING || o->len == 0)
		return;
	size_t skip = 0;
	if (o->wrapped) {
		while (skip < o->len && o->ring[(o->head + skip) % o->cap] != '\n')
			skip++;
		skip = skip < o->len ? skip + 1 : 0;
	}
	size_t start = (o->head + skip) % o->cap, n = o->len - skip;
	size_t first = o->cap - start < n ? o->cap - start : n;
	stp_buf_put(to, o->ring + start, first);
	stp_buf_put(to, o->ring, n - first);
}

/* ------------------------------------------------------------ public */

int rt_output_open(struct stp_session *s)
{
	struct stp_output *o = calloc(1, sizeof(*o));
	if (!o)
		return -1;
	s->output = o;
	o->fd = -1;
	o->seq = -1;
	s->out_fd = STDOUT_FILENO;
	if (s->opt.output_path) {
		o->kind = OUT_FILE;
		o->path = s->opt.output_path;
		o->limit = (long long)s->opt.size_limit_mb << 20;
		o->max_files = s->opt.max_files;
		if (open_file(o, o->limit ? 0 : -1))
			return -1;
		s->out_fd = o->fd;
	} else if (s->opt.detach) {
		o->kind = OUT_RING;
		o->cap = (size_t)(s->opt.bufsize_mb > 0 ? s->opt.bufsize_mb : DEFAULT_RING_MB) << 20;
		o->ring = malloc(o->cap);
		if (!o->ring) {
			fprintf(stderr, "ERROR: cannot allocate a %zu MB output buffer\n", o->cap >> 20);
			return -1;
		}
	} else {
		o->kind = OUT_STDOUT;
		o->fd = STDOUT_FILENO;
	}
	return 0;
}

void rt_output_put(struct stp_session *s, const void *p, size_t n)
{
	struct stp_output *o = s->output;
	if (n == 0)
		return;
	if (!o)
		write_all(STDOUT_FILENO, p, n);
	else if (o->kind == OUT_RING)
		ring_put(o, p, n);
	else if (o->kind == OUT_FILE)
		file_put(o, p, n);
	else
		write_all(o->fd, p, n);
	if (s->flight)
		rt_flight_send(s, 'o', p, n);
}

/* An error or warning line: on stderr in the foreground; in the
 * background, into the output and to attached clients as stderr. */
void rt_output_diag(struct stp_session *s, const char *text)
{
	size_t n = strlen(text);
	if (!rt_flight_in_background(s)) {
		fputs(text, stderr);
		fflush(stderr);
		if (s->flight)
			rt_flight_send(s, 'e', text, n);
		return;
	}
	struct stp_output *o = s->output;
	if (o && o->kind == OUT_RING)
		ring_put(o, text, n);
	else if (o && o->kind == OUT_FILE)
		file_put(o, text, n);
	rt_flight_send(s, 'e', text, n);
}

void rt_output_close(struct stp_session *s)
{
	struct stp_output *o = s->output;
	if (!o)
		return;
	if (o->kind == OUT_FILE && o->fd >= 0)
		close(o->fd);
	free(o->ring);
	free(o);
	s->output = NULL;
	s->out_fd = STDOUT_FILENO;
}
