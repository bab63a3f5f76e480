/*
 * fuzz_proto_frame.c - a byte stream as the broker reads it from a connection: length prefix,
 * request header, body, frame after frame. Decoding must refuse or accept without crashing or
 * over-reading, and whatever a body decoder accepts must re-encode, decode again and re-encode
 * to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/assert.h"
#include "common/limits.h"
#include "proto/api.h"

/* Bodies re-encoded here hold at most what the input held, plus integer widening. */
#define FUZZ_WRITER_BYTES_MAX (64u * 1024 * 1024)

static void check_request_round_trip(uint32_t api, const union proto_request *request)
{
    struct mp_writer first, second;
    struct proto_arena arena;
    union proto_request again;
    mp_writer_init(&first, FUZZ_WRITER_BYTES_MAX);
    mp_writer_init(&second, FUZZ_WRITER_BYTES_MAX);
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    RILL_ASSERT(proto_request_body_encode(api, &first, request) == RILL_OK);
    struct mp_reader reader;
    mp_reader_init(&reader, first.data, first.bytes);
    RILL_ASSERT(proto_request_body_decode(api, &reader, &arena, &again) == RILL_OK);
    RILL_ASSERT(proto_request_body_encode(api, &second, &again) == RILL_OK);
    RILL_ASSERT(first.bytes == second.bytes);
    RILL_ASSERT(memcmp(first.data, second.data, first.bytes) == 0);
    if (api == PROTO_API_CREATE_TOPICS) {
        for (uint32_t i = 0; i < again.create_topics.topic_count; i++) {
            const struct proto_str *name = &again.create_topics.topics[i].name;
            (void)proto_topic_name_valid(name->ptr, name->bytes, false);
        }
    }
    proto_arena_deinit(&arena);
    mp_writer_deinit(&first);
    mp_writer_deinit(&second);
}

/* One frame's header and body; false when the connection would be closed. */
static bool fuzz_frame(const uint8_t *frame, uint32_t frame_bytes, struct proto_arena *arena)
{
    struct mp_reader reader;
    struct proto_request_header header;
    mp_reader_init(&reader, frame, frame_bytes);
    if (proto_request_header_decode(&reader, &header) != RILL_OK) {
        return false;
    }
    if (!proto_api_supported(header.api, header.version)) {
        return true;
    }
    union proto_request request;
    proto_arena_reset(arena);
    rill_err err = proto_request_body_decode(header.api, &reader, arena, &request);
    if (err == RILL_OK) {
        check_request_round_trip(header.api, &request);
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    size_t position = 0;
    while (size - position >= PROTO_FRAME_PREFIX_BYTES) {
        uint32_t frame_bytes = 0;
        if (proto_frame_length_decode(data + position, RILL_FRAME_BYTES_MAX, &frame_bytes) !=
            RILL_OK) {
            break;
        }
        position += PROTO_FRAME_PREFIX_BYTES;
        if (frame_bytes > size - position) {
            break;
        }
        /* A copy of exactly the frame, so that ASan catches reads past its end. */
        uint8_t *frame = malloc(frame_bytes);
        RILL_ASSERT(frame != NULL);
        memcpy(frame, data + position, frame_bytes);
        bool keep_going = fuzz_frame(frame, frame_bytes, &arena);
        free(frame);
        position += frame_bytes;
        if (!keep_going) {
            break;
        }
    }
    proto_arena_deinit(&arena);
    return 0;
}
