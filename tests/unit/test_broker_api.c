/*
 * test_broker_api.c - the broker's APIs end to end against real rilld processes: topics,
 * produce with every acks, idempotence windows, fetch and its long poll, list offsets, init
 * producer id, restarts (clean and kill -9) and hostile produce bodies. Requests are encoded
 * with proto/ (test_broker_wire.c checks the wire by hand); batches are built with log/batch.h.
 */
#define WIRE_START_TIMEOUT_MS 10000
#define WIRE_STOP_TIMEOUT_MS  5000
#include "tests/rilld_fixture.h"

#include <stdlib.h>

#include "broker/handlers.h"
#include "broker/topics.h"
#include "common/clock.h"
#include "log/batch.h"
#include "proto/api.h"
#include "proto/frame.h"
#include "proto/mp.h"

#define API_IO_TIMEOUT_MS 10000

struct api_client {
    int fd;
    uint32_t correlation_id;
    struct proto_arena arena; /* decoded response arrays, reset per call */
    uint8_t *frame;           /* last response frame (decoded strings point into it) */
    uint32_t frame_bytes;     /* bytes at frame (length prefix not included) */
    struct proto_response_header header;
};

static void client_open(struct api_client *client, uint16_t port)
{
    memset(client, 0, sizeof(*client));
    client->fd = wire_connect(port);
    proto_arena_init(&client->arena, RILL_PROTO_ARENA_BYTES_MAX);
}

static void client_close(struct api_client *client)
{
    close(client->fd);
    free(client->frame);
    proto_arena_deinit(&client->arena);
}

static void client_send(struct api_client *client, uint32_t api, const union proto_request *request)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 64u << 20);
    struct proto_request_header header = { api, 1, ++client->correlation_id };
    T_ASSERT(proto_frame_begin(&writer) == RILL_OK);
    T_ASSERT(proto_request_header_encode(&writer, &header) == RILL_OK);
    T_ASSERT(proto_request_body_encode(api, &writer, request) == RILL_OK);
    T_ASSERT(proto_frame_end(&writer) == RILL_OK);
    wire_send(client->fd, writer.data, writer.bytes);
    mp_writer_deinit(&writer);
}

/* Reads one response; returns the header error, with the body decoded into *response when 0. */
static int32_t client_recv(struct api_client *client,
                           uint32_t api,
                           union proto_response *response,
                           int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint8_t prefix[4];
    T_ASSERT(wire_recv_exact(client->fd, prefix, 4, deadline));
    uint32_t bytes = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                     (uint32_t)prefix[2] << 8 | prefix[3];
    T_ASSERT(bytes > 0 && bytes <= (64u << 20));
    free(client->frame);
    client->frame = malloc(bytes);
    T_ASSERT(client->frame != NULL);
    T_ASSERT(wire_recv_exact(client->fd, client->frame, bytes, deadline));
    client->frame_bytes = bytes;
    struct mp_reader reader;
    mp_reader_init(&reader, client->frame, bytes);
    T_ASSERT(proto_response_header_decode(&reader, &client->header) == RILL_OK);
    T_ASSERT_EQ_INT(client->header.correlation_id, client->correlation_id);
    if (client->header.error != 0) {
        return client->header.error;
    }
    proto_arena_reset(&client->arena);
    memset(response, 0, sizeof(*response));
    T_ASSERT(proto_response_body_decode(api, &reader, &client->arena, response) == RILL_OK);
    return 0;
}

static int32_t client_call(struct api_client *client,
                           uint32_t api,
                           const union proto_request *request,
                           union proto_response *response)
{
    client_send(client, api, request);
    return client_recv(client, api, response, API_IO_TIMEOUT_MS);
}

static struct proto_str str_of(const char *text)
{
    return (struct proto_str){ text, (uint32_t)strlen(text) };
}

/* Creates topic with partitions and optional configs; returns the per-topic error. */
static int32_t create_topic(struct api_client *client,
                            const char *name,
                            int32_t partitions,
                            struct proto_config *configs,
                            uint32_t config_count)
{
    struct proto_create_topic topic = {
        .name = str_of(name),
        .partitions = partitions,
        .replication_factor = -1,
        .configs = configs,
        .config_count = config_count,
    };
    union proto_request request = { .create_topics = { &topic, 1, false } };
    union proto_response response;
    T_ASSERT_EQ_INT(client_call(client, PROTO_API_CREATE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.create_topics.result_count, 1);
    return response.create_topics.results[0].error;
}

/* A batch of count records "<prefix>-<i>" (keys "k<i>"), optionally idempotent. */
static uint8_t *make_batch(const char *prefix,
                           int count,
                           int codec,
                           int64_t producer_id,
                           int32_t sequence,
                           size_t *out_bytes)
{
    struct log_batch_builder bld;
    T_ASSERT(log_batch_builder_init(&bld, codec, 1u << 20) == RILL_OK);
    if (producer_id >= 0) {
        log_batch_builder_set_producer(&bld, producer_id, 0, sequence);
    }
    for (int i = 0; i < count; i++) {
        char key[32], value[64];
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(value, sizeof(value), "%s-%d", prefix, i);
        rill_record_t rec = { key, strlen(key), value, strlen(value), NULL, 0, 1000 + i };
        T_ASSERT(log_batch_builder_add(&bld, &rec, 0) == RILL_OK);
    }
    uint8_t *batch = NULL;
    size_t bytes = 0;
    T_ASSERT(log_batch_builder_finish(&bld, &batch, &bytes) == RILL_OK);
    uint8_t *copy = malloc(bytes);
    T_ASSERT(copy != NULL);
    memcpy(copy, batch, bytes);
    log_batch_builder_deinit(&bld);
    *out_bytes = bytes;
    return copy;
}

/* Produces bytes to topic/partition with acks; returns the partition error, base in *out. */
static int32_t produce_raw(struct api_client *client,
                           const char *topic,
                           int32_t partition,
                           int32_t acks,
                           const uint8_t *bytes,
                           size_t count,
                           int64_t *out_base)
{
    struct proto_produce_partition part = { partition, { bytes, (uint32_t)count } };
    struct proto_produce_topic entry = { str_of(topic), &part, 1 };
    union proto_request request = { .produce = { acks, 10000, &entry, 1 } };
    client_send(client, PROTO_API_PRODUCE, &request);
    if (acks == 0) {
        return 0;
    }
    union proto_response response;
    T_ASSERT_EQ_INT(client_recv(client, PROTO_API_PRODUCE, &response, API_IO_TIMEOUT_MS), 0);
    T_ASSERT_EQ_INT(response.produce.topic_count, 1);
    T_ASSERT_EQ_INT(response.produce.topics[0].partition_count, 1);
    const struct proto_produce_partition_result *result = &response.produce.topics[0].partitions[0];
    T_ASSERT_EQ_INT(result->partition, partition);
    if (out_base != NULL) {
        *out_base = result->base_offset;
    }
    return result->error;
}

static int32_t produce_records(struct api_client *client,
                               const char *topic,
                               int32_t partition,
                               int32_t acks,
                               const char *prefix,
                               int count,
                               int64_t *out_base)
{
    size_t bytes = 0;
    uint8_t *batch = make_batch(prefix, count, LOG_CODEC_LZ4, -1, 0, &bytes);
    int32_t err = produce_raw(client, topic, partition, acks, batch, bytes, out_base);
    free(batch);
    return err;
}

/* Fetches from offset; returns the partition result (batches valid until the next call). */
static struct proto_fetch_partition_result fetch(struct api_client *client,
                                                 const char *topic,
                                                 int32_t partition,
                                                 int64_t offset,
                                                 int32_t max_wait_ms,
                                                 int32_t min_bytes)
{
    struct proto_fetch_partition part = { partition, offset, 1 << 20 };
    struct proto_fetch_topic entry = { str_of(topic), &part, 1 };
    union proto_request request = { .fetch = { max_wait_ms, min_bytes, 4 << 20, &entry, 1 } };
    union proto_response response;
    client_send(client, PROTO_API_FETCH, &request);
    T_ASSERT_EQ_INT(
        client_recv(client, PROTO_API_FETCH, &response, max_wait_ms + API_IO_TIMEOUT_MS), 0);
    T_ASSERT_EQ_INT(response.fetch.topic_count, 1);
    T_ASSERT_EQ_INT(response.fetch.topics[0].partition_count, 1);
    return response.fetch.topics[0].partitions[0];
}

/* Counts the records of fetched batches at or above from, checking "<prefix>-<i>" values in
 * order when prefix is set. */
static int count_records(const struct proto_bin *batches, int64_t from, int64_t *io_next)
{
    struct log_record_iter it;
    log_record_iter_init(&it);
    int count = 0;
    size_t position = 0;
    while (position < batches->bytes) {
        struct log_batch_header hdr;
        T_ASSERT(log_batch_header_decode(batches->ptr + position, batches->bytes - position,
                                         &hdr) == RILL_OK);
        size_t total = log_batch_total_bytes(&hdr);
        T_ASSERT(log_batch_validate(batches->ptr + position, total, false, &hdr) == RILL_OK);
        T_ASSERT(log_record_iter_start(&it, batches->ptr + position, total) == RILL_OK);
        struct log_record record;
        rill_err err;
        while ((err = log_record_iter_next(&it, &record)) == RILL_OK) {
            if (record.offset >= from) {
                if (io_next != NULL) {
                    T_ASSERT_EQ_INT(record.offset, *io_next);
                    (*io_next)++;
                }
                count++;
            }
        }
        T_ASSERT_EQ_INT(err, RILL_ERR_END);
        position += total;
    }
    log_record_iter_deinit(&it);
    return count;
}

static int64_t list_offset(struct api_client *client,
                           const char *topic,
                           int32_t partition,
                           int64_t timestamp,
                           int32_t *out_error)
{
    struct proto_list_offsets_partition part = { partition, timestamp };
    struct proto_list_offsets_topic entry = { str_of(topic), &part, 1 };
    union proto_request request = { .list_offsets = { &entry, 1 } };
    union proto_response response;
    T_ASSERT_EQ_INT(client_call(client, PROTO_API_LIST_OFFSETS, &request, &response), 0);
    *out_error = response.list_offsets.topics[0].partitions[0].error;
    return response.list_offsets.topics[0].partitions[0].offset;
}

static int64_t init_producer_id(struct api_client *client)
{
    union proto_request request = { .init_producer_id = { { NULL, 0 }, 1000 } };
    union proto_response response;
    T_ASSERT_EQ_INT(client_call(client, PROTO_API_INIT_PRODUCER_ID, &request, &response), 0);
    T_ASSERT_EQ_INT(response.init_producer_id.error, 0);
    T_ASSERT(response.init_producer_id.producer_id >= 0);
    return response.init_producer_id.producer_id;
}

/* GETs path from the broker's HTTP port; returns the malloc'd response (headers and body). */
static char *http_get(uint16_t port, const char *path)
{
    int fd = wire_connect(port);
    char request[256];
    int bytes = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    wire_send(fd, request, (size_t)bytes);
    size_t capacity = 1 << 20, used = 0;
    char *text = malloc(capacity);
    T_ASSERT(text != NULL);
    int64_t deadline = now_ms() + API_IO_TIMEOUT_MS;
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        T_ASSERT(now_ms() < deadline);
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        ssize_t got = recv(fd, text + used, capacity - 1 - used, 0);
        if (got <= 0) {
            break;
        }
        used += (size_t)got;
        T_ASSERT(used < capacity - 1);
    }
    text[used] = '\0';
    close(fd);
    return text;
}

