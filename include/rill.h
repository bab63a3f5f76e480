/*
 * rill.h - the one public header of rill: the embedded partition log API and the client
 * library (producer, consumer, admin).
 *
 * Conventions that hold for every call:
 *   - Fallible calls return rill_err: RILL_OK (0) or a negative code from the table below.
 *     Out-parameters are written only on success.
 *   - Pointer arguments are borrowed for the duration of the call unless documented otherwise.
 *   - Objects made by a _create/_open call are released by the matching _destroy/_close
 *     call, which accepts NULL.
 *   - A handle is not thread-safe: use one handle from one thread at a time. Distinct handles
 *     may be used from distinct threads concurrently.
 */
#ifndef RILL_H
#define RILL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RILL_VERSION_MAJOR 0
#define RILL_VERSION_MINOR 1
#define RILL_VERSION_PATCH 0
#define RILL_VERSION_STR   "0.1.0"

#if defined(__GNUC__)
#define RILL_API        __attribute__((visibility("default")))
#define RILL_MUST_CHECK __attribute__((warn_unused_result))
#else
#define RILL_API
#define RILL_MUST_CHECK
#endif

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                     */
/* ---------------------------------------------------------------------------------------- */

/*
 * One error table for the library, the broker and the wire. Numbers are stable: new codes are
 * appended, never renumbered. X(name, value, description).
 */
#define RILL_ERR_TABLE(X)                                                    \
    X(OK, 0, "success")                                                      \
    X(ERR_INVALID, -1, "invalid argument")                                   \
    X(ERR_NOMEM, -2, "out of memory")                                        \
    X(ERR_IO, -3, "input/output error")                                      \
    X(ERR_NOSPC, -4, "no space left on device")                              \
    X(ERR_CORRUPT, -5, "corrupt data")                                       \
    X(ERR_CRC, -6, "checksum mismatch")                                      \
    X(ERR_NOT_FOUND, -7, "not found")                                        \
    X(ERR_EXISTS, -8, "already exists")                                      \
    X(ERR_OFFLINE, -9, "log is offline after a failed write or sync")        \
    X(ERR_OFFSET_OUT_OF_RANGE, -10, "offset out of range")                   \
    X(ERR_TOO_LARGE, -11, "record or batch too large")                       \
    X(ERR_AGAIN, -12, "operation would block, retry later")                  \
    X(ERR_FULL, -13, "bounded queue or buffer is full")                      \
    X(ERR_END, -14, "end of log")                                            \
    X(ERR_UNSUPPORTED, -15, "unsupported feature or format")                 \
    X(ERR_CONFIG_KEY, -16, "unknown configuration key")                      \
    X(ERR_CONFIG_VALUE, -17, "invalid configuration value")                  \
    X(ERR_PERM, -18, "permission denied")                                    \
    X(ERR_BUSY, -19, "resource busy (log locked by another process?)")       \
    X(ERR_TIMEOUT, -20, "timed out")                                         \
    X(ERR_CLOSED, -21, "handle closed")                                      \
    X(ERR_BAD_BATCH, -22, "invalid record batch")                            \
    X(ERR_CRASHED, -23, "simulated crash (test backend)")                    \
    X(ERR_UNKNOWN_TOPIC, -24, "unknown topic")                               \
    X(ERR_UNKNOWN_PARTITION, -25, "unknown partition")                       \
    X(ERR_INVALID_REQUEST, -26, "malformed request")                         \
    X(ERR_UNSUPPORTED_API, -27, "unknown API")                               \
    X(ERR_UNSUPPORTED_VERSION, -28, "unsupported API version")               \
    X(ERR_FRAME_TOO_LARGE, -29, "frame larger than the limit")               \
    X(ERR_INVALID_TOPIC, -30, "invalid topic name")                          \
    X(ERR_INVALID_PARTITIONS, -31, "invalid partition count")                \
    X(ERR_INVALID_ACKS, -32, "acks must be 0, 1 or -1 (all)")                \
    X(ERR_OUT_OF_ORDER_SEQUENCE, -33, "producer sequence number gap")        \
    X(ERR_INVALID_PRODUCER_EPOCH, -34, "stale producer epoch")               \
    X(ERR_UNKNOWN_PRODUCER, -35, "unknown producer id")                      \
    X(ERR_DUPLICATE_SEQUENCE, -36, "duplicate of an already appended batch") \
    X(ERR_CONNECTION, -37, "broker connection failed")                       \
    X(ERR_TOO_MANY_CONNECTIONS, -38, "broker connection limit reached")      \
    X(ERR_SHUTTING_DOWN, -39, "broker is shutting down")                     \
    X(ERR_UNKNOWN_GROUP, -40, "unknown consumer group")                      \
    X(ERR_INVALID_GROUP_ID, -41, "invalid consumer group id")                \
    X(ERR_UNKNOWN_MEMBER_ID, -42, "unknown group member, rejoin")            \
    X(ERR_STALE_GENERATION, -43, "stale group generation")                   \
    X(ERR_REBALANCE_IN_PROGRESS, -44, "group assignment changed")            \
    X(ERR_INVALID_SESSION_TIMEOUT, -45, "group timeout out of range")        \
    X(ERR_GROUP_NOT_EMPTY, -46, "consumer group has members")                \
    X(ERR_INCONSISTENT_STRATEGY, -47, "no strategy shared in group")         \
    X(ERR_INVALID_SUBSCRIPTION, -48, "invalid group subscription")           \
    X(ERR_OFFSET_REGRESSION, -49, "commit below the committed offset")

typedef enum rill_err {
#define RILL_ERR_ENUM_(name, value, text) RILL_##name = value,
    RILL_ERR_TABLE(RILL_ERR_ENUM_)
#undef RILL_ERR_ENUM_
} rill_err;

/** Human-readable description of err; never NULL, static storage. */
RILL_API const char *rill_err_str(rill_err err);

/** Symbolic name of err without the RILL_ prefix ("ERR_CRC"); never NULL, static storage. */
RILL_API const char *rill_err_name(rill_err err);

/** The library version as "MAJOR.MINOR.PATCH"; static storage. */
RILL_API const char *rill_version(void);

/* ---------------------------------------------------------------------------------------- */
/* Configuration                                                                              */
/* ---------------------------------------------------------------------------------------- */

