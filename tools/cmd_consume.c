/*
 * cmd_consume.c - `rill consume TOPIC`: prints records of a topic through a format string,
 * following new records until a signal, --count or (with --exit-at-end) the end of every
 * assigned partition.
 *
 * The consumer of rill.h runs in assign mode: one partition (--partition) or all of them.
 * Records are printed into a large stdout buffer that is flushed whenever the consumer has
 * nothing ready, so moving many records costs few writes while a follower still sees each new
 * record at once. Partition-level errors are printed once each; those that cannot heal (an
 * unknown topic or partition, an offset out of range) end the command with exit code 1.
 */
#include "tools/cli.h"
#include "tools/record_format.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char consume_usage[] =
    "usage: rill consume TOPIC [options]\n"
    "\n"
    "Prints the records of TOPIC, one per line by default, then follows new ones until\n"
    "SIGINT or SIGTERM (exit 0), --count records, or with --exit-at-end the end of the log.\n"
    "\n"
    "Options:\n"
    "  -p, --partition N     only partition N (default: every partition of the topic)\n"
    "  -o, --from WHERE      where to start in each partition (default beginning):\n"
    "                          beginning       the first record still in the log\n"
    "                          end             only records produced from now on\n"
    "                          OFFSET          this offset (a whole number >= 0)\n"
    "                          -N              the last N records of each partition\n"
    "                          @TIMESTAMP_MS   the first record with a timestamp >= it\n"
    "  -c, --count N         exit after printing N records\n"
    "  -e, --exit-at-end     exit once every assigned partition is caught up\n"
    "  -f, --format FORMAT   how to print each record (default '%v\\n'):\n"
    "                          %t topic   %p partition   %o offset   %k key   %v value\n"
    "                          %T timestamp (ms)   %h headers as name=value pairs joined by ','\n"
    "                          %% a percent sign   \\n newline   \\t tab   \\r return   \\\\ "
    "backslash\n"
    "                        a null key or value prints as nothing\n"
    "  -b, --brokers HOST:PORT[,...]  brokers to bootstrap from (default $RILL_BROKERS or\n"
    "                        127.0.0.1:9700)\n"
    "  -X, --client-config KEY=VALUE  any consumer setting (fetch.max.wait.ms, ...)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Example:\n"
    "  rill consume orders --from beginning --exit-at-end --format '%p:%o %k=%v\\n'\n";

enum consume_option_index {
    CONSUME_BROKERS,
    CONSUME_CLIENT_CONFIG,
    CONSUME_PARTITION,
    CONSUME_FROM,
    CONSUME_COUNT,
    CONSUME_EXIT_AT_END,
    CONSUME_FORMAT,
};

static const struct cli_option consume_options[] = {
    CLI_CLIENT_OPTIONS,
    [CONSUME_PARTITION] = { "partition", 'p', true },
    [CONSUME_FROM] = { "from", 'o', true },
    [CONSUME_COUNT] = { "count", 'c', true },
    [CONSUME_EXIT_AT_END] = { "exit-at-end", 'e', false },
    [CONSUME_FORMAT] = { "format", 'f', true },
    { NULL, 0, false },
};

/* More partitions than any topic the broker accepts; bounds the per-partition state. */
#define CONSUME_PARTITIONS_MAX 100000
#define CONSUME_WAIT_MS        200
#define CONSUME_OUTPUT_BYTES   (1024 * 1024)

enum consume_start {
    CONSUME_START_OFFSET,    /* from_value is an offset or RILL_OFFSET_BEGINNING/END */
    CONSUME_START_TIMESTAMP, /* from_value is a timestamp in ms */
    CONSUME_START_FROM_END,  /* from_value records before the end of each partition */
};

struct consume_settings {
    struct cli_client client;
    int32_t partition; /* -1: every partition */
    enum consume_start start;
    int64_t from_value;
    int64_t count_max; /* -1: no limit */
    bool exit_at_end;
    const char *format;
    char problem[256];
};

/* Per assigned partition: where it stands. */
struct consume_partition {
    bool at_end;    /* reported caught up, and nothing arrived since */
    rill_err error; /* last error printed for it, so that a repeated one stays quiet */
};

struct consume_state {
    struct consume_partition *partitions; /* indexed by partition - partition_base */
    int32_t partition_base;
    int32_t partition_count;
    int32_t at_end_count;
    int64_t printed;
    int write_errno; /* errno of the first failed write to stdout, 0 if none */
};

