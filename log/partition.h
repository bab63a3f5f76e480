/*
 * partition.h - one partition log: a directory of segments, the append pipeline with group
 * commit, reads by offset and timestamp, roll, retention, truncation and recovery.
 *
 * Append pipeline. An append validates the batch, assigns its offsets (overwriting base offset
 * and leader epoch, outside the CRC) and copies it into the filling staging buffer. Staged bytes
 * are written by log_partition_commit(): one io_uring write per staging buffer at an explicit
 * file position, and when durability is wanted an fdatasync linked behind it (IOSQE_IO_LINK).
 * At most one write (with its sync) is in flight per partition, while the other staging buffer
 * fills: every batch staged while a sync runs is covered by the next single sync. That is the
 * group commit; because writes never overlap, a sync linked behind write N covers writes 1..N.
 *
 * Three ends: offset_next (assigned), offset_written (every record below has been written to
 * the OS; reads stop here) and offset_durable (every record below is on stable storage).
 * offset_durable <= offset_written <= offset_next always.
 *
 * Preallocation (segment.preallocate.bytes, partition.c): the active segment's file may extend
 * past its data with zeros written ahead, tracked as seg->file_bytes; everything that reads or
 * counts uses the data ends (bytes, bytes_written). Zero writes take the same single write slot.
 *
 * A failed write or sync sets `failed` for good: the partition is offline, nothing past
 * offset_durable is ever reported durable and every later call returns the error.
 *
 * Not thread-safe: one owner thread (one core) drives a partition.
 */
#ifndef RILL_LOG_PARTITION_H
#define RILL_LOG_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "log/batch.h"
#include "log/index.h"
#include "log/io.h"

enum log_flush_policy {
    LOG_FLUSH_ALWAYS,   /* sync before an append counts as done */
    LOG_FLUSH_INTERVAL, /* sync at most every flush_interval_ms */
    LOG_FLUSH_OS,       /* leave it to the OS (sync only at roll and close) */
};

struct log_config {
    enum log_flush_policy flush;
    int64_t flush_interval_ms;
    uint64_t segment_bytes;  /* roll past this size */
    int64_t segment_ms;      /* roll when the active segment's first batch is this old */
    int64_t retention_bytes; /* -1: no size limit */
    int64_t retention_ms;    /* -1: no age limit */
    uint32_t index_interval_bytes;
    uint32_t batch_bytes_max;
    int codec;                        /* used by the embedded API's builder */
    bool compact;                     /* cleanup.policy has compact (compact.c) */
    int64_t delete_retention_ms;      /* tombstones live this long past their segment's max ts */
    uint64_t compaction_map_bytes;    /* memory bound of the cleaner's key map */
    uint64_t preallocate_bytes;       /* zeroed window ahead of the data end; 0 off (from_conf
                                         sets it for flush=always only) */
    uint64_t preallocate_after_bytes; /* no zeros before the active segment holds this much
                                         data (from_conf: the window) */
};

struct log_segment {
    int64_t offset_base;        /* first offset it may hold; its file name */
    int64_t offset_next;        /* one past the last assigned offset in it */
    uint64_t bytes;             /* assigned (staged or written) bytes */
    uint64_t bytes_written;     /* bytes whose write completed: reads stop here */
    uint64_t file_bytes;        /* size of the .log file as written here: past bytes_written it
                                   holds zeros (preallocation) or holes under staged bytes; a
                                   sealed segment's is exactly bytes */
    int64_t timestamp_max;      /* largest record timestamp (-1 when empty) */
    int64_t created_ms;         /* wall time of its first append, for segment.ms (-1 empty) */
    uint32_t bytes_since_index; /* batch bytes since the last offset index entry */
    int fd;
    bool sealed;            /* no longer active: its index files are on disk */
    bool index_files_stale; /* recovery rebuilt the indexes; files rewritten at its end */
    bool compacted;         /* has a valid .compacted marker: offset gaps allowed (compact.c) */
    struct log_index idx;
};

