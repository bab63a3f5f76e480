/*
 * test_log_crash.c - crashes at every point of a workload, then recovery with the real
 * backend: no acknowledged record is lost, nothing half-written is visible, appends go on.
 *
 * Crash-point sweep. A dry run of a seeded workload (appends in groups, flushes, rolls by
 * segment.bytes, an explicit roll, a clean close and reopen midway, a final close) counts its
 * mutating I/O operations through the fault backend. Then, for every N up to that count, the
 * same workload runs on a fresh directory with crash_after = N: operation N+1 and every later
 * one do nothing and fail with RILL_ERR_CRASHED. The workload stops at its first error, the
 * partition is released without a clean close, and a power loss drops the writes no sync
 * covered (a seeded prefix survives, possibly torn). Reopened with io_uring through the public
 * API, the log must:
 *   - open (a crash must never look like corruption below the checkpoint);
 *   - hold every acknowledged-durable record at its offset with its exact content;
 *   - hold nothing that was not appended (every record present equals what was appended at
 *     its offset) and no record past the last appended offset;
 *   - take a new append at its end offset, and keep everything over another close and open.
 * What counts as acknowledged: with flush=always every append waited for durability; with
 * flush=os or interval only the appends followed by an explicit durable wait (a flush).
 *
 * A failing crash point replays alone with T_SEED=<seed> RILL_TEST_CRASH_AT=<N> <binary> <case>
 * (add RILL_DIAG_LEVEL=warn to see what recovery did).
 *
 * The fault backend runs each submitted operation at once; a wrapper (struct defer_io) holds
 * back lone submitted syncs - a roll's background sync of the segment it sealed - until the
 * partition waits for them, so a crash can also find the new segment durable and the sealed one
 * not (as on a real disk).
 *
 * Process crash. A forked child appends through the public API and reports each acknowledged
 * end offset on a pipe (durable with flush=always, written with flush=os: the page cache
 * survives a killed process); the parent kills it with SIGKILL at a seeded point, reopens and
 * checks the same properties, for several rounds on the same log.
 */
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "tests/fault/log_fixture.h"

#define SEGMENT_BYTES     (64u * 1024)
#define INDEX_INTERVAL    256u
#define WORKLOAD_BATCHES  70u
#define REOPEN_AT_BATCH   25u
#define ROLL_AT_BATCH     45u
#define VALUE_BYTES_MAX   3000u
#define BATCH_RECORDS_MAX 24u
#define VERIFY_GEN        255u /* content the verification appends after recovery */

struct variant {
    enum log_flush_policy flush;
    int64_t flush_interval_ms;
    int codec;
    unsigned stride; /* sweep every stride-th crash point (others are covered by other seeds) */
    bool truncate;   /* the workload also truncates the log back, across rolls at times */
    bool defer;      /* lone submitted syncs complete late (see struct defer_io) */
};

struct run {
    int64_t appended_end;  /* offsets assigned so far: nothing at or past it may appear */
    int64_t acked;         /* every record below it was acknowledged durable */
    uint64_t op_count;     /* mutating operations the fault backend numbered */
    uint32_t segments_max; /* most segments the log had at once: rolls really happened */
    rill_err err;          /* first error (RILL_OK when the workload completed) */
    int64_t bases[1024];   /* base offset of each batch below appended_end, ascending */
    unsigned base_count;
};

/* ---------------------------------------------------------------------------------------- */
/* Late syncs                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/*
 * The fault backend runs a submitted operation at once, so a sync submitted alone (a roll's
 * background sync of the segment it sealed) always lands before anything submitted after it.
 * On a real disk it may complete long after: the new segment's writes and syncs can reach the
 * disk first. This wrapper holds such syncs back until the partition blocks waiting with
 * nothing else to complete, or closes the file, and only then hands them to the fault backend -
 * so a crash in between finds the newer segment durable and the sealed one not. Writes (and the
 * syncs linked to them) pass straight through.
 */
#define DEFER_MAX 8u

