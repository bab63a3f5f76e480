/*
 * test_client_unit.c - the client library's parts that need no broker: configuration keys and
 * scopes, the key partitioner, the retry backoff bounds, the record walk behind delivery
 * reports, and creating handles (which must not touch the network).
 */
#include "tests/harness.h"

#include "client/client.h"
#include "client/producer.h"
#include "common/conf.h"
#include "log/batch.h"

static void conf_set_ok(rill_conf_t *conf, const char *key, const char *value)
{
    char errstr[256];
    rill_err err = rill_conf_set(conf, key, value, errstr, sizeof(errstr));
    if (err != RILL_OK) {
        T_FAIL("rill_conf_set(%s, %s): %s", key, value, errstr);
    }
}

static void t_conf_client_keys_validate(void)
{
    rill_conf_t *conf = rill_conf_create();
    char errstr[256];
    conf_set_ok(conf, "bootstrap.servers", "127.0.0.1:9700,localhost:1");
    conf_set_ok(conf, "acks", "all");
    conf_set_ok(conf, "acks", "0");
    conf_set_ok(conf, "acks", "-1");
    conf_set_ok(conf, "linger.ms", "0");
    conf_set_ok(conf, "batch.bytes", "64k");
    conf_set_ok(conf, "enable.idempotence", "false");
    conf_set_ok(conf, "max.inflight.per.partition", "1");
    conf_set_ok(conf, "enable.partition.eof", "true");
    conf_set_ok(conf, "client.id", "my app");
    static const char *const bad[][2] = {
        { "bootstrap.servers", "" },
        { "bootstrap.servers", "nohost" },
        { "bootstrap.servers", "host:0" },
        { "bootstrap.servers", "host:65536" },
        { "bootstrap.servers", ":80" },
        { "bootstrap.servers", "a:1,,b:2" },
        { "bootstrap.servers", "a:1x" },
        { "acks", "2" },
        { "acks", "" },
        { "enable.idempotence", "yes" },
        { "max.inflight.per.partition", "6" },
        { "max.inflight.per.partition", "0" },
        { "batch.bytes", "17m" },
        { "linger.ms", "-1" },
        { "compression", "zstd" },
        { "client.id", "" },
        { "client.id", "tab\there" },
        { "fetch.max.wait.ms", "30001" },
    };
    for (size_t i = 0; i < T_COUNT(bad); i++) {
        rill_err err = rill_conf_set(conf, bad[i][0], bad[i][1], errstr, sizeof(errstr));
        if (err != RILL_ERR_CONFIG_VALUE) {
            T_FAIL("%s=%s accepted (%d)", bad[i][0], bad[i][1], err);
        }
        T_ASSERT(strstr(errstr, bad[i][0]) != NULL);
    }
    T_ASSERT_EQ_INT(rill_conf_set(conf, "no.such.key", "1", errstr, sizeof(errstr)),
                    RILL_ERR_CONFIG_KEY);
    T_ASSERT(strcmp(rill_conf_get(conf, "acks"), "-1") == 0);
    rill_conf_destroy(conf);
}

static void t_conf_defaults(void)
{
    T_ASSERT_EQ_INT(conf_int64(NULL, "linger.ms"), 1);
    T_ASSERT_EQ_INT(conf_int64(NULL, "batch.bytes"), 1048576);
    T_ASSERT_EQ_INT(conf_int64(NULL, "queue.records.max"), 1000000);
    T_ASSERT_EQ_INT(conf_int64(NULL, "fetch.max.bytes"), 52428800);
    T_ASSERT(conf_bool(NULL, "enable.idempotence"));
    T_ASSERT(!conf_bool(NULL, "enable.partition.eof"));
    /* compression: none for logs, lz4 for producers */
    T_ASSERT(strcmp(conf_value(NULL, "compression"), "none") == 0);
    T_ASSERT(strcmp(conf_client_value(NULL, "compression"), "lz4") == 0);
    rill_conf_t *conf = rill_conf_create();
    conf_set_ok(conf, "compression", "none");
    T_ASSERT(strcmp(conf_client_value(conf, "compression"), "none") == 0);
    rill_conf_destroy(conf);
}

