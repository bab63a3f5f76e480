/*
 * test_client_group.c - librill's consumer groups (subscribe mode) against a real rilld
 * (tests/rilld_fixture.h, with group.min.session.timeout.ms lowered so that members may use
 * short sessions): members in separate processes sharing a topic and surviving a kill -9 of
 * one of them, two groups fanning out one topic, a broker killed and restarted under a member,
 * committed offsets that never regress across rebalances, a pattern subscription picking up a
 * topic created later, and the time a group of three takes to become stable (printed, not
 * asserted).
 *
 * Member processes run a consume loop with auto-commit and append "partition offset" for every
 * record they receive to their own file before it can be committed, so the union of the files
 * covers every record the group committed: "no record lost" is "every produced offset is in
 * some file"; duplicates only come from work returned but not yet committed. Every process is
 * stopped by its PID (SIGTERM, then SIGKILL), and dies with the case (PR_SET_PDEATHSIG).
 * No timing assertion: deadlines are failure bounds only.
 */
#include "tests/rilld_fixture.h"

#include "rill.h"

#include <signal.h>

#define GT_TOPIC_PARTS_MAX 8
#define GT_WORKERS_MAX     4
#define GT_SESSION_MS      "1500"

static struct rilld broker;

static const char broker_config[] = "group.min.session.timeout.ms = 100\n";

static rill_conf_t *conf_for(const char *const *pairs);

/* True when rilld knows the group settings (its --help lists them). */
static bool rilld_has_groups(void)
{
    char command[4200];
    snprintf(command, sizeof(command), "'%s' --help 2>&1", rilld_path);
    FILE *help = popen(command, "r");
    if (help == NULL) {
        return false;
    }
    bool found = false;
    char line[512];
    while (fgets(line, sizeof(line), help) != NULL) {
        found = found || strstr(line, "group.min.session.timeout.ms") != NULL;
    }
    pclose(help);
    return found;
}

/* Starts the broker; skips the case when it has no group coordinator. */
static void broker_up(void)
{
    if (access(rilld_path, X_OK) == 0 && !rilld_has_groups()) {
        T_SKIP("rilld has no group coordinator");
    }
    rilld_prepare(&broker, broker_config);
    rilld_start(&broker);
    char errstr[256];
    rill_conf_t *conf = conf_for(NULL);
    T_ASSERT(conf != NULL);
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    rill_conf_destroy(conf);
    rill_group_list_t *list = NULL;
    rill_err err = rill_admin_list_groups(admin, &list);
    rill_group_list_destroy(list);
    rill_admin_destroy(admin);
    if (err == RILL_ERR_UNSUPPORTED_API) {
        rilld_stop_clean(&broker);
        T_SKIP("rilld has no group coordinator");
    }
    T_ASSERT_OK(err);
}

/* Restarts the broker on the port it had (SO_REUSEADDR), so clients keep their address. */
static void broker_restart_same_port(void)
{
    uint16_t port = broker.port;
    int pipe_fds[2];
    T_ASSERT(pipe(pipe_fds) == 0);
    char config_path[600];
    char listen[32];
    snprintf(config_path, sizeof(config_path), "%s/rilld.conf", broker.dir);
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pipe_fds[1], STDOUT_FILENO);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        execl(rilld_path, "rilld", "--listen", listen, "--http", "127.0.0.1:0", "--data",
              broker.data_dir, "--config", config_path, (char *)NULL);
        _exit(127);
    }
    track_pid(pid, true);
    close(pipe_fds[1]);
    broker.pid = pid;
    read_listening_lines(pipe_fds[0], &broker);
    close(pipe_fds[0]);
    T_ASSERT_EQ_INT(broker.port, port);
}

