/*
 * conf.c - string key/value configuration, validated against one table of known keys.
 */
#include "common/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/err.h"
#include "common/limits.h"

enum conf_kind {
    CONF_KIND_SIZE,        /* bytes, suffixes k/m/g */
    CONF_KIND_SIZE_OR_OFF, /* bytes or -1 */
    CONF_KIND_MS,          /* milliseconds */
    CONF_KIND_MS_OR_OFF,   /* milliseconds or -1 */
    CONF_KIND_FLUSH,       /* always | interval:<ms> | os */
    CONF_KIND_COMPRESSION, /* none | lz4 */
    CONF_KIND_CLEANUP,     /* delete | compact | compact,delete (log/compact.c) */
    CONF_KIND_COUNT,       /* an integer within [value_min, value_max] (no suffixes) */
    CONF_KIND_BOOL,        /* true | false */
    CONF_KIND_ACKS,        /* 0 | 1 | all | -1 */
    CONF_KIND_SERVERS,     /* host:port[,host:port...] */
    CONF_KIND_NAME,        /* 1..255 printable ASCII bytes */
    CONF_KIND_RESET,       /* earliest | latest | error (auto.offset.reset) */
    CONF_KIND_STRATEGIES,  /* comma list of sticky, range, roundrobin without repeats */
};

struct conf_key {
    const char *name;
    enum conf_kind kind;
    const char *value_default;
    int64_t value_min; /* for sizes and durations */
    int64_t value_max;
    unsigned scope; /* CONF_SCOPE_* bits: the handles that understand the key */
};

