/*
 * http.c - the HTTP endpoint of core 0: accept, a bounded request head, one response, a
 * lingering close (http.h states the protocol subset and the bounds).
 *
 * A connection goes READING (receive into a fixed HTTP_HEAD_BYTES_MAX buffer until the empty
 * line) -> SENDING (one sendmsg of the response head and body, repeated on short sends) ->
 * LINGERING (write side shut, receive and drop until EOF) -> CLOSING (socket shut down, waiting
 * for the ring to return our operations) -> FREE. As in conn.c, a slot is reused only when
 * none of its operations is in the ring, and every tag carries the slot's generation.
 */
#include "broker/http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/loop.h"
#include "broker/metrics.h"

#define HTTP_NS_PER_MS     1000000ll
#define HTTP_METHOD_MAX    16u
#define HTTP_RESPONSE_HEAD 512u
#define HTTP_LINGER_BUF    4096u
#define HTTP_HEALTH_BYTES  1024u

enum http_conn_state {
    HTTP_CONN_FREE = 0,  /* slot unused */
    HTTP_CONN_READING,   /* receiving the request head */
    HTTP_CONN_SENDING,   /* the response is being sent */
    HTTP_CONN_LINGERING, /* response sent, write side shut: dropping input until EOF */
    HTTP_CONN_CLOSING,   /* shut down: waiting for the ring to return our operations */
};

struct http_conn {
    int fd;              /* owned; -1 when free */
    uint32_t slot;       /* index in server->conns */
    uint32_t generation; /* bumped at each reuse; part of every tag */
    enum http_conn_state state;
    bool recv_armed;               /* a receive is in the ring */
    bool send_armed;               /* a send is in the ring */
    int64_t deadline_ns;           /* monotonic; the current state ends by then */
    char *buf;                     /* HTTP_HEAD_BYTES_MAX: head, then linger scratch */
    uint32_t used;                 /* head bytes received */
    char head[HTTP_RESPONSE_HEAD]; /* the response status line and headers */
    size_t head_bytes;             /* used in head */
    char *body;                    /* malloc'd response body */
    size_t body_bytes;             /* bytes at body */
    size_t sent_bytes;             /* of head + body */
    struct iovec iov[2];           /* stable while a send is armed */
    struct msghdr msg;             /* stable while a send is armed */
};

struct http_server {
    struct broker_core *core; /* owner: core 0 */
    int listen_fd;            /* owned */
    bool accept_armed;        /* an accept is in the ring */
    bool accept_paused;       /* out of descriptors: retried on the next tick */
    bool stopping;            /* the broker is shutting down: /health says 503 */
    bool closed;              /* http_server_close(): nothing more is served */
    uint32_t conn_count;      /* slots in use, closing ones included */
    struct http_conn conns[HTTP_CONNECTIONS_MAX];
};

