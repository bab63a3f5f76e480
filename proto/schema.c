/*
 * schema.c - the schema walker behind every body codec (schema.h). Decoding bounds: each
 * array's declared count is checked against the remaining input by mp.c and against the
 * request's entry budget by the arena before anything is allocated; recursion follows the
 * schema (a few levels), never the input.
 */
#include "proto/schema.h"

#include <string.h>

#include "common/assert.h"
#include "proto/api.h"
#include "proto/frame.h"

struct decoder {
    struct mp_reader *reader;
    struct proto_arena *arena;
    rill_err err; /* beyond the reader's: RILL_ERR_NOMEM from the arena */
};

static bool
decode_struct(struct decoder *decoder, const struct proto_schema *schema, uint8_t *base);

static bool decoder_fail(struct decoder *decoder, rill_err err)
{
    if (decoder->err == RILL_OK) {
        decoder->err = err;
    }
    return mp_reader_fail(decoder->reader);
}

/* Reads an array (or map) header, charges its entries to the budget and allocates them. */
static bool decode_entries(struct decoder *decoder,
                           bool map,
                           size_t element_bytes,
                           uint32_t *out_count,
                           void **out_elements)
{
    uint32_t count = 0;
    bool header_ok =
        map ? mp_read_map(decoder->reader, &count) : mp_read_array(decoder->reader, &count);
    if (!header_ok) {
        return false;
    }
    if (!proto_arena_take_entries(decoder->arena, count)) {
        return decoder_fail(decoder, RILL_ERR_INVALID_REQUEST);
    }
    void *elements = proto_arena_alloc(decoder->arena, count, element_bytes);
    if (count > 0 && elements == NULL) {
        return decoder_fail(decoder, decoder->arena->err == RILL_ERR_NOMEM
                                         ? RILL_ERR_NOMEM
                                         : RILL_ERR_INVALID_REQUEST);
    }
    *out_count = count;
    *out_elements = elements;
    return true;
}

static bool decode_str(struct decoder *decoder, bool nil_allowed, struct proto_str *out)
{
    if (nil_allowed) {
        return mp_read_str_or_nil(decoder->reader, &out->ptr, &out->bytes);
    }
    return mp_read_str(decoder->reader, &out->ptr, &out->bytes);
}

static bool decode_configs(struct decoder *decoder,
                           bool nil_values,
                           uint8_t *base,
                           const struct proto_field *field)
{
    uint32_t count = 0;
    void *elements = NULL;
    if (!decode_entries(decoder, true, sizeof(struct proto_config), &count, &elements)) {
        return false;
    }
    struct proto_config *configs = elements;
    for (uint32_t i = 0; i < count; i++) {
        if (!decode_str(decoder, false, &configs[i].key) ||
            !decode_str(decoder, nil_values, &configs[i].value)) {
            return false;
        }
    }
    memcpy(base + field->offset, &elements, sizeof(elements));
    memcpy(base + field->count_offset, &count, sizeof(count));
    return true;
}

static bool decode_array(struct decoder *decoder, uint8_t *base, const struct proto_field *field)
{
    if (field->kind == PROTO_FIELD_STR_ARRAY_OR_NIL) {
        bool nil = mp_peek_nil(decoder->reader);
        memcpy(base + field->nil_offset, &nil, sizeof(nil));
        if (nil) {
            return mp_read_nil(decoder->reader);
        }
    }
    size_t element_bytes = field->kind == PROTO_FIELD_ARRAY         ? field->element->struct_bytes
                           : field->kind == PROTO_FIELD_INT32_ARRAY ? sizeof(int32_t)
                                                                    : sizeof(struct proto_str);
    uint32_t count = 0;
    void *elements = NULL;
    if (!decode_entries(decoder, false, element_bytes, &count, &elements)) {
        return false;
    }
    uint8_t *element = elements;
    for (uint32_t i = 0; i < count; i++, element += element_bytes) {
        bool ok = field->kind == PROTO_FIELD_ARRAY ? decode_struct(decoder, field->element, element)
                  : field->kind == PROTO_FIELD_INT32_ARRAY
                      ? mp_read_int32(decoder->reader, (int32_t *)(void *)element)
                      : decode_str(decoder, false, (struct proto_str *)(void *)element);
        if (!ok) {
            return false;
        }
    }
    memcpy(base + field->offset, &elements, sizeof(elements));
    memcpy(base + field->count_offset, &count, sizeof(count));
    return true;
}

