/*
 * admin_group.c - the consumer group half of rill_admin_t (include/rill.h, "admin: consumer
 * groups"): list, describe (with committed offsets, high watermarks and lag), delete, and
 * reset offsets, over apis 14-18 plus LIST_OFFSETS and METADATA.
 *
 * Each result handed to the caller owns its memory through a pool: every allocation behind it
 * (arrays, copied strings) is a node of one list that the _destroy call frees in one walk. The
 * response handlers copy what they need out of the client's decode arena, which the next
 * answer reuses.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin.h"
#include "common/err.h"

/* ---- result pool ---- */

struct pool_node {
    struct pool_node *next;
    max_align_t data[]; /* the allocation itself, suitably aligned for anything */
};

struct pool {
    struct pool_node *head; /* most recent allocation first */
};

/* count * size zeroed bytes owned by pool; NULL on overflow or allocation failure. A count of
 * 0 still gives a valid (empty) allocation, so NULL always means failure. */
static void *pool_alloc(struct pool *pool, size_t count, size_t size)
{
    if (size != 0 && count > (SIZE_MAX - sizeof(struct pool_node)) / size) {
        return NULL;
    }
    struct pool_node *node = calloc(1, sizeof(*node) + count * size);
    if (node == NULL) {
        return NULL;
    }
    node->next = pool->head;
    pool->head = node;
    return node->data;
}

/* A NUL-terminated copy of a wire string; NULL on allocation failure. A nil string (ptr NULL)
 * becomes "". */
static char *pool_str(struct pool *pool, struct proto_str str)
{
    char *copy = pool_alloc(pool, (size_t)str.bytes + 1, 1);
    if (copy != NULL && str.bytes > 0) {
        memcpy(copy, str.ptr, str.bytes);
    }
    return copy;
}

static char *pool_strdup(struct pool *pool, const char *text)
{
    return pool_str(pool, (struct proto_str){ text, (uint32_t)strlen(text) });
}

static void pool_free(struct pool *pool)
{
    struct pool_node *node = pool->head;
    while (node != NULL) {
        struct pool_node *next = node->next;
        free(node);
        node = next;
    }
    pool->head = NULL;
}

static bool group_ok(const char *group)
{
    return group != NULL && group[0] != '\0' && strlen(group) <= RILL_PROTO_STRING_BYTES_MAX;
}

static bool wire_eq(struct proto_str wire, const char *text)
{
    size_t bytes = strlen(text);
    return wire.bytes == bytes && (bytes == 0 || memcmp(wire.ptr, text, bytes) == 0);
}

/* The decoded body of an answer, or the error that replaces it (request-level error in the
 * header, or a body that does not decode). */
static rill_err group_decode(struct client *cl,
                             uint32_t api,
                             const struct proto_response_header *hdr,
                             struct mp_reader *body,
                             union proto_response *out)
{
    if (hdr->error != RILL_OK) {
        return client_wire_err(hdr->error);
    }
    rill_err err = client_decode(cl, api, body, out);
    return err == RILL_ERR_NOMEM ? err : (err != RILL_OK ? RILL_ERR_CORRUPT : RILL_OK);
}

/*
 * One call of a group api. Every api's call struct holds this first, so read casts it back.
 * Each answer goes through group_call_done: decoded (group_decode), then handed to read, whose
 * return is the call's outcome; an answer carrying an error never reaches read.
 */
struct group_call {
    uint32_t api;
    rill_err (*read)(struct group_call *call, const union proto_response *resp);
    rill_err err;        /* the outcome */
    char *errstr;        /* gets the broker's message of a request-level error; NULL: nowhere */
    size_t errstr_bytes; /* of errstr */
};

static void group_call_done(struct client *cl,
                            void *ctx,
                            rill_err err,
                            const struct proto_response_header *hdr,
                            struct mp_reader *body,
                            struct client_conn *conn)
{
    (void)err;
    (void)conn;
    struct group_call *call = ctx;
    union proto_response resp;
    call->err = group_decode(cl, call->api, hdr, body, &resp);
    if (call->err == RILL_OK) {
        call->err = call->read(call, &resp);
    } else if (hdr->error != RILL_OK && hdr->message != NULL) {
        rill_errstr_set(call->errstr, call->errstr_bytes, "%.*s", (int)hdr->message_bytes,
                        hdr->message);
    }
}

/* Sends request to any broker and waits for its answer: the transport's error, or the call's
 * outcome. */