/*
 * A configuration is a set of string key/value pairs, validated when set. Keys understood by
 * rill_log_open() (defaults in brackets):
 *   flush                 always | interval:<ms> | os                         [always]
 *   segment.bytes         roll the active segment past this size             [1073741824]
 *   segment.ms            roll the active segment when its first record is older [604800000]
 *   segment.preallocate.bytes  with flush=always, keep the active segment's file written with
 *                         zeros this far past its data, so that syncs do not grow the file;
 *                         0 = off (docs/operations.md)                        [8m]
 *   retention.bytes       delete old segments while the log exceeds this; -1 = off [-1]
 *   retention.ms          delete segments whose newest record is older; -1 = off [604800000]
 *   index.interval.bytes  bytes of batches between two sparse index entries  [4096]
 *   compression           none | lz4: codec rill_log_append() uses          [none]
 *   max.batch.bytes       largest batch accepted by an append                [1048576]
 *   cleanup.policy        delete | compact | compact,delete; without delete, no retention
 *                         [delete] (compaction runs through rill_log_compact())
 *   delete.retention.ms   compaction keeps a tombstone this long past its segment's newest
 *                         record                                              [86400000]
 *   compaction.map.bytes  memory of the compaction key map (24 bytes a key)   [16m]
 * Sizes accept the suffixes k, m, g (powers of 1024).
 */
typedef struct rill_conf rill_conf_t;

/** A new empty configuration, or NULL when out of memory. */
RILL_API rill_conf_t *rill_conf_create(void);

/** Releases conf; NULL is allowed. */
RILL_API void rill_conf_destroy(rill_conf_t *conf);

/**
 * Sets key to value after validating both.
 * @param errstr  buffer for a one-line explanation on failure (may be NULL)
 * @return RILL_OK, RILL_ERR_CONFIG_KEY (unknown key) or RILL_ERR_CONFIG_VALUE (bad value).
 */
RILL_API RILL_MUST_CHECK rill_err rill_conf_set(
    rill_conf_t *conf, const char *key, const char *value, char *errstr, size_t errstr_bytes);

/** The value set for key, or NULL if unset. Valid until the next rill_conf_set or destroy. */
RILL_API const char *rill_conf_get(const rill_conf_t *conf, const char *key);

/* ---------------------------------------------------------------------------------------- */
/* Records                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/** A record header as input: name is UTF-8; value NULL means a null value. */
typedef struct rill_header {
    const char *name;
    size_t name_bytes;
    const void *value;
    size_t value_bytes;
} rill_header_t;

/** A record as input to an append. All pointers are borrowed for the call. */
typedef struct rill_record {
    const void *key; /* NULL: null key (distinct from an empty key) */
    size_t key_bytes;
    const void *value; /* NULL: null value (a tombstone in compacted topics) */
    size_t value_bytes;
    const rill_header_t *headers; /* header_count entries, may be NULL when 0 */
    size_t header_count;
    int64_t timestamp_ms; /* creation time in ms since the epoch; < 0 means "now" */
} rill_record_t;

/**
 * A record read from a log: a view into a buffer owned by the reader that produced it, valid
 * until the next call on that reader (or its destruction). Never free it.
 */
typedef struct rill_record_view rill_record_view_t;

RILL_API int64_t rill_record_offset(const rill_record_view_t *rec);
RILL_API int64_t rill_record_timestamp(const rill_record_view_t *rec);
/** The key and its size; NULL for a null key (then *out_bytes is 0). out_bytes may be NULL. */
RILL_API const void *rill_record_key(const rill_record_view_t *rec, size_t *out_bytes);
/** The value and its size; NULL for a null value. out_bytes may be NULL. */
RILL_API const void *rill_record_value(const rill_record_view_t *rec, size_t *out_bytes);
RILL_API size_t rill_record_header_count(const rill_record_view_t *rec);
/**
 * The header at index (0 <= index < header_count). Pointers are views like the record's.
 * @return RILL_OK, RILL_ERR_INVALID for a bad index, RILL_ERR_CORRUPT for a damaged record.
 */
RILL_API RILL_MUST_CHECK rill_err rill_record_header(const rill_record_view_t *rec,
                                                     size_t index,
                                                     const char **out_name,
                                                     size_t *out_name_bytes,
                                                     const void **out_value,
                                                     size_t *out_value_bytes);

/* ---------------------------------------------------------------------------------------- */
/* Embedded partition log                                                                     */
/* ---------------------------------------------------------------------------------------- */

/*
 * A partition log is a directory of segment files. rill_log_open() recovers it (validating the
 * tail after the last recovery checkpoint) and takes an exclusive lock on it. Appends assign
 * consecutive offsets. The log has three ends:
 *   end offset      next offset to be assigned: every appended record is below it and readable;
 *   written offset  every record below it has been written to the OS (survives a crash of this
 *                   process, not a power loss);
 *   durable offset  every record below it is on stable storage (survives a power loss).
 * durable <= written <= end. With flush=always an append returns once its records are durable.
 * With flush=os or interval:<ms> it returns once the batch is queued: the write to the OS
 * follows without further calls, overlapping the caller's next batch, and rill_log_flush() or
 * rill_log_close() make everything durable.
 */
typedef struct rill_log rill_log_t;

/**
 * Opens (creating if needed) the partition log in dir.
 * @param conf  borrowed; NULL means all defaults. Unknown keys were refused by rill_conf_set.
 * @return RILL_OK; RILL_ERR_CORRUPT when data below the recovery checkpoint is damaged (the
 *         log refuses to open rather than drop it); RILL_ERR_BUSY when another process holds it;
 *         RILL_ERR_IO / RILL_ERR_PERM / RILL_ERR_NOSPC for the file system.
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_open(const char *dir,
                                                const rill_conf_t *conf,
                                                rill_log_t **out_log);

/**
 * Flushes, writes a recovery checkpoint, and closes. Always releases log (NULL allowed).
 * @return the first error of the final flush, if any (then the data past the durable offset may
 *         be lost), else RILL_OK.
 */
RILL_API rill_err rill_log_close(rill_log_t *log);

