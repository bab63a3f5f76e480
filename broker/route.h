/*
 * route.h - requests that cross cores: forwarding to core 0, splitting by partition owner,
 * merging, and topic deletion across owners (broker.h has the model; route.c the details).
 */
#ifndef RILL_BROKER_ROUTE_H
#define RILL_BROKER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "rill.h"
#include "broker/dispatch.h"
#include "proto/api.h"

struct broker_core;
struct broker_topic;
struct route;

/*
 * Sends a decoded request where it belongs. RILL_ERR_NOT_FOUND: it runs here (one core, a
 * part already routed, or every partition is local); RILL_ERR_AGAIN: routed, the answer comes
 * later through the origin; RILL_ERR_END: routed and never answered (acks=0); other codes: the
 * request's error.
 */
RILL_MUST_CHECK rill_err route_request(struct broker_core *core,
                                       const struct dispatch_origin *origin,
                                       const struct proto_request_header *header,
                                       const uint8_t *frame,
                                       uint32_t frame_bytes,
                                       const union proto_request *request);

/* A part's answer: frame (malloc'd, prefix included, taken) or NULL with error. */
void route_part_answer(struct broker_core *core,
                       struct route *route,
                       uint32_t part,
                       uint8_t *frame,
                       uint32_t frame_bytes,
                       rill_err error);

/*
 * DELETE_TOPICS on core 0 once the records are durable: asks every owner core to close its
 * partitions of deleted[], then removes them and answers response (whose arrays live in the
 * core's arena, taken here). Returns RILL_ERR_AGAIN (answered later) or RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err route_delete_begin(struct broker_core *core,
                                            const struct dispatch_origin *origin,
                                            const struct proto_request_header *header,
                                            union proto_response *response,
                                            struct broker_topic **deleted,
                                            uint32_t deleted_count);
void route_delete_ack(struct broker_core *core, struct route *route);

/* An owner core closes its partitions of a deleted topic. */
void route_close_partitions(struct broker_core *core, struct broker_topic *topic);

/* True while the core waits for parts of its routed requests. */
bool route_busy(const struct broker_core *core);

#endif
