/*
 * group.c - subscribe mode of rill_consumer_t: the consumer group member of docs/protocol.md
 * ("Consumer groups": the client loop and the cooperative handover).
 *
 * No thread: the member runs inside rill_consume() (cgroup_serve() before every fetch round)
 * and inside rill_commit() / rill_unsubscribe() while they wait. Every request is
 * asynchronous; its handler (inside client_poll) only stores the answer, and group_step()
 * applies it:
 *   JOIN_GROUP     first join (member id "") and every rejoin; the answer gives the partitions
 *                  to hold (assignment) and those to give up (revoke);
 *   HEARTBEAT      every heartbeat interval while a member: REBALANCE_IN_PROGRESS and
 *                  STALE_GENERATION ask for a rejoin, UNKNOWN_MEMBER_ID means the partitions
 *                  are lost;
 *   OFFSET_FETCH   the committed offsets of newly assigned partitions;
 *   LIST_OFFSETS   auto.offset.reset for partitions without a usable offset;
 *   OFFSET_COMMIT  auto-commit, the commit of revoked partitions, rill_commit();
 *   LEAVE_GROUP    rill_unsubscribe().
 * Callbacks are queued as events and called from rill_consume() only. A revocation follows
 * the handover: the revoked partitions stop being fetched at once (fetched records dropped),
 * the REVOKED callback runs at the next rill_consume(), then (auto-commit) their consumed
 * positions are committed with the generation of the answer that revoked them, and only then
 * does the member rejoin, which releases them. Joins are sent from rill_consume() only.
 *
 * Bounds: CGROUP_EVENTS_MAX events wait for rill_consume (joins pause while the queue is
 * nearly full), CGROUP_COMMITS_MAX commits are pending, answers hold at most the protocol's
 * array budget of partitions and are checked (names, order, ranges) before use; every wait
 * has a deadline and every retry a backoff.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer.h"
#include "common/assert.h"
#include "common/diag.h"
#include "common/err.h"

#define GROUP_DIAG "group"

#define CGROUP_EVENTS_MAX          64u    /* events waiting for rill_consume */
#define CGROUP_EVENTS_JOIN_ROOM    4u     /* free event slots a join needs (its answer's events) */
#define CGROUP_COMMITS_MAX         16u    /* commits waiting to be sent or answered */
#define CGROUP_TOPICS_MAX          10000u /* names in one subscription */
#define CGROUP_ENTRIES_MAX         RILL_PROTO_ARRAY_ENTRIES_MAX /* partitions in a list */
#define CGROUP_MEMBER_ID_BYTES_MAX 255u
#define CGROUP_PATTERN_BYTES_MAX   1024u
#define CGROUP_HEARTBEAT_MIN_MS    10 /* a faster heartbeat from an answer is not believed */

enum cg_event_kind {
    CG_EVENT_REBALANCE,
    CG_EVENT_COMMIT,
};

/* A callback waiting for rill_consume. items is one allocation (names included). */
struct cg_event {
    enum cg_event_kind kind;
    rill_rebalance_event_t rebalance;
    bool ends_revoke; /* delivering it lets the revoke sequence go on */
    rill_err err;     /* commit: the request's error */
    void *items;      /* rill_topic_partition_t[] or rill_commit_offset_t[] */
    size_t count;
};

enum cg_commit_kind {
    CG_COMMIT_AUTO,   /* auto.commit.interval.ms */
    CG_COMMIT_REVOKE, /* positions of revoked partitions, before the rejoin */
    CG_COMMIT_SYNC,   /* rill_commit(async false) and rill_unsubscribe: a caller waits */
    CG_COMMIT_ASYNC,  /* rill_commit(async true) */
};

/* One OFFSET_COMMIT. offsets is a copy sorted by (topic, partition), names and metadata in
 * the same allocation. */
struct cg_commit {
    rill_consumer_t *c;
    enum cg_commit_kind kind;
    bool sent;             /* queued on a connection: the handler will run */
    bool done;             /* answered or failed: err and the entries' err are final */
    bool collected;        /* its effects were applied (sync: the waiter frees it) */
    bool abandoned;        /* its waiter gave up: freed once done */
    uint64_t member_epoch; /* the membership it was sent under */
    rill_err err;          /* request-level error */
    rill_commit_offset_t *offsets;
    size_t count;
    int64_t deadline_ns; /* not sent by then: fails with RILL_ERR_TIMEOUT */
};

/* A JOIN_GROUP answer, copied out of the frame by its handler. */
struct cg_join_answer {
    rill_err err;
    int32_t generation;
    char member_id[CGROUP_MEMBER_ID_BYTES_MAX + 1];
    int32_t heartbeat_ms;
    rill_topic_partition_t *assignment; /* one allocation each, sorted as on the wire */
    size_t assignment_count;
    rill_topic_partition_t *revoke;
    size_t revoke_count;
};

enum cg_revoke_stage {
    CG_REVOKE_NONE,
    CG_REVOKE_CALLBACK, /* the REVOKED event waits for rill_consume */
    CG_REVOKE_COMMIT,   /* the revoke commit is pending */
};

struct cgroup {
    bool active; /* subscribed */
    char id[PROTO_GROUP_ID_BYTES_MAX + 1];
    char **topics; /* sorted names subscription (one allocation), or NULL */
    size_t topic_count;
    char *pattern;        /* pattern subscription, or NULL */
    regex_t regex;        /* compiled "^(pattern)$" when pattern != NULL */
    uint64_t sub_token;   /* bumped by subscribe (first) and unsubscribe */
    uint64_t sub_version; /* bumped by every rill_subscribe (the subscription changed) */
    /* membership */
    bool member; /* a join succeeded since the last loss */
    char member_id[CGROUP_MEMBER_ID_BYTES_MAX + 1];
    int32_t generation;
    uint64_t member_epoch; /* bumped by every applied join answer and every loss */
    int64_t heartbeat_ns;
    int64_t contact_ns; /* last answer that proved the membership alive */
    /* joining */
    bool rejoin; /* a (re)join is wanted */
    bool join_inflight;
    bool join_answered;
    uint64_t join_token;   /* sub_token when the join in flight was sent */
    uint64_t join_version; /* sub_version then */
    struct cg_join_answer answer;
    unsigned join_failures;
    int64_t join_retry_ns;
    rill_err error_due;      /* a group error to return as a message */
    rill_err error_reported; /* the last one returned (each once in a row) */
    enum cg_revoke_stage revoke_stage;
    struct cg_commit *revoke_commit;
    /* heartbeat */
    bool hb_inflight;
    bool hb_answered;
    rill_err hb_err;
    uint64_t hb_epoch;
    int64_t hb_next_ns;
    unsigned hb_failures;
    int64_t joined_ns; /* when the last join answer was applied */
    /* offset lookups */
    bool offsets_inflight; /* OFFSET_FETCH */
    bool list_inflight;    /* LIST_OFFSETS */
    int64_t lookup_retry_ns;
    bool lookup_scan; /* a partition may want a lookup: look (else the loop skips the scan) */
    bool events_scan; /* a partition may have an event due */
    bool poke;        /* an answer came or a call changed something: run the loop */
    int64_t due_ns;   /* else the loop has nothing to do before this (cgroup_wake_ns) */
    unsigned lookup_failures;
    /* commits */
    int64_t auto_commit_ns;
    struct cg_commit *commits[CGROUP_COMMITS_MAX];
    unsigned commit_count;
    /* leaving */
    bool leave_inflight;
    bool leave_answered;
    rill_err leave_err;
    /* callbacks waiting for rill_consume */
    struct cg_event events[CGROUP_EVENTS_MAX];
    unsigned event_head;
    unsigned event_count;
};

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                              */
/* ---------------------------------------------------------------------------------------- */

static int64_t ms_ns(int64_t ms)
{
    return ms * 1000000;
}

