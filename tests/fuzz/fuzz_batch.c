/*
 * fuzz_batch.c - the input is one record batch from a hostile peer or a damaged segment.
 *
 * Runs header decode, strict and non-strict validation, and walks every record and every
 * header. Most mutations break the CRC, which would hide the record parser from the fuzzer,
 * so the same walk runs again on a copy whose length field and CRC are made consistent.
 * Records that parse are then rebuilt with the builder (uncompressed and LZ4) and must read
 * back identically: a differential check of the encoder against the decoder.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "log/batch.h"

/* Bytes of one batch the rebuild step will take on; keeps each fuzz iteration fast. */
#define FUZZ_REBUILD_BYTES_MAX (1024u * 1024)

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_batch: %s\n", what);
    abort();
}

/* Touches every byte a view points at, so that ASan checks the bounds the parser returned. */
static uint32_t touch(const uint8_t *data, int32_t bytes)
{
    uint32_t sum = 0;
    for (int32_t i = 0; i < bytes; i++) {
        sum += data[i];
    }
    return sum;
}

static bool same_nullable(const uint8_t *a, int32_t a_bytes, const uint8_t *b, int32_t b_bytes)
{
    if (a_bytes != b_bytes) {
        return false;
    }
    return a_bytes <= 0 || memcmp(a, b, (size_t)a_bytes) == 0;
}

/* Converts a parsed record into builder input; headers go into the caller's array. */
static void
record_to_input(const struct log_record *rec, rill_header_t *headers, rill_record_t *out)
{
    for (int32_t h = 0; h < rec->header_count; h++) {
        const uint8_t *name, *value;
        int32_t name_bytes, value_bytes;
        if (log_record_header(rec, h, &name, &name_bytes, &value, &value_bytes) != RILL_OK) {
            fuzz_fail("a header the iterator accepted does not decode");
        }
        headers[h].name = (const char *)name;
        headers[h].name_bytes = (size_t)name_bytes;
        headers[h].value = value;
        headers[h].value_bytes = value_bytes < 0 ? 0 : (size_t)value_bytes;
    }
    out->key = rec->key;
    out->key_bytes = rec->key_bytes < 0 ? 0 : (size_t)rec->key_bytes;
    out->value = rec->value;
    out->value_bytes = rec->value_bytes < 0 ? 0 : (size_t)rec->value_bytes;
    out->headers = headers;
    out->header_count = (size_t)rec->header_count;
    out->timestamp_ms = rec->timestamp;
}

static void expect_same_record(const struct log_record *a, const struct log_record *b)
{
    if (!same_nullable(a->key, a->key_bytes, b->key, b->key_bytes) ||
        !same_nullable(a->value, a->value_bytes, b->value, b->value_bytes) ||
        a->header_count != b->header_count) {
        fuzz_fail("rebuilt record differs");
    }
    /* Compared decoded: the source may spell its varints in more bytes than needed. */
    for (int32_t h = 0; h < a->header_count; h++) {
        const uint8_t *a_name, *a_value, *b_name, *b_value;
        int32_t a_name_bytes, a_value_bytes, b_name_bytes, b_value_bytes;
        if (log_record_header(a, h, &a_name, &a_name_bytes, &a_value, &a_value_bytes) != RILL_OK ||
            log_record_header(b, h, &b_name, &b_name_bytes, &b_value, &b_value_bytes) != RILL_OK ||
            !same_nullable(a_name, a_name_bytes, b_name, b_name_bytes) ||
            !same_nullable(a_value, a_value_bytes, b_value, b_value_bytes)) {
            fuzz_fail("rebuilt header differs");
        }
    }
    /* A negative timestamp means "now" (0 here) to the builder. */
    if (b->timestamp != (a->timestamp < 0 ? 0 : a->timestamp)) {
        fuzz_fail("rebuilt timestamp differs");
    }
}

