/*
 * group.c - the consumer group coordinator (group.h; docs/protocol.md, "Consumer groups"):
 * groups, members, sessions, generations, cooperative handover and committed offsets.
 *
 * Model. Topic names are interned coordinator-wide into small ids, so a partition is one
 * uint64 key (id << 32 | partition). Per group:
 *   members       in join order (members[0] is the longest-standing), and a map id -> member
 *   holder        partition -> the member holding it: every partition has at most one holder,
 *                 a member only takes a partition nobody holds
 *   target_owner  partition -> the member the current target assignment gives it to
 *   offsets       partition -> committed offset
 * A member holds what JOIN_GROUP responses gave it until it rejoins without it in `owned`,
 * leaves or is removed. Its revoke list is what it holds but the target gives elsewhere (once
 * listed there, a partition is marked `told`: the client stopped consuming it); its pending
 * partitions are targets held by someone else; it is told to rejoin (HEARTBEAT
 * ERR_REBALANCE_IN_PROGRESS) while it has something to revoke, a told partition not yet
 * released, or a target nobody holds.
 *
 * The target is recomputed (assign_compute, sticky fed with what members still consume) on a
 * join, leave, removal, subscription or strategy change, or topic change; each recomputation is a
 * rebalance step and bumps the group generation, and so does a rejoin that releases revoked
 * partitions to their new owner (the follow-up step). A joining member's share of the step
 * (keep, revoke, assign now, pending) is worked out for that member alone from the holder and
 * target maps, the same rules as assign_cooperative_step, so a join costs what the member
 * holds and is given, not the size of the group.
 *
 * Unused interned names are collected by a mark-and-sweep in group_coord_tick once their count
 * doubled since the last sweep.
 */
#include "consumer/group.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/diag.h"
#include "common/limits.h"
#include "consumer/assign.h"
#include "consumer/gmap.h"

#define TP_KEY(id, p)  (((uint64_t)(id) << 32) | (uint32_t)(p))
#define TP_TOPIC(key)  ((uint32_t)((key) >> 32))
#define TP_PART(key)   ((int32_t)(uint32_t)(key))
#define STRATEGY_SLOTS 4u /* enum assign_strategy values 1..3 index votes[] */
#define PATTERN_MAX    1024u
#define PATTERN_REPEAT 1000 /* product of {m,n} bounds a pattern may use (regcomp's memory) */
#define MEMBER_ID_TAG  200u /* bytes of the client id kept in a member id */
#define HOST_BYTES_MAX 255u
#define NAMES_GC_MIN   256u
#define UNSET          INT64_MIN
#define COMPONENT      "group"

/* One interned topic name. */
struct cname {
    char *name;     /* NUL-terminated */
    uint32_t bytes; /* length without the NUL */
    uint32_t id;    /* its index in coord->names + 1 */
    bool mark;      /* reached in the current sweep */
};

struct goffset {
    int64_t offset;          /* >= 0 */
    char *metadata;          /* NULL: nil */
    uint32_t metadata_bytes; /* length of metadata */
    int64_t commit_wall_ms;  /* when it was committed */
};

/* A subscription as a member sent it, owned. */
struct gsub {
    bool topics_nil;          /* pattern subscription */
    struct proto_str *topics; /* names (copies), topic_count entries */
    uint32_t topic_count;     /* names */
    char *pattern;            /* NUL-terminated copy, NULL unless topics_nil */
    uint32_t pattern_bytes;   /* length of pattern */
    regex_t regex;            /* ^(pattern)$ compiled, valid when has_regex */
    bool has_regex;           /* regex must be freed */
};

struct gmember {
    char *id;                     /* NUL-terminated, unique in the group */
    uint32_t id_bytes;            /* length of id */
    char *client_id;              /* copy of the last join's client id */
    uint32_t client_id_bytes;     /* its length */
    char *host;                   /* "ip:port" of the last join */
    uint32_t host_bytes;          /* its length */
    int32_t session_timeout_ms;   /* as joined */
    int32_t rebalance_timeout_ms; /* as joined (-1: the session timeout) */
    int32_t generation;           /* of its last JOIN_GROUP response */
    uint8_t prefs[3];             /* known strategies in preference order */
    uint8_t pref_count;           /* entries in prefs */
    struct gsub sub;              /* its subscription */
    uint32_t *resolved;           /* interned ids of existing subscribed topics, ascending */
    uint32_t resolved_count;      /* entries in resolved */
    uint64_t *held;               /* partitions it holds (revoking ones included) */
    uint8_t *told;                /* parallel to held: 1 once a response listed it in revoke */
    uint32_t held_count;          /* entries in held and told */
    uint32_t held_cap;            /* slots at held and told */
    uint64_t *target;             /* its share of the current target */
    uint32_t target_count;        /* entries in target */
    int64_t session_deadline;     /* mono_ms: removed when reached */
    int64_t rejoin_deadline;      /* mono_ms: told to rejoin by then; INT64_MAX: not told */
    uint32_t index;               /* position in group->members */
};

struct gtopic {
    uint32_t id;        /* interned name */
    int32_t partitions; /* partition count when the target was computed */
};

struct ggroup {
    char *id;                       /* NUL-terminated group id */
    uint32_t id_bytes;              /* its length */
    uint32_t index;                 /* position in coord->groups */
    int32_t generation;             /* bumped at each rebalance step; 0 before the first */
    enum assign_strategy strategy;  /* 0 while empty */
    struct gmember **members;       /* join order */
    uint32_t member_count;          /* entries in members */
    uint32_t member_cap;            /* slots in members */
    struct gmap_str member_map;     /* id -> member */
    uint32_t votes[STRATEGY_SLOTS]; /* members accepting each strategy */
    struct gmap_u64 holder;         /* partition -> holding member */
    struct gmap_u64 target_owner;   /* partition -> member the target gives it to */
    struct gmap_u64 offsets;        /* partition -> struct goffset */
    struct gtopic *universe;        /* topics of the current target, by id */
    uint32_t universe_count;        /* entries in universe */
    int64_t last_commit_wall_ms;    /* latest commit_wall_ms seen; INT64_MIN: none */
    int64_t empty_since_mono_ms;    /* when it became empty; UNSET: not known yet */
    bool dirty;                     /* the last target computation failed: retry */
};

struct group_coord {
    struct group_config config; /* bounds */
    struct group_topics topics; /* the broker's topics view */
    struct gmap_str group_map;  /* id -> group */
    struct ggroup **groups;     /* every group, any order */
    uint32_t group_count;       /* entries in groups */
    uint32_t group_cap;         /* slots in groups */
    struct gmap_str name_map;   /* topic name -> struct cname */
    struct cname **names;       /* id - 1 -> name, NULL for free ids */
    uint32_t names_cap;         /* slots in names (and free_ids) */
    uint32_t names_used;        /* ids handed out so far (high-water mark) */
    uint32_t *free_ids;         /* ids to reuse */
    uint32_t free_count;        /* entries in free_ids */
    uint32_t name_count;        /* names interned now */
    uint32_t names_after_gc;    /* name_count after the last sweep */
    uint64_t member_seq;        /* numbers member ids */
    uint64_t member_total;      /* members over all groups */
    uint64_t offset_total;      /* committed offsets over all groups */
    uint64_t rebalances;        /* target computations */
    uint64_t expirations;       /* members removed by a timeout */
    int64_t tick_due;           /* mono_ms before which a tick has nothing to do */
};

static const struct proto_str STR_EMPTY = { "", 0 };

static struct proto_str cstr(const char *s)
{
    return (struct proto_str){ s, (uint32_t)strlen(s) };
}

static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < INT64_MIN - b) {
        return INT64_MIN;
    }
    return a + b;
}

static char *dup_bytes(const char *ptr, size_t bytes)
{
    char *s = malloc(bytes + 1);
    if (s != NULL) {
        if (bytes > 0) {
            memcpy(s, ptr, bytes);
        }
        s[bytes] = '\0';
    }
    return s;
}

static void bump_generation(struct ggroup *g)
{
    g->generation = g->generation == INT32_MAX ? 1 : g->generation + 1;
}

