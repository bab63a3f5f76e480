/*
 * test_broker_meta.c - the topic metadata state machine and its log: validation of names,
 * partition counts and configs; apply of every record type; the record codec and its refusal
 * of malformed bodies; replay after reopen giving an identical state; producer ids never
 * reissued across restarts; a damaged metadata log (byte flipped below the checkpoint, torn
 * tail, garbage behind a valid CRC) refused or recovered as the storage engine promises.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>

#include "tests/harness.h"
#include "broker/meta.h"
#include "log/batch.h"
#include "log/io.h"
#include "log/partition.h"

static void uring_or_skip(void)
{
    struct io_uring ring;
    int ret = io_uring_queue_init(4, &ring, 0);
    if (ret == -ENOSYS || ret == -EPERM) {
        T_SKIP("io_uring is not available here");
    }
    T_ASSERT_EQ_INT(ret, 0);
    io_uring_queue_exit(&ring);
}

static rill_err name_check(const char *name, bool internal)
{
    return meta_validate_topic_name(name, strlen(name), internal);
}

static void t_topic_names(void)
{
    char name[300];
    memset(name, 'a', sizeof(name));
    name[RILL_TOPIC_NAME_BYTES_MAX] = '\0';
    T_ASSERT_OK(name_check(name, false));
    name[RILL_TOPIC_NAME_BYTES_MAX] = 'a';
    name[RILL_TOPIC_NAME_BYTES_MAX + 1] = '\0';
    T_ASSERT_EQ_INT(name_check(name, false), RILL_ERR_INVALID_TOPIC);
    static const char *const good[] = { "a", "orders", "Orders.v2_x-y", "...", "_x", "0" };
    for (size_t i = 0; i < T_COUNT(good); i++) {
        T_ASSERT_OK(name_check(good[i], false));
    }
    static const char *const bad[] = { "",          ".",   "..", "a b", "a/b", "a\\b",
                                       "t\xc3\xa4", "a:b", "a*", "__x", "__" };
    for (size_t i = 0; i < T_COUNT(bad); i++) {
        T_ASSERT_EQ_INT(name_check(bad[i], false), RILL_ERR_INVALID_TOPIC);
    }
    T_ASSERT_OK(name_check("__x", true));
    T_ASSERT_EQ_INT(name_check(".", true), RILL_ERR_INVALID_TOPIC);
    /* A NUL inside the declared length is a bad character, not an end. */
    T_ASSERT_EQ_INT(meta_validate_topic_name("a\0b", 3, false), RILL_ERR_INVALID_TOPIC);
}

static void t_validate_create(void)
{
    struct meta_state state;
    meta_state_init(&state);
    char errstr[256];
    struct meta_config ok[] = { { "retention.ms", "1000" },
                                { "cleanup.policy", "delete" },
                                { "segment.bytes", "1m" } };
    T_ASSERT_OK(meta_validate_create(&state, "t", 3, ok, 3, false, errstr, sizeof(errstr)));
    T_ASSERT_OK(meta_validate_create(&state, "t", RILL_PARTITIONS_MAX, NULL, 0, false, NULL, 0));
    T_ASSERT_EQ_INT(meta_validate_create(&state, "t", 0, NULL, 0, false, errstr, sizeof(errstr)),
                    RILL_ERR_INVALID_PARTITIONS);
    T_ASSERT(strstr(errstr, "partitions") != NULL);
    T_ASSERT_EQ_INT(meta_validate_create(&state, "t", -1, NULL, 0, false, NULL, 0),
                    RILL_ERR_INVALID_PARTITIONS);
    T_ASSERT_EQ_INT(
        meta_validate_create(&state, "t", RILL_PARTITIONS_MAX + 1, NULL, 0, false, NULL, 0),
        RILL_ERR_INVALID_PARTITIONS);
    T_ASSERT_EQ_INT(meta_validate_create(&state, "__t", 1, NULL, 0, false, NULL, 0),
                    RILL_ERR_INVALID_TOPIC);
    T_ASSERT_OK(meta_validate_create(&state, "__t", 1, NULL, 0, true, NULL, 0));
    T_ASSERT_EQ_INT(meta_validate_create(&state, NULL, 1, NULL, 0, false, NULL, 0),
                    RILL_ERR_INVALID_TOPIC);

    struct meta_config unknown[] = { { "no.such.key", "1" } };
    T_ASSERT_EQ_INT(meta_validate_create(&state, "t", 1, unknown, 1, false, errstr, sizeof(errstr)),
                    RILL_ERR_CONFIG_KEY);
    T_ASSERT(strstr(errstr, "no.such.key") != NULL);
    static const struct meta_config bad_values[] = {
        { "retention.ms", "soon" }, { "segment.bytes", "1" },    { "cleanup.policy", "compacted" },
        { "flush", "sometimes" },   { "max.batch.bytes", "1g" }, { "retention.bytes", "-2" },
    };
    for (size_t i = 0; i < T_COUNT(bad_values); i++) {
        T_ASSERT_EQ_INT(meta_validate_create(&state, "t", 1, &bad_values[i], 1, false, NULL, 0),
                        RILL_ERR_CONFIG_VALUE);
    }
    struct meta_config twice[] = { { "retention.ms", "1" }, { "retention.ms", "2" } };
    T_ASSERT_EQ_INT(meta_validate_create(&state, "t", 1, twice, 2, false, NULL, 0),
                    RILL_ERR_INVALID_REQUEST);
    struct meta_config reset[] = { { "retention.ms", NULL } };
    T_ASSERT_EQ_INT(meta_validate_create(&state, "t", 1, reset, 1, false, NULL, 0),
                    RILL_ERR_CONFIG_VALUE);

    struct meta_record rec = { .type = META_RECORD_TOPIC_CREATED,
                               .name = "t",
                               .partition_count = 1 };
    T_ASSERT_OK(meta_apply(&state, &rec));
    T_ASSERT_EQ_INT(meta_validate_create(&state, "t", 1, NULL, 0, false, NULL, 0), RILL_ERR_EXISTS);
    meta_state_deinit(&state);
}

