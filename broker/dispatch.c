/*
 * dispatch.c - request routing. The table below lists the APIs this broker implements with the
 * versions it serves; HANDSHAKE reports exactly this table, so a client never sees an API
 * advertised that would answer ERR_UNSUPPORTED_API. Later APIs plug in as new rows.
 *
 * Bodies are decoded and encoded by proto/api.h; a handler only maps a decoded request to a
 * response struct. Decoded arrays live in the core's arena, reset after every request, which
 * is why a handler that answers later must copy what it keeps.
 */
#include "broker/dispatch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/limits.h"
#include "broker/config.h"
#include "broker/conn.h"
#include "broker/handlers.h"
#include "broker/loop.h"
#include "broker/metrics.h"
#include "broker/route.h"
#include "proto/api.h"
#include "proto/frame.h"
#include "proto/mp.h"

/*
 * The implemented APIs, with the versions served, and their handlers at the same index. The
 * ranges are also the HANDSHAKE answer as they are: never written (not const only because the
 * response struct points to non-const ranges), so every core may read them.
 */
struct proto_api_range dispatch_ranges[] = {
    { PROTO_API_HANDSHAKE, 1, 1 },       { PROTO_API_METADATA, 1, 1 },
    { PROTO_API_CREATE_TOPICS, 1, 1 },   { PROTO_API_DELETE_TOPICS, 1, 1 },
    { PROTO_API_DESCRIBE_TOPICS, 1, 1 }, { PROTO_API_ALTER_CONFIGS, 1, 1 },
    { PROTO_API_PRODUCE, 1, 1 },         { PROTO_API_FETCH, 1, 1 },
    { PROTO_API_LIST_OFFSETS, 1, 1 },    { PROTO_API_INIT_PRODUCER_ID, 1, 1 },
    { PROTO_API_JOIN_GROUP, 1, 1 },      { PROTO_API_HEARTBEAT, 1, 1 },
    { PROTO_API_LEAVE_GROUP, 1, 1 },     { PROTO_API_OFFSET_COMMIT, 1, 1 },
    { PROTO_API_OFFSET_FETCH, 1, 1 },    { PROTO_API_LIST_GROUPS, 1, 1 },
    { PROTO_API_DESCRIBE_GROUPS, 1, 1 }, { PROTO_API_DELETE_GROUPS, 1, 1 },
    { PROTO_API_RESET_OFFSETS, 1, 1 },
};
const uint32_t dispatch_range_count = RILL_ARRAY_COUNT(dispatch_ranges);
static handler_fn *const dispatch_handlers[] = {
    handle_handshake,       handle_metadata,         handle_create_topics, handle_delete_topics,
    handle_describe_topics, handle_alter_configs,    handle_produce,       handle_fetch,
    handle_list_offsets,    handle_init_producer_id, handle_join_group,    handle_heartbeat,
    handle_leave_group,     handle_offset_commit,    handle_offset_fetch,  handle_list_groups,
    handle_describe_groups, handle_delete_groups,    handle_reset_offsets,
};
_Static_assert(RILL_ARRAY_COUNT(dispatch_ranges) == RILL_ARRAY_COUNT(dispatch_handlers),
               "one handler per api");

/* Index of api in the tables, or -1 when it is not implemented. */
static int dispatch_api_find(uint32_t api)
{
    for (size_t i = 0; i < RILL_ARRAY_COUNT(dispatch_ranges); i++) {
        if (dispatch_ranges[i].api == api) {
            return (int)i;
        }
    }
    return -1;
}

/* Writes one response frame: the header carrying error, then the body of api from response
 * when error is RILL_OK, else nil. */
static rill_err dispatch_write(const struct proto_request_header *header,
                               rill_err error,
                               const union proto_response *response,
                               struct mp_writer *writer)
{
    struct proto_response_header response_header = {
        .correlation_id = header->correlation_id,
        .error = (int32_t)error,
    };
    if (error != RILL_OK) {
        response_header.message = rill_err_str(error);
        response_header.message_bytes = (uint32_t)strlen(response_header.message);
    }
    rill_err err = proto_frame_begin(writer);
    if (err == RILL_OK) {
        err = proto_response_header_encode(writer, &response_header);
    }
    if (err == RILL_OK && error == RILL_OK) {
        err = proto_response_body_encode(header->api, writer, response);
    } else if (err == RILL_OK && !mp_write_nil(writer)) {
        err = writer->err;
    }
    if (err == RILL_OK) {
        err = proto_frame_end(writer);
    }
    return err;
}

/* dispatch_write, falling back to an ERR_TOO_LARGE answer when the body does not fit a frame. */
static rill_err dispatch_encode(const struct proto_request_header *header,
                                rill_err error,
                                const union proto_response *response,
                                struct mp_writer *writer)
{
    rill_err err = dispatch_write(header, error, response, writer);
    if (err == RILL_ERR_TOO_LARGE && error == RILL_OK) {
        mp_writer_reset(writer);
        err = dispatch_write(header, RILL_ERR_TOO_LARGE, response, writer);
    }
    return err;
}

