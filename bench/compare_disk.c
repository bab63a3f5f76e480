/*
 * compare_disk.c - build/bench-disk: the raw disk baseline of bench/compare.
 *
 *   bench-disk produce|consume|tcp --file PATH [--records N] [--size BYTES] [--batch-bytes B]
 *              [--sync none|batch] [--json]
 *   bench-disk latency --file PATH [--rate R] [--size BYTES] [--duration S] [--warmup S]
 *              [--deadline S] [--json]
 *
 * produce: packs N record values of --size bytes back to back into batches of B bytes (the
 *   producer's batch.bytes, 1 MiB by default) and writes each batch with write() to a new file,
 *   with --sync batch followed by fdatasync() per batch (the durable baseline), with --sync none
 *   never synced (the page-cache baseline). Latency is the time of each batch's write
 *   (+ fdatasync), sampled once per batch, so it is what the last record of a batch waited.
 * consume: reads the file back sequentially with read() calls of B bytes from the page cache;
 *   latency per read call. Records counted are bytes / size.
 * tcp: the loopback ceiling of a consumer. Writes N records' worth of value bytes to the file,
 *   syncs it and reads it once (untimed), so that it sits clean in the page cache; then a
 *   forked receiver connects over 127.0.0.1 (ephemeral port) and recv()s into a buffer of B
 *   bytes, looking at nothing, while this process answers like a broker serving fetches:
 *   pread() of B bytes, send() of them, until all are sent. Timed from the first pread to the
 *   receiver's one-byte "all received"; latency per pread + send. There is no produce figure.
 * latency: the raw disk's group-commit floor at a fixed rate. Record i is due at start +
 *   i / R; each round appends every record due when the round starts with write() and covers
 *   them with one fdatasync() (the next round then takes what fell due meanwhile). A record's
 *   latency runs from its due time to the end of that fdatasync, so a slow sync is charged to
 *   every record that waited behind it (no coordinated omission). The first --warmup seconds
 *   of records are written but not measured. If the disk falls so far behind that records are
 *   still unwritten --deadline seconds after the last one fell due, the run stops there and
 *   counts each of them as having waited until then (a lower bound).
 * The file is left in place for consume; whoever runs this removes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/compare_common.h"

#define DISK_BATCH_MIN   (4 * 1024)
#define DISK_BATCH_MAX   (64 * 1024 * 1024)
#define DISK_RATE_MAX    10000000u /* records per second of the latency mode */
#define DISK_SECONDS_MAX 3600u     /* --duration and --warmup */
#define DISK_TCP_WAIT_MS 30000     /* bounds every wait of the tcp mode (accept, recv, ack) */
#define DISK_LAT_CHUNK   (UINT64_C(1) << 20) /* largest write() of one latency round */

static const char disk_usage[] =
    "usage: bench-disk produce|consume|tcp --file PATH [--records N] [--size BYTES]\n"
    "                  [--batch-bytes B] [--sync none|batch] [--json]\n"
    "       bench-disk latency --file PATH [--rate R] [--size BYTES] [--duration S]\n"
    "                  [--warmup S] [--deadline S] [--json]\n";

/* Command line of one run. */
struct disk_args {
    const char *mode;     /* "produce", "consume", "tcp" or "latency" */
    const char *file;     /* file to write or read */
    uint64_t records;     /* records to write or read (not the latency mode) */
    uint64_t size;        /* bytes per record */
    uint64_t batch_bytes; /* bytes per write() / read() / pread() + send() */
    bool sync;            /* fdatasync after each write */
    bool json;            /* print JSON */
    uint64_t rate;        /* latency mode: records per second */
    uint64_t duration;    /* latency mode: measured seconds */
    uint64_t warmup;      /* latency mode: seconds written before measuring */
    uint64_t deadline;    /* latency mode: seconds after the last due time before giving up */
};

