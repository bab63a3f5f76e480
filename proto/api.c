/*
 * api.c - the schemas of the API bodies (docs/protocol.md, "APIs" and "Consumer groups"),
 * their typed codecs, the per-api dispatch, the zero-copy fetch response encoder and the topic
 * name and group id rules. Each
 * schema lists the fields in wire order; keep it next to the struct order of api.h and the
 * spec.
 */
#include "proto/api.h"

#include <string.h>

#include "common/assert.h"
#include "common/limits.h"
#include "proto/schema.h"

#define FIELD(kind, type, member)                              \
    {                                                          \
        PROTO_FIELD_##kind, offsetof(type, member), 0, 0, NULL \
    }
#define LIST(kind, type, member, count_member)                                            \
    {                                                                                     \
        PROTO_FIELD_##kind, offsetof(type, member), offsetof(type, count_member), 0, NULL \
    }
#define LIST_OR_NIL(kind, type, member, count_member, nil_member)                 \
    {                                                                             \
        PROTO_FIELD_##kind, offsetof(type, member), offsetof(type, count_member), \
            offsetof(type, nil_member), NULL                                      \
    }
#define ARRAY(type, member, count_member, element_schema)                           \
    {                                                                               \
        PROTO_FIELD_ARRAY, offsetof(type, member), offsetof(type, count_member), 0, \
            &element_schema                                                         \
    }
#define SCHEMA(name, type)                                                                    \
    static const struct proto_schema name = { name##_fields, RILL_ARRAY_COUNT(name##_fields), \
                                              sizeof(type) }

/* Shared: [name, error, message?] and [results[]]. */
static const struct proto_field topic_result_fields[] = {
    FIELD(STR, struct proto_topic_result, name),
    FIELD(INT32, struct proto_topic_result, error),
    FIELD(STR_OR_NIL, struct proto_topic_result, message),
};
SCHEMA(topic_result, struct proto_topic_result);
static const struct proto_field topic_results_fields[] = {
    ARRAY(struct proto_topic_results, results, result_count, topic_result),
};
SCHEMA(topic_results, struct proto_topic_results);

/* 0 HANDSHAKE */
static const struct proto_field handshake_request_fields[] = {
    FIELD(STR, struct proto_handshake_request, client_name),
    FIELD(STR, struct proto_handshake_request, client_version),
};
SCHEMA(handshake_request, struct proto_handshake_request);
static const struct proto_field api_range_fields[] = {
    FIELD(UINT32, struct proto_api_range, api),
    FIELD(UINT32, struct proto_api_range, version_min),
    FIELD(UINT32, struct proto_api_range, version_max),
};
SCHEMA(api_range, struct proto_api_range);
static const struct proto_field handshake_response_fields[] = {
    FIELD(INT32, struct proto_handshake_response, broker_id),
    FIELD(STR, struct proto_handshake_response, cluster_id),
    FIELD(STR, struct proto_handshake_response, broker_version),
    ARRAY(struct proto_handshake_response, apis, api_count, api_range),
};
SCHEMA(handshake_response, struct proto_handshake_response);

/* 1 METADATA */
static const struct proto_field metadata_request_fields[] = {
    LIST_OR_NIL(STR_ARRAY_OR_NIL, struct proto_metadata_request, topics, topic_count, topics_all),
    FIELD(BOOL, struct proto_metadata_request, allow_auto_create),
};
SCHEMA(metadata_request, struct proto_metadata_request);
static const struct proto_field broker_fields[] = {
    FIELD(INT32, struct proto_broker, id),
    FIELD(STR, struct proto_broker, host),
    FIELD(UINT32, struct proto_broker, port),
};
SCHEMA(broker, struct proto_broker);
static const struct proto_field metadata_partition_fields[] = {
    FIELD(INT32, struct proto_metadata_partition, partition),
    FIELD(INT32, struct proto_metadata_partition, leader),
    LIST(INT32_ARRAY, struct proto_metadata_partition, replicas, replica_count),
    LIST(INT32_ARRAY, struct proto_metadata_partition, isr, isr_count),
};
SCHEMA(metadata_partition, struct proto_metadata_partition);
static const struct proto_field metadata_topic_fields[] = {
    FIELD(STR, struct proto_metadata_topic, name),
    FIELD(INT32, struct proto_metadata_topic, error),
    ARRAY(struct proto_metadata_topic, partitions, partition_count, metadata_partition),
};
SCHEMA(metadata_topic, struct proto_metadata_topic);
static const struct proto_field metadata_response_fields[] = {
    ARRAY(struct proto_metadata_response, brokers, broker_count, broker),
    FIELD(INT32, struct proto_metadata_response, controller_id),
    ARRAY(struct proto_metadata_response, topics, topic_count, metadata_topic),
};
SCHEMA(metadata_response, struct proto_metadata_response);

/* 2 CREATE_TOPICS */
static const struct proto_field create_topic_fields[] = {
    FIELD(STR, struct proto_create_topic, name),
    FIELD(INT32, struct proto_create_topic, partitions),
    FIELD(INT32, struct proto_create_topic, replication_factor),
    LIST(CONFIGS, struct proto_create_topic, configs, config_count),
};
SCHEMA(create_topic, struct proto_create_topic);
static const struct proto_field create_topics_request_fields[] = {
    ARRAY(struct proto_create_topics_request, topics, topic_count, create_topic),
    FIELD(BOOL, struct proto_create_topics_request, validate_only),
};
SCHEMA(create_topics_request, struct proto_create_topics_request);

