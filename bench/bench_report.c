/*
 * bench_report.c - the reports of `rill bench produce|consume|e2e`: the final table, the
 * --json object and the --plot PNG.
 *
 * The JSON object is parsed by scripts (the comparison harness): its field names are a
 * contract. At least
 *   {"workload": "produce"|"consume"|"e2e", "records": N, "bytes": B, "seconds": S,
 *    "records_per_sec": R, "mb_per_sec": M,
 *    "latency_us": {"p50": x, "p90": x, "p99": x, "p999": x, "max": x} | null}
 * where MB are 10^6 bytes of record values and latency_us is null for consume; e2e adds
 * "ack_latency_us" (the same percentiles up to the delivery report). The settings of the run
 * follow. The plot is drawn by gnuplot fed through a pipe with the per-second
 * series inline, so no temporary file is left behind.
 */
#include "bench/bench_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const bench_workload_names[] = {
    [BENCH_WORKLOAD_PRODUCE] = "produce",
    [BENCH_WORKLOAD_CONSUME] = "consume",
    [BENCH_WORKLOAD_E2E] = "e2e",
};

/* The percentiles reported, with their JSON names. */
static const struct {
    double percentile;
    const char *json_name;
    const char *title;
} bench_percentiles[] = {
    { 50, "p50", "p50" },      { 90, "p90", "p90" },  { 99, "p99", "p99" },
    { 99.9, "p999", "p99.9" }, { 100, "max", "max" },
};
#define BENCH_PERCENTILE_COUNT (sizeof(bench_percentiles) / sizeof(bench_percentiles[0]))

static const char *
bench_conf_or(const struct cli_client *client, const char *key, const char *fallback)
{
    const char *value = rill_conf_get(client->conf, key);
    return value != NULL ? value : fallback;
}

static double bench_per_second(double amount, double seconds)
{
    return seconds > 0 ? amount / seconds : 0.0;
}

static void bench_size_text(const struct bench_settings *settings, char *text, size_t text_bytes)
{
    if (settings->value_bytes_min == settings->value_bytes_max) {
        snprintf(text, text_bytes, "%" PRIu32 " B", settings->value_bytes_min);
    } else {
        snprintf(text, text_bytes, "uniform %" PRIu32 "-%" PRIu32 " B", settings->value_bytes_min,
                 settings->value_bytes_max);
    }
}

/* The percentile columns of one table row, in ms. */
static void bench_table_percentiles(const struct bench_hist *hist)
{
    for (size_t index = 0; index < BENCH_PERCENTILE_COUNT; index++) {
        double value_ns = (double)bench_hist_percentile(hist, bench_percentiles[index].percentile);
        printf(" %9.3f", value_ns / 1e6);
    }
}

/* A JSON object of hist's percentiles and mean, in microseconds. */
static void bench_json_percentiles(const struct bench_hist *hist)
{
    for (size_t index = 0; index < BENCH_PERCENTILE_COUNT; index++) {
        double value_ns = (double)bench_hist_percentile(hist, bench_percentiles[index].percentile);
        printf("%s\"%s\": %.3f", index == 0 ? "{" : ", ", bench_percentiles[index].json_name,
               value_ns / 1e3);
    }
    printf(", \"mean\": %.3f}", bench_hist_mean(hist) / 1e3);
}

