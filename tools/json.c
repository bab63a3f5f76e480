/*
 * json.c - the JSON writer of the rill CLI (see json.h).
 *
 * Each value first calls json_value_prefix, which writes what must precede it at this point:
 * nothing after a key (the key wrote ": "), else a comma when the level already has items,
 * then a newline and the indentation. Misuse sets json->failed instead of writing invalid
 * JSON silently; json_finish reports it.
 */
#include "tools/json.h"

#include <inttypes.h>
#include <string.h>

void json_init(struct json_writer *json, FILE *out)
{
    memset(json, 0, sizeof(*json));
    json->out = out;
}

static void json_indent(struct json_writer *json)
{
    fputc('\n', json->out);
    for (size_t level = 0; level < json->depth; level++) {
        fputs("  ", json->out);
    }
}

/* Writes the separator and indentation before a value (or a key). */
static void json_value_prefix(struct json_writer *json, bool is_key)
{
    if (json->after_key) {
        if (is_key) {
            json->failed = true; /* two keys in a row */
        }
        json->after_key = false;
        return;
    }
    if (json->depth > 0) {
        size_t level = json->depth - 1;
        if (json->in_object[level] && !is_key) {
            json->failed = true; /* a value inside an object needs a key first */
        }
        if (!json->in_object[level] && is_key) {
            json->failed = true; /* arrays have no keys */
        }
        if (json->has_items[level]) {
            fputc(',', json->out);
        }
        json->has_items[level] = true;
        json_indent(json);
    }
}

static void json_open(struct json_writer *json, bool is_object)
{
    json_value_prefix(json, false);
    fputc(is_object ? '{' : '[', json->out);
    if (json->depth >= JSON_DEPTH_MAX) {
        json->failed = true;
        return;
    }
    json->in_object[json->depth] = is_object;
    json->has_items[json->depth] = false;
    json->depth++;
}

static void json_close(struct json_writer *json, bool is_object)
{
    if (json->depth == 0 || json->in_object[json->depth - 1] != is_object || json->after_key) {
        json->failed = true;
        return;
    }
    json->depth--;
    if (json->has_items[json->depth]) {
        json_indent(json);
    }
    fputc(is_object ? '}' : ']', json->out);
}

void json_object_begin(struct json_writer *json)
{
    json_open(json, true);
}

void json_object_end(struct json_writer *json)
{
    json_close(json, true);
}

void json_array_begin(struct json_writer *json)
{
    json_open(json, false);
}

void json_array_end(struct json_writer *json)
{
    json_close(json, false);
}

/*
 * The length of the valid UTF-8 sequence at bytes (1 to 4), or 0 if it is not valid: a bad
 * lead or continuation byte, an overlong form, a surrogate, or a code point past U+10FFFF.
 */
static size_t json_utf8_length(const unsigned char *bytes, size_t available)
{
    unsigned char lead = bytes[0];
    size_t length;
    uint32_t code_point;
    uint32_t minimum;

    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
        code_point = lead & 0x1fu;
        minimum = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        code_point = lead & 0x0fu;
        minimum = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        code_point = lead & 0x07u;
        minimum = 0x10000;
    } else {
        return 0;
    }
    if (available < length) {
        return 0;
    }
    for (size_t index = 1; index < length; index++) {
        if ((bytes[index] & 0xc0u) != 0x80u) {
            return 0;
        }
        code_point = (code_point << 6) | (bytes[index] & 0x3fu);
    }
    if (code_point < minimum || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
        return 0;
    }
    return length;
}

static void json_write_escaped(FILE *out, const unsigned char *bytes, size_t byte_count)
{
    size_t position = 0;

    fputc('"', out);
    while (position < byte_count) {
        unsigned char byte = bytes[position];
        if (byte == '"' || byte == '\\') {
            fputc('\\', out);
            fputc(byte, out);
            position++;
        } else if (byte == '\n') {
            fputs("\\n", out);
            position++;
        } else if (byte == '\t') {
            fputs("\\t", out);
            position++;
        } else if (byte == '\r') {
            fputs("\\r", out);
            position++;
        } else if (byte < 0x20 || byte == 0x7f) {
            fprintf(out, "\\u%04x", byte);
            position++;
        } else {
            size_t length = json_utf8_length(bytes + position, byte_count - position);
            if (length == 0) {
                fputs("\\ufffd", out);
                position++;
            } else {
                fwrite(bytes + position, 1, length, out);
                position += length;
            }
        }
    }
    fputc('"', out);
}

void json_key(struct json_writer *json, const char *key)
{
    json_value_prefix(json, true);
    json_write_escaped(json->out, (const unsigned char *)key, strlen(key));
    fputs(": ", json->out);
    json->after_key = true;
}

void json_string(struct json_writer *json, const char *text)
{
    if (text == NULL) {
        json_null(json);
        return;
    }
    json_string_bytes(json, text, strlen(text));
}

void json_string_bytes(struct json_writer *json, const void *bytes, size_t byte_count)
{
    json_value_prefix(json, false);
    json_write_escaped(json->out, bytes, byte_count);
}

void json_int(struct json_writer *json, int64_t value)
{
    json_value_prefix(json, false);
    fprintf(json->out, "%" PRId64, value);
}

void json_uint(struct json_writer *json, uint64_t value)
{
    json_value_prefix(json, false);
    fprintf(json->out, "%" PRIu64, value);
}

void json_bool(struct json_writer *json, bool value)
{
    json_value_prefix(json, false);
    fputs(value ? "true" : "false", json->out);
}

void json_null(struct json_writer *json)
{
    json_value_prefix(json, false);
    fputs("null", json->out);
}

bool json_finish(struct json_writer *json)
{
    fputc('\n', json->out);
    if (json->depth != 0 || json->after_key) {
        json->failed = true;
    }
    if (fflush(json->out) != 0 || ferror(json->out)) {
        return false;
    }
    return !json->failed;
}
