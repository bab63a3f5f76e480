/*
 * io_fault.c - the fault-injecting test backend of log/io.h.
 *
 * Every operation runs synchronously with plain syscalls; submit_write() and submit_sync()
 * execute at once and queue their completions in a bounded queue that reap() drains, with the
 * io_uring backend's semantics: the write completion, then the sync completion; a sync linked to
 * a failed or short write is cancelled (RILL_ERR_IO, ECANCELED) and does not run.
 *
 * Operation numbering (io.h): mutating operations get consecutive numbers in the order they are
 * attempted, the write and the sync of a submit_write() separately, a cancelled linked sync
 * included, so numbers depend on the call sequence only, never on injected outcomes. Numbers
 * keep counting after the crash point: log_io_fault_op_count() tells how far a workload got.
 * After the crash, non-mutating calls (pread, read-only open, file_bytes, close) still work, so
 * that a test can inspect files and release descriptors.
 *
 * Power-loss model. Files are identified by (device, inode) and remembered with the path last
 * used for them (renames are followed), so that a power loss can reopen them after close. For
 * every write not yet covered by a successful sync of its file, the backend keeps a journal
 * record with the pre-image: the bytes the write overwrote and the file size before it. A
 * successful fdatasync of any descriptor of a file covers all earlier writes to that file. On
 * log_io_fault_power_loss() the journal, in global write order, keeps a seed-chosen prefix; the
 * rest is undone newest first (which restores each file to its state after its last sync), and
 * the last kept write may be torn (only a prefix of its bytes kept). Seed 0 keeps nothing.
 *
 * What the model treats as durable at once, which real file systems do not promise:
 *   - ftruncate (and O_TRUNC) is durable when it returns. Undoing an earlier write must then not
 *     resurrect truncated bytes or change the size, so on truncation to S every uncovered write
 *     of that file is clipped to below S and will restore the size S; where it had extended the
 *     file below S its undo leaves zeros, as lost data blocks read back as a hole.
 *   - creating, unlinking and renaming files: a missing sync_dir is not detected. Uncovered
 *     writes to an unlinked (or renamed-over) file are forgotten.
 *   - unsynced writes of one file survive in issue order; a real disk may persist them in any
 *     order at page or sector granularity, which the prefix model does not produce.
 * Writes made outside this backend (mmap, other processes) are not tracked, and renaming a
 * directory that holds tracked files is not followed.
 *
 * Pre-images are bounded by FAULT_JOURNAL_BYTES_MAX: past it a write fails with RILL_ERR_NOMEM
 * and is not performed, so a test notices rather than the host running out of memory.
 */
#include "log/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/err.h"
#include "common/limits.h"
#include "log/io_sys.h"

/* Journal memory (pre-image bytes plus records) across all files. */
#define FAULT_JOURNAL_BYTES_MAX (256ull * 1024 * 1024)

/* Completions waiting for reap(): the io_uring backend's default depth. */
#define FAULT_COMPLETIONS_MAX RILL_RING_ENTRIES

#define FAULT_FILE_NONE UINT32_MAX

enum fault_kind {
    FAULT_KIND_WRITE, /* pwrite, submitted write */
    FAULT_KIND_SYNC,  /* fdatasync, submitted sync, sync_dir */
    FAULT_KIND_OTHER, /* open with O_CREAT or O_TRUNC, ftruncate, unlink, rename */
};

struct fault_file {
    char *path;   /* path last used for this file (renames followed); malloc'd */
    dev_t device; /* identity, with inode */
    ino_t inode;
    bool removed; /* unlinked or renamed over: never matched again, never undone */
};

struct fault_descriptor {
    int fd;
    uint32_t file_index; /* into fault_io.files */
};

/* A write no successful sync has covered yet. */
struct fault_write {
    uint32_t file_index;
    uint64_t offset;
    uint64_t bytes;          /* bytes the write changed, clipped below a later truncation */
    uint64_t size_before;    /* file size an undo restores */
    unsigned char *preimage; /* old content of [offset, offset + preimage_bytes); malloc'd */
    uint64_t preimage_bytes; /* past it and below size_before, an undo writes zeros */
};

