/*
 * client.h - the machinery every client handle (producer, consumer, admin) shares: broker
 * connections, pipelined requests, the poll loop, the metadata cache and retry backoff.
 *
 * No thread: everything happens inside client_poll(), which the handles call from their public
 * calls. A connection is a non-blocking TCP socket with
 *   - an output buffer of encoded frames (several requests leave in one send),
 *   - a FIFO of pending requests (the broker answers in order), at most
 *     RILL_INFLIGHT_PER_CONN_MAX, each with a deadline and a handler,
 *   - an input buffer grown to the frame being received, checked against RILL_FRAME_BYTES_MAX
 *     before growing.
 * A failed connection (error, EOF, timeout, a response that does not decode) fails every
 * pending request with an error and is reconnected later with exponential backoff.
 *
 * Handlers run inside client_poll(); they may queue new requests but never call
 * client_poll() or user callbacks.
 */
#ifndef RILL_CLIENT_CLIENT_H
#define RILL_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "common/conf.h"
#include "common/limits.h"
#include "proto/api.h"

/* Broker connections of one handle (one per broker plus a bootstrap one). */
#define CLIENT_CONNS_MAX 64u
/* Brokers a METADATA answer may list. */
#define CLIENT_BROKERS_MAX 4096u
/* Input buffer of a connection between frames. */
#define CLIENT_RECV_BYTES_INITIAL (64u * 1024)
/* Output bytes queued on a connection beyond which producers stop adding requests. */
#define CLIENT_SEND_BYTES_HIGH (8u * 1024 * 1024)
/* Host names, as in bootstrap.servers or METADATA. */
#define CLIENT_HOST_BYTES 256u

struct client;
struct client_conn;

/*
 * The answer to one request. err RILL_OK: a frame arrived, hdr is its header (hdr->error may
 * be a request-level error, then the body is nil) and body reads the body. Otherwise the
 * request failed without an answer (RILL_ERR_CONNECTION, RILL_ERR_TIMEOUT, RILL_ERR_CLOSED) and
 * hdr/body are NULL; for requests sent without expecting an answer (acks=0), RILL_OK with NULL
 * hdr means "written to the socket".
 */
typedef void client_response_fn(struct client *cl,
                                void *ctx,
                                rill_err err,
                                const struct proto_response_header *hdr,
                                struct mp_reader *body,
                                struct client_conn *conn);

struct client_pending {
    uint32_t correlation_id;
    uint32_t api;
    int64_t deadline_ns; /* answer due by then (monotonic) */
    uint64_t stream_end; /* position in the output stream after its last byte */
    client_response_fn *fn;
    void *ctx;
};

enum client_conn_state {
    CLIENT_CONN_IDLE,       /* no socket; may connect at retry_at_ns */
    CLIENT_CONN_CONNECTING, /* connect() in progress */
    CLIENT_CONN_UP,         /* connected (handshake possibly still pending) */
};

struct client_conn {
    int fd; /* -1 when IDLE */
    enum client_conn_state state;
    int32_t broker_id; /* from the handshake; -1 before */
    bool bootstrap;    /* made from bootstrap.servers, not from metadata */
    bool handshaken;   /* the HANDSHAKE answer arrived */
    char host[CLIENT_HOST_BYTES];
    uint16_t port;
    int64_t connect_deadline_ns; /* connect + handshake due by then */
    int64_t retry_at_ns;         /* IDLE: earliest reconnect */
    unsigned failures;           /* consecutive failures, for the backoff */
    int64_t failing_since_ns;    /* first of those failures; 0 while none */
    uint32_t correlation_next;
    struct mp_writer out;   /* encoded frames not yet fully sent */
    size_t out_sent;        /* bytes of out already sent */
    uint64_t stream_sent;   /* bytes sent over the connection's life */
    uint64_t stream_queued; /* bytes queued over the connection's life */
    uint64_t handshake_end; /* stream offset where the handshake frame ends */
    uint8_t *in;            /* received bytes; frames parsed from in_start */
    size_t in_bytes;        /* bytes held at in */
    size_t in_capacity;
    bool frame_taken; /* the handler running took the input buffer */
    struct client_pending pending[RILL_INFLIGHT_PER_CONN_MAX]; /* FIFO, answers expected */
    unsigned pending_head;
    unsigned pending_count;
    struct client_pending unanswered[RILL_INFLIGHT_PER_CONN_MAX]; /* FIFO, acks=0 requests */
    unsigned unanswered_head;
    unsigned unanswered_count;
};

