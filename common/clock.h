/*
 * clock.h - time sources. Wall time in ms for record timestamps; monotonic ns for intervals.
 */
#ifndef RILL_COMMON_CLOCK_H
#define RILL_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t rill_clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t rill_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