static rill_err
group_call_run(rill_admin_t *admin, const union proto_request *request, struct group_call *call)
{
    rill_err err = client_call_any(&admin->cl, call->api, request, group_call_done, call,
                                   admin_deadline(admin));
    return err != RILL_OK ? admin_call_err(err) : call->err;
}

/* ---- list ---- */

struct group_list_owned {
    rill_group_list_t list; /* first: the public pointer is this struct's address */
    struct pool pool;
};

void rill_group_list_destroy(rill_group_list_t *list)
{
    if (list == NULL) {
        return;
    }
    struct group_list_owned *owned = (struct group_list_owned *)list;
    pool_free(&owned->pool);
    free(owned);
}

struct list_groups_call {
    struct group_call base; /* first */
    struct group_list_owned *owned;
};

static rill_err list_groups_read(struct group_call *base, const union proto_response *resp)
{
    struct list_groups_call *call = (struct list_groups_call *)base;
    const struct proto_list_groups_response *wire = &resp->list_groups;
    struct pool *pool = &call->owned->pool;
    rill_group_listing_t *groups = pool_alloc(pool, wire->group_count, sizeof(*groups));
    if (groups == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < wire->group_count; i++) {
        groups[i].group = pool_str(pool, wire->groups[i].group);
        groups[i].state = pool_str(pool, wire->groups[i].state);
        groups[i].member_count = wire->groups[i].member_count;
        if (groups[i].group == NULL || groups[i].state == NULL) {
            return RILL_ERR_NOMEM;
        }
    }
    call->owned->list.groups = groups;
    call->owned->list.group_count = wire->group_count;
    return RILL_OK;
}

rill_err rill_admin_list_groups(rill_admin_t *admin, rill_group_list_t **out_list)
{
    if (admin == NULL || out_list == NULL) {
        return RILL_ERR_INVALID;
    }
    struct group_list_owned *owned = calloc(1, sizeof(*owned));
    if (owned == NULL) {
        return RILL_ERR_NOMEM;
    }
    union proto_request request = { .list_groups = { .states_all = true } };
    struct list_groups_call call = {
        .base = { .api = PROTO_API_LIST_GROUPS, .read = list_groups_read },
        .owned = owned,
    };
    rill_err err = group_call_run(admin, &request, &call.base);
    if (err != RILL_OK) {
        rill_group_list_destroy(&owned->list);
        return err;
    }
    *out_list = &owned->list;
    return RILL_OK;
}

/* ---- delete ---- */

struct delete_group_call {
    struct group_call base; /* first */
    const char *group;
};

static rill_err delete_group_read(struct group_call *base, const union proto_response *resp)
{
    struct delete_group_call *call = (struct delete_group_call *)base;
    const struct proto_topic_result *result =
        admin_result_find(&resp->delete_groups, call->group, base->errstr, base->errstr_bytes);
    if (result == NULL) {
        return RILL_ERR_CORRUPT;
    }
    rill_err err = client_wire_err(result->error);
    if (err != RILL_OK && result->message.ptr != NULL) {
        rill_errstr_set(base->errstr, base->errstr_bytes, "%.*s", (int)result->message.bytes,
                        result->message.ptr);
    }
    return err;
}

rill_err
rill_admin_delete_group(rill_admin_t *admin, const char *group, char *errstr, size_t errstr_bytes)
{
    if (admin == NULL || !group_ok(group)) {
        return RILL_ERR_INVALID;
    }
    rill_errstr_set(errstr, errstr_bytes, "%s", "");
    struct proto_str wire = { group, (uint32_t)strlen(group) };
    union proto_request request = { .delete_groups = { .groups = &wire, .group_count = 1 } };
    struct delete_group_call call = {
        .base = { .api = PROTO_API_DELETE_GROUPS,
                  .read = delete_group_read,
                  .errstr = errstr,
                  .errstr_bytes = errstr_bytes },
        .group = group,
    };
    return group_call_run(admin, &request, &call.base);
}

/* ---- offsets of a group (OFFSET_FETCH), shared by describe and reset ---- */

/* One committed offset as OFFSET_FETCH reports it, copied out of the arena. */
struct committed {
    char *topic; /* pool */
    int32_t partition;
    int64_t offset; /* -1: none */
    char *metadata; /* pool, NULL when nil */
};

struct committed_vec {
    struct committed *items; /* realloc'd; strings in the pool */
    size_t count;
    size_t capacity;
};

