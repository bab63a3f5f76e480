/*
 * bench_log.c - `rill bench log`: append and read throughput of the embedded partition log,
 * measured side by side with plain write() calls to a file in the same directory.
 *
 * For each record size and flush policy, one run:
 *   1. appends --bytes of record values through rill_log_append in batches of about 64 KiB
 *      (compression none, flush per the policy), timed;
 *   2. reads everything back with rill_log_read (1 MiB per call) from the page cache, timed;
 *   3. closes the log (untimed: the final flush is not part of the steady state);
 *   4. writes the same bytes with write() calls of the same batch size to a plain file, syncing
 *      as the policy would (always: fdatasync after each write; interval:MS: fdatasync once MS
 *      have elapsed; os: never), timed, then syncs it untimed so that its write-back does not
 *      slow the next run.
 * Throughput counts record value bytes only (10^6 bytes per MB), so rill's per-record framing
 * is overhead it has to win back. Files are removed after each run, the work directory at the
 * end. The CLI's option parser (tools/cli.h) is shared; the log is used only through rill.h.
 */
#include "bench/bench_log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rill.h"
#include "tools/cli.h"

static const char bench_log_usage[] =
    "usage: rill bench log [options]\n"
    "\n"
    "Appends --bytes of records to a fresh log for each record size and flush policy, reads\n"
    "them back, and writes the same bytes with plain write() calls for comparison. Prints\n"
    "rill and raw throughput, their ratio, and read throughput, next to the goals.\n"
    "\n"
    "Options:\n"
    "  --dir DIR          where to create the work directory (default $TMPDIR or /tmp)\n"
    "  --bytes N          record value bytes per run; suffixes k, m, g (default 256m)\n"
    "  --sizes LIST       record value sizes in bytes, comma separated (default 100,1024)\n"
    "  --policies LIST    flush policies, comma separated (default os,interval:5,always)\n"
    "  --repeat N         alternate rill and raw runs N times, report medians (default 3)\n"
    "  --json             print a JSON array of results instead of a table\n"
    "  -h, --help         show this help\n";

#define BENCH_LIST_MAX           16
#define BENCH_REPEAT_MAX         15
#define BENCH_BATCH_BYTES_TARGET (64 * 1024)
#define BENCH_RECORD_BYTES_MAX   (512 * 1024) /* one record per batch stays below max.batch.bytes */
#define BENCH_READ_BYTES_MAX     (1024 * 1024)
#define BENCH_POLICY_BYTES_MAX   64
#define BENCH_PATH_BYTES_MAX     4096
/* Room left in a path for the names made inside the work directory ("/raw", "/log"). */
#define BENCH_WORK_DIR_BYTES_MAX (BENCH_PATH_BYTES_MAX - 16)
#define BENCH_BYTES_DEFAULT      (256ull * 1024 * 1024)
#define BENCH_GOAL_RATIO_OS      0.80
#define BENCH_GOAL_RATIO_ALWAYS  0.70
#define BENCH_GOAL_READ_GB_PER_S 2.0

enum bench_option_index {
    BENCH_DIR,
    BENCH_BYTES,
    BENCH_SIZES,
    BENCH_POLICIES,
    BENCH_JSON,
    BENCH_REPEAT,
};

static const struct cli_option bench_options[] = {
    [BENCH_DIR] = { "dir", 0, true },
    [BENCH_BYTES] = { "bytes", 0, true },
    [BENCH_SIZES] = { "sizes", 0, true },
    [BENCH_POLICIES] = { "policies", 0, true },
    [BENCH_JSON] = { "json", 0, false },
    [BENCH_REPEAT] = { "repeat", 0, true },
    { NULL, 0, false },
};

struct bench_settings {
    const char *dir_parent;
    uint64_t total_bytes;
    size_t record_bytes[BENCH_LIST_MAX];
    size_t record_bytes_count;
    char policies[BENCH_LIST_MAX][BENCH_POLICY_BYTES_MAX];
    size_t policy_count;
    bool json;
    unsigned repeat; /* alternating rill/raw repetitions; medians are reported */
    char problem[256];
};

