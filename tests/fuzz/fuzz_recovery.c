/*
 * fuzz_recovery.c - recovery over arbitrary segment files: whatever is on disk, opening a log
 * either fails cleanly or yields a log whose reads report damage as errors (never crash, leak
 * or hang), which takes an append at its end offset and reopens to the same end.
 *
 * Input layout (every part optional; missing bytes read as zero):
 *   byte 0      flags
 *                 bit 0  write a recovery checkpoint
 *                 bit 1  ... taken verbatim from the next 48 bytes (else encoded from them:
 *                        offset_next = be64 & 2^40-1, position = be32 of bytes 8..11)
 *                 bit 2  use the fault backend and the partition API (else io_uring through
 *                        the public API)
 *                 bit 3  split the segment bytes in two segments at be16 of the next 2 bytes;
 *                        the second is named after the end of the first one's batches, plus
 *                        the next byte when bit 4 is set
 *                 bit 5  give the first segment index files encoded from the next 16 bytes:
 *                        entry count, deltas, claimed offset_next and timestamp (valid
 *                        checksums and sizes, so a sealed segment trusts them)
 *   the rest    segment bytes, file 00000000000000000000.log (and the second segment)
 * Everything runs in one temporary directory created on the first input and emptied before each
 * one (removed at exit).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "common/assert.h"
#include "common/diag.h"
#include "common/limits.h"
#include "log/batch.h"
#include "log/index.h"
#include "log/io.h"
#include "log/partition.h"

#define FUZZ_FLAG_CHECKPOINT     0x01u
#define FUZZ_FLAG_CHECKPOINT_RAW 0x02u
#define FUZZ_FLAG_FAULT_BACKEND  0x04u
#define FUZZ_FLAG_SPLIT          0x08u
#define FUZZ_FLAG_SPLIT_GAP      0x10u
#define FUZZ_FLAG_INDEX          0x20u
#define FUZZ_RECORDS_MAX         100000u /* bound on records read back from one input */

static char fuzz_dir[256];

/*
 * The input supplied index files: a sealed segment then trusts them without re-reading its
 * batches, so lookups may answer from whatever the batches say (their base offsets lie outside
 * the CRC). Answers are only range-checked without them.
 */
static bool fuzz_index_supplied;

/* Consumes bytes from the input; past its end, zeros. */
struct cursor {
    const uint8_t *data;
    size_t size;
    size_t used;
};

static void cursor_take(struct cursor *cur, uint8_t *out, size_t bytes)
{
    size_t have = cur->size - cur->used < bytes ? cur->size - cur->used : bytes;
    memcpy(out, cur->data + cur->used, have);
    memset(out + have, 0, bytes - have);
    cur->used += have;
}

static void dir_clear(const char *dir)
{
    DIR *handle = opendir(dir);
    RILL_ASSERT(handle != NULL);
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
            char path[RILL_PATH_BYTES_MAX];
            snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
            (void)unlink(path);
        }
    }
    closedir(handle);
}

static void dir_remove(void)
{
    dir_clear(fuzz_dir);
    (void)rmdir(fuzz_dir);
}

static void dir_setup(void)
{
    if (fuzz_dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/rill-fuzz-XXXXXX", base != NULL ? base : "/tmp");
        RILL_ASSERT(mkdtemp(fuzz_dir) != NULL);
        atexit(dir_remove);
        /* Recovery reports each damaged input; a fuzzer feeds millions. */
        if (getenv("RILL_DIAG_LEVEL") == NULL) {
            diag_set_level(DIAG_LEVEL_ERROR);
        }
    }
    dir_clear(fuzz_dir);
}

static void file_write(const char *name, const uint8_t *buf, size_t bytes)
{
    char path[RILL_PATH_BYTES_MAX];
    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    RILL_ASSERT(fd >= 0);
    RILL_ASSERT(bytes == 0 || write(fd, buf, bytes) == (ssize_t)bytes);
    close(fd);
}

static void segment_write(int64_t offset_base, const char *suffix, const uint8_t *buf, size_t bytes)
{
    char name[64];
    snprintf(name, sizeof(name), "%020lld%s", (long long)offset_base, suffix);
    file_write(name, buf, bytes);
}

