/*
 * test_client_group_admin.c - the consumer group calls of rill_admin_t (list, describe,
 * delete, reset offsets) against an in-test fake coordinator: a thread per connection that
 * speaks apis 0, 1, 4, 8 and 14-18 through proto/ and keeps a few groups with members and
 * committed offsets in memory. It can also refuse the group apis (an older broker) and flip
 * bits in its answers (hostile or damaged input). Binds 127.0.0.1 port 0.
 */
#include "tests/harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "common/limits.h"
#include "proto/api.h"

#define FG_TOPICS      3
#define FG_PARTS_MAX   4
#define FG_GROUPS_MAX  4
#define FG_MEMBERS_MAX 2

struct fg_topic {
    const char *name;
    int32_t part_count;
    int64_t hw[FG_PARTS_MAX];
};

struct fg_commit {
    const char *topic; /* static strings of fg_topics, or "gone" (a deleted topic) */
    int32_t partition;
    int64_t offset; /* -1: slot unused */
    const char *metadata;
};

struct fg_member {
    const char *member_id;
    const char *client_id;
    const char *host;
    const char *topic;          /* subscribed by name (NULL: pattern "ord.*") */
    int32_t held[FG_PARTS_MAX]; /* partitions of `topic` ("orders" for a pattern) */
    uint32_t held_count;
};

struct fg_group {
    char name[64]; /* "" : slot unused */
    struct fg_commit commits[16];
    struct fg_member members[FG_MEMBERS_MAX];
    uint32_t member_count;
};

static struct {
    int listen_fd;
    uint16_t port;
    pthread_mutex_t mu;
    struct fg_topic topics[FG_TOPICS];
    struct fg_group groups[FG_GROUPS_MAX];
    bool refuse_groups; /* answer ERR_UNSUPPORTED_API to apis 10-18 */
    int mutate_answers; /* flip bits in this many answers (not handshakes) */
    uint64_t rng;
    int reset_requests;
} fg;

static const char *const fg_orders = "orders";

