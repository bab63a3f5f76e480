/*
 * handlers_admin.c - the metadata and administration APIs: HANDSHAKE, METADATA,
 * CREATE/DELETE/DESCRIBE_TOPICS, ALTER_CONFIGS, LIST_OFFSETS, INIT_PRODUCER_ID.
 *
 * Metadata changes run on the metadata owner (core 0) and are durable before they are
 * answered (the metadata log syncs each record). Response arrays come from the core's arena,
 * which is reset once the response is encoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/diag.h"
#include "common/limits.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/handlers.h"
#include "broker/loop.h"
#include "broker/route.h"
#include "broker/topics.h"
#include "log/batch.h"

/* Bytes of a per-topic error message kept for the response. */
#define ADMIN_MESSAGE_BYTES 256u

/* The topic-level settings DESCRIBE_TOPICS lists (docs/protocol.md, CREATE_TOPICS). */
static const char *const admin_topic_keys[] = {
    "cleanup.policy",       "compaction.map.bytes", "delete.retention.ms",       "flush",
    "index.interval.bytes", "max.batch.bytes",      "retention.bytes",           "retention.ms",
    "segment.bytes",        "segment.ms",           "segment.preallocate.bytes",
};

char *handler_strdup(struct proto_arena *arena, const char *ptr, uint32_t bytes)
{
    char *copy = proto_arena_alloc(arena, (size_t)bytes + 1, 1);
    if (copy != NULL) {
        memcpy(copy, ptr, bytes);
        copy[bytes] = '\0';
    }
    return copy;
}

static struct proto_str admin_str(const char *text)
{
    return (struct proto_str){ text, text != NULL ? (uint32_t)strlen(text) : 0 };
}

/* A NUL-terminated copy of a wire string that must not hold a NUL itself; NULL otherwise. */
static char *admin_cstr(struct proto_arena *arena, struct proto_str str)
{
    if (str.ptr == NULL || memchr(str.ptr, '\0', str.bytes) != NULL) {
        return NULL;
    }
    return handler_strdup(arena, str.ptr, str.bytes);
}

/* Fills a per-topic result with err and a copy of message (when err != RILL_OK). */
static void admin_result(struct proto_arena *arena,
                         struct proto_topic_result *result,
                         struct proto_str name,
                         rill_err err,
                         const char *message)
{
    result->name = name;
    result->error = (int32_t)err;
    result->message = (struct proto_str){ NULL, 0 };
    if (err != RILL_OK) {
        const char *text = message != NULL && message[0] != '\0' ? message : rill_err_str(err);
        char *copy = handler_strdup(arena, text, (uint32_t)strlen(text));
        result->message = admin_str(copy);
    }
}

/* The per-topic results array of CREATE_TOPICS, DELETE_TOPICS and ALTER_CONFIGS, in the arena. */
static rill_err
admin_results_alloc(struct broker_core *core, struct proto_topic_results *out, uint32_t count)
{
    out->result_count = count;
    if (count == 0) {
        return RILL_OK;
    }
    out->results = proto_arena_alloc(&core->arena, count, sizeof(*out->results));
    return out->results == NULL ? core->arena.err : RILL_OK;
}

/* Listing every topic (METADATA and DESCRIBE_TOPICS with nil names) leaves the internal ones
 * out: clients see them only by name (docs/protocol.md). */
static uint32_t admin_listed_count(const struct broker_topics *topics)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < topics->topic_count; i++) {
        const char *name = topics->topics[i]->name;
        count += !topics_internal(name, strlen(name));
    }
    return count;
}

/* The next listed topic from *cursor (an index into the table), which moves past it. */
static struct broker_topic *admin_listed_next(const struct broker_topics *topics, uint32_t *cursor)
{
    for (;;) {
        RILL_ASSERT(*cursor < topics->topic_count);
        struct broker_topic *topic = topics->topics[(*cursor)++];
        if (!topics_internal(topic->name, strlen(topic->name))) {
            return topic;
        }
    }
}

/* Internal topics are the broker's: clients may not delete or alter them. */
static bool
admin_refuse_internal(struct proto_str name, const char *what, char *errstr, size_t errstr_bytes)
{
    if (!topics_internal(name.ptr, name.bytes)) {
        return false;
    }
    snprintf(errstr, errstr_bytes, "%.*s is an internal topic of the broker: it cannot be %s",
             (int)(name.bytes < 64 ? name.bytes : 64), name.ptr, what);
    return true;
}

