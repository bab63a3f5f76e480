/*
 * dump.c - rill_log_dump(): offline, read-only inspection of a log directory or one segment.
 * Every batch checksum is verified, and every index entry is checked against the batches it
 * points at. Nothing is modified and no lock is taken, so it also works on a log in use (where
 * the active segment's index may be legitimately stale: reported, not counted as corruption).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/err.h"
#include "common/limits.h"
#include "log/batch.h"
#include "log/index.h"
#include "log/partition.h"

struct dump_batch_ref {
    uint64_t position;
    int64_t offset_base;
    int64_t offset_last;
};

struct dump {
    rill_dump_cb *cb;
    void *opaque;
    bool corrupt;
    struct dump_batch_ref *refs; /* batches of the current segment, in file order */
    size_t ref_count;
    size_t ref_capacity;
    uint8_t *buf;
    size_t buf_capacity;
};

static void dump_emit(struct dump *dump, rill_dump_item_t *item)
{
    if (item->message == NULL) {
        item->message = "";
    }
    if (item->err != RILL_OK) {
        dump->corrupt = true;
    }
    dump->cb(item, dump->opaque);
}

static void dump_problem(
    struct dump *dump, const char *path, uint64_t position, rill_err err, const char *message)
{
    rill_dump_item_t item = { .kind = RILL_DUMP_PROBLEM,
                              .path = path,
                              .position = position,
                              .err = err,
                              .message = message };
    dump_emit(dump, &item);
}

static rill_err dump_read(int fd, struct dump *dump, size_t bytes, uint64_t position)
{
    if (bytes > dump->buf_capacity) {
        uint8_t *grown = realloc(dump->buf, bytes);
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        dump->buf = grown;
        dump->buf_capacity = bytes;
    }
    size_t done = 0;
    while (done < bytes) {
        ssize_t got = pread(fd, dump->buf + done, bytes - done, (off_t)(position + done));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return got < 0 ? rill_err_from_errno(errno) : RILL_ERR_CORRUPT;
        }
        done += (size_t)got;
    }
    return RILL_OK;
}

static rill_err dump_remember(struct dump *dump, const struct log_batch_header *hdr, uint64_t pos)
{
    if (dump->ref_count == dump->ref_capacity) {
        size_t capacity = dump->ref_capacity == 0 ? 256 : dump->ref_capacity * 2;
        struct dump_batch_ref *grown = realloc(dump->refs, capacity * sizeof(*grown));
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        dump->refs = grown;
        dump->ref_capacity = capacity;
    }
    dump->refs[dump->ref_count++] =
        (struct dump_batch_ref){ pos, hdr->offset_base, log_batch_offset_last(hdr) };
    return RILL_OK;
}

static void dump_fill_batch(rill_dump_item_t *item, const struct log_batch_header *hdr)
{
    item->kind = RILL_DUMP_BATCH;
    item->bytes = log_batch_total_bytes(hdr);
    item->offset_base = hdr->offset_base;
    item->offset_last = log_batch_offset_last(hdr);
    item->record_count = hdr->record_count;
    item->leader_epoch = hdr->leader_epoch;
    item->codec = log_batch_codec(hdr);
    item->timestamp_first = hdr->timestamp_first;
    item->timestamp_max = hdr->timestamp_max;
    item->producer_id = hdr->producer_id;
    item->crc_stored = hdr->crc;
}

/* What the scan of one segment learnt, for the index checks. */
struct dump_segment {
    const char *path;
    int64_t offset_base;
    uint64_t file_bytes;
    uint64_t valid_bytes;
    int64_t offset_next;
    int64_t timestamp_max;
    bool compacted; /* a valid compaction marker: offset gaps allowed, order still checked */
    bool active;    /* the last segment: may end in zeros (preallocation, log/partition.c) */
};

/* Whether [position, file end) holds only zeros; read in pieces of at most 1 MiB. */
static bool
dump_zero_rest(struct dump *dump, int fd, const struct dump_segment *ds, uint64_t position)
{
    while (position < ds->file_bytes) {
        uint64_t left = ds->file_bytes - position;
        size_t piece = left < (1u << 20) ? (size_t)left : (1u << 20);
        if (dump_read(fd, dump, piece, position) != RILL_OK || !log_zero_bytes(dump->buf, piece)) {
            return false;
        }
        position += piece;
    }
    return true;
}

