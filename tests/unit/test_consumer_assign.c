/*
 * test_consumer_assign.c - consumer group assignment (consumer/assign.h): hand-checked cases
 * per strategy, seeded property tests (one owner, subscribers only, balance, determinism under
 * permutation, sticky movement, cooperative handover) and the input bounds.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/assign.h"
#include "tests/harness.h"

#define GEN_TOPICS  6
#define GEN_MEMBERS 14
#define GEN_PARTS   (GEN_TOPICS * 12)

/* A generated group: fixed-size storage that assign_input points into. */
struct gen {
    char tnames[GEN_TOPICS][16];
    char mids[GEN_MEMBERS][16];
    struct assign_topic topics[GEN_TOPICS];
    struct assign_member members[GEN_MEMBERS];
    uint32_t subs[GEN_MEMBERS][GEN_TOPICS];
    struct assign_tp owned[GEN_MEMBERS][GEN_PARTS];
    struct assign_input in;
};

static struct gen *gen_new(void)
{
    struct gen *g = calloc(1, sizeof(*g));
    T_ASSERT(g != NULL);
    g->in.topics = g->topics;
    g->in.members = g->members;
    return g;
}

static void gen_topic(struct gen *g, const char *name, uint32_t partitions)
{
    size_t t = g->in.topic_count++;
    snprintf(g->tnames[t], sizeof(g->tnames[t]), "%s", name);
    g->topics[t] = (struct assign_topic){ .name = g->tnames[t], .partitions = partitions };
}

static void gen_member(struct gen *g, const char *id)
{
    size_t m = g->in.member_count++;
    snprintf(g->mids[m], sizeof(g->mids[m]), "%s", id);
    g->members[m] =
        (struct assign_member){ .id = g->mids[m], .topics = g->subs[m], .owned = g->owned[m] };
}

static void gen_sub(struct gen *g, size_t m, uint32_t t)
{
    g->subs[m][g->members[m].topic_count++] = t;
}

static void gen_own(struct gen *g, size_t m, uint32_t t, uint32_t p)
{
    g->owned[m][g->members[m].owned_count++] = (struct assign_tp){ .topic = t, .partition = p };
}

/* Copies a result into the members' owned lists (the next generation's input). */
static void gen_take_ownership(struct gen *g, const struct assign_result *r)
{
    for (size_t m = 0; m < g->in.member_count; m++) {
        g->members[m].owned_count = 0;
        for (size_t i = 0; i < r->members[m].count; i++) {
            gen_own(g, m, r->members[m].tps[i].topic, r->members[m].tps[i].partition);
        }
    }
}

static bool gen_subscribes(const struct gen *g, size_t m, uint32_t t)
{
    for (size_t i = 0; i < g->members[m].topic_count; i++) {
        if (g->subs[m][i] == t) {
            return true;
        }
    }
    return false;
}

/* Random group: ids and names in shuffled numbering; equal: everybody subscribes to all. */
static void gen_random(struct gen *g, uint64_t *rng, bool equal, size_t max_members)
{
    size_t topics = 1 + t_rand(rng) % GEN_TOPICS;
    size_t members = 1 + t_rand(rng) % max_members;
    uint32_t base = (uint32_t)(t_rand(rng) % 50);
    for (size_t t = 0; t < topics; t++) {
        char name[16];
        snprintf(name, sizeof(name), "t%02u", (unsigned)((base + t * 7) % 97));
        gen_topic(g, name, (uint32_t)(t_rand(rng) % 13));
    }
    for (size_t m = 0; m < members; m++) {
        char id[16];
        snprintf(id, sizeof(id), "c%03u", (unsigned)((base + m * 37) % 1000));
        gen_member(g, id);
        for (uint32_t t = 0; t < topics; t++) {
            if (equal || t_rand(rng) % 2 == 0) {
                gen_sub(g, m, t);
            }
        }
    }
}

static size_t gidx(const struct gen *g, uint32_t t, uint32_t p)
{
    size_t base = 0;
    for (uint32_t i = 0; i < t; i++) {
        base += g->topics[i].partitions;
    }
    return base + p;
}

static size_t gen_parts(const struct gen *g)
{
    return gidx(g, (uint32_t)g->in.topic_count, 0);
}

