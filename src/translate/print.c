/* print.c - print, printf, sprintf and friends for both targets.
 *
 * Kernel handlers write a record (format id and arguments) into the ring
 * buffer and staprun formats it; sprintf in the kernel uses bpf_snprintf
 * with the conversions it supports.  Host handlers format directly.
 */
#include "translate.h"
#include "elab/kernel.h"
#include "stp_module.h"

#include <stdlib.h>
#include <string.h>
/* Conversion for print-family arguments. */
static const char *print_conv(Expr *x)
{
	return x->type == TY_STRING ? "%s" : "%d";
}

/* Append "%" escaped for use in a format. */
static void append_literal_fmt(StrBuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%')
			sb_putc(b, '%');
		sb_putc(b, *s);
	}
}

/* Rewrite a stap format for bpf_snprintf(): every argument is 64 bits
 * ("%d" -> "%lld").  The kernel helper knows flags "-+ 0", a width, and
 * d i u x X c s; anything else is refused here, at translation time. */
static char *bpf_format(Emitter *e, const char *fmt, SrcLoc loc, int *nconv)
{
	StrBuf b = {0};
	*nconv = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			sb_putc(&b, *p);
			continue;
		}
		if (p[1] == '%') {
			sb_puts(&b, "%%");
			p++;
			continue;
		}
		const char *start = p++;
		while (*p == '-' || *p == '+' || *p == ' ' || *p == '0')
			p++;
		while (*p >= '0' && *p <= '9')
			p++;
		size_t spec = (size_t)(p - start);
		while (*p == 'l' || *p == 'h')
			p++;
		const char *len = NULL;
		switch (*p) {
		case 'd': case 'i': len = "lld"; break;
		case 'u': len = "llu"; break;
		case 'x': len = "llx"; break;
		case 'X': len = "llX"; break;
		case 'c': len = "c"; break;
		case 's': len = "s"; break;
		default: break;
		}
		if (!len) {
			emit_fail(e, loc, "sprintf conversion '%.*s' is not available in kernel-context probes "
					  "(they support flags -+ 0, a width, and %%d %%i %%u %%x %%X %%c %%s)",
				  (int)(p - start + (*p ? 1 : 0)), start);
			free(b.s);
			return NULL;
		}
		sb_putn(&b, start, spec);
		sb_puts(&b, len);
		(*nconv)++;
		if (!*p)
			break;
	}
	return sb_steal(&b);
}

static void emit_bpf_sprintf(Emitter *e, int fmt_id, Expr **args, int nargs, int from, char **vals, char *dst)
{
	int nconv;
	char *fmt = bpf_format(e, VEC_AT(e->formats, fmt_id), args[from ? from - 1 : 0]->loc, &nconv);
	if (!fmt)
		return;
	if (nargs - from > 12) {
		emit_fail(e, args[0]->loc, "sprintf in kernel-context probes takes at most 12 arguments");
		return;
	}
	int lit = emit_literal(e, fmt, strlen(fmt));
	emit_line(e, "{ __u64 d_[%d] = {0};", nargs - from > 0 ? nargs - from : 1);
	for (int i = from; i < nargs; i++)
		emit_line(e, "  d_[%d] = (__u64)%s;", i - from, vals[i]);
	emit_line(e, "  if (bpf_snprintf(%s, STP_STRLEN, stp_lit_%d, d_, %d) < 0) %s[0] = 0; }", dst, lit,
		  8 * (nargs - from), dst);
	free(fmt);
}

/* Pack args[from..] and send/print them with format fmt_id. */
static void emit_print_record(Emitter *e, int fmt_id, Expr **args, int nargs, int from, char *sprintf_dst)
{
	char **vals = xcalloc((size_t)nargs + 1, sizeof *vals);
	char ***deferred = xcalloc((size_t)nargs + 1, sizeof *deferred);
	for (int i = from; i < nargs; i++) {
		if (e->target == T_BPF && !sprintf_dst && defer_is_printed(args[i]))
			deferred[i] = defer_eval(e, args[i]); /* staprun calls the function */
		else
			vals[i] = emit_expr(e, args[i]);
	}
	if (e->target == T_BPF) {
		if (sprintf_dst) {
			emit_bpf_sprintf(e, fmt_id, args, nargs, from, vals, sprintf_dst);
			free(vals);
			free(deferred);
			return;
		}
		emit_line(e, "{ unsigned char *r_ = stp_rec_begin(); if (r_) { uint32_t o_ = sizeof(struct stp_rec_hdr);");
		unsigned size = sizeof(struct stp_rec_hdr);
		for (int i = from; i < nargs; i++) {
			size += args[i]->type == TY_STRING ? (unsigned)e->s->limits.maxstringlen + 4 : 8;
			if (defer_is_printed(args[i])) {
				/* staprun formats it (defer.c) */
				emit_defer_field(e, args[i], deferred[i]);
				size += defer_field_max(e->s, args[i]);
			} else if (args[i]->type == TY_STRING)
				emit_line(e, "  o_ = stp_rec_str(r_, o_, %s, 0);", vals[i]);
			else
				emit_line(e, "  o_ = stp_rec_long(r_, o_, %s);", vals[i]);
		}
		emit_line(e, "  stp_rec_send(K, r_, STP_REC_PRINTF, %d, o_); } }", fmt_id);
		if (size > e->rec_max)
			e->rec_max = size;
	} else {
		emit_line(e, "{ unsigned char r_[%d]; uint32_t o_ = 0;", (nargs - from) * 8 + (nargs - from) * 2 + 8 +
									 (nargs - from) * (int)e->s->limits.maxstringlen);
		for (int i = from; i < nargs; i++) {
			if (args[i]->type == TY_STRING)
				emit_line(e, "  o_ = stp_rec_str(r_, o_, %s, 0);", vals[i]);
			else
				emit_line(e, "  o_ = stp_rec_long(r_, o_, %s);", vals[i]);
		}
		if (sprintf_dst)
			emit_line(e, "  stp_rt_sprintf(K, %s, STP_STRLEN, %d, r_, o_); }", sprintf_dst, fmt_id);
		else
			emit_line(e, "  stp_rt_printf(K, %d, r_, o_); }", fmt_id);
	}
	free(vals);
	free(deferred);
}

