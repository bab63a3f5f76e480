/*
 * conf.h - internal side of rill_conf_t: the key table and typed getters.
 *
 * Every key rill understands is in one table (common/conf.c) with its kind and default, so a
 * key is validated once, when set, and read back already parsed.
 */
#ifndef RILL_COMMON_CONF_H
#define RILL_COMMON_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "rill.h"

/* Which handles understand a key (a bit set): rill_conf_set accepts every known key, a create
 * call refuses set keys outside its scope (conf_check_scope). */
enum conf_scope {
    CONF_SCOPE_LOG = 1u << 0,      /* rill_log_open and topic-level configs */
    CONF_SCOPE_PRODUCER = 1u << 1, /* rill_producer_create */
    CONF_SCOPE_CONSUMER = 1u << 2, /* rill_consumer_create */
    CONF_SCOPE_ADMIN = 1u << 3,    /* rill_admin_create */
    CONF_SCOPE_CLIENT = CONF_SCOPE_PRODUCER | CONF_SCOPE_CONSUMER | CONF_SCOPE_ADMIN,
};

/* Servers in bootstrap.servers. */
#define CONF_SERVERS_MAX 64u
/* Names partition.assignment.strategy may list (each at most once). */
#define CONF_STRATEGIES_MAX 3u

/* Parses "123", "64k", "1m", "2g" (powers of 1024) or "-1" when allow_negative_one. */
RILL_MUST_CHECK rill_err conf_parse_size(const char *text, bool allow_negative_one, int64_t *out);
/* Parses a non-negative integer number of milliseconds, or -1 when allow_negative_one. */
RILL_MUST_CHECK rill_err conf_parse_ms(const char *text, bool allow_negative_one, int64_t *out);

/* The value of key: set in conf (may be NULL) or the table default. NULL for unknown keys. */
const char *conf_value(const rill_conf_t *conf, const char *key);
/* Typed getters over conf_value(); the value was validated when set, defaults are valid. */
int64_t conf_int64(const rill_conf_t *conf, const char *key);
/* A CONF_KIND_BOOL key ("true" / "false"). */
bool conf_bool(const rill_conf_t *conf, const char *key);
/* conf_value() with the client defaults where they differ from the log's (compression: lz4). */
const char *conf_client_value(const rill_conf_t *conf, const char *key);

/* True when key is known and understood by a handle of scope (CONF_SCOPE_* bits). */
bool conf_key_in_scope(const char *key, unsigned scope);
/* RILL_ERR_CONFIG_KEY, with errstr naming the key, when conf sets a key outside scope. */
RILL_MUST_CHECK rill_err conf_check_scope(const rill_conf_t *conf,
                                          unsigned scope,
                                          char *errstr,
                                          size_t errstr_bytes);

/* Takes the next "host:port" of a bootstrap.servers list at *cursor (advanced past it and its
 * comma). host gets a NUL-terminated copy. RILL_ERR_CONFIG_VALUE on bad syntax. */
RILL_MUST_CHECK rill_err conf_server_next(const char **cursor,
                                          char *host,
                                          size_t host_bytes,
                                          uint16_t *out_port);

/* Takes the next strategy name of a partition.assignment.strategy list at *cursor (advanced
 * past it and its comma); *out_name is static storage. RILL_ERR_CONFIG_VALUE for an unknown
 * name or a trailing comma. */
RILL_MUST_CHECK rill_err conf_strategy_next(const char **cursor, const char **out_name);

#endif