static bool decode_field(struct decoder *decoder, uint8_t *base, const struct proto_field *field)
{
    struct mp_reader *reader = decoder->reader;
    void *value = base + field->offset;
    switch (field->kind) {
    case PROTO_FIELD_INT32:
        return mp_read_int32(reader, value);
    case PROTO_FIELD_INT64:
        return mp_read_int64(reader, value);
    case PROTO_FIELD_UINT32:
        return mp_read_uint32(reader, value);
    case PROTO_FIELD_UINT64:
        return mp_read_uint64(reader, value);
    case PROTO_FIELD_BOOL:
        return mp_read_bool(reader, value);
    case PROTO_FIELD_STR:
        return decode_str(decoder, false, value);
    case PROTO_FIELD_STR_OR_NIL:
        return decode_str(decoder, true, value);
    case PROTO_FIELD_BIN: {
        struct proto_bin *bin = value;
        return mp_read_bin(reader, &bin->ptr, &bin->bytes);
    }
    case PROTO_FIELD_CONFIGS:
        return decode_configs(decoder, false, base, field);
    case PROTO_FIELD_CONFIGS_NIL_VALUE:
        return decode_configs(decoder, true, base, field);
    case PROTO_FIELD_ARRAY:
    case PROTO_FIELD_INT32_ARRAY:
    case PROTO_FIELD_STR_ARRAY:
    case PROTO_FIELD_STR_ARRAY_OR_NIL:
        return decode_array(decoder, base, field);
    }
    RILL_UNREACHABLE();
}

static bool decode_struct(struct decoder *decoder, const struct proto_schema *schema, uint8_t *base)
{
    uint32_t count = 0;
    if (!mp_read_array(decoder->reader, &count)) {
        return false;
    }
    if (count < schema->field_count) {
        return mp_reader_fail(decoder->reader);
    }
    for (uint32_t i = 0; i < schema->field_count; i++) {
        if (!decode_field(decoder, base, &schema->fields[i])) {
            return false;
        }
    }
    return proto_skip_extra(decoder->reader, count, schema->field_count);
}

/* The largest top-level body struct, decoded here first so that out is written on success
 * only. */
#define SCHEMA_SCRATCH_BYTES 256u

