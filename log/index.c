/*
 * index.c - sparse offset and time indexes: in-memory arrays, binary search, file image.
 * The layout is described in index.h and docs/format.md.
 */
#include "log/index.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/hash.h"
#include "log/batch.h"

#define LOG_INDEX_MAGIC   "RILLIDX1"
#define LOG_INDEX_VERSION 1u
/* An index never holds more entries than a maximal segment has index intervals. */
#define LOG_INDEX_ENTRIES_MAX (UINT32_MAX / 256u)

void log_index_init(struct log_index *idx)
{
    memset(idx, 0, sizeof(*idx));
}

void log_index_deinit(struct log_index *idx)
{
    free(idx->entries);
    free(idx->time_entries);
    memset(idx, 0, sizeof(*idx));
}

void log_index_clear(struct log_index *idx)
{
    idx->entry_count = 0;
    idx->time_count = 0;
}

static rill_err index_grow(void **array, uint32_t *capacity, uint32_t needed, size_t entry_bytes)
{
    if (needed <= *capacity) {
        return RILL_OK;
    }
    if (needed > LOG_INDEX_ENTRIES_MAX) {
        return RILL_ERR_TOO_LARGE;
    }
    uint32_t capacity_new = *capacity < 64 ? 64 : *capacity;
    while (capacity_new < needed) {
        capacity_new =
            capacity_new > LOG_INDEX_ENTRIES_MAX / 2 ? LOG_INDEX_ENTRIES_MAX : capacity_new * 2;
    }
    void *grown = realloc(*array, (size_t)capacity_new * entry_bytes);
    if (grown == NULL) {
        return RILL_ERR_NOMEM;
    }
    *array = grown;
    *capacity = capacity_new;
    return RILL_OK;
}

rill_err log_index_add(struct log_index *idx, uint32_t offset_relative, uint32_t position)
{
    if (idx->entry_count > 0) {
        const struct log_index_entry *last = &idx->entries[idx->entry_count - 1];
        RILL_ASSERT(offset_relative > last->offset_relative);
        RILL_ASSERT(position > last->position);
    }
    rill_err err = index_grow((void **)&idx->entries, &idx->entry_capacity, idx->entry_count + 1,
                              sizeof(struct log_index_entry));
    if (err != RILL_OK) {
        return err;
    }
    idx->entries[idx->entry_count++] =
        (struct log_index_entry){ .offset_relative = offset_relative, .position = position };
    return RILL_OK;
}

rill_err log_index_time_add(struct log_index *idx, int64_t timestamp, uint32_t offset_relative)
{
    if (idx->time_count > 0 && timestamp <= idx->time_entries[idx->time_count - 1].timestamp) {
        return RILL_OK;
    }
    rill_err err = index_grow((void **)&idx->time_entries, &idx->time_capacity, idx->time_count + 1,
                              sizeof(struct log_time_entry));
    if (err != RILL_OK) {
        return err;
    }
    idx->time_entries[idx->time_count++] =
        (struct log_time_entry){ .timestamp = timestamp, .offset_relative = offset_relative };
    return RILL_OK;
}

uint32_t log_index_lookup(const struct log_index *idx, uint32_t offset_relative)
{
    uint32_t entry_relative = 0;
    return log_index_lookup_entry(idx, offset_relative, &entry_relative);
}

uint32_t log_index_lookup_entry(const struct log_index *idx,
                                uint32_t offset_relative,
                                uint32_t *out_entry_offset_relative)
{
    /* Largest entry with entry.offset_relative <= offset_relative. */
    uint32_t low = 0, high = idx->entry_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (idx->entries[middle].offset_relative <= offset_relative) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    *out_entry_offset_relative = low == 0 ? 0 : idx->entries[low - 1].offset_relative;
    return low == 0 ? 0 : idx->entries[low - 1].position;
}

uint32_t log_index_time_lookup(const struct log_index *idx, int64_t timestamp)
{
    /*
     * Largest entry with entry.timestamp < timestamp: all records before that entry's batch are
     * at most entry.timestamp, so the first record >= timestamp is in that batch or later.
     */
    uint32_t low = 0, high = idx->time_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (idx->time_entries[middle].timestamp < timestamp) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low == 0 ? 0 : idx->time_entries[low - 1].offset_relative;
}

