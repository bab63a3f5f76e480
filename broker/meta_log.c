/*
 * meta_log.c - the durable side of the metadata: a partition log in <data_dir>/__meta.
 *
 * Every metadata record is one batch holding one record (key: the type byte, value: the
 * msgpack body; meta_record.c has the layouts), so record i sits at offset i. The log runs
 * with flush=always and without retention: it is the only copy of the metadata, and an append
 * returns only once its record is on stable storage. The storage engine's recovery handles
 * torn tails (cut back to the last whole batch) and refuses damage below the checkpoint.
 *
 * Open replays every record from offset 0 into an empty state through meta_apply. The walk is
 * bounded by the log's end offset and each step moves at least one offset forward. A record
 * that does not decode or apply means the metadata cannot be trusted: the open fails with
 * RILL_ERR_CORRUPT instead of starting with a partial view.
 */
#include "broker/meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/diag.h"
#include "common/err.h"

/* Bytes asked of one read during replay; a larger batch is still read whole. */
#define META_REPLAY_READ_BYTES (1u << 20)

/* Submission slots of the private ring: one write and its sync at a time. */
#define META_RING_ENTRIES 8u

_Static_assert(META_RECORD_BYTES_MAX + 1024 < RILL_BATCH_BYTES_DEFAULT, "a record fits a batch");

/* Decodes and applies the one record of a whole, CRC-checked batch. */
static rill_err replay_record(struct meta_state *state,
                              struct log_record_iter *it,
                              const uint8_t *batch,
                              size_t batch_bytes)
{
    struct log_record record;
    if (log_record_iter_start(it, batch, batch_bytes) != RILL_OK ||
        log_record_iter_next(it, &record) != RILL_OK || record.key_bytes != 1 ||
        record.value_bytes < 0) {
        return RILL_ERR_CORRUPT;
    }
    struct meta_record rec;
    rill_err err =
        meta_record_decode(record.key[0], record.value, (size_t)record.value_bytes, &rec);
    if (err != RILL_OK) {
        return err;
    }
    err = meta_apply(state, &rec);
    meta_record_release(&rec);
    return err == RILL_OK || err == RILL_ERR_NOMEM ? err : RILL_ERR_CORRUPT;
}

/* Replays the whole batches in buf, which start at *offset; advances *offset past them. */
static rill_err replay_batches(struct meta_state *state,
                               struct log_record_iter *it,
                               const uint8_t *buf,
                               size_t bytes,
                               int64_t *offset)
{
    size_t position = 0;
    while (position < bytes) {
        struct log_batch_header hdr;
        if (log_batch_header_decode(buf + position, bytes - position, &hdr) != RILL_OK ||
            log_batch_total_bytes(&hdr) > bytes - position) {
            return RILL_ERR_CORRUPT;
        }
        size_t batch_bytes = log_batch_total_bytes(&hdr);
        if (log_batch_validate(buf + position, batch_bytes, false, &hdr) != RILL_OK ||
            hdr.offset_base != *offset || hdr.record_count != 1 || hdr.last_offset_delta != 0) {
            return RILL_ERR_CORRUPT;
        }
        rill_err err = replay_record(state, it, buf + position, batch_bytes);
        if (err != RILL_OK) {
            DIAG_ERROR("meta", "metadata record at offset=%lld: %s", (long long)*offset,
                       rill_err_str(err));
            return err;
        }
        *offset += 1;
        position += batch_bytes;
    }
    return RILL_OK;
}

static rill_err replay(struct log_partition *part, struct meta_state *state)
{
    /* Retention is off: a log that starts past 0 has lost records. */
    if (part->offset_start != 0) {
        return RILL_ERR_CORRUPT;
    }
    struct log_record_iter it;
    log_record_iter_init(&it);
    rill_err err = RILL_OK;
    int64_t offset = 0;
    while (err == RILL_OK && offset < part->offset_written) {
        uint8_t *buf = NULL;
        size_t bytes = 0;
        err = log_partition_read(part, offset, META_REPLAY_READ_BYTES, &buf, &bytes);
        if (err == RILL_OK) {
            int64_t offset_before = offset;
            err = replay_batches(state, &it, buf, bytes, &offset);
            free(buf);
            if (err == RILL_OK && offset == offset_before) {
                err = RILL_ERR_CORRUPT;
            }
        } else if (err != RILL_ERR_NOMEM && err != RILL_ERR_IO) {
            err = RILL_ERR_CORRUPT;
        }
    }
    log_record_iter_deinit(&it);
    return err;
}

static rill_err meta_log_start(struct meta_log *log, const char *data_dir)
{
    char path[RILL_PATH_BYTES_MAX];
    int path_bytes = snprintf(path, sizeof(path), "%s/%s", data_dir, META_LOG_DIR);
    if (path_bytes < 0 || (size_t)path_bytes >= sizeof(path)) {
        return RILL_ERR_TOO_LARGE;
    }
    if (mkdir(data_dir, 0755) != 0 && errno != EEXIST) {
        return rill_err_from_errno(errno);
    }
    struct log_config cfg;
    log_config_from_conf(&cfg, NULL);
    cfg.flush = LOG_FLUSH_ALWAYS;
    cfg.preallocate_bytes = 0; /* a few small records a day: zeros ahead would only cost space */
    cfg.retention_bytes = -1;
    cfg.retention_ms = -1;
    cfg.batch_bytes_max = RILL_BATCH_BYTES_DEFAULT;
    cfg.codec = LOG_CODEC_NONE;
    rill_err err = log_batch_builder_init(&log->bld, LOG_CODEC_NONE, RILL_BATCH_BYTES_DEFAULT);
    if (err != RILL_OK) {
        return err;
    }
    return log_partition_open(path, &cfg, log->io, &log->part);
}

