/*
 * cmd_produce.c - `rill produce TOPIC`: each line of stdin becomes one record, sent through the
 * producer of rill.h; a summary goes to stderr at the end.
 *
 * The producer does its network I/O only inside rill_produce/rill_poll/rill_flush, so stdin is
 * read with poll(2) and read(2): while no input is ready the loop keeps serving the producer
 * (at least every linger.ms while records are outstanding) instead of blocking in a read.
 * Lines are split in a buffer that grows up to PRODUCE_LINE_BYTES_MAX; a line longer than that
 * fails the command.
 *
 * When the producer's queue is full (RILL_ERR_FULL) the record is retried after polling, so
 * the queue bounds memory and input is simply read more slowly. Delivery failures are counted
 * from the delivery reports; the first few are printed with their line numbers.
 */
#include "tools/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char produce_usage[] =
    "usage: rill produce TOPIC [options] < lines\n"
    "\n"
    "Sends each line of stdin (without its newline) as one record to TOPIC and prints a\n"
    "summary on stderr. Exits 1 if any record failed (the first errors are printed).\n"
    "\n"
    "Options:\n"
    "  -k, --key-separator SEP  split each line at the first SEP: key before, value after;\n"
    "                        lines without SEP get a null key\n"
    "  -H, --header NAME=VALUE  add this header to every record; repeatable\n"
    "  -p, --partition N     send every record to partition N (default: by key hash,\n"
    "                        sticky for null keys)\n"
    "  --acks 0|1|all        acknowledgement to wait for (default all)\n"
    "  --compression CODEC   none | lz4 (default lz4)\n"
    "  --linger-ms MS        wait this long for a batch to fill (default 1)\n"
    "  --batch-bytes SIZE    send a partition's batch at this size (default 1m)\n"
    "  -q, --quiet           no summary and no progress line\n"
    "  -b, --brokers HOST:PORT[,...]  brokers to bootstrap from (default $RILL_BROKERS or\n"
    "                        127.0.0.1:9700)\n"
    "  -X, --client-config KEY=VALUE  any producer setting (delivery.timeout.ms, ...)\n"
    "  -h, --help            show this help\n"
    "\n"
    "While stderr is a terminal a progress line is kept up to date. SIGINT or SIGTERM stops\n"
    "reading; what was read is still delivered before the summary.\n"
    "\n"
    "Example:\n"
    "  printf 'user1:hello\\nuser2:world\\n' | rill produce orders -k : -H source=cli\n";

enum produce_option_index {
    PRODUCE_BROKERS,
    PRODUCE_CLIENT_CONFIG,
    PRODUCE_KEY_SEPARATOR,
    PRODUCE_HEADER,
    PRODUCE_PARTITION,
    PRODUCE_ACKS,
    PRODUCE_COMPRESSION,
    PRODUCE_LINGER_MS,
    PRODUCE_BATCH_BYTES,
    PRODUCE_QUIET,
};

static const struct cli_option produce_options[] = {
    CLI_CLIENT_OPTIONS,
    [PRODUCE_KEY_SEPARATOR] = { "key-separator", 'k', true },
    [PRODUCE_HEADER] = { "header", 'H', true },
    [PRODUCE_PARTITION] = { "partition", 'p', true },
    [PRODUCE_ACKS] = { "acks", 0, true },
    [PRODUCE_COMPRESSION] = { "compression", 0, true },
    [PRODUCE_LINGER_MS] = { "linger-ms", 0, true },
    [PRODUCE_BATCH_BYTES] = { "batch-bytes", 0, true },
    [PRODUCE_QUIET] = { "quiet", 'q', false },
    { NULL, 0, false },
};

#define PRODUCE_HEADERS_MAX        64
#define PRODUCE_ERRORS_SHOWN       5
#define PRODUCE_READ_BYTES         (256 * 1024)
#define PRODUCE_LINE_BYTES_MAX     (64 * 1024 * 1024)
#define PRODUCE_POLL_EVERY_RECORDS 64
/* Waits for stdin: short while records are outstanding (their batches must leave), longer
 * when idle so that signals and the progress line are still served. */
#define PRODUCE_WAIT_BUSY_MS 2
#define PRODUCE_WAIT_IDLE_MS 250
#define PRODUCE_FULL_WAIT_MS 50
#define PRODUCE_PROGRESS_NS  250000000LL

