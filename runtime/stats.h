/* stats.h - statistics aggregates and histogram printing.
 *
 * A stats value is struct stp_stat followed by its histogram buckets
 * (stp_module.h).  In the kernel each CPU has its own copy; reading sums
 * them.  Bucket layouts:
 *   @hist_log:    STP_HIST_LOG_BUCKETS buckets, stp_hist_log_index();
 *   @hist_linear: N + 2 buckets with N = (stop - start) / step + 1:
 *                 [0] below start, [1..N] one step each, [N+1] above.
 */
#ifndef STP_STATS_H
#define STP_STATS_H

#include "format.h"
#include "stp_module.h"

enum { STP_HIST_NONE = 0, STP_HIST_LOG = 1, STP_HIST_LINEAR = 2 };

/* Bar width of a histogram row, as stap draws it. */
#define STP_HIST_WIDTH 50

/* Number of histogram buckets the global carries (0 without a histogram). */
int stp_stat_nbuckets(const struct stp_global_desc *g);
/* Bytes of one stats value: header and buckets. */
size_t stp_stat_size(const struct stp_global_desc *g);

/* Adds one value (what `s <<< v` does). */
void stp_stat_add_value(const struct stp_global_desc *g, struct stp_stat *s, int64_t v);
/* Adds aggregate src into dst (both of the global's size). */
void stp_stat_merge(const struct stp_global_desc *g, struct stp_stat *dst, const struct stp_stat *src);
/* @count @sum @min @max @avg @variance; 0 for an empty aggregate. */
int64_t stp_stat_value(const struct stp_stat *s, int op);

/* Prints the histogram the global declares, in stap's layout. */
void stp_hist_format(struct stp_buf *out, const struct stp_global_desc *g, const struct stp_stat *s);

#endif
