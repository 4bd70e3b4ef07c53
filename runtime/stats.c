/* stats.c - statistics aggregates (@count @sum @min @max @avg @variance)
 * and the ASCII histograms stap prints for @hist_log and @hist_linear.
 *
 * Histogram layout (taken from stap's documented sample output):
 *
 *   value |-------------------------------------------------- count
 *       0 |@@                                                  2
 *       1 |@                                                   1
 *
 * The label column is as wide as the widest printed label, at least
 * "value"; the bar field is 50 wide; the count column is as wide as the
 * largest count.  Bars are count / ceil(max / 50) '@'s.  Rows start two
 * buckets before the first non-empty one and end two after the last (a log
 * histogram never crosses zero into an empty sign), runs of more than four
 * empty buckets inside are shown as their first two rows, a "~" line and
 * their last two, and a blank line ends the histogram.
 */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#define HIST_ELIDE_RUN 4 /* longer runs of empty rows are elided */
#define HIST_MARGIN 2    /* empty rows kept around data */

int stp_stat_nbuckets(const struct stp_global_desc *g)
{
	if (g->hist_kind == STP_HIST_LOG)
		return STP_HIST_LOG_BUCKETS;
	if (g->hist_kind == STP_HIST_LINEAR && g->hist_step > 0 && g->hist_stop >= g->hist_start)
		return (int)((g->hist_stop - g->hist_start) / g->hist_step + 1 + 2);
	return 0;
}

size_t stp_stat_size(const struct stp_global_desc *g)
{
	return sizeof(struct stp_stat) + (size_t)stp_stat_nbuckets(g) * sizeof(stp_i64);
}

static int log_index(int64_t v)
{
	if (v == 0)
		return 64;
	uint64_t mag = v > 0 ? (uint64_t)v : 0 - (uint64_t)v;
	int bit = 63 - __builtin_clzll(mag);
	return v > 0 ? 65 + bit : 63 - bit;
}

static int linear_index(const struct stp_global_desc *g, int64_t v)
{
	int n = stp_stat_nbuckets(g) - 2;
	if (v < g->hist_start)
		return 0;
	uint64_t i = ((uint64_t)v - (uint64_t)g->hist_start) / (uint64_t)g->hist_step;
	return i >= (uint64_t)n ? n + 1 : (int)i + 1;
}

void stp_stat_add_value(const struct stp_global_desc *g, struct stp_stat *s, int64_t v)
{
	if (s->count == 0 || v < s->min)
		s->min = v;
	if (s->count == 0 || v > s->max)
		s->max = v;
	s->count++;
	s->sum = (int64_t)((uint64_t)s->sum + (uint64_t)v);
	s->sumsq = (int64_t)((uint64_t)s->sumsq + (uint64_t)v * (uint64_t)v);
	if (g->hist_kind == STP_HIST_LOG)
		s->buckets[log_index(v)]++;
	else if (g->hist_kind == STP_HIST_LINEAR && stp_stat_nbuckets(g))
		s->buckets[linear_index(g, v)]++;
}

void stp_stat_merge(const struct stp_global_desc *g, struct stp_stat *dst, const struct stp_stat *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum = (int64_t)((uint64_t)dst->sum + (uint64_t)src->sum);
	dst->sumsq = (int64_t)((uint64_t)dst->sumsq + (uint64_t)src->sumsq);
	int nb = stp_stat_nbuckets(g);
	for (int i = 0; i < nb; i++)
		dst->buckets[i] += src->buckets[i];
}

/* Sample variance with integer division, from the running sums:
 *   (n * sumsq - sum^2) / (n * (n - 1)),  0 when n < 2.
 * Computed in 128 bits so that it overflows only where sumsq does. */
static int64_t variance(const struct stp_stat *s)
{
	if (s->count < 2)
		return 0;
	__int128 n = s->count;
	__int128 num = n * (__int128)s->sumsq - (__int128)s->sum * s->sum;
	return (int64_t)(num / (n * (n - 1)));
}

int64_t stp_stat_value(const struct stp_stat *s, int op)
{
	switch (op) {
	case STP_STAT_COUNT: return s->count;
	case STP_STAT_SUM: return s->sum;
	case STP_STAT_MIN: return s->count ? s->min : 0;
	case STP_STAT_MAX: return s->count ? s->max : 0;
	case STP_STAT_AVG: return s->count ? s->sum / s->count : 0;
	case STP_STAT_VARIANCE: return variance(s);
	}
	return 0;
}

/* ------------------------------------------------------------ histograms */

