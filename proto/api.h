/*
 * api.h - the request and response bodies of the APIs of docs/protocol.md (0..9: topics and
 * data, 10..18: consumer groups) as C structs, with their codecs. Pure: no I/O.
 *
 * Every body is a msgpack array of positional fields; each struct below lists its fields in
 * wire order. Decoders
 *   - read from an mp_reader positioned at the body and leave it after the body;
 *   - point str and bin fields into the reader's input (zero-copy, str NOT NUL-terminated), so
 *     the input must outlive the decoded struct;
 *   - allocate arrays from the arena (valid until proto_arena_reset()); a count of 0 leaves the
 *     pointer NULL; all arrays of one body may hold RILL_PROTO_ARRAY_ENTRIES_MAX entries in
 *     total (every nested array counts);
 *   - skip extra trailing fields of any positional array (later versions append fields) and
 *     reject missing ones;
 *   - return RILL_ERR_INVALID_REQUEST for anything that does not match the schema, plus the
 *     specific codes documented per message; the out struct is written only on success.
 * Encoders write the body (no header, no frame) and return the writer's error: RILL_OK,
 * RILL_ERR_TOO_LARGE (writer cap, or a str longer than RILL_PROTO_STRING_BYTES_MAX) or
 * RILL_ERR_NOMEM. Arrays given to an encoder must hold their count elements.
 */
#ifndef RILL_PROTO_API_H
#define RILL_PROTO_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "proto/arena.h"
#include "proto/frame.h"
#include "proto/mp.h"

/* A str on the wire; ptr NULL means nil (only where the spec allows nil). */
struct proto_str {
    const char *ptr;
    uint32_t bytes;
};

/* A bin on the wire (record batches). */
struct proto_bin {
    const uint8_t *ptr;
    uint32_t bytes;
};

/* One entry of a `map str→str` of topic configs. value.ptr NULL: nil, which only ALTER_CONFIGS
 * accepts (reset the key to its default). */
struct proto_config {
    struct proto_str key;
    struct proto_str value;
};

/* [name, error, message?]: the per-topic result of CREATE_TOPICS, DELETE_TOPICS and
 * ALTER_CONFIGS. */
struct proto_topic_result {
    struct proto_str name;
    int32_t error;            /* rill_err */
    struct proto_str message; /* nil or a human-readable detail */
};

/* The response body of CREATE_TOPICS, DELETE_TOPICS and ALTER_CONFIGS: [results[]]. */
struct proto_topic_results {
    struct proto_topic_result *results;
    uint32_t result_count;
};

/* 0 HANDSHAKE */

struct proto_handshake_request {
    struct proto_str client_name;
    struct proto_str client_version;
};

struct proto_api_range {
    uint32_t api; /* enum proto_api */
    uint32_t version_min;
    uint32_t version_max;
};

struct proto_handshake_response {
    int32_t broker_id;
    struct proto_str cluster_id;
    struct proto_str broker_version;
    struct proto_api_range *apis;
    uint32_t api_count;
};

/* 1 METADATA */

struct proto_metadata_request {
    struct proto_str *topics; /* names asked for */
    uint32_t topic_count;
    bool topics_all; /* the wire value was nil: every topic; topics is then NULL */
    bool allow_auto_create;
};

struct proto_broker {
    int32_t id;
    struct proto_str host;
    uint32_t port;
};

struct proto_metadata_partition {
    int32_t partition;
    int32_t leader; /* broker id */
    int32_t *replicas;
    uint32_t replica_count;
    int32_t *isr; /* in-sync replicas */
    uint32_t isr_count;
};

struct proto_metadata_topic {
    struct proto_str name;
    int32_t error; /* RILL_ERR_UNKNOWN_TOPIC, ... */
    struct proto_metadata_partition *partitions;
    uint32_t partition_count;
};

struct proto_metadata_response {
    struct proto_broker *brokers;
    uint32_t broker_count;
    int32_t controller_id;
    struct proto_metadata_topic *topics;
    uint32_t topic_count;
};