/* 3 DELETE_TOPICS */
static const struct proto_field delete_topics_request_fields[] = {
    LIST(STR_ARRAY, struct proto_delete_topics_request, names, name_count),
};
SCHEMA(delete_topics_request, struct proto_delete_topics_request);

/* 4 DESCRIBE_TOPICS */
static const struct proto_field describe_topics_request_fields[] = {
    LIST_OR_NIL(
        STR_ARRAY_OR_NIL, struct proto_describe_topics_request, names, name_count, names_all),
};
SCHEMA(describe_topics_request, struct proto_describe_topics_request);
static const struct proto_field describe_partition_fields[] = {
    FIELD(INT32, struct proto_describe_partition, partition),
    FIELD(INT64, struct proto_describe_partition, start_offset),
    FIELD(INT64, struct proto_describe_partition, end_offset),
    FIELD(INT64, struct proto_describe_partition, durable_offset),
    FIELD(UINT64, struct proto_describe_partition, size_bytes),
    FIELD(UINT64, struct proto_describe_partition, segment_count),
};
SCHEMA(describe_partition, struct proto_describe_partition);
static const struct proto_field describe_topic_fields[] = {
    FIELD(STR, struct proto_describe_topic, name),
    FIELD(INT32, struct proto_describe_topic, error),
    FIELD(STR_OR_NIL, struct proto_describe_topic, message),
    LIST(CONFIGS, struct proto_describe_topic, configs, config_count),
    ARRAY(struct proto_describe_topic, partitions, partition_count, describe_partition),
};
SCHEMA(describe_topic, struct proto_describe_topic);
static const struct proto_field describe_topics_response_fields[] = {
    ARRAY(struct proto_describe_topics_response, topics, topic_count, describe_topic),
};
SCHEMA(describe_topics_response, struct proto_describe_topics_response);

/* 5 ALTER_CONFIGS */
static const struct proto_field alter_topic_fields[] = {
    FIELD(STR, struct proto_alter_topic, name),
    LIST(CONFIGS_NIL_VALUE, struct proto_alter_topic, configs, config_count),
};
SCHEMA(alter_topic, struct proto_alter_topic);
static const struct proto_field alter_configs_request_fields[] = {
    ARRAY(struct proto_alter_configs_request, topics, topic_count, alter_topic),
};
SCHEMA(alter_configs_request, struct proto_alter_configs_request);

/* 6 PRODUCE */
static const struct proto_field produce_partition_fields[] = {
    FIELD(INT32, struct proto_produce_partition, partition),
    FIELD(BIN, struct proto_produce_partition, batches),
};
SCHEMA(produce_partition, struct proto_produce_partition);
static const struct proto_field produce_topic_fields[] = {
    FIELD(STR, struct proto_produce_topic, name),
    ARRAY(struct proto_produce_topic, partitions, partition_count, produce_partition),
};
SCHEMA(produce_topic, struct proto_produce_topic);
static const struct proto_field produce_request_fields[] = {
    FIELD(INT32, struct proto_produce_request, acks),
    FIELD(INT32, struct proto_produce_request, timeout_ms),
    ARRAY(struct proto_produce_request, topics, topic_count, produce_topic),
};
SCHEMA(produce_request, struct proto_produce_request);
static const struct proto_field produce_partition_result_fields[] = {
    FIELD(INT32, struct proto_produce_partition_result, partition),
    FIELD(INT32, struct proto_produce_partition_result, error),
    FIELD(STR_OR_NIL, struct proto_produce_partition_result, message),
    FIELD(INT64, struct proto_produce_partition_result, base_offset),
    FIELD(INT64, struct proto_produce_partition_result, log_start_offset),
};
SCHEMA(produce_partition_result, struct proto_produce_partition_result);
static const struct proto_field produce_topic_result_fields[] = {
    FIELD(STR, struct proto_produce_topic_result, name),
    ARRAY(struct proto_produce_topic_result, partitions, partition_count, produce_partition_result),
};
SCHEMA(produce_topic_result, struct proto_produce_topic_result);
static const struct proto_field produce_response_fields[] = {
    ARRAY(struct proto_produce_response, topics, topic_count, produce_topic_result),
};
SCHEMA(produce_response, struct proto_produce_response);