static rill_err committed_push(struct committed_vec *vec, const struct committed *item)
{
    if (vec->count == vec->capacity) {
        if (vec->capacity >= RILL_PROTO_ARRAY_ENTRIES_MAX * 2) {
            return RILL_ERR_TOO_LARGE;
        }
        size_t capacity = vec->capacity == 0 ? 16 : vec->capacity * 2;
        struct committed *grown = realloc(vec->items, capacity * sizeof(*grown));
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        vec->items = grown;
        vec->capacity = capacity;
    }
    vec->items[vec->count++] = *item;
    return RILL_OK;
}

static int committed_cmp(const void *a, const void *b)
{
    const struct committed *x = a;
    const struct committed *y = b;
    int order = strcmp(x->topic, y->topic);
    if (order != 0) {
        return order;
    }
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static struct committed *
committed_find(struct committed_vec *vec, const char *topic, int32_t partition)
{
    struct committed key = { .topic = (char *)topic, .partition = partition };
    return vec->count == 0 ? NULL
                           : bsearch(&key, vec->items, vec->count, sizeof(key), committed_cmp);
}

struct offset_fetch_call {
    struct group_call base; /* first */
    struct pool *pool;
    struct committed_vec *vec;
    bool skip_known; /* a partition already in vec (sorted) is left as it is */
};

static rill_err offset_fetch_read(struct group_call *base, const union proto_response *resp)
{
    struct offset_fetch_call *call = (struct offset_fetch_call *)base;
    rill_err err = client_wire_err(resp->offset_fetch.error);
    if (err != RILL_OK) {
        return err;
    }
    size_t known = call->vec->count; /* the sorted prefix to search */
    for (uint32_t t = 0; t < resp->offset_fetch.topic_count; t++) {
        const struct proto_committed_topic *topic = &resp->offset_fetch.topics[t];
        if (topic->error != RILL_OK || topic->partition_count == 0) {
            continue; /* an unknown topic: whatever the first fetch found stays */
        }
        char *name = pool_str(call->pool, topic->name);
        if (name == NULL) {
            return RILL_ERR_NOMEM;
        }
        for (uint32_t p = 0; p < topic->partition_count; p++) {
            const struct proto_committed_partition *part = &topic->partitions[p];
            if (part->partition < 0) {
                return RILL_ERR_CORRUPT;
            }
            struct committed_vec prefix = { call->vec->items, known, known };
            if (call->skip_known && committed_find(&prefix, name, part->partition) != NULL) {
                continue;
            }
            struct committed item = {
                .topic = name,
                .partition = part->partition,
                .offset = part->offset >= 0 ? part->offset : -1,
                .metadata =
                    part->metadata.ptr != NULL ? pool_str(call->pool, part->metadata) : NULL,
            };
            if (part->metadata.ptr != NULL && item.metadata == NULL) {
                return RILL_ERR_NOMEM;
            }
            err = committed_push(call->vec, &item);
            if (err != RILL_OK) {
                return err;
            }
        }
    }
    return RILL_OK;
}

/*
 * OFFSET_FETCH for group: names NULL asks for every committed partition, else every partition
 * of the named topics. Results are appended to vec (with skip_known, partitions already in
 * vec, which must be sorted, are skipped); vec is sorted again on return.
 */
static rill_err offsets_fetch(rill_admin_t *admin,
                              const char *group,
                              const char *const *names,
                              size_t name_count,
                              bool skip_known,
                              struct pool *pool,
                              struct committed_vec *vec)
{
    struct proto_str *wire = NULL;
    if (names != NULL && name_count > 0) {
        wire = calloc(name_count, sizeof(*wire));
        if (wire == NULL) {
            return RILL_ERR_NOMEM;
        }
        for (size_t i = 0; i < name_count; i++) {
            wire[i] = (struct proto_str){ names[i], (uint32_t)strlen(names[i]) };
        }
    }
    union proto_request request = { .offset_fetch = {
                                        .group = { group, (uint32_t)strlen(group) },
                                        .topics = wire,
                                        .topic_count = (uint32_t)name_count,
                                        .topics_all = names == NULL,
                                    } };
    struct offset_fetch_call call = {
        .base = { .api = PROTO_API_OFFSET_FETCH, .read = offset_fetch_read },
        .pool = pool,
        .vec = vec,
        .skip_known = skip_known,
    };
    rill_err err = group_call_run(admin, &request, &call.base);
    free(wire);
    if (vec->count > 1) {
        qsort(vec->items, vec->count, sizeof(*vec->items), committed_cmp);
    }
    /* A hostile answer may list a partition twice: keep the first. */
    size_t kept = 0;
    for (size_t i = 0; i < vec->count; i++) {
        if (kept == 0 || committed_cmp(&vec->items[kept - 1], &vec->items[i]) != 0) {
            vec->items[kept++] = vec->items[i];
        }
    }
    vec->count = kept;
    return err;
}

/* ---- high watermarks (LIST_OFFSETS latest, one request per topic and leader) ---- */

struct watermark_call {
    struct group_call base; /* first */
    const char *topic;
    rill_group_offset_info_t *offsets; /* the rows of this topic */
    size_t count;
};

static rill_err watermark_read(struct group_call *base, const union proto_response *resp)
{
    struct watermark_call *call = (struct watermark_call *)base;
    for (uint32_t t = 0; t < resp->list_offsets.topic_count; t++) {
        const struct proto_list_offsets_topic_result *topic = &resp->list_offsets.topics[t];
        if (!wire_eq(topic->name, call->topic)) {
            continue;
        }
        for (uint32_t p = 0; p < topic->partition_count; p++) {
            const struct proto_list_offsets_partition_result *part = &topic->partitions[p];
            if (part->error != RILL_OK || part->offset < 0) {
                continue;
            }
            for (size_t i = 0; i < call->count; i++) {
                if (call->offsets[i].partition == part->partition) {
                    call->offsets[i].high_watermark = part->offset;
                }
            }
        }
    }
    return RILL_OK;
}

/* Fills high_watermark of the count rows of one topic (all with the same topic); rows it
 * cannot learn keep -1. Fails only for transport errors. */
static rill_err watermarks_topic(rill_admin_t *admin,
                                 rill_group_offset_info_t *offsets,
                                 size_t count,
                                 int64_t deadline)
{
    const char *name = offsets[0].topic;
    struct client_topic *topic = NULL;
    rill_err err = client_topic_lookup(&admin->cl, name, deadline, &topic);
    if (err != RILL_OK) {
        return err == RILL_ERR_NOMEM ? err : admin_call_err(err);
    }
    if (topic->err != RILL_OK) {
        return RILL_OK; /* deleted since the commit: no watermark */
    }
    struct proto_list_offsets_partition *parts = calloc(count, sizeof(*parts));
    bool *sent = calloc(count, sizeof(*sent));
    if (parts == NULL || sent == NULL) {
        free(parts);
        free(sent);
        return RILL_ERR_NOMEM;
    }
    /* One request per leader, covering every row that leader serves. */
    for (size_t first = 0; first < count && err == RILL_OK; first++) {
        if (sent[first]) {
            continue;
        }
        int32_t p0 = offsets[first].partition;
        int32_t leader = p0 < topic->partition_count ? topic->leaders[p0] : -1;
        uint32_t part_count = 0;
        for (size_t i = first; i < count; i++) {
            int32_t p = offsets[i].partition;
            int32_t their = p < topic->partition_count ? topic->leaders[p] : -1;
            if (!sent[i] && their == leader) {
                sent[i] = true;
                parts[part_count++] =
                    (struct proto_list_offsets_partition){ .partition = p,
                                                           .timestamp = PROTO_LIST_OFFSETS_LATEST };
            }
        }
        struct proto_list_offsets_topic wire_topic = {
            .name = { name, (uint32_t)strlen(name) },
            .partitions = parts,
            .partition_count = part_count,
        };
        union proto_request request = { .list_offsets = { .topics = &wire_topic,
                                                          .topic_count = 1 } };
        struct watermark_call call = {
            .base = { .api = PROTO_API_LIST_OFFSETS, .read = watermark_read },
            .topic = name,
            .offsets = offsets,
            .count = count,
        };
        struct client_conn *conn = leader >= 0 ? client_conn_leader(&admin->cl, leader) : NULL;
        err = conn != NULL ? client_call(&admin->cl, conn, PROTO_API_LIST_OFFSETS, &request,
                                         group_call_done, &call.base, deadline)
                           : client_call_any(&admin->cl, PROTO_API_LIST_OFFSETS, &request,
                                             group_call_done, &call.base, deadline);
        err = err != RILL_OK ? admin_call_err(err)
                             : (call.base.err == RILL_ERR_NOMEM ? call.base.err : RILL_OK);
    }
    free(parts);
    free(sent);
    return err;
}

/* ---- describe ---- */

struct group_info_owned {
    rill_group_info_t info; /* first: the public pointer is this struct's address */
    struct pool pool;
};

void rill_group_info_destroy(rill_group_info_t *info)
{
    if (info == NULL) {
        return;
    }
    struct group_info_owned *owned = (struct group_info_owned *)info;
    pool_free(&owned->pool);
    free(owned);
}

static rill_err tp_copy(struct pool *pool,
                        const struct proto_topic_partitions *wire,
                        uint32_t wire_count,
                        const rill_topic_partition_t **out,
                        size_t *out_count)
{
    size_t total = 0;
    for (uint32_t t = 0; t < wire_count; t++) {
        total += wire[t].partition_count; /* bounded by the decoder's entry limit */
    }
    rill_topic_partition_t *tps = pool_alloc(pool, total, sizeof(*tps));
    if (tps == NULL) {
        return RILL_ERR_NOMEM;
    }
    size_t n = 0;
    for (uint32_t t = 0; t < wire_count; t++) {
        char *topic = pool_str(pool, wire[t].topic);
        if (topic == NULL) {
            return RILL_ERR_NOMEM;
        }
        for (uint32_t p = 0; p < wire[t].partition_count; p++) {
            tps[n++] = (rill_topic_partition_t){ topic, wire[t].partitions[p] };
        }
    }
    *out = tps;
    *out_count = total;
    return RILL_OK;
}

static rill_err member_copy(struct pool *pool,
                            const struct proto_group_member *wire,
                            rill_group_member_info_t *member)
{
    member->member_id = pool_str(pool, wire->member_id);
    member->client_id = pool_str(pool, wire->client_id);
    member->host = pool_str(pool, wire->host);
    if (member->member_id == NULL || member->client_id == NULL || member->host == NULL) {
        return RILL_ERR_NOMEM;
    }
    member->generation = wire->generation;
    member->session_timeout_ms = wire->session_timeout_ms;
    if (wire->topics_nil) {
        member->pattern = pool_str(pool, wire->pattern);
        if (member->pattern == NULL) {
            return RILL_ERR_NOMEM;
        }
    } else {
        const char **topics = pool_alloc(pool, wire->topic_count, sizeof(*topics));
        if (topics == NULL) {
            return RILL_ERR_NOMEM;
        }
        for (uint32_t t = 0; t < wire->topic_count; t++) {
            topics[t] = pool_str(pool, wire->topics[t]);
            if (topics[t] == NULL) {
                return RILL_ERR_NOMEM;
            }
        }
        member->topics = topics;
        member->topic_count = wire->topic_count;
    }
    rill_err err = tp_copy(pool, wire->assignment, wire->assignment_count, &member->assignment,
                           &member->assignment_count);
    if (err == RILL_OK) {
        err = tp_copy(pool, wire->revoking, wire->revoking_count, &member->revoking,
                      &member->revoking_count);
    }
    return err;
}

static int member_cmp(const void *a, const void *b)
{
    return strcmp(((const rill_group_member_info_t *)a)->member_id,
                  ((const rill_group_member_info_t *)b)->member_id);
}

struct describe_group_call {
    struct group_call base; /* first */
    struct group_info_owned *owned;
    const char *group;
};

static rill_err describe_group_read(struct group_call *base, const union proto_response *resp)
{
    struct describe_group_call *call = (struct describe_group_call *)base;
    const struct proto_group_description *wire = NULL;
    for (uint32_t i = 0; i < resp->describe_groups.group_count && wire == NULL; i++) {
        if (wire_eq(resp->describe_groups.groups[i].group, call->group)) {
            wire = &resp->describe_groups.groups[i];
        }
    }
    if (wire == NULL) {
        return RILL_ERR_CORRUPT;
    }
    struct pool *pool = &call->owned->pool;
    rill_group_info_t *info = &call->owned->info;
    info->err = client_wire_err(wire->error);
    info->state = pool_str(pool, wire->state);
    info->strategy = pool_str(pool, wire->strategy);
    info->generation = wire->generation;
    rill_group_member_info_t *members = pool_alloc(pool, wire->member_count, sizeof(*members));
    if (info->state == NULL || info->strategy == NULL || members == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t m = 0; m < wire->member_count; m++) {
        rill_err err = member_copy(pool, &wire->members[m], &members[m]);
        if (err != RILL_OK) {
            return err;
        }
    }
    if (wire->member_count > 1) {
        qsort(members, wire->member_count, sizeof(*members), member_cmp);
    }
    info->members = members;
    info->member_count = wire->member_count;
    return RILL_OK;
}

/* A set of topic names (borrowed strings), small and unordered. */
struct name_set {
    const char **names;
    size_t count;
    size_t capacity;
};

static rill_err name_set_add(struct name_set *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++) {
        if (strcmp(set->names[i], name) == 0) {
            return RILL_OK;
        }
    }
    if (set->count == set->capacity) {
        if (set->capacity >= RILL_TOPICS_MAX) {
            return RILL_ERR_TOO_LARGE;
        }
        size_t capacity = set->capacity == 0 ? 8 : set->capacity * 2;
        const char **grown = realloc(set->names, capacity * sizeof(*grown));
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        set->names = grown;
        set->capacity = capacity;
    }
    set->names[set->count++] = name;
    return RILL_OK;
}

