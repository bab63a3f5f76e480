/*
 * frame.h - framing and headers of the native protocol (docs/protocol.md, "Transport and
 * framing"). Pure: no I/O.
 *
 *   u32 big-endian  frame length: bytes that follow, 1 .. RILL_FRAME_BYTES_MAX
 *   msgpack         header: request [api, version, correlation_id]
 *                           response [correlation_id, error, message|nil]
 *   msgpack         body (absent for frames that carry none)
 *
 * A receiver decodes the prefix with proto_frame_length_decode() before allocating anything.
 * A sender brackets its header and body with proto_frame_begin() / proto_frame_end(), which
 * reserve the prefix and patch it once the frame's size is known.
 */
#ifndef RILL_PROTO_FRAME_H
#define RILL_PROTO_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "rill.h"
#include "proto/mp.h"

#define PROTO_FRAME_PREFIX_BYTES 4

enum proto_api {
    PROTO_API_HANDSHAKE = 0,
    PROTO_API_METADATA = 1,
    PROTO_API_CREATE_TOPICS = 2,
    PROTO_API_DELETE_TOPICS = 3,
    PROTO_API_DESCRIBE_TOPICS = 4,
    PROTO_API_ALTER_CONFIGS = 5,
    PROTO_API_PRODUCE = 6,
    PROTO_API_FETCH = 7,
    PROTO_API_LIST_OFFSETS = 8,
    PROTO_API_INIT_PRODUCER_ID = 9,
    PROTO_API_JOIN_GROUP = 10,
    PROTO_API_HEARTBEAT = 11,
    PROTO_API_LEAVE_GROUP = 12,
    PROTO_API_OFFSET_COMMIT = 13,
    PROTO_API_OFFSET_FETCH = 14,
    PROTO_API_LIST_GROUPS = 15,
    PROTO_API_DESCRIBE_GROUPS = 16,
    PROTO_API_DELETE_GROUPS = 17,
    PROTO_API_RESET_OFFSETS = 18,
    PROTO_API_COUNT
};

/* The versions this build's codecs speak for one api. A broker advertises in its HANDSHAKE
 * response only the apis it serves (broker/dispatch.c), which may be fewer. */
struct proto_api_versions {
    uint32_t version_min;
    uint32_t version_max;
};

/* Supported versions indexed by enum proto_api. */
extern const struct proto_api_versions proto_api_version_table[PROTO_API_COUNT];

/* True when api is known and version within its [min, max]. */
bool proto_api_supported(uint32_t api, uint32_t version);

/* The api's name ("PRODUCE"), or "UNKNOWN"; static storage. */
const char *proto_api_name(uint32_t api);

struct proto_request_header {
    uint32_t api;            /* enum proto_api, unchecked: see proto_api_supported() */
    uint32_t version;        /* api version */
    uint32_t correlation_id; /* echoed in the response */
};

struct proto_response_header {
    uint32_t correlation_id;
    int32_t error;          /* rill_err; non-zero: the body is nil */
    const char *message;    /* NULL when nil; not NUL-terminated, points into the input */
    uint32_t message_bytes; /* bytes at message */
};

/* Decodes the 4-byte prefix. 0 is RILL_ERR_INVALID_REQUEST and above frame_bytes_max
 * RILL_ERR_FRAME_TOO_LARGE: either way the stream cannot be resynchronised, close it. */
RILL_MUST_CHECK rill_err proto_frame_length_decode(const uint8_t prefix[PROTO_FRAME_PREFIX_BYTES],
                                                   uint32_t frame_bytes_max,
                                                   uint32_t *out_bytes);

/* Starts a frame at the writer's end: reserves the length prefix. Frames do not nest. */
RILL_MUST_CHECK rill_err proto_frame_begin(struct mp_writer *writer);

/* Ends the frame begun last and writes its length prefix. */
RILL_MUST_CHECK rill_err proto_frame_end(struct mp_writer *writer);

/* Same, for a frame whose bytes are the writer's plus spliced_bytes the caller sends from
 * elsewhere (the zero-copy fetch path, proto/api.h). RILL_ERR_FRAME_TOO_LARGE past
 * RILL_FRAME_BYTES_MAX. */
RILL_MUST_CHECK rill_err proto_frame_end_spliced(struct mp_writer *writer, uint64_t spliced_bytes);

/* Request header. Decoding checks types and ranges only (RILL_ERR_INVALID_REQUEST: close the
 * connection); api and version are checked by the caller with proto_api_supported(). Extra
 * trailing header elements are skipped. */
RILL_MUST_CHECK rill_err proto_request_header_decode(struct mp_reader *reader,
                                                     struct proto_request_header *out);
RILL_MUST_CHECK rill_err proto_request_header_encode(struct mp_writer *writer,
                                                     const struct proto_request_header *header);

/* Response header; the decoded message points into the reader's input. */
RILL_MUST_CHECK rill_err proto_response_header_decode(struct mp_reader *reader,
                                                      struct proto_response_header *out);
RILL_MUST_CHECK rill_err proto_response_header_encode(struct mp_writer *writer,
                                                      const struct proto_response_header *header);

/* Skips the extra trailing elements of a positional array of which consumed were read (newer
 * versions append fields); fails on malformed input. Shared by every body decoder. */
bool proto_skip_extra(struct mp_reader *reader, uint32_t count, uint32_t consumed);

#endif
