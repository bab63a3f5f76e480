/*
 * test_broker_wire.c - rilld on the wire: starts build/rilld (beside this binary's directory)
 * on 127.0.0.1 with an ephemeral port and a temporary data dir, and talks to it as a client,
 * a pipelining client and a hostile one. Requests are encoded by hand here, independently of
 * proto/, so that a bug shared by both ends cannot hide; responses are read with proto/mp.h.
 *
 * Every rilld this test starts is stopped by its PID: SIGTERM then SIGKILL at the end of a
 * case, from an atexit handler when a case fails, and by PR_SET_PDEATHSIG if the case dies.
 */
#define WIRE_START_TIMEOUT_MS 10000
#define WIRE_STOP_TIMEOUT_MS  5000
#include "tests/rilld_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include "proto/mp.h"

#define WIRE_IO_TIMEOUT_MS           5000
#define WIRE_API_HANDSHAKE           0
#define WIRE_ERR_INVALID_REQUEST     (-26)
#define WIRE_ERR_UNSUPPORTED_API     (-27)
#define WIRE_ERR_UNSUPPORTED_VERSION (-28)

static size_t put_u32(uint8_t *out, uint32_t value)
{
    out[0] = (uint8_t)(value >> 24);
    out[1] = (uint8_t)(value >> 16);
    out[2] = (uint8_t)(value >> 8);
    out[3] = (uint8_t)value;
    return 4;
}

/* A request frame [api, version, correlation_id] + HANDSHAKE body ["wire-test", "1"], hand
 * encoded; returns its bytes. */
static size_t encode_request(uint8_t *out, uint32_t api, uint32_t version, uint32_t correlation_id)
{
    size_t used = 4;
    out[used++] = 0x93;
    out[used++] = 0xce; /* uint32, the widest form: readers must accept any */
    used += put_u32(out + used, api);
    out[used++] = (uint8_t)version; /* positive fixint */
    out[used++] = 0xce;
    used += put_u32(out + used, correlation_id);
    static const uint8_t body[] = { 0x92, 0xa9, 'w', 'i', 'r',  'e', '-',
                                    't',  'e',  's', 't', 0xa1, '1' };
    memcpy(out + used, body, sizeof(body));
    used += sizeof(body);
    put_u32(out, (uint32_t)(used - 4));
    return used;
}

struct wire_response {
    uint32_t correlation_id;
    int32_t error;
    uint8_t body[4096];
    size_t body_bytes;
};

/* Reads one response frame and decodes its header. */
static void wire_read_response(int fd, struct wire_response *out)
{
    int64_t deadline = now_ms() + WIRE_IO_TIMEOUT_MS;
    uint8_t prefix[4];
    T_ASSERT(wire_recv_exact(fd, prefix, 4, deadline));
    uint32_t frame_bytes = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                           (uint32_t)prefix[2] << 8 | prefix[3];
    static uint8_t frame[8192];
    T_ASSERT(frame_bytes > 0 && frame_bytes <= sizeof(frame));
    T_ASSERT(wire_recv_exact(fd, frame, frame_bytes, deadline));
    struct mp_reader reader;
    mp_reader_init(&reader, frame, frame_bytes);
    uint32_t count = 0;
    T_ASSERT(mp_read_array(&reader, &count) && count == 3);
    T_ASSERT(mp_read_uint32(&reader, &out->correlation_id));
    T_ASSERT(mp_read_int32(&reader, &out->error));
    const char *message = NULL;
    uint32_t message_bytes = 0;
    T_ASSERT(mp_read_str_or_nil(&reader, &message, &message_bytes));
    T_ASSERT((out->error == 0) == (message == NULL));
    out->body_bytes = mp_reader_remaining(&reader);
    memcpy(out->body, reader.pos, out->body_bytes);
}

