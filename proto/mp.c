/*
 * mp.c - the MessagePack reader and writer of mp.h. The reader never reads a byte before
 * checking it is inside [pos, end) and never trusts a declared length beyond the remaining
 * input; the writer never grows past bytes_max.
 */
#include "proto/mp.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"

/* ---------------------------------------------------------------------------------------- */
/* Reader                                                                                     */
/* ---------------------------------------------------------------------------------------- */

void mp_reader_init(struct mp_reader *reader, const void *data, size_t bytes_count)
{
    RILL_ASSERT(reader != NULL);
    RILL_ASSERT(data != NULL || bytes_count == 0);
    reader->pos = data;
    reader->end = reader->pos + bytes_count;
    reader->err = RILL_OK;
}

size_t mp_reader_remaining(const struct mp_reader *reader)
{
    return (size_t)(reader->end - reader->pos);
}

bool mp_reader_fail(struct mp_reader *reader)
{
    if (reader->err == RILL_OK) {
        reader->err = RILL_ERR_INVALID_REQUEST;
    }
    return false;
}

static uint64_t load_be(const uint8_t *bytes, unsigned width)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < width; i++) {
        value = (value << 8) | bytes[i];
    }
    return value;
}

/* Reads a width-byte big-endian value (width 1, 2, 4 or 8) after checking it is there. */
static bool read_be(struct mp_reader *reader, unsigned width, uint64_t *out_value)
{
    if (reader->err != RILL_OK || mp_reader_remaining(reader) < width) {
        return mp_reader_fail(reader);
    }
    *out_value = load_be(reader->pos, width);
    reader->pos += width;
    return true;
}

static bool read_type(struct mp_reader *reader, uint8_t *out_type)
{
    if (reader->err != RILL_OK || reader->pos >= reader->end) {
        return mp_reader_fail(reader);
    }
    *out_type = *reader->pos++;
    return true;
}

