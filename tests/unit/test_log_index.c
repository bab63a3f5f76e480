/*
 * test_log_index.c - sparse offset/time index: lookups at and between entries, truncation,
 * file image round trip and rejection of damaged images.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"
#include "log/index.h"

/* Entries every 10 offsets at positions 1000 * k, times 100 * k. */
static void index_fill(struct log_index *idx, uint32_t count)
{
    log_index_init(idx);
    for (uint32_t k = 1; k <= count; k++) {
        T_ASSERT_OK(log_index_add(idx, k * 10, k * 1000));
        T_ASSERT_OK(log_index_time_add(idx, (int64_t)k * 100, k * 10));
    }
}

static void t_lookup_at_and_between(void)
{
    struct log_index idx;
    index_fill(&idx, 100);
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 0), 0); /* before the first entry */
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 9), 0);
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 10), 1000); /* exactly at an entry */
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 11), 1000); /* between entries */
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 19), 1000);
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 20), 2000);
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 1000), 100000); /* last entry */
    T_ASSERT_EQ_INT(log_index_lookup(&idx, UINT32_MAX), 100000);
    for (uint32_t target = 0; target < 1100; target++) {
        uint32_t expect = target < 10 ? 0 : (target > 1000 ? 1000 : target / 10 * 10) * 100;
        T_ASSERT_EQ_INT(log_index_lookup(&idx, target), expect);
    }
    log_index_deinit(&idx);
}

static void t_empty_index(void)
{
    struct log_index idx;
    log_index_init(&idx);
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 5), 0);
    T_ASSERT_EQ_INT(log_index_time_lookup(&idx, 5), 0);
    log_index_deinit(&idx);
}

static void t_time_lookup(void)
{
    struct log_index idx;
    index_fill(&idx, 50);
    /* The answer is the last entry strictly below the target: scanning starts there. */
    T_ASSERT_EQ_INT(log_index_time_lookup(&idx, 50), 0);
    T_ASSERT_EQ_INT(log_index_time_lookup(&idx, 100), 0);
    T_ASSERT_EQ_INT(log_index_time_lookup(&idx, 101), 10);
    T_ASSERT_EQ_INT(log_index_time_lookup(&idx, 200), 10);
    T_ASSERT_EQ_INT(log_index_time_lookup(&idx, 250), 20);
    T_ASSERT_EQ_INT(log_index_time_lookup(&idx, 1000000), 500);
    /* Timestamps that do not grow add no entry. */
    uint32_t count = idx.time_count;
    T_ASSERT_OK(log_index_time_add(&idx, 10, 600));
    T_ASSERT_EQ_INT(idx.time_count, count);
    log_index_deinit(&idx);
}

static void t_truncate(void)
{
    struct log_index idx;
    index_fill(&idx, 10);
    log_index_truncate(&idx, 5500);
    T_ASSERT_EQ_INT(idx.entry_count, 5);
    T_ASSERT_EQ_INT(log_index_lookup(&idx, 90), 5000);
    T_ASSERT(idx.time_count <= 5);
    T_ASSERT_EQ_INT(idx.time_entries[idx.time_count - 1].offset_relative, 50);
    log_index_truncate(&idx, 5000); /* an entry at exactly the cut goes too */
    T_ASSERT_EQ_INT(idx.entry_count, 4);
    log_index_truncate(&idx, 0);
    T_ASSERT_EQ_INT(idx.entry_count, 0);
    T_ASSERT_EQ_INT(idx.time_count, 0);
    log_index_deinit(&idx);
}

static uint8_t *encode(const struct log_index *idx, uint32_t kind, size_t *out_bytes)
{
    struct log_index_summary summary = {
        .offset_base = 1000, .segment_bytes = 200000, .offset_next = 2000, .timestamp_max = 777
    };
    *out_bytes = log_index_file_bytes(idx, kind);
    uint8_t *buf = malloc(*out_bytes);
    T_ASSERT(buf != NULL);
    log_index_encode(idx, kind, &summary, buf);
    return buf;
}

static void t_file_round_trip(void)
{
    struct log_index idx, back;
    index_fill(&idx, 30);
    log_index_init(&back);
    for (uint32_t kind = LOG_INDEX_KIND_OFFSET; kind <= LOG_INDEX_KIND_TIME; kind++) {
        size_t bytes = 0;
        uint8_t *buf = encode(&idx, kind, &bytes);
        struct log_index_summary summary;
        T_ASSERT_OK(log_index_decode(&back, kind, 1000, buf, bytes, &summary));
        T_ASSERT_EQ_INT(summary.segment_bytes, 200000);
        T_ASSERT_EQ_INT(summary.offset_next, 2000);
        T_ASSERT_EQ_INT(summary.timestamp_max, 777);
        free(buf);
    }
    T_ASSERT_EQ_INT(back.entry_count, idx.entry_count);
    T_ASSERT_EQ_INT(back.time_count, idx.time_count);
    T_ASSERT_MEM_EQ(back.entries, idx.entries, idx.entry_count * sizeof(idx.entries[0]));
    for (uint32_t i = 0; i < idx.time_count; i++) {
        T_ASSERT_EQ_INT(back.time_entries[i].timestamp, idx.time_entries[i].timestamp);
        T_ASSERT_EQ_INT(back.time_entries[i].offset_relative, idx.time_entries[i].offset_relative);
    }
    log_index_deinit(&idx);
    log_index_deinit(&back);
}

static void t_damaged_images_rejected(void)
{
    struct log_index idx, back;
    index_fill(&idx, 20);
    log_index_init(&back);
    size_t bytes = 0;
    uint8_t *buf = encode(&idx, LOG_INDEX_KIND_OFFSET, &bytes);
    struct log_index_summary summary;
    /* Every single-byte change anywhere is caught (magic, header fields, checksum, entries). */
    for (size_t i = 0; i < bytes; i++) {
        buf[i] ^= 0x20;
        T_ASSERT(log_index_decode(&back, LOG_INDEX_KIND_OFFSET, 1000, buf, bytes, &summary) !=
                 RILL_OK);
        buf[i] ^= 0x20;
    }
    /* Every truncation is caught. */
    for (size_t cut = 0; cut < bytes; cut++) {
        T_ASSERT(log_index_decode(&back, LOG_INDEX_KIND_OFFSET, 1000, buf, cut, &summary) !=
                 RILL_OK);
    }
    /* Wrong kind and wrong base offset. */
    T_ASSERT(log_index_decode(&back, LOG_INDEX_KIND_TIME, 1000, buf, bytes, &summary) != RILL_OK);
    T_ASSERT(log_index_decode(&back, LOG_INDEX_KIND_OFFSET, 999, buf, bytes, &summary) != RILL_OK);
    T_ASSERT_OK(log_index_decode(&back, LOG_INDEX_KIND_OFFSET, 1000, buf, bytes, &summary));
    free(buf);
    log_index_deinit(&idx);
    log_index_deinit(&back);
}

static const struct t_case cases[] = {
    T_CASE(t_lookup_at_and_between), T_CASE(t_empty_index),
    T_CASE(t_time_lookup),           T_CASE(t_truncate),
    T_CASE(t_file_round_trip),       T_CASE(t_damaged_images_rejected),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