/* 2 CREATE_TOPICS (response: struct proto_topic_results) */

struct proto_create_topic {
    struct proto_str name; /* unchecked: see proto_topic_name_valid() */
    int32_t partitions;
    int32_t replication_factor; /* -1: the broker's default */
    struct proto_config *configs;
    uint32_t config_count;
};

struct proto_create_topics_request {
    struct proto_create_topic *topics;
    uint32_t topic_count;
    bool validate_only;
};

/* 3 DELETE_TOPICS (response: struct proto_topic_results) */

struct proto_delete_topics_request {
    struct proto_str *names;
    uint32_t name_count;
};

/* 4 DESCRIBE_TOPICS */

struct proto_describe_topics_request {
    struct proto_str *names;
    uint32_t name_count;
    bool names_all; /* the wire value was nil: every topic */
};

struct proto_describe_partition {
    int32_t partition;
    int64_t start_offset;
    int64_t end_offset;
    int64_t durable_offset;
    uint64_t size_bytes;    /* wire name `bytes` */
    uint64_t segment_count; /* wire name `segments` */
};

struct proto_describe_topic {
    struct proto_str name;
    int32_t error;
    struct proto_str message;
    struct proto_config *configs; /* every effective topic-level setting */
    uint32_t config_count;
    struct proto_describe_partition *partitions;
    uint32_t partition_count;
};

struct proto_describe_topics_response {
    struct proto_describe_topic *topics;
    uint32_t topic_count;
};

/* 5 ALTER_CONFIGS (response: struct proto_topic_results) */

struct proto_alter_topic {
    struct proto_str name;
    struct proto_config *configs; /* a nil value resets the key */
    uint32_t config_count;
};

struct proto_alter_configs_request {
    struct proto_alter_topic *topics;
    uint32_t topic_count;
};

/* 6 PRODUCE */

struct proto_produce_partition {
    int32_t partition;
    struct proto_bin batches; /* one or more RecordBatch v2, unvalidated */
};

struct proto_produce_topic {
    struct proto_str name;
    struct proto_produce_partition *partitions;
    uint32_t partition_count;
};

struct proto_produce_request {
    int32_t acks;       /* 0, 1 or -1 (decoding checks) */
    int32_t timeout_ms; /* >= 0 (decoding checks) */
    struct proto_produce_topic *topics;
    uint32_t topic_count;
};

struct proto_produce_partition_result {
    int32_t partition;
    int32_t error;
    struct proto_str message;
    int64_t base_offset;
    int64_t log_start_offset;
};

struct proto_produce_topic_result {
    struct proto_str name;
    struct proto_produce_partition_result *partitions;
    uint32_t partition_count;
};

struct proto_produce_response {
    struct proto_produce_topic_result *topics;
    uint32_t topic_count;
};

/* 7 FETCH */

struct proto_fetch_partition {
    int32_t partition;
    int64_t offset;
    int32_t partition_max_bytes; /* >= 0 (decoding checks) */
};

struct proto_fetch_topic {
    struct proto_str name;
    struct proto_fetch_partition *partitions;
    uint32_t partition_count;
};

struct proto_fetch_request {
    int32_t max_wait_ms; /* >= 0; decoding clamps it to RILL_FETCH_WAIT_MS_MAX */
    int32_t min_bytes;   /* >= 0 (decoding checks) */
    int32_t max_bytes;   /* >= 0 (decoding checks) */
    struct proto_fetch_topic *topics;
    uint32_t topic_count;
};

struct proto_fetch_partition_result {
    int32_t partition;
    int32_t error;
    int64_t high_watermark;
    int64_t log_start_offset;
    struct proto_bin batches; /* proto_fetch_response_encode_spliced() ignores ptr */
};

struct proto_fetch_topic_result {
    struct proto_str name;
    struct proto_fetch_partition_result *partitions;
    uint32_t partition_count;
};

