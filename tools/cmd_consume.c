/*
 * cmd_consume.c - `rill consume TOPIC`: prints records of a topic through a format string, or
 * as JSON Lines with --json, following new records until a signal, --count or (with
 * --exit-at-end) the end of every assigned partition.
 *
 * The consumer of rill.h runs in assign mode: one partition (--partition) or all of them.
 * Records are printed into a large stdout buffer that is flushed whenever the consumer has
 * nothing ready, so moving many records costs few writes while a follower still sees each new
 * record at once. Partition-level errors are printed once each; those that cannot heal (an
 * unknown topic or partition, an offset out of range) end the command with exit code 1.
 *
 * With --group the consumer runs in subscribe mode instead: it joins the consumer group, which
 * hands it partitions of the topics (one or more, or those matching --pattern) and keeps the
 * group's committed offsets. --commit chooses who commits: the library's auto-commit (auto),
 * this command after each flush of stdout, so that exactly what was written is committed
 * (manual), or nobody (none). On a signal, at --count or at the end it commits (unless none)
 * and leaves the group, so that the partitions move on at once.
 */
#include "tools/cli.h"
#include "tools/record_format.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char consume_usage[] =
    "usage: rill consume TOPIC [options]\n"
    "       rill consume TOPIC... | --pattern REGEX  --group GROUP [--commit MODE] [options]\n"
    "\n"
    "Prints the records of TOPIC, one per line by default, then follows new ones until\n"
    "SIGINT or SIGTERM (exit 0), --count records, or with --exit-at-end the end of the log.\n"
    "With --group it joins a consumer group and prints the records of the partitions the\n"
    "group gives it, starting at the group's committed offsets.\n"
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
    "  -J, --json            print each record as one JSON object per line (JSON Lines):\n"
    "                          {\"topic\", \"partition\", \"offset\", \"timestamp\" (ms), "
    "\"key\",\n"
    "                           \"value\", \"headers\": [{\"name\", \"value\"}]}\n"
    "                        a null key, value or header value is null; excludes --format\n"
    "  --json-encoding ENC   with --json, how keys, values and header values are written:\n"
    "                          text    UTF-8 strings; bytes that are not valid UTF-8 become\n"
    "                                  U+FFFD (a note on stderr says so) (default)\n"
    "                          base64  base64 of the exact bytes\n"
    "  -g, --group GROUP     consume as a member of the consumer group GROUP; several TOPICs\n"
    "                        may be given. --from beginning|end then only applies to\n"
    "                        partitions without a committed offset (default beginning)\n"
    "  --commit MODE         with --group, who commits the consumed offsets:\n"
    "                          auto    the client, every auto.commit.interval.ms (default)\n"
    "                          manual  this command, after each write of its output\n"
    "                          none    nobody: the group's offsets stay where they are\n"
    "                        every mode but none also commits at exit\n"
    "  --pattern REGEX       with --group, subscribe to every topic whose whole name matches\n"
    "                        the POSIX extended regular expression (instead of TOPICs)\n"
    "  -b, --brokers HOST:PORT[,...]  brokers to bootstrap from (default $RILL_BROKERS or\n"
    "                        127.0.0.1:9700)\n"
    "  -X, --client-config KEY=VALUE  any consumer setting (fetch.max.wait.ms, ...)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Examples:\n"
    "  rill consume orders --from beginning --exit-at-end --format '%p:%o %k=%v\\n'\n"
    "  rill consume orders --exit-at-end --json | jq -c 'select(.key == \"user1\")'\n"
    "  rill consume orders refunds --group billing --commit manual\n";

enum consume_option_index {
    CONSUME_BROKERS,
    CONSUME_CLIENT_CONFIG,
    CONSUME_PARTITION,
    CONSUME_FROM,
    CONSUME_COUNT,
    CONSUME_EXIT_AT_END,
    CONSUME_FORMAT,
    CONSUME_GROUP,
    CONSUME_COMMIT,
    CONSUME_PATTERN,
    CONSUME_JSON,
    CONSUME_JSON_ENCODING,
};

