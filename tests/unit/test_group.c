/*
 * test_group.c - the group coordinator state machine (consumer/group.h) against a
 * fake topics view and a recording sink: joins, the cooperative handover, fencing, commits,
 * fetches, resets, deletes, listings, sessions and retention through tick, pattern
 * subscriptions, strategies, bounds, sink failures, replay, the offsets record codec, and a
 * seeded randomized property test of the handover invariants.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "consumer/gmap.h"
#include "consumer/group.h"
#include "tests/harness.h"

/* ---------------------------------------------------------------------------------------- */
/* Fake topics view                                                                         */
/* ---------------------------------------------------------------------------------------- */

#define FT_MAX 16

struct ftopic {
    char name[64];
    int32_t parts;
    int64_t start, end;
    bool exists;
};

struct fake_topics {
    struct ftopic t[FT_MAX];
};

static struct ftopic *ft_find(struct fake_topics *ft, const char *name, uint32_t bytes)
{
    for (int i = 0; i < FT_MAX; i++) {
        if (ft->t[i].exists && strlen(ft->t[i].name) == bytes &&
            memcmp(ft->t[i].name, name, bytes) == 0) {
            return &ft->t[i];
        }
    }
    return NULL;
}

static void
ft_set(struct fake_topics *ft, const char *name, int32_t parts, int64_t start, int64_t end)
{
    struct ftopic *t = ft_find(ft, name, (uint32_t)strlen(name));
    for (int i = 0; t == NULL && i < FT_MAX; i++) {
        if (!ft->t[i].exists) {
            t = &ft->t[i];
        }
    }
    T_ASSERT(t != NULL);
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->parts = parts;
    t->start = start;
    t->end = end;
    t->exists = true;
}

static void ft_del(struct fake_topics *ft, const char *name)
{
    struct ftopic *t = ft_find(ft, name, (uint32_t)strlen(name));
    T_ASSERT(t != NULL);
    t->exists = false;
}

static int32_t ft_partitions(void *ctx, const char *name, uint32_t bytes)
{
    struct ftopic *t = ft_find(ctx, name, bytes);
    return t != NULL ? t->parts : -1;
}

static void ft_each(void *ctx,
                    void (*fn)(void *arg, const char *name, uint32_t bytes, int32_t partitions),
                    void *arg)
{
    struct fake_topics *ft = ctx;
    for (int i = 0; i < FT_MAX; i++) {
        if (ft->t[i].exists) {
            fn(arg, ft->t[i].name, (uint32_t)strlen(ft->t[i].name), ft->t[i].parts);
        }
    }
}

static rill_err
ft_bounds(void *ctx, const char *name, uint32_t bytes, int32_t p, int64_t *start, int64_t *end)
{
    struct ftopic *t = ft_find(ctx, name, bytes);
    if (t == NULL) {
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    if (p < 0 || p >= t->parts) {
        return RILL_ERR_UNKNOWN_PARTITION;
    }
    *start = t->start;
    *end = t->end;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Recording sink                                                                           */
/* ---------------------------------------------------------------------------------------- */

#define SINK_MAX 4096

struct srec {
    char group[256];
    char topic[256];
    int32_t partition;
    int64_t offset;
    bool meta_nil;
    char meta[64];
    int64_t wall;
};

struct rec_sink {
    struct srec recs[SINK_MAX];
    int n;
    rill_err fail;  /* returned instead of recording when set */
    int fail_after; /* records accepted before fail applies; -1: fail at once */
};

static rill_err sink_append_rec(void *ctx, const struct group_offset_record *r)
{
    struct rec_sink *s = ctx;
    if (s->fail != RILL_OK && (s->fail_after < 0 || s->n >= s->fail_after)) {
        return s->fail;
    }
    T_ASSERT(s->n < SINK_MAX);
    struct srec *o = &s->recs[s->n++];
    snprintf(o->group, sizeof(o->group), "%.*s", (int)r->group.bytes, r->group.ptr);
    snprintf(o->topic, sizeof(o->topic), "%.*s", (int)r->topic.bytes, r->topic.ptr);
    o->partition = r->partition;
    o->offset = r->offset;
    o->meta_nil = r->metadata.ptr == NULL;
    snprintf(o->meta, sizeof(o->meta), "%.*s", (int)r->metadata.bytes,
             r->metadata.ptr ? r->metadata.ptr : "");
    o->wall = r->commit_wall_ms;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Environment and simulated members                                                        */
/* ---------------------------------------------------------------------------------------- */

struct env {
    struct group_coord *c;
    struct proto_arena arena;
    struct fake_topics ft;
    struct rec_sink sink;
    struct group_sink gs;
    struct group_config cfg;
    int64_t mono, wall;
};

static struct group_config default_config(void)
{
    return (struct group_config){ .session_timeout_min_ms = 1000,
                                  .session_timeout_max_ms = 300000,
                                  .rebalance_timeout_max_ms = 300000,
                                  .members_max = 1000,
                                  .groups_max = 100000,
                                  .offsets_max = 1000000,
                                  .retention_ms = 604800000 };
}

static void env_start(struct env *e)
{
    struct group_topics topics = {
        .ctx = &e->ft, .partitions = ft_partitions, .each = ft_each, .bounds = ft_bounds
    };
    T_ASSERT_OK(group_coord_create(&e->cfg, &topics, &e->c));
    proto_arena_init(&e->arena, RILL_PROTO_ARENA_BYTES_MAX);
    e->gs = (struct group_sink){ .ctx = &e->sink, .append = sink_append_rec };
    e->sink.fail_after = -1;
    e->mono = 1000000;
    e->wall = 1700000000000;
}

static struct env *env_new_cfg(struct group_config cfg)
{
    struct env *e = calloc(1, sizeof(*e));
    T_ASSERT(e != NULL);
    e->cfg = cfg;
    env_start(e);
    return e;
}

static struct env *env_new(void)
{
    return env_new_cfg(default_config());
}

static void env_free(struct env *e)
{
    group_coord_destroy(e->c);
    proto_arena_deinit(&e->arena);
    free(e);
}

static struct proto_str S(const char *s) {
    return (struct proto_str){ s, (uint32_t)strlen(s) };
}

#define SIM_TPS 128

struct tpk {
    char topic[64];
    int32_t p;
};

struct sim {
    char group[64];
    char id[300];
    char client_id[32];
    int32_t gen;
    const char *topics[8];
    int ntopics;
    const char *pattern;
    const char *strategies[3];
    int nstrat;
    int32_t session_ms, rebalance_ms;
    struct tpk assigned[SIM_TPS];
    int nassigned;
    struct tpk revoke[SIM_TPS];
    int nrevoke;
    char strategy[16];
    int32_t hb_ms;
};

static void sim_init(struct sim *s, const char *group, const char *topic)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->group, sizeof(s->group), "%s", group);
    snprintf(s->client_id, sizeof(s->client_id), "client");
    s->topics[0] = topic;
    s->ntopics = topic != NULL ? 1 : 0;
    s->strategies[0] = "sticky";
    s->nstrat = 1;
    s->session_ms = 10000;
    s->rebalance_ms = -1;
    s->gen = -1;
}

static void
copy_tps(struct tpk *dst, int *n, const struct proto_topic_partitions *src, uint32_t count)
{
    *n = 0;
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t j = 0; j < src[i].partition_count; j++) {
            T_ASSERT(*n < SIM_TPS);
            snprintf(dst[*n].topic, sizeof(dst[*n].topic), "%.*s", (int)src[i].topic.bytes,
                     src[i].topic.ptr);
            dst[*n].p = src[i].partitions[j];
            (*n)++;
        }
    }
}

/* Joins (or rejoins with owned = its assignment). Returns the response error. */
static int32_t sim_join(struct env *e, struct sim *s)
{
    proto_arena_reset(&e->arena);
    struct proto_str topics[8], strategies[3];
    for (int i = 0; i < s->ntopics; i++) {
        topics[i] = S(s->topics[i]);
    }
    for (int i = 0; i < s->nstrat; i++) {
        strategies[i] = S(s->strategies[i]);
    }
    struct proto_topic_partitions owned[SIM_TPS];
    int32_t parts[SIM_TPS];
    uint32_t nowned = 0;
    for (int i = 0; i < s->nassigned; i++) {
        parts[i] = s->assigned[i].p;
        owned[nowned++] = (struct proto_topic_partitions){ .topic = S(s->assigned[i].topic),
                                                           .partitions = &parts[i],
                                                           .partition_count = 1 };
    }
    struct proto_join_group_request req = {
        .group = S(s->group),
        .member_id = S(s->id),
        .client_id = S(s->client_id),
        .session_timeout_ms = s->session_ms,
        .rebalance_timeout_ms = s->rebalance_ms,
        .strategies = strategies,
        .strategy_count = (uint32_t)s->nstrat,
        .topics = s->pattern != NULL ? NULL : topics,
        .topic_count = s->pattern != NULL ? 0 : (uint32_t)s->ntopics,
        .topics_nil = s->pattern != NULL,
        .pattern = s->pattern != NULL ? S(s->pattern) : (struct proto_str){ 0 },
        .owned = nowned > 0 ? owned : NULL,
        .owned_count = nowned,
    };
    struct proto_join_group_response resp;
    T_ASSERT_OK(group_join(e->c, e->mono, "127.0.0.1:5555", &req, &e->arena, &resp));
    if (resp.error != 0) {
        T_ASSERT_EQ_INT(resp.generation, -1);
        T_ASSERT_EQ_INT(resp.assignment_count, 0);
        T_ASSERT_EQ_INT(resp.revoke_count, 0);
        T_ASSERT_EQ_INT(resp.strategy.bytes, 0);
        return resp.error;
    }
    T_ASSERT(resp.member_id.bytes > 0 && resp.member_id.bytes < sizeof(s->id));
    snprintf(s->id, sizeof(s->id), "%.*s", (int)resp.member_id.bytes, resp.member_id.ptr);
    s->gen = resp.generation;
    T_ASSERT(s->gen >= 1);
    snprintf(s->strategy, sizeof(s->strategy), "%.*s", (int)resp.strategy.bytes, resp.strategy.ptr);
    s->hb_ms = resp.heartbeat_interval_ms;
    copy_tps(s->assigned, &s->nassigned, resp.assignment, resp.assignment_count);
    copy_tps(s->revoke, &s->nrevoke, resp.revoke, resp.revoke_count);
    return 0;
}

static int32_t sim_heartbeat(struct env *e, struct sim *s)
{
    struct proto_heartbeat_request req = { .group = S(s->group),
                                           .member_id = S(s->id),
                                           .generation = s->gen };
    struct proto_group_error_response resp;
    T_ASSERT_OK(group_heartbeat(e->c, e->mono, &req, &resp));
    return resp.error;
}

static int32_t sim_leave(struct env *e, struct sim *s)
{
    struct proto_leave_group_request req = { .group = S(s->group), .member_id = S(s->id) };
    struct proto_group_error_response resp;
    T_ASSERT_OK(group_leave(e->c, e->mono, &req, &resp));
    return resp.error;
}

/* Commits one partition; *perr gets the partition's error. Returns the group-level error. */
static int32_t commit_as(struct env *e,
                         const char *group,
                         const char *member,
                         int32_t gen,
                         const char *topic,
                         int32_t p,
                         int64_t offset,
                         const char *meta,
                         int32_t *perr)
{
    proto_arena_reset(&e->arena);
    struct proto_commit_partition part = { .partition = p,
                                           .offset = offset,
                                           .metadata = meta ? S(meta) : (struct proto_str){ 0 } };
    struct proto_commit_topic t = { .name = S(topic), .partitions = &part, .partition_count = 1 };
    struct proto_offset_commit_request req = {
        .group = S(group), .member_id = S(member), .generation = gen, .topics = &t, .topic_count = 1
    };
    struct proto_offset_commit_response resp;
    uint32_t appended = 99;
    T_ASSERT_OK(
        group_offset_commit(e->c, e->mono, e->wall, &req, &e->gs, &e->arena, &resp, &appended));
    if (resp.error != 0) {
        T_ASSERT_EQ_INT(resp.topic_count, 0);
        T_ASSERT_EQ_INT(appended, 0);
        *perr = 0;
        return resp.error;
    }
    T_ASSERT_EQ_INT(resp.topic_count, 1);
    T_ASSERT_EQ_INT(resp.topics[0].partition_count, 1);
    T_ASSERT_EQ_INT(resp.topics[0].partitions[0].partition, p);
    *perr = resp.topics[0].partitions[0].error;
    T_ASSERT_EQ_INT(appended, *perr == 0 ? 1 : 0);
    return 0;
}

static int32_t sim_commit(
    struct env *e, struct sim *s, const char *topic, int32_t p, int64_t offset, int32_t *perr)
{
    return commit_as(e, s->group, s->id, s->gen, topic, p, offset, NULL, perr);
}

