/*
 * test_log_compact_crash.c - a crash at every point of a compaction pass loses nothing.
 *
 * A template log is built once: 300 keys updated over several rolled segments, a few records
 * with a null key, tombstones old enough to be dropped and tombstones recent enough to be kept,
 * then a roll and a clean close. A dry run copies it, opens it through the fault backend and
 * runs one compaction pass, counting the mutating operations (the open's included) and
 * recording, for each segment, the offsets it holds before and after.
 *
 * Then for every N up to that count: a fresh copy, crash_after = N (operation N+1 and all
 * later ones do nothing and fail with RILL_ERR_CRASHED), open + compact until the first error,
 * release, a power loss (writes no sync covered are undone; a seeded prefix survives, maybe
 * torn), and a reopen with the plain backend, which must:
 *   - open, and leave no .cleaning file behind;
 *   - hold in each segment exactly its old offsets or exactly its new ones (never a mix, never
 *     neither), every record equal to what was appended at its offset, the end offset intact;
 *   - hold every key's latest value, and never an older value of a deleted key without the
 *     tombstone that deletes it (no resurrection);
 *   - finish the compaction on a further pass and then equal the dry run's result.
 * A failing point replays alone with T_SEED=<seed> RILL_TEST_CRASH_AT=<N> <binary> <case>.
 */
#include "tests/fault/log_fixture.h"

#define KEYS         300
#define ROUNDS       6
#define VALUE_BYTES  100u
#define T0           1700000000000ll
#define HOUR_MS      (3600ll * 1000)
#define NOW_MS       (T0 + 10 * HOUR_MS) /* the clean's clock */
#define OFFSETS_MAX  4096
#define SEGMENTS_MAX 64

struct model {
    int32_t key_of[OFFSETS_MAX]; /* -1: null key */
    bool tomb[OFFSETS_MAX];
    int64_t latest[KEYS];
    int64_t count;
};

/* Offsets each segment holds (by template segment index). */
struct layout {
    int64_t bases[SEGMENTS_MAX];
    uint32_t count;
    bool present[OFFSETS_MAX];
};

static void value_fill(char *out, int64_t offset)
{
    uint64_t state = (uint64_t)offset * 0x9e3779b97f4a7c15ull + 7;
    for (size_t i = 0; i < VALUE_BYTES; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[i] = (char)('a' + state % 26);
    }
}

static void cfg_make(struct log_config *cfg)
{
    rill_conf_t *conf = fx_conf(64 * 1024, 1024, LOG_CODEC_NONE);
    char errstr[128];
    T_ASSERT_OK(rill_conf_set(conf, "cleanup.policy", "compact", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "delete.retention.ms", "3600000", errstr, sizeof(errstr)));
    log_config_from_conf(cfg, conf);
    rill_conf_destroy(conf);
}

static void append_batch(struct log_partition *part,
                         struct model *m,
                         const int *keys,
                         const bool *tomb,
                         int n,
                         int64_t timestamp)
{
    static char key_buf[64][16], value_buf[64][VALUE_BYTES];
    T_ASSERT(n <= 64);
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, 1u << 20));
    int64_t base = part->offset_next;
    T_ASSERT(base + n <= OFFSETS_MAX);
    for (int i = 0; i < n; i++) {
        rill_record_t rec = { .timestamp_ms = timestamp };
        if (keys[i] >= 0) {
            snprintf(key_buf[i], sizeof(key_buf[i]), "key-%03d", keys[i]);
            rec.key = key_buf[i];
            rec.key_bytes = strlen(key_buf[i]);
        }
        if (!tomb[i]) {
            value_fill(value_buf[i], base + i);
            rec.value = value_buf[i];
            rec.value_bytes = VALUE_BYTES;
        }
        T_ASSERT_OK(log_batch_builder_add(&bld, &rec, 0));
    }
    uint8_t *batch = NULL;
    size_t bytes = 0;
    T_ASSERT_OK(log_batch_builder_finish(&bld, &batch, &bytes));
    int64_t offset = -1;
    T_ASSERT_OK(fx_part_append(part, batch, bytes, &offset));
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

