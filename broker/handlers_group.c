/*
 * handlers_group.c - the consumer group apis 10-18, served on core 0 by the coordinator of
 * consumer/group.h, and the coordinator's durable side: the offsets topic.
 *
 * The coordinator is a pure state machine; this file feeds it the decoded requests with the
 * clocks and the peer address, and gives it the broker's topics (struct group_topics) and a
 * sink for committed-offset changes (struct group_sink). Group apis read on another core are
 * forwarded to core 0 whole (route.c), like the metadata apis.
 *
 * Offsets topic. "__consumer_offsets" is an internal topic (created by core 0 at start when
 * missing, through the metadata log like any topic): one partition, cleanup.policy=compact,
 * flush=always, owned by core 0 (topics_owner_core), so the coordinator appends locally. Each
 * change is one record (key [1, group, topic, partition], value [offset, metadata?, wall ms] or
 * null for a deleted offset: group_record_*); the records one call of the coordinator emits
 * go into one uncompressed RecordBatch v2 (a new batch starts when one would pass the topic's
 * max.batch.bytes), appended through the data path's append and group commit (the core's commit
 * list), so they share the write and sync of everything else the round appended. A request
 * that changed offsets is answered once its records are durable: its response is encoded at
 * once and waits as a PENDING_GROUP (pending.c) for the partition's durable end.
 *
 * Loading. Before core 0 serves anything, the partition is read from its start to its end,
 * batch by batch with a bounded buffer through the ordinary read path, and every record is
 * replayed into group_coord_load in log order. Records that do not decode (or a batch whose
 * CRC fails) are logged and skipped, and counted in /metrics.
 *
 * Time: the coordinator's tick runs from core 0's periodic tick (at most GROUP_TICK_MS apart,
 * loop.c); topic creations and deletions call group_wire_topics_changed.
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
#include "broker/conn.h"
#include "broker/handlers.h"
#include "broker/loop.h"
#include "broker/metrics.h"
#include "broker/pending.h"
#include "broker/topics.h"
#include "consumer/group.h"
#include "log/batch.h"

#define GROUP_NS_PER_MS 1000000ll

/* Bound of the wait for a group answer's records to become durable: past it the request is
 * answered ERR_TIMEOUT (the changes may or may not be stored, like a lost answer). */
#define GROUP_DURABLE_WAIT_MS 30000

/* Bytes read per step when the offsets topic is loaded (a larger batch is read whole). */
#define GROUP_LOAD_READ_BYTES (1u << 20)

/* Bounds of the coordinator that are not settings (group.h defaults). */
#define GROUP_GROUPS_MAX  100000u
#define GROUP_OFFSETS_MAX 1000000u

/* Per kind of record refused at load, how many are logged one by one (then only counted). */
#define GROUP_LOAD_LOG_MAX 10u

/* Segments of the offsets topic: small enough that the cleaner's default key map (16 MiB,
 * about 520,000 keys) takes a whole segment of the smallest records, so compaction keeps up. */
#define GROUP_OFFSETS_SEGMENT_BYTES "8388608"

struct group_wire {
    struct broker_core *core;         /* core 0 */
    struct group_coord *coord;        /* the state machine */
    struct group_topics topics;       /* what the coordinator asks about topics (ctx: this) */
    struct group_sink sink;           /* where its offset changes go (ctx: this) */
    struct broker_partition *offsets; /* __consumer_offsets-0; never deleted */
    struct log_batch_builder bld;     /* records of the current coordinator call */
    uint32_t bld_records;             /* records in bld */
    int64_t call_end;                 /* end offset of the last batch the call appended; -1 */
    /* Figures for /metrics (read on core 0, which renders them). */
    uint64_t records_appended; /* records appended to the offsets topic since start */
    uint64_t append_errors;    /* batches that could not be appended */
    uint64_t load_records;     /* records replayed at start */
    uint64_t load_corrupt;     /* records (or unreadable batches) skipped at start */
    uint64_t load_refused;     /* records the coordinator refused at start (bounds) */
    int64_t load_ms;           /* how long loading took */
};

static int64_t group_mono_ms(void)
{
    return rill_clock_mono_ns() / GROUP_NS_PER_MS;
}

