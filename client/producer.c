/*
 * producer.c - rill_producer_t: batching per partition, pipelined PRODUCE requests, retries,
 * idempotence and delivery reports (include/rill.h, docs/client.md).
 *
 * A record goes straight into its partition's batch builder (key, value and headers are copied
 * once, into the batch). A partition's batches form a FIFO:
 *
 *     head -> [DONE] [INFLIGHT] [INFLIGHT] [QUEUED] [QUEUED] <- tail      + open (filling)
 *
 * The open batch closes when full (batch.bytes), after linger.ms, or on flush; closing finishes
 * it (header, LZ4, CRC) with the producer id, epoch and the partition's next sequence. The
 * first QUEUED batch is sent when fewer than max.inflight.per.partition are in flight; a batch
 * that fails retriably goes back to QUEUED with its bytes (and sequence) unchanged, so the
 * broker's duplicate check makes the retry safe. Reports are served from the head, in order,
 * once batches are DONE. A closed batch keeps its uncompressed records (the builder's buffer,
 * taken over without a copy) for the keys and values of its reports; buffers are recycled
 * through a small pool, so the steady state allocates nothing per record or batch.
 */
#include "client/producer.h"

#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/hash.h"
#include "log/batch.h"

#define PRODUCER_DIAG "producer"
/* Recycled batches kept for reuse, at most; their buffers together stay within
 * queue.bytes.max (pool_put), so the pool never holds more than a full queue. */
#define PRODUCER_POOL_MAX 1024u
/* Batch bytes in one PRODUCE request. */
#define PRODUCER_REQUEST_BYTES_MAX (16u * 1024 * 1024)
/* First buffer of a fresh builder; it doubles up to batch.bytes. */
#define PRODUCER_BUILDER_BYTES_INITIAL (64u * 1024)

enum pbatch_state {
    PBATCH_QUEUED,   /* closed, waiting to be sent (again) */
    PBATCH_INFLIGHT, /* in a request without an answer yet */
    PBATCH_DONE,     /* answered for good: err and offset_base are final */
};

struct pbatch {
    struct pbatch *next; /* partition FIFO, or the pool */
    enum pbatch_state state;
    uint8_t *data; /* the finished batch: records_buf (no codec) or out_buf */
    size_t data_bytes;
    uint8_t *records_buf; /* header room + uncompressed records, from the builder */
    size_t records_capacity;
    size_t records_end; /* records are at [LOG_BATCH_HEADER_BYTES, records_end) */
    uint8_t *out_buf;   /* compressed batch, from the builder (LZ4 only) */
    size_t out_capacity;
    void **opaques; /* record_opaque of each record */
    size_t opaques_capacity;
    int32_t record_count;
    uint64_t bytes_accounted; /* this batch's share of queue.bytes.max */
    int32_t sequence_base;    /* -1 without idempotence */
    int64_t created_ns;       /* first record queued (linger, delivery timeout) */
    int64_t retry_at_ns;      /* QUEUED after a failure: not before this */
    unsigned attempts;        /* failed sends so far */
    rill_err err;             /* DONE: outcome */
    int64_t offset_base;      /* DONE with RILL_OK: offset of the first record, or -1 */
};

struct ppart {
    struct log_batch_builder bld; /* the open batch's records */
    struct pbatch *open;          /* batch being filled (owns opaques), NULL when none */
    struct pbatch *head;          /* closed batches, oldest first */
    struct pbatch *tail;
    unsigned inflight;     /* batches of this partition in flight */
    int32_t sequence_next; /* base sequence of the next batch to close */
};

struct ptopic {
    char *name;
    struct client_topic *meta;
    struct ppart *parts;
    int32_t part_count;
    int32_t sticky; /* partition for null keys until its batch closes; -1 none */
};

/* One PRODUCE request in flight: which batch went for which partition. */
struct preq_item {
    struct ptopic *topic;
    int32_t partition;
    struct pbatch *batch;
};

struct preq {
    rill_producer_t *producer;
    uint32_t item_count;
    struct preq_item items[];
};

struct rill_producer {
    struct client cl;
    rill_delivery_cb *on_delivery;
    void *opaque;
    int acks; /* 0, 1 or -1 */
    int codec;
    size_t batch_bytes;
    int64_t linger_ns;
    int64_t delivery_timeout_ns;
    unsigned max_inflight;
    bool idempotent;
    uint64_t records_max;
    uint64_t bytes_max;
    uint64_t records_outstanding;
    uint64_t bytes_outstanding;
    int64_t producer_id; /* -1 until INIT_PRODUCER_ID answered */
    int16_t producer_epoch;
    bool reinit_wanted;  /* the broker lost our sequence state: new id once idle */
    bool reinit_pending; /* INIT_PRODUCER_ID in flight */
    bool fatal;          /* fenced: everything fails */
    rill_err fatal_err;
    bool flushing;     /* close open batches at once */
    bool in_callback;  /* a delivery callback runs: poll/flush must not recurse */
    unsigned inflight; /* batches in flight over all partitions */
    struct ptopic **topics;
    unsigned topic_count;
    unsigned topic_capacity;
    struct ptopic *topic_last; /* last topic produced to: the common case skips the search */
    struct pbatch *pool;
    unsigned pool_count;
    uint64_t pool_bytes; /* buffer capacity held by the pooled batches */
    /* scratch for encoding a request */
    struct proto_produce_topic *scratch_topics;
    struct proto_produce_partition *scratch_parts;
    size_t scratch_capacity;
};

/* ---------------------------------------------------------------------------------------- */
/* Pure helpers                                                                               */
/* ---------------------------------------------------------------------------------------- */

