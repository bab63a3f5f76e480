/*
 * route.c - requests that cross cores (broker.h): forwarding metadata requests to core 0,
 * splitting PRODUCE, FETCH and LIST_OFFSETS by partition owner and merging the answers, and
 * the messages that carry them.
 *
 * A request whose partitions all live on one other core is not split: its frame goes to that
 * core as it is and the owner's answer frame passes through unchanged (ROUTE_FORWARD, like the
 * core 0 apis), so no batch byte is decoded or copied again on the reading core.
 *
 * A split request becomes one sub-request per owner core, each a complete request of the same
 * api and version holding that core's partitions, encoded with proto/api.h. Every part runs
 * through dispatch_request() on its owner like a request read from a connection, except that
 * its answer goes back to the route (a REPLY message, or a direct call on the same core). Once
 * every part answered, the parts' responses are decoded and merged in the order of the original
 * request, which is answered on its connection. A fetch that gets data from one part cancels
 * the long polls of the others (CANCEL), so data on any core answers the fetch at once.
 *
 * The three split apis share one shape, which is what lets one splitter serve them: a request
 * and a response hold an array of topics [name, partitions[], partition_count], and every
 * partition entry starts with its int32 partition number (checked by the asserts below).
 */
#include "broker/route.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "common/limits.h"
#include "broker/broker.h"
#include "broker/conn.h"
#include "broker/handlers.h"
#include "broker/loop.h"
#include "broker/metrics.h"
#include "broker/pending.h"
#include "broker/topics.h"
#include "proto/api.h"
#include "proto/mp.h"

/* The generic shape of a topic entry of the split apis, requests and responses alike. */
struct route_topic {
    struct proto_str name;
    void *partitions;
    uint32_t partition_count;
};