static bool disk_parse_args(int argc, char **argv, struct disk_args *a)
{
    *a = (struct disk_args){ .records = 1000000,
                             .size = 100,
                             .batch_bytes = 1024 * 1024,
                             .rate = 100000,
                             .duration = 8,
                             .warmup = 1,
                             .deadline = 10 };
    if (argc < 2) {
        return false;
    }
    a->mode = argv[1];
    if (strcmp(a->mode, "produce") != 0 && strcmp(a->mode, "consume") != 0 &&
        strcmp(a->mode, "tcp") != 0 && strcmp(a->mode, "latency") != 0) {
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
        } else if (strcmp(opt, "--rate") == 0) {
            ok = cmp_parse_u64(opt, val, 1, DISK_RATE_MAX, &a->rate);
        } else if (strcmp(opt, "--duration") == 0) {
            ok = cmp_parse_u64(opt, val, 1, DISK_SECONDS_MAX, &a->duration);
        } else if (strcmp(opt, "--warmup") == 0) {
            ok = cmp_parse_u64(opt, val, 0, DISK_SECONDS_MAX, &a->warmup);
        } else if (strcmp(opt, "--deadline") == 0) {
            ok = cmp_parse_u64(opt, val, 0, DISK_SECONDS_MAX, &a->deadline);
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
    if (strcmp(a->mode, "latency") == 0) {
        /* The record count follows from rate and time; it bounds the sample store. */
        a->records = a->rate * (a->duration + a->warmup);
        if (a->records > CMP_RECORDS_MAX) {
            fprintf(stderr, "bench-disk: --rate x (--duration + --warmup) exceeds %llu records\n",
                    CMP_RECORDS_MAX);
            return false;
        }
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

/* ---- tcp: the loopback ceiling of a consumer ------------------------------------------------ */

/* Sends all len bytes, retrying short sends; MSG_NOSIGNAL so a gone peer is an error. */
static bool disk_send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            perror("bench-disk: send");
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Bounds every blocking send() and recv() on fd by DISK_TCP_WAIT_MS. */
static void disk_socket_timeouts(int fd)
{
    struct timeval tv = { .tv_sec = DISK_TCP_WAIT_MS / 1000, .tv_usec = 0 };
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Percent of the first len bytes of fd that are in the page cache (mincore), or -1. */
static double disk_resident_percent(int fd, uint64_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || len == 0 || len > SIZE_MAX / 2) {
        return -1;
    }
    void *map = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        return -1;
    }
    size_t pages = (size_t)((len + (uint64_t)page - 1) / (uint64_t)page);
    unsigned char *vec = malloc(pages);
    double percent = -1;
    if (vec != NULL && mincore(map, (size_t)len, vec) == 0) {
        size_t resident = 0;
        for (size_t i = 0; i < pages; i++) {
            resident += vec[i] & 1;
        }
        percent = 100.0 * (double)resident / (double)pages;
    }
    free(vec);
    munmap(map, (size_t)len);
    return percent;
}

/*
 * Writes want bytes (chunks of buf_bytes from buf) to a new file, fdatasyncs it so no
 * write-back runs during the timed transfer, and reads it once. Returns the descriptor or -1.
 */
static int disk_tcp_prepare(const char *path, char *buf, size_t buf_bytes, uint64_t want)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror("bench-disk: open");
        return -1;
    }
    bool ok = true;
    for (uint64_t off = 0; ok && off < want; off += buf_bytes) {
        ok = disk_write_all(fd, buf, (size_t)(want - off < buf_bytes ? want - off : buf_bytes));
    }
    if (ok && fdatasync(fd) != 0) {
        perror("bench-disk: fdatasync");
        ok = false;
    }
    for (uint64_t off = 0; ok && off < want;) {
        ssize_t n = pread(fd, buf, buf_bytes, (off_t)off);
        if (n <= 0) {
            perror("bench-disk: pread");
            ok = false;
        } else {
            off += (uint64_t)n;
        }
    }
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A listening socket on 127.0.0.1 with a port the kernel picks; its port in *port. */
static int disk_tcp_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("bench-disk: socket");
        return -1;
    }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof(addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("bench-disk: bind/listen");
        close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

/* The receiver (a forked child): connects, recv()s want bytes into a buffer of buf_bytes without
 * looking at them, answers one byte. Returns the child's exit status. */
static int disk_tcp_receive(uint16_t port, uint64_t want, size_t buf_bytes)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char *buf = malloc(buf_bytes);
    if (fd < 0 || buf == NULL) {
        return 1;
    }
    disk_socket_timeouts(fd);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        perror("bench-disk: receiver: connect");
        return 1;
    }
    uint64_t got = 0;
    while (got < want) {
        ssize_t n = recv(fd, buf, buf_bytes, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "bench-disk: receiver: stream ended after %" PRIu64 " bytes\n", got);
            return 1;
        }
        got += (uint64_t)n;
    }
    char done = 1;
    return disk_send_all(fd, &done, 1) ? 0 : 1;
}

