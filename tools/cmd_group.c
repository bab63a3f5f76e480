/*
 * cmd_group.c - `rill group list|describe|reset-offsets|delete`: consumer group
 * administration through the admin client of rill.h.
 *
 * The subcommands share one option handler that tells options apart by name (-b, -X, --json
 * and the reset options). list and describe print tables or one JSON document (tools/json.h).
 * reset-offsets is a dry run unless --execute is given: it prints the plan (partition,
 * current, new) either way. Targets the broker resolves itself (earliest, latest, none, an
 * offset) are sent as they are; @TIMESTAMP_MS is turned into an offset per partition with
 * LIST_OFFSETS first.
 */
#include "tools/cli.h"
#include "tools/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char group_usage[] =
    "usage: rill group <command> [options]\n"
    "\n"
    "Commands:\n"
    "  list             list the consumer groups with their states and member counts\n"
    "  describe GROUP   members, assignments, and per partition the committed offset and lag\n"
    "  reset-offsets GROUP --topic T[:P,...] --to WHERE [--execute]\n"
    "                   move committed offsets (dry run unless --execute; group must be empty)\n"
    "  delete GROUP     delete an empty group and its committed offsets\n"
    "\n"
    "Every command takes -b/--brokers HOST:PORT[,...] (default $RILL_BROKERS or\n"
    "127.0.0.1:9700). Run 'rill group <command> --help' for its options.\n";

#define GROUP_CLIENT_HELP                                                                    \
    "  -b, --brokers HOST:PORT[,...]  brokers to bootstrap from (default $RILL_BROKERS or\n" \
    "                       127.0.0.1:9700)\n"                                               \
    "  -X, --client-config KEY=VALUE  client setting (request.timeout.ms, ...); repeatable\n"

static const char list_usage[] =
    "usage: rill group list [--json] [options]\n"
    "\n"
    "Lists the consumer groups: name, state (empty, rebalancing, stable) and members.\n"
    "\n"
    "Options:\n"
    "  --json               print one JSON document instead of a table\n" GROUP_CLIENT_HELP
    "  -h, --help           show this help\n";

static const char describe_usage[] =
    "usage: rill group describe GROUP [--json] [options]\n"
    "\n"
    "Describes the consumer group GROUP: state, generation, assignment strategy, its members\n"
    "(client id, host, subscription, partitions held) and, per partition of the topics it\n"
    "commits to or subscribes to, the committed offset, the high watermark, the lag and the\n"
    "member holding it. '-' stands for none or unknown.\n"
    "\n"
    "Options:\n"
    "  --json               print one JSON document instead of tables\n" GROUP_CLIENT_HELP
    "  -h, --help           show this help\n";

static const char reset_usage[] =
    "usage: rill group reset-offsets GROUP --topic TOPIC[:P[,P...]] --to WHERE [--execute]\n"
    "\n"
    "Moves the committed offsets of GROUP, backwards too. Without --execute it is a dry run:\n"
    "it prints the plan (topic, partition, current, new) and changes nothing. Only a group\n"
    "without members can be reset: stop its consumers first. A group that does not exist yet\n"
    "is created by --execute.\n"
    "\n"
    "Options:\n"
    "  -t, --topic TOPIC[:P[,P...]]  the partitions to reset (default: every partition of\n"
    "                       TOPIC); repeatable\n"
    "  --to WHERE           the new committed offset of each partition:\n"
    "                         earliest        the first record still in the log\n"
    "                         latest          the end of the log (skip everything there)\n"
    "                         OFFSET          this offset (a whole number >= 0)\n"
    "                         @TIMESTAMP_MS   the first record with a timestamp >= it\n"
    "                         none            forget the commit (consumers apply their\n"
    "                                         auto.offset.reset)\n"
    "  --execute            apply the plan (default: dry run)\n"
    "  --json               print the plan as one JSON document\n" GROUP_CLIENT_HELP
    "  -h, --help           show this help\n"
    "\n"
    "Example:\n"
    "  rill group reset-offsets billing --topic orders:0,1 --to earliest --execute\n";

static const char delete_usage[] =
    "usage: rill group delete GROUP [options]\n"
    "\n"
    "Deletes the consumer group GROUP and its committed offsets. The group must have no\n"
    "members.\n"
    "\n"
    "Options:\n" GROUP_CLIENT_HELP "  -h, --help           show this help\n";

static const struct cli_option list_options[] = {
    CLI_CLIENT_OPTIONS,
    { "json", 0, false },
    { NULL, 0, false },
};

static const struct cli_option reset_options[] = {
    CLI_CLIENT_OPTIONS,      { "topic", 't', true }, { "to", 0, true },
    { "execute", 0, false }, { "json", 0, false },   { NULL, 0, false },
};

