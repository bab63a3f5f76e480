/*
 * meta.c - the topic metadata state machine: state, validation before a record is written,
 * and the pure apply that every record goes through, both when it is written and at replay.
 *
 * Invariants of struct meta_state: topics sorted by name with unique names, at most
 * RILL_TOPICS_MAX of them; each topic's configs sorted by key with unique keys, at most
 * META_TOPIC_CONFIGS_MAX; producer_id_block_end only grows; version counts applied records.
 * Validation is strict (the key table decides through rill_conf_set); apply only checks what
 * keeps the state consistent, because it also replays records written by other versions.
 */
#include "broker/meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/err.h"
#include "common/conf.h"

/* ---- state ---- */

void meta_state_init(struct meta_state *state)
{
    memset(state, 0, sizeof(*state));
}

static void topic_free(struct meta_topic *topic)
{
    if (topic == NULL) {
        return;
    }
    for (uint32_t i = 0; i < topic->config_count; i++) {
        free(topic->configs[i].key);
        free(topic->configs[i].value);
    }
    free(topic);
}

void meta_state_deinit(struct meta_state *state)
{
    for (uint32_t i = 0; i < state->topic_count; i++) {
        topic_free(state->topics[i]);
    }
    free(state->topics);
    memset(state, 0, sizeof(*state));
}

