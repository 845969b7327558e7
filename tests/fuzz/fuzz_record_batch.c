/*
 * fuzz_record_batch.c - libFuzzer target for the record batch parser.
 *
 * Each input is tried three ways: as is (header parsing, CRC, validation,
 * iteration), with its length and CRC fields repaired so the fuzzer reaches
 * the record decoder and the decompressors behind them, and directly as a
 * compressed payload for every codec with a small output bound. Every byte
 * the iterator hands out is read, so ASan catches any out-of-bounds pointer.
 */
#include "compress/compress.h"
#include "protocol/record_batch.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_OUT (1 << 20)

static volatile uint8_t sink;

static void touch(const uint8_t *p, int32_t len)
{
    uint8_t x = 0;
    for (int32_t i = 0; i < len; i++)
        x ^= p[i];
    sink ^= x;
}

static void iterate_all(const uint8_t *batch, size_t size)
{
    struct record_iter it;
    if (record_iter_open(&it, batch, size) == 0) {
        struct record r;
        while (record_iter_next(&it, &r) == 1) {
            touch(r.key, r.key_len);
            touch(r.value, r.value_len);
            const uint8_t *pos = r.headers;
            struct record_header_kv kv;
            while (record_next_header(&r, &pos, &kv) == 1) {
                touch(kv.key, kv.key_len);
                touch(kv.value, kv.value_len);
            }
        }
    }
    record_iter_close(&it);
}

static void exercise_batch(const uint8_t *batch, size_t size)
{
    struct record_batch_header h;
    (void)record_batch_validate(batch, size);
    (void)record_batch_validate_stored(batch, size);
    if (record_batch_parse_header(batch, size, &h) == 0) {
        (void)record_batch_crc_ok(batch, record_batch_total_size(&h));
        iterate_all(batch, record_batch_total_size(&h));
    }
}

/* Make batchLength match the input and recompute the CRC. */
static void exercise_repaired(const uint8_t *data, size_t size)
{
    if (size < RECORD_BATCH_HEADER_SIZE || size - RECORD_BATCH_LOG_OVERHEAD > INT32_MAX)
        return;
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    uint32_t batch_length = (uint32_t)(size - RECORD_BATCH_LOG_OVERHEAD);
    copy[8] = (uint8_t)(batch_length >> 24);
    copy[9] = (uint8_t)(batch_length >> 16);
    copy[10] = (uint8_t)(batch_length >> 8);
    copy[11] = (uint8_t)batch_length;
    copy[16] = 2;
    record_batch_update_crc(copy, size);
    exercise_batch(copy, size);
    free(copy);
}

static void exercise_codecs(const uint8_t *data, size_t size)
{
    for (int codec = COMPRESSION_GZIP; codec <= COMPRESSION_ZSTD; codec++) {
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (decompress_buffer((enum record_compression)codec, data, size, &out, &out_len,
                              FUZZ_MAX_OUT) == 0) {
            touch(out, (int32_t)out_len);
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exercise_batch(data, size);
    exercise_repaired(data, size);
    if (size > 0 && size < 4096)
        exercise_codecs(data, size);
    return 0;
}