/* Cores of the brokers this run starts: every case runs with one core and with three, where
 * most partitions belong to another core than the one a request arrives on (route.c). */
static unsigned api_cores = 1;

static void api_prepare(struct rilld *broker, const char *extra)
{
    char config[256];
    snprintf(config, sizeof(config), "cores = %u\n%s", api_cores, extra != NULL ? extra : "");
    rilld_prepare(broker, config);
}

/* ---------------------------------------------------------------------------------------- */

static void t_topics_lifecycle(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    struct proto_config configs[] = { { str_of("retention.ms"), str_of("60000") } };
    T_ASSERT_EQ_INT(create_topic(&client, "orders", 3, configs, 1), 0);
    T_ASSERT_EQ_INT(create_topic(&client, "orders", 3, NULL, 0), RILL_ERR_EXISTS);
    T_ASSERT_EQ_INT(create_topic(&client, "bad name", 1, NULL, 0), RILL_ERR_INVALID_TOPIC);
    T_ASSERT_EQ_INT(create_topic(&client, "__internal", 1, NULL, 0), RILL_ERR_INVALID_TOPIC);
    T_ASSERT_EQ_INT(create_topic(&client, "zero", 0, NULL, 0), RILL_ERR_INVALID_PARTITIONS);
    struct proto_config bad_key[] = { { str_of("no.such.key"), str_of("1") } };
    T_ASSERT_EQ_INT(create_topic(&client, "badcfg", 1, bad_key, 1), RILL_ERR_CONFIG_KEY);
    struct proto_config client_key[] = { { str_of("acks"), str_of("1") } };
    T_ASSERT_EQ_INT(create_topic(&client, "badcfg", 1, client_key, 1), RILL_ERR_CONFIG_KEY);
    struct proto_config bad_value[] = { { str_of("flush"), str_of("sometimes") } };
    T_ASSERT_EQ_INT(create_topic(&client, "badcfg", 1, bad_value, 1), RILL_ERR_CONFIG_VALUE);

    union proto_request request = { .metadata = { NULL, 0, true, false } };
    union proto_response response;
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_METADATA, &request, &response), 0);
    T_ASSERT_EQ_INT(response.metadata.broker_count, 1);
    T_ASSERT_EQ_INT(response.metadata.brokers[0].port, broker.port);
    T_ASSERT_EQ_INT(response.metadata.topic_count, 1);
    T_ASSERT_EQ_INT(response.metadata.topics[0].partition_count, 3);
    T_ASSERT_EQ_INT(response.metadata.topics[0].partitions[2].leader, 0);

    struct proto_str missing = str_of("missing");
    request = (union proto_request){ .metadata = { &missing, 1, false, true } };
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_METADATA, &request, &response), 0);
    T_ASSERT_EQ_INT(response.metadata.topics[0].error, RILL_ERR_UNKNOWN_TOPIC);

    /* Alter: set, then reset; describe shows the effective value. */
    struct proto_config alter_configs[] = { { str_of("retention.ms"), { NULL, 0 } },
                                            { str_of("segment.bytes"), str_of("1048576") } };
    struct proto_alter_topic alter = { str_of("orders"), alter_configs, 2 };
    request = (union proto_request){ .alter_configs = { &alter, 1 } };
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_ALTER_CONFIGS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.alter_configs.results[0].error, 0);
    struct proto_str name = str_of("orders");
    request = (union proto_request){ .describe_topics = { &name, 1, false } };
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_DESCRIBE_TOPICS, &request, &response), 0);
    const struct proto_describe_topic *described = &response.describe_topics.topics[0];
    T_ASSERT_EQ_INT(described->error, 0);
    T_ASSERT_EQ_INT(described->partition_count, 3);
    bool seen_segment = false, seen_retention = false;
    for (uint32_t i = 0; i < described->config_count; i++) {
        const struct proto_config *config = &described->configs[i];
        if (config->key.bytes == 13 && memcmp(config->key.ptr, "segment.bytes", 13) == 0) {
            seen_segment = config->value.bytes == 7 && memcmp(config->value.ptr, "1048576", 7) == 0;
        }
        if (config->key.bytes == 12 && memcmp(config->key.ptr, "retention.ms", 12) == 0) {
            seen_retention =
                config->value.bytes == 9 && memcmp(config->value.ptr, "604800000", 9) == 0;
        }
    }
    T_ASSERT(seen_segment && seen_retention);

    /* Survives a restart; delete removes it and its directories. */
    client_close(&client);
    rilld_stop_clean(&broker);
    rilld_start(&broker);
    client_open(&client, broker.port);
    request = (union proto_request){ .describe_topics = { NULL, 0, true } };
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_DESCRIBE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.describe_topics.topic_count, 1);
    request = (union proto_request){ .delete_topics = { &name, 1 } };
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_DELETE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.delete_topics.results[0].error, 0);
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_DELETE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.delete_topics.results[0].error, RILL_ERR_UNKNOWN_TOPIC);
    char path[700];
    snprintf(path, sizeof(path), "%s/orders-0", broker.data_dir);
    T_ASSERT(access(path, F_OK) != 0);
    /* Recreated under the same name, it starts empty. */
    T_ASSERT_EQ_INT(create_topic(&client, "orders", 1, NULL, 0), 0);
    int32_t error = 0;
    T_ASSERT_EQ_INT(list_offset(&client, "orders", 0, PROTO_LIST_OFFSETS_LATEST, &error), 0);
    client_close(&client);
    rilld_stop_clean(&broker);
}

