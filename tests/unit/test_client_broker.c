/*
 * test_client_broker.c - the client library against a real rilld (tests/rilld_fixture.h:
 * 127.0.0.1 port 0, a temporary data dir, stopped by PID): produce and consume 100,000 keyed
 * records with headers and LZ4 across partitions, delivery reports, back-pressure, errors,
 * admin calls, consuming from a time, the long poll, and - through an in-test TCP proxy that
 * drops the connection after the broker appended a batch but before its answer arrives - the
 * idempotent retry leaving every record in the log exactly once.
 */
#include "tests/rilld_fixture.h"

#include <pthread.h>

#include "proto/frame.h"
#include "proto/mp.h"

static struct rilld broker;

static void broker_up(void)
{
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
}

static rill_conf_t *conf_for(uint16_t port, const char *const *pairs)
{
    rill_conf_t *conf = rill_conf_create();
    char servers[64];
    char errstr[256];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", port);
    T_ASSERT_OK(rill_conf_set(conf, "bootstrap.servers", servers, errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "retry.backoff.ms", "10", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "retry.backoff.max.ms", "100", errstr, sizeof(errstr)));
    for (size_t i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
        if (rill_conf_set(conf, pairs[i], pairs[i + 1], errstr, sizeof(errstr)) != RILL_OK) {
            T_FAIL("%s", errstr);
        }
    }
    return conf;
}

static void create_topic(uint16_t port, const char *name, int32_t partitions)
{
    char errstr[256] = "";
    rill_conf_t *conf = conf_for(port, NULL);
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    rill_err err =
        rill_admin_create_topic(admin, name, partitions, NULL, 0, errstr, sizeof(errstr));
    if (err != RILL_OK) {
        T_FAIL("create %s: %s (%s)", name, rill_err_name(err), errstr);
    }
    rill_admin_destroy(admin);
    rill_conf_destroy(conf);
}

/* ---- delivery bookkeeping and record content ---- */

#define PARTS_MAX 8

struct deliveries {
    size_t count;
    size_t failed;
    rill_err first_err;
    int64_t *offsets;
    int32_t *partitions;
    int64_t last_offset[PARTS_MAX];
    bool disorder;
};

static void on_delivery(const rill_delivery_report_t *report, void *opaque)
{
    struct deliveries *d = opaque;
    size_t index = (size_t)(uintptr_t)report->record_opaque;
    d->count++;
    if (report->err != RILL_OK) {
        if (d->failed++ == 0) {
            d->first_err = report->err;
        }
        return;
    }
    d->offsets[index] = report->offset;
    d->partitions[index] = report->partition;
    if (report->offset >= 0 && report->partition < PARTS_MAX) {
        if (report->offset <= d->last_offset[report->partition]) {
            d->disorder = true;
        }
        d->last_offset[report->partition] = report->offset;
    }
}

static void deliveries_init(struct deliveries *d, size_t n)
{
    memset(d, 0, sizeof(*d));
    d->offsets = calloc(n, sizeof(*d->offsets));
    d->partitions = calloc(n, sizeof(*d->partitions));
    T_ASSERT(d->offsets != NULL && d->partitions != NULL);
    for (size_t i = 0; i < PARTS_MAX; i++) {
        d->last_offset[i] = -1;
    }
}

static void deliveries_free(struct deliveries *d)
{
    free(d->offsets);
    free(d->partitions);
}

static size_t
make_record(size_t i, char *key, char *value, rill_header_t *header, rill_record_t *rec)
{
    int key_bytes = snprintf(key, 32, "key-%zu", i);
    int value_bytes = snprintf(value, 160, "value-%zu-%0*zu", i, (int)(i % 50), i);
    *header = (rill_header_t){ "idx", 3, key, (size_t)key_bytes };
    *rec = (rill_record_t){ key, (size_t)key_bytes, value, (size_t)value_bytes, header, 1, -1 };
    return (size_t)value_bytes;
}

static void produce_all(rill_producer_t *producer, const char *topic, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char key[32], value[160];
        rill_header_t header;
        rill_record_t rec;
        make_record(i, key, value, &header, &rec);
        rill_err err;
        while ((err = rill_produce(producer, topic, RILL_PARTITION_ANY, &rec,
                                   (void *)(uintptr_t)i)) == RILL_ERR_FULL) {
            (void)rill_poll(producer, 10);
        }
        if (err != RILL_OK) {
            T_FAIL("produce %zu: %s", i, rill_err_name(err));
        }
        if (i % 1000 == 0) {
            (void)rill_poll(producer, 0);
        }
    }
    T_ASSERT_OK(rill_flush(producer, 60000));
}

/* Reads every partition from the beginning; each record must be where its report said, with
 * its content, in order. */
/* Set by a case to consume with small fetch budgets (several round trips, budget spent
 * before the last partitions of a fetch). */
static bool consume_small;