static rill_conf_t *conf_for(const char *const *pairs)
{
    rill_conf_t *conf = rill_conf_create();
    char servers[64];
    char errstr[256];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", broker.port);
    if (conf == NULL ||
        rill_conf_set(conf, "bootstrap.servers", servers, errstr, sizeof(errstr)) != RILL_OK ||
        rill_conf_set(conf, "retry.backoff.ms", "10", errstr, sizeof(errstr)) != RILL_OK ||
        rill_conf_set(conf, "retry.backoff.max.ms", "200", errstr, sizeof(errstr)) != RILL_OK) {
        return NULL;
    }
    for (size_t i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
        if (rill_conf_set(conf, pairs[i], pairs[i + 1], errstr, sizeof(errstr)) != RILL_OK) {
            fprintf(stderr, "  %s\n", errstr);
            rill_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

/* The member settings every case uses: short sessions, frequent auto-commits. */
static const char *const member_pairs[] = {
    "session.timeout.ms",
    GT_SESSION_MS,
    "auto.commit.interval.ms",
    "200",
    "auto.offset.reset",
    "earliest",
    "fetch.max.wait.ms",
    "100",
    "request.timeout.ms",
    "5000",
    "connect.timeout.ms",
    "2000",
    NULL,
};

static void create_topic(const char *name, int32_t partitions)
{
    char errstr[256] = "";
    rill_conf_t *conf = conf_for(NULL);
    T_ASSERT(conf != NULL);
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    rill_err err =
        rill_admin_create_topic(admin, name, partitions, NULL, 0, errstr, sizeof(errstr));
    if (err != RILL_OK) {
        T_FAIL("create %s: %s (%s)", name, rill_err_name(err), errstr);
    }
    rill_admin_destroy(admin);
    rill_conf_destroy(conf);
}

/* ---- producing: record i goes to partition i % parts, so offsets are known ---- */

struct produced {
    int32_t parts;
    int64_t count[GT_TOPIC_PARTS_MAX]; /* records per partition: offsets 0..count-1 */
    size_t next;                       /* index of the next record */
    size_t failed;
};

static void on_delivery(const rill_delivery_report_t *report, void *opaque)
{
    struct produced *pr = opaque;
    if (report->err != RILL_OK) {
        pr->failed++;
    }
}

static void produce(const char *topic, struct produced *pr, size_t n)
{
    char errstr[256];
    rill_conf_t *conf = conf_for(NULL);
    T_ASSERT(conf != NULL);
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, on_delivery, pr, errstr, sizeof(errstr), &producer));
    for (size_t i = 0; i < n; i++, pr->next++) {
        char value[48];
        int bytes = snprintf(value, sizeof(value), "record-%zu", pr->next);
        rill_record_t rec = { .value = value, .value_bytes = (size_t)bytes, .timestamp_ms = -1 };
        int32_t p = (int32_t)(pr->next % (size_t)pr->parts);
        rill_err err;
        while ((err = rill_produce(producer, topic, p, &rec, NULL)) == RILL_ERR_FULL) {
            (void)rill_poll(producer, 10);
        }
        T_ASSERT_OK(err);
        pr->count[p]++;
        if (i % 256 == 0) {
            (void)rill_poll(producer, 0);
        }
    }
    rill_err flushed = rill_flush(producer, 30000);
    if (flushed != RILL_OK) {
        T_FAIL("flush of records up to %zu: %s, %zu outstanding", pr->next, rill_err_name(flushed),
               rill_producer_outstanding(producer));
    }
    T_ASSERT_EQ_INT(pr->failed, 0);
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
}

/* ---- what the members received ---- */

struct coverage {
    uint16_t *seen[GT_TOPIC_PARTS_MAX]; /* times each offset was received */
    int64_t capacity;
};

static void coverage_init(struct coverage *cov, int64_t capacity)
{
    memset(cov, 0, sizeof(*cov));
    cov->capacity = capacity;
    for (int p = 0; p < GT_TOPIC_PARTS_MAX; p++) {
        cov->seen[p] = calloc((size_t)capacity, sizeof(uint16_t));
        T_ASSERT(cov->seen[p] != NULL);
    }
}

static void coverage_free(struct coverage *cov)
{
    for (int p = 0; p < GT_TOPIC_PARTS_MAX; p++) {
        free(cov->seen[p]);
    }
}

static void coverage_add(struct coverage *cov, int32_t p, int64_t offset)
{
    T_ASSERT(p >= 0 && p < GT_TOPIC_PARTS_MAX && offset >= 0 && offset < cov->capacity);
    if (cov->seen[p][offset] < UINT16_MAX) {
        cov->seen[p][offset]++;
    }
}

/* Adds the "partition offset" lines of a member's file. */
static void coverage_read_file(struct coverage *cov, const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return; /* the member received nothing */
    }
    int p = 0;
    long long offset = 0;
    while (fscanf(file, "%d %lld", &p, &offset) == 2) {
        coverage_add(cov, p, offset);
    }
    fclose(file);
}

