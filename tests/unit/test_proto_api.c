/*
 * test_proto_api.c - the body codecs of proto/api.c: round trips of every request and response,
 * malformed bodies, limits, the zero-copy fetch encoder and topic names. With RILL_WRITE_CORPUS
 * set to a directory (tests/fuzz/corpus), the binary instead writes the seed corpora of
 * fuzz_proto_frame and fuzz_proto_response from these samples there.
 */
#include <msgpack.h>
#include <sys/stat.h>

#include "tests/harness.h"
#include "common/limits.h"
#include "proto/api.h"

#define STR(literal)                 \
    (struct proto_str)               \
    {                                \
        literal, sizeof(literal) - 1 \
    }
#define NIL_STR        \
    (struct proto_str) \
    {                  \
        NULL, 0        \
    }

static const uint8_t batch_bytes[] = {
    0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 'b', 'a', 't', 'c', 'h'
};

static struct proto_str sample_names[] = { { "orders", 6 }, { "payments.v2", 11 } };
static struct proto_config sample_configs[] = {
    { { "retention.ms", 12 }, { "1000", 4 } },
    { { "flush", 5 }, { "os", 2 } },
};
static struct proto_config sample_reset_configs[] = {
    { { "retention.ms", 12 }, { NULL, 0 } },
    { { "segment.bytes", 13 }, { "1048576", 7 } },
};

/* Consumer group samples: assignments, owned partitions, commits. */
static int32_t sample_partitions[] = { 0, 2, INT32_MAX };
static struct proto_topic_partitions sample_assignment[] = {
    { { "orders", 6 }, sample_partitions, 3 },
    { { "payments.v2", 11 }, sample_partitions + 1, 1 },
    { { "idle", 4 }, NULL, 0 },
};
static struct proto_str sample_strategies[] = { { "sticky", 6 }, { "range", 5 } };

static void sample_group_request(uint32_t api, union proto_request *out)
{
    static struct proto_commit_partition commit_partitions[3] = {
        { 0, 42, { NULL, 0 } },
        { 1, 0, { "host-a:7", 8 } },
        { 2, INT64_MAX, { "", 0 } },
    };
    static struct proto_commit_topic commit_topics[2] = {
        { { "orders", 6 }, commit_partitions, 3 },
        { { "empty", 5 }, NULL, 0 },
    };
    static struct proto_reset_partition reset_partitions[4] = {
        { 0, 17 },
        { 1, PROTO_RESET_OFFSETS_LATEST },
        { 2, PROTO_RESET_OFFSETS_EARLIEST },
        { 3, PROTO_RESET_OFFSETS_DELETE },
    };
    static struct proto_reset_topic reset_topics[1] = { { { "orders", 6 }, reset_partitions, 4 } };
    static struct proto_str states[1] = { { PROTO_GROUP_STATE_STABLE, 6 } };
    switch (api) {
    case PROTO_API_JOIN_GROUP:
        out->join_group = (struct proto_join_group_request){
            .group = STR("billing"),
            .member_id = STR(""),
            .client_id = STR("rill-consumer"),
            .session_timeout_ms = 10000,
            .rebalance_timeout_ms = -1,
            .strategies = sample_strategies,
            .strategy_count = 2,
            .topics = sample_names,
            .topic_count = 2,
            .pattern = NIL_STR,
            .owned = sample_assignment,
            .owned_count = 2,
        };
        break;
    case PROTO_API_HEARTBEAT:
        out->heartbeat = (struct proto_heartbeat_request){ STR("billing"), STR("m-1"), 7 };
        break;
    case PROTO_API_LEAVE_GROUP:
        out->leave_group = (struct proto_leave_group_request){ STR("billing"), STR("m-1") };
        break;
    case PROTO_API_OFFSET_COMMIT:
        out->offset_commit =
            (struct proto_offset_commit_request){ STR("billing"), STR("m-1"), 7, commit_topics, 2 };
        break;
    case PROTO_API_OFFSET_FETCH:
        out->offset_fetch =
            (struct proto_offset_fetch_request){ STR("billing"), sample_names, 2, false };
        break;
    case PROTO_API_LIST_GROUPS:
        out->list_groups = (struct proto_list_groups_request){ states, 1, false };
        break;
    case PROTO_API_DESCRIBE_GROUPS:
        out->describe_groups = (struct proto_describe_groups_request){ sample_names, 2 };
        break;
    case PROTO_API_DELETE_GROUPS:
        out->delete_groups = (struct proto_delete_groups_request){ sample_names, 1 };
        break;
    case PROTO_API_RESET_OFFSETS:
        out->reset_offsets =
            (struct proto_reset_offsets_request){ STR("billing"), reset_topics, 1, true };
        break;
    default:
        T_FAIL("no sample for api %u", api);
    }
}

static void sample_group_response(uint32_t api, union proto_response *out)
{
    static struct proto_partition_error commit_errors[2] = {
        { 0, 0 },
        { 1, RILL_ERR_OFFSET_REGRESSION },
    };
    static struct proto_commit_topic_result commit_topics[2] = {
        { { "orders", 6 }, commit_errors, 2 },
        { { "missing", 7 }, NULL, 0 },
    };
    static struct proto_committed_partition committed[2] = {
        { 0, 42, { "meta", 4 } },
        { 1, -1, { NULL, 0 } },
    };
    static struct proto_committed_topic committed_topics[2] = {
        { { "orders", 6 }, 0, committed, 2 },
        { { "missing", 7 }, RILL_ERR_UNKNOWN_TOPIC, NULL, 0 },
    };
    static struct proto_group_listing listings[2] = {
        { { "billing", 7 }, { PROTO_GROUP_STATE_STABLE, 6 }, 3 },
        { { "audit", 5 }, { PROTO_GROUP_STATE_EMPTY, 5 }, 0 },
    };
    static struct proto_group_member members[2] = {
        { { "m-1", 3 },
          { "rill-consumer", 13 },
          { "127.0.0.1:50000", 15 },
          7,
          10000,
          10000,
          sample_names,
          2,
          false,
          { NULL, 0 },
          sample_assignment,
          3,
          sample_assignment + 1,
          1 },
        { { "m-2", 3 },
          { "other", 5 },
          { "[::1]:1", 7 },
          6,
          6000,
          30000,
          NULL,
          0,
          true,
          { "orders\\..*", 10 },
          NULL,
          0,
          NULL,
          0 },
    };
    static struct proto_group_description groups[2] = {
        { { "billing", 7 },
          0,
          { PROTO_GROUP_STATE_REBALANCING, 11 },
          7,
          { "sticky", 6 },
          members,
          2 },
        { { "nope", 4 }, RILL_ERR_UNKNOWN_GROUP, { "", 0 }, -1, { "", 0 }, NULL, 0 },
    };
    static struct proto_topic_result delete_results[2] = {
        { { "billing", 7 }, RILL_ERR_GROUP_NOT_EMPTY, { "3 members", 9 } },
        { { "audit", 5 }, 0, { NULL, 0 } },
    };
    static struct proto_reset_partition_result reset_partitions[2] = {
        { 0, 0, 17 },
        { 5, RILL_ERR_UNKNOWN_PARTITION, -1 },
    };
    static struct proto_reset_topic_result reset_topics[1] = {
        { { "orders", 6 }, reset_partitions, 2 },
    };
    switch (api) {
    case PROTO_API_JOIN_GROUP:
        out->join_group = (struct proto_join_group_response){
            .error = 0,
            .generation = 7,
            .member_id = STR("rill-consumer-5f2c"),
            .strategy = STR("sticky"),
            .assignment = sample_assignment,
            .assignment_count = 2,
            .revoke = sample_assignment + 2,
            .revoke_count = 1,
            .heartbeat_interval_ms = 3333,
        };
        break;
    case PROTO_API_HEARTBEAT:
        out->heartbeat = (struct proto_group_error_response){ RILL_ERR_REBALANCE_IN_PROGRESS };
        break;
    case PROTO_API_LEAVE_GROUP:
        out->leave_group = (struct proto_group_error_response){ 0 };
        break;
    case PROTO_API_OFFSET_COMMIT:
        out->offset_commit = (struct proto_offset_commit_response){ 0, commit_topics, 2 };
        break;
    case PROTO_API_OFFSET_FETCH:
        out->offset_fetch = (struct proto_offset_fetch_response){ 0, committed_topics, 2 };
        break;
    case PROTO_API_LIST_GROUPS:
        out->list_groups = (struct proto_list_groups_response){ listings, 2 };
        break;
    case PROTO_API_DESCRIBE_GROUPS:
        out->describe_groups = (struct proto_describe_groups_response){ groups, 2 };
        break;
    case PROTO_API_DELETE_GROUPS:
        out->delete_groups = (struct proto_topic_results){ delete_results, 2 };
        break;
    case PROTO_API_RESET_OFFSETS:
        out->reset_offsets = (struct proto_reset_offsets_response){ 0, reset_topics, 1 };
        break;
    default:
        T_FAIL("no sample for api %u", api);
    }
}

