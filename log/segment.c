/*
 * segment.c - one segment: its .log file, its sparse indexes and their files.
 *
 * A segment is named by its base offset: <offset:020>.log, .index, .timeindex. Index files are
 * derived data written whole when a segment is sealed (roll) or the log is closed; a missing,
 * damaged or stale index is rebuilt by scanning the .log file.
 */
#include "log/partition.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/limits.h"

rill_err log_segment_path(
    const char *dir, int64_t offset_base, const char *suffix, char *out, size_t out_bytes)
{
    int used = snprintf(out, out_bytes, "%s/%020" PRId64 "%s", dir, offset_base, suffix);
    return used < 0 || (size_t)used >= out_bytes ? RILL_ERR_TOO_LARGE : RILL_OK;
}

rill_err log_segment_create(struct log_partition *part,
                            int64_t offset_base,
                            bool create,
                            struct log_segment **out_seg)
{
    char path[RILL_PATH_BYTES_MAX];
    rill_err err = log_segment_path(part->dir, offset_base, ".log", path, sizeof(path));
    if (err != RILL_OK) {
        return err;
    }
    struct log_segment *seg = calloc(1, sizeof(*seg));
    if (seg == NULL) {
        return RILL_ERR_NOMEM;
    }
    seg->offset_base = offset_base;
    seg->offset_next = offset_base;
    seg->timestamp_max = -1;
    seg->created_ms = -1;
    seg->fd = -1;
    log_index_init(&seg->idx);
    int flags = O_RDWR | (create ? O_CREAT | O_EXCL : 0);
    err = part->io->ops->open(part->io, path, flags, 0644, &seg->fd);
    if (err != RILL_OK) {
        free(seg);
        return err;
    }
    *out_seg = seg;
    return RILL_OK;
}

void log_segment_destroy(struct log_partition *part, struct log_segment *seg)
{
    if (seg == NULL) {
        return;
    }
    if (seg->fd >= 0) {
        part->io->ops->close(part->io, seg->fd);
    }
    log_index_deinit(&seg->idx);
    free(seg);
}

static rill_err segment_write_index_file(struct log_partition *part,
                                         struct log_segment *seg,
                                         uint32_t kind,
                                         const char *suffix)
{
    struct log_io *io = part->io;
    struct log_index_summary summary = {
        .offset_base = seg->offset_base,
        .segment_bytes = seg->bytes,
        .offset_next = seg->offset_next,
        .timestamp_max = seg->timestamp_max,
    };
    size_t bytes = log_index_file_bytes(&seg->idx, kind);
    uint8_t *buf = malloc(bytes);
    if (buf == NULL) {
        return RILL_ERR_NOMEM;
    }
    log_index_encode(&seg->idx, kind, &summary, buf);
    char path[RILL_PATH_BYTES_MAX];
    int fd = -1;
    rill_err err = log_segment_path(part->dir, seg->offset_base, suffix, path, sizeof(path));
    if (err == RILL_OK) {
        err = io->ops->open(io, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd);
    }
    if (err == RILL_OK) {
        err = io->ops->pwrite(io, fd, buf, bytes, 0);
        io->ops->close(io, fd);
    }
    free(buf);
    return err;
}

rill_err log_segment_write_indexes(struct log_partition *part, struct log_segment *seg)
{
    rill_err err = segment_write_index_file(part, seg, LOG_INDEX_KIND_OFFSET, ".index");
    if (err == RILL_OK) {
        err = segment_write_index_file(part, seg, LOG_INDEX_KIND_TIME, ".timeindex");
    }
    return err;
}

static rill_err segment_load_index_file(struct log_partition *part,
                                        struct log_segment *seg,
                                        uint32_t kind,
                                        const char *suffix,
                                        struct log_index_summary *out_summary)
{
    struct log_io *io = part->io;
    char path[RILL_PATH_BYTES_MAX];
    int fd = -1;
    uint64_t file_bytes = 0;
    uint8_t *buf = NULL;
    rill_err err = log_segment_path(part->dir, seg->offset_base, suffix, path, sizeof(path));
    if (err == RILL_OK) {
        err = io->ops->open(io, path, O_RDONLY, 0, &fd);
    }
    if (err != RILL_OK) {
        return err;
    }
    err = io->ops->file_bytes(io, fd, &file_bytes);
    /* Bound what a damaged file can make us allocate: an index cannot exceed this. */
    if (err == RILL_OK && file_bytes > LOG_INDEX_HEADER_BYTES + (RILL_SEGMENT_BYTES_MAX / 8) * 12) {
        err = RILL_ERR_CORRUPT;
    }
    if (err == RILL_OK) {
        buf = malloc(file_bytes > 0 ? file_bytes : 1);
        err = buf == NULL ? RILL_ERR_NOMEM : RILL_OK;
    }
    size_t read_bytes = 0;
    if (err == RILL_OK) {
        err = io->ops->pread(io, fd, buf, file_bytes, 0, &read_bytes);
    }
    if (err == RILL_OK && read_bytes != file_bytes) {
        err = RILL_ERR_CORRUPT;
    }
    if (err == RILL_OK) {
        err = log_index_decode(&seg->idx, kind, seg->offset_base, buf, read_bytes, out_summary);
    }
    free(buf);
    io->ops->close(io, fd);
    return err;
}