/* Records of pr not received yet; *out_duplicates: extra receptions. */
static int64_t
coverage_missing(const struct coverage *cov, const struct produced *pr, int64_t *out_duplicates)
{
    int64_t missing = 0;
    int64_t duplicates = 0;
    for (int32_t p = 0; p < pr->parts; p++) {
        for (int64_t offset = 0; offset < pr->count[p]; offset++) {
            uint16_t times = cov->seen[p][offset];
            missing += times == 0 ? 1 : 0;
            duplicates += times > 1 ? times - 1 : 0;
        }
    }
    if (out_duplicates != NULL) {
        *out_duplicates = duplicates;
    }
    return missing;
}

/* ---- member processes ---- */

static volatile sig_atomic_t worker_stop;

static void worker_on_term(int sig)
{
    (void)sig;
    worker_stop = 1;
}

/* The member: consume with auto-commit, append every record to out_path; SIGTERM ends it
 * cleanly (commit and leave). Never returns; exits with _exit (no atexit of the case). */
static void worker_main(const char *group, const char *topic, const char *out_path)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGTERM, worker_on_term);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    rill_conf_t *conf = conf_for(member_pairs);
    char errstr[256];
    rill_consumer_t *consumer = NULL;
    if (fd < 0 || conf == NULL ||
        rill_consumer_create(conf, errstr, sizeof(errstr), &consumer) != RILL_OK) {
        _exit(2);
    }
    rill_conf_destroy(conf);
    const char *topics[] = { topic };
    if (rill_subscribe(consumer, group, topics, 1, NULL) != RILL_OK) {
        _exit(3);
    }
    while (!worker_stop) {
        const rill_message_t *msg = NULL;
        if (rill_consume(consumer, 100, &msg) != RILL_OK || msg->err != RILL_OK) {
            continue;
        }
        char line[64];
        int bytes = snprintf(line, sizeof(line), "%d %lld\n", msg->partition,
                             (long long)rill_record_offset(msg->record));
        if (write(fd, line, (size_t)bytes) != bytes) {
            _exit(4);
        }
    }
    rill_consumer_destroy(consumer); /* commits what was received, leaves the group */
    close(fd);
    _exit(0);
}

struct worker {
    pid_t pid;
    char path[600];
};

static void worker_start(struct worker *w, const char *group, const char *topic, int index)
{
    snprintf(w->path, sizeof(w->path), "%s/%s-%d.txt", broker.dir, group, index);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        worker_main(group, topic, w->path);
    }
    w->pid = pid;
}

