/*
 * embedded.c - the public embedded log API of include/rill.h: a partition log in-process, with
 * a private io_uring ring, a batch builder, readers and record views.
 */
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/limits.h"
#include "log/batch.h"
#include "log/partition.h"

struct rill_log {
    struct log_io *io;
    struct log_partition *part;
    struct log_batch_builder builder;
};

struct rill_log_reader {
    rill_log_t *log;
    int64_t offset_next; /* next offset to return */
    uint8_t *buf;        /* batches read from the log */
    size_t buf_bytes;
    size_t batch_position; /* start of the batch being iterated within buf */
    bool iterating;
    struct log_record_iter it;
    struct rill_record_view view;
};

/*
 * Gives the builder buffers as large as the staging buffers, so that a finished batch can be
 * exchanged with an empty staging buffer instead of copied (log_partition_append_exchange).
 */
static rill_err log_builder_presize(struct log_batch_builder *bld, size_t bytes)
{
    uint8_t **buffers[2] = { &bld->buf, &bld->out };
    size_t *capacities[2] = { &bld->buf_capacity_bytes, &bld->out_capacity_bytes };
    for (unsigned i = 0; i < 2; i++) {
        if (*capacities[i] >= bytes) {
            continue;
        }
        uint8_t *grown = realloc(*buffers[i], bytes);
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        *buffers[i] = grown;
        *capacities[i] = bytes;
    }
    return RILL_OK;
}

rill_err rill_log_open(const char *dir, const rill_conf_t *conf, rill_log_t **out_log)
{
    if (dir == NULL || out_log == NULL) {
        return RILL_ERR_INVALID;
    }
    struct log_config cfg;
    log_config_from_conf(&cfg, conf);
    rill_log_t *log = calloc(1, sizeof(*log));
    if (log == NULL) {
        return RILL_ERR_NOMEM;
    }
    rill_err err = log_batch_builder_init(&log->builder, cfg.codec, cfg.batch_bytes_max);
    if (err == RILL_OK) {
        err = log_io_uring_create(RILL_RING_ENTRIES, &log->io);
    }
    if (err == RILL_OK) {
        err = log_partition_open(dir, &cfg, log->io, &log->part);
    }
    if (err == RILL_OK) {
        err = log_builder_presize(&log->builder, log_partition_staging_bytes(log->part));
    }
    if (err != RILL_OK) {
        if (log->io != NULL) {
            log->io->ops->destroy(log->io);
        }
        log_batch_builder_deinit(&log->builder);
        free(log);
        return err;
    }
    *out_log = log;
    return RILL_OK;
}

rill_err rill_log_close(rill_log_t *log)
{
    if (log == NULL) {
        return RILL_OK;
    }
    rill_err err = log_partition_close(log->part);
    log->io->ops->destroy(log->io);
    log_batch_builder_deinit(&log->builder);
    free(log);
    return err;
}

/*
 * Stages a batch and hands it to the disk. With flush=always it waits until the batch is
 * durable. Otherwise it returns once the batch is staged: the write is submitted at once when
 * no other write is in flight, else when that one completes, so building the next batch
 * overlaps the kernel's copy of this one (ext4 serves io_uring buffered writes from a worker
 * thread, and waiting for each one costs more than the copy). It blocks only when both
 * staging buffers are busy.
 */
