/*
 * config.h - the settings of rilld: defaults, `key = value` config files and flags.
 *
 * Every setting has one key, used both in a config file and in --help; flags are shorthands for
 * a few of them. Values are validated when set, so the rest of the broker reads them parsed.
 * Limits from common/limits.h bound what a setting may ask for: config lowers a limit, never
 * raises it.
 */
#ifndef RILL_BROKER_CONFIG_H
#define RILL_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "rill.h"

#define CONFIG_HOST_BYTES_MAX 256u
#define CONFIG_PATH_BYTES_MAX 4096u
#define CONFIG_NAME_BYTES_MAX 256u

struct config_address {
    char host[CONFIG_HOST_BYTES_MAX]; /* numeric address or name, without IPv6 brackets */
    uint16_t port;                    /* 0 asks the kernel for an ephemeral port */
};

struct broker_config {
    struct config_address listen;         /* native protocol */
    struct config_address http;           /* HTTP /metrics and /health (broker/http.h) */
    char data_dir[CONFIG_PATH_BYTES_MAX]; /* created at start when missing */
    int32_t broker_id;                    /* answered in HANDSHAKE */
    char cluster_id[CONFIG_NAME_BYTES_MAX];
    uint32_t connections_max;         /* <= RILL_CONNECTIONS_MAX */
    uint32_t inflight_max;            /* per connection, <= RILL_INFLIGHT_PER_CONN_MAX */
    int64_t idle_timeout_ms;          /* a connection without a request for this long is closed */
    int64_t frame_timeout_ms;         /* a frame started and not complete after this is closed */
    int64_t shutdown_timeout_ms;      /* SIGTERM: connections still open after this are cut */
    uint32_t cores;                   /* event-loop threads (broker.h) */
    bool topic_auto_create;           /* METADATA may create unknown topics */
    int32_t topic_partitions_default; /* partitions of an auto-created topic */
    /* Consumer groups (consumer/group.h, broker/handlers_group.c). */
    int32_t group_session_timeout_min_ms;   /* group.min.session.timeout.ms */
    int32_t group_session_timeout_max_ms;   /* group.max.session.timeout.ms */
    int32_t group_rebalance_timeout_max_ms; /* group.max.rebalance.timeout.ms */
    uint32_t group_members_max;             /* group.max.size: members of one group */
    int64_t group_retention_ms; /* group.retention.ms: empty groups without commits expire */
};

/* The defaults: a broker that runs with no configuration at all. */
void config_init_defaults(struct broker_config *cfg);

/*
 * Sets one setting from text. errstr receives a one-line reason on failure.
 * @return RILL_OK, RILL_ERR_CONFIG_KEY (unknown key) or RILL_ERR_CONFIG_VALUE.
 */
RILL_MUST_CHECK rill_err config_set(struct broker_config *cfg,
                                    const char *key,
                                    const char *value,
                                    char *errstr,
                                    size_t errstr_bytes);

/*
 * Applies a file of `key = value` lines; blank lines and lines starting with '#' are skipped.
 * errstr names the file and line of the first error; nothing after it is applied.
 * @return RILL_OK, RILL_ERR_CONFIG_KEY, RILL_ERR_CONFIG_VALUE, or an I/O error.
 */
RILL_MUST_CHECK rill_err config_load_file(struct broker_config *cfg,
                                          const char *path,
                                          char *errstr,
                                          size_t errstr_bytes);

/* Parses "HOST:PORT" ("[v6]:PORT" for IPv6). @return RILL_OK or RILL_ERR_CONFIG_VALUE. */
RILL_MUST_CHECK rill_err config_parse_address(const char *text, struct config_address *out);

/* Writes the table of settings with their defaults, for --help. */
void config_print_help(FILE *stream);

#endif