struct produce_settings {
    struct cli_client client;
    const char *key_separator; /* NULL: every line is a value with a null key */
    size_t key_separator_bytes;
    rill_header_t headers[PRODUCE_HEADERS_MAX]; /* names point into argv */
    size_t header_count;
    int32_t partition; /* RILL_PARTITION_ANY unless --partition */
    bool quiet;
    char problem[256];
};

/* stdin, read in chunks and cut into lines. */
struct line_reader {
    char *buffer;
    size_t capacity;
    size_t start; /* first byte not yet returned */
    size_t end;   /* end of the bytes read */
    bool eof;
    uint64_t line_number; /* of the line returned last, 1-based */
};

/* What happened so far, updated by the main loop and the delivery callback. */
struct produce_state {
    uint64_t lines;      /* lines read and turned into records */
    uint64_t sent;       /* records accepted by rill_produce */
    uint64_t sent_bytes; /* their key and value bytes */
    uint64_t acked;      /* delivered per acks */
    uint64_t failed;     /* refused by rill_produce or failed in a delivery report */
    uint64_t errors_shown;
    bool fatal; /* stop reading: every further record would fail the same way */
    bool progress_shown;
    int64_t progress_last_ns;
};

static volatile sig_atomic_t produce_stop;

static void produce_on_signal(int signal_number)
{
    (void)signal_number;
    produce_stop = 1;
}

static int64_t produce_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static const char *produce_option(int option_index, const char *value, void *context)
{
    struct produce_settings *settings = context;
    int64_t number;

    switch (option_index) {
    case PRODUCE_BROKERS:
    case PRODUCE_CLIENT_CONFIG:
        return cli_client_option(&settings->client, option_index, value);
    case PRODUCE_KEY_SEPARATOR:
        if (value[0] == '\0') {
            return "the separator must not be empty";
        }
        settings->key_separator = value;
        settings->key_separator_bytes = strlen(value);
        return NULL;
    case PRODUCE_HEADER: {
        const char *equals = strchr(value, '=');
        if (equals == NULL || equals == value) {
            snprintf(settings->problem, sizeof(settings->problem), "expected NAME=VALUE, got '%s'",
                     value);
            return settings->problem;
        }
        if (settings->header_count == PRODUCE_HEADERS_MAX) {
            return "too many headers (at most 64)";
        }
        settings->headers[settings->header_count++] = (rill_header_t){
            .name = value,
            .name_bytes = (size_t)(equals - value),
            .value = equals + 1,
            .value_bytes = strlen(equals + 1),
        };
        return NULL;
    }
    case PRODUCE_PARTITION:
        if (!cli_parse_int64(value, &number) || number < 0 || number > INT32_MAX) {
            return "expected a partition number (a whole number >= 0)";
        }
        settings->partition = (int32_t)number;
        return NULL;
    case PRODUCE_ACKS:
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0 && strcmp(value, "all") != 0 &&
            strcmp(value, "-1") != 0) {
            return "expected 0, 1 or all";
        }
        return cli_client_set(&settings->client, "acks", value);
    case PRODUCE_COMPRESSION:
        if (strcmp(value, "none") != 0 && strcmp(value, "lz4") != 0) {
            return "expected none or lz4";
        }
        return cli_client_set(&settings->client, "compression", value);
    case PRODUCE_LINGER_MS:
        if (!cli_parse_int64(value, &number) || number < 0) {
            return "expected milliseconds (a whole number >= 0)";
        }
        return cli_client_set(&settings->client, "linger.ms", value);
    case PRODUCE_BATCH_BYTES:
        return cli_client_set(&settings->client, "batch.bytes", value);
    case PRODUCE_QUIET:
        settings->quiet = true;
        return NULL;
    default:
        return "unhandled option";
    }
}

/* ---- reading lines --------------------------------------------------------------------- */

static bool line_reader_init(struct line_reader *reader)
{
    memset(reader, 0, sizeof(*reader));
    reader->buffer = malloc(PRODUCE_READ_BYTES);
    reader->capacity = PRODUCE_READ_BYTES;
    return reader->buffer != NULL;
}

