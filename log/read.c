/*
 * read.c - the read side of a partition log: locating the batch that holds an offset, reading
 * whole batches from a segment, and resolving a timestamp to an offset per record.
 *
 * Reads see only written bytes (bytes_written of each segment). The base offset of a batch is
 * outside its CRC, so every walk checks that each batch starts where the previous one ended,
 * starting from an index entry whose offset is known; in a compacted segment (compact.c) it
 * checks that batches move forward, as gaps are legitimate there.
 */
#include "log/partition.h"

#include <stdlib.h>

#include "common/assert.h"
#include "common/diag.h"

uint32_t log_partition_segment_find(const struct log_partition *part, int64_t offset)
{
    uint32_t low = 0, high = part->segment_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (part->segments[middle]->offset_base <= offset) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low == 0 ? 0 : low - 1;
}

/* Finds the position of the batch holding offset (or the first batch after it, for gaps). */
static rill_err locate_batch(struct log_partition *part,
                             int64_t offset,
                             uint32_t *out_index,
                             uint64_t *out_position)
{
    for (uint32_t i = log_partition_segment_find(part, offset); i < part->segment_count; i++) {
        struct log_segment *seg = part->segments[i];
        uint64_t position = 0;
        int64_t expect = seg->offset_base;
        if (offset > seg->offset_base) {
            uint32_t entry_relative = 0;
            position = log_index_lookup_entry(&seg->idx, (uint32_t)(offset - seg->offset_base),
                                              &entry_relative);
            expect = seg->offset_base + entry_relative;
        }
        /* Bounded: each step moves forward by a validated batch length within the segment. */
        while (position < seg->bytes_written) {
            struct log_batch_header hdr;
            rill_err err = log_segment_read_header(part, seg, position, seg->bytes_written, &hdr);
            if (err != RILL_OK) {
                return err;
            }
            /* The base offset is outside the CRC: continuity is what vouches for it (in a
             * compacted segment, order: gaps are legitimate there). */
            if (!log_compact_offset_continues(seg->compacted, hdr.offset_base, expect)) {
                DIAG_ERROR("log", "batch offset mismatch dir=%s segment=%lld position=%llu",
                           part->dir, (long long)seg->offset_base, (unsigned long long)position);
                return RILL_ERR_CORRUPT;
            }
            if (log_batch_offset_last(&hdr) >= offset) {
                *out_index = i;
                *out_position = position;
                return RILL_OK;
            }
            expect = log_batch_offset_last(&hdr) + 1;
            position += log_batch_total_bytes(&hdr);
        }
    }
    return RILL_ERR_END;
}

/*
 * Length of the whole, contiguous batches at the front of buf: it stops before a batch that is
 * cut off, malformed, or does not start where the previous one ended.
 */
static size_t whole_batches_bytes(const uint8_t *buf, size_t buf_bytes, bool compacted)
{
    size_t used = 0;
    int64_t expect = -1;
    while (buf_bytes - used >= LOG_BATCH_HEADER_BYTES) {
        struct log_batch_header hdr;
        if (log_batch_header_decode(buf + used, buf_bytes - used, &hdr) != RILL_OK ||
            log_batch_total_bytes(&hdr) > buf_bytes - used ||
            (expect >= 0 && !log_compact_offset_continues(compacted, hdr.offset_base, expect))) {
            break;
        }
        expect = log_batch_offset_last(&hdr) + 1;
        used += log_batch_total_bytes(&hdr);
    }
    return used;
}

