/*
 * client.c - connections, pipelined requests, the poll loop and the metadata cache shared by
 * the producer, consumer and admin handles (client/client.h).
 */
#include "client/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/diag.h"
#include "common/err.h"

#define CLIENT_DIAG "client"

int64_t client_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *state)
{
    /* splitmix64: cheap, good enough for jitter and sticky partitions */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t client_random(struct client *cl)
{
    return rng_next(&cl->rng);
}

int64_t client_backoff_ns(int64_t base_ns, int64_t max_ns, unsigned attempt, uint64_t *rng)
{
    if (base_ns <= 0) {
        return 0;
    }
    int64_t delay = base_ns;
    for (unsigned i = 0; i < attempt && delay < max_ns; i++) {
        delay *= 2;
    }
    if (delay > max_ns) {
        delay = max_ns > 0 ? max_ns : base_ns;
    }
    int64_t half = delay / 2;
    return half + (int64_t)(rng_next(rng) % (uint64_t)(delay - half + 1));
}

rill_err client_wire_err(int32_t code)
{
    /* Success, or a negative code (ours, or one a newer broker added); a positive value can
     * only come from a damaged or hostile answer. */
    return code <= 0 ? (rill_err)code : RILL_ERR_CORRUPT;
}

bool client_err_retriable(rill_err err)
{
    switch (err) {
    case RILL_ERR_CONNECTION:
    case RILL_ERR_TIMEOUT:
    case RILL_ERR_UNKNOWN_TOPIC:
    case RILL_ERR_UNKNOWN_PARTITION:
    case RILL_ERR_SHUTTING_DOWN:
    case RILL_ERR_TOO_MANY_CONNECTIONS:
    case RILL_ERR_AGAIN:
    case RILL_ERR_OFFLINE:
    case RILL_ERR_NOMEM:
    case RILL_ERR_FULL:
        return true;
    default:
        return false;
    }
}

char *client_strdup_wire(struct proto_str str)
{
    char *copy = malloc((size_t)str.bytes + 1);
    if (copy == NULL) {
        return NULL;
    }
    if (str.bytes > 0) {
        memcpy(copy, str.ptr, str.bytes);
    }
    copy[str.bytes] = '\0';
    return copy;
}

/* ---------------------------------------------------------------------------------------- */
/* Setup                                                                                      */
/* ---------------------------------------------------------------------------------------- */

rill_err client_init(struct client *cl, const rill_conf_t *conf, char *errstr, size_t errstr_bytes)
{
    memset(cl, 0, sizeof(*cl));
    cl->handshake_broker_id = -1;
    cl->controller_id = -1;
    proto_arena_init(&cl->arena, RILL_PROTO_ARENA_BYTES_MAX);
    snprintf(cl->client_id, sizeof(cl->client_id), "%s", conf_value(conf, "client.id"));
    cl->request_timeout_ns = conf_int64(conf, "request.timeout.ms") * 1000000;
    cl->connect_timeout_ns = conf_int64(conf, "connect.timeout.ms") * 1000000;
    cl->backoff_ns = conf_int64(conf, "retry.backoff.ms") * 1000000;
    cl->backoff_max_ns = conf_int64(conf, "retry.backoff.max.ms") * 1000000;
    if (cl->backoff_max_ns < cl->backoff_ns) {
        cl->backoff_max_ns = cl->backoff_ns;
    }
    cl->metadata_max_age_ns = conf_int64(conf, "metadata.max.age.ms") * 1000000;
    cl->rng = (uint64_t)client_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)cl;
    const char *servers = conf_value(conf, "bootstrap.servers");
    cl->servers = calloc(CONF_SERVERS_MAX, sizeof(*cl->servers));
    if (cl->servers == NULL) {
        return RILL_ERR_NOMEM;
    }
    const char *cursor = servers;
    while (*cursor != '\0' && cl->server_count < CONF_SERVERS_MAX) {
        struct client_server *server = &cl->servers[cl->server_count];
        if (conf_server_next(&cursor, server->host, sizeof(server->host), &server->port) !=
            RILL_OK) {
            rill_errstr_set(errstr, errstr_bytes, "invalid bootstrap.servers \"%.128s\"", servers);
            free(cl->servers);
            cl->servers = NULL;
            return RILL_ERR_CONFIG_VALUE;
        }
        cl->server_count++;
    }
    RILL_ASSERT(cl->server_count > 0); /* validated when set */
    return RILL_OK;
}

static void conn_fail(struct client *cl, struct client_conn *conn, rill_err err);

void client_deinit(struct client *cl)
{
    for (unsigned i = 0; i < cl->conn_count; i++) {
        conn_fail(cl, cl->conns[i], RILL_ERR_CLOSED);
        mp_writer_deinit(&cl->conns[i]->out);
        free(cl->conns[i]->in);
        free(cl->conns[i]);
    }
    cl->conn_count = 0;
    for (unsigned i = 0; i < cl->topic_count; i++) {
        free(cl->topics[i]->name);
        free(cl->topics[i]->leaders);
        free(cl->topics[i]);
    }
    free(cl->topics);
    free(cl->brokers);
    free(cl->servers);
    proto_arena_deinit(&cl->arena);
    memset(cl, 0, sizeof(*cl));
}

/* ---------------------------------------------------------------------------------------- */
/* Connections                                                                                */
/* ---------------------------------------------------------------------------------------- */

static struct client_conn *conn_new(struct client *cl, const char *host, uint16_t port)
{
    if (cl->conn_count >= CLIENT_CONNS_MAX) {
        return NULL;
    }
    struct client_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        return NULL;
    }
    conn->fd = -1;
    conn->broker_id = -1;
    conn->state = CLIENT_CONN_IDLE;
    snprintf(conn->host, sizeof(conn->host), "%s", host);
    conn->port = port;
    conn->correlation_next = 1;
    mp_writer_init(&conn->out, (size_t)RILL_FRAME_BYTES_MAX * 2);
    cl->conns[cl->conn_count++] = conn;
    return conn;
}

