/*
 * bench_client.c - `rill bench produce|consume|e2e`: the command line, the topic, the threads,
 * the progress line and the reports (a table, --json, --plot through gnuplot).
 *
 * Measurement. Throughput counts measured records only (warm-up excluded) from the moment the
 * first measured record was sent (produce, e2e) or read (consume) to the moment the last one
 * completed: acknowledged per acks (produce) or received by a consumer (consume, e2e). MB are
 * 10^6 bytes of record values. Latency is collected per thread in log-linear histograms
 * (bench_hist.h) and merged after the threads end; the per-second series for the plot sums
 * records and takes the worst thread's percentiles (exact with one thread).
 *
 * The producer's and the consumer's client settings are kept apart (a handle refuses keys of
 * another kind): -b goes to both, -X goes to the handle that knows the key, common keys to
 * both. The topic is described through an admin handle built from the common keys.
 */
#include "bench/bench_client.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char bench_client_usage[] =
    "usage: rill bench produce|consume|e2e [options]\n"
    "\n"
    "Measures the client library against a running broker. produce sends records and times\n"
    "each delivery report; consume reads the topic from its start; e2e runs producers and\n"
    "consumers in one process and times each record from its send time (stored in the value)\n"
    "to its arrival at a consumer (and, as the row 'acked', to its delivery report). Reports\n"
    "records/s, MB/s (10^6 bytes of values) and latency percentiles; a progress line goes to\n"
    "stderr while it is a terminal.\n"
    "\n"
    "Options:\n"
    "  --topic NAME          topic to use (default rill-bench); produce and e2e create it\n"
    "                        when missing\n"
    "  --partitions N        partitions of a topic created here (default 1)\n"
    "  --topic-config K=V    config of a topic created here (flush=always, ...); repeatable\n"
    "  --records N           measured records (default 1000000; consume: all there are)\n"
    "  --duration SECONDS    run this long instead of a record count\n"
    "  --size BYTES|uniform:MIN-MAX   value size, fixed or uniform (default 100; e2e >= 8)\n"
    "  --rate R              records/s over all producers (default 0: as fast as possible);\n"
    "                        latency then counts from each record's scheduled send time\n"
    "  --acks 0|1|all        producer acknowledgement (default all)\n"
    "  --compression none|lz4  producer compression (default lz4)\n"
    "  --linger-ms MS        producer linger (default 1)\n"
    "  --batch-bytes SIZE    producer batch size (default 1m)\n"
    "  --producers N         producer threads (default 1)\n"
    "  --consumers N         consumer threads (default 1); partition i goes to thread i % N\n"
    "  --warmup N|SECONDSs   records (\"10000\") or seconds (\"2s\") not measured at the start\n"
    "  --json                print one JSON object on stdout instead of the table\n"
    "  --plot FILE.png       draw throughput and latency per second with gnuplot\n"
    "  -b, --brokers HOST:PORT[,...]  brokers to bootstrap from (default $RILL_BROKERS or\n"
    "                        127.0.0.1:9700)\n"
    "  -X, --client-config KEY=VALUE  any client setting; goes to the handles that know it\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit codes: 0 success, 1 failure (unreachable broker, failed deliveries), 2 bad command\n"
    "line. Example:\n"
    "  rill bench produce --records 5000000 --size 100 --acks 1 --compression none\n";

enum bench_option_index {
    BENCH_OPT_BROKERS,
    BENCH_OPT_CLIENT_CONFIG,
    BENCH_OPT_TOPIC,
    BENCH_OPT_PARTITIONS,
    BENCH_OPT_TOPIC_CONFIG,
    BENCH_OPT_RECORDS,
    BENCH_OPT_DURATION,
    BENCH_OPT_SIZE,
    BENCH_OPT_RATE,
    BENCH_OPT_ACKS,
    BENCH_OPT_COMPRESSION,
    BENCH_OPT_LINGER_MS,
    BENCH_OPT_BATCH_BYTES,
    BENCH_OPT_PRODUCERS,
    BENCH_OPT_CONSUMERS,
    BENCH_OPT_WARMUP,
    BENCH_OPT_JSON,
    BENCH_OPT_PLOT,
    BENCH_OPT_COUNT,
};