struct defer_io {
    struct fx_forward_io base; /* first member */
    struct {
        int fd;
        void *owner;
        uint64_t cookie;
    } held[DEFER_MAX];
    unsigned held_count;
    struct log_io_completion crashed[DEFER_MAX]; /* late syncs the crash point swallowed */
    unsigned crashed_count;
    uint64_t deferred_count; /* syncs held back so far */
};

static struct defer_io *defer_of(struct log_io *io)
{
    return (struct defer_io *)io;
}

static void defer_sync_in_flight(struct defer_io *dio)
{
    dio->base.io.in_flight = dio->base.inner->in_flight + dio->held_count + dio->crashed_count;
}

/* Hands the oldest held sync to the fault backend (it runs there at once). */
static void defer_release_one(struct defer_io *dio)
{
    T_ASSERT(dio->held_count > 0);
    int fd = dio->held[0].fd;
    void *owner = dio->held[0].owner;
    uint64_t cookie = dio->held[0].cookie;
    memmove(&dio->held[0], &dio->held[1], (dio->held_count - 1) * sizeof(dio->held[0]));
    dio->held_count--;
    rill_err err = dio->base.inner->ops->submit_sync(dio->base.inner, fd, owner, cookie);
    if (err != RILL_OK) {
        /* Past the crash point: the process would be gone; complete it with the crash. */
        T_ASSERT_EQ_INT(err, RILL_ERR_CRASHED);
        dio->crashed[dio->crashed_count++] = (struct log_io_completion){
            .owner = owner, .cookie = cookie, .op = LOG_IO_OP_SYNC, .err = RILL_ERR_CRASHED
        };
    }
}

/* A held sync on fd runs before the close (io_uring holds the file until the sync is done). */
static void defer_close(struct log_io *io, int fd)
{
    struct defer_io *dio = defer_of(io);
    for (unsigned i = 0; i < dio->held_count; i++) {
        if (dio->held[i].fd == fd) {
            while (dio->held_count > i) {
                defer_release_one(dio);
            }
            break;
        }
    }
    dio->base.inner->ops->close(dio->base.inner, fd);
    defer_sync_in_flight(dio);
}

static rill_err defer_submit_write(struct log_io *io,
                                   int fd,
                                   const void *buf,
                                   uint32_t bytes,
                                   uint64_t offset,
                                   bool sync,
                                   void *owner,
                                   uint64_t cookie)
{
    struct defer_io *dio = defer_of(io);
    rill_err err = dio->base.inner->ops->submit_write(dio->base.inner, fd, buf, bytes, offset, sync,
                                                      owner, cookie);
    defer_sync_in_flight(dio);
    return err;
}

static rill_err defer_submit_sync(struct log_io *io, int fd, void *owner, uint64_t cookie)
{
    struct defer_io *dio = defer_of(io);
    if (dio->held_count == DEFER_MAX) {
        return RILL_ERR_FULL;
    }
    dio->held[dio->held_count].fd = fd;
    dio->held[dio->held_count].owner = owner;
    dio->held[dio->held_count].cookie = cookie;
    dio->held_count++;
    dio->deferred_count++;
    defer_sync_in_flight(dio);
    return RILL_OK;
}

static rill_err defer_reap(
    struct log_io *io, struct log_io_completion *out, unsigned max, bool wait, unsigned *out_count)
{
    struct defer_io *dio = defer_of(io);
    unsigned count = 0;
    rill_err err = dio->base.inner->ops->reap(dio->base.inner, out, max, false, &count);
    if (err == RILL_OK && count == 0 && wait && dio->crashed_count == 0 && dio->held_count > 0) {
        defer_release_one(dio); /* the caller blocks on it: now it may complete */
        err = dio->base.inner->ops->reap(dio->base.inner, out, max, false, &count);
    }
    while (err == RILL_OK && count < max && dio->crashed_count > 0) {
        out[count++] = dio->crashed[0];
        memmove(&dio->crashed[0], &dio->crashed[1],
                (dio->crashed_count - 1) * sizeof(dio->crashed[0]));
        dio->crashed_count--;
    }
    defer_sync_in_flight(dio);
    *out_count = count;
    return err;
}