/**
 * Appends records as one batch (compressed per the "compression" setting).
 * With flush=always, blocks until the batch is durable; otherwise until it is queued for
 * writing (blocking only while earlier writes still occupy both staging buffers).
 * @param out_offset_first  offset of records[0] (the rest follow consecutively); may be NULL
 * @return RILL_OK; RILL_ERR_TOO_LARGE if the batch exceeds max.batch.bytes; RILL_ERR_OFFLINE
 *         (or the I/O error that caused it) after a failed write or sync - nothing is
 *         acknowledged then and the log accepts nothing more until reopened.
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_append(rill_log_t *log,
                                                  const rill_record_t *records,
                                                  size_t record_count,
                                                  int64_t *out_offset_first);

/**
 * Appends one already-encoded RecordBatch v2 (magic 2). The batch is validated (length, magic,
 * CRC-32C, record count) without decompressing; its base offset and partition leader epoch
 * fields are overwritten in place (they lie outside the CRC), so batch must be writable.
 * @return as rill_log_append; RILL_ERR_BAD_BATCH / RILL_ERR_CRC for an invalid batch.
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_append_batch(rill_log_t *log,
                                                        void *batch,
                                                        size_t batch_bytes,
                                                        int64_t *out_offset_base);

/** Makes everything appended so far durable (one fdatasync covers all of it). */
RILL_API RILL_MUST_CHECK rill_err rill_log_flush(rill_log_t *log);

/** Lowest offset still in the log (advances with retention and truncation from the front). */
RILL_API int64_t rill_log_start_offset(const rill_log_t *log);
/** Next offset to be assigned: every appended record is below it (and readable). */
RILL_API int64_t rill_log_end_offset(const rill_log_t *log);
/** Every record below this offset has been written to the OS. Never exceeds the end offset. */
RILL_API int64_t rill_log_written_offset(const rill_log_t *log);
/** Every record below this offset is on stable storage. Never exceeds the written offset. */
RILL_API int64_t rill_log_durable_offset(const rill_log_t *log);

/**
 * Resolves a timestamp to the offset of the first record whose timestamp is >= timestamp_ms
 * (per record, not per batch).
 * @return RILL_OK; RILL_ERR_END if no such record exists (then the answer is the end offset).
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_offset_for_time(rill_log_t *log,
                                                           int64_t timestamp_ms,
                                                           int64_t *out_offset);

/**
 * Reads raw batches starting with the one containing offset, up to max_bytes - but always at
 * least one whole batch, even if it is larger than max_bytes.
 * @param out_buf   on success a malloc'd buffer the caller frees with free()
 * @return RILL_OK; RILL_ERR_END when offset == end offset; RILL_ERR_OFFSET_OUT_OF_RANGE when
 *         offset is below the start offset or past the end offset.
 */
RILL_API RILL_MUST_CHECK rill_err
rill_log_read(rill_log_t *log, int64_t offset, size_t max_bytes, void **out_buf, size_t *out_bytes);

/**
 * Deletes whole segments per retention.bytes / retention.ms now (it also runs after rolls).
 * @param out_segments_deleted  may be NULL
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_enforce_retention(rill_log_t *log,
                                                             size_t *out_segments_deleted);

/**
 * Removes every record at or after offset (replication uses this to drop a divergent tail).
 * Whole batches are removed: the end offset becomes the base offset of the batch holding
 * offset, which is offset itself when offset starts a batch (as replication always asks). In
 * a compacted segment, where offset may fall in a gap, the end offset becomes the end of the
 * last batch kept below offset (lower than offset). offset must be within [start offset, end
 * offset]; the result is durable on return.
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_truncate(rill_log_t *log, int64_t offset);

/** Rolls to a new active segment now (normally done by segment.bytes / segment.ms). */
RILL_API RILL_MUST_CHECK rill_err rill_log_roll(rill_log_t *log);

/**
 * Runs one compaction pass now, whatever cleanup.policy says: the closed segments (never the
 * active one) are rewritten keeping the latest record of each key and dropping tombstones (null
 * values) older than delete.retention.ms; records with a null key stay. Offsets never change:
 * readers skip the gaps. Synchronous; crash-safe (a crash leaves each segment either whole old
 * or whole new). Segments beyond what compaction.map.bytes can map wait for the next call.
 * @param out_records_dropped  may be NULL
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_compact(rill_log_t *log, uint64_t *out_records_dropped);

/* A reader walks records of one log in offset order. */
typedef struct rill_log_reader rill_log_reader_t;

/** A reader positioned at offset (clamped up to the start offset). Borrow log; keep it open. */
RILL_API RILL_MUST_CHECK rill_err rill_log_reader_create(rill_log_t *log,
                                                         int64_t offset,
                                                         rill_log_reader_t **out_reader);
RILL_API void rill_log_reader_destroy(rill_log_reader_t *reader);

/** Repositions the reader at offset; the next record returned has an offset >= offset. */
RILL_API RILL_MUST_CHECK rill_err rill_log_reader_seek(rill_log_reader_t *reader, int64_t offset);

/**
 * The next record. *out_rec is valid until the next call on this reader.
 * @return RILL_OK; RILL_ERR_END at the end of the log (call again after more appends);
 *         RILL_ERR_CORRUPT / RILL_ERR_CRC if a stored batch is damaged.
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_reader_next(rill_log_reader_t *reader,
                                                       const rill_record_view_t **out_rec);

/* ---------------------------------------------------------------------------------------- */
/* Offline inspection (rill log dump)                                                         */
/* ---------------------------------------------------------------------------------------- */

typedef enum rill_dump_kind {
    RILL_DUMP_SEGMENT = 1,    /* a segment file begins: path, offset_base, bytes */
    RILL_DUMP_BATCH = 2,      /* one batch: all batch fields; err set if it failed verification */
    RILL_DUMP_INDEX = 3,      /* an index file was checked: path, entry_count, err */
    RILL_DUMP_PROBLEM = 4,    /* anything else wrong: path, position, err, message */
    RILL_DUMP_CHECKPOINT = 5, /* the recovery checkpoint: offset_base = checkpoint offset */
} rill_dump_kind_t;

/** One item reported by rill_log_dump(). Strings are valid during the callback only. */
typedef struct rill_dump_item {
    rill_dump_kind_t kind;
    const char *path;    /* file concerned */
    uint64_t position;   /* byte position in the file */
    uint64_t bytes;      /* batch total bytes, or file bytes for segments */
    int64_t offset_base; /* batch base offset, or segment base offset */
    int64_t offset_last; /* last offset in the batch */
    int32_t record_count;
    int32_t leader_epoch;
    int codec; /* 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd */
    int64_t timestamp_first;
    int64_t timestamp_max;
    int64_t producer_id;
    uint32_t crc_stored;
    uint32_t crc_computed;
    uint64_t entry_count; /* index entries */
    rill_err err;         /* RILL_OK when this item verified cleanly */
    const char *message;  /* explanation when err != RILL_OK, else "" */
} rill_dump_item_t;