static const struct conf_key conf_keys[] = {
    /* partition logs (rill_log_open) and topics */
    { "flush", CONF_KIND_FLUSH, "always", 0, 0, CONF_SCOPE_LOG },
    { "segment.bytes", CONF_KIND_SIZE, "1g", RILL_SEGMENT_BYTES_MIN,
      (int64_t)RILL_SEGMENT_BYTES_MAX, CONF_SCOPE_LOG },
    /* zeros written ahead of the active segment's data end, flush=always only (log/partition.c) */
    { "segment.preallocate.bytes", CONF_KIND_SIZE, "8m", 0, (int64_t)RILL_PREALLOC_BYTES_MAX,
      CONF_SCOPE_LOG },
    { "segment.ms", CONF_KIND_MS, "604800000", 1, INT64_MAX / 2, CONF_SCOPE_LOG },
    { "retention.bytes", CONF_KIND_SIZE_OR_OFF, "-1", 0, INT64_MAX / 2, CONF_SCOPE_LOG },
    { "retention.ms", CONF_KIND_MS_OR_OFF, "604800000", 0, INT64_MAX / 2, CONF_SCOPE_LOG },
    { "index.interval.bytes", CONF_KIND_SIZE, "4096", RILL_INDEX_INTERVAL_BYTES_MIN,
      RILL_BATCH_BYTES_MAX, CONF_SCOPE_LOG },
    /* The log's default is "none"; a producer's is "lz4" (conf_client_value). */
    { "compression", CONF_KIND_COMPRESSION, "none", 0, 0, CONF_SCOPE_LOG | CONF_SCOPE_PRODUCER },
    { "max.batch.bytes", CONF_KIND_SIZE, "1m", 1024, RILL_BATCH_BYTES_MAX, CONF_SCOPE_LOG },
    { "cleanup.policy", CONF_KIND_CLEANUP, "delete", 0, 0, CONF_SCOPE_LOG },
    /* compaction (log/compact.c): tombstone lifetime and the cleaner's key map bound */
    { "delete.retention.ms", CONF_KIND_MS, "86400000", 0, INT64_MAX / 2, CONF_SCOPE_LOG },
    { "compaction.map.bytes", CONF_KIND_SIZE, "16m", 4096, (int64_t)4 << 30, CONF_SCOPE_LOG },
    /* every client handle */
    { "bootstrap.servers", CONF_KIND_SERVERS, "127.0.0.1:9700", 0, 0, CONF_SCOPE_CLIENT },
    { "client.id", CONF_KIND_NAME, "rill", 0, 0, CONF_SCOPE_CLIENT },
    { "request.timeout.ms", CONF_KIND_MS, "30000", 1, 3600000, CONF_SCOPE_CLIENT },
    { "connect.timeout.ms", CONF_KIND_MS, "10000", 1, 3600000, CONF_SCOPE_CLIENT },
    { "retry.backoff.ms", CONF_KIND_MS, "100", 0, 3600000, CONF_SCOPE_CLIENT },
    { "retry.backoff.max.ms", CONF_KIND_MS, "1000", 0, 3600000, CONF_SCOPE_CLIENT },
    { "metadata.max.age.ms", CONF_KIND_MS, "300000", 1, INT32_MAX, CONF_SCOPE_CLIENT },
    /* producer */
    { "acks", CONF_KIND_ACKS, "all", 0, 0, CONF_SCOPE_PRODUCER },
    { "linger.ms", CONF_KIND_MS, "1", 0, 3600000, CONF_SCOPE_PRODUCER },
    { "batch.bytes", CONF_KIND_SIZE, "1m", 1024, RILL_BATCH_BYTES_MAX, CONF_SCOPE_PRODUCER },
    { "enable.idempotence", CONF_KIND_BOOL, "true", 0, 0, CONF_SCOPE_PRODUCER },
    { "delivery.timeout.ms", CONF_KIND_MS, "120000", 1, INT32_MAX, CONF_SCOPE_PRODUCER },
    { "queue.records.max", CONF_KIND_COUNT, "1000000", 1, 100000000, CONF_SCOPE_PRODUCER },
    { "queue.bytes.max", CONF_KIND_SIZE, "64m", 1024, (int64_t)1 << 40, CONF_SCOPE_PRODUCER },
    { "max.inflight.per.partition", CONF_KIND_COUNT, "5", 1, 5, CONF_SCOPE_PRODUCER },
    /* consumer */
    { "fetch.max.wait.ms", CONF_KIND_MS, "500", 0, RILL_FETCH_WAIT_MS_MAX, CONF_SCOPE_CONSUMER },
    { "fetch.min.bytes", CONF_KIND_SIZE, "1", 0, INT32_MAX, CONF_SCOPE_CONSUMER },
    { "fetch.max.bytes", CONF_KIND_SIZE, "50m", 1024, RILL_FRAME_BYTES_MAX / 2,
      CONF_SCOPE_CONSUMER },
    { "max.partition.fetch.bytes", CONF_KIND_SIZE, "1m", 1024, RILL_FRAME_BYTES_MAX / 2,
      CONF_SCOPE_CONSUMER },
    { "enable.partition.eof", CONF_KIND_BOOL, "false", 0, 0, CONF_SCOPE_CONSUMER },
    /* consumer groups (client/group.c) */
    { "enable.auto.commit", CONF_KIND_BOOL, "true", 0, 0, CONF_SCOPE_CONSUMER },
    { "auto.commit.interval.ms", CONF_KIND_MS, "5000", 1, INT32_MAX, CONF_SCOPE_CONSUMER },
    { "auto.offset.reset", CONF_KIND_RESET, "latest", 0, 0, CONF_SCOPE_CONSUMER },
    { "session.timeout.ms", CONF_KIND_MS, "10000", 1, INT32_MAX, CONF_SCOPE_CONSUMER },
    { "rebalance.timeout.ms", CONF_KIND_MS, "30000", 1, INT32_MAX, CONF_SCOPE_CONSUMER },
    { "partition.assignment.strategy", CONF_KIND_STRATEGIES, "sticky,range,roundrobin", 0, 0,
      CONF_SCOPE_CONSUMER },
};

struct conf_entry {
    const struct conf_key *key;
    char *value;
};

struct rill_conf {
    struct conf_entry entries[RILL_ARRAY_COUNT(conf_keys)];
};

_Static_assert(RILL_ARRAY_COUNT(conf_keys) <= RILL_CONF_ENTRIES_MAX, "conf table bound");

static const struct conf_key *conf_key_find(const char *name)
{
    for (size_t i = 0; i < RILL_ARRAY_COUNT(conf_keys); i++) {
        if (strcmp(conf_keys[i].name, name) == 0) {
            return &conf_keys[i];
        }
    }
    return NULL;
}

rill_err conf_parse_size(const char *text, bool allow_negative_one, int64_t *out)
{
    if (allow_negative_one && strcmp(text, "-1") == 0) {
        *out = -1;
        return RILL_OK;
    }
    if (text[0] < '0' || text[0] > '9') {
        return RILL_ERR_CONFIG_VALUE;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text) {
        return RILL_ERR_CONFIG_VALUE;
    }
    unsigned shift = 0;
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
        return RILL_ERR_CONFIG_VALUE;
    }
    if (shift != 0 && end[1] != '\0') {
        return RILL_ERR_CONFIG_VALUE;
    }
    if (value > ((unsigned long long)INT64_MAX >> shift)) {
        return RILL_ERR_CONFIG_VALUE;
    }
    *out = (int64_t)(value << shift);
    return RILL_OK;
}

