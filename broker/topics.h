/*
 * topics.h - the broker's topics and partitions: the metadata state (through the metadata log
 * of meta.h) joined with the open partition logs it describes.
 *
 * Metadata changes (create, delete, alter) are validated, written durably to the metadata log,
 * applied to the state, and only then carried out on disk (partition directories created,
 * removed, configs applied to open logs). A crash between the record and the directories is
 * repaired at the next start: directories of partitions the state does not know are removed,
 * and missing ones are created empty.
 *
 * Each partition is owned by one core (topics_owner_core): only that core appends to it, reads
 * it, or touches its producer state. rilld runs one core today, so every partition belongs to
 * core 0; the placement function is the multi-core one.
 *
 * Partition directories are "<data_dir>/<topic>-<partition>"; the metadata log is in
 * "<data_dir>/__meta" (user topic names never start with "__"; internal topics such as
 * "__consumer_offsets" do, and their directories end in "-<partition>" like any other).
 */
#ifndef RILL_BROKER_TOPICS_H
#define RILL_BROKER_TOPICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "broker/meta.h"
#include "broker/metrics.h"
#include "broker/producer.h"
#include "log/partition.h"

struct broker;
struct broker_topic;

/* Counters of one partition for /metrics: written by the owner core only (metrics_add), read
 * by core 0 when it renders. */
struct broker_partition_stats {
    metrics_counter produce_batches;
    metrics_counter produce_records;
    metrics_counter produce_bytes;
    metrics_counter produce_errors;
    metrics_counter produce_duplicates; /* idempotent retries answered without appending */
    metrics_counter fetch_requests;
    metrics_counter fetch_bytes;
    metrics_counter compactions; /* cleaner passes (cleanup.policy=compact) */
};

/* A partition's figures as its owner last published them, for other cores (DESCRIBE_TOPICS,
 * /metrics on core 0). Written by the owner only. */
struct broker_partition_published {
    _Atomic int64_t start_offset;
    _Atomic int64_t high_watermark;
    _Atomic int64_t durable_offset;
    _Atomic uint64_t size_bytes;
    _Atomic uint64_t segment_count;
    atomic_bool offline;
};

struct broker_partition {
    struct broker_topic *topic; /* owner; outlives the partition */
    int32_t index;
    unsigned core_index; /* the core that owns it */
    struct log_partition *log;
    struct producer_table producers;      /* idempotence windows per producer id */
    bool commit_pending;                  /* appended since the last commit of the core */
    int64_t append_last_ms;               /* monotonic ms of its last append (idle release) */
    struct broker_partition *commit_next; /* link of the core's commit list */
    struct broker_partition_stats stats;
    struct broker_partition_published published;
};

struct broker_topic {
    char *name;
    int32_t partition_count;
    struct log_config cfg;               /* effective config of its logs */
    struct broker_partition *partitions; /* partition_count of them */
};

/* An immutable snapshot of the topics, sorted by name, that every core reads (broker.h). */
struct topics_view {
    uint64_t version;
    uint32_t topic_count;
    struct broker_topic *topics[]; /* topic_count of them */
};

/* Something core 0 frees once every core has moved past version. */
struct topics_retired {
    struct topics_retired *next;
    uint64_t version;
    struct topics_view *view;   /* a replaced view, or NULL */
    struct broker_topic *topic; /* a deleted topic, or NULL */
};

struct broker_topics {
    char *data_dir;
    struct log_io **ios; /* borrowed: each core's disk I/O (index = core), shared by its
                            partitions */
    struct meta_log *meta;
    struct meta_state state;
    struct broker_topic **topics; /* sorted by name; topic_count of them */
    uint32_t topic_count;
    uint32_t topic_capacity;
    unsigned core_count;
    struct broker *broker;          /* where views are published */
    uint64_t view_version;          /* of the last published view */
    struct topics_retired *retired; /* waiting for every core to move on */
};

/*
 * Opens the metadata log in data_dir, replays it, removes partition directories no topic
 * owns, and opens every partition log on io (recovering each). core_count is the number of
 * cores partitions are placed on.
 */
