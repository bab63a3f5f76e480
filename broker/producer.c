/*
 * producer.c - idempotence windows (producer.h states the rules).
 *
 * The table is a linear-probing hash map keyed by producer id that starts at
 * PRODUCER_TABLE_INITIAL slots and doubles while at most half full, up to twice the bound. Eviction
 * of the least recently used entry keeps the probe chains valid by re-inserting the entries that
 * follow the freed slot (backward-shift deletion).
 */
#include "broker/producer.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/hash.h"

void producer_table_init(struct producer_table *table)
{
    memset(table, 0, sizeof(*table));
}

void producer_table_deinit(struct producer_table *table)
{
    free(table->entries);
    memset(table, 0, sizeof(*table));
}

int32_t producer_sequence_add(int32_t sequence, int32_t count)
{
    int64_t next = (int64_t)sequence + count;
    if (next > INT32_MAX) {
        next -= (int64_t)INT32_MAX + 1;
    }
    return (int32_t)next;
}

static uint32_t producer_slot_home(const struct producer_table *table, int64_t producer_id)
{
    return (uint32_t)rill_hash64(&producer_id, sizeof(producer_id)) & (table->capacity - 1);
}

static struct producer_entry *producer_find(const struct producer_table *table, int64_t id)
{
    if (table->entries == NULL) {
        return NULL;
    }
    uint32_t slot = producer_slot_home(table, id);
    for (uint32_t probe = 0; probe < table->capacity; probe++) {
        struct producer_entry *entry = &table->entries[slot];
        if (entry->producer_id == id) {
            return entry;
        }
        if (entry->producer_id < 0) {
            return NULL;
        }
        slot = (slot + 1) & (table->capacity - 1);
    }
    return NULL;
}

rill_err producer_table_check(const struct producer_table *table,
                              int64_t producer_id,
                              int16_t epoch,
                              int32_t sequence_first,
                              int32_t record_count,
                              int64_t *out_offset_base)
{
    const struct producer_entry *entry = producer_find(table, producer_id);
    if (entry == NULL || entry->batch_count == 0 || epoch > entry->epoch) {
        return RILL_OK;
    }
    if (epoch < entry->epoch) {
        return RILL_ERR_INVALID_PRODUCER_EPOCH;
    }
    int32_t sequence_last = producer_sequence_add(sequence_first, record_count - 1);
    for (uint32_t i = 0; i < entry->batch_count; i++) {
        const struct producer_batch *batch = &entry->batches[i];
        if (batch->sequence_first == sequence_first && batch->sequence_last == sequence_last) {
            *out_offset_base = batch->offset_base;
            return RILL_ERR_DUPLICATE_SEQUENCE;
        }
    }
    const struct producer_batch *newest = &entry->batches[entry->batch_newest];
    if (sequence_first != producer_sequence_add(newest->sequence_last, 1)) {
        return RILL_ERR_OUT_OF_ORDER_SEQUENCE;
    }
    return RILL_OK;
}

/* Frees slot and shifts back the entries of its probe chain that would no longer be found. */
static void producer_remove_slot(struct producer_table *table, uint32_t slot)
{
    uint32_t mask = table->capacity - 1;
    table->entries[slot].producer_id = -1;
    table->count--;
    uint32_t hole = slot;
    for (uint32_t next = (slot + 1) & mask; table->entries[next].producer_id >= 0;
         next = (next + 1) & mask) {
        uint32_t home = producer_slot_home(table, table->entries[next].producer_id);
        /* Move it into the hole if its home does not lie in (hole, next] cyclically. */
        bool home_after_hole = ((next - home) & mask) >= ((next - hole) & mask);
        if (home_after_hole) {
            table->entries[hole] = table->entries[next];
            table->entries[next].producer_id = -1;
            hole = next;
        }
    }
}

static void producer_evict_oldest(struct producer_table *table)
{
    uint32_t oldest = UINT32_MAX;
    for (uint32_t i = 0; i < table->capacity; i++) {
        if (table->entries[i].producer_id >= 0 &&
            (oldest == UINT32_MAX ||
             table->entries[i].last_used < table->entries[oldest].last_used)) {
            oldest = i;
        }
    }
    RILL_ASSERT(oldest != UINT32_MAX);
    producer_remove_slot(table, oldest);
}

/* Places entry (a live one) in table's array without checking the bound. */
static void producer_place(struct producer_table *table, const struct producer_entry *entry)
{
    uint32_t slot = producer_slot_home(table, entry->producer_id);
    while (table->entries[slot].producer_id >= 0) {
        slot = (slot + 1) & (table->capacity - 1);
    }
    table->entries[slot] = *entry;
}

/* Doubles the array (it starts small: most partitions see few producers, and a partition's
 * memory is bounded), rehashing the live entries. */
static rill_err producer_grow(struct producer_table *table)
{
    uint32_t capacity = table->capacity == 0 ? PRODUCER_TABLE_INITIAL : table->capacity * 2;
    struct producer_entry *entries = malloc(capacity * sizeof(*entries));
    if (entries == NULL) {
        return RILL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < capacity; i++) {
        entries[i].producer_id = -1;
    }
    struct producer_entry *old = table->entries;
    uint32_t old_capacity = table->capacity;
    table->entries = entries;
    table->capacity = capacity;
    for (uint32_t i = 0; i < old_capacity; i++) {
        if (old[i].producer_id >= 0) {
            producer_place(table, &old[i]);
        }
    }
    free(old);
    return RILL_OK;
}

static rill_err producer_insert(struct producer_table *table,
                                int64_t producer_id,
                                struct producer_entry **out_entry)
{
    if (table->count >= PRODUCER_TABLE_MAX) {
        producer_evict_oldest(table);
    } else if ((table->count + 1) * 2 > table->capacity) {
        /* At most half full keeps probe chains short; the last size is 2 x the bound. */
        rill_err err = producer_grow(table);
        if (err != RILL_OK) {
            return err;
        }
    }
    uint32_t slot = producer_slot_home(table, producer_id);
    while (table->entries[slot].producer_id >= 0) {
        slot = (slot + 1) & (table->capacity - 1);
    }
    struct producer_entry *entry = &table->entries[slot];
    memset(entry, 0, sizeof(*entry));
    entry->producer_id = producer_id;
    table->count++;
    *out_entry = entry;
    return RILL_OK;
}

rill_err producer_table_record(struct producer_table *table,
                               int64_t producer_id,
                               int16_t epoch,
                               int32_t sequence_first,
                               int32_t record_count,
                               int64_t offset_base)
{
    RILL_ASSERT(producer_id >= 0 && record_count > 0);
    struct producer_entry *entry = producer_find(table, producer_id);
    if (entry == NULL) {
        rill_err err = producer_insert(table, producer_id, &entry);
        if (err != RILL_OK) {
            return err;
        }
    }
    if (entry->batch_count > 0 && epoch != entry->epoch) {
        entry->batch_count = 0; /* a new epoch starts a new window */
    }
    entry->epoch = epoch;
    entry->batch_newest =
        entry->batch_count == 0 ? 0 : (uint8_t)((entry->batch_newest + 1) % PRODUCER_WINDOW);
    entry->batches[entry->batch_newest] = (struct producer_batch){
        .sequence_first = sequence_first,
        .sequence_last = producer_sequence_add(sequence_first, record_count - 1),
        .offset_base = offset_base,
    };
    if (entry->batch_count < PRODUCER_WINDOW) {
        entry->batch_count++;
    }
    entry->last_used = ++table->clock;
    return RILL_OK;
}
