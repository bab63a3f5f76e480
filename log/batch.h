/*
 * batch.h - RecordBatch v2 (magic 2): the one batch format on disk and on every wire.
 *
 * Byte layout (big-endian), 61-byte header then records:
 *   0  int64  base offset           (set by the log on append; outside the CRC)
 *   8  int32  batch length          (bytes after this field = total - 12)
 *  12  int32  partition leader epoch (set by the log on append; outside the CRC)
 *  16  int8   magic = 2
 *  17  uint32 CRC-32C over bytes 21..end
 *  21  int16  attributes: bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control,
 *             6 delete horizon; the others must be 0
 *  23  int32  last offset delta
 *  27  int64  base (first) timestamp
 *  35  int64  max timestamp
 *  43  int64  producer id (-1 none)
 *  51  int16  producer epoch
 *  53  int32  base sequence (-1 none)
 *  57  int32  record count
 *  61  ...    records, or one LZ4 frame holding them when codec = 3
 * Record (zigzag varints): length, int8 attributes, varlong timestamp delta, varint offset
 * delta, varint key length (-1 null) + key, varint value length (-1 null) + value, varint
 * header count, then per header: varint name length + name, varint value length (-1 null) +
 * value.
 *
 * Everything here is pure: no I/O. Parsing treats its input as hostile.
 */
#ifndef RILL_LOG_BATCH_H
#define RILL_LOG_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"

#define LOG_BATCH_HEADER_BYTES  61u
#define LOG_BATCH_LENGTH_OFFSET 8u  /* the batch length field */
#define LOG_BATCH_PREFIX_BYTES  12u /* base offset + batch length: not counted in the length */
#define LOG_BATCH_CRC_START     21u /* the CRC covers [21, end) */
#define LOG_BATCH_MAGIC         2

enum log_codec {
    LOG_CODEC_NONE = 0,
    LOG_CODEC_GZIP = 1,
    LOG_CODEC_SNAPPY = 2,
    LOG_CODEC_LZ4 = 3,
    LOG_CODEC_ZSTD = 4,
};

#define LOG_BATCH_ATTR_CODEC_MASK      0x07
#define LOG_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define LOG_BATCH_ATTR_TRANSACTIONAL   0x10
#define LOG_BATCH_ATTR_CONTROL         0x20
#define LOG_BATCH_ATTR_DELETE_HORIZON  0x40
#define LOG_BATCH_ATTR_KNOWN_MASK      0x7f

struct log_batch_header {
    int64_t offset_base;
    int32_t batch_length; /* total bytes - 12 */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t timestamp_first;
    int64_t timestamp_max;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t sequence_base;
    int32_t record_count;
};

/* Total bytes of the batch described by hdr (header included). */
static inline uint32_t log_batch_total_bytes(const struct log_batch_header *hdr)
{
    return (uint32_t)hdr->batch_length + LOG_BATCH_PREFIX_BYTES;
}

static inline int log_batch_codec(const struct log_batch_header *hdr)
{
    return hdr->attributes & LOG_BATCH_ATTR_CODEC_MASK;
}

static inline int64_t log_batch_offset_last(const struct log_batch_header *hdr)
{
    return hdr->offset_base + hdr->last_offset_delta;
}

/*
 * Decodes the 61-byte header from buf (buf_bytes available, may be more or less than the whole
 * batch) and checks what the header alone can tell: buf_bytes >= 61, magic 2, batch length in
 * [49, RILL_BATCH_BYTES_MAX - 12], no unknown attribute bits, record count >= 0, last offset
 * delta >= 0 and >= record count - 1 (compaction may leave gaps). No CRC check.
 * Returns RILL_OK or RILL_ERR_BAD_BATCH (RILL_ERR_UNSUPPORTED for a magic other than 2).
 */
RILL_MUST_CHECK rill_err log_batch_header_decode(const uint8_t *buf,
                                                 size_t buf_bytes,
                                                 struct log_batch_header *out_hdr);

/* CRC-32C of bytes [21, total) of a batch whose total size is total_bytes (>= 61). */
uint32_t log_batch_crc_compute(const uint8_t *batch, size_t total_bytes);

/*
 * Full validation of a complete batch of exactly batch_bytes: header decode, length equals
 * batch_bytes, CRC matches. With strict (input from a producer), also requires record count
 * >= 1 and last offset delta == record count - 1, and for uncompressed batches that the
 * records parse and their count matches. Never decompresses.
 * Returns RILL_OK, RILL_ERR_BAD_BATCH, RILL_ERR_CRC or RILL_ERR_UNSUPPORTED.
 */
RILL_MUST_CHECK rill_err log_batch_validate(const uint8_t *batch,
                                            size_t batch_bytes,
                                            bool strict,
                                            struct log_batch_header *out_hdr);

/* Overwrites base offset and partition leader epoch in place (outside the CRC). */
void log_batch_set_offset(uint8_t *batch, int64_t offset_base, int32_t leader_epoch);

/*
 * Builder: records are added one at a time into an internal buffer; finish() writes the header
 * and CRC (compressing the records with LZ4 frame format when codec is LOG_CODEC_LZ4) and
 * returns a view of the batch valid until the next reset/add/deinit. The base offset is 0.
 */
struct log_batch_builder {
    uint8_t *buf; /* header + records (uncompressed) */
    size_t buf_capacity_bytes;
    size_t buf_used_bytes;
    uint8_t *out; /* finished batch when compressed */
    size_t out_capacity_bytes;
    size_t batch_bytes_max; /* refuse to grow a batch beyond this */
    int codec;
    int32_t record_count;
    int64_t timestamp_first;
    int64_t timestamp_max;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t sequence_base;
};