/* The committed offset of one partition (-1: none), through OFFSET_FETCH; meta may be NULL. */
static int64_t fetch_one(
    struct env *e, const char *group, const char *topic, int32_t p, char *meta, size_t meta_cap)
{
    proto_arena_reset(&e->arena);
    struct proto_str names[1] = { S(topic) };
    struct proto_offset_fetch_request req = { .group = S(group),
                                              .topics = names,
                                              .topic_count = 1 };
    struct proto_offset_fetch_response resp;
    T_ASSERT_OK(group_offset_fetch(e->c, &req, &e->arena, &resp));
    T_ASSERT_EQ_INT(resp.error, 0);
    T_ASSERT_EQ_INT(resp.topic_count, 1);
    T_ASSERT_EQ_INT(resp.topics[0].error, 0);
    T_ASSERT(p < (int32_t)resp.topics[0].partition_count);
    const struct proto_committed_partition *cp = &resp.topics[0].partitions[p];
    T_ASSERT_EQ_INT(cp->partition, p);
    if (meta != NULL) {
        if (cp->metadata.ptr == NULL) {
            snprintf(meta, meta_cap, "(nil)");
        } else {
            snprintf(meta, meta_cap, "%.*s", (int)cp->metadata.bytes, cp->metadata.ptr);
        }
    }
    if (cp->offset < 0) {
        T_ASSERT(cp->metadata.ptr == NULL);
    }
    return cp->offset;
}

static bool sim_holds(const struct sim *s, const char *topic, int32_t p)
{
    for (int i = 0; i < s->nassigned; i++) {
        if (s->assigned[i].p == p && strcmp(s->assigned[i].topic, topic) == 0) {
            return true;
        }
    }
    return false;
}

/* Describes one group into the arena. */
static struct proto_group_description describe(struct env *e, const char *group)
{
    proto_arena_reset(&e->arena);
    struct proto_str ids[1] = { S(group) };
    struct proto_describe_groups_request req = { .groups = ids, .group_count = 1 };
    struct proto_describe_groups_response resp;
    T_ASSERT_OK(group_describe(e->c, &req, &e->arena, &resp));
    T_ASSERT_EQ_INT(resp.group_count, 1);
    return resp.groups[0];
}

static bool str_is(struct proto_str s, const char *want)
{
    return s.ptr != NULL && s.bytes == strlen(want) && memcmp(s.ptr, want, s.bytes) == 0;
}

/* No partition held twice (DESCRIBE), and lists sorted; returns the partitions held. */
static int check_holders(struct env *e, const char *group)
{
    struct proto_group_description d = describe(e, group);
    static struct tpk seen[4096];
    int n = 0;
    for (uint32_t m = 0; m < d.member_count; m++) {
        const struct proto_group_member *mem = &d.members[m];
        for (uint32_t t = 0; t < mem->assignment_count; t++) {
            const struct proto_topic_partitions *tp = &mem->assignment[t];
            if (t > 0) {
                const struct proto_str *a = &mem->assignment[t - 1].topic;
                int cmp = memcmp(a->ptr, tp->topic.ptr,
                                 a->bytes < tp->topic.bytes ? a->bytes : tp->topic.bytes);
                T_ASSERT(cmp < 0 || (cmp == 0 && a->bytes < tp->topic.bytes));
            }
            for (uint32_t j = 0; j < tp->partition_count; j++) {
                if (j > 0) {
                    T_ASSERT(tp->partitions[j - 1] < tp->partitions[j]);
                }
                for (int k = 0; k < n; k++) {
                    T_ASSERT(!(seen[k].p == tp->partitions[j] &&
                               strlen(seen[k].topic) == tp->topic.bytes &&
                               memcmp(seen[k].topic, tp->topic.ptr, tp->topic.bytes) == 0));
                }
                T_ASSERT(n < 4096);
                snprintf(seen[n].topic, sizeof(seen[n].topic), "%.*s", (int)tp->topic.bytes,
                         tp->topic.ptr);
                seen[n].p = tp->partitions[j];
                n++;
            }
        }
    }
    return n;
}

/* Every member follows the protocol until all heartbeats answer 0. Returns the rounds taken. */
static int settle(struct env *e, struct sim **sims, int n)
{
    for (int round = 0; round < 20; round++) {
        bool quiet = true;
        for (int i = 0; i < n; i++) {
            int32_t hb = sim_heartbeat(e, sims[i]);
            if (hb == RILL_ERR_REBALANCE_IN_PROGRESS || hb == RILL_ERR_STALE_GENERATION) {
                quiet = false;
                T_ASSERT_EQ_INT(sim_join(e, sims[i]), 0);
                if (sims[i]->nrevoke > 0) {
                    T_ASSERT_EQ_INT(sim_join(e, sims[i]), 0); /* release after "committing" */
                }
            } else {
                T_ASSERT_EQ_INT(hb, 0);
            }
            check_holders(e, sims[0]->group);
        }
        if (quiet) {
            return round;
        }
    }
    T_FAIL("did not settle");
    return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Cases                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void t_first_join(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "orders", 6, 0, 100);
    struct sim a;
    sim_init(&a, "g1", "orders");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT(strlen(a.id) > 0);
    T_ASSERT(strncmp(a.id, "client-", 7) == 0);
    T_ASSERT_EQ_INT(a.gen, 1);
    T_ASSERT_EQ_INT(a.nassigned, 6);
    T_ASSERT_EQ_INT(a.nrevoke, 0);
    T_ASSERT(strcmp(a.strategy, "sticky") == 0);
    T_ASSERT_EQ_INT(a.hb_ms, 3333);
    for (int p = 0; p < 6; p++) {
        T_ASSERT(sim_holds(&a, "orders", p));
    }
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), 0);
    struct proto_group_description d = describe(e, "g1");
    T_ASSERT(str_is(d.state, "stable"));
    T_ASSERT(str_is(d.strategy, "sticky"));
    T_ASSERT_EQ_INT(d.member_count, 1);
    T_ASSERT(str_is(d.members[0].host, "127.0.0.1:5555"));
    T_ASSERT(str_is(d.members[0].client_id, "client"));
    T_ASSERT_EQ_INT(d.members[0].topic_count, 1);
    T_ASSERT(str_is(d.members[0].topics[0], "orders"));
    /* A rejoin with nothing changed keeps everything and the generation. */
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.gen, 1);
    T_ASSERT_EQ_INT(a.nassigned, 6);
    /* Subscribed topics that do not exist yet are no error. */
    struct sim b;
    sim_init(&b, "g2", "nothing-yet");
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(b.nassigned, 0);
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.groups, 2);
    T_ASSERT_EQ_INT(st.members, 2);
    env_free(e);
}

static void t_join_errors(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 2, 0, 10);
    struct sim a;
    sim_init(&a, "bad group", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_GROUP_ID);
    sim_init(&a, "g", "t");
    a.session_ms = 999;
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SESSION_TIMEOUT);
    a.session_ms = 300001;
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SESSION_TIMEOUT);
    a.session_ms = 10000;
    a.rebalance_ms = 0;
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SESSION_TIMEOUT);
    a.rebalance_ms = 300001;
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SESSION_TIMEOUT);
    a.rebalance_ms = -1;
    a.topics[0] = "bad/name";
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SUBSCRIPTION);
    a.pattern = "a)|(b";
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SUBSCRIPTION);
    a.pattern = "((a{1,100}){1,100}){1,100}";
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SUBSCRIPTION);
    a.pattern = "[";
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SUBSCRIPTION);
    a.pattern = "(a)\\1";
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INVALID_SUBSCRIPTION);
    a.pattern = NULL;
    a.topics[0] = "t";
    a.strategies[0] = "magic";
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_INCONSISTENT_STRATEGY);
    a.strategies[0] = "range";
    snprintf(a.id, sizeof(a.id), "nobody-1");
    T_ASSERT_EQ_INT(sim_join(e, &a), RILL_ERR_UNKNOWN_MEMBER_ID);
    /* None of the refused joins left a group behind. */
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.groups, 0);
    /* Both topics and pattern (or neither) is a malformed request. */
    struct proto_join_group_request req = { .group = S("g"),
                                            .member_id = S(""),
                                            .session_timeout_ms = 10000,
                                            .rebalance_timeout_ms = -1,
                                            .topics_nil = true };
    struct proto_join_group_response resp;
    T_ASSERT_EQ_INT(group_join(e->c, e->mono, "h", &req, &e->arena, &resp),
                    RILL_ERR_INVALID_REQUEST);
    /* Heartbeat and leave errors. */
    struct sim ghost;
    sim_init(&ghost, "g", "t");
    snprintf(ghost.id, sizeof(ghost.id), "x-1");
    T_ASSERT_EQ_INT(sim_heartbeat(e, &ghost), RILL_ERR_UNKNOWN_MEMBER_ID);
    T_ASSERT_EQ_INT(sim_leave(e, &ghost), RILL_ERR_UNKNOWN_MEMBER_ID);
    snprintf(ghost.group, sizeof(ghost.group), "..");
    T_ASSERT_EQ_INT(sim_heartbeat(e, &ghost), RILL_ERR_INVALID_GROUP_ID);
    T_ASSERT_EQ_INT(sim_leave(e, &ghost), RILL_ERR_INVALID_GROUP_ID);
    env_free(e);
}

static void t_handover_three_members(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 6, 0, 1000);
    struct sim a, b, c;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    sim_init(&c, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 6);
    int32_t gen_a = a.gen;

    /* B joins: its target is held by A, so B gets nothing yet. */
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(b.nassigned, 0);
    T_ASSERT(b.gen > gen_a);
    T_ASSERT_EQ_INT(check_holders(e, "g"), 6);
    struct proto_group_description d = describe(e, "g");
    T_ASSERT(str_is(d.state, "rebalancing"));
    /* B's pending partitions are not free: B is not asked to rejoin. */
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), 0);
    /* A is: its heartbeat (with its own, older generation) says rebalance. */
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 3);
    T_ASSERT_EQ_INT(a.nrevoke, 3);
    T_ASSERT_EQ_INT(check_holders(e, "g"), 6);
    d = describe(e, "g");
    T_ASSERT_EQ_INT(d.member_count, 2);
    const struct proto_group_member *ma =
        str_is(d.members[0].member_id, a.id) ? &d.members[0] : &d.members[1];
    T_ASSERT_EQ_INT(ma->assignment_count, 1);
    T_ASSERT_EQ_INT(ma->assignment[0].partition_count, 6); /* revoking ones still held */
    T_ASSERT_EQ_INT(ma->revoking_count, 1);
    T_ASSERT_EQ_INT(ma->revoking[0].partition_count, 3);
    /* A commits a revoked partition with the generation of that response: still held. */
    int32_t perr = 0;
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", a.revoke[0].p, 7, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    /* B cannot commit it: not held. */
    T_ASSERT_EQ_INT(sim_commit(e, &b, "t", a.revoke[0].p, 8, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_STALE_GENERATION);
    /* Still pending for B until A releases. */
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), 0);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    /* A rejoins with owned = its new assignment: releases the three. */
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 3);
    T_ASSERT_EQ_INT(a.nrevoke, 0);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), 0);
    T_ASSERT_EQ_INT(check_holders(e, "g"), 3);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(b.nassigned, 3);
    T_ASSERT_EQ_INT(check_holders(e, "g"), 6);
    for (int i = 0; i < 3; i++) {
        T_ASSERT(!sim_holds(&a, "t", b.assigned[i].p));
    }
    /* B reads the offset A committed. */
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", a.revoke[0].p, NULL, 0), 7);
    d = describe(e, "g");
    T_ASSERT(str_is(d.state, "stable"));

    /* C joins; everybody follows the protocol; each ends with 2. */
    T_ASSERT_EQ_INT(sim_join(e, &c), 0);
    struct sim *all[3] = { &a, &b, &c };
    settle(e, all, 3);
    T_ASSERT_EQ_INT(a.nassigned, 2);
    T_ASSERT_EQ_INT(b.nassigned, 2);
    T_ASSERT_EQ_INT(c.nassigned, 2);
    T_ASSERT_EQ_INT(check_holders(e, "g"), 6);
    d = describe(e, "g");
    T_ASSERT(str_is(d.state, "stable"));
    /* C leaves: its partitions go back once the others rejoin. */
    T_ASSERT_EQ_INT(sim_leave(e, &c), 0);
    settle(e, all, 2);
    T_ASSERT_EQ_INT(a.nassigned + b.nassigned, 6);
    T_ASSERT_EQ_INT(a.nassigned, 3);
    env_free(e);
}

static void t_stale_generation(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 2, 0, 100);
    struct sim a, b;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    int32_t old = a.gen;
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT(a.gen != old);
    struct sim stale = a;
    stale.gen = old;
    T_ASSERT_EQ_INT(sim_heartbeat(e, &stale), RILL_ERR_STALE_GENERATION);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(sim_commit(e, &stale, "t", a.assigned[0].p, 1, &perr),
                    RILL_ERR_STALE_GENERATION);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", a.assigned[0].p, NULL, 0), -1);
    /* Unknown member and manual-looking commits. */
    T_ASSERT_EQ_INT(commit_as(e, "g", "who-9", 1, "t", 0, 1, NULL, &perr),
                    RILL_ERR_UNKNOWN_MEMBER_ID);
    T_ASSERT_EQ_INT(commit_as(e, "g", "", 5, "t", 0, 1, NULL, &perr), RILL_ERR_UNKNOWN_MEMBER_ID);
    T_ASSERT_EQ_INT(commit_as(e, "g!", "", -1, "t", 0, 1, NULL, &perr), RILL_ERR_INVALID_GROUP_ID);
    env_free(e);
}

