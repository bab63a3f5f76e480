/*
 * compare_redis.c - build/bench-redis: the Redis Streams side of bench/compare.
 *
 *   bench-redis produce|consume --port PORT [--host H] [--key K] [--records N] [--size BYTES]
 *               [--window W] [--count C] [--json]
 *   bench-redis latency --port PORT [--host H] [--key K] [--rate R] [--size BYTES]
 *               [--duration S] [--warmup S] [--deadline S] [--json]
 *
 * produce: deletes the stream key (untimed), then XADDs N entries "KEY * v <payload>" over one
 *   connection, pipelined: commands go out in chunks of W/2 and the replies of a chunk are read
 *   only after the next chunk has been sent, so up to W commands are in flight. Each XADD's
 *   latency runs from the send of its chunk to the read of its reply. The command bytes are
 *   formatted once per payload, not per record. Finally XLEN must equal N.
 * consume: reads the whole stream back with XRANGE ... COUNT C (C entries per call, each next
 *   call starting after the last id seen) until N entries arrived; latency is per XRANGE call.
 * latency: XADDs at a fixed rate R (entry i is due at start + i / R). Each round sends every
 *   XADD due when it starts (at most REDIS_ROUND_MAX), pipelined, and reads all their replies
 *   before the next round (one round in flight, like the disk floor's group commit). An entry's
 * latency runs from its due time to the read of its reply, so a slow round is charged to everything
 * that waited behind it. The first --warmup seconds of entries are sent but not measured. If the
 * server falls so far behind that entries are still unsent --deadline seconds after the last one
 * fell due, the run stops there and counts each of them as having waited until then. The server's
 * persistence (appendfsync everysec|always) is set by whoever started it; this program prints it
 * (CONFIG GET appendfsync) in "settings". Every reply is checked for type.
 */
#include <hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/compare_common.h"

#define REDIS_WINDOW_MAX   100000
#define REDIS_COUNT_MAX    1000000
#define REDIS_ID_BYTES_MAX 64
#define REDIS_RATE_MAX     1000000u /* entries per second of the latency mode */
#define REDIS_SECONDS_MAX  3600u    /* --duration and --warmup */
#define REDIS_ROUND_MAX    10000u   /* XADDs in flight in one latency round (bounds memory) */

static const char redis_usage[] =
    "usage: bench-redis produce|consume --port PORT [--host H] [--key K] [--records N]\n"
    "                   [--size BYTES] [--window W] [--count C] [--json]\n"
    "       bench-redis latency --port PORT [--host H] [--key K] [--rate R] [--size BYTES]\n"
    "                   [--duration S] [--warmup S] [--deadline S] [--json]\n";

/* Command line of one run. */
struct redis_args {
    const char *mode;  /* "produce", "consume" or "latency" */
    const char *host;  /* server address */
    uint64_t port;     /* server port */
    const char *key;   /* stream key */
    uint64_t records;  /* entries to write or read */
    uint64_t size;     /* value bytes per entry */
    uint64_t window;   /* produce: commands in flight */
    uint64_t count;    /* consume: entries per XRANGE */
    bool json;         /* print JSON */
    uint64_t rate;     /* latency: entries per second */
    uint64_t duration; /* latency: measured seconds */
    uint64_t warmup;   /* latency: seconds sent before measuring */
    uint64_t deadline; /* latency: seconds after the last due time before giving up */
};