/* ---------------------------------------------------------------------------------------- */
/* Request head checking                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* RFC 9110 token characters (methods, header names). */
static bool http_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A header field value character: visible ASCII, space, tab, or obs-text. */
static bool http_value_char(unsigned char c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static bool http_name_is(const char *name, size_t name_bytes, const char *expected)
{
    return name_bytes == strlen(expected) && strncasecmp(name, expected, name_bytes) == 0;
}

struct http_head_facts {
    unsigned host_count;
    bool has_body;
};

/* Checks one header line [line, line + bytes) (no CRLF). False: malformed. */
static bool http_header_check(const char *line, size_t bytes, struct http_head_facts *facts)
{
    size_t name_bytes = 0;
    while (name_bytes < bytes && http_tchar((unsigned char)line[name_bytes])) {
        name_bytes++;
    }
    /* No name, or anything but ':' right after it (obs-fold, space before the colon). */
    if (name_bytes == 0 || name_bytes == bytes || line[name_bytes] != ':') {
        return false;
    }
    const char *value = line + name_bytes + 1;
    size_t value_bytes = bytes - name_bytes - 1;
    for (size_t i = 0; i < value_bytes; i++) {
        if (!http_value_char((unsigned char)value[i])) {
            return false;
        }
    }
    while (value_bytes > 0 && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        value_bytes--;
    }
    while (value_bytes > 0 && (value[value_bytes - 1] == ' ' || value[value_bytes - 1] == '\t')) {
        value_bytes--;
    }
    if (http_name_is(line, name_bytes, "host")) {
        facts->host_count++;
    } else if (http_name_is(line, name_bytes, "transfer-encoding")) {
        facts->has_body = true;
    } else if (http_name_is(line, name_bytes, "content-length")) {
        facts->has_body |= !(value_bytes == 1 && value[0] == '0');
    }
    return true;
}

/* Parses "METHOD SP TARGET SP HTTP/x.y" (no CRLF): 0 when valid (outputs set), else the
 * status for it. */
static int http_request_line_check(const char *line,
                                   size_t bytes,
                                   bool *out_get,
                                   bool *out_http11,
                                   const char **out_path,
                                   size_t *out_path_bytes)
{
    size_t method_bytes = 0;
    while (method_bytes < bytes && http_tchar((unsigned char)line[method_bytes])) {
        method_bytes++;
    }
    if (method_bytes == 0 || method_bytes > HTTP_METHOD_MAX || method_bytes == bytes ||
        line[method_bytes] != ' ') {
        return 400;
    }
    const char *target = line + method_bytes + 1;
    const char *end = line + bytes;
    const char *target_end = target;
    while (target_end < end && *target_end >= 0x21 && *target_end <= 0x7e) {
        target_end++;
    }
    if (target_end == target || target[0] != '/' || target_end == end || *target_end != ' ') {
        return 400;
    }
    const char *version = target_end + 1;
    size_t version_bytes = (size_t)(end - version);
    if (version_bytes != 8 || memcmp(version, "HTTP/", 5) != 0 || version[5] < '0' ||
        version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9') {
        return 400;
    }
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
        return 505;
    }
    const char *query = memchr(target, '?', (size_t)(target_end - target));
    *out_get = method_bytes == 3 && memcmp(line, "GET", 3) == 0;
    *out_http11 = version[7] == '1';
    *out_path = target;
    *out_path_bytes = (size_t)((query != NULL ? query : target_end) - target);
    return 0;
}

int http_request_check(const char *head,
                       size_t bytes,
                       const char **out_path,
                       size_t *out_path_bytes)
{
    const char *pos = head;
    const char *end = head + bytes;
    const char *head_end = memmem(head, bytes, "\r\n\r\n", 4);
    if (head_end == NULL) {
        /* A bare CR or LF, or a NUL, already makes it malformed; else wait for more. */
        return bytes >= HTTP_HEAD_BYTES_MAX ? 431 : 0;
    }
    end = head_end + 2; /* every line, CRLF included, then the empty line */
    bool get = false;
    bool http11 = false;
    struct http_head_facts facts = { 0 };
    bool first = true;
    while (pos < end) {
        const char *cr = memchr(pos, '\r', (size_t)(end - pos));
        RILL_ASSERT(cr != NULL && cr + 1 < head + bytes);
        size_t line_bytes = (size_t)(cr - pos);
        if (cr[1] != '\n' || memchr(pos, '\n', line_bytes) != NULL ||
            memchr(pos, '\0', line_bytes) != NULL) {
            return 400;
        }
        if (first) {
            int status =
                http_request_line_check(pos, line_bytes, &get, &http11, out_path, out_path_bytes);
            if (status != 0) {
                return status;
            }
            first = false;
        } else if (!http_header_check(pos, line_bytes, &facts)) {
            return 400;
        }
        pos = cr + 2;
    }
    if (!get) {
        return 405;
    }
    if ((http11 && facts.host_count != 1) || facts.host_count > 1 || facts.has_body) {
        return 400;
    }
    return 200;
}

/* ---------------------------------------------------------------------------------------- */
/* Responses                                                                                  */
/* ---------------------------------------------------------------------------------------- */

static const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

