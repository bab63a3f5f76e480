/*
 * pending.h - requests answered later: produce waiting for its acks (the batch written, or
 * durable), fetch waiting for data (long poll).
 *
 * A pending request keeps the request's arena (taken from the core at deferral, so its arrays
 * survive the core's reset), the response it will send, and its origin slot. The core checks
 * its pending requests after every round of completions (pending_check) and at their
 * deadlines (pending_next_deadline_ns). Every pending request is bounded: by the connection's
 * in-flight limit (its slot is reserved), by its deadline, and by shutdown, which answers
 * them all.
 */
#ifndef RILL_BROKER_PENDING_H
#define RILL_BROKER_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "rill.h"
#include "broker/dispatch.h"
#include "proto/api.h"
#include "proto/arena.h"

struct broker_core;
struct broker_partition;
struct route;

enum pending_kind {
    PENDING_PRODUCE = 1,
    PENDING_FETCH = 2,
    PENDING_GROUP = 3, /* a group api whose changes wait to be durable in the offsets topic */
};

/* One partition a produce waits for. */
struct pending_target {
    struct broker_partition *bp; /* NULL once answered or when its topic was deleted */
    int64_t offset_end;          /* wait until the partition's end passes this */
    bool durable;                /* ... its durable end (acks=all on a syncing topic) */
    struct proto_produce_partition_result *result; /* in the response, in the arena */
};

struct pending {
    struct pending *next; /* core list */
    struct pending *prev;
    enum pending_kind kind;
    struct dispatch_origin origin;
    struct proto_request_header header;
    int64_t deadline_ns; /* monotonic: answer by then whatever the state */
    struct proto_arena arena;
    union {
        struct {
            struct proto_produce_response response;
            struct pending_target *targets;
            uint32_t target_count;
        } produce;
        struct {
            struct proto_fetch_request request; /* names copied into the arena */
        } fetch;
        struct {
            struct broker_partition *bp; /* the offsets partition (core 0) */
            int64_t offset_end;          /* answer once its durable end passes this */
            uint8_t *frame;              /* the answer, encoded at once (malloc'd, owned) */
            uint32_t frame_bytes;
            rill_err frame_error; /* the header error the frame carries (metrics) */
        } group;
    };
};

/*
 * A pending request of kind for origin/header, taking the core's arena (the core gets a fresh
 * one). NULL when out of memory (the caller answers at once instead).
 */
struct pending *pending_create(struct broker_core *core,
                               enum pending_kind kind,
                               const struct dispatch_origin *origin,
                               const struct proto_request_header *header,
                               int64_t deadline_ns);

/* Answers every pending request that is ready or past its deadline. Called by the core after
 * each round of completions and at deadlines. */
void pending_check(struct broker_core *core, bool force_fetch);

/* The earliest deadline of the core's pending requests (monotonic ns), or -1 when none. */
int64_t pending_next_deadline_ns(const struct broker_core *core);

/* Drops every reference pending requests hold to the partitions of a topic about to be
 * deleted: their entries will answer ERR_UNKNOWN_TOPIC. */
void pending_forget_topic(struct broker_core *core,
                          const struct broker_partition *partitions,
                          int32_t partition_count);

/* Answers the pending fetch that is part `part` of route now, if it still waits (another part of
 * its request found data). */
void pending_cancel_fetch(struct broker_core *core, struct route *route, uint32_t part);

/* Answers every pending request now (shutdown): produce with what is known, fetch with what
 * is available. */
void pending_flush_all(struct broker_core *core);

/* Builds and sends a fetch response for request now (handlers_data.c). */
void fetch_answer(struct broker_core *core,
                  const struct dispatch_origin *origin,
                  const struct proto_request_header *header,
                  const struct proto_fetch_request *request);
/* True when request may be answered now: min_bytes available, or an error to report. */
bool fetch_ready(struct broker_core *core, const struct proto_fetch_request *request);

#endif
