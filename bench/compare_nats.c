/*
 * compare_nats.c - build/bench-nats: the NATS JetStream side of bench/compare.
 *
 *   bench-nats produce|consume --url nats://127.0.0.1:PORT [--stream S] [--records N]
 *              [--size BYTES] [--window W] [--batch B] [--json]
 *
 * produce: deletes and re-creates stream S (subject "S.data", file storage, one replica;
 *   untimed), then publishes N messages with js_PublishAsync, at most W awaiting their ack
 *   (jsOptions.PublishAsync.MaxPending), and waits with js_PublishAsyncComplete until every ack
 *   arrived. Each message's latency runs from its publish call to its ack; acks are matched to
 *   messages by stream sequence (the stream is new, so message i gets sequence i + 1). Any
 *   publish error, duplicate or missing ack fails the run, and the stream must hold N messages.
 * consume: a pull subscription on S with a new durable consumer, AckNone, reads everything
 *   back with natsSubscription_Fetch of B messages per call; latency is per Fetch call.
 * What an ack means is the server's business: nats-server 2.9 acknowledges once the message is
 *   written to its file store (the page cache); it has no per-write fsync setting.
 */
#include <inttypes.h>
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/compare_common.h"

#define NATS_WINDOW_MAX       1000000
#define NATS_BATCH_MAX        100000
#define NATS_NAME_BYTES_MAX   64
#define NATS_FETCH_WAIT_MS    5000
#define NATS_COMPLETE_WAIT_MS 120000

static const char nats_usage[] =
    "usage: bench-nats produce|consume --url nats://HOST:PORT [--stream S] [--records N]\n"
    "                  [--size BYTES] [--window W] [--batch B] [--json]\n";

/* Command line of one run. */
struct nats_args {
    const char *mode;   /* "produce" or "consume" */
    const char *url;    /* server URL */
    const char *stream; /* stream name; subject is STREAM.data */
    uint64_t records;   /* messages to write or read */
    uint64_t size;      /* payload bytes per message */
    uint64_t window;    /* produce: acks outstanding at most */
    uint64_t batch;     /* consume: messages per Fetch */
    bool json;          /* print JSON */
};

/* Shared with the ack handler, which runs on the library's thread. */
struct nats_acks {
    uint64_t records;           /* messages published in total */
    uint64_t *sent_ns;          /* publish time per message, by sequence - 1 */
    uint32_t *lat_us;           /* ack latency per message, by sequence - 1 */
    atomic_uint_fast64_t acked; /* positive acks counted */
    atomic_uint_fast64_t bad;   /* errors, duplicates, sequences out of range */
};

static bool nats_parse_args(int argc, char **argv, struct nats_args *a)
{
    *a = (struct nats_args){
        .stream = "BENCH", .records = 100000, .size = 100, .window = 5000, .batch = 1000
    };
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
            fprintf(stderr, "bench-nats: %s needs a value\n", opt);
            return false;
        }
        const char *val = argv[++i];
        bool ok = true;
        if (strcmp(opt, "--url") == 0) {
            a->url = val;
        } else if (strcmp(opt, "--stream") == 0) {
            ok = strlen(val) > 0 && strlen(val) < NATS_NAME_BYTES_MAX;
            a->stream = val;
        } else if (strcmp(opt, "--records") == 0) {
            ok = cmp_parse_u64(opt, val, 1, CMP_RECORDS_MAX, &a->records);
        } else if (strcmp(opt, "--size") == 0) {
            ok = cmp_parse_u64(opt, val, 1, CMP_SIZE_MAX, &a->size);
        } else if (strcmp(opt, "--window") == 0) {
            ok = cmp_parse_u64(opt, val, 1, NATS_WINDOW_MAX, &a->window);
        } else if (strcmp(opt, "--batch") == 0) {
            ok = cmp_parse_u64(opt, val, 1, NATS_BATCH_MAX, &a->batch);
        } else {
            fprintf(stderr, "bench-nats: unknown option %s\n", opt);
            return false;
        }
        if (!ok) {
            return false;
        }
    }
    if (a->url == NULL) {
        fprintf(stderr, "bench-nats: --url is required\n");
        return false;
    }
    return true;
}