struct log_staging {
    uint8_t *buf; /* RILL owns; untouched while in_flight */
    size_t used_bytes;
    size_t capacity_bytes;
    struct log_segment *seg; /* segment the staged bytes belong to */
    uint64_t position;       /* file position of buf[0] */
    int64_t offset_end;      /* offset_next after the last staged batch */
    bool in_flight;          /* write submitted, completion not reaped */
    bool sync_in_flight;     /* a linked sync follows the write */
    int64_t sync_submit_ns;  /* monotonic submission time of that write+sync (sync stats) */
};

/*
 * Staging buffers shared by the partitions of one broker core (one thread). A partition that
 * uses a pool holds a staging buffer only while it has bytes staged or being written, and gives
 * it back when the write completes: memory follows the writes in progress, not the number of
 * partitions (1,000 partitions written in turn held 2 x 1 MiB each before). The pool keeps up
 * to free_max idle buffers of buffer_bytes (no page faults for the next partition) and maps
 * any other size directly; its buffers are anonymous mappings, so an emptied pool returns them
 * to the kernel at once (free() kept them in the heap: ~300 MB after such a load).
 */
struct log_staging_pool {
    uint8_t *free_bufs[16]; /* idle buffers, each buffer_bytes */
    uint32_t free_count;
    uint32_t free_max;   /* <= 16 */
    size_t buffer_bytes; /* the size kept; 0 until set */
};
/* Gives back the idle buffers beyond keep. */
void log_staging_pool_trim(struct log_staging_pool *pool, uint32_t keep);

struct log_partition {
    char *dir;
    struct log_io *io; /* borrowed */
    struct log_config cfg;
    int lock_fd;
    int32_t leader_epoch; /* stamped into appended batches */

    struct log_segment **segments; /* sorted by offset_base; the last one is active */
    uint32_t segment_count;
    uint32_t segment_capacity;

    int64_t offset_start;
    int64_t offset_next;
    int64_t offset_written;
    int64_t offset_durable;
    int64_t offset_sync_requested; /* a caller wants durability up to here */
    int64_t sync_last_ms;          /* monotonic ms of the last sync submission */

    struct log_staging staging[2];
    unsigned staging_filling;              /* index of the buffer appends go into */
    struct log_staging_pool *staging_pool; /* borrowed, NULL: own malloc'd buffers, kept */
    bool sync_only_in_flight;              /* an fdatasync without a write is in flight */
    int64_t sync_only_offset_end;          /* what that sync covers */
    int64_t sync_only_submit_ns;           /* its monotonic submission time (sync stats) */
    bool roll_sync_in_flight;    /* the fdatasync of the segment sealed by the last roll */
    int64_t roll_offset_end;     /* that segment's end: durable once its sync completes */
    int64_t durable_after_roll;  /* syncs of the new segment that completed meanwhile */
    int64_t roll_sync_submit_ns; /* monotonic submission time of the roll's sync (sync stats) */
    bool prealloc_in_flight;     /* a write of zeros ahead of the data end is in flight: it holds
                                    the partition's one write slot */
    uint64_t prealloc_start;     /* where that write starts (at or past the segment's bytes) */
    uint64_t prealloc_end;       /* and where it ends */
    bool prealloc_last;          /* the last write was zeros: the next slot goes to data */
    bool prealloc_stopped;       /* a zero write failed: no more preallocation until reopen */
    uint32_t write_bytes_avg;    /* moving average of data write sizes: large writes (throughput,
                                    few syncs) get no preallocation */

    rill_err failed; /* sticky: RILL_OK until a write or sync fails */
    int failed_errno;
    void *opaque; /* the owner's (the broker's partition); never touched by the log */

    int64_t compact_clean_end; /* compact.c: end of the range the last full pass mapped */
    int64_t compact_due_ms;    /* compact.c: wall time a kept tombstone expires (0: none) */
};

/* Fills cfg with defaults overridden by conf (NULL allowed); conf values are pre-validated. */
void log_config_from_conf(struct log_config *cfg, const rill_conf_t *conf);

/*
 * Opens or creates the partition log in dir (created if missing), running recovery. io is
 * borrowed and must outlive the partition. Takes an exclusive lock on the directory.
 */
RILL_MUST_CHECK rill_err log_partition_open(const char *dir,
                                            const struct log_config *cfg,
                                            struct log_io *io,
                                            struct log_partition **out_part);
