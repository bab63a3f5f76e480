/*
 * handlers_data.c - the data path: PRODUCE and FETCH, the core's commit pass (group commit
 * across requests) and its disk completions.
 *
 * Produce. Each partition's batches are validated (length, magic, CRC-32C, counts, size bound)
 * and checked against the producer's idempotence window before any is appended; appends only
 * stage bytes in the partition's buffer. The partition joins the core's commit list, and after
 * the round of completions that carried the request, data_commit_all() submits one write (with
 * a linked fdatasync when the flush policy wants one) per partition: every request of the round
 * shares it. The answer waits (pending.c) until the batches are written (acks=1) or durable
 * (acks=all on a topic whose flush policy syncs); acks=0 is not answered at all.
 *
 * Fetch. Whole stored batches are read from the segment (never decoded or re-encoded) up to
 * the high watermark, within partition_max_bytes and max_bytes except that each partition
 * returns at least one batch. Without enough data the request waits (long poll) until data
 * arrives or max_wait_ms passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "common/limits.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/handlers.h"
#include "broker/loop.h"
#include "broker/metrics.h"
#include "broker/pending.h"
#include "broker/topics.h"
#include "log/batch.h"

#define DATA_NS_PER_MS 1000000ll

/* ---------------------------------------------------------------------------------------- */
/* Commit list and disk completions                                                           */
/* ---------------------------------------------------------------------------------------- */

void data_commit_later(struct broker_core *core, struct broker_partition *bp)
{
    bp->append_last_ms = rill_clock_mono_ns() / DATA_NS_PER_MS;
    if (!bp->commit_pending) {
        bp->commit_pending = true;
        bp->commit_next = core->commit_first;
        core->commit_first = bp;
    }
}

/* Submits what every partition of the list staged since the last pass. */
void data_commit_all(struct broker_core *core)
{
    struct broker_partition *retry = NULL;
    struct broker_partition *next = NULL;
    for (struct broker_partition *bp = core->commit_first; bp != NULL; bp = next) {
        next = bp->commit_next;
        rill_err err = log_partition_commit(bp->log, false);
        if (err == RILL_ERR_AGAIN) {
            bp->commit_next = retry; /* the ring is full: try again next round */
            retry = bp;
            continue;
        }
        if (err != RILL_OK) {
            DIAG_ERROR("data", "commit topic=%s partition=%d: %s", bp->topic->name, (int)bp->index,
                       rill_err_str(err));
        }
        bp->commit_pending = false;
        bp->commit_next = NULL;
        topics_publish_partition(bp);
    }
    core->commit_first = retry;
}

/* Reaps every disk completion of the core and hands each to its partition. */
void data_disk_reap(struct broker_core *core)
{
    struct log_io_completion completions[64];
    for (;;) {
        unsigned count = 0;
        rill_err err = core->io->ops->reap(core->io, completions,
                                           (unsigned)RILL_ARRAY_COUNT(completions), false, &count);
        if (err != RILL_OK) {
            DIAG_ERROR("data", "disk reap failed: %s", rill_err_str(err));
            return;
        }
        for (unsigned i = 0; i < count; i++) {
            struct log_partition *log = completions[i].owner;
            log_partition_on_completion(log, &completions[i]);
            topics_publish_partition(log->opaque);
        }
        if (count > 0) {
            core->data_version++;
        }
        if (count < RILL_ARRAY_COUNT(completions)) {
            return;
        }
    }
}

void data_forget_topic(struct broker_core *core, struct broker_topic *topic)
{
    struct broker_partition **link = &core->commit_first;
    while (*link != NULL) {
        struct broker_partition *bp = *link;
        if (bp->topic == topic) {
            *link = bp->commit_next;
            bp->commit_pending = false;
            bp->commit_next = NULL;
        } else {
            link = &bp->commit_next;
        }
    }
    pending_forget_topic(core, topic->partitions, topic->partition_count);
}

/* The open partition number index of topic (from this core's view), or NULL: unknown, or its
 * topic is being deleted (its logs closed). */
static struct broker_partition *data_partition(struct broker_topic *topic, int32_t index)
{
    if (topic == NULL || index < 0 || index >= topic->partition_count ||
        topic->partitions[index].log == NULL) {
        return NULL;
    }
    return &topic->partitions[index];
}

