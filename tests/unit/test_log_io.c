/*
 * test_log_io.c - both log/io.h backends against the same contract, then the fault backend's
 * injection, crash and power-loss model.
 *
 * Cases named *_uring and *_fault run the same check on each backend; the io_uring ones skip
 * where the kernel refuses io_uring (ENOSYS, EPERM in some containers).
 */
#include "log/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

#include <liburing.h>

#include "common/limits.h"
#include "tests/harness.h"

enum backend { BACKEND_URING, BACKEND_FAULT };

/* Completions gathered by one test: enough for every case below. */
#define DONE_MAX 512u

struct fixture {
    char dir[256];
    char path[512];
    struct log_io *io;
    int fd;
};

static void uring_available_or_skip(void)
{
    struct io_uring ring;
    int ret = io_uring_queue_init(4, &ring, 0);
    if (ret == -ENOSYS || ret == -EPERM) {
        T_SKIP("io_uring is not available here");
    }
    T_ASSERT_EQ_INT(ret, 0);
    io_uring_queue_exit(&ring);
}

static struct log_io *backend_create(enum backend backend, unsigned entries)
{
    struct log_io *io = NULL;
    if (backend == BACKEND_URING) {
        uring_available_or_skip();
        T_ASSERT_OK(log_io_uring_create(entries, &io));
    } else {
        T_ASSERT_OK(log_io_fault_create(NULL, &io));
    }
    T_ASSERT(io != NULL);
    T_ASSERT_EQ_INT(io->in_flight, 0);
    return io;
}

static struct log_io *fault_create(const struct log_io_fault_plan *plan)
{
    struct log_io *io = NULL;
    T_ASSERT_OK(log_io_fault_create(plan, &io));
    return io;
}

/* A temporary directory with data.log open read-write through io. */
static void fixture_open(struct fixture *fix, struct log_io *io)
{
    t_mkdtemp(fix->dir, sizeof(fix->dir));
    snprintf(fix->path, sizeof(fix->path), "%s/data.log", fix->dir);
    fix->io = io;
    T_ASSERT_OK(io->ops->open(io, fix->path, O_RDWR | O_CREAT, 0644, &fix->fd));
}

static void fixture_close(struct fixture *fix)
{
    fix->io->ops->close(fix->io, fix->fd);
    fix->io->ops->destroy(fix->io);
    t_rmdir_all(fix->dir);
}

static void pattern_fill(unsigned char *buf, size_t bytes, unsigned seed)
{
    for (size_t i = 0; i < bytes; i++) {
        buf[i] = (unsigned char)(seed * 31u + i * 7u + (i >> 8));
    }
}

/* Reaps until count completions are in out; reap with wait must make progress. */
static void reap_exactly(struct log_io *io, struct log_io_completion *out, unsigned count)
{
    unsigned have = 0;
    for (unsigned round = 0; have < count; round++) {
        T_ASSERT(round < 10 * DONE_MAX);
        unsigned got = 0;
        T_ASSERT_OK(io->ops->reap(io, out + have, count - have, true, &got));
        T_ASSERT(got > 0);
        have += got;
    }
    T_ASSERT_EQ_INT(io->in_flight, 0);
}

static const struct log_io_completion *
find_done(const struct log_io_completion *done, unsigned count, uint64_t cookie, enum log_io_op op)
{
    for (unsigned i = 0; i < count; i++) {
        if (done[i].cookie == cookie && done[i].op == op) {
            return &done[i];
        }
    }
    T_FAIL("no completion for cookie %" PRIu64 " op %d", cookie, (int)op);
}

static void expect_done(const struct log_io_completion *done,
                        void *owner,
                        rill_err err,
                        int errno_value,
                        uint32_t bytes)
{
    T_ASSERT(done->owner == owner);
    T_ASSERT_EQ_INT(done->err, err);
    T_ASSERT_EQ_INT(done->errno_value, errno_value);
    T_ASSERT_EQ_INT(done->bytes, bytes);
}

static void expect_content(struct log_io *io, int fd, const void *expected, size_t bytes)
{
    static unsigned char got[1 << 20];
    T_ASSERT(bytes < sizeof(got));
    size_t got_bytes = 0;
    T_ASSERT_OK(io->ops->pread(io, fd, got, sizeof(got), 0, &got_bytes));
    T_ASSERT_EQ_INT(got_bytes, bytes);
    T_ASSERT_MEM_EQ(got, expected, bytes);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    T_ASSERT_OK(stat(path, &st));
    return (uint64_t)st.st_size;
}

/* ---------------------------------------------------------------------------------------- */
/* Both backends                                                                              */
/* ---------------------------------------------------------------------------------------- */

