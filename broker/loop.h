/*
 * loop.h - one broker core: an io_uring ring and everything that core owns.
 *
 * rilld is thread-per-core and shared-nothing (docs: DESIGN.md, Broker). A struct broker_core
 * owns one ring that carries its network I/O and, later, its disk I/O; the connections it
 * accepted; and, later, the partitions placed on it. Nothing of a core is touched by another
 * thread: work for another core travels as a message (eventfd or IORING_OP_MSG_RING). Today
 * rilld runs one core on the main thread; the structure is the multi-core one.
 *
 * Every SQE carries a 64-bit tag in user_data (the idea of liburing's examples/proxy):
 *
 *   bits 63..56  enum loop_op
 *   bits 55..24  connection generation   (connection ops)
 *   bits 23..0   connection slot         (connection ops)
 *
 * A LOOP_OP_DISK tag instead holds a pointer to a struct loop_disk_owner in bits 55..0 (user
 * space pointers fit 47 bits): disk completions are routed to their owner, so the log's
 * io_uring backend can share the core's ring.
 */
#ifndef RILL_BROKER_LOOP_H
#define RILL_BROKER_LOOP_H

#include <liburing.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "rill.h"
#include "broker/metrics.h"
#include "proto/arena.h"

struct broker;
struct broker_config;
struct broker_conn;
struct route;
struct topics_view;
struct config_address;
struct http_server;
struct broker_partition;
struct broker_topics;
struct group_wire;
struct log_io;
struct pending;

enum loop_op {
    LOOP_OP_NONE = 0,      /* completions nobody waits for (cancellations) */
    LOOP_OP_ACCEPT = 1,    /* the listening socket */
    LOOP_OP_RECV = 2,      /* a connection's receive */
    LOOP_OP_SEND = 3,      /* a connection's send */
    LOOP_OP_TICK = 4,      /* the periodic timer that enforces deadlines */
    LOOP_OP_SIGNAL = 5,    /* a read of the signalfd: SIGTERM/SIGINT */
    LOOP_OP_DISK = 6,      /* a disk completion, routed to its struct loop_disk_owner */
    LOOP_OP_MSG = 10,      /* a struct broker_msg another core posted to us (MSG_RING) */
    LOOP_OP_MSG_SENT = 11, /* our MSG_RING submission of a struct broker_msg completed */

    /* core 0's HTTP endpoint (broker/http.c); slot and generation tagged as for connections */
    LOOP_OP_HTTP_ACCEPT = 7, /* the HTTP listening socket */
    LOOP_OP_HTTP_RECV = 8,   /* an HTTP connection's receive */
    LOOP_OP_HTTP_SEND = 9,   /* an HTTP connection's send */
};

#define LOOP_TAG_OP_SHIFT         56
#define LOOP_TAG_GENERATION_SHIFT 24
#define LOOP_TAG_SLOT_MASK        ((1ull << 24) - 1)
#define LOOP_TAG_POINTER_MASK     ((1ull << 56) - 1)

/*
 * Whoever submits disk I/O on a core's ring embeds one of these and tags its SQEs with
 * loop_tag_disk(); the loop hands each such completion to complete().
 */
struct loop_disk_owner {
    void (*complete)(struct loop_disk_owner *owner, const struct io_uring_cqe *cqe);
};

struct broker_core {
    unsigned core_index;             /* 0 .. cores-1; the main thread runs core 0 */
    struct broker *broker;           /* the process: every core, the shared view */
    const struct broker_config *cfg; /* borrowed, outlives the core */
    struct io_uring ring;
    bool ring_ready;           /* ring initialised (for loop_core_deinit) */
    int listen_fd;             /* owned; -1 once closed for shutdown */
    uint16_t listen_port;      /* the port actually bound (METADATA reports it) */
    int signal_fd;             /* owned by core 0 only; -1 on other cores */
    struct broker_conn *conns; /* cfg->connections_max slots, allocated at start */
    uint32_t *conn_free;       /* stack of free slot numbers */
    uint32_t conn_free_count;
    uint32_t conn_count;                   /* slots in use, closing ones included */
    _Atomic uint32_t conn_count_published; /* conn_count for core 0's /metrics */
    bool accept_armed;                     /* an accept SQE is in the ring */
    bool accept_paused;                    /* out of descriptors: retry on the next tick */
    int64_t accept_warned_ns;              /* last diagnostic about it (rate limit) */
    bool stopping;                         /* shutdown began: no accepts, connections drain */
    int64_t stop_deadline_ns;              /* monotonic; connections left after it are cut */
    int64_t tick_ms;                       /* period of the deadline timer */
    int64_t tick_data_ms;                  /* period of the data housekeeping (idle, compact) */
    int64_t tick_data_last_ns;             /* when that housekeeping last ran */
    struct __kernel_timespec tick_ts;      /* the timer's interval, stable while armed */
    struct signalfd_siginfo signal_info;   /* buffer of the signalfd read, stable while armed */
    struct proto_arena arena;              /* decoded request arrays, reset after each request */
    struct http_server *http;    /* core 0: the HTTP endpoint (broker/http.h); else NULL */
    struct metrics_core metrics; /* this core's counters, written only by it */