/* Frees the wrapper only: the caller still needs the fault backend for the power loss. */
static void defer_destroy(struct log_io *io)
{
    free(io);
}

/* The ops table: forwarding, except what this wrapper changes. */
static const struct log_io_ops *defer_ops(void)
{
    static struct log_io_ops ops;
    if (ops.open == NULL) {
        fx_forward_ops_init(&ops);
        ops.close = defer_close;
        ops.submit_write = defer_submit_write;
        ops.submit_sync = defer_submit_sync;
        ops.reap = defer_reap;
        ops.destroy = defer_destroy;
    }
    return &ops;
}

static struct log_io *defer_create(struct log_io *inner)
{
    struct defer_io *dio = calloc(1, sizeof(*dio));
    T_ASSERT(dio != NULL);
    dio->base.io.ops = defer_ops();
    dio->base.inner = inner;
    return &dio->base.io;
}

static struct log_config variant_config(const struct variant *v)
{
    struct log_config cfg = fx_config(SEGMENT_BYTES, INDEX_INTERVAL, v->flush);
    cfg.flush_interval_ms = v->flush_interval_ms;
    cfg.codec = v->codec;
    return cfg;
}

/* Appends one group of 1..3 batches; then waits for written or durable per the variant. */
static rill_err workload_group(struct log_partition *part,
                               const struct variant *v,
                               struct log_batch_builder *bld,
                               struct fx_model *m,
                               uint8_t gen,
                               uint64_t *rng,
                               struct run *run)
{
    uint32_t batches = 1 + (uint32_t)fx_below(rng, 3);
    for (uint32_t i = 0; i < batches; i++) {
        uint32_t count = 1 + (uint32_t)fx_below(rng, BATCH_RECORDS_MAX);
        uint8_t *batch = NULL;
        size_t batch_bytes = 0;
        int64_t assigned = -1;
        fx_batch_build(bld, m, gen, run->appended_end, count, &batch, &batch_bytes);
        rill_err err = fx_part_append(part, batch, batch_bytes, &assigned);
        if (err != RILL_OK) {
            return err;
        }
        T_ASSERT_EQ_INT(assigned, run->appended_end);
        T_ASSERT(run->base_count < T_COUNT(run->bases));
        run->bases[run->base_count++] = assigned;
        fx_model_set(m, run->appended_end, run->appended_end + count, gen);
        run->appended_end += count;
    }
    bool durable = v->flush == LOG_FLUSH_ALWAYS || fx_below(rng, 3) == 0;
    rill_err err = log_partition_wait(part, part->offset_next, durable);
    if (err == RILL_OK && durable) {
        T_ASSERT(part->offset_durable >= run->appended_end);
        run->acked = run->appended_end;
    }
    return err;
}

/*
 * The seeded workload on dir through io; stops at the first error. The partition is released
 * either way (log_partition_close after a crash only frees: its I/O fails).
 */
/*
 * Truncates back by up to ~2 segments of offsets (replication dropping a divergent tail).
 * What it removed is gone for good once it returns: later appends re-use those offsets with a
 * new generation of content, and acknowledgements above the new end are void.
 */
static rill_err
workload_truncate(struct log_partition *part, uint64_t *rng, bool far, struct run *run)
{
    /* A far one goes back past a roll (a segment holds ~250 offsets): below the checkpoint. */
    int64_t back = far ? 250 + (int64_t)fx_below(rng, 300) : 1 + (int64_t)fx_below(rng, 400);
    int64_t target = run->appended_end > back ? run->appended_end - back : 0;
    /* Whole batches go: the end becomes the base of the batch holding target. */
    unsigned keep = run->base_count;
    int64_t end = run->appended_end;
    if (target < run->appended_end) {
        keep = 0;
        while (keep < run->base_count && run->bases[keep] <= target) {
            keep++;
        }
        T_ASSERT(keep > 0);
        end = run->bases[--keep]; /* batches [0, keep) remain */
    }
    /* Once asked for, the removal may happen even if the call then fails. */
    run->acked = run->acked < end ? run->acked : end;
    rill_err err = log_partition_truncate(part, target);
    if (err == RILL_OK) {
        T_ASSERT_EQ_INT(part->offset_next, end);
        T_ASSERT_EQ_INT(part->offset_durable, end);
        run->appended_end = end;
        run->base_count = keep;
    }
    return err;
}