/* One past the last offset of the whole batches at the front of buf (headers only). */
static int64_t batches_end(const uint8_t *buf, size_t bytes, int64_t offset_base)
{
    int64_t end = offset_base;
    size_t position = 0;
    struct log_batch_header hdr;
    while (bytes - position >= LOG_BATCH_HEADER_BYTES &&
           log_batch_header_decode(buf + position, bytes - position, &hdr) == RILL_OK &&
           log_batch_total_bytes(&hdr) <= bytes - position) {
        end = log_batch_offset_last(&hdr) + 1;
        position += log_batch_total_bytes(&hdr);
    }
    return end;
}

static void checkpoint_write(struct cursor *cur, uint8_t flags)
{
    uint8_t raw[LOG_CHECKPOINT_BYTES];
    cursor_take(cur, raw, sizeof(raw));
    if ((flags & FUZZ_FLAG_CHECKPOINT_RAW) == 0) {
        struct log_checkpoint ckpt = {
            .offset_next = (int64_t)(log_be64(raw) & ((1ull << 40) - 1)),
            .segment_base = 0,
            .position = log_be32(raw + 8),
        };
        log_checkpoint_encode(&ckpt, raw);
    }
    file_write(LOG_CHECKPOINT_FILE, raw, sizeof(raw));
}

/* Index files for the segment at offset_base of segment_bytes, from 16 input bytes. */
static void
index_write(struct cursor *cur, int64_t offset_base, uint64_t segment_bytes, int64_t offset_end)
{
    uint8_t spec[16];
    cursor_take(cur, spec, sizeof(spec));
    struct log_index idx;
    log_index_init(&idx);
    uint32_t relative = 0, position = 0;
    int64_t timestamp = (int64_t)log_be32(spec + 12);
    for (unsigned i = 0; i < spec[0] % 16u; i++) {
        relative += 1u + spec[1 + i % 4];
        position += 1u + (uint32_t)spec[5 + i % 4] * 16u;
        if (log_index_add(&idx, relative, position) != RILL_OK ||
            log_index_time_add(&idx, timestamp + i * (int64_t)spec[9], relative) != RILL_OK) {
            break;
        }
    }
    struct log_index_summary summary = {
        .offset_base = offset_base,
        .segment_bytes = segment_bytes,
        .offset_next = offset_end + (int8_t)spec[10],
        .timestamp_max = timestamp + spec[11],
    };
    static const char *const suffixes[] = { ".index", ".timeindex" };
    static const uint32_t kinds[] = { LOG_INDEX_KIND_OFFSET, LOG_INDEX_KIND_TIME };
    for (unsigned k = 0; k < 2; k++) {
        size_t bytes = log_index_file_bytes(&idx, kinds[k]);
        uint8_t *buf = malloc(bytes);
        RILL_ASSERT(buf != NULL);
        log_index_encode(&idx, kinds[k], &summary, buf);
        segment_write(offset_base, suffixes[k], buf, bytes);
        free(buf);
    }
    log_index_deinit(&idx);
}

/* Lays the input out as files; see the top. */
static void files_write(const uint8_t *data, size_t size)
{
    struct cursor cur = { .data = data, .size = size, .used = 0 };
    uint8_t flags = 0, split[3];
    cursor_take(&cur, &flags, 1);
    if ((flags & FUZZ_FLAG_CHECKPOINT) != 0) {
        checkpoint_write(&cur, flags);
    }
    cursor_take(&cur, split, (flags & FUZZ_FLAG_SPLIT) != 0 ? 3 : 0);
    struct cursor index_spec = cur;
    cur.used += (flags & FUZZ_FLAG_INDEX) != 0 ? 16 : 0;
    cur.used = cur.used < size ? cur.used : size;
    const uint8_t *rest = data + cur.used;
    size_t rest_bytes = size - cur.used;
    size_t first_bytes = rest_bytes;
    if ((flags & FUZZ_FLAG_SPLIT) != 0) {
        first_bytes = log_be16(split) % (rest_bytes + 1);
    }
    segment_write(0, ".log", rest, first_bytes);
    int64_t first_end = batches_end(rest, first_bytes, 0);
    fuzz_index_supplied = (flags & FUZZ_FLAG_INDEX) != 0;
    if (fuzz_index_supplied) {
        index_write(&index_spec, 0, first_bytes, first_end);
    }
    if ((flags & FUZZ_FLAG_SPLIT) != 0) {
        int64_t second_base = first_end + ((flags & FUZZ_FLAG_SPLIT_GAP) != 0 ? split[2] : 0);
        segment_write(second_base, ".log", rest + first_bytes, rest_bytes - first_bytes);
    }
}

