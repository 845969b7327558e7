/*
 * compress.c - gzip, snappy (xerial framing), lz4 (frame) and zstd codecs for
 * record batches; see compress.h for the exact wire framing of each.
 *
 * Decompression is always bounded by max_out: output grows by doubling into
 * a buffer that may never exceed max_out + 1 bytes, and reaching that extra
 * byte means the input expands beyond the limit (-EFBIG). A tiny malicious
 * batch therefore costs at most max_out of memory, never more.
 */
#include "compress/compress.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define GROWBUF_MIN_CAPACITY 1024

/* ---- a bounded, growable output buffer ---- */

struct growbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit; /* hard cap on cap: max_out + 1 */
};

static void growbuf_init(struct growbuf *b, size_t max_out, size_t first_guess)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
    if (first_guess < GROWBUF_MIN_CAPACITY)
        first_guess = GROWBUF_MIN_CAPACITY;
    b->cap = first_guess < b->limit ? first_guess : b->limit;
}

/* Make room for at least `want` more bytes. -EFBIG if that crosses the limit. */
static int growbuf_reserve(struct growbuf *b, size_t want)
{
    if (b->data != NULL && b->cap - b->len >= want)
        return 0;
    if (want > b->limit - b->len)
        return -EFBIG;
    size_t cap = b->cap;
    if (b->data != NULL) {
        while (cap - b->len < want)
            cap = cap > b->limit / 2 ? b->limit : cap * 2;
    } else if (cap - b->len < want) {
        cap = b->len + want;
    }
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL)
        return -ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

/* Reserve at least one free byte, growing geometrically. */
static int growbuf_reserve_some(struct growbuf *b)
{
    if (b->data != NULL && b->cap > b->len)
        return 0;
    if (b->data == NULL)
        return growbuf_reserve(b, b->cap > 0 ? b->cap : 1);
    if (b->cap >= b->limit)
        return -EFBIG;
    return growbuf_reserve(b, 1);
}

static void growbuf_free(struct growbuf *b)
{
    free(b->data);
    b->data = NULL;
}

/* Hand the buffer to the caller, checking the max_out bound one last time. */
static int growbuf_finish(struct growbuf *b, size_t max_out, uint8_t **out, size_t *out_len)
{
    if (b->len > max_out) {
        growbuf_free(b);
        return -EFBIG;
    }
    if (b->data == NULL) {
        b->data = malloc(1);
        if (b->data == NULL)
            return -ENOMEM;
    }
    *out = b->data;
    *out_len = b->len;
    b->data = NULL;
    return 0;
}

static size_t first_output_guess(size_t in_len)
{
    return in_len > SIZE_MAX / 4 ? in_len : in_len * 4;
}

/* ---- gzip ---- */

static int gzip_compress(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16 selects the gzip wrapper. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    if (len > UINT_MAX) {
        deflateEnd(&zs);
        return -EINVAL;
    }
    size_t bound = deflateBound(&zs, (uLong)len);
    uint8_t *buf = malloc(bound);
    if (buf == NULL) {
        deflateEnd(&zs);
        return -ENOMEM;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t produced = bound - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *out_len = produced;
    return 0;
}

static bool gzip_member_follows(const z_stream *zs)
{
    return zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b;
}

/*
 * A gzip trailer ends with ISIZE, the input size mod 2^32: for the usual
 * single-member stream it sizes the output exactly. Only a hint: the
 * growbuf still enforces max_out whatever the trailer claims.
 */
static size_t gzip_output_guess(const uint8_t *in, size_t len, size_t max_out)
{
    if (len < 18 || in[0] != 0x1f || in[1] != 0x8b)
        return first_output_guess(len);
    const uint8_t *t = in + len - 4;
    size_t isize = (size_t)t[0] | ((size_t)t[1] << 8) | ((size_t)t[2] << 16) | ((size_t)t[3] << 24);
    if (isize >= max_out)
        return first_output_guess(len);
    return isize + 1;
}

static int gzip_decompress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                           size_t max_out)
{
    if (len > UINT_MAX)
        return -EFBIG;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 32: accept gzip or zlib headers. */
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return -ENOMEM;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;

    struct growbuf b;
    growbuf_init(&b, max_out, gzip_output_guess(in, len, max_out));
    int err = 0;
    for (;;) {
        err = growbuf_reserve_some(&b);
        if (err != 0)
            break;
        size_t room = b.cap - b.len;
        if (room > UINT_MAX)
            room = UINT_MAX;
        zs.next_out = b.data + b.len;
        zs.avail_out = (uInt)room;
        int rc = inflate(&zs, Z_NO_FLUSH);
        b.len += room - zs.avail_out;
        if (rc == Z_STREAM_END) {
            /* Java's GZIPInputStream reads concatenated members; so do we. */
            if (!gzip_member_follows(&zs))
                break;
            if (inflateReset(&zs) != Z_OK) {
                err = -EBADMSG;
                break;
            }
            continue;
        }
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* needs more output space */
        err = rc == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
        break;
    }
    inflateEnd(&zs);
    if (err != 0) {
        growbuf_free(&b);
        return err;
    }
    return growbuf_finish(&b, max_out, out, out_len);
}

