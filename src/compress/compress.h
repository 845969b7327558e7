/*
 * compress.h - the four Kafka compression codecs, framed the way Kafka frames
 * them inside a record batch.
 *
 *   gzip   - a gzip stream (deflate with gzip header/trailer). Decoding also
 *            accepts zlib-wrapped data and concatenated gzip members.
 *   snappy - encoded in the xerial "snappy-java" framing that the Java client
 *            uses (magic "\x82SNAPPY\0", i32 version 1, i32 compat 1, then
 *            [i32 big-endian length + raw snappy block]*, 32 KiB input per
 *            block). Decoding accepts xerial framing and plain raw snappy
 *            (librdkafka and some other clients send the latter).
 *   lz4    - the standard LZ4 frame format with independent 64 KiB blocks
 *            (Kafka's Java decoder cannot handle linked blocks).
 *   zstd   - a standard zstd frame; decoding streams, so frames without a
 *            content size work; concatenated frames are accepted.
 *
 * Both functions return 0 with a malloc'd *out (owned by the caller, free()
 * it; never NULL on success even for empty output) or a negative errno:
 *   -ENOTSUP  unknown codec (not 0..4)
 *   -EBADMSG  compressed input is corrupt or truncated
 *   -EFBIG    decompressed output would exceed max_out (decompression bomb)
 *   -ENOMEM   allocation failure
 *   -EINVAL   bad arguments
 */
#ifndef EDDY_COMPRESS_COMPRESS_H
#define EDDY_COMPRESS_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/record_batch.h"

int compress_buffer(enum record_compression codec, const uint8_t *in, size_t len,
                    uint8_t **out, size_t *out_len);

/*
 * The same at a level (KIP-390's compression.<codec>.level): gzip 1-9 or
 * -1 (zlib's default), lz4 1-17 (3 and up is LZ4 HC, which tops out at 12),
 * zstd -131072 to 22. COMPRESSION_LEVEL_DEFAULT is what compress_buffer
 * uses; snappy and none have no levels.
 */
#define COMPRESSION_LEVEL_DEFAULT INT32_MIN
int compress_buffer_level(enum record_compression codec, int32_t level, const uint8_t *in, size_t len,
                          uint8_t **out, size_t *out_len);

int decompress_buffer(enum record_compression codec, const uint8_t *in, size_t len,
                      uint8_t **out, size_t *out_len, size_t max_out);

/* "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *compression_name(enum record_compression codec);

#endif
