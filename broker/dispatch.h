/*
 * dispatch.h - from a request frame to its response frame: header decoding, the table of the
 * APIs this broker implements, and error responses for everything else.
 */
#ifndef RILL_BROKER_DISPATCH_H
#define RILL_BROKER_DISPATCH_H

#include <stdint.h>

#include "rill.h"

struct broker_core;
struct mp_writer;

/*
 * Handles one request; frame is the frame without its length prefix (borrowed for the call).
 * On RILL_OK, writer holds the complete response frame (length prefix included), or nothing
 * for a request that is not answered. Unknown apis, unsupported versions and malformed bodies
 * get an error response and RILL_OK: the connection stays usable.
 * @return RILL_OK; RILL_ERR_INVALID_REQUEST when the request header cannot be read (close the
 *         connection: nothing can be answered without a correlation id); RILL_ERR_NOMEM.
 */
RILL_MUST_CHECK rill_err dispatch_request(struct broker_core *core,
                                          const uint8_t *frame,
                                          uint32_t frame_bytes,
                                          struct mp_writer *writer);

#endif