static int64_t min_ns(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int str_cmp_wire(const char *a, const char *b, size_t b_bytes)
{
    size_t a_bytes = strlen(a);
    size_t n = a_bytes < b_bytes ? a_bytes : b_bytes;
    int cmp = memcmp(a, b, n);
    if (cmp != 0) {
        return cmp;
    }
    return a_bytes < b_bytes ? -1 : (a_bytes > b_bytes ? 1 : 0);
}

static int tp_cmp(const char *topic_a, int32_t part_a, const char *topic_b, int32_t part_b)
{
    int cmp = strcmp(topic_a, topic_b);
    if (cmp != 0) {
        return cmp;
    }
    return part_a < part_b ? -1 : (part_a > part_b ? 1 : 0);
}

/* Binary search in a list sorted by (topic, partition). */
static bool
tp_contains(const rill_topic_partition_t *items, size_t count, const char *topic, int32_t partition)
{
    size_t low = 0;
    size_t high = count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int cmp = tp_cmp(items[mid].topic, items[mid].partition, topic, partition);
        if (cmp == 0) {
            return true;
        }
        if (cmp < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return false;
}

static int part_ptr_cmp(const void *a, const void *b)
{
    const struct cpart *pa = *(const struct cpart *const *)a;
    const struct cpart *pb = *(const struct cpart *const *)b;
    return tp_cmp(pa->topic, pa->partition, pb->topic, pb->partition);
}

/* The partitions of c sorted by (topic, partition), for the answers that list many of them;
 * NULL when out of memory (part_lookup then searches linearly). Valid while no partition is
 * added or removed. */
static struct cpart **parts_sorted(rill_consumer_t *c)
{
    struct cpart **sorted = malloc((c->part_count + 1u) * sizeof(*sorted));
    if (sorted != NULL && c->part_count > 0) {
        memcpy(sorted, c->parts, c->part_count * sizeof(*sorted));
        qsort(sorted, c->part_count, sizeof(*sorted), part_ptr_cmp);
    }
    return sorted;
}

static struct cpart *part_lookup(rill_consumer_t *c,
                                 struct cpart *const *sorted,
                                 size_t sorted_count,
                                 const char *topic,
                                 size_t topic_bytes,
                                 int32_t partition)
{
    if (sorted == NULL) {
        return consumer_part_find(c, topic, topic_bytes, partition);
    }
    size_t low = 0;
    size_t high = sorted_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int cmp = str_cmp_wire(sorted[mid]->topic, topic, topic_bytes);
        if (cmp == 0) {
            cmp = sorted[mid]->partition < partition ? -1
                                                     : (sorted[mid]->partition > partition ? 1 : 0);
        }
        if (cmp == 0) {
            return sorted[mid];
        }
        if (cmp < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return NULL;
}

/* A list of the given parts as one allocation (names copied after the array). NULL when out
 * of memory or count is 0. */
static rill_topic_partition_t *tp_from_parts(struct cpart *const *parts, size_t count)
{
    if (count == 0) {
        return NULL;
    }
    size_t bytes = count * sizeof(rill_topic_partition_t);
    for (size_t i = 0; i < count; i++) {
        bytes += strlen(parts[i]->topic) + 1;
    }
    rill_topic_partition_t *items = malloc(bytes);
    if (items == NULL) {
        return NULL;
    }
    char *names = (char *)(items + count);
    for (size_t i = 0; i < count; i++) {
        size_t name_bytes = strlen(parts[i]->topic) + 1;
        memcpy(names, parts[i]->topic, name_bytes);
        items[i] = (rill_topic_partition_t){ .topic = names, .partition = parts[i]->partition };
        names += name_bytes;
    }
    return items;
}

/* Copies a wire list of [topic, partitions[]] after checking it: valid names in strictly
 * increasing order, partitions strictly ascending in [0, RILL_PARTITIONS_MAX), at most
 * CGROUP_ENTRIES_MAX in all. RILL_ERR_CORRUPT otherwise. */
static rill_err tp_from_wire(const struct proto_topic_partitions *wire,
                             uint32_t wire_count,
                             rill_topic_partition_t **out,
                             size_t *out_count)
{
    size_t count = 0;
    size_t bytes = 0;
    for (uint32_t t = 0; t < wire_count; t++) {
        const struct proto_topic_partitions *entry = &wire[t];
        if (!proto_topic_name_valid(entry->topic.ptr, entry->topic.bytes, true)) {
            return RILL_ERR_CORRUPT;
        }
        if (t > 0) {
            const struct proto_str *prev = &wire[t - 1].topic;
            size_t n = prev->bytes < entry->topic.bytes ? prev->bytes : entry->topic.bytes;
            int cmp = memcmp(prev->ptr, entry->topic.ptr, n);
            if (cmp > 0 || (cmp == 0 && prev->bytes >= entry->topic.bytes)) {
                return RILL_ERR_CORRUPT; /* not strictly increasing: repeated or unordered */
            }
        }
        for (uint32_t i = 0; i < entry->partition_count; i++) {
            int32_t p = entry->partitions[i];
            if (p < 0 || p >= RILL_PARTITIONS_MAX || (i > 0 && entry->partitions[i - 1] >= p)) {
                return RILL_ERR_CORRUPT;
            }
        }
        count += entry->partition_count;
        bytes += (size_t)entry->topic.bytes + 1;
        if (count > CGROUP_ENTRIES_MAX) {
            return RILL_ERR_CORRUPT;
        }
    }
    *out = NULL;
    *out_count = 0;
    if (count == 0) {
        return RILL_OK;
    }
    rill_topic_partition_t *items = malloc(count * sizeof(*items) + bytes);
    if (items == NULL) {
        return RILL_ERR_NOMEM;
    }
    char *names = (char *)(items + count);
    size_t n = 0;
    for (uint32_t t = 0; t < wire_count; t++) {
        memcpy(names, wire[t].topic.ptr, wire[t].topic.bytes);
        names[wire[t].topic.bytes] = '\0';
        for (uint32_t i = 0; i < wire[t].partition_count; i++) {
            items[n++] =
                (rill_topic_partition_t){ .topic = names, .partition = wire[t].partitions[i] };
        }
        names += wire[t].topic.bytes + 1;
    }
    *out = items;
    *out_count = count;
    return RILL_OK;
}

static bool retriable(rill_err err)
{
    return client_err_retriable(err) || err == RILL_ERR_CLOSED;
}

/* ---------------------------------------------------------------------------------------- */
/* Events                                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* Queues an event; items is taken over (freed when the queue is full, which the callers
 * prevent for rebalance events by pausing joins). */
static bool event_push(struct cgroup *g, struct cg_event event)
{
    if (g->event_count == CGROUP_EVENTS_MAX) {
        DIAG_WARN(GROUP_DIAG, "event queue full: a %s event is dropped",
                  event.kind == CG_EVENT_COMMIT ? "commit" : "rebalance");
        free(event.items);
        return false;
    }
    g->events[(g->event_head + g->event_count) % CGROUP_EVENTS_MAX] = event;
    g->event_count++;
    return true;
}

static void rebalance_push(struct cgroup *g,
                           rill_rebalance_event_t kind,
                           struct cpart *const *parts,
                           size_t count,
                           bool ends_revoke)
{
    rill_topic_partition_t *items = tp_from_parts(parts, count);
    if (items == NULL && count > 0) {
        DIAG_WARN(GROUP_DIAG, "out of memory: a rebalance callback is skipped");
    }
    (void)event_push(g, (struct cg_event){ .kind = CG_EVENT_REBALANCE,
                                           .rebalance = kind,
                                           .ends_revoke = ends_revoke,
                                           .items = items,
                                           .count = items != NULL ? count : 0 });
}

/* Drops queued rebalance events (an unsubscribe); commit results stay. */
static void events_drop_rebalances(struct cgroup *g)
{
    unsigned kept = 0;
    struct cg_event keep[CGROUP_EVENTS_MAX];
    for (unsigned i = 0; i < g->event_count; i++) {
        struct cg_event *event = &g->events[(g->event_head + i) % CGROUP_EVENTS_MAX];
        if (event->kind == CG_EVENT_REBALANCE) {
            free(event->items);
        } else {
            keep[kept++] = *event;
        }
    }
    for (unsigned i = 0; i < kept; i++) {
        g->events[i] = keep[i];
    }
    g->event_head = 0;
    g->event_count = kept;
}

/* ---------------------------------------------------------------------------------------- */
/* Losing and giving up partitions                                                            */
/* ---------------------------------------------------------------------------------------- */

/* Forgets every partition without a commit: the membership is gone (UNKNOWN_MEMBER_ID, a
 * session that expired unheard). The LOST callback follows; the member joins again with "". */
/* The delay to the next heartbeat. Right after a join the group is often still moving:
 * partitions that other members are giving up come to this one with a later answer, which
 * a heartbeat announces. For two intervals after a join the member heartbeats eight times as
 * often, so it takes them over soon after their release (a tiny request; the coordinator's
 * session bookkeeping is the same). */
static int64_t heartbeat_delay(const struct cgroup *g, int64_t now)
{
    bool settling = now - g->joined_ns < 2 * g->heartbeat_ns;
    return settling ? g->heartbeat_ns / 8 : g->heartbeat_ns;
}

static void group_lose(rill_consumer_t *c, struct cgroup *g, const char *why)
{
    if (c->part_count > 0) {
        DIAG_INFO(GROUP_DIAG, "group %s: %u partitions lost (%s)", g->id, c->part_count, why);
        rebalance_push(g, RILL_REBALANCE_LOST, c->parts, c->part_count, false);
    }
    while (c->part_count > 0) {
        consumer_part_remove(c, c->parts[c->part_count - 1]);
    }
    g->member = false;
    g->member_id[0] = '\0';
    g->generation = PROTO_GENERATION_NONE;
    g->member_epoch++;
    g->rejoin = true;
    g->join_retry_ns = 0;
    g->revoke_stage = CG_REVOKE_NONE;
    g->revoke_commit = NULL; /* a commit in flight finishes unnoticed */
}

/* The revoke sequence ends: the revoked partitions go and the member rejoins without them. */
static void revoke_finish(rill_consumer_t *c, struct cgroup *g)
{
    for (unsigned i = c->part_count; i > 0; i--) {
        if (c->parts[i - 1]->revoking) {
            consumer_part_remove(c, c->parts[i - 1]);
        }
    }
    g->revoke_stage = CG_REVOKE_NONE;
    g->revoke_commit = NULL;
    g->rejoin = true;
    g->join_retry_ns = 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Commits                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static int commit_offset_cmp(const void *a, const void *b)
{
    const rill_commit_offset_t *oa = a;
    const rill_commit_offset_t *ob = b;
    return tp_cmp(oa->topic, oa->partition, ob->topic, ob->partition);
}

/* A commit of count entries copied from src (sorted, names and metadata in one block). */
static struct cg_commit *commit_new(rill_consumer_t *c,
                                    enum cg_commit_kind kind,
                                    const rill_commit_offset_t *src,
                                    size_t count)
{
    size_t bytes = count * sizeof(rill_commit_offset_t);
    for (size_t i = 0; i < count; i++) {
        bytes += strlen(src[i].topic) + 1;
        bytes += src[i].metadata != NULL ? strlen(src[i].metadata) + 1 : 0;
    }
    struct cg_commit *commit = calloc(1, sizeof(*commit));
    rill_commit_offset_t *offsets = malloc(bytes > 0 ? bytes : 1);
    if (commit == NULL || offsets == NULL) {
        free(commit);
        free(offsets);
        return NULL;
    }
    char *text = (char *)(offsets + count);
    for (size_t i = 0; i < count; i++) {
        offsets[i] = src[i];
        offsets[i].err = RILL_OK;
        size_t name_bytes = strlen(src[i].topic) + 1;
        memcpy(text, src[i].topic, name_bytes);
        offsets[i].topic = text;
        text += name_bytes;
        if (src[i].metadata != NULL) {
            size_t meta_bytes = strlen(src[i].metadata) + 1;
            memcpy(text, src[i].metadata, meta_bytes);
            offsets[i].metadata = text;
            text += meta_bytes;
        }
    }
    qsort(offsets, count, sizeof(*offsets), commit_offset_cmp);
    commit->c = c;
    commit->kind = kind;
    commit->offsets = offsets;
    commit->count = count;
    commit->deadline_ns = client_now_ns() + c->cl.request_timeout_ns;
    return commit;
}

static void commit_free(struct cg_commit *commit)
{
    if (commit != NULL) {
        free(commit->offsets);
        free(commit);
    }
}

static void commit_fail(struct cg_commit *commit, rill_err err)
{
    commit->err = err;
    for (size_t i = 0; i < commit->count; i++) {
        commit->offsets[i].err = err;
    }
    commit->done = true;
    commit->c->group->poke = true;
}

static bool commit_add(struct cgroup *g, struct cg_commit *commit)
{
    if (g->commit_count == CGROUP_COMMITS_MAX) {
        return false;
    }
    g->commits[g->commit_count++] = commit;
    return true;
}

static void commit_remove(struct cgroup *g, struct cg_commit *commit)
{
    for (unsigned i = 0; i < g->commit_count; i++) {
        if (g->commits[i] == commit) {
            g->commits[i] = g->commits[--g->commit_count];
            return;
        }
    }
}

/* The entries of held partitions whose consumed position moved past the committed offset
 * (revoking ones only, or the others only). count 0: nothing to commit. */
static rill_commit_offset_t *
commit_entries_moved(rill_consumer_t *c, bool revoking, bool all, size_t *out_count)
{
    size_t count = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        const struct cpart *part = c->parts[i];
        if ((all || part->revoking == revoking) && part->returned >= 0 &&
            part->returned > part->committed) {
            count++;
        }
    }
    *out_count = count;
    if (count == 0) {
        return NULL;
    }
    rill_commit_offset_t *entries = calloc(count, sizeof(*entries));
    if (entries == NULL) {
        *out_count = 0;
        return NULL;
    }
    size_t n = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        const struct cpart *part = c->parts[i];
        if ((all || part->revoking == revoking) && part->returned >= 0 &&
            part->returned > part->committed) {
            entries[n++] = (rill_commit_offset_t){ .topic = part->topic,
                                                   .partition = part->partition,
                                                   .offset = part->returned };
        }
    }
    return entries;
}

/* The entry of commit for (name, partition), by binary search; NULL when not asked. */
static rill_commit_offset_t *
commit_entry_find(struct cg_commit *commit, struct proto_str name, int32_t partition)
{
    size_t low = 0;
    size_t high = commit->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        rill_commit_offset_t *entry = &commit->offsets[mid];
        int cmp = str_cmp_wire(entry->topic, name.ptr, name.bytes);
        if (cmp == 0) {
            cmp = entry->partition < partition ? -1 : (entry->partition > partition ? 1 : 0);
        }
        if (cmp == 0) {
            /* several entries may name the same partition: take the first */
            while (mid > 0 && commit->offsets[mid - 1].partition == partition &&
                   strcmp(commit->offsets[mid - 1].topic, entry->topic) == 0) {
                mid--;
            }
            return &commit->offsets[mid];
        }
        if (cmp < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return NULL;
}

static void commit_done(struct client *cl,
                        void *ctx,
                        rill_err err,
                        const struct proto_response_header *hdr,
                        struct mp_reader *body,
                        struct client_conn *conn)
{
    struct cg_commit *commit = ctx;
    union proto_response resp;
    if (err == RILL_OK) {
        err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                    : client_decode(cl, PROTO_API_OFFSET_COMMIT, body, &resp);
        if (err == RILL_ERR_INVALID_REQUEST && hdr->error == RILL_OK) {
            client_conn_abort(cl, conn);
            err = RILL_ERR_CORRUPT;
        }
    }
    if (err == RILL_OK && resp.offset_commit.error != RILL_OK) {
        err = client_wire_err(resp.offset_commit.error);
    }
    if (err != RILL_OK) {
        commit_fail(commit, err);
        return;
    }
    /* Entries the answer does not mention were not committed. */
    for (size_t i = 0; i < commit->count; i++) {
        commit->offsets[i].err = RILL_ERR_CORRUPT;
    }
    for (uint32_t t = 0; t < resp.offset_commit.topic_count; t++) {
        const struct proto_commit_topic_result *topic = &resp.offset_commit.topics[t];
        for (uint32_t i = 0; i < topic->partition_count; i++) {
            rill_commit_offset_t *entry =
                commit_entry_find(commit, topic->name, topic->partitions[i].partition);
            if (entry == NULL) {
                continue; /* not asked: ignored */
            }
            /* Equal entries (the same partition twice) share the answer. */
            for (rill_commit_offset_t *same = entry;
                 same < commit->offsets + commit->count && same->partition == entry->partition &&
                 strcmp(same->topic, entry->topic) == 0;
                 same++) {
                same->err = client_wire_err(topic->partitions[i].error);
            }
        }
    }
    commit->err = RILL_OK;
    commit->done = true;
    commit->c->group->poke = true;
}

/* Sends commit when the member may: returns false when it must wait. */
static bool commit_send(rill_consumer_t *c, struct cgroup *g, struct cg_commit *commit)
{
    struct client_conn *conn = client_conn_get(&c->cl, -1);
    if (conn == NULL) {
        return false;
    }
    /* Group the sorted entries by topic. */
    size_t topic_count = 0;
    for (size_t i = 0; i < commit->count; i++) {
        if (i == 0 || strcmp(commit->offsets[i - 1].topic, commit->offsets[i].topic) != 0) {
            topic_count++;
        }
    }
    struct proto_commit_topic *topics = calloc(topic_count > 0 ? topic_count : 1, sizeof(*topics));
    struct proto_commit_partition *wire =
        calloc(commit->count > 0 ? commit->count : 1, sizeof(*wire));
    if (topics == NULL || wire == NULL) {
        free(topics);
        free(wire);
        return false;
    }
    size_t t = 0;
    for (size_t i = 0; i < commit->count; i++) {
        const rill_commit_offset_t *entry = &commit->offsets[i];
        if (i == 0 || strcmp(commit->offsets[i - 1].topic, entry->topic) != 0) {
            topics[t++] = (struct proto_commit_topic){
                .name = { entry->topic, (uint32_t)strlen(entry->topic) },
                .partitions = &wire[i],
            };
        }
        topics[t - 1].partition_count++;
        wire[i] = (struct proto_commit_partition){
            .partition = entry->partition,
            .offset = entry->offset,
            .metadata = { entry->metadata,
                          entry->metadata != NULL ? (uint32_t)strlen(entry->metadata) : 0 },
        };
    }
    union proto_request request = { .offset_commit = {
                                        .group = { g->id, (uint32_t)strlen(g->id) },
                                        .member_id = { g->member_id,
                                                       (uint32_t)strlen(g->member_id) },
                                        .generation = g->generation,
                                        .topics = topics,
                                        .topic_count = (uint32_t)topic_count,
                                    } };
    rill_err err = client_request(&c->cl, conn, PROTO_API_OFFSET_COMMIT, &request, commit_done,
                                  commit, c->cl.request_timeout_ns);
    free(topics);
    free(wire);
    if (err == RILL_ERR_AGAIN || err == RILL_ERR_FULL) {
        return false;
    }
    if (err != RILL_OK) {
        commit_fail(commit, err); /* too large for a frame, out of memory */
        return true;
    }
    commit->sent = true;
    commit->member_epoch = g->member_epoch;
    client_flush(&c->cl);
    return true;
}

/* Applies a finished commit: committed offsets, membership signals, the revoke sequence. */
static void commit_collect(rill_consumer_t *c, struct cgroup *g, struct cg_commit *commit)
{
    commit->collected = true;
    if (commit->abandoned) {
        return;
    }
    if (commit->sent && commit->member_epoch == g->member_epoch && g->member) {
        if (commit->err == RILL_ERR_UNKNOWN_MEMBER_ID) {
            group_lose(c, g, "commit: unknown member");
        } else if (commit->err == RILL_ERR_STALE_GENERATION ||
                   commit->err == RILL_ERR_REBALANCE_IN_PROGRESS) {
            g->rejoin = true;
        } else if (commit->err == RILL_OK) {
            g->contact_ns = client_now_ns();
        }
    }
    struct cpart **sorted = parts_sorted(c);
    for (size_t i = 0; i < commit->count; i++) {
        const rill_commit_offset_t *entry = &commit->offsets[i];
        if (entry->err != RILL_OK) {
            continue;
        }
        struct cpart *part = part_lookup(c, sorted, c->part_count, entry->topic,
                                         strlen(entry->topic), entry->partition);
        if (part != NULL && entry->offset > part->committed) {
            part->committed = entry->offset;
        }
    }
    free(sorted);
    if (commit->kind == CG_COMMIT_REVOKE && g->revoke_commit == commit) {
        if (commit->err != RILL_OK) {
            DIAG_WARN(GROUP_DIAG, "group %s: commit of revoked partitions failed: %s", g->id,
                      rill_err_str(commit->err));
        }
        revoke_finish(c, g);
    }
}

/* Finished commits: applied, reported (commit callback) and freed, except synchronous ones
 * whose waiter frees them. Unsent ones are sent when the member may, or fail. */
static void commits_step(rill_consumer_t *c, struct cgroup *g, int64_t now)
{
    for (unsigned i = 0; i < g->commit_count;) {
        struct cg_commit *commit = g->commits[i];
        if (!commit->done && !commit->sent) {
            if (now >= commit->deadline_ns) {
                commit_fail(commit, RILL_ERR_TIMEOUT);
            } else if (!g->member && !g->join_inflight) {
                commit_fail(commit, RILL_ERR_UNKNOWN_MEMBER_ID);
            } else if (g->member && !g->join_inflight) {
                (void)commit_send(c, g, commit);
            }
        }
        if (!commit->done || commit->collected) {
            i++;
            continue;
        }
        commit_collect(c, g, commit);
        if (commit->kind == CG_COMMIT_SYNC && !commit->abandoned) {
            i++; /* its waiter takes it */
            continue;
        }
        commit_remove(g, commit);
        if (!commit->abandoned && c->commit_cb != NULL && commit->kind != CG_COMMIT_SYNC) {
            (void)event_push(g, (struct cg_event){ .kind = CG_EVENT_COMMIT,
                                                   .err = commit->err,
                                                   .items = commit->offsets,
                                                   .count = commit->count });
            commit->offsets = NULL;
        }
        commit_free(commit);
        /* the table was compacted: look at index i again */
    }
}

static bool commit_of_kind_pending(const struct cgroup *g, enum cg_commit_kind kind)
{
    for (unsigned i = 0; i < g->commit_count; i++) {
        if (g->commits[i]->kind == kind && !g->commits[i]->collected) {
            return true;
        }
    }
    return false;
}

/* Queues a commit of the moved positions (auto-commit or the revoked partitions). Returns the
 * commit, or NULL when nothing moved or it could not be made. */
static struct cg_commit *commit_moved(rill_consumer_t *c, struct cgroup *g, bool revoking)
{
    size_t count = 0;
    rill_commit_offset_t *entries = commit_entries_moved(c, revoking, false, &count);
    if (count == 0) {
        return NULL;
    }
    struct cg_commit *commit =
        commit_new(c, revoking ? CG_COMMIT_REVOKE : CG_COMMIT_AUTO, entries, count);
    free(entries);
    if (commit != NULL && !commit_add(g, commit)) {
        commit_free(commit);
        commit = NULL;
    }
    return commit;
}

/* The REVOKED callback ran: commit the revoked partitions' positions (auto-commit), then the
 * sequence ends when that commit is answered. */
static void revoke_after_callback(rill_consumer_t *c, struct cgroup *g)
{
    g->revoke_stage = CG_REVOKE_COMMIT;
    g->revoke_commit = c->gconf.auto_commit && g->member ? commit_moved(c, g, true) : NULL;
    if (g->revoke_commit == NULL) {
        revoke_finish(c, g);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Joining                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void answer_clear(struct cg_join_answer *answer)
{
    free(answer->assignment);
    free(answer->revoke);
    memset(answer, 0, sizeof(*answer));
}

static void join_done(struct client *cl,
                      void *ctx,
                      rill_err err,
                      const struct proto_response_header *hdr,
                      struct mp_reader *body,
                      struct client_conn *conn)
{
    rill_consumer_t *c = ctx;
    struct cgroup *g = c->group;
    struct cg_join_answer *answer = &g->answer;
    answer_clear(answer);
    g->join_answered = true;
    g->poke = true;
    union proto_response resp;
    if (err == RILL_OK) {
        err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                    : client_decode(cl, PROTO_API_JOIN_GROUP, body, &resp);
        if (err == RILL_ERR_INVALID_REQUEST && hdr->error == RILL_OK) {
            client_conn_abort(cl, conn);
            err = RILL_ERR_CORRUPT;
        }
    }
    if (err == RILL_OK && resp.join_group.error != RILL_OK) {
        err = client_wire_err(resp.join_group.error);
    }
    if (err != RILL_OK) {
        answer->err = err;
        return;
    }
    const struct proto_join_group_response *join = &resp.join_group;
    if (join->member_id.bytes == 0 || join->member_id.bytes > CGROUP_MEMBER_ID_BYTES_MAX ||
        memchr(join->member_id.ptr, '\0', join->member_id.bytes) != NULL || join->generation < 0) {
        answer->err = RILL_ERR_CORRUPT;
        return;
    }
    err = tp_from_wire(join->assignment, join->assignment_count, &answer->assignment,
                       &answer->assignment_count);
    if (err == RILL_OK) {
        err =
            tp_from_wire(join->revoke, join->revoke_count, &answer->revoke, &answer->revoke_count);
    }
    if (err == RILL_OK && answer->assignment_count + answer->revoke_count > CGROUP_ENTRIES_MAX) {
        err = RILL_ERR_CORRUPT;
    }
    if (err != RILL_OK) {
        answer_clear(answer);
        answer->err = err;
        return;
    }
    memcpy(answer->member_id, join->member_id.ptr, join->member_id.bytes);
    answer->member_id[join->member_id.bytes] = '\0';
    answer->generation = join->generation;
    answer->heartbeat_ms = join->heartbeat_interval_ms;
}

static bool topic_subscribed(const struct cgroup *g, const char *topic)
{
    if (g->pattern != NULL) {
        return strncmp(topic, "__", 2) != 0 && regexec(&g->regex, topic, 0, NULL, 0) == 0;
    }
    size_t low = 0;
    size_t high = g->topic_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int cmp = strcmp(g->topics[mid], topic);
        if (cmp == 0) {
            return true;
        }
        if (cmp < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return false;
}

static void join_failed(rill_consumer_t *c, struct cgroup *g, rill_err err)
{
    int64_t now = client_now_ns();
    g->rejoin = true;
    if (err == RILL_ERR_UNKNOWN_MEMBER_ID) {
        group_lose(c, g, "join: unknown member"); /* joins again at once, with "" */
        return;
    }
    if (!retriable(err) && err != RILL_ERR_REBALANCE_IN_PROGRESS &&
        err != RILL_ERR_STALE_GENERATION && err != g->error_reported) {
        DIAG_WARN(GROUP_DIAG, "group %s: join refused: %s", g->id, rill_err_str(err));
        g->error_due = err; /* handed out once as a message; the member keeps trying */
    }
    g->join_retry_ns = now + client_backoff_ns(c->cl.backoff_ns, c->cl.backoff_max_ns,
                                               g->join_failures++, &c->cl.rng);
}

/* Applies a successful join answer to the held partitions. */
static void join_apply(rill_consumer_t *c, struct cgroup *g, struct cg_join_answer *answer)
{
    int64_t now = client_now_ns();
    g->member = true;
    snprintf(g->member_id, sizeof(g->member_id), "%s", answer->member_id);
    g->generation = answer->generation;
    g->member_epoch++;
    g->contact_ns = now;
    g->rejoin = g->join_version != g->sub_version; /* subscribed anew meanwhile: tell it */
    int64_t session_ms = c->gconf.session_timeout_ms;
    int64_t heartbeat_ms = answer->heartbeat_ms;
    if (heartbeat_ms < CGROUP_HEARTBEAT_MIN_MS || heartbeat_ms > session_ms) {
        heartbeat_ms =
            session_ms / 3 > CGROUP_HEARTBEAT_MIN_MS ? session_ms / 3 : CGROUP_HEARTBEAT_MIN_MS;
    }
    g->heartbeat_ns = ms_ns(heartbeat_ms);
    g->joined_ns = now;
    g->hb_next_ns = now + heartbeat_delay(g, now);
    g->hb_failures = 0;
    if (g->auto_commit_ns == 0) {
        g->auto_commit_ns = now + c->gconf.auto_commit_interval_ns;
    }
    /* What we hold: kept (in assignment), given up (in revoke), or gone (in neither). */
    struct cpart **revoked = calloc(c->part_count + 1u, sizeof(*revoked));
    struct cpart **gone = calloc(c->part_count + 1u, sizeof(*gone));
    struct cpart **added = calloc(answer->assignment_count + 1u, sizeof(*added));
    if (revoked == NULL || gone == NULL || added == NULL) {
        free(revoked);
        free(gone);
        free(added);
        group_lose(c, g, "out of memory");
        return;
    }
    size_t revoked_count = 0;
    size_t gone_count = 0;
    size_t added_count = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (tp_contains(answer->assignment, answer->assignment_count, part->topic,
                        part->partition) &&
            !part->revoking) {
            continue;
        }
        if (tp_contains(answer->revoke, answer->revoke_count, part->topic, part->partition)) {
            if (!part->revoking) {
                part->revoking = true;
                consumer_part_drop_fetched(c, part);
                revoked[revoked_count++] = part;
            }
            continue;
        }
        gone[gone_count++] = part;
    }
    if (gone_count > 0) {
        qsort(gone, gone_count, sizeof(*gone), part_ptr_cmp);
        rebalance_push(g, RILL_REBALANCE_LOST, gone, gone_count, false);
        for (size_t i = 0; i < gone_count; i++) {
            consumer_part_remove(c, gone[i]);
        }
    }
    if (revoked_count > 0) {
        qsort(revoked, revoked_count, sizeof(*revoked), part_ptr_cmp);
        rebalance_push(g, RILL_REBALANCE_REVOKED, revoked, revoked_count, true);
        g->revoke_stage = CG_REVOKE_CALLBACK;
    } else if (answer->revoke_count > 0) {
        g->rejoin = true; /* nothing of it is held: release it at once */
    }
    bool foreign = false;
    struct cpart **sorted = parts_sorted(c); /* what is held, before adding */
    unsigned held_count = c->part_count;
    for (size_t i = 0; i < answer->assignment_count; i++) {
        const rill_topic_partition_t *item = &answer->assignment[i];
        /* the assignment has no repeats (checked): only what was held before can match */
        if (part_lookup(c, sorted, held_count, item->topic, strlen(item->topic), item->partition) !=
            NULL) {
            continue;
        }
        if (!topic_subscribed(g, item->topic)) {
            foreign = true; /* not ours to read: left out of owned, the next join releases it */
            continue;
        }
        struct cpart *part = consumer_part_add(c, item->topic, item->partition);
        if (part == NULL) {
            DIAG_WARN(GROUP_DIAG, "out of memory: %s/%d not taken", item->topic, item->partition);
            g->rejoin = true;
            continue;
        }
        part->needs_offset = true;
        added[added_count++] = part;
    }
    free(sorted);
    if (foreign && g->join_version == g->sub_version) {
        /* Not a subscription that changed meanwhile: the coordinator is wrong. Said once,
         * and the rejoins that follow back off. */
        if (g->error_reported != RILL_ERR_CORRUPT) {
            DIAG_WARN(GROUP_DIAG, "group %s: assignment names topics outside the subscription",
                      g->id);
            g->error_due = RILL_ERR_CORRUPT;
        }
        g->rejoin = true;
        g->join_retry_ns = now + client_backoff_ns(c->cl.backoff_ns, c->cl.backoff_max_ns,
                                                   g->join_failures++, &c->cl.rng);
    } else {
        g->rejoin = g->rejoin || foreign;
        g->join_failures = 0;
        g->error_reported = RILL_OK;
    }
    if (added_count > 0) {
        rebalance_push(g, RILL_REBALANCE_ASSIGNED, added, added_count, false);
        g->lookup_retry_ns = 0;
        g->lookup_scan = true;
    }
    DIAG_DEBUG(GROUP_DIAG, "group %s: generation %d, %zu assigned (%zu new), %zu revoked", g->id,
               g->generation, answer->assignment_count, added_count, revoked_count);
    free(revoked);
    free(gone);
    free(added);
}

/* Sends JOIN_GROUP with what the member holds (revoking partitions excluded). */
static void join_send(rill_consumer_t *c, struct cgroup *g, int64_t now)
{
    struct client_conn *conn = client_conn_get(&c->cl, -1);
    size_t held = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        held += c->parts[i]->revoking ? 0 : 1;
    }
    struct cpart **parts = calloc(held + 1, sizeof(*parts));
    struct proto_topic_partitions *owned = calloc(held + 1, sizeof(*owned));
    int32_t *numbers = calloc(held + 1, sizeof(*numbers));
    struct proto_str *topics = calloc(g->topic_count + 1, sizeof(*topics));
    if (conn == NULL || parts == NULL || owned == NULL || numbers == NULL || topics == NULL) {
        free(parts);
        free(owned);
        free(numbers);
        free(topics);
        g->join_retry_ns = now + c->cl.backoff_ns;
        return;
    }
    size_t n = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        if (!c->parts[i]->revoking) {
            parts[n++] = c->parts[i];
        }
    }
    qsort(parts, held, sizeof(*parts), part_ptr_cmp);
    uint32_t owned_count = 0;
    for (size_t i = 0; i < held; i++) {
        if (i == 0 || strcmp(parts[i - 1]->topic, parts[i]->topic) != 0) {
            owned[owned_count++] = (struct proto_topic_partitions){
                .topic = { parts[i]->topic, (uint32_t)strlen(parts[i]->topic) },
                .partitions = &numbers[i],
            };
        }
        numbers[i] = parts[i]->partition;
        owned[owned_count - 1].partition_count++;
    }
    for (size_t i = 0; i < g->topic_count; i++) {
        topics[i] = (struct proto_str){ g->topics[i], (uint32_t)strlen(g->topics[i]) };
    }
    struct proto_str strategies[CONF_STRATEGIES_MAX];
    for (uint32_t i = 0; i < c->gconf.strategy_count; i++) {
        strategies[i] =
            (struct proto_str){ c->gconf.strategies[i], (uint32_t)strlen(c->gconf.strategies[i]) };
    }
    union proto_request request = { .join_group = {
                                        .group = { g->id, (uint32_t)strlen(g->id) },
                                        .member_id = { g->member_id,
                                                       (uint32_t)strlen(g->member_id) },
                                        .client_id = { c->cl.client_id,
                                                       (uint32_t)strlen(c->cl.client_id) },
                                        .session_timeout_ms = c->gconf.session_timeout_ms,
                                        .rebalance_timeout_ms = c->gconf.rebalance_timeout_ms,
                                        .strategies = strategies,
                                        .strategy_count = c->gconf.strategy_count,
                                        .owned = owned,
                                        .owned_count = owned_count,
                                    } };
    if (g->pattern != NULL) {
        request.join_group.topics_nil = true;
        request.join_group.pattern = (struct proto_str){ g->pattern, (uint32_t)strlen(g->pattern) };
    } else {
        request.join_group.topics = topics;
        request.join_group.topic_count = (uint32_t)g->topic_count;
    }
    rill_err err = client_request(&c->cl, conn, PROTO_API_JOIN_GROUP, &request, join_done, c,
                                  c->cl.request_timeout_ns);
    free(parts);
    free(owned);
    free(numbers);
    free(topics);
    if (err == RILL_OK) {
        g->join_inflight = true;
        g->join_token = g->sub_token;
        g->join_version = g->sub_version;
        client_flush(&c->cl);
        return;
    }
    if (err != RILL_ERR_AGAIN && err != RILL_ERR_FULL) {
        join_failed(c, g, err);
        return;
    }
    g->join_retry_ns = now + (c->cl.backoff_ns > 0 ? c->cl.backoff_ns : 1000000);
}

/* ---------------------------------------------------------------------------------------- */
/* Heartbeats and leaving                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* Decodes a [error] answer (HEARTBEAT, LEAVE_GROUP) into its error. */
static rill_err error_answer(struct client *cl,
                             uint32_t api,
                             rill_err err,
                             const struct proto_response_header *hdr,
                             struct mp_reader *body,
                             struct client_conn *conn)
{
    union proto_response resp;
    if (err != RILL_OK) {
        return err;
    }
    if (hdr->error != RILL_OK) {
        return client_wire_err(hdr->error);
    }
    err = client_decode(cl, api, body, &resp);
    if (err == RILL_ERR_INVALID_REQUEST) {
        client_conn_abort(cl, conn);
        return RILL_ERR_CONNECTION;
    }
    return err == RILL_OK ? client_wire_err(resp.heartbeat.error) : err;
}

static void heartbeat_done(struct client *cl,
                           void *ctx,
                           rill_err err,
                           const struct proto_response_header *hdr,
                           struct mp_reader *body,
                           struct client_conn *conn)
{
    rill_consumer_t *c = ctx;
    c->group->hb_err = error_answer(cl, PROTO_API_HEARTBEAT, err, hdr, body, conn);
    c->group->hb_answered = true;
    c->group->poke = true;
}

static void heartbeat_send(rill_consumer_t *c, struct cgroup *g, int64_t now)
{
    struct client_conn *conn = client_conn_get(&c->cl, -1);
    union proto_request request = { .heartbeat = { .group = { g->id, (uint32_t)strlen(g->id) },
                                                   .member_id = { g->member_id,
                                                                  (uint32_t)strlen(g->member_id) },
                                                   .generation = g->generation } };
    rill_err err = conn == NULL ? RILL_ERR_AGAIN
                                : client_request(&c->cl, conn, PROTO_API_HEARTBEAT, &request,
                                                 heartbeat_done, c, c->cl.request_timeout_ns);
    if (err != RILL_OK) {
        g->hb_next_ns =
            now + min_ns(g->heartbeat_ns, c->cl.backoff_ns > 0 ? c->cl.backoff_ns : 1000000);
        return;
    }
    g->hb_inflight = true;
    g->hb_epoch = g->member_epoch;
    g->hb_next_ns = now + heartbeat_delay(g, now);
    client_flush(&c->cl);
}

static void heartbeat_apply(rill_consumer_t *c, struct cgroup *g, rill_err err)
{
    if (g->hb_epoch != g->member_epoch || !g->member) {
        return; /* about a membership that ended meanwhile */
    }
    int64_t now = client_now_ns();
    switch (err) {
    case RILL_OK:
        g->hb_failures = 0;
        g->contact_ns = now;
        return;
    case RILL_ERR_REBALANCE_IN_PROGRESS:
    case RILL_ERR_STALE_GENERATION:
        g->contact_ns = now;
        g->rejoin = true;
        return;
    case RILL_ERR_UNKNOWN_MEMBER_ID:
        group_lose(c, g, "heartbeat: unknown member");
        return;
    default:
        /* Transport trouble or a broker stopping: try again soon (the session decides). */
        g->hb_next_ns =
            now + min_ns(g->heartbeat_ns, client_backoff_ns(c->cl.backoff_ns, c->cl.backoff_max_ns,
                                                            g->hb_failures++, &c->cl.rng));
        return;
    }
}

static void leave_done(struct client *cl,
                       void *ctx,
                       rill_err err,
                       const struct proto_response_header *hdr,
                       struct mp_reader *body,
                       struct client_conn *conn)
{
    rill_consumer_t *c = ctx;
    c->group->leave_err = error_answer(cl, PROTO_API_LEAVE_GROUP, err, hdr, body, conn);
    c->group->leave_answered = true;
    c->group->poke = true;
}

/* ---------------------------------------------------------------------------------------- */
/* Offset lookups: OFFSET_FETCH, then LIST_OFFSETS for auto.offset.reset                      */
/* ---------------------------------------------------------------------------------------- */

static void lookup_backoff(rill_consumer_t *c, struct cgroup *g)
{
    g->lookup_retry_ns = client_now_ns() + client_backoff_ns(c->cl.backoff_ns, c->cl.backoff_max_ns,
                                                             g->lookup_failures++, &c->cl.rng);
    g->lookup_scan = true;
}

/* An answer to a lookup was handled: complete, or some partitions must be asked again after a
 * backoff. Either way the next scan sees what comes next (a reset after -1, the partitions
 * left out). */
static void lookup_finish(rill_consumer_t *c, struct cgroup *g, bool complete)
{
    if (complete) {
        g->lookup_failures = 0;
    } else {
        lookup_backoff(c, g);
    }
    g->lookup_scan = true;
}

/* A committed offset (or -1) arrived for part. */
static void offset_apply(rill_consumer_t *c, struct cpart *part, int64_t offset)
{
    part->lookup_inflight = false;
    part->needs_offset = false;
    if (offset >= 0) {
        part->position = offset;
        if (offset > part->committed) {
            part->committed = offset;
        }
        return;
    }
    if (c->gconf.reset == CGROUP_RESET_ERROR) {
        part->paused = true; /* until rill_consumer_seek */
        part->event_due = RILL_ERR_OFFSET_OUT_OF_RANGE;
        c->group->events_scan = true;
        return;
    }
    part->needs_reset = true;
}

static void offsets_done(struct client *cl,
                         void *ctx,
                         rill_err err,
                         const struct proto_response_header *hdr,
                         struct mp_reader *body,
                         struct client_conn *conn)
{
    rill_consumer_t *c = ctx;
    struct cgroup *g = c->group;
    g->offsets_inflight = false;
    g->poke = true;
    union proto_response resp;
    if (err == RILL_OK) {
        err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                    : client_decode(cl, PROTO_API_OFFSET_FETCH, body, &resp);
        if (err == RILL_ERR_INVALID_REQUEST && hdr->error == RILL_OK) {
            client_conn_abort(cl, conn);
        }
    }
    if (err == RILL_OK && resp.offset_fetch.error != RILL_OK) {
        err = client_wire_err(resp.offset_fetch.error);
    }
    bool complete = err == RILL_OK;
    struct cpart **sorted = err == RILL_OK ? parts_sorted(c) : NULL;
    for (uint32_t t = 0; err == RILL_OK && t < resp.offset_fetch.topic_count; t++) {
        const struct proto_committed_topic *topic = &resp.offset_fetch.topics[t];
        for (uint32_t i = 0; i < topic->partition_count; i++) {
            const struct proto_committed_partition *entry = &topic->partitions[i];
            struct cpart *part = part_lookup(c, sorted, c->part_count, topic->name.ptr,
                                             topic->name.bytes, entry->partition);
            if (part == NULL || !part->lookup_inflight || !part->needs_offset ||
                part->lookup_epoch != part->epoch) {
                continue;
            }
            offset_apply(c, part, entry->offset < -1 ? -1 : entry->offset);
        }
        if (topic->error == RILL_ERR_UNKNOWN_TOPIC) {
            /* assigned but unknown here: reported once per partition, retried */
            for (unsigned i = 0; i < c->part_count; i++) {
                struct cpart *part = c->parts[i];
                if (part->lookup_inflight && part->needs_offset &&
                    str_cmp_wire(part->topic, topic->name.ptr, topic->name.bytes) == 0 &&
                    part->failures++ == 0) {
                    part->event_due = RILL_ERR_UNKNOWN_TOPIC;
                    g->events_scan = true;
                }
            }
        }
    }
    free(sorted);
    /* Partitions the answer left out ask again after a backoff. */
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (part->lookup_inflight && part->needs_offset) {
            part->lookup_inflight = false;
            complete = false;
        }
    }
    lookup_finish(c, g, complete);
}

static void offsets_send(rill_consumer_t *c, struct cgroup *g)
{
    size_t wanted = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        const struct cpart *part = c->parts[i];
        wanted += part->needs_offset && !part->lookup_inflight && !part->revoking ? 1 : 0;
    }
    if (wanted == 0) {
        return;
    }
    struct client_conn *conn = client_conn_get(&c->cl, -1);
    struct cpart **parts = calloc(wanted, sizeof(*parts));
    struct proto_str *names = calloc(wanted, sizeof(*names));
    if (conn == NULL || parts == NULL || names == NULL) {
        free(parts);
        free(names);
        lookup_backoff(c, g);
        return;
    }
    size_t n = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (part->needs_offset && !part->lookup_inflight && !part->revoking) {
            parts[n++] = part;
        }
    }
    qsort(parts, n, sizeof(*parts), part_ptr_cmp);
    uint32_t name_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(parts[i - 1]->topic, parts[i]->topic) != 0) {
            names[name_count++] =
                (struct proto_str){ parts[i]->topic, (uint32_t)strlen(parts[i]->topic) };
        }
    }
    union proto_request request = { .offset_fetch = {
                                        .group = { g->id, (uint32_t)strlen(g->id) },
                                        .topics = names,
                                        .topic_count = name_count,
                                    } };
    rill_err err = client_request(&c->cl, conn, PROTO_API_OFFSET_FETCH, &request, offsets_done, c,
                                  c->cl.request_timeout_ns);
    if (err == RILL_OK) {
        for (size_t i = 0; i < n; i++) {
            parts[i]->lookup_inflight = true;
            parts[i]->lookup_epoch = parts[i]->epoch;
        }
        g->offsets_inflight = true;
        client_flush(&c->cl);
    } else {
        lookup_backoff(c, g);
    }
    free(parts);
    free(names);
}

