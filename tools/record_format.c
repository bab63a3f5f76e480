/*
 * record_format.c - printing records through format strings (see record_format.h).
 *
 * Printing walks the format per record and writes each literal run with one fwrite, so the
 * cost per record is a few stdio calls into the caller's (large) stdout buffer.
 */
#include "tools/record_format.h"

#include "common/assert.h"

#include <inttypes.h>
#include <string.h>

const char *
record_format_check(const char *format, bool with_origin, char *problem, size_t problem_bytes)
{
    const char *directives = with_origin ? "okvTh%tp" : "okvTh%";
    const char *known = with_origin ? "%o %k %v %T %h %t %p %%" : "%o %k %v %T %h %%";

    for (const char *cursor = format; *cursor != '\0'; cursor++) {
        if ((*cursor == '%' || *cursor == '\\') && cursor[1] == '\0') {
            snprintf(problem, problem_bytes, "ends with a lone '%c'", *cursor);
            return problem;
        }
        if (*cursor == '%' && strchr(directives, cursor[1]) == NULL) {
            snprintf(problem, problem_bytes, "unknown directive '%%%.1s' (known: %s)", cursor + 1,
                     known);
            return problem;
        }
        if (*cursor == '\\' && strchr("ntr\\", cursor[1]) == NULL) {
            snprintf(problem, problem_bytes, "unknown escape '\\%.1s' (known: \\n \\t \\r \\\\)",
                     cursor + 1);
            return problem;
        }
        if (*cursor == '%' || *cursor == '\\') {
            cursor++;
        }
    }
    return NULL;
}

static void record_format_bytes(FILE *out, const void *bytes, size_t byte_count)
{
    if (bytes != NULL && byte_count > 0) {
        fwrite(bytes, 1, byte_count, out);
    }
}

/* A decimal number with one fwrite: printf costs more than the rest of a small record. */
static void record_format_int(FILE *out, int64_t value)
{
    char digits[21];
    char *end = digits + sizeof(digits);
    char *cursor = end;
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;

    do {
        *--cursor = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0) {
        *--cursor = '-';
    }
    fwrite(cursor, 1, (size_t)(end - cursor), out);
}

/* Headers as name=value pairs joined by ','. */
static rill_err record_format_headers(FILE *out, const rill_record_view_t *rec)
{
    size_t count = rill_record_header_count(rec);
    for (size_t index = 0; index < count; index++) {
        const char *name = NULL;
        const void *value = NULL;
        size_t name_bytes = 0;
        size_t value_bytes = 0;
        rill_err err = rill_record_header(rec, index, &name, &name_bytes, &value, &value_bytes);
        if (err != RILL_OK) {
            return err;
        }
        if (index > 0) {
            fputc(',', out);
        }
        record_format_bytes(out, name, name_bytes);
        fputc('=', out);
        record_format_bytes(out, value, value_bytes);
    }
    return RILL_OK;
}

/* Prints the field or character named by directive, the character after a '%'. */
static rill_err record_format_directive(FILE *out,
                                        char directive,
                                        const rill_record_view_t *rec,
                                        const struct record_origin *origin)
{
    const void *bytes = NULL;
    size_t byte_count = 0;

    switch (directive) {
    case 'o':
        record_format_int(out, rill_record_offset(rec));
        return RILL_OK;
    case 'T':
        record_format_int(out, rill_record_timestamp(rec));
        return RILL_OK;
    case 'k':
        bytes = rill_record_key(rec, &byte_count);
        record_format_bytes(out, bytes, byte_count);
        return RILL_OK;
    case 'v':
        bytes = rill_record_value(rec, &byte_count);
        record_format_bytes(out, bytes, byte_count);
        return RILL_OK;
    case 'h':
        return record_format_headers(out, rec);
    case 't':
        if (origin != NULL && origin->topic != NULL) {
            fputs(origin->topic, out);
        }
        return RILL_OK;
    case 'p':
        if (origin != NULL) {
            record_format_int(out, origin->partition);
        }
        return RILL_OK;
    default:
        fputc(directive, out);
        return RILL_OK;
    }
}

static char record_format_escape(char escape)
{
    switch (escape) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    default:
        return escape;
    }
}

rill_err record_format_print(FILE *out,
                             const char *format,
                             const rill_record_view_t *rec,
                             const struct record_origin *origin)
{
    const char *cursor = format;
    while (*cursor != '\0') {
        size_t literal_bytes = strcspn(cursor, "%\\");
        if (literal_bytes > 0) {
            fwrite(cursor, 1, literal_bytes, out);
        }
        cursor += literal_bytes;
        if (*cursor == '\0') {
            break;
        }
        if (cursor[1] == '\0') {
            fputc(*cursor, out); /* a lone trailing '%' or '\' prints as itself */
            break;
        }
        if (*cursor == '%') {
            rill_err err = record_format_directive(out, cursor[1], rec, origin);
            if (err != RILL_OK) {
                return err;
            }
        } else {
            fputc(record_format_escape(cursor[1]), out);
        }
        cursor += 2;
    }
    return RILL_OK;
}