static bool fg_io(int fd, void *buf, size_t bytes, bool writing)
{
    uint8_t *p = buf;
    while (bytes > 0) {
        ssize_t n = writing ? send(fd, p, bytes, MSG_NOSIGNAL) : recv(fd, p, bytes, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        bytes -= (size_t)n;
    }
    return true;
}

static bool fg_eq(struct proto_str wire, const char *text)
{
    return wire.bytes == strlen(text) && memcmp(wire.ptr, text, wire.bytes) == 0;
}

static struct proto_str fg_str(const char *text)
{
    return (struct proto_str){ text, text != NULL ? (uint32_t)strlen(text) : 0 };
}

static struct fg_topic *fg_topic(struct proto_str name)
{
    for (int t = 0; t < FG_TOPICS; t++) {
        if (fg.topics[t].name != NULL && fg_eq(name, fg.topics[t].name)) {
            return &fg.topics[t];
        }
    }
    return NULL;
}

static struct fg_group *fg_group(struct proto_str name)
{
    for (int g = 0; g < FG_GROUPS_MAX; g++) {
        if (fg.groups[g].name[0] != '\0' && fg_eq(name, fg.groups[g].name)) {
            return &fg.groups[g];
        }
    }
    return NULL;
}

static struct fg_group *fg_group_add(const char *name)
{
    for (int g = 0; g < FG_GROUPS_MAX; g++) {
        if (fg.groups[g].name[0] == '\0') {
            memset(&fg.groups[g], 0, sizeof(fg.groups[g]));
            snprintf(fg.groups[g].name, sizeof(fg.groups[g].name), "%s", name);
            for (int c = 0; c < 16; c++) {
                fg.groups[g].commits[c].offset = -1;
            }
            return &fg.groups[g];
        }
    }
    return NULL;
}

static struct fg_commit *fg_commit(struct fg_group *group, const char *topic, int32_t partition)
{
    for (int c = 0; c < 16; c++) {
        struct fg_commit *commit = &group->commits[c];
        if (commit->offset >= 0 && commit->partition == partition &&
            strcmp(commit->topic, topic) == 0) {
            return commit;
        }
    }
    return NULL;
}

static void fg_commit_set(struct fg_group *group,
                          const char *topic,
                          int32_t partition,
                          int64_t offset,
                          const char *metadata)
{
    struct fg_commit *commit = fg_commit(group, topic, partition);
    for (int c = 0; commit == NULL && c < 16; c++) {
        if (group->commits[c].offset < 0) {
            commit = &group->commits[c];
        }
    }
    T_ASSERT(commit != NULL);
    *commit = (struct fg_commit){ topic, partition, offset, metadata };
}

static const char *fg_state(const struct fg_group *group)
{
    return group->member_count > 0 ? PROTO_GROUP_STATE_STABLE : PROTO_GROUP_STATE_EMPTY;
}

static void fg_describe(const struct fg_group *group,
                        struct proto_group_description *out,
                        struct proto_arena *arena)
{
    out->state = fg_str(fg_state(group));
    out->generation = group->member_count > 0 ? 7 : 0;
    out->strategy = fg_str(group->member_count > 0 ? PROTO_STRATEGY_STICKY : "");
    out->member_count = group->member_count;
    out->members = proto_arena_alloc(arena, FG_MEMBERS_MAX, sizeof(*out->members));
    for (uint32_t m = 0; m < group->member_count; m++) {
        const struct fg_member *member = &group->members[m];
        struct proto_group_member *wire = &out->members[m];
        wire->member_id = fg_str(member->member_id);
        wire->client_id = fg_str(member->client_id);
        wire->host = fg_str(member->host);
        wire->generation = 7;
        wire->session_timeout_ms = 10000;
        wire->rebalance_timeout_ms = -1;
        if (member->topic != NULL) {
            wire->topics = proto_arena_alloc(arena, 1, sizeof(*wire->topics));
            wire->topics[0] = fg_str(member->topic);
            wire->topic_count = 1;
        } else {
            wire->topics_nil = true;
            wire->pattern = fg_str("ord.*");
        }
        if (member->held_count > 0) {
            wire->assignment = proto_arena_alloc(arena, 1, sizeof(*wire->assignment));
            wire->assignment[0].topic = fg_str(member->topic != NULL ? member->topic : fg_orders);
            wire->assignment[0].partitions =
                proto_arena_alloc(arena, member->held_count, sizeof(int32_t));
            memcpy(wire->assignment[0].partitions, member->held,
                   member->held_count * sizeof(int32_t));
            wire->assignment[0].partition_count = member->held_count;
            wire->assignment_count = 1;
        }
    }
}

static void fg_offset_fetch(const struct proto_offset_fetch_request *req,
                            struct proto_offset_fetch_response *out,
                            struct proto_arena *arena)
{
    struct fg_group *group = fg_group(req->group);
    if (req->topics_all) {
        /* Every committed partition, one topic entry each (the client merges). */
        out->topics = proto_arena_alloc(arena, 16, sizeof(*out->topics));
        for (int c = 0; group != NULL && c < 16; c++) {
            const struct fg_commit *commit = &group->commits[c];
            if (commit->offset < 0) {
                continue;
            }
            struct proto_committed_topic *topic = &out->topics[out->topic_count++];
            topic->name = fg_str(commit->topic);
            topic->partitions = proto_arena_alloc(arena, 1, sizeof(*topic->partitions));
            topic->partitions[0] =
                (struct proto_committed_partition){ commit->partition, commit->offset,
                                                    fg_str(commit->metadata) };
            topic->partition_count = 1;
        }
        return;
    }
    out->topics = proto_arena_alloc(arena, req->topic_count, sizeof(*out->topics));
    out->topic_count = req->topic_count;
    for (uint32_t t = 0; t < req->topic_count; t++) {
        struct proto_committed_topic *topic = &out->topics[t];
        struct fg_topic *known = fg_topic(req->topics[t]);
        topic->name = req->topics[t];
        if (known == NULL) {
            topic->error = RILL_ERR_UNKNOWN_TOPIC;
            continue;
        }
        topic->partitions =
            proto_arena_alloc(arena, (size_t)known->part_count, sizeof(*topic->partitions));
        topic->partition_count = (uint32_t)known->part_count;
        for (int32_t p = 0; p < known->part_count; p++) {
            const struct fg_commit *commit =
                group != NULL ? fg_commit(group, known->name, p) : NULL;
            topic->partitions[p] =
                (struct proto_committed_partition){ p, commit != NULL ? commit->offset : -1,
                                                    commit != NULL ? fg_str(commit->metadata)
                                                                   : fg_str(NULL) };
        }
    }
}

static void fg_reset(const struct proto_reset_offsets_request *req,
                     struct proto_reset_offsets_response *out,
                     struct proto_arena *arena)
{
    fg.reset_requests++;
    struct fg_group *group = fg_group(req->group);
    if (group != NULL && group->member_count > 0) {
        out->error = RILL_ERR_GROUP_NOT_EMPTY;
        return;
    }
    if (group == NULL && !req->validate_only) {
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)req->group.bytes, req->group.ptr);
        group = fg_group_add(name);
    }
    out->topics = proto_arena_alloc(arena, req->topic_count, sizeof(*out->topics));
    out->topic_count = req->topic_count;
    for (uint32_t t = 0; t < req->topic_count; t++) {
        const struct proto_reset_topic *in = &req->topics[t];
        struct proto_reset_topic_result *topic = &out->topics[t];
        struct fg_topic *known = fg_topic(in->name);
        topic->name = in->name;
        topic->partitions =
            proto_arena_alloc(arena, in->partition_count, sizeof(*topic->partitions));
        topic->partition_count = in->partition_count;
        for (uint32_t p = 0; p < in->partition_count; p++) {
            struct proto_reset_partition_result *result = &topic->partitions[p];
            int32_t partition = in->partitions[p].partition;
            int64_t offset = in->partitions[p].offset;
            result->partition = partition;
            result->offset = -1;
            if (known == NULL) {
                result->error = RILL_ERR_UNKNOWN_TOPIC;
                continue;
            }
            if (partition >= known->part_count) {
                result->error = RILL_ERR_UNKNOWN_PARTITION;
                continue;
            }
            int64_t hw = known->hw[partition];
            int64_t resolved = offset == PROTO_RESET_OFFSETS_LATEST     ? hw
                               : offset == PROTO_RESET_OFFSETS_EARLIEST ? 0
                                                                        : offset;
            if (offset < PROTO_RESET_OFFSETS_DELETE || resolved > hw) {
                result->error = RILL_ERR_OFFSET_OUT_OF_RANGE;
                continue;
            }
            result->offset = offset == PROTO_RESET_OFFSETS_DELETE ? -1 : resolved;
            if (req->validate_only || group == NULL) {
                continue;
            }
            if (offset == PROTO_RESET_OFFSETS_DELETE) {
                struct fg_commit *commit = fg_commit(group, known->name, partition);
                if (commit != NULL) {
                    commit->offset = -1;
                }
            } else {
                fg_commit_set(group, known->name, partition, resolved, NULL);
            }
        }
    }
}

