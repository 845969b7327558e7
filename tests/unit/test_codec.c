/* test_codec.c - generated codec: round trips of every API and version, and
 * decoder robustness (truncations, bad lengths, unknown versions).
 *
 * For every API (request and response) and every valid version, a message
 * filled with non-default values (generated test_fill.c) is encoded, decoded
 * and encoded again: both encodings must be byte-identical, size() must equal
 * the bytes written and decode must consume exactly the encoding. Every
 * strict prefix of the encoding must then fail to decode; each prefix is
 * copied into an exactly-sized heap buffer so the SAN=1 build catches any
 * read past the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"
#include "protocol/generated/test_fill.h"

static int failures;
static long checks;

#define CHECK(cond, ...)                                     \
    do {                                                     \
        checks++;                                            \
        if (!(cond)) {                                       \
            failures++;                                      \
            if (failures < 50) {                             \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                \
                fprintf(stderr, "\n");                       \
            }                                                \
        }                                                    \
    } while (0)

/* A message kind the tests walk: an API side, a header or a data schema. */
struct codec_ops {
    const char *name;
    int16_t key; /* api key, or -1 */
    bool response;
    int16_t min_version, max_version;
    size_t struct_size;
    void (*fill)(void *m, int16_t v, struct arena *a, unsigned seed);
    int (*decode)(struct wire_reader *r, int16_t v, void *m, struct arena *a);
    size_t (*size)(int16_t v, const void *m);
    int (*encode)(struct wire_writer *w, int16_t v, const void *m);
};

static int16_t current_key;

static void api_req_fill(void *m, int16_t v, struct arena *a, unsigned seed)
{
    api_request_fill_test(current_key, m, v, a, seed);
}
static void api_resp_fill(void *m, int16_t v, struct arena *a, unsigned seed)
{
    api_response_fill_test(current_key, m, v, a, seed);
}
static int api_req_decode(struct wire_reader *r, int16_t v, void *m, struct arena *a)
{
    return api_request_decode(current_key, v, r, m, a);
}
static int api_resp_decode(struct wire_reader *r, int16_t v, void *m, struct arena *a)
{
    return api_response_decode(current_key, v, r, m, a);
}
static size_t api_req_size(int16_t v, const void *m)
{
    return api_request_size(current_key, v, m);
}
static size_t api_resp_size(int16_t v, const void *m)
{
    return api_response_size(current_key, v, m);
}
static int api_req_encode(struct wire_writer *w, int16_t v, const void *m)
{
    return api_request_encode(current_key, v, w, m);
}
static int api_resp_encode(struct wire_writer *w, int16_t v, const void *m)
{
    return api_response_encode(current_key, v, w, m);
}

static struct {
    long messages, versions, bytes, truncations;
} stats;

/* Decoding every strict prefix of buf must fail cleanly. */
static void check_truncations(const struct codec_ops *ops, int16_t v, const uint8_t *buf, size_t len,
                              struct arena *a)
{
    void *m = malloc(ops->struct_size);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        struct wire_reader r;
        wire_reader_init(&r, copy, cut);
        int rc = ops->decode(&r, v, m, a);
        CHECK(rc != 0 && r.error != 0, "%s v%d: prefix %zu/%zu decoded", ops->name, v, cut, len);
        free(copy);
        arena_reset(a);
        stats.truncations++;
    }
    free(m);
}

