/*
 * admin.c - rill_admin_t: topic administration and cluster description over the native
 * protocol (include/rill.h). Every call waits for its answer (request.timeout.ms). The
 * consumer group calls live in admin_group.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin.h"
#include "common/err.h"

rill_err rill_admin_create(const rill_conf_t *conf,
                           char *errstr,
                           size_t errstr_bytes,
                           rill_admin_t **out_admin)
{
    if (out_admin == NULL) {
        return RILL_ERR_INVALID;
    }
    rill_err err = conf_check_scope(conf, CONF_SCOPE_ADMIN, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    rill_admin_t *admin = calloc(1, sizeof(*admin));
    if (admin == NULL) {
        return RILL_ERR_NOMEM;
    }
    err = client_init(&admin->cl, conf, errstr, errstr_bytes);
    if (err != RILL_OK) {
        free(admin);
        return err;
    }
    *out_admin = admin;
    return RILL_OK;
}

void rill_admin_destroy(rill_admin_t *admin)
{
    if (admin == NULL) {
        return;
    }
    client_deinit(&admin->cl);
    free(admin);
}

int64_t admin_deadline(const rill_admin_t *admin)
{
    return client_now_ns() + admin->cl.request_timeout_ns;
}

rill_err admin_call_err(rill_err err)
{
    return err == RILL_ERR_CLOSED ? RILL_ERR_CONNECTION : err;
}

const struct proto_topic_result *admin_result_find(const struct proto_topic_results *results,
                                                   const char *name,
                                                   char *errstr,
                                                   size_t errstr_bytes)
{
    size_t name_bytes = strlen(name);
    for (uint32_t i = 0; i < results->result_count; i++) {
        const struct proto_topic_result *result = &results->results[i];
        if (result->name.bytes == name_bytes &&
            (name_bytes == 0 || memcmp(result->name.ptr, name, name_bytes) == 0)) {
            return result;
        }
    }
    rill_errstr_set(errstr, errstr_bytes, "the broker's answer does not list \"%s\"", name);
    return NULL;
}

/* ---- create / delete / alter: one topic, one [name, error, message] result ---- */

struct result_call {
    uint32_t api;
    const char *name;
    rill_err err;
    char *errstr;
    size_t errstr_bytes;
};

static void result_done(struct client *cl,
                        void *ctx,
                        rill_err err,
                        const struct proto_response_header *hdr,
                        struct mp_reader *body,
                        struct client_conn *conn)
{
    (void)err;
    (void)conn;
    struct result_call *call = ctx;
    if (hdr->error != RILL_OK) {
        call->err = client_wire_err(hdr->error);
        rill_errstr_set(call->errstr, call->errstr_bytes, "%.*s", (int)hdr->message_bytes,
                        hdr->message != NULL ? hdr->message : "");
        return;
    }
    union proto_response resp;
    call->err = client_decode(cl, call->api, body, &resp);
    if (call->err != RILL_OK) {
        rill_errstr_set(call->errstr, call->errstr_bytes, "malformed answer from the broker");
        return;
    }
    /* create_topics, delete_topics and alter_configs share struct proto_topic_results. */
    const struct proto_topic_result *result =
        admin_result_find(&resp.create_topics, call->name, call->errstr, call->errstr_bytes);
    if (result == NULL) {
        call->err = RILL_ERR_CORRUPT;
        return;
    }
    call->err = client_wire_err(result->error);
    if (result->error != RILL_OK) {
        rill_errstr_set(call->errstr, call->errstr_bytes, "%.*s", (int)result->message.bytes,
                        result->message.ptr != NULL ? result->message.ptr
                                                    : rill_err_str(call->err));
    }
}

static rill_err result_call_run(rill_admin_t *admin,
                                uint32_t api,
                                const union proto_request *request,
                                const char *name,
                                char *errstr,
                                size_t errstr_bytes)
{
    struct result_call call = {
        .api = api, .name = name, .errstr = errstr, .errstr_bytes = errstr_bytes
    };
    rill_err err =
        client_call_any(&admin->cl, api, request, result_done, &call, admin_deadline(admin));
    if (err != RILL_OK) {
        rill_errstr_set(errstr, errstr_bytes, "%s", rill_err_str(admin_call_err(err)));
        return admin_call_err(err);
    }
    /* Topic metadata changed: forget the cache. */
    struct client_topic *topic = client_topic_find(&admin->cl, name);
    if (topic != NULL) {
        topic->stale = true;
    }
    return call.err;
}

