/*
 * bench_worker.c - the producer and consumer threads of `rill bench produce|consume|e2e`.
 *
 * Producer. Sends its share of the records (or until the duration is over) to the topic with
 * RILL_PARTITION_ANY and null keys. Values come from one buffer per thread filled with random
 * bytes at start: the hot loop neither allocates nor formats. Each record carries in its
 * record_opaque the time it counts from: in fixed-rate mode (--rate) the time it was meant to
 * be sent (start + i / rate), so a stall delays every later record and shows up in their
 * latency instead of silently lowering the rate (no coordinated omission); at max rate the
 * time rill_produce was called. 0 marks a warm-up record. Latency = delivery report - that
 * time. In e2e the same time also goes into the first 8 bytes of the value.
 *
 * Consumer. Reads the partitions i, i + consumers, ... from the offsets the main thread chose.
 * consume counts records read; e2e takes latency = receive time - the time in the value (one
 * process, one CLOCK_MONOTONIC, so no clock skew). e2e also keeps, per producer, the latency
 * up to the delivery report (the same time origin): next to the end-to-end figure it tells how
 * much of a tail is the produce path (linger, broker, sync) and how much the fetch path.
 *
 * Every thread appends one point per second to its time series (records, bytes, interval
 * latency percentiles) and publishes its counters through atomics for the progress line.
 */
#include "bench/bench_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "common/assert.h"

_Static_assert(sizeof(uintptr_t) >= sizeof(int64_t), "record_opaque carries a time in ns");

/* rill_poll after this many records at max rate: amortises its cost over a batch. */
#define BENCH_POLL_EVERY_RECORDS 128
/*
 * Reading the clock costs ~25 ns here, as much as the rest of the bench per record, so a time
 * serves several records: at max rate a send time is shared by up to this many consecutive
 * sends (~1 us apart at most), and a delivery time by up to this many reports of one burst
 * served by one rill_poll (the clock is read again at every rill_poll).
 */
#define BENCH_CLOCK_REUSE 8
/*
 * Fixed rate: wait in rill_poll when the next record is due this far away, else sleep, at
 * least BENCH_PACE_NS: spinning for records due every few microseconds would take a core from
 * the broker on a small machine. Records that fell due meanwhile go out in a burst; their
 * latency (counted from their scheduled time) includes this pacing, up to ~0.1 ms.
 */
#define BENCH_WAIT_POLL_NS 2000000LL
#define BENCH_PACE_NS      100000LL
/* Consumer: the wait per rill_consume, and how long without records once every producer
 * has finished means records are lost. */
#define BENCH_CONSUME_WAIT_MS 100
#define BENCH_IDLE_NS         (15 * BENCH_SECOND_NS)
/* After a signal, how long producers still wait for outstanding deliveries. */
#define BENCH_DRAIN_AFTER_STOP_NS (5 * BENCH_SECOND_NS)
#define BENCH_DRAIN_WAIT_MS       250

int64_t bench_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

uint64_t bench_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}

static uint32_t bench_value_bytes(struct bench_worker *worker)
{
    const struct bench_settings *settings = worker->run->settings;
    uint32_t spread = settings->value_bytes_max - settings->value_bytes_min;
    if (spread == 0) {
        return settings->value_bytes_min;
    }
    return settings->value_bytes_min +
           (uint32_t)(bench_random(&worker->random_state) % (spread + 1));
}

static bool bench_stopping(const struct bench_run *run)
{
    return atomic_load_explicit(&run->stop, memory_order_relaxed);
}

static void bench_fail(struct bench_worker *worker, rill_err err, const char *detail)
{
    if (worker->err == RILL_OK) {
        worker->err = err;
        snprintf(worker->errstr, sizeof(worker->errstr), "%s", detail);
    }
    atomic_store(&worker->run->stop, true);
}

/* Measuring starts with the first measured record of any thread. */
static int64_t bench_measure_start(struct bench_run *run, int64_t now_ns)
{
    int64_t expected = atomic_load_explicit(&run->measure_start_ns, memory_order_relaxed);
    if (expected != 0) {
        return expected; /* the common case: no locked instruction per record */
    }
    if (atomic_compare_exchange_strong(&run->measure_start_ns, &expected, now_ns)) {
        return now_ns;
    }
    return expected;
}

