/*
 * fuzz_meta_record.c - the input is one metadata record as the metadata log stores it: the
 * first byte is the record type (the record key), the rest the msgpack body (the value).
 *
 * Decoding must refuse or accept without touching memory it does not own. An accepted record
 * is then checked three ways: it encodes and decodes back to the same record (the encoder and
 * the bounded reader agree); validation and apply run on a state that already holds a few
 * topics, so that changes and deletes can succeed; and apply is deterministic: two equal states
 * given the same record stay equal, whether the record applied or was refused; and a record
 * that validates also applies.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/meta.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_meta_record: %s\n", what);
    abort();
}

static bool same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_record(const struct meta_record *a, const struct meta_record *b)
{
    if (a->type != b->type || !same_string(a->name, b->name) ||
        a->partition_count != b->partition_count || a->config_count != b->config_count ||
        a->producer_id_block_end != b->producer_id_block_end) {
        return false;
    }
    /* The decoder returns set entries before resets, as the encoder writes them. */
    for (uint32_t i = 0; i < a->config_count; i++) {
        if (!same_string(a->configs[i].key, b->configs[i].key) ||
            !same_string(a->configs[i].value, b->configs[i].value)) {
            return false;
        }
    }
    return true;
}

static void state_seed(struct meta_state *state)
{
    static const char *const names[] = { "t", "__t", "a.b-c_d" };
    meta_state_init(state);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct meta_record rec = { .type = META_RECORD_TOPIC_CREATED,
                                   .name = names[i],
                                   .partition_count = 1,
                                   .config_count = 1 };
        rec.configs[0] = (struct meta_config){ "retention.ms", "1000" };
        if (meta_apply(state, &rec) != RILL_OK) {
            fuzz_fail("seeding the state failed");
        }
    }
}

static void check_roundtrip(const struct meta_record *rec)
{
    uint8_t *body = NULL;
    size_t body_bytes = 0;
    if (meta_record_encode(rec, &body, &body_bytes) != RILL_OK) {
        fuzz_fail("a decoded record does not encode");
    }
    struct meta_record back;
    if (meta_record_decode((uint8_t)rec->type, body, body_bytes, &back) != RILL_OK) {
        fuzz_fail("an encoded record does not decode");
    }
    if (!same_record(rec, &back)) {
        fuzz_fail("a record changed through encode and decode");
    }
    meta_record_release(&back);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    struct meta_record rec;
    if (meta_record_decode(data[0], data + 1, size - 1, &rec) != RILL_OK) {
        return 0;
    }
    check_roundtrip(&rec);
    struct meta_state first, second;
    state_seed(&first);
    state_seed(&second);
    char errstr[256];
    rill_err err_valid = meta_validate(&first, &rec, errstr, sizeof(errstr));
    rill_err err_first = meta_apply(&first, &rec);
    rill_err err_second = meta_apply(&second, &rec);
    /* What validation lets through is written to the log, so it must apply. */
    if (err_valid == RILL_OK && err_first != RILL_OK) {
        fuzz_fail("a validated record does not apply");
    }
    if (err_first != err_second || !meta_state_equal(&first, &second)) {
        fuzz_fail("apply is not deterministic");
    }
    for (uint32_t i = 0; i < first.topic_count; i++) {
        struct log_config cfg;
        if (meta_topic_log_config(meta_topic_at(&first, i), &cfg) != RILL_OK) {
            fuzz_fail("no effective config for a topic");
        }
    }
    meta_state_deinit(&first);
    meta_state_deinit(&second);
    meta_record_release(&rec);
    return 0;
}
