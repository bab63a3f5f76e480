/*
 * cmd_topic.c - `rill topic create|list|describe|alter|delete`: topic administration through
 * the admin client of rill.h.
 *
 * Every subcommand parses with one handler that tells options apart by name, since the
 * subcommands share most of them (-b, -X, --json, --config). list and describe can print one
 * JSON document (tools/json.h) instead of the tables.
 */
#include "tools/cli.h"
#include "tools/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char topic_usage[] =
    "usage: rill topic <command> [options]\n"
    "\n"
    "Commands:\n"
    "  create NAME      create a topic (--partitions N, --config KEY=VALUE)\n"
    "  list             list the topics with their partition counts and sizes\n"
    "  describe NAME    partitions with their offsets and sizes, and the effective config\n"
    "  alter NAME       change (--config KEY=VALUE) or reset (--delete-config KEY) settings\n"
    "  delete NAME      delete a topic and its data\n"
    "\n"
    "Every command takes -b/--brokers HOST:PORT[,...] (default $RILL_BROKERS or\n"
    "127.0.0.1:9700). Run 'rill topic <command> --help' for its options.\n";

#define TOPIC_CLIENT_HELP                                                                    \
    "  -b, --brokers HOST:PORT[,...]  brokers to bootstrap from (default $RILL_BROKERS or\n" \
    "                       127.0.0.1:9700)\n"                                               \
    "  -X, --client-config KEY=VALUE  client setting (request.timeout.ms, ...); repeatable\n"

#define TOPIC_CONFIG_HELP                                                                  \
    "Topic settings are the log settings the broker accepts (segment.bytes, segment.ms,\n" \
    "retention.bytes, retention.ms, compression, cleanup.policy, ...; see docs/cli.md);\n" \
    "sizes accept k, m, g. The broker checks keys and values.\n"

static const char create_usage[] =
    "usage: rill topic create NAME [--partitions N] [--config KEY=VALUE ...] [options]\n"
    "\n"
    "Creates the topic NAME.\n"
    "\n"
    "Options:\n"
    "  -p, --partitions N   number of partitions (default 1)\n"
    "  -c, --config KEY=VALUE  topic setting; repeatable\n" TOPIC_CLIENT_HELP
    "  -h, --help           show this help\n"
    "\n" TOPIC_CONFIG_HELP "\n"
    "Example:\n"
    "  rill topic create orders --partitions 3 --config retention.ms=86400000\n";

static const char list_usage[] =
    "usage: rill topic list [--json] [options]\n"
    "\n"
    "Lists the topics: name, partitions, records (end - start offsets) and bytes on disk.\n"
    "\n"
    "Options:\n"
    "  --json               print one JSON document instead of a table\n" TOPIC_CLIENT_HELP
    "  -h, --help           show this help\n";

static const char describe_usage[] =
    "usage: rill topic describe NAME [--json] [options]\n"
    "\n"
    "Describes the topic NAME: per partition its leader, start, end (high watermark) and\n"
    "durable offsets, bytes and segments; then every effective setting.\n"
    "\n"
    "Options:\n"
    "  --json               print one JSON document instead of tables\n" TOPIC_CLIENT_HELP
    "  -h, --help           show this help\n";

static const char alter_usage[] =
    "usage: rill topic alter NAME [--config KEY=VALUE ...] [--delete-config KEY ...] [options]\n"
    "\n"
    "Changes settings of the topic NAME; --delete-config returns a setting to its default.\n"
    "\n"
    "Options:\n"
    "  -c, --config KEY=VALUE  set a topic setting; repeatable\n"
    "  -d, --delete-config KEY  reset a topic setting to its default; "
    "repeatable\n" TOPIC_CLIENT_HELP "  -h, --help           show this help\n"
    "\n" TOPIC_CONFIG_HELP "\n"
    "Example:\n"
    "  rill topic alter orders --config retention.bytes=1g --delete-config retention.ms\n";

static const char delete_usage[] =
    "usage: rill topic delete NAME [options]\n"
    "\n"
    "Deletes the topic NAME and all of its data.\n"
    "\n"
    "Options:\n" TOPIC_CLIENT_HELP "  -h, --help           show this help\n";

