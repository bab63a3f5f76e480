/*
 * io_uring.c - the real disk I/O backend of log/io.h.
 *
 * Synchronous calls are plain syscalls: they are rare (open, roll, recovery) and gain nothing
 * from a ring. The append path goes through one io_uring:
 *   - every submitted operation owns a record from a pool allocated at create time and sized to
 *     the submission queue, so nothing is allocated per append and at most ring_entries
 *     operations are in flight; the completion queue is twice that size, so it cannot overflow;
 *   - a durable append is a write SQE with IOSQE_IO_LINK followed by an fdatasync SQE: the
 *     kernel does not order an fsync after an unlinked earlier write (io_uring_enter(2)), the
 *     link does, and a failed or short write cancels the sync (-ECANCELED);
 *   - completions are translated once here; a short write is reported, never resubmitted, and
 *     a failed fsync is never retried (after a writeback error a later fsync may succeed with
 *     the data gone, so only the caller can decide: fail-stop).
 *
 * If io_uring_submit() leaves SQEs unconsumed, they sit in the SQ ring where any later submit
 * would push them to the kernel. Rather than guess what the kernel did, the backend turns
 * broken: those operations complete with the submit error (so no caller waits forever for a
 * CQE that cannot come), and every later submission fails with that error.
 */
#include "log/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>

#include "common/assert.h"
#include "common/err.h"
#include "log/io_sys.h"

/* Bounded retries of io_uring_submit() when the kernel reports a transient condition. */
#define URING_SUBMIT_ATTEMPTS_MAX 8u

/* Operations one submit_* call queues at most: a write and its linked sync. */
#define URING_BATCH_OPS_MAX 2u

#define URING_OP_NONE UINT32_MAX

struct uring_op {
    void *owner;              /* as given to submit_* */
    uint64_t cookie;          /* as given to submit_* */
    enum log_io_op op;        /* LOG_IO_OP_WRITE or LOG_IO_OP_SYNC */
    uint32_t bytes_requested; /* write size, to detect a short write */
    uint32_t next_free;       /* pool free list link, URING_OP_NONE at the end */
};

struct uring_io {
    struct log_io io; /* first member: a struct log_io * is a struct uring_io * */
    struct io_uring ring;
    struct uring_op *ops;   /* pool of op_capacity records */
    uint32_t op_capacity;   /* == submission queue entries */
    uint32_t op_free_first; /* head of the free list */
    uint32_t op_free_count; /* records on the free list */
    rill_err broken_err;    /* RILL_OK, or why submission failed: every later submit fails */
    int broken_errno;       /* raw errno behind broken_err */
    struct log_io_completion orphans[URING_BATCH_OPS_MAX]; /* ops the kernel never took */
    unsigned orphan_count;
};

static struct uring_io *uring_io_of(struct log_io *io)
{
    return (struct uring_io *)io;
}

/* ---------------------------------------------------------------------------------------- */
/* Synchronous calls                                                                          */
/* ---------------------------------------------------------------------------------------- */

static rill_err uring_open(struct log_io *io, const char *path, int flags, int mode, int *out_fd)
{
    (void)io;
    int fd;
    do {
        fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return rill_err_from_errno(errno);
    }
    *out_fd = fd;
    return RILL_OK;
}

static void uring_close(struct log_io *io, int fd)
{
    (void)io;
    /* Linux releases the descriptor even when close() fails: retrying could close another. */
    (void)close(fd);
}

static rill_err
uring_pread(struct log_io *io, int fd, void *buf, size_t bytes, uint64_t offset, size_t *out_bytes)
{
    (void)io;
    if (!io_sys_range_fits(offset, bytes)) {
        return RILL_ERR_INVALID;
    }
    return rill_err_from_errno(io_sys_pread_all(fd, buf, bytes, offset, out_bytes));
}

static rill_err
uring_pwrite(struct log_io *io, int fd, const void *buf, size_t bytes, uint64_t offset)
{
    (void)io;
    if (!io_sys_range_fits(offset, bytes)) {
        return RILL_ERR_INVALID;
    }
    size_t written_bytes = 0;
    return rill_err_from_errno(io_sys_pwrite_all(fd, buf, bytes, offset, &written_bytes));
}

/* Never retried, not even on EINTR: a failed sync may already have dropped dirty pages. */
static rill_err uring_fdatasync(struct log_io *io, int fd)
{
    (void)io;
    if (fdatasync(fd) != 0) {
        return rill_err_from_errno(errno);
    }
    return RILL_OK;
}