static void consume_check(
    uint16_t port, const char *topic, const struct deliveries *d, size_t n, int32_t part_count)
{
    char errstr[256];
    const char *pairs[] = { "enable.partition.eof",
                            "true",
                            "fetch.max.wait.ms",
                            "100",
                            consume_small ? "fetch.max.bytes" : NULL,
                            "64k",
                            "max.partition.fetch.bytes",
                            "16k",
                            NULL };
    rill_conf_t *conf = conf_for(port, pairs);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    for (int32_t p = 0; p < part_count; p++) {
        T_ASSERT_OK(rill_consumer_assign(consumer, topic, p, RILL_OFFSET_BEGINNING));
    }
    size_t seen = 0;
    int64_t next[PARTS_MAX] = { 0 };
    int64_t deadline = now_ms() + 60000;
    while (seen < n && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        rill_err err = rill_consume(consumer, 1000, &msg);
        if (err == RILL_ERR_TIMEOUT) {
            continue;
        }
        T_ASSERT_OK(err);
        if (msg->err == RILL_ERR_END) {
            continue;
        }
        if (msg->err != RILL_OK) {
            T_FAIL("partition %d: %s", msg->partition, rill_err_name(msg->err));
        }
        int64_t offset = rill_record_offset(msg->record);
        T_ASSERT_EQ_INT(offset, next[msg->partition]);
        next[msg->partition] = offset + 1;
        size_t key_bytes = 0;
        const char *key = rill_record_key(msg->record, &key_bytes);
        T_ASSERT(key != NULL && key_bytes > 4 && key_bytes < 32);
        char key_text[32];
        memcpy(key_text, key, key_bytes);
        key_text[key_bytes] = '\0';
        size_t index = strtoull(key_text + 4, NULL, 10);
        T_ASSERT(index < n);
        T_ASSERT_EQ_INT(d->partitions[index], msg->partition);
        T_ASSERT_EQ_INT(d->offsets[index], offset);
        char key_expect[32], value_expect[160];
        rill_header_t header;
        rill_record_t rec;
        size_t value_bytes_expect = make_record(index, key_expect, value_expect, &header, &rec);
        size_t value_bytes = 0;
        const void *value = rill_record_value(msg->record, &value_bytes);
        T_ASSERT_EQ_INT(value_bytes, value_bytes_expect);
        T_ASSERT_MEM_EQ(value, value_expect, value_bytes);
        T_ASSERT_EQ_INT(rill_record_header_count(msg->record), 1);
        const char *hname;
        size_t hname_bytes, hvalue_bytes;
        const void *hvalue;
        T_ASSERT_OK(
            rill_record_header(msg->record, 0, &hname, &hname_bytes, &hvalue, &hvalue_bytes));
        T_ASSERT(hname_bytes == 3 && memcmp(hname, "idx", 3) == 0);
        T_ASSERT(hvalue_bytes == key_bytes && memcmp(hvalue, key, key_bytes) == 0);
        T_ASSERT(msg->high_watermark > offset);
        seen++;
    }
    T_ASSERT_EQ_INT(seen, n);
    int64_t total = 0;
    for (int32_t p = 0; p < part_count; p++) {
        int64_t position = -1;
        T_ASSERT_OK(rill_consumer_position(consumer, topic, p, &position));
        T_ASSERT_EQ_INT(position, next[p]);
        total += position;
    }
    T_ASSERT_EQ_INT(total, (int64_t)n);
    /* nothing more: every partition is at its end */
    const rill_message_t *msg = NULL;
    rill_err err;
    while ((err = rill_consume(consumer, 300, &msg)) == RILL_OK) {
        T_ASSERT_EQ_INT(msg->err, RILL_ERR_END);
    }
    T_ASSERT_EQ_INT(err, RILL_ERR_TIMEOUT);
    rill_consumer_destroy(consumer);
    rill_conf_destroy(conf);
}

/* Reads with seeks in between (the walked answer and the prefetched one both hold data of
 * the partition sought): after a seek the very next record of that partition is the one at
 * the new offset, and no partition ever skips or repeats a record otherwise. */
static void
consume_with_seeks(uint16_t port, const char *topic, const struct deliveries *d, size_t n)
{
    enum { PARTS = 4, READS = 40000 };
    char errstr[256];
    const char *pairs[] = { "fetch.max.wait.ms",
                            "100",
                            "fetch.max.bytes",
                            "64k",
                            "max.partition.fetch.bytes",
                            "16k",
                            NULL };
    rill_conf_t *conf = conf_for(port, pairs);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    int64_t end[PARTS] = { 0 };
    for (size_t i = 0; i < n; i++) {
        int32_t p = d->partitions[i];
        T_ASSERT(p >= 0 && p < PARTS);
        end[p] = d->offsets[i] + 1 > end[p] ? d->offsets[i] + 1 : end[p];
    }
    for (int32_t p = 0; p < PARTS; p++) {
        T_ASSERT_OK(rill_consumer_assign(consumer, topic, p, RILL_OFFSET_BEGINNING));
    }
    int64_t next[PARTS] = { 0 };
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    size_t reads = 0;
    unsigned seeks = 0;
    int64_t deadline = now_ms() + 60000;
    while (reads < READS && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        rill_err err = rill_consume(consumer, 1000, &msg);
        if (err == RILL_ERR_TIMEOUT) {
            continue;
        }
        T_ASSERT_OK(err);
        if (msg->err == RILL_ERR_END) {
            continue;
        }
        T_ASSERT_OK(msg->err);
        int32_t p = msg->partition;
        int64_t offset = rill_record_offset(msg->record);
        T_ASSERT_EQ_INT(offset, next[p]);
        next[p] = offset + 1;
        size_t key_bytes = 0;
        const char *key = rill_record_key(msg->record, &key_bytes);
        T_ASSERT(key != NULL && key_bytes > 4 && key_bytes < 32);
        char key_text[32];
        memcpy(key_text, key, key_bytes);
        key_text[key_bytes] = '\0';
        size_t index = strtoull(key_text + 4, NULL, 10);
        T_ASSERT(index < n);
        T_ASSERT_EQ_INT(d->partitions[index], p);
        T_ASSERT_EQ_INT(d->offsets[index], offset);
        reads++;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if (rng % 97 == 0 || next[p] >= end[p]) {
            int32_t q = (int32_t)((rng >> 8) % PARTS);
            int64_t to = (int64_t)((rng >> 16) % (uint64_t)end[q]);
            T_ASSERT_OK(rill_consumer_seek(consumer, topic, q, to));
            next[q] = to;
            seeks++;
        }
    }
    T_ASSERT_EQ_INT(reads, READS);
    T_ASSERT(seeks > 100);
    for (int32_t p = 0; p < PARTS; p++) {
        int64_t position = -1;
        T_ASSERT_OK(rill_consumer_position(consumer, topic, p, &position));
        T_ASSERT_EQ_INT(position, next[p]);
    }
    rill_consumer_destroy(consumer);
    rill_conf_destroy(conf);
}

