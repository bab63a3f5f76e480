/*
 * loop.c - a broker core's io_uring event loop: accept, the deadline tick, signals, and the
 * routing of every completion by its tag (loop.h) to the connection or disk owner it belongs
 * to. Connection I/O itself lives in conn.c.
 */
#include "broker/loop.h"

#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/limits.h"
#include "broker/config.h"
#include "broker/broker.h"
#include "broker/conn.h"
#include "broker/handlers.h"
#include "broker/route.h"
#include "broker/http.h"
#include "broker/pending.h"
#include "broker/topics.h"
#include "log/io.h"

#define LOOP_NS_PER_MS 1000000ll

/* The tick checks deadlines: a quarter of the shortest timeout keeps them within 25 %. */
#define LOOP_TICK_MS_MIN 10
#define LOOP_TICK_MS_MAX 1000
/* Core 0's tick also drives the group coordinator's sessions (handlers_group.c). */
#define LOOP_TICK_MS_GROUPS 100

/* Repeated diagnostics (accept failing every tick) are printed at most this often. */
#define LOOP_WARN_INTERVAL_MS 10000

/* Completions handled per wait: bounds the work between two submits. */
#define LOOP_CQE_BATCH_MAX 256u

/* Submission slots of a core's disk ring: each partition has at most a write, its linked sync
 * and a roll sync in flight, and a full ring only delays a commit to the next round. */
#define LOOP_DISK_RING_ENTRIES 4096u

struct io_uring_sqe *loop_sqe_get(struct broker_core *core)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&core->ring);
    if (sqe == NULL) {
        /* The submission queue is full: hand it to the kernel, which frees every entry. */
        int ret = io_uring_submit(&core->ring);
        RILL_ASSERT(ret >= 0);
        sqe = io_uring_get_sqe(&core->ring);
    }
    RILL_ASSERT(sqe != NULL);
    return sqe;
}