int32_t producer_partition_for_key(const void *key, size_t key_bytes, int32_t partition_count)
{
    RILL_ASSERT(partition_count > 0);
    return (int32_t)(rill_hash64(key, key_bytes) % (uint64_t)partition_count);
}

static const uint8_t *walk_nullable(const uint8_t *pos, const void **out, size_t *out_bytes)
{
    int64_t length = 0;
    pos += log_varint_decode_inline(pos, 10, &length);
    if (length < 0) {
        *out = NULL;
        *out_bytes = 0;
        return pos;
    }
    *out = pos;
    *out_bytes = (size_t)length;
    return pos + length;
}

void producer_record_walk(const uint8_t **pos,
                          const void **out_key,
                          size_t *out_key_bytes,
                          const void **out_value,
                          size_t *out_value_bytes)
{
    const uint8_t *p = *pos;
    int64_t length = 0;
    int64_t ignored = 0;
    p += log_varint_decode_inline(p, 10, &length);
    const uint8_t *end = p + length;
    p++;                                            /* attributes */
    p += log_varint_decode_inline(p, 10, &ignored); /* timestamp delta */
    p += log_varint_decode_inline(p, 10, &ignored); /* offset delta */
    p = walk_nullable(p, out_key, out_key_bytes);
    (void)walk_nullable(p, out_value, out_value_bytes);
    *pos = end;
}

/* ---------------------------------------------------------------------------------------- */
/* Batches                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void pbatch_free(struct pbatch *batch)
{
    free(batch->records_buf);
    free(batch->out_buf);
    free(batch->opaques);
    free(batch);
}

static uint64_t pbatch_buffer_bytes(const struct pbatch *batch)
{
    return (uint64_t)batch->records_capacity + batch->out_capacity;
}

static struct pbatch *pool_take(rill_producer_t *p)
{
    struct pbatch *batch = p->pool;
    if (batch != NULL) {
        p->pool = batch->next;
        p->pool_count--;
        p->pool_bytes -= pbatch_buffer_bytes(batch);
    } else {
        batch = calloc(1, sizeof(*batch));
        if (batch == NULL) {
            return NULL;
        }
    }
    batch->next = NULL;
    batch->state = PBATCH_QUEUED;
    batch->record_count = 0;
    batch->bytes_accounted = 0;
    batch->sequence_base = -1;
    batch->attempts = 0;
    batch->retry_at_ns = 0;
    batch->err = RILL_OK;
    batch->offset_base = -1;
    batch->data = NULL;
    batch->data_bytes = 0;
    return batch;
}

/*
 * Keeps a done batch for reuse while the pool's buffers stay within queue.bytes.max (and
 * PRODUCER_POOL_MAX batches): a producer at full speed then fills recycled buffers only, instead of
 * memory fresh from the kernel (a page fault and a zeroed page per 4 KiB, which cost it as
 * much as building the batch).
 */
static void pool_put(rill_producer_t *p, struct pbatch *batch)
{
    uint64_t bytes = pbatch_buffer_bytes(batch);
    if (p->pool_count >= PRODUCER_POOL_MAX || p->pool_bytes + bytes > p->bytes_max) {
        pbatch_free(batch);
        return;
    }
    batch->next = p->pool;
    p->pool = batch;
    p->pool_count++;
    p->pool_bytes += bytes;
}

/* Writes the idempotence fields of a finished batch again (after a new producer id) and its
 * CRC. The rare path: normal batches get them from the builder when they close. */
static void
pbatch_restamp(struct pbatch *batch, int64_t producer_id, int16_t epoch, int32_t sequence)
{
    batch->sequence_base = sequence;
    log_put_be64(batch->data + 43, (uint64_t)producer_id);
    log_put_be16(batch->data + 51, (uint16_t)epoch);
    log_put_be32(batch->data + 53, (uint32_t)sequence);
    log_put_be32(batch->data + 17, log_batch_crc_compute(batch->data, batch->data_bytes));
}

static int32_t sequence_add(int32_t sequence, int32_t count)
{
    return (int32_t)(((int64_t)sequence + count) % ((int64_t)INT32_MAX + 1));
}

/* Closes the open batch of part: finishes it and moves it to the FIFO, giving the builder the
 * buffers of a recycled batch. */