struct proto_fetch_response {
    struct proto_fetch_topic_result *topics;
    uint32_t topic_count;
};

/* 8 LIST_OFFSETS */

#define PROTO_LIST_OFFSETS_LATEST   (-1) /* timestamp asking for the high watermark */
#define PROTO_LIST_OFFSETS_EARLIEST (-2) /* timestamp asking for the log start offset */

struct proto_list_offsets_partition {
    int32_t partition;
    int64_t timestamp; /* ms, or PROTO_LIST_OFFSETS_LATEST / _EARLIEST */
};

struct proto_list_offsets_topic {
    struct proto_str name;
    struct proto_list_offsets_partition *partitions;
    uint32_t partition_count;
};

struct proto_list_offsets_request {
    struct proto_list_offsets_topic *topics;
    uint32_t topic_count;
};

struct proto_list_offsets_partition_result {
    int32_t partition;
    int32_t error;
    int64_t timestamp;
    int64_t offset;
};

struct proto_list_offsets_topic_result {
    struct proto_str name;
    struct proto_list_offsets_partition_result *partitions;
    uint32_t partition_count;
};

struct proto_list_offsets_response {
    struct proto_list_offsets_topic_result *topics;
    uint32_t topic_count;
};

/* 9 INIT_PRODUCER_ID */

struct proto_init_producer_id_request {
    struct proto_str transactional_id; /* nil; non-nil is the broker's ERR_UNSUPPORTED */
    int32_t timeout_ms;
};

struct proto_init_producer_id_response {
    int32_t error;
    int64_t producer_id;
    int32_t producer_epoch;
};

/* ---------------------------------------------------------------------------------------- */
/* Consumer groups (docs/protocol.md, "Consumer groups")                                      */
/* ---------------------------------------------------------------------------------------- */

#define PROTO_GROUP_ID_BYTES_MAX        249u  /* group ids: see proto_group_id_valid() */
#define PROTO_COMMIT_METADATA_BYTES_MAX 4096u /* longer commit metadata: ERR_TOO_LARGE */
#define PROTO_GENERATION_NONE           (-1)  /* OFFSET_COMMIT outside a group; errors */

/* The strategy names of JOIN_GROUP. */
#define PROTO_STRATEGY_STICKY     "sticky"
#define PROTO_STRATEGY_ROUNDROBIN "roundrobin"
#define PROTO_STRATEGY_RANGE      "range"

/* The group states of LIST_GROUPS and DESCRIBE_GROUPS. */
#define PROTO_GROUP_STATE_EMPTY       "empty"
#define PROTO_GROUP_STATE_REBALANCING "rebalancing"
#define PROTO_GROUP_STATE_STABLE      "stable"
#define PROTO_GROUP_STATE_DEAD        "dead"

/* [topic, partitions: int[]]: partitions of one topic (assignments, owned, revoke). */
struct proto_topic_partitions {
    struct proto_str topic;
    int32_t *partitions;
    uint32_t partition_count;
};

/* 10 JOIN_GROUP */

struct proto_join_group_request {
    struct proto_str group;
    struct proto_str member_id; /* empty on the first join: the coordinator assigns one */
    struct proto_str client_id;
    int32_t session_timeout_ms;   /* range checked by the coordinator */
    int32_t rebalance_timeout_ms; /* -1: session_timeout_ms */
    struct proto_str *strategies; /* preference order, unknown names ignored */
    uint32_t strategy_count;
    struct proto_str *topics; /* subscription by names; NULL when topics_nil */
    uint32_t topic_count;
    bool topics_nil;                      /* the wire value was nil: pattern subscription */
    struct proto_str pattern;             /* nil unless topics_nil (decoding checks: exactly one) */
    struct proto_topic_partitions *owned; /* partitions the member still holds */
    uint32_t owned_count;
};