static volatile sig_atomic_t consume_stop;

static void consume_on_signal(int signal_number)
{
    (void)signal_number;
    consume_stop = 1;
}

static const char *consume_parse_from(struct consume_settings *settings, const char *value)
{
    int64_t number;

    if (strcmp(value, "beginning") == 0 || strcmp(value, "start") == 0) {
        settings->start = CONSUME_START_OFFSET;
        settings->from_value = RILL_OFFSET_BEGINNING;
    } else if (strcmp(value, "end") == 0) {
        settings->start = CONSUME_START_OFFSET;
        settings->from_value = RILL_OFFSET_END;
    } else if (value[0] == '@') {
        if (!cli_parse_int64(value + 1, &number) || number < 0) {
            return "expected @TIMESTAMP_MS with a timestamp in milliseconds since the epoch";
        }
        settings->start = CONSUME_START_TIMESTAMP;
        settings->from_value = number;
    } else {
        if (!cli_parse_int64(value, &number) || number == INT64_MIN) {
            return "expected beginning, end, an offset, -N or @TIMESTAMP_MS";
        }
        settings->start = number < 0 ? CONSUME_START_FROM_END : CONSUME_START_OFFSET;
        settings->from_value = number < 0 ? -number : number;
    }
    return NULL;
}

static const char *consume_option(int option_index, const char *value, void *context)
{
    struct consume_settings *settings = context;
    int64_t number;

    switch (option_index) {
    case CONSUME_BROKERS:
    case CONSUME_CLIENT_CONFIG:
        return cli_client_option(&settings->client, option_index, value);
    case CONSUME_PARTITION:
        if (!cli_parse_int64(value, &number) || number < 0 || number >= CONSUME_PARTITIONS_MAX) {
            return "expected a partition number (a whole number >= 0)";
        }
        settings->partition = (int32_t)number;
        return NULL;
    case CONSUME_FROM:
        return consume_parse_from(settings, value);
    case CONSUME_COUNT:
        if (!cli_parse_int64(value, &settings->count_max) || settings->count_max < 0) {
            return "expected a record count (a whole number >= 0)";
        }
        return NULL;
    case CONSUME_EXIT_AT_END:
        settings->exit_at_end = true;
        return cli_client_set(&settings->client, "enable.partition.eof", "true");
    case CONSUME_FORMAT:
        settings->format = value;
        return record_format_check(value, true, settings->problem, sizeof(settings->problem));
    default:
        return "unhandled option";
    }
}

/* Reports a failed assignment or lookup for topic (partition -1: the topic as a whole). */
static void consume_fail(const struct consume_settings *settings,
                         rill_err err,
                         const char *topic,
                         int32_t partition,
                         const char *what)
{
    if (err == RILL_ERR_UNKNOWN_TOPIC) {
        fprintf(stderr, "rill consume: unknown topic '%s'\n", topic);
    } else if (err == RILL_ERR_UNKNOWN_PARTITION) {
        fprintf(stderr, "rill consume: topic '%s' has no partition %" PRId32 "\n", topic,
                partition);
    } else if (partition >= 0) {
        cli_client_fail(&settings->client, "consume", err, NULL, "%s %s/%" PRId32, what, topic,
                        partition);
    } else {
        cli_client_fail(&settings->client, "consume", err, NULL, "%s %s", what, topic);
    }
}

/*
 * The offset N records before the end of partition (never below its start), for --from -N.
 * admin is created on first use.
 */
static rill_err consume_offset_from_end(struct consume_settings *settings,
                                        rill_admin_t **admin,
                                        const char *topic,
                                        int32_t partition,
                                        int64_t *out_offset)
{
    int64_t start = 0;
    int64_t end = 0;
    rill_err err;

    if (*admin == NULL) {
        *admin = cli_client_side_admin(&settings->client, "consume");
        if (*admin == NULL) {
            return RILL_ERR_CONNECTION;
        }
    }
    err = rill_admin_list_offset(*admin, topic, partition, RILL_OFFSET_BEGINNING, &start);
    if (err == RILL_OK) {
        err = rill_admin_list_offset(*admin, topic, partition, RILL_OFFSET_END, &end);
    }
    if (err != RILL_OK) {
        consume_fail(settings, err, topic, partition, "finding the end of");
        return err;
    }
    *out_offset = end - settings->from_value > start ? end - settings->from_value : start;
    return RILL_OK;
}

