/*
 * crc32c.c - CRC-32C (Castagnoli), the checksum of every record batch.
 *
 * Two implementations of the same raw register update (no pre/post inversion, which the public
 * entry points add):
 *   - software: slicing-by-8, eight 256-entry tables built once at first use;
 *   - x86-64 SSE4.2: the crc32 instruction, 8 bytes at a time. The instruction has a latency of
 *     3 cycles but a throughput of 1 per cycle, so large buffers are cut into three streams that
 *     run interleaved and are then joined with the CRC "shift" (multiplication by x^(8n) modulo
 *     the polynomial), which is linear and done with four table lookups.
 * The choice is made once (pthread_once) from __builtin_cpu_supports and cached.
 *
 * Joining streams: for a raw register r and byte strings A and B,
 *   raw(r, A || B) = shift(raw(r, A), |B|) ^ raw(0, B),
 * where shift(x, n) is raw(x, n zero bytes) = x * x^(8n) mod P.
 */
#include "common/crc32c.h"

#include <pthread.h>
#include <string.h>

#include "common/assert.h"

#define CRC32C_POLYNOMIAL_REFLECTED 0x82F63B78u

/* Stream sizes of the interleaved hardware path: the long one amortises the join over 24 KiB,
 * the short one still helps buffers of a few KiB (typical batches). Multiples of 8. */
#define CRC32C_STREAM_LONG_BYTES  ((size_t)8192)
#define CRC32C_STREAM_SHORT_BYTES ((size_t)256)

typedef uint32_t (*crc32c_raw_fn)(uint32_t crc, const uint8_t *data, size_t bytes);

static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static crc32c_raw_fn crc32c_raw_selected;
static uint32_t crc32c_table[8][256];

static void crc32c_tables_build(void)
{
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ CRC32C_POLYNOMIAL_REFLECTED : crc >> 1;
        }
        crc32c_table[0][byte] = crc;
    }
    for (uint32_t byte = 0; byte < 256; byte++) {
        for (int slice = 1; slice < 8; slice++) {
            uint32_t previous = crc32c_table[slice - 1][byte];
            crc32c_table[slice][byte] = (previous >> 8) ^ crc32c_table[0][previous & 0xff];
        }
    }
}

