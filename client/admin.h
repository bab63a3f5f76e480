/*
 * admin.h - what the two halves of rill_admin_t share: topic and cluster calls (admin.c) and
 * consumer group calls (admin_group.c).
 */
#ifndef RILL_CLIENT_ADMIN_H
#define RILL_CLIENT_ADMIN_H

#include "client/client.h"

struct rill_admin {
    struct client cl; /* connections, metadata cache, request timeout */
};

/* When a call started now must have its answer (request.timeout.ms). */
int64_t admin_deadline(const rill_admin_t *admin);

/* The transport error of a call as the admin API reports it (a closed handle is a failed
 * connection to the caller). */
rill_err admin_call_err(rill_err err);

/* The entry for name in an answer of [name, error, message] results (topic and group
 * deletion, creation, alteration). NULL when the answer does not list it: errstr then says so,
 * and the caller reports RILL_ERR_CORRUPT. */
const struct proto_topic_result *admin_result_find(const struct proto_topic_results *results,
                                                   const char *name,
                                                   char *errstr,
                                                   size_t errstr_bytes);

#endif
