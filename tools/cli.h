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

/* ---- broker commands (topic, produce, consume, cluster) ---------------------------------- */

/* bootstrap.servers when neither -b nor $RILL_BROKERS says otherwise. */
#define CLI_BROKERS_DEFAULT "127.0.0.1:9700"
/* --config / --delete-config entries one command accepts. */
#define CLI_CONFIG_ENTRIES_MAX 64

/*
 * The client settings every broker command shares. Each command lists CLI_CLIENT_OPTIONS in
 * its option table and hands those options to cli_client_option; its own client keys go
 * through cli_client_set. cli_client_finish applies the broker list: the command's -b, else
 * the -b given before the command (cli_set_global_brokers), else $RILL_BROKERS, else
 * CLI_BROKERS_DEFAULT.
 */
struct cli_client {
    rill_conf_t *conf;   /* client configuration handed to the create call */
    const char *brokers; /* the broker list in use, for messages */
    bool brokers_set;    /* -b given to the command itself */
    rill_err create_err; /* why creating the client failed, RILL_OK before */
    char problem[512];   /* message returned by the option helpers */
};

/* Option table entries for -b/--brokers and -X/--client-config, in this order. */
#define CLI_CLIENT_OPTIONS         \
    { "brokers", 'b', true },      \
    {                              \
        "client-config", 'X', true \
    }
#define CLI_CLIENT_OPTION_COUNT 2

/* Sets *what -b gave before the command word ("rill -b HOST:PORT topic list"). */
void cli_set_global_brokers(const char *brokers);

/* False when out of memory (message printed). */
bool cli_client_init(struct cli_client *client);
void cli_client_deinit(struct cli_client *client);

/*
 * Handles option number which (0: -b, 1: -X KEY=VALUE) of CLI_CLIENT_OPTIONS.
 * @return NULL, or a usage problem (in client->problem).
 */
const char *cli_client_option(struct cli_client *client, int which, const char *value);

/* Sets a client key; NULL or a usage problem (in client->problem). */
const char *cli_client_set(struct cli_client *client, const char *key, const char *value);

/* Applies the broker list; NULL or a usage problem. Call after cli_parse. */
const char *cli_client_finish(struct cli_client *client);

/*
 * Reports a failed client call: "rill <command>: <what>: broker unreachable at <brokers>
 * (<detail>)" for connection failures, else "rill <command>: <what>: <detail>", where detail is
 * errstr when it is not empty, else rill_err_str(err). errstr may be NULL.
 */
void cli_client_fail(const struct cli_client *client,
                     const char *command,
                     rill_err err,
                     const char *errstr,
                     const char *what_format,
                     ...) __attribute__((format(printf, 5, 6)));

/* An admin handle for command, or NULL after reporting why (in client->create_err too). */
rill_admin_t *cli_client_admin(struct cli_client *client, const char *command);

/*
 * An admin handle beside a producer or consumer: built from the settings of client->conf that
 * every kind of handle understands (bootstrap.servers, timeouts, ...), since an admin refuses
 * producer and consumer keys. NULL after reporting why.
 */
rill_admin_t *cli_client_side_admin(struct cli_client *client, const char *command);

/*
 * Records that creating a client failed with err, reports it, and returns the exit code: 2 when
 * the configuration was refused (a -X key of another kind of client), else 1.
 */
int cli_client_create_failed(struct cli_client *client,
                             const char *command,
                             rill_err err,
                             const char *errstr,
                             const char *what);

/* The exit code for a failure after cli_client_admin returned NULL or a call failed. */
int cli_client_exit_code(const struct cli_client *client);

/* text, or "" for NULL: for strings that come from the broker. */
const char *cli_str(const char *text);

/* True for the errors that mean no broker answered. */
bool cli_client_unreachable(rill_err err);

/* Topic configuration given as --config KEY=VALUE (set) or --delete-config KEY (reset). */
struct cli_config_list {
    rill_config_entry_t entries[CLI_CONFIG_ENTRIES_MAX]; /* value NULL: reset */
    char *keys[CLI_CONFIG_ENTRIES_MAX];                  /* owned copies behind entries[].key */
    size_t count;
    char problem[256];
};

/*
 * Adds "KEY=VALUE" (reset false) or "KEY" (reset true). Values point into text, which must
 * outlive the list (argv does). NULL or a usage problem (in list->problem).
 */
const char *cli_config_list_add(struct cli_config_list *list, const char *text, bool reset);
void cli_config_list_free(struct cli_config_list *list);

/* Entry points of the commands: `rill log` (dispatched from rill.c) and its subcommands. */
int cmd_log_main(int argc, char **argv);
int cmd_log_append_main(int argc, char **argv);
int cmd_log_read_main(int argc, char **argv);
int cmd_log_dump_main(int argc, char **argv);
/* The broker commands: `rill topic ...`, `rill produce`, `rill consume`, `rill cluster ...`,
 * `rill group ...`. */
int cmd_topic_main(int argc, char **argv);
int cmd_produce_main(int argc, char **argv);
int cmd_consume_main(int argc, char **argv);
int cmd_cluster_main(int argc, char **argv);
int cmd_group_main(int argc, char **argv);

#endif