/* owner[gidx] = member index or -1, asserting that no partition appears twice. */
static void owners_of(const struct gen *g, const struct assign_result *r, int *owner)
{
    for (size_t i = 0; i < gen_parts(g); i++) {
        owner[i] = -1;
    }
    T_ASSERT_EQ_INT(r->member_count, g->in.member_count);
    size_t total = 0;
    for (size_t m = 0; m < r->member_count; m++) {
        for (size_t i = 0; i < r->members[m].count; i++) {
            const struct assign_tp *tp = &r->members[m].tps[i];
            T_ASSERT(tp->topic < g->in.topic_count);
            T_ASSERT(tp->partition < g->topics[tp->topic].partitions);
            size_t x = gidx(g, tp->topic, tp->partition);
            T_ASSERT_EQ_INT(owner[x], -1);
            owner[x] = (int)m;
            total++;
        }
    }
    T_ASSERT_EQ_INT(total, r->assigned);
}

/* Exactly one owner per subscribed partition, only subscribers, lists sorted by name. */
static void check_valid(const struct gen *g, const struct assign_result *r)
{
    int owner[GEN_PARTS + 64];
    owners_of(g, r, owner);
    for (uint32_t t = 0; t < g->in.topic_count; t++) {
        bool any = false;
        for (size_t m = 0; m < g->in.member_count; m++) {
            any = any || gen_subscribes(g, m, t);
        }
        for (uint32_t p = 0; p < g->topics[t].partitions; p++) {
            int o = owner[gidx(g, t, p)];
            T_ASSERT(any ? o >= 0 : o == -1);
            T_ASSERT(o < 0 || gen_subscribes(g, (size_t)o, t));
        }
    }
    for (size_t m = 0; m < r->member_count; m++) {
        for (size_t i = 1; i < r->members[m].count; i++) {
            const struct assign_tp *a = &r->members[m].tps[i - 1], *b = &r->members[m].tps[i];
            int c = strcmp(g->tnames[a->topic], g->tnames[b->topic]);
            T_ASSERT(c < 0 || (c == 0 && a->partition < b->partition));
        }
    }
}

static struct assign_result *compute(const struct gen *g, enum assign_strategy s)
{
    struct assign_result *r = NULL;
    T_ASSERT_OK(assign_compute(&g->in, s, &r));
    T_ASSERT(r != NULL);
    return r;
}

/* "tp..." of one member, e.g. "a0 a1 b2", for hand-checked expectations. */
static void describe(const struct gen *g, const struct assign_list *l, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->count && n < cap; i++) {
        n += (size_t)snprintf(out + n, cap - n, "%s%s%u", i > 0 ? " " : "",
                              g->tnames[l->tps[i].topic], (unsigned)l->tps[i].partition);
    }
}

static void expect(const struct gen *g, const struct assign_result *r, size_t m, const char *s)
{
    char buf[512];
    describe(g, &r->members[m], buf, sizeof(buf));
    if (strcmp(buf, s) != 0) {
        T_FAIL("member %s: got \"%s\", want \"%s\"", g->mids[m], buf, s);
    }
}

static void t_range_hand(void)
{
    struct gen *g = gen_new();
    gen_topic(g, "a", 6);
    gen_member(g, "c");
    gen_member(g, "a");
    gen_member(g, "b");
    for (size_t m = 0; m < 3; m++) {
        gen_sub(g, m, 0);
    }
    struct assign_result *r = compute(g, ASSIGN_RANGE);
    expect(g, r, 1, "a0 a1");
    expect(g, r, 2, "a2 a3");
    expect(g, r, 0, "a4 a5");
    assign_result_free(r);

    g->topics[0].partitions = 7; /* uneven: the first member gets one extra */
    r = compute(g, ASSIGN_RANGE);
    expect(g, r, 1, "a0 a1 a2");
    expect(g, r, 2, "a3 a4");
    expect(g, r, 0, "a5 a6");
    assign_result_free(r);

    /* Different subscriptions: x(3) by a and b, y(2) by b and c. */
    struct gen *h = gen_new();
    gen_topic(h, "y", 2);
    gen_topic(h, "x", 3);
    gen_member(h, "a");
    gen_member(h, "b");
    gen_member(h, "c");
    gen_sub(h, 0, 1);
    gen_sub(h, 1, 1);
    gen_sub(h, 1, 0);
    gen_sub(h, 2, 0);
    r = compute(h, ASSIGN_RANGE);
    expect(h, r, 0, "x0 x1");
    expect(h, r, 1, "x2 y0");
    expect(h, r, 2, "y1");
    check_valid(h, r);
    assign_result_free(r);
    free(g);
    free(h);
}

