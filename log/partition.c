/*
 * partition.c - the partition log: open and close, the append pipeline with group commit, roll,
 * retention, truncation. The pipeline is described in partition.h; reads live in read.c and
 * recovery in recovery.c.
 */
#include "log/partition.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/conf.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/limits.h"

/* Completion cookies: the staging buffer index, or this for a sync without a write. */
#define LOG_COOKIE_SYNC_ONLY 2u
#define LOG_COOKIE_ROLL_SYNC 3u
#define LOG_COOKIE_PREALLOC  4u

/*
 * The source of every zero write (preallocation, below). Never written: it stays all zeros in
 * .bss and serves every partition of every thread at once.
 */
static uint8_t prealloc_zeros[RILL_PREALLOC_CHUNK_BYTES];

void log_config_from_conf(struct log_config *cfg, const rill_conf_t *conf)
{
    memset(cfg, 0, sizeof(*cfg));
    const char *flush = conf_value(conf, "flush");
    if (strcmp(flush, "os") == 0) {
        cfg->flush = LOG_FLUSH_OS;
    } else if (strncmp(flush, "interval:", 9) == 0) {
        cfg->flush = LOG_FLUSH_INTERVAL;
        RILL_ASSERT(conf_parse_ms(flush + 9, false, &cfg->flush_interval_ms) == RILL_OK);
    } else {
        cfg->flush = LOG_FLUSH_ALWAYS;
    }
    cfg->segment_bytes = (uint64_t)conf_int64(conf, "segment.bytes");
    cfg->segment_ms = conf_int64(conf, "segment.ms");
    cfg->retention_bytes = conf_int64(conf, "retention.bytes");
    cfg->retention_ms = conf_int64(conf, "retention.ms");
    cfg->index_interval_bytes = (uint32_t)conf_int64(conf, "index.interval.bytes");
    cfg->batch_bytes_max = (uint32_t)conf_int64(conf, "max.batch.bytes");
    cfg->codec = strcmp(conf_value(conf, "compression"), "lz4") == 0 ? 3 : 0;
    /* compact.c: "compact" alone keeps every key's latest record for good, so no retention. */
    const char *policy = conf_value(conf, "cleanup.policy");
    cfg->compact = strstr(policy, "compact") != NULL;
    if (strstr(policy, "delete") == NULL) {
        cfg->retention_bytes = -1;
        cfg->retention_ms = -1;
    }
    cfg->delete_retention_ms = conf_int64(conf, "delete.retention.ms");
    cfg->compaction_map_bytes = (uint64_t)conf_int64(conf, "compaction.map.bytes");
    /* Only flush=always syncs after (nearly) every append; docs/operations.md says why. */
    cfg->preallocate_bytes = cfg->flush == LOG_FLUSH_ALWAYS
                                 ? (uint64_t)conf_int64(conf, "segment.preallocate.bytes")
                                 : 0;
    cfg->preallocate_after_bytes = cfg->preallocate_bytes;
}

static int64_t mono_ms(void)
{
    return rill_clock_mono_ns() / 1000000;
}

/* ---- sync latency (io.h struct log_sync_stats) ---- */

const int64_t log_sync_bucket_ns[LOG_SYNC_BUCKETS] = {
    50000,    100000,   150000,   200000,    250000,    300000,    400000,     500000,   750000,
    1000000,  1500000,  2000000,  3000000,   4000000,   5000000,   7500000,    10000000, 15000000,
    20000000, 30000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};

void log_sync_stats_record(struct log_sync_stats *stats, int64_t latency_ns)
{
    if (latency_ns < 0) {
        latency_ns = 0;
    }
    uint32_t bucket = 0;
    while (bucket < LOG_SYNC_BUCKETS && latency_ns > log_sync_bucket_ns[bucket]) {
        bucket++;
    }
    _Atomic uint64_t *counter = &stats->buckets[bucket];
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    uint64_t sum = atomic_load_explicit(&stats->ns_sum, memory_order_relaxed);
    atomic_store_explicit(&stats->ns_sum, sum + (uint64_t)latency_ns, memory_order_relaxed);
}

/* The submission time of a sync, when the io times them (0 otherwise). */
static int64_t sync_clock(const struct log_partition *part)
{
    return part->io->sync_stats != NULL ? rill_clock_mono_ns() : 0;
}

/* Counts a successful sync submitted at submit_ns (sync_clock). */
static void
sync_timed(struct log_partition *part, int64_t submit_ns, const struct log_io_completion *c)
{
    if (part->io->sync_stats != NULL && c->err == RILL_OK) {
        log_sync_stats_record(part->io->sync_stats, rill_clock_mono_ns() - submit_ns);
    }
}

static struct log_segment *active_segment(struct log_partition *part)
{
    RILL_ASSERT(part->segment_count > 0);
    return part->segments[part->segment_count - 1];
}

/* Takes the partition offline for good; only the first cause is kept. */
static void partition_fail(struct log_partition *part, rill_err err, int errno_value)
{
    RILL_ASSERT(err != RILL_OK);
    if (part->failed == RILL_OK) {
        part->failed = err;
        part->failed_errno = errno_value;
        DIAG_ERROR("log", "partition offline dir=%s err=%s errno=%d durable=%lld written=%lld",
                   part->dir, rill_err_name(err), errno_value, (long long)part->offset_durable,
                   (long long)part->offset_written);
    }
}

static bool write_in_flight(const struct log_partition *part)
{
    return part->staging[0].in_flight || part->staging[1].in_flight || part->sync_only_in_flight ||
           part->prealloc_in_flight;
}

/* Anything whose completion is still to be reaped, including a roll's background sync. */
static bool io_in_flight(const struct log_partition *part)
{
    return write_in_flight(part) || part->roll_sync_in_flight;
}

