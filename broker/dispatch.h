/*
 * dispatch.h - from a request frame to its response frame: header decoding, the table of the
 * APIs this broker implements, and error responses for everything else.
 *
 * A request is answered at once (the response frame is written before dispatch_request
 * returns) or deferred: produce waiting for its acks and fetch waiting for data keep their
 * response slot reserved on the connection and fill it later through dispatch_complete().
 */
#ifndef RILL_BROKER_DISPATCH_H
#define RILL_BROKER_DISPATCH_H

#include <stdint.h>

#include "rill.h"
#include "proto/api.h"
#include "proto/frame.h"

struct broker_core;
struct broker_conn;
struct route;
struct mp_writer;

/* Where a response goes: a connection's reserved response slot. A connection that closed (or
 * whose slot was reused: another generation) before the answer was ready drops it. */
struct dispatch_origin {
    struct broker_conn *conn; /* NULL for a part of a routed request (route.h) */
    uint32_t generation;
    uint32_t response_index; /* index in conn->responses, stable until that slot is sent */
    struct route *route;     /* a part's route (on core route_core), else NULL */
    uint32_t route_part;
    unsigned route_core;
    int64_t start_ns;       /* when the request was read, for latency */
    uint32_t request_bytes; /* frame bytes, length prefix included */
    const char *peer; /* a forwarded request: the reading connection's peer "ip:port" (JOIN_GROUP
                         needs it), valid during dispatch_request only; NULL otherwise */
};

/*
 * Handles one request; frame is the frame without its length prefix (borrowed for the call).
 * On RILL_OK, writer holds the complete response frame (length prefix included), or nothing
 * for a request that is not answered (acks=0). Unknown apis, unsupported versions and
 * malformed bodies get an error response and RILL_OK: the connection stays usable.
 * @return RILL_OK; RILL_ERR_AGAIN when the answer is deferred (it comes through
 *         dispatch_complete, the slot stays reserved); RILL_ERR_INVALID_REQUEST when the
 *         request header cannot be read (close the connection: nothing can be answered without
 *         a correlation id); RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err dispatch_request(struct broker_core *core,
                                          const struct dispatch_origin *origin,
                                          const uint8_t *frame,
                                          uint32_t frame_bytes,
                                          struct mp_writer *writer);

/*
 * Answers a deferred request: encodes the response (error != RILL_OK: a header error and a nil
 * body) and hands it to the origin's connection, if it still waits for it.
 */
void dispatch_complete(struct broker_core *core,
                       const struct dispatch_origin *origin,
                       const struct proto_request_header *header,
                       rill_err error,
                       const union proto_response *response);

/* Encodes a response frame (length prefix included) for header into writer: the body of
 * response when error is RILL_OK, else the header error; ERR_TOO_LARGE when the body does not
 * fit a frame. For handlers that answer later with a response they must encode now. */
RILL_MUST_CHECK rill_err dispatch_encode_response(const struct proto_request_header *header,
                                                  rill_err error,
                                                  const union proto_response *response,
                                                  struct mp_writer *writer);

/* Answers a deferred request with a frame encoded earlier (malloc'd, prefix included, taken);
 * error is what the frame's header carries (for metrics). */
void dispatch_complete_frame(struct broker_core *core,
                             const struct dispatch_origin *origin,
                             const struct proto_request_header *header,
                             rill_err error,
                             uint8_t *frame,
                             uint32_t frame_bytes);

/* Hands a routed part's answer (frame malloc'd with its prefix, taken; NULL with error when
 * the part failed as a whole) back to its route, on this core or by message (route.c). */
void dispatch_route_answer(struct broker_core *core,
                           const struct dispatch_origin *origin,
                           uint8_t *frame,
                           uint32_t frame_bytes,
                           rill_err error);

#endif