static void t_commit_rules(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 4, 5, 100);
    struct sim a, b;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    struct sim *all[2] = { &a, &b };
    settle(e, all, 2);
    T_ASSERT_EQ_INT(a.nassigned, 2);
    int32_t mine = a.assigned[0].p, theirs = b.assigned[0].p;
    int32_t perr = 0;
    /* Not held: refused per partition. */
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", theirs, 10, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_STALE_GENERATION);
    /* Topic / partition / range checks (0 .. high watermark). */
    T_ASSERT_EQ_INT(sim_commit(e, &a, "nope", 0, 10, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", 4, 10, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_UNKNOWN_PARTITION);
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", mine, 101, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", mine, -1, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", mine, 0, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    /* Never backwards; equal replaces the metadata. */
    T_ASSERT_EQ_INT(commit_as(e, "g", a.id, a.gen, "t", mine, 50, "m1", &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(commit_as(e, "g", a.id, a.gen, "t", mine, 49, "m2", &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_REGRESSION);
    char meta[64];
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", mine, meta, sizeof(meta)), 50);
    T_ASSERT(strcmp(meta, "m1") == 0);
    T_ASSERT_EQ_INT(commit_as(e, "g", a.id, a.gen, "t", mine, 50, "m3", &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", mine, meta, sizeof(meta)), 50);
    T_ASSERT(strcmp(meta, "m3") == 0);
    T_ASSERT_EQ_INT(commit_as(e, "g", a.id, a.gen, "t", mine, 100, NULL, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", mine, meta, sizeof(meta)), 100);
    T_ASSERT(strcmp(meta, "(nil)") == 0);
    /* Metadata over 4 KiB. */
    char *big = malloc(PROTO_COMMIT_METADATA_BYTES_MAX + 2);
    memset(big, 'x', PROTO_COMMIT_METADATA_BYTES_MAX + 1);
    big[PROTO_COMMIT_METADATA_BYTES_MAX + 1] = '\0';
    T_ASSERT_EQ_INT(commit_as(e, "g", a.id, a.gen, "t", mine, 100, big, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_TOO_LARGE);
    free(big);
    /* The sink saw exactly the accepted commits, stamped with the wall clock. */
    T_ASSERT_EQ_INT(e->sink.n, 4);
    T_ASSERT(strcmp(e->sink.recs[1].meta, "m1") == 0);
    T_ASSERT_EQ_INT(e->sink.recs[1].offset, 50);
    T_ASSERT_EQ_INT(e->sink.recs[1].wall, e->wall);
    T_ASSERT(e->sink.recs[3].meta_nil);
    /* Manual commit while the group has members. */
    T_ASSERT_EQ_INT(commit_as(e, "g", "", -1, "t", mine, 100, NULL, &perr),
                    RILL_ERR_GROUP_NOT_EMPTY);
    /* A commit refreshes the session. */
    e->mono += 9000;
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", mine, 100, &perr), 0);
    e->mono += 9000;
    uint32_t appended = 0;
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS); /* b expired */
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), RILL_ERR_UNKNOWN_MEMBER_ID);
    env_free(e);
}

static void t_manual_commit(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 2, 0, 100);
    int32_t perr = 0;
    /* Creates the group. */
    T_ASSERT_EQ_INT(commit_as(e, "m", "", -1, "t", 1, 42, "x", &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(fetch_one(e, "m", "t", 1, NULL, 0), 42);
    T_ASSERT_EQ_INT(fetch_one(e, "m", "t", 0, NULL, 0), -1);
    T_ASSERT_EQ_INT(commit_as(e, "m", "", -1, "t", 1, 41, NULL, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_REGRESSION);
    /* A failed manual commit to a new group leaves no group. */
    T_ASSERT_EQ_INT(commit_as(e, "n", "", -1, "t", 9, 1, NULL, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_UNKNOWN_PARTITION);
    struct proto_group_description d = describe(e, "n");
    T_ASSERT_EQ_INT(d.error, RILL_ERR_UNKNOWN_GROUP);
    /* With a member: refused; after it leaves: accepted. */
    struct sim a;
    sim_init(&a, "m", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(commit_as(e, "m", "", -1, "t", 1, 50, NULL, &perr), RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT_EQ_INT(sim_leave(e, &a), 0);
    T_ASSERT_EQ_INT(commit_as(e, "m", "", -1, "t", 1, 50, NULL, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(fetch_one(e, "m", "t", 1, NULL, 0), 50);
    env_free(e);
}

static void t_offset_fetch(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "b", 3, 0, 100);
    ft_set(&e->ft, "a", 2, 0, 100);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(commit_as(e, "g", "", -1, "b", 2, 5, "z", &perr), 0);
    T_ASSERT_EQ_INT(commit_as(e, "g", "", -1, "b", 0, 6, NULL, &perr), 0);
    T_ASSERT_EQ_INT(commit_as(e, "g", "", -1, "a", 1, 7, NULL, &perr), 0);
    /* topics nil: only committed partitions, ordered by topic then partition. */
    proto_arena_reset(&e->arena);
    struct proto_offset_fetch_request req = { .group = S("g"), .topics_all = true };
    struct proto_offset_fetch_response resp;
    T_ASSERT_OK(group_offset_fetch(e->c, &req, &e->arena, &resp));
    T_ASSERT_EQ_INT(resp.error, 0);
    T_ASSERT_EQ_INT(resp.topic_count, 2);
    T_ASSERT(str_is(resp.topics[0].name, "a"));
    T_ASSERT_EQ_INT(resp.topics[0].partition_count, 1);
    T_ASSERT_EQ_INT(resp.topics[0].partitions[0].offset, 7);
    T_ASSERT(str_is(resp.topics[1].name, "b"));
    T_ASSERT_EQ_INT(resp.topics[1].partition_count, 2);
    T_ASSERT_EQ_INT(resp.topics[1].partitions[0].partition, 0);
    T_ASSERT_EQ_INT(resp.topics[1].partitions[1].partition, 2);
    T_ASSERT(str_is(resp.topics[1].partitions[1].metadata, "z"));
    T_ASSERT(resp.topics[1].partitions[0].metadata.ptr == NULL);
    /* Named topics in request order, unknown topic error, -1 for uncommitted. */
    proto_arena_reset(&e->arena);
    struct proto_str names[3] = { S("b"), S("zz"), S("a") };
    req = (struct proto_offset_fetch_request){ .group = S("g"), .topics = names, .topic_count = 3 };
    T_ASSERT_OK(group_offset_fetch(e->c, &req, &e->arena, &resp));
    T_ASSERT_EQ_INT(resp.topic_count, 3);
    T_ASSERT(str_is(resp.topics[0].name, "b"));
    T_ASSERT_EQ_INT(resp.topics[0].partition_count, 3);
    T_ASSERT_EQ_INT(resp.topics[0].partitions[0].offset, 6);
    T_ASSERT_EQ_INT(resp.topics[0].partitions[1].offset, -1);
    T_ASSERT_EQ_INT(resp.topics[0].partitions[2].offset, 5);
    T_ASSERT_EQ_INT(resp.topics[1].error, RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT_EQ_INT(resp.topics[1].partition_count, 0);
    T_ASSERT_EQ_INT(resp.topics[2].partitions[0].offset, -1);
    T_ASSERT_EQ_INT(resp.topics[2].partitions[1].offset, 7);
    /* A group that does not exist has no commits; a bad id is an error. */
    T_ASSERT_EQ_INT(fetch_one(e, "other", "a", 1, NULL, 0), -1);
    proto_arena_reset(&e->arena);
    req = (struct proto_offset_fetch_request){ .group = S("other"), .topics_all = true };
    T_ASSERT_OK(group_offset_fetch(e->c, &req, &e->arena, &resp));
    T_ASSERT_EQ_INT(resp.error, 0);
    T_ASSERT_EQ_INT(resp.topic_count, 0);
    req = (struct proto_offset_fetch_request){ .group = S(""), .topics_all = true };
    T_ASSERT_OK(group_offset_fetch(e->c, &req, &e->arena, &resp));
    T_ASSERT_EQ_INT(resp.error, RILL_ERR_INVALID_GROUP_ID);
    T_ASSERT_EQ_INT(resp.topic_count, 0);
    env_free(e);
}

/* One-partition reset; returns the group-level error, *perr and *off the partition's. */
static int32_t reset_one(struct env *e,
                         const char *group,
                         const char *topic,
                         int32_t p,
                         int64_t offset,
                         bool validate,
                         int32_t *perr,
                         int64_t *off)
{
    proto_arena_reset(&e->arena);
    struct proto_reset_partition part = { .partition = p, .offset = offset };
    struct proto_reset_topic t = { .name = S(topic), .partitions = &part, .partition_count = 1 };
    struct proto_reset_offsets_request req = {
        .group = S(group), .topics = &t, .topic_count = 1, .validate_only = validate
    };
    struct proto_reset_offsets_response resp;
    uint32_t appended = 0;
    T_ASSERT_OK(group_reset_offsets(e->c, e->wall, &req, &e->gs, &e->arena, &resp, &appended));
    if (resp.error != 0) {
        T_ASSERT_EQ_INT(resp.topic_count, 0);
        return resp.error;
    }
    T_ASSERT_EQ_INT(resp.topic_count, 1);
    T_ASSERT_EQ_INT(resp.topics[0].partition_count, 1);
    *perr = resp.topics[0].partitions[0].error;
    *off = resp.topics[0].partitions[0].offset;
    return 0;
}

static void t_reset_offsets(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 2, 10, 90);
    int32_t perr = 0;
    int64_t off = 0;
    /* A new group is created at the chosen offset. */
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, 20, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(off, 20);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, NULL, 0), 20);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, PROTO_RESET_OFFSETS_EARLIEST, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(off, 10);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, NULL, 0), 10);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, PROTO_RESET_OFFSETS_LATEST, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(off, 90);
    /* Backwards is allowed here. */
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, 15, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, NULL, 0), 15);
    /* validate_only resolves but changes nothing. */
    int before = e->sink.n;
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, PROTO_RESET_OFFSETS_LATEST, true, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(off, 90);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, NULL, 0), 15);
    T_ASSERT_EQ_INT(e->sink.n, before);
    T_ASSERT_EQ_INT(reset_one(e, "new", "t", 0, 20, true, &perr, &off), 0);
    T_ASSERT_EQ_INT(describe(e, "new").error, RILL_ERR_UNKNOWN_GROUP);
    /* Out of range, unknown topic / partition. */
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, 9, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(off, 15);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, 91, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, -4, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(reset_one(e, "g", "x", 0, 20, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 2, 20, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_UNKNOWN_PARTITION);
    /* Delete: a tombstone; the metadata of a reset offset is nil. */
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 1, 30, false, &perr, &off), 0);
    T_ASSERT(e->sink.recs[e->sink.n - 1].meta_nil);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, PROTO_RESET_OFFSETS_DELETE, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(off, -1);
    T_ASSERT_EQ_INT(e->sink.recs[e->sink.n - 1].offset, -1);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, NULL, 0), -1);
    /* Not while the group has members. */
    struct sim a;
    sim_init(&a, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 1, 10, false, &perr, &off), RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 1, NULL, 0), 30);
    T_ASSERT_EQ_INT(reset_one(e, "g!", "t", 1, 10, false, &perr, &off), RILL_ERR_INVALID_GROUP_ID);
    env_free(e);
}