static rill_err
log_append_and_wait(rill_log_t *log, uint8_t *batch, size_t batch_bytes, int64_t *out_offset_base)
{
    struct log_partition *part = log->part;
    struct log_batch_builder *bld = &log->builder;
    int64_t offset_base = 0;
    rill_err err = log_partition_poll(part, false);
    /* A batch from our builder is handed over by exchanging buffers, without a copy. */
    uint8_t **own = batch == bld->buf ? &bld->buf : batch == bld->out ? &bld->out : NULL;
    size_t *own_capacity = own == &bld->buf ? &bld->buf_capacity_bytes : &bld->out_capacity_bytes;
    while (err == RILL_OK) {
        err = own != NULL ? log_partition_append_exchange(part, own, own_capacity, batch_bytes,
                                                          &offset_base)
                          : log_partition_append(part, batch, batch_bytes, &offset_base);
        if (err != RILL_ERR_AGAIN) {
            break;
        }
        err = log_partition_poll(part, true);
    }
    if (err != RILL_OK) {
        return err;
    }
    if (part->cfg.flush == LOG_FLUSH_ALWAYS) {
        err = log_partition_wait(part, part->offset_next, true);
    } else {
        err = log_partition_commit(part, false);
        err = err == RILL_ERR_AGAIN ? RILL_OK : err; /* submitted on the next completion */
    }
    if (err == RILL_OK && out_offset_base != NULL) {
        *out_offset_base = offset_base;
    }
    return err;
}

/* Reads see only written bytes: first let everything appended reach the OS. */
static rill_err log_settle(rill_log_t *log)
{
    struct log_partition *part = log->part;
    if (part->offset_written == part->offset_next) {
        return part->failed;
    }
    return log_partition_wait(part, part->offset_next, false);
}

rill_err rill_log_append(rill_log_t *log,
                         const rill_record_t *records,
                         size_t record_count,
                         int64_t *out_offset_first)
{
    if (log == NULL || (records == NULL && record_count > 0)) {
        return RILL_ERR_INVALID;
    }
    if (record_count == 0) {
        return RILL_ERR_INVALID;
    }
    log_batch_builder_reset(&log->builder);
    int64_t now_ms = rill_clock_wall_ms();
    for (size_t i = 0; i < record_count; i++) {
        rill_err err = log_batch_builder_add(&log->builder, &records[i], now_ms);
        if (err != RILL_OK) {
            return err;
        }
    }
    uint8_t *batch = NULL;
    size_t batch_bytes = 0;
    rill_err err = log_batch_builder_finish(&log->builder, &batch, &batch_bytes);
    if (err != RILL_OK) {
        return err;
    }
    return log_append_and_wait(log, batch, batch_bytes, out_offset_first);
}

rill_err
rill_log_append_batch(rill_log_t *log, void *batch, size_t batch_bytes, int64_t *out_offset_base)
{
    if (log == NULL || batch == NULL) {
        return RILL_ERR_INVALID;
    }
    return log_append_and_wait(log, batch, batch_bytes, out_offset_base);
}

rill_err rill_log_flush(rill_log_t *log)
{
    if (log == NULL) {
        return RILL_ERR_INVALID;
    }
    return log_partition_wait(log->part, log->part->offset_next, true);
}

int64_t rill_log_start_offset(const rill_log_t *log)
{
    return log->part->offset_start;
}

int64_t rill_log_end_offset(const rill_log_t *log)
{
    return log->part->offset_next;
}

int64_t rill_log_written_offset(const rill_log_t *log)
{
    return log->part->offset_written;
}

int64_t rill_log_durable_offset(const rill_log_t *log)
{
    return log->part->offset_durable;
}

rill_err rill_log_offset_for_time(rill_log_t *log, int64_t timestamp_ms, int64_t *out_offset)
{
    if (log == NULL || out_offset == NULL) {
        return RILL_ERR_INVALID;
    }
    rill_err err = log_settle(log);
    if (err == RILL_OK) {
        err = log_partition_offset_for_time(log->part, timestamp_ms, out_offset);
    }
    if (err == RILL_ERR_END) {
        *out_offset = log->part->offset_written;
    }
    return err;
}

rill_err
rill_log_read(rill_log_t *log, int64_t offset, size_t max_bytes, void **out_buf, size_t *out_bytes)
{
    if (log == NULL || out_buf == NULL || out_bytes == NULL) {
        return RILL_ERR_INVALID;
    }
    uint8_t *buf = NULL;
    rill_err err = log_settle(log);
    if (err == RILL_OK) {
        err = log_partition_read(log->part, offset, max_bytes, &buf, out_bytes);
    }
    if (err == RILL_OK) {
        *out_buf = buf;
    }
    return err;
}