static void nats_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    struct nats_acks *acks = closure;
    uint64_t now = cmp_now_ns();
    if (pae != NULL || pa == NULL || pa->Duplicate || pa->Sequence == 0 ||
        pa->Sequence > acks->records) {
        atomic_fetch_add(&acks->bad, 1);
    } else {
        uint64_t us = (now - acks->sent_ns[pa->Sequence - 1] + 999) / 1000;
        acks->lat_us[pa->Sequence - 1] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        atomic_fetch_add(&acks->acked, 1);
    }
    natsMsg_Destroy(msg);
}

static bool nats_check(natsStatus s, const char *what)
{
    if (s == NATS_OK) {
        return true;
    }
    fprintf(stderr, "bench-nats: %s: %s\n", what, natsStatus_GetText(s));
    nats_PrintLastErrorStack(stderr);
    return false;
}

/* Deletes S if present and creates it again with file storage. */
static bool nats_make_stream(jsCtx *js, const struct nats_args *a, char *subject)
{
    jsErrCode jerr = 0;
    (void)js_DeleteStream(js, a->stream, NULL, &jerr);
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[] = { subject };
    cfg.Name = a->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = 1;
    jsStreamInfo *si = NULL;
    bool ok = nats_check(js_AddStream(&si, js, &cfg, NULL, &jerr), "add stream");
    jsStreamInfo_Destroy(si);
    return ok;
}

static uint64_t nats_stream_count(jsCtx *js, const char *stream)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    uint64_t n = 0;
    if (nats_check(js_GetStreamInfo(&si, js, stream, NULL, &jerr), "stream info")) {
        n = si->State.Msgs;
    }
    jsStreamInfo_Destroy(si);
    return n;
}