static void list_done(struct client *cl,
                      void *ctx,
                      rill_err err,
                      const struct proto_response_header *hdr,
                      struct mp_reader *body,
                      struct client_conn *conn)
{
    rill_consumer_t *c = ctx;
    struct cgroup *g = c->group;
    g->list_inflight = false;
    g->poke = true;
    union proto_response resp;
    if (err == RILL_OK) {
        err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                    : client_decode(cl, PROTO_API_LIST_OFFSETS, body, &resp);
        if (err == RILL_ERR_INVALID_REQUEST && hdr->error == RILL_OK) {
            client_conn_abort(cl, conn);
        }
    }
    struct cpart **sorted = err == RILL_OK ? parts_sorted(c) : NULL;
    for (uint32_t t = 0; err == RILL_OK && t < resp.list_offsets.topic_count; t++) {
        const struct proto_list_offsets_topic_result *topic = &resp.list_offsets.topics[t];
        for (uint32_t i = 0; i < topic->partition_count; i++) {
            const struct proto_list_offsets_partition_result *entry = &topic->partitions[i];
            struct cpart *part = part_lookup(c, sorted, c->part_count, topic->name.ptr,
                                             topic->name.bytes, entry->partition);
            if (part == NULL || !part->lookup_inflight || !part->needs_reset ||
                part->lookup_epoch != part->epoch || entry->error != RILL_OK || entry->offset < 0) {
                continue;
            }
            part->lookup_inflight = false;
            part->needs_reset = false;
            part->position = entry->offset;
        }
    }
    free(sorted);
    bool complete = err == RILL_OK;
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (part->lookup_inflight && part->needs_reset) {
            part->lookup_inflight = false;
            complete = false;
            if (part->meta != NULL) {
                part->meta->stale = true;
            }
        }
    }
    lookup_finish(c, g, complete);
}

