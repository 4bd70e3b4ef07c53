/* test_stats.c - aggregates and histogram text.  The expected histograms are
 * stap's own sample output from its documentation examples (deviceseeks,
 * sched-latency, bitesize-nd): the same counts must print the same bytes. */
#include "stats.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

static const int64_t deviceseeks_data[][2] = {
	{ -8589934592LL, 1 },
	{ -67108864LL, 1 },
	{ -8192LL, 47 },
	{ -4096LL, 115 },
	{ -2048LL, 31 },
	{ 0LL, 246 },
	{ 32LL, 1 },
	{ 64LL, 3 },
	{ 128LL, 1 },
	{ 256LL, 1 },
	{ 512LL, 8 },
	{ 1024LL, 7 },
	{ 2048LL, 102 },
	{ 4096LL, 102 },
	{ 8192LL, 37 },
	{ 16384LL, 3 },
	{ 67108864LL, 2 },
	{ 8589934592LL, 1 },
};
static const char deviceseeks_text[] =
	"       value |-------------------------------------------------- count\n"
	"-34359738368 |                                                     0\n"
	"-17179869184 |                                                     0\n"
	" -8589934592 |                                                     1\n"
	" -4294967296 |                                                     0\n"
	" -2147483648 |                                                     0\n"
	"             ~\n"
	"  -268435456 |                                                     0\n"
	"  -134217728 |                                                     0\n"
	"   -67108864 |                                                     1\n"
	"   -33554432 |                                                     0\n"
	"   -16777216 |                                                     0\n"
	"             ~\n"
	"      -32768 |                                                     0\n"
	"      -16384 |                                                     0\n"
	"       -8192 |@@@@@@@@@                                           47\n"
	"       -4096 |@@@@@@@@@@@@@@@@@@@@@@@                            115\n"
	"       -2048 |@@@@@@                                              31\n"
	"       -1024 |                                                     0\n"
	"        -512 |                                                     0\n"
	"             ~\n"
	"          -2 |                                                     0\n"
	"          -1 |                                                     0\n"
	"           0 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@  246\n"
	"           1 |                                                     0\n"
	"           2 |                                                     0\n"
	"             ~\n"
	"           8 |                                                     0\n"
	"          16 |                                                     0\n"
	"          32 |                                                     1\n"
	"          64 |                                                     3\n"
	"         128 |                                                     1\n"
	"         256 |                                                     1\n"
	"         512 |@                                                    8\n"
	"        1024 |@                                                    7\n"
	"        2048 |@@@@@@@@@@@@@@@@@@@@                               102\n"
	"        4096 |@@@@@@@@@@@@@@@@@@@@                               102\n"
	"        8192 |@@@@@@@                                             37\n"
	"       16384 |                                                     3\n"
	"       32768 |                                                     0\n"
	"       65536 |                                                     0\n"
	"             ~\n"
	"    16777216 |                                                     0\n"
	"    33554432 |                                                     0\n"
	"    67108864 |                                                     2\n"
	"   134217728 |                                                     0\n"
	"   268435456 |                                                     0\n"
	"             ~\n"
	"  2147483648 |                                                     0\n"
	"  4294967296 |                                                     0\n"
	"  8589934592 |                                                     1\n"
	" 17179869184 |                                                     0\n"
	" 34359738368 |                                                     0\n"
	"\n";
static const int64_t sched_data[][2] = {
	{ 1LL, 9 },
	{ 2LL, 46 },
	{ 4LL, 40 },
	{ 8LL, 30 },
	{ 16LL, 2 },
};
static const char sched_text[] =
	"value |-------------------------------------------------- count\n"
	"    0 |                                                    0\n"
	"    1 |@@@@@@@@@                                           9\n"
	"    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@     46\n"
	"    4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           40\n"
	"    8 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                     30\n"
	"   16 |@@                                                  2\n"
	"   32 |                                                    0\n"
	"   64 |                                                    0\n"
	"\n";