/* Waits up to DISK_TCP_WAIT_MS for the receiver's connection on lfd; the connection or -1. */
static int disk_tcp_accept(int lfd)
{
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };
    int n = poll(&pfd, 1, DISK_TCP_WAIT_MS);
    if (n != 1) {
        fprintf(stderr, "bench-disk: the receiver did not connect\n");
        return -1;
    }
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        perror("bench-disk: accept");
        return -1;
    }
    disk_socket_timeouts(fd);
    return fd;
}

/* The timed part: pread + send of want bytes from file to conn, then the receiver's byte. */
static bool
disk_tcp_send(int file, int conn, char *buf, size_t buf_bytes, uint64_t want, struct cmp_lat *lat)
{
    for (uint64_t off = 0; off < want;) {
        uint64_t t0 = cmp_now_ns();
        size_t len = (size_t)(want - off < buf_bytes ? want - off : buf_bytes);
        ssize_t n = pread(file, buf, len, (off_t)off);
        if (n <= 0) {
            perror("bench-disk: pread");
            return false;
        }
        if (!disk_send_all(conn, buf, (size_t)n)) {
            return false;
        }
        cmp_lat_add(lat, cmp_now_ns() - t0);
        off += (uint64_t)n;
    }
    char done = 0;
    ssize_t n;
    do {
        n = recv(conn, &done, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
        fprintf(stderr, "bench-disk: no answer from the receiver\n");
        return false;
    }
    return true;
}

static bool disk_tcp(const struct disk_args *a, struct cmp_result *res, struct cmp_lat *lat)
{
    uint64_t want = a->records * a->size;
    size_t buf_bytes = (size_t)a->batch_bytes;
    char *buf = malloc(buf_bytes);
    if (buf == NULL) {
        fprintf(stderr, "bench-disk: out of memory\n");
        return false;
    }
    cmp_payload(buf, buf_bytes, 1);
    uint16_t port = 0;
    int file = disk_tcp_prepare(a->file, buf, buf_bytes, want);
    int lfd = file >= 0 ? disk_tcp_listen(&port) : -1;
    if (lfd < 0) {
        free(buf);
        if (file >= 0) {
            close(file);
        }
        return false;
    }
    double resident = disk_resident_percent(file, want);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        close(lfd);
        close(file);
        _exit(disk_tcp_receive(port, want, buf_bytes));
    }
    bool ok = child > 0;
    if (!ok) {
        perror("bench-disk: fork");
    }
    int conn = ok ? disk_tcp_accept(lfd) : -1;
    close(lfd);
    ok = conn >= 0;
    uint64_t start = cmp_now_ns();
    ok = ok && disk_tcp_send(file, conn, buf, buf_bytes, want, lat);
    res->seconds = (double)(cmp_now_ns() - start) / 1e9;
    if (conn >= 0) {
        close(conn);
    }
    if (child > 0) {
        int status = 0;
        if (!ok) {
            kill(child, SIGKILL);
        }
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        if (ok && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
            fprintf(stderr, "bench-disk: the receiver failed\n");
            ok = false;
        }
    }
    res->records = a->records;
    res->bytes = want;
    snprintf(res->settings, sizeof(res->settings),
             "pread() + send() of %" PRIu64 " bytes over 127.0.0.1 to recv() of %" PRIu64
             " bytes in another process, no parsing; %.0f%% of the file in the page cache",
             a->batch_bytes, a->batch_bytes, resident);
    free(buf);
    close(file);
    return ok;
}

/* ---- latency: the raw disk's group-commit floor at a fixed rate ----------------------------- */

/* Appends len bytes (records back to back) from a buffer of chunk bytes, then fdatasync. */
static bool disk_append_sync(int fd, const char *buf, size_t chunk, uint64_t len)
{
    for (uint64_t off = 0; off < len; off += chunk) {
        if (!disk_write_all(fd, buf, (size_t)(len - off < chunk ? len - off : chunk))) {
            return false;
        }
    }
    if (fdatasync(fd) != 0) {
        perror("bench-disk: fdatasync");
        return false;
    }
    return true;
}