/* Checks a HANDSHAKE response body: [0, "rill", version, [[0, 1, 1]]]. */
static void check_handshake_body(const struct wire_response *response)
{
    T_ASSERT_EQ_INT(response->error, 0);
    struct mp_reader reader;
    mp_reader_init(&reader, response->body, response->body_bytes);
    uint32_t count = 0;
    int32_t broker_id = -1;
    const char *text = NULL;
    uint32_t text_bytes = 0;
    T_ASSERT(mp_read_array(&reader, &count) && count == 4);
    T_ASSERT(mp_read_int32(&reader, &broker_id) && broker_id == 0);
    T_ASSERT(mp_read_str(&reader, &text, &text_bytes));
    T_ASSERT(text_bytes == 4 && memcmp(text, "rill", 4) == 0);
    T_ASSERT(mp_read_str(&reader, &text, &text_bytes));
    T_ASSERT(text_bytes == strlen(RILL_VERSION_STR));
    /* Every api of docs/protocol.md (0..18, the group apis included), each at version 1, in
     * api order. */
    uint32_t api_count = 0;
    T_ASSERT(mp_read_array(&reader, &api_count) && api_count == 19);
    for (uint32_t i = 0; i < api_count; i++) {
        uint32_t api = 99, version_min = 0, version_max = 0;
        T_ASSERT(mp_read_array(&reader, &count) && count == 3);
        T_ASSERT(mp_read_uint32(&reader, &api) && api == WIRE_API_HANDSHAKE + i);
        T_ASSERT(mp_read_uint32(&reader, &version_min) && version_min == 1);
        T_ASSERT(mp_read_uint32(&reader, &version_max) && version_max == 1);
    }
    T_ASSERT_EQ_INT(mp_reader_remaining(&reader), 0);
}

static void handshake(int fd, uint32_t correlation_id)
{
    uint8_t request[64];
    size_t bytes = encode_request(request, WIRE_API_HANDSHAKE, 1, correlation_id);
    wire_send(fd, request, bytes);
    struct wire_response response;
    wire_read_response(fd, &response);
    T_ASSERT_EQ_INT(response.correlation_id, correlation_id);
    check_handshake_body(&response);
}

/* A fresh connection still gets a handshake answered: the broker survived what came before. */
static void check_serving(const struct rilld *broker)
{
    int fd = wire_connect(broker->port);
    handshake(fd, 4242);
    close(fd);
}

static void t_handshake(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    struct stat st;
    T_ASSERT(stat(broker.data_dir, &st) == 0 && S_ISDIR(st.st_mode));
    int fd = wire_connect(broker.port);
    handshake(fd, 7);
    handshake(fd, 0xfffffffeu);
    close(fd);
    rilld_stop_clean(&broker);
}

static void t_pipelined_in_order(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    int fd = wire_connect(broker.port);
    /* 300 requests in one stream: past the in-flight limit of 64, so the broker must stop
     * reading, drain, and resume, all without reordering. */
    enum { COUNT = 300 };
    static uint8_t stream[COUNT * 64];
    size_t used = 0;
    for (uint32_t i = 0; i < COUNT; i++) {
        used += encode_request(stream + used, WIRE_API_HANDSHAKE, 1, 1000 + i);
    }
    wire_send(fd, stream, used);
    for (uint32_t i = 0; i < COUNT; i++) {
        struct wire_response response;
        wire_read_response(fd, &response);
        T_ASSERT_EQ_INT(response.correlation_id, 1000 + i);
        check_handshake_body(&response);
    }
    close(fd);
    rilld_stop_clean(&broker);
}

static void t_unknown_api_keeps_connection(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    int fd = wire_connect(broker.port);
    uint8_t request[64];
    struct wire_response response;
    wire_send(fd, request, encode_request(request, 4000, 1, 11));
    wire_read_response(fd, &response);
    T_ASSERT_EQ_INT(response.correlation_id, 11);
    T_ASSERT_EQ_INT(response.error, WIRE_ERR_UNSUPPORTED_API);
    T_ASSERT(response.body_bytes == 1 && response.body[0] == 0xc0);
    /* METADATA with a HANDSHAKE-shaped body (two strings): malformed for METADATA. */
    wire_send(fd, request, encode_request(request, 1, 1, 12));
    wire_read_response(fd, &response);
    T_ASSERT_EQ_INT(response.error, WIRE_ERR_INVALID_REQUEST);
    wire_send(fd, request, encode_request(request, WIRE_API_HANDSHAKE, 9, 13));
    wire_read_response(fd, &response);
    T_ASSERT_EQ_INT(response.correlation_id, 13);
    T_ASSERT_EQ_INT(response.error, WIRE_ERR_UNSUPPORTED_VERSION);
    /* A readable header with a malformed body: ERR_INVALID_REQUEST, connection kept. */
    size_t bytes = encode_request(request, WIRE_API_HANDSHAKE, 1, 15);
    request[bytes - 13] = 0x91; /* body array of 1 instead of 2 */
    wire_send(fd, request, bytes);
    wire_read_response(fd, &response);
    T_ASSERT_EQ_INT(response.correlation_id, 15);
    T_ASSERT_EQ_INT(response.error, WIRE_ERR_INVALID_REQUEST);
    bytes = encode_request(request, WIRE_API_HANDSHAKE, 1, 16) - 13; /* no body at all */
    put_u32(request, (uint32_t)(bytes - 4));
    wire_send(fd, request, bytes);
    wire_read_response(fd, &response);
    T_ASSERT_EQ_INT(response.correlation_id, 16);
    T_ASSERT_EQ_INT(response.error, WIRE_ERR_INVALID_REQUEST);
    handshake(fd, 17);
    close(fd);
    rilld_stop_clean(&broker);
}

