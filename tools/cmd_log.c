/*
 * cmd_log.c - `rill log`: dispatch to its subcommands, and `rill log append`.
 *
 * append turns stdin into records, one per line, and appends them in batches of at most
 * --batch-records records. A batch is also closed early when its estimated encoded size would
 * pass max.batch.bytes; if the log still refuses a batch as too large, the batch is split in
 * halves until it fits, so only a single record larger than max.batch.bytes is an error.
 *
 * The lines of a batch are copied into one growing buffer (lines can be of any length), and
 * the records point into it only once the batch is complete, because growing moves it.
 */
#include "tools/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char log_usage[] =
    "usage: rill log <command> [options]\n"
    "\n"
    "Commands:\n"
    "  append DIR    append lines from stdin to the partition log in DIR\n"
    "  read DIR      print records of the partition log in DIR\n"
    "  dump PATH     inspect and verify a log directory or one segment file, offline\n"
    "\n"
    "Run 'rill log <command> --help' for its options.\n";

static const char append_usage[] =
    "usage: rill log append DIR [options] < lines\n"
    "\n"
    "Appends each line of stdin (without its newline) as one record to the partition log in\n"
    "DIR, creating the log if needed, and prints the offsets assigned.\n"
    "\n"
    "Options:\n"
    "  --key-separator SEP   split each line at the first SEP: key before, value after;\n"
    "                        lines without SEP get a null key\n"
    "  --compression CODEC   none | lz4 (default none)\n"
    "  --flush POLICY        always | interval:MS | os (default always: every batch durable)\n"
    "  --batch-records N     records per appended batch (default 1000)\n"
    "  -c, --config KEY=VALUE  any log setting (segment.bytes, max.batch.bytes, ...); repeatable\n"
    "  -h, --help            show this help\n"
    "\n"
    "Example:\n"
    "  printf 'user1:hello\\nuser2:world\\n' | rill log append ./data --key-separator :\n";

/* Fewer records than the library's own bound, so that the batch arrays stay small. */
#define APPEND_BATCH_RECORDS_MAX     1000000
#define APPEND_BATCH_RECORDS_DEFAULT 1000
/* max.batch.bytes when the configuration leaves it unset (rill.h documents the default). */
#define APPEND_BATCH_BYTES_DEFAULT (1024 * 1024)
/* Upper estimates of the encoding: batch header, and per record the varints around it. */
#define APPEND_BATCH_HEADER_BYTES    61
#define APPEND_RECORD_OVERHEAD_BYTES 32
#define APPEND_DATA_BYTES_INITIAL    (64 * 1024)

enum append_option_index {
    APPEND_KEY_SEPARATOR,
    APPEND_COMPRESSION,
    APPEND_FLUSH,
    APPEND_BATCH_RECORDS,
    APPEND_CONFIG,
};

static const struct cli_option append_options[] = {
    [APPEND_KEY_SEPARATOR] = { "key-separator", 0, true },
    [APPEND_COMPRESSION] = { "compression", 0, true },
    [APPEND_FLUSH] = { "flush", 0, true },
    [APPEND_BATCH_RECORDS] = { "batch-records", 0, true },
    [APPEND_CONFIG] = { "config", 'c', true },
    { NULL, 0, false },
};

struct append_settings {
    rill_conf_t *conf;         /* log settings, filled as options are parsed */
    const char *key_separator; /* NULL: every line is a value with a null key */
    size_t key_separator_bytes;
    size_t batch_records_max;
    char problem[512]; /* message returned by the option handler */
};

/* One line of the pending batch, located in pending_batch.data. */
struct pending_line {
    size_t data_offset;
    size_t key_bytes;   /* meaningful only when has_key */
    size_t value_bytes; /* value follows the key (and the separator, which is not stored) */
    bool has_key;
    uint64_t line_number; /* 1-based, for messages */
};

struct pending_batch {
    char *data; /* the bytes of all pending lines; moves when it grows */
    size_t data_bytes;
    size_t data_capacity;
    struct pending_line *lines;
    rill_record_t *records; /* built from lines just before appending */
    size_t line_count;
    size_t line_count_max;
    size_t encoded_bytes_estimate;
};