static void t_validate_alter_delete(void)
{
    struct meta_state state;
    meta_state_init(&state);
    struct meta_record create = { .type = META_RECORD_TOPIC_CREATED,
                                  .name = "__internal",
                                  .partition_count = 1 };
    T_ASSERT_OK(meta_apply(&state, &create));
    struct meta_record alter = { .type = META_RECORD_CONFIG_CHANGED, .name = "nope" };
    T_ASSERT_EQ_INT(meta_validate(&state, &alter, NULL, 0), RILL_ERR_UNKNOWN_TOPIC);
    alter.name = "__internal";
    alter.config_count = 2;
    alter.configs[0] = (struct meta_config){ "retention.ms", "5" };
    alter.configs[1] = (struct meta_config){ "segment.ms", NULL };
    T_ASSERT_OK(meta_validate(&state, &alter, NULL, 0));
    alter.configs[1] = (struct meta_config){ "no.such.key", NULL };
    T_ASSERT_EQ_INT(meta_validate(&state, &alter, NULL, 0), RILL_ERR_CONFIG_KEY);
    alter.configs[1] = (struct meta_config){ "segment.ms", "-1" };
    T_ASSERT_EQ_INT(meta_validate(&state, &alter, NULL, 0), RILL_ERR_CONFIG_VALUE);

    struct meta_record del = { .type = META_RECORD_TOPIC_DELETED, .name = "nope" };
    T_ASSERT_EQ_INT(meta_validate(&state, &del, NULL, 0), RILL_ERR_UNKNOWN_TOPIC);
    del.name = "__internal";
    T_ASSERT_EQ_INT(meta_validate(&state, &del, NULL, 0), RILL_ERR_INVALID_TOPIC);
    del.internal = true;
    T_ASSERT_OK(meta_validate(&state, &del, NULL, 0));

    struct meta_record block = { .type = META_RECORD_PRODUCER_ID_BLOCK,
                                 .producer_id_block_end = 0 };
    T_ASSERT_EQ_INT(meta_validate(&state, &block, NULL, 0), RILL_ERR_INVALID);
    block.producer_id_block_end = 10;
    T_ASSERT_OK(meta_validate(&state, &block, NULL, 0));
    struct meta_record unknown_type = { .type = (enum meta_record_type)9 };
    T_ASSERT_EQ_INT(meta_validate(&state, &unknown_type, NULL, 0), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(meta_apply(&state, &unknown_type), RILL_ERR_INVALID);
    meta_state_deinit(&state);
}

static void t_apply_create_alter_delete(void)
{
    struct meta_state state;
    meta_state_init(&state);
    struct meta_record rec = {
        .type = META_RECORD_TOPIC_CREATED, .name = "orders", .partition_count = 4, .config_count = 2
    };
    rec.configs[0] = (struct meta_config){ "retention.ms", "60000" };
    rec.configs[1] = (struct meta_config){ "flush", "os" };
    T_ASSERT_OK(meta_apply(&state, &rec));
    rec.name = "audit";
    rec.config_count = 0;
    T_ASSERT_OK(meta_apply(&state, &rec));
    T_ASSERT_EQ_INT(meta_apply(&state, &rec), RILL_ERR_EXISTS);
    T_ASSERT_EQ_INT(state.version, 2);
    T_ASSERT_EQ_INT(state.topic_count, 2);
    T_ASSERT(strcmp(meta_topic_at(&state, 0)->name, "audit") == 0);

    const struct meta_topic *topic = meta_topic_find(&state, "orders");
    T_ASSERT(topic != NULL);
    T_ASSERT_EQ_INT(topic->partition_count, 4);
    T_ASSERT_EQ_INT(topic->created_version, 1);
    T_ASSERT_EQ_INT(topic->config_count, 2);
    T_ASSERT(strcmp(topic->configs[0].key, "flush") == 0); /* sorted by key */
    T_ASSERT(strcmp(meta_topic_config_value(topic, "retention.ms"), "60000") == 0);
    T_ASSERT(strcmp(meta_topic_config_value(topic, "segment.bytes"), "1g") == 0);
    T_ASSERT(strcmp(meta_topic_config_value(topic, "cleanup.policy"), "delete") == 0);
    T_ASSERT(meta_topic_config_value(topic, "no.such.key") == NULL);
    struct log_config cfg;
    T_ASSERT_OK(meta_topic_log_config(topic, &cfg));
    T_ASSERT_EQ_INT(cfg.retention_ms, 60000);
    T_ASSERT_EQ_INT(cfg.flush, LOG_FLUSH_OS);
    T_ASSERT_EQ_INT(cfg.segment_bytes, 1024ll * 1024 * 1024);

    struct meta_record alter = { .type = META_RECORD_CONFIG_CHANGED,
                                 .name = "orders",
                                 .config_count = 3 };
    alter.configs[0] = (struct meta_config){ "retention.ms", NULL };
    alter.configs[1] = (struct meta_config){ "segment.bytes", "1m" };
    alter.configs[2] = (struct meta_config){ "flush", "always" };
    T_ASSERT_OK(meta_apply(&state, &alter));
    topic = meta_topic_find(&state, "orders");
    T_ASSERT_EQ_INT(topic->config_count, 2);
    T_ASSERT(strcmp(meta_topic_config_value(topic, "retention.ms"), "604800000") == 0);
    T_ASSERT_OK(meta_topic_log_config(topic, &cfg));
    T_ASSERT_EQ_INT(cfg.segment_bytes, 1024 * 1024);
    T_ASSERT_EQ_INT(cfg.flush, LOG_FLUSH_ALWAYS);
    alter.name = "missing";
    T_ASSERT_EQ_INT(meta_apply(&state, &alter), RILL_ERR_UNKNOWN_TOPIC);

    struct meta_record del = { .type = META_RECORD_TOPIC_DELETED, .name = "orders" };
    T_ASSERT_OK(meta_apply(&state, &del));
    T_ASSERT(meta_topic_find(&state, "orders") == NULL);
    T_ASSERT_EQ_INT(meta_apply(&state, &del), RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT_EQ_INT(state.topic_count, 1);
    T_ASSERT_EQ_INT(state.version, 4);

    struct meta_record block = { .type = META_RECORD_PRODUCER_ID_BLOCK,
                                 .producer_id_block_end = 1000 };
    T_ASSERT_OK(meta_apply(&state, &block));
    T_ASSERT_EQ_INT(meta_apply(&state, &block), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(state.producer_id_block_end, 1000);
    T_ASSERT_EQ_INT(state.version, 5);
    meta_state_deinit(&state);
}

/* Many topics inserted out of order stay sorted and findable; deletes keep the order. */
static void t_apply_many_topics(void)
{
    struct meta_state state;
    meta_state_init(&state);
    uint64_t rng = T_SEED;
    char name[RILL_TOPIC_NAME_BYTES_MAX + 1];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "t%05d", (int)(t_rand(&rng) % 100000));
        struct meta_record rec = { .type = META_RECORD_TOPIC_CREATED,
                                   .name = name,
                                   .partition_count = 1 };
        rill_err err = meta_apply(&state, &rec);
        T_ASSERT(err == RILL_OK || err == RILL_ERR_EXISTS);
        T_ASSERT(meta_topic_find(&state, name) != NULL);
    }
    for (uint32_t i = 0; i + 1 < state.topic_count; i++) {
        T_ASSERT(strcmp(meta_topic_at(&state, i)->name, meta_topic_at(&state, i + 1)->name) < 0);
    }
    while (state.topic_count > 0) {
        snprintf(name, sizeof(name), "%s", meta_topic_at(&state, state.topic_count / 2)->name);
        struct meta_record del = { .type = META_RECORD_TOPIC_DELETED, .name = name };
        T_ASSERT_OK(meta_apply(&state, &del));
        T_ASSERT(meta_topic_find(&state, name) == NULL);
    }
    meta_state_deinit(&state);
}

static void expect_roundtrip(const struct meta_record *rec)
{
    uint8_t *body = NULL;
    size_t bytes = 0;
    T_ASSERT_OK(meta_record_encode(rec, &body, &bytes));
    struct meta_record back;
    T_ASSERT_OK(meta_record_decode((uint8_t)rec->type, body, bytes, &back));
    T_ASSERT_EQ_INT(back.type, rec->type);
    T_ASSERT_EQ_INT(back.config_count, rec->config_count);
    if (rec->type == META_RECORD_PRODUCER_ID_BLOCK) {
        T_ASSERT_EQ_INT(back.producer_id_block_end, rec->producer_id_block_end);
    } else {
        T_ASSERT(strcmp(back.name, rec->name) == 0);
    }
    if (rec->type == META_RECORD_TOPIC_CREATED) {
        T_ASSERT_EQ_INT(back.partition_count, rec->partition_count);
    }
    /* Set entries come back first, then resets; each group keeps its order. */
    uint32_t j = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < rec->config_count; i++) {
            if ((rec->configs[i].value == NULL) != (pass == 1)) {
                continue;
            }
            T_ASSERT(strcmp(back.configs[j].key, rec->configs[i].key) == 0);
            T_ASSERT((back.configs[j].value == NULL) == (rec->configs[i].value == NULL));
            T_ASSERT(rec->configs[i].value == NULL ||
                     strcmp(back.configs[j].value, rec->configs[i].value) == 0);
            j++;
        }
    }
    /* Every shorter prefix and one trailing byte more are refused. */
    for (size_t cut = 0; cut < bytes; cut++) {
        struct meta_record bad;
        T_ASSERT_EQ_INT(meta_record_decode((uint8_t)rec->type, body, cut, &bad), RILL_ERR_CORRUPT);
    }
    uint8_t *longer = malloc(bytes + 1);
    T_ASSERT(longer != NULL);
    memcpy(longer, body, bytes);
    longer[bytes] = 0;
    struct meta_record bad;
    T_ASSERT_EQ_INT(meta_record_decode((uint8_t)rec->type, longer, bytes + 1, &bad),
                    RILL_ERR_CORRUPT);
    free(longer);
    meta_record_release(&back);
    free(body);
}

