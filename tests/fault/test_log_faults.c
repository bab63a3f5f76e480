/*
 * test_log_faults.c - I/O errors through the fault backend: EIO and ENOSPC on the Nth write or
 * the Nth sync (for every N a workload reaches), short writes, errors that persist
 * (fail_always_after), and every operation of a segment roll (index files, segment creation,
 * directory sync, checkpoint).
 *
 * The contract checked after the first error (partition.h, rill.h):
 *   - the call that hit it returns the injected error (a short submitted write reads as
 *     RILL_ERR_IO, like io_uring's short cqe->res);
 *   - the partition is offline: offset_durable never covers the failed batch, every later
 *     append, wait, commit, roll, truncate and retention returns an error, and none of them -
 *     nor the close, which returns an error too - issues any further write, sync, create,
 *     rename or unlink (after a failed fsync the data may be gone: never retry, never carry on);
 *   - reopened with the real backend, every acknowledged-durable record is intact; records
 *     past it may or may not be there, but any record present equals what was appended.
 * Operation numbers depend only on the calls made, so the sweep over N runs N = 1, 2, ... until
 * a run finishes without reaching the fault.
 *
 * Zero writes (segment.preallocate.bytes, log/partition.c) carry no data: an error in one only
 * stops preallocation, so a workload whose one injected failure hits a zero write completes,
 * and the log reopens with everything appended. Once failures persist (fail_always_after) the
 * next data write fails as usual.
 */
#include "tests/fault/log_fixture.h"

#include "common/clock.h"

#define SEGMENT_BYTES     (64u * 1024)
#define INDEX_INTERVAL    256u
#define WORKLOAD_BATCHES  45u
#define ROLL_AT_BATCH     12u
#define VALUE_BYTES_MAX   3000u
#define BATCH_RECORDS_MIN 8u
#define BATCH_RECORDS_MAX 24u
#define SWEEP_MAX         400u /* bound on the targeted operations of one workload */
#define ROLLS_MAX         8u

struct fault_run {
    rill_err err;                    /* first error, RILL_OK if none */
    const char *where;               /* the call that returned it */
    int64_t acked;                   /* every record below was acknowledged durable */
    int64_t durable;                 /* offset_durable of the partition when it went offline */
    int64_t appended_end;            /* offsets assigned so far */
    struct log_partition *part;      /* still open after a failure (NULL after open or close) */
    uint64_t roll_ops[ROLLS_MAX][2]; /* operation numbers (first, last] of each roll */
    unsigned roll_count;
};

/* ---------------------------------------------------------------------------------------- */
/* A counting wrapper: how many writes and syncs the workload makes                           */
/* ---------------------------------------------------------------------------------------- */

/* Forwards to the fault backend and counts what its plan would target, as io.h numbers it. */
struct counting_io {
    struct fx_forward_io base;      /* first member */
    uint64_t writes;                /* pwrite, submitted writes */
    uint64_t syncs;                 /* fdatasync, linked and lone submitted syncs, sync_dir */
    bool zero_write[SWEEP_MAX + 1]; /* by write number: a zero write (preallocation) */
};

static struct counting_io *counting_of(struct log_io *io)
{
    return (struct counting_io *)io;
}

static rill_err
counting_pwrite(struct log_io *io, int fd, const void *buf, size_t bytes, uint64_t offset)
{
    counting_of(io)->writes++;
    return fx_inner(io)->ops->pwrite(fx_inner(io), fd, buf, bytes, offset);
}

static rill_err counting_fdatasync(struct log_io *io, int fd)
{
    counting_of(io)->syncs++;
    return fx_inner(io)->ops->fdatasync(fx_inner(io), fd);
}

static rill_err counting_sync_dir(struct log_io *io, const char *path)
{
    counting_of(io)->syncs++;
    return fx_inner(io)->ops->sync_dir(fx_inner(io), path);
}

static rill_err counting_submit_write(struct log_io *io,
                                      int fd,
                                      const void *buf,
                                      uint32_t bytes,
                                      uint64_t offset,
                                      bool sync,
                                      void *owner,
                                      uint64_t cookie)
{
    struct counting_io *cio = counting_of(io);
    rill_err err = cio->base.inner->ops->submit_write(cio->base.inner, fd, buf, bytes, offset, sync,
                                                      owner, cookie);
    if (err != RILL_ERR_FULL) {
        cio->writes++;
        cio->syncs += sync ? 1 : 0;
        /* A batch is never all zeros (its length field is not): only preallocation is. */
        if (cio->writes <= SWEEP_MAX && log_zero_bytes(buf, bytes)) {
            cio->zero_write[cio->writes] = true;
        }
    }
    io->in_flight = cio->base.inner->in_flight;
    return err;
}

