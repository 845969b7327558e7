/* fuzz_request.c - libFuzzer target for the request decoder.
 *
 * Input: [api_key int16][api_version int16][frame], where frame is what
 * follows the size prefix on the wire: a request header (of the version
 * request_header_version() picks) then the request body. Whatever decodes is
 * re-encoded: size() must match the bytes written, and decoding that
 * encoding and encoding again must give the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"

static void fail(const char *what, int16_t key, int16_t version)
{
    fprintf(stderr, "fuzz_request: %s (api %d v%d)\n", what, key, version);
    abort();
}

/* Encode msg, check size(), decode it back and re-encode: same bytes. */
static void check_reencode(int16_t key, int16_t version, const void *msg, struct arena *a)
{
    size_t size = api_request_size(key, version, msg);
    uint8_t *buf1 = malloc(size ? size : 1);
    uint8_t *buf2 = malloc(size ? size : 1);
    void *again = malloc(api_request_struct_size(key));
    struct wire_writer w;
    wire_writer_init(&w, buf1, size);
    if (api_request_encode(key, version, &w, msg) != 0 || (size_t)(w.pos - buf1) != size)
        fail("re-encode of a decoded request failed or size() was wrong", key, version);
    struct wire_reader r;
    wire_reader_init(&r, buf1, size);
    if (api_request_decode(key, version, &r, again, a) != 0 || r.pos != r.end)
        fail("decode of our own encoding failed", key, version);
    wire_writer_init(&w, buf2, size);
    if (api_request_size(key, version, again) != size || api_request_encode(key, version, &w, again) != 0 ||
        memcmp(buf1, buf2, size) != 0)
        fail("second encoding differs", key, version);
    free(again);
    free(buf2);
    free(buf1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena arena;
    static int arena_ready;
    if (!arena_ready) {
        arena_init(&arena);
        arena_ready = 1;
    }
    if (size < 4)
        return 0;
    int16_t key = (int16_t)(data[0] << 8 | data[1]);
    int16_t version = (int16_t)(data[2] << 8 | data[3]);
    struct wire_reader r;
    wire_reader_init(&r, data + 4, size - 4);

    int hv = request_header_version(key, version);
    if (hv < 0)
        return 0;
    struct request_header header;
    if (request_header_decode(&r, (int16_t)hv, &header, &arena) != 0) {
        arena_reset(&arena);
        return 0;
    }
    /* The header must round-trip too. */
    uint8_t hbuf[64 * 1024];
    size_t hsize = request_header_size((int16_t)hv, &header);
    struct wire_writer hw;
    wire_writer_init(&hw, hbuf, sizeof hbuf);
    if (hsize > sizeof hbuf || request_header_encode(&hw, (int16_t)hv, &header) != 0 ||
        (size_t)(hw.pos - hbuf) != hsize)
        fail("header re-encode", key, version);

    void *msg = malloc(api_request_struct_size(key));
    if (api_request_decode(key, version, &r, msg, &arena) == 0)
        check_reencode(key, version, msg, &arena);
    free(msg);
    arena_reset(&arena);
    return 0;
}