/* 7 FETCH */
static const struct proto_field fetch_partition_fields[] = {
    FIELD(INT32, struct proto_fetch_partition, partition),
    FIELD(INT64, struct proto_fetch_partition, offset),
    FIELD(INT32, struct proto_fetch_partition, partition_max_bytes),
};
SCHEMA(fetch_partition, struct proto_fetch_partition);
static const struct proto_field fetch_topic_fields[] = {
    FIELD(STR, struct proto_fetch_topic, name),
    ARRAY(struct proto_fetch_topic, partitions, partition_count, fetch_partition),
};
SCHEMA(fetch_topic, struct proto_fetch_topic);
static const struct proto_field fetch_request_fields[] = {
    FIELD(INT32, struct proto_fetch_request, max_wait_ms),
    FIELD(INT32, struct proto_fetch_request, min_bytes),
    FIELD(INT32, struct proto_fetch_request, max_bytes),
    ARRAY(struct proto_fetch_request, topics, topic_count, fetch_topic),
};
SCHEMA(fetch_request, struct proto_fetch_request);
static const struct proto_field fetch_partition_result_fields[] = {
    FIELD(INT32, struct proto_fetch_partition_result, partition),
    FIELD(INT32, struct proto_fetch_partition_result, error),
    FIELD(INT64, struct proto_fetch_partition_result, high_watermark),
    FIELD(INT64, struct proto_fetch_partition_result, log_start_offset),
    FIELD(BIN, struct proto_fetch_partition_result, batches),
};
SCHEMA(fetch_partition_result, struct proto_fetch_partition_result);
static const struct proto_field fetch_topic_result_fields[] = {
    FIELD(STR, struct proto_fetch_topic_result, name),
    ARRAY(struct proto_fetch_topic_result, partitions, partition_count, fetch_partition_result),
};
SCHEMA(fetch_topic_result, struct proto_fetch_topic_result);
static const struct proto_field fetch_response_fields[] = {
    ARRAY(struct proto_fetch_response, topics, topic_count, fetch_topic_result),
};
SCHEMA(fetch_response, struct proto_fetch_response);

/* 8 LIST_OFFSETS */
static const struct proto_field list_offsets_partition_fields[] = {
    FIELD(INT32, struct proto_list_offsets_partition, partition),
    FIELD(INT64, struct proto_list_offsets_partition, timestamp),
};
SCHEMA(list_offsets_partition, struct proto_list_offsets_partition);
static const struct proto_field list_offsets_topic_fields[] = {
    FIELD(STR, struct proto_list_offsets_topic, name),
    ARRAY(struct proto_list_offsets_topic, partitions, partition_count, list_offsets_partition),
};
SCHEMA(list_offsets_topic, struct proto_list_offsets_topic);
static const struct proto_field list_offsets_request_fields[] = {
    ARRAY(struct proto_list_offsets_request, topics, topic_count, list_offsets_topic),
};
SCHEMA(list_offsets_request, struct proto_list_offsets_request);
static const struct proto_field list_offsets_partition_result_fields[] = {
    FIELD(INT32, struct proto_list_offsets_partition_result, partition),
    FIELD(INT32, struct proto_list_offsets_partition_result, error),
    FIELD(INT64, struct proto_list_offsets_partition_result, timestamp),
    FIELD(INT64, struct proto_list_offsets_partition_result, offset),
};
SCHEMA(list_offsets_partition_result, struct proto_list_offsets_partition_result);
static const struct proto_field list_offsets_topic_result_fields[] = {
    FIELD(STR, struct proto_list_offsets_topic_result, name),
    ARRAY(struct proto_list_offsets_topic_result,
          partitions,
          partition_count,
          list_offsets_partition_result),
};
SCHEMA(list_offsets_topic_result, struct proto_list_offsets_topic_result);
static const struct proto_field list_offsets_response_fields[] = {
    ARRAY(struct proto_list_offsets_response, topics, topic_count, list_offsets_topic_result),
};
SCHEMA(list_offsets_response, struct proto_list_offsets_response);

/* 9 INIT_PRODUCER_ID */
static const struct proto_field init_producer_id_request_fields[] = {
    FIELD(STR_OR_NIL, struct proto_init_producer_id_request, transactional_id),
    FIELD(INT32, struct proto_init_producer_id_request, timeout_ms),
};
SCHEMA(init_producer_id_request, struct proto_init_producer_id_request);
static const struct proto_field init_producer_id_response_fields[] = {
    FIELD(INT32, struct proto_init_producer_id_response, error),
    FIELD(INT64, struct proto_init_producer_id_response, producer_id),
    FIELD(INT32, struct proto_init_producer_id_response, producer_epoch),
};
SCHEMA(init_producer_id_response, struct proto_init_producer_id_response);

/* Consumer groups, shared: [topic, partitions: int[]] */
static const struct proto_field topic_partitions_fields[] = {
    FIELD(STR, struct proto_topic_partitions, topic),
    LIST(INT32_ARRAY, struct proto_topic_partitions, partitions, partition_count),
};
SCHEMA(topic_partitions, struct proto_topic_partitions);
static const struct proto_field group_error_response_fields[] = {
    FIELD(INT32, struct proto_group_error_response, error),
};
SCHEMA(group_error_response, struct proto_group_error_response);

/* 10 JOIN_GROUP */
static const struct proto_field join_group_request_fields[] = {
    FIELD(STR, struct proto_join_group_request, group),
    FIELD(STR, struct proto_join_group_request, member_id),
    FIELD(STR, struct proto_join_group_request, client_id),
    FIELD(INT32, struct proto_join_group_request, session_timeout_ms),
    FIELD(INT32, struct proto_join_group_request, rebalance_timeout_ms),
    LIST(STR_ARRAY, struct proto_join_group_request, strategies, strategy_count),
    LIST_OR_NIL(STR_ARRAY_OR_NIL, struct proto_join_group_request, topics, topic_count, topics_nil),
    FIELD(STR_OR_NIL, struct proto_join_group_request, pattern),
    ARRAY(struct proto_join_group_request, owned, owned_count, topic_partitions),
};
SCHEMA(join_group_request, struct proto_join_group_request);
static const struct proto_field join_group_response_fields[] = {
    FIELD(INT32, struct proto_join_group_response, error),
    FIELD(INT32, struct proto_join_group_response, generation),
    FIELD(STR, struct proto_join_group_response, member_id),
    FIELD(STR, struct proto_join_group_response, strategy),
    ARRAY(struct proto_join_group_response, assignment, assignment_count, topic_partitions),
    ARRAY(struct proto_join_group_response, revoke, revoke_count, topic_partitions),
    FIELD(INT32, struct proto_join_group_response, heartbeat_interval_ms),
};
SCHEMA(join_group_response, struct proto_join_group_response);