/* SIGTERM, a bounded wait for a clean exit, SIGKILL otherwise. True when it exited 0. */
static bool worker_stop_clean(struct worker *w)
{
    if (w->pid <= 0) {
        return true;
    }
    kill(w->pid, SIGTERM);
    int64_t deadline = now_ms() + 15000;
    int status = 0;
    while (now_ms() < deadline) {
        if (waitpid(w->pid, &status, WNOHANG) == w->pid) {
            w->pid = 0;
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        pause_ms(10);
    }
    kill(w->pid, SIGKILL);
    waitpid(w->pid, NULL, 0);
    w->pid = 0;
    return false;
}

static void worker_kill9(struct worker *w)
{
    kill(w->pid, SIGKILL);
    waitpid(w->pid, NULL, 0);
    w->pid = 0;
}

/* ---- the group as the broker describes it ---- */

struct group_view {
    bool stable;
    size_t members;
    size_t held[GT_WORKERS_MAX]; /* partitions per member, in member id order */
    uint32_t union_bits;         /* partitions held by anyone (no revoking ones) */
    bool overlap;                /* a partition held twice */
    int64_t committed[GT_TOPIC_PARTS_MAX];
};

static bool group_view(rill_admin_t *admin, const char *group, struct group_view *view)
{
    memset(view, 0, sizeof(*view));
    for (int p = 0; p < GT_TOPIC_PARTS_MAX; p++) {
        view->committed[p] = -1;
    }
    rill_group_info_t *info = NULL;
    if (rill_admin_describe_group(admin, group, &info) != RILL_OK) {
        return false;
    }
    bool ok = info->err == RILL_OK;
    view->stable = ok && strcmp(info->state, "stable") == 0;
    view->members = info->member_count;
    for (size_t m = 0; ok && m < info->member_count; m++) {
        const rill_group_member_info_t *member = &info->members[m];
        if (m < GT_WORKERS_MAX) {
            view->held[m] = member->assignment_count - member->revoking_count;
        }
        for (size_t i = 0; i < member->assignment_count; i++) {
            uint32_t bit = 1u << member->assignment[i].partition;
            view->overlap = view->overlap || (view->union_bits & bit) != 0;
            view->union_bits |= bit;
        }
    }
    for (size_t i = 0; ok && i < info->offset_count; i++) {
        int32_t p = info->offsets[i].partition;
        if (p >= 0 && p < GT_TOPIC_PARTS_MAX) {
            view->committed[p] = info->offsets[i].committed;
        }
    }
    rill_group_info_destroy(info);
    return ok;
}

static rill_admin_t *admin_make(void)
{
    char errstr[256];
    rill_conf_t *conf = conf_for(NULL);
    T_ASSERT(conf != NULL);
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    rill_conf_destroy(conf);
    return admin;
}

/* Waits (bounded) until the group is stable with members members each holding per_member
 * partitions, together all of all_bits. */
static bool wait_balanced(rill_admin_t *admin,
                          const char *group,
                          size_t members,
                          size_t per_member,
                          uint32_t all_bits,
                          int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        struct group_view view;
        if (group_view(admin, group, &view) && view.stable && view.members == members &&
            view.union_bits == all_bits && !view.overlap) {
            bool even = true;
            for (size_t m = 0; m < members && m < GT_WORKERS_MAX; m++) {
                even = even && view.held[m] == per_member;
            }
            if (even) {
                return true;
            }
        }
        pause_ms(10);
    }
    int status = 0;
    if (waitpid(broker.pid, &status, WNOHANG) == broker.pid) {
        printf("  the broker is gone: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    struct group_view view;
    if (group_view(admin, group, &view)) {
        printf("  group %s: stable %d, %zu members holding %zu %zu %zu, union %#x, overlap %d\n",
               group, view.stable, view.members, view.held[0], view.held[1], view.held[2],
               view.union_bits, view.overlap);
    }
    return false;
}

/* Waits (bounded) until the group's committed offsets reach every produced record. */
static bool wait_committed(rill_admin_t *admin,
                           const char *group,
                           const struct produced *pr,
                           int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        struct group_view view;
        bool all = group_view(admin, group, &view);
        for (int32_t p = 0; all && p < pr->parts; p++) {
            all = view.committed[p] == pr->count[p];
        }
        if (all) {
            return true;
        }
        pause_ms(20);
    }
    return false;
}

/* Waits (bounded) until the members' files together cover every produced record. */
static int64_t wait_covered(const struct worker *workers,
                            size_t count,
                            const struct produced *pr,
                            int64_t timeout_ms,
                            int64_t *out_duplicates)
{
    int64_t deadline = now_ms() + timeout_ms;
    int64_t missing = 0;
    for (;;) {
        struct coverage cov;
        coverage_init(&cov, 1 << 16);
        for (size_t i = 0; i < count; i++) {
            coverage_read_file(&cov, workers[i].path);
        }
        missing = coverage_missing(&cov, pr, out_duplicates);
        coverage_free(&cov);
        if (missing == 0 || now_ms() >= deadline) {
            return missing;
        }
        pause_ms(50);
    }
}

/* ---- cases ---- */

/* Three members share six partitions two each and together receive everything; one is
 * killed with SIGKILL: the two others own all six within the session timeout plus a few
 * seconds, and no record is lost. */
static void t_group_three_members_kill_one(void)
{
    broker_up();
    create_topic("t6", 6);
    struct produced pr = { .parts = 6 };
    produce("t6", &pr, 3000);
    rill_admin_t *admin = admin_make();
    struct worker workers[3];
    for (int i = 0; i < 3; i++) {
        worker_start(&workers[i], "g3", "t6", i);
    }
    T_ASSERT(wait_balanced(admin, "g3", 3, 2, 0x3f, 30000));
    produce("t6", &pr, 3000);
    int64_t duplicates = 0;
    T_ASSERT_EQ_INT(wait_covered(workers, 3, &pr, 30000, &duplicates), 0);
    T_ASSERT_EQ_INT(duplicates, 0);                    /* no member left or failed yet */
    T_ASSERT(wait_committed(admin, "g3", &pr, 10000)); /* auto-commit caught up */
    produce("t6", &pr, 3000);                          /* in flight while one member dies */
    worker_kill9(&workers[0]);
    int64_t killed_at = now_ms();
    T_ASSERT(wait_balanced(admin, "g3", 2, 3, 0x3f, 1500 + 15000));
    printf("  two members own all six partitions %lld ms after the kill\n",
           (long long)(now_ms() - killed_at));
    produce("t6", &pr, 3000);
    T_ASSERT_EQ_INT(wait_covered(workers, 3, &pr, 30000, &duplicates), 0);
    printf("  %zu records, %lld received twice (uncommitted work of the killed member)\n", pr.next,
           (long long)duplicates);
    /* at most the killed member's share (2 of 6 partitions) of the records in flight when it
     * died: everything before was committed */
    T_ASSERT(duplicates <= 1000);
    T_ASSERT(worker_stop_clean(&workers[1]));
    T_ASSERT(worker_stop_clean(&workers[2]));
    /* both left after committing what they received: everything is committed */
    struct group_view view;
    T_ASSERT(group_view(admin, "g3", &view));
    T_ASSERT_EQ_INT(view.members, 0);
    for (int32_t p = 0; p < 6; p++) {
        T_ASSERT_EQ_INT(view.committed[p], pr.count[p]);
    }
    rill_admin_destroy(admin);
    rilld_stop_clean(&broker);
}

/* Two groups on one topic: each receives every record (in one process, two consumers polled
 * in turn). */
static void t_group_two_groups_fan_out(void)
{
    broker_up();
    create_topic("fan", 3);
    struct produced pr = { .parts = 3 };
    produce("fan", &pr, 3000);
    rill_consumer_t *consumers[2] = { NULL, NULL };
    struct coverage cov[2];
    const char *groups[2] = { "ga", "gb" };
    const char *topics[] = { "fan" };
    char errstr[256];
    for (int i = 0; i < 2; i++) {
        rill_conf_t *conf = conf_for(member_pairs);
        T_ASSERT(conf != NULL);
        T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumers[i]));
        rill_conf_destroy(conf);
        T_ASSERT_OK(rill_subscribe(consumers[i], groups[i], topics, 1, NULL));
        coverage_init(&cov[i], 1 << 14);
    }
    int64_t deadline = now_ms() + 30000;
    bool produced_more = false;
    while (now_ms() < deadline) {
        for (int i = 0; i < 2; i++) {
            const rill_message_t *msg = NULL;
            if (rill_consume(consumers[i], 20, &msg) == RILL_OK && msg->err == RILL_OK) {
                coverage_add(&cov[i], msg->partition, rill_record_offset(msg->record));
            }
        }
        if (!produced_more && coverage_missing(&cov[0], &pr, NULL) == 0) {
            produce("fan", &pr, 1000); /* more while both are members */
            produced_more = true;
        }
        if (produced_more && coverage_missing(&cov[0], &pr, NULL) == 0 &&
            coverage_missing(&cov[1], &pr, NULL) == 0) {
            break;
        }
    }
    for (int i = 0; i < 2; i++) {
        int64_t duplicates = 0;
        T_ASSERT_EQ_INT(coverage_missing(&cov[i], &pr, &duplicates), 0);
        T_ASSERT_EQ_INT(duplicates, 0); /* one member, no rebalance: exactly once */
        T_ASSERT_OK(rill_unsubscribe(consumers[i], 5000));
        rill_consumer_destroy(consumers[i]);
        coverage_free(&cov[i]);
    }
    rilld_stop_clean(&broker);
}