static rill_err configs_to_wire(const rill_config_entry_t *configs,
                                size_t config_count,
                                bool allow_reset,
                                struct proto_config **out)
{
    *out = NULL;
    if (config_count == 0) {
        return RILL_OK;
    }
    if (configs == NULL || config_count > RILL_CONF_ENTRIES_MAX) {
        return RILL_ERR_INVALID;
    }
    struct proto_config *wire = calloc(config_count, sizeof(*wire));
    if (wire == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (size_t i = 0; i < config_count; i++) {
        if (configs[i].key == NULL || (configs[i].value == NULL && !allow_reset)) {
            free(wire);
            return RILL_ERR_INVALID;
        }
        wire[i].key = (struct proto_str){ configs[i].key, (uint32_t)strlen(configs[i].key) };
        wire[i].value =
            configs[i].value != NULL
                ? (struct proto_str){ configs[i].value, (uint32_t)strlen(configs[i].value) }
                : (struct proto_str){ NULL, 0 };
    }
    *out = wire;
    return RILL_OK;
}

static bool name_ok(const char *name)
{
    return name != NULL && strlen(name) > 0 && strlen(name) <= RILL_PROTO_STRING_BYTES_MAX;
}

rill_err rill_admin_create_topic(rill_admin_t *admin,
                                 const char *name,
                                 int32_t partitions,
                                 const rill_config_entry_t *configs,
                                 size_t config_count,
                                 char *errstr,
                                 size_t errstr_bytes)
{
    if (admin == NULL || !name_ok(name)) {
        return RILL_ERR_INVALID;
    }
    struct proto_config *wire = NULL;
    rill_err err = configs_to_wire(configs, config_count, false, &wire);
    if (err != RILL_OK) {
        return err;
    }
    struct proto_create_topic topic = {
        .name = { name, (uint32_t)strlen(name) },
        .partitions = partitions,
        .replication_factor = -1,
        .configs = wire,
        .config_count = (uint32_t)config_count,
    };
    union proto_request request = { .create_topics = { .topics = &topic, .topic_count = 1 } };
    err = result_call_run(admin, PROTO_API_CREATE_TOPICS, &request, name, errstr, errstr_bytes);
    free(wire);
    return err;
}

rill_err
rill_admin_delete_topic(rill_admin_t *admin, const char *name, char *errstr, size_t errstr_bytes)
{
    if (admin == NULL || !name_ok(name)) {
        return RILL_ERR_INVALID;
    }
    struct proto_str wire_name = { name, (uint32_t)strlen(name) };
    union proto_request request = { .delete_topics = { .names = &wire_name, .name_count = 1 } };
    return result_call_run(admin, PROTO_API_DELETE_TOPICS, &request, name, errstr, errstr_bytes);
}

rill_err rill_admin_alter_topic(rill_admin_t *admin,
                                const char *name,
                                const rill_config_entry_t *configs,
                                size_t config_count,
                                char *errstr,
                                size_t errstr_bytes)
{
    if (admin == NULL || !name_ok(name)) {
        return RILL_ERR_INVALID;
    }
    struct proto_config *wire = NULL;
    rill_err err = configs_to_wire(configs, config_count, true, &wire);
    if (err != RILL_OK) {
        return err;
    }
    struct proto_alter_topic topic = {
        .name = { name, (uint32_t)strlen(name) },
        .configs = wire,
        .config_count = (uint32_t)config_count,
    };
    union proto_request request = { .alter_configs = { .topics = &topic, .topic_count = 1 } };
    err = result_call_run(admin, PROTO_API_ALTER_CONFIGS, &request, name, errstr, errstr_bytes);
    free(wire);
    return err;
}

/* ---- describe topics ---- */

/* Everything of a topic list lives in allocations owned by this struct. */
struct topic_list_owned {
    rill_topic_list_t list;
    rill_topic_info_t *topics;
    size_t topic_count;
};

void rill_topic_list_destroy(rill_topic_list_t *list)
{
    if (list == NULL) {
        return;
    }
    struct topic_list_owned *owned = (struct topic_list_owned *)list;
    for (size_t i = 0; i < owned->topic_count; i++) {
        rill_topic_info_t *topic = &owned->topics[i];
        free((char *)topic->name);
        free((char *)topic->message);
        free((rill_partition_info_t *)topic->partitions);
        for (size_t c = 0; c < topic->config_count; c++) {
            free((char *)topic->configs[c].key);
            free((char *)topic->configs[c].value);
        }
        free((rill_config_entry_t *)topic->configs);
    }
    free(owned->topics);
    free(owned);
}

static int topic_info_cmp(const void *a, const void *b)
{
    return strcmp(((const rill_topic_info_t *)a)->name, ((const rill_topic_info_t *)b)->name);
}

static int config_cmp(const void *a, const void *b)
{
    return strcmp(((const rill_config_entry_t *)a)->key, ((const rill_config_entry_t *)b)->key);
}

static int partition_cmp(const void *a, const void *b)
{
    int32_t x = ((const rill_partition_info_t *)a)->partition;
    int32_t y = ((const rill_partition_info_t *)b)->partition;
    return x < y ? -1 : x > y;
}

struct describe_call {
    struct topic_list_owned *owned;
    rill_err err;
};

static rill_err topic_info_fill(rill_topic_info_t *info, const struct proto_describe_topic *entry)
{
    info->name = client_strdup_wire(entry->name);
    info->err = client_wire_err(entry->error);
    info->message = entry->message.ptr != NULL ? client_strdup_wire(entry->message) : strdup("");
    if (info->name == NULL || info->message == NULL) {
        return RILL_ERR_NOMEM;
    }
    if (entry->partition_count > 0) {
        rill_partition_info_t *parts = calloc(entry->partition_count, sizeof(*parts));
        if (parts == NULL) {
            return RILL_ERR_NOMEM;
        }
        for (uint32_t p = 0; p < entry->partition_count; p++) {
            const struct proto_describe_partition *wire = &entry->partitions[p];
            parts[p] = (rill_partition_info_t){
                .partition = wire->partition,
                .leader = -1,
                .start_offset = wire->start_offset,
                .end_offset = wire->end_offset,
                .durable_offset = wire->durable_offset,
                .bytes = wire->size_bytes,
                .segments = wire->segment_count,
            };
        }
        qsort(parts, entry->partition_count, sizeof(*parts), partition_cmp);
        info->partitions = parts;
        info->partition_count = entry->partition_count;
    }
    if (entry->config_count > 0) {
        rill_config_entry_t *configs = calloc(entry->config_count, sizeof(*configs));
        if (configs == NULL) {
            return RILL_ERR_NOMEM;
        }
        info->configs = configs;
        for (uint32_t c = 0; c < entry->config_count; c++) {
            configs[c].key = client_strdup_wire(entry->configs[c].key);
            configs[c].value = entry->configs[c].value.ptr != NULL
                                   ? client_strdup_wire(entry->configs[c].value)
                                   : strdup("");
            info->config_count = c + 1;
            if (configs[c].key == NULL || configs[c].value == NULL) {
                return RILL_ERR_NOMEM;
            }
        }
        qsort(configs, entry->config_count, sizeof(*configs), config_cmp);
    }
    return RILL_OK;
}

static void describe_done(struct client *cl,
                          void *ctx,
                          rill_err err,
                          const struct proto_response_header *hdr,
                          struct mp_reader *body,
                          struct client_conn *conn)
{
    (void)err;
    (void)conn;
    struct describe_call *call = ctx;
    if (hdr->error != RILL_OK) {
        call->err = client_wire_err(hdr->error);
        return;
    }
    union proto_response resp;
    call->err = client_decode(cl, PROTO_API_DESCRIBE_TOPICS, body, &resp);
    if (call->err != RILL_OK) {
        return;
    }
    const struct proto_describe_topics_response *topics = &resp.describe_topics;
    struct topic_list_owned *owned = call->owned;
    if (topics->topic_count > 0) {
        owned->topics = calloc(topics->topic_count, sizeof(*owned->topics));
        if (owned->topics == NULL) {
            call->err = RILL_ERR_NOMEM;
            return;
        }
    }
    for (uint32_t i = 0; i < topics->topic_count; i++) {
        owned->topic_count = i + 1;
        call->err = topic_info_fill(&owned->topics[i], &topics->topics[i]);
        if (call->err != RILL_OK) {
            return;
        }
    }
}

struct leaders_call {
    struct topic_list_owned *owned;
    rill_err err;
};

static void leaders_done(struct client *cl,
                         void *ctx,
                         rill_err err,
                         const struct proto_response_header *hdr,
                         struct mp_reader *body,
                         struct client_conn *conn)
{
    (void)err;
    (void)conn;
    struct leaders_call *call = ctx;
    union proto_response resp;
    call->err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                      : client_decode(cl, PROTO_API_METADATA, body, &resp);
    if (call->err != RILL_OK) {
        return;
    }
    struct topic_list_owned *owned = call->owned;
    for (uint32_t t = 0; t < resp.metadata.topic_count; t++) {
        const struct proto_metadata_topic *md = &resp.metadata.topics[t];
        for (size_t i = 0; i < owned->topic_count; i++) {
            rill_topic_info_t *info = &owned->topics[i];
            if (strlen(info->name) != md->name.bytes ||
                memcmp(info->name, md->name.ptr, md->name.bytes) != 0) {
                continue;
            }
            rill_partition_info_t *parts = (rill_partition_info_t *)info->partitions;
            for (uint32_t p = 0; p < md->partition_count; p++) {
                for (size_t q = 0; q < info->partition_count; q++) {
                    if (parts[q].partition == md->partitions[p].partition) {
                        parts[q].leader = md->partitions[p].leader;
                    }
                }
            }
        }
    }
}

rill_err rill_admin_describe_topics(rill_admin_t *admin,
                                    const char *const *names,
                                    size_t name_count,
                                    rill_topic_list_t **out_list)
{
    if (admin == NULL || out_list == NULL || (name_count > 0 && names == NULL) ||
        name_count > RILL_TOPICS_MAX) {
        return RILL_ERR_INVALID;
    }
    struct proto_str *wire = NULL;
    if (name_count > 0) {
        wire = calloc(name_count, sizeof(*wire));
        if (wire == NULL) {
            return RILL_ERR_NOMEM;
        }
        for (size_t i = 0; i < name_count; i++) {
            if (!name_ok(names[i])) {
                free(wire);
                return RILL_ERR_INVALID;
            }
            wire[i] = (struct proto_str){ names[i], (uint32_t)strlen(names[i]) };
        }
    }
    struct topic_list_owned *owned = calloc(1, sizeof(*owned));
    if (owned == NULL) {
        free(wire);
        return RILL_ERR_NOMEM;
    }
    union proto_request request = { .describe_topics = {
                                        .names = wire,
                                        .name_count = (uint32_t)name_count,
                                        .names_all = name_count == 0,
                                    } };
    struct describe_call call = { .owned = owned };
    int64_t deadline = admin_deadline(admin);
    rill_err err = client_call_any(&admin->cl, PROTO_API_DESCRIBE_TOPICS, &request, describe_done,
                                   &call, deadline);
    err = err != RILL_OK ? admin_call_err(err) : call.err;
    if (err == RILL_OK && owned->topic_count > 0) {
        /* Leaders come from METADATA for the same names. */
        struct proto_str *md_names = calloc(owned->topic_count, sizeof(*md_names));
        if (md_names == NULL) {
            err = RILL_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < owned->topic_count; i++) {
                md_names[i] = (struct proto_str){ owned->topics[i].name,
                                                  (uint32_t)strlen(owned->topics[i].name) };
            }
            union proto_request md_request = { .metadata = {
                                                   .topics = md_names,
                                                   .topic_count = (uint32_t)owned->topic_count,
                                               } };
            struct leaders_call leaders = { .owned = owned };
            err = client_call_any(&admin->cl, PROTO_API_METADATA, &md_request, leaders_done,
                                  &leaders, deadline);
            err = err != RILL_OK ? admin_call_err(err) : leaders.err;
            free(md_names);
        }
    }
    free(wire);
    if (err != RILL_OK) {
        rill_topic_list_destroy(&owned->list);
        return err;
    }
    if (owned->topic_count > 1) {
        qsort(owned->topics, owned->topic_count, sizeof(*owned->topics), topic_info_cmp);
    }
    owned->list.topics = owned->topics;
    owned->list.topic_count = owned->topic_count;
    *out_list = &owned->list;
    return RILL_OK;
}