static const struct cli_option create_options[] = {
    CLI_CLIENT_OPTIONS,
    { "partitions", 'p', true },
    { "config", 'c', true },
    { NULL, 0, false },
};

static const struct cli_option list_options[] = {
    CLI_CLIENT_OPTIONS,
    { "json", 0, false },
    { NULL, 0, false },
};

static const struct cli_option alter_options[] = {
    CLI_CLIENT_OPTIONS,
    { "config", 'c', true },
    { "delete-config", 'd', true },
    { NULL, 0, false },
};

static const struct cli_option delete_options[] = {
    CLI_CLIENT_OPTIONS,
    { NULL, 0, false },
};

/* Largest partition count accepted on the command line (the broker has its own bound). */
#define TOPIC_PARTITIONS_MAX 100000

struct topic_settings {
    const struct cli_option *options; /* the table being parsed, to name options by index */
    struct cli_client client;
    struct cli_config_list configs;
    int64_t partitions;
    bool json;
};

static const char *topic_option(int option_index, const char *value, void *context)
{
    struct topic_settings *settings = context;
    const char *name = settings->options[option_index].name;

    if (option_index < CLI_CLIENT_OPTION_COUNT) {
        return cli_client_option(&settings->client, option_index, value);
    }
    if (strcmp(name, "partitions") == 0) {
        if (!cli_parse_int64(value, &settings->partitions) || settings->partitions < 1 ||
            settings->partitions > TOPIC_PARTITIONS_MAX) {
            return "expected a whole number from 1 to 100000";
        }
        return NULL;
    }
    if (strcmp(name, "config") == 0) {
        return cli_config_list_add(&settings->configs, value, false);
    }
    if (strcmp(name, "delete-config") == 0) {
        return cli_config_list_add(&settings->configs, value, true);
    }
    if (strcmp(name, "json") == 0) {
        settings->json = true;
        return NULL;
    }
    return "unhandled option";
}

/* ---- create, alter, delete ------------------------------------------------------------- */

static int topic_create(struct topic_settings *settings, const char *name)
{
    char errstr[512] = "";
    rill_admin_t *admin = cli_client_admin(&settings->client, "topic create");
    rill_err err;

    if (admin == NULL) {
        return cli_client_exit_code(&settings->client);
    }
    err = rill_admin_create_topic(admin, name, (int32_t)settings->partitions,
                                  settings->configs.entries, settings->configs.count, errstr,
                                  sizeof(errstr));
    rill_admin_destroy(admin);
    if (err == RILL_ERR_EXISTS) {
        fprintf(stderr, "rill topic create: topic '%s' already exists\n", name);
        return CLI_EXIT_FAILURE;
    }
    if (err != RILL_OK) {
        cli_client_fail(&settings->client, "topic create", err, errstr, "creating topic '%s'",
                        name);
        return CLI_EXIT_FAILURE;
    }
    printf("created topic %s with %" PRId64 " partition%s\n", name, settings->partitions,
           settings->partitions == 1 ? "" : "s");
    return CLI_EXIT_OK;
}

static int topic_alter(struct topic_settings *settings, const char *name)
{
    char errstr[512] = "";
    rill_admin_t *admin = cli_client_admin(&settings->client, "topic alter");
    rill_err err;

    if (admin == NULL) {
        return cli_client_exit_code(&settings->client);
    }
    err = rill_admin_alter_topic(admin, name, settings->configs.entries, settings->configs.count,
                                 errstr, sizeof(errstr));
    rill_admin_destroy(admin);
    if (err == RILL_ERR_UNKNOWN_TOPIC) {
        fprintf(stderr, "rill topic alter: unknown topic '%s'\n", name);
        return CLI_EXIT_FAILURE;
    }
    if (err != RILL_OK) {
        cli_client_fail(&settings->client, "topic alter", err, errstr, "altering topic '%s'", name);
        return CLI_EXIT_FAILURE;
    }
    printf("altered topic %s:", name);
    for (size_t index = 0; index < settings->configs.count; index++) {
        const rill_config_entry_t *entry = &settings->configs.entries[index];
        if (entry->value != NULL) {
            printf(" %s=%s", entry->key, entry->value);
        } else {
            printf(" %s reset", entry->key);
        }
    }
    putchar('\n');
    return CLI_EXIT_OK;
}