static const struct cli_option delete_options[] = {
    CLI_CLIENT_OPTIONS,
    { NULL, 0, false },
};

/* --topic options one reset accepts, and partitions one --topic may list. */
#define GROUP_TOPIC_SPECS_MAX     64
#define GROUP_SPEC_PARTITIONS_MAX 1024
/* Topic names of the protocol: at most 249 bytes. */
#define GROUP_TOPIC_BYTES_MAX 249
/* Partitions of one topic the broker accepts at most (a bound for "every partition"). */
#define GROUP_TOPIC_PARTITIONS_MAX 100000

/* One --topic: a topic and its partitions (count 0: every partition). */
struct group_topic_spec {
    char topic[GROUP_TOPIC_BYTES_MAX + 1];
    int32_t *partitions;
    size_t partition_count;
};

enum group_target {
    GROUP_TARGET_NONE_GIVEN,
    GROUP_TARGET_OFFSET,    /* target_value: an offset or RILL_OFFSET_END/BEGINNING/NONE */
    GROUP_TARGET_TIMESTAMP, /* target_value: ms since the epoch */
};

struct group_settings {
    const struct cli_option *options; /* the table being parsed, to name options by index */
    struct cli_client client;
    bool json;
    bool execute;
    enum group_target target;
    int64_t target_value;
    struct group_topic_spec specs[GROUP_TOPIC_SPECS_MAX];
    size_t spec_count;
    char problem[256];
};

/* ---- options ----------------------------------------------------------------------------- */

/* "TOPIC" or "TOPIC:P[,P...]" into the next spec. */
static const char *group_parse_topic(struct group_settings *settings, const char *value)
{
    if (settings->spec_count == GROUP_TOPIC_SPECS_MAX) {
        return "too many --topic options (at most 64)";
    }
    struct group_topic_spec *spec = &settings->specs[settings->spec_count];
    const char *colon = strchr(value, ':');
    size_t topic_bytes = colon != NULL ? (size_t)(colon - value) : strlen(value);
    if (topic_bytes == 0 || topic_bytes > GROUP_TOPIC_BYTES_MAX) {
        snprintf(settings->problem, sizeof(settings->problem),
                 "expected TOPIC or TOPIC:P[,P...], got '%s'", value);
        return settings->problem;
    }
    memcpy(spec->topic, value, topic_bytes);
    spec->topic[topic_bytes] = '\0';
    spec->partitions = NULL;
    spec->partition_count = 0;
    if (colon != NULL) {
        spec->partitions = calloc(GROUP_SPEC_PARTITIONS_MAX, sizeof(*spec->partitions));
        if (spec->partitions == NULL) {
            return "out of memory";
        }
        settings->spec_count++; /* owns the array from now on */
        const char *cursor = colon + 1;
        for (;;) {
            char number[24];
            size_t bytes = strcspn(cursor, ",");
            int64_t partition;
            if (bytes == 0 || bytes >= sizeof(number)) {
                partition = -1;
            } else {
                memcpy(number, cursor, bytes);
                number[bytes] = '\0';
                if (!cli_parse_int64(number, &partition)) {
                    partition = -1;
                }
            }
            if (partition < 0 || partition >= GROUP_TOPIC_PARTITIONS_MAX) {
                snprintf(settings->problem, sizeof(settings->problem),
                         "expected partition numbers after '%s:', got '%s'", spec->topic,
                         colon + 1);
                return settings->problem;
            }
            for (size_t index = 0; index < spec->partition_count; index++) {
                if (spec->partitions[index] == (int32_t)partition) {
                    snprintf(settings->problem, sizeof(settings->problem),
                             "partition %" PRId64 " of '%s' is given twice", partition,
                             spec->topic);
                    return settings->problem;
                }
            }
            if (spec->partition_count == GROUP_SPEC_PARTITIONS_MAX) {
                return "too many partitions in one --topic (at most 1024)";
            }
            spec->partitions[spec->partition_count++] = (int32_t)partition;
            if (cursor[bytes] == '\0') {
                break;
            }
            cursor += bytes + 1;
        }
        return NULL;
    }
    settings->spec_count++;
    return NULL;
}

static const char *group_parse_to(struct group_settings *settings, const char *value)
{
    int64_t number;

    settings->target = GROUP_TARGET_OFFSET;
    if (strcmp(value, "earliest") == 0 || strcmp(value, "beginning") == 0) {
        settings->target_value = RILL_OFFSET_BEGINNING;
    } else if (strcmp(value, "latest") == 0 || strcmp(value, "end") == 0) {
        settings->target_value = RILL_OFFSET_END;
    } else if (strcmp(value, "none") == 0) {
        settings->target_value = RILL_OFFSET_NONE;
    } else if (value[0] == '@') {
        if (!cli_parse_int64(value + 1, &number) || number < 0) {
            return "expected @TIMESTAMP_MS with a timestamp in milliseconds since the epoch";
        }
        settings->target = GROUP_TARGET_TIMESTAMP;
        settings->target_value = number;
    } else if (cli_parse_int64(value, &number) && number >= 0) {
        settings->target_value = number;
    } else {
        settings->target = GROUP_TARGET_NONE_GIVEN;
        return "expected earliest, latest, an offset (>= 0), @TIMESTAMP_MS or none";
    }
    return NULL;
}