static bool nats_produce(natsConnection *nc,
                         const struct nats_args *a,
                         struct cmp_result *res,
                         struct cmp_lat *lat)
{
    char subject[NATS_NAME_BYTES_MAX + 8];
    snprintf(subject, sizeof(subject), "%s.data", a->stream);
    struct nats_acks acks = { .records = a->records };
    acks.sent_ns = calloc((size_t)a->records, sizeof(*acks.sent_ns));
    acks.lat_us = calloc((size_t)a->records, sizeof(*acks.lat_us));
    char *payload = malloc(a->size);
    jsCtx *js = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = (int64_t)a->window;
    jo.PublishAsync.AckHandler = nats_on_ack;
    jo.PublishAsync.AckHandlerClosure = &acks;
    jo.PublishAsync.StallWait = 60000;
    bool ok = acks.sent_ns != NULL && acks.lat_us != NULL && payload != NULL &&
              nats_check(natsConnection_JetStream(&js, nc, &jo), "jetstream") &&
              nats_make_stream(js, a, subject);
    if (ok) {
        cmp_payload(payload, a->size, 1);
        uint64_t start = cmp_now_ns();
        for (uint64_t i = 0; ok && i < a->records; i++) {
            acks.sent_ns[i] = cmp_now_ns();
            ok = nats_check(js_PublishAsync(js, subject, payload, (int)a->size, NULL), "publish");
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = NATS_COMPLETE_WAIT_MS;
        ok = ok && nats_check(js_PublishAsyncComplete(js, &po), "publish complete");
        res->seconds = (double)(cmp_now_ns() - start) / 1e9;
    }
    uint64_t acked = atomic_load(&acks.acked);
    if (ok && (acked != a->records || atomic_load(&acks.bad) != 0)) {
        fprintf(stderr, "bench-nats: %" PRIu64 " acks, %" PRIu64 " bad, expected %" PRIu64 "\n",
                acked, (uint64_t)atomic_load(&acks.bad), a->records);
        ok = false;
    }
    if (ok && nats_stream_count(js, a->stream) != a->records) {
        fprintf(stderr, "bench-nats: the stream does not hold %" PRIu64 " messages\n", a->records);
        ok = false;
    }
    if (ok) {
        for (uint64_t i = 0; i < a->records; i++) {
            cmp_lat_add(lat, (uint64_t)acks.lat_us[i] * 1000);
        }
        res->records = a->records;
        res->bytes = a->records * a->size;
    }
    jsCtx_Destroy(js);
    free(payload);
    free(acks.sent_ns);
    free(acks.lat_us);
    return ok;
}

/* Takes one fetched list: counts and checks the messages. */
static void nats_take(natsMsgList *list, struct cmp_result *res)
{
    for (int i = 0; i < list->Count; i++) {
        res->bytes += (uint64_t)natsMsg_GetDataLength(list->Msgs[i]);
    }
    res->records += (uint64_t)list->Count;
}

static bool nats_consume(natsConnection *nc,
                         const struct nats_args *a,
                         struct cmp_result *res,
                         struct cmp_lat *lat)
{
    char subject[NATS_NAME_BYTES_MAX + 8];
    char durable[NATS_NAME_BYTES_MAX + 8];
    snprintf(subject, sizeof(subject), "%s.data", a->stream);
    snprintf(durable, sizeof(durable), "%s_reader", a->stream);
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = a->stream;
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    bool ok = nats_check(natsConnection_JetStream(&js, nc, NULL), "jetstream");
    if (ok) {
        (void)js_DeleteConsumer(js, a->stream, durable, NULL, &jerr);
        ok = nats_check(js_PullSubscribe(&sub, js, subject, durable, NULL, &so, &jerr),
                        "pull subscribe");
    }
    uint64_t start = cmp_now_ns();
    while (ok && res->records < a->records) {
        natsMsgList list = { 0 };
        uint64_t left = a->records - res->records;
        int want = (int)(left < a->batch ? left : a->batch);
        uint64_t t0 = cmp_now_ns();
        natsStatus s = natsSubscription_Fetch(&list, sub, want, NATS_FETCH_WAIT_MS, &jerr);
        cmp_lat_add(lat, cmp_now_ns() - t0);
        ok = nats_check(s, "fetch");
        if (ok) {
            nats_take(&list, res);
        }
        natsMsgList_Destroy(&list);
    }
    res->seconds = (double)(cmp_now_ns() - start) / 1e9;
    if (ok && res->records != a->records) {
        fprintf(stderr, "bench-nats: read %" PRIu64 " messages, expected %" PRIu64 "\n",
                res->records, a->records);
        ok = false;
    }
    if (sub != NULL) {
        (void)natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
    jsCtx_Destroy(js);
    return ok;
}

int main(int argc, char **argv)
{
    struct nats_args a;
    if (!nats_parse_args(argc, argv, &a)) {
        fputs(nats_usage, stderr);
        return 2;
    }
    bool produce = strcmp(a.mode, "produce") == 0;
    struct cmp_result res = { .system = "nats", .workload = a.mode };
    if (produce) {
        snprintf(res.settings, sizeof(res.settings),
                 "file storage, 1 replica, js_PublishAsync, %" PRIu64 " acks pending at most",
                 a.window);
    } else {
        snprintf(res.settings, sizeof(res.settings),
                 "pull consumer, AckNone, Fetch %" PRIu64 " per call", a.batch);
    }
    struct cmp_lat lat;
    if (!cmp_lat_init(&lat, produce ? a.records : a.records / a.batch + 2)) {
        fprintf(stderr, "bench-nats: out of memory\n");
        return 1;
    }
    natsConnection *nc = NULL;
    bool ok = nats_check(natsConnection_ConnectTo(&nc, a.url), "connect");
    if (ok) {
        ok = produce ? nats_produce(nc, &a, &res, &lat) : nats_consume(nc, &a, &res, &lat);
    }
    if (ok) {
        cmp_report(&res, &lat, a.json);
    }
    natsConnection_Destroy(nc);
    nats_Close();
    cmp_lat_free(&lat);
    return ok ? 0 : 1;
}