/* ---- cases ---- */

static void t_produce_consume_100k(void)
{
    broker_up();
    create_topic(broker.port, "events", 4);
    const size_t n = 100000;
    struct deliveries d;
    deliveries_init(&d, n);
    char errstr[256];
    const char *pairs[] = { "acks", "all", "batch.bytes", "256k", NULL };
    rill_conf_t *conf = conf_for(broker.port, pairs);
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, on_delivery, &d, errstr, sizeof(errstr), &producer));
    produce_all(producer, "events", n);
    T_ASSERT_EQ_INT(d.count, n);
    if (d.failed > 0) {
        T_FAIL("%zu records failed, first with %s", d.failed, rill_err_name(d.first_err));
    }
    T_ASSERT(!d.disorder);
    T_ASSERT_EQ_INT(rill_producer_outstanding(producer), 0);
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    for (int32_t p = 0; p < 4; p++) {
        T_ASSERT(d.last_offset[p] > 0); /* keys spread over every partition */
    }
    consume_check(broker.port, "events", &d, n, 4);
    consume_small = true;
    consume_check(broker.port, "events", &d, n, 4);
    consume_with_seeks(broker.port, "events", &d, n);
    deliveries_free(&d);
    rilld_stop_clean(&broker);
}

static void t_acks_1_and_0(void)
{
    broker_up();
    create_topic(broker.port, "events", 2);
    const size_t n = 20000;
    for (int round = 0; round < 2; round++) {
        struct deliveries d;
        deliveries_init(&d, n);
        char errstr[256];
        const char *pairs[] = { "acks", round == 0 ? "1" : "0", "compression", "none", NULL };
        rill_conf_t *conf = conf_for(broker.port, pairs);
        rill_producer_t *producer = NULL;
        T_ASSERT_OK(rill_producer_create(conf, on_delivery, &d, errstr, sizeof(errstr), &producer));
        produce_all(producer, "events", n);
        T_ASSERT_EQ_INT(d.count, n);
        T_ASSERT_EQ_INT(d.failed, 0);
        if (round == 1) {
            for (size_t i = 0; i < n; i++) {
                T_ASSERT_EQ_INT(d.offsets[i], -1);
            }
        }
        rill_producer_destroy(producer);
        rill_conf_destroy(conf);
        deliveries_free(&d);
    }
    /* acks=0 records arrive too: the partitions end up holding both rounds */
    rill_conf_t *conf = conf_for(broker.port, NULL);
    rill_admin_t *admin = NULL;
    char errstr[256];
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    int64_t deadline = now_ms() + 10000;
    int64_t total = 0;
    while (now_ms() < deadline) {
        total = 0;
        for (int32_t p = 0; p < 2; p++) {
            int64_t end = 0;
            T_ASSERT_OK(rill_admin_list_offset(admin, "events", p, RILL_OFFSET_END, &end));
            total += end;
        }
        if (total == (int64_t)(2 * n)) {
            break;
        }
        pause_ms(20);
    }
    T_ASSERT_EQ_INT(total, (int64_t)(2 * n));
    rill_admin_destroy(admin);
    rill_conf_destroy(conf);
    rilld_stop_clean(&broker);
}