static void t_delete_groups(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 2, 0, 100);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(commit_as(e, "empty", "", -1, "t", 0, 1, NULL, &perr), 0);
    T_ASSERT_EQ_INT(commit_as(e, "empty", "", -1, "t", 1, 2, NULL, &perr), 0);
    struct sim a;
    sim_init(&a, "busy", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    proto_arena_reset(&e->arena);
    struct proto_str ids[4] = { S("empty"), S("busy"), S("none"), S(".") };
    struct proto_delete_groups_request req = { .groups = ids, .group_count = 4 };
    struct proto_topic_results resp;
    uint32_t appended = 0;
    int before = e->sink.n;
    T_ASSERT_OK(group_delete(e->c, &req, &e->gs, &e->arena, &resp, &appended));
    T_ASSERT_EQ_INT(resp.result_count, 4);
    T_ASSERT_EQ_INT(resp.results[0].error, 0);
    T_ASSERT_EQ_INT(resp.results[1].error, RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT_EQ_INT(resp.results[2].error, RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(resp.results[3].error, RILL_ERR_INVALID_GROUP_ID);
    T_ASSERT(str_is(resp.results[0].name, "empty"));
    T_ASSERT_EQ_INT(appended, 2);
    T_ASSERT_EQ_INT(e->sink.n, before + 2);
    T_ASSERT_EQ_INT(e->sink.recs[before].offset, -1);
    T_ASSERT(strcmp(e->sink.recs[before].group, "empty") == 0);
    T_ASSERT_EQ_INT(describe(e, "empty").error, RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(fetch_one(e, "empty", "t", 0, NULL, 0), -1);
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.groups, 1);
    T_ASSERT_EQ_INT(st.offsets, 0);
    env_free(e);
}

static void t_list_describe(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 4, 0, 100);
    ft_set(&e->ft, "u", 2, 0, 100);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(commit_as(e, "c-empty", "", -1, "t", 0, 1, NULL, &perr), 0);
    struct sim a, b, s;
    sim_init(&a, "b-rebal", "t");
    sim_init(&b, "b-rebal", "t");
    sim_init(&s, "a-stable", "t");
    s.topics[1] = "u";
    s.ntopics = 2;
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(sim_join(e, &s), 0);
    proto_arena_reset(&e->arena);
    struct proto_list_groups_request lreq = { .states_all = true };
    struct proto_list_groups_response lresp;
    T_ASSERT_OK(group_list(e->c, &lreq, &e->arena, &lresp));
    T_ASSERT_EQ_INT(lresp.group_count, 3);
    T_ASSERT(str_is(lresp.groups[0].group, "a-stable"));
    T_ASSERT(str_is(lresp.groups[0].state, "stable"));
    T_ASSERT_EQ_INT(lresp.groups[0].member_count, 1);
    T_ASSERT(str_is(lresp.groups[1].group, "b-rebal"));
    T_ASSERT(str_is(lresp.groups[1].state, "rebalancing"));
    T_ASSERT_EQ_INT(lresp.groups[1].member_count, 2);
    T_ASSERT(str_is(lresp.groups[2].group, "c-empty"));
    T_ASSERT(str_is(lresp.groups[2].state, "empty"));
    proto_arena_reset(&e->arena);
    struct proto_str states[2] = { S("empty"), S("stable") };
    lreq = (struct proto_list_groups_request){ .states = states, .state_count = 2 };
    T_ASSERT_OK(group_list(e->c, &lreq, &e->arena, &lresp));
    T_ASSERT_EQ_INT(lresp.group_count, 2);
    T_ASSERT(str_is(lresp.groups[0].group, "a-stable"));
    T_ASSERT(str_is(lresp.groups[1].group, "c-empty"));
    /* Describe: request order, errors, sorted lists across topics. */
    proto_arena_reset(&e->arena);
    struct proto_str ids[4] = { S("c-empty"), S("nope"), S("a-stable"), S("") };
    struct proto_describe_groups_request dreq = { .groups = ids, .group_count = 4 };
    struct proto_describe_groups_response dresp;
    T_ASSERT_OK(group_describe(e->c, &dreq, &e->arena, &dresp));
    T_ASSERT_EQ_INT(dresp.group_count, 4);
    T_ASSERT(str_is(dresp.groups[0].state, "empty"));
    T_ASSERT_EQ_INT(dresp.groups[0].strategy.bytes, 0);
    T_ASSERT_EQ_INT(dresp.groups[0].member_count, 0);
    T_ASSERT_EQ_INT(dresp.groups[1].error, RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(dresp.groups[1].generation, -1);
    T_ASSERT_EQ_INT(dresp.groups[1].state.bytes, 0);
    T_ASSERT_EQ_INT(dresp.groups[3].error, RILL_ERR_INVALID_GROUP_ID);
    const struct proto_group_description *d = &dresp.groups[2];
    T_ASSERT(str_is(d->state, "stable"));
    T_ASSERT_EQ_INT(d->generation, s.gen);
    T_ASSERT_EQ_INT(d->member_count, 1);
    const struct proto_group_member *m = &d->members[0];
    T_ASSERT(str_is(m->member_id, s.id));
    T_ASSERT_EQ_INT(m->generation, s.gen);
    T_ASSERT_EQ_INT(m->session_timeout_ms, 10000);
    T_ASSERT_EQ_INT(m->rebalance_timeout_ms, -1);
    T_ASSERT_EQ_INT(m->assignment_count, 2);
    T_ASSERT(str_is(m->assignment[0].topic, "t"));
    T_ASSERT_EQ_INT(m->assignment[0].partition_count, 4);
    T_ASSERT(str_is(m->assignment[1].topic, "u"));
    T_ASSERT_EQ_INT(m->revoking_count, 0);
    T_ASSERT(!m->topics_nil);
    /* The rebalancing group's revoking list, once told. */
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    struct proto_group_description rd = describe(e, "b-rebal");
    T_ASSERT(str_is(rd.state, "rebalancing"));
    T_ASSERT_EQ_INT(check_holders(e, "b-rebal"), 4);
    /* Pattern members describe with topics nil. */
    struct sim p;
    sim_init(&p, "d-pattern", NULL);
    p.pattern = "t|u";
    T_ASSERT_EQ_INT(sim_join(e, &p), 0);
    T_ASSERT_EQ_INT(p.nassigned, 6);
    struct proto_group_description pd = describe(e, "d-pattern");
    T_ASSERT(pd.members[0].topics_nil);
    T_ASSERT(str_is(pd.members[0].pattern, "t|u"));
    env_free(e);
}

static void t_session_expiry(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 4, 0, 100);
    struct sim a, b;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    b.session_ms = 5000;
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    struct sim *all[2] = { &a, &b };
    settle(e, all, 2);
    T_ASSERT_EQ_INT(b.nassigned, 2);
    uint32_t appended = 0;
    int64_t next = group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(next, e->mono + 5000);
    /* A keeps heartbeating, B goes silent. */
    e->mono += 4000;
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), 0);
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(describe(e, "g").member_count, 2);
    e->mono += 1000;
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(appended, 0);
    T_ASSERT_EQ_INT(describe(e, "g").member_count, 1);
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.expirations, 1);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), RILL_ERR_UNKNOWN_MEMBER_ID);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 4);
    env_free(e);
}

static void t_rebalance_timeout(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 4, 0, 100);
    struct sim a, b;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    a.rebalance_ms = 3000;
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    /* A is told to rejoin and keeps heartbeating without doing so. */
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    uint32_t appended = 0;
    for (int i = 0; i < 2; i++) {
        e->mono += 1000;
        T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
        T_ASSERT_EQ_INT(sim_heartbeat(e, &b), 0);
        (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
        T_ASSERT_EQ_INT(describe(e, "g").member_count, 2);
    }
    e->mono += 1000;
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), 0);
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(describe(e, "g").member_count, 1);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_UNKNOWN_MEMBER_ID);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(b.nassigned, 4);
    /* A non-empty revoke list also starts the clock (default: the session timeout). */
    struct sim c;
    sim_init(&c, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &c), 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(b.nrevoke, 2);
    e->mono += 9999;
    T_ASSERT_EQ_INT(sim_heartbeat(e, &c), 0);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), RILL_ERR_REBALANCE_IN_PROGRESS);
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(describe(e, "g").member_count, 2);
    e->mono += 1;
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(describe(e, "g").member_count, 1);
    env_free(e);
}

/* The tick skips its scan until the earliest deadline, and every call that sets an earlier
 * deadline (a join with a shorter session, a rebalance timeout started by a heartbeat, a group
 * becoming empty) brings it forward. */
static void t_tick_deadlines(void)
{
    struct group_config cfg = default_config();
    cfg.retention_ms = 50000;
    struct env *e = env_new_cfg(cfg);
    ft_set(&e->ft, "t", 2, 0, 100);
    struct sim a, b;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    a.session_ms = 30000;
    a.rebalance_ms = 2000;
    b.session_ms = 1000;
    uint32_t appended = 0;
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    int64_t next = group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(next, e->mono + 30000);
    T_ASSERT_EQ_INT(group_coord_tick(e->c, e->mono + 10, e->wall, &e->gs, &appended), next);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    e->mono += 1000;
    next = group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(describe(e, "g").member_count, 1); /* b expired */
    T_ASSERT_EQ_INT(next, e->mono - 1000 + 30000);
    sim_init(&b, "g", "t");
    b.session_ms = 60000;
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended), e->mono + 29000);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended), e->mono + 2000);
    e->mono += 2000;
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_UNKNOWN_MEMBER_ID);
    /* b commits and leaves: the empty group's retention is the next deadline. */
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(sim_commit(e, &b, "t", 0, 5, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(sim_leave(e, &b), 0);
    next = group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(next, e->mono + 50000);
    T_ASSERT_EQ_INT(group_coord_tick(e->c, e->mono + 49999, e->wall + 49999, &e->gs, &appended),
                    next);
    T_ASSERT_EQ_INT(appended, 0);
    T_ASSERT_EQ_INT(group_coord_tick(e->c, e->mono + 50000, e->wall + 50000, &e->gs, &appended),
                    INT64_MAX);
    T_ASSERT_EQ_INT(appended, 1);
    /* A manual commit creates an empty group: the next tick scans again. */
    e->mono += 50000;
    e->wall += 50000;
    T_ASSERT_EQ_INT(commit_as(e, "n", "", -1, "t", 1, 3, NULL, &perr), 0);
    T_ASSERT_EQ_INT(group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended), e->mono + 50000);
    env_free(e);
}

static void t_group_retention(void)
{
    struct group_config cfg = default_config();
    cfg.retention_ms = 60000;
    struct env *e = env_new_cfg(cfg);
    ft_set(&e->ft, "t", 2, 0, 100);
    /* A group whose members all left without committing disappears at once. */
    struct sim a;
    sim_init(&a, "nocommit", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(sim_leave(e, &a), 0);
    T_ASSERT_EQ_INT(describe(e, "nocommit").error, RILL_ERR_UNKNOWN_GROUP);
    /* One with commits stays retention_ms after the later of its last commit and emptiness. */
    sim_init(&a, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", 0, 5, &perr), 0);
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", 1, 6, &perr), 0);
    e->mono += 30000;
    e->wall += 30000;
    T_ASSERT_EQ_INT(sim_leave(e, &a), 0);
    uint32_t appended = 0;
    e->mono += 40000;
    e->wall += 40000; /* commit 70 s ago, empty for 40 s */
    int64_t next = group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(appended, 0);
    T_ASSERT_EQ_INT(next, e->mono + 20000);
    T_ASSERT(str_is(describe(e, "g").state, "empty"));
    /* A sink failure keeps the group for a later tick. */
    e->mono += 20000;
    e->wall += 20000;
    e->sink.fail = RILL_ERR_OFFLINE;
    next = group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(appended, 0);
    T_ASSERT_EQ_INT(next, e->mono + 1); /* retried at the next tick */
    T_ASSERT_EQ_INT(describe(e, "g").error, 0);
    e->sink.fail = RILL_OK;
    int before = e->sink.n;
    e->mono += 100;
    next = group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(appended, 2);
    T_ASSERT_EQ_INT(next, INT64_MAX);
    T_ASSERT_EQ_INT(e->sink.n, before + 2);
    T_ASSERT_EQ_INT(e->sink.recs[before].offset, -1);
    T_ASSERT_EQ_INT(e->sink.recs[before + 1].offset, -1);
    T_ASSERT_EQ_INT(describe(e, "g").error, RILL_ERR_UNKNOWN_GROUP);
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.groups, 0);
    T_ASSERT_EQ_INT(st.offsets, 0);
    /* Loaded groups count their emptiness from the first tick. */
    struct group_offset_record rec = { .group = S("old"),
                                       .topic = S("t"),
                                       .partition = 0,
                                       .offset = 3,
                                       .commit_wall_ms = e->wall - 1000000 };
    T_ASSERT_OK(group_coord_load(e->c, &rec));
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(describe(e, "old").error, 0);
    e->mono += 60000;
    e->wall += 60000;
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    T_ASSERT_EQ_INT(appended, 1);
    T_ASSERT_EQ_INT(describe(e, "old").error, RILL_ERR_UNKNOWN_GROUP);
    env_free(e);
}

static void t_pattern_topics_changed(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "ev1", 2, 0, 100);
    ft_set(&e->ft, "__ev9", 2, 0, 100);
    ft_set(&e->ft, "xev1", 2, 0, 100);
    struct sim a, b;
    sim_init(&a, "g", NULL);
    sim_init(&b, "g", NULL);
    a.pattern = "ev[0-9]+";
    b.pattern = "ev[0-9]+";
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 2); /* not __ev9, not xev1 */
    T_ASSERT(sim_holds(&a, "ev1", 0) && sim_holds(&a, "ev1", 1));
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    struct sim *all[2] = { &a, &b };
    settle(e, all, 2);
    T_ASSERT_EQ_INT(a.nassigned + b.nassigned, 2);
    /* A new matching topic. */
    ft_set(&e->ft, "ev2", 4, 0, 100);
    ft_set(&e->ft, "__ev2", 4, 0, 100);
    group_coord_topics_changed(e->c, e->mono);
    settle(e, all, 2);
    T_ASSERT_EQ_INT(a.nassigned, 3);
    T_ASSERT_EQ_INT(b.nassigned, 3);
    T_ASSERT_EQ_INT(check_holders(e, "g"), 6);
    /* A partition count change. */
    ft_set(&e->ft, "ev2", 6, 0, 100);
    group_coord_topics_changed(e->c, e->mono);
    settle(e, all, 2);
    T_ASSERT_EQ_INT(a.nassigned + b.nassigned, 8);
    /* A deleted topic: its partitions are revoked. */
    ft_del(&e->ft, "ev1");
    group_coord_topics_changed(e->c, e->mono);
    settle(e, all, 2);
    T_ASSERT_EQ_INT(a.nassigned, 3);
    T_ASSERT_EQ_INT(b.nassigned, 3);
    for (int p = 0; p < 2; p++) {
        T_ASSERT(!sim_holds(&a, "ev1", p) && !sim_holds(&b, "ev1", p));
    }
    T_ASSERT_EQ_INT(check_holders(e, "g"), 6);
    /* Nothing changed: no rebalance. */
    struct group_coord_stats st0, st1;
    group_coord_stats(e->c, &st0);
    group_coord_topics_changed(e->c, e->mono);
    group_coord_stats(e->c, &st1);
    T_ASSERT_EQ_INT(st1.rebalances, st0.rebalances);
    /* Subscription by name to a topic created later. */
    struct sim n;
    sim_init(&n, "named", "later");
    T_ASSERT_EQ_INT(sim_join(e, &n), 0);
    T_ASSERT_EQ_INT(n.nassigned, 0);
    ft_set(&e->ft, "later", 3, 0, 100);
    group_coord_topics_changed(e->c, e->mono);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &n), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &n), 0);
    T_ASSERT_EQ_INT(n.nassigned, 3);
    env_free(e);
}

