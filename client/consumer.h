/*
 * consumer.h - the private side of rill_consumer_t, shared by consumer.c (assign mode,
 * fetching, the record walk) and group.c (subscribe mode: the consumer group member).
 */
#ifndef RILL_CLIENT_CONSUMER_H
#define RILL_CLIENT_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client.h"
#include "common/conf.h"
#include "log/batch.h"

/* What auto.offset.reset says to do for a partition without a usable committed offset. */
enum cgroup_reset {
    CGROUP_RESET_EARLIEST,
    CGROUP_RESET_LATEST,
    CGROUP_RESET_ERROR,
};

/* The consumer group keys (common/conf.c), read once at create. */
struct cgroup_conf {
    bool auto_commit;                            /* enable.auto.commit */
    int64_t auto_commit_interval_ns;             /* auto.commit.interval.ms */
    enum cgroup_reset reset;                     /* auto.offset.reset */
    int32_t session_timeout_ms;                  /* session.timeout.ms */
    int32_t rebalance_timeout_ms;                /* rebalance.timeout.ms */
    const char *strategies[CONF_STRATEGIES_MAX]; /* partition.assignment.strategy, static */
    uint32_t strategy_count;
};

struct cgroup;

/* One partition the consumer reads: assigned, or held from the group. */
struct cpart {
    char *topic;
    struct client_topic *meta;
    int32_t partition;
    int64_t position;       /* offset of the next record to return */
    int64_t high_watermark; /* as of the last fetch */
    uint64_t epoch;         /* bumped by assign and seek */
    uint64_t fetch_epoch;   /* epoch when the fetch of that answer was sent */
    bool in_fetch;          /* has an entry in the answer being walked (cur) */
    int64_t fetch_offset;   /* the offset that answer asked for */
    bool in_next;           /* part of the fetch in flight, or of the answer waiting in next */
    uint64_t next_epoch;    /* epoch when that fetch was sent */
    int64_t next_offset;    /* the offset it asked for */
    int64_t ahead;          /* offset after the complete batches fetched for it (a prefetch
                             * asks from there); valid while ahead_epoch == epoch */
    uint64_t ahead_epoch;
    bool paused;         /* after OFFSET_OUT_OF_RANGE: until the next seek */
    bool eof_reported;   /* RILL_ERR_END given at this position */
    int64_t retry_at_ns; /* after a partition error: no fetch before */
    unsigned failures;
    /* subscribe mode (client/group.c) */
    int64_t returned;      /* offset after the last record rill_consume returned; -1: none */
    int64_t committed;     /* the group's committed offset as last learned; -1: none known */
    bool needs_offset;     /* waiting for the committed offset (OFFSET_FETCH) */
    bool needs_reset;      /* no usable offset: auto.offset.reset resolves it (LIST_OFFSETS) */
    rill_err event_due;    /* an event to return once (auto.offset.reset=error, unknown topic) */
    bool revoking;         /* given up: not fetched, held until the commit and the rejoin */
    bool lookup_inflight;  /* an OFFSET_FETCH or LIST_OFFSETS for it is in flight */
    uint64_t lookup_epoch; /* epoch when that lookup was sent */
};

/* The fetched answer being walked. */
struct cfetch {
    uint8_t *frame;            /* owned frame buffer; the decoded response points into it */
    union proto_response resp; /* .fetch */
    uint32_t topic_index;      /* position of the walk */
    uint32_t part_index;
    const uint8_t *batch_pos; /* next batch of the current partition */
    const uint8_t *batch_end;
    bool iterating;     /* it holds the current batch */
    bool part_started;  /* the current partition's preamble (error/eof) handled */
    struct cpart *part; /* assigned partition of the current entry, NULL: skip */
};

struct rill_consumer {
    struct client cl;
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    int32_t partition_max_bytes;
    bool partition_eof;
    struct cpart **parts;
    unsigned part_count;
    unsigned part_capacity;
    unsigned fetch_next; /* round robin start over partitions */
    uint64_t epoch_next;
    bool fetching;         /* a FETCH is in flight */
    bool fetched;          /* an answer is in cur (being walked) */
    bool next_ready;       /* the answer of the prefetch is in next, walked after cur */
    bool prefetch_tried;   /* the prefetch for the current cur was sent or could not be */
    unsigned walk_records; /* records handed out since the last look at the sockets */
    struct cfetch cur;
    struct proto_arena arena; /* the decoded fetch answer in cur */
    struct cfetch next;
    struct proto_arena next_arena; /* the decoded answer in next */
    struct log_record_iter it;
    struct rill_record_view view;
    rill_message_t msg;
    char *retired_topic;       /* name of a partition unassigned while msg pointed at it */
    bool unreachable_reported; /* RILL_ERR_CONNECTION was returned for the current outage */
    bool assign_mode;          /* rill_consumer_assign was used (exclusive with subscribe) */
    bool in_callback;          /* a rebalance or commit callback is running */
    struct cgroup_conf gconf;  /* the group keys, read at create */
    struct cgroup *group;      /* subscribe mode state; NULL until the first rill_subscribe */
    rill_rebalance_cb *rebalance_cb;
    void *rebalance_opaque;
    rill_commit_cb *commit_cb;
    void *commit_opaque;
};

/* ---- consumer.c, for group.c ---- */

struct cpart *
consumer_part_find(rill_consumer_t *c, const char *topic, size_t topic_bytes, int32_t partition);
/* A new partition (position unknown, not fetched until set); NULL when out of memory. */
struct cpart *consumer_part_add(rill_consumer_t *c, const char *topic, int32_t partition);
/* Forgets part, dropping whatever of it was fetched (the last message stays valid). */
void consumer_part_remove(rill_consumer_t *c, struct cpart *part);
/* Drops the fetched data of part not yet returned (bumps its epoch). */
void consumer_part_drop_fetched(rill_consumer_t *c, struct cpart *part);
/* A record-less message about part, valid until the next rill_consume. */
const rill_message_t *consumer_message_event(rill_consumer_t *c, struct cpart *part, rill_err err);

/* ---- group.c, for consumer.c ---- */

/* Reads the group keys of conf (validated when set). */
void cgroup_conf_read(struct cgroup_conf *gconf, const rill_conf_t *conf);
/* True while subscribed. */
bool cgroup_active(const rill_consumer_t *c);
/* Runs the group loop from rill_consume: answers, callbacks, joins, heartbeats, commits,
 * offset lookups. Returns a message to hand out (a group error, an offset reset refused by
 * auto.offset.reset=error), or NULL. */
const rill_message_t *cgroup_serve(rill_consumer_t *c);
/* When the group loop wants to run next (monotonic ns; INT64_MAX: nothing pending). */
int64_t cgroup_wake_ns(const rill_consumer_t *c);
/* The longest FETCH long poll that keeps the heartbeats on time. */
int32_t cgroup_fetch_wait_ms(const rill_consumer_t *c, int32_t wanted_ms);
/* A FETCH found part's position outside the log: true when auto.offset.reset takes it over
 * (earliest, latest), false when the caller reports the error and pauses the partition. */
bool cgroup_out_of_range(rill_consumer_t *c, struct cpart *part);
/* True when part may be fetched (its position is known and it is not being given up). */
bool cgroup_part_ready(const struct cpart *part);
/* Unsubscribes with a bounded wait and frees the group state (rill_consumer_destroy, before
 * the connections close). */
void cgroup_destroy_begin(rill_consumer_t *c);
/* Frees what is left after the connections closed. */
void cgroup_destroy_end(rill_consumer_t *c);

#endif