static void t_record_codec(void)
{
    char long_value[1000];
    memset(long_value, '7', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    struct meta_record created = { .type = META_RECORD_TOPIC_CREATED,
                                   .name = "__consumer_offsets",
                                   .partition_count = RILL_PARTITIONS_MAX,
                                   .config_count = 2 };
    created.configs[0] = (struct meta_config){ "retention.ms", long_value };
    created.configs[1] = (struct meta_config){ "flush", "" };
    expect_roundtrip(&created);
    created.config_count = 0;
    expect_roundtrip(&created);
    struct meta_record changed = { .type = META_RECORD_CONFIG_CHANGED,
                                   .name = "t",
                                   .config_count = 3 };
    changed.configs[0] = (struct meta_config){ "a", NULL };
    changed.configs[1] = (struct meta_config){ "b", "1" };
    changed.configs[2] = (struct meta_config){ "c", NULL };
    expect_roundtrip(&changed);
    struct meta_record deleted = { .type = META_RECORD_TOPIC_DELETED, .name = "x.y-z" };
    expect_roundtrip(&deleted);
    int64_t ends[] = { 1, 127, 128, 65536, INT64_MAX };
    for (size_t i = 0; i < T_COUNT(ends); i++) {
        struct meta_record block = { .type = META_RECORD_PRODUCER_ID_BLOCK,
                                     .producer_id_block_end = ends[i] };
        expect_roundtrip(&block);
    }
}

static void expect_refused(uint8_t type, const char *hex_like, size_t bytes)
{
    struct meta_record rec;
    T_ASSERT_EQ_INT(meta_record_decode(type, (const uint8_t *)hex_like, bytes, &rec),
                    RILL_ERR_CORRUPT);
}

static void t_record_decode_refuses(void)
{
    /* Wrong type byte, for a body valid as TOPIC_DELETED. */
    expect_refused(0, "\x91\xa1t", 3);
    expect_refused(5, "\x91\xa1t", 3);
    expect_refused(255, "\x91\xa1t", 3);
    /* Wrong element count, bad names, nil name, a NUL inside a string. */
    expect_refused(META_RECORD_TOPIC_DELETED, "\x92\xa1t\xa1u", 5);
    expect_refused(META_RECORD_TOPIC_DELETED, "\x91\xa0", 2);
    expect_refused(META_RECORD_TOPIC_DELETED, "\x91\xa1.", 3);
    expect_refused(META_RECORD_TOPIC_DELETED, "\x91\xa3t/u", 5);
    expect_refused(META_RECORD_TOPIC_DELETED, "\x91\xc0", 2);
    expect_refused(META_RECORD_TOPIC_DELETED, "\x91\xa3t\0u", 5);
    /* A str32 claiming 4 GiB, an array32 claiming 4 G elements, a map claiming too many. */
    expect_refused(META_RECORD_TOPIC_DELETED, "\x91\xdb\xff\xff\xff\xff", 6);
    expect_refused(META_RECORD_TOPIC_DELETED, "\xdd\xff\xff\xff\xff\xa1t", 7);
    expect_refused(META_RECORD_TOPIC_CREATED, "\x93\xa1t\x01\xdf\xff\xff\xff\xff", 9);
    expect_refused(META_RECORD_TOPIC_CREATED, "\x93\xa1t\x01\xde\x00\x41", 7);
    /* Partition counts 0 and max + 1, a negative int, a signed encoding. */
    expect_refused(META_RECORD_TOPIC_CREATED, "\x93\xa1t\x00\x80", 5);
    expect_refused(META_RECORD_TOPIC_CREATED, "\x93\xa1t\xcd\x27\x11\x80", 7);
    expect_refused(META_RECORD_TOPIC_CREATED, "\x93\xa1t\xff\x80", 5);
    expect_refused(META_RECORD_TOPIC_CREATED, "\x93\xa1t\xd0\x01\x80", 6);
    /* A config key that is empty, or too long. */
    expect_refused(META_RECORD_TOPIC_CREATED, "\x93\xa1t\x01\x81\xa0\xa1v", 8);
    char body[128] = "\x93\xa1t\x01\x81\xd9\x41";
    memset(body + 7, 'k', 65);
    body[72] = '\xa0';
    expect_refused(META_RECORD_TOPIC_CREATED, body, 73);
    /* A producer id block end past INT64_MAX. */
    expect_refused(META_RECORD_PRODUCER_ID_BLOCK, "\x91\xcf\x80\0\0\0\0\0\0\0", 10);
    /* Empty and one-byte bodies; NULL with zero bytes. */
    expect_refused(META_RECORD_TOPIC_DELETED, "", 0);
    expect_refused(META_RECORD_TOPIC_DELETED, "\x91", 1);
    struct meta_record rec;
    T_ASSERT_EQ_INT(meta_record_decode(META_RECORD_TOPIC_DELETED, NULL, 0, &rec), RILL_ERR_CORRUPT);
    /* The positive cases next to them decode. */
    T_ASSERT_OK(meta_record_decode(META_RECORD_TOPIC_CREATED,
                                   (const uint8_t *)"\x93\xa1t\xcd\x27\x10\x81\xa1k\xa0", 10,
                                   &rec));
    T_ASSERT_EQ_INT(rec.partition_count, RILL_PARTITIONS_MAX);
    T_ASSERT(strcmp(rec.configs[0].value, "") == 0);
    meta_record_release(&rec);
}

/* ---- the log ---- */

struct fixture {
    char dir[256];
    struct meta_log *log;
    struct meta_state state;
};

static void fixture_open(struct fixture *fx)
{
    T_ASSERT_OK(meta_log_open(fx->dir, NULL, &fx->log, &fx->state));
}

static void fixture_init(struct fixture *fx)
{
    uring_or_skip();
    t_mkdtemp(fx->dir, sizeof(fx->dir));
    fixture_open(fx);
}

static void fixture_close(struct fixture *fx)
{
    T_ASSERT_OK(meta_log_close(fx->log));
    fx->log = NULL;
    meta_state_deinit(&fx->state);
}

static void fixture_done(struct fixture *fx)
{
    if (fx->log != NULL) {
        fixture_close(fx);
    }
    t_rmdir_all(fx->dir);
}

static void create_topic(struct fixture *fx, const char *name, int32_t partitions)
{
    char errstr[256] = "";
    struct meta_record rec = { .type = META_RECORD_TOPIC_CREATED,
                               .name = name,
                               .partition_count = partitions,
                               .config_count = 1 };
    rec.configs[0] = (struct meta_config){ "retention.ms", "3600000" };
    rill_err err = meta_log_append(fx->log, &fx->state, &rec, errstr, sizeof(errstr));
    if (err != RILL_OK) {
        T_FAIL("create %s: %s (%s)", name, rill_err_name(err), errstr);
    }
    /* Durable when the append returns: a crash from here on keeps the topic. */
    T_ASSERT_EQ_INT(fx->log->part->offset_durable, fx->log->part->offset_next);
    T_ASSERT_EQ_INT(fx->log->part->offset_next, fx->state.version);
}

/* A workload touching every record type; returns the records written. */
static int write_workload(struct fixture *fx, int topics)
{
    int records = 0;
    char name[32];
    for (int i = 0; i < topics; i++) {
        snprintf(name, sizeof(name), "topic-%03d", i);
        create_topic(fx, name, 1 + i % 7);
        records++;
        if (i % 3 == 0) {
            struct meta_record alter = { .type = META_RECORD_CONFIG_CHANGED,
                                         .name = name,
                                         .config_count = 2 };
            alter.configs[0] = (struct meta_config){ "retention.ms", NULL };
            alter.configs[1] = (struct meta_config){ "segment.bytes", "2m" };
            T_ASSERT_OK(meta_log_append(fx->log, &fx->state, &alter, NULL, 0));
            records++;
        }
        if (i % 5 == 4) {
            struct meta_record del = { .type = META_RECORD_TOPIC_DELETED, .name = name };
            T_ASSERT_OK(meta_log_append(fx->log, &fx->state, &del, NULL, 0));
            records++;
        }
    }
    int64_t id;
    T_ASSERT_OK(meta_log_producer_id_alloc(fx->log, &fx->state, &id));
    return records + 1;
}

static void t_log_replay_identical(void)
{
    struct fixture fx;
    fixture_init(&fx);
    T_ASSERT_EQ_INT(fx.state.version, 0);
    int records = write_workload(&fx, 40);
    T_ASSERT_EQ_INT(fx.state.version, records);
    /* A refused change writes nothing. */
    struct meta_record bad = { .type = META_RECORD_TOPIC_CREATED,
                               .name = "..",
                               .partition_count = 1 };
    T_ASSERT_EQ_INT(meta_log_append(fx.log, &fx.state, &bad, NULL, 0), RILL_ERR_INVALID_TOPIC);
    T_ASSERT_EQ_INT(fx.log->part->offset_next, records);

    struct meta_state before = fx.state;
    T_ASSERT_OK(meta_log_close(fx.log));
    for (int round = 0; round < 2; round++) {
        fixture_open(&fx);
        T_ASSERT(meta_state_equal(&before, &fx.state));
        T_ASSERT(fx.state.topic_count == 32);
        T_ASSERT_EQ_INT(meta_topic_find(&fx.state, "topic-003")->config_count, 1);
        fixture_close(&fx);
    }
    /* The comparison notices a difference. */
    fixture_open(&fx);
    create_topic(&fx, "one-more", 1);
    T_ASSERT(!meta_state_equal(&before, &fx.state));
    meta_state_deinit(&before);
    fixture_done(&fx);
}

static void t_producer_ids_never_reissued(void)
{
    struct fixture fx;
    fixture_init(&fx);
    int64_t last = -1, id = -1;
    for (int i = 0; i < META_PRODUCER_ID_BLOCK + 10; i++) {
        T_ASSERT_OK(meta_log_producer_id_alloc(fx.log, &fx.state, &id));
        T_ASSERT_EQ_INT(id, last + 1);
        last = id;
    }
    for (int round = 0; round < 3; round++) {
        fixture_close(&fx);
        fixture_open(&fx);
        T_ASSERT_OK(meta_log_producer_id_alloc(fx.log, &fx.state, &id));
        T_ASSERT(id > last);
        last = id;
    }
    /* Topics and producer id blocks interleave in one log. */
    create_topic(&fx, "t", 1);
    T_ASSERT_OK(meta_log_producer_id_alloc(fx.log, &fx.state, &id));
    T_ASSERT_EQ_INT(id, last + 1);
    fixture_done(&fx);
}

static void segment_path(const struct fixture *fx, char *out, size_t out_bytes)
{
    snprintf(out, out_bytes, "%s/%s/%020d.log", fx->dir, META_LOG_DIR, 0);
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;
    T_ASSERT_OK(stat(path, &st));
    return (uint64_t)st.st_size;
}

static void file_flip(const char *path, uint64_t position)
{
    int fd = open(path, O_RDWR);
    T_ASSERT(fd >= 0);
    uint8_t byte;
    T_ASSERT_EQ_INT(pread(fd, &byte, 1, (off_t)position), 1);
    byte ^= 0x5a;
    T_ASSERT_EQ_INT(pwrite(fd, &byte, 1, (off_t)position), 1);
    close(fd);
}

/* A position inside the CRC-covered bytes of the batch that holds file position `near`. */
static uint64_t crc_covered_position(const char *path, uint64_t near, uint64_t *rng)
{
    uint64_t bytes = file_bytes(path);
    uint8_t *data = malloc(bytes);
    T_ASSERT(data != NULL);
    int fd = open(path, O_RDONLY);
    T_ASSERT(fd >= 0);
    T_ASSERT_EQ_INT(pread(fd, data, bytes, 0), (long long)bytes);
    close(fd);
    uint64_t position = 0;
    for (;;) {
        struct log_batch_header hdr;
        T_ASSERT_OK(log_batch_header_decode(data + position, bytes - position, &hdr));
        uint64_t total = log_batch_total_bytes(&hdr);
        if (position + total > near || position + total >= bytes) {
            free(data);
            return position + LOG_BATCH_CRC_START + t_rand(rng) % (total - LOG_BATCH_CRC_START);
        }
        position += total;
    }
}

static void t_log_flip_below_checkpoint_refuses(void)
{
    struct fixture fx;
    fixture_init(&fx);
    write_workload(&fx, 20);
    fixture_close(&fx);
    char path[512];
    segment_path(&fx, path, sizeof(path));
    uint64_t bytes = file_bytes(path);
    uint64_t rng = T_SEED;
    for (int round = 0; round < 8; round++) {
        uint64_t near = round == 0 ? bytes / 2 : t_rand(&rng) % bytes;
        uint64_t position = crc_covered_position(path, near, &rng);
        file_flip(path, position);
        struct meta_log *log = NULL;
        struct meta_state state;
        rill_err err = meta_log_open(fx.dir, NULL, &log, &state);
        if (err != RILL_ERR_CORRUPT) {
            T_FAIL("byte %llu of %llu flipped: open gave %s", (unsigned long long)position,
                   (unsigned long long)bytes, rill_err_name(err));
        }
        file_flip(path, position);
    }
    fixture_open(&fx);
    fixture_done(&fx);
}

/* A crash after more records (no clean close), then the last batch torn: the prefix stays. */
static void t_log_torn_tail_recovers(void)
{
    struct fixture fx;
    fixture_init(&fx);
    create_topic(&fx, "kept", 1);
    fixture_close(&fx);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        fixture_open(&fx);
        create_topic(&fx, "also-kept", 2);
        create_topic(&fx, "torn", 3);
        _exit(0); /* no close: the checkpoint stays where the clean close put it */
    }
    int status = 0;
    T_ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char path[512];
    segment_path(&fx, path, sizeof(path));
    T_ASSERT_OK(truncate(path, (off_t)(file_bytes(path) - 5)));
    fixture_open(&fx);
    T_ASSERT_EQ_INT(fx.state.version, 2);
    T_ASSERT(meta_topic_find(&fx.state, "kept") != NULL);
    T_ASSERT(meta_topic_find(&fx.state, "also-kept") != NULL);
    T_ASSERT(meta_topic_find(&fx.state, "torn") == NULL);
    create_topic(&fx, "torn", 3);
    fixture_close(&fx);
    fixture_open(&fx);
    T_ASSERT_EQ_INT(fx.state.version, 3);
    T_ASSERT(meta_topic_find(&fx.state, "torn") != NULL);
    fixture_done(&fx);
}

