/*
 * test_log_sync.c - the sync latency histogram of the storage engine (log/io.h struct
 * log_sync_stats): every fdatasync a partition submits is counted once - the linked write+sync
 * of staged appends, a sync alone, a roll's background sync - the buckets add up to the count,
 * and nothing is counted where no sync runs. No timing assertions: only counts.
 */
#include "tests/fault/log_fixture.h"

static uint64_t stats_count(struct log_sync_stats *stats)
{
    uint64_t count = 0;
    for (uint32_t b = 0; b <= LOG_SYNC_BUCKETS; b++) {
        count += atomic_load_explicit(&stats->buckets[b], memory_order_relaxed);
    }
    return count;
}

/* Appends one batch of `count` records at the partition's end (generation 1). */
static void append_one(struct log_partition *part, struct fx_model *m, uint32_t count)
{
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, RILL_BATCH_BYTES_DEFAULT));
    uint8_t *batch = NULL;
    size_t bytes = 0;
    int64_t base = part->offset_next;
    fx_batch_build(&bld, m, 1, base, count, &batch, &bytes);
    int64_t got = -1;
    T_ASSERT_OK(fx_part_append(part, batch, bytes, &got));
    T_ASSERT_EQ_INT(got, base);
    fx_model_set(m, base, base + count, 1);
    log_batch_builder_deinit(&bld);
}

static void t_bucket_bounds(void)
{
    T_ASSERT_EQ_INT(log_sync_bucket_ns[0], 50000);
    T_ASSERT_EQ_INT(log_sync_bucket_ns[LOG_SYNC_BUCKETS - 1], 1000000000);
    for (uint32_t b = 1; b < LOG_SYNC_BUCKETS; b++) {
        T_ASSERT(log_sync_bucket_ns[b] > log_sync_bucket_ns[b - 1]);
    }
    struct log_sync_stats stats;
    memset(&stats, 0, sizeof(stats));
    log_sync_stats_record(&stats, -5);         /* a clock step: counted as 0 */
    log_sync_stats_record(&stats, 50000);      /* the bound is inclusive */
    log_sync_stats_record(&stats, 50001);      /* next bucket */
    log_sync_stats_record(&stats, 2000000000); /* past 1 s: +Inf */
    T_ASSERT_EQ_INT(atomic_load(&stats.buckets[0]), 2);
    T_ASSERT_EQ_INT(atomic_load(&stats.buckets[1]), 1);
    T_ASSERT_EQ_INT(atomic_load(&stats.buckets[LOG_SYNC_BUCKETS]), 1);
    T_ASSERT_EQ_INT(atomic_load(&stats.ns_sum), 50000 + 50001 + 2000000000ll);
    T_ASSERT_EQ_INT(stats_count(&stats), 4);
}

/* flush=always: one linked write+sync per durable append, plus the roll's background sync. */
static void t_counts_every_sync(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(NULL, &io));
    struct log_sync_stats stats;
    memset(&stats, 0, sizeof(stats));
    struct log_config cfg = fx_config(1u << 20, 4096, LOG_FLUSH_ALWAYS);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    io->sync_stats = &stats; /* recovery's synchronous sync is not one of the timed ones */
    struct fx_model m;
    fx_model_init(&m, fx_seed(11), 200);
    for (unsigned i = 0; i < 20; i++) {
        append_one(part, &m, 5);
        T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
        T_ASSERT_EQ_INT(stats_count(&stats), i + 1);
    }
    T_ASSERT_OK(log_partition_roll(part));
    append_one(part, &m, 5);
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    while (part->roll_sync_in_flight) {
        T_ASSERT_OK(log_partition_poll(part, true));
    }
    T_ASSERT_EQ_INT(stats_count(&stats), 22); /* 20 + the roll's sync + the last append's */
    T_ASSERT_OK(log_partition_close(part));
    T_ASSERT_EQ_INT(stats_count(&stats), 22); /* all durable already: close syncs nothing */
    io->ops->destroy(io);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

/* flush=os: appends are written without a sync; a durable wait adds exactly one. */
static void t_counts_only_syncs(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(NULL, &io));
    struct log_sync_stats stats;
    memset(&stats, 0, sizeof(stats));
    io->sync_stats = &stats;
    struct log_config cfg = fx_config(1u << 20, 4096, LOG_FLUSH_OS);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(12), 200);
    for (unsigned i = 0; i < 10; i++) {
        append_one(part, &m, 3);
        T_ASSERT_OK(log_partition_wait(part, part->offset_next, false));
    }
    T_ASSERT_EQ_INT(stats_count(&stats), 0);
    T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    T_ASSERT_EQ_INT(stats_count(&stats), 1); /* a sync alone: the writes were done */
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

static const struct t_case cases[] = {
    T_CASE(t_bucket_bounds),
    T_CASE(t_counts_every_sync),
    T_CASE(t_counts_only_syncs),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
