/*
 * fuzz_proto_response.c - responses as the client library reads them. The first input byte
 * selects the api, the rest is a response header and body. Decoding must refuse or accept
 * without crashing or over-reading; an accepted body must re-encode, decode again and
 * re-encode to the same bytes, and a fetch response must also go through the zero-copy
 * encoder with the same result once its batches are spliced in.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/assert.h"
#include "common/limits.h"
#include "proto/api.h"

#define FUZZ_WRITER_BYTES_MAX (64u * 1024 * 1024)
#define FUZZ_SPLICES_MAX      4096u

/* The spliced encoding of response, assembled, equals the inline encoding first. */
static void check_fetch_spliced(const struct proto_fetch_response *response,
                                const struct mp_writer *first)
{
    static struct proto_fetch_splice splices[FUZZ_SPLICES_MAX];
    struct mp_writer spliced;
    uint32_t splice_count = 0;
    uint64_t spliced_bytes = 0;
    mp_writer_init(&spliced, FUZZ_WRITER_BYTES_MAX);
    rill_err err = proto_fetch_response_encode_spliced(
        &spliced, response, splices, FUZZ_SPLICES_MAX, &splice_count, &spliced_bytes);
    if (err == RILL_OK) {
        uint8_t *assembled = malloc(spliced.bytes + spliced_bytes + 1);
        RILL_ASSERT(assembled != NULL);
        size_t assembled_bytes = 0, from = 0;
        for (uint32_t i = 0; i < splice_count; i++) {
            const struct proto_fetch_partition_result *part =
                &response->topics[splices[i].topic_index].partitions[splices[i].partition_index];
            RILL_ASSERT(part->batches.bytes == splices[i].bytes);
            memcpy(assembled + assembled_bytes, spliced.data + from, splices[i].position - from);
            assembled_bytes += splices[i].position - from;
            memcpy(assembled + assembled_bytes, part->batches.ptr, splices[i].bytes);
            assembled_bytes += splices[i].bytes;
            from = splices[i].position;
        }
        memcpy(assembled + assembled_bytes, spliced.data + from, spliced.bytes - from);
        assembled_bytes += spliced.bytes - from;
        struct proto_arena arena;
        struct proto_fetch_response decoded;
        struct mp_reader reader;
        struct mp_writer again;
        proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
        mp_writer_init(&again, FUZZ_WRITER_BYTES_MAX);
        mp_reader_init(&reader, assembled, assembled_bytes);
        RILL_ASSERT(proto_fetch_response_decode(&reader, &arena, &decoded) == RILL_OK);
        RILL_ASSERT(proto_fetch_response_encode(&again, &decoded) == RILL_OK);
        RILL_ASSERT(again.bytes == first->bytes);
        RILL_ASSERT(memcmp(again.data, first->data, first->bytes) == 0);
        mp_writer_deinit(&again);
        proto_arena_deinit(&arena);
        free(assembled);
    } else {
        RILL_ASSERT(err == RILL_ERR_FULL);
    }
    mp_writer_deinit(&spliced);
}

static void check_response_round_trip(uint32_t api, const union proto_response *response)
{
    struct mp_writer first, second;
    struct proto_arena arena;
    union proto_response again;
    mp_writer_init(&first, FUZZ_WRITER_BYTES_MAX);
    mp_writer_init(&second, FUZZ_WRITER_BYTES_MAX);
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    RILL_ASSERT(proto_response_body_encode(api, &first, response) == RILL_OK);
    struct mp_reader reader;
    mp_reader_init(&reader, first.data, first.bytes);
    RILL_ASSERT(proto_response_body_decode(api, &reader, &arena, &again) == RILL_OK);
    RILL_ASSERT(proto_response_body_encode(api, &second, &again) == RILL_OK);
    RILL_ASSERT(first.bytes == second.bytes);
    RILL_ASSERT(memcmp(first.data, second.data, first.bytes) == 0);
    if (api == PROTO_API_FETCH) {
        check_fetch_spliced(&response->fetch, &first);
    }
    proto_arena_deinit(&arena);
    mp_writer_deinit(&first);
    mp_writer_deinit(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint32_t api = data[0] % (PROTO_API_COUNT + 1);
    uint8_t *copy = malloc(size - 1 + 1);
    RILL_ASSERT(copy != NULL);
    memcpy(copy, data + 1, size - 1);
    struct mp_reader reader;
    struct proto_response_header header;
    mp_reader_init(&reader, copy, size - 1);
    if (proto_response_header_decode(&reader, &header) == RILL_OK) {
        struct proto_arena arena;
        union proto_response response;
        proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
        if (proto_response_body_decode(api, &reader, &arena, &response) == RILL_OK) {
            check_response_round_trip(api, &response);
        }
        proto_arena_deinit(&arena);
    }
    free(copy);
    return 0;
}