static void t_strategies(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 4, 0, 100);
    struct sim a, b, c;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    sim_init(&c, "g", "t");
    a.strategies[0] = "roundrobin";
    a.strategies[1] = "range";
    a.nstrat = 2;
    b.strategies[0] = "range";
    b.strategies[1] = "bogus";
    b.strategies[2] = "roundrobin";
    b.nstrat = 3;
    c.strategies[0] = "sticky";
    c.nstrat = 1;
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT(strcmp(a.strategy, "roundrobin") == 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT(strcmp(b.strategy, "roundrobin") == 0); /* the longest-standing member's first */
    T_ASSERT_EQ_INT(sim_join(e, &c), RILL_ERR_INCONSISTENT_STRATEGY);
    T_ASSERT_EQ_INT(describe(e, "g").member_count, 2);
    /* B may not drop the shared strategy on a rejoin either... */
    struct sim b2 = b;
    b2.strategies[0] = "sticky";
    b2.nstrat = 1;
    T_ASSERT_EQ_INT(sim_join(e, &b2), RILL_ERR_INCONSISTENT_STRATEGY);
    /* ...but A leaving makes B the eldest: its first choice wins. */
    T_ASSERT_EQ_INT(sim_leave(e, &a), 0);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &b), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT(strcmp(b.strategy, "range") == 0);
    T_ASSERT(str_is(describe(e, "g").strategy, "range"));
    /* A strategy change on rejoin recomputes. */
    b.strategies[0] = "sticky";
    b.nstrat = 1;
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT(strcmp(b.strategy, "sticky") == 0);
    T_ASSERT_EQ_INT(sim_join(e, &c), 0);
    env_free(e);
}

static void t_bounds(void)
{
    struct group_config cfg = default_config();
    cfg.members_max = 2;
    cfg.groups_max = 2;
    cfg.offsets_max = 3;
    struct env *e = env_new_cfg(cfg);
    ft_set(&e->ft, "t", 4, 0, 100);
    struct sim a, b, c, d, f;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    sim_init(&c, "g", "t");
    sim_init(&d, "h", "t");
    sim_init(&f, "i", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(sim_join(e, &c), RILL_ERR_FULL);
    T_ASSERT_EQ_INT(sim_join(e, &d), 0);
    T_ASSERT_EQ_INT(sim_join(e, &f), RILL_ERR_FULL);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(commit_as(e, "i", "", -1, "t", 0, 1, NULL, &perr), RILL_ERR_FULL);
    /* Offsets: three over all groups; a replacement is fine. */
    T_ASSERT_EQ_INT(sim_commit(e, &d, "t", 0, 1, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(sim_commit(e, &d, "t", 1, 1, &perr), 0);
    T_ASSERT_EQ_INT(sim_commit(e, &d, "t", 2, 1, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    T_ASSERT_EQ_INT(sim_commit(e, &d, "t", 3, 1, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_FULL);
    T_ASSERT_EQ_INT(sim_commit(e, &d, "t", 2, 2, &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    struct group_offset_record rec = {
        .group = S("h"), .topic = S("t"), .partition = 3, .offset = 1
    };
    T_ASSERT_EQ_INT(group_coord_load(e->c, &rec), RILL_ERR_FULL);
    rec.group = S("z");
    rec.partition = 0;
    T_ASSERT_EQ_INT(group_coord_load(e->c, &rec), RILL_ERR_FULL); /* groups_max */
    /* A member leaving frees its slot. */
    T_ASSERT_EQ_INT(sim_leave(e, &a), 0);
    memset(c.id, 0, sizeof(c.id));
    T_ASSERT_EQ_INT(sim_join(e, &c), 0);
    /* A bad config. */
    struct group_coord *bad = NULL;
    struct group_topics topics = {
        .ctx = &e->ft, .partitions = ft_partitions, .each = ft_each, .bounds = ft_bounds
    };
    cfg.members_max = 0;
    T_ASSERT_EQ_INT(group_coord_create(&cfg, &topics, &bad), RILL_ERR_INVALID);
    cfg = default_config();
    cfg.session_timeout_min_ms = 5000;
    cfg.session_timeout_max_ms = 1000;
    T_ASSERT_EQ_INT(group_coord_create(&cfg, &topics, &bad), RILL_ERR_INVALID);
    env_free(e);
}

static void t_sink_failure(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 2, 0, 100);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(commit_as(e, "g", "", -1, "t", 0, 10, "a", &perr), 0);
    e->sink.fail = RILL_ERR_OFFLINE;
    /* Commit: reported per partition, nothing applied. */
    T_ASSERT_EQ_INT(commit_as(e, "g", "", -1, "t", 0, 20, "b", &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFLINE);
    T_ASSERT_EQ_INT(commit_as(e, "g", "", -1, "t", 1, 20, "b", &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFLINE);
    char meta[64];
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, meta, sizeof(meta)), 10);
    T_ASSERT(strcmp(meta, "a") == 0);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 1, NULL, 0), -1);
    /* A manual commit to a new group that fails leaves no group. */
    T_ASSERT_EQ_INT(commit_as(e, "new", "", -1, "t", 1, 20, NULL, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFLINE);
    T_ASSERT_EQ_INT(describe(e, "new").error, RILL_ERR_UNKNOWN_GROUP);
    /* Reset (set and delete). */
    int64_t off = 0;
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, 5, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFLINE);
    T_ASSERT_EQ_INT(off, 10);
    T_ASSERT_EQ_INT(reset_one(e, "g", "t", 0, PROTO_RESET_OFFSETS_DELETE, false, &perr, &off), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFLINE);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, NULL, 0), 10);
    /* Delete. */
    proto_arena_reset(&e->arena);
    struct proto_str ids[1] = { S("g") };
    struct proto_delete_groups_request req = { .groups = ids, .group_count = 1 };
    struct proto_topic_results resp;
    uint32_t appended = 0;
    T_ASSERT_OK(group_delete(e->c, &req, &e->gs, &e->arena, &resp, &appended));
    T_ASSERT_EQ_INT(resp.results[0].error, RILL_ERR_OFFLINE);
    T_ASSERT_EQ_INT(appended, 0);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, NULL, 0), 10);
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.offsets, 1);
    T_ASSERT_EQ_INT(st.groups, 1);
    env_free(e);
}

static void t_load_replay(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 3, 0, 100);
    struct group_offset_record rec = { .group = S("g"),
                                       .topic = S("t"),
                                       .partition = 0,
                                       .offset = 5,
                                       .metadata = S("m"),
                                       .commit_wall_ms = 1 };
    T_ASSERT_OK(group_coord_load(e->c, &rec));
    rec.offset = 3; /* a later record wins, even lower (a reset) */
    rec.metadata = (struct proto_str){ 0 };
    T_ASSERT_OK(group_coord_load(e->c, &rec));
    rec.partition = 1;
    rec.offset = 9;
    T_ASSERT_OK(group_coord_load(e->c, &rec));
    rec.partition = 2;
    rec.offset = 11;
    T_ASSERT_OK(group_coord_load(e->c, &rec));
    rec.offset = -1;
    T_ASSERT_OK(group_coord_load(e->c, &rec));
    rec.topic = S("unknown-topic");
    T_ASSERT_OK(group_coord_load(e->c, &rec)); /* a tombstone for nothing */
    char meta[64];
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 0, meta, sizeof(meta)), 3);
    T_ASSERT(strcmp(meta, "(nil)") == 0);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 1, NULL, 0), 9);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 2, NULL, 0), -1);
    /* Offsets of a topic that is gone still load and list. */
    struct group_offset_record gone = {
        .group = S("g"), .topic = S("gone"), .partition = 4, .offset = 8
    };
    T_ASSERT_OK(group_coord_load(e->c, &gone));
    /* A group whose offsets are all tombstoned disappears. */
    struct group_offset_record h = {
        .group = S("h"), .topic = S("t"), .partition = 0, .offset = 1
    };
    T_ASSERT_OK(group_coord_load(e->c, &h));
    h.offset = -1;
    T_ASSERT_OK(group_coord_load(e->c, &h));
    T_ASSERT_EQ_INT(describe(e, "h").error, RILL_ERR_UNKNOWN_GROUP);
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.groups, 1);
    T_ASSERT_EQ_INT(st.offsets, 3);
    /* Bad records are refused. */
    struct group_offset_record bad = rec;
    bad.group = S("bad group");
    T_ASSERT_EQ_INT(group_coord_load(e->c, &bad), RILL_ERR_INVALID);
    bad = rec;
    bad.offset = -2;
    T_ASSERT_EQ_INT(group_coord_load(e->c, &bad), RILL_ERR_INVALID);
    /* Members join a loaded group and read its offsets. */
    struct sim a;
    sim_init(&a, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 3);
    T_ASSERT_EQ_INT(fetch_one(e, "g", "t", 1, NULL, 0), 9);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(sim_commit(e, &a, "t", 1, 8, &perr), 0);
    T_ASSERT_EQ_INT(perr, RILL_ERR_OFFSET_REGRESSION);
    env_free(e);
}

/* A partition told to be revoked and then given back by the target before the member rejoined:
 * the member is still asked to rejoin, and gets it back in an assignment. */
static void t_revoked_given_back(void)
{
    struct env *e = env_new();
    ft_set(&e->ft, "t", 4, 0, 100);
    struct sim a, b;
    sim_init(&a, "g", "t");
    sim_init(&b, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nrevoke, 2);
    T_ASSERT_EQ_INT(sim_leave(e, &b), 0); /* the target gives everything back to A */
    struct proto_group_description d = describe(e, "g");
    T_ASSERT(str_is(d.state, "rebalancing"));
    T_ASSERT_EQ_INT(d.members[0].revoking_count, 1);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 4);
    T_ASSERT_EQ_INT(a.nrevoke, 0);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), 0);
    T_ASSERT(str_is(describe(e, "g").state, "stable"));
    /* A client that still lists the revoked partitions in owned keeps them without a gap. */
    sim_init(&b, "g", "t");
    T_ASSERT_EQ_INT(sim_join(e, &b), 0);
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nrevoke, 2);
    struct tpk keep[2];
    memcpy(keep, a.revoke, sizeof(keep));
    T_ASSERT_EQ_INT(sim_leave(e, &b), 0);
    memcpy(&a.assigned[a.nassigned], keep, sizeof(keep));
    a.nassigned += 2;
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    T_ASSERT_EQ_INT(a.nassigned, 4);
    T_ASSERT_EQ_INT(sim_heartbeat(e, &a), 0);
    env_free(e);
}

/* Many topic names come and go: the interned names are swept by tick and everything that
 * still refers to a name keeps working. */
