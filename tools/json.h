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
 * Output is indented by two spaces per level. Strings are escaped per RFC 8259: quote,
 * backslash and control characters are escaped, valid UTF-8 passes through, and every byte
 * that is not part of valid UTF-8 becomes U+FFFD, so any input yields a valid document.
 */
#ifndef RILL_TOOLS_JSON_H
#define RILL_TOOLS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Deepest nesting of objects and arrays the writer accepts. */
#define JSON_DEPTH_MAX 16

struct json_writer {
    FILE *out;
    size_t depth;                   /* open objects and arrays */
    bool in_object[JSON_DEPTH_MAX]; /* per level: object (true) or array (false) */
    bool has_items[JSON_DEPTH_MAX]; /* per level: something written already (needs a comma) */
    bool after_key;                 /* a key was written: the value follows on this line */
    bool failed;                    /* misuse (unbalanced, too deep, value without key) */
};

void json_init(struct json_writer *json, FILE *out);

void json_object_begin(struct json_writer *json);
void json_object_end(struct json_writer *json);
void json_array_begin(struct json_writer *json);
void json_array_end(struct json_writer *json);

/* A member name inside an object; the next call writes its value. */
void json_key(struct json_writer *json, const char *key);

void json_string(struct json_writer *json, const char *text);
/* bytes need not be NUL-terminated nor valid UTF-8. */
void json_string_bytes(struct json_writer *json, const void *bytes, size_t byte_count);
void json_int(struct json_writer *json, int64_t value);
void json_uint(struct json_writer *json, uint64_t value);
void json_bool(struct json_writer *json, bool value);
void json_null(struct json_writer *json);

/* Ends the document with a newline. False if it is incomplete, was misused, or output failed. */
bool json_finish(struct json_writer *json);

#endif