static void round_trip(const struct codec_ops *ops, int16_t v, unsigned seed, struct arena *a)
{
    void *m1 = calloc(1, ops->struct_size);
    void *m2 = calloc(1, ops->struct_size);
    ops->fill(m1, v, a, seed);
    size_t size = ops->size(v, m1);
    uint8_t *buf1 = malloc(size ? size : 1);
    uint8_t *buf2 = malloc(size ? size : 1);
    struct wire_writer w;
    wire_writer_init(&w, buf1, size);
    int rc = ops->encode(&w, v, m1);
    CHECK(rc == 0, "%s v%d seed %u: encode failed (error %d)", ops->name, v, seed, w.error);
    CHECK((size_t)(w.pos - buf1) == size, "%s v%d seed %u: size() %zu but wrote %td", ops->name, v,
          seed, size, w.pos - buf1);

    struct wire_reader r;
    wire_reader_init(&r, buf1, size);
    rc = ops->decode(&r, v, m2, a);
    CHECK(rc == 0, "%s v%d seed %u: decode failed (error %d at %td/%zu)", ops->name, v, seed,
          r.error, r.pos - buf1, size);
    CHECK(r.pos == r.end, "%s v%d seed %u: decode left %zu bytes", ops->name, v, seed,
          wire_reader_remaining(&r));
    size_t size2 = ops->size(v, m2);
    CHECK(size2 == size, "%s v%d seed %u: size after decode %zu != %zu", ops->name, v, seed, size2,
          size);
    if (rc == 0 && size2 == size) {
        wire_writer_init(&w, buf2, size);
        rc = ops->encode(&w, v, m2);
        CHECK(rc == 0 && memcmp(buf1, buf2, size) == 0, "%s v%d seed %u: re-encoding differs",
              ops->name, v, seed);
    }
    stats.messages++;
    stats.bytes += (long)size;
    if (seed == 0 && rc == 0)
        check_truncations(ops, v, buf1, size, a);
    /* Unsupported versions are rejected on every path. */
    wire_reader_init(&r, buf1, size);
    CHECK(ops->decode(&r, (int16_t)(ops->max_version + 1), m2, a) == -1, "%s: v%d+1 decoded",
          ops->name, ops->max_version);
    CHECK(ops->size((int16_t)(ops->min_version - 1), m1) == 0, "%s: size of bad version", ops->name);
    wire_writer_init(&w, buf2, size);
    CHECK(ops->encode(&w, -1, m1) == -1, "%s: encoded v-1", ops->name);
    free(buf1);
    free(buf2);
    free(m1);
    free(m2);
    arena_reset(a);
}

static void walk(const struct codec_ops *ops, struct arena *a)
{
    for (int16_t v = ops->min_version; v <= ops->max_version; v++) {
        stats.versions++;
        for (unsigned seed = 0; seed < 6; seed++)
            round_trip(ops, v, seed, a);
    }
}

static void test_all_round_trips(void)
{
    struct arena a;
    arena_init(&a);
    int apis = 0;
    for (int16_t key = 0; key < API_KEY_COUNT; key++) {
        const struct api_info *info = api_info_get(key);
        if (!info)
            continue;
        apis++;
        current_key = key;
        struct codec_ops req = {info->name, key, false, info->min_version, info->max_version,
                                info->request_struct_size, api_req_fill, api_req_decode,
                                api_req_size, api_req_encode};
        struct codec_ops resp = {info->name, key, true, info->min_version, info->max_version,
                                 info->response_struct_size, api_resp_fill, api_resp_decode,
                                 api_resp_size, api_resp_encode};
        walk(&req, &a);
        walk(&resp, &a);
    }
    /* Headers, data schemas, metadata and internal records. */
    for (size_t i = 0; i < test_schema_count; i++) {
        const struct test_schema *t = &test_schemas[i];
        struct codec_ops ops = {t->name, -1, false, t->min_version, t->max_version,
                                t->struct_size, t->fill, t->decode, t->size, t->encode};
        walk(&ops, &a);
    }
    arena_free(&a);
    printf("round trips: %d APIs (requests and responses) + %zu other schemas, %ld versions, "
           "%ld messages, %ld bytes, %ld truncated decodes rejected\n",
           apis, test_schema_count, stats.versions, stats.messages, stats.bytes,
           stats.truncations);
}

/* Decode bytes as a request of the given API; returns the decoder's result. */
static int decode_req(int16_t key, int16_t v, const uint8_t *bytes, size_t len)
{
    struct arena a;
    arena_init(&a);
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, bytes, len);
    void *m = malloc(api_request_struct_size(key));
    struct wire_reader r;
    wire_reader_init(&r, copy, len);
    int rc = api_request_decode(key, v, &r, m, &a);
    free(m);
    free(copy);
    arena_free(&a);
    return rc;
}