/* ---- snappy, xerial framing ---- */

static const uint8_t XERIAL_MAGIC[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16
#define XERIAL_VERSION 1
#define XERIAL_COMPAT_VERSION 1
#define XERIAL_BLOCK_SIZE (32 * 1024)

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int snappy_compress_xerial(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    size_t blocks = (len + XERIAL_BLOCK_SIZE - 1) / XERIAL_BLOCK_SIZE;
    size_t per_block = 4 + snappy_max_compressed_length(XERIAL_BLOCK_SIZE);
    if (blocks > (SIZE_MAX - XERIAL_HEADER_SIZE) / per_block)
        return -EINVAL;
    uint8_t *buf = malloc(XERIAL_HEADER_SIZE + blocks * per_block);
    if (buf == NULL)
        return -ENOMEM;
    memcpy(buf, XERIAL_MAGIC, sizeof(XERIAL_MAGIC));
    put_be32(buf + 8, XERIAL_VERSION);
    put_be32(buf + 12, XERIAL_COMPAT_VERSION);
    size_t pos = XERIAL_HEADER_SIZE;
    for (size_t off = 0; off < len; off += XERIAL_BLOCK_SIZE) {
        size_t chunk = len - off < XERIAL_BLOCK_SIZE ? len - off : XERIAL_BLOCK_SIZE;
        size_t produced = per_block - 4;
        if (snappy_compress((const char *)in + off, chunk, (char *)buf + pos + 4, &produced) !=
            SNAPPY_OK) {
            free(buf);
            return -ENOMEM;
        }
        put_be32(buf + pos, (uint32_t)produced);
        pos += 4 + produced;
    }
    *out = buf;
    *out_len = pos;
    return 0;
}

/* Append the raw snappy block in[0..len) to b, bounded by b's limit. */
static int snappy_append_raw(struct growbuf *b, const uint8_t *in, size_t len)
{
    size_t plain_len;
    if (snappy_uncompressed_length((const char *)in, len, &plain_len) != SNAPPY_OK)
        return -EBADMSG;
    int err = growbuf_reserve(b, plain_len);
    if (err != 0)
        return err;
    size_t produced = plain_len;
    if (snappy_uncompress((const char *)in, len, (char *)b->data + b->len, &produced) != SNAPPY_OK ||
        produced != plain_len)
        return -EBADMSG;
    b->len += produced;
    return 0;
}

static bool is_xerial(const uint8_t *in, size_t len)
{
    return len >= XERIAL_HEADER_SIZE && memcmp(in, XERIAL_MAGIC, sizeof(XERIAL_MAGIC)) == 0;
}

/*
 * Walk the xerial blocks [u32 length][raw snappy]* after the header, summing
 * their declared uncompressed sizes so the output is allocated once.
 */
static int xerial_plain_size(const uint8_t *in, size_t len, size_t *plain_total)
{
    size_t pos = XERIAL_HEADER_SIZE, total = 0;
    while (pos < len) {
        if (len - pos < 4)
            return -EBADMSG;
        uint32_t block_len = get_be32(in + pos);
        pos += 4;
        if (block_len > len - pos)
            return -EBADMSG;
        size_t plain_len = 0;
        /* An empty block adds nothing; tolerate it. */
        if (block_len > 0 &&
            snappy_uncompressed_length((const char *)in + pos, block_len, &plain_len) != SNAPPY_OK)
            return -EBADMSG;
        if (plain_len > SIZE_MAX - total)
            return -EFBIG;
        total += plain_len;
        pos += block_len;
    }
    *plain_total = total;
    return 0;
}

static int snappy_decompress_any(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                                 size_t max_out)
{
    bool xerial = is_xerial(in, len);
    size_t plain_total = 0;
    int err = 0;
    if (xerial)
        err = xerial_plain_size(in, len, &plain_total);
    else if (snappy_uncompressed_length((const char *)in, len, &plain_total) != SNAPPY_OK)
        err = -EBADMSG;
    if (err != 0)
        return err;
    if (plain_total > max_out)
        return -EFBIG;

    struct growbuf b;
    growbuf_init(&b, max_out, plain_total);
    err = growbuf_reserve(&b, plain_total);
    if (!xerial && err == 0)
        err = snappy_append_raw(&b, in, len);
    for (size_t pos = XERIAL_HEADER_SIZE; xerial && err == 0 && pos < len;) {
        uint32_t block_len = get_be32(in + pos); /* framing checked above */
        pos += 4;
        if (block_len > 0)
            err = snappy_append_raw(&b, in + pos, block_len);
        pos += block_len;
    }
    if (err != 0) {
        growbuf_free(&b);
        return err;
    }
    return growbuf_finish(&b, max_out, out, out_len);
}

/* ---- lz4 frame ---- */

static int lz4_compress(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *out_len)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.compressionLevel = level;
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentSize = len;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    uint8_t *buf = malloc(bound);
    if (buf == NULL)
        return -ENOMEM;
    size_t produced = LZ4F_compressFrame(buf, bound, in, len, &prefs);
    if (LZ4F_isError(produced)) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *out_len = produced;
    return 0;
}

