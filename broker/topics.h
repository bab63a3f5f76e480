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
 * "<data_dir>/__meta" (topic names never start with "__").
 */
#ifndef RILL_BROKER_TOPICS_H
#define RILL_BROKER_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "broker/meta.h"
#include "broker/producer.h"
#include "log/partition.h"

struct broker_topic;

/* Counters of one partition for /metrics; only the owner core writes them. */
struct broker_partition_stats {
    uint64_t produce_batches;
    uint64_t produce_records;
    uint64_t produce_bytes;
    uint64_t produce_errors;
    uint64_t produce_duplicates; /* idempotent retries answered without appending */
    uint64_t fetch_requests;
    uint64_t fetch_bytes;
};

struct broker_partition {
    struct broker_topic *topic; /* owner; outlives the partition */
    int32_t index;
    unsigned core_index; /* the core that owns it */
    struct log_partition *log;
    struct producer_table producers;      /* idempotence windows per producer id */
    bool commit_pending;                  /* appended since the last commit of the core */
    struct broker_partition *commit_next; /* link of the core's commit list */
    struct broker_partition_stats stats;
};

struct broker_topic {
    char *name;
    int32_t partition_count;
    struct log_config cfg;               /* effective config of its logs */
    struct broker_partition *partitions; /* partition_count of them */
};

struct broker_topics {
    char *data_dir;
    struct log_io *io; /* borrowed: the owner core's disk I/O, shared by every partition */
    struct meta_log *meta;
    struct meta_state state;
    struct broker_topic **topics; /* sorted by name; topic_count of them */
    uint32_t topic_count;
    uint32_t topic_capacity;
    unsigned core_count;
};

/*
 * Opens the metadata log in data_dir, replays it, removes partition directories no topic
 * owns, and opens every partition log on io (recovering each). core_count is the number of
 * cores partitions are placed on.
 */
RILL_MUST_CHECK rill_err topics_open(const char *data_dir,
                                     struct log_io *io,
                                     unsigned core_count,
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
/* The core that owns a topic's partition: XXH3 of "<topic>/<partition>" over core_count. */
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
/* Deletes a topic: the record first, then its logs and directories. The caller must have
 * dropped every reference to its partitions (pending requests) first: see
 * topics_delete_prepare in pending.h. */
RILL_MUST_CHECK rill_err topics_delete(struct broker_topics *topics,
                                       const char *name,
                                       char *errstr,
                                       size_t errstr_bytes);
/* Sets (value non-NULL) or resets (value NULL) topic configs and applies them to open logs. */
RILL_MUST_CHECK rill_err topics_alter(struct broker_topics *topics,
                                      const char *name,
                                      const struct meta_config *configs,
                                      uint32_t config_count,
                                      char *errstr,
                                      size_t errstr_bytes);

/* The partition's high watermark: what consumers may read. The written end, or the durable end
 * when the topic's flush policy is `always` (docs/protocol.md, FETCH). */
int64_t topics_high_watermark(const struct broker_partition *bp);

#endif
