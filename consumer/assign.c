/*
 * assign.c - consumer group partition assignment (assign.h): range, roundrobin, sticky and
 * the cooperative handover step.
 *
 * Internally every partition has a global index g = base[topic] + partition (input topic
 * order); owner[g] is an input member index or NONE. Members and topics also get a rank: their
 * position when sorted by id / name. Everything that decides an outcome walks topics in rank
 * order and breaks ties by member rank, so permuting the input changes nothing.
 */
#include "consumer/assign.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"

#define NONE UINT32_MAX

/* Validated view of one input plus the scratch arrays the strategies share. */
struct actx {
    const struct assign_input *in;
    uint32_t members;    /* member count */
    uint32_t topics;     /* topic count */
    uint32_t parts;      /* partitions over all topics */
    uint32_t *m_by_rank; /* rank -> member index (sorted by id) */
    uint32_t *m_rank;    /* member index -> rank */
    uint32_t *t_by_rank; /* rank -> topic index (sorted by name) */
    uint32_t *t_rank;    /* topic index -> rank */
    uint32_t *t_base;    /* topic index -> first global partition index; [topics] = parts */
    uint32_t *sub_off;   /* topic index -> first entry in sub_mem; [topics] = total */
    uint32_t *sub_mem;   /* subscribers of each topic, member indexes in rank order */
    uint32_t *msub_off;  /* member index -> first entry in msub; [members] = total */
    uint32_t *msub;      /* each member's subscribed topics, ascending, no duplicates */
    uint32_t *owner;     /* global partition -> member index or NONE */
    uint32_t *load;      /* member index -> partitions owned in owner[] */
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_member_id(const void *a, const void *b, void *arg)
{
    const struct assign_member *m = arg;
    return strcmp(m[*(const uint32_t *)a].id, m[*(const uint32_t *)b].id);
}

static int cmp_topic_name(const void *a, const void *b, void *arg)
{
    const struct assign_topic *t = arg;
    return strcmp(t[*(const uint32_t *)a].name, t[*(const uint32_t *)b].name);
}

/* Sorts partitions by (topic rank, partition); arg is the topic rank array. */
static int cmp_tp_rank(const void *a, const void *b, void *arg)
{
    const uint32_t *rank = arg;
    const struct assign_tp *x = a, *y = b;
    if (x->topic != y->topic) {
        return rank[x->topic] < rank[y->topic] ? -1 : 1;
    }
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static void actx_free(struct actx *c)
{
    free(c->m_by_rank);
    free(c->m_rank);
    free(c->t_by_rank);
    free(c->t_rank);
    free(c->t_base);
    free(c->sub_off);
    free(c->sub_mem);
    free(c->msub_off);
    free(c->msub);
    free(c->owner);
    free(c->load);
}

static uint32_t *alloc_u32(size_t n)
{
    return malloc((n > 0 ? n : 1) * sizeof(uint32_t));
}

/* Topics: names present and unique, partition sum bounded; fills ranks and bases. */
static rill_err check_topics(struct actx *c)
{
    const struct assign_input *in = c->in;
    uint64_t sum = 0;
    for (uint32_t t = 0; t < c->topics; t++) {
        if (in->topics[t].name == NULL) {
            return RILL_ERR_INVALID;
        }
        c->t_base[t] = (uint32_t)sum;
        sum += in->topics[t].partitions;
        if (sum > ASSIGN_PARTITIONS_MAX) {
            return RILL_ERR_INVALID;
        }
        c->t_by_rank[t] = t;
    }
    c->t_base[c->topics] = (uint32_t)sum;
    c->parts = (uint32_t)sum;
    qsort_r(c->t_by_rank, c->topics, sizeof(uint32_t), cmp_topic_name, (void *)in->topics);
    for (uint32_t r = 0; r < c->topics; r++) {
        c->t_rank[c->t_by_rank[r]] = r;
        if (r > 0 &&
            strcmp(in->topics[c->t_by_rank[r - 1]].name, in->topics[c->t_by_rank[r]].name) == 0) {
            return RILL_ERR_INVALID;
        }
    }
    return RILL_OK;
}

/* Members: ids present and unique, subscriptions and owned lists in range and bounded. */
static rill_err check_members(struct actx *c, uint64_t *subs_total)
{
    const struct assign_input *in = c->in;
    uint64_t subs = 0, owned = 0;
    for (uint32_t m = 0; m < c->members; m++) {
        const struct assign_member *mem = &in->members[m];
        if (mem->id == NULL || (mem->topic_count > 0 && mem->topics == NULL) ||
            (mem->owned_count > 0 && mem->owned == NULL)) {
            return RILL_ERR_INVALID;
        }
        subs += mem->topic_count;
        owned += mem->owned_count;
        if (subs > ASSIGN_SUBSCRIPTIONS_MAX || owned > ASSIGN_PARTITIONS_MAX) {
            return RILL_ERR_INVALID;
        }
        for (size_t i = 0; i < mem->topic_count; i++) {
            if (mem->topics[i] >= c->topics) {
                return RILL_ERR_INVALID;
            }
        }
        for (size_t i = 0; i < mem->owned_count; i++) {
            const struct assign_tp *tp = &mem->owned[i];
            if (tp->topic >= c->topics || tp->partition >= in->topics[tp->topic].partitions) {
                return RILL_ERR_INVALID;
            }
        }
        c->m_by_rank[m] = m;
    }
    qsort_r(c->m_by_rank, c->members, sizeof(uint32_t), cmp_member_id, (void *)in->members);
    for (uint32_t r = 0; r < c->members; r++) {
        c->m_rank[c->m_by_rank[r]] = r;
        if (r > 0 &&
            strcmp(in->members[c->m_by_rank[r - 1]].id, in->members[c->m_by_rank[r]].id) == 0) {
            return RILL_ERR_INVALID;
        }
    }
    *subs_total = subs;
    return RILL_OK;
}

/* Per member: sorted, deduplicated topic lists; per topic: subscribers in member rank order. */
static rill_err build_subscriptions(struct actx *c, uint64_t subs_total)
{
    const struct assign_input *in = c->in;
    c->msub = alloc_u32(subs_total);
    c->sub_mem = alloc_u32(subs_total);
    if (c->msub == NULL || c->sub_mem == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t n = 0;
    for (uint32_t m = 0; m < c->members; m++) {
        const struct assign_member *mem = &in->members[m];
        c->msub_off[m] = n;
        uint32_t *dst = c->msub + n;
        if (mem->topic_count > 0) {
            memcpy(dst, mem->topics, mem->topic_count * sizeof(uint32_t));
        }
        qsort(dst, mem->topic_count, sizeof(uint32_t), cmp_u32);
        uint32_t kept = 0;
        for (size_t i = 0; i < mem->topic_count; i++) {
            if (kept == 0 || dst[kept - 1] != dst[i]) {
                dst[kept++] = dst[i];
            }
        }
        n += kept;
    }
    c->msub_off[c->members] = n;
    memset(c->sub_off, 0, (c->topics + 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < n; i++) {
        c->sub_off[c->msub[i] + 1]++;
    }
    for (uint32_t t = 0; t < c->topics; t++) {
        c->sub_off[t + 1] += c->sub_off[t];
    }
    /* Fill in member rank order, so each topic's subscribers come out sorted by rank. */
    uint32_t *fill = alloc_u32(c->topics);
    if (fill == NULL) {
        return RILL_ERR_NOMEM;
    }
    memcpy(fill, c->sub_off, c->topics * sizeof(uint32_t));
    for (uint32_t r = 0; r < c->members; r++) {
        uint32_t m = c->m_by_rank[r];
        for (uint32_t i = c->msub_off[m]; i < c->msub_off[m + 1]; i++) {
            c->sub_mem[fill[c->msub[i]]++] = m;
        }
    }
    free(fill);
    return RILL_OK;
}

static rill_err actx_init(struct actx *c, const struct assign_input *in)
{
    memset(c, 0, sizeof(*c));
    if (in == NULL || in->member_count > ASSIGN_MEMBERS_MAX ||
        in->topic_count > ASSIGN_TOPICS_MAX || (in->member_count > 0 && in->members == NULL) ||
        (in->topic_count > 0 && in->topics == NULL)) {
        return RILL_ERR_INVALID;
    }
    c->in = in;
    c->members = (uint32_t)in->member_count;
    c->topics = (uint32_t)in->topic_count;
    c->m_by_rank = alloc_u32(c->members);
    c->m_rank = alloc_u32(c->members);
    c->msub_off = alloc_u32(c->members + 1u);
    c->load = alloc_u32(c->members);
    c->t_by_rank = alloc_u32(c->topics);
    c->t_rank = alloc_u32(c->topics);
    c->t_base = alloc_u32(c->topics + 1u);
    c->sub_off = alloc_u32(c->topics + 1u);
    if (c->m_by_rank == NULL || c->m_rank == NULL || c->msub_off == NULL || c->load == NULL ||
        c->t_by_rank == NULL || c->t_rank == NULL || c->t_base == NULL || c->sub_off == NULL) {
        return RILL_ERR_NOMEM;
    }
    rill_err err = check_topics(c);
    uint64_t subs_total = 0;
    if (err == RILL_OK) {
        err = check_members(c, &subs_total);
    }
    if (err == RILL_OK) {
        err = build_subscriptions(c, subs_total);
    }
    if (err == RILL_OK) {
        c->owner = alloc_u32(c->parts);
        err = c->owner == NULL ? RILL_ERR_NOMEM : RILL_OK;
    }
    if (err == RILL_OK) {
        for (uint32_t g = 0; g < c->parts; g++) {
            c->owner[g] = NONE;
        }
        memset(c->load, 0, c->members * sizeof(uint32_t));
    }
    return err;
}

static void give(struct actx *c, uint32_t g, uint32_t m)
{
    c->owner[g] = m;
    c->load[m]++;
}

/* ---------------------------------------------------------------------------------------- */
/* range and roundrobin                                                                      */

static void assign_range(struct actx *c)
{
    for (uint32_t r = 0; r < c->topics; r++) {
        uint32_t t = c->t_by_rank[r];
        uint32_t subs = c->sub_off[t + 1] - c->sub_off[t];
        uint32_t parts = c->t_base[t + 1] - c->t_base[t];
        if (subs == 0) {
            continue;
        }
        uint32_t each = parts / subs, extra = parts % subs, g = c->t_base[t];
        for (uint32_t i = 0; i < subs; i++) {
            uint32_t n = each + (i < extra ? 1u : 0u);
            for (uint32_t k = 0; k < n; k++) {
                give(c, g++, c->sub_mem[c->sub_off[t] + i]);
            }
        }
    }
}

/* The first subscriber of topic t whose rank is >= rank, wrapping to the first one. */
static uint32_t next_subscriber(const struct actx *c, uint32_t t, uint32_t rank)
{
    uint32_t lo = c->sub_off[t], hi = c->sub_off[t + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->m_rank[c->sub_mem[mid]] < rank) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return c->sub_mem[lo < c->sub_off[t + 1] ? lo : c->sub_off[t]];
}

/* A cursor walks the sorted members in a circle; each partition goes to the next member at or
 * after the cursor that subscribes to its topic (a binary search instead of a linear skip). */
static void assign_roundrobin(struct actx *c)
{
    uint32_t cursor = 0;
    for (uint32_t r = 0; r < c->topics; r++) {
        uint32_t t = c->t_by_rank[r];
        if (c->sub_off[t + 1] == c->sub_off[t]) {
            continue;
        }
        for (uint32_t g = c->t_base[t]; g < c->t_base[t + 1]; g++) {
            uint32_t m = next_subscriber(c, t, cursor);
            give(c, g, m);
            cursor = c->m_rank[m] + 1;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* sticky                                                                                    */

static bool subscribes(const struct actx *c, uint32_t m, uint32_t t)
{
    const uint32_t *base = c->msub + c->msub_off[m];
    uint32_t n = c->msub_off[m + 1] - c->msub_off[m];
    return bsearch(&t, base, n, sizeof(uint32_t), cmp_u32) != NULL;
}

/* (load, rank) order: the less loaded first, ties to the lower rank. */
static bool lighter(const struct actx *c, uint32_t a, uint32_t b)
{
    if (c->load[a] != c->load[b]) {
        return c->load[a] < c->load[b];
    }
    return c->m_rank[a] < c->m_rank[b];
}

static void heap_down(const struct actx *c, uint32_t *heap, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < n && lighter(c, heap[l], heap[best])) {
            best = l;
        }
        if (r < n && lighter(c, heap[r], heap[best])) {
            best = r;
        }
        if (best == i) {
            return;
        }
        uint32_t tmp = heap[i];
        heap[i] = heap[best];
        heap[best] = tmp;
        i = best;
    }
}

/* Free partitions of each topic go to its least loaded subscriber, kept in a min-heap. */
static void sticky_fill(struct actx *c, uint32_t *heap)
{
    for (uint32_t r = 0; r < c->topics; r++) {
        uint32_t t = c->t_by_rank[r];
        uint32_t n = c->sub_off[t + 1] - c->sub_off[t];
        if (n == 0) {
            continue;
        }
        memcpy(heap, c->sub_mem + c->sub_off[t], n * sizeof(uint32_t));
        for (uint32_t i = n / 2; i-- > 0;) {
            heap_down(c, heap, n, i);
        }
        for (uint32_t g = c->t_base[t]; g < c->t_base[t + 1]; g++) {
            if (c->owner[g] == NONE) {
                give(c, g, heap[0]);
                heap_down(c, heap, n, 0);
            }
        }
    }
}

/* (load desc, rank) order: the more loaded first, ties to the lower rank. */
static bool heavier(const struct actx *c, uint32_t a, uint32_t b)
{
    if (c->load[a] != c->load[b]) {
        return c->load[a] > c->load[b];
    }
    return c->m_rank[a] < c->m_rank[b];
}

/* A binary heap of members that knows each member's slot, so a changed load re-sorts it. */
struct iheap {
    uint32_t *item; /* members, heap ordered */
    uint32_t *pos;  /* member -> slot in item, NONE when absent */
    uint32_t n;     /* members in the heap */
    bool max;       /* heavier first (else lighter first) */
};

static bool iheap_before(const struct actx *c, const struct iheap *h, uint32_t a, uint32_t b)
{
    return h->max ? heavier(c, a, b) : lighter(c, a, b);
}

static void iheap_swap(struct iheap *h, uint32_t i, uint32_t j)
{
    uint32_t a = h->item[i], b = h->item[j];
    h->item[i] = b;
    h->item[j] = a;
    h->pos[b] = i;
    h->pos[a] = j;
}

static void iheap_fix(const struct actx *c, struct iheap *h, uint32_t m)
{
    uint32_t i = h->pos[m];
    while (i > 0 && iheap_before(c, h, h->item[i], h->item[(i - 1) / 2])) {
        iheap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < h->n && iheap_before(c, h, h->item[l], h->item[best])) {
            best = l;
        }
        if (r < h->n && iheap_before(c, h, h->item[r], h->item[best])) {
            best = r;
        }
        if (best == i) {
            return;
        }
        iheap_swap(h, i, best);
        i = best;
    }
}

static void iheap_push(const struct actx *c, struct iheap *h, uint32_t m)
{
    h->item[h->n] = m;
    h->pos[m] = h->n++;
    iheap_fix(c, h, m);
}

static void iheap_remove(const struct actx *c, struct iheap *h, uint32_t m)
{
    uint32_t i = h->pos[m], last = h->item[h->n - 1];
    iheap_swap(h, i, h->n - 1);
    h->n--;
    h->pos[m] = NONE;
    if (last != m) {
        iheap_fix(c, h, last);
    }
}

/* State of the balancing passes; every array is allocated once per assign_sticky. */
struct balance {
    uint32_t *count;           /* count[l]: members with load l, l <= parts */
    uint32_t max;              /* largest load of any member */
    uint32_t *head;            /* member -> top of its stack of partitions of the current topic */
    uint32_t *link;            /* global partition -> next partition down the same stack */
    struct iheap light, heavy; /* subscribers by load; owners of the topic by load */
};

static void balance_move(struct actx *c, struct balance *b, uint32_t from, uint32_t to)
{
    uint32_t g = b->head[from];
    b->head[from] = b->link[g];
    b->link[g] = b->head[to];
    b->head[to] = g;
    b->count[c->load[from]]--;
    b->count[c->load[to]]--;
    c->load[from]--;
    c->load[to]++;
    c->owner[g] = to;
    b->count[c->load[from]]++;
    b->count[c->load[to]]++;
    while (b->max > 0 && b->count[b->max] == 0) {
        b->max--;
    }
    if (b->head[from] == NONE) {
        iheap_remove(c, &b->heavy, from);
    } else {
        iheap_fix(c, &b->heavy, from);
    }
    if (b->heavy.pos[to] == NONE) {
        iheap_push(c, &b->heavy, to);
    } else {
        iheap_fix(c, &b->heavy, to);
    }
    iheap_fix(c, &b->light, from);
    iheap_fix(c, &b->light, to);
}

/*
 * Moves partitions of topic t from its most loaded owner to its least loaded subscriber while
 * they differ by two or more; an owner gives its most recently gained, else its highest
 * partition. strict: only while that owner carries the largest load of all, which makes every
 * move one the balance needs (the greedy max-to-min order moves the fewest). Only subscribers
 * of t change load here, so two heaps over them stay exact. Returns whether anything moved.
 */
static bool sticky_balance_topic(struct actx *c, struct balance *b, uint32_t t, bool strict)
{
    const uint32_t *subs = c->sub_mem + c->sub_off[t];
    uint32_t n = c->sub_off[t + 1] - c->sub_off[t];
    if (n == 0) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        b->head[subs[i]] = NONE;
    }
    for (uint32_t g = c->t_base[t]; g < c->t_base[t + 1]; g++) {
        uint32_t o = c->owner[g];
        RILL_ASSERT(o != NONE);
        b->link[g] = b->head[o];
        b->head[o] = g;
    }
    b->light.n = 0;
    b->heavy.n = 0;
    for (uint32_t i = 0; i < n; i++) {
        iheap_push(c, &b->light, subs[i]);
        if (b->head[subs[i]] != NONE) {
            iheap_push(c, &b->heavy, subs[i]);
        }
    }
    bool moved = false;
    while (b->heavy.n > 0) {
        uint32_t from = b->heavy.item[0], to = b->light.item[0];
        if (c->load[from] < c->load[to] + 2 || (strict && c->load[from] != b->max)) {
            break;
        }
        balance_move(c, b, from, to);
        moved = true;
    }
    for (uint32_t i = 0; i < n; i++) {
        b->light.pos[subs[i]] = NONE;
        b->heavy.pos[subs[i]] = NONE;
    }
    return moved;
}

/* Repeats strict passes over all topics, then a relaxed one, until neither moves anything.
 * Every move lowers the sum of squared loads, so this ends. */
static void sticky_balance(struct actx *c, struct balance *b)
{
    for (;;) {
        bool moved = false;
        for (uint32_t r = 0; r < c->topics; r++) {
            moved |= sticky_balance_topic(c, b, c->t_by_rank[r], true);
        }
        if (moved) {
            continue;
        }
        for (uint32_t r = 0; r < c->topics; r++) {
            moved |= sticky_balance_topic(c, b, c->t_by_rank[r], false);
        }
        if (!moved) {
            return;
        }
    }
}

static void balance_free(struct balance *b)
{
    free(b->count);
    free(b->head);
    free(b->link);
    free(b->light.item);
    free(b->light.pos);
    free(b->heavy.item);
    free(b->heavy.pos);
}

static rill_err balance_init(struct balance *b, const struct actx *c)
{
    memset(b, 0, sizeof(*b));
    b->count = calloc((size_t)c->parts + 1, sizeof(uint32_t));
    b->head = alloc_u32(c->members);
    b->link = alloc_u32(c->parts);
    b->light.item = alloc_u32(c->members);
    b->light.pos = alloc_u32(c->members);
    b->heavy.item = alloc_u32(c->members);
    b->heavy.pos = alloc_u32(c->members);
    b->heavy.max = true;
    if (b->count == NULL || b->head == NULL || b->link == NULL || b->light.item == NULL ||
        b->light.pos == NULL || b->heavy.item == NULL || b->heavy.pos == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t m = 0; m < c->members; m++) {
        b->light.pos[m] = NONE;
        b->heavy.pos[m] = NONE;
        b->count[c->load[m]]++;
        b->max = c->load[m] > b->max ? c->load[m] : b->max;
    }
    return RILL_OK;
}

static rill_err assign_sticky(struct actx *c)
{
    /* Valid previous owners first, members in rank order: the first claim wins. */
    for (uint32_t r = 0; r < c->members; r++) {
        uint32_t m = c->m_by_rank[r];
        const struct assign_member *mem = &c->in->members[m];
        for (size_t i = 0; i < mem->owned_count; i++) {
            const struct assign_tp *tp = &mem->owned[i];
            uint32_t g = c->t_base[tp->topic] + tp->partition;
            if (c->owner[g] == NONE && subscribes(c, m, tp->topic)) {
                give(c, g, m);
            }
        }
    }
    uint32_t *heap = alloc_u32(c->members);
    if (heap == NULL) {
        return RILL_ERR_NOMEM;
    }
    sticky_fill(c, heap);
    free(heap);
    struct balance b;
    rill_err err = balance_init(&b, c);
    if (err == RILL_OK) {
        sticky_balance(c, &b);
    }
    balance_free(&b);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* results                                                                                   */

/* One block: the result, its member lists, then every assigned partition. */
static rill_err build_result(const struct actx *c, struct assign_result **out)
{
    size_t assigned = 0;
    for (uint32_t m = 0; m < c->members; m++) {
        assigned += c->load[m];
    }
    size_t bytes = sizeof(struct assign_result) + c->members * sizeof(struct assign_list) +
                   assigned * sizeof(struct assign_tp);
    struct assign_result *res = malloc(bytes);
    if (res == NULL) {
        return RILL_ERR_NOMEM;
    }
    res->member_count = c->members;
    res->members = (struct assign_list *)(res + 1);
    res->assigned = assigned;
    struct assign_tp *tps = (struct assign_tp *)(res->members + c->members);
    size_t *fill = calloc(c->members > 0 ? c->members : 1, sizeof(size_t));
    if (fill == NULL) {
        free(res);
        return RILL_ERR_NOMEM;
    }
    size_t off = 0;
    for (uint32_t m = 0; m < c->members; m++) {
        res->members[m].tps = tps + off;
        res->members[m].count = c->load[m];
        fill[m] = off;
        off += c->load[m];
    }
    for (uint32_t r = 0; r < c->topics; r++) {
        uint32_t t = c->t_by_rank[r];
        for (uint32_t g = c->t_base[t]; g < c->t_base[t + 1]; g++) {
            if (c->owner[g] != NONE) {
                tps[fill[c->owner[g]]++] =
                    (struct assign_tp){ .topic = t, .partition = g - c->t_base[t] };
            }
        }
    }
    free(fill);
    *out = res;
    return RILL_OK;
}

rill_err assign_compute(const struct assign_input *in,
                        enum assign_strategy strategy,
                        struct assign_result **out)
{
    if (out == NULL) {
        return RILL_ERR_INVALID;
    }
    *out = NULL;
    if (strategy != ASSIGN_RANGE && strategy != ASSIGN_ROUNDROBIN && strategy != ASSIGN_STICKY) {
        return RILL_ERR_INVALID;
    }
    struct actx c;
    rill_err err = actx_init(&c, in);
    if (err == RILL_OK) {
        if (strategy == ASSIGN_RANGE) {
            assign_range(&c);
        } else if (strategy == ASSIGN_ROUNDROBIN) {
            assign_roundrobin(&c);
        } else {
            err = assign_sticky(&c);
        }
    }
    if (err == RILL_OK) {
        err = build_result(&c, out);
    }
    actx_free(&c);
    return err;
}

void assign_result_free(struct assign_result *result)
{
    free(result);
}

/* ---------------------------------------------------------------------------------------- */
/* cooperative step                                                                          */

/* Scratch of a step: who the target names, who owns anything now, a per-member mark. */
struct step_scratch {
    uint32_t *target; /* global partition -> target member or NONE */
    uint8_t *owned;   /* global partition -> owned by any member in prev */
    uint32_t *mark;   /* global partition -> last member that listed it as owned */
};

static rill_err
step_scratch_init(struct step_scratch *s, const struct actx *c, const struct assign_result *target)
{
    s->target = alloc_u32(c->parts);
    s->owned = calloc(c->parts > 0 ? c->parts : 1, 1);
    s->mark = alloc_u32(c->parts);
    if (s->target == NULL || s->owned == NULL || s->mark == NULL) {
        return RILL_ERR_NOMEM;
    }
    if (target->member_count != c->members || (c->members > 0 && target->members == NULL)) {
        return RILL_ERR_INVALID;
    }
    for (uint32_t g = 0; g < c->parts; g++) {
        s->target[g] = NONE;
        s->mark[g] = NONE;
    }
    for (uint32_t m = 0; m < c->members; m++) {
        const struct assign_list *l = &target->members[m];
        if (l->count > 0 && l->tps == NULL) {
            return RILL_ERR_INVALID;
        }
        for (size_t i = 0; i < l->count; i++) {
            const struct assign_tp *tp = &l->tps[i];
            if (tp->topic >= c->topics || tp->partition >= c->in->topics[tp->topic].partitions) {
                return RILL_ERR_INVALID;
            }
            uint32_t g = c->t_base[tp->topic] + tp->partition;
            if (s->target[g] != NONE) {
                return RILL_ERR_INVALID;
            }
            s->target[g] = m;
        }
        const struct assign_member *mem = &c->in->members[m];
        for (size_t i = 0; i < mem->owned_count; i++) {
            s->owned[c->t_base[mem->owned[i].topic] + mem->owned[i].partition] = 1;
        }
    }
    return RILL_OK;
}

/* Sorts one member's partitions into its three lists; with tps == NULL only counts them. */
static void step_member(const struct actx *c,
                        struct step_scratch *s,
                        const struct assign_list *target,
                        uint32_t m,
                        struct assign_step_member *sm,
                        struct assign_tp *tps)
{
    const struct assign_member *mem = &c->in->members[m];
    struct assign_tp *keep = tps, *revoke = NULL, *now = NULL;
    size_t nkeep = 0, nrevoke = 0, nnow = 0;
    if (tps != NULL) {
        revoke = tps + sm->keep.count;
        now = revoke + sm->revoke.count;
    }
    for (size_t i = 0; i < mem->owned_count; i++) {
        const struct assign_tp *tp = &mem->owned[i];
        uint32_t g = c->t_base[tp->topic] + tp->partition;
        if (s->mark[g] == m) {
            continue; /* listed twice by this member */
        }
        s->mark[g] = m;
        if (s->target[g] != m) {
            if (revoke != NULL) {
                revoke[nrevoke] = *tp;
            }
            nrevoke++;
        }
    }
    sm->pending = 0;
    for (size_t i = 0; i < target->count; i++) {
        const struct assign_tp *tp = &target->tps[i];
        uint32_t g = c->t_base[tp->topic] + tp->partition;
        if (s->mark[g] == m) {
            if (keep != NULL) {
                keep[nkeep] = *tp;
            }
            nkeep++;
        } else if (s->owned[g]) {
            sm->pending++;
        } else {
            if (now != NULL) {
                now[nnow] = *tp;
            }
            nnow++;
        }
    }
    if (revoke != NULL) {
        qsort_r(revoke, nrevoke, sizeof(*revoke), cmp_tp_rank, c->t_rank);
    }
    sm->keep = (struct assign_list){ .tps = keep, .count = nkeep };
    sm->revoke = (struct assign_list){ .tps = revoke, .count = nrevoke };
    sm->assign_now = (struct assign_list){ .tps = now, .count = nnow };
}

/* Counts every list, allocates one block, fills it (the target lists are already sorted). */
static rill_err build_step(const struct actx *c,
                           struct step_scratch *s,
                           const struct assign_result *target,
                           struct assign_step **out)
{
    struct assign_step_member *counts = calloc(c->members > 0 ? c->members : 1, sizeof(*counts));
    if (counts == NULL) {
        return RILL_ERR_NOMEM;
    }
    size_t total = 0;
    for (uint32_t m = 0; m < c->members; m++) {
        step_member(c, s, &target->members[m], m, &counts[m], NULL);
        total += counts[m].keep.count + counts[m].revoke.count + counts[m].assign_now.count;
    }
    size_t bytes = sizeof(struct assign_step) + c->members * sizeof(struct assign_step_member) +
                   total * sizeof(struct assign_tp);
    struct assign_step *step = malloc(bytes);
    if (step == NULL) {
        free(counts);
        return RILL_ERR_NOMEM;
    }
    step->member_count = c->members;
    step->members = (struct assign_step_member *)(step + 1);
    step->pending_total = 0;
    struct assign_tp *tps = (struct assign_tp *)(step->members + c->members);
    for (uint32_t g = 0; g < c->parts; g++) {
        s->mark[g] = NONE;
    }
    for (uint32_t m = 0; m < c->members; m++) {
        step->members[m] = counts[m];
        step_member(c, s, &target->members[m], m, &step->members[m], tps);
        RILL_ASSERT(step->members[m].keep.count == counts[m].keep.count);
        tps += counts[m].keep.count + counts[m].revoke.count + counts[m].assign_now.count;
        step->pending_total += step->members[m].pending;
    }
    free(counts);
    *out = step;
    return RILL_OK;
}

rill_err assign_cooperative_step(const struct assign_input *prev,
                                 const struct assign_result *target,
                                 struct assign_step **out)
{
    if (out == NULL || target == NULL) {
        return RILL_ERR_INVALID;
    }
    *out = NULL;
    struct actx c;
    struct step_scratch s = { 0 };
    rill_err err = actx_init(&c, prev);
    if (err == RILL_OK) {
        err = step_scratch_init(&s, &c, target);
    }
    if (err == RILL_OK) {
        err = build_step(&c, &s, target, out);
    }
    free(s.target);
    free(s.owned);
    free(s.mark);
    actx_free(&c);
    return err;
}

void assign_step_free(struct assign_step *step)
{
    free(step);
}

static const char *const strategy_names[] = {
    [ASSIGN_RANGE] = "range",
    [ASSIGN_ROUNDROBIN] = "roundrobin",
    [ASSIGN_STICKY] = "sticky",
};

const char *assign_strategy_name(enum assign_strategy strategy)
{
    if (strategy >= ASSIGN_RANGE && strategy <= ASSIGN_STICKY) {
        return strategy_names[strategy];
    }
    return "unknown";
}

rill_err assign_strategy_parse(const char *name, enum assign_strategy *out)
{
    for (int s = ASSIGN_RANGE; name != NULL && out != NULL && s <= ASSIGN_STICKY; s++) {
        if (strcmp(name, strategy_names[s]) == 0) {
            *out = (enum assign_strategy)s;
            return RILL_OK;
        }
    }
    return RILL_ERR_INVALID;
}
