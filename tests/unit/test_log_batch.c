/*
 * test_log_batch.c - RecordBatch v2: builder round trips (uncompressed and LZ4), validation
 * (every bit flip, every truncation, each header rule, strict mode), the iterator on malformed
 * records and hostile LZ4 frames, and the zigzag varints.
 *
 * With RILL_WRITE_CORPUS=dir set, t_write_corpus also writes the seed corpus of the
 * fuzz_batch target into dir (tests/fuzz/corpus/fuzz_batch holds the committed copy).
 */
#include "log/batch.h"

#include <errno.h>
#include <lz4frame.h>

#include "common/crc32c.h"
#include "common/limits.h"
#include "tests/harness.h"

#define NOW_MS 1700000000000LL

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static const rill_header_t headers_mixed[] = {
    { "trace", 5, "abc123", 6 },
    { "null-value", 10, NULL, 0 },
    { "", 0, "empty name", 10 },
    { NULL, 0, "", 0 }, /* NULL name of 0 bytes: the empty name; empty, non-null value */
};

/* Records covering each kind of field: null, empty and ordinary keys and values, headers. */
static const rill_record_t records_mixed[] = {
    { "key-0", 5, "value-0", 7, NULL, 0, NOW_MS },
    { NULL, 0, "null key", 8, NULL, 0, NOW_MS + 1 },
    { "", 0, "empty key", 9, NULL, 0, NOW_MS + 2 },
    { "tombstone", 9, NULL, 0, NULL, 0, NOW_MS + 3 },
    { NULL, 0, NULL, 0, NULL, 0, NOW_MS + 4 },
    { "k", 1, "", 0, headers_mixed, 4, NOW_MS - 5000 },
    { "headers", 7, "v", 1, headers_mixed, 2, NOW_MS + 10 },
};

static void put_be32_at(uint8_t *batch, size_t position, uint32_t value)
{
    log_put_be32(batch + position, value);
}

static void crc_refresh(uint8_t *batch, size_t batch_bytes)
{
    log_put_be32(batch + 17, log_batch_crc_compute(batch, batch_bytes));
}

/* A batch around raw record bytes, with a correct length and CRC; returns its size. */
static size_t raw_batch(uint8_t *out,
                        uint16_t attributes,
                        int32_t record_count,
                        int32_t last_offset_delta,
                        const void *records,
                        size_t records_bytes)
{
    memset(out, 0, LOG_BATCH_HEADER_BYTES);
    size_t total = LOG_BATCH_HEADER_BYTES + records_bytes;
    log_put_be64(out, 100);
    log_put_be32(out + 8, (uint32_t)(total - 12));
    out[16] = 2;
    log_put_be16(out + 21, attributes);
    log_put_be32(out + 23, (uint32_t)last_offset_delta);
    log_put_be64(out + 27, 1000);
    log_put_be64(out + 35, 2000);
    log_put_be64(out + 43, UINT64_MAX);
    log_put_be16(out + 51, 0xffff);
    log_put_be32(out + 53, UINT32_MAX);
    log_put_be32(out + 57, (uint32_t)record_count);
    if (records_bytes > 0) {
        memcpy(out + LOG_BATCH_HEADER_BYTES, records, records_bytes);
    }
    crc_refresh(out, total);
    return total;
}

static int64_t expected_timestamp(const rill_record_t *rec, int64_t now_ms)
{
    return rec->timestamp_ms >= 0 ? rec->timestamp_ms : now_ms;
}

static void expect_nullable(const uint8_t *got, int32_t got_bytes, const void *want, size_t bytes)
{
    if (want == NULL) {
        T_ASSERT(got == NULL);
        T_ASSERT_EQ_INT(got_bytes, -1);
        return;
    }
    T_ASSERT(got != NULL);
    T_ASSERT_EQ_INT(got_bytes, bytes);
    T_ASSERT_MEM_EQ(got, want, bytes);
}

static void expect_record(const struct log_record *got, const rill_record_t *want, int64_t offset)
{
    T_ASSERT_EQ_INT(got->offset, offset);
    expect_nullable(got->key, got->key_bytes, want->key, want->key_bytes);
    expect_nullable(got->value, got->value_bytes, want->value, want->value_bytes);
    T_ASSERT_EQ_INT(got->header_count, want->header_count);
    for (size_t h = 0; h < want->header_count; h++) {
        const uint8_t *name, *value;
        int32_t name_bytes, value_bytes;
        T_ASSERT_OK(log_record_header(got, (int32_t)h, &name, &name_bytes, &value, &value_bytes));
        T_ASSERT_EQ_INT(name_bytes, want->headers[h].name_bytes);
        T_ASSERT_MEM_EQ(name, want->headers[h].name != NULL ? want->headers[h].name : "",
                        want->headers[h].name_bytes);
        expect_nullable(value, value_bytes, want->headers[h].value, want->headers[h].value_bytes);
    }
}

/* Iterates batch and compares every record with want[] (added with now_ms). */
static void expect_records(const uint8_t *batch,
                           size_t batch_bytes,
                           const rill_record_t *want,
                           size_t count,
                           int64_t now_ms)
{
    struct log_record_iter it;
    log_record_iter_init(&it);
    T_ASSERT_OK(log_record_iter_start(&it, batch, batch_bytes));
    int64_t offset_base = it.hdr.offset_base;
    for (size_t i = 0; i < count; i++) {
        struct log_record rec;
        T_ASSERT_OK(log_record_iter_next(&it, &rec));
        expect_record(&rec, &want[i], offset_base + (int64_t)i);
        T_ASSERT_EQ_INT(rec.timestamp, expected_timestamp(&want[i], now_ms));
    }
    struct log_record rec;
    T_ASSERT_EQ_INT(log_record_iter_next(&it, &rec), RILL_ERR_END);
    T_ASSERT_EQ_INT(log_record_iter_next(&it, &rec), RILL_ERR_END);
    log_record_iter_deinit(&it);
}

/* Builds want[] with codec into bld (initialised here) and checks the header. */
static void build(struct log_batch_builder *bld,
                  int codec,
                  const rill_record_t *want,
                  size_t count,
                  uint8_t **out_batch,
                  size_t *out_batch_bytes)
{
    T_ASSERT_OK(log_batch_builder_init(bld, codec, RILL_BATCH_BYTES_MAX));
    for (size_t i = 0; i < count; i++) {
        T_ASSERT_OK(log_batch_builder_add(bld, &want[i], NOW_MS));
    }
    T_ASSERT_OK(log_batch_builder_finish(bld, out_batch, out_batch_bytes));
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(*out_batch, *out_batch_bytes, true, &hdr));
    T_ASSERT_EQ_INT(log_batch_codec(&hdr), codec);
    T_ASSERT_EQ_INT(hdr.record_count, count);
    T_ASSERT_EQ_INT(hdr.last_offset_delta, count - 1);
    T_ASSERT_EQ_INT(hdr.offset_base, 0);
    T_ASSERT_EQ_INT(log_batch_total_bytes(&hdr), *out_batch_bytes);
}

/* Walks every record and header; returns the number of records read before END or an error. */
static int32_t walk_all(const uint8_t *batch, size_t batch_bytes, rill_err *out_err)
{
    struct log_record_iter it;
    log_record_iter_init(&it);
    int32_t records = 0;
    rill_err err = log_record_iter_start(&it, batch, batch_bytes);
    while (err == RILL_OK) {
        struct log_record rec;
        err = log_record_iter_next(&it, &rec);
        if (err != RILL_OK) {
            break;
        }
        records++;
        for (int32_t h = 0; h < rec.header_count; h++) {
            const uint8_t *name, *value;
            int32_t name_bytes, value_bytes;
            rill_err header_err =
                log_record_header(&rec, h, &name, &name_bytes, &value, &value_bytes);
            T_ASSERT_EQ_INT(header_err, RILL_OK); /* the iterator already walked them */
        }
    }
    log_record_iter_deinit(&it);
    *out_err = err;
    return records;
}