static const struct cli_option bench_client_options[] = {
    CLI_CLIENT_OPTIONS,
    [BENCH_OPT_TOPIC] = { "topic", 0, true },
    [BENCH_OPT_PARTITIONS] = { "partitions", 0, true },
    [BENCH_OPT_TOPIC_CONFIG] = { "topic-config", 0, true },
    [BENCH_OPT_RECORDS] = { "records", 0, true },
    [BENCH_OPT_DURATION] = { "duration", 0, true },
    [BENCH_OPT_SIZE] = { "size", 0, true },
    [BENCH_OPT_RATE] = { "rate", 0, true },
    [BENCH_OPT_ACKS] = { "acks", 0, true },
    [BENCH_OPT_COMPRESSION] = { "compression", 0, true },
    [BENCH_OPT_LINGER_MS] = { "linger-ms", 0, true },
    [BENCH_OPT_BATCH_BYTES] = { "batch-bytes", 0, true },
    [BENCH_OPT_PRODUCERS] = { "producers", 0, true },
    [BENCH_OPT_CONSUMERS] = { "consumers", 0, true },
    [BENCH_OPT_WARMUP] = { "warmup", 0, true },
    [BENCH_OPT_JSON] = { "json", 0, false },
    [BENCH_OPT_PLOT] = { "plot", 0, true },
    { NULL, 0, false },
};

#define BENCH_RECORDS_DEFAULT 1000000
#define BENCH_PROGRESS_NS     250000000LL
#define BENCH_TOPIC_WAIT_NS   (10 * BENCH_SECOND_NS)
#define BENCH_DURATION_S_MAX  (24.0 * 3600)
#define BENCH_PARTITIONS_MAX  10000 /* as the broker's limit */
#define BENCH_RATE_MAX        1e9

/* Keys only producers or only consumers accept (rill.h); every other key goes to both. */
static const char *const bench_producer_keys[] = {
    "acks",
    "linger.ms",
    "batch.bytes",
    "compression",
    "enable.idempotence",
    "delivery.timeout.ms",
    "queue.records.max",
    "queue.bytes.max",
    "max.inflight.per.partition",
};
static const char *const bench_consumer_keys[] = {
    "fetch.max.wait.ms",         "fetch.min.bytes",      "fetch.max.bytes",
    "max.partition.fetch.bytes", "enable.partition.eof",
};

static volatile sig_atomic_t bench_signalled;

static void bench_on_signal(int signal_number)
{
    (void)signal_number;
    bench_signalled = 1;
}

static bool bench_key_in(const char *key, const char *const *keys, size_t key_count)
{
    for (size_t index = 0; index < key_count; index++) {
        if (strcmp(key, keys[index]) == 0) {
            return true;
        }
    }
    return false;
}

/* -X KEY=VALUE: to the producer, the consumer or both. */
static const char *bench_client_config(struct bench_settings *settings, const char *text)
{
    const char *equals = strchr(text, '=');
    char key[128];
    const char *problem = NULL;

    if (equals == NULL || equals == text || (size_t)(equals - text) >= sizeof(key)) {
        snprintf(settings->problem, sizeof(settings->problem), "expected KEY=VALUE, got '%s'",
                 text);
        return settings->problem;
    }
    memcpy(key, text, (size_t)(equals - text));
    key[equals - text] = '\0';
    bool producer_only = bench_key_in(key, bench_producer_keys,
                                      sizeof(bench_producer_keys) / sizeof(bench_producer_keys[0]));
    bool consumer_only = bench_key_in(key, bench_consumer_keys,
                                      sizeof(bench_consumer_keys) / sizeof(bench_consumer_keys[0]));
    if (!consumer_only) {
        problem = cli_client_option(&settings->producer, 1, text);
    }
    if (problem == NULL && !producer_only) {
        problem = cli_client_option(&settings->consumer, 1, text);
    }
    return problem;
}

/* A whole number in [min, max]. */
static bool bench_parse_count(const char *text, int64_t min, int64_t max, int64_t *out_value)
{
    int64_t value;
    if (!cli_parse_int64(text, &value) || value < min || value > max) {
        return false;
    }
    *out_value = value;
    return true;
}

/* A non-negative decimal number ("1.5"), at most max. */
static bool bench_parse_number(const char *text, double max, double *out_value)
{
    char *end = NULL;
    double value;
    if (text[0] == '\0' || text[0] == '-' || text[0] == '+') {
        return false;
    }
    value = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(value) || value < 0 || value > max) {
        return false;
    }
    *out_value = value;
    return true;
}