rill_err
loop_listen(const struct config_address *address, bool reuse_port, int *out_fd, uint16_t *out_port)
{
    char port_text[8];
    snprintf(port_text, sizeof(port_text), "%u", (unsigned)address->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(address->host, port_text, &hints, &list);
    if (gai != 0) {
        DIAG_ERROR("net", "listen host=%s error=\"%s\"", address->host, gai_strerror(gai));
        return RILL_ERR_INVALID;
    }
    int fd = socket(list->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    rill_err err = RILL_OK;
    /* SO_REUSEADDR: a restart must not wait for the old connections' TIME_WAIT. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, list->ai_addr, list->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        int errno_value = errno;
        DIAG_ERROR("net", "listen host=%s port=%u error=\"%s\"", address->host,
                   (unsigned)address->port, strerror(errno_value));
        err = rill_err_from_errno(errno_value);
    }
    freeaddrinfo(list);
    struct sockaddr_storage bound;
    socklen_t bound_bytes = sizeof(bound);
    if (err == RILL_OK && getsockname(fd, (struct sockaddr *)&bound, &bound_bytes) != 0) {
        err = rill_err_from_errno(errno);
    }
    if (err != RILL_OK) {
        if (fd >= 0) {
            close(fd);
        }
        return err;
    }
    *out_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    *out_fd = fd;
    return RILL_OK;
}

static rill_err loop_signals_open(struct broker_core *core)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    core->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
    return core->signal_fd < 0 ? rill_err_from_errno(errno) : RILL_OK;
}

static rill_err loop_slots_create(struct broker_core *core)
{
    uint32_t count = core->cfg->connections_max;
    core->conns = calloc(count, sizeof(*core->conns));
    core->conn_free = calloc(count, sizeof(*core->conn_free));
    if (core->conns == NULL || core->conn_free == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t slot = 0; slot < count; slot++) {
        core->conns[slot].fd = -1;
        core->conns[slot].slot = slot;
        core->conn_free[slot] = count - 1 - slot; /* slot 0 is handed out first */
    }
    core->conn_free_count = count;
    return RILL_OK;
}

static int64_t loop_tick_ms(const struct broker_config *cfg)
{
    int64_t shortest_ms =
        cfg->idle_timeout_ms < cfg->frame_timeout_ms ? cfg->idle_timeout_ms : cfg->frame_timeout_ms;
    int64_t tick_ms = shortest_ms / 4;
    if (tick_ms < LOOP_TICK_MS_MIN) {
        return LOOP_TICK_MS_MIN;
    }
    return tick_ms > LOOP_TICK_MS_MAX ? LOOP_TICK_MS_MAX : tick_ms;
}

/* Arms the read of the disk ring's eventfd: it completes once a disk completion is posted. */
static void loop_disk_event_arm(struct broker_core *core)
{
    if (core->disk_event_armed || core->disk_event_fd < 0) {
        return;
    }
    struct io_uring_sqe *sqe = loop_sqe_get(core);
    io_uring_prep_read(sqe, core->disk_event_fd, &core->disk_event_value,
                       sizeof(core->disk_event_value), 0);
    io_uring_sqe_set_data64(sqe, loop_tag_disk(&core->disk_owner));
    core->disk_event_armed = true;
}

static void loop_disk_event_complete(struct loop_disk_owner *owner, const struct io_uring_cqe *cqe)
{
    struct broker_core *core =
        (struct broker_core *)((char *)owner - offsetof(struct broker_core, disk_owner));
    (void)cqe; /* the count is not needed: reap takes whatever is there */
    core->disk_event_armed = false;
    data_disk_reap(core);
    loop_disk_event_arm(core);
}

/* The core's disk ring, its eventfd, and the topics with their partition logs. */
static rill_err loop_disk_open(struct broker_core *core)
{
    rill_err err = log_io_uring_create(LOOP_DISK_RING_ENTRIES, &core->io);
    if (err == RILL_OK) {
        err = log_io_uring_eventfd(core->io, &core->disk_event_fd);
    }
    if (err == RILL_OK) {
        core->disk_owner.complete = loop_disk_event_complete;
        core->metrics.render_extra = data_metrics_render;
        core->io->sync_stats = &core->metrics.log_sync; /* rill_log_sync_seconds */
    }
    if (err != RILL_OK) {
        DIAG_ERROR("broker", "cannot open the data in %s: %s", core->cfg->data_dir,
                   rill_err_str(err));
    }
    return err;
}

rill_err loop_core_init(struct broker_core *core,
                        unsigned core_index,
                        const struct broker_config *cfg,
                        struct broker *broker,
                        bool signals,
                        uint16_t *io_port)
{
    memset(core, 0, sizeof(*core));
    core->core_index = core_index;
    core->cfg = cfg;
    core->broker = broker;
    core->listen_fd = -1;
    core->signal_fd = -1;
    core->disk_event_fd = -1;
    core->tick_ms = loop_tick_ms(cfg);
    core->tick_data_ms = core->tick_ms;
    if (core_index == 0 && core->tick_ms > LOOP_TICK_MS_GROUPS) {
        core->tick_ms = LOOP_TICK_MS_GROUPS; /* the data housekeeping keeps its own pace */
    }
    proto_arena_init(&core->arena, RILL_PROTO_ARENA_BYTES_MAX);
    metrics_core_init(&core->metrics, rill_clock_mono_ns());
    rill_err err = loop_slots_create(core);
    if (err != RILL_OK) {
        return err;
    }
    /* Every connection may have a receive and a send completing at once: size the completion
     * queue for that, so the kernel rarely has to hold completions back. It may not be smaller
     * than the submission queue. */
    uint32_t cq_entries = 2 * cfg->connections_max + 64;
    if (cq_entries < 2 * RILL_RING_ENTRIES) {
        cq_entries = 2 * RILL_RING_ENTRIES;
    }
    struct io_uring_params params = { .flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP,
                                      .cq_entries = cq_entries };
    int ret = io_uring_queue_init_params(RILL_RING_ENTRIES, &core->ring, &params);
    if (ret < 0) {
        DIAG_ERROR("net", "io_uring_queue_init error=\"%s\"", strerror(-ret));
        return rill_err_from_errno(-ret);
    }
    core->ring_ready = true;
    err = loop_disk_open(core);
    uint16_t port = 0;
    if (err == RILL_OK) {
        /* Core 0 listens and deals connections out (loop_on_accept). */
        struct config_address address = cfg->listen;
        if (core_index == 0) {
            err = loop_listen(&address, false, &core->listen_fd, &port);
        }
    }
    core->listen_port = port;
    if (err == RILL_OK && signals) {
        err = loop_signals_open(core);
    }
    if (err == RILL_OK && core_index == 0) {
        *io_port = port;
    }
    return err;
}

void loop_core_deinit(struct broker_core *core)
{
    for (uint32_t slot = 0; core->conns != NULL && slot < core->cfg->connections_max; slot++) {
        struct broker_conn *conn = &core->conns[slot];
        if (conn->fd >= 0) {
            close(conn->fd);
        }
        free(conn->recv_buf);
        for (uint32_t i = 0; i < RILL_INFLIGHT_PER_CONN_MAX; i++) {
            free(conn->responses[i].data);
        }
    }
    pending_flush_all(core);
    group_wire_close(core); /* before the topics: its batches are staged in the offsets log */
    if (core->ring_ready) {
        /* Messages another core posted after this one left its loop (a late CANCEL): ours. */
        struct io_uring_cqe *cqe = NULL;
        while (io_uring_peek_cqe(&core->ring, &cqe) == 0) {
            uint64_t tag = cqe->user_data;
            io_uring_cqe_seen(&core->ring, cqe);
            if ((enum loop_op)(tag >> LOOP_TAG_OP_SHIFT) == LOOP_OP_MSG) {
                struct broker_msg *msg =
                    (struct broker_msg *)(uintptr_t)(tag & LOOP_TAG_POINTER_MASK);
                free(msg->frame);
                free(msg);
            }
        }
    }
    rill_err err = topics_close(core->topics);
    if (err != RILL_OK) {
        DIAG_ERROR("broker", "closing the partition logs: %s", rill_err_str(err));
    }
    core->topics = NULL;
    if (core->io != NULL) {
        core->io->ops->destroy(core->io);
    }
    if (core->disk_event_fd >= 0) {
        close(core->disk_event_fd);
    }
    if (core->ring_ready) {
        io_uring_queue_exit(&core->ring);
    }
    http_server_destroy(core->http); /* after the ring: no operation of it is left */
    if (core->listen_fd >= 0) {
        close(core->listen_fd);
    }
    if (core->signal_fd >= 0) {
        close(core->signal_fd);
    }
    free(core->conns);
    free(core->conn_free);
    proto_arena_deinit(&core->arena);
    memset(core, 0, sizeof(*core));
    core->listen_fd = -1;
    core->signal_fd = -1;
    core->disk_event_fd = -1;
}

static void loop_accept_arm(struct broker_core *core)
{
    if (core->accept_armed || core->accept_paused || core->stopping || core->listen_fd < 0) {
        return;
    }
    struct io_uring_sqe *sqe = loop_sqe_get(core);
    io_uring_prep_accept(sqe, core->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, (uint64_t)LOOP_OP_ACCEPT << LOOP_TAG_OP_SHIFT);
    core->accept_armed = true;
}

static void loop_tick_arm(struct broker_core *core)
{
    core->tick_ts.tv_sec = core->tick_ms / 1000;
    core->tick_ts.tv_nsec = (core->tick_ms % 1000) * LOOP_NS_PER_MS;
    struct io_uring_sqe *sqe = loop_sqe_get(core);
    io_uring_prep_timeout(sqe, &core->tick_ts, 0, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)LOOP_OP_TICK << LOOP_TAG_OP_SHIFT);
}

