/*
 * arena.c - bump allocation over malloc'd blocks (arena.h). Blocks are at least
 * ARENA_BLOCK_BYTES; a larger request gets a block of its own size.
 */
#include "proto/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/limits.h"

#define ARENA_BLOCK_BYTES (64u * 1024)
#define ARENA_ALIGN       ((size_t)alignof(max_align_t))

struct proto_arena_block {
    struct proto_arena_block *next; /* older block */
    size_t capacity_bytes;          /* bytes at data */
    size_t used_bytes;              /* bytes handed out from data */
    alignas(max_align_t) unsigned char data[];
};

void proto_arena_init(struct proto_arena *arena, size_t bytes_max)
{
    RILL_ASSERT(arena != NULL);
    memset(arena, 0, sizeof(*arena));
    arena->bytes_max = bytes_max;
    arena->entries_remaining = RILL_PROTO_ARRAY_ENTRIES_MAX;
    arena->err = RILL_OK;
}

void proto_arena_reset(struct proto_arena *arena)
{
    struct proto_arena_block *block = arena->blocks;
    while (block != NULL && block->next != NULL) {
        struct proto_arena_block *next = block->next;
        free(block);
        block = next;
    }
    if (block != NULL) {
        block->used_bytes = 0;
    }
    arena->blocks = block;
    arena->bytes_used = 0;
    arena->entries_remaining = RILL_PROTO_ARRAY_ENTRIES_MAX;
    arena->err = RILL_OK;
}

void proto_arena_deinit(struct proto_arena *arena)
{
    struct proto_arena_block *block = arena->blocks;
    while (block != NULL) {
        struct proto_arena_block *next = block->next;
        free(block);
        block = next;
    }
    memset(arena, 0, sizeof(*arena));
}

void *proto_arena_alloc(struct proto_arena *arena, size_t count, size_t element_bytes)
{
    RILL_ASSERT(element_bytes > 0);
    if (count == 0) {
        return NULL;
    }
    if (count > (SIZE_MAX - ARENA_ALIGN) / element_bytes) {
        arena->err = RILL_ERR_TOO_LARGE;
        return NULL;
    }
    size_t bytes = (count * element_bytes + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (bytes > arena->bytes_max - arena->bytes_used) {
        arena->err = RILL_ERR_TOO_LARGE;
        return NULL;
    }
    struct proto_arena_block *block = arena->blocks;
    if (block == NULL || block->capacity_bytes - block->used_bytes < bytes) {
        size_t capacity = bytes > ARENA_BLOCK_BYTES ? bytes : ARENA_BLOCK_BYTES;
        block = malloc(sizeof(*block) + capacity);
        if (block == NULL) {
            arena->err = RILL_ERR_NOMEM;
            return NULL;
        }
        block->capacity_bytes = capacity;
        block->used_bytes = 0;
        block->next = arena->blocks;
        arena->blocks = block;
    }
    void *out = block->data + block->used_bytes;
    block->used_bytes += bytes;
    arena->bytes_used += bytes;
    memset(out, 0, bytes);
    return out;
}

bool proto_arena_take_entries(struct proto_arena *arena, uint32_t count)
{
    if (count > arena->entries_remaining) {
        return false;
    }
    arena->entries_remaining -= count;
    return true;
}
