/*
 * assert.h - assertions that stay on in release builds.
 *
 * RILL_ASSERT is for programmer errors only: never for bytes read from disk or network.
 * RILL_DASSERT is for costly checks, compiled in debug and sanitizer builds (RILL_DEBUG).
 */
#ifndef RILL_COMMON_ASSERT_H
#define RILL_COMMON_ASSERT_H

_Noreturn void rill_assert_fail(const char *expr, const char *file, int line, const char *func);

#define RILL_ASSERT(x)                                          \
    do {                                                        \
        if (__builtin_expect(!(x), 0)) {                        \
            rill_assert_fail(#x, __FILE__, __LINE__, __func__); \
        }                                                       \
    } while (0)

#if defined(RILL_DEBUG)
#define RILL_DASSERT(x) RILL_ASSERT(x)
#else
#define RILL_DASSERT(x) ((void)0)
#endif

#define RILL_UNREACHABLE() rill_assert_fail("unreachable", __FILE__, __LINE__, __func__)

#define RILL_ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
