/*
 * checkpoint.c - the recovery checkpoint file of a partition.
 *
 * Layout (48 bytes, big-endian):
 *   0  8  magic "RILLCKP1"
 *   8  4  version (1)
 *  12  4  reserved (0)
 *  16  8  offset_next: every record below it is durable
 *  24  8  base offset of the segment holding the end
 *  32  8  byte position of the end in that segment (a batch boundary)
 *  40  8  XXH3-64 of bytes [0,40)
 * Written to a temporary name, synced, renamed over the old one, and the directory synced, so
 * a crash leaves either the old or the new checkpoint.
 */
#include "log/partition.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"
#include "common/limits.h"

#define LOG_CHECKPOINT_MAGIC   "RILLCKP1"
#define LOG_CHECKPOINT_VERSION 1u

void log_checkpoint_encode(const struct log_checkpoint *ckpt, uint8_t *buf)
{
    memset(buf, 0, LOG_CHECKPOINT_BYTES);
    memcpy(buf, LOG_CHECKPOINT_MAGIC, 8);
    log_put_be32(buf + 8, LOG_CHECKPOINT_VERSION);
    log_put_be64(buf + 16, (uint64_t)ckpt->offset_next);
    log_put_be64(buf + 24, (uint64_t)ckpt->segment_base);
    log_put_be64(buf + 32, ckpt->position);
    log_put_be64(buf + 40, rill_hash64(buf, 40));
}

rill_err log_checkpoint_decode(const uint8_t *buf, size_t buf_bytes, struct log_checkpoint *out)
{
    if (buf_bytes != LOG_CHECKPOINT_BYTES || memcmp(buf, LOG_CHECKPOINT_MAGIC, 8) != 0 ||
        log_be32(buf + 8) != LOG_CHECKPOINT_VERSION) {
        return RILL_ERR_CORRUPT;
    }
    if (log_be64(buf + 40) != rill_hash64(buf, 40)) {
        return RILL_ERR_CRC;
    }
    struct log_checkpoint ckpt = {
        .offset_next = (int64_t)log_be64(buf + 16),
        .segment_base = (int64_t)log_be64(buf + 24),
        .position = log_be64(buf + 32),
    };
    if (ckpt.segment_base < 0 || ckpt.offset_next < ckpt.segment_base ||
        ckpt.position > RILL_SEGMENT_BYTES_MAX) {
        return RILL_ERR_CORRUPT;
    }
    *out = ckpt;
    return RILL_OK;
}

rill_err log_checkpoint_write(struct log_partition *part, const struct log_checkpoint *ckpt)
{
    struct log_io *io = part->io;
    char path[RILL_PATH_BYTES_MAX], temp[RILL_PATH_BYTES_MAX];
    uint8_t buf[LOG_CHECKPOINT_BYTES];
    log_checkpoint_encode(ckpt, buf);
    int used = snprintf(path, sizeof(path), "%s/%s", part->dir, LOG_CHECKPOINT_FILE);
    int used_temp = snprintf(temp, sizeof(temp), "%s/%s.tmp", part->dir, LOG_CHECKPOINT_FILE);
    if (used < 0 || (size_t)used >= sizeof(path) || used_temp < 0 ||
        (size_t)used_temp >= sizeof(temp)) {
        return RILL_ERR_TOO_LARGE;
    }
    int fd = -1;
    rill_err err = io->ops->open(io, temp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd);
    if (err != RILL_OK) {
        return err;
    }
    err = io->ops->pwrite(io, fd, buf, sizeof(buf), 0);
    if (err == RILL_OK) {
        err = io->ops->fdatasync(io, fd);
    }
    io->ops->close(io, fd);
    if (err == RILL_OK) {
        err = io->ops->rename(io, temp, path);
    }
    if (err == RILL_OK) {
        err = io->ops->sync_dir(io, part->dir);
    }
    return err;
}

rill_err log_checkpoint_read(struct log_io *io, const char *dir, struct log_checkpoint *out)
{
    char path[RILL_PATH_BYTES_MAX];
    int used = snprintf(path, sizeof(path), "%s/%s", dir, LOG_CHECKPOINT_FILE);
    if (used < 0 || (size_t)used >= sizeof(path)) {
        return RILL_ERR_TOO_LARGE;
    }
    int fd = -1;
    rill_err err = io->ops->open(io, path, O_RDONLY, 0, &fd);
    if (err != RILL_OK) {
        return err;
    }
    /* Read one byte more than the size so that a longer (damaged) file is noticed. */
    uint8_t buf[LOG_CHECKPOINT_BYTES + 1];
    size_t read_bytes = 0;
    err = io->ops->pread(io, fd, buf, sizeof(buf), 0, &read_bytes);
    io->ops->close(io, fd);
    if (err != RILL_OK) {
        return err;
    }
    return log_checkpoint_decode(buf, read_bytes, out);
}
