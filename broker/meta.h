/*
 * meta.h - the broker's topic metadata: a state machine fed only by metadata records, and the
 * durable log those records live in.
 *
 * Records are the only way metadata changes. A change is validated against the current state
 * (meta_validate), written durably to the metadata log, and only then applied (meta_apply).
 * meta_apply is pure and deterministic: replaying the same records from an empty state gives
 * the same state, which is what lets the log later move behind a Raft controller unchanged.
 *
 *   meta.c         state, validation, apply, lookups, effective topic configs
 *   meta_record.c  record encoding (msgpack-c packer) and bounded decoding of hostile bytes
 *   meta_log.c     the "__meta" partition log: replay at open, durable appends, producer ids
 *
 * Not thread-safe: one owner (the metadata core) changes the state; the rest of the broker
 * reads snapshots of it (DESIGN.md, Broker).
 */
#ifndef RILL_BROKER_META_H
#define RILL_BROKER_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "common/limits.h"
#include "log/partition.h"

/* Config entries of one topic or one record. The key table has far fewer keys; the bound is
 * for records read back from disk, which may name keys this version does not know. */
#define META_TOPIC_CONFIGS_MAX 64u

/* Bytes of a config key name: longer than any key in the table. */
#define META_CONFIG_KEY_BYTES_MAX 64u

/* Producer ids are reserved in blocks by one record each, so a restart skips the rest of the
 * block it was in and never hands out an id twice. */
#define META_PRODUCER_ID_BLOCK 1000

/* Largest encoded record body: every config of a record at its largest value. */
#define META_RECORD_BYTES_MAX          \
    (64u + RILL_TOPIC_NAME_BYTES_MAX + \
     META_TOPIC_CONFIGS_MAX * (8u + META_CONFIG_KEY_BYTES_MAX + RILL_CONF_VALUE_BYTES_MAX))

/* The data directory holds the metadata log in this subdirectory. */
#define META_LOG_DIR "__meta"

/* Stored as the record key (one byte); numbers are stable. */
enum meta_record_type {
    META_RECORD_TOPIC_CREATED = 1,
    META_RECORD_CONFIG_CHANGED = 2,
    META_RECORD_TOPIC_DELETED = 3,
    META_RECORD_PRODUCER_ID_BLOCK = 4,
};

/* One config entry of a record: value NULL means "reset to default" (CONFIG_CHANGED only). */
struct meta_config {
    const char *key;
    const char *value;
};

/*
 * One metadata record. Strings are borrowed NUL-terminated C strings: from the caller when it
 * builds a record, from `storage` when meta_record_decode filled it.
 */
struct meta_record {
    enum meta_record_type type;
    const char *name;        /* topic: CREATED, CONFIG_CHANGED, DELETED */
    int32_t partition_count; /* CREATED */
    uint32_t config_count;   /* CREATED (all set), CONFIG_CHANGED (set or reset) */
    struct meta_config configs[META_TOPIC_CONFIGS_MAX];
    int64_t producer_id_block_end; /* PRODUCER_ID_BLOCK: ids below it are reserved */
    bool internal;                 /* not stored: the broker itself asks (names "__...") */
    char *storage;                 /* decoded strings, owned; freed by meta_record_release */
};

/* One topic-level config set explicitly on a topic; both strings owned by the topic. */
struct meta_topic_config {
    char *key;
    char *value;
};

struct meta_topic {
    char name[RILL_TOPIC_NAME_BYTES_MAX + 1];
    int32_t partition_count;
    int64_t created_version; /* state version that created it: orders topics by creation */
    uint32_t config_count;
    struct meta_topic_config configs[META_TOPIC_CONFIGS_MAX]; /* sorted by key, unique keys */
};

struct meta_state {
    struct meta_topic **topics; /* sorted by name, topic_count of them, each owned */
    uint32_t topic_count;
    uint32_t topic_capacity;
    int64_t producer_id_next;      /* next id to hand out; not derived from records alone */
    int64_t producer_id_block_end; /* ids below it are reserved by a durable record */
    int64_t version;               /* records applied */
};

/* ---- state (meta.c) ---- */

void meta_state_init(struct meta_state *state);
void meta_state_deinit(struct meta_state *state);
/* True when both hold the same topics, configs, versions and producer id block. The
 * allocation cursor producer_id_next is not compared: a restart moves it on purpose. */
bool meta_state_equal(const struct meta_state *a, const struct meta_state *b);

/*
 * Applies one record. Pure and deterministic: no I/O, the result depends only on the state and
 * the record. On error the state is unchanged: RILL_ERR_EXISTS, RILL_ERR_UNKNOWN_TOPIC,
 * RILL_ERR_INVALID (a record that does not fit the state), RILL_ERR_FULL, RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err meta_apply(struct meta_state *state, const struct meta_record *rec);

/* 1..249 bytes of [a-zA-Z0-9._-], not "." or ".."; "__" prefix only when internal. */
RILL_MUST_CHECK rill_err meta_validate_topic_name(const char *name,
                                                  size_t name_bytes,
                                                  bool internal);
