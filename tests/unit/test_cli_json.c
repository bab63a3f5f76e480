/*
 * test_cli_json.c - the JSON writer of the CLI (tools/json.c): nesting and separators,
 * string escaping (control characters, quotes, valid and invalid UTF-8), numbers, and misuse
 * being reported instead of producing invalid JSON; its compact JSON Lines mode, base64
 * strings, the short-string fast path against the general one, and the --json record printer
 * of `rill consume` / `rill log read` (tools/record_format.c) on records read from a real log.
 *
 * tools/ is linked into the rill binary only, not into the libraries the unit tests link, so
 * the sources are compiled into this test directly.
 */
#include "tests/harness.h"

#include "tools/json.c"
#include "tools/record_format.c"

/* The output of one writer session, in a memory stream. */
struct t_json {
    struct json_writer json;
    FILE *stream;
    char *text;
    size_t text_bytes;
};

static void t_json_open(struct t_json *session)
{
    memset(session, 0, sizeof(*session));
    session->stream = open_memstream(&session->text, &session->text_bytes);
    T_ASSERT(session->stream != NULL);
    json_init(&session->json, session->stream);
}

/* Finishes the document; returns json_finish's verdict. The text stays in session->text. */
static bool t_json_close(struct t_json *session)
{
    bool ok = json_finish(&session->json);
    T_ASSERT(fclose(session->stream) == 0);
    return ok;
}

static void t_json_nesting(void)
{
    struct t_json session;
    t_json_open(&session);
    json_object_begin(&session.json);
    json_key(&session.json, "name");
    json_string(&session.json, "orders");
    json_key(&session.json, "partitions");
    json_array_begin(&session.json);
    json_int(&session.json, -1);
    json_uint(&session.json, UINT64_MAX);
    json_array_end(&session.json);
    json_key(&session.json, "empty");
    json_object_begin(&session.json);
    json_object_end(&session.json);
    JSON_KEY_LITERAL(&session.json, "none");
    json_array_begin(&session.json);
    json_array_end(&session.json);
    json_key(&session.json, "flags");
    json_array_begin(&session.json);
    json_bool(&session.json, true);
    json_bool(&session.json, false);
    json_null(&session.json);
    json_array_end(&session.json);
    json_object_end(&session.json);
    T_ASSERT(t_json_close(&session));
    const char *expected = "{\n"
                           "  \"name\": \"orders\",\n"
                           "  \"partitions\": [\n"
                           "    -1,\n"
                           "    18446744073709551615\n"
                           "  ],\n"
                           "  \"empty\": {},\n"
                           "  \"none\": [],\n"
                           "  \"flags\": [\n"
                           "    true,\n"
                           "    false,\n"
                           "    null\n"
                           "  ]\n"
                           "}\n";
    if (strcmp(session.text, expected) != 0) {
        T_FAIL("got:\n%s", session.text);
    }
    free(session.text);
}

static void t_json_escapes(void)
{
    struct t_json session;
    const char input[] = "q\"b\\n\nt\tr\rc\x01\x1f\x7f"
                         "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* é € and an emoji */
    t_json_open(&session);
    json_string_bytes(&session.json, input, sizeof(input) - 1);
    T_ASSERT(t_json_close(&session));
    const char *expected = "\"q\\\"b\\\\n\\nt\\tr\\rc\\u0001\\u001f\\u007f"
                           "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"\n";
    if (strcmp(session.text, expected) != 0) {
        T_FAIL("got: %s", session.text);
    }
    free(session.text);
}

static void t_json_invalid_utf8(void)
{
    struct t_json session;
    /* lone continuation, overlong '/', a surrogate, past U+10FFFF, truncated, then NUL */
    const char input[] = "a\x80"
                         "b\xc0\xaf"
                         "c\xed\xa0\x80"
                         "d\xf4\x90\x80\x80"
                         "e\xe2\x82";
    t_json_open(&session);
    json_string_bytes(&session.json, input, sizeof(input)); /* includes the NUL */
    T_ASSERT(t_json_close(&session));
    const char *expected = "\"a\\ufffd"
                           "b\\ufffd\\ufffd"
                           "c\\ufffd\\ufffd\\ufffd"
                           "d\\ufffd\\ufffd\\ufffd\\ufffd"
                           "e\\ufffd\\ufffd\\u0000\"\n";
    if (strcmp(session.text, expected) != 0) {
        T_FAIL("got: %s", session.text);
    }
    free(session.text);
}