static inline uint32_t crc32c_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32c_sw_raw(uint32_t crc, const uint8_t *data, size_t bytes)
{
    for (; bytes >= 8; bytes -= 8, data += 8) {
        uint32_t low = crc ^ crc32c_load_le32(data);
        uint32_t high = crc32c_load_le32(data + 4);
        crc = crc32c_table[7][low & 0xff] ^ crc32c_table[6][(low >> 8) & 0xff] ^
              crc32c_table[5][(low >> 16) & 0xff] ^ crc32c_table[4][low >> 24] ^
              crc32c_table[3][high & 0xff] ^ crc32c_table[2][(high >> 8) & 0xff] ^
              crc32c_table[1][(high >> 16) & 0xff] ^ crc32c_table[0][high >> 24];
    }
    for (; bytes > 0; bytes--, data++) {
        crc = crc32c_table[0][(crc ^ *data) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

#if defined(__x86_64__)

/* Multiplies two polynomials modulo P, both in the reflected bit order (x^0 is bit 31). */
static uint32_t crc32c_multiply(uint32_t a, uint32_t b)
{
    uint32_t product = 0;
    for (uint32_t mask = 0x80000000u; mask != 0; mask >>= 1) {
        if ((a & mask) != 0) {
            product ^= b;
        }
        b = (b & 1) != 0 ? (b >> 1) ^ CRC32C_POLYNOMIAL_REFLECTED : b >> 1;
    }
    return product;
}

/* x^(8 * bytes) mod P: the factor that appends `bytes` zero bytes to a raw register. */
static uint32_t crc32c_zeros_factor(size_t bytes)
{
    uint32_t result = 0x80000000u; /* x^0 */
    uint32_t power = 0x40000000u;  /* x^1, squared as the exponent's bits are consumed */
    for (uint64_t exponent = (uint64_t)bytes * 8; exponent != 0; exponent >>= 1) {
        if ((exponent & 1) != 0) {
            result = crc32c_multiply(result, power);
        }
        power = crc32c_multiply(power, power);
    }
    return result;
}

/* shift(x, n) is linear in x, so it splits into one table per byte of x. */
struct crc32c_shift_table {
    uint32_t by_byte[4][256];
};

static struct crc32c_shift_table crc32c_shift_long;
static struct crc32c_shift_table crc32c_shift_short;

static void crc32c_shift_table_build(struct crc32c_shift_table *table, size_t bytes)
{
    uint32_t factor = crc32c_zeros_factor(bytes);
    for (uint32_t position = 0; position < 4; position++) {
        for (uint32_t byte = 0; byte < 256; byte++) {
            table->by_byte[position][byte] = crc32c_multiply(byte << (8 * position), factor);
        }
    }
}

static inline uint32_t crc32c_shift(const struct crc32c_shift_table *table, uint32_t crc)
{
    return table->by_byte[0][crc & 0xff] ^ table->by_byte[1][(crc >> 8) & 0xff] ^
           table->by_byte[2][(crc >> 16) & 0xff] ^ table->by_byte[3][crc >> 24];
}

static inline uint64_t crc32c_load_u64(const uint8_t *p)
{
    uint64_t word;
    memcpy(&word, p, sizeof(word)); /* unaligned loads are fine on x86-64 */
    return word;
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw_serial(uint32_t crc, const uint8_t *data, size_t bytes)
{
    uint64_t crc_wide = crc;
    for (; bytes >= 8; bytes -= 8, data += 8) {
        crc_wide = __builtin_ia32_crc32di(crc_wide, crc32c_load_u64(data));
    }
    uint32_t crc_narrow = (uint32_t)crc_wide;
    for (; bytes > 0; bytes--, data++) {
        crc_narrow = __builtin_ia32_crc32qi(crc_narrow, *data);
    }
    return crc_narrow;
}

/* Raw CRC of exactly 3 * stream_bytes bytes, the three thirds computed side by side. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw_three_streams(
    uint32_t crc, const uint8_t *data, size_t stream_bytes, const struct crc32c_shift_table *shift)
{
    const uint8_t *first = data;
    const uint8_t *second = data + stream_bytes;
    const uint8_t *third = data + 2 * stream_bytes;
    uint64_t crc_first = crc;
    uint64_t crc_second = 0;
    uint64_t crc_third = 0;
    for (size_t done = 0; done < stream_bytes; done += 8) {
        crc_first = __builtin_ia32_crc32di(crc_first, crc32c_load_u64(first + done));
        crc_second = __builtin_ia32_crc32di(crc_second, crc32c_load_u64(second + done));
        crc_third = __builtin_ia32_crc32di(crc_third, crc32c_load_u64(third + done));
    }
    uint32_t joined = crc32c_shift(shift, (uint32_t)crc_first) ^ (uint32_t)crc_second;
    return crc32c_shift(shift, joined) ^ (uint32_t)crc_third;
}

static uint32_t crc32c_hw_raw(uint32_t crc, const uint8_t *data, size_t bytes)
{
    while (bytes >= 3 * CRC32C_STREAM_LONG_BYTES) {
        crc = crc32c_hw_three_streams(crc, data, CRC32C_STREAM_LONG_BYTES, &crc32c_shift_long);
        data += 3 * CRC32C_STREAM_LONG_BYTES;
        bytes -= 3 * CRC32C_STREAM_LONG_BYTES;
    }
    while (bytes >= 3 * CRC32C_STREAM_SHORT_BYTES) {
        crc = crc32c_hw_three_streams(crc, data, CRC32C_STREAM_SHORT_BYTES, &crc32c_shift_short);
        data += 3 * CRC32C_STREAM_SHORT_BYTES;
        bytes -= 3 * CRC32C_STREAM_SHORT_BYTES;
    }
    return crc32c_hw_serial(crc, data, bytes);
}

#endif /* __x86_64__ */

static void crc32c_init(void)
{
    crc32c_tables_build();
    crc32c_raw_selected = crc32c_sw_raw;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        crc32c_shift_table_build(&crc32c_shift_long, CRC32C_STREAM_LONG_BYTES);
        crc32c_shift_table_build(&crc32c_shift_short, CRC32C_STREAM_SHORT_BYTES);
        crc32c_raw_selected = crc32c_hw_raw;
    }
#endif
}

/* Builds the tables on first use; pthread_once makes the first callers wait for each other. */
static void crc32c_ready(void)
{
    int once_err = pthread_once(&crc32c_once, crc32c_init);
    RILL_ASSERT(once_err == 0);
}

uint32_t rill_crc32c(uint32_t crc, const void *data, size_t bytes)
{
    RILL_ASSERT(data != NULL || bytes == 0);
    crc32c_ready();
    if (bytes == 0) {
        return crc;
    }
    return ~crc32c_raw_selected(~crc, data, bytes);
}

uint32_t rill_crc32c_sw(uint32_t crc, const void *data, size_t bytes)
{
    RILL_ASSERT(data != NULL || bytes == 0);
    crc32c_ready();
    if (bytes == 0) {
        return crc;
    }
    return ~crc32c_sw_raw(~crc, data, bytes);
}
