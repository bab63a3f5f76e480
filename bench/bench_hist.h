/*
 * bench_hist.h - a log-linear latency histogram (HDR style) for the client benchmarks.
 *
 * Values are nanoseconds from 0 up to BENCH_HIST_VALUE_MAX (about 78 hours); larger values are
 * counted in the last bucket, while min, max, count and the sum stay exact. Values below
 * BENCH_HIST_SUB_BUCKETS have a bucket each. Above that, every power-of-two range [2^k,
 * 2^(k+1)) is cut into BENCH_HIST_SUB_BUCKETS / 2 equal buckets, so a bucket is never wider
 * than 1/128 of the values it holds: a percentile is exact to within 0.8 %.
 *
 * Memory is fixed (a struct of about 42 KiB, no allocation); recording is a few instructions.
 * Histograms of different threads merge by adding their counts. Not thread-safe: each thread
 * records into its own and merges after joining.
 */
#ifndef RILL_BENCH_BENCH_HIST_H
#define RILL_BENCH_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS    8
#define BENCH_HIST_SUB_BUCKETS (1u << BENCH_HIST_SUB_BITS) /* 256 */
#define BENCH_HIST_HALF        (BENCH_HIST_SUB_BUCKETS / 2)
/* Highest power of two covered: values below 2^48 ns (78 h) keep their precision. */
#define BENCH_HIST_TOP_BIT   48
#define BENCH_HIST_VALUE_MAX ((UINT64_C(1) << BENCH_HIST_TOP_BIT) - 1)
/* Linear buckets below SUB_BUCKETS, then HALF per power of two from SUB_BITS to TOP_BIT - 1. */
#define BENCH_HIST_BUCKETS \
    (BENCH_HIST_SUB_BUCKETS + (BENCH_HIST_TOP_BIT - BENCH_HIST_SUB_BITS) * BENCH_HIST_HALF)

struct bench_hist {
    uint64_t count;                       /* values recorded */
    uint64_t min;                         /* exact smallest value; UINT64_MAX when empty */
    uint64_t max;                         /* exact largest value; 0 when empty */
    double sum;                           /* of all values, for the mean */
    uint64_t buckets[BENCH_HIST_BUCKETS]; /* counts per bucket, see bench_hist_index */
};

/* Empties hist. */
void bench_hist_reset(struct bench_hist *hist);

/* The bucket index of value (values above BENCH_HIST_VALUE_MAX land in the last bucket). */
uint32_t bench_hist_index(uint64_t value);

/* The largest value that falls in bucket index. */
uint64_t bench_hist_bucket_high(uint32_t index);

/* Counts value once. */
void bench_hist_record(struct bench_hist *hist, uint64_t value);

/* Adds every count of from into into. */
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from);

/*
 * The value at percentile (0..100]: the highest value of the bucket holding the value of rank
 * ceil(percentile / 100 * count), clamped to [min, max]. 100 gives max exactly. 0 when empty.
 */
uint64_t bench_hist_percentile(const struct bench_hist *hist, double percentile);

/* The mean, 0 when empty. */
double bench_hist_mean(const struct bench_hist *hist);

#endif