/* 11 HEARTBEAT */
static const struct proto_field heartbeat_request_fields[] = {
    FIELD(STR, struct proto_heartbeat_request, group),
    FIELD(STR, struct proto_heartbeat_request, member_id),
    FIELD(INT32, struct proto_heartbeat_request, generation),
};
SCHEMA(heartbeat_request, struct proto_heartbeat_request);

/* 12 LEAVE_GROUP */
static const struct proto_field leave_group_request_fields[] = {
    FIELD(STR, struct proto_leave_group_request, group),
    FIELD(STR, struct proto_leave_group_request, member_id),
};
SCHEMA(leave_group_request, struct proto_leave_group_request);

/* 13 OFFSET_COMMIT */
static const struct proto_field commit_partition_fields[] = {
    FIELD(INT32, struct proto_commit_partition, partition),
    FIELD(INT64, struct proto_commit_partition, offset),
    FIELD(STR_OR_NIL, struct proto_commit_partition, metadata),
};
SCHEMA(commit_partition, struct proto_commit_partition);
static const struct proto_field commit_topic_fields[] = {
    FIELD(STR, struct proto_commit_topic, name),
    ARRAY(struct proto_commit_topic, partitions, partition_count, commit_partition),
};
SCHEMA(commit_topic, struct proto_commit_topic);
static const struct proto_field offset_commit_request_fields[] = {
    FIELD(STR, struct proto_offset_commit_request, group),
    FIELD(STR, struct proto_offset_commit_request, member_id),
    FIELD(INT32, struct proto_offset_commit_request, generation),
    ARRAY(struct proto_offset_commit_request, topics, topic_count, commit_topic),
};
SCHEMA(offset_commit_request, struct proto_offset_commit_request);
static const struct proto_field partition_error_fields[] = {
    FIELD(INT32, struct proto_partition_error, partition),
    FIELD(INT32, struct proto_partition_error, error),
};
SCHEMA(partition_error, struct proto_partition_error);
static const struct proto_field commit_topic_result_fields[] = {
    FIELD(STR, struct proto_commit_topic_result, name),
    ARRAY(struct proto_commit_topic_result, partitions, partition_count, partition_error),
};
SCHEMA(commit_topic_result, struct proto_commit_topic_result);
static const struct proto_field offset_commit_response_fields[] = {
    FIELD(INT32, struct proto_offset_commit_response, error),
    ARRAY(struct proto_offset_commit_response, topics, topic_count, commit_topic_result),
};
SCHEMA(offset_commit_response, struct proto_offset_commit_response);

/* 14 OFFSET_FETCH */
static const struct proto_field offset_fetch_request_fields[] = {
    FIELD(STR, struct proto_offset_fetch_request, group),
    LIST_OR_NIL(
        STR_ARRAY_OR_NIL, struct proto_offset_fetch_request, topics, topic_count, topics_all),
};
SCHEMA(offset_fetch_request, struct proto_offset_fetch_request);
static const struct proto_field committed_partition_fields[] = {
    FIELD(INT32, struct proto_committed_partition, partition),
    FIELD(INT64, struct proto_committed_partition, offset),
    FIELD(STR_OR_NIL, struct proto_committed_partition, metadata),
};
SCHEMA(committed_partition, struct proto_committed_partition);
static const struct proto_field committed_topic_fields[] = {
    FIELD(STR, struct proto_committed_topic, name),
    FIELD(INT32, struct proto_committed_topic, error),
    ARRAY(struct proto_committed_topic, partitions, partition_count, committed_partition),
};
SCHEMA(committed_topic, struct proto_committed_topic);
static const struct proto_field offset_fetch_response_fields[] = {
    FIELD(INT32, struct proto_offset_fetch_response, error),
    ARRAY(struct proto_offset_fetch_response, topics, topic_count, committed_topic),
};
SCHEMA(offset_fetch_response, struct proto_offset_fetch_response);

/* 15 LIST_GROUPS */
static const struct proto_field list_groups_request_fields[] = {
    LIST_OR_NIL(
        STR_ARRAY_OR_NIL, struct proto_list_groups_request, states, state_count, states_all),
};
SCHEMA(list_groups_request, struct proto_list_groups_request);
static const struct proto_field group_listing_fields[] = {
    FIELD(STR, struct proto_group_listing, group),
    FIELD(STR, struct proto_group_listing, state),
    FIELD(INT32, struct proto_group_listing, member_count),
};
SCHEMA(group_listing, struct proto_group_listing);
static const struct proto_field list_groups_response_fields[] = {
    ARRAY(struct proto_list_groups_response, groups, group_count, group_listing),
};
SCHEMA(list_groups_response, struct proto_list_groups_response);

