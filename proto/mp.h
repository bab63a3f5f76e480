/*
 * mp.h - a bounded, zero-allocation MessagePack reader and a capped MessagePack writer, the
 * codec under every protocol message (docs/protocol.md). Pure: no I/O.
 *
 * Reader. Written for hostile input: every read checks the bytes that remain before touching
 * them, a declared array/map/str/bin length larger than the remaining input is rejected (an
 * element takes at least one byte), so no caller ever allocates from a claimed count that the
 * frame cannot hold. Calls return false on malformed or mismatching input and set
 * err = RILL_ERR_INVALID_REQUEST; the error is sticky: every later call fails too, so a decoder
 * may chain reads and check once. Out-parameters are written only on success. str and bin
 * values are returned zero-copy as pointers into the input (str is NOT NUL-terminated) and stay
 * valid as long as the input buffer does.
 *
 * Writer. Appends to a growable heap buffer that never exceeds bytes_max: a write past it
 * sets err = RILL_ERR_TOO_LARGE, a failed allocation RILL_ERR_NOMEM; the error is sticky and
 * later writes are no-ops returning false. Integers take their smallest encoding.
 */
#ifndef RILL_PROTO_MP_H
#define RILL_PROTO_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "common/limits.h"

/* Nesting of arrays and maps mp_skip() follows; deeper values are rejected. */
#define MP_DEPTH_MAX 32u

/* Largest str a reader accepts (docs/protocol.md, limits): bigger ones are malformed. */
#define MP_STR_BYTES_MAX RILL_PROTO_STRING_BYTES_MAX

struct mp_reader {
    const uint8_t *pos; /* next byte to read */
    const uint8_t *end; /* one past the last byte of the input */
    rill_err err;       /* RILL_OK until a read fails, then sticky */
};

/* Reads the bytes_count bytes at data (borrowed; must outlive every pointer read from it). */
void mp_reader_init(struct mp_reader *reader, const void *data, size_t bytes_count);

/* Bytes not read yet. */
size_t mp_reader_remaining(const struct mp_reader *reader);

/* Marks the reader failed with RILL_ERR_INVALID_REQUEST (for schema checks above the codec,
 * e.g. a value outside its range); returns false so callers can `return mp_reader_fail(r)`. */
bool mp_reader_fail(struct mp_reader *reader);

/* Containers: count of elements (array) or of key/value pairs (map). */
bool mp_read_array(struct mp_reader *reader, uint32_t *out_count);
bool mp_read_map(struct mp_reader *reader, uint32_t *out_count);

/* Integers: any msgpack integer encoding is accepted when the value fits the type. */
bool mp_read_int64(struct mp_reader *reader, int64_t *out_value);
bool mp_read_uint64(struct mp_reader *reader, uint64_t *out_value);
bool mp_read_int32(struct mp_reader *reader, int32_t *out_value);
bool mp_read_uint32(struct mp_reader *reader, uint32_t *out_value);

bool mp_read_bool(struct mp_reader *reader, bool *out_value);
bool mp_read_nil(struct mp_reader *reader);

/* True when the next value is nil; reads nothing and never fails the reader. */
bool mp_peek_nil(const struct mp_reader *reader);

/* str (fixstr, str8/16/32, at most MP_STR_BYTES_MAX bytes), zero-copy, not NUL-terminated. */
bool mp_read_str(struct mp_reader *reader, const char **out_ptr, uint32_t *out_bytes);

/* str or nil; nil gives *out_ptr = NULL and *out_bytes = 0. */
bool mp_read_str_or_nil(struct mp_reader *reader, const char **out_ptr, uint32_t *out_bytes);

/* bin (bin8/16/32 only; a str is not accepted as bin), zero-copy. */
bool mp_read_bin(struct mp_reader *reader, const uint8_t **out_ptr, uint32_t *out_bytes);

/* Skips one value of any type, containers included, nested at most MP_DEPTH_MAX deep. The work
 * is linear in the bytes skipped (every value consumes at least one byte). */
bool mp_skip(struct mp_reader *reader);

struct mp_writer {
    uint8_t *data;         /* heap buffer, NULL until the first write */
    size_t bytes;          /* bytes written so far */
    size_t capacity_bytes; /* bytes allocated at data */
    size_t bytes_max;      /* hard cap on bytes */
    size_t frame_start;    /* position of the open frame's length prefix (proto/frame.h) */
    bool frame_open;       /* a frame is between proto_frame_begin() and _end() */
    rill_err err;          /* RILL_OK until a write fails, then sticky */
};

/* An empty writer that will hold at most bytes_max bytes; allocates nothing yet. */
void mp_writer_init(struct mp_writer *writer, size_t bytes_max);

/* Forgets the content and the error but keeps the buffer for reuse. */
void mp_writer_reset(struct mp_writer *writer);

/* Frees the buffer; the writer must be initialised again before reuse. */
void mp_writer_deinit(struct mp_writer *writer);

bool mp_write_array(struct mp_writer *writer, uint32_t count);
bool mp_write_map(struct mp_writer *writer, uint32_t count);
bool mp_write_int(struct mp_writer *writer, int64_t value);
bool mp_write_uint(struct mp_writer *writer, uint64_t value);
bool mp_write_bool(struct mp_writer *writer, bool value);
bool mp_write_nil(struct mp_writer *writer);
bool mp_write_str(struct mp_writer *writer, const char *ptr, size_t bytes_count);
bool mp_write_str_cstr(struct mp_writer *writer, const char *cstr);

/* str, or nil when ptr is NULL. */
bool mp_write_str_or_nil(struct mp_writer *writer, const char *ptr, size_t bytes_count);
bool mp_write_bin(struct mp_writer *writer, const void *ptr, size_t bytes_count);

/* Always a bin32 header (0xc6 + big-endian u32) for bytes_count bytes the caller sends
 * separately (the zero-copy fetch path); the bytes themselves are not written. */
bool mp_write_bin_header(struct mp_writer *writer, uint32_t bytes_count);

/* Appends bytes_count raw bytes (already encoded msgpack, or a prefix). */
bool mp_write_raw(struct mp_writer *writer, const void *ptr, size_t bytes_count);

/* Appends bytes_count zero bytes to be patched later; *out_position is where they start. */
bool mp_writer_reserve(struct mp_writer *writer, size_t bytes_count, size_t *out_position);

/* Appends bytes_count bytes left as they are, for the caller to fill at once (a read straight
 * into the frame); NULL with writer->err set when they do not fit. */
uint8_t *mp_writer_claim(struct mp_writer *writer, size_t bytes_count);

/* Drops everything written after the first bytes_count bytes (bytes_count <= writer->bytes). */
void mp_writer_truncate(struct mp_writer *writer, size_t bytes_count);

/* Overwrites 4 bytes at position (from mp_writer_reserve) with value, big-endian. */
void mp_writer_patch_u32(struct mp_writer *writer, size_t position, uint32_t value);

#endif