static int topic_delete(struct topic_settings *settings, const char *name)
{
    char errstr[512] = "";
    rill_admin_t *admin = cli_client_admin(&settings->client, "topic delete");
    rill_err err;

    if (admin == NULL) {
        return cli_client_exit_code(&settings->client);
    }
    err = rill_admin_delete_topic(admin, name, errstr, sizeof(errstr));
    rill_admin_destroy(admin);
    if (err == RILL_ERR_UNKNOWN_TOPIC) {
        fprintf(stderr, "rill topic delete: unknown topic '%s'\n", name);
        return CLI_EXIT_FAILURE;
    }
    if (err != RILL_OK) {
        cli_client_fail(&settings->client, "topic delete", err, errstr, "deleting topic '%s'",
                        name);
        return CLI_EXIT_FAILURE;
    }
    printf("deleted topic %s\n", name);
    return CLI_EXIT_OK;
}

/* ---- list and describe ----------------------------------------------------------------- */

/* Records in a partition: end - start, never negative. */
static uint64_t topic_partition_records(const rill_partition_info_t *partition)
{
    if (partition->end_offset <= partition->start_offset || partition->start_offset < 0) {
        return 0;
    }
    return (uint64_t)(partition->end_offset - partition->start_offset);
}

static void topic_totals(const rill_topic_info_t *topic, uint64_t *out_records, uint64_t *out_bytes)
{
    uint64_t records = 0;
    uint64_t bytes = 0;
    for (size_t index = 0; index < topic->partition_count; index++) {
        records += topic_partition_records(&topic->partitions[index]);
        bytes += topic->partitions[index].bytes;
    }
    *out_records = records;
    *out_bytes = bytes;
}

/* Fetches the description of one topic (name) or all (name NULL); reports failures. */
static rill_err topic_describe_fetch(struct topic_settings *settings,
                                     const char *command,
                                     const char *name,
                                     rill_topic_list_t **out_list)
{
    rill_admin_t *admin = cli_client_admin(&settings->client, command);
    rill_err err;

    if (admin == NULL) {
        return RILL_ERR_CONNECTION;
    }
    err = rill_admin_describe_topics(admin, name != NULL ? &name : NULL, name != NULL ? 1 : 0,
                                     out_list);
    rill_admin_destroy(admin);
    if (err != RILL_OK) {
        if (name != NULL) {
            cli_client_fail(&settings->client, command, err, NULL, "describing topic '%s'", name);
        } else {
            cli_client_fail(&settings->client, command, err, NULL, "listing topics");
        }
    }
    return err;
}

static int topic_output_done(const char *command)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "rill %s: writing to stdout failed\n", command);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static void topic_list_json(const rill_topic_list_t *list)
{
    struct json_writer json;

    json_init(&json, stdout);
    json_object_begin(&json);
    json_key(&json, "topics");
    json_array_begin(&json);
    for (size_t index = 0; index < list->topic_count; index++) {
        const rill_topic_info_t *topic = &list->topics[index];
        uint64_t records;
        uint64_t bytes;
        topic_totals(topic, &records, &bytes);
        json_object_begin(&json);
        json_key(&json, "name");
        json_string(&json, topic->name);
        json_key(&json, "partitions");
        json_uint(&json, topic->partition_count);
        json_key(&json, "records");
        json_uint(&json, records);
        json_key(&json, "bytes");
        json_uint(&json, bytes);
        if (topic->err != RILL_OK) {
            json_key(&json, "error");
            json_string(&json, rill_err_name(topic->err));
        }
        json_object_end(&json);
    }
    json_array_end(&json);
    json_object_end(&json);
    (void)json_finish(&json);
}