/* 16 DESCRIBE_GROUPS */
static const struct proto_field describe_groups_request_fields[] = {
    LIST(STR_ARRAY, struct proto_describe_groups_request, groups, group_count),
};
SCHEMA(describe_groups_request, struct proto_describe_groups_request);
static const struct proto_field group_member_fields[] = {
    FIELD(STR, struct proto_group_member, member_id),
    FIELD(STR, struct proto_group_member, client_id),
    FIELD(STR, struct proto_group_member, host),
    FIELD(INT32, struct proto_group_member, generation),
    FIELD(INT32, struct proto_group_member, session_timeout_ms),
    FIELD(INT32, struct proto_group_member, rebalance_timeout_ms),
    LIST_OR_NIL(STR_ARRAY_OR_NIL, struct proto_group_member, topics, topic_count, topics_nil),
    FIELD(STR_OR_NIL, struct proto_group_member, pattern),
    ARRAY(struct proto_group_member, assignment, assignment_count, topic_partitions),
    ARRAY(struct proto_group_member, revoking, revoking_count, topic_partitions),
};
SCHEMA(group_member, struct proto_group_member);
static const struct proto_field group_description_fields[] = {
    FIELD(STR, struct proto_group_description, group),
    FIELD(INT32, struct proto_group_description, error),
    FIELD(STR, struct proto_group_description, state),
    FIELD(INT32, struct proto_group_description, generation),
    FIELD(STR, struct proto_group_description, strategy),
    ARRAY(struct proto_group_description, members, member_count, group_member),
};
SCHEMA(group_description, struct proto_group_description);
static const struct proto_field describe_groups_response_fields[] = {
    ARRAY(struct proto_describe_groups_response, groups, group_count, group_description),
};
SCHEMA(describe_groups_response, struct proto_describe_groups_response);

/* 17 DELETE_GROUPS (response: topic_results) */
static const struct proto_field delete_groups_request_fields[] = {
    LIST(STR_ARRAY, struct proto_delete_groups_request, groups, group_count),
};
SCHEMA(delete_groups_request, struct proto_delete_groups_request);

/* 18 RESET_OFFSETS */
static const struct proto_field reset_partition_fields[] = {
    FIELD(INT32, struct proto_reset_partition, partition),
    FIELD(INT64, struct proto_reset_partition, offset),
};
SCHEMA(reset_partition, struct proto_reset_partition);
static const struct proto_field reset_topic_fields[] = {
    FIELD(STR, struct proto_reset_topic, name),
    ARRAY(struct proto_reset_topic, partitions, partition_count, reset_partition),
};
SCHEMA(reset_topic, struct proto_reset_topic);
static const struct proto_field reset_offsets_request_fields[] = {
    FIELD(STR, struct proto_reset_offsets_request, group),
    ARRAY(struct proto_reset_offsets_request, topics, topic_count, reset_topic),
    FIELD(BOOL, struct proto_reset_offsets_request, validate_only),
};
SCHEMA(reset_offsets_request, struct proto_reset_offsets_request);
static const struct proto_field reset_partition_result_fields[] = {
    FIELD(INT32, struct proto_reset_partition_result, partition),
    FIELD(INT32, struct proto_reset_partition_result, error),
    FIELD(INT64, struct proto_reset_partition_result, offset),
};
SCHEMA(reset_partition_result, struct proto_reset_partition_result);
static const struct proto_field reset_topic_result_fields[] = {
    FIELD(STR, struct proto_reset_topic_result, name),
    ARRAY(struct proto_reset_topic_result, partitions, partition_count, reset_partition_result),
};
SCHEMA(reset_topic_result, struct proto_reset_topic_result);
static const struct proto_field reset_offsets_response_fields[] = {
    FIELD(INT32, struct proto_reset_offsets_response, error),
    ARRAY(struct proto_reset_offsets_response, topics, topic_count, reset_topic_result),
};
SCHEMA(reset_offsets_response, struct proto_reset_offsets_response);

/* ---------------------------------------------------------------------------------------- */
/* Checks beyond the schema                                                                   */
/* ---------------------------------------------------------------------------------------- */

typedef rill_err (*message_check_fn)(void *message);

static rill_err produce_request_check(void *message)
{
    const struct proto_produce_request *request = message;
    if (request->timeout_ms < 0) {
        return RILL_ERR_INVALID_REQUEST;
    }
    if (request->acks != 0 && request->acks != 1 && request->acks != -1) {
        return RILL_ERR_INVALID_ACKS;
    }
    return RILL_OK;
}

static rill_err fetch_request_check(void *message)
{
    struct proto_fetch_request *request = message;
    if (request->max_wait_ms < 0 || request->min_bytes < 0 || request->max_bytes < 0) {
        return RILL_ERR_INVALID_REQUEST;
    }
    for (uint32_t i = 0; i < request->topic_count; i++) {
        const struct proto_fetch_topic *topic = &request->topics[i];
        for (uint32_t j = 0; j < topic->partition_count; j++) {
            if (topic->partitions[j].partition_max_bytes < 0) {
                return RILL_ERR_INVALID_REQUEST;
            }
        }
    }
    if (request->max_wait_ms > RILL_FETCH_WAIT_MS_MAX) {
        request->max_wait_ms = RILL_FETCH_WAIT_MS_MAX;
    }
    return RILL_OK;
}

static rill_err init_producer_id_request_check(void *message)
{
    const struct proto_init_producer_id_request *request = message;
    return request->timeout_ms < 0 ? RILL_ERR_INVALID_REQUEST : RILL_OK;
}