/* ---------------------------------------------------------------------------------------- */
/* The coordinator's view of the topics (core 0's table)                                     */
/* ---------------------------------------------------------------------------------------- */

static int32_t group_topic_partitions(void *ctx, const char *name, uint32_t name_bytes)
{
    struct group_wire *gw = ctx;
    const struct broker_topic *topic = topics_find(gw->core->topics, name, name_bytes);
    return topic != NULL ? topic->partition_count : -1;
}

static void
group_topic_each(void *ctx,
                 void (*fn)(void *arg, const char *name, uint32_t name_bytes, int32_t partitions),
                 void *arg)
{
    struct group_wire *gw = ctx;
    const struct broker_topics *topics = gw->core->topics;
    for (uint32_t i = 0; i < topics->topic_count; i++) {
        const struct broker_topic *topic = topics->topics[i];
        fn(arg, topic->name, (uint32_t)strlen(topic->name), topic->partition_count);
    }
}

/* Bounds as the partition's owner published them: it may be another core. */
static rill_err group_topic_bounds(void *ctx,
                                   const char *name,
                                   uint32_t name_bytes,
                                   int32_t partition,
                                   int64_t *start,
                                   int64_t *end)
{
    struct group_wire *gw = ctx;
    const struct broker_topic *topic = topics_find(gw->core->topics, name, name_bytes);
    if (topic == NULL) {
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    if (partition < 0 || partition >= topic->partition_count) {
        return RILL_ERR_UNKNOWN_PARTITION;
    }
    const struct broker_partition_published *pub = &topic->partitions[partition].published;
    *start = atomic_load_explicit(&pub->start_offset, memory_order_relaxed);
    *end = atomic_load_explicit(&pub->high_watermark, memory_order_relaxed);
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* The sink: offset changes into batches of the offsets topic                                 */
/* ---------------------------------------------------------------------------------------- */

/* Appends the records gathered in bld as one batch (staged; the round's commit writes it). */
static rill_err group_flush(struct group_wire *gw)
{
    if (gw->bld_records == 0) {
        return RILL_OK;
    }
    uint32_t count = gw->bld_records;
    gw->bld_records = 0;
    struct broker_partition *bp = gw->offsets;
    struct log_partition *log = bp->log;
    uint8_t *batch = NULL;
    size_t bytes = 0;
    rill_err err = log_batch_builder_finish(&gw->bld, &batch, &bytes);
    if (err == RILL_OK && log->failed != RILL_OK) {
        err = RILL_ERR_OFFLINE;
    }
    int64_t base = -1;
    while (err == RILL_OK) {
        err = log_partition_append(log, batch, bytes, &base);
        if (err != RILL_ERR_AGAIN) {
            break;
        }
        /* Both staging buffers are busy: a write is in flight and will complete. */
        err = log_partition_poll(log, true);
    }
    log_batch_builder_reset(&gw->bld);
    if (err != RILL_OK) {
        gw->append_errors++;
        DIAG_ERROR("groups", "cannot append %u records to %s: %s", count, GROUP_OFFSETS_TOPIC,
                   rill_err_str(err));
        return err == RILL_ERR_AGAIN ? RILL_ERR_IO : err;
    }
    gw->call_end = base + count;
    gw->records_appended += count;
    data_commit_later(gw->core, bp);
    return RILL_OK;
}

static rill_err group_sink_append(void *ctx, const struct group_offset_record *record)
{
    struct group_wire *gw = ctx;
    struct log_partition *log = gw->offsets->log;
    if (log == NULL || log->failed != RILL_OK) {
        return RILL_ERR_OFFLINE;
    }
    uint8_t key[GROUP_RECORD_KEY_BYTES_MAX];
    uint8_t value[GROUP_RECORD_VALUE_BYTES_MAX];
    bool tombstone = record->offset < 0;
    size_t key_bytes = group_record_key_encode(record, key, sizeof(key));
    size_t value_bytes = tombstone ? 0 : group_record_value_encode(record, value, sizeof(value));
    if (key_bytes == 0 || (!tombstone && value_bytes == 0)) {
        return RILL_ERR_TOO_LARGE;
    }
    int64_t now_ms = rill_clock_wall_ms();
    rill_record_t rec = {
        .key = key,
        .key_bytes = key_bytes,
        .value = tombstone ? NULL : value,
        .value_bytes = value_bytes,
        .timestamp_ms = record->commit_wall_ms > 0 ? record->commit_wall_ms : now_ms,
    };
    rill_err err = log_batch_builder_add(&gw->bld, &rec, now_ms);
    if (err == RILL_ERR_TOO_LARGE && gw->bld_records > 0) {
        /* The batch is full: it goes now, the record starts the next one. */
        err = group_flush(gw);
        if (err == RILL_OK) {
            err = log_batch_builder_add(&gw->bld, &rec, now_ms);
        }
    }
    if (err == RILL_OK) {
        gw->bld_records++;
    }
    return err;
}

static void group_call_begin(struct group_wire *gw)
{
    RILL_ASSERT(gw->bld_records == 0);
    gw->call_end = -1;
}

/*
 * After a coordinator call that may have used the sink: appends the last batch, then answers.
 * Nothing appended: RILL_OK (dispatch encodes the response now). Else the response is encoded
 * now (it may point into the coordinator's state, which the next call changes) and waits for
 * the durable end: RILL_ERR_AGAIN. call_err is the coordinator's return.
 */
static rill_err group_call_answer(struct broker_core *core,
                                  const struct dispatch_origin *origin,
                                  const struct proto_request_header *header,
                                  rill_err call_err,
                                  const union proto_response *response)
{
    struct group_wire *gw = core->groups;
    rill_err err = group_flush(gw);
    if (call_err != RILL_OK) {
        return call_err;
    }
    if (err != RILL_OK) {
        /* Applied in memory but not stored: say so rather than answer success. */
        return err;
    }
    if (gw->call_end < 0) {
        return RILL_OK;
    }
    struct mp_writer writer;
    mp_writer_init(&writer, PROTO_FRAME_PREFIX_BYTES + (size_t)RILL_FRAME_BYTES_MAX);
    err = dispatch_encode_response(header, RILL_OK, response, &writer);
    int64_t deadline = rill_clock_mono_ns() + (int64_t)GROUP_DURABLE_WAIT_MS * GROUP_NS_PER_MS;
    struct pending *pending =
        err == RILL_OK ? pending_create(core, PENDING_GROUP, origin, header, deadline) : NULL;
    if (pending == NULL) {
        mp_writer_deinit(&writer);
        return err != RILL_OK ? err : RILL_ERR_NOMEM;
    }
    RILL_ASSERT(writer.bytes <= UINT32_MAX);
    pending->group.bp = gw->offsets;
    pending->group.offset_end = gw->call_end;
    pending->group.frame = writer.data;
    pending->group.frame_bytes = (uint32_t)writer.bytes;
    pending->group.frame_error = RILL_OK;
    return RILL_ERR_AGAIN;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading the offsets topic                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Replays the records of one batch at or above from. */
static void group_load_batch(struct group_wire *gw,
                             struct log_record_iter *it,
                             const uint8_t *batch,
                             size_t bytes,
                             int64_t from)
{
    struct log_batch_header hdr;
    rill_err err = log_batch_validate(batch, bytes, false, &hdr);
    if (err == RILL_OK && (hdr.attributes & LOG_BATCH_ATTR_CONTROL) != 0) {
        return; /* never written by the coordinator; nothing to replay */
    }
    if (err == RILL_OK) {
        err = log_record_iter_start(it, batch, bytes);
    }
    struct log_record rec;
    while (err == RILL_OK && (err = log_record_iter_next(it, &rec)) == RILL_OK) {
        if (rec.offset < from) {
            continue;
        }
        gw->load_records++;
        struct group_offset_record record;
        rill_err bad =
            rec.key_bytes < 0
                ? RILL_ERR_CORRUPT
                : group_record_decode(rec.key, (size_t)rec.key_bytes,
                                      rec.value_bytes < 0 ? NULL : rec.value,
                                      rec.value_bytes < 0 ? 0 : (size_t)rec.value_bytes, &record);
        if (bad != RILL_OK) {
            if (gw->load_corrupt++ < GROUP_LOAD_LOG_MAX) {
                DIAG_ERROR("groups", "skipping a corrupt record of %s at offset %lld",
                           GROUP_OFFSETS_TOPIC, (long long)rec.offset);
            }
            continue;
        }
        rill_err refused = group_coord_load(gw->coord, &record);
        if (refused != RILL_OK && gw->load_refused++ < GROUP_LOAD_LOG_MAX) {
            DIAG_WARN("groups", "offset of group=%.*s topic=%.*s partition=%d not restored: %s",
                      (int)record.group.bytes, record.group.ptr, (int)record.topic.bytes,
                      record.topic.ptr, (int)record.partition, rill_err_str(refused));
        }
    }
    if (err != RILL_ERR_END) {
        /* A batch that fails its CRC, or records that do not parse: skip the rest of it. */
        gw->load_corrupt++;
        DIAG_ERROR("groups", "skipping a damaged batch of %s at offset %lld: %s",
                   GROUP_OFFSETS_TOPIC, (long long)hdr.offset_base, rill_err_str(err));
    }
}

/* Where to go on after a read error at offset: the next segment's base, or -1 (the end). */
static int64_t group_load_skip_segment(const struct log_partition *log, int64_t offset)
{
    uint32_t index = log_partition_segment_find(log, offset);
    if (index + 1 < log->segment_count && log->segments[index + 1]->offset_base > offset) {
        return log->segments[index + 1]->offset_base;
    }
    return -1;
}

static void group_load(struct group_wire *gw)
{
    int64_t start_ns = rill_clock_mono_ns();
    struct log_partition *log = gw->offsets->log;
    struct log_record_iter it;
    log_record_iter_init(&it);
    int64_t offset = log->offset_start;
    /* Bounded: every step moves offset forward (past a whole batch, or to the next segment). */
    while (offset < log->offset_written) {
        uint8_t *buf = NULL;
        size_t bytes = 0;
        rill_err err = log_partition_read(log, offset, GROUP_LOAD_READ_BYTES, &buf, &bytes);
        if (err == RILL_ERR_END) {
            break;
        }
        if (err != RILL_OK) {
            gw->load_corrupt++;
            int64_t next = group_load_skip_segment(log, offset);
            DIAG_ERROR("groups", "cannot read %s at offset %lld: %s; going on at %lld",
                       GROUP_OFFSETS_TOPIC, (long long)offset, rill_err_str(err), (long long)next);
            if (next < 0) {
                break;
            }
            offset = next;
            continue;
        }
        int64_t next = offset;
        for (size_t position = 0; position < bytes;) {
            struct log_batch_header hdr;
            /* The read returned whole batches only: their headers decode. */
            if (log_batch_header_decode(buf + position, bytes - position, &hdr) != RILL_OK) {
                break;
            }
            size_t total = log_batch_total_bytes(&hdr);
            group_load_batch(gw, &it, buf + position, total, offset);
            int64_t last = log_batch_offset_last(&hdr);
            next = last + 1 > next ? last + 1 : next;
            position += total;
        }
        free(buf);
        if (next <= offset) {
            break; /* cannot happen with whole batches; never loop */
        }
        offset = next;
    }
    log_record_iter_deinit(&it);
    gw->load_ms = (rill_clock_mono_ns() - start_ns) / GROUP_NS_PER_MS;
    struct group_coord_stats stats;
    group_coord_stats(gw->coord, &stats);
    DIAG_INFO("groups",
              "loaded %s in %lld ms: records=%llu offsets=%llu groups=%llu corrupt=%llu "
              "refused=%llu",
              GROUP_OFFSETS_TOPIC, (long long)gw->load_ms, (unsigned long long)gw->load_records,
              (unsigned long long)stats.offsets, (unsigned long long)stats.groups,
              (unsigned long long)gw->load_corrupt, (unsigned long long)gw->load_refused);
    if (gw->load_corrupt > 0) {
        DIAG_WARN("groups", "%llu corrupt records of %s were skipped",
                  (unsigned long long)gw->load_corrupt, GROUP_OFFSETS_TOPIC);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Lifecycle, tick, topics, metrics                                                           */
/* ---------------------------------------------------------------------------------------- */

/* Creates the offsets topic when missing; returns its partition. */
static rill_err group_offsets_topic(struct broker_core *core, struct broker_partition **out)
{
    struct broker_topics *topics = core->topics;
    if (topics_find(topics, GROUP_OFFSETS_TOPIC, strlen(GROUP_OFFSETS_TOPIC)) == NULL) {
        static const struct meta_config configs[] = {
            { "cleanup.policy", "compact" },
            { "flush", "always" },
            { "segment.bytes", GROUP_OFFSETS_SEGMENT_BYTES },
        };
        char errstr[256] = "";
        rill_err err =
            topics_create_internal(topics, GROUP_OFFSETS_TOPIC, 1, configs,
                                   (uint32_t)RILL_ARRAY_COUNT(configs), errstr, sizeof(errstr));
        if (err != RILL_OK) {
            DIAG_ERROR("groups", "cannot create %s: %s", GROUP_OFFSETS_TOPIC, errstr);
            return err;
        }
        DIAG_INFO("groups", "created topic=%s", GROUP_OFFSETS_TOPIC);
    }
    struct broker_partition *bp =
        topics_partition(topics, GROUP_OFFSETS_TOPIC, strlen(GROUP_OFFSETS_TOPIC), 0);
    if (bp == NULL || bp->log == NULL) {
        DIAG_ERROR("groups", "%s has no open partition 0", GROUP_OFFSETS_TOPIC);
        return RILL_ERR_CORRUPT;
    }
    RILL_ASSERT(bp->core_index == core->core_index);
    *out = bp;
    return RILL_OK;
}

rill_err group_wire_open(struct broker_core *core)
{
    RILL_ASSERT(core->core_index == 0 && core->topics != NULL && core->groups == NULL);
    const struct broker_config *cfg = core->cfg;
    struct group_wire *gw = calloc(1, sizeof(*gw));
    if (gw == NULL) {
        return RILL_ERR_NOMEM;
    }
    gw->core = core;
    gw->call_end = -1;
    gw->topics = (struct group_topics){
        .ctx = gw,
        .partitions = group_topic_partitions,
        .each = group_topic_each,
        .bounds = group_topic_bounds,
    };
    gw->sink = (struct group_sink){ .ctx = gw, .append = group_sink_append };
    rill_err err = group_offsets_topic(core, &gw->offsets);
    if (err == RILL_OK) {
        err =
            log_batch_builder_init(&gw->bld, LOG_CODEC_NONE, gw->offsets->log->cfg.batch_bytes_max);
    }
    if (err != RILL_OK) {
        free(gw);
        return err;
    }
    struct group_config config = {
        .session_timeout_min_ms = cfg->group_session_timeout_min_ms,
        .session_timeout_max_ms = cfg->group_session_timeout_max_ms,
        .rebalance_timeout_max_ms = cfg->group_rebalance_timeout_max_ms,
        .members_max = cfg->group_members_max,
        .groups_max = GROUP_GROUPS_MAX,
        .offsets_max = GROUP_OFFSETS_MAX,
        .retention_ms = cfg->group_retention_ms,
    };
    err = group_coord_create(&config, &gw->topics, &gw->coord);
    if (err != RILL_OK) {
        DIAG_ERROR("groups",
                   "invalid group settings (group.min.session.timeout.ms must not exceed "
                   "group.max.session.timeout.ms): %s",
                   rill_err_str(err));
        log_batch_builder_deinit(&gw->bld);
        free(gw);
        return err;
    }
    core->groups = gw;
    group_load(gw);
    return RILL_OK;
}

void group_wire_close(struct broker_core *core)
{
    struct group_wire *gw = core->groups;
    if (gw == NULL) {
        return;
    }
    group_coord_destroy(gw->coord);
    log_batch_builder_deinit(&gw->bld);
    free(gw);
    core->groups = NULL;
}

void group_wire_tick(struct broker_core *core)
{
    struct group_wire *gw = core->groups;
    if (gw == NULL) {
        return;
    }
    group_call_begin(gw);
    uint32_t appended = 0;
    (void)group_coord_tick(gw->coord, group_mono_ms(), rill_clock_wall_ms(), &gw->sink, &appended);
    (void)group_flush(gw); /* a failure is logged; the tombstones come again at a later tick */
}

void group_wire_topics_changed(struct broker_core *core)
{
    if (core->groups != NULL) {
        group_coord_topics_changed(core->groups->coord, group_mono_ms());
    }
}

void group_wire_metrics_render(struct broker_core *core, struct metrics_text *text)
{
    struct group_wire *gw = core->groups;
    if (gw == NULL) {
        return;
    }
    struct group_coord_stats stats;
    group_coord_stats(gw->coord, &stats);
    const struct {
        const char *name;
        const char *type;
        const char *help;
        uint64_t value;
    } figures[] = {
        { "rill_group_groups", "gauge", "Consumer groups the coordinator holds.", stats.groups },
        { "rill_group_members", "gauge", "Members over all consumer groups.", stats.members },
        { "rill_group_offsets", "gauge", "Committed offsets held over all groups.", stats.offsets },
        { "rill_group_rebalances_total", "counter",
          "Target assignments the coordinator computed since start.", stats.rebalances },
        { "rill_group_member_expirations_total", "counter",
          "Members removed for a missed session or rebalance timeout.", stats.expirations },
        { "rill_group_offset_records_total", "counter",
          "Records appended to __consumer_offsets since start.", gw->records_appended },
        { "rill_group_offset_append_errors_total", "counter",
          "Batches of offset changes that could not be appended to __consumer_offsets.",
          gw->append_errors },
        { "rill_group_load_records_total", "counter",
          "Records of __consumer_offsets replayed at start.", gw->load_records },
        { "rill_group_load_corrupt_records_total", "counter",
          "Records (or unreadable batches) of __consumer_offsets skipped at start as corrupt.",
          gw->load_corrupt },
        { "rill_group_load_refused_records_total", "counter",
          "Records of __consumer_offsets the coordinator refused at start (over its bounds).",
          gw->load_refused },
    };
    for (size_t i = 0; i < RILL_ARRAY_COUNT(figures); i++) {
        metrics_text_family(text, figures[i].name, figures[i].type, figures[i].help);
        metrics_text_u64(text, figures[i].name, NULL, 0, figures[i].value);
    }
    metrics_text_family(text, "rill_group_load_seconds", "gauge",
                        "How long loading __consumer_offsets took at start.");
    metrics_text_f64(text, "rill_group_load_seconds", NULL, 0, (double)gw->load_ms / 1000.0);
}

/* ---------------------------------------------------------------------------------------- */
/* Handlers                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* The coordinator side that serves a group request, or NULL while the broker stops (or before
 * the coordinator opened): the request is then answered RILL_ERR_SHUTTING_DOWN. */
static struct group_wire *group_serving(const struct broker_core *core)
{
    return core->stopping ? NULL : core->groups;
}

rill_err handle_join_group(struct broker_core *core,
                           const struct dispatch_origin *origin,
                           const struct proto_request_header *header,
                           const union proto_request *request,
                           union proto_response *response)
{
    (void)header;
    const struct proto_join_group_request *req = &request->join_group;
    struct proto_join_group_response *out = &response->join_group;
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        *out = (struct proto_join_group_response){ .error = RILL_ERR_SHUTTING_DOWN,
                                                   .generation = PROTO_GENERATION_NONE,
                                                   .member_id = req->member_id,
                                                   .strategy = { "", 0 } };
        return RILL_OK;
    }
    char peer[CONN_PEER_BYTES];
    const char *host = origin->peer != NULL ? origin->peer : "unknown";
    if (origin->conn != NULL) {
        conn_peer_address(origin->conn, peer, sizeof(peer));
        host = peer;
    }
    return group_join(gw->coord, group_mono_ms(), host, req, &core->arena, out);
}

rill_err handle_heartbeat(struct broker_core *core,
                          const struct dispatch_origin *origin,
                          const struct proto_request_header *header,
                          const union proto_request *request,
                          union proto_response *response)
{
    (void)origin;
    (void)header;
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        response->heartbeat.error = RILL_ERR_SHUTTING_DOWN;
        return RILL_OK;
    }
    return group_heartbeat(gw->coord, group_mono_ms(), &request->heartbeat, &response->heartbeat);
}

rill_err handle_leave_group(struct broker_core *core,
                            const struct dispatch_origin *origin,
                            const struct proto_request_header *header,
                            const union proto_request *request,
                            union proto_response *response)
{
    (void)origin;
    (void)header;
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        response->leave_group.error = RILL_ERR_SHUTTING_DOWN;
        return RILL_OK;
    }
    return group_leave(gw->coord, group_mono_ms(), &request->leave_group, &response->leave_group);
}

rill_err handle_offset_commit(struct broker_core *core,
                              const struct dispatch_origin *origin,
                              const struct proto_request_header *header,
                              const union proto_request *request,
                              union proto_response *response)
{
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        response->offset_commit = (struct proto_offset_commit_response){
            .error = RILL_ERR_SHUTTING_DOWN,
        };
        return RILL_OK;
    }
    group_call_begin(gw);
    uint32_t appended = 0;
    rill_err err = group_offset_commit(gw->coord, group_mono_ms(), rill_clock_wall_ms(),
                                       &request->offset_commit, &gw->sink, &core->arena,
                                       &response->offset_commit, &appended);
    return group_call_answer(core, origin, header, err, response);
}

rill_err handle_offset_fetch(struct broker_core *core,
                             const struct dispatch_origin *origin,
                             const struct proto_request_header *header,
                             const union proto_request *request,
                             union proto_response *response)
{
    (void)origin;
    (void)header;
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        response->offset_fetch = (struct proto_offset_fetch_response){
            .error = RILL_ERR_SHUTTING_DOWN,
        };
        return RILL_OK;
    }
    return group_offset_fetch(gw->coord, &request->offset_fetch, &core->arena,
                              &response->offset_fetch);
}