static void t_json_misuse(void)
{
    struct t_json session;

    t_json_open(&session); /* unclosed object */
    json_object_begin(&session.json);
    T_ASSERT(!t_json_close(&session));
    free(session.text);

    t_json_open(&session); /* value without key inside an object */
    json_object_begin(&session.json);
    json_int(&session.json, 1);
    json_object_end(&session.json);
    T_ASSERT(!t_json_close(&session));
    free(session.text);

    t_json_open(&session); /* key inside an array */
    json_array_begin(&session.json);
    json_key(&session.json, "k");
    json_int(&session.json, 1);
    json_array_end(&session.json);
    T_ASSERT(!t_json_close(&session));
    free(session.text);

    t_json_open(&session); /* mismatched close */
    json_array_begin(&session.json);
    json_object_end(&session.json);
    T_ASSERT(!t_json_close(&session));
    free(session.text);

    t_json_open(&session); /* too deep */
    for (int level = 0; level <= JSON_DEPTH_MAX; level++) {
        json_array_begin(&session.json);
    }
    T_ASSERT(!t_json_close(&session));
    free(session.text);

    t_json_open(&session); /* a key with no value */
    json_object_begin(&session.json);
    json_key(&session.json, "k");
    json_object_end(&session.json);
    T_ASSERT(!t_json_close(&session));
    free(session.text);
}

static void t_json_null_string(void)
{
    struct t_json session;
    t_json_open(&session);
    json_string(&session.json, NULL);
    T_ASSERT(t_json_close(&session));
    T_ASSERT(strcmp(session.text, "null\n") == 0);
    free(session.text);
}

/* Compact mode: no whitespace, one document per line, the writer reusable line after line. */
static void t_json_compact(void)
{
    struct t_json session;
    memset(&session, 0, sizeof(session));
    session.stream = open_memstream(&session.text, &session.text_bytes);
    T_ASSERT(session.stream != NULL);
    json_init_compact(&session.json, session.stream);
    for (int line = 0; line < 2; line++) {
        json_object_begin(&session.json);
        json_key(&session.json, "n");
        json_int(&session.json, line);
        json_key(&session.json, "list");
        json_array_begin(&session.json);
        json_string(&session.json, "a b");
        json_object_begin(&session.json);
        json_object_end(&session.json);
        json_null(&session.json);
        json_array_end(&session.json);
        json_key(&session.json, "empty");
        json_array_begin(&session.json);
        json_array_end(&session.json);
        json_object_end(&session.json);
        T_ASSERT(json_end_line(&session.json));
    }
    json_object_begin(&session.json); /* literal keys, compact */
    JSON_KEY_LITERAL(&session.json, "offset");
    json_int(&session.json, 3);
    JSON_KEY_LITERAL(&session.json, "");
    json_null(&session.json);
    json_object_end(&session.json);
    T_ASSERT(json_end_line(&session.json));
    json_int(&session.json, 7); /* a last document ended by json_finish */
    T_ASSERT(t_json_close(&session));
    const char *expected = "{\"n\":0,\"list\":[\"a b\",{},null],\"empty\":[]}\n"
                           "{\"n\":1,\"list\":[\"a b\",{},null],\"empty\":[]}\n"
                           "{\"offset\":3,\"\":null}\n"
                           "7\n";
    if (strcmp(session.text, expected) != 0) {
        T_FAIL("got:\n%s", session.text);
    }
    free(session.text);
}

/* Lines ended too early or two values in one line are misuse, reported by json_end_line. */
static void t_json_compact_misuse(void)
{
    struct t_json session;
    memset(&session, 0, sizeof(session));
    session.stream = open_memstream(&session.text, &session.text_bytes);
    T_ASSERT(session.stream != NULL);
    json_init_compact(&session.json, session.stream);
    T_ASSERT(!json_end_line(&session.json)); /* an empty line is no document */
    json_init_compact(&session.json, session.stream);
    json_int(&session.json, 1);
    json_int(&session.json, 2);
    T_ASSERT(!json_end_line(&session.json)); /* two top-level values */
    json_init_compact(&session.json, session.stream);
    json_object_begin(&session.json);
    T_ASSERT(!json_end_line(&session.json)); /* unclosed */
    T_ASSERT(!json_end_line(&session.json)); /* and the failure sticks */
    T_ASSERT(fclose(session.stream) == 0);
    free(session.text);
}

