/*
 * cli.c - the option parser and error reporting shared by every rill command (see cli.h).
 *
 * getopt_long does the scanning. Its own messages are silenced (opterr = 0 and a leading ':'
 * in the option string) so that every usage error reads the same way and exits with 2. The
 * long option table is built from the command's table: getopt's val is CLI_LONG_BASE + index
 * for long names and the letter for short names, so both map back to the table index.
 */
#include "tools/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* getopt_long values above any char, so they never collide with short options. */
#define CLI_LONG_BASE  0x1000
#define CLI_HELP_VALUE 'h'

/* The getopt tables built from one command's option table. */
struct cli_getopt_tables {
    struct option long_options[CLI_OPTIONS_MAX + 2]; /* + --help + terminator */
    char short_options[3 * CLI_OPTIONS_MAX + 4];     /* ":" + "x:" per option + "h" + NUL */
};

static size_t cli_option_count(const struct cli_command *command)
{
    size_t count = 0;
    while (command->options != NULL && command->options[count].name != NULL) {
        count++;
    }
    return count;
}

static void cli_build_tables(const struct cli_command *command, struct cli_getopt_tables *tables)
{
    size_t count = cli_option_count(command);
    size_t short_length = 0;

    if (count > CLI_OPTIONS_MAX) {
        fprintf(stderr, "rill %s: too many options (internal error)\n", command->name);
        abort();
    }
    memset(tables, 0, sizeof(*tables));
    tables->short_options[short_length++] = ':';
    for (size_t index = 0; index < count; index++) {
        const struct cli_option *option = &command->options[index];
        tables->long_options[index].name = option->name;
        tables->long_options[index].has_arg = option->takes_value ? required_argument : no_argument;
        tables->long_options[index].val = CLI_LONG_BASE + (int)index;
        if (option->short_name != 0) {
            tables->short_options[short_length++] = option->short_name;
            if (option->takes_value) {
                tables->short_options[short_length++] = ':';
            }
        }
    }
    tables->long_options[count].name = "help";
    tables->long_options[count].val = CLI_HELP_VALUE;
    tables->short_options[short_length++] = 'h';
}

/* The table index of the option getopt_long returned as value, or -1 if it is no option. */
static int cli_option_index(const struct cli_command *command, int value)
{
    size_t count = cli_option_count(command);
    if (value >= CLI_LONG_BASE && (size_t)(value - CLI_LONG_BASE) < count) {
        return value - CLI_LONG_BASE;
    }
    for (size_t index = 0; index < count; index++) {
        if (command->options[index].short_name == value) {
            return (int)index;
        }
    }
    return -1;
}

/* Builds the message for a '?' (unknown option) or ':' (missing value) from getopt_long. */
static void cli_getopt_error(int value, char **argv, char *message, size_t message_bytes)
{
    const char *word = argv[optind - 1];
    if (value == ':') {
        snprintf(message, message_bytes, "option '%s' needs a value", word);
    } else if (optopt != 0 && strncmp(word, "--", 2) != 0) {
        snprintf(message, message_bytes, "unknown option '-%c'", optopt);
    } else {
        snprintf(message, message_bytes, "unknown option '%s'", word);
    }
}

static bool cli_check_positionals(const struct cli_command *command,
                                  int argc,
                                  char **argv,
                                  const char **positionals,
                                  size_t *out_positional_count)
{
    size_t count = (size_t)(argc - optind);
    char message[256];

    if (count < command->positional_min) {
        snprintf(message, sizeof(message), "missing %s", command->positional_names);
        cli_usage_error(command, message);
        return false;
    }
    if (count > command->positional_max) {
        snprintf(message, sizeof(message), "unexpected argument '%s'",
                 argv[optind + (int)command->positional_max]);
        cli_usage_error(command, message);
        return false;
    }
    for (size_t index = 0; index < count; index++) {
        positionals[index] = argv[optind + (int)index];
    }
    *out_positional_count = count;
    return true;
}

bool cli_parse(const struct cli_command *command,
               int argc,
               char **argv,
               const char **positionals,
               size_t *out_positional_count,
               int *out_exit_code)
{
    struct cli_getopt_tables tables;
    char message[512];
    int value;

    cli_build_tables(command, &tables);
    opterr = 0;
    optind = 0; /* glibc: 0 restarts the scan from scratch, needed as commands parse in turn */
    while ((value = getopt_long(argc, argv, tables.short_options, tables.long_options, NULL)) !=
           -1) {
        if (value == CLI_HELP_VALUE) {
            fputs(command->usage, stdout);
            *out_exit_code = CLI_EXIT_OK;
            return false;
        }
        int index = cli_option_index(command, value);
        if (index < 0) {
            cli_getopt_error(value, argv, message, sizeof(message));
            cli_usage_error(command, message);
            *out_exit_code = CLI_EXIT_USAGE;
            return false;
        }
        const char *problem = command->handler(index, optarg, command->context);
        if (problem != NULL) {
            snprintf(message, sizeof(message), "--%s: %s", command->options[index].name, problem);
            cli_usage_error(command, message);
            *out_exit_code = CLI_EXIT_USAGE;
            return false;
        }
    }
    if (!cli_check_positionals(command, argc, argv, positionals, out_positional_count)) {
        *out_exit_code = CLI_EXIT_USAGE;
        return false;
    }
    return true;
}

void cli_usage_error(const struct cli_command *command, const char *message)
{
    size_t synopsis_bytes = strcspn(command->usage, "\n");
    fprintf(stderr, "rill %s: %s\n%.*s\nRun 'rill %s --help' for the options.\n", command->name,
            message, (int)synopsis_bytes, command->usage, command->name);
}

void cli_fail(rill_err err, const char *what_format, ...)
{
    va_list arguments;
    fputs("rill: ", stderr);
    va_start(arguments, what_format);
    vfprintf(stderr, what_format, arguments);
    va_end(arguments);
    fprintf(stderr, ": %s\n", rill_err_str(err));
}

void cli_fail_message(const char *format, ...)
{
    va_list arguments;
    fputs("rill: ", stderr);
    va_start(arguments, format);
    vfprintf(stderr, format, arguments);
    va_end(arguments);
    fputc('\n', stderr);
}

bool cli_parse_int64(const char *text, int64_t *out_value)
{
    char *end = NULL;
    long long value;

    if (text == NULL || *text == '\0') {
        return false;
    }
    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out_value = (int64_t)value;
    return true;
}

bool cli_parse_size(const char *text, uint64_t *out_bytes)
{
    char *end = NULL;
    unsigned long long value;
    unsigned shift = 0;

    if (text == NULL || *text < '0' || *text > '9') {
        return false;
    }
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0) {
        return false;
    }
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    default:
        return false;
    }
    if (*end != '\0' && end[1] != '\0') {
        return false;
    }
    if (value > (UINT64_MAX >> shift)) {
        return false;
    }
    *out_bytes = (uint64_t)value << shift;
    return true;
}