static void check_write_sync_completions(enum backend backend)
{
    struct fixture fix;
    fixture_open(&fix, backend_create(backend, 8));
    struct log_io *io = fix.io;
    unsigned char data[3000];
    pattern_fill(data, sizeof(data), 1);
    int owner = 0;
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, data, sizeof(data), 0, true, &owner, 42));
    T_ASSERT_EQ_INT(io->in_flight, 2);
    struct log_io_completion done[2];
    reap_exactly(io, done, 2);
    expect_done(find_done(done, 2, 42, LOG_IO_OP_WRITE), &owner, RILL_OK, 0, sizeof(data));
    expect_done(find_done(done, 2, 42, LOG_IO_OP_SYNC), &owner, RILL_OK, 0, 0);
    expect_content(io, fix.fd, data, sizeof(data));
    fixture_close(&fix);
}

static void check_many_in_flight(enum backend backend)
{
    enum { WRITES = 48, CHUNK = 4096 };
    struct fixture fix;
    fixture_open(&fix, backend_create(backend, 64));
    struct log_io *io = fix.io;
    static unsigned char data[WRITES * CHUNK];
    pattern_fill(data, sizeof(data), 2);
    int owner = 0;
    for (unsigned i = 0; i < WRITES; i++) {
        T_ASSERT_OK(io->ops->submit_write(io, fix.fd, data + i * CHUNK, CHUNK, (uint64_t)i * CHUNK,
                                          false, &owner, 1000 + i));
    }
    T_ASSERT_OK(io->ops->submit_sync(io, fix.fd, &owner, 9999));
    T_ASSERT_EQ_INT(io->in_flight, WRITES + 1);
    struct log_io_completion done[WRITES + 1];
    reap_exactly(io, done, WRITES + 1);
    for (unsigned i = 0; i < WRITES; i++) {
        expect_done(find_done(done, WRITES + 1, 1000 + i, LOG_IO_OP_WRITE), &owner, RILL_OK, 0,
                    CHUNK);
    }
    expect_done(find_done(done, WRITES + 1, 9999, LOG_IO_OP_SYNC), &owner, RILL_OK, 0, 0);
    expect_content(io, fix.fd, data, sizeof(data));
    fixture_close(&fix);
}

static void check_reap_idle(enum backend backend)
{
    struct log_io *io = backend_create(backend, 8);
    struct log_io_completion done[4];
    unsigned count = 99;
    /* Nothing in flight: a waiting reap returns at once instead of blocking forever. */
    T_ASSERT_OK(io->ops->reap(io, done, 4, true, &count));
    T_ASSERT_EQ_INT(count, 0);
    T_ASSERT_OK(io->ops->reap(io, done, 4, false, &count));
    T_ASSERT_EQ_INT(count, 0);
    io->ops->destroy(io);
}

static void check_submit_full(enum backend backend)
{
    unsigned capacity = backend == BACKEND_URING ? 4 : RILL_RING_ENTRIES;
    struct fixture fix;
    fixture_open(&fix, backend_create(backend, 4));
    struct log_io *io = fix.io;
    static unsigned char data[64];
    pattern_fill(data, sizeof(data), 3);
    unsigned submitted = 0;
    rill_err err = RILL_OK;
    while (submitted <= capacity) {
        err = io->ops->submit_write(io, fix.fd, data, sizeof(data), 0, false, NULL, submitted);
        if (err != RILL_OK) {
            break;
        }
        submitted++;
    }
    T_ASSERT_EQ_INT(err, RILL_ERR_FULL);
    T_ASSERT_EQ_INT(submitted, capacity);
    T_ASSERT_EQ_INT(io->ops->submit_sync(io, fix.fd, NULL, 0), RILL_ERR_FULL);
    /* One free slot is not enough for a write and its linked sync. */
    struct log_io_completion done[RILL_RING_ENTRIES];
    unsigned count = 0;
    T_ASSERT_OK(io->ops->reap(io, done, 1, true, &count));
    T_ASSERT_EQ_INT(count, 1);
    T_ASSERT_EQ_INT(io->ops->submit_write(io, fix.fd, data, sizeof(data), 0, true, NULL, 0),
                    RILL_ERR_FULL);
    reap_exactly(io, done, capacity - 1);
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, data, sizeof(data), 0, true, NULL, 0));
    reap_exactly(io, done, 2);
    fixture_close(&fix);
}