/* Handles one request of a group api or the basics; false: no answer (close). */
static bool fg_handle(uint32_t api,
                      union proto_request *req,
                      union proto_response *resp,
                      struct proto_arena *arena)
{
    switch (api) {
    case PROTO_API_HANDSHAKE:
        resp->handshake = (struct proto_handshake_response){ .broker_id = 1,
                                                             .cluster_id = fg_str("fake"),
                                                             .broker_version = fg_str("fake-1") };
        return true;
    case PROTO_API_METADATA: {
        struct proto_broker *broker = proto_arena_alloc(arena, 1, sizeof(*broker));
        *broker = (struct proto_broker){ 1, fg_str("127.0.0.1"), fg.port };
        uint32_t count = req->metadata.topics_all ? 0 : req->metadata.topic_count;
        struct proto_metadata_topic *topics = proto_arena_alloc(arena, count + 1, sizeof(*topics));
        for (uint32_t i = 0; i < count; i++) {
            struct fg_topic *known = fg_topic(req->metadata.topics[i]);
            topics[i].name = req->metadata.topics[i];
            if (known == NULL) {
                topics[i].error = RILL_ERR_UNKNOWN_TOPIC;
                continue;
            }
            topics[i].partitions =
                proto_arena_alloc(arena, (size_t)known->part_count, sizeof(*topics[i].partitions));
            topics[i].partition_count = (uint32_t)known->part_count;
            for (int32_t p = 0; p < known->part_count; p++) {
                topics[i].partitions[p].partition = p;
                topics[i].partitions[p].leader = 1;
            }
        }
        resp->metadata = (struct proto_metadata_response){ broker, 1, 1, topics, count };
        return true;
    }
    case PROTO_API_LIST_OFFSETS: {
        struct proto_list_offsets_request *lr = &req->list_offsets;
        struct proto_list_offsets_topic_result *topics =
            proto_arena_alloc(arena, lr->topic_count, sizeof(*topics));
        for (uint32_t t = 0; t < lr->topic_count; t++) {
            struct fg_topic *known = fg_topic(lr->topics[t].name);
            topics[t].name = lr->topics[t].name;
            topics[t].partition_count = lr->topics[t].partition_count;
            topics[t].partitions = proto_arena_alloc(arena, lr->topics[t].partition_count,
                                                     sizeof(*topics[t].partitions));
            for (uint32_t i = 0; i < lr->topics[t].partition_count; i++) {
                int32_t p = lr->topics[t].partitions[i].partition;
                topics[t].partitions[i].partition = p;
                topics[t].partitions[i].timestamp = -1;
                if (known == NULL || p < 0 || p >= known->part_count) {
                    topics[t].partitions[i].error = RILL_ERR_UNKNOWN_PARTITION;
                    continue;
                }
                topics[t].partitions[i].offset =
                    lr->topics[t].partitions[i].timestamp == -2 ? 0 : known->hw[p];
            }
        }
        resp->list_offsets = (struct proto_list_offsets_response){ topics, lr->topic_count };
        return true;
    }
    case PROTO_API_DESCRIBE_TOPICS: {
        struct proto_describe_topics_request *dr = &req->describe_topics;
        uint32_t count = dr->names_all ? 0 : dr->name_count;
        struct proto_describe_topic *topics = proto_arena_alloc(arena, count + 1, sizeof(*topics));
        for (uint32_t i = 0; i < count; i++) {
            struct fg_topic *known = fg_topic(dr->names[i]);
            topics[i].name = dr->names[i];
            if (known == NULL) {
                topics[i].error = RILL_ERR_UNKNOWN_TOPIC;
                continue;
            }
            topics[i].partitions =
                proto_arena_alloc(arena, (size_t)known->part_count, sizeof(*topics[i].partitions));
            topics[i].partition_count = (uint32_t)known->part_count;
            for (int32_t p = 0; p < known->part_count; p++) {
                topics[i].partitions[p] = (struct proto_describe_partition){
                    .partition = p, .end_offset = known->hw[p], .durable_offset = known->hw[p]
                };
            }
        }
        resp->describe_topics = (struct proto_describe_topics_response){ topics, count };
        return true;
    }
    case PROTO_API_LIST_GROUPS: {
        struct proto_group_listing *groups =
            proto_arena_alloc(arena, FG_GROUPS_MAX, sizeof(*groups));
        uint32_t count = 0;
        for (int g = 0; g < FG_GROUPS_MAX; g++) {
            if (fg.groups[g].name[0] != '\0') {
                groups[count++] =
                    (struct proto_group_listing){ fg_str(fg.groups[g].name),
                                                  fg_str(fg_state(&fg.groups[g])),
                                                  (int32_t)fg.groups[g].member_count };
            }
        }
        resp->list_groups = (struct proto_list_groups_response){ groups, count };
        return true;
    }
    case PROTO_API_DESCRIBE_GROUPS: {
        struct proto_describe_groups_request *dr = &req->describe_groups;
        struct proto_group_description *groups =
            proto_arena_alloc(arena, dr->group_count, sizeof(*groups));
        for (uint32_t i = 0; i < dr->group_count; i++) {
            struct fg_group *group = fg_group(dr->groups[i]);
            groups[i].group = dr->groups[i];
            if (group == NULL) {
                groups[i].error = RILL_ERR_UNKNOWN_GROUP;
                groups[i].generation = -1;
                groups[i].state = fg_str("");
                groups[i].strategy = fg_str("");
                continue;
            }
            fg_describe(group, &groups[i], arena);
        }
        resp->describe_groups = (struct proto_describe_groups_response){ groups, dr->group_count };
        return true;
    }
    case PROTO_API_OFFSET_FETCH:
        fg_offset_fetch(&req->offset_fetch, &resp->offset_fetch, arena);
        return true;
    case PROTO_API_DELETE_GROUPS: {
        struct proto_delete_groups_request *dr = &req->delete_groups;
        struct proto_topic_result *results =
            proto_arena_alloc(arena, dr->group_count, sizeof(*results));
        for (uint32_t i = 0; i < dr->group_count; i++) {
            struct fg_group *group = fg_group(dr->groups[i]);
            results[i].name = dr->groups[i];
            if (group == NULL) {
                results[i].error = RILL_ERR_UNKNOWN_GROUP;
            } else if (group->member_count > 0) {
                results[i].error = RILL_ERR_GROUP_NOT_EMPTY;
                results[i].message = fg_str("the group has 1 member or more");
            } else {
                group->name[0] = '\0';
            }
        }
        resp->delete_groups = (struct proto_topic_results){ results, dr->group_count };
        return true;
    }
    case PROTO_API_RESET_OFFSETS:
        fg_reset(&req->reset_offsets, &resp->reset_offsets, arena);
        return true;
    default:
        return false;
    }
}