static void t_roundrobin_hand(void)
{
    struct gen *g = gen_new();
    gen_topic(g, "b", 3);
    gen_topic(g, "a", 3);
    gen_member(g, "m2");
    gen_member(g, "m1");
    gen_sub(g, 0, 0);
    gen_sub(g, 0, 1);
    gen_sub(g, 1, 1);
    gen_sub(g, 1, 0);
    struct assign_result *r = compute(g, ASSIGN_ROUNDROBIN);
    expect(g, r, 1, "a0 a2 b1");
    expect(g, r, 0, "a1 b0 b2");
    assign_result_free(r);

    /* a(2) by m1 m2 m3, b(3) by m1 m3: the dealer skips m2 for b. */
    struct gen *h = gen_new();
    gen_topic(h, "a", 2);
    gen_topic(h, "b", 3);
    gen_member(h, "m1");
    gen_member(h, "m2");
    gen_member(h, "m3");
    gen_sub(h, 0, 0);
    gen_sub(h, 0, 1);
    gen_sub(h, 1, 0);
    gen_sub(h, 2, 0);
    gen_sub(h, 2, 1);
    r = compute(h, ASSIGN_ROUNDROBIN);
    expect(h, r, 0, "a0 b1");
    expect(h, r, 1, "a1");
    expect(h, r, 2, "b0 b2");
    check_valid(h, r);
    assign_result_free(r);
    free(g);
    free(h);
}

static void t_sticky_hand(void)
{
    struct gen *g = gen_new();
    gen_topic(g, "a", 6);
    gen_member(g, "x");
    gen_member(g, "y");
    gen_member(g, "z");
    for (size_t m = 0; m < 3; m++) {
        gen_sub(g, m, 0);
    }
    struct assign_result *r = compute(g, ASSIGN_STICKY);
    for (size_t m = 0; m < 3; m++) {
        T_ASSERT_EQ_INT(r->members[m].count, 2);
    }
    assign_result_free(r);

    /* x owned everything: it keeps two, y and z take two each. */
    for (uint32_t p = 0; p < 6; p++) {
        gen_own(g, 0, 0, p);
    }
    r = compute(g, ASSIGN_STICKY);
    expect(g, r, 0, "a0 a1");
    T_ASSERT_EQ_INT(r->members[1].count, 2);
    T_ASSERT_EQ_INT(r->members[2].count, 2);
    assign_result_free(r);

    /* x{0,1} y{2,3} z{4,5}; z leaves: x and y keep theirs and take one of z's each. */
    struct gen *h = gen_new();
    gen_topic(h, "a", 6);
    gen_member(h, "x");
    gen_member(h, "y");
    gen_sub(h, 0, 0);
    gen_sub(h, 1, 0);
    gen_own(h, 0, 0, 0);
    gen_own(h, 0, 0, 1);
    gen_own(h, 1, 0, 2);
    gen_own(h, 1, 0, 3);
    r = compute(h, ASSIGN_STICKY);
    expect(h, r, 0, "a0 a1 a4");
    expect(h, r, 1, "a2 a3 a5");
    assign_result_free(r);
    free(g);
    free(h);
}

static void t_cooperative_hand(void)
{
    struct gen *g = gen_new();
    gen_topic(g, "a", 6);
    gen_member(g, "x");
    gen_member(g, "y");
    gen_sub(g, 0, 0);
    gen_sub(g, 1, 0);
    for (uint32_t p = 0; p < 6; p++) {
        gen_own(g, 0, 0, p);
    }
    struct assign_result *target = compute(g, ASSIGN_STICKY);
    expect(g, target, 0, "a0 a1 a2");
    expect(g, target, 1, "a3 a4 a5");

    struct assign_step *s = NULL;
    T_ASSERT_OK(assign_cooperative_step(&g->in, target, &s));
    T_ASSERT_EQ_INT(s->members[0].keep.count, 3);
    T_ASSERT_EQ_INT(s->members[0].revoke.count, 3);
    T_ASSERT_EQ_INT(s->members[0].revoke.tps[0].partition, 3);
    T_ASSERT_EQ_INT(s->members[1].assign_now.count, 0);
    T_ASSERT_EQ_INT(s->members[1].pending, 3);
    T_ASSERT_EQ_INT(s->pending_total, 3);
    assign_step_free(s);

    /* Next generation: x revoked 3..5; y takes them now. */
    g->members[0].owned_count = 3;
    T_ASSERT_OK(assign_cooperative_step(&g->in, target, &s));
    T_ASSERT_EQ_INT(s->members[0].keep.count, 3);
    T_ASSERT_EQ_INT(s->members[0].revoke.count, 0);
    expect(g, target, 1, "a3 a4 a5");
    T_ASSERT_EQ_INT(s->members[1].assign_now.count, 3);
    T_ASSERT_EQ_INT(s->pending_total, 0);
    assign_step_free(s);
    assign_result_free(target);
    free(g);
}