static void check_sync_calls(enum backend backend)
{
    struct fixture fix;
    fixture_open(&fix, backend_create(backend, 8));
    struct log_io *io = fix.io;
    unsigned char data[5000];
    pattern_fill(data, sizeof(data), 4);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, sizeof(data), 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    uint64_t bytes = 0;
    T_ASSERT_OK(io->ops->file_bytes(io, fix.fd, &bytes));
    T_ASSERT_EQ_INT(bytes, sizeof(data));
    unsigned char back[6000];
    size_t got = 0;
    T_ASSERT_OK(io->ops->pread(io, fix.fd, back, sizeof(back), 1000, &got));
    T_ASSERT_EQ_INT(got, sizeof(data) - 1000); /* short only at end of file */
    T_ASSERT_MEM_EQ(back, data + 1000, got);
    T_ASSERT_OK(io->ops->ftruncate(io, fix.fd, 100));
    T_ASSERT_OK(io->ops->file_bytes(io, fix.fd, &bytes));
    T_ASSERT_EQ_INT(bytes, 100);
    expect_content(io, fix.fd, data, 100);

    char renamed[600];
    snprintf(renamed, sizeof(renamed), "%s/renamed.log", fix.dir);
    T_ASSERT_OK(io->ops->rename(io, fix.path, renamed));
    T_ASSERT_OK(io->ops->sync_dir(io, fix.dir));
    int fd = -1;
    T_ASSERT_EQ_INT(io->ops->open(io, fix.path, O_RDONLY, 0, &fd), RILL_ERR_NOT_FOUND);
    T_ASSERT_OK(io->ops->open(io, renamed, O_RDONLY, 0, &fd));
    expect_content(io, fd, data, 100);
    io->ops->close(io, fd);
    T_ASSERT_OK(io->ops->unlink(io, renamed));
    T_ASSERT_EQ_INT(io->ops->unlink(io, renamed), RILL_ERR_NOT_FOUND);
    T_ASSERT_OK(io->ops->sync_dir(io, fix.dir));
    T_ASSERT_EQ_INT(io->ops->sync_dir(io, renamed), RILL_ERR_NOT_FOUND);
    fixture_close(&fix);
}

/* A write that fails (here EBADF: the fd is read-only) cancels its linked sync. */
static void check_failed_write_cancels_sync(enum backend backend)
{
    struct fixture fix;
    fixture_open(&fix, backend_create(backend, 8));
    struct log_io *io = fix.io;
    int read_only_fd = -1;
    T_ASSERT_OK(io->ops->open(io, fix.path, O_RDONLY, 0, &read_only_fd));
    unsigned char data[100];
    pattern_fill(data, sizeof(data), 5);
    int owner = 0;
    T_ASSERT_OK(io->ops->submit_write(io, read_only_fd, data, sizeof(data), 0, true, &owner, 7));
    struct log_io_completion done[2];
    reap_exactly(io, done, 2);
    expect_done(find_done(done, 2, 7, LOG_IO_OP_WRITE), &owner, RILL_ERR_IO, EBADF, 0);
    expect_done(find_done(done, 2, 7, LOG_IO_OP_SYNC), &owner, RILL_ERR_IO, ECANCELED, 0);
    io->ops->close(io, read_only_fd);
    fixture_close(&fix);
}

#define BOTH_BACKENDS(check)        \
    static void check##_uring(void) \
    {                               \
        check(BACKEND_URING);       \
    }                               \
    static void check##_fault(void) \
    {                               \
        check(BACKEND_FAULT);       \
    }

BOTH_BACKENDS(check_write_sync_completions)
BOTH_BACKENDS(check_many_in_flight)
BOTH_BACKENDS(check_reap_idle)
BOTH_BACKENDS(check_submit_full)
BOTH_BACKENDS(check_sync_calls)
BOTH_BACKENDS(check_failed_write_cancels_sync)

static void t_uring_rejects_tiny_ring(void)
{
    uring_available_or_skip();
    struct log_io *io = NULL;
    T_ASSERT_EQ_INT(log_io_uring_create(1, &io), RILL_ERR_INVALID);
    T_ASSERT(io == NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Fault injection                                                                            */
/* ---------------------------------------------------------------------------------------- */

static void t_fault_plan_invalid(void)
{
    struct log_io *io = NULL;
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_WRITE, .fail_at = 1 };
    T_ASSERT_EQ_INT(log_io_fault_create(&plan, &io), RILL_ERR_INVALID); /* fail_err unset */
    plan.fail_err = RILL_ERR_IO;
    plan.fail_target = (enum log_io_fault_target)7;
    T_ASSERT_EQ_INT(log_io_fault_create(&plan, &io), RILL_ERR_INVALID);
    T_ASSERT(io == NULL);
}

static void t_fault_op_count(void)
{
    struct fixture fix;
    fixture_open(&fix, fault_create(NULL)); /* op 1: open with O_CREAT */
    struct log_io *io = fix.io;
    unsigned char data[64];
    pattern_fill(data, sizeof(data), 6);
    int read_fd = -1;
    T_ASSERT_OK(io->ops->open(io, fix.path, O_RDONLY, 0, &read_fd));
    size_t got = 0;
    uint64_t bytes = 0;
    T_ASSERT_OK(io->ops->pread(io, read_fd, data, sizeof(data), 0, &got));
    T_ASSERT_OK(io->ops->file_bytes(io, read_fd, &bytes));
    io->ops->close(io, read_fd);
    T_ASSERT_EQ_INT(log_io_fault_op_count(io), 1);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, sizeof(data), 0));           /* 2 */
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));                               /* 3 */
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, data, 8, 0, true, NULL, 1)); /* 4, 5 */
    T_ASSERT_OK(io->ops->submit_sync(io, fix.fd, NULL, 2));                    /* 6 */
    T_ASSERT_OK(io->ops->ftruncate(io, fix.fd, 10));                           /* 7 */
    char renamed[600];
    snprintf(renamed, sizeof(renamed), "%s/renamed.log", fix.dir);
    T_ASSERT_OK(io->ops->rename(io, fix.path, renamed)); /* 8 */
    T_ASSERT_OK(io->ops->sync_dir(io, fix.dir));         /* 9 */
    T_ASSERT_OK(io->ops->unlink(io, renamed));           /* 10 */
    T_ASSERT_EQ_INT(log_io_fault_op_count(io), 10);
    T_ASSERT(!log_io_fault_crashed(io));
    struct log_io_completion done[3];
    reap_exactly(io, done, 3);
    fixture_close(&fix);
}