static bool disk_latency(const struct disk_args *a, struct cmp_result *res, struct cmp_lat *lat)
{
    int fd = open(a->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror("bench-disk: open");
        return false;
    }
    size_t chunk = (size_t)(DISK_LAT_CHUNK / a->size * a->size);
    char *buf = malloc(chunk);
    bool ok = buf != NULL;
    if (ok) {
        cmp_payload(buf, chunk, 1);
    }
    uint64_t total = a->records;
    uint64_t warm = a->rate * a->warmup;
    uint64_t sent = 0;
    uint64_t rounds = 0;  /* write + fdatasync rounds that carried measured records */
    uint64_t largest = 0; /* most records in one of them */
    uint64_t start = cmp_now_ns();
    uint64_t end = start;
    uint64_t give_up = cmp_due_ns(start, total, a->rate) + a->deadline * 1000000000u;
    while (ok && sent < total && end < give_up) {
        uint64_t now = cmp_now_ns();
        uint64_t due = (uint64_t)((double)(now - start) * (double)a->rate / 1e9) + 1;
        due = due < total ? due : total;
        if (due <= sent) {
            cmp_sleep_until(cmp_due_ns(start, sent, a->rate));
            continue;
        }
        ok = disk_append_sync(fd, buf, chunk, (due - sent) * a->size);
        end = cmp_now_ns();
        uint64_t first = sent > warm ? sent : warm;
        cmp_lat_add_waiting(lat, start, first < due ? first : due, due, a->rate, end);
        if (due > warm) {
            rounds++;
            largest = due - sent > largest ? due - sent : largest;
        }
        sent = due;
    }
    /* Past the deadline: what was never written counts as waiting until now. */
    uint64_t unsent = total - sent;
    cmp_lat_add_waiting(lat, start, sent > warm ? sent : warm, total, a->rate, end);
    res->records = sent > warm ? sent - warm : 0;
    res->bytes = res->records * a->size;
    res->seconds = (double)(end - cmp_due_ns(start, warm, a->rate)) / 1e9;
    int n = snprintf(res->settings, sizeof(res->settings),
                     "%" PRIu64 " records/s of %" PRIu64 " B appended; each round one write + "
                     "fdatasync of all records due (group commit): %" PRIu64
                     " rounds, at most %" PRIu64 " records in one",
                     a->rate, a->size, rounds, largest);
    if (unsent > 0 && n > 0 && (size_t)n < sizeof(res->settings)) {
        snprintf(res->settings + n, sizeof(res->settings) - (size_t)n,
                 "; stopped at the deadline with %" PRIu64 " records unwritten", unsent);
    }
    free(buf);
    if (close(fd) != 0) {
        perror("bench-disk: close");
        ok = false;
    }
    return ok;
}

int main(int argc, char **argv)
{
    struct disk_args a;
    if (!disk_parse_args(argc, argv, &a)) {
        fputs(disk_usage, stderr);
        return 2;
    }
    bool latency = strcmp(a.mode, "latency") == 0;
    bool tcp = strcmp(a.mode, "tcp") == 0;
    struct cmp_result res = { .system = tcp ? "tcp" : "disk",
                              .workload = latency ? "e2e"
                                          : tcp   ? "consume"
                                                  : a.mode };
    snprintf(res.settings, sizeof(res.settings), "%s() of %" PRIu64 " bytes%s",
             a.mode[0] == 'p' ? "write" : "read", a.batch_bytes,
             a.mode[0] == 'p' ? (a.sync ? ", fdatasync each" : ", no sync") : "");
    struct cmp_lat lat;
    if (!cmp_lat_init(&lat, latency ? a.records : a.records * a.size / a.batch_bytes + 2)) {
        fprintf(stderr, "bench-disk: out of memory\n");
        return 1;
    }
    bool ok;
    if (latency) {
        ok = disk_latency(&a, &res, &lat);
    } else if (tcp) {
        ok = disk_tcp(&a, &res, &lat);
    } else if (a.mode[0] == 'p') {
        ok = disk_produce(&a, &res, &lat);
    } else {
        ok = disk_consume(&a, &res, &lat);
    }
    if (ok) {
        cmp_report(&res, &lat, a.json);
    }
    cmp_lat_free(&lat);
    return ok ? 0 : 1;
}