/* ---------------------------------------------------------------------------------------- */
/* Preallocation                                                                              */
/* ---------------------------------------------------------------------------------------- */

/*
 * With segment.preallocate.bytes = W > 0 (flush=always only), the active segment's file is kept
 * written with zeros up to about W past its data end, so that the fdatasync acknowledging an
 * append overwrites blocks that are already allocated and written: no size change, no block
 * allocation, no journal commit - only the data and a cache flush. (fallocate() alone leaves
 * unwritten extents whose conversion on first write needs the same journal commit.)
 *
 * Zero writes go through the io like any write and take the partition's one write slot
 * (write_in_flight), so a data write never runs at the same time as a zero write: a zero write
 * starts at or past seg->bytes - every staged and submitted byte lies below it - and bytes
 * staged into its range meanwhile are written only after it has completed. When a zero write is
 * due it goes first, but never twice in a row while data waits (prealloc_last). It carries no
 * sync: the next data sync writes the zeros out with the data once per chunk, the other syncs
 * overwrite.
 *
 * The data end (seg->bytes, bytes_written) stays the only end anything reads or counts; the
 * file's size is seg->file_bytes. A roll and a clean close cut the file back to its data end
 * (prealloc_trim), so sealed segments are exact. After a crash the active segment ends in zeros
 * (or in data overwrites a power loss undid): recovery cuts that tail like a torn one.
 *
 * Zeros cost a second write of every byte. That pays while syncs are frequent and small (each
 * saves a journal commit, ~0.2-0.4 ms here); when the partition writes in large pieces - the
 * staging buffer fills between syncs, throughput rather than latency - the commits are few and
 * the zeros would halve the bandwidth (measured: docs/benchmarks.md), so no zeros are written
 * while the moving average of the data writes is above LOG_PREALLOC_WRITE_BYTES_MAX.
 *
 * A failed zero write (EIO, ENOSPC, short) harms no data - it lies past every byte written - so
 * it only stops preallocation for the partition until it is opened again; the data writes go
 * on extending the file, and fail the partition themselves if the disk is really broken.
 */

/* Data writes averaging more than this make the partition stop writing zeros (see above): at
 * ~400 MB/s, writing 128 KiB of zeros costs about what the journal commit it saves does. */
#define LOG_PREALLOC_WRITE_BYTES_MAX (128u * 1024)

/* Bytes of one zero write: half the window, at most the zero buffer (W < 2: W). */
static uint64_t prealloc_chunk(uint64_t window)
{
    uint64_t chunk = window / 2 > 0 ? window / 2 : window;
    return chunk < RILL_PREALLOC_CHUNK_BYTES ? chunk : RILL_PREALLOC_CHUNK_BYTES;
}

/*
 * Whether a zero write should take the free write slot now, and its range. Due when a whole
 * chunk fits between the file's end and W past the data end (never past segment.bytes, where
 * the segment rolls), unless data is staged and the previous write was zeros already.
 */
static bool
prealloc_due(const struct log_partition *part, bool staged, uint64_t *out_start, uint64_t *out_end)
{
    uint64_t window = part->cfg.preallocate_bytes;
    if (window == 0 || part->prealloc_stopped || (staged && part->prealloc_last) ||
        part->write_bytes_avg > LOG_PREALLOC_WRITE_BYTES_MAX) {
        return false;
    }
    const struct log_segment *seg = part->segments[part->segment_count - 1];
    if (seg->bytes < part->cfg.preallocate_after_bytes) {
        /* Not before the segment holds a window of data: a partition that writes little (one
         * of thousands, most of them quiet) would otherwise cost a window of zeros on disk and
         * on the device for its first record (100 partitions given 3 keyed records each took
         * 762 MB). A busy partition passes it within its first window of data. */
        return false;
    }
    uint64_t start = seg->file_bytes > seg->bytes ? seg->file_bytes : seg->bytes;
    uint64_t chunk = prealloc_chunk(window);
    uint64_t limit = seg->bytes + window;
    if (limit > part->cfg.segment_bytes) {
        limit = part->cfg.segment_bytes;
    }
    if (start >= limit || (start - seg->bytes) + chunk > window) {
        return false;
    }
    *out_start = start;
    *out_end = start + chunk < limit ? start + chunk : limit;
    return true;
}

/* Stops preallocation for this opening of the partition; the data path is unaffected. */
static void prealloc_stop(struct log_partition *part, rill_err err, int errno_value)
{
    if (!part->prealloc_stopped) {
        DIAG_WARN("log", "preallocation stopped dir=%s err=%s errno=%d", part->dir,
                  rill_err_name(err), errno_value);
    }
    part->prealloc_stopped = true;
}

static rill_err prealloc_submit(struct log_partition *part, uint64_t start, uint64_t end)
{
    struct log_segment *seg = part->segments[part->segment_count - 1];
    RILL_ASSERT(start >= seg->bytes && end > start && end - start <= RILL_PREALLOC_CHUNK_BYTES);
    rill_err err =
        part->io->ops->submit_write(part->io, seg->fd, prealloc_zeros, (uint32_t)(end - start),
                                    start, false, part, LOG_COOKIE_PREALLOC);
    if (err != RILL_OK) {
        return err;
    }
    part->prealloc_in_flight = true;
    part->prealloc_start = start;
    part->prealloc_end = end;
    part->prealloc_last = true;
    return RILL_OK;
}

static void prealloc_complete(struct log_partition *part, const struct log_io_completion *c)
{
    RILL_ASSERT(part->prealloc_in_flight);
    part->prealloc_in_flight = false;
    /* The segment cannot have changed: a roll or truncation drains every write first. */
    struct log_segment *seg = part->segments[part->segment_count - 1];
    if (part->prealloc_end > seg->file_bytes) {
        /* Also after a failure: the file may have grown up to here (prealloc_trim cuts it). */
        seg->file_bytes = part->prealloc_end;
    }
    if (c->err != RILL_OK || c->bytes != part->prealloc_end - part->prealloc_start) {
        prealloc_stop(part, c->err != RILL_OK ? c->err : RILL_ERR_IO, c->errno_value);
    }
}