rill_err conf_parse_ms(const char *text, bool allow_negative_one, int64_t *out)
{
    if (allow_negative_one && strcmp(text, "-1") == 0) {
        *out = -1;
        return RILL_OK;
    }
    if (text[0] < '0' || text[0] > '9') {
        return RILL_ERR_CONFIG_VALUE;
    }
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return RILL_ERR_CONFIG_VALUE;
    }
    *out = value;
    return RILL_OK;
}

static rill_err conf_validate_number(const struct conf_key *key, const char *value)
{
    int64_t number = 0;
    rill_err err;
    switch (key->kind) {
    case CONF_KIND_SIZE:
    case CONF_KIND_SIZE_OR_OFF:
        err = conf_parse_size(value, key->kind == CONF_KIND_SIZE_OR_OFF, &number);
        break;
    default:
        err = conf_parse_ms(value, key->kind == CONF_KIND_MS_OR_OFF, &number);
        break;
    }
    if (err != RILL_OK) {
        return err;
    }
    if (number == -1 && (key->kind == CONF_KIND_SIZE_OR_OFF || key->kind == CONF_KIND_MS_OR_OFF)) {
        return RILL_OK;
    }
    return number < key->value_min || number > key->value_max ? RILL_ERR_CONFIG_VALUE : RILL_OK;
}

rill_err conf_server_next(const char **cursor, char *host, size_t host_bytes, uint16_t *out_port)
{
    const char *start = *cursor;
    const char *end = strchr(start, ',');
    if (end == NULL) {
        end = start + strlen(start);
    }
    const char *colon = NULL;
    for (const char *p = start; p < end; p++) {
        if (*p == ':') {
            colon = p;
        }
    }
    if (colon == NULL || colon == start || (size_t)(colon - start) >= host_bytes) {
        return RILL_ERR_CONFIG_VALUE;
    }
    int64_t port = 0;
    const char *digit = colon + 1;
    if (digit == end) {
        return RILL_ERR_CONFIG_VALUE;
    }
    for (; digit < end; digit++) {
        if (*digit < '0' || *digit > '9' || port > 65535) {
            return RILL_ERR_CONFIG_VALUE;
        }
        port = port * 10 + (*digit - '0');
    }
    if (port < 1 || port > 65535) {
        return RILL_ERR_CONFIG_VALUE;
    }
    for (const char *p = start; p < colon; p++) {
        if (*p <= ' ' || *p > '~') {
            return RILL_ERR_CONFIG_VALUE;
        }
    }
    memcpy(host, start, (size_t)(colon - start));
    host[colon - start] = '\0';
    *out_port = (uint16_t)port;
    *cursor = *end == ',' ? end + 1 : end;
    return RILL_OK;
}

static rill_err conf_validate_servers(const char *value)
{
    char host[256];
    uint16_t port;
    const char *cursor = value;
    unsigned count = 0;
    while (*cursor != '\0') {
        if (conf_server_next(&cursor, host, sizeof(host), &port) != RILL_OK) {
            return RILL_ERR_CONFIG_VALUE;
        }
        count++;
    }
    return count > 0 && count <= CONF_SERVERS_MAX ? RILL_OK : RILL_ERR_CONFIG_VALUE;
}

static rill_err conf_validate_name(const char *value)
{
    size_t bytes = strlen(value);
    if (bytes == 0 || bytes > 255) {
        return RILL_ERR_CONFIG_VALUE;
    }
    for (size_t i = 0; i < bytes; i++) {
        if (value[i] < ' ' || value[i] > '~') {
            return RILL_ERR_CONFIG_VALUE;
        }
    }
    return RILL_OK;
}

