/*
 * test_log_prealloc.c - segment.preallocate.bytes (log/partition.c): the active segment's file
 * is written with zeros ahead of its data end.
 *
 *   - the data end (bytes, bytes_written) and the file size (file_bytes) are tracked apart, the
 *     file really holds zeros past the data, and reads return exactly the batches appended;
 *   - a roll cuts the sealed segment to its data end; a clean close does too, and the next open
 *     takes the recovery fast path (index files, no scan of the segment);
 *   - a crash (a child that exits without closing, with and without a simulated power loss)
 *     leaves a zero tail that the next open cuts like a torn tail, keeping every acknowledged
 *     record; rill_log_dump reports the zero tail without an error;
 *   - a zero tail in a sealed segment whose cut was lost drops the segments after it, which
 *     the durable end never passed;
 *   - an error in a zero write (EIO, ENOSPC, short) stops preallocation and loses nothing;
 *   - the setting is validated and only flush=always gets it.
 * The crash and fault sweeps (tests/fault) run with the default setting, so they cover
 * preallocation too.
 */
#include <sys/stat.h>

#include "common/conf.h"
#include "tests/fault/log_fixture.h"

#define SEGMENT_BYTES  (1u << 20)
#define WINDOW_BYTES   (256u * 1024)
#define INDEX_INTERVAL 4096u

static struct log_config prealloc_config(uint64_t window)
{
    struct log_config cfg = fx_config(SEGMENT_BYTES, INDEX_INTERVAL, LOG_FLUSH_ALWAYS);
    cfg.preallocate_bytes = window;
    return cfg;
}

static struct log_segment *active(struct log_partition *part)
{
    return part->segments[part->segment_count - 1];
}

static uint64_t segment_file_size(const char *dir, int64_t offset_base)
{
    char path[RILL_PATH_BYTES_MAX];
    T_ASSERT_OK(log_segment_path(dir, offset_base, ".log", path, sizeof(path)));
    return fx_file_bytes(path);
}

/* Whether the segment file holds only zeros in [from, to). */
static bool segment_zeros(const char *dir, int64_t offset_base, uint64_t from, uint64_t to)
{
    char path[RILL_PATH_BYTES_MAX];
    T_ASSERT_OK(log_segment_path(dir, offset_base, ".log", path, sizeof(path)));
    size_t bytes = 0;
    uint8_t *buf = fx_file_read(path, &bytes);
    T_ASSERT(to <= bytes);
    bool zero = log_zero_bytes(buf + from, (size_t)(to - from));
    free(buf);
    return zero;
}

/* Appends `batches` durable batches of 1..20 records (generation 0) at the partition's end. */
static void
append_durable(struct log_partition *part, struct fx_model *m, uint64_t *rng, unsigned batches)
{
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, RILL_BATCH_BYTES_DEFAULT));
    for (unsigned i = 0; i < batches; i++) {
        uint32_t count = 1 + (uint32_t)fx_below(rng, 20);
        int64_t base = part->offset_next, got = -1;
        uint8_t *batch = NULL;
        size_t bytes = 0;
        fx_batch_build(&bld, m, 0, base, count, &batch, &bytes);
        T_ASSERT_OK(fx_part_append(part, batch, bytes, &got));
        T_ASSERT_EQ_INT(got, base);
        fx_model_set(m, base, base + count, 0);
        T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    }
    log_batch_builder_deinit(&bld);
}

/* Reads the whole partition in small pieces: only valid, contiguous batches, ending at the end. */
static void check_reads(struct log_partition *part)
{
    int64_t offset = part->offset_start;
    while (offset < part->offset_written) {
        uint8_t *buf = NULL;
        size_t bytes = 0;
        T_ASSERT_OK(log_partition_read(part, offset, 3000, &buf, &bytes));
        T_ASSERT(bytes > 0);
        for (size_t position = 0; position < bytes;) {
            struct log_batch_header hdr;
            T_ASSERT(bytes - position >= LOG_BATCH_HEADER_BYTES);
            T_ASSERT_OK(log_batch_header_decode(buf + position, bytes - position, &hdr));
            uint32_t total = log_batch_total_bytes(&hdr);
            T_ASSERT(total <= bytes - position);
            T_ASSERT_OK(log_batch_validate(buf + position, total, false, &hdr));
            T_ASSERT_EQ_INT(hdr.offset_base, offset);
            offset = log_batch_offset_last(&hdr) + 1;
            position += total;
        }
        free(buf);
    }
    T_ASSERT_EQ_INT(offset, part->offset_written);
}

