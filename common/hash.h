/*
 * hash.h - the project hash: XXH3-64 (xxHash). Checkpoints, index headers and other non-batch
 * files are checksummed with it.
 */
#ifndef RILL_COMMON_HASH_H
#define RILL_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

static inline uint64_t rill_hash64(const void *data, size_t bytes)
{
    return XXH3_64bits(data, bytes);
}

#endif
