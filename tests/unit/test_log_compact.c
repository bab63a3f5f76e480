/*
 * test_log_compact.c - the log cleaner (log/compact.c): latest value per key over 1,000 keys
 * and many rolled segments, offsets unchanged, reads across gaps (partition reads, the embedded
 * reader, rill_log_read), tombstones kept until delete.retention.ms and dropped after, the
 * active segment untouched, an idempotent second pass, a key map smaller than the key count,
 * LZ4 batches re-encoded, recovery and dump accepting compacted segments and refusing gaps in
 * segments without a valid marker, leftovers of an interrupted clean removed at open, and the
 * configuration keys.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>

#include "tests/harness.h"
#include "rill.h"
#include "common/conf.h"
#include "common/limits.h"
#include "log/batch.h"
#include "log/io.h"
#include "log/partition.h"

#define KEYS        1000
#define T_BASE      1700000000000ll
#define HOUR_MS     (3600ll * 1000)
#define OFFSETS_MAX 40000

/* What was appended at each offset: the key index (-1 null key) and whether it is a tombstone. */
struct model {
    int32_t key_of[OFFSETS_MAX];
    bool tomb[OFFSETS_MAX];
    int64_t latest[KEYS]; /* latest offset of each key, -1 never written */
    int64_t count;
    size_t value_bytes;
    int64_t timestamp; /* of the records appended next */
};

static void model_init(struct model *m, size_t value_bytes)
{
    memset(m, 0, sizeof(*m));
    for (int k = 0; k < KEYS; k++) {
        m->latest[k] = -1;
    }
    m->value_bytes = value_bytes;
    m->timestamp = T_BASE;
}

static void key_text(char *out, size_t out_bytes, int key)
{
    snprintf(out, out_bytes, "key-%04d", key);
}

/* Value at offset: "o<offset>:" then a filler up to value_bytes. */
static void value_text(char *out, size_t value_bytes, int64_t offset)
{
    uint64_t state = (uint64_t)offset * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < value_bytes; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[i] = (char)('a' + state % 26); /* not very compressible: LZ4 batches stay large */
    }
    char head[32];
    int used = snprintf(head, sizeof(head), "o%lld:", (long long)offset);
    memcpy(out, head, (size_t)used < value_bytes ? (size_t)used : value_bytes);
}

/* ---------------------------------------------------------------------------------------- */
/* Partition helpers                                                                          */
/* ---------------------------------------------------------------------------------------- */

static bool uring_available(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) != 0) {
        return false;
    }
    io_uring_queue_exit(&ring);
    return true;
}

static struct log_io *io_create(bool uring)
{
    struct log_io *io = NULL;
    if (uring) {
        if (!uring_available()) {
            T_SKIP("io_uring is not available here");
        }
        T_ASSERT_OK(log_io_uring_create(64, &io));
    } else {
        T_ASSERT_OK(log_io_fault_create(NULL, &io)); /* no plan: plain system calls */
    }
    return io;
}

static void cfg_make(struct log_config *cfg, const char *map_bytes, int codec)
{
    rill_conf_t *conf = rill_conf_create();
    T_ASSERT(conf != NULL);
    char errstr[128];
    T_ASSERT_OK(rill_conf_set(conf, "segment.bytes", "64k", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "index.interval.bytes", "1k", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "cleanup.policy", "compact", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "delete.retention.ms", "3600000", errstr, sizeof(errstr)));
    if (map_bytes != NULL) {
        T_ASSERT_OK(rill_conf_set(conf, "compaction.map.bytes", map_bytes, errstr, sizeof(errstr)));
    }
    log_config_from_conf(cfg, conf);
    cfg->codec = codec;
    rill_conf_destroy(conf);
}