/* Drains I/O, syncs, writes the index files and a checkpoint, frees. Returns the first error. */
rill_err log_partition_close(struct log_partition *part);

/*
 * Stages one batch (validated strictly) and assigns its offsets; returns at once. The bytes are
 * written by the next commit. RILL_ERR_AGAIN: both staging buffers are busy - reap and retry.
 */
RILL_MUST_CHECK rill_err log_partition_append(struct log_partition *part,
                                              uint8_t *batch,
                                              size_t batch_bytes,
                                              int64_t *out_offset_base);
/*
 * log_partition_append for a batch the caller has just checked with log_batch_validate(strict)
 * (the broker validates every batch of a request before appending any): only the header is
 * decoded again; debug builds re-run the full check.
 */
RILL_MUST_CHECK rill_err log_partition_append_validated(struct log_partition *part,
                                                        uint8_t *batch,
                                                        size_t batch_bytes,
                                                        int64_t *out_offset_base);
/* Frees both staging buffers when nothing is staged or being written (an idle partition then
 * costs no staging memory; the next append allocates them again). True when freed. */
bool log_partition_release_staging(struct log_partition *part);
/* Makes part take its staging buffers from pool, used on this thread only, from now on
 * (its current buffers, if any, are freed first). Not with log_partition_append_exchange. */
void log_partition_use_staging_pool(struct log_partition *part, struct log_staging_pool *pool);
/* Capacity of each staging buffer: max(1 MiB, max.batch.bytes). */
size_t log_partition_staging_bytes(const struct log_partition *part);
/*
 * log_partition_append for a batch this process built (not re-validated outside debug builds)
 * held in *buf of *buf_capacity bytes. When the filling staging buffer is empty and *buf is at
 * least log_partition_staging_bytes() large, the buffers are exchanged instead of copied: *buf
 * and *buf_capacity then describe the former staging buffer, which the caller owns from then on.
 */
RILL_MUST_CHECK rill_err log_partition_append_exchange(struct log_partition *part,
                                                       uint8_t **buf,
                                                       size_t *buf_capacity,
                                                       size_t batch_bytes,
                                                       int64_t *out_offset_base);
/*
 * Submits staged bytes if no write is in flight, with a linked sync when the flush policy or an
 * earlier request wants one. want_sync asks for durability up to offset_next. Never blocks.
 */
RILL_MUST_CHECK rill_err log_partition_commit(struct log_partition *part, bool want_sync);
/* Feeds one completion whose owner is part; advances the ends or takes the partition offline. */
void log_partition_on_completion(struct log_partition *part, const struct log_io_completion *c);
/*
 * Reaps completions of part's io (blocking when wait) and hands each to the partition that
 * owns it: every owner on an io shared by several partitions must be a struct log_partition.
 */
RILL_MUST_CHECK rill_err log_partition_poll(struct log_partition *part, bool wait);
/* Commits and waits until offset_written >= offset (and offset_durable when durable). */
RILL_MUST_CHECK rill_err log_partition_wait(struct log_partition *part,
                                            int64_t offset,
                                            bool durable);

/*
 * Reads whole batches starting with the one containing offset, at most max_bytes unless the
 * first batch alone is larger. out_buf is malloc'd (free()). Only written bytes are read.
 */
RILL_MUST_CHECK rill_err log_partition_read(struct log_partition *part,
                                            int64_t offset,
                                            size_t max_bytes,
                                            uint8_t **out_buf,
                                            size_t *out_bytes);
/*
 * log_partition_read in two steps, for a caller that reads into memory of its own (the broker
 * reads fetched batches straight into the response frame): the plan says where the read goes
 * and how many bytes it needs (plan->bytes); log_partition_read_into reads them into dst, which
 * must hold plan->bytes, and returns the length of the whole batches at its front. Nothing may
 * change the partition between the two calls (same thread, no I/O reaped in between).
 */