/* A subscription is by topic names or by pattern, never both nor neither. */
static rill_err join_group_request_check(void *message)
{
    const struct proto_join_group_request *request = message;
    bool has_pattern = request->pattern.ptr != NULL;
    return request->topics_nil == has_pattern ? RILL_OK : RILL_ERR_INVALID_REQUEST;
}

/* ---------------------------------------------------------------------------------------- */
/* Typed codecs and dispatch                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Bodies are decoded into a local buffer of this size first, so that out is written only on
 * success. */
#define MESSAGE_BYTES_MAX 256u
_Static_assert(sizeof(union proto_request) <= MESSAGE_BYTES_MAX, "request fits the buffer");
_Static_assert(sizeof(union proto_response) <= MESSAGE_BYTES_MAX, "response fits the buffer");

/* Decodes into a local copy, applies check, then writes out. */
static rill_err message_decode(const struct proto_schema *schema,
                               message_check_fn check,
                               struct mp_reader *reader,
                               struct proto_arena *arena,
                               void *out)
{
    _Alignas(max_align_t) uint8_t message[MESSAGE_BYTES_MAX];
    RILL_ASSERT(schema->struct_bytes <= sizeof(message));
    rill_err err = proto_schema_decode(schema, reader, arena, message);
    if (err == RILL_OK && check != NULL) {
        err = check(message);
    }
    if (err == RILL_OK) {
        memcpy(out, message, schema->struct_bytes);
    }
    return err;
}

#define MESSAGE_CODEC(name, type, schema, check)                                                   \
    rill_err proto_##name##_decode(struct mp_reader *reader, struct proto_arena *arena, type *out) \
    {                                                                                              \
        return message_decode(&schema, check, reader, arena, out);                                 \
    }                                                                                              \
    rill_err proto_##name##_encode(struct mp_writer *writer, const type *message)                  \
    {                                                                                              \
        return proto_schema_encode(&schema, writer, message);                                      \
    }

MESSAGE_CODEC(handshake_request, struct proto_handshake_request, handshake_request, NULL)
MESSAGE_CODEC(handshake_response, struct proto_handshake_response, handshake_response, NULL)
MESSAGE_CODEC(metadata_request, struct proto_metadata_request, metadata_request, NULL)
MESSAGE_CODEC(metadata_response, struct proto_metadata_response, metadata_response, NULL)
MESSAGE_CODEC(create_topics_request,
              struct proto_create_topics_request,
              create_topics_request,
              NULL)
MESSAGE_CODEC(create_topics_response, struct proto_topic_results, topic_results, NULL)
MESSAGE_CODEC(delete_topics_request,
              struct proto_delete_topics_request,
              delete_topics_request,
              NULL)
MESSAGE_CODEC(delete_topics_response, struct proto_topic_results, topic_results, NULL)
MESSAGE_CODEC(describe_topics_request,
              struct proto_describe_topics_request,
              describe_topics_request,
              NULL)
MESSAGE_CODEC(describe_topics_response,
              struct proto_describe_topics_response,
              describe_topics_response,
              NULL)
MESSAGE_CODEC(alter_configs_request,
              struct proto_alter_configs_request,
              alter_configs_request,
              NULL)
MESSAGE_CODEC(alter_configs_response, struct proto_topic_results, topic_results, NULL)
MESSAGE_CODEC(produce_request, struct proto_produce_request, produce_request, produce_request_check)
MESSAGE_CODEC(produce_response, struct proto_produce_response, produce_response, NULL)
MESSAGE_CODEC(fetch_request, struct proto_fetch_request, fetch_request, fetch_request_check)
MESSAGE_CODEC(fetch_response, struct proto_fetch_response, fetch_response, NULL)
MESSAGE_CODEC(list_offsets_request, struct proto_list_offsets_request, list_offsets_request, NULL)
MESSAGE_CODEC(list_offsets_response,
              struct proto_list_offsets_response,
              list_offsets_response,
              NULL)
MESSAGE_CODEC(init_producer_id_request,
              struct proto_init_producer_id_request,
              init_producer_id_request,
              init_producer_id_request_check)
MESSAGE_CODEC(init_producer_id_response,
              struct proto_init_producer_id_response,
              init_producer_id_response,
              NULL)
MESSAGE_CODEC(join_group_request,
              struct proto_join_group_request,
              join_group_request,
              join_group_request_check)
MESSAGE_CODEC(join_group_response, struct proto_join_group_response, join_group_response, NULL)
MESSAGE_CODEC(heartbeat_request, struct proto_heartbeat_request, heartbeat_request, NULL)
MESSAGE_CODEC(heartbeat_response, struct proto_group_error_response, group_error_response, NULL)
MESSAGE_CODEC(leave_group_request, struct proto_leave_group_request, leave_group_request, NULL)
MESSAGE_CODEC(leave_group_response, struct proto_group_error_response, group_error_response, NULL)
MESSAGE_CODEC(offset_commit_request,
              struct proto_offset_commit_request,
              offset_commit_request,
              NULL)
MESSAGE_CODEC(offset_commit_response,
              struct proto_offset_commit_response,
              offset_commit_response,
              NULL)
MESSAGE_CODEC(offset_fetch_request, struct proto_offset_fetch_request, offset_fetch_request, NULL)
MESSAGE_CODEC(offset_fetch_response,
              struct proto_offset_fetch_response,
              offset_fetch_response,
              NULL)
