/*
 * json.c - the JSON writer of the rill CLI (see json.h).
 *
 * Each value first calls json_value_prefix, which writes what must precede it at this point:
 * nothing after a key (the key wrote its colon), else a comma when the level already has
 * items, then (indented mode) a newline and the indentation. Misuse sets json->failed instead
 * of writing invalid JSON silently; json_end_line and json_finish report it.
 */
#include "tools/json.h"

#include "common/assert.h"

#include <string.h>

/* Hands the staged bytes to the FILE. */
static void json_drain(struct json_writer *json)
{
    if (json->staged > 0) {
        fwrite(json->stage, 1, json->staged, json->out);
        json->staged = 0;
    }
}

static void json_put(struct json_writer *json, const void *bytes, size_t byte_count)
{
    if (byte_count > sizeof(json->stage) - json->staged) {
        json_drain(json);
        if (byte_count > sizeof(json->stage)) {
            fwrite(bytes, 1, byte_count, json->out);
            return;
        }
    }
    memcpy(json->stage + json->staged, bytes, byte_count);
    json->staged += byte_count;
}

static void json_put_char(struct json_writer *json, char byte)
{
    if (json->staged == sizeof(json->stage)) {
        json_drain(json);
    }
    json->stage[json->staged++] = byte;
}

static void json_puts(struct json_writer *json, const char *text)
{
    json_put(json, text, strlen(text));
}

void json_init(struct json_writer *json, FILE *out)
{
    memset(json, 0, sizeof(*json));
    json->out = out;
}

void json_init_compact(struct json_writer *json, FILE *out)
{
    json_init(json, out);
    json->compact = true;
}

