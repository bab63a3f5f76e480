/*
 * metrics.c - per-core counters (metrics.h explains who writes and who reads them) and the
 * Prometheus text exposition format 0.0.4 they are served in:
 *
 *   # HELP name text        one per family, before its samples
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} number
 *
 * Label values escape backslash, double quote and newline; HELP text backslash and newline.
 * A histogram is the samples name_bucket{le="bound"} (cumulative, ending with le="+Inf"),
 * name_sum and name_count.
 */
#include "broker/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "broker/config.h"
#include "broker/loop.h"

#define METRICS_NS_PER_S 1e9

/* Upper bounds of the latency buckets, in ns and as the le label. */
static const int64_t metrics_bucket_ns[METRICS_LATENCY_BUCKETS] = {
    50000,     100000,     250000,     500000,     1000000,     2500000,
    5000000,   10000000,   25000000,   50000000,   100000000,   250000000,
    500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};
static const char *const metrics_bucket_le[METRICS_LATENCY_BUCKETS + 1] = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",  "0.1",    "0.25",    "0.5",    "1",     "2.5",    "5",     "10",   "+Inf",
};

/* Label values by enum proto_api, then the unknown row. */
static const char *const metrics_api_labels[METRICS_API_ROWS] = {
    [PROTO_API_HANDSHAKE] = "handshake",
    [PROTO_API_METADATA] = "metadata",
    [PROTO_API_CREATE_TOPICS] = "create_topics",
    [PROTO_API_DELETE_TOPICS] = "delete_topics",
    [PROTO_API_DESCRIBE_TOPICS] = "describe_topics",
    [PROTO_API_ALTER_CONFIGS] = "alter_configs",
    [PROTO_API_PRODUCE] = "produce",
    [PROTO_API_FETCH] = "fetch",
    [PROTO_API_LIST_OFFSETS] = "list_offsets",
    [PROTO_API_INIT_PRODUCER_ID] = "init_producer_id",
    [PROTO_API_JOIN_GROUP] = "join_group",
    [PROTO_API_HEARTBEAT] = "heartbeat",
    [PROTO_API_LEAVE_GROUP] = "leave_group",
    [PROTO_API_OFFSET_COMMIT] = "offset_commit",
    [PROTO_API_OFFSET_FETCH] = "offset_fetch",
    [PROTO_API_LIST_GROUPS] = "list_groups",
    [PROTO_API_DESCRIBE_GROUPS] = "describe_groups",
    [PROTO_API_DELETE_GROUPS] = "delete_groups",
    [PROTO_API_RESET_OFFSETS] = "reset_offsets",
    [PROTO_API_COUNT] = "unknown",
};
_Static_assert(PROTO_API_COUNT == 19, "a new api needs its label above");

void metrics_core_init(struct metrics_core *metrics, int64_t now_ns)
{
    memset(metrics, 0, sizeof(*metrics));
    metrics->started_ns = now_ns;
}

const char *metrics_api_label(uint32_t row)
{
    return row < METRICS_API_ROWS ? metrics_api_labels[row] : metrics_api_labels[PROTO_API_COUNT];
}

static uint32_t metrics_bucket_find(int64_t latency_ns)
{
    uint32_t bucket = 0;
    while (bucket < METRICS_LATENCY_BUCKETS && latency_ns > metrics_bucket_ns[bucket]) {
        bucket++;
    }
    return bucket;
}