/* ---------------------------------------------------------------------------------------- */
/* Varints                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void expect_varint_round_trip(int64_t value, size_t expected_bytes)
{
    uint8_t buf[16];
    size_t bytes = log_varint_encode(buf, value);
    T_ASSERT_EQ_INT(bytes, expected_bytes);
    T_ASSERT_EQ_INT(log_varint_size(value), expected_bytes);
    int64_t decoded = 0;
    T_ASSERT_EQ_INT(log_varint_decode(buf, bytes, &decoded), bytes);
    T_ASSERT(decoded == value);
    T_ASSERT_EQ_INT(log_varint_decode(buf, sizeof(buf), &decoded), bytes);
    for (size_t prefix = 0; prefix < bytes; prefix++) {
        T_ASSERT_EQ_INT(log_varint_decode(buf, prefix, &decoded), 0);
    }
}

static void t_varint_boundaries(void)
{
    expect_varint_round_trip(0, 1);
    expect_varint_round_trip(-1, 1);
    expect_varint_round_trip(1, 1);
    expect_varint_round_trip(63, 1);
    expect_varint_round_trip(-64, 1);
    expect_varint_round_trip(64, 2);
    expect_varint_round_trip(-65, 2);
    expect_varint_round_trip(INT32_MAX, 5);
    expect_varint_round_trip(INT32_MIN, 5);
    expect_varint_round_trip((int64_t)INT32_MAX + 1, 5);
    expect_varint_round_trip((int64_t)INT32_MIN - 1, 5);
    expect_varint_round_trip(INT64_MAX, 10);
    expect_varint_round_trip(INT64_MIN, 10);
    expect_varint_round_trip(INT64_MAX - 1, 10);
    expect_varint_round_trip(INT64_MIN + 1, 10);
    /* Zigzag as Kafka writes it: 1 -> 02, -1 -> 01, 300 -> d8 04. */
    uint8_t buf[10];
    T_ASSERT_EQ_INT(log_varint_encode(buf, 1), 1);
    T_ASSERT_EQ_INT(buf[0], 0x02);
    T_ASSERT_EQ_INT(log_varint_encode(buf, -1), 1);
    T_ASSERT_EQ_INT(buf[0], 0x01);
    T_ASSERT_EQ_INT(log_varint_encode(buf, 300), 2);
    T_ASSERT_EQ_INT(buf[0], 0xd8);
    T_ASSERT_EQ_INT(buf[1], 0x04);
}

static void t_varint_random_round_trip(void)
{
    uint64_t state = T_SEED;
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = t_rand(&state) >> (t_rand(&state) % 64);
        int64_t value;
        memcpy(&value, &bits, sizeof(value));
        if (i % 2 == 1) {
            value = -value - 1;
        }
        uint8_t buf[10];
        size_t bytes = log_varint_encode(buf, value);
        T_ASSERT_EQ_INT(bytes, log_varint_size(value));
        int64_t decoded;
        T_ASSERT_EQ_INT(log_varint_decode(buf, bytes, &decoded), bytes);
        T_ASSERT(decoded == value);
    }
}

static void t_varint_rejects_malformed(void)
{
    int64_t value = 42;
    uint8_t eleven[11];
    memset(eleven, 0x80, sizeof(eleven));
    eleven[10] = 0x00;
    T_ASSERT_EQ_INT(log_varint_decode(eleven, sizeof(eleven), &value), 0);
    /* Ten bytes whose last carries more than bit 63. */
    uint8_t ten[10];
    memset(ten, 0xff, sizeof(ten));
    ten[9] = 0x02;
    T_ASSERT_EQ_INT(log_varint_decode(ten, sizeof(ten), &value), 0);
    ten[9] = 0x81;
    T_ASSERT_EQ_INT(log_varint_decode(ten, sizeof(ten), &value), 0);
    ten[9] = 0x01; /* the largest legal one: zigzag UINT64_MAX = INT64_MIN */
    T_ASSERT_EQ_INT(log_varint_decode(ten, sizeof(ten), &value), 10);
    T_ASSERT(value == INT64_MIN);
    T_ASSERT_EQ_INT(log_varint_decode(NULL, 0, &value), 0);
    uint8_t continuation = 0x80;
    T_ASSERT_EQ_INT(log_varint_decode(&continuation, 1, &value), 0);
    T_ASSERT(value == INT64_MIN); /* untouched on failure */
}

/* ---------------------------------------------------------------------------------------- */
/* Round trips                                                                                */
/* ---------------------------------------------------------------------------------------- */

static void round_trip(int codec)
{
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, codec, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_header_decode(batch, batch_bytes, &hdr));
    T_ASSERT_EQ_INT(hdr.magic, 2);
    T_ASSERT_EQ_INT(hdr.leader_epoch, 0);
    T_ASSERT_EQ_INT(hdr.attributes, codec);
    T_ASSERT_EQ_INT(hdr.timestamp_first, NOW_MS);
    T_ASSERT_EQ_INT(hdr.timestamp_max, NOW_MS + 10);
    T_ASSERT_EQ_INT(hdr.producer_id, -1);
    T_ASSERT_EQ_INT(hdr.producer_epoch, -1);
    T_ASSERT_EQ_INT(hdr.sequence_base, -1);
    T_ASSERT_EQ_INT(hdr.crc, rill_crc32c(0, batch + 21, batch_bytes - 21));
    T_ASSERT_OK(log_batch_validate(batch, batch_bytes, false, &hdr));
    expect_records(batch, batch_bytes, records_mixed, T_COUNT(records_mixed), NOW_MS);
    log_batch_builder_deinit(&bld);
}

static void t_round_trip_none(void)
{
    round_trip(LOG_CODEC_NONE);
}

static void t_round_trip_lz4(void)
{
    round_trip(LOG_CODEC_LZ4);
}

/* The exact bytes of one small uncompressed batch, as Kafka lays it out. */
static void t_encoding_exact(void)
{
    const rill_header_t header = { "h", 1, NULL, 0 };
    const rill_record_t rec = { "k", 1, "vv", 2, &header, 1, 5 };
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, 4096));
    T_ASSERT_OK(log_batch_builder_add(&bld, &rec, NOW_MS));
    uint8_t *batch;
    size_t batch_bytes;
    T_ASSERT_OK(log_batch_builder_finish(&bld, &batch, &batch_bytes));
    /* length 12 (zigzag 24 = 0x18), attributes, ts delta 0, offset delta 0, key len 1 (02) "k",
     * value len 2 (04) "vv", 1 header (02): name len 1 (02) "h", value null (01). */
    const uint8_t record[] = { 0x18, 0x00, 0x00, 0x00, 0x02, 'k', 0x04,
                               'v',  'v',  0x02, 0x02, 'h',  0x01 };
    T_ASSERT_EQ_INT(batch_bytes, 61 + sizeof(record));
    T_ASSERT_MEM_EQ(batch + 61, record, sizeof(record));
    const uint8_t header_expected[] = {
        0, 0, 0, 0,  0, 0, 0, 0, /* base offset */
        0, 0, 0, 62,             /* batch length: 74 - 12 */
        0, 0, 0, 0,              /* leader epoch */
        2,                       /* magic */
    };
    T_ASSERT_MEM_EQ(batch, header_expected, sizeof(header_expected));
    T_ASSERT_EQ_INT(log_be16(batch + 21), 0);
    T_ASSERT_EQ_INT(log_be32(batch + 23), 0);
    T_ASSERT_EQ_INT(log_be64(batch + 27), 5);
    T_ASSERT_EQ_INT(log_be64(batch + 35), 5);
    T_ASSERT_EQ_INT(log_be64(batch + 43), UINT64_MAX);
    T_ASSERT_EQ_INT(log_be16(batch + 51), 0xffff);
    T_ASSERT_EQ_INT(log_be32(batch + 53), UINT32_MAX);
    T_ASSERT_EQ_INT(log_be32(batch + 57), 1);
    log_batch_builder_deinit(&bld);
}

static void many_records(int codec)
{
    enum { COUNT = 20000 };
    static rill_record_t records[COUNT];
    static uint8_t payload[4096];
    static rill_header_t headers[3] = { { "a", 1, "1", 1 },
                                        { "b", 1, NULL, 0 },
                                        { "c", 1, "", 0 } };
    uint64_t state = T_SEED;
    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)(t_rand(&state) % 16); /* compressible, not trivially */
    }
    for (size_t i = 0; i < COUNT; i++) {
        size_t key_offset = (size_t)(t_rand(&state) % 1000);
        records[i].key = i % 7 == 0 ? NULL : payload + key_offset;
        records[i].key_bytes = (size_t)(t_rand(&state) % 40);
        records[i].value = i % 11 == 0 ? NULL : payload + (size_t)(t_rand(&state) % 1000);
        records[i].value_bytes = (size_t)(t_rand(&state) % 1000);
        records[i].headers = headers;
        records[i].header_count = i % 4;
        records[i].timestamp_ms =
            i % 5 == 0 ? -1 : NOW_MS + (int64_t)(t_rand(&state) % 20000) - 10000;
    }
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, codec, records, COUNT, &batch, &batch_bytes);
    expect_records(batch, batch_bytes, records, COUNT, NOW_MS);
    log_batch_builder_deinit(&bld);
}

static void t_many_records_none(void)
{
    many_records(LOG_CODEC_NONE);
}

static void t_many_records_lz4(void)
{
    many_records(LOG_CODEC_LZ4);
}