/* One run: a record size and a flush policy. */
struct bench_result {
    size_t record_bytes;
    const char *policy;
    uint64_t value_bytes; /* record value bytes appended, and written raw */
    uint64_t record_count;
    double rill_seconds;
    double raw_seconds;
    uint64_t read_bytes; /* batch bytes returned by rill_log_read */
    double read_seconds;
};

static double bench_now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static const char *bench_parse_sizes(struct bench_settings *settings, const char *text)
{
    char copy[512];
    char *save = NULL;

    if (strlen(text) >= sizeof(copy)) {
        return "list too long";
    }
    strcpy(copy, text);
    settings->record_bytes_count = 0;
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        uint64_t bytes;
        if (!cli_parse_size(item, &bytes) || bytes < 1 || bytes > BENCH_RECORD_BYTES_MAX) {
            return "expected sizes from 1 to 512k, comma separated";
        }
        if (settings->record_bytes_count == BENCH_LIST_MAX) {
            return "at most 16 sizes";
        }
        settings->record_bytes[settings->record_bytes_count++] = (size_t)bytes;
    }
    return settings->record_bytes_count > 0 ? NULL : "expected at least one size";
}

/* Each policy is validated by the library itself, as the "flush" setting it will be. */
static const char *bench_parse_policies(struct bench_settings *settings, const char *text)
{
    char copy[BENCH_LIST_MAX * BENCH_POLICY_BYTES_MAX];
    char *save = NULL;
    char errstr[128] = "";
    rill_conf_t *conf = rill_conf_create();

    if (conf == NULL || strlen(text) >= sizeof(copy)) {
        rill_conf_destroy(conf);
        return conf == NULL ? "out of memory" : "list too long";
    }
    strcpy(copy, text);
    settings->policy_count = 0;
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (settings->policy_count == BENCH_LIST_MAX || strlen(item) >= BENCH_POLICY_BYTES_MAX ||
            rill_conf_set(conf, "flush", item, errstr, sizeof(errstr)) != RILL_OK) {
            snprintf(settings->problem, sizeof(settings->problem), "bad policy '%s': %s", item,
                     errstr[0] != '\0' ? errstr : "expected always, interval:MS or os");
            rill_conf_destroy(conf);
            return settings->problem;
        }
        strcpy(settings->policies[settings->policy_count++], item);
    }
    rill_conf_destroy(conf);
    return settings->policy_count > 0 ? NULL : "expected at least one policy";
}

static const char *bench_option(int option_index, const char *value, void *context)
{
    struct bench_settings *settings = context;

    switch (option_index) {
    case BENCH_DIR:
        settings->dir_parent = value;
        return NULL;
    case BENCH_BYTES:
        if (!cli_parse_size(value, &settings->total_bytes) || settings->total_bytes == 0) {
            return "expected a byte count such as 64m";
        }
        return NULL;
    case BENCH_SIZES:
        return bench_parse_sizes(settings, value);
    case BENCH_POLICIES:
        return bench_parse_policies(settings, value);
    case BENCH_JSON:
        settings->json = true;
        return NULL;
    case BENCH_REPEAT: {
        char *end = NULL;
        unsigned long repeat = strtoul(value, &end, 10);
        if (*end != '\0' || repeat < 1 || repeat > BENCH_REPEAT_MAX) {
            return "expected a repetition count from 1 to 15";
        }
        settings->repeat = (unsigned)repeat;
        return NULL;
    }
    default:
        return "unhandled option";
    }
}

/* Records per batch for a record size: about 64 KiB of values, at least one record. */
static size_t bench_records_per_batch(size_t record_bytes)
{
    size_t count = BENCH_BATCH_BYTES_TARGET / record_bytes;
    return count > 0 ? count : 1;
}

static uint64_t bench_batch_count(const struct bench_settings *settings, size_t record_bytes)
{
    uint64_t batch_bytes = (uint64_t)bench_records_per_batch(record_bytes) * record_bytes;
    return (settings->total_bytes + batch_bytes - 1) / batch_bytes;
}