/* Closes the socket and fails every request of conn with err (handlers run after the
 * connection is reset, so they may queue requests again). */
static void conn_fail(struct client *cl, struct client_conn *conn, rill_err err)
{
    struct client_pending failed[2 * RILL_INFLIGHT_PER_CONN_MAX];
    unsigned failed_count = 0;
    for (unsigned i = 0; i < conn->pending_count; i++) {
        failed[failed_count++] =
            conn->pending[(conn->pending_head + i) % RILL_INFLIGHT_PER_CONN_MAX];
    }
    for (unsigned i = 0; i < conn->unanswered_count; i++) {
        failed[failed_count++] =
            conn->unanswered[(conn->unanswered_head + i) % RILL_INFLIGHT_PER_CONN_MAX];
    }
    conn->pending_count = 0;
    conn->pending_head = 0;
    conn->unanswered_count = 0;
    conn->unanswered_head = 0;
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
        conn->failures++;
        if (conn->failures == 1) {
            conn->failing_since_ns = client_now_ns();
        }
        conn->retry_at_ns = client_now_ns() + client_backoff_ns(cl->backoff_ns, cl->backoff_max_ns,
                                                                conn->failures - 1, &cl->rng);
        if (err != RILL_ERR_CLOSED) {
            DIAG_DEBUG(CLIENT_DIAG, "connection to %s:%u failed: %s", conn->host, conn->port,
                       rill_err_str(err));
        }
    }
    conn->state = CLIENT_CONN_IDLE;
    conn->handshaken = false;
    mp_writer_reset(&conn->out);
    conn->out_sent = 0;
    conn->in_bytes = 0;
    for (unsigned i = 0; i < failed_count; i++) {
        if (failed[i].fn != NULL) {
            failed[i].fn(cl, failed[i].ctx, err, NULL, NULL, conn);
        }
    }
}

static void handshake_done(struct client *cl,
                           void *ctx,
                           rill_err err,
                           const struct proto_response_header *hdr,
                           struct mp_reader *body,
                           struct client_conn *conn)
{
    (void)ctx;
    if (err != RILL_OK) {
        return;
    }
    union proto_response resp;
    if (hdr->error != RILL_OK || client_decode(cl, PROTO_API_HANDSHAKE, body, &resp) != RILL_OK) {
        DIAG_WARN(CLIENT_DIAG, "handshake with %s:%u refused or malformed", conn->host, conn->port);
        conn_fail(cl, conn,
                  hdr->error != RILL_OK ? client_wire_err(hdr->error) : RILL_ERR_CONNECTION);
        return;
    }
    conn->handshaken = true;
    conn->failures = 0;
    conn->failing_since_ns = 0;
    conn->broker_id = resp.handshake.broker_id;
    cl->handshake_broker_id = resp.handshake.broker_id;
    snprintf(cl->cluster_id, sizeof(cl->cluster_id), "%.*s", (int)resp.handshake.cluster_id.bytes,
             resp.handshake.cluster_id.ptr);
    snprintf(cl->broker_version, sizeof(cl->broker_version), "%.*s",
             (int)resp.handshake.broker_version.bytes, resp.handshake.broker_version.ptr);
}

/* Encodes one request frame at the end of conn->out; on failure the output is unchanged. */
static rill_err conn_encode(struct client_conn *conn,
                            uint32_t api,
                            uint32_t correlation_id,
                            const union proto_request *request)
{
    struct mp_writer *out = &conn->out;
    size_t saved = out->bytes;
    struct proto_request_header header = { .api = api,
                                           .version = 1,
                                           .correlation_id = correlation_id };
    rill_err err = proto_frame_begin(out);
    if (err == RILL_OK) {
        err = proto_request_header_encode(out, &header);
    }
    if (err == RILL_OK) {
        err = proto_request_body_encode(api, out, request);
    }
    if (err == RILL_OK) {
        err = proto_frame_end(out);
    }
    if (err == RILL_OK && out->bytes - saved - PROTO_FRAME_PREFIX_BYTES > RILL_FRAME_BYTES_MAX) {
        err = RILL_ERR_TOO_LARGE;
    }
    if (err != RILL_OK) {
        out->bytes = saved; /* forget the partial frame; the writer stays usable */
        out->err = RILL_OK;
        out->frame_open = false;
        return err;
    }
    conn->stream_queued += out->bytes - saved;
    return RILL_OK;
}

static rill_err conn_queue(struct client *cl,
                           struct client_conn *conn,
                           uint32_t api,
                           const union proto_request *request,
                           client_response_fn *fn,
                           void *ctx,
                           int64_t deadline_ns)
{
    bool answered = api != PROTO_API_PRODUCE || request->produce.acks != 0;
    unsigned *count = answered ? &conn->pending_count : &conn->unanswered_count;
    if (*count >= RILL_INFLIGHT_PER_CONN_MAX) {
        return RILL_ERR_FULL;
    }
    uint32_t correlation_id = conn->correlation_next++;
    rill_err err = conn_encode(conn, api, correlation_id, request);
    if (err != RILL_OK) {
        return err;
    }
    struct client_pending entry = {
        .correlation_id = correlation_id,
        .api = api,
        .deadline_ns = deadline_ns,
        .stream_end = conn->stream_queued,
        .fn = fn,
        .ctx = ctx,
    };
    if (answered) {
        conn->pending[(conn->pending_head + conn->pending_count) % RILL_INFLIGHT_PER_CONN_MAX] =
            entry;
        conn->pending_count++;
    } else {
        conn->unanswered[(conn->unanswered_head + conn->unanswered_count) %
                         RILL_INFLIGHT_PER_CONN_MAX] = entry;
        conn->unanswered_count++;
    }
    (void)cl;
    return RILL_OK;
}