static struct log_io *fault_io(void)
{
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(NULL, &io));
    return io;
}

/* The public API finds exactly [0, end) with the model's content and takes more appends. */
static void verify_public(const char *dir, struct fx_model *m, int64_t end)
{
    rill_conf_t *conf = fx_conf(SEGMENT_BYTES, INDEX_INTERVAL, LOG_CODEC_NONE);
    rill_log_t *log = NULL;
    T_ASSERT_OK(rill_log_open(dir, conf, &log));
    T_ASSERT_EQ_INT(rill_log_end_offset(log), end);
    fx_check_log(log, m, end);
    int64_t first = -1;
    fx_model_set(m, end, end + 3, 1);
    T_ASSERT_OK(fx_log_append(log, m, 1, end, 3, &first));
    T_ASSERT_EQ_INT(first, end);
    T_ASSERT_OK(rill_log_close(log));
    rill_conf_destroy(conf);
}

/* ---------------------------------------------------------------------------------------- */

static void t_data_end_and_file_size(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(1), 300);
    uint64_t rng = fx_seed(2);
    for (unsigned round = 0; round < 40; round++) {
        append_durable(part, &m, &rng, 5);
        struct log_segment *seg = active(part);
        T_ASSERT_EQ_INT(seg->bytes_written, seg->bytes);
        T_ASSERT(seg->file_bytes > seg->bytes);
        /* Never more than the window (plus one piece) ahead, and at least half of it. */
        T_ASSERT(seg->file_bytes <= seg->bytes + WINDOW_BYTES);
        T_ASSERT(seg->file_bytes - seg->bytes >= WINDOW_BYTES / 2);
        T_ASSERT_EQ_INT(segment_file_size(dir, seg->offset_base), seg->file_bytes);
        T_ASSERT(segment_zeros(dir, seg->offset_base, seg->bytes, seg->file_bytes));
    }
    T_ASSERT_EQ_INT(part->segment_count, 1);
    check_reads(part);
    /* Reading at the end finds nothing, not zeros. */
    int64_t end = part->offset_next;
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    verify_public(dir, &m, end);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

static void t_off_keeps_file_exact(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(0);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(3), 300);
    uint64_t rng = fx_seed(4);
    append_durable(part, &m, &rng, 30);
    struct log_segment *seg = active(part);
    T_ASSERT_EQ_INT(seg->file_bytes, seg->bytes);
    T_ASSERT_EQ_INT(segment_file_size(dir, seg->offset_base), seg->bytes);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

/* As rilld configures it (preallocate_after_bytes = the window): a quiet partition writes no
 * zeros at all; once its active segment holds a window of data, the window follows. */
static void t_quiet_partition_no_zeros(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    struct log_config from_conf;
    log_config_from_conf(&from_conf, NULL);
    T_ASSERT_EQ_INT(from_conf.preallocate_after_bytes, from_conf.preallocate_bytes);
    cfg.preallocate_after_bytes = WINDOW_BYTES;
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(5), 300);
    uint64_t rng = fx_seed(6);
    bool zeros_seen = false;
    for (unsigned round = 0; round < 400 && !zeros_seen; round++) {
        append_durable(part, &m, &rng, 1);
        struct log_segment *seg = active(part);
        if (seg->bytes < WINDOW_BYTES) {
            /* Less than a window of data so far: the file is exact. */
            T_ASSERT_EQ_INT(seg->file_bytes, seg->bytes);
            T_ASSERT_EQ_INT(segment_file_size(dir, seg->offset_base), seg->bytes);
        }
        zeros_seen = seg->file_bytes > seg->bytes;
    }
    T_ASSERT(zeros_seen);
    T_ASSERT(active(part)->bytes >= WINDOW_BYTES);
    check_reads(part);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

