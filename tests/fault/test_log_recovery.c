/*
 * test_log_recovery.c - what recovery promises (log/recovery.c), checked on logs damaged on
 * purpose:
 *   - a torn or corrupt tail past the recovery checkpoint is cut at the last complete, valid
 *     batch; everything before it reads back exactly and appends continue at that offset;
 *   - damage below the checkpoint refuses the open with RILL_ERR_CORRUPT and leaves every file
 *     as it was;
 *   - missing or damaged index files are rebuilt (lookups stay right, the files are rewritten);
 *   - a damaged checkpoint falls back to full validation;
 *   - offset and time lookups are right at and between sparse index entries.
 *
 * A "crash state" log is made in two phases: appends then a clean close (checkpoint at K
 * batches), then more durable appends in a forked child that exits without closing, so the
 * checkpoint stays at K and the later batches form a tail beyond it. The child reports where
 * each batch landed through shared memory.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "tests/fault/log_fixture.h"

#define BATCHES_MAX          4096u
#define SEGMENT_SMALL_BYTES  (64u * 1024)
#define SEGMENT_LARGE_BYTES  (1024ull * 1024 * 1024)
#define INDEX_INTERVAL_BYTES 256u

struct batch_pos {
    int64_t segment_base; /* segment the batch landed in */
    uint64_t position;    /* its byte position there */
    uint32_t bytes;
    int64_t offset_base;
    int64_t offset_end; /* one past its last offset */
};

/* Shared with the child that writes the tail. */
struct batch_table {
    uint32_t count;
    struct batch_pos batches[BATCHES_MAX];
};

struct test_log {
    char dir[256];
    char work[256]; /* damaged copies are made here */
    struct fx_model m;
    struct batch_table *table;
    uint32_t ckpt_batches; /* batches [0, ckpt_batches) lie below the checkpoint */
    int64_t ckpt_offset;
    uint64_t ckpt_position;
    int64_t ckpt_segment;
    int64_t end;
    rill_conf_t *conf;
    uint64_t rng;
};