/* Appends one batch of records for keys[0..n) (tombstone where tomb[i]); key -1 = null key. */
static void append_batch(struct log_partition *part,
                         struct model *m,
                         const int *keys,
                         const bool *tomb,
                         int n,
                         int codec)
{
    static char key_buf[256][16], value_buf[256][1024];
    T_ASSERT(n <= 256 && m->value_bytes <= sizeof(value_buf[0]));
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, codec, RILL_BATCH_BYTES_DEFAULT));
    int64_t base = part->offset_next;
    T_ASSERT(base + n <= OFFSETS_MAX);
    for (int i = 0; i < n; i++) {
        rill_record_t rec = { .timestamp_ms = m->timestamp };
        if (keys[i] >= 0) {
            key_text(key_buf[i], sizeof(key_buf[i]), keys[i]);
            rec.key = key_buf[i];
            rec.key_bytes = strlen(key_buf[i]);
        }
        if (!tomb[i]) {
            value_text(value_buf[i], m->value_bytes, base + i);
            rec.value = value_buf[i];
            rec.value_bytes = m->value_bytes;
        }
        T_ASSERT_OK(log_batch_builder_add(&bld, &rec, 0));
    }
    uint8_t *batch = NULL;
    size_t bytes = 0;
    T_ASSERT_OK(log_batch_builder_finish(&bld, &batch, &bytes));
    int64_t offset = -1;
    rill_err err;
    for (unsigned attempt = 0;
         (err = log_partition_append(part, batch, bytes, &offset)) == RILL_ERR_AGAIN &&
         attempt < 10000;
         attempt++) {
        T_ASSERT_OK(log_partition_poll(part, true));
    }
    T_ASSERT_OK(err);
    T_ASSERT_EQ_INT(offset, base);
    log_batch_builder_deinit(&bld);
    for (int i = 0; i < n; i++) {
        m->key_of[base + i] = keys[i];
        m->tomb[base + i] = tomb[i];
        if (keys[i] >= 0) {
            m->latest[keys[i]] = base + i;
        }
    }
    m->count = base + n;
}

/* rounds x KEYS updates, keys shuffled per round, in batches of per_batch. */
static void append_rounds(struct log_partition *part,
                          struct model *m,
                          int rounds,
                          int per_batch,
                          int codec,
                          uint64_t *rng)
{
    int order[KEYS];
    bool tomb[256] = { false };
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < KEYS; k++) {
            order[k] = k;
        }
        for (int k = KEYS - 1; k > 0; k--) {
            int j = (int)(t_rand(rng) % (uint64_t)(k + 1));
            int swap = order[k];
            order[k] = order[j];
            order[j] = swap;
        }
        for (int done = 0; done < KEYS; done += per_batch) {
            int n = KEYS - done < per_batch ? KEYS - done : per_batch;
            append_batch(part, m, order + done, tomb, n, codec);
        }
    }
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
}

/* Checks one record read back against the model. */
static void check_record(const struct model *m, const struct log_record *rec)
{
    T_ASSERT(rec->offset >= 0 && rec->offset < m->count);
    int key = m->key_of[rec->offset];
    if (key < 0) {
        T_ASSERT_EQ_INT(rec->key_bytes, -1);
    } else {
        char want[16];
        key_text(want, sizeof(want), key);
        T_ASSERT_EQ_INT(rec->key_bytes, strlen(want));
        T_ASSERT_MEM_EQ(rec->key, want, strlen(want));
    }
    if (m->tomb[rec->offset]) {
        T_ASSERT_EQ_INT(rec->value_bytes, -1);
    } else {
        char want[1024];
        value_text(want, m->value_bytes, rec->offset);
        T_ASSERT_EQ_INT(rec->value_bytes, m->value_bytes);
        T_ASSERT_MEM_EQ(rec->value, want, m->value_bytes);
    }
}

/*
 * Reads the whole log through log_partition_read; every record must match the model at its
 * offset, offsets must grow. present[o] is set for each offset read. Returns the record count.
 */
static int64_t read_all(struct log_partition *part, const struct model *m, bool *present)
{
    memset(present, 0, OFFSETS_MAX * sizeof(*present));
    struct log_record_iter it;
    log_record_iter_init(&it);
    int64_t offset = part->offset_start, prev = -1, count = 0;
    for (unsigned guard = 0; guard < 1000000; guard++) {
        uint8_t *buf = NULL;
        size_t bytes = 0;
        rill_err err = log_partition_read(part, offset, 64 * 1024, &buf, &bytes);
        if (err == RILL_ERR_END) {
            break;
        }
        T_ASSERT_OK(err);
        size_t used = 0;
        while (used < bytes) {
            struct log_batch_header hdr;
            T_ASSERT_OK(log_batch_header_decode(buf + used, bytes - used, &hdr));
            T_ASSERT_OK(log_batch_validate(buf + used, log_batch_total_bytes(&hdr), false, &hdr));
            T_ASSERT_OK(log_record_iter_start(&it, buf + used, log_batch_total_bytes(&hdr)));
            struct log_record rec;
            while ((err = log_record_iter_next(&it, &rec)) == RILL_OK) {
                T_ASSERT(rec.offset > prev);
                prev = rec.offset;
                check_record(m, &rec);
                if (rec.offset >= offset) {
                    present[rec.offset] = true;
                    count++;
                }
            }
            T_ASSERT_EQ_INT(err, RILL_ERR_END);
            offset = log_batch_offset_last(&hdr) + 1;
            used += log_batch_total_bytes(&hdr);
        }
        free(buf);
    }
    log_record_iter_deinit(&it);
    return count;
}

