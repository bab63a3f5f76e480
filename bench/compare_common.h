/*
 * compare_common.h - what the peer drivers of bench/compare (compare_redis.c, compare_nats.c,
 * compare_disk.c) share: a clock, a latency sample store with percentiles, the record payload,
 * number parsing, and the one JSON object each run prints. The shape of that object is the one
 * `rill bench produce|consume --json` prints, so that bench/compare reads every system alike:
 *   {"workload", "records", "bytes", "seconds", "records_per_sec", "mb_per_sec",
 *    "latency_us": {"p50", "p90", "p99", "p999", "max"}}
 * plus "system" and "settings" (what the run was configured with). MB = 10^6 bytes of record
 * values; framing added by a system is not counted.
 */
#ifndef RILL_BENCH_COMPARE_COMMON_H
#define RILL_BENCH_COMPARE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMP_RECORDS_MAX  100000000ull /* bounds every per-record array (400 MB of samples) */
#define CMP_SIZE_MAX     (1024 * 1024)
#define CMP_SETTINGS_MAX 256

/* Latency samples in microseconds (rounded up), kept whole and sorted at the end. */
struct cmp_lat {
    uint32_t *us;   /* samples, cap entries */
    uint64_t count; /* samples taken, <= cap */
    uint64_t cap;   /* room allocated */
};

/* The figures of one run, filled by a driver and printed by cmp_report. */
struct cmp_result {
    const char *system;              /* "redis", "nats", "disk" */
    const char *workload;            /* "produce" or "consume" */
    uint64_t records;                /* records written or read */
    uint64_t bytes;                  /* record value bytes written or read */
    double seconds;                  /* wall time of the timed phase */
    char settings[CMP_SETTINGS_MAX]; /* free text: what was configured */
};

/* Monotonic clock in nanoseconds. */
uint64_t cmp_now_ns(void);

/* Allocates room for cap samples; false if cap is 0, too large, or memory is short. */
bool cmp_lat_init(struct cmp_lat *lat, uint64_t cap);
/* Adds one sample of ns nanoseconds; silently ignored once full. */
void cmp_lat_add(struct cmp_lat *lat, uint64_t ns);
void cmp_lat_free(struct cmp_lat *lat);

/*
 * Fixed-rate runs (the latency modes): record index of a run at rate records/s that began at
 * start is due at cmp_due_ns(); cmp_sleep_until() waits for a monotonic time. A run that falls
 * too far behind stops at a deadline; cmp_lat_add_waiting() then counts each record of
 * [first, end) that never completed as having waited from its due time until now, so the
 * percentiles stay lower bounds instead of leaving the slowest records out.
 */
uint64_t cmp_due_ns(uint64_t start, uint64_t index, uint64_t rate);
void cmp_sleep_until(uint64_t ns);
void cmp_lat_add_waiting(
    struct cmp_lat *lat, uint64_t start, uint64_t first, uint64_t end, uint64_t rate, uint64_t now);

/* Fills buf[0..size) with printable bytes that vary with seed. */
void cmp_payload(char *buf, size_t size, uint64_t seed);

/*
 * Parses a whole decimal number in [min, max], with an optional suffix k or m (10^3, 10^6).
 * Prints "NAME: ..." to stderr and returns false on anything else.
 */
bool cmp_parse_u64(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Prints the run as one JSON object (json) or a short human line, sorting lat's samples. */
void cmp_report(const struct cmp_result *res, struct cmp_lat *lat, bool json);

#endif
