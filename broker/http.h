/*
 * http.h - the broker's HTTP endpoint (http.listen, default 127.0.0.1:9701): GET /metrics
 * (Prometheus text, broker/metrics.h) and GET /health (JSON; 200 while serving, 503 while
 * shutting down).
 *
 * It runs on core 0's io_uring ring, beside the native protocol, with its own loop ops
 * (LOOP_OP_HTTP_ACCEPT/RECV/SEND) tagged like connection ops (loop.h): no extra thread.
 * Deliberately minimal and strict HTTP/1.1:
 *   - one request per connection, answered with "Connection: close", then a lingering close
 *     (shut down writing, read and drop what the client still sends, close on EOF or after
 *     HTTP_LINGER_TIMEOUT_MS), so a response is not destroyed by a reset;
 *   - GET only (405 with "Allow: GET" otherwise), origin-form targets ("/path?query"), a Host
 *     header for HTTP/1.1, no request body (400), HTTP/1.0 and 1.1 (505 for other versions),
 *     malformed heads 400, 404 for other paths;
 *   - the request head is at most HTTP_HEAD_BYTES_MAX bytes (431 beyond);
 *   - at most HTTP_CONNECTIONS_MAX connections (more are closed as soon as accepted); a head
 *     not complete after HTTP_READ_TIMEOUT_MS and a response not taken after
 *     HTTP_SEND_TIMEOUT_MS close the connection.
 * Responses are built synchronously on core 0 (a /metrics rendering is bounded by
 * METRICS_TEXT_BYTES_MAX).
 */
#ifndef RILL_BROKER_HTTP_H
#define RILL_BROKER_HTTP_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"

struct broker_core;
struct config_address;
struct http_server;

#define HTTP_CONNECTIONS_MAX   64u
#define HTTP_HEAD_BYTES_MAX    8192u
#define HTTP_READ_TIMEOUT_MS   5000
#define HTTP_SEND_TIMEOUT_MS   10000
#define HTTP_LINGER_TIMEOUT_MS 2000

/*
 * Binds address and prepares the connection slots on core (core 0, whose ring must be ready);
 * sets core->http and arms the first accept. *out_port is the port bound (port 0: a free one).
 * @return RILL_OK, RILL_ERR_NOMEM, or the error of the failed bind/listen.
 */
RILL_MUST_CHECK rill_err http_server_create(struct broker_core *core,
                                            const struct config_address *address,
                                            uint16_t *out_port);

/* Frees everything; call after the ring is gone (io_uring_queue_exit). NULL is allowed. */
void http_server_destroy(struct http_server *server);

/* A completion tagged LOOP_OP_HTTP_*. */
void http_on_cqe(struct http_server *server, const struct io_uring_cqe *cqe);

/* Deadlines; called by the core's tick. NULL is allowed. */
void http_on_tick(struct http_server *server, int64_t now_ns);

/* The broker began shutting down: /health answers 503 from now on. NULL is allowed. */
void http_server_stopping(struct http_server *server);

/* Stops serving: no more accepts, open connections are cut. Idempotent; NULL is allowed. */
void http_server_close(struct http_server *server);

/* True when none of the server's operations is in the ring (after http_server_close, the loop
 * waits for this before it returns). NULL is quiet. */
bool http_server_quiet(const struct http_server *server);

/*
 * Checks a request head received so far (the first bytes bytes of a connection). Returns 0
 * when the head is not complete yet (no empty line) and may still be; otherwise the status
 * the request gets: 200 for a valid GET, with *out_path / *out_path_bytes the path (no query
 * string); 400, 405, 431 or 505 for the rest. Pure: exposed for the unit tests.
 */
int http_request_check(const char *head,
                       size_t bytes,
                       const char **out_path,
                       size_t *out_path_bytes);

#endif