static void workload(const char *dir,
                     const struct variant *v,
                     struct log_io *io,
                     struct log_io *fault,
                     struct fx_model *m,
                     uint64_t seed,
                     struct run *run)
{
    uint8_t gen = 0;
    uint64_t rng = seed;
    struct log_config cfg = variant_config(v);
    struct log_batch_builder bld;
    struct log_partition *part = NULL;
    memset(run, 0, sizeof(*run));
    T_ASSERT_OK(log_batch_builder_init(&bld, v->codec, cfg.batch_bytes_max));
    rill_err err = log_partition_open(dir, &cfg, io, &part);
    for (unsigned i = 0; err == RILL_OK && i < WORKLOAD_BATCHES; i++) {
        if (i == REOPEN_AT_BATCH) {
            err = log_partition_close(part);
            part = NULL;
            if (err == RILL_OK) {
                run->acked = run->appended_end; /* a clean close makes everything durable */
                err = log_partition_open(dir, &cfg, io, &part);
            }
        } else if (i == ROLL_AT_BATCH) {
            err = log_partition_roll(part);
        } else if (v->truncate && (i == 35 || i == 55 || i == 60)) {
            err = workload_truncate(part, &rng, i == 35, run);
            gen += err == RILL_OK ? 1 : 0;
        }
        if (err == RILL_OK) {
            err = workload_group(part, v, &bld, m, gen, &rng, run);
        }
        if (part != NULL && part->segment_count > run->segments_max) {
            run->segments_max = part->segment_count;
        }
    }
    if (part != NULL) {
        rill_err close_err = log_partition_close(part);
        if (err == RILL_OK && close_err == RILL_OK) {
            run->acked = run->appended_end;
        }
        err = err != RILL_OK ? err : close_err;
    }
    log_batch_builder_deinit(&bld);
    run->err = err;
    run->op_count = log_io_fault_op_count(fault);
}

/*
 * Reopens dir with the real backend and checks what survived against run: see the top.
 * Returns the end offset found.
 */
static int64_t verify_recovered(const char *dir,
                                const struct variant *v,
                                struct fx_model *m,
                                const struct run *run,
                                uint64_t *rng,
                                bool deep)
{
    rill_conf_t *conf = fx_conf(SEGMENT_BYTES, INDEX_INTERVAL, v->codec);
    rill_log_t *log = NULL;
    rill_err err = rill_log_open(dir, conf, &log);
    if (err != RILL_OK) {
        T_FAIL("reopen after the crash returned %s", rill_err_name(err));
    }
    int64_t end = rill_log_end_offset(log);
    if (end < run->acked) {
        T_FAIL("acknowledged records lost: end offset %lld, acknowledged up to %lld",
               (long long)end, (long long)run->acked);
    }
    if (end > run->appended_end) {
        T_FAIL("end offset %lld past the last appended offset %lld", (long long)end,
               (long long)run->appended_end);
    }
    T_ASSERT_EQ_INT(rill_log_durable_offset(log), end);
    fx_check_log(log, m, end);
    uint32_t count = 1 + (uint32_t)fx_below(rng, 8);
    int64_t first = -1;
    fx_model_set(m, end, end + count, VERIFY_GEN);
    T_ASSERT_OK(fx_log_append(log, m, VERIFY_GEN, end, count, &first));
    T_ASSERT_EQ_INT(first, end);
    T_ASSERT_EQ_INT(fx_check_from(log, m, end), end + count);
    T_ASSERT_OK(rill_log_close(log));
    if (deep) {
        T_ASSERT_OK(rill_log_open(dir, conf, &log));
        fx_check_log(log, m, end + count);
        T_ASSERT_OK(rill_log_close(log));
        fx_dump_ok(dir);
    }
    rill_conf_destroy(conf);
    return end;
}

