/*
 * assign.h - broker-side partition assignment for consumer groups: pure, deterministic logic.
 *
 * The group coordinator resolves each member's subscription (topic list or pattern) to topic
 * indexes, then asks this module for the target assignment of a generation:
 *
 *   range       per topic, subscribers sorted by id get contiguous ranges; the first
 *               (partitions % subscribers) members get one extra (Kafka's range assignor)
 *   roundrobin  every subscribed partition, sorted by (topic name, partition), dealt in turn
 *               to the members sorted by id, skipping members not subscribed to its topic
 *   sticky      keeps every valid previous owner, hands free partitions to the least loaded
 *               subscriber, then moves partitions from the most loaded to the least loaded
 *               subscriber of their topic until no such pair differs by two or more: members
 *               with equal subscriptions end within one partition of each other, and only as
 *               many partitions move as the balance needs
 *
 * assign_cooperative_step turns (previous ownership, target) into Kafka's incremental
 * cooperative protocol: a member keeps what stays with it, revokes what moves away, and takes
 * at once only partitions nobody owns; partitions still owned elsewhere wait for the next
 * generation, after their owner revoked them. No partition ever has two owners.
 *
 * Every partition of a topic with at least one subscriber gets exactly one owner, which
 * subscribes to its topic; partitions of topics nobody subscribes to stay unassigned.
 * Results depend only on member ids, topic names and the subscriptions / ownership sets, never
 * on input order: ids and names are sorted with strcmp. No I/O, no globals; thread-safe.
 * Memory: a few allocations proportional to the inputs, bounded by the ASSIGN_*_MAX limits.
 */
#ifndef RILL_CONSUMER_ASSIGN_H
#define RILL_CONSUMER_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "rill.h"

#define ASSIGN_MEMBERS_MAX       10000u    /* members of one group */
#define ASSIGN_PARTITIONS_MAX    100000u   /* sum of partitions over all topics given */
#define ASSIGN_TOPICS_MAX        100000u   /* topics given (each may have 0 partitions) */
#define ASSIGN_SUBSCRIPTIONS_MAX 10000000u /* sum over members of subscribed topic entries */

enum assign_strategy {
    ASSIGN_RANGE = 1,
    ASSIGN_ROUNDROBIN = 2,
    ASSIGN_STICKY = 3,
};

/* One partition: topic is an index into assign_input.topics. */
struct assign_tp {
    uint32_t topic;     /* index into the input's topic array */
    uint32_t partition; /* < that topic's partition count */
};

struct assign_topic {
    const char *name;    /* unique, NUL-terminated; sorts the topics */
    uint32_t partitions; /* partition count, may be 0 */
};

struct assign_member {
    const char *id;                /* unique, NUL-terminated; sorts the members */
    const uint32_t *topics;        /* subscribed topic indexes (duplicates ignored) */
    size_t topic_count;            /* entries in topics */
    const struct assign_tp *owned; /* owned in the previous generation (sticky, cooperative) */
    size_t owned_count;            /* entries in owned; 0 for a new member */
};

/* Borrowed by the calls below, never kept. */
struct assign_input {
    const struct assign_topic *topics;   /* topic_count entries */
    size_t topic_count;                  /* <= ASSIGN_TOPICS_MAX */
    const struct assign_member *members; /* member_count entries */
    size_t member_count;                 /* <= ASSIGN_MEMBERS_MAX */
};

/* A list of partitions, sorted by (topic name, partition). */
struct assign_list {
    const struct assign_tp *tps; /* count entries, owned by the enclosing result */
    size_t count;                /* entries in tps */
};

struct assign_result {
    size_t member_count;         /* == input member_count */
    struct assign_list *members; /* members[i]: the target of input member i */
    size_t assigned;             /* partitions assigned in total */
};

/*
 * Compute the target assignment. Owned partitions of topics a member no longer subscribes to
 * are ignored; a partition claimed by several members stays with the first by id (sticky).
 * range and roundrobin ignore owned.
 * @param[out] out  on RILL_OK a result owned by the caller: assign_result_free()
 * @return RILL_OK; RILL_ERR_INVALID for a NULL pointer with a nonzero count, a NULL or
 *         duplicate id or name, an index or partition out of range, a bound exceeded or an
 *         unknown strategy; RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err assign_compute(const struct assign_input *in,
                                        enum assign_strategy strategy,
                                        struct assign_result **out);
void assign_result_free(struct assign_result *result);

/* One member's share of a cooperative step; every list is sorted. */
struct assign_step_member {
    struct assign_list keep;       /* owned and still assigned to it: keep consuming */
    struct assign_list revoke;     /* owned but assigned elsewhere (or duplicates): stop now */
    struct assign_list assign_now; /* assigned to it and owned by nobody: start now */
    size_t pending;                /* assigned to it but still owned elsewhere: next gen */
};

struct assign_step {
    size_t member_count;                /* == input member_count */
    struct assign_step_member *members; /* members[i]: for input member i */
    size_t pending_total;               /* > 0: a follow-up generation must complete the move */
};

/*
 * One cooperative rebalance step from the ownership in prev (members' owned lists) towards
 * target, which assign_compute returned for the same members (same order). After the step a
 * member owns keep + assign_now; these sets are disjoint across members. Running the step
 * again with that ownership and the same target gives pending_total == 0 and ownership ==
 * target: two steps always converge.
 * @param[out] out  on RILL_OK owned by the caller: assign_step_free()
 * @return RILL_OK; RILL_ERR_INVALID as assign_compute, or a target that does not match prev
 *         (member count, a partition out of range or assigned twice); RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err assign_cooperative_step(const struct assign_input *prev,
                                                 const struct assign_result *target,
                                                 struct assign_step **out);
void assign_step_free(struct assign_step *step);

/* "range", "roundrobin", "sticky"; "unknown" for anything else. Static storage. */
const char *assign_strategy_name(enum assign_strategy strategy);

/* @return RILL_OK, or RILL_ERR_INVALID for an unknown (or NULL) name. */
RILL_MUST_CHECK rill_err assign_strategy_parse(const char *name, enum assign_strategy *out);

#endif