RILL_MUST_CHECK rill_err topics_open(const char *data_dir,
                                     struct log_io **ios,
                                     unsigned core_count,
                                     struct broker *broker,
                                     struct broker_topics **out_topics);
/* Closes every partition (flush, checkpoint) and the metadata log; returns the first error. */
rill_err topics_close(struct broker_topics *topics);

/* The topic named (name, name_bytes) or NULL. */
struct broker_topic *
topics_find(const struct broker_topics *topics, const char *name, size_t name_bytes);
/* The partition, or NULL when the topic or the partition does not exist. */
struct broker_partition *topics_partition(const struct broker_topics *topics,
                                          const char *name,
                                          size_t name_bytes,
                                          int32_t partition);
/* True for the names of internal topics ("__" prefix): created by the broker itself, never by
 * CREATE_TOPICS, and never produced to, altered or deleted by clients. */
bool topics_internal(const char *name, size_t name_bytes);
/* The core that owns a topic's partition: XXH3 of "<topic>/<partition>" over core_count; core 0
 * for internal topics (the group coordinator appends to the offsets topic there). */
unsigned topics_owner_core(const char *name, int32_t partition, unsigned core_count);

/*
 * Creates a topic (configs as key/value pairs of NUL-terminated strings). validate_only checks
 * without writing. errstr gets the reason of a failure.
 */
RILL_MUST_CHECK rill_err topics_create(struct broker_topics *topics,
                                       const char *name,
                                       int32_t partition_count,
                                       const struct meta_config *configs,
                                       uint32_t config_count,
                                       bool validate_only,
                                       char *errstr,
                                       size_t errstr_bytes);
/* topics_create for an internal topic ("__" name), which only the broker itself creates. */
RILL_MUST_CHECK rill_err topics_create_internal(struct broker_topics *topics,
                                                const char *name,
                                                int32_t partition_count,
                                                const struct meta_config *configs,
                                                uint32_t config_count,
                                                char *errstr,
                                                size_t errstr_bytes);
/*
 * Deletes a topic in three steps. topics_delete writes the record and takes the topic out of
 * the table and the view, returning it in *out_topic (NULL when its logs never opened); each
 * owner core then closes its partitions (topics_close_owned, after dropping its references);
 * topics_delete_finish removes the directories and retires the topic.
 */
RILL_MUST_CHECK rill_err topics_delete(struct broker_topics *topics,
                                       const char *name,
                                       struct broker_topic **out_topic,
                                       char *errstr,
                                       size_t errstr_bytes);
void topics_close_owned(struct broker_topic *topic, unsigned core_index);
bool topics_has_partitions_on(const struct broker_topic *topic, unsigned core_index);
void topics_delete_finish(struct broker_topics *topics, struct broker_topic *topic);

/* Applies cfg to the open logs of core_index's partitions of topic (run on that core). */
void topics_apply_config(struct broker_topic *topic,
                         unsigned core_index,
                         const struct log_config *cfg);

/* Publishes the current table as a new view; the old one is retired. */
RILL_MUST_CHECK rill_err topics_publish(struct broker_topics *topics);
/* Frees what every core has moved past (core 0, once per round). */
void topics_reclaim(struct broker_topics *topics);
/* The topic named (name, name_bytes) in view, or NULL. */
struct broker_topic *
topics_view_find(const struct topics_view *view, const char *name, size_t name_bytes);
/* Copies the owner's current figures of bp into bp->published (owner core only). */
void topics_publish_partition(struct broker_partition *bp);
/* Sets (value non-NULL) or resets (value NULL) topic configs; topic->cfg is updated, and
 * each owner core applies it with topics_apply_config. *out_topic: the topic. */
RILL_MUST_CHECK rill_err topics_alter(struct broker_topics *topics,
                                      const char *name,
                                      const struct meta_config *configs,
                                      uint32_t config_count,
                                      struct broker_topic **out_topic,
                                      char *errstr,
                                      size_t errstr_bytes);

/* The partition's high watermark: what consumers may read. The written end, or the durable end
 * when the topic's flush policy is `always` (docs/protocol.md, FETCH). */
int64_t topics_high_watermark(const struct broker_partition *bp);

#endif