struct log_read_plan {
    uint32_t segment_index;   /* in part->segments */
    uint64_t position;        /* file position of the batch containing the offset */
    size_t bytes;             /* bytes to read: dst must hold this many */
    size_t first_batch_bytes; /* the first batch, which must come back whole */
};
RILL_MUST_CHECK rill_err log_partition_read_plan(struct log_partition *part,
                                                 int64_t offset,
                                                 size_t max_bytes,
                                                 struct log_read_plan *out_plan);
RILL_MUST_CHECK rill_err log_partition_read_into(struct log_partition *part,
                                                 const struct log_read_plan *plan,
                                                 uint8_t *dst,
                                                 size_t *out_bytes);
RILL_MUST_CHECK rill_err log_partition_offset_for_time(struct log_partition *part,
                                                       int64_t timestamp,
                                                       int64_t *out_offset);

/*
 * Calls fn with the header of every written batch in about the last window_bytes of the active
 * segment, in offset order (from the index entry at or before that point). The broker rebuilds
 * its idempotence windows from it at open.
 */
RILL_MUST_CHECK rill_err log_partition_scan_tail(struct log_partition *part,
                                                 uint64_t window_bytes,
                                                 void (*fn)(void *ctx,
                                                            const struct log_batch_header *hdr),
                                                 void *ctx);

RILL_MUST_CHECK rill_err log_partition_roll(struct log_partition *part);
RILL_MUST_CHECK rill_err log_partition_retention(struct log_partition *part,
                                                 int64_t now_ms,
                                                 size_t *out_deleted);
RILL_MUST_CHECK rill_err log_partition_truncate(struct log_partition *part, int64_t offset);

/* ---- shared between partition.c, segment.c and recovery.c ---- */

/* Builds "<dir>/<offset:020><suffix>"; RILL_ERR_TOO_LARGE when it does not fit. */
RILL_MUST_CHECK rill_err log_segment_path(
    const char *dir, int64_t offset_base, const char *suffix, char *out, size_t out_bytes);
RILL_MUST_CHECK rill_err log_segment_create(struct log_partition *part,
                                            int64_t offset_base,
                                            bool create,
                                            struct log_segment **out_seg);
void log_segment_destroy(struct log_partition *part, struct log_segment *seg);
/* Writes the .index and .timeindex files of seg (derived data: not synced). */
RILL_MUST_CHECK rill_err log_segment_write_indexes(struct log_partition *part,
                                                   struct log_segment *seg);
/* Loads both index files; RILL_OK only if they are intact and match the segment's size. */
RILL_MUST_CHECK rill_err log_segment_load_indexes(struct log_partition *part,
                                                  struct log_segment *seg,
                                                  uint64_t file_bytes);
/* Removes the segment's files. */
RILL_MUST_CHECK rill_err log_segment_unlink(struct log_partition *part, int64_t offset_base);
/* Records index entries for a batch of total_bytes at position in seg. */
RILL_MUST_CHECK rill_err log_segment_index_batch(struct log_partition *part,
                                                 struct log_segment *seg,
                                                 int64_t offset_base,
                                                 int64_t timestamp_max,
                                                 uint64_t position,
                                                 uint32_t total_bytes);
/* Reads and decodes the batch header at position; checks it lies within limit_bytes. */
RILL_MUST_CHECK rill_err log_segment_read_header(struct log_partition *part,
                                                 struct log_segment *seg,
                                                 uint64_t position,
                                                 uint64_t limit_bytes,
                                                 struct log_batch_header *out_hdr);

/* Recovery checkpoint: all data below (segment_base, position) == offset_next is durable. */
struct log_checkpoint {
    int64_t offset_next;
    int64_t segment_base;
    uint64_t position;
};
#define LOG_CHECKPOINT_FILE  "recovery-checkpoint"
#define LOG_CHECKPOINT_BYTES 48u
RILL_MUST_CHECK rill_err log_checkpoint_write(struct log_partition *part,
                                              const struct log_checkpoint *ckpt);
/* RILL_ERR_NOT_FOUND when absent, RILL_ERR_CORRUPT / RILL_ERR_CRC when damaged. */
RILL_MUST_CHECK rill_err log_checkpoint_read(struct log_io *io,
                                             const char *dir,
                                             struct log_checkpoint *out_ckpt);