/*
 * A batch header that cannot be decoded at position: in the active segment, zeros up to the
 * file's end are preallocated space (an open cuts them), reported without an error; anything
 * else is a problem.
 */
static void dump_bad_header(
    struct dump *dump, int fd, struct dump_segment *ds, uint64_t position, const char *message)
{
    if (ds->active && dump_zero_rest(dump, fd, ds, position)) {
        char text[96];
        snprintf(text, sizeof(text), "zero tail of %llu bytes (preallocated space; cut on open)",
                 (unsigned long long)(ds->file_bytes - position));
        rill_dump_item_t item = {
            .kind = RILL_DUMP_PROBLEM, .path = ds->path, .position = position, .message = text
        };
        item.bytes = ds->file_bytes - position;
        dump_emit(dump, &item);
        ds->file_bytes = position; /* the data ends here: the index checks compare with it */
        return;
    }
    dump_problem(dump, ds->path, position, RILL_ERR_CORRUPT, message);
}

/* Checks one batch at position; false when the scan of this segment cannot go on. */
static bool dump_batch(struct dump *dump, int fd, struct dump_segment *ds, uint64_t position)
{
    uint64_t left = ds->file_bytes - position;
    if (left < LOG_BATCH_HEADER_BYTES ||
        dump_read(fd, dump, LOG_BATCH_HEADER_BYTES, position) != RILL_OK) {
        dump_bad_header(dump, fd, ds, position, "truncated batch header");
        return false;
    }
    struct log_batch_header hdr;
    if (log_batch_header_decode(dump->buf, LOG_BATCH_HEADER_BYTES, &hdr) != RILL_OK) {
        dump_bad_header(dump, fd, ds, position, "invalid batch header");
        return false;
    }
    uint32_t total = log_batch_total_bytes(&hdr);
    if (total > left || dump_read(fd, dump, total, position) != RILL_OK) {
        dump_problem(dump, ds->path, position, RILL_ERR_CORRUPT, "truncated batch");
        return false;
    }
    rill_dump_item_t item = { .path = ds->path, .position = position };
    dump_fill_batch(&item, &hdr);
    item.crc_computed = log_batch_crc_compute(dump->buf, total);
    item.err = log_batch_validate(dump->buf, total, false, &hdr);
    item.message = item.err == RILL_ERR_CRC ? "checksum mismatch"
                   : item.err != RILL_OK    ? "invalid batch"
                                            : "";
    if (item.err == RILL_OK &&
        !log_compact_offset_continues(ds->compacted, hdr.offset_base, ds->offset_next)) {
        item.err = RILL_ERR_CORRUPT;
        item.message = "offsets do not continue the previous batch";
    }
    dump_emit(dump, &item);
    if (dump_remember(dump, &hdr, position) != RILL_OK) {
        return false;
    }
    ds->offset_next = log_batch_offset_last(&hdr) + 1;
    if (hdr.timestamp_max > ds->timestamp_max) {
        ds->timestamp_max = hdr.timestamp_max;
    }
    ds->valid_bytes = position + total;
    return true;
}

static const struct dump_batch_ref *dump_ref_at(const struct dump *dump, uint64_t position)
{
    size_t low = 0, high = dump->ref_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (dump->refs[middle].position < position) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low < dump->ref_count && dump->refs[low].position == position ? &dump->refs[low] : NULL;
}

static const char *dump_check_entries(const struct dump *dump,
                                      const struct log_index *idx,
                                      const struct dump_segment *ds)
{
    for (uint32_t i = 0; i < idx->entry_count; i++) {
        const struct dump_batch_ref *ref = dump_ref_at(dump, idx->entries[i].position);
        if (ref == NULL || ref->offset_base != ds->offset_base + idx->entries[i].offset_relative) {
            return "offset index entry does not point at its batch";
        }
    }
    for (uint32_t i = 0; i < idx->time_count; i++) {
        int64_t offset = ds->offset_base + idx->time_entries[i].offset_relative;
        if (offset >= ds->offset_next) {
            return "time index entry past the end of the segment";
        }
    }
    return NULL;
}