/* LIST_OFFSETS for the partitions to reset that the leader of the first one leads. */
static void list_send(rill_consumer_t *c, struct cgroup *g)
{
    size_t wanted = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        const struct cpart *part = c->parts[i];
        wanted += part->needs_reset && !part->lookup_inflight && !part->revoking ? 1 : 0;
    }
    if (wanted == 0) {
        return;
    }
    struct cpart **parts = calloc(wanted, sizeof(*parts));
    struct proto_list_offsets_topic *topics = calloc(wanted, sizeof(*topics));
    struct proto_list_offsets_partition *wire = calloc(wanted, sizeof(*wire));
    if (parts == NULL || topics == NULL || wire == NULL) {
        free(parts);
        free(topics);
        free(wire);
        lookup_backoff(c, g);
        return;
    }
    client_metadata_refresh(&c->cl);
    struct client_conn *conn = NULL;
    size_t n = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (!part->needs_reset || part->lookup_inflight || part->revoking) {
            continue;
        }
        if (part->meta == NULL) {
            part->meta = client_topic_want(&c->cl, part->topic);
        }
        if (part->meta == NULL || part->meta->err != RILL_OK ||
            part->partition >= part->meta->partition_count) {
            if (part->meta != NULL && part->meta->refreshed_ns != 0) {
                part->meta->stale = true;
            }
            continue;
        }
        struct client_conn *leader =
            client_conn_leader(&c->cl, part->meta->leaders[part->partition]);
        if (leader == NULL) {
            part->meta->stale = true;
            continue;
        }
        if (conn != NULL && leader != conn) {
            continue;
        }
        conn = leader;
        parts[n++] = part;
    }
    if (n > 0) {
        qsort(parts, n, sizeof(*parts), part_ptr_cmp);
    }
    uint32_t topic_count = 0;
    int64_t timestamp = c->gconf.reset == CGROUP_RESET_EARLIEST ? PROTO_LIST_OFFSETS_EARLIEST
                                                                : PROTO_LIST_OFFSETS_LATEST;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(parts[i - 1]->topic, parts[i]->topic) != 0) {
            topics[topic_count++] = (struct proto_list_offsets_topic){
                .name = { parts[i]->topic, (uint32_t)strlen(parts[i]->topic) },
                .partitions = &wire[i],
            };
        }
        wire[i] = (struct proto_list_offsets_partition){ .partition = parts[i]->partition,
                                                         .timestamp = timestamp };
        topics[topic_count - 1].partition_count++;
    }
    rill_err err = RILL_ERR_AGAIN;
    if (n > 0) {
        union proto_request request = { .list_offsets = { .topics = topics,
                                                          .topic_count = topic_count } };
        err = client_request(&c->cl, conn, PROTO_API_LIST_OFFSETS, &request, list_done, c,
                             c->cl.request_timeout_ns);
    }
    if (err == RILL_OK) {
        for (size_t i = 0; i < n; i++) {
            parts[i]->lookup_inflight = true;
            parts[i]->lookup_epoch = parts[i]->epoch;
        }
        g->list_inflight = true;
        client_flush(&c->cl);
    } else {
        lookup_backoff(c, g); /* metadata first, or a connection */
    }
    free(parts);
    free(topics);
    free(wire);
}