static struct log_config fuzz_config(void)
{
    struct log_config cfg;
    log_config_from_conf(&cfg, NULL);
    cfg.retention_ms = -1; /* records carry timestamp 1: age retention would delete them */
    cfg.segment_bytes = RILL_SEGMENT_BYTES_MIN;
    cfg.index_interval_bytes = RILL_INDEX_INTERVAL_BYTES_MIN;
    return cfg;
}

/* One small batch at the partition's end, read back from there. */
static void append_and_check(struct log_partition *part)
{
    struct log_batch_builder bld;
    RILL_ASSERT(log_batch_builder_init(&bld, LOG_CODEC_NONE, part->cfg.batch_bytes_max) == RILL_OK);
    rill_record_t rec = {
        .key = "k", .key_bytes = 1, .value = "fuzz", .value_bytes = 4, .timestamp_ms = 1
    };
    uint8_t *batch = NULL;
    size_t batch_bytes = 0;
    RILL_ASSERT(log_batch_builder_add(&bld, &rec, 0) == RILL_OK);
    RILL_ASSERT(log_batch_builder_finish(&bld, &batch, &batch_bytes) == RILL_OK);
    int64_t end = part->offset_next, offset = -1;
    rill_err err;
    while ((err = log_partition_append(part, batch, batch_bytes, &offset)) == RILL_ERR_AGAIN) {
        RILL_ASSERT(log_partition_poll(part, true) == RILL_OK);
    }
    /* A log that opened takes appends at its end. */
    RILL_ASSERT(err == RILL_OK && offset == end);
    RILL_ASSERT(log_partition_wait(part, part->offset_next, true) == RILL_OK);
    uint8_t *buf = NULL;
    size_t bytes = 0;
    RILL_ASSERT(log_partition_read(part, end, 1, &buf, &bytes) == RILL_OK);
    struct log_batch_header hdr;
    RILL_ASSERT(log_batch_validate(buf, bytes, false, &hdr) == RILL_OK && hdr.offset_base == end);
    free(buf);
    log_batch_builder_deinit(&bld);
}

/*
 * Reads every batch with the partition API; damage must come back as an error. The first batch
 * of a read holds the offset asked for; later ones are only walked (a sealed segment with
 * intact index files is not re-validated on open, so its base offsets are taken as they are).
 */
static void read_partition(struct log_partition *part)
{
    struct log_record_iter it;
    log_record_iter_init(&it);
    int64_t offset = part->offset_start;
    unsigned records = 0;
    while (records < FUZZ_RECORDS_MAX) {
        uint8_t *buf = NULL;
        size_t bytes = 0;
        if (log_partition_read(part, offset, 4096, &buf, &bytes) != RILL_OK) {
            break;
        }
        size_t used = 0;
        struct log_batch_header hdr;
        bool ok = true;
        int64_t next = offset;
        while (ok && used < bytes &&
               log_batch_header_decode(buf + used, bytes - used, &hdr) == RILL_OK &&
               log_batch_total_bytes(&hdr) <= bytes - used) {
            RILL_ASSERT(used > 0 || log_batch_offset_last(&hdr) >= offset);
            ok = log_batch_validate(buf + used, log_batch_total_bytes(&hdr), false, &hdr) ==
                     RILL_OK &&
                 log_record_iter_start(&it, buf + used, log_batch_total_bytes(&hdr)) == RILL_OK;
            struct log_record rec;
            while (ok && log_record_iter_next(&it, &rec) == RILL_OK) {
                records++;
            }
            next = log_batch_offset_last(&hdr) + 1 > next ? log_batch_offset_last(&hdr) + 1 : next;
            used += log_batch_total_bytes(&hdr);
        }
        free(buf);
        if (!ok || used == 0 || next <= offset) {
            break;
        }
        offset = next;
    }
    log_record_iter_deinit(&it);
    int64_t found = -1;
    if (log_partition_offset_for_time(part, 1, &found) == RILL_OK && !fuzz_index_supplied) {
        RILL_ASSERT(found >= part->offset_start && found < part->offset_written);
    }
}