static void t_conf_scopes(void)
{
    T_ASSERT(conf_key_in_scope("acks", CONF_SCOPE_PRODUCER));
    T_ASSERT(!conf_key_in_scope("acks", CONF_SCOPE_LOG));
    T_ASSERT(conf_key_in_scope("compression", CONF_SCOPE_LOG));
    T_ASSERT(conf_key_in_scope("compression", CONF_SCOPE_PRODUCER));
    T_ASSERT(!conf_key_in_scope("compression", CONF_SCOPE_CONSUMER));
    T_ASSERT(conf_key_in_scope("bootstrap.servers", CONF_SCOPE_ADMIN));
    T_ASSERT(!conf_key_in_scope("segment.bytes", CONF_SCOPE_CLIENT));

    char errstr[256];
    rill_conf_t *conf = rill_conf_create();
    conf_set_ok(conf, "fetch.max.wait.ms", "10");
    rill_producer_t *producer = NULL;
    T_ASSERT_EQ_INT(rill_producer_create(conf, NULL, NULL, errstr, sizeof(errstr), &producer),
                    RILL_ERR_CONFIG_KEY);
    T_ASSERT(strstr(errstr, "fetch.max.wait.ms") != NULL);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    rill_consumer_destroy(consumer);
    rill_admin_t *admin = NULL;
    T_ASSERT_EQ_INT(rill_admin_create(conf, errstr, sizeof(errstr), &admin), RILL_ERR_CONFIG_KEY);
    rill_conf_destroy(conf);

    conf = rill_conf_create();
    conf_set_ok(conf, "segment.bytes", "1m");
    T_ASSERT_EQ_INT(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer),
                    RILL_ERR_CONFIG_KEY);
    T_ASSERT(strstr(errstr, "segment.bytes") != NULL);
    rill_conf_destroy(conf);

    /* A log ignores client keys as before. */
    conf = rill_conf_create();
    conf_set_ok(conf, "acks", "1");
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    rill_log_t *log = NULL;
    T_ASSERT_OK(rill_log_open(dir, conf, &log));
    T_ASSERT_OK(rill_log_close(log));
    t_rmdir_all(dir);
    rill_conf_destroy(conf);
}

static void t_conf_acks0_idempotence(void)
{
    char errstr[256];
    rill_conf_t *conf = rill_conf_create();
    conf_set_ok(conf, "acks", "0");
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, NULL, NULL, errstr, sizeof(errstr), &producer));
    rill_producer_destroy(producer);
    conf_set_ok(conf, "enable.idempotence", "true");
    T_ASSERT_EQ_INT(rill_producer_create(conf, NULL, NULL, errstr, sizeof(errstr), &producer),
                    RILL_ERR_CONFIG_VALUE);
    rill_conf_destroy(conf);
}

static void t_servers_parse(void)
{
    const char *cursor = "a.example:1,[::1]:9700,127.0.0.1:65535";
    char host[64];
    uint16_t port = 0;
    T_ASSERT_OK(conf_server_next(&cursor, host, sizeof(host), &port));
    T_ASSERT(strcmp(host, "a.example") == 0 && port == 1);
    T_ASSERT_OK(conf_server_next(&cursor, host, sizeof(host), &port));
    T_ASSERT(strcmp(host, "[::1]") == 0 && port == 9700);
    T_ASSERT_OK(conf_server_next(&cursor, host, sizeof(host), &port));
    T_ASSERT(strcmp(host, "127.0.0.1") == 0 && port == 65535);
    T_ASSERT(*cursor == '\0');
    cursor = "averyveryverylonghostname:1";
    T_ASSERT_EQ_INT(conf_server_next(&cursor, host, 8, &port), RILL_ERR_CONFIG_VALUE);
}

static void t_partitioner(void)
{
    /* Stable: the same key always maps to the same partition; spread over all of them. */
    unsigned hits[7] = { 0 };
    for (unsigned i = 0; i < 7000; i++) {
        char key[32];
        int bytes = snprintf(key, sizeof(key), "key-%u", i);
        int32_t p = producer_partition_for_key(key, (size_t)bytes, 7);
        T_ASSERT(p >= 0 && p < 7);
        T_ASSERT_EQ_INT(p, producer_partition_for_key(key, (size_t)bytes, 7));
        hits[p]++;
    }
    for (unsigned p = 0; p < 7; p++) {
        T_ASSERT(hits[p] > 700 && hits[p] < 1300);
    }
    T_ASSERT_EQ_INT(producer_partition_for_key("x", 1, 1), 0);
    T_ASSERT(producer_partition_for_key("", 0, 3) >= 0);
}