typedef void rill_dump_cb(const rill_dump_item_t *item, void *opaque);

/**
 * Reads a log directory or a single segment file without modifying it, verifies every batch
 * checksum and every index, and reports each item to cb.
 * @return RILL_OK if everything verified; RILL_ERR_CORRUPT if any item failed; an I/O error if
 *         the path could not be read.
 */
RILL_API RILL_MUST_CHECK rill_err rill_log_dump(const char *path, rill_dump_cb *cb, void *opaque);

/* ---------------------------------------------------------------------------------------- */
/* Client library: producer, consumer, admin over the native protocol                        */
/* ---------------------------------------------------------------------------------------- */

/*
 * Threading model. A client handle does its network I/O only inside calls on it (rill_produce,
 * rill_poll, rill_flush, rill_consume, the admin calls): there is no background thread. A
 * producer must therefore call rill_poll() (or rill_flush()) regularly - at least every
 * linger.ms - for batches to leave and delivery reports to arrive. Each handle belongs to one
 * thread at a time; distinct handles are independent.
 *
 * Client configuration keys (rill_conf_t; rill_conf_set() refuses unknown keys and bad values,
 * and a create call refuses keys that belong to another kind of handle with
 * RILL_ERR_CONFIG_KEY). Defaults in brackets:
 *   all handles:
 *     bootstrap.servers      host:port[,host:port...]                      [127.0.0.1:9700]
 *     client.id              name sent in the handshake                    [rill]
 *     request.timeout.ms     one request's wait for its answer             [30000]
 *     connect.timeout.ms     TCP connect and handshake                     [10000]
 *     retry.backoff.ms       first backoff after a retriable failure       [100]
 *     retry.backoff.max.ms   cap of the exponential backoff (with jitter)  [1000]
 *     metadata.max.age.ms    refresh metadata at least this often          [300000]
 *   producer:
 *     acks                   0 | 1 | all                                   [all]
 *     linger.ms              wait this long for a batch to fill            [1]
 *     batch.bytes            send a partition's batch at this size         [1048576]
 *     compression            none | lz4                                    [lz4]
 *     enable.idempotence     true | false                                  [true]
 *     delivery.timeout.ms    report failure if not acknowledged by then    [120000]
 *     queue.records.max      records queued and not yet acknowledged       [1000000]
 *     queue.bytes.max        bytes of those records                        [67108864]
 *     max.inflight.per.partition  batches in flight per partition (<= 5)   [5]
 *   consumer:
 *     fetch.max.wait.ms      broker long-poll wait                         [500]
 *     fetch.min.bytes        broker answers once this much is available    [1]
 *     fetch.max.bytes        per fetch response                            [52428800]
 *     max.partition.fetch.bytes  per partition per fetch                   [1048576]
 *     enable.partition.eof   report RILL_ERR_END when a partition is caught up [false]
 *   consumer, subscribe mode (consumer groups):
 *     enable.auto.commit     commit what rill_consume() returned, by itself  [true]
 *     auto.commit.interval.ms  how often auto-commit runs                  [5000]
 *     auto.offset.reset      where a partition without a committed offset (or whose offset
 *                            left the log) starts: earliest | latest | error [latest]
 *     session.timeout.ms     the group drops a member it has not heard from for this long
 *                            (the broker bounds it)                        [10000]
 *     rebalance.timeout.ms   the group drops a member asked to rejoin that does not [30000]
 *     partition.assignment.strategy  accepted strategies, preferred first: a comma list of
 *                            sticky, range, roundrobin        [sticky,range,roundrobin]
 */

/** rill_produce()'s partition for "choose by key" (XXH3 of the key; sticky for null keys). */
#define RILL_PARTITION_ANY (-1)
/** Consumer start positions besides a real offset. */
#define RILL_OFFSET_END       (-1) /* the high watermark: only records produced from now on */
#define RILL_OFFSET_BEGINNING (-2) /* the log start offset */

/* ---- producer ---- */

typedef struct rill_producer rill_producer_t;

/** What became of one produced record. Pointers are valid during the callback only. */
typedef struct rill_delivery_report {
    rill_err err; /* RILL_OK: acknowledged per acks; otherwise why it was not */
    const char *topic;
    int32_t partition;
    int64_t offset; /* its offset when err == RILL_OK and acks != 0, else -1 */
    const void *key;
    size_t key_bytes;
    const void *value;
    size_t value_bytes;
    void *record_opaque; /* as given to rill_produce() */
} rill_delivery_report_t;

typedef void rill_delivery_cb(const rill_delivery_report_t *report, void *opaque);

/**
 * Creates a producer. conf is copied (may be NULL: defaults). on_delivery (may be NULL) is
 * called from rill_poll()/rill_flush() once per record, in produce order per partition.
 * Connecting happens lazily; a bad bootstrap.servers syntax fails here.
 * @param errstr  buffer for a one-line explanation on failure (may be NULL)
 */
RILL_API RILL_MUST_CHECK rill_err rill_producer_create(const rill_conf_t *conf,
                                                       rill_delivery_cb *on_delivery,
                                                       void *opaque,
                                                       char *errstr,
                                                       size_t errstr_bytes,
                                                       rill_producer_t **out_producer);

/**
 * Releases the producer at once: records not yet acknowledged get a report with
 * RILL_ERR_CLOSED (served during this call). Call rill_flush() first to deliver them.
 */
RILL_API void rill_producer_destroy(rill_producer_t *producer);

/**
 * Queues one record (key, value and headers are copied; record_opaque is handed back in its
 * delivery report). partition is a partition number or RILL_PARTITION_ANY. Never waits for
 * the network; may send batches that are due.
 * @return RILL_OK (a delivery report will follow); RILL_ERR_FULL when queue.records.max or
 *         queue.bytes.max is reached (rill_poll() and retry); RILL_ERR_TOO_LARGE when the
 *         record alone exceeds batch.bytes; RILL_ERR_UNKNOWN_TOPIC / RILL_ERR_UNKNOWN_PARTITION
 *         when the broker's metadata says so; RILL_ERR_CONNECTION when no broker can be reached
 *         for the topic's metadata within connect.timeout.ms; RILL_ERR_INVALID_TOPIC for a
 *         name the protocol cannot carry; RILL_ERR_CORRUPT when the broker's metadata answer
 *         for the topic is malformed; RILL_ERR_NOMEM. No report follows an error.
 */
