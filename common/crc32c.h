/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of record
 * batches. Uses the SSE4.2 crc32 instruction when the CPU has it, else a table (slicing-by-8).
 */
#ifndef RILL_COMMON_CRC32C_H
#define RILL_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: crc is the value returned by a previous call, 0 to start. The standard
 * check value holds: rill_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t rill_crc32c(uint32_t crc, const void *data, size_t bytes);

/* The portable table implementation, exposed so tests can compare both paths. */
uint32_t rill_crc32c_sw(uint32_t crc, const void *data, size_t bytes);

#endif