void metrics_request_done(struct broker_core *core,
                          uint32_t api,
                          rill_err error,
                          uint64_t bytes_in,
                          uint64_t bytes_out,
                          int64_t start_ns)
{
    uint32_t row = api < (uint32_t)PROTO_API_COUNT ? api : (uint32_t)PROTO_API_COUNT;
    struct metrics_api *counters = &core->metrics.api[row];
    int64_t latency_ns = rill_clock_mono_ns() - start_ns;
    if (latency_ns < 0) {
        latency_ns = 0;
    }
    metrics_add(&counters->requests, 1);
    metrics_add(&counters->errors, error != RILL_OK ? 1 : 0);
    metrics_add(&counters->bytes_received, bytes_in);
    metrics_add(&counters->bytes_sent, bytes_out);
    metrics_add(&counters->latency_ns_sum, (uint64_t)latency_ns);
    metrics_add(&counters->latency_buckets[metrics_bucket_find(latency_ns)], 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Text building                                                                              */
/* ---------------------------------------------------------------------------------------- */

void metrics_text_init(struct metrics_text *text, size_t limit)
{
    memset(text, 0, sizeof(*text));
    text->limit = limit;
}

void metrics_text_deinit(struct metrics_text *text)
{
    free(text->data);
    memset(text, 0, sizeof(*text));
}

/* Room for bytes more (and the NUL); false (text->err set) when it cannot be had. */
static bool metrics_text_reserve(struct metrics_text *text, size_t bytes)
{
    if (text->err != RILL_OK) {
        return false;
    }
    if (bytes > text->limit - text->bytes) {
        text->err = RILL_ERR_TOO_LARGE;
        return false;
    }
    size_t needed = text->bytes + bytes + 1;
    if (needed <= text->capacity) {
        return true;
    }
    size_t capacity = text->capacity < 4096 ? 4096 : text->capacity;
    while (capacity < needed) {
        capacity *= 2;
    }
    char *data = realloc(text->data, capacity);
    if (data == NULL) {
        text->err = RILL_ERR_NOMEM;
        return false;
    }
    text->data = data;
    text->capacity = capacity;
    return true;
}

void metrics_text_raw(struct metrics_text *text, const char *raw, size_t raw_bytes)
{
    if (!metrics_text_reserve(text, raw_bytes)) {
        return;
    }
    memcpy(text->data + text->bytes, raw, raw_bytes);
    text->bytes += raw_bytes;
    text->data[text->bytes] = '\0';
}

static void metrics_text_str(struct metrics_text *text, const char *str)
{
    metrics_text_raw(text, str, strlen(str));
}

/* Appends value escaped: backslash and newline always, double quote when quotes is set. */
static void metrics_text_escaped(struct metrics_text *text, const char *value, bool quotes)
{
    const char *run = value;
    for (const char *pos = value;; pos++) {
        const char *escape = NULL;
        if (*pos == '\\') {
            escape = "\\\\";
        } else if (*pos == '\n') {
            escape = "\\n";
        } else if (*pos == '"' && quotes) {
            escape = "\\\"";
        } else if (*pos != '\0') {
            continue;
        }
        metrics_text_raw(text, run, (size_t)(pos - run));
        if (escape == NULL) {
            return;
        }
        metrics_text_str(text, escape);
        run = pos + 1;
    }
}

void metrics_text_family(struct metrics_text *text,
                         const char *name,
                         const char *type,
                         const char *help)
{
    metrics_text_str(text, "# HELP ");
    metrics_text_str(text, name);
    metrics_text_str(text, " ");
    metrics_text_escaped(text, help, false);
    metrics_text_str(text, "\n# TYPE ");
    metrics_text_str(text, name);
    metrics_text_str(text, " ");
    metrics_text_str(text, type);
    metrics_text_str(text, "\n");
}

/* name{labels} and the space before the value. */
static void metrics_text_series(struct metrics_text *text,
                                const char *name,
                                const struct metrics_label *labels,
                                size_t label_count)
{
    metrics_text_str(text, name);
    for (size_t i = 0; i < label_count; i++) {
        metrics_text_str(text, i == 0 ? "{" : ",");
        metrics_text_str(text, labels[i].name);
        metrics_text_str(text, "=\"");
        metrics_text_escaped(text, labels[i].value, true);
        metrics_text_str(text, "\"");
    }
    metrics_text_str(text, label_count > 0 ? "} " : " ");
}

void metrics_text_u64(struct metrics_text *text,
                      const char *name,
                      const struct metrics_label *labels,
                      size_t label_count,
                      uint64_t value)
{
    char number[32];
    snprintf(number, sizeof(number), "%" PRIu64 "\n", value);
    metrics_text_series(text, name, labels, label_count);
    metrics_text_str(text, number);
}

void metrics_text_i64(struct metrics_text *text,
                      const char *name,
                      const struct metrics_label *labels,
                      size_t label_count,
                      int64_t value)
{
    char number[32];
    snprintf(number, sizeof(number), "%" PRId64 "\n", value);
    metrics_text_series(text, name, labels, label_count);
    metrics_text_str(text, number);
}

void metrics_text_f64(struct metrics_text *text,
                      const char *name,
                      const struct metrics_label *labels,
                      size_t label_count,
                      double value)
{
    char number[48];
    if (value != value) {
        snprintf(number, sizeof(number), "NaN\n");
    } else if (value > 1e308 || value < -1e308) {
        snprintf(number, sizeof(number), "%s\n", value > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(number, sizeof(number), "%.17g\n", value);
    }
    metrics_text_series(text, name, labels, label_count);
    metrics_text_str(text, number);
}

void metrics_text_partition(struct metrics_text *text,
                            const char *name,
                            const char *topic,
                            int32_t partition,
                            int64_t value)
{
    char partition_text[16];
    snprintf(partition_text, sizeof(partition_text), "%" PRId32, partition);
    const struct metrics_label labels[] = { { "topic", topic }, { "partition", partition_text } };
    metrics_text_i64(text, name, labels, 2, value);
}

/* ---------------------------------------------------------------------------------------- */
/* Rendering                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* The counter at byte offset field of struct metrics_api (row), summed over the cores. */
static uint64_t
metrics_sum_api(struct broker_core *const *cores, unsigned core_count, uint32_t row, size_t field)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < core_count; i++) {
        sum += metrics_get((metrics_counter *)((char *)&cores[i]->metrics.api[row] + field));
    }
    return sum;
}

/* The counter at byte offset field of struct metrics_core, summed over the cores. */
static uint64_t
metrics_sum_core(struct broker_core *const *cores, unsigned core_count, size_t field)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < core_count; i++) {
        sum += metrics_get((metrics_counter *)((char *)&cores[i]->metrics + field));
    }
    return sum;
}

