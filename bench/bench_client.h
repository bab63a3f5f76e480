/*
 * bench_client.h - `rill bench produce|consume|e2e`: throughput and latency of the client
 * library against a running broker.
 *
 * bench_client.c owns the command line, the topic setup, the progress line and the reports
 * (table, --json, --plot); bench_worker.c owns the producer and consumer threads. Each thread
 * has its own client handle (handles are single-threaded) and its own histograms; the main
 * thread only reads the atomic progress counters while they run and merges the rest after
 * joining them.
 */
#ifndef RILL_BENCH_BENCH_CLIENT_H
#define RILL_BENCH_BENCH_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/bench_hist.h"
#include "rill.h"
#include "tools/cli.h"

/* Entry points; argv[0] is the workload name. Return the exit code (0, 1 or 2). */
int bench_produce_main(int argc, char **argv);
int bench_consume_main(int argc, char **argv);
int bench_e2e_main(int argc, char **argv);

enum bench_workload {
    BENCH_WORKLOAD_PRODUCE,
    BENCH_WORKLOAD_CONSUME,
    BENCH_WORKLOAD_E2E,
};

#define BENCH_THREADS_MAX 32
/* Points of the per-second time series kept per thread (one hour). */
#define BENCH_SERIES_POINTS_MAX 3600
#define BENCH_SECOND_NS         1000000000LL
/* e2e values start with the send time: 8 bytes of CLOCK_MONOTONIC nanoseconds. */
#define BENCH_E2E_STAMP_BYTES 8
#define BENCH_VALUE_BYTES_MAX (16u * 1024 * 1024)

/* What the command line asked for. */
struct bench_settings {
    enum bench_workload workload;
    const char *name;           /* "bench produce": prefixes messages */
    const char *topic;          /* default "rill-bench" */
    int32_t partitions;         /* when the topic is created */
    uint64_t records;           /* measured records to send or read; 0: see duration_ns */
    bool records_set;           /* --records given */
    int64_t duration_ns;        /* > 0: run this long instead of a record count */
    uint32_t value_bytes_min;   /* record value size, uniform in [min, max] */
    uint32_t value_bytes_max;   /* equal to min for a fixed size */
    double rate;                /* records/s over all producers; 0: as fast as possible */
    uint32_t producers;         /* producer threads */
    uint32_t consumers;         /* consumer threads */
    uint64_t warmup_records;    /* records before measuring starts (all threads together) */
    int64_t warmup_ns;          /* or: time before measuring starts */
    bool json;                  /* one JSON object on stdout instead of the table */
    const char *plot_path;      /* PNG to draw with gnuplot, or NULL */
    struct cli_client producer; /* producer settings (and the admin's common keys) */
    struct cli_client consumer; /* consumer settings */
    struct cli_config_list topic_configs; /* --topic-config, applied when creating the topic */
    char problem[256];                    /* usage problem returned by the option handler */
};

/* One second of one thread's work, for the plot. */
struct bench_point {
    uint64_t records; /* completed in this second */
    uint64_t bytes;   /* their value bytes */
    uint64_t p50_ns;  /* latency of those records (0 without latency) */
    uint64_t p99_ns;
    uint64_t max_ns;
};

struct bench_run;

/* One producer or consumer thread and everything it measures. */
struct bench_worker {
    struct bench_run *run;
    uint32_t index;   /* among the threads of its kind */
    bool is_producer; /* else consumer */
    pthread_t thread;
    rill_producer_t *producer; /* owned by this thread while it runs */
    rill_consumer_t *consumer;
    uint8_t *value;                    /* producer: scratch value, value_bytes_max bytes */
    uint64_t random_state;             /* xorshift state for value sizes */
    uint64_t share;                    /* producer: records to send incl. warm-up (0: duration) */
    uint64_t warmup_share;             /* producer: of those, the warm-up records */
    uint64_t sent;                     /* producer: records accepted by rill_produce */
    int64_t report_now_ns;             /* producer: the time given to the next delivery reports */
    uint32_t report_now_left;          /* reports that may still use it (0: read the clock) */
    struct bench_hist hist;            /* latency of measured records, ns */
    struct bench_hist interval;        /* the same since the last series point */
    struct bench_hist ack_hist;        /* e2e producer: scheduled send to delivery report, ns */
    uint64_t measured;                 /* measured records completed (delivered or consumed) */
    uint64_t measured_bytes;           /* their value bytes */
    uint64_t failed;                   /* delivery reports with an error */
    int64_t last_ns;                   /* when the last measured record completed */
    _Atomic uint64_t progress_records; /* measured, published for the progress line */
    _Atomic uint64_t progress_bytes;
    struct bench_point *series; /* BENCH_SERIES_POINTS_MAX entries */
    uint32_t series_count;
    uint64_t point_records; /* measured/measured_bytes at the last point */
    uint64_t point_bytes;
    int64_t point_next_ns; /* when the next point is due */
    rill_err err;          /* why the thread stopped early, RILL_OK if it did not */
    char errstr[256];      /* detail for err */
};

/* Shared by every thread of one run. */
struct bench_run {
    const struct bench_settings *settings;
    int64_t start_ns;                 /* CLOCK_MONOTONIC when the threads were started */
    int32_t partitions;               /* of the topic */
    int64_t *start_offsets;           /* consumers start here, per partition */
    uint64_t consume_target;          /* consume: records to read incl. warm-up */
    _Atomic bool stop;                /* a signal or a failed thread: everybody stops */
    _Atomic int64_t measure_start_ns; /* first measured record; 0 before */
    _Atomic uint32_t producers_running;
    _Atomic uint32_t workers_running; /* producers and consumers */
    _Atomic uint64_t delivered_total; /* e2e: records acknowledged, warm-up included */
    _Atomic uint64_t consumed_total;  /* records claimed by the consumers */
};

/* What one run measured, merged over its threads (bench_report.c prints it). */
struct bench_result {
    uint64_t records;           /* measured records completed */
    uint64_t bytes;             /* their value bytes */
    uint64_t failed;            /* failed deliveries */
    double seconds;             /* from the first measured record to the last completion */
    bool has_latency;           /* produce and e2e */
    struct bench_hist hist;     /* latency, ns */
    bool has_ack_latency;       /* e2e: the producers' share of it, below */
    struct bench_hist ack_hist; /* e2e: scheduled send to delivery report, ns */
    int32_t partitions;         /* of the topic */
    struct bench_point *series; /* one point per second of the run, merged */
    uint32_t series_count;
};

/* The final table (stdout). */
void bench_report_table(const struct bench_settings *settings, const struct bench_result *result);
/* The --json object (stdout). */
void bench_report_json(const struct bench_settings *settings, const struct bench_result *result);
/* Draws the --plot PNG; false after printing why it failed. */
bool bench_report_plot(const struct bench_settings *settings, const struct bench_result *result);
/* True when gnuplot can be run (found on $PATH). */
bool bench_gnuplot_available(void);

int64_t bench_now_ns(void);
/* xorshift64*: the next pseudo-random number of *state (never 0 when started non-zero). */
uint64_t bench_random(uint64_t *state);

/* The producers' delivery callback; opaque is their struct bench_worker. */
void bench_on_delivery(const rill_delivery_report_t *report, void *opaque);

/* Thread bodies (bench_worker.c); arg is a struct bench_worker. */
void *bench_producer_thread(void *arg);
void *bench_consumer_thread(void *arg);

/* Appends the per-second points due by now_ns to the worker's series. */
void bench_worker_tick(struct bench_worker *worker, int64_t now_ns);

#endif