RILL_API RILL_MUST_CHECK rill_err rill_produce(rill_producer_t *producer,
                                               const char *topic,
                                               int32_t partition,
                                               const rill_record_t *record,
                                               void *record_opaque);

/**
 * Sends due batches, reads answers, retries what failed retriably, and serves delivery
 * reports; waits up to timeout_ms (0: do not wait, -1: until something is served).
 * @return the number of delivery reports served (>= 0).
 */
RILL_API int rill_poll(rill_producer_t *producer, int timeout_ms);

/**
 * Sends everything queued and waits until every record has its delivery report served (or
 * timeout_ms passes; -1 waits as long as delivery.timeout.ms allows).
 * @return RILL_OK; RILL_ERR_TIMEOUT when records are still outstanding.
 */
RILL_API RILL_MUST_CHECK rill_err rill_flush(rill_producer_t *producer, int timeout_ms);

/** Records queued or in flight (not yet reported). */
RILL_API size_t rill_producer_outstanding(const rill_producer_t *producer);

/* ---- consumer ---- */

/*
 * A consumer reads partitions either in assign mode (rill_consumer_assign: the application
 * picks partitions and positions) or in subscribe mode (rill_subscribe: a consumer group shares
 * the partitions of the subscribed topics among its members and keeps their committed
 * offsets). The two modes exclude each other on one consumer: RILL_ERR_INVALID.
 */

typedef struct rill_consumer rill_consumer_t;

/** One item returned by rill_consume(). Valid until the next rill_consume() on the consumer. */
typedef struct rill_message {
    rill_err err; /* RILL_OK: record is set; RILL_ERR_END: partition caught up (when
                     enable.partition.eof); RILL_ERR_CONNECTION: no broker could be reached
                     for connect.timeout.ms (topic NULL, partition -1; reported once per
                     outage, fetching resumes by itself); any other: a partition-level error,
                     record NULL */
    const char *topic;
    int32_t partition;
    const rill_record_view_t *record; /* zero-copy view; NULL unless err == RILL_OK */
    int64_t high_watermark;           /* of the partition, as of the fetch that carried it */
} rill_message_t;

RILL_API RILL_MUST_CHECK rill_err rill_consumer_create(const rill_conf_t *conf,
                                                       char *errstr,
                                                       size_t errstr_bytes,
                                                       rill_consumer_t **out_consumer);
RILL_API void rill_consumer_destroy(rill_consumer_t *consumer);

/**
 * Starts consuming topic/partition at offset: a real offset, RILL_OFFSET_BEGINNING or
 * RILL_OFFSET_END. Assigning an assigned partition repositions it.
 * @return RILL_OK; RILL_ERR_UNKNOWN_TOPIC / RILL_ERR_UNKNOWN_PARTITION; RILL_ERR_CONNECTION.
 */
RILL_API RILL_MUST_CHECK rill_err rill_consumer_assign(rill_consumer_t *consumer,
                                                       const char *topic,
                                                       int32_t partition,
                                                       int64_t offset);
/** Like rill_consumer_assign, starting at the first record with timestamp >= timestamp_ms. */
RILL_API RILL_MUST_CHECK rill_err rill_consumer_assign_time(rill_consumer_t *consumer,
                                                            const char *topic,
                                                            int32_t partition,
                                                            int64_t timestamp_ms);
/** Stops consuming topic/partition. RILL_ERR_NOT_FOUND if it was not assigned. */
RILL_API RILL_MUST_CHECK rill_err rill_consumer_unassign(rill_consumer_t *consumer,
                                                         const char *topic,
                                                         int32_t partition);
/** Number of partitions of topic (metadata lookup). */
RILL_API RILL_MUST_CHECK rill_err rill_consumer_partition_count(rill_consumer_t *consumer,
                                                                const char *topic,
                                                                int32_t *out_count);
/** Repositions an assigned partition (same offsets as assign); records already fetched from
 * before the seek are discarded. In subscribe mode it works on the partitions held (also from
 * the ASSIGNED callback, and to resume a partition paused by auto.offset.reset=error). */
RILL_API RILL_MUST_CHECK rill_err rill_consumer_seek(rill_consumer_t *consumer,
                                                     const char *topic,
                                                     int32_t partition,
                                                     int64_t offset);
/** The offset of the next record rill_consume() will return for the partition; in subscribe
 * mode -1 while its starting offset is still being looked up. RILL_ERR_NOT_FOUND when the
 * partition is not assigned (or not held). */
RILL_API RILL_MUST_CHECK rill_err rill_consumer_position(rill_consumer_t *consumer,
                                                         const char *topic,
                                                         int32_t partition,
                                                         int64_t *out_offset);

/**
 * The next record (or partition event) of the assigned partitions, waiting up to timeout_ms
 * (0: no wait, -1: forever). *out_message and the record view inside stay valid until the
 * next rill_consume() or rill_consumer_destroy(). In subscribe mode it also runs the group
 * (see "consumer groups" below) and may return group-level errors as messages with topic NULL
 * and partition -1 (e.g. RILL_ERR_INCONSISTENT_STRATEGY, RILL_ERR_INVALID_SESSION_TIMEOUT,
 * RILL_ERR_CORRUPT for a malformed group answer; each once, the member keeps retrying).
 * @return RILL_OK with *out_message set; RILL_ERR_TIMEOUT when nothing arrived in time;
 *         RILL_ERR_INVALID when nothing is assigned nor subscribed, or from a callback.
 */
RILL_API RILL_MUST_CHECK rill_err rill_consume(rill_consumer_t *consumer,
                                               int timeout_ms,
                                               const rill_message_t **out_message);

/* ---- consumer groups (subscribe mode) ---- */

