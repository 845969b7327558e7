/*
 * record_batch.c - Kafka record batches (magic 2): header parsing, CRC-32C,
 * structural validation, record iteration and batch building.
 *
 * Everything here works on the raw batch bytes exactly as they travel on the
 * wire and sit in log segments; nothing is copied unless the records are
 * compressed (the iterator then owns a decompressed buffer).
 */
#include "protocol/record_batch.h"

#include "compress/compress.h"
#include "util/crc32c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Offsets of header fields, see the layout in record_batch.h. */
#define OFF_BASE_OFFSET 0
#define OFF_BATCH_LENGTH 8
#define OFF_LEADER_EPOCH 12
#define OFF_MAGIC 16
#define OFF_CRC 17
#define OFF_ATTRIBUTES 21
#define OFF_LAST_OFFSET_DELTA 23
#define OFF_BASE_TIMESTAMP 27
#define OFF_MAX_TIMESTAMP 35
#define OFF_PRODUCER_ID 43
#define OFF_PRODUCER_EPOCH 51
#define OFF_BASE_SEQUENCE 53
#define OFF_RECORD_COUNT 57

/* The smallest batchLength a header-only batch can have (61 - 12). */
#define MIN_BATCH_LENGTH (RECORD_BATCH_HEADER_SIZE - RECORD_BATCH_LOG_OVERHEAD)

/* ---- big-endian fixed-width helpers ---- */

static uint16_t load_be16(const uint8_t *p)
{
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t load_be64(const uint8_t *p)
{
    return ((uint64_t)load_be32(p) << 32) | load_be32(p + 4);
}

static void store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
    store_be32(p, (uint32_t)(v >> 32));
    store_be32(p + 4, (uint32_t)v);
}

/* ---- header ---- */

int record_batch_parse_header(const uint8_t *buf, size_t len, struct record_batch_header *out)
{
    if (len < RECORD_BATCH_HEADER_SIZE)
        return -1;
    int32_t batch_length = (int32_t)load_be32(buf + OFF_BATCH_LENGTH);
    if (batch_length < MIN_BATCH_LENGTH)
        return -1;
    if ((size_t)batch_length > len - RECORD_BATCH_LOG_OVERHEAD)
        return -1;
    if ((int8_t)buf[OFF_MAGIC] != 2)
        return -1;

    out->base_offset = (int64_t)load_be64(buf + OFF_BASE_OFFSET);
    out->batch_length = batch_length;
    out->partition_leader_epoch = (int32_t)load_be32(buf + OFF_LEADER_EPOCH);
    out->magic = (int8_t)buf[OFF_MAGIC];
    out->crc = load_be32(buf + OFF_CRC);
    out->attributes = (int16_t)load_be16(buf + OFF_ATTRIBUTES);
    out->last_offset_delta = (int32_t)load_be32(buf + OFF_LAST_OFFSET_DELTA);
    out->base_timestamp = (int64_t)load_be64(buf + OFF_BASE_TIMESTAMP);
    out->max_timestamp = (int64_t)load_be64(buf + OFF_MAX_TIMESTAMP);
    out->producer_id = (int64_t)load_be64(buf + OFF_PRODUCER_ID);
    out->producer_epoch = (int16_t)load_be16(buf + OFF_PRODUCER_EPOCH);
    out->base_sequence = (int32_t)load_be32(buf + OFF_BASE_SEQUENCE);
    out->record_count = (int32_t)load_be32(buf + OFF_RECORD_COUNT);
    return 0;
}

static uint32_t record_batch_compute_crc(const uint8_t *batch, size_t total_size)
{
    return crc32c(0, batch + OFF_ATTRIBUTES, total_size - OFF_ATTRIBUTES);
}

bool record_batch_crc_ok(const uint8_t *batch, size_t total_size)
{
    if (total_size < RECORD_BATCH_HEADER_SIZE)
        return false;
    return record_batch_compute_crc(batch, total_size) == load_be32(batch + OFF_CRC);
}

void record_batch_update_crc(uint8_t *batch, size_t total_size)
{
    if (total_size < RECORD_BATCH_HEADER_SIZE)
        return;
    store_be32(batch + OFF_CRC, record_batch_compute_crc(batch, total_size));
}

