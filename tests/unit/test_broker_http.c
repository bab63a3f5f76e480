/*
 * test_broker_http.c - the broker's HTTP endpoint and metrics: the request head checker and
 * the metrics text builder as pure functions, then a real rilld (tests/rilld_fixture.h) for
 * /health, /metrics, the error statuses, the connection bound and read deadline, the native
 * port surviving HTTP abuse, /health saying 503 during a stuck drain, and shutdown.timeout.ms
 * cutting a client that never reads.
 */
#include "tests/rilld_fixture.h"

#include <stdlib.h>

#include "common/clock.h"
#include "broker/config.h"
#include "broker/http.h"
#include "broker/loop.h"
#include "broker/metrics.h"

#define HTTP_IO_TIMEOUT_MS 10000

/* ---------------------------------------------------------------------------------------- */
/* Request head checking                                                                      */
/* ---------------------------------------------------------------------------------------- */

static int check(const char *head)
{
    const char *path = NULL;
    size_t path_bytes = 0;
    return http_request_check(head, strlen(head), &path, &path_bytes);
}

static void t_check_valid(void)
{
    const char *head = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    const char *path = NULL;
    size_t path_bytes = 0;
    T_ASSERT_EQ_INT(http_request_check(head, strlen(head), &path, &path_bytes), 200);
    T_ASSERT(path_bytes == 8 && memcmp(path, "/metrics", 8) == 0);
    T_ASSERT_EQ_INT(check("GET /health HTTP/1.0\r\n\r\n"), 200); /* 1.0 needs no Host */
    T_ASSERT_EQ_INT(check("GET / HTTP/1.1\r\nhost:x\r\nContent-Length: 0\r\n\r\n"), 200);
    /* Bytes after the head (a body or a pipelined request) are not looked at. */
    T_ASSERT_EQ_INT(check("GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\n"), 200);
}

static void t_check_incomplete(void)
{
    T_ASSERT_EQ_INT(check(""), 0);
    T_ASSERT_EQ_INT(check("GET /health HTTP/1.1\r\nHost: x\r\n"), 0);
    T_ASSERT_EQ_INT(check("GET /health HTTP/1.1\r\nHost: x\r\n\r"), 0);
    static char big[HTTP_HEAD_BYTES_MAX];
    memset(big, 'a', sizeof(big));
    const char *path = NULL;
    size_t path_bytes = 0;
    T_ASSERT_EQ_INT(http_request_check(big, sizeof(big), &path, &path_bytes), 431);
    T_ASSERT_EQ_INT(http_request_check(big, sizeof(big) - 1, &path, &path_bytes), 0);
}

