/*
 * io.h - the one disk I/O interface of the storage engine (SQLite's VFS idea).
 *
 * Every byte the log writes, and every file it creates, deletes or syncs, goes through a
 * struct log_io. Two backends implement it:
 *   io_uring.c  the real one: appends are io_uring writes at explicit file positions, and a
 *               durable append is a write SQE linked (IOSQE_IO_LINK) to an fdatasync SQE, so the
 *               sync cannot start before the write has completed.
 *   io_fault.c  the test one: executes operations with plain syscalls and injects EIO, ENOSPC,
 *               short writes and a crash after the Nth mutating operation; it can also simulate
 *               a power loss by undoing writes that no sync covered.
 *
 * Synchronous calls (open, pread, pwrite, ...) complete before returning. The append path is
 * asynchronous: submit_write() queues a write (and optionally a linked fdatasync) and returns;
 * completions are collected with reap() and routed by their owner pointer. A buffer passed to
 * submit_write() must stay untouched until its write completion has been reaped.
 *
 * Errors are rill_err values translated once here from errno or cqe->res; the raw errno is kept
 * in the completion for diagnostics.
 */
#ifndef RILL_LOG_IO_H
#define RILL_LOG_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"

struct log_io;

/*
 * Latency of the fdatasyncs the partition logs on one io submit (partition.c records each one
 * from submission to its completion; a linked write+sync is timed from the write's submission),
 * for a histogram such as the broker's rill_log_sync_seconds. One writer: the thread that owns
 * the io. Counters are relaxed atomics written with plain load+store, so another thread (the
 * one rendering /metrics) may read them without a data race.
 */
#define LOG_SYNC_BUCKETS 25u
struct log_sync_stats {
    _Atomic uint64_t buckets[LOG_SYNC_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
    _Atomic uint64_t ns_sum;                        /* total latency of the counted syncs */
};
/* Upper bound (inclusive, ns) of each bucket but the last: 50 us to 1 s. */
extern const int64_t log_sync_bucket_ns[LOG_SYNC_BUCKETS];
/* Counts one sync of latency_ns (negative counts as 0). Only the io's owner thread calls it. */
void log_sync_stats_record(struct log_sync_stats *stats, int64_t latency_ns);

enum log_io_op {
    LOG_IO_OP_WRITE = 1,
    LOG_IO_OP_SYNC = 2,
};

struct log_io_completion {
    void *owner;     /* as given to submit_* */
    uint64_t cookie; /* as given to submit_* */
    enum log_io_op op;
    rill_err err;    /* RILL_OK; a short write is RILL_ERR_IO with bytes < requested */
    int errno_value; /* raw errno behind err (0 when none), for diagnostics */
    uint32_t bytes;  /* bytes written (writes only) */
};

struct log_io_ops {
    /* open(2) semantics; flags are O_* (O_CLOEXEC is added). */
    rill_err (*open)(struct log_io *io, const char *path, int flags, int mode, int *out_fd);
    void (*close)(struct log_io *io, int fd);
    /* Reads up to bytes at offset; *out_bytes < bytes only at end of file. */
    rill_err (*pread)(
        struct log_io *io, int fd, void *buf, size_t bytes, uint64_t offset, size_t *out_bytes);
    /*
     * Writes all bytes at offset or fails. A short write without an error is continued for the
     * remainder (POSIX progress); an error is returned as is and never retried. Index and
     * checkpoint files use this; appends use submit_write, which never continues a short write.
     */
    rill_err (*pwrite)(struct log_io *io, int fd, const void *buf, size_t bytes, uint64_t offset);
    rill_err (*fdatasync)(struct log_io *io, int fd);
    rill_err (*ftruncate)(struct log_io *io, int fd, uint64_t bytes);
    rill_err (*file_bytes)(struct log_io *io, int fd, uint64_t *out_bytes);
    rill_err (*unlink)(struct log_io *io, const char *path);
    rill_err (*rename)(struct log_io *io, const char *from, const char *to);
    /* fsync of a directory, so that created, renamed and deleted names are durable. */
    rill_err (*sync_dir)(struct log_io *io, const char *path);

