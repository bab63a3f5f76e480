/*
 * compact.c - the log cleaner (cleanup.policy=compact): rewrites closed segments keeping the
 * latest record per key, with offsets unchanged.
 *
 * One pass (log_partition_compact):
 *   1. Map. Closed, durable segments are read oldest first; every keyed record sets
 *      map[XXH3-128(key)] = its offset (offsets grow, so the entry ends at the key's latest
 *      offset within the mapped range). A segment is mapped only if the map can take all of its
 *      records as new keys, so the map (compaction.map.bytes / 24 slots, filled to 3/4 at most)
 *      always covers a prefix of whole segments; the rest waits for the next pass.
 *   2. Clean. Each mapped segment, oldest first, is rewritten without the records whose key's
 *      entry is at a larger offset (a newer record exists, in the mapped range, which is never
 *      dropped by this pass) and without tombstones (null value) whose segment's max timestamp
 *      is older than delete.retention.ms. Records with a null key are kept. Oldest first
 *      matters: the older values of a key go before its tombstone, so a crash between two
 *      segments can never bring a deleted key back.
 *
 * Hash collisions. The map compares full 128-bit hashes; two different keys sharing one would
 * make the older one's latest record look superseded. Slot collisions (same bucket) are
 * resolved by linear probing and are harmless. The 128-bit false-match chance is below
 * n^2 / 2^129 for n distinct keys, which we accept (Kafka's cleaner uses MD5 in the same way).
 *
 * Re-encoded batches. A batch whose records all survive is copied byte for byte. A batch that
 * lost some is re-encoded with the survivors, preserving each record's offset through its
 * offset delta: base offset = first survivor's offset, last offset delta = last survivor's,
 * timestamps, key, value, headers unchanged, same codec (LZ4 frames recompressed), attributes
 * kept (codec, timestamp type), partition leader epoch kept, producer id and epoch kept, base
 * sequence moved to the first survivor's sequence (original base sequence + its offset delta;
 * -1 stays -1). Control and transactional batches are copied unchanged. A re-encoding that
 * would not be smaller than the original keeps the original. A batch that lost every record is
 * left out.
 *
 * Crash safety of one segment swap (every step through part->io):
 *   a. write <base>.cleaning with the cleaned batches; fdatasync it;
 *   b. write the <base>.compacted marker (if the segment has none); fdatasync it;
 *   c. unlink <base>.index and <base>.timeindex (they describe the old file);
 *   d. rename <base>.cleaning over <base>.log (atomic); fsync the directory;
 *   e. write the new index files (derived data, not synced).
 * A crash before (d) leaves the old .log (maybe with a marker and without indexes: both are
 * fine, the old file has no gaps and indexes are rebuilt); recovery deletes the .cleaning file.
 * After (d) only the new .log exists. Never both, never neither.
 *
 * The marker. Offsets lie outside the batch CRC, so strict continuity is what protects them.
 * A segment with a valid marker is checked for monotonic order only (each batch starts at or
 * after the previous one's end, the first at or after the base; the next segment's base at or
 * after its end). What corruption could then exploit: a damaged base offset that still moves
 * forward inside a marked segment shifts records to larger offsets without detection. The
 * marker is a 32-byte file tied to its segment (magic, version, base offset, XXH3-64), written
 * and synced before the swap; a torn or foreign marker is ignored (strict checks then apply, so
 * a compacted segment whose marker is lost refuses to open rather than being trusted).
 *   0  8  magic "RILLCMP1"
 *   8  4  version (1)
 *  12  4  reserved (0)
 *  16  8  segment base offset
 *  24  8  XXH3-64 of bytes [0,24)
 */
#include "log/partition.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "common/assert.h"
#include "common/diag.h"
#include "common/hash.h"
#include "common/limits.h"

#define COMPACT_MAGIC       "RILLCMP1"
#define COMPACT_VERSION     1u
#define COMPACT_ENTRY_BYTES 24u
#define COMPACT_SLOTS_MIN   64u
#define COMPACT_WRITE_BYTES (1u << 20) /* output is written in chunks of about this size */

/* ---------------------------------------------------------------------------------------- */
/* Marker                                                                                     */
/* ---------------------------------------------------------------------------------------- */

void log_compact_marker_encode(int64_t offset_base, uint8_t *buf)
{
    memset(buf, 0, LOG_COMPACT_MARKER_BYTES);
    memcpy(buf, COMPACT_MAGIC, 8);
    log_put_be32(buf + 8, COMPACT_VERSION);
    log_put_be64(buf + 16, (uint64_t)offset_base);
    log_put_be64(buf + 24, rill_hash64(buf, 24));
}