/* The same group with members and topics in another order (indexes remapped). */
static void gen_permute(const struct gen *g, struct gen *out, uint64_t *rng)
{
    size_t tperm[GEN_TOPICS], mperm[GEN_MEMBERS], tinv[GEN_TOPICS];
    for (size_t i = 0; i < g->in.topic_count; i++) {
        tperm[i] = i;
    }
    for (size_t i = 0; i < g->in.member_count; i++) {
        mperm[i] = i;
    }
    for (size_t i = g->in.topic_count; i-- > 1;) {
        size_t j = t_rand(rng) % (i + 1), tmp = tperm[i];
        tperm[i] = tperm[j];
        tperm[j] = tmp;
    }
    for (size_t i = g->in.member_count; i-- > 1;) {
        size_t j = t_rand(rng) % (i + 1), tmp = mperm[i];
        mperm[i] = mperm[j];
        mperm[j] = tmp;
    }
    for (size_t i = 0; i < g->in.topic_count; i++) {
        gen_topic(out, g->tnames[tperm[i]], g->topics[tperm[i]].partitions);
        tinv[tperm[i]] = i;
    }
    for (size_t i = 0; i < g->in.member_count; i++) {
        const struct assign_member *src = &g->members[mperm[i]];
        gen_member(out, src->id);
        for (size_t k = src->topic_count; k-- > 0;) {
            gen_sub(out, i, (uint32_t)tinv[src->topics[k]]);
        }
        for (size_t k = src->owned_count; k-- > 0;) {
            gen_own(out, i, (uint32_t)tinv[src->owned[k].topic], src->owned[k].partition);
        }
    }
}

/* Owner id of topic name / partition, or NULL. */
static const char *
owner_id(const struct gen *g, const struct assign_result *r, const char *topic, uint32_t p)
{
    for (size_t m = 0; m < r->member_count; m++) {
        for (size_t i = 0; i < r->members[m].count; i++) {
            const struct assign_tp *tp = &r->members[m].tps[i];
            if (tp->partition == p && strcmp(g->tnames[tp->topic], topic) == 0) {
                return g->mids[m];
            }
        }
    }
    return NULL;
}

static void check_same(const struct gen *a,
                       const struct assign_result *ra,
                       const struct gen *b,
                       const struct assign_result *rb)
{
    for (size_t t = 0; t < a->in.topic_count; t++) {
        for (uint32_t p = 0; p < a->topics[t].partitions; p++) {
            const char *x = owner_id(a, ra, a->tnames[t], p);
            const char *y = owner_id(b, rb, a->tnames[t], p);
            T_ASSERT((x == NULL) == (y == NULL));
            T_ASSERT(x == NULL || strcmp(x, y) == 0);
        }
    }
}

/* Random previous ownership, including duplicates and unsubscribed topics. */
static void gen_random_owned(struct gen *g, uint64_t *rng)
{
    for (uint32_t t = 0; t < g->in.topic_count; t++) {
        for (uint32_t p = 0; p < g->topics[t].partitions; p++) {
            size_t claims = t_rand(rng) % 4 == 0 ? 2 : 1;
            for (size_t k = 0; k < claims && t_rand(rng) % 3 != 0; k++) {
                gen_own(g, t_rand(rng) % g->in.member_count, t, p);
            }
        }
    }
}

static const enum assign_strategy all_strategies[] = { ASSIGN_RANGE, ASSIGN_ROUNDROBIN,
                                                       ASSIGN_STICKY };

