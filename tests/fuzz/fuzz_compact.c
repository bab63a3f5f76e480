/*
 * fuzz_compact.c - the log cleaner over arbitrary closed segments: whatever the segments hold
 * (damaged batches, gaps, a marker or not), a compaction pass never crashes, leaks or hangs;
 * when the log was fully readable and the pass succeeds, the result is a subset of what was
 * there (every record identical at its offset), keeps every key's latest value and every
 * record with a null key, and reopens to the same content.
 *
 * Input layout (every part optional; missing bytes read as zero):
 *   byte 0   flags
 *              bit 0  give segment 0 a valid .compacted marker (gaps allowed in it)
 *              bit 1  split the segment bytes in two closed segments at be16 of bytes 1..2;
 *                     the second is named after the end of the first one's batches, plus
 *                     byte 3 when bit 2 is set
 *              bit 3  give the second segment a valid marker
 *   byte 4   compaction.map.bytes = 4 KiB << (byte % 10)
 *   byte 5   the pass's clock: byte << 36 ms (delete.retention.ms is one hour)
 *   the rest segment bytes, file 00000000000000000000.log (and the second segment); an empty
 *            active segment named after the end of the last one's batches follows
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "tests/fuzz/fuzz.h"
#include "common/assert.h"
#include "common/diag.h"
#include "common/limits.h"
#include "log/batch.h"
#include "log/io.h"
#include "log/partition.h"

#define FLAG_MARKER_FIRST  0x01u
#define FLAG_SPLIT         0x02u
#define FLAG_SPLIT_GAP     0x04u
#define FLAG_MARKER_SECOND 0x08u
#define HEADER_BYTES       6u
#define RECORDS_MAX        50000u /* bound on records compared per input */

static char fuzz_dir[256];

struct seen {
    int64_t offset;
    uint64_t key_hash; /* 0 for a null key */
    uint64_t value_hash;
    bool key_null;
    bool value_null;
};

struct picture {
    struct seen *recs;
    uint32_t count;
    bool complete; /* read to the end without an error and within RECORDS_MAX */
};

static void dir_clear(void)
{
    DIR *handle = opendir(fuzz_dir);
    RILL_ASSERT(handle != NULL);
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
            char path[RILL_PATH_BYTES_MAX];
            snprintf(path, sizeof(path), "%s/%s", fuzz_dir, entry->d_name);
            (void)unlink(path);
        }
    }
    closedir(handle);
}

static void dir_remove(void)
{
    dir_clear();
    (void)rmdir(fuzz_dir);
}

static void dir_setup(void)
{
    if (fuzz_dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/rill-fuzz-XXXXXX", base != NULL ? base : "/tmp");
        RILL_ASSERT(mkdtemp(fuzz_dir) != NULL);
        atexit(dir_remove);
        if (getenv("RILL_DIAG_LEVEL") == NULL) {
            diag_set_level(DIAG_LEVEL_ERROR);
        }
    }
    dir_clear();
}

static void file_write(int64_t offset_base, const char *suffix, const uint8_t *buf, size_t bytes)
{
    char path[RILL_PATH_BYTES_MAX];
    RILL_ASSERT(log_segment_path(fuzz_dir, offset_base, suffix, path, sizeof(path)) == RILL_OK);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    RILL_ASSERT(fd >= 0);
    RILL_ASSERT(bytes == 0 || write(fd, buf, bytes) == (ssize_t)bytes);
    close(fd);
}

static void marker_write(int64_t offset_base)
{
    uint8_t buf[LOG_COMPACT_MARKER_BYTES];
    log_compact_marker_encode(offset_base, buf);
    file_write(offset_base, LOG_COMPACT_MARKER_SUFFIX, buf, sizeof(buf));
}

/* End offset of the well-formed batch headers at the front of buf (offset_base if none). */
static int64_t batches_end(const uint8_t *buf, size_t bytes, int64_t offset_base)
{
    int64_t end = offset_base;
    size_t used = 0;
    struct log_batch_header hdr;
    while (bytes - used >= LOG_BATCH_HEADER_BYTES &&
           log_batch_header_decode(buf + used, bytes - used, &hdr) == RILL_OK &&
           log_batch_total_bytes(&hdr) <= bytes - used && log_batch_offset_last(&hdr) >= end &&
           log_batch_offset_last(&hdr) < INT64_MAX / 2) {
        end = log_batch_offset_last(&hdr) + 1;
        used += log_batch_total_bytes(&hdr);
    }
    return end;
}

