/*
 * fuzz_http_head.c - bytes as rilld's HTTP endpoint receives them (at most HTTP_HEAD_BYTES_MAX).
 * http_request_check() must not crash or over-read; it must return one of the statuses it
 * documents; a 200 must carry a path inside the input that starts with '/' and holds no query;
 * the answer must depend only on the bytes up to the end of the head, so receiving it in
 * pieces gives the same status; and no prefix before the head end is already judged 200.
 */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/assert.h"
#include "broker/http.h"

static int fuzz_check(const uint8_t *data, size_t size, const char **path, size_t *path_bytes)
{
    *path = NULL;
    *path_bytes = 0;
    return http_request_check((const char *)data, size, path, path_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > HTTP_HEAD_BYTES_MAX) {
        size = HTTP_HEAD_BYTES_MAX; /* the server never holds more */
    }
    const char *path = NULL;
    size_t path_bytes = 0;
    int status = fuzz_check(data, size, &path, &path_bytes);
    RILL_ASSERT(status == 0 || status == 200 || status == 400 || status == 405 || status == 431 ||
                status == 505);
    const uint8_t *end = memmem(data, size, "\r\n\r\n", 4);
    RILL_ASSERT((status == 0) == (end == NULL && size < HTTP_HEAD_BYTES_MAX));
    RILL_ASSERT((status == 431) == (end == NULL && size == HTTP_HEAD_BYTES_MAX));
    if (status == 200) {
        RILL_ASSERT(path != NULL && path_bytes > 0);
        RILL_ASSERT((const uint8_t *)path >= data && (const uint8_t *)path + path_bytes <= end);
        RILL_ASSERT(path[0] == '/' && memchr(path, '?', path_bytes) == NULL);
    }
    if (end != NULL) {
        /* The same head alone, and every prefix that stops before its end. */
        size_t head_bytes = (size_t)(end - data) + 4;
        const char *again_path = NULL;
        size_t again_bytes = 0;
        RILL_ASSERT(fuzz_check(data, head_bytes, &again_path, &again_bytes) == status);
        RILL_ASSERT(again_path == path && again_bytes == path_bytes);
        for (size_t cut = 0; cut < head_bytes; cut += 1 + cut / 8) {
            RILL_ASSERT(fuzz_check(data, cut, &again_path, &again_bytes) == 0);
        }
    }
    return 0;
}