/*
 * The next complete line in the buffer (without its newline), or at end of input the last
 * unterminated one. False when more input is needed (or none is left: check reader->eof).
 */
static bool line_reader_next(struct line_reader *reader, const char **out_line, size_t *out_bytes)
{
    const char *begin = reader->buffer + reader->start;
    size_t available = reader->end - reader->start;
    const char *newline = memchr(begin, '\n', available);

    if (newline != NULL) {
        *out_line = begin;
        *out_bytes = (size_t)(newline - begin);
        reader->start += *out_bytes + 1;
    } else if (reader->eof && available > 0) {
        *out_line = begin;
        *out_bytes = available;
        reader->start = reader->end;
    } else {
        return false;
    }
    reader->line_number++;
    return true;
}

/*
 * Reads what stdin has now into the buffer, after moving the unreturned bytes to its front
 * (records are copied by rill_produce, so returned lines are no longer needed).
 * @return RILL_OK; RILL_ERR_TOO_LARGE for a line longer than PRODUCE_LINE_BYTES_MAX;
 *         RILL_ERR_NOMEM; RILL_ERR_IO (message printed).
 */
static rill_err line_reader_fill(struct line_reader *reader)
{
    size_t pending = reader->end - reader->start;
    ssize_t got;

    if (reader->start > 0) {
        memmove(reader->buffer, reader->buffer + reader->start, pending);
        reader->start = 0;
        reader->end = pending;
    }
    if (reader->capacity - reader->end < PRODUCE_READ_BYTES / 4) {
        size_t capacity = reader->capacity * 2;
        char *grown;
        if (capacity > PRODUCE_LINE_BYTES_MAX + PRODUCE_READ_BYTES) {
            return RILL_ERR_TOO_LARGE;
        }
        grown = realloc(reader->buffer, capacity);
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        reader->buffer = grown;
        reader->capacity = capacity;
    }
    do {
        got = read(STDIN_FILENO, reader->buffer + reader->end, reader->capacity - reader->end);
    } while (got < 0 && errno == EINTR && !produce_stop);
    if (got < 0) {
        if (errno == EINTR) {
            return RILL_OK;
        }
        fprintf(stderr, "rill produce: reading stdin: %s\n", strerror(errno));
        return RILL_ERR_IO;
    }
    if (got == 0) {
        reader->eof = true;
    }
    reader->end += (size_t)got;
    return RILL_OK;
}

/* ---- progress and reports -------------------------------------------------------------- */

static void produce_show_error(struct produce_state *state,
                               uint64_t line_number,
                               int32_t partition,
                               rill_err err)
{
    if (state->errors_shown >= PRODUCE_ERRORS_SHOWN) {
        return;
    }
    if (state->progress_shown) {
        fputs("\r\033[K", stderr);
    }
    state->errors_shown++;
    if (partition >= 0) {
        fprintf(stderr, "rill produce: line %" PRIu64 " (partition %" PRId32 "): %s\n", line_number,
                partition, rill_err_str(err));
    } else {
        fprintf(stderr, "rill produce: line %" PRIu64 ": %s\n", line_number, rill_err_str(err));
    }
}

static void produce_on_delivery(const rill_delivery_report_t *report, void *opaque)
{
    struct produce_state *state = opaque;
    if (report->err == RILL_OK) {
        state->acked++;
        return;
    }
    state->failed++;
    produce_show_error(state, (uint64_t)(uintptr_t)report->record_opaque, report->partition,
                       report->err);
}

static void produce_progress(struct produce_state *state, bool enabled)
{
    int64_t now = produce_now_ns();
    if (!enabled || now - state->progress_last_ns < PRODUCE_PROGRESS_NS) {
        return;
    }
    state->progress_last_ns = now;
    state->progress_shown = true;
    fprintf(stderr,
            "\r\033[K%" PRIu64 " records sent, %" PRIu64 " acknowledged, %" PRIu64
            " failed, %.1f MB",
            state->sent, state->acked, state->failed, (double)state->sent_bytes / 1e6);
}