/*
 * Every key's latest record is present; below keep_from (the cleaned range) only the latest
 * record of each key within that range (and null keys): the active segment is not mapped.
 */
static void check_compacted(struct log_partition *part, const struct model *m, int64_t keep_from)
{
    static bool present[OFFSETS_MAX];
    static int64_t latest_below[KEYS];
    for (int k = 0; k < KEYS; k++) {
        latest_below[k] = -1;
    }
    for (int64_t o = 0; o < keep_from && o < m->count; o++) {
        if (m->key_of[o] >= 0) {
            latest_below[m->key_of[o]] = o;
        }
    }
    read_all(part, m, present);
    for (int k = 0; k < KEYS; k++) {
        if (m->latest[k] >= 0 && !m->tomb[m->latest[k]]) {
            T_ASSERT(present[m->latest[k]]);
        }
    }
    for (int64_t o = 0; o < m->count; o++) {
        int key = m->key_of[o];
        if (o >= keep_from || key < 0) {
            T_ASSERT(present[o]); /* active segment, null keys: untouched */
        } else if (present[o]) {
            T_ASSERT_EQ_INT(o, latest_below[key]);
        }
    }
}

static struct log_partition *
part_open(const char *dir, const struct log_config *cfg, struct log_io *io)
{
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, cfg, io, &part));
    return part;
}

static int dump_problems;

static void dump_count(const rill_dump_item_t *item, void *opaque)
{
    (void)opaque;
    if (item->err != RILL_OK) {
        fprintf(stderr, "  dump: %s at %llu: %s\n", item->path, (unsigned long long)item->position,
                item->message);
        dump_problems++;
    }
}

static void dump_clean(const char *dir)
{
    dump_problems = 0;
    T_ASSERT_OK(rill_log_dump(dir, dump_count, NULL));
    T_ASSERT_EQ_INT(dump_problems, 0);
}

static unsigned count_suffix(const char *dir, const char *suffix)
{
    DIR *handle = opendir(dir);
    T_ASSERT(handle != NULL);
    unsigned count = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        size_t n = strlen(entry->d_name), s = strlen(suffix);
        count += n > s && strcmp(entry->d_name + n - s, suffix) == 0;
    }
    closedir(handle);
    return count;
}

/* ---------------------------------------------------------------------------------------- */
/* Cases                                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* The shared scenario: 1,000 keys x rounds, rolled, compacted, checked, reopened, checked. */
static void latest_per_key(bool uring, int codec, int rounds)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    static struct model m;
    model_init(&m, 40);
    uint64_t rng = T_SEED;
    struct log_config cfg;
    cfg_make(&cfg, NULL, codec);
    struct log_io *io = io_create(uring);
    struct log_partition *part = part_open(dir, &cfg, io);
    append_rounds(part, &m, rounds, 50, codec, &rng);
    T_ASSERT_OK(log_partition_roll(part));
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    T_ASSERT(part->segment_count >= 4);
    int64_t start = part->offset_start, end = part->offset_next;
    T_ASSERT(log_partition_compact_due(part, T_BASE));
    struct log_compact_stats stats;
    T_ASSERT_OK(log_partition_compact(part, T_BASE, &stats));
    T_ASSERT(stats.segments_rewritten > 0);
    T_ASSERT(!stats.map_full);
    T_ASSERT_EQ_INT(stats.records_kept, KEYS);
    T_ASSERT_EQ_INT(stats.records_dropped, (int64_t)KEYS * (rounds - 1));
    T_ASSERT(stats.bytes_after < stats.bytes_before);
    T_ASSERT_EQ_INT(part->offset_start, start);
    T_ASSERT_EQ_INT(part->offset_next, end);
    check_compacted(part, &m, end);
    T_ASSERT(!log_partition_compact_due(part, T_BASE));
    /* A second pass finds nothing to drop and rewrites nothing. */
    T_ASSERT_OK(log_partition_compact(part, T_BASE, &stats));
    T_ASSERT_EQ_INT(stats.segments_rewritten, 0);
    T_ASSERT_EQ_INT(stats.records_dropped, 0);
    T_ASSERT_EQ_INT(count_suffix(dir, LOG_COMPACT_CLEANING_SUFFIX), 0);
    /* The oldest segment (round 0 only) lost every record: time retention deletes it. */
    T_ASSERT_EQ_INT(part->segments[0]->bytes, 0);
    part->cfg.retention_ms = 100ll * 365 * 24 * HOUR_MS;
    size_t deleted = 0;
    T_ASSERT_OK(log_partition_retention(part, T_BASE, &deleted));
    T_ASSERT(deleted >= 1);
    T_ASSERT(part->segments[0]->bytes > 0);
    start = part->offset_start;
    check_compacted(part, &m, end);
    T_ASSERT_OK(log_partition_close(part));
    dump_clean(dir);
    /* Recovery accepts the gaps of marked segments; offsets and content are unchanged. */
    part = part_open(dir, &cfg, io);
    T_ASSERT_EQ_INT(part->offset_start, start);
    T_ASSERT_EQ_INT(part->offset_next, end);
    check_compacted(part, &m, end);
    /* Appends go on at the end offset. */
    int key = 7;
    bool tomb = false;
    append_batch(part, &m, &key, &tomb, 1, codec);
    T_ASSERT_EQ_INT(part->offset_next, end + 1);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

