/*
 * compare_disk.c - build/bench-disk: the raw disk baseline of bench/compare.
 *
 *   bench-disk produce|consume --file PATH [--records N] [--size BYTES] [--batch-bytes B]
 *              [--sync none|batch] [--json]
 *
 * produce: packs N record values of --size bytes back to back into batches of B bytes (the
 *   producer's batch.bytes, 1 MiB by default) and writes each batch with write() to a new file,
 *   with --sync batch followed by fdatasync() per batch (the durable baseline), with --sync none
 *   never synced (the page-cache baseline). Latency is the time of each batch's write
 *   (+ fdatasync), sampled once per batch, so it is what the last record of a batch waited.
 * consume: reads the file back sequentially with read() calls of B bytes from the page cache;
 *   latency per read call. Records counted are bytes / size.
 * The file is left in place for consume; whoever runs this removes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/compare_common.h"

#define DISK_BATCH_MIN (4 * 1024)
#define DISK_BATCH_MAX (64 * 1024 * 1024)

static const char disk_usage[] =
    "usage: bench-disk produce|consume --file PATH [--records N] [--size BYTES]\n"
    "                  [--batch-bytes B] [--sync none|batch] [--json]\n";

/* Command line of one run. */
struct disk_args {
    const char *mode;     /* "produce" or "consume" */
    const char *file;     /* file to write or read */
    uint64_t records;     /* records to write or read */
    uint64_t size;        /* bytes per record */
    uint64_t batch_bytes; /* bytes per write() / read() */
    bool sync;            /* fdatasync after each write */
    bool json;            /* print JSON */
};

static bool disk_parse_args(int argc, char **argv, struct disk_args *a)
{
    *a = (struct disk_args){ .records = 1000000, .size = 100, .batch_bytes = 1024 * 1024 };
    if (argc < 2) {
        return false;
    }
    a->mode = argv[1];
    if (strcmp(a->mode, "produce") != 0 && strcmp(a->mode, "consume") != 0) {
        return false;
    }
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench-disk: %s needs a value\n", opt);
            return false;
        }
        const char *val = argv[++i];
        bool ok = true;
        if (strcmp(opt, "--file") == 0) {
            a->file = val;
        } else if (strcmp(opt, "--records") == 0) {
            ok = cmp_parse_u64(opt, val, 1, CMP_RECORDS_MAX, &a->records);
        } else if (strcmp(opt, "--size") == 0) {
            ok = cmp_parse_u64(opt, val, 1, CMP_SIZE_MAX, &a->size);
        } else if (strcmp(opt, "--batch-bytes") == 0) {
            ok = cmp_parse_u64(opt, val, DISK_BATCH_MIN, DISK_BATCH_MAX, &a->batch_bytes);
        } else if (strcmp(opt, "--sync") == 0) {
            ok = strcmp(val, "none") == 0 || strcmp(val, "batch") == 0;
            a->sync = strcmp(val, "batch") == 0;
        } else {
            fprintf(stderr, "bench-disk: unknown option %s\n", opt);
            return false;
        }
        if (!ok) {
            fprintf(stderr, "bench-disk: bad value for %s\n", opt);
            return false;
        }
    }
    if (a->file == NULL) {
        fprintf(stderr, "bench-disk: --file is required\n");
        return false;
    }
    if (a->size > a->batch_bytes) {
        fprintf(stderr, "bench-disk: --size exceeds --batch-bytes\n");
        return false;
    }
    return true;
}

/* Writes all len bytes, retrying short writes. */
static bool disk_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            perror("bench-disk: write");
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static bool disk_produce(const struct disk_args *a, struct cmp_result *res, struct cmp_lat *lat)
{
    int fd = open(a->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror("bench-disk: open");
        return false;
    }
    uint64_t per_batch = a->batch_bytes / a->size;
    char *record = malloc(a->size);
    char *batch = malloc((size_t)(per_batch * a->size));
    bool ok = record != NULL && batch != NULL;
    if (ok) {
        cmp_payload(record, a->size, 1);
    }
    uint64_t start = cmp_now_ns();
    for (uint64_t done = 0; ok && done < a->records;) {
        uint64_t n = a->records - done < per_batch ? a->records - done : per_batch;
        for (uint64_t i = 0; i < n; i++) {
            memcpy(batch + i * a->size, record, a->size);
        }
        uint64_t t0 = cmp_now_ns();
        ok = disk_write_all(fd, batch, (size_t)(n * a->size));
        if (ok && a->sync && fdatasync(fd) != 0) {
            perror("bench-disk: fdatasync");
            ok = false;
        }
        cmp_lat_add(lat, cmp_now_ns() - t0);
        done += n;
    }
    res->seconds = (double)(cmp_now_ns() - start) / 1e9;
    res->records = a->records;
    res->bytes = a->records * a->size;
    free(record);
    free(batch);
    if (close(fd) != 0) {
        perror("bench-disk: close");
        ok = false;
    }
    return ok;
}

static bool disk_consume(const struct disk_args *a, struct cmp_result *res, struct cmp_lat *lat)
{
    int fd = open(a->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("bench-disk: open");
        return false;
    }
    char *buf = malloc((size_t)a->batch_bytes);
    bool ok = buf != NULL;
    uint64_t want = a->records * a->size;
    uint64_t start = cmp_now_ns();
    while (ok && res->bytes < want) {
        uint64_t t0 = cmp_now_ns();
        ssize_t n = read(fd, buf, (size_t)a->batch_bytes);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        cmp_lat_add(lat, cmp_now_ns() - t0);
        if (n <= 0) {
            fprintf(stderr, "bench-disk: file ends after %" PRIu64 " of %" PRIu64 " bytes\n",
                    res->bytes, want);
            ok = false;
        } else {
            res->bytes += (uint64_t)n;
        }
    }
    res->seconds = (double)(cmp_now_ns() - start) / 1e9;
    res->records = res->bytes / a->size;
    free(buf);
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    struct disk_args a;
    if (!disk_parse_args(argc, argv, &a)) {
        fputs(disk_usage, stderr);
        return 2;
    }
    struct cmp_result res = { .system = "disk", .workload = a.mode };
    snprintf(res.settings, sizeof(res.settings), "%s() of %" PRIu64 " bytes%s",
             a.mode[0] == 'p' ? "write" : "read", a.batch_bytes,
             a.mode[0] == 'p' ? (a.sync ? ", fdatasync each" : ", no sync") : "");
    struct cmp_lat lat;
    if (!cmp_lat_init(&lat, a.records * a.size / a.batch_bytes + 2)) {
        fprintf(stderr, "bench-disk: out of memory\n");
        return 1;
    }
    bool ok = a.mode[0] == 'p' ? disk_produce(&a, &res, &lat) : disk_consume(&a, &res, &lat);
    if (ok) {
        cmp_report(&res, &lat, a.json);
    }
    cmp_lat_free(&lat);
    return ok ? 0 : 1;
}
