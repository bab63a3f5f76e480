/*
 * test_broker_group.c - the consumer group apis (10-18) end to end against real rilld
 * processes: joins, heartbeats, the cooperative handover, commits and their durability across
 * kill -9, session expiry, manual commits, RESET_OFFSETS and DELETE_GROUPS, pattern
 * subscriptions, and the internal offsets topic (its protection and its records). Every case
 * runs with one core and with three (the coordinator lives on core 0; most connections are
 * read elsewhere). Requests are encoded with proto/.
 */
#define WIRE_START_TIMEOUT_MS 10000
#define WIRE_STOP_TIMEOUT_MS  5000
#include "tests/rilld_fixture.h"

#include <stdlib.h>

#include "broker/handlers.h"
#include "consumer/group.h"
#include "log/batch.h"
#include "proto/api.h"
#include "proto/frame.h"
#include "proto/mp.h"

#define GT_IO_TIMEOUT_MS 10000
#define GT_HELD_MAX      256u /* partitions one test member may hold */

/* ---------------------------------------------------------------------------------------- */
/* Wire client                                                                                */
/* ---------------------------------------------------------------------------------------- */

struct gt_client {
    int fd;
    uint32_t correlation_id;
    struct proto_arena arena; /* decoded response arrays, reset per call */
    uint8_t *frame;           /* last response frame (decoded strings point into it) */
    struct proto_response_header header;
};

static void gt_open(struct gt_client *client, uint16_t port)
{
    memset(client, 0, sizeof(*client));
    client->fd = wire_connect(port);
    proto_arena_init(&client->arena, RILL_PROTO_ARENA_BYTES_MAX);
}

static void gt_close(struct gt_client *client)
{
    close(client->fd);
    free(client->frame);
    proto_arena_deinit(&client->arena);
}

static void gt_send_raw(struct gt_client *client, uint32_t api, const void *body, size_t bytes)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 64u << 20);
    struct proto_request_header header = { api, 1, ++client->correlation_id };
    T_ASSERT(proto_frame_begin(&writer) == RILL_OK);
    T_ASSERT(proto_request_header_encode(&writer, &header) == RILL_OK);
    T_ASSERT(mp_write_raw(&writer, body, bytes));
    T_ASSERT(proto_frame_end(&writer) == RILL_OK);
    wire_send(client->fd, writer.data, writer.bytes);
    mp_writer_deinit(&writer);
}

static void gt_send(struct gt_client *client, uint32_t api, const union proto_request *request)
{
    struct mp_writer writer;
    mp_writer_init(&writer, 64u << 20);
    struct proto_request_header header = { api, 1, ++client->correlation_id };
    T_ASSERT(proto_frame_begin(&writer) == RILL_OK);
    T_ASSERT(proto_request_header_encode(&writer, &header) == RILL_OK);
    T_ASSERT(proto_request_body_encode(api, &writer, request) == RILL_OK);
    T_ASSERT(proto_frame_end(&writer) == RILL_OK);
    wire_send(client->fd, writer.data, writer.bytes);
    mp_writer_deinit(&writer);
}

/* Reads one response; returns the header error, with the body decoded into *response when 0
 * (response NULL: not decoded). */
static int32_t gt_recv(struct gt_client *client, uint32_t api, union proto_response *response)
{
    int64_t deadline = now_ms() + GT_IO_TIMEOUT_MS;
    uint8_t prefix[4];
    T_ASSERT(wire_recv_exact(client->fd, prefix, 4, deadline));
    uint32_t bytes = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                     (uint32_t)prefix[2] << 8 | prefix[3];
    T_ASSERT(bytes > 0 && bytes <= (64u << 20));
    free(client->frame);
    client->frame = malloc(bytes);
    T_ASSERT(client->frame != NULL);
    T_ASSERT(wire_recv_exact(client->fd, client->frame, bytes, deadline));
    struct mp_reader reader;
    mp_reader_init(&reader, client->frame, bytes);
    T_ASSERT(proto_response_header_decode(&reader, &client->header) == RILL_OK);
    T_ASSERT_EQ_INT(client->header.correlation_id, client->correlation_id);
    if (client->header.error != 0 || response == NULL) {
        return client->header.error;
    }
    proto_arena_reset(&client->arena);
    memset(response, 0, sizeof(*response));
    T_ASSERT(proto_response_body_decode(api, &reader, &client->arena, response) == RILL_OK);
    return 0;
}

static int32_t gt_call(struct gt_client *client,
                       uint32_t api,
                       const union proto_request *request,
                       union proto_response *response)
{
    gt_send(client, api, request);
    return gt_recv(client, api, response);
}

static struct proto_str str_of(const char *text)
{
    return (struct proto_str){ text, (uint32_t)strlen(text) };
}

static bool str_is(struct proto_str str, const char *text)
{
    return str.ptr != NULL && str.bytes == strlen(text) && memcmp(str.ptr, text, str.bytes) == 0;
}

/* Cores of the brokers this run starts (1 or 3), and extra config lines. */
static unsigned gt_cores = 1;

static void gt_start(struct rilld *broker, const char *extra)
{
    char config[512];
    snprintf(config, sizeof(config), "cores = %u\ngroup.min.session.timeout.ms = 100\n%s", gt_cores,
             extra != NULL ? extra : "");
    rilld_prepare(broker, config);
    rilld_start(broker);
}

/* ---------------------------------------------------------------------------------------- */
/* Topics and records                                                                         */
/* ---------------------------------------------------------------------------------------- */

