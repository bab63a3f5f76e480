/*
 * meta_record.c - metadata records to and from bytes.
 *
 * A record is stored as one record of one batch in the metadata log: the key is one byte, the
 * record type (enum meta_record_type), and the value is a msgpack array whose shape the type
 * fixes:
 *   1 TOPIC_CREATED      [name: str, partition_count: uint, configs: map str -> str]
 *   2 CONFIG_CHANGED     [name: str, set: map str -> str, reset: array of str]
 *   3 TOPIC_DELETED      [name: str]
 *   4 PRODUCER_ID_BLOCK  [producer_id_block_end: uint]
 * Integers use msgpack's unsigned encodings (positive fixint, uint 8/16/32/64); strings any
 * str encoding. Nothing may follow the array.
 *
 * Encoding goes through msgpack-c's packer. Decoding reads hostile bytes (a damaged disk, the
 * fuzzer) with a small bounded reader for exactly these shapes instead of msgpack_unpack, which
 * would allocate from declared counts: here every length and count is checked against the
 * bytes left and the limits before anything is touched, and strings are copied, NUL-terminated,
 * into one buffer of at most body_bytes + a few bytes per string.
 */
#include "broker/meta.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/assert.h"

_Static_assert(META_RECORD_BYTES_MAX < RILL_BATCH_BYTES_DEFAULT / 2, "a record fits a batch");

/* ---- encoding ---- */

static int pack_str(msgpack_packer *packer, const char *text)
{
    size_t bytes = strlen(text);
    int rc = msgpack_pack_str(packer, bytes);
    return rc != 0 ? rc : msgpack_pack_str_body(packer, text, bytes);
}

/* Packs the entries with a value (set) as a map, or those without (reset) as an array. */
static int pack_configs(msgpack_packer *packer, const struct meta_record *rec, bool set)
{
    size_t count = 0;
    for (uint32_t i = 0; i < rec->config_count; i++) {
        count += (rec->configs[i].value != NULL) == set;
    }
    int rc = set ? msgpack_pack_map(packer, count) : msgpack_pack_array(packer, count);
    for (uint32_t i = 0; i < rec->config_count && rc == 0; i++) {
        if ((rec->configs[i].value != NULL) != set) {
            continue;
        }
        rc = pack_str(packer, rec->configs[i].key);
        if (rc == 0 && set) {
            rc = pack_str(packer, rec->configs[i].value);
        }
    }
    return rc;
}

static int pack_record(msgpack_packer *packer, const struct meta_record *rec)
{
    int rc;
    switch (rec->type) {
    case META_RECORD_TOPIC_CREATED:
        rc = msgpack_pack_array(packer, 3);
        rc = rc != 0 ? rc : pack_str(packer, rec->name);
        rc = rc != 0 ? rc : msgpack_pack_uint32(packer, (uint32_t)rec->partition_count);
        return rc != 0 ? rc : pack_configs(packer, rec, true);
    case META_RECORD_CONFIG_CHANGED:
        rc = msgpack_pack_array(packer, 3);
        rc = rc != 0 ? rc : pack_str(packer, rec->name);
        rc = rc != 0 ? rc : pack_configs(packer, rec, true);
        return rc != 0 ? rc : pack_configs(packer, rec, false);
    case META_RECORD_TOPIC_DELETED:
        rc = msgpack_pack_array(packer, 1);
        return rc != 0 ? rc : pack_str(packer, rec->name);
    case META_RECORD_PRODUCER_ID_BLOCK:
        rc = msgpack_pack_array(packer, 1);
        return rc != 0 ? rc : msgpack_pack_uint64(packer, (uint64_t)rec->producer_id_block_end);
    }
    RILL_UNREACHABLE();
}