/* Values spanning several 64 KiB LZ4 blocks, incompressible and compressible. */
static void t_large_values_lz4(void)
{
    enum { VALUE_BYTES = 300 * 1024 };
    uint8_t *random_value = malloc(VALUE_BYTES);
    uint8_t *zero_value = calloc(1, VALUE_BYTES);
    T_ASSERT(random_value != NULL && zero_value != NULL);
    uint64_t state = T_SEED;
    for (size_t i = 0; i < VALUE_BYTES; i++) {
        random_value[i] = (uint8_t)t_rand(&state);
    }
    const rill_record_t records[] = {
        { "random", 6, random_value, VALUE_BYTES, NULL, 0, 1 },
        { "zeros", 5, zero_value, VALUE_BYTES, NULL, 0, 2 },
        { "tail", 4, random_value, 100, NULL, 0, 3 },
    };
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_LZ4, records, T_COUNT(records), &batch, &batch_bytes);
    T_ASSERT(batch_bytes < 2 * VALUE_BYTES); /* the zeros compressed */
    expect_records(batch, batch_bytes, records, T_COUNT(records), NOW_MS);
    log_batch_builder_deinit(&bld);
    free(random_value);
    free(zero_value);
}

/* Base timestamp is the first record's; deltas may be negative; max is the maximum; a
 * negative timestamp means "now". Extreme values wrap consistently. */
static void t_timestamps(void)
{
    const rill_record_t records[] = {
        { "a", 1, "1", 1, NULL, 0, 5000 },      { "b", 1, "2", 1, NULL, 0, 1000 },
        { "c", 1, "3", 1, NULL, 0, 9000 },      { "d", 1, "4", 1, NULL, 0, 0 },
        { "e", 1, "5", 1, NULL, 0, -1 },        { "f", 1, "6", 1, NULL, 0, 4999 },
        { "g", 1, "7", 1, NULL, 0, INT64_MAX },
    };
    for (int codec = LOG_CODEC_NONE; codec <= LOG_CODEC_LZ4; codec += LOG_CODEC_LZ4) {
        struct log_batch_builder bld;
        uint8_t *batch;
        size_t batch_bytes;
        build(&bld, codec, records, T_COUNT(records), &batch, &batch_bytes);
        struct log_batch_header hdr;
        T_ASSERT_OK(log_batch_header_decode(batch, batch_bytes, &hdr));
        T_ASSERT_EQ_INT(hdr.timestamp_first, 5000);
        T_ASSERT_EQ_INT(hdr.timestamp_max, INT64_MAX);
        expect_records(batch, batch_bytes, records, T_COUNT(records), NOW_MS);
        log_batch_builder_deinit(&bld);
    }
    /* First record "now". */
    const rill_record_t now_first[] = { { "x", 1, "y", 1, NULL, 0, -5 },
                                        { "x", 1, "y", 1, NULL, 0, 3 } };
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_NONE, now_first, 2, &batch, &batch_bytes);
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_header_decode(batch, batch_bytes, &hdr));
    T_ASSERT_EQ_INT(hdr.timestamp_first, NOW_MS);
    T_ASSERT_EQ_INT(hdr.timestamp_max, NOW_MS);
    expect_records(batch, batch_bytes, now_first, 2, NOW_MS);
    log_batch_builder_deinit(&bld);
}

/* LogAppendTime: every record reads the batch's max timestamp, as in Kafka. */
static void t_log_append_time(void)
{
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_NONE, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
    log_put_be16(batch + 21, LOG_BATCH_ATTR_LOG_APPEND_TIME);
    log_put_be64(batch + 35, 123456);
    crc_refresh(batch, batch_bytes);
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(batch, batch_bytes, true, &hdr));
    struct log_record_iter it;
    log_record_iter_init(&it);
    T_ASSERT_OK(log_record_iter_start(&it, batch, batch_bytes));
    struct log_record rec;
    int32_t count = 0;
    while (log_record_iter_next(&it, &rec) == RILL_OK) {
        T_ASSERT_EQ_INT(rec.timestamp, 123456);
        count++;
    }
    T_ASSERT_EQ_INT(count, T_COUNT(records_mixed));
    log_record_iter_deinit(&it);
    log_batch_builder_deinit(&bld);
}

/* ---------------------------------------------------------------------------------------- */
/* Validation                                                                                 */
/* ---------------------------------------------------------------------------------------- */