static void sample_request(uint32_t api, union proto_request *out)
{
    static struct proto_create_topic create[2];
    static struct proto_alter_topic alter[1];
    static struct proto_produce_partition produce_partitions[2];
    static struct proto_produce_topic produce_topics[1];
    static struct proto_fetch_partition fetch_partitions[2];
    static struct proto_fetch_topic fetch_topics[2];
    static struct proto_list_offsets_partition list_partitions[3];
    static struct proto_list_offsets_topic list_topics[1];
    memset(out, 0, sizeof(*out));
    switch (api) {
    case PROTO_API_HANDSHAKE:
        out->handshake = (struct proto_handshake_request){ STR("rill-cli"), STR("0.1.0") };
        break;
    case PROTO_API_METADATA:
        out->metadata = (struct proto_metadata_request){ sample_names, 2, false, true };
        break;
    case PROTO_API_CREATE_TOPICS:
        create[0] = (struct proto_create_topic){ STR("orders"), 3, 1, sample_configs, 2 };
        create[1] = (struct proto_create_topic){ STR("empty"), 1, -1, NULL, 0 };
        out->create_topics = (struct proto_create_topics_request){ create, 2, true };
        break;
    case PROTO_API_DELETE_TOPICS:
        out->delete_topics = (struct proto_delete_topics_request){ sample_names, 2 };
        break;
    case PROTO_API_DESCRIBE_TOPICS:
        out->describe_topics = (struct proto_describe_topics_request){ NULL, 0, true };
        break;
    case PROTO_API_ALTER_CONFIGS:
        alter[0] = (struct proto_alter_topic){ STR("orders"), sample_reset_configs, 2 };
        out->alter_configs = (struct proto_alter_configs_request){ alter, 1 };
        break;
    case PROTO_API_PRODUCE:
        produce_partitions[0] = (struct proto_produce_partition){ 0, { batch_bytes, 17 } };
        produce_partitions[1] = (struct proto_produce_partition){ 7, { NULL, 0 } };
        produce_topics[0] = (struct proto_produce_topic){ STR("orders"), produce_partitions, 2 };
        out->produce = (struct proto_produce_request){ -1, 5000, produce_topics, 1 };
        break;
    case PROTO_API_FETCH:
        fetch_partitions[0] = (struct proto_fetch_partition){ 0, 0, 1 << 20 };
        fetch_partitions[1] = (struct proto_fetch_partition){ 1, INT64_MAX, 0 };
        fetch_topics[0] = (struct proto_fetch_topic){ STR("orders"), fetch_partitions, 2 };
        fetch_topics[1] = (struct proto_fetch_topic){ STR("none"), NULL, 0 };
        out->fetch = (struct proto_fetch_request){ 500, 1, 1 << 24, fetch_topics, 2 };
        break;
    case PROTO_API_LIST_OFFSETS:
        list_partitions[0] = (struct proto_list_offsets_partition){ 0, PROTO_LIST_OFFSETS_LATEST };
        list_partitions[1] =
            (struct proto_list_offsets_partition){ 1, PROTO_LIST_OFFSETS_EARLIEST };
        list_partitions[2] = (struct proto_list_offsets_partition){ 2, 1700000000000LL };
        list_topics[0] = (struct proto_list_offsets_topic){ STR("orders"), list_partitions, 3 };
        out->list_offsets = (struct proto_list_offsets_request){ list_topics, 1 };
        break;
    case PROTO_API_INIT_PRODUCER_ID:
        out->init_producer_id = (struct proto_init_producer_id_request){ NIL_STR, 30000 };
        break;
    default:
        sample_group_request(api, out);
    }
}

static struct proto_topic_result sample_results[] = {
    { { "orders", 6 }, 0, { NULL, 0 } },
    { { "__bad", 5 }, RILL_ERR_INVALID_TOPIC, { "reserved", 8 } },
};

static void sample_metadata_response(struct proto_metadata_response *out)
{
    static struct proto_broker brokers[1] = { { 1, { "127.0.0.1", 9 }, 9700 } };
    static int32_t replicas[1] = { 1 };
    static struct proto_metadata_partition partitions[2] = {
        { 0, 1, replicas, 1, replicas, 1 },
        { 1, 1, replicas, 1, NULL, 0 },
    };
    static struct proto_metadata_topic topics[2] = {
        { { "orders", 6 }, 0, partitions, 2 },
        { { "missing", 7 }, RILL_ERR_UNKNOWN_TOPIC, NULL, 0 },
    };
    *out = (struct proto_metadata_response){ brokers, 1, 1, topics, 2 };
}

static void sample_describe_response(struct proto_describe_topics_response *out)
{
    static struct proto_describe_partition partitions[2] = {
        { 0, 0, 100, 90, 123456, 2 },
        { 1, 5, 5, 5, UINT64_MAX, 1 },
    };
    static struct proto_describe_topic topics[1];
    topics[0] = (struct proto_describe_topic){ STR("orders"), 0, NIL_STR, sample_configs, 2,
                                               partitions,    2 };
    *out = (struct proto_describe_topics_response){ topics, 1 };
}

static void sample_response(uint32_t api, union proto_response *out)
{
    static struct proto_api_range apis[PROTO_API_COUNT];
    static struct proto_produce_partition_result produce_partitions[2] = {
        { 0, 0, { NULL, 0 }, 42, 0 },
        { 9, RILL_ERR_UNKNOWN_PARTITION, { "no such partition", 17 }, -1, -1 },
    };
    static struct proto_produce_topic_result produce_topics[1];
    static struct proto_fetch_partition_result fetch_partitions[3];
    static struct proto_fetch_topic_result fetch_topics[1];
    static struct proto_list_offsets_partition_result list_partitions[1] = { { 0, 0, -1, 77 } };
    static struct proto_list_offsets_topic_result list_topics[1];
    memset(out, 0, sizeof(*out));
    switch (api) {
    case PROTO_API_HANDSHAKE:
        for (uint32_t i = 0; i < PROTO_API_COUNT; i++) {
            apis[i] = (struct proto_api_range){ i, 1, 1 };
        }
        out->handshake = (struct proto_handshake_response){ 1, STR("cluster-a"), STR("0.1.0"), apis,
                                                            PROTO_API_COUNT };
        break;
    case PROTO_API_METADATA:
        sample_metadata_response(&out->metadata);
        break;
    case PROTO_API_CREATE_TOPICS:
    case PROTO_API_DELETE_TOPICS:
    case PROTO_API_ALTER_CONFIGS:
        out->create_topics = (struct proto_topic_results){ sample_results, 2 };
        break;
    case PROTO_API_DESCRIBE_TOPICS:
        sample_describe_response(&out->describe_topics);
        break;
    case PROTO_API_PRODUCE:
        produce_topics[0] =
            (struct proto_produce_topic_result){ STR("orders"), produce_partitions, 2 };
        out->produce = (struct proto_produce_response){ produce_topics, 1 };
        break;
    case PROTO_API_FETCH:
        fetch_partitions[0] =
            (struct proto_fetch_partition_result){ 0, 0, 10, 0, { batch_bytes, 17 } };
        fetch_partitions[1] = (struct proto_fetch_partition_result){ 1, 0, 10, 0, { NULL, 0 } };
        fetch_partitions[2] = (struct proto_fetch_partition_result){
            2, RILL_ERR_OFFSET_OUT_OF_RANGE, 10, 3, { batch_bytes + 5, 12 }
        };
        fetch_topics[0] = (struct proto_fetch_topic_result){ STR("orders"), fetch_partitions, 3 };
        out->fetch = (struct proto_fetch_response){ fetch_topics, 1 };
        break;
    case PROTO_API_LIST_OFFSETS:
        list_topics[0] =
            (struct proto_list_offsets_topic_result){ STR("orders"), list_partitions, 1 };
        out->list_offsets = (struct proto_list_offsets_response){ list_topics, 1 };
        break;
    case PROTO_API_INIT_PRODUCER_ID:
        out->init_producer_id = (struct proto_init_producer_id_response){ 0, 4242, 3 };
        break;
    default:
        sample_group_response(api, out);
    }
}

/* Encodes a request or response body of api into writer (reset first). */
static void encode_body(uint32_t api, bool response, struct mp_writer *writer)
{
    mp_writer_reset(writer);
    if (response) {
        union proto_response message;
        sample_response(api, &message);
        T_ASSERT_OK(proto_response_body_encode(api, writer, &message));
    } else {
        union proto_request message;
        sample_request(api, &message);
        T_ASSERT_OK(proto_request_body_encode(api, writer, &message));
    }
}

static rill_err decode_body(uint32_t api,
                            bool response,
                            const uint8_t *data,
                            size_t bytes,
                            struct proto_arena *arena,
                            union proto_response *out_response,
                            union proto_request *out_request)
{
    struct mp_reader reader;
    mp_reader_init(&reader, data, bytes);
    proto_arena_reset(arena);
    return response ? proto_response_body_decode(api, &reader, arena, out_response)
                    : proto_request_body_decode(api, &reader, arena, out_request);
}

/* encode → decode → encode gives the same bytes, and msgpack-c reads the body as an array. */
static void check_round_trip(uint32_t api, bool response)
{
    struct mp_writer first, second;
    struct proto_arena arena;
    union proto_response decoded_response;
    union proto_request decoded_request;
    mp_writer_init(&first, 1u << 20);
    mp_writer_init(&second, 1u << 20);
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    encode_body(api, response, &first);
    T_ASSERT_OK(decode_body(api, response, first.data, first.bytes, &arena, &decoded_response,
                            &decoded_request));
    rill_err err = response ? proto_response_body_encode(api, &second, &decoded_response)
                            : proto_request_body_encode(api, &second, &decoded_request);
    T_ASSERT_OK(err);
    T_ASSERT_EQ_INT(first.bytes, second.bytes);
    T_ASSERT_MEM_EQ(first.data, second.data, first.bytes);

    msgpack_unpacked result;
    msgpack_unpacked_init(&result);
    size_t offset = 0;
    T_ASSERT(msgpack_unpack_next(&result, (const char *)first.data, first.bytes, &offset) ==
             MSGPACK_UNPACK_SUCCESS);
    T_ASSERT(offset == first.bytes && result.data.type == MSGPACK_OBJECT_ARRAY);
    msgpack_unpacked_destroy(&result);
    proto_arena_deinit(&arena);
    mp_writer_deinit(&first);
    mp_writer_deinit(&second);
}