struct client_broker {
    int32_t id;
    char host[CLIENT_HOST_BYTES];
    uint16_t port;
};

/* What the cache knows of one topic. */
struct client_topic {
    char *name;
    size_t name_bytes;
    rill_err err; /* RILL_OK, or the broker's error for the topic */
    int32_t partition_count;
    int32_t *leaders;     /* partition_count broker ids */
    int64_t refreshed_ns; /* when the metadata last arrived; 0 never */
    bool stale;           /* refresh wanted (leader error, unknown partition) */
    bool refreshing;      /* a METADATA request for it is pending */
    void *owner;          /* the handle's per-topic state (producer) */
};

struct client_server {
    char host[CLIENT_HOST_BYTES];
    uint16_t port;
};

struct client {
    char client_id[CLIENT_HOST_BYTES];
    struct client_server *servers; /* bootstrap.servers */
    unsigned server_count;
    unsigned server_next; /* next bootstrap server to try */
    int64_t request_timeout_ns;
    int64_t connect_timeout_ns;
    int64_t backoff_ns;
    int64_t backoff_max_ns;
    int64_t metadata_max_age_ns;
    struct client_conn *conns[CLIENT_CONNS_MAX];
    unsigned conn_count;
    struct client_broker *brokers; /* from the last METADATA */
    unsigned broker_count;
    int32_t controller_id;
    struct client_topic **topics;
    unsigned topic_count;
    unsigned topic_capacity;
    struct proto_arena arena;           /* decodes one response at a time (handlers) */
    uint64_t rng;                       /* jitter */
    char cluster_id[CLIENT_HOST_BYTES]; /* from the last handshake */
    char broker_version[CLIENT_HOST_BYTES];
    int32_t handshake_broker_id;
};

/* Reads the common keys of conf (already scope-checked) into cl. */
RILL_MUST_CHECK rill_err client_init(struct client *cl,
                                     const rill_conf_t *conf,
                                     char *errstr,
                                     size_t errstr_bytes);
/* Closes every connection, failing pending requests with RILL_ERR_CLOSED. */
void client_deinit(struct client *cl);

int64_t client_now_ns(void);

/* A pseudo-random number (jitter, sticky partitions); not for anything secret. */
uint64_t client_random(struct client *cl);

/* Exponential backoff with jitter for attempt (0 = first retry): a value in
 * [d/2, d] where d = min(max_ns, base_ns * 2^attempt). */
int64_t client_backoff_ns(int64_t base_ns, int64_t max_ns, unsigned attempt, uint64_t *rng);

/* A connection to broker_id (from metadata), or to any broker when broker_id < 0 (an open one
 * if possible, else a bootstrap server). NULL when none can be made (no such broker, table
 * full). The connection may still be connecting or backing off. */
struct client_conn *client_conn_get(struct client *cl, int32_t broker_id);

/* The connection to a partition's leader; NULL when it has none (leader < 0) or none can be
 * made: the caller refreshes metadata. */
struct client_conn *client_conn_leader(struct client *cl, int32_t leader);

/* True when requests may be queued on conn now (connected or connecting, below the in-flight
 * bound). Starts connecting an IDLE connection whose backoff has passed. */
bool client_conn_writable(struct client *cl, struct client_conn *conn);

/*
 * Encodes a request frame onto conn's output (sent by the next client_poll or client_flush).
 * With fn NULL no answer is expected (acks=0). timeout_ns bounds the wait for the answer.
 * Returns RILL_OK; RILL_ERR_FULL when RILL_INFLIGHT_PER_CONN_MAX are pending; RILL_ERR_AGAIN
 * when conn is backing off; RILL_ERR_TOO_LARGE / RILL_ERR_NOMEM from the encoder (nothing
 * queued then).
 */
