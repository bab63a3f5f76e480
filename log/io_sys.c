/*
 * io_sys.c - syscall loops shared by the io_uring and the fault-injecting backends.
 */
#include "log/io_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

bool io_sys_range_fits(uint64_t offset, uint64_t bytes)
{
    return offset <= (uint64_t)INT64_MAX && bytes <= (uint64_t)INT64_MAX - offset;
}

int io_sys_pread_all(int fd, void *buf, size_t bytes, uint64_t offset, size_t *out_bytes)
{
    size_t done_bytes = 0;
    while (done_bytes < bytes) {
        ssize_t got =
            pread(fd, (char *)buf + done_bytes, bytes - done_bytes, (off_t)(offset + done_bytes));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return errno;
        }
        if (got == 0) {
            break; /* end of file */
        }
        done_bytes += (size_t)got;
    }
    *out_bytes = done_bytes;
    return 0;
}

int io_sys_pwrite_all(int fd, const void *buf, size_t bytes, uint64_t offset, size_t *out_bytes)
{
    size_t done_bytes = 0;
    int errno_value = 0;
    while (done_bytes < bytes) {
        ssize_t put = pwrite(fd, (const char *)buf + done_bytes, bytes - done_bytes,
                             (off_t)(offset + done_bytes));
        if (put < 0 && errno == EINTR) {
            continue;
        }
        if (put <= 0) {
            errno_value = put < 0 ? errno : EIO;
            break;
        }
        done_bytes += (size_t)put;
    }
    *out_bytes = done_bytes;
    return errno_value;
}

int io_sys_ftruncate(int fd, uint64_t bytes)
{
    int ret;
    do {
        ret = ftruncate(fd, (off_t)bytes);
    } while (ret != 0 && errno == EINTR);
    return ret != 0 ? errno : 0;
}

int io_sys_sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    int errno_value = fsync(fd) != 0 ? errno : 0;
    (void)close(fd);
    return errno_value;
}