/* One crash point: workload with crash_after, power loss, verification. */
static void crash_once(const struct variant *v,
                       uint64_t seed,
                       uint64_t crash_after,
                       uint64_t power_seed,
                       struct run *out_run)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct fx_model m;
    fx_model_init(&m, seed ^ 0xabcdef, VALUE_BYTES_MAX);
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_ANY, .crash_after = crash_after };
    struct log_io *fault = NULL;
    T_ASSERT_OK(log_io_fault_create(&plan, &fault));
    struct log_io *io = v->defer ? defer_create(fault) : fault;
    struct run run;
    workload(dir, v, io, fault, &m, seed, &run);
    if (run.err != RILL_ERR_CRASHED) {
        T_FAIL("workload stopped with %s before or instead of the crash", rill_err_name(run.err));
    }
    T_ASSERT(log_io_fault_crashed(fault));
    T_ASSERT_OK(log_io_fault_power_loss(fault, power_seed));
    if (io != fault) {
        io->ops->destroy(io);
    }
    fault->ops->destroy(fault);
    uint64_t rng = seed ^ 0x77;
    verify_recovered(dir, v, &m, &run, &rng, crash_after % 4 == 1);
    fx_model_deinit(&m);
    fx_rmdir(dir);
    if (out_run != NULL) {
        *out_run = run;
    }
}

/* The dry run: the workload without faults, to count its operations. */
static uint64_t workload_op_count(const struct variant *v, uint64_t seed)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct fx_model m;
    fx_model_init(&m, seed ^ 0xabcdef, VALUE_BYTES_MAX);
    struct log_io *fault = NULL;
    T_ASSERT_OK(log_io_fault_create(NULL, &fault));
    struct log_io *io = v->defer ? defer_create(fault) : fault;
    struct run run;
    workload(dir, v, io, fault, &m, seed, &run);
    T_ASSERT_OK(run.err);
    T_ASSERT_EQ_INT(run.acked, run.appended_end);
    if (io != fault) {
        /* Without lone syncs (a roll that syncs in the foreground) the variant is a plain one. */
        if (getenv("RILL_TEST_VERBOSE") != NULL) {
            fprintf(stderr, "  %llu syncs held back\n",
                    (unsigned long long)defer_of(io)->deferred_count);
        }
        io->ops->destroy(io);
    }
    fault->ops->destroy(fault);
    uint64_t rng = seed;
    T_ASSERT_EQ_INT(verify_recovered(dir, v, &m, &run, &rng, true), run.appended_end);
    /*
     * Several rolls must fall inside the sweep, or it would not test them. Counted while the
     * workload ran: a far truncation may leave fewer segment files at the end.
     */
    T_ASSERT(run.segments_max >= (v->truncate ? 2u : 4u));
    fx_model_deinit(&m);
    fx_rmdir(dir);
    return run.op_count;
}

static void crash_sweep(const struct variant *v, uint64_t tag)
{
    fx_uring_or_skip();
    fx_quiet();
    uint64_t seed = fx_seed(tag);
    uint64_t total = workload_op_count(v, seed);
    T_ASSERT(total > 100);
    if (getenv("RILL_TEST_VERBOSE") != NULL) {
        fprintf(stderr, "  %llu crash points\n", (unsigned long long)total);
    }
    uint64_t rng = seed ^ 0x9999;
    uint64_t first = 1 + fx_below(&rng, v->stride);
    const char *only = getenv("RILL_TEST_CRASH_AT"); /* replay one crash point of a failure */
    for (uint64_t crash_after = first; crash_after < total; crash_after += v->stride) {
        /* Seed 0 keeps no unsynced write; others keep a random prefix, maybe torn. */
        uint64_t power_seed = crash_after % 4 == 0 ? 0 : t_rand(&rng);
        if (only != NULL && strtoull(only, NULL, 10) != crash_after) {
            continue;
        }
        fx_context("crash after operation %llu of %llu, power-loss seed %llu",
                   (unsigned long long)crash_after, (unsigned long long)total,
                   (unsigned long long)power_seed);
        crash_once(v, seed, crash_after, power_seed, NULL);
    }
    fx_context_clear();
}