static void t_produce_fetch_acks(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    struct proto_config os[] = { { str_of("flush"), str_of("os") } };
    T_ASSERT_EQ_INT(create_topic(&client, "always", 2, NULL, 0), 0);
    T_ASSERT_EQ_INT(create_topic(&client, "os", 1, os, 1), 0);
    int64_t base = -1;
    T_ASSERT_EQ_INT(produce_records(&client, "always", 0, -1, "a", 100, &base), 0);
    T_ASSERT_EQ_INT(base, 0);
    T_ASSERT_EQ_INT(produce_records(&client, "always", 0, 1, "b", 50, &base), 0);
    T_ASSERT_EQ_INT(base, 100);
    T_ASSERT_EQ_INT(produce_records(&client, "always", 0, 0, "c", 10, NULL), 0);
    T_ASSERT_EQ_INT(produce_records(&client, "os", 0, -1, "d", 10, &base), 0);
    T_ASSERT_EQ_INT(base, 0);
    T_ASSERT_EQ_INT(produce_records(&client, "always", 9, 1, "x", 1, NULL),
                    RILL_ERR_UNKNOWN_PARTITION);
    T_ASSERT_EQ_INT(produce_records(&client, "nope", 0, 1, "x", 1, NULL), RILL_ERR_UNKNOWN_TOPIC);

    /* acks=0 was not answered; its records still arrive (the next answered request proves the
     * order: responses follow requests). */
    int64_t next = 0;
    int total = 0;
    for (int round = 0; round < 10 && next < 160; round++) {
        struct proto_fetch_partition_result result = fetch(&client, "always", 0, next, 1000, 1);
        T_ASSERT_EQ_INT(result.error, 0);
        total += count_records(&result.batches, next, &next);
    }
    T_ASSERT_EQ_INT(total, 160);
    T_ASSERT_EQ_INT(next, 160);
    /* Fetch from the middle of a batch: the batch starts before; the client skips. */
    struct proto_fetch_partition_result result = fetch(&client, "always", 0, 120, 0, 1);
    T_ASSERT_EQ_INT(result.high_watermark, 160);
    int64_t from = 120;
    T_ASSERT(count_records(&result.batches, 120, &from) >= 30);
    /* max_bytes 1: the first partition still returns a batch, the rest of the response is
     * empty (the same partition asked twice shows it). */
    struct proto_fetch_partition twice[2] = { { 0, 0, 1 << 20 }, { 0, 0, 1 << 20 } };
    struct proto_fetch_topic twice_entry = { str_of("always"), twice, 2 };
    union proto_request twice_request = { .fetch = { 0, 1, 1, &twice_entry, 1 } };
    union proto_response twice_response;
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_FETCH, &twice_request, &twice_response), 0);
    T_ASSERT(twice_response.fetch.topics[0].partitions[0].batches.bytes > 0);
    T_ASSERT_EQ_INT(twice_response.fetch.topics[0].partitions[1].batches.bytes, 0);
    T_ASSERT_EQ_INT(twice_response.fetch.topics[0].partitions[1].error, 0);
    /* Out of range, and at the end (empty). */
    result = fetch(&client, "always", 0, 161, 0, 1);
    T_ASSERT_EQ_INT(result.error, RILL_ERR_OFFSET_OUT_OF_RANGE);
    result = fetch(&client, "always", 0, 160, 0, 1);
    T_ASSERT_EQ_INT(result.error, 0);
    T_ASSERT_EQ_INT(result.batches.bytes, 0);

    int32_t error = 0;
    T_ASSERT_EQ_INT(list_offset(&client, "always", 0, PROTO_LIST_OFFSETS_EARLIEST, &error), 0);
    T_ASSERT_EQ_INT(list_offset(&client, "always", 0, PROTO_LIST_OFFSETS_LATEST, &error), 160);
    T_ASSERT_EQ_INT(list_offset(&client, "always", 0, 1049, &error), 49);
    T_ASSERT_EQ_INT(list_offset(&client, "always", 0, 999999, &error), 160);
    T_ASSERT_EQ_INT(error, 0);
    /* /metrics carries the per-partition figures. */
    char *metrics = http_get(broker.http_port, "/metrics");
    T_ASSERT(strstr(metrics, "rill_partition_produced_records_total{topic=\"always\","
                             "partition=\"0\"} 160\n") != NULL);
    T_ASSERT(strstr(metrics, "rill_partition_high_watermark{topic=\"always\","
                             "partition=\"0\"} 160\n") != NULL);
    T_ASSERT(strstr(metrics, "rill_partition_produce_errors_total{topic=\"always\","
                             "partition=\"0\"} 0\n") != NULL);
    free(metrics);
    client_close(&client);
    rilld_stop_clean(&broker);
}

static void t_long_poll(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client consumer, producer;
    client_open(&consumer, broker.port);
    client_open(&producer, broker.port);
    T_ASSERT_EQ_INT(create_topic(&producer, "poll", 1, NULL, 0), 0);
    /* Nothing there: the fetch waits its max_wait and returns empty. */
    int64_t start = now_ms();
    struct proto_fetch_partition_result result = fetch(&consumer, "poll", 0, 0, 300, 1);
    T_ASSERT_EQ_INT(result.batches.bytes, 0);
    T_ASSERT(now_ms() - start >= 250);
    /* A long poll answered by a produce long before its 20 s wait. */
    struct proto_fetch_partition part = { 0, 0, 1 << 20 };
    struct proto_fetch_topic entry = { str_of("poll"), &part, 1 };
    union proto_request request = { .fetch = { 20000, 1, 4 << 20, &entry, 1 } };
    client_send(&consumer, PROTO_API_FETCH, &request);
    pause_ms(100);
    start = now_ms();
    T_ASSERT_EQ_INT(produce_records(&producer, "poll", 0, 1, "p", 5, NULL), 0);
    union proto_response response;
    T_ASSERT_EQ_INT(client_recv(&consumer, PROTO_API_FETCH, &response, 15000), 0);
    T_ASSERT(now_ms() - start < 15000);
    int64_t next = 0;
    T_ASSERT_EQ_INT(count_records(&response.fetch.topics[0].partitions[0].batches, 0, &next), 5);
    /* A long poll in progress does not hold up a graceful stop: it is answered at once. */
    part.offset = 5;
    client_send(&consumer, PROTO_API_FETCH, &request);
    pause_ms(100);
    kill(broker.pid, SIGTERM);
    T_ASSERT_EQ_INT(client_recv(&consumer, PROTO_API_FETCH, &response, 3000), 0);
    T_ASSERT_EQ_INT(response.fetch.topics[0].partitions[0].batches.bytes, 0);
    int status = rilld_wait(&broker, 3000);
    T_ASSERT(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    client_close(&consumer);
    client_close(&producer);
}

static void t_idempotent_produce(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "idem", 1, NULL, 0), 0);
    int64_t pid = init_producer_id(&client);
    T_ASSERT(init_producer_id(&client) != pid);
    size_t bytes[3];
    uint8_t *batch0 = make_batch("i0", 10, LOG_CODEC_LZ4, pid, 0, &bytes[0]);
    uint8_t *batch1 = make_batch("i1", 10, LOG_CODEC_NONE, pid, 10, &bytes[1]);
    uint8_t *gap = make_batch("gap", 10, LOG_CODEC_NONE, pid, 30, &bytes[2]);
    int64_t base = -1;
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, -1, batch0, bytes[0], &base), 0);
    T_ASSERT_EQ_INT(base, 0);
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, -1, batch1, bytes[1], &base), 0);
    T_ASSERT_EQ_INT(base, 10);
    /* A retry of either batch (its answer was lost) gets its original offset, appends nothing. */
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, -1, batch0, bytes[0], &base), 0);
    T_ASSERT_EQ_INT(base, 0);
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, 1, batch1, bytes[1], &base), 0);
    T_ASSERT_EQ_INT(base, 10);
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, 1, gap, bytes[2], &base),
                    RILL_ERR_OUT_OF_ORDER_SEQUENCE);
    int32_t error = 0;
    T_ASSERT_EQ_INT(list_offset(&client, "idem", 0, PROTO_LIST_OFFSETS_LATEST, &error), 20);
    /* After kill -9 the windows are rebuilt from the log's tail: a retry is still found. */
    client_close(&client);
    kill(broker.pid, SIGKILL);
    T_ASSERT(rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS) != -1);
    rilld_start(&broker);
    client_open(&client, broker.port);
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, -1, batch1, bytes[1], &base), 0);
    T_ASSERT_EQ_INT(base, 10);
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, 1, gap, bytes[2], &base),
                    RILL_ERR_OUT_OF_ORDER_SEQUENCE);
    T_ASSERT_EQ_INT(list_offset(&client, "idem", 0, PROTO_LIST_OFFSETS_LATEST, &error), 20);
    /* Ids issued before the restart are still known; new ones are never reused. */
    T_ASSERT(init_producer_id(&client) > pid + 1);
    /* An id the broker never issued. */
    size_t foreign_bytes = 0;
    uint8_t *foreign = make_batch("f", 1, LOG_CODEC_NONE, pid + 100000, 0, &foreign_bytes);
    T_ASSERT_EQ_INT(produce_raw(&client, "idem", 0, 1, foreign, foreign_bytes, NULL),
                    RILL_ERR_UNKNOWN_PRODUCER);
    free(batch0);
    free(batch1);
    free(gap);
    free(foreign);
    client_close(&client);
    rilld_stop_clean(&broker);
}