/* The broker dies (SIGKILL) under a member and comes back on the same port: the committed
 * offsets are still there, and the member rejoins and resumes from them. */
static void t_group_broker_restart(void)
{
    broker_up();
    create_topic("rs", 4);
    struct produced pr = { .parts = 4 };
    produce("rs", &pr, 2000);
    char errstr[256];
    rill_conf_t *conf = conf_for(member_pairs);
    T_ASSERT(conf != NULL);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    rill_conf_destroy(conf);
    const char *topics[] = { "rs" };
    T_ASSERT_OK(rill_subscribe(consumer, "grs", topics, 1, NULL));
    struct coverage cov;
    coverage_init(&cov, 1 << 14);
    /* everything received and committed */
    int64_t deadline = now_ms() + 30000;
    int64_t committed[4] = { -1, -1, -1, -1 };
    bool all_committed = false;
    while (!all_committed && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        if (rill_consume(consumer, 50, &msg) == RILL_OK && msg->err == RILL_OK) {
            coverage_add(&cov, msg->partition, rill_record_offset(msg->record));
        }
        all_committed = coverage_missing(&cov, &pr, NULL) == 0;
        for (int32_t p = 0; all_committed && p < 4; p++) {
            all_committed = rill_committed(consumer, "rs", p, &committed[p]) == RILL_OK &&
                            committed[p] == pr.count[p];
        }
    }
    T_ASSERT(all_committed);
    /* more records, partly received, then the broker dies */
    produce("rs", &pr, 1000);
    size_t received = 0;
    while (received < 300 && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        if (rill_consume(consumer, 50, &msg) == RILL_OK && msg->err == RILL_OK) {
            coverage_add(&cov, msg->partition, rill_record_offset(msg->record));
            received++;
        }
    }
    kill(broker.pid, SIGKILL);
    T_ASSERT(rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS) != -1);
    /* the member keeps calling rill_consume while the broker is away */
    int64_t away_until = now_ms() + 500;
    while (now_ms() < away_until) {
        const rill_message_t *msg = NULL;
        rill_err err = rill_consume(consumer, 50, &msg);
        T_ASSERT(err == RILL_OK || err == RILL_ERR_TIMEOUT);
    }
    broker_restart_same_port();
    for (int32_t p = 0; p < 4; p++) {
        int64_t after = -1;
        int64_t until = now_ms() + 10000;
        rill_err err;
        while ((err = rill_committed(consumer, "rs", p, &after)) != RILL_OK && now_ms() < until) {
            pause_ms(50);
        }
        T_ASSERT_OK(err);
        T_ASSERT(after >= committed[p]); /* preserved across the crash */
    }
    produce("rs", &pr, 1000);
    deadline = now_ms() + 30000;
    while (coverage_missing(&cov, &pr, NULL) > 0 && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        if (rill_consume(consumer, 50, &msg) == RILL_OK && msg->err == RILL_OK) {
            coverage_add(&cov, msg->partition, rill_record_offset(msg->record));
        }
    }
    int64_t duplicates = 0;
    T_ASSERT_EQ_INT(coverage_missing(&cov, &pr, &duplicates), 0);
    printf("  %lld records received twice after the broker restart\n", (long long)duplicates);
    T_ASSERT(duplicates <= 1000); /* at most what had not been committed before the crash */
    T_ASSERT_OK(rill_unsubscribe(consumer, 5000));
    rill_consumer_destroy(consumer);
    coverage_free(&cov);
    rilld_stop_clean(&broker);
}