static rill_err uring_ftruncate(struct log_io *io, int fd, uint64_t bytes)
{
    (void)io;
    if (!io_sys_range_fits(0, bytes)) {
        return RILL_ERR_INVALID;
    }
    return rill_err_from_errno(io_sys_ftruncate(fd, bytes));
}

static rill_err uring_file_bytes(struct log_io *io, int fd, uint64_t *out_bytes)
{
    (void)io;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return rill_err_from_errno(errno);
    }
    *out_bytes = (uint64_t)st.st_size;
    return RILL_OK;
}

static rill_err uring_unlink(struct log_io *io, const char *path)
{
    (void)io;
    if (unlink(path) != 0) {
        return rill_err_from_errno(errno);
    }
    return RILL_OK;
}

static rill_err uring_rename(struct log_io *io, const char *from, const char *to)
{
    (void)io;
    if (rename(from, to) != 0) {
        return rill_err_from_errno(errno);
    }
    return RILL_OK;
}

static rill_err uring_sync_dir(struct log_io *io, const char *path)
{
    (void)io;
    return rill_err_from_errno(io_sys_sync_dir(path));
}

/* ---------------------------------------------------------------------------------------- */
/* Operation pool                                                                             */
/* ---------------------------------------------------------------------------------------- */

static struct uring_op *op_take(
    struct uring_io *uio, enum log_io_op op, void *owner, uint64_t cookie, uint32_t bytes_requested)
{
    RILL_ASSERT(uio->op_free_count > 0);
    RILL_ASSERT(uio->op_free_first != URING_OP_NONE);
    struct uring_op *rec = &uio->ops[uio->op_free_first];
    uio->op_free_first = rec->next_free;
    uio->op_free_count--;
    rec->owner = owner;
    rec->cookie = cookie;
    rec->op = op;
    rec->bytes_requested = bytes_requested;
    rec->next_free = URING_OP_NONE;
    return rec;
}

static void op_release(struct uring_io *uio, struct uring_op *rec)
{
    RILL_ASSERT(rec >= uio->ops && rec < uio->ops + uio->op_capacity);
    RILL_ASSERT(uio->op_free_count < uio->op_capacity);
    rec->next_free = uio->op_free_first;
    uio->op_free_first = (uint32_t)(rec - uio->ops);
    uio->op_free_count++;
}

/* ---------------------------------------------------------------------------------------- */
/* Submission                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/*
 * Completes the last `unconsumed` operations of batch with err, because their SQEs never
 * reached the kernel, and marks the backend broken so that nothing pushes them there later.
 */
static void ring_orphan(struct uring_io *uio,
                        struct uring_op *const *batch,
                        unsigned batch_count,
                        unsigned unconsumed,
                        rill_err err,
                        int errno_value)
{
    RILL_ASSERT(unconsumed <= batch_count);
    RILL_ASSERT(uio->orphan_count + unconsumed <= URING_BATCH_OPS_MAX);
    uio->broken_err = err;
    uio->broken_errno = errno_value;
    for (unsigned i = batch_count - unconsumed; i < batch_count; i++) {
        struct log_io_completion *done = &uio->orphans[uio->orphan_count++];
        *done = (struct log_io_completion){
            .owner = batch[i]->owner,
            .cookie = batch[i]->cookie,
            .op = batch[i]->op,
            .err = err,
            .errno_value = errno_value,
            .bytes = 0,
        };
        op_release(uio, batch[i]);
    }
}

/*
 * Submits the SQEs just prepared for batch. Transient refusals (EINTR, EAGAIN, EBUSY) are
 * retried a bounded number of times; whatever the kernel still has not consumed then is
 * completed as an error (ring_orphan) instead of being left to hang a reaper.
 */
static void
ring_submit_batch(struct uring_io *uio, struct uring_op *const *batch, unsigned batch_count)
{
    int ret = 0;
    for (unsigned attempt = 0; attempt < URING_SUBMIT_ATTEMPTS_MAX; attempt++) {
        ret = io_uring_submit(&uio->ring);
        if (io_uring_sq_ready(&uio->ring) == 0) {
            return;
        }
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            break;
        }
    }
    unsigned unconsumed = io_uring_sq_ready(&uio->ring);
    int errno_value = ret < 0 ? -ret : EAGAIN;
    rill_err err = rill_err_from_errno(errno_value);
    if (err == RILL_ERR_AGAIN || err == RILL_OK) {
        err = RILL_ERR_IO; /* the operation is lost, not postponed: nothing may retry it */
    }
    ring_orphan(uio, batch, batch_count, unconsumed, err, errno_value);
}