static void t_json_numbers(void)
{
    struct t_json session;
    const int64_t values[] = {
        0, 9, 10, 99, 100, 101, -1, -10, 1700000000000, INT64_MAX, INT64_MIN
    };
    t_json_open(&session);
    json_init_compact(&session.json, session.stream);
    json_array_begin(&session.json);
    for (size_t index = 0; index < T_COUNT(values); index++) {
        json_int(&session.json, values[index]);
    }
    json_uint(&session.json, 0);
    json_uint(&session.json, UINT64_MAX);
    json_array_end(&session.json);
    T_ASSERT(t_json_close(&session));
    const char *expected = "[0,9,10,99,100,101,-1,-10,1700000000000,9223372036854775807,"
                           "-9223372036854775808,0,18446744073709551615]\n";
    if (strcmp(session.text, expected) != 0) {
        T_FAIL("got: %s", session.text);
    }
    free(session.text);
}

/* json_string_base64 of input must be expected (a JSON string), each on its own line. */
static void t_json_check_base64(const void *input, size_t input_bytes, const char *expected)
{
    struct t_json session;
    t_json_open(&session);
    json_init_compact(&session.json, session.stream);
    json_string_base64(&session.json, input, input_bytes);
    T_ASSERT(t_json_close(&session));
    size_t expected_bytes = strlen(expected);
    if (session.text_bytes != expected_bytes + 3 || session.text[0] != '"' ||
        memcmp(session.text + 1, expected, expected_bytes) != 0 ||
        strcmp(session.text + 1 + expected_bytes, "\"\n") != 0) {
        T_FAIL("base64 of %zu bytes: got %.200s", input_bytes, session.text);
    }
    free(session.text);
}

static void t_json_base64(void)
{
    /* RFC 4648 section 10 */
    t_json_check_base64("", 0, "");
    t_json_check_base64("f", 1, "Zg==");
    t_json_check_base64("fo", 2, "Zm8=");
    t_json_check_base64("foo", 3, "Zm9v");
    t_json_check_base64("foob", 4, "Zm9vYg==");
    t_json_check_base64("fooba", 5, "Zm9vYmE=");
    t_json_check_base64("foobar", 6, "Zm9vYmFy");
    t_json_check_base64("\xff\xfe\x00\x80\"\\", 6, "//4AgCJc");

    /* Past the encoder's chunk (768 input bytes) and the writer's stage (4096 bytes). */
    size_t repeats = 5000;
    char *input = malloc(repeats * 3);
    char *expected = malloc(repeats * 4 + 1);
    T_ASSERT(input != NULL && expected != NULL);
    for (size_t index = 0; index < repeats; index++) {
        memcpy(input + index * 3, "foo", 3);
        memcpy(expected + index * 4, "Zm9v", 4);
    }
    expected[repeats * 4] = '\0';
    t_json_check_base64(input, repeats * 3, expected);
    expected[repeats * 4 - 4] = '\0';
    strcat(expected, "Zm8=");
    t_json_check_base64(input, repeats * 3 - 1, expected);
    free(input);
    free(expected);
}

/*
 * Short strings take a fast path (8 bytes at a time into the stage, and a tail as the last 8
 * bytes), long ones the general path: both must print every input the same. A long plain
 * prefix sends the same bytes down the general path; its output is then the prefix and the
 * short path's output. Rounds range from all plain letters (the word copies) to no letters.
 */
static void t_json_short_and_long_agree(void)
{
    static const unsigned char interesting[] = { 'a',  ' ',  '"',  '\\', '\n', 0x00, 0x1f, 0x7f,
                                                 0x80, 0xbf, 0xc2, 0xc3, 0xa9, 0xe2, 0x82, 0xac,
                                                 0xed, 0xa0, 0xf0, 0x9f, 0x98, 0xf4, 0x90, 0xff };
    enum { PREFIX = 1000, PIECE_MAX = 48 };
    unsigned char input[PREFIX + PIECE_MAX];
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    memset(input, 'x', PREFIX);
    for (int round = 0; round < 3000; round++) {
        size_t piece = (size_t)(t_rand(&seed) % (PIECE_MAX + 1));
        uint64_t plain_in_64 = (uint64_t)(round % 5) * 16; /* 0, 16, 32, 48, 64 of 64 */
        for (size_t index = 0; index < piece; index++) {
            uint64_t pick = t_rand(&seed);
            if (pick % 64 < plain_in_64) {
                input[PREFIX + index] = (unsigned char)('a' + (pick >> 8) % 26);
            } else {
                input[PREFIX + index] = pick % 3 == 0
                                            ? (unsigned char)(pick >> 8)
                                            : interesting[(pick >> 8) % sizeof(interesting)];
            }
        }
        struct t_json short_session;
        struct t_json long_session;
        t_json_open(&short_session);
        json_string_bytes(&short_session.json, input + PREFIX, piece);
        T_ASSERT(t_json_close(&short_session));
        t_json_open(&long_session);
        json_string_bytes(&long_session.json, input, PREFIX + piece);
        T_ASSERT(t_json_close(&long_session));
        T_ASSERT_EQ_INT(short_session.json.replaced, long_session.json.replaced);
        if (long_session.text_bytes != short_session.text_bytes + PREFIX ||
            memcmp(long_session.text + 1 + PREFIX, short_session.text + 1,
                   short_session.text_bytes - 1) != 0) {
            T_FAIL("round %d: short path %s, long path ...%s", round, short_session.text,
                   long_session.text + PREFIX);
        }
        free(short_session.text);
        free(long_session.text);
    }
}

