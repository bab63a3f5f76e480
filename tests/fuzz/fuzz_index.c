/*
 * fuzz_index.c - index file images and recovery checkpoints from arbitrary bytes: decoding must
 * reject or accept without crashing, and whatever is accepted must be internally consistent
 * (entries grow, lookups stay within the segment) and re-encode to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/assert.h"
#include "log/index.h"
#include "log/partition.h"

static void fuzz_index_kind(const uint8_t *data, size_t size, uint32_t kind, int64_t offset_base)
{
    struct log_index idx;
    struct log_index_summary summary;
    log_index_init(&idx);
    if (log_index_decode(&idx, kind, offset_base, data, size, &summary) == RILL_OK) {
        for (uint32_t i = 1; i < idx.entry_count; i++) {
            RILL_ASSERT(idx.entries[i].position > idx.entries[i - 1].position);
        }
        for (uint32_t probe = 0; probe < 64; probe++) {
            RILL_ASSERT(log_index_lookup(&idx, probe * 997u) < summary.segment_bytes ||
                        idx.entry_count == 0);
            (void)log_index_time_lookup(&idx, (int64_t)probe * 1000);
        }
        size_t bytes = log_index_file_bytes(&idx, kind);
        RILL_ASSERT(bytes == size);
        uint8_t *again = malloc(bytes);
        RILL_ASSERT(again != NULL);
        log_index_encode(&idx, kind, &summary, again);
        RILL_ASSERT(memcmp(again, data, size) == 0);
        free(again);
    }
    log_index_deinit(&idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The base offset the file must claim is taken from bytes 16..23 when present, so valid
     * images from the corpus decode and mutations explore the checks after the header. */
    int64_t offset_base = size >= 24 ? (int64_t)log_be64(data + 16) : 0;
    fuzz_index_kind(data, size, LOG_INDEX_KIND_OFFSET, offset_base);
    fuzz_index_kind(data, size, LOG_INDEX_KIND_TIME, offset_base);
    struct log_checkpoint ckpt;
    if (log_checkpoint_decode(data, size, &ckpt) == RILL_OK) {
        uint8_t again[LOG_CHECKPOINT_BYTES];
        log_checkpoint_encode(&ckpt, again);
        RILL_ASSERT(memcmp(again, data, sizeof(again)) == 0);
    }
    return 0;
}