static rill_err counting_submit_sync(struct log_io *io, int fd, void *owner, uint64_t cookie)
{
    struct counting_io *cio = counting_of(io);
    rill_err err = cio->base.inner->ops->submit_sync(cio->base.inner, fd, owner, cookie);
    if (err != RILL_ERR_FULL) {
        cio->syncs++;
    }
    io->in_flight = cio->base.inner->in_flight;
    return err;
}

static rill_err counting_reap(
    struct log_io *io, struct log_io_completion *out, unsigned max, bool wait, unsigned *out_count)
{
    struct counting_io *cio = counting_of(io);
    rill_err err = cio->base.inner->ops->reap(cio->base.inner, out, max, wait, out_count);
    io->in_flight = cio->base.inner->in_flight;
    return err;
}

static void counting_destroy(struct log_io *io)
{
    fx_inner(io)->ops->destroy(fx_inner(io));
    free(io);
}

/* A fault backend without faults, wrapped to count; destroy through io->ops->destroy. */
/* The ops table: forwarding, except what this wrapper changes. */
static const struct log_io_ops *counting_ops(void)
{
    static struct log_io_ops ops;
    if (ops.open == NULL) {
        fx_forward_ops_init(&ops);
        ops.pwrite = counting_pwrite;
        ops.fdatasync = counting_fdatasync;
        ops.sync_dir = counting_sync_dir;
        ops.submit_write = counting_submit_write;
        ops.submit_sync = counting_submit_sync;
        ops.reap = counting_reap;
        ops.destroy = counting_destroy;
    }
    return &ops;
}

static struct counting_io *counting_create(void)
{
    struct counting_io *cio = calloc(1, sizeof(*cio));
    T_ASSERT(cio != NULL);
    T_ASSERT_OK(log_io_fault_create(NULL, &cio->base.inner));
    cio->base.io.ops = counting_ops();
    return cio;
}

/* ---------------------------------------------------------------------------------------- */
/* The workload and the checks                                                                */
/* ---------------------------------------------------------------------------------------- */

static struct log_config faults_config(void)
{
    return fx_config(SEGMENT_BYTES, INDEX_INTERVAL, LOG_FLUSH_ALWAYS);
}

static void record_roll(struct fault_run *run, uint64_t before, uint64_t after)
{
    if (run->roll_count < ROLLS_MAX) {
        run->roll_ops[run->roll_count][0] = before;
        run->roll_ops[run->roll_count][1] = after;
        run->roll_count++;
    }
}

/* One group of 1..3 batches and a durable wait; sets run->where on error. */
static rill_err append_group(struct fault_run *run,
                             struct log_io *fault,
                             struct log_batch_builder *bld,
                             const struct fx_model *m,
                             uint64_t *rng)
{
    struct log_partition *part = run->part;
    uint32_t batches = 1 + (uint32_t)fx_below(rng, 3);
    for (uint32_t i = 0; i < batches; i++) {
        uint32_t count =
            BATCH_RECORDS_MIN + (uint32_t)fx_below(rng, BATCH_RECORDS_MAX - BATCH_RECORDS_MIN + 1);
        uint8_t *batch = NULL;
        size_t batch_bytes = 0;
        int64_t assigned = -1;
        fx_batch_build(bld, m, 0, run->appended_end, count, &batch, &batch_bytes);
        uint32_t segments = part->segment_count;
        uint64_t before = log_io_fault_op_count(fault);
        rill_err err = fx_part_append(part, batch, batch_bytes, &assigned);
        if (part->segment_count != segments) {
            record_roll(run, before, log_io_fault_op_count(fault)); /* the append rolled first */
        }
        if (err != RILL_OK) {
            run->where = "append";
            return err;
        }
        T_ASSERT_EQ_INT(assigned, run->appended_end);
        run->appended_end += count;
    }
    rill_err err = log_partition_wait(part, part->offset_next, true);
    if (err != RILL_OK) {
        run->where = "wait";
        return err;
    }
    T_ASSERT(part->offset_durable >= run->appended_end);
    run->acked = run->appended_end;
    return RILL_OK;
}