void bench_report_table(const struct bench_settings *settings, const struct bench_result *result)
{
    char size[64];
    bool producing = settings->workload != BENCH_WORKLOAD_CONSUME;

    bench_size_text(settings, size, sizeof(size));
    printf("rill %s: topic %s (%" PRId32 " partition%s)", settings->name, settings->topic,
           result->partitions, result->partitions == 1 ? "" : "s");
    if (producing) {
        printf(", %" PRIu32 " producer%s, values %s, acks=%s, compression=%s, linger.ms=%s",
               settings->producers, settings->producers == 1 ? "" : "s", size,
               bench_conf_or(&settings->producer, "acks", "all"),
               bench_conf_or(&settings->producer, "compression", "lz4"),
               bench_conf_or(&settings->producer, "linger.ms", "1"));
        if (settings->rate > 0) {
            printf(", rate %.0f/s", settings->rate);
        }
    }
    if (settings->workload != BENCH_WORKLOAD_PRODUCE) {
        printf(", %" PRIu32 " consumer%s", settings->consumers,
               settings->consumers == 1 ? "" : "s");
    }
    printf("\n\n%-10s %12s %14s %10s %14s %10s", "workload", "records", "MB", "seconds",
           "records/s", "MB/s");
    if (result->has_latency) {
        for (size_t index = 0; index < BENCH_PERCENTILE_COUNT; index++) {
            printf(" %9s", bench_percentiles[index].title);
        }
        printf("  (latency in ms)");
    }
    printf("\n%-10s %12" PRIu64 " %14.1f %10.3f %14.0f %10.1f",
           bench_workload_names[settings->workload], result->records, (double)result->bytes / 1e6,
           result->seconds, bench_per_second((double)result->records, result->seconds),
           bench_per_second((double)result->bytes / 1e6, result->seconds));
    if (result->has_latency) {
        bench_table_percentiles(&result->hist);
    }
    printf("\n");
    if (result->has_ack_latency && result->ack_hist.count > 0) {
        /* The produce path's share of the e2e latency: same origin, up to the ack. */
        printf("%-10s %12" PRIu64 " %14s %10s %14s %10s", "acked", result->ack_hist.count, "", "",
               "", "");
        bench_table_percentiles(&result->ack_hist);
        printf("\n");
    }
    if (result->failed > 0) {
        printf("failed deliveries: %" PRIu64 "\n", result->failed);
    }
    fflush(stdout);
}

/* A JSON string; topic names and config values are short and mostly ASCII. */
static void bench_json_string(const char *text)
{
    putchar('"');
    for (const unsigned char *cursor = (const unsigned char *)text; *cursor != '\0'; cursor++) {
        if (*cursor == '"' || *cursor == '\\') {
            printf("\\%c", *cursor);
        } else if (*cursor < 0x20) {
            printf("\\u%04x", *cursor);
        } else {
            putchar(*cursor);
        }
    }
    putchar('"');
}

void bench_report_json(const struct bench_settings *settings, const struct bench_result *result)
{
    printf("{\"workload\": \"%s\", \"records\": %" PRIu64 ", \"bytes\": %" PRIu64
           ", \"seconds\": %.6f, \"records_per_sec\": %.1f, \"mb_per_sec\": %.3f, \"latency_us\": ",
           bench_workload_names[settings->workload], result->records, result->bytes,
           result->seconds, bench_per_second((double)result->records, result->seconds),
           bench_per_second((double)result->bytes / 1e6, result->seconds));
    if (result->has_latency && result->hist.count > 0) {
        bench_json_percentiles(&result->hist);
    } else {
        printf("null");
    }
    if (result->has_ack_latency) {
        printf(", \"ack_latency_us\": ");
        if (result->ack_hist.count > 0) {
            bench_json_percentiles(&result->ack_hist);
        } else {
            printf("null");
        }
    }
    printf(", \"failed\": %" PRIu64 ", \"topic\": ", result->failed);
    bench_json_string(settings->topic);
    printf(", \"partitions\": %" PRId32 ", \"value_bytes_min\": %" PRIu32
           ", \"value_bytes_max\": %" PRIu32,
           result->partitions, settings->value_bytes_min, settings->value_bytes_max);
    if (settings->workload != BENCH_WORKLOAD_CONSUME) {
        printf(", \"producers\": %" PRIu32 ", \"rate\": %.1f, \"acks\": ", settings->producers,
               settings->rate);
        bench_json_string(bench_conf_or(&settings->producer, "acks", "all"));
        printf(", \"compression\": ");
        bench_json_string(bench_conf_or(&settings->producer, "compression", "lz4"));
        printf(", \"linger_ms\": ");
        bench_json_string(bench_conf_or(&settings->producer, "linger.ms", "1"));
        printf(", \"batch_bytes\": ");
        bench_json_string(bench_conf_or(&settings->producer, "batch.bytes", "1048576"));
    }
    if (settings->workload != BENCH_WORKLOAD_PRODUCE) {
        printf(", \"consumers\": %" PRIu32, settings->consumers);
    }
    printf("}\n");
    fflush(stdout);
}

