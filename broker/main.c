/*
 * main.c - rilld: flags, configuration, signals, and the broker cores.
 *
 * rilld starts with no configuration (native protocol on 127.0.0.1:9700, data in ./rill-data).
 * A config file (--config) is applied first, then the flags, so flags win. Exit codes: 0 after
 * a clean shutdown (SIGTERM or SIGINT), 1 on a runtime failure, 2 on bad flags or config.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rill.h"
#include "common/diag.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/handlers.h"
#include "broker/http.h"
#include "broker/loop.h"
#include "broker/topics.h"

#define RILLD_EXIT_OK      0
#define RILLD_EXIT_FAILURE 1
#define RILLD_EXIT_USAGE   2

static const char rilld_usage[] =
    "usage: rilld [options]\n"
    "\n"
    "The rill broker. With no options it serves the native protocol on 127.0.0.1:9700,\n"
    "HTTP /metrics and /health on 127.0.0.1:9701, and keeps its data in ./rill-data, which\n"
    "it locks (a second rilld on the same directory exits 1). It prints 'listening HOST:PORT'\n"
    "then 'http HOST:PORT' once it accepts connections, and stops cleanly on SIGTERM or\n"
    "SIGINT (a second signal cuts the drain). When the default HTTP port is taken it warns\n"
    "and runs without HTTP; an address given with --http or http.listen must work.\n"
    "\n"
    "Options:\n"
    "  --listen HOST:PORT   native protocol address (setting listen); port 0 picks a free port\n"
    "  --data DIR           data directory (setting data.dir)\n"
    "  --http HOST:PORT     HTTP /metrics (Prometheus text) and /health (setting http.listen);\n"
    "                       port 0 picks a free port\n"
    "  --config FILE        read settings from FILE, one 'key = value' per line, '#' comments;\n"
    "                       unknown keys are an error; flags override the file\n"
    "  -h, --help           show this help\n"
    "  --version            print the version\n"
    "\n"
    "Settings (config file keys) and defaults:\n";

static const char rilld_usage_tail[] =
    "\n"
    "Diagnostics go to stderr; RILL_DIAG_LEVEL=error|warn|info|debug sets how much.\n"
    "Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad flags or configuration.\n";

struct rilld_flag {
    const char *flag;
    const char *key;
};

static const struct rilld_flag rilld_flags[] = {
    { "--listen", "listen" },
    { "--data", "data.dir" },
    { "--http", "http.listen" },
};

static void rilld_help(void)
{
    fputs(rilld_usage, stdout);
    config_print_help(stdout);
    fputs(rilld_usage_tail, stdout);
}

/* Prints "rilld: <what><arg>" and the hint; returns the usage exit code. */
static int rilld_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "rilld: %s%s", what, arg);
    fputs("\nrun 'rilld --help' for the options\n", stderr);
    return RILLD_EXIT_USAGE;
}

/* Applies the --config file (first) and then the other flags. -1: go on; else exit code. */
static int rilld_parse(int argc, char **argv, struct broker_config *cfg)
{
    char errstr[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            rilld_help();
            return RILLD_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("rilld %s\n", rill_version());
            return RILLD_EXIT_OK;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (config_load_file(cfg, argv[i + 1], errstr, sizeof(errstr)) != RILL_OK) {
                return rilld_usage_error("", errstr);
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            return rilld_usage_error("unknown option or missing value: ", argv[i]);
        }
        const char *key = NULL;
        for (size_t f = 0; f < sizeof(rilld_flags) / sizeof(rilld_flags[0]); f++) {
            if (strcmp(argv[i], rilld_flags[f].flag) == 0) {
                key = rilld_flags[f].key;
            }
        }
        if (key == NULL && strcmp(argv[i], "--config") != 0) {
            return rilld_usage_error("unknown option: ", argv[i]);
        }
        if (key != NULL && config_set(cfg, key, argv[i + 1], errstr, sizeof(errstr)) != RILL_OK) {
            return rilld_usage_error("", errstr);
        }
        i++;
    }
    return -1;
}