struct proto_join_group_response {
    int32_t error;      /* rill_err; non-zero: the fields below are empty */
    int32_t generation; /* the member's generation from now on */
    struct proto_str member_id;
    struct proto_str strategy;                 /* the group's strategy; "" on error */
    struct proto_topic_partitions *assignment; /* may consume now */
    uint32_t assignment_count;
    struct proto_topic_partitions *revoke; /* give up (commit first), then rejoin */
    uint32_t revoke_count;
    int32_t heartbeat_interval_ms;
};

/* 11 HEARTBEAT, 12 LEAVE_GROUP (response: struct proto_group_error_response) */

struct proto_heartbeat_request {
    struct proto_str group;
    struct proto_str member_id;
    int32_t generation; /* from the member's last JOIN_GROUP response */
};

struct proto_leave_group_request {
    struct proto_str group;
    struct proto_str member_id;
};

struct proto_group_error_response {
    int32_t error;
};

/* 13 OFFSET_COMMIT */

struct proto_commit_partition {
    int32_t partition;
    int64_t offset;            /* the next offset to consume */
    struct proto_str metadata; /* nil or up to PROTO_COMMIT_METADATA_BYTES_MAX */
};

struct proto_commit_topic {
    struct proto_str name;
    struct proto_commit_partition *partitions;
    uint32_t partition_count;
};

struct proto_offset_commit_request {
    struct proto_str group;
    struct proto_str member_id; /* "" with generation PROTO_GENERATION_NONE: manual commit */
    int32_t generation;
    struct proto_commit_topic *topics;
    uint32_t topic_count;
};

struct proto_partition_error {
    int32_t partition;
    int32_t error;
};

struct proto_commit_topic_result {
    struct proto_str name;
    struct proto_partition_error *partitions;
    uint32_t partition_count;
};

struct proto_offset_commit_response {
    int32_t error; /* group-level; non-zero: nothing committed, topics empty */
    struct proto_commit_topic_result *topics;
    uint32_t topic_count;
};

/* 14 OFFSET_FETCH */

struct proto_offset_fetch_request {
    struct proto_str group;
    struct proto_str *topics;
    uint32_t topic_count;
    bool topics_all; /* the wire value was nil: every topic the group has commits for */
};

struct proto_committed_partition {
    int32_t partition;
    int64_t offset;            /* -1: nothing committed */
    struct proto_str metadata; /* nil when none */
};

struct proto_committed_topic {
    struct proto_str name;
    int32_t error; /* ERR_UNKNOWN_TOPIC, ... */
    struct proto_committed_partition *partitions;
    uint32_t partition_count;
};

struct proto_offset_fetch_response {
    int32_t error; /* group-level (ERR_INVALID_GROUP_ID); non-zero: topics empty */
    struct proto_committed_topic *topics;
    uint32_t topic_count;
};

/* 15 LIST_GROUPS */

struct proto_list_groups_request {
    struct proto_str *states; /* PROTO_GROUP_STATE_* names to list */
    uint32_t state_count;
    bool states_all; /* the wire value was nil: every group */
};

struct proto_group_listing {
    struct proto_str group;
    struct proto_str state; /* PROTO_GROUP_STATE_* */
    int32_t member_count;
};

struct proto_list_groups_response {
    struct proto_group_listing *groups;
    uint32_t group_count;
};

/* 16 DESCRIBE_GROUPS */

struct proto_describe_groups_request {
    struct proto_str *groups;
    uint32_t group_count;
};

struct proto_group_member {
    struct proto_str member_id;
    struct proto_str client_id;
    struct proto_str host; /* the member's address as the coordinator saw it */
    int32_t generation;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    struct proto_str *topics; /* subscription; NULL when topics_nil */
    uint32_t topic_count;
    bool topics_nil;
    struct proto_str pattern;                  /* nil unless topics_nil */
    struct proto_topic_partitions *assignment; /* held now, revoking included */
    uint32_t assignment_count;
    struct proto_topic_partitions *revoking; /* told to give up, not yet confirmed */
    uint32_t revoking_count;
};