/*
 * Cuts seg's file back to its data end when zeros (or a failed zero write) lie past it. Called
 * with nothing in flight, before the segment is sealed or the log closed.
 */
static rill_err prealloc_trim(struct log_partition *part, struct log_segment *seg, bool *out_cut)
{
    *out_cut = false;
    RILL_ASSERT(seg->bytes_written == seg->bytes);
    if (seg->file_bytes == seg->bytes) {
        return RILL_OK;
    }
    rill_err err = part->io->ops->ftruncate(part->io, seg->fd, seg->bytes);
    if (err == RILL_OK) {
        seg->file_bytes = seg->bytes;
        *out_cut = true;
    }
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Open and close                                                                             */
/* ---------------------------------------------------------------------------------------- */

static rill_err partition_lock(struct log_partition *part)
{
    char path[RILL_PATH_BYTES_MAX];
    int used = snprintf(path, sizeof(path), "%s/.lock", part->dir);
    if (used < 0 || (size_t)used >= sizeof(path)) {
        return RILL_ERR_TOO_LARGE;
    }
    /* The lock file holds no data; it is outside the I/O backend on purpose. */
    part->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (part->lock_fd < 0) {
        return rill_err_from_errno(errno);
    }
    if (flock(part->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        return errno == EWOULDBLOCK ? RILL_ERR_BUSY : rill_err_from_errno(errno);
    }
    return RILL_OK;
}

rill_err log_partition_open(const char *dir,
                            const struct log_config *cfg,
                            struct log_io *io,
                            struct log_partition **out_part)
{
    RILL_ASSERT(cfg->segment_bytes >= RILL_SEGMENT_BYTES_MIN);
    RILL_ASSERT(cfg->batch_bytes_max <= RILL_BATCH_BYTES_MAX);
    if (strlen(dir) + 32 >= RILL_PATH_BYTES_MAX) {
        return RILL_ERR_TOO_LARGE;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return rill_err_from_errno(errno);
    }
    struct log_partition *part = calloc(1, sizeof(*part));
    if (part == NULL) {
        return RILL_ERR_NOMEM;
    }
    part->lock_fd = -1;
    part->io = io;
    part->cfg = *cfg;
    part->sync_last_ms = mono_ms();
    part->dir = strdup(dir);
    rill_err err = part->dir == NULL ? RILL_ERR_NOMEM : partition_lock(part);
    if (err == RILL_OK) {
        err = log_partition_recover(part);
    }
    if (err != RILL_OK) {
        for (uint32_t i = 0; i < part->segment_count; i++) {
            log_segment_destroy(part, part->segments[i]);
        }
        free(part->segments);
        if (part->lock_fd >= 0) {
            close(part->lock_fd);
        }
        free(part->dir);
        free(part);
        return err;
    }
    RILL_ASSERT(part->offset_durable <= part->offset_written);
    *out_part = part;
    return RILL_OK;
}

/* Waits for every in-flight operation, whatever the state, so buffers can be freed. */
static void partition_drain(struct log_partition *part)
{
    while (io_in_flight(part)) {
        if (log_partition_poll(part, true) != RILL_OK) {
            break;
        }
    }
}

static void staging_drop(struct log_partition *part, struct log_staging *stage, bool to_pool);

rill_err log_partition_close(struct log_partition *part)
{
    if (part == NULL) {
        return RILL_OK;
    }
    rill_err err = part->failed;
    if (err == RILL_OK) {
        err = log_partition_wait(part, part->offset_next, true);
    }
    partition_drain(part);
    if (err == RILL_OK) {
        err = part->failed; /* a background roll sync may have failed during the drain */
    }
    if (err == RILL_OK) {
        struct log_segment *seg = active_segment(part);
        /* Exact on disk before the checkpoint vouches for its size: the next open then takes
         * the fast path (recovery would cut the zeros as a torn tail otherwise). */
        bool cut = false;
        err = prealloc_trim(part, seg, &cut);
        if (err == RILL_OK && cut) {
            err = part->io->ops->fdatasync(part->io, seg->fd);
        }
        if (err == RILL_OK) {
            err = log_segment_write_indexes(part, seg);
        }
        if (err == RILL_OK) {
            struct log_checkpoint ckpt = { part->offset_next, seg->offset_base, seg->bytes };
            err = log_checkpoint_write(part, &ckpt);
        }
    }
    for (uint32_t i = 0; i < part->segment_count; i++) {
        log_segment_destroy(part, part->segments[i]);
    }
    for (unsigned i = 0; i < 2; i++) {
        staging_drop(part, &part->staging[i], false); /* may run on another thread */
    }
    free(part->segments);
    if (part->lock_fd >= 0) {
        close(part->lock_fd);
    }
    free(part->dir);
    free(part);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Append pipeline                                                                            */
/* ---------------------------------------------------------------------------------------- */

static bool roll_needed(const struct log_partition *part,
                        const struct log_segment *seg,
                        const struct log_batch_header *hdr,
                        size_t batch_bytes)
{
    if (seg->bytes == 0) {
        return false;
    }
    if (seg->bytes + batch_bytes > part->cfg.segment_bytes) {
        return true;
    }
    int64_t relative_end = part->offset_next + hdr->last_offset_delta - seg->offset_base;
    if (relative_end >= RILL_SEGMENT_OFFSETS_MAX) {
        return true;
    }
    return seg->created_ms >= 0 && rill_clock_wall_ms() - seg->created_ms >= part->cfg.segment_ms;
}

/* ---- staging buffers: malloc'd, or from a pool (anonymous mappings) ---- */

static uint8_t *staging_map(size_t bytes)
{
    void *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return buf == MAP_FAILED ? NULL : buf;
}

void log_staging_pool_trim(struct log_staging_pool *pool, uint32_t keep)
{
    while (pool->free_count > keep) {
        pool->free_count--;
        munmap(pool->free_bufs[pool->free_count], pool->buffer_bytes);
    }
}

static uint8_t *staging_buf_get(struct log_partition *part, size_t bytes)
{
    struct log_staging_pool *pool = part->staging_pool;
    if (pool == NULL) {
        return malloc(bytes);
    }
    if (bytes == pool->buffer_bytes && pool->free_count > 0) {
        return pool->free_bufs[--pool->free_count];
    }
    return staging_map(bytes);
}

/* Gives a staging buffer back; to_pool false from a thread that may not own the pool. */
static void staging_buf_put(struct log_partition *part, uint8_t *buf, size_t bytes, bool to_pool)
{
    struct log_staging_pool *pool = part->staging_pool;
    if (buf == NULL) {
        return;
    }
    if (pool == NULL) {
        free(buf);
    } else if (to_pool && bytes == pool->buffer_bytes && pool->free_count < pool->free_max) {
        pool->free_bufs[pool->free_count++] = buf;
    } else {
        munmap(buf, bytes);
    }
}

static void staging_drop(struct log_partition *part, struct log_staging *stage, bool to_pool)
{
    staging_buf_put(part, stage->buf, stage->capacity_bytes, to_pool);
    stage->buf = NULL;
    stage->capacity_bytes = 0;
}

void log_partition_use_staging_pool(struct log_partition *part, struct log_staging_pool *pool)
{
    RILL_ASSERT(pool->free_max <= RILL_ARRAY_COUNT(pool->free_bufs));
    for (unsigned i = 0; i < 2; i++) {
        RILL_ASSERT(!part->staging[i].in_flight && part->staging[i].used_bytes == 0);
        staging_drop(part, &part->staging[i], false);
    }
    part->staging_pool = pool;
}

/* With a pool, a partition keeps no idle buffer: each empty one not being written goes back. */
static void staging_give_back_idle(struct log_partition *part)
{
    if (part->staging_pool == NULL) {
        return;
    }
    for (unsigned i = 0; i < 2; i++) {
        struct log_staging *stage = &part->staging[i];
        if (stage->buf != NULL && !stage->in_flight && stage->used_bytes == 0) {
            staging_drop(part, stage, true);
        }
    }
}

bool log_partition_release_staging(struct log_partition *part)
{
    for (unsigned i = 0; i < 2; i++) {
        if (part->staging[i].in_flight || part->staging[i].used_bytes > 0) {
            return false;
        }
    }
    if (part->staging[0].buf == NULL && part->staging[1].buf == NULL) {
        return false;
    }
    for (unsigned i = 0; i < 2; i++) {
        staging_drop(part, &part->staging[i], true);
    }
    return true;
}

size_t log_partition_staging_bytes(const struct log_partition *part)
{
    return part->cfg.batch_bytes_max < (1u << 20) ? (1u << 20) : part->cfg.batch_bytes_max;
}

static rill_err staging_reserve(struct log_partition *part, size_t batch_bytes)
{
    struct log_staging *stage = &part->staging[part->staging_filling];
    RILL_ASSERT(!stage->in_flight);
    if (stage->buf == NULL) {
        /* Allocated on first use: idle partitions cost no staging memory. */
        size_t capacity = log_partition_staging_bytes(part);
        stage->buf = staging_buf_get(part, capacity);
        if (stage->buf == NULL) {
            return RILL_ERR_NOMEM;
        }
        stage->capacity_bytes = capacity;
    }
    if (stage->used_bytes + batch_bytes <= stage->capacity_bytes) {
        return RILL_OK;
    }
    if (stage->used_bytes == 0) {
        /* An exchanged buffer can be smaller than this batch: grow it while it is idle. */
        uint8_t *grown = staging_buf_get(part, batch_bytes);
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        staging_drop(part, stage, true);
        stage->buf = grown;
        stage->capacity_bytes = batch_bytes;
        return RILL_OK;
    }
    /* The filling buffer is full: hand it to the disk, then fill the other one. */
    if (write_in_flight(part)) {
        return RILL_ERR_AGAIN;
    }
    rill_err err = log_partition_commit(part, false);
    if (err != RILL_OK) {
        return err;
    }
    return staging_reserve(part, batch_bytes);
}

/*
 * Stages a batch whose header was checked: assigns its offsets, indexes it, and copies it into
 * the filling buffer - or, when exchange_buf is given and that buffer is empty, swaps the two
 * buffers instead of copying.
 */
static rill_err partition_stage(struct log_partition *part,
                                uint8_t *batch,
                                size_t batch_bytes,
                                const struct log_batch_header *hdr,
                                uint8_t **exchange_buf,
                                size_t *exchange_capacity,
                                int64_t *out_offset_base)
{
    rill_err err = RILL_OK;
    if (roll_needed(part, active_segment(part), hdr, batch_bytes)) {
        err = log_partition_roll(part);
    }
    if (err == RILL_OK) {
        err = staging_reserve(part, batch_bytes);
    }
    if (err != RILL_OK) {
        return err;
    }
    struct log_segment *seg = active_segment(part);
    struct log_staging *stage = &part->staging[part->staging_filling];
    if (stage->used_bytes == 0) {
        stage->seg = seg;
        stage->position = seg->bytes;
    }
    RILL_ASSERT(stage->seg == seg && stage->position + stage->used_bytes == seg->bytes);
    int64_t offset_base = part->offset_next;
    err = log_segment_index_batch(part, seg, offset_base, hdr->timestamp_max, seg->bytes,
                                  (uint32_t)batch_bytes);
    if (err != RILL_OK) {
        return err;
    }
    log_batch_set_offset(batch, offset_base, part->leader_epoch);
    /*
     * Exchange only a buffer at least as large as the staging one: staging buffers must stay
     * large so that batches arriving while a write is in flight coalesce into one big write.
     */
    RILL_ASSERT(exchange_buf == NULL || part->staging_pool == NULL);
    if (exchange_buf != NULL && stage->used_bytes == 0 &&
        *exchange_capacity >= stage->capacity_bytes) {
        RILL_ASSERT(*exchange_buf == batch);
        uint8_t *buf = stage->buf;
        size_t capacity = stage->capacity_bytes;
        stage->buf = *exchange_buf;
        stage->capacity_bytes = *exchange_capacity;
        *exchange_buf = buf;
        *exchange_capacity = capacity;
    } else {
        memcpy(stage->buf + stage->used_bytes, batch, batch_bytes);
    }
    stage->used_bytes += batch_bytes;
    part->offset_next = offset_base + hdr->last_offset_delta + 1;
    stage->offset_end = part->offset_next;
    seg->bytes += batch_bytes;
    seg->offset_next = part->offset_next;
    if (seg->created_ms < 0) {
        seg->created_ms = rill_clock_wall_ms();
    }
    *out_offset_base = offset_base;
    return RILL_OK;
}

rill_err log_partition_append(struct log_partition *part,
                              uint8_t *batch,
                              size_t batch_bytes,
                              int64_t *out_offset_base)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    if (batch_bytes > part->cfg.batch_bytes_max) {
        return RILL_ERR_TOO_LARGE;
    }
    struct log_batch_header hdr;
    rill_err err = log_batch_validate(batch, batch_bytes, true, &hdr);
    if (err != RILL_OK) {
        return err;
    }
    int64_t offset_base = 0;
    err = partition_stage(part, batch, batch_bytes, &hdr, NULL, NULL, &offset_base);
    if (err == RILL_OK && out_offset_base != NULL) {
        *out_offset_base = offset_base;
    }
    return err;
}

rill_err log_partition_append_validated(struct log_partition *part,
                                        uint8_t *batch,
                                        size_t batch_bytes,
                                        int64_t *out_offset_base)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    if (batch_bytes > part->cfg.batch_bytes_max) {
        return RILL_ERR_TOO_LARGE;
    }
    struct log_batch_header hdr;
    RILL_DASSERT(log_batch_validate(batch, batch_bytes, true, &hdr) == RILL_OK);
    rill_err err = log_batch_header_decode(batch, batch_bytes, &hdr);
    if (err != RILL_OK || log_batch_total_bytes(&hdr) != batch_bytes) {
        return RILL_ERR_BAD_BATCH; /* not what the caller validated: refuse, never write */
    }
    int64_t offset_base = 0;
    err = partition_stage(part, batch, batch_bytes, &hdr, NULL, NULL, &offset_base);
    if (err == RILL_OK && out_offset_base != NULL) {
        *out_offset_base = offset_base;
    }
    return err;
}

rill_err log_partition_append_exchange(struct log_partition *part,
                                       uint8_t **buf,
                                       size_t *buf_capacity,
                                       size_t batch_bytes,
                                       int64_t *out_offset_base)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    if (batch_bytes > part->cfg.batch_bytes_max) {
        return RILL_ERR_TOO_LARGE;
    }
    struct log_batch_header hdr;
    /* Built by this process: the header is decoded, the full check runs in debug builds. */
    RILL_DASSERT(log_batch_validate(*buf, batch_bytes, true, &hdr) == RILL_OK);
    rill_err err = log_batch_header_decode(*buf, batch_bytes, &hdr);
    RILL_ASSERT(err == RILL_OK && log_batch_total_bytes(&hdr) == batch_bytes);
    int64_t offset_base = 0;
    err = partition_stage(part, *buf, batch_bytes, &hdr, buf, buf_capacity, &offset_base);
    if (err == RILL_OK && out_offset_base != NULL) {
        *out_offset_base = offset_base;
    }
    return err;
}