/* Replaced bytes are counted; a long string with escapes crosses the stage intact. */
static void t_json_replaced_and_long(void)
{
    struct t_json session;
    size_t length = 3 * JSON_STAGE_BYTES;
    char *input = malloc(length);
    T_ASSERT(input != NULL);
    for (size_t index = 0; index < length; index++) {
        input[index] = index % 10 == 9 ? '\n' : (char)('0' + index % 10);
    }
    t_json_open(&session);
    json_init_compact(&session.json, session.stream);
    json_array_begin(&session.json);
    json_string_bytes(&session.json, "ok\xff\xfe", 4);
    json_string_bytes(&session.json, input, length);
    json_array_end(&session.json);
    T_ASSERT(t_json_close(&session));
    T_ASSERT_EQ_INT(session.json.replaced, 2);
    T_ASSERT(strncmp(session.text, "[\"ok\\ufffd\\ufffd\",\"012345678\\n012", 27) == 0);
    /* ["ok\ufffd\ufffd", is 18 bytes; then the quoted string, each newline two; then ]\n */
    T_ASSERT_EQ_INT(session.text_bytes, 18 + 1 + length + length / 10 + 1 + 2);
    free(session.text);
    free(input);
}

/* ---- the --json record printer ----------------------------------------------------------- */

/* A log in a temporary directory holding the records the printer tests read. */
struct t_record_log {
    char dir[256];
    rill_log_t *log;
    rill_log_reader_t *reader;
};

static void t_record_log_open(struct t_record_log *fixture)
{
    static const char bad_utf8[] = "\xff\xc3(";
    const rill_header_t headers[] = {
        { "source", 6, "cli", 3 },
        { "empty", 5, "", 0 },
        { "none", 4, NULL, 0 },
        { "bin", 3, bad_utf8, 3 },
    };
    const rill_record_t records[] = {
        { .key = "k1", .key_bytes = 2, .value = "plain", .value_bytes = 5, .timestamp_ms = 1000 },
        { .key = NULL, .value = "q\"b\\n\nc\x01\t", .value_bytes = 9, .timestamp_ms = 1001 },
        { .key = "",
          .key_bytes = 0,
          .value = NULL,
          .headers = headers,
          .header_count = 4,
          .timestamp_ms = 1002 },
        { .key = bad_utf8,
          .key_bytes = 3,
          .value = "\xc3\xa9\x00",
          .value_bytes = 3,
          .timestamp_ms = 1003 },
    };
    memset(fixture, 0, sizeof(*fixture));
    t_mkdtemp(fixture->dir, sizeof(fixture->dir));
    T_ASSERT_OK(rill_log_open(fixture->dir, NULL, &fixture->log));
    T_ASSERT_OK(rill_log_append(fixture->log, records, T_COUNT(records), NULL));
    T_ASSERT_OK(rill_log_reader_create(fixture->log, 0, &fixture->reader));
}

static void t_record_log_close(struct t_record_log *fixture)
{
    rill_log_reader_destroy(fixture->reader);
    T_ASSERT_OK(rill_log_close(fixture->log));
    t_rmdir_all(fixture->dir);
}

/* Prints every record of a fresh t_record_log with encoding; returns the text (free it). */
static char *t_record_json_all(enum record_json_encoding encoding,
                               const struct record_origin *origin,
                               bool *out_noted)
{
    struct t_record_log fixture;
    struct record_json printer;
    char *text = NULL;
    size_t text_bytes = 0;
    FILE *stream = open_memstream(&text, &text_bytes);
    T_ASSERT(stream != NULL);

    t_record_log_open(&fixture);
    record_json_init(&printer, stream, encoding, "test");
    for (;;) {
        const rill_record_view_t *rec = NULL;
        rill_err err = rill_log_reader_next(fixture.reader, &rec);
        if (err == RILL_ERR_END) {
            break;
        }
        T_ASSERT_OK(err);
        T_ASSERT_OK(record_json_print(&printer, rec, origin));
    }
    T_ASSERT(fclose(stream) == 0);
    t_record_log_close(&fixture);
    *out_noted = printer.noted;
    return text;
}