/* "100", "1k" or "uniform:100-1000". */
static const char *bench_parse_value_size(struct bench_settings *settings, const char *text)
{
    uint64_t min_bytes;
    uint64_t max_bytes;

    if (strncmp(text, "uniform:", 8) == 0) {
        const char *dash = strchr(text + 8, '-');
        char low[32];
        if (dash == NULL || (size_t)(dash - (text + 8)) >= sizeof(low)) {
            return "expected uniform:MIN-MAX";
        }
        memcpy(low, text + 8, (size_t)(dash - (text + 8)));
        low[dash - (text + 8)] = '\0';
        if (!cli_parse_size(low, &min_bytes) || !cli_parse_size(dash + 1, &max_bytes) ||
            min_bytes > max_bytes) {
            return "expected uniform:MIN-MAX with MIN <= MAX";
        }
    } else if (cli_parse_size(text, &min_bytes)) {
        max_bytes = min_bytes;
    } else {
        return "expected a size in bytes (suffix k or m) or uniform:MIN-MAX";
    }
    if (max_bytes > BENCH_VALUE_BYTES_MAX) {
        return "values are at most 16m";
    }
    settings->value_bytes_min = (uint32_t)min_bytes;
    settings->value_bytes_max = (uint32_t)max_bytes;
    return NULL;
}

/* "10000" (records) or "2s" / "0.5s" (seconds). */
static const char *bench_parse_warmup(struct bench_settings *settings, const char *text)
{
    size_t text_bytes = strlen(text);
    int64_t records;

    if (text_bytes > 1 && text_bytes < 32 && text[text_bytes - 1] == 's') {
        char number[32];
        double seconds;
        memcpy(number, text, text_bytes - 1);
        number[text_bytes - 1] = '\0';
        if (!bench_parse_number(number, BENCH_DURATION_S_MAX, &seconds)) {
            return "expected a record count or seconds with an s suffix (2s)";
        }
        settings->warmup_ns = (int64_t)(seconds * 1e9);
        settings->warmup_records = 0;
        return NULL;
    }
    if (!bench_parse_count(text, 0, INT64_MAX / 2, &records)) {
        return "expected a record count or seconds with an s suffix (2s)";
    }
    settings->warmup_records = (uint64_t)records;
    settings->warmup_ns = 0;
    return NULL;
}

/* Options that shape the producers: refused by consume. */
static bool bench_option_is_producer_only(int option_index)
{
    return option_index == BENCH_OPT_RATE || option_index == BENCH_OPT_ACKS ||
           option_index == BENCH_OPT_COMPRESSION || option_index == BENCH_OPT_LINGER_MS ||
           option_index == BENCH_OPT_BATCH_BYTES || option_index == BENCH_OPT_PRODUCERS ||
           option_index == BENCH_OPT_SIZE || option_index == BENCH_OPT_PARTITIONS ||
           option_index == BENCH_OPT_TOPIC_CONFIG;
}

static const char *
bench_producer_option(struct bench_settings *settings, int option_index, const char *value)
{
    int64_t number;
    switch (option_index) {
    case BENCH_OPT_ACKS:
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0 && strcmp(value, "all") != 0) {
            return "expected 0, 1 or all";
        }
        return cli_client_set(&settings->producer, "acks", value);
    case BENCH_OPT_COMPRESSION:
        if (strcmp(value, "none") != 0 && strcmp(value, "lz4") != 0) {
            return "expected none or lz4";
        }
        return cli_client_set(&settings->producer, "compression", value);
    case BENCH_OPT_LINGER_MS:
        if (!bench_parse_count(value, 0, INT32_MAX, &number)) {
            return "expected milliseconds (a whole number >= 0)";
        }
        return cli_client_set(&settings->producer, "linger.ms", value);
    case BENCH_OPT_BATCH_BYTES:
        return cli_client_set(&settings->producer, "batch.bytes", value);
    case BENCH_OPT_PRODUCERS:
        if (!bench_parse_count(value, 1, BENCH_THREADS_MAX, &number)) {
            return "expected 1 to 32 producers";
        }
        settings->producers = (uint32_t)number;
        return NULL;
    case BENCH_OPT_RATE:
        if (!bench_parse_number(value, BENCH_RATE_MAX, &settings->rate)) {
            return "expected records per second (a number >= 0; 0: as fast as possible)";
        }
        return NULL;
    case BENCH_OPT_SIZE:
        return bench_parse_value_size(settings, value);
    case BENCH_OPT_PARTITIONS:
        if (!bench_parse_count(value, 1, BENCH_PARTITIONS_MAX, &number)) {
            return "expected 1 to 10000 partitions";
        }
        settings->partitions = (int32_t)number;
        return NULL;
    case BENCH_OPT_TOPIC_CONFIG:
        return cli_config_list_add(&settings->topic_configs, value, false);
    default:
        return "unhandled option";
    }
}

