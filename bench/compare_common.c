/*
 * compare_common.c - clock, latency percentiles, payload, number parsing and the JSON report
 * shared by the peer drivers of bench/compare (see compare_common.h).
 */
#include "bench/compare_common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t cmp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool cmp_lat_init(struct cmp_lat *lat, uint64_t cap)
{
    lat->us = NULL;
    lat->count = 0;
    lat->cap = 0;
    if (cap == 0 || cap > CMP_RECORDS_MAX) {
        return false;
    }
    lat->us = malloc((size_t)cap * sizeof(*lat->us));
    if (lat->us == NULL) {
        return false;
    }
    lat->cap = cap;
    return true;
}

void cmp_lat_add(struct cmp_lat *lat, uint64_t ns)
{
    if (lat->count >= lat->cap) {
        return;
    }
    uint64_t us = (ns + 999) / 1000;
    lat->us[lat->count++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void cmp_lat_free(struct cmp_lat *lat)
{
    free(lat->us);
    lat->us = NULL;
    lat->count = 0;
    lat->cap = 0;
}

uint64_t cmp_due_ns(uint64_t start, uint64_t index, uint64_t rate)
{
    return start + (uint64_t)((double)index * 1e9 / (double)rate);
}

void cmp_sleep_until(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
                           .tv_nsec = (long)(ns % 1000000000u) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

void cmp_lat_add_waiting(
    struct cmp_lat *lat, uint64_t start, uint64_t first, uint64_t end, uint64_t rate, uint64_t now)
{
    for (uint64_t i = first; i < end; i++) {
        uint64_t due = cmp_due_ns(start, i, rate);
        cmp_lat_add(lat, now > due ? now - due : 0);
    }
}

void cmp_payload(char *buf, size_t size, uint64_t seed)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = alphabet[x % (sizeof(alphabet) - 1)];
    }
}

bool cmp_parse_u64(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t value = 0;
    const char *p = text;
    if (*p < '0' || *p > '9') {
        fprintf(stderr, "%s: '%s' is not a number\n", name, text);
        return false;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (value > (UINT64_MAX - 9) / 10) {
            fprintf(stderr, "%s: '%s' is too large\n", name, text);
            return false;
        }
        value = value * 10 + (uint64_t)(*p - '0');
    }
    uint64_t scale = 1;
    if (*p == 'k' || *p == 'K') {
        scale = 1000;
        p++;
    } else if (*p == 'm' || *p == 'M') {
        scale = 1000000;
        p++;
    }
    if (*p != '\0') {
        fprintf(stderr, "%s: '%s' is not a number\n", name, text);
        return false;
    }
    if (value > UINT64_MAX / scale || value * scale < min || value * scale > max) {
        fprintf(stderr, "%s: '%s' is outside [%" PRIu64 ", %" PRIu64 "]\n", name, text, min, max);
        return false;
    }
    *out = value * scale;
    return true;
}

static int cmp_u32_order(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples; 0 when there are none. */
static uint32_t cmp_percentile(const struct cmp_lat *lat, double q)
{
    if (lat->count == 0) {
        return 0;
    }
    uint64_t rank = (uint64_t)(q * (double)lat->count + 0.999999);
    if (rank == 0) {
        rank = 1;
    }
    if (rank > lat->count) {
        rank = lat->count;
    }
    return lat->us[rank - 1];
}

/* Writes text as a JSON string body (quotes and control characters escaped). */
static void cmp_json_string(const char *text)
{
    putchar('"');
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if ((unsigned char)*p < 0x20) {
            printf("\\u%04x", (unsigned)(unsigned char)*p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

void cmp_report(const struct cmp_result *res, struct cmp_lat *lat, bool json)
{
    if (lat->count > 1) {
        qsort(lat->us, (size_t)lat->count, sizeof(*lat->us), cmp_u32_order);
    }
    double secs = res->seconds > 0 ? res->seconds : 1e-9;
    double rps = (double)res->records / secs;
    double mbps = (double)res->bytes / secs / 1e6;
    uint32_t p50 = cmp_percentile(lat, 0.50);
    uint32_t p90 = cmp_percentile(lat, 0.90);
    uint32_t p99 = cmp_percentile(lat, 0.99);
    uint32_t p999 = cmp_percentile(lat, 0.999);
    uint32_t max = lat->count ? lat->us[lat->count - 1] : 0;
    if (!json) {
        printf("%s %s: %" PRIu64 " records, %" PRIu64 " bytes in %.3f s: %.0f records/s, "
               "%.1f MB/s; latency us p50 %u p99 %u max %u (%s)\n",
               res->system, res->workload, res->records, res->bytes, res->seconds, rps, mbps, p50,
               p99, max, res->settings);
        return;
    }
    printf("{\"system\": ");
    cmp_json_string(res->system);
    printf(", \"workload\": ");
    cmp_json_string(res->workload);
    printf(", \"records\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"seconds\": %.6f"
           ", \"records_per_sec\": %.1f, \"mb_per_sec\": %.3f"
           ", \"latency_us\": {\"p50\": %u, \"p90\": %u, \"p99\": %u, \"p999\": %u, \"max\": %u}"
           ", \"settings\": ",
           res->records, res->bytes, res->seconds, rps, mbps, p50, p90, p99, p999, max);
    cmp_json_string(res->settings);
    printf("}\n");
    fflush(stdout);
}