/* Members come and go (join, clean leave, kill -9) while records flow; the committed offsets,
 * sampled all along with OFFSET_FETCH (through describe), never go backwards. */
static void t_group_offsets_never_regress(void)
{
    broker_up();
    create_topic("rg", 6);
    struct produced pr = { .parts = 6 };
    produce("rg", &pr, 600);
    rill_admin_t *admin = admin_make();
    struct worker workers[3];
    int64_t last[GT_TOPIC_PARTS_MAX];
    for (int p = 0; p < GT_TOPIC_PARTS_MAX; p++) {
        last[p] = -1;
    }
    size_t samples = 0;
    worker_start(&workers[0], "gr", "rg", 0);
    for (int step = 0; step < 40; step++) {
        if (step == 8) {
            worker_start(&workers[1], "gr", "rg", 1);
        } else if (step == 16) {
            worker_start(&workers[2], "gr", "rg", 2);
        } else if (step == 24) {
            T_ASSERT(worker_stop_clean(&workers[1]));
        } else if (step == 32) {
            worker_kill9(&workers[2]);
        }
        produce("rg", &pr, 300);
        int64_t until = now_ms() + 150;
        while (now_ms() < until) {
            struct group_view view;
            if (group_view(admin, "gr", &view)) {
                samples++;
                for (int p = 0; p < 6; p++) {
                    if (view.committed[p] < last[p]) {
                        T_FAIL("partition %d: committed %lld after %lld", p,
                               (long long)view.committed[p], (long long)last[p]);
                    }
                    last[p] = view.committed[p];
                }
            }
            pause_ms(5);
        }
    }
    int64_t duplicates = 0;
    T_ASSERT_EQ_INT(wait_covered(workers, 3, &pr, 30000, &duplicates), 0);
    printf("  %zu samples of the committed offsets, none backwards; %lld duplicates\n", samples,
           (long long)duplicates);
    T_ASSERT(samples > 40);
    T_ASSERT(worker_stop_clean(&workers[0]));
    rill_admin_destroy(admin);
    rilld_stop_clean(&broker);
}

