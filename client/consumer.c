/*
 * consumer.c - rill_consumer_t: positions per partition, FETCH long polls and zero-copy record
 * views (include/rill.h, docs/client.md). Assign mode lives here; subscribe mode (the group
 * member) lives in client/group.c and plugs into rill_consume() through client/consumer.h.
 *
 * One FETCH is in flight at a time, for the ready partitions of one leader. Its answer frame
 * is taken over from the connection (no copy) and decoded into the consumer's own arena;
 * rill_consume() then walks its batches record by record, skipping records below each
 * partition's position (a fetch starts at the batch holding the position), and returns views
 * pointing into the frame (or into the LZ4 iterator's buffer). The frame is released on the
 * rill_consume() call after its last record, which is what keeps the views valid until then.
 * A seek bumps the partition's epoch: fetched data of an older epoch is dropped.
 *
 * While an answer is walked (cur), the next FETCH is already in flight (one prefetch): a
 * partition with data in hand is asked from the end of its complete batches in hand (ahead),
 * the others from their position. Its answer waits in next until cur is exhausted. An entry is
 * used only when the offset it asked for is at most the partition's position, so data in
 * hand that was not walked to its end (a seek, a bad batch) leaves no gap: the entry is
 * dropped and the partition fetched again from its position.
 */
#include <stdlib.h>
#include <string.h>

#include "client/consumer.h"
#include "common/assert.h"
#include "common/diag.h"
#include "common/err.h"
#include "log/batch.h"

#define CONSUMER_DIAG "consumer"

/* Records handed out between two looks at the sockets while a prefetch is in flight. */
#define CONSUMER_WALK_POLL_RECORDS 64u

struct cpart *
consumer_part_find(rill_consumer_t *c, const char *topic, size_t topic_bytes, int32_t partition)
{
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (part->partition == partition && strlen(part->topic) == topic_bytes &&
            memcmp(part->topic, topic, topic_bytes) == 0) {
            return part;
        }
    }
    return NULL;
}

rill_err rill_consumer_create(const rill_conf_t *conf,
                              char *errstr,
                              size_t errstr_bytes,
                              rill_consumer_t **out_consumer)
{
    if (out_consumer == NULL) {
        return RILL_ERR_INVALID;
    }
    rill_err err = conf_check_scope(conf, CONF_SCOPE_CONSUMER, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    rill_consumer_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RILL_ERR_NOMEM;
    }
    err = client_init(&c->cl, conf, errstr, errstr_bytes);
    if (err != RILL_OK) {
        free(c);
        return err;
    }
    c->max_wait_ms = (int32_t)conf_int64(conf, "fetch.max.wait.ms");
    c->min_bytes = (int32_t)conf_int64(conf, "fetch.min.bytes");
    c->max_bytes = (int32_t)conf_int64(conf, "fetch.max.bytes");
    c->partition_max_bytes = (int32_t)conf_int64(conf, "max.partition.fetch.bytes");
    c->partition_eof = conf_bool(conf, "enable.partition.eof");
    cgroup_conf_read(&c->gconf, conf);
    c->epoch_next = 1;
    proto_arena_init(&c->arena, RILL_PROTO_ARENA_BYTES_MAX);
    proto_arena_init(&c->next_arena, RILL_PROTO_ARENA_BYTES_MAX);
    log_record_iter_init(&c->it);
    *out_consumer = c;
    return RILL_OK;
}

static void fetch_release(rill_consumer_t *c)
{
    free(c->cur.frame);
    memset(&c->cur, 0, sizeof(c->cur));
    c->fetched = false;
    c->prefetch_tried = false;
    proto_arena_reset(&c->arena);
}

/* The answer that arrived (in cur now) belongs to the partitions its fetch asked for. */
static void fetch_promote(rill_consumer_t *c)
{
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        part->in_fetch = part->in_next;
        part->fetch_epoch = part->next_epoch;
        part->fetch_offset = part->next_offset;
        part->in_next = false;
    }
    c->fetched = true;
    c->prefetch_tried = false;
}

