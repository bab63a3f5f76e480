/*
 * recovery.c - bringing a partition directory back to a consistent state on open.
 *
 * The recovery checkpoint (checkpoint.c) names a position below which everything was durable
 * when it was written. On open:
 *   - segments before the checkpoint's segment are sealed: their index files are loaded, or,
 *     when missing or damaged, rebuilt by a full scan; any invalid batch there is corruption;
 *   - the checkpoint's segment must be at least as long as the checkpoint position, and its
 *     batches up to that position must be valid and end exactly at the checkpoint offset;
 *   - from the checkpoint on, batches are validated (length, CRC-32C, offsets); the first
 *     invalid one marks a torn or corrupt tail: the segment is truncated there and any later
 *     segment is deleted.
 * Corruption below the checkpoint is reported and the open fails with RILL_ERR_CORRUPT: data
 * that was once durable is never dropped silently. Without a checkpoint the last two segments
 * are the tail (a roll syncs the segment it sealed in the background) and earlier ones sealed.
 * A tail segment that ends short of the next segment's base lost its end with the power: the
 * durable end never passed it, so the later segments are dropped like a torn tail.
 * Preallocation (partition.c): the active segment of a log that crashed usually ends in zeros
 * written ahead of its data; they stop the scan like any invalid batch ("zero tail") and are cut
 * as a torn tail, which is the normal case and logged at info level only. A sealed segment is
 * cut to its data end before its roll's sync, and the durable end never passes a sealed segment
 * before that sync completes, so a zero tail in a segment followed by others (the cut was lost
 * with the power) marks later segments that hold nothing acknowledged: they go as after a torn
 * tail.
 * Compaction (compact.c): a segment with a valid .compacted marker may have offset gaps, inside
 * and at its end, and is never taken for a segment with a lost end; leftovers of an interrupted
 * clean (.cleaning copies, markers without a segment) are deleted first.
 */
#include "log/partition.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "common/limits.h"

#define SCAN_CHUNK_BYTES (1u << 20)

struct scan_state {
    uint8_t *buf;
    size_t buf_capacity;
    uint64_t buf_position;   /* file position of buf[0] */
    size_t buf_bytes;        /* valid bytes in buf */
    uint64_t watch_position; /* report offset_next when the scan passes this position */
    int64_t offset_at_watch; /* -1 until passed */
    const char *problem;     /* why the scan stopped early, NULL if it reached the end */
};

/* Makes [position, position + need) available in state->buf; need <= file end checked. */
static rill_err scan_fill(struct log_partition *part,
                          struct log_segment *seg,
                          struct scan_state *state,
                          uint64_t position,
                          size_t need,
                          uint64_t file_bytes)
{
    if (position >= state->buf_position &&
        position + need <= state->buf_position + state->buf_bytes) {
        return RILL_OK;
    }
    if (need > state->buf_capacity) {
        /* need is bounded by RILL_BATCH_BYTES_MAX and by the bytes really in the file. */
        uint8_t *grown = realloc(state->buf, need);
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        state->buf = grown;
        state->buf_capacity = need;
    }
    size_t want = state->buf_capacity;
    if (want > file_bytes - position) {
        want = (size_t)(file_bytes - position);
    }
    size_t read_bytes = 0;
    rill_err err = part->io->ops->pread(part->io, seg->fd, state->buf, want, position, &read_bytes);
    if (err != RILL_OK) {
        return err;
    }
    state->buf_position = position;
    state->buf_bytes = read_bytes;
    return read_bytes >= need ? RILL_OK : RILL_ERR_CORRUPT;
}

