/*
 * test_bench_hist.c - the benchmark latency histogram: bucket boundaries, percentiles against
 * a sorted reference within the bucket precision, merging, exact count/min/max, and extremes
 * (0, 1, values past the covered range, empty histograms).
 */
#include "bench/bench_hist.h"

#include <math.h>

#include "tests/harness.h"

/* A bucket never spans more than 1/HALF of its values. */
#define PRECISION (1.0 / BENCH_HIST_HALF)

static struct bench_hist hist_a;
static struct bench_hist hist_b;

static int compare_u64(const void *left, const void *right)
{
    uint64_t a = *(const uint64_t *)left;
    uint64_t b = *(const uint64_t *)right;
    return a < b ? -1 : a > b;
}

/* The reference: the value of rank ceil(p/100 * n) in sorted. */
static uint64_t reference_percentile(const uint64_t *sorted, size_t count, double percentile)
{
    double wanted = ceil(percentile / 100.0 * (double)count);
    size_t rank = wanted < 1.0 ? 1 : (size_t)wanted;
    return sorted[rank - 1];
}

static void check_close(uint64_t got, uint64_t expected)
{
    T_ASSERT(got >= expected);
    T_ASSERT((double)(got - expected) <= (double)expected * PRECISION + 1.0);
}

static void t_empty(void)
{
    bench_hist_reset(&hist_a);
    T_ASSERT_EQ_INT(hist_a.count, 0);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 50), 0);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 100), 0);
    T_ASSERT(bench_hist_mean(&hist_a) == 0.0);
}

/* Every value maps into a bucket whose high end is >= it and within the precision. */
static void t_index_bounds(void)
{
    uint64_t state = T_SEED;
    uint32_t previous = 0;

    for (uint64_t value = 0; value < 100000; value++) {
        uint32_t index = bench_hist_index(value);
        T_ASSERT(index >= previous);
        T_ASSERT(index <= previous + 1);
        previous = index;
        T_ASSERT(bench_hist_bucket_high(index) >= value);
        T_ASSERT(index == 0 || bench_hist_bucket_high(index - 1) < value);
    }
    for (int round = 0; round < 100000; round++) {
        uint64_t value = t_rand(&state) >> (t_rand(&state) % 64);
        uint32_t index = bench_hist_index(value);
        T_ASSERT(index < BENCH_HIST_BUCKETS);
        if (value <= BENCH_HIST_VALUE_MAX) {
            check_close(bench_hist_bucket_high(index), value);
            T_ASSERT(index == 0 || bench_hist_bucket_high(index - 1) < value);
        }
    }
    T_ASSERT_EQ_INT(bench_hist_index(BENCH_HIST_VALUE_MAX), BENCH_HIST_BUCKETS - 1);
    T_ASSERT_EQ_INT(bench_hist_bucket_high(BENCH_HIST_BUCKETS - 1), BENCH_HIST_VALUE_MAX);
    T_ASSERT_EQ_INT(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
}

static void check_against_reference(const struct bench_hist *hist, uint64_t *values, size_t count)
{
    static const double percentiles[] = { 0.001, 1, 10, 50, 90, 99, 99.9, 99.99, 100 };

    qsort(values, count, sizeof(values[0]), compare_u64);
    T_ASSERT_EQ_INT(hist->count, count);
    T_ASSERT_EQ_INT(hist->min, values[0]);
    T_ASSERT_EQ_INT(hist->max, values[count - 1]);
    for (size_t index = 0; index < T_COUNT(percentiles); index++) {
        uint64_t expected = reference_percentile(values, count, percentiles[index]);
        check_close(bench_hist_percentile(hist, percentiles[index]), expected);
    }
    T_ASSERT_EQ_INT(bench_hist_percentile(hist, 100), values[count - 1]);
}

/* Latency-like data: mostly microseconds, a long tail up to seconds. */
static void t_percentiles_match_sorted_reference(void)
{
    size_t count = 200000;
    uint64_t *values = malloc(count * sizeof(values[0]));
    uint64_t state = T_SEED;

    T_ASSERT(values != NULL);
    bench_hist_reset(&hist_a);
    for (size_t index = 0; index < count; index++) {
        uint64_t base = 1000 + t_rand(&state) % 200000;
        if (t_rand(&state) % 1000 == 0) {
            base *= 1000 + t_rand(&state) % 5000;
        }
        values[index] = base;
        bench_hist_record(&hist_a, base);
    }
    check_against_reference(&hist_a, values, count);
    free(values);
}

static void t_merge_equals_single(void)
{
    size_t count = 50000;
    uint64_t *values = malloc(count * sizeof(values[0]));
    uint64_t state = T_SEED + 7;

    T_ASSERT(values != NULL);
    bench_hist_reset(&hist_a);
    bench_hist_reset(&hist_b);
    for (size_t index = 0; index < count; index++) {
        values[index] = t_rand(&state) % 10000000;
        bench_hist_record(index % 3 == 0 ? &hist_a : &hist_b, values[index]);
    }
    bench_hist_merge(&hist_a, &hist_b);
    check_against_reference(&hist_a, values, count);
    /* Merging an empty histogram changes nothing. */
    bench_hist_reset(&hist_b);
    uint64_t p99 = bench_hist_percentile(&hist_a, 99);
    bench_hist_merge(&hist_a, &hist_b);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 99), p99);
    T_ASSERT_EQ_INT(hist_a.count, count);
    free(values);
}

static void t_extremes(void)
{
    bench_hist_reset(&hist_a);
    bench_hist_record(&hist_a, 0);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 50), 0);
    T_ASSERT_EQ_INT(hist_a.min, 0);
    bench_hist_record(&hist_a, 1);
    bench_hist_record(&hist_a, UINT64_MAX);
    T_ASSERT_EQ_INT(hist_a.count, 3);
    T_ASSERT_EQ_INT(hist_a.max, UINT64_MAX);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 100), UINT64_MAX);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 34), 1);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 66), 1);
    /* Past the covered range a value is counted in the last bucket, clamped to max. */
    T_ASSERT(bench_hist_percentile(&hist_a, 67) >= BENCH_HIST_VALUE_MAX);
    /* One value: every percentile is that value exactly. */
    bench_hist_reset(&hist_a);
    bench_hist_record(&hist_a, 123456789);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 0.1), 123456789);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 50), 123456789);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 100), 123456789);
    T_ASSERT(bench_hist_mean(&hist_a) == 123456789.0);
}

/* Hours fit with their precision. */
static void t_hours(void)
{
    uint64_t hour_ns = UINT64_C(3600) * 1000000000;
    bench_hist_reset(&hist_a);
    for (int index = 0; index < 99; index++) {
        bench_hist_record(&hist_a, 1000);
    }
    bench_hist_record(&hist_a, 10 * hour_ns);
    check_close(bench_hist_percentile(&hist_a, 50), 1000);
    T_ASSERT_EQ_INT(bench_hist_percentile(&hist_a, 99.5), 10 * hour_ns);
    T_ASSERT(bench_hist_index(10 * hour_ns) < BENCH_HIST_BUCKETS - 1);
}

static const struct t_case cases[] = {
    T_CASE(t_empty),
    T_CASE(t_index_bounds),
    T_CASE(t_percentiles_match_sorted_reference),
    T_CASE(t_merge_equals_single),
    T_CASE(t_extremes),
    T_CASE(t_hours),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