/* ---------------------------------------------------------------------------------------- */
/* The loop                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Applies answers and sends what is due. from_consume: inside rill_consume (outside any
 * callback), where joins may be sent. */
static void group_step(rill_consumer_t *c, bool from_consume)
{
    struct cgroup *g = c->group;
    if (g->join_answered) {
        g->join_answered = false;
        g->join_inflight = false;
        if (g->join_token != g->sub_token || !g->active) {
            answer_clear(&g->answer); /* for a subscription that ended */
        } else if (g->answer.err != RILL_OK) {
            rill_err err = g->answer.err;
            answer_clear(&g->answer);
            join_failed(c, g, err);
        } else {
            join_apply(c, g, &g->answer);
            answer_clear(&g->answer);
        }
    }
    if (g->hb_answered) {
        g->hb_answered = false;
        g->hb_inflight = false;
        heartbeat_apply(c, g, g->hb_err);
    }
    int64_t now = client_now_ns();
    commits_step(c, g, now);
    if (!g->active) {
        return;
    }
    /* A membership unheard of for a whole session is gone on the broker's side too. */
    if (g->member && !g->join_inflight &&
        now - g->contact_ns > ms_ns(c->gconf.session_timeout_ms)) {
        group_lose(c, g, "session timed out");
    }
    bool room = CGROUP_EVENTS_MAX - g->event_count >= CGROUP_EVENTS_JOIN_ROOM;
    if (from_consume && (g->rejoin || !g->member) && !g->join_inflight &&
        g->revoke_stage == CG_REVOKE_NONE && room && now >= g->join_retry_ns) {
        join_send(c, g, now);
    }
    if (g->leave_inflight) {
        return; /* leaving: nothing more to say as a member */
    }
    if (g->member && !g->join_inflight && !g->hb_inflight && now >= g->hb_next_ns) {
        heartbeat_send(c, g, now);
    }
    if (g->member && !g->join_inflight && c->gconf.auto_commit && now >= g->auto_commit_ns) {
        g->auto_commit_ns = now + c->gconf.auto_commit_interval_ns;
        if (!commit_of_kind_pending(g, CG_COMMIT_AUTO)) {
            (void)commit_moved(c, g, false);
        }
    }
    commits_step(c, g, now);
    if (g->lookup_scan && now >= g->lookup_retry_ns) {
        g->lookup_scan = false; /* set again by a backoff or the answers */
        if (!g->offsets_inflight) {
            offsets_send(c, g);
        }
        if (!g->list_inflight) {
            list_send(c, g);
        }
    }
}