static void t_queue_full_and_errors(void)
{
    broker_up();
    create_topic(broker.port, "events", 1);
    char errstr[256];
    const char *pairs[] = { "queue.records.max", "5", "linger.ms", "60000", NULL };
    rill_conf_t *conf = conf_for(broker.port, pairs);
    struct deliveries d;
    deliveries_init(&d, 6);
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, on_delivery, &d, errstr, sizeof(errstr), &producer));
    rill_record_t rec = { "k", 1, "v", 1, NULL, 0, -1 };
    T_ASSERT_EQ_INT(rill_produce(producer, "nope", RILL_PARTITION_ANY, &rec, NULL),
                    RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT_EQ_INT(rill_produce(producer, "events", 1, &rec, NULL), RILL_ERR_UNKNOWN_PARTITION);
    for (uintptr_t i = 0; i < 5; i++) {
        T_ASSERT_OK(rill_produce(producer, "events", RILL_PARTITION_ANY, &rec, (void *)i));
    }
    T_ASSERT_EQ_INT(rill_produce(producer, "events", RILL_PARTITION_ANY, &rec, NULL),
                    RILL_ERR_FULL);
    T_ASSERT_EQ_INT(rill_poll(producer, 0), 0); /* linger holds the batch */
    T_ASSERT_OK(rill_flush(producer, 10000));
    T_ASSERT_EQ_INT(d.count, 5);
    T_ASSERT_EQ_INT(d.failed, 0);
    T_ASSERT_OK(rill_produce(producer, "events", RILL_PARTITION_ANY, &rec, (void *)5));
    T_ASSERT_OK(rill_flush(producer, 10000));
    T_ASSERT_EQ_INT(d.offsets[5], 5);
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    deliveries_free(&d);
    /* a record larger than the topic's max.batch.bytes fails in its report */
    const char *big_pairs[] = { "batch.bytes", "4m", "compression", "none", NULL };
    conf = conf_for(broker.port, big_pairs);
    deliveries_init(&d, 1);
    T_ASSERT_OK(rill_producer_create(conf, on_delivery, &d, errstr, sizeof(errstr), &producer));
    size_t big_bytes = 2u << 20;
    char *big = calloc(1, big_bytes);
    rill_record_t big_rec = { NULL, 0, big, big_bytes, NULL, 0, -1 };
    T_ASSERT_OK(rill_produce(producer, "events", 0, &big_rec, (void *)0));
    T_ASSERT_OK(rill_flush(producer, 10000));
    T_ASSERT_EQ_INT(d.failed, 1);
    T_ASSERT_EQ_INT(d.first_err, RILL_ERR_TOO_LARGE);
    free(big);
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    deliveries_free(&d);
    rilld_stop_clean(&broker);
}

static const char *config_of(const rill_topic_info_t *topic, const char *key)
{
    for (size_t i = 0; i < topic->config_count; i++) {
        if (strcmp(topic->configs[i].key, key) == 0) {
            return topic->configs[i].value;
        }
    }
    return NULL;
}