struct fault_io {
    struct log_io io; /* first member: a struct log_io * is a struct fault_io * */
    struct log_io_fault_plan plan;
    uint64_t op_count;    /* mutating operations attempted */
    uint64_t write_count; /* of which writes */
    uint64_t sync_count;  /* of which syncs */
    bool crashed;         /* an operation numbered past plan.crash_after was attempted */
    struct fault_file *files;
    uint32_t file_count, file_capacity;
    struct fault_descriptor *descriptors;
    uint32_t descriptor_count, descriptor_capacity;
    struct fault_write *writes; /* the journal, in global write order */
    uint32_t write_record_count, write_record_capacity;
    uint64_t journal_bytes; /* accounted against FAULT_JOURNAL_BYTES_MAX */
    struct log_io_completion completions[FAULT_COMPLETIONS_MAX]; /* ring buffer */
    unsigned completion_first;
};

static const struct log_io_ops fault_ops;

static struct fault_io *fault_io_of(struct log_io *io)
{
    RILL_ASSERT(io->ops == &fault_ops); /* the log_io_fault_* calls take this backend only */
    return (struct fault_io *)io;
}

/* ---------------------------------------------------------------------------------------- */
/* Plain syscalls                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* The errno an injected error stands for, for completions' errno_value. */
static int errno_of_injected(rill_err err)
{
    switch (err) {
    case RILL_ERR_NOSPC:
        return ENOSPC;
    case RILL_ERR_IO:
        return EIO;
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Operation numbering and the fault plan                                                     */
/* ---------------------------------------------------------------------------------------- */

/* The number of this operation among those the plan targets, or 0 when it is not targeted. */
static uint64_t fault_targeted_number(const struct fault_io *fio, enum fault_kind kind)
{
    switch (fio->plan.fail_target) {
    case LOG_IO_FAULT_ANY:
        return fio->op_count;
    case LOG_IO_FAULT_WRITE:
        return kind == FAULT_KIND_WRITE ? fio->write_count : 0;
    case LOG_IO_FAULT_SYNC:
        return kind == FAULT_KIND_SYNC ? fio->sync_count : 0;
    }
    RILL_UNREACHABLE();
}

/* Numbers one mutating operation and says what happens to it: RILL_OK runs it. */
static rill_err fault_gate(struct fault_io *fio, enum fault_kind kind)
{
    fio->op_count++;
    if (kind == FAULT_KIND_WRITE) {
        fio->write_count++;
    } else if (kind == FAULT_KIND_SYNC) {
        fio->sync_count++;
    }
    if (fio->plan.crash_after != 0 && fio->op_count > fio->plan.crash_after) {
        fio->crashed = true;
        return RILL_ERR_CRASHED;
    }
    uint64_t number = fault_targeted_number(fio, kind);
    if (number == 0 || fio->plan.fail_at == 0) {
        return RILL_OK;
    }
    if (number == fio->plan.fail_at ||
        (fio->plan.fail_always_after && number > fio->plan.fail_at)) {
        return fio->plan.fail_err;
    }
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* File and descriptor tables                                                                 */
/* ---------------------------------------------------------------------------------------- */

static rill_err table_reserve(void **table, uint32_t *capacity, uint32_t count, size_t entry_bytes)
{
    if (count < *capacity) {
        return RILL_OK;
    }
    uint32_t capacity_new = *capacity == 0 ? 16 : *capacity * 2;
    void *grown = realloc(*table, (size_t)capacity_new * entry_bytes);
    if (grown == NULL) {
        return RILL_ERR_NOMEM;
    }
    *table = grown;
    *capacity = capacity_new;
    return RILL_OK;
}

static uint32_t file_find(const struct fault_io *fio, dev_t device, ino_t inode)
{
    for (uint32_t i = 0; i < fio->file_count; i++) {
        const struct fault_file *file = &fio->files[i];
        if (!file->removed && file->device == device && file->inode == inode) {
            return i;
        }
    }
    return FAULT_FILE_NONE;
}

static uint32_t file_find_path(const struct fault_io *fio, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return FAULT_FILE_NONE;
    }
    return file_find(fio, st.st_dev, st.st_ino);
}

/* The file behind fd, added to the table if new; *out_existed tells which. */
static rill_err
file_track(struct fault_io *fio, int fd, const char *path, uint32_t *out_index, bool *out_existed)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return rill_err_from_errno(errno);
    }
    uint32_t index = file_find(fio, st.st_dev, st.st_ino);
    if (index != FAULT_FILE_NONE) {
        *out_index = index;
        *out_existed = true;
        return RILL_OK;
    }
    rill_err err = table_reserve((void **)&fio->files, &fio->file_capacity, fio->file_count,
                                 sizeof(fio->files[0]));
    if (err != RILL_OK) {
        return err;
    }
    char *path_copy = strdup(path);
    if (path_copy == NULL) {
        return RILL_ERR_NOMEM;
    }
    index = fio->file_count++;
    fio->files[index] = (struct fault_file){
        .path = path_copy, .device = st.st_dev, .inode = st.st_ino, .removed = false
    };
    *out_index = index;
    *out_existed = false;
    return RILL_OK;
}

