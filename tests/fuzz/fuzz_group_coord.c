/*
 * fuzz_group_coord.c - the input is a program for the group coordinator: each step is an
 * opcode byte and a few argument bytes driving JOIN_GROUP, HEARTBEAT, LEAVE_GROUP,
 * OFFSET_COMMIT (member and manual), OFFSET_FETCH, RESET_OFFSETS, DELETE_GROUPS,
 * LIST_GROUPS, DESCRIBE_GROUPS, replayed records, time passing and topics changing, over four
 * member slots, two groups and four topics, with a sink that sometimes refuses.
 *
 * After every step the invariants are checked: no partition held by two members, the
 * assignment lists sorted, and the stats agreeing with LIST_GROUPS, DESCRIBE_GROUPS and
 * OFFSET_FETCH. Any call may only fail as group.h allows.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/group.h"

#define SLOTS  4
#define TOPICS 4

struct world {
    int32_t parts[TOPICS]; /* -1: the topic does not exist */
    int64_t end;           /* high watermark of every partition */
    struct group_coord *coord;
    struct proto_arena arena;
    bool sink_fails;
    int64_t mono, wall;
    char ids[SLOTS][300];
    int32_t gens[SLOTS];
    const char *slot_group[SLOTS];
    /* owned: what each slot's last successful join assigned */
    int32_t owned_parts[SLOTS][TOPICS][16];
    uint32_t owned_count[SLOTS][TOPICS];
};

static const char *const topic_names[TOPICS] = { "a", "b", "c", "__d" };
static const char *const group_names[2] = { "g", "h" };

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_group_coord: %s\n", what);
    abort();
}

static struct proto_str S(const char *s) {
    return (struct proto_str){ s, (uint32_t)strlen(s) };
}

static int
topic_index(const char *name, uint32_t bytes)
{
    for (int t = 0; t < TOPICS; t++) {
        if (strlen(topic_names[t]) == bytes && memcmp(topic_names[t], name, bytes) == 0) {
            return t;
        }
    }
    return -1;
}

static int32_t w_partitions(void *ctx, const char *name, uint32_t bytes)
{
    struct world *w = ctx;
    int t = topic_index(name, bytes);
    return t >= 0 ? w->parts[t] : -1;
}

static void w_each(void *ctx,
                   void (*fn)(void *arg, const char *name, uint32_t bytes, int32_t partitions),
                   void *arg)
{
    struct world *w = ctx;
    for (int t = 0; t < TOPICS; t++) {
        if (w->parts[t] >= 0) {
            fn(arg, topic_names[t], (uint32_t)strlen(topic_names[t]), w->parts[t]);
        }
    }
}

