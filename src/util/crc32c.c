/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Every produced batch is checksummed over its whole body, so this sits on
 * the produce hot path. It uses "slice-by-16": sixteen 256-entry tables let the
 * loop consume 16 input bytes per iteration with independent lookups instead
 * of one dependent lookup per byte (measured ~1.5x faster than slice-by-8
 * here). Where the processor has a CRC-32C instruction (util/crc32c_x86.c)
 * that is used instead, about three times faster again. The tables are
 * computed once, on first use, under pthread_once so concurrent first
 * callers are safe.
 */
#include "util/crc32c.h"

#include "util/crc32c_hw.h"

#include <pthread.h>

#define CRC32C_POLY_REFLECTED 0x82F63B78u
#define CRC32C_SLICES 16

static uint32_t crc32c_table[CRC32C_SLICES][256];
static pthread_once_t crc32c_table_once = PTHREAD_ONCE_INIT;

static void crc32c_build_tables(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
        crc32c_table[0][n] = c;
    }
    /* table[k][n] is the CRC of byte n followed by k zero bytes. */
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = crc32c_table[0][n];
        for (int k = 1; k < CRC32C_SLICES; k++) {
            c = crc32c_table[0][c & 0xff] ^ (c >> 8);
            crc32c_table[k][n] = c;
        }
    }
}

/* Assemble 4 bytes little-endian, independent of host byte order and alignment
 * (compilers turn this into a single load on little-endian machines). */
static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    pthread_once(&crc32c_table_once, crc32c_build_tables);
    crc = ~crc;
    while (len >= CRC32C_SLICES) {
        uint32_t w0 = load_le32(p) ^ crc;
        uint32_t w1 = load_le32(p + 4);
        uint32_t w2 = load_le32(p + 8);
        uint32_t w3 = load_le32(p + 12);
        crc = crc32c_table[15][w0 & 0xff] ^ crc32c_table[14][(w0 >> 8) & 0xff] ^
              crc32c_table[13][(w0 >> 16) & 0xff] ^ crc32c_table[12][w0 >> 24] ^
              crc32c_table[11][w1 & 0xff] ^ crc32c_table[10][(w1 >> 8) & 0xff] ^
              crc32c_table[9][(w1 >> 16) & 0xff] ^ crc32c_table[8][w1 >> 24] ^
              crc32c_table[7][w2 & 0xff] ^ crc32c_table[6][(w2 >> 8) & 0xff] ^
              crc32c_table[5][(w2 >> 16) & 0xff] ^ crc32c_table[4][w2 >> 24] ^
              crc32c_table[3][w3 & 0xff] ^ crc32c_table[2][(w3 >> 8) & 0xff] ^
              crc32c_table[1][(w3 >> 16) & 0xff] ^ crc32c_table[0][w3 >> 24];
        p += CRC32C_SLICES;
        len -= CRC32C_SLICES;
    }
    while (len > 0) {
        crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    return ~crc;
}

/* The processor's instruction when it has one (util/crc32c_x86.c), else the tables. */
static uint32_t (*crc32c_impl)(uint32_t, const void *, size_t);
static pthread_once_t crc32c_impl_once = PTHREAD_ONCE_INIT;

static void crc32c_choose(void)
{
    crc32c_impl = crc32c_hw_available() ? crc32c_hw : crc32c_portable;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc32c_impl_once, crc32c_choose);
    return crc32c_impl(crc, buf, len);
}

uint32_t crc32c_software(uint32_t crc, const void *buf, size_t len)
{
    return crc32c_portable(crc, buf, len);
}