static struct batch_table *table_create(void)
{
    void *mem = mmap(NULL, sizeof(struct batch_table), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    T_ASSERT(mem != MAP_FAILED);
    memset(mem, 0, sizeof(struct batch_table));
    return mem;
}

/*
 * Opens a partition over dir with the real backend and appends batch_count durable batches of
 * 1..records_max records (the last one of last_records when non-zero), recording each in
 * table. Returns the open partition and its io for the caller to close or abandon.
 */
static struct log_partition *write_batches(const char *dir,
                                           const struct log_config *cfg,
                                           const struct fx_model *m,
                                           uint64_t *rng,
                                           uint32_t batch_count,
                                           uint32_t records_max,
                                           uint32_t last_records,
                                           struct batch_table *table,
                                           struct log_io **out_io)
{
    struct log_io *io = NULL;
    struct log_partition *part = NULL;
    struct log_batch_builder bld;
    T_ASSERT_OK(log_io_uring_create(64, &io));
    T_ASSERT_OK(log_partition_open(dir, cfg, io, &part));
    T_ASSERT_OK(log_batch_builder_init(&bld, cfg->codec, cfg->batch_bytes_max));
    for (uint32_t i = 0; i < batch_count; i++) {
        uint32_t count = 1 + (uint32_t)fx_below(rng, records_max);
        if (i + 1 == batch_count && last_records > 0) {
            count = last_records;
        }
        int64_t offset_base = part->offset_next, assigned = -1;
        uint8_t *batch = NULL;
        size_t batch_bytes = 0;
        fx_batch_build(&bld, m, 0, offset_base, count, &batch, &batch_bytes);
        T_ASSERT_OK(fx_part_append(part, batch, batch_bytes, &assigned));
        T_ASSERT_EQ_INT(assigned, offset_base);
        T_ASSERT_OK(log_partition_wait(part, part->offset_next, true));
        struct log_segment *seg = part->segments[part->segment_count - 1];
        T_ASSERT(table->count < BATCHES_MAX);
        table->batches[table->count++] = (struct batch_pos){
            .segment_base = seg->offset_base,
            .position = seg->bytes - batch_bytes,
            .bytes = (uint32_t)batch_bytes,
            .offset_base = offset_base,
            .offset_end = offset_base + count,
        };
    }
    log_batch_builder_deinit(&bld);
    *out_io = io;
    return part;
}

static void test_log_init(struct test_log *tl, uint64_t tag, uint64_t segment_bytes)
{
    memset(tl, 0, sizeof(*tl));
    tl->rng = fx_seed(tag);
    fx_model_init(&tl->m, fx_seed(tag ^ 0x5eed), 600);
    t_mkdtemp(tl->dir, sizeof(tl->dir));
    t_mkdtemp(tl->work, sizeof(tl->work));
    tl->table = table_create();
    tl->conf = fx_conf(segment_bytes, INDEX_INTERVAL_BYTES, LOG_CODEC_NONE);
}

static void test_log_done(struct test_log *tl)
{
    fx_rmdir(tl->dir);
    fx_rmdir(tl->work);
    munmap(tl->table, sizeof(*tl->table));
    fx_context_clear();
    rill_conf_destroy(tl->conf);
    fx_model_deinit(&tl->m);
}

static void read_checkpoint(struct test_log *tl, const char *dir)
{
    char path[RILL_PATH_BYTES_MAX];
    fx_path(path, sizeof(path), dir, LOG_CHECKPOINT_FILE);
    size_t bytes = 0;
    uint8_t *buf = fx_file_read(path, &bytes);
    struct log_checkpoint ckpt;
    T_ASSERT_OK(log_checkpoint_decode(buf, bytes, &ckpt));
    free(buf);
    tl->ckpt_offset = ckpt.offset_next;
    tl->ckpt_position = ckpt.position;
    tl->ckpt_segment = ckpt.segment_base;
}

/*
 * Builds a log of clean_batches closed cleanly, then, when tail_batches > 0, tail_batches more
 * durable batches appended by a child that exits without closing (a crash that loses nothing).
 */
static void test_log_build(struct test_log *tl,
                           uint64_t segment_bytes,
                           uint32_t clean_batches,
                           uint32_t tail_batches,
                           uint32_t records_max,
                           uint32_t last_records)
{
    struct log_config cfg = fx_config(segment_bytes, INDEX_INTERVAL_BYTES, LOG_FLUSH_ALWAYS);
    struct log_io *io = NULL;
    struct log_partition *part = write_batches(tl->dir, &cfg, &tl->m, &tl->rng, clean_batches,
                                               records_max, 0, tl->table, &io);
    T_ASSERT_OK(log_partition_close(part));
    io->ops->destroy(io);
    tl->ckpt_batches = tl->table->count;
    if (tail_batches > 0) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        T_ASSERT(pid >= 0);
        if (pid == 0) {
            write_batches(tl->dir, &cfg, &tl->m, &tl->rng, tail_batches, records_max, last_records,
                          tl->table, &io);
            _exit(0); /* no close: the checkpoint stays where the clean close put it */
        }
        int status = 0;
        T_ASSERT(waitpid(pid, &status, 0) == pid);
        T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    T_ASSERT_EQ_INT(tl->table->count, clean_batches + tail_batches);
    tl->end = tl->table->batches[tl->table->count - 1].offset_end;
    fx_model_set(&tl->m, 0, tl->end, 0);
    read_checkpoint(tl, tl->dir);
    const struct batch_pos *below = &tl->table->batches[tl->ckpt_batches - 1];
    T_ASSERT_EQ_INT(tl->ckpt_offset, below->offset_end);
    if (below->position + below->bytes != tl->ckpt_position) {
        /* A roll happened at the end of the clean phase: the checkpoint is at the new base. */
        T_ASSERT_EQ_INT(tl->ckpt_position, 0);
        T_ASSERT_EQ_INT(tl->ckpt_segment, below->offset_end);
    }
}

/* The last segment's .log path in dir. */
static void last_segment_path(const struct test_log *tl, const char *dir, char *out, size_t bytes)
{
    fx_seg_path(out, bytes, dir, tl->table->batches[tl->table->count - 1].segment_base, ".log");
}

/* Offset end of the complete batches when the last segment is cut to position bytes. */
static int64_t end_when_cut(const struct test_log *tl, int64_t segment_base, uint64_t position)
{
    int64_t end = 0;
    for (uint32_t i = 0; i < tl->table->count; i++) {
        const struct batch_pos *b = &tl->table->batches[i];
        if (b->segment_base < segment_base ||
            (b->segment_base == segment_base && b->position + b->bytes <= position)) {
            end = b->offset_end;
        }
    }
    return end;
}

/*
 * Opens the damaged copy in tl->work, expecting recovery to keep exactly [0, expect_end); then
 * one append must land at expect_end and read back (and, when deep, survive another reopen).
 */
static void expect_recovered(struct test_log *tl, int64_t expect_end, bool deep)
{
    rill_log_t *log = NULL;
    rill_err err = rill_log_open(tl->work, tl->conf, &log);
    if (err != RILL_OK) {
        T_FAIL("open after damage returned %s, expected RILL_OK", rill_err_name(err));
    }
    T_ASSERT_EQ_INT(rill_log_durable_offset(log), expect_end);
    fx_check_log(log, &tl->m, expect_end);
    uint32_t count = 1 + (uint32_t)fx_below(&tl->rng, 4);
    int64_t first = -1;
    fx_model_set(&tl->m, expect_end, expect_end + count, 1);
    T_ASSERT_OK(fx_log_append(log, &tl->m, 1, expect_end, count, &first));
    T_ASSERT_EQ_INT(first, expect_end);
    T_ASSERT_EQ_INT(fx_check_from(log, &tl->m, expect_end), expect_end + count);
    T_ASSERT_OK(rill_log_close(log));
    if (deep) {
        T_ASSERT_OK(rill_log_open(tl->work, tl->conf, &log));
        fx_check_log(log, &tl->m, expect_end + count);
        T_ASSERT_OK(rill_log_close(log));
        fx_dump_ok(tl->work);
    }
    /* The pristine log holds generation 0 there; the next copy starts from it again. */
    fx_model_set(&tl->m, expect_end, expect_end + count, 0);
}

/* Opens the damaged copy in tl->work expecting RILL_ERR_CORRUPT and no file changed. */
static void expect_refused(struct test_log *tl, const char *what)
{
    uint64_t before = fx_dir_digest(tl->work);
    rill_log_t *log = NULL;
    rill_err err = rill_log_open(tl->work, tl->conf, &log);
    if (err != RILL_ERR_CORRUPT) {
        if (err == RILL_OK) {
            fprintf(stderr, "  opened with end offset %lld (log had %lld)\n",
                    (long long)rill_log_end_offset(log), (long long)tl->end);
            (void)rill_log_close(log);
        }
        T_FAIL("%s: open returned %s, expected ERR_CORRUPT", what, rill_err_name(err));
    }
    if (fx_dir_digest(tl->work) != before) {
        T_FAIL("%s: a refused open modified the log's files", what);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The tail past the checkpoint                                                               */
/* ---------------------------------------------------------------------------------------- */

static void cut_tail_at(struct test_log *tl, uint64_t position, bool deep)
{
    char path[RILL_PATH_BYTES_MAX];
    fx_context("last segment cut to %llu bytes (checkpoint at %llu)", (unsigned long long)position,
               (unsigned long long)tl->ckpt_position);
    fx_dir_copy(tl->dir, tl->work);
    last_segment_path(tl, tl->work, path, sizeof(path));
    fx_file_truncate(path, position);
    int64_t segment_base = tl->table->batches[tl->table->count - 1].segment_base;
    expect_recovered(tl, end_when_cut(tl, segment_base, position), deep);
}

/* Cut inside every byte of the last batch, around the checkpoint, and at random tail places. */
static void t_torn_tail_every_byte(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    test_log_init(&tl, 1, SEGMENT_LARGE_BYTES);
    test_log_build(&tl, SEGMENT_LARGE_BYTES, 20, 30, 8, 3);
    T_ASSERT(tl.end > tl.ckpt_offset);
    const struct batch_pos *last = &tl.table->batches[tl.table->count - 1];
    for (uint64_t p = last->position; p <= last->position + last->bytes; p++) {
        cut_tail_at(&tl, p, (p - last->position) % 16 == 0);
    }
    const struct batch_pos *first = &tl.table->batches[tl.ckpt_batches];
    for (uint64_t p = first->position; p < first->position + 8; p++) {
        cut_tail_at(&tl, p, true);
    }
    uint64_t file_end = last->position + last->bytes;
    for (unsigned i = 0; i < 50; i++) {
        uint64_t p = tl.ckpt_position + fx_below(&tl.rng, file_end - tl.ckpt_position + 1);
        cut_tail_at(&tl, p, i % 4 == 0);
    }
    test_log_done(&tl);
}

/*
 * A position inside batch b chosen to hit each header field and the records. The partition
 * leader epoch (bytes 12..15) is never chosen: it lies outside the CRC and nothing checks it,
 * by design (as in Kafka). The base offset (bytes 0..7), also outside the CRC, only when
 * base_ok: its own cases below say what must catch it.
 */
static uint64_t pick_byte(uint64_t *rng, const struct batch_pos *b, unsigned round, bool base_ok)
{
    static const uint32_t fields[][2] = {
        { 8, 4 },   /* batch length */
        { 16, 1 },  /* magic */
        { 17, 4 },  /* CRC */
        { 21, 2 },  /* attributes */
        { 23, 4 },  /* last offset delta */
        { 27, 16 }, /* timestamps */
        { 57, 4 },  /* record count */
        { 0, 8 },   /* base offset */
    };
    unsigned field_count = base_ok ? 8 : 7;
    if (round % 2 == 1) {
        return b->position + LOG_BATCH_HEADER_BYTES +
               fx_below(rng, b->bytes - LOG_BATCH_HEADER_BYTES);
    }
    const uint32_t *field = fields[(round / 2) % field_count];
    return b->position + field[0] + fx_below(rng, field[1]);
}

/* A flipped byte in tail batch j: recovery keeps exactly the batches before j. */
static void t_tail_byte_flips(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    test_log_init(&tl, 2, SEGMENT_LARGE_BYTES);
    test_log_build(&tl, SEGMENT_LARGE_BYTES, 20, 30, 8, 0);
    uint32_t tail_count = tl.table->count - tl.ckpt_batches;
    for (unsigned round = 0; round < 64; round++) {
        uint32_t j = tl.ckpt_batches + (uint32_t)fx_below(&tl.rng, tail_count);
        if (round < 16) {
            j = round % 2 == 0 ? tl.ckpt_batches : tl.table->count - 1;
        }
        const struct batch_pos *b = &tl.table->batches[j];
        uint64_t position = pick_byte(&tl.rng, b, round, false);
        uint8_t mask = (uint8_t)(1 + fx_below(&tl.rng, 255));
        char path[RILL_PATH_BYTES_MAX];
        fx_dir_copy(tl.dir, tl.work);
        last_segment_path(&tl, tl.work, path, sizeof(path));
        fx_file_flip(path, position, mask);
        fx_context("round %u: tail batch %u (offsets %lld..%lld) byte %llu ^ 0x%02x", round, j,
                   (long long)b->offset_base, (long long)b->offset_end - 1,
                   (unsigned long long)(position - b->position), mask);
        expect_recovered(&tl, b->offset_base, round % 8 == 0);
    }
    test_log_done(&tl);
}

/*
 * The base offset of a tail batch changed (it is outside the CRC, so only the offsets can tell):
 * every batch the log writes starts exactly at the previous batch's end, so a batch that does
 * not is damaged and recovery must keep only the batches before it - whether the damaged base
 * went down (out of order) or up (a gap that would renumber records and skip offsets).
 */
static void t_tail_base_offset_changed(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    test_log_init(&tl, 15, SEGMENT_LARGE_BYTES);
    test_log_build(&tl, SEGMENT_LARGE_BYTES, 20, 30, 8, 0);
    static const int64_t deltas[] = { -1, 1, 4096, -4096, 1 << 20, 1ll << 40 };
    uint32_t tail_count = tl.table->count - tl.ckpt_batches;
    for (unsigned round = 0; round < 3 * (unsigned)T_COUNT(deltas); round++) {
        uint32_t j = round < (unsigned)T_COUNT(deltas) ? tl.table->count - 1
                     : round < 2 * (unsigned)T_COUNT(deltas)
                         ? tl.ckpt_batches
                         : tl.ckpt_batches + (uint32_t)fx_below(&tl.rng, tail_count);
        const struct batch_pos *b = &tl.table->batches[j];
        int64_t delta = deltas[round % (unsigned)T_COUNT(deltas)];
        if (b->offset_base + delta < 0) {
            continue;
        }
        char path[RILL_PATH_BYTES_MAX];
        fx_dir_copy(tl.dir, tl.work);
        last_segment_path(&tl, tl.work, path, sizeof(path));
        uint8_t field[8];
        log_put_be64(field, (uint64_t)(b->offset_base + delta));
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        T_ASSERT(fd >= 0 && pwrite(fd, field, sizeof(field), (off_t)b->position) == 8);
        close(fd);
        fx_context("tail batch %u (offsets %lld..%lld): base offset changed by %lld", j,
                   (long long)b->offset_base, (long long)b->offset_end - 1, (long long)delta);
        expect_recovered(&tl, b->offset_base, round % 4 == 0);
    }
    test_log_done(&tl);
}

/* ---------------------------------------------------------------------------------------- */
/* Damage below the checkpoint                                                                */
/* ---------------------------------------------------------------------------------------- */

/* Any byte of a batch below the checkpoint (the leader epoch aside) refuses the open. */
static void t_flip_below_checkpoint_refuses(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    test_log_init(&tl, 3, SEGMENT_LARGE_BYTES);
    test_log_build(&tl, SEGMENT_LARGE_BYTES, 20, 10, 8, 0);
    for (unsigned round = 0; round < 40; round++) {
        uint32_t i = (uint32_t)fx_below(&tl.rng, tl.ckpt_batches);
        if (round < 8) {
            i = round % 2 == 0 ? 0 : tl.ckpt_batches - 1;
        }
        const struct batch_pos *b = &tl.table->batches[i];
        uint64_t position = pick_byte(&tl.rng, b, round, true);
        char path[RILL_PATH_BYTES_MAX], what[128];
        fx_dir_copy(tl.dir, tl.work);
        last_segment_path(&tl, tl.work, path, sizeof(path));
        fx_file_flip(path, position, (uint8_t)(1 + fx_below(&tl.rng, 255)));
        snprintf(what, sizeof(what), "byte %llu of batch %u flipped",
                 (unsigned long long)(position - b->position), i);
        expect_refused(&tl, what);
    }
    test_log_done(&tl);
}

/* A segment cut below the checkpoint position refuses the open, with or without a tail. */
static void t_truncate_below_checkpoint_refuses(void)
{
    fx_uring_or_skip();
    fx_quiet();
    for (unsigned with_tail = 0; with_tail < 2; with_tail++) {
        struct test_log tl;
        test_log_init(&tl, 4 + with_tail, SEGMENT_LARGE_BYTES);
        test_log_build(&tl, SEGMENT_LARGE_BYTES, 20, with_tail ? 10 : 0, 8, 0);
        for (unsigned round = 0; round < 24; round++) {
            uint64_t position = fx_below(&tl.rng, tl.ckpt_position);
            if (round == 0) {
                position = 0;
            } else if (round == 1) {
                position = tl.ckpt_position - 1;
            } else if (round % 3 == 0) {
                position = tl.table->batches[fx_below(&tl.rng, tl.ckpt_batches)].position;
            }
            char path[RILL_PATH_BYTES_MAX], what[128];
            fx_dir_copy(tl.dir, tl.work);
            last_segment_path(&tl, tl.work, path, sizeof(path));
            fx_file_truncate(path, position);
            snprintf(what, sizeof(what), "segment cut to %llu (checkpoint at %llu, tail %u)",
                     (unsigned long long)position, (unsigned long long)tl.ckpt_position, with_tail);
            expect_refused(&tl, what);
        }
        test_log_done(&tl);
    }
}

/*
 * After a clean close the checkpoint covers the whole active segment and its index files are
 * trusted, so a flipped byte there may go unnoticed by the open. It must never go unnoticed by
 * a read: the reader returns the batches before it, then a checksum error - never other data.
 */
static void t_clean_flip_never_silent(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    test_log_init(&tl, 6, SEGMENT_LARGE_BYTES);
    test_log_build(&tl, SEGMENT_LARGE_BYTES, 30, 0, 8, 0);
    for (unsigned round = 0; round < 24; round++) {
        uint32_t i = (uint32_t)fx_below(&tl.rng, tl.ckpt_batches);
        const struct batch_pos *b = &tl.table->batches[i];
        /* CRC-covered bytes only: the base offset and epoch are not checksummed. */
        uint64_t position =
            b->position + LOG_BATCH_CRC_START + fx_below(&tl.rng, b->bytes - LOG_BATCH_CRC_START);
        char path[RILL_PATH_BYTES_MAX];
        fx_dir_copy(tl.dir, tl.work);
        last_segment_path(&tl, tl.work, path, sizeof(path));
        fx_file_flip(path, position, (uint8_t)(1 + fx_below(&tl.rng, 255)));
        uint64_t before = fx_dir_digest(tl.work);
        rill_log_t *log = NULL;
        rill_err err = rill_log_open(tl.work, tl.conf, &log);
        if (err == RILL_ERR_CORRUPT) {
            T_ASSERT(fx_dir_digest(tl.work) == before);
            continue;
        }
        T_ASSERT_OK(err);
        T_ASSERT_EQ_INT(rill_log_end_offset(log), tl.end);
        rill_log_reader_t *reader = NULL;
        T_ASSERT_OK(rill_log_reader_create(log, 0, &reader));
        const rill_record_view_t *view = NULL;
        int64_t expect = 0;
        while ((err = rill_log_reader_next(reader, &view)) == RILL_OK) {
            fx_check_view(&tl.m, view, expect);
            expect++;
        }
        if (err != RILL_ERR_CRC && err != RILL_ERR_CORRUPT) {
            T_FAIL("damaged batch %u read as %s", i, rill_err_name(err));
        }
        T_ASSERT_EQ_INT(expect, b->offset_base);
        rill_log_reader_destroy(reader);
        T_ASSERT_OK(rill_log_close(log));
    }
    test_log_done(&tl);
}

/* A multi-segment log closed cleanly: every segment but the last is sealed. */
static void build_segmented(struct test_log *tl, uint64_t tag)
{
    test_log_init(tl, tag, SEGMENT_SMALL_BYTES);
    test_log_build(tl, SEGMENT_SMALL_BYTES, 320, 0, 16, 0);
    T_ASSERT(fx_dir_count(tl->dir, ".log") >= 4);
}

/* Index into the table of the first and one-past-last batch of the segment holding batch i. */
static void segment_batches(const struct test_log *tl,
                            int64_t segment_base,
                            uint32_t *out_first,
                            uint32_t *out_end)
{
    uint32_t first = UINT32_MAX, end = 0;
    for (uint32_t i = 0; i < tl->table->count; i++) {
        if (tl->table->batches[i].segment_base == segment_base) {
            first = first == UINT32_MAX ? i : first;
            end = i + 1;
        }
    }
    T_ASSERT(first != UINT32_MAX);
    *out_first = first;
    *out_end = end;
}

/* A sealed segment other than the first or last, and its batches. */
static int64_t pick_middle_segment(struct test_log *tl, uint32_t *out_first, uint32_t *out_end)
{
    const struct batch_pos *last = &tl->table->batches[tl->table->count - 1];
    for (;;) {
        const struct batch_pos *b = &tl->table->batches[fx_below(&tl->rng, tl->table->count)];
        if (b->segment_base != 0 && b->segment_base != last->segment_base) {
            segment_batches(tl, b->segment_base, out_first, out_end);
            return b->segment_base;
        }
    }
}

/* Bytes removed from the middle of a sealed segment (not at batch boundaries). */
static void t_sealed_cut_middle_refuses(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    build_segmented(&tl, 7);
    for (unsigned round = 0; round < 12; round++) {
        uint32_t first = 0, end = 0;
        int64_t segment_base = pick_middle_segment(&tl, &first, &end);
        const struct batch_pos *b = &tl.table->batches[first + fx_below(&tl.rng, end - first)];
        uint64_t from = b->position + 1 + fx_below(&tl.rng, b->bytes - 1);
        uint64_t to = from + 1 + fx_below(&tl.rng, 3000);
        const struct batch_pos *seg_last = &tl.table->batches[end - 1];
        uint64_t seg_bytes = seg_last->position + seg_last->bytes;
        to = to < seg_bytes ? to : seg_bytes;
        char path[RILL_PATH_BYTES_MAX], what[128];
        fx_dir_copy(tl.dir, tl.work);
        fx_seg_path(path, sizeof(path), tl.work, segment_base, ".log");
        fx_file_cut(path, from, to);
        snprintf(what, sizeof(what), "bytes [%llu, %llu) cut from segment %lld",
                 (unsigned long long)from, (unsigned long long)to, (long long)segment_base);
        expect_refused(&tl, what);
    }
    test_log_done(&tl);
}

enum sealed_loss {
    LOSS_BATCHES_CUT,  /* whole batches removed from the middle */
    LOSS_CUT_AT_BATCH, /* the segment truncated at a batch boundary */
    LOSS_SEGMENT_GONE, /* the segment's three files deleted */
};

/*
 * Whole batches removed from a sealed segment, or the segment cut at a batch boundary, or a
 * whole sealed segment deleted: every remaining batch is valid, but offsets that were durable
 * are gone. That is corruption below the checkpoint too, not something to open over silently.
 */
static void sealed_loss_refused(enum sealed_loss loss, uint64_t tag)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    build_segmented(&tl, tag);
    for (unsigned round = 0; round < 8; round++) {
        uint32_t first = 0, end = 0;
        int64_t segment_base = pick_middle_segment(&tl, &first, &end);
        char path[RILL_PATH_BYTES_MAX], what[160];
        fx_dir_copy(tl.dir, tl.work);
        fx_seg_path(path, sizeof(path), tl.work, segment_base, ".log");
        T_ASSERT(end - first >= 3);
        uint32_t i = first + 1 + (uint32_t)fx_below(&tl.rng, end - first - 2);
        const struct batch_pos *b = &tl.table->batches[i];
        if (loss == LOSS_BATCHES_CUT) {
            uint32_t k = i + 1 + (uint32_t)fx_below(&tl.rng, end - i - 1);
            const struct batch_pos *after = &tl.table->batches[k - 1];
            fx_file_cut(path, b->position, after->position + after->bytes);
            snprintf(what, sizeof(what),
                     "batches %u..%u (offsets %lld..%lld) cut from segment %lld", i, k - 1,
                     (long long)b->offset_base, (long long)after->offset_end - 1,
                     (long long)segment_base);
        } else if (loss == LOSS_CUT_AT_BATCH) {
            fx_file_truncate(path, b->position);
            snprintf(what, sizeof(what), "sealed segment %lld cut at batch %u (offset %lld)",
                     (long long)segment_base, i, (long long)b->offset_base);
        } else {
            fx_unlink(path);
            fx_seg_path(path, sizeof(path), tl.work, segment_base, ".index");
            fx_unlink(path);
            fx_seg_path(path, sizeof(path), tl.work, segment_base, ".timeindex");
            fx_unlink(path);
            snprintf(what, sizeof(what), "sealed segment %lld deleted", (long long)segment_base);
        }
        expect_refused(&tl, what);
    }
    test_log_done(&tl);
}

static void t_sealed_batches_cut_refuses(void)
{
    sealed_loss_refused(LOSS_BATCHES_CUT, 8);
}

static void t_sealed_cut_at_batch_refuses(void)
{
    sealed_loss_refused(LOSS_CUT_AT_BATCH, 13);
}

static void t_sealed_segment_deleted_refuses(void)
{
    sealed_loss_refused(LOSS_SEGMENT_GONE, 14);
}

/*
 * The base offset of a batch in a sealed segment changed, its index files intact. The open may
 * trust the indexes and skip the scan (as after a clean close), but then reads must notice:
 * a reader returns exactly the records that were appended, in order, until it reports an
 * error - never a record at another offset, never a skipped offset.
 */
static void t_sealed_base_offset_never_silent(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    build_segmented(&tl, 16);
    static const int64_t deltas[] = { 1, -1, 4096, 3 };
    for (unsigned round = 0; round < 8; round++) {
        uint32_t first = 0, end = 0;
        int64_t segment_base = pick_middle_segment(&tl, &first, &end);
        uint32_t i = first + 1 + (uint32_t)fx_below(&tl.rng, end - first - 1);
        const struct batch_pos *b = &tl.table->batches[i];
        int64_t delta = deltas[round % T_COUNT(deltas)];
        char path[RILL_PATH_BYTES_MAX];
        fx_dir_copy(tl.dir, tl.work);
        fx_seg_path(path, sizeof(path), tl.work, segment_base, ".log");
        uint8_t field[8];
        log_put_be64(field, (uint64_t)(b->offset_base + delta));
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        T_ASSERT(fd >= 0 && pwrite(fd, field, sizeof(field), (off_t)b->position) == 8);
        close(fd);
        fx_context("sealed segment %lld, batch %u (offsets %lld..%lld): base offset changed by "
                   "%lld",
                   (long long)segment_base, i, (long long)b->offset_base,
                   (long long)b->offset_end - 1, (long long)delta);
        uint64_t before = fx_dir_digest(tl.work);
        rill_log_t *log = NULL;
        rill_err err = rill_log_open(tl.work, tl.conf, &log);
        if (err == RILL_ERR_CORRUPT) {
            T_ASSERT(fx_dir_digest(tl.work) == before);
            continue;
        }
        T_ASSERT_OK(err);
        rill_log_reader_t *reader = NULL;
        T_ASSERT_OK(rill_log_reader_create(log, 0, &reader));
        const rill_record_view_t *view = NULL;
        int64_t expect = 0;
        while ((err = rill_log_reader_next(reader, &view)) == RILL_OK) {
            fx_check_view(&tl.m, view, expect);
            expect++;
        }
        if (err == RILL_ERR_END) {
            T_ASSERT_EQ_INT(expect, tl.end);
        } else if (err != RILL_ERR_CORRUPT && err != RILL_ERR_CRC) {
            T_FAIL("reader stopped with %s", rill_err_name(err));
        }
        rill_log_reader_destroy(reader);
        T_ASSERT_OK(rill_log_close(log));
    }
    test_log_done(&tl);
}

/* ---------------------------------------------------------------------------------------- */
/* Index files and the checkpoint file                                                        */
/* ---------------------------------------------------------------------------------------- */

/* First offset whose record timestamp is >= timestamp, or end. */
static int64_t time_lookup_expected(const struct fx_model *m, int64_t end, int64_t timestamp)
{
    for (int64_t offset = 0; offset < end; offset++) {
        if (fx_rec_timestamp(m->seed, fx_model_gen(m, offset), offset) >= timestamp) {
            return offset;
        }
    }
    return end;
}

/* rill_log_read at every offset lands on the batch holding it; time lookups match the model. */
static void check_lookups_public(rill_log_t *log, struct test_log *tl)
{
    uint32_t batch = 0;
    for (int64_t offset = 0; offset < tl->end; offset++) {
        while (tl->table->batches[batch].offset_end <= offset) {
            batch++;
        }
        void *buf = NULL;
        size_t bytes = 0;
        T_ASSERT_OK(rill_log_read(log, offset, 1, &buf, &bytes));
        struct log_batch_header hdr;
        T_ASSERT_OK(log_batch_validate(buf, bytes, false, &hdr));
        T_ASSERT_EQ_INT(hdr.offset_base, tl->table->batches[batch].offset_base);
        free(buf);
    }
    void *buf = NULL;
    size_t bytes = 0;
    T_ASSERT_EQ_INT(rill_log_read(log, tl->end, 1, &buf, &bytes), RILL_ERR_END);
    int64_t ts_min = FX_TIMESTAMP_BASE - 10, ts_max = FX_TIMESTAMP_BASE + tl->end * 4 + 30;
    for (unsigned i = 0; i < 200; i++) {
        int64_t timestamp = ts_min + (int64_t)fx_below(&tl->rng, (uint64_t)(ts_max - ts_min));
        int64_t want = time_lookup_expected(&tl->m, tl->end, timestamp), got = -1;
        rill_err err = rill_log_offset_for_time(log, timestamp, &got);
        T_ASSERT_EQ_INT(err, want == tl->end ? RILL_ERR_END : RILL_OK);
        if (got != want) {
            T_FAIL("offset_for_time(%lld) = %lld, expected %lld", (long long)timestamp,
                   (long long)got, (long long)want);
        }
    }
}

enum index_damage {
    DAMAGE_DELETE_OFFSET_INDEX,
    DAMAGE_DELETE_TIME_INDEX,
    DAMAGE_FLIP_TIME_INDEX,
    DAMAGE_FLIP_OFFSET_INDEX,
    DAMAGE_TRUNCATE_OFFSET_INDEX,
    DAMAGE_EMPTY_TIME_INDEX,
    DAMAGE_OTHER_SEGMENTS_INDEX,
    DAMAGE_GARBAGE_APPENDED,
    DAMAGE_ALL_INDEXES_DELETED,
    DAMAGE_COUNT,
};

static void damage_index(struct test_log *tl, enum index_damage damage, int64_t segment_base)
{
    char offset_path[RILL_PATH_BYTES_MAX], time_path[RILL_PATH_BYTES_MAX];
    fx_seg_path(offset_path, sizeof(offset_path), tl->work, segment_base, ".index");
    fx_seg_path(time_path, sizeof(time_path), tl->work, segment_base, ".timeindex");
    switch (damage) {
    case DAMAGE_DELETE_OFFSET_INDEX:
        fx_unlink(offset_path);
        break;
    case DAMAGE_DELETE_TIME_INDEX:
        fx_unlink(time_path);
        break;
    case DAMAGE_FLIP_TIME_INDEX:
        fx_file_flip(time_path, fx_below(&tl->rng, fx_file_bytes(time_path)),
                     (uint8_t)(1 + fx_below(&tl->rng, 255)));
        break;
    case DAMAGE_FLIP_OFFSET_INDEX:
        fx_file_flip(offset_path, fx_below(&tl->rng, fx_file_bytes(offset_path)),
                     (uint8_t)(1 + fx_below(&tl->rng, 255)));
        break;
    case DAMAGE_TRUNCATE_OFFSET_INDEX:
        fx_file_truncate(offset_path, fx_below(&tl->rng, fx_file_bytes(offset_path)));
        break;
    case DAMAGE_EMPTY_TIME_INDEX:
        fx_file_truncate(time_path, 0);
        break;
    case DAMAGE_OTHER_SEGMENTS_INDEX: {
        char other[RILL_PATH_BYTES_MAX];
        fx_seg_path(other, sizeof(other), tl->work, 0, ".index");
        size_t bytes = 0;
        uint8_t *buf = fx_file_read(other, &bytes);
        fx_file_write(offset_path, buf, bytes);
        free(buf);
        break;
    }
    case DAMAGE_GARBAGE_APPENDED: {
        size_t bytes = 0;
        uint8_t *buf = fx_file_read(time_path, &bytes);
        uint8_t *grown = realloc(buf, bytes + 12);
        T_ASSERT(grown != NULL);
        memset(grown + bytes, 0x5a, 12);
        fx_file_write(time_path, grown, bytes + 12);
        free(grown);
        break;
    }
    case DAMAGE_ALL_INDEXES_DELETED:
    case DAMAGE_COUNT:
        break;
    }
}

/* Copies the index files of every segment, to compare with what recovery rewrites. */
static uint64_t index_files_digest(const char *dir)
{
    char *names[FX_FILES_MAX];
    size_t count = fx_dir_names(dir, names);
    uint64_t digest = 0;
    for (size_t i = 0; i < count; i++) {
        const char *dot = strrchr(names[i], '.');
        if (dot == NULL || (strcmp(dot, ".index") != 0 && strcmp(dot, ".timeindex") != 0)) {
            continue;
        }
        char path[RILL_PATH_BYTES_MAX];
        fx_path(path, sizeof(path), dir, names[i]);
        size_t bytes = 0;
        uint8_t *buf = fx_file_read(path, &bytes);
        digest = XXH3_64bits_withSeed(names[i], strlen(names[i]), digest);
        digest = XXH3_64bits_withSeed(buf, bytes, digest);
        free(buf);
    }
    fx_names_free(names, count);
    return digest;
}

static void t_damaged_indexes_rebuilt(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    build_segmented(&tl, 9);
    uint64_t pristine = index_files_digest(tl.dir);
    unsigned segment_count = fx_dir_count(tl.dir, ".log");
    for (unsigned damage = 0; damage < DAMAGE_COUNT; damage++) {
        uint32_t first = 0, end = 0;
        int64_t segment_base = pick_middle_segment(&tl, &first, &end);
        fx_dir_copy(tl.dir, tl.work);
        if (damage == DAMAGE_ALL_INDEXES_DELETED) {
            for (uint32_t i = 0; i < tl.table->count; i++) {
                if (i == 0 ||
                    tl.table->batches[i].segment_base != tl.table->batches[i - 1].segment_base) {
                    damage_index(&tl, DAMAGE_DELETE_OFFSET_INDEX,
                                 tl.table->batches[i].segment_base);
                    damage_index(&tl, DAMAGE_DELETE_TIME_INDEX, tl.table->batches[i].segment_base);
                }
            }
        } else {
            damage_index(&tl, (enum index_damage)damage, segment_base);
        }
        rill_log_t *log = NULL;
        rill_err err = rill_log_open(tl.work, tl.conf, &log);
        if (err != RILL_OK) {
            T_FAIL("damage %u: open returned %s", damage, rill_err_name(err));
        }
        /* Sealed indexes are rewritten by the open itself (the active one may be stale). */
        fx_context("index damage %u to segment %lld", damage, (long long)segment_base);
        T_ASSERT_EQ_INT(fx_dir_count(tl.work, ".index"),
                        segment_count - (damage == DAMAGE_ALL_INDEXES_DELETED ? 1 : 0));
        T_ASSERT_EQ_INT(fx_dir_count(tl.work, ".timeindex"),
                        segment_count - (damage == DAMAGE_ALL_INDEXES_DELETED ? 1 : 0));
        fx_dump_ok(tl.work);
        fx_check_log(log, &tl.m, tl.end);
        check_lookups_public(log, &tl);
        T_ASSERT_OK(rill_log_close(log));
        fx_dump_ok(tl.work);
        if (index_files_digest(tl.work) != pristine) {
            T_FAIL("damage %u: rebuilt index files differ from the ones written by appends",
                   damage);
        }
    }
    test_log_done(&tl);
}

enum checkpoint_damage {
    CKPT_FLIP,
    CKPT_DELETE,
    CKPT_SHORT,
    CKPT_LONG,
    CKPT_GARBAGE,
    CKPT_COUNT,
};

static void damage_checkpoint(struct test_log *tl, enum checkpoint_damage damage)
{
    char path[RILL_PATH_BYTES_MAX];
    fx_path(path, sizeof(path), tl->work, LOG_CHECKPOINT_FILE);
    uint8_t buf[LOG_CHECKPOINT_BYTES + 1];
    switch (damage) {
    case CKPT_FLIP:
        fx_file_flip(path, fx_below(&tl->rng, LOG_CHECKPOINT_BYTES),
                     (uint8_t)(1 + fx_below(&tl->rng, 255)));
        break;
    case CKPT_DELETE:
        fx_unlink(path);
        break;
    case CKPT_SHORT:
        fx_file_truncate(path, LOG_CHECKPOINT_BYTES - 1);
        break;
    case CKPT_LONG:
        fx_file_truncate(path, LOG_CHECKPOINT_BYTES + 1);
        break;
    case CKPT_GARBAGE:
    case CKPT_COUNT:
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = (uint8_t)t_rand(&tl->rng);
        }
        fx_file_write(path, buf, LOG_CHECKPOINT_BYTES);
        break;
    }
}

/* A damaged checkpoint is ignored: full validation keeps every valid batch, tail included. */
static void t_damaged_checkpoint(void)
{
    fx_uring_or_skip();
    fx_quiet();
    for (unsigned shape = 0; shape < 2; shape++) {
        struct test_log tl;
        if (shape == 0) {
            test_log_init(&tl, 10, SEGMENT_LARGE_BYTES);
            test_log_build(&tl, SEGMENT_LARGE_BYTES, 20, 15, 8, 0); /* tail past the checkpoint */
        } else {
            build_segmented(&tl, 11);
        }
        for (unsigned damage = 0; damage < CKPT_COUNT; damage++) {
            for (unsigned round = 0; round < (damage == CKPT_FLIP ? 6u : 1u); round++) {
                fx_context("checkpoint damage %u round %u, log shape %u", damage, round, shape);
                fx_dir_copy(tl.dir, tl.work);
                damage_checkpoint(&tl, (enum checkpoint_damage)damage);
                expect_recovered(&tl, tl.end, true);
            }
        }
        test_log_done(&tl);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Lookups at and between index entries                                                       */
/* ---------------------------------------------------------------------------------------- */

static const struct batch_pos *table_find(const struct test_log *tl, int64_t offset)
{
    uint32_t low = 0, high = tl->table->count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (tl->table->batches[middle].offset_end <= offset) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    T_ASSERT(low < tl->table->count);
    return &tl->table->batches[low];
}

/* The sparse index of each segment lands at most index.interval.bytes before any batch. */
static void check_index_spacing(struct log_partition *part, const struct test_log *tl)
{
    for (uint32_t i = 0; i < tl->table->count; i++) {
        const struct batch_pos *b = &tl->table->batches[i];
        struct log_segment *seg = NULL;
        for (uint32_t s = 0; s < part->segment_count; s++) {
            if (part->segments[s]->offset_base == b->segment_base) {
                seg = part->segments[s];
            }
        }
        T_ASSERT(seg != NULL);
        uint32_t relative = (uint32_t)(b->offset_base - seg->offset_base);
        uint64_t from = log_index_lookup(&seg->idx, relative);
        if (from > b->position || b->position - from > INDEX_INTERVAL_BYTES) {
            T_FAIL("index lookup for offset %lld gives position %llu, batch is at %llu",
                   (long long)b->offset_base, (unsigned long long)from,
                   (unsigned long long)b->position);
        }
        /* Entries point at batch starts with the matching base offset. */
        for (uint32_t e = 0; e < seg->idx.entry_count; e++) {
            if (seg->idx.entries[e].position == b->position) {
                T_ASSERT_EQ_INT(seg->idx.entries[e].offset_relative, relative);
            }
        }
    }
}

/* log_partition_read of every offset, alone and with more batches; time lookups too. */
static void check_partition_reads(struct log_partition *part, struct test_log *tl)
{
    struct log_record_iter it;
    log_record_iter_init(&it);
    for (int64_t offset = 0; offset < tl->end; offset++) {
        const struct batch_pos *want = table_find(tl, offset);
        uint8_t *buf = NULL;
        size_t bytes = 0;
        size_t max_bytes = offset % 3 == 0 ? 1 : 1 + fx_below(&tl->rng, 8192);
        T_ASSERT_OK(log_partition_read(part, offset, max_bytes, &buf, &bytes));
        struct log_batch_header hdr;
        T_ASSERT(bytes >= want->bytes);
        T_ASSERT_OK(log_batch_validate(buf, want->bytes, false, &hdr));
        if (hdr.offset_base != want->offset_base) {
            T_FAIL("read at %lld starts with batch %lld, expected %lld", (long long)offset,
                   (long long)hdr.offset_base, (long long)want->offset_base);
        }
        T_ASSERT(max_bytes <= want->bytes ? bytes == want->bytes : bytes <= max_bytes);
        /* Whole consecutive batches of the same segment. */
        size_t used = 0;
        int64_t next = want->offset_base;
        while (used < bytes) {
            struct log_batch_header more;
            T_ASSERT(bytes - used >= LOG_BATCH_HEADER_BYTES);
            T_ASSERT_OK(log_batch_header_decode(buf + used, bytes - used, &more));
            T_ASSERT_OK(log_batch_validate(buf + used, log_batch_total_bytes(&more), false, &more));
            T_ASSERT_EQ_INT(more.offset_base, next);
            next = log_batch_offset_last(&more) + 1;
            used += log_batch_total_bytes(&more);
        }
        T_ASSERT_EQ_INT(used, bytes);
        T_ASSERT_OK(log_record_iter_start(&it, buf, want->bytes));
        struct log_record rec;
        bool found = false;
        while (log_record_iter_next(&it, &rec) == RILL_OK) {
            if (rec.offset == offset) {
                fx_check_log_record(&tl->m, &rec);
                found = true;
            }
        }
        T_ASSERT(found);
        free(buf);
        int64_t timestamp = fx_rec_timestamp(tl->m.seed, 0, offset) + (int64_t)(offset % 3) - 1;
        int64_t expect = time_lookup_expected(&tl->m, tl->end, timestamp), got = -1;
        rill_err err = log_partition_offset_for_time(part, timestamp, &got);
        T_ASSERT_EQ_INT(err, expect == tl->end ? RILL_ERR_END : RILL_OK);
        if (err == RILL_OK && got != expect) {
            T_FAIL("offset_for_time(%lld) = %lld, expected %lld", (long long)timestamp,
                   (long long)got, (long long)expect);
        }
    }
    log_record_iter_deinit(&it);
    uint8_t *buf = NULL;
    size_t bytes = 0;
    T_ASSERT_EQ_INT(log_partition_read(part, tl->end, 1, &buf, &bytes), RILL_ERR_END);
    T_ASSERT_EQ_INT(log_partition_read(part, tl->end + 1, 1, &buf, &bytes),
                    RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(log_partition_read(part, -1, 1, &buf, &bytes), RILL_ERR_OFFSET_OUT_OF_RANGE);
    check_index_spacing(part, tl);
}

static void t_index_lookup_every_offset(void)
{
    fx_uring_or_skip();
    fx_quiet();
    struct test_log tl;
    test_log_init(&tl, 12, SEGMENT_SMALL_BYTES);
    struct log_config cfg = fx_config(SEGMENT_SMALL_BYTES, INDEX_INTERVAL_BYTES, LOG_FLUSH_ALWAYS);
    struct log_io *io = NULL;
    /* Built by appends: the in-memory indexes. */
    struct log_partition *part =
        write_batches(tl.dir, &cfg, &tl.m, &tl.rng, 400, 12, 0, tl.table, &io);
    tl.end = tl.table->batches[tl.table->count - 1].offset_end;
    fx_model_set(&tl.m, 0, tl.end, 0);
    T_ASSERT(part->segment_count >= 4);
    check_partition_reads(part, &tl);
    T_ASSERT_OK(log_partition_close(part));
    /* Loaded from the index files, then rebuilt by scanning after deleting them. */
    for (unsigned pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            char *names[FX_FILES_MAX];
            size_t count = fx_dir_names(tl.dir, names);
            for (size_t i = 0; i < count; i++) {
                if (strstr(names[i], "index") != NULL) {
                    char path[RILL_PATH_BYTES_MAX];
                    fx_path(path, sizeof(path), tl.dir, names[i]);
                    fx_unlink(path);
                }
            }
            fx_names_free(names, count);
        }
        T_ASSERT_OK(log_partition_open(tl.dir, &cfg, io, &part));
        T_ASSERT_EQ_INT(part->offset_next, tl.end);
        check_partition_reads(part, &tl);
        T_ASSERT_OK(log_partition_close(part));
    }
    io->ops->destroy(io);
    fx_dump_ok(tl.dir);
    test_log_done(&tl);
}

static const struct t_case cases[] = {
    T_CASE(t_torn_tail_every_byte),
    T_CASE(t_tail_byte_flips),
    T_CASE(t_tail_base_offset_changed),
    T_CASE(t_flip_below_checkpoint_refuses),
    T_CASE(t_truncate_below_checkpoint_refuses),
    T_CASE(t_clean_flip_never_silent),
    T_CASE(t_sealed_cut_middle_refuses),
    T_CASE(t_sealed_batches_cut_refuses),
    T_CASE(t_sealed_cut_at_batch_refuses),
    T_CASE(t_sealed_segment_deleted_refuses),
    T_CASE(t_sealed_base_offset_never_silent),
    T_CASE(t_damaged_indexes_rebuilt),
    T_CASE(t_damaged_checkpoint),
    T_CASE(t_index_lookup_every_offset),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