rill_err rill_log_enforce_retention(rill_log_t *log, size_t *out_segments_deleted)
{
    if (log == NULL) {
        return RILL_ERR_INVALID;
    }
    return log_partition_retention(log->part, rill_clock_wall_ms(), out_segments_deleted);
}

rill_err rill_log_truncate(rill_log_t *log, int64_t offset)
{
    if (log == NULL) {
        return RILL_ERR_INVALID;
    }
    return log_partition_truncate(log->part, offset);
}

rill_err rill_log_roll(rill_log_t *log)
{
    if (log == NULL) {
        return RILL_ERR_INVALID;
    }
    rill_err err = log_partition_roll(log->part);
    if (err == RILL_OK) {
        err = log_partition_retention(log->part, rill_clock_wall_ms(), NULL);
    }
    return err;
}

rill_err rill_log_compact(rill_log_t *log, uint64_t *out_records_dropped)
{
    if (log == NULL) {
        return RILL_ERR_INVALID;
    }
    /* Reap a finished roll sync so that the segment it covers counts as durable. */
    rill_err err = log_settle(log);
    if (err == RILL_OK && log->part->roll_sync_in_flight) {
        err = log_partition_poll(log->part, true);
    }
    struct log_compact_stats stats = { 0 };
    if (err == RILL_OK) {
        err = log_partition_compact(log->part, rill_clock_wall_ms(), &stats);
    }
    if (out_records_dropped != NULL) {
        *out_records_dropped = stats.records_dropped;
    }
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Readers and record views                                                                   */
/* ---------------------------------------------------------------------------------------- */

rill_err rill_log_reader_create(rill_log_t *log, int64_t offset, rill_log_reader_t **out_reader)
{
    if (log == NULL || out_reader == NULL) {
        return RILL_ERR_INVALID;
    }
    rill_log_reader_t *reader = calloc(1, sizeof(*reader));
    if (reader == NULL) {
        return RILL_ERR_NOMEM;
    }
    reader->log = log;
    log_record_iter_init(&reader->it);
    reader->offset_next = offset;
    *out_reader = reader;
    return RILL_OK;
}

void rill_log_reader_destroy(rill_log_reader_t *reader)
{
    if (reader == NULL) {
        return;
    }
    log_record_iter_deinit(&reader->it);
    free(reader->buf);
    free(reader);
}

static void reader_drop_buffer(rill_log_reader_t *reader)
{
    free(reader->buf);
    reader->buf = NULL;
    reader->buf_bytes = 0;
    reader->batch_position = 0;
    reader->iterating = false;
}

rill_err rill_log_reader_seek(rill_log_reader_t *reader, int64_t offset)
{
    if (reader == NULL) {
        return RILL_ERR_INVALID;
    }
    reader_drop_buffer(reader);
    reader->offset_next = offset;
    return RILL_OK;
}

/* Reads the next run of batches into the reader; RILL_ERR_END at the end of the log. */
static rill_err reader_fill(rill_log_reader_t *reader)
{
    reader_drop_buffer(reader);
    struct log_partition *part = reader->log->part;
    rill_err err = log_settle(reader->log);
    if (err != RILL_OK) {
        return err;
    }
    if (reader->offset_next < part->offset_start) {
        reader->offset_next = part->offset_start;
    }
    return log_partition_read(part, reader->offset_next, 1u << 20, &reader->buf,
                              &reader->buf_bytes);
}

/* Starts iterating the batch at batch_position, after checking its CRC. */
static rill_err reader_start_batch(rill_log_reader_t *reader)
{
    const uint8_t *batch = reader->buf + reader->batch_position;
    size_t left = reader->buf_bytes - reader->batch_position;
    struct log_batch_header hdr;
    rill_err err = log_batch_header_decode(batch, left, &hdr);
    if (err != RILL_OK || log_batch_total_bytes(&hdr) > left) {
        return RILL_ERR_CORRUPT;
    }
    err = log_batch_validate(batch, log_batch_total_bytes(&hdr), false, &hdr);
    if (err != RILL_OK) {
        return err;
    }
    err = log_record_iter_start(&reader->it, batch, log_batch_total_bytes(&hdr));
    if (err != RILL_OK) {
        return err;
    }
    reader->iterating = true;
    return RILL_OK;
}

rill_err rill_log_reader_next(rill_log_reader_t *reader, const rill_record_view_t **out_rec)
{
    if (reader == NULL || out_rec == NULL) {
        return RILL_ERR_INVALID;
    }
    /* Bounded: each pass consumes a record or a batch, or ends. */
    for (;;) {
        if (reader->iterating) {
            rill_err err = log_record_iter_next(&reader->it, &reader->view.rec);
            if (err == RILL_OK && reader->view.rec.offset < reader->offset_next) {
                continue;
            }
            if (err == RILL_OK) {
                reader->offset_next = reader->view.rec.offset + 1;
                *out_rec = &reader->view;
                return RILL_OK;
            }
            if (err != RILL_ERR_END) {
                return err;
            }
            reader->iterating = false;
            reader->batch_position += log_batch_total_bytes(&reader->it.hdr);
            if (reader->offset_next <= log_batch_offset_last(&reader->it.hdr)) {
                reader->offset_next = log_batch_offset_last(&reader->it.hdr) + 1;
            }
        }
        if (reader->buf == NULL || reader->batch_position >= reader->buf_bytes) {
            rill_err err = reader_fill(reader);
            if (err != RILL_OK) {
                return err;
            }
        }
        rill_err err = reader_start_batch(reader);
        if (err != RILL_OK) {
            return err;
        }
    }
}

int64_t rill_record_offset(const rill_record_view_t *rec)
{
    return rec->rec.offset;
}

int64_t rill_record_timestamp(const rill_record_view_t *rec)
{
    return rec->rec.timestamp;
}

const void *rill_record_key(const rill_record_view_t *rec, size_t *out_bytes)
{
    bool null_key = rec->rec.key_bytes < 0;
    if (out_bytes != NULL) {
        *out_bytes = null_key ? 0 : (size_t)rec->rec.key_bytes;
    }
    return null_key ? NULL : (rec->rec.key != NULL ? (const void *)rec->rec.key : "");
}

const void *rill_record_value(const rill_record_view_t *rec, size_t *out_bytes)
{
    bool null_value = rec->rec.value_bytes < 0;
    if (out_bytes != NULL) {
        *out_bytes = null_value ? 0 : (size_t)rec->rec.value_bytes;
    }
    return null_value ? NULL : (rec->rec.value != NULL ? (const void *)rec->rec.value : "");
}

size_t rill_record_header_count(const rill_record_view_t *rec)
{
    return rec->rec.header_count < 0 ? 0 : (size_t)rec->rec.header_count;
}

rill_err rill_record_header(const rill_record_view_t *rec,
                            size_t index,
                            const char **out_name,
                            size_t *out_name_bytes,
                            const void **out_value,
                            size_t *out_value_bytes)
{
    if (rec == NULL || index >= rill_record_header_count(rec)) {
        return RILL_ERR_INVALID;
    }
    const uint8_t *name = NULL, *value = NULL;
    int32_t name_bytes = 0, value_bytes = 0;
    rill_err err =
        log_record_header(&rec->rec, (int32_t)index, &name, &name_bytes, &value, &value_bytes);
    if (err != RILL_OK) {
        return err;
    }
    if (out_name != NULL) {
        *out_name = name_bytes > 0 ? (const char *)name : "";
    }
    if (out_name_bytes != NULL) {
        *out_name_bytes = name_bytes < 0 ? 0 : (size_t)name_bytes;
    }
    if (out_value != NULL) {
        *out_value = value_bytes < 0 ? NULL : (value != NULL ? (const void *)value : "");
    }
    if (out_value_bytes != NULL) {
        *out_value_bytes = value_bytes < 0 ? 0 : (size_t)value_bytes;
    }
    return RILL_OK;
}