static const char *bench_option(int option_index, const char *value, void *context)
{
    struct bench_settings *settings = context;
    int64_t number;
    double seconds;

    if (settings->workload == BENCH_WORKLOAD_CONSUME &&
        bench_option_is_producer_only(option_index)) {
        snprintf(settings->problem, sizeof(settings->problem),
                 "--%s applies to produce and e2e only", bench_client_options[option_index].name);
        return settings->problem;
    }
    switch (option_index) {
    case BENCH_OPT_BROKERS: {
        const char *problem = cli_client_option(&settings->producer, 0, value);
        return problem != NULL ? problem : cli_client_option(&settings->consumer, 0, value);
    }
    case BENCH_OPT_CLIENT_CONFIG:
        return bench_client_config(settings, value);
    case BENCH_OPT_TOPIC:
        if (value[0] == '\0') {
            return "the topic name must not be empty";
        }
        settings->topic = value;
        return NULL;
    case BENCH_OPT_RECORDS:
        if (!bench_parse_count(value, 1, INT64_MAX / 2, &number)) {
            return "expected a record count (a whole number >= 1)";
        }
        settings->records = (uint64_t)number;
        settings->records_set = true;
        return NULL;
    case BENCH_OPT_DURATION:
        if (!bench_parse_number(value, BENCH_DURATION_S_MAX, &seconds) || seconds <= 0) {
            return "expected seconds (a number > 0)";
        }
        settings->duration_ns = (int64_t)(seconds * 1e9);
        return NULL;
    case BENCH_OPT_CONSUMERS:
        if (!bench_parse_count(value, 1, BENCH_THREADS_MAX, &number)) {
            return "expected 1 to 32 consumers";
        }
        settings->consumers = (uint32_t)number;
        return NULL;
    case BENCH_OPT_WARMUP:
        return bench_parse_warmup(settings, value);
    case BENCH_OPT_JSON:
        settings->json = true;
        return NULL;
    case BENCH_OPT_PLOT:
        if (value[0] == '\0' || strpbrk(value, "'\"\n\\") != NULL) {
            return "expected a file name without quotes, backslashes or newlines";
        }
        settings->plot_path = value;
        return NULL;
    default:
        return bench_producer_option(settings, option_index, value);
    }
}

/* Checks that need every option; NULL or a usage problem. */
static const char *bench_check_settings(struct bench_settings *settings)
{
    const char *problem = cli_client_finish(&settings->producer);
    if (problem == NULL) {
        problem = cli_client_finish(&settings->consumer);
    }
    if (problem != NULL) {
        return problem;
    }
    if (settings->records_set && settings->duration_ns > 0) {
        return "--records and --duration exclude each other";
    }
    if (settings->workload == BENCH_WORKLOAD_E2E &&
        settings->value_bytes_min < BENCH_E2E_STAMP_BYTES) {
        return "e2e needs values of at least 8 bytes (they carry the send time)";
    }
    if (!settings->records_set && settings->duration_ns == 0 &&
        settings->workload != BENCH_WORKLOAD_CONSUME) {
        settings->records = BENCH_RECORDS_DEFAULT;
    }
    if (settings->workload != BENCH_WORKLOAD_CONSUME && settings->records > 0 &&
        settings->records < settings->producers) {
        return "--records must be at least --producers";
    }
    return NULL;
}

/* ---- the topic --------------------------------------------------------------------------- */

/* Partitions and start offsets of the described topic (consume: starts; e2e: ends). */
static rill_err bench_topic_offsets(const struct bench_settings *settings,
                                    const rill_topic_info_t *info,
                                    struct bench_run *run,
                                    uint64_t *out_available)
{
    bool from_end = settings->workload == BENCH_WORKLOAD_E2E;

    if (info->partition_count > BENCH_PARTITIONS_MAX) {
        fprintf(stderr, "rill %s: topic %s has %zu partitions, more than the bench handles\n",
                settings->name, settings->topic, info->partition_count);
        return RILL_ERR_INVALID;
    }
    run->partitions = (int32_t)info->partition_count;
    run->start_offsets = calloc(info->partition_count, sizeof(run->start_offsets[0]));
    if (run->start_offsets == NULL) {
        cli_fail(RILL_ERR_NOMEM, "%s", settings->name);
        return RILL_ERR_NOMEM;
    }
    *out_available = 0;
    for (size_t index = 0; index < info->partition_count; index++) {
        const rill_partition_info_t *part = &info->partitions[index];
        if (part->partition >= 0 && part->partition < run->partitions) {
            run->start_offsets[part->partition] = from_end ? part->end_offset : part->start_offset;
        }
        if (part->end_offset > part->start_offset) {
            *out_available += (uint64_t)(part->end_offset - part->start_offset);
        }
    }
    return RILL_OK;
}