/* Starts a non-blocking connect to conn's address and queues the handshake first. */
static void conn_connect(struct client *cl, struct client_conn *conn)
{
    char port_text[8];
    snprintf(port_text, sizeof(port_text), "%u", conn->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *addrs = NULL;
    int fd = -1;
    /* "[::1]" as in host:port lists: the resolver wants the address without brackets */
    char host[CLIENT_HOST_BYTES];
    size_t host_bytes = strlen(conn->host);
    if (host_bytes >= 2 && conn->host[0] == '[' && conn->host[host_bytes - 1] == ']') {
        snprintf(host, sizeof(host), "%.*s", (int)(host_bytes - 2), conn->host + 1);
    } else {
        snprintf(host, sizeof(host), "%s", conn->host);
    }
    if (getaddrinfo(host, port_text, &hints, &addrs) == 0) {
        for (struct addrinfo *ai = addrs; ai != NULL && fd < 0; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
            if (fd < 0) {
                continue;
            }
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
                close(fd);
                fd = -1;
            }
        }
        freeaddrinfo(addrs);
    }
    conn->connect_deadline_ns = client_now_ns() + cl->connect_timeout_ns;
    if (fd < 0) {
        conn->failures++;
        if (conn->failures == 1) {
            conn->failing_since_ns = client_now_ns();
        }
        conn->retry_at_ns = client_now_ns() + client_backoff_ns(cl->backoff_ns, cl->backoff_max_ns,
                                                                conn->failures - 1, &cl->rng);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn->fd = fd;
    conn->state = CLIENT_CONN_CONNECTING;
    conn->handshaken = false;
    conn->out_sent = 0;
    mp_writer_reset(&conn->out);
    conn->stream_sent = 0;
    conn->stream_queued = 0;
    conn->in_bytes = 0;
    union proto_request request = { .handshake = {
                                        .client_name = { cl->client_id,
                                                         (uint32_t)strlen(cl->client_id) },
                                        .client_version = { RILL_VERSION_STR,
                                                            (uint32_t)strlen(RILL_VERSION_STR) },
                                    } };
    if (conn_queue(cl, conn, PROTO_API_HANDSHAKE, &request, handshake_done, NULL,
                   conn->connect_deadline_ns) != RILL_OK) {
        conn_fail(cl, conn, RILL_ERR_NOMEM);
        return;
    }
    conn->handshake_end = conn->stream_queued;
}

bool client_conn_writable(struct client *cl, struct client_conn *conn)
{
    if (conn->state == CLIENT_CONN_IDLE) {
        if (client_now_ns() < conn->retry_at_ns) {
            return false;
        }
        conn_connect(cl, conn);
        if (conn->state == CLIENT_CONN_IDLE) {
            return false;
        }
    }
    return conn->pending_count < RILL_INFLIGHT_PER_CONN_MAX &&
           conn->unanswered_count < RILL_INFLIGHT_PER_CONN_MAX;
}

struct client_conn *client_conn_get(struct client *cl, int32_t broker_id)
{
    if (broker_id >= 0) {
        for (unsigned i = 0; i < cl->conn_count; i++) {
            if (cl->conns[i]->broker_id == broker_id) {
                return cl->conns[i];
            }
        }
        for (unsigned i = 0; i < cl->broker_count; i++) {
            if (cl->brokers[i].id == broker_id) {
                struct client_conn *conn = conn_new(cl, cl->brokers[i].host, cl->brokers[i].port);
                if (conn != NULL) {
                    conn->broker_id = broker_id;
                }
                return conn;
            }
        }
        return NULL;
    }
    /* Any broker: one that answered its handshake, else one connecting, else one that may
     * connect now, else a new one. */
    for (unsigned i = 0; i < cl->conn_count; i++) {
        if (cl->conns[i]->state == CLIENT_CONN_UP && cl->conns[i]->handshaken) {
            return cl->conns[i];
        }
    }
    struct client_conn *waiting = NULL;
    for (unsigned i = 0; i < cl->conn_count; i++) {
        struct client_conn *conn = cl->conns[i];
        if (conn->state != CLIENT_CONN_IDLE) {
            return conn;
        }
        if (waiting == NULL || conn->retry_at_ns < waiting->retry_at_ns) {
            waiting = conn;
        }
    }
    if (waiting != NULL && (waiting->retry_at_ns <= client_now_ns() || !waiting->bootstrap ||
                            cl->conn_count >= cl->server_count)) {
        return waiting;
    }
    /* Try the next bootstrap server that has no connection yet. */
    struct client_server *server = &cl->servers[cl->server_next % cl->server_count];
    cl->server_next++;
    for (unsigned i = 0; i < cl->conn_count; i++) {
        if (cl->conns[i]->port == server->port && strcmp(cl->conns[i]->host, server->host) == 0) {
            return cl->conns[i];
        }
    }
    struct client_conn *conn = conn_new(cl, server->host, server->port);
    if (conn != NULL) {
        conn->bootstrap = true;
    }
    return conn != NULL ? conn : waiting;
}

struct client_conn *client_conn_leader(struct client *cl, int32_t leader)
{
    return leader >= 0 ? client_conn_get(cl, leader) : NULL;
}

rill_err client_request(struct client *cl,
                        struct client_conn *conn,
                        uint32_t api,
                        const union proto_request *request,
                        client_response_fn *fn,
                        void *ctx,
                        int64_t timeout_ns)
{
    if (!client_conn_writable(cl, conn)) {
        return conn->state == CLIENT_CONN_IDLE ? RILL_ERR_AGAIN : RILL_ERR_FULL;
    }
    return conn_queue(cl, conn, api, request, fn, ctx, client_now_ns() + timeout_ns);
}

size_t client_conn_unsent(const struct client_conn *conn)
{
    return conn->out.bytes - conn->out_sent;
}

/*
 * The bytes conn may send now: all it has queued once the broker answered the handshake, only
 * the handshake before that. A request sent along with the handshake could hold the
 * handshake's answer back (a broker answers in order, and a long metadata change delays both),
 * so the connect deadline would fail a healthy connection, and the caller's retry would send a
 * non-idempotent request (CREATE_TOPICS) a second time.
 */
static size_t conn_sendable(const struct client_conn *conn)
{
    size_t unsent = conn->out.bytes - conn->out_sent;
    if (conn->handshaken) {
        return unsent;
    }
    uint64_t allowed =
        conn->handshake_end > conn->stream_sent ? conn->handshake_end - conn->stream_sent : 0;
    return allowed < unsent ? (size_t)allowed : unsent;
}

/* Completes the acks=0 requests whose bytes all left. */
static void conn_complete_unanswered(struct client *cl, struct client_conn *conn)
{
    while (conn->unanswered_count > 0) {
        struct client_pending *entry = &conn->unanswered[conn->unanswered_head];
        if (entry->stream_end > conn->stream_sent) {
            break;
        }
        struct client_pending done = *entry;
        conn->unanswered_head = (conn->unanswered_head + 1) % RILL_INFLIGHT_PER_CONN_MAX;
        conn->unanswered_count--;
        if (done.fn != NULL) {
            done.fn(cl, done.ctx, RILL_OK, NULL, NULL, conn);
        }
    }
}

/* Sends as much of conn->out as the socket takes. Returns false when the connection failed. */
static bool conn_send(struct client *cl, struct client_conn *conn)
{
    size_t room;
    while (conn->state == CLIENT_CONN_UP && (room = conn_sendable(conn)) > 0) {
        ssize_t sent = send(conn->fd, conn->out.data + conn->out_sent, room, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            conn_fail(cl, conn, RILL_ERR_CONNECTION);
            return false;
        }
        conn->out_sent += (size_t)sent;
        conn->stream_sent += (uint64_t)sent;
    }
    if (conn->state == CLIENT_CONN_UP && conn->out_sent == conn->out.bytes && conn->out_sent > 0) {
        mp_writer_reset(&conn->out);
        conn->out_sent = 0;
    }
    if (conn->state == CLIENT_CONN_UP) {
        conn_complete_unanswered(cl, conn);
    }
    return conn->state == CLIENT_CONN_UP;
}

void client_flush(struct client *cl)
{
    for (unsigned i = 0; i < cl->conn_count; i++) {
        struct client_conn *conn = cl->conns[i];
        if (conn->state == CLIENT_CONN_UP && client_conn_unsent(conn) > 0) {
            (void)conn_send(cl, conn);
        }
    }
}

void client_conn_abort(struct client *cl, struct client_conn *conn)
{
    DIAG_WARN(CLIENT_DIAG, "malformed answer from %s:%u: closing the connection", conn->host,
              conn->port);
    conn_fail(cl, conn, RILL_ERR_CONNECTION);
}

uint8_t *client_conn_take_frame(struct client_conn *conn)
{
    uint8_t *frame = conn->in;
    conn->in = NULL;
    conn->in_capacity = 0;
    conn->in_bytes = 0;
    conn->frame_taken = true;
    return frame;
}

rill_err
client_decode(struct client *cl, uint32_t api, struct mp_reader *body, union proto_response *out)
{
    proto_arena_reset(&cl->arena);
    return proto_response_body_decode(api, body, &cl->arena, out);
}

/* Handles the complete frame at conn->in[start, start + 4 + frame_bytes). Returns false when
 * the connection failed (a response that does not match what was asked). */
static bool
conn_dispatch(struct client *cl, struct client_conn *conn, size_t start, uint32_t frame_bytes)
{
    struct mp_reader reader;
    mp_reader_init(&reader, conn->in + start + PROTO_FRAME_PREFIX_BYTES, frame_bytes);
    struct proto_response_header hdr;
    if (proto_response_header_decode(&reader, &hdr) != RILL_OK || conn->pending_count == 0 ||
        conn->pending[conn->pending_head].correlation_id != hdr.correlation_id) {
        DIAG_WARN(CLIENT_DIAG, "unexpected or malformed response from %s:%u", conn->host,
                  conn->port);
        conn_fail(cl, conn, RILL_ERR_CONNECTION);
        return false;
    }
    struct client_pending done = conn->pending[conn->pending_head];
    conn->pending_head = (conn->pending_head + 1) % RILL_INFLIGHT_PER_CONN_MAX;
    conn->pending_count--;
    if (done.fn != NULL) {
        done.fn(cl, done.ctx, RILL_OK, &hdr, &reader, conn);
    }
    return conn->state == CLIENT_CONN_UP;
}

/* Reads what the socket has and dispatches every complete frame. */
static bool conn_receive(struct client *cl, struct client_conn *conn)
{
    for (unsigned round = 0; round < 16; round++) {
        if (conn->in_capacity - conn->in_bytes == 0) {
            size_t capacity =
                conn->in_capacity == 0 ? CLIENT_RECV_BYTES_INITIAL : conn->in_capacity * 2;
            uint8_t *grown = realloc(conn->in, capacity);
            if (grown == NULL) {
                conn_fail(cl, conn, RILL_ERR_NOMEM);
                return false;
            }
            conn->in = grown;
            conn->in_capacity = capacity;
        }
        ssize_t got =
            recv(conn->fd, conn->in + conn->in_bytes, conn->in_capacity - conn->in_bytes, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        }
        if (got <= 0) {
            conn_fail(cl, conn, RILL_ERR_CONNECTION);
            return false;
        }
        conn->in_bytes += (size_t)got;
        size_t start = 0;
        while (conn->in_bytes - start >= PROTO_FRAME_PREFIX_BYTES) {
            uint32_t frame_bytes = 0;
            if (proto_frame_length_decode(conn->in + start, RILL_FRAME_BYTES_MAX, &frame_bytes) !=
                RILL_OK) {
                DIAG_WARN(CLIENT_DIAG, "bad frame length from %s:%u", conn->host, conn->port);
                conn_fail(cl, conn, RILL_ERR_CONNECTION);
                return false;
            }
            size_t total = PROTO_FRAME_PREFIX_BYTES + (size_t)frame_bytes;
            if (conn->in_bytes - start < total) {
                /* Incomplete: make room for exactly this frame (its length was checked). */
                if (start > 0) {
                    memmove(conn->in, conn->in + start, conn->in_bytes - start);
                    conn->in_bytes -= start;
                    start = 0;
                }
                if (conn->in_capacity < total) {
                    uint8_t *grown = realloc(conn->in, total);
                    if (grown == NULL) {
                        conn_fail(cl, conn, RILL_ERR_NOMEM);
                        return false;
                    }
                    conn->in = grown;
                    conn->in_capacity = total;
                }
                break;
            }
            conn->frame_taken = false;
            uint8_t *frame_buffer = conn->in;
            size_t frame_buffer_bytes = conn->in_bytes;
            if (!conn_dispatch(cl, conn, start, frame_bytes)) {
                return false; /* a taken frame belongs to the handler now */
            }
            if (conn->frame_taken) {
                /* The handler kept the buffer: the bytes after the frame move to a new one.
                 * Frames are taken by fetches, whose next answer is about as large: room for
                 * one like it spares growing (and copying) the buffer while it arrives. */
                size_t rest = frame_buffer_bytes - start - total;
                size_t capacity =
                    total > CLIENT_RECV_BYTES_INITIAL ? total : CLIENT_RECV_BYTES_INITIAL;
                capacity = rest > capacity ? rest : capacity;
                conn->in = malloc(capacity);
                if (conn->in == NULL) {
                    conn_fail(cl, conn, RILL_ERR_NOMEM);
                    return false;
                }
                conn->in_capacity = capacity;
                memcpy(conn->in, frame_buffer + start + total, rest);
                conn->in_bytes = rest;
                start = 0;
                continue;
            }
            start += total;
        }
        if (start > 0) {
            memmove(conn->in, conn->in + start, conn->in_bytes - start);
            conn->in_bytes -= start;
        }
        if (conn->in_bytes < conn->in_capacity) {
            return true; /* the socket had less than the room: probably drained */
        }
    }
    return true;
}

/* Fails conn when its connect or its oldest request is overdue. */
static void conn_expire(struct client *cl, struct client_conn *conn, int64_t now)
{
    if (conn->state == CLIENT_CONN_IDLE) {
        return;
    }
    if (!conn->handshaken && now >= conn->connect_deadline_ns) {
        conn_fail(cl, conn, RILL_ERR_CONNECTION);
        return;
    }
    if (conn->pending_count > 0 && now >= conn->pending[conn->pending_head].deadline_ns) {
        conn_fail(cl, conn, RILL_ERR_TIMEOUT);
    }
}

static int64_t conn_next_deadline(const struct client_conn *conn)
{
    int64_t deadline = INT64_MAX;
    if (conn->state == CLIENT_CONN_IDLE) {
        return deadline;
    }
    if (!conn->handshaken) {
        deadline = conn->connect_deadline_ns;
    }
    if (conn->pending_count > 0 && conn->pending[conn->pending_head].deadline_ns < deadline) {
        deadline = conn->pending[conn->pending_head].deadline_ns;
    }
    return deadline;
}

void client_poll(struct client *cl, int64_t deadline_ns)
{
    struct pollfd fds[CLIENT_CONNS_MAX];
    struct client_conn *polled[CLIENT_CONNS_MAX];
    nfds_t count = 0;
    int64_t now = client_now_ns();
    int64_t wake = deadline_ns;
    for (unsigned i = 0; i < cl->conn_count; i++) {
        struct client_conn *conn = cl->conns[i];
        if (conn->state == CLIENT_CONN_UP && client_conn_unsent(conn) > 0) {
            (void)conn_send(cl, conn);
        }
        if (conn->state == CLIENT_CONN_IDLE) {
            if (conn->retry_at_ns > now && conn->retry_at_ns < wake) {
                wake = conn->retry_at_ns; /* its backoff ends: work may wait for it */
            }
            continue;
        }
        int64_t conn_deadline = conn_next_deadline(conn);
        if (conn_deadline < wake) {
            wake = conn_deadline;
        }
        short events = POLLIN;
        if (conn->state == CLIENT_CONN_CONNECTING || conn_sendable(conn) > 0) {
            events |= POLLOUT;
        }
        fds[count] = (struct pollfd){ .fd = conn->fd, .events = events };
        polled[count++] = conn;
    }
    int timeout_ms = 0;
    if (wake > now) {
        int64_t wait_ms = (wake - now + 999999) / 1000000;
        timeout_ms = wait_ms > 60000 ? 60000 : (int)wait_ms;
    }
    int ready = count > 0 ? poll(fds, count, timeout_ms) : 0;
    if (count == 0 && timeout_ms > 0) {
        struct timespec ts = { .tv_sec = timeout_ms / 1000,
                               .tv_nsec = (long)(timeout_ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
    }
    for (nfds_t i = 0; ready > 0 && i < count; i++) {
        struct client_conn *conn = polled[i];
        if (fds[i].revents == 0 || conn->fd != fds[i].fd) {
            continue;
        }
        if (conn->state == CLIENT_CONN_CONNECTING) {
            int so_error = 0;
            socklen_t len = sizeof(so_error);
            if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
                conn_fail(cl, conn, RILL_ERR_CONNECTION);
                continue;
            }
            conn->state = CLIENT_CONN_UP;
        }
        if ((fds[i].revents & (POLLOUT | POLLERR)) != 0 && !conn_send(cl, conn)) {
            continue;
        }
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !conn_receive(cl, conn)) {
            continue;
        }
        if (conn->state == CLIENT_CONN_UP && client_conn_unsent(conn) > 0) {
            (void)conn_send(cl, conn);
        }
    }
    now = client_now_ns();
    for (unsigned i = 0; i < cl->conn_count; i++) {
        conn_expire(cl, cl->conns[i], now);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Calls that wait for their answer                                                          */
/* ---------------------------------------------------------------------------------------- */

struct call_state {
    client_response_fn *fn;
    void *ctx;
    bool done;
    rill_err err;
};

static void call_done(struct client *cl,
                      void *ctx,
                      rill_err err,
                      const struct proto_response_header *hdr,
                      struct mp_reader *body,
                      struct client_conn *conn)
{
    struct call_state *call = ctx;
    call->done = true;
    call->err = err;
    if (err == RILL_OK) {
        call->fn(cl, call->ctx, err, hdr, body, conn);
    }
}

rill_err client_call(struct client *cl,
                     struct client_conn *conn,
                     uint32_t api,
                     const union proto_request *request,
                     client_response_fn *fn,
                     void *ctx,
                     int64_t deadline_ns)
{
    struct call_state call = { .fn = fn, .ctx = ctx };
    int64_t now = client_now_ns();
    for (;;) {
        if (now >= deadline_ns) {
            return RILL_ERR_TIMEOUT;
        }
        if (client_conn_writable(cl, conn)) {
            break;
        }
        if (conn->state != CLIENT_CONN_IDLE) {
            client_poll(cl, deadline_ns); /* full pipeline: wait for answers */
        } else {
            if (conn->retry_at_ns >= deadline_ns) {
                return RILL_ERR_CONNECTION;
            }
            client_poll(cl, conn->retry_at_ns);
        }
        now = client_now_ns();
    }
    rill_err err = conn_queue(cl, conn, api, request, call_done, &call, deadline_ns);
    if (err != RILL_OK) {
        return err;
    }
    while (!call.done) {
        client_poll(cl, deadline_ns);
    }
    return call.err;
}

/* True when every known broker has failed every connection attempt for at least
 * connect.timeout.ms: no broker can be reached, and waiting longer for an answer is pointless
 * (rill.h: RILL_ERR_CONNECTION "within connect.timeout.ms"). */
bool client_unreachable(const struct client *cl)
{
    int64_t now = client_now_ns();
    for (unsigned i = 0; i < cl->conn_count; i++) {
        const struct client_conn *conn = cl->conns[i];
        if (conn->failures == 0 || now - conn->failing_since_ns < cl->connect_timeout_ns) {
            return false;
        }
    }
    return cl->conn_count > 0;
}

rill_err client_call_any(struct client *cl,
                         uint32_t api,
                         const union proto_request *request,
                         client_response_fn *fn,
                         void *ctx,
                         int64_t deadline_ns)
{
    rill_err err = RILL_ERR_CONNECTION;
    while (client_now_ns() < deadline_ns) {
        struct client_conn *conn = client_conn_get(cl, -1);
        if (conn == NULL || client_unreachable(cl)) {
            return RILL_ERR_CONNECTION;
        }
        if (conn->state == CLIENT_CONN_IDLE && conn->retry_at_ns > client_now_ns()) {
            client_poll(cl, conn->retry_at_ns < deadline_ns ? conn->retry_at_ns : deadline_ns);
            continue;
        }
        err = client_call(cl, conn, api, request, fn, ctx, deadline_ns);
        if (err != RILL_ERR_CONNECTION) {
            return err;
        }
    }
    return err == RILL_ERR_CONNECTION ? RILL_ERR_CONNECTION : RILL_ERR_TIMEOUT;
}

/* ---------------------------------------------------------------------------------------- */
/* Metadata                                                                                   */
/* ---------------------------------------------------------------------------------------- */

struct client_topic *client_topic_find(struct client *cl, const char *name)
{
    for (unsigned i = 0; i < cl->topic_count; i++) {
        if (strcmp(cl->topics[i]->name, name) == 0) {
            return cl->topics[i];
        }
    }
    return NULL;
}

static struct client_topic *topic_add(struct client *cl, const char *name, size_t name_bytes)
{
    if (cl->topic_count == cl->topic_capacity) {
        unsigned capacity = cl->topic_capacity == 0 ? 8 : cl->topic_capacity * 2;
        struct client_topic **grown = realloc(cl->topics, capacity * sizeof(*grown));
        if (grown == NULL) {
            return NULL;
        }
        cl->topics = grown;
        cl->topic_capacity = capacity;
    }
    struct client_topic *topic = calloc(1, sizeof(*topic));
    char *copy = malloc(name_bytes + 1);
    if (topic == NULL || copy == NULL) {
        free(topic);
        free(copy);
        return NULL;
    }
    memcpy(copy, name, name_bytes);
    copy[name_bytes] = '\0';
    topic->name = copy;
    topic->name_bytes = name_bytes;
    topic->err = RILL_ERR_UNKNOWN_TOPIC;
    cl->topics[cl->topic_count++] = topic;
    return topic;
}

struct client_topic *client_topic_want(struct client *cl, const char *name)
{
    struct client_topic *topic = client_topic_find(cl, name);
    size_t name_bytes = strlen(name);
    if (topic == NULL && name_bytes > 0 && name_bytes <= RILL_TOPIC_NAME_BYTES_MAX) {
        topic = topic_add(cl, name, name_bytes); /* never refreshed: the next refresh asks */
    }
    return topic;
}

/* A host name or address as a broker may advertise it: letters, digits, '.', '-', '_', ':'
 * and brackets (IPv6), shorter than CLIENT_HOST_BYTES. */
static bool host_plausible(struct proto_str host)
{
    if (host.bytes == 0 || host.bytes >= CLIENT_HOST_BYTES) {
        return false;
    }
    for (uint32_t i = 0; i < host.bytes; i++) {
        char ch = host.ptr[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == ':' ||
                  ch == '[' || ch == ']';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Applies one METADATA answer: the broker table and every topic it lists. */
static rill_err metadata_apply(struct client *cl, const struct proto_metadata_response *md)
{
    if (md->broker_count > CLIENT_BROKERS_MAX) {
        return RILL_ERR_CORRUPT; /* more brokers than any cluster we can talk to */
    }
    struct client_broker *brokers = calloc(md->broker_count + 1u, sizeof(*brokers));
    if (brokers == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < md->broker_count; i++) {
        brokers[i].id = md->brokers[i].id;
        if (host_plausible(md->brokers[i].host)) {
            snprintf(brokers[i].host, sizeof(brokers[i].host), "%.*s",
                     (int)md->brokers[i].host.bytes, md->brokers[i].host.ptr);
        } /* else empty: connecting fails at once instead of asking a resolver about junk */
        brokers[i].port = md->brokers[i].port <= 65535 ? (uint16_t)md->brokers[i].port : 0;
    }
    free(cl->brokers);
    cl->brokers = brokers;
    cl->broker_count = md->broker_count;
    cl->controller_id = md->controller_id;
    int64_t now = client_now_ns();
    for (uint32_t i = 0; i < md->topic_count; i++) {
        const struct proto_metadata_topic *entry = &md->topics[i];
        if (entry->name.bytes == 0 || entry->name.bytes > RILL_TOPIC_NAME_BYTES_MAX ||
            memchr(entry->name.ptr, '\0', entry->name.bytes) != NULL) {
            continue;
        }
        char name[RILL_TOPIC_NAME_BYTES_MAX + 1];
        memcpy(name, entry->name.ptr, entry->name.bytes);
        name[entry->name.bytes] = '\0';
        struct client_topic *topic = client_topic_find(cl, name);
        if (topic == NULL) {
            topic = topic_add(cl, name, entry->name.bytes);
            if (topic == NULL) {
                return RILL_ERR_NOMEM;
            }
        }
        topic->refreshed_ns = now;
        topic->stale = false;
        topic->refreshing = false;
        topic->err = client_wire_err(entry->error);
        if (entry->error != RILL_OK) {
            continue;
        }
        /* Partition numbers must be exactly 0..count-1; anything else is malformed. */
        uint32_t count = entry->partition_count;
        int32_t *leaders = count > 0 ? malloc(count * sizeof(*leaders)) : NULL;
        if (count > 0 && leaders == NULL) {
            return RILL_ERR_NOMEM;
        }
        bool valid = count > 0 && count <= RILL_PARTITIONS_MAX;
        for (uint32_t p = 0; p < count; p++) {
            leaders[p] = -2;
        }
        for (uint32_t p = 0; valid && p < count; p++) {
            int32_t number = entry->partitions[p].partition;
            if (number < 0 || (uint32_t)number >= count || leaders[number] != -2) {
                valid = false;
                break;
            }
            leaders[number] = entry->partitions[p].leader;
        }
        if (!valid) {
            free(leaders);
            topic->err = RILL_ERR_CORRUPT;
            continue;
        }
        /* A topic's partition count only grows; fewer means it was recreated: take it. */
        free(topic->leaders);
        topic->leaders = leaders;
        topic->partition_count = (int32_t)count;
    }
    return RILL_OK;
}

struct metadata_call {
    const char *const *names; /* asked for, to mark them done even when omitted */
    uint32_t name_count;
    rill_err err;
};

static void metadata_done(struct client *cl,
                          void *ctx,
                          rill_err err,
                          const struct proto_response_header *hdr,
                          struct mp_reader *body,
                          struct client_conn *conn)
{
    struct metadata_call *call = ctx;
    union proto_response resp;
    if (err == RILL_OK) {
        err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                    : client_decode(cl, PROTO_API_METADATA, body, &resp);
    }
    if (err == RILL_ERR_INVALID_REQUEST && hdr != NULL && hdr->error == RILL_OK) {
        client_conn_abort(cl, conn);
        err = RILL_ERR_CONNECTION;
    }
    if (err == RILL_OK) {
        err = metadata_apply(cl, &resp.metadata);
    }
    /* An asynchronous refresh frees its call; the topics it asked for may ask again. */
    if (call == NULL) {
        for (unsigned i = 0; i < cl->topic_count; i++) {
            cl->topics[i]->refreshing = false;
        }
        return;
    }
    call->err = err;
}

rill_err client_topic_lookup(struct client *cl,
                             const char *name,
                             int64_t deadline_ns,
                             struct client_topic **out_topic)
{
    struct client_topic *topic = client_topic_find(cl, name);
    int64_t now = client_now_ns();
    if (topic != NULL && topic->refreshed_ns != 0 && !topic->stale &&
        now - topic->refreshed_ns < cl->metadata_max_age_ns) {
        *out_topic = topic;
        return RILL_OK;
    }
    size_t name_bytes = strlen(name);
    if (name_bytes == 0 || name_bytes > RILL_TOPIC_NAME_BYTES_MAX) {
        return RILL_ERR_INVALID_TOPIC;
    }
    struct proto_str wire_name = { name, (uint32_t)name_bytes };
    union proto_request request = { .metadata = {
                                        .topics = &wire_name,
                                        .topic_count = 1,
                                        .allow_auto_create = false,
                                    } };
    const char *names[1] = { name };
    struct metadata_call call = { .names = names, .name_count = 1 };
    rill_err err =
        client_call_any(cl, PROTO_API_METADATA, &request, metadata_done, &call, deadline_ns);
    if (err == RILL_OK) {
        err = call.err;
    }
    if (err != RILL_OK) {
        return err;
    }
    topic = client_topic_find(cl, name);
    if (topic == NULL) {
        /* The broker did not list it: remember it as unknown. */
        topic = topic_add(cl, name, name_bytes);
        if (topic == NULL) {
            return RILL_ERR_NOMEM;
        }
        topic->refreshed_ns = client_now_ns();
    }
    *out_topic = topic;
    return RILL_OK;
}

void client_metadata_refresh(struct client *cl)
{
    int64_t now = client_now_ns();
    struct proto_str names[64];
    uint32_t count = 0;
    for (unsigned i = 0; i < cl->topic_count && count < RILL_ARRAY_COUNT(names); i++) {
        struct client_topic *topic = cl->topics[i];
        bool old = now - topic->refreshed_ns >= cl->metadata_max_age_ns;
        /* a stale topic is asked again at most once per retry.backoff.ms */
        bool due = old || (topic->stale && now - topic->refreshed_ns >= cl->backoff_ns);
        if (due && !topic->refreshing) {
            names[count++] = (struct proto_str){ topic->name, (uint32_t)topic->name_bytes };
        }
    }
    if (count == 0) {
        return;
    }
    struct client_conn *conn = client_conn_get(cl, -1);
    if (conn == NULL) {
        return;
    }
    union proto_request request = { .metadata = { .topics = names, .topic_count = count } };
    if (client_request(cl, conn, PROTO_API_METADATA, &request, metadata_done, NULL,
                       cl->request_timeout_ns) == RILL_OK) {
        for (unsigned i = 0; i < cl->topic_count; i++) {
            for (uint32_t j = 0; j < count; j++) {
                if (names[j].ptr == cl->topics[i]->name) {
                    cl->topics[i]->refreshing = true;
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Offsets                                                                                    */
/* ---------------------------------------------------------------------------------------- */

struct list_offset_call {
    const char *topic;
    int32_t partition;
    rill_err err;
    int64_t offset;
};

static void list_offset_done(struct client *cl,
                             void *ctx,
                             rill_err err,
                             const struct proto_response_header *hdr,
                             struct mp_reader *body,
                             struct client_conn *conn)
{
    (void)conn;
    struct list_offset_call *call = ctx;
    union proto_response resp;
    err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                : client_decode(cl, PROTO_API_LIST_OFFSETS, body, &resp);
    if (err != RILL_OK) {
        call->err = err;
        return;
    }
    size_t name_bytes = strlen(call->topic);
    call->err = RILL_ERR_UNKNOWN_PARTITION; /* unless the answer lists it */
    for (uint32_t t = 0; t < resp.list_offsets.topic_count; t++) {
        const struct proto_list_offsets_topic_result *topic = &resp.list_offsets.topics[t];
        if (topic->name.bytes != name_bytes ||
            memcmp(topic->name.ptr, call->topic, name_bytes) != 0) {
            continue;
        }
        for (uint32_t i = 0; i < topic->partition_count; i++) {
            if (topic->partitions[i].partition != call->partition) {
                continue;
            }
            call->err = client_wire_err(topic->partitions[i].error);
            call->offset = topic->partitions[i].offset;
            if (call->err == RILL_OK && call->offset < 0) {
                call->err = RILL_ERR_CORRUPT;
            }
            return;
        }
    }
}

rill_err client_list_offset(struct client *cl,
                            const char *topic_name,
                            int32_t partition,
                            int64_t timestamp,
                            int64_t deadline_ns,
                            int64_t *out_offset)
{
    struct client_topic *topic = NULL;
    rill_err err = client_topic_lookup(cl, topic_name, deadline_ns, &topic);
    if (err != RILL_OK) {
        return err;
    }
    if (topic->err != RILL_OK) {
        topic->stale = true;
        return topic->err;
    }
    if (partition < 0 || partition >= topic->partition_count) {
        topic->stale = true;
        return RILL_ERR_UNKNOWN_PARTITION;
    }
    struct proto_list_offsets_partition wire_part = { .partition = partition,
                                                      .timestamp = timestamp };
    struct proto_list_offsets_topic wire_topic = {
        .name = { topic_name, (uint32_t)strlen(topic_name) },
        .partitions = &wire_part,
        .partition_count = 1,
    };
    union proto_request request = { .list_offsets = { .topics = &wire_topic, .topic_count = 1 } };
    struct list_offset_call call = { .topic = topic_name, .partition = partition };
    struct client_conn *conn = client_conn_leader(cl, topic->leaders[partition]);
    if (conn != NULL) {
        err = client_call(cl, conn, PROTO_API_LIST_OFFSETS, &request, list_offset_done, &call,
                          deadline_ns);
    } else {
        err = client_call_any(cl, PROTO_API_LIST_OFFSETS, &request, list_offset_done, &call,
                              deadline_ns);
    }
    if (err == RILL_OK) {
        err = call.err;
    }
    if (err == RILL_ERR_UNKNOWN_TOPIC || err == RILL_ERR_UNKNOWN_PARTITION) {
        topic->stale = true;
    }
    if (err == RILL_OK) {
        *out_offset = call.offset;
    }
    return err;
}