static void t_admin(void)
{
    broker_up();
    char errstr[256] = "";
    rill_conf_t *conf = conf_for(broker.port, NULL);
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    rill_config_entry_t configs[] = { { "retention.ms", "3600000" } };
    T_ASSERT_OK(rill_admin_create_topic(admin, "beta", 3, configs, 1, errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_admin_create_topic(admin, "alpha", 1, NULL, 0, errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(rill_admin_create_topic(admin, "beta", 3, NULL, 0, errstr, sizeof(errstr)),
                    RILL_ERR_EXISTS);
    T_ASSERT(errstr[0] != '\0');
    T_ASSERT_EQ_INT(rill_admin_create_topic(admin, "bad/name", 1, NULL, 0, errstr, sizeof(errstr)),
                    RILL_ERR_INVALID_TOPIC);
    T_ASSERT_EQ_INT(rill_admin_create_topic(admin, "zero", 0, NULL, 0, errstr, sizeof(errstr)),
                    RILL_ERR_INVALID_PARTITIONS);
    rill_config_entry_t bad_key[] = { { "no.such.key", "1" } };
    T_ASSERT_EQ_INT(rill_admin_create_topic(admin, "gamma", 1, bad_key, 1, errstr, sizeof(errstr)),
                    RILL_ERR_CONFIG_KEY);

    rill_topic_list_t *list = NULL;
    T_ASSERT_OK(rill_admin_describe_topics(admin, NULL, 0, &list));
    T_ASSERT_EQ_INT(list->topic_count, 2);
    T_ASSERT(strcmp(list->topics[0].name, "alpha") == 0);
    T_ASSERT(strcmp(list->topics[1].name, "beta") == 0);
    const rill_topic_info_t *beta = &list->topics[1];
    T_ASSERT_OK(beta->err);
    T_ASSERT_EQ_INT(beta->partition_count, 3);
    for (size_t p = 0; p < 3; p++) {
        T_ASSERT_EQ_INT(beta->partitions[p].partition, (int32_t)p);
        T_ASSERT(beta->partitions[p].leader >= 0);
        T_ASSERT_EQ_INT(beta->partitions[p].end_offset, 0);
    }
    T_ASSERT(config_of(beta, "retention.ms") != NULL);
    T_ASSERT(strcmp(config_of(beta, "retention.ms"), "3600000") == 0);
    for (size_t i = 1; i < beta->config_count; i++) {
        T_ASSERT(strcmp(beta->configs[i - 1].key, beta->configs[i].key) < 0);
    }
    rill_topic_list_destroy(list);

    rill_config_entry_t alter[] = { { "retention.ms", NULL }, { "segment.bytes", "1m" } };
    T_ASSERT_OK(rill_admin_alter_topic(admin, "beta", alter, 2, errstr, sizeof(errstr)));
    const char *names[] = { "beta", "missing" };
    T_ASSERT_OK(rill_admin_describe_topics(admin, names, 2, &list));
    T_ASSERT_EQ_INT(list->topic_count, 2);
    T_ASSERT(strcmp(list->topics[0].name, "beta") == 0);
    T_ASSERT(strcmp(config_of(&list->topics[0], "segment.bytes"), "1m") == 0 ||
             strcmp(config_of(&list->topics[0], "segment.bytes"), "1048576") == 0);
    T_ASSERT(strcmp(config_of(&list->topics[0], "retention.ms"), "604800000") == 0);
    T_ASSERT_EQ_INT(list->topics[1].err, RILL_ERR_UNKNOWN_TOPIC);
    rill_topic_list_destroy(list);

    rill_cluster_info_t *cluster = NULL;
    T_ASSERT_OK(rill_admin_cluster_describe(admin, &cluster));
    T_ASSERT(cluster->broker_count >= 1);
    T_ASSERT(cluster->cluster_id != NULL && cluster->broker_version != NULL);
    T_ASSERT(cluster->brokers[0].host != NULL);
    rill_cluster_info_destroy(cluster);

    int64_t offset = -5;
    T_ASSERT_OK(rill_admin_list_offset(admin, "beta", 0, RILL_OFFSET_BEGINNING, &offset));
    T_ASSERT_EQ_INT(offset, 0);
    T_ASSERT_EQ_INT(rill_admin_list_offset(admin, "beta", 7, RILL_OFFSET_END, &offset),
                    RILL_ERR_UNKNOWN_PARTITION);

    T_ASSERT_OK(rill_admin_delete_topic(admin, "beta", errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(rill_admin_delete_topic(admin, "beta", errstr, sizeof(errstr)),
                    RILL_ERR_UNKNOWN_TOPIC);
    const char *beta_only[] = { "beta" };
    T_ASSERT_OK(rill_admin_describe_topics(admin, beta_only, 1, &list));
    T_ASSERT_EQ_INT(list->topic_count, 1);
    T_ASSERT_EQ_INT(list->topics[0].err, RILL_ERR_UNKNOWN_TOPIC);
    rill_topic_list_destroy(list);
    rill_admin_destroy(admin);
    rill_conf_destroy(conf);
    rilld_stop_clean(&broker);
}

static void t_consume_from_time(void)
{
    broker_up();
    create_topic(broker.port, "timed", 1);
    char errstr[256];
    const char *pairs[] = { "linger.ms", "0", NULL };
    rill_conf_t *conf = conf_for(broker.port, pairs);
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, NULL, NULL, errstr, sizeof(errstr), &producer));
    /* 100 records at times 1000, 1010, ... in several batches */
    for (int i = 0; i < 100; i++) {
        char value[16];
        int bytes = snprintf(value, sizeof(value), "%d", i);
        rill_record_t rec = { NULL, 0, value, (size_t)bytes, NULL, 0, 1000 + i * 10 };
        T_ASSERT_OK(rill_produce(producer, "timed", 0, &rec, NULL));
        if (i % 10 == 9) {
            T_ASSERT_OK(rill_flush(producer, 10000));
        }
    }
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    conf = conf_for(broker.port, NULL);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    T_ASSERT_OK(rill_consumer_assign_time(consumer, "timed", 0, 1255)); /* -> record 26 */
    int64_t position = -1;
    T_ASSERT_OK(rill_consumer_position(consumer, "timed", 0, &position));
    T_ASSERT_EQ_INT(position, 26);
    const rill_message_t *msg = NULL;
    T_ASSERT_OK(rill_consume(consumer, 10000, &msg));
    T_ASSERT_OK(msg->err);
    T_ASSERT_EQ_INT(rill_record_offset(msg->record), 26);
    T_ASSERT_EQ_INT(rill_record_timestamp(msg->record), 1260);
    /* after the last record: the end */
    T_ASSERT_OK(rill_consumer_assign_time(consumer, "timed", 0, 999999));
    T_ASSERT_OK(rill_consumer_position(consumer, "timed", 0, &position));
    T_ASSERT_EQ_INT(position, 100);
    T_ASSERT_OK(rill_consumer_seek(consumer, "timed", 0, RILL_OFFSET_BEGINNING));
    T_ASSERT_OK(rill_consume(consumer, 10000, &msg));
    T_ASSERT_EQ_INT(rill_record_offset(msg->record), 0);
    /* a position past the end is reported, not silently waited on */
    T_ASSERT_OK(rill_consumer_seek(consumer, "timed", 0, 500));
    T_ASSERT_OK(rill_consume(consumer, 10000, &msg));
    T_ASSERT_EQ_INT(msg->err, RILL_ERR_OFFSET_OUT_OF_RANGE);
    rill_consumer_destroy(consumer);
    rill_conf_destroy(conf);
    rilld_stop_clean(&broker);
}

struct late_producer {
    uint16_t port;
    int delay_ms;
    rill_err err;
};

static void *late_producer_main(void *arg)
{
    struct late_producer *late = arg;
    pause_ms(late->delay_ms);
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", late->port);
    rill_conf_t *conf = rill_conf_create();
    late->err = rill_conf_set(conf, "bootstrap.servers", servers, NULL, 0);
    rill_producer_t *producer = NULL;
    if (late->err == RILL_OK) {
        late->err = rill_producer_create(conf, NULL, NULL, NULL, 0, &producer);
    }
    rill_record_t rec = { "late", 4, "value", 5, NULL, 0, -1 };
    if (late->err == RILL_OK) {
        late->err = rill_produce(producer, "poll", 0, &rec, NULL);
    }
    if (late->err == RILL_OK) {
        late->err = rill_flush(producer, 10000);
    }
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    return NULL;
}

/* A consumer at the end waits in the broker's long poll; a record produced meanwhile (from
 * another thread, another handle) is returned. */
static void t_long_poll(void)
{
    broker_up();
    create_topic(broker.port, "poll", 1);
    char errstr[256];
    const char *pairs[] = { "fetch.max.wait.ms", "10000", NULL };
    rill_conf_t *conf = conf_for(broker.port, pairs);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    T_ASSERT_OK(rill_consumer_assign(consumer, "poll", 0, RILL_OFFSET_END));
    struct late_producer late = { .port = broker.port, .delay_ms = 300 };
    pthread_t thread;
    T_ASSERT(pthread_create(&thread, NULL, late_producer_main, &late) == 0);
    const rill_message_t *msg = NULL;
    rill_err err = RILL_ERR_TIMEOUT;
    int64_t deadline = now_ms() + 20000;
    while (err == RILL_ERR_TIMEOUT && now_ms() < deadline) {
        err = rill_consume(consumer, 1000, &msg);
    }
    T_ASSERT_OK(err);
    T_ASSERT_OK(msg->err);
    size_t key_bytes = 0;
    const char *key = rill_record_key(msg->record, &key_bytes);
    T_ASSERT(key_bytes == 4 && memcmp(key, "late", 4) == 0);
    pthread_join(thread, NULL);
    T_ASSERT_OK(late.err);
    rill_consumer_destroy(consumer);
    rill_conf_destroy(conf);
    rilld_stop_clean(&broker);
}

/* ---- a proxy that loses PRODUCE answers ---- */

/* Forwards one client connection to the broker; after forwarding a PRODUCE request it drops
 * both sockets when that request's answer comes back, while drops remain. */
struct proxy {
    int listen_fd;
    uint16_t port;
    uint16_t broker_port;
    int drops; /* answers still to lose */
    int dropped;
};

static struct proxy proxy;

struct frame_buf {
    uint8_t *data;
    size_t bytes;
    size_t capacity;
};

static bool buf_append(struct frame_buf *buf, const uint8_t *data, size_t bytes)
{
    if (buf->bytes + bytes > buf->capacity) {
        size_t capacity = buf->capacity == 0 ? 65536 : buf->capacity;
        while (capacity < buf->bytes + bytes) {
            capacity *= 2;
        }
        buf->data = realloc(buf->data, capacity);
        buf->capacity = capacity;
    }
    memcpy(buf->data + buf->bytes, data, bytes);
    buf->bytes += bytes;
    return true;
}

/* Length of the complete frame at the front of buf (prefix included), or 0. */
static size_t buf_frame(const struct frame_buf *buf)
{
    if (buf->bytes < 4) {
        return 0;
    }
    uint32_t length = (uint32_t)buf->data[0] << 24 | (uint32_t)buf->data[1] << 16 |
                      (uint32_t)buf->data[2] << 8 | buf->data[3];
    return buf->bytes >= 4 + (size_t)length ? 4 + (size_t)length : 0;
}

static void buf_consume(struct frame_buf *buf, size_t bytes)
{
    memmove(buf->data, buf->data + bytes, buf->bytes - bytes);
    buf->bytes -= bytes;
}

static bool send_all(int fd, const uint8_t *data, size_t bytes)
{
    while (bytes > 0) {
        ssize_t sent = send(fd, data, bytes, MSG_NOSIGNAL);
        if (sent <= 0) {
            return false;
        }
        data += sent;
        bytes -= (size_t)sent;
    }
    return true;
}

static void *proxy_conn_main(void *arg)
{
    int client = (int)(intptr_t)arg;
    int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons(__atomic_load_n(&proxy.broker_port, __ATOMIC_SEQ_CST)),
    };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (upstream < 0 || connect(upstream, (struct sockaddr *)&address, sizeof(address)) != 0) {
        close(client);
        if (upstream >= 0) {
            close(upstream);
        }
        return NULL;
    }
    struct frame_buf up = { 0 }, down = { 0 };
    uint32_t apis[1024]; /* api of each forwarded request, in order */
    size_t api_head = 0, api_count = 0;
    uint8_t chunk[65536];
    bool alive = true;
    while (alive) {
        struct pollfd fds[2] = { { .fd = client, .events = POLLIN },
                                 { .fd = upstream, .events = POLLIN } };
        if (poll(fds, 2, 1000) < 0) {
            break;
        }
        if (fds[0].revents != 0) {
            ssize_t got = recv(client, chunk, sizeof(chunk), 0);
            if (got <= 0) {
                break;
            }
            buf_append(&up, chunk, (size_t)got);
            size_t frame;
            while ((frame = buf_frame(&up)) > 0) {
                struct mp_reader reader;
                mp_reader_init(&reader, up.data + 4, frame - 4);
                struct proto_request_header hdr;
                if (proto_request_header_decode(&reader, &hdr) != RILL_OK || api_count == 1024) {
                    alive = false;
                    break;
                }
                apis[(api_head + api_count++) % 1024] = hdr.api;
                alive = alive && send_all(upstream, up.data, frame);
                buf_consume(&up, frame);
            }
        }
        if (alive && fds[1].revents != 0) {
            ssize_t got = recv(upstream, chunk, sizeof(chunk), 0);
            if (got <= 0) {
                break;
            }
            buf_append(&down, chunk, (size_t)got);
            size_t frame;
            while (alive && (frame = buf_frame(&down)) > 0) {
                uint32_t api = api_count > 0 ? apis[api_head] : UINT32_MAX;
                api_head = (api_head + 1) % 1024;
                api_count = api_count > 0 ? api_count - 1 : 0;
                if (api == PROTO_API_PRODUCE &&
                    __atomic_fetch_sub(&proxy.drops, 1, __ATOMIC_SEQ_CST) > 0) {
                    __atomic_fetch_add(&proxy.dropped, 1, __ATOMIC_SEQ_CST);
                    alive = false; /* the broker appended; the client never hears of it */
                    break;
                }
                alive = send_all(client, down.data, frame);
                buf_consume(&down, frame);
            }
        }
    }
    close(client);
    close(upstream);
    free(up.data);
    free(down.data);
    return NULL;
}

static void *proxy_accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(proxy.listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return NULL;
        }
        pthread_t thread;
        if (pthread_create(&thread, NULL, proxy_conn_main, (void *)(intptr_t)fd) == 0) {
            pthread_detach(thread);
        } else {
            close(fd);
        }
    }
}