static const char *group_option(int option_index, const char *value, void *context)
{
    struct group_settings *settings = context;
    const char *name = settings->options[option_index].name;

    if (option_index < CLI_CLIENT_OPTION_COUNT) {
        return cli_client_option(&settings->client, option_index, value);
    }
    if (strcmp(name, "json") == 0) {
        settings->json = true;
        return NULL;
    }
    if (strcmp(name, "execute") == 0) {
        settings->execute = true;
        return NULL;
    }
    if (strcmp(name, "topic") == 0) {
        return group_parse_topic(settings, value);
    }
    if (strcmp(name, "to") == 0) {
        return group_parse_to(settings, value);
    }
    return "unhandled option";
}

/* ---- shared ------------------------------------------------------------------------------ */

static int group_output_done(const char *command)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "rill %s: writing to stdout failed\n", command);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Reports a failed group call; the errors with a better sentence than rill_err_str get it. */
static void group_fail(const struct group_settings *settings,
                       const char *command,
                       rill_err err,
                       const char *errstr,
                       const char *group,
                       const char *what)
{
    if (err == RILL_ERR_UNSUPPORTED_API) {
        fprintf(stderr, "rill %s: %s: the broker at %s does not support consumer groups\n", command,
                what, settings->client.brokers);
    } else if (err == RILL_ERR_UNKNOWN_GROUP) {
        fprintf(stderr, "rill %s: unknown group '%s'\n", command, group);
    } else if (err == RILL_ERR_INVALID_GROUP_ID) {
        fprintf(stderr,
                "rill %s: invalid group id '%s' (1-249 characters of a-z, A-Z, 0-9, '.', '_', "
                "'-')\n",
                command, group);
    } else if (err == RILL_ERR_GROUP_NOT_EMPTY) {
        fprintf(stderr, "rill %s: group '%s' has active members; stop its consumers first\n",
                command, group);
    } else {
        cli_client_fail(&settings->client, command, err, errstr, "%s", what);
    }
}

/* An offset for a table cell: the number, or "-" for none (negative). */
static const char *group_cell(char *buffer, size_t bytes, int64_t value)
{
    if (value < 0) {
        return "-";
    }
    snprintf(buffer, bytes, "%" PRId64, value);
    return buffer;
}

static void group_json_offset(struct json_writer *json, int64_t value)
{
    if (value < 0) {
        json_null(json);
    } else {
        json_int(json, value);
    }
}

static void group_json_string_or_null(struct json_writer *json, const char *text)
{
    if (text == NULL) {
        json_null(json);
    } else {
        json_string(json, text);
    }
}

/* ---- list -------------------------------------------------------------------------------- */

static void group_list_json(const rill_group_list_t *list)
{
    struct json_writer json;

    json_init(&json, stdout);
    json_object_begin(&json);
    json_key(&json, "groups");
    json_array_begin(&json);
    for (size_t index = 0; index < list->group_count; index++) {
        const rill_group_listing_t *group = &list->groups[index];
        json_object_begin(&json);
        json_key(&json, "group");
        json_string(&json, group->group);
        json_key(&json, "state");
        json_string(&json, group->state);
        json_key(&json, "members");
        json_int(&json, group->member_count);
        json_object_end(&json);
    }
    json_array_end(&json);
    json_object_end(&json);
    (void)json_finish(&json);
}

static void group_list_table(const rill_group_list_t *list)
{
    size_t name_width = 5;
    for (size_t index = 0; index < list->group_count; index++) {
        size_t length = strlen(cli_str(list->groups[index].group));
        name_width = length > name_width ? length : name_width;
    }
    printf("%-*s  %-11s  %7s\n", (int)name_width, "GROUP", "STATE", "MEMBERS");
    for (size_t index = 0; index < list->group_count; index++) {
        const rill_group_listing_t *group = &list->groups[index];
        printf("%-*s  %-11s  %7" PRId32 "\n", (int)name_width, cli_str(group->group),
               cli_str(group->state), group->member_count);
    }
}

static int group_list(struct group_settings *settings, const char *group)
{
    (void)group;
    rill_group_list_t *list = NULL;
    rill_admin_t *admin = cli_client_admin(&settings->client, "group list");
    if (admin == NULL) {
        return cli_client_exit_code(&settings->client);
    }
    rill_err err = rill_admin_list_groups(admin, &list);
    rill_admin_destroy(admin);
    if (err != RILL_OK) {
        group_fail(settings, "group list", err, NULL, "", "listing groups");
        return CLI_EXIT_FAILURE;
    }
    if (settings->json) {
        group_list_json(list);
    } else {
        group_list_table(list);
    }
    rill_group_list_destroy(list);
    return group_output_done("group list");
}