static void t_fault_eio_nth_pwrite(void)
{
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_WRITE,
                                      .fail_at = 2,
                                      .fail_err = RILL_ERR_IO };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan));
    struct log_io *io = fix.io;
    unsigned char data[300];
    pattern_fill(data, sizeof(data), 7);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, 100, 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd)); /* syncs are not targeted */
    T_ASSERT_EQ_INT(io->ops->pwrite(io, fix.fd, data + 100, 100, 100), RILL_ERR_IO);
    expect_content(io, fix.fd, data, 100); /* the failed write wrote nothing */
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data + 100, 200, 100));
    expect_content(io, fix.fd, data, 300);
    fixture_close(&fix);
}

static void t_fault_enospc_nth_submitted_write(void)
{
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_WRITE,
                                      .fail_at = 2,
                                      .fail_err = RILL_ERR_NOSPC };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan));
    struct log_io *io = fix.io;
    unsigned char data[300];
    pattern_fill(data, sizeof(data), 8);
    int owner = 0;
    for (unsigned i = 0; i < 3; i++) {
        T_ASSERT_OK(
            io->ops->submit_write(io, fix.fd, data + 100 * i, 100, 100 * i, true, &owner, i));
    }
    struct log_io_completion done[6];
    reap_exactly(io, done, 6);
    /* The fault backend keeps io_uring's order: each write, then its sync. */
    T_ASSERT_EQ_INT(done[0].op, LOG_IO_OP_WRITE);
    T_ASSERT_EQ_INT(done[1].op, LOG_IO_OP_SYNC);
    expect_done(&done[0], &owner, RILL_OK, 0, 100);
    expect_done(&done[1], &owner, RILL_OK, 0, 0);
    expect_done(&done[2], &owner, RILL_ERR_NOSPC, ENOSPC, 0);
    expect_done(&done[3], &owner, RILL_ERR_IO, ECANCELED, 0);
    expect_done(&done[4], &owner, RILL_OK, 0, 100);
    expect_done(&done[5], &owner, RILL_OK, 0, 0);
    T_ASSERT_EQ_INT(done[2].cookie, 1);
    T_ASSERT_EQ_INT(log_io_fault_op_count(io), 7);
    unsigned char expected[300];
    memcpy(expected, data, sizeof(expected));
    memset(expected + 100, 0, 100); /* a hole where the failed write should have gone */
    expect_content(io, fix.fd, expected, sizeof(expected));
    fixture_close(&fix);
}

static void t_fault_eio_nth_sync(void)
{
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_SYNC,
                                      .fail_at = 2,
                                      .fail_err = RILL_ERR_IO };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan));
    struct log_io *io = fix.io;
    unsigned char data[100];
    pattern_fill(data, sizeof(data), 9);
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));                                 /* sync 1 */
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, data, 100, 0, true, NULL, 1)); /* sync 2 */
    T_ASSERT_OK(io->ops->submit_sync(io, fix.fd, NULL, 2));                      /* sync 3 */
    struct log_io_completion done[3];
    reap_exactly(io, done, 3);
    expect_done(&done[0], NULL, RILL_OK, 0, 100);
    expect_done(&done[1], NULL, RILL_ERR_IO, EIO, 0);
    expect_done(&done[2], NULL, RILL_OK, 0, 0);
    fixture_close(&fix);

    plan.fail_at = 1;
    plan.fail_err = RILL_ERR_NOSPC;
    fixture_open(&fix, fault_create(&plan));
    io = fix.io;
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, 100, 0));
    T_ASSERT_EQ_INT(io->ops->fdatasync(io, fix.fd), RILL_ERR_NOSPC);
    /* A failed sync covers nothing: a power loss still undoes the write. */
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    T_ASSERT_EQ_INT(file_size(fix.path), 0);
    T_ASSERT_EQ_INT(io->ops->sync_dir(io, fix.dir), RILL_OK); /* sync 2: not failed again */
    fixture_close(&fix);
}