rill_err meta_log_open(const char *data_dir,
                       struct log_io *io,
                       struct meta_log **out_log,
                       struct meta_state *out_state)
{
    struct meta_state state;
    meta_state_init(&state);
    struct meta_log *log = calloc(1, sizeof(*log));
    if (log == NULL) {
        return RILL_ERR_NOMEM;
    }
    rill_err err = RILL_OK;
    log->io = io;
    if (io == NULL) {
        err = log_io_uring_create(META_RING_ENTRIES, &log->io);
        log->io_owned = err == RILL_OK;
    }
    err = err == RILL_OK ? meta_log_start(log, data_dir) : err;
    err = err == RILL_OK ? replay(log->part, &state) : err;
    if (err != RILL_OK) {
        DIAG_ERROR("meta", "cannot open the metadata log in %s: %s", data_dir, rill_err_str(err));
        meta_state_deinit(&state);
        (void)meta_log_close(log);
        return err;
    }
    /* Ids of the last block may have been handed out before the restart: skip the rest. */
    state.producer_id_next = state.producer_id_block_end;
    *out_log = log;
    *out_state = state;
    return RILL_OK;
}

rill_err meta_log_close(struct meta_log *log)
{
    if (log == NULL) {
        return RILL_OK;
    }
    rill_err err = log->part != NULL ? log_partition_close(log->part) : RILL_OK;
    if (log->io_owned) {
        log->io->ops->destroy(log->io);
    }
    log_batch_builder_deinit(&log->bld);
    free(log);
    return err;
}

/* Writes one record as one batch and waits until it is durable. */
static rill_err meta_log_write(struct meta_log *log, uint8_t type, uint8_t *body, size_t bytes)
{
    rill_record_t record = {
        .key = &type, .key_bytes = 1, .value = body, .value_bytes = bytes, .timestamp_ms = -1
    };
    log_batch_builder_reset(&log->bld);
    rill_err err = log_batch_builder_add(&log->bld, &record, rill_clock_wall_ms());
    uint8_t *batch = NULL;
    size_t batch_bytes = 0;
    err = err == RILL_OK ? log_batch_builder_finish(&log->bld, &batch, &batch_bytes) : err;
    int64_t offset = -1;
    err = err == RILL_OK ? log_partition_append(log->part, batch, batch_bytes, &offset) : err;
    if (err == RILL_ERR_AGAIN) {
        /* Both staging buffers are busy only if an earlier wait failed half way: drain, retry. */
        err = log_partition_poll(log->part, true);
        err = err == RILL_OK ? log_partition_append(log->part, batch, batch_bytes, &offset) : err;
    }
    /* The wait is for the end of the record: offset_durable counts the records below it. */
    return err == RILL_OK ? log_partition_wait(log->part, offset + 1, true) : err;
}

rill_err meta_log_append(struct meta_log *log,
                         struct meta_state *state,
                         const struct meta_record *rec,
                         char *errstr,
                         size_t errstr_bytes)
{
    if (log->failed != RILL_OK) {
        return log->failed;
    }
    rill_err err = meta_validate(state, rec, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    uint8_t *body = NULL;
    size_t body_bytes = 0;
    err = meta_record_encode(rec, &body, &body_bytes);
    if (err != RILL_OK) {
        return err;
    }
    err = meta_log_write(log, (uint8_t)rec->type, body, body_bytes);
    free(body);
    if (err != RILL_OK) {
        return err;
    }
    err = meta_apply(state, rec);
    if (err != RILL_OK) {
        /* The record is durable but the state misses it: only a reopen (replay) can agree with
         * the log again, so refuse every later change until then. */
        DIAG_ERROR("meta", "a written metadata record did not apply: %s", rill_err_str(err));
        log->failed = err;
    }
    return err;
}

rill_err
meta_log_producer_id_alloc(struct meta_log *log, struct meta_state *state, int64_t *out_producer_id)
{
    RILL_ASSERT(state->producer_id_next <= state->producer_id_block_end);
    if (state->producer_id_next == state->producer_id_block_end) {
        if (state->producer_id_block_end > INT64_MAX - META_PRODUCER_ID_BLOCK) {
            return RILL_ERR_FULL;
        }
        struct meta_record rec = { .type = META_RECORD_PRODUCER_ID_BLOCK,
                                   .producer_id_block_end =
                                       state->producer_id_block_end + META_PRODUCER_ID_BLOCK };
        rill_err err = meta_log_append(log, state, &rec, NULL, 0);
        if (err != RILL_OK) {
            return err;
        }
    }
    RILL_ASSERT(state->producer_id_next < state->producer_id_block_end);
    *out_producer_id = state->producer_id_next++;
    return RILL_OK;
}
