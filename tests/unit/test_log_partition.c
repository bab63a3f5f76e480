/*
 * test_log_partition.c - the partition log through the embedded API: appends and reads, the
 * two ends under each flush policy, roll by size and age, retention by size and age,
 * truncation, per-record timestamp lookup, read bounds, locking and configuration errors.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"
#include "rill.h"

#define DAY_MS (24ll * 3600 * 1000)

struct fixture {
    char dir[256];
    rill_conf_t *conf;
    rill_log_t *log;
};

static void conf_set(struct fixture *fx, const char *key, const char *value)
{
    char errstr[256];
    if (rill_conf_set(fx->conf, key, value, errstr, sizeof(errstr)) != RILL_OK) {
        T_FAIL("conf %s=%s: %s", key, value, errstr);
    }
}

static void fixture_init(struct fixture *fx)
{
    t_mkdtemp(fx->dir, sizeof(fx->dir));
    fx->conf = rill_conf_create();
    T_ASSERT(fx->conf != NULL);
    fx->log = NULL;
}

static void fixture_open(struct fixture *fx)
{
    T_ASSERT_OK(rill_log_open(fx->dir, fx->conf, &fx->log));
}

static void fixture_reopen(struct fixture *fx)
{
    T_ASSERT_OK(rill_log_close(fx->log));
    fixture_open(fx);
}

static void fixture_done(struct fixture *fx)
{
    T_ASSERT_OK(rill_log_close(fx->log));
    rill_conf_destroy(fx->conf);
    t_rmdir_all(fx->dir);
}

/* Appends `count` records valued "v<offset>" with keys "k<n>", in batches of `per_batch`. */
static int64_t append_numbered(struct fixture *fx, int count, int per_batch, int64_t timestamp)
{
    int64_t first = -1;
    rill_record_t records[256];
    char values[256][32], keys[256][32];
    T_ASSERT(per_batch <= 256);
    for (int done = 0; done < count;) {
        int n = count - done < per_batch ? count - done : per_batch;
        int64_t base = rill_log_end_offset(fx->log);
        for (int i = 0; i < n; i++) {
            snprintf(values[i], sizeof(values[i]), "v%lld", (long long)(base + i));
            snprintf(keys[i], sizeof(keys[i]), "k%d", (done + i) % 7);
            records[i] = (rill_record_t){ .key = keys[i],
                                          .key_bytes = strlen(keys[i]),
                                          .value = values[i],
                                          .value_bytes = strlen(values[i]),
                                          .timestamp_ms = timestamp };
        }
        int64_t offset = -1;
        T_ASSERT_OK(rill_log_append(fx->log, records, (size_t)n, &offset));
        T_ASSERT_EQ_INT(offset, base);
        if (first < 0) {
            first = offset;
        }
        done += n;
    }
    return first;
}

/* Reads [from, end) and checks each value is "v<offset>" with no gap. */
static void check_numbered(struct fixture *fx, int64_t from, int64_t end)
{
    rill_log_reader_t *reader = NULL;
    T_ASSERT_OK(rill_log_reader_create(fx->log, from, &reader));
    const rill_record_view_t *rec = NULL;
    int64_t expect = from;
    rill_err err;
    while ((err = rill_log_reader_next(reader, &rec)) == RILL_OK) {
        char want[32];
        size_t bytes = 0;
        const void *value = rill_record_value(rec, &bytes);
        snprintf(want, sizeof(want), "v%lld", (long long)expect);
        T_ASSERT_EQ_INT(rill_record_offset(rec), expect);
        T_ASSERT_EQ_INT(bytes, strlen(want));
        T_ASSERT_MEM_EQ(value, want, bytes);
        expect++;
    }
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
    T_ASSERT_EQ_INT(expect, end);
    rill_log_reader_destroy(reader);
}

static void dump_ignore(const rill_dump_item_t *item, void *opaque)
{
    (void)opaque;
    if (item->err != RILL_OK) {
        fprintf(stderr, "  dump: %s at %llu: %s\n", item->path, (unsigned long long)item->position,
                item->message);
    }
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *handle = opendir(dir);
    T_ASSERT(handle != NULL);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        size_t name_bytes = strlen(entry->d_name), suffix_bytes = strlen(suffix);
        if (name_bytes > suffix_bytes &&
            strcmp(entry->d_name + name_bytes - suffix_bytes, suffix) == 0) {
            count++;
        }
    }
    closedir(handle);
    return count;
}