static void t_round_trip_every_message(void)
{
    for (uint32_t api = 0; api < PROTO_API_COUNT; api++) {
        check_round_trip(api, false);
        check_round_trip(api, true);
    }
}

static void t_decoded_fields(void)
{
    struct mp_writer writer;
    struct proto_arena arena;
    mp_writer_init(&writer, 1u << 20);
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    union proto_request request;
    union proto_response response;

    encode_body(PROTO_API_PRODUCE, false, &writer);
    T_ASSERT_OK(decode_body(PROTO_API_PRODUCE, false, writer.data, writer.bytes, &arena, &response,
                            &request));
    const struct proto_produce_request *produce = &request.produce;
    T_ASSERT(produce->acks == -1 && produce->timeout_ms == 5000 && produce->topic_count == 1);
    T_ASSERT(produce->topics[0].name.bytes == 6);
    T_ASSERT(memcmp(produce->topics[0].name.ptr, "orders", 6) == 0);
    T_ASSERT(produce->topics[0].partition_count == 2);
    T_ASSERT(produce->topics[0].partitions[0].batches.bytes == 17);
    T_ASSERT_MEM_EQ(produce->topics[0].partitions[0].batches.ptr, batch_bytes, 17);
    /* Zero-copy: the bin points into the encoded input. */
    T_ASSERT(produce->topics[0].partitions[0].batches.ptr > writer.data &&
             produce->topics[0].partitions[0].batches.ptr < writer.data + writer.bytes);
    T_ASSERT(produce->topics[0].partitions[1].partition == 7);

    encode_body(PROTO_API_DESCRIBE_TOPICS, false, &writer);
    T_ASSERT_OK(decode_body(PROTO_API_DESCRIBE_TOPICS, false, writer.data, writer.bytes, &arena,
                            &response, &request));
    T_ASSERT(request.describe_topics.names_all && request.describe_topics.names == NULL);

    encode_body(PROTO_API_ALTER_CONFIGS, false, &writer);
    T_ASSERT_OK(decode_body(PROTO_API_ALTER_CONFIGS, false, writer.data, writer.bytes, &arena,
                            &response, &request));
    T_ASSERT(request.alter_configs.topics[0].configs[0].value.ptr == NULL);
    T_ASSERT(request.alter_configs.topics[0].configs[1].value.bytes == 7);

    encode_body(PROTO_API_METADATA, true, &writer);
    T_ASSERT_OK(decode_body(PROTO_API_METADATA, true, writer.data, writer.bytes, &arena, &response,
                            &request));
    const struct proto_metadata_response *metadata = &response.metadata;
    T_ASSERT(metadata->broker_count == 1 && metadata->brokers[0].port == 9700);
    T_ASSERT(metadata->topics[0].partitions[0].isr_count == 1);
    T_ASSERT(metadata->topics[0].partitions[0].isr[0] == 1);
    T_ASSERT(metadata->topics[1].error == RILL_ERR_UNKNOWN_TOPIC);

    encode_body(PROTO_API_DESCRIBE_TOPICS, true, &writer);
    T_ASSERT_OK(decode_body(PROTO_API_DESCRIBE_TOPICS, true, writer.data, writer.bytes, &arena,
                            &response, &request));
    T_ASSERT(response.describe_topics.topics[0].partitions[1].size_bytes == UINT64_MAX);
    T_ASSERT(response.describe_topics.topics[0].message.ptr == NULL);
    proto_arena_deinit(&arena);
    mp_writer_deinit(&writer);
}

/* Every strict prefix of every body fails, without crashing. */
static void t_truncation_every_byte(void)
{
    struct mp_writer writer;
    struct proto_arena arena;
    mp_writer_init(&writer, 1u << 20);
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    for (uint32_t api = 0; api < PROTO_API_COUNT; api++) {
        for (int response = 0; response < 2; response++) {
            encode_body(api, response, &writer);
            for (size_t cut = 0; cut < writer.bytes; cut++) {
                union proto_response decoded_response;
                union proto_request decoded_request;
                /* A copy of exactly cut bytes, so that ASan sees reads past the end. */
                uint8_t *copy = malloc(cut + 1);
                T_ASSERT(copy != NULL);
                memcpy(copy, writer.data, cut);
                T_ASSERT_EQ_INT(decode_body(api, response, copy, cut, &arena, &decoded_response,
                                            &decoded_request),
                                RILL_ERR_INVALID_REQUEST);
                free(copy);
            }
        }
    }
    proto_arena_deinit(&arena);
    mp_writer_deinit(&writer);
}

/* Bodies of N < 16 fields start with fixarray 0x90|N: drop a field or append one. */
static void t_missing_and_extra_fields(void)
{
    struct mp_writer writer;
    struct proto_arena arena;
    mp_writer_init(&writer, 1u << 20);
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    for (uint32_t api = 0; api < PROTO_API_COUNT; api++) {
        for (int response = 0; response < 2; response++) {
            union proto_response decoded_response;
            union proto_request decoded_request;
            encode_body(api, response, &writer);
            T_ASSERT((writer.data[0] & 0xf0) == 0x90 && (writer.data[0] & 0x0f) < 15);
            writer.data[0]--;
            T_ASSERT_EQ_INT(decode_body(api, response, writer.data, writer.bytes, &arena,
                                        &decoded_response, &decoded_request),
                            RILL_ERR_INVALID_REQUEST);
            writer.data[0] += 2;
            T_ASSERT(mp_write_array(&writer, 2) && mp_write_str_cstr(&writer, "future") &&
                     mp_write_map(&writer, 1) && mp_write_int(&writer, -1) &&
                     mp_write_bin(&writer, "x", 1));
            T_ASSERT_OK(decode_body(api, response, writer.data, writer.bytes, &arena,
                                    &decoded_response, &decoded_request));
            /* Bytes after the body are not. */
            T_ASSERT(mp_write_nil(&writer));
            T_ASSERT_EQ_INT(decode_body(api, response, writer.data, writer.bytes, &arena,
                                        &decoded_response, &decoded_request),
                            RILL_ERR_INVALID_REQUEST);
        }
    }
    union proto_request request;
    struct mp_reader reader;
    mp_reader_init(&reader, writer.data, writer.bytes);
    T_ASSERT_EQ_INT(proto_request_body_decode(PROTO_API_COUNT, &reader, &arena, &request),
                    RILL_ERR_UNSUPPORTED_API);
    proto_arena_deinit(&arena);
    mp_writer_deinit(&writer);
}

/*
 * Decodes a hand-written request body of api; returns the decoder's result. What *out points
 * to in the arena stays valid until the next call (the arena is reset then, never freed while
 * a caller may still read the decoded request).
 */
static rill_err decode_written(uint32_t api, struct mp_writer *writer, union proto_request *out)
{
    static struct proto_arena arena;
    static bool arena_ready;
    if (!arena_ready) {
        proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
        arena_ready = true;
    }
    proto_arena_reset(&arena);
    struct mp_reader reader;
    mp_reader_init(&reader, writer->data, writer->bytes);
    rill_err err = proto_request_body_decode(api, &reader, &arena, out);
    mp_writer_reset(writer);
    return err;
}

static void t_wrong_types(void)
{
    struct mp_writer writer;
    union proto_request request;
    mp_writer_init(&writer, 1024);
    /* acks as a str */
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_str_cstr(&writer, "1") &&
             mp_write_int(&writer, 0) && mp_write_array(&writer, 0));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_PRODUCE, &writer, &request), RILL_ERR_INVALID_REQUEST);
    /* batches as a str instead of bin */
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_int(&writer, 1) && mp_write_int(&writer, 0) &&
             mp_write_array(&writer, 1) && mp_write_array(&writer, 2) &&
             mp_write_str_cstr(&writer, "t") && mp_write_array(&writer, 1) &&
             mp_write_array(&writer, 2) && mp_write_int(&writer, 0) &&
             mp_write_str_cstr(&writer, "batch"));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_PRODUCE, &writer, &request), RILL_ERR_INVALID_REQUEST);
    /* partition out of int32 range */
    T_ASSERT(mp_write_array(&writer, 1) && mp_write_array(&writer, 1) &&
             mp_write_array(&writer, 2) && mp_write_str_cstr(&writer, "t") &&
             mp_write_array(&writer, 1) && mp_write_array(&writer, 2) &&
             mp_write_int(&writer, INT32_MAX + 1LL) && mp_write_int(&writer, -1));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_LIST_OFFSETS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* a nil name where str is required; a nil config value in CREATE_TOPICS */
    T_ASSERT(mp_write_array(&writer, 1) && mp_write_array(&writer, 1) && mp_write_nil(&writer));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_DELETE_TOPICS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    T_ASSERT(mp_write_array(&writer, 2) && mp_write_array(&writer, 1) &&
             mp_write_array(&writer, 4) && mp_write_str_cstr(&writer, "t") &&
             mp_write_int(&writer, 1) && mp_write_int(&writer, 1) && mp_write_map(&writer, 1) &&
             mp_write_str_cstr(&writer, "flush") && mp_write_nil(&writer) &&
             mp_write_bool(&writer, false));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_CREATE_TOPICS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* the body is a map, or nil */
    T_ASSERT(mp_write_map(&writer, 0));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_LIST_OFFSETS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    T_ASSERT(mp_write_nil(&writer));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_HANDSHAKE, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    mp_writer_deinit(&writer);
}