static void bench_record_done(struct bench_worker *worker,
                              int64_t latency_ns,
                              size_t value_bytes,
                              int64_t now_ns)
{
    if (latency_ns >= 0) {
        bench_hist_record(&worker->hist, (uint64_t)latency_ns);
        bench_hist_record(&worker->interval, (uint64_t)latency_ns);
    }
    worker->measured++;
    worker->measured_bytes += value_bytes;
    worker->last_ns = now_ns;
}

void bench_worker_tick(struct bench_worker *worker, int64_t now_ns)
{
    atomic_store_explicit(&worker->progress_records, worker->measured, memory_order_relaxed);
    atomic_store_explicit(&worker->progress_bytes, worker->measured_bytes, memory_order_relaxed);
    while (now_ns >= worker->point_next_ns) {
        if (worker->series_count < BENCH_SERIES_POINTS_MAX) {
            worker->series[worker->series_count++] = (struct bench_point){
                .records = worker->measured - worker->point_records,
                .bytes = worker->measured_bytes - worker->point_bytes,
                .p50_ns = bench_hist_percentile(&worker->interval, 50),
                .p99_ns = bench_hist_percentile(&worker->interval, 99),
                .max_ns = worker->interval.max,
            };
        }
        worker->point_records = worker->measured;
        worker->point_bytes = worker->measured_bytes;
        if (worker->interval.count > 0) {
            bench_hist_reset(&worker->interval);
        }
        worker->point_next_ns += BENCH_SECOND_NS;
    }
}

/* ---- producer ---------------------------------------------------------------------------- */

void bench_on_delivery(const rill_delivery_report_t *report, void *opaque)
{
    struct bench_worker *worker = opaque;
    int64_t sent_ns = (int64_t)(uintptr_t)report->record_opaque;

    if (report->err != RILL_OK) {
        if (worker->failed++ == 0) {
            snprintf(worker->errstr, sizeof(worker->errstr), "delivery failed: %s",
                     rill_err_str(report->err));
        }
        return;
    }
    bool e2e = worker->run->settings->workload == BENCH_WORKLOAD_E2E;
    if (e2e) {
        atomic_fetch_add_explicit(&worker->run->delivered_total, 1, memory_order_relaxed);
    }
    if (sent_ns == 0) {
        return; /* warm-up */
    }
    if (worker->report_now_left == 0) {
        worker->report_now_ns = bench_now_ns();
        worker->report_now_left = BENCH_CLOCK_REUSE;
    }
    worker->report_now_left--;
    int64_t now_ns = worker->report_now_ns;
    if (e2e) {
        /* e2e counts records at the consumers; here only the produce path's share. */
        if (now_ns >= sent_ns) {
            bench_hist_record(&worker->ack_hist, (uint64_t)(now_ns - sent_ns));
        }
        return;
    }
    bench_record_done(worker, now_ns - sent_ns, report->value_bytes, now_ns);
}

/* rill_poll, with delivery reports timed afresh: each call serves at most one burst. */
static void bench_poll(struct bench_worker *worker, int timeout_ms)
{
    worker->report_now_left = 0;
    (void)rill_poll(worker->producer, timeout_ms);
}

/* Fixed rate: waits for the next record's time, serving the producer meanwhile. */
static void bench_wait_until(struct bench_worker *worker, int64_t gap_ns)
{
    if (gap_ns >= BENCH_WAIT_POLL_NS) {
        bench_poll(worker, (int)(gap_ns / 1000000) - 1);
        return;
    }
    bench_poll(worker, 0);
    struct timespec pause = { .tv_sec = 0,
                              .tv_nsec = gap_ns > BENCH_PACE_NS ? gap_ns : BENCH_PACE_NS };
    nanosleep(&pause, NULL);
}

/* True when the record about to go at send_ns belongs to the warm-up. */
static bool bench_is_warmup(const struct bench_worker *worker, int64_t send_ns)
{
    const struct bench_settings *settings = worker->run->settings;
    return worker->sent < worker->warmup_share ||
           (settings->warmup_ns > 0 && send_ns < worker->run->start_ns + settings->warmup_ns);
}

