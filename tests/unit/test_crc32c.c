/*
 * test_crc32c.c - the CRC-32C in use (the processor's instruction where
 * there is one) against the portable tables and known vectors: every
 * length from 0 to 300 at every alignment, lengths around the blocks of
 * the three-stream path, continued checksums, and a large buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/crc32c.h"

int main(void)
{
    CHECK(crc32c(0, "123456789", 9) == 0xE3069283u, "check value of \"123456789\"");
    CHECK(crc32c_software(0, "123456789", 9) == 0xE3069283u, "software check value");
    CHECK(crc32c(0, "", 0) == 0, "empty input");

    uint8_t *buf = malloc(1 << 20);
    if (!buf)
        return 1;
    srand(7);
    for (size_t i = 0; i < (1u << 20); i++)
        buf[i] = (uint8_t)rand();

    int compared = 0;
    for (size_t offset = 0; offset < 16; offset++)
        for (size_t len = 0; len <= 300; len++, compared++)
            CHECK(crc32c(0, buf + offset, len) == crc32c_software(0, buf + offset, len),
                  "offset %zu length %zu", offset, len);

    /* Around the three-stream path's block of 3 x 4096 bytes, and several blocks plus a tail. */
    static const size_t long_lengths[] = {12287, 12288, 12289, 24575, 24576, 24583, 40000, 100003};
    for (size_t i = 0; i < sizeof long_lengths / sizeof long_lengths[0]; i++)
        for (size_t offset = 0; offset < 3; offset++, compared++)
            CHECK(crc32c(0, buf + offset, long_lengths[i]) == crc32c_software(0, buf + offset, long_lengths[i]),
                  "offset %zu length %zu", offset, long_lengths[i]);

    uint32_t whole = crc32c(0, buf, 1 << 20);
    CHECK(whole == crc32c_software(0, buf, 1 << 20), "1 MiB buffer");
    uint32_t split = crc32c(crc32c(0, buf, 12345), buf + 12345, (1 << 20) - 12345);
    CHECK(split == whole, "continued checksum equals one pass");
    free(buf);

    printf("crc32c: %d comparisons against the portable tables, %s\n", compared,
           failures ? "FAILED" : "all equal");
    return failures ? 1 : 0;
}