/* Appends one batch built here, with a valid CRC, straight to the metadata partition log. */
static void append_raw(const char *dir, const rill_record_t *records, size_t count)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, META_LOG_DIR);
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_uring_create(8, &io));
    struct log_config cfg;
    log_config_from_conf(&cfg, NULL);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(path, &cfg, io, &part));
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, RILL_BATCH_BYTES_DEFAULT));
    for (size_t i = 0; i < count; i++) {
        T_ASSERT_OK(log_batch_builder_add(&bld, &records[i], 1));
    }
    uint8_t *batch;
    size_t batch_bytes;
    T_ASSERT_OK(log_batch_builder_finish(&bld, &batch, &batch_bytes));
    int64_t offset;
    T_ASSERT_OK(log_partition_append(part, batch, batch_bytes, &offset));
    T_ASSERT_OK(log_partition_wait(part, offset, true));
    T_ASSERT_OK(log_partition_close(part));
    log_batch_builder_deinit(&bld);
    io->ops->destroy(io);
}

/* After a good record, one bad record behind a valid CRC: the open refuses, nothing crashes. */
static void expect_open_refuses_after(const rill_record_t *records, size_t count)
{
    struct fixture fx;
    fixture_init(&fx);
    create_topic(&fx, "good", 1);
    fixture_close(&fx);
    append_raw(fx.dir, records, count);
    struct meta_log *log = NULL;
    struct meta_state state;
    T_ASSERT_EQ_INT(meta_log_open(fx.dir, NULL, &log, &state), RILL_ERR_CORRUPT);
    t_rmdir_all(fx.dir);
}