static bool redis_parse_args(int argc, char **argv, struct redis_args *a)
{
    *a = (struct redis_args){ .host = "127.0.0.1",
                              .key = "bench",
                              .records = 100000,
                              .size = 100,
                              .window = 1000,
                              .count = 10000,
                              .rate = 100000,
                              .duration = 8,
                              .warmup = 1,
                              .deadline = 10 };
    if (argc < 2) {
        return false;
    }
    a->mode = argv[1];
    if (strcmp(a->mode, "produce") != 0 && strcmp(a->mode, "consume") != 0 &&
        strcmp(a->mode, "latency") != 0) {
        return false;
    }
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench-redis: %s needs a value\n", opt);
            return false;
        }
        const char *val = argv[++i];
        bool ok = true;
        if (strcmp(opt, "--host") == 0) {
            a->host = val;
        } else if (strcmp(opt, "--key") == 0) {
            a->key = val;
        } else if (strcmp(opt, "--port") == 0) {
            ok = cmp_parse_u64(opt, val, 1, 65535, &a->port);
        } else if (strcmp(opt, "--records") == 0) {
            ok = cmp_parse_u64(opt, val, 1, CMP_RECORDS_MAX, &a->records);
        } else if (strcmp(opt, "--size") == 0) {
            ok = cmp_parse_u64(opt, val, 1, CMP_SIZE_MAX, &a->size);
        } else if (strcmp(opt, "--window") == 0) {
            ok = cmp_parse_u64(opt, val, 2, REDIS_WINDOW_MAX, &a->window);
        } else if (strcmp(opt, "--count") == 0) {
            ok = cmp_parse_u64(opt, val, 1, REDIS_COUNT_MAX, &a->count);
        } else if (strcmp(opt, "--rate") == 0) {
            ok = cmp_parse_u64(opt, val, 1, REDIS_RATE_MAX, &a->rate);
        } else if (strcmp(opt, "--duration") == 0) {
            ok = cmp_parse_u64(opt, val, 1, REDIS_SECONDS_MAX, &a->duration);
        } else if (strcmp(opt, "--warmup") == 0) {
            ok = cmp_parse_u64(opt, val, 0, REDIS_SECONDS_MAX, &a->warmup);
        } else if (strcmp(opt, "--deadline") == 0) {
            ok = cmp_parse_u64(opt, val, 0, REDIS_SECONDS_MAX, &a->deadline);
        } else {
            fprintf(stderr, "bench-redis: unknown option %s\n", opt);
            return false;
        }
        if (!ok) {
            return false;
        }
    }
    if (a->port == 0) {
        fprintf(stderr, "bench-redis: --port is required\n");
        return false;
    }
    if (strcmp(a->mode, "latency") == 0) {
        /* The entry count follows from rate and time; it bounds the sample store. */
        a->records = a->rate * (a->duration + a->warmup);
        if (a->records > CMP_RECORDS_MAX) {
            fprintf(stderr, "bench-redis: --rate x (--duration + --warmup) is too large\n");
            return false;
        }
    }
    return true;
}

/* Runs one command and returns its reply, or NULL after printing why. */
static redisReply *
redis_command(redisContext *c, const char *what, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(c, fmt, arg);
    if (r == NULL) {
        fprintf(stderr, "bench-redis: %s: %s\n", what, c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench-redis: %s: %s\n", what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Appends "appendfsync=VALUE" from CONFIG GET to settings. */
static void redis_describe(redisContext *c, const struct redis_args *a, char *settings, size_t cap)
{
    const char *fsync = "?";
    redisReply *r = redis_command(c, "CONFIG GET", "CONFIG GET %s", "appendfsync");
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        fsync = r->element[1]->str;
    }
    if (a->mode[0] == 'p') {
        snprintf(settings, cap,
                 "appendonly yes, appendfsync %s, XADD pipelined, %" PRIu64 " in flight", fsync,
                 a->window);
    } else if (a->mode[0] == 'l') {
        snprintf(settings, cap,
                 "appendonly yes, appendfsync %s, %" PRIu64 " XADD/s of %" PRIu64
                 " B, each round pipelines the XADDs due and reads their replies",
                 fsync, a->rate, a->size);
    } else {
        snprintf(settings, cap, "appendfsync %s, XRANGE COUNT %" PRIu64, fsync, a->count);
    }
    freeReplyObject(r);
}

/* Reads the replies of one chunk of XADDs; each must be a bulk string (the new id). Each is
 * timed from sent_ns unless lat is NULL. */
static bool redis_read_chunk(redisContext *c, uint64_t n, uint64_t sent_ns, struct cmp_lat *lat)
{
    for (uint64_t i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || reply == NULL) {
            fprintf(stderr, "bench-redis: XADD reply: %s\n", c->errstr);
            return false;
        }
        redisReply *r = reply;
        bool ok = r->type == REDIS_REPLY_STRING;
        if (!ok) {
            fprintf(stderr, "bench-redis: XADD: unexpected reply type %d: %s\n", r->type,
                    r->type == REDIS_REPLY_ERROR ? r->str : "");
        }
        freeReplyObject(r);
        if (!ok) {
            return false;
        }
        if (lat != NULL) {
            cmp_lat_add(lat, cmp_now_ns() - sent_ns);
        }
    }
    return true;
}

/* Writes everything hiredis has buffered. */
static bool redis_flush(redisContext *c)
{
    int done = 0;
    while (!done) {
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            fprintf(stderr, "bench-redis: write: %s\n", c->errstr);
            return false;
        }
    }
    return true;
}

/* Formats "XADD key * v <payload>" as RESP once; returns its length or 0. */
static size_t redis_format_xadd(const struct redis_args *a, char **out)
{
    char *value = malloc(a->size);
    if (value == NULL) {
        return 0;
    }
    cmp_payload(value, a->size, 1);
    const char *argv[] = { "XADD", a->key, "*", "v", value };
    size_t lens[] = { 4, strlen(a->key), 1, 1, a->size };
    long long len = redisFormatCommandArgv(out, 5, argv, lens);
    free(value);
    return len > 0 ? (size_t)len : 0;
}