/* The topics whose partitions describe lists: committed ones, subscribed, held. */
static rill_err describe_topic_names(const rill_group_info_t *info,
                                     const struct committed_vec *vec,
                                     struct name_set *set)
{
    rill_err err = RILL_OK;
    for (size_t i = 0; i < vec->count && err == RILL_OK; i++) {
        err = name_set_add(set, vec->items[i].topic);
    }
    for (size_t m = 0; m < info->member_count && err == RILL_OK; m++) {
        const rill_group_member_info_t *member = &info->members[m];
        for (size_t t = 0; t < member->topic_count && err == RILL_OK; t++) {
            err = name_set_add(set, member->topics[t]);
        }
        for (size_t a = 0; a < member->assignment_count && err == RILL_OK; a++) {
            err = name_set_add(set, member->assignment[a].topic);
        }
    }
    return err;
}

static const char *holder_of(const rill_group_info_t *info, const char *topic, int32_t partition)
{
    for (size_t m = 0; m < info->member_count; m++) {
        const rill_group_member_info_t *member = &info->members[m];
        for (size_t a = 0; a < member->assignment_count; a++) {
            if (member->assignment[a].partition == partition &&
                strcmp(member->assignment[a].topic, topic) == 0) {
                return member->member_id;
            }
        }
    }
    return NULL;
}