rill_err log_partition_read_plan(struct log_partition *part,
                                 int64_t offset,
                                 size_t max_bytes,
                                 struct log_read_plan *out_plan)
{
    if (offset < part->offset_start || offset > part->offset_written) {
        return RILL_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (offset == part->offset_written) {
        return RILL_ERR_END;
    }
    uint32_t index = 0;
    uint64_t position = 0;
    rill_err err = locate_batch(part, offset, &index, &position);
    if (err != RILL_OK) {
        return err;
    }
    struct log_segment *seg = part->segments[index];
    struct log_batch_header first;
    err = log_segment_read_header(part, seg, position, seg->bytes_written, &first);
    if (err != RILL_OK) {
        return err;
    }
    uint64_t available = seg->bytes_written - position;
    size_t want =
        max_bytes < log_batch_total_bytes(&first) ? log_batch_total_bytes(&first) : max_bytes;
    if (want > available) {
        want = (size_t)available;
    }
    *out_plan = (struct log_read_plan){ .segment_index = index,
                                        .position = position,
                                        .bytes = want,
                                        .first_batch_bytes = log_batch_total_bytes(&first) };
    return RILL_OK;
}

rill_err log_partition_read_into(struct log_partition *part,
                                 const struct log_read_plan *plan,
                                 uint8_t *dst,
                                 size_t *out_bytes)
{
    RILL_ASSERT(plan->segment_index < part->segment_count);
    struct log_segment *seg = part->segments[plan->segment_index];
    size_t read_bytes = 0;
    rill_err err =
        part->io->ops->pread(part->io, seg->fd, dst, plan->bytes, plan->position, &read_bytes);
    size_t whole = err == RILL_OK ? whole_batches_bytes(dst, read_bytes, seg->compacted) : 0;
    if (err == RILL_OK && whole < plan->first_batch_bytes) {
        err = RILL_ERR_CORRUPT;
    }
    if (err != RILL_OK) {
        return err;
    }
    *out_bytes = whole;
    return RILL_OK;
}

rill_err log_partition_read(struct log_partition *part,
                            int64_t offset,
                            size_t max_bytes,
                            uint8_t **out_buf,
                            size_t *out_bytes)
{
    struct log_read_plan plan;
    rill_err err = log_partition_read_plan(part, offset, max_bytes, &plan);
    if (err != RILL_OK) {
        return err;
    }
    uint8_t *buf = malloc(plan.bytes);
    if (buf == NULL) {
        return RILL_ERR_NOMEM;
    }
    err = log_partition_read_into(part, &plan, buf, out_bytes);
    if (err != RILL_OK) {
        free(buf);
        return err;
    }
    *out_buf = buf;
    return RILL_OK;
}

/* Offset of the first record with timestamp >= timestamp in the batch at position, if any. */
static rill_err batch_find_time(struct log_partition *part,
                                struct log_segment *seg,
                                uint64_t position,
                                uint32_t total_bytes,
                                int64_t timestamp,
                                int64_t *out_offset)
{
    uint8_t *buf = malloc(total_bytes);
    if (buf == NULL) {
        return RILL_ERR_NOMEM;
    }
    size_t read_bytes = 0;
    struct log_record_iter it;
    log_record_iter_init(&it);
    rill_err err = part->io->ops->pread(part->io, seg->fd, buf, total_bytes, position, &read_bytes);
    if (err == RILL_OK && read_bytes != total_bytes) {
        err = RILL_ERR_CORRUPT;
    }
    if (err == RILL_OK) {
        struct log_batch_header hdr;
        err = log_batch_validate(buf, total_bytes, false, &hdr);
    }
    if (err == RILL_OK) {
        err = log_record_iter_start(&it, buf, total_bytes);
    }
    struct log_record rec;
    while (err == RILL_OK && (err = log_record_iter_next(&it, &rec)) == RILL_OK) {
        if (rec.timestamp >= timestamp) {
            *out_offset = rec.offset;
            break;
        }
    }
    log_record_iter_deinit(&it);
    free(buf);
    return err;
}

rill_err
log_partition_offset_for_time(struct log_partition *part, int64_t timestamp, int64_t *out_offset)
{
    for (uint32_t i = 0; i < part->segment_count; i++) {
        struct log_segment *seg = part->segments[i];
        if (seg->timestamp_max < timestamp) {
            continue;
        }
        uint32_t relative = log_index_time_lookup(&seg->idx, timestamp);
        uint64_t position = log_index_lookup(&seg->idx, relative);
        while (position < seg->bytes_written) {
            struct log_batch_header hdr;
            rill_err err = log_segment_read_header(part, seg, position, seg->bytes_written, &hdr);
            if (err != RILL_OK) {
                return err;
            }
            if (hdr.timestamp_max >= timestamp) {
                err = batch_find_time(part, seg, position, log_batch_total_bytes(&hdr), timestamp,
                                      out_offset);
                if (err != RILL_ERR_END) {
                    return err;
                }
            }
            position += log_batch_total_bytes(&hdr);
        }
    }
    return RILL_ERR_END;
}

rill_err log_partition_scan_tail(struct log_partition *part,
                                 uint64_t window_bytes,
                                 void (*fn)(void *ctx, const struct log_batch_header *hdr),
                                 void *ctx)
{
    if (part->segment_count == 0) {
        return RILL_OK;
    }
    struct log_segment *seg = part->segments[part->segment_count - 1];
    uint64_t target = seg->bytes_written > window_bytes ? seg->bytes_written - window_bytes : 0;
    /* The last index entry at or before target: a batch boundary with a known offset. */
    uint64_t position = 0;
    int64_t expect = seg->offset_base;
    uint32_t low = 0, high = seg->idx.entry_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (seg->idx.entries[middle].position <= target) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    if (low > 0) {
        position = seg->idx.entries[low - 1].position;
        expect = seg->offset_base + seg->idx.entries[low - 1].offset_relative;
    }
    /* Bounded: each step moves forward by a validated batch length within the segment. */
    while (position < seg->bytes_written) {
        struct log_batch_header hdr;
        rill_err err = log_segment_read_header(part, seg, position, seg->bytes_written, &hdr);
        if (err != RILL_OK) {
            return err;
        }
        if (!log_compact_offset_continues(seg->compacted, hdr.offset_base, expect)) {
            return RILL_ERR_CORRUPT;
        }
        fn(ctx, &hdr);
        expect = log_batch_offset_last(&hdr) + 1;
        position += log_batch_total_bytes(&hdr);
    }
    return RILL_OK;
}