static bool sync_due(struct log_partition *part)
{
    if (part->offset_sync_requested > part->offset_durable) {
        return true;
    }
    switch (part->cfg.flush) {
    case LOG_FLUSH_ALWAYS:
        return true;
    case LOG_FLUSH_INTERVAL:
        return mono_ms() - part->sync_last_ms >= part->cfg.flush_interval_ms;
    case LOG_FLUSH_OS:
        return false;
    }
    RILL_UNREACHABLE();
}

static rill_err submit_staged(struct log_partition *part, bool sync)
{
    unsigned index = part->staging_filling;
    struct log_staging *stage = &part->staging[index];
    RILL_ASSERT(stage->used_bytes > 0 && !stage->in_flight);
    rill_err err = part->io->ops->submit_write(part->io, stage->seg->fd, stage->buf,
                                               (uint32_t)stage->used_bytes, stage->position, sync,
                                               part, index);
    if (err != RILL_OK) {
        return err;
    }
    stage->in_flight = true;
    stage->sync_in_flight = sync;
    part->prealloc_last = false;
    /* Moving average over about the last 8 writes (the staging buffer bounds each). */
    part->write_bytes_avg =
        part->write_bytes_avg - part->write_bytes_avg / 8 + (uint32_t)(stage->used_bytes / 8);
    if (sync) {
        part->sync_last_ms = mono_ms();
        stage->sync_submit_ns = sync_clock(part);
    }
    /* New appends go to the other buffer; it is free because only one write is in flight. */
    part->staging_filling = 1 - index;
    RILL_ASSERT(part->staging[part->staging_filling].used_bytes == 0);
    return RILL_OK;
}