static void t_prop_valid_and_deterministic(void)
{
    uint64_t rng = T_SEED;
    for (int round = 0; round < 400; round++) {
        struct gen *g = gen_new(), *h = gen_new();
        gen_random(g, &rng, round % 3 == 0, GEN_MEMBERS);
        if (round % 2 == 0) {
            gen_random_owned(g, &rng);
        }
        gen_permute(g, h, &rng);
        for (size_t s = 0; s < 3; s++) {
            struct assign_result *ra = compute(g, all_strategies[s]);
            struct assign_result *rb = compute(h, all_strategies[s]);
            check_valid(g, ra);
            check_valid(h, rb);
            check_same(g, ra, h, rb);
            assign_result_free(ra);
            assign_result_free(rb);
        }
        free(g);
        free(h);
    }
}

static void load_range(const struct assign_result *r, size_t *min, size_t *max)
{
    *min = SIZE_MAX;
    *max = 0;
    for (size_t m = 0; m < r->member_count; m++) {
        *min = r->members[m].count < *min ? r->members[m].count : *min;
        *max = r->members[m].count > *max ? r->members[m].count : *max;
    }
}

static void t_prop_balance(void)
{
    uint64_t rng = T_SEED ^ 0x5bd1e995u;
    for (int round = 0; round < 400; round++) {
        struct gen *g = gen_new();
        gen_random(g, &rng, true, GEN_MEMBERS);
        if (round % 2 == 0) {
            gen_random_owned(g, &rng);
        }
        for (size_t s = 1; s < 3; s++) {
            struct assign_result *r = compute(g, all_strategies[s]);
            size_t min, max;
            load_range(r, &min, &max);
            T_ASSERT(max - min <= 1);
            assign_result_free(r);
        }
        free(g);
    }
}

/* A member leaves: only its partitions move; the rest stay balanced. */
static void t_prop_sticky_leave(void)
{
    uint64_t rng = T_SEED ^ 0x27d4eb2fu;
    for (int round = 0; round < 300; round++) {
        struct gen *g = gen_new();
        gen_random(g, &rng, true, GEN_MEMBERS);
        if (g->in.member_count < 2) {
            free(g);
            continue;
        }
        struct assign_result *r1 = compute(g, ASSIGN_STICKY);
        gen_take_ownership(g, r1);
        int before[GEN_PARTS + 64], after[GEN_PARTS + 64];
        owners_of(g, r1, before);
        size_t gone = t_rand(&rng) % g->in.member_count;
        /* Move the last member into the leaver's slot (indexes shift, ids do not). */
        size_t last = g->in.member_count - 1;
        if (gone != last) {
            memcpy(g->mids[gone], g->mids[last], sizeof(g->mids[gone]));
            memcpy(g->subs[gone], g->subs[last], sizeof(g->subs[gone]));
            memcpy(g->owned[gone], g->owned[last], sizeof(g->owned[gone]));
            g->members[gone].topic_count = g->members[last].topic_count;
            g->members[gone].owned_count = g->members[last].owned_count;
        }
        g->in.member_count--;
        struct assign_result *r2 = compute(g, ASSIGN_STICKY);
        check_valid(g, r2);
        owners_of(g, r2, after);
        for (size_t x = 0; x < gen_parts(g); x++) {
            T_ASSERT(before[x] >= 0);
            bool was_gone = before[x] == (int)gone;
            if (!was_gone) {
                /* the member that was at index `last` is now at `gone` */
                int expect_idx = before[x] == (int)last ? (int)gone : before[x];
                T_ASSERT_EQ_INT(after[x], expect_idx);
            }
        }
        size_t min, max;
        load_range(r2, &min, &max);
        T_ASSERT(max - min <= 1);
        assign_result_free(r1);
        assign_result_free(r2);
        free(g);
    }
}

static int cmp_size_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x > y ? -1 : x < y;
}