static uint64_t bench_read_be(const unsigned char *bytes, size_t byte_count)
{
    uint64_t value = 0;
    for (size_t index = 0; index < byte_count; index++) {
        value = (value << 8) | bytes[index];
    }
    return value;
}

/*
 * The offset after the last whole batch in buf (RecordBatch v2: base offset at 0, length at 8
 * counting the bytes after it, last offset delta at 23), or -1 if buf holds no whole batch.
 */
static int64_t bench_next_offset(const unsigned char *buf, size_t bytes)
{
    const size_t prefix_bytes = 12;
    const size_t header_bytes = 61;
    int64_t next = -1;
    size_t position = 0;

    while (bytes - position >= header_bytes) {
        uint64_t batch_bytes = prefix_bytes + bench_read_be(buf + position + 8, 4);
        if (batch_bytes < header_bytes || batch_bytes > bytes - position) {
            break;
        }
        int64_t base = (int64_t)bench_read_be(buf + position, 8);
        int64_t last_delta = (int64_t)(int32_t)bench_read_be(buf + position + 23, 4);
        next = base + last_delta + 1;
        position += (size_t)batch_bytes;
    }
    return next;
}

/* Reads the whole log back; fills the read fields of result. */
static rill_err bench_read_log(rill_log_t *log, struct bench_result *result)
{
    int64_t offset = rill_log_start_offset(log);
    int64_t end = rill_log_end_offset(log);
    double start = bench_now_seconds();

    result->read_bytes = 0;
    while (offset < end) {
        void *buf = NULL;
        size_t bytes = 0;
        rill_err err = rill_log_read(log, offset, BENCH_READ_BYTES_MAX, &buf, &bytes);
        if (err != RILL_OK) {
            cli_fail(err, "bench log: reading at offset %" PRId64, offset);
            return err;
        }
        int64_t next = bench_next_offset(buf, bytes);
        free(buf);
        if (next <= offset) {
            cli_fail(RILL_ERR_BAD_BATCH,
                     "bench log: the read at offset %" PRId64
                     " returned no whole batch that advances",
                     offset);
            return RILL_ERR_BAD_BATCH;
        }
        result->read_bytes += bytes;
        offset = next;
    }
    result->read_seconds = bench_now_seconds() - start;
    return RILL_OK;
}

/* Appends the run's batches; fills the append fields of result. */
static rill_err bench_append(rill_log_t *log,
                             const struct bench_settings *settings,
                             const void *value,
                             struct bench_result *result)
{
    size_t records_per_batch = bench_records_per_batch(result->record_bytes);
    uint64_t batch_count = bench_batch_count(settings, result->record_bytes);
    rill_record_t *records = calloc(records_per_batch, sizeof(*records));
    rill_err err = RILL_OK;

    if (records == NULL) {
        cli_fail(RILL_ERR_NOMEM, "bench log");
        return RILL_ERR_NOMEM;
    }
    for (size_t index = 0; index < records_per_batch; index++) {
        records[index].value = value;
        records[index].value_bytes = result->record_bytes;
        records[index].timestamp_ms = -1;
    }
    double start = bench_now_seconds();
    for (uint64_t batch = 0; batch < batch_count && err == RILL_OK; batch++) {
        err = rill_log_append(log, records, records_per_batch, NULL);
    }
    result->rill_seconds = bench_now_seconds() - start;
    free(records);
    if (err != RILL_OK) {
        cli_fail(err, "bench log: appending");
        return err;
    }
    result->record_count = batch_count * records_per_batch;
    result->value_bytes = result->record_count * result->record_bytes;
    return RILL_OK;
}

static rill_err bench_run_rill(const char *log_dir,
                               const struct bench_settings *settings,
                               const void *value,
                               struct bench_result *result)
{
    char errstr[128] = "";
    rill_conf_t *conf = rill_conf_create();
    rill_log_t *log = NULL;
    rill_err err = conf == NULL ? RILL_ERR_NOMEM : RILL_OK;

