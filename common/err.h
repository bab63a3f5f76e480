/*
 * err.h - internal error helpers. The error enum itself is public (include/rill.h).
 */
#ifndef RILL_COMMON_ERR_H
#define RILL_COMMON_ERR_H

#include "rill.h"

/* Translates a positive errno value (or -cqe->res) into a rill_err; done once at the edge. */
rill_err rill_err_from_errno(int errno_value);

/* Formats a one-line explanation into errstr when the caller gave one (errstr may be NULL). */
void rill_errstr_set(char *errstr, size_t errstr_bytes, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