static int32_t create_topic(struct gt_client *client, const char *name, int32_t partitions)
{
    struct proto_create_topic topic = { .name = str_of(name),
                                        .partitions = partitions,
                                        .replication_factor = -1 };
    union proto_request request = { .create_topics = { &topic, 1, false } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(client, PROTO_API_CREATE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.create_topics.result_count, 1);
    return response.create_topics.results[0].error;
}

/* Produces count records to every partition of topic (so commits up to count are in range). */
static void fill_topic(struct gt_client *client, const char *topic, int32_t partitions, int count)
{
    struct log_batch_builder bld;
    T_ASSERT(log_batch_builder_init(&bld, LOG_CODEC_NONE, 1u << 20) == RILL_OK);
    for (int i = 0; i < count; i++) {
        char value[32];
        snprintf(value, sizeof(value), "v%d", i);
        rill_record_t rec = { NULL, 0, value, strlen(value), NULL, 0, 1000 + i };
        T_ASSERT(log_batch_builder_add(&bld, &rec, 0) == RILL_OK);
    }
    uint8_t *batch = NULL;
    size_t bytes = 0;
    T_ASSERT(log_batch_builder_finish(&bld, &batch, &bytes) == RILL_OK);
    for (int32_t p = 0; p < partitions; p++) {
        uint8_t *copy = malloc(bytes);
        T_ASSERT(copy != NULL);
        memcpy(copy, batch, bytes);
        struct proto_produce_partition part = { p, { copy, (uint32_t)bytes } };
        struct proto_produce_topic entry = { str_of(topic), &part, 1 };
        union proto_request request = { .produce = { -1, 10000, &entry, 1 } };
        union proto_response response;
        T_ASSERT_EQ_INT(gt_call(client, PROTO_API_PRODUCE, &request, &response), 0);
        T_ASSERT_EQ_INT(response.produce.topics[0].partitions[0].error, 0);
        free(copy);
    }
    log_batch_builder_deinit(&bld);
}

/* ---------------------------------------------------------------------------------------- */
/* Members                                                                                    */
/* ---------------------------------------------------------------------------------------- */

struct gt_tp {
    char topic[64];
    int32_t partition;
};

struct gt_member {
    char group[64];
    char id[256]; /* "" before the first join */
    int32_t generation;
    int32_t session_ms;
    const char *topic;   /* subscription by one name, or NULL */
    const char *pattern; /* or by pattern */
    struct gt_tp assignment[GT_HELD_MAX];
    uint32_t assignment_count;
    struct gt_tp revoke[GT_HELD_MAX];
    uint32_t revoke_count;
};

static void member_init(struct gt_member *member,
                        const char *group,
                        const char *topic,
                        const char *pattern,
                        int32_t session_ms)
{
    memset(member, 0, sizeof(*member));
    snprintf(member->group, sizeof(member->group), "%s", group);
    member->topic = topic;
    member->pattern = pattern;
    member->session_ms = session_ms;
    member->generation = -1;
}

static void tp_list_copy(struct gt_tp *out,
                         uint32_t *out_count,
                         const struct proto_topic_partitions *in,
                         uint32_t in_count)
{
    *out_count = 0;
    for (uint32_t t = 0; t < in_count; t++) {
        for (uint32_t p = 0; p < in[t].partition_count; p++) {
            T_ASSERT(*out_count < GT_HELD_MAX);
            T_ASSERT(in[t].topic.bytes < sizeof(out->topic));
            struct gt_tp *tp = &out[(*out_count)++];
            memcpy(tp->topic, in[t].topic.ptr, in[t].topic.bytes);
            tp->topic[in[t].topic.bytes] = '\0';
            tp->partition = in[t].partitions[p];
        }
    }
}

/* JOIN_GROUP with owned = the member's assignment; returns the error of the response. */
static int32_t member_join(struct gt_client *client, struct gt_member *member)
{
    /* owned: the assignment, one entry per partition (a topic may repeat: the coordinator
     * accepts it; lists in responses are merged per topic). */
    struct proto_topic_partitions owned[GT_HELD_MAX];
    int32_t numbers[GT_HELD_MAX];
    for (uint32_t i = 0; i < member->assignment_count; i++) {
        numbers[i] = member->assignment[i].partition;
        owned[i] =
            (struct proto_topic_partitions){ str_of(member->assignment[i].topic), &numbers[i], 1 };
    }
    struct proto_str strategies[] = { str_of("sticky"), str_of("roundrobin") };
    struct proto_str topic = str_of(member->topic != NULL ? member->topic : "");
    union proto_request request = { .join_group = {
                                        .group = str_of(member->group),
                                        .member_id = str_of(member->id),
                                        .client_id = str_of("gt"),
                                        .session_timeout_ms = member->session_ms,
                                        .rebalance_timeout_ms = -1,
                                        .strategies = strategies,
                                        .strategy_count = 2,
                                        .topics = member->topic != NULL ? &topic : NULL,
                                        .topic_count = member->topic != NULL ? 1 : 0,
                                        .topics_nil = member->topic == NULL,
                                        .pattern = member->pattern != NULL
                                                       ? str_of(member->pattern)
                                                       : (struct proto_str){ NULL, 0 },
                                        .owned = owned,
                                        .owned_count = member->assignment_count,
                                    } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(client, PROTO_API_JOIN_GROUP, &request, &response), 0);
    const struct proto_join_group_response *out = &response.join_group;
    if (out->error != 0) {
        return out->error;
    }
    T_ASSERT(out->member_id.bytes > 0 && out->member_id.bytes < sizeof(member->id));
    memcpy(member->id, out->member_id.ptr, out->member_id.bytes);
    member->id[out->member_id.bytes] = '\0';
    member->generation = out->generation;
    T_ASSERT(out->heartbeat_interval_ms > 0);
    tp_list_copy(member->assignment, &member->assignment_count, out->assignment,
                 out->assignment_count);
    tp_list_copy(member->revoke, &member->revoke_count, out->revoke, out->revoke_count);
    return 0;
}

static int32_t member_heartbeat(struct gt_client *client, const struct gt_member *member)
{
    union proto_request request = { .heartbeat = { str_of(member->group), str_of(member->id),
                                                   member->generation } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(client, PROTO_API_HEARTBEAT, &request, &response), 0);
    return response.heartbeat.error;
}

static int32_t member_leave(struct gt_client *client, const struct gt_member *member)
{
    union proto_request request = { .leave_group = { str_of(member->group), str_of(member->id) } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(client, PROTO_API_LEAVE_GROUP, &request, &response), 0);
    return response.leave_group.error;
}

/* OFFSET_COMMIT of one partition; returns the group error, the partition's in *out_error. */
static int32_t commit_one(struct gt_client *client,
                          const char *group,
                          const char *member_id,
                          int32_t generation,
                          const char *topic,
                          int32_t partition,
                          int64_t offset,
                          const char *metadata,
                          int32_t *out_error)
{
    struct proto_commit_partition part = { partition, offset,
                                           metadata != NULL ? str_of(metadata)
                                                            : (struct proto_str){ NULL, 0 } };
    struct proto_commit_topic entry = { str_of(topic), &part, 1 };
    union proto_request request = { .offset_commit = { str_of(group), str_of(member_id), generation,
                                                       &entry, 1 } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(client, PROTO_API_OFFSET_COMMIT, &request, &response), 0);
    const struct proto_offset_commit_response *out = &response.offset_commit;
    *out_error = -9999;
    if (out->error == 0) {
        T_ASSERT_EQ_INT(out->topic_count, 1);
        T_ASSERT(str_is(out->topics[0].name, topic));
        T_ASSERT_EQ_INT(out->topics[0].partition_count, 1);
        T_ASSERT_EQ_INT(out->topics[0].partitions[0].partition, partition);
        *out_error = out->topics[0].partitions[0].error;
    }
    return out->error;
}

/* The committed offset of group/topic/partition (-1: none); metadata copied to out_metadata. */
static int64_t fetch_offset(struct gt_client *client,
                            const char *group,
                            const char *topic,
                            int32_t partition,
                            char *out_metadata,
                            size_t metadata_bytes)
{
    struct proto_str name = str_of(topic);
    union proto_request request = { .offset_fetch = { str_of(group), &name, 1, false } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(client, PROTO_API_OFFSET_FETCH, &request, &response), 0);
    const struct proto_offset_fetch_response *out = &response.offset_fetch;
    T_ASSERT_EQ_INT(out->error, 0);
    T_ASSERT_EQ_INT(out->topic_count, 1);
    T_ASSERT_EQ_INT(out->topics[0].error, 0);
    for (uint32_t p = 0; p < out->topics[0].partition_count; p++) {
        const struct proto_committed_partition *entry = &out->topics[0].partitions[p];
        if (entry->partition == partition) {
            if (out_metadata != NULL) {
                out_metadata[0] = '\0';
                if (entry->metadata.ptr != NULL) {
                    T_ASSERT(entry->metadata.bytes < metadata_bytes);
                    memcpy(out_metadata, entry->metadata.ptr, entry->metadata.bytes);
                    out_metadata[entry->metadata.bytes] = '\0';
                }
            }
            return entry->offset;
        }
    }
    T_FAIL("partition %d missing from OFFSET_FETCH", (int)partition);
    return -2;
}

/* The state and member count of group in LIST_GROUPS; false when it is not listed. */
static bool list_group(struct gt_client *client,
                       const char *group,
                       char *out_state,
                       size_t state_bytes,
                       int32_t *out_members)
{
    union proto_request request = { .list_groups = { NULL, 0, true } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(client, PROTO_API_LIST_GROUPS, &request, &response), 0);
    for (uint32_t i = 0; i < response.list_groups.group_count; i++) {
        const struct proto_group_listing *entry = &response.list_groups.groups[i];
        if (i > 0) {
            const struct proto_group_listing *before = &response.list_groups.groups[i - 1];
            uint32_t common =
                before->group.bytes < entry->group.bytes ? before->group.bytes : entry->group.bytes;
            int c = memcmp(before->group.ptr, entry->group.ptr, common);
            T_ASSERT(c < 0 || (c == 0 && before->group.bytes < entry->group.bytes));
        }
        if (str_is(entry->group, group)) {
            T_ASSERT(entry->state.bytes < state_bytes);
            memcpy(out_state, entry->state.ptr, entry->state.bytes);
            out_state[entry->state.bytes] = '\0';
            *out_members = entry->member_count;
            return true;
        }
    }
    return false;
}

static bool tp_in(const struct gt_tp *list, uint32_t count, const char *topic, int32_t partition)
{
    for (uint32_t i = 0; i < count; i++) {
        if (list[i].partition == partition && strcmp(list[i].topic, topic) == 0) {
            return true;
        }
    }
    return false;
}

/* What a member holds: its assignment, plus what it was told to revoke until it rejoins. */
static bool member_holds(const struct gt_member *member, const char *topic, int32_t partition)
{
    return tp_in(member->assignment, member->assignment_count, topic, partition) ||
           tp_in(member->revoke, member->revoke_count, topic, partition);
}

/* No partition of topic is held by two members. */
static void check_disjoint(struct gt_member *members, size_t count, const char *topic, int32_t n)
{
    for (int32_t p = 0; p < n; p++) {
        int holders = 0;
        for (size_t m = 0; m < count; m++) {
            holders += member_holds(&members[m], topic, p);
        }
        T_ASSERT(holders <= 1);
    }
}

/*
 * One step of a well-behaved client: a member that was told to revoke commits its revoked
 * partitions and rejoins without them; a member whose heartbeat says to rejoin rejoins with
 * what it holds. Returns true when the member had nothing to do.
 */
static bool member_step(struct gt_client *client, struct gt_member *member, int64_t commit_offset)
{
    if (member->revoke_count > 0) {
        for (uint32_t i = 0; i < member->revoke_count; i++) {
            int32_t part_error = 0;
            T_ASSERT_EQ_INT(commit_one(client, member->group, member->id, member->generation,
                                       member->revoke[i].topic, member->revoke[i].partition,
                                       commit_offset, "handover", &part_error),
                            0);
            T_ASSERT_EQ_INT(part_error, 0);
        }
        member->revoke_count = 0; /* released by the rejoin below (owned = assignment) */
        T_ASSERT_EQ_INT(member_join(client, member), 0);
        return false;
    }
    int32_t error = member_heartbeat(client, member);
    if (error == 0) {
        return true;
    }
    T_ASSERT(error == RILL_ERR_REBALANCE_IN_PROGRESS || error == RILL_ERR_STALE_GENERATION);
    T_ASSERT_EQ_INT(member_join(client, member), 0);
    return false;
}

/* Steps every member until a whole round has nothing to do (bounded). */
static void settle(struct gt_client *client,
                   struct gt_member *members,
                   size_t count,
                   const char *topic,
                   int32_t partitions)
{
    for (int round = 0; round < 50; round++) {
        bool quiet = true;
        for (size_t m = 0; m < count; m++) {
            quiet = member_step(client, &members[m], 3) && quiet;
            check_disjoint(members, count, topic, partitions);
        }
        if (quiet) {
            return;
        }
    }
    T_FAIL("the group did not settle in 50 rounds");
}

/* ---------------------------------------------------------------------------------------- */
/* Cases                                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* One member: join, heartbeat, commit, fetch, describe, list, leave. */
static void t_round_trip(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "orders", 3), 0);
    fill_topic(&client, "orders", 3, 20);
    struct gt_member member;
    member_init(&member, "billing", "orders", NULL, 10000);
    T_ASSERT_EQ_INT(member_join(&client, &member), 0);
    T_ASSERT(member.generation >= 1);
    T_ASSERT_EQ_INT(member.assignment_count, 3);
    T_ASSERT_EQ_INT(member.revoke_count, 0);
    T_ASSERT_EQ_INT(member_heartbeat(&client, &member), 0);
    /* Nothing committed yet: -1 and nil metadata for every partition. */
    char metadata[64];
    T_ASSERT_EQ_INT(fetch_offset(&client, "billing", "orders", 1, metadata, sizeof(metadata)), -1);
    int32_t part_error = 0;
    T_ASSERT_EQ_INT(commit_one(&client, "billing", member.id, member.generation, "orders", 1, 7,
                               "m7", &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, 0);
    T_ASSERT_EQ_INT(fetch_offset(&client, "billing", "orders", 1, metadata, sizeof(metadata)), 7);
    T_ASSERT(strcmp(metadata, "m7") == 0);
    /* Past the high watermark, unknown partitions and topics, too much metadata. */
    T_ASSERT_EQ_INT(commit_one(&client, "billing", member.id, member.generation, "orders", 1, 21,
                               NULL, &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(commit_one(&client, "billing", member.id, member.generation, "orders", 9, 1,
                               NULL, &part_error),
                    0);
    T_ASSERT(part_error != 0);
    char *big = malloc(5000);
    T_ASSERT(big != NULL);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    T_ASSERT_EQ_INT(commit_one(&client, "billing", member.id, member.generation, "orders", 0, 1,
                               big, &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, RILL_ERR_TOO_LARGE);
    free(big);
    /* Unknown member and invalid group id. */
    T_ASSERT_EQ_INT(commit_one(&client, "billing", "nobody", 1, "orders", 0, 1, NULL, &part_error),
                    RILL_ERR_UNKNOWN_MEMBER_ID);
    T_ASSERT_EQ_INT(commit_one(&client, "bad group", "", -1, "orders", 0, 1, NULL, &part_error),
                    RILL_ERR_INVALID_GROUP_ID);
    /* LIST_GROUPS and DESCRIBE_GROUPS see the member with its host. */
    char state[32];
    int32_t members = 0;
    T_ASSERT(list_group(&client, "billing", state, sizeof(state), &members));
    T_ASSERT_EQ_INT(members, 1);
    T_ASSERT(strcmp(state, "stable") == 0);
    struct proto_str names[] = { str_of("billing"), str_of("missing") };
    union proto_request request = { .describe_groups = { names, 2 } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_DESCRIBE_GROUPS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.describe_groups.group_count, 2);
    const struct proto_group_description *group = &response.describe_groups.groups[0];
    T_ASSERT_EQ_INT(group->error, 0);
    T_ASSERT_EQ_INT(group->member_count, 1);
    T_ASSERT(str_is(group->members[0].member_id, member.id));
    T_ASSERT(group->members[0].host.bytes > 10);
    T_ASSERT(memcmp(group->members[0].host.ptr, "127.0.0.1:", 10) == 0);
    T_ASSERT_EQ_INT(response.describe_groups.groups[1].error, RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(member_leave(&client, &member), 0);
    T_ASSERT_EQ_INT(member_heartbeat(&client, &member), RILL_ERR_UNKNOWN_MEMBER_ID);
    T_ASSERT(list_group(&client, "billing", state, sizeof(state), &members));
    T_ASSERT_EQ_INT(members, 0);
    T_ASSERT(strcmp(state, "empty") == 0);
    T_ASSERT_EQ_INT(fetch_offset(&client, "billing", "orders", 1, NULL, 0), 7);
    /* /metrics has the coordinator's figures. */
    int fd = wire_connect(broker.http_port);
    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    wire_send(fd, get, sizeof(get) - 1);
    size_t capacity = 1 << 20, used = 0;
    char *text = malloc(capacity);
    T_ASSERT(text != NULL);
    int64_t deadline = now_ms() + GT_IO_TIMEOUT_MS;
    while (now_ms() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        ssize_t got = recv(fd, text + used, capacity - 1 - used, 0);
        if (got <= 0) {
            break;
        }
        used += (size_t)got;
        T_ASSERT(used < capacity - 1);
    }
    text[used] = '\0';
    close(fd);
    T_ASSERT(strstr(text, "rill_group_groups 1") != NULL);
    T_ASSERT(strstr(text, "rill_group_offsets 1") != NULL);
    T_ASSERT(strstr(text, "rill_group_load_corrupt_records_total 0") != NULL);
    T_ASSERT(strstr(text, "rill_group_offset_records_total") != NULL);
    free(text);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* Three members on six partitions end with two each; no partition ever has two holders. */
static void t_cooperative_handover(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "events", 6), 0);
    fill_topic(&client, "events", 6, 5);
    struct gt_member members[3];
    for (int m = 0; m < 3; m++) {
        member_init(&members[m], "workers", "events", NULL, 10000);
    }
    T_ASSERT_EQ_INT(member_join(&client, &members[0]), 0);
    T_ASSERT_EQ_INT(members[0].assignment_count, 6);
    settle(&client, members, 1, "events", 6);
    T_ASSERT_EQ_INT(member_join(&client, &members[1]), 0);
    check_disjoint(members, 2, "events", 6);
    settle(&client, members, 2, "events", 6);
    T_ASSERT_EQ_INT(member_join(&client, &members[2]), 0);
    check_disjoint(members, 3, "events", 6);
    settle(&client, members, 3, "events", 6);
    for (int m = 0; m < 3; m++) {
        T_ASSERT_EQ_INT(members[m].assignment_count, 2);
        T_ASSERT_EQ_INT(members[m].revoke_count, 0);
    }
    for (int32_t p = 0; p < 6; p++) {
        int holders = 0;
        for (int m = 0; m < 3; m++) {
            holders += member_holds(&members[m], "events", p);
        }
        T_ASSERT_EQ_INT(holders, 1);
    }
    /* The revoked partitions were committed by their previous owner before the handover. */
    int committed = 0;
    for (int32_t p = 0; p < 6; p++) {
        committed += fetch_offset(&client, "workers", "events", p, NULL, 0) == 3;
    }
    T_ASSERT(committed >= 4);
    /* One leaves: the others take its partitions over (3 each). */
    T_ASSERT_EQ_INT(member_leave(&client, &members[2]), 0);
    settle(&client, members, 2, "events", 6);
    T_ASSERT_EQ_INT(members[0].assignment_count + members[1].assignment_count, 6);
    T_ASSERT_EQ_INT(members[0].assignment_count, 3);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* Requests with an old generation are fenced; committed offsets never go backwards. */
static void t_stale_generation_and_regression(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "ledger", 2), 0);
    fill_topic(&client, "ledger", 2, 100);
    struct gt_member members[2];
    member_init(&members[0], "fence", "ledger", NULL, 10000);
    member_init(&members[1], "fence", "ledger", NULL, 10000);
    T_ASSERT_EQ_INT(member_join(&client, &members[0]), 0);
    int32_t old_generation = members[0].generation;
    T_ASSERT_EQ_INT(member_join(&client, &members[1]), 0);
    settle(&client, members, 2, "ledger", 2);
    T_ASSERT(members[0].generation != old_generation);
    T_ASSERT_EQ_INT(members[0].assignment_count, 1);
    const struct gt_tp *mine = &members[0].assignment[0];
    struct gt_member stale = members[0];
    stale.generation = old_generation;
    T_ASSERT_EQ_INT(member_heartbeat(&client, &stale), RILL_ERR_STALE_GENERATION);
    int32_t part_error = 0;
    T_ASSERT_EQ_INT(commit_one(&client, "fence", stale.id, old_generation, mine->topic,
                               mine->partition, 10, NULL, &part_error),
                    RILL_ERR_STALE_GENERATION);
    T_ASSERT_EQ_INT(fetch_offset(&client, "fence", mine->topic, mine->partition, NULL, 0), -1);
    /* A partition the member does not hold: refused in its entry. */
    const struct gt_tp *theirs = &members[1].assignment[0];
    T_ASSERT_EQ_INT(commit_one(&client, "fence", members[0].id, members[0].generation,
                               theirs->topic, theirs->partition, 10, NULL, &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, RILL_ERR_STALE_GENERATION);
    /* Forward, equal (metadata replaced), backward (refused, nothing changes). */
    T_ASSERT_EQ_INT(commit_one(&client, "fence", members[0].id, members[0].generation, mine->topic,
                               mine->partition, 50, "a", &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, 0);
    T_ASSERT_EQ_INT(commit_one(&client, "fence", members[0].id, members[0].generation, mine->topic,
                               mine->partition, 50, "b", &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, 0);
    T_ASSERT_EQ_INT(commit_one(&client, "fence", members[0].id, members[0].generation, mine->topic,
                               mine->partition, 40, "c", &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, RILL_ERR_OFFSET_REGRESSION);
    char metadata[16];
    T_ASSERT_EQ_INT(
        fetch_offset(&client, "fence", mine->topic, mine->partition, metadata, sizeof(metadata)),
        50);
    T_ASSERT(strcmp(metadata, "b") == 0);
    /* A manual commit while the group has members is refused. */
    T_ASSERT_EQ_INT(
        commit_one(&client, "fence", "", -1, mine->topic, mine->partition, 60, NULL, &part_error),
        RILL_ERR_GROUP_NOT_EMPTY);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* A member that stops heartbeating is removed after its session timeout; the other takes its
 * partitions over. */
static void t_session_expiry(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "stream", 4), 0);
    fill_topic(&client, "stream", 4, 5);
    struct gt_member members[2];
    member_init(&members[0], "expiry", "stream", NULL, 5000);
    member_init(&members[1], "expiry", "stream", NULL, 300);
    T_ASSERT_EQ_INT(member_join(&client, &members[0]), 0);
    T_ASSERT_EQ_INT(member_join(&client, &members[1]), 0);
    settle(&client, members, 2, "stream", 4);
    T_ASSERT_EQ_INT(members[1].assignment_count, 2);
    /* members[1] goes silent; members[0] keeps heartbeating until told to rejoin. */
    int64_t deadline = now_ms() + 15000;
    for (;;) {
        T_ASSERT(now_ms() < deadline);
        int32_t error = member_heartbeat(&client, &members[0]);
        if (error == RILL_ERR_REBALANCE_IN_PROGRESS) {
            break;
        }
        T_ASSERT_EQ_INT(error, 0);
        pause_ms(50);
    }
    T_ASSERT_EQ_INT(member_join(&client, &members[0]), 0);
    settle(&client, members, 1, "stream", 4);
    T_ASSERT_EQ_INT(members[0].assignment_count, 4);
    T_ASSERT_EQ_INT(member_heartbeat(&client, &members[1]), RILL_ERR_UNKNOWN_MEMBER_ID);
    /* Session timeouts outside the broker's bounds. */
    struct gt_member bad;
    member_init(&bad, "expiry", "stream", NULL, 50);
    T_ASSERT_EQ_INT(member_join(&client, &bad), RILL_ERR_INVALID_SESSION_TIMEOUT);
    member_init(&bad, "expiry", "stream", NULL, 400000);
    T_ASSERT_EQ_INT(member_join(&client, &bad), RILL_ERR_INVALID_SESSION_TIMEOUT);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* Every acknowledged commit survives kill -9; after the restart the groups are empty and the
 * old members unknown. Many commits to the same keys: the compacted topic gives the latest. */
static void t_kill9_commits_survive(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "durable", 8), 0);
    fill_topic(&client, "durable", 8, 400);
    struct gt_member member;
    member_init(&member, "survivor", "durable", NULL, 10000);
    T_ASSERT_EQ_INT(member_join(&client, &member), 0);
    T_ASSERT_EQ_INT(member.assignment_count, 8);
    /* 8 partitions x 40 rounds of commits, one request per round (all partitions). */
    int64_t expect[8] = { 0 };
    int64_t commits_start = now_ms();
    for (int round = 1; round <= 40; round++) {
        struct proto_commit_partition parts[8];
        for (int32_t p = 0; p < 8; p++) {
            expect[p] = round * (p + 1);
            parts[p] = (struct proto_commit_partition){ p, expect[p], str_of("r") };
        }
        struct proto_commit_topic entry = { str_of("durable"), parts, 8 };
        union proto_request request = { .offset_commit = { str_of("survivor"), str_of(member.id),
                                                           member.generation, &entry, 1 } };
        union proto_response response;
        T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_OFFSET_COMMIT, &request, &response), 0);
        T_ASSERT_EQ_INT(response.offset_commit.error, 0);
        T_ASSERT_EQ_INT(response.offset_commit.topics[0].partition_count, 8);
        for (int32_t p = 0; p < 8; p++) {
            T_ASSERT_EQ_INT(response.offset_commit.topics[0].partitions[p].error, 0);
        }
    }
    printf("  40 commits of 8 partitions, each answered once durable: %lld ms\n",
           (long long)(now_ms() - commits_start));
    /* A manual commit to a second group, and one deleted by RESET_OFFSETS. */
    int32_t part_error = 0;
    T_ASSERT_EQ_INT(commit_one(&client, "manual", "", -1, "durable", 3, 33, "hand", &part_error),
                    0);
    T_ASSERT_EQ_INT(part_error, 0);
    T_ASSERT_EQ_INT(commit_one(&client, "manual", "", -1, "durable", 4, 44, NULL, &part_error), 0);
    struct proto_reset_partition reset_part = { 4, PROTO_RESET_OFFSETS_DELETE };
    struct proto_reset_topic reset_topic = { str_of("durable"), &reset_part, 1 };
    union proto_request reset = { .reset_offsets = { str_of("manual"), &reset_topic, 1, false } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_RESET_OFFSETS, &reset, &response), 0);
    T_ASSERT_EQ_INT(response.reset_offsets.error, 0);
    kill(broker.pid, SIGKILL);
    T_ASSERT(rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS) != -1);
    gt_close(&client);
    for (int restart = 0; restart < 2; restart++) {
        int64_t restart_start = now_ms();
        rilld_start(&broker);
        printf("  restart to serving (%s): %lld ms\n", restart == 0 ? "after kill -9" : "clean",
               (long long)(now_ms() - restart_start));
        gt_open(&client, broker.port);
        for (int32_t p = 0; p < 8; p++) {
            T_ASSERT_EQ_INT(fetch_offset(&client, "survivor", "durable", p, NULL, 0), expect[p]);
        }
        char metadata[16];
        T_ASSERT_EQ_INT(fetch_offset(&client, "manual", "durable", 3, metadata, sizeof(metadata)),
                        33);
        T_ASSERT(strcmp(metadata, "hand") == 0);
        T_ASSERT_EQ_INT(fetch_offset(&client, "manual", "durable", 4, NULL, 0), -1);
        char state[32];
        int32_t members = -1;
        T_ASSERT(list_group(&client, "survivor", state, sizeof(state), &members));
        T_ASSERT_EQ_INT(members, 0);
        T_ASSERT(strcmp(state, "empty") == 0);
        T_ASSERT_EQ_INT(member_heartbeat(&client, &member), RILL_ERR_UNKNOWN_MEMBER_ID);
        gt_close(&client);
        if (restart == 0) {
            rilld_stop_clean(&broker); /* then a clean restart must load the same */
        }
    }
    rilld_stop_clean(&broker);
}

