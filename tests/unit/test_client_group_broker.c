/*
 * test_client_group_broker.c - the consumer group admin calls of librill against a real rilld
 * (tests/rilld_fixture.h: 127.0.0.1 port 0, a temporary data dir, stopped by PID): a group
 * made by RESET_OFFSETS is listed, described with committed offsets, high watermarks and lag,
 * reset (a dry run changes nothing) and deleted; a member that joined over a raw connection
 * shows up in the description (client id, host, assignment, holder) and makes reset and
 * delete fail with RILL_ERR_GROUP_NOT_EMPTY until it leaves. A broker without a group
 * coordinator skips the cases.
 */
#include "tests/rilld_fixture.h"

#include "proto/api.h"

static struct rilld broker;

static rill_admin_t *admin_for(uint16_t port)
{
    rill_conf_t *conf = rill_conf_create();
    char servers[64];
    char errstr[256];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", port);
    T_ASSERT_OK(rill_conf_set(conf, "bootstrap.servers", servers, errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "retry.backoff.ms", "10", errstr, sizeof(errstr)));
    rill_admin_t *admin = NULL;
    T_ASSERT_OK(rill_admin_create(conf, errstr, sizeof(errstr), &admin));
    rill_conf_destroy(conf);
    return admin;
}

/* Starts the broker; skips the case when it serves no consumer groups. */
static rill_admin_t *broker_up(void)
{
    rilld_prepare(&broker, NULL);
    rilld_start(&broker);
    rill_admin_t *admin = admin_for(broker.port);
    rill_group_list_t *list = NULL;
    rill_err err = rill_admin_list_groups(admin, &list);
    if (err == RILL_ERR_UNSUPPORTED_API) {
        rill_admin_destroy(admin);
        rilld_stop_clean(&broker);
        T_SKIP("this rilld has no group coordinator");
    }
    T_ASSERT_OK(err);
    T_ASSERT_EQ_INT(list->group_count, 0);
    rill_group_list_destroy(list);
    return admin;
}

