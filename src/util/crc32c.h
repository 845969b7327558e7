/* crc32c.h - CRC-32C (Castagnoli), as used by Kafka record batches. */
#ifndef EDDY_UTIL_CRC32C_H
#define EDDY_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c(0, buf, len) gives the checksum; pass a previous result to continue. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable table-driven version, whatever the processor (tests compare both). */
uint32_t crc32c_software(uint32_t crc, const void *buf, size_t len);

#endif