static void t_append_read_reopen(void)
{
    struct fixture fx;
    fixture_init(&fx);
    fixture_open(&fx);
    T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 0);
    append_numbered(&fx, 1000, 37, -1);
    T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 1000);
    check_numbered(&fx, 0, 1000);
    check_numbered(&fx, 555, 1000);
    fixture_reopen(&fx);
    T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 1000);
    T_ASSERT_EQ_INT(rill_log_durable_offset(fx.log), 1000);
    append_numbered(&fx, 10, 3, -1);
    check_numbered(&fx, 0, 1010);
    fixture_done(&fx);
}

static void t_keys_headers_nulls_lz4(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "compression", "lz4");
    fixture_open(&fx);
    rill_header_t headers[2] = { { "h1", 2, "x", 1 }, { "h2", 2, NULL, 0 } };
    rill_record_t records[3] = {
        { .key = NULL, .value = "a", .value_bytes = 1, .timestamp_ms = 5 },
        { .key = "",
          .key_bytes = 0,
          .value = NULL,
          .headers = headers,
          .header_count = 2,
          .timestamp_ms = 6 },
        { .key = "key", .key_bytes = 3, .value = "", .value_bytes = 0, .timestamp_ms = 7 },
    };
    T_ASSERT_OK(rill_log_append(fx.log, records, 3, NULL));
    rill_log_reader_t *reader = NULL;
    const rill_record_view_t *rec = NULL;
    size_t bytes = 0;
    T_ASSERT_OK(rill_log_reader_create(fx.log, 0, &reader));
    T_ASSERT_OK(rill_log_reader_next(reader, &rec));
    T_ASSERT(rill_record_key(rec, &bytes) == NULL);
    T_ASSERT_EQ_INT(rill_record_timestamp(rec), 5);
    T_ASSERT_OK(rill_log_reader_next(reader, &rec));
    T_ASSERT(rill_record_key(rec, &bytes) != NULL && bytes == 0);
    T_ASSERT(rill_record_value(rec, &bytes) == NULL);
    T_ASSERT_EQ_INT(rill_record_header_count(rec), 2);
    const char *name = NULL;
    const void *value = NULL;
    size_t name_bytes = 0, value_bytes = 0;
    T_ASSERT_OK(rill_record_header(rec, 0, &name, &name_bytes, &value, &value_bytes));
    T_ASSERT(name_bytes == 2 && memcmp(name, "h1", 2) == 0 && value_bytes == 1);
    T_ASSERT_OK(rill_record_header(rec, 1, &name, &name_bytes, &value, &value_bytes));
    T_ASSERT(value == NULL);
    T_ASSERT(rill_record_header(rec, 2, &name, &name_bytes, &value, &value_bytes) != RILL_OK);
    T_ASSERT_OK(rill_log_reader_next(reader, &rec));
    T_ASSERT(rill_record_value(rec, &bytes) != NULL && bytes == 0);
    T_ASSERT_EQ_INT(rill_log_reader_next(reader, &rec), RILL_ERR_END);
    rill_log_reader_destroy(reader);
    fixture_done(&fx);
}

static void t_durable_end_per_policy(void)
{
    static const char *const policies[] = { "always", "os", "interval:3600000" };
    for (size_t i = 0; i < 3; i++) {
        struct fixture fx;
        fixture_init(&fx);
        conf_set(&fx, "flush", policies[i]);
        fixture_open(&fx);
        append_numbered(&fx, 100, 10, -1);
        T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 100);
        if (i == 0) {
            T_ASSERT_EQ_INT(rill_log_durable_offset(fx.log), 100);
        } else {
            /* Nothing syncs these before an explicit flush (the interval is an hour). */
            T_ASSERT(rill_log_durable_offset(fx.log) < 100);
        }
        T_ASSERT_OK(rill_log_flush(fx.log));
        T_ASSERT_EQ_INT(rill_log_durable_offset(fx.log), 100);
        T_ASSERT(rill_log_durable_offset(fx.log) <= rill_log_end_offset(fx.log));
        fixture_done(&fx);
    }
}

