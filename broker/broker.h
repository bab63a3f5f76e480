/*
 * broker.h - the process: its cores, the metadata view they share, and the messages they send
 * each other.
 *
 * Ownership (docs/architecture.md, Broker). Each core is one thread with its own rings,
 * connections and partitions. Core 0 also owns the metadata (the topics' state machine and its
 * log, broker/topics.h) and HTTP. What cores share is read-only or atomic:
 *   - the topics view: an immutable array of the topics, sorted by name, published by core 0
 *     with an atomic pointer swap after every change. Each core loads it at the start of a
 *     round and announces the version it uses (view_seen); core 0 frees a retired view or a
 *     deleted topic only once every core announced a later version;
 *   - per-partition published figures (offsets, sizes) and counters: atomics written by the
 *     partition's owner core only (struct broker_partition);
 *   - the next producer id (atomic, written by core 0).
 * Everything else moves as messages: a struct broker_msg is posted to another core's network
 * ring with IORING_OP_MSG_RING, and the receiver owns it from then on.
 *
 * Requests. A request is read by whichever core accepted its connection. Metadata APIs run on
 * core 0 (forwarded whole when read elsewhere). PRODUCE, FETCH and LIST_OFFSETS run on the
 * cores owning their partitions: a request whose partitions all belong to the reading core runs
 * there directly; otherwise it is split into one sub-request per owner core, each answered by
 * its owner like any request, and the answers are merged in request order (route.c).
 */
#ifndef RILL_BROKER_BROKER_H
#define RILL_BROKER_BROKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rill.h"
#include "log/partition.h"
#include "proto/frame.h"

struct broker_config;
struct broker_core;
struct broker_topic;
struct route;
struct topics_view;

/* Cores one rilld may run. */
#define BROKER_CORES_MAX 64u

/* MSG_RING submissions of one message before it is given up (a failure is transient: the
 * target's completion queue was full). */
#define BROKER_MSG_SEND_ATTEMPTS 8u

struct broker {
    const struct broker_config *cfg;
    unsigned core_count;
    struct broker_core *cores[BROKER_CORES_MAX];
    _Atomic(struct topics_view *) view; /* current topics view (core 0 publishes) */
    _Atomic int64_t producer_id_next;   /* ids below it were issued (core 0 writes) */
    atomic_bool idle[BROKER_CORES_MAX]; /* stopping, and nothing left to do (shutdown) */
    _Atomic uint32_t conns_open;        /* native connections over all cores (connections.max) */
};

enum broker_msg_type {
    BROKER_MSG_CALL = 1,   /* run a request frame here; answer to route/part on from_core */
    BROKER_MSG_REPLY = 2,  /* a part's response frame for route/part */
    BROKER_MSG_CANCEL = 3, /* answer route/part's long poll now with what it has */
    BROKER_MSG_CLOSE = 4,  /* close this core's partitions of topic (deleted), then ACK */
    BROKER_MSG_ACK = 5,    /* a CLOSE is done: route is the admin operation waiting */
    BROKER_MSG_CONFIG = 6, /* apply topic->cfg to this core's partitions of topic */
    BROKER_MSG_STOP = 7,   /* begin a graceful stop */
    BROKER_MSG_IDLE = 8,   /* (to core 0) a core became idle while stopping */
    BROKER_MSG_EXIT = 9,   /* every core is idle: leave the loop */
    BROKER_MSG_CONN = 10,  /* serve the accepted connection fd (core 0 deals them out) */
};

struct broker_msg {
    enum broker_msg_type type;
    unsigned from_core;
    unsigned to_core;
    struct route *route; /* CALL, REPLY, CANCEL, CLOSE, ACK: the waiting operation */
    uint32_t part;       /* CALL, REPLY, CANCEL: part index in route */
    uint8_t *frame;      /* CALL: request frame without its length prefix; REPLY: response
                            frame with it. malloc'd, owned by the message */
    uint32_t frame_bytes;
    struct broker_topic *topic; /* CLOSE, CONFIG */
    struct log_config cfg;      /* CONFIG: the topic's new log config */
    int fd;                     /* CONN */
    char peer[64];         /* CALL forwarding a JOIN_GROUP: the reading connection's "ip:port" */
    uint8_t send_attempts; /* MSG_RING submissions so far (a failed one is retried) */
    /* Release-stored by the sender before posting, acquire-loaded by the receiver: the kernel
     * orders the handoff already, this states it in C11 terms (and for ThreadSanitizer). */
    atomic_uint posted;
};

/* Posts msg (malloc'd; ownership passes) to core `to`; to == from's own index delivers it
 * inline. */
void broker_msg_send(struct broker_core *from, unsigned to, struct broker_msg *msg);

/* Posts a message of type with no payload (STOP, IDLE, EXIT) to core `to`. False when out of
 * memory (nothing was sent). */
bool broker_msg_signal(struct broker_core *from, unsigned to, enum broker_msg_type type);

/* A received message (network ring completion of type LOOP_OP_MSG). */
void broker_msg_receive(struct broker_core *core, struct broker_msg *msg);

/* Completion of our own MSG_RING submission: res < 0 means msg was not delivered. */
void broker_msg_sent(struct broker_core *core, struct broker_msg *msg, int res);

#endif