static void json_indent(struct json_writer *json)
{
    if (json->compact) {
        return;
    }
    json_put_char(json, '\n');
    for (size_t level = 0; level < json->depth; level++) {
        json_puts(json, "  ");
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
    if (json->depth == 0) {
        if (json->has_root || is_key) {
            json->failed = true; /* a second top-level value, or a key outside an object */
        }
        json->has_root = true;
        return;
    }
    size_t level = json->depth - 1;
    if (json->in_object[level] && !is_key) {
        json->failed = true; /* a value inside an object needs a key first */
    }
    if (!json->in_object[level] && is_key) {
        json->failed = true; /* arrays have no keys */
    }
    if (json->has_items[level]) {
        json_put_char(json, ',');
    }
    json->has_items[level] = true;
    json_indent(json);
}

static void json_open(struct json_writer *json, bool is_object)
{
    json_value_prefix(json, false);
    json_put_char(json, is_object ? '{' : '[');
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
    json_put_char(json, is_object ? '}' : ']');
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

/* Bytes that go out as they are: printable ASCII other than the quote and the backslash. */
static bool json_plain_ascii(unsigned char byte)
{
    return byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\';
}

/*
 * Writes the escape of one ASCII byte that is not plain (control, quote, backslash, DEL) at
 * dst, which has room for JSON_ESCAPE_BYTES. @return its length.
 */
#define JSON_ESCAPE_BYTES 6
static size_t json_escape_into(char *dst, unsigned char byte)
{
    static const char hex[] = "0123456789abcdef";

    dst[0] = '\\';
    switch (byte) {
    case '"':
    case '\\':
        dst[1] = (char)byte;
        return 2;
    case '\n':
        dst[1] = 'n';
        return 2;
    case '\t':
        dst[1] = 't';
        return 2;
    case '\r':
        dst[1] = 'r';
        return 2;
    default:
        dst[1] = 'u';
        dst[2] = '0';
        dst[3] = '0';
        dst[4] = hex[byte >> 4];
        dst[5] = hex[byte & 0x0fu];
        return JSON_ESCAPE_BYTES;
    }
}

/* Strings this short are escaped straight into the stage: even all escaped they fit in it. */
#define JSON_SHORT_STRING_BYTES ((JSON_STAGE_BYTES - 2) / JSON_ESCAPE_BYTES)

/* Each byte of a 64-bit word set to byte. */
#define JSON_BYTES_OF(byte) (0x0101010101010101ull * (byte))

/*
 * True when one of the 8 bytes of word needs more than a copy: below 0x20, a quote, a
 * backslash, DEL, or 0x80 and above (UTF-8 is checked byte by byte). Exact, with no false
 * positives: a byte b < n exists iff (word - n...) & ~word & 0x80... is not zero (n <= 0x80).
 */
static bool json_word_needs_care(uint64_t word)
{
    const uint64_t high = JSON_BYTES_OF(0x80);
    uint64_t quote = word ^ JSON_BYTES_OF('"');
    uint64_t backslash = word ^ JSON_BYTES_OF('\\');
    uint64_t del = word ^ JSON_BYTES_OF(0x7f);

    return ((word | ((word - JSON_BYTES_OF(0x20)) & ~word) | ((quote - JSON_BYTES_OF(1)) & ~quote) |
             ((backslash - JSON_BYTES_OF(1)) & ~backslash) | ((del - JSON_BYTES_OF(1)) & ~del)) &
            high) != 0;
}

/*
 * json_write_escaped for a short string: into the stage directly, 8 plain bytes at a time
 * while they last, else byte by byte. A tail of fewer than 8 bytes is copied as the last 8
 * bytes of the string when those are all plain: the ones before the tail among them were
 * plain too, so they are already the last output bytes, and writing them again is harmless.
 */
static void
json_write_escaped_short(struct json_writer *json, const unsigned char *bytes, size_t byte_count)
{
    if (byte_count * JSON_ESCAPE_BYTES + 2 > sizeof(json->stage) - json->staged) {
        json_drain(json);
    }
    char *dst = json->stage + json->staged;
    size_t position = 0;

    *dst++ = '"';
    while (position < byte_count) {
        uint64_t word;
        size_t left = byte_count - position;
        if (left >= sizeof(word)) {
            memcpy(&word, bytes + position, sizeof(word));
            if (!json_word_needs_care(word)) {
                memcpy(dst, &word, sizeof(word));
                dst += sizeof(word);
                position += sizeof(word);
                continue;
            }
        } else if (byte_count >= sizeof(word)) {
            memcpy(&word, bytes + byte_count - sizeof(word), sizeof(word));
            if (!json_word_needs_care(word)) {
                memcpy(dst - (sizeof(word) - left), &word, sizeof(word));
                dst += left;
                position = byte_count;
                continue;
            }
        }
        unsigned char byte = bytes[position];
        if (json_plain_ascii(byte)) {
            *dst++ = (char)byte;
            position++;
        } else if (byte < 0x80) {
            dst += json_escape_into(dst, byte);
            position++;
        } else {
            size_t length = json_utf8_length(bytes + position, byte_count - position);
            if (length == 0) {
                memcpy(dst, "\\ufffd", JSON_ESCAPE_BYTES); /* not part of valid UTF-8 */
                dst += JSON_ESCAPE_BYTES;
                json->replaced++;
                position++;
            } else {
                memcpy(dst, bytes + position, length);
                dst += length;
                position += length;
            }
        }
    }
    *dst++ = '"';
    json->staged = (size_t)(dst - json->stage);
}

/*
 * Writes bytes as a JSON string. A long one goes in runs: each stretch that needs no escaping
 * (plain ASCII and valid UTF-8 sequences) with one copy, then the escape of the byte that
 * ended it.
 */
static void
json_write_escaped(struct json_writer *json, const unsigned char *bytes, size_t byte_count)
{
    size_t position = 0;

    if (byte_count <= JSON_SHORT_STRING_BYTES) {
        json_write_escaped_short(json, bytes, byte_count);
        return;
    }
    json_put_char(json, '"');
    while (position < byte_count) {
        size_t run_end = position;
        while (run_end < byte_count) {
            unsigned char byte = bytes[run_end];
            if (json_plain_ascii(byte)) {
                run_end++;
                continue;
            }
            size_t length =
                byte >= 0x80 ? json_utf8_length(bytes + run_end, byte_count - run_end) : 0;
            if (length == 0) {
                break;
            }
            run_end += length;
        }
        if (run_end > position) {
            json_put(json, bytes + position, run_end - position);
            position = run_end;
        }
        if (position == byte_count) {
            break;
        }
        if (bytes[position] >= 0x80) {
            json_puts(json, "\\ufffd"); /* not part of valid UTF-8 */
            json->replaced++;
        } else {
            char escape[JSON_ESCAPE_BYTES];
            json_put(json, escape, json_escape_into(escape, bytes[position]));
        }
        position++;
    }
    json_put_char(json, '"');
}

/* A decimal number without printf: digits of magnitude, after a '-' when negative. */
static void json_write_number(struct json_writer *json, bool negative, uint64_t magnitude)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";
    char digits[21];
    char *end = digits + sizeof(digits);
    char *cursor = end;

    while (magnitude >= 100) {
        size_t pair = (size_t)(magnitude % 100) * 2;
        magnitude /= 100;
        *--cursor = pairs[pair + 1];
        *--cursor = pairs[pair];
    }
    if (magnitude >= 10) {
        *--cursor = pairs[magnitude * 2 + 1];
        *--cursor = pairs[magnitude * 2];
    } else {
        *--cursor = (char)('0' + magnitude);
    }
    if (negative) {
        *--cursor = '-';
    }
    json_put(json, cursor, (size_t)(end - cursor));
}

void json_key(struct json_writer *json, const char *key)
{
    json_value_prefix(json, true);
    json_write_escaped(json, (const unsigned char *)key, strlen(key));
    if (json->compact) {
        json_put_char(json, ':');
    } else {
        json_puts(json, ": ");
    }
    json->after_key = true;
}

void json_key_plain(struct json_writer *json, const char *key, size_t key_bytes)
{
    for (size_t index = 0; index < key_bytes; index++) {
        RILL_DASSERT(json_plain_ascii((unsigned char)key[index]));
    }
    json_value_prefix(json, true);
    json_put_char(json, '"');
    json_put(json, key, key_bytes);
    json_put(json, json->compact ? "\":" : "\": ", json->compact ? 2 : 3);
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
    json_write_escaped(json, bytes, byte_count);
}

void json_string_base64(struct json_writer *json, const void *bytes, size_t byte_count)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *input = bytes;
    char chunk[1024]; /* 4 characters per 3 input bytes: 256 groups per copy */
    size_t used = 0;

    json_value_prefix(json, false);
    json_put_char(json, '"');
    for (size_t position = 0; position < byte_count; position += 3) {
        size_t left = byte_count - position;
        uint32_t group = (uint32_t)input[position] << 16;
        if (left > 1) {
            group |= (uint32_t)input[position + 1] << 8;
        }
        if (left > 2) {
            group |= input[position + 2];
        }
        chunk[used] = alphabet[(group >> 18) & 0x3fu];
        chunk[used + 1] = alphabet[(group >> 12) & 0x3fu];
        chunk[used + 2] = left > 1 ? alphabet[(group >> 6) & 0x3fu] : '=';
        chunk[used + 3] = left > 2 ? alphabet[group & 0x3fu] : '=';
        used += 4;
        if (used == sizeof(chunk)) {
            json_put(json, chunk, used);
            used = 0;
        }
    }
    if (used > 0) {
        json_put(json, chunk, used);
    }
    json_put_char(json, '"');
}

void json_int(struct json_writer *json, int64_t value)
{
    json_value_prefix(json, false);
    json_write_number(json, value < 0, value < 0 ? 0 - (uint64_t)value : (uint64_t)value);
}

void json_uint(struct json_writer *json, uint64_t value)
{
    json_value_prefix(json, false);
    json_write_number(json, false, value);
}

void json_bool(struct json_writer *json, bool value)
{
    json_value_prefix(json, false);
    json_puts(json, value ? "true" : "false");
}

void json_null(struct json_writer *json)
{
    json_value_prefix(json, false);
    json_puts(json, "null");
}

bool json_end_line(struct json_writer *json)
{
    json_put_char(json, '\n');
    if (json->depth != 0 || json->after_key || !json->has_root) {
        json->failed = true;
    }
    json->depth = 0;
    json->after_key = false;
    json->has_root = false;
    json_drain(json);
    return !json->failed;
}

bool json_finish(struct json_writer *json)
{
    bool complete = json_end_line(json);
    if (fflush(json->out) != 0 || ferror(json->out)) {
        return false;
    }
    return complete;
}
