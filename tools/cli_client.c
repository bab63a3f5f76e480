/*
 * cli_client.c - what the broker commands of the rill CLI share (see cli.h): the -b and -X
 * options, the client configuration, error reporting for client calls, and --config lists.
 *
 * Everything here goes through the public client API of rill.h only.
 */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -b given before the command word; NULL when none was. */
static const char *cli_global_brokers;

void cli_set_global_brokers(const char *brokers)
{
    cli_global_brokers = brokers;
}

bool cli_client_init(struct cli_client *client)
{
    memset(client, 0, sizeof(*client));
    client->conf = rill_conf_create();
    if (client->conf == NULL) {
        cli_fail(RILL_ERR_NOMEM, "creating the client configuration");
        return false;
    }
    client->brokers = CLI_BROKERS_DEFAULT;
    return true;
}

void cli_client_deinit(struct cli_client *client)
{
    rill_conf_destroy(client->conf);
    client->conf = NULL;
}

const char *cli_client_set(struct cli_client *client, const char *key, const char *value)
{
    char errstr[256] = "";
    rill_err err = rill_conf_set(client->conf, key, value, errstr, sizeof(errstr));
    if (err == RILL_OK) {
        return NULL;
    }
    if (errstr[0] != '\0') {
        snprintf(client->problem, sizeof(client->problem), "%s", errstr);
    } else {
        snprintf(client->problem, sizeof(client->problem), "%s=%s: %s", key, value,
                 rill_err_str(err));
    }
    return client->problem;
}

/* Sets "KEY=VALUE" from -X. */
static const char *cli_client_set_pair(struct cli_client *client, const char *text)
{
    const char *equals = strchr(text, '=');
    char key[128];

    if (equals == NULL || equals == text || (size_t)(equals - text) >= sizeof(key)) {
        snprintf(client->problem, sizeof(client->problem), "expected KEY=VALUE, got '%s'", text);
        return client->problem;
    }
    memcpy(key, text, (size_t)(equals - text));
    key[equals - text] = '\0';
    if (strcmp(key, "bootstrap.servers") == 0) {
        client->brokers = equals + 1;
        client->brokers_set = true;
    }
    return cli_client_set(client, key, equals + 1);
}

const char *cli_client_option(struct cli_client *client, int which, const char *value)
{
    if (which == 0) {
        if (value[0] == '\0') {
            return "expected HOST:PORT[,HOST:PORT...]";
        }
        client->brokers = value;
        client->brokers_set = true;
        return cli_client_set(client, "bootstrap.servers", value);
    }
    return cli_client_set_pair(client, value);
}

/*
 * The CLI's own defaults for the client timeouts, applied unless -X sets them: a person at a
 * terminal should hear "unreachable" within seconds, not after the library's 30 s request
 * timeout (the client retries a refused connection until that passes).
 */
static const char *const cli_client_defaults[][2] = {
    { "connect.timeout.ms", "3000" },
    { "request.timeout.ms", "15000" },
};

static const char *cli_client_apply_defaults(struct cli_client *client)
{
    for (size_t index = 0; index < sizeof(cli_client_defaults) / sizeof(cli_client_defaults[0]);
         index++) {
        const char *key = cli_client_defaults[index][0];
        if (rill_conf_get(client->conf, key) == NULL) {
            const char *problem = cli_client_set(client, key, cli_client_defaults[index][1]);
            if (problem != NULL) {
                return problem;
            }
        }
    }
    return NULL;
}

const char *cli_client_finish(struct cli_client *client)
{
    const char *brokers = NULL;
    const char *problem = cli_client_apply_defaults(client);

    if (problem != NULL || client->brokers_set) {
        return problem;
    }
    if (cli_global_brokers != NULL) {
        brokers = cli_global_brokers;
    } else if (getenv("RILL_BROKERS") != NULL && getenv("RILL_BROKERS")[0] != '\0') {
        brokers = getenv("RILL_BROKERS");
    }
    if (brokers == NULL) {
        client->brokers = CLI_BROKERS_DEFAULT;
        return NULL; /* the library's own default is the same address */
    }
    client->brokers = brokers;
    problem = cli_client_set(client, "bootstrap.servers", brokers);
    if (problem != NULL) {
        /* Name the source, since the command line of the command itself did not say it. */
        char detail[256];
        snprintf(detail, sizeof(detail), "%s", problem);
        snprintf(client->problem, sizeof(client->problem), "%s: %s",
                 cli_global_brokers != NULL ? "-b" : "$RILL_BROKERS", detail);
        return client->problem;
    }
    return NULL;
}

bool cli_client_unreachable(rill_err err)
{
    return err == RILL_ERR_CONNECTION || err == RILL_ERR_TOO_MANY_CONNECTIONS ||
           err == RILL_ERR_SHUTTING_DOWN;
}