/* A member joins: exactly as many partitions move as the new balance needs, all to it. */
static void t_prop_sticky_join(void)
{
    uint64_t rng = T_SEED ^ 0x165667b1u;
    for (int round = 0; round < 300; round++) {
        struct gen *g = gen_new();
        gen_random(g, &rng, true, GEN_MEMBERS - 1);
        /* The previous generation may be unbalanced (range): the fewest moves still hold. */
        struct assign_result *r1 = compute(g, all_strategies[round % 3]);
        gen_take_ownership(g, r1);
        int before[GEN_PARTS + 64], after[GEN_PARTS + 64];
        owners_of(g, r1, before);
        size_t loads[GEN_MEMBERS];
        for (size_t m = 0; m < g->in.member_count; m++) {
            loads[m] = r1->members[m].count;
        }
        gen_member(g, round % 2 == 0 ? "a-new" : "z-new");
        size_t n = g->in.member_count;
        loads[n - 1] = 0;
        for (uint32_t t = 0; t < g->in.topic_count; t++) {
            gen_sub(g, n - 1, t);
        }
        struct assign_result *r2 = compute(g, ASSIGN_STICKY);
        check_valid(g, r2);
        owners_of(g, r2, after);
        size_t parts = gen_parts(g), moved = 0;
        for (size_t x = 0; x < parts; x++) {
            if (after[x] != before[x]) {
                moved++;
                /* from a balanced generation, moves only go to the new member */
                T_ASSERT(round % 3 == 0 || after[x] == (int)(n - 1));
            }
        }
        /* Fewest moves: the r largest loads keep q + 1, the rest q. */
        qsort(loads, n, sizeof(loads[0]), cmp_size_desc);
        size_t q = parts / n, rem = parts % n, need = 0;
        for (size_t i = 0; i < n; i++) {
            size_t target = q + (i < rem ? 1 : 0);
            need += loads[i] > target ? loads[i] - target : 0;
        }
        T_ASSERT_EQ_INT(moved, need);
        assign_result_free(r1);
        assign_result_free(r2);
        free(g);
    }
}

/* Applies a step: each member's ownership becomes keep + assign_now. */
static void apply_step(struct gen *g, const struct assign_step *s)
{
    for (size_t m = 0; m < g->in.member_count; m++) {
        const struct assign_step_member *sm = &s->members[m];
        struct assign_tp next[GEN_PARTS];
        size_t n = 0;
        for (size_t i = 0; i < sm->keep.count; i++) {
            next[n++] = sm->keep.tps[i];
        }
        for (size_t i = 0; i < sm->assign_now.count; i++) {
            next[n++] = sm->assign_now.tps[i];
        }
        g->members[m].owned_count = 0;
        for (size_t i = 0; i < n; i++) {
            gen_own(g, m, next[i].topic, next[i].partition);
        }
    }
}

/* Ownership from the members' owned lists must have no partition twice. */
static void check_single_owners(const struct gen *g)
{
    int owner[GEN_PARTS + 64];
    for (size_t i = 0; i < gen_parts(g); i++) {
        owner[i] = -1;
    }
    for (size_t m = 0; m < g->in.member_count; m++) {
        for (size_t i = 0; i < g->members[m].owned_count; i++) {
            size_t x = gidx(g, g->owned[m][i].topic, g->owned[m][i].partition);
            T_ASSERT(owner[x] == -1 || owner[x] == (int)m);
            owner[x] = (int)m;
        }
    }
}

static void t_prop_cooperative(void)
{
    uint64_t rng = T_SEED ^ 0x9e3779b9u;
    for (int round = 0; round < 300; round++) {
        struct gen *g = gen_new();
        gen_random(g, &rng, round % 2 == 0, GEN_MEMBERS);
        /* prev: a valid earlier generation, or junk with duplicate claims */
        if (round % 3 == 0) {
            gen_random_owned(g, &rng);
        } else {
            struct assign_result *r0 = compute(g, all_strategies[t_rand(&rng) % 3]);
            gen_take_ownership(g, r0);
            assign_result_free(r0);
        }
        struct assign_result *target = compute(g, all_strategies[t_rand(&rng) % 3]);
        for (int step = 0; step < 2; step++) {
            struct assign_step *s = NULL;
            T_ASSERT_OK(assign_cooperative_step(&g->in, target, &s));
            for (size_t m = 0; m < g->in.member_count; m++) {
                const struct assign_step_member *sm = &s->members[m];
                /* keep + revoke covers what it owned (duplicates listed once) */
                T_ASSERT(sm->keep.count + sm->revoke.count <= g->members[m].owned_count);
                T_ASSERT(sm->keep.count + sm->assign_now.count + sm->pending ==
                         target->members[m].count);
            }
            if (step == 1) {
                T_ASSERT_EQ_INT(s->pending_total, 0);
                for (size_t m = 0; m < g->in.member_count; m++) {
                    T_ASSERT_EQ_INT(s->members[m].revoke.count, 0);
                }
            }
            apply_step(g, s);
            check_single_owners(g);
            assign_step_free(s);
        }
        /* After two steps ownership equals the target. */
        for (size_t m = 0; m < g->in.member_count; m++) {
            T_ASSERT_EQ_INT(g->members[m].owned_count, target->members[m].count);
        }
        assign_result_free(target);
        free(g);
    }
}

