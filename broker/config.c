/*
 * config.c - rilld settings: one table of keys, each with its default, its help line and how it
 * is parsed into struct broker_config.
 */
#include "broker/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/err.h"
#include "common/limits.h"
#include "consumer/assign.h"

enum config_kind {
    CONFIG_KIND_ADDRESS, /* HOST:PORT */
    CONFIG_KIND_PATH,    /* a non-empty path */
    CONFIG_KIND_NAME,    /* a non-empty name */
    CONFIG_KIND_ID,      /* an int32_t in [value_min, value_max] */
    CONFIG_KIND_COUNT,   /* a uint32_t in [value_min, value_max] */
    CONFIG_KIND_MS,      /* milliseconds in [value_min, value_max] */
    CONFIG_KIND_BOOL,    /* true | false */
};

struct config_key {
    const char *name;
    enum config_kind kind;
    size_t field_offset; /* into struct broker_config */
    int64_t value_min;
    int64_t value_max;
    const char *value_default; /* as text, for --help and config_init_defaults */
    const char *help;
};

#define CONFIG_FIELD(field) offsetof(struct broker_config, field)

static const struct config_key config_keys[] = {
    { "listen", CONFIG_KIND_ADDRESS, CONFIG_FIELD(listen), 0, 0, "127.0.0.1:9700",
      "native protocol address; port 0 picks a free port (printed at start)" },
    { "http.listen", CONFIG_KIND_ADDRESS, CONFIG_FIELD(http), 0, 0, "127.0.0.1:9701",
      "HTTP /metrics and /health; port 0 picks a free port (printed at start)" },
    { "data.dir", CONFIG_KIND_PATH, CONFIG_FIELD(data_dir), 0, 0, "./rill-data",
      "data directory, created when missing" },
    { "broker.id", CONFIG_KIND_ID, CONFIG_FIELD(broker_id), 0, INT32_MAX, "0", "this broker's id" },
    { "cluster.id", CONFIG_KIND_NAME, CONFIG_FIELD(cluster_id), 0, 0, "rill",
      "cluster name reported to clients" },
    { "connections.max", CONFIG_KIND_COUNT, CONFIG_FIELD(connections_max), 1, RILL_CONNECTIONS_MAX,
      "4096", "open connections; more are closed as soon as accepted" },
    { "inflight.max", CONFIG_KIND_COUNT, CONFIG_FIELD(inflight_max), 1, RILL_INFLIGHT_PER_CONN_MAX,
      "64", "unanswered requests per connection before it is not read" },
    { "idle.timeout.ms", CONFIG_KIND_MS, CONFIG_FIELD(idle_timeout_ms), 1, INT32_MAX, "600000",
      "close a connection without a request for this long" },
    { "frame.timeout.ms", CONFIG_KIND_MS, CONFIG_FIELD(frame_timeout_ms), 1, INT32_MAX, "30000",
      "close a connection whose started frame is incomplete after this" },
    { "shutdown.timeout.ms", CONFIG_KIND_MS, CONFIG_FIELD(shutdown_timeout_ms), 0, INT32_MAX,
      "10000", "on SIGTERM, cut connections still busy after this" },
    { "cores", CONFIG_KIND_COUNT, CONFIG_FIELD(cores), 0, 64, "0",
      "event-loop threads, each owning the partitions placed on it; 0: one per online CPU" },
    { "auto.create.topics", CONFIG_KIND_BOOL, CONFIG_FIELD(topic_auto_create), 0, 1, "false",
      "create unknown topics a client's METADATA asks to auto-create" },
    { "default.partitions", CONFIG_KIND_ID, CONFIG_FIELD(topic_partitions_default), 1,
      RILL_PARTITIONS_MAX, "1", "partitions of an auto-created topic" },
    { "group.min.session.timeout.ms", CONFIG_KIND_ID, CONFIG_FIELD(group_session_timeout_min_ms), 1,
      INT32_MAX, "1000", "shortest session timeout a consumer group member may ask for" },
    { "group.max.session.timeout.ms", CONFIG_KIND_ID, CONFIG_FIELD(group_session_timeout_max_ms), 1,
      INT32_MAX, "300000", "longest session timeout a consumer group member may ask for" },
    { "group.max.rebalance.timeout.ms", CONFIG_KIND_ID,
      CONFIG_FIELD(group_rebalance_timeout_max_ms), 1, INT32_MAX, "300000",
      "longest rebalance timeout a consumer group member may ask for" },
    { "group.max.size", CONFIG_KIND_COUNT, CONFIG_FIELD(group_members_max), 1, ASSIGN_MEMBERS_MAX,
      "1000", "members of one consumer group; more joins get ERR_FULL" },
    { "group.retention.ms", CONFIG_KIND_MS, CONFIG_FIELD(group_retention_ms), 1,
      (int64_t)INT32_MAX * 1000, "604800000",
      "an empty group without a commit for this long is deleted with its offsets" },
};

_Static_assert(RILL_IDLE_TIMEOUT_MS_DEFAULT == 600000, "help text matches the limit");
_Static_assert(RILL_FRAME_TIMEOUT_MS_DEFAULT == 30000, "help text matches the limit");
_Static_assert(RILL_SHUTDOWN_TIMEOUT_MS_DEFAULT == 10000, "help text matches the limit");

static const struct config_key *config_key_find(const char *name)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        if (strcmp(config_keys[i].name, name) == 0) {
            return &config_keys[i];
        }
    }
    return NULL;
}

