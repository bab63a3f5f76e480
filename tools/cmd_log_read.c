/*
 * cmd_log_read.c - `rill log read`: prints the records of a partition log through a format
 * string, kcat style, or with --json as JSON Lines (one object per record per line).
 *
 * The format (tools/record_format.h) is checked once before the log is opened, so a bad format
 * is a usage error and never a half-printed output.
 */
#include "tools/cli.h"
#include "tools/record_format.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char read_usage[] =
    "usage: rill log read DIR [options]\n"
    "\n"
    "Prints the records of the partition log in DIR, from the start (or --from) to the end.\n"
    "\n"
    "Options:\n"
    "  --from OFFSET       first offset to print; negative counts back from the end\n"
    "                      (--from -10: the last 10 records)\n"
    "  --from-time MS      start at the first record with a timestamp >= MS (ms since epoch)\n"
    "  --count N           print at most N records\n"
    "  --format FORMAT     how to print each record (default '%v\\n'):\n"
    "                        %o offset   %k key   %v value   %T timestamp (ms)\n"
    "                        %h headers as name=value pairs separated by ','\n"
    "                        %% a percent sign   \\n newline   \\t tab   \\r return   \\\\ "
    "backslash\n"
    "                      a null key or value prints as nothing\n"
    "  -J, --json          print each record as one JSON object per line (JSON Lines):\n"
    "                        {\"offset\", \"timestamp\" (ms), \"key\", \"value\",\n"
    "                         \"headers\": [{\"name\", \"value\"}]}\n"
    "                      a null key, value or header value is null; excludes --format\n"
    "  --json-encoding ENC with --json, how keys, values and header values are written:\n"
    "                        text    UTF-8 strings; bytes that are not valid UTF-8 become\n"
    "                                U+FFFD (a note on stderr says so) (default)\n"
    "                        base64  base64 of the exact bytes\n"
    "  -h, --help          show this help\n"
    "\n"
    "Examples:\n"
    "  rill log read ./data --from 2 --count 3 --format '%o %k=%v\\n'\n"
    "  rill log read ./data --from -10 --json --json-encoding base64\n";

enum read_option_index {
    READ_FROM,
    READ_FROM_TIME,
    READ_COUNT,
    READ_FORMAT,
    READ_JSON,
    READ_JSON_ENCODING,
};

static const struct cli_option read_options[] = {
    [READ_FROM] = { "from", 0, true },
    [READ_FROM_TIME] = { "from-time", 0, true },
    [READ_COUNT] = { "count", 0, true },
    [READ_FORMAT] = { "format", 0, true },
    [READ_JSON] = { "json", 'J', false },
    [READ_JSON_ENCODING] = { "json-encoding", 0, true },
    { NULL, 0, false },
};

struct read_settings {
    bool has_from;
    int64_t from_offset;
    bool has_from_time;
    int64_t from_time_ms;
    int64_t count_max; /* -1: no limit */
    const char *format;
    bool json;                /* --json: JSON Lines instead of format */
    bool json_encoding_given; /* --json-encoding was on the command line */
    enum record_json_encoding json_encoding;
    char problem[128];
};

static const char *read_option(int option_index, const char *value, void *context)
{
    struct read_settings *settings = context;

    switch (option_index) {
    case READ_FROM:
        if (!cli_parse_int64(value, &settings->from_offset)) {
            return "expected an offset (a whole number)";
        }
        settings->has_from = true;
        return NULL;
    case READ_FROM_TIME:
        if (!cli_parse_int64(value, &settings->from_time_ms) || settings->from_time_ms < 0) {
            return "expected a timestamp in milliseconds since the epoch";
        }
        settings->has_from_time = true;
        return NULL;
    case READ_COUNT:
        if (!cli_parse_int64(value, &settings->count_max) || settings->count_max < 0) {
            return "expected a record count (a whole number >= 0)";
        }
        return NULL;
    case READ_FORMAT:
        settings->format = value;
        return record_format_check(value, false, settings->problem, sizeof(settings->problem));
    case READ_JSON:
        settings->json = true;
        return NULL;
    case READ_JSON_ENCODING:
        settings->json_encoding_given = true;
        if (!record_json_parse_encoding(value, &settings->json_encoding)) {
            return "expected text or base64";
        }
        return NULL;
    default:
        return "unhandled option";
    }
}

