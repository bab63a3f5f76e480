/*
 * producer.h - internals of the producer exposed for unit tests: the partitioner and the
 * record walk that serves delivery reports.
 */
#ifndef RILL_CLIENT_PRODUCER_H
#define RILL_CLIENT_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "rill.h"

/* The partition of a non-null key among partition_count (> 0): XXH3-64 of the key modulo the
 * count, so equal keys always land on the same partition while the count does not change. */
int32_t producer_partition_for_key(const void *key, size_t key_bytes, int32_t partition_count);

/* Key and value of the record encoded at *pos (uncompressed RecordBatch v2 record, written by
 * our own builder); advances *pos past it. NULL pointers for null fields. */
void producer_record_walk(const uint8_t **pos,
                          const void **out_key,
                          size_t *out_key_bytes,
                          const void **out_value,
                          size_t *out_value_bytes);

#endif