bool log_compact_marker_matches(const uint8_t *buf, size_t buf_bytes, int64_t offset_base)
{
    uint8_t want[LOG_COMPACT_MARKER_BYTES];
    log_compact_marker_encode(offset_base, want);
    return buf_bytes == LOG_COMPACT_MARKER_BYTES && memcmp(buf, want, sizeof(want)) == 0;
}

bool log_compact_marker_valid(struct log_io *io, const char *dir, int64_t offset_base)
{
    char path[RILL_PATH_BYTES_MAX];
    int fd = -1;
    if (log_segment_path(dir, offset_base, LOG_COMPACT_MARKER_SUFFIX, path, sizeof(path)) !=
            RILL_OK ||
        io->ops->open(io, path, O_RDONLY, 0, &fd) != RILL_OK) {
        return false;
    }
    uint8_t buf[LOG_COMPACT_MARKER_BYTES + 1];
    size_t got = 0;
    rill_err err = io->ops->pread(io, fd, buf, sizeof(buf), 0, &got);
    io->ops->close(io, fd);
    return err == RILL_OK && log_compact_marker_matches(buf, got, offset_base);
}

static rill_err marker_write(struct log_partition *part, int64_t offset_base)
{
    struct log_io *io = part->io;
    char path[RILL_PATH_BYTES_MAX];
    uint8_t buf[LOG_COMPACT_MARKER_BYTES];
    int fd = -1;
    log_compact_marker_encode(offset_base, buf);
    rill_err err =
        log_segment_path(part->dir, offset_base, LOG_COMPACT_MARKER_SUFFIX, path, sizeof(path));
    if (err == RILL_OK) {
        err = io->ops->open(io, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd);
    }
    if (err != RILL_OK) {
        return err;
    }
    err = io->ops->pwrite(io, fd, buf, sizeof(buf), 0);
    if (err == RILL_OK) {
        err = io->ops->fdatasync(io, fd);
    }
    io->ops->close(io, fd);
    return err;
}

/* "<20 digits><suffix>" -> base offset; false for any other name. */
static bool name_parse(const char *name, const char *suffix, int64_t *out_offset)
{
    size_t suffix_bytes = strlen(suffix);
    if (strlen(name) != 20 + suffix_bytes || strcmp(name + 20, suffix) != 0 ||
        strspn(name, "0123456789") != 20) {
        return false;
    }
    unsigned long long value = strtoull(name, NULL, 10);
    if (value > (unsigned long long)INT64_MAX) {
        return false;
    }
    *out_offset = (int64_t)value;
    return true;
}

static bool segment_exists(const char *dir, int64_t offset_base)
{
    char path[RILL_PATH_BYTES_MAX];
    struct stat st;
    return log_segment_path(dir, offset_base, ".log", path, sizeof(path)) == RILL_OK &&
           stat(path, &st) == 0;
}