struct proto_group_description {
    struct proto_str group;
    int32_t error;          /* ERR_UNKNOWN_GROUP, ERR_INVALID_GROUP_ID */
    struct proto_str state; /* PROTO_GROUP_STATE_*; "" on error */
    int32_t generation;
    struct proto_str strategy; /* "" when the group has no members */
    struct proto_group_member *members;
    uint32_t member_count;
};

struct proto_describe_groups_response {
    struct proto_group_description *groups;
    uint32_t group_count;
};

/* 17 DELETE_GROUPS (response: struct proto_topic_results, one [group, error, message?] each) */

struct proto_delete_groups_request {
    struct proto_str *groups;
    uint32_t group_count;
};

/* 18 RESET_OFFSETS */

#define PROTO_RESET_OFFSETS_LATEST   (-1) /* to the high watermark */
#define PROTO_RESET_OFFSETS_EARLIEST (-2) /* to the log start offset */
#define PROTO_RESET_OFFSETS_DELETE   (-3) /* remove the committed offset */

struct proto_reset_partition {
    int32_t partition;
    int64_t offset; /* >= 0, or PROTO_RESET_OFFSETS_* */
};

struct proto_reset_topic {
    struct proto_str name;
    struct proto_reset_partition *partitions;
    uint32_t partition_count;
};

struct proto_reset_offsets_request {
    struct proto_str group;
    struct proto_reset_topic *topics;
    uint32_t topic_count;
    bool validate_only; /* resolve and check, change nothing */
};

struct proto_reset_partition_result {
    int32_t partition;
    int32_t error;
    int64_t offset; /* the committed offset now (or that would be), -1 when none */
};

struct proto_reset_topic_result {
    struct proto_str name;
    struct proto_reset_partition_result *partitions;
    uint32_t partition_count;
};

struct proto_reset_offsets_response {
    int32_t error; /* ERR_GROUP_NOT_EMPTY, ERR_INVALID_GROUP_ID; non-zero: topics empty */
    struct proto_reset_topic_result *topics;
    uint32_t topic_count;
};

/*
 * Codecs. For each message M of the list below:
 *   rill_err proto_M_decode(struct mp_reader *reader, struct proto_arena *arena, struct T *out);
 *   rill_err proto_M_encode(struct mp_writer *writer, const struct T *message);
 * Specific decode errors beyond RILL_ERR_INVALID_REQUEST:
 *   produce_request: RILL_ERR_INVALID_ACKS when acks is not 0, 1 or -1 (the body was read).
 *   join_group_request: RILL_ERR_INVALID_REQUEST unless exactly one of topics and pattern is
 *   nil.
 *   any: RILL_ERR_NOMEM when the arena cannot allocate.
 */
