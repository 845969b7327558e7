/*
 * test_record_batch.c - CRC-32C vectors, record batch build/parse/iterate
 * round trips for every codec, validation of every kind of corruption, and
 * decoding of batches produced by real clients (kafka-python, librdkafka)
 * stored under tests/unit/fixtures/.
 */
#include "compress/compress.h"
#include "protocol/record_batch.h"
#include "util/crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/unit/fixtures"
#endif

#define CORRUPT_MESSAGE 2
#define UNSUPPORTED_COMPRESSION_TYPE 76
#define INVALID_RECORD 87

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

/* ---- CRC-32C ---- */

static uint32_t crc32c_bitwise(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void test_crc32c(void)
{
    printf("crc32c: known vectors (RFC 3720 B.4), incremental, unaligned\n");
    CHECK_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ(crc32c(0, "", 0), 0);
    uint8_t buf[1024];
    memset(buf, 0, 32);
    CHECK_EQ(crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    CHECK_EQ(crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    CHECK_EQ(crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    CHECK_EQ(crc32c(0, buf, 32), 0x113FDB5Cu);

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    int mismatches = 0;
    for (size_t start = 0; start < 16; start++)
        for (size_t len = 0; len + start <= sizeof(buf); len += 37)
            if (crc32c(0, buf + start, len) != crc32c_bitwise(buf + start, len))
                mismatches++;
    CHECK_EQ(mismatches, 0);
    uint32_t whole = crc32c(0, buf, sizeof(buf));
    for (size_t split = 0; split <= sizeof(buf); split += 101)
        CHECK_EQ(crc32c(crc32c(0, buf, split), buf + split, sizeof(buf) - split), whole);
}

/* ---- the record set used by round trips and the client fixtures ---- */

#define FIXTURE_RECORDS 10
#define FIXTURE_BASE_TIMESTAMP 1700000000000LL

/* Same content as tests/unit/fixtures/gen_*: keep in sync. */
struct expected {
    char key[32];
    int32_t key_len;
    char value[512];
    int32_t value_len;
    int header_count;
    char h1_value[32];
    int64_t timestamp;
};

static void expected_record(int i, struct expected *e)
{
    memset(e, 0, sizeof(*e));
    e->key_len = i % 3 == 2 ? -1 : snprintf(e->key, sizeof(e->key), "key-%d", i);
    if (i == 4) {
        e->value_len = -1;
    } else {
        int len = 0;
        for (int rep = 0; rep <= i; rep++)
            len += snprintf(e->value + len, sizeof(e->value) - (size_t)len, "value-%d ", i);
        e->value_len = len;
    }
    e->header_count = i % 2 ? 0 : 2;
    snprintf(e->h1_value, sizeof(e->h1_value), "hv-%d", i);
    e->timestamp = FIXTURE_BASE_TIMESTAMP + 7 * i;
}

/* Encode the headers h1=hv-i, h2=null as raw record-header bytes. */
static size_t encode_expected_headers(const struct expected *e, uint8_t *out)
{
    size_t n = 0;
    size_t h1_len = strlen(e->h1_value);
    out[n++] = 2 * 2; /* zigzag(2): key "h1" */
    memcpy(out + n, "h1", 2);
    n += 2;
    out[n++] = (uint8_t)(2 * h1_len);
    memcpy(out + n, e->h1_value, h1_len);
    n += h1_len;
    out[n++] = 2 * 2;
    memcpy(out + n, "h2", 2);
    n += 2;
    out[n++] = 1; /* zigzag(-1): null value */
    return n;
}

static bool bytes_equal(const uint8_t *data, int32_t len, const char *want, int32_t want_len)
{
    if (len != want_len)
        return false;
    if (len <= 0)
        return len == want_len;
    return data != NULL && memcmp(data, want, (size_t)len) == 0;
}

/* Iterate a batch holding the fixture records and compare every field. */
static void check_fixture_records(const uint8_t *batch, size_t size, const char *what)
{
    struct record_iter it;
    int rc = record_iter_open(&it, batch, size);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "  (%s)\n", what);
        return;
    }
    int before = failures;
    CHECK_EQ(it.header.record_count, FIXTURE_RECORDS);
    CHECK_EQ(it.header.last_offset_delta, FIXTURE_RECORDS - 1);
    struct record r;
    int i = 0;
    while ((rc = record_iter_next(&it, &r)) == 1) {
        struct expected e;
        expected_record(i, &e);
        CHECK_EQ(r.offset_delta, i);
        CHECK_EQ(it.header.base_timestamp + r.timestamp_delta, e.timestamp);
        CHECK(bytes_equal(r.key, r.key_len, e.key, e.key_len));
        CHECK(bytes_equal(r.value, r.value_len, e.value, e.value_len));
        CHECK_EQ(r.header_count, e.header_count);
        const uint8_t *pos = r.headers;
        struct record_header_kv kv;
        int seen = 0;
        while ((rc = record_next_header(&r, &pos, &kv)) == 1) {
            if (seen == 0) {
                CHECK(bytes_equal(kv.key, kv.key_len, "h1", 2));
                CHECK(bytes_equal(kv.value, kv.value_len, e.h1_value, (int32_t)strlen(e.h1_value)));
            } else {
                CHECK(bytes_equal(kv.key, kv.key_len, "h2", 2));
                CHECK_EQ(kv.value_len, -1);
            }
            seen++;
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(seen, e.header_count);
        i++;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(i, FIXTURE_RECORDS);
    CHECK(it.pos == it.end);
    record_iter_close(&it);
    if (failures != before)
        fprintf(stderr, "  (in %s)\n", what);
}

/* Build the fixture records with our own builder. */
static int build_fixture_batch(int codec, uint8_t **out, size_t *out_len)
{
    struct record_builder_entry entries[FIXTURE_RECORDS];
    struct expected exp[FIXTURE_RECORDS];
    uint8_t headers[FIXTURE_RECORDS][64];
    for (int i = 0; i < FIXTURE_RECORDS; i++) {
        struct expected *e = &exp[i];
        expected_record(i, e);
        struct record_builder_entry *en = &entries[i];
        memset(en, 0, sizeof(*en));
        en->offset_delta = i;
        en->timestamp_delta = e->timestamp - FIXTURE_BASE_TIMESTAMP;
        en->key = (const uint8_t *)e->key;
        en->key_len = e->key_len;
        en->value = (const uint8_t *)e->value;
        en->value_len = e->value_len;
        if (e->header_count > 0) {
            en->headers_len = encode_expected_headers(e, headers[i]);
            en->headers = headers[i];
            en->header_count = e->header_count;
        }
    }
    struct record_batch_header h;
    memset(&h, 0, sizeof(h));
    h.base_offset = 1000;
    h.partition_leader_epoch = 3;
    h.attributes = (int16_t)codec;
    h.last_offset_delta = FIXTURE_RECORDS - 1;
    h.base_timestamp = FIXTURE_BASE_TIMESTAMP;
    h.max_timestamp = FIXTURE_BASE_TIMESTAMP + 7 * (FIXTURE_RECORDS - 1);
    h.producer_id = 1234;
    h.producer_epoch = 5;
    h.base_sequence = 42;
    return record_batch_build(&h, entries, FIXTURE_RECORDS, out, out_len);
}

static void test_round_trip(void)
{
    printf("build -> validate -> parse -> iterate, every codec\n");
    for (int codec = COMPRESSION_NONE; codec <= COMPRESSION_ZSTD; codec++) {
        uint8_t *batch;
        size_t size;
        CHECK_EQ(build_fixture_batch(codec, &batch, &size), 0);
        printf("  %-6s %zu bytes\n", compression_name((enum record_compression)codec), size);
        struct record_batch_header h;
        CHECK_EQ(record_batch_parse_header(batch, size, &h), 0);
        CHECK_EQ(record_batch_total_size(&h), size);
        CHECK_EQ(h.base_offset, 1000);
        CHECK_EQ(h.partition_leader_epoch, 3);
        CHECK_EQ(h.magic, 2);
        CHECK_EQ(h.attributes, codec);
        CHECK_EQ(h.producer_id, 1234);
        CHECK_EQ(h.producer_epoch, 5);
        CHECK_EQ(h.base_sequence, 42);
        CHECK_EQ(h.record_count, FIXTURE_RECORDS);
        CHECK(record_batch_crc_ok(batch, size));
        CHECK_EQ(record_batch_validate(batch, size), 0);
        CHECK_EQ(record_batch_validate_stored(batch, size), 0);
        check_fixture_records(batch, size, "round trip");

        /* Offsets and epoch are outside the CRC: rewriting keeps it valid. */
        record_batch_set_base_offset(batch, 123456789012LL);
        record_batch_set_partition_leader_epoch(batch, 77);
        CHECK(record_batch_crc_ok(batch, size));
        record_batch_set_log_append_time(batch, size, 1800000000000LL);
        CHECK(record_batch_crc_ok(batch, size));
        CHECK_EQ(record_batch_parse_header(batch, size, &h), 0);
        CHECK_EQ(h.base_offset, 123456789012LL);
        CHECK_EQ(h.partition_leader_epoch, 77);
        CHECK_EQ(h.max_timestamp, 1800000000000LL);
        CHECK(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
        CHECK_EQ(h.attributes & BATCH_ATTR_COMPRESSION_MASK, codec);
        CHECK_EQ(record_batch_validate(batch, size), 0);
        free(batch);
    }
}

static void test_empty_and_big(void)
{
    printf("batches: zero records, large values, many records\n");
    struct record_batch_header h;
    memset(&h, 0, sizeof(h));
    h.producer_id = -1;
    h.base_sequence = -1;
    uint8_t *batch;
    size_t size;
    CHECK_EQ(record_batch_build(&h, NULL, 0, &batch, &size), 0);
    CHECK_EQ(size, RECORD_BATCH_HEADER_SIZE);
    CHECK_EQ(record_batch_validate(batch, size), INVALID_RECORD); /* clients may not send empty */
    CHECK_EQ(record_batch_validate_stored(batch, size), 0);
    free(batch);

    enum { COUNT = 2000 };
    struct record_builder_entry *entries = calloc(COUNT, sizeof(*entries));
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)((i * 2654435761u) >> 13);
    for (int i = 0; i < COUNT; i++) {
        entries[i].offset_delta = i;
        entries[i].timestamp_delta = -i; /* negative deltas are legal */
        entries[i].key_len = -1;
        entries[i].value = big + i;
        entries[i].value_len = i == 7 ? (int32_t)(sizeof(big) - 7) : 100 + i % 50;
    }
    h.last_offset_delta = COUNT - 1;
    for (int codec = 0; codec <= COMPRESSION_ZSTD; codec++) {
        h.attributes = (int16_t)codec;
        CHECK_EQ(record_batch_build(&h, entries, COUNT, &batch, &size), 0);
        CHECK_EQ(record_batch_validate(batch, size), 0);
        struct record_iter it;
        CHECK_EQ(record_iter_open(&it, batch, size), 0);
        struct record r;
        int n = 0, bad = 0;
        while (record_iter_next(&it, &r) == 1) {
            if (r.offset_delta != n || r.timestamp_delta != -n || r.key_len != -1 ||
                r.value_len != entries[n].value_len ||
                memcmp(r.value, entries[n].value, (size_t)r.value_len) != 0)
                bad++;
            n++;
        }
        CHECK_EQ(n, COUNT);
        CHECK_EQ(bad, 0);
        record_iter_close(&it);
        free(batch);
    }
    free(entries);
}

/* ---- corruption ---- */

static uint8_t *copy_of(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len + 64);
    memcpy(p, src, len);
    return p;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Build one batch from `entries`, with lastOffsetDelta and codec given. */
static uint8_t *build_custom(const struct record_builder_entry *entries, size_t count,
                             int32_t last_offset_delta, int16_t attributes, size_t *size)
{
    struct record_batch_header h;
    memset(&h, 0, sizeof(h));
    h.attributes = attributes;
    h.last_offset_delta = last_offset_delta;
    h.producer_id = -1;
    h.base_sequence = -1;
    uint8_t *batch = NULL;
    if (record_batch_build(&h, entries, count, &batch, size) != 0)
        return NULL;
    return batch;
}

static void test_validation_rejects(void)
{
    printf("validation rejects: bad CRC, truncation, counts, deltas, codecs, magic, records\n");
    uint8_t *good;
    size_t size;
    CHECK_EQ(build_fixture_batch(COMPRESSION_NONE, &good, &size), 0);
    uint8_t *b;

    /* CRC: flip one bit in a value, and one in the stored CRC. */
    b = copy_of(good, size);
    b[size - 5] ^= 0x01;
    CHECK(!record_batch_crc_ok(b, size));
    CHECK_EQ(record_batch_validate(b, size), CORRUPT_MESSAGE);
    free(b);
    b = copy_of(good, size);
    b[17] ^= 0x80;
    CHECK_EQ(record_batch_validate(b, size), CORRUPT_MESSAGE);
    free(b);

    /* Truncated / length disagrees with the buffer. */
    CHECK_EQ(record_batch_validate(good, size - 1), CORRUPT_MESSAGE);
    CHECK_EQ(record_batch_validate(good, 30), CORRUPT_MESSAGE);
    CHECK_EQ(record_batch_validate(good, 0), CORRUPT_MESSAGE);
    struct record_batch_header h;
    CHECK_EQ(record_batch_parse_header(good, size - 1, &h), -1);
    CHECK_EQ(record_batch_parse_header(good, 60, &h), -1);
    b = copy_of(good, size);
    memset(b + size, 0, 8);
    CHECK_EQ(record_batch_validate(b, size + 8), CORRUPT_MESSAGE); /* trailing bytes */
    put32(b + 8, 10); /* batchLength below the header size */
    CHECK_EQ(record_batch_parse_header(b, size, &h), -1);
    free(b);

    /* Record count disagrees (CRC fixed up so only the count is wrong). */
    b = copy_of(good, size);
    put32(b + 57, FIXTURE_RECORDS + 1);
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    put32(b + 57, FIXTURE_RECORDS - 1);
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    put32(b + 23, FIXTURE_RECORDS - 2); /* consistent header, but a record is left over */
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    put32(b + 57, (uint32_t)-5);
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    free(b);

    /* Codecs 5..7 are unknown. */
    for (int codec = 5; codec <= 7; codec++) {
        b = copy_of(good, size);
        b[22] = (uint8_t)codec;
        record_batch_update_crc(b, size);
        CHECK_EQ(record_batch_validate(b, size), UNSUPPORTED_COMPRESSION_TYPE);
        struct record_iter it;
        CHECK_EQ(record_iter_open(&it, b, size), UNSUPPORTED_COMPRESSION_TYPE);
        record_iter_close(&it);
        free(b);
    }

    /* Legacy magic 0/1 and nonsense magic. */
    b = copy_of(good, size);
    b[16] = 1;
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    b[16] = 0;
    CHECK_EQ(record_batch_validate(b, 40), INVALID_RECORD);
    b[16] = 3;
    CHECK_EQ(record_batch_validate(b, size), CORRUPT_MESSAGE);
    CHECK_EQ(record_batch_parse_header(b, size, &h), -1);
    free(b);

    /* Compressed payload garbled (CRC recomputed so only the data is bad). */
    uint8_t *zb;
    size_t zsize;
    for (int codec = COMPRESSION_GZIP; codec <= COMPRESSION_ZSTD; codec++) {
        CHECK_EQ(build_fixture_batch(codec, &zb, &zsize), 0);
        b = copy_of(zb, zsize);
        for (size_t i = RECORD_BATCH_HEADER_SIZE + 4; i < zsize; i += 3)
            b[i] ^= 0x5a;
        record_batch_update_crc(b, zsize);
        int rc = record_batch_validate(b, zsize);
        CHECK(rc == CORRUPT_MESSAGE || rc == INVALID_RECORD);
        /* truncated compressed data */
        memcpy(b, zb, zsize);
        put32(b + 8, (uint32_t)(zsize - 12 - 10));
        record_batch_update_crc(b, zsize - 10);
        rc = record_batch_validate(b, zsize - 10);
        CHECK(rc == CORRUPT_MESSAGE || rc == INVALID_RECORD);
        free(b);
        free(zb);
    }

    /* Offset deltas. */
    struct record_builder_entry e[3];
    memset(e, 0, sizeof(e));
    for (int i = 0; i < 3; i++) {
        e[i].offset_delta = i;
        e[i].key_len = -1;
        e[i].value = (const uint8_t *)"v";
        e[i].value_len = 1;
    }
    for (int codec = 0; codec <= COMPRESSION_ZSTD; codec += 4) {
        b = build_custom(e, 3, 2, (int16_t)codec, &size);
        CHECK_EQ(record_batch_validate(b, size), 0);
        free(b);
        e[1].offset_delta = 0; /* duplicate */
        b = build_custom(e, 3, 2, (int16_t)codec, &size);
        CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
        CHECK_EQ(record_batch_validate_stored(b, size), INVALID_RECORD);
        free(b);
        e[1].offset_delta = 3; /* beyond lastOffsetDelta, out of order */
        b = build_custom(e, 3, 2, (int16_t)codec, &size);
        CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
        free(b);
        e[0].offset_delta = 1; /* not starting at 0 */
        e[1].offset_delta = 2;
        e[2].offset_delta = 3;
        b = build_custom(e, 3, 3, (int16_t)codec, &size);
        CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
        CHECK_EQ(record_batch_validate_stored(b, size), 0); /* compacted: fine */
        free(b);
        e[0].offset_delta = 0; /* gap in the middle: compaction output */
        e[1].offset_delta = 5;
        e[2].offset_delta = 6;
        b = build_custom(e, 3, 9, (int16_t)codec, &size);
        CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
        CHECK_EQ(record_batch_validate_stored(b, size), 0);
        free(b);
        for (int i = 0; i < 3; i++)
            e[i].offset_delta = i;
    }

    /* Control batch: valid, but flagged distinctly for produce. */
    b = build_custom(e, 1, 0, BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL, &size);
    CHECK_EQ(record_batch_validate(b, size), RECORD_BATCH_CONTROL);
    CHECK_EQ(record_batch_validate_stored(b, size), 0);
    free(b);

    /* Malformed records inside an uncompressed batch, CRC fixed up. */
    b = build_custom(e, 1, 0, 0, &size);
    /* record: len, attr, tsDelta, offDelta, keyLen(-1 = 0x01), valueLen, 'v', hdrCount */
    CHECK_EQ(b[61], 2 * 7);
    CHECK_EQ(b[65], 0x01);
    b[65] = 0x03; /* key length -2 */
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    b[65] = 0x01;
    b[61] = 2 * 8; /* record length overruns the batch */
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    b[61] = 2 * 6; /* record shorter than its fields */
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    b[61] = 2 * 7;
    b[68] = 0x01; /* header count -1 */
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    b[68] = 0x02; /* header count 1 but no header bytes */
    record_batch_update_crc(b, size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    free(b);

    /* A header with a null key is invalid; a null value is fine. */
    uint8_t null_key_header[] = {0x01, 0x02, 'x'};
    uint8_t null_value_header[] = {0x02, 'k', 0x01};
    e[0].headers = null_value_header;
    e[0].headers_len = sizeof(null_value_header);
    e[0].header_count = 1;
    b = build_custom(e, 1, 0, 0, &size);
    CHECK_EQ(record_batch_validate(b, size), 0);
    free(b);
    e[0].headers = null_key_header;
    e[0].headers_len = sizeof(null_key_header);
    b = build_custom(e, 1, 0, 0, &size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    free(b);
    e[0].header_count = 2; /* count says 2, bytes hold 1 */
    e[0].headers = null_value_header;
    e[0].headers_len = sizeof(null_value_header);
    b = build_custom(e, 1, 0, 0, &size);
    CHECK_EQ(record_batch_validate(b, size), INVALID_RECORD);
    free(b);

    /* Extra bytes after the last record inside a compressed payload. */
    {
        uint8_t *plain = malloc(64);
        size_t plain_len = 0;
        uint8_t *one = build_custom(e, 1, 0, 0, &size);
        plain_len = size - RECORD_BATCH_HEADER_SIZE;
        memcpy(plain, one + RECORD_BATCH_HEADER_SIZE, plain_len);
        plain[plain_len++] = 0;
        uint8_t *packed;
        size_t packed_len;
        CHECK_EQ(compress_buffer(COMPRESSION_ZSTD, plain, plain_len, &packed, &packed_len), 0);
        size_t total = RECORD_BATCH_HEADER_SIZE + packed_len;
        b = malloc(total);
        memcpy(b, one, RECORD_BATCH_HEADER_SIZE);
        memcpy(b + RECORD_BATCH_HEADER_SIZE, packed, packed_len);
        put32(b + 8, (uint32_t)(total - 12));
        b[22] = COMPRESSION_ZSTD;
        record_batch_update_crc(b, total);
        CHECK_EQ(record_batch_validate(b, total), INVALID_RECORD);
        free(b);
        free(packed);
        free(one);
        free(plain);
    }

    /* Invalid builder input. */
    uint8_t *out;
    size_t out_len;
    struct record_builder_entry bad = e[0];
    bad.key_len = -2;
    memset(&h, 0, sizeof(h));
    CHECK(record_batch_build(&h, &bad, 1, &out, &out_len) < 0);
    h.attributes = 6;
    CHECK(record_batch_build(&h, e, 1, &out, &out_len) < 0);
    free(good);
}

static void test_decompression_bomb(void)
{
    printf("decompression bomb: a batch expanding past the limit is rejected\n");
    size_t value_len = RECORD_BATCH_MAX_DECOMPRESSED_SIZE + 1024;
    uint8_t *value = calloc(1, value_len);
    struct record_builder_entry e;
    memset(&e, 0, sizeof(e));
    e.key_len = -1;
    e.value = value;
    e.value_len = (int32_t)value_len;
    size_t size;
    uint8_t *b = build_custom(&e, 1, 0, COMPRESSION_ZSTD, &size);
    CHECK(b != NULL);
    printf("  %zu MiB of zeros -> %zu byte zstd batch\n", value_len >> 20, size);
    CHECK_EQ(record_batch_validate(b, size), CORRUPT_MESSAGE);
    free(b);
    free(value);
}

/* ---- fixtures from real clients ---- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_client_fixtures(void)
{
    static const char *const names[] = {
        "kafka_python_none", "kafka_python_gzip", "kafka_python_snappy", "kafka_python_snappy_raw",
        "kafka_python_lz4",  "kafka_python_zstd", "rdkafka_none",        "rdkafka_gzip",
        "rdkafka_snappy",    "rdkafka_lz4",       "rdkafka_zstd",
    };
    printf("client fixtures (kafka-python, librdkafka) decode exactly\n");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s.bin", FIXTURE_DIR, names[i]);
        size_t len;
        uint8_t *batch = read_file(path, &len);
        CHECK(batch != NULL);
        if (batch == NULL) {
            fprintf(stderr, "  missing %s (run from the repo root)\n", path);
            continue;
        }
        struct record_batch_header h;
        CHECK_EQ(record_batch_parse_header(batch, len, &h), 0);
        CHECK_EQ(record_batch_total_size(&h), len);
        printf("  %-24s %4zu bytes, codec %s\n", names[i], len,
               compression_name((enum record_compression)(h.attributes & 7)));
        CHECK(record_batch_crc_ok(batch, len));
        CHECK_EQ(record_batch_validate(batch, len), 0);
        check_fixture_records(batch, len, names[i]);
        free(batch);
    }
}

int main(void)
{
    test_crc32c();
    test_round_trip();
    test_empty_and_big();
    test_validation_rejects();
    test_decompression_bomb();
    test_client_fixtures();
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
