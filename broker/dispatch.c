/*
 * dispatch.c - request routing. The table below lists the APIs this broker implements with the
 * versions it serves; HANDSHAKE reports exactly this table, so a client never sees an API
 * advertised that would answer ERR_UNSUPPORTED_API. Later APIs plug in as new rows.
 */
#include "broker/dispatch.h"

#include <stdbool.h>
#include <string.h>

#include "common/assert.h"
#include "broker/config.h"
#include "broker/loop.h"
#include "proto/frame.h"
#include "proto/mp.h"

/*
 * A handler decodes the body from reader and appends the response body to writer (the header
 * is already written by the dispatcher when the handler returns RILL_OK). A non-OK return
 * becomes the header error of an error response with a nil body.
 */
typedef rill_err dispatch_handler(struct broker_core *core,
                                  const struct proto_request_header *header,
                                  struct mp_reader *reader,
                                  struct mp_writer *writer);

struct dispatch_api {
    uint32_t api;
    uint32_t version_min;
    uint32_t version_max;
    dispatch_handler *handle;
};

static dispatch_handler dispatch_handshake;

static const struct dispatch_api dispatch_apis[] = {
    { PROTO_API_HANDSHAKE, 1, 1, dispatch_handshake },
};

static const struct dispatch_api *dispatch_api_find(uint32_t api)
{
    for (size_t i = 0; i < RILL_ARRAY_COUNT(dispatch_apis); i++) {
        if (dispatch_apis[i].api == api) {
            return &dispatch_apis[i];
        }
    }
    return NULL;
}

/* HANDSHAKE request [client_name, client_version]; response [broker_id, cluster_id,
 * broker_version, apis[[api, min, max]...]]. */
static rill_err dispatch_handshake(struct broker_core *core,
                                   const struct proto_request_header *header,
                                   struct mp_reader *reader,
                                   struct mp_writer *writer)
{
    (void)header;
    uint32_t count = 0;
    const char *client_name = NULL;
    const char *client_version = NULL;
    uint32_t name_bytes = 0;
    uint32_t version_bytes = 0;
    if (!mp_read_array(reader, &count) || count < 2 ||
        !mp_read_str(reader, &client_name, &name_bytes) ||
        !mp_read_str(reader, &client_version, &version_bytes) ||
        !proto_skip_extra(reader, count, 2)) {
        return RILL_ERR_INVALID_REQUEST;
    }
    const struct broker_config *cfg = core->cfg;
    mp_write_array(writer, 4);
    mp_write_int(writer, cfg->broker_id);
    mp_write_str_cstr(writer, cfg->cluster_id);
    mp_write_str_cstr(writer, RILL_VERSION_STR);
    mp_write_array(writer, (uint32_t)RILL_ARRAY_COUNT(dispatch_apis));
    for (size_t i = 0; i < RILL_ARRAY_COUNT(dispatch_apis); i++) {
        mp_write_array(writer, 3);
        mp_write_uint(writer, dispatch_apis[i].api);
        mp_write_uint(writer, dispatch_apis[i].version_min);
        mp_write_uint(writer, dispatch_apis[i].version_max);
    }
    return writer->err;
}

/* Writes one response frame: the header carrying error, then the body (handle's when error is
 * RILL_OK, else nil). *out_handler_err is what handle returned (RILL_OK if not called). */
static rill_err dispatch_write(struct broker_core *core,
                               const struct proto_request_header *header,
                               rill_err error,
                               dispatch_handler *handle,
                               struct mp_reader *reader,
                               struct mp_writer *writer,
                               rill_err *out_handler_err)
{
    struct proto_response_header response = {
        .correlation_id = header->correlation_id,
        .error = (int32_t)error,
    };
    if (error != RILL_OK) {
        response.message = rill_err_str(error);
        response.message_bytes = (uint32_t)strlen(response.message);
    }
    *out_handler_err = RILL_OK;
    rill_err err = proto_frame_begin(writer);
    if (err == RILL_OK) {
        err = proto_response_header_encode(writer, &response);
    }
    if (err == RILL_OK && error == RILL_OK) {
        *out_handler_err = handle(core, header, reader, writer);
    } else if (err == RILL_OK && !mp_write_nil(writer)) {
        err = writer->err;
    }
    if (err == RILL_OK && *out_handler_err == RILL_OK) {
        err = proto_frame_end(writer);
    }
    return err;
}

static rill_err dispatch_respond(struct broker_core *core,
                                 const struct proto_request_header *header,
                                 const struct dispatch_api *entry,
                                 struct mp_reader *reader,
                                 struct mp_writer *writer)
{
    rill_err error = RILL_ERR_UNSUPPORTED_API;
    dispatch_handler *handle = NULL;
    if (entry != NULL) {
        bool supported =
            header->version >= entry->version_min && header->version <= entry->version_max;
        error = supported ? RILL_OK : RILL_ERR_UNSUPPORTED_VERSION;
        handle = entry->handle;
    }
    rill_err handler_err = RILL_OK;
    rill_err err = dispatch_write(core, header, error, handle, reader, writer, &handler_err);
    if (err == RILL_OK && handler_err != RILL_OK) {
        /* The body failed (malformed request, or a response past the writer's cap) after its
         * header was written: answer the request with that error instead. */
        mp_writer_reset(writer);
        err = dispatch_write(core, header, handler_err, NULL, reader, writer, &handler_err);
    }
    return err;
}

rill_err dispatch_request(struct broker_core *core,
                          const uint8_t *frame,
                          uint32_t frame_bytes,
                          struct mp_writer *writer)
{
    RILL_ASSERT(writer->bytes == 0);
    struct mp_reader reader;
    mp_reader_init(&reader, frame, frame_bytes);
    struct proto_request_header header;
    rill_err err = proto_request_header_decode(&reader, &header);
    if (err != RILL_OK) {
        return err == RILL_ERR_NOMEM ? err : RILL_ERR_INVALID_REQUEST;
    }
    return dispatch_respond(core, &header, dispatch_api_find(header.api), &reader, writer);
}