/*
 * Checks that rec may be written in this state: names, partition counts, config keys and
 * values (through rill_conf_set, so the one key table decides), existence. Returns
 * RILL_ERR_INVALID_TOPIC, RILL_ERR_EXISTS, RILL_ERR_UNKNOWN_TOPIC, RILL_ERR_INVALID_PARTITIONS,
 * RILL_ERR_CONFIG_KEY, RILL_ERR_CONFIG_VALUE, RILL_ERR_INVALID_REQUEST (a key given twice),
 * RILL_ERR_FULL (RILL_TOPICS_MAX) or RILL_ERR_INVALID; errstr (NULL allowed) gets a message.
 */
RILL_MUST_CHECK rill_err meta_validate(const struct meta_state *state,
                                       const struct meta_record *rec,
                                       char *errstr,
                                       size_t errstr_bytes);
/* Shorthand: meta_validate of a TOPIC_CREATED record. */
RILL_MUST_CHECK rill_err meta_validate_create(const struct meta_state *state,
                                              const char *name,
                                              int32_t partition_count,
                                              const struct meta_config *configs,
                                              uint32_t config_count,
                                              bool internal,
                                              char *errstr,
                                              size_t errstr_bytes);

/* The topic named name, or NULL. Valid until the next meta_apply. */
const struct meta_topic *meta_topic_find(const struct meta_state *state, const char *name);
/* Topic number index (0..topic_count-1) in name order. */
const struct meta_topic *meta_topic_at(const struct meta_state *state, uint32_t index);
/* The topic's value for key, else the key table's default; NULL for unknown keys. */
const char *meta_topic_config_value(const struct meta_topic *topic, const char *key);
/* Effective log config: the key table's defaults overridden by the topic's configs. */
RILL_MUST_CHECK rill_err meta_topic_log_config(const struct meta_topic *topic,
                                               struct log_config *out_cfg);

/* ---- records (meta_record.c) ---- */

/* Encodes rec's body as msgpack into a malloc'd buffer (free()); RILL_ERR_TOO_LARGE past
 * META_RECORD_BYTES_MAX. */
RILL_MUST_CHECK rill_err meta_record_encode(const struct meta_record *rec,
                                            uint8_t **out_body,
                                            size_t *out_body_bytes);
/*
 * Decodes a record of the given type from body. The bytes are hostile: every length and count
 * is checked against the bytes left and the limits before use. On success rec->storage holds
 * the strings (meta_record_release frees them). RILL_ERR_CORRUPT for anything malformed.
 */
RILL_MUST_CHECK rill_err meta_record_decode(uint8_t type,
                                            const uint8_t *body,
                                            size_t body_bytes,
                                            struct meta_record *out_rec);
void meta_record_release(struct meta_record *rec);

/* ---- the metadata log (meta_log.c) ---- */

struct meta_log {
    struct log_partition *part;
    struct log_io *io;
    bool io_owned;                /* io was created here and is destroyed at close */
    struct log_batch_builder bld; /* one record per batch */
    rill_err failed;              /* sticky: a record was written but could not be applied */
};

/*
 * Opens (or creates) <data_dir>/__meta with flush=always and no retention, and replays every
 * record from offset 0 through meta_apply into out_state (initialised here). io NULL: a
 * private io_uring ring is created; otherwise io is borrowed, must outlive the log, and must
 * not be shared (waits reap every completion of it). A record that does not decode or apply
 * makes the open fail with RILL_ERR_CORRUPT; the log refuses to start on damaged metadata.
 */
RILL_MUST_CHECK rill_err meta_log_open(const char *data_dir,
                                       struct log_io *io,
                                       struct meta_log **out_log,
                                       struct meta_state *out_state);
/* Closes the log (NULL allowed); returns the first error. The state stays the caller's. */
rill_err meta_log_close(struct meta_log *log);

/*
 * Validates rec against state, appends it durably (returns once it is on stable storage) and
 * applies it. On a validation error nothing is written (errstr gets a message).
 */
RILL_MUST_CHECK rill_err meta_log_append(struct meta_log *log,
                                         struct meta_state *state,
                                         const struct meta_record *rec,
                                         char *errstr,
                                         size_t errstr_bytes);

/* Hands out a producer id never handed out before, writing a PRODUCER_ID_BLOCK record first
 * when the current block is used up. */
RILL_MUST_CHECK rill_err meta_log_producer_id_alloc(struct meta_log *log,
                                                    struct meta_state *state,
                                                    int64_t *out_producer_id);

#endif