static void t_check_rejects(void)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        { "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
        { "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
        { "get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
        { "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
        { "GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n", 505 },
        { "GET /metrics HTTP/1.1\r\n\r\n", 400 },                       /* no Host */
        { "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 }, /* two */
        { "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\nHost: a\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400 },
        { "GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
        { "GET http://a/metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
        { "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
        { "GET /metrics\r\nHost: a\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
        { "GET /metrics HTTX/1.1\r\nHost: a\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
        { "GET /metrics HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400 },
        { "\r\n\r\n", 400 },
    };
    for (size_t i = 0; i < T_COUNT(cases); i++) {
        int status = check(cases[i].head);
        if (status != cases[i].status) {
            T_FAIL("case %zu: %d, expected %d", i, status, cases[i].status);
        }
    }
    /* A NUL inside the head. */
    static const char nul[] = "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *path = NULL;
    size_t path_bytes = 0;
    T_ASSERT_EQ_INT(http_request_check(nul, sizeof(nul) - 1, &path, &path_bytes), 400);
}

/* ---------------------------------------------------------------------------------------- */
/* Metrics text and counting                                                                  */
/* ---------------------------------------------------------------------------------------- */

static void t_text_escaping(void)
{
    struct metrics_text text;
    metrics_text_init(&text, 1 << 20);
    metrics_text_family(&text, "x_total", "counter", "line\\one\nline \"two\"");
    struct metrics_label labels[] = { { "a", "q\"b\\s\nn" }, { "b", "" } };
    metrics_text_u64(&text, "x_total", labels, 2, UINT64_MAX);
    metrics_text_i64(&text, "y", NULL, 0, -5);
    metrics_text_f64(&text, "z", NULL, 0, 0.25);
    metrics_text_partition(&text, "p", "t\"1", 7, 42);
    T_ASSERT_EQ_INT(text.err, RILL_OK);
    const char *expected = "# HELP x_total line\\\\one\\nline \"two\"\n"
                           "# TYPE x_total counter\n"
                           "x_total{a=\"q\\\"b\\\\s\\nn\",b=\"\"} 18446744073709551615\n"
                           "y -5\n"
                           "z 0.25\n"
                           "p{topic=\"t\\\"1\",partition=\"7\"} 42\n";
    if (strcmp(text.data, expected) != 0) {
        T_FAIL("text:\n%s", text.data);
    }
    T_ASSERT_EQ_INT(text.bytes, strlen(expected));
    metrics_text_deinit(&text);
}

static void t_text_limit(void)
{
    struct metrics_text text;
    metrics_text_init(&text, 100);
    for (int i = 0; i < 20; i++) {
        metrics_text_u64(&text, "some_metric_total", NULL, 0, (uint64_t)i);
    }
    T_ASSERT_EQ_INT(text.err, RILL_ERR_TOO_LARGE);
    T_ASSERT(text.bytes <= 100);
    metrics_text_deinit(&text);
}

static unsigned extra_calls;

static void extra_render(struct broker_core *core, struct metrics_text *text)
{
    (void)core;
    extra_calls++;
    metrics_text_family(text, "rill_partition_end_offset", "gauge", "End offset.");
    metrics_text_partition(text, "rill_partition_end_offset", "demo", 0, 12);
}

/* The value of the sample line that starts with prefix (name and labels, then a space). */
static bool sample_value(const char *text, const char *prefix, double *out)
{
    size_t prefix_bytes = strlen(prefix);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, prefix, prefix_bytes) == 0 && line[prefix_bytes] == ' ') {
            *out = strtod(line + prefix_bytes + 1, NULL);
            return true;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return false;
}

static void t_request_done_render(void)
{
    static struct broker_config cfg;
    config_init_defaults(&cfg);
    snprintf(cfg.cluster_id, sizeof(cfg.cluster_id), "c\"x");
    static struct broker_core core;
    core.cfg = &cfg;
    core.conn_count = 3;
    core.conn_count_published = 3;
    int64_t now = rill_clock_mono_ns();
    metrics_core_init(&core.metrics, now - 2000000000ll);
    metrics_request_done(&core, PROTO_API_PRODUCE, RILL_OK, 100, 20, now - 1000); /* ~1 us */
    metrics_request_done(&core, PROTO_API_PRODUCE, RILL_ERR_TOO_LARGE, 50, 10, now - 300000000);
    metrics_request_done(&core, 99, RILL_ERR_UNSUPPORTED_API, 7, 5, now);
    metrics_request_done(&core, METRICS_API_UNKNOWN, RILL_ERR_INVALID_REQUEST, 9, 0, now);
    metrics_add(&core.metrics.connections_accepted, 4);
    core.metrics.render_extra = extra_render;
    struct metrics_text text;
    metrics_text_init(&text, METRICS_TEXT_BYTES_MAX);
    struct broker_core *cores[] = { &core };
    metrics_render(cores, 1, &text);
    T_ASSERT_EQ_INT(text.err, RILL_OK);
    T_ASSERT_EQ_INT(extra_calls, 1);
    static const struct {
        const char *series;
        double value;
    } expected[] = {
        { "rill_api_requests_total{api=\"produce\"}", 2 },
        { "rill_api_errors_total{api=\"produce\"}", 1 },
        { "rill_api_received_bytes_total{api=\"produce\"}", 150 },
        { "rill_api_sent_bytes_total{api=\"produce\"}", 30 },
        { "rill_api_requests_total{api=\"fetch\"}", 0 },
        { "rill_api_requests_total{api=\"unknown\"}", 2 },
        { "rill_api_errors_total{api=\"unknown\"}", 2 },
        { "rill_api_latency_seconds_bucket{api=\"produce\",le=\"5e-05\"}", 1 },
        { "rill_api_latency_seconds_bucket{api=\"produce\",le=\"0.25\"}", 1 },
        { "rill_api_latency_seconds_bucket{api=\"produce\",le=\"0.5\"}", 2 },
        { "rill_api_latency_seconds_bucket{api=\"produce\",le=\"+Inf\"}", 2 },
        { "rill_api_latency_seconds_count{api=\"produce\"}", 2 },
        { "rill_connections_open", 3 },
        { "rill_connections_accepted_total", 4 },
        { "rill_connections_refused_total", 0 },
        { "rill_build_info{version=\"" RILL_VERSION_STR "\"}", 1 },
        { "rill_broker_info{broker_id=\"0\",cluster_id=\"c\\\"x\"}", 1 },
        { "rill_partition_end_offset{topic=\"demo\",partition=\"0\"}", 12 },
    };
    for (size_t i = 0; i < T_COUNT(expected); i++) {
        double value = -1;
        if (!sample_value(text.data, expected[i].series, &value) || value != expected[i].value) {
            T_FAIL("%s: %g, expected %g", expected[i].series, value, expected[i].value);
        }
    }
    double sum = 0;
    T_ASSERT(sample_value(text.data, "rill_api_latency_seconds_sum{api=\"produce\"}", &sum));
    T_ASSERT(sum >= 0.3 && sum < 0.31);
    double uptime = 0;
    T_ASSERT(sample_value(text.data, "rill_uptime_seconds", &uptime) && uptime >= 2);
    T_ASSERT(strstr(text.data, "# TYPE rill_api_latency_seconds histogram\n") != NULL);
    metrics_text_deinit(&text);
}

/* rill_log_sync_seconds: the per-core sync histograms summed, cumulative, ending in +Inf. */
static void t_log_sync_render(void)
{
    static struct broker_config cfg;
    config_init_defaults(&cfg);
    static struct broker_core core0, core1;
    struct broker_core *cores[] = { &core0, &core1 };
    for (unsigned i = 0; i < 2; i++) {
        cores[i]->cfg = &cfg;
        metrics_core_init(&cores[i]->metrics, rill_clock_mono_ns());
    }
    log_sync_stats_record(&core0.metrics.log_sync, 40000);      /* le 5e-05 */
    log_sync_stats_record(&core0.metrics.log_sync, 180000);     /* le 0.0002 */
    log_sync_stats_record(&core1.metrics.log_sync, 190000);     /* le 0.0002 */
    log_sync_stats_record(&core1.metrics.log_sync, 6000000);    /* le 0.0075 */
    log_sync_stats_record(&core1.metrics.log_sync, 3000000000); /* +Inf */
    struct metrics_text text;
    metrics_text_init(&text, METRICS_TEXT_BYTES_MAX);
    metrics_render(cores, 2, &text);
    T_ASSERT_EQ_INT(text.err, RILL_OK);
    T_ASSERT(strstr(text.data, "# TYPE rill_log_sync_seconds histogram\n") != NULL);
    static const struct {
        const char *series;
        double value;
    } expected[] = {
        { "rill_log_sync_seconds_bucket{le=\"5e-05\"}", 1 },
        { "rill_log_sync_seconds_bucket{le=\"0.00015\"}", 1 },
        { "rill_log_sync_seconds_bucket{le=\"0.0002\"}", 3 },
        { "rill_log_sync_seconds_bucket{le=\"0.005\"}", 3 },
        { "rill_log_sync_seconds_bucket{le=\"0.0075\"}", 4 },
        { "rill_log_sync_seconds_bucket{le=\"1\"}", 4 },
        { "rill_log_sync_seconds_bucket{le=\"+Inf\"}", 5 },
        { "rill_log_sync_seconds_count", 5 },
    };
    for (size_t i = 0; i < T_COUNT(expected); i++) {
        double value = -1;
        if (!sample_value(text.data, expected[i].series, &value) || value != expected[i].value) {
            T_FAIL("%s: %g, expected %g", expected[i].series, value, expected[i].value);
        }
    }
    /* Cumulative: every bucket line is at least the one before it. */
    double previous = 0;
    unsigned lines = 0;
    for (const char *at = strstr(text.data, "rill_log_sync_seconds_bucket{"); at != NULL;
         at = strstr(at + 1, "rill_log_sync_seconds_bucket{")) {
        const char *space = strchr(at, ' ');
        T_ASSERT(space != NULL);
        double value = strtod(space + 1, NULL);
        T_ASSERT(value >= previous);
        previous = value;
        lines++;
    }
    T_ASSERT_EQ_INT(lines, LOG_SYNC_BUCKETS + 1);
    double sum = 0;
    T_ASSERT(sample_value(text.data, "rill_log_sync_seconds_sum", &sum));
    T_ASSERT(sum > 3.0063 && sum < 3.0065);
    metrics_text_deinit(&text);
}

/* ---------------------------------------------------------------------------------------- */
/* A real rilld                                                                               */
/* ---------------------------------------------------------------------------------------- */

struct http_broker {
    struct rilld rilld;
    uint16_t http_port;
};

/* Starts rilld with config_text (the fixture reads its "listening" and "http" lines). */
static void http_broker_start(struct http_broker *broker, const char *config_text)
{
    rilld_prepare(&broker->rilld, config_text);
    rilld_start(&broker->rilld);
    broker->http_port = broker->rilld.http_port;
}

struct http_reply {
    int status;
    char text[1 << 20]; /* the whole reply, head and body, NUL-terminated */
    size_t bytes;
    const char *body;
};

/* Reads until the server closes; fills reply (status 0 when there was no status line). */
static void http_read_reply(int fd, struct http_reply *reply)
{
    reply->bytes = 0;
    reply->status = 0;
    int64_t deadline = now_ms() + HTTP_IO_TIMEOUT_MS;
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int64_t left = deadline - now_ms();
        T_ASSERT(left > 0);
        if (poll(&pfd, 1, (int)left) <= 0) {
            continue;
        }
        T_ASSERT(reply->bytes < sizeof(reply->text) - 1);
        ssize_t got =
            recv(fd, reply->text + reply->bytes, sizeof(reply->text) - 1 - reply->bytes, 0);
        if (got <= 0) {
            break;
        }
        reply->bytes += (size_t)got;
    }
    reply->text[reply->bytes] = '\0';
    sscanf(reply->text, "HTTP/1.1 %d ", &reply->status);
    const char *body = strstr(reply->text, "\r\n\r\n");
    reply->body = body != NULL ? body + 4 : "";
}

/* Sends request bytes on a new connection and reads the reply. */
static void
http_exchange(uint16_t port, const char *request, size_t bytes, struct http_reply *reply)
{
    int fd = wire_connect(port);
    wire_send(fd, request, bytes);
    http_read_reply(fd, reply);
    close(fd);
}

static void http_get(uint16_t port, const char *path, struct http_reply *reply)
{
    char request[512];
    int bytes =
        snprintf(request, sizeof(request),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: rill-test\r\n\r\n", path);
    http_exchange(port, request, (size_t)bytes, reply);
}

/* One HANDSHAKE on the native port (frame hand encoded: [0, 1, id] ["t", "1"]), answered. */
static void native_handshake(uint16_t port)
{
    static const uint8_t frame[] = {
        0, 0, 0, 9, 0x93, 0x00, 0x01, 0x05, 0x92, 0xa1, 't', 0xa1, '1'
    };
    int fd = wire_connect(port);
    wire_send(fd, frame, sizeof(frame));
    uint8_t prefix[4];
    int64_t deadline = now_ms() + HTTP_IO_TIMEOUT_MS;
    T_ASSERT(wire_recv_exact(fd, prefix, 4, deadline));
    uint32_t bytes = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                     (uint32_t)prefix[2] << 8 | prefix[3];
    T_ASSERT(bytes > 3 && bytes < 4096);
    uint8_t body[4096];
    T_ASSERT(wire_recv_exact(fd, body, bytes, deadline));
    /* [correlation 5, error 0, nil] */
    T_ASSERT(body[0] == 0x93 && body[1] == 0x05 && body[2] == 0x00 && body[3] == 0xc0);
    close(fd);
}

static double metric(uint16_t http_port, const char *series)
{
    static struct http_reply reply;
    http_get(http_port, "/metrics", &reply);
    T_ASSERT_EQ_INT(reply.status, 200);
    double value = -1;
    if (!sample_value(reply.body, series, &value)) {
        T_FAIL("no %s in /metrics", series);
    }
    return value;
}

static void t_endpoints(void)
{
    static struct http_broker broker;
    http_broker_start(&broker, "cluster.id = test\n");
    static struct http_reply reply;
    uint16_t port = broker.http_port;

    http_get(port, "/health", &reply);
    T_ASSERT_EQ_INT(reply.status, 200);
    T_ASSERT(strstr(reply.text, "Content-Type: application/json\r\n") != NULL);
    T_ASSERT(strstr(reply.text, "Connection: close\r\n") != NULL);
    T_ASSERT(strncmp(reply.body, "{\"status\":\"ok\"", 14) == 0);
    T_ASSERT(strstr(reply.body, "\"cluster_id\":\"test\"") != NULL);

    http_get(port, "/metrics?x", &reply);
    T_ASSERT_EQ_INT(reply.status, 200);
    T_ASSERT(strstr(reply.text, "Content-Type: text/plain; version=0.0.4") != NULL);
    char length[64];
    snprintf(length, sizeof(length), "Content-Length: %zu\r\n", strlen(reply.body));
    T_ASSERT(strstr(reply.text, length) != NULL);
    T_ASSERT(strstr(reply.body, "# TYPE rill_api_requests_total counter\n") != NULL);

    double before = metric(port, "rill_api_requests_total{api=\"handshake\"}");
    double bytes_before = metric(port, "rill_api_received_bytes_total{api=\"handshake\"}");
    native_handshake(broker.rilld.port);
    native_handshake(broker.rilld.port);
    T_ASSERT(metric(port, "rill_api_requests_total{api=\"handshake\"}") == before + 2);
    T_ASSERT(metric(port, "rill_api_received_bytes_total{api=\"handshake\"}") == bytes_before + 26);
    T_ASSERT(metric(port, "rill_api_latency_seconds_count{api=\"handshake\"}") == before + 2);
    T_ASSERT(metric(port, "rill_connections_accepted_total") == 2);

    http_get(port, "/nothing", &reply);
    T_ASSERT_EQ_INT(reply.status, 404);
    static const char post[] = "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    http_exchange(port, post, sizeof(post) - 1, &reply);
    T_ASSERT_EQ_INT(reply.status, 405);
    T_ASSERT(strstr(reply.text, "Allow: GET\r\n") != NULL);
    static const char v2[] = "GET /health HTTP/2.0\r\nHost: a\r\n\r\n";
    http_exchange(port, v2, sizeof(v2) - 1, &reply);
    T_ASSERT_EQ_INT(reply.status, 505);
    static const char junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";
    http_exchange(port, junk, sizeof(junk) - 1, &reply);
    T_ASSERT_EQ_INT(reply.status, 400);

    /* An oversized head: 431 arrives whole although the client sends more than is read. */
    static char big[3 * HTTP_HEAD_BYTES_MAX];
    int used = snprintf(big, sizeof(big), "GET /health HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(big + used, 'x', sizeof(big) - (size_t)used);
    http_exchange(port, big, sizeof(big), &reply);
    T_ASSERT_EQ_INT(reply.status, 431);

    T_ASSERT(metric(port, "rill_http_requests_total{code=\"4xx\"}") >= 3);
    T_ASSERT(metric(port, "rill_http_requests_total{code=\"5xx\"}") >= 1);
    native_handshake(broker.rilld.port);
    rilld_stop_clean(&broker.rilld);
}

/* Counts the fds of fds[0..count) that the peer closes (marking them -1), until target of them
 * are or timeout_ms passed. */
static unsigned closed_within(int *fds, unsigned count, unsigned target, int64_t timeout_ms)
{
    unsigned closed = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (closed < target && now_ms() < deadline) {
        static struct pollfd pfds[256];
        T_ASSERT(count <= T_COUNT(pfds));
        for (unsigned i = 0; i < count; i++) {
            pfds[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN }; /* -1: ignored */
        }
        if (poll(pfds, count, (int)(deadline - now_ms())) <= 0) {
            continue;
        }
        for (unsigned i = 0; i < count; i++) {
            if (fds[i] >= 0 && (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                char scratch[256];
                ssize_t got = recv(fds[i], scratch, sizeof(scratch), MSG_DONTWAIT);
                if (got == 0 || (got < 0 && errno != EAGAIN)) {
                    close(fds[i]);
                    fds[i] = -1;
                    closed++;
                }
            }
        }
    }
    return closed;
}

static void t_connections_bounded(void)
{
    static struct http_broker broker;
    http_broker_start(&broker, NULL);
    enum { EXTRA = 16 };
    int fds[HTTP_CONNECTIONS_MAX + EXTRA];
    for (unsigned i = 0; i < T_COUNT(fds); i++) {
        fds[i] = wire_connect(broker.http_port);
        if (i % 2 == 0) {
            wire_send(fds[i], "GET /health HTTP/1.1\r\n", 22); /* a head never finished */
        }
    }
    /* Past the bound, connections are closed at once; the rest wait for the read deadline. */
    unsigned closed = closed_within(fds, T_COUNT(fds), EXTRA, HTTP_READ_TIMEOUT_MS / 2);
    T_ASSERT(closed >= EXTRA);
    /* The native port is served meanwhile. */
    native_handshake(broker.rilld.port);
    closed += closed_within(fds, T_COUNT(fds), T_COUNT(fds) - closed, HTTP_READ_TIMEOUT_MS + 10000);
    T_ASSERT_EQ_INT(closed, T_COUNT(fds));
    static struct http_reply reply;
    http_get(broker.http_port, "/health", &reply);
    T_ASSERT_EQ_INT(reply.status, 200);
    T_ASSERT(metric(broker.http_port, "rill_http_connections_refused_total") >= EXTRA);
    native_handshake(broker.rilld.port);
    rilld_stop_clean(&broker.rilld);
}

/*
 * A client that pipelines requests and never reads: once the broker stops reading it (its
 * responses cannot leave), SIGTERM starts a drain that cannot finish. /health says 503 during
 * it, and shutdown.timeout.ms cuts the connection so rilld still exits 0.
 */
static void t_shutdown_cuts_non_reader(void)
{
    static struct http_broker broker;
    http_broker_start(&broker, "shutdown.timeout.ms = 2000\n");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    T_ASSERT(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(broker.rilld.port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    T_ASSERT(connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0);
    static const uint8_t frame[] = {
        0, 0, 0, 9, 0x93, 0x00, 0x01, 0x05, 0x92, 0xa1, 't', 0xa1, '1'
    };
    static uint8_t chunk[sizeof(frame) * 1000];
    for (size_t i = 0; i < 1000; i++) {
        memcpy(chunk + i * sizeof(frame), frame, sizeof(frame));
    }
    /* Send until sends have been refused for a while: the broker no longer reads. */
    size_t offset = 0;
    int64_t blocked_since = 0;
    int64_t give_up = now_ms() + 30000;
    while (blocked_since == 0 || now_ms() - blocked_since < 1000) {
        T_ASSERT(now_ms() < give_up);
        ssize_t sent =
            send(fd, chunk + offset, sizeof(chunk) - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent > 0) {
            offset = (offset + (size_t)sent) % sizeof(chunk);
            blocked_since = 0;
        } else {
            T_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
            if (blocked_since == 0) {
                blocked_since = now_ms();
            }
            pause_ms(20);
        }
    }
    kill(broker.rilld.pid, SIGTERM);
    static struct http_reply reply;
    http_get(broker.http_port, "/health", &reply);
    T_ASSERT_EQ_INT(reply.status, 503);
    T_ASSERT(strstr(reply.body, "\"status\":\"shutting_down\"") != NULL);
    int status = rilld_wait(&broker.rilld, 2000 + 20000);
    T_ASSERT(status != -1);
    T_ASSERT(WIFEXITED(status));
    T_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
    close(fd);
}

/* A second rilld on the same data directory exits 1 and names the problem; the first serves on. */
static void t_data_dir_lock(void)
{
    static struct http_broker broker;
    http_broker_start(&broker, NULL);
    char err_path[600];
    snprintf(err_path, sizeof(err_path), "%s/second.err", broker.rilld.dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(err_fd, STDERR_FILENO);
        execl(rilld_path, "rilld", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data",
              broker.rilld.data_dir, (char *)NULL);
        _exit(127);
    }
    track_pid(pid, true);
    struct rilld second = { .pid = pid };
    int status = rilld_wait(&second, HTTP_IO_TIMEOUT_MS);
    T_ASSERT(status != -1);
    T_ASSERT(WIFEXITED(status));
    T_ASSERT_EQ_INT(WEXITSTATUS(status), 1);
    FILE *file = fopen(err_path, "r");
    T_ASSERT(file != NULL);
    char message[1024] = "";
    T_ASSERT(fgets(message, sizeof(message), file) != NULL);
    fclose(file);
    T_ASSERT(strstr(message, "in use by another rilld") != NULL);
    native_handshake(broker.rilld.port);
    rilld_stop_clean(&broker.rilld);
    /* Released at exit: the directory can be served again. */
    http_broker_start(&broker, NULL);
    rilld_stop_clean(&broker.rilld);
}

/* A listening socket on 127.0.0.1:port (0: any free port); returns it, *out_port its port.
 * -1 when the port is taken by someone else (then it is taken anyway). */
static int listen_on(uint16_t port, uint16_t *out_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    T_ASSERT(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        T_ASSERT(errno == EADDRINUSE);
        close(fd);
        return -1;
    }
    T_ASSERT(listen(fd, 4) == 0);
    socklen_t bytes = sizeof(address);
    T_ASSERT(getsockname(fd, (struct sockaddr *)&address, &bytes) == 0);
    *out_port = ntohs(address.sin_port);
    return fd;
}

/* Runs rilld with --listen 127.0.0.1:0, --data and the extra flags (NULL-terminated, at most
 * 4); stdout and stderr go to DIR/NAME.out and DIR/NAME.err. Returns its pid. */
static pid_t run_rilld(struct rilld *broker, const char *name, const char *const *extra)
{
    char out_path[600];
    char err_path[600];
    snprintf(out_path, sizeof(out_path), "%s/%s.out", broker->dir, name);
    snprintf(err_path, sizeof(err_path), "%s/%s.err", broker->dir, name);
    const char *argv[16] = { "rilld", "--listen", "127.0.0.1:0", "--data", broker->data_dir };
    size_t argc = 5;
    for (size_t i = 0; extra[i] != NULL; i++) {
        T_ASSERT(argc < T_COUNT(argv) - 1);
        argv[argc++] = extra[i];
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out_fd, STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        execv(rilld_path, (char *const *)argv);
        _exit(127);
    }
    track_pid(pid, true);
    return pid;
}

/* The whole of DIR/NAME (a small output file), NUL-terminated, in a static buffer. */
static const char *read_output(const struct rilld *broker, const char *name)
{
    static char text[4096];
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", broker->dir, name);
    FILE *file = fopen(path, "r");
    T_ASSERT(file != NULL);
    size_t bytes = fread(text, 1, sizeof(text) - 1, file);
    fclose(file);
    text[bytes] = '\0';
    return text;
}

/* The default HTTP address taken (by this test or anyone): rilld warns and serves without HTTP.
 * An address the operator chose that is taken: rilld exits 1. */
static void t_http_port_taken(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    uint16_t default_port = 0;
    int holder = listen_on(9701, &default_port); /* -1: someone else holds it */
    static const char *const no_flags[] = { NULL };
    broker.pid = run_rilld(&broker, "default", no_flags);
    const char *out = "";
    int64_t deadline = now_ms() + WIRE_START_TIMEOUT_MS;
    while (strchr(out, '\n') == NULL) {
        T_ASSERT(now_ms() < deadline);
        pause_ms(10);
        out = read_output(&broker, "default.out");
    }
    unsigned port = 0;
    T_ASSERT(sscanf(out, "listening 127.0.0.1:%u\n", &port) == 1);
    T_ASSERT(strstr(out, "\nhttp ") == NULL);
    T_ASSERT(strstr(read_output(&broker, "default.err"), "HTTP not served") != NULL);
    native_handshake((uint16_t)port);
    rilld_stop_clean(&broker);

    uint16_t taken_port = 0;
    int taken = listen_on(0, &taken_port);
    T_ASSERT(taken >= 0);
    char http[32];
    snprintf(http, sizeof(http), "127.0.0.1:%u", (unsigned)taken_port);
    const char *const flags[] = { "--http", http, NULL };
    broker.pid = run_rilld(&broker, "chosen", flags);
    int status = rilld_wait(&broker, HTTP_IO_TIMEOUT_MS);
    T_ASSERT(status != -1 && WIFEXITED(status));
    T_ASSERT_EQ_INT(WEXITSTATUS(status), 1);
    T_ASSERT(strstr(read_output(&broker, "chosen.err"), "cannot serve HTTP") != NULL);
    close(taken);
    if (holder >= 0) {
        close(holder);
    }
}

static const struct t_case cases[] = {
    T_CASE(t_check_valid),         T_CASE(t_check_incomplete),
    T_CASE(t_check_rejects),       T_CASE(t_text_escaping),
    T_CASE(t_text_limit),          T_CASE(t_request_done_render),
    T_CASE(t_log_sync_render),     T_CASE(t_endpoints),
    T_CASE(t_connections_bounded), T_CASE(t_shutdown_cuts_non_reader),
    T_CASE(t_data_dir_lock),       T_CASE(t_http_port_taken),
};

int main(int argc, char **argv)
{
    rilld_fixture_init(argv[0]);
    return t_run(argc, argv, cases, T_COUNT(cases));
}
