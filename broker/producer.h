/*
 * producer.h - idempotent produce: per partition, the last PRODUCER_WINDOW batches of each
 * producer id (docs/protocol.md, PRODUCE, Idempotence). Pure: no I/O.
 *
 * For a batch of producer id P, epoch E and sequences [first, last]:
 *   - E older than the epoch known for P           -> RILL_ERR_INVALID_PRODUCER_EPOCH
 *   - [first, last] equal to one of the last 5      -> RILL_ERR_DUPLICATE_SEQUENCE with the
 *     batches of P (same epoch)                        original base offset: not appended
 *   - first != last sequence of P + 1 (same epoch)  -> RILL_ERR_OUT_OF_ORDER_SEQUENCE
 *   - otherwise (also: P unknown to this partition, or a newer epoch) the batch is appended and
 *     recorded by producer_table_record().
 * A producer this partition does not know starts its window at whatever sequence it sends:
 * after eviction or a restart whose tail scan did not reach its batches, refusing it would
 * wedge the producer, and Kafka accepts it too.
 *
 * The table is bounded (PRODUCER_TABLE_MAX producers per partition); when full, the producer
 * that appended least recently is forgotten.
 */
#ifndef RILL_BROKER_PRODUCER_H
#define RILL_BROKER_PRODUCER_H

#include <stdbool.h>
#include <stdint.h>

#include "rill.h"

#define PRODUCER_WINDOW        5
#define PRODUCER_TABLE_MAX     1024u
#define PRODUCER_TABLE_INITIAL 8u

struct producer_batch {
    int32_t sequence_first;
    int32_t sequence_last;
    int64_t offset_base;
};

struct producer_entry {
    int64_t producer_id; /* -1: free slot */
    int16_t epoch;
    uint8_t batch_count;                            /* valid entries of batches (<= window) */
    uint8_t batch_newest;                           /* index of the newest batch */
    struct producer_batch batches[PRODUCER_WINDOW]; /* ring, newest at batch_newest */
    uint64_t last_used;                             /* table clock of its last append */
};

struct producer_table {
    struct producer_entry *entries; /* open addressing, capacity slots (power of two) */
    uint32_t capacity;
    uint32_t count;
    uint64_t clock; /* bumped by every record: orders entries for eviction */
};

void producer_table_init(struct producer_table *table);
void producer_table_deinit(struct producer_table *table);

/* The sequence that follows a batch of record_count records starting at sequence_first
 * (sequences wrap from INT32_MAX to 0). */
int32_t producer_sequence_add(int32_t sequence, int32_t count);

/*
 * Checks a batch against the window (header rules above). On RILL_ERR_DUPLICATE_SEQUENCE,
 * *out_offset_base is the offset the original batch got. RILL_OK means "append it".
 */
RILL_MUST_CHECK rill_err producer_table_check(const struct producer_table *table,
                                              int64_t producer_id,
                                              int16_t epoch,
                                              int32_t sequence_first,
                                              int32_t record_count,
                                              int64_t *out_offset_base);

/* Records an appended batch. RILL_ERR_NOMEM only when the first allocation fails. */
RILL_MUST_CHECK rill_err producer_table_record(struct producer_table *table,
                                               int64_t producer_id,
                                               int16_t epoch,
                                               int32_t sequence_first,
                                               int32_t record_count,
                                               int64_t offset_base);

#endif
