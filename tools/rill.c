/*
 * rill.c - main of the rill command line: global options and dispatch to the commands.
 *
 * Each command lives in its own file (cmd_<name>.c, bench/bench_<name>.c) and returns the exit
 * code described in cli.h. This file only chooses which one runs.
 */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

#include "bench/bench_log.h"

static const char rill_usage[] =
    "usage: rill <command> [options]\n"
    "\n"
    "Commands:\n"
    "  log append DIR    append lines from stdin to a partition log, one record per line\n"
    "  log read DIR      print records of a partition log\n"
    "  log dump PATH     inspect and verify a log directory or segment file offline\n"
    "  bench log         storage throughput of the log against raw disk writes\n"
    "\n"
    "Options:\n"
    "  -h, --help        show this help (every command has one: rill log append --help)\n"
    "  --version         print the version\n"
    "\n"
    "Exit codes: 0 success, 1 failure, 2 bad command line.\n";

static const char bench_usage[] =
    "usage: rill bench <workload> [options]\n"
    "\n"
    "Workloads:\n"
    "  log               append and read throughput of the embedded log against raw disk\n"
    "\n"
    "Run 'rill bench log --help' for its options.\n";

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
    return unknown_command("bench workload", argv[1], bench_usage);
}

int main(int argc, char **argv)
{
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
    if (strcmp(argv[1], "bench") == 0) {
        return bench_main(argc - 1, argv + 1);
    }
    return unknown_command("command", argv[1], rill_usage);
}
