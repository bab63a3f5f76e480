/*
 * group.h - the consumer group coordinator: groups, members, sessions, generations,
 * cooperative rebalances and committed offsets (docs/protocol.md, "Consumer groups").
 *
 * A pure state machine: no I/O, no clock, no threads. The broker (core 0) owns one instance,
 * feeds it the decoded requests of apis 10-18 together with the current time, and gets the
 * response structs back. Everything the coordinator needs to know about topics comes through
 * struct group_topics (the broker's topics view); every change to committed offsets goes out
 * through struct group_sink as a struct group_offset_record before it is applied, so the broker
 * can store it in the offsets topic and answer once that is durable. At start the broker
 * replays the offsets topic into group_coord_load().
 *
 * Memberships live in memory only: after a restart the groups with committed offsets exist
 * again (empty), and every member must join anew.
 *
 * Time: mono_ms (a monotonic clock) drives sessions and rebalance timeouts; wall_ms (the
 * real-time clock) stamps commits, because group retention must survive restarts.
 *
 * Responses are allocated in the arena passed with the request (the core's request arena);
 * the strings in them may point into the request or into the coordinator's own state, both
 * valid until the next call on the coordinator.
 */
#ifndef RILL_CONSUMER_GROUP_H
#define RILL_CONSUMER_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "proto/api.h"
#include "proto/arena.h"

struct group_coord;

/* Bounds and timeouts, from broker settings (defaults in brackets). */
struct group_config {
    int32_t session_timeout_min_ms;   /* group.min.session.timeout.ms [1000] */
    int32_t session_timeout_max_ms;   /* group.max.session.timeout.ms [300000] */
    int32_t rebalance_timeout_max_ms; /* group.max.rebalance.timeout.ms [300000] */
    uint32_t members_max;             /* group.max.size: members of one group [1000] */
    uint32_t groups_max;              /* groups at once (ERR_FULL beyond) [100000] */
    uint32_t offsets_max;             /* committed offsets over all groups [1000000] */
    int64_t retention_ms; /* group.retention.ms: an empty group with no commit for this long
                             is deleted with its offsets [604800000, 7 days] */
};

/* What the coordinator asks about topics. Called synchronously during the calls below. */
struct group_topics {
    void *ctx;
    /* Partition count of a topic (internal ones included), or -1 when it does not exist. */
    int32_t (*partitions)(void *ctx, const char *name, uint32_t name_bytes);
    /* Calls fn for every existing topic (pattern subscriptions; internal topics included:
     * the coordinator skips names starting with "__"). */
    void (*each)(void *ctx,
                 void (*fn)(void *arg, const char *name, uint32_t name_bytes, int32_t partitions),
                 void *arg);
    /* Log start offset and high watermark of a partition: RILL_OK,
     * RILL_ERR_UNKNOWN_TOPIC or RILL_ERR_UNKNOWN_PARTITION. */
    rill_err (*bounds)(void *ctx,
                       const char *name,
                       uint32_t name_bytes,
                       int32_t partition,
                       int64_t *start,
                       int64_t *end);
};

/* One change of a committed offset: a record of the offsets topic (see group_record_*). */
struct group_offset_record {
    struct proto_str group;
    struct proto_str topic;
    int32_t partition;
    int64_t offset;            /* the committed offset; -1: deleted (a tombstone record) */
    struct proto_str metadata; /* ptr NULL: nil */
    int64_t commit_wall_ms;    /* when it was committed (retention) */
};

/*
 * Where changes go before they are applied. append() stores the record in the next write of
 * the offsets topic (the broker then makes the answer wait until that write is durable); an
 * error refuses that one change, which is reported with that code (e.g. RILL_ERR_OFFLINE,
 * RILL_ERR_NOMEM) and not applied. The coordinator counts the records it appended in the
 * *appended output of each call, so the broker knows whether the answer must wait.
 */
struct group_sink {
    void *ctx;
    rill_err (*append)(void *ctx, const struct group_offset_record *record);
};

/* Creating one allocates nothing beyond the struct. RILL_ERR_INVALID for a bad config. */
RILL_MUST_CHECK rill_err group_coord_create(const struct group_config *config,
                                            const struct group_topics *topics,
                                            struct group_coord **out);
void group_coord_destroy(struct group_coord *coord);

/*
 * Replays one record of the offsets topic, in log order, before any request is served: sets
 * (or, for offset -1, deletes) a committed offset, creating the group when needed. Records are
 * trusted for their content only as far as the codec checked them; bounds still apply
 * (RILL_ERR_FULL when offsets_max or groups_max would be exceeded: the caller logs and skips).
 */
RILL_MUST_CHECK rill_err group_coord_load(struct group_coord *coord,
                                          const struct group_offset_record *record);

/*
 * The request handlers. Each fills *response (allocating in arena) and returns RILL_OK, or
 * returns a header-level error (RILL_ERR_NOMEM, RILL_ERR_INVALID_REQUEST) with *response
 * unspecified. Group-level and per-partition errors go in the response as the protocol says.
 * host: the member's address "ip:port" (JOIN_GROUP). *appended: records sent to the sink.
 */