/*
 * Describes the topic (creating it for produce and e2e when missing) and fills
 * run->partitions and run->start_offsets (consume: each partition's start; e2e: its end).
 * @return RILL_OK, or the failure after reporting it.
 */
static rill_err bench_topic_setup(struct bench_settings *settings,
                                  rill_admin_t *admin,
                                  struct bench_run *run,
                                  uint64_t *out_available)
{
    const char *names[1] = { settings->topic };
    int64_t deadline_ns = bench_now_ns() + BENCH_TOPIC_WAIT_NS;
    bool created = false;

    for (;;) {
        rill_topic_list_t *list = NULL;
        char errstr[256] = "";
        rill_err err = rill_admin_describe_topics(admin, names, 1, &list);
        if (err != RILL_OK) {
            cli_client_fail(&settings->producer, settings->name, err, NULL, "describing topic %s",
                            settings->topic);
            return err;
        }
        const rill_topic_info_t *info = list->topic_count == 1 ? &list->topics[0] : NULL;
        if (info != NULL && info->err == RILL_OK && info->partition_count > 0) {
            rill_err err_offsets = bench_topic_offsets(settings, info, run, out_available);
            rill_topic_list_destroy(list);
            return err_offsets;
        }
        rill_err topic_err = info != NULL ? info->err : RILL_ERR_UNKNOWN_TOPIC;
        rill_topic_list_destroy(list);
        if (topic_err != RILL_OK && topic_err != RILL_ERR_UNKNOWN_TOPIC) {
            cli_client_fail(&settings->producer, settings->name, topic_err, NULL, "topic %s",
                            settings->topic);
            return topic_err;
        }
        if (topic_err == RILL_ERR_UNKNOWN_TOPIC && settings->workload == BENCH_WORKLOAD_CONSUME) {
            fprintf(stderr, "rill %s: unknown topic '%s' (run rill bench produce first)\n",
                    settings->name, settings->topic);
            return RILL_ERR_UNKNOWN_TOPIC;
        }
        if (topic_err == RILL_ERR_UNKNOWN_TOPIC && !created) {
            err = rill_admin_create_topic(admin, settings->topic, settings->partitions,
                                          settings->topic_configs.entries,
                                          settings->topic_configs.count, errstr, sizeof(errstr));
            if (err != RILL_OK && err != RILL_ERR_EXISTS) {
                cli_client_fail(&settings->producer, settings->name, err, errstr,
                                "creating topic %s", settings->topic);
                return err;
            }
            created = true;
            continue;
        }
        if (bench_now_ns() > deadline_ns) {
            fprintf(stderr, "rill %s: topic %s has no partitions after 10 s\n", settings->name,
                    settings->topic);
            return RILL_ERR_TIMEOUT;
        }
        struct timespec pause = { .tv_sec = 0, .tv_nsec = 50000000 };
        nanosleep(&pause, NULL);
    }
}

/* ---- threads ----------------------------------------------------------------------------- */

struct bench_threads {
    struct bench_run run;
    struct bench_worker *workers; /* producers first, then consumers */
    uint32_t worker_count;
    uint32_t started;
};

static void *bench_thread_main(void *arg)
{
    struct bench_worker *worker = arg;
    void *result =
        worker->is_producer ? bench_producer_thread(worker) : bench_consumer_thread(worker);
    atomic_fetch_sub(&worker->run->workers_running, 1);
    return result;
}