static const struct cli_option consume_options[] = {
    CLI_CLIENT_OPTIONS,
    [CONSUME_PARTITION] = { "partition", 'p', true },
    [CONSUME_FROM] = { "from", 'o', true },
    [CONSUME_COUNT] = { "count", 'c', true },
    [CONSUME_EXIT_AT_END] = { "exit-at-end", 'e', false },
    [CONSUME_FORMAT] = { "format", 'f', true },
    [CONSUME_GROUP] = { "group", 'g', true },
    [CONSUME_COMMIT] = { "commit", 0, true },
    [CONSUME_PATTERN] = { "pattern", 0, true },
    [CONSUME_JSON] = { "json", 'J', false },
    [CONSUME_JSON_ENCODING] = { "json-encoding", 0, true },
    { NULL, 0, false },
};

/* More partitions than any topic the broker accepts; bounds the per-partition state. */
#define CONSUME_PARTITIONS_MAX 100000
#define CONSUME_WAIT_MS        200
#define CONSUME_OUTPUT_BYTES   (1024 * 1024)
/* Topics one group consumer may name. */
#define CONSUME_TOPICS_MAX 64
/* In --commit manual mode, the longest a written record waits for its commit while records
 * keep coming (when none come, each flush commits at once). */
#define CONSUME_COMMIT_INTERVAL_NS (1000LL * 1000 * 1000)

enum consume_commit {
    CONSUME_COMMIT_AUTO,   /* the library's auto-commit */
    CONSUME_COMMIT_MANUAL, /* rill_commit() after each flush of stdout */
    CONSUME_COMMIT_NONE,   /* never */
};

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
    bool from_given; /* --from was on the command line */
    bool commit_given;
    const char *format;
    bool json;                /* --json: JSON Lines instead of format */
    bool json_encoding_given; /* --json-encoding was on the command line */
    enum record_json_encoding json_encoding;
    const char *group;   /* --group, NULL: assign mode */
    const char *pattern; /* --pattern */
    enum consume_commit commit;
    char problem[256];
};

/* Per partition being consumed: where it stands. */
struct consume_partition {
    bool at_end;    /* reported caught up, and nothing arrived since */
    bool held;      /* group mode: the group gave it to this member (assign mode: always) */
    rill_err error; /* last error printed for it, so that a repeated one stays quiet */
    char *topic;    /* group mode: owned copy of the topic name; NULL in assign mode */
    int32_t partition;
    int64_t committed; /* group mode: what this command last committed, -1 none */
};

struct consume_state {
    struct consume_partition *partitions; /* assign mode: indexed by partition - base;
                                             group mode: every partition ever held */
    int32_t partition_base;
    int32_t partition_count; /* assign mode: assigned; group mode: held now */
    int32_t at_end_count;    /* partitions held and caught up */
    size_t group_count;      /* group mode: entries of partitions */
    size_t group_capacity;
    size_t group_last; /* group mode: entry of the last lookup (records come in runs) */
    int64_t printed;
    int write_errno;         /* errno of the first failed write to stdout, 0 if none */
    struct record_json json; /* --json: the printer on stdout */
    /* group mode */
    rill_consumer_t *consumer;
    const struct consume_settings *settings;
    int64_t last_commit_ns; /* manual: when the last commit was made */
    int64_t printed_at_commit;
    rill_err commit_error; /* last commit error printed, so that a repeated one stays quiet */
    rill_err group_error;  /* last group-level error printed */
};

static volatile sig_atomic_t consume_stop;

static int64_t consume_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static void consume_on_signal(int signal_number)
{
    (void)signal_number;
    consume_stop = 1;
}