/* Makes room for `needed` SQEs; only possible leftovers are SQEs of an earlier call. */
static rill_err ring_reserve(struct uring_io *uio, unsigned needed)
{
    if (uio->broken_err != RILL_OK) {
        return uio->broken_err;
    }
    if (uio->op_free_count < needed) {
        return RILL_ERR_FULL;
    }
    if (io_uring_sq_space_left(&uio->ring) < needed) {
        int ret = io_uring_submit(&uio->ring);
        if (ret < 0) {
            return rill_err_from_errno(-ret);
        }
        if (io_uring_sq_space_left(&uio->ring) < needed) {
            return RILL_ERR_FULL;
        }
    }
    return RILL_OK;
}

static struct io_uring_sqe *ring_sqe(struct uring_io *uio)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&uio->ring);
    RILL_ASSERT(sqe != NULL); /* ring_reserve() checked the space */
    return sqe;
}

static rill_err uring_submit_write(struct log_io *io,
                                   int fd,
                                   const void *buf,
                                   uint32_t bytes,
                                   uint64_t offset,
                                   bool sync,
                                   void *owner,
                                   uint64_t cookie)
{
    struct uring_io *uio = uring_io_of(io);
    RILL_ASSERT(buf != NULL || bytes == 0);
    if (!io_sys_range_fits(offset, bytes)) {
        return RILL_ERR_INVALID;
    }
    unsigned batch_count = sync ? 2 : 1;
    rill_err err = ring_reserve(uio, batch_count);
    if (err != RILL_OK) {
        return err;
    }
    struct uring_op *batch[URING_BATCH_OPS_MAX];
    batch[0] = op_take(uio, LOG_IO_OP_WRITE, owner, cookie, bytes);
    struct io_uring_sqe *sqe = ring_sqe(uio);
    io_uring_prep_write(sqe, fd, buf, bytes, offset);
    io_uring_sqe_set_data(sqe, batch[0]);
    if (sync) {
        /* The link makes the sync start after the write completes, and cancels it when the
         * write fails or is short. */
        io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
        batch[1] = op_take(uio, LOG_IO_OP_SYNC, owner, cookie, 0);
        sqe = ring_sqe(uio);
        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data(sqe, batch[1]);
    }
    io->in_flight += batch_count;
    ring_submit_batch(uio, batch, batch_count);
    return RILL_OK;
}

