/*
 * test_common_crc32c.c - CRC-32C: published check values, incremental use, and the hardware
 * path (taken by rill_crc32c on CPUs with SSE4.2) against the portable table implementation
 * on every small length, odd alignments, and sizes that reach the interleaved streams.
 */
#include "common/crc32c.h"

#include "tests/harness.h"

#define BUFFER_BYTES_MAX (200u * 1024)

static void fill_random(uint8_t *buf, size_t bytes, uint64_t *state)
{
    for (size_t i = 0; i < bytes; i++) {
        buf[i] = (uint8_t)t_rand(state);
    }
}

/* Both implementations must give the expected value. */
static void check_both(const void *data, size_t bytes, uint32_t expected)
{
    T_ASSERT_EQ_INT(rill_crc32c(0, data, bytes), expected);
    T_ASSERT_EQ_INT(rill_crc32c_sw(0, data, bytes), expected);
}

static void t_check_value(void)
{
    check_both("123456789", 9, 0xE3069283u);
}

/* RFC 3720 (iSCSI) appendix B.4 vectors. */
static void t_iscsi_vectors(void)
{
    uint8_t buf[32];
    memset(buf, 0, sizeof(buf));
    check_both(buf, sizeof(buf), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    check_both(buf, sizeof(buf), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)i;
    }
    check_both(buf, sizeof(buf), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)(31 - i);
    }
    check_both(buf, sizeof(buf), 0x113FDB5Cu);
}

static void t_empty_input_keeps_crc(void)
{
    T_ASSERT_EQ_INT(rill_crc32c(0, NULL, 0), 0);
    T_ASSERT_EQ_INT(rill_crc32c(0x12345678u, NULL, 0), 0x12345678u);
    T_ASSERT_EQ_INT(rill_crc32c_sw(0xdeadbeefu, "", 0), 0xdeadbeefu);
}

/* Feeding a buffer in pieces gives the same CRC as one call, for every split point. */
static void t_incremental_equals_one_shot(void)
{
    static uint8_t buf[4096];
    uint64_t state = T_SEED;
    fill_random(buf, sizeof(buf), &state);
    uint32_t whole = rill_crc32c(0, buf, sizeof(buf));
    T_ASSERT_EQ_INT(whole, rill_crc32c_sw(0, buf, sizeof(buf)));
    for (size_t split = 0; split <= sizeof(buf); split += 7) {
        uint32_t crc = rill_crc32c(0, buf, split);
        T_ASSERT_EQ_INT(rill_crc32c(crc, buf + split, sizeof(buf) - split), whole);
        crc = rill_crc32c_sw(0, buf, split);
        T_ASSERT_EQ_INT(rill_crc32c_sw(crc, buf + split, sizeof(buf) - split), whole);
    }
    uint32_t crc = 0;
    for (size_t done = 0; done < sizeof(buf); done += 3) {
        size_t piece = sizeof(buf) - done < 3 ? sizeof(buf) - done : 3;
        crc = rill_crc32c(crc, buf + done, piece);
    }
    T_ASSERT_EQ_INT(crc, whole);
}

/* Every length 0..300 at every alignment 0..15, from random starting CRCs. */
static void t_hardware_equals_software_small(void)
{
    static uint8_t buf[300 + 16];
    uint64_t state = T_SEED;
    fill_random(buf, sizeof(buf), &state);
    for (size_t alignment = 0; alignment < 16; alignment++) {
        for (size_t bytes = 0; bytes <= 300; bytes++) {
            uint32_t start = (uint32_t)t_rand(&state);
            uint32_t software = rill_crc32c_sw(start, buf + alignment, bytes);
            uint32_t dispatched = rill_crc32c(start, buf + alignment, bytes);
            if (software != dispatched) {
                T_FAIL("length %zu alignment %zu: %08x != %08x", bytes, alignment, software,
                       dispatched);
            }
        }
    }
}

/* Sizes around the interleaved-stream thresholds (768 and 24576 bytes) and far beyond. */
static void t_hardware_equals_software_large(void)
{
    uint8_t *buf = malloc(BUFFER_BYTES_MAX + 8);
    T_ASSERT(buf != NULL);
    uint64_t state = T_SEED;
    fill_random(buf, BUFFER_BYTES_MAX + 8, &state);
    const size_t sizes[] = { 767,    768,    769,    775,    776,
                             1535,   1536,   2311,   24575,  24576,
                             24577,  24583,  49152,  49159,  65536,
                             100001, 131072, 150000, 199999, BUFFER_BYTES_MAX };
    for (size_t i = 0; i < T_COUNT(sizes); i++) {
        for (size_t alignment = 0; alignment < 8; alignment += 3) {
            uint32_t software = rill_crc32c_sw(0, buf + alignment, sizes[i]);
            uint32_t dispatched = rill_crc32c(0, buf + alignment, sizes[i]);
            if (software != dispatched) {
                T_FAIL("length %zu alignment %zu: %08x != %08x", sizes[i], alignment, software,
                       dispatched);
            }
        }
    }
    for (int round = 0; round < 200; round++) {
        size_t bytes = (size_t)(t_rand(&state) % BUFFER_BYTES_MAX);
        size_t alignment = (size_t)(t_rand(&state) % 8);
        uint32_t start = (uint32_t)t_rand(&state);
        T_ASSERT_EQ_INT(rill_crc32c(start, buf + alignment, bytes),
                        rill_crc32c_sw(start, buf + alignment, bytes));
    }
    free(buf);
}

/* Zeros are where a wrong shift factor in the stream join would still go unnoticed by
 * random data: check against the software path explicitly. */
static void t_zeros_large(void)
{
    uint8_t *buf = calloc(1, BUFFER_BYTES_MAX);
    T_ASSERT(buf != NULL);
    for (size_t bytes = 24576; bytes <= BUFFER_BYTES_MAX; bytes += 24576 + 13) {
        T_ASSERT_EQ_INT(rill_crc32c(0, buf, bytes), rill_crc32c_sw(0, buf, bytes));
        T_ASSERT_EQ_INT(rill_crc32c(0xffffffffu, buf, bytes),
                        rill_crc32c_sw(0xffffffffu, buf, bytes));
    }
    free(buf);
}

static const struct t_case cases[] = {
    T_CASE(t_check_value),
    T_CASE(t_iscsi_vectors),
    T_CASE(t_empty_input_keeps_crc),
    T_CASE(t_incremental_equals_one_shot),
    T_CASE(t_hardware_equals_software_small),
    T_CASE(t_hardware_equals_software_large),
    T_CASE(t_zeros_large),
};

int main(int argc, char **argv)
{
    return t_run(argc, argv, cases, T_COUNT(cases));
}