static void t_latest_value_per_key(void)
{
    latest_per_key(true, LOG_CODEC_NONE, 8);
}

static void t_latest_value_per_key_lz4(void)
{
    latest_per_key(false, LOG_CODEC_LZ4, 5);
}

static void t_active_segment_untouched(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    static struct model m;
    model_init(&m, 40);
    uint64_t rng = T_SEED;
    struct log_config cfg;
    cfg_make(&cfg, NULL, LOG_CODEC_NONE);
    struct log_io *io = io_create(false);
    struct log_partition *part = part_open(dir, &cfg, io);
    append_rounds(part, &m, 5, 50, LOG_CODEC_NONE, &rng);
    /* The active segment holds superseded records of its own: they must all stay. */
    int keys[50];
    bool tomb[50] = { false };
    for (int i = 0; i < 50; i++) {
        keys[i] = i % 5;
    }
    append_batch(part, &m, keys, tomb, 50, LOG_CODEC_NONE);
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    struct log_segment *active = part->segments[part->segment_count - 1];
    int64_t active_base = active->offset_base;
    uint64_t active_bytes = active->bytes;
    T_ASSERT(active_bytes > 0);
    struct log_compact_stats stats;
    T_ASSERT_OK(log_partition_compact(part, T_BASE, &stats));
    T_ASSERT(stats.segments_rewritten > 0);
    T_ASSERT(part->segments[part->segment_count - 1] == active);
    T_ASSERT_EQ_INT(active->bytes, active_bytes);
    T_ASSERT(!active->compacted);
    check_compacted(part, &m, active_base);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

static void t_tombstones_after_retention(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    static struct model m;
    model_init(&m, 40);
    struct log_config cfg;
    cfg_make(&cfg, NULL, LOG_CODEC_NONE);
    struct log_io *io = io_create(false);
    struct log_partition *part = part_open(dir, &cfg, io);
    int keys[100];
    bool tomb[100] = { false };
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) {
            keys[i] = i;
        }
        append_batch(part, &m, keys, tomb, 100, LOG_CODEC_NONE);
    }
    /* Tombstones for the even keys, one hour later. */
    m.timestamp = T_BASE + HOUR_MS;
    for (int i = 0; i < 50; i++) {
        keys[i] = 2 * i;
        tomb[i] = true;
    }
    append_batch(part, &m, keys, tomb, 50, LOG_CODEC_NONE);
    int64_t tomb_from = m.count - 50;
    T_ASSERT_OK(log_partition_roll(part));
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    int64_t end = part->offset_next;
    /* delete.retention.ms is one hour: at T+2h-1 the tombstones stay, the values they hide go. */
    int64_t expiry = T_BASE + 2 * HOUR_MS;
    struct log_compact_stats stats;
    T_ASSERT_OK(log_partition_compact(part, expiry - 1, &stats));
    T_ASSERT_EQ_INT(stats.tombstones_dropped, 0);
    T_ASSERT_EQ_INT(stats.records_kept, 100);
    check_compacted(part, &m, end);
    static bool present[OFFSETS_MAX];
    read_all(part, &m, present);
    for (int64_t o = tomb_from; o < end; o++) {
        T_ASSERT(present[o]);
    }
    T_ASSERT(!log_partition_compact_due(part, expiry - 1));
    T_ASSERT(log_partition_compact_due(part, expiry));
    /* At the expiry they go too: the even keys vanish entirely, the odd ones keep their value. */
    T_ASSERT_OK(log_partition_compact(part, expiry, &stats));
    T_ASSERT_EQ_INT(stats.tombstones_dropped, 50);
    T_ASSERT_OK(log_partition_close(part));
    part = part_open(dir, &cfg, io);
    T_ASSERT_EQ_INT(read_all(part, &m, present), 50);
    for (int k = 0; k < 100; k++) {
        T_ASSERT_EQ_INT(present[m.latest[k]], k % 2 == 1);
    }
    T_ASSERT_EQ_INT(part->offset_next, end);
    T_ASSERT_OK(log_partition_close(part));
    dump_clean(dir);
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

