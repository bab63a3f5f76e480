/*
 * json.h - a small streaming JSON writer for the --json output of the rill CLI.
 *
 * The writer tracks nesting so that callers never place commas or colons themselves:
 *
 *   struct json_writer json;
 *   json_init(&json, stdout);
 *   json_object_begin(&json);
 *   json_key(&json, "name");
 *   json_string(&json, "orders");
 *   json_object_end(&json);
 *   json_finish(&json);            // newline; false if nesting was unbalanced or I/O failed
 *
 * Output is indented by two spaces per level (json_init), or compact (json_init_compact): no
 * newline or space inside a document, for JSON Lines, where json_end_line ends each document
 * and the next one starts on the next line. Strings are escaped per RFC 8259: quote,
 * backslash and control characters are escaped, valid UTF-8 passes through, and every byte
 * that is not part of valid UTF-8 becomes U+FFFD (counted in `replaced`), so any input yields
 * a valid document. json_string_base64 keeps arbitrary bytes exactly instead.
 *
 * Output is gathered in the writer (numbers formatted without printf, strings copied in runs
 * of bytes that need no escaping) and handed to the FILE when the stage fills and at the end
 * of each document, and nothing is allocated: a caller printing millions of small documents
 * pays about one stdio call per document.
 */
#ifndef RILL_TOOLS_JSON_H
#define RILL_TOOLS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Deepest nesting of objects and arrays the writer accepts. */
#define JSON_DEPTH_MAX 16
/* Bytes the writer gathers before handing them to its FILE in one call. */
#define JSON_STAGE_BYTES 4096

struct json_writer {
    FILE *out;
    bool compact;                   /* no newlines or indentation inside a document */
    bool has_root;                  /* the current document has its top-level value */
    size_t depth;                   /* open objects and arrays */
    bool in_object[JSON_DEPTH_MAX]; /* per level: object (true) or array (false) */
    bool has_items[JSON_DEPTH_MAX]; /* per level: something written already (needs a comma) */
    bool after_key;                 /* a key was written: the value follows on this line */
    bool failed;                    /* misuse (unbalanced, too deep, value without key) */
    uint64_t replaced;              /* bytes written as U+FFFD because they were not UTF-8 */
    size_t staged;                  /* bytes of stage not yet handed to out */
    char stage[JSON_STAGE_BYTES];   /* output gathered for one fwrite */
};

/* An indented writer: one document, ended by json_finish. */
void json_init(struct json_writer *json, FILE *out);
/* A compact writer: documents on one line each, ended by json_end_line (the last one may be
 * ended by json_finish instead). */
void json_init_compact(struct json_writer *json, FILE *out);

void json_object_begin(struct json_writer *json);
void json_object_end(struct json_writer *json);
void json_array_begin(struct json_writer *json);
void json_array_end(struct json_writer *json);

/* A member name inside an object; the next call writes its value. */
void json_key(struct json_writer *json, const char *key);
/*
 * json_key for a name the caller knows needs no escaping (printable ASCII other than '"' and
 * '\\'), given with its length, so that nothing is scanned: for the fixed names of output
 * printed per record. JSON_KEY_LITERAL takes a string literal.
 */
void json_key_plain(struct json_writer *json, const char *key, size_t key_bytes);
#define JSON_KEY_LITERAL(json, literal) json_key_plain((json), "" literal, sizeof(literal) - 1)

void json_string(struct json_writer *json, const char *text);
/* bytes need not be NUL-terminated nor valid UTF-8. */
void json_string_bytes(struct json_writer *json, const void *bytes, size_t byte_count);
/* bytes as a string in standard base64 (RFC 4648, with '=' padding): any bytes, exactly. */
void json_string_base64(struct json_writer *json, const void *bytes, size_t byte_count);
void json_int(struct json_writer *json, int64_t value);
void json_uint(struct json_writer *json, uint64_t value);
void json_bool(struct json_writer *json, bool value);
void json_null(struct json_writer *json);

/*
 * Ends the document with a newline without flushing, so that another one may follow. False if
 * the document is incomplete or the writer was misused (ever: the state is sticky); output
 * errors show in ferror(out).
 */
bool json_end_line(struct json_writer *json);

/* Ends the document with a newline and flushes. False if it is incomplete, was misused, or
 * output failed. */
bool json_finish(struct json_writer *json);

#endif