static void loop_signal_arm(struct broker_core *core)
{
    if (core->signal_fd < 0) {
        return;
    }
    struct io_uring_sqe *sqe = loop_sqe_get(core);
    io_uring_prep_read(sqe, core->signal_fd, &core->signal_info, sizeof(core->signal_info), 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)LOOP_OP_SIGNAL << LOOP_TAG_OP_SHIFT);
}

void loop_conn_release(struct broker_core *core, struct broker_conn *conn)
{
    RILL_ASSERT(conn->state == CONN_STATE_FREE);
    RILL_ASSERT(core->conn_count > 0);
    RILL_ASSERT(core->conn_free_count < core->cfg->connections_max);
    core->conn_free[core->conn_free_count++] = conn->slot;
    core->conn_count--;
    atomic_fetch_sub(&core->broker->conns_open, 1);
    atomic_store_explicit(&core->conn_count_published, core->conn_count, memory_order_relaxed);
    if (core->accept_paused) {
        /* A descriptor was just freed: accepting may work again. */
        core->accept_paused = false;
        loop_accept_arm(core);
    }
}

void loop_conn_take(struct broker_core *core, int fd)
{
    if (core->stopping || core->conn_free_count == 0) {
        atomic_fetch_sub(&core->broker->conns_open, 1);
        /* Full (or stopping): closing at once keeps the backlog moving; the client sees the
         * connection end before any request is read. */
        DIAG_DEBUG("net", "refused connection count=%u", core->conn_count);
        metrics_add(&core->metrics.connections_refused, 1);
        close(fd);
        return;
    }
    uint32_t slot = core->conn_free[--core->conn_free_count];
    struct broker_conn *conn = &core->conns[slot];
    conn->generation++;
    core->conn_count++;
    atomic_store_explicit(&core->conn_count_published, core->conn_count, memory_order_relaxed);
    metrics_add(&core->metrics.connections_accepted, 1);
    conn_open(conn, core, fd, rill_clock_mono_ns());
}