/* Creates the workers and their handles. False after reporting why (*out_exit set). */
static bool
bench_workers_create(struct bench_settings *settings, struct bench_threads *threads, int *out_exit)
{
    uint32_t producers = settings->workload == BENCH_WORKLOAD_CONSUME ? 0 : settings->producers;
    uint32_t consumers = settings->workload == BENCH_WORKLOAD_PRODUCE ? 0 : settings->consumers;
    uint64_t records_total = settings->records + settings->warmup_records;

    threads->worker_count = producers + consumers;
    threads->workers = calloc(threads->worker_count, sizeof(threads->workers[0]));
    if (threads->workers == NULL) {
        cli_fail(RILL_ERR_NOMEM, "%s", settings->name);
        *out_exit = CLI_EXIT_FAILURE;
        return false;
    }
    for (uint32_t index = 0; index < threads->worker_count; index++) {
        struct bench_worker *worker = &threads->workers[index];
        char errstr[256] = "";
        rill_err err;
        worker->run = &threads->run;
        worker->is_producer = index < producers;
        worker->index = worker->is_producer ? index : index - producers;
        worker->random_state = UINT64_C(0x9e3779b97f4a7c15) * (index + 1);
        bench_hist_reset(&worker->hist);
        bench_hist_reset(&worker->interval);
        bench_hist_reset(&worker->ack_hist);
        worker->series = calloc(BENCH_SERIES_POINTS_MAX, sizeof(worker->series[0]));
        if (worker->is_producer) {
            uint32_t share_index = worker->index;
            worker->value = malloc(settings->value_bytes_max > 0 ? settings->value_bytes_max : 1);
            if (settings->records > 0) {
                worker->share =
                    records_total / producers + (share_index < records_total % producers);
            }
            worker->warmup_share = settings->warmup_records / producers +
                                   (share_index < settings->warmup_records % producers);
            if (worker->value != NULL) {
                for (uint32_t byte = 0; byte < settings->value_bytes_max; byte++) {
                    worker->value[byte] = (uint8_t)(bench_random(&worker->random_state) >> 56);
                }
            }
            err = rill_producer_create(settings->producer.conf, bench_on_delivery, worker, errstr,
                                       sizeof(errstr), &worker->producer);
        } else {
            err = rill_consumer_create(settings->consumer.conf, errstr, sizeof(errstr),
                                       &worker->consumer);
        }
        if (err != RILL_OK) {
            *out_exit = cli_client_create_failed(
                worker->is_producer ? &settings->producer : &settings->consumer, settings->name,
                err, errstr, worker->is_producer ? "creating a producer" : "creating a consumer");
            return false;
        }
        if (worker->series == NULL || (worker->is_producer && worker->value == NULL)) {
            cli_fail(RILL_ERR_NOMEM, "%s", settings->name);
            *out_exit = CLI_EXIT_FAILURE;
            return false;
        }
    }
    return true;
}

static void bench_workers_destroy(struct bench_threads *threads)
{
    for (uint32_t index = 0; threads->workers != NULL && index < threads->worker_count; index++) {
        struct bench_worker *worker = &threads->workers[index];
        rill_producer_destroy(worker->producer);
        rill_consumer_destroy(worker->consumer);
        free(worker->value);
        free(worker->series);
    }
    free(threads->workers);
    free(threads->run.start_offsets);
}

/* Prints the progress line (a terminal only) until every thread has ended. */
static void bench_watch(const struct bench_settings *settings, struct bench_threads *threads)
{
    bool show = isatty(STDERR_FILENO);
    uint64_t last_records = 0;
    int64_t last_ns = threads->run.start_ns;
    bool shown = false;

    while (atomic_load(&threads->run.workers_running) > 0) {
        struct timespec pause = { .tv_sec = 0, .tv_nsec = BENCH_PROGRESS_NS };
        nanosleep(&pause, NULL);
        if (bench_signalled) {
            atomic_store(&threads->run.stop, true);
        }
        if (!show) {
            continue;
        }
        uint64_t records = 0;
        uint64_t bytes = 0;
        for (uint32_t index = 0; index < threads->worker_count; index++) {
            const struct bench_worker *worker = &threads->workers[index];
            bool counts = settings->workload == BENCH_WORKLOAD_PRODUCE || !worker->is_producer;
            if (counts) {
                records += atomic_load_explicit(&worker->progress_records, memory_order_relaxed);
                bytes += atomic_load_explicit(&worker->progress_bytes, memory_order_relaxed);
            }
        }
        int64_t now_ns = bench_now_ns();
        double interval_s = (double)(now_ns - last_ns) / 1e9;
        fprintf(stderr, "\r\033[K%s: %.1f s, %" PRIu64 " records, %.1f MB, %.0f records/s",
                settings->name, (double)(now_ns - threads->run.start_ns) / 1e9, records,
                (double)bytes / 1e6,
                interval_s > 0 ? (double)(records - last_records) / interval_s : 0.0);
        last_records = records;
        last_ns = now_ns;
        shown = true;
    }
    if (shown) {
        fputs("\r\033[K", stderr);
    }
}

/* Merges what the measuring threads saw into result. */
static void bench_collect(const struct bench_settings *settings,
                          struct bench_threads *threads,
                          struct bench_result *result)
{
    int64_t end_ns = 0;
    int64_t start_ns = atomic_load(&threads->run.measure_start_ns);