/* Once cur is exhausted: the prefetched answer, if it arrived, becomes cur. */
static void fetch_advance(rill_consumer_t *c)
{
    /* Partitions cur did not cover fetch again too. */
    for (unsigned i = 0; i < c->part_count; i++) {
        c->parts[i]->in_fetch = false;
    }
    fetch_release(c);
    if (!c->next_ready) {
        return;
    }
    struct proto_arena arena = c->arena;
    c->arena = c->next_arena;
    c->next_arena = arena;
    c->cur = c->next;
    memset(&c->next, 0, sizeof(c->next));
    c->next_ready = false;
    fetch_promote(c);
}

void rill_consumer_destroy(rill_consumer_t *consumer)
{
    if (consumer == NULL) {
        return;
    }
    cgroup_destroy_begin(consumer); /* leaves the group while the connections are open */
    client_deinit(&consumer->cl);   /* a fetch in flight fails: its handler only sets flags */
    cgroup_destroy_end(consumer);
    fetch_release(consumer);
    free(consumer->next.frame);
    for (unsigned i = 0; i < consumer->part_count; i++) {
        free(consumer->parts[i]->topic);
        free(consumer->parts[i]);
    }
    free(consumer->parts);
    free(consumer->retired_topic);
    proto_arena_deinit(&consumer->arena);
    proto_arena_deinit(&consumer->next_arena);
    log_record_iter_deinit(&consumer->it);
    free(consumer);
}

struct cpart *consumer_part_add(rill_consumer_t *c, const char *topic, int32_t partition)
{
    if (c->part_count == c->part_capacity) {
        unsigned capacity = c->part_capacity == 0 ? 8 : c->part_capacity * 2;
        struct cpart **grown = realloc(c->parts, capacity * sizeof(*grown));
        if (grown == NULL) {
            return NULL;
        }
        c->parts = grown;
        c->part_capacity = capacity;
    }
    struct cpart *part = calloc(1, sizeof(*part));
    if (part == NULL || (part->topic = strdup(topic)) == NULL) {
        free(part);
        return NULL;
    }
    part->partition = partition;
    part->position = -1;
    part->high_watermark = -1;
    part->returned = -1;
    part->committed = -1;
    part->epoch = c->epoch_next++;
    part->meta = client_topic_want(&c->cl, topic);
    c->parts[c->part_count++] = part;
    return part;
}

void consumer_part_drop_fetched(rill_consumer_t *c, struct cpart *part)
{
    part->epoch = c->epoch_next++;
    if (c->cur.part == part) {
        c->cur.part = NULL; /* the rest of its fetched data is dropped */
        c->cur.iterating = false;
    }
}

void consumer_part_remove(rill_consumer_t *c, struct cpart *part)
{
    for (unsigned i = 0; i < c->part_count; i++) {
        if (c->parts[i] != part) {
            continue;
        }
        consumer_part_drop_fetched(c, part);
        if (c->msg.topic == part->topic) {
            /* the last message stays valid until the next rill_consume, name included */
            free(c->retired_topic);
            c->retired_topic = part->topic;
        } else {
            free(part->topic);
        }
        free(part);
        c->parts[i] = c->parts[--c->part_count];
        return;
    }
}

/* Resolves a start position: a real offset as is, else LIST_OFFSETS. */
static rill_err resolve_offset(rill_consumer_t *c,
                               const char *topic,
                               int32_t partition,
                               int64_t timestamp,
                               bool by_time,
                               int64_t *out_offset)
{
    int64_t deadline = client_now_ns() + c->cl.request_timeout_ns;
    if (!by_time && timestamp >= 0) {
        struct client_topic *meta = NULL;
        rill_err err = client_topic_lookup(&c->cl, topic, deadline, &meta);
        if (err == RILL_OK && meta->err != RILL_OK) {
            err = meta->err;
        }
        if (err == RILL_OK && partition >= meta->partition_count) {
            err = RILL_ERR_UNKNOWN_PARTITION;
        }
        if (err == RILL_OK) {
            *out_offset = timestamp;
        }
        return err == RILL_ERR_TIMEOUT ? RILL_ERR_CONNECTION : err;
    }
    int64_t wire = timestamp;
    if (!by_time) {
        wire = timestamp == RILL_OFFSET_BEGINNING ? PROTO_LIST_OFFSETS_EARLIEST
                                                  : PROTO_LIST_OFFSETS_LATEST;
    }
    rill_err err = client_list_offset(&c->cl, topic, partition, wire, deadline, out_offset);
    return err == RILL_ERR_TIMEOUT ? RILL_ERR_CONNECTION : err;
}