/* Upper bounds: members, partitions; both at the limit still work, also from one owner. */
static void t_bounds(void)
{
    size_t n = ASSIGN_MEMBERS_MAX + 1;
    struct assign_member *members = calloc(n, sizeof(*members));
    char(*ids)[16] = calloc(n, sizeof(*ids));
    uint32_t zero = 0;
    T_ASSERT(members != NULL && ids != NULL);
    for (size_t m = 0; m < n; m++) {
        snprintf(ids[m], sizeof(ids[m]), "m%05zu", m);
        members[m] = (struct assign_member){ .id = ids[m], .topics = &zero, .topic_count = 1 };
    }
    struct assign_topic topic = { .name = "t", .partitions = ASSIGN_PARTITIONS_MAX };
    struct assign_input in = {
        .topics = &topic, .topic_count = 1, .members = members, .member_count = n
    };
    struct assign_result *r = NULL;
    T_ASSERT_EQ_INT(assign_compute(&in, ASSIGN_RANGE, &r), RILL_ERR_INVALID);
    T_ASSERT(r == NULL);
    in.member_count = ASSIGN_MEMBERS_MAX;
    topic.partitions = ASSIGN_PARTITIONS_MAX + 1;
    T_ASSERT_EQ_INT(assign_compute(&in, ASSIGN_STICKY, &r), RILL_ERR_INVALID);
    struct assign_topic two[2] = { { "a", ASSIGN_PARTITIONS_MAX / 2 + 1 },
                                   { "b", ASSIGN_PARTITIONS_MAX / 2 } };
    in.topics = two;
    in.topic_count = 2;
    T_ASSERT_EQ_INT(assign_compute(&in, ASSIGN_ROUNDROBIN, &r), RILL_ERR_INVALID);

    /* At the limit: 10,000 members, 100,000 partitions, 10 each for every strategy. */
    in.topics = &topic;
    in.topic_count = 1;
    topic.partitions = ASSIGN_PARTITIONS_MAX;
    for (size_t s = 0; s < 3; s++) {
        T_ASSERT_OK(assign_compute(&in, all_strategies[s], &r));
        T_ASSERT_EQ_INT(r->assigned, ASSIGN_PARTITIONS_MAX);
        for (size_t m = 0; m < in.member_count; m++) {
            T_ASSERT_EQ_INT(r->members[m].count, 10);
        }
        assign_result_free(r);
    }

    /* One member owned all 100,000 and 9,999 join: only the 99,990 needed move, 10 each. */
    struct assign_tp *all = calloc(ASSIGN_PARTITIONS_MAX, sizeof(*all));
    T_ASSERT(all != NULL);
    for (uint32_t p = 0; p < ASSIGN_PARTITIONS_MAX; p++) {
        all[p] = (struct assign_tp){ .topic = 0, .partition = p };
    }
    members[7].owned = all;
    members[7].owned_count = ASSIGN_PARTITIONS_MAX;
    T_ASSERT_OK(assign_compute(&in, ASSIGN_STICKY, &r));
    for (size_t m = 0; m < in.member_count; m++) {
        T_ASSERT_EQ_INT(r->members[m].count, 10);
    }
    struct assign_step *step = NULL;
    T_ASSERT_OK(assign_cooperative_step(&in, r, &step));
    T_ASSERT_EQ_INT(step->members[7].keep.count, 10);
    T_ASSERT_EQ_INT(step->members[7].revoke.count, ASSIGN_PARTITIONS_MAX - 10);
    T_ASSERT_EQ_INT(step->pending_total, ASSIGN_PARTITIONS_MAX - 10);
    assign_step_free(step);
    assign_result_free(r);
    free(all);
    free(members);
    free(ids);
}