/* Empties the stream and formats the XADD every record sends; 0 after printing why it failed. */
static size_t redis_prepare(redisContext *c, const struct redis_args *a, char **out_cmd)
{
    redisReply *r = redis_command(c, "DEL", "DEL %s", a->key);
    if (r == NULL) {
        return 0;
    }
    freeReplyObject(r);
    size_t cmd_len = redis_format_xadd(a, out_cmd);
    if (cmd_len == 0) {
        fprintf(stderr, "bench-redis: cannot format XADD\n");
    }
    return cmd_len;
}

static bool redis_produce(redisContext *c,
                          const struct redis_args *a,
                          struct cmp_result *res,
                          struct cmp_lat *lat)
{
    char *cmd = NULL;
    size_t cmd_len = redis_prepare(c, a, &cmd);
    if (cmd_len == 0) {
        return false;
    }
    uint64_t chunk = a->window / 2;
    uint64_t prev_n = 0, prev_ns = 0;
    bool ok = true;
    uint64_t start = cmp_now_ns();
    for (uint64_t sent = 0; ok && sent < a->records;) {
        uint64_t n = a->records - sent < chunk ? a->records - sent : chunk;
        for (uint64_t i = 0; ok && i < n; i++) {
            ok = redisAppendFormattedCommand(c, cmd, cmd_len) == REDIS_OK;
        }
        uint64_t now = cmp_now_ns();
        ok = ok && redis_flush(c);
        ok = ok && redis_read_chunk(c, prev_n, prev_ns, lat);
        prev_n = n;
        prev_ns = now;
        sent += n;
    }
    ok = ok && redis_read_chunk(c, prev_n, prev_ns, lat);
    res->seconds = (double)(cmp_now_ns() - start) / 1e9;
    free(cmd);
    if (!ok) {
        return false;
    }
    res->records = a->records;
    res->bytes = a->records * a->size;
    redisReply *r = redis_command(c, "XLEN", "XLEN %s", a->key);
    if (r == NULL) {
        return false;
    }
    ok = r->type == REDIS_REPLY_INTEGER && (uint64_t)r->integer == a->records;
    if (!ok) {
        fprintf(stderr, "bench-redis: XLEN is %lld, expected %" PRIu64 "\n", r->integer,
                a->records);
    }
    freeReplyObject(r);
    return ok;
}

/* Reads the replies of entries [first, end); each measured one (index >= warm) is timed from its
 * due time to the read of its reply. */
static bool redis_read_due(redisContext *c,
                           const struct redis_args *a,
                           uint64_t start,
                           uint64_t first,
                           uint64_t end,
                           struct cmp_lat *lat)
{
    uint64_t warm = a->rate * a->warmup;
    for (uint64_t i = first; i < end; i++) {
        if (!redis_read_chunk(c, 1, 0, NULL)) {
            return false;
        }
        if (i >= warm) {
            uint64_t now = cmp_now_ns();
            uint64_t due = cmp_due_ns(start, i, a->rate);
            cmp_lat_add(lat, now > due ? now - due : 0);
        }
    }
    return true;
}

static bool redis_latency(redisContext *c,
                          const struct redis_args *a,
                          struct cmp_result *res,
                          struct cmp_lat *lat)
{
    char *cmd = NULL;
    size_t cmd_len = redis_prepare(c, a, &cmd);
    if (cmd_len == 0) {
        return false;
    }
    uint64_t total = a->records;
    uint64_t warm = a->rate * a->warmup;
    uint64_t sent = 0;
    bool ok = true;
    uint64_t start = cmp_now_ns();
    uint64_t give_up = cmp_due_ns(start, total, a->rate) + a->deadline * 1000000000u;
    uint64_t now = start;
    while (ok && sent < total && now < give_up) {
        now = cmp_now_ns();
        uint64_t due = (uint64_t)((double)(now - start) * (double)a->rate / 1e9) + 1;
        due = due < total ? due : total;
        if (due <= sent) {
            cmp_sleep_until(cmp_due_ns(start, sent, a->rate));
            continue;
        }
        due = due - sent > REDIS_ROUND_MAX ? sent + REDIS_ROUND_MAX : due;
        for (uint64_t i = sent; ok && i < due; i++) {
            ok = redisAppendFormattedCommand(c, cmd, cmd_len) == REDIS_OK;
        }
        ok = ok && redis_flush(c) && redis_read_due(c, a, start, sent, due, lat);
        sent = due;
        now = cmp_now_ns();
    }
    /* Past the deadline: what was never sent counts as waiting until now. */
    cmp_lat_add_waiting(lat, start, sent > warm ? sent : warm, total, a->rate, now);
    if (sent < total && ok) {
        size_t used = strlen(res->settings);
        snprintf(res->settings + used, sizeof(res->settings) - used,
                 "; stopped at the deadline with %" PRIu64 " entries unsent", total - sent);
    }
    res->records = sent > warm ? sent - warm : 0;
    res->bytes = res->records * a->size;
    res->seconds = (double)(now - cmp_due_ns(start, warm, a->rate)) / 1e9;
    free(cmd);
    return ok;
}