/* RESET_OFFSETS (symbolic positions, validate_only, empty groups only) and DELETE_GROUPS. */
static void t_reset_and_delete(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "admin", 2), 0);
    fill_topic(&client, "admin", 2, 30);
    struct proto_reset_partition parts[] = {
        { 0, PROTO_RESET_OFFSETS_LATEST },
        { 1, 12 },
    };
    struct proto_reset_topic topic = { str_of("admin"), parts, 2 };
    union proto_request request = { .reset_offsets = { str_of("ops"), &topic, 1, true } };
    union proto_response response;
    /* validate_only: resolved, nothing stored (the group may still be created). */
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_RESET_OFFSETS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.reset_offsets.error, 0);
    T_ASSERT_EQ_INT(response.reset_offsets.topics[0].partitions[0].offset, 30);
    T_ASSERT_EQ_INT(response.reset_offsets.topics[0].partitions[1].offset, 12);
    T_ASSERT_EQ_INT(fetch_offset(&client, "ops", "admin", 0, NULL, 0), -1);
    request.reset_offsets.validate_only = false;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_RESET_OFFSETS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.reset_offsets.error, 0);
    T_ASSERT_EQ_INT(fetch_offset(&client, "ops", "admin", 0, NULL, 0), 30);
    T_ASSERT_EQ_INT(fetch_offset(&client, "ops", "admin", 1, NULL, 0), 12);
    /* Backwards is allowed here; out of range and bad symbols are refused per partition. */
    parts[0].offset = PROTO_RESET_OFFSETS_EARLIEST;
    parts[1].offset = 31;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_RESET_OFFSETS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.reset_offsets.topics[0].partitions[0].error, 0);
    T_ASSERT_EQ_INT(response.reset_offsets.topics[0].partitions[0].offset, 0);
    T_ASSERT_EQ_INT(response.reset_offsets.topics[0].partitions[1].error,
                    RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(fetch_offset(&client, "ops", "admin", 0, NULL, 0), 0);
    T_ASSERT_EQ_INT(fetch_offset(&client, "ops", "admin", 1, NULL, 0), 12);
    /* With a member: GROUP_NOT_EMPTY for reset and delete. */
    struct gt_member member;
    member_init(&member, "ops", "admin", NULL, 10000);
    T_ASSERT_EQ_INT(member_join(&client, &member), 0);
    parts[1].offset = 5;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_RESET_OFFSETS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.reset_offsets.error, RILL_ERR_GROUP_NOT_EMPTY);
    struct proto_str groups[] = { str_of("ops"), str_of("never"), str_of("bad id") };
    union proto_request remove = { .delete_groups = { groups, 3 } };
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_DELETE_GROUPS, &remove, &response), 0);
    T_ASSERT_EQ_INT(response.delete_groups.result_count, 3);
    T_ASSERT_EQ_INT(response.delete_groups.results[0].error, RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT_EQ_INT(response.delete_groups.results[1].error, RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(response.delete_groups.results[2].error, RILL_ERR_INVALID_GROUP_ID);
    T_ASSERT_EQ_INT(member_leave(&client, &member), 0);
    remove.delete_groups.group_count = 1;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_DELETE_GROUPS, &remove, &response), 0);
    T_ASSERT_EQ_INT(response.delete_groups.results[0].error, 0);
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_DELETE_GROUPS, &remove, &response), 0);
    T_ASSERT_EQ_INT(response.delete_groups.results[0].error, RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(fetch_offset(&client, "ops", "admin", 1, NULL, 0), -1);
    char state[32];
    int32_t members = 0;
    T_ASSERT(!list_group(&client, "ops", state, sizeof(state), &members));
    /* The deletion is durable: after a restart the group stays gone. */
    gt_close(&client);
    kill(broker.pid, SIGKILL);
    T_ASSERT(rilld_wait(&broker, WIRE_STOP_TIMEOUT_MS) != -1);
    rilld_start(&broker);
    gt_open(&client, broker.port);
    T_ASSERT(!list_group(&client, "ops", state, sizeof(state), &members));
    T_ASSERT_EQ_INT(fetch_offset(&client, "ops", "admin", 0, NULL, 0), -1);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* A pattern subscription picks up a topic created later, never an internal one. */
static void t_pattern_subscription(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "pat-a", 2), 0);
    T_ASSERT_EQ_INT(create_topic(&client, "other", 2), 0);
    struct gt_member member;
    member_init(&member, "patterned", NULL, "pat-.*", 10000);
    T_ASSERT_EQ_INT(member_join(&client, &member), 0);
    T_ASSERT_EQ_INT(member.assignment_count, 2);
    T_ASSERT(strcmp(member.assignment[0].topic, "pat-a") == 0);
    T_ASSERT_EQ_INT(member_heartbeat(&client, &member), 0);
    T_ASSERT_EQ_INT(create_topic(&client, "pat-b", 3), 0);
    int64_t deadline = now_ms() + 10000;
    while (member_heartbeat(&client, &member) == 0) {
        T_ASSERT(now_ms() < deadline);
        pause_ms(20);
    }
    T_ASSERT_EQ_INT(member_join(&client, &member), 0);
    T_ASSERT_EQ_INT(member.assignment_count, 5);
    T_ASSERT(tp_in(member.assignment, member.assignment_count, "pat-b", 2));
    /* ".*" matches every user topic and no internal one. */
    struct gt_member all;
    member_init(&all, "everything", NULL, ".*", 10000);
    T_ASSERT_EQ_INT(member_join(&client, &all), 0);
    T_ASSERT_EQ_INT(all.assignment_count, 7);
    for (uint32_t i = 0; i < all.assignment_count; i++) {
        T_ASSERT(strncmp(all.assignment[i].topic, "__", 2) != 0);
    }
    /* A pattern that does not compile. */
    struct gt_member bad;
    member_init(&bad, "patterned", NULL, "pat-(", 10000);
    T_ASSERT_EQ_INT(member_join(&client, &bad), RILL_ERR_INVALID_SUBSCRIPTION);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* __consumer_offsets: fetched and described by name, never listed, produced to, altered,
 * deleted or created by clients; its records decode with the group_record codec. */