rill_err proto_schema_decode(const struct proto_schema *schema,
                             struct mp_reader *reader,
                             struct proto_arena *arena,
                             void *out)
{
    RILL_ASSERT(schema->struct_bytes <= SCHEMA_SCRATCH_BYTES);
    _Alignas(max_align_t) uint8_t scratch[SCHEMA_SCRATCH_BYTES];
    memset(scratch, 0, sizeof(scratch));
    struct decoder decoder = { .reader = reader, .arena = arena, .err = RILL_OK };
    if (!decode_struct(&decoder, schema, scratch)) {
        mp_reader_fail(reader);
        return decoder.err != RILL_OK ? decoder.err : reader->err;
    }
    memcpy(out, scratch, schema->struct_bytes);
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static bool
encode_struct(struct mp_writer *writer, const struct proto_schema *schema, const uint8_t *base);

/* A str the peer's decoder would accept: at most MP_STR_BYTES_MAX bytes. */
static bool encode_str(struct mp_writer *writer, const struct proto_str *str, bool nil_allowed)
{
    if (str->ptr == NULL && nil_allowed) {
        return mp_write_nil(writer);
    }
    RILL_ASSERT(str->ptr != NULL || str->bytes == 0);
    if (str->bytes > MP_STR_BYTES_MAX) {
        if (writer->err == RILL_OK) {
            writer->err = RILL_ERR_TOO_LARGE;
        }
        return false;
    }
    return mp_write_str(writer, str->ptr != NULL ? str->ptr : "", str->bytes);
}

static bool
encode_array(struct mp_writer *writer, const uint8_t *base, const struct proto_field *field)
{
    if (field->kind == PROTO_FIELD_STR_ARRAY_OR_NIL && *(const bool *)(base + field->nil_offset)) {
        return mp_write_nil(writer);
    }
    const uint8_t *element = NULL;
    uint32_t count = 0;
    memcpy(&element, base + field->offset, sizeof(element));
    memcpy(&count, base + field->count_offset, sizeof(count));
    RILL_ASSERT(count == 0 || element != NULL);
    bool configs =
        field->kind == PROTO_FIELD_CONFIGS || field->kind == PROTO_FIELD_CONFIGS_NIL_VALUE;
    if (!(configs ? mp_write_map(writer, count) : mp_write_array(writer, count))) {
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        bool ok;
        if (field->kind == PROTO_FIELD_ARRAY) {
            ok = encode_struct(writer, field->element, element);
            element += field->element->struct_bytes;
        } else if (field->kind == PROTO_FIELD_INT32_ARRAY) {
            ok = mp_write_int(writer, *(const int32_t *)(const void *)element);
            element += sizeof(int32_t);
        } else if (configs) {
            const struct proto_config *config = (const void *)element;
            ok = encode_str(writer, &config->key, false) &&
                 encode_str(writer, &config->value, field->kind == PROTO_FIELD_CONFIGS_NIL_VALUE);
            element += sizeof(struct proto_config);
        } else {
            ok = encode_str(writer, (const void *)element, false);
            element += sizeof(struct proto_str);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool
encode_field(struct mp_writer *writer, const uint8_t *base, const struct proto_field *field)
{
    const void *value = base + field->offset;
    switch (field->kind) {
    case PROTO_FIELD_INT32:
        return mp_write_int(writer, *(const int32_t *)value);
    case PROTO_FIELD_INT64:
        return mp_write_int(writer, *(const int64_t *)value);
    case PROTO_FIELD_UINT32:
        return mp_write_uint(writer, *(const uint32_t *)value);
    case PROTO_FIELD_UINT64:
        return mp_write_uint(writer, *(const uint64_t *)value);
    case PROTO_FIELD_BOOL:
        return mp_write_bool(writer, *(const bool *)value);
    case PROTO_FIELD_STR:
        return encode_str(writer, value, false);
    case PROTO_FIELD_STR_OR_NIL:
        return encode_str(writer, value, true);
    case PROTO_FIELD_BIN: {
        const struct proto_bin *bin = value;
        RILL_ASSERT(bin->ptr != NULL || bin->bytes == 0);
        return mp_write_bin(writer, bin->ptr, bin->bytes);
    }
    case PROTO_FIELD_ARRAY:
    case PROTO_FIELD_INT32_ARRAY:
    case PROTO_FIELD_STR_ARRAY:
    case PROTO_FIELD_STR_ARRAY_OR_NIL:
    case PROTO_FIELD_CONFIGS:
    case PROTO_FIELD_CONFIGS_NIL_VALUE:
        return encode_array(writer, base, field);
    }
    RILL_UNREACHABLE();
}

static bool
encode_struct(struct mp_writer *writer, const struct proto_schema *schema, const uint8_t *base)
{
    if (!mp_write_array(writer, schema->field_count)) {
        return false;
    }
    for (uint32_t i = 0; i < schema->field_count; i++) {
        if (!encode_field(writer, base, &schema->fields[i])) {
            return false;
        }
    }
    return true;
}

rill_err proto_schema_encode(const struct proto_schema *schema,
                             struct mp_writer *writer,
                             const void *message)
{
    RILL_ASSERT(message != NULL);
    if (!encode_struct(writer, schema, message)) {
        return writer->err;
    }
    return RILL_OK;
}