    result->has_latency = settings->workload != BENCH_WORKLOAD_CONSUME;
    result->partitions = threads->run.partitions;
    result->has_ack_latency = settings->workload == BENCH_WORKLOAD_E2E;
    bench_hist_reset(&result->hist);
    bench_hist_reset(&result->ack_hist);
    for (uint32_t index = 0; index < threads->worker_count; index++) {
        const struct bench_worker *worker = &threads->workers[index];
        result->failed += worker->failed;
        if (settings->workload != BENCH_WORKLOAD_PRODUCE && worker->is_producer) {
            bench_hist_merge(&result->ack_hist, &worker->ack_hist);
            continue;
        }
        result->records += worker->measured;
        result->bytes += worker->measured_bytes;
        bench_hist_merge(&result->hist, &worker->hist);
        if (worker->measured > 0 && worker->last_ns > end_ns) {
            end_ns = worker->last_ns;
        }
        for (uint32_t point = 0; point < worker->series_count; point++) {
            struct bench_point *into = &result->series[point];
            const struct bench_point *from = &worker->series[point];
            into->records += from->records;
            into->bytes += from->bytes;
            into->p50_ns = from->p50_ns > into->p50_ns ? from->p50_ns : into->p50_ns;
            into->p99_ns = from->p99_ns > into->p99_ns ? from->p99_ns : into->p99_ns;
            into->max_ns = from->max_ns > into->max_ns ? from->max_ns : into->max_ns;
        }
        if (worker->series_count > result->series_count) {
            result->series_count = worker->series_count;
        }
    }
    if (start_ns > 0 && end_ns > start_ns) {
        result->seconds = (double)(end_ns - start_ns) / 1e9;
    }
}

/* Reports the first failure of a thread; returns true if there was one. */
static bool bench_report_failures(struct bench_settings *settings,
                                  const struct bench_threads *threads,
                                  const struct bench_result *result)
{
    bool any = false;
    for (uint32_t index = 0; index < threads->worker_count; index++) {
        const struct bench_worker *worker = &threads->workers[index];
        if (worker->err != RILL_OK && !any) {
            cli_client_fail(worker->is_producer ? &settings->producer : &settings->consumer,
                            settings->name, worker->err, worker->errstr, "%s %" PRIu32,
                            worker->is_producer ? "producer" : "consumer", worker->index);
        }
        any = any || worker->err != RILL_OK;
    }
    if (result->failed > 0) {
        const struct bench_worker *first = NULL;
        for (uint32_t index = 0; index < threads->worker_count && first == NULL; index++) {
            if (threads->workers[index].failed > 0) {
                first = &threads->workers[index];
            }
        }
        fprintf(stderr, "rill %s: %" PRIu64 " records failed (first: %s)\n", settings->name,
                result->failed, first != NULL ? first->errstr : "");
        any = true;
    }
    return any;
}

/* Starts the threads, watches them, joins them. */
static bool bench_threads_run(const struct bench_settings *settings, struct bench_threads *threads)
{
    struct bench_run *run = &threads->run;
    uint32_t producers = 0;

    for (uint32_t index = 0; index < threads->worker_count; index++) {
        producers += threads->workers[index].is_producer;
    }
    atomic_store(&run->producers_running, producers);
    atomic_store(&run->workers_running, threads->worker_count);
    run->start_ns = bench_now_ns();
    if (settings->warmup_records == 0 && settings->warmup_ns == 0) {
        atomic_store(&run->measure_start_ns, run->start_ns);
    }
    for (uint32_t index = 0; index < threads->worker_count; index++) {
        struct bench_worker *worker = &threads->workers[index];
        worker->point_next_ns = run->start_ns + BENCH_SECOND_NS;
        if (pthread_create(&worker->thread, NULL, bench_thread_main, worker) != 0) {
            atomic_store(&run->stop, true);
            atomic_fetch_sub(&run->workers_running, threads->worker_count - index);
            if (worker->is_producer) {
                atomic_fetch_sub(&run->producers_running, producers - index);
            }
            fprintf(stderr, "rill %s: cannot start a thread\n", settings->name);
            break;
        }
        threads->started++;
    }
    bench_watch(settings, threads);
    for (uint32_t index = 0; index < threads->started; index++) {
        pthread_join(threads->workers[index].thread, NULL);
    }
    return threads->started == threads->worker_count;
}