static void t_log_garbage_record_refuses(void)
{
    uint8_t type = META_RECORD_TOPIC_CREATED, bad_type = 9;
    static const uint8_t garbage[] = { 0xc1, 0xff, 0x00, 0x93, 0xdb, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t deleted_unknown[] = { 0x91, 0xa4, 'n', 'o', 'n', 'e' };
    static const uint8_t created_again[] = { 0x93, 0xa4, 'g', 'o', 'o', 'd', 0x01, 0x80 };
    static const uint8_t good_other[] = { 0x93, 0xa1, 'x', 0x01, 0x80 };
    rill_record_t rec = { .key = &type, .key_bytes = 1, .value = garbage, .value_bytes = 9 };
    expect_open_refuses_after(&rec, 1);
    /* A valid body whose apply fails: deleting or creating what the state does not allow. */
    type = META_RECORD_TOPIC_DELETED;
    rec.value = deleted_unknown;
    rec.value_bytes = sizeof(deleted_unknown);
    expect_open_refuses_after(&rec, 1);
    type = META_RECORD_TOPIC_CREATED;
    rec.value = created_again;
    rec.value_bytes = sizeof(created_again);
    expect_open_refuses_after(&rec, 1);
    /* A type byte nobody knows, a two-byte key, a null key, a null value. */
    rill_record_t odd = { .key = &bad_type, .key_bytes = 1, .value = good_other, .value_bytes = 5 };
    expect_open_refuses_after(&odd, 1);
    odd =
        (rill_record_t){ .key = "\x01\x01", .key_bytes = 2, .value = good_other, .value_bytes = 5 };
    expect_open_refuses_after(&odd, 1);
    odd = (rill_record_t){ .key = NULL, .value = good_other, .value_bytes = 5 };
    expect_open_refuses_after(&odd, 1);
    type = META_RECORD_TOPIC_CREATED;
    odd = (rill_record_t){ .key = &type, .key_bytes = 1, .value = NULL };
    expect_open_refuses_after(&odd, 1);
    /* Two good records in one batch: every record must be its own batch. */
    rill_record_t two[2] = {
        { .key = &type, .key_bytes = 1, .value = good_other, .value_bytes = 5 },
        { .key = &type, .key_bytes = 1, .value = good_other, .value_bytes = 5 }
    };
    expect_open_refuses_after(two, 2);
    /* The same good record alone opens: the refusals above are about the records. */
    struct fixture fx;
    fixture_init(&fx);
    fixture_close(&fx);
    append_raw(fx.dir, two, 1);
    fixture_open(&fx);
    T_ASSERT(meta_topic_find(&fx.state, "x") != NULL);
    fixture_done(&fx);
}

static void t_log_open_errors(void)
{
    uring_or_skip();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    char file[300];
    snprintf(file, sizeof(file), "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    T_ASSERT(f != NULL);
    fclose(f);
    struct meta_log *log = NULL;
    struct meta_state state;
    T_ASSERT(meta_log_open(file, NULL, &log, &state) != RILL_OK);
    /* A second open of the same directory is refused while the first holds it. */
    struct fixture fx;
    memcpy(fx.dir, dir, sizeof(fx.dir));
    fixture_open(&fx);
    T_ASSERT_EQ_INT(meta_log_open(dir, NULL, &log, &state), RILL_ERR_BUSY);
    fixture_done(&fx);
}

/* ---- crashes: the fault backend stops every operation after a chosen one ---- */

#define CRASH_RECORDS 9

/* The workload of the crash sweep: fixed records, so a reference state can replay a prefix. */
static void crash_records(struct meta_record *records)
{
    static const char *const names[] = { "t0", "t1", "t2", "t3", "t4", "t5" };
    memset(records, 0, CRASH_RECORDS * sizeof(*records));
    for (int i = 0; i < 6; i++) {
        records[i] = (struct meta_record){ .type = META_RECORD_TOPIC_CREATED,
                                           .name = names[i],
                                           .partition_count = 1 + i,
                                           .config_count = 1 };
        records[i].configs[0] = (struct meta_config){ "segment.ms", "1000" };
    }
    records[6] = (struct meta_record){ .type = META_RECORD_PRODUCER_ID_BLOCK,
                                       .producer_id_block_end = META_PRODUCER_ID_BLOCK };
    records[7] =
        (struct meta_record){ .type = META_RECORD_CONFIG_CHANGED, .name = "t0", .config_count = 1 };
    records[7].configs[0] = (struct meta_config){ "segment.ms", NULL };
    records[8] = (struct meta_record){ .type = META_RECORD_TOPIC_DELETED, .name = "t1" };
}

/* Opens with io and appends the workload until an error; returns the records acknowledged. */
static int crash_workload(const char *dir, struct log_io *io)
{
    struct meta_record records[CRASH_RECORDS];
    crash_records(records);
    struct meta_log *log = NULL;
    struct meta_state state;
    if (meta_log_open(dir, io, &log, &state) != RILL_OK) {
        return 0;
    }
    int acked = 0;
    while (acked < CRASH_RECORDS &&
           meta_log_append(log, &state, &records[acked], NULL, 0) == RILL_OK) {
        acked++;
    }
    (void)meta_log_close(log);
    meta_state_deinit(&state);
    return acked;
}

/* Crash after every operation of the workload, then lose what no sync covered: the reopened
 * state is the replay of a prefix holding every acknowledged record (and at most one more). */
static void t_log_crash_sweep(void)
{
    uring_or_skip();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(NULL, &io));
    T_ASSERT_EQ_INT(crash_workload(dir, io), CRASH_RECORDS);
    uint64_t op_count = log_io_fault_op_count(io);
    if (getenv("RILL_TEST_VERBOSE") != NULL) {
        fprintf(stderr, "  %llu operations in the workload\n", (unsigned long long)op_count);
    }
    io->ops->destroy(io);
    t_rmdir_all(dir);
    struct meta_record records[CRASH_RECORDS];
    crash_records(records);
    for (uint64_t crash_after = 1; crash_after < op_count; crash_after++) {
        t_mkdtemp(dir, sizeof(dir));
        struct log_io_fault_plan plan = { .crash_after = crash_after };
        T_ASSERT_OK(log_io_fault_create(&plan, &io));
        int acked = crash_workload(dir, io);
        T_ASSERT(log_io_fault_crashed(io));
        T_ASSERT_OK(log_io_fault_power_loss(io, T_SEED + crash_after));
        io->ops->destroy(io);
        struct fixture fx;
        memcpy(fx.dir, dir, sizeof(fx.dir));
        fixture_open(&fx);
        if (fx.state.version < acked || fx.state.version > acked + 1) {
            T_FAIL("crash after op %llu: %d acked, %lld recovered", (unsigned long long)crash_after,
                   acked, (long long)fx.state.version);
        }
        struct meta_state reference;
        meta_state_init(&reference);
        for (int64_t i = 0; i < fx.state.version; i++) {
            T_ASSERT_OK(meta_apply(&reference, &records[i]));
        }
        T_ASSERT(meta_state_equal(&reference, &fx.state));
        meta_state_deinit(&reference);
        fixture_done(&fx);
    }
}

/* A failed write or sync: the change is refused, the state keeps its old value, the log stays
 * offline until reopened, and the reopened state holds what reached the disk. */
static void t_log_write_error(void)
{
    uring_or_skip();
    for (int sync = 0; sync < 2; sync++) {
        char dir[256];
        t_mkdtemp(dir, sizeof(dir));
        struct fixture fx;
        memcpy(fx.dir, dir, sizeof(fx.dir));
        fixture_open(&fx);
        fixture_close(&fx);
        /* A dry run counts the operations of opening the existing log. */
        struct log_io *io = NULL;
        T_ASSERT_OK(log_io_fault_create(NULL, &io));
        T_ASSERT_OK(meta_log_open(dir, io, &fx.log, &fx.state));
        uint64_t ops_at_open = log_io_fault_op_count(io);
        T_ASSERT_OK(meta_log_close(fx.log));
        meta_state_deinit(&fx.state);
        io->ops->destroy(io);
        /* The first append is one write and one sync: fail the one this round is about. */
        struct log_io_fault_plan plan = { .fail_at = ops_at_open + 1 + (uint64_t)sync,
                                          .fail_err = RILL_ERR_IO };
        T_ASSERT_OK(log_io_fault_create(&plan, &io));
        T_ASSERT_OK(meta_log_open(dir, io, &fx.log, &fx.state));
        struct meta_record rec = { .type = META_RECORD_TOPIC_CREATED,
                                   .name = "t",
                                   .partition_count = 1 };
        T_ASSERT_EQ_INT(meta_log_append(fx.log, &fx.state, &rec, NULL, 0), RILL_ERR_IO);
        T_ASSERT_EQ_INT(fx.state.version, 0);
        T_ASSERT(meta_topic_find(&fx.state, "t") == NULL);
        rec.name = "u";
        T_ASSERT(meta_log_append(fx.log, &fx.state, &rec, NULL, 0) != RILL_OK);
        (void)meta_log_close(fx.log);
        meta_state_deinit(&fx.state);
        io->ops->destroy(io);
        fixture_open(&fx);
        T_ASSERT(fx.state.version <= 1);
        T_ASSERT(meta_topic_find(&fx.state, "u") == NULL);
        fixture_done(&fx);
    }
}

static const struct t_case cases[] = {
    T_CASE(t_topic_names),
    T_CASE(t_validate_create),
    T_CASE(t_validate_alter_delete),
    T_CASE(t_apply_create_alter_delete),
    T_CASE(t_apply_many_topics),
    T_CASE(t_record_codec),
    T_CASE(t_record_decode_refuses),
    T_CASE(t_log_replay_identical),
    T_CASE(t_producer_ids_never_reissued),
    T_CASE(t_log_flip_below_checkpoint_refuses),
    T_CASE(t_log_torn_tail_recovers),
    T_CASE(t_log_garbage_record_refuses),
    T_CASE(t_log_open_errors),
    T_CASE(t_log_crash_sweep),
    T_CASE(t_log_write_error),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