struct metrics_api_family {
    const char *name;
    const char *help;
    size_t field; /* offset in struct metrics_api */
};

static const struct metrics_api_family metrics_api_families[] = {
    { "rill_api_requests_total", "Requests answered (response ready), by API.",
      offsetof(struct metrics_api, requests) },
    { "rill_api_errors_total", "Requests answered with a non-zero error code, by API.",
      offsetof(struct metrics_api, errors) },
    { "rill_api_received_bytes_total", "Bytes of request frames, length prefix included, by API.",
      offsetof(struct metrics_api, bytes_received) },
    { "rill_api_sent_bytes_total", "Bytes of response frames, length prefix included, by API.",
      offsetof(struct metrics_api, bytes_sent) },
};

static void
metrics_render_api(struct broker_core *const *cores, unsigned core_count, struct metrics_text *text)
{
    for (size_t f = 0; f < sizeof(metrics_api_families) / sizeof(metrics_api_families[0]); f++) {
        const struct metrics_api_family *family = &metrics_api_families[f];
        metrics_text_family(text, family->name, "counter", family->help);
        for (uint32_t row = 0; row < METRICS_API_ROWS; row++) {
            struct metrics_label label = { "api", metrics_api_labels[row] };
            metrics_text_u64(text, family->name, &label, 1,
                             metrics_sum_api(cores, core_count, row, family->field));
        }
    }
    const char *name = "rill_api_latency_seconds";
    metrics_text_family(text, name, "histogram",
                        "Time from a request frame read to its response ready, by API.");
    for (uint32_t row = 0; row < METRICS_API_ROWS; row++) {
        uint64_t cumulative = 0;
        for (uint32_t b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
            cumulative += metrics_sum_api(cores, core_count, row,
                                          offsetof(struct metrics_api, latency_buckets) +
                                              b * sizeof(metrics_counter));
            struct metrics_label labels[] = { { "api", metrics_api_labels[row] },
                                              { "le", metrics_bucket_le[b] } };
            metrics_text_u64(text, "rill_api_latency_seconds_bucket", labels, 2, cumulative);
        }
        struct metrics_label label = { "api", metrics_api_labels[row] };
        uint64_t sum_ns =
            metrics_sum_api(cores, core_count, row, offsetof(struct metrics_api, latency_ns_sum));
        metrics_text_f64(text, "rill_api_latency_seconds_sum", &label, 1,
                         (double)sum_ns / METRICS_NS_PER_S);
        metrics_text_u64(text, "rill_api_latency_seconds_count", &label, 1, cumulative);
    }
}