static rill_err w_bounds(
    void *ctx, const char *name, uint32_t bytes, int32_t partition, int64_t *start, int64_t *end)
{
    struct world *w = ctx;
    int t = topic_index(name, bytes);
    if (t < 0 || w->parts[t] < 0) {
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    if (partition < 0 || partition >= w->parts[t]) {
        return RILL_ERR_UNKNOWN_PARTITION;
    }
    *start = 2;
    *end = w->end;
    return RILL_OK;
}

static rill_err w_append(void *ctx, const struct group_offset_record *record)
{
    struct world *w = ctx;
    if (record->group.ptr == NULL || record->topic.ptr == NULL || record->offset < -1) {
        fuzz_fail("a malformed record reached the sink");
    }
    return w->sink_fails ? RILL_ERR_OFFLINE : RILL_OK;
}

static void check_call(rill_err err)
{
    if (err != RILL_OK && err != RILL_ERR_NOMEM) {
        fuzz_fail("a call failed with an error group.h does not allow");
    }
}

static bool str_less(struct proto_str a, struct proto_str b)
{
    int r = memcmp(a.ptr, b.ptr, a.bytes < b.bytes ? a.bytes : b.bytes);
    return r < 0 || (r == 0 && a.bytes < b.bytes);
}

/* Sorted lists, no partition held twice; returns the members described. */
static uint32_t check_group(struct world *w, const char *group, uint64_t *offsets)
{
    proto_arena_reset(&w->arena);
    struct proto_str id = S(group);
    struct proto_describe_groups_request dq = { .groups = &id, .group_count = 1 };
    struct proto_describe_groups_response dr;
    check_call(group_describe(w->coord, &dq, &w->arena, &dr));
    const struct proto_group_description *d = &dr.groups[0];
    uint8_t seen[TOPICS][64] = { { 0 } };
    for (uint32_t m = 0; m < d->member_count; m++) {
        const struct proto_group_member *mem = &d->members[m];
        for (uint32_t i = 0; i < mem->assignment_count; i++) {
            const struct proto_topic_partitions *tp = &mem->assignment[i];
            if (i > 0 && !str_less(mem->assignment[i - 1].topic, tp->topic)) {
                fuzz_fail("assignment topics out of order");
            }
            int t = topic_index(tp->topic.ptr, tp->topic.bytes);
            for (uint32_t j = 0; j < tp->partition_count; j++) {
                int32_t p = tp->partitions[j];
                if ((j > 0 && tp->partitions[j - 1] >= p) || t < 0 || p < 0 || p >= 64) {
                    fuzz_fail("bad assignment list");
                }
                if (seen[t][p]++) {
                    fuzz_fail("a partition has two holders");
                }
            }
        }
    }
    uint32_t members = d->member_count;
    proto_arena_reset(&w->arena);
    struct proto_offset_fetch_request fq = { .group = id, .topics_all = true };
    struct proto_offset_fetch_response fr;
    check_call(group_offset_fetch(w->coord, &fq, &w->arena, &fr));
    for (uint32_t t = 0; t < fr.topic_count; t++) {
        *offsets += fr.topics[t].partition_count;
    }
    return members;
}

static void check_world(struct world *w)
{
    uint64_t offsets = 0, members = 0, groups = 0;
    for (int g = 0; g < 2; g++) {
        members += check_group(w, group_names[g], &offsets);
    }
    proto_arena_reset(&w->arena);
    struct proto_list_groups_request lq = { .states_all = true };
    struct proto_list_groups_response lr;
    check_call(group_list(w->coord, &lq, &w->arena, &lr));
    groups = lr.group_count;
    struct group_coord_stats st;
    group_coord_stats(w->coord, &st);
    if (st.groups != groups || st.members != members || st.offsets != offsets) {
        fuzz_fail("stats disagree with list, describe and fetch");
    }
}

static void do_join(struct world *w, int s, uint8_t a, uint8_t b)
{
    static const char *const strategy_sets[4][2] = {
        { "sticky", "range" }, { "range", "roundrobin" }, { "roundrobin", NULL }, { "nope", NULL }
    };
    struct proto_str strategies[2];
    uint32_t nstrat = 0;
    for (int i = 0; i < 2; i++) {
        if (strategy_sets[a % 4][i] != NULL) {
            strategies[nstrat++] = S(strategy_sets[a % 4][i]);
        }
    }
    struct proto_str topics[TOPICS];
    uint32_t ntopics = 0;
    for (int t = 0; t < TOPICS; t++) {
        if (b & (1u << t)) {
            topics[ntopics++] = S(topic_names[t]);
        }
    }
    struct proto_topic_partitions owned[TOPICS];
    uint32_t nowned = 0;
    for (int t = 0; t < TOPICS; t++) {
        if (w->owned_count[s][t] > 0 && !(b & (0x10u << t))) {
            owned[nowned++] =
                (struct proto_topic_partitions){ .topic = S(topic_names[t]),
                                                 .partitions = w->owned_parts[s][t],
                                                 .partition_count = w->owned_count[s][t] };
        }
    }
    bool pattern = (a & 0x10) != 0;
    struct proto_join_group_request req = {
        .group = S(w->slot_group[s]),
        .member_id = S((a & 0x20) ? "" : w->ids[s]),
        .client_id = S("fuzz"),
        .session_timeout_ms = (a & 0x40) ? 999 : 5000,
        .rebalance_timeout_ms = (a & 0x80) ? 2000 : -1,
        .strategies = strategies,
        .strategy_count = nstrat,
        .topics = pattern ? NULL : topics,
        .topic_count = pattern ? 0 : ntopics,
        .topics_nil = pattern,
        .pattern = pattern ? S((b & 1) ? "[a-c]" : "a|(b") : (struct proto_str){ 0 },
        .owned = nowned > 0 ? owned : NULL,
        .owned_count = nowned,
    };
    proto_arena_reset(&w->arena);
    struct proto_join_group_response resp;
    rill_err err = group_join(w->coord, w->mono, "10.0.0.1:1", &req, &w->arena, &resp);
    check_call(err);
    if (err != RILL_OK || resp.error != RILL_OK) {
        return;
    }
    snprintf(w->ids[s], sizeof(w->ids[s]), "%.*s", (int)resp.member_id.bytes, resp.member_id.ptr);
    w->gens[s] = resp.generation;
    memset(w->owned_count[s], 0, sizeof(w->owned_count[s]));
    for (uint32_t i = 0; i < resp.assignment_count; i++) {
        int t = topic_index(resp.assignment[i].topic.ptr, resp.assignment[i].topic.bytes);
        for (uint32_t j = 0; t >= 0 && j < resp.assignment[i].partition_count; j++) {
            if (w->owned_count[s][t] < 16) {
                w->owned_parts[s][t][w->owned_count[s][t]++] = resp.assignment[i].partitions[j];
            }
        }
    }
}

static void do_commit(struct world *w, int s, uint8_t a, uint8_t b)
{
    bool manual = (a & 0x80) != 0;
    struct proto_commit_partition part = { .partition = (int32_t)(b & 0x0f) - 1,
                                           .offset = (int64_t)(a & 0x3f) - 2,
                                           .metadata =
                                               (b & 0x10) ? S("md") : (struct proto_str){ 0 } };
    struct proto_commit_topic topic = { .name = S(topic_names[(b >> 5) % TOPICS]),
                                        .partitions = &part,
                                        .partition_count = 1 };
    struct proto_offset_commit_request req = { .group = S(w->slot_group[s]),
                                               .member_id = S(manual ? "" : w->ids[s]),
                                               .generation =
                                                   manual ? -1 : w->gens[s] - ((a >> 6) & 1),
                                               .topics = &topic,
                                               .topic_count = 1 };
    struct proto_offset_commit_response resp;
    uint32_t appended = 0;
    struct group_sink sink = { .ctx = w, .append = w_append };
    proto_arena_reset(&w->arena);
    check_call(
        group_offset_commit(w->coord, w->mono, w->wall, &req, &sink, &w->arena, &resp, &appended));
}

static void do_reset(struct world *w, uint8_t a, uint8_t b)
{
    struct proto_reset_partition part = { .partition = (int32_t)(b & 0x0f) - 1,
                                          .offset = (int64_t)(a & 0x1f) - 4 };
    struct proto_reset_topic topic = { .name = S(topic_names[(b >> 5) % TOPICS]),
                                       .partitions = &part,
                                       .partition_count = 1 };
    struct proto_reset_offsets_request req = { .group = S(group_names[(a >> 5) & 1]),
                                               .topics = &topic,
                                               .topic_count = 1,
                                               .validate_only = (a & 0x40) != 0 };
    struct proto_reset_offsets_response resp;
    uint32_t appended = 0;
    struct group_sink sink = { .ctx = w, .append = w_append };
    proto_arena_reset(&w->arena);
    check_call(group_reset_offsets(w->coord, w->wall, &req, &sink, &w->arena, &resp, &appended));
}

static void step(struct world *w, uint8_t op, uint8_t a, uint8_t b)
{
    int s = a % SLOTS;
    struct group_sink sink = { .ctx = w, .append = w_append };
    uint32_t appended = 0;
    struct proto_group_error_response er;
    switch (op % 12) {
    case 0:
    case 1:
        do_join(w, s, a, b);
        break;
    case 2: {
        struct proto_heartbeat_request req = { .group = S(w->slot_group[s]),
                                               .member_id = S(w->ids[s]),
                                               .generation = w->gens[s] - (b & 1) };
        check_call(group_heartbeat(w->coord, w->mono, &req, &er));
        break;
    }
    case 3: {
        struct proto_leave_group_request req = { .group = S(w->slot_group[s]),
                                                 .member_id = S(w->ids[s]) };
        check_call(group_leave(w->coord, w->mono, &req, &er));
        break;
    }
    case 4:
        do_commit(w, s, a, b);
        break;
    case 5:
        do_reset(w, a, b);
        break;
    case 6: {
        struct proto_str id = S(group_names[b & 1]);
        struct proto_delete_groups_request req = { .groups = &id, .group_count = 1 };
        struct proto_topic_results resp;
        proto_arena_reset(&w->arena);
        check_call(group_delete(w->coord, &req, &sink, &w->arena, &resp, &appended));
        break;
    }
    case 7:
        w->mono += (int64_t)a * 50;
        w->wall += (int64_t)b * 1000;
        (void)group_coord_tick(w->coord, w->mono, w->wall, &sink, &appended);
        break;
    case 8: {
        int t = b % TOPICS;
        w->parts[t] = (a & 0x80) ? -1 : (int32_t)(a % 9);
        group_coord_topics_changed(w->coord, w->mono);
        break;
    }
    case 9: {
        struct group_offset_record rec = { .group = S(group_names[a & 1]),
                                           .topic = S(topic_names[(a >> 1) % TOPICS]),
                                           .partition = b & 7,
                                           .offset = (int64_t)(b >> 3) - 1,
                                           .commit_wall_ms = w->wall };
        rill_err err = group_coord_load(w->coord, &rec);
        if (err != RILL_OK && err != RILL_ERR_FULL && err != RILL_ERR_NOMEM) {
            fuzz_fail("load failed unexpectedly");
        }
        break;
    }
    case 10:
        w->sink_fails = (a & 1) != 0;
        w->end = b;
        break;
    default:
        w->slot_group[s] = group_names[b & 1];
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * 400) {
        return 0; /* bounded work per input */
    }
    static struct world w;
    memset(&w, 0, sizeof(w));
    w.parts[0] = 3;
    w.parts[1] = 2;
    w.parts[2] = -1;
    w.parts[3] = 1;
    w.end = 50;
    w.mono = 1000;
    w.wall = 1000000;
    for (int s = 0; s < SLOTS; s++) {
        w.slot_group[s] = group_names[0];
        w.gens[s] = -1;
    }
    struct group_config cfg = { .session_timeout_min_ms = 1000,
                                .session_timeout_max_ms = 10000,
                                .rebalance_timeout_max_ms = 10000,
                                .members_max = 3,
                                .groups_max = 2,
                                .offsets_max = 12,
                                .retention_ms = 20000 };
    struct group_topics topics = {
        .ctx = &w, .partitions = w_partitions, .each = w_each, .bounds = w_bounds
    };
    if (group_coord_create(&cfg, &topics, &w.coord) != RILL_OK) {
        fuzz_fail("create failed");
    }
    proto_arena_init(&w.arena, 1u << 20);
    for (size_t i = 0; i + 3 <= size; i += 3) {
        step(&w, data[i], data[i + 1], data[i + 2]);
        check_world(&w);
    }
    proto_arena_deinit(&w.arena);
    group_coord_destroy(w.coord);
    return 0;
}
