/* hostrt.c - what host handlers call (stp_rt_* output, errors, context),
 * the buffered output writer, and the handling of kernel records.
 *
 * Output goes to one buffer, handed to output.c (stdout, -o files or the
 * flight recorder's ring) when it grows past OUT_FLUSH_AT and whenever the
 * run loop has handled a batch of events, so `tail -f` sees it promptly.
 * Errors and warnings follow the pending output, so the two streams
 * interleave sensibly.
 */
#include "rt.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_FLUSH_AT (64 * 1024)

struct stp_session *stp_current_session;

static struct stp_session *session_of(struct stp_ctx *c)
{
	return c && c->rt ? c->rt : stp_current_session;
}

struct stp_state *rt_state(struct stp_session *s)
{
	return s->globals;
}

/* ------------------------------------------------------------ output */

/* The destination (stdout, rotating files, the flight recorder's ring)
 * is output.c's business. */
void rt_out_flush(struct stp_session *s)
{
	rt_output_put(s, s->out.data, s->out.len);
	stp_buf_reset(&s->out);
}

static void out_maybe_flush(struct stp_session *s)
{
	if (s->out.len >= OUT_FLUSH_AT)
		rt_out_flush(s);
}

void rt_out_write(struct stp_session *s, const void *p, size_t n)
{
	stp_buf_put(&s->out, p, n);
	out_maybe_flush(s);
}

/* switch_file() and SIGUSR2: what was printed so far stays in this file. */
void rt_out_switch(struct stp_session *s)
{
	rt_out_flush(s);
	rt_output_switch(s);
}

/* ------------------------------------------------------------ errors */

static void report(struct stp_session *s, const char *kind, const char *msg, const char *where)
{
	char line[1024];
	rt_out_flush(s);
	snprintf(line, sizeof(line), "%s: %s%s%s\n", kind, msg ? msg : "", where && *where ? " " : "",
		 where ? where : "");
	rt_output_diag(s, line);
}

void rt_report_error(struct stp_session *s, const char *msg, const char *where)
{
	report(s, "ERROR", msg, where);
}

void rt_report_warning(struct stp_session *s, const char *msg, const char *where)
{
	report(s, "WARNING", msg, where);
}

int64_t rt_total_errors(struct stp_session *s)
{
	return s->host_errors + (s->globals ? rt_state(s)->errors : 0);
}

/* Past MAXERRORS (default 0: the first error) or MAXSKIPPED the session
 * ends, and error probes run instead of end probes. */
void rt_check_limits(struct stp_session *s)
{
	if (s->error_stop || !s->globals)
		return;
	const struct stp_limits *lim = &s->mod->limits;
	if (rt_total_errors(s) > lim->maxerrors) {
		s->error_stop = 1;
	} else if (rt_state(s)->skipped > lim->maxskipped) {
		rt_report_error(s, "Skipped too many probes, check MAXSKIPPED or try again with stap -t for more details.",
				NULL);
		s->error_stop = 1;
	}
	if (s->error_stop) {
		s->stop = 1;
		rt_state(s)->session_state = STP_SESSION_STOPPING;
	}
}

/* ------------------------------------------------------ kernel records */

static const char *site_message(struct stp_session *s, uint32_t id, const char **where)
{
	*where = NULL;
	if (id < (uint32_t)s->mod->nerrors) {
		*where = s->mod->errors[id].where;
		return s->mod->errors[id].message;
	}
	return "unknown error site";
}

/* An error or warning record: the site's text, or the packed string the
 * kernel sent with it instead of the site's message. */
static void record_diagnostic(struct stp_session *s, const struct stp_rec_hdr *h, const void *payload, int error)
{
	const char *where;
	const char *msg = site_message(s, h->id, &where);
	char detail[512];
	size_t pos = 0, n;
	const char *str;
	if (h->len >= 2 && stp_unpack_str(payload, h->len, &pos, &str, &n) && n) {
		snprintf(detail, sizeof(detail), "%.*s", (int)n, str);
		msg = detail;
	}
	if (error) {
		rt_report_error(s, msg, where);
		rt_check_limits(s); /* the kernel counted it in stp_state.errors */
	} else {
		rt_report_warning(s, msg, where);
	}
}

/* print_backtrace() and friends: the kernel sent addresses (or the text
 * of a backtrace() string) and the pid they belong to. */