/* Sets the response: status, content type and a malloc'd body (taken; NULL: the reason). */
static void http_respond(struct http_server *server,
                         struct http_conn *conn,
                         int status,
                         const char *content_type,
                         char *body,
                         size_t body_bytes)
{
    if (body == NULL) {
        char reason[64];
        int reason_bytes = snprintf(reason, sizeof(reason), "%s\n", http_reason(status));
        body = malloc((size_t)reason_bytes + 1);
        if (body != NULL) {
            memcpy(body, reason, (size_t)reason_bytes + 1);
            body_bytes = (size_t)reason_bytes;
        } else {
            body_bytes = 0;
        }
        content_type = "text/plain; charset=utf-8";
    }
    int used = snprintf(conn->head, sizeof(conn->head),
                        "HTTP/1.1 %d %s\r\n"
                        "Content-Type: %s\r\n"
                        "Content-Length: %zu\r\n"
                        "Cache-Control: no-store\r\n"
                        "%s"
                        "Connection: close\r\n"
                        "\r\n",
                        status, http_reason(status), content_type, body_bytes,
                        status == 405 ? "Allow: GET\r\n" : "");
    RILL_ASSERT(used > 0 && (size_t)used < sizeof(conn->head));
    conn->head_bytes = (size_t)used;
    conn->body = body;
    conn->body_bytes = body_bytes;
    conn->sent_bytes = 0;
    metrics_add(&server->core->metrics.http_requests[status / 100], 1);
}

/* Appends text escaped as a JSON string body (no quotes) to out; false when it does not fit. */
static bool http_json_escape(char *out, size_t out_bytes, size_t *used, const char *text)
{
    for (const char *pos = text; *pos != '\0'; pos++) {
        unsigned char c = (unsigned char)*pos;
        char piece[8];
        if (c == '"' || c == '\\') {
            snprintf(piece, sizeof(piece), "\\%c", c);
        } else if (c < 0x20) {
            snprintf(piece, sizeof(piece), "\\u%04x", c);
        } else {
            piece[0] = (char)c;
            piece[1] = '\0';
        }
        size_t piece_bytes = strlen(piece);
        if (*used + piece_bytes >= out_bytes) {
            return false;
        }
        memcpy(out + *used, piece, piece_bytes + 1);
        *used += piece_bytes;
    }
    return true;
}

static void http_health(struct http_server *server, struct http_conn *conn)
{
    const struct broker_core *core = server->core;
    char cluster[CONFIG_NAME_BYTES_MAX * 6 + 1];
    size_t cluster_bytes = 0;
    cluster[0] = '\0';
    bool fits = http_json_escape(cluster, sizeof(cluster), &cluster_bytes, core->cfg->cluster_id);
    RILL_ASSERT(fits);
    char *body = malloc(HTTP_HEALTH_BYTES + sizeof(cluster));
    if (body == NULL) {
        http_respond(server, conn, 500, NULL, NULL, 0);
        return;
    }
    int64_t uptime_ms = (rill_clock_mono_ns() - core->metrics.started_ns) / HTTP_NS_PER_MS;
    int used =
        snprintf(body, HTTP_HEALTH_BYTES + sizeof(cluster),
                 "{\"status\":\"%s\",\"broker_id\":%" PRId32 ",\"cluster_id\":\"%s\","
                 "\"version\":\"%s\",\"uptime_ms\":%" PRId64 ",\"connections\":%" PRIu32 "}\n",
                 server->stopping ? "shutting_down" : "ok", core->cfg->broker_id, cluster,
                 RILL_VERSION_STR, uptime_ms, core->conn_count);
    RILL_ASSERT(used > 0 && (size_t)used < HTTP_HEALTH_BYTES + sizeof(cluster));
    http_respond(server, conn, server->stopping ? 503 : 200, "application/json", body,
                 (size_t)used);
}

static void http_metrics(struct http_server *server, struct http_conn *conn)
{
    struct metrics_text text;
    metrics_text_init(&text, METRICS_TEXT_BYTES_MAX);
    struct broker *broker = server->core->broker;
    metrics_render(broker->cores, broker->core_count, &text);
    if (text.err != RILL_OK) {
        DIAG_WARN("http", "metrics rendering failed error=\"%s\" bytes=%zu", rill_err_str(text.err),
                  text.bytes);
        metrics_text_deinit(&text);
        http_respond(server, conn, 500, NULL, NULL, 0);
        return;
    }
    /* The response takes the text's buffer. */
    http_respond(server, conn, 200, "text/plain; version=0.0.4; charset=utf-8", text.data,
                 text.bytes);
}