/*
 * Core 0 accepts every connection and deals them out to the cores in turn (a CONN message
 * carries the descriptor). One listening socket rather than SO_REUSEPORT on each core: with
 * SO_REUSEPORT another process of the same user could bind the port too and silently take a
 * share of the connections.
 */
static void loop_on_accept(struct broker_core *core, int res)
{
    core->accept_armed = false;
    if (res >= 0 && atomic_fetch_add(&core->broker->conns_open, 1) >= core->cfg->connections_max) {
        /* connections.max counts every core's connections: refused here, at the door. */
        atomic_fetch_sub(&core->broker->conns_open, 1);
        metrics_add(&core->metrics.connections_refused, 1);
        close(res);
    } else if (res >= 0) {
        unsigned count = core->broker->core_count;
        unsigned target = count > 1 ? core->accept_next++ % count : core->core_index;
        struct broker_msg *msg =
            target != core->core_index ? calloc(1, sizeof(struct broker_msg)) : NULL;
        if (msg != NULL) {
            msg->type = BROKER_MSG_CONN;
            msg->fd = res;
            broker_msg_send(core, target, msg);
        } else {
            loop_conn_take(core, res);
        }
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        /* Out of descriptors or memory: retrying at once would spin. Wait for a close or the
         * next tick. */
        int64_t now_ns = rill_clock_mono_ns();
        if (core->accept_warned_ns == 0 ||
            now_ns - core->accept_warned_ns > LOOP_WARN_INTERVAL_MS * LOOP_NS_PER_MS) {
            DIAG_WARN("net", "accept paused error=\"%s\" connections=%u", strerror(-res),
                      core->conn_count);
            core->accept_warned_ns = now_ns;
        }
        core->accept_paused = true;
    }
    loop_accept_arm(core);
}

static void loop_on_tick(struct broker_core *core)
{
    int64_t now_ns = rill_clock_mono_ns();
    bool cut = core->stopping && now_ns > core->stop_deadline_ns;
    for (uint32_t slot = 0; slot < core->cfg->connections_max && core->conn_count > 0; slot++) {
        struct broker_conn *conn = &core->conns[slot];
        if (cut) {
            conn_close(conn, "shutdown timeout");
        } else {
            conn_on_tick(conn, now_ns);
        }
    }
    http_on_tick(core->http, now_ns);
    group_wire_tick(core);
    if (now_ns - core->tick_data_last_ns >= core->tick_data_ms * LOOP_NS_PER_MS) {
        /* Both walk every partition of the view: at their own pace, not the group tick's. */
        core->tick_data_last_ns = now_ns;
        data_idle_release(core);
        if (!core->stopping) {
            data_compact_tick(core);
        }
    }
    core->accept_paused = false;
    loop_accept_arm(core);
    loop_tick_arm(core);
}