/* baseOffset and partitionLeaderEpoch lie before the CRC'd range: no CRC update. */
void record_batch_set_base_offset(uint8_t *batch, int64_t base_offset)
{
    store_be64(batch + OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void record_batch_set_partition_leader_epoch(uint8_t *batch, int32_t epoch)
{
    store_be32(batch + OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void record_batch_set_log_append_time(uint8_t *batch, size_t total_size, int64_t now_ms)
{
    uint16_t attributes = load_be16(batch + OFF_ATTRIBUTES);
    store_be16(batch + OFF_ATTRIBUTES, (uint16_t)(attributes | BATCH_ATTR_LOG_APPEND_TIME));
    store_be64(batch + OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
    record_batch_update_crc(batch, total_size);
}

void record_batch_set_max_timestamp(uint8_t *batch, size_t total_size, int64_t max_timestamp)
{
    store_be64(batch + OFF_MAX_TIMESTAMP, (uint64_t)max_timestamp);
    record_batch_update_crc(batch, total_size);
}

/* ---- Kafka error codes returned by validation and iteration ---- */

#define KAFKA_CORRUPT_MESSAGE 2
#define KAFKA_UNSUPPORTED_COMPRESSION_TYPE 76
#define KAFKA_INVALID_RECORD 87

/* ---- zigzag varints (Kafka's record encoding) ---- */

/* Any varint (the loop); read_uvarint answers the short ones inline. */
static int read_uvarint_long(const uint8_t **pos, const uint8_t *end, int max_bytes, uint64_t *out)
{
    const uint8_t *p = *pos;
    uint64_t value = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (p >= end)
            return -1;
        uint8_t byte = *p++;
        value |= (uint64_t)(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            *pos = p;
            *out = value;
            return 0;
        }
    }
    return -1; /* too long */
}

/* Most fields of a record are one or two bytes long: validating small records is mostly this. */
static inline int read_uvarint(const uint8_t **pos, const uint8_t *end, int max_bytes, uint64_t *out)
{
    const uint8_t *p = *pos;
    if (end - p >= 2) {
        if (p[0] < 0x80) {
            *out = p[0];
            *pos = p + 1;
            return 0;
        }
        if (p[1] < 0x80) {
            *out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            *pos = p + 2;
            return 0;
        }
    }
    return read_uvarint_long(pos, end, max_bytes, out);
}

static inline int read_varlong(const uint8_t **pos, const uint8_t *end, int64_t *out)
{
    uint64_t raw;
    if (read_uvarint(pos, end, 10, &raw) != 0)
        return -1;
    *out = (int64_t)((raw >> 1) ^ (~(raw & 1) + 1));
    return 0;
}

static inline int read_varint(const uint8_t **pos, const uint8_t *end, int32_t *out)
{
    uint64_t raw;
    if (read_uvarint(pos, end, 5, &raw) != 0 || raw > UINT32_MAX)
        return -1;
    uint32_t u = (uint32_t)raw;
    *out = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
    return 0;
}

static uint64_t zigzag64(int64_t v)
{
    return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static size_t uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *write_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* A length-prefixed byte field: -1 is null, other negatives are invalid. */
static inline int read_bytes_field(const uint8_t **pos, const uint8_t *end, bool nullable,
                            const uint8_t **data, int32_t *len)
{
    if (read_varint(pos, end, len) != 0)
        return -1;
    if (*len < 0) {
        if (*len != -1 || !nullable)
            return -1;
        *data = NULL;
        return 0;
    }
    if ((size_t)(end - *pos) < (size_t)*len)
        return -1;
    *data = *pos;
    *pos += *len;
    return 0;
}

/* ---- records ---- */

/* Walk `count` headers in [*pos, end); header keys may not be null. */
static int skip_headers(const uint8_t **pos, const uint8_t *end, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const uint8_t *data;
        int32_t len;
        if (read_bytes_field(pos, end, false, &data, &len) != 0)
            return -1;
        if (read_bytes_field(pos, end, true, &data, &len) != 0)
            return -1;
    }
    return 0;
}

/* Decode one length-prefixed record at *pos; it must fill its length exactly. */
static inline int parse_record(const uint8_t **pos, const uint8_t *end, struct record *r)
{
    const uint8_t *p = *pos;
    int32_t length;
    if (read_varint(&p, end, &length) != 0 || length < 1 || (size_t)(end - p) < (size_t)length)
        return -1;
    const uint8_t *record_end = p + length;

    r->attributes = (int8_t)*p++;
    if (read_varlong(&p, record_end, &r->timestamp_delta) != 0 ||
        read_varint(&p, record_end, &r->offset_delta) != 0 ||
        read_bytes_field(&p, record_end, true, &r->key, &r->key_len) != 0 ||
        read_bytes_field(&p, record_end, true, &r->value, &r->value_len) != 0 ||
        read_varint(&p, record_end, &r->header_count) != 0 || r->header_count < 0)
        return -1;
    r->headers = p;
    if (skip_headers(&p, record_end, r->header_count) != 0 || p != record_end)
        return -1;
    r->headers_len = (size_t)(record_end - r->headers);
    *pos = record_end;
    return 0;
}

int record_next_header(const struct record *r, const uint8_t **pos, struct record_header_kv *out)
{
    const uint8_t *end = r->headers + r->headers_len;
    if (*pos >= end)
        return 0;
    const uint8_t *p = *pos;
    if (read_bytes_field(&p, end, false, &out->key, &out->key_len) != 0 ||
        read_bytes_field(&p, end, true, &out->value, &out->value_len) != 0)
        return -KAFKA_CORRUPT_MESSAGE;
    *pos = p;
    return 1;
}

/* ---- iteration ---- */

int record_iter_open(struct record_iter *it, const uint8_t *batch, size_t total_size)
{
    memset(it, 0, sizeof(*it));
    if (record_batch_parse_header(batch, total_size, &it->header) != 0)
        return KAFKA_CORRUPT_MESSAGE;
    if (it->header.record_count < 0)
        return KAFKA_CORRUPT_MESSAGE;
    size_t size = record_batch_total_size(&it->header);
    const uint8_t *records = batch + RECORD_BATCH_HEADER_SIZE;
    size_t records_len = size - RECORD_BATCH_HEADER_SIZE;
    int codec = it->header.attributes & BATCH_ATTR_COMPRESSION_MASK;
    it->remaining = it->header.record_count;

    if (codec == COMPRESSION_NONE) {
        it->pos = records;
        it->end = records + records_len;
        return 0;
    }
    if (codec > COMPRESSION_ZSTD)
        return KAFKA_UNSUPPORTED_COMPRESSION_TYPE;
    size_t plain_len;
    int err = decompress_buffer((enum record_compression)codec, records, records_len, &it->owned,
                                &plain_len, RECORD_BATCH_MAX_DECOMPRESSED_SIZE);
    if (err != 0) {
        it->owned = NULL;
        return KAFKA_CORRUPT_MESSAGE;
    }
    it->pos = it->owned;
    it->end = it->owned + plain_len;
    return 0;
}

int record_iter_next(struct record_iter *it, struct record *out)
{
    if (it->remaining <= 0)
        return 0;
    if (parse_record(&it->pos, it->end, out) != 0) {
        it->remaining = 0;
        return -KAFKA_CORRUPT_MESSAGE;
    }
    it->remaining--;
    return 1;
}

void record_iter_close(struct record_iter *it)
{
    free(it->owned);
    it->owned = NULL;
    it->pos = it->end = NULL;
    it->remaining = 0;
}

/* ---- validation ---- */

enum validate_mode {
    VALIDATE_PRODUCE, /* what a client may send */
    VALIDATE_STORED,  /* what the log may hold after compaction / broker writes */
};

/* Checks on the fixed header; 0 or a Kafka error code. */
static int validate_header(const uint8_t *batch, size_t total_size, enum validate_mode mode,
                           struct record_batch_header *h)
{
    if (total_size > OFF_MAGIC) {
        int8_t magic = (int8_t)batch[OFF_MAGIC];
        if (magic == 0 || magic == 1)
            return KAFKA_INVALID_RECORD;
        if (magic != 2)
            return KAFKA_CORRUPT_MESSAGE;
    }
    if (record_batch_parse_header(batch, total_size, h) != 0)
        return KAFKA_CORRUPT_MESSAGE;
    if (record_batch_total_size(h) != total_size)
        return KAFKA_CORRUPT_MESSAGE;
    if (!record_batch_crc_ok(batch, total_size))
        return KAFKA_CORRUPT_MESSAGE;
    if ((h->attributes & BATCH_ATTR_COMPRESSION_MASK) > COMPRESSION_ZSTD)
        return KAFKA_UNSUPPORTED_COMPRESSION_TYPE;
    if (h->record_count < 0 || h->last_offset_delta < 0)
        return KAFKA_INVALID_RECORD;
    if (mode == VALIDATE_PRODUCE) {
        if (h->record_count == 0 || h->last_offset_delta != h->record_count - 1)
            return KAFKA_INVALID_RECORD;
    } else if ((int64_t)h->record_count > (int64_t)h->last_offset_delta + 1) {
        return KAFKA_INVALID_RECORD;
    }
    return 0;
}

/* Widen ts over one record's timestamp; -1 means "none" to Kafka and is skipped. */
static void note_timestamp(struct record_timestamps *ts, int64_t base, int64_t delta)
{
    if (!ts)
        return;
    int64_t t = (int64_t)((uint64_t)base + (uint64_t)delta); /* a hostile delta wraps, it does not trap */
    if (t == -1)
        return;
    if (ts->count == 0 || t < ts->min)
        ts->min = t;
    if (ts->count == 0 || t > ts->max)
        ts->max = t;
    ts->count++;
}

/* Walk every record: deltas strictly increasing, data consumed exactly. */
static int validate_records(struct record_iter *it, enum validate_mode mode, struct record_timestamps *ts)
{
    int64_t previous_delta = -1;
    struct record r;
    int rc;
    while ((rc = record_iter_next(it, &r)) == 1) {
        note_timestamp(ts, it->header.base_timestamp, r.timestamp_delta);
        if (r.offset_delta <= previous_delta)
            return KAFKA_INVALID_RECORD;
        if (mode == VALIDATE_PRODUCE && previous_delta == -1 && r.offset_delta != 0)
            return KAFKA_INVALID_RECORD;
        if (r.offset_delta > it->header.last_offset_delta)
            return KAFKA_INVALID_RECORD;
        previous_delta = r.offset_delta;
    }
    if (rc < 0 || it->pos != it->end)
        return KAFKA_INVALID_RECORD;
    if (mode == VALIDATE_PRODUCE && previous_delta != it->header.last_offset_delta)
        return KAFKA_INVALID_RECORD;
    return 0;
}

static int validate_batch(const uint8_t *batch, size_t total_size, enum validate_mode mode,
                          struct record_timestamps *ts)
{
    if (ts)
        memset(ts, 0, sizeof *ts);
    struct record_batch_header h;
    int err = validate_header(batch, total_size, mode, &h);
    if (err != 0)
        return err;
    struct record_iter it;
    err = record_iter_open(&it, batch, total_size);
    if (err == 0)
        err = validate_records(&it, mode, ts);
    record_iter_close(&it);
    if (err != 0)
        return err;
    if (mode == VALIDATE_PRODUCE && (h.attributes & BATCH_ATTR_CONTROL))
        return RECORD_BATCH_CONTROL;
    return 0;
}

int record_batch_validate(const uint8_t *batch, size_t total_size)
{
    return validate_batch(batch, total_size, VALIDATE_PRODUCE, NULL);
}

int record_batch_validate_produce(const uint8_t *batch, size_t total_size, struct record_timestamps *ts)
{
    return validate_batch(batch, total_size, VALIDATE_PRODUCE, ts);
}

int record_batch_validate_stored(const uint8_t *batch, size_t total_size)
{
    return validate_batch(batch, total_size, VALIDATE_STORED, NULL);
}

/* ---- building ---- */

static bool bytes_field_ok(const uint8_t *data, int32_t len)
{
    return len >= -1 && (len <= 0 || data != NULL);
}

static size_t bytes_field_size(int32_t len)
{
    return uvarint_size(zigzag64(len)) + (len > 0 ? (size_t)len : 0);
}

/* Size of the record body (everything after its length varint); 0 if invalid. */
static size_t record_body_size(const struct record_builder_entry *e)
{
    if (e->offset_delta < 0 || e->offset_delta > INT32_MAX || !bytes_field_ok(e->key, e->key_len) ||
        !bytes_field_ok(e->value, e->value_len) || e->header_count < 0 ||
        (e->headers_len > 0 && e->headers == NULL) || e->headers_len > INT32_MAX)
        return 0;
    size_t size = 1 + uvarint_size(zigzag64(e->timestamp_delta)) +
                  uvarint_size(zigzag64(e->offset_delta)) + bytes_field_size(e->key_len) +
                  bytes_field_size(e->value_len) + uvarint_size(zigzag64(e->header_count)) +
                  e->headers_len;
    return size > INT32_MAX ? 0 : size;
}

static uint8_t *write_bytes_field(uint8_t *p, const uint8_t *data, int32_t len)
{
    p = write_uvarint(p, zigzag64(len));
    if (len > 0) {
        memcpy(p, data, (size_t)len);
        p += len;
    }
    return p;
}

static uint8_t *write_record(uint8_t *p, const struct record_builder_entry *e, size_t body_size)
{
    p = write_uvarint(p, zigzag64((int64_t)body_size));
    *p++ = 0; /* record attributes: unused by Kafka, always 0 */
    p = write_uvarint(p, zigzag64(e->timestamp_delta));
    p = write_uvarint(p, zigzag64(e->offset_delta));
    p = write_bytes_field(p, e->key, e->key_len);
    p = write_bytes_field(p, e->value, e->value_len);
    p = write_uvarint(p, zigzag64(e->header_count));
    if (e->headers_len > 0) {
        memcpy(p, e->headers, e->headers_len);
        p += e->headers_len;
    }
    return p;
}

/* Total encoded size of all records, or 0 with *err set. */
static size_t records_encoded_size(const struct record_builder_entry *records, size_t count,
                                   int *err)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        size_t body = record_body_size(&records[i]);
        if (body == 0) {
            *err = -EINVAL;
            return 0;
        }
        size_t one = uvarint_size(zigzag64((int64_t)body)) + body;
        if (one > SIZE_MAX - total || total + one > INT32_MAX) {
            *err = -EFBIG;
            return 0;
        }
        total += one;
    }
    *err = 0;
    return total;
}

static void encode_records(uint8_t *p, const struct record_builder_entry *records, size_t count)
{
    for (size_t i = 0; i < count; i++)
        p = write_record(p, &records[i], record_body_size(&records[i]));
}

static void write_header(uint8_t *batch, size_t total_size, const struct record_batch_header *h,
                         int32_t record_count)
{
    store_be64(batch + OFF_BASE_OFFSET, (uint64_t)h->base_offset);
    store_be32(batch + OFF_BATCH_LENGTH, (uint32_t)(total_size - RECORD_BATCH_LOG_OVERHEAD));
    store_be32(batch + OFF_LEADER_EPOCH, (uint32_t)h->partition_leader_epoch);
    batch[OFF_MAGIC] = 2;
    store_be16(batch + OFF_ATTRIBUTES, (uint16_t)h->attributes);
    store_be32(batch + OFF_LAST_OFFSET_DELTA, (uint32_t)h->last_offset_delta);
    store_be64(batch + OFF_BASE_TIMESTAMP, (uint64_t)h->base_timestamp);
    store_be64(batch + OFF_MAX_TIMESTAMP, (uint64_t)h->max_timestamp);
    store_be64(batch + OFF_PRODUCER_ID, (uint64_t)h->producer_id);
    store_be16(batch + OFF_PRODUCER_EPOCH, (uint16_t)h->producer_epoch);
    store_be32(batch + OFF_BASE_SEQUENCE, (uint32_t)h->base_sequence);
    store_be32(batch + OFF_RECORD_COUNT, (uint32_t)record_count);
    record_batch_update_crc(batch, total_size);
}

int record_batch_build(const struct record_batch_header *header,
                       const struct record_builder_entry *records, size_t count,
                       uint8_t **out, size_t *out_len)
{
    return record_batch_build_level(header, records, count, COMPRESSION_LEVEL_DEFAULT, out, out_len);
}

int record_batch_build_level(const struct record_batch_header *header,
                             const struct record_builder_entry *records, size_t count, int32_t level,
                             uint8_t **out, size_t *out_len)
{
    if (header == NULL || (records == NULL && count > 0) || out == NULL || out_len == NULL ||
        count > INT32_MAX)
        return -EINVAL;
    int codec = header->attributes & BATCH_ATTR_COMPRESSION_MASK;
    if (codec > COMPRESSION_ZSTD)
        return -ENOTSUP;
    int err;
    size_t records_len = records_encoded_size(records, count, &err);
    if (err != 0)
        return err;

    if (codec == COMPRESSION_NONE) {
        size_t total = RECORD_BATCH_HEADER_SIZE + records_len;
        if (total - RECORD_BATCH_LOG_OVERHEAD > INT32_MAX)
            return -EFBIG;
        uint8_t *batch = malloc(total);
        if (batch == NULL)
            return -ENOMEM;
        encode_records(batch + RECORD_BATCH_HEADER_SIZE, records, count);
        write_header(batch, total, header, (int32_t)count);
        *out = batch;
        *out_len = total;
        return 0;
    }

    uint8_t *plain = malloc(records_len > 0 ? records_len : 1);
    if (plain == NULL)
        return -ENOMEM;
    encode_records(plain, records, count);
    uint8_t *packed;
    size_t packed_len;
    err = compress_buffer_level((enum record_compression)codec, level, plain, records_len, &packed, &packed_len);
    free(plain);
    if (err != 0)
        return err;
    size_t total = RECORD_BATCH_HEADER_SIZE + packed_len;
    uint8_t *batch = NULL;
    if (packed_len <= INT32_MAX - MIN_BATCH_LENGTH)
        batch = malloc(total);
    if (batch == NULL) {
        free(packed);
        return packed_len > INT32_MAX - MIN_BATCH_LENGTH ? -EFBIG : -ENOMEM;
    }
    memcpy(batch + RECORD_BATCH_HEADER_SIZE, packed, packed_len);
    free(packed);
    write_header(batch, total, header, (int32_t)count);
    *out = batch;
    *out_len = total;
    return 0;
}
