/*
 * record_batch.c - Kafka record batches (magic 2): header parsing, CRC-32C,
 * structural validation, record iteration and batch building.
 *
 * Everything here works on the raw batch bytes exactly as they travel on the
 * wire and sit in log segments; nothing is copied unless the records are
 * compressed (the iterator then owns a decompressed buffer).
 */
#include "protocol/record_batch.h"

#include "util/crc32c.h"

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