/*
 * The seeded workload: open, groups of appends each made durable, an explicit roll, more
 * groups (segment.bytes rolls too). Stops at the first error, leaving the partition open in
 * run->part; without an error the partition is closed and the close's result is the outcome.
 */
static void workload(const char *dir,
                     struct log_io *io,
                     struct log_io *fault,
                     const struct fx_model *m,
                     uint64_t seed,
                     struct fault_run *run)
{
    uint64_t rng = seed;
    struct log_config cfg = faults_config();
    struct log_batch_builder bld;
    memset(run, 0, sizeof(*run));
    run->where = "nowhere";
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, cfg.batch_bytes_max));
    rill_err err = log_partition_open(dir, &cfg, io, &run->part);
    if (err != RILL_OK) {
        run->where = "open";
        run->part = NULL;
    }
    for (unsigned i = 0; err == RILL_OK && i < WORKLOAD_BATCHES; i++) {
        if (i == ROLL_AT_BATCH) {
            uint64_t before = log_io_fault_op_count(fault);
            err = log_partition_roll(run->part);
            record_roll(run, before, log_io_fault_op_count(fault));
            if (err != RILL_OK) {
                run->where = "roll";
                break;
            }
        }
        err = append_group(run, fault, &bld, m, &rng);
    }
    if (err == RILL_OK) {
        err = log_partition_close(run->part);
        run->part = NULL;
        run->where = "close";
    }
    log_batch_builder_deinit(&bld);
    run->err = err;
}

static bool error_expected(rill_err err, const struct log_io_fault_plan *plan)
{
    return err == plan->fail_err || (plan->short_write && err == RILL_ERR_IO);
}

/* Every call after the failure fails, and none of them (close included) does any I/O. */
static void check_offline(struct fault_run *run, struct log_io *io, const struct fx_model *m)
{
    struct log_partition *part = run->part;
    if (part->failed == RILL_OK) {
        T_FAIL("%s returned %s but the partition is not offline", run->where,
               rill_err_name(run->err));
    }
    /* A roll inside an append may have made earlier batches of the group durable. */
    if (part->offset_durable < run->acked || part->offset_durable > run->appended_end) {
        T_FAIL("durable offset %lld after the failure, acknowledged %lld, appended %lld",
               (long long)part->offset_durable, (long long)run->acked,
               (long long)run->appended_end);
    }
    run->durable = part->offset_durable;
    uint64_t ops = log_io_fault_op_count(io);
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, part->cfg.batch_bytes_max));
    uint8_t *batch = NULL;
    size_t batch_bytes = 0;
    int64_t assigned = -1;
    fx_batch_build(&bld, m, 0, part->offset_next, 3, &batch, &batch_bytes);
    T_ASSERT(log_partition_append(part, batch, batch_bytes, &assigned) != RILL_OK);
    log_batch_builder_deinit(&bld);
    T_ASSERT(log_partition_wait(part, part->offset_next, true) != RILL_OK);
    T_ASSERT(log_partition_wait(part, part->offset_next, false) != RILL_OK);
    T_ASSERT(log_partition_commit(part, true) != RILL_OK);
    T_ASSERT(log_partition_roll(part) != RILL_OK);
    T_ASSERT(log_partition_truncate(part, part->offset_start) != RILL_OK);
    size_t deleted = 0;
    T_ASSERT(log_partition_retention(part, rill_clock_wall_ms(), &deleted) != RILL_OK);
    if (log_io_fault_op_count(io) != ops) {
        T_FAIL("the offline partition issued %llu more I/O operations",
               (unsigned long long)(log_io_fault_op_count(io) - ops));
    }
    T_ASSERT_EQ_INT(part->offset_durable, run->durable);
    T_ASSERT(part->failed != RILL_OK);
    rill_err err = log_partition_close(part);
    run->part = NULL;
    if (err == RILL_OK) {
        T_FAIL("close of an offline partition returned RILL_OK");
    }
    if (log_io_fault_op_count(io) != ops) {
        T_FAIL("close of the offline partition issued %llu I/O operations",
               (unsigned long long)(log_io_fault_op_count(io) - ops));
    }
}

