/*
 * pending.c - deferred answers (pending.h).
 */
#include "broker/pending.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/limits.h"
#include "broker/loop.h"
#include "broker/topics.h"

struct pending *pending_create(struct broker_core *core,
                               enum pending_kind kind,
                               const struct dispatch_origin *origin,
                               const struct proto_request_header *header,
                               int64_t deadline_ns)
{
    struct pending *pending = calloc(1, sizeof(*pending));
    if (pending == NULL) {
        return NULL;
    }
    pending->kind = kind;
    pending->origin = *origin;
    pending->header = *header;
    pending->deadline_ns = deadline_ns;
    /* The request's arrays move with it; the core starts a fresh arena for the next one. */
    pending->arena = core->arena;
    proto_arena_init(&core->arena, RILL_PROTO_ARENA_BYTES_MAX);
    pending->next = core->pending_first;
    if (core->pending_first != NULL) {
        core->pending_first->prev = pending;
    }
    core->pending_first = pending;
    core->pending_count++;
    return pending;
}

static void pending_destroy(struct broker_core *core, struct pending *pending)
{
    if (pending->prev != NULL) {
        pending->prev->next = pending->next;
    } else {
        core->pending_first = pending->next;
    }
    if (pending->next != NULL) {
        pending->next->prev = pending->prev;
    }
    core->pending_count--;
    if (pending->kind == PENDING_GROUP) {
        free(pending->group.frame);
    }
    proto_arena_deinit(&pending->arena);
    free(pending);
}

/* True when the target's partition reached what the produce waits for; sets the result's
 * error when the partition failed meanwhile. */
static bool produce_target_done(struct pending_target *target)
{
    struct log_partition *log = target->bp->log;
    if (log->failed != RILL_OK) {
        target->result->error = RILL_ERR_OFFLINE;
        return true;
    }
    if (log->offset_written < target->offset_end) {
        return false;
    }
    if (target->durable && log->offset_durable < target->offset_end) {
        /* Interval policies sync when their interval is up: give the log the chance. */
        rill_err err = log_partition_commit(log, false);
        if (err != RILL_OK && err != RILL_ERR_AGAIN) {
            target->result->error = err;
            return true;
        }
        return false;
    }
    return true;
}

/* Answers the produce when every target is done, or with ERR_TIMEOUT for the rest at the
 * deadline (or at shutdown, force). True when answered (pending freed). */
static bool
produce_check(struct broker_core *core, struct pending *pending, int64_t now_ns, bool force)
{
    bool all_done = true;
    for (uint32_t i = 0; i < pending->produce.target_count; i++) {
        struct pending_target *target = &pending->produce.targets[i];
        if (target->bp == NULL) {
            continue;
        }
        if (produce_target_done(target)) {
            target->bp = NULL;
        } else {
            all_done = false;
        }
    }
    if (!all_done && !force && now_ns < pending->deadline_ns) {
        return false;
    }
    for (uint32_t i = 0; i < pending->produce.target_count; i++) {
        struct pending_target *target = &pending->produce.targets[i];
        if (target->bp != NULL) {
            /* Appended but not acknowledged in time: the client must treat it as unknown. */
            target->result->error = force ? RILL_ERR_SHUTTING_DOWN : RILL_ERR_TIMEOUT;
            target->bp = NULL;
        }
    }
    union proto_response response = { .produce = pending->produce.response };
    dispatch_complete(core, &pending->origin, &pending->header, RILL_OK, &response);
    pending_destroy(core, pending);
    return true;
}

/* A group answer goes out once the offsets partition made its records durable; when the
 * partition failed, at the deadline or at shutdown (force) it gets a header error instead:
 * the changes are applied in memory and may or may not be stored, as with a lost answer. */