    if (err == RILL_OK) {
        err = rill_conf_set(conf, "flush", result->policy, errstr, sizeof(errstr));
    }
    if (err == RILL_OK) {
        err = rill_conf_set(conf, "compression", "none", errstr, sizeof(errstr));
    }
    if (err == RILL_OK) {
        err = rill_log_open(log_dir, conf, &log);
    }
    rill_conf_destroy(conf);
    if (err != RILL_OK) {
        cli_fail(err, "bench log: opening a log in %s with flush=%s %s", log_dir, result->policy,
                 errstr);
        return err;
    }
    err = bench_append(log, settings, value, result);
    if (err == RILL_OK) {
        err = bench_read_log(log, result);
    }
    rill_err close_err = rill_log_close(log);
    if (err == RILL_OK && close_err != RILL_OK) {
        cli_fail(close_err, "bench log: closing the log");
        err = close_err;
    }
    return err;
}

static bool bench_write_all(int fd, const char *buf, size_t bytes)
{
    while (bytes > 0) {
        ssize_t written = write(fd, buf, bytes);
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written <= 0) {
            return false;
        }
        buf += written;
        bytes -= (size_t)written;
    }
    return true;
}

/* The sync interval of a policy in seconds: 0 for always, -1 for os (never). */
static double bench_sync_interval_seconds(const char *policy)
{
    if (strcmp(policy, "always") == 0) {
        return 0;
    }
    if (strncmp(policy, "interval:", 9) == 0) {
        return strtod(policy + 9, NULL) / 1000.0;
    }
    return -1;
}

/* Writes the same bytes with write() (+ fdatasync per the policy); fills raw_seconds. */
static bool
bench_write_raw(int fd, const char *buf, size_t batch_bytes, struct bench_result *result)
{
    double interval = bench_sync_interval_seconds(result->policy);
    uint64_t batch_count = result->value_bytes / batch_bytes;
    double start = bench_now_seconds();
    double synced = start;

    for (uint64_t batch = 0; batch < batch_count; batch++) {
        if (!bench_write_all(fd, buf, batch_bytes)) {
            return false;
        }
        if (interval >= 0) {
            double now = interval > 0 ? bench_now_seconds() : synced;
            if (now - synced >= interval) {
                if (fdatasync(fd) != 0) {
                    return false;
                }
                synced = now;
            }
        }
    }
    result->raw_seconds = bench_now_seconds() - start;
    return true;
}