static rill_err assign_at(rill_consumer_t *c,
                          const char *topic,
                          int32_t partition,
                          int64_t offset,
                          bool by_time,
                          bool must_exist)
{
    if (c == NULL || topic == NULL || partition < 0 || strlen(topic) == 0 ||
        strlen(topic) > RILL_TOPIC_NAME_BYTES_MAX ||
        (!by_time && offset < 0 && offset != RILL_OFFSET_BEGINNING && offset != RILL_OFFSET_END)) {
        return RILL_ERR_INVALID;
    }
    struct cpart *part = consumer_part_find(c, topic, strlen(topic), partition);
    if (part == NULL && must_exist) {
        return RILL_ERR_NOT_FOUND;
    }
    if (part != NULL && part->revoking) {
        return RILL_ERR_NOT_FOUND; /* being given up to another member */
    }
    if (!must_exist && cgroup_active(c)) {
        return RILL_ERR_INVALID; /* the group decides what this consumer reads */
    }
    int64_t position = 0;
    rill_err err = resolve_offset(c, topic, partition, offset, by_time, &position);
    if (err != RILL_OK) {
        return err;
    }
    if (part == NULL) {
        part = consumer_part_add(c, topic, partition);
        if (part == NULL) {
            return RILL_ERR_NOMEM;
        }
        c->assign_mode = true;
    }
    part->meta = client_topic_find(&c->cl, topic);
    part->position = position;
    consumer_part_drop_fetched(c, part);
    part->paused = false;
    part->needs_offset = false;
    part->needs_reset = false;
    part->lookup_inflight = false; /* an answer in flight is for the old epoch: ignored */
    part->event_due = RILL_OK;
    part->eof_reported = false;
    part->retry_at_ns = 0;
    part->failures = 0;
    part->high_watermark = -1;
    return RILL_OK;
}

rill_err rill_consumer_assign(rill_consumer_t *consumer,
                              const char *topic,
                              int32_t partition,
                              int64_t offset)
{
    return assign_at(consumer, topic, partition, offset, false, false);
}

rill_err rill_consumer_assign_time(rill_consumer_t *consumer,
                                   const char *topic,
                                   int32_t partition,
                                   int64_t timestamp_ms)
{
    if (timestamp_ms < 0) {
        return RILL_ERR_INVALID;
    }
    return assign_at(consumer, topic, partition, timestamp_ms, true, false);
}

rill_err
rill_consumer_seek(rill_consumer_t *consumer, const char *topic, int32_t partition, int64_t offset)
{
    return assign_at(consumer, topic, partition, offset, false, true);
}

rill_err rill_consumer_unassign(rill_consumer_t *consumer, const char *topic, int32_t partition)
{
    if (consumer == NULL || topic == NULL || cgroup_active(consumer)) {
        return RILL_ERR_INVALID;
    }
    struct cpart *part = consumer_part_find(consumer, topic, strlen(topic), partition);
    if (part == NULL) {
        return RILL_ERR_NOT_FOUND;
    }
    consumer_part_remove(consumer, part);
    if (consumer->part_count == 0) {
        consumer->assign_mode = false;
    }
    return RILL_OK;
}

rill_err
rill_consumer_partition_count(rill_consumer_t *consumer, const char *topic, int32_t *out_count)
{
    if (consumer == NULL || topic == NULL || out_count == NULL) {
        return RILL_ERR_INVALID;
    }
    struct client_topic *meta = NULL;
    rill_err err = client_topic_lookup(&consumer->cl, topic,
                                       client_now_ns() + consumer->cl.request_timeout_ns, &meta);
    if (err == RILL_OK && meta->err != RILL_OK) {
        meta->stale = true;
        err = meta->err;
    }
    if (err == RILL_OK) {
        *out_count = meta->partition_count;
    }
    return err == RILL_ERR_TIMEOUT ? RILL_ERR_CONNECTION : err;
}