static void topic_list_table(const rill_topic_list_t *list)
{
    size_t name_width = 4;
    for (size_t index = 0; index < list->topic_count; index++) {
        size_t length = strlen(cli_str(list->topics[index].name));
        name_width = length > name_width ? length : name_width;
    }
    printf("%-*s  %10s  %14s  %14s\n", (int)name_width, "NAME", "PARTITIONS", "RECORDS", "BYTES");
    for (size_t index = 0; index < list->topic_count; index++) {
        const rill_topic_info_t *topic = &list->topics[index];
        uint64_t records;
        uint64_t bytes;
        topic_totals(topic, &records, &bytes);
        printf("%-*s  %10zu  %14" PRIu64 "  %14" PRIu64 "%s%s\n", (int)name_width,
               cli_str(topic->name), topic->partition_count, records, bytes,
               topic->err != RILL_OK ? "  " : "",
               topic->err != RILL_OK ? rill_err_str(topic->err) : "");
    }
}

static int topic_list(struct topic_settings *settings)
{
    rill_topic_list_t *list = NULL;

    if (topic_describe_fetch(settings, "topic list", NULL, &list) != RILL_OK) {
        return cli_client_exit_code(&settings->client);
    }
    if (settings->json) {
        topic_list_json(list);
    } else {
        topic_list_table(list);
    }
    rill_topic_list_destroy(list);
    return topic_output_done("topic list");
}

static void topic_describe_json(const rill_topic_info_t *topic)
{
    struct json_writer json;
    uint64_t records;
    uint64_t bytes;

    topic_totals(topic, &records, &bytes);
    json_init(&json, stdout);
    json_object_begin(&json);
    json_key(&json, "name");
    json_string(&json, topic->name);
    json_key(&json, "partition_count");
    json_uint(&json, topic->partition_count);
    json_key(&json, "records");
    json_uint(&json, records);
    json_key(&json, "bytes");
    json_uint(&json, bytes);
    json_key(&json, "partitions");
    json_array_begin(&json);
    for (size_t index = 0; index < topic->partition_count; index++) {
        const rill_partition_info_t *partition = &topic->partitions[index];
        json_object_begin(&json);
        json_key(&json, "partition");
        json_int(&json, partition->partition);
        json_key(&json, "leader");
        json_int(&json, partition->leader);
        json_key(&json, "start_offset");
        json_int(&json, partition->start_offset);
        json_key(&json, "end_offset");
        json_int(&json, partition->end_offset);
        json_key(&json, "durable_offset");
        json_int(&json, partition->durable_offset);
        json_key(&json, "bytes");
        json_uint(&json, partition->bytes);
        json_key(&json, "segments");
        json_uint(&json, partition->segments);
        json_object_end(&json);
    }
    json_array_end(&json);
    json_key(&json, "config");
    json_object_begin(&json);
    for (size_t index = 0; index < topic->config_count; index++) {
        json_key(&json, cli_str(topic->configs[index].key));
        json_string(&json, topic->configs[index].value);
    }
    json_object_end(&json);
    json_object_end(&json);
    (void)json_finish(&json);
}

static void topic_describe_table(const rill_topic_info_t *topic)
{
    uint64_t records;
    uint64_t bytes;
    size_t key_width = 0;

    topic_totals(topic, &records, &bytes);
    printf("topic       %s\npartitions  %zu\nrecords     %" PRIu64 "\nbytes       %" PRIu64 "\n\n",
           cli_str(topic->name), topic->partition_count, records, bytes);
    printf("%9s  %6s  %14s  %14s  %14s  %14s  %8s\n", "PARTITION", "LEADER", "START", "END",
           "DURABLE", "BYTES", "SEGMENTS");
    for (size_t index = 0; index < topic->partition_count; index++) {
        const rill_partition_info_t *partition = &topic->partitions[index];
        printf("%9" PRId32 "  %6" PRId32 "  %14" PRId64 "  %14" PRId64 "  %14" PRId64 "  %14" PRIu64
               "  %8" PRIu64 "\n",
               partition->partition, partition->leader, partition->start_offset,
               partition->end_offset, partition->durable_offset, partition->bytes,
               partition->segments);
    }
    for (size_t index = 0; index < topic->config_count; index++) {
        size_t length = strlen(cli_str(topic->configs[index].key));
        key_width = length > key_width ? length : key_width;
    }
    printf("\n%-*s  %s\n", (int)key_width, "CONFIG", "VALUE");
    for (size_t index = 0; index < topic->config_count; index++) {
        const rill_config_entry_t *entry = &topic->configs[index];
        printf("%-*s  %s\n", (int)key_width, cli_str(entry->key), cli_str(entry->value));
    }
}