/* mkdir -p: each missing component is created in turn. */
static int rilld_mkdir_all(const char *path)
{
    char partial[CONFIG_PATH_BYTES_MAX];
    size_t path_bytes = strlen(path);
    if (path_bytes >= sizeof(partial)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(partial, path, path_bytes + 1);
    for (size_t i = 1; i <= path_bytes; i++) {
        if (partial[i] != '/' && partial[i] != '\0') {
            continue;
        }
        char saved = partial[i];
        partial[i] = '\0';
        if (mkdir(partial, 0755) != 0 && errno != EEXIST) {
            return -1;
        }
        partial[i] = saved;
    }
    return 0;
}

/*
 * Takes the data directory for this process: an exclusive flock on DATA/.lock, held (never
 * closed) until exit, so a second rilld on the same directory stops here, before it opens
 * anything in it. The file holds the owner's pid, for the message. False: printed why.
 */
static bool rilld_data_lock(const char *data_dir)
{
    char path[CONFIG_PATH_BYTES_MAX + 16];
    snprintf(path, sizeof(path), "%s/.lock", data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "rilld: cannot open lock file %s: %s\n", path, strerror(errno));
        return false;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int errno_value = errno;
        char owner[32] = "";
        ssize_t got = pread(fd, owner, sizeof(owner) - 1, 0);
        owner[got > 0 ? got : 0] = '\0';
        owner[strcspn(owner, "\n")] = '\0';
        if (errno_value == EWOULDBLOCK) {
            fprintf(stderr,
                    "rilld: data directory %s is in use by another rilld (pid %s holds %s)\n",
                    data_dir, owner[0] != '\0' ? owner : "unknown", path);
        } else {
            fprintf(stderr, "rilld: cannot lock %s: %s\n", path, strerror(errno_value));
        }
        close(fd);
        return false;
    }
    char pid_text[32];
    int pid_bytes = snprintf(pid_text, sizeof(pid_text), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid_text, (size_t)pid_bytes, 0) != pid_bytes) {
        /* Only informative: the lock itself is held. */
        fprintf(stderr, "rilld: warning: cannot write pid to %s: %s\n", path, strerror(errno));
    }
    return true; /* fd stays open: the lock lives as long as the process */
}

/* Prints "WHAT HOST:PORT" (IPv6 hosts in brackets) on stdout. */
static void rilld_print_address(const char *what, const char *host, uint16_t port)
{
    bool v6 = strchr(host, ':') != NULL;
    printf("%s %s%s%s:%u\n", what, v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port);
}

/* Signals are taken through the ring (signalfd), so they must not be delivered the usual way;
 * SIGPIPE is ignored because sends report EPIPE themselves. */
