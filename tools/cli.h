/*
 * cli.h - what the commands of the rill CLI share: their entry points, exit codes, the option
 * parser and error reporting.
 *
 * Every command is an entry point `int cmd_<name>_main(int argc, char **argv)` where argv[0]
 * is the command's own name ("append") and the result is the process exit code:
 *   0  success (and --help)
 *   1  the work failed (I/O error, corrupt log, ...); a message went to stderr
 *   2  the command line was wrong; a message and the usage synopsis went to stderr
 * Scripts may rely on these three values.
 *
 * The parser wraps getopt_long with permutation, so options may follow positional arguments
 * ("rill log read DIR --count 3"), "--" ends the options, and "--name=value" works. Every
 * command gets -h/--help for free.
 */
#ifndef RILL_TOOLS_CLI_H
#define RILL_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"

#define CLI_EXIT_OK      0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

/* Options of one command, including the implicit --help. */
#define CLI_OPTIONS_MAX 32

/* One option of a command. Tables end with an entry whose name is NULL. */
struct cli_option {
    const char *name; /* long name without the leading "--" */
    char short_name;  /* one-letter alias ('n' for -n), or 0 for none */
    bool takes_value; /* true: "--name VALUE" or "--name=VALUE" */
};

/*
 * Called once per option found, in command-line order. option_index indexes the command's
 * option table; value is NULL for options without a value. Returns NULL when the value is
 * acceptable, else a one-line explanation (a usage error: exit code 2).
 */
typedef const char *cli_option_handler(int option_index, const char *value, void *context);

/* Everything the parser needs to know about one command. */
struct cli_command {
    const char *name;                 /* "log append": prefixes messages */
    const char *usage;                /* full help text, printed by --help */
    const struct cli_option *options; /* NULL-name terminated, at most CLI_OPTIONS_MAX */
    cli_option_handler *handler;      /* may be NULL when options is empty */
    void *context;                    /* passed to handler */
    const char *positional_names;     /* for messages: "DIR" */
    size_t positional_min;
    size_t positional_max;
};

/*
 * Parses argv (argv[0] is the command name) and stores the positional arguments, in order, in
 * positionals (room for command->positional_max entries).
 * @return true to go on; false when the command must stop now with *out_exit_code: 0 after
 *         --help (usage printed to stdout), 2 after a usage error (message to stderr).
 */
bool cli_parse(const struct cli_command *command,
               int argc,
               char **argv,
               const char **positionals,
               size_t *out_positional_count,
               int *out_exit_code);

/*
 * For usage errors: prints "rill <command>: <message>", the usage synopsis (the first line of
 * command->usage) and a pointer to --help, to stderr.
 */
void cli_usage_error(const struct cli_command *command, const char *message);

/* Prints "rill: <what>: <rill_err_str(err)>" to stderr. */
void cli_fail(rill_err err, const char *what_format, ...) __attribute__((format(printf, 2, 3)));

/* Prints "rill: <message>" to stderr: for failures that are not rill_err codes. */
void cli_fail_message(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* A whole decimal integer, optionally negative; false if text is anything else. */
bool cli_parse_int64(const char *text, int64_t *out_value);

/* A byte count with an optional suffix k, m or g (powers of 1024): "256m". */
bool cli_parse_size(const char *text, uint64_t *out_bytes);

/* Entry points of the commands: `rill log` (dispatched from rill.c) and its subcommands. */
int cmd_log_main(int argc, char **argv);
int cmd_log_append_main(int argc, char **argv);
int cmd_log_read_main(int argc, char **argv);
int cmd_log_dump_main(int argc, char **argv);

#endif