/* The real backend finds every acknowledged record, nothing foreign, and takes appends. */
static void verify_reopen(const char *dir, struct fx_model *m, const struct fault_run *run)
{
    rill_conf_t *conf = fx_conf(SEGMENT_BYTES, INDEX_INTERVAL, LOG_CODEC_NONE);
    rill_log_t *log = NULL;
    rill_err err = rill_log_open(dir, conf, &log);
    if (err != RILL_OK) {
        T_FAIL("reopen after the fault returned %s", rill_err_name(err));
    }
    int64_t end = rill_log_end_offset(log);
    if (end < run->acked || end < run->durable || end > run->appended_end) {
        T_FAIL("end offset %lld outside [acknowledged %lld / reported durable %lld, appended "
               "%lld]",
               (long long)end, (long long)run->acked, (long long)run->durable,
               (long long)run->appended_end);
    }
    fx_model_set(m, 0, end, 0);
    fx_check_log(log, m, end);
    int64_t first = -1;
    fx_model_set(m, end, end + 2, 1);
    T_ASSERT_OK(fx_log_append(log, m, 1, end, 2, &first));
    T_ASSERT_EQ_INT(first, end);
    T_ASSERT_EQ_INT(fx_check_from(log, m, end), end + 2);
    T_ASSERT_OK(rill_log_close(log));
    rill_conf_destroy(conf);
}

/* One run with plan; returns whether the fault was reached. */
static bool fault_once(const char *dir, const struct log_io_fault_plan *plan, uint64_t seed)
{
    fx_dir_clear(dir);
    struct fx_model m;
    fx_model_init(&m, seed ^ 0x1234, VALUE_BYTES_MAX);
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(plan, &io));
    struct fault_run run;
    workload(dir, io, io, &m, seed, &run);
    if (run.err == RILL_OK) {
        /* Closed cleanly (the fault was not reached, or hit a zero write): all of it is there. */
        io->ops->destroy(io);
        T_ASSERT_EQ_INT(run.acked, run.appended_end);
        verify_reopen(dir, &m, &run);
        fx_model_deinit(&m);
        return false;
    }
    if (!error_expected(run.err, plan)) {
        T_FAIL("%s returned %s, injected %s", run.where, rill_err_name(run.err),
               rill_err_name(plan->fail_err));
    }
    if (run.part != NULL) {
        check_offline(&run, io, &m);
    }
    /*
     * What the partition reported durable must survive losing every write no successful sync
     * covered: a batch whose write or sync failed is still uncovered and disappears here.
     * Every third run keeps the page cache instead (then more may survive).
     */
    if (plan->fail_at % 3 != 0) {
        T_ASSERT_OK(log_io_fault_power_loss(io, plan->fail_at % 3 == 1 ? 0 : seed));
    }
    io->ops->destroy(io);
    verify_reopen(dir, &m, &run);
    fx_model_deinit(&m);
    return true;
}

/* The fault-free workload: its targeted operation counts (and its rolls). */
static void
dry_run(const char *dir, uint64_t seed, struct counting_io **out_cio, struct fault_run *run)
{
    fx_dir_clear(dir);
    struct fx_model m;
    fx_model_init(&m, seed ^ 0x1234, VALUE_BYTES_MAX);
    struct counting_io *cio = counting_create();
    workload(dir, &cio->base.io, cio->base.inner, &m, seed, run);
    T_ASSERT_OK(run->err);
    fx_model_deinit(&m);
    *out_cio = cio;
}

/*
 * Fails the Nth targeted operation for every N the workload reaches (the dry run counts them):
 * each must surface as an error - a swallowed one would be silent data loss - and one past the
 * count must not.
 */