static void t_bad_batches(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    struct proto_config small[] = { { str_of("max.batch.bytes"), str_of("1024") } };
    T_ASSERT_EQ_INT(create_topic(&client, "strict", 1, small, 1), 0);
    size_t bytes = 0;
    uint8_t *batch = make_batch("v", 20, LOG_CODEC_NONE, -1, 0, &bytes);
    uint8_t *copy = malloc(bytes * 2);
    T_ASSERT(copy != NULL);
    /* A flipped byte in the records: CRC. */
    memcpy(copy, batch, bytes);
    copy[bytes - 3] ^= 0x40;
    T_ASSERT_EQ_INT(produce_raw(&client, "strict", 0, 1, copy, bytes, NULL), RILL_ERR_CRC);
    /* Cut short, garbage, empty, and a wrong magic. */
    T_ASSERT_EQ_INT(produce_raw(&client, "strict", 0, 1, batch, bytes - 1, NULL),
                    RILL_ERR_BAD_BATCH);
    T_ASSERT_EQ_INT(produce_raw(&client, "strict", 0, 1, (const uint8_t *)"garbage", 7, NULL),
                    RILL_ERR_BAD_BATCH);
    T_ASSERT_EQ_INT(produce_raw(&client, "strict", 0, 1, batch, 0, NULL), RILL_ERR_BAD_BATCH);
    memcpy(copy, batch, bytes);
    copy[16] = 1;
    T_ASSERT(produce_raw(&client, "strict", 0, 1, copy, bytes, NULL) != 0);
    /* One good batch followed by a bad one: nothing is appended. */
    memcpy(copy, batch, bytes);
    memcpy(copy + bytes, batch, bytes);
    copy[2 * bytes - 3] ^= 1;
    T_ASSERT_EQ_INT(produce_raw(&client, "strict", 0, 1, copy, 2 * bytes, NULL), RILL_ERR_CRC);
    /* Larger than the topic's max.batch.bytes. */
    size_t big_bytes = 0;
    uint8_t *big =
        make_batch("a-rather-long-value-to-pass-the-limit", 60, LOG_CODEC_NONE, -1, 0, &big_bytes);
    T_ASSERT(big_bytes > 1024);
    T_ASSERT_EQ_INT(produce_raw(&client, "strict", 0, 1, big, big_bytes, NULL), RILL_ERR_TOO_LARGE);
    int32_t error = 0;
    T_ASSERT_EQ_INT(list_offset(&client, "strict", 0, PROTO_LIST_OFFSETS_LATEST, &error), 0);
    /* The same good batch is accepted afterwards (acks=all: on a flush=always topic the high
     * watermark is the durable end, which acks=1 does not wait for). */
    T_ASSERT_EQ_INT(produce_raw(&client, "strict", 0, -1, batch, bytes, NULL), 0);
    T_ASSERT_EQ_INT(list_offset(&client, "strict", 0, PROTO_LIST_OFFSETS_LATEST, &error), 20);
    free(batch);
    free(copy);
    free(big);
    client_close(&client);
    rilld_stop_clean(&broker);
}

/* acks=all acknowledged records survive kill -9 (flush=always makes them durable first). */
static void t_kill9_acked_records_survive(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "durable", 2, NULL, 0), 0);
    int64_t acked[2] = { 0, 0 };
    for (int i = 0; i < 200; i++) {
        int32_t partition = i % 2;
        int64_t base = -1;
        T_ASSERT_EQ_INT(produce_records(&client, "durable", partition, -1, "r", 7, &base), 0);
        T_ASSERT_EQ_INT(base, acked[partition]);
        acked[partition] = base + 7;
    }
    /* A few more in flight while the broker dies. */
    for (int i = 0; i < 20; i++) {
        size_t bytes = 0;
        uint8_t *batch = make_batch("late", 3, LOG_CODEC_LZ4, -1, 0, &bytes);
        struct proto_produce_partition part = { 0, { batch, (uint32_t)bytes } };
        struct proto_produce_topic entry = { str_of("durable"), &part, 1 };
        union proto_request request = { .produce = { -1, 10000, &entry, 1 } };
        client_send(&client, PROTO_API_PRODUCE, &request);
        free(batch);
    }
    kill(broker.pid, SIGKILL);
    T_ASSERT(rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS) != -1);
    client_close(&client);
    int64_t restart_start = now_ms();
    rilld_start(&broker);
    client_open(&client, broker.port);
    int32_t error = 0;
    for (int32_t p = 0; p < 2; p++) {
        int64_t end = list_offset(&client, "durable", p, PROTO_LIST_OFFSETS_LATEST, &error);
        T_ASSERT_EQ_INT(error, 0);
        T_ASSERT(end >= acked[p]);
        int64_t next = 0;
        while (next < acked[p]) {
            struct proto_fetch_partition_result result = fetch(&client, "durable", p, next, 0, 1);
            T_ASSERT_EQ_INT(result.error, 0);
            T_ASSERT(result.batches.bytes > 0);
            (void)count_records(&result.batches, next, &next);
        }
    }
    printf("  restart to serving after kill -9: %lld ms\n", (long long)(now_ms() - restart_start));
    client_close(&client);
    rilld_stop_clean(&broker);
}

/* Sends a request frame of api/version with body as raw bytes; the header is well formed. */
static void send_raw_body(
    struct api_client *client, uint32_t api, uint32_t version, const void *body, size_t body_bytes)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 64u << 20);
    struct proto_request_header header = { api, version, ++client->correlation_id };
    T_ASSERT(proto_frame_begin(&writer) == RILL_OK);
    T_ASSERT(proto_request_header_encode(&writer, &header) == RILL_OK);
    T_ASSERT(mp_write_raw(&writer, body, body_bytes));
    T_ASSERT(proto_frame_end(&writer) == RILL_OK);
    wire_send(client->fd, writer.data, writer.bytes);
    mp_writer_deinit(&writer);
}

/* The error of the answer to a raw request (the body is not decoded). */
static int32_t raw_answer(struct api_client *client)
{
    union proto_response response;
    int64_t deadline = now_ms() + API_IO_TIMEOUT_MS;
    uint8_t prefix[4];
    T_ASSERT(wire_recv_exact(client->fd, prefix, 4, deadline));
    uint32_t bytes = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                     (uint32_t)prefix[2] << 8 | prefix[3];
    T_ASSERT(bytes > 0 && bytes <= (64u << 20));
    free(client->frame);
    client->frame = malloc(bytes);
    T_ASSERT(client->frame != NULL);
    T_ASSERT(wire_recv_exact(client->fd, client->frame, bytes, deadline));
    struct mp_reader reader;
    mp_reader_init(&reader, client->frame, bytes);
    T_ASSERT(proto_response_header_decode(&reader, &client->header) == RILL_OK);
    T_ASSERT_EQ_INT(client->header.correlation_id, client->correlation_id);
    (void)response;
    return client->header.error;
}

/* Every bad input of issue 3's list on one connection: each gets its error, nothing is
 * appended, and the connection (and the broker) keep serving. */
