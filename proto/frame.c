/*
 * frame.c - the length prefix, the request and response headers and the table of supported
 * api versions (frame.h).
 */
#include "proto/frame.h"

#include "common/assert.h"
#include "common/limits.h"

const struct proto_api_versions proto_api_version_table[PROTO_API_COUNT] = {
    [PROTO_API_HANDSHAKE] = { 1, 1 },       [PROTO_API_METADATA] = { 1, 1 },
    [PROTO_API_CREATE_TOPICS] = { 1, 1 },   [PROTO_API_DELETE_TOPICS] = { 1, 1 },
    [PROTO_API_DESCRIBE_TOPICS] = { 1, 1 }, [PROTO_API_ALTER_CONFIGS] = { 1, 1 },
    [PROTO_API_PRODUCE] = { 1, 1 },         [PROTO_API_FETCH] = { 1, 1 },
    [PROTO_API_LIST_OFFSETS] = { 1, 1 },    [PROTO_API_INIT_PRODUCER_ID] = { 1, 1 },
    [PROTO_API_JOIN_GROUP] = { 1, 1 },      [PROTO_API_HEARTBEAT] = { 1, 1 },
    [PROTO_API_LEAVE_GROUP] = { 1, 1 },     [PROTO_API_OFFSET_COMMIT] = { 1, 1 },
    [PROTO_API_OFFSET_FETCH] = { 1, 1 },    [PROTO_API_LIST_GROUPS] = { 1, 1 },
    [PROTO_API_DESCRIBE_GROUPS] = { 1, 1 }, [PROTO_API_DELETE_GROUPS] = { 1, 1 },
    [PROTO_API_RESET_OFFSETS] = { 1, 1 },
};

static const char *const api_names[PROTO_API_COUNT] = {
    [PROTO_API_HANDSHAKE] = "HANDSHAKE",
    [PROTO_API_METADATA] = "METADATA",
    [PROTO_API_CREATE_TOPICS] = "CREATE_TOPICS",
    [PROTO_API_DELETE_TOPICS] = "DELETE_TOPICS",
    [PROTO_API_DESCRIBE_TOPICS] = "DESCRIBE_TOPICS",
    [PROTO_API_ALTER_CONFIGS] = "ALTER_CONFIGS",
    [PROTO_API_PRODUCE] = "PRODUCE",
    [PROTO_API_FETCH] = "FETCH",
    [PROTO_API_LIST_OFFSETS] = "LIST_OFFSETS",
    [PROTO_API_INIT_PRODUCER_ID] = "INIT_PRODUCER_ID",
    [PROTO_API_JOIN_GROUP] = "JOIN_GROUP",
    [PROTO_API_HEARTBEAT] = "HEARTBEAT",
    [PROTO_API_LEAVE_GROUP] = "LEAVE_GROUP",
    [PROTO_API_OFFSET_COMMIT] = "OFFSET_COMMIT",
    [PROTO_API_OFFSET_FETCH] = "OFFSET_FETCH",
    [PROTO_API_LIST_GROUPS] = "LIST_GROUPS",
    [PROTO_API_DESCRIBE_GROUPS] = "DESCRIBE_GROUPS",
    [PROTO_API_DELETE_GROUPS] = "DELETE_GROUPS",
    [PROTO_API_RESET_OFFSETS] = "RESET_OFFSETS",
};

bool proto_api_supported(uint32_t api, uint32_t version)
{
    if (api >= PROTO_API_COUNT) {
        return false;
    }
    return version >= proto_api_version_table[api].version_min &&
           version <= proto_api_version_table[api].version_max;
}

const char *proto_api_name(uint32_t api)
{
    return api < PROTO_API_COUNT ? api_names[api] : "UNKNOWN";
}

rill_err proto_frame_length_decode(const uint8_t prefix[PROTO_FRAME_PREFIX_BYTES],
                                   uint32_t frame_bytes_max,
                                   uint32_t *out_bytes)
{
    uint32_t bytes = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                     (uint32_t)prefix[2] << 8 | (uint32_t)prefix[3];
    if (bytes == 0) {
        return RILL_ERR_INVALID_REQUEST;
    }
    if (bytes > frame_bytes_max) {
        return RILL_ERR_FRAME_TOO_LARGE;
    }
    *out_bytes = bytes;
    return RILL_OK;
}