/* Rebuilds the first records of a batch with codec and checks they read back the same. */
static void rebuild(const uint8_t *batch, size_t batch_bytes, int codec, rill_header_t *headers)
{
    struct log_record_iter source, copy;
    struct log_batch_builder bld;
    log_record_iter_init(&source);
    log_record_iter_init(&copy);
    if (log_batch_builder_init(&bld, codec, FUZZ_REBUILD_BYTES_MAX) != RILL_OK ||
        log_record_iter_start(&source, batch, batch_bytes) != RILL_OK) {
        goto done;
    }
    struct log_record rec;
    while (log_record_iter_next(&source, &rec) == RILL_OK) {
        rill_record_t input;
        record_to_input(&rec, headers, &input);
        if (log_batch_builder_add(&bld, &input, 0) != RILL_OK) {
            break;
        }
    }
    uint8_t *built;
    size_t built_bytes;
    if (log_batch_builder_finish(&bld, &built, &built_bytes) != RILL_OK) {
        goto done;
    }
    struct log_batch_header hdr;
    if (log_batch_validate(built, built_bytes, true, &hdr) != RILL_OK ||
        log_record_iter_start(&source, batch, batch_bytes) != RILL_OK ||
        log_record_iter_start(&copy, built, built_bytes) != RILL_OK) {
        fuzz_fail("rebuilt batch does not validate");
    }
    struct log_record rebuilt;
    for (int32_t i = 0; i < hdr.record_count; i++) {
        if (log_record_iter_next(&source, &rec) != RILL_OK ||
            log_record_iter_next(&copy, &rebuilt) != RILL_OK) {
            fuzz_fail("rebuilt batch iterates differently");
        }
        expect_same_record(&rec, &rebuilt);
    }
done:
    log_batch_builder_deinit(&bld);
    log_record_iter_deinit(&copy);
    log_record_iter_deinit(&source);
}

/* Walks every record and header; returns true when the whole batch parsed. */
static bool walk(const uint8_t *batch, size_t batch_bytes)
{
    struct log_record_iter it;
    log_record_iter_init(&it);
    rill_err err = log_record_iter_start(&it, batch, batch_bytes);
    uint32_t sum = 0;
    struct log_record rec;
    while (err == RILL_OK && (err = log_record_iter_next(&it, &rec)) == RILL_OK) {
        sum += touch(rec.key, rec.key_bytes) + touch(rec.value, rec.value_bytes);
        for (int32_t h = 0; h < rec.header_count; h++) {
            const uint8_t *name, *value;
            int32_t name_bytes, value_bytes;
            if (log_record_header(&rec, h, &name, &name_bytes, &value, &value_bytes) != RILL_OK) {
                fuzz_fail("a header the iterator accepted does not decode");
            }
            sum += touch(name, name_bytes) + touch(value, value_bytes);
        }
    }
    log_record_iter_deinit(&it);
    __asm__ volatile("" : : "r"(sum)); /* keep the reads */
    return err == RILL_ERR_END;
}

static void check(const uint8_t *batch, size_t batch_bytes, rill_header_t *headers)
{
    struct log_batch_header hdr;
    rill_err decoded = log_batch_header_decode(batch, batch_bytes, &hdr);
    rill_err loose = log_batch_validate(batch, batch_bytes, false, &hdr);
    rill_err strict = log_batch_validate(batch, batch_bytes, true, &hdr);
    if ((strict == RILL_OK && loose != RILL_OK) || (loose == RILL_OK && decoded != RILL_OK)) {
        fuzz_fail("validation modes disagree");
    }
    bool parsed = walk(batch, batch_bytes);
    if (strict == RILL_OK && log_batch_codec(&hdr) == LOG_CODEC_NONE && !parsed) {
        fuzz_fail("a strictly valid uncompressed batch does not iterate");
    }
    if (parsed && batch_bytes <= FUZZ_REBUILD_BYTES_MAX) {
        rebuild(batch, batch_bytes, LOG_CODEC_NONE, headers);
        rebuild(batch, batch_bytes, LOG_CODEC_LZ4, headers);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rill_header_t headers[RILL_RECORD_HEADERS_MAX];
    check(data, size, headers);
    if (size < LOG_BATCH_HEADER_BYTES || size > RILL_BATCH_BYTES_MAX) {
        return 0;
    }
    uint8_t *copy = malloc(size);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    log_put_be32(copy + LOG_BATCH_LENGTH_OFFSET, (uint32_t)(size - LOG_BATCH_PREFIX_BYTES));
    log_put_be32(copy + 17, log_batch_crc_compute(copy, size));
    check(copy, size, headers);
    free(copy);
    return 0;
}