static rill_err dump_load_index(const char *path,
                                uint32_t kind,
                                int64_t offset_base,
                                struct log_index *idx,
                                struct log_index_summary *summary)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return rill_err_from_errno(errno);
    }
    struct stat st;
    rill_err err = fstat(fd, &st) == 0 ? RILL_OK : rill_err_from_errno(errno);
    if (err == RILL_OK && (uint64_t)st.st_size > (RILL_SEGMENT_BYTES_MAX / 8) * 12) {
        err = RILL_ERR_CORRUPT;
    }
    uint8_t *buf = err == RILL_OK ? malloc((size_t)st.st_size + 1) : NULL;
    if (err == RILL_OK && buf == NULL) {
        err = RILL_ERR_NOMEM;
    }
    if (err == RILL_OK) {
        ssize_t got = pread(fd, buf, (size_t)st.st_size, 0);
        err = got == st.st_size
                  ? log_index_decode(idx, kind, offset_base, buf, (size_t)got, summary)
                  : RILL_ERR_IO;
    }
    free(buf);
    close(fd);
    return err;
}

static void dump_index(struct dump *dump,
                       const struct dump_segment *ds,
                       const char *suffix,
                       uint32_t kind,
                       bool active)
{
    char path[RILL_PATH_BYTES_MAX];
    size_t stem = strlen(ds->path) - 4; /* without ".log" */
    size_t suffix_bytes = strlen(suffix);
    if (stem + suffix_bytes + 1 > sizeof(path)) {
        return;
    }
    memcpy(path, ds->path, stem);
    memcpy(path + stem, suffix, suffix_bytes + 1);
    struct log_index idx;
    struct log_index_summary summary;
    log_index_init(&idx);
    rill_err err = dump_load_index(path, kind, ds->offset_base, &idx, &summary);
    rill_dump_item_t item = { .kind = RILL_DUMP_INDEX, .path = path, .err = err };
    if (err == RILL_ERR_NOT_FOUND) {
        item.err = active ? RILL_OK : RILL_ERR_NOT_FOUND;
        item.message = active ? "missing (active segment: rebuilt on open)" : "missing";
    } else if (err != RILL_OK) {
        item.message = err == RILL_ERR_CRC ? "checksum mismatch" : "damaged index file";
    } else if (summary.segment_bytes != ds->file_bytes || summary.offset_next != ds->offset_next ||
               summary.timestamp_max != ds->timestamp_max) {
        item.err = active ? RILL_OK : RILL_ERR_CORRUPT;
        item.message =
            active ? "stale (active segment: rebuilt on open)" : "does not match its segment";
    } else {
        item.message = dump_check_entries(dump, &idx, ds);
        item.err = item.message != NULL ? RILL_ERR_CORRUPT : RILL_OK;
    }
    item.entry_count = kind == LOG_INDEX_KIND_OFFSET ? idx.entry_count : idx.time_count;
    item.offset_base = ds->offset_base;
    dump_emit(dump, &item);
    log_index_deinit(&idx);
}

/* Whether the segment at path ("<stem>.log") has a valid compaction marker (compact.c). */
static bool dump_compacted(const char *path, int64_t offset_base)
{
    char marker[RILL_PATH_BYTES_MAX];
    size_t stem = strlen(path) - 4;
    if (stem + sizeof(LOG_COMPACT_MARKER_SUFFIX) > sizeof(marker)) {
        return false;
    }
    memcpy(marker, path, stem);
    memcpy(marker + stem, LOG_COMPACT_MARKER_SUFFIX, sizeof(LOG_COMPACT_MARKER_SUFFIX));
    int fd = open(marker, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    uint8_t buf[LOG_COMPACT_MARKER_BYTES + 1];
    ssize_t got = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    return got > 0 && log_compact_marker_matches(buf, (size_t)got, offset_base);
}

static rill_err dump_segment(struct dump *dump,
                             const char *path,
                             int64_t offset_base,
                             bool active,
                             bool compacted,
                             int64_t *out_offset_next)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return rill_err_from_errno(errno);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return rill_err_from_errno(errno);
    }
    struct dump_segment ds = { .path = path,
                               .offset_base = offset_base,
                               .file_bytes = (uint64_t)st.st_size,
                               .offset_next = offset_base,
                               .timestamp_max = -1,
                               .compacted = compacted,
                               .active = active };
    rill_dump_item_t item = {
        .kind = RILL_DUMP_SEGMENT, .path = path, .bytes = ds.file_bytes, .offset_base = offset_base
    };
    dump_emit(dump, &item);
    dump->ref_count = 0;
    uint64_t position = 0;
    /* Bounded: each step advances by a checked batch length or stops. */
    while (position < ds.file_bytes && dump_batch(dump, fd, &ds, position)) {
        position = ds.valid_bytes;
    }
    close(fd);
    *out_offset_next = ds.offset_next;
    if (ds.valid_bytes == ds.file_bytes) {
        dump_index(dump, &ds, ".index", LOG_INDEX_KIND_OFFSET, active);
        dump_index(dump, &ds, ".timeindex", LOG_INDEX_KIND_TIME, active);
    }
    return RILL_OK;
}