static void produce_summary(const struct produce_state *state, const char *topic, int64_t elapsed)
{
    double seconds = (double)elapsed / 1e9;
    double rate = seconds > 0 ? (double)state->acked / seconds : 0.0;
    double megabytes = (double)state->sent_bytes / 1e6;

    if (state->progress_shown) {
        fputs("\r\033[K", stderr);
    }
    fprintf(stderr,
            "rill produce: %" PRIu64 " record%s (%.1f MB) to %s in %.3f s: %" PRIu64
            " delivered, %" PRIu64 " failed, %.0f records/s, %.1f MB/s\n",
            state->lines, state->lines == 1 ? "" : "s", megabytes, topic, seconds, state->acked,
            state->failed, rate, seconds > 0 ? megabytes / seconds : 0.0);
}

/* ---- producing ------------------------------------------------------------------------- */

/* Refusals after which every further record would fail as well. */
static bool produce_err_is_fatal(rill_err err)
{
    return err == RILL_ERR_UNKNOWN_TOPIC || err == RILL_ERR_UNKNOWN_PARTITION ||
           err == RILL_ERR_INVALID_TOPIC || cli_client_unreachable(err) || err == RILL_ERR_CLOSED;
}

static void produce_line(rill_producer_t *producer,
                         const struct produce_settings *settings,
                         const char *topic,
                         const char *line,
                         size_t line_bytes,
                         uint64_t line_number,
                         struct produce_state *state)
{
    rill_record_t record = {
        .value = line,
        .value_bytes = line_bytes,
        .headers = settings->headers,
        .header_count = settings->header_count,
        .timestamp_ms = -1,
    };
    rill_err err;

    state->lines++;
    if (settings->key_separator != NULL) {
        const char *separator =
            memmem(line, line_bytes, settings->key_separator, settings->key_separator_bytes);
        if (separator != NULL) {
            record.key = line;
            record.key_bytes = (size_t)(separator - line);
            record.value = separator + settings->key_separator_bytes;
            record.value_bytes = line_bytes - record.key_bytes - settings->key_separator_bytes;
        }
    }
    for (;;) {
        err = rill_produce(producer, topic, settings->partition, &record,
                           (void *)(uintptr_t)line_number);
        if (err != RILL_ERR_FULL || produce_stop) {
            break;
        }
        (void)rill_poll(producer, PRODUCE_FULL_WAIT_MS); /* frees queue space as acks arrive */
    }
    if (err == RILL_OK) {
        state->sent++;
        state->sent_bytes += record.key_bytes + record.value_bytes;
        return;
    }
    state->failed++;
    if (produce_err_is_fatal(err)) {
        state->fatal = true;
        if (state->progress_shown) {
            fputs("\r\033[K", stderr);
        }
        if (err == RILL_ERR_UNKNOWN_TOPIC) {
            fprintf(stderr, "rill produce: unknown topic '%s'\n", topic);
        } else if (err == RILL_ERR_UNKNOWN_PARTITION) {
            fprintf(stderr, "rill produce: topic '%s' has no partition %" PRId32 "\n", topic,
                    settings->partition);
        } else {
            cli_client_fail(&settings->client, "produce", err, NULL, "line %" PRIu64, line_number);
        }
        return;
    }
    produce_show_error(state, line_number, settings->partition, err);
}

/* Waits until stdin is readable or wait_ms passed, serving the producer meanwhile. */
static void produce_wait_input(rill_producer_t *producer, int wait_ms)
{
    struct pollfd input = { .fd = STDIN_FILENO, .events = POLLIN };
    (void)rill_poll(producer, 0);
    (void)poll(&input, 1, wait_ms);
}