static void t_read_bounds(void)
{
    struct fixture fx;
    fixture_init(&fx);
    fixture_open(&fx);
    append_numbered(&fx, 100, 10, -1); /* 10 batches */
    void *buf = NULL;
    size_t bytes = 0, first_bytes = 0;
    /* max_bytes smaller than a batch still returns exactly one whole batch. */
    T_ASSERT_OK(rill_log_read(fx.log, 0, 1, &buf, &first_bytes));
    T_ASSERT(first_bytes > 61);
    free(buf);
    /* A read starting inside a batch returns the batch that holds the offset. */
    T_ASSERT_OK(rill_log_read(fx.log, 15, 1, &buf, &bytes));
    T_ASSERT_EQ_INT((int64_t)((uint64_t)((uint8_t *)buf)[7] | ((uint64_t)((uint8_t *)buf)[6] << 8)),
                    10);
    free(buf);
    /* A large max_bytes returns every batch, whole. */
    T_ASSERT_OK(rill_log_read(fx.log, 0, 1 << 20, &buf, &bytes));
    T_ASSERT(bytes >= 10 * first_bytes - 10);
    free(buf);
    /* Between: whole batches only. */
    T_ASSERT_OK(rill_log_read(fx.log, 0, first_bytes * 3 + 5, &buf, &bytes));
    T_ASSERT(bytes <= first_bytes * 3 + 5 && bytes >= first_bytes * 2);
    free(buf);
    T_ASSERT_EQ_INT(rill_log_read(fx.log, 100, 100, &buf, &bytes), RILL_ERR_END);
    T_ASSERT_EQ_INT(rill_log_read(fx.log, 101, 100, &buf, &bytes), RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(rill_log_read(fx.log, -1, 100, &buf, &bytes), RILL_ERR_OFFSET_OUT_OF_RANGE);
    fixture_done(&fx);
}

static void t_roll_by_size(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "segment.bytes", "64k");
    conf_set(&fx, "index.interval.bytes", "256");
    fixture_open(&fx);
    append_numbered(&fx, 20000, 50, -1);
    int segments = count_files(fx.dir, ".log");
    T_ASSERT(segments >= 4);
    T_ASSERT_EQ_INT(count_files(fx.dir, ".index"), segments - 1); /* sealed ones */
    check_numbered(&fx, 0, 20000);
    check_numbered(&fx, 12345, 20000);
    fixture_reopen(&fx);
    T_ASSERT_EQ_INT(count_files(fx.dir, ".index"), segments);
    check_numbered(&fx, 0, 20000);
    T_ASSERT_OK(rill_log_dump(fx.dir, dump_ignore, NULL));
    fixture_done(&fx);
}

static void t_roll_by_age_and_explicit(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "segment.ms", "1");
    fixture_open(&fx);
    append_numbered(&fx, 10, 10, -1);
    struct timespec pause = { 0, 5 * 1000 * 1000 };
    nanosleep(&pause, NULL); /* let the segment age past 1 ms; not a synchronisation */
    append_numbered(&fx, 10, 10, -1);
    T_ASSERT_EQ_INT(count_files(fx.dir, ".log"), 2);
    T_ASSERT_OK(rill_log_roll(fx.log));
    T_ASSERT_EQ_INT(count_files(fx.dir, ".log"), 3);
    T_ASSERT_OK(rill_log_roll(fx.log)); /* an empty active segment does not roll */
    T_ASSERT_EQ_INT(count_files(fx.dir, ".log"), 3);
    check_numbered(&fx, 0, 20);
    fixture_done(&fx);
}

static void t_retention_by_bytes(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "segment.bytes", "64k");
    conf_set(&fx, "retention.bytes", "150k");
    fixture_open(&fx);
    append_numbered(&fx, 30000, 100, -1);
    /* Rolls caused by segment.bytes already applied retention: nothing is left to delete. */
    int before = count_files(fx.dir, ".log");
    size_t deleted = 1;
    T_ASSERT_OK(rill_log_enforce_retention(fx.log, &deleted));
    T_ASSERT_EQ_INT(deleted, 0);
    T_ASSERT_EQ_INT(count_files(fx.dir, ".log"), before);
    int64_t start = rill_log_start_offset(fx.log);
    T_ASSERT(start > 0);
    void *buf = NULL;
    size_t bytes = 0;
    T_ASSERT_EQ_INT(rill_log_read(fx.log, start - 1, 100, &buf, &bytes),
                    RILL_ERR_OFFSET_OUT_OF_RANGE);
    /* A reader positioned before the start begins at the start. */
    check_numbered(&fx, start, 30000);
    fixture_reopen(&fx);
    T_ASSERT_EQ_INT(rill_log_start_offset(fx.log), start);
    check_numbered(&fx, start, 30000);
    fixture_done(&fx);
}