static void print_stack_record(struct stp_session *s, const struct stp_rec_hdr *h, const char *payload)
{
	uint64_t pid;
	if (h->len < 8)
		return;
	memcpy(&pid, payload, 8);
	int who = h->id & STP_STACK_USER ? (int)pid : -1;
	if (h->id & STP_STACK_TEXT) {
		size_t pos = 8, n;
		const char *str;
		if (stp_unpack_str(payload, h->len, &pos, &str, &n))
			rt_print_stack_text(s, who, str, n);
		return;
	}
	uint64_t ips[STP_MAXBACKTRACE];
	size_t n = (h->len - 8) / 8;
	if (n > STP_MAXBACKTRACE)
		n = STP_MAXBACKTRACE;
	memcpy(ips, payload + 8, n * 8);
	enum rt_frame_style style = RT_FRAME_FULL;
	if (h->id & STP_STACK_BRIEF)
		style = RT_FRAME_BRIEF;
	else if (h->id & STP_STACK_FILELINE)
		style = RT_FRAME_FILELINE;
	rt_print_frames(s, who, ips, n, style);
}

/* print(@hist_*(s)) in a kernel handler: the kernel summed the CPUs'
 * copies; the same code as for user-space handlers prints it. */
static void record_hist(struct stp_session *s, const struct stp_rec_hdr *h, const void *payload)
{
	if (h->id >= (uint32_t)s->mod->nglobals)
		return;
	const struct stp_global_desc *g = &s->mod->globals[h->id];
	size_t need = stp_stat_size(g);
	if (g->type != STP_T_STATS || h->len < need)
		return;
	struct stp_stat *st = malloc(need);
	if (!st)
		return;
	memcpy(st, payload, need);
	stp_hist_format(&s->out, g, st);
	free(st);
	out_maybe_flush(s);
}

/* printk() from a kernel handler: the kernel cannot be asked to log from
 * a BPF program, so the line comes here and staprun writes it. */
static void record_kmsg(const struct stp_rec_hdr *h, const char *payload)
{
	uint16_t n;
	if (h->len < 2)
		return;
	memcpy(&n, payload, 2);
	if (n > h->len - 2)
		n = (uint16_t)(h->len - 2);
	stp_rt_kmsg(NULL, h->id, payload + 2, n);
}

int rt_handle_record(void *session, void *data, size_t size)
{
	struct stp_session *s = session;
	const struct stp_rec_hdr *h = data;
	if (size < sizeof(*h) || h->len > size - sizeof(*h))
		return 0;
	const char *payload = (const char *)data + sizeof(*h);
	switch (h->kind) {
	case STP_REC_PRINTF:
		if (h->id < (uint32_t)s->mod->nformats) {
			stp_format(&s->out, s->mod->formats[h->id].fmt, payload, h->len);
			out_maybe_flush(s);
		}
		break;
	case STP_REC_PRINT:
		rt_out_write(s, payload, h->len);
		break;
	case STP_REC_ERROR:
		record_diagnostic(s, h, payload, 1);
		break;
	case STP_REC_WARN:
		record_diagnostic(s, h, payload, 0);
		break;
	case STP_REC_EXIT:
		s->stop = 1;
		break;
	case STP_REC_STACK:
		print_stack_record(s, h, payload);
		break;
	case STP_REC_HIST:
		record_hist(s, h, payload);
		break;
	case STP_REC_KMSG:
		record_kmsg(h, payload);
		break;
	case STP_REC_SWITCH:
		rt_out_switch(s);
		break;
	}
	return 0;
}

/* A deferred string in a record (stp_module.h): the kernel sent a
 * function id and its arguments; run the module's function on them.
 * Several may be expanded for one record, so the texts rotate through a
 * few buffers that live until the record is formatted. */
#define DEFER_BUFS 16
int rt_deferred_expand(const void *args, size_t len, size_t *pos, const char **str, size_t *n)
{
	static char *bufs[DEFER_BUFS];
	static unsigned next;
	struct stp_session *s = stp_current_session;
	uint16_t fid;
	if (!s || *pos + 2 > len)
		return 0;
	memcpy(&fid, (const char *)args + *pos, 2);
	*pos += 2;
	if (fid >= s->mod->ndeferred || !s->mod->deferred || !s->mod->deferred[fid]) {
		*pos = len; /* the rest cannot be parsed */
		return 0;
	}
	char **buf = &bufs[next++ % DEFER_BUFS];
	if (!*buf && !(*buf = calloc(1, (size_t)s->mod->limits.maxstringlen + 1)))
		return 0;
	struct stp_ctx c = s->ctx;
	c.actions = 0;
	c.error = 0;
	c.errmsg[0] = '\0';
	s->mod->deferred[fid](&c, args, len, pos, *buf);
	*str = *buf;
	*n = strlen(*buf);
	return 1;
}

/* ------------------------------------------------------- host handlers */

void rt_run_handler(struct stp_session *s, const struct stp_probe_desc *p)
{
	if (!p->handler)
		return;
	rt_drain(s); /* kernel output that came first prints first */
	struct stp_ctx *c = &s->ctx;
	c->pp = p->pp;
	c->ptype = p->ptype;
	c->pret = p->pret;
	c->func = p->function;
	c->actions = 0;
	c->error = 0;
	c->errmsg[0] = '\0';
	if (c->frame)
		memset(c->frame, 0, s->mod->host_frame_size);
	p->handler(c);
}