static void t_crash_sweep_flush_always(void)
{
    const struct variant v = { .flush = LOG_FLUSH_ALWAYS, .codec = LOG_CODEC_NONE, .stride = 1 };
    crash_sweep(&v, 1);
}

static void t_crash_sweep_lz4(void)
{
    const struct variant v = { .flush = LOG_FLUSH_ALWAYS, .codec = LOG_CODEC_LZ4, .stride = 2 };
    crash_sweep(&v, 2);
}

static void t_crash_sweep_flush_os(void)
{
    const struct variant v = { .flush = LOG_FLUSH_OS, .codec = LOG_CODEC_NONE, .stride = 1 };
    crash_sweep(&v, 3);
}

/* interval:0 syncs with every write, interval:1h never on its own: both deterministic. */
/*
 * Late syncs: a roll's background sync of the sealed segment completes only once the partition
 * waits for it, after the new segment's own writes (and, with flush=always, syncs).
 */
static void t_crash_sweep_late_roll_sync(void)
{
    /* Two seeds, every other crash point each (a full sweep of one seed catches 11 in 12). */
    const struct variant os = {
        .flush = LOG_FLUSH_OS, .codec = LOG_CODEC_NONE, .stride = 2, .defer = true
    };
    crash_sweep(&os, 10);
    crash_sweep(&os, 12);
    const struct variant always = { .flush = LOG_FLUSH_ALWAYS,
                                    .codec = LOG_CODEC_NONE,
                                    .stride = 3,
                                    .defer = true,
                                    .truncate = true };
    crash_sweep(&always, 11);
}

/* Truncation (whole batches, sometimes back across a roll) at three points of the workload. */
static void t_crash_sweep_truncate(void)
{
    const struct variant v = {
        .flush = LOG_FLUSH_ALWAYS, .codec = LOG_CODEC_NONE, .stride = 1, .truncate = true
    };
    crash_sweep(&v, 9);
}

static void t_crash_sweep_flush_interval(void)
{
    const struct variant eager = {
        .flush = LOG_FLUSH_INTERVAL, .flush_interval_ms = 0, .codec = LOG_CODEC_NONE, .stride = 2
    };
    crash_sweep(&eager, 4);
    const struct variant lazy = { .flush = LOG_FLUSH_INTERVAL,
                                  .flush_interval_ms = 3600000,
                                  .codec = LOG_CODEC_LZ4,
                                  .stride = 2 };
    crash_sweep(&lazy, 5);
}

/*
 * A crash during recovery itself: after a first crash and power loss, the reopen (cutting a
 * torn tail, deleting segments past it, rewriting indexes, syncing, writing the checkpoint)
 * crashes at each of its operations, loses power again, and the real reopen must still keep
 * everything acknowledged before the first crash.
 */