/* ---- describe ---------------------------------------------------------------------------- */

/* Prints partitions as "topic:0,1 other:3" (they come grouped by topic). */
static void group_print_partitions(const rill_topic_partition_t *partitions, size_t count)
{
    if (count == 0) {
        fputs("-", stdout);
        return;
    }
    for (size_t index = 0; index < count; index++) {
        bool same = index > 0 && strcmp(partitions[index - 1].topic, partitions[index].topic) == 0;
        if (same) {
            printf(",%" PRId32, partitions[index].partition);
        } else {
            printf("%s%s:%" PRId32, index > 0 ? " " : "", partitions[index].topic,
                   partitions[index].partition);
        }
    }
}

/* The subscription of a member as text: "a,b" or "/pattern/", shortened to fit. */
static const char *
group_subscription(const rill_group_member_info_t *member, char *buffer, size_t bytes)
{
    size_t used = 0;
    buffer[0] = '\0';
    if (member->pattern != NULL) {
        snprintf(buffer, bytes, "/%s/", member->pattern);
    } else {
        for (size_t index = 0; index < member->topic_count && used < bytes; index++) {
            int written = snprintf(buffer + used, bytes - used, "%s%s", index > 0 ? "," : "",
                                   member->topics[index]);
            used += written > 0 ? (size_t)written : 0;
        }
    }
    if (buffer[0] == '\0') {
        snprintf(buffer, bytes, "-");
    } else if (strlen(buffer) == bytes - 1 && bytes > 4) {
        memcpy(buffer + bytes - 4, "...", 4);
    }
    return buffer;
}

static void group_describe_table(const rill_group_info_t *info)
{
    printf("group       %s\nstate       %s\ngeneration  %" PRId32
           "\nstrategy    %s\nmembers     %zu\n",
           cli_str(info->group), cli_str(info->state), info->generation,
           info->strategy != NULL && info->strategy[0] != '\0' ? info->strategy : "-",
           info->member_count);
    if (info->member_count > 0) {
        size_t id_width = 6;
        size_t client_width = 6;
        size_t host_width = 4;
        size_t subscription_width = 12;
        char subscription[128];
        for (size_t index = 0; index < info->member_count; index++) {
            const rill_group_member_info_t *member = &info->members[index];
            size_t length = strlen(group_subscription(member, subscription, sizeof(subscription)));
            subscription_width = length > subscription_width ? length : subscription_width;
            length = strlen(cli_str(member->member_id));
            id_width = length > id_width ? length : id_width;
            length = strlen(cli_str(member->client_id));
            client_width = length > client_width ? length : client_width;
            length = strlen(cli_str(member->host));
            host_width = length > host_width ? length : host_width;
        }
        printf("\n%-*s  %-*s  %-*s  %-*s  %s\n", (int)id_width, "MEMBER", (int)client_width,
               "CLIENT", (int)host_width, "HOST", (int)subscription_width, "SUBSCRIPTION",
               "PARTITIONS");
        for (size_t index = 0; index < info->member_count; index++) {
            const rill_group_member_info_t *member = &info->members[index];
            printf("%-*s  %-*s  %-*s  %-*s  ", (int)id_width, cli_str(member->member_id),
                   (int)client_width, cli_str(member->client_id), (int)host_width,
                   cli_str(member->host), (int)subscription_width,
                   group_subscription(member, subscription, sizeof(subscription)));
            group_print_partitions(member->assignment, member->assignment_count);
            if (member->revoking_count > 0) {
                fputs("  (giving up ", stdout);
                group_print_partitions(member->revoking, member->revoking_count);
                fputs(")", stdout);
            }
            putchar('\n');
        }
    }
    if (info->offset_count == 0) {
        printf("\nno committed offsets\n");
        return;
    }
    size_t topic_width = 5;
    for (size_t index = 0; index < info->offset_count; index++) {
        size_t length = strlen(cli_str(info->offsets[index].topic));
        topic_width = length > topic_width ? length : topic_width;
    }
    printf("\n%-*s  %9s  %14s  %14s  %10s  %s\n", (int)topic_width, "TOPIC", "PARTITION",
           "COMMITTED", "HIGH-WATERMARK", "LAG", "MEMBER");
    for (size_t index = 0; index < info->offset_count; index++) {
        const rill_group_offset_info_t *row = &info->offsets[index];
        char committed[24];
        char high[24];
        char lag[24];
        printf("%-*s  %9" PRId32 "  %14s  %14s  %10s  %s\n", (int)topic_width, cli_str(row->topic),
               row->partition, group_cell(committed, sizeof(committed), row->committed),
               group_cell(high, sizeof(high), row->high_watermark),
               group_cell(lag, sizeof(lag), row->lag),
               row->member_id != NULL ? row->member_id : "-");
    }
}

