/*
 * fuzz_group_record.c - the input is one record of the offsets topic as the broker reads it
 * back: byte 0 holds flags (bit 0: the value is null, a tombstone), bytes 1-2 the key length
 * (big-endian), then the key, then the value (the rest of the input).
 *
 * Decoding must refuse or accept without touching memory it does not own. An accepted record
 * must encode back to bytes that decode to the same record, and must replay into a
 * coordinator (group_coord_load) so that OFFSET_FETCH then shows exactly that offset, or
 * nothing for a tombstone.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/group.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_group_record: %s\n", what);
    abort();
}

static bool same_str(struct proto_str a, struct proto_str b)
{
    if ((a.ptr == NULL) != (b.ptr == NULL) || a.bytes != b.bytes) {
        return false;
    }
    return a.bytes == 0 || memcmp(a.ptr, b.ptr, a.bytes) == 0;
}

static bool same_record(const struct group_offset_record *a, const struct group_offset_record *b)
{
    return same_str(a->group, b->group) && same_str(a->topic, b->topic) &&
           a->partition == b->partition && a->offset == b->offset &&
           same_str(a->metadata, b->metadata) &&
           (a->offset < 0 || a->commit_wall_ms == b->commit_wall_ms);
}

static void check_roundtrip(const struct group_offset_record *rec)
{
    static uint8_t key[GROUP_RECORD_KEY_BYTES_MAX];
    static uint8_t value[GROUP_RECORD_VALUE_BYTES_MAX];
    size_t key_bytes = group_record_key_encode(rec, key, sizeof(key));
    if (key_bytes == 0) {
        fuzz_fail("a decoded key does not encode");
    }
    size_t value_bytes = 0;
    if (rec->offset >= 0) {
        value_bytes = group_record_value_encode(rec, value, sizeof(value));
        if (value_bytes == 0) {
            fuzz_fail("a decoded value does not encode");
        }
    } else if (group_record_value_encode(rec, value, sizeof(value)) != 0) {
        fuzz_fail("a tombstone encodes a value");
    }
    struct group_offset_record back;
    if (group_record_decode(key, key_bytes, rec->offset >= 0 ? value : NULL, value_bytes, &back) !=
        RILL_OK) {
        fuzz_fail("an encoded record does not decode");
    }
    if (!same_record(rec, &back)) {
        fuzz_fail("a record changed through encode and decode");
    }
}

static int32_t no_partitions(void *ctx, const char *name, uint32_t bytes)
{
    (void)ctx;
    (void)name;
    (void)bytes;
    return -1;
}

static void no_topics(void *ctx,
                      void (*fn)(void *arg, const char *name, uint32_t bytes, int32_t partitions),
                      void *arg)
{
    (void)ctx;
    (void)fn;
    (void)arg;
}

static rill_err no_bounds(
    void *ctx, const char *name, uint32_t bytes, int32_t partition, int64_t *start, int64_t *end)
{
    (void)ctx;
    (void)name;
    (void)bytes;
    (void)partition;
    (void)start;
    (void)end;
    return RILL_ERR_UNKNOWN_TOPIC;
}

static void check_replay(const struct group_offset_record *rec)
{
    struct group_config cfg = { .session_timeout_min_ms = 1000,
                                .session_timeout_max_ms = 300000,
                                .rebalance_timeout_max_ms = 300000,
                                .members_max = 10,
                                .groups_max = 10,
                                .offsets_max = 10,
                                .retention_ms = 1000 };
    struct group_topics topics = { .partitions = no_partitions,
                                   .each = no_topics,
                                   .bounds = no_bounds };
    struct group_coord *coord = NULL;
    if (group_coord_create(&cfg, &topics, &coord) != RILL_OK) {
        fuzz_fail("create failed");
    }
    if (group_coord_load(coord, rec) != RILL_OK) {
        fuzz_fail("a decoded record does not load");
    }
    struct proto_arena arena;
    proto_arena_init(&arena, 1u << 20);
    struct proto_offset_fetch_request req = { .group = rec->group, .topics_all = true };
    struct proto_offset_fetch_response resp;
    if (group_offset_fetch(coord, &req, &arena, &resp) != RILL_OK || resp.error != RILL_OK) {
        fuzz_fail("fetch after load failed");
    }
    if (rec->offset < 0) {
        if (resp.topic_count != 0) {
            fuzz_fail("a tombstone left an offset");
        }
    } else if (resp.topic_count != 1 || resp.topics[0].partition_count != 1 ||
               !same_str(resp.topics[0].name, rec->topic) ||
               resp.topics[0].partitions[0].partition != rec->partition ||
               resp.topics[0].partitions[0].offset != rec->offset ||
               !same_str(resp.topics[0].partitions[0].metadata, rec->metadata)) {
        fuzz_fail("fetch does not show the loaded offset");
    }
    proto_arena_deinit(&arena);
    group_coord_destroy(coord);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    bool tombstone = (data[0] & 1u) != 0;
    size_t key_bytes = ((size_t)data[1] << 8) | data[2];
    if (key_bytes > size - 3) {
        return 0;
    }
    const uint8_t *key = data + 3;
    const uint8_t *value = tombstone ? NULL : key + key_bytes;
    size_t value_bytes = tombstone ? 0 : size - 3 - key_bytes;
    struct group_offset_record rec;
    if (group_record_decode(key, key_bytes, value, value_bytes, &rec) != RILL_OK) {
        return 0;
    }
    if (rec.offset < -1 || (tombstone != (rec.offset == -1))) {
        fuzz_fail("offset does not match the value's presence");
    }
    check_roundtrip(&rec);
    check_replay(&rec);
    return 0;
}