static void proxy_start(uint16_t broker_port, int drops)
{
    memset(&proxy, 0, sizeof(proxy));
    proxy.broker_port = broker_port;
    proxy.drops = drops;
    proxy.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    T_ASSERT(proxy.listen_fd >= 0);
    T_ASSERT(bind(proxy.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    T_ASSERT(listen(proxy.listen_fd, 16) == 0);
    T_ASSERT(getsockname(proxy.listen_fd, (struct sockaddr *)&addr, &len) == 0);
    proxy.port = ntohs(addr.sin_port);
    pthread_t thread;
    T_ASSERT(pthread_create(&thread, NULL, proxy_accept_main, NULL) == 0);
    pthread_detach(thread);
}

/* The broker appends a batch, the answer is lost with the connection, the producer resends
 * the same batch: the broker's idempotence check keeps each record exactly once. */
static void t_lost_answers_deduplicated(void)
{
    broker_up();
    create_topic(broker.port, "events", 2);
    proxy_start(broker.port, 3);
    const size_t n = 20000;
    struct deliveries d;
    deliveries_init(&d, n);
    char errstr[256];
    const char *pairs[] = { "batch.bytes", "32k", "linger.ms", "1", NULL };
    rill_conf_t *conf = conf_for(proxy.port, pairs);
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, on_delivery, &d, errstr, sizeof(errstr), &producer));
    produce_all(producer, "events", n);
    T_ASSERT_EQ_INT(d.count, n);
    if (d.failed > 0) {
        T_FAIL("%zu records failed, first with %s", d.failed, rill_err_name(d.first_err));
    }
    T_ASSERT(!d.disorder);
    T_ASSERT_EQ_INT(__atomic_load_n(&proxy.dropped, __ATOMIC_SEQ_CST), 3);
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    /* exactly n records in the log (read directly from the broker), each where reported */
    consume_check(broker.port, "events", &d, n, 2);
    deliveries_free(&d);
    rilld_stop_clean(&broker);
}