/* Large writes (the staging buffer fills between syncs) get no zeros: they would halve the
 * bandwidth for few syncs. Small ones afterwards get them again. */
static void t_large_writes_skip_zeros(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    cfg.segment_bytes = 64u << 20;
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(16), 4000);
    struct log_batch_builder bld;
    T_ASSERT_OK(log_batch_builder_init(&bld, LOG_CODEC_NONE, RILL_BATCH_BYTES_DEFAULT));
    for (unsigned i = 0; i < 40; i++) {
        /* 16 batches staged (~250 KB), then one write with its sync. */
        int64_t base = part->offset_next;
        for (unsigned b = 0; b < 16; b++) {
            uint8_t *batch = NULL;
            size_t bytes = 0;
            int64_t got = -1;
            fx_batch_build(&bld, &m, 0, part->offset_next, 64, &batch, &bytes);
            T_ASSERT_OK(fx_part_append(part, batch, bytes, &got));
        }
        fx_model_set(&m, base, part->offset_next, 0);
        T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
    }
    T_ASSERT(part->write_bytes_avg > 128u * 1024);
    struct log_segment *seg = active(part);
    T_ASSERT_EQ_INT(seg->file_bytes, seg->bytes); /* the data ran past the zeros and stayed */
    /* Small writes again: the average falls and zeros come back. */
    uint64_t rng = fx_seed(17);
    append_durable(part, &m, &rng, 60);
    T_ASSERT(seg->file_bytes > seg->bytes);
    check_reads(part);
    int64_t end = part->offset_next;
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    log_batch_builder_deinit(&bld);
    verify_public(dir, &m, end);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

/* A roll cuts the sealed segment to its data end; the new segment is preallocated at once. */
static void t_roll_cuts_sealed_segment(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    cfg.segment_bytes = 128u * 1024; /* rolls by size too, with zeros up to segment.bytes */
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(5), 600);
    uint64_t rng = fx_seed(6);
    append_durable(part, &m, &rng, 20);
    T_ASSERT_OK(log_partition_roll(part));
    append_durable(part, &m, &rng, 300);
    T_ASSERT(part->segment_count >= 3);
    for (uint32_t i = 0; i + 1 < part->segment_count; i++) {
        struct log_segment *seg = part->segments[i];
        T_ASSERT(seg->sealed);
        T_ASSERT_EQ_INT(seg->file_bytes, seg->bytes);
        T_ASSERT_EQ_INT(segment_file_size(dir, seg->offset_base), seg->bytes);
    }
    struct log_segment *last = active(part);
    T_ASSERT(last->file_bytes > last->bytes);
    T_ASSERT(last->file_bytes <= cfg.segment_bytes); /* never zeros past where it rolls */
    check_reads(part);
    int64_t end = part->offset_next;
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    verify_public(dir, &m, end);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

/* Counts the bytes read through the io: the fast path reads index files, not the segment. */
struct read_count_io {
    struct fx_forward_io base; /* first member */
    uint64_t read_bytes;
};

static rill_err read_count_pread(
    struct log_io *io, int fd, void *buf, size_t bytes, uint64_t offset, size_t *out_bytes)
{
    rill_err err = fx_inner(io)->ops->pread(fx_inner(io), fd, buf, bytes, offset, out_bytes);
    ((struct read_count_io *)io)->read_bytes += *out_bytes;
    return err;
}

static void read_count_destroy(struct log_io *io)
{
    fx_inner(io)->ops->destroy(fx_inner(io));
    free(io);
}

static struct read_count_io *read_count_create(void)
{
    static struct log_io_ops ops;
    if (ops.open == NULL) {
        fx_forward_ops_init(&ops);
        ops.pread = read_count_pread;
        ops.destroy = read_count_destroy;
    }
    struct read_count_io *rio = calloc(1, sizeof(*rio));
    T_ASSERT(rio != NULL);
    rio->base.inner = fault_io();
    rio->base.io.ops = &ops;
    return rio;
}