/*
 * Subscribe mode. The consumer joins the group and works as a member inside its own calls
 * (there is still no background thread): rill_consume() joins, reads the committed offset of
 * each partition it is given, sends heartbeats, commits, rejoins when the group rebalances and
 * calls the callbacks below. The application must therefore call rill_consume() at least once
 * per heartbeat interval (a third of session.timeout.ms), and in any case well within
 * rebalance.timeout.ms when the group rebalances; a wait inside rill_consume() never outlasts
 * the time to the next heartbeat. A member that stays silent longer loses its partitions.
 *
 * Partitions move between members cooperatively: a member keeps consuming what it keeps, and
 * a partition it must give up stops being fetched at once (records fetched and not yet
 * returned are dropped), is reported through the rebalance callback (REVOKED), has its
 * consumed position committed (when enable.auto.commit is on) and is then released. A new
 * partition is reported (ASSIGNED) and starts at the group's committed offset; without one,
 * auto.offset.reset decides: earliest, latest, or error - then the partition reports
 * RILL_ERR_OFFSET_OUT_OF_RANGE once as a message and stays paused until rill_consumer_seek().
 * The same policy applies when a FETCH finds the position outside the log.
 *
 * Delivery is at least once: what rill_consume() returned and was not committed yet may be
 * returned again (to this or another member) after a rebalance, a crash or a lost session.
 */

/** A partition of a topic. */
typedef struct rill_topic_partition {
    const char *topic;
    int32_t partition;
} rill_topic_partition_t;

typedef enum rill_rebalance_event {
    RILL_REBALANCE_ASSIGNED = 1, /* the partitions are now this member's */
    RILL_REBALANCE_REVOKED = 2,  /* the member gives them up (still held during the callback:
                                    a rill_commit() of them from the callback is accepted) */
    RILL_REBALANCE_LOST = 3,     /* the group dropped the member (session expired, broker
                                    restarted): they were taken without a commit */
} rill_rebalance_event_t;

/**
 * Called from rill_consume() only, once per change. partitions (count entries, topic names
 * included) are valid during the call. The callback may call rill_commit(), rill_committed(),
 * rill_consumer_seek(), rill_consumer_position() and rill_consumer_assignment(); rill_consume(),
 * rill_subscribe() and rill_unsubscribe() return RILL_ERR_INVALID from it, and it must not
 * destroy the consumer.
 */
typedef void rill_rebalance_cb(rill_consumer_t *consumer,
                               rill_rebalance_event_t event,
                               const rill_topic_partition_t *partitions,
                               size_t count,
                               void *opaque);

/** Sets (or with NULL clears) the rebalance callback. */
RILL_API void
rill_consumer_set_rebalance_cb(rill_consumer_t *consumer, rill_rebalance_cb *cb, void *opaque);

/**
 * Joins group (1-249 bytes of [a-zA-Z0-9._-]) subscribing to exactly one of: the topic_count
 * names of topics (topic_count > 0), or pattern (a POSIX extended regular expression that must
 * match a whole topic name; topics starting with "__" never match). Names that do not exist yet
 * count once created. Never waits: the join happens inside rill_consume(). Subscribing again
 * with the same group replaces the subscription (the member rejoins).
 * @return RILL_OK; RILL_ERR_INVALID_GROUP_ID; RILL_ERR_INVALID_SUBSCRIPTION for a bad topic
 *         name or a pattern that does not compile or is longer than 1,024 bytes; RILL_ERR_INVALID
 *         for both or neither of topics and pattern, for a consumer in assign mode, or a
 *         consumer subscribed to another group; RILL_ERR_NOMEM.
 */
RILL_API RILL_MUST_CHECK rill_err rill_subscribe(rill_consumer_t *consumer,
                                                 const char *group,
                                                 const char *const *topics,
                                                 size_t topic_count,
                                                 const char *pattern);

/**
 * Leaves the group: commits the consumed positions (when enable.auto.commit is on), sends
 * LEAVE_GROUP so the partitions move to the other members at once, and forgets every
 * partition, waiting at most timeout_ms (< 0: request.timeout.ms) for the broker. First the
 * callbacks still queued run, then the rebalance callback once for every partition held:
 * REVOKED (a rill_commit() from it is accepted), or LOST when the group already dropped the
 * member. rill_consumer_destroy() does all this by itself for a subscribed consumer (waiting
 * at most request.timeout.ms).
 * @return RILL_OK (also when not subscribed); the commit's error; RILL_ERR_TIMEOUT when the
 *         broker did not answer in time (the membership then expires on the broker);
 *         RILL_ERR_INVALID in assign mode or from a callback.
 */
RILL_API RILL_MUST_CHECK rill_err rill_unsubscribe(rill_consumer_t *consumer, int timeout_ms);

/** One offset to commit, and its outcome. */
typedef struct rill_commit_offset {
    const char *topic;
    int32_t partition;
    int64_t offset;       /* the next offset to consume (a consumed record's offset + 1) */
    const char *metadata; /* NULL, or up to 4,096 bytes kept with the offset */
    rill_err err;         /* filled by a synchronous rill_commit(), and in the commit callback */
} rill_commit_offset_t;

/**
 * Commits offsets for the group, as a member (subscribe mode only). offsets NULL or count 0:
 * the consumed position (after the last record rill_consume() returned) of every held
 * partition whose position moved past what this member last committed - nothing to commit is
 * RILL_OK at once, with no callback. Committed offsets never go backwards: an offset below the
 * committed one fails with RILL_ERR_OFFSET_REGRESSION in its entry.
 * Synchronous (async false): waits for the answer (at most request.timeout.ms, serving the
 * group meanwhile but no callback) and fills each entry's err. Asynchronous: queues the commit
 * and returns; the commit callback reports it from a later rill_consume().
 * @return RILL_OK when every entry was committed; else a group-level error
 *         (RILL_ERR_UNKNOWN_MEMBER_ID: not a member now, RILL_ERR_STALE_GENERATION, ...), the
 *         first entry's error, RILL_ERR_TIMEOUT, RILL_ERR_CONNECTION; RILL_ERR_INVALID for bad
 *         entries or a consumer not subscribed; RILL_ERR_FULL when too many asynchronous
 *         commits wait (call rill_consume()).
 */
RILL_API RILL_MUST_CHECK rill_err rill_commit(rill_consumer_t *consumer,
                                              rill_commit_offset_t *offsets,
                                              size_t count,
                                              bool async);