/* Rolls caused by segment.bytes apply retention too, without an explicit call. */
static void t_retention_with_automatic_rolls(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "segment.bytes", "64k");
    conf_set(&fx, "retention.bytes", "200k");
    fixture_open(&fx);
    append_numbered(&fx, 60000, 100, -1);
    T_ASSERT(rill_log_start_offset(fx.log) > 0);
    T_ASSERT(count_files(fx.dir, ".log") <= 6);
    check_numbered(&fx, rill_log_start_offset(fx.log), 60000);
    fixture_done(&fx);
}

static void t_retention_by_age(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "retention.ms", "86400000");
    fixture_open(&fx);
    int64_t now = (int64_t)time(NULL) * 1000;
    append_numbered(&fx, 50, 10, now - 10 * DAY_MS);
    T_ASSERT_OK(rill_log_roll(fx.log)); /* retention runs after a roll */
    T_ASSERT_EQ_INT(rill_log_start_offset(fx.log), 50);
    append_numbered(&fx, 50, 10, now);
    T_ASSERT_OK(rill_log_roll(fx.log));
    T_ASSERT_EQ_INT(rill_log_start_offset(fx.log), 50); /* recent data stays */
    check_numbered(&fx, 50, 100);
    fixture_done(&fx);
}

static void t_truncate(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "segment.bytes", "64k");
    fixture_open(&fx);
    append_numbered(&fx, 10000, 10, -1);
    /* Inside a batch: the whole batch holding the offset goes. */
    T_ASSERT_OK(rill_log_truncate(fx.log, 9995));
    T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 9990);
    check_numbered(&fx, 9900, 9990);
    /* Across segments, at a batch boundary. */
    T_ASSERT_OK(rill_log_truncate(fx.log, 3000));
    T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 3000);
    append_numbered(&fx, 25, 5, -1);
    check_numbered(&fx, 0, 3025);
    fixture_reopen(&fx);
    check_numbered(&fx, 0, 3025);
    T_ASSERT_EQ_INT(rill_log_truncate(fx.log, 4000), RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_OK(rill_log_truncate(fx.log, 0));
    T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 0);
    T_ASSERT_EQ_INT(count_files(fx.dir, ".log"), 1);
    append_numbered(&fx, 5, 5, -1);
    fixture_reopen(&fx);
    check_numbered(&fx, 0, 5);
    T_ASSERT_OK(rill_log_dump(fx.dir, dump_ignore, NULL));
    fixture_done(&fx);
}

/* Batches whose per-record timestamps interleave: lookup must resolve per record. */
static void t_offset_for_time(void)
{
    static const char *const codecs[] = { "none", "lz4" };
    for (size_t c = 0; c < 2; c++) {
        struct fixture fx;
        fixture_init(&fx);
        conf_set(&fx, "compression", codecs[c]);
        conf_set(&fx, "index.interval.bytes", "256");
        fixture_open(&fx);
        /* Batch b holds records with timestamps 1000*b + 10*i, i = 0..9; batch 5 goes back. */
        for (int b = 0; b < 20; b++) {
            rill_record_t records[10];
            for (int i = 0; i < 10; i++) {
                int64_t base = b == 5 ? 500 : 1000 * b;
                records[i] = (rill_record_t){ .value = "x",
                                              .value_bytes = 1,
                                              .timestamp_ms = base + 10 * i };
            }
            T_ASSERT_OK(rill_log_append(fx.log, records, 10, NULL));
        }
        int64_t offset = -1;
        T_ASSERT_OK(rill_log_offset_for_time(fx.log, 0, &offset));
        T_ASSERT_EQ_INT(offset, 0);
        T_ASSERT_OK(rill_log_offset_for_time(fx.log, 3035, &offset));
        T_ASSERT_EQ_INT(offset, 34); /* batch 3, record 4 (3040) */
        T_ASSERT_OK(rill_log_offset_for_time(fx.log, 3040, &offset));
        T_ASSERT_EQ_INT(offset, 34);
        T_ASSERT_OK(rill_log_offset_for_time(fx.log, 19090, &offset));
        T_ASSERT_EQ_INT(offset, 199);
        /* 550 first appears in batch 1 (1000), before the backwards batch 5. */
        T_ASSERT_OK(rill_log_offset_for_time(fx.log, 550, &offset));
        T_ASSERT_EQ_INT(offset, 10);
        T_ASSERT_EQ_INT(rill_log_offset_for_time(fx.log, 19091, &offset), RILL_ERR_END);
        T_ASSERT_EQ_INT(offset, 200);
        fixture_done(&fx);
    }
}

