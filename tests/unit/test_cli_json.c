/*
 * test_cli_json.c - the JSON writer of the CLI (tools/json.c): nesting and separators,
 * string escaping (control characters, quotes, valid and invalid UTF-8), numbers, and misuse
 * being reported instead of producing invalid JSON.
 *
 * tools/ is linked into the rill binary only, not into the libraries the unit tests link, so
 * the writer's source is compiled into this test directly.
 */
#include "tests/harness.h"

#include "tools/json.c"

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
    json_key(&session.json, "none");
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

static const struct t_case cases[] = {
    T_CASE(t_json_nesting), T_CASE(t_json_escapes),     T_CASE(t_json_invalid_utf8),
    T_CASE(t_json_misuse),  T_CASE(t_json_null_string),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