/* What has been appended so far, for the final message. */
struct append_progress {
    uint64_t record_count;
    int64_t offset_first;
    int64_t offset_last;
};

/* Sets key=value in conf; on failure writes the explanation to problem and returns it. */
static const char *
append_conf_set(struct append_settings *settings, const char *key, const char *value)
{
    char errstr[256] = "";
    rill_err err = rill_conf_set(settings->conf, key, value, errstr, sizeof(errstr));
    if (err == RILL_OK) {
        return NULL;
    }
    if (errstr[0] != '\0') {
        snprintf(settings->problem, sizeof(settings->problem), "%s", errstr);
    } else {
        snprintf(settings->problem, sizeof(settings->problem), "%s=%s: %s", key, value,
                 rill_err_str(err));
    }
    return settings->problem;
}

static const char *append_option(int option_index, const char *value, void *context)
{
    struct append_settings *settings = context;
    int64_t number;

    switch (option_index) {
    case APPEND_KEY_SEPARATOR:
        if (value[0] == '\0') {
            return "the separator must not be empty";
        }
        settings->key_separator = value;
        settings->key_separator_bytes = strlen(value);
        return NULL;
    case APPEND_COMPRESSION:
        return append_conf_set(settings, "compression", value);
    case APPEND_FLUSH:
        return append_conf_set(settings, "flush", value);
    case APPEND_BATCH_RECORDS:
        if (!cli_parse_int64(value, &number) || number < 1 || number > APPEND_BATCH_RECORDS_MAX) {
            return "expected a whole number from 1 to 1000000";
        }
        settings->batch_records_max = (size_t)number;
        return NULL;
    case APPEND_CONFIG: {
        const char *equals = strchr(value, '=');
        char key[128];
        if (equals == NULL || equals == value || (size_t)(equals - value) >= sizeof(key)) {
            return "expected KEY=VALUE";
        }
        memcpy(key, value, (size_t)(equals - value));
        key[equals - value] = '\0';
        return append_conf_set(settings, key, equals + 1);
    }
    default:
        return "unhandled option";
    }
}

/* The encoded size a batch may reach: max.batch.bytes if configured, else the default. */
static uint64_t append_batch_bytes_max(const rill_conf_t *conf)
{
    const char *text = rill_conf_get(conf, "max.batch.bytes");
    uint64_t bytes;
    if (text != NULL && cli_parse_size(text, &bytes)) {
        return bytes;
    }
    return APPEND_BATCH_BYTES_DEFAULT;
}

static rill_err pending_batch_init(struct pending_batch *batch, size_t line_count_max)
{
    memset(batch, 0, sizeof(*batch));
    batch->data = malloc(APPEND_DATA_BYTES_INITIAL);
    batch->lines = calloc(line_count_max, sizeof(*batch->lines));
    batch->records = calloc(line_count_max, sizeof(*batch->records));
    if (batch->data == NULL || batch->lines == NULL || batch->records == NULL) {
        free(batch->data);
        free(batch->lines);
        free(batch->records);
        return RILL_ERR_NOMEM;
    }
    batch->data_capacity = APPEND_DATA_BYTES_INITIAL;
    batch->line_count_max = line_count_max;
    return RILL_OK;
}

static void pending_batch_deinit(struct pending_batch *batch)
{
    free(batch->data);
    free(batch->lines);
    free(batch->records);
}

static void pending_batch_clear(struct pending_batch *batch)
{
    batch->data_bytes = 0;
    batch->line_count = 0;
    batch->encoded_bytes_estimate = APPEND_BATCH_HEADER_BYTES;
}

static rill_err pending_batch_reserve(struct pending_batch *batch, size_t bytes)
{
    size_t capacity = batch->data_capacity;
    while (capacity - batch->data_bytes < bytes) {
        if (capacity > SIZE_MAX / 2) {
            return RILL_ERR_NOMEM;
        }
        capacity *= 2;
    }
    if (capacity != batch->data_capacity) {
        char *data = realloc(batch->data, capacity);
        if (data == NULL) {
            return RILL_ERR_NOMEM;
        }
        batch->data = data;
        batch->data_capacity = capacity;
    }
    return RILL_OK;
}