/* ---- cluster ---- */

struct cluster_owned {
    rill_cluster_info_t info;
    rill_broker_info_t *brokers;
    size_t broker_count;
};

void rill_cluster_info_destroy(rill_cluster_info_t *info)
{
    if (info == NULL) {
        return;
    }
    struct cluster_owned *owned = (struct cluster_owned *)info;
    for (size_t i = 0; i < owned->broker_count; i++) {
        free((char *)owned->brokers[i].host);
    }
    free(owned->brokers);
    free((char *)info->cluster_id);
    free((char *)info->broker_version);
    free(owned);
}

struct cluster_call {
    struct cluster_owned *owned;
    rill_err err;
};

static void cluster_done(struct client *cl,
                         void *ctx,
                         rill_err err,
                         const struct proto_response_header *hdr,
                         struct mp_reader *body,
                         struct client_conn *conn)
{
    (void)err;
    (void)conn;
    struct cluster_call *call = ctx;
    union proto_response resp;
    call->err = hdr->error != RILL_OK ? client_wire_err(hdr->error)
                                      : client_decode(cl, PROTO_API_METADATA, body, &resp);
    if (call->err != RILL_OK) {
        return;
    }
    struct cluster_owned *owned = call->owned;
    owned->info.controller_id = resp.metadata.controller_id;
    if (resp.metadata.broker_count == 0) {
        return;
    }
    owned->brokers = calloc(resp.metadata.broker_count, sizeof(*owned->brokers));
    if (owned->brokers == NULL) {
        call->err = RILL_ERR_NOMEM;
        return;
    }
    for (uint32_t i = 0; i < resp.metadata.broker_count; i++) {
        const struct proto_broker *broker = &resp.metadata.brokers[i];
        owned->broker_count = i + 1;
        owned->brokers[i].id = broker->id;
        owned->brokers[i].port = broker->port <= 65535 ? (uint16_t)broker->port : 0;
        owned->brokers[i].host = client_strdup_wire(broker->host);
        if (owned->brokers[i].host == NULL) {
            call->err = RILL_ERR_NOMEM;
            return;
        }
    }
}