MESSAGE_CODEC(list_groups_request, struct proto_list_groups_request, list_groups_request, NULL)
MESSAGE_CODEC(list_groups_response, struct proto_list_groups_response, list_groups_response, NULL)
MESSAGE_CODEC(describe_groups_request,
              struct proto_describe_groups_request,
              describe_groups_request,
              NULL)
MESSAGE_CODEC(describe_groups_response,
              struct proto_describe_groups_response,
              describe_groups_response,
              NULL)
MESSAGE_CODEC(delete_groups_request,
              struct proto_delete_groups_request,
              delete_groups_request,
              NULL)
MESSAGE_CODEC(delete_groups_response, struct proto_topic_results, topic_results, NULL)
MESSAGE_CODEC(reset_offsets_request,
              struct proto_reset_offsets_request,
              reset_offsets_request,
              NULL)
MESSAGE_CODEC(reset_offsets_response,
              struct proto_reset_offsets_response,
              reset_offsets_response,
              NULL)

struct api_codecs {
    const struct proto_schema *request;
    message_check_fn request_check;
    const struct proto_schema *response;
};

static const struct api_codecs api_codecs[PROTO_API_COUNT] = {
    [PROTO_API_HANDSHAKE] = { &handshake_request, NULL, &handshake_response },
    [PROTO_API_METADATA] = { &metadata_request, NULL, &metadata_response },
    [PROTO_API_CREATE_TOPICS] = { &create_topics_request, NULL, &topic_results },
    [PROTO_API_DELETE_TOPICS] = { &delete_topics_request, NULL, &topic_results },
    [PROTO_API_DESCRIBE_TOPICS] = { &describe_topics_request, NULL, &describe_topics_response },
    [PROTO_API_ALTER_CONFIGS] = { &alter_configs_request, NULL, &topic_results },
    [PROTO_API_PRODUCE] = { &produce_request, produce_request_check, &produce_response },
    [PROTO_API_FETCH] = { &fetch_request, fetch_request_check, &fetch_response },
    [PROTO_API_LIST_OFFSETS] = { &list_offsets_request, NULL, &list_offsets_response },
    [PROTO_API_INIT_PRODUCER_ID] = { &init_producer_id_request, init_producer_id_request_check,
                                     &init_producer_id_response },
    [PROTO_API_JOIN_GROUP] = { &join_group_request, join_group_request_check,
                               &join_group_response },
    [PROTO_API_HEARTBEAT] = { &heartbeat_request, NULL, &group_error_response },
    [PROTO_API_LEAVE_GROUP] = { &leave_group_request, NULL, &group_error_response },
    [PROTO_API_OFFSET_COMMIT] = { &offset_commit_request, NULL, &offset_commit_response },
    [PROTO_API_OFFSET_FETCH] = { &offset_fetch_request, NULL, &offset_fetch_response },
    [PROTO_API_LIST_GROUPS] = { &list_groups_request, NULL, &list_groups_response },
    [PROTO_API_DESCRIBE_GROUPS] = { &describe_groups_request, NULL, &describe_groups_response },
    [PROTO_API_DELETE_GROUPS] = { &delete_groups_request, NULL, &topic_results },
    [PROTO_API_RESET_OFFSETS] = { &reset_offsets_request, NULL, &reset_offsets_response },
};

/* Decodes a whole body: nothing may follow it in the frame. */
static rill_err body_decode(const struct proto_schema *schema,
                            message_check_fn check,
                            struct mp_reader *reader,
                            struct proto_arena *arena,
                            void *out)
{
    _Alignas(max_align_t) uint8_t message[MESSAGE_BYTES_MAX];
    rill_err err = message_decode(schema, check, reader, arena, message);
    if (err == RILL_OK && mp_reader_remaining(reader) != 0) {
        mp_reader_fail(reader);
        err = RILL_ERR_INVALID_REQUEST;
    }
    if (err == RILL_OK) {
        memcpy(out, message, schema->struct_bytes);
    }
    return err;
}

rill_err proto_request_body_decode(uint32_t api,
                                   struct mp_reader *reader,
                                   struct proto_arena *arena,
                                   union proto_request *out)
{
    if (api >= PROTO_API_COUNT) {
        return RILL_ERR_UNSUPPORTED_API;
    }
    return body_decode(api_codecs[api].request, api_codecs[api].request_check, reader, arena, out);
}

rill_err proto_response_body_decode(uint32_t api,
                                    struct mp_reader *reader,
                                    struct proto_arena *arena,
                                    union proto_response *out)
{
    if (api >= PROTO_API_COUNT) {
        return RILL_ERR_UNSUPPORTED_API;
    }
    return body_decode(api_codecs[api].response, NULL, reader, arena, out);
}

rill_err proto_request_body_encode(uint32_t api,
                                   struct mp_writer *writer,
                                   const union proto_request *request)
{
    RILL_ASSERT(api < PROTO_API_COUNT);
    return proto_schema_encode(api_codecs[api].request, writer, request);
}

rill_err proto_response_body_encode(uint32_t api,
                                    struct mp_writer *writer,
                                    const union proto_response *response)
{
    RILL_ASSERT(api < PROTO_API_COUNT);
    return proto_schema_encode(api_codecs[api].response, writer, response);
}

/* ---------------------------------------------------------------------------------------- */
/* Zero-copy fetch response                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* The fields of one partition result, batches as a bin32 header only when it has bytes;
 * *out_position is where those bytes go. */
