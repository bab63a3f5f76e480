/*
 * gmap.h - the two small open-addressing hash tables of the group coordinator (group.c):
 * uint64 keys (partitions as topic id << 32 | partition) and byte-string keys (group ids,
 * member ids, topic names). Linear probing, at most half full, deletion by backward shift (no
 * tombstones), so lookups stay short whatever the history. Values are borrowed pointers.
 *
 * String hashes are seeded (XXH3 with a per-table seed) so that ids chosen by clients cannot be
 * crafted offline to collide. Iteration walks the slots directly (keys/slots arrays); a table
 * must not change while it is walked.
 */
#ifndef RILL_CONSUMER_GMAP_H
#define RILL_CONSUMER_GMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"

/* uint64 -> pointer; key 0 is reserved (an empty slot). */
struct gmap_u64 {
    uint64_t *keys; /* cap slots; 0: empty */
    void **vals;    /* cap slots */
    uint32_t cap;   /* power of two, or 0 before the first insert */
    uint32_t count; /* keys held */
};

void *gmap_u64_get(const struct gmap_u64 *map, uint64_t key);
/* Inserts or replaces. RILL_ERR_NOMEM leaves the table unchanged. */
RILL_MUST_CHECK rill_err gmap_u64_put(struct gmap_u64 *map, uint64_t key, void *val);
/* Makes room for count keys in total, so that the next puts up to it cannot fail. */
RILL_MUST_CHECK rill_err gmap_u64_reserve(struct gmap_u64 *map, uint32_t count);
/* Removes key; returns its value, or NULL when absent. */
void *gmap_u64_del(struct gmap_u64 *map, uint64_t key);
/* Empties the table, keeping its memory. */
void gmap_u64_clear(struct gmap_u64 *map);
void gmap_u64_free(struct gmap_u64 *map);

struct gmap_str_slot {
    const char *key; /* NULL: empty; borrowed from the value (must stay put while held) */
    uint32_t bytes;  /* key length */
    uint64_t hash;   /* seeded hash of the key */
    void *val;       /* the value */
};

/* bytes string -> pointer. */
struct gmap_str {
    struct gmap_str_slot *slots; /* cap slots */
    uint32_t cap;                /* power of two, or 0 before the first insert */
    uint32_t count;              /* keys held */
    uint64_t seed;               /* hash seed */
};

void gmap_str_init(struct gmap_str *map, uint64_t seed);
void *gmap_str_get(const struct gmap_str *map, const char *key, uint32_t bytes);
/* Inserts key (which must not be present); key must stay valid while it is in the table. */
RILL_MUST_CHECK rill_err gmap_str_put(struct gmap_str *map,
                                      const char *key,
                                      uint32_t bytes,
                                      void *val);
void *gmap_str_del(struct gmap_str *map, const char *key, uint32_t bytes);
void gmap_str_free(struct gmap_str *map);

#endif
