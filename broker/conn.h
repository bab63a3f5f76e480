/*
 * conn.h - one client connection of the native protocol, owned by one broker core.
 *
 * A connection reads frames into its receive buffer, hands each complete frame to the
 * dispatcher, and sends the responses back in request order. Invariants:
 *   - at most one receive and one send are in the ring at a time (recv_armed, send_armed), and
 *     the buffers they use are not touched until their completion;
 *   - the receive buffer holds RILL_CONN_RECV_BYTES_INITIAL bytes when the connection is quiet
 *     and grows to exactly the frame being received (its length checked against the limit
 *     first); a grown buffer is kept between frames while large frames keep coming (growing
 *     and shrinking it for every frame made the kernel map and zero fresh pages each time) and
 *     shrinks after RILL_CONN_RECV_KEEP_MS without one: at the next frame, or from the tick,
 *     which cancels the armed receive to do so (recv_shrinking). A receive asks for the rest
 *     of a large pending frame exactly, else for at most RILL_CONN_RECV_BYTES_INITIAL bytes,
 *     so the start of the next frame that must be moved down is never more than that;
 *   - responses[] is a ring of response slots in request order; a slot is reserved when its
 *     request is read and filled (ready) when its answer is built, possibly later and out of
 *     order; only the ready prefix is sent. No more than cfg->inflight_max slots are in use:
 *     then the connection is not read (backpressure);
 *   - a closed connection's slot is released only when none of its operations is in the ring,
 *     so a completion never finds its slot reused.
 */
#ifndef RILL_BROKER_CONN_H
#define RILL_BROKER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/limits.h"

struct broker_core;

enum conn_state {
    CONN_STATE_FREE = 0, /* slot unused */
    CONN_STATE_OPEN,     /* serving */
    CONN_STATE_DRAINING, /* no more reading: close once every response is sent */
    CONN_STATE_CLOSING,  /* shut down: waiting for the ring to return our operations */
};

struct conn_response {
    uint8_t *data;  /* malloc'd frame, owned by the slot once ready */
    uint32_t bytes; /* frame bytes, length prefix included */
    bool ready;     /* the answer is built (data may still be NULL: acks=0 sends nothing) */
};

struct broker_conn {
    struct broker_core *core; /* owner; the connection is only touched on its thread */
    int fd;                   /* owned; -1 when free */
    uint32_t slot;            /* index in core->conns */
    uint32_t generation;      /* bumped at each reuse of the slot; part of every tag */
    enum conn_state state;
    bool recv_armed; /* a receive is in the ring */
    bool send_armed; /* a send is in the ring */
    uint8_t *recv_buf;
    uint32_t recv_bytes_capacity; /* allocated at recv_buf */
    uint32_t recv_bytes_used;     /* received and not yet consumed */
    uint32_t recv_frame_bytes;    /* the pending frame, prefix included, once known; else 0 */
    int64_t frame_start_ns;       /* when the first byte of a pending frame came; 0 if none */
    int64_t request_last_ns;      /* last complete request (or the accept) */
    int64_t recv_large_last_ns;   /* last time a frame needed more than the initial buffer */
    bool recv_shrinking;          /* the tick cancelled the receive to shrink the buffer */
    struct conn_response responses[RILL_INFLIGHT_PER_CONN_MAX];
    uint32_t response_head;     /* oldest unanswered slot */
    uint32_t response_count;    /* slots in use, from response_head */
    uint32_t send_offset_bytes; /* bytes of the head response already sent */
    uint32_t send_iov_count;    /* entries of send_iov in the armed send */
    struct iovec send_iov[RILL_INFLIGHT_PER_CONN_MAX];
    struct msghdr send_msg; /* stable while a send is armed */
};

/* Starts serving fd (consumed) in the free slot conn; arms the first receive. */
void conn_open(struct broker_conn *conn, struct broker_core *core, int fd, int64_t now_ns);

/* Completion of this connection's receive (res is cqe->res). */
void conn_on_recv(struct broker_conn *conn, int res);

/* Completion of this connection's send (res is cqe->res). */
void conn_on_send(struct broker_conn *conn, int res);

/* Enforces the idle and frame deadlines; called by the core's periodic tick. */
void conn_on_tick(struct broker_conn *conn, int64_t now_ns);

/*
 * Fills the reserved response slot response_index with a deferred answer (data: malloc'd frame,
 * taken on success; bytes 0 sends nothing) and sends what became ready. False when the
 * connection is gone or is another generation: the caller keeps data.
 */
bool conn_response_fill(struct broker_conn *conn,
                        uint32_t generation,
                        uint32_t response_index,
                        uint8_t *data,
                        uint32_t bytes);

/* Bytes of a peer address "ip:port" ("[v6]:port"), NUL included. */
#define CONN_PEER_BYTES 64u

/* Writes the connection's peer address as "ip:port" ("[v6]:port"; "unknown" when it cannot be
 * read) into out. */
void conn_peer_address(const struct broker_conn *conn, char *out, size_t out_bytes);

/* Graceful stop: read no more, close once the responses already owed are sent. */
void conn_drain(struct broker_conn *conn);

/* Closes now: shuts the socket so the ring returns our operations, then frees the slot. */
void conn_close(struct broker_conn *conn, const char *reason);

#endif