static const char *consume_parse_from(struct consume_settings *settings, const char *value)
{
    int64_t number;

    settings->from_given = true;
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
    case CONSUME_GROUP:
        if (value[0] == '\0') {
            return "the group name must not be empty";
        }
        settings->group = value;
        return NULL;
    case CONSUME_COMMIT:
        settings->commit_given = true;
        if (strcmp(value, "auto") == 0) {
            settings->commit = CONSUME_COMMIT_AUTO;
        } else if (strcmp(value, "manual") == 0) {
            settings->commit = CONSUME_COMMIT_MANUAL;
        } else if (strcmp(value, "none") == 0) {
            settings->commit = CONSUME_COMMIT_NONE;
        } else {
            return "expected auto, manual or none";
        }
        return NULL;
    case CONSUME_PATTERN:
        if (value[0] == '\0') {
            return "the pattern must not be empty";
        }
        settings->pattern = value;
        return NULL;
    case CONSUME_JSON:
        settings->json = true;
        return NULL;
    case CONSUME_JSON_ENCODING:
        settings->json_encoding_given = true;
        if (!record_json_parse_encoding(value, &settings->json_encoding)) {
            return "expected text or base64";
        }
        return NULL;
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

/* ---- group mode ---------------------------------------------------------------------------- */

/* The entry of topic/partition in group mode, added when missing (NULL when out of memory). */
static struct consume_partition *
consume_group_entry(struct consume_state *state, const char *topic, int32_t partition)
{
    if (state->group_last < state->group_count) {
        struct consume_partition *last = &state->partitions[state->group_last];
        if (last->partition == partition && strcmp(last->topic, topic) == 0) {
            return last;
        }
    }
    for (size_t index = 0; index < state->group_count; index++) {
        struct consume_partition *entry = &state->partitions[index];
        if (entry->partition == partition && strcmp(entry->topic, topic) == 0) {
            state->group_last = index;
            return entry;
        }
    }
    if (state->group_count == state->group_capacity) {
        size_t capacity = state->group_capacity == 0 ? 16 : state->group_capacity * 2;
        struct consume_partition *grown =
            realloc(state->partitions, capacity * sizeof(*state->partitions));
        if (grown == NULL) {
            return NULL;
        }
        state->partitions = grown;
        state->group_capacity = capacity;
    }
    char *copy = strdup(topic);
    if (copy == NULL) {
        return NULL;
    }
    state->partitions[state->group_count] =
        (struct consume_partition){ .topic = copy, .partition = partition, .committed = -1 };
    state->group_last = state->group_count;
    return &state->partitions[state->group_count++];
}

/* The state of the partition a message is about, or NULL (a group-level message). */
static struct consume_partition *consume_partition_of(struct consume_state *state,
                                                      const rill_message_t *message)
{
    if (state->settings->group == NULL) {
        int64_t index = (int64_t)message->partition - state->partition_base;
        return index >= 0 && index < state->partition_count ? &state->partitions[index] : NULL;
    }
    if (message->topic == NULL) {
        return NULL;
    }
    struct consume_partition *entry =
        consume_group_entry(state, message->topic, message->partition);
    return entry != NULL && entry->held ? entry : NULL;
}

/*
 * Commits the position of each of the count partitions (the next record rill_consume() would
 * return, which is past everything it returned) where it moved since this command last
 * committed it. Explicit offsets rather than "whatever was consumed", so that a partition that
 * started at the end of its log and got nothing still has its start committed. A failed
 * commit is reported (once per error) and retried at the next call: the consumer goes on.
 */
static void consume_commit_positions(struct consume_state *state,
                                     const rill_topic_partition_t *partitions,
                                     size_t count)
{
    rill_commit_offset_t *offsets = count > 0 ? calloc(count, sizeof(*offsets)) : NULL;
    struct consume_partition **entries = count > 0 ? calloc(count, sizeof(*entries)) : NULL;
    size_t used = 0;
    rill_err err = count > 0 && (offsets == NULL || entries == NULL) ? RILL_ERR_NOMEM : RILL_OK;
    for (size_t index = 0; index < count && err == RILL_OK; index++) {
        int64_t position = -1;
        struct consume_partition *entry =
            consume_group_entry(state, partitions[index].topic, partitions[index].partition);
        if (entry == NULL ||
            rill_consumer_position(state->consumer, partitions[index].topic,
                                   partitions[index].partition, &position) != RILL_OK ||
            position < 0 || position == entry->committed) {
            continue; /* not started yet, or nothing new */
        }
        offsets[used] = (rill_commit_offset_t){ .topic = entry->topic,
                                                .partition = entry->partition,
                                                .offset = position };
        entries[used++] = entry;
    }
    if (err == RILL_OK && used > 0) {
        err = rill_commit(state->consumer, offsets, used, false);
        for (size_t index = 0; index < used; index++) {
            if (offsets[index].err == RILL_OK || offsets[index].err == RILL_ERR_OFFSET_REGRESSION) {
                entries[index]->committed = offsets[index].offset;
            }
        }
        if (err == RILL_ERR_OFFSET_REGRESSION) {
            err = RILL_OK; /* someone committed further already: nothing lost */
        }
    }
    if (err != RILL_OK && err != state->commit_error) {
        fflush(stdout);
        cli_client_fail(&state->settings->client, "consume", err, NULL,
                        "committing offsets of group '%s'", state->settings->group);
    }
    state->commit_error = err;
    free(offsets);
    free(entries);
}

/* Commits the positions of every partition the consumer holds now. */
static void consume_commit_held(struct consume_state *state)
{
    rill_topic_partition_t *held = NULL;
    size_t count = 0;
    rill_err err = rill_consumer_assignment(state->consumer, &held, &count);
    if (err == RILL_OK) {
        consume_commit_positions(state, held, count);
    } else if (err != state->commit_error) {
        cli_client_fail(&state->settings->client, "consume", err, NULL,
                        "committing offsets of group '%s'", state->settings->group);
        state->commit_error = err;
    }
    free(held);
}

/*
 * --commit manual: flushes stdout and, when that worked, commits the positions of the held
 * partitions, which are then exactly what was written.
 * @return false when writing stdout failed (nothing committed then).
 */
static bool consume_commit_written(struct consume_state *state)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (state->write_errno == 0) {
            state->write_errno = errno != 0 ? errno : EIO;
        }
        return false;
    }
    consume_commit_held(state);
    state->last_commit_ns = consume_now_ns();
    state->printed_at_commit = state->printed;
    return true;
}