static void group_json_partitions(struct json_writer *json,
                                  const rill_topic_partition_t *partitions,
                                  size_t count)
{
    json_array_begin(json);
    for (size_t index = 0; index < count; index++) {
        json_object_begin(json);
        json_key(json, "topic");
        json_string(json, partitions[index].topic);
        json_key(json, "partition");
        json_int(json, partitions[index].partition);
        json_object_end(json);
    }
    json_array_end(json);
}

static void group_json_member(struct json_writer *json, const rill_group_member_info_t *member)
{
    json_object_begin(json);
    json_key(json, "member_id");
    json_string(json, member->member_id);
    json_key(json, "client_id");
    json_string(json, member->client_id);
    json_key(json, "host");
    json_string(json, member->host);
    json_key(json, "generation");
    json_int(json, member->generation);
    json_key(json, "session_timeout_ms");
    json_int(json, member->session_timeout_ms);
    json_key(json, "topics");
    if (member->pattern != NULL) {
        json_null(json);
    } else {
        json_array_begin(json);
        for (size_t index = 0; index < member->topic_count; index++) {
            json_string(json, member->topics[index]);
        }
        json_array_end(json);
    }
    json_key(json, "pattern");
    group_json_string_or_null(json, member->pattern);
    json_key(json, "assignment");
    group_json_partitions(json, member->assignment, member->assignment_count);
    json_key(json, "revoking");
    group_json_partitions(json, member->revoking, member->revoking_count);
    json_object_end(json);
}

static void group_describe_json(const rill_group_info_t *info)
{
    struct json_writer json;

    json_init(&json, stdout);
    json_object_begin(&json);
    json_key(&json, "group");
    json_string(&json, info->group);
    json_key(&json, "state");
    json_string(&json, info->state);
    json_key(&json, "generation");
    json_int(&json, info->generation);
    json_key(&json, "strategy");
    json_string(&json, info->strategy);
    json_key(&json, "members");
    json_array_begin(&json);
    for (size_t index = 0; index < info->member_count; index++) {
        group_json_member(&json, &info->members[index]);
    }
    json_array_end(&json);
    json_key(&json, "offsets");
    json_array_begin(&json);
    for (size_t index = 0; index < info->offset_count; index++) {
        const rill_group_offset_info_t *row = &info->offsets[index];
        json_object_begin(&json);
        json_key(&json, "topic");
        json_string(&json, row->topic);
        json_key(&json, "partition");
        json_int(&json, row->partition);
        json_key(&json, "committed");
        group_json_offset(&json, row->committed);
        json_key(&json, "metadata");
        group_json_string_or_null(&json, row->metadata);
        json_key(&json, "high_watermark");
        group_json_offset(&json, row->high_watermark);
        json_key(&json, "lag");
        group_json_offset(&json, row->lag);
        json_key(&json, "member_id");
        group_json_string_or_null(&json, row->member_id);
        json_object_end(&json);
    }
    json_array_end(&json);
    json_object_end(&json);
    (void)json_finish(&json);
}

static int group_describe(struct group_settings *settings, const char *group)
{
    rill_group_info_t *info = NULL;
    rill_admin_t *admin = cli_client_admin(&settings->client, "group describe");
    if (admin == NULL) {
        return cli_client_exit_code(&settings->client);
    }
    rill_err err = rill_admin_describe_group(admin, group, &info);
    rill_admin_destroy(admin);
    if (err == RILL_OK && info->err != RILL_OK) {
        err = info->err;
        rill_group_info_destroy(info);
    }
    if (err != RILL_OK) {
        char what[320];
        snprintf(what, sizeof(what), "describing group '%s'", group);
        group_fail(settings, "group describe", err, NULL, group, what);
        return CLI_EXIT_FAILURE;
    }
    if (settings->json) {
        group_describe_json(info);
    } else {
        group_describe_table(info);
    }
    rill_group_info_destroy(info);
    return group_output_done("group describe");
}

/* ---- delete ------------------------------------------------------------------------------ */

static int group_delete(struct group_settings *settings, const char *group)
{
    char errstr[512] = "";
    rill_admin_t *admin = cli_client_admin(&settings->client, "group delete");
    if (admin == NULL) {
        return cli_client_exit_code(&settings->client);
    }
    rill_err err = rill_admin_delete_group(admin, group, errstr, sizeof(errstr));
    rill_admin_destroy(admin);
    if (err != RILL_OK) {
        char what[320];
        snprintf(what, sizeof(what), "deleting group '%s'", group);
        group_fail(settings, "group delete", err, errstr, group, what);
        return CLI_EXIT_FAILURE;
    }
    printf("deleted group %s\n", group);
    return group_output_done("group delete");
}