RILL_MUST_CHECK rill_err group_join(struct group_coord *coord,
                                    int64_t mono_ms,
                                    const char *host,
                                    const struct proto_join_group_request *request,
                                    struct proto_arena *arena,
                                    struct proto_join_group_response *response);
RILL_MUST_CHECK rill_err group_heartbeat(struct group_coord *coord,
                                         int64_t mono_ms,
                                         const struct proto_heartbeat_request *request,
                                         struct proto_group_error_response *response);
RILL_MUST_CHECK rill_err group_leave(struct group_coord *coord,
                                     int64_t mono_ms,
                                     const struct proto_leave_group_request *request,
                                     struct proto_group_error_response *response);
RILL_MUST_CHECK rill_err group_offset_commit(struct group_coord *coord,
                                             int64_t mono_ms,
                                             int64_t wall_ms,
                                             const struct proto_offset_commit_request *request,
                                             const struct group_sink *sink,
                                             struct proto_arena *arena,
                                             struct proto_offset_commit_response *response,
                                             uint32_t *appended);
RILL_MUST_CHECK rill_err group_offset_fetch(struct group_coord *coord,
                                            const struct proto_offset_fetch_request *request,
                                            struct proto_arena *arena,
                                            struct proto_offset_fetch_response *response);
RILL_MUST_CHECK rill_err group_list(struct group_coord *coord,
                                    const struct proto_list_groups_request *request,
                                    struct proto_arena *arena,
                                    struct proto_list_groups_response *response);
RILL_MUST_CHECK rill_err group_describe(struct group_coord *coord,
                                        const struct proto_describe_groups_request *request,
                                        struct proto_arena *arena,
                                        struct proto_describe_groups_response *response);
RILL_MUST_CHECK rill_err group_delete(struct group_coord *coord,
                                      const struct proto_delete_groups_request *request,
                                      const struct group_sink *sink,
                                      struct proto_arena *arena,
                                      struct proto_topic_results *response,
                                      uint32_t *appended);
RILL_MUST_CHECK rill_err group_reset_offsets(struct group_coord *coord,
                                             int64_t wall_ms,
                                             const struct proto_reset_offsets_request *request,
                                             const struct group_sink *sink,
                                             struct proto_arena *arena,
                                             struct proto_reset_offsets_response *response,
                                             uint32_t *appended);

/*
 * Time passes: removes members whose session or rebalance timeout ran out (rebalancing their
 * groups) and deletes expired empty groups (tombstones through sink; a sink error leaves the
 * group for a later tick). Call it every 100 ms or so.
 * @return the next mono_ms at which something may expire (INT64_MAX: nothing pending).
 */
int64_t group_coord_tick(struct group_coord *coord,
                         int64_t mono_ms,
                         int64_t wall_ms,
                         const struct group_sink *sink,
                         uint32_t *appended);

/* Topics were created or deleted, or a partition count changed: re-resolves every
 * subscription (patterns included) and rebalances the groups whose partitions changed. */
void group_coord_topics_changed(struct group_coord *coord, int64_t mono_ms);

/* Figures for /metrics. */
struct group_coord_stats {
    uint64_t groups;      /* groups existing */
    uint64_t members;     /* members over all groups */
    uint64_t offsets;     /* committed offsets held */
    uint64_t rebalances;  /* target assignments computed since start */
    uint64_t expirations; /* members removed for a missed session or rebalance timeout */
};
void group_coord_stats(const struct group_coord *coord, struct group_coord_stats *out);

/*
 * The offsets topic's records (docs/format.md, "Offsets topic"). Key: msgpack
 * [1, group: str, topic: str, partition: int]; value: msgpack [offset: int, metadata: str?,
 * commit_wall_ms: int], or a null value (a tombstone) for a deleted offset. The key alone
 * identifies what compaction keeps the latest of.
 * Encoders write into buf (cap bytes) and return the bytes written, or 0 when it does not fit.
 * The decoder checks everything (types, the version 1, group id and topic name rules, lengths,
 * offset >= 0) and returns RILL_ERR_CORRUPT otherwise; the strings point into key and value.
 */
#define GROUP_RECORD_KEY_BYTES_MAX   (16u + PROTO_GROUP_ID_BYTES_MAX + 256u)
#define GROUP_RECORD_VALUE_BYTES_MAX (32u + PROTO_COMMIT_METADATA_BYTES_MAX)

size_t group_record_key_encode(const struct group_offset_record *record, uint8_t *buf, size_t cap);
/* 0 for a tombstone (offset -1): write a null value. */
size_t
group_record_value_encode(const struct group_offset_record *record, uint8_t *buf, size_t cap);
/* value NULL (with value_bytes 0) is a tombstone: offset -1, nil metadata. */
RILL_MUST_CHECK rill_err group_record_decode(const uint8_t *key,
                                             size_t key_bytes,
                                             const uint8_t *value,
                                             size_t value_bytes,
                                             struct group_offset_record *out);

#endif