/* Sends one record timed from send_ns. False when the thread must stop sending. */
static bool bench_send(struct bench_worker *worker, rill_record_t *record, int64_t send_ns)
{
    const struct bench_settings *settings = worker->run->settings;
    bool warmup = bench_is_warmup(worker, send_ns);
    uint64_t stamp = warmup ? 0 : (uint64_t)send_ns;

    if (!warmup && settings->duration_ns > 0 &&
        send_ns - bench_measure_start(worker->run, send_ns) >= settings->duration_ns) {
        return false;
    }
    if (!warmup && settings->warmup_records + (uint64_t)settings->warmup_ns > 0) {
        (void)bench_measure_start(worker->run, send_ns);
    }
    record->value_bytes = bench_value_bytes(worker);
    if (settings->workload == BENCH_WORKLOAD_E2E) {
        memcpy(worker->value, &stamp, sizeof(stamp));
    }
    for (;;) {
        rill_err err = rill_produce(worker->producer, settings->topic, RILL_PARTITION_ANY, record,
                                    (void *)(uintptr_t)stamp);
        if (err == RILL_OK) {
            worker->sent++;
            return true;
        }
        if (err != RILL_ERR_FULL) {
            bench_fail(worker, err, "");
            return false;
        }
        if (bench_stopping(worker->run)) {
            return false;
        }
        bench_poll(worker, 1); /* the queue drains as deliveries come back */
        if (!warmup && settings->rate == 0) {
            stamp = (uint64_t)bench_now_ns(); /* at max rate latency counts from the enqueue */
            if (settings->workload == BENCH_WORKLOAD_E2E) {
                memcpy(worker->value, &stamp, sizeof(stamp));
            }
        }
    }
}

/* Waits for the outstanding deliveries; after a stop request only for a while. */
static void bench_drain(struct bench_worker *worker)
{
    int64_t stop_seen_ns = 0;
    while (rill_producer_outstanding(worker->producer) > 0) {
        int64_t now_ns = bench_now_ns();
        if (bench_stopping(worker->run)) {
            if (stop_seen_ns == 0) {
                stop_seen_ns = now_ns;
            } else if (now_ns - stop_seen_ns > BENCH_DRAIN_AFTER_STOP_NS) {
                return;
            }
        }
        bench_poll(worker, BENCH_DRAIN_WAIT_MS);
        bench_worker_tick(worker, bench_now_ns());
    }
}

void *bench_producer_thread(void *arg)
{
    struct bench_worker *worker = arg;
    struct bench_run *run = worker->run;
    const struct bench_settings *settings = run->settings;
    int64_t interval_ns =
        settings->rate > 0 ? (int64_t)(1e9 * settings->producers / settings->rate) : 0;
    int64_t next_ns = run->start_ns;
    uint32_t since_poll = 0;
    rill_record_t record = { .value = worker->value, .timestamp_ms = -1 };

    RILL_ASSERT(worker->producer != NULL);
    (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0); /* sleeps end within ~1 us, not 50 */
    int64_t now_ns = 0;
    uint32_t now_left = 0;

    while (!bench_stopping(run) && (worker->share == 0 || worker->sent < worker->share)) {
        if (now_left == 0 || (interval_ns > 0 && next_ns > now_ns)) {
            now_ns = bench_now_ns();
            now_left = BENCH_CLOCK_REUSE;
        }
        now_left--;
        int64_t send_ns = now_ns;
        if (interval_ns > 0) {
            if (next_ns > now_ns) {
                bench_wait_until(worker, next_ns - now_ns);
                now_left = 0;
                continue;
            }
            send_ns = next_ns;
        }
        if (!bench_send(worker, &record, send_ns)) {
            break;
        }
        next_ns += interval_ns;
        if (++since_poll >= BENCH_POLL_EVERY_RECORDS) {
            since_poll = 0;
            bench_poll(worker, 0);
            bench_worker_tick(worker, now_ns);
            now_left = 0;
        }
    }
    bench_drain(worker);
    bench_worker_tick(worker, bench_now_ns());
    atomic_fetch_sub(&run->producers_running, 1);
    return NULL;
}