rill_err meta_record_encode(const struct meta_record *rec, uint8_t **out_body, size_t *out_bytes)
{
    RILL_ASSERT(rec->config_count <= META_TOPIC_CONFIGS_MAX);
    RILL_ASSERT(rec->type == META_RECORD_PRODUCER_ID_BLOCK || rec->name != NULL);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer packer;
    msgpack_packer_init(&packer, &sbuf, msgpack_sbuffer_write);
    if (pack_record(&packer, rec) != 0) {
        msgpack_sbuffer_destroy(&sbuf);
        return RILL_ERR_NOMEM;
    }
    if (sbuf.size > META_RECORD_BYTES_MAX) {
        msgpack_sbuffer_destroy(&sbuf);
        return RILL_ERR_TOO_LARGE;
    }
    *out_bytes = sbuf.size;
    /* The sbuffer grows with realloc, so its data is freed with free() by the caller. */
    *out_body = (uint8_t *)msgpack_sbuffer_release(&sbuf);
    return RILL_OK;
}

/* ---- decoding ---- */

struct reader {
    const uint8_t *pos;
    const uint8_t *end;
    char *strings; /* next free byte of the string copies */
    char *strings_end;
};

static bool read_bytes(struct reader *rd, size_t bytes, const uint8_t **out)
{
    if ((size_t)(rd->end - rd->pos) < bytes) {
        return false;
    }
    *out = rd->pos;
    rd->pos += bytes;
    return true;
}

/* Big-endian unsigned of 1, 2, 4 or 8 bytes. */
static bool read_be(struct reader *rd, size_t bytes, uint64_t *out)
{
    const uint8_t *data;
    if (!read_bytes(rd, bytes, &data)) {
        return false;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; i++) {
        value = value << 8 | data[i];
    }
    *out = value;
    return true;
}

/* Length of a container or string whose fix form is fix_first..fix_first+fix_mask and whose
 * longer forms start at the tag long_first (8/16/32-bit lengths, or 16/32 when no 8). */
static bool read_length(struct reader *rd,
                        uint8_t fix_first,
                        uint8_t fix_mask,
                        uint8_t long_first,
                        bool has_8,
                        uint64_t *out)
{
    const uint8_t *tag;
    if (!read_bytes(rd, 1, &tag)) {
        return false;
    }
    if ((tag[0] & (uint8_t)~fix_mask) == fix_first) {
        *out = tag[0] & fix_mask;
        return true;
    }
    static const size_t widths_with_8[] = { 1, 2, 4 }, widths[] = { 2, 4 };
    size_t count = has_8 ? 3 : 2;
    for (size_t i = 0; i < count; i++) {
        if (tag[0] == long_first + i) {
            return read_be(rd, has_8 ? widths_with_8[i] : widths[i], out);
        }
    }
    return false;
}

static bool read_uint(struct reader *rd, uint64_t *out)
{
    const uint8_t *tag;
    if (!read_bytes(rd, 1, &tag)) {
        return false;
    }
    if (tag[0] <= 0x7f) {
        *out = tag[0];
        return true;
    }
    if (tag[0] < 0xcc || tag[0] > 0xcf) {
        return false;
    }
    return read_be(rd, (size_t)1 << (tag[0] - 0xcc), out);
}

/* An array of exactly count elements. */
static bool read_array_exact(struct reader *rd, uint64_t count)
{
    uint64_t found;
    return read_length(rd, 0x90, 0x0f, 0xdc, false, &found) && found == count;
}

/* A container count bounded by the limit and by the bytes left (each element takes >= 1). */
static bool read_count(struct reader *rd, bool map, uint32_t *out)
{
    uint64_t count;
    bool ok = map ? read_length(rd, 0x80, 0x0f, 0xde, false, &count)
                  : read_length(rd, 0x90, 0x0f, 0xdc, false, &count);
    if (!ok || count > META_TOPIC_CONFIGS_MAX || count > (uint64_t)(rd->end - rd->pos)) {
        return false;
    }
    *out = (uint32_t)count;
    return true;
}