static const rill_message_t *group_serve(rill_consumer_t *c, struct cgroup *g);
static int64_t group_wake_ns(const rill_consumer_t *c, bool joins);

/* Calls the queued callbacks (rill_consume only). */
static void events_deliver(rill_consumer_t *c, struct cgroup *g)
{
    while (g->event_count > 0) {
        struct cg_event event = g->events[g->event_head];
        g->event_head = (g->event_head + 1) % CGROUP_EVENTS_MAX;
        g->event_count--;
        c->in_callback = true;
        if (event.kind == CG_EVENT_REBALANCE && c->rebalance_cb != NULL) {
            c->rebalance_cb(c, event.rebalance, event.items, event.count, c->rebalance_opaque);
        } else if (event.kind == CG_EVENT_COMMIT && c->commit_cb != NULL) {
            c->commit_cb(event.err, event.items, event.count, c->commit_opaque);
        }
        c->in_callback = false;
        free(event.items);
        if (event.ends_revoke && g->revoke_stage == CG_REVOKE_CALLBACK) {
            revoke_after_callback(c, g);
        }
    }
}

const rill_message_t *cgroup_serve(rill_consumer_t *c)
{
    struct cgroup *g = c->group;
    if (g == NULL) {
        return NULL;
    }
    /* The fast path, once per record: nothing answered, nothing queued, nothing due. */
    if (!g->poke && g->event_count == 0 && g->error_due == RILL_OK && !g->events_scan &&
        client_now_ns() < g->due_ns) {
        return NULL;
    }
    g->poke = false;
    const rill_message_t *msg = group_serve(c, g);
    g->due_ns = cgroup_wake_ns(c);
    return msg;
}

/* The whole loop: answers, callbacks, what is due, then events to hand out. */
static const rill_message_t *group_serve(rill_consumer_t *c, struct cgroup *g)
{
    group_step(c, true);
    events_deliver(c, g);
    group_step(c, true); /* what the callbacks (and the revoke commit) made due */
    if (g->error_due != RILL_OK) {
        rill_err err = g->error_due;
        g->error_due = RILL_OK;
        g->error_reported = err;
        c->msg = (rill_message_t){ .err = err, .partition = -1, .high_watermark = -1 };
        return &c->msg;
    }
    for (unsigned i = 0; g->events_scan && i < c->part_count; i++) {
        struct cpart *part = c->parts[i];
        if (part->event_due != RILL_OK) {
            rill_err err = part->event_due;
            part->event_due = RILL_OK;
            return consumer_message_event(c, part, err);
        }
    }
    g->events_scan = false;
    return NULL;
}

int64_t cgroup_wake_ns(const rill_consumer_t *c)
{
    return group_wake_ns(c, true);
}

/* When the loop has something to do next; joins counts only where they may be sent (from
 * rill_consume), else a wanted join would make a waiting call spin. */
static int64_t group_wake_ns(const rill_consumer_t *c, bool joins)
{
    const struct cgroup *g = c->group;
    if (g == NULL || !g->active) {
        return INT64_MAX;
    }
    int64_t wake = INT64_MAX;
    if (g->member && !g->hb_inflight && !g->join_inflight) {
        wake = min_ns(wake, g->hb_next_ns);
    }
    if (joins && (g->rejoin || !g->member) && !g->join_inflight &&
        g->revoke_stage == CG_REVOKE_NONE) {
        wake = min_ns(wake, g->join_retry_ns);
    }
    if (g->member && c->gconf.auto_commit) {
        wake = min_ns(wake, g->auto_commit_ns);
    }
    if (g->member) {
        wake = min_ns(wake, g->contact_ns + ms_ns(c->gconf.session_timeout_ms) + 1);
    }
    if (g->lookup_scan) {
        wake = min_ns(wake, g->lookup_retry_ns);
    }
    for (unsigned i = 0; i < g->commit_count; i++) {
        if (!g->commits[i]->sent && !g->commits[i]->done) {
            /* waiting for the membership or a connection: look again soon */
            int64_t soon = client_now_ns() + (c->cl.backoff_ns > 0 ? c->cl.backoff_ns : 1000000);
            wake = min_ns(wake, min_ns(soon, g->commits[i]->deadline_ns));
        }
    }
    return wake;
}