#define PROTO_MESSAGES(X)                                                \
    X(handshake_request, struct proto_handshake_request)                 \
    X(handshake_response, struct proto_handshake_response)               \
    X(metadata_request, struct proto_metadata_request)                   \
    X(metadata_response, struct proto_metadata_response)                 \
    X(create_topics_request, struct proto_create_topics_request)         \
    X(create_topics_response, struct proto_topic_results)                \
    X(delete_topics_request, struct proto_delete_topics_request)         \
    X(delete_topics_response, struct proto_topic_results)                \
    X(describe_topics_request, struct proto_describe_topics_request)     \
    X(describe_topics_response, struct proto_describe_topics_response)   \
    X(alter_configs_request, struct proto_alter_configs_request)         \
    X(alter_configs_response, struct proto_topic_results)                \
    X(produce_request, struct proto_produce_request)                     \
    X(produce_response, struct proto_produce_response)                   \
    X(fetch_request, struct proto_fetch_request)                         \
    X(fetch_response, struct proto_fetch_response)                       \
    X(list_offsets_request, struct proto_list_offsets_request)           \
    X(list_offsets_response, struct proto_list_offsets_response)         \
    X(init_producer_id_request, struct proto_init_producer_id_request)   \
    X(init_producer_id_response, struct proto_init_producer_id_response) \
    X(join_group_request, struct proto_join_group_request)               \
    X(join_group_response, struct proto_join_group_response)             \
    X(heartbeat_request, struct proto_heartbeat_request)                 \
    X(heartbeat_response, struct proto_group_error_response)             \
    X(leave_group_request, struct proto_leave_group_request)             \
    X(leave_group_response, struct proto_group_error_response)           \
    X(offset_commit_request, struct proto_offset_commit_request)         \
    X(offset_commit_response, struct proto_offset_commit_response)       \
    X(offset_fetch_request, struct proto_offset_fetch_request)           \
    X(offset_fetch_response, struct proto_offset_fetch_response)         \
    X(list_groups_request, struct proto_list_groups_request)             \
    X(list_groups_response, struct proto_list_groups_response)           \
    X(describe_groups_request, struct proto_describe_groups_request)     \
    X(describe_groups_response, struct proto_describe_groups_response)   \
    X(delete_groups_request, struct proto_delete_groups_request)         \
    X(delete_groups_response, struct proto_topic_results)                \
    X(reset_offsets_request, struct proto_reset_offsets_request)         \
    X(reset_offsets_response, struct proto_reset_offsets_response)

#define PROTO_DECLARE_CODEC_(name, type)                                                  \
    RILL_MUST_CHECK rill_err proto_##name##_decode(struct mp_reader *reader,              \
                                                   struct proto_arena *arena, type *out); \
    RILL_MUST_CHECK rill_err proto_##name##_encode(struct mp_writer *writer, const type *message);
PROTO_MESSAGES(PROTO_DECLARE_CODEC_)
#undef PROTO_DECLARE_CODEC_

/* Any request or response body, by api, for dispatch. */
union proto_request {
    struct proto_handshake_request handshake;
    struct proto_metadata_request metadata;
    struct proto_create_topics_request create_topics;
    struct proto_delete_topics_request delete_topics;
    struct proto_describe_topics_request describe_topics;
    struct proto_alter_configs_request alter_configs;
    struct proto_produce_request produce;
    struct proto_fetch_request fetch;
    struct proto_list_offsets_request list_offsets;
    struct proto_init_producer_id_request init_producer_id;
    struct proto_join_group_request join_group;
    struct proto_heartbeat_request heartbeat;
    struct proto_leave_group_request leave_group;
    struct proto_offset_commit_request offset_commit;
    struct proto_offset_fetch_request offset_fetch;
    struct proto_list_groups_request list_groups;
    struct proto_describe_groups_request describe_groups;
    struct proto_delete_groups_request delete_groups;
    struct proto_reset_offsets_request reset_offsets;
};

union proto_response {
    struct proto_handshake_response handshake;
    struct proto_metadata_response metadata;
    struct proto_topic_results create_topics;
    struct proto_topic_results delete_topics;
    struct proto_describe_topics_response describe_topics;
    struct proto_topic_results alter_configs;
    struct proto_produce_response produce;
    struct proto_fetch_response fetch;
    struct proto_list_offsets_response list_offsets;
    struct proto_init_producer_id_response init_producer_id;
    struct proto_join_group_response join_group;
    struct proto_group_error_response heartbeat;
    struct proto_group_error_response leave_group;
    struct proto_offset_commit_response offset_commit;
    struct proto_offset_fetch_response offset_fetch;
    struct proto_list_groups_response list_groups;
    struct proto_describe_groups_response describe_groups;
    struct proto_topic_results delete_groups;
    struct proto_reset_offsets_response reset_offsets;
};

/* Decodes the request body of api (the member of out named after it) and requires the reader
 * to be at its end afterwards: bytes after the body are RILL_ERR_INVALID_REQUEST. An unknown
 * api is RILL_ERR_UNSUPPORTED_API (the version is the caller's, see proto_api_supported()). */