bool bench_gnuplot_available(void)
{
    const char *path = getenv("PATH");
    char candidate[4096];

    while (path != NULL && *path != '\0') {
        const char *colon = strchr(path, ':');
        size_t dir_bytes = colon != NULL ? (size_t)(colon - path) : strlen(path);
        if (dir_bytes > 0 && dir_bytes < sizeof(candidate) - 16) {
            snprintf(candidate, sizeof(candidate), "%.*s/gnuplot", (int)dir_bytes, path);
            if (access(candidate, X_OK) == 0) {
                return true;
            }
        }
        path = colon != NULL ? colon + 1 : NULL;
    }
    return false;
}

static void bench_plot_script(FILE *gnuplot,
                              const struct bench_settings *settings,
                              const struct bench_result *result)
{
    fprintf(gnuplot, "set terminal png size 1000,800\nset output '%s'\n", settings->plot_path);
    fprintf(gnuplot, "$series << EOD\n");
    for (uint32_t index = 0; index < result->series_count; index++) {
        const struct bench_point *point = &result->series[index];
        fprintf(gnuplot, "%" PRIu32 " %" PRIu64 " %.3f %.3f %.3f %.3f\n", index + 1, point->records,
                (double)point->bytes / 1e6, (double)point->p50_ns / 1e6,
                (double)point->p99_ns / 1e6, (double)point->max_ns / 1e6);
    }
    fprintf(gnuplot, "EOD\n");
    fprintf(gnuplot,
            "set multiplot layout %d,1 title 'rill %s, topic %s'\n"
            "set grid\nset xlabel 'seconds since start'\nset key left top\n"
            "set ylabel 'records/s'\nset y2label 'MB/s'\nset ytics nomirror\nset y2tics\n"
            "set yrange [0:*]\nset y2range [0:*]\n"
            "plot $series using 1:2 with linespoints title 'records/s', "
            "$series using 1:3 axes x1y2 with lines title 'MB/s'\n",
            result->has_latency ? 2 : 1, settings->name, settings->topic);
    if (result->has_latency) {
        fprintf(gnuplot,
                "unset y2label\nunset y2tics\nset ytics mirror\nset ylabel 'latency (ms)'\n"
                "set autoscale y\nset logscale y\n"
                "plot $series using 1:($4 > 0 ? $4 : NaN) with linespoints title 'p50', "
                "$series using 1:($5 > 0 ? $5 : NaN) with linespoints title 'p99', "
                "$series using 1:($6 > 0 ? $6 : NaN) with lines title 'max'\n");
    }
    fprintf(gnuplot, "unset multiplot\n");
}

bool bench_report_plot(const struct bench_settings *settings, const struct bench_result *result)
{
    if (result->series_count == 0) {
        fprintf(stderr, "rill %s: the run was shorter than a second: no plot drawn\n",
                settings->name);
        return true;
    }
    FILE *gnuplot = popen("gnuplot", "w");
    if (gnuplot == NULL) {
        fprintf(stderr, "rill %s: cannot run gnuplot\n", settings->name);
        return false;
    }
    bench_plot_script(gnuplot, settings, result);
    int status = pclose(gnuplot);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "rill %s: gnuplot failed to draw %s\n", settings->name,
                settings->plot_path);
        return false;
    }
    return true;
}