int32_t cgroup_fetch_wait_ms(const rill_consumer_t *c, int32_t wanted_ms)
{
    const struct cgroup *g = c->group;
    if (g == NULL || !g->active) {
        return wanted_ms;
    }
    /* A heartbeat queued behind a long poll waits for it: keep the poll below half the
     * current heartbeat delay. */
    int64_t delay_ms = g->member ? heartbeat_delay(g, client_now_ns()) / 1000000
                                 : (int64_t)c->gconf.session_timeout_ms / 3;
    int64_t cap = delay_ms / 2 > 5 ? delay_ms / 2 : 5; /* never a busy poll */
    return cap < wanted_ms ? (int32_t)cap : wanted_ms;
}

bool cgroup_active(const rill_consumer_t *c)
{
    return c->group != NULL && c->group->active;
}

bool cgroup_part_ready(const struct cpart *part)
{
    return !part->needs_offset && !part->needs_reset && !part->revoking && part->position >= 0;
}

bool cgroup_out_of_range(rill_consumer_t *c, struct cpart *part)
{
    if (!cgroup_active(c) || c->gconf.reset == CGROUP_RESET_ERROR) {
        return false;
    }
    DIAG_INFO(GROUP_DIAG, "%s/%d: offset %lld is outside the log: auto.offset.reset", part->topic,
              part->partition, (long long)part->position);
    part->needs_reset = true;
    part->retry_at_ns = 0;
    c->group->lookup_scan = true;
    c->group->poke = true;
    return true;
}