void loop_stop(struct broker_core *core)
{
    if (core->stopping) {
        return;
    }
    DIAG_INFO("broker", "stopping connections=%u", core->conn_count);
    core->stopping = true;
    core->stop_deadline_ns = rill_clock_mono_ns() + core->cfg->shutdown_timeout_ms * LOOP_NS_PER_MS;
    http_server_stopping(core->http); /* /health says 503 while the connections drain */
    if (core->accept_armed) {
        struct io_uring_sqe *sqe = loop_sqe_get(core);
        io_uring_prep_cancel64(sqe, (uint64_t)LOOP_OP_ACCEPT << LOOP_TAG_OP_SHIFT, 0);
        io_uring_sqe_set_data64(sqe, (uint64_t)LOOP_OP_NONE << LOOP_TAG_OP_SHIFT);
    }
    for (uint32_t slot = 0; slot < core->cfg->connections_max; slot++) {
        conn_drain(&core->conns[slot]);
    }
    if (core->core_index == 0) {
        /* Signals come to core 0: it tells the others. */
        for (unsigned other = 1; other < core->broker->core_count; other++) {
            (void)broker_msg_signal(core, other, BROKER_MSG_STOP);
        }
    }
}

static void loop_on_signal(struct broker_core *core, int res)
{
    if (res == (int)sizeof(core->signal_info)) {
        DIAG_INFO("broker", "signal=%u", core->signal_info.ssi_signo);
        if (core->stopping) {
            /* A second signal: the operator does not want to wait for the drain. */
            core->stop_deadline_ns = 0;
        }
        loop_stop(core);
    }
    loop_signal_arm(core);
}

static struct broker_conn *loop_conn_from_tag(struct broker_core *core, uint64_t tag)
{
    uint32_t slot = (uint32_t)(tag & LOOP_TAG_SLOT_MASK);
    uint32_t generation = (uint32_t)(tag >> LOOP_TAG_GENERATION_SHIFT);
    RILL_ASSERT(slot < core->cfg->connections_max);
    struct broker_conn *conn = &core->conns[slot];
    RILL_ASSERT(conn->generation == generation);
    RILL_ASSERT(conn->state != CONN_STATE_FREE);
    return conn;
}

static void loop_dispatch_cqe(struct broker_core *core, const struct io_uring_cqe *cqe)
{
    uint64_t tag = cqe->user_data;
    switch ((enum loop_op)(tag >> LOOP_TAG_OP_SHIFT)) {
    case LOOP_OP_NONE:
        break;
    case LOOP_OP_ACCEPT:
        loop_on_accept(core, cqe->res);
        break;
    case LOOP_OP_RECV:
        conn_on_recv(loop_conn_from_tag(core, tag), cqe->res);
        break;
    case LOOP_OP_SEND:
        conn_on_send(loop_conn_from_tag(core, tag), cqe->res);
        break;
    case LOOP_OP_TICK:
        loop_on_tick(core);
        break;
    case LOOP_OP_SIGNAL:
        loop_on_signal(core, cqe->res);
        break;
    case LOOP_OP_HTTP_ACCEPT:
    case LOOP_OP_HTTP_RECV:
    case LOOP_OP_HTTP_SEND:
        http_on_cqe(core->http, cqe);
        break;
    case LOOP_OP_MSG:
        broker_msg_receive(core, (struct broker_msg *)(uintptr_t)(tag & LOOP_TAG_POINTER_MASK));
        break;
    case LOOP_OP_MSG_SENT:
        broker_msg_sent(core, (struct broker_msg *)(uintptr_t)(tag & LOOP_TAG_POINTER_MASK),
                        cqe->res);
        break;
    case LOOP_OP_DISK: {
        struct loop_disk_owner *owner =
            (struct loop_disk_owner *)(uintptr_t)(tag & LOOP_TAG_POINTER_MASK);
        owner->complete(owner, cqe);
        break;
    }
    default:
        RILL_UNREACHABLE();
    }
}