static rill_err uring_submit_sync(struct log_io *io, int fd, void *owner, uint64_t cookie)
{
    struct uring_io *uio = uring_io_of(io);
    rill_err err = ring_reserve(uio, 1);
    if (err != RILL_OK) {
        return err;
    }
    struct uring_op *batch[1];
    batch[0] = op_take(uio, LOG_IO_OP_SYNC, owner, cookie, 0);
    struct io_uring_sqe *sqe = ring_sqe(uio);
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data(sqe, batch[0]);
    io->in_flight += 1;
    ring_submit_batch(uio, batch, 1);
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Completion                                                                                 */
/* ---------------------------------------------------------------------------------------- */

static struct log_io_completion completion_from_cqe(const struct uring_op *rec,
                                                    const struct io_uring_cqe *cqe)
{
    struct log_io_completion done = {
        .owner = rec->owner,
        .cookie = rec->cookie,
        .op = rec->op,
        .err = RILL_OK,
        .errno_value = 0,
        .bytes = 0,
    };
    if (cqe->res < 0) {
        done.errno_value = -cqe->res;
        /* A sync cancelled because its linked write failed did not make anything durable. */
        done.err = cqe->res == -ECANCELED ? RILL_ERR_IO : rill_err_from_errno(-cqe->res);
        return done;
    }
    if (rec->op == LOG_IO_OP_WRITE) {
        done.bytes = (uint32_t)cqe->res;
        if ((uint32_t)cqe->res < rec->bytes_requested) {
            done.err = RILL_ERR_IO; /* short write: reported, never resubmitted */
        }
    }
    return done;
}

/* Waits for one CQE; EINTR only means a signal arrived, so the wait goes on. */
static rill_err ring_wait(struct uring_io *uio)
{
    struct io_uring_cqe *cqe = NULL;
    int ret;
    do {
        ret = io_uring_wait_cqe(&uio->ring, &cqe);
    } while (ret == -EINTR);
    if (ret < 0) {
        return rill_err_from_errno(-ret);
    }
    return RILL_OK;
}

static unsigned reap_orphans(struct uring_io *uio, struct log_io_completion *out, unsigned max)
{
    unsigned count = 0;
    while (count < max && uio->orphan_count > 0) {
        out[count++] = uio->orphans[0];
        uio->orphan_count--;
        memmove(&uio->orphans[0], &uio->orphans[1], uio->orphan_count * sizeof(uio->orphans[0]));
        uio->io.in_flight--;
    }
    return count;
}

static rill_err uring_reap(
    struct log_io *io, struct log_io_completion *out, unsigned max, bool wait, unsigned *out_count)
{
    struct uring_io *uio = uring_io_of(io);
    RILL_ASSERT(out != NULL || max == 0);
    unsigned count = reap_orphans(uio, out, max);
    while (count < max) {
        struct io_uring_cqe *cqe = NULL;
        if (io_uring_peek_cqe(&uio->ring, &cqe) != 0 || cqe == NULL) {
            if (!wait || count > 0 || io->in_flight == 0) {
                break;
            }
            rill_err err = ring_wait(uio);
            if (err != RILL_OK) {
                return err;
            }
            continue;
        }
        struct uring_op *rec = io_uring_cqe_get_data(cqe);
        RILL_ASSERT(rec != NULL);
        out[count++] = completion_from_cqe(rec, cqe);
        io_uring_cqe_seen(&uio->ring, cqe);
        op_release(uio, rec);
        RILL_ASSERT(io->in_flight > 0);
        io->in_flight--;
    }
    *out_count = count;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Lifetime                                                                                   */
/* ---------------------------------------------------------------------------------------- */

/*
 * The kernel may still read the buffers of operations in flight after the ring fd is closed,
 * and their owners free those buffers once destroy returns: wait for every completion first.
 */
static void uring_drain(struct uring_io *uio)
{
    struct log_io_completion discarded[16];
    while (uio->io.in_flight > 0) {
        unsigned count = 0;
        if (uring_reap(&uio->io, discarded, RILL_ARRAY_COUNT(discarded), true, &count) != RILL_OK ||
            count == 0) {
            break;
        }
    }
}

static void uring_destroy(struct log_io *io)
{
    if (io == NULL) {
        return;
    }
    struct uring_io *uio = uring_io_of(io);
    uring_drain(uio);
    io_uring_queue_exit(&uio->ring);
    free(uio->ops);
    free(uio);
}

static const struct log_io_ops uring_ops = {
    .open = uring_open,
    .close = uring_close,
    .pread = uring_pread,
    .pwrite = uring_pwrite,
    .fdatasync = uring_fdatasync,
    .ftruncate = uring_ftruncate,
    .file_bytes = uring_file_bytes,
    .unlink = uring_unlink,
    .rename = uring_rename,
    .sync_dir = uring_sync_dir,
    .submit_write = uring_submit_write,
    .submit_sync = uring_submit_sync,
    .reap = uring_reap,
    .destroy = uring_destroy,
};

static void op_pool_init(struct uring_io *uio)
{
    for (uint32_t i = 0; i < uio->op_capacity; i++) {
        uio->ops[i].next_free = i + 1 < uio->op_capacity ? i + 1 : URING_OP_NONE;
    }
    uio->op_free_first = 0;
    uio->op_free_count = uio->op_capacity;
}

rill_err log_io_uring_create(unsigned entries, struct log_io **out_io)
{
    /* A durable append needs two SQEs at once. */
    if (entries < URING_BATCH_OPS_MAX) {
        return RILL_ERR_INVALID;
    }
    rill_err err = RILL_ERR_NOMEM;
    struct uring_io *uio = calloc(1, sizeof(*uio));
    if (uio == NULL) {
        goto fail;
    }
    int ret = io_uring_queue_init(entries, &uio->ring, 0);
    if (ret < 0) {
        err = rill_err_from_errno(-ret);
        goto fail_free;
    }
    /* The kernel rounds entries up to a power of two; the pool follows the real size. */
    uio->op_capacity = uio->ring.sq.ring_entries;
    uio->ops = calloc(uio->op_capacity, sizeof(uio->ops[0]));
    if (uio->ops == NULL) {
        goto fail_ring;
    }
    op_pool_init(uio);
    uio->io.ops = &uring_ops;
    uio->io.in_flight = 0;
    uio->broken_err = RILL_OK;
    *out_io = &uio->io;
    return RILL_OK;
fail_ring:
    io_uring_queue_exit(&uio->ring);
fail_free:
    free(uio);
fail:
    return err;
}

rill_err log_io_uring_eventfd(struct log_io *io, int *out_fd)
{
    RILL_ASSERT(io->ops == &uring_ops);
    struct uring_io *uio = uring_io_of(io);
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        return rill_err_from_errno(errno);
    }
    int ret = io_uring_register_eventfd(&uio->ring, fd);
    if (ret < 0) {
        close(fd);
        return rill_err_from_errno(-ret);
    }
    *out_fd = fd;
    return RILL_OK;
}