static void t_offsets_topic(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "src", 1), 0);
    fill_topic(&client, "src", 1, 500);
    /* Many commits to one key: only the latest matters after a restart. */
    int32_t part_error = 0;
    for (int i = 1; i <= 300; i++) {
        T_ASSERT_EQ_INT(commit_one(&client, "compactme", "", -1, "src", 0, i, NULL, &part_error),
                        0);
        T_ASSERT_EQ_INT(part_error, 0);
    }
    /* Listing every topic leaves it out; naming it shows it, compacted. */
    union proto_request request = { .describe_topics = { NULL, 0, true } };
    union proto_response response;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_DESCRIBE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.describe_topics.topic_count, 1);
    T_ASSERT(str_is(response.describe_topics.topics[0].name, "src"));
    struct proto_str name = str_of(GROUP_OFFSETS_TOPIC);
    request = (union proto_request){ .describe_topics = { &name, 1, false } };
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_DESCRIBE_TOPICS, &request, &response), 0);
    const struct proto_describe_topic *described = &response.describe_topics.topics[0];
    T_ASSERT_EQ_INT(described->error, 0);
    T_ASSERT_EQ_INT(described->partition_count, 1);
    int64_t offsets_end = described->partitions[0].end_offset;
    T_ASSERT(offsets_end >= 300);
    bool compact = false;
    for (uint32_t i = 0; i < described->config_count; i++) {
        compact = compact || (str_is(described->configs[i].key, "cleanup.policy") &&
                              str_is(described->configs[i].value, "compact"));
    }
    T_ASSERT(compact);
    request = (union proto_request){ .metadata = { NULL, 0, true, false } };
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_METADATA, &request, &response), 0);
    T_ASSERT_EQ_INT(response.metadata.topic_count, 1);
    /* Refused: produce, delete, alter, create. */
    struct log_batch_builder bld;
    T_ASSERT(log_batch_builder_init(&bld, LOG_CODEC_NONE, 1u << 20) == RILL_OK);
    rill_record_t rec = { "k", 1, "v", 1, NULL, 0, 1 };
    T_ASSERT(log_batch_builder_add(&bld, &rec, 0) == RILL_OK);
    uint8_t *batch = NULL;
    size_t bytes = 0;
    T_ASSERT(log_batch_builder_finish(&bld, &batch, &bytes) == RILL_OK);
    struct proto_produce_partition part = { 0, { batch, (uint32_t)bytes } };
    struct proto_produce_topic entry = { name, &part, 1 };
    request = (union proto_request){ .produce = { 1, 10000, &entry, 1 } };
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_PRODUCE, &request, &response), 0);
    T_ASSERT_EQ_INT(response.produce.topics[0].partitions[0].error, RILL_ERR_INVALID_TOPIC);
    T_ASSERT(response.produce.topics[0].partitions[0].message.bytes > 0);
    log_batch_builder_deinit(&bld);
    request = (union proto_request){ .delete_topics = { &name, 1 } };
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_DELETE_TOPICS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.delete_topics.results[0].error, RILL_ERR_INVALID_TOPIC);
    T_ASSERT(response.delete_topics.results[0].message.bytes > 0);
    struct proto_config config = { str_of("cleanup.policy"), str_of("delete") };
    struct proto_alter_topic alter = { name, &config, 1 };
    request = (union proto_request){ .alter_configs = { &alter, 1 } };
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_ALTER_CONFIGS, &request, &response), 0);
    T_ASSERT_EQ_INT(response.alter_configs.results[0].error, RILL_ERR_INVALID_TOPIC);
    T_ASSERT_EQ_INT(create_topic(&client, GROUP_OFFSETS_TOPIC, 1), RILL_ERR_INVALID_TOPIC);
    /* Fetch reads its records: the last one is the last commit. */
    struct proto_fetch_partition fetch_part = { 0, 0, 1 << 20 };
    struct proto_fetch_topic fetch_topic = { name, &fetch_part, 1 };
    int64_t last_offset = -1;
    struct group_offset_record last;
    memset(&last, 0, sizeof(last));
    uint8_t *keep = NULL;
    for (int64_t next = 0; next < offsets_end;) {
        fetch_part.offset = next;
        request = (union proto_request){ .fetch = { 0, 1, 4 << 20, &fetch_topic, 1 } };
        T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_FETCH, &request, &response), 0);
        const struct proto_fetch_partition_result *result = &response.fetch.topics[0].partitions[0];
        T_ASSERT_EQ_INT(result->error, 0);
        T_ASSERT(result->batches.bytes > 0);
        free(keep);
        keep = malloc(result->batches.bytes);
        T_ASSERT(keep != NULL);
        memcpy(keep, result->batches.ptr, result->batches.bytes);
        struct log_record_iter it;
        log_record_iter_init(&it);
        for (size_t position = 0; position < result->batches.bytes;) {
            struct log_batch_header hdr;
            T_ASSERT(log_batch_header_decode(keep + position, result->batches.bytes - position,
                                             &hdr) == RILL_OK);
            size_t total = log_batch_total_bytes(&hdr);
            T_ASSERT(log_batch_validate(keep + position, total, false, &hdr) == RILL_OK);
            T_ASSERT_EQ_INT(log_batch_codec(&hdr), LOG_CODEC_NONE);
            T_ASSERT(log_record_iter_start(&it, keep + position, total) == RILL_OK);
            struct log_record record;
            while (log_record_iter_next(&it, &record) == RILL_OK) {
                T_ASSERT(record.key_bytes > 0);
                struct group_offset_record decoded;
                T_ASSERT(
                    group_record_decode(record.key, (size_t)record.key_bytes,
                                        record.value_bytes < 0 ? NULL : record.value,
                                        record.value_bytes < 0 ? 0 : (size_t)record.value_bytes,
                                        &decoded) == RILL_OK);
                if (record.offset > last_offset) {
                    last_offset = record.offset;
                    last = decoded;
                }
            }
            next = log_batch_offset_last(&hdr) + 1;
            position += total;
        }
        log_record_iter_deinit(&it);
    }
    T_ASSERT(str_is(last.group, "compactme"));
    T_ASSERT(str_is(last.topic, "src"));
    T_ASSERT_EQ_INT(last.partition, 0);
    T_ASSERT_EQ_INT(last.offset, 300);
    T_ASSERT(last.commit_wall_ms > 0);
    free(keep);
    gt_close(&client);
    rilld_stop_clean(&broker);
    rilld_start(&broker);
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(fetch_offset(&client, "compactme", "src", 0, NULL, 0), 300);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* Records of __consumer_offsets that do not decode are skipped at load (and counted); the
 * others are restored. The broken records are written with the embedded log API while the
 * broker is stopped. */