static void t_crash_during_recovery(void)
{
    fx_uring_or_skip();
    fx_quiet();
    const struct variant v = { .flush = LOG_FLUSH_ALWAYS, .codec = LOG_CODEC_NONE, .stride = 1 };
    uint64_t seed = fx_seed(6);
    uint64_t total = workload_op_count(&v, seed);
    uint64_t rng = seed ^ 0x4242;
    for (unsigned round = 0; round < 12; round++) {
        uint64_t first_crash = 1 + fx_below(&rng, total - 1);
        uint64_t power_seed = t_rand(&rng);
        char dir[256], pristine[256];
        t_mkdtemp(dir, sizeof(dir));
        t_mkdtemp(pristine, sizeof(pristine));
        struct fx_model m;
        fx_model_init(&m, seed ^ 0xabcdef, VALUE_BYTES_MAX);
        struct log_io_fault_plan plan = { .crash_after = first_crash };
        struct log_io *io = NULL;
        T_ASSERT_OK(log_io_fault_create(&plan, &io));
        struct run run;
        workload(dir, &v, io, io, &m, seed, &run);
        T_ASSERT_EQ_INT(run.err, RILL_ERR_CRASHED);
        T_ASSERT_OK(log_io_fault_power_loss(io, power_seed));
        io->ops->destroy(io);
        fx_dir_copy(dir, pristine);
        /* Count the recovery's operations, then crash at each. */
        struct log_config cfg = variant_config(&v);
        struct log_partition *part = NULL;
        T_ASSERT_OK(log_io_fault_create(NULL, &io));
        T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
        uint64_t recovery_ops = log_io_fault_op_count(io);
        (void)log_partition_close(part);
        io->ops->destroy(io);
        for (uint64_t second = 1; second <= recovery_ops; second++) {
            fx_context("first crash after operation %llu (power seed %llu), second crash after "
                       "recovery operation %llu of %llu",
                       (unsigned long long)first_crash, (unsigned long long)power_seed,
                       (unsigned long long)second, (unsigned long long)recovery_ops);
            fx_dir_copy(pristine, dir);
            struct log_io_fault_plan again = { .crash_after = second };
            T_ASSERT_OK(log_io_fault_create(&again, &io));
            part = NULL;
            rill_err err = log_partition_open(dir, &cfg, io, &part);
            if (err == RILL_OK) {
                /* Recovery finished within its operations; the close then crashes. */
                (void)log_partition_close(part);
            } else {
                T_ASSERT_EQ_INT(err, RILL_ERR_CRASHED);
            }
            T_ASSERT_OK(log_io_fault_power_loss(io, t_rand(&rng)));
            io->ops->destroy(io);
            uint64_t verify_rng = rng;
            verify_recovered(dir, &v, &m, &run, &verify_rng, second % 2 == 0);
            fx_model_set(&m, 0, run.appended_end, 0);
        }
        fx_model_deinit(&m);
        fx_rmdir(dir);
        fx_rmdir(pristine);
    }
    fx_context_clear();
}

/* ---------------------------------------------------------------------------------------- */
/* Process crash: SIGKILL mid-append, the page cache survives                                 */
/* ---------------------------------------------------------------------------------------- */

#define ROUNDS            8u
#define CHILD_APPENDS_MAX 20000u
#define PIPE_DEADLINE_MS  30000

/* Appends generation gen until killed; reports the start offset, then each acknowledged end. */
static void child_append_loop(const char *dir,
                              const rill_conf_t *conf,
                              bool flush_always,
                              const struct fx_model *m,
                              uint8_t gen,
                              int fd,
                              uint64_t seed)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    rill_log_t *log = NULL;
    if (rill_log_open(dir, conf, &log) != RILL_OK) {
        _exit(2);
    }
    int64_t start = rill_log_end_offset(log);
    if (write(fd, &start, sizeof(start)) != (ssize_t)sizeof(start)) {
        _exit(3);
    }
    uint64_t rng = seed;
    for (unsigned i = 0; i < CHILD_APPENDS_MAX; i++) {
        int64_t end = rill_log_end_offset(log), first = -1;
        uint32_t count = 1 + (uint32_t)fx_below(&rng, BATCH_RECORDS_MAX);
        if (fx_log_append(log, m, gen, end, count, &first) != RILL_OK || first != end) {
            _exit(4);
        }
        int64_t acked = flush_always ? rill_log_durable_offset(log) : rill_log_written_offset(log);
        if (flush_always && acked != end + count) {
            _exit(5);
        }
        if (write(fd, &acked, sizeof(acked)) != (ssize_t)sizeof(acked)) {
            _exit(6);
        }
    }
    _exit(7); /* never killed: the parent did not keep up */
}