static void t_hostile_requests(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "target", 2, NULL, 0), 0);
    /* Invalid msgpack (0xc1 is never used), truncated bodies, wrong types, for every api. */
    static const uint8_t never_used[] = { 0xc1 };
    static const uint8_t truncated[] = { 0x94, 0x01 };
    static const uint8_t wrong_types[] = { 0x93, 0xa1, 'x', 0xc3, 0x90 };
    static const uint8_t huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    /* Every api the broker serves (the codecs may know more: those are unsupported). */
    for (uint32_t index = 0; index < dispatch_range_count; index++) {
        uint32_t api = dispatch_ranges[index].api;
        if (api == PROTO_API_HANDSHAKE) {
            continue;
        }
        send_raw_body(&client, api, 1, never_used, sizeof(never_used));
        T_ASSERT_EQ_INT(raw_answer(&client), RILL_ERR_INVALID_REQUEST);
        send_raw_body(&client, api, 1, truncated, sizeof(truncated));
        T_ASSERT_EQ_INT(raw_answer(&client), RILL_ERR_INVALID_REQUEST);
        send_raw_body(&client, api, 1, wrong_types, sizeof(wrong_types));
        T_ASSERT_EQ_INT(raw_answer(&client), RILL_ERR_INVALID_REQUEST);
        send_raw_body(&client, api, 1, huge_array, sizeof(huge_array));
        T_ASSERT_EQ_INT(raw_answer(&client), RILL_ERR_INVALID_REQUEST);
    }
    for (uint32_t api = 1; api < PROTO_API_COUNT; api++) {
        bool served = false;
        for (uint32_t index = 0; index < dispatch_range_count; index++) {
            served = served || dispatch_ranges[index].api == api;
        }
        if (!served) {
            send_raw_body(&client, api, 1, never_used, sizeof(never_used));
            T_ASSERT_EQ_INT(raw_answer(&client), RILL_ERR_UNSUPPORTED_API);
        }
    }
    send_raw_body(&client, 77, 1, never_used, sizeof(never_used));
    T_ASSERT_EQ_INT(raw_answer(&client), RILL_ERR_UNSUPPORTED_API);
    send_raw_body(&client, PROTO_API_PRODUCE, 99, never_used, sizeof(never_used));
    T_ASSERT_EQ_INT(raw_answer(&client), RILL_ERR_UNSUPPORTED_VERSION);
    /* Produce: bad acks, negative timeout. */
    size_t bytes = 0;
    uint8_t *batch = make_batch("h", 5, LOG_CODEC_NONE, -1, 0, &bytes);
    struct proto_produce_partition part = { 0, { batch, (uint32_t)bytes } };
    struct proto_produce_topic entry = { str_of("target"), &part, 1 };
    union proto_request request = { .produce = { 2, 1000, &entry, 1 } };
    union proto_response response;
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_PRODUCE, &request, &response),
                    RILL_ERR_INVALID_ACKS);
    request.produce.acks = 1;
    request.produce.timeout_ms = -1;
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_PRODUCE, &request, &response),
                    RILL_ERR_INVALID_REQUEST);
    /* Inconsistent batches: a record count that does not match the records, a last offset
     * delta that does not match the count (CRC recomputed so only the inconsistency is left). */
    uint8_t *copy = malloc(bytes);
    T_ASSERT(copy != NULL);
    memcpy(copy, batch, bytes);
    copy[60] = 9; /* record count 5 -> 9 */
    uint32_t crc = log_batch_crc_compute(copy, bytes);
    copy[17] = (uint8_t)(crc >> 24), copy[18] = (uint8_t)(crc >> 16);
    copy[19] = (uint8_t)(crc >> 8), copy[20] = (uint8_t)crc;
    T_ASSERT_EQ_INT(produce_raw(&client, "target", 0, 1, copy, bytes, NULL), RILL_ERR_BAD_BATCH);
    memcpy(copy, batch, bytes);
    copy[26] = 7; /* last offset delta 4 -> 7 */
    crc = log_batch_crc_compute(copy, bytes);
    copy[17] = (uint8_t)(crc >> 24), copy[18] = (uint8_t)(crc >> 16);
    copy[19] = (uint8_t)(crc >> 8), copy[20] = (uint8_t)crc;
    T_ASSERT_EQ_INT(produce_raw(&client, "target", 0, 1, copy, bytes, NULL), RILL_ERR_BAD_BATCH);
    /* A batch length claiming far more than was sent. */
    memcpy(copy, batch, bytes);
    copy[8] = 0x7f;
    T_ASSERT_EQ_INT(produce_raw(&client, "target", 0, 1, copy, bytes, NULL), RILL_ERR_BAD_BATCH);
    T_ASSERT_EQ_INT(produce_raw(&client, "target", -1, 1, batch, bytes, NULL),
                    RILL_ERR_UNKNOWN_PARTITION);
    int32_t error = 0;
    T_ASSERT_EQ_INT(list_offset(&client, "target", 0, PROTO_LIST_OFFSETS_LATEST, &error), 0);
    /* Absurd offsets and waits. */
    struct proto_fetch_partition_result result = fetch(&client, "target", 0, -5, 0, 1);
    T_ASSERT_EQ_INT(result.error, RILL_ERR_OFFSET_OUT_OF_RANGE);
    result = fetch(&client, "target", 0, INT64_MAX, 0, 1);
    T_ASSERT_EQ_INT(result.error, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(result.high_watermark, 0);
    struct proto_fetch_partition fetch_part = { 0, 0, -1 };
    struct proto_fetch_topic fetch_entry = { str_of("target"), &fetch_part, 1 };
    request = (union proto_request){ .fetch = { -1, 1, 1000, &fetch_entry, 1 } };
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_FETCH, &request, &response),
                    RILL_ERR_INVALID_REQUEST);
    T_ASSERT_EQ_INT(list_offset(&client, "target", 0, -77, &error), -1);
    T_ASSERT_EQ_INT(error, RILL_ERR_INVALID_REQUEST);
    T_ASSERT_EQ_INT(create_topic(&client, "many", INT32_MAX, NULL, 0), RILL_ERR_INVALID_PARTITIONS);
    T_ASSERT_EQ_INT(create_topic(&client, "neg", -3, NULL, 0), RILL_ERR_INVALID_PARTITIONS);
    /* Random bodies for random apis: each is answered (any code), never a crash. */
    uint64_t seed = 12345;
    for (int i = 0; i < 2000; i++) {
        uint8_t body[64];
        size_t body_bytes = (size_t)(seed % sizeof(body));
        for (size_t b = 0; b < body_bytes; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            body[b] = (uint8_t)(seed >> 56);
        }
        uint32_t api = 1 + (uint32_t)(seed % (PROTO_API_COUNT - 1));
        if (api == PROTO_API_PRODUCE && body_bytes > 1 && (body[1] & 0x7f) == 0) {
            body[1] = 1; /* acks=0 would not be answered */
        }
        send_raw_body(&client, api, 1, body, body_bytes);
        (void)raw_answer(&client);
    }
    /* Still serving, and nothing was appended by any of it. */
    T_ASSERT_EQ_INT(list_offset(&client, "target", 0, PROTO_LIST_OFFSETS_LATEST, &error), 0);
    int64_t base = -1;
    T_ASSERT_EQ_INT(produce_raw(&client, "target", 1, -1, batch, bytes, &base), 0);
    T_ASSERT_EQ_INT(base, 0);
    result = fetch(&client, "target", 1, 0, 0, 1);
    int64_t next = 0;
    T_ASSERT_EQ_INT(count_records(&result.batches, 0, &next), 5);
    free(batch);
    free(copy);
    client_close(&client);
    rilld_stop_clean(&broker);
}

/* Frames the broker must close on (the stream cannot be resynchronised), 1,000 idle
 * connections and a slowloris, while a normal client keeps producing and consuming. */
static void t_hostile_connections(void)
{
    struct rilld broker;
    api_prepare(&broker, "frame.timeout.ms = 500\n");
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "steady", 1, NULL, 0), 0);
    static const uint8_t zero_length[] = { 0, 0, 0, 0 };
    static const uint8_t negative_length[] = { 0xff, 0xff, 0xff, 0xff };
    static const uint8_t oversized[] = { 0x04, 0x00, 0x00, 0x01 };
    static const uint8_t bad_header[] = { 0, 0, 0, 2, 0xc1, 0xc1 };
    const struct {
        const uint8_t *bytes;
        size_t count;
    } closers[] = {
        { zero_length, 4 }, { negative_length, 4 }, { oversized, 4 }, { bad_header, 6 }
    };
    for (size_t i = 0; i < T_COUNT(closers); i++) {
        int fd = wire_connect(broker.port);
        wire_send(fd, closers[i].bytes, closers[i].count);
        T_ASSERT(wire_closed_within(fd, API_IO_TIMEOUT_MS));
        close(fd);
    }
    static int idle[1000];
    for (size_t i = 0; i < T_COUNT(idle); i++) {
        idle[i] = wire_connect(broker.port);
    }
    int slow = wire_connect(broker.port);
    wire_send(slow, "\0\0\0\x40\x93", 5); /* a frame of 64 bytes that never completes */
    int64_t next = 0;
    for (int round = 0; round < 20; round++) {
        int64_t base = -1;
        T_ASSERT_EQ_INT(produce_records(&client, "steady", 0, -1, "s", 10, &base), 0);
        T_ASSERT_EQ_INT(base, round * 10);
        struct proto_fetch_partition_result result = fetch(&client, "steady", 0, next, 1000, 1);
        T_ASSERT_EQ_INT(count_records(&result.batches, next, &next), 10);
    }
    T_ASSERT(wire_closed_within(slow, API_IO_TIMEOUT_MS));
    close(slow);
    for (size_t i = 0; i < T_COUNT(idle); i++) {
        close(idle[i]);
    }
    client_close(&client);
    rilld_stop_clean(&broker);
}