/* Reads an array or map header; a map's pairs count as two elements against the input. */
static bool read_container(struct mp_reader *reader, bool map, uint32_t *out_count)
{
    const uint8_t *start = reader->pos;
    uint8_t type = 0;
    uint64_t count = 0;
    if (!read_type(reader, &type)) {
        return false;
    }
    uint8_t fix_tag = map ? 0x80 : 0x90;
    uint8_t tag16 = map ? 0xde : 0xdc;
    if ((type & 0xf0) == fix_tag) {
        count = type & 0x0f;
    } else if (type == tag16 || type == tag16 + 1) {
        if (!read_be(reader, type == tag16 ? 2 : 4, &count)) {
            return false;
        }
    } else {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    uint64_t elements = map ? count * 2 : count;
    if (elements > mp_reader_remaining(reader)) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    *out_count = (uint32_t)count;
    return true;
}

bool mp_read_array(struct mp_reader *reader, uint32_t *out_count)
{
    return read_container(reader, false, out_count);
}

bool mp_read_map(struct mp_reader *reader, uint32_t *out_count)
{
    return read_container(reader, true, out_count);
}

/* Any integer encoding. Non-negative values come back in *out_magnitude with *out_negative
 * false; negative ones in *out_signed with *out_negative true. */
static bool read_integer(struct mp_reader *reader,
                         bool *out_negative,
                         uint64_t *out_magnitude,
                         int64_t *out_signed)
{
    const uint8_t *start = reader->pos;
    uint8_t type = 0;
    uint64_t raw = 0;
    if (!read_type(reader, &type)) {
        return false;
    }
    int64_t value = 0;
    if (type <= 0x7f) {
        *out_negative = false;
        *out_magnitude = type;
        return true;
    }
    if (type >= 0xe0) {
        value = (int8_t)type;
    } else if (type >= 0xcc && type <= 0xcf) {
        if (!read_be(reader, 1u << (type - 0xcc), &raw)) {
            return false;
        }
        *out_negative = false;
        *out_magnitude = raw;
        return true;
    } else if (type >= 0xd0 && type <= 0xd3) {
        unsigned width = 1u << (type - 0xd0);
        if (!read_be(reader, width, &raw)) {
            return false;
        }
        /* Sign-extend from width bytes. */
        unsigned shift = 64 - width * 8;
        value = shift == 0 ? (int64_t)raw : (int64_t)(raw << shift) >> shift;
    } else {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    *out_negative = value < 0;
    if (value < 0) {
        *out_signed = value;
    } else {
        *out_magnitude = (uint64_t)value;
    }
    return true;
}

bool mp_read_int64(struct mp_reader *reader, int64_t *out_value)
{
    const uint8_t *start = reader->pos;
    bool negative = false;
    uint64_t magnitude = 0;
    int64_t signed_value = 0;
    if (!read_integer(reader, &negative, &magnitude, &signed_value)) {
        return false;
    }
    if (!negative && magnitude > (uint64_t)INT64_MAX) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    *out_value = negative ? signed_value : (int64_t)magnitude;
    return true;
}

bool mp_read_uint64(struct mp_reader *reader, uint64_t *out_value)
{
    const uint8_t *start = reader->pos;
    bool negative = false;
    uint64_t magnitude = 0;
    int64_t signed_value = 0;
    if (!read_integer(reader, &negative, &magnitude, &signed_value)) {
        return false;
    }
    if (negative) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    *out_value = magnitude;
    return true;
}

bool mp_read_int32(struct mp_reader *reader, int32_t *out_value)
{
    const uint8_t *start = reader->pos;
    int64_t value = 0;
    if (!mp_read_int64(reader, &value)) {
        return false;
    }
    if (value < INT32_MIN || value > INT32_MAX) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    *out_value = (int32_t)value;
    return true;
}

bool mp_read_uint32(struct mp_reader *reader, uint32_t *out_value)
{
    const uint8_t *start = reader->pos;
    uint64_t value = 0;
    if (!mp_read_uint64(reader, &value)) {
        return false;
    }
    if (value > UINT32_MAX) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    *out_value = (uint32_t)value;
    return true;
}

bool mp_read_bool(struct mp_reader *reader, bool *out_value)
{
    uint8_t type = 0;
    if (!read_type(reader, &type)) {
        return false;
    }
    if (type != 0xc2 && type != 0xc3) {
        reader->pos--;
        return mp_reader_fail(reader);
    }
    *out_value = type == 0xc3;
    return true;
}

bool mp_read_nil(struct mp_reader *reader)
{
    uint8_t type = 0;
    if (!read_type(reader, &type)) {
        return false;
    }
    if (type != 0xc0) {
        reader->pos--;
        return mp_reader_fail(reader);
    }
    return true;
}

bool mp_peek_nil(const struct mp_reader *reader)
{
    return reader->err == RILL_OK && reader->pos < reader->end && *reader->pos == 0xc0;
}

/* Reads the bytes_count payload bytes that follow a str or bin header. */
static bool read_payload(struct mp_reader *reader,
                         const uint8_t *start,
                         uint64_t bytes_count,
                         const uint8_t **out_ptr,
                         uint32_t *out_bytes)
{
    if (bytes_count > mp_reader_remaining(reader)) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    *out_ptr = reader->pos;
    *out_bytes = (uint32_t)bytes_count;
    reader->pos += bytes_count;
    return true;
}

bool mp_read_str(struct mp_reader *reader, const char **out_ptr, uint32_t *out_bytes)
{
    const uint8_t *start = reader->pos;
    uint8_t type = 0;
    uint64_t bytes_count = 0;
    if (!read_type(reader, &type)) {
        return false;
    }
    if ((type & 0xe0) == 0xa0) {
        bytes_count = type & 0x1f;
    } else if (type >= 0xd9 && type <= 0xdb) {
        if (!read_be(reader, 1u << (type - 0xd9), &bytes_count)) {
            return false;
        }
    } else {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    if (bytes_count > MP_STR_BYTES_MAX) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    const uint8_t *ptr = NULL;
    if (!read_payload(reader, start, bytes_count, &ptr, out_bytes)) {
        return false;
    }
    *out_ptr = (const char *)ptr;
    return true;
}

bool mp_read_str_or_nil(struct mp_reader *reader, const char **out_ptr, uint32_t *out_bytes)
{
    if (mp_peek_nil(reader)) {
        reader->pos++;
        *out_ptr = NULL;
        *out_bytes = 0;
        return true;
    }
    return mp_read_str(reader, out_ptr, out_bytes);
}

bool mp_read_bin(struct mp_reader *reader, const uint8_t **out_ptr, uint32_t *out_bytes)
{
    const uint8_t *start = reader->pos;
    uint8_t type = 0;
    uint64_t bytes_count = 0;
    if (!read_type(reader, &type)) {
        return false;
    }
    if (type < 0xc4 || type > 0xc6) {
        reader->pos = start;
        return mp_reader_fail(reader);
    }
    if (!read_be(reader, 1u << (type - 0xc4), &bytes_count)) {
        return false;
    }
    return read_payload(reader, start, bytes_count, out_ptr, out_bytes);
}

/* Skips the payload of a length-prefixed value (str, bin, ext) whose length takes width
 * bytes; extra is added to the length (ext carries one type byte). */
static bool skip_sized(struct mp_reader *reader, unsigned width, uint64_t extra)
{
    uint64_t bytes_count = 0;
    if (!read_be(reader, width, &bytes_count)) {
        return false;
    }
    bytes_count += extra;
    if (bytes_count > mp_reader_remaining(reader)) {
        return mp_reader_fail(reader);
    }
    reader->pos += bytes_count;
    return true;
}

static bool skip_fixed(struct mp_reader *reader, uint64_t bytes_count)
{
    if (bytes_count > mp_reader_remaining(reader)) {
        return mp_reader_fail(reader);
    }
    reader->pos += bytes_count;
    return true;
}

/* Skips one non-container value whose type byte was read; containers set *out_children. */
static bool skip_one(struct mp_reader *reader, uint8_t type, uint64_t *out_children)
{
    *out_children = 0;
    if (type <= 0x7f || type >= 0xe0 || (type >= 0xc0 && type <= 0xc3 && type != 0xc1)) {
        return true;
    }
    if ((type & 0xf0) == 0x80 || (type & 0xf0) == 0x90) {
        uint64_t count = type & 0x0f;
        *out_children = (type & 0xf0) == 0x80 ? count * 2 : count;
        return true;
    }
    if ((type & 0xe0) == 0xa0) {
        return skip_fixed(reader, type & 0x1f);
    }
    switch (type) {
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return skip_sized(reader, 1u << (type - 0xc4), 0);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        return skip_sized(reader, 1u << (type - 0xc7), 1);
    case 0xca:
        return skip_fixed(reader, 4);
    case 0xcb:
        return skip_fixed(reader, 8);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        return skip_fixed(reader, 1u << (type - 0xcc));
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        return skip_fixed(reader, 1u << (type - 0xd0));
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return skip_fixed(reader, 1 + (1u << (type - 0xd4)));
    case 0xd9:
    case 0xda:
    case 0xdb:
        return skip_sized(reader, 1u << (type - 0xd9), 0);
    default:
        break;
    }
    uint64_t count = 0;
    if (type == 0xdc || type == 0xde) {
        if (!read_be(reader, 2, &count)) {
            return false;
        }
    } else if (type == 0xdd || type == 0xdf) {
        if (!read_be(reader, 4, &count)) {
            return false;
        }
    } else {
        return mp_reader_fail(reader); /* 0xc1 is never used */
    }
    *out_children = type >= 0xde ? count * 2 : count;
    return true;
}

static bool is_container(uint8_t type)
{
    return (type & 0xe0) == 0x80 || (type >= 0xdc && type <= 0xdf);
}

bool mp_skip(struct mp_reader *reader)
{
    /* pending[d] = values still to skip at nesting depth d; depth 0 is the value itself. */
    uint64_t pending[MP_DEPTH_MAX + 1];
    unsigned depth = 0;
    pending[0] = 1;
    for (;;) {
        if (pending[depth] == 0) {
            if (depth == 0) {
                return true;
            }
            depth--;
            continue;
        }
        pending[depth]--;
        uint8_t type = 0;
        uint64_t children = 0;
        if (!read_type(reader, &type) || !skip_one(reader, type, &children)) {
            return false;
        }
        if (!is_container(type)) {
            continue;
        }
        /* Each child takes at least one byte: a count beyond the input is malformed. */
        if (depth == MP_DEPTH_MAX || children > mp_reader_remaining(reader)) {
            return mp_reader_fail(reader);
        }
        pending[++depth] = children;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                     */
/* ---------------------------------------------------------------------------------------- */

void mp_writer_init(struct mp_writer *writer, size_t bytes_max)
{
    RILL_ASSERT(writer != NULL);
    memset(writer, 0, sizeof(*writer));
    writer->bytes_max = bytes_max;
    writer->err = RILL_OK;
}

void mp_writer_reset(struct mp_writer *writer)
{
    writer->bytes = 0;
    writer->frame_start = 0;
    writer->frame_open = false;
    writer->err = RILL_OK;
}

void mp_writer_deinit(struct mp_writer *writer)
{
    free(writer->data);
    memset(writer, 0, sizeof(*writer));
}

/* Makes room for bytes_count more bytes; returns where they go, or NULL with err set. */
static uint8_t *writer_grow(struct mp_writer *writer, size_t bytes_count)
{
    if (writer->err != RILL_OK) {
        return NULL;
    }
    if (bytes_count > writer->bytes_max - writer->bytes) {
        writer->err = RILL_ERR_TOO_LARGE;
        return NULL;
    }
    size_t needed = writer->bytes + bytes_count;
    if (needed > writer->capacity_bytes) {
        size_t capacity = writer->capacity_bytes < 256 ? 256 : writer->capacity_bytes;
        while (capacity < needed) {
            capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
        }
        if (capacity > writer->bytes_max) {
            capacity = writer->bytes_max;
        }
        uint8_t *data = realloc(writer->data, capacity);
        if (data == NULL) {
            writer->err = RILL_ERR_NOMEM;
            return NULL;
        }
        writer->data = data;
        writer->capacity_bytes = capacity;
    }
    uint8_t *out = writer->data + writer->bytes;
    writer->bytes += bytes_count;
    return out;
}

static void store_be(uint8_t *out, uint64_t value, unsigned width)
{
    for (unsigned i = 0; i < width; i++) {
        out[i] = (uint8_t)(value >> (8 * (width - 1 - i)));
    }
}

/* One type byte followed by a width-byte big-endian value (width 0 writes the type alone). */
static bool write_tagged(struct mp_writer *writer, uint8_t type, uint64_t value, unsigned width)
{
    uint8_t *out = writer_grow(writer, 1 + (size_t)width);
    if (out == NULL) {
        return false;
    }
    out[0] = type;
    store_be(out + 1, value, width);
    return true;
}

bool mp_write_raw(struct mp_writer *writer, const void *ptr, size_t bytes_count)
{
    uint8_t *out = writer_grow(writer, bytes_count);
    if (out == NULL) {
        return false;
    }
    if (bytes_count > 0) {
        memcpy(out, ptr, bytes_count);
    }
    return true;
}

bool mp_write_array(struct mp_writer *writer, uint32_t count)
{
    if (count < 16) {
        return write_tagged(writer, (uint8_t)(0x90 | count), 0, 0);
    }
    return count <= UINT16_MAX ? write_tagged(writer, 0xdc, count, 2)
                               : write_tagged(writer, 0xdd, count, 4);
}

bool mp_write_map(struct mp_writer *writer, uint32_t count)
{
    if (count < 16) {
        return write_tagged(writer, (uint8_t)(0x80 | count), 0, 0);
    }
    return count <= UINT16_MAX ? write_tagged(writer, 0xde, count, 2)
                               : write_tagged(writer, 0xdf, count, 4);
}

bool mp_write_uint(struct mp_writer *writer, uint64_t value)
{
    if (value <= 0x7f) {
        return write_tagged(writer, (uint8_t)value, 0, 0);
    }
    if (value <= UINT8_MAX) {
        return write_tagged(writer, 0xcc, value, 1);
    }
    if (value <= UINT16_MAX) {
        return write_tagged(writer, 0xcd, value, 2);
    }
    if (value <= UINT32_MAX) {
        return write_tagged(writer, 0xce, value, 4);
    }
    return write_tagged(writer, 0xcf, value, 8);
}

bool mp_write_int(struct mp_writer *writer, int64_t value)
{
    if (value >= 0) {
        return mp_write_uint(writer, (uint64_t)value);
    }
    if (value >= -32) {
        return write_tagged(writer, (uint8_t)(int8_t)value, 0, 0);
    }
    if (value >= INT8_MIN) {
        return write_tagged(writer, 0xd0, (uint8_t)(int8_t)value, 1);
    }
    if (value >= INT16_MIN) {
        return write_tagged(writer, 0xd1, (uint16_t)(int16_t)value, 2);
    }
    if (value >= INT32_MIN) {
        return write_tagged(writer, 0xd2, (uint32_t)(int32_t)value, 4);
    }
    return write_tagged(writer, 0xd3, (uint64_t)value, 8);
}

bool mp_write_bool(struct mp_writer *writer, bool value)
{
    return write_tagged(writer, value ? 0xc3 : 0xc2, 0, 0);
}

bool mp_write_nil(struct mp_writer *writer)
{
    return write_tagged(writer, 0xc0, 0, 0);
}

/* Refuses payloads whose length does not fit the u32 of str32/bin32. */
static bool check_payload_bytes(struct mp_writer *writer, size_t bytes_count)
{
    if (bytes_count > UINT32_MAX) {
        if (writer->err == RILL_OK) {
            writer->err = RILL_ERR_TOO_LARGE;
        }
        return false;
    }
    return writer->err == RILL_OK;
}

bool mp_write_str(struct mp_writer *writer, const char *ptr, size_t bytes_count)
{
    if (!check_payload_bytes(writer, bytes_count)) {
        return false;
    }
    bool header_ok;
    if (bytes_count < 32) {
        header_ok = write_tagged(writer, (uint8_t)(0xa0 | bytes_count), 0, 0);
    } else if (bytes_count <= UINT8_MAX) {
        header_ok = write_tagged(writer, 0xd9, bytes_count, 1);
    } else if (bytes_count <= UINT16_MAX) {
        header_ok = write_tagged(writer, 0xda, bytes_count, 2);
    } else {
        header_ok = write_tagged(writer, 0xdb, bytes_count, 4);
    }
    return header_ok && mp_write_raw(writer, ptr, bytes_count);
}

bool mp_write_str_cstr(struct mp_writer *writer, const char *cstr)
{
    RILL_ASSERT(cstr != NULL);
    return mp_write_str(writer, cstr, strlen(cstr));
}

bool mp_write_str_or_nil(struct mp_writer *writer, const char *ptr, size_t bytes_count)
{
    return ptr == NULL ? mp_write_nil(writer) : mp_write_str(writer, ptr, bytes_count);
}

bool mp_write_bin(struct mp_writer *writer, const void *ptr, size_t bytes_count)
{
    if (!check_payload_bytes(writer, bytes_count)) {
        return false;
    }
    bool header_ok;
    if (bytes_count <= UINT8_MAX) {
        header_ok = write_tagged(writer, 0xc4, bytes_count, 1);
    } else if (bytes_count <= UINT16_MAX) {
        header_ok = write_tagged(writer, 0xc5, bytes_count, 2);
    } else {
        header_ok = write_tagged(writer, 0xc6, bytes_count, 4);
    }
    return header_ok && mp_write_raw(writer, ptr, bytes_count);
}

bool mp_write_bin_header(struct mp_writer *writer, uint32_t bytes_count)
{
    return write_tagged(writer, 0xc6, bytes_count, 4);
}

bool mp_writer_reserve(struct mp_writer *writer, size_t bytes_count, size_t *out_position)
{
    size_t position = writer->bytes;
    uint8_t *out = writer_grow(writer, bytes_count);
    if (out == NULL) {
        return false;
    }
    memset(out, 0, bytes_count);
    *out_position = position;
    return true;
}

uint8_t *mp_writer_claim(struct mp_writer *writer, size_t bytes_count)
{
    return writer_grow(writer, bytes_count);
}

void mp_writer_truncate(struct mp_writer *writer, size_t bytes_count)
{
    RILL_ASSERT(bytes_count <= writer->bytes);
    writer->bytes = bytes_count;
}

void mp_writer_patch_u32(struct mp_writer *writer, size_t position, uint32_t value)
{
    RILL_ASSERT(position <= writer->bytes && writer->bytes - position >= 4);
    store_be(writer->data + position, value, 4);
}