rill_err log_partition_commit(struct log_partition *part, bool want_sync)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    if (want_sync && part->offset_sync_requested < part->offset_next) {
        part->offset_sync_requested = part->offset_next;
    }
    if (write_in_flight(part)) {
        return RILL_OK; /* the completion will submit what accumulated meanwhile */
    }
    struct log_staging *stage = &part->staging[part->staging_filling];
    uint64_t zero_start = 0, zero_end = 0;
    if (prealloc_due(part, stage->used_bytes > 0, &zero_start, &zero_end)) {
        rill_err err = prealloc_submit(part, zero_start, zero_end);
        if (err == RILL_OK || err == RILL_ERR_FULL) {
            return err == RILL_OK ? RILL_OK : RILL_ERR_AGAIN;
        }
        prealloc_stop(part, err, 0); /* and go on with the data */
    }
    if (stage->used_bytes > 0) {
        rill_err err = submit_staged(part, sync_due(part));
        return err == RILL_ERR_FULL ? RILL_ERR_AGAIN : err;
    }
    if (part->offset_durable < part->offset_written && sync_due(part) &&
        (part->offset_sync_requested > part->offset_durable || part->cfg.flush != LOG_FLUSH_OS)) {
        rill_err err = part->io->ops->submit_sync(part->io, active_segment(part)->fd, part,
                                                  LOG_COOKIE_SYNC_ONLY);
        if (err != RILL_OK) {
            return err == RILL_ERR_FULL ? RILL_ERR_AGAIN : err;
        }
        part->sync_only_in_flight = true;
        part->sync_only_offset_end = part->offset_written;
        part->prealloc_last = false;
        part->sync_last_ms = mono_ms();
        part->sync_only_submit_ns = sync_clock(part);
    }
    return RILL_OK;
}

