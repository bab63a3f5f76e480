/*
 * metrics.h - the broker's counters and their Prometheus text rendering.
 *
 * Ownership. Every broker core owns one struct metrics_core (core->metrics) and is its only
 * writer: counting is a plain add on the core's own thread, no locks, no read-modify-write
 * atomics. Counters are declared _Atomic and written with relaxed loads and stores
 * (metrics_add), which compile to ordinary moves, so that another thread may read them without
 * a data race. Core 0 serves HTTP and renders: metrics_render() takes the list of cores and
 * sums each counter over them with relaxed loads: a sum may mix values taken a few nanoseconds
 * apart, which Prometheus counters tolerate (each is monotonic), and nothing is ever reset, so
 * no value goes backwards. Gauges that belong to a core are mirrored by their core into relaxed
 * atomics that other threads read (rill_connections_open sums core->conn_count_published).
 *
 * Per request: metrics_request_done() is the one hook. Call it exactly once per request, where
 * its response becomes ready (synchronously in dispatch_request() today; later also where a
 * deferred response - produce acks=all, a fetch long poll - completes).
 *
 * Text: struct metrics_text builds the exposition text (format 0.0.4). Other modules add their
 * own lines (per-partition figures) through a render hook on the core: see
 * metrics_core.render_extra and the example at metrics_text_family().
 */
#ifndef RILL_BROKER_METRICS_H
#define RILL_BROKER_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"
#include "log/io.h"
#include "proto/frame.h"

struct broker_core;
struct metrics_text;

/* Latency histogram bounds (seconds): Prometheus-style fixed buckets from 50 us to 10 s. */
#define METRICS_LATENCY_BUCKETS 17u

/* The api label of requests whose api number is not one of enum proto_api (or whose header
 * could not be read): they share the last row. */
#define METRICS_API_UNKNOWN UINT32_MAX
#define METRICS_API_ROWS    ((uint32_t)PROTO_API_COUNT + 1u)

/* Bound of one rendering of /metrics: past it the text is cut and the request fails. */
#define METRICS_TEXT_BYTES_MAX (64u * 1024 * 1024)

typedef _Atomic uint64_t metrics_counter;

struct metrics_api {
    metrics_counter requests;       /* responses made ready (or dropped: acks=0) */
    metrics_counter errors;         /* of them, with a non-zero header error */
    metrics_counter bytes_received; /* request frames, length prefix included */
    metrics_counter bytes_sent;     /* response frames, length prefix included */
    metrics_counter latency_ns_sum; /* frame read to response ready */
    metrics_counter latency_buckets[METRICS_LATENCY_BUCKETS + 1]; /* per bucket, last is +Inf;
                                                                     not cumulative */
};

struct metrics_core {
    int64_t started_ns;                       /* monotonic, for rill_uptime_seconds */
    struct metrics_api api[METRICS_API_ROWS]; /* indexed by enum proto_api; last: unknown */
    metrics_counter connections_accepted;     /* native connections given a slot */
    metrics_counter connections_refused;      /* accepted and closed at once: full/stopping */
    metrics_counter http_requests[6];         /* by status class: index code / 100 (1..5) */
    metrics_counter http_connections_refused; /* HTTP connections past the bound */
    struct log_sync_stats log_sync; /* the core's partition fdatasyncs (core->io->sync_stats) */
    /* Optional: called by metrics_render() after the broker's own families, with the core
     * that renders (core 0), to append more families (per-partition lines). NULL: none. */
    void (*render_extra)(struct broker_core *core, struct metrics_text *text);
};

/* Single-writer increment: only the owning core calls it (see the top of this file). */
static inline void metrics_add(metrics_counter *counter, uint64_t value)
{
    uint64_t old = atomic_load_explicit(counter, memory_order_relaxed);
    atomic_store_explicit(counter, old + value, memory_order_relaxed);
}