static void t_names_churn(void)
{
    struct env *e = env_new();
    struct sim a;
    sim_init(&a, "g", NULL);
    a.pattern = "n[0-9]+";
    a.session_ms = 300000;
    T_ASSERT_EQ_INT(sim_join(e, &a), 0);
    ft_set(&e->ft, "keep", 2, 0, 100);
    int32_t perr = 0;
    T_ASSERT_EQ_INT(commit_as(e, "other", "", -1, "keep", 1, 33, "k", &perr), 0);
    T_ASSERT_EQ_INT(perr, 0);
    char prev[16] = "";
    for (int i = 0; i < 1500; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        if (prev[0] != '\0') {
            ft_del(&e->ft, prev);
        }
        ft_set(&e->ft, name, 1 + i % 3, 0, 100);
        group_coord_topics_changed(e->c, e->mono);
        T_ASSERT_EQ_INT(sim_heartbeat(e, &a), RILL_ERR_REBALANCE_IN_PROGRESS);
        T_ASSERT_EQ_INT(sim_join(e, &a), 0);
        if (a.nrevoke > 0) {
            T_ASSERT_EQ_INT(sim_join(e, &a), 0);
        }
        T_ASSERT_EQ_INT(a.nassigned, 1 + i % 3);
        T_ASSERT(strcmp(a.assigned[0].topic, name) == 0);
        if (i % 7 == 0) {
            T_ASSERT_EQ_INT(sim_commit(e, &a, name, 0, 5, &perr), 0);
            T_ASSERT_EQ_INT(perr, 0);
        }
        uint32_t appended = 0;
        (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
        snprintf(prev, sizeof(prev), "%s", name);
    }
    char meta[16];
    T_ASSERT_EQ_INT(fetch_one(e, "other", "keep", 1, meta, sizeof(meta)), 33);
    T_ASSERT(strcmp(meta, "k") == 0);
    proto_arena_reset(&e->arena);
    struct proto_offset_fetch_request req = { .group = S("g"), .topics_all = true };
    struct proto_offset_fetch_response resp;
    T_ASSERT_OK(group_offset_fetch(e->c, &req, &e->arena, &resp));
    T_ASSERT_EQ_INT(resp.topic_count, (1500 + 6) / 7);
    T_ASSERT(str_is(resp.topics[0].name, "n0"));
    T_ASSERT(str_is(resp.topics[1].name, "n1001")); /* bytewise order */
    env_free(e);
}

/* The hash tables against a plain reference, with many deletions (backward shift). */
static void t_gmap_random(void)
{
    uint64_t st = T_SEED ^ 0x9a9;
    enum { KEYS = 3000 };
    static void *ref[KEYS];
    static char names[KEYS][12];
    struct gmap_u64 um = { 0 };
    struct gmap_str sm;
    gmap_str_init(&sm, 42);
    for (int i = 0; i < KEYS; i++) {
        snprintf(names[i], sizeof(names[i]), "k%d", i);
    }
    for (int round = 0; round < 200000; round++) {
        int k = (int)(t_rand(&st) % KEYS);
        uint64_t key = ((uint64_t)(k % 37 + 1) << 32) | (uint64_t)(k / 37);
        uint32_t nb = (uint32_t)strlen(names[k]);
        void *val = (void *)(uintptr_t)(round + 1);
        switch (t_rand(&st) % 3) {
        case 0:
            T_ASSERT_OK(gmap_u64_put(&um, key, val));
            if (ref[k] != NULL) {
                T_ASSERT(gmap_str_del(&sm, names[k], nb) == ref[k]);
            }
            T_ASSERT_OK(gmap_str_put(&sm, names[k], nb, val));
            ref[k] = val;
            break;
        case 1:
            T_ASSERT(gmap_u64_del(&um, key) == ref[k]);
            T_ASSERT(gmap_str_del(&sm, names[k], nb) == ref[k]);
            ref[k] = NULL;
            break;
        default:
            T_ASSERT(gmap_u64_get(&um, key) == ref[k]);
            T_ASSERT(gmap_str_get(&sm, names[k], nb) == ref[k]);
            break;
        }
    }
    uint32_t live = 0;
    for (int k = 0; k < KEYS; k++) {
        uint64_t key = ((uint64_t)(k % 37 + 1) << 32) | (uint64_t)(k / 37);
        T_ASSERT(gmap_u64_get(&um, key) == ref[k]);
        T_ASSERT(gmap_str_get(&sm, names[k], (uint32_t)strlen(names[k])) == ref[k]);
        live += ref[k] != NULL;
    }
    T_ASSERT_EQ_INT(um.count, live);
    T_ASSERT_EQ_INT(sm.count, live);
    gmap_u64_clear(&um);
    T_ASSERT(gmap_u64_get(&um, 1ull << 32) == NULL);
    T_ASSERT_EQ_INT(um.count, 0);
    gmap_u64_free(&um);
    gmap_str_free(&sm);
}
/* ---------------------------------------------------------------------------------------- */
/* Codec                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void t_codec_roundtrip(void)
{
    uint8_t key[GROUP_RECORD_KEY_BYTES_MAX], val[GROUP_RECORD_VALUE_BYTES_MAX];
    struct group_offset_record rec = { .group = S("my.group-1"),
                                       .topic = S("orders"),
                                       .partition = 7,
                                       .offset = 123456789012LL,
                                       .metadata = S("meta"),
                                       .commit_wall_ms = 1700000000123LL };
    size_t kb = group_record_key_encode(&rec, key, sizeof(key));
    size_t vb = group_record_value_encode(&rec, val, sizeof(val));
    T_ASSERT(kb > 0 && vb > 0);
    struct group_offset_record out;
    T_ASSERT_OK(group_record_decode(key, kb, val, vb, &out));
    T_ASSERT(str_is(out.group, "my.group-1"));
    T_ASSERT(str_is(out.topic, "orders"));
    T_ASSERT_EQ_INT(out.partition, 7);
    T_ASSERT_EQ_INT(out.offset, 123456789012LL);
    T_ASSERT(str_is(out.metadata, "meta"));
    T_ASSERT_EQ_INT(out.commit_wall_ms, 1700000000123LL);
    /* nil metadata, internal topic names, maximal sizes. */
    char gid[PROTO_GROUP_ID_BYTES_MAX + 1], meta[PROTO_COMMIT_METADATA_BYTES_MAX + 1],
        topic[RILL_TOPIC_NAME_BYTES_MAX + 1];
    memset(gid, 'g', PROTO_GROUP_ID_BYTES_MAX);
    gid[PROTO_GROUP_ID_BYTES_MAX] = '\0';
    memset(meta, 'm', PROTO_COMMIT_METADATA_BYTES_MAX);
    meta[PROTO_COMMIT_METADATA_BYTES_MAX] = '\0';
    memset(topic, 't', RILL_TOPIC_NAME_BYTES_MAX);
    topic[0] = topic[1] = '_';
    topic[RILL_TOPIC_NAME_BYTES_MAX] = '\0';
    rec = (struct group_offset_record){ .group = S(gid),
                                        .topic = S(topic),
                                        .partition = RILL_PARTITIONS_MAX - 1,
                                        .offset = 0,
                                        .metadata = S(meta),
                                        .commit_wall_ms = 0 };
    kb = group_record_key_encode(&rec, key, sizeof(key));
    vb = group_record_value_encode(&rec, val, sizeof(val));
    T_ASSERT(kb > 0 && vb > 0);
    T_ASSERT_OK(group_record_decode(key, kb, val, vb, &out));
    T_ASSERT_EQ_INT(out.metadata.bytes, PROTO_COMMIT_METADATA_BYTES_MAX);
    T_ASSERT_EQ_INT(out.topic.bytes, RILL_TOPIC_NAME_BYTES_MAX);
    rec.metadata = (struct proto_str){ 0 };
    vb = group_record_value_encode(&rec, val, sizeof(val));
    T_ASSERT_OK(group_record_decode(key, kb, val, vb, &out));
    T_ASSERT(out.metadata.ptr == NULL);
    /* Too small a buffer: 0. */
    T_ASSERT_EQ_INT(group_record_key_encode(&rec, key, 10), 0);
    /* Tombstone: no value; decode of a null value. */
    rec.offset = -1;
    T_ASSERT_EQ_INT(group_record_value_encode(&rec, val, sizeof(val)), 0);
    T_ASSERT_OK(group_record_decode(key, kb, NULL, 0, &out));
    T_ASSERT_EQ_INT(out.offset, -1);
    T_ASSERT(out.metadata.ptr == NULL);
    T_ASSERT_EQ_INT(out.partition, RILL_PARTITIONS_MAX - 1);
}

static void t_codec_hostile(void)
{
    uint8_t key[GROUP_RECORD_KEY_BYTES_MAX], val[GROUP_RECORD_VALUE_BYTES_MAX];
    struct group_offset_record rec = { .group = S("g"),
                                       .topic = S("t"),
                                       .partition = 1,
                                       .offset = 5,
                                       .metadata = S("x"),
                                       .commit_wall_ms = 9 };
    size_t kb = group_record_key_encode(&rec, key, sizeof(key));
    size_t vb = group_record_value_encode(&rec, val, sizeof(val));
    struct group_offset_record out;
    /* Every truncation of key or value. */
    for (size_t n = 0; n < kb; n++) {
        T_ASSERT_EQ_INT(group_record_decode(key, n, val, vb, &out), RILL_ERR_CORRUPT);
    }
    for (size_t n = 0; n < vb; n++) {
        T_ASSERT_EQ_INT(group_record_decode(key, kb, val, n, &out), RILL_ERR_CORRUPT);
    }
    T_ASSERT_EQ_INT(group_record_decode(NULL, 0, val, vb, &out), RILL_ERR_CORRUPT);
    T_ASSERT_EQ_INT(group_record_decode(key, kb, NULL, 3, &out), RILL_ERR_CORRUPT);
    /* Trailing bytes. */
    uint8_t longer[GROUP_RECORD_KEY_BYTES_MAX + 1];
    memcpy(longer, key, kb);
    longer[kb] = 0xc0;
    T_ASSERT_EQ_INT(group_record_decode(longer, kb + 1, val, vb, &out), RILL_ERR_CORRUPT);
    /* Oversized inputs. */
    static uint8_t huge[GROUP_RECORD_VALUE_BYTES_MAX + 16];
    memset(huge, 0xc0, sizeof(huge));
    T_ASSERT_EQ_INT(group_record_decode(key, kb, huge, sizeof(huge), &out), RILL_ERR_CORRUPT);
    T_ASSERT_EQ_INT(group_record_decode(huge, GROUP_RECORD_KEY_BYTES_MAX + 1, val, vb, &out),
                    RILL_ERR_CORRUPT);
    /* Wrong version, bad names, bad ranges, wrong types (hand-made msgpack). */
    static const uint8_t v2[] = { 0x94, 0x02, 0xa1, 'g', 0xa1, 't', 0x01 };
    static const uint8_t badgroup[] = { 0x94, 0x01, 0xa1, '/', 0xa1, 't', 0x01 };
    static const uint8_t emptytopic[] = { 0x94, 0x01, 0xa1, 'g', 0xa0, 0x01 };
    static const uint8_t negpart[] = { 0x94, 0x01, 0xa1, 'g', 0xa1, 't', 0xff };
    static const uint8_t fivefields[] = { 0x95, 0x01, 0xa1, 'g', 0xa1, 't', 0x01, 0x01 };
    static const uint8_t inttopic[] = { 0x94, 0x01, 0xa1, 'g', 0x05, 0x01 };
    static const uint8_t goodkey[] = { 0x94, 0x01, 0xa1, 'g', 0xa1, 't', 0x01 };
    static const uint8_t negoff[] = { 0x93, 0xff, 0xc0, 0x00 };
    static const uint8_t twofields[] = { 0x92, 0x01, 0xc0 };
    static const uint8_t nilvalue[] = { 0xc0 };
    static const uint8_t binmeta[] = { 0x93, 0x01, 0xc4, 0x01, 'x', 0x00 };
    static const uint8_t extra[] = { 0x94, 0x01, 0xc0, 0x00, 0x91, 0x07 };
    const uint8_t *bad_keys[] = { v2, badgroup, emptytopic, negpart, fivefields, inttopic };
    size_t bad_key_bytes[] = { sizeof(v2),      sizeof(badgroup),   sizeof(emptytopic),
                               sizeof(negpart), sizeof(fivefields), sizeof(inttopic) };
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        T_ASSERT_EQ_INT(group_record_decode(bad_keys[i], bad_key_bytes[i], val, vb, &out),
                        RILL_ERR_CORRUPT);
    }
    T_ASSERT_OK(group_record_decode(goodkey, sizeof(goodkey), val, vb, &out));
    T_ASSERT_EQ_INT(group_record_decode(goodkey, sizeof(goodkey), negoff, sizeof(negoff), &out),
                    RILL_ERR_CORRUPT);
    T_ASSERT_EQ_INT(
        group_record_decode(goodkey, sizeof(goodkey), twofields, sizeof(twofields), &out),
        RILL_ERR_CORRUPT);
    T_ASSERT_EQ_INT(group_record_decode(goodkey, sizeof(goodkey), nilvalue, sizeof(nilvalue), &out),
                    RILL_ERR_CORRUPT);
    T_ASSERT_EQ_INT(group_record_decode(goodkey, sizeof(goodkey), binmeta, sizeof(binmeta), &out),
                    RILL_ERR_CORRUPT);
    /* A later version's extra value fields are skipped. */
    T_ASSERT_OK(group_record_decode(goodkey, sizeof(goodkey), extra, sizeof(extra), &out));
    T_ASSERT_EQ_INT(out.offset, 1);
    /* Random garbage never crashes and rarely decodes. */
    uint64_t st = T_SEED;
    uint8_t junk[64];
    for (int round = 0; round < 20000; round++) {
        size_t n = t_rand(&st) % sizeof(junk);
        for (size_t i = 0; i < n; i++) {
            junk[i] = (uint8_t)t_rand(&st);
        }
        if (group_record_decode(junk, n, junk, n / 2, &out) == RILL_OK) {
            T_ASSERT(out.offset >= -1);
        }
        if (group_record_decode(goodkey, sizeof(goodkey), junk, n, &out) == RILL_OK) {
            T_ASSERT(out.offset >= 0);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Randomized property test                                                                 */
/* ---------------------------------------------------------------------------------------- */

#define PROP_MEMBERS 5

struct owner_map {
    char owner[8][8][300]; /* [topic][partition] -> member id */
};

/* Every partition of the topics t0..t3 that exist held by exactly one member. */
static void check_full_assignment(struct env *e, struct sim **sims, int n)
{
    int expected = 0;
    for (int t = 0; t < 4; t++) {
        char name[8];
        snprintf(name, sizeof(name), "t%d", t);
        struct ftopic *ft = ft_find(&e->ft, name, 2);
        if (ft == NULL) {
            continue;
        }
        expected += ft->parts;
        for (int p = 0; p < ft->parts; p++) {
            int holders = 0;
            for (int i = 0; i < n; i++) {
                holders += sim_holds(sims[i], name, p);
            }
            if (holders != 1) {
                struct proto_group_description d = describe(e, "g");
                fprintf(stderr, "%s/%d holders %d; state %.*s members %u\n", name, p, holders,
                        (int)d.state.bytes, d.state.ptr, d.member_count);
                for (uint32_t m = 0; m < d.member_count; m++) {
                    fprintf(stderr, " member %.*s:", (int)d.members[m].member_id.bytes,
                            d.members[m].member_id.ptr);
                    for (uint32_t q = 0; q < d.members[m].assignment_count; q++) {
                        for (uint32_t j = 0; j < d.members[m].assignment[q].partition_count; j++) {
                            fprintf(stderr, " %.*s/%d", (int)d.members[m].assignment[q].topic.bytes,
                                    d.members[m].assignment[q].topic.ptr,
                                    d.members[m].assignment[q].partitions[j]);
                        }
                    }
                    fprintf(stderr, "\n");
                }
                for (int k = 0; k < n; k++) {
                    fprintf(stderr, " sim %s gen %d:", sims[k]->id, sims[k]->gen);
                    for (int q = 0; q < sims[k]->nassigned; q++) {
                        fprintf(stderr, " %s/%d", sims[k]->assigned[q].topic,
                                sims[k]->assigned[q].p);
                    }
                    fprintf(stderr, "\n");
                }
            }
            T_ASSERT_EQ_INT(holders, 1);
        }
    }
    int total = 0;
    for (int i = 0; i < n; i++) {
        total += sims[i]->nassigned;
    }
    T_ASSERT_EQ_INT(total, expected);
    T_ASSERT_EQ_INT(check_holders(e, "g"), expected);
    T_ASSERT(str_is(describe(e, "g").state, "stable"));
}

static void record_owners(struct sim **sims, int n, struct owner_map *om)
{
    memset(om, 0, sizeof(*om));
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < sims[i]->nassigned; k++) {
            int t = sims[i]->assigned[k].topic[1] - '0';
            snprintf(om->owner[t][sims[i]->assigned[k].p], sizeof(om->owner[0][0]), "%s",
                     sims[i]->id);
        }
    }
}