/* ---- consumer ---------------------------------------------------------------------------- */

/* True when the consumer threads have read everything they are going to. */
static bool bench_consume_done(struct bench_run *run, int64_t now_ns)
{
    const struct bench_settings *settings = run->settings;
    uint64_t consumed = atomic_load(&run->consumed_total);

    if (settings->workload == BENCH_WORKLOAD_E2E) {
        return atomic_load(&run->producers_running) == 0 &&
               consumed >= atomic_load(&run->delivered_total);
    }
    if (consumed >= run->consume_target) {
        return true;
    }
    int64_t start_ns = atomic_load(&run->measure_start_ns);
    return settings->duration_ns > 0 && start_ns > 0 && now_ns - start_ns >= settings->duration_ns;
}

/* Counts one record read at now_ns; false when it was one too many (the target is reached). */
static bool
bench_consumed(struct bench_worker *worker, const rill_record_view_t *rec, int64_t now_ns)
{
    struct bench_run *run = worker->run;
    const struct bench_settings *settings = run->settings;
    size_t value_bytes = 0;
    const uint8_t *value = rill_record_value(rec, &value_bytes);
    uint64_t number = atomic_fetch_add(&run->consumed_total, 1);

    if (settings->workload == BENCH_WORKLOAD_E2E) {
        uint64_t stamp = 0;
        if (value != NULL && value_bytes >= sizeof(stamp)) {
            memcpy(&stamp, value, sizeof(stamp));
        }
        if (stamp != 0) {
            bench_record_done(worker, now_ns - (int64_t)stamp, value_bytes, now_ns);
        }
        return true;
    }
    if (number >= run->consume_target) {
        return false;
    }
    if (number < settings->warmup_records ||
        (settings->warmup_ns > 0 && now_ns < run->start_ns + settings->warmup_ns)) {
        return true;
    }
    (void)bench_measure_start(run, now_ns);
    bench_record_done(worker, -1, value_bytes, now_ns);
    return true;
}

static bool bench_assign(struct bench_worker *worker)
{
    struct bench_run *run = worker->run;
    for (int32_t partition = (int32_t)worker->index; partition < run->partitions;
         partition += (int32_t)run->settings->consumers) {
        rill_err err = rill_consumer_assign(worker->consumer, run->settings->topic, partition,
                                            run->start_offsets[partition]);
        if (err != RILL_OK) {
            bench_fail(worker, err, "");
            return false;
        }
    }
    return (int32_t)worker->index < run->partitions;
}

void *bench_consumer_thread(void *arg)
{
    struct bench_worker *worker = arg;
    struct bench_run *run = worker->run;
    int64_t last_record_ns = bench_now_ns();
    uint32_t since_tick = 0;

    RILL_ASSERT(worker->consumer != NULL);
    if (!bench_assign(worker)) {
        return NULL;
    }
    int64_t now_ns = last_record_ns;

    while (!bench_stopping(run)) {
        const rill_message_t *message = NULL;
        if (bench_consume_done(run, now_ns)) {
            break;
        }
        rill_err err = rill_consume(worker->consumer, BENCH_CONSUME_WAIT_MS, &message);
        now_ns = bench_now_ns();
        if (err == RILL_ERR_TIMEOUT || (err == RILL_OK && message->err == RILL_ERR_END)) {
            bench_worker_tick(worker, now_ns);
            bool producing = atomic_load(&run->producers_running) > 0;
            if (!producing && now_ns - last_record_ns > BENCH_IDLE_NS) {
                bench_fail(worker, RILL_ERR_TIMEOUT, "no record arrived for 15 s");
            }
            continue;
        }
        if (err != RILL_OK || message->err != RILL_OK) {
            bench_fail(worker, err != RILL_OK ? err : message->err, "");
            break;
        }
        last_record_ns = now_ns;
        if (!bench_consumed(worker, message->record, now_ns)) {
            break;
        }
        if (++since_tick >= BENCH_POLL_EVERY_RECORDS) {
            since_tick = 0;
            bench_worker_tick(worker, now_ns);
        }
    }
    bench_worker_tick(worker, bench_now_ns());
    return NULL;
}