static void t_corrupt_offsets_records(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "src", 2), 0);
    fill_topic(&client, "src", 2, 10);
    int32_t part_error = 0;
    T_ASSERT_EQ_INT(commit_one(&client, "before", "", -1, "src", 0, 4, NULL, &part_error), 0);
    T_ASSERT_EQ_INT(part_error, 0);
    gt_close(&client);
    rilld_stop_clean(&broker);
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/%s-0", broker.data_dir, GROUP_OFFSETS_TOPIC);
    rill_log_t *log = NULL;
    T_ASSERT_OK(rill_log_open(dir, NULL, &log));
    static const uint8_t not_msgpack[] = { 0xc1, 0xc1 };
    static const uint8_t bad_version[] = { 0x94, 0x07, 0xa1, 'g', 0xa1, 't', 0x00 };
    rill_record_t broken[] = {
        { not_msgpack, sizeof(not_msgpack), "x", 1, NULL, 0, 1 },
        { bad_version, sizeof(bad_version), "x", 1, NULL, 0, 1 },
        { NULL, 0, "no key", 6, NULL, 0, 1 },
    };
    T_ASSERT_OK(rill_log_append(log, broken, 3, NULL));
    T_ASSERT_OK(rill_log_close(log));
    rilld_start(&broker);
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(fetch_offset(&client, "before", "src", 0, NULL, 0), 4);
    /* Commits after the broken records still work and survive another restart. */
    T_ASSERT_EQ_INT(commit_one(&client, "after", "", -1, "src", 1, 9, NULL, &part_error), 0);
    T_ASSERT_EQ_INT(part_error, 0);
    int fd = wire_connect(broker.http_port);
    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    wire_send(fd, get, sizeof(get) - 1);
    char *text = calloc(1, 1 << 20);
    T_ASSERT(text != NULL);
    size_t used = 0;
    int64_t deadline = now_ms() + GT_IO_TIMEOUT_MS;
    while (now_ms() < deadline && used < (1u << 20) - 1) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        ssize_t got = recv(fd, text + used, (1u << 20) - 1 - used, 0);
        if (got <= 0) {
            break;
        }
        used += (size_t)got;
    }
    close(fd);
    T_ASSERT(strstr(text, "rill_group_load_corrupt_records_total 3") != NULL);
    free(text);
    gt_close(&client);
    rilld_stop_clean(&broker);
    rilld_start(&broker);
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(fetch_offset(&client, "before", "src", 0, NULL, 0), 4);
    T_ASSERT_EQ_INT(fetch_offset(&client, "after", "src", 1, NULL, 0), 9);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* Loading a compacted offsets topic: its segments have offset gaps. The topic's own segments
 * are 8 MiB, so this case writes many commit records for a few keys offline (embedded log
 * API, 64 KiB segments), compacts them, and checks that the broker restores the latest
 * offset of each key from what compaction left. */