/* LZ4F decodes straight into dst only if a whole block fits; else it copies. */
#define LZ4_MAX_BLOCK_SIZE (64 * 1024)

static int lz4_decompress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                          size_t max_out)
{
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return -ENOMEM;
    /* Read the frame header first: a declared content size sizes the output. */
    LZ4F_frameInfo_t info;
    size_t pos = len;
    size_t hint = LZ4F_getFrameInfo(dctx, &info, in, &pos);
    if (LZ4F_isError(hint)) {
        LZ4F_freeDecompressionContext(dctx);
        return -EBADMSG;
    }
    if (info.contentSize > max_out) {
        LZ4F_freeDecompressionContext(dctx);
        return -EFBIG;
    }
    struct growbuf b;
    growbuf_init(&b, max_out,
                 info.contentSize > 0 ? (size_t)info.contentSize + 1 : first_output_guess(len));
    int err = 0;
    while (pos < len || hint != 0) {
        if (pos >= len && b.data != NULL && b.cap > b.len) {
            err = -EBADMSG; /* frame incomplete and no input left */
            break;
        }
        size_t room = b.limit - b.len < LZ4_MAX_BLOCK_SIZE ? b.limit - b.len : LZ4_MAX_BLOCK_SIZE;
        err = room > 0 ? growbuf_reserve(&b, room) : -EFBIG;
        if (err != 0)
            break;
        size_t dst_size = b.cap - b.len;
        size_t src_size = len - pos;
        hint = LZ4F_decompress(dctx, b.data + b.len, &dst_size, in + pos, &src_size, NULL);
        if (LZ4F_isError(hint)) {
            err = -EBADMSG;
            break;
        }
        b.len += dst_size;
        pos += src_size;
    }
    LZ4F_freeDecompressionContext(dctx);
    if (err != 0) {
        growbuf_free(&b);
        return err;
    }
    return growbuf_finish(&b, max_out, out, out_len);
}

/* ---- zstd ---- */

#define ZSTD_DEFAULT_LEVEL 3

static int zstd_compress(const uint8_t *in, size_t len, int level, uint8_t **out, size_t *out_len)
{
    size_t bound = ZSTD_compressBound(len);
    uint8_t *buf = malloc(bound);
    if (buf == NULL)
        return -ENOMEM;
    size_t produced = ZSTD_compress(buf, bound, in, len, level);
    if (ZSTD_isError(produced)) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *out_len = produced;
    return 0;
}

static size_t zstd_output_guess(const uint8_t *in, size_t len, size_t max_out)
{
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR)
        return first_output_guess(len);
    if (declared > max_out)
        return max_out; /* will fail with -EFBIG once it really gets there */
    return (size_t)declared + 1;
}