/* The template: updates, null keys, old and recent tombstones, rolled and closed. */
static void template_build(const char *dir, const struct log_config *cfg, struct model *m)
{
    memset(m, 0, sizeof(*m));
    for (int k = 0; k < KEYS; k++) {
        m->latest[k] = -1;
    }
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(NULL, &io));
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, cfg, io, &part));
    int keys[64];
    bool tomb[64] = { false };
    uint64_t rng = T_SEED;
    for (int r = 0; r < ROUNDS; r++) {
        for (int done = 0; done < KEYS; done += 30) {
            for (int i = 0; i < 30; i++) {
                /* Mostly in order, some keys repeated or moved: batches lose some records. */
                keys[i] = t_rand(&rng) % 5 == 0 ? (int)(t_rand(&rng) % KEYS) : done + i;
                if (t_rand(&rng) % 40 == 0) {
                    keys[i] = -1;
                }
            }
            append_batch(part, m, keys, tomb, 30, T0);
        }
    }
    /* Old tombstones (expired at NOW_MS) for keys 0..29, then recent ones for 30..59. */
    for (int i = 0; i < 30; i++) {
        keys[i] = i;
        tomb[i] = true;
    }
    append_batch(part, m, keys, tomb, 30, T0);
    for (int i = 0; i < 30; i++) {
        keys[i] = 30 + i;
    }
    T_ASSERT_OK(log_partition_roll(part));
    append_batch(part, m, keys, tomb, 30, NOW_MS - 1000);
    T_ASSERT_OK(log_partition_roll(part));
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    T_ASSERT(part->segment_count >= 5 && part->segment_count <= SEGMENTS_MAX);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
}

static void check_record(const struct model *m, const struct log_record *rec)
{
    T_ASSERT(rec->offset >= 0 && rec->offset < m->count);
    int key = m->key_of[rec->offset];
    if (key < 0) {
        T_ASSERT_EQ_INT(rec->key_bytes, -1);
    } else {
        char want[16];
        snprintf(want, sizeof(want), "key-%03d", key);
        T_ASSERT_EQ_INT(rec->key_bytes, strlen(want));
        T_ASSERT_MEM_EQ(rec->key, want, strlen(want));
    }
    if (m->tomb[rec->offset]) {
        T_ASSERT_EQ_INT(rec->value_bytes, -1);
    } else {
        char want[VALUE_BYTES];
        value_fill(want, rec->offset);
        T_ASSERT_EQ_INT(rec->value_bytes, VALUE_BYTES);
        T_ASSERT_MEM_EQ(rec->value, want, VALUE_BYTES);
    }
}

/* Reads the whole log (checking every record) into out->present, with its segment bases. */
static void layout_read(struct log_partition *part, const struct model *m, struct layout *out)
{
    memset(out, 0, sizeof(*out));
    T_ASSERT(part->segment_count <= SEGMENTS_MAX);
    for (uint32_t i = 0; i < part->segment_count; i++) {
        out->bases[i] = part->segments[i]->offset_base;
    }
    out->count = part->segment_count;
    struct log_record_iter it;
    log_record_iter_init(&it);
    int64_t offset = part->offset_start, prev = -1;
    for (unsigned guard = 0; guard < 100000; guard++) {
        uint8_t *buf = NULL;
        size_t bytes = 0;
        rill_err err = log_partition_read(part, offset, 64 * 1024, &buf, &bytes);
        if (err == RILL_ERR_END) {
            break;
        }
        T_ASSERT_OK(err);
        for (size_t used = 0; used < bytes;) {
            struct log_batch_header hdr;
            T_ASSERT_OK(log_batch_header_decode(buf + used, bytes - used, &hdr));
            T_ASSERT_OK(log_batch_validate(buf + used, log_batch_total_bytes(&hdr), false, &hdr));
            T_ASSERT_OK(log_record_iter_start(&it, buf + used, log_batch_total_bytes(&hdr)));
            struct log_record rec;
            while ((err = log_record_iter_next(&it, &rec)) == RILL_OK) {
                T_ASSERT(rec.offset > prev);
                prev = rec.offset;
                check_record(m, &rec);
                out->present[rec.offset] = true;
            }
            T_ASSERT_EQ_INT(err, RILL_ERR_END);
            offset = log_batch_offset_last(&hdr) + 1;
            used += log_batch_total_bytes(&hdr);
        }
        free(buf);
    }
    log_record_iter_deinit(&it);
}