/* rill_log_sync_seconds: the per-core sync histograms (log/io.h) summed bucket by bucket. */
static void metrics_render_log_sync(struct broker_core *const *cores,
                                    unsigned core_count,
                                    struct metrics_text *text)
{
    const char *name = "rill_log_sync_seconds";
    metrics_text_family(text, name, "histogram",
                        "Partition data fdatasyncs of the storage engine, from submission "
                        "(with the write they follow) to completion.");
    uint64_t cumulative = 0;
    for (uint32_t b = 0; b <= LOG_SYNC_BUCKETS; b++) {
        for (unsigned i = 0; i < core_count; i++) {
            cumulative +=
                atomic_load_explicit(&cores[i]->metrics.log_sync.buckets[b], memory_order_relaxed);
        }
        char le[32];
        if (b < LOG_SYNC_BUCKETS) {
            snprintf(le, sizeof(le), "%g", (double)log_sync_bucket_ns[b] / METRICS_NS_PER_S);
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        struct metrics_label label = { "le", le };
        metrics_text_u64(text, "rill_log_sync_seconds_bucket", &label, 1, cumulative);
    }
    uint64_t sum_ns = 0;
    for (unsigned i = 0; i < core_count; i++) {
        sum_ns += atomic_load_explicit(&cores[i]->metrics.log_sync.ns_sum, memory_order_relaxed);
    }
    metrics_text_f64(text, "rill_log_sync_seconds_sum", NULL, 0, (double)sum_ns / METRICS_NS_PER_S);
    metrics_text_u64(text, "rill_log_sync_seconds_count", NULL, 0, cumulative);
}

static void metrics_render_counter(struct metrics_text *text,
                                   const char *name,
                                   const char *help,
                                   uint64_t value)
{
    metrics_text_family(text, name, "counter", help);
    metrics_text_u64(text, name, NULL, 0, value);
}

static void
metrics_render_gauge(struct metrics_text *text, const char *name, const char *help, double value)
{
    metrics_text_family(text, name, "gauge", help);
    metrics_text_f64(text, name, NULL, 0, value);
}

static void metrics_render_broker(struct broker_core *const *cores,
                                  unsigned core_count,
                                  struct metrics_text *text)
{
    const struct broker_config *cfg = cores[0]->cfg;
    uint64_t open = 0;
    for (unsigned i = 0; i < core_count; i++) {
        open += atomic_load_explicit(&cores[i]->conn_count_published, memory_order_relaxed);
    }
    metrics_render_gauge(text, "rill_connections_open",
                         "Native protocol connections open, closing ones included.", (double)open);
    metrics_render_counter(
        text, "rill_connections_accepted_total", "Native protocol connections accepted and served.",
        metrics_sum_core(cores, core_count, offsetof(struct metrics_core, connections_accepted)));
    metrics_render_counter(
        text, "rill_connections_refused_total",
        "Native protocol connections closed at accept: connections.max reached or stopping.",
        metrics_sum_core(cores, core_count, offsetof(struct metrics_core, connections_refused)));

    const char *name = "rill_http_requests_total";
    metrics_text_family(text, name, "counter", "HTTP requests answered, by status class.");
    static const char *const classes[] = { "", "1xx", "2xx", "3xx", "4xx", "5xx" };
    for (size_t c = 2; c < sizeof(classes) / sizeof(classes[0]); c++) {
        struct metrics_label label = { "code", classes[c] };
        metrics_text_u64(text, name, &label, 1,
                         metrics_sum_core(cores, core_count,
                                          offsetof(struct metrics_core, http_requests) +
                                              c * sizeof(metrics_counter)));
    }
    metrics_render_counter(
        text, "rill_http_connections_refused_total",
        "HTTP connections closed at accept because the HTTP limit was reached.",
        metrics_sum_core(cores, core_count,
                         offsetof(struct metrics_core, http_connections_refused)));

    int64_t uptime_ns = rill_clock_mono_ns() - cores[0]->metrics.started_ns;
    metrics_render_gauge(text, "rill_uptime_seconds", "Seconds since the broker started.",
                         (double)uptime_ns / METRICS_NS_PER_S);
    metrics_render_gauge(text, "rill_cores", "Broker cores (threads with their own ring).",
                         (double)core_count);

    metrics_text_family(text, "rill_build_info", "gauge",
                        "Always 1; the labels describe the build.");
    struct metrics_label build = { "version", RILL_VERSION_STR };
    metrics_text_u64(text, "rill_build_info", &build, 1, 1);

    char broker_id[16];
    snprintf(broker_id, sizeof(broker_id), "%" PRId32, cfg->broker_id);
    metrics_text_family(text, "rill_broker_info", "gauge",
                        "Always 1; the labels identify the broker.");
    struct metrics_label broker[] = { { "broker_id", broker_id },
                                      { "cluster_id", cfg->cluster_id } };
    metrics_text_u64(text, "rill_broker_info", broker, 2, 1);
}

void metrics_render(struct broker_core *const *cores,
                    unsigned core_count,
                    struct metrics_text *text)
{
    RILL_ASSERT(core_count > 0);
    metrics_render_api(cores, core_count, text);
    metrics_render_broker(cores, core_count, text);
    metrics_render_log_sync(cores, core_count, text);
    if (cores[0]->metrics.render_extra != NULL) {
        cores[0]->metrics.render_extra(cores[0], text);
    }
}
