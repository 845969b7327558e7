/*
 * crc32c_hw.h - CRC-32C with the processor's own instruction, where there is
 * one (x86-64 SSE4.2 `crc32`). Internal to util/crc32c.c, which falls back to
 * its portable tables elsewhere.
 */
#ifndef EDDY_UTIL_CRC32C_HW_H
#define EDDY_UTIL_CRC32C_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if crc32c_hw may be called on this machine. */
bool crc32c_hw_available(void);
/* Same contract as crc32c(): pass 0 to start, a previous result to continue. */
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);

#endif