/**
 * Reports a commit that was not waited for: asynchronous rill_commit() calls, auto-commits
 * and the commits of revoked partitions. err is the request's error (RILL_OK: see each
 * entry's err). Called from rill_consume() only; offsets are valid during the call. Results
 * still queued when the consumer is destroyed are dropped.
 */
typedef void
rill_commit_cb(rill_err err, const rill_commit_offset_t *offsets, size_t count, void *opaque);

/** Sets (or with NULL clears) the commit callback. */
RILL_API void
rill_consumer_set_commit_cb(rill_consumer_t *consumer, rill_commit_cb *cb, void *opaque);

/**
 * The group's committed offset of topic/partition (-1: none), asked from the broker
 * (subscribe mode; waits at most request.timeout.ms).
 * @return RILL_OK; RILL_ERR_UNKNOWN_TOPIC / RILL_ERR_UNKNOWN_PARTITION; RILL_ERR_CONNECTION;
 *         RILL_ERR_TIMEOUT; RILL_ERR_INVALID when not subscribed.
 */
RILL_API RILL_MUST_CHECK rill_err rill_committed(rill_consumer_t *consumer,
                                                 const char *topic,
                                                 int32_t partition,
                                                 int64_t *out_offset);

/**
 * The partitions this consumer holds now (subscribe mode: given by the group and not being
 * given up; assign mode: the assigned ones), as one allocation to release with free() (names
 * included). *out is NULL when *out_count is 0.
 */
RILL_API RILL_MUST_CHECK rill_err rill_consumer_assignment(rill_consumer_t *consumer,
                                                           rill_topic_partition_t **out,
                                                           size_t *out_count);

/* ---- admin ---- */

typedef struct rill_admin rill_admin_t;

RILL_API RILL_MUST_CHECK rill_err rill_admin_create(const rill_conf_t *conf,
                                                    char *errstr,
                                                    size_t errstr_bytes,
                                                    rill_admin_t **out_admin);
RILL_API void rill_admin_destroy(rill_admin_t *admin);

/** A topic-level config setting as "key", "value" strings. */
typedef struct rill_config_entry {
    const char *key;
    const char *value; /* NULL in rill_admin_alter_topic: reset key to its default */
} rill_config_entry_t;

/**
 * Creates topic name with partitions partitions and configs (may be NULL when count is 0).
 * The admin calls below wait for the broker's answer (request.timeout.ms) and put the broker's
 * message in errstr on failure.
 * @return RILL_OK; RILL_ERR_EXISTS; RILL_ERR_INVALID_TOPIC; RILL_ERR_INVALID_PARTITIONS;
 *         RILL_ERR_CONFIG_KEY / RILL_ERR_CONFIG_VALUE; RILL_ERR_CONNECTION; RILL_ERR_TIMEOUT.
 */
RILL_API RILL_MUST_CHECK rill_err rill_admin_create_topic(rill_admin_t *admin,
                                                          const char *name,
                                                          int32_t partitions,
                                                          const rill_config_entry_t *configs,
                                                          size_t config_count,
                                                          char *errstr,
                                                          size_t errstr_bytes);
RILL_API RILL_MUST_CHECK rill_err rill_admin_delete_topic(rill_admin_t *admin,
                                                          const char *name,
                                                          char *errstr,
                                                          size_t errstr_bytes);
/** Sets (or with a NULL value resets) the given topic configs. */
RILL_API RILL_MUST_CHECK rill_err rill_admin_alter_topic(rill_admin_t *admin,
                                                         const char *name,
                                                         const rill_config_entry_t *configs,
                                                         size_t config_count,
                                                         char *errstr,
                                                         size_t errstr_bytes);

typedef struct rill_partition_info {
    int32_t partition;
    int32_t leader; /* broker id */
    int64_t start_offset;
    int64_t end_offset;     /* high watermark */
    int64_t durable_offset; /* on stable storage below this */
    uint64_t bytes;
    uint64_t segments;
} rill_partition_info_t;

typedef struct rill_topic_info {
    const char *name;
    rill_err err;        /* per-topic error (e.g. RILL_ERR_UNKNOWN_TOPIC) */
    const char *message; /* the broker's detail for err, "" when none */
    const rill_partition_info_t *partitions;
    size_t partition_count;
    const rill_config_entry_t *configs; /* every effective setting, sorted by key */
    size_t config_count;
} rill_topic_info_t;

typedef struct rill_topic_list {
    const rill_topic_info_t *topics; /* sorted by name */
    size_t topic_count;
} rill_topic_list_t;

/**
 * Describes topics (names NULL with name_count 0: every topic, internal ones excluded) with
 * their partitions' offsets and sizes and their effective configs. An unknown name gets an
 * entry with err = RILL_ERR_UNKNOWN_TOPIC. Free with rill_topic_list_destroy().
 */
RILL_API RILL_MUST_CHECK rill_err rill_admin_describe_topics(rill_admin_t *admin,
                                                             const char *const *names,
                                                             size_t name_count,
                                                             rill_topic_list_t **out_list);
RILL_API void rill_topic_list_destroy(rill_topic_list_t *list);

typedef struct rill_broker_info {
    int32_t id;
    const char *host;
    uint16_t port;
} rill_broker_info_t;

typedef struct rill_cluster_info {
    const char *cluster_id;
    const char *broker_version; /* of the broker that answered */
    int32_t controller_id;
    const rill_broker_info_t *brokers;
    size_t broker_count;
} rill_cluster_info_t;

/** Handshake + metadata of the cluster. Free with rill_cluster_info_destroy(). */
RILL_API RILL_MUST_CHECK rill_err rill_admin_cluster_describe(rill_admin_t *admin,
                                                              rill_cluster_info_t **out_info);
RILL_API void rill_cluster_info_destroy(rill_cluster_info_t *info);

/**
 * The offset of topic/partition for timestamp_ms: RILL_OFFSET_END (high watermark),
 * RILL_OFFSET_BEGINNING (log start), or the first record with timestamp >= timestamp_ms (the
 * high watermark when none).
 */
RILL_API RILL_MUST_CHECK rill_err rill_admin_list_offset(rill_admin_t *admin,
                                                         const char *topic,
                                                         int32_t partition,
                                                         int64_t timestamp_ms,
                                                         int64_t *out_offset);

/* ---- admin: consumer groups ---- */

/* Assignments use rill_topic_partition_t (consumer groups, above). */

