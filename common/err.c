/*
 * err.c - strings for the one error table, and the errno edge.
 */
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/assert.h"

const char *rill_err_str(rill_err err)
{
    switch (err) {
#define RILL_ERR_STR_(name, value, text) \
    case RILL_##name:                    \
        return text;
        RILL_ERR_TABLE(RILL_ERR_STR_)
#undef RILL_ERR_STR_
    }
    return "unknown error";
}

const char *rill_err_name(rill_err err)
{
    switch (err) {
#define RILL_ERR_NAME_(name, value, text) \
    case RILL_##name:                     \
        return #name;
        RILL_ERR_TABLE(RILL_ERR_NAME_)
#undef RILL_ERR_NAME_
    }
    return "ERR_UNKNOWN";
}

const char *rill_version(void)
{
    return RILL_VERSION_STR;
}

rill_err rill_err_from_errno(int errno_value)
{
    switch (errno_value) {
    case 0:
        return RILL_OK;
    case ENOMEM:
        return RILL_ERR_NOMEM;
    case ENOSPC:
    case EDQUOT:
        return RILL_ERR_NOSPC;
    case EACCES:
    case EPERM:
    case EROFS:
        return RILL_ERR_PERM;
    case ENOENT:
    case ENOTDIR:
        return RILL_ERR_NOT_FOUND;
    case EEXIST:
        return RILL_ERR_EXISTS;
    case EAGAIN:
        return RILL_ERR_AGAIN;
    case EINVAL:
        return RILL_ERR_INVALID;
    case EBUSY:
        return RILL_ERR_BUSY;
    case ETIMEDOUT:
        return RILL_ERR_TIMEOUT;
    case EFBIG:
        return RILL_ERR_TOO_LARGE;
    default:
        return RILL_ERR_IO;
    }
}

void rill_errstr_set(char *errstr, size_t errstr_bytes, const char *fmt, ...)
{
    if (errstr == NULL || errstr_bytes == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_bytes, fmt, ap);
    va_end(ap);
}

_Noreturn void rill_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "rill: assertion failed: %s:%d: %s: %s\n", file, line, func, expr);
    fflush(stderr);
    abort();
}
