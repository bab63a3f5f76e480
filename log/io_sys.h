/*
 * io_sys.h - the plain syscall loops both I/O backends share: whole-buffer pread and pwrite
 * with EINTR handling, ftruncate, and fsync of a directory. They return 0 or an errno value;
 * callers translate it (rill_err_from_errno) or inject their own.
 */
#ifndef RILL_LOG_IO_SYS_H
#define RILL_LOG_IO_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Offsets are uint64_t in the interface and off_t in the kernel: refuse what does not fit. */
bool io_sys_range_fits(uint64_t offset, uint64_t bytes);
/* Reads until bytes or end of file; *out_bytes is what was read. */
int io_sys_pread_all(int fd, void *buf, size_t bytes, uint64_t offset, size_t *out_bytes);
/*
 * Writes all bytes, continuing a short write for the remainder (that is how POSIX reports
 * progress; the next call returns the real error). *out_bytes is what reached the file.
 * A write that makes no progress without an error counts as EIO rather than spinning.
 */
int io_sys_pwrite_all(int fd, const void *buf, size_t bytes, uint64_t offset, size_t *out_bytes);
int io_sys_ftruncate(int fd, uint64_t bytes);
/* fsync of a directory, so that the names created, renamed or removed in it are durable. */
int io_sys_sync_dir(const char *path);

#endif