static void t_fault_short_pwrite(void)
{
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_WRITE,
                                      .fail_at = 1,
                                      .fail_err = RILL_ERR_NOSPC,
                                      .short_write = true };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan));
    struct log_io *io = fix.io;
    unsigned char data[100];
    pattern_fill(data, sizeof(data), 10);
    T_ASSERT_EQ_INT(io->ops->pwrite(io, fix.fd, data, sizeof(data), 0), RILL_ERR_NOSPC);
    expect_content(io, fix.fd, data, 50);
    fixture_close(&fix);
}

static void t_fault_short_submitted_write(void)
{
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_WRITE,
                                      .fail_at = 1,
                                      .fail_err = RILL_ERR_IO,
                                      .short_write = true };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan));
    struct log_io *io = fix.io;
    unsigned char data[101];
    pattern_fill(data, sizeof(data), 11);
    int owner = 0;
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, data, sizeof(data), 0, true, &owner, 5));
    struct log_io_completion done[2];
    reap_exactly(io, done, 2);
    /* As io_uring reports it: cqe->res below the request, and the linked sync cancelled. */
    expect_done(&done[0], &owner, RILL_ERR_IO, 0, 50);
    expect_done(&done[1], &owner, RILL_ERR_IO, ECANCELED, 0);
    expect_content(io, fix.fd, data, 50);
    fixture_close(&fix);
}

static void t_fault_fail_always_after(void)
{
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_WRITE,
                                      .fail_at = 2,
                                      .fail_always_after = true,
                                      .fail_err = RILL_ERR_IO };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan));
    struct log_io *io = fix.io;
    unsigned char data[10] = { 0 };
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, sizeof(data), 0));
    for (unsigned i = 0; i < 5; i++) {
        T_ASSERT_EQ_INT(io->ops->pwrite(io, fix.fd, data, sizeof(data), 10), RILL_ERR_IO);
        T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    }
    T_ASSERT_EQ_INT(file_size(fix.path), 10);
    fixture_close(&fix);
}

static void t_fault_target_any(void)
{
    struct log_io_fault_plan plan = { .fail_target = LOG_IO_FAULT_ANY,
                                      .fail_at = 1,
                                      .fail_err = RILL_ERR_IO };
    struct log_io *io = fault_create(&plan);
    char dir[256], path[512];
    t_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/data.log", dir);
    int fd = -1;
    T_ASSERT_EQ_INT(io->ops->open(io, path, O_RDWR | O_CREAT, 0644, &fd), RILL_ERR_IO);
    T_ASSERT_EQ_INT(fd, -1);
    T_ASSERT(access(path, F_OK) != 0); /* the failed open created nothing */
    T_ASSERT_OK(io->ops->open(io, path, O_RDWR | O_CREAT, 0644, &fd));
    io->ops->close(io, fd);
    io->ops->destroy(io);
    t_rmdir_all(dir);
}

static void t_fault_crash_after(void)
{
    struct log_io_fault_plan plan = { .crash_after = 3 };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan)); /* 1 */
    struct log_io *io = fix.io;
    unsigned char data[20];
    pattern_fill(data, sizeof(data), 12);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, 10, 0)); /* 2 */
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));           /* 3 */
    T_ASSERT(!log_io_fault_crashed(io));
    T_ASSERT_EQ_INT(io->ops->pwrite(io, fix.fd, data + 10, 10, 10), RILL_ERR_CRASHED); /* 4 */
    T_ASSERT(log_io_fault_crashed(io));
    T_ASSERT_EQ_INT(io->ops->submit_write(io, fix.fd, data, 10, 10, true, NULL, 1),
                    RILL_ERR_CRASHED); /* 5 */
    T_ASSERT_EQ_INT(io->in_flight, 0);
    T_ASSERT_EQ_INT(io->ops->submit_sync(io, fix.fd, NULL, 2), RILL_ERR_CRASHED); /* 6 */
    T_ASSERT_EQ_INT(io->ops->ftruncate(io, fix.fd, 0), RILL_ERR_CRASHED);         /* 7 */
    T_ASSERT_EQ_INT(io->ops->unlink(io, fix.path), RILL_ERR_CRASHED);             /* 8 */
    T_ASSERT_EQ_INT(log_io_fault_op_count(io), 8);
    /* Nothing after the crash point touched the file, and reading still works. */
    expect_content(io, fix.fd, data, 10);
    uint64_t bytes = 0;
    T_ASSERT_OK(io->ops->file_bytes(io, fix.fd, &bytes));
    T_ASSERT_EQ_INT(bytes, 10);
    unsigned count = 9;
    struct log_io_completion done[2];
    T_ASSERT_OK(io->ops->reap(io, done, 2, true, &count));
    T_ASSERT_EQ_INT(count, 0);
    fixture_close(&fix);
}