/* Sends bytes on a new connection and expects the broker to close it. */
static void expect_closed_after(const struct rilld *broker, const void *bytes, size_t count)
{
    int fd = wire_connect(broker->port);
    wire_send(fd, bytes, count);
    T_ASSERT(wire_closed_within(fd, WIRE_IO_TIMEOUT_MS));
    close(fd);
    check_serving(broker);
}

static void t_bad_frames_close(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    static const uint8_t zero[] = { 0, 0, 0, 0 };
    static const uint8_t too_large[] = { 0x04, 0x00, 0x00, 0x01 }; /* 64 MiB + 1 */
    static const uint8_t sign_bit[] = { 0xff, 0xff, 0xff, 0xff };
    static const uint8_t http[] = { 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P' };
    static const uint8_t bad_type[] = { 0, 0, 0, 3, 0xc1, 0xc1, 0xc1 };
    static const uint8_t str_header[] = { 0, 0, 0, 4, 0xa3, 'a', 'b', 'c' };
    static const uint8_t short_header[] = { 0, 0, 0, 3, 0x93, 0x00, 0x01 };
    expect_closed_after(&broker, zero, sizeof(zero));
    expect_closed_after(&broker, too_large, sizeof(too_large));
    expect_closed_after(&broker, sign_bit, sizeof(sign_bit));
    expect_closed_after(&broker, http, sizeof(http));
    expect_closed_after(&broker, bad_type, sizeof(bad_type));
    expect_closed_after(&broker, str_header, sizeof(str_header));
    expect_closed_after(&broker, short_header, sizeof(short_header));
    rilld_stop_clean(&broker);
}

static void t_large_frame_then_small(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    int fd = wire_connect(broker.port);
    /* 1 MiB frame for an unknown api: the buffer grows to it, answers, and shrinks back. */
    size_t frame_bytes = 1024 * 1024;
    uint8_t *frame = calloc(1, frame_bytes + 4);
    T_ASSERT(frame != NULL);
    size_t header_bytes = encode_request(frame, 77, 1, 21);
    memset(frame + header_bytes, 0xc0, frame_bytes + 4 - header_bytes); /* nils as padding */
    put_u32(frame, (uint32_t)frame_bytes);
    wire_send(fd, frame, frame_bytes + 4);
    free(frame);
    struct wire_response response;
    wire_read_response(fd, &response);
    T_ASSERT_EQ_INT(response.correlation_id, 21);
    T_ASSERT_EQ_INT(response.error, WIRE_ERR_UNSUPPORTED_API);
    handshake(fd, 22);
    close(fd);
    rilld_stop_clean(&broker);
}

/*
 * Large frames back to back keep the grown receive buffer; once the connection has been quiet
 * for RILL_CONN_RECV_KEEP_MS the tick cancels its receive to shrink the buffer, and that
 * cancellation must leave the connection open and serving.
 */
static void t_large_frames_then_quiet(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    int fd = wire_connect(broker.port);
    size_t frame_bytes = 512 * 1024;
    uint8_t *frame = calloc(1, frame_bytes + 4);
    T_ASSERT(frame != NULL);
    for (uint32_t i = 0; i < 4; i++) {
        size_t header_bytes = encode_request(frame, 77, 1, 30 + i);
        memset(frame + header_bytes, 0xc0, frame_bytes + 4 - header_bytes);
        put_u32(frame, (uint32_t)frame_bytes);
        wire_send(fd, frame, frame_bytes + 4);
        struct wire_response response;
        wire_read_response(fd, &response);
        T_ASSERT_EQ_INT(response.correlation_id, (int)(30 + i));
        T_ASSERT_EQ_INT(response.error, WIRE_ERR_UNSUPPORTED_API);
    }
    free(frame);
    handshake(fd, 40);
    /* Quiet for longer than the keep time plus a tick (at most 1 s): the buffer shrinks. */
    struct timespec quiet = { .tv_sec = 2, .tv_nsec = 500 * 1000 * 1000 };
    nanosleep(&quiet, NULL);
    handshake(fd, 41);
    handshake(fd, 42);
    close(fd);
    rilld_stop_clean(&broker);
}

/* A process's resident memory in KiB, from /proc/PID/status. */
static long rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *file = fopen(path, "r");
    T_ASSERT(file != NULL);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof(line), file) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(file);
    T_ASSERT(kib > 0);
    return kib;
}