static void t_property_random(void)
{
    uint64_t st = T_SEED ^ 0x5eed;
    static const char *const strategies[] = { "sticky", "range", "roundrobin", "sticky" };
    for (int run = 0; run < 4; run++) {
        struct env *e = env_new();
        ft_set(&e->ft, "t0", 3, 0, 100);
        ft_set(&e->ft, "t1", 5, 0, 100);
        struct sim pool[PROP_MEMBERS];
        bool active[PROP_MEMBERS] = { false };
        bool sticky = strcmp(strategies[run], "sticky") == 0;
        for (int i = 0; i < PROP_MEMBERS; i++) {
            sim_init(&pool[i], "g", NULL);
            pool[i].pattern = "t[0-9]";
            pool[i].session_ms = 5000;
            pool[i].strategies[0] = strategies[run];
        }
        for (int round = 0; round < 200; round++) {
            int i = (int)(t_rand(&st) % PROP_MEMBERS);
            struct sim *s = &pool[i];
            switch (t_rand(&st) % 9) {
            case 0: /* join or rejoin */
                if (!active[i]) {
                    memset(s->id, 0, sizeof(s->id));
                    s->nassigned = 0;
                }
                if (sim_join(e, s) == 0) {
                    active[i] = true;
                }
                break;
            case 1: /* leave */
                if (active[i]) {
                    int32_t err = sim_leave(e, s);
                    T_ASSERT(err == 0 || err == RILL_ERR_UNKNOWN_MEMBER_ID); /* expired */
                    active[i] = false;
                    s->nassigned = 0;
                }
                break;
            case 2:
            case 3: /* heartbeat, reacting as a client does */
                if (active[i]) {
                    int32_t hb = sim_heartbeat(e, s);
                    if (hb == RILL_ERR_UNKNOWN_MEMBER_ID) {
                        active[i] = false;
                        s->nassigned = 0;
                    } else if (hb != 0 && sim_join(e, s) == 0 && s->nrevoke > 0 &&
                               t_rand(&st) % 2) {
                        (void)sim_join(e, s);
                    }
                }
                break;
            case 4: /* time passes */
                e->mono += (int64_t)(t_rand(&st) % 3000);
                {
                    uint32_t appended = 0;
                    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
                }
                break;
            case 5: { /* topics change */
                char name[8];
                snprintf(name, sizeof(name), "t%d", (int)(t_rand(&st) % 4));
                if (ft_find(&e->ft, name, 2) != NULL && t_rand(&st) % 3 == 0) {
                    ft_del(&e->ft, name);
                } else {
                    ft_set(&e->ft, name, 1 + (int32_t)(t_rand(&st) % 6), 0, 100);
                }
                group_coord_topics_changed(e->c, e->mono);
                break;
            }
            case 6: /* a commit of something it thinks it holds */
                if (active[i] && s->nassigned > 0) {
                    int32_t perr = 0;
                    const struct tpk *tp = &s->assigned[t_rand(&st) % (uint64_t)s->nassigned];
                    int32_t err = sim_commit(e, s, tp->topic, tp->p, 1, &perr);
                    T_ASSERT(err == 0 || err == RILL_ERR_STALE_GENERATION ||
                             err == RILL_ERR_UNKNOWN_MEMBER_ID);
                }
                break;
            default: /* release everything it was told to give up */
                if (active[i] && s->nrevoke > 0) {
                    (void)sim_join(e, s);
                }
                break;
            }
            if (describe(e, "g").error == 0) {
                check_holders(e, "g");
            }
        }
        /* Everybody alive follows the protocol until quiet. */
        struct sim *alive[PROP_MEMBERS + 1];
        int n = 0;
        for (int i = 0; i < PROP_MEMBERS; i++) {
            if (active[i] && sim_heartbeat(e, &pool[i]) != RILL_ERR_UNKNOWN_MEMBER_ID) {
                alive[n++] = &pool[i];
            }
        }
        if (n == 0) {
            memset(pool[0].id, 0, sizeof(pool[0].id));
            pool[0].nassigned = 0;
            T_ASSERT_EQ_INT(sim_join(e, &pool[0]), 0);
            alive[n++] = &pool[0];
        }
        settle(e, alive, n);
        check_full_assignment(e, alive, n);
        /* Sticky: a new member joins; no partition moves between members that stayed. */
        static struct owner_map before, after;
        record_owners(alive, n, &before);
        struct sim extra;
        sim_init(&extra, "g", NULL);
        extra.pattern = "t[0-9]";
        extra.strategies[0] = strategies[run];
        T_ASSERT_EQ_INT(sim_join(e, &extra), 0);
        alive[n++] = &extra;
        settle(e, alive, n);
        check_full_assignment(e, alive, n);
        record_owners(alive, n, &after);
        for (int t = 0; sticky && t < 8; t++) {
            for (int p = 0; p < 8; p++) {
                if (after.owner[t][p][0] != '\0' && strcmp(after.owner[t][p], extra.id) != 0) {
                    T_ASSERT(strcmp(after.owner[t][p], before.owner[t][p]) == 0);
                }
            }
        }
        /* Then the eldest leaves: only its partitions move. */
        char gone[300];
        snprintf(gone, sizeof(gone), "%s", alive[0]->id);
        T_ASSERT_EQ_INT(sim_leave(e, alive[0]), 0);
        settle(e, alive + 1, n - 1);
        check_full_assignment(e, alive + 1, n - 1);
        record_owners(alive + 1, n - 1, &before);
        for (int t = 0; sticky && t < 8; t++) {
            for (int p = 0; p < 8; p++) {
                if (after.owner[t][p][0] != '\0' && strcmp(after.owner[t][p], gone) != 0) {
                    T_ASSERT(strcmp(after.owner[t][p], before.owner[t][p]) == 0);
                }
            }
        }
        env_free(e);
    }
}

/* A group of 1,000 members joining, settling and committing stays fast enough to run here. The
 * topic appears once everybody is in, so that nobody holds more than a few partitions. */
