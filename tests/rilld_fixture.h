/*
 * rilld_fixture.h - starting and stopping real rilld processes from C tests, and raw socket
 * helpers to talk to them.
 *
 * A test binary lives in BUILD/tests/; rilld_fixture_init(argv[0]) finds BUILD/rilld. Every
 * broker a case starts listens on 127.0.0.1 with an ephemeral port (read from its "listening"
 * line) and a data dir in the case's temporary directory, and is stopped by its PID: SIGTERM
 * then SIGKILL by rilld_stop(), from an atexit handler when a case fails first, and by
 * PR_SET_PDEATHSIG if the case process dies.
 *
 * Everything is static: each test binary uses a different subset.
 */
#ifndef RILL_TESTS_RILLD_FIXTURE_H
#define RILL_TESTS_RILLD_FIXTURE_H

#include "tests/harness.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#ifndef WIRE_START_TIMEOUT_MS
#define WIRE_START_TIMEOUT_MS 10000
#endif
#ifndef WIRE_STOP_TIMEOUT_MS
#define WIRE_STOP_TIMEOUT_MS 5000
#endif

static char rilld_path[4096];

struct rilld {
    pid_t pid;
    uint16_t port;
    uint16_t http_port; /* --http 127.0.0.1:0, as printed */
    char dir[256];      /* temporary directory of the case */
    char data_dir[512]; /* --data */
    rlim_t nofile;      /* RLIMIT_NOFILE of the broker; 0 = inherited */
};