static void t_set_offset_keeps_crc(void)
{
    for (int codec = LOG_CODEC_NONE; codec <= LOG_CODEC_LZ4; codec += LOG_CODEC_LZ4) {
        struct log_batch_builder bld;
        uint8_t *batch;
        size_t batch_bytes;
        build(&bld, codec, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
        log_batch_set_offset(batch, 1234567890123LL, 77);
        struct log_batch_header hdr;
        T_ASSERT_OK(log_batch_validate(batch, batch_bytes, true, &hdr));
        T_ASSERT_EQ_INT(hdr.offset_base, 1234567890123LL);
        T_ASSERT_EQ_INT(hdr.leader_epoch, 77);
        T_ASSERT_EQ_INT(log_batch_offset_last(&hdr), 1234567890123LL + 6);
        expect_records(batch, batch_bytes, records_mixed, T_COUNT(records_mixed), NOW_MS);
        log_batch_set_offset(batch, -1, -1);
        T_ASSERT_OK(log_batch_validate(batch, batch_bytes, true, &hdr));
        T_ASSERT_EQ_INT(hdr.offset_base, -1);
        T_ASSERT_EQ_INT(hdr.leader_epoch, -1);
        log_batch_builder_deinit(&bld);
    }
}

/* Every single-bit flip in the CRC-covered bytes is caught. */
static void t_bit_flips_caught(void)
{
    for (int codec = LOG_CODEC_NONE; codec <= LOG_CODEC_LZ4; codec += LOG_CODEC_LZ4) {
        struct log_batch_builder bld;
        uint8_t *batch;
        size_t batch_bytes;
        build(&bld, codec, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
        for (size_t position = 0; position < batch_bytes; position++) {
            for (int bit = 0; bit < 8; bit++) {
                batch[position] ^= (uint8_t)(1u << bit);
                struct log_batch_header hdr;
                rill_err strict = log_batch_validate(batch, batch_bytes, true, &hdr);
                rill_err loose = log_batch_validate(batch, batch_bytes, false, &hdr);
                batch[position] ^= (uint8_t)(1u << bit);
                bool outside_crc = position < 8 || (position >= 12 && position < 16);
                if (outside_crc) {
                    T_ASSERT_EQ_INT(strict, RILL_OK);
                } else if (strict == RILL_OK || loose == RILL_OK) {
                    T_FAIL("flip of bit %d of byte %zu not caught", bit, position);
                }
                if (position >= 21) {
                    T_ASSERT(loose == RILL_ERR_CRC || loose == RILL_ERR_BAD_BATCH ||
                             loose == RILL_ERR_UNSUPPORTED);
                }
            }
        }
        log_batch_builder_deinit(&bld);
    }
}

static void t_truncated_rejected(void)
{
    for (int codec = LOG_CODEC_NONE; codec <= LOG_CODEC_LZ4; codec += LOG_CODEC_LZ4) {
        struct log_batch_builder bld;
        uint8_t *batch;
        size_t batch_bytes;
        build(&bld, codec, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
        for (size_t bytes = 0; bytes < batch_bytes; bytes++) {
            /* A copy of exactly `bytes`, so that ASan sees any read past the end. */
            uint8_t *copy = malloc(bytes > 0 ? bytes : 1);
            T_ASSERT(copy != NULL);
            memcpy(copy, batch, bytes);
            struct log_batch_header hdr;
            T_ASSERT_EQ_INT(log_batch_validate(copy, bytes, false, &hdr), RILL_ERR_BAD_BATCH);
            T_ASSERT_EQ_INT(log_batch_validate(copy, bytes, true, &hdr), RILL_ERR_BAD_BATCH);
            if (bytes < LOG_BATCH_HEADER_BYTES) {
                T_ASSERT_EQ_INT(log_batch_header_decode(copy, bytes, &hdr), RILL_ERR_BAD_BATCH);
            } else {
                T_ASSERT_OK(log_batch_header_decode(copy, bytes, &hdr));
            }
            struct log_record_iter it;
            log_record_iter_init(&it);
            T_ASSERT_EQ_INT(log_record_iter_start(&it, copy, bytes), RILL_ERR_BAD_BATCH);
            struct log_record rec;
            T_ASSERT_EQ_INT(log_record_iter_next(&it, &rec), RILL_ERR_END);
            log_record_iter_deinit(&it);
            free(copy);
        }
        /* Extra bytes after the batch: validate wants the exact size, the iterator does not. */
        struct log_batch_header hdr;
        T_ASSERT_EQ_INT(log_batch_validate(batch, batch_bytes + 0, true, &hdr), RILL_OK);
        uint8_t *longer = calloc(1, batch_bytes + 5);
        T_ASSERT(longer != NULL);
        memcpy(longer, batch, batch_bytes);
        T_ASSERT_EQ_INT(log_batch_validate(longer, batch_bytes + 5, false, &hdr),
                        RILL_ERR_BAD_BATCH);
        expect_records(longer, batch_bytes + 5, records_mixed, T_COUNT(records_mixed), NOW_MS);
        free(longer);
        log_batch_builder_deinit(&bld);
    }
}

static void t_bad_magic(void)
{
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_NONE, records_mixed, 2, &batch, &batch_bytes);
    const uint8_t magics[] = { 0, 1, 3, 0x7f, 0x80, 0xff };
    for (size_t i = 0; i < sizeof(magics); i++) {
        batch[16] = magics[i];
        struct log_batch_header hdr;
        T_ASSERT_EQ_INT(log_batch_header_decode(batch, batch_bytes, &hdr), RILL_ERR_UNSUPPORTED);
        T_ASSERT_EQ_INT(log_batch_validate(batch, batch_bytes, false, &hdr), RILL_ERR_UNSUPPORTED);
        struct log_record_iter it;
        log_record_iter_init(&it);
        T_ASSERT_EQ_INT(log_record_iter_start(&it, batch, batch_bytes), RILL_ERR_UNSUPPORTED);
        log_record_iter_deinit(&it);
    }
    log_batch_builder_deinit(&bld);
}

static void t_bad_lengths(void)
{
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_NONE, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
    const uint32_t lengths[] = { 0,
                                 48,
                                 (uint32_t)batch_bytes - 13,
                                 (uint32_t)batch_bytes - 11,
                                 RILL_BATCH_BYTES_MAX - 11,
                                 INT32_MAX,
                                 0x80000000u,
                                 UINT32_MAX };
    for (size_t i = 0; i < T_COUNT(lengths); i++) {
        put_be32_at(batch, 8, lengths[i]);
        struct log_batch_header hdr;
        T_ASSERT_EQ_INT(log_batch_validate(batch, batch_bytes, false, &hdr), RILL_ERR_BAD_BATCH);
        /* The iterator accepts a buffer longer than the batch, so one byte short is fine. */
        rill_err expected = lengths[i] == (uint32_t)batch_bytes - 13 ? RILL_OK : RILL_ERR_BAD_BATCH;
        struct log_record_iter it;
        log_record_iter_init(&it);
        T_ASSERT_EQ_INT(log_record_iter_start(&it, batch, batch_bytes), expected);
        log_record_iter_deinit(&it);
    }
    /* The smallest and largest lengths the header accepts. */
    struct log_batch_header hdr;
    put_be32_at(batch, 8, 49);
    T_ASSERT_OK(log_batch_header_decode(batch, batch_bytes, &hdr));
    put_be32_at(batch, 8, RILL_BATCH_BYTES_MAX - 12);
    T_ASSERT_OK(log_batch_header_decode(batch, batch_bytes, &hdr));
    log_batch_builder_deinit(&bld);
}

static void t_attribute_bits(void)
{
    const uint8_t record[] = { 0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 };
    uint8_t batch[128];
    for (int bit = 7; bit < 16; bit++) {
        size_t bytes = raw_batch(batch, (uint16_t)(1u << bit), 1, 0, record, sizeof(record));
        struct log_batch_header hdr;
        T_ASSERT_EQ_INT(log_batch_header_decode(batch, bytes, &hdr), RILL_ERR_BAD_BATCH);
        T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, false, &hdr), RILL_ERR_BAD_BATCH);
    }
    for (uint16_t codec = 5; codec <= 7; codec++) {
        size_t bytes = raw_batch(batch, codec, 1, 0, record, sizeof(record));
        struct log_batch_header hdr;
        T_ASSERT_EQ_INT(log_batch_header_decode(batch, bytes, &hdr), RILL_ERR_BAD_BATCH);
    }
    const uint16_t unsupported[] = { LOG_CODEC_GZIP, LOG_CODEC_SNAPPY, LOG_CODEC_ZSTD };
    for (size_t i = 0; i < T_COUNT(unsupported); i++) {
        size_t bytes = raw_batch(batch, unsupported[i], 1, 0, record, sizeof(record));
        struct log_batch_header hdr;
        T_ASSERT_OK(log_batch_header_decode(batch, bytes, &hdr));
        T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, true, &hdr), RILL_ERR_UNSUPPORTED);
        T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, false, &hdr), RILL_ERR_UNSUPPORTED);
        struct log_record_iter it;
        log_record_iter_init(&it);
        T_ASSERT_EQ_INT(log_record_iter_start(&it, batch, bytes), RILL_ERR_UNSUPPORTED);
        log_record_iter_deinit(&it);
    }
    /* Every known bit at once (with no codec) is accepted. */
    size_t bytes = raw_batch(batch, 0x78, 1, 0, record, sizeof(record));
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(batch, bytes, true, &hdr));
    T_ASSERT_EQ_INT(hdr.attributes, 0x78);
}

static void t_header_counts(void)
{
    const uint8_t record[] = { 0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 };
    uint8_t batch[128];
    struct log_batch_header hdr;
    struct {
        int32_t record_count;
        int32_t last_offset_delta;
        rill_err expected;
    } cases[] = {
        { -1, 0, RILL_ERR_BAD_BATCH },
        { INT32_MIN, 0, RILL_ERR_BAD_BATCH },
        { 1, -1, RILL_ERR_BAD_BATCH },
        { 3, 1, RILL_ERR_BAD_BATCH },
        { (int32_t)RILL_BATCH_RECORDS_MAX + 1, INT32_MAX, RILL_ERR_BAD_BATCH },
        { 0, 0, RILL_OK },
        { 0, 100, RILL_OK },
        { 1, 0, RILL_OK },
        { 1, 9, RILL_OK }, /* compacted: gaps allowed */
    };
    for (size_t i = 0; i < T_COUNT(cases); i++) {
        size_t bytes = raw_batch(batch, 0, cases[i].record_count, cases[i].last_offset_delta,
                                 record, sizeof(record));
        T_ASSERT_EQ_INT(log_batch_header_decode(batch, bytes, &hdr), cases[i].expected);
    }
}

/* Strict mode (a producer's batch) wants count >= 1, last delta == count - 1, and records
 * that parse, with offset deltas 0..count-1, filling the batch exactly. */
static void t_strict_mode(void)
{
    /* Two records: offset deltas 0 and 1. */
    const uint8_t records[] = { 0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00,
                                0x0c, 0x00, 0x00, 0x02, 0x01, 0x01, 0x00 };
    uint8_t batch[128];
    struct log_batch_header hdr;
    size_t bytes = raw_batch(batch, 0, 2, 1, records, sizeof(records));
    T_ASSERT_OK(log_batch_validate(batch, bytes, true, &hdr));
    struct {
        int32_t record_count;
        int32_t last_offset_delta;
        size_t records_bytes;
        rill_err strict;
        rill_err loose;
    } cases[] = {
        { 2, 2, sizeof(records), RILL_ERR_BAD_BATCH, RILL_OK }, /* last delta != count - 1 */
        { 1, 0, sizeof(records), RILL_ERR_BAD_BATCH, RILL_OK }, /* a record too many */
        { 3, 2, sizeof(records), RILL_ERR_BAD_BATCH, RILL_OK }, /* a record missing */
        { 0, 0, 0, RILL_ERR_BAD_BATCH, RILL_OK },               /* empty */
        { 1, 0, 7, RILL_OK, RILL_OK },
    };
    for (size_t i = 0; i < T_COUNT(cases); i++) {
        bytes = raw_batch(batch, 0, cases[i].record_count, cases[i].last_offset_delta, records,
                          cases[i].records_bytes);
        T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, true, &hdr), cases[i].strict);
        T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, false, &hdr), cases[i].loose);
    }
    /* Offset deltas out of sequence. */
    uint8_t swapped[sizeof(records)];
    memcpy(swapped, records, sizeof(records));
    swapped[3] = 0x02;
    swapped[10] = 0x00;
    bytes = raw_batch(batch, 0, 2, 1, swapped, sizeof(swapped));
    T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, true, &hdr), RILL_ERR_BAD_BATCH);
    T_ASSERT_OK(log_batch_validate(batch, bytes, false, &hdr));
    /* A record that does not parse. */
    memcpy(swapped, records, sizeof(records));
    swapped[7] = 0x0e; /* second record claims one byte more than there is */
    bytes = raw_batch(batch, 0, 2, 1, swapped, sizeof(swapped));
    T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, true, &hdr), RILL_ERR_BAD_BATCH);
    /* Validation leaves out_hdr alone on failure. */
    memset(&hdr, 0xab, sizeof(hdr));
    T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, true, &hdr), RILL_ERR_BAD_BATCH);
    T_ASSERT_EQ_INT(hdr.record_count, (int32_t)0xabababab);
}