/* Appended fields are skipped at every level, however they nest, up to the depth limit. */
static void t_nested_extra_fields(void)
{
    struct mp_writer writer;
    union proto_request request;
    mp_writer_init(&writer, 4096);
    /* PRODUCE: [acks, timeout, [[name, [[partition, batches, extra]], extra]], extra] */
    T_ASSERT(mp_write_array(&writer, 4) && mp_write_int(&writer, 1) && mp_write_int(&writer, 10) &&
             mp_write_array(&writer, 1) && mp_write_array(&writer, 3) &&
             mp_write_str_cstr(&writer, "t") && mp_write_array(&writer, 1) &&
             mp_write_array(&writer, 3) && mp_write_int(&writer, 4) &&
             mp_write_bin(&writer, "xy", 2) && mp_write_map(&writer, 1) && mp_write_nil(&writer) &&
             mp_write_array(&writer, 0) && mp_write_str_cstr(&writer, "extra") &&
             mp_write_bool(&writer, true));
    T_ASSERT_OK(decode_written(PROTO_API_PRODUCE, &writer, &request));
    T_ASSERT(request.produce.topics[0].partitions[0].partition == 4);
    T_ASSERT(request.produce.topics[0].partitions[0].batches.bytes == 2);
    /* An extra field nested deeper than MP_DEPTH_MAX is malformed. */
    for (unsigned depth = MP_DEPTH_MAX; depth <= MP_DEPTH_MAX + 1; depth++) {
        T_ASSERT(mp_write_array(&writer, 3) && mp_write_nil(&writer) && mp_write_int(&writer, 10));
        for (unsigned level = 0; level < depth; level++) {
            T_ASSERT(mp_write_array(&writer, 1));
        }
        T_ASSERT(mp_write_nil(&writer));
        /* The limit counts from the skipped value itself. */
        T_ASSERT_EQ_INT(decode_written(PROTO_API_INIT_PRODUCER_ID, &writer, &request),
                        depth <= MP_DEPTH_MAX ? RILL_OK : RILL_ERR_INVALID_REQUEST);
    }
    mp_writer_deinit(&writer);
}

static void t_value_checks(void)
{
    struct mp_writer writer;
    union proto_request request;
    mp_writer_init(&writer, 1024);
    static const int32_t acks[] = { 0, 1, -1, 2, -2, 100 };
    for (size_t i = 0; i < T_COUNT(acks); i++) {
        T_ASSERT(mp_write_array(&writer, 3) && mp_write_int(&writer, acks[i]) &&
                 mp_write_int(&writer, 0) && mp_write_array(&writer, 0));
        T_ASSERT_EQ_INT(decode_written(PROTO_API_PRODUCE, &writer, &request),
                        i < 3 ? RILL_OK : RILL_ERR_INVALID_ACKS);
    }
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_int(&writer, 1) && mp_write_int(&writer, -1) &&
             mp_write_array(&writer, 0));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_PRODUCE, &writer, &request), RILL_ERR_INVALID_REQUEST);
    /* max_wait_ms is clamped; negative sizes are malformed */
    T_ASSERT(mp_write_array(&writer, 4) && mp_write_int(&writer, 3600000) &&
             mp_write_int(&writer, 1) && mp_write_int(&writer, 100) && mp_write_array(&writer, 0));
    T_ASSERT_OK(decode_written(PROTO_API_FETCH, &writer, &request));
    T_ASSERT_EQ_INT(request.fetch.max_wait_ms, RILL_FETCH_WAIT_MS_MAX);
    T_ASSERT(mp_write_array(&writer, 4) && mp_write_int(&writer, 0) && mp_write_int(&writer, 1) &&
             mp_write_int(&writer, -100) && mp_write_array(&writer, 0));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_FETCH, &writer, &request), RILL_ERR_INVALID_REQUEST);
    T_ASSERT(mp_write_array(&writer, 4) && mp_write_int(&writer, 0) && mp_write_int(&writer, 1) &&
             mp_write_int(&writer, 100) && mp_write_array(&writer, 1) &&
             mp_write_array(&writer, 2) && mp_write_str_cstr(&writer, "t") &&
             mp_write_array(&writer, 1) && mp_write_array(&writer, 3) && mp_write_int(&writer, 0) &&
             mp_write_int(&writer, 0) && mp_write_int(&writer, -1));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_FETCH, &writer, &request), RILL_ERR_INVALID_REQUEST);
    T_ASSERT(mp_write_array(&writer, 2) && mp_write_str_cstr(&writer, "txn") &&
             mp_write_int(&writer, 10));
    T_ASSERT_OK(decode_written(PROTO_API_INIT_PRODUCER_ID, &writer, &request));
    T_ASSERT(request.init_producer_id.transactional_id.bytes == 3);
    mp_writer_deinit(&writer);
}

/* DELETE_TOPICS with count one-byte names. */
static void write_names(struct mp_writer *writer, uint32_t count)
{
    T_ASSERT(mp_write_array(writer, 1) && mp_write_array(writer, count));
    for (uint32_t i = 0; i < count; i++) {
        T_ASSERT(mp_write_str(writer, "a", 1));
    }
}