static void t_clean_close_fast_path(void)
{
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(7), 1000);
    uint64_t rng = fx_seed(8);
    append_durable(part, &m, &rng, 200);
    int64_t end = part->offset_next;
    uint64_t data_bytes = active(part)->bytes;
    T_ASSERT(data_bytes > 100000);
    T_ASSERT(active(part)->file_bytes > data_bytes);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    T_ASSERT_EQ_INT(segment_file_size(dir, 0), data_bytes);
    struct log_io *check_io = fault_io();
    struct log_checkpoint ckpt;
    T_ASSERT_OK(log_checkpoint_read(check_io, dir, &ckpt));
    check_io->ops->destroy(check_io);
    T_ASSERT_EQ_INT(ckpt.position, data_bytes);
    T_ASSERT_EQ_INT(ckpt.offset_next, end);
    struct read_count_io *rio = read_count_create();
    T_ASSERT_OK(log_partition_open(dir, &cfg, &rio->base.io, &part));
    T_ASSERT_EQ_INT(part->offset_next, end);
    /* The index files (a few KB), not the ~100+ KB segment: the checkpoint matched exactly. */
    T_ASSERT(rio->read_bytes < data_bytes / 4);
    T_ASSERT_OK(log_partition_close(part));
    rio->base.io.ops->destroy(&rio->base.io);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

/* ---------------------------------------------------------------------------------------- */
/* Crashes                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static void dump_collect(const rill_dump_item_t *item, void *opaque)
{
    unsigned *zero_tails = opaque;
    if (item->err != RILL_OK) {
        fprintf(stderr, "  dump: %s at %llu: %s\n", item->path, (unsigned long long)item->position,
                item->message);
    }
    if (item->kind == RILL_DUMP_PROBLEM && item->err == RILL_OK &&
        strstr(item->message, "zero tail") != NULL) {
        (*zero_tails)++;
    }
}

/*
 * A child appends durable batches (rolling once) and exits without closing; with power_loss
 * the fault backend first undoes every write no sync covered (zero writes included). The
 * acknowledged end comes back through a pipe. The next open cuts the zero tail and keeps all.
 */