static int synth_format(Emitter *e, Expr **args, int nargs, const char *sep, const char *end)
{
	StrBuf b = {0};
	for (int i = 0; i < nargs; i++) {
		if (i && sep)
			append_literal_fmt(&b, sep);
		sb_puts(&b, print_conv(args[i]));
	}
	if (end)
		sb_puts(&b, end);
	char *fmt = sb_steal(&b);
	int id = emit_format(e, fmt);
	free(fmt);
	return id;
}

/* The kernel sums the CPUs' copies straight into a record that staprun
 * prints with the host's histogram code. */
static void emit_hist_print_bpf(Emitter *e, Expr *h)
{
	Var *v = NULL;
	char *key = emit_stat_key(e, h->args[0], &v);
	if (!v) {
		emit_fail(e, h->loc, "@%s needs a statistics variable", h->op);
		return;
	}
	emit_line(e, "{ unsigned char *r_ = stp_rec_begin(); if (r_) {");
	emit_line(e, "  struct stp_statv_%s *hv_ = (void *)(r_ + sizeof(struct stp_rec_hdr));", v->name);
	emit_line(e, "  stp_stat_sum_g_%s(%s, hv_);", v->name, key);
	emit_line(e, "  stp_rec_send(K, r_, STP_REC_HIST, %d, sizeof(struct stp_rec_hdr) + sizeof *hv_); } }",
		  global_id(e->p, v));
}

static void emit_hist_print(Emitter *e, Expr *h)
{
	Var *v = NULL;
	if (e->target == T_BPF) {
		emit_hist_print_bpf(e, h);
		return;
	}
	char *st = emit_stat_read(e, h->args[0], &v);
	if (!st) {
		emit_fail(e, h->loc, "@%s needs a statistics variable", h->op);
		return;
	}
	emit_line(e, "stp_rt_hist_print(K, %d, &%s.s);", global_id(e->p, v), st);
}

char *emit_print_family(Emitter *e, Expr *x)
{
	const char *n = x->name;
	bool ln = !strcmp(n, "println") || !strcmp(n, "printdln");
	if (!strcmp(n, "printf") || !strcmp(n, "sprintf")) {
		Expr *f = x->args[0];
		if (f->kind != E_STR) {
			emit_fail(e, f->loc, "the format of %s must be a literal string", n);
			return xstrdup("0");
		}
		int id = emit_format(e, f->str);
		if (n[0] == 's') {
			char *s = emit_new_str(e);
			emit_print_record(e, id, x->args, x->nargs, 1, s);
			return s;
		}
		emit_print_record(e, id, x->args, x->nargs, 1, NULL);
		return xstrdup("0");
	}
	if (!strcmp(n, "print") && x->nargs == 1 && x->args[0]->kind == E_HIST) {
		emit_hist_print(e, x->args[0]);
		return xstrdup("0");
	}
	if (!strcmp(n, "sprint")) {
		char *s = emit_new_str(e);
		emit_print_record(e, synth_format(e, x->args, x->nargs, NULL, NULL), x->args, x->nargs, 0, s);
		return s;
	}
	if (!strcmp(n, "printd") || !strcmp(n, "printdln")) {
		Expr *d = x->args[0];
		if (d->kind != E_STR) {
			emit_fail(e, d->loc, "the delimiter of %s must be a literal string", n);
			return xstrdup("0");
		}
		int id = synth_format(e, x->args + 1, x->nargs - 1, d->str, ln ? "\n" : NULL);
		emit_print_record(e, id, x->args, x->nargs, 1, NULL);
		return xstrdup("0");
	}
	/* print, println */
	int id = synth_format(e, x->args, x->nargs, NULL, ln ? "\n" : NULL);
	emit_print_record(e, id, x->args, x->nargs, 0, NULL);
	return xstrdup("0");
}