static void test_bad_lengths(void)
{
    /* Metadata v1: topics int32 count, then per topic int16 name. */
    static const uint8_t ok[] = {0, 0, 0, 1, 0, 1, 't'};
    CHECK(decode_req(API_METADATA, 1, ok, sizeof ok) == 0, "metadata v1 baseline");
    static const uint8_t null_topics_v1[] = {0xff, 0xff, 0xff, 0xff};
    CHECK(decode_req(API_METADATA, 1, null_topics_v1, sizeof null_topics_v1) == 0,
          "null topics allowed in v1");
    CHECK(decode_req(API_METADATA, 0, null_topics_v1, sizeof null_topics_v1) == -1,
          "null topics rejected in v0");
    static const uint8_t neg_count[] = {0xff, 0xff, 0xff, 0xfe};
    CHECK(decode_req(API_METADATA, 1, neg_count, sizeof neg_count) == -1, "array count -2");
    static const uint8_t huge_count[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 't'};
    CHECK(decode_req(API_METADATA, 1, huge_count, sizeof huge_count) == -1, "array count 2^31-1");
    static const uint8_t neg_str[] = {0, 0, 0, 1, 0xff, 0xfe};
    CHECK(decode_req(API_METADATA, 1, neg_str, sizeof neg_str) == -1, "string length -2");
    static const uint8_t null_str[] = {0, 0, 0, 1, 0xff, 0xff};
    CHECK(decode_req(API_METADATA, 1, null_str, sizeof null_str) == -1, "null non-nullable name");
    static const uint8_t long_str[] = {0, 0, 0, 1, 0x7f, 0xff, 't'};
    CHECK(decode_req(API_METADATA, 1, long_str, sizeof long_str) == -1, "string beyond input");

    /* Metadata v9 (flexible): compact array, compact string, tags. */
    static const uint8_t flex_ok[] = {2, 2, 't', 0, 1, 0, 0, 0};
    CHECK(decode_req(API_METADATA, 9, flex_ok, sizeof flex_ok) == 0, "metadata v9 baseline");
    static const uint8_t flex_huge_str[] = {2, 0xff, 0xff, 0xff, 0xff, 0x0f, 't'};
    CHECK(decode_req(API_METADATA, 9, flex_huge_str, sizeof flex_huge_str) == -1,
          "compact string length 2^32-2");
    static const uint8_t flex_overlong_varint[] = {0x82, 0x80, 0x80, 0x80, 0x80, 0x00};
    CHECK(decode_req(API_METADATA, 9, flex_overlong_varint, sizeof flex_overlong_varint) == -1,
          "6-byte varint");
    static const uint8_t flex_huge_count[] = {0xff, 0xff, 0xff, 0xff, 0x07, 2, 't', 0};
    CHECK(decode_req(API_METADATA, 9, flex_huge_count, sizeof flex_huge_count) == -1,
          "compact count beyond input");
    /* An unknown tagged field (tag 7, 2 bytes) in the topic is skipped. */
    static const uint8_t flex_unknown_tag[] = {2, 2, 't', 1, 7, 2, 0xaa, 0xbb, 1, 0, 0, 0};
    CHECK(decode_req(API_METADATA, 9, flex_unknown_tag, sizeof flex_unknown_tag) == 0,
          "unknown tag skipped");
    static const uint8_t flex_tag_overrun[] = {2, 2, 't', 1, 7, 9, 0xaa, 0xbb, 1, 0, 0, 0};
    CHECK(decode_req(API_METADATA, 9, flex_tag_overrun, sizeof flex_tag_overrun) == -1,
          "tag length beyond input");
    static const uint8_t flex_many_tags[] = {2, 2, 't', 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0};
    CHECK(decode_req(API_METADATA, 9, flex_many_tags, sizeof flex_many_tags) == -1,
          "tag count 2^32-1");

    /* Produce v3: bytes length -2 and beyond input. */
    static const uint8_t produce_bad_records[] = {
        0xff, 0xff,             /* transactional id: null */
        0, 1, 0, 0, 0, 0,       /* acks 1, timeout 0 */
        0, 0, 0, 1, 0, 1, 't',  /* one topic "t" */
        0, 0, 0, 1, 0, 0, 0, 0, /* one partition, index 0 */
        0xff, 0xff, 0xff, 0xfe, /* records length -2 */
    };
    CHECK(decode_req(API_PRODUCE, 3, produce_bad_records, sizeof produce_bad_records) == -1,
          "records length -2");
    uint8_t produce_long[sizeof produce_bad_records];
    memcpy(produce_long, produce_bad_records, sizeof produce_long);
    produce_long[sizeof produce_long - 1] = 0x10; /* 0xfffffe10: still negative */
    produce_long[sizeof produce_long - 4] = 0x00; /* 0x00fffe10: far beyond the input */
    CHECK(decode_req(API_PRODUCE, 3, produce_long, sizeof produce_long) == -1,
          "records beyond input");

    /* Unknown api key and unsupported versions. */
    CHECK(api_info_get(-1) == NULL && api_info_get(API_KEY_COUNT) == NULL, "unknown key has no info");
    CHECK(decode_req(API_METADATA, 13, ok, sizeof ok) == -1, "metadata v13 rejected");
    CHECK(decode_req(API_METADATA, -1, ok, sizeof ok) == -1, "metadata v-1 rejected");
    struct wire_reader r;
    wire_reader_init(&r, ok, sizeof ok);
    uint8_t scratch[64];
    CHECK(api_request_decode(1000, 0, &r, scratch, NULL) == -1, "unknown key rejected");
    printf("bad lengths, nulls, tags and versions: checked\n");
}