static void files_write(const uint8_t *data, size_t size, uint8_t flags)
{
    const uint8_t *seg = data + (size > HEADER_BYTES ? HEADER_BYTES : size);
    size_t seg_bytes = size > HEADER_BYTES ? size - HEADER_BYTES : 0;
    size_t split = seg_bytes;
    if ((flags & FLAG_SPLIT) != 0 && size >= 3) {
        size_t at = (size_t)data[1] << 8 | data[2];
        split = at < seg_bytes ? at : seg_bytes;
    }
    file_write(0, ".log", seg, split);
    if ((flags & FLAG_MARKER_FIRST) != 0) {
        marker_write(0);
    }
    int64_t end = batches_end(seg, split, 0);
    if ((flags & FLAG_SPLIT) != 0) {
        int64_t second = end + ((flags & FLAG_SPLIT_GAP) != 0 && size > 3 ? data[3] : 0);
        file_write(second, ".log", seg + split, seg_bytes - split);
        if ((flags & FLAG_MARKER_SECOND) != 0) {
            marker_write(second);
        }
        end = batches_end(seg + split, seg_bytes - split, second);
    }
    file_write(end, ".log", NULL, 0); /* the active segment: compaction never touches it */
}

static uint64_t hash_bytes(const uint8_t *p, int32_t bytes)
{
    return bytes < 0 ? 0 : XXH3_64bits(p, (size_t)bytes);
}

/* Reads every record through the partition API into pic (bounded); stops at an error. */
static void picture_take(struct log_partition *part, struct picture *pic)
{
    pic->count = 0;
    pic->complete = false;
    struct log_record_iter it;
    log_record_iter_init(&it);
    int64_t offset = part->offset_start;
    for (;;) {
        uint8_t *buf = NULL;
        size_t bytes = 0;
        rill_err err = log_partition_read(part, offset, 4096, &buf, &bytes);
        if (err == RILL_ERR_END) {
            pic->complete = true;
            break;
        }
        if (err != RILL_OK) {
            break;
        }
        size_t used = 0;
        bool ok = true;
        int64_t next = offset;
        struct log_batch_header hdr;
        while (ok && used < bytes) {
            ok = log_batch_header_decode(buf + used, bytes - used, &hdr) == RILL_OK &&
                 log_batch_total_bytes(&hdr) <= bytes - used &&
                 log_batch_validate(buf + used, log_batch_total_bytes(&hdr), false, &hdr) ==
                     RILL_OK &&
                 log_record_iter_start(&it, buf + used, log_batch_total_bytes(&hdr)) == RILL_OK;
            struct log_record rec;
            while (ok && (err = log_record_iter_next(&it, &rec)) == RILL_OK) {
                ok = pic->count < RECORDS_MAX &&
                     (pic->count == 0 || rec.offset > pic->recs[pic->count - 1].offset);
                if (ok && rec.offset >= offset) {
                    pic->recs[pic->count++] = (struct seen){
                        .offset = rec.offset,
                        .key_hash = hash_bytes(rec.key, rec.key_bytes),
                        .value_hash = hash_bytes(rec.value, rec.value_bytes),
                        .key_null = rec.key_bytes < 0,
                        .value_null = rec.value_bytes < 0,
                    };
                }
            }
            ok = ok && err == RILL_ERR_END;
            if (ok) {
                next = log_batch_offset_last(&hdr) + 1;
                used += log_batch_total_bytes(&hdr);
            }
        }
        free(buf);
        if (!ok || next <= offset) {
            break;
        }
        offset = next;
    }
    log_record_iter_deinit(&it);
}

static const struct seen *picture_find(const struct picture *pic, int64_t offset)
{
    uint32_t low = 0, high = pic->count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (pic->recs[middle].offset < offset) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low < pic->count && pic->recs[low].offset == offset ? &pic->recs[low] : NULL;
}

static const struct picture *sort_pic;