/* Whether segment i holds the same offsets in a and b. */
static bool segment_equal(const struct layout *a, const struct layout *b, uint32_t i, int64_t end)
{
    int64_t to = i + 1 < a->count ? a->bases[i + 1] : end;
    for (int64_t o = a->bases[i]; o < to; o++) {
        if (a->present[o] != b->present[o]) {
            return false;
        }
    }
    return true;
}

struct expect {
    struct model m;
    struct layout before;
    struct layout after;
    int64_t end;
    uint64_t op_count; /* of the dry run: open + one compaction pass */
};

static struct log_partition *
open_plain(const char *dir, const struct log_config *cfg, struct log_io **io)
{
    T_ASSERT_OK(log_io_fault_create(NULL, io));
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, cfg, *io, &part));
    return part;
}

static void
dry_run(const char *tmpl, const char *work, const struct log_config *cfg, struct expect *x)
{
    fx_dir_copy(tmpl, work);
    struct log_io *io = NULL;
    struct log_partition *part = open_plain(work, cfg, &io);
    layout_read(part, &x->m, &x->before);
    x->end = part->offset_next;
    struct log_compact_stats stats;
    T_ASSERT_OK(log_partition_compact(part, NOW_MS, &stats));
    T_ASSERT(stats.segments_rewritten >= 3);
    T_ASSERT(stats.tombstones_dropped == 30);
    x->op_count = log_io_fault_op_count(io);
    layout_read(part, &x->m, &x->after);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    T_ASSERT_EQ_INT(x->before.count, x->after.count);
}

static void verify(const char *dir, const struct log_config *cfg, const struct expect *x)
{
    struct log_io *io = NULL;
    struct log_partition *part = open_plain(dir, cfg, &io);
    T_ASSERT_EQ_INT(fx_dir_count(dir, LOG_COMPACT_CLEANING_SUFFIX), 0);
    T_ASSERT_EQ_INT(part->offset_next, x->end);
    static struct layout got;
    layout_read(part, &x->m, &got);
    T_ASSERT_EQ_INT(got.count, x->before.count);
    for (uint32_t i = 0; i < got.count; i++) {
        T_ASSERT_EQ_INT(got.bases[i], x->before.bases[i]);
        if (!segment_equal(&x->before, &got, i, x->end) &&
            !segment_equal(&x->after, &got, i, x->end)) {
            T_FAIL("segment %u (base %lld) is neither its old nor its new content", i,
                   (long long)got.bases[i]);
        }
    }
    for (int k = 0; k < KEYS; k++) {
        int64_t latest = x->m.latest[k];
        if (latest < 0) {
            continue; /* the seed never wrote this key */
        }
        if (!x->m.tomb[latest]) {
            T_ASSERT(got.present[latest]);
            continue;
        }
        /* A deleted key: no older value may show without its tombstone. */
        for (int64_t o = 0; o < latest && !got.present[latest]; o++) {
            if (x->m.key_of[o] == k && got.present[o]) {
                T_FAIL("key %d came back at offset %lld without its tombstone", k, (long long)o);
            }
        }
    }
    /* The next pass completes the work: the dry run's result exactly. */
    T_ASSERT_OK(log_partition_compact(part, NOW_MS, NULL));
    layout_read(part, &x->m, &got);
    for (uint32_t i = 0; i < got.count; i++) {
        T_ASSERT(segment_equal(&x->after, &got, i, x->end));
    }
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
}