/* Keeps the per-partition state in step with what the group gives and takes. */
static void consume_on_rebalance(rill_consumer_t *consumer,
                                 rill_rebalance_event_t event,
                                 const rill_topic_partition_t *partitions,
                                 size_t count,
                                 void *opaque)
{
    (void)consumer;
    struct consume_state *state = opaque;
    if (event == RILL_REBALANCE_REVOKED && state->settings->commit == CONSUME_COMMIT_MANUAL &&
        state->write_errno == 0 && fflush(stdout) == 0) {
        /* Still held: commit what was written of them before they move on. */
        consume_commit_positions(state, partitions, count);
    }
    for (size_t index = 0; index < count; index++) {
        struct consume_partition *entry =
            consume_group_entry(state, partitions[index].topic, partitions[index].partition);
        if (entry == NULL) {
            continue; /* out of memory: this partition only loses its end-of-log tracking */
        }
        bool held = event == RILL_REBALANCE_ASSIGNED;
        if (entry->held == held) {
            continue;
        }
        entry->held = held;
        state->partition_count += held ? 1 : -1;
        if (entry->at_end) {
            entry->at_end = false;
            state->at_end_count--;
        }
        entry->error = RILL_OK;
    }
}

/* Checks the named topics exist (the group would wait for them silently) and subscribes. */
static rill_err consume_subscribe(rill_consumer_t *consumer,
                                  struct consume_settings *settings,
                                  const char *const *topics,
                                  size_t topic_count)
{
    for (size_t index = 0; index < topic_count; index++) {
        int32_t count = 0;
        rill_err err = rill_consumer_partition_count(consumer, topics[index], &count);
        if (err != RILL_OK) {
            consume_fail(settings, err, topics[index], -1, "looking up");
            return err;
        }
    }
    rill_err err = rill_subscribe(consumer, settings->group, topic_count > 0 ? topics : NULL,
                                  topic_count, settings->pattern);
    if (err == RILL_ERR_INVALID_GROUP_ID) {
        fprintf(stderr,
                "rill consume: invalid group id '%s' (1-249 characters of a-z, A-Z, 0-9, '.', "
                "'_', '-')\n",
                settings->group);
    } else if (err == RILL_ERR_INVALID_SUBSCRIPTION && settings->pattern != NULL) {
        fprintf(stderr, "rill consume: --pattern '%s' is not a valid regular expression\n",
                settings->pattern);
    } else if (err != RILL_OK) {
        cli_client_fail(&settings->client, "consume", err, NULL, "joining group '%s'",
                        settings->group);
    }
    return err;
}