/* Binary search by name: true when found; *out_index is its index or its insertion point. */
static bool topic_search(const struct meta_state *state, const char *name, uint32_t *out_index)
{
    uint32_t low = 0, high = state->topic_count;
    while (low < high) {
        uint32_t mid = low + (high - low) / 2;
        int cmp = strcmp(state->topics[mid]->name, name);
        if (cmp == 0) {
            *out_index = mid;
            return true;
        }
        if (cmp < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    *out_index = low;
    return false;
}

const struct meta_topic *meta_topic_find(const struct meta_state *state, const char *name)
{
    uint32_t index;
    return name != NULL && topic_search(state, name, &index) ? state->topics[index] : NULL;
}

const struct meta_topic *meta_topic_at(const struct meta_state *state, uint32_t index)
{
    RILL_ASSERT(index < state->topic_count);
    return state->topics[index];
}

static bool topic_equal(const struct meta_topic *a, const struct meta_topic *b)
{
    if (strcmp(a->name, b->name) != 0 || a->partition_count != b->partition_count ||
        a->created_version != b->created_version || a->config_count != b->config_count) {
        return false;
    }
    for (uint32_t i = 0; i < a->config_count; i++) {
        if (strcmp(a->configs[i].key, b->configs[i].key) != 0 ||
            strcmp(a->configs[i].value, b->configs[i].value) != 0) {
            return false;
        }
    }
    return true;
}

bool meta_state_equal(const struct meta_state *a, const struct meta_state *b)
{
    if (a->topic_count != b->topic_count || a->version != b->version ||
        a->producer_id_block_end != b->producer_id_block_end) {
        return false;
    }
    for (uint32_t i = 0; i < a->topic_count; i++) {
        if (!topic_equal(a->topics[i], b->topics[i])) {
            return false;
        }
    }
    return true;
}

/* ---- topic configs ---- */

/* Index of key in the sorted configs, or its insertion point; true when present. */
static bool config_search(const struct meta_topic *topic, const char *key, uint32_t *out_index)
{
    uint32_t index = 0;
    while (index < topic->config_count && strcmp(topic->configs[index].key, key) < 0) {
        index++;
    }
    *out_index = index;
    return index < topic->config_count && strcmp(topic->configs[index].key, key) == 0;
}

/* Sets (value != NULL) or removes (value == NULL) one config, keeping the keys sorted. */
static rill_err config_apply(struct meta_topic *topic, const char *key, const char *value)
{
    uint32_t index;
    bool found = config_search(topic, key, &index);
    struct meta_topic_config *config = &topic->configs[index];
    if (value == NULL) {
        if (found) {
            free(config->key);
            free(config->value);
            memmove(config, config + 1, (topic->config_count - index - 1) * sizeof(*config));
            topic->config_count--;
        }
        return RILL_OK;
    }
    char *value_copy = strdup(value);
    if (value_copy == NULL) {
        return RILL_ERR_NOMEM;
    }
    if (found) {
        free(config->value);
        config->value = value_copy;
        return RILL_OK;
    }
    char *key_copy = strdup(key);
    if (key_copy == NULL || topic->config_count == META_TOPIC_CONFIGS_MAX) {
        free(key_copy);
        free(value_copy);
        return key_copy == NULL ? RILL_ERR_NOMEM : RILL_ERR_FULL;
    }
    memmove(config + 1, config, (topic->config_count - index) * sizeof(*config));
    *config = (struct meta_topic_config){ .key = key_copy, .value = value_copy };
    topic->config_count++;
    return RILL_OK;
}

/* Applies a record's configs to topic in record order (a later entry for a key wins). */
static rill_err configs_apply(struct meta_topic *topic, const struct meta_record *rec)
{
    RILL_ASSERT(rec->config_count <= META_TOPIC_CONFIGS_MAX);
    for (uint32_t i = 0; i < rec->config_count; i++) {
        if (rec->configs[i].key == NULL) {
            return RILL_ERR_INVALID;
        }
        rill_err err = config_apply(topic, rec->configs[i].key, rec->configs[i].value);
        if (err != RILL_OK) {
            return err;
        }
    }
    return RILL_OK;
}

static struct meta_topic *topic_copy(const struct meta_topic *topic)
{
    struct meta_topic *copy = calloc(1, sizeof(*copy));
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy->name, topic->name, sizeof(copy->name));
    copy->partition_count = topic->partition_count;
    copy->created_version = topic->created_version;
    for (uint32_t i = 0; i < topic->config_count; i++) {
        if (config_apply(copy, topic->configs[i].key, topic->configs[i].value) != RILL_OK) {
            topic_free(copy);
            return NULL;
        }
    }
    return copy;
}

const char *meta_topic_config_value(const struct meta_topic *topic, const char *key)
{
    uint32_t index;
    if (config_search(topic, key, &index)) {
        return topic->configs[index].value;
    }
    return conf_value(NULL, key);
}

rill_err meta_topic_log_config(const struct meta_topic *topic, struct log_config *out_cfg)
{
    rill_conf_t *conf = rill_conf_create();
    if (conf == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < topic->config_count; i++) {
        /* A key or value this version refuses (written by another version) leaves the default
         * in place: the topic stays usable, which beats refusing to serve it. */
        rill_err err = rill_conf_set(conf, topic->configs[i].key, topic->configs[i].value, NULL, 0);
        if (err == RILL_ERR_NOMEM) {
            rill_conf_destroy(conf);
            return err;
        }
    }
    log_config_from_conf(out_cfg, conf);
    rill_conf_destroy(conf);
    return RILL_OK;
}

/* ---- apply ---- */

static rill_err apply_created(struct meta_state *state, const struct meta_record *rec)
{
    uint32_t index;
    if (rec->name == NULL || rec->partition_count < 1 ||
        rec->partition_count > RILL_PARTITIONS_MAX ||
        meta_validate_topic_name(rec->name, strnlen(rec->name, RILL_TOPIC_NAME_BYTES_MAX + 1),
                                 true) != RILL_OK) {
        return RILL_ERR_INVALID;
    }
    for (uint32_t i = 0; i < rec->config_count; i++) {
        /* A creation sets values only: a reset entry means the record is malformed. */
        if (rec->configs[i].value == NULL) {
            return RILL_ERR_INVALID;
        }
    }
    if (topic_search(state, rec->name, &index)) {
        return RILL_ERR_EXISTS;
    }
    if (state->topic_count >= RILL_TOPICS_MAX) {
        return RILL_ERR_FULL;
    }
    if (state->topic_count == state->topic_capacity) {
        uint32_t capacity = state->topic_capacity == 0 ? 16 : state->topic_capacity * 2;
        struct meta_topic **topics = realloc(state->topics, capacity * sizeof(*topics));
        if (topics == NULL) {
            return RILL_ERR_NOMEM;
        }
        state->topics = topics;
        state->topic_capacity = capacity;
    }
    struct meta_topic *topic = calloc(1, sizeof(*topic));
    if (topic == NULL) {
        return RILL_ERR_NOMEM;
    }
    memcpy(topic->name, rec->name, strlen(rec->name) + 1);
    topic->partition_count = rec->partition_count;
    topic->created_version = state->version + 1;
    rill_err err = configs_apply(topic, rec);
    if (err != RILL_OK) {
        topic_free(topic);
        return err;
    }
    memmove(&state->topics[index + 1], &state->topics[index],
            (state->topic_count - index) * sizeof(state->topics[0]));
    state->topics[index] = topic;
    state->topic_count++;
    return RILL_OK;
}

static rill_err apply_config_changed(struct meta_state *state, const struct meta_record *rec)
{
    uint32_t index;
    if (rec->name == NULL || !topic_search(state, rec->name, &index)) {
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    /* Changed on a copy and swapped in, so that a failure half way leaves the state as it was. */
    struct meta_topic *copy = topic_copy(state->topics[index]);
    if (copy == NULL) {
        return RILL_ERR_NOMEM;
    }
    rill_err err = configs_apply(copy, rec);
    if (err != RILL_OK) {
        topic_free(copy);
        return err;
    }
    topic_free(state->topics[index]);
    state->topics[index] = copy;
    return RILL_OK;
}

static rill_err apply_deleted(struct meta_state *state, const struct meta_record *rec)
{
    uint32_t index;
    if (rec->name == NULL || !topic_search(state, rec->name, &index)) {
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    topic_free(state->topics[index]);
    memmove(&state->topics[index], &state->topics[index + 1],
            (state->topic_count - index - 1) * sizeof(state->topics[0]));
    state->topic_count--;
    return RILL_OK;
}

static rill_err apply_producer_id_block(struct meta_state *state, const struct meta_record *rec)
{
    if (rec->producer_id_block_end <= state->producer_id_block_end) {
        return RILL_ERR_INVALID;
    }
    /* The new block starts where the old one ended; ids before it may have been handed out. */
    if (state->producer_id_next < state->producer_id_block_end) {
        state->producer_id_next = state->producer_id_block_end;
    }
    state->producer_id_block_end = rec->producer_id_block_end;
    return RILL_OK;
}

rill_err meta_apply(struct meta_state *state, const struct meta_record *rec)
{
    RILL_ASSERT(state->topic_count <= state->topic_capacity);
    rill_err err;
    switch (rec->type) {
    case META_RECORD_TOPIC_CREATED:
        err = apply_created(state, rec);
        break;
    case META_RECORD_CONFIG_CHANGED:
        err = apply_config_changed(state, rec);
        break;
    case META_RECORD_TOPIC_DELETED:
        err = apply_deleted(state, rec);
        break;
    case META_RECORD_PRODUCER_ID_BLOCK:
        err = apply_producer_id_block(state, rec);
        break;
    default:
        err = RILL_ERR_INVALID;
        break;
    }
    if (err == RILL_OK) {
        state->version++;
    }
    return err;
}

/* ---- validation ---- */

rill_err meta_validate_topic_name(const char *name, size_t name_bytes, bool internal)
{
    if (name_bytes < 1 || name_bytes > RILL_TOPIC_NAME_BYTES_MAX) {
        return RILL_ERR_INVALID_TOPIC;
    }
    for (size_t i = 0; i < name_bytes; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return RILL_ERR_INVALID_TOPIC;
        }
    }
    if ((name_bytes == 1 && name[0] == '.') ||
        (name_bytes == 2 && name[0] == '.' && name[1] == '.')) {
        return RILL_ERR_INVALID_TOPIC;
    }
    if (!internal && name_bytes >= 2 && name[0] == '_' && name[1] == '_') {
        return RILL_ERR_INVALID_TOPIC;
    }
    return RILL_OK;
}

static rill_err validate_name(const struct meta_record *rec, char *errstr, size_t errstr_bytes)
{
    size_t name_bytes = rec->name != NULL ? strnlen(rec->name, RILL_TOPIC_NAME_BYTES_MAX + 1) : 0;
    rill_err err = meta_validate_topic_name(rec->name, name_bytes, rec->internal);
    if (err != RILL_OK) {
        rill_errstr_set(errstr, errstr_bytes,
                        "invalid topic name \"%.64s\": 1-%u bytes of [a-zA-Z0-9._-], not \".\" or "
                        "\"..\", no \"__\" prefix (reserved for internal topics)",
                        rec->name != NULL ? rec->name : "", RILL_TOPIC_NAME_BYTES_MAX);
    }
    return err;
}

/* Each config through rill_conf_set on a scratch conf: the one key table decides. */
static rill_err
validate_configs(const struct meta_record *rec, bool allow_reset, char *errstr, size_t errstr_bytes)
{
    if (rec->config_count > META_TOPIC_CONFIGS_MAX) {
        rill_errstr_set(errstr, errstr_bytes, "more than %u configs", META_TOPIC_CONFIGS_MAX);
        return RILL_ERR_INVALID_REQUEST;
    }
    rill_conf_t *scratch = rill_conf_create();
    if (scratch == NULL) {
        return RILL_ERR_NOMEM;
    }
    rill_err err = RILL_OK;
    for (uint32_t i = 0; i < rec->config_count && err == RILL_OK; i++) {
        const struct meta_config *config = &rec->configs[i];
        if (config->key == NULL) {
            err = RILL_ERR_CONFIG_KEY;
            rill_errstr_set(errstr, errstr_bytes, "missing configuration key");
            break;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(rec->configs[j].key, config->key) == 0) {
                err = RILL_ERR_INVALID_REQUEST;
                rill_errstr_set(errstr, errstr_bytes, "configuration key \"%.64s\" given twice",
                                config->key);
                break;
            }
        }
        if (err == RILL_OK && !conf_key_in_scope(config->key, CONF_SCOPE_LOG)) {
            /* The key table also holds client keys (acks, linger.ms...): not topic configs. */
            err = RILL_ERR_CONFIG_KEY;
            rill_errstr_set(errstr, errstr_bytes, "\"%.64s\" is not a topic configuration key",
                            config->key);
        } else if (err == RILL_OK && config->value != NULL) {
            err = rill_conf_set(scratch, config->key, config->value, errstr, errstr_bytes);
        } else if (err == RILL_OK && (!allow_reset || conf_value(NULL, config->key) == NULL)) {
            err = allow_reset ? RILL_ERR_CONFIG_KEY : RILL_ERR_CONFIG_VALUE;
            rill_errstr_set(errstr, errstr_bytes, "cannot reset \"%.64s\"", config->key);
        }
    }
    rill_conf_destroy(scratch);
    return err;
}

static rill_err validate_created(const struct meta_state *state,
                                 const struct meta_record *rec,
                                 char *errstr,
                                 size_t errstr_bytes)
{
    rill_err err = validate_name(rec, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    if (meta_topic_find(state, rec->name) != NULL) {
        rill_errstr_set(errstr, errstr_bytes, "topic \"%s\" already exists", rec->name);
        return RILL_ERR_EXISTS;
    }
    if (state->topic_count >= RILL_TOPICS_MAX) {
        rill_errstr_set(errstr, errstr_bytes, "the cluster holds %u topics already",
                        RILL_TOPICS_MAX);
        return RILL_ERR_FULL;
    }
    if (rec->partition_count < 1 || rec->partition_count > RILL_PARTITIONS_MAX) {
        rill_errstr_set(errstr, errstr_bytes, "partitions must be 1..%d, not %d",
                        RILL_PARTITIONS_MAX, (int)rec->partition_count);
        return RILL_ERR_INVALID_PARTITIONS;
    }
    return validate_configs(rec, false, errstr, errstr_bytes);
}

/* The topic must exist; its configs after the change must fit the bound. */
static rill_err validate_config_changed(const struct meta_state *state,
                                        const struct meta_record *rec,
                                        char *errstr,
                                        size_t errstr_bytes)
{
    const struct meta_topic *topic = meta_topic_find(state, rec->name);
    if (topic == NULL) {
        rill_errstr_set(errstr, errstr_bytes, "unknown topic \"%.64s\"",
                        rec->name ? rec->name : "");
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    rill_err err = validate_configs(rec, true, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    uint32_t count = topic->config_count, index;
    for (uint32_t i = 0; i < rec->config_count; i++) {
        count +=
            rec->configs[i].value != NULL && !config_search(topic, rec->configs[i].key, &index);
    }
    if (count > META_TOPIC_CONFIGS_MAX) {
        rill_errstr_set(errstr, errstr_bytes, "more than %u configs", META_TOPIC_CONFIGS_MAX);
        return RILL_ERR_FULL;
    }
    return RILL_OK;
}

static rill_err validate_deleted(const struct meta_state *state,
                                 const struct meta_record *rec,
                                 char *errstr,
                                 size_t errstr_bytes)
{
    if (meta_topic_find(state, rec->name) == NULL) {
        rill_errstr_set(errstr, errstr_bytes, "unknown topic \"%.64s\"",
                        rec->name ? rec->name : "");
        return RILL_ERR_UNKNOWN_TOPIC;
    }
    /* Internal topics exist for the broker's own use: only the broker deletes them. */
    return validate_name(rec, errstr, errstr_bytes);
}

rill_err meta_validate(const struct meta_state *state,
                       const struct meta_record *rec,
                       char *errstr,
                       size_t errstr_bytes)
{
    switch (rec->type) {
    case META_RECORD_TOPIC_CREATED:
        return validate_created(state, rec, errstr, errstr_bytes);
    case META_RECORD_CONFIG_CHANGED:
        return validate_config_changed(state, rec, errstr, errstr_bytes);
    case META_RECORD_TOPIC_DELETED:
        return validate_deleted(state, rec, errstr, errstr_bytes);
    case META_RECORD_PRODUCER_ID_BLOCK:
        if (rec->producer_id_block_end <= state->producer_id_block_end) {
            rill_errstr_set(errstr, errstr_bytes, "producer id blocks only grow");
            return RILL_ERR_INVALID;
        }
        return RILL_OK;
    }
    rill_errstr_set(errstr, errstr_bytes, "unknown metadata record type %d", (int)rec->type);
    return RILL_ERR_INVALID;
}

rill_err meta_validate_create(const struct meta_state *state,
                              const char *name,
                              int32_t partition_count,
                              const struct meta_config *configs,
                              uint32_t config_count,
                              bool internal,
                              char *errstr,
                              size_t errstr_bytes)
{
    if (config_count > META_TOPIC_CONFIGS_MAX) {
        rill_errstr_set(errstr, errstr_bytes, "more than %u configs", META_TOPIC_CONFIGS_MAX);
        return RILL_ERR_INVALID_REQUEST;
    }
    struct meta_record rec = { .type = META_RECORD_TOPIC_CREATED,
                               .name = name,
                               .partition_count = partition_count,
                               .config_count = config_count,
                               .internal = internal };
    if (config_count > 0) {
        memcpy(rec.configs, configs, config_count * sizeof(configs[0]));
    }
    return meta_validate(state, &rec, errstr, errstr_bytes);
}