static rill_err fetch_partition_encode_spliced(struct mp_writer *writer,
                                               const struct proto_fetch_partition_result *part,
                                               size_t *out_position)
{
    if (!mp_write_array(writer, RILL_ARRAY_COUNT(fetch_partition_result_fields)) ||
        !mp_write_int(writer, part->partition) || !mp_write_int(writer, part->error) ||
        !mp_write_int(writer, part->high_watermark) ||
        !mp_write_int(writer, part->log_start_offset)) {
        return writer->err;
    }
    bool ok = part->batches.bytes == 0 ? mp_write_bin(writer, NULL, 0)
                                       : mp_write_bin_header(writer, part->batches.bytes);
    if (!ok) {
        return writer->err;
    }
    *out_position = writer->bytes;
    return RILL_OK;
}

rill_err proto_fetch_response_encode_spliced(struct mp_writer *writer,
                                             const struct proto_fetch_response *response,
                                             struct proto_fetch_splice *splices,
                                             uint32_t splice_capacity,
                                             uint32_t *out_splice_count,
                                             uint64_t *out_spliced_bytes)
{
    uint32_t splice_count = 0;
    uint64_t spliced_bytes = 0;
    if (!mp_write_array(writer, RILL_ARRAY_COUNT(fetch_response_fields)) ||
        !mp_write_array(writer, response->topic_count)) {
        return writer->err;
    }
    for (uint32_t topic_index = 0; topic_index < response->topic_count; topic_index++) {
        const struct proto_fetch_topic_result *topic = &response->topics[topic_index];
        if (!mp_write_array(writer, RILL_ARRAY_COUNT(fetch_topic_result_fields)) ||
            !mp_write_str(writer, topic->name.ptr != NULL ? topic->name.ptr : "",
                          topic->name.bytes) ||
            !mp_write_array(writer, topic->partition_count)) {
            return writer->err;
        }
        for (uint32_t index = 0; index < topic->partition_count; index++) {
            const struct proto_fetch_partition_result *part = &topic->partitions[index];
            size_t position = 0;
            if (part->batches.bytes > 0 && splice_count == splice_capacity) {
                return RILL_ERR_FULL;
            }
            rill_err err = fetch_partition_encode_spliced(writer, part, &position);
            if (err != RILL_OK) {
                return err;
            }
            if (part->batches.bytes > 0) {
                splices[splice_count] = (struct proto_fetch_splice){ .position = position,
                                                                     .topic_index = topic_index,
                                                                     .partition_index = index,
                                                                     .bytes = part->batches.bytes };
                spliced_bytes += part->batches.bytes;
                splice_count++;
            }
        }
    }
    *out_splice_count = splice_count;
    *out_spliced_bytes = spliced_bytes;
    return RILL_OK;
}

bool proto_fetch_response_begin(struct mp_writer *writer, uint32_t topic_count)
{
    return mp_write_array(writer, RILL_ARRAY_COUNT(fetch_response_fields)) &&
           mp_write_array(writer, topic_count);
}

bool proto_fetch_topic_begin(struct mp_writer *writer,
                             const struct proto_str *name,
                             uint32_t partition_count)
{
    return mp_write_array(writer, RILL_ARRAY_COUNT(fetch_topic_result_fields)) &&
           mp_write_str(writer, name->ptr != NULL ? name->ptr : "", name->bytes) &&
           mp_write_array(writer, partition_count);
}

bool proto_fetch_partition_begin(struct mp_writer *writer,
                                 const struct proto_fetch_partition_result *part,
                                 size_t *out_bin_position)
{
    if (!mp_write_array(writer, RILL_ARRAY_COUNT(fetch_partition_result_fields)) ||
        !mp_write_int(writer, part->partition) || !mp_write_int(writer, part->error) ||
        !mp_write_int(writer, part->high_watermark) ||
        !mp_write_int(writer, part->log_start_offset) || !mp_write_bin_header(writer, 0)) {
        return false;
    }
    *out_bin_position = writer->bytes;
    return true;
}

void proto_fetch_partition_end(struct mp_writer *writer, size_t bin_position)
{
    RILL_ASSERT(bin_position >= 4 && bin_position <= writer->bytes);
    size_t bytes = writer->bytes - bin_position;
    RILL_ASSERT(bytes <= UINT32_MAX);
    mp_writer_patch_u32(writer, bin_position - 4, (uint32_t)bytes);
}

bool proto_group_id_valid(const char *group, size_t group_bytes)
{
    return group_bytes <= PROTO_GROUP_ID_BYTES_MAX &&
           proto_topic_name_valid(group, group_bytes, true);
}

bool proto_topic_name_valid(const char *name, size_t name_bytes, bool allow_internal)
{
    if (name_bytes == 0 || name_bytes > RILL_TOPIC_NAME_BYTES_MAX) {
        return false;
    }
    if ((name_bytes == 1 && name[0] == '.') || (name_bytes == 2 && memcmp(name, "..", 2) == 0)) {
        return false;
    }
    if (!allow_internal && name_bytes >= 2 && name[0] == '_' && name[1] == '_') {
        return false;
    }
    for (size_t i = 0; i < name_bytes; i++) {
        char character = name[i];
        bool allowed = (character >= 'a' && character <= 'z') ||
                       (character >= 'A' && character <= 'Z') ||
                       (character >= '0' && character <= '9') || character == '.' ||
                       character == '_' || character == '-';
        if (!allowed) {
            return false;
        }
    }
    return true;
}