static bool segment_name(const char *name, int64_t *out_offset)
{
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0 || strspn(name, "0123456789") != 20) {
        return false;
    }
    unsigned long long value = strtoull(name, NULL, 10);
    if (value > (unsigned long long)INT64_MAX) {
        return false;
    }
    *out_offset = (int64_t)value;
    return true;
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void dump_checkpoint(struct dump *dump, const char *dir)
{
    char path[RILL_PATH_BYTES_MAX];
    int used = snprintf(path, sizeof(path), "%s/%s", dir, LOG_CHECKPOINT_FILE);
    if (used < 0 || (size_t)used >= sizeof(path)) {
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    uint8_t buf[LOG_CHECKPOINT_BYTES + 1];
    ssize_t got = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    struct log_checkpoint ckpt = { 0 };
    rill_err err = got < 0 ? RILL_ERR_IO : log_checkpoint_decode(buf, (size_t)got, &ckpt);
    rill_dump_item_t item = { .kind = RILL_DUMP_CHECKPOINT,
                              .path = path,
                              .err = err,
                              .offset_base = ckpt.offset_next,
                              .position = ckpt.position,
                              .offset_last = ckpt.segment_base,
                              .message = err == RILL_OK ? "" : "damaged checkpoint" };
    dump_emit(dump, &item);
}

static rill_err dump_directory(struct dump *dump, const char *dir)
{
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        return rill_err_from_errno(errno);
    }
    int64_t *offsets = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    rill_err err = RILL_OK;
    while (err == RILL_OK && (entry = readdir(handle)) != NULL) {
        int64_t offset = 0;
        if (!segment_name(entry->d_name, &offset)) {
            continue;
        }
        if (count == capacity) {
            capacity = capacity == 0 ? 16 : capacity * 2;
            int64_t *grown = capacity > RILL_SEGMENTS_MAX ? NULL : realloc(offsets, capacity * 8);
            if (grown == NULL) {
                err = RILL_ERR_NOMEM;
                break;
            }
            offsets = grown;
        }
        offsets[count++] = offset;
    }
    closedir(handle);
    if (count > 0) {
        qsort(offsets, count, sizeof(*offsets), compare_int64);
    }
    dump_checkpoint(dump, dir);
    int64_t offset_next = -1;
    bool prev_compacted = false;
    for (size_t i = 0; err == RILL_OK && i < count; i++) {
        char path[RILL_PATH_BYTES_MAX];
        err = log_segment_path(dir, offsets[i], ".log", path, sizeof(path));
        if (err == RILL_OK && i > 0 &&
            !log_compact_offset_continues(prev_compacted, offsets[i], offset_next)) {
            dump_problem(dump, path, 0, RILL_ERR_CORRUPT,
                         "segment does not continue the previous one");
        }
        if (err == RILL_OK) {
            prev_compacted = dump_compacted(path, offsets[i]);
            err =
                dump_segment(dump, path, offsets[i], i + 1 == count, prev_compacted, &offset_next);
        }
    }
    free(offsets);
    return err;
}

rill_err rill_log_dump(const char *path, rill_dump_cb *cb, void *opaque)
{
    if (path == NULL || cb == NULL) {
        return RILL_ERR_INVALID;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        return rill_err_from_errno(errno);
    }
    struct dump dump = { .cb = cb, .opaque = opaque };
    rill_err err;
    if (S_ISDIR(st.st_mode)) {
        err = dump_directory(&dump, path);
    } else {
        const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
        int64_t offset = 0;
        if (!segment_name(base, &offset)) {
            return RILL_ERR_INVALID;
        }
        int64_t offset_next = 0;
        err = dump_segment(&dump, path, offset, true, dump_compacted(path, offset), &offset_next);
    }
    free(dump.refs);
    free(dump.buf);
    if (err == RILL_OK && dump.corrupt) {
        err = RILL_ERR_CORRUPT;
    }
    return err;
}
