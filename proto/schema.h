/*
 * schema.h - the table-driven codec behind proto/api.h. A message is described once as a
 * schema (its positional fields: kind and offset in the C struct), and one decoder and one
 * encoder walk any schema, so the ten APIs share one carefully bounded implementation.
 * Internal to proto/.
 */
#ifndef RILL_PROTO_SCHEMA_H
#define RILL_PROTO_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "proto/arena.h"
#include "proto/mp.h"

enum proto_field_kind {
    PROTO_FIELD_INT32,             /* int32_t */
    PROTO_FIELD_INT64,             /* int64_t */
    PROTO_FIELD_UINT32,            /* uint32_t */
    PROTO_FIELD_UINT64,            /* uint64_t */
    PROTO_FIELD_BOOL,              /* bool */
    PROTO_FIELD_STR,               /* struct proto_str, never nil */
    PROTO_FIELD_STR_OR_NIL,        /* struct proto_str, ptr NULL for nil */
    PROTO_FIELD_BIN,               /* struct proto_bin */
    PROTO_FIELD_ARRAY,             /* element schema structs: pointer + uint32_t count */
    PROTO_FIELD_INT32_ARRAY,       /* int32_t pointer + count */
    PROTO_FIELD_STR_ARRAY,         /* struct proto_str pointer + count */
    PROTO_FIELD_STR_ARRAY_OR_NIL,  /* same + bool set when nil */
    PROTO_FIELD_CONFIGS,           /* map str→str as struct proto_config pointer + count */
    PROTO_FIELD_CONFIGS_NIL_VALUE, /* same, values may be nil */
};

struct proto_schema;

struct proto_field {
    enum proto_field_kind kind;
    uint16_t offset;                    /* of the value, or of an array's pointer */
    uint16_t count_offset;              /* arrays: of the uint32_t count */
    uint16_t nil_offset;                /* *_OR_NIL arrays: of the bool nil flag */
    const struct proto_schema *element; /* PROTO_FIELD_ARRAY: the element layout */
};

struct proto_schema {
    const struct proto_field *fields; /* in wire order */
    uint32_t field_count;
    uint32_t struct_bytes; /* sizeof the C struct */
};

/* Decodes one positional array into out (struct_bytes, written only on success). */
RILL_MUST_CHECK rill_err proto_schema_decode(const struct proto_schema *schema,
                                             struct mp_reader *reader,
                                             struct proto_arena *arena,
                                             void *out);

/* Encodes the struct at message as a positional array. */
RILL_MUST_CHECK rill_err proto_schema_encode(const struct proto_schema *schema,
                                             struct mp_writer *writer,
                                             const void *message);

#endif