/* A partition without appends for this long gives its staging buffers back (2 x 1 MiB); a
 * core without appends for this long empties its staging pool. */
#define DATA_IDLE_RELEASE_MS 5000

/* Idle staging buffers a core keeps for its partitions' next writes (1 MiB each). */
#define DATA_STAGING_POOL_KEEP 8u

/* One staging pool per core (log/partition.h), used only by that core's thread (one broker per
 * process, as rilld runs it). */
static struct log_staging_pool data_staging_pools[BROKER_CORES_MAX];

static struct log_staging_pool *data_staging_pool(const struct broker_core *core)
{
    RILL_ASSERT(core->core_index < BROKER_CORES_MAX);
    struct log_staging_pool *pool = &data_staging_pools[core->core_index];
    if (pool->buffer_bytes == 0) {
        pool->buffer_bytes = (size_t)1 << 20; /* log_partition_staging_bytes() by default */
        pool->free_max = DATA_STAGING_POOL_KEEP;
    }
    return pool;
}

/*
 * The cleaner of compacted topics (log/compact.c) runs on the owner core, between rounds, from
 * the tick: at most one partition per tick, so a long pass delays this core's requests by one
 * pass at most, and the partitions take turns (cursor over the view).
 */
void data_compact_tick(struct broker_core *core)
{
    const struct topics_view *view = core->view;
    if (view == NULL || view->topic_count == 0) {
        return;
    }
    int64_t now_ms = rill_clock_wall_ms();
    uint64_t total = 0;
    for (uint32_t t = 0; t < view->topic_count; t++) {
        total += (uint64_t)view->topics[t]->partition_count;
    }
    for (uint64_t step = 0; step < total; step++) {
        uint64_t index = (core->compact_cursor + step) % total;
        struct broker_partition *bp = NULL;
        for (uint32_t t = 0; t < view->topic_count; t++) {
            struct broker_topic *topic = view->topics[t];
            if (index < (uint64_t)topic->partition_count) {
                bp = &topic->partitions[index];
                break;
            }
            index -= (uint64_t)topic->partition_count;
        }
        if (bp == NULL || bp->core_index != core->core_index || bp->log == NULL ||
            !log_partition_compact_due(bp->log, now_ms)) {
            continue;
        }
        core->compact_cursor = (core->compact_cursor + step + 1) % total;
        struct log_compact_stats stats;
        rill_err err = log_partition_compact(bp->log, now_ms, &stats);
        if (err != RILL_OK) {
            DIAG_ERROR("compact", "topic=%s partition=%d: %s", bp->topic->name, (int)bp->index,
                       rill_err_str(err));
        } else if (stats.segments_rewritten > 0) {
            DIAG_INFO(
                "compact",
                "topic=%s partition=%d segments=%u kept=%llu dropped=%llu bytes=%llu->%llu",
                bp->topic->name, (int)bp->index, stats.segments_rewritten,
                (unsigned long long)stats.records_kept, (unsigned long long)stats.records_dropped,
                (unsigned long long)stats.bytes_before, (unsigned long long)stats.bytes_after);
        }
        metrics_add(&bp->stats.compactions, 1);
        topics_publish_partition(bp);
        return;
    }
}