/* A str of bytes_min..bytes_max bytes without NUL, copied NUL-terminated into the strings. */
static bool read_str(struct reader *rd, size_t bytes_min, size_t bytes_max, const char **out)
{
    uint64_t bytes;
    const uint8_t *data;
    if (!read_length(rd, 0xa0, 0x1f, 0xd9, true, &bytes) || bytes < bytes_min ||
        bytes > bytes_max || !read_bytes(rd, (size_t)bytes, &data) ||
        memchr(data, '\0', (size_t)bytes) != NULL) {
        return false;
    }
    RILL_ASSERT((size_t)(rd->strings_end - rd->strings) > bytes);
    memcpy(rd->strings, data, (size_t)bytes);
    rd->strings[bytes] = '\0';
    *out = rd->strings;
    rd->strings += bytes + 1;
    return true;
}

static bool read_name(struct reader *rd, struct meta_record *rec)
{
    /* Internal names are allowed: the record was validated with its flag before it was written. */
    return read_str(rd, 1, RILL_TOPIC_NAME_BYTES_MAX, &rec->name) &&
           meta_validate_topic_name(rec->name, strlen(rec->name), true) == RILL_OK;
}

static bool read_configs(struct reader *rd, struct meta_record *rec, bool set)
{
    uint32_t count;
    if (!read_count(rd, set, &count) || count > META_TOPIC_CONFIGS_MAX - rec->config_count) {
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        struct meta_config *config = &rec->configs[rec->config_count];
        config->value = NULL;
        if (!read_str(rd, 1, META_CONFIG_KEY_BYTES_MAX, &config->key) ||
            (set && !read_str(rd, 0, RILL_CONF_VALUE_BYTES_MAX - 1, &config->value))) {
            return false;
        }
        rec->config_count++;
    }
    return true;
}

static bool read_body(struct reader *rd, struct meta_record *rec)
{
    uint64_t number;
    switch (rec->type) {
    case META_RECORD_TOPIC_CREATED:
        if (!read_array_exact(rd, 3) || !read_name(rd, rec) || !read_uint(rd, &number) ||
            number < 1 || number > RILL_PARTITIONS_MAX) {
            return false;
        }
        rec->partition_count = (int32_t)number;
        return read_configs(rd, rec, true);
    case META_RECORD_CONFIG_CHANGED:
        return read_array_exact(rd, 3) && read_name(rd, rec) && read_configs(rd, rec, true) &&
               read_configs(rd, rec, false);
    case META_RECORD_TOPIC_DELETED:
        return read_array_exact(rd, 1) && read_name(rd, rec);
    case META_RECORD_PRODUCER_ID_BLOCK:
        if (!read_array_exact(rd, 1) || !read_uint(rd, &number) || number > INT64_MAX) {
            return false;
        }
        rec->producer_id_block_end = (int64_t)number;
        return true;
    }
    return false;
}

rill_err meta_record_decode(uint8_t type,
                            const uint8_t *body,
                            size_t body_bytes,
                            struct meta_record *out_rec)
{
    /* Every body is an array with an element: at least two bytes (and body is then not NULL). */
    if (type < META_RECORD_TOPIC_CREATED || type > META_RECORD_PRODUCER_ID_BLOCK ||
        body_bytes < 2 || body_bytes > META_RECORD_BYTES_MAX) {
        return RILL_ERR_CORRUPT;
    }
    /* Every string copy takes its bytes from the body plus one NUL: 1 + 2 * configs strings. */
    size_t strings_bytes = body_bytes + 2 + 2 * META_TOPIC_CONFIGS_MAX;
    struct meta_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = (enum meta_record_type)type;
    rec.storage = malloc(strings_bytes);
    if (rec.storage == NULL) {
        return RILL_ERR_NOMEM;
    }
    struct reader rd = { .pos = body,
                         .end = body + body_bytes,
                         .strings = rec.storage,
                         .strings_end = rec.storage + strings_bytes };
    if (!read_body(&rd, &rec) || rd.pos != rd.end) {
        free(rec.storage);
        return RILL_ERR_CORRUPT;
    }
    *out_rec = rec;
    return RILL_OK;
}

void meta_record_release(struct meta_record *rec)
{
    free(rec->storage);
    rec->storage = NULL;
}