/* ---- reset-offsets ----------------------------------------------------------------------- */

/* The plan of a reset: one entry per partition, and what was asked for each. */
struct group_plan {
    rill_group_reset_t *entries;
    int64_t *asked; /* the target given to the broker, for messages */
    size_t count;
    size_t capacity;
};

static rill_err
group_plan_add(struct group_plan *plan, const char *topic, int32_t partition, int64_t offset)
{
    if (plan->count == plan->capacity) {
        size_t capacity = plan->capacity == 0 ? 64 : plan->capacity * 2;
        rill_group_reset_t *entries = realloc(plan->entries, capacity * sizeof(*entries));
        if (entries == NULL) {
            return RILL_ERR_NOMEM;
        }
        plan->entries = entries;
        int64_t *asked = realloc(plan->asked, capacity * sizeof(*asked));
        if (asked == NULL) {
            return RILL_ERR_NOMEM;
        }
        plan->asked = asked;
        plan->capacity = capacity;
    }
    plan->entries[plan->count] = (rill_group_reset_t){
        .topic = topic, .partition = partition, .offset = offset, .previous = -1
    };
    plan->asked[plan->count] = offset;
    plan->count++;
    return RILL_OK;
}

/* The partitions of a --topic without a list: every partition of the topic. */
static rill_err group_topic_partitions(struct group_settings *settings,
                                       rill_admin_t *admin,
                                       const char *topic,
                                       size_t *out_count)
{
    rill_topic_list_t *list = NULL;
    rill_err err = rill_admin_describe_topics(admin, &topic, 1, &list);
    if (err != RILL_OK) {
        cli_client_fail(&settings->client, "group reset-offsets", err, NULL,
                        "describing topic '%s'", topic);
        return err;
    }
    err = list->topic_count == 1 ? list->topics[0].err : RILL_ERR_UNKNOWN_TOPIC;
    if (err == RILL_ERR_UNKNOWN_TOPIC) {
        fprintf(stderr, "rill group reset-offsets: unknown topic '%s'\n", topic);
    } else if (err != RILL_OK) {
        cli_client_fail(&settings->client, "group reset-offsets", err, NULL,
                        "describing topic '%s'", topic);
    } else {
        *out_count = list->topics[0].partition_count;
    }
    rill_topic_list_destroy(list);
    return err;
}

/* The offset of the first record at or after the target time in topic/partition. */
static rill_err group_offset_for_time(struct group_settings *settings,
                                      rill_admin_t *admin,
                                      const char *topic,
                                      int32_t partition,
                                      int64_t *out_offset)
{
    rill_err err =
        rill_admin_list_offset(admin, topic, partition, settings->target_value, out_offset);
    if (err == RILL_ERR_UNKNOWN_TOPIC) {
        fprintf(stderr, "rill group reset-offsets: unknown topic '%s'\n", topic);
    } else if (err == RILL_ERR_UNKNOWN_PARTITION) {
        fprintf(stderr, "rill group reset-offsets: topic '%s' has no partition %" PRId32 "\n",
                topic, partition);
    } else if (err != RILL_OK) {
        cli_client_fail(&settings->client, "group reset-offsets", err, NULL,
                        "finding the offset for @%" PRId64 " in %s/%" PRId32,
                        settings->target_value, topic, partition);
    }
    return err;
}

static rill_err
group_plan_build(struct group_settings *settings, rill_admin_t *admin, struct group_plan *plan)
{
    for (size_t spec_index = 0; spec_index < settings->spec_count; spec_index++) {
        const struct group_topic_spec *spec = &settings->specs[spec_index];
        size_t count = spec->partition_count;
        rill_err err = RILL_OK;
        if (count == 0) {
            err = group_topic_partitions(settings, admin, spec->topic, &count);
        }
        for (size_t index = 0; index < count && err == RILL_OK; index++) {
            int32_t partition =
                spec->partition_count > 0 ? spec->partitions[index] : (int32_t)index;
            int64_t offset = settings->target_value;
            if (settings->target == GROUP_TARGET_TIMESTAMP) {
                err = group_offset_for_time(settings, admin, spec->topic, partition, &offset);
            }
            if (err == RILL_OK) {
                err = group_plan_add(plan, spec->topic, partition, offset);
            }
        }
        if (err != RILL_OK) {
            if (err == RILL_ERR_NOMEM) {
                cli_fail(err, "group reset-offsets");
            }
            return err;
        }
    }
    return RILL_OK;
}