static rill_err bench_run_raw(const char *path, const char *value, struct bench_result *result)
{
    size_t batch_bytes = bench_records_per_batch(result->record_bytes) * result->record_bytes;
    char *buf = malloc(batch_bytes);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = buf != NULL && fd >= 0;

    if (ok) {
        for (size_t position = 0; position < batch_bytes; position += result->record_bytes) {
            memcpy(buf + position, value, result->record_bytes);
        }
        ok = bench_write_raw(fd, buf, batch_bytes, result) && fdatasync(fd) == 0;
    }
    if (!ok) {
        cli_fail_message("bench log: writing %s: %s", path, strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    unlink(path);
    free(buf);
    return ok ? RILL_OK : RILL_ERR_IO;
}

static int
bench_remove_entry(const char *path, const struct stat *status, int type, struct FTW *ftw)
{
    (void)status;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void bench_remove_tree(const char *path)
{
    if (nftw(path, bench_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
        cli_fail_message("bench log: removing %s: %s", path, strerror(errno));
    }
}

/*
 * Writes back everything dirty on the file system first, so that each timed phase starts from
 * the same state: otherwise the writeback of one run throttles the next one.
 */
static void bench_settle(const char *work_dir)
{
    int fd = open(work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)syncfs(fd);
        close(fd);
    }
}

static int bench_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bench_median(double *values, unsigned count)
{
    qsort(values, count, sizeof(*values), bench_compare_double);
    return values[count / 2];
}

/* settings->repeat alternating rill and raw runs; result holds the medians. */
static rill_err bench_run(const char *work_dir,
                          const struct bench_settings *settings,
                          const char *value,
                          struct bench_result *result)
{
    char log_dir[BENCH_PATH_BYTES_MAX];
    char raw_path[BENCH_PATH_BYTES_MAX];
    double rill_seconds[BENCH_REPEAT_MAX], raw_seconds[BENCH_REPEAT_MAX];
    double read_seconds[BENCH_REPEAT_MAX];
    unsigned repeat = settings->repeat == 0 ? 3 : settings->repeat;
    rill_err err = RILL_OK;

    snprintf(log_dir, sizeof(log_dir), "%s/log", work_dir);
    snprintf(raw_path, sizeof(raw_path), "%s/raw", work_dir);
    for (unsigned round = 0; round < repeat && err == RILL_OK; round++) {
        if (isatty(STDERR_FILENO)) {
            fprintf(stderr, "\rrill bench log: record %zu bytes, flush %s, round %u/%u ...   ",
                    result->record_bytes, result->policy, round + 1, repeat);
        }
        bench_settle(work_dir);
        err = bench_run_rill(log_dir, settings, value, result);
        bench_remove_tree(log_dir);
        bench_settle(work_dir);
        if (err == RILL_OK) {
            err = bench_run_raw(raw_path, value, result);
        }
        rill_seconds[round] = result->rill_seconds;
        raw_seconds[round] = result->raw_seconds;
        read_seconds[round] = result->read_seconds;
    }
    if (err == RILL_OK) {
        result->rill_seconds = bench_median(rill_seconds, repeat);
        result->raw_seconds = bench_median(raw_seconds, repeat);
        result->read_seconds = bench_median(read_seconds, repeat);
    }
    if (isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r%78s\r", "");
    }
    return err;
}

static double bench_goal_ratio(const char *policy)
{
    if (strcmp(policy, "os") == 0) {
        return BENCH_GOAL_RATIO_OS;
    }
    if (strcmp(policy, "always") == 0) {
        return BENCH_GOAL_RATIO_ALWAYS;
    }
    return -1; /* no goal set for interval policies */
}

static double bench_rate(double amount, double seconds)
{
    return seconds > 0 ? amount / seconds : 0;
}

static void bench_print_table_header(const struct bench_settings *settings, const char *work_dir)
{
    printf("rill bench log: %" PRIu64 " bytes of record values per run, batches of ~64 KiB, "
           "compression none, in %s\n",
           settings->total_bytes, work_dir);
    printf("MB = 10^6 bytes of record values; raw = write() of the same batches to a plain file, "
           "synced like the policy\n\n");
    printf("%8s  %-12s %10s %12s %10s %8s %-11s %10s %-8s\n", "record", "policy", "rill MB/s",
           "records/s", "raw MB/s", "rill/raw", " goal", "read GB/s", " goal");
}

static void bench_print_row(const struct bench_result *result)
{
    double rill_mb = bench_rate((double)result->value_bytes / 1e6, result->rill_seconds);
    double raw_mb = bench_rate((double)result->value_bytes / 1e6, result->raw_seconds);
    double ratio = raw_mb > 0 ? rill_mb / raw_mb : 0;
    double read_gb = bench_rate((double)result->read_bytes / 1e9, result->read_seconds);
    double goal = bench_goal_ratio(result->policy);
    char goal_text[32] = " -";

    if (goal > 0) {
        snprintf(goal_text, sizeof(goal_text), ">=%.2f %s", goal, ratio >= goal ? "ok" : "MISS");
    }
    printf("%8zu  %-12s %10.1f %12.0f %10.1f %8.2f %-11s %10.2f >=%.0f %s\n", result->record_bytes,
           result->policy, rill_mb, bench_rate((double)result->record_count, result->rill_seconds),
           raw_mb, ratio, goal_text, read_gb, BENCH_GOAL_READ_GB_PER_S,
           read_gb >= BENCH_GOAL_READ_GB_PER_S ? "ok" : "MISS");
}

static void bench_print_json(const struct bench_result *result, bool first)
{
    double rill_mb = bench_rate((double)result->value_bytes / 1e6, result->rill_seconds);
    double raw_mb = bench_rate((double)result->value_bytes / 1e6, result->raw_seconds);
    double goal = bench_goal_ratio(result->policy);
    char goal_text[32] = "null";

    if (goal > 0) {
        snprintf(goal_text, sizeof(goal_text), "%.2f", goal);
    }
    printf("%s\n  {\"record_bytes\": %zu, \"policy\": \"%s\", \"value_bytes\": %" PRIu64
           ", \"records\": %" PRIu64 ", \"rill_seconds\": %.6f, \"rill_mb_per_s\": %.1f, "
           "\"rill_records_per_s\": %.0f, \"raw_seconds\": %.6f, \"raw_mb_per_s\": %.1f, "
           "\"ratio\": %.3f, \"ratio_goal\": %s, \"read_bytes\": %" PRIu64
           ", \"read_seconds\": %.6f, \"read_gb_per_s\": %.3f, \"read_goal_gb_per_s\": %.1f}",
           first ? "[" : ",", result->record_bytes, result->policy, result->value_bytes,
           result->record_count, result->rill_seconds, rill_mb,
           bench_rate((double)result->record_count, result->rill_seconds), result->raw_seconds,
           raw_mb, raw_mb > 0 ? rill_mb / raw_mb : 0, goal_text, result->read_bytes,
           result->read_seconds, bench_rate((double)result->read_bytes / 1e9, result->read_seconds),
           BENCH_GOAL_READ_GB_PER_S);
}

/* Every size x policy run, printed as it completes. */
static int bench_run_all(const char *work_dir, const struct bench_settings *settings)
{
    static char value[BENCH_RECORD_BYTES_MAX];
    size_t run_count = 0;

    for (size_t index = 0; index < sizeof(value); index++) {
        value[index] = (char)('a' + (index * 7 + index / 13) % 26); /* text-like, not one byte */
    }
    if (!settings->json) {
        bench_print_table_header(settings, work_dir);
    }
    for (size_t size_index = 0; size_index < settings->record_bytes_count; size_index++) {
        for (size_t policy_index = 0; policy_index < settings->policy_count; policy_index++) {
            struct bench_result result = { .record_bytes = settings->record_bytes[size_index],
                                           .policy = settings->policies[policy_index] };
            if (bench_run(work_dir, settings, value, &result) != RILL_OK) {
                return CLI_EXIT_FAILURE;
            }
            if (settings->json) {
                bench_print_json(&result, run_count == 0);
            } else {
                bench_print_row(&result);
            }
            fflush(stdout);
            run_count++;
        }
    }
    if (settings->json) {
        printf("\n]\n");
    }
    return CLI_EXIT_OK;
}

int bench_log_main(int argc, char **argv)
{
    struct bench_settings settings = { .total_bytes = BENCH_BYTES_DEFAULT };
    const struct cli_command command = {
        .name = "bench log",
        .usage = bench_log_usage,
        .options = bench_options,
        .handler = bench_option,
        .context = &settings,
        .positional_names = "nothing",
        .positional_min = 0,
        .positional_max = 0,
    };
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;
    char work_dir[BENCH_WORK_DIR_BYTES_MAX];

    bench_parse_sizes(&settings, "100,1024");
    bench_parse_policies(&settings, "os,interval:5,always");
    if (!cli_parse(&command, argc, argv, NULL, &positional_count, &exit_code)) {
        return exit_code;
    }
    const char *parent = settings.dir_parent != NULL ? settings.dir_parent : getenv("TMPDIR");
    int work_dir_bytes = snprintf(work_dir, sizeof(work_dir), "%s/rill-bench-XXXXXX",
                                  parent != NULL && parent[0] != '\0' ? parent : "/tmp");
    if (work_dir_bytes < 0 || (size_t)work_dir_bytes >= sizeof(work_dir)) {
        cli_fail_message("bench log: the --dir path is too long");
        return CLI_EXIT_FAILURE;
    }
    if (mkdtemp(work_dir) == NULL) {
        cli_fail_message("bench log: creating a work directory %s: %s", work_dir, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    exit_code = bench_run_all(work_dir, &settings);
    bench_remove_tree(work_dir);
    return exit_code;
}