/* A pattern subscription: the member gets the partitions of the matching topics only, and a
 * matching topic created later is assigned to it without a new subscribe. */
static void t_group_pattern_subscription(void)
{
    broker_up();
    create_topic("pat-a", 2);
    create_topic("pat-b", 1);
    create_topic("other", 2);
    struct produced pa = { .parts = 2 };
    produce("pat-a", &pa, 100);
    char errstr[256];
    rill_conf_t *conf = conf_for(member_pairs);
    T_ASSERT(conf != NULL);
    rill_consumer_t *consumer = NULL;
    T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumer));
    rill_conf_destroy(conf);
    T_ASSERT_OK(rill_subscribe(consumer, "gp", NULL, 0, "pat-.*"));
    size_t received = 0;
    int64_t deadline = now_ms() + 20000;
    while (received < 100 && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        if (rill_consume(consumer, 50, &msg) == RILL_OK && msg->err == RILL_OK) {
            T_ASSERT(strcmp(msg->topic, "pat-a") == 0);
            received++;
        }
    }
    T_ASSERT_EQ_INT(received, 100);
    rill_topic_partition_t *held = NULL;
    size_t count = 0;
    T_ASSERT_OK(rill_consumer_assignment(consumer, &held, &count));
    T_ASSERT_EQ_INT(count, 3); /* pat-a/0, pat-a/1, pat-b/0: never "other" */
    T_ASSERT(strcmp(held[0].topic, "pat-a") == 0 && strcmp(held[2].topic, "pat-b") == 0);
    free(held);
    create_topic("pat-c", 2);
    struct produced pc = { .parts = 2 };
    produce("pat-c", &pc, 50);
    received = 0;
    while (received < 50 && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        if (rill_consume(consumer, 50, &msg) == RILL_OK && msg->err == RILL_OK) {
            T_ASSERT(strcmp(msg->topic, "pat-c") == 0);
            received++;
        }
    }
    T_ASSERT_EQ_INT(received, 50); /* auto.offset.reset=earliest for the new partitions */
    T_ASSERT_OK(rill_consumer_assignment(consumer, &held, &count));
    T_ASSERT_EQ_INT(count, 5);
    free(held);
    T_ASSERT_OK(rill_unsubscribe(consumer, 5000));
    rill_consumer_destroy(consumer);
    rilld_stop_clean(&broker);
}

/* A member accepting no strategy the group uses is refused: rill_consume reports
 * RILL_ERR_INCONSISTENT_STRATEGY once (topic NULL) and the member keeps trying while the group
 * goes on without it. */