rill_err conf_strategy_next(const char **cursor, const char **out_name)
{
    static const char *const names[] = { "sticky", "range", "roundrobin" };
    const char *start = *cursor;
    const char *end = strchr(start, ',');
    size_t bytes = end != NULL ? (size_t)(end - start) : strlen(start);
    for (size_t i = 0; i < RILL_ARRAY_COUNT(names); i++) {
        if (strlen(names[i]) == bytes && strncmp(names[i], start, bytes) == 0) {
            *out_name = names[i];
            *cursor = end != NULL ? end + 1 : start + bytes;
            return end != NULL && end[1] == '\0' ? RILL_ERR_CONFIG_VALUE : RILL_OK;
        }
    }
    return RILL_ERR_CONFIG_VALUE;
}

static rill_err conf_validate_strategies(const char *value)
{
    const char *seen[CONF_STRATEGIES_MAX];
    size_t count = 0;
    const char *cursor = value;
    while (*cursor != '\0') {
        const char *name = NULL;
        if (conf_strategy_next(&cursor, &name) != RILL_OK) {
            return RILL_ERR_CONFIG_VALUE;
        }
        for (size_t i = 0; i < count; i++) {
            if (seen[i] == name) {
                return RILL_ERR_CONFIG_VALUE; /* a repeated name says nothing more */
            }
        }
        seen[count++] = name; /* three names, no repeats: never more than the array */
    }
    return count > 0 ? RILL_OK : RILL_ERR_CONFIG_VALUE;
}

static rill_err conf_validate(const struct conf_key *key, const char *value)
{
    int64_t interval_ms = 0;
    switch (key->kind) {
    case CONF_KIND_BOOL:
        return strcmp(value, "true") == 0 || strcmp(value, "false") == 0 ? RILL_OK
                                                                         : RILL_ERR_CONFIG_VALUE;
    case CONF_KIND_ACKS:
        return strcmp(value, "0") == 0 || strcmp(value, "1") == 0 || strcmp(value, "all") == 0 ||
                       strcmp(value, "-1") == 0
                   ? RILL_OK
                   : RILL_ERR_CONFIG_VALUE;
    case CONF_KIND_SERVERS:
        return conf_validate_servers(value);
    case CONF_KIND_NAME:
        return conf_validate_name(value);
    case CONF_KIND_RESET:
        return strcmp(value, "earliest") == 0 || strcmp(value, "latest") == 0 ||
                       strcmp(value, "error") == 0
                   ? RILL_OK
                   : RILL_ERR_CONFIG_VALUE;
    case CONF_KIND_STRATEGIES:
        return conf_validate_strategies(value);
    case CONF_KIND_FLUSH:
        if (strcmp(value, "always") == 0 || strcmp(value, "os") == 0) {
            return RILL_OK;
        }
        if (strncmp(value, "interval:", 9) == 0 &&
            conf_parse_ms(value + 9, false, &interval_ms) == RILL_OK && interval_ms >= 1) {
            return RILL_OK;
        }
        return RILL_ERR_CONFIG_VALUE;
    case CONF_KIND_COMPRESSION:
        return strcmp(value, "none") == 0 || strcmp(value, "lz4") == 0 ? RILL_OK
                                                                       : RILL_ERR_CONFIG_VALUE;
    case CONF_KIND_CLEANUP:
        return strcmp(value, "delete") == 0 || strcmp(value, "compact") == 0 ||
                       strcmp(value, "compact,delete") == 0 || strcmp(value, "delete,compact") == 0
                   ? RILL_OK
                   : RILL_ERR_CONFIG_VALUE;
    default:
        return conf_validate_number(key, value);
    }
}

static const char *conf_kind_hint(enum conf_kind kind)
{
    switch (kind) {
    case CONF_KIND_SIZE:
        return "a size in bytes (suffix k, m or g allowed)";
    case CONF_KIND_SIZE_OR_OFF:
        return "a size in bytes (suffix k, m or g allowed) or -1";
    case CONF_KIND_MS:
        return "milliseconds";
    case CONF_KIND_MS_OR_OFF:
        return "milliseconds or -1";
    case CONF_KIND_FLUSH:
        return "always, os or interval:<ms>";
    case CONF_KIND_COMPRESSION:
        return "none or lz4";
    case CONF_KIND_CLEANUP:
        return "delete, compact or compact,delete";
    case CONF_KIND_COUNT:
        return "an integer in range";
    case CONF_KIND_BOOL:
        return "true or false";
    case CONF_KIND_ACKS:
        return "0, 1 or all";
    case CONF_KIND_SERVERS:
        return "host:port[,host:port...]";
    case CONF_KIND_NAME:
        return "1 to 255 printable ASCII characters";
    case CONF_KIND_RESET:
        return "earliest, latest or error";
    case CONF_KIND_STRATEGIES:
        return "a comma list of sticky, range and roundrobin";
    }
    return "";
}