static void *fg_conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    struct mp_writer out;
    mp_writer_init(&out, RILL_FRAME_BYTES_MAX);
    uint8_t *frame = NULL;
    for (;;) {
        uint8_t prefix[4];
        uint32_t bytes = 0;
        if (!fg_io(fd, prefix, 4, false) ||
            proto_frame_length_decode(prefix, RILL_FRAME_BYTES_MAX, &bytes) != RILL_OK) {
            break;
        }
        uint8_t *grown = realloc(frame, bytes);
        if (grown == NULL) {
            break;
        }
        frame = grown;
        if (!fg_io(fd, frame, bytes, false)) {
            break;
        }
        struct mp_reader reader;
        mp_reader_init(&reader, frame, bytes);
        struct proto_request_header hdr;
        union proto_request req;
        union proto_response resp;
        memset(&resp, 0, sizeof(resp));
        proto_arena_reset(&arena);
        if (proto_request_header_decode(&reader, &hdr) != RILL_OK ||
            proto_request_body_decode(hdr.api, &reader, &arena, &req) != RILL_OK) {
            break;
        }
        pthread_mutex_lock(&fg.mu);
        struct proto_response_header rh = { .correlation_id = hdr.correlation_id };
        bool refused = fg.refuse_groups && hdr.api >= PROTO_API_JOIN_GROUP;
        bool answer = refused || fg_handle(hdr.api, &req, &resp, &arena);
        mp_writer_reset(&out);
        bool encoded;
        if (refused) {
            rh.error = RILL_ERR_UNSUPPORTED_API;
            encoded = proto_frame_begin(&out) == RILL_OK &&
                      proto_response_header_encode(&out, &rh) == RILL_OK && mp_write_nil(&out) &&
                      proto_frame_end(&out) == RILL_OK;
        } else {
            encoded = answer && proto_frame_begin(&out) == RILL_OK &&
                      proto_response_header_encode(&out, &rh) == RILL_OK &&
                      proto_response_body_encode(hdr.api, &out, &resp) == RILL_OK &&
                      proto_frame_end(&out) == RILL_OK;
        }
        if (encoded && hdr.api != PROTO_API_HANDSHAKE && fg.mutate_answers > 0 && out.bytes > 4) {
            fg.mutate_answers--;
            unsigned flips = 1 + (unsigned)(t_rand(&fg.rng) % 3);
            for (unsigned f = 0; f < flips; f++) {
                size_t at = 4 + (size_t)(t_rand(&fg.rng) % (out.bytes - 4));
                out.data[at] ^= (uint8_t)(1u << (t_rand(&fg.rng) % 8));
            }
        }
        pthread_mutex_unlock(&fg.mu);
        if (!encoded || !fg_io(fd, out.data, out.bytes, true)) {
            break;
        }
    }
    free(frame);
    mp_writer_deinit(&out);
    proto_arena_deinit(&arena);
    close(fd);
    return NULL;
}

static void *fg_accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(fg.listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return NULL;
        }
        pthread_t thread;
        if (pthread_create(&thread, NULL, fg_conn_main, (void *)(intptr_t)fd) == 0) {
            pthread_detach(thread);
        } else {
            close(fd);
        }
    }
}

/*
 * Starts the fake with topics orders (3 partitions, high watermarks 100, 200, 300) and audit
 * (1 partition, 50), and two groups:
 *   billing  one member m-1 (client "biller", subscribed to orders, holding orders/0 and /1),
 *            commits orders/0 = 40 (metadata "m") and audit/0 = 10, and gone/0 = 5 (a topic
 *            deleted since);
 *   idle     no members, commit orders/2 = 300.
 */