static void t_many_members(void)
{
    struct env *e = env_new();
    static struct sim sims[1000];
    static struct sim *all[1000];
    for (int i = 0; i < 1000; i++) {
        sim_init(&sims[i], "g", "big");
        sims[i].session_ms = 300000;
        all[i] = &sims[i];
        T_ASSERT_EQ_INT(sim_join(e, &sims[i]), 0);
    }
    ft_set(&e->ft, "big", 2000, 0, 100);
    group_coord_topics_changed(e->c, e->mono);
    for (int round = 0; round < 6; round++) {
        bool quiet = true;
        for (int i = 0; i < 1000; i++) {
            int32_t hb = sim_heartbeat(e, &sims[i]);
            if (hb != 0) {
                quiet = false;
                T_ASSERT_EQ_INT(sim_join(e, &sims[i]), 0);
                if (sims[i].nrevoke > 0) {
                    T_ASSERT_EQ_INT(sim_join(e, &sims[i]), 0);
                }
            }
        }
        if (quiet) {
            break;
        }
    }
    for (int i = 0; i < 1000; i++) {
        T_ASSERT_EQ_INT(sims[i].nassigned, 2);
        int32_t perr = 0;
        T_ASSERT_EQ_INT(sim_commit(e, &sims[i], "big", sims[i].assigned[0].p, 5, &perr), 0);
        T_ASSERT_EQ_INT(perr, 0);
    }
    T_ASSERT_EQ_INT(check_holders(e, "g"), 2000);
    (void)all;
    env_free(e);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* Outside sanitizer builds the test binary replaces malloc, calloc and realloc (glibc lets a
 * program do so; free stays glibc's, which the __libc_* allocations belong to), so that one
 * chosen allocation fails. Only allocations called from this executable's own code count
 * (the coordinator is linked in statically): glibc's regcomp does not survive a failed
 * allocation of its own (it frees a work area twice), which is not what is tested here. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
extern void *__libc_malloc(size_t bytes);
extern void *__libc_calloc(size_t count, size_t bytes);
extern void *__libc_realloc(void *ptr, size_t bytes);
extern void __libc_free(void *ptr);

extern char __executable_start, etext;

static long t_alloc_countdown = -1; /* >= 0: allocations that succeed before one fails */
static long t_alloc_failed;         /* failures injected */
static long t_alloc_live;           /* allocations not freed yet (leak check) */

static bool t_alloc_fail_now(const void *caller)
{
    if (t_alloc_countdown < 0 || (const char *)caller < &__executable_start ||
        (const char *)caller >= &etext) {
        return false;
    }
    if (t_alloc_countdown == 0) {
        t_alloc_countdown = -1;
        t_alloc_failed++;
        return true;
    }
    t_alloc_countdown--;
    return false;
}

void *malloc(size_t bytes)
{
    void *p = t_alloc_fail_now(__builtin_return_address(0)) ? NULL : __libc_malloc(bytes);
    t_alloc_live += p != NULL;
    return p;
}

void *calloc(size_t count, size_t bytes)
{
    void *p = t_alloc_fail_now(__builtin_return_address(0)) ? NULL : __libc_calloc(count, bytes);
    t_alloc_live += p != NULL;
    return p;
}

void *realloc(void *ptr, size_t bytes)
{
    if (t_alloc_fail_now(__builtin_return_address(0))) {
        return NULL;
    }
    void *p = __libc_realloc(ptr, bytes);
    if (ptr == NULL) {
        t_alloc_live += p != NULL;
    } else if (bytes == 0) {
        t_alloc_live--; /* glibc frees it */
    }
    return p;
}

void free(void *ptr)
{
    t_alloc_live -= ptr != NULL;
    __libc_free(ptr);
}

#define T_CALL_OK(expr)                                        \
    do {                                                       \
        rill_err t_rc_ = (expr);                               \
        T_ASSERT(t_rc_ == RILL_OK || t_rc_ == RILL_ERR_NOMEM); \
    } while (0)

/* One pass over every request kind; any call may fail with RILL_ERR_NOMEM. */
static void nomem_scenario(struct env *e)
{
    struct proto_str topics[2] = { S("t"), S("u") }, strategies[1] = { S("sticky") };
    struct proto_join_group_request jq = { .group = S("g"),
                                           .member_id = S(""),
                                           .client_id = S("c"),
                                           .session_timeout_ms = 10000,
                                           .rebalance_timeout_ms = -1,
                                           .strategies = strategies,
                                           .strategy_count = 1,
                                           .topics = topics,
                                           .topic_count = 2 };
    struct proto_join_group_response jr;
    char ida[300] = "", idb[300] = "";
    int32_t gena = -1;
    int32_t owned_parts[16];
    struct proto_topic_partitions owned[2];
    uint32_t owned_topics = 0;
    proto_arena_reset(&e->arena);
    rill_err err = group_join(e->c, e->mono, "h:1", &jq, &e->arena, &jr);
    T_ASSERT(err == RILL_OK || err == RILL_ERR_NOMEM);
    if (err == RILL_OK && jr.error == 0) {
        snprintf(ida, sizeof(ida), "%.*s", (int)jr.member_id.bytes, jr.member_id.ptr);
        gena = jr.generation;
    }
    jq.topics = NULL;
    jq.topic_count = 0;
    jq.topics_nil = true;
    jq.pattern = S("t|u|v");
    proto_arena_reset(&e->arena);
    err = group_join(e->c, e->mono, "h:2", &jq, &e->arena, &jr);
    T_ASSERT(err == RILL_OK || err == RILL_ERR_NOMEM);
    if (err == RILL_OK && jr.error == 0) {
        snprintf(idb, sizeof(idb), "%.*s", (int)jr.member_id.bytes, jr.member_id.ptr);
    }
    /* A rejoins with what it holds. */
    struct proto_heartbeat_request hq = { .group = S("g"),
                                          .member_id = S(ida),
                                          .generation = gena };
    struct proto_group_error_response er;
    T_CALL_OK(group_heartbeat(e->c, e->mono, &hq, &er));
    jq = (struct proto_join_group_request){ .group = S("g"),
                                            .member_id = S(ida),
                                            .client_id = S("c2"),
                                            .session_timeout_ms = 10000,
                                            .rebalance_timeout_ms = -1,
                                            .strategies = strategies,
                                            .strategy_count = 1,
                                            .topics = topics,
                                            .topic_count = 2 };
    proto_arena_reset(&e->arena);
    err = group_join(e->c, e->mono, "h:1", &jq, &e->arena, &jr);
    T_ASSERT(err == RILL_OK || err == RILL_ERR_NOMEM);
    if (err == RILL_OK && jr.error == 0) {
        gena = jr.generation;
        uint32_t k = 0;
        for (uint32_t i = 0; i < jr.assignment_count && owned_topics < 2; i++) {
            owned[owned_topics] = (struct proto_topic_partitions){ .topic = jr.assignment[i].topic,
                                                                   .partitions = &owned_parts[k] };
            for (uint32_t j = 0; j < jr.assignment[i].partition_count && k < 16; j++) {
                owned_parts[k++] = jr.assignment[i].partitions[j];
                owned[owned_topics].partition_count++;
            }
            owned_topics++;
        }
    }
    /* A commits its first partition, then releases its revoked ones. */
    if (owned_topics > 0 && owned[0].partition_count > 0) {
        int32_t perr = 0;
        char tname[64];
        snprintf(tname, sizeof(tname), "%.*s", (int)owned[0].topic.bytes, owned[0].topic.ptr);
        struct proto_commit_partition cp = { .partition = owned_parts[0],
                                             .offset = 5,
                                             .metadata = S("m") };
        struct proto_commit_topic ct = { .name = S(tname),
                                         .partitions = &cp,
                                         .partition_count = 1 };
        struct proto_offset_commit_request cq = { .group = S("g"),
                                                  .member_id = S(ida),
                                                  .generation = gena,
                                                  .topics = &ct,
                                                  .topic_count = 1 };
        struct proto_offset_commit_response cr;
        uint32_t appended = 0;
        proto_arena_reset(&e->arena);
        T_CALL_OK(
            group_offset_commit(e->c, e->mono, e->wall, &cq, &e->gs, &e->arena, &cr, &appended));
        (void)perr;
        jq.owned = owned;
        jq.owned_count = owned_topics;
        char copy[2][64];
        for (uint32_t i = 0; i < owned_topics; i++) {
            snprintf(copy[i], sizeof(copy[i]), "%.*s", (int)owned[i].topic.bytes,
                     owned[i].topic.ptr);
            owned[i].topic = S(copy[i]);
        }
        proto_arena_reset(&e->arena);
        T_CALL_OK(group_join(e->c, e->mono, "h:1", &jq, &e->arena, &jr));
    }
    /* Manual commit, reset, load, fetch, list, describe. */
    struct proto_commit_partition mp = { .partition = 1, .offset = 7 };
    struct proto_commit_topic mt = { .name = S("t"), .partitions = &mp, .partition_count = 1 };
    struct proto_offset_commit_request mq = {
        .group = S("m"), .member_id = S(""), .generation = -1, .topics = &mt, .topic_count = 1
    };
    struct proto_offset_commit_response mr;
    uint32_t appended = 0;
    proto_arena_reset(&e->arena);
    T_CALL_OK(group_offset_commit(e->c, e->mono, e->wall, &mq, &e->gs, &e->arena, &mr, &appended));
    struct proto_reset_partition rp = { .partition = 0, .offset = PROTO_RESET_OFFSETS_LATEST };
    struct proto_reset_topic rt = { .name = S("u"), .partitions = &rp, .partition_count = 1 };
    struct proto_reset_offsets_request rq = { .group = S("r"), .topics = &rt, .topic_count = 1 };
    struct proto_reset_offsets_response rr;
    proto_arena_reset(&e->arena);
    T_CALL_OK(group_reset_offsets(e->c, e->wall, &rq, &e->gs, &e->arena, &rr, &appended));
    struct group_offset_record lr = {
        .group = S("l"), .topic = S("gone"), .partition = 2, .offset = 4, .metadata = S("x")
    };
    rill_err lerr = group_coord_load(e->c, &lr);
    T_ASSERT(lerr == RILL_OK || lerr == RILL_ERR_NOMEM);
    struct proto_offset_fetch_request fq = { .group = S("g"), .topics_all = true };
    struct proto_offset_fetch_response fr;
    proto_arena_reset(&e->arena);
    T_CALL_OK(group_offset_fetch(e->c, &fq, &e->arena, &fr));
    struct proto_list_groups_request lq = { .states_all = true };
    struct proto_list_groups_response lsr;
    proto_arena_reset(&e->arena);
    T_CALL_OK(group_list(e->c, &lq, &e->arena, &lsr));
    struct proto_str ids[3] = { S("g"), S("m"), S("r") };
    struct proto_describe_groups_request dq = { .groups = ids, .group_count = 3 };
    struct proto_describe_groups_response dr;
    proto_arena_reset(&e->arena);
    T_CALL_OK(group_describe(e->c, &dq, &e->arena, &dr));
    /* A topic appears; time passes; m is deleted; B leaves. */
    ft_set(&e->ft, "v", 3, 0, 100);
    group_coord_topics_changed(e->c, e->mono);
    (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
    struct proto_delete_groups_request xq = { .groups = &ids[1], .group_count = 1 };
    struct proto_topic_results xr;
    proto_arena_reset(&e->arena);
    T_CALL_OK(group_delete(e->c, &xq, &e->gs, &e->arena, &xr, &appended));
    struct proto_leave_group_request vq = { .group = S("g"), .member_id = S(idb) };
    T_CALL_OK(group_leave(e->c, e->mono, &vq, &er));
}

/* Totals of the stats agree with what LIST, DESCRIBE and OFFSET_FETCH show. */
static void nomem_check_consistent(struct env *e)
{
    proto_arena_reset(&e->arena);
    struct proto_list_groups_request lq = { .states_all = true };
    struct proto_list_groups_response lr;
    T_ASSERT_OK(group_list(e->c, &lq, &e->arena, &lr));
    char names[8][16];
    uint32_t n = lr.group_count;
    T_ASSERT(n <= 8);
    uint64_t members = 0;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "%.*s", (int)lr.groups[i].group.bytes,
                 lr.groups[i].group.ptr);
        members += (uint64_t)lr.groups[i].member_count;
    }
    uint64_t offsets = 0;
    for (uint32_t i = 0; i < n; i++) {
        check_holders(e, names[i]);
        proto_arena_reset(&e->arena);
        struct proto_offset_fetch_request fq = { .group = S(names[i]), .topics_all = true };
        struct proto_offset_fetch_response fr;
        T_ASSERT_OK(group_offset_fetch(e->c, &fq, &e->arena, &fr));
        for (uint32_t t = 0; t < fr.topic_count; t++) {
            offsets += fr.topics[t].partition_count;
        }
    }
    struct group_coord_stats st;
    group_coord_stats(e->c, &st);
    T_ASSERT_EQ_INT(st.groups, n);
    T_ASSERT_EQ_INT(st.members, members);
    T_ASSERT_EQ_INT(st.offsets, offsets);
}

static void t_allocation_failures(void)
{
    diag_set_level(DIAG_LEVEL_ERROR); /* the failed target computations warn */
    long k = 0;
    for (; k < 20000; k++) {
        long live_before = t_alloc_live;
        struct env *e = env_new();
        ft_set(&e->ft, "t", 6, 0, 100);
        ft_set(&e->ft, "u", 2, 0, 100);
        t_alloc_failed = 0;
        t_alloc_countdown = k;
        nomem_scenario(e);
        t_alloc_countdown = -1;
        bool injected = t_alloc_failed > 0;
        nomem_check_consistent(e);
        /* Everything still works: members expire, groups expire, a new member gets it all. */
        uint32_t appended = 0;
        e->mono += 1000000;
        e->wall += 1000000000000LL;
        (void)group_coord_tick(e->c, e->mono, e->wall, &e->gs, &appended);
        (void)group_coord_tick(e->c, e->mono + 604800000, e->wall, &e->gs, &appended);
        struct group_coord_stats st;
        group_coord_stats(e->c, &st);
        T_ASSERT_EQ_INT(st.groups, 0);
        T_ASSERT_EQ_INT(st.members, 0);
        T_ASSERT_EQ_INT(st.offsets, 0);
        struct sim a;
        sim_init(&a, "g", NULL);
        a.pattern = "t|u|v";
        T_ASSERT_EQ_INT(sim_join(e, &a), 0);
        T_ASSERT_EQ_INT(a.nassigned, 11);
        T_ASSERT(str_is(describe(e, "g").state, "stable"));
        env_free(e);
        if (t_alloc_live != live_before) {
            T_FAIL("allocation %ld failing leaks %ld blocks", k, t_alloc_live - live_before);
        }
        if (!injected) {
            break; /* the scenario ran through without reaching allocation k */
        }
    }
    T_ASSERT(k > 50 && k < 20000);
}
#else
static void t_allocation_failures(void)
{
    T_SKIP("allocation failure injection replaces malloc, which the sanitizer owns");
}
#endif

int main(int argc, char **argv)
{
    static const struct t_case cases[] = {
        T_CASE(t_first_join),         T_CASE(t_join_errors),     T_CASE(t_handover_three_members),
        T_CASE(t_stale_generation),   T_CASE(t_commit_rules),    T_CASE(t_manual_commit),
        T_CASE(t_offset_fetch),       T_CASE(t_reset_offsets),   T_CASE(t_delete_groups),
        T_CASE(t_list_describe),      T_CASE(t_session_expiry),  T_CASE(t_rebalance_timeout),
        T_CASE(t_group_retention),    T_CASE(t_tick_deadlines),  T_CASE(t_pattern_topics_changed),
        T_CASE(t_strategies),         T_CASE(t_bounds),          T_CASE(t_sink_failure),
        T_CASE(t_load_replay),        T_CASE(t_codec_roundtrip), T_CASE(t_codec_hostile),
        T_CASE(t_revoked_given_back), T_CASE(t_names_churn),     T_CASE(t_gmap_random),
        T_CASE(t_property_random),    T_CASE(t_many_members),    T_CASE(t_allocation_failures),
    };
    return t_run(argc, argv, cases, T_COUNT(cases));
}