static void
group_check(struct broker_core *core, struct pending *pending, int64_t now_ns, bool force)
{
    struct log_partition *log = pending->group.bp->log;
    rill_err err = RILL_ERR_AGAIN;
    if (log == NULL || log->failed != RILL_OK) {
        err = RILL_ERR_OFFLINE;
    } else if (log->offset_durable >= pending->group.offset_end) {
        err = RILL_OK;
    } else if (log->offset_written >= pending->group.offset_end) {
        rill_err commit = log_partition_commit(log, false); /* let a due sync go out */
        err = commit != RILL_OK && commit != RILL_ERR_AGAIN ? commit : err;
    }
    if (err == RILL_ERR_AGAIN && (force || now_ns >= pending->deadline_ns)) {
        err = force ? RILL_ERR_SHUTTING_DOWN : RILL_ERR_TIMEOUT;
    }
    if (err == RILL_ERR_AGAIN) {
        return;
    }
    if (err == RILL_OK) {
        uint8_t *frame = pending->group.frame;
        pending->group.frame = NULL; /* taken */
        dispatch_complete_frame(core, &pending->origin, &pending->header,
                                pending->group.frame_error, frame, pending->group.frame_bytes);
    } else {
        dispatch_complete(core, &pending->origin, &pending->header, err, NULL);
    }
    pending_destroy(core, pending);
}

static void fetch_check(
    struct broker_core *core, struct pending *pending, int64_t now_ns, bool data_moved, bool force)
{
    /* A stopping broker answers long polls at once, so connections drain quickly. */
    if (!force && !core->stopping && now_ns < pending->deadline_ns &&
        (!data_moved || !fetch_ready(core, &pending->fetch.request))) {
        return;
    }
    fetch_answer(core, &pending->origin, &pending->header, &pending->fetch.request);
    pending_destroy(core, pending);
}

void pending_check(struct broker_core *core, bool force_fetch)
{
    if (core->pending_first == NULL) {
        return;
    }
    int64_t now_ns = rill_clock_mono_ns();
    bool data_moved = force_fetch || core->data_version != core->data_version_checked;
    core->data_version_checked = core->data_version;
    struct pending *next = NULL;
    for (struct pending *pending = core->pending_first; pending != NULL; pending = next) {
        next = pending->next;
        if (pending->kind == PENDING_PRODUCE) {
            (void)produce_check(core, pending, now_ns, false);
        } else if (pending->kind == PENDING_GROUP) {
            group_check(core, pending, now_ns, false);
        } else {
            fetch_check(core, pending, now_ns, data_moved, false);
        }
    }
}

int64_t pending_next_deadline_ns(const struct broker_core *core)
{
    int64_t earliest = -1;
    for (const struct pending *pending = core->pending_first; pending != NULL;
         pending = pending->next) {
        if (earliest < 0 || pending->deadline_ns < earliest) {
            earliest = pending->deadline_ns;
        }
    }
    return earliest;
}

void pending_forget_topic(struct broker_core *core,
                          const struct broker_partition *partitions,
                          int32_t partition_count)
{
    for (struct pending *pending = core->pending_first; pending != NULL; pending = pending->next) {
        if (pending->kind != PENDING_PRODUCE) {
            continue; /* fetches hold names, not partitions: they look the topic up again */
        }
        for (uint32_t i = 0; i < pending->produce.target_count; i++) {
            struct pending_target *target = &pending->produce.targets[i];
            if (target->bp != NULL && target->bp >= partitions &&
                target->bp < partitions + partition_count) {
                target->result->error = RILL_ERR_UNKNOWN_TOPIC;
                target->bp = NULL;
            }
        }
    }
}

void pending_flush_all(struct broker_core *core)
{
    int64_t now_ns = rill_clock_mono_ns();
    while (core->pending_first != NULL) {
        struct pending *pending = core->pending_first;
        if (pending->kind == PENDING_PRODUCE) {
            (void)produce_check(core, pending, now_ns, true);
        } else if (pending->kind == PENDING_GROUP) {
            group_check(core, pending, now_ns, true);
        } else {
            fetch_check(core, pending, now_ns, true, true);
        }
    }
}

void pending_cancel_fetch(struct broker_core *core, struct route *route, uint32_t part)
{
    for (struct pending *pending = core->pending_first; pending != NULL; pending = pending->next) {
        if (pending->kind == PENDING_FETCH && pending->origin.route == route &&
            pending->origin.route_part == part) {
            fetch_answer(core, &pending->origin, &pending->header, &pending->fetch.request);
            pending_destroy(core, pending);
            return;
        }
    }
}
