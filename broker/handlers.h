/*
 * handlers.h - the API handlers dispatch.c routes to. A handler maps a decoded request to a
 * response struct; proto/api.h encodes it.
 *
 * Decoded requests point into the frame and into the core's arena, both valid only during the
 * call. A handler that answers later (RILL_ERR_AGAIN) copies what it keeps: pending.h.
 *
 *   handlers_admin.c  HANDSHAKE, METADATA, CREATE/DELETE/DESCRIBE_TOPICS, ALTER_CONFIGS,
 *                     LIST_OFFSETS, INIT_PRODUCER_ID
 *   handlers_data.c   PRODUCE, FETCH
 *   handlers_group.c  JOIN_GROUP .. RESET_OFFSETS (the consumer group coordinator, core 0)
 */
#ifndef RILL_BROKER_HANDLERS_H
#define RILL_BROKER_HANDLERS_H

#include "rill.h"
#include "broker/dispatch.h"
#include "proto/api.h"

struct broker_core;

/*
 * RILL_OK: response is filled and sent; RILL_ERR_AGAIN: the answer was deferred and comes
 * through dispatch_complete(); any other code is sent as the header error with a nil body.
 */
typedef rill_err handler_fn(struct broker_core *core,
                            const struct dispatch_origin *origin,
                            const struct proto_request_header *header,
                            const union proto_request *request,
                            union proto_response *response);

handler_fn handle_handshake;
handler_fn handle_metadata;
handler_fn handle_create_topics;
handler_fn handle_delete_topics;
handler_fn handle_describe_topics;
handler_fn handle_alter_configs;
handler_fn handle_produce;
handler_fn handle_fetch;
handler_fn handle_list_offsets;
handler_fn handle_init_producer_id;
handler_fn handle_join_group;
handler_fn handle_heartbeat;
handler_fn handle_leave_group;
handler_fn handle_offset_commit;
handler_fn handle_offset_fetch;
handler_fn handle_list_groups;
handler_fn handle_describe_groups;
handler_fn handle_delete_groups;
handler_fn handle_reset_offsets;

/* The API table HANDSHAKE reports (dispatch.c). */
extern struct proto_api_range dispatch_ranges[];
extern const uint32_t dispatch_range_count;

struct broker_topic;
struct broker_partition;
struct metrics_text;

/* Data-path hooks of the core (handlers_data.c). */
/* Puts bp (owned by core) on the core's commit list: the round's commit writes what it staged. */
void data_commit_later(struct broker_core *core, struct broker_partition *bp);
void data_commit_all(struct broker_core *core);
void data_disk_reap(struct broker_core *core);
void data_forget_topic(struct broker_core *core, struct broker_topic *topic);
/* Frees the staging buffers of this core's partitions idle for a while (memory bound). */
void data_idle_release(struct broker_core *core);
/* Runs the compaction cleaner on at most one due partition of this core (log/compact.c). */
void data_compact_tick(struct broker_core *core);
void data_metrics_render(struct broker_core *core, struct metrics_text *text);

/* The internal topic holding committed offsets (handlers_group.c). */
#define GROUP_OFFSETS_TOPIC "__consumer_offsets"

/* Consumer group hooks of core 0 (handlers_group.c). */
/* Creates the offsets topic when missing, the coordinator, and replays the topic into it;
 * before core 0 serves. RILL_ERR_INVALID for inconsistent group settings. */
RILL_MUST_CHECK rill_err group_wire_open(struct broker_core *core);
void group_wire_close(struct broker_core *core);
/* Time passes for the coordinator (sessions, rebalance timeouts, group retention). */
void group_wire_tick(struct broker_core *core);
/* Topics were created or deleted: subscriptions are resolved again. */
void group_wire_topics_changed(struct broker_core *core);
void group_wire_metrics_render(struct broker_core *core, struct metrics_text *text);

/* Copies (ptr, bytes) into arena as a NUL-terminated string; NULL when out of arena. */
char *handler_strdup(struct proto_arena *arena, const char *ptr, uint32_t bytes);

#endif