static void test_header_versions(void)
{
    CHECK(request_header_version(API_API_VERSIONS, 0) == 1, "ApiVersions v0 req header 1");
    CHECK(request_header_version(API_API_VERSIONS, 3) == 2, "ApiVersions v3 req header 2");
    CHECK(request_header_version(API_API_VERSIONS, 9) == 2, "ApiVersions v9 req header 2");
    CHECK(response_header_version(API_API_VERSIONS, 3) == 0, "ApiVersions v3 resp header 0");
    CHECK(request_header_version(API_CONTROLLED_SHUTDOWN, 0) == 0, "ControlledShutdown v0 header 0");
    CHECK(request_header_version(API_METADATA, 8) == 1, "Metadata v8 header 1");
    CHECK(request_header_version(API_METADATA, 9) == 2, "Metadata v9 header 2");
    CHECK(response_header_version(API_METADATA, 9) == 1, "Metadata v9 resp header 1");
    CHECK(response_header_version(API_FETCH, 11) == 0, "Fetch v11 resp header 0");
    CHECK(request_header_version(-5, 0) == -1, "unknown key");
    const struct api_info *p = api_info_get(API_PRODUCE);
    CHECK(p && strcmp(p->name, "Produce") == 0 && p->min_version == 0 && p->max_version == 11 &&
              p->flexible_min == 9 && (p->listeners & API_LISTENER_BROKER),
          "Produce info");
    const struct api_info *lo = api_info_get(API_SHARE_FETCH);
    CHECK(lo && lo->latest_unstable, "ShareFetch latest unstable");
    printf("header versions and api table: checked\n");
}

static void test_arena(void)
{
    struct arena a;
    arena_init(&a);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 1; i < 3000; i += 7) {
            uint8_t *p = arena_alloc(&a, i);
            CHECK(p && ((uintptr_t)p & 7) == 0, "aligned allocation");
            size_t zero = 0;
            for (size_t j = 0; j < i; j++)
                zero += p[j];
            CHECK(zero == 0, "zeroed allocation");
            memset(p, 0xab, i);
        }
        uint8_t *big = arena_alloc(&a, 1 << 20);
        CHECK(big && big[12345] == 0, "big allocation");
        arena_reset(&a);
    }
    CHECK(arena_alloc_array(&a, SIZE_MAX / 2, 4) == NULL, "overflowing array size");
    CHECK(arena_alloc(&a, 0) != NULL, "zero-size allocation");
    arena_free(&a);
    printf("arena: checked\n");
}

static void test_wire_varints(void)
{
    uint8_t buf[64];
    static const int64_t values[] = {0, 1, -1, 63, -64, 64, 300, -300, INT32_MAX, INT32_MIN,
                                     INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        struct wire_writer w;
        wire_writer_init(&w, buf, sizeof buf);
        wire_write_varlong(&w, values[i]);
        CHECK((size_t)(w.pos - buf) == wire_varlong_size(values[i]), "varlong size %lld",
              (long long)values[i]);
        if (values[i] >= INT32_MIN && values[i] <= INT32_MAX)
            wire_write_varint(&w, (int32_t)values[i]);
        struct wire_reader r;
        wire_reader_init(&r, buf, (size_t)(w.pos - buf));
        CHECK(wire_read_varlong(&r) == values[i], "varlong %lld", (long long)values[i]);
        if (values[i] >= INT32_MIN && values[i] <= INT32_MAX)
            CHECK(wire_read_varint(&r) == values[i], "varint %lld", (long long)values[i]);
        CHECK(!r.error && r.pos == r.end, "varint stream consumed");
    }
    /* zigzag: -1 -> 1, 1 -> 2 */
    struct wire_writer w;
    wire_writer_init(&w, buf, sizeof buf);
    wire_write_varint(&w, -1);
    wire_write_varint(&w, 1);
    CHECK(buf[0] == 1 && buf[1] == 2, "zigzag bytes");
    /* Writer bounds. */
    wire_writer_init(&w, buf, 3);
    wire_write_int32(&w, 5);
    CHECK(w.error == WIRE_ERR_NO_SPACE && w.pos == buf, "writer overflow detected");
    printf("wire varints and bounds: checked\n");
}

int main(void)
{
    test_wire_varints();
    test_arena();
    test_header_versions();
    test_bad_lengths();
    test_all_round_trips();
    printf("%ld checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