void cli_client_fail(const struct cli_client *client,
                     const char *command,
                     rill_err err,
                     const char *errstr,
                     const char *what_format,
                     ...)
{
    va_list arguments;
    const char *detail = errstr != NULL && errstr[0] != '\0' ? errstr : rill_err_str(err);

    fprintf(stderr, "rill %s: ", command);
    va_start(arguments, what_format);
    vfprintf(stderr, what_format, arguments);
    va_end(arguments);
    if (cli_client_unreachable(err)) {
        fprintf(stderr, ": broker unreachable at %s (%s)\n", client->brokers, detail);
    } else {
        fprintf(stderr, ": %s\n", detail);
    }
}

const char *cli_config_list_add(struct cli_config_list *list, const char *text, bool reset)
{
    const char *equals = strchr(text, '=');
    size_t key_bytes = reset ? strlen(text) : (equals != NULL ? (size_t)(equals - text) : 0);
    char *key;

    if (reset && equals != NULL) {
        snprintf(list->problem, sizeof(list->problem), "expected a KEY without '=', got '%s'",
                 text);
        return list->problem;
    }
    if (!reset && equals == NULL) {
        snprintf(list->problem, sizeof(list->problem), "expected KEY=VALUE, got '%s'", text);
        return list->problem;
    }
    if (key_bytes == 0) {
        snprintf(list->problem, sizeof(list->problem), "empty key in '%s'", text);
        return list->problem;
    }
    if (list->count == CLI_CONFIG_ENTRIES_MAX) {
        return "too many settings (at most 64)";
    }
    for (size_t index = 0; index < list->count; index++) {
        if (strlen(list->keys[index]) == key_bytes &&
            memcmp(list->keys[index], text, key_bytes) == 0) {
            snprintf(list->problem, sizeof(list->problem), "'%.*s' is given twice", (int)key_bytes,
                     text);
            return list->problem;
        }
    }
    key = strndup(text, key_bytes);
    if (key == NULL) {
        return "out of memory";
    }
    list->keys[list->count] = key;
    list->entries[list->count].key = key;
    list->entries[list->count].value = reset ? NULL : equals + 1;
    list->count++;
    return NULL;
}

void cli_config_list_free(struct cli_config_list *list)
{
    for (size_t index = 0; index < list->count; index++) {
        free(list->keys[index]);
    }
    list->count = 0;
}

rill_admin_t *cli_client_admin(struct cli_client *client, const char *command)
{
    char errstr[256] = "";
    rill_admin_t *admin = NULL;
    rill_err err = rill_admin_create(client->conf, errstr, sizeof(errstr), &admin);
    if (err != RILL_OK) {
        (void)cli_client_create_failed(client, command, err, errstr, "creating the admin client");
        return NULL;
    }
    return admin;
}

int cli_client_create_failed(struct cli_client *client,
                             const char *command,
                             rill_err err,
                             const char *errstr,
                             const char *what)
{
    client->create_err = err;
    cli_client_fail(client, command, err, errstr, "%s", what);
    return cli_client_exit_code(client);
}

int cli_client_exit_code(const struct cli_client *client)
{
    if (client->create_err == RILL_ERR_CONFIG_KEY || client->create_err == RILL_ERR_CONFIG_VALUE) {
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_FAILURE;
}

const char *cli_str(const char *text)
{
    return text != NULL ? text : "";
}

/* The keys every kind of client handle understands (rill.h, "all handles"). */
static const char *const cli_client_common_keys[] = {
    "bootstrap.servers",   "client.id",        "request.timeout.ms",
    "connect.timeout.ms",  "retry.backoff.ms", "retry.backoff.max.ms",
    "metadata.max.age.ms",
};

rill_admin_t *cli_client_side_admin(struct cli_client *client, const char *command)
{
    struct cli_client side = { .brokers = client->brokers };
    rill_admin_t *admin = NULL;

    side.conf = rill_conf_create();
    if (side.conf == NULL) {
        cli_fail(RILL_ERR_NOMEM, "%s: creating the admin configuration", command);
        return NULL;
    }
    for (size_t index = 0;
         index < sizeof(cli_client_common_keys) / sizeof(cli_client_common_keys[0]); index++) {
        const char *key = cli_client_common_keys[index];
        const char *value = rill_conf_get(client->conf, key);
        if (value != NULL && cli_client_set(&side, key, value) != NULL) {
            fprintf(stderr, "rill %s: %s\n", command, side.problem);
            rill_conf_destroy(side.conf);
            return NULL;
        }
    }
    admin = cli_client_admin(&side, command);
    client->create_err = side.create_err;
    rill_conf_destroy(side.conf);
    return admin;
}