/* ---- the command ------------------------------------------------------------------------- */

static int bench_run_workload(struct bench_settings *settings)
{
    struct bench_threads *threads = calloc(1, sizeof(*threads));
    struct bench_result *result = calloc(1, sizeof(*result));
    rill_admin_t *admin = NULL;
    uint64_t available = 0;
    int exit_code = CLI_EXIT_FAILURE;
    struct sigaction action = { .sa_handler = bench_on_signal };

    if (threads == NULL || result == NULL ||
        (result->series = calloc(BENCH_SERIES_POINTS_MAX, sizeof(result->series[0]))) == NULL) {
        cli_fail(RILL_ERR_NOMEM, "%s", settings->name);
        goto done;
    }
    threads->run.settings = settings;
    if (settings->plot_path != NULL && !bench_gnuplot_available()) {
        fprintf(stderr, "rill %s: --plot needs gnuplot (scripts/deps.sh bench installs it)\n",
                settings->name);
        goto done;
    }
    admin = cli_client_side_admin(&settings->producer, settings->name);
    if (admin == NULL) {
        exit_code = cli_client_exit_code(&settings->producer);
        goto done;
    }
    if (bench_topic_setup(settings, admin, &threads->run, &available) != RILL_OK) {
        goto done;
    }
    rill_admin_destroy(admin);
    admin = NULL;
    if (settings->workload == BENCH_WORKLOAD_CONSUME) {
        uint64_t wanted =
            settings->records_set ? settings->records + settings->warmup_records : available;
        threads->run.consume_target = wanted < available ? wanted : available;
        if (settings->records_set && wanted > available) {
            fprintf(stderr, "rill %s: topic %s holds %" PRIu64 " records, fewer than asked\n",
                    settings->name, settings->topic, available);
        }
    }
    if (!bench_workers_create(settings, threads, &exit_code)) {
        goto done;
    }
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    bool started = bench_threads_run(settings, threads);
    bench_collect(settings, threads, result);
    bool failed = bench_report_failures(settings, threads, result) || !started;
    if (settings->json) {
        bench_report_json(settings, result);
    } else {
        bench_report_table(settings, result);
    }
    if (settings->plot_path != NULL && !bench_report_plot(settings, result)) {
        failed = true;
    }
    if (bench_signalled) {
        fprintf(stderr, "rill %s: interrupted: the figures cover the part that ran\n",
                settings->name);
    }
    exit_code = failed || bench_signalled ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
done:
    rill_admin_destroy(admin);
    if (threads != NULL) {
        bench_workers_destroy(threads);
    }
    if (result != NULL) {
        free(result->series);
    }
    free(result);
    free(threads);
    return exit_code;
}

static int bench_client_main(enum bench_workload workload, const char *name, int argc, char **argv)
{
    struct bench_settings settings = {
        .workload = workload,
        .name = name,
        .topic = "rill-bench",
        .partitions = 1,
        .value_bytes_min = 100,
        .value_bytes_max = 100,
        .producers = 1,
        .consumers = 1,
    };
    const struct cli_command command = {
        .name = name,
        .usage = bench_client_usage,
        .options = bench_client_options,
        .handler = bench_option,
        .context = &settings,
        .positional_names = "",
        .positional_min = 0,
        .positional_max = 0,
    };
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;

    if (!cli_client_init(&settings.producer)) {
        return CLI_EXIT_FAILURE;
    }
    if (!cli_client_init(&settings.consumer)) {
        cli_client_deinit(&settings.producer);
        return CLI_EXIT_FAILURE;
    }
    if (cli_parse(&command, argc, argv, NULL, &positional_count, &exit_code)) {
        const char *problem = bench_check_settings(&settings);
        if (problem != NULL) {
            cli_usage_error(&command, problem);
            exit_code = CLI_EXIT_USAGE;
        } else {
            exit_code = bench_run_workload(&settings);
        }
    }
    cli_config_list_free(&settings.topic_configs);
    cli_client_deinit(&settings.consumer);
    cli_client_deinit(&settings.producer);
    return exit_code;
}

int bench_produce_main(int argc, char **argv)
{
    return bench_client_main(BENCH_WORKLOAD_PRODUCE, "bench produce", argc, argv);
}

int bench_consume_main(int argc, char **argv)
{
    return bench_client_main(BENCH_WORKLOAD_CONSUME, "bench consume", argc, argv);
}

int bench_e2e_main(int argc, char **argv)
{
    return bench_client_main(BENCH_WORKLOAD_E2E, "bench e2e", argc, argv);
}