static void complete_write(struct log_partition *part,
                           struct log_staging *stage,
                           const struct log_io_completion *c)
{
    if (c->err != RILL_OK || c->bytes != stage->used_bytes) {
        partition_fail(part, c->err != RILL_OK ? c->err : RILL_ERR_IO, c->errno_value);
    } else if (part->failed == RILL_OK) {
        stage->seg->bytes_written = stage->position + stage->used_bytes;
        if (stage->seg->bytes_written > stage->seg->file_bytes) {
            stage->seg->file_bytes = stage->seg->bytes_written;
        }
        RILL_ASSERT(stage->offset_end >= part->offset_written);
        part->offset_written = stage->offset_end;
    }
    if (!stage->sync_in_flight) {
        stage->in_flight = false;
        stage->used_bytes = 0;
    }
}

static void
complete_sync(struct log_partition *part, int64_t offset_end, const struct log_io_completion *c)
{
    if (c->err != RILL_OK) {
        /* Never retried: after a failed fsync the kernel may have dropped the dirty pages. */
        partition_fail(part, c->err, c->errno_value);
    } else if (part->failed == RILL_OK) {
        RILL_ASSERT(offset_end <= part->offset_written);
        if (part->roll_sync_in_flight && offset_end > part->roll_offset_end) {
            /* Beyond the sealed segment, which is not durable yet: remember, do not report. */
            if (offset_end > part->durable_after_roll) {
                part->durable_after_roll = offset_end;
            }
        } else if (offset_end > part->offset_durable) {
            part->offset_durable = offset_end;
        }
    }
}

/* The sealed segment is durable: the durable end and the checkpoint may pass it. */
static void complete_roll_sync(struct log_partition *part, const struct log_io_completion *c)
{
    part->roll_sync_in_flight = false;
    if (c->err != RILL_OK) {
        partition_fail(part, c->err, c->errno_value);
        return;
    }
    if (part->failed != RILL_OK) {
        return;
    }
    int64_t durable = part->roll_offset_end > part->durable_after_roll ? part->roll_offset_end
                                                                       : part->durable_after_roll;
    if (durable > part->offset_durable) {
        part->offset_durable = durable;
    }
    struct log_checkpoint ckpt = { part->roll_offset_end, part->roll_offset_end, 0 };
    rill_err err = log_checkpoint_write(part, &ckpt);
    if (err != RILL_OK) {
        partition_fail(part, err, 0);
    }
}

void log_partition_on_completion(struct log_partition *part, const struct log_io_completion *c)
{
    RILL_ASSERT(c->owner == part);
    if (c->cookie == LOG_COOKIE_PREALLOC) {
        RILL_ASSERT(c->op == LOG_IO_OP_WRITE);
        prealloc_complete(part, c);
    } else if (c->cookie == LOG_COOKIE_ROLL_SYNC) {
        RILL_ASSERT(c->op == LOG_IO_OP_SYNC && part->roll_sync_in_flight);
        sync_timed(part, part->roll_sync_submit_ns, c);
        complete_roll_sync(part, c);
    } else if (c->cookie == LOG_COOKIE_SYNC_ONLY) {
        RILL_ASSERT(c->op == LOG_IO_OP_SYNC && part->sync_only_in_flight);
        part->sync_only_in_flight = false;
        sync_timed(part, part->sync_only_submit_ns, c);
        complete_sync(part, part->sync_only_offset_end, c);
    } else {
        RILL_ASSERT(c->cookie < 2);
        struct log_staging *stage = &part->staging[c->cookie];
        RILL_ASSERT(stage->in_flight);
        if (c->op == LOG_IO_OP_WRITE) {
            complete_write(part, stage, c);
        } else {
            RILL_ASSERT(stage->sync_in_flight);
            sync_timed(part, stage->sync_submit_ns, c);
            complete_sync(part, stage->offset_end, c);
            stage->sync_in_flight = false;
            stage->in_flight = false;
            stage->used_bytes = 0;
        }
    }
    /* Group commit: whatever was staged while this ran goes out now, under one sync. */
    if (part->failed == RILL_OK && !write_in_flight(part)) {
        rill_err err = log_partition_commit(part, false);
        if (err != RILL_OK && err != RILL_ERR_AGAIN) {
            partition_fail(part, err, 0);
        }
    }
    staging_give_back_idle(part);
}