RILL_MUST_CHECK rill_err client_request(struct client *cl,
                                        struct client_conn *conn,
                                        uint32_t api,
                                        const union proto_request *request,
                                        client_response_fn *fn,
                                        void *ctx,
                                        int64_t timeout_ns);

/* Bytes queued on conn and not yet sent. */
size_t client_conn_unsent(const struct client_conn *conn);

/* Sends what can be sent without blocking on every connection. */
void client_flush(struct client *cl);

/*
 * Waits for socket events until deadline_ns (monotonic; <= now: do not wait), then sends,
 * receives and runs handlers, and expires timed-out requests. Returns after one round.
 */
void client_poll(struct client *cl, int64_t deadline_ns);

/* The frame buffer being handled, handed over to the handler: the caller frees it (free()).
 * The hdr and body pointers of the handler's call stay valid in it. Only from a handler. */
uint8_t *client_conn_take_frame(struct client_conn *conn);

/* Closes conn from a handler whose answer did not decode: a peer that sends malformed bodies
 * is not trusted with the requests behind it either (they fail with RILL_ERR_CONNECTION). */
void client_conn_abort(struct client *cl, struct client_conn *conn);

/* Decodes a response body of api with cl->arena (reset first). */
RILL_MUST_CHECK rill_err client_decode(struct client *cl,
                                       uint32_t api,
                                       struct mp_reader *body,
                                       union proto_response *out);

/* ---- metadata ---- */

/* The cached topic, or NULL. */
struct client_topic *client_topic_find(struct client *cl, const char *name);

/* The cached topic, added (unknown, due for the next client_metadata_refresh) when missing;
 * NULL for an impossible name or when out of memory. Never waits. */
struct client_topic *client_topic_want(struct client *cl, const char *name);

/*
 * The topic's metadata, fetched (waiting until deadline_ns) when unknown, older than
 * metadata.max.age.ms or stale. *out_topic is set even when the topic's err is set (unknown
 * topic). Returns RILL_OK, RILL_ERR_CONNECTION / RILL_ERR_TIMEOUT when no answer came,
 * RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err client_topic_lookup(struct client *cl,
                                             const char *name,
                                             int64_t deadline_ns,
                                             struct client_topic **out_topic);

/* Starts an asynchronous refresh of every stale or expired cached topic (one request). */
void client_metadata_refresh(struct client *cl);

/* Sends request and waits (until deadline_ns) for its answer; fn runs inside. Returns the
 * transport error (RILL_OK when fn ran with a frame). */
RILL_MUST_CHECK rill_err client_call(struct client *cl,
                                     struct client_conn *conn,
                                     uint32_t api,
                                     const union proto_request *request,
                                     client_response_fn *fn,
                                     void *ctx,
                                     int64_t deadline_ns);

/* True when every known broker has failed every connection attempt for at least
 * connect.timeout.ms. */
bool client_unreachable(const struct client *cl);

/* Like client_call on a connection to any broker (bootstrap), retrying connection failures
 * with backoff until deadline_ns, or until client_unreachable(). */
RILL_MUST_CHECK rill_err client_call_any(struct client *cl,
                                         uint32_t api,
                                         const union proto_request *request,
                                         client_response_fn *fn,
                                         void *ctx,
                                         int64_t deadline_ns);

/* LIST_OFFSETS for one partition, waiting until deadline_ns. timestamp: a time in ms, or
 * PROTO_LIST_OFFSETS_LATEST / _EARLIEST. */
RILL_MUST_CHECK rill_err client_list_offset(struct client *cl,
                                            const char *topic,
                                            int32_t partition,
                                            int64_t timestamp,
                                            int64_t deadline_ns,
                                            int64_t *out_offset);

/* Copies a wire string into a NUL-terminated heap string (NULL on allocation failure). */
char *client_strdup_wire(struct proto_str str);

/* An error code read from an answer as a rill_err: positive values become RILL_ERR_CORRUPT. */
rill_err client_wire_err(int32_t code);

/* True when err is worth retrying (transient broker or connection state). */
bool client_err_retriable(rill_err err);

#endif