static void t_entry_limits(void)
{
    struct mp_writer writer;
    union proto_request request;
    mp_writer_init(&writer, 16u << 20);
    write_names(&writer, RILL_PROTO_ARRAY_ENTRIES_MAX);
    T_ASSERT_OK(decode_written(PROTO_API_DELETE_TOPICS, &writer, &request));
    T_ASSERT_EQ_INT(request.delete_topics.name_count, RILL_PROTO_ARRAY_ENTRIES_MAX);
    write_names(&writer, RILL_PROTO_ARRAY_ENTRIES_MAX + 1);
    T_ASSERT_EQ_INT(decode_written(PROTO_API_DELETE_TOPICS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* Nested arrays share the budget: 2 topics of 50000 partitions is 100002 entries. */
    T_ASSERT(mp_write_array(&writer, 1) && mp_write_array(&writer, 2));
    for (int topic = 0; topic < 2; topic++) {
        T_ASSERT(mp_write_array(&writer, 2) && mp_write_str_cstr(&writer, "t") &&
                 mp_write_array(&writer, 50000));
        for (int i = 0; i < 50000; i++) {
            T_ASSERT(mp_write_array(&writer, 2) && mp_write_int(&writer, i) &&
                     mp_write_int(&writer, -1));
        }
    }
    T_ASSERT_EQ_INT(decode_written(PROTO_API_LIST_OFFSETS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* A declared count beyond the input is refused before allocating. */
    static const uint8_t huge[] = { 0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0xa1, 'a' };
    T_ASSERT(mp_write_raw(&writer, huge, sizeof(huge)));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_DELETE_TOPICS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    mp_writer_deinit(&writer);
}

static void t_arena(void)
{
    struct proto_arena arena;
    proto_arena_init(&arena, 1000);
    T_ASSERT(proto_arena_alloc(&arena, 0, 8) == NULL);
    uint8_t *first = proto_arena_alloc(&arena, 10, 8);
    T_ASSERT(first != NULL && ((uintptr_t)first % _Alignof(max_align_t)) == 0);
    T_ASSERT(proto_arena_alloc(&arena, 1000, 1) == NULL);
    T_ASSERT_EQ_INT(arena.err, RILL_ERR_TOO_LARGE);
    T_ASSERT(proto_arena_alloc(&arena, SIZE_MAX / 2, 4) == NULL);
    T_ASSERT(proto_arena_take_entries(&arena, RILL_PROTO_ARRAY_ENTRIES_MAX));
    T_ASSERT(!proto_arena_take_entries(&arena, 1));
    proto_arena_reset(&arena);
    T_ASSERT(proto_arena_take_entries(&arena, 1));
    T_ASSERT(proto_arena_alloc(&arena, 900, 1) != NULL);
    proto_arena_deinit(&arena);
    /* Blocks beyond the first are freed by a reset; large requests get their own block. */
    proto_arena_init(&arena, 16u << 20);
    for (int i = 0; i < 100; i++) {
        T_ASSERT(proto_arena_alloc(&arena, 1000, 100) != NULL);
    }
    proto_arena_reset(&arena);
    T_ASSERT(arena.blocks != NULL && arena.bytes_used == 0);
    proto_arena_deinit(&arena);

    /* A request needing more arena than allowed is refused. */
    struct mp_writer writer;
    mp_writer_init(&writer, 1u << 20);
    write_names(&writer, 1000);
    proto_arena_init(&arena, 1024);
    struct mp_reader reader;
    union proto_request request;
    mp_reader_init(&reader, writer.data, writer.bytes);
    T_ASSERT_EQ_INT(proto_request_body_decode(PROTO_API_DELETE_TOPICS, &reader, &arena, &request),
                    RILL_ERR_INVALID_REQUEST);
    proto_arena_deinit(&arena);
    mp_writer_deinit(&writer);
}

static void t_encoder_limits(void)
{
    static char long_name[RILL_PROTO_STRING_BYTES_MAX + 1];
    memset(long_name, 'a', sizeof(long_name));
    struct mp_writer writer;
    mp_writer_init(&writer, 1u << 20);
    struct proto_handshake_request handshake = { { long_name, sizeof(long_name) }, STR("1") };
    T_ASSERT_EQ_INT(proto_handshake_request_encode(&writer, &handshake), RILL_ERR_TOO_LARGE);
    mp_writer_reset(&writer);
    handshake.client_name.bytes--;
    T_ASSERT_OK(proto_handshake_request_encode(&writer, &handshake));
    mp_writer_deinit(&writer);
    mp_writer_init(&writer, 8);
    union proto_request request;
    sample_request(PROTO_API_PRODUCE, &request);
    T_ASSERT_EQ_INT(proto_produce_request_encode(&writer, &request.produce), RILL_ERR_TOO_LARGE);
    mp_writer_deinit(&writer);
}

static void t_fetch_spliced(void)
{
    union proto_response response;
    sample_response(PROTO_API_FETCH, &response);
    struct mp_writer inline_writer, spliced_writer;
    mp_writer_init(&inline_writer, 1u << 20);
    mp_writer_init(&spliced_writer, 1u << 20);
    T_ASSERT_OK(proto_fetch_response_encode(&inline_writer, &response.fetch));
    struct proto_fetch_splice splices[4];
    uint32_t splice_count = 0;
    uint64_t spliced_bytes = 0;
    T_ASSERT_EQ_INT(proto_fetch_response_encode_spliced(&spliced_writer, &response.fetch, splices,
                                                        1, &splice_count, &spliced_bytes),
                    RILL_ERR_FULL);
    mp_writer_reset(&spliced_writer);
    T_ASSERT_OK(proto_frame_begin(&spliced_writer));
    size_t body_start = spliced_writer.bytes;
    T_ASSERT_OK(proto_fetch_response_encode_spliced(&spliced_writer, &response.fetch, splices, 4,
                                                    &splice_count, &spliced_bytes));
    T_ASSERT_OK(proto_frame_end_spliced(&spliced_writer, spliced_bytes));
    T_ASSERT_EQ_INT(splice_count, 2);
    T_ASSERT_EQ_INT(spliced_bytes, 17 + 12);
    T_ASSERT(splices[1].topic_index == 0 && splices[1].partition_index == 2);
    /* Assemble the bytes as a sender would; the partitions with bytes are 17 and 12 long. */
    uint8_t assembled[1024];
    size_t assembled_bytes = 0, from = body_start;
    for (uint32_t i = 0; i < splice_count; i++) {
        const struct proto_fetch_partition_result *part =
            &response.fetch.topics[splices[i].topic_index].partitions[splices[i].partition_index];
        memcpy(assembled + assembled_bytes, spliced_writer.data + from, splices[i].position - from);
        assembled_bytes += splices[i].position - from;
        memcpy(assembled + assembled_bytes, part->batches.ptr, splices[i].bytes);
        assembled_bytes += splices[i].bytes;
        from = splices[i].position;
    }
    memcpy(assembled + assembled_bytes, spliced_writer.data + from, spliced_writer.bytes - from);
    assembled_bytes += spliced_writer.bytes - from;
    uint32_t frame_bytes = 0;
    T_ASSERT_OK(proto_frame_length_decode(spliced_writer.data, RILL_FRAME_BYTES_MAX, &frame_bytes));
    T_ASSERT_EQ_INT(frame_bytes, assembled_bytes);
    /* Decodes like the inline encoding (which may pick bin8 where the spliced one used bin32). */
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    struct mp_reader reader;
    struct proto_fetch_response decoded;
    mp_reader_init(&reader, assembled, assembled_bytes);
    T_ASSERT_OK(proto_fetch_response_decode(&reader, &arena, &decoded));
    T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
    mp_writer_reset(&spliced_writer);
    T_ASSERT_OK(proto_fetch_response_encode(&spliced_writer, &decoded));
    T_ASSERT_EQ_INT(spliced_writer.bytes, inline_writer.bytes);
    T_ASSERT_MEM_EQ(spliced_writer.data, inline_writer.data, inline_writer.bytes);
    proto_arena_deinit(&arena);
    mp_writer_deinit(&inline_writer);
    mp_writer_deinit(&spliced_writer);
}

/* The FETCH body written in pieces (the broker's single-copy path) decodes to the same
 * response as the schema encoder's, including partitions with and without batches. */
static void t_fetch_pieces(void)
{
    union proto_response response;
    sample_response(PROTO_API_FETCH, &response);
    struct mp_writer inline_writer, pieces_writer;
    mp_writer_init(&inline_writer, 1u << 20);
    mp_writer_init(&pieces_writer, 1u << 20);
    T_ASSERT_OK(proto_fetch_response_encode(&inline_writer, &response.fetch));
    const struct proto_fetch_response *fetch = &response.fetch;
    T_ASSERT(proto_fetch_response_begin(&pieces_writer, fetch->topic_count));
    for (uint32_t t = 0; t < fetch->topic_count; t++) {
        const struct proto_fetch_topic_result *topic = &fetch->topics[t];
        T_ASSERT(proto_fetch_topic_begin(&pieces_writer, &topic->name, topic->partition_count));
        for (uint32_t p = 0; p < topic->partition_count; p++) {
            const struct proto_fetch_partition_result *part = &topic->partitions[p];
            size_t bin_position = 0;
            T_ASSERT(proto_fetch_partition_begin(&pieces_writer, part, &bin_position));
            /* Claim more than the batches, as a read does, then cut back to what came. */
            uint8_t *dst = mp_writer_claim(&pieces_writer, (size_t)part->batches.bytes + 7);
            T_ASSERT(dst != NULL);
            if (part->batches.bytes > 0) {
                memcpy(dst, part->batches.ptr, part->batches.bytes);
            }
            mp_writer_truncate(&pieces_writer, bin_position + part->batches.bytes);
            proto_fetch_partition_end(&pieces_writer, bin_position);
        }
    }
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    struct mp_reader reader;
    struct proto_fetch_response decoded;
    mp_reader_init(&reader, pieces_writer.data, pieces_writer.bytes);
    T_ASSERT_OK(proto_fetch_response_decode(&reader, &arena, &decoded));
    T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
    struct mp_writer again; /* decoded points into pieces_writer */
    mp_writer_init(&again, 1u << 20);
    T_ASSERT_OK(proto_fetch_response_encode(&again, &decoded));
    T_ASSERT_EQ_INT(again.bytes, inline_writer.bytes);
    T_ASSERT_MEM_EQ(again.data, inline_writer.data, inline_writer.bytes);
    mp_writer_deinit(&again);
    /* A claim beyond the writer's bound fails without writing. */
    struct mp_writer small;
    mp_writer_init(&small, 16);
    T_ASSERT(mp_writer_claim(&small, 17) == NULL);
    T_ASSERT_EQ_INT(small.err, RILL_ERR_TOO_LARGE);
    mp_writer_deinit(&small);
    proto_arena_deinit(&arena);
    mp_writer_deinit(&inline_writer);
    mp_writer_deinit(&pieces_writer);
}

static void t_topic_names(void)
{
    static const struct {
        const char *name;
        bool valid;
        bool valid_internal;
    } names[] = {
        { "orders", true, true },        { "a.b_c-D9", true, true },
        { ".", false, false },           { "..", false, false },
        { "...", true, true },           { "", false, false },
        { "__consumer", false, true },   { "_x", true, true },
        { "a b", false, false },         { "a/b", false, false },
        { "caf\xc3\xa9", false, false },
    };
    for (size_t i = 0; i < T_COUNT(names); i++) {
        size_t bytes = strlen(names[i].name);
        T_ASSERT(proto_topic_name_valid(names[i].name, bytes, false) == names[i].valid);
        T_ASSERT(proto_topic_name_valid(names[i].name, bytes, true) == names[i].valid_internal);
    }
    char long_name[RILL_TOPIC_NAME_BYTES_MAX + 1];
    memset(long_name, 'x', sizeof(long_name));
    T_ASSERT(proto_topic_name_valid(long_name, RILL_TOPIC_NAME_BYTES_MAX, false));
    T_ASSERT(!proto_topic_name_valid(long_name, RILL_TOPIC_NAME_BYTES_MAX + 1, false));
    T_ASSERT(!proto_topic_name_valid("a\0b", 3, false));
}

/* msgpack-c as an independent encoder of group bodies. */
static void pack_str(msgpack_packer *packer, const char *text)
{
    size_t bytes = strlen(text);
    T_ASSERT(msgpack_pack_str(packer, bytes) == 0 &&
             msgpack_pack_str_body(packer, text, bytes) == 0);
}

/* [topic, partitions: int[]] with count partitions first, first + 1, ... */
static void
pack_topic_partitions(msgpack_packer *packer, const char *topic, int32_t first, uint32_t count)
{
    T_ASSERT(msgpack_pack_array(packer, 2) == 0);
    pack_str(packer, topic);
    T_ASSERT(msgpack_pack_array(packer, count) == 0);
    for (uint32_t i = 0; i < count; i++) {
        T_ASSERT(msgpack_pack_int32(packer, first + (int32_t)i) == 0);
    }
}

/* A JOIN_GROUP request by msgpack-c: by names (pattern NULL) or by pattern. */
static void pack_join_request(msgpack_sbuffer *buffer, const char *pattern, bool names_too)
{
    msgpack_packer packer;
    msgpack_sbuffer_clear(buffer);
    msgpack_packer_init(&packer, buffer, msgpack_sbuffer_write);
    T_ASSERT(msgpack_pack_array(&packer, 9) == 0);
    pack_str(&packer, "billing");
    pack_str(&packer, "m-1");
    pack_str(&packer, "client");
    T_ASSERT(msgpack_pack_uint16(&packer, 45000) == 0); /* any integer encoding that fits */
    T_ASSERT(msgpack_pack_int64(&packer, -1) == 0);
    T_ASSERT(msgpack_pack_array(&packer, 3) == 0);
    pack_str(&packer, "roundrobin");
    pack_str(&packer, "future-strategy");
    pack_str(&packer, "range");
    if (pattern == NULL || names_too) {
        T_ASSERT(msgpack_pack_array(&packer, 1) == 0);
        pack_str(&packer, "orders");
    } else {
        T_ASSERT(msgpack_pack_nil(&packer) == 0);
    }
    if (pattern != NULL) {
        pack_str(&packer, pattern);
    } else {
        T_ASSERT(msgpack_pack_nil(&packer) == 0);
    }
    T_ASSERT(msgpack_pack_array(&packer, 2) == 0);
    pack_topic_partitions(&packer, "orders", 4, 3);
    pack_topic_partitions(&packer, "other", 0, 0);
}

static rill_err decode_packed(uint32_t api,
                              bool response,
                              const msgpack_sbuffer *buffer,
                              struct proto_arena *arena,
                              union proto_request *request,
                              union proto_response *out_response)
{
    return decode_body(api, response, (const uint8_t *)buffer->data, buffer->size, arena,
                       out_response, request);
}

static bool str_is(struct proto_str value, const char *text)
{
    return value.ptr != NULL && value.bytes == strlen(text) &&
           memcmp(value.ptr, text, value.bytes) == 0;
}

/* Bodies written by msgpack-c decode to the fields they hold. */
static void t_group_msgpack_oracle(void)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    union proto_request request;
    union proto_response response;

    pack_join_request(&buffer, NULL, false);
    T_ASSERT_OK(decode_packed(PROTO_API_JOIN_GROUP, false, &buffer, &arena, &request, &response));
    const struct proto_join_group_request *join = &request.join_group;
    T_ASSERT(str_is(join->group, "billing") && str_is(join->member_id, "m-1"));
    T_ASSERT(str_is(join->client_id, "client"));
    T_ASSERT(join->session_timeout_ms == 45000 && join->rebalance_timeout_ms == -1);
    T_ASSERT(join->strategy_count == 3 && str_is(join->strategies[2], "range"));
    T_ASSERT(!join->topics_nil && join->topic_count == 1 && str_is(join->topics[0], "orders"));
    T_ASSERT(join->pattern.ptr == NULL);
    T_ASSERT(join->owned_count == 2 && str_is(join->owned[0].topic, "orders"));
    T_ASSERT(join->owned[0].partition_count == 3 && join->owned[0].partitions[2] == 6);
    T_ASSERT(join->owned[1].partition_count == 0 && join->owned[1].partitions == NULL);

    pack_join_request(&buffer, "orders\\.[0-9]+", false);
    T_ASSERT_OK(decode_packed(PROTO_API_JOIN_GROUP, false, &buffer, &arena, &request, &response));
    T_ASSERT(join->topics_nil && join->topics == NULL && join->topic_count == 0);
    T_ASSERT(str_is(join->pattern, "orders\\.[0-9]+"));

    /* OFFSET_COMMIT: [group, member_id, generation, [[name, [[partition, offset, metadata?]]]]] */
    msgpack_packer packer;
    msgpack_sbuffer_clear(&buffer);
    msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write);
    T_ASSERT(msgpack_pack_array(&packer, 4) == 0);
    pack_str(&packer, "billing");
    pack_str(&packer, "");
    T_ASSERT(msgpack_pack_int8(&packer, -1) == 0);
    T_ASSERT(msgpack_pack_array(&packer, 1) == 0 && msgpack_pack_array(&packer, 2) == 0);
    pack_str(&packer, "orders");
    T_ASSERT(msgpack_pack_array(&packer, 2) == 0 && msgpack_pack_array(&packer, 3) == 0);
    T_ASSERT(msgpack_pack_int32(&packer, 3) == 0 && msgpack_pack_uint64(&packer, 1ull << 40) == 0);
    T_ASSERT(msgpack_pack_nil(&packer) == 0 && msgpack_pack_array(&packer, 3) == 0);
    T_ASSERT(msgpack_pack_int32(&packer, 4) == 0 && msgpack_pack_int32(&packer, 0) == 0);
    pack_str(&packer, "meta");
    T_ASSERT_OK(
        decode_packed(PROTO_API_OFFSET_COMMIT, false, &buffer, &arena, &request, &response));
    const struct proto_offset_commit_request *commit = &request.offset_commit;
    T_ASSERT(commit->generation == PROTO_GENERATION_NONE && commit->member_id.bytes == 0);
    T_ASSERT(commit->member_id.ptr != NULL); /* "" is a str, not nil */
    T_ASSERT(commit->topic_count == 1 && commit->topics[0].partition_count == 2);
    T_ASSERT(commit->topics[0].partitions[0].offset == (int64_t)1 << 40);
    T_ASSERT(commit->topics[0].partitions[0].metadata.ptr == NULL);
    T_ASSERT(str_is(commit->topics[0].partitions[1].metadata, "meta"));

    /* OFFSET_FETCH with nil topics, LIST_GROUPS with nil states. */
    msgpack_sbuffer_clear(&buffer);
    T_ASSERT(msgpack_pack_array(&packer, 2) == 0);
    pack_str(&packer, "billing");
    T_ASSERT(msgpack_pack_nil(&packer) == 0);
    T_ASSERT_OK(decode_packed(PROTO_API_OFFSET_FETCH, false, &buffer, &arena, &request, &response));
    T_ASSERT(request.offset_fetch.topics_all && request.offset_fetch.topic_count == 0);
    msgpack_sbuffer_clear(&buffer);
    T_ASSERT(msgpack_pack_array(&packer, 1) == 0 && msgpack_pack_nil(&packer) == 0);
    T_ASSERT_OK(decode_packed(PROTO_API_LIST_GROUPS, false, &buffer, &arena, &request, &response));
    T_ASSERT(request.list_groups.states_all);

    /* A JOIN_GROUP response and a DESCRIBE_GROUPS response (the client side). */
    msgpack_sbuffer_clear(&buffer);
    T_ASSERT(msgpack_pack_array(&packer, 7) == 0);
    T_ASSERT(msgpack_pack_int32(&packer, 0) == 0 && msgpack_pack_int32(&packer, 12) == 0);
    pack_str(&packer, "m-9");
    pack_str(&packer, "range");
    T_ASSERT(msgpack_pack_array(&packer, 1) == 0);
    pack_topic_partitions(&packer, "orders", 0, 4);
    T_ASSERT(msgpack_pack_array(&packer, 1) == 0);
    pack_topic_partitions(&packer, "orders", 4, 2);
    T_ASSERT(msgpack_pack_int32(&packer, 1000) == 0);
    T_ASSERT_OK(decode_packed(PROTO_API_JOIN_GROUP, true, &buffer, &arena, &request, &response));
    const struct proto_join_group_response *joined = &response.join_group;
    T_ASSERT(joined->generation == 12 && str_is(joined->member_id, "m-9"));
    T_ASSERT(str_is(joined->strategy, "range") && joined->heartbeat_interval_ms == 1000);
    T_ASSERT(joined->assignment_count == 1 && joined->assignment[0].partition_count == 4);
    T_ASSERT(joined->revoke_count == 1 && joined->revoke[0].partitions[1] == 5);

    msgpack_sbuffer_clear(&buffer);
    T_ASSERT(msgpack_pack_array(&packer, 1) == 0 && msgpack_pack_array(&packer, 1) == 0);
    T_ASSERT(msgpack_pack_array(&packer, 6) == 0);
    pack_str(&packer, "billing");
    T_ASSERT(msgpack_pack_int32(&packer, 0) == 0);
    pack_str(&packer, "stable");
    T_ASSERT(msgpack_pack_int32(&packer, 3) == 0);
    pack_str(&packer, "sticky");
    T_ASSERT(msgpack_pack_array(&packer, 1) == 0 && msgpack_pack_array(&packer, 10) == 0);
    pack_str(&packer, "m-1");
    pack_str(&packer, "c");
    pack_str(&packer, "127.0.0.1:1");
    T_ASSERT(msgpack_pack_int32(&packer, 3) == 0 && msgpack_pack_int32(&packer, 6000) == 0);
    T_ASSERT(msgpack_pack_int32(&packer, 6000) == 0 && msgpack_pack_nil(&packer) == 0);
    pack_str(&packer, "o.*");
    T_ASSERT(msgpack_pack_array(&packer, 1) == 0);
    pack_topic_partitions(&packer, "orders", 0, 2);
    T_ASSERT(msgpack_pack_array(&packer, 0) == 0);
    T_ASSERT_OK(
        decode_packed(PROTO_API_DESCRIBE_GROUPS, true, &buffer, &arena, &request, &response));
    const struct proto_group_description *group = &response.describe_groups.groups[0];
    T_ASSERT(str_is(group->state, PROTO_GROUP_STATE_STABLE) && group->generation == 3);
    T_ASSERT(group->member_count == 1 && group->members[0].topics_nil);
    T_ASSERT(str_is(group->members[0].pattern, "o.*"));
    T_ASSERT(group->members[0].assignment[0].partition_count == 2);
    T_ASSERT(group->members[0].revoking_count == 0);

    proto_arena_deinit(&arena);
    msgpack_sbuffer_destroy(&buffer);
}

/* Subscriptions are by names or by pattern, exactly one; wrong types are malformed. */
static void t_group_malformed(void)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    union proto_request request;
    union proto_response response;
    pack_join_request(&buffer, "o.*", true);
    T_ASSERT_EQ_INT(
        decode_packed(PROTO_API_JOIN_GROUP, false, &buffer, &arena, &request, &response),
        RILL_ERR_INVALID_REQUEST);
    /* Neither: names nil and pattern nil. */
    struct mp_writer writer;
    mp_writer_init(&writer, 4096);
    T_ASSERT(mp_write_array(&writer, 9) && mp_write_str_cstr(&writer, "g") &&
             mp_write_str_cstr(&writer, "") && mp_write_str_cstr(&writer, "c") &&
             mp_write_int(&writer, 10000) && mp_write_int(&writer, 10000) &&
             mp_write_array(&writer, 0) && mp_write_nil(&writer) && mp_write_nil(&writer) &&
             mp_write_array(&writer, 0));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_JOIN_GROUP, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* The same with an empty name list is well formed (the coordinator answers it). */
    T_ASSERT(mp_write_array(&writer, 9) && mp_write_str_cstr(&writer, "g") &&
             mp_write_str_cstr(&writer, "") && mp_write_str_cstr(&writer, "c") &&
             mp_write_int(&writer, 10000) && mp_write_int(&writer, 10000) &&
             mp_write_array(&writer, 0) && mp_write_array(&writer, 0) && mp_write_nil(&writer) &&
             mp_write_array(&writer, 0));
    T_ASSERT_OK(decode_written(PROTO_API_JOIN_GROUP, &writer, &request));
    /* strategies nil (not nil-able), member_id nil */
    T_ASSERT(mp_write_array(&writer, 9) && mp_write_str_cstr(&writer, "g") &&
             mp_write_str_cstr(&writer, "") && mp_write_str_cstr(&writer, "c") &&
             mp_write_int(&writer, 10000) && mp_write_int(&writer, 10000) &&
             mp_write_nil(&writer) && mp_write_array(&writer, 0) && mp_write_nil(&writer) &&
             mp_write_array(&writer, 0));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_JOIN_GROUP, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_str_cstr(&writer, "g") &&
             mp_write_nil(&writer) && mp_write_int(&writer, 1));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_HEARTBEAT, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* generation out of int32 range, or a str */
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_str_cstr(&writer, "g") &&
             mp_write_str_cstr(&writer, "m") && mp_write_int(&writer, INT32_MAX + 1LL));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_HEARTBEAT, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_str_cstr(&writer, "g") &&
             mp_write_str_cstr(&writer, "m") && mp_write_str_cstr(&writer, "1"));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_HEARTBEAT, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* commit metadata as bin; an offset beyond int64 */
    T_ASSERT(mp_write_array(&writer, 4) && mp_write_str_cstr(&writer, "g") &&
             mp_write_str_cstr(&writer, "m") && mp_write_int(&writer, 1) &&
             mp_write_array(&writer, 1) && mp_write_array(&writer, 2) &&
             mp_write_str_cstr(&writer, "t") && mp_write_array(&writer, 1) &&
             mp_write_array(&writer, 3) && mp_write_int(&writer, 0) && mp_write_int(&writer, 1) &&
             mp_write_bin(&writer, "m", 1));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_OFFSET_COMMIT, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    static const uint8_t uint64_max[] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_str_cstr(&writer, "g") &&
             mp_write_array(&writer, 1) && mp_write_array(&writer, 2) &&
             mp_write_str_cstr(&writer, "t") && mp_write_array(&writer, 1) &&
             mp_write_array(&writer, 2) && mp_write_int(&writer, 0) &&
             mp_write_raw(&writer, uint64_max, sizeof(uint64_max)) &&
             mp_write_bool(&writer, false));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_RESET_OFFSETS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* validate_only as an int; DESCRIBE_GROUPS groups nil (not nil-able) */
    T_ASSERT(mp_write_array(&writer, 3) && mp_write_str_cstr(&writer, "g") &&
             mp_write_array(&writer, 0) && mp_write_int(&writer, 1));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_RESET_OFFSETS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    T_ASSERT(mp_write_array(&writer, 1) && mp_write_nil(&writer));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_DESCRIBE_GROUPS, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    /* owned partitions as str */
    T_ASSERT(mp_write_array(&writer, 9) && mp_write_str_cstr(&writer, "g") &&
             mp_write_str_cstr(&writer, "") && mp_write_str_cstr(&writer, "c") &&
             mp_write_int(&writer, 10000) && mp_write_int(&writer, 10000) &&
             mp_write_array(&writer, 0) && mp_write_array(&writer, 0) && mp_write_nil(&writer) &&
             mp_write_array(&writer, 1) && mp_write_array(&writer, 2) &&
             mp_write_str_cstr(&writer, "t") && mp_write_array(&writer, 1) &&
             mp_write_str_cstr(&writer, "0"));
    T_ASSERT_EQ_INT(decode_written(PROTO_API_JOIN_GROUP, &writer, &request),
                    RILL_ERR_INVALID_REQUEST);
    mp_writer_deinit(&writer);
    proto_arena_deinit(&arena);
    msgpack_sbuffer_destroy(&buffer);
}