/* Adds one line (without its newline) to the batch, splitting key and value. */
static rill_err pending_batch_add(struct pending_batch *batch,
                                  const struct append_settings *settings,
                                  const char *line,
                                  size_t line_bytes,
                                  uint64_t line_number)
{
    struct pending_line *pending = &batch->lines[batch->line_count];
    const char *separator = NULL;
    rill_err err = pending_batch_reserve(batch, line_bytes);
    if (err != RILL_OK) {
        return err;
    }
    if (settings->key_separator != NULL) {
        separator =
            memmem(line, line_bytes, settings->key_separator, settings->key_separator_bytes);
    }
    pending->data_offset = batch->data_bytes;
    pending->line_number = line_number;
    pending->has_key = separator != NULL;
    if (separator != NULL) {
        size_t key_bytes = (size_t)(separator - line);
        size_t value_start = key_bytes + settings->key_separator_bytes;
        memcpy(batch->data + batch->data_bytes, line, key_bytes);
        memcpy(batch->data + batch->data_bytes + key_bytes, line + value_start,
               line_bytes - value_start);
        pending->key_bytes = key_bytes;
        pending->value_bytes = line_bytes - value_start;
    } else {
        memcpy(batch->data + batch->data_bytes, line, line_bytes);
        pending->key_bytes = 0;
        pending->value_bytes = line_bytes;
    }
    batch->data_bytes += pending->key_bytes + pending->value_bytes;
    batch->encoded_bytes_estimate += line_bytes + APPEND_RECORD_OVERHEAD_BYTES;
    batch->line_count++;
    return RILL_OK;
}

/* Points batch->records at the pending lines; the data buffer must not move afterwards. */
static void pending_batch_build_records(struct pending_batch *batch)
{
    for (size_t index = 0; index < batch->line_count; index++) {
        const struct pending_line *pending = &batch->lines[index];
        rill_record_t *record = &batch->records[index];
        const char *start = batch->data + pending->data_offset;
        memset(record, 0, sizeof(*record));
        record->key = pending->has_key ? start : NULL;
        record->key_bytes = pending->key_bytes;
        record->value = start + pending->key_bytes;
        record->value_bytes = pending->value_bytes;
        record->timestamp_ms = -1;
    }
}

/*
 * Appends records[0..count), halving a batch the log refuses as too large. lines gives the
 * input line of each record for messages.
 */
static rill_err append_records(rill_log_t *log,
                               const rill_record_t *records,
                               const struct pending_line *lines,
                               size_t count,
                               struct append_progress *progress)
{
    int64_t offset_first = 0;
    rill_err err = rill_log_append(log, records, count, &offset_first);

    if (err == RILL_ERR_TOO_LARGE && count > 1) {
        size_t half = count / 2;
        err = append_records(log, records, lines, half, progress);
        if (err == RILL_OK) {
            err = append_records(log, records + half, lines + half, count - half, progress);
        }
        return err;
    }
    if (err == RILL_ERR_TOO_LARGE) {
        cli_fail(err, "log append: the record of input line %" PRIu64 " (%zu bytes)",
                 lines[0].line_number, records[0].key_bytes + records[0].value_bytes);
        return err;
    }
    if (err != RILL_OK) {
        cli_fail(err, "log append: appending %zu records", count);
        return err;
    }
    if (progress->record_count == 0) {
        progress->offset_first = offset_first;
    }
    progress->offset_last = offset_first + (int64_t)count - 1;
    progress->record_count += count;
    return RILL_OK;
}

static rill_err
pending_batch_append(struct pending_batch *batch, rill_log_t *log, struct append_progress *progress)
{
    rill_err err = RILL_OK;
    if (batch->line_count > 0) {
        pending_batch_build_records(batch);
        err = append_records(log, batch->records, batch->lines, batch->line_count, progress);
    }
    pending_batch_clear(batch);
    return err;
}

/* Reads stdin to its end, appending every line; reports its own errors. */
static rill_err append_stdin(rill_log_t *log,
                             const struct append_settings *settings,
                             struct pending_batch *batch,
                             struct append_progress *progress)
{
    uint64_t batch_bytes_max = append_batch_bytes_max(settings->conf);
    uint64_t line_number = 0;
    char *line = NULL;
    size_t line_capacity = 0;
    ssize_t line_bytes;
    rill_err err = RILL_OK;