static rill_err part_close(rill_producer_t *p, struct ptopic *topic, struct ppart *part)
{
    struct pbatch *batch = part->open;
    if (batch == NULL || batch->record_count == 0) {
        return RILL_OK;
    }
    /* The batch's own (recycled) buffers become the builder's next ones. */
    uint8_t *spare_records = batch->records_buf;
    size_t spare_records_capacity = batch->records_capacity;
    if (spare_records == NULL) {
        spare_records = malloc(PRODUCER_BUILDER_BYTES_INITIAL);
        if (spare_records == NULL) {
            return RILL_ERR_NOMEM;
        }
        spare_records_capacity = PRODUCER_BUILDER_BYTES_INITIAL;
        batch->records_buf = spare_records;
        batch->records_capacity = spare_records_capacity;
    }
    int32_t sequence = p->idempotent ? part->sequence_next : -1;
    log_batch_builder_set_producer(&part->bld, p->idempotent ? p->producer_id : -1,
                                   p->idempotent ? p->producer_epoch : -1, sequence);
    uint8_t *data = NULL;
    size_t data_bytes = 0;
    rill_err err = log_batch_builder_finish(&part->bld, &data, &data_bytes);
    if (err != RILL_OK) {
        return err;
    }
    /* Swap buffers without copying: the batch takes the builder's, the builder the spares. */
    uint8_t *spare_out = batch->out_buf;
    size_t spare_out_capacity = batch->out_capacity;
    batch->records_end = part->bld.buf_used_bytes;
    batch->records_buf = part->bld.buf;
    batch->records_capacity = part->bld.buf_capacity_bytes;
    batch->out_buf = part->bld.out;
    batch->out_capacity = part->bld.out_capacity_bytes;
    part->bld.buf = spare_records;
    part->bld.buf_capacity_bytes = spare_records_capacity;
    part->bld.out = spare_out;
    part->bld.out_capacity_bytes = spare_out_capacity;
    log_batch_builder_reset(&part->bld);
    batch->data = data;
    batch->data_bytes = data_bytes;
    batch->sequence_base = sequence;
    batch->state = PBATCH_QUEUED;
    batch->next = NULL;
    if (p->idempotent) {
        part->sequence_next = sequence_add(part->sequence_next, batch->record_count);
    }
    if (part->tail != NULL) {
        part->tail->next = batch;
    } else {
        part->head = batch;
    }
    part->tail = batch;
    part->open = NULL;
    if (topic->sticky == (int32_t)(part - topic->parts)) {
        topic->sticky = -1; /* the sticky partition moves on once its batch closed */
    }
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Topics                                                                                     */
/* ---------------------------------------------------------------------------------------- */

static rill_err topic_grow(rill_producer_t *p, struct ptopic *topic, int32_t count)
{
    if (count <= topic->part_count) {
        return RILL_OK;
    }
    struct ppart *parts = realloc(topic->parts, (size_t)count * sizeof(*parts));
    if (parts == NULL) {
        return RILL_ERR_NOMEM;
    }
    topic->parts = parts;
    for (int32_t i = topic->part_count; i < count; i++) {
        memset(&parts[i], 0, sizeof(parts[i]));
        rill_err err = log_batch_builder_init(&parts[i].bld, p->codec, p->batch_bytes);
        if (err != RILL_OK) {
            topic->part_count = i;
            return err;
        }
    }
    topic->part_count = count;
    return RILL_OK;
}

static struct ptopic *topic_find(rill_producer_t *p, const char *name)
{
    if (p->topic_last != NULL && strcmp(p->topic_last->name, name) == 0) {
        return p->topic_last;
    }
    for (unsigned i = 0; i < p->topic_count; i++) {
        if (strcmp(p->topics[i]->name, name) == 0) {
            p->topic_last = p->topics[i];
            return p->topics[i];
        }
    }
    return NULL;
}

struct init_call {
    rill_producer_t *producer;
    rill_err err;
    bool async;
};

static void init_done(struct client *cl,
                      void *ctx,
                      rill_err err,
                      const struct proto_response_header *hdr,
                      struct mp_reader *body,
                      struct client_conn *conn);

static void producer_restamp_all(rill_producer_t *p)
{
    for (unsigned t = 0; t < p->topic_count; t++) {
        struct ptopic *topic = p->topics[t];
        for (int32_t i = 0; i < topic->part_count; i++) {
            struct ppart *part = &topic->parts[i];
            part->sequence_next = 0;
            for (struct pbatch *b = part->head; b != NULL; b = b->next) {
                if (b->state != PBATCH_DONE) {
                    pbatch_restamp(b, p->producer_id, p->producer_epoch, part->sequence_next);
                    part->sequence_next = sequence_add(part->sequence_next, b->record_count);
                }
            }
        }
    }
}

static void init_done(struct client *cl,
                      void *ctx,
                      rill_err err,
                      const struct proto_response_header *hdr,
                      struct mp_reader *body,
                      struct client_conn *conn)
{
    (void)conn;
    struct init_call *call = ctx;
    rill_producer_t *p = call->producer;
    union proto_response resp;
    if (err == RILL_OK) {
        err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                    : client_decode(cl, PROTO_API_INIT_PRODUCER_ID, body, &resp);
    }
    if (err == RILL_OK && resp.init_producer_id.error != RILL_OK) {
        err = client_wire_err(resp.init_producer_id.error);
    }
    if (err == RILL_OK &&
        (resp.init_producer_id.producer_id < 0 || resp.init_producer_id.producer_epoch < 0 ||
         resp.init_producer_id.producer_epoch > INT16_MAX)) {
        err = RILL_ERR_CORRUPT;
    }
    if (err == RILL_OK) {
        p->producer_id = resp.init_producer_id.producer_id;
        p->producer_epoch = (int16_t)resp.init_producer_id.producer_epoch;
    }
    call->err = err;
    if (call->async) {
        p->reinit_pending = false;
        if (err == RILL_OK) {
            p->reinit_wanted = false;
            producer_restamp_all(p);
            DIAG_INFO(PRODUCER_DIAG, "new producer id %lld after the broker lost our sequences",
                      (long long)p->producer_id);
        }
        free(call);
    }
}

/* The first INIT_PRODUCER_ID, waited for by the first rill_produce. */
static rill_err producer_init_id(rill_producer_t *p)
{
    union proto_request request = { .init_producer_id = {
                                        .transactional_id = { NULL, 0 },
                                        .timeout_ms = (int32_t)(p->cl.request_timeout_ns / 1000000),
                                    } };
    struct init_call call = { .producer = p };
    rill_err err = client_call_any(&p->cl, PROTO_API_INIT_PRODUCER_ID, &request, init_done, &call,
                                   client_now_ns() + p->cl.connect_timeout_ns);
    return err != RILL_OK ? err : call.err;
}

/* The producer's state of topic, created from (synchronous) metadata on first use. */
static rill_err topic_get(rill_producer_t *p, const char *name, struct ptopic **out)
{
    struct ptopic *topic = topic_find(p, name);
    if (topic != NULL) {
        *out = topic;
        return RILL_OK;
    }
    struct client_topic *meta = NULL;
    rill_err err =
        client_topic_lookup(&p->cl, name, client_now_ns() + p->cl.connect_timeout_ns, &meta);
    if (err == RILL_ERR_TIMEOUT) {
        err = RILL_ERR_CONNECTION;
    }
    if (err != RILL_OK) {
        return err;
    }
    if (meta->err != RILL_OK) {
        meta->stale = true; /* ask again next time: it may be created meanwhile */
        return meta->err;   /* UNKNOWN_TOPIC, INVALID_TOPIC, CORRUPT (malformed metadata) */
    }
    if (p->idempotent && p->producer_id < 0) {
        err = producer_init_id(p);
        if (err != RILL_OK) {
            return err == RILL_ERR_TIMEOUT ? RILL_ERR_CONNECTION : err;
        }
    }
    if (p->topic_count == p->topic_capacity) {
        unsigned capacity = p->topic_capacity == 0 ? 8 : p->topic_capacity * 2;
        struct ptopic **grown = realloc(p->topics, capacity * sizeof(*grown));
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        p->topics = grown;
        p->topic_capacity = capacity;
    }
    topic = calloc(1, sizeof(*topic));
    if (topic == NULL || (topic->name = strdup(name)) == NULL) {
        free(topic);
        return RILL_ERR_NOMEM;
    }
    topic->meta = meta;
    topic->sticky = -1;
    err = topic_grow(p, topic, meta->partition_count);
    if (err != RILL_OK) {
        for (int32_t i = 0; i < topic->part_count; i++) {
            log_batch_builder_deinit(&topic->parts[i].bld);
        }
        free(topic->parts);
        free(topic->name);
        free(topic);
        return err;
    }
    meta->owner = topic;
    p->topics[p->topic_count++] = topic;
    p->topic_last = topic;
    *out = topic;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Sending and answers                                                                        */
/* ---------------------------------------------------------------------------------------- */

static void batch_done(struct pbatch *batch, rill_err err, int64_t offset_base)
{
    batch->state = PBATCH_DONE;
    batch->err = err;
    batch->offset_base = err == RILL_OK ? offset_base : -1;
}

/* True when batch is the oldest unresolved batch of part (nothing before it is pending). */
static bool batch_is_oldest(const struct ppart *part, const struct pbatch *batch)
{
    for (const struct pbatch *b = part->head; b != NULL && b != batch; b = b->next) {
        if (b->state != PBATCH_DONE) {
            return false;
        }
    }
    return true;
}

/* A batch's send failed with err: retry it (same bytes) or make the failure final. */
static void batch_failed(rill_producer_t *p,
                         struct ptopic *topic,
                         struct ppart *part,
                         struct pbatch *batch,
                         rill_err err)
{
    int64_t now = client_now_ns();
    bool retriable = client_err_retriable(err);
    DIAG_DEBUG(PRODUCER_DIAG, "batch of %s/%d (sequence %d, attempt %u) failed: %s", topic->name,
               (int)(part - topic->parts), batch->sequence_base, batch->attempts,
               rill_err_name(err));
    if (err == RILL_ERR_OUT_OF_ORDER_SEQUENCE || err == RILL_ERR_UNKNOWN_PRODUCER) {
        /* A gap behind an earlier failed batch heals when that one is resent first. As the
         * oldest pending batch, the broker no longer knows our sequence: new producer id. */
        retriable = p->idempotent;
        if (p->idempotent && (err == RILL_ERR_UNKNOWN_PRODUCER || batch_is_oldest(part, batch))) {
            p->reinit_wanted = true;
        }
    }
    if (err == RILL_ERR_UNKNOWN_TOPIC || err == RILL_ERR_UNKNOWN_PARTITION ||
        err == RILL_ERR_CONNECTION || err == RILL_ERR_OFFLINE || err == RILL_ERR_SHUTTING_DOWN) {
        topic->meta->stale = true;
    }
    if (err == RILL_ERR_INVALID_PRODUCER_EPOCH) {
        p->fatal = true; /* fenced by a newer producer with our id: nothing more can succeed */
        p->fatal_err = err;
    }
    if (p->acks == 0) {
        retriable = false; /* fire and forget: a retry could reorder or duplicate */
    }
    if (!retriable || now - batch->created_ns >= p->delivery_timeout_ns) {
        batch_done(batch, err, -1);
        return;
    }
    batch->state = PBATCH_QUEUED;
    batch->retry_at_ns = now + client_backoff_ns(p->cl.backoff_ns, p->cl.backoff_max_ns,
                                                 batch->attempts, &p->cl.rng);
    batch->attempts++;
}

static const struct proto_produce_partition_result *result_find(
    const struct proto_produce_response *resp, const struct ptopic *topic, int32_t partition)
{
    size_t name_bytes = strlen(topic->name);
    for (uint32_t t = 0; t < resp->topic_count; t++) {
        const struct proto_produce_topic_result *entry = &resp->topics[t];
        if (entry->name.bytes != name_bytes ||
            memcmp(entry->name.ptr, topic->name, name_bytes) != 0) {
            continue;
        }
        for (uint32_t i = 0; i < entry->partition_count; i++) {
            if (entry->partitions[i].partition == partition) {
                return &entry->partitions[i];
            }
        }
    }
    return NULL;
}

static void produce_done(struct client *cl,
                         void *ctx,
                         rill_err err,
                         const struct proto_response_header *hdr,
                         struct mp_reader *body,
                         struct client_conn *conn)
{
    struct preq *req = ctx;
    rill_producer_t *p = req->producer;
    union proto_response resp;
    bool answered = err == RILL_OK && hdr != NULL;
    if (answered) {
        err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                    : client_decode(cl, PROTO_API_PRODUCE, body, &resp);
        if (err == RILL_ERR_INVALID_REQUEST && hdr->error == RILL_OK) {
            err = RILL_ERR_CONNECTION; /* retry its batches, on a new connection */
            client_conn_abort(cl, conn);
        }
    }
    for (uint32_t i = 0; i < req->item_count; i++) {
        struct preq_item *item = &req->items[i];
        struct ppart *part = &item->topic->parts[item->partition];
        struct pbatch *batch = item->batch;
        RILL_ASSERT(part->inflight > 0 && p->inflight > 0);
        part->inflight--;
        p->inflight--;
        if (batch->state != PBATCH_INFLIGHT) {
            continue; /* made final meanwhile (destroy) */
        }
        if (err == RILL_OK && !answered) {
            batch_done(batch, RILL_OK, -1); /* acks=0: written to the socket */
            continue;
        }
        if (err != RILL_OK) {
            batch_failed(p, item->topic, part, batch, err);
            continue;
        }
        const struct proto_produce_partition_result *result =
            result_find(&resp.produce, item->topic, item->partition);
        rill_err part_err = result == NULL ? RILL_ERR_CONNECTION : client_wire_err(result->error);
        if (part_err == RILL_OK || part_err == RILL_ERR_DUPLICATE_SEQUENCE) {
            if (result->base_offset < 0) {
                batch_failed(p, item->topic, part, batch, RILL_ERR_CONNECTION);
            } else {
                batch_done(batch, RILL_OK, result->base_offset);
            }
        } else {
            batch_failed(p, item->topic, part, batch, part_err);
        }
    }
    free(req);
}

/* The first batch of part that may be sent now, or NULL. */
static struct pbatch *part_sendable(const rill_producer_t *p, const struct ppart *part, int64_t now)
{
    if (part->inflight >= p->max_inflight) {
        return NULL;
    }
    for (struct pbatch *b = part->head; b != NULL; b = b->next) {
        if (b->state == PBATCH_QUEUED) {
            return b->retry_at_ns <= now ? b : NULL;
        }
    }
    return NULL;
}

static rill_err scratch_reserve(rill_producer_t *p, size_t count)
{
    if (count <= p->scratch_capacity) {
        return RILL_OK;
    }
    size_t capacity = p->scratch_capacity == 0 ? 64 : p->scratch_capacity;
    while (capacity < count) {
        capacity *= 2;
    }
    struct proto_produce_topic *topics = realloc(p->scratch_topics, capacity * sizeof(*topics));
    if (topics == NULL) {
        return RILL_ERR_NOMEM;
    }
    p->scratch_topics = topics;
    struct proto_produce_partition *parts = realloc(p->scratch_parts, capacity * sizeof(*parts));
    if (parts == NULL) {
        return RILL_ERR_NOMEM;
    }
    p->scratch_parts = parts;
    p->scratch_capacity = capacity;
    return RILL_OK;
}

/* Builds and queues one PRODUCE request for conn from the sendable batches of the partitions
 * it leads. Returns the number of batches queued (0: nothing to send or cannot). */
static uint32_t send_one_request(rill_producer_t *p, struct client_conn *conn, int64_t now)
{
    size_t candidates = 0;
    for (unsigned t = 0; t < p->topic_count; t++) {
        candidates += (size_t)p->topics[t]->part_count;
    }
    if (candidates == 0 || scratch_reserve(p, candidates) != RILL_OK) {
        return 0;
    }
    struct preq *req = malloc(sizeof(*req) + candidates * sizeof(req->items[0]));
    if (req == NULL) {
        return 0;
    }
    req->producer = p;
    req->item_count = 0;
    uint32_t topic_count = 0;
    size_t bytes = 0;
    for (unsigned t = 0; t < p->topic_count && bytes < PRODUCER_REQUEST_BYTES_MAX; t++) {
        struct ptopic *topic = p->topics[t];
        uint32_t first_part = req->item_count;
        for (int32_t i = 0; i < topic->part_count && bytes < PRODUCER_REQUEST_BYTES_MAX; i++) {
            if (i >= topic->meta->partition_count || topic->meta->err != RILL_OK) {
                continue;
            }
            struct client_conn *leader = client_conn_leader(&p->cl, topic->meta->leaders[i]);
            if (leader != conn) {
                continue;
            }
            struct pbatch *batch = part_sendable(p, &topic->parts[i], now);
            if (batch == NULL) {
                continue;
            }
            p->scratch_parts[req->item_count] = (struct proto_produce_partition){
                .partition = i,
                .batches = { batch->data, (uint32_t)batch->data_bytes },
            };
            req->items[req->item_count++] =
                (struct preq_item){ .topic = topic, .partition = i, .batch = batch };
            bytes += batch->data_bytes;
        }
        if (req->item_count > first_part) {
            p->scratch_topics[topic_count++] = (struct proto_produce_topic){
                .name = { topic->name, (uint32_t)strlen(topic->name) },
                .partitions = &p->scratch_parts[first_part],
                .partition_count = req->item_count - first_part,
            };
        }
    }
    if (req->item_count == 0) {
        free(req);
        return 0;
    }
    int64_t timeout_ms = p->cl.request_timeout_ns / 1000000;
    union proto_request request = { .produce = {
                                        .acks = p->acks,
                                        .timeout_ms =
                                            (int32_t)(timeout_ms > INT32_MAX ? INT32_MAX
                                                                             : timeout_ms),
                                        .topics = p->scratch_topics,
                                        .topic_count = topic_count,
                                    } };
    /* the broker's durability wait plus the trip: the answer is due a little after */
    rill_err err = client_request(&p->cl, conn, PROTO_API_PRODUCE, &request, produce_done, req,
                                  p->cl.request_timeout_ns + p->cl.request_timeout_ns / 2);
    if (err != RILL_OK) {
        free(req);
        return 0;
    }
    uint32_t count = req->item_count;
    for (uint32_t i = 0; i < count; i++) {
        req->items[i].batch->state = PBATCH_INFLIGHT;
        req->items[i].topic->parts[req->items[i].partition].inflight++;
        p->inflight++;
    }
    return count;
}

/* Queues requests for every connection while there are sendable batches, then sends. */
static void producer_send(rill_producer_t *p)
{
    if (p->reinit_wanted || p->reinit_pending) {
        return; /* sequences are about to change: nothing leaves meanwhile */
    }
    int64_t now = client_now_ns();
    /* Every connection that leads a partition with something to send. */
    struct client_conn *conns[CLIENT_CONNS_MAX];
    unsigned conn_count = 0;
    for (unsigned t = 0; t < p->topic_count; t++) {
        struct ptopic *topic = p->topics[t];
        if (topic->meta->err != RILL_OK) {
            topic->meta->stale = true; /* deleted, or the last answer was bad: ask again */
            continue;
        }
        for (int32_t i = 0; i < topic->part_count && i < topic->meta->partition_count; i++) {
            if (part_sendable(p, &topic->parts[i], now) == NULL) {
                continue;
            }
            struct client_conn *conn = client_conn_leader(&p->cl, topic->meta->leaders[i]);
            if (conn == NULL) {
                topic->meta->stale = true;
                continue;
            }
            bool known = false;
            for (unsigned c = 0; c < conn_count; c++) {
                known = known || conns[c] == conn;
            }
            if (!known) {
                conns[conn_count++] = conn;
            }
        }
    }
    for (unsigned c = 0; c < conn_count; c++) {
        struct client_conn *conn = conns[c];
        while (client_conn_writable(&p->cl, conn) &&
               client_conn_unsent(conn) < CLIENT_SEND_BYTES_HIGH &&
               send_one_request(p, conn, now) > 0) {
        }
    }
    client_flush(&p->cl);
}

/* Closes due open batches, fails expired queued ones, starts a new producer id when wanted. */
static void producer_housekeeping(rill_producer_t *p)
{
    int64_t now = client_now_ns();
    for (unsigned t = 0; t < p->topic_count; t++) {
        struct ptopic *topic = p->topics[t];
        if (topic->meta->partition_count > topic->part_count) {
            (void)topic_grow(p, topic, topic->meta->partition_count);
        }
        for (int32_t i = 0; i < topic->part_count; i++) {
            struct ppart *part = &topic->parts[i];
            if (part->open != NULL && part->open->record_count > 0 &&
                (p->flushing || now - part->open->created_ns >= p->linger_ns)) {
                if (part_close(p, topic, part) != RILL_OK) {
                    DIAG_WARN(PRODUCER_DIAG, "cannot close a batch of %s/%d", topic->name, i);
                }
            }
            /* Batches are created in FIFO order: past the first queued batch that has not
             * expired, none has. */
            for (struct pbatch *b = part->head; b != NULL; b = b->next) {
                if (b->state != PBATCH_QUEUED) {
                    continue;
                }
                if (!p->fatal && now - b->created_ns < p->delivery_timeout_ns) {
                    break;
                }
                batch_done(b, p->fatal ? p->fatal_err : RILL_ERR_TIMEOUT, -1);
            }
        }
    }
    if (p->reinit_wanted && !p->reinit_pending && p->inflight == 0) {
        struct init_call *call = calloc(1, sizeof(*call));
        struct client_conn *conn = client_conn_get(&p->cl, -1);
        if (call != NULL && conn != NULL) {
            call->producer = p;
            call->async = true;
            union proto_request request = {
                .init_producer_id = { .transactional_id = { NULL, 0 },
                                      .timeout_ms = (int32_t)(p->cl.request_timeout_ns / 1000000) }
            };
            if (client_request(&p->cl, conn, PROTO_API_INIT_PRODUCER_ID, &request, init_done, call,
                               p->cl.request_timeout_ns) == RILL_OK) {
                p->reinit_pending = true;
                call = NULL;
            }
        }
        free(call);
    }
    client_metadata_refresh(&p->cl);
}

/* Serves the reports of DONE batches at the heads of the partition FIFOs. */
static int producer_serve(rill_producer_t *p)
{
    int served = 0;
    for (unsigned t = 0; t < p->topic_count; t++) {
        struct ptopic *topic = p->topics[t];
        for (int32_t i = 0; i < topic->part_count; i++) {
            struct ppart *part = &topic->parts[i];
            while (part->head != NULL && part->head->state == PBATCH_DONE) {
                struct pbatch *batch = part->head;
                part->head = batch->next;
                if (part->head == NULL) {
                    part->tail = NULL;
                }
                const uint8_t *pos = batch->records_buf + LOG_BATCH_HEADER_BYTES;
                for (int32_t r = 0; r < batch->record_count; r++) {
                    rill_delivery_report_t report = {
                        .err = batch->err,
                        .topic = topic->name,
                        .partition = i,
                        .offset = batch->err == RILL_OK && batch->offset_base >= 0
                                      ? batch->offset_base + r
                                      : -1,
                        .record_opaque = batch->opaques[r],
                    };
                    producer_record_walk(&pos, &report.key, &report.key_bytes, &report.value,
                                         &report.value_bytes);
                    if (p->on_delivery != NULL) {
                        p->in_callback = true;
                        p->on_delivery(&report, p->opaque);
                        p->in_callback = false;
                    }
                }
                served += batch->record_count;
                p->records_outstanding -= (uint64_t)batch->record_count;
                p->bytes_outstanding -= batch->bytes_accounted;
                pool_put(p, batch);
            }
        }
    }
    return served;
}

/* When the producer next has something to do by itself (linger, retry backoff). */
static int64_t producer_wake_ns(const rill_producer_t *p, int64_t deadline_ns)
{
    int64_t now = client_now_ns();
    int64_t wake = deadline_ns;
    /* Anything outstanding may be waiting on a state no socket event announces (a connection
     * backing off, a metadata refresh to retry, a delivery timeout): look again regularly. */
    if (p->records_outstanding > 0) {
        int64_t step = p->cl.backoff_max_ns > 10000000 ? p->cl.backoff_max_ns : 10000000;
        wake = now + step < wake ? now + step : wake;
    }
    for (unsigned t = 0; t < p->topic_count; t++) {
        const struct ptopic *topic = p->topics[t];
        for (int32_t i = 0; i < topic->part_count; i++) {
            const struct ppart *part = &topic->parts[i];
            if (part->open != NULL && part->open->record_count > 0) {
                int64_t due = p->flushing ? 0 : part->open->created_ns + p->linger_ns;
                wake = due < wake ? due : wake;
            }
            for (const struct pbatch *b = part->head; b != NULL; b = b->next) {
                if (b->state == PBATCH_QUEUED) {
                    /* Due already but not sent: blocked on something that wakes us anyway. */
                    if (b->retry_at_ns > now && b->retry_at_ns < wake) {
                        wake = b->retry_at_ns;
                    }
                    break;
                }
            }
        }
    }
    return wake;
}

/* ---------------------------------------------------------------------------------------- */
/* Public API                                                                                 */
/* ---------------------------------------------------------------------------------------- */

rill_err rill_producer_create(const rill_conf_t *conf,
                              rill_delivery_cb *on_delivery,
                              void *opaque,
                              char *errstr,
                              size_t errstr_bytes,
                              rill_producer_t **out_producer)
{
    if (out_producer == NULL) {
        return RILL_ERR_INVALID;
    }
    rill_err err = conf_check_scope(conf, CONF_SCOPE_PRODUCER, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    const char *acks = conf_value(conf, "acks");
    int acks_value = strcmp(acks, "0") == 0 ? 0 : strcmp(acks, "1") == 0 ? 1 : -1;
    const char *idempotence = rill_conf_get(conf, "enable.idempotence");
    if (acks_value == 0 && idempotence != NULL && strcmp(idempotence, "true") == 0) {
        rill_errstr_set(errstr, errstr_bytes,
                        "enable.idempotence=true needs acks 1 or all (acks=0 gets no answers)");
        return RILL_ERR_CONFIG_VALUE;
    }
    rill_producer_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return RILL_ERR_NOMEM;
    }
    err = client_init(&p->cl, conf, errstr, errstr_bytes);
    if (err != RILL_OK) {
        free(p);
        return err;
    }
    p->on_delivery = on_delivery;
    p->opaque = opaque;
    p->acks = acks_value;
    p->codec =
        strcmp(conf_client_value(conf, "compression"), "lz4") == 0 ? LOG_CODEC_LZ4 : LOG_CODEC_NONE;
    p->batch_bytes = (size_t)conf_int64(conf, "batch.bytes");
    p->linger_ns = conf_int64(conf, "linger.ms") * 1000000;
    p->delivery_timeout_ns = conf_int64(conf, "delivery.timeout.ms") * 1000000;
    p->max_inflight = (unsigned)conf_int64(conf, "max.inflight.per.partition");
    p->idempotent = conf_bool(conf, "enable.idempotence") && acks_value != 0;
    p->records_max = (uint64_t)conf_int64(conf, "queue.records.max");
    p->bytes_max = (uint64_t)conf_int64(conf, "queue.bytes.max");
    p->producer_id = -1;
    p->producer_epoch = -1;
    *out_producer = p;
    return RILL_OK;
}

void rill_producer_destroy(rill_producer_t *producer)
{
    if (producer == NULL) {
        return;
    }
    rill_producer_t *p = producer;
    /* Connections first: requests in flight fail with RILL_ERR_CLOSED (not retriable) while
     * their batches still exist. Then every record not reported yet gets RILL_ERR_CLOSED. */
    client_deinit(&p->cl);
    for (unsigned t = 0; t < p->topic_count; t++) {
        struct ptopic *topic = p->topics[t];
        for (int32_t i = 0; i < topic->part_count; i++) {
            struct ppart *part = &topic->parts[i];
            (void)part_close(p, topic, part);
            for (struct pbatch *b = part->head; b != NULL; b = b->next) {
                if (b->state != PBATCH_DONE) {
                    batch_done(b, RILL_ERR_CLOSED, -1);
                }
            }
        }
    }
    (void)producer_serve(p);
    for (unsigned t = 0; t < p->topic_count; t++) {
        struct ptopic *topic = p->topics[t];
        for (int32_t i = 0; i < topic->part_count; i++) {
            struct ppart *part = &topic->parts[i];
            log_batch_builder_deinit(&part->bld);
            if (part->open != NULL) {
                pbatch_free(part->open);
            }
            while (part->head != NULL) { /* only if a close failed */
                struct pbatch *b = part->head;
                part->head = b->next;
                pbatch_free(b);
            }
        }
        free(topic->parts);
        free(topic->name);
        free(topic);
    }
    free(p->topics);
    while (p->pool != NULL) {
        struct pbatch *b = p->pool;
        p->pool = b->next;
        pbatch_free(b);
    }
    free(p->scratch_topics);
    free(p->scratch_parts);
    free(p);
}

static size_t record_bytes(const rill_record_t *record)
{
    size_t bytes = record->key_bytes + record->value_bytes + 16;
    for (size_t i = 0; i < record->header_count; i++) {
        bytes += record->headers[i].name_bytes + record->headers[i].value_bytes;
    }
    return bytes;
}

/* Adds record to part's open batch, closing it first when full. */
static rill_err part_add(rill_producer_t *p,
                         struct ptopic *topic,
                         struct ppart *part,
                         const rill_record_t *record,
                         void *record_opaque,
                         bool *out_closed)
{
    int64_t now_ms = record->timestamp_ms < 0 ? rill_clock_wall_ms() : 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (part->open == NULL) {
            part->open = pool_take(p);
            if (part->open == NULL) {
                return RILL_ERR_NOMEM;
            }
            part->open->created_ns = client_now_ns();
        }
        struct pbatch *batch = part->open;
        if ((size_t)batch->record_count == batch->opaques_capacity) {
            size_t capacity = batch->opaques_capacity == 0 ? 256 : batch->opaques_capacity * 2;
            void **grown = realloc(batch->opaques, capacity * sizeof(*grown));
            if (grown == NULL) {
                return RILL_ERR_NOMEM;
            }
            batch->opaques = grown;
            batch->opaques_capacity = capacity;
        }
        rill_err err = log_batch_builder_add(&part->bld, record, now_ms);
        if (err == RILL_OK) {
            batch->opaques[batch->record_count++] = record_opaque;
            return RILL_OK;
        }
        if (err != RILL_ERR_TOO_LARGE || batch->record_count == 0) {
            return err;
        }
        err = part_close(p, topic, part);
        if (err != RILL_OK) {
            return err;
        }
        *out_closed = true;
    }
    return RILL_ERR_TOO_LARGE;
}

rill_err rill_produce(rill_producer_t *producer,
                      const char *topic_name,
                      int32_t partition,
                      const rill_record_t *record,
                      void *record_opaque)
{
    rill_producer_t *p = producer;
    if (p == NULL || topic_name == NULL || record == NULL ||
        (partition < 0 && partition != RILL_PARTITION_ANY)) {
        return RILL_ERR_INVALID;
    }
    if (p->fatal) {
        return p->fatal_err;
    }
    if (p->records_outstanding >= p->records_max) {
        return RILL_ERR_FULL;
    }
    size_t bytes = record_bytes(record);
    if (p->bytes_outstanding + bytes > p->bytes_max) {
        return p->bytes_outstanding == 0 ? RILL_ERR_TOO_LARGE : RILL_ERR_FULL;
    }
    struct ptopic *topic = NULL;
    rill_err err = topic_get(p, topic_name, &topic);
    if (err != RILL_OK) {
        return err;
    }
    int32_t count = topic->part_count;
    if (partition == RILL_PARTITION_ANY) {
        if (record->key != NULL) {
            partition = producer_partition_for_key(record->key, record->key_bytes, count);
        } else {
            if (topic->sticky < 0 || topic->sticky >= count) {
                topic->sticky = (int32_t)(client_random(&p->cl) % (uint64_t)count);
            }
            partition = topic->sticky;
        }
    } else if (partition >= count) {
        return RILL_ERR_UNKNOWN_PARTITION;
    }
    struct ppart *part = &topic->parts[partition];
    bool closed = false;
    err = part_add(p, topic, part, record, record_opaque, &closed);
    if (err != RILL_OK) {
        return err;
    }
    part->open->bytes_accounted += bytes;
    p->records_outstanding++;
    p->bytes_outstanding += bytes;
    if (closed) {
        producer_send(p);
    }
    return RILL_OK;
}

int rill_poll(rill_producer_t *producer, int timeout_ms)
{
    rill_producer_t *p = producer;
    if (p == NULL || p->in_callback) {
        return 0; /* from a delivery callback: reports are being served already */
    }
    int64_t now = client_now_ns();
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
    int served = 0;
    for (;;) {
        producer_housekeeping(p);
        producer_send(p);
        client_poll(&p->cl, 0);
        served += producer_serve(p);
        now = client_now_ns();
        if (served > 0 || now >= deadline || (timeout_ms < 0 && p->records_outstanding == 0)) {
            return served;
        }
        client_poll(&p->cl, producer_wake_ns(p, deadline));
        served += producer_serve(p);
        if (served > 0) {
            return served;
        }
    }
}

rill_err rill_flush(rill_producer_t *producer, int timeout_ms)
{
    rill_producer_t *p = producer;
    if (p == NULL || p->in_callback) {
        return RILL_ERR_INVALID; /* not from a delivery callback */
    }
    int64_t now = client_now_ns();
    int64_t wait_ns = timeout_ms < 0 ? p->delivery_timeout_ns + p->cl.request_timeout_ns * 2
                                     : (int64_t)timeout_ms * 1000000;
    int64_t deadline = now + wait_ns;
    p->flushing = true;
    while (p->records_outstanding > 0) {
        producer_housekeeping(p);
        producer_send(p);
        client_poll(&p->cl, 0);
        (void)producer_serve(p);
        if (p->records_outstanding == 0 || client_now_ns() >= deadline) {
            break;
        }
        client_poll(&p->cl, producer_wake_ns(p, deadline));
        (void)producer_serve(p);
    }
    p->flushing = false;
    return p->records_outstanding == 0 ? RILL_OK : RILL_ERR_TIMEOUT;
}

size_t rill_producer_outstanding(const rill_producer_t *producer)
{
    return producer != NULL ? (size_t)producer->records_outstanding : 0;
}