/* Validates the batch at seg->bytes and indexes it; sets state->problem when it is invalid. */
static rill_err scan_one(struct log_partition *part,
                         struct log_segment *seg,
                         struct scan_state *state,
                         uint64_t file_bytes)
{
    uint64_t position = seg->bytes;
    if (file_bytes - position < LOG_BATCH_HEADER_BYTES) {
        uint8_t rest[LOG_BATCH_HEADER_BYTES];
        size_t rest_bytes = 0;
        rill_err err = part->io->ops->pread(part->io, seg->fd, rest,
                                            (size_t)(file_bytes - position), position, &rest_bytes);
        if (err != RILL_OK) {
            return err;
        }
        state->problem = rest_bytes == file_bytes - position && log_zero_bytes(rest, rest_bytes)
                             ? LOG_ZERO_TAIL_PROBLEM
                             : "truncated batch header";
        return RILL_OK;
    }
    rill_err err = scan_fill(part, seg, state, position, LOG_BATCH_HEADER_BYTES, file_bytes);
    if (err != RILL_OK) {
        return err;
    }
    const uint8_t *at = state->buf + (position - state->buf_position);
    struct log_batch_header hdr;
    if (log_batch_header_decode(at, LOG_BATCH_HEADER_BYTES, &hdr) != RILL_OK) {
        state->problem = log_zero_bytes(at, LOG_BATCH_HEADER_BYTES) ? LOG_ZERO_TAIL_PROBLEM
                                                                    : "invalid batch header";
        return RILL_OK;
    }
    uint32_t total = log_batch_total_bytes(&hdr);
    if (total > file_bytes - position) {
        state->problem = "truncated batch";
        return RILL_OK;
    }
    err = scan_fill(part, seg, state, position, total, file_bytes);
    if (err != RILL_OK) {
        return err;
    }
    at = state->buf + (position - state->buf_position);
    err = log_batch_validate(at, total, false, &hdr);
    if (err != RILL_OK) {
        state->problem = err == RILL_ERR_CRC ? "batch checksum mismatch" : "invalid batch";
        return RILL_OK;
    }
    /*
     * The base offset lies outside the CRC, so continuity is its only check: each batch starts
     * where the previous one ended (the first at the segment's base offset). A segment with a
     * compaction marker may have gaps, but its batches still move strictly forward.
     */
    if (!log_compact_offset_continues(seg->compacted, hdr.offset_base, seg->offset_next) ||
        log_batch_offset_last(&hdr) - seg->offset_base >= RILL_SEGMENT_OFFSETS_MAX) {
        state->problem = "batch offsets do not continue the previous batch";
        return RILL_OK;
    }
    err = log_segment_index_batch(part, seg, hdr.offset_base, hdr.timestamp_max, position, total);
    if (err != RILL_OK) {
        return err;
    }
    seg->bytes = position + total;
    seg->offset_next = log_batch_offset_last(&hdr) + 1;
    return RILL_OK;
}

/*
 * Scans seg from its current end (seg->bytes) up to file_bytes. I/O errors are returned; an
 * invalid batch stops the scan and is described in state->problem.
 */
static rill_err scan_segment(struct log_partition *part,
                             struct log_segment *seg,
                             uint64_t file_bytes,
                             struct scan_state *state)
{
    state->problem = NULL;
    rill_err err = RILL_OK;
    while (err == RILL_OK && state->problem == NULL && seg->bytes < file_bytes) {
        if (seg->bytes == state->watch_position) {
            state->offset_at_watch = seg->offset_next;
        }
        err = scan_one(part, seg, state, file_bytes);
    }
    if (seg->bytes == state->watch_position) {
        state->offset_at_watch = seg->offset_next;
    }
    seg->bytes_written = seg->bytes;
    return err;
}

static void segment_reset(struct log_segment *seg)
{
    log_index_clear(&seg->idx);
    seg->bytes = 0;
    seg->bytes_written = 0;
    seg->bytes_since_index = 0;
    seg->offset_next = seg->offset_base;
    seg->timestamp_max = -1;
}

rill_err log_segment_rescan(struct log_partition *part, struct log_segment *seg, uint64_t bytes)
{
    struct scan_state state = { .watch_position = UINT64_MAX, .offset_at_watch = -1 };
    segment_reset(seg);
    rill_err err = scan_segment(part, seg, bytes, &state);
    free(state.buf);
    if (err == RILL_OK && state.problem != NULL) {
        err = RILL_ERR_CORRUPT;
    }
    return err;
}