static void t_backoff_bounds(void)
{
    uint64_t rng = T_SEED;
    const int64_t base = 100, max = 1000;
    for (unsigned attempt = 0; attempt < 40; attempt++) {
        int64_t d = base;
        for (unsigned i = 0; i < attempt && d < max; i++) {
            d *= 2;
        }
        d = d > max ? max : d;
        for (unsigned trial = 0; trial < 200; trial++) {
            int64_t got = client_backoff_ns(base, max, attempt, &rng);
            if (got < d / 2 || got > d) {
                T_FAIL("attempt %u: %lld outside [%lld, %lld]", attempt, (long long)got,
                       (long long)(d / 2), (long long)d);
            }
        }
    }
    T_ASSERT_EQ_INT(client_backoff_ns(0, 0, 5, &rng), 0);
}

static void t_record_walk(void)
{
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, 1 << 20));
    rill_header_t header = { "h", 1, "v", 1 };
    rill_record_t records[] = {
        { "k1", 2, "value-1", 7, &header, 1, 5 },
        { NULL, 0, "v", 1, NULL, 0, -1 },
        { "", 0, NULL, 0, NULL, 0, 7 },
    };
    for (size_t i = 0; i < T_COUNT(records); i++) {
        T_ASSERT_OK(log_batch_builder_add(&bld, &records[i], 1000));
    }
    const uint8_t *pos = bld.buf + LOG_BATCH_HEADER_BYTES;
    for (size_t i = 0; i < T_COUNT(records); i++) {
        const void *key, *value;
        size_t key_bytes, value_bytes;
        producer_record_walk(&pos, &key, &key_bytes, &value, &value_bytes);
        T_ASSERT((key == NULL) == (records[i].key == NULL));
        T_ASSERT((value == NULL) == (records[i].value == NULL));
        T_ASSERT_EQ_INT(key_bytes, records[i].key_bytes);
        T_ASSERT_EQ_INT(value_bytes, records[i].value_bytes);
        if (key_bytes > 0) {
            T_ASSERT_MEM_EQ(key, records[i].key, key_bytes);
        }
        if (value_bytes > 0) {
            T_ASSERT_MEM_EQ(value, records[i].value, value_bytes);
        }
    }
    T_ASSERT(pos == bld.buf + bld.buf_used_bytes);
    log_batch_builder_deinit(&bld);
}

/* No broker listens: create works (lazy connect); produce fails with RILL_ERR_CONNECTION in
 * about connect.timeout.ms; the consumer's assign too; admin calls too. */
static void t_no_broker(void)
{
    char errstr[256];
    rill_conf_t *conf = rill_conf_create();
    conf_set_ok(conf, "bootstrap.servers", "127.0.0.1:1");
    conf_set_ok(conf, "connect.timeout.ms", "300");
    conf_set_ok(conf, "request.timeout.ms", "300");
    conf_set_ok(conf, "retry.backoff.ms", "10");
    conf_set_ok(conf, "retry.backoff.max.ms", "50");
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, NULL, NULL, errstr, sizeof(errstr), &producer));
    rill_record_t rec = { "k", 1, "v", 1, NULL, 0, -1 };
    T_ASSERT_EQ_INT(rill_produce(producer, "t", RILL_PARTITION_ANY, &rec, NULL),
                    RILL_ERR_CONNECTION);
    T_ASSERT_EQ_INT(rill_producer_outstanding(producer), 0);
    T_ASSERT_OK(rill_flush(producer, 100));
    rill_producer_destroy(producer);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    T_ASSERT_EQ_INT(rill_consumer_assign(consumer, "t", 0, RILL_OFFSET_BEGINNING),
                    RILL_ERR_CONNECTION);
    const rill_message_t *msg = NULL;
    T_ASSERT_EQ_INT(rill_consume(consumer, 10, &msg), RILL_ERR_INVALID);
    rill_consumer_destroy(consumer);
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    T_ASSERT_EQ_INT(rill_admin_create_topic(admin, "t", 1, NULL, 0, errstr, sizeof(errstr)),
                    RILL_ERR_CONNECTION);
    rill_admin_destroy(admin);
    rill_conf_destroy(conf);
}

static const struct t_case cases[] = {
    T_CASE(t_conf_client_keys_validate),
    T_CASE(t_conf_defaults),
    T_CASE(t_conf_scopes),
    T_CASE(t_conf_acks0_idempotence),
    T_CASE(t_servers_parse),
    T_CASE(t_partitioner),
    T_CASE(t_backoff_bounds),
    T_CASE(t_record_walk),
    T_CASE(t_no_broker),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