void cgroup_conf_read(struct cgroup_conf *gconf, const rill_conf_t *conf)
{
    memset(gconf, 0, sizeof(*gconf));
    gconf->auto_commit = conf_bool(conf, "enable.auto.commit");
    gconf->auto_commit_interval_ns = ms_ns(conf_int64(conf, "auto.commit.interval.ms"));
    const char *reset = conf_value(conf, "auto.offset.reset");
    gconf->reset = strcmp(reset, "earliest") == 0 ? CGROUP_RESET_EARLIEST
                   : strcmp(reset, "error") == 0  ? CGROUP_RESET_ERROR
                                                  : CGROUP_RESET_LATEST;
    gconf->session_timeout_ms = (int32_t)conf_int64(conf, "session.timeout.ms");
    gconf->rebalance_timeout_ms = (int32_t)conf_int64(conf, "rebalance.timeout.ms");
    const char *cursor = conf_value(conf, "partition.assignment.strategy");
    while (*cursor != '\0' && gconf->strategy_count < CONF_STRATEGIES_MAX) {
        const char *name = NULL;
        if (conf_strategy_next(&cursor, &name) != RILL_OK) {
            break; /* validated when set: cannot happen */
        }
        gconf->strategies[gconf->strategy_count++] = name;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Public calls                                                                               */
/* ---------------------------------------------------------------------------------------- */

void rill_consumer_set_rebalance_cb(rill_consumer_t *consumer, rill_rebalance_cb *cb, void *opaque)
{
    if (consumer != NULL) {
        consumer->rebalance_cb = cb;
        consumer->rebalance_opaque = opaque;
    }
}

void rill_consumer_set_commit_cb(rill_consumer_t *consumer, rill_commit_cb *cb, void *opaque)
{
    if (consumer != NULL) {
        consumer->commit_cb = cb;
        consumer->commit_opaque = opaque;
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void subscription_free(struct cgroup *g)
{
    free(g->topics);
    g->topics = NULL;
    g->topic_count = 0;
    if (g->pattern != NULL) {
        regfree(&g->regex);
        free(g->pattern);
        g->pattern = NULL;
    }
}

/* Checks and copies a names subscription (sorted, one allocation). */
static rill_err subscription_names(const char *const *topics, size_t count, char ***out)
{
    if (count > CGROUP_TOPICS_MAX) {
        return RILL_ERR_INVALID_SUBSCRIPTION;
    }
    size_t bytes = count * sizeof(char *);
    for (size_t i = 0; i < count; i++) {
        if (topics[i] == NULL || strlen(topics[i]) > RILL_TOPIC_NAME_BYTES_MAX ||
            !proto_topic_name_valid(topics[i], strlen(topics[i]), false)) {
            return RILL_ERR_INVALID_SUBSCRIPTION;
        }
        bytes += strlen(topics[i]) + 1;
    }
    char **names = malloc(bytes);
    if (names == NULL) {
        return RILL_ERR_NOMEM;
    }
    char *text = (char *)(names + count);
    for (size_t i = 0; i < count; i++) {
        size_t name_bytes = strlen(topics[i]) + 1;
        memcpy(text, topics[i], name_bytes);
        names[i] = text;
        text += name_bytes;
    }
    qsort(names, count, sizeof(*names), name_cmp);
    *out = names;
    return RILL_OK;
}

/* Compiles "^(pattern)$" as the broker matches it. */
static rill_err subscription_pattern(const char *pattern, regex_t *regex, char **out)
{
    size_t bytes = strnlen(pattern, CGROUP_PATTERN_BYTES_MAX + 1);
    if (bytes == 0 || bytes > CGROUP_PATTERN_BYTES_MAX) {
        return RILL_ERR_INVALID_SUBSCRIPTION;
    }
    char anchored[CGROUP_PATTERN_BYTES_MAX + 8];
    snprintf(anchored, sizeof(anchored), "^(%s)$", pattern);
    if (regcomp(regex, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
        return RILL_ERR_INVALID_SUBSCRIPTION;
    }
    *out = strdup(pattern);
    if (*out == NULL) {
        regfree(regex);
        return RILL_ERR_NOMEM;
    }
    return RILL_OK;
}

rill_err rill_subscribe(rill_consumer_t *consumer,
                        const char *group,
                        const char *const *topics,
                        size_t topic_count,
                        const char *pattern)
{
    rill_consumer_t *c = consumer;
    if (c == NULL || c->in_callback || c->assign_mode) {
        return RILL_ERR_INVALID;
    }
    if (group == NULL ||
        !proto_group_id_valid(group, strnlen(group, PROTO_GROUP_ID_BYTES_MAX + 1))) {
        return RILL_ERR_INVALID_GROUP_ID;
    }
    bool by_names = topics != NULL && topic_count > 0;
    if (by_names == (pattern != NULL)) {
        return RILL_ERR_INVALID;
    }
    if (c->group != NULL && c->group->active && strcmp(c->group->id, group) != 0) {
        return RILL_ERR_INVALID; /* one group at a time: unsubscribe first */
    }
    char **names = NULL;
    char *pattern_copy = NULL;
    regex_t regex;
    rill_err err = by_names ? subscription_names(topics, topic_count, &names)
                            : subscription_pattern(pattern, &regex, &pattern_copy);
    if (err != RILL_OK) {
        return err;
    }
    if (c->group == NULL) {
        c->group = calloc(1, sizeof(*c->group));
        if (c->group == NULL) {
            free(names);
            if (pattern_copy != NULL) {
                regfree(&regex);
                free(pattern_copy);
            }
            return RILL_ERR_NOMEM;
        }
    }
    struct cgroup *g = c->group;
    subscription_free(g);
    if (by_names) {
        g->topics = names;
        g->topic_count = topic_count;
    } else {
        g->pattern = pattern_copy;
        g->regex = regex;
    }
    if (!g->active) {
        g->active = true;
        g->sub_token++;
        snprintf(g->id, sizeof(g->id), "%s", group);
        g->member = false;
        g->member_id[0] = '\0';
        g->generation = PROTO_GENERATION_NONE;
        g->member_epoch++;
        g->join_failures = 0;
        g->auto_commit_ns = 0;
        g->error_due = RILL_OK;
        g->error_reported = RILL_OK;
        g->lookup_retry_ns = 0;
        g->lookup_failures = 0;
    }
    g->sub_version++;
    g->rejoin = true;
    g->join_retry_ns = 0;
    g->poke = true;
    return RILL_OK;
}

/* Waits (serving the group without callbacks or joins) until done() or deadline_ns. */
static bool
group_wait(rill_consumer_t *c, int64_t deadline_ns, bool (*done)(const void *), const void *arg)
{
    for (;;) {
        group_step(c, false);
        if (done(arg)) {
            return true;
        }
        int64_t now = client_now_ns();
        if (now >= deadline_ns) {
            return false;
        }
        client_poll(&c->cl, min_ns(deadline_ns, group_wake_ns(c, false)));
    }
}

static bool join_settled(const void *arg)
{
    const struct cgroup *g = arg;
    return !g->join_inflight;
}

static bool commit_finished(const void *arg)
{
    const struct cg_commit *commit = arg;
    return commit->done && commit->collected;
}

static bool leave_finished(const void *arg)
{
    const struct cgroup *g = arg;
    return g->leave_answered;
}

/* Sends a synchronous commit and waits for it; the caller reads and frees it. NULL on
 * timeout (err set) or when it could not be made. */
static struct cg_commit *commit_wait(rill_consumer_t *c,
                                     const rill_commit_offset_t *entries,
                                     size_t count,
                                     int64_t deadline_ns,
                                     rill_err *out_err)
{
    struct cgroup *g = c->group;
    struct cg_commit *commit = commit_new(c, CG_COMMIT_SYNC, entries, count);
    if (commit == NULL) {
        *out_err = RILL_ERR_NOMEM;
        return NULL;
    }
    if (commit->deadline_ns > deadline_ns) {
        commit->deadline_ns = deadline_ns;
    }
    if (!commit_add(g, commit)) {
        commit_free(commit);
        *out_err = RILL_ERR_FULL;
        return NULL;
    }
    if (!group_wait(c, deadline_ns, commit_finished, commit)) {
        if (commit->sent && !commit->done) {
            commit->abandoned = true; /* freed when its answer or failure comes */
        } else {
            commit_remove(g, commit);
            commit_free(commit);
        }
        *out_err = RILL_ERR_TIMEOUT;
        return NULL;
    }
    commit_remove(g, commit);
    *out_err = commit->err;
    for (size_t i = 0; *out_err == RILL_OK && i < commit->count; i++) {
        *out_err = commit->offsets[i].err;
    }
    return commit;
}

static bool commit_entries_valid(const rill_commit_offset_t *offsets, size_t count)
{
    if (count > CGROUP_ENTRIES_MAX) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        const rill_commit_offset_t *entry = &offsets[i];
        if (entry->topic == NULL || entry->partition < 0 || entry->offset < 0 ||
            strnlen(entry->topic, RILL_TOPIC_NAME_BYTES_MAX + 1) > RILL_TOPIC_NAME_BYTES_MAX ||
            !proto_topic_name_valid(entry->topic, strlen(entry->topic), true) ||
            (entry->metadata != NULL &&
             strnlen(entry->metadata, PROTO_COMMIT_METADATA_BYTES_MAX + 1) >
                 PROTO_COMMIT_METADATA_BYTES_MAX)) {
            return false;
        }
    }
    return true;
}

rill_err
rill_commit(rill_consumer_t *consumer, rill_commit_offset_t *offsets, size_t count, bool async)
{
    rill_consumer_t *c = consumer;
    if (c == NULL || !cgroup_active(c)) {
        return RILL_ERR_INVALID;
    }
    struct cgroup *g = c->group;
    g->poke = true;
    bool moved = offsets == NULL || count == 0;
    rill_commit_offset_t *entries = offsets;
    size_t entry_count = count;
    if (moved) {
        group_step(c, false); /* a join answer that arrived changes what is held */
        entries = commit_entries_moved(c, false, true, &entry_count);
        if (entry_count == 0) {
            return RILL_OK;
        }
    } else if (!commit_entries_valid(offsets, count)) {
        return RILL_ERR_INVALID;
    }
    rill_err err = RILL_OK;
    if (async) {
        unsigned waiting = g->event_count + g->commit_count;
        struct cg_commit *commit = waiting + 1 >= CGROUP_EVENTS_MAX - CGROUP_EVENTS_JOIN_ROOM
                                       ? NULL
                                       : commit_new(c, CG_COMMIT_ASYNC, entries, entry_count);
        if (commit == NULL || !commit_add(g, commit)) {
            err = commit == NULL && waiting + 1 < CGROUP_EVENTS_MAX - CGROUP_EVENTS_JOIN_ROOM
                      ? RILL_ERR_NOMEM
                      : RILL_ERR_FULL;
            commit_free(commit);
        } else {
            group_step(c, false); /* sends it when the member may */
        }
    } else {
        int64_t deadline = client_now_ns() + c->cl.request_timeout_ns;
        struct cg_commit *commit = commit_wait(c, entries, entry_count, deadline, &err);
        for (size_t i = 0; !moved && i < count; i++) {
            offsets[i].err = err == RILL_ERR_TIMEOUT || commit == NULL ? err : RILL_ERR_CORRUPT;
            if (commit != NULL) {
                struct proto_str name = { offsets[i].topic, (uint32_t)strlen(offsets[i].topic) };
                rill_commit_offset_t *entry = commit_entry_find(commit, name, offsets[i].partition);
                offsets[i].err = entry != NULL ? entry->err : commit->err;
            }
        }
        commit_free(commit);
    }
    if (moved) {
        free(entries);
    }
    return err;
}

struct committed_call {
    const char *topic;
    int32_t partition;
    rill_err err;
    int64_t offset;
};

static void committed_done(struct client *cl,
                           void *ctx,
                           rill_err err,
                           const struct proto_response_header *hdr,
                           struct mp_reader *body,
                           struct client_conn *conn)
{
    struct committed_call *call = ctx;
    union proto_response resp;
    err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                : client_decode(cl, PROTO_API_OFFSET_FETCH, body, &resp);
    if (err == RILL_ERR_INVALID_REQUEST && hdr->error == RILL_OK) {
        client_conn_abort(cl, conn);
        err = RILL_ERR_CORRUPT;
    }
    if (err == RILL_OK) {
        err = client_wire_err(resp.offset_fetch.error);
    }
    call->err = err != RILL_OK ? err : RILL_ERR_UNKNOWN_PARTITION; /* unless listed */
    for (uint32_t t = 0; err == RILL_OK && t < resp.offset_fetch.topic_count; t++) {
        const struct proto_committed_topic *topic = &resp.offset_fetch.topics[t];
        if (str_cmp_wire(call->topic, topic->name.ptr, topic->name.bytes) != 0) {
            continue;
        }
        if (topic->error != RILL_OK) {
            call->err = client_wire_err(topic->error);
            return;
        }
        for (uint32_t i = 0; i < topic->partition_count; i++) {
            if (topic->partitions[i].partition == call->partition) {
                call->err = RILL_OK;
                call->offset = topic->partitions[i].offset < 0 ? -1 : topic->partitions[i].offset;
                return;
            }
        }
    }
}

rill_err
rill_committed(rill_consumer_t *consumer, const char *topic, int32_t partition, int64_t *out_offset)
{
    rill_consumer_t *c = consumer;
    if (c == NULL || topic == NULL || out_offset == NULL || partition < 0 || !cgroup_active(c) ||
        strnlen(topic, RILL_TOPIC_NAME_BYTES_MAX + 1) > RILL_TOPIC_NAME_BYTES_MAX ||
        !proto_topic_name_valid(topic, strlen(topic), true)) {
        return RILL_ERR_INVALID;
    }
    struct cgroup *g = c->group;
    struct proto_str name = { topic, (uint32_t)strlen(topic) };
    union proto_request request = { .offset_fetch = {
                                        .group = { g->id, (uint32_t)strlen(g->id) },
                                        .topics = &name,
                                        .topic_count = 1,
                                    } };
    struct committed_call call = { .topic = topic, .partition = partition };
    rill_err err = client_call_any(&c->cl, PROTO_API_OFFSET_FETCH, &request, committed_done, &call,
                                   client_now_ns() + c->cl.request_timeout_ns);
    if (err == RILL_OK) {
        err = call.err;
    }
    if (err == RILL_OK) {
        *out_offset = call.offset;
    }
    return err;
}

rill_err
rill_consumer_assignment(rill_consumer_t *consumer, rill_topic_partition_t **out, size_t *out_count)
{
    rill_consumer_t *c = consumer;
    if (c == NULL || out == NULL || out_count == NULL) {
        return RILL_ERR_INVALID;
    }
    struct cpart **parts = calloc(c->part_count + 1u, sizeof(*parts));
    if (parts == NULL) {
        return RILL_ERR_NOMEM;
    }
    size_t n = 0;
    for (unsigned i = 0; i < c->part_count; i++) {
        if (!c->parts[i]->revoking) {
            parts[n++] = c->parts[i];
        }
    }
    qsort(parts, n, sizeof(*parts), part_ptr_cmp);
    rill_topic_partition_t *items = tp_from_parts(parts, n);
    free(parts);
    if (items == NULL && n > 0) {
        return RILL_ERR_NOMEM;
    }
    *out = items;
    *out_count = n;
    return RILL_OK;
}

/* Ends the subscription: forgets every partition and the membership. */
static void subscription_end(rill_consumer_t *c, struct cgroup *g)
{
    while (c->part_count > 0) {
        consumer_part_remove(c, c->parts[c->part_count - 1]);
    }
    events_drop_rebalances(g);
    subscription_free(g);
    g->active = false;
    g->sub_token++;
    g->member = false;
    g->member_id[0] = '\0';
    g->generation = PROTO_GENERATION_NONE;
    g->member_epoch++;
    g->rejoin = false;
    g->revoke_stage = CG_REVOKE_NONE;
    g->revoke_commit = NULL;
    g->error_due = RILL_OK;
}

/*
 * Leaving: the callbacks still queued run first, in order; then the application hears that
 * every partition it holds goes - REVOKED while this is still a member (a rill_commit() from
 * the callback is accepted), LOST when the group already dropped it or did not answer - as a
 * Kafka consumer's rebalance listener does at unsubscribe and close.
 */
static void leave_callbacks(rill_consumer_t *c, struct cgroup *g, bool member)
{
    events_deliver(c, g);
    if (c->rebalance_cb == NULL) {
        return;
    }
    rill_topic_partition_t *held = NULL;
    size_t count = 0;
    if (rill_consumer_assignment(c, &held, &count) != RILL_OK) {
        return; /* out of memory: the partitions go without the callback */
    }
    if (count > 0) {
        c->in_callback = true;
        c->rebalance_cb(c, member ? RILL_REBALANCE_REVOKED : RILL_REBALANCE_LOST, held, count,
                        c->rebalance_opaque);
        c->in_callback = false;
    }
    free(held);
}

static rill_err unsubscribe_until(rill_consumer_t *c, int64_t deadline)
{
    struct cgroup *g = c->group;
    rill_err err = RILL_OK;
    /* A join in flight says what is held: wait for it. */
    if (!group_wait(c, deadline, join_settled, g)) {
        err = RILL_ERR_TIMEOUT;
    }
    leave_callbacks(c, g, err == RILL_OK && g->member);
    if (err == RILL_OK && g->member && c->gconf.auto_commit) {
        size_t count = 0;
        rill_commit_offset_t *entries = commit_entries_moved(c, false, true, &count);
        if (count > 0) {
            struct cg_commit *commit = commit_wait(c, entries, count, deadline, &err);
            commit_free(commit);
        }
        free(entries);
    }
    if (g->member && !g->leave_inflight) {
        struct client_conn *conn = client_conn_get(&c->cl, -1);
        union proto_request request = {
            .leave_group = { .group = { g->id, (uint32_t)strlen(g->id) },
                             .member_id = { g->member_id, (uint32_t)strlen(g->member_id) } }
        };
        g->leave_answered = false;
        rill_err sent = conn == NULL ? RILL_ERR_CONNECTION
                                     : client_request(&c->cl, conn, PROTO_API_LEAVE_GROUP, &request,
                                                      leave_done, c, c->cl.request_timeout_ns);
        if (sent == RILL_OK) {
            g->leave_inflight = true;
            client_flush(&c->cl);
            bool answered = group_wait(c, deadline, leave_finished, g);
            g->leave_inflight = false; /* a late answer only sets leave_answered */
            if (!answered) {
                err = err == RILL_OK ? RILL_ERR_TIMEOUT : err;
            } else {
                if (g->leave_err != RILL_OK && g->leave_err != RILL_ERR_UNKNOWN_MEMBER_ID) {
                    err = err == RILL_OK ? g->leave_err : err;
                }
            }
        } else {
            err = err == RILL_OK ? sent : err;
        }
    }
    subscription_end(c, g);
    return err;
}

rill_err rill_unsubscribe(rill_consumer_t *consumer, int timeout_ms)
{
    rill_consumer_t *c = consumer;
    if (c == NULL || c->in_callback) {
        return RILL_ERR_INVALID;
    }
    if (!cgroup_active(c)) {
        return c->assign_mode ? RILL_ERR_INVALID : RILL_OK;
    }
    int64_t wait_ns = timeout_ms < 0 ? c->cl.request_timeout_ns : ms_ns(timeout_ms);
    return unsubscribe_until(c, client_now_ns() + wait_ns);
}

void cgroup_destroy_begin(rill_consumer_t *c)
{
    if (cgroup_active(c) && !c->in_callback) {
        rill_err err = unsubscribe_until(c, client_now_ns() + c->cl.request_timeout_ns);
        if (err != RILL_OK) {
            DIAG_INFO(GROUP_DIAG, "leaving the group at destroy: %s", rill_err_str(err));
        }
    }
}

void cgroup_destroy_end(rill_consumer_t *c)
{
    struct cgroup *g = c->group;
    if (g == NULL) {
        return;
    }
    /* The connections are closed: every handler has run. */
    for (unsigned i = 0; i < g->commit_count; i++) {
        commit_free(g->commits[i]);
    }
    while (g->event_count > 0) {
        free(g->events[g->event_head].items);
        g->event_head = (g->event_head + 1) % CGROUP_EVENTS_MAX;
        g->event_count--;
    }
    answer_clear(&g->answer);
    subscription_free(g);
    free(g);
    c->group = NULL;
}