rill_conf_t *rill_conf_create(void)
{
    return calloc(1, sizeof(struct rill_conf));
}

void rill_conf_destroy(rill_conf_t *conf)
{
    if (conf == NULL) {
        return;
    }
    for (size_t i = 0; i < RILL_ARRAY_COUNT(conf_keys); i++) {
        free(conf->entries[i].value);
    }
    free(conf);
}

rill_err rill_conf_set(
    rill_conf_t *conf, const char *key, const char *value, char *errstr, size_t errstr_bytes)
{
    if (conf == NULL || key == NULL || value == NULL) {
        rill_errstr_set(errstr, errstr_bytes, "missing configuration key or value");
        return RILL_ERR_INVALID;
    }
    const struct conf_key *entry_key = conf_key_find(key);
    if (entry_key == NULL) {
        rill_errstr_set(errstr, errstr_bytes, "unknown configuration key \"%s\"", key);
        return RILL_ERR_CONFIG_KEY;
    }
    if (strlen(value) >= RILL_CONF_VALUE_BYTES_MAX || conf_validate(entry_key, value) != RILL_OK) {
        rill_errstr_set(errstr, errstr_bytes, "invalid value \"%.64s\" for %s: expected %s", value,
                        key, conf_kind_hint(entry_key->kind));
        return RILL_ERR_CONFIG_VALUE;
    }
    char *copy = strdup(value);
    if (copy == NULL) {
        return RILL_ERR_NOMEM;
    }
    struct conf_entry *entry = &conf->entries[entry_key - conf_keys];
    free(entry->value);
    entry->key = entry_key;
    entry->value = copy;
    return RILL_OK;
}

const char *rill_conf_get(const rill_conf_t *conf, const char *key)
{
    const struct conf_key *entry_key = key != NULL ? conf_key_find(key) : NULL;
    if (conf == NULL || entry_key == NULL) {
        return NULL;
    }
    return conf->entries[entry_key - conf_keys].value;
}

const char *conf_value(const rill_conf_t *conf, const char *key)
{
    const struct conf_key *entry_key = conf_key_find(key);
    if (entry_key == NULL) {
        return NULL;
    }
    const char *value = conf != NULL ? conf->entries[entry_key - conf_keys].value : NULL;
    return value != NULL ? value : entry_key->value_default;
}

int64_t conf_int64(const rill_conf_t *conf, const char *key)
{
    const struct conf_key *entry_key = conf_key_find(key);
    RILL_ASSERT(entry_key != NULL);
    const char *value = conf_value(conf, key);
    int64_t number = 0;
    rill_err err;
    if (entry_key->kind == CONF_KIND_SIZE || entry_key->kind == CONF_KIND_SIZE_OR_OFF) {
        err = conf_parse_size(value, true, &number);
    } else {
        err = conf_parse_ms(value, true, &number);
    }
    RILL_ASSERT(err == RILL_OK);
    return number;
}

bool conf_bool(const rill_conf_t *conf, const char *key)
{
    const char *value = conf_value(conf, key);
    RILL_ASSERT(value != NULL);
    return strcmp(value, "true") == 0;
}

const char *conf_client_value(const rill_conf_t *conf, const char *key)
{
    const char *value = rill_conf_get(conf, key);
    if (value == NULL && strcmp(key, "compression") == 0) {
        return "lz4"; /* producers compress by default, logs do not */
    }
    return value != NULL ? value : conf_value(conf, key);
}

bool conf_key_in_scope(const char *key, unsigned scope)
{
    const struct conf_key *entry_key = conf_key_find(key);
    return entry_key != NULL && (entry_key->scope & scope) != 0;
}

rill_err
conf_check_scope(const rill_conf_t *conf, unsigned scope, char *errstr, size_t errstr_bytes)
{
    if (conf == NULL) {
        return RILL_OK;
    }
    for (size_t i = 0; i < RILL_ARRAY_COUNT(conf_keys); i++) {
        if (conf->entries[i].value != NULL && (conf_keys[i].scope & scope) == 0) {
            rill_errstr_set(errstr, errstr_bytes,
                            "configuration key \"%s\" does not apply to this kind of handle",
                            conf_keys[i].name);
            return RILL_ERR_CONFIG_KEY;
        }
    }
    return RILL_OK;
}