RILL_MUST_CHECK rill_err proto_request_body_decode(uint32_t api,
                                                   struct mp_reader *reader,
                                                   struct proto_arena *arena,
                                                   union proto_request *out);

/* Same for response bodies (the client side). */
RILL_MUST_CHECK rill_err proto_response_body_decode(uint32_t api,
                                                    struct mp_reader *reader,
                                                    struct proto_arena *arena,
                                                    union proto_response *out);

/* Encodes the request or response body of api from the member named after it. */
RILL_MUST_CHECK rill_err proto_request_body_encode(uint32_t api,
                                                   struct mp_writer *writer,
                                                   const union proto_request *request);
RILL_MUST_CHECK rill_err proto_response_body_encode(uint32_t api,
                                                    struct mp_writer *writer,
                                                    const union proto_response *response);

/*
 * A FETCH response body written in pieces, so that batches can be read from disk straight into
 * the frame: proto_fetch_response_begin, then per topic proto_fetch_topic_begin, then per
 * partition proto_fetch_partition_begin (its fields, batches as a bin32 header whose length is
 * patched later) followed by the batch bytes (mp_writer_claim) and proto_fetch_partition_end
 * with their length. The bytes equal proto_response_body_encode's except that every batches
 * field is a bin32 (msgpack allows any width). False with writer->err on failure.
 */
bool proto_fetch_response_begin(struct mp_writer *writer, uint32_t topic_count);
bool proto_fetch_topic_begin(struct mp_writer *writer,
                             const struct proto_str *name,
                             uint32_t partition_count);
/* part->batches is ignored; *out_bin_position is what proto_fetch_partition_end takes. */
bool proto_fetch_partition_begin(struct mp_writer *writer,
                                 const struct proto_fetch_partition_result *part,
                                 size_t *out_bin_position);
/* Ends the partition begun at bin_position: its batches are the bytes written since. */
void proto_fetch_partition_end(struct mp_writer *writer, size_t bin_position);

/*
 * Zero-copy fetch response. Encodes response like proto_fetch_response_encode() except that a
 * partition's batch bytes are not copied: for each partition with batches.bytes > 0 it writes
 * a bin32 header (0xc6 + u32 batches.bytes), ignores batches.ptr and appends a splice telling
 * where those bytes go. The bytes on the wire are then
 *   writer->data[0, splices[0].position) + partition bytes of splices[0]
 *   + writer->data[splices[0].position, splices[1].position) + ... + the rest of writer->data.
 * Splices come in wire order. Call proto_frame_end_spliced(writer, *out_spliced_bytes) to end
 * the frame. RILL_ERR_FULL when more than splice_capacity partitions carry bytes.
 */
struct proto_fetch_splice {
    size_t position;          /* offset in writer->data where the raw bytes go */
    uint32_t topic_index;     /* into response->topics */
    uint32_t partition_index; /* into that topic's partitions */
    uint32_t bytes;           /* batches.bytes of that partition */
};

RILL_MUST_CHECK rill_err
proto_fetch_response_encode_spliced(struct mp_writer *writer,
                                    const struct proto_fetch_response *response,
                                    struct proto_fetch_splice *splices,
                                    uint32_t splice_capacity,
                                    uint32_t *out_splice_count,
                                    uint64_t *out_spliced_bytes);

/* Topic name rule of docs/protocol.md: 1..RILL_TOPIC_NAME_BYTES_MAX bytes of [a-zA-Z0-9._-],
 * not "." or "..", not starting with "__" (internal topics; allow_internal lifts that). */
bool proto_topic_name_valid(const char *name, size_t name_bytes, bool allow_internal);

/* Group id rule of docs/protocol.md: 1..PROTO_GROUP_ID_BYTES_MAX bytes of [a-zA-Z0-9._-], not
 * "." or ".." (names starting with "__" are allowed). */
bool proto_group_id_valid(const char *group, size_t group_bytes);

#endif