static int zstd_decompress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                           size_t max_out)
{
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
        declared > max_out)
        return -EFBIG;
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (ds == NULL)
        return -ENOMEM;
    ZSTD_initDStream(ds);
    struct growbuf b;
    growbuf_init(&b, max_out, zstd_output_guess(in, len, max_out));
    ZSTD_inBuffer inb = {in, len, 0};
    size_t hint = 1; /* 0 once a frame is fully decoded and flushed */
    int err = 0;
    while (inb.pos < inb.size || hint != 0) {
        if (inb.pos >= inb.size && b.data != NULL && b.cap > b.len) {
            err = -EBADMSG; /* truncated frame */
            break;
        }
        err = growbuf_reserve_some(&b);
        if (err != 0)
            break;
        ZSTD_outBuffer outb = {b.data + b.len, b.cap - b.len, 0};
        hint = ZSTD_decompressStream(ds, &outb, &inb);
        if (ZSTD_isError(hint)) {
            err = ZSTD_getErrorCode(hint) == ZSTD_error_memory_allocation ? -ENOMEM : -EBADMSG;
            break;
        }
        b.len += outb.pos;
    }
    ZSTD_freeDStream(ds);
    if (err != 0) {
        growbuf_free(&b);
        return err;
    }
    return growbuf_finish(&b, max_out, out, out_len);
}

/* ---- none ---- */

static int copy_buffer(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(buf, in, len);
    *out = buf;
    *out_len = len;
    return 0;
}

/* ---- public ---- */

int compress_buffer_level(enum record_compression codec, int32_t level, const uint8_t *in, size_t len,
                          uint8_t **out, size_t *out_len)
{
    if ((in == NULL && len > 0) || out == NULL || out_len == NULL)
        return -EINVAL;
    static const uint8_t empty[1] = {0};
    if (in == NULL)
        in = empty;
    bool fallback = level == COMPRESSION_LEVEL_DEFAULT;
    switch (codec) {
    case COMPRESSION_NONE:
        return copy_buffer(in, len, out, out_len);
    case COMPRESSION_GZIP:
        return gzip_compress(in, len, fallback ? Z_DEFAULT_COMPRESSION : level, out, out_len);
    case COMPRESSION_SNAPPY:
        return snappy_compress_xerial(in, len, out, out_len);
    case COMPRESSION_LZ4:
        return lz4_compress(in, len, fallback ? 0 : level, out, out_len);
    case COMPRESSION_ZSTD:
        return zstd_compress(in, len, fallback ? ZSTD_DEFAULT_LEVEL : level, out, out_len);
    }
    return -ENOTSUP;
}

int compress_buffer(enum record_compression codec, const uint8_t *in, size_t len,
                    uint8_t **out, size_t *out_len)
{
    return compress_buffer_level(codec, COMPRESSION_LEVEL_DEFAULT, in, len, out, out_len);
}

int decompress_buffer(enum record_compression codec, const uint8_t *in, size_t len,
                      uint8_t **out, size_t *out_len, size_t max_out)
{
    if ((in == NULL && len > 0) || out == NULL || out_len == NULL)
        return -EINVAL;
    static const uint8_t empty[1] = {0};
    if (in == NULL)
        in = empty;
    switch (codec) {
    case COMPRESSION_NONE:
        if (len > max_out)
            return -EFBIG;
        return copy_buffer(in, len, out, out_len);
    case COMPRESSION_GZIP:
        return gzip_decompress(in, len, out, out_len, max_out);
    case COMPRESSION_SNAPPY:
        return snappy_decompress_any(in, len, out, out_len, max_out);
    case COMPRESSION_LZ4:
        return lz4_decompress(in, len, out, out_len, max_out);
    case COMPRESSION_ZSTD:
        return zstd_decompress(in, len, out, out_len, max_out);
    }
    return -ENOTSUP;
}

const char *compression_name(enum record_compression codec)
{
    switch (codec) {
    case COMPRESSION_NONE:
        return "none";
    case COMPRESSION_GZIP:
        return "gzip";
    case COMPRESSION_SNAPPY:
        return "snappy";
    case COMPRESSION_LZ4:
        return "lz4";
    case COMPRESSION_ZSTD:
        return "zstd";
    }
    return "unknown";
}