static int compare_offsets(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Base offsets of the segment files in dir, sorted; RILL_ERR_FULL past RILL_SEGMENTS_MAX. */
static rill_err list_segments(const char *dir, int64_t **out_offsets, uint32_t *out_count)
{
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        return RILL_ERR_IO;
    }
    int64_t *offsets = NULL;
    uint32_t count = 0, capacity = 0;
    rill_err err = RILL_OK;
    struct dirent *entry;
    while (err == RILL_OK && (entry = readdir(handle)) != NULL) {
        const char *name = entry->d_name;
        if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0 ||
            strspn(name, "0123456789") != 20) {
            continue;
        }
        if (count == capacity) {
            capacity = capacity == 0 ? 16 : capacity * 2;
            int64_t *grown = capacity > RILL_SEGMENTS_MAX ? NULL : realloc(offsets, capacity * 8u);
            if (grown == NULL) {
                err = capacity > RILL_SEGMENTS_MAX ? RILL_ERR_FULL : RILL_ERR_NOMEM;
                break;
            }
            offsets = grown;
        }
        char *end = NULL;
        unsigned long long value = strtoull(name, &end, 10);
        if (value > (unsigned long long)INT64_MAX) {
            err = RILL_ERR_CORRUPT;
            break;
        }
        offsets[count++] = (int64_t)value;
    }
    closedir(handle);
    if (err != RILL_OK) {
        free(offsets);
        return err;
    }
    if (count > 0) {
        qsort(offsets, count, sizeof(*offsets), compare_offsets);
    }
    *out_offsets = offsets;
    *out_count = count;
    return RILL_OK;
}

/* Truncates seg at seg->bytes (the end of its valid batches) and makes that durable. */
static rill_err truncate_tail(struct log_partition *part,
                              struct log_segment *seg,
                              uint64_t file_bytes,
                              const char *problem)
{
    /* Zeros past the data are what preallocation leaves behind a crash: expected, not damage. */
    enum diag_level level =
        strcmp(problem, LOG_ZERO_TAIL_PROBLEM) == 0 ? DIAG_LEVEL_INFO : DIAG_LEVEL_WARN;
    diag_write(level, "log",
               "truncating invalid tail dir=%s segment=%" PRId64 " position=%" PRIu64
               " file_bytes=%" PRIu64 " offset=%" PRId64 " reason=\"%s\"",
               part->dir, seg->offset_base, seg->bytes, file_bytes, seg->offset_next, problem);
    rill_err err = part->io->ops->ftruncate(part->io, seg->fd, seg->bytes);
    if (err == RILL_OK) {
        err = part->io->ops->fdatasync(part->io, seg->fd);
    }
    return err;
}

struct recovery {
    struct log_partition *part;
    struct log_checkpoint ckpt;
    bool have_ckpt;
    uint32_t ckpt_index;   /* segment index of the checkpoint (when have_ckpt) */
    uint32_t sealed_below; /* segments with a smaller index must be intact */
    const int64_t *offsets;
    uint32_t count;
};

static rill_err
recover_corrupt(const struct recovery *rec, const struct log_segment *seg, const char *what)
{
    DIAG_ERROR("log",
               "corruption below the recovery checkpoint dir=%s segment=%" PRId64
               " position=%" PRIu64 " reason=\"%s\": refusing to open",
               rec->part->dir, seg->offset_base, seg->bytes, what);
    return RILL_ERR_CORRUPT;
}

/* A segment below the checkpoint: indexes or a full scan, which must find no problem. */
static rill_err recover_sealed(struct recovery *rec, struct log_segment *seg, uint64_t file_bytes)
{
    struct log_partition *part = rec->part;
    seg->sealed = true;
    if (log_segment_load_indexes(part, seg, file_bytes) == RILL_OK) {
        return RILL_OK;
    }
    struct scan_state state = { .watch_position = UINT64_MAX, .offset_at_watch = -1 };
    segment_reset(seg);
    rill_err err = scan_segment(part, seg, file_bytes, &state);
    free(state.buf);
    if (err != RILL_OK) {
        return err;
    }
    if (state.problem != NULL) {
        return recover_corrupt(rec, seg, state.problem);
    }
    seg->index_files_stale = true; /* rewritten only once the whole open has succeeded */
    return RILL_OK;
}