static void t_empty_batch_iterates_nothing(void)
{
    uint8_t batch[LOG_BATCH_HEADER_BYTES];
    size_t bytes = raw_batch(batch, 0, 0, 4, NULL, 0);
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(batch, bytes, false, &hdr));
    T_ASSERT_EQ_INT(log_batch_offset_last(&hdr), 104);
    rill_err err;
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 0);
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
    /* The same with the LZ4 codec and no frame at all. */
    bytes = raw_batch(batch, LOG_CODEC_LZ4, 0, 4, NULL, 0);
    T_ASSERT_OK(log_batch_validate(batch, bytes, false, &hdr));
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 0);
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
}

/* Reads one record (key 01020304, value 050607, header 08090a = 0b0c, timestamp delta 5) from
 * a batch another Kafka client wrote, and checks the CRC that client computed. */
static void expect_foreign_batch(const uint8_t *batch, size_t batch_bytes, int codec)
{
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(batch, batch_bytes, true, &hdr));
    T_ASSERT_EQ_INT(log_batch_codec(&hdr), codec);
    struct log_record_iter it;
    log_record_iter_init(&it);
    T_ASSERT_OK(log_record_iter_start(&it, batch, batch_bytes));
    struct log_record rec;
    T_ASSERT_OK(log_record_iter_next(&it, &rec));
    T_ASSERT_EQ_INT(rec.offset, 0);
    T_ASSERT_EQ_INT(rec.timestamp, 1479847795000LL + 5);
    const uint8_t key[] = { 1, 2, 3, 4 }, value[] = { 5, 6, 7 };
    const uint8_t header_name[] = { 8, 9, 10 }, header_value[] = { 11, 12 };
    expect_nullable(rec.key, rec.key_bytes, key, sizeof(key));
    expect_nullable(rec.value, rec.value_bytes, value, sizeof(value));
    T_ASSERT_EQ_INT(rec.header_count, 1);
    const uint8_t *name, *data;
    int32_t name_bytes, data_bytes;
    T_ASSERT_OK(log_record_header(&rec, 0, &name, &name_bytes, &data, &data_bytes));
    expect_nullable(name, name_bytes, header_name, sizeof(header_name));
    expect_nullable(data, data_bytes, header_value, sizeof(header_value));
    T_ASSERT_EQ_INT(log_record_iter_next(&it, &rec), RILL_ERR_END);
    log_record_iter_deinit(&it);
}

/* Batches as the Go client sarama encodes them in its own tests (CRCs as Kafka checks them):
 * an independent check of our CRC range, varints and LZ4 frame reading. Its LZ4 frame uses
 * 4 MiB blocks and a content checksum, unlike Java's. */
static void t_foreign_batches(void)
{
    uint8_t header[LOG_BATCH_HEADER_BYTES] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,   70,  0,  0,  0, 0, 2, 84, 121, 97, 253,
        0, 0, 0, 0, 0, 0, 0, 0, 1, 88, 141, 205, 89, 56, 0, 0, 0, 0,  0,   0,  0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,   0,   0,  0,  0, 0, 0, 0,  1,
    };
    const uint8_t records[] = {
        40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12
    };
    const uint8_t lz4_frame[] = { 4,  34, 77, 24, 100, 112, 185, 21, 0,  0,  128, 40, 0, 10,
                                  0,  8,  1,  2,  3,   4,   6,   5,  6,  7,  2,   6,  8, 9,
                                  10, 4,  11, 12, 0,   0,   0,   0,  12, 59, 239, 146 };
    uint8_t batch[128];
    memcpy(batch, header, sizeof(header));
    memcpy(batch + sizeof(header), records, sizeof(records));
    expect_foreign_batch(batch, sizeof(header) + sizeof(records), LOG_CODEC_NONE);
    const uint8_t lz4_length_crc_attributes[] = { 0, 0,   0,  89,  0,   0, 0, 0,
                                                  2, 169, 74, 119, 197, 0, 3 };
    memcpy(header + 8, lz4_length_crc_attributes, sizeof(lz4_length_crc_attributes));
    memcpy(batch, header, sizeof(header));
    memcpy(batch + sizeof(header), lz4_frame, sizeof(lz4_frame));
    expect_foreign_batch(batch, sizeof(header) + sizeof(lz4_frame), LOG_CODEC_LZ4);
    /* An empty batch: count 0, producer id 0, CRC 595fb7dd. */
    uint8_t empty[LOG_BATCH_HEADER_BYTES];
    memset(empty, 0, sizeof(empty));
    const uint8_t empty_prefix[] = { 0,  0, 0, 0, 0, 0, 0,  0,  0,   0,  0,
                                     49, 0, 0, 0, 0, 2, 89, 95, 183, 221 };
    memcpy(empty, empty_prefix, sizeof(empty_prefix));
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(empty, sizeof(empty), false, &hdr));
    T_ASSERT_EQ_INT(log_batch_validate(empty, sizeof(empty), true, &hdr), RILL_ERR_BAD_BATCH);
}

/* ---------------------------------------------------------------------------------------- */
/* Builder                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void t_builder_too_large_leaves_builder_usable(void)
{
    static uint8_t value[100];
    const rill_record_t big = { "k", 1, value, 100, NULL, 0, 10 };
    const rill_record_t small = { "k", 1, value, 5, NULL, 0, 11 };
    const rill_record_t huge = { "k", 1, value, RILL_BATCH_BYTES_MAX + 1, NULL, 0, 12 };
    const rill_record_t enormous = { "k", 1, value, SIZE_MAX, NULL, 0, 12 };
    for (int codec = LOG_CODEC_NONE; codec <= LOG_CODEC_LZ4; codec += LOG_CODEC_LZ4) {
        struct log_batch_builder bld;
        T_ASSERT_OK(log_batch_builder_init(&bld, codec, 200));
        T_ASSERT_OK(log_batch_builder_add(&bld, &big, NOW_MS));
        size_t used = bld.buf_used_bytes;
        T_ASSERT_EQ_INT(log_batch_builder_add(&bld, &big, NOW_MS), RILL_ERR_TOO_LARGE);
        T_ASSERT_EQ_INT(log_batch_builder_add(&bld, &huge, NOW_MS), RILL_ERR_TOO_LARGE);
        T_ASSERT_EQ_INT(log_batch_builder_add(&bld, &enormous, NOW_MS), RILL_ERR_TOO_LARGE);
        T_ASSERT(log_batch_builder_bytes_with(&bld, &big) > 200);
        T_ASSERT(log_batch_builder_bytes_with(&bld, &enormous) > 200);
        T_ASSERT_EQ_INT(bld.buf_used_bytes, used);
        T_ASSERT_EQ_INT(bld.record_count, 1);
        T_ASSERT_EQ_INT(bld.timestamp_max, 10);
        T_ASSERT_OK(log_batch_builder_add(&bld, &small, NOW_MS));
        uint8_t *batch;
        size_t batch_bytes;
        T_ASSERT_OK(log_batch_builder_finish(&bld, &batch, &batch_bytes));
        T_ASSERT(batch_bytes <= 200);
        struct log_batch_header hdr;
        T_ASSERT_OK(log_batch_validate(batch, batch_bytes, true, &hdr));
        const rill_record_t want[] = { big, small };
        expect_records(batch, batch_bytes, want, 2, NOW_MS);
        log_batch_builder_deinit(&bld);
    }
}

/* bytes_with() predicts add() exactly: add succeeds iff bytes_with <= batch_bytes_max, and for
 * uncompressed batches with known timestamps it is the finished size. Incompressible values
 * push LZ4 batches to their worst case. */
static void t_builder_bytes_with_predicts_add(void)
{
    enum { VALUE_BYTES_MAX = 70000, BATCH_MAX = 300000 };
    uint8_t *value = malloc(VALUE_BYTES_MAX);
    T_ASSERT(value != NULL);
    uint64_t state = T_SEED;
    for (size_t i = 0; i < VALUE_BYTES_MAX; i++) {
        value[i] = (uint8_t)t_rand(&state);
    }
    for (int codec = LOG_CODEC_NONE; codec <= LOG_CODEC_LZ4; codec += LOG_CODEC_LZ4) {
        struct log_batch_builder bld;
        T_ASSERT_OK(log_batch_builder_init(&bld, codec, BATCH_MAX));
        for (int round = 0; round < 200; round++) {
            rill_record_t rec = {
                "key", 3, value, (size_t)(t_rand(&state) % VALUE_BYTES_MAX), NULL, 0, NOW_MS + round
            };
            size_t predicted = log_batch_builder_bytes_with(&bld, &rec);
            rill_err err = log_batch_builder_add(&bld, &rec, NOW_MS);
            T_ASSERT_EQ_INT(err, predicted <= BATCH_MAX ? RILL_OK : RILL_ERR_TOO_LARGE);
            if (err == RILL_OK && codec == LOG_CODEC_NONE) {
                T_ASSERT_EQ_INT(bld.buf_used_bytes, predicted);
            }
            if (err != RILL_OK || t_rand(&state) % 4 == 0) {
                uint8_t *batch;
                size_t batch_bytes;
                T_ASSERT_OK(log_batch_builder_finish(&bld, &batch, &batch_bytes));
                T_ASSERT(batch_bytes <= BATCH_MAX);
                struct log_batch_header hdr;
                T_ASSERT_OK(log_batch_validate(batch, batch_bytes, true, &hdr));
                if (codec == LOG_CODEC_NONE) {
                    T_ASSERT_EQ_INT(batch_bytes, bld.buf_used_bytes);
                }
                log_batch_builder_reset(&bld);
            }
        }
        log_batch_builder_deinit(&bld);
    }
    free(value);
}