/* Crash point between a write and its linked sync: the data is written but never durable. */
static void t_fault_crash_between_write_and_sync(void)
{
    struct log_io_fault_plan plan = { .crash_after = 2 };
    struct fixture fix;
    fixture_open(&fix, fault_create(&plan)); /* 1 */
    struct log_io *io = fix.io;
    unsigned char data[10];
    pattern_fill(data, sizeof(data), 13);
    T_ASSERT_EQ_INT(io->ops->submit_write(io, fix.fd, data, 10, 0, true, NULL, 1),
                    RILL_ERR_CRASHED); /* 2 write, 3 sync */
    T_ASSERT_EQ_INT(io->in_flight, 0);
    T_ASSERT_EQ_INT(log_io_fault_op_count(io), 3);
    expect_content(io, fix.fd, data, 10);
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    T_ASSERT_EQ_INT(file_size(fix.path), 0);
    fixture_close(&fix);
}

/* ---------------------------------------------------------------------------------------- */
/* Power loss                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* The whole content of path, through plain syscalls: the io may be gone. */
static size_t read_whole(const char *path, unsigned char *buf, size_t buf_bytes)
{
    int fd = open(path, O_RDONLY);
    T_ASSERT(fd >= 0);
    ssize_t got = pread(fd, buf, buf_bytes, 0);
    T_ASSERT(got >= 0 && (size_t)got < buf_bytes);
    close(fd);
    return (size_t)got;
}

static void t_power_loss_synced_survives(void)
{
    struct fixture fix;
    fixture_open(&fix, fault_create(NULL));
    struct log_io *io = fix.io;
    unsigned char data[400];
    pattern_fill(data, sizeof(data), 14);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, 100, 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, data + 100, 100, 100, true, NULL, 1));
    struct log_io_completion done[2];
    reap_exactly(io, done, 2);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data + 200, 200, 200)); /* never synced */
    io->ops->close(io, fix.fd);                                     /* undone by path */
    for (uint64_t seed = 0; seed < 8; seed++) {
        T_ASSERT_OK(log_io_fault_power_loss(io, seed));
        unsigned char back[1024];
        size_t bytes = read_whole(fix.path, back, sizeof(back));
        T_ASSERT(bytes >= 200);
        T_ASSERT_MEM_EQ(back, data, bytes); /* both synced writes, maybe part of the third */
    }
    T_ASSERT_OK(io->ops->open(io, fix.path, O_RDWR, 0, &fix.fd));
    fixture_close(&fix);
}

/* Seed 0 keeps nothing unsynced: overwrites are rolled back and extensions cut off. */
static void t_power_loss_undoes_unsynced(void)
{
    struct fixture fix;
    fixture_open(&fix, fault_create(NULL));
    struct log_io *io = fix.io;
    unsigned char synced[100], later[300];
    pattern_fill(synced, sizeof(synced), 15);
    pattern_fill(later, sizeof(later), 16);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, synced, sizeof(synced), 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, later, 60, 20));                        /* overwrite */
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, later, 250, 50, false, NULL, 1)); /* extend */
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, later, 10, 1000)); /* past a hole */
    struct log_io_completion done[1];
    reap_exactly(io, done, 1);
    T_ASSERT_EQ_INT(file_size(fix.path), 1010);
    /* A second file created and written but never synced: creation is durable, data is not. */
    char other[600];
    snprintf(other, sizeof(other), "%s/other.log", fix.dir);
    int other_fd = -1;
    T_ASSERT_OK(io->ops->open(io, other, O_RDWR | O_CREAT, 0644, &other_fd));
    T_ASSERT_OK(io->ops->pwrite(io, other_fd, later, 300, 0));
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    T_ASSERT_EQ_INT(file_size(fix.path), sizeof(synced));
    expect_content(io, fix.fd, synced, sizeof(synced));
    T_ASSERT_EQ_INT(file_size(other), 0);
    /* The journal was consumed: a second power loss changes nothing. */
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    expect_content(io, fix.fd, synced, sizeof(synced));
    io->ops->close(io, other_fd);
    fixture_close(&fix);
}

/* ftruncate is durable at once: undoing earlier writes must not resurrect bytes past it. */
static void t_power_loss_truncate(void)
{
    struct fixture fix;
    fixture_open(&fix, fault_create(NULL));
    struct log_io *io = fix.io;
    unsigned char synced[100], later[200];
    pattern_fill(synced, sizeof(synced), 17);
    pattern_fill(later, sizeof(later), 18);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, synced, sizeof(synced), 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, later, 150, 50)); /* [50, 200) */
    T_ASSERT_OK(io->ops->ftruncate(io, fix.fd, 120));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, later, 10, 120)); /* [120, 130) */
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    unsigned char expected[120];
    memcpy(expected, synced, sizeof(synced));
    memset(expected + 100, 0, 20); /* extended by the lost write, kept by the truncate */
    expect_content(io, fix.fd, expected, sizeof(expected));

    /* A shrinking truncate: the synced prefix below it comes back, nothing beyond. */
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, later, 120, 0));
    T_ASSERT_OK(io->ops->ftruncate(io, fix.fd, 30));
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    expect_content(io, fix.fd, expected, 30);
    fixture_close(&fix);
}