/* Destroying a producer with many batches in flight: each record gets exactly one report
 * (acknowledged ones OK, the rest RILL_ERR_CLOSED), nothing is touched after it is freed. */
static void t_destroy_with_batches_in_flight(void)
{
    broker_up();
    create_topic(broker.port, "wide", 16);
    const size_t n = 50000;
    struct deliveries d;
    deliveries_init(&d, n);
    char errstr[256];
    const char *pairs[] = { "batch.bytes", "1k", "linger.ms", "0", NULL };
    rill_conf_t *conf = conf_for(broker.port, pairs);
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, on_delivery, &d, errstr, sizeof(errstr), &producer));
    for (size_t i = 0; i < n; i++) {
        char key[32], value[160];
        rill_header_t header;
        rill_record_t rec;
        make_record(i, key, value, &header, &rec);
        T_ASSERT_OK(rill_produce(producer, "wide", RILL_PARTITION_ANY, &rec, (void *)(uintptr_t)i));
    }
    (void)rill_poll(producer, 0);
    size_t outstanding = rill_producer_outstanding(producer);
    T_ASSERT(outstanding > 0);
    rill_producer_destroy(producer);
    T_ASSERT_EQ_INT(d.count, n);
    T_ASSERT(d.failed > 0);
    T_ASSERT_EQ_INT(d.first_err, RILL_ERR_CLOSED);
    T_ASSERT(!d.disorder);
    rill_conf_destroy(conf);
    deliveries_free(&d);
    rilld_stop_clean(&broker);
}

/* The broker is killed (SIGKILL) in the middle of a produce stream and restarted on the same
 * data (behind the proxy, so the client keeps its address): the producer reconnects, resends
 * what was not acknowledged, the restarted broker recognises what it had appended (its
 * idempotence windows are rebuilt from the log), and every record is there exactly once. */