void data_idle_release(struct broker_core *core)
{
    const struct topics_view *view = core->view;
    if (view == NULL) {
        return;
    }
    int64_t now_ms = rill_clock_mono_ns() / DATA_NS_PER_MS;
    bool appending = false;
    for (uint32_t t = 0; t < view->topic_count; t++) {
        struct broker_topic *topic = view->topics[t];
        for (int32_t p = 0; p < topic->partition_count; p++) {
            struct broker_partition *bp = &topic->partitions[p];
            if (bp->core_index != core->core_index || bp->log == NULL) {
                continue;
            }
            if (!bp->commit_pending && now_ms - bp->append_last_ms >= DATA_IDLE_RELEASE_MS) {
                (void)log_partition_release_staging(bp->log);
            } else {
                appending = true;
            }
        }
    }
    if (!appending) {
        log_staging_pool_trim(data_staging_pool(core), 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* PRODUCE                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Validates every batch of a partition's bytes (without appending). */
static rill_err produce_validate(const struct broker_core *core,
                                 const struct broker_partition *bp,
                                 const uint8_t *data,
                                 size_t bytes,
                                 uint32_t *out_batch_count)
{
    if (bytes == 0) {
        return RILL_ERR_BAD_BATCH;
    }
    uint32_t count = 0;
    for (size_t position = 0; position < bytes; count++) {
        struct log_batch_header hdr;
        rill_err err = log_batch_header_decode(data + position, bytes - position, &hdr);
        if (err != RILL_OK) {
            return RILL_ERR_BAD_BATCH;
        }
        size_t total = log_batch_total_bytes(&hdr);
        if (total > bp->log->cfg.batch_bytes_max) {
            return RILL_ERR_TOO_LARGE;
        }
        if (total > bytes - position) {
            return RILL_ERR_BAD_BATCH;
        }
        err = log_batch_validate(data + position, total, true, &hdr);
        if (err != RILL_OK) {
            return err;
        }
        if (hdr.attributes & (LOG_BATCH_ATTR_TRANSACTIONAL | LOG_BATCH_ATTR_CONTROL)) {
            return RILL_ERR_UNSUPPORTED; /* transactions are not supported */
        }
        if (hdr.producer_id >= 0 &&
            hdr.producer_id >=
                atomic_load_explicit(&core->broker->producer_id_next, memory_order_relaxed)) {
            return RILL_ERR_UNKNOWN_PRODUCER;
        }
        if (hdr.producer_id >= 0 && (hdr.producer_epoch < 0 || hdr.sequence_base < 0)) {
            return RILL_ERR_BAD_BATCH;
        }
        position += total;
    }
    *out_batch_count = count;
    return RILL_OK;
}

/* Appends one batch produce_validate() checked (CRC and records are not walked a second
 * time), waiting for a staging buffer when both are busy. */
static rill_err produce_append_one(struct log_partition *log,
                                   uint8_t *batch,
                                   size_t bytes,
                                   int64_t *out_offset_base)
{
    for (;;) {
        rill_err err = log_partition_append_validated(log, batch, bytes, out_offset_base);
        if (err != RILL_ERR_AGAIN) {
            return err;
        }
        /* Both buffers are busy: one write is in flight, so a completion will come. This waits
         * on the disk only, for one staging buffer's write (docs/architecture.md). */
        err = log_partition_poll(log, true);
        if (err != RILL_OK) {
            return err;
        }
    }
}

/*
 * Appends a partition's batches. *out_offset_base is the offset of the first (the original one
 * for an idempotent duplicate); *out_offset_end is one past the last record appended or found.
 */
static rill_err produce_partition(struct broker_core *core,
                                  struct broker_partition *bp,
                                  uint8_t *data,
                                  size_t bytes,
                                  int64_t *out_offset_base,
                                  int64_t *out_offset_end)
{
    struct log_partition *log = bp->log;
    if (log->failed != RILL_OK) {
        return RILL_ERR_OFFLINE;
    }
    uint32_t batch_count = 0;
    rill_err err = produce_validate(core, bp, data, bytes, &batch_count);
    if (err != RILL_OK) {
        return err;
    }
    if (log->staging_pool == NULL && !log->staging[0].in_flight && !log->staging[1].in_flight &&
        log->staging[0].used_bytes == 0 && log->staging[1].used_bytes == 0) {
        log_partition_use_staging_pool(log, data_staging_pool(core));
    }
    int64_t first_base = -1;
    int64_t end = -1;
    for (size_t position = 0; position < bytes;) {
        struct log_batch_header hdr;
        err = log_batch_header_decode(data + position, bytes - position, &hdr);
        RILL_ASSERT(err == RILL_OK);
        size_t total = log_batch_total_bytes(&hdr);
        int64_t base = -1;
        if (hdr.producer_id >= 0) {
            err = producer_table_check(&bp->producers, hdr.producer_id, hdr.producer_epoch,
                                       hdr.sequence_base, hdr.record_count, &base);
            if (err == RILL_ERR_DUPLICATE_SEQUENCE) {
                metrics_add(&bp->stats.produce_duplicates, 1);
                first_base = first_base < 0 ? base : first_base;
                if (base + hdr.record_count > end) {
                    end = base + hdr.record_count;
                }
                position += total;
                continue;
            }
            if (err != RILL_OK) {
                return err;
            }
        }
        err = produce_append_one(log, data + position, total, &base);
        if (err != RILL_OK) {
            return err;
        }
        if (hdr.producer_id >= 0) {
            err = producer_table_record(&bp->producers, hdr.producer_id, hdr.producer_epoch,
                                        hdr.sequence_base, hdr.record_count, base);
            if (err != RILL_OK) {
                return err;
            }
        }
        first_base = first_base < 0 ? base : first_base;
        end = base + hdr.record_count;
        metrics_add(&bp->stats.produce_batches, 1);
        metrics_add(&bp->stats.produce_records, (uint64_t)hdr.record_count);
        metrics_add(&bp->stats.produce_bytes, total);
        position += total;
    }
    data_commit_later(core, bp);
    *out_offset_base = first_base;
    *out_offset_end = end;
    return RILL_OK;
}

static const char data_internal_message[] =
    "internal topic: written by the broker only (consumer offsets are committed with "
    "OFFSET_COMMIT)";

/* Copies the topic names of a produce response into the arena (they point into the frame). */
static rill_err produce_keep_names(struct proto_arena *arena, struct proto_produce_response *out)
{
    for (uint32_t t = 0; t < out->topic_count; t++) {
        struct proto_str *name = &out->topics[t].name;
        char *copy = handler_strdup(arena, name->ptr, name->bytes);
        if (copy == NULL) {
            return arena->err;
        }
        name->ptr = copy;
    }
    return RILL_OK;
}

rill_err handle_produce(struct broker_core *core,
                        const struct dispatch_origin *origin,
                        const struct proto_request_header *header,
                        const union proto_request *request,
                        union proto_response *response)
{
    const struct proto_produce_request *req = &request->produce;
    struct proto_produce_response *out = &response->produce;
    struct proto_arena *arena = &core->arena;
    uint32_t partition_total = 0;
    for (uint32_t t = 0; t < req->topic_count; t++) {
        partition_total += req->topics[t].partition_count;
    }
    struct pending_target *targets =
        partition_total > 0 ? proto_arena_alloc(arena, partition_total, sizeof(*targets)) : NULL;
    if (req->topic_count > 0) {
        out->topics = proto_arena_alloc(arena, req->topic_count, sizeof(*out->topics));
    }
    if ((partition_total > 0 && targets == NULL) || (req->topic_count > 0 && out->topics == NULL)) {
        return arena->err;
    }
    out->topic_count = req->topic_count;
    uint32_t target_count = 0;
    for (uint32_t t = 0; t < req->topic_count; t++) {
        const struct proto_produce_topic *in = &req->topics[t];
        struct proto_produce_topic_result *result = &out->topics[t];
        result->name = in->name;
        result->partition_count = in->partition_count;
        if (in->partition_count > 0) {
            result->partitions =
                proto_arena_alloc(arena, in->partition_count, sizeof(*result->partitions));
            if (result->partitions == NULL) {
                return arena->err;
            }
        }
        struct broker_topic *topic = topics_view_find(core->view, in->name.ptr, in->name.bytes);
        for (uint32_t p = 0; p < in->partition_count; p++) {
            const struct proto_produce_partition *part_in = &in->partitions[p];
            struct proto_produce_partition_result *part_out = &result->partitions[p];
            part_out->partition = part_in->partition;
            part_out->base_offset = -1;
            part_out->log_start_offset = -1;
            struct broker_partition *bp = NULL;
            rill_err err = RILL_OK;
            if (topics_internal(in->name.ptr, in->name.bytes)) {
                err = RILL_ERR_INVALID_TOPIC;
                part_out->message = (struct proto_str){ data_internal_message,
                                                        (uint32_t)strlen(data_internal_message) };
            } else if (topic == NULL || (bp = data_partition(topic, part_in->partition)) == NULL) {
                err = topic == NULL || (part_in->partition >= 0 &&
                                        part_in->partition < topic->partition_count)
                          ? RILL_ERR_UNKNOWN_TOPIC
                          : RILL_ERR_UNKNOWN_PARTITION;
            } else {
                RILL_ASSERT(bp->core_index == core->core_index);
                int64_t end = -1;
                /* The batches are appended in place of the receive buffer: the log overwrites
                 * base offset and leader epoch (outside the CRC) before copying them. */
                err = produce_partition(core, bp, (uint8_t *)(uintptr_t)part_in->batches.ptr,
                                        part_in->batches.bytes, &part_out->base_offset, &end);
                part_out->log_start_offset = bp->log->offset_start;
                if (err == RILL_OK && req->acks != 0) {
                    bool syncing = bp->log->cfg.flush != LOG_FLUSH_OS;
                    targets[target_count++] = (struct pending_target){
                        .bp = bp,
                        .offset_end = end,
                        .durable = req->acks == -1 && syncing,
                        .result = part_out,
                    };
                }
                if (err != RILL_OK) {
                    metrics_add(&bp->stats.produce_errors, 1);
                }
            }
            part_out->error = (int32_t)err;
        }
    }
    if (req->acks == 0) {
        return RILL_ERR_END; /* not answered */
    }
    if (target_count == 0) {
        return RILL_OK;
    }
    rill_err err = produce_keep_names(arena, out);
    if (err != RILL_OK) {
        return err;
    }
    int64_t deadline = origin->start_ns + (int64_t)req->timeout_ms * DATA_NS_PER_MS;
    struct pending *pending = pending_create(core, PENDING_PRODUCE, origin, header, deadline);
    if (pending == NULL) {
        return RILL_ERR_NOMEM;
    }
    pending->produce.response = *out;
    pending->produce.targets = targets;
    pending->produce.target_count = target_count;
    return RILL_ERR_AGAIN;
}

/* ---------------------------------------------------------------------------------------- */
/* FETCH                                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* Bytes from offset to the end of the partition (an estimate that may exceed the truth by one
 * index interval), for min_bytes. */
static uint64_t fetch_bytes_available(const struct broker_partition *bp, int64_t offset)
{
    const struct log_partition *log = bp->log;
    int64_t high = topics_high_watermark(bp);
    if (offset >= high || offset < log->offset_start) {
        return 0;
    }
    uint32_t index = log_partition_segment_find(log, offset);
    uint64_t bytes = 0;
    for (uint32_t i = index; i < log->segment_count; i++) {
        const struct log_segment *seg = log->segments[i];
        uint64_t from = 0;
        if (i == index && offset > seg->offset_base) {
            uint32_t entry = 0;
            from = log_index_lookup_entry(&seg->idx, (uint32_t)(offset - seg->offset_base), &entry);
        }
        bytes += seg->bytes_written > from ? seg->bytes_written - from : 0;
    }
    return bytes > 0 ? bytes : 1;
}

bool fetch_ready(struct broker_core *core, const struct proto_fetch_request *request)
{
    uint64_t available = 0;
    uint64_t wanted = request->min_bytes > 0 ? (uint64_t)request->min_bytes : 1;
    for (uint32_t t = 0; t < request->topic_count; t++) {
        const struct proto_fetch_topic *in = &request->topics[t];
        struct broker_topic *topic = topics_view_find(core->view, in->name.ptr, in->name.bytes);
        for (uint32_t p = 0; p < in->partition_count; p++) {
            const struct proto_fetch_partition *part = &in->partitions[p];
            const struct broker_partition *bp = data_partition(topic, part->partition);
            if (bp == NULL) {
                return true; /* an error to report */
            }
            if (bp->log->failed != RILL_OK || part->offset < bp->log->offset_start ||
                part->offset > topics_high_watermark(bp)) {
                return true;
            }
            available += fetch_bytes_available(bp, part->offset);
            if (available >= wanted) {
                return true;
            }
        }
    }
    return false;
}

/* Length of the whole batches at the front of buf that end at or below high. */
static size_t fetch_trim(const uint8_t *buf, size_t bytes, int64_t high)
{
    size_t used = 0;
    while (bytes - used >= LOG_BATCH_HEADER_BYTES) {
        struct log_batch_header hdr;
        if (log_batch_header_decode(buf + used, bytes - used, &hdr) != RILL_OK ||
            log_batch_total_bytes(&hdr) > bytes - used || log_batch_offset_last(&hdr) >= high) {
            break;
        }
        used += log_batch_total_bytes(&hdr);
    }
    return used;
}

/* Fills one partition's result fields and, when there is something to read, *out_plan (then
 * true): at most budget bytes - but at least one batch, unless the budget is spent and the
 * response already carries data (first false). */
static bool fetch_partition_plan(struct broker_topic *topic,
                                 const struct proto_fetch_partition *in,
                                 uint64_t budget,
                                 bool first,
                                 struct proto_fetch_partition_result *out,
                                 struct broker_partition **out_bp,
                                 struct log_read_plan *out_plan)
{
    *out = (struct proto_fetch_partition_result){ .partition = in->partition,
                                                  .high_watermark = -1,
                                                  .log_start_offset = -1 };
    struct broker_partition *bp = data_partition(topic, in->partition);
    if (bp == NULL) {
        bool exists = topic != NULL && in->partition >= 0 && in->partition < topic->partition_count;
        out->error = topic == NULL || exists ? RILL_ERR_UNKNOWN_TOPIC : RILL_ERR_UNKNOWN_PARTITION;
        return false;
    }
    struct log_partition *log = bp->log;
    int64_t high = topics_high_watermark(bp);
    out->high_watermark = high;
    out->log_start_offset = log->offset_start;
    metrics_add(&bp->stats.fetch_requests, 1);
    if (log->failed != RILL_OK) {
        out->error = RILL_ERR_OFFLINE;
        return false;
    }
    if (in->offset < log->offset_start || in->offset > high) {
        out->error = RILL_ERR_OFFSET_OUT_OF_RANGE;
        return false;
    }
    if (in->offset == high || (budget == 0 && !first)) {
        return false; /* nothing to read, or the response is full: the client asks again */
    }
    uint64_t want =
        (uint64_t)in->partition_max_bytes < budget ? (uint64_t)in->partition_max_bytes : budget;
    rill_err err = log_partition_read_plan(log, in->offset, (size_t)want, out_plan);
    if (err != RILL_OK && err != RILL_ERR_END) {
        out->error = err;
    }
    *out_bp = bp;
    return err == RILL_OK;
}

/*
 * Writes one partition's result into the response frame, its batches read from the segment
 * straight into the frame (one copy: page cache to frame; the kernel's send is the other).
 * *out_got is the batch bytes it carries. An error here is the whole response's.
 */
static rill_err fetch_partition_write(struct broker_topic *topic,
                                      const struct proto_fetch_partition *in,
                                      uint64_t budget,
                                      bool first,
                                      struct mp_writer *writer,
                                      uint64_t *out_got)
{
    struct proto_fetch_partition_result result;
    struct broker_partition *bp = NULL;
    struct log_read_plan plan;
    bool reading = fetch_partition_plan(topic, in, budget, first, &result, &bp, &plan);
    size_t start = writer->bytes;
    size_t bin_position = 0;
    if (!proto_fetch_partition_begin(writer, &result, &bin_position)) {
        return writer->err;
    }
    size_t got = 0;
    if (reading) {
        uint8_t *dst = mp_writer_claim(writer, plan.bytes);
        if (dst == NULL) {
            return writer->err;
        }
        rill_err err = log_partition_read_into(bp->log, &plan, dst, &got);
        if (err == RILL_OK) {
            got = fetch_trim(dst, got, result.high_watermark);
            if (got > RILL_FRAME_BYTES_MAX / 2) {
                got = 0; /* cannot happen with batch bounds below the frame bound; stay safe */
            }
            mp_writer_truncate(writer, bin_position + got);
        } else {
            /* The read failed: this partition answers the error, without batches. */
            got = 0;
            result.error = err;
            mp_writer_truncate(writer, start);
            if (!proto_fetch_partition_begin(writer, &result, &bin_position)) {
                return writer->err;
            }
        }
        metrics_add(&bp->stats.fetch_bytes, got);
    }
    proto_fetch_partition_end(writer, bin_position);
    *out_got = got;
    return RILL_OK;
}

/* Writes the whole FETCH response frame (header and body) into writer. */
static rill_err fetch_write(struct broker_core *core,
                            const struct proto_request_header *header,
                            const struct proto_fetch_request *request,
                            struct mp_writer *writer)
{
    struct proto_response_header response_header = { .correlation_id = header->correlation_id };
    rill_err err = proto_frame_begin(writer);
    if (err == RILL_OK) {
        err = proto_response_header_encode(writer, &response_header);
    }
    if (err != RILL_OK) {
        return err;
    }
    if (!proto_fetch_response_begin(writer, request->topic_count)) {
        return writer->err;
    }
    /* The response stays within max_bytes, except that a partition may return one batch larger
     * than what is left (docs/protocol.md); once nothing is left, later partitions return
     * nothing. The budget leaves room in a frame for that one batch. */
    uint64_t budget = (uint64_t)request->max_bytes;
    uint64_t budget_max = RILL_FRAME_BYTES_MAX - RILL_BATCH_BYTES_MAX - (1u << 20);
    budget = budget < budget_max ? budget : budget_max;
    uint64_t sent = 0;
    for (uint32_t t = 0; t < request->topic_count; t++) {
        const struct proto_fetch_topic *in = &request->topics[t];
        if (!proto_fetch_topic_begin(writer, &in->name, in->partition_count)) {
            return writer->err;
        }
        if (in->partition_count == 0) {
            continue;
        }
        struct broker_topic *topic = topics_view_find(core->view, in->name.ptr, in->name.bytes);
        for (uint32_t p = 0; p < in->partition_count; p++) {
            uint64_t got = 0;
            err = fetch_partition_write(topic, &in->partitions[p], budget, sent == 0, writer, &got);
            if (err != RILL_OK) {
                return err;
            }
            budget = got < budget ? budget - got : 0;
            sent += got;
        }
    }
    return proto_frame_end(writer);
}

void fetch_answer(struct broker_core *core,
                  const struct dispatch_origin *origin,
                  const struct proto_request_header *header,
                  const struct proto_fetch_request *request)
{
    struct mp_writer writer;
    mp_writer_init(&writer, PROTO_FRAME_PREFIX_BYTES + (size_t)RILL_FRAME_BYTES_MAX);
    rill_err err = fetch_write(core, header, request, &writer);
    if (err != RILL_OK) {
        /* Out of memory (or a frame bound): the request is answered with the error alone. */
        mp_writer_deinit(&writer);
        union proto_response none;
        memset(&none, 0, sizeof(none));
        dispatch_complete(core, origin, header, err, &none);
        return;
    }
    RILL_ASSERT(writer.bytes <= UINT32_MAX);
    dispatch_complete_frame(core, origin, header, RILL_OK, writer.data, (uint32_t)writer.bytes);
}

/* Copies the names of a fetch request into the arena (they point into the frame). */
static rill_err fetch_keep_names(struct proto_arena *arena, struct proto_fetch_request *request)
{
    for (uint32_t t = 0; t < request->topic_count; t++) {
        struct proto_str *name = &request->topics[t].name;
        char *copy = handler_strdup(arena, name->ptr, name->bytes);
        if (copy == NULL) {
            return arena->err;
        }
        name->ptr = copy;
    }
    return RILL_OK;
}

rill_err handle_fetch(struct broker_core *core,
                      const struct dispatch_origin *origin,
                      const struct proto_request_header *header,
                      const union proto_request *request,
                      union proto_response *response)
{
    (void)response;
    const struct proto_fetch_request *req = &request->fetch;
    if (req->max_wait_ms == 0 || core->stopping || fetch_ready(core, req)) {
        fetch_answer(core, origin, header, req);
        return RILL_ERR_AGAIN; /* answered through the slot already */
    }
    struct proto_fetch_request copy = *req;
    rill_err err = fetch_keep_names(&core->arena, &copy);
    if (err != RILL_OK) {
        return err;
    }
    int64_t deadline = origin->start_ns + (int64_t)req->max_wait_ms * DATA_NS_PER_MS;
    struct pending *pending = pending_create(core, PENDING_FETCH, origin, header, deadline);
    if (pending == NULL) {
        return RILL_ERR_NOMEM;
    }
    pending->fetch.request = copy;
    return RILL_ERR_AGAIN;
}

/* ---------------------------------------------------------------------------------------- */
/* Per-partition metrics                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* One per-partition family: how to read its value from a partition. */
struct data_metric {
    const char *name;
    const char *type;
    const char *help;
    int64_t (*value)(struct broker_partition *bp);
};

#define DATA_STAT(field)                                          \
    static int64_t data_stat_##field(struct broker_partition *bp) \
    {                                                             \
        return (int64_t)metrics_get(&bp->stats.field);            \
    }
DATA_STAT(produce_batches)
DATA_STAT(produce_records)
DATA_STAT(produce_bytes)
DATA_STAT(produce_errors)
DATA_STAT(produce_duplicates)
DATA_STAT(fetch_requests)
DATA_STAT(fetch_bytes)
DATA_STAT(compactions)
#undef DATA_STAT

#define DATA_PUBLISHED(field)                                                             \
    static int64_t data_published_##field(struct broker_partition *bp)                    \
    {                                                                                     \
        return (int64_t)atomic_load_explicit(&bp->published.field, memory_order_relaxed); \
    }
DATA_PUBLISHED(start_offset)
DATA_PUBLISHED(high_watermark)
DATA_PUBLISHED(durable_offset)
DATA_PUBLISHED(size_bytes)
DATA_PUBLISHED(offline)
#undef DATA_PUBLISHED

static const struct data_metric data_metrics[] = {
    { "rill_partition_produced_batches_total", "counter", "Batches appended to the partition.",
      data_stat_produce_batches },
    { "rill_partition_produced_records_total", "counter", "Records appended to the partition.",
      data_stat_produce_records },
    { "rill_partition_produced_bytes_total", "counter", "Batch bytes appended to the partition.",
      data_stat_produce_bytes },
    { "rill_partition_produce_errors_total", "counter",
      "Produce requests for the partition refused or failed.", data_stat_produce_errors },
    { "rill_partition_produce_duplicates_total", "counter",
      "Idempotent retries answered with their original offset, not appended.",
      data_stat_produce_duplicates },
    { "rill_partition_fetch_requests_total", "counter", "Fetches that read the partition.",
      data_stat_fetch_requests },
    { "rill_partition_fetched_bytes_total", "counter", "Batch bytes sent by fetches.",
      data_stat_fetch_bytes },
    { "rill_partition_compactions_total", "counter",
      "Cleaning passes of the compaction cleaner over the partition.", data_stat_compactions },
    { "rill_partition_start_offset", "gauge", "Lowest offset still stored.",
      data_published_start_offset },
    { "rill_partition_high_watermark", "gauge", "Offset below which consumers may read.",
      data_published_high_watermark },
    { "rill_partition_durable_offset", "gauge", "Offset below which records are on stable storage.",
      data_published_durable_offset },
    { "rill_partition_size_bytes", "gauge", "Bytes of the partition's segments.",
      data_published_size_bytes },
    { "rill_partition_offline", "gauge", "1 when the partition's log failed a write or sync.",
      data_published_offline },
};

/* metrics_core.render_extra: one family per metric, one sample per partition. */
void data_metrics_render(struct broker_core *core, struct metrics_text *text)
{
    const struct broker_topics *topics = core->topics;
    if (topics == NULL) {
        return;
    }
    const struct broker *broker = core->broker;
    metrics_text_family(text, "rill_core_requests_routed_total", "counter",
                        "Requests read on a core and split or forwarded to the cores owning "
                        "their partitions (or to core 0 for metadata).");
    for (unsigned c = 0; c < broker->core_count; c++) {
        char label[16];
        snprintf(label, sizeof(label), "%u", c);
        struct metrics_label core_label = { "core", label };
        metrics_text_u64(text, "rill_core_requests_routed_total", &core_label, 1,
                         metrics_get(&broker->cores[c]->requests_routed));
    }
    metrics_text_family(text, "rill_core_messages_sent_total", "counter",
                        "Messages posted to other cores.");
    for (unsigned c = 0; c < broker->core_count; c++) {
        char label[16];
        snprintf(label, sizeof(label), "%u", c);
        struct metrics_label core_label = { "core", label };
        metrics_text_u64(text, "rill_core_messages_sent_total", &core_label, 1,
                         metrics_get(&broker->cores[c]->messages_sent));
    }
    group_wire_metrics_render(core, text);
    for (size_t m = 0; m < RILL_ARRAY_COUNT(data_metrics); m++) {
        const struct data_metric *metric = &data_metrics[m];
        metrics_text_family(text, metric->name, metric->type, metric->help);
        for (uint32_t t = 0; t < topics->topic_count; t++) {
            struct broker_topic *topic = topics->topics[t];
            for (int32_t p = 0; p < topic->partition_count; p++) {
                metrics_text_partition(text, metric->name, topic->name, p,
                                       metric->value(&topic->partitions[p]));
            }
        }
    }
}