/* By key hash, then offset: each key's records end with its latest. */
static int compare_key_offset(const void *a, const void *b)
{
    const struct seen *x = &sort_pic->recs[*(const uint32_t *)a];
    const struct seen *y = &sort_pic->recs[*(const uint32_t *)b];
    if (x->key_hash != y->key_hash) {
        return x->key_hash < y->key_hash ? -1 : 1;
    }
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* after is a subset of before, keeping null keys and each key's latest value below active. */
static void pictures_check(const struct picture *before,
                           const struct picture *after,
                           int64_t active_base,
                           uint32_t *order)
{
    RILL_ASSERT(after->complete);
    for (uint32_t i = 0; i < after->count; i++) {
        const struct seen *was = picture_find(before, after->recs[i].offset);
        RILL_ASSERT(was != NULL && memcmp(was, &after->recs[i], sizeof(*was)) == 0);
    }
    uint32_t keyed = 0;
    for (uint32_t i = 0; i < before->count; i++) {
        const struct seen *rec = &before->recs[i];
        if (rec->key_null || rec->offset >= active_base) {
            RILL_ASSERT(picture_find(after, rec->offset) != NULL);
        } else {
            order[keyed++] = i;
        }
    }
    sort_pic = before;
    qsort(order, keyed, sizeof(*order), compare_key_offset);
    for (uint32_t i = 0; i < keyed; i++) {
        const struct seen *rec = &before->recs[order[i]];
        bool latest = i + 1 == keyed || before->recs[order[i + 1]].key_hash != rec->key_hash;
        if (latest && !rec->value_null) {
            RILL_ASSERT(picture_find(after, rec->offset) != NULL);
        }
    }
}

static struct log_config fuzz_config(const uint8_t *data, size_t size)
{
    struct log_config cfg;
    log_config_from_conf(&cfg, NULL);
    cfg.retention_ms = -1;
    cfg.segment_bytes = RILL_SEGMENT_BYTES_MIN;
    cfg.index_interval_bytes = RILL_INDEX_INTERVAL_BYTES_MIN;
    cfg.compact = true;
    cfg.delete_retention_ms = 3600 * 1000;
    cfg.compaction_map_bytes = (uint64_t)4096 << (size > 4 ? data[4] % 10 : 0);
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct seen before_recs[RECORDS_MAX], after_recs[RECORDS_MAX];
    static uint32_t order[RECORDS_MAX];
    dir_setup();
    uint8_t flags = size > 0 ? data[0] : 0;
    files_write(data, size, flags);
    struct log_config cfg = fuzz_config(data, size);
    int64_t now_ms = size > 5 ? (int64_t)data[5] << 36 : 0;
    struct log_io *io = NULL;
    RILL_ASSERT(log_io_fault_create(NULL, &io) == RILL_OK);
    struct log_partition *part = NULL;
    if (log_partition_open(fuzz_dir, &cfg, io, &part) != RILL_OK) {
        io->ops->destroy(io);
        return 0;
    }
    struct picture before = { .recs = before_recs }, after = { .recs = after_recs };
    picture_take(part, &before);
    int64_t active_base = part->segments[part->segment_count - 1]->offset_base;
    int64_t end = part->offset_next;
    rill_err err = log_partition_compact(part, now_ms, NULL);
    if (err == RILL_OK) {
        RILL_ASSERT(part->offset_next == end);
        picture_take(part, &after);
        if (before.complete) {
            pictures_check(&before, &after, active_base, order);
        }
    }
    bool closed_ok = log_partition_close(part) == RILL_OK;
    if (err == RILL_OK && closed_ok && before.complete) {
        /* What the pass wrote, the next open accepts as it is. */
        RILL_ASSERT(log_partition_open(fuzz_dir, &cfg, io, &part) == RILL_OK);
        RILL_ASSERT(part->offset_next == end);
        struct picture again = { .recs = before_recs };
        picture_take(part, &again);
        RILL_ASSERT(again.complete && again.count == after.count);
        RILL_ASSERT(memcmp(again.recs, after.recs, after.count * sizeof(*after.recs)) == 0);
        RILL_ASSERT(log_partition_close(part) == RILL_OK);
    }
    io->ops->destroy(io);
    return 0;
}