/* Nothing left on this core after a stop: no connection, no request waiting for another core,
 * no answer another core waits for, and HTTP (which answers 503 on /health during the drain)
 * closed with nothing left in the ring. */
static bool loop_idle(struct broker_core *core)
{
    if (!core->stopping || core->conn_count > 0 || core->pending_count > 0 || route_busy(core)) {
        return false;
    }
    if (core->http != NULL) {
        http_server_close(core->http);
        return http_server_quiet(core->http);
    }
    return true;
}

/* One core: it ends when idle. Several: each tells core 0 when it becomes idle, and core 0 ends
 * them all once every core is idle at the same time - a core cannot leave earlier, because
 * until then another core may still send it a part of a request. */
static bool loop_done(struct broker_core *core)
{
    struct broker *broker = core->broker;
    bool idle = loop_idle(core);
    if (broker->core_count <= 1) {
        return idle;
    }
    atomic_store(&broker->idle[core->core_index], idle);
    if (core->core_index != 0) {
        if (idle && !core->idle_notified) {
            core->idle_notified = broker_msg_signal(core, 0, BROKER_MSG_IDLE);
        }
        if (!idle) {
            core->idle_notified = false;
        }
        return core->exit_now;
    }
    for (unsigned c = 0; c < broker->core_count; c++) {
        if (!atomic_load(&broker->idle[c])) {
            return false;
        }
    }
    for (unsigned c = 1; c < broker->core_count; c++) {
        (void)broker_msg_signal(core, c, BROKER_MSG_EXIT);
    }
    io_uring_submit(&core->ring);
    return true;
}

/* Waits for at least one completion, or until the earliest pending deadline. */
static int loop_wait(struct broker_core *core)
{
    int64_t deadline_ns = pending_next_deadline_ns(core);
    if (deadline_ns < 0) {
        return io_uring_submit_and_wait(&core->ring, 1);
    }
    int64_t wait_ns = deadline_ns - rill_clock_mono_ns();
    if (wait_ns < 0) {
        wait_ns = 0;
    }
    struct __kernel_timespec ts = { .tv_sec = wait_ns / 1000000000ll,
                                    .tv_nsec = wait_ns % 1000000000ll };
    struct io_uring_cqe *cqe = NULL;
    int ret = io_uring_submit_and_wait_timeout(&core->ring, &cqe, 1, &ts, NULL);
    return ret == -ETIME ? 0 : ret;
}

rill_err loop_run(struct broker_core *core)
{
    loop_accept_arm(core);
    loop_tick_arm(core);
    loop_signal_arm(core);
    loop_disk_event_arm(core);
    while (!loop_done(core)) {
        int ret = loop_wait(core);
        /* This round reads the current topics view (broker.h): announce it for reclamation. */
        core->view = atomic_load_explicit(&core->broker->view, memory_order_acquire);
        atomic_store_explicit(&core->view_seen, core->view->version, memory_order_release);
        if (core->topics != NULL) {
            topics_reclaim(core->topics);
        }
        if (ret < 0 && ret != -EINTR && ret != -EBUSY) {
            DIAG_ERROR("net", "io_uring_submit_and_wait error=\"%s\"", strerror(-ret));
            return rill_err_from_errno(-ret);
        }
        struct io_uring_cqe *cqe = NULL;
        for (unsigned handled = 0; handled < LOOP_CQE_BATCH_MAX; handled++) {
            if (io_uring_peek_cqe(&core->ring, &cqe) != 0) {
                break;
            }
            /* Copied out so that handlers may submit (and the kernel reuse the entry). */
            struct io_uring_cqe copy = *cqe;
            io_uring_cqe_seen(&core->ring, cqe);
            loop_dispatch_cqe(core, &copy);
        }
        /* One write (and sync) per partition for everything this round appended: group
         * commit across requests. Then answer what the round made ready. */
        data_commit_all(core);
        pending_check(core, false);
    }
    DIAG_INFO("broker", "stopped");
    return RILL_OK;
}