/* At the end of a group consumer: commit (per --commit) and leave the group. */
static rill_err consume_leave(struct consume_state *state)
{
    const struct consume_settings *settings = state->settings;
    if (settings->commit == CONSUME_COMMIT_MANUAL && state->write_errno == 0) {
        (void)consume_commit_written(state);
    } else if (settings->commit == CONSUME_COMMIT_AUTO) {
        (void)fflush(stdout); /* auto-commit counts what was consumed, written or not */
        consume_commit_held(state);
    }
    rill_err err = rill_unsubscribe(state->consumer, -1);
    if (err != RILL_OK) {
        cli_client_fail(&settings->client, "consume", err, NULL, "leaving group '%s'",
                        settings->group);
    }
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
 * Handles one message (printed through format, or as JSON when format is NULL). @return
 * RILL_OK to go on, RILL_ERR_END when the command is done,
 * anything else to fail.
 */
static rill_err consume_message(const rill_message_t *message,
                                const struct consume_settings *settings,
                                const char *format,
                                struct consume_state *state)
{
    struct consume_partition *partition = consume_partition_of(state, message);

    if (message->err == RILL_OK) {
        struct record_origin origin = { message->topic, message->partition };
        rill_err err = format != NULL
                           ? record_format_print(stdout, format, message->record, &origin)
                           : record_json_print(&state->json, message->record, &origin);
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
        if (settings->exit_at_end && state->partition_count > 0 &&
            state->at_end_count == state->partition_count) {
            return RILL_ERR_END;
        }
        return RILL_OK;
    }
    if (message->topic == NULL && message->err != RILL_ERR_CONNECTION) {
        /* A group-level problem (no common strategy, a bad session timeout, ...): the member
         * keeps trying, so say it once. */
        if (state->group_error != message->err) {
            fflush(stdout);
            cli_client_fail(&settings->client, "consume", message->err, NULL, "group '%s'",
                            cli_str(settings->group));
            state->group_error = message->err;
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

    if (settings->json) {
        format = NULL;
        record_json_init(&state->json, stdout, settings->json_encoding, "consume");
    }
    if (settings->count_max == 0) {
        return RILL_OK;
    }
    bool manual = settings->group != NULL && settings->commit == CONSUME_COMMIT_MANUAL;
    while (!consume_stop) {
        const rill_message_t *message = NULL;
        rill_err err = rill_consume(consumer, 0, &message);
        if (err == RILL_ERR_TIMEOUT) {
            if (manual ? !consume_commit_written(state) : fflush(stdout) != 0) {
                state->write_errno = state->write_errno != 0 ? state->write_errno : errno;
                return RILL_ERR_IO;
            }
            err = rill_consume(consumer, CONSUME_WAIT_MS, &message);
        } else if (manual && state->printed != state->printed_at_commit &&
                   consume_now_ns() - state->last_commit_ns > CONSUME_COMMIT_INTERVAL_NS) {
            if (!consume_commit_written(state)) {
                return RILL_ERR_IO;
            }
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

/* The consumer settings group mode derives from --commit and --from; NULL or a problem. */
static const char *consume_group_conf(struct consume_settings *settings)
{
    const char *problem =
        cli_client_set(&settings->client, "enable.auto.commit",
                       settings->commit == CONSUME_COMMIT_AUTO ? "true" : "false");
    if (problem == NULL && (settings->from_given ||
                            rill_conf_get(settings->client.conf, "auto.offset.reset") == NULL)) {
        problem = cli_client_set(&settings->client, "auto.offset.reset",
                                 settings->from_value == RILL_OFFSET_END ? "latest" : "earliest");
    }
    return problem;
}

/* Subscribes (group mode) or assigns the partitions; reports failures. */
static rill_err consume_start(rill_consumer_t *consumer,
                              struct consume_settings *settings,
                              const char *const *topics,
                              size_t topic_count,
                              struct consume_state *state)
{
    if (settings->group == NULL) {
        return consume_assign(consumer, settings, topics[0], state);
    }
    state->consumer = consumer;
    state->last_commit_ns = consume_now_ns();
    rill_consumer_set_rebalance_cb(consumer, consume_on_rebalance, state);
    return consume_subscribe(consumer, settings, topics, topic_count);
}

static int
consume_run(struct consume_settings *settings, const char *const *topics, size_t topic_count)
{
    static char output_buffer[CONSUME_OUTPUT_BYTES];
    struct consume_state state = { .settings = settings };
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
    err = consume_start(consumer, settings, topics, topic_count, &state);
    bool joined = err == RILL_OK && settings->group != NULL;
    if (err == RILL_OK) {
        err = consume_loop(consumer, settings, &state);
    }
    if (joined) {
        rill_err left = consume_leave(&state);
        err = err != RILL_OK ? err : left;
    }
    rill_consumer_destroy(consumer);
    for (size_t index = 0; index < state.group_count; index++) {
        free(state.partitions[index].topic);
    }
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

/* What cli_parse cannot check: the topics and the options that depend on --group. */
static const char *
consume_check(struct consume_settings *settings, const char *const *topics, size_t topic_count)
{
    for (size_t index = 0; index < topic_count; index++) {
        if (topics[index][0] == '\0') {
            return "the topic name must not be empty";
        }
    }
    if (settings->json && settings->format != NULL) {
        return "--json and --format exclude each other (--json prints every field)";
    }
    if (settings->json_encoding_given && !settings->json) {
        return "--json-encoding needs --json";
    }
    if (settings->group == NULL) {
        if (settings->pattern != NULL) {
            return "--pattern needs --group";
        }
        if (settings->commit_given) {
            return "--commit needs --group";
        }
        if (topic_count != 1) {
            return topic_count == 0 ? "missing TOPIC"
                                    : "several topics need --group (or run one consume each)";
        }
        return NULL;
    }
    if (settings->pattern != NULL && topic_count > 0) {
        return "give either TOPICs or --pattern, not both";
    }
    if (settings->pattern == NULL && topic_count == 0) {
        return "missing TOPIC (or --pattern REGEX)";
    }
    if (settings->partition >= 0) {
        return "--partition does not go with --group: the group assigns the partitions";
    }
    if (settings->from_given &&
        (settings->start != CONSUME_START_OFFSET || settings->from_value >= 0)) {
        return "with --group, --from is beginning or end (where partitions without a committed "
               "offset start)";
    }
    return consume_group_conf(settings);
}

int cmd_consume_main(int argc, char **argv)
{
    struct consume_settings settings = {
        .partition = -1,
        .start = CONSUME_START_OFFSET,
        .from_value = RILL_OFFSET_BEGINNING,
        .count_max = -1,
        .commit = CONSUME_COMMIT_AUTO,
    };
    const struct cli_command command = {
        .name = "consume",
        .usage = consume_usage,
        .options = consume_options,
        .handler = consume_option,
        .context = &settings,
        .positional_names = "TOPIC",
        .positional_min = 0,
        .positional_max = CONSUME_TOPICS_MAX,
    };
    const char *topics[CONSUME_TOPICS_MAX];
    size_t topic_count = 0;
    int exit_code = CLI_EXIT_OK;

    if (!cli_client_init(&settings.client)) {
        return CLI_EXIT_FAILURE;
    }
    if (cli_parse(&command, argc, argv, topics, &topic_count, &exit_code)) {
        const char *problem = cli_client_finish(&settings.client);
        if (problem == NULL) {
            problem = consume_check(&settings, topics, topic_count);
        }
        if (problem != NULL) {
            cli_usage_error(&command, problem);
            exit_code = CLI_EXIT_USAGE;
        } else {
            exit_code = consume_run(&settings, topics, topic_count);
        }
    }
    cli_client_deinit(&settings.client);
    return exit_code;
}