static void t_compacted_offsets_load(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "cmp", 3), 0);
    fill_topic(&client, "cmp", 3, 5);
    int32_t part_error = 0;
    T_ASSERT_EQ_INT(commit_one(&client, "cmp-g", "", -1, "cmp", 0, 1, NULL, &part_error), 0);
    T_ASSERT_EQ_INT(part_error, 0);
    gt_close(&client);
    rilld_stop_clean(&broker);
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/%s-0", broker.data_dir, GROUP_OFFSETS_TOPIC);
    rill_conf_t *conf = rill_conf_create();
    char errstr[256];
    T_ASSERT_OK(rill_conf_set(conf, "segment.bytes", "65536", errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "cleanup.policy", "compact", errstr, sizeof(errstr)));
    rill_log_t *log = NULL;
    T_ASSERT_OK(rill_log_open(dir, conf, &log));
    enum { RECORDS = 20000, PER_BATCH = 20 };
    static uint8_t keys[PER_BATCH][GROUP_RECORD_KEY_BYTES_MAX];
    static uint8_t values[PER_BATCH][GROUP_RECORD_VALUE_BYTES_MAX];
    for (int i = 0; i < RECORDS; i += PER_BATCH) {
        rill_record_t records[PER_BATCH];
        for (int j = 0; j < PER_BATCH; j++) {
            struct group_offset_record record = {
                .group = str_of("cmp-g"),
                .topic = str_of("cmp"),
                .partition = (i + j) % 3,
                .offset = i + j + 2,
                .metadata = { NULL, 0 },
                .commit_wall_ms = 1700000000000 + i,
            };
            size_t key_bytes = group_record_key_encode(&record, keys[j], sizeof(keys[j]));
            size_t value_bytes = group_record_value_encode(&record, values[j], sizeof(values[j]));
            T_ASSERT(key_bytes > 0 && value_bytes > 0);
            records[j] = (rill_record_t){ keys[j], key_bytes, values[j], value_bytes, NULL, 0, -1 };
        }
        T_ASSERT_OK(rill_log_append(log, records, PER_BATCH, NULL));
    }
    uint64_t dropped = 0;
    T_ASSERT_OK(rill_log_compact(log, &dropped));
    T_ASSERT(dropped > RECORDS / 2);
    T_ASSERT_OK(rill_log_close(log));
    rill_conf_destroy(conf);
    rilld_start(&broker);
    gt_open(&client, broker.port);
    for (int32_t p = 0; p < 3; p++) {
        int last = RECORDS - 1;
        while (last % 3 != p) {
            last--;
        }
        T_ASSERT_EQ_INT(fetch_offset(&client, "cmp-g", "cmp", p, NULL, 0), last + 2);
    }
    /* Fewer records were replayed than were written: the gaps were skipped. */
    int fd = wire_connect(broker.http_port);
    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    wire_send(fd, get, sizeof(get) - 1);
    char *text = calloc(1, 1 << 20);
    T_ASSERT(text != NULL);
    size_t used = 0;
    int64_t deadline = now_ms() + GT_IO_TIMEOUT_MS;
    while (now_ms() < deadline && used < (1u << 20) - 1) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        ssize_t got = recv(fd, text + used, (1u << 20) - 1 - used, 0);
        if (got <= 0) {
            break;
        }
        used += (size_t)got;
    }
    close(fd);
    const char *line = strstr(text, "\nrill_group_load_records_total ");
    T_ASSERT(line != NULL);
    unsigned long long loaded =
        strtoull(line + strlen("\nrill_group_load_records_total "), NULL, 10);
    T_ASSERT(loaded > 0 && loaded < RECORDS / 2);
    line = strstr(text, "\nrill_group_load_seconds ");
    T_ASSERT(line != NULL);
    line += strlen("\nrill_group_load_seconds ");
    printf("  loaded %llu records of a compacted offsets topic (%d written) in %.*s s\n", loaded,
           RECORDS, (int)strcspn(line, "\n"), line);
    T_ASSERT(strstr(text, "rill_group_load_corrupt_records_total 0") != NULL);
    free(text);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