static void t_invalid_inputs(void)
{
    struct gen *g = gen_new();
    gen_topic(g, "a", 4);
    gen_topic(g, "b", 2);
    gen_member(g, "x");
    gen_member(g, "y");
    gen_sub(g, 0, 0);
    gen_sub(g, 1, 1);
    struct assign_result *r = NULL;
    T_ASSERT_EQ_INT(assign_compute(NULL, ASSIGN_RANGE, &r), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(assign_compute(&g->in, ASSIGN_RANGE, NULL), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(assign_compute(&g->in, (enum assign_strategy)9, &r), RILL_ERR_INVALID);

    g->subs[1][0] = 2; /* topic index out of range */
    T_ASSERT_EQ_INT(assign_compute(&g->in, ASSIGN_RANGE, &r), RILL_ERR_INVALID);
    g->subs[1][0] = 1;
    gen_own(g, 0, 1, 2); /* partition out of range */
    T_ASSERT_EQ_INT(assign_compute(&g->in, ASSIGN_STICKY, &r), RILL_ERR_INVALID);
    g->members[0].owned_count = 0;
    snprintf(g->mids[1], sizeof(g->mids[1]), "x"); /* duplicate id */
    T_ASSERT_EQ_INT(assign_compute(&g->in, ASSIGN_RANGE, &r), RILL_ERR_INVALID);
    snprintf(g->mids[1], sizeof(g->mids[1]), "y");
    snprintf(g->tnames[1], sizeof(g->tnames[1]), "a"); /* duplicate topic name */
    T_ASSERT_EQ_INT(assign_compute(&g->in, ASSIGN_RANGE, &r), RILL_ERR_INVALID);
    snprintf(g->tnames[1], sizeof(g->tnames[1]), "b");
    g->members[0].id = NULL;
    T_ASSERT_EQ_INT(assign_compute(&g->in, ASSIGN_RANGE, &r), RILL_ERR_INVALID);
    g->members[0].id = g->mids[0];
    g->members[0].topics = NULL;
    T_ASSERT_EQ_INT(assign_compute(&g->in, ASSIGN_RANGE, &r), RILL_ERR_INVALID);
    g->members[0].topics = g->subs[0];

    /* A target that does not belong to prev. */
    r = compute(g, ASSIGN_RANGE);
    struct assign_step *s = NULL;
    g->in.member_count = 1;
    T_ASSERT_EQ_INT(assign_cooperative_step(&g->in, r, &s), RILL_ERR_INVALID);
    g->in.member_count = 2;
    T_ASSERT_EQ_INT(assign_cooperative_step(&g->in, NULL, &s), RILL_ERR_INVALID);
    g->topics[0].partitions = 1; /* target names a0..a3 */
    T_ASSERT_EQ_INT(assign_cooperative_step(&g->in, r, &s), RILL_ERR_INVALID);
    T_ASSERT(s == NULL);
    assign_result_free(r);

    /* Empty group, topics nobody subscribes to. */
    g->topics[0].partitions = 4;
    g->in.member_count = 0;
    r = compute(g, ASSIGN_STICKY);
    T_ASSERT_EQ_INT(r->assigned, 0);
    assign_result_free(r);
    free(g);
}

static void t_strategy_names(void)
{
    enum assign_strategy s;
    for (size_t i = 0; i < 3; i++) {
        T_ASSERT_OK(assign_strategy_parse(assign_strategy_name(all_strategies[i]), &s));
        T_ASSERT_EQ_INT(s, all_strategies[i]);
    }
    T_ASSERT_EQ_INT(assign_strategy_parse("cooperative", &s), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(assign_strategy_parse(NULL, &s), RILL_ERR_INVALID);
    T_ASSERT(strcmp(assign_strategy_name((enum assign_strategy)0), "unknown") == 0);
}

int main(int argc, char **argv)
{
    static const struct t_case cases[] = {
        T_CASE(t_range_hand),
        T_CASE(t_roundrobin_hand),
        T_CASE(t_sticky_hand),
        T_CASE(t_cooperative_hand),
        T_CASE(t_prop_valid_and_deterministic),
        T_CASE(t_prop_balance),
        T_CASE(t_prop_sticky_leave),
        T_CASE(t_prop_sticky_join),
        T_CASE(t_prop_cooperative),
        T_CASE(t_bounds),
        T_CASE(t_invalid_inputs),
        T_CASE(t_strategy_names),
    };
    return t_run(argc, argv, cases, T_COUNT(cases));
}
