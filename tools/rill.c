/*
 * rill.c - main of the rill command line: global options and dispatch to the commands.
 *
 * Each command lives in its own file (cmd_<name>.c, bench/bench_<name>.c) and returns the exit
 * code described in cli.h. This file only chooses which one runs.
 */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

#include "bench/bench_client.h"
#include "bench/bench_log.h"

static const char rill_usage[] =
    "usage: rill [-b HOST:PORT[,...]] <command> [options]\n"
    "\n"
    "Broker commands:\n"
    "  topic create|list|describe|alter|delete   manage topics\n"
    "  produce TOPIC     send lines from stdin as records\n"
    "  consume TOPIC     print records, then follow new ones (--group: as a group member)\n"
    "  cluster status    cluster id, brokers, controller, topics; exit 1 if unreachable\n"
    "  group list|describe|reset-offsets|delete   manage consumer groups\n"
    "\n"
    "Local commands:\n"
    "  log append DIR    append lines from stdin to a partition log, one record per line\n"
    "  log read DIR      print records of a partition log\n"
    "  log dump PATH     inspect and verify a log directory or segment file offline\n"
    "  bench log         storage throughput of the log against raw disk writes\n"
    "  bench produce|consume|e2e   client throughput and latency against a broker\n"
    "\n"
    "Options:\n"
    "  -b, --brokers HOST:PORT[,...]  brokers for the broker commands (also accepted after\n"
    "                    the command; default $RILL_BROKERS, else 127.0.0.1:9700)\n"
    "  -h, --help        show this help (every command has one: rill produce --help)\n"
    "  --version         print the version\n"
    "\n"
    "Exit codes: 0 success, 1 failure, 2 bad command line.\n";

static const char bench_usage[] =
    "usage: rill bench <workload> [options]\n"
    "\n"
    "Workloads:\n"
    "  log               append and read throughput of the embedded log against raw disk\n"
    "  produce           producer throughput and delivery latency against a broker\n"
    "  consume           consumer throughput reading a topic from its start\n"
    "  e2e               producers and consumers together: end-to-end latency\n"
    "\n"
    "Run 'rill bench <workload> --help' for its options.\n";

static bool is_help(const char *word)
{
    return strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0 || strcmp(word, "help") == 0;
}

static int unknown_command(const char *context, const char *word, const char *usage)
{
    fprintf(stderr, "rill: unknown %s '%s'\n\n", context, word);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

static int bench_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("rill bench: missing workload\n\n", stderr);
        fputs(bench_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        fputs(bench_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "log") == 0) {
        return bench_log_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "produce") == 0) {
        return bench_produce_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "consume") == 0) {
        return bench_consume_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "e2e") == 0) {
        return bench_e2e_main(argc - 1, argv + 1);
    }
    return unknown_command("bench workload", argv[1], bench_usage);
}

/*
 * Takes "-b VALUE", "-bVALUE", "--brokers VALUE" or "--brokers=VALUE" from the front of argv.
 * @return the words consumed (0: none, -1: the value is missing).
 */
static int take_global_brokers(int argc, char **argv)
{
    const char *word = argv[1];
    if (strcmp(word, "-b") == 0 || strcmp(word, "--brokers") == 0) {
        if (argc < 3) {
            return -1;
        }
        cli_set_global_brokers(argv[2]);
        return 2;
    }
    if (strncmp(word, "--brokers=", 10) == 0) {
        cli_set_global_brokers(word + 10);
        return 1;
    }
    if (strncmp(word, "-b", 2) == 0) {
        cli_set_global_brokers(word + 2);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    while (argc >= 2) {
        int taken = take_global_brokers(argc, argv);
        if (taken < 0) {
            fprintf(stderr, "rill: option '%s' needs a value\n\n", argv[1]);
            fputs(rill_usage, stderr);
            return CLI_EXIT_USAGE;
        }
        if (taken == 0) {
            break;
        }
        /* Keep argv[0] in front of the rest. */
        argv[taken] = argv[0];
        argv += taken;
        argc -= taken;
    }
    if (argc < 2) {
        fputs(rill_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        fputs(rill_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rill %s\n", rill_version());
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "log") == 0) {
        return cmd_log_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "topic") == 0) {
        return cmd_topic_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "produce") == 0) {
        return cmd_produce_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "consume") == 0) {
        return cmd_consume_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "cluster") == 0) {
        return cmd_cluster_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "group") == 0) {
        return cmd_group_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "bench") == 0) {
        return bench_main(argc - 1, argv + 1);
    }
    return unknown_command("command", argv[1], rill_usage);
}