#define ROUTE_SAME_SHAPE(type)                                                                   \
    _Static_assert(offsetof(type, name) == offsetof(struct route_topic, name) &&                 \
                       offsetof(type, partitions) == offsetof(struct route_topic, partitions) && \
                       offsetof(type, partition_count) ==                                        \
                           offsetof(struct route_topic, partition_count) &&                      \
                       sizeof(type) == sizeof(struct route_topic),                               \
                   #type " has the split shape")
ROUTE_SAME_SHAPE(struct proto_produce_topic);
ROUTE_SAME_SHAPE(struct proto_fetch_topic);
ROUTE_SAME_SHAPE(struct proto_list_offsets_topic);
ROUTE_SAME_SHAPE(struct proto_produce_topic_result);
ROUTE_SAME_SHAPE(struct proto_fetch_topic_result);
ROUTE_SAME_SHAPE(struct proto_list_offsets_topic_result);
_Static_assert(offsetof(struct proto_produce_partition, partition) == 0, "partition first");
_Static_assert(offsetof(struct proto_fetch_partition, partition) == 0, "partition first");
_Static_assert(offsetof(struct proto_list_offsets_partition, partition) == 0, "partition first");

/* Where a partition of the original request went: part (core), topic and index in it. */
struct route_slot {
    uint32_t part;      /* the owner core */
    uint32_t topic;     /* index in that part's sub-request */
    uint32_t partition; /* index in that topic's partitions there */
    int32_t number;     /* the partition number */
};

struct route_part {
    bool used;      /* this core has partitions of the request */
    bool answered;  /* its response arrived */
    uint8_t *frame; /* its response frame (prefix included); NULL: failed with error */
    uint32_t frame_bytes;
    rill_err error;
    uint32_t topic_count; /* topics in its sub-request */
};

enum route_kind {
    ROUTE_FORWARD = 1, /* whole request to one core; the answer passes through */
    ROUTE_SPLIT = 2,   /* one part per owner core, merged */
    ROUTE_DELETE = 3,  /* DELETE_TOPICS waiting for owners to close partitions */
};

struct route {
    struct route *next; /* core list */
    struct route *prev;
    enum route_kind kind;
    struct dispatch_origin origin;
    struct proto_request_header header;
    uint32_t parts_left; /* parts (or CLOSE acks) still to answer */
    struct route_part parts[BROKER_CORES_MAX];
    struct proto_arena arena;   /* slots, original topic names, merged response, delete answer */
    struct route_topic *topics; /* the original request's topics (names copied) */
    uint32_t topic_count;
    struct route_slot *slots;             /* per partition of the original request, in its order */
    union proto_response delete_response; /* ROUTE_DELETE: the answer, once acks are in */
    struct broker_topic **deleted;        /* ROUTE_DELETE: topics to finish */
    uint32_t deleted_count;
};

/* ---------------------------------------------------------------------------------------- */
/* Bookkeeping                                                                                */
/* ---------------------------------------------------------------------------------------- */

static struct route *route_create(struct broker_core *core,
                                  enum route_kind kind,
                                  const struct dispatch_origin *origin,
                                  const struct proto_request_header *header)
{
    struct route *route = calloc(1, sizeof(*route));
    if (route == NULL) {
        return NULL;
    }
    route->kind = kind;
    route->origin = *origin;
    route->header = *header;
    proto_arena_init(&route->arena, RILL_PROTO_ARENA_BYTES_MAX);
    route->next = core->route_first;
    if (core->route_first != NULL) {
        core->route_first->prev = route;
    }
    core->route_first = route;
    core->route_count++;
    return route;
}

static void route_destroy(struct broker_core *core, struct route *route)
{
    if (route->prev != NULL) {
        route->prev->next = route->next;
    } else {
        core->route_first = route->next;
    }
    if (route->next != NULL) {
        route->next->prev = route->prev;
    }
    core->route_count--;
    for (unsigned i = 0; i < BROKER_CORES_MAX; i++) {
        free(route->parts[i].frame);
    }
    proto_arena_deinit(&route->arena);
    free(route);
}

/* The error in a forwarded answer's header, for the metrics (the frame passes unread). */
static rill_err route_answer_error(const uint8_t *frame, uint32_t frame_bytes)
{
    if (frame_bytes < PROTO_FRAME_PREFIX_BYTES) {
        return RILL_ERR_INVALID;
    }
    struct mp_reader reader;
    mp_reader_init(&reader, frame + PROTO_FRAME_PREFIX_BYTES,
                   frame_bytes - PROTO_FRAME_PREFIX_BYTES);
    struct proto_response_header header;
    if (proto_response_header_decode(&reader, &header) != RILL_OK) {
        return RILL_ERR_INVALID;
    }
    return (rill_err)header.error;
}

/* Answers the route's connection with frame (malloc'd, taken). */
static void route_answer_connection(struct broker_core *core,
                                    const struct route *route,
                                    uint8_t *frame,
                                    uint32_t frame_bytes,
                                    rill_err error)
{
    metrics_request_done(core, route->header.api, error, route->origin.request_bytes, frame_bytes,
                         route->origin.start_ns);
    if (!conn_response_fill(route->origin.conn, route->origin.generation,
                            route->origin.response_index, frame, frame_bytes)) {
        free(frame);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                   */
/* ---------------------------------------------------------------------------------------- */

void broker_msg_send(struct broker_core *from, unsigned to, struct broker_msg *msg)
{
    msg->from_core = from->core_index;
    msg->to_core = to;
    if (to == from->core_index) {
        broker_msg_receive(from, msg);
        return;
    }
    metrics_add(&from->messages_sent, 1);
    msg->send_attempts++; /* the last write: once posted, msg belongs to the target */
    atomic_store_explicit(&msg->posted, 1, memory_order_release);
    struct broker_core *target = from->broker->cores[to];
    struct io_uring_sqe *sqe = loop_sqe_get(from);
    io_uring_prep_msg_ring(sqe, target->ring.ring_fd, 0, loop_tag_pointer(LOOP_OP_MSG, msg), 0);
    io_uring_sqe_set_data64(sqe, loop_tag_pointer(LOOP_OP_MSG_SENT, msg));
}

bool broker_msg_signal(struct broker_core *from, unsigned to, enum broker_msg_type type)
{
    struct broker_msg *msg = calloc(1, sizeof(*msg));
    if (msg == NULL) {
        return false;
    }
    msg->type = type;
    broker_msg_send(from, to, msg);
    return true;
}

void broker_msg_sent(struct broker_core *core, struct broker_msg *msg, int res)
{
    if (res >= 0) {
        return; /* delivered: the target owns msg now */
    }
    /* Not delivered: msg is still ours. The rings live as long as the process, so a failure is
     * transient (a full completion queue); retry a few times, then give up loudly. */
    DIAG_WARN("core", "message type=%d to another core failed: %s (attempt %u)", (int)msg->type,
              strerror(-res), (unsigned)msg->send_attempts);
    if (msg->send_attempts < BROKER_MSG_SEND_ATTEMPTS) {
        broker_msg_send(core, msg->to_core, msg);
        return;
    }
    if (msg->type == BROKER_MSG_CALL && msg->route != NULL) {
        route_part_answer(core, msg->route, msg->part, NULL, 0, RILL_ERR_IO);
    } else if (msg->type == BROKER_MSG_CONN) {
        loop_conn_take(core, msg->fd);
    } else {
        DIAG_ERROR("core", "message type=%d lost", (int)msg->type);
    }
    free(msg->frame);
    free(msg);
}

/* Runs a request frame for a route part (or fire-and-forget when route is NULL). */
static void route_run_part(struct broker_core *core,
                           struct route *route,
                           uint32_t part,
                           unsigned route_core,
                           const uint8_t *frame,
                           uint32_t frame_bytes,
                           const char *peer)
{
    struct dispatch_origin origin = {
        .route = route,
        .route_part = part,
        .route_core = route_core,
        .start_ns = rill_clock_mono_ns(),
        .request_bytes = PROTO_FRAME_PREFIX_BYTES + frame_bytes,
        .peer = peer != NULL && peer[0] != '\0' ? peer : NULL,
    };
    struct mp_writer writer;
    mp_writer_init(&writer, PROTO_FRAME_PREFIX_BYTES + (size_t)RILL_FRAME_BYTES_MAX);
    rill_err err = dispatch_request(core, &origin, frame, frame_bytes, &writer);
    if (err == RILL_ERR_AGAIN) {
        mp_writer_deinit(&writer); /* answered later through dispatch_complete */
        return;
    }
    if (route == NULL) {
        mp_writer_deinit(&writer); /* acks=0: nobody waits */
        return;
    }
    if (err != RILL_OK || writer.bytes == 0) {
        mp_writer_deinit(&writer);
        dispatch_route_answer(core, &origin, NULL, 0, err != RILL_OK ? err : RILL_ERR_INVALID);
        return;
    }
    dispatch_route_answer(core, &origin, writer.data, (uint32_t)writer.bytes, RILL_OK);
}

void broker_msg_receive(struct broker_core *core, struct broker_msg *msg)
{
    (void)atomic_load_explicit(&msg->posted, memory_order_acquire);
    switch (msg->type) {
    case BROKER_MSG_CALL:
        route_run_part(core, msg->route, msg->part, msg->from_core, msg->frame, msg->frame_bytes,
                       msg->peer);
        break;
    case BROKER_MSG_REPLY:
        route_part_answer(core, msg->route, msg->part, msg->frame, msg->frame_bytes,
                          msg->frame != NULL ? RILL_OK : RILL_ERR_IO);
        msg->frame = NULL; /* taken */
        break;
    case BROKER_MSG_CANCEL:
        pending_cancel_fetch(core, msg->route, msg->part);
        break;
    case BROKER_MSG_CLOSE:
        route_close_partitions(core, msg->topic);
        msg->type = BROKER_MSG_ACK;
        broker_msg_send(core, msg->from_core, msg);
        return; /* msg travels on */
    case BROKER_MSG_ACK:
        route_delete_ack(core, msg->route);
        break;
    case BROKER_MSG_CONFIG:
        topics_apply_config(msg->topic, core->core_index, &msg->cfg);
        break;
    case BROKER_MSG_STOP:
        loop_stop(core);
        break;
    case BROKER_MSG_IDLE:
        break; /* waking core 0 is the point: its loop checks every core's idle flag */
    case BROKER_MSG_EXIT:
        core->exit_now = true;
        break;
    case BROKER_MSG_CONN:
        loop_conn_take(core, msg->fd);
        break;
    }
    free(msg->frame);
    free(msg);
}

/* ---------------------------------------------------------------------------------------- */
/* Answers of parts                                                                           */
/* ---------------------------------------------------------------------------------------- */

void dispatch_route_answer(struct broker_core *core,
                           const struct dispatch_origin *origin,
                           uint8_t *frame,
                           uint32_t frame_bytes,
                           rill_err error)
{
    RILL_ASSERT(origin->route != NULL);
    if (origin->route_core == core->core_index) {
        route_part_answer(core, origin->route, origin->route_part, frame, frame_bytes, error);
        return;
    }
    struct broker_msg *msg = calloc(1, sizeof(*msg));
    if (msg == NULL) {
        /* Without memory for the reply the route's part never answers: its request times out
         * on the client side and the connection is closed then. Loud, and bounded. */
        DIAG_ERROR("core", "out of memory for a reply to core %u", origin->route_core);
        free(frame);
        return;
    }
    msg->type = BROKER_MSG_REPLY;
    msg->route = origin->route;
    msg->part = origin->route_part;
    msg->frame = error == RILL_OK ? frame : NULL;
    msg->frame_bytes = frame_bytes;
    if (error != RILL_OK) {
        free(frame);
    }
    broker_msg_send(core, origin->route_core, msg);
}

/* True when a fetch part's response carries data or an error (the fetch may be answered). */
static bool route_fetch_part_has_news(const struct route_part *part)
{
    if (part->frame == NULL) {
        return true;
    }
    struct mp_reader reader;
    mp_reader_init(&reader, part->frame + PROTO_FRAME_PREFIX_BYTES,
                   part->frame_bytes - PROTO_FRAME_PREFIX_BYTES);
    struct proto_response_header header;
    if (proto_response_header_decode(&reader, &header) != RILL_OK || header.error != 0) {
        return true;
    }
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    union proto_response response;
    bool news = true;
    if (proto_response_body_decode(PROTO_API_FETCH, &reader, &arena, &response) == RILL_OK) {
        news = false;
        for (uint32_t t = 0; t < response.fetch.topic_count && !news; t++) {
            const struct proto_fetch_topic_result *topic = &response.fetch.topics[t];
            for (uint32_t p = 0; p < topic->partition_count; p++) {
                if (topic->partitions[p].error != 0 || topic->partitions[p].batches.bytes > 0) {
                    news = true;
                    break;
                }
            }
        }
    }
    proto_arena_deinit(&arena);
    return news;
}

static void route_split_finish(struct broker_core *core, struct route *route);

void route_part_answer(struct broker_core *core,
                       struct route *route,
                       uint32_t part,
                       uint8_t *frame,
                       uint32_t frame_bytes,
                       rill_err error)
{
    RILL_ASSERT(part < BROKER_CORES_MAX && route->parts[part].used);
    struct route_part *p = &route->parts[part];
    RILL_ASSERT(!p->answered);
    p->answered = true;
    p->frame = frame;
    p->frame_bytes = frame_bytes;
    p->error = error;
    RILL_ASSERT(route->parts_left > 0);
    route->parts_left--;
    if (route->kind == ROUTE_FORWARD) {
        uint8_t *answer = p->frame;
        p->frame = NULL;
        if (answer == NULL) {
            dispatch_complete(core, &route->origin, &route->header, error, NULL);
        } else {
            route_answer_connection(core, route, answer, frame_bytes,
                                    route_answer_error(answer, frame_bytes));
        }
        route_destroy(core, route);
        return;
    }
    if (route->parts_left > 0 && route->header.api == PROTO_API_FETCH &&
        route_fetch_part_has_news(p)) {
        /* A cancel to this very core runs inline and may answer the last part, which frees
         * the route: it goes last, and the route is not touched after it. */
        bool cancel_own = false;
        for (unsigned other = 0; other < BROKER_CORES_MAX; other++) {
            if (route->parts[other].used && !route->parts[other].answered) {
                if (other == core->core_index) {
                    cancel_own = true;
                    continue;
                }
                struct broker_msg *msg = calloc(1, sizeof(*msg));
                if (msg != NULL) {
                    msg->type = BROKER_MSG_CANCEL;
                    msg->route = route;
                    msg->part = other;
                    broker_msg_send(core, other, msg);
                }
            }
        }
        struct broker_msg *msg = cancel_own ? calloc(1, sizeof(*msg)) : NULL;
        if (msg != NULL) {
            msg->type = BROKER_MSG_CANCEL;
            msg->route = route;
            msg->part = core->core_index;
            broker_msg_send(core, core->core_index, msg);
            return; /* parts_left was > 0: the route finishes (or not) inside */
        }
    }
    if (route->parts_left == 0) {
        route_split_finish(core, route);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Forwarding whole requests                                                                  */
/* ---------------------------------------------------------------------------------------- */

/*
 * Sends the request frame as it is to core target, whose answer frame (same correlation id)
 * passes through to the connection unchanged. forget: acks=0, nothing waits for an answer
 * (RILL_ERR_END). Used for the core 0 apis and for a split api whose partitions all live on
 * one other core: no sub-request to encode, no answer to decode and merge, no batch byte
 * copied on this core.
 */
static rill_err route_forward(struct broker_core *core,
                              const struct dispatch_origin *origin,
                              const struct proto_request_header *header,
                              const uint8_t *frame,
                              uint32_t frame_bytes,
                              unsigned target,
                              bool forget)
{
    RILL_ASSERT(target < core->broker->core_count && target != core->core_index);
    metrics_add(&core->requests_routed, 1);
    struct route *route = forget ? NULL : route_create(core, ROUTE_FORWARD, origin, header);
    struct broker_msg *msg = calloc(1, sizeof(*msg));
    uint8_t *copy = malloc(frame_bytes > 0 ? frame_bytes : 1);
    if ((!forget && route == NULL) || msg == NULL || copy == NULL) {
        free(msg);
        free(copy);
        if (route != NULL) {
            route_destroy(core, route);
        }
        return RILL_ERR_NOMEM;
    }
    memcpy(copy, frame, frame_bytes);
    if (route != NULL) {
        route->parts[target].used = true;
        route->parts_left = 1;
    }
    *msg = (struct broker_msg){ .type = BROKER_MSG_CALL,
                                .route = route,
                                .part = target,
                                .frame = copy,
                                .frame_bytes = frame_bytes };
    if (header->api == PROTO_API_JOIN_GROUP && origin->conn != NULL) {
        /* The member's host is the address of the connection it joined on: read here, where
         * the connection lives. */
        _Static_assert(sizeof(msg->peer) >= CONN_PEER_BYTES, "peer fits the message");
        conn_peer_address(origin->conn, msg->peer, sizeof(msg->peer));
    }
    broker_msg_send(core, target, msg);
    return forget ? RILL_ERR_END : RILL_ERR_AGAIN;
}

/* ---------------------------------------------------------------------------------------- */
/* Splitting                                                                                  */
/* ---------------------------------------------------------------------------------------- */

static size_t route_partition_bytes(uint32_t api)
{
    switch (api) {
    case PROTO_API_PRODUCE:
        return sizeof(struct proto_produce_partition);
    case PROTO_API_FETCH:
        return sizeof(struct proto_fetch_partition);
    default:
        return sizeof(struct proto_list_offsets_partition);
    }
}

static size_t route_result_bytes(uint32_t api)
{
    switch (api) {
    case PROTO_API_PRODUCE:
        return sizeof(struct proto_produce_partition_result);
    case PROTO_API_FETCH:
        return sizeof(struct proto_fetch_partition_result);
    default:
        return sizeof(struct proto_list_offsets_partition_result);
    }
}

/* The topics array of a split api's request or response (union member of that api). */
static struct route_topic **route_topics_field(uint32_t api, void *message, uint32_t **out_count)
{
    switch (api) {
    case PROTO_API_PRODUCE: {
        struct proto_produce_request *req = message;
        *out_count = &req->topic_count;
        return (struct route_topic **)(void *)&req->topics;
    }
    case PROTO_API_FETCH: {
        struct proto_fetch_request *req = message;
        *out_count = &req->topic_count;
        return (struct route_topic **)(void *)&req->topics;
    }
    default: {
        struct proto_list_offsets_request *req = message;
        *out_count = &req->topic_count;
        return (struct route_topic **)(void *)&req->topics;
    }
    }
}

static struct route_topic **
route_result_topics_field(uint32_t api, union proto_response *response, uint32_t **out_count)
{
    switch (api) {
    case PROTO_API_PRODUCE:
        *out_count = &response->produce.topic_count;
        return (struct route_topic **)(void *)&response->produce.topics;
    case PROTO_API_FETCH:
        *out_count = &response->fetch.topic_count;
        return (struct route_topic **)(void *)&response->fetch.topics;
    default:
        *out_count = &response->list_offsets.topic_count;
        return (struct route_topic **)(void *)&response->list_offsets.topics;
    }
}

static int32_t route_partition_number(const void *partitions, size_t element_bytes, uint32_t i)
{
    int32_t number;
    memcpy(&number, (const uint8_t *)partitions + (size_t)i * element_bytes, sizeof(number));
    return number;
}

/* The core owning topic/partition; unknown ones are answered (with their error) here. */
static unsigned
route_owner(const struct broker_core *core, struct proto_str name, int32_t partition)
{
    const struct broker_topic *topic = topics_view_find(core->view, name.ptr, name.bytes);
    if (topic == NULL || partition < 0 || partition >= topic->partition_count) {
        return core->core_index;
    }
    return topic->partitions[partition].core_index;
}

/* Encodes the sub-request of part from request (whose topics are route->topics) into a frame
 * without length prefix: the header of the original, with the body holding only its
 * partitions. */
static rill_err route_encode_part(struct route *route,
                                  uint32_t part,
                                  const union proto_request *request,
                                  struct proto_arena *scratch,
                                  uint8_t **out_frame,
                                  uint32_t *out_frame_bytes)
{
    uint32_t api = route->header.api;
    size_t element_bytes = route_partition_bytes(api);
    union proto_request sub = *request;
    uint32_t *count_field = NULL;
    struct route_topic **topics_field = route_topics_field(api, &sub, &count_field);
    const struct route_topic *original = *topics_field;
    struct route_topic *topics = proto_arena_alloc(scratch, route->topic_count, sizeof(*topics));
    if (topics == NULL) {
        return scratch->err;
    }
    uint32_t topic_count = 0;
    uint32_t slot = 0;
    for (uint32_t t = 0; t < route->topic_count; t++) {
        struct route_topic *out = &topics[topic_count];
        uint32_t taken = 0;
        for (uint32_t p = 0; p < original[t].partition_count; p++, slot++) {
            if (route->slots[slot].part != part) {
                continue;
            }
            if (taken == 0) {
                out->name = original[t].name;
                out->partitions =
                    proto_arena_alloc(scratch, original[t].partition_count, element_bytes);
                if (out->partitions == NULL) {
                    return scratch->err;
                }
            }
            memcpy((uint8_t *)out->partitions + taken * element_bytes,
                   (const uint8_t *)original[t].partitions + p * element_bytes, element_bytes);
            route->slots[slot].topic = topic_count;
            route->slots[slot].partition = taken;
            taken++;
        }
        if (taken > 0) {
            out->partition_count = taken;
            topic_count++;
        }
    }
    *topics_field = topics;
    *count_field = topic_count;
    route->parts[part].topic_count = topic_count;
    if (api == PROTO_API_FETCH) {
        /* The parts share the response: each gets its share of max_bytes. */
        uint32_t parts = 0;
        for (unsigned i = 0; i < BROKER_CORES_MAX; i++) {
            parts += route->parts[i].used;
        }
        sub.fetch.max_bytes = request->fetch.max_bytes / (int32_t)(parts > 0 ? parts : 1);
    }
    struct mp_writer writer;
    mp_writer_init(&writer, (size_t)RILL_FRAME_BYTES_MAX);
    rill_err err = proto_request_header_encode(&writer, &route->header);
    if (err == RILL_OK) {
        err = proto_request_body_encode(api, &writer, &sub);
    }
    if (err != RILL_OK) {
        mp_writer_deinit(&writer);
        return err;
    }
    *out_frame = writer.data;
    *out_frame_bytes = (uint32_t)writer.bytes;
    return RILL_OK;
}

static bool route_fire_and_forget(uint32_t api, const union proto_request *request)
{
    return api == PROTO_API_PRODUCE && request->produce.acks == 0;
}

/* Splits request by owner core. RILL_ERR_NOT_FOUND: every partition is local. */
static rill_err route_split(struct broker_core *core,
                            const struct dispatch_origin *origin,
                            const struct proto_request_header *header,
                            const uint8_t *frame,
                            uint32_t frame_bytes,
                            const union proto_request *request)
{
    uint32_t api = header->api;
    size_t element_bytes = route_partition_bytes(api);
    union proto_request copy = *request;
    uint32_t *count_field = NULL;
    struct route_topic *topics = *route_topics_field(api, &copy, &count_field);
    uint32_t topic_count = *count_field;
    uint32_t slot_count = 0;
    bool owners[BROKER_CORES_MAX] = { false };
    unsigned owner_count = 0;
    unsigned last_owner = core->core_index;
    for (uint32_t t = 0; t < topic_count; t++) {
        for (uint32_t p = 0; p < topics[t].partition_count; p++) {
            int32_t number = route_partition_number(topics[t].partitions, element_bytes, p);
            unsigned owner = route_owner(core, topics[t].name, number);
            owner_count += !owners[owner];
            owners[owner] = true;
            last_owner = owner;
        }
        slot_count += topics[t].partition_count;
    }
    if (owner_count == 0 || (owner_count == 1 && last_owner == core->core_index)) {
        return RILL_ERR_NOT_FOUND;
    }
    if (owner_count == 1) {
        /* Everything on one other core: its answer is the answer. */
        return route_forward(core, origin, header, frame, frame_bytes, last_owner,
                             route_fire_and_forget(api, request));
    }
    struct route *route = route_create(core, ROUTE_SPLIT, origin, header);
    if (route == NULL) {
        return RILL_ERR_NOMEM;
    }
    metrics_add(&core->requests_routed, 1);
    route->topic_count = topic_count;
    route->topics = proto_arena_alloc(&route->arena, topic_count, sizeof(*route->topics));
    route->slots = proto_arena_alloc(&route->arena, slot_count, sizeof(*route->slots));
    rill_err err = route->topics == NULL || route->slots == NULL ? route->arena.err : RILL_OK;
    uint32_t slot = 0;
    for (uint32_t t = 0; err == RILL_OK && t < topic_count; t++) {
        route->topics[t] = topics[t];
        route->topics[t].partitions = NULL; /* the request's arrays die with the request */
        char *name = handler_strdup(&route->arena, topics[t].name.ptr, topics[t].name.bytes);
        if (name == NULL) {
            err = route->arena.err;
            break;
        }
        route->topics[t].name.ptr = name;
        for (uint32_t p = 0; p < topics[t].partition_count; p++, slot++) {
            int32_t number = route_partition_number(topics[t].partitions, element_bytes, p);
            unsigned owner = route_owner(core, topics[t].name, number);
            route->slots[slot].part = owner;
            route->slots[slot].number = number;
            route->parts[owner].used = true;
        }
    }
    /* Encode every part first: running the local part resets the core's arena, which holds
     * the decoded request. */
    uint8_t *frames[BROKER_CORES_MAX] = { 0 };
    uint32_t part_bytes[BROKER_CORES_MAX] = { 0 };
    struct proto_arena scratch;
    proto_arena_init(&scratch, RILL_PROTO_ARENA_BYTES_MAX);
    for (unsigned part = 0; err == RILL_OK && part < core->broker->core_count; part++) {
        if (route->parts[part].used) {
            err = route_encode_part(route, part, &copy, &scratch, &frames[part], &part_bytes[part]);
            route->parts_left++;
        }
    }
    proto_arena_deinit(&scratch);
    if (err != RILL_OK) {
        for (unsigned part = 0; part < BROKER_CORES_MAX; part++) {
            free(frames[part]);
        }
        route_destroy(core, route);
        return err;
    }
    bool forget = route_fire_and_forget(api, request);
    struct route *target = forget ? NULL : route;
    unsigned local = core->core_index;
    for (unsigned part = 0; part < core->broker->core_count; part++) {
        if (frames[part] == NULL || part == local) {
            continue;
        }
        struct broker_msg *msg = calloc(1, sizeof(*msg));
        if (msg == NULL) {
            free(frames[part]);
            if (!forget) {
                route_part_answer(core, route, part, NULL, 0, RILL_ERR_NOMEM);
            }
            continue;
        }
        msg->type = BROKER_MSG_CALL;
        msg->route = target;
        msg->part = part;
        msg->frame = frames[part];
        msg->frame_bytes = part_bytes[part];
        broker_msg_send(core, part, msg);
    }
    if (frames[local] != NULL) {
        route_run_part(core, target, local, local, frames[local], part_bytes[local], NULL);
        free(frames[local]);
    }
    if (forget) {
        route_destroy(core, route);
        return RILL_ERR_END; /* acks=0: not answered */
    }
    return RILL_ERR_AGAIN;
}

/* Merges the parts' responses in request order and answers the connection. */
static void route_split_finish(struct broker_core *core, struct route *route)
{
    uint32_t api = route->header.api;
    size_t result_bytes = route_result_bytes(api);
    union proto_response parts[BROKER_CORES_MAX];
    rill_err part_error[BROKER_CORES_MAX];
    for (unsigned i = 0; i < BROKER_CORES_MAX; i++) {
        struct route_part *part = &route->parts[i];
        part_error[i] = RILL_OK;
        if (!part->used) {
            continue;
        }
        part_error[i] = part->error != RILL_OK ? part->error : RILL_ERR_INVALID;
        if (part->frame == NULL) {
            continue;
        }
        struct mp_reader reader;
        mp_reader_init(&reader, part->frame + PROTO_FRAME_PREFIX_BYTES,
                       part->frame_bytes - PROTO_FRAME_PREFIX_BYTES);
        struct proto_response_header header;
        if (proto_response_header_decode(&reader, &header) != RILL_OK) {
            continue;
        }
        if (header.error != 0) {
            part_error[i] = header.error;
            continue;
        }
        memset(&parts[i], 0, sizeof(parts[i]));
        if (proto_response_body_decode(api, &reader, &route->arena, &parts[i]) == RILL_OK) {
            uint32_t *count = NULL;
            route_result_topics_field(api, &parts[i], &count);
            part_error[i] = *count == part->topic_count ? RILL_OK : RILL_ERR_INVALID;
        }
    }
    union proto_response merged;
    memset(&merged, 0, sizeof(merged));
    uint32_t *merged_count = NULL;
    struct route_topic **merged_topics = route_result_topics_field(api, &merged, &merged_count);
    struct route_topic *topics =
        proto_arena_alloc(&route->arena, route->topic_count, sizeof(*topics));
    rill_err err = route->topic_count > 0 && topics == NULL ? route->arena.err : RILL_OK;
    uint32_t slot = 0;
    for (uint32_t t = 0; err == RILL_OK && t < route->topic_count; t++) {
        uint32_t count = route->topics[t].partition_count;
        topics[t].name = route->topics[t].name;
        topics[t].partition_count = count;
        topics[t].partitions = proto_arena_alloc(&route->arena, count, result_bytes);
        if (count > 0 && topics[t].partitions == NULL) {
            err = route->arena.err;
            break;
        }
        for (uint32_t p = 0; p < count; p++, slot++) {
            const struct route_slot *where = &route->slots[slot];
            uint8_t *out = (uint8_t *)topics[t].partitions + (size_t)p * result_bytes;
            if (part_error[where->part] == RILL_OK) {
                uint32_t *part_count = NULL;
                struct route_topic *part_topics =
                    *route_result_topics_field(api, &parts[where->part], &part_count);
                const struct route_topic *from = &part_topics[where->topic];
                if (where->partition < from->partition_count) {
                    memcpy(out, (const uint8_t *)from->partitions + where->partition * result_bytes,
                           result_bytes);
                    continue;
                }
            }
            /* The part failed as a whole: its partitions carry the error. Every result struct
             * starts [partition: int32, error: int32]. */
            int32_t fields[2] = { where->number, (int32_t)part_error[where->part] };
            memset(out, 0, result_bytes);
            memcpy(out, fields, sizeof(fields));
        }
    }
    *merged_topics = topics;
    *merged_count = route->topic_count;
    dispatch_complete(core, &route->origin, &route->header, err, &merged);
    route_destroy(core, route);
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                               */
/* ---------------------------------------------------------------------------------------- */

/* The metadata apis, and the consumer group apis (the coordinator lives on core 0 too). */
static bool route_core0_api(uint32_t api)
{
    return api == PROTO_API_METADATA || api == PROTO_API_CREATE_TOPICS ||
           api == PROTO_API_DELETE_TOPICS || api == PROTO_API_DESCRIBE_TOPICS ||
           api == PROTO_API_ALTER_CONFIGS || api == PROTO_API_INIT_PRODUCER_ID ||
           (api >= PROTO_API_JOIN_GROUP && api <= PROTO_API_RESET_OFFSETS);
}

rill_err route_request(struct broker_core *core,
                       const struct dispatch_origin *origin,
                       const struct proto_request_header *header,
                       const uint8_t *frame,
                       uint32_t frame_bytes,
                       const union proto_request *request)
{
    if (core->broker->core_count <= 1 || origin->route != NULL) {
        return RILL_ERR_NOT_FOUND;
    }
    if (route_core0_api(header->api)) {
        if (core->core_index == 0) {
            return RILL_ERR_NOT_FOUND;
        }
        return route_forward(core, origin, header, frame, frame_bytes, 0, false);
    }
    if (header->api == PROTO_API_PRODUCE || header->api == PROTO_API_FETCH ||
        header->api == PROTO_API_LIST_OFFSETS) {
        return route_split(core, origin, header, frame, frame_bytes, request);
    }
    return RILL_ERR_NOT_FOUND;
}

/* ---------------------------------------------------------------------------------------- */
/* Topic deletion across cores                                                                */
/* ---------------------------------------------------------------------------------------- */

void route_close_partitions(struct broker_core *core, struct broker_topic *topic)
{
    data_forget_topic(core, topic);
    topics_close_owned(topic, core->core_index);
}

rill_err route_delete_begin(struct broker_core *core,
                            const struct dispatch_origin *origin,
                            const struct proto_request_header *header,
                            union proto_response *response,
                            struct broker_topic **deleted,
                            uint32_t deleted_count)
{
    struct route *route = route_create(core, ROUTE_DELETE, origin, header);
    if (route == NULL) {
        return RILL_ERR_NOMEM;
    }
    /* The answer's arrays live in the core's arena: take it, like a pending request. */
    proto_arena_deinit(&route->arena);
    route->arena = core->arena;
    proto_arena_init(&core->arena, RILL_PROTO_ARENA_BYTES_MAX);
    route->delete_response = *response;
    struct proto_topic_results *results = &route->delete_response.delete_topics;
    for (uint32_t i = 0; i < results->result_count; i++) {
        struct proto_str *name = &results->results[i].name;
        char *copy = handler_strdup(&route->arena, name->ptr, name->bytes);
        name->ptr = copy;
        name->bytes = copy != NULL ? name->bytes : 0;
    }
    route->deleted = proto_arena_alloc(&route->arena, deleted_count, sizeof(*route->deleted));
    RILL_ASSERT(route->deleted != NULL);
    memcpy(route->deleted, deleted, deleted_count * sizeof(*deleted));
    route->deleted_count = deleted_count;
    route->parts_left = 1; /* held until every CLOSE is sent */
    for (uint32_t i = 0; i < deleted_count; i++) {
        for (unsigned c = 0; c < core->broker->core_count; c++) {
            if (!topics_has_partitions_on(deleted[i], c)) {
                continue;
            }
            struct broker_msg *msg = calloc(1, sizeof(*msg));
            RILL_ASSERT(msg != NULL);
            msg->type = BROKER_MSG_CLOSE;
            msg->route = route;
            msg->topic = deleted[i];
            route->parts_left++;
            broker_msg_send(core, c, msg);
        }
    }
    route_delete_ack(core, route);
    return RILL_ERR_AGAIN;
}

void route_delete_ack(struct broker_core *core, struct route *route)
{
    RILL_ASSERT(route->kind == ROUTE_DELETE && route->parts_left > 0);
    if (--route->parts_left > 0) {
        return;
    }
    for (uint32_t i = 0; i < route->deleted_count; i++) {
        topics_delete_finish(core->topics, route->deleted[i]);
    }
    dispatch_complete(core, &route->origin, &route->header, RILL_OK, &route->delete_response);
    route_destroy(core, route);
}

bool route_busy(const struct broker_core *core)
{
    return core->route_count > 0;
}