/* The checkpoint segment and later ones; *out_torn tells that later segments must go. */
static rill_err recover_tail(struct recovery *rec,
                             struct log_segment *seg,
                             uint32_t index,
                             uint64_t file_bytes,
                             bool *out_torn)
{
    struct log_partition *part = rec->part;
    bool is_ckpt = rec->have_ckpt && index == rec->ckpt_index;
    if (is_ckpt && file_bytes < rec->ckpt.position) {
        return recover_corrupt(rec, seg, "segment shorter than the recovery checkpoint");
    }
    if (is_ckpt && file_bytes == rec->ckpt.position &&
        log_segment_load_indexes(part, seg, file_bytes) == RILL_OK &&
        seg->offset_next == rec->ckpt.offset_next) {
        *out_torn = false;
        return RILL_OK; /* closed cleanly: nothing after the checkpoint */
    }
    struct scan_state state = { .watch_position = is_ckpt ? rec->ckpt.position : UINT64_MAX,
                                .offset_at_watch = -1 };
    segment_reset(seg);
    rill_err err = scan_segment(part, seg, file_bytes, &state);
    free(state.buf);
    if (err != RILL_OK) {
        return err;
    }
    if (is_ckpt &&
        (seg->bytes < rec->ckpt.position || state.offset_at_watch != rec->ckpt.offset_next)) {
        return recover_corrupt(rec, seg,
                               state.problem != NULL ? state.problem
                                                     : "batches do not end at the checkpoint");
    }
    *out_torn = state.problem != NULL;
    if (*out_torn) {
        err = truncate_tail(part, seg, file_bytes, state.problem);
    }
    return err;
}

static rill_err recover_segment(struct recovery *rec, uint32_t index, bool *out_torn)
{
    struct log_partition *part = rec->part;
    *out_torn = false;
    /* Checked before anything is repaired: a refused open must leave every file as it was. */
    const struct log_segment *before = index > 0 ? part->segments[index - 1] : NULL;
    /* A compacted segment was synced whole before it replaced the original: never torn. Its
     * end may fall short of the next base (its last records were superseded). */
    if (before != NULL && before->compacted && before->offset_next <= rec->offsets[index]) {
        before = NULL;
    }
    if (before != NULL && before->offset_next != rec->offsets[index]) {
        const struct log_segment *prev = before;
        if (index - 1 >= rec->sealed_below && prev->offset_next < rec->offsets[index]) {
            /*
             * The previous segment was sealed by a roll whose background sync had not
             * completed when power was lost, so its end is gone. The durable end never passed
             * it, so nothing here or later was acknowledged: drop them like a torn tail.
             */
            *out_torn = true;
            return RILL_OK;
        }
        return recover_corrupt(rec, prev, "segment does not continue the previous one");
    }
    struct log_segment *seg = NULL;
    rill_err err = log_segment_create(part, rec->offsets[index], false, &seg);
    if (err != RILL_OK) {
        return err;
    }
    seg->compacted = log_compact_marker_valid(part->io, part->dir, seg->offset_base);
    err = log_partition_add_segment(part, seg);
    if (err != RILL_OK) {
        log_segment_destroy(part, seg);
        return err;
    }
    uint64_t file_bytes = 0;
    err = part->io->ops->file_bytes(part->io, seg->fd, &file_bytes);
    if (err == RILL_OK && file_bytes > RILL_SEGMENT_BYTES_MAX) {
        return recover_corrupt(rec, seg, "segment larger than the format allows");
    }
    if (err == RILL_OK && index < rec->sealed_below) {
        err = recover_sealed(rec, seg, file_bytes);
    } else if (err == RILL_OK) {
        err = recover_tail(rec, seg, index, file_bytes, out_torn);
        seg->sealed = index + 1 < rec->count && !*out_torn;
        seg->index_files_stale = seg->sealed; /* rolled after the checkpoint */
    }
    return err;
}

/* Deletes segments that follow a torn tail: they were never acknowledged as durable. */
static rill_err drop_segments_after(struct recovery *rec, uint32_t index)
{
    for (uint32_t i = index + 1; i < rec->count; i++) {
        DIAG_WARN("log", "deleting segment after a torn tail dir=%s segment=%" PRId64,
                  rec->part->dir, rec->offsets[i]);
        rill_err err = log_segment_unlink(rec->part, rec->offsets[i]);
        if (err != RILL_OK) {
            return err;
        }
    }
    return rec->part->io->ops->sync_dir(rec->part->io, rec->part->dir);
}