/* Retention removes old segments while a consumer reads; the consumer sees the start move and
 * continues from it. */
static void t_retention_while_reading(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    struct proto_config configs[] = { { str_of("segment.bytes"), str_of("65536") },
                                      { str_of("retention.bytes"), str_of("200000") } };
    T_ASSERT_EQ_INT(create_topic(&client, "rolling", 1, configs, 2), 0);
    int64_t next = 0;
    int64_t produced = 0;
    int64_t skipped = 0;
    for (int round = 0; round < 200; round++) {
        /* Uncompressed so segments fill: ~4 KiB per batch. */
        size_t bytes = 0;
        uint8_t *batch = make_batch("retained-value-with-some-length-to-fill-segments", 60,
                                    LOG_CODEC_NONE, -1, 0, &bytes);
        T_ASSERT_EQ_INT(produce_raw(&client, "rolling", 0, -1, batch, bytes, NULL), 0);
        free(batch);
        produced += 60;
        if (round % 3 == 0) {
            continue; /* the consumer falls behind */
        }
        struct proto_fetch_partition_result result = fetch(&client, "rolling", 0, next, 0, 1);
        if (result.error == RILL_ERR_OFFSET_OUT_OF_RANGE) {
            T_ASSERT(result.log_start_offset > next);
            skipped += result.log_start_offset - next;
            next = result.log_start_offset;
            continue;
        }
        T_ASSERT_EQ_INT(result.error, 0);
        (void)count_records(&result.batches, next, &next);
    }
    int32_t error = 0;
    int64_t start = list_offset(&client, "rolling", 0, PROTO_LIST_OFFSETS_EARLIEST, &error);
    T_ASSERT(start > 0);
    T_ASSERT(skipped > 0 || next >= start);
    while (next < produced) {
        struct proto_fetch_partition_result result = fetch(&client, "rolling", 0, next, 0, 1);
        if (result.error == RILL_ERR_OFFSET_OUT_OF_RANGE) {
            next = result.log_start_offset;
            continue;
        }
        T_ASSERT_EQ_INT(result.error, 0);
        T_ASSERT(result.batches.bytes > 0);
        (void)count_records(&result.batches, next, &next);
    }
    T_ASSERT_EQ_INT(next, produced);
    client_close(&client);
    rilld_stop_clean(&broker);
}

static void t_topics_lifecycle_3cores(void)
{
    api_cores = 3;
    t_topics_lifecycle();
}

static void t_produce_fetch_acks_3cores(void)
{
    api_cores = 3;
    t_produce_fetch_acks();
}

static void t_long_poll_3cores(void)
{
    api_cores = 3;
    t_long_poll();
}

static void t_idempotent_produce_3cores(void)
{
    api_cores = 3;
    t_idempotent_produce();
}

static void t_bad_batches_3cores(void)
{
    api_cores = 3;
    t_bad_batches();
}

static void t_kill9_acked_records_survive_3cores(void)
{
    api_cores = 3;
    t_kill9_acked_records_survive();
}

static void t_hostile_requests_3cores(void)
{
    api_cores = 3;
    t_hostile_requests();
}

static void t_hostile_connections_3cores(void)
{
    api_cores = 3;
    t_hostile_connections();
}

static void t_retention_while_reading_3cores(void)
{
    api_cores = 3;
    t_retention_while_reading();
}

/* A compacted topic: the broker's cleaner keeps the latest value per key in rolled segments,
 * with offsets unchanged, while the partition keeps serving. */
static void t_compacted_topic(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    struct proto_config configs[] = { { str_of("cleanup.policy"), str_of("compact") },
                                      { str_of("segment.bytes"), str_of("65536") } };
    T_ASSERT_EQ_INT(create_topic(&client, "latest", 1, configs, 2), 0);
    enum { ROUNDS = 120, KEYS = 100 };
    for (int round = 0; round < ROUNDS; round++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "round%d", round);
        size_t bytes = 0;
        uint8_t *batch = make_batch(prefix, KEYS, LOG_CODEC_NONE, -1, 0, &bytes);
        T_ASSERT_EQ_INT(produce_raw(&client, "latest", 0, -1, batch, bytes, NULL), 0);
        free(batch);
    }
    /* The cleaner runs from the cores' tick: wait (bounded) for a pass that rewrote segments. */
    int64_t deadline = now_ms() + 20000;
    bool cleaned = false;
    while (!cleaned && now_ms() < deadline) {
        char *metrics = http_get(broker.http_port, "/metrics");
        const char *line = strstr(metrics, "rill_partition_compactions_total{topic=\"latest\"");
        cleaned = line != NULL && strtoull(strchr(line, '}') + 2, NULL, 10) > 0;
        free(metrics);
        if (!cleaned) {
            pause_ms(100);
        }
    }
    T_ASSERT(cleaned);
    /* Read everything back: offsets only grow, every key's latest value is there, and far
     * fewer records remain than were produced. A pass may have run while the rounds were
     * still being produced (slow builds): read again until a later pass caught up. */
    static char latest[KEYS][32];
    int64_t next = 0, records = 0, last_offset = -1;
    struct log_record_iter it;
    log_record_iter_init(&it);
    int64_t read_deadline = now_ms() + 20000;
    for (int attempt = 0;; attempt++) {
        if (attempt > 0) {
            T_ASSERT(now_ms() < read_deadline);
            pause_ms(200);
            next = 0, records = 0, last_offset = -1;
        }
        for (int guard = 0; guard < 10000; guard++) {
            struct proto_fetch_partition_result result = fetch(&client, "latest", 0, next, 0, 1);
            T_ASSERT_EQ_INT(result.error, 0);
            if (result.batches.bytes == 0) {
                break;
            }
            size_t position = 0;
            while (position < result.batches.bytes) {
                struct log_batch_header hdr;
                T_ASSERT(log_batch_header_decode(result.batches.ptr + position,
                                                 result.batches.bytes - position, &hdr) == RILL_OK);
                size_t total = log_batch_total_bytes(&hdr);
                T_ASSERT(log_record_iter_start(&it, result.batches.ptr + position, total) ==
                         RILL_OK);
                struct log_record record;
                while (log_record_iter_next(&it, &record) == RILL_OK) {
                    if (record.offset < next) {
                        continue;
                    }
                    T_ASSERT(record.offset > last_offset);
                    last_offset = record.offset;
                    int key = atoi((const char *)record.key + 1);
                    T_ASSERT(key >= 0 && key < KEYS && record.value_bytes < 32);
                    memcpy(latest[key], record.value, (size_t)record.value_bytes);
                    latest[key][record.value_bytes] = '\0';
                    records++;
                }
                next = log_batch_offset_last(&hdr) + 1;
                position += total;
            }
        }
        if (records < ROUNDS * KEYS / 2) {
            break;
        }
    }
    log_record_iter_deinit(&it);
    T_ASSERT_EQ_INT(next, ROUNDS * KEYS);
    T_ASSERT(records < ROUNDS * KEYS / 2);
    for (int key = 0; key < KEYS; key++) {
        char want[32];
        snprintf(want, sizeof(want), "round%d-%d", ROUNDS - 1, key);
        T_ASSERT(strcmp(latest[key], want) == 0);
    }
    client_close(&client);
    rilld_stop_clean(&broker);
}

/* METADATA creates unknown topics only when the broker allows it and the request asks. */
static void t_auto_create(void)
{
    struct rilld broker;
    api_prepare(&broker, "auto.create.topics = true\ndefault.partitions = 4\n");
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    struct proto_str names[] = { str_of("fresh"), str_of("bad name"), str_of("__internal") };
    union proto_request request = { .metadata = { names, 3, false, false } };
    union proto_response response;
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_METADATA, &request, &response), 0);
    T_ASSERT_EQ_INT(response.metadata.topics[0].error, RILL_ERR_UNKNOWN_TOPIC);
    request.metadata.allow_auto_create = true;
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_METADATA, &request, &response), 0);
    T_ASSERT_EQ_INT(response.metadata.topic_count, 3);
    T_ASSERT_EQ_INT(response.metadata.topics[0].error, 0);
    T_ASSERT_EQ_INT(response.metadata.topics[0].partition_count, 4);
    T_ASSERT_EQ_INT(response.metadata.topics[1].error, RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT_EQ_INT(response.metadata.topics[2].error, RILL_ERR_UNKNOWN_TOPIC);
    int64_t base = -1;
    T_ASSERT_EQ_INT(produce_records(&client, "fresh", 3, -1, "a", 3, &base), 0);
    T_ASSERT_EQ_INT(base, 0);
    client_close(&client);
    rilld_stop_clean(&broker);
    /* Off by default: the same request creates nothing. */
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    client_open(&client, broker.port);
    names[0] = str_of("other");
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_METADATA, &request, &response), 0);
    T_ASSERT_EQ_INT(response.metadata.topics[0].error, RILL_ERR_UNKNOWN_TOPIC);
    client_close(&client);
    rilld_stop_clean(&broker);
}