static void t_group_inconsistent_strategy(void)
{
    broker_up();
    create_topic("st", 2);
    const char *topics[] = { "st" };
    rill_consumer_t *consumers[2] = { NULL, NULL };
    const char *strategies[2] = { "range", "roundrobin" };
    char errstr[256];
    for (int i = 0; i < 2; i++) {
        rill_conf_t *conf = conf_for(member_pairs);
        T_ASSERT(conf != NULL);
        T_ASSERT_OK(rill_conf_set(conf, "partition.assignment.strategy", strategies[i], errstr,
                                  sizeof(errstr)));
        T_ASSERT_OK(rill_consumer_create(conf, errstr, sizeof(errstr), &consumers[i]));
        rill_conf_destroy(conf);
    }
    T_ASSERT_OK(rill_subscribe(consumers[0], "gs", topics, 1, NULL));
    size_t held = 0;
    int64_t deadline = now_ms() + 20000;
    while (held != 2 && now_ms() < deadline) {
        const rill_message_t *msg = NULL;
        rill_err err = rill_consume(consumers[0], 50, &msg);
        T_ASSERT(err == RILL_OK || err == RILL_ERR_TIMEOUT);
        rill_topic_partition_t *parts = NULL;
        T_ASSERT_OK(rill_consumer_assignment(consumers[0], &parts, &held));
        free(parts);
    }
    T_ASSERT_EQ_INT(held, 2);
    T_ASSERT_OK(rill_subscribe(consumers[1], "gs", topics, 1, NULL));
    int refused = 0;
    int64_t until = now_ms() + 3000;
    while (now_ms() < until) {
        for (int i = 0; i < 2; i++) {
            const rill_message_t *msg = NULL;
            if (rill_consume(consumers[i], 20, &msg) == RILL_OK && msg->err != RILL_OK) {
                T_ASSERT_EQ_INT(i, 1);
                T_ASSERT_EQ_INT(msg->err, RILL_ERR_INCONSISTENT_STRATEGY);
                T_ASSERT(msg->topic == NULL && msg->partition == -1);
                refused++;
            }
        }
    }
    T_ASSERT_EQ_INT(refused, 1); /* once, however many times the join is refused */
    rill_topic_partition_t *parts = NULL;
    T_ASSERT_OK(rill_consumer_assignment(consumers[1], &parts, &held));
    T_ASSERT_EQ_INT(held, 0);
    free(parts);
    T_ASSERT_OK(rill_consumer_assignment(consumers[0], &parts, &held));
    T_ASSERT_EQ_INT(held, 2);
    free(parts);
    for (int i = 0; i < 2; i++) {
        rill_consumer_destroy(consumers[i]);
    }
    rilld_stop_clean(&broker);
}

/* Measures (prints) the time from the start of the third member to a stable group of three
 * holding two partitions each, with 1.5 s sessions. */
static void t_group_rebalance_time(void)
{
    broker_up();
    create_topic("rb", 6);
    rill_admin_t *admin = admin_make();
    int64_t times[3];
    for (int round = 0; round < 3; round++) {
        char group[16];
        snprintf(group, sizeof(group), "gt%d", round);
        struct worker workers[3];
        worker_start(&workers[0], group, "rb", 0);
        T_ASSERT(wait_balanced(admin, group, 1, 6, 0x3f, 20000));
        worker_start(&workers[1], group, "rb", 1);
        T_ASSERT(wait_balanced(admin, group, 2, 3, 0x3f, 20000));
        pause_ms(1000); /* steady state: the two members heartbeat at the full interval */
        int64_t start = now_ms();
        worker_start(&workers[2], group, "rb", 2);
        T_ASSERT(wait_balanced(admin, group, 3, 2, 0x3f, 20000));
        times[round] = now_ms() - start;
        for (int i = 0; i < 3; i++) {
            T_ASSERT(worker_stop_clean(&workers[i]));
        }
    }
    printf("  third member started -> stable group of 3 (session.timeout.ms=%s): %lld, %lld, "
           "%lld ms\n",
           GT_SESSION_MS, (long long)times[0], (long long)times[1], (long long)times[2]);
    rill_admin_destroy(admin);
    rilld_stop_clean(&broker);
}

static const struct t_case cases[] = {
    T_CASE(t_group_three_members_kill_one), T_CASE(t_group_two_groups_fan_out),
    T_CASE(t_group_broker_restart),         T_CASE(t_group_offsets_never_regress),
    T_CASE(t_group_pattern_subscription),   T_CASE(t_group_inconsistent_strategy),
    T_CASE(t_group_rebalance_time),
};

int main(int argc, char **argv)
{
    rilld_fixture_init(argv[0]);
    return t_run(argc, argv, cases, T_COUNT(cases));
}