void log_index_truncate(struct log_index *idx, uint32_t position)
{
    while (idx->entry_count > 0 && idx->entries[idx->entry_count - 1].position >= position) {
        idx->entry_count--;
    }
    /* Time entries point at offsets; keep only those at or before the last kept batch start. */
    uint32_t offset_limit =
        idx->entry_count > 0 ? idx->entries[idx->entry_count - 1].offset_relative : 0;
    while (idx->time_count > 0 &&
           idx->time_entries[idx->time_count - 1].offset_relative > offset_limit) {
        idx->time_count--;
    }
    if (position == 0) {
        idx->time_count = 0;
    }
}

size_t log_index_file_bytes(const struct log_index *idx, uint32_t kind)
{
    if (kind == LOG_INDEX_KIND_OFFSET) {
        return LOG_INDEX_HEADER_BYTES + (size_t)idx->entry_count * LOG_INDEX_OFFSET_ENTRY_BYTES;
    }
    return LOG_INDEX_HEADER_BYTES + (size_t)idx->time_count * LOG_INDEX_TIME_ENTRY_BYTES;
}

static uint64_t index_checksum(const uint8_t *buf, size_t buf_bytes)
{
    /* The header hash seeds the entries hash: one XXH3 chain over [0,56) then the entries. */
    uint64_t header_hash = XXH3_64bits(buf, 56);
    return XXH3_64bits_withSeed(buf + LOG_INDEX_HEADER_BYTES, buf_bytes - LOG_INDEX_HEADER_BYTES,
                                header_hash);
}

void log_index_encode(const struct log_index *idx,
                      uint32_t kind,
                      const struct log_index_summary *summary,
                      uint8_t *buf)
{
    RILL_ASSERT(kind == LOG_INDEX_KIND_OFFSET || kind == LOG_INDEX_KIND_TIME);
    uint32_t count = kind == LOG_INDEX_KIND_OFFSET ? idx->entry_count : idx->time_count;
    memset(buf, 0, LOG_INDEX_HEADER_BYTES);
    memcpy(buf, LOG_INDEX_MAGIC, 8);
    log_put_be32(buf + 8, LOG_INDEX_VERSION);
    log_put_be32(buf + 12, kind);
    log_put_be64(buf + 16, (uint64_t)summary->offset_base);
    log_put_be64(buf + 24, summary->segment_bytes);
    log_put_be64(buf + 32, (uint64_t)summary->offset_next);
    log_put_be64(buf + 40, (uint64_t)summary->timestamp_max);
    log_put_be32(buf + 48, count);
    uint8_t *pos = buf + LOG_INDEX_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        if (kind == LOG_INDEX_KIND_OFFSET) {
            log_put_be32(pos, idx->entries[i].offset_relative);
            log_put_be32(pos + 4, idx->entries[i].position);
            pos += LOG_INDEX_OFFSET_ENTRY_BYTES;
        } else {
            log_put_be64(pos, (uint64_t)idx->time_entries[i].timestamp);
            log_put_be32(pos + 8, idx->time_entries[i].offset_relative);
            pos += LOG_INDEX_TIME_ENTRY_BYTES;
        }
    }
    log_put_be64(buf + 56, index_checksum(buf, log_index_file_bytes(idx, kind)));
}