/* Refuses early, with the members named, when the group has members (the broker would). */
static rill_err
group_check_empty(struct group_settings *settings, rill_admin_t *admin, const char *group)
{
    rill_group_info_t *info = NULL;
    rill_err err = rill_admin_describe_group(admin, group, &info);
    if (err != RILL_OK) {
        char what[320];
        snprintf(what, sizeof(what), "describing group '%s'", group);
        group_fail(settings, "group reset-offsets", err, NULL, group, what);
        return err;
    }
    if (info->err == RILL_OK && info->member_count > 0) {
        fprintf(stderr,
                "rill group reset-offsets: group '%s' has %zu active member%s (%s); offsets can "
                "only be reset while it has none: stop its consumers first\n",
                group, info->member_count, info->member_count == 1 ? "" : "s",
                cli_str(info->state));
        err = RILL_ERR_GROUP_NOT_EMPTY;
    } else if (info->err != RILL_OK && info->err != RILL_ERR_UNKNOWN_GROUP) {
        char what[320];
        snprintf(what, sizeof(what), "describing group '%s'", group);
        group_fail(settings, "group reset-offsets", info->err, NULL, group, what);
        err = info->err;
    }
    rill_group_info_destroy(info);
    return err;
}

static void group_plan_json(const struct group_plan *plan, const char *group, bool execute)
{
    struct json_writer json;

    json_init(&json, stdout);
    json_object_begin(&json);
    json_key(&json, "group");
    json_string(&json, group);
    json_key(&json, "executed");
    json_bool(&json, execute);
    json_key(&json, "partitions");
    json_array_begin(&json);
    for (size_t index = 0; index < plan->count; index++) {
        const rill_group_reset_t *entry = &plan->entries[index];
        json_object_begin(&json);
        json_key(&json, "topic");
        json_string(&json, entry->topic);
        json_key(&json, "partition");
        json_int(&json, entry->partition);
        json_key(&json, "current");
        group_json_offset(&json, entry->previous);
        json_key(&json, "new");
        group_json_offset(&json, entry->err == RILL_OK ? entry->offset : -1);
        if (entry->err != RILL_OK) {
            json_key(&json, "error");
            json_string(&json, rill_err_name(entry->err));
        }
        json_object_end(&json);
    }
    json_array_end(&json);
    json_object_end(&json);
    (void)json_finish(&json);
}

static void group_plan_table(const struct group_plan *plan)
{
    size_t topic_width = 5;
    for (size_t index = 0; index < plan->count; index++) {
        size_t length = strlen(plan->entries[index].topic);
        topic_width = length > topic_width ? length : topic_width;
    }
    printf("%-*s  %9s  %14s  %14s\n", (int)topic_width, "TOPIC", "PARTITION", "CURRENT", "NEW");
    for (size_t index = 0; index < plan->count; index++) {
        const rill_group_reset_t *entry = &plan->entries[index];
        char current[24];
        char target[24];
        printf("%-*s  %9" PRId32 "  %14s  %14s", (int)topic_width, entry->topic, entry->partition,
               group_cell(current, sizeof(current), entry->previous),
               entry->err == RILL_OK ? group_cell(target, sizeof(target), entry->offset) : "-");
        if (entry->err != RILL_OK) {
            printf("  %s", rill_err_str(entry->err));
        }
        putchar('\n');
    }
}

/* Explains the entries that failed, one line each, on stderr. */
static void group_plan_errors(const struct group_plan *plan)
{
    for (size_t index = 0; index < plan->count; index++) {
        const rill_group_reset_t *entry = &plan->entries[index];
        if (entry->err == RILL_OK) {
            continue;
        }
        if (entry->err == RILL_ERR_OFFSET_OUT_OF_RANGE && plan->asked[index] >= 0) {
            fprintf(stderr,
                    "rill group reset-offsets: %s/%" PRId32 ": offset %" PRId64
                    " is outside the log\n",
                    entry->topic, entry->partition, plan->asked[index]);
        } else if (entry->err == RILL_ERR_UNKNOWN_PARTITION) {
            fprintf(stderr, "rill group reset-offsets: topic '%s' has no partition %" PRId32 "\n",
                    entry->topic, entry->partition);
        } else if (entry->err == RILL_ERR_UNKNOWN_TOPIC) {
            fprintf(stderr, "rill group reset-offsets: unknown topic '%s'\n", entry->topic);
        } else {
            fprintf(stderr, "rill group reset-offsets: %s/%" PRId32 ": %s\n", entry->topic,
                    entry->partition, rill_err_str(entry->err));
        }
    }
}

