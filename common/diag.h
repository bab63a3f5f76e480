/*
 * diag.h - diagnostic output: one line per event, "time level component key=value ...".
 * The library is quiet below WARN by default; RILL_DEBUG_CATEGORIES (io,log) enables DEBUG.
 */
#ifndef RILL_COMMON_DIAG_H
#define RILL_COMMON_DIAG_H

enum diag_level { DIAG_LEVEL_ERROR, DIAG_LEVEL_WARN, DIAG_LEVEL_INFO, DIAG_LEVEL_DEBUG };

/* Lowest level printed; default WARN. */
void diag_set_level(enum diag_level level);
int diag_enabled(enum diag_level level);
void diag_write(enum diag_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define DIAG_ERROR(comp, ...) diag_write(DIAG_LEVEL_ERROR, comp, __VA_ARGS__)
#define DIAG_WARN(comp, ...)  diag_write(DIAG_LEVEL_WARN, comp, __VA_ARGS__)
#define DIAG_INFO(comp, ...)  diag_write(DIAG_LEVEL_INFO, comp, __VA_ARGS__)
#define DIAG_DEBUG(comp, ...)                                \
    do {                                                     \
        if (diag_enabled(DIAG_LEVEL_DEBUG)) {                \
            diag_write(DIAG_LEVEL_DEBUG, comp, __VA_ARGS__); \
        }                                                    \
    } while (0)

#endif
