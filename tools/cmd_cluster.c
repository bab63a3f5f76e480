/*
 * cmd_cluster.c - `rill cluster status`: what the cluster says about itself (id, broker
 * version, brokers, controller) and its topics, as text or one JSON document.
 *
 * Health is reachability: the command exits 0 when a broker answered both the cluster and the
 * topic description, 1 otherwise. With --json an unreachable cluster still prints a document
 * ({"reachable": false, ...}) so that monitoring scripts always get something to parse.
 */
#include "tools/cli.h"
#include "tools/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char cluster_usage[] =
    "usage: rill cluster <command> [options]\n"
    "\n"
    "Commands:\n"
    "  status    cluster id, broker version, brokers, controller, topics; exit 1 when no\n"
    "            broker answers\n"
    "\n"
    "Run 'rill cluster status --help' for its options.\n";

static const char status_usage[] =
    "usage: rill cluster status [--json] [options]\n"
    "\n"
    "Prints the cluster id, the version of the broker that answered, the brokers and the\n"
    "controller, and the topics with their partition counts. Exits 0 when the cluster is\n"
    "reachable, 1 when it is not.\n"
    "\n"
    "Options:\n"
    "  --json               print one JSON document (also when unreachable)\n"
    "  -b, --brokers HOST:PORT[,...]  brokers to bootstrap from (default $RILL_BROKERS or\n"
    "                       127.0.0.1:9700)\n"
    "  -X, --client-config KEY=VALUE  client setting (connect.timeout.ms, ...); repeatable\n"
    "  -h, --help           show this help\n";

enum status_option_index {
    STATUS_BROKERS,
    STATUS_CLIENT_CONFIG,
    STATUS_JSON,
};

static const struct cli_option status_options[] = {
    CLI_CLIENT_OPTIONS,
    [STATUS_JSON] = { "json", 0, false },
    { NULL, 0, false },
};

struct status_settings {
    struct cli_client client;
    bool json;
};

/* What status found out; the pointers are NULL when the call failed. */
struct status_result {
    rill_cluster_info_t *cluster;
    rill_topic_list_t *topics;
    rill_err err; /* first failure */
    const char *failed_step;
};

static const char *status_option(int option_index, const char *value, void *context)
{
    struct status_settings *settings = context;

    switch (option_index) {
    case STATUS_BROKERS:
    case STATUS_CLIENT_CONFIG:
        return cli_client_option(&settings->client, option_index, value);
    case STATUS_JSON:
        settings->json = true;
        return NULL;
    default:
        return "unhandled option";
    }
}

static size_t status_partition_total(const rill_topic_list_t *topics)
{
    size_t total = 0;
    for (size_t index = 0; index < topics->topic_count; index++) {
        total += topics->topics[index].partition_count;
    }
    return total;
}

static void status_json(const struct status_settings *settings, const struct status_result *result)
{
    struct json_writer json;

    json_init(&json, stdout);
    json_object_begin(&json);
    json_key(&json, "reachable");
    json_bool(&json, result->err == RILL_OK);
    json_key(&json, "bootstrap_servers");
    json_string(&json, settings->client.brokers);
    if (result->err != RILL_OK) {
        json_key(&json, "error");
        json_string(&json, rill_err_name(result->err));
        json_key(&json, "message");
        json_string(&json, rill_err_str(result->err));
    }
    if (result->cluster != NULL) {
        const rill_cluster_info_t *cluster = result->cluster;
        json_key(&json, "cluster_id");
        json_string(&json, cluster->cluster_id);
        json_key(&json, "broker_version");
        json_string(&json, cluster->broker_version);
        json_key(&json, "controller_id");
        json_int(&json, cluster->controller_id);
        json_key(&json, "brokers");
        json_array_begin(&json);
        for (size_t index = 0; index < cluster->broker_count; index++) {
            const rill_broker_info_t *broker = &cluster->brokers[index];
            json_object_begin(&json);
            json_key(&json, "id");
            json_int(&json, broker->id);
            json_key(&json, "host");
            json_string(&json, broker->host);
            json_key(&json, "port");
            json_uint(&json, broker->port);
            json_key(&json, "controller");
            json_bool(&json, broker->id == cluster->controller_id);
            json_object_end(&json);
        }
        json_array_end(&json);
    }
    if (result->topics != NULL) {
        json_key(&json, "topic_count");
        json_uint(&json, result->topics->topic_count);
        json_key(&json, "partition_count");
        json_uint(&json, status_partition_total(result->topics));
        json_key(&json, "topics");
        json_array_begin(&json);
        for (size_t index = 0; index < result->topics->topic_count; index++) {
            const rill_topic_info_t *topic = &result->topics->topics[index];
            json_object_begin(&json);
            json_key(&json, "name");
            json_string(&json, topic->name);
            json_key(&json, "partitions");
            json_uint(&json, topic->partition_count);
            json_object_end(&json);
        }
        json_array_end(&json);
    }
    json_object_end(&json);
    (void)json_finish(&json);
}