static void t_broker_killed_mid_produce(void)
{
    broker_up();
    create_topic(broker.port, "events", 2);
    proxy_start(broker.port, 0);
    const size_t n = 40000;
    struct deliveries d;
    deliveries_init(&d, n);
    char errstr[256];
    const char *pairs[] = {
        "batch.bytes",        "16k",  "linger.ms", "1", "delivery.timeout.ms", "60000",
        "request.timeout.ms", "5000", NULL
    };
    rill_conf_t *conf = conf_for(proxy.port, pairs);
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, on_delivery, &d, errstr, sizeof(errstr), &producer));
    for (size_t i = 0; i < n; i++) {
        char key[32], value[160];
        rill_header_t header;
        rill_record_t rec;
        make_record(i, key, value, &header, &rec);
        rill_err err;
        while ((err = rill_produce(producer, "events", RILL_PARTITION_ANY, &rec,
                                   (void *)(uintptr_t)i)) == RILL_ERR_FULL) {
            (void)rill_poll(producer, 10);
        }
        T_ASSERT_OK(err);
        if (i % 500 == 0) {
            (void)rill_poll(producer, 0);
        }
        if (i == n / 2) {
            kill(broker.pid, SIGKILL);
            T_ASSERT(rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS) != -1);
            rilld_start(&broker);
            __atomic_store_n(&proxy.broker_port, broker.port, __ATOMIC_SEQ_CST);
        }
    }
    T_ASSERT_OK(rill_flush(producer, 60000));
    T_ASSERT_EQ_INT(d.count, n);
    if (d.failed > 0) {
        T_FAIL("%zu records failed, first with %s", d.failed, rill_err_name(d.first_err));
    }
    T_ASSERT(!d.disorder);
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    consume_check(broker.port, "events", &d, n, 2);
    deliveries_free(&d);
    rilld_stop_clean(&broker);
}

struct thread_producer {
    uint16_t port;
    int32_t partition;
    size_t n;
    size_t delivered;
    size_t failed;
    rill_err err;
};

static void on_thread_delivery(const rill_delivery_report_t *report, void *opaque)
{
    struct thread_producer *tp = opaque;
    if (report->err == RILL_OK) {
        tp->delivered++;
    } else {
        tp->failed++;
    }
}

static void *thread_producer_main(void *arg)
{
    struct thread_producer *tp = arg;
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", tp->port);
    rill_conf_t *conf = rill_conf_create();
    rill_producer_t *producer = NULL;
    tp->err = rill_conf_set(conf, "bootstrap.servers", servers, NULL, 0);
    if (tp->err == RILL_OK) {
        tp->err = rill_producer_create(conf, on_thread_delivery, tp, NULL, 0, &producer);
    }
    for (size_t i = 0; i < tp->n && tp->err == RILL_OK; i++) {
        char value[32];
        int bytes = snprintf(value, sizeof(value), "%d-%zu", tp->partition, i);
        rill_record_t rec = { NULL, 0, value, (size_t)bytes, NULL, 0, -1 };
        while ((tp->err = rill_produce(producer, "threads", tp->partition, &rec, NULL)) ==
               RILL_ERR_FULL) {
            (void)rill_poll(producer, 10);
        }
        if (i % 1000 == 0) {
            (void)rill_poll(producer, 0);
        }
    }
    if (tp->err == RILL_OK) {
        tp->err = rill_flush(producer, 60000);
    }
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
    return NULL;
}

/* Distinct handles in distinct threads at once: two producers, each on its own partition. */
static void t_producers_in_threads(void)
{
    broker_up();
    create_topic(broker.port, "threads", 2);
    struct thread_producer tps[2] = {
        { .port = broker.port, .partition = 0, .n = 20000 },
        { .port = broker.port, .partition = 1, .n = 20000 },
    };
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        T_ASSERT(pthread_create(&threads[i], NULL, thread_producer_main, &tps[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        T_ASSERT_OK(tps[i].err);
        T_ASSERT_EQ_INT(tps[i].delivered, tps[i].n);
        T_ASSERT_EQ_INT(tps[i].failed, 0);
    }
    rill_conf_t *conf = conf_for(broker.port, NULL);
    rill_admin_t *admin = NULL;
    char errstr[256];
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    for (int32_t p = 0; p < 2; p++) {
        int64_t end = -1;
        T_ASSERT_OK(rill_admin_list_offset(admin, "threads", p, RILL_OFFSET_END, &end));
        T_ASSERT_EQ_INT(end, 20000);
    }
    rill_admin_destroy(admin);
    rill_conf_destroy(conf);
    rilld_stop_clean(&broker);
}

static const struct t_case cases[] = {
    T_CASE(t_producers_in_threads),
    T_CASE(t_broker_killed_mid_produce),
    T_CASE(t_destroy_with_batches_in_flight),
    T_CASE(t_produce_consume_100k),
    T_CASE(t_acks_1_and_0),
    T_CASE(t_queue_full_and_errors),
    T_CASE(t_admin),
    T_CASE(t_consume_from_time),
    T_CASE(t_long_poll),
    T_CASE(t_lost_answers_deduplicated),
};

int main(int argc, char **argv)
{
    rilld_fixture_init(argv[0]);
    return t_run(argc, argv, cases, T_COUNT(cases));
}