rill_err log_partition_poll(struct log_partition *part, bool wait)
{
    struct log_io_completion completions[16];
    unsigned count = 0;
    rill_err err =
        part->io->ops->reap(part->io, completions, RILL_ARRAY_COUNT(completions), wait, &count);
    if (err != RILL_OK) {
        partition_fail(part, err, 0);
        return err;
    }
    for (unsigned i = 0; i < count; i++) {
        log_partition_on_completion(completions[i].owner, &completions[i]);
    }
    return RILL_OK;
}

rill_err log_partition_wait(struct log_partition *part, int64_t offset, bool durable)
{
    RILL_ASSERT(offset <= part->offset_next);
    for (;;) {
        if (part->failed != RILL_OK) {
            return part->failed;
        }
        if (part->offset_written >= offset && (!durable || part->offset_durable >= offset)) {
            return RILL_OK;
        }
        rill_err err = log_partition_commit(part, durable);
        if (err != RILL_OK && err != RILL_ERR_AGAIN) {
            return err;
        }
        if (!io_in_flight(part)) {
            /* Nothing can advance the ends: a bookkeeping bug, not an I/O condition. */
            RILL_ASSERT(err == RILL_ERR_AGAIN);
        }
        err = log_partition_poll(part, true);
        if (err != RILL_OK) {
            return err;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Roll, retention, truncation                                                                */
/* ---------------------------------------------------------------------------------------- */

static rill_err segments_push(struct log_partition *part, struct log_segment *seg)
{
    if (part->segment_count == part->segment_capacity) {
        if (part->segment_capacity >= RILL_SEGMENTS_MAX) {
            return RILL_ERR_FULL;
        }
        uint32_t capacity = part->segment_capacity == 0 ? 16 : part->segment_capacity * 2;
        struct log_segment **grown = realloc(part->segments, capacity * sizeof(*grown));
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        part->segments = grown;
        part->segment_capacity = capacity;
    }
    part->segments[part->segment_count++] = seg;
    return RILL_OK;
}

rill_err log_partition_add_segment(struct log_partition *part, struct log_segment *seg)
{
    return segments_push(part, seg);
}

/* Waits until the background sync of the last sealed segment has completed. */
static rill_err wait_roll_sync(struct log_partition *part)
{
    while (part->roll_sync_in_flight) {
        rill_err err = log_partition_poll(part, true);
        if (err != RILL_OK) {
            return err;
        }
    }
    return part->failed;
}

/*
 * Seals the active segment and starts the next one. The sealed segment's fdatasync runs in the
 * background (as Kafka flushes rolled segments asynchronously): appends go on into the new
 * segment meanwhile, and the durable end and the checkpoint pass the sealed segment only once
 * that sync has completed (complete_roll_sync). One such sync is in flight at a time.
 */
rill_err log_partition_roll(struct log_partition *part)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    struct log_segment *seg = active_segment(part);
    if (seg->bytes == 0) {
        return RILL_OK;
    }
    /* Staged bytes belong to the sealed segment: all of them must be written first. */
    rill_err err = wait_roll_sync(part);
    if (err == RILL_OK) {
        /* Retention runs with every roll, here where no background sync can hold it up. */
        size_t deleted = 0;
        rill_err retention_err = log_partition_retention(part, rill_clock_wall_ms(), &deleted);
        if (retention_err != RILL_OK) {
            DIAG_WARN("log", "retention failed dir=%s err=%s", part->dir,
                      rill_err_name(retention_err));
        }
        err = log_partition_wait(part, part->offset_next, false);
    }
    if (err == RILL_OK) {
        partition_drain(part);
        err = part->failed;
    }
    if (err != RILL_OK) {
        return err;
    }
    struct log_segment *next = NULL;
    /* Sealed segments are exact: the zeros past the data end go (the roll's sync below makes
     * that durable before the durable end may pass this segment). */
    bool cut = false;
    err = prealloc_trim(part, seg, &cut);
    if (err == RILL_OK) {
        err = log_segment_write_indexes(part, seg);
    }
    if (err == RILL_OK) {
        err = log_segment_create(part, part->offset_next, true, &next);
    }
    if (err == RILL_OK) {
        err = part->io->ops->sync_dir(part->io, part->dir);
    }
    if (err == RILL_OK) {
        err = segments_push(part, next); /* from here on the table owns next */
    }
    if (err != RILL_OK) {
        log_segment_destroy(part, next);
    } else {
        err = part->io->ops->submit_sync(part->io, seg->fd, part, LOG_COOKIE_ROLL_SYNC);
    }
    if (err != RILL_OK) {
        partition_fail(part, err, 0);
        return err;
    }
    seg->sealed = true;
    part->roll_sync_in_flight = true;
    part->roll_sync_submit_ns = sync_clock(part);
    part->roll_offset_end = part->offset_next;
    part->durable_after_roll = part->offset_durable;
    DIAG_DEBUG("log", "rolled dir=%s offset=%lld", part->dir, (long long)part->offset_next);
    return RILL_OK;
}

static bool retention_expired(const struct log_partition *part,
                              const struct log_segment *seg,
                              uint64_t total_bytes,
                              int64_t now_ms)
{
    if (part->cfg.retention_bytes >= 0 &&
        total_bytes - seg->bytes >= (uint64_t)part->cfg.retention_bytes) {
        return true;
    }
    /* A segment compaction emptied (compact.c) has no timestamp left: it holds nothing. */
    if (part->cfg.retention_ms >= 0 && seg->bytes == 0) {
        return true;
    }
    return part->cfg.retention_ms >= 0 && seg->timestamp_max >= 0 &&
           now_ms - seg->timestamp_max > part->cfg.retention_ms;
}

rill_err log_partition_retention(struct log_partition *part, int64_t now_ms, size_t *out_deleted)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    /* The segment whose background sync is running may be the oldest: let the sync finish. */
    rill_err err = wait_roll_sync(part);
    if (err != RILL_OK) {
        return err;
    }
    uint64_t total_bytes = 0;
    for (uint32_t i = 0; i < part->segment_count; i++) {
        total_bytes += part->segments[i]->bytes;
    }
    size_t deleted = 0;
    /* Whole segments only, oldest first, never the active one. */
    while (part->segment_count > 1 &&
           retention_expired(part, part->segments[0], total_bytes, now_ms)) {
        struct log_segment *seg = part->segments[0];
        total_bytes -= seg->bytes;
        part->offset_start = part->segments[1]->offset_base;
        memmove(part->segments, part->segments + 1,
                (part->segment_count - 1) * sizeof(*part->segments));
        part->segment_count--;
        int64_t offset_base = seg->offset_base;
        log_segment_destroy(part, seg);
        err = log_segment_unlink(part, offset_base);
        if (err != RILL_OK) {
            break;
        }
        deleted++;
    }
    if (deleted > 0 && err == RILL_OK) {
        err = part->io->ops->sync_dir(part->io, part->dir);
    }
    if (out_deleted != NULL) {
        *out_deleted = deleted;
    }
    return err;
}

/*
 * Position of the batch holding offset in seg, and the offset that batch starts at (the new end
 * offset): seg->bytes_written and seg->offset_next when offset is the segment's end.
 */
static rill_err truncate_position(struct log_partition *part,
                                  struct log_segment *seg,
                                  int64_t offset,
                                  uint64_t *out_position,
                                  int64_t *out_offset_end)
{
    uint64_t position = 0;
    /*
     * A compacted segment (compact.c) may have a gap before the batch that goes: the new end is
     * then the end of the last batch kept, which only a walk from the start knows.
     */
    if (offset > seg->offset_base && !seg->compacted) {
        position = log_index_lookup(&seg->idx, (uint32_t)(offset - seg->offset_base));
    }
    int64_t offset_end = seg->offset_next;
    int64_t kept_end = seg->offset_base; /* end of the last batch walked past */
    while (position < seg->bytes_written) {
        struct log_batch_header hdr;
        rill_err err = log_segment_read_header(part, seg, position, seg->bytes_written, &hdr);
        if (err != RILL_OK) {
            return err;
        }
        if (log_batch_offset_last(&hdr) >= offset) {
            offset_end = seg->compacted ? kept_end : hdr.offset_base;
            break;
        }
        kept_end = log_batch_offset_last(&hdr) + 1;
        position += log_batch_total_bytes(&hdr);
    }
    *out_position = position;
    *out_offset_end = offset_end;
    return RILL_OK;
}

static rill_err
truncate_segment_tail(struct log_partition *part, struct log_segment *seg, uint64_t position)
{
    struct log_io *io = part->io;
    rill_err err = io->ops->ftruncate(io, seg->fd, position);
    if (err == RILL_OK) {
        err = io->ops->fdatasync(io, seg->fd);
    }
    if (err == RILL_OK) {
        seg->file_bytes = position;
        err = log_segment_rescan(part, seg, position);
    }
    if (err == RILL_OK) {
        /* Its index files now describe bytes that are gone. */
        char path[RILL_PATH_BYTES_MAX];
        err = log_segment_path(part->dir, seg->offset_base, ".index", path, sizeof(path));
        if (err == RILL_OK && (err = io->ops->unlink(io, path)) == RILL_ERR_NOT_FOUND) {
            err = RILL_OK;
        }
        err = err == RILL_OK
                  ? log_segment_path(part->dir, seg->offset_base, ".timeindex", path, sizeof(path))
                  : err;
        if (err == RILL_OK && (err = io->ops->unlink(io, path)) == RILL_ERR_NOT_FOUND) {
            err = RILL_OK;
        }
    }
    seg->sealed = false;
    return err;
}

rill_err log_partition_truncate(struct log_partition *part, int64_t offset)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    if (offset < part->offset_start || offset > part->offset_next) {
        return RILL_ERR_OFFSET_OUT_OF_RANGE;
    }
    /* Everything durable first: the checkpoint written below vouches for what stays. */
    rill_err err = log_partition_wait(part, part->offset_next, true);
    if (err != RILL_OK || offset == part->offset_next) {
        return err;
    }
    partition_drain(part);
    uint32_t keep = log_partition_segment_find(part, offset);
    if (keep > 0 && part->segments[keep]->offset_base == offset) {
        keep--; /* the whole segment goes; the previous one becomes active */
    }
    struct log_segment *seg = part->segments[keep];
    uint64_t position = 0;
    int64_t offset_end = 0;
    err = truncate_position(part, seg, offset, &position, &offset_end);
    /*
     * The new checkpoint goes first: a crash part-way then leaves a checkpoint naming a segment
     * that still exists, and at worst the batches not yet removed come back as a tail.
     */
    struct log_checkpoint ckpt = { offset_end, seg->offset_base, position };
    if (err == RILL_OK) {
        err = log_checkpoint_write(part, &ckpt);
    }
    while (err == RILL_OK && part->segment_count > keep + 1) {
        struct log_segment *dropped = part->segments[--part->segment_count];
        int64_t offset_base = dropped->offset_base;
        log_segment_destroy(part, dropped);
        err = log_segment_unlink(part, offset_base);
    }
    if (err == RILL_OK) {
        err = truncate_segment_tail(part, seg, position);
    }
    if (err != RILL_OK) {
        partition_fail(part, err, 0);
        return err;
    }
    RILL_ASSERT(seg->offset_next == offset_end);
    part->offset_next = part->offset_written = part->offset_durable = offset_end;
    part->offset_sync_requested = offset_end;
    return RILL_OK;
}