/* Assigns one partition at the start position the settings ask for. */
static rill_err consume_assign_one(rill_consumer_t *consumer,
                                   struct consume_settings *settings,
                                   rill_admin_t **admin,
                                   const char *topic,
                                   int32_t partition)
{
    int64_t offset = settings->from_value;
    rill_err err;

    if (settings->start == CONSUME_START_TIMESTAMP) {
        err = rill_consumer_assign_time(consumer, topic, partition, settings->from_value);
    } else {
        err = RILL_OK;
        if (settings->start == CONSUME_START_FROM_END) {
            err = consume_offset_from_end(settings, admin, topic, partition, &offset);
            if (err != RILL_OK) {
                return err; /* reported */
            }
        }
        err = rill_consumer_assign(consumer, topic, partition, offset);
    }
    if (err != RILL_OK) {
        consume_fail(settings, err, topic, partition, "assigning");
    }
    return err;
}

/* Assigns the partitions to consume and sets up their state. */
static rill_err consume_assign(rill_consumer_t *consumer,
                               struct consume_settings *settings,
                               const char *topic,
                               struct consume_state *state)
{
    rill_admin_t *admin = NULL;
    int32_t count = 1;
    rill_err err;

    if (settings->partition < 0) {
        err = rill_consumer_partition_count(consumer, topic, &count);
        if (err != RILL_OK) {
            consume_fail(settings, err, topic, -1, "looking up");
            return err;
        }
        if (count < 1 || count > CONSUME_PARTITIONS_MAX) {
            fprintf(stderr, "rill consume: topic '%s' reports %" PRId32 " partitions\n", topic,
                    count);
            return RILL_ERR_INVALID;
        }
    }
    state->partition_base = settings->partition < 0 ? 0 : settings->partition;
    state->partition_count = count;
    state->partitions = calloc((size_t)count, sizeof(*state->partitions));
    if (state->partitions == NULL) {
        fprintf(stderr, "rill consume: %s\n", rill_err_str(RILL_ERR_NOMEM));
        return RILL_ERR_NOMEM;
    }
    err = RILL_OK;
    for (int32_t index = 0; index < count && err == RILL_OK; index++) {
        err = consume_assign_one(consumer, settings, &admin, topic, state->partition_base + index);
    }
    rill_admin_destroy(admin);
    return err;
}

/* Errors of a partition that no retry can heal. */
static bool consume_err_is_fatal(rill_err err, bool exit_at_end)
{
    if (err == RILL_ERR_UNKNOWN_TOPIC || err == RILL_ERR_UNKNOWN_PARTITION ||
        err == RILL_ERR_OFFSET_OUT_OF_RANGE || err == RILL_ERR_CORRUPT || err == RILL_ERR_CRC ||
        err == RILL_ERR_BAD_BATCH) {
        return true;
    }
    /* A script waiting for the end must not hang on a broker that went away. */
    return exit_at_end && cli_client_unreachable(err);
}

/*
 * Handles one message. @return RILL_OK to go on, RILL_ERR_END when the command is done,
 * anything else to fail.
 */
static rill_err consume_message(const rill_message_t *message,
                                const struct consume_settings *settings,
                                const char *format,
                                struct consume_state *state)
{
    int64_t index = (int64_t)message->partition - state->partition_base;
    struct consume_partition *partition =
        index >= 0 && index < state->partition_count ? &state->partitions[index] : NULL;