struct hist_view {
	int nb;       /* buckets */
	int lo, hi;   /* rows printed, inclusive */
	int64_t max;  /* largest count */
};

static void bucket_label(const struct stp_global_desc *g, int i, int nb, char *buf, size_t size)
{
	if (g->hist_kind == STP_HIST_LOG) {
		int64_t v = 0;
		if (i > 64)
			v = (int64_t)((uint64_t)1 << (i - 65));
		else if (i < 64)
			v = i == 0 ? INT64_MIN : -((int64_t)1 << (63 - i));
		snprintf(buf, size, "%lld", (long long)v);
	} else if (i == 0) {
		snprintf(buf, size, "<%lld", (long long)g->hist_start);
	} else if (i == nb - 1) {
		snprintf(buf, size, ">%lld", (long long)g->hist_stop);
	} else {
		snprintf(buf, size, "%lld", (long long)(g->hist_start + (int64_t)(i - 1) * g->hist_step));
	}
}

/* Picks the rows to print; false when no bucket holds anything. */
static int hist_view(const struct stp_global_desc *g, const struct stp_stat *s, struct hist_view *v)
{
	int first = -1, last = -1;
	v->nb = stp_stat_nbuckets(g);
	v->max = 0;
	for (int i = 0; i < v->nb; i++) {
		if (!s->buckets[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (s->buckets[i] > v->max)
			v->max = s->buckets[i];
	}
	if (first < 0)
		return 0;
	int min_row = 0, max_row = v->nb - 1;
	if (g->hist_kind == STP_HIST_LOG) {
		if (first >= 64)
			min_row = 64; /* no negative rows without negative data */
		if (last <= 64)
			max_row = 64;
	} else {
		/* the out-of-range rows show only when they hold samples */
		if (first > 0)
			min_row = 1;
		if (last < v->nb - 1)
			max_row = v->nb - 2;
	}
	v->lo = first - HIST_MARGIN < min_row ? min_row : first - HIST_MARGIN;
	v->hi = last + HIST_MARGIN > max_row ? max_row : last + HIST_MARGIN;
	return 1;
}

static int digits(int64_t v)
{
	char buf[24];
	return snprintf(buf, sizeof(buf), "%lld", (long long)v);
}

static void hist_row(struct stp_buf *out, const char *label, int label_w, int64_t count, int64_t scale, int count_w)
{
	int bar = (int)(count / scale);
	stp_buf_printf(out, "%*s |", label_w, label);
	stp_buf_pad(out, '@', (size_t)bar);
	stp_buf_pad(out, ' ', (size_t)(STP_HIST_WIDTH - bar));
	stp_buf_printf(out, " %*lld\n", count_w, (long long)count);
}

/* Length of the run of empty buckets starting at i, within the view. */
static int empty_run(const struct stp_stat *s, int i, int hi)
{
	int n = 0;
	while (i + n <= hi && s->buckets[i + n] == 0)
		n++;
	return n;
}

void stp_hist_format(struct stp_buf *out, const struct stp_global_desc *g, const struct stp_stat *s)
{
	struct hist_view v;
	char label[32];
	int label_w = 5;

	if (!hist_view(g, s, &v)) {
		stp_buf_puts(out, "value |-------------------------------------------------- count\n\n");
		return;
	}
	for (int i = v.lo; i <= v.hi; i++) {
		bucket_label(g, i, v.nb, label, sizeof(label));
		int w = (int)strlen(label);
		if (w > label_w)
			label_w = w;
	}
	int64_t scale = (v.max + STP_HIST_WIDTH - 1) / STP_HIST_WIDTH;
	if (scale < 1)
		scale = 1;
	int count_w = digits(v.max);

	stp_buf_printf(out, "%*s |", label_w, "value");
	stp_buf_pad(out, '-', STP_HIST_WIDTH);
	stp_buf_puts(out, " count\n");
	for (int i = v.lo; i <= v.hi; i++) {
		int run = empty_run(s, i, v.hi);
		/* only runs between data are elided; the margins are short */
		if (run > HIST_ELIDE_RUN && i > v.lo && i + run <= v.hi) {
			for (int k = 0; k < 2; k++) {
				bucket_label(g, i + k, v.nb, label, sizeof(label));
				hist_row(out, label, label_w, 0, scale, count_w);
			}
			stp_buf_printf(out, "%*s ~\n", label_w, "");
			i += run - 2;
		}
		bucket_label(g, i, v.nb, label, sizeof(label));
		hist_row(out, label, label_w, s->buckets[i], scale, count_w);
	}
	stp_buf_putc(out, '\n');
}