rill_err log_compact_recover_dir(struct log_partition *part)
{
    DIR *handle = opendir(part->dir);
    if (handle == NULL) {
        return RILL_ERR_IO;
    }
    rill_err err = RILL_OK;
    uint32_t deleted = 0;
    struct dirent *entry;
    /* Bounded by the directory size; each name is looked at once. */
    while (err == RILL_OK && (entry = readdir(handle)) != NULL) {
        int64_t offset = 0;
        bool leftover = name_parse(entry->d_name, LOG_COMPACT_CLEANING_SUFFIX, &offset);
        bool orphan = !leftover && name_parse(entry->d_name, LOG_COMPACT_MARKER_SUFFIX, &offset) &&
                      !segment_exists(part->dir, offset);
        if (!leftover && !orphan) {
            continue;
        }
        char path[RILL_PATH_BYTES_MAX];
        int used = snprintf(path, sizeof(path), "%s/%s", part->dir, entry->d_name);
        if (used < 0 || (size_t)used >= sizeof(path)) {
            err = RILL_ERR_TOO_LARGE;
            break;
        }
        DIAG_WARN("log", "deleting %s left by an interrupted compaction dir=%s",
                  leftover ? "cleaned copy" : "marker", part->dir);
        err = part->io->ops->unlink(part->io, path);
        if (err == RILL_ERR_NOT_FOUND) {
            err = RILL_OK;
        }
        deleted++;
    }
    closedir(handle);
    if (err == RILL_OK && deleted > 0) {
        err = part->io->ops->sync_dir(part->io, part->dir);
    }
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Key map                                                                                    */
/* ---------------------------------------------------------------------------------------- */

struct compact_entry {
    uint64_t hash_low;
    uint64_t hash_high;
    int64_t offset_plus_one; /* 0: empty slot */
};

struct compact_map {
    struct compact_entry *slots;
    uint64_t slot_count; /* power of two */
    uint64_t used;
    uint64_t used_max; /* 3/4 of slot_count */
};

static rill_err map_init(struct compact_map *map, uint64_t map_bytes)
{
    uint64_t slots = COMPACT_SLOTS_MIN;
    while (slots * 2 * COMPACT_ENTRY_BYTES <= map_bytes) {
        slots *= 2;
    }
    map->slots = calloc((size_t)slots, sizeof(*map->slots));
    if (map->slots == NULL) {
        return RILL_ERR_NOMEM;
    }
    map->slot_count = slots;
    map->used = 0;
    map->used_max = slots / 4 * 3;
    return RILL_OK;
}

/* The slot holding hash, or the empty slot where it belongs. Bounded: the map is never full. */
static struct compact_entry *map_slot(struct compact_map *map, XXH128_hash_t hash)
{
    uint64_t mask = map->slot_count - 1;
    for (uint64_t i = hash.low64 & mask;; i = (i + 1) & mask) {
        struct compact_entry *e = &map->slots[i];
        if (e->offset_plus_one == 0 || (e->hash_low == hash.low64 && e->hash_high == hash.high64)) {
            return e;
        }
    }
}

static void map_put(struct compact_map *map, const struct log_record *rec)
{
    XXH128_hash_t hash = XXH3_128bits(rec->key, (size_t)rec->key_bytes);
    struct compact_entry *e = map_slot(map, hash);
    if (e->offset_plus_one == 0) {
        RILL_ASSERT(map->used < map->used_max);
        map->used++;
        e->hash_low = hash.low64;
        e->hash_high = hash.high64;
    }
    if (rec->offset + 1 > e->offset_plus_one) {
        e->offset_plus_one = rec->offset + 1;
    }
}

/* The latest mapped offset of rec's key, or -1 when the key is not mapped. */
static int64_t map_latest(struct compact_map *map, const struct log_record *rec)
{
    XXH128_hash_t hash = XXH3_128bits(rec->key, (size_t)rec->key_bytes);
    return map_slot(map, hash)->offset_plus_one - 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Reading a segment batch by batch                                                           */
/* ---------------------------------------------------------------------------------------- */

struct seg_reader {
    struct log_partition *part;
    struct log_segment *seg;
    uint64_t position;
    int64_t offset_expected; /* the next batch must start at (or, when compacted, after) this */
    uint8_t *buf;
    size_t buf_capacity;
    struct log_batch_header hdr; /* of the batch in buf */
};

/* Reads the next whole, valid batch into r->buf; RILL_ERR_END at the segment's end. */
static rill_err reader_next(struct seg_reader *r)
{
    struct log_segment *seg = r->seg;
    if (r->position >= seg->bytes_written) {
        return RILL_ERR_END;
    }
    rill_err err = log_segment_read_header(r->part, seg, r->position, seg->bytes_written, &r->hdr);
    if (err != RILL_OK) {
        return err;
    }
    uint32_t total = log_batch_total_bytes(&r->hdr);
    if (total > r->buf_capacity) {
        uint8_t *grown = realloc(r->buf, total);
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        r->buf = grown;
        r->buf_capacity = total;
    }
    size_t got = 0;
    err = r->part->io->ops->pread(r->part->io, seg->fd, r->buf, total, r->position, &got);
    if (err == RILL_OK && got != total) {
        err = RILL_ERR_CORRUPT;
    }
    if (err == RILL_OK) {
        err = log_batch_validate(r->buf, total, false, &r->hdr);
    }
    if (err == RILL_OK &&
        !log_compact_offset_continues(seg->compacted, r->hdr.offset_base, r->offset_expected)) {
        err = RILL_ERR_CORRUPT;
    }
    if (err != RILL_OK) {
        DIAG_ERROR("log",
                   "compaction found a bad batch dir=%s segment=%" PRId64 " position=%" PRIu64,
                   r->part->dir, seg->offset_base, r->position);
        return err == RILL_ERR_NOMEM ? err : RILL_ERR_CORRUPT;
    }
    r->offset_expected = log_batch_offset_last(&r->hdr) + 1;
    r->position += total;
    return RILL_OK;
}

static void reader_start(struct seg_reader *r, struct log_partition *part, struct log_segment *seg)
{
    r->part = part;
    r->seg = seg;
    r->position = 0;
    r->offset_expected = seg->offset_base;
}

static bool batch_is_special(const struct log_batch_header *hdr)
{
    return (hdr->attributes & (LOG_BATCH_ATTR_CONTROL | LOG_BATCH_ATTR_TRANSACTIONAL)) != 0;
}

/*
 * Record offsets come from deltas that no CRC-independent check ties to the batch header: a
 * record is trusted only if its offset lies within its batch and above the previous record's.
 * Anything else is corruption, never a reason to drop a record.
 */
static bool record_offset_sane(const struct log_batch_header *hdr,
                               const struct log_record *rec,
                               int64_t offset_prev)
{
    return rec->offset >= hdr->offset_base && rec->offset <= log_batch_offset_last(hdr) &&
           rec->offset > offset_prev;
}

/* Records in seg (from the batch headers), or an error. */
static rill_err segment_record_count(struct seg_reader *r, uint64_t *out_count)
{
    uint64_t count = 0;
    uint64_t position = 0;
    while (position < r->seg->bytes_written) {
        struct log_batch_header hdr;
        rill_err err =
            log_segment_read_header(r->part, r->seg, position, r->seg->bytes_written, &hdr);
        if (err != RILL_OK) {
            return err;
        }
        count += (uint64_t)hdr.record_count;
        position += log_batch_total_bytes(&hdr);
    }
    *out_count = count;
    return RILL_OK;
}

/* Adds every keyed record of seg to the map. */
static rill_err
segment_map(struct seg_reader *r, struct log_record_iter *it, struct compact_map *map)
{
    rill_err err;
    while ((err = reader_next(r)) == RILL_OK) {
        err = log_record_iter_start(it, r->buf, log_batch_total_bytes(&r->hdr));
        struct log_record rec;
        int64_t offset_prev = -1;
        while (err == RILL_OK && (err = log_record_iter_next(it, &rec)) == RILL_OK) {
            if (!record_offset_sane(&r->hdr, &rec, offset_prev)) {
                return RILL_ERR_CORRUPT;
            }
            offset_prev = rec.offset;
            if (rec.key_bytes >= 0) {
                if (map->used >= map->used_max) {
                    return RILL_ERR_CORRUPT; /* more records than the batch headers said */
                }
                map_put(map, &rec);
            }
        }
        if (err != RILL_ERR_END) {
            return err;
        }
    }
    return err == RILL_ERR_END ? RILL_OK : err;
}

/* ---------------------------------------------------------------------------------------- */
/* Re-encoding a batch with its surviving records                                             */
/* ---------------------------------------------------------------------------------------- */

struct out_buf {
    uint8_t *data;
    size_t used;
    size_t capacity;
};

static rill_err out_reserve(struct out_buf *o, size_t more)
{
    if (o->used + more <= o->capacity) {
        return RILL_OK;
    }
    size_t capacity = o->capacity == 0 ? 4096 : o->capacity;
    while (capacity < o->used + more) {
        capacity *= 2;
    }
    uint8_t *grown = realloc(o->data, capacity);
    if (grown == NULL) {
        return RILL_ERR_NOMEM;
    }
    o->data = grown;
    o->capacity = capacity;
    return RILL_OK;
}

static uint8_t *put_varint(uint8_t *pos, int64_t value)
{
    return pos + log_varint_encode(pos, value);
}

/* Appends one record, encoded with deltas against (offset_base, timestamp_first). */
static rill_err record_append(struct out_buf *o,
                              const struct log_record *rec,
                              int64_t offset_base,
                              int64_t timestamp_first)
{
    int64_t ts_delta = (int64_t)((uint64_t)rec->timestamp - (uint64_t)timestamp_first);
    int64_t off_delta = rec->offset - offset_base;
    size_t key_bytes = rec->key_bytes > 0 ? (size_t)rec->key_bytes : 0;
    size_t value_bytes = rec->value_bytes > 0 ? (size_t)rec->value_bytes : 0;
    size_t body = 1 + log_varint_size(ts_delta) + log_varint_size(off_delta) +
                  log_varint_size(rec->key_bytes) + key_bytes + log_varint_size(rec->value_bytes) +
                  value_bytes + log_varint_size(rec->header_count) + rec->headers_bytes;
    rill_err err = out_reserve(o, body + 10);
    if (err != RILL_OK) {
        return err;
    }
    uint8_t *pos = o->data + o->used;
    pos = put_varint(pos, (int64_t)body);
    *pos++ = 0;
    pos = put_varint(pos, ts_delta);
    pos = put_varint(pos, off_delta);
    pos = put_varint(pos, rec->key_bytes);
    if (key_bytes > 0) {
        memcpy(pos, rec->key, key_bytes);
        pos += key_bytes;
    }
    pos = put_varint(pos, rec->value_bytes);
    if (value_bytes > 0) {
        memcpy(pos, rec->value, value_bytes);
        pos += value_bytes;
    }
    pos = put_varint(pos, rec->header_count);
    if (rec->headers_bytes > 0) {
        memcpy(pos, rec->headers, rec->headers_bytes);
        pos += rec->headers_bytes;
    }
    o->used = (size_t)(pos - o->data);
    return RILL_OK;
}

static const LZ4F_preferences_t compact_lz4_preferences = {
    .frameInfo =
        {
            .blockSizeID = LZ4F_max64KB,
            .blockMode = LZ4F_blockIndependent,
            .contentChecksumFlag = LZ4F_noContentChecksum,
            .frameType = LZ4F_frame,
            .contentSize = 0,
            .dictID = 0,
            .blockChecksumFlag = LZ4F_noBlockChecksum,
        },
};

struct batch_parts {
    const struct log_batch_header *orig;
    int64_t offset_first; /* first survivor */
    int64_t offset_last;  /* last survivor */
    int64_t timestamp_first;
    int64_t timestamp_max;
    int32_t count;
};

/*
 * Turns the records in rec_buf into a finished batch in out (header, CRC, LZ4 if the original
 * was). RILL_ERR_TOO_LARGE when the result would not be smaller than the original.
 */
static rill_err
batch_finish(const struct batch_parts *bp, const struct out_buf *records, struct out_buf *out)
{
    const struct log_batch_header *orig = bp->orig;
    size_t body = records->used;
    bool lz4 = log_batch_codec(orig) == LOG_CODEC_LZ4;
    size_t bound = lz4 ? LZ4F_compressFrameBound(body, &compact_lz4_preferences) : body;
    out->used = 0;
    rill_err err = out_reserve(out, LOG_BATCH_HEADER_BYTES + bound);
    if (err != RILL_OK) {
        return err;
    }
    if (lz4) {
        size_t frame = LZ4F_compressFrame(out->data + LOG_BATCH_HEADER_BYTES, bound, records->data,
                                          body, &compact_lz4_preferences);
        if (LZ4F_isError(frame)) {
            return RILL_ERR_TOO_LARGE; /* keep the original batch */
        }
        body = frame;
    } else if (body > 0) {
        memcpy(out->data + LOG_BATCH_HEADER_BYTES, records->data, body);
    }
    size_t total = LOG_BATCH_HEADER_BYTES + body;
    if (total >= log_batch_total_bytes(orig)) {
        return RILL_ERR_TOO_LARGE;
    }
    uint8_t *b = out->data;
    log_put_be64(b + 0, (uint64_t)bp->offset_first);
    log_put_be32(b + 8, (uint32_t)(total - LOG_BATCH_PREFIX_BYTES));
    log_put_be32(b + 12, (uint32_t)orig->leader_epoch);
    b[16] = LOG_BATCH_MAGIC;
    log_put_be16(b + 21, (uint16_t)(orig->attributes & ~LOG_BATCH_ATTR_DELETE_HORIZON));
    log_put_be32(b + 23, (uint32_t)(bp->offset_last - bp->offset_first));
    log_put_be64(b + 27, (uint64_t)bp->timestamp_first);
    log_put_be64(b + 35, (uint64_t)bp->timestamp_max);
    log_put_be64(b + 43, (uint64_t)orig->producer_id);
    log_put_be16(b + 51, (uint16_t)orig->producer_epoch);
    int32_t sequence = orig->sequence_base;
    if (sequence >= 0) {
        int64_t moved = (int64_t)sequence + (bp->offset_first - orig->offset_base);
        sequence = (int32_t)(moved % ((int64_t)INT32_MAX + 1));
    }
    log_put_be32(b + 53, (uint32_t)sequence);
    log_put_be32(b + 57, (uint32_t)bp->count);
    log_put_be32(b + 17, log_batch_crc_compute(b, total));
    out->used = total;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Cleaning one segment                                                                       */
/* ---------------------------------------------------------------------------------------- */

struct cleaner {
    struct log_partition *part;
    struct compact_map map;
    struct log_record_iter it;
    struct seg_reader reader;
    struct out_buf records; /* survivors of the current batch, encoded */
    struct out_buf batch;   /* the re-encoded batch */
    struct out_buf pending; /* output not yet written to the .cleaning file */
    int64_t now_ms;
    struct log_compact_stats stats;
    int64_t tombstone_due_ms; /* earliest expiry of a tombstone kept by this pass (-1 none) */
};

/* The new segment being written. */
struct clean_target {
    struct log_segment seg; /* in-memory state of the cleaned copy (fd: the .cleaning file) */
    uint64_t dropped;
};

static rill_err pending_flush(struct cleaner *c, struct clean_target *t, uint64_t position)
{
    if (c->pending.used == 0) {
        return RILL_OK;
    }
    rill_err err = c->part->io->ops->pwrite(c->part->io, t->seg.fd, c->pending.data,
                                            c->pending.used, position - c->pending.used);
    c->pending.used = 0;
    return err;
}

/* Appends a finished batch to the cleaned copy and indexes it. */
static rill_err
target_add(struct cleaner *c, struct clean_target *t, const uint8_t *batch, size_t bytes)
{
    struct log_batch_header hdr;
    rill_err err = log_batch_header_decode(batch, bytes, &hdr);
    RILL_ASSERT(err == RILL_OK);
    err = log_segment_index_batch(c->part, &t->seg, hdr.offset_base, hdr.timestamp_max,
                                  t->seg.bytes, (uint32_t)bytes);
    if (err == RILL_OK) {
        err = out_reserve(&c->pending, bytes);
    }
    if (err != RILL_OK) {
        return err;
    }
    memcpy(c->pending.data + c->pending.used, batch, bytes);
    c->pending.used += bytes;
    t->seg.bytes += bytes;
    t->seg.offset_next = log_batch_offset_last(&hdr) + 1;
    if (c->pending.used >= COMPACT_WRITE_BYTES) {
        err = pending_flush(c, t, t->seg.bytes);
    }
    return err;
}

/* Decides a record's fate: true to keep it. */
static bool
record_keep(struct cleaner *c, const struct log_segment *seg, const struct log_record *rec)
{
    if (rec->key_bytes < 0) {
        return true; /* nothing to compact it against */
    }
    if (map_latest(&c->map, rec) > rec->offset) {
        return false; /* superseded by a newer record in the mapped range */
    }
    if (rec->value_bytes >= 0) {
        return true;
    }
    int64_t expires = seg->timestamp_max + c->part->cfg.delete_retention_ms;
    if (seg->timestamp_max >= 0 && expires <= c->now_ms) {
        c->stats.tombstones_dropped++;
        return false;
    }
    if (seg->timestamp_max >= 0 && (c->tombstone_due_ms < 0 || expires < c->tombstone_due_ms)) {
        c->tombstone_due_ms = expires;
    }
    return true;
}

/* Filters the batch in c->reader.buf into the cleaned copy. */
static rill_err
clean_batch(struct cleaner *c, struct clean_target *t, const struct log_segment *seg)
{
    const struct log_batch_header *hdr = &c->reader.hdr;
    uint32_t total = log_batch_total_bytes(hdr);
    if (batch_is_special(hdr)) {
        c->stats.records_kept += (uint64_t)hdr->record_count;
        return target_add(c, t, c->reader.buf, total);
    }
    struct batch_parts bp = { .orig = hdr, .offset_first = -1 };
    int32_t seen = 0;
    c->records.used = 0;
    rill_err err = log_record_iter_start(&c->it, c->reader.buf, total);
    struct log_record rec;
    int64_t offset_prev = -1;
    while (err == RILL_OK && (err = log_record_iter_next(&c->it, &rec)) == RILL_OK) {
        if (!record_offset_sane(hdr, &rec, offset_prev)) {
            return RILL_ERR_CORRUPT;
        }
        offset_prev = rec.offset;
        seen++;
        if (!record_keep(c, seg, &rec)) {
            continue;
        }
        if (bp.offset_first < 0) {
            bp.offset_first = rec.offset;
            bp.timestamp_first = rec.timestamp;
            bp.timestamp_max = rec.timestamp;
        }
        if (rec.timestamp > bp.timestamp_max) {
            bp.timestamp_max = rec.timestamp;
        }
        bp.offset_last = rec.offset;
        bp.count++;
        err = record_append(&c->records, &rec, bp.offset_first, bp.timestamp_first);
    }
    if (err != RILL_ERR_END) {
        return err == RILL_OK ? RILL_ERR_CORRUPT : err;
    }
    c->stats.records_kept += (uint64_t)bp.count;
    c->stats.records_dropped += (uint64_t)(seen - bp.count);
    t->dropped += (uint64_t)(seen - bp.count);
    if (bp.count == seen) {
        return target_add(c, t, c->reader.buf, total); /* untouched: copied as is */
    }
    if (bp.count == 0) {
        return RILL_OK;
    }
    /* The log's own timestamp for LogAppendTime batches is the batch max: keep it. */
    if ((hdr->attributes & LOG_BATCH_ATTR_LOG_APPEND_TIME) != 0) {
        bp.timestamp_max = hdr->timestamp_max;
    }
    err = batch_finish(&bp, &c->records, &c->batch);
    if (err == RILL_ERR_TOO_LARGE) {
        /* Not smaller re-encoded: keeping the original only keeps extra records. */
        c->stats.records_kept += (uint64_t)(seen - bp.count);
        c->stats.records_dropped -= (uint64_t)(seen - bp.count);
        t->dropped -= (uint64_t)(seen - bp.count);
        return target_add(c, t, c->reader.buf, total);
    }
    if (err != RILL_OK) {
        return err;
    }
    return target_add(c, t, c->batch.data, c->batch.used);
}

static rill_err
segment_suffix_path(struct log_partition *part, int64_t offset_base, const char *suffix, char *path)
{
    return log_segment_path(part->dir, offset_base, suffix, path, RILL_PATH_BYTES_MAX);
}

static rill_err unlink_quiet(struct log_io *io, const char *path)
{
    rill_err err = io->ops->unlink(io, path);
    return err == RILL_ERR_NOT_FOUND ? RILL_OK : err;
}

/* Steps b-e of the swap (file comment); on success seg describes the cleaned copy. */
static rill_err segment_swap(struct cleaner *c, struct log_segment *seg, struct clean_target *t)
{
    struct log_partition *part = c->part;
    struct log_io *io = part->io;
    char from[RILL_PATH_BYTES_MAX], to[RILL_PATH_BYTES_MAX], path[RILL_PATH_BYTES_MAX];
    rill_err err = RILL_OK;
    if (!seg->compacted) {
        err = marker_write(part, seg->offset_base);
    }
    if (err == RILL_OK) {
        err = segment_suffix_path(part, seg->offset_base, ".index", path);
    }
    if (err == RILL_OK) {
        err = unlink_quiet(io, path);
    }
    if (err == RILL_OK) {
        err = segment_suffix_path(part, seg->offset_base, ".timeindex", path);
    }
    if (err == RILL_OK) {
        err = unlink_quiet(io, path);
    }
    if (err == RILL_OK) {
        err = segment_suffix_path(part, seg->offset_base, LOG_COMPACT_CLEANING_SUFFIX, from);
    }
    if (err == RILL_OK) {
        err = segment_suffix_path(part, seg->offset_base, ".log", to);
    }
    if (err == RILL_OK) {
        err = io->ops->rename(io, from, to);
    }
    if (err != RILL_OK) {
        return err;
    }
    /* From here on the cleaned copy is the segment, whatever the directory sync says. */
    io->ops->close(io, seg->fd);
    seg->fd = t->seg.fd;
    t->seg.fd = -1;
    struct log_index old = seg->idx;
    seg->idx = t->seg.idx;
    t->seg.idx = old;
    seg->bytes = t->seg.bytes;
    seg->bytes_written = t->seg.bytes;
    seg->file_bytes = t->seg.bytes;
    seg->bytes_since_index = t->seg.bytes_since_index;
    seg->timestamp_max = t->seg.timestamp_max;
    seg->offset_next = t->seg.offset_next;
    seg->compacted = true;
    err = io->ops->sync_dir(io, part->dir);
    if (err == RILL_OK) {
        err = log_segment_write_indexes(part, seg);
    }
    return err;
}

/* Cleans one mapped segment; rewrites it only when something is dropped. */
static rill_err segment_clean(struct cleaner *c, struct log_segment *seg)
{
    struct log_partition *part = c->part;
    struct log_io *io = part->io;
    struct clean_target t = { .dropped = 0 };
    t.seg.offset_base = seg->offset_base;
    t.seg.offset_next = seg->offset_base; /* the end of its last batch, as a scan finds it */
    t.seg.timestamp_max = -1;
    t.seg.fd = -1;
    log_index_init(&t.seg.idx);
    char path[RILL_PATH_BYTES_MAX];
    rill_err err = segment_suffix_path(part, seg->offset_base, LOG_COMPACT_CLEANING_SUFFIX, path);
    if (err == RILL_OK) {
        err = io->ops->open(io, path, O_RDWR | O_CREAT | O_TRUNC, 0644, &t.seg.fd);
    }
    c->pending.used = 0;
    reader_start(&c->reader, part, seg);
    while (err == RILL_OK && (err = reader_next(&c->reader)) == RILL_OK) {
        err = clean_batch(c, &t, seg);
    }
    if (err == RILL_ERR_END) {
        err = pending_flush(c, &t, t.seg.bytes);
    }
    bool swap = err == RILL_OK && t.dropped > 0;
    if (swap) {
        err = io->ops->fdatasync(io, t.seg.fd);
    }
    if (err == RILL_OK && swap) {
        c->stats.bytes_before += seg->bytes;
        c->stats.bytes_after += t.seg.bytes;
        err = segment_swap(c, seg, &t);
        c->stats.segments_rewritten += err == RILL_OK ? 1 : 0;
    }
    if (t.seg.fd >= 0) {
        /* Not swapped (nothing dropped, or an error before the rename): the copy goes. */
        io->ops->close(io, t.seg.fd);
        rill_err unlink_err = unlink_quiet(io, path);
        err = err == RILL_OK ? unlink_err : err;
    }
    log_index_deinit(&t.seg.idx);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* The pass                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Closed segments that are durable: all but the active one and one whose roll sync runs. */
static uint32_t closed_durable_count(const struct log_partition *part)
{
    uint32_t closed = part->segment_count - 1;
    if (part->roll_sync_in_flight && closed > 0) {
        closed--;
    }
    return closed;
}

/* Lets the background sync of the last rolled segment finish, so that it can be cleaned too. */
static rill_err wait_roll_sync(struct log_partition *part)
{
    /* Bounded: one sync is in flight, and a failed poll takes the partition offline. */
    while (part->roll_sync_in_flight && part->failed == RILL_OK) {
        rill_err err = log_partition_poll(part, true);
        if (err != RILL_OK) {
            return err;
        }
    }
    return part->failed;
}

bool log_partition_compact_due(const struct log_partition *part, int64_t now_ms)
{
    if (!part->cfg.compact || part->failed != RILL_OK || closed_durable_count(part) == 0) {
        return false;
    }
    const struct log_segment *last = part->segments[closed_durable_count(part) - 1];
    if (part->compact_clean_end < last->offset_next) {
        return true;
    }
    return part->compact_due_ms > 0 && now_ms >= part->compact_due_ms;
}

/*
 * Maps whole segments from the first dirty one (not covered by the last pass) while they fit;
 * *out_end is one past the last mapped segment. A segment that alone exceeds the map is skipped
 * (logged by the caller), so that the cleaner moves on instead of retrying it forever.
 */
static rill_err
compact_map_segments(struct cleaner *c, uint32_t first, uint32_t closed, uint32_t *out_end)
{
    uint32_t end = first;
    for (; end < closed; end++) {
        struct log_segment *seg = c->part->segments[end];
        uint64_t records = 0;
        reader_start(&c->reader, c->part, seg);
        rill_err err = segment_record_count(&c->reader, &records);
        if (err != RILL_OK) {
            return err;
        }
        if (records > c->map.used_max - c->map.used) {
            c->stats.map_full = true;
            break;
        }
        err = segment_map(&c->reader, &c->it, &c->map);
        if (err != RILL_OK) {
            return err;
        }
        c->stats.segments_mapped++;
    }
    *out_end = end;
    return RILL_OK;
}

/* First closed segment the last pass did not map. */
static uint32_t first_dirty(const struct log_partition *part, uint32_t closed)
{
    uint32_t i = 0;
    while (i < closed && part->segments[i]->offset_next <= part->compact_clean_end) {
        i++;
    }
    return i == closed ? 0 : i; /* all clean: start over (tombstones may have expired) */
}

rill_err
log_partition_compact(struct log_partition *part, int64_t now_ms, struct log_compact_stats *out)
{
    if (part->failed != RILL_OK) {
        return part->failed;
    }
    struct cleaner c = { .part = part, .now_ms = now_ms, .tombstone_due_ms = -1 };
    log_record_iter_init(&c.it);
    rill_err err = wait_roll_sync(part);
    if (err == RILL_OK) {
        err = map_init(&c.map, part->cfg.compaction_map_bytes);
    }
    uint32_t closed = closed_durable_count(part);
    uint32_t first = first_dirty(part, closed);
    uint32_t end = first;
    if (err == RILL_OK) {
        err = compact_map_segments(&c, first, closed, &end);
    }
    if (err == RILL_OK && end == first && first < closed) {
        DIAG_WARN("log",
                  "compaction skips a segment with more records than compaction.map.bytes "
                  "allows dir=%s segment=%" PRId64,
                  part->dir, part->segments[first]->offset_base);
        part->compact_clean_end = part->segments[first]->offset_next;
    }
    /* Every segment up to the mapped end is cleaned: older ones may hold superseded keys. */
    for (uint32_t i = 0; err == RILL_OK && i < end; i++) {
        err = segment_clean(&c, part->segments[i]);
    }
    if (err == RILL_OK && end > first) {
        part->compact_clean_end = part->segments[end - 1]->offset_next;
        part->compact_due_ms = c.tombstone_due_ms < 1 ? 0 : c.tombstone_due_ms;
    }
    if (err != RILL_OK) {
        DIAG_ERROR("log", "compaction failed dir=%s err=%s", part->dir, rill_err_name(err));
    } else if (c.stats.segments_rewritten > 0) {
        DIAG_INFO("log",
                  "compacted dir=%s segments=%" PRIu32 " dropped=%" PRIu64 " bytes=%" PRIu64
                  "->%" PRIu64,
                  part->dir, c.stats.segments_rewritten, c.stats.records_dropped,
                  c.stats.bytes_before, c.stats.bytes_after);
    }
    log_record_iter_deinit(&c.it);
    free(c.map.slots);
    free(c.reader.buf);
    free(c.records.data);
    free(c.batch.data);
    free(c.pending.data);
    if (out != NULL) {
        *out = c.stats;
    }
    return err;
}