    pending_batch_clear(batch);
    while (err == RILL_OK && (line_bytes = getline(&line, &line_capacity, stdin)) >= 0) {
        size_t content_bytes = (size_t)line_bytes;
        if (content_bytes > 0 && line[content_bytes - 1] == '\n') {
            content_bytes--;
        }
        line_number++;
        bool batch_full = batch->line_count == batch->line_count_max;
        bool bytes_full = batch->line_count > 0 && batch->encoded_bytes_estimate + content_bytes +
                                                           APPEND_RECORD_OVERHEAD_BYTES >
                                                       batch_bytes_max;
        if (batch_full || bytes_full) {
            err = pending_batch_append(batch, log, progress);
        }
        if (err == RILL_OK) {
            err = pending_batch_add(batch, settings, line, content_bytes, line_number);
            if (err != RILL_OK) {
                cli_fail(err, "log append: input line %" PRIu64, line_number);
            }
        }
    }
    if (err == RILL_OK && ferror(stdin)) {
        cli_fail_message("log append: reading stdin: %s", strerror(errno));
        err = RILL_ERR_IO;
    }
    if (err == RILL_OK) {
        err = pending_batch_append(batch, log, progress);
    }
    free(line);
    return err;
}

static void append_print_progress(FILE *stream, const struct append_progress *progress)
{
    if (progress->record_count == 0) {
        fprintf(stream, "appended 0 records\n");
        return;
    }
    fprintf(stream, "appended %" PRIu64 " records at offsets %" PRId64 "..%" PRId64 "\n",
            progress->record_count, progress->offset_first, progress->offset_last);
}

static int append_run(const char *dir, const struct append_settings *settings)
{
    struct append_progress progress = { 0, -1, -1 };
    struct pending_batch batch;
    rill_log_t *log = NULL;
    rill_err err = pending_batch_init(&batch, settings->batch_records_max);

    if (err != RILL_OK) {
        cli_fail(err, "log append");
        return CLI_EXIT_FAILURE;
    }
    err = rill_log_open(dir, settings->conf, &log);
    if (err != RILL_OK) {
        cli_fail(err, "log append: opening log %s", dir);
        pending_batch_deinit(&batch);
        return CLI_EXIT_FAILURE;
    }
    err = append_stdin(log, settings, &batch, &progress);
    rill_err close_err = rill_log_close(log);
    if (close_err != RILL_OK) {
        cli_fail(close_err, "log append: closing log %s", dir);
    }
    pending_batch_deinit(&batch);
    if (err != RILL_OK || close_err != RILL_OK) {
        if (progress.record_count > 0) {
            fputs("rill: log append: before the error, ", stderr);
            append_print_progress(stderr, &progress);
        }
        return CLI_EXIT_FAILURE;
    }
    append_print_progress(stdout, &progress);
    return CLI_EXIT_OK;
}

int cmd_log_append_main(int argc, char **argv)
{
    struct append_settings settings = { 0 };
    const struct cli_command command = {
        .name = "log append",
        .usage = append_usage,
        .options = append_options,
        .handler = append_option,
        .context = &settings,
        .positional_names = "DIR",
        .positional_min = 1,
        .positional_max = 1,
    };
    const char *dir = NULL;
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;

    settings.batch_records_max = APPEND_BATCH_RECORDS_DEFAULT;
    settings.conf = rill_conf_create();
    if (settings.conf == NULL) {
        cli_fail(RILL_ERR_NOMEM, "log append");
        return CLI_EXIT_FAILURE;
    }
    if (cli_parse(&command, argc, argv, &dir, &positional_count, &exit_code)) {
        exit_code = append_run(dir, &settings);
    }
    rill_conf_destroy(settings.conf);
    return exit_code;
}

int cmd_log_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("rill log: missing command\n\n", stderr);
        fputs(log_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(log_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "append") == 0) {
        return cmd_log_append_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "read") == 0) {
        return cmd_log_read_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "dump") == 0) {
        return cmd_log_dump_main(argc - 1, argv + 1);
    }
    fprintf(stderr, "rill log: unknown command '%s'\n\n", argv[1]);
    fputs(log_usage, stderr);
    return CLI_EXIT_USAGE;
}
