/*
 * bench_hist.c - the log-linear latency histogram of bench_hist.h.
 *
 * Bucket layout. Let S = BENCH_HIST_SUB_BUCKETS (256) and H = S / 2. A value v < S has bucket
 * v. A larger value has its highest set bit at k >= SUB_BITS; with shift = k - SUB_BITS + 1,
 * v >> shift lies in [H, S), and the bucket is S + (shift - 1) * H + ((v >> shift) - H). The
 * bucket thus covers 2^shift consecutive values, all >= H * 2^shift.
 */
#include "bench/bench_hist.h"

#include <math.h>
#include <string.h>

#include "common/assert.h"

void bench_hist_reset(struct bench_hist *hist)
{
    memset(hist, 0, sizeof(*hist));
    hist->min = UINT64_MAX;
}

uint32_t bench_hist_index(uint64_t value)
{
    if (value < BENCH_HIST_SUB_BUCKETS) {
        return (uint32_t)value;
    }
    if (value > BENCH_HIST_VALUE_MAX) {
        return BENCH_HIST_BUCKETS - 1;
    }
    uint32_t top_bit = 63u - (uint32_t)__builtin_clzll(value);
    uint32_t shift = top_bit - BENCH_HIST_SUB_BITS + 1;
    uint32_t index = BENCH_HIST_SUB_BUCKETS + (shift - 1) * BENCH_HIST_HALF +
                     (uint32_t)((value >> shift) - BENCH_HIST_HALF);
    RILL_DASSERT(index < BENCH_HIST_BUCKETS);
    return index;
}

uint64_t bench_hist_bucket_high(uint32_t index)
{
    RILL_ASSERT(index < BENCH_HIST_BUCKETS);
    if (index < BENCH_HIST_SUB_BUCKETS) {
        return index;
    }
    uint32_t above = index - BENCH_HIST_SUB_BUCKETS;
    uint32_t shift = above / BENCH_HIST_HALF + 1;
    uint64_t sub = (uint64_t)(above % BENCH_HIST_HALF) + BENCH_HIST_HALF;
    return ((sub + 1) << shift) - 1;
}

void bench_hist_record(struct bench_hist *hist, uint64_t value)
{
    hist->buckets[bench_hist_index(value)]++;
    hist->count++;
    hist->sum += (double)value;
    if (value < hist->min) {
        hist->min = value;
    }
    if (value > hist->max) {
        hist->max = value;
    }
}

void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
    RILL_ASSERT(into != from);
    if (from->count == 0) {
        return;
    }
    for (uint32_t index = 0; index < BENCH_HIST_BUCKETS; index++) {
        into->buckets[index] += from->buckets[index];
    }
    into->count += from->count;
    into->sum += from->sum;
    if (from->min < into->min) {
        into->min = from->min;
    }
    if (from->max > into->max) {
        into->max = from->max;
    }
}

uint64_t bench_hist_percentile(const struct bench_hist *hist, double percentile)
{
    if (hist->count == 0) {
        return 0;
    }
    if (percentile >= 100.0) {
        return hist->max;
    }
    double wanted = ceil(percentile / 100.0 * (double)hist->count);
    uint64_t rank = wanted < 1.0 ? 1 : (uint64_t)wanted;
    uint64_t seen = 0;

    for (uint32_t index = 0; index < BENCH_HIST_BUCKETS; index++) {
        seen += hist->buckets[index];
        if (seen >= rank) {
            uint64_t high = bench_hist_bucket_high(index);
            if (high > hist->max) {
                return hist->max;
            }
            return high < hist->min ? hist->min : high;
        }
    }
    RILL_ASSERT(seen == hist->count);
    return hist->max;
}

double bench_hist_mean(const struct bench_hist *hist)
{
    return hist->count == 0 ? 0.0 : hist->sum / (double)hist->count;
}