    if (message->err == RILL_OK) {
        struct record_origin origin = { message->topic, message->partition };
        rill_err err = record_format_print(stdout, format, message->record, &origin);
        if (err != RILL_OK) {
            fprintf(stderr, "rill consume: %s/%" PRId32 " offset %" PRId64 ": %s\n", message->topic,
                    message->partition, rill_record_offset(message->record), rill_err_str(err));
            return err;
        }
        state->printed++;
        if (partition != NULL) {
            partition->error = RILL_OK;
            if (partition->at_end) {
                partition->at_end = false;
                state->at_end_count--;
            }
        }
        if (settings->count_max >= 0 && state->printed >= settings->count_max) {
            return RILL_ERR_END;
        }
        return RILL_OK;
    }
    if (message->err == RILL_ERR_END) {
        if (partition != NULL && !partition->at_end) {
            partition->at_end = true;
            state->at_end_count++;
        }
        if (settings->exit_at_end && state->at_end_count == state->partition_count) {
            return RILL_ERR_END;
        }
        return RILL_OK;
    }
    if (message->err == RILL_ERR_CONNECTION && message->topic == NULL) {
        /* The broker went away: say so once per outage; the consumer keeps retrying. */
        fflush(stdout);
        cli_client_fail(&settings->client, "consume", message->err, NULL, "fetching");
        if (!settings->exit_at_end) {
            fprintf(stderr, "rill consume: still trying; records follow once it is back\n");
        }
        return settings->exit_at_end ? message->err : RILL_OK;
    }
    if (partition == NULL || partition->error != message->err) {
        fflush(stdout);
        if (message->err == RILL_ERR_OFFSET_OUT_OF_RANGE && message->high_watermark >= 0) {
            fprintf(stderr,
                    "rill consume: %s/%" PRId32
                    ": offset out of range (the partition ends at %" PRId64 ")\n",
                    cli_str(message->topic), message->partition, message->high_watermark);
        } else {
            cli_client_fail(&settings->client, "consume", message->err, NULL, "%s/%" PRId32,
                            cli_str(message->topic), message->partition);
        }
        if (partition != NULL) {
            partition->error = message->err;
        }
    }
    return consume_err_is_fatal(message->err, settings->exit_at_end) ? message->err : RILL_OK;
}

/* Consumes until done; flushes stdout whenever nothing is ready. */
static rill_err consume_loop(rill_consumer_t *consumer,
                             const struct consume_settings *settings,
                             struct consume_state *state)
{
    const char *format = settings->format != NULL ? settings->format : "%v\\n";

    if (settings->count_max == 0) {
        return RILL_OK;
    }
    while (!consume_stop) {
        const rill_message_t *message = NULL;
        rill_err err = rill_consume(consumer, 0, &message);
        if (err == RILL_ERR_TIMEOUT) {
            if (fflush(stdout) != 0) {
                state->write_errno = errno;
                return RILL_ERR_IO;
            }
            err = rill_consume(consumer, CONSUME_WAIT_MS, &message);
        }
        if (err == RILL_ERR_TIMEOUT) {
            continue;
        }
        if (err != RILL_OK) {
            cli_client_fail(&settings->client, "consume", err, NULL, "consuming");
            return err;
        }
        err = consume_message(message, settings, format, state);
        if (err == RILL_ERR_END) {
            return RILL_OK;
        }
        if (err != RILL_OK) {
            return err;
        }
        if (ferror(stdout)) {
            state->write_errno = errno;
            return RILL_ERR_IO;
        }
    }
    return RILL_OK;
}

static int consume_run(struct consume_settings *settings, const char *topic)
{
    static char output_buffer[CONSUME_OUTPUT_BYTES];
    struct consume_state state = { 0 };
    rill_consumer_t *consumer = NULL;
    char errstr[256] = "";
    struct sigaction action = { .sa_handler = consume_on_signal };
    rill_err err;

    setvbuf(stdout, output_buffer, _IOFBF, sizeof(output_buffer));
    /* A closed pipe becomes EPIPE, so `| head` ends the command cleanly. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    err = rill_consumer_create(settings->client.conf, errstr, sizeof(errstr), &consumer);
    if (err != RILL_OK) {
        return cli_client_create_failed(&settings->client, "consume", err, errstr,
                                        "creating the consumer");
    }
    err = consume_assign(consumer, settings, topic, &state);
    if (err == RILL_OK) {
        err = consume_loop(consumer, settings, &state);
    }
    rill_consumer_destroy(consumer);
    free(state.partitions);
    errno = 0;
    if (state.write_errno == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        state.write_errno = errno != 0 ? errno : EIO;
    }
    if (state.write_errno == EPIPE) {
        return CLI_EXIT_OK; /* the reader of the output stopped early: not a failure */
    }
    if (state.write_errno != 0) {
        fprintf(stderr, "rill consume: writing to stdout: %s\n", strerror(state.write_errno));
        return CLI_EXIT_FAILURE;
    }
    return err == RILL_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

int cmd_consume_main(int argc, char **argv)
{
    struct consume_settings settings = {
        .partition = -1,
        .start = CONSUME_START_OFFSET,
        .from_value = RILL_OFFSET_BEGINNING,
        .count_max = -1,
    };
    const struct cli_command command = {
        .name = "consume",
        .usage = consume_usage,
        .options = consume_options,
        .handler = consume_option,
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
            exit_code = consume_run(&settings, topic);
        }
    }
    cli_client_deinit(&settings.client);
    return exit_code;
}