rill_err rill_admin_cluster_describe(rill_admin_t *admin, rill_cluster_info_t **out_info)
{
    if (admin == NULL || out_info == NULL) {
        return RILL_ERR_INVALID;
    }
    struct cluster_owned *owned = calloc(1, sizeof(*owned));
    if (owned == NULL) {
        return RILL_ERR_NOMEM;
    }
    /* An empty topic list (not nil): brokers and controller only. */
    union proto_request request = { .metadata = { .topics = NULL, .topic_count = 0 } };
    struct cluster_call call = { .owned = owned };
    rill_err err = client_call_any(&admin->cl, PROTO_API_METADATA, &request, cluster_done, &call,
                                   admin_deadline(admin));
    err = err != RILL_OK ? admin_call_err(err) : call.err;
    if (err == RILL_OK) {
        /* The connection that answered did the handshake first. */
        owned->info.cluster_id = strdup(admin->cl.cluster_id);
        owned->info.broker_version = strdup(admin->cl.broker_version);
        if (owned->info.cluster_id == NULL || owned->info.broker_version == NULL) {
            err = RILL_ERR_NOMEM;
        }
    }
    if (err != RILL_OK) {
        rill_cluster_info_destroy(&owned->info);
        return err;
    }
    owned->info.brokers = owned->brokers;
    owned->info.broker_count = owned->broker_count;
    *out_info = &owned->info;
    return RILL_OK;
}

rill_err rill_admin_list_offset(rill_admin_t *admin,
                                const char *topic,
                                int32_t partition,
                                int64_t timestamp_ms,
                                int64_t *out_offset)
{
    if (admin == NULL || topic == NULL || out_offset == NULL || partition < 0 ||
        (timestamp_ms < 0 && timestamp_ms != RILL_OFFSET_END &&
         timestamp_ms != RILL_OFFSET_BEGINNING)) {
        return RILL_ERR_INVALID;
    }
    /* RILL_OFFSET_END / _BEGINNING are the wire's LATEST / EARLIEST. */
    _Static_assert(RILL_OFFSET_END == PROTO_LIST_OFFSETS_LATEST, "same encoding");
    _Static_assert(RILL_OFFSET_BEGINNING == PROTO_LIST_OFFSETS_EARLIEST, "same encoding");
    rill_err err = client_list_offset(&admin->cl, topic, partition, timestamp_ms,
                                      admin_deadline(admin), out_offset);
    return err == RILL_ERR_TIMEOUT && client_topic_find(&admin->cl, topic) == NULL
               ? RILL_ERR_CONNECTION
               : err;
}
