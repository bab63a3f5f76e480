/*
 * arena.h - the bump allocator a decoded request's arrays live in. One arena per connection
 * (or per decoder), reset after each request's response went out: nothing is freed piecemeal.
 *
 * Two bounds make a hostile request cheap to refuse: bytes_max caps the memory handed out, and
 * a budget of array entries (RILL_PROTO_ARRAY_ENTRIES_MAX per reset) caps the entries all the
 * arrays of one request may declare together, however they nest.
 */
#ifndef RILL_PROTO_ARENA_H
#define RILL_PROTO_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"

struct proto_arena_block;

struct proto_arena {
    struct proto_arena_block *blocks; /* newest first; the oldest is kept across resets */
    size_t bytes_used;                /* bytes handed out since the last reset */
    size_t bytes_max;                 /* cap on bytes_used */
    uint32_t entries_remaining;       /* array entries the current request may still declare */
    rill_err err;                     /* why the last allocation failed: TOO_LARGE or NOMEM */
};

/* An empty arena that hands out at most bytes_max bytes between resets; allocates nothing. */
void proto_arena_init(struct proto_arena *arena, size_t bytes_max);

/* Forgets every allocation (pointers into it become invalid), keeps one block for reuse, and
 * restores the entry budget. */
void proto_arena_reset(struct proto_arena *arena);

/* Frees every block. */
void proto_arena_deinit(struct proto_arena *arena);

/* count elements of element_bytes each, zeroed, aligned for any type; NULL when count is 0 or
 * on failure (arena->err says why: RILL_ERR_TOO_LARGE past bytes_max, RILL_ERR_NOMEM). */
void *proto_arena_alloc(struct proto_arena *arena, size_t count, size_t element_bytes);

/* Takes count entries from the request's budget; false (nothing taken) when it would run out. */
bool proto_arena_take_entries(struct proto_arena *arena, uint32_t count);

#endif
