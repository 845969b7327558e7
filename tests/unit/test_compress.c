/*
 * test_compress.c - the Kafka codecs: round trips at awkward sizes, the
 * framing each codec must put on the wire, acceptance of the variants other
 * clients send (raw snappy, concatenated gzip, zstd without content size,
 * linked lz4 blocks), corrupt/truncated input, the max_out bound that
 * stops decompression bombs, and KIP-390 levels (every level round-trips;
 * a higher level packs text-like input no larger).
 */
#include "compress/compress.h"

#include <errno.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static int failures;
static int checks;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        checks++;                                                                      \
        if (!(cond)) {                                                                 \
            failures++;                                                                \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                              \
    } while (0)

#define CHECK_EQ(a, b)                                                                 \
    do {                                                                               \
        long long check_a = (long long)(a), check_b = (long long)(b);                  \
        checks++;                                                                      \
        if (check_a != check_b) {                                                      \
            failures++;                                                                \
            fprintf(stderr, "FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, \
                    #a, #b, check_a, check_b);                                         \
        }                                                                              \
    } while (0)

static const enum record_compression CODECS[] = {COMPRESSION_NONE, COMPRESSION_GZIP,
                                                 COMPRESSION_SNAPPY, COMPRESSION_LZ4,
                                                 COMPRESSION_ZSTD};
#define CODEC_COUNT (sizeof(CODECS) / sizeof(CODECS[0]))

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint8_t next_random_byte(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

/* Half random, half repetitive: compressible but not trivially. */
static uint8_t *make_input(size_t len, bool random)
{
    uint8_t *buf = malloc(len > 0 ? len : 1);
    for (size_t i = 0; i < len; i++)
        buf[i] = random ? next_random_byte() : (uint8_t)("kafka record batch "[i % 19] ^ (i >> 12));
    return buf;
}

static void test_round_trips(void)
{
    static const size_t sizes[] = {0, 1, 7, 100, 32767, 32768, 32769, 65535, 65536, 65537,
                                   200000, 1 << 20};
    printf("round trip, every codec, sizes 0..1 MiB, random and repetitive\n");
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            for (int random = 0; random <= 1; random++) {
                size_t len = sizes[s];
                uint8_t *in = make_input(len, random);
                uint8_t *packed = NULL, *plain = NULL;
                size_t packed_len = 0, plain_len = 0;
                int rc = compress_buffer(CODECS[c], in, len, &packed, &packed_len);
                CHECK_EQ(rc, 0);
                if (rc == 0) {
                    rc = decompress_buffer(CODECS[c], packed, packed_len, &plain, &plain_len, len);
                    CHECK_EQ(rc, 0);
                    CHECK_EQ(plain_len, len);
                    CHECK(rc != 0 || len == 0 || memcmp(plain, in, len) == 0);
                    CHECK(rc != 0 || plain != NULL);
                }
                if (len == (1 << 20))
                    printf("  %-6s 1 MiB %s -> %zu bytes\n", compression_name(CODECS[c]),
                           random ? "random    " : "repetitive", packed_len);
                free(packed);
                free(plain);
                free(in);
            }
        }
    }
}

static void test_wire_framing(void)
{
    printf("wire framing: gzip header, xerial snappy, lz4 frame with independent blocks, zstd\n");
    uint8_t *in = make_input(100000, false);
    uint8_t *out;
    size_t out_len;

    CHECK_EQ(compress_buffer(COMPRESSION_GZIP, in, 100000, &out, &out_len), 0);
    CHECK(out[0] == 0x1f && out[1] == 0x8b && out[2] == 8);
    free(out);

    CHECK_EQ(compress_buffer(COMPRESSION_SNAPPY, in, 100000, &out, &out_len), 0);
    static const uint8_t xerial_header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                              0,    0,   0,   1,   0,   0,   0,   1};
    CHECK(memcmp(out, xerial_header, 16) == 0);
    /* Blocks: [u32 len][raw snappy of <= 32 KiB], 4 of them for 100000 bytes. */
    size_t pos = 16, blocks = 0, total = 0;
    while (pos + 4 <= out_len) {
        size_t block_len = ((size_t)out[pos] << 24) | ((size_t)out[pos + 1] << 16) |
                           ((size_t)out[pos + 2] << 8) | out[pos + 3];
        size_t plain_len = 0;
        CHECK(snappy_uncompressed_length((char *)out + pos + 4, block_len, &plain_len) == SNAPPY_OK);
        CHECK(plain_len <= 32768);
        total += plain_len;
        pos += 4 + block_len;
        blocks++;
    }
    CHECK_EQ(pos, out_len);
    CHECK_EQ(blocks, 4);
    CHECK_EQ(total, 100000);
    free(out);

    CHECK_EQ(compress_buffer(COMPRESSION_LZ4, in, 100000, &out, &out_len), 0);
    CHECK(out[0] == 0x04 && out[1] == 0x22 && out[2] == 0x4d && out[3] == 0x18);
    CHECK((out[4] & 0xc0) == 0x40); /* FLG version 01 */
    CHECK((out[4] & 0x20) != 0);    /* block independence: Kafka's Java decoder needs it */
    CHECK_EQ((out[5] >> 4) & 7, 4); /* BD: 64 KiB max block */
    free(out);

    CHECK_EQ(compress_buffer(COMPRESSION_ZSTD, in, 100000, &out, &out_len), 0);
    CHECK(out[0] == 0x28 && out[1] == 0xb5 && out[2] == 0x2f && out[3] == 0xfd);
    free(out);

    CHECK_EQ(compress_buffer((enum record_compression)5, in, 10, &out, &out_len), -ENOTSUP);
    CHECK_EQ(decompress_buffer((enum record_compression)7, in, 10, &out, &out_len, 100), -ENOTSUP);
    free(in);
}

static void check_decodes_to(enum record_compression codec, const uint8_t *packed, size_t len,
                             const uint8_t *want, size_t want_len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = decompress_buffer(codec, packed, len, &out, &out_len, want_len);
    CHECK_EQ(rc, 0);
    CHECK_EQ(out_len, want_len);
    CHECK(rc != 0 || memcmp(out, want, want_len) == 0);
    free(out);
}

static void test_foreign_variants(void)
{
    printf("accepts: raw snappy, concatenated gzip, zlib, zstd without content size, linked lz4\n");
    size_t len = 150000;
    uint8_t *in = make_input(len, false);

    /* Raw snappy (librdkafka's encoding). */
    size_t raw_len = snappy_max_compressed_length(len);
    char *raw = malloc(raw_len);
    CHECK(snappy_compress((const char *)in, len, raw, &raw_len) == SNAPPY_OK);
    check_decodes_to(COMPRESSION_SNAPPY, (uint8_t *)raw, raw_len, in, len);
    free(raw);

    /* Two gzip members back to back decode as their concatenation. */
    uint8_t *a, *b;
    size_t a_len, b_len;
    CHECK_EQ(compress_buffer(COMPRESSION_GZIP, in, 1000, &a, &a_len), 0);
    CHECK_EQ(compress_buffer(COMPRESSION_GZIP, in + 1000, len - 1000, &b, &b_len), 0);
    uint8_t *both = malloc(a_len + b_len);
    memcpy(both, a, a_len);
    memcpy(both + a_len, b, b_len);
    check_decodes_to(COMPRESSION_GZIP, both, a_len + b_len, in, len);
    free(a);
    free(b);
    free(both);

    /* zlib wrapper. */
    uLongf z_len = compressBound(len);
    uint8_t *z = malloc(z_len);
    CHECK(compress2(z, &z_len, in, len, 6) == Z_OK);
    check_decodes_to(COMPRESSION_GZIP, z, z_len, in, len);
    free(z);

    /* zstd streamed without a pledged size: no content size in the frame. */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    size_t cap = ZSTD_compressBound(len) + 64;
    uint8_t *zs = malloc(cap);
    ZSTD_outBuffer outb = {zs, cap, 0};
    ZSTD_inBuffer inb = {in, len, 0};
    CHECK(ZSTD_compressStream2(cctx, &outb, &inb, ZSTD_e_end) == 0);
    ZSTD_freeCCtx(cctx);
    CHECK(ZSTD_getFrameContentSize(zs, outb.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
    check_decodes_to(COMPRESSION_ZSTD, zs, outb.pos, in, len);
    /* ...and bounded all the same. */
    uint8_t *out;
    size_t out_len;
    CHECK_EQ(decompress_buffer(COMPRESSION_ZSTD, zs, outb.pos, &out, &out_len, len - 1), -EFBIG);
    free(zs);

    /* lz4 with linked blocks and checksums (decoders must cope). */
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockMode = LZ4F_blockLinked;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    size_t l_cap = LZ4F_compressFrameBound(len, &prefs);
    uint8_t *l = malloc(l_cap);
    size_t l_len = LZ4F_compressFrame(l, l_cap, in, len, &prefs);
    CHECK(!LZ4F_isError(l_len));
    check_decodes_to(COMPRESSION_LZ4, l, l_len, in, len);
    free(l);
    free(in);
}

static void test_corrupt_input(void)
{
    printf("rejects corrupt and truncated input with -EBADMSG\n");
    size_t len = 70000;
    uint8_t *in = make_input(len, false);
    uint8_t *garbage = make_input(5000, true);
    for (size_t c = 1; c < CODEC_COUNT; c++) {
        uint8_t *packed, *out = NULL;
        size_t packed_len, out_len;
        CHECK_EQ(compress_buffer(CODECS[c], in, len, &packed, &packed_len), 0);
        int rc = decompress_buffer(CODECS[c], packed, packed_len / 2, &out, &out_len, len);
        CHECK_EQ(rc, -EBADMSG);
        rc = decompress_buffer(CODECS[c], packed, packed_len - 1, &out, &out_len, len);
        CHECK_EQ(rc, -EBADMSG);
        rc = decompress_buffer(CODECS[c], garbage, 5000, &out, &out_len, len);
        CHECK_EQ(rc, -EBADMSG);
        rc = decompress_buffer(CODECS[c], garbage, 0, &out, &out_len, len);
        CHECK_EQ(rc, -EBADMSG);
        /* Corrupt the middle of the stream. */
        for (size_t i = packed_len / 3; i < packed_len / 3 + 16; i++)
            packed[i] ^= 0xa5;
        rc = decompress_buffer(CODECS[c], packed, packed_len, &out, &out_len, len);
        /* Some corruptions still decode (snappy has no checksum) or grow past max_out. */
        if (rc == 0)
            free(out);
        if (rc != 0 && rc != -EBADMSG && rc != -EFBIG)
            fprintf(stderr, "  %s corrupted: rc %d\n", compression_name(CODECS[c]), rc);
        CHECK(rc == 0 || rc == -EBADMSG || rc == -EFBIG);
        free(packed);
    }
    /* xerial header with a block length running past the end. */
    uint8_t xerial[24] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
                          0,    0,   1,   0,   1,   2,   3,   4};
    uint8_t *out;
    size_t out_len;
    CHECK_EQ(decompress_buffer(COMPRESSION_SNAPPY, xerial, sizeof(xerial), &out, &out_len, 1000),
             -EBADMSG);
    /* Empty xerial stream: just the header. */
    CHECK_EQ(decompress_buffer(COMPRESSION_SNAPPY, xerial, 16, &out, &out_len, 1000), 0);
    CHECK_EQ(out_len, 0);
    free(out);
    free(in);
    free(garbage);
}

static void test_bombs(void)
{
    printf("decompression bombs stop at max_out with -EFBIG\n");
    size_t len = 16 << 20;
    uint8_t *zeros = calloc(1, len);
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        uint8_t *packed, *out = NULL;
        size_t packed_len, out_len;
        CHECK_EQ(compress_buffer(CODECS[c], zeros, len, &packed, &packed_len), 0);
        printf("  %-6s 16 MiB of zeros -> %zu bytes\n", compression_name(CODECS[c]), packed_len);
        CHECK_EQ(decompress_buffer(CODECS[c], packed, packed_len, &out, &out_len, 1 << 20), -EFBIG);
        CHECK_EQ(decompress_buffer(CODECS[c], packed, packed_len, &out, &out_len, len - 1), -EFBIG);
        CHECK_EQ(decompress_buffer(CODECS[c], packed, packed_len, &out, &out_len, 0), -EFBIG);
        int rc = decompress_buffer(CODECS[c], packed, packed_len, &out, &out_len, len);
        CHECK_EQ(rc, 0);
        CHECK_EQ(out_len, len);
        if (rc == 0)
            free(out);
        free(packed);
    }
    free(zeros);
}

/* Compressed size of `in` at `level`, after checking it decompresses back; 0 on failure. */
static size_t packed_size_at(enum record_compression codec, int32_t level, const uint8_t *in, size_t len)
{
    uint8_t *packed = NULL, *plain = NULL;
    size_t packed_len = 0, plain_len = 0;
    int rc = compress_buffer_level(codec, level, in, len, &packed, &packed_len);
    CHECK_EQ(rc, 0);
    if (rc == 0)
        rc = decompress_buffer(codec, packed, packed_len, &plain, &plain_len, len);
    CHECK_EQ(rc, 0);
    CHECK(rc != 0 || (plain_len == len && memcmp(plain, in, len) == 0));
    free(packed);
    free(plain);
    return rc == 0 ? packed_len : 0;
}

static void test_levels(void)
{
    size_t len = 256 << 10;
    uint8_t *in = malloc(len);
    static const char *const words[] = {"kafka ", "eddy ", "broker ", "segment ", "offset ", "batch "};
    for (size_t i = 0, w = 0; i < len; w++) {
        const char *word = words[(w * 7 + w / 5) % 6];
        for (size_t k = 0; word[k] && i < len; k++)
            in[i++] = (uint8_t)word[k];
    }
    size_t gzip1 = packed_size_at(COMPRESSION_GZIP, 1, in, len), gzip9 = packed_size_at(COMPRESSION_GZIP, 9, in, len);
    size_t lz4_1 = packed_size_at(COMPRESSION_LZ4, 1, in, len), lz4_17 = packed_size_at(COMPRESSION_LZ4, 17, in, len);
    size_t zstd1 = packed_size_at(COMPRESSION_ZSTD, 1, in, len), zstd19 = packed_size_at(COMPRESSION_ZSTD, 19, in, len);
    CHECK(packed_size_at(COMPRESSION_GZIP, -1, in, len) > 0);
    CHECK(packed_size_at(COMPRESSION_ZSTD, -5, in, len) > 0);
    CHECK(gzip9 > 0 && gzip9 <= gzip1);
    CHECK(lz4_17 > 0 && lz4_17 <= lz4_1);
    CHECK(zstd19 > 0 && zstd19 <= zstd1);
    printf("levels, 256 KiB of text: gzip 1/9 %zu/%zu, lz4 1/17 %zu/%zu, zstd 1/19 %zu/%zu bytes\n", gzip1, gzip9,
           lz4_1, lz4_17, zstd1, zstd19);
    free(in);
}

int main(void)
{
    test_round_trips();
    test_wire_framing();
    test_foreign_variants();
    test_corrupt_input();
    test_bombs();
    test_levels();
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