static void fuzz_partition(void)
{
    struct log_config cfg = fuzz_config();
    struct log_io *io = NULL;
    struct log_partition *part = NULL;
    RILL_ASSERT(log_io_fault_create(NULL, &io) == RILL_OK);
    if (log_partition_open(fuzz_dir, &cfg, io, &part) == RILL_OK) {
        read_partition(part);
        append_and_check(part);
        int64_t end = part->offset_next;
        RILL_ASSERT(log_partition_close(part) == RILL_OK);
        /* What one open accepted and extended, the next open keeps. */
        RILL_ASSERT(log_partition_open(fuzz_dir, &cfg, io, &part) == RILL_OK);
        RILL_ASSERT(part->offset_next == end);
        RILL_ASSERT(log_partition_close(part) == RILL_OK);
    }
    io->ops->destroy(io);
}

static void dump_ignore(const rill_dump_item_t *item, void *opaque)
{
    (void)item;
    (void)opaque;
}

/* Reads every record through the public reader; damage ends the walk with an error. */
static void read_public(rill_log_t *log)
{
    rill_log_reader_t *reader = NULL;
    RILL_ASSERT(rill_log_reader_create(log, 0, &reader) == RILL_OK);
    const rill_record_view_t *rec = NULL;
    int64_t last = -1;
    rill_err err = RILL_OK;
    for (unsigned i = 0; i < FUZZ_RECORDS_MAX && err == RILL_OK; i++) {
        err = rill_log_reader_next(reader, &rec);
        if (err == RILL_OK) {
            RILL_ASSERT(rill_record_offset(rec) > last);
            last = rill_record_offset(rec);
            size_t bytes = 0;
            (void)rill_record_key(rec, &bytes);
            (void)rill_record_value(rec, &bytes);
            for (size_t h = 0; h < rill_record_header_count(rec); h++) {
                const char *name = NULL;
                const void *value = NULL;
                size_t name_bytes = 0, value_bytes = 0;
                if (rill_record_header(rec, h, &name, &name_bytes, &value, &value_bytes) ==
                    RILL_OK) {
                    RILL_ASSERT(name != NULL);
                }
            }
        }
    }
    rill_log_reader_destroy(reader);
    int64_t offset = -1;
    if (rill_log_offset_for_time(log, 1, &offset) == RILL_OK && !fuzz_index_supplied) {
        RILL_ASSERT(offset >= rill_log_start_offset(log) && offset < rill_log_end_offset(log));
    }
}

static void fuzz_public(void)
{
    rill_conf_t *conf = rill_conf_create();
    RILL_ASSERT(conf != NULL);
    char errstr[64];
    RILL_ASSERT(rill_conf_set(conf, "segment.bytes", "64k", errstr, sizeof(errstr)) == RILL_OK);
    RILL_ASSERT(rill_conf_set(conf, "index.interval.bytes", "256", errstr, sizeof(errstr)) ==
                RILL_OK);
    rill_log_t *log = NULL;
    if (rill_log_open(fuzz_dir, conf, &log) == RILL_OK) {
        read_public(log);
        int64_t end = rill_log_end_offset(log), offset = -1;
        rill_record_t rec = { .value = "fuzz", .value_bytes = 4, .timestamp_ms = 1 };
        RILL_ASSERT(rill_log_append(log, &rec, 1, &offset) == RILL_OK && offset == end);
        RILL_ASSERT(rill_log_close(log) == RILL_OK);
        RILL_ASSERT(rill_log_open(fuzz_dir, conf, &log) == RILL_OK);
        RILL_ASSERT(rill_log_end_offset(log) == end + 1);
        RILL_ASSERT(rill_log_close(log) == RILL_OK);
    }
    rill_err dump_err = rill_log_dump(fuzz_dir, dump_ignore, NULL);
    (void)dump_err; /* damage is expected: only crashes and leaks matter here */
    rill_conf_destroy(conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dir_setup();
    files_write(data, size);
    if (size > 0 && (data[0] & FUZZ_FLAG_FAULT_BACKEND) != 0) {
        fuzz_partition();
    } else {
        fuzz_public();
    }
    return 0;
}
