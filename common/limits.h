/*
 * limits.h - every compile-time bound of rill in one place, each with its reason. Runtime
 * configuration may lower a limit, never raise it past the bound here.
 */
#ifndef RILL_COMMON_LIMITS_H
#define RILL_COMMON_LIMITS_H

#include <stdint.h>

/* Largest record batch (header included) accepted anywhere. Kafka's default is 1 MiB; we allow
 * up to 16 MiB so that large records are possible, the staging buffers are sized from it. */
#define RILL_BATCH_BYTES_MAX (16u * 1024 * 1024)

/* Default max.batch.bytes of a log. */
#define RILL_BATCH_BYTES_DEFAULT (1u * 1024 * 1024)

/* Records in one batch: bounded so that offset deltas and per-record loops stay bounded. A
 * record takes at least 7 bytes, so a maximal batch cannot hold more than this anyway. */
#define RILL_BATCH_RECORDS_MAX (RILL_BATCH_BYTES_MAX / 7)

/* Headers per record. */
#define RILL_RECORD_HEADERS_MAX 1024

/* A segment's positions are stored in 4 bytes in the offset index. */
#define RILL_SEGMENT_BYTES_MAX     ((uint64_t)UINT32_MAX)
#define RILL_SEGMENT_BYTES_MIN     (64u * 1024)
#define RILL_SEGMENT_BYTES_DEFAULT (1024ull * 1024 * 1024)

/* Offsets in the index are 4 bytes relative to the segment base: a segment rolls before its
 * relative offsets would overflow. */
#define RILL_SEGMENT_OFFSETS_MAX ((int64_t)INT32_MAX)

/* Staging buffer of a partition log: appends are copied here and written with one write. Two
 * of them alternate (one filling while the other is in flight). Must hold a maximal batch. */
#define RILL_LOG_STAGING_BYTES (RILL_BATCH_BYTES_MAX + 1024 * 1024)

/* segment.preallocate.bytes: the zeroed window kept ahead of an active segment's data end
 * (log/partition.c) is at most this; 0 turns it off. Zeros are written in pieces of at most
 * RILL_PREALLOC_CHUNK_BYTES (one static buffer of zeros serves every partition). */
#define RILL_PREALLOC_BYTES_MAX   (1024ull * 1024 * 1024)
#define RILL_PREALLOC_CHUNK_BYTES (1024u * 1024)

/* Sparse index spacing bounds. */
#define RILL_INDEX_INTERVAL_BYTES_MIN     256u
#define RILL_INDEX_INTERVAL_BYTES_DEFAULT 4096u

/* Segments in one partition log: bounds the segment table and the open-time scan. */
#define RILL_SEGMENTS_MAX 65536u

/* io_uring submission queue depth of one ring. */
#define RILL_RING_ENTRIES 256u

/* Paths built from a directory and a file name. */
#define RILL_PATH_BYTES_MAX 4096u

/* Configuration: number of keys and bytes of a value. */
#define RILL_CONF_ENTRIES_MAX     128u
#define RILL_CONF_VALUE_BYTES_MAX 4096u

/* ---- Native protocol (docs/protocol.md) ---- */

/* Frame length prefix bound, checked before anything is allocated for a frame. It must hold a
 * produce request or fetch response carrying a few maximal batches. */
#define RILL_FRAME_BYTES_MAX (64u * 1024 * 1024)

/* Array entries (topics plus partitions, configs...) in one decoded request, in total: bounds
 * the arena a request may use however its arrays are nested. */
#define RILL_PROTO_ARRAY_ENTRIES_MAX 100000u

/* Any msgpack str on the wire; topic names are shorter still (Kafka's limit). */
#define RILL_PROTO_STRING_BYTES_MAX (32u * 1024)
#define RILL_TOPIC_NAME_BYTES_MAX   249u

/* Fetch long-poll bound: larger max_wait_ms values are clamped to it. */
#define RILL_FETCH_WAIT_MS_MAX 30000

/* Requests read from one connection and not yet answered; past it the broker stops reading. */
#define RILL_INFLIGHT_PER_CONN_MAX 64u

/* Arena bytes one decoded request may use (arrays of structs, 100k entries of at most 64
 * bytes). */
#define RILL_PROTO_ARENA_BYTES_MAX (8u * 1024 * 1024)

_Static_assert(RILL_FRAME_BYTES_MAX > RILL_BATCH_BYTES_MAX * 2, "a frame holds batches");
_Static_assert(RILL_TOPIC_NAME_BYTES_MAX < RILL_PROTO_STRING_BYTES_MAX, "names are strings");

_Static_assert(RILL_LOG_STAGING_BYTES > RILL_BATCH_BYTES_MAX, "staging must hold a batch");
_Static_assert(RILL_SEGMENT_BYTES_MAX <= UINT32_MAX, "index positions are 4 bytes");
_Static_assert(RILL_BATCH_BYTES_MAX < RILL_SEGMENT_BYTES_MIN * 1024, "batch fits a segment");

/* ---------------------------------------------------------------------------------------- */
/* Broker (rilld)                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* Connections one broker core serves at once. Their slots are reserved when the core starts;
 * past the bound a new connection is accepted and closed at once, so the backlog drains. */
#define RILL_CONNECTIONS_MAX 4096u

/* Receive buffer of a connection between frames: what an idle connection costs. It grows to
 * the size of the frame being received, never more, and shrinks back once no frame has needed
 * the larger buffer for RILL_CONN_RECV_KEEP_MS (broker/conn.h). */
#define RILL_CONN_RECV_BYTES_INITIAL 4096u
#define RILL_CONN_RECV_KEEP_MS       1000

/* Defaults of the broker's timers (docs/protocol.md, limits). */
#define RILL_IDLE_TIMEOUT_MS_DEFAULT     (10 * 60 * 1000)
#define RILL_FRAME_TIMEOUT_MS_DEFAULT    (30 * 1000)
#define RILL_SHUTDOWN_TIMEOUT_MS_DEFAULT (10 * 1000)

_Static_assert(RILL_CONNECTIONS_MAX < (1u << 24), "a connection slot fits 24 bits of a tag");
_Static_assert(RILL_CONN_RECV_BYTES_INITIAL >= 4, "the buffer holds a frame length prefix");

/* ---- Broker metadata (broker/meta.c) ---- */

/* Partitions of one topic: bounds the per-topic tables and what CREATE_TOPICS may ask for. */
#define RILL_PARTITIONS_MAX 10000

/* Topics of one cluster: bounds the metadata state and the replay of the metadata log. */
#define RILL_TOPICS_MAX 10000u

#endif