rill_err rill_consumer_position(rill_consumer_t *consumer,
                                const char *topic,
                                int32_t partition,
                                int64_t *out_offset)
{
    if (consumer == NULL || topic == NULL || out_offset == NULL) {
        return RILL_ERR_INVALID;
    }
    struct cpart *part = consumer_part_find(consumer, topic, strlen(topic), partition);
    if (part == NULL) {
        return RILL_ERR_NOT_FOUND;
    }
    *out_offset = part->position;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Fetching                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Where the complete batches of an arrived answer end, per partition it was asked for: the
 * prefetch continues from there. */
static void fetch_note_ahead(rill_consumer_t *c, const union proto_response *resp)
{
    for (uint32_t t = 0; t < resp->fetch.topic_count; t++) {
        const struct proto_fetch_topic_result *topic = &resp->fetch.topics[t];
        for (uint32_t i = 0; i < topic->partition_count; i++) {
            const struct proto_fetch_partition_result *entry = &topic->partitions[i];
            struct cpart *part =
                consumer_part_find(c, topic->name.ptr, topic->name.bytes, entry->partition);
            if (part == NULL || !part->in_next || part->next_epoch != part->epoch) {
                continue;
            }
            part->ahead_epoch = 0;
            if (entry->error != RILL_OK) {
                continue;
            }
            int64_t end = part->next_offset;
            const uint8_t *at = entry->batches.ptr;
            size_t left = entry->batches.bytes;
            struct log_batch_header hdr;
            while (left >= LOG_BATCH_HEADER_BYTES &&
                   log_batch_header_decode(at, left, &hdr) == RILL_OK &&
                   log_batch_total_bytes(&hdr) <= left) {
                int64_t last = log_batch_offset_last(&hdr);
                end = last >= end ? last + 1 : end;
                at += log_batch_total_bytes(&hdr);
                left -= log_batch_total_bytes(&hdr);
            }
            part->ahead = end;
            part->ahead_epoch = part->epoch;
        }
    }
}

static void fetch_done(struct client *cl,
                       void *ctx,
                       rill_err err,
                       const struct proto_response_header *hdr,
                       struct mp_reader *body,
                       struct client_conn *conn)
{
    rill_consumer_t *c = ctx;
    c->fetching = false;
    if (err == RILL_OK && hdr->error == RILL_OK) {
        /* While cur is walked, the answer waits in next. */
        struct cfetch *slot = c->fetched ? &c->next : &c->cur;
        struct proto_arena *arena = c->fetched ? &c->next_arena : &c->arena;
        RILL_ASSERT(!c->next_ready);
        proto_arena_reset(arena);
        memset(slot, 0, sizeof(*slot));
        err = proto_response_body_decode(PROTO_API_FETCH, body, arena, &slot->resp);
        if (err == RILL_OK) {
            slot->frame = client_conn_take_frame(conn);
            fetch_note_ahead(c, &slot->resp);
            if (c->fetched) {
                c->next_ready = true;
            } else {
                fetch_promote(c);
            }
            return;
        }
        client_conn_abort(cl, conn);
    } else if (err == RILL_OK) {
        err = client_wire_err(hdr->error);
    }
    /* The whole fetch failed: its partitions back off and fetch again. */
    int64_t now = client_now_ns();
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (part->in_next) {
            part->in_next = false;
            part->retry_at_ns = now + client_backoff_ns(c->cl.backoff_ns, c->cl.backoff_max_ns,
                                                        part->failures++, &c->cl.rng);
            if (part->meta != NULL) {
                part->meta->stale = true;
            }
        }
    }
}