/* Hostile group requests: malformed bodies, wrong types, huge arrays, bad values. Each gets
 * an answer and the broker keeps serving. */
static void t_hostile_group_requests(void)
{
    struct rilld broker;
    gt_start(&broker, NULL);
    struct gt_client client;
    gt_open(&client, broker.port);
    T_ASSERT_EQ_INT(create_topic(&client, "h", 1), 0);
    static const uint8_t never_used[] = { 0xc1 };
    static const uint8_t wrong_types[] = { 0x93, 0xc3, 0xc3, 0xc3 };
    /* OFFSET_COMMIT ["g", "", -1, [ [ "h", array32 of 2^32-1 ] ]] */
    static const uint8_t huge_nested[] = { 0x94, 0xa1, 'g',  0xa0, 0xff, 0x91, 0x92,
                                           0xa1, 'h',  0xdd, 0xff, 0xff, 0xff, 0xff };
    for (uint32_t api = PROTO_API_JOIN_GROUP; api <= PROTO_API_RESET_OFFSETS; api++) {
        gt_send_raw(&client, api, never_used, sizeof(never_used));
        T_ASSERT_EQ_INT(gt_recv(&client, api, NULL), RILL_ERR_INVALID_REQUEST);
        gt_send_raw(&client, api, wrong_types, sizeof(wrong_types));
        T_ASSERT_EQ_INT(gt_recv(&client, api, NULL), RILL_ERR_INVALID_REQUEST);
    }
    gt_send_raw(&client, PROTO_API_OFFSET_COMMIT, huge_nested, sizeof(huge_nested));
    T_ASSERT_EQ_INT(gt_recv(&client, PROTO_API_OFFSET_COMMIT, NULL), RILL_ERR_INVALID_REQUEST);
    /* JOIN_GROUP with both topics and pattern nil. */
    struct proto_str strategies[] = { str_of("range") };
    union proto_request join = { .join_group = {
                                     .group = str_of("g"),
                                     .member_id = str_of(""),
                                     .client_id = str_of("x"),
                                     .session_timeout_ms = 1000,
                                     .rebalance_timeout_ms = -1,
                                     .strategies = strategies,
                                     .strategy_count = 1,
                                     .topics_nil = true,
                                 } };
    union proto_response response;
    struct mp_writer writer;
    mp_writer_init(&writer, 1 << 20);
    /* The encoder may refuse the inconsistent request itself; then write it by hand. */
    if (proto_request_body_encode(PROTO_API_JOIN_GROUP, &writer, &join) == RILL_OK) {
        gt_send_raw(&client, PROTO_API_JOIN_GROUP, writer.data, writer.bytes);
        T_ASSERT_EQ_INT(gt_recv(&client, PROTO_API_JOIN_GROUP, NULL), RILL_ERR_INVALID_REQUEST);
    }
    mp_writer_deinit(&writer);
    /* Values the coordinator checks: invalid group ids, unknown strategies only, a negative
     * generation with a member id, a negative offset. */
    struct gt_member member;
    member_init(&member, "bad/group", "h", NULL, 1000);
    T_ASSERT_EQ_INT(member_join(&client, &member), RILL_ERR_INVALID_GROUP_ID);
    struct proto_str unknown[] = { str_of("nope") };
    join.join_group.strategies = unknown;
    join.join_group.topics_nil = false;
    struct proto_str topic = str_of("h");
    join.join_group.topics = &topic;
    join.join_group.topic_count = 1;
    T_ASSERT_EQ_INT(gt_call(&client, PROTO_API_JOIN_GROUP, &join, &response), 0);
    T_ASSERT(response.join_group.error != 0);
    T_ASSERT_EQ_INT(response.join_group.generation, -1);
    int32_t part_error = 0;
    T_ASSERT_EQ_INT(commit_one(&client, "g2", "", -1, "h", 0, -5, NULL, &part_error), 0);
    T_ASSERT(part_error != 0);
    T_ASSERT(commit_one(&client, "g2", "x", -7, "h", 0, 0, NULL, &part_error) != 0);
    /* Random bodies for the group apis: each is answered, never a crash. */
    uint64_t seed = 777;
    for (int i = 0; i < 1000; i++) {
        uint8_t body[48];
        size_t body_bytes = (size_t)(seed % sizeof(body));
        for (size_t b = 0; b < body_bytes; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            body[b] = (uint8_t)(seed >> 56);
        }
        if (body_bytes > 0) {
            body[0] = (uint8_t)(0x90 | (seed % 10)); /* mostly arrays: get past the first byte */
        }
        uint32_t api = PROTO_API_JOIN_GROUP + (uint32_t)(seed % 9);
        gt_send_raw(&client, api, body, body_bytes);
        (void)gt_recv(&client, api, NULL);
    }
    /* Still serving. */
    member_init(&member, "after", "h", NULL, 1000);
    T_ASSERT_EQ_INT(member_join(&client, &member), 0);
    T_ASSERT_EQ_INT(member_heartbeat(&client, &member), 0);
    gt_close(&client);
    rilld_stop_clean(&broker);
}