static rill_err recover_checkpoint(struct recovery *rec)
{
    rill_err err = log_checkpoint_read(rec->part->io, rec->part->dir, &rec->ckpt);
    rec->have_ckpt = err == RILL_OK;
    if (err == RILL_ERR_CORRUPT || err == RILL_ERR_CRC) {
        DIAG_WARN("log", "ignoring damaged recovery checkpoint dir=%s", rec->part->dir);
    } else if (err != RILL_OK && err != RILL_ERR_NOT_FOUND) {
        return err;
    }
    /*
     * Without a checkpoint, the last two segments are the tail: a roll syncs the segment it
     * sealed in the background (one at a time), so that one may be incomplete too.
     */
    rec->sealed_below = rec->count >= 2 ? rec->count - 2 : 0;
    if (!rec->have_ckpt) {
        return RILL_OK;
    }
    for (uint32_t i = 0; i < rec->count; i++) {
        if (rec->offsets[i] == rec->ckpt.segment_base) {
            rec->ckpt_index = i;
            rec->sealed_below = i;
            return RILL_OK;
        }
    }
    DIAG_ERROR("log", "recovery checkpoint names missing segment dir=%s segment=%" PRId64,
               rec->part->dir, rec->ckpt.segment_base);
    return RILL_ERR_CORRUPT;
}

static rill_err recover_empty(struct recovery *rec)
{
    struct log_partition *part = rec->part;
    if (rec->have_ckpt && rec->ckpt.offset_next > rec->ckpt.segment_base) {
        DIAG_ERROR("log", "recovery checkpoint at offset %" PRId64 " but no segments dir=%s",
                   rec->ckpt.offset_next, part->dir);
        return RILL_ERR_CORRUPT;
    }
    int64_t offset_base = rec->have_ckpt ? rec->ckpt.offset_next : 0;
    struct log_segment *seg = NULL;
    rill_err err = log_segment_create(part, offset_base, true, &seg);
    if (err != RILL_OK) {
        return err;
    }
    err = log_partition_add_segment(part, seg);
    if (err != RILL_OK) {
        log_segment_destroy(part, seg);
        return err;
    }
    return part->io->ops->sync_dir(part->io, part->dir);
}

rill_err log_partition_recover(struct log_partition *part)
{
    struct recovery rec = { .part = part };
    int64_t *offsets = NULL;
    /* An interrupted compaction leaves at most a .cleaning copy or an orphan marker. */
    rill_err err = log_compact_recover_dir(part);
    if (err == RILL_OK) {
        err = list_segments(part->dir, &offsets, &rec.count);
    }
    if (err != RILL_OK) {
        return err;
    }
    rec.offsets = offsets;
    err = recover_checkpoint(&rec);
    if (err == RILL_OK && rec.count == 0) {
        err = recover_empty(&rec);
    }
    for (uint32_t i = 0; err == RILL_OK && i < rec.count; i++) {
        bool torn = false;
        err = recover_segment(&rec, i, &torn);
        if (err == RILL_OK && torn) {
            /* A torn segment stays (cut); a segment after a lost end goes with the rest. */
            bool cut_here = part->segment_count == i + 1;
            err = drop_segments_after(&rec, cut_here ? i : i - 1);
            break;
        }
    }
    free(offsets);
    if (err != RILL_OK) {
        return err;
    }
    for (uint32_t i = 0; i + 1 < part->segment_count; i++) {
        if (part->segments[i]->index_files_stale) {
            err = log_segment_write_indexes(part, part->segments[i]);
            if (err != RILL_OK) {
                return err;
            }
            part->segments[i]->index_files_stale = false;
        }
    }
    for (uint32_t i = 0; i < part->segment_count; i++) {
        /* Every segment now ends at its data: torn tails (zeros included) were cut. */
        part->segments[i]->file_bytes = part->segments[i]->bytes;
    }
    struct log_segment *active = part->segments[part->segment_count - 1];
    active->sealed = false;
    active->created_ms = active->bytes > 0 ? rill_clock_wall_ms() : -1;
    part->offset_start = part->segments[0]->offset_base;
    part->offset_next = active->offset_next;
    part->offset_written = part->offset_next;
    part->offset_sync_requested = part->offset_next;
    /* What survived a crash may sit in the page cache only: make it durable, then record it. */
    err = part->io->ops->fdatasync(part->io, active->fd);
    if (err == RILL_OK) {
        part->offset_durable = part->offset_next;
        struct log_checkpoint ckpt = { part->offset_next, active->offset_base, active->bytes };
        err = log_checkpoint_write(part, &ckpt);
    }
    return err;
}