/* The offset to start reading at, from --from / --from-time. Reports its own errors. */
static rill_err
read_start_offset(rill_log_t *log, const struct read_settings *settings, int64_t *out_offset)
{
    int64_t start = rill_log_start_offset(log);
    int64_t end = rill_log_end_offset(log);
    int64_t offset = start;

    if (settings->has_from_time) {
        rill_err err = rill_log_offset_for_time(log, settings->from_time_ms, &offset);
        if (err == RILL_ERR_END) {
            offset = end;
        } else if (err != RILL_OK) {
            cli_fail(err, "log read: finding the offset for time %" PRId64, settings->from_time_ms);
            return err;
        }
    } else if (settings->has_from && settings->from_offset < 0) {
        offset = end + settings->from_offset < start ? start : end + settings->from_offset;
    } else if (settings->has_from) {
        offset = settings->from_offset;
    }
    if (offset > end) {
        cli_fail(RILL_ERR_OFFSET_OUT_OF_RANGE,
                 "log read: --from %" PRId64 " is past the end of the log (next offset %" PRId64
                 ")",
                 offset, end);
        return RILL_ERR_OFFSET_OUT_OF_RANGE;
    }
    *out_offset = offset;
    return RILL_OK;
}

/* Prints records from offset on until the end of the log or count_max records. */
static rill_err
read_records(rill_log_reader_t *reader, int64_t offset, const struct read_settings *settings)
{
    const char *format = settings->format != NULL ? settings->format : "%v\\n";
    struct record_json json;
    int64_t printed = 0;

    record_json_init(&json, stdout, settings->json_encoding, "log read");

    while (settings->count_max < 0 || printed < settings->count_max) {
        const rill_record_view_t *rec = NULL;
        rill_err err = rill_log_reader_next(reader, &rec);
        if (err == RILL_ERR_END) {
            break;
        }
        if (err == RILL_OK) {
            offset = rill_record_offset(rec);
            err = settings->json ? record_json_print(&json, rec, NULL)
                                 : record_format_print(stdout, format, rec, NULL);
        }
        if (err != RILL_OK) {
            fflush(stdout);
            cli_fail(err, "log read: reading at offset %" PRId64 " (after %" PRId64 " records)",
                     offset, printed);
            return err;
        }
        offset++;
        printed++;
        if (ferror(stdout)) {
            break;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE) {
            return RILL_OK; /* the reader of the output stopped early (| head): not a failure */
        }
        cli_fail_message("log read: writing to stdout: %s", strerror(errno));
        return RILL_ERR_IO;
    }
    return RILL_OK;
}

static int read_run(const char *dir, const struct read_settings *settings)
{
    struct stat status;
    rill_log_t *log = NULL;
    rill_log_reader_t *reader = NULL;
    int64_t offset = 0;
    rill_err err;

    /* rill_log_open creates a missing log: reading must not. */
    if (stat(dir, &status) != 0 || !S_ISDIR(status.st_mode)) {
        cli_fail_message("log read: %s: no such log directory", dir);
        return CLI_EXIT_FAILURE;
    }
    err = rill_log_open(dir, NULL, &log);
    if (err != RILL_OK) {
        cli_fail(err, "log read: opening log %s", dir);
        return CLI_EXIT_FAILURE;
    }
    err = read_start_offset(log, settings, &offset);
    if (err == RILL_OK) {
        err = rill_log_reader_create(log, offset, &reader);
        if (err != RILL_OK) {
            cli_fail(err, "log read: positioning at offset %" PRId64, offset);
        }
    }
    if (err == RILL_OK) {
        err = read_records(reader, offset, settings);
    }
    rill_log_reader_destroy(reader);
    rill_err close_err = rill_log_close(log);
    if (close_err != RILL_OK) {
        cli_fail(close_err, "log read: closing log %s", dir);
    }
    return err == RILL_OK && close_err == RILL_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* The options that exclude or need each other; NULL or a usage problem. */
static const char *read_check(const struct read_settings *settings)
{
    if (settings->has_from && settings->has_from_time) {
        return "--from and --from-time exclude each other";
    }
    if (settings->json && settings->format != NULL) {
        return "--json and --format exclude each other (--json prints every field)";
    }
    if (settings->json_encoding_given && !settings->json) {
        return "--json-encoding needs --json";
    }
    return NULL;
}

int cmd_log_read_main(int argc, char **argv)
{
    static char output_buffer[64 * 1024];
    struct read_settings settings = { .count_max = -1 };
    const struct cli_command command = {
        .name = "log read",
        .usage = read_usage,
        .options = read_options,
        .handler = read_option,
        .context = &settings,
        .positional_names = "DIR",
        .positional_min = 1,
        .positional_max = 1,
    };
    const char *dir = NULL;
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;

    if (!cli_parse(&command, argc, argv, &dir, &positional_count, &exit_code)) {
        return exit_code;
    }
    const char *problem = read_check(&settings);
    if (problem != NULL) {
        cli_usage_error(&command, problem);
        return CLI_EXIT_USAGE;
    }
    setvbuf(stdout, output_buffer, _IOFBF, sizeof(output_buffer));
    /* A closed pipe becomes EPIPE, so the log is still closed cleanly after `| head`. */
    signal(SIGPIPE, SIG_IGN);
    return read_run(dir, &settings);
}