static int topic_describe(struct topic_settings *settings, const char *name)
{
    rill_topic_list_t *list = NULL;
    const rill_topic_info_t *topic = NULL;
    int exit_code = CLI_EXIT_OK;

    if (topic_describe_fetch(settings, "topic describe", name, &list) != RILL_OK) {
        return cli_client_exit_code(&settings->client);
    }
    for (size_t index = 0; index < list->topic_count; index++) {
        if (strcmp(cli_str(list->topics[index].name), name) == 0) {
            topic = &list->topics[index];
        }
    }
    if (topic == NULL || topic->err == RILL_ERR_UNKNOWN_TOPIC) {
        fprintf(stderr, "rill topic describe: unknown topic '%s'\n", name);
        exit_code = CLI_EXIT_FAILURE;
    } else if (topic->err != RILL_OK) {
        cli_client_fail(&settings->client, "topic describe", topic->err, topic->message,
                        "describing topic '%s'", name);
        exit_code = CLI_EXIT_FAILURE;
    } else if (settings->json) {
        topic_describe_json(topic);
    } else {
        topic_describe_table(topic);
    }
    rill_topic_list_destroy(list);
    if (exit_code != CLI_EXIT_OK) {
        return exit_code;
    }
    return topic_output_done("topic describe");
}

/* ---- dispatch -------------------------------------------------------------------------- */

/* One subcommand: its name, usage, option table, positional arguments and action. */
struct topic_command {
    const char *name;
    const char *usage;
    const struct cli_option *options;
    size_t positional_count; /* 0 or 1 (NAME) */
    int (*run)(struct topic_settings *settings, const char *name);
};

static int topic_list_run(struct topic_settings *settings, const char *name)
{
    (void)name;
    return topic_list(settings);
}

static const struct topic_command topic_commands[] = {
    { "topic create", create_usage, create_options, 1, topic_create },
    { "topic list", list_usage, list_options, 0, topic_list_run },
    { "topic describe", describe_usage, list_options, 1, topic_describe },
    { "topic alter", alter_usage, alter_options, 1, topic_alter },
    { "topic delete", delete_usage, delete_options, 1, topic_delete },
};

static int topic_run(const struct topic_command *subcommand, int argc, char **argv)
{
    struct topic_settings settings = { .options = subcommand->options, .partitions = 1 };
    const struct cli_command command = {
        .name = subcommand->name,
        .usage = subcommand->usage,
        .options = subcommand->options,
        .handler = topic_option,
        .context = &settings,
        .positional_names = "NAME",
        .positional_min = subcommand->positional_count,
        .positional_max = subcommand->positional_count,
    };
    const char *name = NULL;
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;
    const char *problem;

    if (!cli_client_init(&settings.client)) {
        return CLI_EXIT_FAILURE;
    }
    if (cli_parse(&command, argc, argv, &name, &positional_count, &exit_code)) {
        problem = cli_client_finish(&settings.client);
        if (problem != NULL) {
            cli_usage_error(&command, problem);
            exit_code = CLI_EXIT_USAGE;
        } else if (subcommand->run == topic_alter && settings.configs.count == 0) {
            cli_usage_error(&command, "nothing to change: give --config or --delete-config");
            exit_code = CLI_EXIT_USAGE;
        } else if (name != NULL && name[0] == '\0') {
            cli_usage_error(&command, "the topic name must not be empty");
            exit_code = CLI_EXIT_USAGE;
        } else {
            exit_code = subcommand->run(&settings, name);
        }
    }
    cli_config_list_free(&settings.configs);
    cli_client_deinit(&settings.client);
    return exit_code;
}

int cmd_topic_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("rill topic: missing command\n\n", stderr);
        fputs(topic_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(topic_usage, stdout);
        return CLI_EXIT_OK;
    }
    for (size_t index = 0; index < sizeof(topic_commands) / sizeof(topic_commands[0]); index++) {
        if (strcmp(argv[1], topic_commands[index].name + strlen("topic ")) == 0) {
            return topic_run(&topic_commands[index], argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "rill topic: unknown command '%s'\n\n", argv[1]);
    fputs(topic_usage, stderr);
    return CLI_EXIT_USAGE;
}
