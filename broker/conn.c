/*
 * conn.c - a native-protocol connection: receive buffer, framing, in-order responses,
 * backpressure and deadlines (conn.h states the invariants).
 */
#include "broker/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "broker/config.h"
#include "broker/dispatch.h"
#include "broker/loop.h"
#include "proto/frame.h"
#include "proto/mp.h"

#define CONN_NS_PER_MS 1000000ll

static uint32_t conn_inflight_max(const struct broker_conn *conn)
{
    return conn->core->cfg->inflight_max;
}

static bool conn_paused(const struct broker_conn *conn)
{
    return conn->response_count >= conn_inflight_max(conn);
}

static struct conn_response *conn_response_at(struct broker_conn *conn, uint32_t index)
{
    RILL_ASSERT(index < conn->response_count);
    return &conn->responses[(conn->response_head + index) % RILL_INFLIGHT_PER_CONN_MAX];
}

static void conn_cancel(struct broker_conn *conn, enum loop_op op)
{
    struct io_uring_sqe *sqe = loop_sqe_get(conn->core);
    io_uring_prep_cancel64(sqe, loop_tag_conn(op, conn->slot, conn->generation), 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)LOOP_OP_NONE << LOOP_TAG_OP_SHIFT);
}

/* Frees the slot once the ring holds none of our operations (conn.h: no reuse under them). */
static void conn_release_if_quiet(struct broker_conn *conn)
{
    RILL_ASSERT(conn->state == CONN_STATE_CLOSING);
    if (conn->recv_armed || conn->send_armed) {
        return;
    }
    close(conn->fd);
    conn->fd = -1;
    free(conn->recv_buf);
    conn->recv_buf = NULL;
    conn->recv_bytes_capacity = 0;
    conn->recv_bytes_used = 0;
    while (conn->response_count > 0) {
        struct conn_response *response = conn_response_at(conn, 0);
        free(response->data);
        *response = (struct conn_response){ 0 };
        conn->response_head = (conn->response_head + 1) % RILL_INFLIGHT_PER_CONN_MAX;
        conn->response_count--;
    }
    conn->state = CONN_STATE_FREE;
    loop_conn_release(conn->core, conn);
}

void conn_close(struct broker_conn *conn, const char *reason)
{
    if (conn->state == CONN_STATE_CLOSING || conn->state == CONN_STATE_FREE) {
        return;
    }
    DIAG_DEBUG("net", "close slot=%u fd=%d reason=\"%s\"", conn->slot, conn->fd, reason);
    conn->state = CONN_STATE_CLOSING;
    /* Shutting the socket completes a pending receive at once; the cancels cover the rest. */
    shutdown(conn->fd, SHUT_RDWR);
    if (conn->recv_armed) {
        conn_cancel(conn, LOOP_OP_RECV);
    }
    if (conn->send_armed) {
        conn_cancel(conn, LOOP_OP_SEND);
    }
    conn_release_if_quiet(conn);
}

/* A draining connection closes when nothing is owed and nothing is in the ring. */
static void conn_drain_check(struct broker_conn *conn)
{
    if (conn->state == CONN_STATE_DRAINING && conn->response_count == 0 && !conn->send_armed &&
        !conn->recv_armed) {
        conn_close(conn, "drained");
    }
}