rill_err handle_handshake(struct broker_core *core,
                          const struct dispatch_origin *origin,
                          const struct proto_request_header *header,
                          const union proto_request *request,
                          union proto_response *response)
{
    (void)origin;
    (void)header;
    (void)request;
    const struct broker_config *cfg = core->cfg;
    response->handshake = (struct proto_handshake_response){
        .broker_id = cfg->broker_id,
        .cluster_id = admin_str(cfg->cluster_id),
        .broker_version = admin_str(RILL_VERSION_STR),
        .apis = dispatch_ranges,
        .api_count = dispatch_range_count,
    };
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* METADATA                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static rill_err metadata_topic_fill(struct broker_core *core,
                                    struct proto_metadata_topic *out,
                                    struct proto_str name,
                                    const struct broker_topic *topic,
                                    int32_t *self)
{
    out->name = name;
    if (topic == NULL) {
        out->error = RILL_ERR_UNKNOWN_TOPIC;
        return RILL_OK;
    }
    out->partitions =
        proto_arena_alloc(&core->arena, (size_t)topic->partition_count, sizeof(*out->partitions));
    if (out->partitions == NULL) {
        return core->arena.err;
    }
    out->partition_count = (uint32_t)topic->partition_count;
    for (int32_t p = 0; p < topic->partition_count; p++) {
        out->partitions[p] = (struct proto_metadata_partition){
            .partition = p,
            .leader = core->cfg->broker_id,
            .replicas = self,
            .replica_count = 1,
            .isr = self,
            .isr_count = 1,
        };
    }
    return RILL_OK;
}

/* Creates name with the broker's defaults for METADATA's auto-creation; the result is the
 * topic or NULL (the entry then reports the error). */
static struct broker_topic *metadata_auto_create(struct broker_core *core, struct proto_str name)
{
    char *cname = admin_cstr(&core->arena, name);
    if (cname == NULL || !proto_topic_name_valid(name.ptr, name.bytes, false)) {
        return NULL;
    }
    char errstr[ADMIN_MESSAGE_BYTES];
    rill_err err = topics_create(core->topics, cname, core->cfg->topic_partitions_default, NULL, 0,
                                 false, errstr, sizeof(errstr));
    if (err != RILL_OK && err != RILL_ERR_EXISTS) {
        DIAG_WARN("topics", "auto-create topic=%s failed: %s", cname, errstr);
        return NULL;
    }
    DIAG_INFO("topics", "auto-created topic=%s partitions=%d", cname,
              (int)core->cfg->topic_partitions_default);
    return topics_find(core->topics, name.ptr, name.bytes);
}

rill_err handle_metadata(struct broker_core *core,
                         const struct dispatch_origin *origin,
                         const struct proto_request_header *header,
                         const union proto_request *request,
                         union proto_response *response)
{
    (void)origin;
    (void)header;
    const struct proto_metadata_request *req = &request->metadata;
    struct broker_topics *topics = core->topics;
    struct proto_metadata_response *out = &response->metadata;
    int32_t *self = proto_arena_alloc(&core->arena, 1, sizeof(*self));
    out->brokers = proto_arena_alloc(&core->arena, 1, sizeof(*out->brokers));
    if (self == NULL || out->brokers == NULL) {
        return core->arena.err;
    }
    *self = core->cfg->broker_id;
    bool created = false;
    out->brokers[0] = (struct proto_broker){
        .id = core->cfg->broker_id,
        .host = admin_str(core->cfg->listen.host),
        .port = core->listen_port,
    };
    out->broker_count = 1;
    out->controller_id = core->cfg->broker_id;
    uint32_t count = req->topics_all ? admin_listed_count(topics) : req->topic_count;
    if (count == 0) {
        return RILL_OK;
    }
    out->topics = proto_arena_alloc(&core->arena, count, sizeof(*out->topics));
    if (out->topics == NULL) {
        return core->arena.err;
    }
    out->topic_count = count;
    uint32_t listed = 0;
    for (uint32_t i = 0; i < count; i++) {
        const struct broker_topic *topic = NULL;
        struct proto_str name;
        if (req->topics_all) {
            topic = admin_listed_next(topics, &listed);
            name = admin_str(topic->name);
        } else {
            name = req->topics[i];
            topic = topics_find(topics, name.ptr, name.bytes);
            if (topic == NULL && req->allow_auto_create && core->cfg->topic_auto_create) {
                topic = metadata_auto_create(core, name);
                created = created || topic != NULL;
            }
        }
        rill_err err = metadata_topic_fill(core, &out->topics[i], name, topic, self);
        if (err != RILL_OK) {
            return err;
        }
    }
    if (created) {
        group_wire_topics_changed(core);
    }
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* CREATE_TOPICS, DELETE_TOPICS, ALTER_CONFIGS                                                */
/* ---------------------------------------------------------------------------------------- */

/* Converts wire configs into NUL-terminated pairs in the arena; a nil value stays NULL (only
 * ALTER_CONFIGS allows it). RILL_ERR_CONFIG_KEY / _VALUE for strings that cannot be keys or
 * values (NUL inside). */
static rill_err admin_configs(struct proto_arena *arena,
                              const struct proto_config *configs,
                              uint32_t count,
                              bool allow_nil,
                              struct meta_config **out,
                              char *errstr,
                              size_t errstr_bytes)
{
    if (count > META_TOPIC_CONFIGS_MAX) {
        snprintf(errstr, errstr_bytes, "at most %u configs", META_TOPIC_CONFIGS_MAX);
        return RILL_ERR_INVALID_REQUEST;
    }
    struct meta_config *pairs = count > 0 ? proto_arena_alloc(arena, count, sizeof(*pairs)) : NULL;
    if (count > 0 && pairs == NULL) {
        return arena->err;
    }
    for (uint32_t i = 0; i < count; i++) {
        pairs[i].key = admin_cstr(arena, configs[i].key);
        if (pairs[i].key == NULL) {
            snprintf(errstr, errstr_bytes, "config key %u is not a valid key", i);
            return RILL_ERR_CONFIG_KEY;
        }
        if (configs[i].value.ptr == NULL) {
            if (!allow_nil) {
                snprintf(errstr, errstr_bytes, "config %s needs a value", pairs[i].key);
                return RILL_ERR_CONFIG_VALUE;
            }
            pairs[i].value = NULL;
            continue;
        }
        pairs[i].value = admin_cstr(arena, configs[i].value);
        if (pairs[i].value == NULL) {
            snprintf(errstr, errstr_bytes, "config %s has an invalid value", pairs[i].key);
            return RILL_ERR_CONFIG_VALUE;
        }
    }
    *out = pairs;
    return RILL_OK;
}

static rill_err create_one(struct broker_core *core,
                           const struct proto_create_topic *topic,
                           bool validate_only,
                           char *errstr,
                           size_t errstr_bytes)
{
    if (!proto_topic_name_valid(topic->name.ptr, topic->name.bytes, false)) {
        snprintf(errstr, errstr_bytes,
                 "topic names are 1-%u bytes of [a-zA-Z0-9._-], not '.', '..' or '__...'",
                 RILL_TOPIC_NAME_BYTES_MAX);
        return RILL_ERR_INVALID_TOPIC;
    }
    if (topic->replication_factor != 1 && topic->replication_factor != -1) {
        snprintf(errstr, errstr_bytes, "replication factor %d: this cluster has one broker",
                 (int)topic->replication_factor);
        return RILL_ERR_INVALID;
    }
    char *name = admin_cstr(&core->arena, topic->name);
    struct meta_config *configs = NULL;
    rill_err err = name == NULL ? core->arena.err
                                : admin_configs(&core->arena, topic->configs, topic->config_count,
                                                false, &configs, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    return topics_create(core->topics, name, topic->partitions, configs, topic->config_count,
                         validate_only, errstr, errstr_bytes);
}

rill_err handle_create_topics(struct broker_core *core,
                              const struct dispatch_origin *origin,
                              const struct proto_request_header *header,
                              const union proto_request *request,
                              union proto_response *response)
{
    (void)origin;
    (void)header;
    const struct proto_create_topics_request *req = &request->create_topics;
    struct proto_topic_results *out = &response->create_topics;
    rill_err alloc_err = admin_results_alloc(core, out, req->topic_count);
    if (alloc_err != RILL_OK) {
        return alloc_err;
    }
    bool created = false;
    for (uint32_t i = 0; i < req->topic_count; i++) {
        char errstr[ADMIN_MESSAGE_BYTES] = "";
        rill_err err =
            create_one(core, &req->topics[i], req->validate_only, errstr, sizeof(errstr));
        if (err == RILL_OK && !req->validate_only) {
            DIAG_INFO("topics", "created topic=%.*s partitions=%d", (int)req->topics[i].name.bytes,
                      req->topics[i].name.ptr, (int)req->topics[i].partitions);
        }
        admin_result(&core->arena, &out->results[i], req->topics[i].name, err, errstr);
        created = created || (err == RILL_OK && !req->validate_only);
    }
    if (created) {
        group_wire_topics_changed(core);
    }
    return RILL_OK;
}

rill_err handle_delete_topics(struct broker_core *core,
                              const struct dispatch_origin *origin,
                              const struct proto_request_header *header,
                              const union proto_request *request,
                              union proto_response *response)
{
    const struct proto_delete_topics_request *req = &request->delete_topics;
    struct proto_topic_results *out = &response->delete_topics;
    rill_err alloc_err = admin_results_alloc(core, out, req->name_count);
    struct broker_topic **deleted =
        req->name_count > 0 ? proto_arena_alloc(&core->arena, req->name_count, sizeof(*deleted))
                            : NULL;
    if (alloc_err != RILL_OK || (req->name_count > 0 && deleted == NULL)) {
        return alloc_err != RILL_OK ? alloc_err : core->arena.err;
    }
    uint32_t deleted_count = 0;
    for (uint32_t i = 0; i < req->name_count; i++) {
        char errstr[ADMIN_MESSAGE_BYTES] = "";
        struct proto_str name = req->names[i];
        struct broker_topic *topic = topics_find(core->topics, name.ptr, name.bytes);
        rill_err err = RILL_OK;
        if (admin_refuse_internal(name, "deleted", errstr, sizeof(errstr))) {
            err = RILL_ERR_INVALID_TOPIC;
        } else if (topic == NULL) {
            err = RILL_ERR_UNKNOWN_TOPIC;
        } else {
            struct broker_topic *gone = NULL;
            err = topics_delete(core->topics, topic->name, &gone, errstr, sizeof(errstr));
            if (err == RILL_OK && gone != NULL) {
                DIAG_INFO("topics", "deleted topic=%.*s", (int)name.bytes, name.ptr);
                deleted[deleted_count++] = gone;
            }
        }
        admin_result(&core->arena, &out->results[i], name, err, errstr);
    }
    if (deleted_count == 0) {
        return RILL_OK;
    }
    group_wire_topics_changed(core);
    /* The owners close the logs (and drop what refers to them) before the directories go. */
    return route_delete_begin(core, origin, header, response, deleted, deleted_count);
}

/* Sends the topic's new log config to every core owning some of its partitions. */
static void admin_config_send(struct broker_core *core, struct broker_topic *topic)
{
    for (unsigned c = 0; c < core->broker->core_count; c++) {
        if (!topics_has_partitions_on(topic, c)) {
            continue;
        }
        struct broker_msg *msg = calloc(1, sizeof(*msg));
        if (msg == NULL) {
            DIAG_ERROR("topics", "out of memory: topic %s keeps its old config on core %u",
                       topic->name, c);
            continue;
        }
        msg->type = BROKER_MSG_CONFIG;
        msg->topic = topic;
        msg->cfg = topic->cfg;
        broker_msg_send(core, c, msg);
    }
}

rill_err handle_alter_configs(struct broker_core *core,
                              const struct dispatch_origin *origin,
                              const struct proto_request_header *header,
                              const union proto_request *request,
                              union proto_response *response)
{
    (void)origin;
    (void)header;
    const struct proto_alter_configs_request *req = &request->alter_configs;
    struct proto_topic_results *out = &response->alter_configs;
    rill_err alloc_err = admin_results_alloc(core, out, req->topic_count);
    if (alloc_err != RILL_OK) {
        return alloc_err;
    }
    for (uint32_t i = 0; i < req->topic_count; i++) {
        const struct proto_alter_topic *alter = &req->topics[i];
        char errstr[ADMIN_MESSAGE_BYTES] = "";
        struct broker_topic *topic = topics_find(core->topics, alter->name.ptr, alter->name.bytes);
        struct meta_config *configs = NULL;
        rill_err err = admin_refuse_internal(alter->name, "altered", errstr, sizeof(errstr))
                           ? RILL_ERR_INVALID_TOPIC
                       : topic == NULL
                           ? RILL_ERR_UNKNOWN_TOPIC
                           : admin_configs(&core->arena, alter->configs, alter->config_count, true,
                                           &configs, errstr, sizeof(errstr));
        if (err == RILL_OK) {
            struct broker_topic *altered = NULL;
            err = topics_alter(core->topics, topic->name, configs, alter->config_count, &altered,
                               errstr, sizeof(errstr));
            if (err == RILL_OK && altered != NULL) {
                admin_config_send(core, altered);
            }
        }
        admin_result(&core->arena, &out->results[i], alter->name, err, errstr);
    }
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* DESCRIBE_TOPICS                                                                            */
/* ---------------------------------------------------------------------------------------- */

static rill_err describe_one(struct broker_core *core,
                             struct proto_describe_topic *out,
                             struct proto_str name,
                             struct broker_topic *topic)
{
    out->name = name;
    if (topic == NULL) {
        out->error = RILL_ERR_UNKNOWN_TOPIC;
        out->message = admin_str(rill_err_str(RILL_ERR_UNKNOWN_TOPIC));
        return RILL_OK;
    }
    const struct meta_topic *meta = meta_topic_find(&core->topics->state, topic->name);
    RILL_ASSERT(meta != NULL);
    uint32_t key_count = (uint32_t)RILL_ARRAY_COUNT(admin_topic_keys);
    out->configs = proto_arena_alloc(&core->arena, key_count, sizeof(*out->configs));
    out->partitions =
        proto_arena_alloc(&core->arena, (size_t)topic->partition_count, sizeof(*out->partitions));
    if (out->configs == NULL || out->partitions == NULL) {
        return core->arena.err;
    }
    out->config_count = key_count;
    for (uint32_t k = 0; k < key_count; k++) {
        const char *value = meta_topic_config_value(meta, admin_topic_keys[k]);
        out->configs[k] = (struct proto_config){
            .key = admin_str(admin_topic_keys[k]),
            .value = admin_str(value != NULL ? value : ""),
        };
    }
    out->partition_count = (uint32_t)topic->partition_count;
    for (int32_t p = 0; p < topic->partition_count; p++) {
        /* Another core may own it: read what its owner published. */
        struct broker_partition_published *pub = &topic->partitions[p].published;
        out->partitions[p] = (struct proto_describe_partition){
            .partition = p,
            .start_offset = atomic_load_explicit(&pub->start_offset, memory_order_relaxed),
            .end_offset = atomic_load_explicit(&pub->high_watermark, memory_order_relaxed),
            .durable_offset = atomic_load_explicit(&pub->durable_offset, memory_order_relaxed),
            .size_bytes = atomic_load_explicit(&pub->size_bytes, memory_order_relaxed),
            .segment_count = atomic_load_explicit(&pub->segment_count, memory_order_relaxed),
        };
    }
    return RILL_OK;
}

rill_err handle_describe_topics(struct broker_core *core,
                                const struct dispatch_origin *origin,
                                const struct proto_request_header *header,
                                const union proto_request *request,
                                union proto_response *response)
{
    (void)origin;
    (void)header;
    const struct proto_describe_topics_request *req = &request->describe_topics;
    struct broker_topics *topics = core->topics;
    struct proto_describe_topics_response *out = &response->describe_topics;
    uint32_t count = req->names_all ? admin_listed_count(topics) : req->name_count;
    if (count == 0) {
        return RILL_OK;
    }
    out->topics = proto_arena_alloc(&core->arena, count, sizeof(*out->topics));
    if (out->topics == NULL) {
        return core->arena.err;
    }
    out->topic_count = count;
    uint32_t listed = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct broker_topic *topic = NULL;
        struct proto_str name;
        if (req->names_all) {
            topic = admin_listed_next(topics, &listed);
            name = admin_str(topic->name);
        } else {
            name = req->names[i];
            topic = topics_find(topics, name.ptr, name.bytes);
        }
        rill_err err = describe_one(core, &out->topics[i], name, topic);
        if (err != RILL_OK) {
            return err;
        }
    }
    return RILL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* LIST_OFFSETS, INIT_PRODUCER_ID                                                             */
/* ---------------------------------------------------------------------------------------- */

/* The timestamp of the record at offset (which exists below the high watermark). */
static rill_err record_timestamp(struct log_partition *log, int64_t offset, int64_t *out_ts)
{
    uint8_t *buf = NULL;
    size_t bytes = 0;
    rill_err err = log_partition_read(log, offset, 1, &buf, &bytes);
    if (err != RILL_OK) {
        return err;
    }
    struct log_record_iter it;
    log_record_iter_init(&it);
    err = log_record_iter_start(&it, buf, bytes);
    struct log_record record;
    while (err == RILL_OK && (err = log_record_iter_next(&it, &record)) == RILL_OK) {
        if (record.offset >= offset) {
            *out_ts = record.timestamp;
            break;
        }
    }
    log_record_iter_deinit(&it);
    free(buf);
    return err == RILL_ERR_END ? RILL_ERR_CORRUPT : err;
}

static void list_offsets_one(struct broker_partition *bp,
                             const struct proto_list_offsets_partition *in,
                             struct proto_list_offsets_partition_result *out)
{
    out->partition = in->partition;
    out->timestamp = -1;
    out->offset = -1;
    if (bp == NULL) {
        out->error = RILL_ERR_UNKNOWN_PARTITION;
        return;
    }
    struct log_partition *log = bp->log;
    int64_t high = topics_high_watermark(bp);
    if (in->timestamp == PROTO_LIST_OFFSETS_LATEST) {
        out->offset = high;
        return;
    }
    if (in->timestamp == PROTO_LIST_OFFSETS_EARLIEST) {
        out->offset = log->offset_start;
        return;
    }
    if (in->timestamp < 0) {
        out->error = RILL_ERR_INVALID_REQUEST;
        return;
    }
    int64_t offset = high;
    rill_err err = log_partition_offset_for_time(log, in->timestamp, &offset);
    if (err == RILL_ERR_END || (err == RILL_OK && offset >= high)) {
        out->offset = high;
        return;
    }
    if (err == RILL_OK) {
        err = record_timestamp(log, offset, &out->timestamp);
    }
    if (err != RILL_OK) {
        out->error = err;
        out->timestamp = -1;
        return;
    }
    out->offset = offset;
}

rill_err handle_list_offsets(struct broker_core *core,
                             const struct dispatch_origin *origin,
                             const struct proto_request_header *header,
                             const union proto_request *request,
                             union proto_response *response)
{
    (void)origin;
    (void)header;
    const struct proto_list_offsets_request *req = &request->list_offsets;
    struct proto_list_offsets_response *out = &response->list_offsets;
    if (req->topic_count == 0) {
        return RILL_OK;
    }
    out->topics = proto_arena_alloc(&core->arena, req->topic_count, sizeof(*out->topics));
    if (out->topics == NULL) {
        return core->arena.err;
    }
    out->topic_count = req->topic_count;
    for (uint32_t t = 0; t < req->topic_count; t++) {
        const struct proto_list_offsets_topic *in = &req->topics[t];
        struct proto_list_offsets_topic_result *result = &out->topics[t];
        result->name = in->name;
        result->partition_count = in->partition_count;
        if (in->partition_count == 0) {
            continue;
        }
        result->partitions =
            proto_arena_alloc(&core->arena, in->partition_count, sizeof(*result->partitions));
        if (result->partitions == NULL) {
            return core->arena.err;
        }
        struct broker_topic *topic = topics_view_find(core->view, in->name.ptr, in->name.bytes);
        for (uint32_t p = 0; p < in->partition_count; p++) {
            int32_t index = in->partitions[p].partition;
            struct broker_partition *bp = topic != NULL && index >= 0 &&
                                                  index < topic->partition_count &&
                                                  topic->partitions[index].log != NULL
                                              ? &topic->partitions[index]
                                              : NULL;
            list_offsets_one(bp, &in->partitions[p], &result->partitions[p]);
            if (topic == NULL) {
                result->partitions[p].error = RILL_ERR_UNKNOWN_TOPIC;
            }
        }
    }
    return RILL_OK;
}

rill_err handle_init_producer_id(struct broker_core *core,
                                 const struct dispatch_origin *origin,
                                 const struct proto_request_header *header,
                                 const union proto_request *request,
                                 union proto_response *response)
{
    (void)origin;
    (void)header;
    struct proto_init_producer_id_response *out = &response->init_producer_id;
    out->producer_id = -1;
    out->producer_epoch = -1;
    if (request->init_producer_id.transactional_id.ptr != NULL) {
        out->error = RILL_ERR_UNSUPPORTED;
        return RILL_OK;
    }
    int64_t producer_id = -1;
    rill_err err =
        meta_log_producer_id_alloc(core->topics->meta, &core->topics->state, &producer_id);
    if (err != RILL_OK) {
        out->error = err;
        return RILL_OK;
    }
    atomic_store(&core->broker->producer_id_next, core->topics->state.producer_id_next);
    out->producer_id = producer_id;
    out->producer_epoch = 0;
    return RILL_OK;
}
