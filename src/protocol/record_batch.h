/*
 * record_batch.h - Kafka record batches (magic 2), parsed by hand.
 *
 * A produced batch travels as opaque `records` bytes in the codec. This module
 * looks inside: the 61-byte batch header, CRC-32C validation, the records
 * within (decompressing when asked), and building new batches (compaction,
 * internal topics, tools). Offsets inside the header are rewritten in place
 * when the log assigns them.
 *
 * Layout of the header (all big-endian):
 *   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 |
 *  16 magic i8 | 17 crc u32 | 21 attributes i16 | 23 lastOffsetDelta i32 |
 *  27 baseTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 |
 *  51 producerEpoch i16 | 53 baseSequence i32 | 57 recordCount i32 | 61 records
 * The CRC covers bytes 21..end. batchLength counts bytes after offset 12.
 */
#ifndef EDDY_PROTOCOL_RECORD_BATCH_H
#define EDDY_PROTOCOL_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORD_BATCH_HEADER_SIZE 61
#define RECORD_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */

enum record_compression {
    COMPRESSION_NONE = 0,
    COMPRESSION_GZIP = 1,
    COMPRESSION_SNAPPY = 2,
    COMPRESSION_LZ4 = 3,
    COMPRESSION_ZSTD = 4,
};

#define BATCH_ATTR_COMPRESSION_MASK 0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL 0x20
#define BATCH_ATTR_DELETE_HORIZON 0x40

struct record_batch_header {
    int64_t base_offset;
    int32_t batch_length; /* bytes after the batchLength field */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
};

/* One record, pointing into a decoded (possibly decompressed) buffer. */
struct record_header_kv {
    const uint8_t *key;
    int32_t key_len; /* -1: null */
    const uint8_t *value;
    int32_t value_len; /* -1: null */
};

struct record {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    const uint8_t *key;
    int32_t key_len;   /* -1: null key */
    const uint8_t *value;
    int32_t value_len; /* -1: null value (tombstone) */
    int32_t header_count;
    const uint8_t *headers; /* raw header bytes; walk with record_next_header */
    size_t headers_len;
};

/* The sequence number of the batch's last record. Sequences wrap from
 * INT32_MAX to 0, as Kafka's do: a long-lived idempotent producer gets there. */
static inline int32_t record_batch_last_sequence(const struct record_batch_header *h)
{
    int64_t last = (int64_t)h->base_sequence + h->last_offset_delta;
    if (last > INT32_MAX)
        return (int32_t)(last - INT32_MAX - 1);
    return last < INT32_MIN ? INT32_MIN : (int32_t)last; /* nonsense in, defined out */
}

/* Total size on disk/wire of the batch starting at buf (12 + batchLength). */
static inline size_t record_batch_total_size(const struct record_batch_header *h)
{
    return (size_t)h->batch_length + RECORD_BATCH_LOG_OVERHEAD;
}

/*
 * Parse the header at buf. Returns 0, or -1 if len is too short for a header
 * or the batch claims more bytes than len holds, or magic != 2.
 * Does not check the CRC.
 */
int record_batch_parse_header(const uint8_t *buf, size_t len, struct record_batch_header *out);

/* Compute CRC-32C over bytes 21..end and compare. true if it matches. */
bool record_batch_crc_ok(const uint8_t *batch, size_t total_size);

/*
 * Full structural validation of one batch as a broker must do on produce:
 * header, magic 2, CRC, lastOffsetDelta == recordCount-1 (for uncompressed and
 * compressed alike, after decompressing), every record well-formed with
 * increasing offset deltas. Returns 0 or a Kafka error code
 * (CORRUPT_MESSAGE=2, INVALID_RECORD=87, UNSUPPORTED_COMPRESSION_TYPE=76),
 * or RECORD_BATCH_CONTROL for an otherwise valid control batch (see below).
 * Magic 0/1 (legacy message sets) gives INVALID_RECORD; a bad CRC, a length
 * that disagrees with total_size or undecodable compressed data gives
 * CORRUPT_MESSAGE; malformed records, wrong counts or deltas INVALID_RECORD.
 */
int record_batch_validate(const uint8_t *batch, size_t total_size);

/* The records' own timestamps (base + delta), -1 ("none") left out. */
struct record_timestamps {
    int64_t min, max;
    int32_t count; /* records with a timestamp; min and max mean nothing if 0 */
};
/* record_batch_validate, also collecting the records' timestamps into *ts. */
int record_batch_validate_produce(const uint8_t *batch, size_t total_size, struct record_timestamps *ts);

