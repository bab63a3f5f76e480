/*
 * index.h - the sparse offset index and time index of one segment (pure: no I/O).
 *
 * Offset index entry: (offset relative to the segment base, byte position of the batch with
 * that base offset). An entry is added when at least index.interval.bytes of batches were
 * appended since the previous one, so a lookup lands at most that far before the target.
 * Time index entry: (largest timestamp seen so far in the segment, relative base offset of the
 * batch that raised it). Entries are added only when the timestamp grows.
 *
 * On disk each index is a 48-byte header followed by big-endian entries:
 *   0  8  magic "RILLIDX1"
 *   8  4  version (1)
 *  12  4  kind (1 offset index, 2 time index)
 *  16  8  segment base offset
 *  24  8  segment bytes covered (the .log size the index was written for)
 *  32  8  offset_next of the segment (one past its last offset)
 *  40  8  largest record timestamp in the segment (-1 when empty)
 *  48  4  entry count
 *  52  4  reserved (0)
 *  56  8  XXH3-64 of the entries, seeded with the XXH3-64 of bytes [0,56)
 * Offset entries are 8 bytes (u32 relative offset, u32 position); time entries 12 bytes
 * (i64 timestamp, u32 relative offset). The header is 64 bytes in total.
 */
#ifndef RILL_LOG_INDEX_H
#define RILL_LOG_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "rill.h"

#define LOG_INDEX_HEADER_BYTES       64u
#define LOG_INDEX_OFFSET_ENTRY_BYTES 8u
#define LOG_INDEX_TIME_ENTRY_BYTES   12u
#define LOG_INDEX_KIND_OFFSET        1u
#define LOG_INDEX_KIND_TIME          2u

struct log_index_entry {
    uint32_t offset_relative;
    uint32_t position;
};

struct log_time_entry {
    int64_t timestamp;
    uint32_t offset_relative;
};

struct log_index {
    struct log_index_entry *entries;
    uint32_t entry_count;
    uint32_t entry_capacity;
    struct log_time_entry *time_entries;
    uint32_t time_count;
    uint32_t time_capacity;
};

/* What an index file header says about its segment. */
struct log_index_summary {
    int64_t offset_base;
    uint64_t segment_bytes;
    int64_t offset_next;
    int64_t timestamp_max;
};

void log_index_init(struct log_index *idx);
void log_index_deinit(struct log_index *idx);
void log_index_clear(struct log_index *idx);

/* Appends an entry; relative offsets and positions must grow strictly. */
RILL_MUST_CHECK rill_err log_index_add(struct log_index *idx,
                                       uint32_t offset_relative,
                                       uint32_t position);
/* Appends a time entry if timestamp is larger than the last one (else does nothing). */
RILL_MUST_CHECK rill_err log_index_time_add(struct log_index *idx,
                                            int64_t timestamp,
                                            uint32_t offset_relative);

/* Position to start scanning for offset_relative: the largest entry <= it, else 0. */
uint32_t log_index_lookup(const struct log_index *idx, uint32_t offset_relative);
/* The same, also giving the relative offset of the batch at that position (0 when none). */
uint32_t log_index_lookup_entry(const struct log_index *idx,
                                uint32_t offset_relative,
                                uint32_t *out_entry_offset_relative);
/*
 * Relative offset to start scanning for the first record with timestamp >= timestamp: every
 * batch before the returned relative offset holds only smaller timestamps. 0 if none.
 */
uint32_t log_index_time_lookup(const struct log_index *idx, int64_t timestamp);

/* Drops entries whose position is >= position (time entries at or after the dropped offsets). */
void log_index_truncate(struct log_index *idx, uint32_t position);

/* Bytes of the serialised file of the given kind. */
size_t log_index_file_bytes(const struct log_index *idx, uint32_t kind);
/* Serialises into buf (log_index_file_bytes() bytes). */
void log_index_encode(const struct log_index *idx,
                      uint32_t kind,
                      const struct log_index_summary *summary,
                      uint8_t *buf);
/*
 * Parses a file image of buf_bytes, checking magic, version, kind, checksum, entry count
 * against the size, base offset, and that entries grow and stay below the segment size.
 * Replaces the entries of that kind in idx. RILL_ERR_CORRUPT or RILL_ERR_CRC on any mismatch.
 */
RILL_MUST_CHECK rill_err log_index_decode(struct log_index *idx,
                                          uint32_t kind,
                                          int64_t offset_base,
                                          const uint8_t *buf,
                                          size_t buf_bytes,
                                          struct log_index_summary *out_summary);

#endif