/* The array budget covers the nested arrays of group bodies too. */
static void t_group_entry_limits(void)
{
    struct mp_writer writer;
    union proto_request request;
    mp_writer_init(&writer, 16u << 20);
    /* OFFSET_COMMIT: 2 topics of 49,999 partitions = 100,000 entries: accepted; one more not. */
    for (uint32_t extra = 0; extra < 2; extra++) {
        T_ASSERT(mp_write_array(&writer, 4) && mp_write_str_cstr(&writer, "g") &&
                 mp_write_str_cstr(&writer, "m") && mp_write_int(&writer, 1) &&
                 mp_write_array(&writer, 2));
        for (uint32_t topic = 0; topic < 2; topic++) {
            uint32_t count = 49999 + (topic == 1 ? extra : 0);
            T_ASSERT(mp_write_array(&writer, 2) && mp_write_str_cstr(&writer, "t") &&
                     mp_write_array(&writer, count));
            for (uint32_t i = 0; i < count; i++) {
                T_ASSERT(mp_write_array(&writer, 3) && mp_write_int(&writer, i) &&
                         mp_write_int(&writer, 0) && mp_write_nil(&writer));
            }
        }
        T_ASSERT_EQ_INT(decode_written(PROTO_API_OFFSET_COMMIT, &writer, &request),
                        extra == 0 ? RILL_OK : RILL_ERR_INVALID_REQUEST);
    }
    /* JOIN_GROUP: owned partitions count as entries (1 topic list + 1 topic + partitions). */
    for (uint32_t extra = 0; extra < 2; extra++) {
        uint32_t count = RILL_PROTO_ARRAY_ENTRIES_MAX - 1 + extra;
        T_ASSERT(mp_write_array(&writer, 9) && mp_write_str_cstr(&writer, "g") &&
                 mp_write_str_cstr(&writer, "") && mp_write_str_cstr(&writer, "c") &&
                 mp_write_int(&writer, 10000) && mp_write_int(&writer, 10000) &&
                 mp_write_array(&writer, 0) && mp_write_array(&writer, 0) &&
                 mp_write_nil(&writer) && mp_write_array(&writer, 1) &&
                 mp_write_array(&writer, 2) && mp_write_str_cstr(&writer, "t") &&
                 mp_write_array(&writer, count));
        for (uint32_t i = 0; i < count; i++) {
            T_ASSERT(mp_write_int(&writer, i));
        }
        T_ASSERT_EQ_INT(decode_written(PROTO_API_JOIN_GROUP, &writer, &request),
                        extra == 0 ? RILL_OK : RILL_ERR_INVALID_REQUEST);
    }
    mp_writer_deinit(&writer);
}