/* User plus system CPU time of a process in clock ticks, from /proc/PID/stat. */
static long cpu_ticks(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    T_ASSERT(file != NULL);
    char text[1024];
    size_t got = fread(text, 1, sizeof(text) - 1, file);
    fclose(file);
    text[got] = '\0';
    const char *after_name = strrchr(text, ')');
    T_ASSERT(after_name != NULL);
    long user = 0, system_ticks = 0;
    /* Fields 3..13 precede utime (14) and stime (15). */
    T_ASSERT(sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &user,
                    &system_ticks) == 2);
    return user + system_ticks;
}

static void t_out_of_descriptors(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    broker.nofile = 32;
    rilld_start(&broker);
    /* More connections than the broker has descriptors: the kernel completes them into the
     * backlog and accept fails with EMFILE. The broker must neither spin nor stop serving. */
    enum { COUNT = 60 };
    int fds[COUNT];
    for (int i = 0; i < COUNT; i++) {
        fds[i] = wire_connect(broker.port);
    }
    handshake(fds[0], 1);
    long ticks_before = cpu_ticks(broker.pid);
    pause_ms(500);
    long ticks_spent = cpu_ticks(broker.pid) - ticks_before;
    T_ASSERT(ticks_spent < sysconf(_SC_CLK_TCK) / 5); /* under 20 % of one core */
    for (int i = 0; i < COUNT; i++) {
        close(fds[i]);
    }
    check_serving(&broker);
    rilld_stop_clean(&broker);
}

static void t_many_idle_connections(void)
{
    enum { IDLE = 1000 };
    struct rlimit limit;
    T_ASSERT(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    /* Both ends live here and in rilld: each needs IDLE descriptors and some spare. */
    rlim_t wanted = IDLE + 200;
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = limit.rlim_max < wanted ? limit.rlim_max : wanted;
        setrlimit(RLIMIT_NOFILE, &limit);
        if (limit.rlim_cur < wanted) {
            T_SKIP("RLIMIT_NOFILE too low for 1000 connections");
        }
    }
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    check_serving(&broker);
    long rss_before = rss_kib(broker.pid);
    static int fds[IDLE];
    for (int i = 0; i < IDLE; i++) {
        fds[i] = wire_connect(broker.port);
    }
    int64_t start = now_ms();
    check_serving(&broker);
    T_ASSERT(now_ms() - start < 1000);
    /* An idle connection costs its slot and a 4 KiB receive buffer: allow 16 KiB (sanitizer
     * builds pad allocations). */
    long rss_per_connection = (rss_kib(broker.pid) - rss_before) * 1024 / IDLE;
    T_ASSERT(rss_per_connection < 16 * 1024);
    handshake(fds[0], 1);
    handshake(fds[IDLE - 1], 2);
    for (int i = 0; i < IDLE; i++) {
        close(fds[i]);
    }
    rilld_stop_clean(&broker);
}