static uint32_t descriptor_file(const struct fault_io *fio, int fd)
{
    for (uint32_t i = 0; i < fio->descriptor_count; i++) {
        if (fio->descriptors[i].fd == fd) {
            return fio->descriptors[i].file_index;
        }
    }
    /* Descriptors must come from this backend's open(): others cannot be undone by path. */
    RILL_UNREACHABLE();
}

static rill_err descriptor_add(struct fault_io *fio, int fd, uint32_t file_index)
{
    rill_err err = table_reserve((void **)&fio->descriptors, &fio->descriptor_capacity,
                                 fio->descriptor_count, sizeof(fio->descriptors[0]));
    if (err != RILL_OK) {
        return err;
    }
    fio->descriptors[fio->descriptor_count++] = (struct fault_descriptor){ fd, file_index };
    return RILL_OK;
}

static void descriptor_remove(struct fault_io *fio, int fd)
{
    for (uint32_t i = 0; i < fio->descriptor_count; i++) {
        if (fio->descriptors[i].fd == fd) {
            fio->descriptors[i] = fio->descriptors[--fio->descriptor_count];
            return;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Journal of uncovered writes                                                                */
/* ---------------------------------------------------------------------------------------- */

static uint64_t journal_cost(const struct fault_write *record)
{
    return sizeof(*record) + record->preimage_bytes;
}

/* Forgets the file's uncovered writes: they became durable, or the file is gone. */
static void journal_forget_file(struct fault_io *fio, uint32_t file_index)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < fio->write_record_count; i++) {
        struct fault_write *record = &fio->writes[i];
        if (record->file_index == file_index) {
            fio->journal_bytes -= journal_cost(record);
            free(record->preimage);
            continue;
        }
        fio->writes[kept++] = *record;
    }
    fio->write_record_count = kept;
}

/* A durable truncation to size_bytes: see "Power-loss model" at the top. */
static void journal_clip_file(struct fault_io *fio, uint32_t file_index, uint64_t size_bytes)
{
    for (uint32_t i = 0; i < fio->write_record_count; i++) {
        struct fault_write *record = &fio->writes[i];
        if (record->file_index != file_index) {
            continue;
        }
        uint64_t room_bytes = record->offset < size_bytes ? size_bytes - record->offset : 0;
        if (record->bytes > room_bytes) {
            record->bytes = room_bytes;
        }
        record->size_before = size_bytes;
    }
}

/* Reads old content; a write-only descriptor cannot, so the file is reopened by its path. */
static int preimage_read(const struct fault_io *fio,
                         int fd,
                         const struct fault_write *record,
                         size_t *out_bytes)
{
    int errno_value =
        io_sys_pread_all(fd, record->preimage, record->preimage_bytes, record->offset, out_bytes);
    if (errno_value != EBADF) {
        return errno_value;
    }
    int read_fd = open(fio->files[record->file_index].path, O_RDONLY | O_CLOEXEC);
    if (read_fd < 0) {
        return errno;
    }
    errno_value = io_sys_pread_all(read_fd, record->preimage, record->preimage_bytes,
                                   record->offset, out_bytes);
    (void)close(read_fd);
    return errno_value;
}

/*
 * Records the pre-image of a write of bytes at offset to the file behind fd, before it is
 * performed; *out_recorded tells whether a record was added (then journal_settle() must follow
 * the write). Writes to removed files are not journaled: nothing can undo them by path.
 */
static rill_err
journal_record(struct fault_io *fio, int fd, uint64_t offset, uint64_t bytes, bool *out_recorded)
{
    uint32_t file_index = descriptor_file(fio, fd);
    *out_recorded = false;
    if (bytes == 0 || fio->files[file_index].removed) {
        return RILL_OK;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return rill_err_from_errno(errno);
    }
    uint64_t size_before = (uint64_t)st.st_size;
    uint64_t old_bytes = offset < size_before ? size_before - offset : 0;
    struct fault_write record = {
        .file_index = file_index,
        .offset = offset,
        .bytes = bytes,
        .size_before = size_before,
        .preimage = NULL,
        .preimage_bytes = old_bytes < bytes ? old_bytes : bytes,
    };
    if (fio->journal_bytes + journal_cost(&record) > FAULT_JOURNAL_BYTES_MAX) {
        return RILL_ERR_NOMEM;
    }
    rill_err err = table_reserve((void **)&fio->writes, &fio->write_record_capacity,
                                 fio->write_record_count, sizeof(fio->writes[0]));
    if (err != RILL_OK) {
        return err;
    }
    if (record.preimage_bytes > 0) {
        record.preimage = malloc(record.preimage_bytes);
        if (record.preimage == NULL) {
            return RILL_ERR_NOMEM;
        }
        size_t read_bytes = 0;
        int errno_value = preimage_read(fio, fd, &record, &read_bytes);
        if (errno_value != 0) {
            free(record.preimage);
            return rill_err_from_errno(errno_value);
        }
        record.preimage_bytes = read_bytes;
    }
    fio->journal_bytes += journal_cost(&record);
    fio->writes[fio->write_record_count++] = record;
    *out_recorded = true;
    return RILL_OK;
}

/* The write just journaled changed only written_bytes (zero: nothing, drop the record). */
static void journal_settle(struct fault_io *fio, uint64_t written_bytes)
{
    RILL_ASSERT(fio->write_record_count > 0);
    struct fault_write *record = &fio->writes[fio->write_record_count - 1];
    if (written_bytes > 0) {
        record->bytes = written_bytes < record->bytes ? written_bytes : record->bytes;
        return;
    }
    fio->journal_bytes -= journal_cost(record);
    free(record->preimage);
    fio->write_record_count--;
}

/* ---------------------------------------------------------------------------------------- */
/* Writes and syncs, shared by the synchronous and the submitted forms                        */
/* ---------------------------------------------------------------------------------------- */

/* The outcome of one write, in the terms of a completion. */
struct fault_write_result {
    rill_err err;
    int errno_value;
    uint64_t bytes;
};

/* Journals, then writes bytes (all of them or up to an error). */
static struct fault_write_result
fault_perform_write(struct fault_io *fio, int fd, const void *buf, size_t bytes, uint64_t offset)
{
    struct fault_write_result result = { RILL_OK, 0, 0 };
    if (!io_sys_range_fits(offset, bytes)) {
        result.err = RILL_ERR_INVALID;
        return result;
    }
    bool recorded = false;
    result.err = journal_record(fio, fd, offset, bytes, &recorded);
    if (result.err != RILL_OK) {
        return result;
    }
    size_t written_bytes = 0;
    result.errno_value = io_sys_pwrite_all(fd, buf, bytes, offset, &written_bytes);
    if (recorded) {
        journal_settle(fio, written_bytes);
    }
    result.bytes = written_bytes;
    result.err = rill_err_from_errno(result.errno_value);
    return result;
}

/*
 * One numbered write. An injected failure with short_write writes half the bytes and then
 * reports gate_err; the caller decides how a short write is reported.
 */
static struct fault_write_result
fault_write(struct fault_io *fio, int fd, const void *buf, size_t bytes, uint64_t offset)
{
    rill_err gate_err = fault_gate(fio, FAULT_KIND_WRITE);
    if (gate_err == RILL_OK) {
        return fault_perform_write(fio, fd, buf, bytes, offset);
    }
    struct fault_write_result result = { gate_err, errno_of_injected(gate_err), 0 };
    if (gate_err != RILL_ERR_CRASHED && fio->plan.short_write) {
        struct fault_write_result half = fault_perform_write(fio, fd, buf, bytes / 2, offset);
        if (half.err != RILL_OK) {
            return half;
        }
        result.bytes = half.bytes;
    }
    return result;
}

/* One numbered fdatasync; success makes the file's journaled writes durable. */
static rill_err fault_sync(struct fault_io *fio, int fd, int *out_errno)
{
    rill_err err = fault_gate(fio, FAULT_KIND_SYNC);
    *out_errno = errno_of_injected(err);
    if (err != RILL_OK) {
        return err;
    }
    uint32_t file_index = descriptor_file(fio, fd);
    /* Never retried: a failed sync may already have dropped the dirty pages. */
    if (fdatasync(fd) != 0) {
        *out_errno = errno;
        return rill_err_from_errno(errno);
    }
    journal_forget_file(fio, file_index);
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Synchronous calls                                                                          */
/* ---------------------------------------------------------------------------------------- */

static rill_err fault_open(struct log_io *io, const char *path, int flags, int mode, int *out_fd)
{
    struct fault_io *fio = fault_io_of(io);
    if ((flags & (O_CREAT | O_TRUNC)) != 0) {
        rill_err gate_err = fault_gate(fio, FAULT_KIND_OTHER);
        if (gate_err != RILL_OK) {
            return gate_err;
        }
    }
    int fd;
    do {
        fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return rill_err_from_errno(errno);
    }
    uint32_t file_index = FAULT_FILE_NONE;
    bool existed = false;
    rill_err err = file_track(fio, fd, path, &file_index, &existed);
    if (err != RILL_OK) {
        goto fail;
    }
    err = descriptor_add(fio, fd, file_index);
    if (err != RILL_OK) {
        goto fail;
    }
    if ((flags & O_TRUNC) != 0 && existed) {
        journal_clip_file(fio, file_index, 0);
    }
    *out_fd = fd;
    return RILL_OK;
fail:
    (void)close(fd);
    return err;
}

static void fault_close(struct log_io *io, int fd)
{
    descriptor_remove(fault_io_of(io), fd);
    (void)close(fd);
}

static rill_err
fault_pread(struct log_io *io, int fd, void *buf, size_t bytes, uint64_t offset, size_t *out_bytes)
{
    (void)io;
    if (!io_sys_range_fits(offset, bytes)) {
        return RILL_ERR_INVALID;
    }
    size_t read_bytes = 0;
    int errno_value = io_sys_pread_all(fd, buf, bytes, offset, &read_bytes);
    if (errno_value != 0) {
        return rill_err_from_errno(errno_value);
    }
    *out_bytes = read_bytes;
    return RILL_OK;
}

/* An injected short write has written half the bytes and then fails with the plan's error. */
static rill_err
fault_pwrite(struct log_io *io, int fd, const void *buf, size_t bytes, uint64_t offset)
{
    struct fault_write_result result = fault_write(fault_io_of(io), fd, buf, bytes, offset);
    RILL_ASSERT(result.err != RILL_OK || result.bytes == bytes);
    return result.err;
}

static rill_err fault_fdatasync(struct log_io *io, int fd)
{
    int errno_value = 0;
    return fault_sync(fault_io_of(io), fd, &errno_value);
}

static rill_err fault_ftruncate(struct log_io *io, int fd, uint64_t bytes)
{
    struct fault_io *fio = fault_io_of(io);
    if (!io_sys_range_fits(0, bytes)) {
        return RILL_ERR_INVALID;
    }
    rill_err err = fault_gate(fio, FAULT_KIND_OTHER);
    if (err != RILL_OK) {
        return err;
    }
    int errno_value = io_sys_ftruncate(fd, bytes);
    if (errno_value != 0) {
        return rill_err_from_errno(errno_value);
    }
    journal_clip_file(fio, descriptor_file(fio, fd), bytes);
    return RILL_OK;
}

static rill_err fault_file_bytes(struct log_io *io, int fd, uint64_t *out_bytes)
{
    (void)io;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return rill_err_from_errno(errno);
    }
    *out_bytes = (uint64_t)st.st_size;
    return RILL_OK;
}

/* The file's name is gone: its uncovered writes can no longer be undone by path. */
static void file_remove(struct fault_io *fio, uint32_t file_index)
{
    struct fault_file *file = &fio->files[file_index];
    journal_forget_file(fio, file_index);
    file->removed = true;
    free(file->path);
    file->path = NULL;
}

static rill_err fault_unlink(struct log_io *io, const char *path)
{
    struct fault_io *fio = fault_io_of(io);
    rill_err err = fault_gate(fio, FAULT_KIND_OTHER);
    if (err != RILL_OK) {
        return err;
    }
    uint32_t file_index = file_find_path(fio, path);
    if (unlink(path) != 0) {
        return rill_err_from_errno(errno);
    }
    if (file_index != FAULT_FILE_NONE) {
        file_remove(fio, file_index);
    }
    return RILL_OK;
}

static rill_err fault_rename(struct log_io *io, const char *from, const char *to)
{
    struct fault_io *fio = fault_io_of(io);
    rill_err err = fault_gate(fio, FAULT_KIND_OTHER);
    if (err != RILL_OK) {
        return err;
    }
    uint32_t from_index = file_find_path(fio, from);
    uint32_t to_index = file_find_path(fio, to);
    /* Copied first: once renamed, the table must follow or a power loss would miss the file. */
    char *to_copy = strdup(to);
    if (to_copy == NULL) {
        return RILL_ERR_NOMEM;
    }
    if (rename(from, to) != 0) {
        err = rill_err_from_errno(errno);
        free(to_copy);
        return err;
    }
    if (to_index != FAULT_FILE_NONE && to_index != from_index) {
        file_remove(fio, to_index);
    }
    if (from_index != FAULT_FILE_NONE && from_index != to_index) {
        free(fio->files[from_index].path);
        fio->files[from_index].path = to_copy;
        to_copy = NULL;
    }
    free(to_copy);
    return RILL_OK;
}

static rill_err fault_sync_dir(struct log_io *io, const char *path)
{
    rill_err err = fault_gate(fault_io_of(io), FAULT_KIND_SYNC);
    if (err != RILL_OK) {
        return err;
    }
    return rill_err_from_errno(io_sys_sync_dir(path));
}

/* ---------------------------------------------------------------------------------------- */
/* Submitted operations                                                                       */
/* ---------------------------------------------------------------------------------------- */

static unsigned completion_room(const struct fault_io *fio)
{
    return FAULT_COMPLETIONS_MAX - fio->io.in_flight;
}

static void completion_push(struct fault_io *fio, struct log_io_completion done)
{
    RILL_ASSERT(completion_room(fio) > 0);
    unsigned slot = (fio->completion_first + fio->io.in_flight) % FAULT_COMPLETIONS_MAX;
    fio->completions[slot] = done;
    fio->io.in_flight++;
}

/*
 * The sync linked to a write. It is numbered even when cancelled (the SQE was submitted), but
 * a cancelled sync neither runs nor takes an injected failure.
 */
static rill_err
fault_linked_sync(struct fault_io *fio, int fd, bool write_ok, struct log_io_completion *done)
{
    if (write_ok) {
        done->err = fault_sync(fio, fd, &done->errno_value);
        return done->err == RILL_ERR_CRASHED ? RILL_ERR_CRASHED : RILL_OK;
    }
    if (fault_gate(fio, FAULT_KIND_SYNC) == RILL_ERR_CRASHED) {
        return RILL_ERR_CRASHED;
    }
    done->err = RILL_ERR_IO;
    done->errno_value = ECANCELED;
    return RILL_OK;
}

static rill_err fault_submit_write(struct log_io *io,
                                   int fd,
                                   const void *buf,
                                   uint32_t bytes,
                                   uint64_t offset,
                                   bool sync,
                                   void *owner,
                                   uint64_t cookie)
{
    struct fault_io *fio = fault_io_of(io);
    RILL_ASSERT(buf != NULL || bytes == 0);
    if (completion_room(fio) < (sync ? 2u : 1u)) {
        return RILL_ERR_FULL;
    }
    struct fault_write_result result = fault_write(fio, fd, buf, bytes, offset);
    if (result.err == RILL_ERR_CRASHED) {
        return RILL_ERR_CRASHED;
    }
    struct log_io_completion write_done = {
        .owner = owner,
        .cookie = cookie,
        .op = LOG_IO_OP_WRITE,
        .err = result.err,
        .errno_value = result.errno_value,
        .bytes = (uint32_t)result.bytes,
    };
    if (result.err != RILL_OK && result.bytes > 0) {
        /* Partial progress (injected or real) reads like io_uring's short write: a cqe->res
         * below the requested bytes, without an errno. */
        write_done.err = RILL_ERR_IO;
        write_done.errno_value = 0;
    }
    struct log_io_completion sync_done = {
        .owner = owner, .cookie = cookie, .op = LOG_IO_OP_SYNC, .err = RILL_OK
    };
    if (sync && fault_linked_sync(fio, fd, write_done.err == RILL_OK, &sync_done) != RILL_OK) {
        return RILL_ERR_CRASHED; /* the write happened; the process never saw it complete */
    }
    completion_push(fio, write_done);
    if (sync) {
        completion_push(fio, sync_done);
    }
    return RILL_OK;
}

static rill_err fault_submit_sync(struct log_io *io, int fd, void *owner, uint64_t cookie)
{
    struct fault_io *fio = fault_io_of(io);
    if (completion_room(fio) < 1) {
        return RILL_ERR_FULL;
    }
    struct log_io_completion done = {
        .owner = owner, .cookie = cookie, .op = LOG_IO_OP_SYNC, .err = RILL_OK
    };
    done.err = fault_sync(fio, fd, &done.errno_value);
    if (done.err == RILL_ERR_CRASHED) {
        return RILL_ERR_CRASHED;
    }
    completion_push(fio, done);
    return RILL_OK;
}

/* Everything already completed, so wait never blocks. */
static rill_err fault_reap(
    struct log_io *io, struct log_io_completion *out, unsigned max, bool wait, unsigned *out_count)
{
    (void)wait;
    struct fault_io *fio = fault_io_of(io);
    RILL_ASSERT(out != NULL || max == 0);
    unsigned count = 0;
    while (count < max && io->in_flight > 0) {
        out[count++] = fio->completions[fio->completion_first];
        fio->completion_first = (fio->completion_first + 1) % FAULT_COMPLETIONS_MAX;
        io->in_flight--;
    }
    *out_count = count;
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Power loss                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* xorshift64*: the same generator as the tests, seeded through a splitmix64 step so that
 * neighbouring seeds give unrelated choices. */
static uint64_t power_loss_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t power_loss_state(uint64_t seed)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z != 0 ? z : 1;
}

static int write_zeros(int fd, uint64_t begin, uint64_t end)
{
    static const unsigned char zeros[4096];
    while (begin < end) {
        uint64_t chunk_bytes = end - begin < sizeof(zeros) ? end - begin : sizeof(zeros);
        size_t written_bytes = 0;
        int errno_value = io_sys_pwrite_all(fd, zeros, chunk_bytes, begin, &written_bytes);
        if (errno_value != 0) {
            return errno_value;
        }
        begin += chunk_bytes;
    }
    return 0;
}

/*
 * Undoes record except its first kept_bytes (0: all of it). Later writes to the file are
 * already undone, so the file is as this write (and any durable truncation since) left it.
 */
static int undo_write_range(int fd, const struct fault_write *record, uint64_t kept_bytes)
{
    uint64_t kept_end = record->offset + kept_bytes;
    uint64_t size_bytes = record->size_before;
    if (kept_bytes > 0 && kept_end > size_bytes) {
        size_bytes = kept_end; /* a torn append keeps its prefix */
    }
    int errno_value = io_sys_ftruncate(fd, size_bytes);
    uint64_t restore_end = record->offset + record->bytes;
    restore_end = restore_end < size_bytes ? restore_end : size_bytes;
    uint64_t stored_bytes =
        record->preimage_bytes < record->bytes ? record->preimage_bytes : record->bytes;
    uint64_t stored_end = record->offset + stored_bytes;
    if (errno_value == 0 && kept_end < stored_end && kept_end < restore_end) {
        uint64_t end = stored_end < restore_end ? stored_end : restore_end;
        size_t written_bytes = 0;
        errno_value = io_sys_pwrite_all(fd, record->preimage + kept_bytes, end - kept_end, kept_end,
                                        &written_bytes);
    }
    uint64_t zero_begin = kept_end > stored_end ? kept_end : stored_end;
    if (errno_value == 0 && zero_begin < restore_end) {
        errno_value = write_zeros(fd, zero_begin, restore_end);
    }
    return errno_value;
}

static rill_err
undo_write(const struct fault_io *fio, const struct fault_write *record, uint64_t kept_bytes)
{
    const struct fault_file *file = &fio->files[record->file_index];
    RILL_ASSERT(!file->removed);
    RILL_ASSERT(kept_bytes < record->bytes || record->bytes == 0);
    int fd = open(file->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return rill_err_from_errno(errno);
    }
    int errno_value = undo_write_range(fd, record, kept_bytes);
    (void)close(fd);
    return rill_err_from_errno(errno_value);
}

static void journal_clear(struct fault_io *fio)
{
    for (uint32_t i = 0; i < fio->write_record_count; i++) {
        free(fio->writes[i].preimage);
    }
    fio->write_record_count = 0;
    fio->journal_bytes = 0;
}

rill_err log_io_fault_power_loss(struct log_io *io, uint64_t seed)
{
    struct fault_io *fio = fault_io_of(io);
    uint32_t record_count = fio->write_record_count;
    uint32_t kept_count = 0;
    uint64_t torn_bytes = 0;
    if (seed != 0 && record_count > 0) {
        uint64_t state = power_loss_state(seed);
        kept_count = (uint32_t)(power_loss_random(&state) % ((uint64_t)record_count + 1));
        const struct fault_write *last_kept = kept_count > 0 ? &fio->writes[kept_count - 1] : NULL;
        if (last_kept != NULL && last_kept->bytes > 1 && (power_loss_random(&state) & 1) != 0) {
            torn_bytes = 1 + power_loss_random(&state) % (last_kept->bytes - 1);
        }
    }
    rill_err err = RILL_OK;
    for (uint32_t i = record_count; i > kept_count && err == RILL_OK; i--) {
        err = undo_write(fio, &fio->writes[i - 1], 0);
    }
    if (err == RILL_OK && torn_bytes > 0) {
        err = undo_write(fio, &fio->writes[kept_count - 1], torn_bytes);
    }
    /* What survived is now the disk's state: nothing is left to undo later. */
    journal_clear(fio);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Lifetime                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static void fault_destroy(struct log_io *io)
{
    if (io == NULL) {
        return;
    }
    struct fault_io *fio = fault_io_of(io);
    journal_clear(fio);
    for (uint32_t i = 0; i < fio->file_count; i++) {
        free(fio->files[i].path);
    }
    free(fio->writes);
    free(fio->files);
    free(fio->descriptors);
    free(fio);
}

static const struct log_io_ops fault_ops = {
    .open = fault_open,
    .close = fault_close,
    .pread = fault_pread,
    .pwrite = fault_pwrite,
    .fdatasync = fault_fdatasync,
    .ftruncate = fault_ftruncate,
    .file_bytes = fault_file_bytes,
    .unlink = fault_unlink,
    .rename = fault_rename,
    .sync_dir = fault_sync_dir,
    .submit_write = fault_submit_write,
    .submit_sync = fault_submit_sync,
    .reap = fault_reap,
    .destroy = fault_destroy,
};

static bool plan_valid(const struct log_io_fault_plan *plan)
{
    if (plan->fail_target != LOG_IO_FAULT_ANY && plan->fail_target != LOG_IO_FAULT_WRITE &&
        plan->fail_target != LOG_IO_FAULT_SYNC) {
        return false;
    }
    /* The failure must be one: injecting RILL_OK would silently test nothing. */
    return plan->fail_at == 0 || plan->fail_err < RILL_OK;
}

/* A NULL plan injects nothing: the backend then only counts operations and models power loss. */
rill_err log_io_fault_create(const struct log_io_fault_plan *plan, struct log_io **out_io)
{
    static const struct log_io_fault_plan plan_none = { .fail_target = LOG_IO_FAULT_ANY };
    if (plan == NULL) {
        plan = &plan_none;
    }
    if (!plan_valid(plan)) {
        return RILL_ERR_INVALID;
    }
    struct fault_io *fio = calloc(1, sizeof(*fio));
    if (fio == NULL) {
        return RILL_ERR_NOMEM;
    }
    fio->io.ops = &fault_ops;
    fio->io.in_flight = 0;
    fio->plan = *plan;
    *out_io = &fio->io;
    return RILL_OK;
}

static const struct fault_io *fault_io_of_const(const struct log_io *io)
{
    RILL_ASSERT(io->ops == &fault_ops); /* only the fault backend counts operations */
    return (const struct fault_io *)io;
}

uint64_t log_io_fault_op_count(const struct log_io *io)
{
    return fault_io_of_const(io)->op_count;
}

bool log_io_fault_crashed(const struct log_io *io)
{
    return fault_io_of_const(io)->crashed;
}