static const int64_t bitesize_data[][2] = {
	{ 4096LL, 1645 },
	{ 8192LL, 836 },
	{ 16384LL, 1394 },
	{ 32768LL, 532 },
	{ 65536LL, 180 },
	{ 131072LL, 219 },
};
static const char bitesize_text[] =
	" value |-------------------------------------------------- count\n"
	"  1024 |                                                      0\n"
	"  2048 |                                                      0\n"
	"  4096 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@  1645\n"
	"  8192 |@@@@@@@@@@@@@@@@@@@@@@@@@                           836\n"
	" 16384 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@         1394\n"
	" 32768 |@@@@@@@@@@@@@@@@                                    532\n"
	" 65536 |@@@@@                                               180\n"
	"131072 |@@@@@@                                              219\n"
	"262144 |                                                      0\n"
	"524288 |                                                      0\n"
	"\n";

static struct stp_global_desc log_global = { .name = "h", .type = STP_T_STATS, .hist_kind = STP_HIST_LOG };

static const char *hist_of(const struct stp_global_desc *g, const int64_t (*data)[2], size_t n)
{
	static struct stp_buf out;
	struct stp_stat *s = calloc(1, stp_stat_size(g));
	for (size_t i = 0; i < n; i++)
		for (int64_t k = 0; k < data[i][1]; k++)
			stp_stat_add_value(g, s, data[i][0]);
	stp_buf_reset(&out);
	stp_hist_format(&out, g, s);
	free(s);
	return stp_buf_cstr(&out);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

TEST(hist_log_sched_latency)
{
	CHECK_STR(hist_of(&log_global, sched_data, N(sched_data)), sched_text);
}

TEST(hist_log_scaled_bars)
{
	CHECK_STR(hist_of(&log_global, bitesize_data, N(bitesize_data)), bitesize_text);
}

TEST(hist_log_negative_and_elided)
{
	CHECK_STR(hist_of(&log_global, deviceseeks_data, N(deviceseeks_data)), deviceseeks_text);
}

TEST(hist_log_bucket_ranges)
{
	/* 3 and 2 share a bucket; 4 starts the next; -3 and -2 share one */
	static const int64_t d[][2] = { { 2, 1 }, { 3, 1 }, { 4, 1 }, { -2, 1 }, { -3, 1 } };
	CHECK_STR(hist_of(&log_global, d, N(d)),
		  "value |-------------------------------------------------- count\n"
		  "   -8 |                                                   0\n"
		  "   -4 |                                                   0\n"
		  "   -2 |@@                                                 2\n"
		  "   -1 |                                                   0\n"
		  "    0 |                                                   0\n"
		  "    1 |                                                   0\n"
		  "    2 |@@                                                 2\n"
		  "    4 |@                                                  1\n"
		  "    8 |                                                   0\n"
		  "   16 |                                                   0\n"
		  "\n");
	static const int64_t big[][2] = { { INT64_MAX, 1 }, { INT64_MIN, 1 } };
	const char *t = hist_of(&log_global, big, N(big));
	CHECK(strstr(t, "-9223372036854775808 |@") != NULL);
	CHECK(strstr(t, " 4611686018427387904 |@") != NULL);
}

TEST(hist_empty)
{
	CHECK_STR(hist_of(&log_global, NULL, 0), "value |-------------------------------------------------- count\n\n");
}

TEST(hist_linear_layout)
{
	struct stp_global_desc g = { .name = "l", .type = STP_T_STATS, .hist_kind = STP_HIST_LINEAR,
				     .hist_start = 0, .hist_stop = 100, .hist_step = 10 };
	CHECK(stp_stat_nbuckets(&g) == 13);
	static const int64_t d[][2] = { { 0, 3 }, { 9, 1 }, { 10, 2 }, { 35, 1 } };
	CHECK_STR(hist_of(&g, d, N(d)),
		  "value |-------------------------------------------------- count\n"
		  "    0 |@@@@                                               4\n"
		  "   10 |@@                                                 2\n"
		  "   20 |                                                   0\n"
		  "   30 |@                                                  1\n"
		  "   40 |                                                   0\n"
		  "   50 |                                                   0\n"
		  "\n");
	/* out-of-range samples get the "<start" and ">stop" rows */
	static const int64_t o[][2] = { { -5, 1 }, { 100, 1 }, { 110, 2 }, { 1000, 1 } };
	CHECK_STR(hist_of(&g, o, N(o)),
		  "value |-------------------------------------------------- count\n"
		  "   <0 |@                                                  1\n"
		  "    0 |                                                   0\n"
		  "   10 |                                                   0\n"
		  "      ~\n"
		  "   80 |                                                   0\n"
		  "   90 |                                                   0\n"
		  "  100 |@                                                  1\n"
		  " >100 |@@@                                                3\n"
		  "\n");
}

TEST(aggregates)
{
	struct stp_global_desc g = { .name = "s", .type = STP_T_STATS };
	struct stp_stat s = { 0 };
	CHECK(stp_stat_value(&s, STP_STAT_COUNT) == 0 && stp_stat_value(&s, STP_STAT_AVG) == 0);
	for (int v = 1; v <= 5; v++)
		stp_stat_add_value(&g, &s, v);
	CHECK(stp_stat_value(&s, STP_STAT_COUNT) == 5);
	CHECK(stp_stat_value(&s, STP_STAT_SUM) == 15);
	CHECK(stp_stat_value(&s, STP_STAT_MIN) == 1);
	CHECK(stp_stat_value(&s, STP_STAT_MAX) == 5);
	CHECK(stp_stat_value(&s, STP_STAT_AVG) == 3);
	CHECK(stp_stat_value(&s, STP_STAT_VARIANCE) == 2); /* 2.5, truncated */
	struct stp_stat t = { 0 };
	stp_stat_add_value(&g, &t, -7);
	stp_stat_add_value(&g, &t, 0);
	CHECK(stp_stat_value(&t, STP_STAT_AVG) == -3); /* truncates toward zero */
	CHECK(stp_stat_value(&t, STP_STAT_VARIANCE) == 24); /* 24.5 */
	stp_stat_merge(&g, &s, &t);
	CHECK(s.count == 7 && s.sum == 8 && s.min == -7 && s.max == 5);
	struct stp_stat one = { 0 };
	stp_stat_add_value(&g, &one, 42);
	CHECK(stp_stat_value(&one, STP_STAT_VARIANCE) == 0);
	CHECK(stp_stat_value(&one, STP_STAT_MIN) == 42 && stp_stat_value(&one, STP_STAT_MAX) == 42);
}

TEST(merge_histograms)
{
	struct stp_stat *a = calloc(1, stp_stat_size(&log_global));
	struct stp_stat *b = calloc(1, stp_stat_size(&log_global));
	stp_stat_add_value(&log_global, a, 1);
	stp_stat_add_value(&log_global, b, 1);
	stp_stat_add_value(&log_global, b, 1000);
	stp_stat_merge(&log_global, a, b);
	CHECK(a->count == 3 && a->buckets[65] == 2 && a->buckets[65 + 9] == 1);
	stp_stat_merge(&log_global, b, &(struct stp_stat){ 0 }); /* empty adds nothing */
	CHECK(b->count == 2 && b->min == 1);
	free(a);
	free(b);
}

int main(void)
{
	RUN(hist_log_sched_latency);
	RUN(hist_log_scaled_bars);
	RUN(hist_log_negative_and_elided);
	RUN(hist_log_bucket_ranges);
	RUN(hist_empty);
	RUN(hist_linear_layout);
	RUN(aggregates);
	RUN(merge_histograms);
	UNIT_EXIT();
}