rill_err proto_frame_begin(struct mp_writer *writer)
{
    RILL_ASSERT(!writer->frame_open);
    size_t position = 0;
    if (!mp_writer_reserve(writer, PROTO_FRAME_PREFIX_BYTES, &position)) {
        return writer->err;
    }
    writer->frame_start = position;
    writer->frame_open = true;
    return RILL_OK;
}

rill_err proto_frame_end_spliced(struct mp_writer *writer, uint64_t spliced_bytes)
{
    RILL_ASSERT(writer->frame_open);
    writer->frame_open = false;
    if (writer->err != RILL_OK) {
        return writer->err;
    }
    RILL_ASSERT(writer->bytes >= writer->frame_start + PROTO_FRAME_PREFIX_BYTES);
    uint64_t frame_bytes =
        (uint64_t)(writer->bytes - writer->frame_start - PROTO_FRAME_PREFIX_BYTES) + spliced_bytes;
    RILL_ASSERT(frame_bytes > 0);
    if (frame_bytes > RILL_FRAME_BYTES_MAX) {
        writer->err = RILL_ERR_FRAME_TOO_LARGE;
        return writer->err;
    }
    mp_writer_patch_u32(writer, writer->frame_start, (uint32_t)frame_bytes);
    return RILL_OK;
}

rill_err proto_frame_end(struct mp_writer *writer)
{
    return proto_frame_end_spliced(writer, 0);
}

bool proto_skip_extra(struct mp_reader *reader, uint32_t count, uint32_t consumed)
{
    RILL_ASSERT(consumed <= count);
    for (uint32_t i = consumed; i < count; i++) {
        if (!mp_skip(reader)) {
            return false;
        }
    }
    return reader->err == RILL_OK;
}

/* Reads the header of a positional array of at least fields_min elements. */
static bool read_fields(struct mp_reader *reader, uint32_t fields_min, uint32_t *out_count)
{
    uint32_t count = 0;
    if (!mp_read_array(reader, &count)) {
        return false;
    }
    if (count < fields_min) {
        return mp_reader_fail(reader);
    }
    *out_count = count;
    return true;
}

rill_err proto_request_header_decode(struct mp_reader *reader, struct proto_request_header *out)
{
    struct proto_request_header header;
    uint32_t count = 0;
    if (!read_fields(reader, 3, &count) || !mp_read_uint32(reader, &header.api) ||
        !mp_read_uint32(reader, &header.version) ||
        !mp_read_uint32(reader, &header.correlation_id) || !proto_skip_extra(reader, count, 3)) {
        mp_reader_fail(reader);
        return reader->err;
    }
    *out = header;
    return RILL_OK;
}

rill_err proto_request_header_encode(struct mp_writer *writer,
                                     const struct proto_request_header *header)
{
    if (!mp_write_array(writer, 3) || !mp_write_uint(writer, header->api) ||
        !mp_write_uint(writer, header->version) || !mp_write_uint(writer, header->correlation_id)) {
        return writer->err;
    }
    return RILL_OK;
}

rill_err proto_response_header_decode(struct mp_reader *reader, struct proto_response_header *out)
{
    struct proto_response_header header;
    uint32_t count = 0;
    if (!read_fields(reader, 3, &count) || !mp_read_uint32(reader, &header.correlation_id) ||
        !mp_read_int32(reader, &header.error) ||
        !mp_read_str_or_nil(reader, &header.message, &header.message_bytes) ||
        !proto_skip_extra(reader, count, 3)) {
        mp_reader_fail(reader);
        return reader->err;
    }
    *out = header;
    return RILL_OK;
}

rill_err proto_response_header_encode(struct mp_writer *writer,
                                      const struct proto_response_header *header)
{
    if (!mp_write_array(writer, 3) || !mp_write_uint(writer, header->correlation_id) ||
        !mp_write_int(writer, header->error) ||
        !mp_write_str_or_nil(writer, header->message, header->message_bytes)) {
        return writer->err;
    }
    return RILL_OK;
}