void log_checkpoint_encode(const struct log_checkpoint *ckpt, uint8_t *buf);
RILL_MUST_CHECK rill_err log_checkpoint_decode(const uint8_t *buf,
                                               size_t buf_bytes,
                                               struct log_checkpoint *out_ckpt);

/* Index of the segment holding offset: the last one whose base offset is <= offset. */
uint32_t log_partition_segment_find(const struct log_partition *part, int64_t offset);
/* Appends seg to the segment table (bounded by RILL_SEGMENTS_MAX). */
RILL_MUST_CHECK rill_err log_partition_add_segment(struct log_partition *part,
                                                   struct log_segment *seg);
/*
 * Rebuilds seg's in-memory state (indexes, offset_next, timestamp_max, sizes) from its first
 * `bytes` bytes, which must hold valid batches (RILL_ERR_CORRUPT otherwise).
 */
RILL_MUST_CHECK rill_err log_segment_rescan(struct log_partition *part,
                                            struct log_segment *seg,
                                            uint64_t bytes);

/* The reason recovery gives for a tail of zeros (preallocated space past the data). */
#define LOG_ZERO_TAIL_PROBLEM "zero tail (preallocated space)"
/* Whether buf holds only zero bytes. */
static inline bool log_zero_bytes(const uint8_t *buf, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++) {
        if (buf[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Runs recovery over the segments found in part->dir (recovery.c). */
RILL_MUST_CHECK rill_err log_partition_recover(struct log_partition *part);

/* ---------------------------------------------------------------------------------------- */
/* Compaction (compact.c)                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* Marker that allows offset gaps in one segment: "<base>.compacted" (format in compact.c). */
#define LOG_COMPACT_MARKER_SUFFIX   ".compacted"
#define LOG_COMPACT_CLEANING_SUFFIX ".cleaning"
#define LOG_COMPACT_MARKER_BYTES    32u

struct log_compact_stats {
    uint32_t segments_mapped;    /* closed segments whose keys fitted the map */
    uint32_t segments_rewritten; /* segments swapped for a cleaned copy */
    uint64_t records_kept;
    uint64_t records_dropped;    /* superseded records and expired tombstones */
    uint64_t tombstones_dropped; /* of records_dropped */
    uint64_t bytes_before;       /* of the rewritten segments */
    uint64_t bytes_after;
    bool map_full; /* the map could not take every closed segment */
};

/*
 * One cleaning pass, synchronous, on the partition's owner thread through part->io: maps the
 * keys of the closed, durable segments (oldest first, whole segments while they fit the map),
 * then rewrites every mapped segment that holds a superseded record or an expired tombstone
 * (a tombstone expires delete_retention_ms after its segment's max timestamp, against now_ms).
 * Never touches the active segment. Offsets are unchanged. out may be NULL.
 */
RILL_MUST_CHECK rill_err log_partition_compact(struct log_partition *part,
                                               int64_t now_ms,
                                               struct log_compact_stats *out);
/* True when cleanup.policy has compact and a pass could do work: a segment was rolled since the
 * last pass, the last pass ran out of map, or a kept tombstone has expired by now_ms. */
bool log_partition_compact_due(const struct log_partition *part, int64_t now_ms);

/* Recovery hooks: deletes leftover .cleaning files and markers without a segment. */
RILL_MUST_CHECK rill_err log_compact_recover_dir(struct log_partition *part);
/* True when dir holds a valid marker for the segment at offset_base (missing or torn: false). */
bool log_compact_marker_valid(struct log_io *io, const char *dir, int64_t offset_base);
/* Whether buf is exactly the marker of the segment at offset_base (pure; rill_log_dump). */
bool log_compact_marker_matches(const uint8_t *buf, size_t buf_bytes, int64_t offset_base);
/* The marker file image for offset_base (LOG_COMPACT_MARKER_BYTES). */
void log_compact_marker_encode(int64_t offset_base, uint8_t *buf);
/* Whether a batch starting at offset_base may follow one that ended at offset_expected. */
static inline bool
log_compact_offset_continues(bool compacted, int64_t offset_base, int64_t offset_expected)
{
    return compacted ? offset_base >= offset_expected : offset_base == offset_expected;
}

#endif