static int group_reset(struct group_settings *settings, const char *group)
{
    struct group_plan plan = { 0 };
    char errstr[512] = "";
    int exit_code = CLI_EXIT_FAILURE;
    rill_admin_t *admin = cli_client_admin(&settings->client, "group reset-offsets");
    if (admin == NULL) {
        return cli_client_exit_code(&settings->client);
    }
    rill_err err = group_check_empty(settings, admin, group);
    if (err == RILL_OK) {
        err = group_plan_build(settings, admin, &plan);
    }
    if (err == RILL_OK) {
        err = rill_admin_reset_group_offsets(admin, group, plan.entries, plan.count,
                                             !settings->execute, errstr, sizeof(errstr));
        bool per_entry = err == RILL_ERR_OFFSET_OUT_OF_RANGE || err == RILL_ERR_UNKNOWN_TOPIC ||
                         err == RILL_ERR_UNKNOWN_PARTITION;
        if (err == RILL_OK || per_entry) {
            if (settings->json) {
                group_plan_json(&plan, group, settings->execute);
            } else {
                group_plan_table(&plan);
            }
        }
        if (per_entry) {
            fflush(stdout);
            group_plan_errors(&plan);
            if (settings->execute) {
                fprintf(stderr,
                        "rill group reset-offsets: the partitions without an error were reset\n");
            }
        } else if (err != RILL_OK) {
            char what[320];
            snprintf(what, sizeof(what), "resetting offsets of group '%s'", group);
            group_fail(settings, "group reset-offsets", err, errstr, group, what);
        } else {
            exit_code = CLI_EXIT_OK;
            if (settings->json) {
                /* the document says "executed" */
            } else if (settings->execute) {
                printf("\nreset %zu partition%s of group %s\n", plan.count,
                       plan.count == 1 ? "" : "s", group);
            } else {
                printf("\ndry run: nothing changed; add --execute to apply this plan\n");
            }
        }
    }
    rill_admin_destroy(admin);
    free(plan.entries);
    free(plan.asked);
    if (exit_code == CLI_EXIT_OK) {
        exit_code = group_output_done("group reset-offsets");
    }
    return exit_code;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* One subcommand: its name, usage, option table, whether it takes GROUP, and its action. */
struct group_command {
    const char *name;
    const char *usage;
    const struct cli_option *options;
    size_t positional_count; /* 0 or 1 (GROUP) */
    int (*run)(struct group_settings *settings, const char *group);
};

static const struct group_command group_commands[] = {
    { "group list", list_usage, list_options, 0, group_list },
    { "group describe", describe_usage, list_options, 1, group_describe },
    { "group reset-offsets", reset_usage, reset_options, 1, group_reset },
    { "group delete", delete_usage, delete_options, 1, group_delete },
};

/* Checks what cli_parse cannot: the reset options. NULL or a usage problem. */
static const char *group_check(const struct group_command *subcommand,
                               const struct group_settings *settings,
                               const char *group)
{
    if (group != NULL && group[0] == '\0') {
        return "the group name must not be empty";
    }
    if (subcommand->run != group_reset) {
        return NULL;
    }
    if (settings->spec_count == 0) {
        return "missing --topic TOPIC[:P[,P...]]";
    }
    if (settings->target == GROUP_TARGET_NONE_GIVEN) {
        return "missing --to earliest|latest|OFFSET|@TIMESTAMP_MS|none";
    }
    return NULL;
}

static int group_run(const struct group_command *subcommand, int argc, char **argv)
{
    struct group_settings settings = { .options = subcommand->options };
    const struct cli_command command = {
        .name = subcommand->name,
        .usage = subcommand->usage,
        .options = subcommand->options,
        .handler = group_option,
        .context = &settings,
        .positional_names = "GROUP",
        .positional_min = subcommand->positional_count,
        .positional_max = subcommand->positional_count,
    };
    const char *group = NULL;
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;

    if (!cli_client_init(&settings.client)) {
        return CLI_EXIT_FAILURE;
    }
    if (cli_parse(&command, argc, argv, &group, &positional_count, &exit_code)) {
        const char *problem = cli_client_finish(&settings.client);
        if (problem == NULL) {
            problem = group_check(subcommand, &settings, group);
        }
        if (problem != NULL) {
            cli_usage_error(&command, problem);
            exit_code = CLI_EXIT_USAGE;
        } else {
            exit_code = subcommand->run(&settings, group);
        }
    }
    for (size_t index = 0; index < settings.spec_count; index++) {
        free(settings.specs[index].partitions);
    }
    cli_client_deinit(&settings.client);
    return exit_code;
}

int cmd_group_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("rill group: missing command\n\n", stderr);
        fputs(group_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(group_usage, stdout);
        return CLI_EXIT_OK;
    }
    for (size_t index = 0; index < sizeof(group_commands) / sizeof(group_commands[0]); index++) {
        if (strcmp(argv[1], group_commands[index].name + strlen("group ")) == 0) {
            return group_run(&group_commands[index], argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "rill group: unknown command '%s'\n\n", argv[1]);
    fputs(group_usage, stderr);
    return CLI_EXIT_USAGE;
}