/* ---- --json ---------------------------------------------------------------------------- */

bool record_json_parse_encoding(const char *text, enum record_json_encoding *out_encoding)
{
    if (strcmp(text, "text") == 0) {
        *out_encoding = RECORD_JSON_TEXT;
        return true;
    }
    if (strcmp(text, "base64") == 0) {
        *out_encoding = RECORD_JSON_BASE64;
        return true;
    }
    return false;
}

void record_json_init(struct record_json *printer,
                      FILE *out,
                      enum record_json_encoding encoding,
                      const char *command)
{
    memset(printer, 0, sizeof(*printer));
    json_init_compact(&printer->writer, out);
    printer->encoding = encoding;
    printer->command = command;
}

/* A key, value or header value: null, or a string in the printer's encoding. */
static void record_json_bytes(struct record_json *printer, const void *bytes, size_t byte_count)
{
    if (bytes == NULL) {
        json_null(&printer->writer);
    } else if (printer->encoding == RECORD_JSON_BASE64) {
        json_string_base64(&printer->writer, bytes, byte_count);
    } else {
        json_string_bytes(&printer->writer, bytes, byte_count);
    }
}

/* Decodes every header once, so that a damaged one is found before the line is started. */
static rill_err record_json_check_headers(const rill_record_view_t *rec, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        const char *name = NULL;
        const void *value = NULL;
        size_t name_bytes = 0;
        size_t value_bytes = 0;
        rill_err err = rill_record_header(rec, index, &name, &name_bytes, &value, &value_bytes);
        if (err != RILL_OK) {
            return err;
        }
    }
    return RILL_OK;
}

static void
record_json_headers(struct record_json *printer, const rill_record_view_t *rec, size_t count)
{
    struct json_writer *writer = &printer->writer;

    json_array_begin(writer);
    for (size_t index = 0; index < count; index++) {
        const char *name = NULL;
        const void *value = NULL;
        size_t name_bytes = 0;
        size_t value_bytes = 0;
        if (rill_record_header(rec, index, &name, &name_bytes, &value, &value_bytes) != RILL_OK) {
            continue; /* not reached: record_json_check_headers decoded them all */
        }
        json_object_begin(writer);
        JSON_KEY_LITERAL(writer, "name");
        json_string_bytes(writer, name != NULL ? name : "", name_bytes);
        JSON_KEY_LITERAL(writer, "value");
        record_json_bytes(printer, value, value_bytes);
        json_object_end(writer);
    }
    json_array_end(writer);
}

rill_err record_json_print(struct record_json *printer,
                           const rill_record_view_t *rec,
                           const struct record_origin *origin)
{
    struct json_writer *writer = &printer->writer;
    size_t header_count = rill_record_header_count(rec);
    size_t byte_count = 0;
    const void *bytes;
    uint64_t replaced_before = writer->replaced;

    if (header_count > 0) {
        rill_err err = record_json_check_headers(rec, header_count);
        if (err != RILL_OK) {
            return err;
        }
    }
    json_object_begin(writer);
    if (origin != NULL) {
        JSON_KEY_LITERAL(writer, "topic");
        json_string(writer, origin->topic != NULL ? origin->topic : "");
        JSON_KEY_LITERAL(writer, "partition");
        json_int(writer, origin->partition);
    }
    JSON_KEY_LITERAL(writer, "offset");
    json_int(writer, rill_record_offset(rec));
    JSON_KEY_LITERAL(writer, "timestamp");
    json_int(writer, rill_record_timestamp(rec));
    JSON_KEY_LITERAL(writer, "key");
    bytes = rill_record_key(rec, &byte_count);
    record_json_bytes(printer, bytes, byte_count);
    JSON_KEY_LITERAL(writer, "value");
    bytes = rill_record_value(rec, &byte_count);
    record_json_bytes(printer, bytes, byte_count);
    JSON_KEY_LITERAL(writer, "headers");
    record_json_headers(printer, rec, header_count);
    json_object_end(writer);
    bool complete = json_end_line(writer);
    RILL_ASSERT(complete); /* the calls above balance */
    if (writer->replaced != replaced_before && !printer->noted) {
        printer->noted = true;
        fflush(writer->out);
        if (printer->encoding == RECORD_JSON_BASE64) {
            fprintf(stderr,
                    "rill %s: note: some header names are not valid UTF-8 and were printed "
                    "with U+FFFD\n",
                    printer->command);
        } else {
            fprintf(stderr,
                    "rill %s: note: some bytes are not valid UTF-8 and were printed as U+FFFD; "
                    "--json-encoding base64 prints keys, values and header values exactly\n",
                    printer->command);
        }
    }
    return RILL_OK;
}