static void t_bad_batch_refused(void)
{
    struct fixture fx;
    fixture_init(&fx);
    fixture_open(&fx);
    append_numbered(&fx, 10, 10, -1);
    void *buf = NULL;
    size_t bytes = 0;
    T_ASSERT_OK(rill_log_read(fx.log, 0, 1, &buf, &bytes));
    ((uint8_t *)buf)[bytes - 1] ^= 1;
    T_ASSERT_EQ_INT(rill_log_append_batch(fx.log, buf, bytes, NULL), RILL_ERR_CRC);
    ((uint8_t *)buf)[bytes - 1] ^= 1;
    T_ASSERT(rill_log_append_batch(fx.log, buf, bytes - 1, NULL) != RILL_OK);
    ((uint8_t *)buf)[16] = 1; /* magic 1 */
    T_ASSERT(rill_log_append_batch(fx.log, buf, bytes, NULL) != RILL_OK);
    ((uint8_t *)buf)[16] = 2;
    int64_t offset = -1;
    T_ASSERT_OK(rill_log_append_batch(fx.log, buf, bytes, &offset));
    T_ASSERT_EQ_INT(offset, 10); /* the copy got new offsets */
    T_ASSERT_EQ_INT(rill_log_end_offset(fx.log), 20);
    free(buf);
    T_ASSERT_EQ_INT(rill_log_append(fx.log, NULL, 0, NULL), RILL_ERR_INVALID);
    fixture_done(&fx);
}

static void t_too_large(void)
{
    struct fixture fx;
    fixture_init(&fx);
    conf_set(&fx, "max.batch.bytes", "4k");
    fixture_open(&fx);
    static char big[8192];
    rill_record_t record = { .value = big, .value_bytes = sizeof(big) };
    T_ASSERT_EQ_INT(rill_log_append(fx.log, &record, 1, NULL), RILL_ERR_TOO_LARGE);
    record.value_bytes = 1000;
    T_ASSERT_OK(rill_log_append(fx.log, &record, 1, NULL));
    fixture_done(&fx);
}

static void t_lock_is_exclusive(void)
{
    struct fixture fx;
    fixture_init(&fx);
    fixture_open(&fx);
    rill_log_t *second = NULL;
    T_ASSERT_EQ_INT(rill_log_open(fx.dir, NULL, &second), RILL_ERR_BUSY);
    fixture_done(&fx);
}

static void t_conf_errors(void)
{
    rill_conf_t *conf = rill_conf_create();
    char errstr[256] = "";
    T_ASSERT_EQ_INT(rill_conf_set(conf, "no.such.key", "1", errstr, sizeof(errstr)),
                    RILL_ERR_CONFIG_KEY);
    T_ASSERT(strstr(errstr, "no.such.key") != NULL);
    static const char *const bad[][2] = {
        { "flush", "sometimes" },       { "flush", "interval:" },  { "flush", "interval:0" },
        { "segment.bytes", "1k" },      { "segment.bytes", "5g" }, { "segment.bytes", "12x" },
        { "retention.ms", "-2" },       { "compression", "zstd" }, { "max.batch.bytes", "1g" },
        { "index.interval.bytes", "" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_ASSERT_EQ_INT(rill_conf_set(conf, bad[i][0], bad[i][1], errstr, sizeof(errstr)),
                        RILL_ERR_CONFIG_VALUE);
    }
    T_ASSERT_OK(rill_conf_set(conf, "flush", "interval:50", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "retention.bytes", "-1", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "segment.bytes", "128m", errstr, sizeof(errstr)));
    T_ASSERT(strcmp(rill_conf_get(conf, "flush"), "interval:50") == 0);
    T_ASSERT(rill_conf_get(conf, "segment.ms") == NULL);
    rill_conf_destroy(conf);
}

static const struct t_case cases[] = {
    T_CASE(t_append_read_reopen),
    T_CASE(t_keys_headers_nulls_lz4),
    T_CASE(t_durable_end_per_policy),
    T_CASE(t_read_bounds),
    T_CASE(t_roll_by_size),
    T_CASE(t_roll_by_age_and_explicit),
    T_CASE(t_retention_by_bytes),
    T_CASE(t_retention_by_age),
    T_CASE(t_retention_with_automatic_rolls),
    T_CASE(t_truncate),
    T_CASE(t_offset_for_time),
    T_CASE(t_bad_batch_refused),
    T_CASE(t_too_large),
    T_CASE(t_lock_is_exclusive),
    T_CASE(t_conf_errors),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
