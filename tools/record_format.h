/*
 * record_format.h - kcat-style format strings that print one record per use, shared by
 * `rill log read` and `rill consume`.
 *
 * Directives: %o offset, %k key, %v value, %T timestamp (ms), %h headers as name=value pairs
 * joined by ',', %% a percent sign; with topics (consume) also %t topic and %p partition.
 * Escapes: \n newline, \t tab, \r return, \\ backslash. A null key or value prints as nothing.
 * A format is checked once (record_format_check) before any record is printed.
 */
#ifndef RILL_TOOLS_RECORD_FORMAT_H
#define RILL_TOOLS_RECORD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rill.h"

/* Where a record came from, for %t and %p. */
struct record_origin {
    const char *topic;
    int32_t partition;
};

/*
 * NULL when format is valid, else a one-line explanation written to problem. with_origin
 * allows %t and %p.
 */
const char *
record_format_check(const char *format, bool with_origin, char *problem, size_t problem_bytes);

/*
 * Prints rec to out through format (which passed record_format_check). origin may be NULL
 * when the format has no %t or %p.
 * @return RILL_OK, or RILL_ERR_CORRUPT for a damaged header.
 */
rill_err record_format_print(FILE *out,
                             const char *format,
                             const rill_record_view_t *rec,
                             const struct record_origin *origin);

#endif