    /*
     * Queues a write of bytes at offset; with sync, also an fdatasync linked after it. Yields
     * one completion for the write and, with sync, one for the sync (cancelled syncs complete
     * with an error). RILL_ERR_FULL when the ring has no room: reap first.
     */
    rill_err (*submit_write)(struct log_io *io,
                             int fd,
                             const void *buf,
                             uint32_t bytes,
                             uint64_t offset,
                             bool sync,
                             void *owner,
                             uint64_t cookie);
    /* Queues an fdatasync alone (covers writes already completed on fd). */
    rill_err (*submit_sync)(struct log_io *io, int fd, void *owner, uint64_t cookie);
    /*
     * Collects up to max completions; with wait, blocks until at least one is available (or
     * returns at once with 0 when nothing is in flight).
     */
    rill_err (*reap)(struct log_io *io,
                     struct log_io_completion *out,
                     unsigned max,
                     bool wait,
                     unsigned *out_count);
    void (*destroy)(struct log_io *io);
};

struct log_io {
    const struct log_io_ops *ops;
    unsigned in_flight;                /* operations submitted and not yet reaped */
    struct log_sync_stats *sync_stats; /* borrowed, NULL: the syncs are not timed */
};

/* The io_uring backend with a ring of `entries` submission slots. */
RILL_MUST_CHECK rill_err log_io_uring_create(unsigned entries, struct log_io **out_io);
/*
 * A non-blocking eventfd (the caller owns and closes it) that the kernel signals whenever a
 * completion is posted on io's ring: an event loop that waits on something else (the broker's
 * network ring) reads it to learn that reap() has work. Only for the io_uring backend.
 */
RILL_MUST_CHECK rill_err log_io_uring_eventfd(struct log_io *io, int *out_fd);

/*
 * The fault-injecting backend. Operation numbers count mutating operations only (open with
 * O_CREAT or O_TRUNC, pwrite, each write and sync of submit_write, submit_sync, fdatasync,
 * ftruncate, unlink, rename, sync_dir), starting at 1.
 */
enum log_io_fault_target {
    LOG_IO_FAULT_ANY = 0,   /* the Nth mutating operation of any kind */
    LOG_IO_FAULT_WRITE = 1, /* the Nth write (pwrite or submitted write) */
    LOG_IO_FAULT_SYNC = 2,  /* the Nth sync (fdatasync, submitted sync, sync_dir) */
};

struct log_io_fault_plan {
    enum log_io_fault_target fail_target;
    uint64_t fail_at;       /* fail the fail_at'th targeted operation; 0 = never */
    bool fail_always_after; /* keep failing every later targeted operation too */
    rill_err fail_err;      /* RILL_ERR_IO or RILL_ERR_NOSPC */
    bool short_write;       /* a failing write first writes half its bytes, then fails */
    uint64_t crash_after;   /* operations numbered > crash_after do nothing and return
                               RILL_ERR_CRASHED; 0 = never */
};

RILL_MUST_CHECK rill_err log_io_fault_create(const struct log_io_fault_plan *plan,
                                             struct log_io **out_io);
/* Mutating operations counted so far. */
uint64_t log_io_fault_op_count(const struct log_io *io);
/* True once the crash point was passed. */
bool log_io_fault_crashed(const struct log_io *io);
/*
 * Simulates a power loss: writes not covered by a later successful sync of the same file are
 * undone newest first, except that a prefix of them chosen from seed survives, the last of
 * which may be torn at a random byte. Files are addressed by path, so this works after close.
 */
RILL_MUST_CHECK rill_err log_io_fault_power_loss(struct log_io *io, uint64_t seed);

#endif