rill_err config_parse_address(const char *text, struct config_address *out)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || colon[1] == '\0') {
        return RILL_ERR_CONFIG_VALUE;
    }
    const char *host = text;
    size_t host_bytes = (size_t)(colon - text);
    if (host[0] == '[') {
        if (host_bytes < 3 || host[host_bytes - 1] != ']') {
            return RILL_ERR_CONFIG_VALUE;
        }
        host++;
        host_bytes -= 2;
    }
    if (host_bytes >= sizeof(out->host)) {
        return RILL_ERR_CONFIG_VALUE;
    }
    int64_t port = 0;
    if (conf_parse_ms(colon + 1, false, &port) != RILL_OK || port < 0 || port > 65535) {
        return RILL_ERR_CONFIG_VALUE;
    }
    memcpy(out->host, host, host_bytes);
    out->host[host_bytes] = '\0';
    out->port = (uint16_t)port;
    return RILL_OK;
}

static rill_err config_set_number(const struct config_key *key, void *field, const char *value)
{
    int64_t number = 0;
    if (conf_parse_ms(value, false, &number) != RILL_OK || number < key->value_min ||
        number > key->value_max) {
        return RILL_ERR_CONFIG_VALUE;
    }
    if (key->kind == CONFIG_KIND_MS) {
        *(int64_t *)field = number;
    } else if (key->kind == CONFIG_KIND_ID) {
        *(int32_t *)field = (int32_t)number;
    } else {
        *(uint32_t *)field = (uint32_t)number;
    }
    return RILL_OK;
}

static rill_err config_set_text(void *field, size_t field_bytes, const char *value)
{
    size_t value_bytes = strlen(value);
    if (value_bytes == 0 || value_bytes >= field_bytes) {
        return RILL_ERR_CONFIG_VALUE;
    }
    memcpy(field, value, value_bytes + 1);
    return RILL_OK;
}

rill_err config_set(struct broker_config *cfg,
                    const char *key,
                    const char *value,
                    char *errstr,
                    size_t errstr_bytes)
{
    const struct config_key *entry = config_key_find(key);
    if (entry == NULL) {
        rill_errstr_set(errstr, errstr_bytes, "unknown setting '%s'", key);
        return RILL_ERR_CONFIG_KEY;
    }
    void *field = (char *)cfg + entry->field_offset;
    rill_err err = RILL_ERR_CONFIG_VALUE;
    switch (entry->kind) {
    case CONFIG_KIND_ADDRESS:
        err = config_parse_address(value, field);
        break;
    case CONFIG_KIND_PATH:
        err = config_set_text(field, CONFIG_PATH_BYTES_MAX, value);
        break;
    case CONFIG_KIND_NAME:
        err = config_set_text(field, CONFIG_NAME_BYTES_MAX, value);
        break;
    case CONFIG_KIND_ID:
    case CONFIG_KIND_COUNT:
    case CONFIG_KIND_MS:
        err = config_set_number(entry, field, value);
        break;
    case CONFIG_KIND_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            *(bool *)field = value[0] == 't';
            err = RILL_OK;
        }
        break;
    }
    if (err != RILL_OK) {
        rill_errstr_set(errstr, errstr_bytes, "invalid value '%s' for %s (%s)", value, key,
                        entry->help);
    }
    return err;
}

void config_init_defaults(struct broker_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        rill_err err = config_set(cfg, config_keys[i].name, config_keys[i].value_default, NULL, 0);
        /* The table's defaults are constants of this file: a bad one is a programmer error. */
        if (err != RILL_OK) {
            abort();
        }
    }
}

/* Splits "key = value" in place; false for a line that is neither that nor blank/comment. */
static bool config_line_split(char *line, char **out_key, char **out_value)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *start = line + strspn(line, " \t");
    if (start[0] == '\0' || start[0] == '#') {
        *out_key = NULL;
        return true;
    }
    char *equals = strchr(start, '=');
    if (equals == NULL) {
        return false;
    }
    char *key_end = equals;
    while (key_end > start && (key_end[-1] == ' ' || key_end[-1] == '\t')) {
        key_end--;
    }
    *key_end = '\0';
    char *value = equals + 1 + strspn(equals + 1, " \t");
    size_t value_bytes = strlen(value);
    while (value_bytes > 0 && (value[value_bytes - 1] == ' ' || value[value_bytes - 1] == '\t')) {
        value[--value_bytes] = '\0';
    }
    *out_key = start;
    *out_value = value;
    return start[0] != '\0';
}

rill_err
config_load_file(struct broker_config *cfg, const char *path, char *errstr, size_t errstr_bytes)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        int errno_value = errno;
        rill_errstr_set(errstr, errstr_bytes, "%s: %s", path, strerror(errno_value));
        return rill_err_from_errno(errno_value);
    }
    char line[CONFIG_PATH_BYTES_MAX + 512];
    char reason[512];
    rill_err err = RILL_OK;
    /* A line longer than the buffer is read as two lines; the second then fails to parse. */
    for (unsigned line_number = 1; fgets(line, sizeof(line), file) != NULL; line_number++) {
        char *key = NULL;
        char *value = NULL;
        if (!config_line_split(line, &key, &value)) {
            rill_errstr_set(errstr, errstr_bytes, "%s:%u: expected 'key = value'", path,
                            line_number);
            err = RILL_ERR_CONFIG_VALUE;
            break;
        }
        if (key == NULL) {
            continue;
        }
        err = config_set(cfg, key, value, reason, sizeof(reason));
        if (err != RILL_OK) {
            rill_errstr_set(errstr, errstr_bytes, "%s:%u: %s", path, line_number, reason);
            break;
        }
    }
    fclose(file);
    return err;
}

void config_print_help(FILE *stream)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        const struct config_key *key = &config_keys[i];
        fprintf(stream, "  %-20s default %s\n  %-20s %s\n", key->name, key->value_default, "",
                key->help);
    }
}