static void crash_case(bool power_loss, bool uring)
{
    if (uring) {
        fx_uring_or_skip();
    }
    fx_quiet();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct fx_model m;
    fx_model_init(&m, fx_seed(9), 800);
    int pipe_fds[2];
    T_ASSERT(pipe(pipe_fds) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        struct log_io *io = NULL;
        if (uring) {
            T_ASSERT_OK(log_io_uring_create(64, &io));
        } else {
            io = fault_io();
        }
        struct log_config cfg = prealloc_config(WINDOW_BYTES);
        struct log_partition *part = NULL;
        T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
        uint64_t rng = fx_seed(10);
        append_durable(part, &m, &rng, 40);
        T_ASSERT_OK(log_partition_roll(part));
        append_durable(part, &m, &rng, 60);
        T_ASSERT(active(part)->file_bytes > active(part)->bytes);
        int64_t acked = part->offset_durable;
        if (power_loss) {
            T_ASSERT_OK(log_io_fault_power_loss(io, fx_seed(11)));
        }
        T_ASSERT(write(pipe_fds[1], &acked, sizeof(acked)) == sizeof(acked));
        _exit(0); /* no close: the zeros stay past the data */
    }
    close(pipe_fds[1]);
    int64_t acked = -1;
    T_ASSERT(read(pipe_fds[0], &acked, sizeof(acked)) == sizeof(acked));
    close(pipe_fds[0]);
    int status = 0;
    T_ASSERT(waitpid(pid, &status, 0) == pid);
    T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    T_ASSERT(acked > 0);
    /* Offline inspection sees the zero tail, and calls it no damage. (After a power loss the
     * unsynced index files of the roll are damaged too: recovery rebuilds them.) */
    if (!power_loss) {
        unsigned zero_tails = 0;
        T_ASSERT_OK(rill_log_dump(dir, dump_collect, &zero_tails));
        T_ASSERT_EQ_INT(zero_tails, 1);
    }
    /* Open: the tail is cut, every acknowledged record is there. */
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    T_ASSERT_EQ_INT(part->segment_count, 2);
    T_ASSERT(part->offset_next >= acked);
    struct log_segment *seg = active(part);
    T_ASSERT_EQ_INT(seg->file_bytes, seg->bytes);
    T_ASSERT_EQ_INT(segment_file_size(dir, seg->offset_base), seg->bytes);
    T_ASSERT_EQ_INT(segment_file_size(dir, 0), part->segments[0]->bytes);
    check_reads(part);
    int64_t end = part->offset_next;
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    fx_model_set(&m, 0, end, 0);
    verify_public(dir, &m, end);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

static void t_crash_zero_tail(void)
{
    crash_case(false, false);
}

static void t_crash_zero_tail_uring(void)
{
    crash_case(false, true);
}

static void t_power_loss_zero_tail(void)
{
    crash_case(true, false);
}

/*
 * A roll's cut of the sealed segment was lost with the power before its sync: that segment
 * ends in zeros and the next one exists. The durable end never passed the sealed segment (its
 * sync did not complete), so the open drops the later segment and keeps the sealed one's data.
 */
static void t_lost_cut_of_sealed_segment(void)
{
    fx_quiet();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_io *io = fault_io();
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    struct fx_model m;
    fx_model_init(&m, fx_seed(12), 300);
    uint64_t rng = fx_seed(13);
    append_durable(part, &m, &rng, 30);
    int64_t sealed_end = part->offset_next;
    uint64_t sealed_bytes = active(part)->bytes;
    T_ASSERT_OK(log_partition_roll(part));
    append_durable(part, &m, &rng, 10);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    /* The state the lost cut leaves: zeros past the sealed data, the checkpoint of before the
     * roll's sync (at the sealed segment's start, as the previous roll or the open wrote it). */
    char path[RILL_PATH_BYTES_MAX];
    T_ASSERT_OK(log_segment_path(dir, 0, ".log", path, sizeof(path)));
    fx_file_truncate(path, sealed_bytes + 100000);
    struct log_checkpoint ckpt = { 0, 0, 0 };
    uint8_t buf[LOG_CHECKPOINT_BYTES];
    log_checkpoint_encode(&ckpt, buf);
    fx_path(path, sizeof(path), dir, LOG_CHECKPOINT_FILE);
    fx_file_write(path, buf, sizeof(buf));
    io = fault_io();
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    T_ASSERT_EQ_INT(part->segment_count, 1);
    T_ASSERT_EQ_INT(part->offset_next, sealed_end);
    T_ASSERT_EQ_INT(segment_file_size(dir, 0), sealed_bytes);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    T_ASSERT_EQ_INT(fx_dir_count(dir, ".log"), 1);
    verify_public(dir, &m, sealed_end);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

/* ---------------------------------------------------------------------------------------- */
/* Errors in zero writes                                                                      */
/* ---------------------------------------------------------------------------------------- */

/*
 * Fails the first zero write (the first write after open: with a window to fill, the first
 * commit writes zeros before the staged data) with err, optionally short; then appends go on,
 * preallocation stays off, and close and reopen find everything.
 */
static void zero_write_error_case(rill_err err, bool short_write)
{
    fx_quiet();
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    struct log_config cfg = prealloc_config(WINDOW_BYTES);
    /* The operations an open of an empty directory makes, counted on a scratch directory. */
    char scratch[256];
    t_mkdtemp(scratch, sizeof(scratch));
    struct log_io *io = fault_io();
    struct log_partition *part = NULL;
    T_ASSERT_OK(log_partition_open(scratch, &cfg, io, &part));
    uint64_t open_ops = log_io_fault_op_count(io);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    fx_rmdir(scratch);

    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_ANY,
                                      .fail_at = open_ops + 1,
                                      .fail_err = err,
                                      .short_write = short_write };
    T_ASSERT_OK(log_io_fault_create(&plan, &io));
    T_ASSERT_OK(log_partition_open(dir, &cfg, io, &part));
    T_ASSERT_EQ_INT(log_io_fault_op_count(io), open_ops);
    struct fx_model m;
    fx_model_init(&m, fx_seed(14), 300);
    uint64_t rng = fx_seed(15);
    append_durable(part, &m, &rng, 1);
    T_ASSERT(part->prealloc_stopped);
    T_ASSERT_EQ_INT(part->failed, RILL_OK);
    append_durable(part, &m, &rng, 30);
    T_ASSERT_EQ_INT(part->failed, RILL_OK);
    T_ASSERT(!part->prealloc_in_flight);
    check_reads(part);
    int64_t end = part->offset_next;
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    /* Whatever the failed write left past the data was cut at close. */
    char path[RILL_PATH_BYTES_MAX];
    T_ASSERT_OK(log_segment_path(dir, 0, ".log", path, sizeof(path)));
    struct log_io *check_io = fault_io();
    struct log_checkpoint ckpt;
    T_ASSERT_OK(log_checkpoint_read(check_io, dir, &ckpt));
    check_io->ops->destroy(check_io);
    T_ASSERT_EQ_INT(fx_file_bytes(path), ckpt.position);
    verify_public(dir, &m, end);
    fx_model_deinit(&m);
    fx_rmdir(dir);
}

static void t_zero_write_eio(void)
{
    zero_write_error_case(RILL_ERR_IO, false);
}

static void t_zero_write_enospc(void)
{
    zero_write_error_case(RILL_ERR_NOSPC, false);
}

static void t_zero_write_short(void)
{
    zero_write_error_case(RILL_ERR_IO, true);
}

/* ---------------------------------------------------------------------------------------- */
/* The setting                                                                                */
/* ---------------------------------------------------------------------------------------- */

static void t_setting(void)
{
    rill_conf_t *conf = rill_conf_create();
    T_ASSERT(conf != NULL);
    char errstr[128];
    struct log_config cfg;
    log_config_from_conf(&cfg, conf);
    T_ASSERT_EQ_INT(cfg.preallocate_bytes, 8u << 20); /* the default */
    static const char *const refused[] = { "-1", "2g", "1025m", "x", "" };
    for (size_t i = 0; i < T_COUNT(refused); i++) {
        T_ASSERT(rill_conf_set(conf, "segment.preallocate.bytes", refused[i], errstr,
                               sizeof(errstr)) != RILL_OK);
    }
    T_ASSERT_OK(rill_conf_set(conf, "segment.preallocate.bytes", "0", errstr, sizeof(errstr)));
    log_config_from_conf(&cfg, conf);
    T_ASSERT_EQ_INT(cfg.preallocate_bytes, 0);
    T_ASSERT_OK(rill_conf_set(conf, "segment.preallocate.bytes", "1g", errstr, sizeof(errstr)));
    log_config_from_conf(&cfg, conf);
    T_ASSERT_EQ_INT(cfg.preallocate_bytes, 1u << 30);
    /* Other flush policies sync rarely: no preallocation for them. */
    T_ASSERT_OK(rill_conf_set(conf, "flush", "os", errstr, sizeof(errstr)));
    log_config_from_conf(&cfg, conf);
    T_ASSERT_EQ_INT(cfg.preallocate_bytes, 0);
    T_ASSERT_OK(rill_conf_set(conf, "flush", "interval:100", errstr, sizeof(errstr)));
    log_config_from_conf(&cfg, conf);
    T_ASSERT_EQ_INT(cfg.preallocate_bytes, 0);
    rill_conf_destroy(conf);
}

static const struct t_case cases[] = {
    T_CASE(t_data_end_and_file_size),   T_CASE(t_off_keeps_file_exact),
    T_CASE(t_quiet_partition_no_zeros), T_CASE(t_large_writes_skip_zeros),
    T_CASE(t_roll_cuts_sealed_segment), T_CASE(t_clean_close_fast_path),
    T_CASE(t_crash_zero_tail),          T_CASE(t_crash_zero_tail_uring),
    T_CASE(t_power_loss_zero_tail),     T_CASE(t_lost_cut_of_sealed_segment),
    T_CASE(t_zero_write_eio),           T_CASE(t_zero_write_enospc),
    T_CASE(t_zero_write_short),         T_CASE(t_setting),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