    /* Disk: one io_uring of the log backend per core. Its completions signal disk_event_fd,
     * which a read on the network ring watches (LOOP_OP_DISK, owner disk_owner). */
    struct log_io *io;
    int disk_event_fd;
    uint64_t disk_event_value; /* buffer of the eventfd read, stable while armed */
    bool disk_event_armed;
    struct loop_disk_owner disk_owner;
    struct broker_topics *topics;          /* owned by core 0 (metadata owner) */
    struct group_wire *groups;             /* core 0: the consumer group coordinator */
    struct broker_partition *commit_first; /* partitions appended to since the last commit */
    struct pending *pending_first;         /* deferred answers: produce acks, fetch long polls */
    uint32_t pending_count;
    uint64_t data_version;         /* bumped when any partition's readable end moves */
    uint64_t data_version_checked; /* data_version when pending fetches were last checked */
    struct topics_view *view;      /* the topics view this round uses (broker.h) */
    _Atomic uint64_t view_seen;    /* its version, for core 0's reclamation */
    struct route *route_first;     /* requests waiting for parts on other cores */
    uint32_t route_count;
    metrics_counter requests_routed; /* requests split or forwarded to other cores */
    metrics_counter messages_sent;   /* messages posted to other cores */
    uint64_t compact_cursor;         /* where the cleaner looks next (data_compact_tick) */
    unsigned accept_next;            /* core 0: the core the next accepted connection goes to */
    bool exit_now;                   /* every core is idle after a stop: leave the loop */
    bool idle_notified;              /* told core 0 that this core became idle */
};

static inline uint64_t loop_tag_conn(enum loop_op op, uint32_t slot, uint32_t generation)
{
    return ((uint64_t)op << LOOP_TAG_OP_SHIFT) |
           ((uint64_t)generation << LOOP_TAG_GENERATION_SHIFT) | (uint64_t)slot;
}

/* A tag carrying a user-space pointer (which fits 47 bits) in bits 55..0. */
static inline uint64_t loop_tag_pointer(enum loop_op op, const void *pointer)
{
    return ((uint64_t)op << LOOP_TAG_OP_SHIFT) | ((uintptr_t)pointer & LOOP_TAG_POINTER_MASK);
}

static inline uint64_t loop_tag_disk(struct loop_disk_owner *owner)
{
    return ((uint64_t)LOOP_OP_DISK << LOOP_TAG_OP_SHIFT) |
           ((uintptr_t)owner & LOOP_TAG_POINTER_MASK);
}

/*
 * Prepares core: ring, connection slots, and the listening socket bound to cfg->listen. With
 * signals, also a signalfd for SIGTERM and SIGINT, which the caller must have blocked.
 * *out_port is the port actually bound (useful with port 0).
 * @return RILL_OK, RILL_ERR_NOMEM, or the error of the failed system call.
 */
RILL_MUST_CHECK rill_err loop_core_init(struct broker_core *core,
                                        unsigned core_index,
                                        const struct broker_config *cfg,
                                        struct broker *broker,
                                        bool signals,
                                        uint16_t *io_port);

/* Binds and listens on address (port 0: a free port, returned in *out_port); also used by
 * broker/http.c. reuse_port lets every core listen on the same port (SO_REUSEPORT: the kernel
 * spreads connections over them). @return RILL_OK, RILL_ERR_INVALID (unresolvable host) or the
 * errno error. */
RILL_MUST_CHECK rill_err loop_listen(const struct config_address *address,
                                     bool reuse_port,
                                     int *out_fd,
                                     uint16_t *out_port);

/* Releases everything loop_core_init made; safe on a partly initialised core. */
void loop_core_deinit(struct broker_core *core);

/* Serves until a shutdown completes. @return RILL_OK after a clean shutdown, else the error. */
RILL_MUST_CHECK rill_err loop_run(struct broker_core *core);

/* Begins a graceful shutdown: stop accepting, answer what was read, close, then return. */
void loop_stop(struct broker_core *core);

/* An SQE from the core's ring, submitting queued ones first when the queue is full. */
struct io_uring_sqe *loop_sqe_get(struct broker_core *core);

/* Serves an accepted connection on core (or refuses it when full or stopping). */
void loop_conn_take(struct broker_core *core, int fd);

/* Called by a connection when its last operation completed after conn_close(): frees the slot. */
void loop_conn_release(struct broker_core *core, struct broker_conn *conn);

#endif