/* Checks the api and version, decodes the body and runs the handler: RILL_OK with response
 * filled, or the error the request is answered with. */
static rill_err dispatch_handle(struct broker_core *core,
                                const struct dispatch_origin *origin,
                                const uint8_t *frame,
                                uint32_t frame_bytes,
                                const struct proto_request_header *header,
                                struct mp_reader *reader,
                                union proto_response *response)
{
    int index = dispatch_api_find(header->api);
    if (index < 0) {
        return RILL_ERR_UNSUPPORTED_API;
    }
    const struct proto_api_range *range = &dispatch_ranges[index];
    if (header->version < range->version_min || header->version > range->version_max) {
        return RILL_ERR_UNSUPPORTED_VERSION;
    }
    union proto_request request;
    rill_err err = proto_request_body_decode(header->api, reader, &core->arena, &request);
    if (err != RILL_OK) {
        return err;
    }
    err = route_request(core, origin, header, frame, frame_bytes, &request);
    if (err != RILL_ERR_NOT_FOUND) {
        return err;
    }
    return dispatch_handlers[index](core, origin, header, &request, response);
}

rill_err dispatch_request(struct broker_core *core,
                          const struct dispatch_origin *origin,
                          const uint8_t *frame,
                          uint32_t frame_bytes,
                          struct mp_writer *writer)
{
    RILL_ASSERT(writer->bytes == 0);
    int64_t start_ns = origin->start_ns;
    uint64_t bytes_in = origin->request_bytes;
    struct mp_reader reader;
    mp_reader_init(&reader, frame, frame_bytes);
    struct proto_request_header header;
    rill_err err = proto_request_header_decode(&reader, &header);
    if (err != RILL_OK) {
        err = err == RILL_ERR_NOMEM ? err : RILL_ERR_INVALID_REQUEST;
        metrics_request_done(core, METRICS_API_UNKNOWN, err, bytes_in, 0, start_ns);
        return err;
    }
    union proto_response response;
    memset(&response, 0, sizeof(response));
    rill_err error = dispatch_handle(core, origin, frame, frame_bytes, &header, &reader, &response);
    if (error == RILL_ERR_AGAIN) {
        /* Deferred: the handler took the arena's contents with it (pending.c). */
        proto_arena_reset(&core->arena);
        return RILL_ERR_AGAIN;
    }
    if (error == RILL_ERR_END) {
        err = RILL_OK; /* acks=0: no answer at all */
    } else {
        err = dispatch_encode(&header, error, &response, writer);
    }
    /* The one metrics hook: where a response becomes ready (dispatch_complete for a deferred
     * one). Parts of a routed request are counted once, by the core that read it. */
    if (origin->route == NULL)
        metrics_request_done(core, header.api, err != RILL_OK ? err : error, bytes_in,
                             err == RILL_OK ? writer->bytes : 0, start_ns);
    proto_arena_reset(&core->arena);
    return err;
}

rill_err dispatch_encode_response(const struct proto_request_header *header,
                                  rill_err error,
                                  const union proto_response *response,
                                  struct mp_writer *writer)
{
    return dispatch_encode(header, error, response, writer);
}

void dispatch_complete_frame(struct broker_core *core,
                             const struct dispatch_origin *origin,
                             const struct proto_request_header *header,
                             rill_err error,
                             uint8_t *frame,
                             uint32_t frame_bytes)
{
    if (origin->route != NULL) {
        dispatch_route_answer(core, origin, frame, frame_bytes, RILL_OK);
        return;
    }
    metrics_request_done(core, header->api, error, origin->request_bytes, frame_bytes,
                         origin->start_ns);
    if (!conn_response_fill(origin->conn, origin->generation, origin->response_index, frame,
                            frame_bytes)) {
        free(frame);
    }
}

void dispatch_complete(struct broker_core *core,
                       const struct dispatch_origin *origin,
                       const struct proto_request_header *header,
                       rill_err error,
                       const union proto_response *response)
{
    struct mp_writer writer;
    mp_writer_init(&writer, PROTO_FRAME_PREFIX_BYTES + (size_t)RILL_FRAME_BYTES_MAX);
    rill_err err = dispatch_encode(header, error, response, &writer);
    if (err != RILL_OK) {
        /* Out of memory for the answer: the client's request times out and it reconnects. */
        mp_writer_deinit(&writer);
        if (origin->route != NULL) {
            dispatch_route_answer(core, origin, NULL, 0, err);
        } else {
            conn_close(origin->conn, "out of memory for a response");
        }
        return;
    }
    RILL_ASSERT(writer.bytes <= UINT32_MAX);
    dispatch_complete_frame(core, origin, header, error, writer.data, (uint32_t)writer.bytes);
}