/* Started brokers of this case, killed at exit if the case fails before stopping them. */
static pid_t started_pids[8];
static char started_dir[256];

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void pause_ms(int64_t ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static inline void cleanup_at_exit(void)
{
    for (size_t i = 0; i < T_COUNT(started_pids); i++) {
        if (started_pids[i] > 0) {
            kill(started_pids[i], SIGKILL);
            waitpid(started_pids[i], NULL, 0);
            started_pids[i] = 0;
        }
    }
    if (started_dir[0] != '\0') {
        t_rmdir_all(started_dir);
        started_dir[0] = '\0';
    }
}

static inline void track_pid(pid_t pid, bool add)
{
    for (size_t i = 0; i < T_COUNT(started_pids); i++) {
        if (add ? started_pids[i] == 0 : started_pids[i] == pid) {
            started_pids[i] = add ? pid : 0;
            return;
        }
    }
    T_FAIL("too many brokers in one case");
}

/* Makes the case's temporary directory (data dir and config file live in it). */
static inline void rilld_prepare(struct rilld *broker, const char *config_text)
{
    if (access(rilld_path, X_OK) != 0) {
        T_SKIP("rilld is not built");
    }
    memset(broker, 0, sizeof(*broker));
    if (started_dir[0] == '\0') {
        t_mkdtemp(started_dir, sizeof(started_dir));
        atexit(cleanup_at_exit);
    }
    snprintf(broker->dir, sizeof(broker->dir), "%s", started_dir);
    snprintf(broker->data_dir, sizeof(broker->data_dir), "%s/data", broker->dir);
    char path[600];
    snprintf(path, sizeof(path), "%s/rilld.conf", broker->dir);
    FILE *file = fopen(path, "w");
    T_ASSERT(file != NULL);
    fputs("# written by a rill test\n", file);
    if (config_text != NULL) {
        fputs(config_text, file);
    }
    T_ASSERT(fclose(file) == 0);
}

/* Reads "listening 127.0.0.1:PORT\n" and "http 127.0.0.1:PORT\n" from fd within the deadline
 * into broker's ports. */
static inline void read_listening_lines(int fd, struct rilld *broker)
{
    char text[512];
    size_t used = 0;
    int64_t deadline = now_ms() + WIRE_START_TIMEOUT_MS;
    for (;;) {
        text[used] = '\0';
        const char *first = strchr(text, '\n');
        if (first != NULL && strchr(first + 1, '\n') != NULL) {
            break;
        }
        T_ASSERT(used < sizeof(text) - 1);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int64_t left = deadline - now_ms();
        T_ASSERT(left > 0);
        if (poll(&pfd, 1, (int)left) <= 0) {
            continue;
        }
        ssize_t got = read(fd, text + used, sizeof(text) - 1 - used);
        T_ASSERT(got > 0);
        used += (size_t)got;
    }
    unsigned port = 0, http_port = 0;
    T_ASSERT(sscanf(text, "listening 127.0.0.1:%u\nhttp 127.0.0.1:%u", &port, &http_port) == 2);
    T_ASSERT(port > 0 && port < 65536 && http_port > 0 && http_port < 65536);
    broker->port = (uint16_t)port;
    broker->http_port = (uint16_t)http_port;
}

/* Forks rilld on 127.0.0.1:0 with broker's data dir and config: its stdout goes to out_fd
 * (and its stderr too when to_stderr), close_fd is closed in the child (-1: none). The pid is
 * tracked and kept in broker->pid. */
static inline void rilld_spawn(struct rilld *broker, int out_fd, int close_fd, bool to_stderr)
{
    char config_path[600];
    snprintf(config_path, sizeof(config_path), "%s/rilld.conf", broker->dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (broker->nofile != 0) {
            struct rlimit limit;
            getrlimit(RLIMIT_NOFILE, &limit);
            limit.rlim_cur = broker->nofile;
            setrlimit(RLIMIT_NOFILE, &limit);
        }
        dup2(out_fd, STDOUT_FILENO);
        if (to_stderr) {
            dup2(out_fd, STDERR_FILENO);
        }
        close(out_fd);
        if (close_fd >= 0) {
            close(close_fd);
        }
        /* --http too: the default 127.0.0.1:9701 would collide between brokers. */
        execl(rilld_path, "rilld", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data",
              broker->data_dir, "--config", config_path, (char *)NULL);
        _exit(127);
    }
    track_pid(pid, true);
    broker->pid = pid;
}

/* Starts rilld on 127.0.0.1:0 with broker's data dir and config; waits for its port. */
static inline void rilld_start(struct rilld *broker)
{
    int pipe_fds[2];
    T_ASSERT(pipe(pipe_fds) == 0);
    rilld_spawn(broker, pipe_fds[1], pipe_fds[0], false);
    close(pipe_fds[1]);
    read_listening_lines(pipe_fds[0], broker);
    close(pipe_fds[0]);
}

/* Waits for the broker to exit within timeout_ms; returns its wait status or -1. */
static inline int rilld_wait(struct rilld *broker, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status = 0;
    while (now_ms() < deadline) {
        pid_t done = waitpid(broker->pid, &status, WNOHANG);
        if (done == broker->pid) {
            track_pid(broker->pid, false);
            broker->pid = 0;
            return status;
        }
        pause_ms(5);
    }
    return -1;
}

/* SIGTERM, then SIGKILL if it does not exit in time. Returns the wait status (-1: killed). */
static inline int rilld_stop(struct rilld *broker)
{
    T_ASSERT(broker->pid > 0);
    kill(broker->pid, SIGTERM);
    int status = rilld_wait(broker, WIRE_STOP_TIMEOUT_MS);
    if (status == -1) {
        kill(broker->pid, SIGKILL);
        rilld_wait(broker, WIRE_STOP_TIMEOUT_MS);
    }
    return status;
}

static inline void rilld_stop_clean(struct rilld *broker)
{
    int status = rilld_stop(broker);
    T_ASSERT(status != -1);
    T_ASSERT(WIFEXITED(status));
    T_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
}

static inline int wire_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    T_ASSERT(fd >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    T_ASSERT(connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static inline void wire_send(int fd, const void *data, size_t bytes)
{
    const uint8_t *pos = data;
    while (bytes > 0) {
        ssize_t sent = send(fd, pos, bytes, MSG_NOSIGNAL);
        T_ASSERT(sent > 0);
        pos += sent;
        bytes -= (size_t)sent;
    }
}

/* Reads exactly bytes within the deadline; false on EOF, reset or timeout. */
static inline bool wire_recv_exact(int fd, void *out, size_t bytes, int64_t deadline)
{
    uint8_t *pos = out;
    while (bytes > 0) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int64_t left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            return false;
        }
        ssize_t got = recv(fd, pos, bytes, 0);
        if (got <= 0) {
            return false;
        }
        pos += got;
        bytes -= (size_t)got;
    }
    return true;
}

/* True when the peer closes fd (EOF or reset) within timeout_ms; data before it is dropped. */
static inline bool wire_closed_within(int fd, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint8_t scratch[4096];
    while (now_ms() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0) {
            continue;
        }
        ssize_t got = recv(fd, scratch, sizeof(scratch), 0);
        if (got == 0 || (got < 0 && errno == ECONNRESET)) {
            return true;
        }
    }
    return false;
}

/* Sets the rilld path from this test binary's argv[0] (BUILD/tests/x -> BUILD/rilld) and
 * ignores SIGPIPE, so a broker closing a socket fails a send instead of killing the test. */
static inline void rilld_fixture_init(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    int dir_bytes = slash != NULL ? (int)(slash - argv0) : 1;
    snprintf(rilld_path, sizeof(rilld_path), "%.*s/../rilld", dir_bytes,
             slash != NULL ? argv0 : ".");
    signal(SIGPIPE, SIG_IGN);
}

#endif