rill_err
log_segment_load_indexes(struct log_partition *part, struct log_segment *seg, uint64_t file_bytes)
{
    struct log_index_summary offsets, times;
    rill_err err = segment_load_index_file(part, seg, LOG_INDEX_KIND_OFFSET, ".index", &offsets);
    if (err == RILL_OK) {
        err = segment_load_index_file(part, seg, LOG_INDEX_KIND_TIME, ".timeindex", &times);
    }
    if (err == RILL_OK &&
        (offsets.segment_bytes != file_bytes || times.segment_bytes != file_bytes ||
         offsets.offset_next != times.offset_next ||
         offsets.timestamp_max != times.timestamp_max)) {
        err = RILL_ERR_CORRUPT;
    }
    if (err != RILL_OK) {
        log_index_clear(&seg->idx);
        return err;
    }
    seg->bytes = file_bytes;
    seg->bytes_written = file_bytes;
    seg->file_bytes = file_bytes;
    seg->offset_next = offsets.offset_next;
    seg->timestamp_max = offsets.timestamp_max;
    return RILL_OK;
}

rill_err log_segment_unlink(struct log_partition *part, int64_t offset_base)
{
    /* The compaction marker goes last: a crash may orphan it (recovery deletes orphans), but
     * never leave a compacted .log without its marker. */
    static const char *const suffixes[] = { ".index", ".timeindex", ".log",
                                            LOG_COMPACT_MARKER_SUFFIX };
    rill_err first = RILL_OK;
    for (size_t i = 0; i < RILL_ARRAY_COUNT(suffixes); i++) {
        char path[RILL_PATH_BYTES_MAX];
        rill_err err = log_segment_path(part->dir, offset_base, suffixes[i], path, sizeof(path));
        if (err == RILL_OK) {
            err = part->io->ops->unlink(part->io, path);
        }
        if (err != RILL_OK && err != RILL_ERR_NOT_FOUND && first == RILL_OK) {
            first = err;
        }
    }
    return first;
}

rill_err log_segment_index_batch(struct log_partition *part,
                                 struct log_segment *seg,
                                 int64_t offset_base,
                                 int64_t timestamp_max,
                                 uint64_t position,
                                 uint32_t total_bytes)
{
    RILL_ASSERT(offset_base >= seg->offset_base);
    RILL_ASSERT(offset_base - seg->offset_base <= RILL_SEGMENT_OFFSETS_MAX);
    uint32_t relative = (uint32_t)(offset_base - seg->offset_base);
    rill_err err = RILL_OK;
    /* The first batch of a segment needs no entry: a lookup that finds none starts at 0. */
    if (position > 0 && seg->bytes_since_index >= part->cfg.index_interval_bytes) {
        err = log_index_add(&seg->idx, relative, (uint32_t)position);
        seg->bytes_since_index = 0;
    }
    if (err == RILL_OK && timestamp_max > seg->timestamp_max) {
        err = log_index_time_add(&seg->idx, timestamp_max, relative);
    }
    if (err != RILL_OK) {
        return err;
    }
    seg->bytes_since_index += total_bytes;
    if (timestamp_max > seg->timestamp_max) {
        seg->timestamp_max = timestamp_max;
    }
    return RILL_OK;
}

rill_err log_segment_read_header(struct log_partition *part,
                                 struct log_segment *seg,
                                 uint64_t position,
                                 uint64_t limit_bytes,
                                 struct log_batch_header *out_hdr)
{
    uint8_t buf[LOG_BATCH_HEADER_BYTES];
    size_t read_bytes = 0;
    if (position + LOG_BATCH_HEADER_BYTES > limit_bytes) {
        return RILL_ERR_CORRUPT;
    }
    rill_err err = part->io->ops->pread(part->io, seg->fd, buf, sizeof(buf), position, &read_bytes);
    if (err != RILL_OK) {
        return err;
    }
    if (read_bytes != sizeof(buf)) {
        return RILL_ERR_CORRUPT;
    }
    struct log_batch_header hdr;
    err = log_batch_header_decode(buf, sizeof(buf), &hdr);
    if (err != RILL_OK) {
        return RILL_ERR_CORRUPT;
    }
    if (position + log_batch_total_bytes(&hdr) > limit_bytes) {
        return RILL_ERR_CORRUPT;
    }
    *out_hdr = hdr;
    return RILL_OK;
}