/* The main loop: lines to records until the end of stdin, a signal or a fatal refusal. */
static rill_err produce_input(rill_producer_t *producer,
                              const struct produce_settings *settings,
                              const char *topic,
                              struct produce_state *state,
                              bool show_progress)
{
    struct line_reader reader;
    rill_err err = RILL_OK;
    uint64_t since_poll = 0;

    if (!line_reader_init(&reader)) {
        fprintf(stderr, "rill produce: %s\n", rill_err_str(RILL_ERR_NOMEM));
        return RILL_ERR_NOMEM;
    }
    while (!produce_stop && !state->fatal) {
        const char *line = NULL;
        size_t line_bytes = 0;
        if (line_reader_next(&reader, &line, &line_bytes)) {
            produce_line(producer, settings, topic, line, line_bytes, reader.line_number, state);
            if (++since_poll >= PRODUCE_POLL_EVERY_RECORDS) {
                since_poll = 0;
                (void)rill_poll(producer, 0);
                produce_progress(state, show_progress);
            }
            continue;
        }
        if (reader.eof) {
            break;
        }
        struct pollfd input = { .fd = STDIN_FILENO, .events = POLLIN };
        if (poll(&input, 1, 0) == 0) {
            produce_wait_input(producer, rill_producer_outstanding(producer) > 0
                                             ? PRODUCE_WAIT_BUSY_MS
                                             : PRODUCE_WAIT_IDLE_MS);
            produce_progress(state, show_progress);
            continue;
        }
        err = line_reader_fill(&reader);
        if (err == RILL_ERR_TOO_LARGE) {
            fprintf(stderr, "rill produce: line %" PRIu64 " is longer than %d bytes\n",
                    reader.line_number + 1, PRODUCE_LINE_BYTES_MAX);
        } else if (err == RILL_ERR_NOMEM) {
            fprintf(stderr, "rill produce: %s\n", rill_err_str(err));
        }
        if (err != RILL_OK) {
            break;
        }
    }
    free(reader.buffer);
    return err;
}

/* Waits for the outstanding records, keeping the progress line alive; a signal cuts it short. */
static void produce_drain(rill_producer_t *producer, struct produce_state *state, bool progress)
{
    while (rill_producer_outstanding(producer) > 0) {
        if (produce_stop == 2) {
            return;
        }
        if (rill_flush(producer, (int)(PRODUCE_PROGRESS_NS / 1000000)) == RILL_OK) {
            return;
        }
        produce_progress(state, progress);
    }
}

static void produce_on_second_signal(int signal_number)
{
    (void)signal_number;
    produce_stop = 2;
}

static int produce_run(struct produce_settings *settings, const char *topic)
{
    struct produce_state state = { 0 };
    rill_producer_t *producer = NULL;
    char errstr[256] = "";
    bool show_progress = !settings->quiet && isatty(STDERR_FILENO);
    int64_t started = produce_now_ns();
    rill_err err;
    struct sigaction action = { .sa_handler = produce_on_signal };

    err = rill_producer_create(settings->client.conf, produce_on_delivery, &state, errstr,
                               sizeof(errstr), &producer);
    if (err != RILL_OK) {
        return cli_client_create_failed(&settings->client, "produce", err, errstr,
                                        "creating the producer");
    }
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    err = produce_input(producer, settings, topic, &state, show_progress);
    /* From here a signal abandons the records still outstanding. */
    action.sa_handler = produce_on_second_signal;
    produce_stop = 0;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    produce_drain(producer, &state, show_progress);
    rill_producer_destroy(producer); /* reports what is left as failed (RILL_ERR_CLOSED) */
    if (!settings->quiet) {
        produce_summary(&state, topic, produce_now_ns() - started);
    }
    if (state.errors_shown < state.failed && state.failed > PRODUCE_ERRORS_SHOWN) {
        fprintf(stderr, "rill produce: %" PRIu64 " more failures not shown\n",
                state.failed - state.errors_shown);
    }
    return err == RILL_OK && state.failed == 0 && !state.fatal ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

int cmd_produce_main(int argc, char **argv)
{
    struct produce_settings settings = { .partition = RILL_PARTITION_ANY };
    const struct cli_command command = {
        .name = "produce",
        .usage = produce_usage,
        .options = produce_options,
        .handler = produce_option,
        .context = &settings,
        .positional_names = "TOPIC",
        .positional_min = 1,
        .positional_max = 1,
    };
    const char *topic = NULL;
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;

    if (!cli_client_init(&settings.client)) {
        return CLI_EXIT_FAILURE;
    }
    if (cli_parse(&command, argc, argv, &topic, &positional_count, &exit_code)) {
        const char *problem = cli_client_finish(&settings.client);
        if (problem != NULL) {
            cli_usage_error(&command, problem);
            exit_code = CLI_EXIT_USAGE;
        } else if (topic[0] == '\0') {
            cli_usage_error(&command, "the topic name must not be empty");
            exit_code = CLI_EXIT_USAGE;
        } else {
            exit_code = produce_run(&settings, topic);
        }
    }
    cli_client_deinit(&settings.client);
    return exit_code;
}