static void crash_once(const char *tmpl,
                       const char *work,
                       const struct log_config *cfg,
                       const struct expect *x,
                       uint64_t crash_after,
                       uint64_t power_seed)
{
    fx_context("crash_after=%llu power_seed=%llu", (unsigned long long)crash_after,
               (unsigned long long)power_seed);
    fx_dir_copy(tmpl, work);
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_ANY, .crash_after = crash_after };
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(&plan, &io));
    struct log_partition *part = NULL;
    rill_err err = log_partition_open(work, cfg, io, &part);
    if (err == RILL_OK) {
        err = log_partition_compact(part, NOW_MS, NULL);
        (void)log_partition_close(part); /* after the crash: its I/O fails, it only frees */
    }
    T_ASSERT(err == RILL_OK || err == RILL_ERR_CRASHED);
    T_ASSERT(log_io_fault_crashed(io) || crash_after >= x->op_count);
    T_ASSERT_OK(log_io_fault_power_loss(io, power_seed));
    io->ops->destroy(io);
    verify(work, cfg, x);
}

static void t_crash_sweep_compaction(void)
{
    fx_quiet();
    char tmpl[256], work[256];
    t_mkdtemp(tmpl, sizeof(tmpl));
    t_mkdtemp(work, sizeof(work));
    struct log_config cfg;
    cfg_make(&cfg);
    static struct expect x;
    template_build(tmpl, &cfg, &x.m);
    dry_run(tmpl, work, &cfg, &x);
    T_ASSERT(x.op_count > 20);
    const char *only = getenv("RILL_TEST_CRASH_AT");
    uint64_t rng = T_SEED ^ 0x5eed;
    for (uint64_t n = 1; n <= x.op_count; n++) {
        uint64_t power_seed = n % 3 == 0 ? 0 : t_rand(&rng);
        if (only != NULL && strtoull(only, NULL, 10) != n) {
            continue;
        }
        crash_once(tmpl, work, &cfg, &x, n, power_seed);
    }
    fx_context_clear();
    fx_rmdir(work);
    fx_rmdir(tmpl);
}

/* A crash in the middle of the recovery that follows a crashed compaction loses nothing either. */
static void t_crash_twice(void)
{
    fx_quiet();
    char tmpl[256], work[256];
    t_mkdtemp(tmpl, sizeof(tmpl));
    t_mkdtemp(work, sizeof(work));
    struct log_config cfg;
    cfg_make(&cfg);
    static struct expect x;
    template_build(tmpl, &cfg, &x.m);
    dry_run(tmpl, work, &cfg, &x);
    uint64_t rng = T_SEED ^ 0x7eed;
    for (unsigned round = 0; round < 12; round++) {
        uint64_t first = 1 + t_rand(&rng) % x.op_count;
        uint64_t second = 1 + t_rand(&rng) % 12;
        fx_context("first=%llu second=%llu", (unsigned long long)first, (unsigned long long)second);
        fx_dir_copy(tmpl, work);
        for (unsigned step = 0; step < 2; step++) {
            struct log_io_fault_plan plan = { .crash_after = step == 0 ? first : second };
            struct log_io *io = NULL;
            T_ASSERT_OK(log_io_fault_create(&plan, &io));
            struct log_partition *part = NULL;
            rill_err err = log_partition_open(work, &cfg, io, &part);
            if (err == RILL_OK) {
                err = log_partition_compact(part, NOW_MS, NULL);
                (void)log_partition_close(part);
            }
            T_ASSERT(err == RILL_OK || err == RILL_ERR_CRASHED);
            T_ASSERT_OK(log_io_fault_power_loss(io, t_rand(&rng)));
            io->ops->destroy(io);
        }
        verify(work, &cfg, &x);
    }
    fx_context_clear();
    fx_rmdir(work);
    fx_rmdir(tmpl);
}

static const struct t_case cases[] = {
    T_CASE(t_crash_sweep_compaction),
    T_CASE(t_crash_twice),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