static void status_text(const struct status_settings *settings, const struct status_result *result)
{
    const rill_cluster_info_t *cluster = result->cluster;
    const rill_topic_list_t *topics = result->topics;

    printf("cluster id      %s\n", cli_str(cluster->cluster_id));
    printf("broker version  %s\n", cli_str(cluster->broker_version));
    printf("controller      %" PRId32 "\n", cluster->controller_id);
    printf("health          reachable (bootstrap %s)\n", settings->client.brokers);
    printf("\n%6s  %s\n", "BROKER", "ADDRESS");
    for (size_t index = 0; index < cluster->broker_count; index++) {
        const rill_broker_info_t *broker = &cluster->brokers[index];
        printf("%6" PRId32 "  %s:%u%s\n", broker->id, cli_str(broker->host), (unsigned)broker->port,
               broker->id == cluster->controller_id ? "  (controller)" : "");
    }
    printf("\n%zu topic%s, %zu partition%s\n", topics->topic_count,
           topics->topic_count == 1 ? "" : "s", status_partition_total(topics),
           status_partition_total(topics) == 1 ? "" : "s");
    for (size_t index = 0; index < topics->topic_count; index++) {
        printf("  %-30s %6zu\n", cli_str(topics->topics[index].name),
               topics->topics[index].partition_count);
    }
}

static int status_run(struct status_settings *settings)
{
    struct status_result result = { .err = RILL_OK };
    char errstr[256] = "";
    rill_admin_t *admin = NULL;
    rill_err err;
    int exit_code = CLI_EXIT_OK;

    err = rill_admin_create(settings->client.conf, errstr, sizeof(errstr), &admin);
    if (err != RILL_OK) {
        result.err = err;
        result.failed_step = "creating the admin client";
        settings->client.create_err = err;
    } else {
        err = rill_admin_cluster_describe(admin, &result.cluster);
        if (err != RILL_OK) {
            result.err = err;
            result.failed_step = "describing the cluster";
        } else {
            err = rill_admin_describe_topics(admin, NULL, 0, &result.topics);
            if (err != RILL_OK) {
                result.err = err;
                result.failed_step = "listing topics";
            }
        }
        rill_admin_destroy(admin);
    }
    if (result.err != RILL_OK) {
        cli_client_fail(&settings->client, "cluster status", result.err, errstr, "%s",
                        result.failed_step);
        exit_code = cli_client_exit_code(&settings->client);
    }
    if (settings->json) {
        status_json(settings, &result);
    } else if (result.err == RILL_OK) {
        status_text(settings, &result);
    }
    rill_cluster_info_destroy(result.cluster);
    rill_topic_list_destroy(result.topics);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "rill cluster status: writing to stdout failed\n");
        return CLI_EXIT_FAILURE;
    }
    return exit_code;
}

static int status_main(int argc, char **argv)
{
    struct status_settings settings = { .json = false };
    const struct cli_command command = {
        .name = "cluster status",
        .usage = status_usage,
        .options = status_options,
        .handler = status_option,
        .context = &settings,
        .positional_names = "",
        .positional_min = 0,
        .positional_max = 0,
    };
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;

    if (!cli_client_init(&settings.client)) {
        return CLI_EXIT_FAILURE;
    }
    if (cli_parse(&command, argc, argv, NULL, &positional_count, &exit_code)) {
        const char *problem = cli_client_finish(&settings.client);
        if (problem != NULL) {
            cli_usage_error(&command, problem);
            exit_code = CLI_EXIT_USAGE;
        } else {
            exit_code = status_run(&settings);
        }
    }
    cli_client_deinit(&settings.client);
    return exit_code;
}

int cmd_cluster_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("rill cluster: missing command\n\n", stderr);
        fputs(cluster_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(cluster_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "status") == 0) {
        return status_main(argc - 1, argv + 1);
    }
    fprintf(stderr, "rill cluster: unknown command '%s'\n\n", argv[1]);
    fputs(cluster_usage, stderr);
    return CLI_EXIT_USAGE;
}
