/*
 * gmap.c - open-addressing hash tables of the group coordinator (gmap.h).
 */
#include "consumer/gmap.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/assert.h"

#define GMAP_CAP_MIN 16u
#define GMAP_CAP_MAX (1u << 30)

/* splitmix64's finalizer: spreads partition keys (small, dense numbers) over the slots. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* ---------------------------------------------------------------------------------------- */
/* uint64 keys                                                                              */
/* ---------------------------------------------------------------------------------------- */

static uint32_t u64_find(const struct gmap_u64 *map, uint64_t key)
{
    uint32_t mask = map->cap - 1;
    uint32_t i = (uint32_t)mix64(key) & mask;
    while (map->keys[i] != 0 && map->keys[i] != key) {
        i = (i + 1) & mask;
    }
    return i;
}

void *gmap_u64_get(const struct gmap_u64 *map, uint64_t key)
{
    if (map->cap == 0 || key == 0) {
        return NULL;
    }
    uint32_t i = u64_find(map, key);
    return map->keys[i] == key ? map->vals[i] : NULL;
}

static rill_err u64_resize(struct gmap_u64 *map, uint32_t cap)
{
    uint64_t *keys = calloc(cap, sizeof(*keys));
    void **vals = calloc(cap, sizeof(*vals));
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return RILL_ERR_NOMEM;
    }
    struct gmap_u64 next = { .keys = keys, .vals = vals, .cap = cap, .count = map->count };
    for (uint32_t i = 0; i < map->cap; i++) {
        if (map->keys[i] != 0) {
            uint32_t j = u64_find(&next, map->keys[i]);
            keys[j] = map->keys[i];
            vals[j] = map->vals[i];
        }
    }
    free(map->keys);
    free(map->vals);
    *map = next;
    return RILL_OK;
}

rill_err gmap_u64_reserve(struct gmap_u64 *map, uint32_t count)
{
    if (count > GMAP_CAP_MAX / 2) {
        return RILL_ERR_NOMEM;
    }
    uint32_t cap = map->cap > 0 ? map->cap : GMAP_CAP_MIN;
    while (count > cap / 2) {
        cap *= 2;
    }
    return cap != map->cap ? u64_resize(map, cap) : RILL_OK;
}

rill_err gmap_u64_put(struct gmap_u64 *map, uint64_t key, void *val)
{
    RILL_ASSERT(key != 0);
    rill_err err = gmap_u64_reserve(map, map->count + 1);
    if (err != RILL_OK) {
        return err;
    }
    uint32_t i = u64_find(map, key);
    if (map->keys[i] == 0) {
        map->keys[i] = key;
        map->count++;
    }
    map->vals[i] = val;
    return RILL_OK;
}

void *gmap_u64_del(struct gmap_u64 *map, uint64_t key)
{
    if (map->cap == 0 || key == 0) {
        return NULL;
    }
    uint32_t mask = map->cap - 1;
    uint32_t i = u64_find(map, key);
    if (map->keys[i] != key) {
        return NULL;
    }
    void *val = map->vals[i];
    /* Backward shift: pull later entries of the probe run into the hole when their home slot
     * does not lie strictly between the hole and their position. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; map->keys[j] != 0; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)mix64(map->keys[j]) & mask;
        bool between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!between) {
            map->keys[hole] = map->keys[j];
            map->vals[hole] = map->vals[j];
            hole = j;
        }
    }
    map->keys[hole] = 0;
    map->vals[hole] = NULL;
    map->count--;
    return val;
}

void gmap_u64_clear(struct gmap_u64 *map)
{
    if (map->cap > 0) {
        memset(map->keys, 0, map->cap * sizeof(*map->keys));
        memset(map->vals, 0, map->cap * sizeof(*map->vals));
    }
    map->count = 0;
}

void gmap_u64_free(struct gmap_u64 *map)
{
    free(map->keys);
    free(map->vals);
    *map = (struct gmap_u64){ 0 };
}

/* ---------------------------------------------------------------------------------------- */
/* string keys                                                                              */
/* ---------------------------------------------------------------------------------------- */

void gmap_str_init(struct gmap_str *map, uint64_t seed)
{
    *map = (struct gmap_str){ .seed = seed };
}

static uint64_t str_hash(const struct gmap_str *map, const char *key, uint32_t bytes)
{
    return XXH3_64bits_withSeed(key, bytes, map->seed);
}

static uint32_t str_find(const struct gmap_str *map, const char *key, uint32_t bytes, uint64_t hash)
{
    uint32_t mask = map->cap - 1;
    uint32_t i = (uint32_t)hash & mask;
    for (;;) {
        const struct gmap_str_slot *s = &map->slots[i];
        if (s->key == NULL ||
            (s->hash == hash && s->bytes == bytes && memcmp(s->key, key, bytes) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

void *gmap_str_get(const struct gmap_str *map, const char *key, uint32_t bytes)
{
    if (map->cap == 0) {
        return NULL;
    }
    uint32_t i = str_find(map, key, bytes, str_hash(map, key, bytes));
    return map->slots[i].key != NULL ? map->slots[i].val : NULL;
}

static rill_err str_resize(struct gmap_str *map, uint32_t cap)
{
    struct gmap_str_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return RILL_ERR_NOMEM;
    }
    uint32_t mask = cap - 1;
    for (uint32_t i = 0; i < map->cap; i++) {
        const struct gmap_str_slot *s = &map->slots[i];
        if (s->key != NULL) {
            uint32_t j = (uint32_t)s->hash & mask;
            while (slots[j].key != NULL) {
                j = (j + 1) & mask;
            }
            slots[j] = *s;
        }
    }
    free(map->slots);
    map->slots = slots;
    map->cap = cap;
    return RILL_OK;
}

rill_err gmap_str_put(struct gmap_str *map, const char *key, uint32_t bytes, void *val)
{
    if (map->count + 1 > map->cap / 2) {
        if (map->cap >= GMAP_CAP_MAX) {
            return RILL_ERR_NOMEM;
        }
        rill_err err = str_resize(map, map->cap > 0 ? map->cap * 2 : GMAP_CAP_MIN);
        if (err != RILL_OK) {
            return err;
        }
    }
    uint64_t hash = str_hash(map, key, bytes);
    uint32_t i = str_find(map, key, bytes, hash);
    RILL_ASSERT(map->slots[i].key == NULL);
    map->slots[i] = (struct gmap_str_slot){ .key = key, .bytes = bytes, .hash = hash, .val = val };
    map->count++;
    return RILL_OK;
}

void *gmap_str_del(struct gmap_str *map, const char *key, uint32_t bytes)
{
    if (map->cap == 0) {
        return NULL;
    }
    uint32_t mask = map->cap - 1;
    uint32_t i = str_find(map, key, bytes, str_hash(map, key, bytes));
    if (map->slots[i].key == NULL) {
        return NULL;
    }
    void *val = map->slots[i].val;
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; map->slots[j].key != NULL; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)map->slots[j].hash & mask;
        bool between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!between) {
            map->slots[hole] = map->slots[j];
            hole = j;
        }
    }
    map->slots[hole] = (struct gmap_str_slot){ 0 };
    map->count--;
    return val;
}

void gmap_str_free(struct gmap_str *map)
{
    free(map->slots);
    map->slots = NULL;
    map->cap = 0;
    map->count = 0;
}
