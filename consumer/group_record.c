/*
 * group_record.c - the records of the offsets topic (group.h, docs/format.md "Offsets topic"):
 * key [1, group, topic, partition], value [offset, metadata?, commit_wall_ms] or null.
 *
 * The decoder treats its input as hostile: every field is type- and range-checked with the
 * bounded mp_reader, the key must hold exactly its four fields and nothing after them, and the
 * value may carry extra trailing fields (a later version may append some) but nothing after
 * its array.
 */
#include <string.h>

#include "consumer/group.h"
#include "proto/mp.h"

#define GROUP_RECORD_VERSION    1
#define GROUP_RECORD_KEY_FIELDS 4u
#define GROUP_RECORD_VALUE_MIN  3u

/* Copies a finished writer into buf; 0 when it failed or does not fit. */
static size_t writer_take(struct mp_writer *w, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    if (w->err == RILL_OK && w->bytes <= cap && w->bytes > 0) {
        memcpy(buf, w->data, w->bytes);
        n = w->bytes;
    }
    mp_writer_deinit(w);
    return n;
}

size_t group_record_key_encode(const struct group_offset_record *record, uint8_t *buf, size_t cap)
{
    if (record == NULL || buf == NULL || record->group.ptr == NULL || record->topic.ptr == NULL) {
        return 0;
    }
    struct mp_writer w;
    mp_writer_init(&w, cap);
    mp_write_array(&w, GROUP_RECORD_KEY_FIELDS);
    mp_write_int(&w, GROUP_RECORD_VERSION);
    mp_write_str(&w, record->group.ptr, record->group.bytes);
    mp_write_str(&w, record->topic.ptr, record->topic.bytes);
    mp_write_int(&w, record->partition);
    return writer_take(&w, buf, cap);
}

size_t group_record_value_encode(const struct group_offset_record *record, uint8_t *buf, size_t cap)
{
    if (record == NULL || buf == NULL || record->offset < 0) {
        return 0;
    }
    struct mp_writer w;
    mp_writer_init(&w, cap);
    mp_write_array(&w, GROUP_RECORD_VALUE_MIN);
    mp_write_int(&w, record->offset);
    mp_write_str_or_nil(&w, record->metadata.ptr, record->metadata.bytes);
    mp_write_int(&w, record->commit_wall_ms);
    return writer_take(&w, buf, cap);
}

static rill_err decode_key(const uint8_t *key, size_t key_bytes, struct group_offset_record *out)
{
    if (key == NULL || key_bytes == 0 || key_bytes > GROUP_RECORD_KEY_BYTES_MAX) {
        return RILL_ERR_CORRUPT;
    }
    struct mp_reader r;
    mp_reader_init(&r, key, key_bytes);
    uint32_t fields = 0;
    int64_t version = 0;
    if (!mp_read_array(&r, &fields) || fields != GROUP_RECORD_KEY_FIELDS ||
        !mp_read_int64(&r, &version) || version != GROUP_RECORD_VERSION ||
        !mp_read_str(&r, &out->group.ptr, &out->group.bytes) ||
        !mp_read_str(&r, &out->topic.ptr, &out->topic.bytes) ||
        !mp_read_int32(&r, &out->partition) || mp_reader_remaining(&r) != 0) {
        return RILL_ERR_CORRUPT;
    }
    if (!proto_group_id_valid(out->group.ptr, out->group.bytes) ||
        !proto_topic_name_valid(out->topic.ptr, out->topic.bytes, true) || out->partition < 0 ||
        out->partition >= RILL_PARTITIONS_MAX) {
        return RILL_ERR_CORRUPT;
    }
    return RILL_OK;
}

static rill_err
decode_value(const uint8_t *value, size_t value_bytes, struct group_offset_record *out)
{
    if (value_bytes == 0 || value_bytes > GROUP_RECORD_VALUE_BYTES_MAX) {
        return RILL_ERR_CORRUPT;
    }
    struct mp_reader r;
    mp_reader_init(&r, value, value_bytes);
    uint32_t fields = 0;
    if (!mp_read_array(&r, &fields) || fields < GROUP_RECORD_VALUE_MIN ||
        !mp_read_int64(&r, &out->offset) ||
        !mp_read_str_or_nil(&r, &out->metadata.ptr, &out->metadata.bytes) ||
        !mp_read_int64(&r, &out->commit_wall_ms)) {
        return RILL_ERR_CORRUPT;
    }
    for (uint32_t i = GROUP_RECORD_VALUE_MIN; i < fields; i++) {
        if (!mp_skip(&r)) {
            return RILL_ERR_CORRUPT;
        }
    }
    if (mp_reader_remaining(&r) != 0 || out->offset < 0 ||
        out->metadata.bytes > PROTO_COMMIT_METADATA_BYTES_MAX) {
        return RILL_ERR_CORRUPT;
    }
    return RILL_OK;
}

rill_err group_record_decode(const uint8_t *key,
                             size_t key_bytes,
                             const uint8_t *value,
                             size_t value_bytes,
                             struct group_offset_record *out)
{
    if (out == NULL) {
        return RILL_ERR_INVALID;
    }
    struct group_offset_record rec = { 0 };
    rill_err err = decode_key(key, key_bytes, &rec);
    if (err != RILL_OK) {
        return err;
    }
    if (value == NULL) {
        if (value_bytes != 0) {
            return RILL_ERR_CORRUPT;
        }
        rec.offset = -1;
        rec.metadata = (struct proto_str){ 0 };
        rec.commit_wall_ms = 0;
    } else {
        err = decode_value(value, value_bytes, &rec);
        if (err != RILL_OK) {
            return err;
        }
    }
    *out = rec;
    return RILL_OK;
}