/* Pre-images come through a write-only descriptor too, and empty writes change nothing. */
static void t_power_loss_write_only_and_empty_writes(void)
{
    struct fixture fix;
    fixture_open(&fix, fault_create(NULL));
    struct log_io *io = fix.io;
    io->ops->close(io, fix.fd);
    T_ASSERT_OK(io->ops->open(io, fix.path, O_WRONLY, 0, &fix.fd));
    unsigned char synced[50], later[50];
    memset(synced, 'A', sizeof(synced));
    memset(later, 'B', sizeof(later));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, synced, sizeof(synced), 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, later, sizeof(later), 0));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, later, 0, 10));
    T_ASSERT_OK(io->ops->submit_write(io, fix.fd, later, 0, 20, false, NULL, 1));
    struct log_io_completion done[1];
    reap_exactly(io, done, 1);
    expect_done(&done[0], NULL, RILL_OK, 0, 0);
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    unsigned char back[128];
    T_ASSERT_EQ_INT(read_whole(fix.path, back, sizeof(back)), sizeof(synced));
    T_ASSERT_MEM_EQ(back, synced, sizeof(synced));
    fixture_close(&fix);
}

/* The write-temp-then-rename pattern without a sync: the new name holds an empty file. */
static void t_power_loss_follows_rename(void)
{
    struct fixture fix;
    fixture_open(&fix, fault_create(NULL));
    struct log_io *io = fix.io;
    unsigned char data[100];
    pattern_fill(data, sizeof(data), 19);
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, sizeof(data), 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fix.fd));
    char temporary[600];
    snprintf(temporary, sizeof(temporary), "%s/data.tmp", fix.dir);
    int temporary_fd = -1;
    T_ASSERT_OK(io->ops->open(io, temporary, O_RDWR | O_CREAT | O_TRUNC, 0644, &temporary_fd));
    T_ASSERT_OK(io->ops->pwrite(io, temporary_fd, data, 50, 0));
    io->ops->close(io, temporary_fd);
    T_ASSERT_OK(io->ops->rename(io, temporary, fix.path));
    T_ASSERT_OK(io->ops->pwrite(io, fix.fd, data, 10, 100)); /* the replaced file: forgotten */
    T_ASSERT_OK(log_io_fault_power_loss(io, 0));
    T_ASSERT_EQ_INT(file_size(fix.path), 0);
    fixture_close(&fix);
}

/*
 * Prefix consistency. Eight unsynced writes over two files (appends, overwrites, a hole); after
 * a power loss both files must equal the synced state plus writes 1..k-1 and a prefix of write
 * k, for one k, in global write order.
 */
struct planned_write {
    unsigned file; /* 0 or 1 */
    uint32_t offset;
    uint32_t bytes;
    unsigned char fill;
};

static const struct planned_write planned[] = {
    { 0, 64, 100, 'c' }, { 1, 0, 50, 'd' },  { 0, 10, 30, 'e' },  { 0, 164, 40, 'f' },
    { 1, 25, 50, 'g' },  { 0, 0, 200, 'h' }, { 1, 100, 20, 'i' }, { 0, 204, 10, 'j' },
};

#define PLANNED_COUNT ((unsigned)(sizeof(planned) / sizeof(planned[0])))
#define MODEL_BYTES   512u

struct model_file {
    unsigned char content[MODEL_BYTES];
    size_t bytes;
};

static void model_apply(struct model_file *files, const struct planned_write *w, uint32_t bytes)
{
    struct model_file *file = &files[w->file];
    memset(file->content + w->offset, w->fill, bytes);
    if (w->offset + bytes > file->bytes) {
        file->bytes = w->offset + bytes;
    }
}

/* The synced state: file 0 holds 64 'A', file 1 is empty. */
static void model_base(struct model_file *files)
{
    memset(files, 0, 2 * sizeof(*files));
    memset(files[0].content, 'A', 64);
    files[0].bytes = 64;
}

static bool model_matches(const struct model_file *model, const struct model_file *actual)
{
    for (unsigned f = 0; f < 2; f++) {
        if (model[f].bytes != actual[f].bytes ||
            memcmp(model[f].content, actual[f].content, model[f].bytes) != 0) {
            return false;
        }
    }
    return true;
}

