/*
 * conf.h - internal side of rill_conf_t: the key table and typed getters.
 *
 * Every key rill understands is in one table (common/conf.c) with its kind and default, so a
 * key is validated once, when set, and read back already parsed.
 */
#ifndef RILL_COMMON_CONF_H
#define RILL_COMMON_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "rill.h"

/* Parses "123", "64k", "1m", "2g" (powers of 1024) or "-1" when allow_negative_one. */
RILL_MUST_CHECK rill_err conf_parse_size(const char *text, bool allow_negative_one, int64_t *out);
/* Parses a non-negative integer number of milliseconds, or -1 when allow_negative_one. */
RILL_MUST_CHECK rill_err conf_parse_ms(const char *text, bool allow_negative_one, int64_t *out);

/* The value of key: set in conf (may be NULL) or the table default. NULL for unknown keys. */
const char *conf_value(const rill_conf_t *conf, const char *key);
/* Typed getters over conf_value(); the value was validated when set, defaults are valid. */
int64_t conf_int64(const rill_conf_t *conf, const char *key);

#endif