/* Sends one FETCH for the ready partitions of the leader of the first ready partition. */
static void fetch_send(rill_consumer_t *c)
{
    if (c->fetching || c->next_ready || c->part_count == 0) {
        return;
    }
    int64_t now = client_now_ns();
    client_metadata_refresh(&c->cl);
    struct proto_fetch_topic topics[64];
    struct proto_fetch_partition wire_parts[256];
    uint32_t topic_count = 0;
    uint32_t wire_count = 0;
    struct client_conn *conn = NULL;
    for (unsigned n = 0; n < c->part_count && wire_count < RILL_ARRAY_COUNT(wire_parts); n++) {
        struct cpart *part = c->parts[(c->fetch_next + n) % c->part_count];
        if (part->paused || part->retry_at_ns > now || !cgroup_part_ready(part) ||
            (part->in_fetch && part->ahead_epoch != part->epoch)) {
            continue; /* (an entry in cur without a known end: after its walk) */
        }
        if (part->meta == NULL) {
            part->meta = client_topic_find(&c->cl, part->topic);
        }
        if (part->meta == NULL || part->meta->err != RILL_OK ||
            part->partition >= part->meta->partition_count) {
            if (part->meta != NULL) {
                part->meta->stale = true;
            }
            continue;
        }
        struct client_conn *leader =
            client_conn_leader(&c->cl, part->meta->leaders[part->partition]);
        if (leader == NULL) {
            part->meta->stale = true; /* no leader known: ask again */
            continue;
        }
        if (conn != NULL && leader != conn) {
            continue;
        }
        conn = leader;
        /* group by topic (same name pointer order is not guaranteed: search) */
        uint32_t t = 0;
        while (t < topic_count && strcmp(topics[t].name.ptr, part->topic) != 0) {
            t++;
        }
        if (t == topic_count) {
            if (topic_count == RILL_ARRAY_COUNT(topics)) {
                continue;
            }
            topics[topic_count++] = (struct proto_fetch_topic){
                .name = { part->topic, (uint32_t)strlen(part->topic) },
            };
        }
        (void)t;
        part->in_next = true;
        part->next_epoch = part->epoch;
        part->next_offset = part->position;
        if (part->ahead_epoch == part->epoch && part->ahead > part->position) {
            part->next_offset = part->ahead; /* the data before it is in hand */
        }
        wire_count++;
    }
    c->fetch_next++;
    if (conn == NULL || wire_count == 0) {
        return;
    }
    /* Lay the partitions out topic by topic. */
    uint32_t used = 0;
    for (uint32_t t = 0; t < topic_count; t++) {
        topics[t].partitions = &wire_parts[used];
        for (unsigned i = 0; i < c->part_count; i++) {
            struct cpart *part = c->parts[i];
            if (part->in_next && strcmp(part->topic, topics[t].name.ptr) == 0) {
                wire_parts[used++] = (struct proto_fetch_partition){
                    .partition = part->partition,
                    .offset = part->next_offset,
                    .partition_max_bytes = c->partition_max_bytes,
                };
            }
        }
        topics[t].partition_count = (uint32_t)(&wire_parts[used] - topics[t].partitions);
    }
    union proto_request request = { .fetch = {
                                        .max_wait_ms = cgroup_fetch_wait_ms(c, c->max_wait_ms),
                                        .min_bytes = c->min_bytes,
                                        .max_bytes = c->max_bytes,
                                        .topics = topics,
                                        .topic_count = topic_count,
                                    } };
    int64_t timeout = c->cl.request_timeout_ns + (int64_t)request.fetch.max_wait_ms * 1000000;
    rill_err err = client_request(&c->cl, conn, PROTO_API_FETCH, &request, fetch_done, c, timeout);
    if (err != RILL_OK) {
        for (unsigned i = 0; i < c->part_count; i++) {
            c->parts[i]->in_next = false;
        }
        return;
    }
    c->fetching = true;
    client_flush(&c->cl);
}

/* ---------------------------------------------------------------------------------------- */
/* Walking the fetched answer                                                                 */
/* ---------------------------------------------------------------------------------------- */

const rill_message_t *consumer_message_event(rill_consumer_t *c, struct cpart *part, rill_err err)
{
    c->msg = (rill_message_t){
        .err = err,
        .topic = part->topic,
        .partition = part->partition,
        .record = NULL,
        .high_watermark = part->high_watermark,
    };
    return &c->msg;
}

/* Starts the partition entry at the walk position: checks it, handles its error. Returns an
 * event to deliver, or NULL (then cur.part says whether its batches are walked). */