/* ----------------------------------------------------- stp_rt_* output */

void stp_rt_printf(struct stp_ctx *c, int fmt_id, const void *args, size_t len)
{
	struct stp_session *s = session_of(c);
	if (fmt_id < 0 || fmt_id >= s->mod->nformats)
		return;
	stp_format(&s->out, s->mod->formats[fmt_id].fmt, args, len);
	out_maybe_flush(s);
}

void stp_rt_print(struct stp_ctx *c, const char *str, size_t len)
{
	rt_out_write(session_of(c), str, len);
}

void stp_rt_sprintf(struct stp_ctx *c, char *buf, size_t size, int fmt_id, const void *args, size_t len)
{
	struct stp_session *s = session_of(c);
	struct stp_buf tmp = { 0 };
	if (!size)
		return;
	if (fmt_id >= 0 && fmt_id < s->mod->nformats)
		stp_format(&tmp, s->mod->formats[fmt_id].fmt, args, len);
	size_t n = tmp.len < size - 1 ? tmp.len : size - 1;
	if (n)
		memcpy(buf, tmp.data, n);
	buf[n] = '\0';
	stp_buf_free(&tmp);
}

/* One write is one record of the kernel log: "<LEVEL>TEXT" (a trailing
 * newline ends the record and is not part of it). */
void stp_rt_kmsg(struct stp_ctx *c, int64_t level, const char *msg, size_t len)
{
	(void)c;
	char buf[4096];
	if (len > sizeof buf - 8)
		len = sizeof buf - 8;
	int n = snprintf(buf, sizeof buf, "<%d>", (int)(level & 7));
	memcpy(buf + n, msg, len);
	n += (int)len;
	buf[n++] = '\n';
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, buf, (size_t)n) < 0) {
		/* nothing to report to: the log is where reports go */
	}
	close(fd);
}

void stp_rt_error(struct stp_ctx *c, int error_id, const char *detail)
{
	struct stp_session *s = session_of(c);
	const char *where;
	const char *msg = site_message(s, (uint32_t)error_id, &where);
	if (detail && *detail)
		msg = detail;
	snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg);
	c->error = 1;
	rt_report_error(s, msg, where);
	s->host_errors++;
	rt_check_limits(s);
}

void stp_rt_symname(struct stp_ctx *c, char *dst, size_t size, int64_t addr, int with_data)
{
	(void)c;
	rt_symbol_text(dst, size, -1, (uint64_t)addr, with_data);
}

void stp_rt_print_stack(struct stp_ctx *c, const char *stk)
{
	rt_print_stack_text(session_of(c), -1, stk, strlen(stk));
}

void stp_rt_sym_text(struct stp_ctx *c, char *dst, size_t size, int64_t pid, int64_t addr, int64_t what)
{
	(void)c;
	rt_symbol_where(dst, size, pid < 0 ? -1 : (int)pid, (uint64_t)addr,
			what >= RT_SYM_FILE && what <= RT_SYM_MODULE ? (enum rt_sym_what)what : RT_SYM_FILELINE);
}

void stp_rt_sym_lines(struct stp_ctx *c, char *dst, size_t size, int64_t pid, const char *stk, int64_t style)
{
	(void)c;
	rt_stack_text_lines(dst, size, pid < 0 ? -1 : (int)pid, stk,
			    style == RT_FRAME_BRIEF ? RT_FRAME_BRIEF : RT_FRAME_SIMPLE);
}

/* module_name(): the module file's name without ".ko"; module_size():
 * the sizes of the module's code, data and zeroed data, as its ELF
 * section headers give them. */
void stp_rt_module_info(struct stp_ctx *c, char *dst, size_t size, int64_t what)
{
	const char *path = session_of(c)->opt.module_path;
	if (what == 0) {
		rt_module_base(path, dst, size);
		return;
	}
	unsigned long long text = 0, data = 0, bss = 0;
	rt_module_sections(path, &text, &data, &bss);
	snprintf(dst, size, "%llu text/%llu data/%llu bss", text, data, bss);
}

void stp_rt_warn(struct stp_ctx *c, int site_id, const char *msg)
{
	struct stp_session *s = session_of(c);
	const char *where;
	const char *site = site_message(s, (uint32_t)site_id, &where);
	rt_report_warning(s, msg && *msg ? msg : site, where);
}

void stp_rt_exit(struct stp_ctx *c)
{
	struct stp_session *s = session_of(c);
	s->stop = 1;
	if (s->globals)
		rt_state(s)->session_state = STP_SESSION_STOPPING;
}

void stp_rt_switch_file(struct stp_ctx *c)
{
	rt_out_switch(session_of(c));
}

/* ----------------------------------------------------------- context */

int64_t stp_rt_target(struct stp_ctx *c)
{
	return session_of(c)->opt.target_pid;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t stp_rt_gettime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t stp_rt_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}