/* Returns k, and *out_torn when write k survived only in part; fails if no k explains it. */
static unsigned model_explain(const struct model_file *actual, bool *out_torn)
{
    for (unsigned kept = 0; kept <= PLANNED_COUNT; kept++) {
        uint32_t last_bytes = kept > 0 ? planned[kept - 1].bytes : 1;
        for (uint32_t torn = 1; torn <= last_bytes; torn++) {
            struct model_file model[2];
            model_base(model);
            for (unsigned i = 0; i + 1 < kept; i++) {
                model_apply(model, &planned[i], planned[i].bytes);
            }
            if (kept > 0) {
                model_apply(model, &planned[kept - 1], torn);
            }
            if (model_matches(model, actual)) {
                *out_torn = kept > 0 && torn < last_bytes;
                return kept;
            }
        }
    }
    T_FAIL("power loss left a state that no prefix of the writes explains");
}

static void power_loss_run(uint64_t seed, struct model_file *actual)
{
    struct fixture fix;
    fixture_open(&fix, fault_create(NULL));
    struct log_io *io = fix.io;
    char other[600];
    snprintf(other, sizeof(other), "%s/other.log", fix.dir);
    int fds[2] = { fix.fd, -1 };
    T_ASSERT_OK(io->ops->open(io, other, O_RDWR | O_CREAT, 0644, &fds[1]));
    unsigned char base[64];
    memset(base, 'A', sizeof(base));
    T_ASSERT_OK(io->ops->pwrite(io, fds[0], base, sizeof(base), 0));
    T_ASSERT_OK(io->ops->fdatasync(io, fds[0]));
    static unsigned char fills[PLANNED_COUNT][256];
    for (unsigned i = 0; i < PLANNED_COUNT; i++) {
        const struct planned_write *w = &planned[i];
        memset(fills[i], w->fill, w->bytes);
        if (i % 2 == 0) {
            T_ASSERT_OK(io->ops->pwrite(io, fds[w->file], fills[i], w->bytes, w->offset));
        } else {
            T_ASSERT_OK(io->ops->submit_write(io, fds[w->file], fills[i], w->bytes, w->offset,
                                              false, NULL, i));
        }
    }
    struct log_io_completion done[PLANNED_COUNT];
    reap_exactly(io, done, PLANNED_COUNT / 2);
    io->ops->close(io, fds[1]);
    T_ASSERT_OK(log_io_fault_power_loss(io, seed));
    actual[0].bytes = read_whole(fix.path, actual[0].content, MODEL_BYTES);
    actual[1].bytes = read_whole(other, actual[1].content, MODEL_BYTES);
    fixture_close(&fix);
}

static void t_power_loss_keeps_a_prefix(void)
{
    unsigned kept_seen[PLANNED_COUNT + 1] = { 0 };
    unsigned torn_seen = 0;
    for (uint64_t seed = 0; seed < 64; seed++) {
        struct model_file actual[2];
        power_loss_run(seed, actual);
        bool torn = false;
        unsigned kept = model_explain(actual, &torn);
        T_ASSERT(seed != 0 || kept == 0);
        kept_seen[kept]++;
        torn_seen += torn ? 1 : 0;
    }
    /* The seeds must actually explore: none kept, some proper prefixes, all kept, torn. */
    unsigned proper_prefixes = 0;
    for (unsigned kept = 1; kept < PLANNED_COUNT; kept++) {
        proper_prefixes += kept_seen[kept] > 0 ? 1 : 0;
    }
    T_ASSERT(kept_seen[0] > 0);
    T_ASSERT(proper_prefixes >= 3);
    T_ASSERT(torn_seen > 0);
}

static const struct t_case cases[] = {
    T_CASE(check_write_sync_completions_uring),
    T_CASE(check_write_sync_completions_fault),
    T_CASE(check_many_in_flight_uring),
    T_CASE(check_many_in_flight_fault),
    T_CASE(check_reap_idle_uring),
    T_CASE(check_reap_idle_fault),
    T_CASE(check_submit_full_uring),
    T_CASE(check_submit_full_fault),
    T_CASE(check_sync_calls_uring),
    T_CASE(check_sync_calls_fault),
    T_CASE(check_failed_write_cancels_sync_uring),
    T_CASE(check_failed_write_cancels_sync_fault),
    T_CASE(t_uring_rejects_tiny_ring),
    T_CASE(t_fault_plan_invalid),
    T_CASE(t_fault_op_count),
    T_CASE(t_fault_eio_nth_pwrite),
    T_CASE(t_fault_enospc_nth_submitted_write),
    T_CASE(t_fault_eio_nth_sync),
    T_CASE(t_fault_short_pwrite),
    T_CASE(t_fault_short_submitted_write),
    T_CASE(t_fault_fail_always_after),
    T_CASE(t_fault_target_any),
    T_CASE(t_fault_crash_after),
    T_CASE(t_fault_crash_between_write_and_sync),
    T_CASE(t_power_loss_synced_survives),
    T_CASE(t_power_loss_undoes_unsynced),
    T_CASE(t_power_loss_truncate),
    T_CASE(t_power_loss_follows_rename),
    T_CASE(t_power_loss_write_only_and_empty_writes),
    T_CASE(t_power_loss_keeps_a_prefix),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