static void t_builder_invalid_input(void)
{
    struct log_batch_builder bld;
    T_ASSERT_EQ_INT(log_batch_builder_init(&bld, LOG_CODEC_GZIP, 4096), RILL_ERR_UNSUPPORTED);
    log_batch_builder_deinit(&bld);
    T_ASSERT_EQ_INT(log_batch_builder_init(&bld, LOG_CODEC_SNAPPY, 4096), RILL_ERR_UNSUPPORTED);
    T_ASSERT_EQ_INT(log_batch_builder_init(&bld, LOG_CODEC_ZSTD, 4096), RILL_ERR_UNSUPPORTED);
    T_ASSERT_EQ_INT(log_batch_builder_init(&bld, 7, 4096), RILL_ERR_UNSUPPORTED);
    T_ASSERT_EQ_INT(log_batch_builder_init(&bld, LOG_CODEC_NONE, 10), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(log_batch_builder_init(&bld, LOG_CODEC_NONE, RILL_BATCH_BYTES_MAX + 1),
                    RILL_ERR_INVALID);
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, 4096));
    uint8_t *batch;
    size_t batch_bytes;
    T_ASSERT_EQ_INT(log_batch_builder_finish(&bld, &batch, &batch_bytes), RILL_ERR_INVALID);
    static rill_header_t headers[RILL_RECORD_HEADERS_MAX + 1];
    rill_record_t rec = { "k", 1, "v", 1, headers, RILL_RECORD_HEADERS_MAX + 1, 0 };
    T_ASSERT_EQ_INT(log_batch_builder_add(&bld, &rec, NOW_MS), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(log_batch_builder_bytes_with(&bld, &rec), SIZE_MAX);
    rec.headers = NULL;
    rec.header_count = 1;
    T_ASSERT_EQ_INT(log_batch_builder_add(&bld, &rec, NOW_MS), RILL_ERR_INVALID);
    const rill_header_t null_name = { NULL, 3, "v", 1 };
    rec.headers = &null_name;
    T_ASSERT_EQ_INT(log_batch_builder_add(&bld, &rec, NOW_MS), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(bld.record_count, 0);
    T_ASSERT_EQ_INT(log_batch_builder_finish(&bld, &batch, &batch_bytes), RILL_ERR_INVALID);
    log_batch_builder_deinit(&bld);
    log_batch_builder_deinit(NULL);
}

/* The most headers a record may carry round-trip. */
static void t_builder_headers_max(void)
{
    static rill_header_t headers[RILL_RECORD_HEADERS_MAX];
    static char names[RILL_RECORD_HEADERS_MAX][8];
    for (size_t i = 0; i < RILL_RECORD_HEADERS_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "h%zu", i);
        headers[i].name = names[i];
        headers[i].name_bytes = strlen(names[i]);
        headers[i].value = i % 3 == 0 ? NULL : names[i];
        headers[i].value_bytes = i % 3 == 0 ? 0 : strlen(names[i]);
    }
    const rill_record_t rec = { "k", 1, "v", 1, headers, RILL_RECORD_HEADERS_MAX, 1 };
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_LZ4, &rec, 1, &batch, &batch_bytes);
    expect_records(batch, batch_bytes, &rec, 1, NOW_MS);
    log_batch_builder_deinit(&bld);
}

static void t_builder_producer_and_reset(void)
{
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_LZ4, 1 << 20));
    log_batch_builder_set_producer(&bld, 4242, 7, 1000);
    for (int round = 0; round < 3; round++) {
        size_t count = T_COUNT(records_mixed) - (size_t)round;
        for (size_t i = 0; i < count; i++) {
            T_ASSERT_OK(log_batch_builder_add(&bld, &records_mixed[i], NOW_MS));
        }
        uint8_t *batch;
        size_t batch_bytes;
        T_ASSERT_OK(log_batch_builder_finish(&bld, &batch, &batch_bytes));
        /* finish twice gives the same batch */
        uint8_t *again;
        size_t again_bytes;
        T_ASSERT_OK(log_batch_builder_finish(&bld, &again, &again_bytes));
        T_ASSERT_EQ_INT(again_bytes, batch_bytes);
        struct log_batch_header hdr;
        T_ASSERT_OK(log_batch_validate(again, again_bytes, true, &hdr));
        T_ASSERT_EQ_INT(hdr.producer_id, 4242);
        T_ASSERT_EQ_INT(hdr.producer_epoch, 7);
        T_ASSERT_EQ_INT(hdr.sequence_base, 1000);
        T_ASSERT_EQ_INT(hdr.record_count, count);
        expect_records(again, again_bytes, records_mixed, count, NOW_MS);
        log_batch_builder_reset(&bld);
        T_ASSERT_EQ_INT(bld.record_count, 0);
    }
    log_batch_builder_deinit(&bld);
}

/* Kafka's Java client writes LZ4 frames with version 01, independent 64 KiB blocks, no
 * checksums: FLG 0x60, BD 0x40. */
static void t_lz4_frame_matches_kafka(void)
{
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_LZ4, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
    const uint8_t frame_start[] = { 0x04, 0x22, 0x4d, 0x18, 0x60, 0x40 };
    T_ASSERT_MEM_EQ(batch + 61, frame_start, sizeof(frame_start));
    /* End mark: the last 4 bytes are zero (no content checksum after it). */
    const uint8_t end_mark[4] = { 0, 0, 0, 0 };
    T_ASSERT_MEM_EQ(batch + batch_bytes - 4, end_mark, 4);
    log_batch_builder_deinit(&bld);
}

/* ---------------------------------------------------------------------------------------- */
/* Iterator on hostile input                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* An LZ4 batch around an arbitrary frame. */
static size_t lz4_batch(uint8_t *out, int32_t record_count, const void *frame, size_t frame_bytes)
{
    int32_t last_offset_delta = record_count > 0 ? record_count - 1 : 0;
    return raw_batch(out, LOG_CODEC_LZ4, record_count, last_offset_delta, frame, frame_bytes);
}

/* A frame that inflates past RILL_BATCH_BYTES_MAX * 4 is refused, not allocated. */
static void t_lz4_decompression_bomb(void)
{
    size_t zeros_bytes = (size_t)RILL_BATCH_BYTES_MAX * 4 + 1024 * 1024;
    uint8_t *zeros = calloc(1, zeros_bytes);
    T_ASSERT(zeros != NULL);
    size_t bound = LZ4F_compressFrameBound(zeros_bytes, NULL);
    uint8_t *frame = malloc(bound);
    T_ASSERT(frame != NULL);
    size_t frame_bytes = LZ4F_compressFrame(frame, bound, zeros, zeros_bytes, NULL);
    T_ASSERT(!LZ4F_isError(frame_bytes));
    T_ASSERT(frame_bytes < RILL_BATCH_BYTES_MAX / 2);
    uint8_t *batch = malloc(LOG_BATCH_HEADER_BYTES + frame_bytes);
    T_ASSERT(batch != NULL);
    size_t batch_bytes = lz4_batch(batch, 1, frame, frame_bytes);
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(batch, batch_bytes, true, &hdr)); /* never decompresses */
    struct log_record_iter it;
    log_record_iter_init(&it);
    T_ASSERT_EQ_INT(log_record_iter_start(&it, batch, batch_bytes), RILL_ERR_CORRUPT);
    T_ASSERT(it.scratch_capacity_bytes <= (size_t)RILL_BATCH_BYTES_MAX * 4);
    log_record_iter_deinit(&it);
    free(batch);
    free(frame);
    free(zeros);
}