/*
 * record_batch_validate returns this (not a Kafka error code) when the batch is
 * structurally valid but is a control batch (BATCH_ATTR_CONTROL). Only the
 * broker itself writes control batches (transaction markers): a produce
 * request carrying one must be answered with INVALID_RECORD (87), while the
 * broker's own writers may treat it as success. Kafka code -1 would mean
 * UNKNOWN_SERVER_ERROR, so forgetting to check it fails safe.
 */
#define RECORD_BATCH_CONTROL (-1)

/*
 * Upper bound on the decompressed size of one batch's records (iteration and
 * validation). Anything larger is treated as a decompression bomb and fails
 * with CORRUPT_MESSAGE.
 */
#define RECORD_BATCH_MAX_DECOMPRESSED_SIZE ((size_t)64 * 1024 * 1024)

/*
 * Validation for batches already in the log (recovery, fetch from another
 * broker, tools): like record_batch_validate but allows what compaction and
 * the broker legitimately produce: gaps in offset deltas (the last delta may
 * be below lastOffsetDelta), empty batches (recordCount 0), and control
 * batches (returns 0 for them). Same error codes otherwise.
 */
int record_batch_validate_stored(const uint8_t *batch, size_t total_size);

/* Rewrite fields in place (used when the log assigns offsets). */
void record_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void record_batch_set_partition_leader_epoch(uint8_t *batch, int32_t epoch);
/* LogAppendTime: set the attribute bit and maxTimestamp, then recompute the CRC. */
void record_batch_set_log_append_time(uint8_t *batch, size_t total_size, int64_t now_ms);
/* CreateTime: maxTimestamp as the records say (Kafka does not trust the client's), then the CRC. */
void record_batch_set_max_timestamp(uint8_t *batch, size_t total_size, int64_t max_timestamp);
void record_batch_update_crc(uint8_t *batch, size_t total_size);

/*
 * Iterate the records of a batch. If the batch is compressed, the records are
 * decompressed into a buffer owned by the iterator (freed by
 * record_iter_close). Returns 0 or a Kafka error code: CORRUPT_MESSAGE for a
 * bad header or undecodable / too large (RECORD_BATCH_MAX_DECOMPRESSED_SIZE)
 * compressed data, UNSUPPORTED_COMPRESSION_TYPE for codecs 5..7. Does not
 * check the CRC. record_iter_close is safe to call after a failed open.
 */
struct record_iter {
    struct record_batch_header header;
    const uint8_t *pos;
    const uint8_t *end;
    int32_t remaining;
    uint8_t *owned; /* decompressed records, or NULL */
};
int record_iter_open(struct record_iter *it, const uint8_t *batch, size_t total_size);
/* 1: *out filled; 0: end; <0: malformed (-CORRUPT_MESSAGE). */
int record_iter_next(struct record_iter *it, struct record *out);
void record_iter_close(struct record_iter *it);

/* Walk a record's headers: 1 filled, 0 done, <0 malformed. *pos starts at r->headers. */
int record_next_header(const struct record *r, const uint8_t **pos, struct record_header_kv *out);

/*
 * Build a batch from records (compaction, internal topics, tests). The caller
 * fills `header` (attributes incl. compression, timestamps, producer fields,
 * base offset); record offset deltas and timestamp deltas are taken from
 * each record as given. lastOffsetDelta is taken from the header. The result
 * is malloc'd; *out_len its size. Returns 0 or a negative errno (-EINVAL for
 * bad entries, -ENOTSUP for codecs 5..7, -EFBIG, -ENOMEM). magic (always 2),
 * batchLength, recordCount (= count) and crc are computed, not taken from
 * `header`. Record attributes are written as 0. Compression is gzip level 6,
 * xerial-framed snappy, lz4 frame (fast), zstd level 3.
 */
struct record_builder_entry {
    int64_t offset_delta;
    int64_t timestamp_delta;
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    const uint8_t *headers; /* raw header bytes as in a record (already encoded) */
    size_t headers_len;
    int32_t header_count;
};
int record_batch_build(const struct record_batch_header *header,
                       const struct record_builder_entry *records, size_t count,
                       uint8_t **out, size_t *out_len);
/* The same, compressed at `level` (see compress_buffer_level). */
int record_batch_build_level(const struct record_batch_header *header,
                             const struct record_builder_entry *records, size_t count, int32_t level,
                             uint8_t **out, size_t *out_len);

#endif