static void fg_start(void)
{
    memset(&fg, 0, sizeof(fg));
    pthread_mutex_init(&fg.mu, NULL);
    fg.rng = T_SEED | 1;
    fg.topics[0] = (struct fg_topic){ "audit", 1, { 50 } };
    fg.topics[1] = (struct fg_topic){ "orders", 3, { 100, 200, 300 } };
    struct fg_group *billing = fg_group_add("billing");
    fg_commit_set(billing, "orders", 0, 40, "m");
    fg_commit_set(billing, "audit", 0, 10, NULL);
    fg_commit_set(billing, "gone", 0, 5, NULL);
    billing->members[0] =
        (struct fg_member){ "m-1", "biller", "127.0.0.1:40000", "orders", { 0, 1 }, 2 };
    billing->member_count = 1;
    struct fg_group *idle = fg_group_add("idle");
    fg_commit_set(idle, "orders", 2, 300, NULL);

    fg.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    T_ASSERT(fg.listen_fd >= 0);
    T_ASSERT(bind(fg.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    T_ASSERT(listen(fg.listen_fd, 16) == 0);
    T_ASSERT(getsockname(fg.listen_fd, (struct sockaddr *)&addr, &len) == 0);
    fg.port = ntohs(addr.sin_port);
    pthread_t thread;
    T_ASSERT(pthread_create(&thread, NULL, fg_accept_main, NULL) == 0);
    pthread_detach(thread);
}

static rill_admin_t *fg_admin(void)
{
    rill_conf_t *conf = rill_conf_create();
    char servers[64];
    char errstr[256];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", fg.port);
    T_ASSERT_OK(rill_conf_set(conf, "bootstrap.servers", servers, errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "retry.backoff.ms", "5", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "request.timeout.ms", "5000", errstr, sizeof(errstr)));
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    rill_conf_destroy(conf);
    return admin;
}

/* The committed offset of group/topic/partition in the fake; -1 for none. */
static int64_t fg_committed(const char *group_name, const char *topic, int32_t partition)
{
    pthread_mutex_lock(&fg.mu);
    struct fg_group *group = fg_group(fg_str(group_name));
    struct fg_commit *commit = group != NULL ? fg_commit(group, topic, partition) : NULL;
    int64_t offset = commit != NULL ? commit->offset : -1;
    pthread_mutex_unlock(&fg.mu);
    return offset;
}

/* ---- cases ---- */

static void t_group_list(void)
{
    fg_start();
    rill_admin_t *admin = fg_admin();
    rill_group_list_t *list = NULL;
    T_ASSERT_OK(rill_admin_list_groups(admin, &list));
    T_ASSERT_EQ_INT(list->group_count, 2);
    T_ASSERT(strcmp(list->groups[0].group, "billing") == 0);
    T_ASSERT(strcmp(list->groups[0].state, "stable") == 0);
    T_ASSERT_EQ_INT(list->groups[0].member_count, 1);
    T_ASSERT(strcmp(list->groups[1].group, "idle") == 0);
    T_ASSERT(strcmp(list->groups[1].state, "empty") == 0);
    T_ASSERT_EQ_INT(list->groups[1].member_count, 0);
    rill_group_list_destroy(list);
    rill_group_list_destroy(NULL);
    T_ASSERT_EQ_INT(rill_admin_list_groups(admin, NULL), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(rill_admin_list_groups(NULL, &list), RILL_ERR_INVALID);
    rill_admin_destroy(admin);
}

static const rill_group_offset_info_t *
offset_row(const rill_group_info_t *info, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < info->offset_count; i++) {
        if (strcmp(info->offsets[i].topic, topic) == 0 && info->offsets[i].partition == partition) {
            return &info->offsets[i];
        }
    }
    T_FAIL("no row for %s/%d", topic, (int)partition);
}

static void t_group_describe(void)
{
    fg_start();
    rill_admin_t *admin = fg_admin();
    rill_group_info_t *info = NULL;
    T_ASSERT_OK(rill_admin_describe_group(admin, "billing", &info));
    T_ASSERT_EQ_INT(info->err, RILL_OK);
    T_ASSERT(strcmp(info->group, "billing") == 0);
    T_ASSERT(strcmp(info->state, "stable") == 0);
    T_ASSERT(strcmp(info->strategy, "sticky") == 0);
    T_ASSERT_EQ_INT(info->generation, 7);
    T_ASSERT_EQ_INT(info->member_count, 1);
    const rill_group_member_info_t *member = &info->members[0];
    T_ASSERT(strcmp(member->member_id, "m-1") == 0);
    T_ASSERT(strcmp(member->client_id, "biller") == 0);
    T_ASSERT(strcmp(member->host, "127.0.0.1:40000") == 0);
    T_ASSERT_EQ_INT(member->session_timeout_ms, 10000);
    T_ASSERT_EQ_INT(member->topic_count, 1);
    T_ASSERT(strcmp(member->topics[0], "orders") == 0);
    T_ASSERT(member->pattern == NULL);
    T_ASSERT_EQ_INT(member->assignment_count, 2);
    T_ASSERT(strcmp(member->assignment[1].topic, "orders") == 0);
    T_ASSERT_EQ_INT(member->assignment[1].partition, 1);
    T_ASSERT_EQ_INT(member->revoking_count, 0);

    /* audit/0, gone/0 (committed), orders/0..2 (subscribed): sorted by topic, partition. */
    T_ASSERT_EQ_INT(info->offset_count, 5);
    T_ASSERT(strcmp(info->offsets[0].topic, "audit") == 0);
    T_ASSERT(strcmp(info->offsets[1].topic, "gone") == 0);
    T_ASSERT(strcmp(info->offsets[4].topic, "orders") == 0);
    T_ASSERT_EQ_INT(info->offsets[4].partition, 2);
    const rill_group_offset_info_t *row = offset_row(info, "audit", 0);
    T_ASSERT_EQ_INT(row->committed, 10);
    T_ASSERT_EQ_INT(row->high_watermark, 50);
    T_ASSERT_EQ_INT(row->lag, 40);
    T_ASSERT(row->member_id == NULL && row->metadata == NULL);
    row = offset_row(info, "gone", 0);
    T_ASSERT_EQ_INT(row->committed, 5);
    T_ASSERT_EQ_INT(row->high_watermark, -1);
    T_ASSERT_EQ_INT(row->lag, -1);
    row = offset_row(info, "orders", 0);
    T_ASSERT_EQ_INT(row->committed, 40);
    T_ASSERT(row->metadata != NULL && strcmp(row->metadata, "m") == 0);
    T_ASSERT_EQ_INT(row->high_watermark, 100);
    T_ASSERT_EQ_INT(row->lag, 60);
    T_ASSERT(row->member_id != NULL && strcmp(row->member_id, "m-1") == 0);
    row = offset_row(info, "orders", 1);
    T_ASSERT_EQ_INT(row->committed, -1);
    T_ASSERT_EQ_INT(row->high_watermark, 200);
    T_ASSERT_EQ_INT(row->lag, -1);
    T_ASSERT(row->member_id != NULL && strcmp(row->member_id, "m-1") == 0);
    row = offset_row(info, "orders", 2);
    T_ASSERT_EQ_INT(row->committed, -1);
    T_ASSERT_EQ_INT(row->high_watermark, 300);
    T_ASSERT(row->member_id == NULL);
    rill_group_info_destroy(info);
    rill_group_info_destroy(NULL);

    /* An empty group lists its commits only, caught up: lag 0. */
    T_ASSERT_OK(rill_admin_describe_group(admin, "idle", &info));
    T_ASSERT(strcmp(info->state, "empty") == 0);
    T_ASSERT_EQ_INT(info->member_count, 0);
    T_ASSERT_EQ_INT(info->offset_count, 3); /* every partition of orders */
    row = offset_row(info, "orders", 2);
    T_ASSERT_EQ_INT(row->committed, 300);
    T_ASSERT_EQ_INT(row->lag, 0);
    rill_group_info_destroy(info);
    rill_admin_destroy(admin);
}

static void t_group_describe_pattern_member(void)
{
    fg_start();
    pthread_mutex_lock(&fg.mu);
    struct fg_group *group = fg_group_add("pat");
    group->members[0] = (struct fg_member){ "b", "c2", "h2", NULL, { 2 }, 1 };
    group->members[1] = (struct fg_member){ "a", "c1", "h1", NULL, { 0, 1 }, 2 };
    group->member_count = 2;
    pthread_mutex_unlock(&fg.mu);
    rill_admin_t *admin = fg_admin();
    rill_group_info_t *info = NULL;
    T_ASSERT_OK(rill_admin_describe_group(admin, "pat", &info));
    T_ASSERT_EQ_INT(info->member_count, 2);
    /* ordered by member id */
    T_ASSERT(strcmp(info->members[0].member_id, "a") == 0);
    T_ASSERT(info->members[0].topics == NULL || info->members[0].topic_count == 0);
    T_ASSERT(info->members[0].pattern != NULL && strcmp(info->members[0].pattern, "ord.*") == 0);
    /* held topics are listed even without commits or named subscriptions */
    T_ASSERT_EQ_INT(info->offset_count, 3);
    T_ASSERT(strcmp(offset_row(info, "orders", 2)->member_id, "b") == 0);
    T_ASSERT(strcmp(offset_row(info, "orders", 0)->member_id, "a") == 0);
    rill_group_info_destroy(info);
    rill_admin_destroy(admin);
}

static void t_group_describe_unknown(void)
{
    fg_start();
    rill_admin_t *admin = fg_admin();
    rill_group_info_t *info = NULL;
    T_ASSERT_OK(rill_admin_describe_group(admin, "nobody", &info));
    T_ASSERT_EQ_INT(info->err, RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT(strcmp(info->group, "nobody") == 0);
    T_ASSERT_EQ_INT(info->member_count, 0);
    T_ASSERT_EQ_INT(info->offset_count, 0);
    rill_group_info_destroy(info);
    T_ASSERT_EQ_INT(rill_admin_describe_group(admin, "", &info), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(rill_admin_describe_group(admin, NULL, &info), RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(rill_admin_describe_group(admin, "x", NULL), RILL_ERR_INVALID);
    rill_admin_destroy(admin);
}

static void t_group_delete(void)
{
    fg_start();
    rill_admin_t *admin = fg_admin();
    char errstr[256] = "";
    T_ASSERT_EQ_INT(rill_admin_delete_group(admin, "billing", errstr, sizeof(errstr)),
                    RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT(strstr(errstr, "member") != NULL);
    T_ASSERT_OK(rill_admin_delete_group(admin, "idle", errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(rill_admin_delete_group(admin, "idle", errstr, sizeof(errstr)),
                    RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(rill_admin_delete_group(admin, "", NULL, 0), RILL_ERR_INVALID);
    rill_group_list_t *list = NULL;
    T_ASSERT_OK(rill_admin_list_groups(admin, &list));
    T_ASSERT_EQ_INT(list->group_count, 1);
    rill_group_list_destroy(list);
    rill_admin_destroy(admin);
}

static void t_group_reset(void)
{
    fg_start();
    rill_admin_t *admin = fg_admin();
    char errstr[256] = "";
    rill_group_reset_t entries[] = {
        { .topic = "orders", .partition = 2, .offset = RILL_OFFSET_BEGINNING },
        { .topic = "orders", .partition = 0, .offset = 7 },
        { .topic = "audit", .partition = 0, .offset = RILL_OFFSET_END },
        { .topic = "orders", .partition = 1, .offset = RILL_OFFSET_NONE },
    };
    /* A dry run resolves and reports, and changes nothing. */
    T_ASSERT_OK(
        rill_admin_reset_group_offsets(admin, "idle", entries, 4, true, errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(entries[0].previous, 300);
    T_ASSERT_EQ_INT(entries[0].offset, 0);
    T_ASSERT_EQ_INT(entries[1].previous, -1);
    T_ASSERT_EQ_INT(entries[1].offset, 7);
    T_ASSERT_EQ_INT(entries[2].previous, -1);
    T_ASSERT_EQ_INT(entries[2].offset, 50);
    T_ASSERT_EQ_INT(entries[3].offset, -1);
    for (int i = 0; i < 4; i++) {
        T_ASSERT_EQ_INT(entries[i].err, RILL_OK);
    }
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 2), 300);
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 0), -1);

    /* Then for real (the entries are inputs again). */
    entries[0].offset = RILL_OFFSET_BEGINNING;
    entries[1].offset = 7;
    entries[2].offset = RILL_OFFSET_END;
    entries[3].offset = RILL_OFFSET_NONE;
    T_ASSERT_OK(
        rill_admin_reset_group_offsets(admin, "idle", entries, 4, false, errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(entries[0].previous, 300);
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 2), 0);
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 0), 7);
    T_ASSERT_EQ_INT(fg_committed("idle", "audit", 0), 50);
    /* Deleting a commit: previous is what it was. */
    rill_group_reset_t drop = { .topic = "orders", .partition = 0, .offset = RILL_OFFSET_NONE };
    T_ASSERT_OK(rill_admin_reset_group_offsets(admin, "idle", &drop, 1, false, NULL, 0));
    T_ASSERT_EQ_INT(drop.previous, 7);
    T_ASSERT_EQ_INT(drop.offset, -1);
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 0), -1);

    /* A new group is created at chosen offsets. */
    rill_group_reset_t fresh = { .topic = "orders", .partition = 1, .offset = 150 };
    T_ASSERT_OK(rill_admin_reset_group_offsets(admin, "fresh", &fresh, 1, false, NULL, 0));
    T_ASSERT_EQ_INT(fresh.previous, -1);
    T_ASSERT_EQ_INT(fg_committed("fresh", "orders", 1), 150);
    rill_admin_destroy(admin);
}

static void t_group_reset_errors(void)
{
    fg_start();
    rill_admin_t *admin = fg_admin();
    char errstr[256] = "";
    /* A group with members refuses as a whole; every entry says so. */
    rill_group_reset_t live[] = {
        { .topic = "orders", .partition = 0, .offset = 0 },
        { .topic = "audit", .partition = 0, .offset = 0 },
    };
    T_ASSERT_EQ_INT(
        rill_admin_reset_group_offsets(admin, "billing", live, 2, false, errstr, sizeof(errstr)),
        RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT_EQ_INT(live[0].err, RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT_EQ_INT(live[1].err, RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT(errstr[0] != '\0');
    T_ASSERT_EQ_INT(fg_committed("billing", "orders", 0), 40);

    /* Per-partition failures: the others still apply, the first failure is returned. */
    rill_group_reset_t mixed[] = {
        { .topic = "orders", .partition = 0, .offset = 5 },
        { .topic = "orders", .partition = 1, .offset = 100000 },
        { .topic = "orders", .partition = 9, .offset = 0 },
        { .topic = "nosuch", .partition = 0, .offset = 0 },
    };
    rill_err err =
        rill_admin_reset_group_offsets(admin, "idle", mixed, 4, false, errstr, sizeof(errstr));
    T_ASSERT_EQ_INT(err, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(mixed[0].err, RILL_OK);
    T_ASSERT_EQ_INT(mixed[1].err, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(mixed[2].err, RILL_ERR_UNKNOWN_PARTITION);
    T_ASSERT_EQ_INT(mixed[3].err, RILL_ERR_UNKNOWN_TOPIC);
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 0), 5);

    /* Arguments are checked before anything is sent. */
    int before = fg.reset_requests;
    rill_group_reset_t twice[] = {
        { .topic = "orders", .partition = 0, .offset = 1 },
        { .topic = "orders", .partition = 0, .offset = 2 },
    };
    T_ASSERT_EQ_INT(
        rill_admin_reset_group_offsets(admin, "idle", twice, 2, false, errstr, sizeof(errstr)),
        RILL_ERR_INVALID);
    T_ASSERT(strstr(errstr, "twice") != NULL);
    rill_group_reset_t bad = { .topic = "orders", .partition = 0, .offset = -4 };
    T_ASSERT_EQ_INT(rill_admin_reset_group_offsets(admin, "idle", &bad, 1, false, NULL, 0),
                    RILL_ERR_INVALID);
    bad = (rill_group_reset_t){ .topic = "orders", .partition = -1, .offset = 0 };
    T_ASSERT_EQ_INT(rill_admin_reset_group_offsets(admin, "idle", &bad, 1, false, NULL, 0),
                    RILL_ERR_INVALID);
    bad = (rill_group_reset_t){ .topic = NULL, .partition = 0, .offset = 0 };
    T_ASSERT_EQ_INT(rill_admin_reset_group_offsets(admin, "idle", &bad, 1, false, NULL, 0),
                    RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(rill_admin_reset_group_offsets(admin, "idle", NULL, 0, false, NULL, 0),
                    RILL_ERR_INVALID);
    T_ASSERT_EQ_INT(fg.reset_requests, before);
    rill_admin_destroy(admin);
}

/* A broker without a group coordinator answers the group apis with ERR_UNSUPPORTED_API. */
static void t_group_unsupported(void)
{
    fg_start();
    pthread_mutex_lock(&fg.mu); /* its connection threads read it under the lock */
    fg.refuse_groups = true;
    pthread_mutex_unlock(&fg.mu);
    rill_admin_t *admin = fg_admin();
    rill_group_list_t *list = NULL;
    rill_group_info_t *info = NULL;
    char errstr[256] = "";
    rill_group_reset_t entry = { .topic = "orders", .partition = 0, .offset = 0 };
    T_ASSERT_EQ_INT(rill_admin_list_groups(admin, &list), RILL_ERR_UNSUPPORTED_API);
    T_ASSERT_EQ_INT(rill_admin_describe_group(admin, "billing", &info), RILL_ERR_UNSUPPORTED_API);
    T_ASSERT_EQ_INT(rill_admin_delete_group(admin, "idle", errstr, sizeof(errstr)),
                    RILL_ERR_UNSUPPORTED_API);
    T_ASSERT_EQ_INT(rill_admin_reset_group_offsets(admin, "idle", &entry, 1, true, NULL, 0),
                    RILL_ERR_UNSUPPORTED_API);
    T_ASSERT(list == NULL && info == NULL);
    rill_admin_destroy(admin);
}

/* Damaged answers: every call ends with a result or an error, never a crash or a leak (run
 * under the sanitizers), and a clean answer afterwards works again. */
static void t_group_damaged_answers(void)
{
    fg_start();
    rill_admin_t *admin = fg_admin();
    unsigned ok = 0;
    for (int round = 0; round < 150; round++) {
        pthread_mutex_lock(&fg.mu);
        fg.mutate_answers = 1;
        pthread_mutex_unlock(&fg.mu);
        rill_group_list_t *list = NULL;
        rill_group_info_t *info = NULL;
        rill_group_reset_t entry = { .topic = "orders", .partition = 1, .offset = 3 };
        rill_err err;
        switch (round % 3) {
        case 0:
            err = rill_admin_list_groups(admin, &list);
            rill_group_list_destroy(err == RILL_OK ? list : NULL);
            break;
        case 1:
            err = rill_admin_describe_group(admin, "billing", &info);
            rill_group_info_destroy(err == RILL_OK ? info : NULL);
            break;
        default:
            err = rill_admin_reset_group_offsets(admin, "idle", &entry, 1, true, NULL, 0);
            break;
        }
        ok += err == RILL_OK;
    }
    pthread_mutex_lock(&fg.mu);
    fg.mutate_answers = 0;
    pthread_mutex_unlock(&fg.mu);
    rill_group_info_t *info = NULL;
    T_ASSERT_OK(rill_admin_describe_group(admin, "billing", &info));
    T_ASSERT_EQ_INT(info->offset_count, 5);
    rill_group_info_destroy(info);
    rill_admin_destroy(admin);
    (void)ok; /* how many survived a flip is up to chance */
}

/* ---- the rill group commands against the fake ---- */

/* Output of one run of the rill binary (beside this test binary: BUILD/tests/../rill). */
struct cli_result {
    int status; /* exit code, -1 when it did not exit */
    char out[16384];
    char err[4096];
};

static void cli_read(const char *path, char *buffer, size_t bytes)
{
    FILE *file = fopen(path, "r");
    size_t length = file != NULL ? fread(buffer, 1, bytes - 1, file) : 0;
    buffer[length] = '\0';
    if (file != NULL) {
        fclose(file);
    }
}

/* Runs `rill ARGS... -b 127.0.0.1:PORT` with a bounded wait. */
static void cli_run(struct cli_result *result, const char *const *args)
{
    char exe[4096];
    ssize_t length = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
    T_ASSERT(length > 0);
    exe[length] = '\0';
    char *slash = strrchr(exe, '/');
    T_ASSERT(slash != NULL);
    snprintf(slash, 16, "/../rill");
    if (access(exe, X_OK) != 0) {
        T_SKIP("the rill binary is not built beside the tests");
    }
    char dir[256];
    t_mkdtemp(dir, sizeof(dir));
    char out_path[300];
    char err_path[300];
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", fg.port);
    const char *argv[32] = { exe };
    size_t argc = 1;
    for (size_t i = 0; args[i] != NULL && argc < 28; i++) {
        argv[argc++] = args[i];
    }
    argv[argc++] = "-b";
    argv[argc++] = servers;
    argv[argc] = NULL;
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        FILE *out = freopen(out_path, "w", stdout);
        FILE *err = freopen(err_path, "w", stderr);
        if (out == NULL || err == NULL) {
            _exit(126);
        }
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    T_ASSERT(waitpid(pid, &status, 0) == pid);
    result->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    cli_read(out_path, result->out, sizeof(result->out));
    cli_read(err_path, result->err, sizeof(result->err));
    t_rmdir_all(dir);
}

#define CLI_EXPECT(result, code, needle)                                                         \
    do {                                                                                         \
        if ((result)->status != (code) || strstr((result)->out, (needle)) == NULL) {             \
            T_FAIL("exit %d (want %d), stdout lacks \"%s\":\n%s\nstderr:\n%s", (result)->status, \
                   (code), (needle), (result)->out, (result)->err);                              \
        }                                                                                        \
    } while (0)

static void t_cli_group_list_describe(void)
{
    fg_start();
    struct cli_result result;
    cli_run(&result, (const char *const[]){ "group", "list", NULL });
    CLI_EXPECT(&result, 0, "billing");
    T_ASSERT(strstr(result.out, "stable") != NULL && strstr(result.out, "idle") != NULL);
    cli_run(&result, (const char *const[]){ "group", "list", "--json", NULL });
    CLI_EXPECT(&result, 0, "\"group\": \"idle\"");
    T_ASSERT(strstr(result.out, "\"members\": 1") != NULL);

    cli_run(&result, (const char *const[]){ "group", "describe", "billing", NULL });
    CLI_EXPECT(&result, 0, "strategy    sticky");
    T_ASSERT(strstr(result.out, "biller") != NULL);
    T_ASSERT(strstr(result.out, "127.0.0.1:40000") != NULL);
    T_ASSERT(strstr(result.out, "orders:0,1") != NULL);
    T_ASSERT(strstr(result.out, "HIGH-WATERMARK") != NULL);
    /* orders/0: committed 40, watermark 100, lag 60, held by m-1 */
    T_ASSERT(strstr(result.out, "40             100          60  m-1") != NULL);

    cli_run(&result, (const char *const[]){ "group", "describe", "billing", "--json", NULL });
    CLI_EXPECT(&result, 0, "\"lag\": 60");
    T_ASSERT(strstr(result.out, "\"client_id\": \"biller\"") != NULL);
    T_ASSERT(strstr(result.out, "\"committed\": null") != NULL);

    cli_run(&result, (const char *const[]){ "group", "describe", "nobody", NULL });
    T_ASSERT_EQ_INT(result.status, 1);
    T_ASSERT(strstr(result.err, "unknown group 'nobody'") != NULL);
}

static void t_cli_group_reset_delete(void)
{
    fg_start();
    struct cli_result result;
    /* Dry run: the plan, nothing changed. */
    cli_run(&result, (const char *const[]){ "group", "reset-offsets", "idle", "--topic", "orders",
                                            "--to", "earliest", NULL });
    CLI_EXPECT(&result, 0, "dry run");
    T_ASSERT(strstr(result.out, "--execute") != NULL);
    T_ASSERT(strstr(result.out, "300") != NULL); /* orders/2 current */
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 2), 300);
    /* Executed, with a partition list. */
    cli_run(&result, (const char *const[]){ "group", "reset-offsets", "idle", "--topic",
                                            "orders:2,0", "--to", "12", "--execute", NULL });
    CLI_EXPECT(&result, 0, "reset 2 partitions of group idle");
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 2), 12);
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 0), 12);
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 1), -1);
    /* A time resolves per partition (the fake answers the high watermark). */
    cli_run(&result,
            (const char *const[]){ "group", "reset-offsets", "idle", "--topic", "orders:1", "--to",
                                   "@1700000000000", "--execute", "--json", NULL });
    CLI_EXPECT(&result, 0, "\"new\": 200");
    T_ASSERT_EQ_INT(fg_committed("idle", "orders", 1), 200);
    /* A group with members is refused, with a clear message, before anything is sent. */
    int before = fg.reset_requests;
    cli_run(&result, (const char *const[]){ "group", "reset-offsets", "billing", "--topic",
                                            "orders", "--to", "latest", "--execute", NULL });
    T_ASSERT_EQ_INT(result.status, 1);
    T_ASSERT(strstr(result.err, "active member") != NULL);
    T_ASSERT_EQ_INT(fg.reset_requests, before);
    /* Out of range: exit 1, the partition named. */
    cli_run(&result, (const char *const[]){ "group", "reset-offsets", "idle", "--topic", "orders:0",
                                            "--to", "999999", NULL });
    T_ASSERT_EQ_INT(result.status, 1);
    T_ASSERT(strstr(result.err, "orders/0") != NULL);
    cli_run(&result, (const char *const[]){ "group", "reset-offsets", "idle", "--topic", "nosuch",
                                            "--to", "0", NULL });
    T_ASSERT_EQ_INT(result.status, 1);
    T_ASSERT(strstr(result.err, "unknown topic 'nosuch'") != NULL);

    cli_run(&result, (const char *const[]){ "group", "delete", "billing", NULL });
    T_ASSERT_EQ_INT(result.status, 1);
    T_ASSERT(strstr(result.err, "active members") != NULL);
    cli_run(&result, (const char *const[]){ "group", "delete", "idle", NULL });
    CLI_EXPECT(&result, 0, "deleted group idle");
    cli_run(&result, (const char *const[]){ "group", "delete", "idle", NULL });
    T_ASSERT_EQ_INT(result.status, 1);
    T_ASSERT(strstr(result.err, "unknown group 'idle'") != NULL);
}

static void t_cli_group_unsupported(void)
{
    fg_start();
    fg.refuse_groups = true;
    struct cli_result result;
    cli_run(&result, (const char *const[]){ "group", "list", NULL });
    T_ASSERT_EQ_INT(result.status, 1);
    T_ASSERT(strstr(result.err, "does not support consumer groups") != NULL);
}

static const struct t_case cases[] = {
    T_CASE(t_group_list),
    T_CASE(t_group_describe),
    T_CASE(t_group_describe_pattern_member),
    T_CASE(t_group_describe_unknown),
    T_CASE(t_group_delete),
    T_CASE(t_group_reset),
    T_CASE(t_group_reset_errors),
    T_CASE(t_group_unsupported),
    T_CASE(t_group_damaged_answers),
    T_CASE(t_cli_group_list_describe),
    T_CASE(t_cli_group_reset_delete),
    T_CASE(t_cli_group_unsupported),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