/* Many partitions, one connection: with several cores most requests cross cores; every record
 * still lands in its partition, in order, and a fetch over all partitions sees them all. */
static void t_partitions_across_cores(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    enum { PARTITIONS = 12 };
    T_ASSERT_EQ_INT(create_topic(&client, "spread", PARTITIONS, NULL, 0), 0);
    /* One produce request carrying every partition, acks=all, several rounds. */
    size_t bytes = 0;
    uint8_t *batch = make_batch("m", 4, LOG_CODEC_LZ4, -1, 0, &bytes);
    struct proto_produce_partition parts[PARTITIONS];
    for (int32_t p = 0; p < PARTITIONS; p++) {
        parts[p] =
            (struct proto_produce_partition){ PARTITIONS - 1 - p, { batch, (uint32_t)bytes } };
    }
    struct proto_produce_topic entry = { str_of("spread"), parts, PARTITIONS };
    for (int round = 0; round < 5; round++) {
        union proto_request request = { .produce = { -1, 10000, &entry, 1 } };
        union proto_response response;
        T_ASSERT_EQ_INT(client_call(&client, PROTO_API_PRODUCE, &request, &response), 0);
        T_ASSERT_EQ_INT(response.produce.topics[0].partition_count, PARTITIONS);
        for (int32_t p = 0; p < PARTITIONS; p++) {
            const struct proto_produce_partition_result *result =
                &response.produce.topics[0].partitions[p];
            T_ASSERT_EQ_INT(result->partition, PARTITIONS - 1 - p); /* request order */
            T_ASSERT_EQ_INT(result->error, 0);
            T_ASSERT_EQ_INT(result->base_offset, round * 4);
        }
    }
    /* acks=0 across cores too: not answered, still stored. */
    union proto_request request = { .produce = { 0, 10000, &entry, 1 } };
    client_send(&client, PROTO_API_PRODUCE, &request);
    /* A fetch of all partitions (long poll satisfied by data somewhere). */
    struct proto_fetch_partition fetch_parts[PARTITIONS];
    int64_t next[PARTITIONS] = { 0 };
    int total = 0;
    for (int round = 0; round < 50 && total < PARTITIONS * 24; round++) {
        for (int32_t p = 0; p < PARTITIONS; p++) {
            fetch_parts[p] = (struct proto_fetch_partition){ p, next[p], 1 << 20 };
        }
        struct proto_fetch_topic fetch_entry = { str_of("spread"), fetch_parts, PARTITIONS };
        request = (union proto_request){ .fetch = { 1000, 1, 8 << 20, &fetch_entry, 1 } };
        union proto_response response;
        T_ASSERT_EQ_INT(client_call(&client, PROTO_API_FETCH, &request, &response), 0);
        T_ASSERT_EQ_INT(response.fetch.topics[0].partition_count, PARTITIONS);
        for (int32_t p = 0; p < PARTITIONS; p++) {
            const struct proto_fetch_partition_result *result =
                &response.fetch.topics[0].partitions[p];
            T_ASSERT_EQ_INT(result->partition, p);
            T_ASSERT_EQ_INT(result->error, 0);
            total += count_records(&result->batches, next[p], &next[p]);
        }
    }
    T_ASSERT_EQ_INT(total, PARTITIONS * 24);
    /* Per-partition LIST_OFFSETS in one request across cores. */
    struct proto_list_offsets_partition list_parts[PARTITIONS];
    for (int32_t p = 0; p < PARTITIONS; p++) {
        list_parts[p] = (struct proto_list_offsets_partition){ p, PROTO_LIST_OFFSETS_LATEST };
    }
    struct proto_list_offsets_topic list_entry = { str_of("spread"), list_parts, PARTITIONS };
    request = (union proto_request){ .list_offsets = { &list_entry, 1 } };
    union proto_response response;
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_LIST_OFFSETS, &request, &response), 0);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        T_ASSERT_EQ_INT(response.list_offsets.topics[0].partitions[p].offset, 24);
    }
    /* With several cores, requests did cross cores. */
    char *metrics = http_get(broker.http_port, "/metrics");
    uint64_t routed = 0;
    for (const char *at = metrics; (at = strstr(at, "rill_core_requests_routed_total{")) != NULL;
         at++) {
        const char *value = strchr(at, '}');
        routed += value != NULL ? strtoull(value + 2, NULL, 10) : 0;
    }
    T_ASSERT(api_cores == 1 ? routed == 0 : routed > 0);
    free(metrics);
    /* Delete across cores, then the name is free again. */
    struct proto_str name = str_of("spread");
    request = (union proto_request){ .delete_topics = { &name, 1 } };
    T_ASSERT_EQ_INT(client_call(&client, PROTO_API_DELETE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.delete_topics.results[0].error, 0);
    T_ASSERT_EQ_INT(create_topic(&client, "spread", 3, NULL, 0), 0);
    free(batch);
    client_close(&client);
    rilld_stop_clean(&broker);
}

/*
 * Requests whose partitions all live on one core, sent on connections dealt to every core: on
 * a foreign core the request frame goes to the owner as it is and the owner's answer passes
 * through (route.c). Each connection sees the same answers byte for byte (same correlation ids,
 * same calls), and the fetched batches are the produced ones byte for byte but the offset the
 * broker assigned (and the leader epoch outside the CRC).
 */