static void t_record_json_text(void)
{
    struct record_origin origin = { "orders", 3 };
    bool noted = false;
    char *text = t_record_json_all(RECORD_JSON_TEXT, &origin, &noted);
    const char *expected =
        "{\"topic\":\"orders\",\"partition\":3,\"offset\":0,\"timestamp\":1000,\"key\":\"k1\","
        "\"value\":\"plain\",\"headers\":[]}\n"
        "{\"topic\":\"orders\",\"partition\":3,\"offset\":1,\"timestamp\":1001,\"key\":null,"
        "\"value\":\"q\\\"b\\\\n\\nc\\u0001\\t\",\"headers\":[]}\n"
        "{\"topic\":\"orders\",\"partition\":3,\"offset\":2,\"timestamp\":1002,\"key\":\"\","
        "\"value\":null,\"headers\":[{\"name\":\"source\",\"value\":\"cli\"},"
        "{\"name\":\"empty\",\"value\":\"\"},{\"name\":\"none\",\"value\":null},"
        "{\"name\":\"bin\",\"value\":\"\\ufffd\\ufffd(\"}]}\n"
        "{\"topic\":\"orders\",\"partition\":3,\"offset\":3,\"timestamp\":1003,"
        "\"key\":\"\\ufffd\\ufffd(\",\"value\":\"\xc3\xa9\\u0000\",\"headers\":[]}\n";
    if (strcmp(text, expected) != 0) {
        T_FAIL("got:\n%s\nexpected:\n%s", text, expected);
    }
    T_ASSERT(noted); /* the replacement was said on stderr */
    free(text);
}

static void t_record_json_base64(void)
{
    bool noted = true;
    char *text = t_record_json_all(RECORD_JSON_BASE64, NULL, &noted);
    /* k1 plain | q"b\n<LF>c<SOH><TAB> | cli, "", <FF><C3>( | é<NUL> */
    const char *expected =
        "{\"offset\":0,\"timestamp\":1000,\"key\":\"azE=\",\"value\":\"cGxhaW4=\",\"headers\":[]}\n"
        "{\"offset\":1,\"timestamp\":1001,\"key\":null,\"value\":\"cSJiXG4KYwEJ\",\"headers\":[]}\n"
        "{\"offset\":2,\"timestamp\":1002,\"key\":\"\",\"value\":null,\"headers\":["
        "{\"name\":\"source\",\"value\":\"Y2xp\"},{\"name\":\"empty\",\"value\":\"\"},"
        "{\"name\":\"none\",\"value\":null},{\"name\":\"bin\",\"value\":\"/8Mo\"}]}\n"
        "{\"offset\":3,\"timestamp\":1003,\"key\":\"/8Mo\",\"value\":\"w6kA\",\"headers\":[]}\n";
    if (strcmp(text, expected) != 0) {
        T_FAIL("got:\n%s\nexpected:\n%s", text, expected);
    }
    T_ASSERT(!noted); /* nothing was replaced */
    free(text);
}

static void t_record_json_parse_encoding(void)
{
    enum record_json_encoding encoding = RECORD_JSON_TEXT;
    T_ASSERT(record_json_parse_encoding("base64", &encoding) && encoding == RECORD_JSON_BASE64);
    T_ASSERT(record_json_parse_encoding("text", &encoding) && encoding == RECORD_JSON_TEXT);
    T_ASSERT(!record_json_parse_encoding("hex", &encoding));
    T_ASSERT(!record_json_parse_encoding("", &encoding));
}

static const struct t_case cases[] = {
    T_CASE(t_json_nesting),
    T_CASE(t_json_escapes),
    T_CASE(t_json_invalid_utf8),
    T_CASE(t_json_misuse),
    T_CASE(t_json_null_string),
    T_CASE(t_json_compact),
    T_CASE(t_json_compact_misuse),
    T_CASE(t_json_numbers),
    T_CASE(t_json_base64),
    T_CASE(t_json_short_and_long_agree),
    T_CASE(t_json_replaced_and_long),
    T_CASE(t_record_json_text),
    T_CASE(t_record_json_base64),
    T_CASE(t_record_json_parse_encoding),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