/* Creates topic with partitions and appends count[p] records to each partition p. */
static void
topic_with_records(rill_admin_t *admin, const char *topic, int32_t partitions, const int *counts)
{
    char errstr[256] = "";
    T_ASSERT_OK(rill_admin_create_topic(admin, topic, partitions, NULL, 0, errstr, sizeof(errstr)));
    rill_conf_t *conf = rill_conf_create();
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%u", broker.port);
    T_ASSERT_OK(rill_conf_set(conf, "bootstrap.servers", servers, errstr, sizeof(errstr)));
    rill_producer_t *producer = NULL;
    T_ASSERT_OK(rill_producer_create(conf, NULL, NULL, errstr, sizeof(errstr), &producer));
    for (int32_t p = 0; p < partitions; p++) {
        for (int i = 0; i < counts[p]; i++) {
            rill_record_t record = { .value = "v", .value_bytes = 1, .timestamp_ms = -1 };
            T_ASSERT_OK(rill_produce(producer, topic, p, &record, NULL));
        }
    }
    T_ASSERT_OK(rill_flush(producer, 20000));
    rill_producer_destroy(producer);
    rill_conf_destroy(conf);
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

static void t_broker_group_admin(void)
{
    rill_admin_t *admin = broker_up();
    topic_with_records(admin, "orders", 3, (const int[]){ 10, 20, 0 });
    char errstr[256] = "";

    /* A dry run on a group that does not exist creates nothing. */
    rill_group_reset_t entries[] = {
        { .topic = "orders", .partition = 0, .offset = 4 },
        { .topic = "orders", .partition = 1, .offset = RILL_OFFSET_END },
    };
    T_ASSERT_OK(
        rill_admin_reset_group_offsets(admin, "billing", entries, 2, true, errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(entries[0].offset, 4);
    T_ASSERT_EQ_INT(entries[1].offset, 20);
    T_ASSERT_EQ_INT(entries[0].previous, -1);
    rill_group_info_t *info = NULL;
    T_ASSERT_OK(rill_admin_describe_group(admin, "billing", &info));
    T_ASSERT_EQ_INT(info->err, RILL_ERR_UNKNOWN_GROUP);
    rill_group_info_destroy(info);

    /* Executed: the group exists, empty, with the offsets. */
    entries[0].offset = 4;
    entries[1].offset = RILL_OFFSET_END;
    T_ASSERT_OK(rill_admin_reset_group_offsets(admin, "billing", entries, 2, false, errstr,
                                               sizeof(errstr)));
    rill_group_list_t *list = NULL;
    T_ASSERT_OK(rill_admin_list_groups(admin, &list));
    T_ASSERT_EQ_INT(list->group_count, 1);
    T_ASSERT(strcmp(list->groups[0].group, "billing") == 0);
    T_ASSERT(strcmp(list->groups[0].state, "empty") == 0);
    T_ASSERT_EQ_INT(list->groups[0].member_count, 0);
    rill_group_list_destroy(list);

    T_ASSERT_OK(rill_admin_describe_group(admin, "billing", &info));
    T_ASSERT_EQ_INT(info->err, RILL_OK);
    T_ASSERT(strcmp(info->state, "empty") == 0);
    T_ASSERT_EQ_INT(info->member_count, 0);
    T_ASSERT_EQ_INT(info->offset_count, 3); /* every partition of a committed topic */
    const rill_group_offset_info_t *row = offset_row(info, "orders", 0);
    T_ASSERT_EQ_INT(row->committed, 4);
    T_ASSERT_EQ_INT(row->high_watermark, 10);
    T_ASSERT_EQ_INT(row->lag, 6);
    T_ASSERT(row->member_id == NULL);
    row = offset_row(info, "orders", 1);
    T_ASSERT_EQ_INT(row->committed, 20);
    T_ASSERT_EQ_INT(row->lag, 0);
    row = offset_row(info, "orders", 2);
    T_ASSERT_EQ_INT(row->committed, -1);
    T_ASSERT_EQ_INT(row->high_watermark, 0);
    T_ASSERT_EQ_INT(row->lag, -1);
    rill_group_info_destroy(info);

    /* Backwards, then forgotten; previous says what it was. */
    rill_group_reset_t back = { .topic = "orders", .partition = 1, .offset = 2 };
    T_ASSERT_OK(rill_admin_reset_group_offsets(admin, "billing", &back, 1, false, NULL, 0));
    T_ASSERT_EQ_INT(back.previous, 20);
    T_ASSERT_EQ_INT(back.offset, 2);
    back.offset = RILL_OFFSET_NONE;
    T_ASSERT_OK(rill_admin_reset_group_offsets(admin, "billing", &back, 1, false, NULL, 0));
    T_ASSERT_EQ_INT(back.previous, 2);
    T_ASSERT_EQ_INT(back.offset, -1);

    /* Per-partition errors. */
    rill_group_reset_t bad[] = {
        { .topic = "orders", .partition = 0, .offset = 11 },
        { .topic = "orders", .partition = 7, .offset = 0 },
        { .topic = "nosuch", .partition = 0, .offset = 0 },
    };
    T_ASSERT_EQ_INT(rill_admin_reset_group_offsets(admin, "billing", bad, 3, false, NULL, 0),
                    RILL_ERR_OFFSET_OUT_OF_RANGE);
    T_ASSERT_EQ_INT(bad[1].err, RILL_ERR_UNKNOWN_PARTITION);
    T_ASSERT_EQ_INT(bad[2].err, RILL_ERR_UNKNOWN_TOPIC);

    T_ASSERT_OK(rill_admin_delete_group(admin, "billing", errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(rill_admin_delete_group(admin, "billing", errstr, sizeof(errstr)),
                    RILL_ERR_UNKNOWN_GROUP);
    T_ASSERT_EQ_INT(rill_admin_delete_group(admin, "bad/id", errstr, sizeof(errstr)),
                    RILL_ERR_INVALID_GROUP_ID);
    rill_admin_destroy(admin);
    rilld_stop_clean(&broker);
}

/* ---- a member over a raw connection ---- */

/* Sends one request on fd and decodes its answer into resp (arena and frame kept by caller). */
static void wire_call(int fd,
                      uint32_t api,
                      const union proto_request *req,
                      union proto_response *resp,
                      struct proto_arena *arena,
                      uint8_t **frame)
{
    static uint32_t correlation = 1;
    struct mp_writer out;
    mp_writer_init(&out, RILL_FRAME_BYTES_MAX);
    struct proto_request_header hdr = { .api = api, .version = 1, .correlation_id = correlation++ };
    T_ASSERT_OK(proto_frame_begin(&out));
    T_ASSERT_OK(proto_request_header_encode(&out, &hdr));
    T_ASSERT_OK(proto_request_body_encode(api, &out, req));
    T_ASSERT_OK(proto_frame_end(&out));
    wire_send(fd, out.data, out.bytes);
    mp_writer_deinit(&out);
    uint8_t prefix[4];
    uint32_t bytes = 0;
    int64_t deadline = now_ms() + 10000;
    T_ASSERT(wire_recv_exact(fd, prefix, 4, deadline));
    T_ASSERT_OK(proto_frame_length_decode(prefix, RILL_FRAME_BYTES_MAX, &bytes));
    free(*frame);
    *frame = malloc(bytes);
    T_ASSERT(*frame != NULL);
    T_ASSERT(wire_recv_exact(fd, *frame, bytes, deadline));
    struct mp_reader reader;
    mp_reader_init(&reader, *frame, bytes);
    struct proto_response_header rh;
    T_ASSERT_OK(proto_response_header_decode(&reader, &rh));
    T_ASSERT_EQ_INT(rh.error, RILL_OK);
    proto_arena_reset(arena);
    T_ASSERT_OK(proto_response_body_decode(api, &reader, arena, resp));
}

static struct proto_str str_of(const char *text)
{
    return (struct proto_str){ text, (uint32_t)strlen(text) };
}

static void t_broker_group_live_member(void)
{
    rill_admin_t *admin = broker_up();
    topic_with_records(admin, "orders", 2, (const int[]){ 5, 7 });
    int fd = wire_connect(broker.port);
    struct proto_arena arena;
    proto_arena_init(&arena, RILL_PROTO_ARENA_BYTES_MAX);
    uint8_t *frame = NULL;
    union proto_response resp;

    struct proto_str strategy = str_of("range");
    struct proto_str topic = str_of("orders");
    union proto_request join = { .join_group = {
                                     .group = str_of("live"),
                                     .member_id = str_of(""),
                                     .client_id = str_of("watcher"),
                                     .session_timeout_ms = 30000,
                                     .rebalance_timeout_ms = -1,
                                     .strategies = &strategy,
                                     .strategy_count = 1,
                                     .topics = &topic,
                                     .topic_count = 1,
                                 } };
    wire_call(fd, PROTO_API_JOIN_GROUP, &join, &resp, &arena, &frame);
    T_ASSERT_EQ_INT(resp.join_group.error, RILL_OK);
    char member_id[256];
    snprintf(member_id, sizeof(member_id), "%.*s", (int)resp.join_group.member_id.bytes,
             resp.join_group.member_id.ptr);
    int32_t generation = resp.join_group.generation;
    T_ASSERT_EQ_INT(resp.join_group.assignment_count, 1);
    T_ASSERT_EQ_INT(resp.join_group.assignment[0].partition_count, 2);
    struct proto_commit_partition commit_part = { .partition = 1, .offset = 3 };
    struct proto_commit_topic commit_topic = { topic, &commit_part, 1 };
    union proto_request commit = { .offset_commit = {
                                       .group = str_of("live"),
                                       .member_id = str_of(member_id),
                                       .generation = generation,
                                       .topics = &commit_topic,
                                       .topic_count = 1,
                                   } };
    wire_call(fd, PROTO_API_OFFSET_COMMIT, &commit, &resp, &arena, &frame);
    T_ASSERT_EQ_INT(resp.offset_commit.error, RILL_OK);

    rill_group_info_t *info = NULL;
    T_ASSERT_OK(rill_admin_describe_group(admin, "live", &info));
    T_ASSERT(strcmp(info->state, "stable") == 0);
    T_ASSERT(strcmp(info->strategy, "range") == 0);
    T_ASSERT_EQ_INT(info->member_count, 1);
    const rill_group_member_info_t *member = &info->members[0];
    T_ASSERT(strcmp(member->member_id, member_id) == 0);
    T_ASSERT(strcmp(member->client_id, "watcher") == 0);
    T_ASSERT(strncmp(member->host, "127.0.0.1:", 10) == 0);
    T_ASSERT_EQ_INT(member->session_timeout_ms, 30000);
    T_ASSERT_EQ_INT(member->topic_count, 1);
    T_ASSERT_EQ_INT(member->assignment_count, 2);
    T_ASSERT_EQ_INT(info->offset_count, 2);
    const rill_group_offset_info_t *row = offset_row(info, "orders", 1);
    T_ASSERT_EQ_INT(row->committed, 3);
    T_ASSERT_EQ_INT(row->high_watermark, 7);
    T_ASSERT_EQ_INT(row->lag, 4);
    T_ASSERT(row->member_id != NULL && strcmp(row->member_id, member_id) == 0);
    row = offset_row(info, "orders", 0);
    T_ASSERT_EQ_INT(row->committed, -1);
    T_ASSERT(row->member_id != NULL);
    rill_group_info_destroy(info);

    char errstr[256] = "";
    rill_group_reset_t entry = { .topic = "orders", .partition = 1, .offset = 0 };
    T_ASSERT_EQ_INT(
        rill_admin_reset_group_offsets(admin, "live", &entry, 1, true, errstr, sizeof(errstr)),
        RILL_ERR_GROUP_NOT_EMPTY);
    T_ASSERT_EQ_INT(rill_admin_delete_group(admin, "live", errstr, sizeof(errstr)),
                    RILL_ERR_GROUP_NOT_EMPTY);

    union proto_request leave = { .leave_group = { str_of("live"), str_of(member_id) } };
    wire_call(fd, PROTO_API_LEAVE_GROUP, &leave, &resp, &arena, &frame);
    T_ASSERT_EQ_INT(resp.leave_group.error, RILL_OK);
    entry.offset = 0;
    T_ASSERT_OK(
        rill_admin_reset_group_offsets(admin, "live", &entry, 1, false, errstr, sizeof(errstr)));
    T_ASSERT_EQ_INT(entry.previous, 3);
    T_ASSERT_OK(rill_admin_delete_group(admin, "live", errstr, sizeof(errstr)));

    free(frame);
    proto_arena_deinit(&arena);
    close(fd);
    rill_admin_destroy(admin);
    rilld_stop_clean(&broker);
}

static const struct t_case cases[] = {
    T_CASE(t_broker_group_admin),
    T_CASE(t_broker_group_live_member),
};

int main(int argc, char **argv)
{
    rilld_fixture_init(argv[0]);
    return t_run(argc, argv, cases, T_COUNT(cases));
}