static inline uint64_t metrics_get(metrics_counter *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Zeroes metrics and records the start time (monotonic ns). */
void metrics_core_init(struct metrics_core *metrics, int64_t now_ns);

/*
 * Counts one request whose response is ready now. api is the header's api number (any value:
 * unknown ones go to api="unknown"; METRICS_API_UNKNOWN when the header was unreadable); error
 * the response header's error (RILL_OK: success); bytes_in the request frame and bytes_out the
 * response frame, both with their 4-byte length prefix (0 when nothing is sent); start_ns the
 * monotonic time the request frame was complete. Only core's own thread may call it.
 */
void metrics_request_done(struct broker_core *core,
                          uint32_t api,
                          rill_err error,
                          uint64_t bytes_in,
                          uint64_t bytes_out,
                          int64_t start_ns);

/* The label value of an api row: "produce", "fetch", ..., "unknown". Static storage. */
const char *metrics_api_label(uint32_t row);

/* ---------------------------------------------------------------------------------------- */
/* Text building                                                                              */
/* ---------------------------------------------------------------------------------------- */

struct metrics_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not checked: a constant of the caller */
    const char *value; /* any UTF-8: escaped here (backslash, double quote, newline) */
};

struct metrics_text {
    char *data;      /* malloc'd, NUL-terminated when bytes > 0 */
    size_t bytes;    /* used, without the NUL */
    size_t capacity; /* allocated at data */
    size_t limit;    /* bytes may not pass it */
    rill_err err;    /* first failure (RILL_ERR_NOMEM, RILL_ERR_TOO_LARGE); later appends do
                        nothing, so callers check once at the end */
};

void metrics_text_init(struct metrics_text *text, size_t limit);
void metrics_text_deinit(struct metrics_text *text);

/*
 * Starts a family: writes "# HELP name help" and "# TYPE name type". type is "counter",
 * "gauge" or "histogram". A counter's name ends in _total. Every sample of a family must follow
 * its header, contiguously, before the next family starts. For per-partition lines that means
 * one loop over the partitions per family:
 *
 *     metrics_text_family(text, "rill_partition_produced_records_total", "counter",
 *                         "Records appended to the partition.");
 *     for (each partition p of topic t) {
 *         metrics_text_partition(text, "rill_partition_produced_records_total", t->name,
 *                                p->index, p->records_produced);
 *     }
 *     metrics_text_family(text, "rill_partition_end_offset", "gauge", "...");
 *     ...
 */
void metrics_text_family(struct metrics_text *text,
                         const char *name,
                         const char *type,
                         const char *help);

/* Writes one sample "name{l1="v1",...} value": an unsigned, a signed or a floating value.
 * label_count may be 0 (labels then may be NULL). */
void metrics_text_u64(struct metrics_text *text,
                      const char *name,
                      const struct metrics_label *labels,
                      size_t label_count,
                      uint64_t value);
void metrics_text_i64(struct metrics_text *text,
                      const char *name,
                      const struct metrics_label *labels,
                      size_t label_count,
                      int64_t value);
void metrics_text_f64(struct metrics_text *text,
                      const char *name,
                      const struct metrics_label *labels,
                      size_t label_count,
                      double value);

/* Shorthand for per-partition samples: name{topic="topic",partition="partition"} value. */
void metrics_text_partition(struct metrics_text *text,
                            const char *name,
                            const char *topic,
                            int32_t partition,
                            int64_t value);

/* Appends raw text (already in exposition format). */
void metrics_text_raw(struct metrics_text *text, const char *raw, size_t raw_bytes);

/*
 * Renders every metric of the broker: the counters summed over cores[0..core_count), the
 * gauges, then cores[0]'s render_extra hook. Called on cores[0]'s thread. text->err tells
 * whether it is complete.
 */
void metrics_render(struct broker_core *const *cores,
                    unsigned core_count,
                    struct metrics_text *text);

#endif