/** Reset target of rill_admin_reset_group_offsets(): forget the committed offset, so that the
 * group's consumers fall back to their auto.offset.reset policy. */
#define RILL_OFFSET_NONE (-3)

/** A group as LIST_GROUPS reports it. */
typedef struct rill_group_listing {
    const char *group;
    const char *state; /* "empty", "rebalancing", "stable" or "dead" */
    int32_t member_count;
} rill_group_listing_t;

typedef struct rill_group_list {
    const rill_group_listing_t *groups; /* ordered by group id */
    size_t group_count;
} rill_group_list_t;

/**
 * Every consumer group the broker coordinates, with its state and member count. Free the
 * result with rill_group_list_destroy().
 * @return RILL_OK; RILL_ERR_CONNECTION; RILL_ERR_TIMEOUT; RILL_ERR_UNSUPPORTED_API when the
 *         broker has no group coordinator; RILL_ERR_CORRUPT for a malformed answer.
 */
RILL_API RILL_MUST_CHECK rill_err rill_admin_list_groups(rill_admin_t *admin,
                                                         rill_group_list_t **out_list);
RILL_API void rill_group_list_destroy(rill_group_list_t *list);

/** One member of a group. */
typedef struct rill_group_member_info {
    const char *member_id;
    const char *client_id;
    const char *host; /* ip:port of the connection of its last join */
    int32_t generation;
    int32_t session_timeout_ms;
    const char *const *topics; /* subscription by names (topic_count), or NULL with pattern */
    size_t topic_count;
    const char *pattern;                      /* subscription by regular expression, or NULL */
    const rill_topic_partition_t *assignment; /* held now, revoking ones included */
    size_t assignment_count;
    const rill_topic_partition_t *revoking; /* told to give these up, not yet released */
    size_t revoking_count;
} rill_group_member_info_t;

/** Where a group stands in one partition. */
typedef struct rill_group_offset_info {
    const char *topic;
    int32_t partition;
    int64_t committed;      /* next offset to consume; -1 when nothing is committed */
    const char *metadata;   /* of the commit, or NULL */
    int64_t high_watermark; /* -1 when it could not be read (e.g. the topic is gone) */
    int64_t lag;            /* high_watermark - committed; -1 when either is unknown */
    const char *member_id;  /* the member holding the partition, or NULL */
} rill_group_offset_info_t;

typedef struct rill_group_info {
    const char *group;
    rill_err err;      /* RILL_OK, RILL_ERR_UNKNOWN_GROUP or RILL_ERR_INVALID_GROUP_ID */
    const char *state; /* as in rill_group_listing_t; "" when err is set */
    int32_t generation;
    const char *strategy; /* "range", "roundrobin", "sticky"; "" without members */
    const rill_group_member_info_t *members; /* ordered by member id */
    size_t member_count;
    const rill_group_offset_info_t *offsets; /* ordered by topic, then partition */
    size_t offset_count;
} rill_group_info_t;

/**
 * Describes one group: its state, generation, strategy and members (DESCRIBE_GROUPS), then per
 * partition its committed offset, the high watermark and the lag. The partitions listed are
 * every one the group has a commit for, plus every partition of the topics its members
 * subscribe to by name or hold. A group the broker does not know yields RILL_OK with
 * info->err = RILL_ERR_UNKNOWN_GROUP (no members, no offsets). Free with
 * rill_group_info_destroy().
 * @return RILL_OK; RILL_ERR_INVALID for a NULL or empty group; RILL_ERR_CONNECTION;
 *         RILL_ERR_TIMEOUT; RILL_ERR_UNSUPPORTED_API; RILL_ERR_CORRUPT; RILL_ERR_NOMEM.
 */
RILL_API RILL_MUST_CHECK rill_err rill_admin_describe_group(rill_admin_t *admin,
                                                            const char *group,
                                                            rill_group_info_t **out_info);
RILL_API void rill_group_info_destroy(rill_group_info_t *info);

/**
 * Deletes a group that has no members, with its committed offsets.
 * @return RILL_OK; RILL_ERR_UNKNOWN_GROUP; RILL_ERR_GROUP_NOT_EMPTY (stop its consumers
 *         first); RILL_ERR_INVALID_GROUP_ID; RILL_ERR_CONNECTION; RILL_ERR_TIMEOUT.
 */
RILL_API RILL_MUST_CHECK rill_err rill_admin_delete_group(rill_admin_t *admin,
                                                          const char *group,
                                                          char *errstr,
                                                          size_t errstr_bytes);

/** One partition of rill_admin_reset_group_offsets(). */
typedef struct rill_group_reset {
    const char *topic;
    int32_t partition;
    int64_t offset;   /* in: an offset >= 0, RILL_OFFSET_END, RILL_OFFSET_BEGINNING or
                         RILL_OFFSET_NONE; out: the committed offset now (with validate_only:
                         the one it would be), -1 for none */
    int64_t previous; /* out: the committed offset before the call, -1 for none */
    rill_err err;     /* out: this partition's result */
} rill_group_reset_t;

/**
 * Sets the committed offsets of a group, backwards too, which only works while the group has
 * no members. A group that does not exist yet is created. Symbolic targets are resolved by the
 * broker; to reset to a time, resolve the offsets with rill_admin_list_offset() first. With
 * validate_only nothing changes: entries tell what would happen.
 * Every entry gets its previous offset, its new offset and its own err.
 * @return RILL_OK when every entry succeeded; RILL_ERR_GROUP_NOT_EMPTY (nothing changed; the
 *         entries' err say so too); RILL_ERR_INVALID_GROUP_ID; otherwise the first failing
 *         entry's err (RILL_ERR_UNKNOWN_TOPIC, RILL_ERR_UNKNOWN_PARTITION,
 *         RILL_ERR_OFFSET_OUT_OF_RANGE: the other entries were still applied);
 *         RILL_ERR_CONNECTION; RILL_ERR_TIMEOUT; RILL_ERR_INVALID for bad arguments.
 */
RILL_API RILL_MUST_CHECK rill_err rill_admin_reset_group_offsets(rill_admin_t *admin,
                                                                 const char *group,
                                                                 rill_group_reset_t *entries,
                                                                 size_t count,
                                                                 bool validate_only,
                                                                 char *errstr,
                                                                 size_t errstr_bytes);

#ifdef __cplusplus
}
#endif
#endif /* RILL_H */