static void t_group_ids(void)
{
    T_ASSERT(proto_group_id_valid("billing", 7));
    T_ASSERT(proto_group_id_valid("__ops.v2-x_y", 12));
    T_ASSERT(!proto_group_id_valid("", 0));
    T_ASSERT(!proto_group_id_valid(".", 1));
    T_ASSERT(!proto_group_id_valid("..", 2));
    T_ASSERT(!proto_group_id_valid("a b", 3));
    T_ASSERT(!proto_group_id_valid("a/b", 3));
    char long_id[PROTO_GROUP_ID_BYTES_MAX + 1];
    memset(long_id, 'g', sizeof(long_id));
    T_ASSERT(proto_group_id_valid(long_id, PROTO_GROUP_ID_BYTES_MAX));
    T_ASSERT(!proto_group_id_valid(long_id, PROTO_GROUP_ID_BYTES_MAX + 1));
    T_ASSERT(strcmp(proto_api_name(PROTO_API_RESET_OFFSETS), "RESET_OFFSETS") == 0);
    T_ASSERT(proto_api_supported(PROTO_API_JOIN_GROUP, 1));
    T_ASSERT(strcmp(rill_err_name(RILL_ERR_OFFSET_REGRESSION), "ERR_OFFSET_REGRESSION") == 0);
    T_ASSERT_EQ_INT(RILL_ERR_UNKNOWN_GROUP, -40);
    T_ASSERT_EQ_INT(RILL_ERR_OFFSET_REGRESSION, -49);
}