#define GT_THREE_CORES(name)        \
    static void name##_3cores(void) \
    {                               \
        gt_cores = 3;               \
        name();                     \
    }
GT_THREE_CORES(t_round_trip)
GT_THREE_CORES(t_cooperative_handover)
GT_THREE_CORES(t_stale_generation_and_regression)
GT_THREE_CORES(t_session_expiry)
GT_THREE_CORES(t_kill9_commits_survive)
GT_THREE_CORES(t_reset_and_delete)
GT_THREE_CORES(t_pattern_subscription)
GT_THREE_CORES(t_offsets_topic)
GT_THREE_CORES(t_hostile_group_requests)
GT_THREE_CORES(t_corrupt_offsets_records)
GT_THREE_CORES(t_compacted_offsets_load)

static const struct t_case cases[] = {
    T_CASE(t_round_trip),
    T_CASE(t_cooperative_handover),
    T_CASE(t_stale_generation_and_regression),
    T_CASE(t_session_expiry),
    T_CASE(t_kill9_commits_survive),
    T_CASE(t_reset_and_delete),
    T_CASE(t_pattern_subscription),
    T_CASE(t_offsets_topic),
    T_CASE(t_hostile_group_requests),
    T_CASE(t_corrupt_offsets_records),
    T_CASE(t_compacted_offsets_load),
    T_CASE(t_round_trip_3cores),
    T_CASE(t_cooperative_handover_3cores),
    T_CASE(t_stale_generation_and_regression_3cores),
    T_CASE(t_session_expiry_3cores),
    T_CASE(t_kill9_commits_survive_3cores),
    T_CASE(t_reset_and_delete_3cores),
    T_CASE(t_pattern_subscription_3cores),
    T_CASE(t_offsets_topic_3cores),
    T_CASE(t_hostile_group_requests_3cores),
    T_CASE(t_corrupt_offsets_records_3cores),
    T_CASE(t_compacted_offsets_load_3cores),
};

int main(int argc, char **argv)
{
    rilld_fixture_init(argv[0]);
    return t_run(argc, argv, cases, T_COUNT(cases));
}