void conn_peer_address(const struct broker_conn *conn, char *out, size_t out_bytes)
{
    struct sockaddr_storage peer;
    socklen_t peer_bytes = sizeof(peer);
    char host[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;
    if (conn->fd >= 0 && getpeername(conn->fd, (struct sockaddr *)&peer, &peer_bytes) == 0) {
        if (peer.ss_family == AF_INET) {
            const struct sockaddr_in *v4 = (const struct sockaddr_in *)&peer;
            inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
            port = ntohs(v4->sin_port);
        } else if (peer.ss_family == AF_INET6) {
            const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&peer;
            inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
            port = ntohs(v6->sin6_port);
        }
    }
    if (host[0] == '\0') {
        snprintf(out, out_bytes, "unknown");
    } else if (strchr(host, ':') != NULL) {
        snprintf(out, out_bytes, "[%s]:%u", host, port);
    } else {
        snprintf(out, out_bytes, "%s:%u", host, port);
    }
}

void conn_drain(struct broker_conn *conn)
{
    if (conn->state != CONN_STATE_OPEN) {
        return;
    }
    conn->state = CONN_STATE_DRAINING;
    if (conn->recv_armed) {
        conn_cancel(conn, LOOP_OP_RECV);
    }
    conn_drain_check(conn);
}

static void conn_recv_arm(struct broker_conn *conn)
{
    if (conn->state != CONN_STATE_OPEN || conn->recv_armed || conn_paused(conn)) {
        return;
    }
    RILL_ASSERT(conn->recv_bytes_used < conn->recv_bytes_capacity);
    uint32_t want = conn->recv_bytes_capacity - conn->recv_bytes_used;
    uint32_t frame_rest = conn->recv_frame_bytes > conn->recv_bytes_used
                              ? conn->recv_frame_bytes - conn->recv_bytes_used
                              : 0;
    if (frame_rest > RILL_CONN_RECV_BYTES_INITIAL) {
        want = frame_rest < want ? frame_rest : want; /* nothing after the frame to move */
    } else if (want > RILL_CONN_RECV_BYTES_INITIAL) {
        want = RILL_CONN_RECV_BYTES_INITIAL;
    }
    struct io_uring_sqe *sqe = loop_sqe_get(conn->core);
    io_uring_prep_recv(sqe, conn->fd, conn->recv_buf + conn->recv_bytes_used, want, 0);
    io_uring_sqe_set_data64(sqe, loop_tag_conn(LOOP_OP_RECV, conn->slot, conn->generation));
    conn->recv_armed = true;
}

/* Pops answered slots at the head that carry no bytes (requests that are not answered). */
static void conn_responses_pop_empty(struct broker_conn *conn)
{
    while (conn->response_count > 0 && conn_response_at(conn, 0)->ready &&
           conn_response_at(conn, 0)->bytes == 0) {
        conn_response_at(conn, 0)->ready = false;
        conn->response_head = (conn->response_head + 1) % RILL_INFLIGHT_PER_CONN_MAX;
        conn->response_count--;
    }
}

/* Sends the run of ready responses at the head, in one sendmsg. */
static void conn_send_arm(struct broker_conn *conn)
{
    if (conn->send_armed || conn->state == CONN_STATE_CLOSING) {
        return;
    }
    conn_responses_pop_empty(conn);
    uint32_t iov_count = 0;
    for (uint32_t i = 0; i < conn->response_count; i++) {
        struct conn_response *response = conn_response_at(conn, i);
        if (!response->ready || response->bytes == 0) {
            break;
        }
        uint32_t skip_bytes = i == 0 ? conn->send_offset_bytes : 0;
        conn->send_iov[iov_count].iov_base = response->data + skip_bytes;
        conn->send_iov[iov_count].iov_len = response->bytes - skip_bytes;
        iov_count++;
    }
    if (iov_count == 0) {
        return;
    }
    memset(&conn->send_msg, 0, sizeof(conn->send_msg));
    conn->send_msg.msg_iov = conn->send_iov;
    conn->send_msg.msg_iovlen = iov_count;
    conn->send_iov_count = iov_count;
    struct io_uring_sqe *sqe = loop_sqe_get(conn->core);
    io_uring_prep_sendmsg(sqe, conn->fd, &conn->send_msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, loop_tag_conn(LOOP_OP_SEND, conn->slot, conn->generation));
    conn->send_armed = true;
}

/* Resizes the receive buffer to what the pending bytes need: the frame being received, or
 * between frames the buffer as it is while large frames keep coming (RILL_CONN_RECV_KEEP_MS),
 * else the initial size. False when out of memory. */
static bool conn_recv_fit(struct broker_conn *conn, uint32_t bytes_needed, int64_t now_ns)
{
    uint32_t target = bytes_needed;
    if (target > RILL_CONN_RECV_BYTES_INITIAL) {
        conn->recv_large_last_ns = now_ns;
    }
    if (target < conn->recv_bytes_capacity &&
        now_ns - conn->recv_large_last_ns < (int64_t)RILL_CONN_RECV_KEEP_MS * CONN_NS_PER_MS) {
        target = conn->recv_bytes_capacity;
    }
    if (target < RILL_CONN_RECV_BYTES_INITIAL) {
        target = RILL_CONN_RECV_BYTES_INITIAL;
    }
    if (target < conn->recv_bytes_used) {
        target = conn->recv_bytes_used;
    }
    if (target == conn->recv_bytes_capacity) {
        return true;
    }
    RILL_ASSERT(!conn->recv_armed);
    uint8_t *buf = realloc(conn->recv_buf, target);
    if (buf == NULL) {
        return target < conn->recv_bytes_capacity; /* a failed shrink is harmless */
    }
    conn->recv_buf = buf;
    conn->recv_bytes_capacity = target;
    return true;
}

/* Reserves the next response slot and fills it from the dispatcher (or leaves it reserved for
 * a deferred answer). False: closed. */
static bool
conn_request(struct broker_conn *conn, const uint8_t *frame, uint32_t frame_bytes, int64_t now_ns)
{
    RILL_ASSERT(!conn_paused(conn));
    conn->response_count++;
    struct conn_response *response = conn_response_at(conn, conn->response_count - 1);
    RILL_ASSERT(response->data == NULL);
    response->ready = false;
    struct dispatch_origin origin = {
        .conn = conn,
        .generation = conn->generation,
        .response_index = (uint32_t)(response - conn->responses),
        .start_ns = now_ns,
        .request_bytes = PROTO_FRAME_PREFIX_BYTES + frame_bytes,
    };
    struct mp_writer writer;
    mp_writer_init(&writer, PROTO_FRAME_PREFIX_BYTES + (size_t)RILL_FRAME_BYTES_MAX);
    rill_err err = dispatch_request(conn->core, &origin, frame, frame_bytes, &writer);
    if (err == RILL_ERR_AGAIN) {
        mp_writer_deinit(&writer);
        return true; /* answered later through conn_response_fill() */
    }
    if (err != RILL_OK) {
        mp_writer_deinit(&writer);
        conn->response_count--;
        conn_close(conn, err == RILL_ERR_NOMEM ? "out of memory" : "unreadable request header");
        return false;
    }
    RILL_ASSERT(writer.bytes <= UINT32_MAX);
    response->data = writer.data; /* the slot takes the writer's buffer */
    response->bytes = (uint32_t)writer.bytes;
    response->ready = true;
    return true;
}

bool conn_response_fill(struct broker_conn *conn,
                        uint32_t generation,
                        uint32_t response_index,
                        uint8_t *data,
                        uint32_t bytes)
{
    if (conn->generation != generation ||
        (conn->state != CONN_STATE_OPEN && conn->state != CONN_STATE_DRAINING)) {
        return false;
    }
    RILL_ASSERT(response_index < RILL_INFLIGHT_PER_CONN_MAX);
    struct conn_response *response = &conn->responses[response_index];
    RILL_ASSERT(!response->ready && response->data == NULL);
    response->data = data;
    response->bytes = bytes;
    response->ready = true;
    conn_send_arm(conn);
    conn_drain_check(conn);
    return true;
}

/*
 * Handles every complete frame in the buffer, up to the in-flight limit, then fits the buffer
 * to the frame still pending. Frames are consumed from the front and the rest moved down once.
 */
static void conn_parse(struct broker_conn *conn, int64_t now_ns)
{
    uint32_t consumed = 0;
    uint32_t bytes_needed = 0;
    while (conn->state == CONN_STATE_OPEN && !conn_paused(conn)) {
        uint32_t available = conn->recv_bytes_used - consumed;
        const uint8_t *frame = conn->recv_buf + consumed;
        if (available < PROTO_FRAME_PREFIX_BYTES) {
            break;
        }
        uint32_t frame_bytes = 0;
        if (proto_frame_length_decode(frame, RILL_FRAME_BYTES_MAX, &frame_bytes) != RILL_OK) {
            conn_close(conn, "bad frame length");
            return;
        }
        if (available - PROTO_FRAME_PREFIX_BYTES < frame_bytes) {
            bytes_needed = PROTO_FRAME_PREFIX_BYTES + frame_bytes;
            break;
        }
        if (PROTO_FRAME_PREFIX_BYTES + frame_bytes > RILL_CONN_RECV_BYTES_INITIAL) {
            conn->recv_large_last_ns = now_ns; /* keeps the grown buffer (conn.h) */
        }
        if (!conn_request(conn, frame + PROTO_FRAME_PREFIX_BYTES, frame_bytes, now_ns)) {
            return;
        }
        consumed += PROTO_FRAME_PREFIX_BYTES + frame_bytes;
        conn->request_last_ns = now_ns;
        conn->frame_start_ns = 0;
    }
    if (conn->state != CONN_STATE_OPEN) {
        return;
    }
    conn->recv_bytes_used -= consumed;
    conn->recv_frame_bytes = bytes_needed;
    memmove(conn->recv_buf, conn->recv_buf + consumed, conn->recv_bytes_used);
    if (conn->recv_bytes_used > 0 && conn->frame_start_ns == 0) {
        conn->frame_start_ns = now_ns;
    }
    if (!conn_recv_fit(conn, bytes_needed, now_ns)) {
        conn_close(conn, "out of memory for a frame");
    }
}

void conn_open(struct broker_conn *conn, struct broker_core *core, int fd, int64_t now_ns)
{
    RILL_ASSERT(conn->state == CONN_STATE_FREE);
    RILL_ASSERT(conn->response_count == 0);
    conn->core = core;
    conn->fd = fd;
    conn->state = CONN_STATE_OPEN;
    conn->recv_armed = false;
    conn->send_armed = false;
    conn->recv_bytes_used = 0;
    conn->recv_bytes_capacity = 0;
    conn->recv_frame_bytes = 0;
    conn->frame_start_ns = 0;
    conn->request_last_ns = now_ns;
    conn->recv_large_last_ns = now_ns;
    conn->recv_shrinking = false;
    conn->send_offset_bytes = 0;
    conn->recv_buf = malloc(RILL_CONN_RECV_BYTES_INITIAL);
    if (conn->recv_buf == NULL) {
        conn_close(conn, "out of memory");
        return;
    }
    conn->recv_bytes_capacity = RILL_CONN_RECV_BYTES_INITIAL;
    conn_recv_arm(conn);
}

void conn_on_recv(struct broker_conn *conn, int res)
{
    RILL_ASSERT(conn->recv_armed);
    conn->recv_armed = false;
    if (conn->state == CONN_STATE_CLOSING) {
        conn_release_if_quiet(conn);
        return;
    }
    if (conn->state == CONN_STATE_DRAINING) {
        conn_drain_check(conn);
        return;
    }
    conn->recv_shrinking = false;
    if (res == -EINTR || res == -EAGAIN) {
        conn_recv_arm(conn);
        return;
    }
    if (res == -ECANCELED && conn->state == CONN_STATE_OPEN) {
        /* Only the tick cancels an open connection's receive, to shrink its idle buffer (a
         * cancel that raced with data can hit the next receive: that one is armed again). */
        if (!conn_recv_fit(conn, 0, rill_clock_mono_ns())) {
            conn_close(conn, "out of memory");
            return;
        }
        conn_recv_arm(conn);
        return;
    }
    if (res <= 0) {
        /* The peer closed (0) or the socket failed: answer what was read, then close. */
        conn_drain(conn);
        return;
    }
    RILL_ASSERT((uint32_t)res <= conn->recv_bytes_capacity - conn->recv_bytes_used);
    conn->recv_bytes_used += (uint32_t)res;
    conn_parse(conn, rill_clock_mono_ns());
    conn_recv_arm(conn);
    conn_send_arm(conn);
}

/* Drops the bytes a send completion reports from the head responses. */
static void conn_responses_consume(struct broker_conn *conn, uint32_t sent_bytes)
{
    while (sent_bytes > 0) {
        struct conn_response *response = conn_response_at(conn, 0);
        uint32_t remaining = response->bytes - conn->send_offset_bytes;
        if (sent_bytes < remaining) {
            conn->send_offset_bytes += sent_bytes;
            return;
        }
        sent_bytes -= remaining;
        free(response->data);
        *response = (struct conn_response){ 0 };
        conn->send_offset_bytes = 0;
        conn->response_head = (conn->response_head + 1) % RILL_INFLIGHT_PER_CONN_MAX;
        conn->response_count--;
    }
}

void conn_on_send(struct broker_conn *conn, int res)
{
    RILL_ASSERT(conn->send_armed);
    conn->send_armed = false;
    if (conn->state == CONN_STATE_CLOSING) {
        conn_release_if_quiet(conn);
        return;
    }
    if (res < 0 && res != -EINTR && res != -EAGAIN) {
        conn_close(conn, "send failed");
        return;
    }
    if (res > 0) {
        conn_responses_consume(conn, (uint32_t)res);
    }
    conn_responses_pop_empty(conn);
    if (conn->state == CONN_STATE_OPEN && !conn->recv_armed) {
        /* Answers went out: frames held back by the in-flight limit may be read now. */
        conn_parse(conn, rill_clock_mono_ns());
        conn_recv_arm(conn);
    }
    conn_send_arm(conn);
    conn_drain_check(conn);
}

void conn_on_tick(struct broker_conn *conn, int64_t now_ns)
{
    if (conn->state != CONN_STATE_OPEN) {
        return;
    }
    const struct broker_config *cfg = conn->core->cfg;
    if (conn->frame_start_ns != 0 && !conn_paused(conn) &&
        now_ns - conn->frame_start_ns > cfg->frame_timeout_ms * CONN_NS_PER_MS) {
        conn_close(conn, "frame timeout");
    } else if (conn->frame_start_ns == 0 && conn->response_count == 0 &&
               now_ns - conn->request_last_ns > cfg->idle_timeout_ms * CONN_NS_PER_MS) {
        conn_close(conn, "idle timeout");
    } else if (conn->recv_armed && !conn->recv_shrinking && conn->recv_bytes_used == 0 &&
               conn->recv_bytes_capacity > RILL_CONN_RECV_BYTES_INITIAL &&
               now_ns - conn->recv_large_last_ns >=
                   (int64_t)RILL_CONN_RECV_KEEP_MS * CONN_NS_PER_MS) {
        /* A quiet connection gives its grown buffer back: its receive completes cancelled. */
        conn->recv_shrinking = true;
        conn_cancel(conn, LOOP_OP_RECV);
    }
}
