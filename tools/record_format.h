/*
 * record_format.h - kcat-style format strings that print one record per use, shared by
 * `rill log read` and `rill consume`.
 *
 * Directives: %o offset, %k key, %v value, %T timestamp (ms), %h headers as name=value pairs
 * joined by ',', %% a percent sign; with topics (consume) also %t topic and %p partition.
 * Escapes: \n newline, \t tab, \r return, \\ backslash. A null key or value prints as nothing.
 * A format is checked once (record_format_check) before any record is printed.
 *
 * The --json mode of both commands prints instead one compact JSON object per record per line
 * (JSON Lines) through record_json_print:
 *   {"topic":"orders","partition":0,"offset":7,"timestamp":1700000000000,"key":"k",
 *    "value":"v","headers":[{"name":"h","value":"x"}]}
 * topic and partition only with an origin (consume); a null key, value or header value is
 * null. With RECORD_JSON_TEXT keys, values and header values are strings in which bytes that
 * are not valid UTF-8 become U+FFFD (a note on stderr says so, once); RECORD_JSON_BASE64 gives
 * them in base64 instead, byte for byte. Header names are always text.
 */
#ifndef RILL_TOOLS_RECORD_FORMAT_H
#define RILL_TOOLS_RECORD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rill.h"
#include "tools/json.h"

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

/* How --json writes keys, values and header values. */
enum record_json_encoding {
    RECORD_JSON_TEXT,   /* UTF-8 strings; invalid bytes become U+FFFD */
    RECORD_JSON_BASE64, /* standard base64 strings of the exact bytes */
};

/* A --json printer: its compact writer and what it told stderr already. */
struct record_json {
    struct json_writer writer; /* compact, one document per record */
    enum record_json_encoding encoding;
    const char *command; /* "consume", "log read": prefixes the note on stderr */
    bool noted;          /* the note about replaced bytes was printed */
};

/* "text" or "base64" into *out_encoding; false for anything else. */
bool record_json_parse_encoding(const char *text, enum record_json_encoding *out_encoding);

void record_json_init(struct record_json *printer,
                      FILE *out,
                      enum record_json_encoding encoding,
                      const char *command);

/*
 * Prints rec as one JSON line. origin NULL leaves out topic and partition. Headers are checked
 * before anything is written, so a damaged record prints nothing.
 * @return RILL_OK, or RILL_ERR_CORRUPT for a damaged header.
 */
rill_err record_json_print(struct record_json *printer,
                           const rill_record_view_t *rec,
                           const struct record_origin *origin);

#endif