/* Something may expire at mono_ms `at` (INT64_MIN: the next tick must look at everything). */
static void tick_soon(struct group_coord *c, int64_t at)
{
    if (at < c->tick_due) {
        c->tick_due = at;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Interned topic names                                                                     */
/* ---------------------------------------------------------------------------------------- */

static uint32_t name_lookup(const struct group_coord *c, const char *ptr, uint32_t bytes)
{
    const struct cname *n = gmap_str_get(&c->name_map, ptr, bytes);
    return n != NULL ? n->id : 0;
}

static const struct cname *name_at(const struct group_coord *c, uint32_t id)
{
    RILL_ASSERT(id >= 1 && id <= c->names_used && c->names[id - 1] != NULL);
    return c->names[id - 1];
}

static struct proto_str name_str(const struct group_coord *c, uint32_t id)
{
    const struct cname *n = name_at(c, id);
    return (struct proto_str){ n->name, n->bytes };
}

static rill_err name_intern(struct group_coord *c, const char *ptr, uint32_t bytes, uint32_t *out)
{
    uint32_t id = name_lookup(c, ptr, bytes);
    if (id != 0) {
        *out = id;
        return RILL_OK;
    }
    if (c->free_count == 0 && c->names_used == c->names_cap) {
        if (c->names_cap >= UINT32_MAX / 4) {
            return RILL_ERR_NOMEM;
        }
        uint32_t cap = c->names_cap > 0 ? c->names_cap * 2 : 64;
        struct cname **names = realloc(c->names, cap * sizeof(*names));
        if (names == NULL) {
            return RILL_ERR_NOMEM;
        }
        c->names = names;
        uint32_t *free_ids = realloc(c->free_ids, cap * sizeof(*free_ids));
        if (free_ids == NULL) {
            return RILL_ERR_NOMEM;
        }
        c->free_ids = free_ids;
        c->names_cap = cap;
    }
    struct cname *n = calloc(1, sizeof(*n));
    char *copy = dup_bytes(ptr, bytes);
    if (n == NULL || copy == NULL) {
        free(n);
        free(copy);
        return RILL_ERR_NOMEM;
    }
    n->name = copy;
    n->bytes = bytes;
    n->id = c->free_count > 0 ? c->free_ids[c->free_count - 1] : c->names_used + 1;
    if (gmap_str_put(&c->name_map, n->name, n->bytes, n) != RILL_OK) {
        free(copy);
        free(n);
        return RILL_ERR_NOMEM;
    }
    if (c->free_count > 0) {
        c->free_count--;
    } else {
        c->names_used++;
    }
    c->names[n->id - 1] = n;
    c->name_count++;
    *out = n->id;
    return RILL_OK;
}

static void name_mark(struct group_coord *c, uint32_t id)
{
    if (id >= 1 && id <= c->names_used && c->names[id - 1] != NULL) {
        c->names[id - 1]->mark = true;
    }
}

static void names_mark_group(struct group_coord *c, const struct ggroup *g)
{
    for (uint32_t i = 0; i < g->offsets.cap; i++) {
        if (g->offsets.keys[i] != 0) {
            name_mark(c, TP_TOPIC(g->offsets.keys[i]));
        }
    }
    for (uint32_t i = 0; i < g->universe_count; i++) {
        name_mark(c, g->universe[i].id);
    }
    for (uint32_t m = 0; m < g->member_count; m++) {
        const struct gmember *mem = g->members[m];
        for (uint32_t i = 0; i < mem->held_count; i++) {
            name_mark(c, TP_TOPIC(mem->held[i]));
        }
        for (uint32_t i = 0; i < mem->target_count; i++) {
            name_mark(c, TP_TOPIC(mem->target[i]));
        }
        for (uint32_t i = 0; i < mem->resolved_count; i++) {
            name_mark(c, mem->resolved[i]);
        }
    }
}

/* Frees the names nothing refers to, once their number doubled since the last sweep. */
static void names_collect(struct group_coord *c)
{
    if (c->name_count < NAMES_GC_MIN || c->name_count < 2 * c->names_after_gc) {
        return;
    }
    for (uint32_t i = 0; i < c->names_used; i++) {
        if (c->names[i] != NULL) {
            c->names[i]->mark = false;
        }
    }
    for (uint32_t gi = 0; gi < c->group_count; gi++) {
        names_mark_group(c, c->groups[gi]);
    }
    for (uint32_t i = 0; i < c->names_used; i++) {
        struct cname *n = c->names[i];
        if (n != NULL && !n->mark) {
            (void)gmap_str_del(&c->name_map, n->name, n->bytes);
            c->names[i] = NULL;
            c->free_ids[c->free_count++] = n->id;
            c->name_count--;
            free(n->name);
            free(n);
        }
    }
    c->names_after_gc = c->name_count;
}

/* ---------------------------------------------------------------------------------------- */
/* Partition lists in responses                                                             */
/* ---------------------------------------------------------------------------------------- */

static int cmp_tp(const void *a, const void *b, void *arg)
{
    const struct group_coord *c = arg;
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    if (TP_TOPIC(x) != TP_TOPIC(y)) {
        return strcmp(name_at(c, TP_TOPIC(x))->name, name_at(c, TP_TOPIC(y))->name);
    }
    return TP_PART(x) < TP_PART(y) ? -1 : TP_PART(x) > TP_PART(y);
}

static void sort_tps(const struct group_coord *c, uint64_t *keys, uint32_t count)
{
    if (count > 1) {
        qsort_r(keys, count, sizeof(*keys), cmp_tp, (void *)c);
    }
}

/* Sorts keys (scratch) and groups them into tp entries allocated in arena. */
static rill_err tp_list_build(const struct group_coord *c,
                              struct proto_arena *arena,
                              uint64_t *keys,
                              uint32_t count,
                              struct proto_topic_partitions **out,
                              uint32_t *out_count)
{
    *out = NULL;
    *out_count = 0;
    if (count == 0) {
        return RILL_OK;
    }
    sort_tps(c, keys, count);
    uint32_t topics = 1;
    for (uint32_t i = 1; i < count; i++) {
        topics += TP_TOPIC(keys[i]) != TP_TOPIC(keys[i - 1]);
    }
    struct proto_topic_partitions *list = proto_arena_alloc(arena, topics, sizeof(*list));
    int32_t *parts = proto_arena_alloc(arena, count, sizeof(*parts));
    if (list == NULL || parts == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t t = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (i == 0 || TP_TOPIC(keys[i]) != TP_TOPIC(keys[i - 1])) {
            if (i > 0) {
                t++;
            }
            list[t].topic = name_str(c, TP_TOPIC(keys[i]));
            list[t].partitions = &parts[i];
        }
        parts[i] = TP_PART(keys[i]);
        list[t].partition_count++;
    }
    *out = list;
    *out_count = topics;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Subscriptions                                                                            */
/* ---------------------------------------------------------------------------------------- */

static void sub_free(struct gsub *s)
{
    if (s->has_regex) {
        regfree(&s->regex);
    }
    if (s->topics != NULL) {
        for (uint32_t i = 0; i < s->topic_count; i++) {
            free((char *)s->topics[i].ptr);
        }
    }
    free(s->topics);
    free(s->pattern);
    *s = (struct gsub){ 0 };
}

/* Refuses patterns that would make regcomp or regexec expensive: {m,n} bounds whose product
 * passes PATTERN_REPEAT (glibc expands counted repetitions, so nested ones cost memory
 * exponential in the pattern length), and back-references, which glibc accepts in EREs and
 * matches by backtracking. */
static bool pattern_repeats_ok(const char *p, uint32_t bytes)
{
    int64_t product = 1;
    for (uint32_t i = 0; i < bytes; i++) {
        if (p[i] == '\\') {
            if (i + 1 < bytes && p[i + 1] >= '1' && p[i + 1] <= '9') {
                return false; /* a back-reference */
            }
            i++;
            continue;
        }
        if (p[i] != '{') {
            continue;
        }
        int64_t bound = 0;
        bool digits = false;
        for (uint32_t j = i + 1; j < bytes && (p[j] == ',' || (p[j] >= '0' && p[j] <= '9')); j++) {
            if (p[j] == ',') {
                continue;
            }
            int64_t v = 0;
            while (j < bytes && p[j] >= '0' && p[j] <= '9' && v <= PATTERN_REPEAT) {
                v = v * 10 + (p[j] - '0');
                j++;
            }
            j--;
            digits = true;
            bound = v > bound ? v : bound;
        }
        if (digits) {
            product *= bound > 1 ? bound : 1;
            if (product > PATTERN_REPEAT) {
                return false;
            }
        }
    }
    return true;
}

static rill_err pattern_compile(const char *p, uint32_t bytes, regex_t *out)
{
    if (bytes > PATTERN_MAX || memchr(p, '\0', bytes) != NULL || !pattern_repeats_ok(p, bytes)) {
        return RILL_ERR_INVALID_SUBSCRIPTION;
    }
    char raw[PATTERN_MAX + 1];
    char anchored[PATTERN_MAX + 8];
    memcpy(raw, p, bytes);
    raw[bytes] = '\0';
    /* The pattern must compile on its own, so that the anchoring parentheses cannot pair with
     * parentheses inside it ("a)|(b"). */
    regex_t probe;
    int rc = regcomp(&probe, raw, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        return rc == REG_ESPACE ? RILL_ERR_NOMEM : RILL_ERR_INVALID_SUBSCRIPTION;
    }
    regfree(&probe);
    snprintf(anchored, sizeof(anchored), "^(%s)$", raw);
    rc = regcomp(out, anchored, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        return rc == REG_ESPACE ? RILL_ERR_NOMEM : RILL_ERR_INVALID_SUBSCRIPTION;
    }
    return RILL_OK;
}

/* Validates and copies the subscription of a join. */
static rill_err sub_build(const struct proto_join_group_request *req, struct gsub *out)
{
    *out = (struct gsub){ .topics_nil = req->topics_nil };
    if (req->topics_nil) {
        rill_err err = pattern_compile(req->pattern.ptr, req->pattern.bytes, &out->regex);
        if (err != RILL_OK) {
            return err;
        }
        out->has_regex = true;
        out->pattern = dup_bytes(req->pattern.ptr, req->pattern.bytes);
        out->pattern_bytes = req->pattern.bytes;
        if (out->pattern == NULL) {
            sub_free(out);
            return RILL_ERR_NOMEM;
        }
        return RILL_OK;
    }
    if (req->topic_count > RILL_TOPICS_MAX) {
        return RILL_ERR_INVALID_SUBSCRIPTION;
    }
    for (uint32_t i = 0; i < req->topic_count; i++) {
        if (!proto_topic_name_valid(req->topics[i].ptr, req->topics[i].bytes, true)) {
            return RILL_ERR_INVALID_SUBSCRIPTION;
        }
    }
    if (req->topic_count > 0) {
        out->topics = calloc(req->topic_count, sizeof(*out->topics));
        if (out->topics == NULL) {
            return RILL_ERR_NOMEM;
        }
        out->topic_count = req->topic_count;
        for (uint32_t i = 0; i < req->topic_count; i++) {
            char *copy = dup_bytes(req->topics[i].ptr, req->topics[i].bytes);
            if (copy == NULL) {
                sub_free(out);
                return RILL_ERR_NOMEM;
            }
            out->topics[i] = (struct proto_str){ copy, req->topics[i].bytes };
        }
    }
    return RILL_OK;
}

static bool str_eq(struct proto_str a, const char *ptr, uint32_t bytes)
{
    return a.bytes == bytes && (bytes == 0 || memcmp(a.ptr, ptr, bytes) == 0);
}

static bool sub_same(const struct gsub *s, const struct proto_join_group_request *req)
{
    if (s->topics_nil != req->topics_nil) {
        return false;
    }
    if (s->topics_nil) {
        return s->pattern_bytes == req->pattern.bytes &&
               memcmp(s->pattern, req->pattern.ptr, req->pattern.bytes) == 0;
    }
    if (s->topic_count != req->topic_count) {
        return false;
    }
    for (uint32_t i = 0; i < s->topic_count; i++) {
        if (!str_eq(s->topics[i], req->topics[i].ptr, req->topics[i].bytes)) {
            return false;
        }
    }
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A growing array of topic ids: what a subscription resolves to. */
struct idvec {
    uint32_t *ids;
    uint32_t count;
    uint32_t cap;
    rill_err err;
    struct group_coord *coord;
    const struct gsub *sub;
};

static void idvec_push(struct idvec *v, uint32_t id)
{
    if (v->err != RILL_OK) {
        return;
    }
    if (v->count == v->cap) {
        uint32_t cap = v->cap > 0 ? v->cap * 2 : 8;
        uint32_t *ids = realloc(v->ids, cap * sizeof(*ids));
        if (ids == NULL) {
            v->err = RILL_ERR_NOMEM;
            return;
        }
        v->ids = ids;
        v->cap = cap;
    }
    v->ids[v->count++] = id;
}

static void resolve_pattern_topic(void *arg, const char *name, uint32_t bytes, int32_t partitions)
{
    struct idvec *v = arg;
    if (v->err != RILL_OK || partitions < 0 || bytes == 0 || bytes > RILL_TOPIC_NAME_BYTES_MAX ||
        (bytes >= 2 && name[0] == '_' && name[1] == '_')) {
        return;
    }
    char buf[RILL_TOPIC_NAME_BYTES_MAX + 1];
    memcpy(buf, name, bytes);
    buf[bytes] = '\0';
    if (strlen(buf) != bytes || regexec(&v->sub->regex, buf, 0, NULL, 0) != 0) {
        return;
    }
    uint32_t id = 0;
    v->err = name_intern(v->coord, name, bytes, &id);
    idvec_push(v, id);
}

/* The ids of the existing topics sub names, ascending and unique (malloc'd, may be NULL). */
static rill_err
sub_resolve(struct group_coord *c, const struct gsub *s, uint32_t **out, uint32_t *out_count)
{
    struct idvec v = { .coord = c, .sub = s };
    if (s->topics_nil) {
        c->topics.each(c->topics.ctx, resolve_pattern_topic, &v);
    } else {
        for (uint32_t i = 0; i < s->topic_count && v.err == RILL_OK; i++) {
            if (c->topics.partitions(c->topics.ctx, s->topics[i].ptr, s->topics[i].bytes) >= 0) {
                uint32_t id = 0;
                v.err = name_intern(c, s->topics[i].ptr, s->topics[i].bytes, &id);
                idvec_push(&v, id);
            }
        }
    }
    if (v.err != RILL_OK) {
        free(v.ids);
        return v.err;
    }
    if (v.count > 1) {
        qsort(v.ids, v.count, sizeof(*v.ids), cmp_u32);
        uint32_t n = 1;
        for (uint32_t i = 1; i < v.count; i++) {
            if (v.ids[i] != v.ids[n - 1]) {
                v.ids[n++] = v.ids[i];
            }
        }
        v.count = n;
    }
    *out = v.ids;
    *out_count = v.count;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Groups and members                                                                       */
/* ---------------------------------------------------------------------------------------- */

static struct ggroup *group_find(const struct group_coord *c, struct proto_str id)
{
    return gmap_str_get(&c->group_map, id.ptr, id.bytes);
}

static struct gmember *member_find(const struct ggroup *g, struct proto_str id)
{
    return g != NULL ? gmap_str_get(&g->member_map, id.ptr, id.bytes) : NULL;
}

static rill_err group_create(struct group_coord *c, struct proto_str id, struct ggroup **out)
{
    if (c->group_count >= c->config.groups_max) {
        return RILL_ERR_FULL;
    }
    if (c->group_count == c->group_cap) {
        uint32_t cap = c->group_cap > 0 ? c->group_cap * 2 : 16;
        struct ggroup **groups = realloc(c->groups, cap * sizeof(*groups));
        if (groups == NULL) {
            return RILL_ERR_NOMEM;
        }
        c->groups = groups;
        c->group_cap = cap;
    }
    struct ggroup *g = calloc(1, sizeof(*g));
    char *copy = dup_bytes(id.ptr, id.bytes);
    if (g == NULL || copy == NULL) {
        free(g);
        free(copy);
        return RILL_ERR_NOMEM;
    }
    g->id = copy;
    g->id_bytes = id.bytes;
    g->last_commit_wall_ms = INT64_MIN;
    g->empty_since_mono_ms = UNSET;
    tick_soon(c, INT64_MIN);
    gmap_str_init(&g->member_map, c->group_map.seed ^ (uint64_t)(uintptr_t)g);
    if (gmap_str_put(&c->group_map, g->id, g->id_bytes, g) != RILL_OK) {
        free(copy);
        free(g);
        return RILL_ERR_NOMEM;
    }
    g->index = c->group_count;
    c->groups[c->group_count++] = g;
    *out = g;
    return RILL_OK;
}

static void member_free(struct gmember *m)
{
    sub_free(&m->sub);
    free(m->id);
    free(m->client_id);
    free(m->host);
    free(m->resolved);
    free(m->held);
    free(m->told);
    free(m->target);
    free(m);
}

static void offsets_free(struct gmap_u64 *offsets)
{
    for (uint32_t i = 0; i < offsets->cap; i++) {
        if (offsets->keys[i] != 0) {
            struct goffset *o = offsets->vals[i];
            free(o->metadata);
            free(o);
        }
    }
    gmap_u64_free(offsets);
}

/* Frees a group and takes it out of the coordinator. */
static void group_destroy(struct group_coord *c, struct ggroup *g)
{
    (void)gmap_str_del(&c->group_map, g->id, g->id_bytes);
    struct ggroup *last = c->groups[--c->group_count];
    c->groups[g->index] = last;
    last->index = g->index;
    for (uint32_t i = 0; i < g->member_count; i++) {
        member_free(g->members[i]);
    }
    c->member_total -= g->member_count;
    c->offset_total -= g->offsets.count;
    offsets_free(&g->offsets);
    free(g->members);
    gmap_str_free(&g->member_map);
    gmap_u64_free(&g->holder);
    gmap_u64_free(&g->target_owner);
    free(g->universe);
    free(g->id);
    free(g);
}

/* Removes a group that has neither members nor offsets. @return true when it did. */
static bool group_drop_if_unused(struct group_coord *c, struct ggroup *g)
{
    if (g->member_count == 0 && g->offsets.count == 0) {
        group_destroy(c, g);
        return true;
    }
    return false;
}

/* The strategy every member accepts that the longest-standing member lists first; 0: none. */
static enum assign_strategy group_pick_strategy(const struct ggroup *g)
{
    if (g->member_count == 0) {
        return 0;
    }
    const struct gmember *eldest = g->members[0];
    for (uint8_t i = 0; i < eldest->pref_count; i++) {
        if (g->votes[eldest->prefs[i]] == g->member_count) {
            return (enum assign_strategy)eldest->prefs[i];
        }
    }
    return 0;
}

/* Releases partition key held by m (no-op when m does not hold it). @return true when the
 * target gives it to another member: a follow-up step hands it over. */
static bool release_one(struct ggroup *g, const struct gmember *m, uint64_t key)
{
    if (gmap_u64_get(&g->holder, key) == m) {
        (void)gmap_u64_del(&g->holder, key);
    }
    const struct gmember *to = gmap_u64_get(&g->target_owner, key);
    return to != NULL && to != m;
}

static int64_t member_deadline(const struct gmember *m)
{
    return m->session_deadline < m->rejoin_deadline ? m->session_deadline : m->rejoin_deadline;
}

/* Does m have to rejoin: something to revoke (or revoked earlier and not released, even if the
 * target gives it back: only a join puts it in an assignment again), or a target partition
 * nobody holds? */
static bool member_needs_rejoin(const struct ggroup *g, const struct gmember *m)
{
    for (uint32_t i = 0; i < m->held_count; i++) {
        if (m->told[i] || gmap_u64_get(&g->target_owner, m->held[i]) != m) {
            return true;
        }
    }
    for (uint32_t i = 0; i < m->target_count; i++) {
        if (gmap_u64_get(&g->holder, m->target[i]) == NULL) {
            return true;
        }
    }
    return false;
}

/* Holds exactly its target? */
static bool member_settled(const struct ggroup *g, const struct gmember *m)
{
    if (m->held_count != m->target_count) {
        return false;
    }
    for (uint32_t i = 0; i < m->held_count; i++) {
        if (m->told[i] || gmap_u64_get(&g->target_owner, m->held[i]) != m) {
            return false;
        }
    }
    return true;
}

static const char *group_state(const struct ggroup *g)
{
    if (g->member_count == 0) {
        return PROTO_GROUP_STATE_EMPTY;
    }
    for (uint32_t i = 0; i < g->member_count; i++) {
        if (!member_settled(g, g->members[i])) {
            return PROTO_GROUP_STATE_REBALANCING;
        }
    }
    return PROTO_GROUP_STATE_STABLE;
}

/* ---------------------------------------------------------------------------------------- */
/* Target computation                                                                       */
/* ---------------------------------------------------------------------------------------- */

static int cmp_gtopic_id(const void *a, const void *b)
{
    uint32_t x = ((const struct gtopic *)a)->id, y = ((const struct gtopic *)b)->id;
    return x < y ? -1 : x > y;
}

static int32_t universe_index(const struct gtopic *u, uint32_t count, uint32_t id)
{
    if (count == 0) {
        return -1;
    }
    struct gtopic probe = { .id = id };
    const struct gtopic *hit = bsearch(&probe, u, count, sizeof(*u), cmp_gtopic_id);
    return hit != NULL ? (int32_t)(hit - u) : -1;
}

/* The topics the members' subscriptions resolve to, with their partition counts now. */
static rill_err universe_build(struct group_coord *c,
                               const struct ggroup *g,
                               struct gtopic **out,
                               uint32_t *out_count)
{
    uint64_t total = 0;
    for (uint32_t m = 0; m < g->member_count; m++) {
        total += g->members[m]->resolved_count;
    }
    *out = NULL;
    *out_count = 0;
    if (total == 0) {
        return RILL_OK;
    }
    if (total > ASSIGN_SUBSCRIPTIONS_MAX) {
        return RILL_ERR_INVALID;
    }
    uint32_t *ids = malloc(total * sizeof(*ids));
    if (ids == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t n = 0;
    for (uint32_t m = 0; m < g->member_count; m++) {
        const struct gmember *mem = g->members[m];
        if (mem->resolved_count > 0) {
            memcpy(ids + n, mem->resolved, mem->resolved_count * sizeof(*ids));
        }
        n += mem->resolved_count;
    }
    qsort(ids, n, sizeof(*ids), cmp_u32);
    uint32_t unique = 1;
    for (uint32_t i = 1; i < n; i++) {
        if (ids[i] != ids[unique - 1]) {
            ids[unique++] = ids[i];
        }
    }
    struct gtopic *u = malloc(unique * sizeof(*u));
    if (u == NULL) {
        free(ids);
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < unique; i++) {
        const struct cname *name = name_at(c, ids[i]);
        int32_t parts = c->topics.partitions(c->topics.ctx, name->name, name->bytes);
        u[i] = (struct gtopic){ .id = ids[i], .partitions = parts > 0 ? parts : 0 };
    }
    free(ids);
    *out = u;
    *out_count = unique;
    return RILL_OK;
}

/* Scratch of one assign_compute call. */
struct compute_scratch {
    struct assign_topic *topics;
    struct assign_member *members;
    uint32_t *subs;
    struct assign_tp *owned;
    struct assign_result *result;
    uint64_t **targets;
};

static void compute_scratch_free(struct compute_scratch *s, uint32_t members)
{
    free(s->topics);
    free(s->members);
    free(s->subs);
    free(s->owned);
    if (s->targets != NULL) {
        for (uint32_t i = 0; i < members; i++) {
            free(s->targets[i]);
        }
    }
    free(s->targets);
    assign_result_free(s->result);
}

static rill_err compute_input(struct group_coord *c,
                              const struct ggroup *g,
                              const struct gtopic *u,
                              uint32_t ucount,
                              struct compute_scratch *s)
{
    uint64_t subs = 0, owned = 0, parts = 0;
    for (uint32_t m = 0; m < g->member_count; m++) {
        subs += g->members[m]->resolved_count;
        owned += g->members[m]->held_count;
    }
    for (uint32_t i = 0; i < ucount; i++) {
        parts += (uint64_t)u[i].partitions;
    }
    if (parts > ASSIGN_PARTITIONS_MAX || ucount > ASSIGN_TOPICS_MAX) {
        return RILL_ERR_INVALID;
    }
    s->topics = calloc(ucount > 0 ? ucount : 1, sizeof(*s->topics));
    s->members = calloc(g->member_count, sizeof(*s->members));
    s->subs = calloc(subs > 0 ? subs : 1, sizeof(*s->subs));
    s->owned = calloc(owned > 0 ? owned : 1, sizeof(*s->owned));
    if (s->topics == NULL || s->members == NULL || s->subs == NULL || s->owned == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < ucount; i++) {
        s->topics[i] = (struct assign_topic){ .name = name_at(c, u[i].id)->name,
                                              .partitions = (uint32_t)u[i].partitions };
    }
    uint32_t *sub = s->subs;
    struct assign_tp *own = s->owned;
    for (uint32_t m = 0; m < g->member_count; m++) {
        const struct gmember *mem = g->members[m];
        struct assign_member *am = &s->members[m];
        am->id = mem->id;
        am->topics = sub;
        for (uint32_t i = 0; i < mem->resolved_count; i++) {
            int32_t t = universe_index(u, ucount, mem->resolved[i]);
            RILL_ASSERT(t >= 0);
            sub[am->topic_count++] = (uint32_t)t;
        }
        sub += am->topic_count;
        am->owned = own;
        /* What it consumes now: partitions it was told to give up are on their way out (the
         * client stopped fetching them), so sticky does not hold on to them. */
        for (uint32_t i = 0; i < mem->held_count; i++) {
            int32_t t = universe_index(u, ucount, TP_TOPIC(mem->held[i]));
            int32_t p = TP_PART(mem->held[i]);
            if (!mem->told[i] && t >= 0 && p >= 0 && p < u[t].partitions) {
                own[am->owned_count++] =
                    (struct assign_tp){ .topic = (uint32_t)t, .partition = (uint32_t)p };
            }
        }
        own += am->owned_count;
    }
    return RILL_OK;
}

/* Recomputes the target of g: a rebalance step. On failure the old target stays, the group is
 * marked dirty (group_coord_tick retries) and the generation still moves on. */
static rill_err group_rebalance(struct group_coord *c, struct ggroup *g)
{
    bump_generation(g);
    g->strategy = group_pick_strategy(g);
    if (g->member_count == 0) {
        gmap_u64_clear(&g->target_owner);
        free(g->universe);
        g->universe = NULL;
        g->universe_count = 0;
        g->dirty = false;
        return RILL_OK;
    }
    struct gtopic *u = NULL;
    uint32_t ucount = 0;
    struct compute_scratch s = { 0 };
    rill_err err = universe_build(c, g, &u, &ucount);
    if (err == RILL_OK) {
        err = compute_input(c, g, u, ucount, &s);
    }
    if (err == RILL_OK) {
        struct assign_input in = { .topics = s.topics,
                                   .topic_count = ucount,
                                   .members = s.members,
                                   .member_count = g->member_count };
        RILL_ASSERT(g->strategy != 0);
        err = assign_compute(&in, g->strategy, &s.result);
    }
    if (err == RILL_OK) {
        s.targets = calloc(g->member_count, sizeof(*s.targets));
        err = s.targets != NULL ? RILL_OK : RILL_ERR_NOMEM;
        for (uint32_t m = 0; m < g->member_count && err == RILL_OK; m++) {
            const struct assign_list *l = &s.result->members[m];
            if (l->count == 0) {
                continue;
            }
            s.targets[m] = malloc(l->count * sizeof(**s.targets));
            if (s.targets[m] == NULL) {
                err = RILL_ERR_NOMEM;
                break;
            }
            for (size_t i = 0; i < l->count; i++) {
                s.targets[m][i] = TP_KEY(u[l->tps[i].topic].id, l->tps[i].partition);
            }
        }
    }
    if (err == RILL_OK) {
        err = gmap_u64_reserve(&g->target_owner, (uint32_t)s.result->assigned);
    }
    if (err != RILL_OK) {
        if (!g->dirty) { /* once per failure streak: tick retries every time */
            DIAG_WARN(COMPONENT, "group=%s target computation failed err=%s members=%u", g->id,
                      rill_err_name(err), g->member_count);
        }
        g->dirty = true;
        tick_soon(c, INT64_MIN);
        free(u);
        compute_scratch_free(&s, g->member_count);
        return err;
    }
    /* Nothing below fails. */
    gmap_u64_clear(&g->target_owner);
    for (uint32_t m = 0; m < g->member_count; m++) {
        struct gmember *mem = g->members[m];
        free(mem->target);
        mem->target = s.targets[m];
        mem->target_count = (uint32_t)s.result->members[m].count;
        s.targets[m] = NULL;
        for (uint32_t i = 0; i < mem->target_count; i++) {
            rill_err put = gmap_u64_put(&g->target_owner, mem->target[i], mem);
            RILL_ASSERT(put == RILL_OK);
        }
    }
    free(g->universe);
    g->universe = u;
    g->universe_count = ucount;
    g->dirty = false;
    c->rebalances++;
    compute_scratch_free(&s, g->member_count);
    return RILL_OK;
}

/* Takes m out of g, releasing what it holds; the caller rebalances. */
static void member_remove(struct group_coord *c, struct ggroup *g, struct gmember *m, int64_t mono)
{
    for (uint32_t i = 0; i < m->held_count; i++) {
        (void)release_one(g, m, m->held[i]);
    }
    for (uint32_t i = 0; i < m->target_count; i++) {
        if (gmap_u64_get(&g->target_owner, m->target[i]) == m) {
            (void)gmap_u64_del(&g->target_owner, m->target[i]);
        }
    }
    for (uint8_t i = 0; i < m->pref_count; i++) {
        g->votes[m->prefs[i]]--;
    }
    (void)gmap_str_del(&g->member_map, m->id, m->id_bytes);
    memmove(&g->members[m->index], &g->members[m->index + 1],
            (g->member_count - m->index - 1) * sizeof(*g->members));
    g->member_count--;
    for (uint32_t i = m->index; i < g->member_count; i++) {
        g->members[i]->index = i;
    }
    c->member_total--;
    member_free(m);
    if (g->member_count == 0) {
        g->empty_since_mono_ms = mono;
        tick_soon(c, INT64_MIN);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Create, destroy, stats                                                                   */
/* ---------------------------------------------------------------------------------------- */

rill_err group_coord_create(const struct group_config *config,
                            const struct group_topics *topics,
                            struct group_coord **out)
{
    if (config == NULL || topics == NULL || out == NULL || topics->partitions == NULL ||
        topics->each == NULL || topics->bounds == NULL || config->session_timeout_min_ms < 1 ||
        config->session_timeout_max_ms < config->session_timeout_min_ms ||
        config->rebalance_timeout_max_ms < 1 || config->members_max < 1 ||
        config->members_max > ASSIGN_MEMBERS_MAX || config->groups_max < 1 ||
        config->groups_max > (1u << 28) || config->offsets_max > (1u << 28) ||
        config->retention_ms < 1) {
        return RILL_ERR_INVALID;
    }
    struct group_coord *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RILL_ERR_NOMEM;
    }
    c->config = *config;
    c->topics = *topics;
    c->tick_due = INT64_MIN;
    uint64_t seed = (uint64_t)(uintptr_t)c * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&seed;
    gmap_str_init(&c->group_map, seed);
    gmap_str_init(&c->name_map, seed * 31 + 7);
    *out = c;
    return RILL_OK;
}

void group_coord_destroy(struct group_coord *coord)
{
    if (coord == NULL) {
        return;
    }
    while (coord->group_count > 0) {
        group_destroy(coord, coord->groups[coord->group_count - 1]);
    }
    free(coord->groups);
    gmap_str_free(&coord->group_map);
    for (uint32_t i = 0; i < coord->names_used; i++) {
        if (coord->names[i] != NULL) {
            free(coord->names[i]->name);
            free(coord->names[i]);
        }
    }
    free(coord->names);
    free(coord->free_ids);
    gmap_str_free(&coord->name_map);
    free(coord);
}

void group_coord_stats(const struct group_coord *coord, struct group_coord_stats *out)
{
    *out = (struct group_coord_stats){ .groups = coord->group_count,
                                       .members = coord->member_total,
                                       .offsets = coord->offset_total,
                                       .rebalances = coord->rebalances,
                                       .expirations = coord->expirations };
}

/* ---------------------------------------------------------------------------------------- */
/* Offsets                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* A new committed offset, prepared before the sink is asked, applied after it agreed. */
struct offset_change {
    uint64_t key;
    struct goffset *fresh; /* a new entry when the key has none yet */
    char *metadata;        /* the copy to install (NULL: nil) */
};

static rill_err offset_prepare(struct group_coord *c,
                               struct ggroup *g,
                               uint64_t key,
                               struct proto_str metadata,
                               struct offset_change *out)
{
    *out = (struct offset_change){ .key = key };
    if (gmap_u64_get(&g->offsets, key) == NULL) {
        if (c->offset_total >= c->config.offsets_max) {
            return RILL_ERR_FULL;
        }
        if (gmap_u64_reserve(&g->offsets, g->offsets.count + 1) != RILL_OK) {
            return RILL_ERR_NOMEM;
        }
        out->fresh = calloc(1, sizeof(*out->fresh));
        if (out->fresh == NULL) {
            return RILL_ERR_NOMEM;
        }
    }
    if (metadata.ptr != NULL) {
        out->metadata = dup_bytes(metadata.ptr, metadata.bytes);
        if (out->metadata == NULL) {
            free(out->fresh);
            out->fresh = NULL;
            return RILL_ERR_NOMEM;
        }
    }
    return RILL_OK;
}

static void offset_discard(struct offset_change *ch)
{
    free(ch->fresh);
    free(ch->metadata);
    *ch = (struct offset_change){ 0 };
}

static void offset_apply(struct group_coord *c,
                         struct ggroup *g,
                         struct offset_change *ch,
                         int64_t offset,
                         uint32_t metadata_bytes,
                         int64_t wall_ms)
{
    struct goffset *o = gmap_u64_get(&g->offsets, ch->key);
    if (o == NULL) {
        RILL_ASSERT(ch->fresh != NULL);
        o = ch->fresh;
        rill_err err = gmap_u64_put(&g->offsets, ch->key, o);
        RILL_ASSERT(err == RILL_OK); /* reserved by offset_prepare */
        c->offset_total++;
    } else {
        free(ch->fresh);
    }
    free(o->metadata);
    o->offset = offset;
    o->metadata = ch->metadata;
    o->metadata_bytes = ch->metadata != NULL ? metadata_bytes : 0;
    o->commit_wall_ms = wall_ms;
    if (wall_ms > g->last_commit_wall_ms) {
        g->last_commit_wall_ms = wall_ms;
    }
    *ch = (struct offset_change){ 0 };
}

static void offset_remove(struct group_coord *c, struct ggroup *g, uint64_t key)
{
    struct goffset *o = gmap_u64_del(&g->offsets, key);
    if (o != NULL) {
        free(o->metadata);
        free(o);
        c->offset_total--;
    }
}

static rill_err sink_append(const struct group_sink *sink,
                            const struct group_coord *c,
                            const struct ggroup *g,
                            uint64_t key,
                            int64_t offset,
                            struct proto_str metadata,
                            int64_t wall_ms,
                            uint32_t *appended)
{
    struct group_offset_record rec = { .group = { g->id, g->id_bytes },
                                       .topic = name_str(c, TP_TOPIC(key)),
                                       .partition = TP_PART(key),
                                       .offset = offset,
                                       .metadata = offset >= 0 ? metadata : (struct proto_str){ 0 },
                                       .commit_wall_ms = wall_ms };
    if (sink == NULL || sink->append == NULL) {
        return RILL_ERR_INVALID;
    }
    rill_err err = sink->append(sink->ctx, &rec);
    if (err == RILL_OK && appended != NULL) {
        (*appended)++;
    }
    return err;
}

rill_err group_coord_load(struct group_coord *coord, const struct group_offset_record *record)
{
    if (coord == NULL || record == NULL || record->group.ptr == NULL || record->topic.ptr == NULL ||
        !proto_group_id_valid(record->group.ptr, record->group.bytes) ||
        !proto_topic_name_valid(record->topic.ptr, record->topic.bytes, true) ||
        record->partition < 0 || record->offset < -1) {
        return RILL_ERR_INVALID;
    }
    struct ggroup *g = group_find(coord, record->group);
    if (record->offset == -1) {
        uint32_t id = name_lookup(coord, record->topic.ptr, record->topic.bytes);
        if (g != NULL && id != 0) {
            offset_remove(coord, g, TP_KEY(id, record->partition));
            (void)group_drop_if_unused(coord, g);
        }
        return RILL_OK;
    }
    bool created = false;
    if (g == NULL) {
        rill_err err = group_create(coord, record->group, &g);
        if (err != RILL_OK) {
            return err;
        }
        created = true;
    }
    uint32_t id = 0;
    rill_err err = name_intern(coord, record->topic.ptr, record->topic.bytes, &id);
    struct offset_change ch = { 0 };
    if (err == RILL_OK) {
        err = offset_prepare(coord, g, TP_KEY(id, record->partition), record->metadata, &ch);
    }
    if (err != RILL_OK) {
        if (created) {
            (void)group_drop_if_unused(coord, g);
        }
        return err;
    }
    offset_apply(coord, g, &ch, record->offset, record->metadata.bytes, record->commit_wall_ms);
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* JOIN_GROUP                                                                               */
/* ---------------------------------------------------------------------------------------- */

static void join_error(struct proto_join_group_response *resp,
                       const struct proto_join_group_request *req,
                       rill_err err)
{
    *resp = (struct proto_join_group_response){ .error = err,
                                                .generation = PROTO_GENERATION_NONE,
                                                .member_id = req->member_id,
                                                .strategy = STR_EMPTY };
}

/* Known strategies of a join, deduplicated, in preference order. */
static void parse_prefs(const struct proto_join_group_request *req, uint8_t *prefs, uint8_t *count)
{
    *count = 0;
    for (uint32_t i = 0; i < req->strategy_count && *count < 3; i++) {
        char buf[16];
        const struct proto_str *s = &req->strategies[i];
        if (s->bytes == 0 || s->bytes >= sizeof(buf)) {
            continue;
        }
        memcpy(buf, s->ptr, s->bytes);
        buf[s->bytes] = '\0';
        enum assign_strategy st;
        if (strlen(buf) != s->bytes || assign_strategy_parse(buf, &st) != RILL_OK) {
            continue;
        }
        bool seen = false;
        for (uint8_t j = 0; j < *count; j++) {
            seen = seen || prefs[j] == (uint8_t)st;
        }
        if (!seen) {
            prefs[(*count)++] = (uint8_t)st;
        }
    }
}

/* Would the group still share a strategy with m's prefs replaced (m NULL: a new member)? */
static bool strategies_consistent(const struct ggroup *g,
                                  const struct gmember *m,
                                  const uint8_t *prefs,
                                  uint8_t count)
{
    if (count == 0) {
        return false;
    }
    if (g == NULL) {
        return true;
    }
    uint32_t members = g->member_count + (m == NULL);
    for (uint8_t i = 0; i < count; i++) {
        uint32_t votes = g->votes[prefs[i]] + 1;
        if (m != NULL) {
            for (uint8_t j = 0; j < m->pref_count; j++) {
                votes -= m->prefs[j] == prefs[i];
            }
        }
        if (votes == members) {
            return true;
        }
    }
    return false;
}

static rill_err join_validate(const struct group_coord *c,
                              const struct proto_join_group_request *req)
{
    if (!proto_group_id_valid(req->group.ptr, req->group.bytes)) {
        return RILL_ERR_INVALID_GROUP_ID;
    }
    int32_t st = req->session_timeout_ms;
    int32_t rt = req->rebalance_timeout_ms;
    if (st < c->config.session_timeout_min_ms || st > c->config.session_timeout_max_ms ||
        !(rt == -1 || (rt >= 1 && rt <= c->config.rebalance_timeout_max_ms))) {
        return RILL_ERR_INVALID_SESSION_TIMEOUT;
    }
    return RILL_OK;
}

/* A fresh member id: the client id's safe characters, '-', a number never used before. */
static char *member_id_make(struct group_coord *c, struct proto_str client_id, uint32_t *out_bytes)
{
    char buf[MEMBER_ID_TAG + 32];
    uint32_t n = 0;
    for (uint32_t i = 0; i < client_id.bytes && n < MEMBER_ID_TAG; i++) {
        char ch = client_id.ptr[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-') {
            buf[n++] = ch;
        }
    }
    if (n == 0) {
        memcpy(buf, "member", 6);
        n = 6;
    }
    int w = snprintf(buf + n, sizeof(buf) - n, "-%llu", (unsigned long long)++c->member_seq);
    RILL_ASSERT(w > 0 && (size_t)w < sizeof(buf) - n);
    *out_bytes = n + (uint32_t)w;
    return dup_bytes(buf, *out_bytes);
}

static rill_err member_create(struct group_coord *c,
                              struct ggroup *g,
                              const struct proto_join_group_request *req,
                              struct gmember **out)
{
    if (g->member_count == g->member_cap) {
        uint32_t cap = g->member_cap > 0 ? g->member_cap * 2 : 4;
        struct gmember **members = realloc(g->members, cap * sizeof(*members));
        if (members == NULL) {
            return RILL_ERR_NOMEM;
        }
        g->members = members;
        g->member_cap = cap;
    }
    struct gmember *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return RILL_ERR_NOMEM;
    }
    m->id = member_id_make(c, req->client_id, &m->id_bytes);
    if (m->id == NULL || gmap_str_put(&g->member_map, m->id, m->id_bytes, m) != RILL_OK) {
        free(m->id);
        free(m);
        return RILL_ERR_NOMEM;
    }
    m->rejoin_deadline = INT64_MAX;
    tick_soon(c, INT64_MIN); /* until its first answer sets its deadlines */
    m->index = g->member_count;
    g->members[g->member_count++] = m;
    c->member_total++;
    *out = m;
    return RILL_OK;
}

/* Keeps of m's holdings only those listed in owned; the rest is released. @return whether a
 * released partition goes to another member (the follow-up step). */
static rill_err join_reconcile_owned(struct group_coord *c,
                                     struct ggroup *g,
                                     struct gmember *m,
                                     const struct proto_join_group_request *req,
                                     struct proto_arena *arena,
                                     bool *handover)
{
    *handover = false;
    uint64_t total = 0;
    for (uint32_t i = 0; i < req->owned_count; i++) {
        total += req->owned[i].partition_count;
    }
    uint64_t *keys = NULL;
    if (total > 0) {
        if (total > RILL_PROTO_ARRAY_ENTRIES_MAX) {
            return RILL_ERR_INVALID_REQUEST;
        }
        keys = proto_arena_alloc(arena, (size_t)total, sizeof(*keys));
        if (keys == NULL) {
            return RILL_ERR_NOMEM;
        }
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < req->owned_count; i++) {
        const struct proto_topic_partitions *tp = &req->owned[i];
        uint32_t id = name_lookup(c, tp->topic.ptr, tp->topic.bytes);
        for (uint32_t j = 0; id != 0 && j < tp->partition_count; j++) {
            if (tp->partitions[j] >= 0) {
                keys[n++] = TP_KEY(id, tp->partitions[j]);
            }
        }
    }
    if (n > 1) {
        qsort(keys, n, sizeof(*keys), cmp_u64);
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m->held_count; i++) {
        uint64_t key = m->held[i];
        if (n > 0 && bsearch(&key, keys, n, sizeof(*keys), cmp_u64) != NULL) {
            m->told[kept] = m->told[i];
            m->held[kept++] = key;
        } else if (release_one(g, m, key)) {
            *handover = true;
        }
    }
    m->held_count = kept;
    return RILL_OK;
}

static bool prefs_same(const struct gmember *m, const uint8_t *prefs, uint8_t count)
{
    return m->pref_count == count && memcmp(m->prefs, prefs, count) == 0;
}

static void
member_set_prefs(struct ggroup *g, struct gmember *m, const uint8_t *prefs, uint8_t count)
{
    for (uint8_t i = 0; i < m->pref_count; i++) {
        g->votes[m->prefs[i]]--;
    }
    memcpy(m->prefs, prefs, count);
    m->pref_count = count;
    for (uint8_t i = 0; i < count; i++) {
        g->votes[prefs[i]]++;
    }
}

static rill_err replace_str(char **dst, uint32_t *dst_bytes, const char *ptr, uint32_t bytes)
{
    if (*dst != NULL && *dst_bytes == bytes && (bytes == 0 || memcmp(*dst, ptr, bytes) == 0)) {
        return RILL_OK;
    }
    char *copy = dup_bytes(ptr, bytes);
    if (copy == NULL) {
        return RILL_ERR_NOMEM;
    }
    free(*dst);
    *dst = copy;
    *dst_bytes = bytes;
    return RILL_OK;
}

/* Gives m every target partition nobody holds, then fills the response. */
static rill_err join_answer(struct group_coord *c,
                            struct ggroup *g,
                            struct gmember *m,
                            int64_t mono,
                            struct proto_arena *arena,
                            struct proto_join_group_response *resp)
{
    uint64_t need = (uint64_t)m->held_count + m->target_count;
    if (need > m->held_cap) {
        uint64_t *held = realloc(m->held, need * sizeof(*held));
        if (held == NULL) {
            return RILL_ERR_NOMEM;
        }
        m->held = held;
        uint8_t *told = realloc(m->told, need * sizeof(*told));
        if (told == NULL) {
            return RILL_ERR_NOMEM;
        }
        m->told = told;
        m->held_cap = (uint32_t)need;
    }
    if (gmap_u64_reserve(&g->holder, g->holder.count + m->target_count) != RILL_OK) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < m->target_count; i++) {
        if (gmap_u64_get(&g->holder, m->target[i]) == NULL) {
            rill_err err = gmap_u64_put(&g->holder, m->target[i], m);
            RILL_ASSERT(err == RILL_OK);
            m->told[m->held_count] = 0;
            m->held[m->held_count++] = m->target[i];
        }
    }
    uint64_t *assign = NULL, *revoke = NULL;
    uint32_t na = 0, nr = 0;
    if (m->held_count > 0) {
        assign = proto_arena_alloc(arena, m->held_count, sizeof(*assign));
        revoke = proto_arena_alloc(arena, m->held_count, sizeof(*revoke));
        if (assign == NULL || revoke == NULL) {
            return RILL_ERR_NOMEM;
        }
    }
    for (uint32_t i = 0; i < m->held_count; i++) {
        bool mine = gmap_u64_get(&g->target_owner, m->held[i]) == m;
        m->told[i] = !mine;
        if (mine) {
            assign[na++] = m->held[i];
        } else {
            revoke[nr++] = m->held[i];
        }
    }
    *resp = (struct proto_join_group_response){
        .error = RILL_OK,
        .generation = g->generation,
        .member_id = { m->id, m->id_bytes },
        .strategy = cstr(assign_strategy_name(g->strategy)),
        .heartbeat_interval_ms = m->session_timeout_ms / 3,
    };
    rill_err err = tp_list_build(c, arena, assign, na, &resp->assignment, &resp->assignment_count);
    if (err == RILL_OK) {
        err = tp_list_build(c, arena, revoke, nr, &resp->revoke, &resp->revoke_count);
    }
    m->generation = g->generation;
    m->session_deadline = add_sat(mono, m->session_timeout_ms);
    int32_t rt = m->rebalance_timeout_ms > 0 ? m->rebalance_timeout_ms : m->session_timeout_ms;
    m->rejoin_deadline = nr > 0 ? add_sat(mono, rt) : INT64_MAX;
    tick_soon(c, member_deadline(m));
    return err;
}

rill_err group_join(struct group_coord *coord,
                    int64_t mono_ms,
                    const char *host,
                    const struct proto_join_group_request *request,
                    struct proto_arena *arena,
                    struct proto_join_group_response *response)
{
    const struct proto_join_group_request *req = request;
    if (req->topics_nil != (req->pattern.ptr != NULL)) {
        return RILL_ERR_INVALID_REQUEST;
    }
    rill_err err = join_validate(coord, req);
    if (err != RILL_OK) {
        join_error(response, req, err);
        return RILL_OK;
    }
    uint8_t prefs[3];
    uint8_t pref_count = 0;
    parse_prefs(req, prefs, &pref_count);
    struct ggroup *g = group_find(coord, req->group);
    struct gmember *m = NULL;
    if (req->member_id.bytes > 0) {
        m = member_find(g, req->member_id);
        if (m == NULL) {
            join_error(response, req, RILL_ERR_UNKNOWN_MEMBER_ID);
            return RILL_OK;
        }
    } else if (g != NULL ? g->member_count >= coord->config.members_max
                         : coord->group_count >= coord->config.groups_max) {
        join_error(response, req, RILL_ERR_FULL);
        return RILL_OK;
    }
    if (!strategies_consistent(g, m, prefs, pref_count)) {
        join_error(response, req, RILL_ERR_INCONSISTENT_STRATEGY);
        return RILL_OK;
    }
    struct gsub sub = { 0 };
    bool sub_changed = m == NULL || !sub_same(&m->sub, req);
    uint32_t *resolved = NULL, resolved_count = 0;
    if (sub_changed) {
        err = sub_build(req, &sub);
        if (err == RILL_ERR_INVALID_SUBSCRIPTION) {
            join_error(response, req, err);
            return RILL_OK;
        }
        if (err == RILL_OK) {
            err = sub_resolve(coord, &sub, &resolved, &resolved_count);
        }
        if (err != RILL_OK) {
            sub_free(&sub);
            return err;
        }
    }
    /* From here on the join is accepted. */
    bool handover = false;
    bool fresh = m == NULL;
    if (m != NULL) {
        err = join_reconcile_owned(coord, g, m, req, arena, &handover);
    } else if (g == NULL) {
        err = group_create(coord, req->group, &g);
    }
    if (err == RILL_OK && m == NULL) {
        err = member_create(coord, g, req, &m);
        fresh = err == RILL_OK;
    }
    if (err == RILL_OK) {
        err = replace_str(&m->client_id, &m->client_id_bytes, req->client_id.ptr,
                          req->client_id.bytes);
    }
    if (err == RILL_OK && host != NULL) {
        size_t hb = strnlen(host, HOST_BYTES_MAX);
        err = replace_str(&m->host, &m->host_bytes, host, (uint32_t)hb);
    }
    if (err != RILL_OK) {
        sub_free(&sub);
        free(resolved);
        if (fresh && m != NULL) {
            member_remove(coord, g, m, mono_ms); /* nothing was decided with it yet */
        }
        if (g != NULL) {
            (void)group_drop_if_unused(coord, g);
        }
        return err;
    }
    bool recompute = sub_changed || !prefs_same(m, prefs, pref_count) || g->dirty;
    if (sub_changed) {
        sub_free(&m->sub);
        m->sub = sub;
        free(m->resolved);
        m->resolved = resolved;
        m->resolved_count = resolved_count;
    }
    member_set_prefs(g, m, prefs, pref_count);
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    g->empty_since_mono_ms = UNSET;
    if (recompute || group_pick_strategy(g) != g->strategy) {
        (void)group_rebalance(coord, g);
    } else if (handover) {
        bump_generation(g);
    }
    return join_answer(coord, g, m, mono_ms, arena, response);
}

/* ---------------------------------------------------------------------------------------- */
/* HEARTBEAT, LEAVE_GROUP                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* The group and member a HEARTBEAT or LEAVE_GROUP names: RILL_OK, or the answer's error. */
static rill_err member_named(struct group_coord *coord,
                             struct proto_str group,
                             struct proto_str member_id,
                             struct ggroup **out_g,
                             struct gmember **out_m)
{
    if (!proto_group_id_valid(group.ptr, group.bytes)) {
        return RILL_ERR_INVALID_GROUP_ID;
    }
    *out_g = group_find(coord, group);
    *out_m = member_find(*out_g, member_id);
    return *out_m != NULL ? RILL_OK : RILL_ERR_UNKNOWN_MEMBER_ID;
}

rill_err group_heartbeat(struct group_coord *coord,
                         int64_t mono_ms,
                         const struct proto_heartbeat_request *request,
                         struct proto_group_error_response *response)
{
    struct ggroup *g = NULL;
    struct gmember *m = NULL;
    response->error = member_named(coord, request->group, request->member_id, &g, &m);
    if (response->error != RILL_OK) {
        return RILL_OK;
    }
    m->session_deadline = add_sat(mono_ms, m->session_timeout_ms);
    if (request->generation != m->generation) {
        response->error = RILL_ERR_STALE_GENERATION;
        return RILL_OK;
    }
    if (member_needs_rejoin(g, m)) {
        response->error = RILL_ERR_REBALANCE_IN_PROGRESS;
        if (m->rejoin_deadline == INT64_MAX) {
            int32_t rt =
                m->rebalance_timeout_ms > 0 ? m->rebalance_timeout_ms : m->session_timeout_ms;
            m->rejoin_deadline = add_sat(mono_ms, rt);
            tick_soon(coord, m->rejoin_deadline);
        }
    } else {
        m->rejoin_deadline = INT64_MAX;
    }
    return RILL_OK;
}

rill_err group_leave(struct group_coord *coord,
                     int64_t mono_ms,
                     const struct proto_leave_group_request *request,
                     struct proto_group_error_response *response)
{
    struct ggroup *g = NULL;
    struct gmember *m = NULL;
    response->error = member_named(coord, request->group, request->member_id, &g, &m);
    if (response->error != RILL_OK) {
        return RILL_OK;
    }
    member_remove(coord, g, m, mono_ms);
    (void)group_rebalance(coord, g);
    (void)group_drop_if_unused(coord, g);
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* OFFSET_COMMIT, OFFSET_FETCH                                                              */
/* ---------------------------------------------------------------------------------------- */

/* Checks one partition of a commit; RILL_OK when it may be stored. */
static rill_err commit_check(struct group_coord *c,
                             struct ggroup *g,
                             const struct gmember *m,
                             struct proto_str topic,
                             const struct proto_commit_partition *p,
                             uint64_t *out_key)
{
    int32_t parts = c->topics.partitions(c->topics.ctx, topic.ptr, topic.bytes);
    if (parts < 0) {
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    if (p->partition < 0 || p->partition >= parts) {
        return RILL_ERR_UNKNOWN_PARTITION;
    }
    uint32_t id = name_lookup(c, topic.ptr, topic.bytes);
    if (m != NULL && (id == 0 || gmap_u64_get(&g->holder, TP_KEY(id, p->partition)) != m)) {
        return RILL_ERR_STALE_GENERATION;
    }
    if (p->metadata.bytes > PROTO_COMMIT_METADATA_BYTES_MAX) {
        return RILL_ERR_TOO_LARGE;
    }
    int64_t start = 0, end = 0;
    rill_err err =
        c->topics.bounds(c->topics.ctx, topic.ptr, topic.bytes, p->partition, &start, &end);
    if (err != RILL_OK) {
        return err;
    }
    if (p->offset < 0 || p->offset > end) {
        return RILL_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (id == 0) {
        err = name_intern(c, topic.ptr, topic.bytes, &id);
        if (err != RILL_OK) {
            return err;
        }
    }
    const struct goffset *o = gmap_u64_get(&g->offsets, TP_KEY(id, p->partition));
    if (o != NULL && p->offset < o->offset) {
        return RILL_ERR_OFFSET_REGRESSION;
    }
    *out_key = TP_KEY(id, p->partition);
    return RILL_OK;
}

static rill_err commit_one(struct group_coord *c,
                           struct ggroup *g,
                           const struct gmember *m,
                           struct proto_str topic,
                           const struct proto_commit_partition *p,
                           int64_t wall_ms,
                           const struct group_sink *sink,
                           uint32_t *appended)
{
    uint64_t key = 0;
    rill_err err = commit_check(c, g, m, topic, p, &key);
    struct offset_change ch = { 0 };
    if (err == RILL_OK) {
        err = offset_prepare(c, g, key, p->metadata, &ch);
    }
    if (err == RILL_OK) {
        err = sink_append(sink, c, g, key, p->offset, p->metadata, wall_ms, appended);
        if (err != RILL_OK) {
            offset_discard(&ch);
        }
    }
    if (err == RILL_OK) {
        offset_apply(c, g, &ch, p->offset, p->metadata.bytes, wall_ms);
    }
    return err;
}

/* Group-level checks of a commit: finds (or, manual, creates) the group and the member. */
static rill_err commit_target(struct group_coord *c,
                              const struct proto_offset_commit_request *req,
                              int64_t mono_ms,
                              struct ggroup **out_g,
                              struct gmember **out_m)
{
    if (!proto_group_id_valid(req->group.ptr, req->group.bytes)) {
        return RILL_ERR_INVALID_GROUP_ID;
    }
    struct ggroup *g = group_find(c, req->group);
    *out_m = NULL;
    if (req->member_id.bytes == 0) {
        if (req->generation != PROTO_GENERATION_NONE) {
            return RILL_ERR_UNKNOWN_MEMBER_ID;
        }
        if (g != NULL && g->member_count > 0) {
            return RILL_ERR_GROUP_NOT_EMPTY;
        }
        if (g == NULL) {
            rill_err err = group_create(c, req->group, &g);
            if (err != RILL_OK) {
                return err;
            }
            g->empty_since_mono_ms = mono_ms;
        }
        *out_g = g;
        return RILL_OK;
    }
    struct gmember *m = member_find(g, req->member_id);
    if (m == NULL) {
        return RILL_ERR_UNKNOWN_MEMBER_ID;
    }
    m->session_deadline = add_sat(mono_ms, m->session_timeout_ms);
    if (req->generation != m->generation) {
        return RILL_ERR_STALE_GENERATION;
    }
    *out_g = g;
    *out_m = m;
    return RILL_OK;
}

rill_err group_offset_commit(struct group_coord *coord,
                             int64_t mono_ms,
                             int64_t wall_ms,
                             const struct proto_offset_commit_request *request,
                             const struct group_sink *sink,
                             struct proto_arena *arena,
                             struct proto_offset_commit_response *response,
                             uint32_t *appended)
{
    *response = (struct proto_offset_commit_response){ 0 };
    if (appended != NULL) {
        *appended = 0;
    }
    struct ggroup *g = NULL;
    struct gmember *m = NULL;
    rill_err err = commit_target(coord, request, mono_ms, &g, &m);
    if (err != RILL_OK) {
        if (err == RILL_ERR_NOMEM) {
            return err;
        }
        response->error = err;
        return RILL_OK;
    }
    uint32_t nt = request->topic_count;
    struct proto_commit_topic_result *topics = NULL;
    if (nt > 0) {
        topics = proto_arena_alloc(arena, nt, sizeof(*topics));
        if (topics == NULL) {
            (void)group_drop_if_unused(coord, g);
            return RILL_ERR_NOMEM;
        }
    }
    for (uint32_t t = 0; t < nt; t++) {
        const struct proto_commit_topic *rt = &request->topics[t];
        topics[t].name = rt->name;
        if (rt->partition_count == 0) {
            continue;
        }
        topics[t].partitions =
            proto_arena_alloc(arena, rt->partition_count, sizeof(*topics[t].partitions));
        if (topics[t].partitions == NULL) {
            (void)group_drop_if_unused(coord, g);
            return RILL_ERR_NOMEM;
        }
        topics[t].partition_count = rt->partition_count;
        for (uint32_t i = 0; i < rt->partition_count; i++) {
            const struct proto_commit_partition *p = &rt->partitions[i];
            topics[t].partitions[i].partition = p->partition;
            topics[t].partitions[i].error =
                commit_one(coord, g, m, rt->name, p, wall_ms, sink, appended);
        }
    }
    response->topics = topics;
    response->topic_count = nt;
    (void)group_drop_if_unused(coord, g);
    return RILL_OK;
}

/* Every committed offset of g as one topic list, ordered by topic name and partition. */
static rill_err fetch_all(const struct group_coord *c,
                          const struct ggroup *g,
                          struct proto_arena *arena,
                          struct proto_offset_fetch_response *resp)
{
    uint32_t n = g != NULL ? g->offsets.count : 0;
    if (n == 0) {
        return RILL_OK;
    }
    uint64_t *keys = proto_arena_alloc(arena, n, sizeof(*keys));
    struct proto_committed_partition *parts = proto_arena_alloc(arena, n, sizeof(*parts));
    if (keys == NULL || parts == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < g->offsets.cap; i++) {
        if (g->offsets.keys[i] != 0) {
            keys[k++] = g->offsets.keys[i];
        }
    }
    sort_tps(c, keys, n);
    uint32_t topics = 1;
    for (uint32_t i = 1; i < n; i++) {
        topics += TP_TOPIC(keys[i]) != TP_TOPIC(keys[i - 1]);
    }
    struct proto_committed_topic *list = proto_arena_alloc(arena, topics, sizeof(*list));
    if (list == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t t = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && TP_TOPIC(keys[i]) != TP_TOPIC(keys[i - 1])) {
            t++;
        }
        if (list[t].partitions == NULL) {
            list[t].name = name_str(c, TP_TOPIC(keys[i]));
            list[t].partitions = &parts[i];
        }
        const struct goffset *o = gmap_u64_get(&g->offsets, keys[i]);
        parts[i] = (struct proto_committed_partition){
            .partition = TP_PART(keys[i]),
            .offset = o->offset,
            .metadata = { o->metadata, o->metadata_bytes },
        };
        list[t].partition_count++;
    }
    resp->topics = list;
    resp->topic_count = topics;
    return RILL_OK;
}

rill_err group_offset_fetch(struct group_coord *coord,
                            const struct proto_offset_fetch_request *request,
                            struct proto_arena *arena,
                            struct proto_offset_fetch_response *response)
{
    *response = (struct proto_offset_fetch_response){ 0 };
    if (!proto_group_id_valid(request->group.ptr, request->group.bytes)) {
        response->error = RILL_ERR_INVALID_GROUP_ID;
        return RILL_OK;
    }
    const struct ggroup *g = group_find(coord, request->group);
    if (request->topics_all) {
        return fetch_all(coord, g, arena, response);
    }
    uint32_t nt = request->topic_count;
    if (nt == 0) {
        return RILL_OK;
    }
    struct proto_committed_topic *topics = proto_arena_alloc(arena, nt, sizeof(*topics));
    if (topics == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t t = 0; t < nt; t++) {
        struct proto_str name = request->topics[t];
        topics[t].name = name;
        int32_t parts = coord->topics.partitions(coord->topics.ctx, name.ptr, name.bytes);
        if (parts < 0) {
            topics[t].error = RILL_ERR_UNKNOWN_TOPIC;
            continue;
        }
        if (parts == 0) {
            continue;
        }
        struct proto_committed_partition *list =
            proto_arena_alloc(arena, (size_t)parts, sizeof(*list));
        if (list == NULL) {
            return RILL_ERR_NOMEM;
        }
        uint32_t id = name_lookup(coord, name.ptr, name.bytes);
        for (int32_t p = 0; p < parts; p++) {
            const struct goffset *o =
                g != NULL && id != 0 ? gmap_u64_get(&g->offsets, TP_KEY(id, p)) : NULL;
            list[p] = (struct proto_committed_partition){ .partition = p, .offset = -1 };
            if (o != NULL) {
                list[p].offset = o->offset;
                list[p].metadata = (struct proto_str){ o->metadata, o->metadata_bytes };
            }
        }
        topics[t].partitions = list;
        topics[t].partition_count = (uint32_t)parts;
    }
    response->topics = topics;
    response->topic_count = nt;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* LIST_GROUPS, DESCRIBE_GROUPS                                                             */
/* ---------------------------------------------------------------------------------------- */

static int cmp_group_id(const void *a, const void *b)
{
    const struct ggroup *x = *(struct ggroup *const *)a, *y = *(struct ggroup *const *)b;
    uint32_t n = x->id_bytes < y->id_bytes ? x->id_bytes : y->id_bytes;
    int r = memcmp(x->id, y->id, n);
    if (r != 0) {
        return r;
    }
    return x->id_bytes < y->id_bytes ? -1 : x->id_bytes > y->id_bytes;
}

static bool state_wanted(const struct proto_list_groups_request *req, const char *state)
{
    if (req->states_all) {
        return true;
    }
    for (uint32_t i = 0; i < req->state_count; i++) {
        if (str_eq(req->states[i], state, (uint32_t)strlen(state))) {
            return true;
        }
    }
    return false;
}

rill_err group_list(struct group_coord *coord,
                    const struct proto_list_groups_request *request,
                    struct proto_arena *arena,
                    struct proto_list_groups_response *response)
{
    *response = (struct proto_list_groups_response){ 0 };
    uint32_t n = coord->group_count;
    if (n == 0) {
        return RILL_OK;
    }
    struct ggroup **sorted = proto_arena_alloc(arena, n, sizeof(*sorted));
    struct proto_group_listing *list = proto_arena_alloc(arena, n, sizeof(*list));
    if (sorted == NULL || list == NULL) {
        return RILL_ERR_NOMEM;
    }
    memcpy(sorted, coord->groups, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_group_id);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *state = group_state(sorted[i]);
        if (state_wanted(request, state)) {
            list[k++] =
                (struct proto_group_listing){ .group = { sorted[i]->id, sorted[i]->id_bytes },
                                              .state = cstr(state),
                                              .member_count = (int32_t)sorted[i]->member_count };
        }
    }
    response->groups = k > 0 ? list : NULL;
    response->group_count = k;
    return RILL_OK;
}

static rill_err describe_member(const struct group_coord *c,
                                const struct gmember *m,
                                struct proto_arena *arena,
                                struct proto_group_member *out)
{
    *out = (struct proto_group_member){
        .member_id = { m->id, m->id_bytes },
        .client_id = { m->client_id != NULL ? m->client_id : "", m->client_id_bytes },
        .host = { m->host != NULL ? m->host : "", m->host_bytes },
        .generation = m->generation,
        .session_timeout_ms = m->session_timeout_ms,
        .rebalance_timeout_ms = m->rebalance_timeout_ms,
        .topics = m->sub.topics_nil ? NULL : m->sub.topics,
        .topic_count = m->sub.topics_nil ? 0 : m->sub.topic_count,
        .topics_nil = m->sub.topics_nil,
        .pattern = m->sub.topics_nil ? (struct proto_str){ m->sub.pattern, m->sub.pattern_bytes }
                                     : (struct proto_str){ 0 },
    };
    if (m->held_count == 0) {
        return RILL_OK;
    }
    uint64_t *held = proto_arena_alloc(arena, m->held_count, sizeof(*held));
    uint64_t *revoking = proto_arena_alloc(arena, m->held_count, sizeof(*revoking));
    if (held == NULL || revoking == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t nr = 0;
    for (uint32_t i = 0; i < m->held_count; i++) {
        held[i] = m->held[i];
        if (m->told[i]) {
            revoking[nr++] = m->held[i];
        }
    }
    rill_err err =
        tp_list_build(c, arena, held, m->held_count, &out->assignment, &out->assignment_count);
    if (err == RILL_OK) {
        err = tp_list_build(c, arena, revoking, nr, &out->revoking, &out->revoking_count);
    }
    return err;
}

static rill_err describe_group(const struct group_coord *c,
                               struct proto_str id,
                               struct proto_arena *arena,
                               struct proto_group_description *out)
{
    *out = (struct proto_group_description){
        .group = id, .state = STR_EMPTY, .generation = PROTO_GENERATION_NONE, .strategy = STR_EMPTY
    };
    if (!proto_group_id_valid(id.ptr, id.bytes)) {
        out->error = RILL_ERR_INVALID_GROUP_ID;
        return RILL_OK;
    }
    const struct ggroup *g = group_find(c, id);
    if (g == NULL) {
        out->error = RILL_ERR_UNKNOWN_GROUP;
        return RILL_OK;
    }
    out->state = cstr(group_state(g));
    out->generation = g->generation;
    if (g->member_count == 0) {
        return RILL_OK;
    }
    out->strategy = cstr(assign_strategy_name(g->strategy));
    out->members = proto_arena_alloc(arena, g->member_count, sizeof(*out->members));
    if (out->members == NULL) {
        return RILL_ERR_NOMEM;
    }
    out->member_count = g->member_count;
    for (uint32_t i = 0; i < g->member_count; i++) {
        rill_err err = describe_member(c, g->members[i], arena, &out->members[i]);
        if (err != RILL_OK) {
            return err;
        }
    }
    return RILL_OK;
}

rill_err group_describe(struct group_coord *coord,
                        const struct proto_describe_groups_request *request,
                        struct proto_arena *arena,
                        struct proto_describe_groups_response *response)
{
    *response = (struct proto_describe_groups_response){ 0 };
    uint32_t n = request->group_count;
    if (n == 0) {
        return RILL_OK;
    }
    struct proto_group_description *list = proto_arena_alloc(arena, n, sizeof(*list));
    if (list == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        rill_err err = describe_group(coord, request->groups[i], arena, &list[i]);
        if (err != RILL_OK) {
            return err;
        }
    }
    response->groups = list;
    response->group_count = n;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* DELETE_GROUPS, RESET_OFFSETS                                                             */
/* ---------------------------------------------------------------------------------------- */

/* Tombstones every offset of the empty group g and frees it. On a sink error the offsets
 * tombstoned so far are gone, the rest and the group stay, and the error is returned. */
static rill_err group_erase(struct group_coord *c,
                            struct ggroup *g,
                            int64_t wall_ms,
                            const struct group_sink *sink,
                            uint32_t *appended)
{
    RILL_ASSERT(g->member_count == 0);
    uint32_t n = g->offsets.count;
    uint64_t *keys = n > 0 ? malloc(n * sizeof(*keys)) : NULL;
    if (n > 0 && keys == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < g->offsets.cap; i++) {
        if (g->offsets.keys[i] != 0) {
            keys[k++] = g->offsets.keys[i];
        }
    }
    rill_err err = RILL_OK;
    for (uint32_t i = 0; i < n && err == RILL_OK; i++) {
        err = sink_append(sink, c, g, keys[i], -1, (struct proto_str){ 0 }, wall_ms, appended);
        if (err == RILL_OK) {
            offset_remove(c, g, keys[i]);
        }
    }
    free(keys);
    if (err == RILL_OK) {
        group_destroy(c, g);
    }
    return err;
}

rill_err group_delete(struct group_coord *coord,
                      const struct proto_delete_groups_request *request,
                      const struct group_sink *sink,
                      struct proto_arena *arena,
                      struct proto_topic_results *response,
                      uint32_t *appended)
{
    *response = (struct proto_topic_results){ 0 };
    if (appended != NULL) {
        *appended = 0;
    }
    uint32_t n = request->group_count;
    if (n == 0) {
        return RILL_OK;
    }
    struct proto_topic_result *list = proto_arena_alloc(arena, n, sizeof(*list));
    if (list == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct proto_str id = request->groups[i];
        list[i].name = id;
        if (!proto_group_id_valid(id.ptr, id.bytes)) {
            list[i].error = RILL_ERR_INVALID_GROUP_ID;
            continue;
        }
        struct ggroup *g = group_find(coord, id);
        if (g == NULL) {
            list[i].error = RILL_ERR_UNKNOWN_GROUP;
        } else if (g->member_count > 0) {
            list[i].error = RILL_ERR_GROUP_NOT_EMPTY;
        } else {
            list[i].error = group_erase(
                coord, g, g->last_commit_wall_ms > 0 ? g->last_commit_wall_ms : 0, sink, appended);
        }
    }
    response->results = list;
    response->result_count = n;
    return RILL_OK;
}

/* Resolves one partition of a reset to the offset it sets (-1: delete). */
static rill_err reset_resolve(struct group_coord *c,
                              struct proto_str topic,
                              const struct proto_reset_partition *p,
                              int64_t *out)
{
    int32_t parts = c->topics.partitions(c->topics.ctx, topic.ptr, topic.bytes);
    if (parts < 0) {
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    if (p->partition < 0 || p->partition >= parts) {
        return RILL_ERR_UNKNOWN_PARTITION;
    }
    if (p->offset == PROTO_RESET_OFFSETS_DELETE) {
        *out = -1;
        return RILL_OK;
    }
    if (p->offset < 0 && p->offset != PROTO_RESET_OFFSETS_LATEST &&
        p->offset != PROTO_RESET_OFFSETS_EARLIEST) {
        return RILL_ERR_OFFSET_OUT_OF_RANGE;
    }
    int64_t start = 0, end = 0;
    rill_err err =
        c->topics.bounds(c->topics.ctx, topic.ptr, topic.bytes, p->partition, &start, &end);
    if (err != RILL_OK) {
        return err;
    }
    if (p->offset == PROTO_RESET_OFFSETS_LATEST) {
        *out = end;
    } else if (p->offset == PROTO_RESET_OFFSETS_EARLIEST) {
        *out = start;
    } else if (p->offset < start || p->offset > end) {
        return RILL_ERR_OFFSET_OUT_OF_RANGE;
    } else {
        *out = p->offset;
    }
    return RILL_OK;
}

static int64_t committed(const struct group_coord *c,
                         const struct ggroup *g,
                         struct proto_str topic,
                         int32_t partition)
{
    uint32_t id = name_lookup(c, topic.ptr, topic.bytes);
    const struct goffset *o = g != NULL && id != 0 && partition >= 0
                                  ? gmap_u64_get(&g->offsets, TP_KEY(id, partition))
                                  : NULL;
    return o != NULL ? o->offset : -1;
}

static rill_err reset_one(struct group_coord *c,
                          struct ggroup *g,
                          struct proto_str topic,
                          const struct proto_reset_partition *p,
                          bool validate_only,
                          int64_t wall_ms,
                          const struct group_sink *sink,
                          uint32_t *appended,
                          int64_t *out_offset)
{
    *out_offset = committed(c, g, topic, p->partition);
    int64_t target = -1;
    rill_err err = reset_resolve(c, topic, p, &target);
    if (err != RILL_OK || validate_only) {
        if (err == RILL_OK) {
            *out_offset = target;
        }
        return err;
    }
    uint32_t id = 0;
    if (target < 0) {
        id = name_lookup(c, topic.ptr, topic.bytes);
        if (id == 0 || gmap_u64_get(&g->offsets, TP_KEY(id, p->partition)) == NULL) {
            return RILL_OK; /* nothing committed: nothing to delete */
        }
        err = sink_append(sink, c, g, TP_KEY(id, p->partition), -1, (struct proto_str){ 0 },
                          wall_ms, appended);
        if (err == RILL_OK) {
            offset_remove(c, g, TP_KEY(id, p->partition));
            *out_offset = -1;
        }
        return err;
    }
    err = name_intern(c, topic.ptr, topic.bytes, &id);
    struct offset_change ch = { 0 };
    if (err == RILL_OK) {
        err = offset_prepare(c, g, TP_KEY(id, p->partition), (struct proto_str){ 0 }, &ch);
    }
    if (err == RILL_OK) {
        err = sink_append(sink, c, g, ch.key, target, (struct proto_str){ 0 }, wall_ms, appended);
        if (err != RILL_OK) {
            offset_discard(&ch);
        }
    }
    if (err == RILL_OK) {
        offset_apply(c, g, &ch, target, 0, wall_ms);
        *out_offset = target;
    }
    return err;
}

rill_err group_reset_offsets(struct group_coord *coord,
                             int64_t wall_ms,
                             const struct proto_reset_offsets_request *request,
                             const struct group_sink *sink,
                             struct proto_arena *arena,
                             struct proto_reset_offsets_response *response,
                             uint32_t *appended)
{
    *response = (struct proto_reset_offsets_response){ 0 };
    if (appended != NULL) {
        *appended = 0;
    }
    if (!proto_group_id_valid(request->group.ptr, request->group.bytes)) {
        response->error = RILL_ERR_INVALID_GROUP_ID;
        return RILL_OK;
    }
    struct ggroup *g = group_find(coord, request->group);
    if (g != NULL && g->member_count > 0) {
        response->error = RILL_ERR_GROUP_NOT_EMPTY;
        return RILL_OK;
    }
    if (g == NULL && !request->validate_only) {
        rill_err err = group_create(coord, request->group, &g);
        if (err != RILL_OK) {
            if (err == RILL_ERR_NOMEM) {
                return err;
            }
            response->error = err;
            return RILL_OK;
        }
    }
    uint32_t nt = request->topic_count;
    struct proto_reset_topic_result *topics =
        nt > 0 ? proto_arena_alloc(arena, nt, sizeof(*topics)) : NULL;
    rill_err err = nt > 0 && topics == NULL ? RILL_ERR_NOMEM : RILL_OK;
    for (uint32_t t = 0; t < nt && err == RILL_OK; t++) {
        const struct proto_reset_topic *rt = &request->topics[t];
        topics[t].name = rt->name;
        if (rt->partition_count == 0) {
            continue;
        }
        topics[t].partitions =
            proto_arena_alloc(arena, rt->partition_count, sizeof(*topics[t].partitions));
        if (topics[t].partitions == NULL) {
            err = RILL_ERR_NOMEM;
            break;
        }
        topics[t].partition_count = rt->partition_count;
        for (uint32_t i = 0; i < rt->partition_count; i++) {
            struct proto_reset_partition_result *r = &topics[t].partitions[i];
            r->partition = rt->partitions[i].partition;
            r->error = reset_one(coord, g, rt->name, &rt->partitions[i], request->validate_only,
                                 wall_ms, sink, appended, &r->offset);
        }
    }
    if (g != NULL) {
        (void)group_drop_if_unused(coord, g);
    }
    if (err != RILL_OK) {
        return err;
    }
    response->topics = topics;
    response->topic_count = nt;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Time and topic changes                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Removes the members of g whose deadline passed; rebalances once if any went. */
static int64_t tick_members(struct group_coord *c, struct ggroup *g, int64_t mono)
{
    bool removed = false;
    int64_t next = INT64_MAX;
    for (uint32_t i = g->member_count; i-- > 0;) {
        struct gmember *m = g->members[i];
        int64_t deadline = member_deadline(m);
        if (mono >= deadline) {
            DIAG_INFO(COMPONENT, "group=%s member=%s removed: %s timeout", g->id, m->id,
                      mono >= m->session_deadline ? "session" : "rebalance");
            member_remove(c, g, m, mono);
            c->expirations++;
            removed = true;
        } else if (deadline < next) {
            next = deadline;
        }
    }
    if (removed || g->dirty) {
        (void)group_rebalance(c, g);
    }
    return next;
}

/* Expires an empty group by retention. @return its next deadline, or INT64_MAX when it went. */
static int64_t tick_empty_group(struct group_coord *c,
                                struct ggroup *g,
                                int64_t mono,
                                int64_t wall,
                                const struct group_sink *sink,
                                uint32_t *appended)
{
    if (group_drop_if_unused(c, g)) {
        return INT64_MAX;
    }
    if (g->empty_since_mono_ms == UNSET) {
        g->empty_since_mono_ms = mono;
    }
    int64_t retention = c->config.retention_ms;
    int64_t empty_until = add_sat(g->empty_since_mono_ms, retention);
    int64_t commit_left = g->last_commit_wall_ms == INT64_MIN
                              ? 0
                              : add_sat(add_sat(g->last_commit_wall_ms, retention), -wall);
    if (mono >= empty_until && commit_left <= 0) {
        if (group_erase(c, g, wall, sink, appended) == RILL_OK) {
            return INT64_MAX;
        }
        return add_sat(mono, 1); /* the sink refused: try again at the next tick */
    }
    int64_t at_commit = add_sat(mono, commit_left > 0 ? commit_left : 0);
    return empty_until > at_commit ? empty_until : at_commit;
}

int64_t group_coord_tick(struct group_coord *coord,
                         int64_t mono_ms,
                         int64_t wall_ms,
                         const struct group_sink *sink,
                         uint32_t *appended)
{
    if (appended != NULL) {
        *appended = 0;
    }
    names_collect(coord);
    if (mono_ms < coord->tick_due) {
        return coord->tick_due; /* nothing can have expired: skip the scan */
    }
    int64_t next = INT64_MAX;
    for (uint32_t i = coord->group_count; i-- > 0;) {
        struct ggroup *g = coord->groups[i];
        int64_t at = INT64_MAX;
        if (g->member_count > 0) {
            at = tick_members(coord, g, mono_ms);
        }
        if (g->member_count == 0) {
            at = tick_empty_group(coord, g, mono_ms, wall_ms, sink, appended);
        }
        next = at < next ? at : next;
    }
    coord->tick_due = next;
    return next;
}

static bool ids_equal(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

/* Re-resolves every subscription of g (members with the pattern of the previous member share
 * its result). @return whether anything changed, so that the target must be recomputed. */
static bool group_reresolve(struct group_coord *c, struct ggroup *g)
{
    bool changed = false;
    const struct gmember *prev = NULL;
    for (uint32_t i = 0; i < g->member_count; i++) {
        struct gmember *m = g->members[i];
        uint32_t *ids = NULL, count = 0;
        if (prev != NULL && prev->sub.topics_nil && m->sub.topics_nil &&
            prev->sub.pattern_bytes == m->sub.pattern_bytes &&
            memcmp(prev->sub.pattern, m->sub.pattern, m->sub.pattern_bytes) == 0) {
            if (prev->resolved_count > 0) {
                ids = malloc(prev->resolved_count * sizeof(*ids));
                if (ids == NULL) {
                    continue;
                }
                memcpy(ids, prev->resolved, prev->resolved_count * sizeof(*ids));
            }
            count = prev->resolved_count;
        } else if (sub_resolve(c, &m->sub, &ids, &count) != RILL_OK) {
            g->dirty = true;
            tick_soon(c, INT64_MIN);
            continue;
        }
        if (!ids_equal(ids, count, m->resolved, m->resolved_count)) {
            free(m->resolved);
            m->resolved = ids;
            m->resolved_count = count;
            changed = true;
        } else {
            free(ids);
        }
        prev = m;
    }
    for (uint32_t i = 0; i < g->universe_count && !changed; i++) {
        const struct cname *n = name_at(c, g->universe[i].id);
        int32_t parts = c->topics.partitions(c->topics.ctx, n->name, n->bytes);
        changed = (parts > 0 ? parts : 0) != g->universe[i].partitions;
    }
    return changed || g->dirty;
}

void group_coord_topics_changed(struct group_coord *coord, int64_t mono_ms)
{
    (void)mono_ms;
    for (uint32_t i = 0; i < coord->group_count; i++) {
        struct ggroup *g = coord->groups[i];
        if (g->member_count > 0 && group_reresolve(coord, g)) {
            (void)group_rebalance(coord, g);
        }
    }
}