/* Builds the response for the complete (or oversized) head in conn->buf. */
static void http_route(struct http_server *server, struct http_conn *conn, int status)
{
    const char *path = NULL;
    size_t path_bytes = 0;
    if (status == 0) {
        status = http_request_check(conn->buf, conn->used, &path, &path_bytes);
    }
    if (status != 200) {
        http_respond(server, conn, status, NULL, NULL, 0);
    } else if (path_bytes == 8 && memcmp(path, "/metrics", 8) == 0) {
        http_metrics(server, conn);
    } else if (path_bytes == 7 && memcmp(path, "/health", 7) == 0) {
        http_health(server, conn);
    } else {
        http_respond(server, conn, 404, NULL, NULL, 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Connections                                                                                */
/* ---------------------------------------------------------------------------------------- */

static uint64_t http_tag(enum loop_op op, const struct http_conn *conn)
{
    return loop_tag_conn(op, conn->slot, conn->generation);
}

static void http_cancel(struct http_server *server, uint64_t tag)
{
    struct io_uring_sqe *sqe = loop_sqe_get(server->core);
    io_uring_prep_cancel64(sqe, tag, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)LOOP_OP_NONE << LOOP_TAG_OP_SHIFT);
}

static void http_release_if_quiet(struct http_server *server, struct http_conn *conn)
{
    RILL_ASSERT(conn->state == HTTP_CONN_CLOSING);
    if (conn->recv_armed || conn->send_armed) {
        return;
    }
    close(conn->fd);
    conn->fd = -1;
    free(conn->buf);
    conn->buf = NULL;
    free(conn->body);
    conn->body = NULL;
    conn->state = HTTP_CONN_FREE;
    RILL_ASSERT(server->conn_count > 0);
    server->conn_count--;
}

static void http_close(struct http_server *server, struct http_conn *conn, const char *reason)
{
    if (conn->state == HTTP_CONN_FREE || conn->state == HTTP_CONN_CLOSING) {
        return;
    }
    DIAG_DEBUG("http", "close slot=%u reason=\"%s\"", conn->slot, reason);
    conn->state = HTTP_CONN_CLOSING;
    shutdown(conn->fd, SHUT_RDWR);
    if (conn->recv_armed) {
        http_cancel(server, http_tag(LOOP_OP_HTTP_RECV, conn));
    }
    if (conn->send_armed) {
        http_cancel(server, http_tag(LOOP_OP_HTTP_SEND, conn));
    }
    http_release_if_quiet(server, conn);
}

static void http_recv_arm(struct http_server *server, struct http_conn *conn)
{
    RILL_ASSERT(!conn->recv_armed);
    void *into = conn->buf;
    size_t bytes = HTTP_LINGER_BUF;
    if (conn->state == HTTP_CONN_READING) {
        RILL_ASSERT(conn->used < HTTP_HEAD_BYTES_MAX);
        into = conn->buf + conn->used;
        bytes = HTTP_HEAD_BYTES_MAX - conn->used;
    }
    struct io_uring_sqe *sqe = loop_sqe_get(server->core);
    io_uring_prep_recv(sqe, conn->fd, into, bytes, 0);
    io_uring_sqe_set_data64(sqe, http_tag(LOOP_OP_HTTP_RECV, conn));
    conn->recv_armed = true;
}

static void http_send_arm(struct http_server *server, struct http_conn *conn)
{
    RILL_ASSERT(!conn->send_armed);
    size_t total = conn->head_bytes + conn->body_bytes;
    RILL_ASSERT(conn->sent_bytes < total);
    int count = 0;
    if (conn->sent_bytes < conn->head_bytes) {
        conn->iov[count].iov_base = conn->head + conn->sent_bytes;
        conn->iov[count].iov_len = conn->head_bytes - conn->sent_bytes;
        count++;
    }
    size_t body_sent =
        conn->sent_bytes > conn->head_bytes ? conn->sent_bytes - conn->head_bytes : 0;
    if (body_sent < conn->body_bytes) {
        conn->iov[count].iov_base = conn->body + body_sent;
        conn->iov[count].iov_len = conn->body_bytes - body_sent;
        count++;
    }
    memset(&conn->msg, 0, sizeof(conn->msg));
    conn->msg.msg_iov = conn->iov;
    conn->msg.msg_iovlen = (size_t)count;
    struct io_uring_sqe *sqe = loop_sqe_get(server->core);
    io_uring_prep_sendmsg(sqe, conn->fd, &conn->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, http_tag(LOOP_OP_HTTP_SEND, conn));
    conn->send_armed = true;
}

/* The response is built: send it (the head is no longer read). */
static void http_start_sending(struct http_server *server, struct http_conn *conn, int status)
{
    http_route(server, conn, status);
    conn->state = HTTP_CONN_SENDING;
    conn->deadline_ns = rill_clock_mono_ns() + HTTP_SEND_TIMEOUT_MS * HTTP_NS_PER_MS;
    http_send_arm(server, conn);
}

static void http_on_recv(struct http_server *server, struct http_conn *conn, int res)
{
    RILL_ASSERT(conn->recv_armed);
    conn->recv_armed = false;
    if (conn->state == HTTP_CONN_CLOSING) {
        http_release_if_quiet(server, conn);
        return;
    }
    if (res == -EINTR || res == -EAGAIN) {
        http_recv_arm(server, conn);
        return;
    }
    if (res <= 0) {
        http_close(server, conn, res == 0 ? "peer closed" : "receive failed");
        return;
    }
    if (conn->state == HTTP_CONN_LINGERING) {
        http_recv_arm(server, conn); /* dropped: the request was answered */
        return;
    }
    RILL_ASSERT(conn->state == HTTP_CONN_READING);
    uint32_t before = conn->used;
    conn->used += (uint32_t)res;
    RILL_ASSERT(conn->used <= HTTP_HEAD_BYTES_MAX);
    /* The empty line may straddle two receives: look from 3 bytes before the new ones. */
    uint32_t from = before >= 3 ? before - 3 : 0;
    if (memmem(conn->buf + from, conn->used - from, "\r\n\r\n", 4) != NULL) {
        http_start_sending(server, conn, 0);
    } else if (conn->used == HTTP_HEAD_BYTES_MAX) {
        http_start_sending(server, conn, 431);
    } else {
        http_recv_arm(server, conn);
    }
}

static void http_on_send(struct http_server *server, struct http_conn *conn, int res)
{
    RILL_ASSERT(conn->send_armed);
    conn->send_armed = false;
    if (conn->state == HTTP_CONN_CLOSING) {
        http_release_if_quiet(server, conn);
        return;
    }
    if (res < 0 && res != -EINTR && res != -EAGAIN) {
        http_close(server, conn, "send failed");
        return;
    }
    conn->sent_bytes += res > 0 ? (size_t)res : 0;
    if (conn->sent_bytes < conn->head_bytes + conn->body_bytes) {
        http_send_arm(server, conn);
        return;
    }
    /* Sent: shut our side and read until the client closes, so that unread request bytes do
     * not turn our close into a reset that could destroy the response on its way. */
    free(conn->body);
    conn->body = NULL;
    shutdown(conn->fd, SHUT_WR);
    conn->state = HTTP_CONN_LINGERING;
    conn->deadline_ns = rill_clock_mono_ns() + HTTP_LINGER_TIMEOUT_MS * HTTP_NS_PER_MS;
    http_recv_arm(server, conn);
}

static void http_accept_arm(struct http_server *server)
{
    if (server->accept_armed || server->accept_paused || server->closed) {
        return;
    }
    struct io_uring_sqe *sqe = loop_sqe_get(server->core);
    io_uring_prep_accept(sqe, server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, (uint64_t)LOOP_OP_HTTP_ACCEPT << LOOP_TAG_OP_SHIFT);
    server->accept_armed = true;
}

static struct http_conn *http_slot_take(struct http_server *server)
{
    for (uint32_t slot = 0; slot < HTTP_CONNECTIONS_MAX; slot++) {
        if (server->conns[slot].state == HTTP_CONN_FREE) {
            return &server->conns[slot];
        }
    }
    return NULL;
}

static void http_on_accept(struct http_server *server, int res)
{
    server->accept_armed = false;
    if (res >= 0) {
        struct http_conn *conn = server->closed ? NULL : http_slot_take(server);
        char *buf = conn != NULL ? malloc(HTTP_HEAD_BYTES_MAX) : NULL;
        if (buf == NULL) {
            /* Full, closed or out of memory: close at once so the backlog keeps moving. */
            metrics_add(&server->core->metrics.http_connections_refused, 1);
            close(res);
        } else {
            conn->fd = res;
            conn->generation++;
            conn->state = HTTP_CONN_READING;
            conn->buf = buf;
            conn->used = 0;
            conn->body = NULL;
            conn->deadline_ns = rill_clock_mono_ns() + HTTP_READ_TIMEOUT_MS * HTTP_NS_PER_MS;
            server->conn_count++;
            http_recv_arm(server, conn);
        }
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        server->accept_paused = true; /* the tick retries; loop.c warns for the native port */
    }
    http_accept_arm(server);
}

static struct http_conn *http_conn_from_tag(struct http_server *server, uint64_t tag)
{
    uint32_t slot = (uint32_t)(tag & LOOP_TAG_SLOT_MASK);
    uint32_t generation = (uint32_t)(tag >> LOOP_TAG_GENERATION_SHIFT);
    RILL_ASSERT(slot < HTTP_CONNECTIONS_MAX);
    struct http_conn *conn = &server->conns[slot];
    RILL_ASSERT(conn->generation == generation);
    RILL_ASSERT(conn->state != HTTP_CONN_FREE);
    return conn;
}

void http_on_cqe(struct http_server *server, const struct io_uring_cqe *cqe)
{
    RILL_ASSERT(server != NULL);
    uint64_t tag = cqe->user_data;
    switch ((enum loop_op)(tag >> LOOP_TAG_OP_SHIFT)) {
    case LOOP_OP_HTTP_ACCEPT:
        http_on_accept(server, cqe->res);
        break;
    case LOOP_OP_HTTP_RECV:
        http_on_recv(server, http_conn_from_tag(server, tag), cqe->res);
        break;
    case LOOP_OP_HTTP_SEND:
        http_on_send(server, http_conn_from_tag(server, tag), cqe->res);
        break;
    default:
        RILL_UNREACHABLE();
    }
}

void http_on_tick(struct http_server *server, int64_t now_ns)
{
    if (server == NULL) {
        return;
    }
    for (uint32_t slot = 0; slot < HTTP_CONNECTIONS_MAX && server->conn_count > 0; slot++) {
        struct http_conn *conn = &server->conns[slot];
        if (conn->state != HTTP_CONN_FREE && conn->state != HTTP_CONN_CLOSING &&
            now_ns > conn->deadline_ns) {
            http_close(server, conn, "deadline");
        }
    }
    server->accept_paused = false;
    http_accept_arm(server);
}

void http_server_stopping(struct http_server *server)
{
    if (server != NULL) {
        server->stopping = true;
    }
}

void http_server_close(struct http_server *server)
{
    if (server == NULL || server->closed) {
        return;
    }
    server->closed = true;
    if (server->accept_armed) {
        http_cancel(server, (uint64_t)LOOP_OP_HTTP_ACCEPT << LOOP_TAG_OP_SHIFT);
    }
    for (uint32_t slot = 0; slot < HTTP_CONNECTIONS_MAX; slot++) {
        http_close(server, &server->conns[slot], "shutdown");
    }
}

bool http_server_quiet(const struct http_server *server)
{
    return server == NULL || (!server->accept_armed && server->conn_count == 0);
}

rill_err http_server_create(struct broker_core *core,
                            const struct config_address *address,
                            uint16_t *out_port)
{
    RILL_ASSERT(core->ring_ready && core->http == NULL);
    struct http_server *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        return RILL_ERR_NOMEM;
    }
    server->core = core;
    server->listen_fd = -1;
    for (uint32_t slot = 0; slot < HTTP_CONNECTIONS_MAX; slot++) {
        server->conns[slot].fd = -1;
        server->conns[slot].slot = slot;
    }
    rill_err err = loop_listen(address, false, &server->listen_fd, out_port);
    if (err != RILL_OK) {
        free(server);
        return err;
    }
    core->http = server;
    http_accept_arm(server);
    return RILL_OK;
}

void http_server_destroy(struct http_server *server)
{
    if (server == NULL) {
        return;
    }
    for (uint32_t slot = 0; slot < HTTP_CONNECTIONS_MAX; slot++) {
        struct http_conn *conn = &server->conns[slot];
        if (conn->fd >= 0) {
            close(conn->fd);
        }
        free(conn->buf);
        free(conn->body);
    }
    if (server->listen_fd >= 0) {
        close(server->listen_fd);
    }
    free(server);
}