static rill_err index_decode_header(uint32_t kind,
                                    int64_t offset_base,
                                    const uint8_t *buf,
                                    size_t buf_bytes,
                                    struct log_index_summary *summary,
                                    uint32_t *out_count)
{
    size_t entry_bytes =
        kind == LOG_INDEX_KIND_OFFSET ? LOG_INDEX_OFFSET_ENTRY_BYTES : LOG_INDEX_TIME_ENTRY_BYTES;
    if (buf_bytes < LOG_INDEX_HEADER_BYTES || memcmp(buf, LOG_INDEX_MAGIC, 8) != 0 ||
        log_be32(buf + 8) != LOG_INDEX_VERSION || log_be32(buf + 12) != kind) {
        return RILL_ERR_CORRUPT;
    }
    uint32_t count = log_be32(buf + 48);
    if (count > LOG_INDEX_ENTRIES_MAX ||
        buf_bytes != LOG_INDEX_HEADER_BYTES + (size_t)count * entry_bytes) {
        return RILL_ERR_CORRUPT;
    }
    if (log_be64(buf + 56) != index_checksum(buf, buf_bytes)) {
        return RILL_ERR_CRC;
    }
    summary->offset_base = (int64_t)log_be64(buf + 16);
    summary->segment_bytes = log_be64(buf + 24);
    summary->offset_next = (int64_t)log_be64(buf + 32);
    summary->timestamp_max = (int64_t)log_be64(buf + 40);
    if (summary->offset_base != offset_base || summary->offset_next < offset_base ||
        summary->offset_next - offset_base > INT32_MAX || summary->segment_bytes > UINT32_MAX) {
        return RILL_ERR_CORRUPT;
    }
    *out_count = count;
    return RILL_OK;
}

static rill_err index_decode_offsets(struct log_index *idx,
                                     const uint8_t *pos,
                                     uint32_t count,
                                     const struct log_index_summary *summary)
{
    idx->entry_count = 0;
    rill_err err = index_grow((void **)&idx->entries, &idx->entry_capacity, count,
                              sizeof(struct log_index_entry));
    if (err != RILL_OK) {
        return err;
    }
    for (uint32_t i = 0; i < count; i++, pos += LOG_INDEX_OFFSET_ENTRY_BYTES) {
        struct log_index_entry entry = { log_be32(pos), log_be32(pos + 4) };
        bool grows = i == 0 || (entry.offset_relative > idx->entries[i - 1].offset_relative &&
                                entry.position > idx->entries[i - 1].position);
        if (!grows || entry.position >= summary->segment_bytes ||
            (int64_t)entry.offset_relative >= summary->offset_next - summary->offset_base) {
            idx->entry_count = 0;
            return RILL_ERR_CORRUPT;
        }
        idx->entries[i] = entry;
    }
    idx->entry_count = count;
    return RILL_OK;
}

static rill_err index_decode_times(struct log_index *idx,
                                   const uint8_t *pos,
                                   uint32_t count,
                                   const struct log_index_summary *summary)
{
    idx->time_count = 0;
    rill_err err = index_grow((void **)&idx->time_entries, &idx->time_capacity, count,
                              sizeof(struct log_time_entry));
    if (err != RILL_OK) {
        return err;
    }
    for (uint32_t i = 0; i < count; i++, pos += LOG_INDEX_TIME_ENTRY_BYTES) {
        struct log_time_entry entry = { (int64_t)log_be64(pos), log_be32(pos + 8) };
        bool grows = i == 0 || entry.timestamp > idx->time_entries[i - 1].timestamp;
        if (!grows ||
            (int64_t)entry.offset_relative >= summary->offset_next - summary->offset_base) {
            idx->time_count = 0;
            return RILL_ERR_CORRUPT;
        }
        idx->time_entries[i] = entry;
    }
    idx->time_count = count;
    return RILL_OK;
}

rill_err log_index_decode(struct log_index *idx,
                          uint32_t kind,
                          int64_t offset_base,
                          const uint8_t *buf,
                          size_t buf_bytes,
                          struct log_index_summary *out_summary)
{
    struct log_index_summary summary;
    uint32_t count = 0;
    rill_err err = index_decode_header(kind, offset_base, buf, buf_bytes, &summary, &count);
    if (err != RILL_OK) {
        return err;
    }
    const uint8_t *entries = buf + LOG_INDEX_HEADER_BYTES;
    err = kind == LOG_INDEX_KIND_OFFSET ? index_decode_offsets(idx, entries, count, &summary)
                                        : index_decode_times(idx, entries, count, &summary);
    if (err != RILL_OK) {
        return err;
    }
    *out_summary = summary;
    return RILL_OK;
}