static void t_lz4_bad_frames(void)
{
    const uint8_t records[] = { 0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 };
    uint8_t frame[256];
    size_t frame_bytes = LZ4F_compressFrame(frame, sizeof(frame), records, sizeof(records), NULL);
    T_ASSERT(!LZ4F_isError(frame_bytes));
    uint8_t batch[512];
    rill_err err;
    size_t bytes = lz4_batch(batch, 1, frame, frame_bytes);
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 1);
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
    /* Every truncation of the frame (with a consistent batch around it). */
    for (size_t cut = 1; cut < frame_bytes; cut++) {
        bytes = lz4_batch(batch, 1, frame, cut);
        struct log_record_iter it;
        log_record_iter_init(&it);
        T_ASSERT_EQ_INT(log_record_iter_start(&it, batch, bytes), RILL_ERR_CORRUPT);
        log_record_iter_deinit(&it);
    }
    /* Bytes after the frame. */
    uint8_t longer[300];
    memcpy(longer, frame, frame_bytes);
    memset(longer + frame_bytes, 0, 8);
    bytes = lz4_batch(batch, 1, longer, frame_bytes + 8);
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 0);
    T_ASSERT_EQ_INT(err, RILL_ERR_CORRUPT);
    /* Not a frame at all. */
    bytes = lz4_batch(batch, 1, records, sizeof(records));
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 0);
    T_ASSERT_EQ_INT(err, RILL_ERR_CORRUPT);
    /* A valid frame holding fewer records than the header claims. */
    bytes = lz4_batch(batch, 2, frame, frame_bytes);
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 1);
    T_ASSERT_EQ_INT(err, RILL_ERR_CORRUPT);
    /* A valid empty frame. */
    frame_bytes = LZ4F_compressFrame(frame, sizeof(frame), records, 0, NULL);
    T_ASSERT(!LZ4F_isError(frame_bytes));
    bytes = lz4_batch(batch, 0, frame, frame_bytes);
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 0);
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
    bytes = lz4_batch(batch, 1, frame, frame_bytes);
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 0);
    T_ASSERT_EQ_INT(err, RILL_ERR_CORRUPT);
}

/* Frames with the options Java does not use (linked blocks, checksums, content size) are
 * still standard frames: liblz4 reads them. */
static void t_lz4_other_frame_options(void)
{
    static uint8_t records[40000];
    size_t records_bytes = 0;
    for (int i = 0; records_bytes + 200 < sizeof(records); i++) {
        uint8_t *pos = records + records_bytes;
        uint8_t value[150];
        memset(value, 'a' + i % 26, sizeof(value));
        size_t body = 1 + 1 + log_varint_size(i) + 1 + log_varint_size(150) + 150 + 1;
        pos += log_varint_encode(pos, (int64_t)body);
        *pos++ = 0;
        *pos++ = 0;
        pos += log_varint_encode(pos, i);
        *pos++ = 0x01;
        pos += log_varint_encode(pos, 150);
        memcpy(pos, value, 150);
        pos += 150;
        *pos++ = 0;
        records_bytes = (size_t)(pos - records);
    }
    int32_t count = 0;
    for (const uint8_t *pos = records; pos < records + records_bytes; count++) {
        int64_t body;
        pos += log_varint_decode(pos, 10, &body);
        pos += body;
    }
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockLinked;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    prefs.frameInfo.contentSize = records_bytes;
    prefs.compressionLevel = 9;
    size_t bound = LZ4F_compressFrameBound(records_bytes, &prefs);
    uint8_t *batch = malloc(LOG_BATCH_HEADER_BYTES + bound);
    T_ASSERT(batch != NULL);
    size_t frame_bytes =
        LZ4F_compressFrame(batch + LOG_BATCH_HEADER_BYTES, bound, records, records_bytes, &prefs);
    T_ASSERT(!LZ4F_isError(frame_bytes));
    uint8_t *frame = malloc(frame_bytes);
    T_ASSERT(frame != NULL);
    memcpy(frame, batch + LOG_BATCH_HEADER_BYTES, frame_bytes);
    size_t bytes = lz4_batch(batch, count, frame, frame_bytes);
    rill_err err;
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), count);
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
    /* A corrupted content checksum is caught by liblz4. */
    frame[frame_bytes - 1] ^= 1;
    bytes = lz4_batch(batch, count, frame, frame_bytes);
    T_ASSERT_EQ_INT(walk_all(batch, bytes, &err), 0);
    T_ASSERT_EQ_INT(err, RILL_ERR_CORRUPT);
    free(frame);
    free(batch);
}

/* Hand-made malformed records, each alone in an otherwise valid batch. */
static void t_iter_corrupt_records(void)
{
    static const struct {
        const char *why;
        uint8_t bytes[20];
        size_t count;
    } cases[] = {
        { "length beyond the batch", { 0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 }, 7 },
        { "length shorter than fields", { 0x0a, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 }, 7 },
        { "negative length", { 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 }, 7 },
        { "zero length", { 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00 }, 7 },
        { "key length -2", { 0x0c, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00 }, 7 },
        { "key length past record", { 0x0c, 0x00, 0x00, 0x00, 0x08, 0x01, 0x00 }, 7 },
        { "value length -2", { 0x0c, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00 }, 7 },
        { "negative header count", { 0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01 }, 7 },
        { "header count past record", { 0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02 }, 7 },
        { "header count over the limit", { 0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x82, 0x10 }, 8 },
        { "null header name", { 0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01 }, 9 },
        { "header value past record", { 0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x04 }, 9 },
        { "trailing byte in record", { 0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00 }, 8 },
        { "offset delta beyond int32",
          { 0x14, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, 0x01, 0x00 },
          11 },
        { "11-byte timestamp varint",
          { 0x20, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00,
            0x01, 0x01, 0x00 },
          17 },
        { "record length varint truncated", { 0x80 }, 1 },
    };
    for (size_t i = 0; i < T_COUNT(cases); i++) {
        uint8_t batch[128];
        size_t bytes = raw_batch(batch, 0, 1, 0, cases[i].bytes, cases[i].count);
        rill_err err;
        int32_t records = walk_all(batch, bytes, &err);
        if (records != 0 || err != RILL_ERR_CORRUPT) {
            T_FAIL("%s: %d records, %s", cases[i].why, records, rill_err_name(err));
        }
        struct log_batch_header hdr;
        T_ASSERT_EQ_INT(log_batch_validate(batch, bytes, true, &hdr), RILL_ERR_BAD_BATCH);
        T_ASSERT_OK(log_batch_validate(batch, bytes, false, &hdr));
    }
}

/* Offsets and timestamps wrap on hostile bases instead of overflowing (UBSan would trap). */
static void t_iter_extreme_bases(void)
{
    /* timestamp delta INT64_MAX (zigzag fe ff .. 01), offset delta INT32_MAX. */
    const uint8_t record[] = { 0x26, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x01, 0x00 };
    uint8_t batch[128];
    size_t bytes = raw_batch(batch, 0, 1, INT32_MAX, record, sizeof(record));
    log_put_be64(batch, (uint64_t)INT64_MAX);
    log_put_be64(batch + 27, (uint64_t)INT64_MAX);
    crc_refresh(batch, bytes);
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(batch, bytes, false, &hdr));
    struct log_record_iter it;
    log_record_iter_init(&it);
    T_ASSERT_OK(log_record_iter_start(&it, batch, bytes));
    struct log_record rec;
    T_ASSERT_OK(log_record_iter_next(&it, &rec));
    T_ASSERT_EQ_INT(rec.offset, INT64_MIN + INT32_MAX - 1);
    T_ASSERT_EQ_INT(rec.timestamp, -2);
    T_ASSERT(rec.key == NULL && rec.value == NULL);
    log_record_iter_deinit(&it);
}

static void t_iter_reused_across_batches(void)
{
    struct log_batch_builder none_bld, lz4_bld;
    uint8_t *none_batch, *lz4_batch_data;
    size_t none_bytes, lz4_bytes;
    build(&none_bld, LOG_CODEC_NONE, records_mixed, T_COUNT(records_mixed), &none_batch,
          &none_bytes);
    build(&lz4_bld, LOG_CODEC_LZ4, records_mixed, 3, &lz4_batch_data, &lz4_bytes);
    struct log_record_iter it;
    log_record_iter_init(&it);
    for (int round = 0; round < 4; round++) {
        bool lz4 = round % 2 == 0;
        T_ASSERT_OK(log_record_iter_start(&it, lz4 ? lz4_batch_data : none_batch,
                                          lz4 ? lz4_bytes : none_bytes));
        struct log_record rec;
        size_t count = 0;
        while (log_record_iter_next(&it, &rec) == RILL_OK) {
            expect_record(&rec, &records_mixed[count], (int64_t)count);
            count++;
        }
        T_ASSERT_EQ_INT(count, lz4 ? 3 : T_COUNT(records_mixed));
    }
    /* A failed start leaves an iterator at its end. */
    T_ASSERT_EQ_INT(log_record_iter_start(&it, none_batch, 10), RILL_ERR_BAD_BATCH);
    struct log_record rec;
    T_ASSERT_EQ_INT(log_record_iter_next(&it, &rec), RILL_ERR_END);
    log_record_iter_deinit(&it);
    log_record_iter_deinit(NULL);
    log_batch_builder_deinit(&none_bld);
    log_batch_builder_deinit(&lz4_bld);
}