/* Writes one corpus file dir/name. */
static void corpus_write(const char *dir, const char *name, const uint8_t *data, size_t bytes)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *file = fopen(path, "wb");
    T_ASSERT(file != NULL);
    T_ASSERT(fwrite(data, 1, bytes, file) == bytes);
    T_ASSERT(fclose(file) == 0);
}

/* Second samples of group bodies for the corpora: the other branch of each nil-able field
 * and error answers. False when api has none. */
static bool sample_group_variant(uint32_t api,
                                 bool response,
                                 union proto_request *request,
                                 union proto_response *answer)
{
    if (!response) {
        sample_request(api, request);
    } else {
        sample_response(api, answer);
    }
    switch (api) {
    case PROTO_API_JOIN_GROUP:
        if (!response) {
            request->join_group.topics = NULL;
            request->join_group.topic_count = 0;
            request->join_group.topics_nil = true;
            request->join_group.pattern = STR("orders\\..*");
            request->join_group.member_id = STR("rill-consumer-5f2c");
            request->join_group.owned_count = 0;
        } else {
            answer->join_group = (struct proto_join_group_response){
                RILL_ERR_INCONSISTENT_STRATEGY, -1, STR(""), STR(""), NULL, 0, NULL, 0, 0
            };
        }
        return true;
    case PROTO_API_OFFSET_COMMIT:
        if (!response) {
            request->offset_commit.member_id = STR("");
            request->offset_commit.generation = PROTO_GENERATION_NONE;
        } else {
            answer->offset_commit =
                (struct proto_offset_commit_response){ RILL_ERR_STALE_GENERATION, NULL, 0 };
        }
        return true;
    case PROTO_API_OFFSET_FETCH:
        if (!response) {
            request->offset_fetch.topics = NULL;
            request->offset_fetch.topic_count = 0;
            request->offset_fetch.topics_all = true;
        } else {
            answer->offset_fetch = (struct proto_offset_fetch_response){ 0, NULL, 0 };
        }
        return true;
    case PROTO_API_LIST_GROUPS:
        if (!response) {
            request->list_groups = (struct proto_list_groups_request){ NULL, 0, true };
        } else {
            answer->list_groups = (struct proto_list_groups_response){ NULL, 0 };
        }
        return true;
    case PROTO_API_RESET_OFFSETS:
        if (!response) {
            request->reset_offsets.validate_only = false;
        } else {
            answer->reset_offsets =
                (struct proto_reset_offsets_response){ RILL_ERR_GROUP_NOT_EMPTY, NULL, 0 };
        }
        return true;
    default:
        return false;
    }
}

/* The variants round-trip like the main samples. */
static void t_group_variants(void)
{
    struct mp_writer first, second;
    struct proto_arena arena;
    mp_writer_init(&first, 1u << 20);
    mp_writer_init(&second, 1u << 20);
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    uint32_t variants = 0;
    for (uint32_t api = 0; api < PROTO_API_COUNT; api++) {
        for (int response = 0; response < 2; response++) {
            union proto_request request, decoded_request;
            union proto_response answer, decoded_response;
            if (!sample_group_variant(api, response, &request, &answer)) {
                continue;
            }
            variants++;
            mp_writer_reset(&first);
            mp_writer_reset(&second);
            T_ASSERT_OK(response ? proto_response_body_encode(api, &first, &answer)
                                 : proto_request_body_encode(api, &first, &request));
            T_ASSERT_OK(decode_body(api, response, first.data, first.bytes, &arena,
                                    &decoded_response, &decoded_request));
            T_ASSERT_OK(response ? proto_response_body_encode(api, &second, &decoded_response)
                                 : proto_request_body_encode(api, &second, &decoded_request));
            T_ASSERT_EQ_INT(first.bytes, second.bytes);
            T_ASSERT_MEM_EQ(first.data, second.data, first.bytes);
        }
    }
    T_ASSERT_EQ_INT(variants, 10);
    proto_arena_deinit(&arena);
    mp_writer_deinit(&first);
    mp_writer_deinit(&second);
}

/* fuzz_proto_frame: a stream of request frames. fuzz_proto_response: one byte of api then a
 * response header and body. */
static void write_seed(uint32_t api,
                       bool response,
                       const char *dir,
                       const char *name,
                       const union proto_request *request,
                       const union proto_response *answer)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 1u << 20);
    if (response) {
        struct proto_response_header header = { 2000 + api, 0, NULL, 0 };
        uint8_t api_byte = (uint8_t)api;
        T_ASSERT(mp_write_raw(&writer, &api_byte, 1));
        T_ASSERT_OK(proto_response_header_encode(&writer, &header));
        T_ASSERT_OK(proto_response_body_encode(api, &writer, answer));
    } else {
        struct proto_request_header header = { api, 1, 2000 + api };
        T_ASSERT_OK(proto_frame_begin(&writer));
        T_ASSERT_OK(proto_request_header_encode(&writer, &header));
        T_ASSERT_OK(proto_request_body_encode(api, &writer, request));
        T_ASSERT_OK(proto_frame_end(&writer));
    }
    corpus_write(dir, name, writer.data, writer.bytes);
    mp_writer_deinit(&writer);
}

static void write_variant_seeds(uint32_t api, const char *frame_dir, const char *response_dir)
{
    union proto_request request;
    union proto_response answer;
    char name[64];
    if (sample_group_variant(api, false, &request, &answer)) {
        snprintf(name, sizeof(name), "request-%s-2", proto_api_name(api));
        write_seed(api, false, frame_dir, name, &request, &answer);
    }
    if (sample_group_variant(api, true, &request, &answer)) {
        snprintf(name, sizeof(name), "response-%s-2", proto_api_name(api));
        write_seed(api, true, response_dir, name, &request, &answer);
    }
}

static void write_corpus(const char *root)
{
    char frame_dir[400], response_dir[400];
    snprintf(frame_dir, sizeof(frame_dir), "%s/fuzz_proto_frame", root);
    snprintf(response_dir, sizeof(response_dir), "%s/fuzz_proto_response", root);
    mkdir(frame_dir, 0755);
    mkdir(response_dir, 0755);
    struct mp_writer writer, body;
    mp_writer_init(&writer, 1u << 20);
    mp_writer_init(&body, 1u << 20);
    for (uint32_t api = 0; api < PROTO_API_COUNT; api++) {
        char name[64];
        mp_writer_reset(&writer);
        encode_body(api, false, &body);
        struct proto_request_header request = { api, 1, 1000 + api };
        T_ASSERT_OK(proto_frame_begin(&writer));
        T_ASSERT_OK(proto_request_header_encode(&writer, &request));
        T_ASSERT(mp_write_raw(&writer, body.data, body.bytes));
        T_ASSERT_OK(proto_frame_end(&writer));
        snprintf(name, sizeof(name), "request-%s", proto_api_name(api));
        corpus_write(frame_dir, name, writer.data, writer.bytes);

        mp_writer_reset(&writer);
        encode_body(api, true, &body);
        struct proto_response_header response = { 1000 + api, 0, NULL, 0 };
        uint8_t api_byte = (uint8_t)api;
        T_ASSERT(mp_write_raw(&writer, &api_byte, 1));
        T_ASSERT_OK(proto_response_header_encode(&writer, &response));
        T_ASSERT(mp_write_raw(&writer, body.data, body.bytes));
        snprintf(name, sizeof(name), "response-%s", proto_api_name(api));
        corpus_write(response_dir, name, writer.data, writer.bytes);
        write_variant_seeds(api, frame_dir, response_dir);
    }
    mp_writer_deinit(&writer);
    mp_writer_deinit(&body);
}

static const struct t_case cases[] = {
    T_CASE(t_round_trip_every_message),
    T_CASE(t_decoded_fields),
    T_CASE(t_truncation_every_byte),
    T_CASE(t_missing_and_extra_fields),
    T_CASE(t_wrong_types),
    T_CASE(t_nested_extra_fields),
    T_CASE(t_value_checks),
    T_CASE(t_entry_limits),
    T_CASE(t_arena),
    T_CASE(t_encoder_limits),
    T_CASE(t_fetch_spliced),
    T_CASE(t_fetch_pieces),
    T_CASE(t_topic_names),
    T_CASE(t_group_msgpack_oracle),
    T_CASE(t_group_malformed),
    T_CASE(t_group_entry_limits),
    T_CASE(t_group_ids),
    T_CASE(t_group_variants),
};

int main(int argc, char **argv)
{
    const char *corpus_root = getenv("RILL_WRITE_CORPUS");
    if (corpus_root != NULL) {
        write_corpus(corpus_root);
        return 0;
    }
    return t_run(argc, argv, cases, T_COUNT(cases));
}