/* Builds info->offsets from the committed rows, then adds watermarks and lag. */
static rill_err describe_offsets(rill_admin_t *admin,
                                 struct group_info_owned *owned,
                                 const struct committed_vec *vec)
{
    rill_group_info_t *info = &owned->info;
    rill_group_offset_info_t *offsets = pool_alloc(&owned->pool, vec->count, sizeof(*offsets));
    if (offsets == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (size_t i = 0; i < vec->count; i++) {
        const struct committed *row = &vec->items[i];
        offsets[i] = (rill_group_offset_info_t){
            .topic = row->topic,
            .partition = row->partition,
            .committed = row->offset,
            .metadata = row->metadata,
            .high_watermark = -1,
            .lag = -1,
            .member_id = holder_of(info, row->topic, row->partition),
        };
    }
    info->offsets = offsets;
    info->offset_count = vec->count;
    int64_t deadline = admin_deadline(admin);
    rill_err err = RILL_OK;
    /* Rows are sorted by topic: one run per topic. */
    for (size_t first = 0; first < vec->count && err == RILL_OK;) {
        size_t end = first + 1;
        while (end < vec->count && strcmp(offsets[end].topic, offsets[first].topic) == 0) {
            end++;
        }
        err = watermarks_topic(admin, &offsets[first], end - first, deadline);
        first = end;
    }
    for (size_t i = 0; i < vec->count; i++) {
        if (offsets[i].committed >= 0 && offsets[i].high_watermark >= 0) {
            int64_t lag = offsets[i].high_watermark - offsets[i].committed;
            offsets[i].lag = lag > 0 ? lag : 0;
        }
    }
    return err;
}

static rill_err
describe_group_run(rill_admin_t *admin, const char *group, struct group_info_owned *owned)
{
    owned->info.group = pool_strdup(&owned->pool, group);
    if (owned->info.group == NULL) {
        return RILL_ERR_NOMEM;
    }
    struct proto_str wire = { group, (uint32_t)strlen(group) };
    union proto_request request = { .describe_groups = { .groups = &wire, .group_count = 1 } };
    struct describe_group_call call = {
        .base = { .api = PROTO_API_DESCRIBE_GROUPS, .read = describe_group_read },
        .owned = owned,
        .group = group,
    };
    rill_err err = group_call_run(admin, &request, &call.base);
    if (err != RILL_OK || owned->info.err != RILL_OK) {
        return err;
    }
    struct committed_vec vec = { 0 };
    struct name_set names = { 0 };
    err = offsets_fetch(admin, group, NULL, 0, false, &owned->pool, &vec);
    if (err == RILL_OK) {
        err = describe_topic_names(&owned->info, &vec, &names);
    }
    if (err == RILL_OK && names.count > 0) {
        err = offsets_fetch(admin, group, names.names, names.count, true, &owned->pool, &vec);
    }
    if (err == RILL_OK) {
        err = describe_offsets(admin, owned, &vec);
    }
    free(vec.items);
    free(names.names);
    return err;
}

rill_err
rill_admin_describe_group(rill_admin_t *admin, const char *group, rill_group_info_t **out_info)
{
    if (admin == NULL || !group_ok(group) || out_info == NULL) {
        return RILL_ERR_INVALID;
    }
    struct group_info_owned *owned = calloc(1, sizeof(*owned));
    if (owned == NULL) {
        return RILL_ERR_NOMEM;
    }
    rill_err err = describe_group_run(admin, group, owned);
    if (err != RILL_OK) {
        rill_group_info_destroy(&owned->info);
        return err;
    }
    if (owned->info.err != RILL_OK) {
        /* Say nothing the broker did not: no state, no members, no offsets. */
        owned->info.members = NULL;
        owned->info.member_count = 0;
    }
    *out_info = &owned->info;
    return RILL_OK;
}

/* ---- reset offsets ---- */

static int reset_ptr_cmp(const void *a, const void *b)
{
    const rill_group_reset_t *x = *(const rill_group_reset_t *const *)a;
    const rill_group_reset_t *y = *(const rill_group_reset_t *const *)b;
    int order = strcmp(x->topic, y->topic);
    if (order != 0) {
        return order;
    }
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static rill_group_reset_t *
reset_find(rill_group_reset_t **sorted, size_t count, struct proto_str topic, int32_t partition)
{
    size_t low = 0;
    size_t high = count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        const rill_group_reset_t *entry = sorted[mid];
        size_t bytes = strlen(entry->topic);
        size_t common = bytes < topic.bytes ? bytes : topic.bytes;
        int order = common > 0 ? memcmp(entry->topic, topic.ptr, common) : 0;
        if (order == 0) {
            order = bytes < topic.bytes ? -1 : bytes > topic.bytes;
        }
        if (order == 0) {
            order = entry->partition < partition ? -1 : entry->partition > partition;
        }
        if (order == 0) {
            return sorted[mid];
        }
        if (order < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return NULL;
}

static bool reset_entry_ok(const rill_group_reset_t *entry)
{
    return entry->topic != NULL && entry->topic[0] != '\0' &&
           strlen(entry->topic) <= RILL_TOPIC_NAME_BYTES_MAX && entry->partition >= 0 &&
           (entry->offset >= 0 || entry->offset == RILL_OFFSET_END ||
            entry->offset == RILL_OFFSET_BEGINNING || entry->offset == RILL_OFFSET_NONE);
}

/* The wire request of a reset: one topic entry per distinct topic (sorted is in topic order). */
struct reset_wire {
    struct proto_reset_topic *topics;
    struct proto_reset_partition *partitions;
    const char **names; /* the distinct topics, for OFFSET_FETCH */
    uint32_t topic_count;
};

static rill_err reset_wire_build(rill_group_reset_t **sorted, size_t count, struct reset_wire *out)
{
    _Static_assert(RILL_OFFSET_END == PROTO_RESET_OFFSETS_LATEST, "same encoding");
    _Static_assert(RILL_OFFSET_BEGINNING == PROTO_RESET_OFFSETS_EARLIEST, "same encoding");
    _Static_assert(RILL_OFFSET_NONE == PROTO_RESET_OFFSETS_DELETE, "same encoding");
    out->topics = calloc(count, sizeof(*out->topics));
    out->partitions = calloc(count, sizeof(*out->partitions));
    out->names = calloc(count, sizeof(*out->names));
    if (out->topics == NULL || out->partitions == NULL || out->names == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const rill_group_reset_t *entry = sorted[i];
        out->partitions[i] = (struct proto_reset_partition){ entry->partition, entry->offset };
        if (i == 0 || strcmp(sorted[i - 1]->topic, entry->topic) != 0) {
            out->names[out->topic_count] = entry->topic;
            out->topics[out->topic_count++] = (struct proto_reset_topic){
                .name = { entry->topic, (uint32_t)strlen(entry->topic) },
                .partitions = &out->partitions[i],
            };
        }
        out->topics[out->topic_count - 1].partition_count++;
    }
    return RILL_OK;
}

static void reset_wire_free(struct reset_wire *wire)
{
    free(wire->topics);
    free(wire->partitions);
    free(wire->names);
}

struct reset_call {
    struct group_call base; /* first; its err is the group level outcome */
    rill_group_reset_t **sorted;
    size_t count;
};

static rill_err reset_read(struct group_call *base, const union proto_response *resp)
{
    struct reset_call *call = (struct reset_call *)base;
    rill_err err = client_wire_err(resp->reset_offsets.error);
    if (err != RILL_OK) {
        return err;
    }
    for (uint32_t t = 0; t < resp->reset_offsets.topic_count; t++) {
        const struct proto_reset_topic_result *topic = &resp->reset_offsets.topics[t];
        for (uint32_t p = 0; p < topic->partition_count; p++) {
            const struct proto_reset_partition_result *part = &topic->partitions[p];
            rill_group_reset_t *entry =
                reset_find(call->sorted, call->count, topic->name, part->partition);
            if (entry != NULL) {
                entry->err = client_wire_err(part->error);
                entry->offset = part->offset >= 0 ? part->offset : -1;
            }
        }
    }
    return RILL_OK;
}

static rill_err reset_run(rill_admin_t *admin,
                          const char *group,
                          rill_group_reset_t **sorted,
                          size_t count,
                          bool validate_only,
                          char *errstr,
                          size_t errstr_bytes)
{
    struct reset_wire wire = { 0 };
    struct pool pool = { 0 };
    struct committed_vec vec = { 0 };
    rill_err err = reset_wire_build(sorted, count, &wire);
    if (err == RILL_OK) {
        err = offsets_fetch(admin, group, wire.names, wire.topic_count, false, &pool, &vec);
    }
    if (err == RILL_OK) {
        for (size_t i = 0; i < count; i++) {
            struct committed *row = committed_find(&vec, sorted[i]->topic, sorted[i]->partition);
            sorted[i]->previous = row != NULL ? row->offset : -1;
            sorted[i]->err = RILL_ERR_CORRUPT; /* until the answer names the partition */
        }
        union proto_request request = { .reset_offsets = {
                                            .group = { group, (uint32_t)strlen(group) },
                                            .topics = wire.topics,
                                            .topic_count = wire.topic_count,
                                            .validate_only = validate_only,
                                        } };
        struct reset_call call = {
            .base = { .api = PROTO_API_RESET_OFFSETS,
                      .read = reset_read,
                      .errstr = errstr,
                      .errstr_bytes = errstr_bytes },
            .sorted = sorted,
            .count = count,
        };
        err = group_call_run(admin, &request, &call.base);
        if (err != RILL_OK) {
            for (size_t i = 0; i < count; i++) {
                sorted[i]->err = err;
            }
        }
    }
    free(vec.items);
    pool_free(&pool);
    reset_wire_free(&wire);
    return err;
}

rill_err rill_admin_reset_group_offsets(rill_admin_t *admin,
                                        const char *group,
                                        rill_group_reset_t *entries,
                                        size_t count,
                                        bool validate_only,
                                        char *errstr,
                                        size_t errstr_bytes)
{
    if (admin == NULL || !group_ok(group) || entries == NULL || count == 0 ||
        count > RILL_PROTO_ARRAY_ENTRIES_MAX / 2) {
        return RILL_ERR_INVALID;
    }
    rill_errstr_set(errstr, errstr_bytes, "%s", "");
    for (size_t i = 0; i < count; i++) {
        if (!reset_entry_ok(&entries[i])) {
            rill_errstr_set(errstr, errstr_bytes, "entry %zu: bad topic, partition or offset", i);
            return RILL_ERR_INVALID;
        }
    }
    rill_group_reset_t **sorted = calloc(count, sizeof(*sorted));
    if (sorted == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        sorted[i] = &entries[i];
    }
    qsort(sorted, count, sizeof(*sorted), reset_ptr_cmp);
    for (size_t i = 1; i < count; i++) {
        if (reset_ptr_cmp(&sorted[i - 1], &sorted[i]) == 0) {
            rill_errstr_set(errstr, errstr_bytes, "%s/%d is listed twice", sorted[i]->topic,
                            (int)sorted[i]->partition);
            free(sorted);
            return RILL_ERR_INVALID;
        }
    }
    rill_err err = reset_run(admin, group, sorted, count, validate_only, errstr, errstr_bytes);
    for (size_t i = 0; i < count && err == RILL_OK; i++) {
        err = entries[i].err;
    }
    if (err != RILL_OK && errstr != NULL && errstr_bytes > 0 && errstr[0] == '\0') {
        rill_errstr_set(errstr, errstr_bytes, "%s", rill_err_str(err));
    }
    free(sorted);
    return err;
}