static void t_connections_max(void)
{
    struct rilld broker;
    rilld_prepare(&broker, "connections.max = 2\n");
    rilld_start(&broker);
    int first = wire_connect(broker.port);
    int second = wire_connect(broker.port);
    handshake(first, 1);
    handshake(second, 2);
    int third = wire_connect(broker.port);
    T_ASSERT(wire_closed_within(third, WIRE_IO_TIMEOUT_MS));
    close(third);
    close(first);
    /* A slot frees once the broker sees the close: poll until a new connection is served. */
    int64_t deadline = now_ms() + WIRE_IO_TIMEOUT_MS;
    bool served = false;
    while (!served && now_ms() < deadline) {
        int fd = wire_connect(broker.port);
        uint8_t request[64];
        wire_send(fd, request, encode_request(request, WIRE_API_HANDSHAKE, 1, 3));
        uint8_t prefix[4];
        served = wire_recv_exact(fd, prefix, 4, now_ms() + 1000);
        close(fd);
    }
    T_ASSERT(served);
    close(second);
    rilld_stop_clean(&broker);
}

static void t_slowloris_frame_timeout(void)
{
    struct rilld broker;
    rilld_prepare(&broker, "frame.timeout.ms = 300\n");
    rilld_start(&broker);
    int fd = wire_connect(broker.port);
    uint8_t request[64];
    size_t bytes = encode_request(request, WIRE_API_HANDSHAKE, 1, 5);
    int64_t start = now_ms();
    wire_send(fd, request, bytes - 3); /* never completes */
    T_ASSERT(wire_closed_within(fd, WIRE_IO_TIMEOUT_MS));
    int64_t elapsed = now_ms() - start;
    T_ASSERT(elapsed >= 250);
    close(fd);
    check_serving(&broker);
    rilld_stop_clean(&broker);
}

static void t_idle_timeout(void)
{
    struct rilld broker;
    rilld_prepare(&broker, "idle.timeout.ms = 300\n");
    rilld_start(&broker);
    int fd = wire_connect(broker.port);
    handshake(fd, 1);
    int64_t start = now_ms();
    T_ASSERT(wire_closed_within(fd, WIRE_IO_TIMEOUT_MS));
    T_ASSERT(now_ms() - start >= 250);
    close(fd);
    check_serving(&broker);
    rilld_stop_clean(&broker);
}

static void t_sigterm_clean_exit(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    int idle = wire_connect(broker.port);
    int busy = wire_connect(broker.port);
    handshake(busy, 1);
    int64_t start = now_ms();
    rilld_stop_clean(&broker);
    T_ASSERT(now_ms() - start < 2000);
    T_ASSERT(wire_closed_within(idle, 1000));
    T_ASSERT(wire_closed_within(busy, 1000));
    close(idle);
    close(busy);
}

static void t_kill9_restart(void)
{
    struct rilld broker;
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    check_serving(&broker);
    kill(broker.pid, SIGKILL);
    int status = rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS);
    T_ASSERT(status != -1 && WIFSIGNALED(status));
    int64_t start = now_ms();
    rilld_start(&broker); /* same data dir */
    check_serving(&broker);
    T_ASSERT(now_ms() - start < 1000);
    rilld_stop_clean(&broker);
}

static void t_bad_config_exit_2(void)
{
    struct rilld broker;
    rilld_prepare(&broker, "no.such.setting = 1\n");
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        char config_path[600];
        snprintf(config_path, sizeof(config_path), "%s/rilld.conf", broker.dir);
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, STDERR_FILENO);
        execl(rilld_path, "rilld", "--listen", "127.0.0.1:0", "--config", config_path,
              (char *)NULL);
        _exit(127);
    }
    track_pid(pid, true);
    broker.pid = pid;
    int status = rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS);
    T_ASSERT(status != -1 && WIFEXITED(status));
    T_ASSERT_EQ_INT(WEXITSTATUS(status), 2);
}

static const struct t_case cases[] = {
    T_CASE(t_handshake),
    T_CASE(t_pipelined_in_order),
    T_CASE(t_unknown_api_keeps_connection),
    T_CASE(t_bad_frames_close),
    T_CASE(t_large_frame_then_small),
    T_CASE(t_large_frames_then_quiet),
    T_CASE(t_many_idle_connections),
    T_CASE(t_out_of_descriptors),
    T_CASE(t_connections_max),
    T_CASE(t_slowloris_frame_timeout),
    T_CASE(t_idle_timeout),
    T_CASE(t_sigterm_clean_exit),
    T_CASE(t_kill9_restart),
    T_CASE(t_bad_config_exit_2),
};

int main(int argc, char **argv)
{
    rilld_fixture_init(argv[0]);
    return t_run(argc, argv, cases, T_COUNT(cases));
}