static void t_single_owner_pass_through(void)
{
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    enum { CLIENTS = 3, PARTITIONS = 6, RECORDS = 3 };
    struct api_client clients[CLIENTS];
    for (int c = 0; c < CLIENTS; c++) {
        client_open(&clients[c], broker.port);
    }
    T_ASSERT_EQ_INT(create_topic(&clients[0], "solo", PARTITIONS, NULL, 0), 0);
    clients[1].correlation_id = clients[0].correlation_id;
    clients[2].correlation_id = clients[0].correlation_id;
    uint8_t *batches[PARTITIONS][CLIENTS];
    size_t batch_bytes[PARTITIONS][CLIENTS];
    for (int32_t p = 0; p < PARTITIONS; p++) {
        for (int c = 0; c < CLIENTS; c++) {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "p%d-c%d", p, c);
            batches[p][c] = make_batch(prefix, RECORDS, LOG_CODEC_NONE, -1, 0, &batch_bytes[p][c]);
            struct proto_produce_partition part = {
                p, { batches[p][c], (uint32_t)batch_bytes[p][c] }
            };
            struct proto_produce_topic entry = { str_of("solo"), &part, 1 };
            union proto_request request = { .produce = { -1, 10000, &entry, 1 } };
            union proto_response response;
            T_ASSERT_EQ_INT(client_call(&clients[c], PROTO_API_PRODUCE, &request, &response), 0);
            T_ASSERT_EQ_INT(response.produce.topic_count, 1);
            T_ASSERT_EQ_INT(response.produce.topics[0].partition_count, 1);
            T_ASSERT_EQ_INT(response.produce.topics[0].partitions[0].partition, p);
            T_ASSERT_EQ_INT(response.produce.topics[0].partitions[0].error, 0);
            T_ASSERT_EQ_INT(response.produce.topics[0].partitions[0].base_offset, c * RECORDS);
        }
    }
    /* Every client catches up on the others' calls, so correlation ids agree again. */
    uint32_t top = 0;
    for (int c = 0; c < CLIENTS; c++) {
        top = clients[c].correlation_id > top ? clients[c].correlation_id : top;
    }
    for (int c = 0; c < CLIENTS; c++) {
        clients[c].correlation_id = top;
    }
    for (int32_t p = 0; p < PARTITIONS; p++) {
        uint8_t *first = NULL;
        uint32_t first_bytes = 0;
        for (int c = 0; c < CLIENTS; c++) {
            struct proto_fetch_partition part = { p, 0, 1 << 20 };
            struct proto_fetch_topic entry = { str_of("solo"), &part, 1 };
            union proto_request request = { .fetch = { 1000, 1, 8 << 20, &entry, 1 } };
            union proto_response response;
            T_ASSERT_EQ_INT(client_call(&clients[c], PROTO_API_FETCH, &request, &response), 0);
            T_ASSERT_EQ_INT(response.fetch.topic_count, 1);
            T_ASSERT_EQ_INT(response.fetch.topics[0].partition_count, 1);
            const struct proto_fetch_partition_result *result =
                &response.fetch.topics[0].partitions[0];
            T_ASSERT_EQ_INT(result->partition, p);
            T_ASSERT_EQ_INT(result->error, 0);
            T_ASSERT_EQ_INT(result->high_watermark, CLIENTS * RECORDS);
            size_t position = 0;
            for (int b = 0; b < CLIENTS; b++) {
                size_t bytes = batch_bytes[p][b];
                T_ASSERT(result->batches.bytes - position >= bytes);
                const uint8_t *got = result->batches.ptr + position;
                int64_t base = 0;
                for (int i = 0; i < 8; i++) {
                    base = (int64_t)((uint64_t)base << 8 | got[i]);
                }
                T_ASSERT_EQ_INT(base, b * RECORDS);
                T_ASSERT(memcmp(got + 8, batches[p][b] + 8, 4) == 0); /* length */
                T_ASSERT(memcmp(got + 16, batches[p][b] + 16, bytes - 16) == 0);
                position += bytes;
            }
            T_ASSERT_EQ_INT(position, result->batches.bytes);
            if (c == 0) {
                first_bytes = clients[c].frame_bytes;
                first = malloc(first_bytes);
                T_ASSERT(first != NULL);
                memcpy(first, clients[c].frame, first_bytes);
            } else {
                T_ASSERT_EQ_INT(clients[c].frame_bytes, first_bytes);
                T_ASSERT(memcmp(clients[c].frame, first, first_bytes) == 0);
            }
        }
        free(first);
    }
    /* Two partitions of one owner in one request (forwarded whole on a foreign core), and a
     * long poll there answered by a produce on another connection. */
    int32_t pair[2] = { -1, -1 };
    for (int32_t p = 0; p < PARTITIONS && pair[1] < 0; p++) {
        for (int32_t q = p + 1; q < PARTITIONS && pair[1] < 0; q++) {
            if (topics_owner_core("solo", p, api_cores) ==
                topics_owner_core("solo", q, api_cores)) {
                pair[0] = p;
                pair[1] = q;
            }
        }
    }
    T_ASSERT(pair[1] >= 0); /* 6 partitions over at most 3 cores: two share one */
    int64_t ends[2] = { CLIENTS * RECORDS, CLIENTS * RECORDS };
    for (int c = 0; c < CLIENTS; c++) {
        struct proto_fetch_partition parts[2] = { { pair[0], ends[0], 1 << 20 },
                                                  { pair[1], ends[1], 1 << 20 } };
        struct proto_fetch_topic entry = { str_of("solo"), parts, 2 };
        union proto_request request = { .fetch = { 10000, 1, 8 << 20, &entry, 1 } };
        client_send(&clients[c], PROTO_API_FETCH, &request);
        int other = (c + 1) % CLIENTS;
        struct proto_produce_partition part = { pair[c % 2],
                                                { batches[0][0], (uint32_t)batch_bytes[0][0] } };
        struct proto_produce_topic produce_entry = { str_of("solo"), &part, 1 };
        request = (union proto_request){ .produce = { 1, 10000, &produce_entry, 1 } };
        union proto_response response;
        T_ASSERT_EQ_INT(client_call(&clients[other], PROTO_API_PRODUCE, &request, &response), 0);
        T_ASSERT_EQ_INT(response.produce.topics[0].partitions[0].error, 0);
        T_ASSERT_EQ_INT(client_recv(&clients[c], PROTO_API_FETCH, &response, API_IO_TIMEOUT_MS), 0);
        T_ASSERT_EQ_INT(response.fetch.topics[0].partition_count, 2);
        int records = 0;
        for (int i = 0; i < 2; i++) {
            const struct proto_fetch_partition_result *result =
                &response.fetch.topics[0].partitions[i];
            T_ASSERT_EQ_INT(result->partition, pair[i]);
            T_ASSERT_EQ_INT(result->error, 0);
            records += count_records(&result->batches, 0, NULL);
        }
        T_ASSERT_EQ_INT(records, RECORDS);
        ends[c % 2] += RECORDS;
    }
    if (api_cores > 1) {
        char *metrics = http_get(broker.http_port, "/metrics");
        uint64_t routed = 0;
        for (const char *at = metrics;
             (at = strstr(at, "rill_core_requests_routed_total{")) != NULL; at++) {
            const char *value = strchr(at, '}');
            routed += value != NULL ? strtoull(value + 2, NULL, 10) : 0;
        }
        T_ASSERT(routed > 0);
        free(metrics);
    }
    for (int32_t p = 0; p < PARTITIONS; p++) {
        for (int c = 0; c < CLIENTS; c++) {
            free(batches[p][c]);
        }
    }
    for (int c = 0; c < CLIENTS; c++) {
        client_close(&clients[c]);
    }
    rilld_stop_clean(&broker);
}

/* Starts rilld expecting it to refuse to start: its exit status within the start timeout. */
static int rilld_start_refused(struct rilld *broker)
{
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    T_ASSERT(null_fd >= 0);
    rilld_spawn(broker, null_fd, -1, true);
    close(null_fd);
    int status = rilld_wait(broker, WIRE_START_TIMEOUT_MS);
    if (status == -1) {
        rilld_stop(broker);
    }
    return status;
}

/*
 * A topic of many partitions: its logs are created (and at a restart recovered) several at a
 * time (topics.c), and every partition still ends up with its own records. A partition that
 * cannot be opened fails the whole start, whatever the others did meanwhile.
 */
static void t_topic_many_partitions(void)
{
    enum { PARTITIONS = 40 };
    struct rilld broker;
    api_prepare(&broker, NULL);
    rilld_start(&broker);
    struct api_client client;
    client_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "wide", PARTITIONS, NULL, 0), 0);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        int64_t base = -1;
        T_ASSERT_EQ_INT(produce_records(&client, "wide", p, -1, "w", 1 + p % 3, &base), 0);
        T_ASSERT_EQ_INT(base, 0);
    }
    client_close(&client);
    rilld_stop_clean(&broker);

    rilld_start(&broker);
    client_open(&client, broker.port);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        int32_t error = -1;
        T_ASSERT_EQ_INT(list_offset(&client, "wide", p, PROTO_LIST_OFFSETS_LATEST, &error),
                        1 + p % 3);
        T_ASSERT_EQ_INT(error, 0);
    }
    client_close(&client);
    rilld_stop_clean(&broker);

    /* One partition's directory replaced by a file: the start is refused. */
    char path[700];
    snprintf(path, sizeof(path), "%s/wide-17", broker.data_dir);
    t_rmdir_all(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    T_ASSERT(fd >= 0);
    close(fd);
    int status = rilld_start_refused(&broker);
    T_ASSERT(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

static void t_topic_many_partitions_3cores(void)
{
    api_cores = 3;
    t_topic_many_partitions();
}

static void t_single_owner_pass_through_3cores(void)
{
    api_cores = 3;
    t_single_owner_pass_through();
}

static void t_partitions_across_cores_3cores(void)
{
    api_cores = 3;
    t_partitions_across_cores();
}

static void t_auto_create_3cores(void)
{
    api_cores = 3;
    t_auto_create();
}

static void t_compacted_topic_3cores(void)
{
    api_cores = 3;
    t_compacted_topic();
}

static const struct t_case cases[] = {
    T_CASE(t_compacted_topic),
    T_CASE(t_compacted_topic_3cores),
    T_CASE(t_auto_create),
    T_CASE(t_auto_create_3cores),
    T_CASE(t_partitions_across_cores),
    T_CASE(t_single_owner_pass_through),
    T_CASE(t_single_owner_pass_through_3cores),
    T_CASE(t_partitions_across_cores_3cores),
    T_CASE(t_topics_lifecycle),
    T_CASE(t_topic_many_partitions),
    T_CASE(t_topic_many_partitions_3cores),
    T_CASE(t_produce_fetch_acks),
    T_CASE(t_long_poll),
    T_CASE(t_idempotent_produce),
    T_CASE(t_bad_batches),
    T_CASE(t_kill9_acked_records_survive),
    T_CASE(t_hostile_requests),
    T_CASE(t_hostile_connections),
    T_CASE(t_retention_while_reading),
    T_CASE(t_topics_lifecycle_3cores),
    T_CASE(t_produce_fetch_acks_3cores),
    T_CASE(t_long_poll_3cores),
    T_CASE(t_idempotent_produce_3cores),
    T_CASE(t_bad_batches_3cores),
    T_CASE(t_kill9_acked_records_survive_3cores),
    T_CASE(t_hostile_requests_3cores),
    T_CASE(t_hostile_connections_3cores),
    T_CASE(t_retention_while_reading_3cores),
};

int main(int argc, char **argv)
{
    rilld_fixture_init(argv[0]);
    return t_run(argc, argv, cases, T_COUNT(cases));
}