static void sweep(const char *dir, struct log_io_fault_plan plan, uint64_t seed)
{
    struct counting_io *cio = NULL;
    struct fault_run dry;
    dry_run(dir, seed, &cio, &dry);
    uint64_t total = plan.fail_target == LOG_IO_FAULT_WRITE ? cio->writes : cio->syncs;
    bool zero_write[SWEEP_MAX + 1];
    memcpy(zero_write, cio->zero_write, sizeof(zero_write));
    cio->base.io.ops->destroy(&cio->base.io);
    unsigned zero_writes_hit = 0;
    /* A checkpoint at open, ~20 groups, index files and checkpoints of the rolls, the close. */
    T_ASSERT(total >= 20 && total < SWEEP_MAX);
    for (plan.fail_at = 1; plan.fail_at <= total + 1; plan.fail_at++) {
        fx_context("fail %s #%llu of %llu with %s%s%s",
                   plan.fail_target == LOG_IO_FAULT_WRITE ? "write" : "sync",
                   (unsigned long long)plan.fail_at, (unsigned long long)total,
                   rill_err_name(plan.fail_err), plan.short_write ? ", short write" : "",
                   plan.fail_always_after ? ", failing ever after" : "");
        bool failed = fault_once(dir, &plan, seed);
        bool absorbed = plan.fail_target == LOG_IO_FAULT_WRITE && plan.fail_at <= total &&
                        zero_write[plan.fail_at] && !plan.fail_always_after;
        if (absorbed) {
            T_ASSERT(!failed); /* preallocation stops; nothing is lost or refused */
            zero_writes_hit++;
        } else if (plan.fail_at <= total && !failed) {
            T_FAIL("the injected error was swallowed: the workload completed without one");
        }
        T_ASSERT(plan.fail_at <= total || !failed);
    }
    /* The default configuration preallocates: the sweep met zero writes. */
    T_ASSERT(zero_writes_hit > 0 || plan.fail_target != LOG_IO_FAULT_WRITE ||
             plan.fail_always_after);
}

static void t_write_errors(void)
{
    fx_uring_or_skip();
    fx_quiet();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    uint64_t seed = fx_seed(1);
    static const rill_err errs[] = { RILL_ERR_IO, RILL_ERR_NOSPC };
    for (unsigned variant = 0; variant < 8; variant++) {
        struct log_io_fault_plan plan = {
            .fail_target = LOG_IO_FAULT_WRITE,
            .fail_err = errs[variant % 2],
            .short_write = (variant / 2) % 2 == 1,
            .fail_always_after = variant / 4 == 1,
        };
        sweep(dir, plan, seed + variant);
    }
    fx_context_clear();
    fx_rmdir(dir);
}

static void t_sync_errors(void)
{
    fx_uring_or_skip();
    fx_quiet();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    uint64_t seed = fx_seed(2);
    static const rill_err errs[] = { RILL_ERR_IO, RILL_ERR_NOSPC };
    for (unsigned variant = 0; variant < 4; variant++) {
        struct log_io_fault_plan plan = {
            .fail_target = LOG_IO_FAULT_SYNC,
            .fail_err = errs[variant % 2],
            .fail_always_after = variant / 2 == 1,
        };
        sweep(dir, plan, seed + variant);
    }
    fx_context_clear();
    fx_rmdir(dir);
}

/*
 * Every mutating operation of every roll (the explicit one and those segment.bytes causes):
 * writing the sealed segment's index files, creating the next segment, syncing the directory,
 * submitting the sealed segment's background sync. (The checkpoint is written when that sync
 * completes, so its operations fall outside the roll's span and the other sweeps cover them.)
 * Each failure takes the partition offline with the error.
 */
static void t_roll_errors(void)
{
    fx_uring_or_skip();
    fx_quiet();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    uint64_t seed = fx_seed(3);
    struct counting_io *cio = NULL;
    struct fault_run dry;
    dry_run(dir, seed, &cio, &dry);
    cio->base.io.ops->destroy(&cio->base.io);
    T_ASSERT(dry.roll_count >= 3);
    unsigned failures = 0;
    for (unsigned r = 0; r < dry.roll_count; r++) {
        /* A roll does at least: 2 index files (open, write), create, sync_dir, sync. */
        T_ASSERT(dry.roll_ops[r][1] - dry.roll_ops[r][0] >= 7);
        for (uint64_t op = dry.roll_ops[r][0] + 1; op <= dry.roll_ops[r][1]; op++) {
            struct log_io_fault_plan plan = {
                .fail_target = LOG_IO_FAULT_ANY,
                .fail_at = op,
                .fail_err = op % 2 == 0 ? RILL_ERR_IO : RILL_ERR_NOSPC,
            };
            fx_context("roll %u: fail operation %llu (roll spans %llu..%llu)", r,
                       (unsigned long long)op, (unsigned long long)dry.roll_ops[r][0] + 1,
                       (unsigned long long)dry.roll_ops[r][1]);
            T_ASSERT(fault_once(dir, &plan, seed));
            failures++;
        }
    }
    T_ASSERT(failures >= 21);
    fx_context_clear();
    fx_rmdir(dir);
}

static const struct t_case cases[] = {
    T_CASE(t_write_errors),
    T_CASE(t_sync_errors),
    T_CASE(t_roll_errors),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