static void t_null_keys_kept(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    static struct model m;
    model_init(&m, 40);
    struct log_config cfg;
    cfg_make(&cfg, NULL, LOG_CODEC_NONE);
    struct log_io *io = io_create(false);
    struct log_partition *part = part_open(dir, &cfg, io);
    int keys[60];
    bool tomb[60] = { false };
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 60; i++) {
            keys[i] = i % 3 == 0 ? -1 : i;
        }
        append_batch(part, &m, keys, tomb, 60, LOG_CODEC_NONE);
    }
    T_ASSERT_OK(log_partition_roll(part));
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    struct log_compact_stats stats;
    T_ASSERT_OK(log_partition_compact(part, T_BASE, &stats));
    T_ASSERT_EQ_INT(stats.records_kept, 80 + 40);
    check_compacted(part, &m, part->offset_next);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

/* compaction.map.bytes = 4k holds 96 keys: one small segment per pass, still fully correct. */
static void t_small_map(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    static struct model m;
    model_init(&m, 700);
    uint64_t rng = T_SEED;
    struct log_config cfg;
    cfg_make(&cfg, "4k", LOG_CODEC_NONE);
    struct log_io *io = io_create(false);
    struct log_partition *part = part_open(dir, &cfg, io);
    append_rounds(part, &m, 2, 20, LOG_CODEC_NONE, &rng);
    T_ASSERT_OK(log_partition_roll(part));
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    uint32_t segments = part->segment_count;
    T_ASSERT(segments > 10);
    unsigned passes = 0;
    bool ran_out = false;
    while (log_partition_compact_due(part, T_BASE)) {
        T_ASSERT(passes++ < 2 * segments);
        struct log_compact_stats stats;
        T_ASSERT_OK(log_partition_compact(part, T_BASE, &stats));
        T_ASSERT(stats.segments_mapped >= 1);
        ran_out = ran_out || stats.map_full;
    }
    T_ASSERT(ran_out && passes > 1);
    check_compacted(part, &m, part->offset_next);
    T_ASSERT_OK(log_partition_close(part));
    part = part_open(dir, &cfg, io);
    check_compacted(part, &m, part->offset_next);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

/* Through the public API: rill_log_compact, readers and rill_log_read across gaps. */
static void t_embedded_reader_across_gaps(void)
{
    if (!uring_available()) {
        T_SKIP("io_uring is not available here");
    }
    char dir[256], errstr[128];
    t_mkdtemp(dir, sizeof(dir));
    rill_conf_t *conf = rill_conf_create();
    T_ASSERT_OK(rill_conf_set(conf, "segment.bytes", "64k", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "cleanup.policy", "compact,delete", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "compression", "lz4", errstr, sizeof(errstr)));
    rill_log_t *log = NULL;
    T_ASSERT_OK(rill_log_open(dir, conf, &log));
    /* 200 keys x 30 rounds, 20 records a batch: key = offset % 200, value "v<offset>". */
    char keys[20][16], values[20][64];
    rill_record_t recs[20];
    for (int64_t base = 0; base < 6000; base += 20) {
        for (int i = 0; i < 20; i++) {
            snprintf(keys[i], sizeof(keys[i]), "k%lld", (long long)((base + i) % 200));
            snprintf(values[i], sizeof(values[i]), "v%lld-%0*d", (long long)(base + i), 30, 0);
            recs[i] = (rill_record_t){ .key = keys[i],
                                       .key_bytes = strlen(keys[i]),
                                       .value = values[i],
                                       .value_bytes = strlen(values[i]),
                                       .timestamp_ms = -1 };
        }
        int64_t first = -1;
        T_ASSERT_OK(rill_log_append(log, recs, 20, &first));
        T_ASSERT_EQ_INT(first, base);
    }
    T_ASSERT_OK(rill_log_roll(log));
    uint64_t dropped = 0;
    T_ASSERT_OK(rill_log_compact(log, &dropped));
    T_ASSERT_EQ_INT(dropped, 6000 - 200);
    T_ASSERT_EQ_INT(rill_log_end_offset(log), 6000);
    T_ASSERT_EQ_INT(rill_log_start_offset(log), 0);
    /* The reader skips the gaps: exactly offsets 5800..5999, in order, with their values. */
    rill_log_reader_t *reader = NULL;
    T_ASSERT_OK(rill_log_reader_create(log, 0, &reader));
    const rill_record_view_t *rec = NULL;
    int64_t expect = 5800;
    rill_err err;
    while ((err = rill_log_reader_next(reader, &rec)) == RILL_OK) {
        T_ASSERT_EQ_INT(rill_record_offset(rec), expect);
        size_t bytes = 0;
        const char *value = rill_record_value(rec, &bytes);
        char want[64];
        snprintf(want, sizeof(want), "v%lld-%0*d", (long long)expect, 30, 0);
        T_ASSERT_EQ_INT(bytes, strlen(want));
        T_ASSERT_MEM_EQ(value, want, bytes);
        expect++;
    }
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
    T_ASSERT_EQ_INT(expect, 6000);
    /* Seeking into a gap lands on the next record. */
    T_ASSERT_OK(rill_log_reader_seek(reader, 1234));
    T_ASSERT_OK(rill_log_reader_next(reader, &rec));
    T_ASSERT_EQ_INT(rill_record_offset(rec), 5800);
    rill_log_reader_destroy(reader);
    /* rill_log_read at a gap offset returns the first batch after it. */
    void *buf = NULL;
    size_t buf_bytes = 0;
    T_ASSERT_OK(rill_log_read(log, 17, 1, &buf, &buf_bytes));
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_validate(buf, buf_bytes, false, &hdr));
    T_ASSERT_EQ_INT(hdr.offset_base, 5800);
    T_ASSERT_EQ_INT(log_batch_codec(&hdr), LOG_CODEC_LZ4);
    free(buf);
    T_ASSERT_OK(rill_log_close(log));
    dump_clean(dir);
    T_ASSERT_OK(rill_log_open(dir, conf, &log));
    T_ASSERT_EQ_INT(rill_log_end_offset(log), 6000);
    T_ASSERT_OK(rill_log_compact(log, &dropped));
    T_ASSERT_EQ_INT(dropped, 0);
    T_ASSERT_OK(rill_log_close(log));
    rill_conf_destroy(conf);
    t_rmdir_all(dir);
}