static void t_record_header_bad_index(void)
{
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, LOG_CODEC_NONE, records_mixed, T_COUNT(records_mixed), &batch, &batch_bytes);
    struct log_record_iter it;
    log_record_iter_init(&it);
    T_ASSERT_OK(log_record_iter_start(&it, batch, batch_bytes));
    struct log_record rec;
    const uint8_t *name, *value;
    int32_t name_bytes, value_bytes;
    T_ASSERT_OK(log_record_iter_next(&it, &rec));
    T_ASSERT_EQ_INT(log_record_header(&rec, 0, &name, &name_bytes, &value, &value_bytes),
                    RILL_ERR_INVALID);
    for (int i = 0; i < 5; i++) {
        T_ASSERT_OK(log_record_iter_next(&it, &rec));
    }
    T_ASSERT_EQ_INT(rec.header_count, 4);
    T_ASSERT_EQ_INT(log_record_header(&rec, -1, &name, &name_bytes, &value, &value_bytes),
                    RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(log_record_header(&rec, 4, &name, &name_bytes, &value, &value_bytes),
                    RILL_ERR_INVALID);
    /* A record view whose header bytes were cut short reports corruption. */
    rec.headers_bytes -= 3;
    T_ASSERT_EQ_INT(log_record_header(&rec, 3, &name, &name_bytes, &value, &value_bytes),
                    RILL_ERR_CORRUPT);
    log_record_iter_deinit(&it);
    log_batch_builder_deinit(&bld);
}

/* Random damage to valid batches, with the CRC and length made consistent again so that the
 * record parser is reached: nothing crashes (the sanitizer builds check reads), and a batch
 * that passes strict validation uncompressed iterates exactly its record count. */
static void t_mutations_never_crash(void)
{
    struct log_batch_builder none_bld, lz4_bld;
    uint8_t *sources[2];
    size_t source_bytes[2];
    build(&none_bld, LOG_CODEC_NONE, records_mixed, T_COUNT(records_mixed), &sources[0],
          &source_bytes[0]);
    build(&lz4_bld, LOG_CODEC_LZ4, records_mixed, T_COUNT(records_mixed), &sources[1],
          &source_bytes[1]);
    uint64_t state = T_SEED;
    for (int round = 0; round < 20000; round++) {
        int which = round % 2;
        size_t bytes = source_bytes[which];
        uint8_t *copy = malloc(bytes);
        T_ASSERT(copy != NULL);
        memcpy(copy, sources[which], bytes);
        int mutations = 1 + (int)(t_rand(&state) % 4);
        for (int m = 0; m < mutations; m++) {
            size_t position = 21 + (size_t)(t_rand(&state) % (bytes - 21));
            copy[position] = (uint8_t)t_rand(&state);
        }
        crc_refresh(copy, bytes);
        struct log_batch_header hdr;
        rill_err strict = log_batch_validate(copy, bytes, true, &hdr);
        rill_err err;
        int32_t records = walk_all(copy, bytes, &err);
        if (strict == RILL_OK && log_batch_codec(&hdr) == LOG_CODEC_NONE) {
            T_ASSERT_EQ_INT(err, RILL_ERR_END);
            T_ASSERT_EQ_INT(records, hdr.record_count);
        }
        free(copy);
    }
    log_batch_builder_deinit(&none_bld);
    log_batch_builder_deinit(&lz4_bld);
}

/* ---------------------------------------------------------------------------------------- */
/* Seed corpus of fuzz_batch                                                                  */
/* ---------------------------------------------------------------------------------------- */

static void corpus_write(const char *dir, const char *name, const uint8_t *data, size_t bytes)
{
    if (dir == NULL) {
        return;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *file = fopen(path, "wb");
    if (file == NULL) {
        T_FAIL("cannot create %s: %s", path, strerror(errno));
    }
    T_ASSERT_EQ_INT(fwrite(data, 1, bytes, file), bytes);
    T_ASSERT_EQ_INT(fclose(file), 0);
}

/* Builds records with codec and writes the batch as name (also checks it is valid). */
static void corpus_batch(const char *dir,
                         const char *name,
                         int codec,
                         const rill_record_t *records,
                         size_t count,
                         size_t cut_bytes)
{
    struct log_batch_builder bld;
    uint8_t *batch;
    size_t batch_bytes;
    build(&bld, codec, records, count, &batch, &batch_bytes);
    log_batch_set_offset(batch, 1000, 3);
    corpus_write(dir, name, batch,
                 cut_bytes != 0 && cut_bytes < batch_bytes ? cut_bytes : batch_bytes);
    log_batch_builder_deinit(&bld);
}

static void t_write_corpus(void)
{
    const char *dir = getenv("RILL_WRITE_CORPUS");
    const rill_record_t plain[] = { { "key", 3, "value", 5, NULL, 0, NOW_MS } };
    const rill_record_t timestamps[] = { { "a", 1, "1", 1, NULL, 0, 5000 },
                                         { "b", 1, "2", 1, NULL, 0, 1000 },
                                         { NULL, 0, "3", 1, NULL, 0, 9000 } };
    rill_record_t repeated[40];
    for (size_t i = 0; i < T_COUNT(repeated); i++) {
        repeated[i] = records_mixed[i % T_COUNT(records_mixed)];
    }
    corpus_batch(dir, "none-one-record", LOG_CODEC_NONE, plain, 1, 0);
    corpus_batch(dir, "none-mixed-headers", LOG_CODEC_NONE, records_mixed, T_COUNT(records_mixed),
                 0);
    corpus_batch(dir, "none-timestamps", LOG_CODEC_NONE, timestamps, 3, 0);
    corpus_batch(dir, "lz4-one-record", LOG_CODEC_LZ4, plain, 1, 0);
    corpus_batch(dir, "lz4-mixed-headers", LOG_CODEC_LZ4, records_mixed, T_COUNT(records_mixed), 0);
    corpus_batch(dir, "lz4-repeated", LOG_CODEC_LZ4, repeated, T_COUNT(repeated), 0);
    corpus_batch(dir, "none-truncated", LOG_CODEC_NONE, records_mixed, T_COUNT(records_mixed), 90);
    corpus_batch(dir, "lz4-truncated", LOG_CODEC_LZ4, records_mixed, T_COUNT(records_mixed), 80);
    uint8_t batch[256];
    size_t bytes = raw_batch(batch, 0, 0, 2, NULL, 0);
    corpus_write(dir, "empty-batch", batch, bytes);
    const uint8_t control_record[] = { 0x20, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01,
                                       0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00 };
    bytes = raw_batch(batch, LOG_BATCH_ATTR_CONTROL | LOG_BATCH_ATTR_TRANSACTIONAL, 1, 0,
                      control_record, sizeof(control_record));
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(batch, bytes, true, &hdr));
    corpus_write(dir, "control-commit", batch, bytes);
    uint64_t state = 12345; /* fixed: the corpus must not change from run to run */
    for (size_t i = 0; i < 100; i++) {
        batch[i] = (uint8_t)t_rand(&state);
    }
    corpus_write(dir, "garbage", batch, 100);
}

static const struct t_case cases[] = {
    T_CASE(t_varint_boundaries),
    T_CASE(t_varint_random_round_trip),
    T_CASE(t_varint_rejects_malformed),
    T_CASE(t_round_trip_none),
    T_CASE(t_round_trip_lz4),
    T_CASE(t_encoding_exact),
    T_CASE(t_many_records_none),
    T_CASE(t_many_records_lz4),
    T_CASE(t_large_values_lz4),
    T_CASE(t_timestamps),
    T_CASE(t_log_append_time),
    T_CASE(t_set_offset_keeps_crc),
    T_CASE(t_bit_flips_caught),
    T_CASE(t_truncated_rejected),
    T_CASE(t_bad_magic),
    T_CASE(t_bad_lengths),
    T_CASE(t_attribute_bits),
    T_CASE(t_header_counts),
    T_CASE(t_strict_mode),
    T_CASE(t_empty_batch_iterates_nothing),
    T_CASE(t_foreign_batches),
    T_CASE(t_builder_too_large_leaves_builder_usable),
    T_CASE(t_builder_bytes_with_predicts_add),
    T_CASE(t_builder_invalid_input),
    T_CASE(t_builder_headers_max),
    T_CASE(t_builder_producer_and_reset),
    T_CASE(t_lz4_frame_matches_kafka),
    T_CASE(t_lz4_decompression_bomb),
    T_CASE(t_lz4_bad_frames),
    T_CASE(t_lz4_other_frame_options),
    T_CASE(t_iter_corrupt_records),
    T_CASE(t_iter_extreme_bases),
    T_CASE(t_iter_reused_across_batches),
    T_CASE(t_record_header_bad_index),
    T_CASE(t_mutations_never_crash),
    T_CASE(t_write_corpus),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