static const rill_message_t *entry_start(rill_consumer_t *c)
{
    struct cfetch *cur = &c->cur;
    const struct proto_fetch_topic_result *topic = &cur->resp.fetch.topics[cur->topic_index];
    const struct proto_fetch_partition_result *entry = &topic->partitions[cur->part_index];
    struct cpart *part =
        consumer_part_find(c, topic->name.ptr, topic->name.bytes, entry->partition);
    cur->part = NULL;
    cur->iterating = false;
    cur->batch_pos = NULL;
    cur->batch_end = NULL;
    if (part == NULL || !part->in_fetch || part->fetch_epoch != part->epoch) {
        return NULL; /* not asked, unassigned or repositioned meanwhile */
    }
    part->in_fetch = false;
    if (part->fetch_offset > part->position) {
        /* Prefetched past data in hand that was not walked to its end: fetch again from the
         * position (and not from ahead, which is what asked too far). */
        part->ahead_epoch = 0;
        return NULL;
    }
    if (entry->error != RILL_OK) {
        rill_err err = client_wire_err(entry->error);
        part->retry_at_ns =
            client_now_ns() +
            client_backoff_ns(c->cl.backoff_ns, c->cl.backoff_max_ns, part->failures++, &c->cl.rng);
        if (part->meta != NULL && err != RILL_ERR_OFFSET_OUT_OF_RANGE) {
            part->meta->stale = true;
        }
        if (err == RILL_ERR_OFFSET_OUT_OF_RANGE && cgroup_out_of_range(c, part)) {
            return NULL; /* auto.offset.reset moves it */
        }
        if (err == RILL_ERR_OFFSET_OUT_OF_RANGE) {
            part->paused = true; /* until the application seeks */
            part->high_watermark = entry->high_watermark;
            return consumer_message_event(c, part, err);
        }
        if (err == RILL_ERR_UNKNOWN_TOPIC || err == RILL_ERR_UNKNOWN_PARTITION ||
            !client_err_retriable(err)) {
            return consumer_message_event(c, part, err);
        }
        return NULL; /* transient: fetch again after the backoff */
    }
    part->failures = 0;
    part->high_watermark = entry->high_watermark;
    cur->part = part;
    cur->batch_pos = entry->batches.ptr;
    cur->batch_end = entry->batches.ptr + entry->batches.bytes;
    return NULL;
}

/* The end-of-partition event after a partition's data, when wanted and due. */
static const rill_message_t *entry_finish(rill_consumer_t *c, struct cpart *part)
{
    if (c->partition_eof && part->position >= part->high_watermark && !part->eof_reported) {
        part->eof_reported = true;
        return consumer_message_event(c, part, RILL_ERR_END);
    }
    return NULL;
}

/* The next record of the current partition entry, or NULL when it has no more. */
static const rill_message_t *entry_next_record(rill_consumer_t *c)
{
    struct cfetch *cur = &c->cur;
    struct cpart *part = cur->part;
    for (;;) {
        if (part->epoch != part->fetch_epoch) {
            return NULL; /* sought meanwhile */
        }
        if (cur->iterating) {
            rill_err err = log_record_iter_next(&c->it, &c->view.rec);
            if (err == RILL_OK) {
                if (c->view.rec.offset < part->position) {
                    continue;
                }
                part->position = c->view.rec.offset + 1;
                part->returned = part->position;
                part->eof_reported = false;
                c->msg = (rill_message_t){
                    .err = RILL_OK,
                    .topic = part->topic,
                    .partition = part->partition,
                    .record = &c->view,
                    .high_watermark = part->high_watermark,
                };
                return &c->msg;
            }
            cur->iterating = false;
            if (err != RILL_ERR_END) {
                DIAG_WARN(CONSUMER_DIAG, "corrupt record in %s/%d: %s", part->topic,
                          part->partition, rill_err_str(err));
                return consumer_message_event(c, part, err);
            }
        }
        size_t left = (size_t)(cur->batch_end - cur->batch_pos);
        struct log_batch_header hdr;
        if (left < LOG_BATCH_HEADER_BYTES ||
            log_batch_header_decode(cur->batch_pos, left, &hdr) != RILL_OK ||
            log_batch_total_bytes(&hdr) > left) {
            return NULL; /* the end, or a truncated last batch (fetched again next time) */
        }
        size_t total = log_batch_total_bytes(&hdr);
        const uint8_t *batch = cur->batch_pos;
        cur->batch_pos += total;
        if (log_batch_offset_last(&hdr) < part->position) {
            continue; /* wholly below the position */
        }
        rill_err err = log_batch_validate(batch, total, false, &hdr);
        if (err == RILL_OK) {
            err = log_record_iter_start(&c->it, batch, total);
        }
        if (err != RILL_OK) {
            cur->batch_pos = cur->batch_end;
            part->ahead_epoch = 0; /* what follows the bad batch is not returned */
            part->retry_at_ns =
                client_now_ns() + client_backoff_ns(c->cl.backoff_ns, c->cl.backoff_max_ns,
                                                    part->failures++, &c->cl.rng);
            DIAG_WARN(CONSUMER_DIAG, "bad batch in %s/%d at %lld: %s", part->topic, part->partition,
                      (long long)hdr.offset_base, rill_err_str(err));
            return consumer_message_event(c, part, err);
        }
        cur->iterating = true;
    }
}

