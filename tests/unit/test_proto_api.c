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
        T_FAIL("no sample for api %u", api);
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
        T_FAIL("no sample for api %u", api);
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

/* fuzz_proto_frame: a stream of request frames. fuzz_proto_response: one byte of api then a
 * response header and body. */
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
    T_CASE(t_topic_names),
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
