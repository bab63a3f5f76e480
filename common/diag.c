/*
 * diag.c - diagnostic lines to stderr. Level from diag_set_level() or RILL_DIAG_LEVEL
 * (error|warn|info|debug) in the environment.
 */
#include "common/diag.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Atomic: threads of rilld log concurrently; the first reader resolves the environment (two
 * racing first readers compute the same value). */
static _Atomic int diag_level_current = -1;

static const char *const diag_level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

static int diag_level_get(void)
{
    int level = atomic_load_explicit(&diag_level_current, memory_order_relaxed);
    if (level < 0) {
        const char *env = getenv("RILL_DIAG_LEVEL");
        level = DIAG_LEVEL_WARN;
        if (env != NULL) {
            for (int i = 0; i <= DIAG_LEVEL_DEBUG; i++) {
                if (strcasecmp(env, diag_level_names[i]) == 0) {
                    level = i;
                }
            }
        }
        atomic_store_explicit(&diag_level_current, level, memory_order_relaxed);
    }
    return level;
}

void diag_set_level(enum diag_level level)
{
    atomic_store_explicit(&diag_level_current, (int)level, memory_order_relaxed);
}

int diag_enabled(enum diag_level level)
{
    return (int)level <= diag_level_get();
}

void diag_write(enum diag_level level, const char *component, const char *fmt, ...)
{
    if (!diag_enabled(level)) {
        return;
    }
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int used = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, ts.tv_nsec / 1000000, diag_level_names[level], component);
    if (used < 0 || (size_t)used >= sizeof(line)) {
        used = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + used, sizeof(line) - (size_t)used, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