/* Reads one int64 from fd within the deadline; false at end of file. */
static bool pipe_read_offset(int fd, int64_t *out)
{
    uint8_t buf[sizeof(int64_t)];
    size_t have = 0;
    while (have < sizeof(buf)) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int ready = poll(&pfd, 1, PIPE_DEADLINE_MS);
        if (ready == 0) {
            T_FAIL("no word from the appending child within %d ms", PIPE_DEADLINE_MS);
        }
        T_ASSERT(ready > 0 || errno == EINTR);
        ssize_t got = read(fd, buf + have, sizeof(buf) - have);
        if (got == 0) {
            T_ASSERT_EQ_INT(have, 0);
            return false;
        }
        T_ASSERT(got > 0 || errno == EINTR);
        have += got > 0 ? (size_t)got : 0;
    }
    memcpy(out, buf, sizeof(*out));
    return true;
}

static void t_process_kill_mid_append(void)
{
    fx_uring_or_skip();
    fx_quiet();
    uint64_t rng = fx_seed(7);
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct fx_model m;
    fx_model_init(&m, fx_seed(8), VALUE_BYTES_MAX);
    int64_t end = 0;
    for (unsigned round = 0; round < ROUNDS; round++) {
        bool flush_always = round % 2 == 0;
        int codec = round % 3 == 2 ? LOG_CODEC_LZ4 : LOG_CODEC_NONE;
        rill_conf_t *conf = fx_conf(SEGMENT_BYTES, INDEX_INTERVAL, codec);
        char errstr[128];
        T_ASSERT_OK(
            rill_conf_set(conf, "flush", flush_always ? "always" : "os", errstr, sizeof(errstr)));
        uint8_t gen = (uint8_t)(round + 1);
        unsigned target = 1 + (unsigned)fx_below(&rng, 200);
        fx_context("round %u: flush %s, codec %d, kill after %u acknowledgements", round,
                   flush_always ? "always" : "os", codec, target);
        int fds[2];
        T_ASSERT(pipe(fds) == 0);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        T_ASSERT(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_append_loop(dir, conf, flush_always, &m, gen, fds[1], t_rand(&rng));
        }
        close(fds[1]);
        int64_t start = -1, acked = -1, value = 0;
        T_ASSERT(pipe_read_offset(fds[0], &start));
        T_ASSERT_EQ_INT(start, end);
        acked = start;
        for (unsigned seen = 0; seen < target; seen++) {
            T_ASSERT(pipe_read_offset(fds[0], &value));
            T_ASSERT(value >= acked);
            acked = value;
        }
        T_ASSERT(kill(pid, SIGKILL) == 0);
        int status = 0;
        T_ASSERT(waitpid(pid, &status, 0) == pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            T_FAIL("appending child ended by itself (status 0x%x)", status);
        }
        /* Acknowledgements already in the pipe were made before the kill. */
        while (pipe_read_offset(fds[0], &value)) {
            T_ASSERT(value >= acked);
            acked = value;
        }
        close(fds[0]);
        rill_log_t *log = NULL;
        rill_err err = rill_log_open(dir, conf, &log);
        if (err != RILL_OK) {
            T_FAIL("reopen after SIGKILL returned %s", rill_err_name(err));
        }
        int64_t found = rill_log_end_offset(log);
        if (found < acked) {
            T_FAIL("acknowledged records lost: end offset %lld, acknowledged up to %lld",
                   (long long)found, (long long)acked);
        }
        /* Everything past start was written by this round's child. */
        fx_model_set(&m, start, found, gen);
        fx_check_log(log, &m, found);
        T_ASSERT_OK(rill_log_close(log));
        rill_conf_destroy(conf);
        end = found;
    }
    fx_dump_ok(dir);
    fx_model_deinit(&m);
    fx_rmdir(dir);
    fx_context_clear();
}

static const struct t_case cases[] = {
    T_CASE(t_crash_sweep_flush_always), T_CASE(t_crash_sweep_lz4),
    T_CASE(t_crash_sweep_flush_os),     T_CASE(t_crash_sweep_flush_interval),
    T_CASE(t_crash_sweep_truncate),     T_CASE(t_crash_sweep_late_roll_sync),
    T_CASE(t_crash_during_recovery),    T_CASE(t_process_kill_mid_append),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