static void rilld_signals_block(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    /* An ignored signal is discarded, not queued for the signalfd: a parent that ignores
     * SIGINT (a shell running us in the background) must not make rilld unstoppable. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
}

/* True when http.listen is the built-in default rather than an address the operator chose. */
static bool rilld_http_is_default(const struct broker_config *cfg)
{
    static struct broker_config defaults;
    config_init_defaults(&defaults);
    return strcmp(cfg->http.host, defaults.http.host) == 0 && cfg->http.port == defaults.http.port;
}

/* The thread of core index > 0: its loop, until core 0 ends them all. */
static void *rilld_core_thread(void *arg)
{
    struct broker_core *core = arg;
    rill_err err = loop_run(core);
    if (err != RILL_OK) {
        fprintf(stderr, "rilld: core %u: %s\n", core->core_index, rill_err_str(err));
        exit(RILLD_EXIT_FAILURE); /* a broken ring: nothing sane is left to do */
    }
    return NULL;
}

/* Opens every core (core 0 first: it binds the port the others join), then the topics with
 * each partition on its owner core's disk ring. */
static rill_err rilld_open(struct broker *broker, uint16_t *out_port)
{
    const struct broker_config *cfg = broker->cfg;
    static struct log_io *ios[BROKER_CORES_MAX];
    uint16_t port = 0;
    rill_err err = RILL_OK;
    for (unsigned i = 0; err == RILL_OK && i < broker->core_count; i++) {
        broker->cores[i] = calloc(1, sizeof(*broker->cores[i]));
        if (broker->cores[i] == NULL) {
            return RILL_ERR_NOMEM;
        }
        err = loop_core_init(broker->cores[i], i, cfg, broker, i == 0, &port);
        ios[i] = broker->cores[i]->io;
    }
    if (err == RILL_OK) {
        err =
            topics_open(cfg->data_dir, ios, broker->core_count, broker, &broker->cores[0]->topics);
    }
    if (err == RILL_OK) {
        /* The offsets topic is replayed into the coordinator before anything is served. */
        err = group_wire_open(broker->cores[0]);
    }
    *out_port = port;
    return err;
}

static void rilld_close(struct broker *broker)
{
    /* Core 0 first: closing the topics drains each partition on its owner's disk ring, which
     * the other cores release after. */
    for (unsigned i = 0; i < broker->core_count; i++) {
        if (broker->cores[i] != NULL) {
            loop_core_deinit(broker->cores[i]);
            free(broker->cores[i]);
            broker->cores[i] = NULL;
        }
    }
}

static int rilld_serve(const struct broker_config *cfg)
{
    if (rilld_mkdir_all(cfg->data_dir) != 0) {
        fprintf(stderr, "rilld: cannot create data directory %s: %s\n", cfg->data_dir,
                strerror(errno));
        return RILLD_EXIT_FAILURE;
    }
    if (!rilld_data_lock(cfg->data_dir)) {
        return RILLD_EXIT_FAILURE;
    }
    rilld_signals_block(); /* before any thread starts: every thread inherits the mask */
    static struct broker broker;
    broker.cfg = cfg;
    broker.core_count = cfg->cores;
    if (broker.core_count == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        broker.core_count = online < 1                        ? 1
                            : online > (long)BROKER_CORES_MAX ? BROKER_CORES_MAX
                                                              : (unsigned)online;
    }
    uint16_t port = 0;
    uint16_t http_port = 0;
    rill_err err = rilld_open(&broker, &port);
    struct broker_core *core0 = broker.cores[0];
    if (err == RILL_OK) {
        err = http_server_create(core0, &cfg->http, &http_port);
        if (err != RILL_OK && rilld_http_is_default(cfg)) {
            /* Nobody asked for this address: a second broker on one machine (tests, make run
             * beside another) still runs, without HTTP. A chosen address must work. */
            fprintf(stderr,
                    "rilld: warning: HTTP not served: cannot listen on the default %s:%u (%s); set "
                    "--http\n",
                    cfg->http.host, (unsigned)cfg->http.port, rill_err_str(err));
            err = RILL_OK;
        } else if (err != RILL_OK) {
            fprintf(stderr, "rilld: cannot serve HTTP on %s:%u\n", cfg->http.host,
                    (unsigned)cfg->http.port);
        }
    }
    pthread_t threads[BROKER_CORES_MAX];
    unsigned started = 1;
    for (; err == RILL_OK && started < broker.core_count; started++) {
        if (pthread_create(&threads[started], NULL, rilld_core_thread, broker.cores[started]) !=
            0) {
            err = RILL_ERR_NOMEM;
            break;
        }
    }
    if (err == RILL_OK) {
        /* The 'listening' line comes first and unchanged: tests and scripts wait for it. */
        rilld_print_address("listening", cfg->listen.host, port);
        if (core0->http != NULL) {
            rilld_print_address("http", cfg->http.host, http_port);
        }
        fflush(stdout);
        err = loop_run(core0);
    } else if (started > 1) {
        /* Some threads run: stop them the normal way. */
        loop_stop(core0);
        rill_err stop_err = loop_run(core0);
        (void)stop_err;
    }
    for (unsigned i = 1; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    rilld_close(&broker);
    if (err != RILL_OK) {
        fprintf(stderr, "rilld: %s\n", rill_err_str(err));
        return RILLD_EXIT_FAILURE;
    }
    return RILLD_EXIT_OK;
}

int main(int argc, char **argv)
{
    static struct broker_config cfg;
    config_init_defaults(&cfg);
    int status = rilld_parse(argc, argv, &cfg);
    if (status >= 0) {
        return status;
    }
    return rilld_serve(&cfg);
}