RILL_MUST_CHECK rill_err log_batch_builder_init(struct log_batch_builder *bld,
                                                int codec,
                                                size_t batch_bytes_max);
void log_batch_builder_deinit(struct log_batch_builder *bld);
/* Forget the records added; keeps buffers, codec and limits. */
void log_batch_builder_reset(struct log_batch_builder *bld);
/* Sets the idempotent producer fields (defaults -1, -1, -1). */
void log_batch_builder_set_producer(struct log_batch_builder *bld,
                                    int64_t producer_id,
                                    int16_t producer_epoch,
                                    int32_t sequence_base);
/*
 * Adds one record; rec->timestamp_ms < 0 is replaced by now_ms.
 * Returns RILL_OK, RILL_ERR_TOO_LARGE (the batch would exceed batch_bytes_max; the builder is
 * unchanged), RILL_ERR_INVALID (e.g. too many headers) or RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err log_batch_builder_add(struct log_batch_builder *bld,
                                               const rill_record_t *rec,
                                               int64_t now_ms);
/*
 * The size add() would check against batch_bytes_max after adding rec: the uncompressed bytes,
 * plus for LZ4 the frame's worst-case overhead (so <= batch_bytes_max predicts add() exactly).
 * An upper bound when rec's timestamp is "now". SIZE_MAX when rec can never be added.
 */
size_t log_batch_builder_bytes_with(const struct log_batch_builder *bld, const rill_record_t *rec);
/* Finishes; RILL_ERR_INVALID when no record was added. */
RILL_MUST_CHECK rill_err log_batch_builder_finish(struct log_batch_builder *bld,
                                                  uint8_t **out_batch,
                                                  size_t *out_batch_bytes);

/*
 * One decoded record: pointers into the batch (or into the iterator's decompression buffer).
 * key_bytes / value_bytes are -1 for null.
 */
struct log_record {
    int64_t offset;
    int64_t timestamp;
    const uint8_t *key;
    int32_t key_bytes;
    const uint8_t *value;
    int32_t value_bytes;
    const uint8_t *headers; /* encoded headers, header_count of them */
    size_t headers_bytes;
    int32_t header_count;
};

/* The public record view (rill.h) is a decoded record: the embedded reader and the consumer
 * hand out pointers to one, and the rill_record_* accessors read it. */
struct rill_record_view {
    struct log_record rec;
};

/* Decodes header number index of rec (bounded walk over rec->headers). */
RILL_MUST_CHECK rill_err log_record_header(const struct log_record *rec,
                                           int32_t index,
                                           const uint8_t **out_name,
                                           int32_t *out_name_bytes,
                                           const uint8_t **out_value,
                                           int32_t *out_value_bytes);

/*
 * Iterates the records of one complete batch. For LZ4 batches the records are decompressed into
 * a buffer owned by the iterator (grown up to RILL_BATCH_BYTES_MAX * 4 and reused across
 * batches; the decompressed size is bounded, never taken from a length field alone).
 */
struct log_record_iter {
    struct log_batch_header hdr;
    const uint8_t *pos; /* next record */
    const uint8_t *end;
    int32_t records_left;
    uint8_t *scratch; /* decompression buffer, owned */
    size_t scratch_capacity_bytes;
    void *lz4_context; /* LZ4F_dctx, created on first use and reused: it holds block buffers */
};

void log_record_iter_init(struct log_record_iter *it);
void log_record_iter_deinit(struct log_record_iter *it);
/* Starts on a complete batch (validated by the caller or not: this re-checks bounds). */
RILL_MUST_CHECK rill_err log_record_iter_start(struct log_record_iter *it,
                                               const uint8_t *batch,
                                               size_t batch_bytes);
/* Next record; RILL_ERR_END after the last; RILL_ERR_CORRUPT on malformed records. */
RILL_MUST_CHECK rill_err log_record_iter_next(struct log_record_iter *it, struct log_record *out);

/* Varints as used by records (zigzag). Return bytes consumed, 0 on malformed/truncated. */
size_t log_varint_decode(const uint8_t *buf, size_t buf_bytes, int64_t *out_value);
size_t log_varint_encode(uint8_t *buf, int64_t value); /* buf has >= 10 bytes */
size_t log_varint_size(int64_t value);

/* log_varint_decode with the one- and two-byte forms inline: every record length, key and
 * value length below 8 KiB, and the deltas of small batches. Validation decodes ~6 varints
 * per record, so the call cost mattered more than the decoding. */
static inline size_t
log_varint_decode_inline(const uint8_t *buf, size_t buf_bytes, int64_t *out_value)
{
    if (buf_bytes >= 2 && buf[0] >= 0x80 && buf[1] < 0x80) {
        uint64_t zigzag = (uint64_t)(buf[0] & 0x7f) | (uint64_t)buf[1] << 7;
        *out_value = (int64_t)(zigzag >> 1) ^ -(int64_t)(zigzag & 1);
        return 2;
    }
    if (buf_bytes >= 1 && buf[0] < 0x80) {
        *out_value = (int64_t)(buf[0] >> 1) ^ -(int64_t)(buf[0] & 1);
        return 1;
    }
    return log_varint_decode(buf, buf_bytes, out_value);
}

/* Big-endian helpers. */
static inline uint16_t log_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t log_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t log_be64(const uint8_t *p)
{
    return (uint64_t)log_be32(p) << 32 | log_be32(p + 4);
}
static inline void log_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void log_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void log_put_be64(uint8_t *p, uint64_t v)
{
    log_put_be32(p, (uint32_t)(v >> 32));
    log_put_be32(p + 4, (uint32_t)v);
}

#endif