/* The next message from the fetched answer, or NULL when it is exhausted. */
static const rill_message_t *fetch_next(rill_consumer_t *c)
{
    struct cfetch *cur = &c->cur;
    while (cur->topic_index < cur->resp.fetch.topic_count) {
        const struct proto_fetch_topic_result *topic = &cur->resp.fetch.topics[cur->topic_index];
        if (cur->part_index >= topic->partition_count) {
            cur->topic_index++;
            cur->part_index = 0;
            cur->part_started = false;
            continue;
        }
        if (!cur->part_started) {
            cur->part_started = true;
            const rill_message_t *event = entry_start(c);
            if (event != NULL) {
                return event;
            }
        }
        if (cur->part != NULL) {
            const rill_message_t *msg = entry_next_record(c);
            if (msg != NULL) {
                return msg;
            }
            struct cpart *part = cur->part;
            cur->part = NULL;
            if (part->epoch == part->fetch_epoch) {
                const rill_message_t *event = entry_finish(c, part);
                if (event != NULL) {
                    cur->part_index++;
                    cur->part_started = false;
                    return event;
                }
            }
        }
        cur->part_index++;
        cur->part_started = false;
    }
    return NULL;
}

rill_err rill_consume(rill_consumer_t *consumer, int timeout_ms, const rill_message_t **out_message)
{
    rill_consumer_t *c = consumer;
    if (c == NULL || out_message == NULL || c->in_callback) {
        return RILL_ERR_INVALID;
    }
    free(c->retired_topic);
    c->retired_topic = NULL;
    c->msg.topic = NULL;
    if (c->part_count == 0 && !cgroup_active(c)) {
        (void)cgroup_serve(c); /* commit callbacks still due from an earlier subscription */
        return RILL_ERR_INVALID;
    }
    /* Read from the clock only once a wait is near: a record in hand goes out without it. */
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : -1;
    for (;;) {
        const rill_message_t *event = cgroup_serve(c);
        if (event != NULL) {
            *out_message = event;
            return RILL_OK;
        }
        if (c->fetched) {
            if (!c->prefetch_tried) {
                c->prefetch_tried = true; /* once per answer: the next is fetched meanwhile */
                fetch_send(c);
            } else if (c->fetching && ++c->walk_records >= CONSUMER_WALK_POLL_RECORDS) {
                /* A look at the sockets now and then: the prefetch's answer keeps flowing
                 * (the broker is not held by a full socket) and is read before it is due. */
                c->walk_records = 0;
                client_poll(&c->cl, 0);
            }
            const rill_message_t *msg = fetch_next(c);
            if (msg != NULL) {
                *out_message = msg;
                return RILL_OK;
            }
            fetch_advance(c);
            if (c->fetched) {
                continue; /* the prefetched answer */
            }
        }
        fetch_send(c);
        int64_t now = client_now_ns();
        if (deadline < 0) {
            deadline = now + (int64_t)timeout_ms * 1000000;
        }
        int64_t wake = deadline;
        if (!c->fetching) {
            /* nothing could be sent (backoff, reconnect): look again soon */
            int64_t soon = now + (c->cl.backoff_ns > 0 ? c->cl.backoff_ns : 1000000);
            wake = soon < wake ? soon : wake;
        }
        int64_t group_wake = cgroup_wake_ns(c); /* never sleep past a heartbeat */
        wake = group_wake < wake ? group_wake : wake;
        client_poll(&c->cl, wake); /* at least one look at the sockets, even with timeout 0 */
        if (!c->fetched && client_unreachable(&c->cl)) {
            if (!c->unreachable_reported) {
                /* Once per outage, so the application can tell; fetching goes on retrying. */
                c->unreachable_reported = true;
                c->msg = (rill_message_t){ .err = RILL_ERR_CONNECTION,
                                           .partition = -1,
                                           .high_watermark = -1 };
                *out_message = &c->msg;
                return RILL_OK;
            }
        } else {
            c->unreachable_reported = false;
        }
        if (!c->fetched && client_now_ns() >= deadline) {
            event = cgroup_serve(c); /* answers that came during the last wait */
            if (event != NULL) {
                *out_message = event;
                return RILL_OK;
            }
            return RILL_ERR_TIMEOUT;
        }
    }
}