static void file_write(const char *path, const void *buf, size_t bytes)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    T_ASSERT(fd >= 0);
    T_ASSERT_EQ_INT(write(fd, buf, bytes), (long long)bytes);
    close(fd);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Recovery: gaps only with a valid marker; leftovers of an interrupted clean are removed. */
static void t_recovery_marker_rules(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    static struct model m;
    model_init(&m, 40);
    uint64_t rng = T_SEED;
    struct log_config cfg;
    cfg_make(&cfg, NULL, LOG_CODEC_NONE);
    struct log_io *io = io_create(false);
    struct log_partition *part = part_open(dir, &cfg, io);
    append_rounds(part, &m, 4, 50, LOG_CODEC_NONE, &rng);
    T_ASSERT_OK(log_partition_roll(part));
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    T_ASSERT_OK(log_partition_compact(part, T_BASE, NULL));
    /* A compacted segment with several batches left. */
    uint32_t target = part->segment_count;
    for (uint32_t i = 0; i + 1 < part->segment_count && target == part->segment_count; i++) {
        if (part->segments[i]->compacted && part->segments[i]->bytes > 8000) {
            target = i;
        }
    }
    T_ASSERT(target + 1 < part->segment_count);
    int64_t base = part->segments[target]->offset_base;
    int64_t second = part->segments[target + 1]->offset_base;
    T_ASSERT_OK(log_partition_close(part));
    char marker[512], log_path[512], index[512], spare[512], orphan[512], cleaning[512];
    T_ASSERT_OK(log_segment_path(dir, base, LOG_COMPACT_MARKER_SUFFIX, marker, sizeof(marker)));
    T_ASSERT_OK(log_segment_path(dir, base, ".log", log_path, sizeof(log_path)));
    T_ASSERT_OK(log_segment_path(dir, base, ".index", index, sizeof(index)));
    uint8_t good[LOG_COMPACT_MARKER_BYTES];
    log_compact_marker_encode(base, good);
    T_ASSERT(file_exists(marker));
    /* Without its marker (indexes gone too, so the segment is scanned) the gaps are refused. */
    T_ASSERT_EQ_INT(unlink(marker), 0);
    unlink(index);
    struct log_partition *refused = NULL;
    T_ASSERT_EQ_INT(log_partition_open(dir, &cfg, io, &refused), RILL_ERR_CORRUPT);
    /* A damaged marker, or the marker of another segment, allows nothing either. */
    uint8_t bad[LOG_COMPACT_MARKER_BYTES];
    memcpy(bad, good, sizeof(bad));
    bad[20] ^= 1;
    file_write(marker, bad, sizeof(bad));
    T_ASSERT_EQ_INT(log_partition_open(dir, &cfg, io, &refused), RILL_ERR_CORRUPT);
    log_compact_marker_encode(second, bad);
    file_write(marker, bad, sizeof(bad));
    T_ASSERT_EQ_INT(log_partition_open(dir, &cfg, io, &refused), RILL_ERR_CORRUPT);
    file_write(marker, good, sizeof(good) - 1);
    T_ASSERT_EQ_INT(log_partition_open(dir, &cfg, io, &refused), RILL_ERR_CORRUPT);
    /* The right marker: opens; a leftover .cleaning copy and an orphan marker are deleted. */
    file_write(marker, good, sizeof(good));
    T_ASSERT_OK(
        log_segment_path(dir, second, LOG_COMPACT_CLEANING_SUFFIX, cleaning, sizeof(cleaning)));
    file_write(cleaning, "partial", 7);
    T_ASSERT_OK(log_segment_path(dir, 99999999, LOG_COMPACT_MARKER_SUFFIX, orphan, sizeof(orphan)));
    file_write(orphan, good, sizeof(good));
    snprintf(spare, sizeof(spare), "%s", log_path);
    part = part_open(dir, &cfg, io);
    T_ASSERT(!file_exists(cleaning));
    T_ASSERT(!file_exists(orphan));
    T_ASSERT(part->segments[target]->compacted);
    check_compacted(part, &m, part->offset_next);
    /* A gap that goes backwards is refused even with a marker: order is still enforced. */
    T_ASSERT_OK(log_partition_close(part));
    uint8_t head[8];
    int fd = open(spare, O_RDWR);
    T_ASSERT(fd >= 0);
    /* The second batch's base offset: rewrite it to below the first batch's end. */
    uint8_t first[LOG_BATCH_HEADER_BYTES];
    T_ASSERT_EQ_INT(pread(fd, first, sizeof(first), 0), (long long)sizeof(first));
    struct log_batch_header hdr;
    T_ASSERT_OK(log_batch_header_decode(first, sizeof(first), &hdr));
    log_put_be64(head, (uint64_t)hdr.offset_base);
    T_ASSERT_EQ_INT(pwrite(fd, head, 8, log_batch_total_bytes(&hdr)), 8);
    close(fd);
    unlink(index);
    T_ASSERT_EQ_INT(log_partition_open(dir, &cfg, io, &refused), RILL_ERR_CORRUPT);
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

/* Truncation into a compacted segment: the end becomes the end of the last batch kept. */
static void t_truncate_into_gap(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    static struct model m;
    model_init(&m, 40);
    uint64_t rng = T_SEED;
    struct log_config cfg;
    cfg_make(&cfg, NULL, LOG_CODEC_NONE);
    struct log_io *io = io_create(false);
    struct log_partition *part = part_open(dir, &cfg, io);
    append_rounds(part, &m, 3, 50, LOG_CODEC_NONE, &rng);
    T_ASSERT_OK(log_partition_roll(part));
    T_ASSERT_OK(log_partition_compact(part, T_BASE, NULL));
    /* The latest-round segment before the last: find a kept record after a gap. */
    static bool present[OFFSETS_MAX];
    read_all(part, &m, present);
    int64_t gap = -1;
    for (int64_t o = m.count / 2; o + 1 < m.count && gap < 0; o++) {
        if (!present[o] && present[o + 1]) {
            gap = o;
        }
    }
    T_ASSERT(gap > 0);
    int64_t kept_end = gap;
    while (kept_end > 0 && !present[kept_end - 1]) {
        kept_end--;
    }
    /* Truncating at the record after the gap removes its batch: the end falls back to where
     * the last batch before it ended, at or below the gap. */
    T_ASSERT_OK(log_partition_truncate(part, gap + 1));
    T_ASSERT(part->offset_next <= gap + 1 && part->offset_next >= kept_end);
    int64_t end = part->offset_next;
    static bool before[OFFSETS_MAX];
    memcpy(before, present, sizeof(before));
    read_all(part, &m, present);
    for (int64_t o = 0; o < m.count; o++) {
        T_ASSERT_EQ_INT(present[o], o < end && before[o]);
    }
    m.count = end;
    T_ASSERT_OK(log_partition_close(part));
    part = part_open(dir, &cfg, io);
    T_ASSERT_EQ_INT(part->offset_next, end);
    int key = 3;
    bool tomb = false;
    append_batch(part, &m, &key, &tomb, 1, LOG_CODEC_NONE);
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    T_ASSERT_OK(log_partition_close(part));
    part = part_open(dir, &cfg, io);
    T_ASSERT_EQ_INT(part->offset_next, end + 1);
    read_all(part, &m, present);
    T_ASSERT(present[end]);
    T_ASSERT_OK(log_partition_close(part));
    dump_clean(dir);
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

static void t_conf_keys(void)
{
    rill_conf_t *conf = rill_conf_create();
    char errstr[128];
    static const char *const good[] = { "delete", "compact", "compact,delete", "delete,compact" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        T_ASSERT_OK(rill_conf_set(conf, "cleanup.policy", good[i], errstr, sizeof(errstr)));
    }
    static const char *const bad[] = { "", "compacted", "compact,", "delete,delete", "Compact" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_ASSERT_EQ_INT(rill_conf_set(conf, "cleanup.policy", bad[i], errstr, sizeof(errstr)),
                        RILL_ERR_CONFIG_VALUE);
    }
    T_ASSERT_EQ_INT(rill_conf_set(conf, "compaction.map.bytes", "1k", errstr, sizeof(errstr)),
                    RILL_ERR_CONFIG_VALUE);
    T_ASSERT_EQ_INT(rill_conf_set(conf, "delete.retention.ms", "-5", errstr, sizeof(errstr)),
                    RILL_ERR_CONFIG_VALUE);
    struct log_config cfg;
    log_config_from_conf(&cfg, NULL);
    T_ASSERT(!cfg.compact);
    T_ASSERT_EQ_INT(cfg.delete_retention_ms, 86400000);
    T_ASSERT_EQ_INT(cfg.compaction_map_bytes, 16 << 20);
    T_ASSERT_OK(rill_conf_set(conf, "cleanup.policy", "compact", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "compaction.map.bytes", "1m", errstr, sizeof(errstr)));
    log_config_from_conf(&cfg, conf);
    T_ASSERT(cfg.compact);
    T_ASSERT_EQ_INT(cfg.retention_ms, -1); /* compact alone: records are kept for good */
    T_ASSERT_EQ_INT(cfg.retention_bytes, -1);
    T_ASSERT_EQ_INT(cfg.compaction_map_bytes, 1 << 20);
    T_ASSERT_OK(rill_conf_set(conf, "cleanup.policy", "compact,delete", errstr, sizeof(errstr)));
    log_config_from_conf(&cfg, conf);
    T_ASSERT(cfg.compact);
    T_ASSERT_EQ_INT(cfg.retention_ms, 604800000);
    rill_conf_destroy(conf);
}

static const struct t_case cases[] = {
    T_CASE(t_latest_value_per_key),
    T_CASE(t_latest_value_per_key_lz4),
    T_CASE(t_active_segment_untouched),
    T_CASE(t_tombstones_after_retention),
    T_CASE(t_null_keys_kept),
    T_CASE(t_small_map),
    T_CASE(t_embedded_reader_across_gaps),
    T_CASE(t_recovery_marker_rules),
    T_CASE(t_truncate_into_gap),
    T_CASE(t_conf_keys),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