rill_err handle_list_groups(struct broker_core *core,
                            const struct dispatch_origin *origin,
                            const struct proto_request_header *header,
                            const union proto_request *request,
                            union proto_response *response)
{
    (void)origin;
    (void)header;
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        return RILL_ERR_SHUTTING_DOWN;
    }
    return group_list(gw->coord, &request->list_groups, &core->arena, &response->list_groups);
}

rill_err handle_describe_groups(struct broker_core *core,
                                const struct dispatch_origin *origin,
                                const struct proto_request_header *header,
                                const union proto_request *request,
                                union proto_response *response)
{
    (void)origin;
    (void)header;
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        return RILL_ERR_SHUTTING_DOWN;
    }
    return group_describe(gw->coord, &request->describe_groups, &core->arena,
                          &response->describe_groups);
}

rill_err handle_delete_groups(struct broker_core *core,
                              const struct dispatch_origin *origin,
                              const struct proto_request_header *header,
                              const union proto_request *request,
                              union proto_response *response)
{
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        return RILL_ERR_SHUTTING_DOWN;
    }
    group_call_begin(gw);
    uint32_t appended = 0;
    rill_err err = group_delete(gw->coord, &request->delete_groups, &gw->sink, &core->arena,
                                &response->delete_groups, &appended);
    return group_call_answer(core, origin, header, err, response);
}

rill_err handle_reset_offsets(struct broker_core *core,
                              const struct dispatch_origin *origin,
                              const struct proto_request_header *header,
                              const union proto_request *request,
                              union proto_response *response)
{
    struct group_wire *gw = group_serving(core);
    if (gw == NULL) {
        response->reset_offsets = (struct proto_reset_offsets_response){
            .error = RILL_ERR_SHUTTING_DOWN,
        };
        return RILL_OK;
    }
    group_call_begin(gw);
    uint32_t appended = 0;
    rill_err err =
        group_reset_offsets(gw->coord, rill_clock_wall_ms(), &request->reset_offsets, &gw->sink,
                            &core->arena, &response->reset_offsets, &appended);
    return group_call_answer(core, origin, header, err, response);
}