/* Counts the entries of one XRANGE reply, adds their value bytes, and keeps the last id. */
static bool redis_take_range(
    const redisReply *r, struct cmp_result *res, char *last_id, size_t id_cap, uint64_t *got)
{
    *got = 0;
    if (r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "bench-redis: XRANGE: unexpected reply type %d\n", r->type);
        return false;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= id_cap ||
            e->element[1]->type != REDIS_REPLY_ARRAY || e->element[1]->elements != 2 ||
            e->element[1]->element[1]->type != REDIS_REPLY_STRING) {
            fprintf(stderr, "bench-redis: XRANGE: malformed entry %zu\n", i);
            return false;
        }
        res->bytes += e->element[1]->element[1]->len;
        if (i + 1 == r->elements) {
            memcpy(last_id, e->element[0]->str, e->element[0]->len);
            last_id[e->element[0]->len] = '\0';
        }
    }
    *got = r->elements;
    return true;
}

static bool redis_consume(redisContext *c,
                          const struct redis_args *a,
                          struct cmp_result *res,
                          struct cmp_lat *lat)
{
    char count[32];
    char last_id[REDIS_ID_BYTES_MAX] = "";
    char start_id[REDIS_ID_BYTES_MAX + 1] = "-";
    snprintf(count, sizeof(count), "%" PRIu64, a->count);
    uint64_t start = cmp_now_ns();
    while (res->records < a->records) {
        const char *argv[] = { "XRANGE", a->key, start_id, "+", "COUNT", count };
        size_t lens[6];
        for (size_t i = 0; i < 6; i++) {
            lens[i] = strlen(argv[i]);
        }
        uint64_t t0 = cmp_now_ns();
        redisReply *r = redisCommandArgv(c, 6, argv, lens);
        if (r == NULL) {
            fprintf(stderr, "bench-redis: XRANGE: %s\n", c->errstr);
            return false;
        }
        cmp_lat_add(lat, cmp_now_ns() - t0);
        uint64_t got = 0;
        bool ok = redis_take_range(r, res, last_id, sizeof(last_id), &got);
        freeReplyObject(r);
        if (!ok) {
            return false;
        }
        if (got == 0) {
            fprintf(stderr, "bench-redis: stream ended after %" PRIu64 " of %" PRIu64 " entries\n",
                    res->records, a->records);
            return false;
        }
        res->records += got;
        snprintf(start_id, sizeof(start_id), "(%s", last_id);
    }
    res->seconds = (double)(cmp_now_ns() - start) / 1e9;
    return true;
}

int main(int argc, char **argv)
{
    struct redis_args a;
    if (!redis_parse_args(argc, argv, &a)) {
        fputs(redis_usage, stderr);
        return 2;
    }
    struct timeval tv = { .tv_sec = 10 };
    redisContext *c = redisConnectWithTimeout(a.host, (int)a.port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "bench-redis: connect %s:%" PRIu64 ": %s\n", a.host, a.port,
                c ? c->errstr : "out of memory");
        redisFree(c);
        return 1;
    }
    /* A bound on every read: a stuck server fails the run instead of hanging it. */
    struct timeval rw = { .tv_sec = 60 };
    redisSetTimeout(c, rw);
    bool produce = strcmp(a.mode, "produce") == 0;
    bool latency = strcmp(a.mode, "latency") == 0;
    struct cmp_result res = { .system = "redis", .workload = latency ? "e2e" : a.mode };
    struct cmp_lat lat;
    uint64_t samples = produce || latency ? a.records : a.records / a.count + 2;
    if (!cmp_lat_init(&lat, samples)) {
        fprintf(stderr, "bench-redis: out of memory\n");
        redisFree(c);
        return 1;
    }
    redis_describe(c, &a, res.settings, sizeof(res.settings));
    bool ok;
    if (latency) {
        ok = redis_latency(c, &a, &res, &lat);
    } else if (produce) {
        ok = redis_produce(c, &a, &res, &lat);
    } else {
        ok = redis_consume(c, &a, &res, &lat);
    }
    if (ok) {
        cmp_report(&res, &lat, a.json);
    }
    cmp_lat_free(&lat);
    redisFree(c);
    return ok ? 0 : 1;
}
