/* endprint.c - globals that the script wrote but never read are printed
 * when the session ends, in the layout stap's own synthesized end probes
 * use (stap -p2 shows them):
 *
 *   x=5                          long scalar
 *   s="text"                     string scalar, escaped like %#s
 *   a[1,"key"]=3                 array element; arrays by value, descending
 *   st @count=2 @min=1 @max=3 @sum=4 @avg=2    stats (empty: "@count=0x0")
 *   sa["k"] @count=...           stats array, by @count descending
 */
#include "rt.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

static void put_string_value(struct stp_buf *out, const char *s, size_t size)
{
	stp_buf_putc(out, '"');
	stp_escape_str(out, s, strnlen(s, size));
	stp_buf_putc(out, '"');
}

static void put_long(struct stp_buf *out, const void *p)
{
	int64_t v;
	memcpy(&v, p, 8);
	stp_buf_printf(out, "%lld", (long long)v);
}

static void put_stats(struct stp_buf *out, const struct stp_stat *st)
{
	if (st->count == 0) {
		stp_buf_puts(out, " @count=0x0");
		return;
	}
	stp_buf_printf(out, " @count=%lld @min=%lld @max=%lld @sum=%lld @avg=%lld",
		       (long long)st->count, (long long)st->min, (long long)st->max, (long long)st->sum,
		       (long long)stp_stat_value(st, STP_STAT_AVG));
}

static void put_value(struct stp_buf *out, const struct stp_global_desc *g, const void *v)
{
	if (g->type == STP_T_STATS) {
		put_stats(out, v);
		return;
	}
	stp_buf_putc(out, '=');
	if (g->type == STP_T_STRING)
		put_string_value(out, v, g->value_size);
	else
		put_long(out, v);
}

static void put_keys(struct stp_buf *out, const struct stp_global_desc *g, const char *key)
{
	stp_buf_putc(out, '[');
	for (int i = 0; i < g->nkeys; i++) {
		const struct stp_key_desc *k = &g->keys[i];
		if (i)
			stp_buf_putc(out, ',');
		if (k->type == STP_T_STRING)
			put_string_value(out, key + k->offset, k->size);
		else
			put_long(out, key + k->offset);
	}
	stp_buf_putc(out, ']');
}

static void print_array(struct stp_session *s, int gid, const struct stp_global_desc *g)
{
	struct stp_iter *it = stp_rt_iter_begin(&s->ctx, gid, 0, -1, -1, STP_STAT_COUNT);
	size_t vs = g->type == STP_T_STATS ? stp_stat_size(g) : g->value_size ? g->value_size : 8;
	if (g->value_size > vs)
		vs = g->value_size;
	char *key = calloc(1, g->key_size + 8);
	char *val = calloc(1, vs + 8);
	while (key && val && stp_rt_iter_next(it, key, val)) {
		stp_buf_puts(&s->out, g->name);
		put_keys(&s->out, g, key);
		put_value(&s->out, g, val);
		stp_buf_putc(&s->out, '\n');
	}
	free(key);
	free(val);
	stp_rt_iter_end(it);
}

static void print_scalar(struct stp_session *s, int gid, const struct stp_global_desc *g)
{
	stp_buf_puts(&s->out, g->name);
	if (g->type == STP_T_STATS) {
		struct stp_stat *st = calloc(1, stp_stat_size(g) + g->value_size);
		if (st) {
			stp_rt_stat_read(&s->ctx, gid, NULL, st);
			put_stats(&s->out, st);
		}
		free(st);
	} else {
		put_value(&s->out, g, (const char *)s->globals + g->offset);
	}
	stp_buf_putc(&s->out, '\n');
}

void rt_print_globals(struct stp_session *s)
{
	for (int i = 0; i < s->mod->nglobals; i++) {
		const struct stp_global_desc *g = &s->mod->globals[i];
		if (!g->print_at_end)
			continue;
		if (g->nkeys)
			print_array(s, i, g);
		else
			print_scalar(s, i, g);
	}
	rt_out_write(s, NULL, 0);
}
