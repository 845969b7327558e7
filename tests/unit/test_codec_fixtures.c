/* test_codec_fixtures.c - the generated codec against byte fixtures written
 * by hand from the Kafka protocol spec (README "Types and their encoding").
 *
 * Each fixture builds a message struct, encodes it and compares with the
 * expected bytes, then decodes the expected bytes and re-encodes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"

static int failures, fixtures;

static void dump(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s (%zu):", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, "\n");
}

typedef size_t (*size_fn)(int16_t, const void *);
typedef int (*encode_fn)(struct wire_writer *, int16_t, const void *);
typedef int (*decode_fn)(struct wire_reader *, int16_t, void *, struct arena *);

/* encode(msg) == expect, and decode(expect) re-encodes to expect. */
static void check_fixture(const char *label, int16_t v, const void *msg, size_t struct_size, size_fn size,
                          encode_fn encode, decode_fn decode, const uint8_t *expect, size_t len)
{
    fixtures++;
    uint8_t buf[1024];
    size_t n = size(v, msg);
    struct wire_writer w;
    wire_writer_init(&w, buf, sizeof buf);
    int rc = encode(&w, v, msg);
    size_t written = (size_t)(w.pos - buf);
    if (rc != 0 || n != len || written != len || memcmp(buf, expect, len) != 0) {
        failures++;
        fprintf(stderr, "FAIL %s: rc %d size %zu written %zu expected %zu\n", label, rc, n, written, len);
        dump("got     ", buf, written);
        dump("expected", expect, len);
        return;
    }
    struct arena a;
    arena_init(&a);
    void *back = malloc(struct_size);
    struct wire_reader r;
    wire_reader_init(&r, expect, len);
    rc = decode(&r, v, back, &a);
    if (rc != 0 || r.pos != r.end) {
        failures++;
        fprintf(stderr, "FAIL %s: decode rc %d error %d\n", label, rc, r.error);
    } else {
        wire_writer_init(&w, buf, sizeof buf);
        if (encode(&w, v, back) != 0 || (size_t)(w.pos - buf) != len || memcmp(buf, expect, len) != 0) {
            failures++;
            fprintf(stderr, "FAIL %s: decode+encode differs\n", label);
        }
    }
    free(back);
    arena_free(&a);
    printf("ok %s (%zu bytes)\n", label, len);
}

#define FIXTURE(label, type, v, msg, ...)                                                         \
    do {                                                                                          \
        static const uint8_t expect_[] = {__VA_ARGS__};                                           \
        check_fixture(label, v, msg, sizeof(struct type), (size_fn)type##_size_any,               \
                      (encode_fn)type##_encode_any, (decode_fn)type##_decode_any, expect_,         \
                      sizeof expect_);                                                            \
    } while (0)

/* Adapters from typed generated functions to the generic signatures. */
#define ADAPT(type)                                                                               \
    static size_t type##_size_any(int16_t v, const void *m) { return type##_size(v, m); }          \
    static int type##_encode_any(struct wire_writer *w, int16_t v, const void *m)                 \
    {                                                                                             \
        return type##_encode(w, v, m);                                                            \
    }                                                                                             \
    static int type##_decode_any(struct wire_reader *r, int16_t v, void *m, struct arena *a)     \
    {                                                                                             \
        return type##_decode(r, v, m, a);                                                         \
    }
ADAPT(request_header)
ADAPT(response_header)
ADAPT(api_versions_request)
ADAPT(api_versions_response)
ADAPT(metadata_request)
ADAPT(metadata_response)
ADAPT(produce_request)
ADAPT(produce_response)
ADAPT(fetch_request)
ADAPT(fetch_response)

static const struct kuuid uuid_1_16 = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
#define UUID_1_16 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

static void test_headers(void)
{
    struct request_header h;
    request_header_init(&h);
    h.request_api_key = 18;
    h.request_api_version = 3;
    h.correlation_id = 1;
    h.client_id = kstr_from_cstr("ab");
    FIXTURE("RequestHeader v1", request_header, 1, &h,
            0x00, 0x12,             /* api key 18 */
            0x00, 0x03,             /* api version 3 */
            0x00, 0x00, 0x00, 0x01, /* correlation id */
            0x00, 0x02, 'a', 'b');  /* client id: int16 length + bytes */
    FIXTURE("RequestHeader v2", request_header, 2, &h,
            0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
            0x00, 0x02, 'a', 'b', /* client id stays a classic string (flexibleVersions none) */
            0x00);                /* empty tagged-field section */
    h.client_id = kstr_null();
    FIXTURE("RequestHeader v1 null client", request_header, 1, &h,
            0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff);
    struct response_header rh;
    response_header_init(&rh);
    rh.correlation_id = 0x01020304;
    FIXTURE("ResponseHeader v0", response_header, 0, &rh, 0x01, 0x02, 0x03, 0x04);
    FIXTURE("ResponseHeader v1", response_header, 1, &rh, 0x01, 0x02, 0x03, 0x04, 0x00);
}

static void test_api_versions(void)
{
    /* v0 request: empty body. */
    struct api_versions_request req;
    api_versions_request_init(&req);
    uint8_t buf[8];
    struct wire_writer w;
    wire_writer_init(&w, buf, sizeof buf);
    fixtures++;
    if (api_versions_request_size(0, &req) != 0 || api_versions_request_encode(&w, 0, &req) != 0 ||
        w.pos != buf) {
        failures++;
        fprintf(stderr, "FAIL ApiVersionsRequest v0 is not empty\n");
    } else {
        printf("ok ApiVersionsRequest v0 (0 bytes)\n");
    }

    req.client_software_name = kstr_from_cstr("eddy");
    req.client_software_version = kstr_from_cstr("1.0");
    FIXTURE("ApiVersionsRequest v3", api_versions_request, 3, &req,
            0x05, 'e', 'd', 'd', 'y', /* compact string: uvarint(len+1) */
            0x04, '1', '.', '0',
            0x00);                    /* tagged fields */

    struct api_versions_response_api_version key = {0};
    api_versions_response_api_version_init(&key);
    key.api_key = 18;
    key.min_version = 0;
    key.max_version = 4;
    struct api_versions_response resp;
    api_versions_response_init(&resp);
    resp.api_keys_count = 1;
    resp.api_keys = &key;
    FIXTURE("ApiVersionsResponse v0", api_versions_response, 0, &resp,
            0x00, 0x00,             /* error code */
            0x00, 0x00, 0x00, 0x01, /* int32 array count */
            0x00, 0x12, 0x00, 0x00, 0x00, 0x04); /* key 18, versions 0-4 */

    struct api_versions_response_supported_feature_key feature;
    api_versions_response_supported_feature_key_init(&feature);
    feature.name = kstr_from_cstr("x");
    feature.min_version = 1;
    feature.max_version = 2;
    resp.throttle_time_ms = 0x10;
    resp.supported_features_count = 1;
    resp.supported_features = &feature;
    resp.finalized_features_epoch = 5;
    FIXTURE("ApiVersionsResponse v3", api_versions_response, 3, &resp,
            0x00, 0x00,                         /* error code */
            0x02,                               /* compact array: 1 element */
            0x00, 0x12, 0x00, 0x00, 0x00, 0x04, /* key 18, versions 0-4 */
            0x00,                               /* element tagged fields */
            0x00, 0x00, 0x00, 0x10,             /* throttle time */
            0x02,                               /* 2 tagged fields, ascending tags */
            0x00, 0x08,                         /* tag 0 SupportedFeatures, 8 bytes: */
            0x02, 0x02, 'x', 0x00, 0x01, 0x00, 0x02, 0x00,
            0x01, 0x08,                         /* tag 1 FinalizedFeaturesEpoch, 8 bytes */
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05);
}

static void test_metadata(void)
{
    struct metadata_request_topic topic;
    metadata_request_topic_init(&topic);
    topic.name = kstr_from_cstr("foo");
    struct metadata_request req;
    metadata_request_init(&req);
    req.topics_count = 1;
    req.topics = &topic;
    FIXTURE("MetadataRequest v1", metadata_request, 1, &req,
            0x00, 0x00, 0x00, 0x01,       /* one topic */
            0x00, 0x03, 'f', 'o', 'o');   /* name */
    FIXTURE("MetadataRequest v12", metadata_request, 12, &req,
            0x02,                         /* compact array, 1 topic */
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* topic id: zero */
            0x04, 'f', 'o', 'o',          /* compact nullable name */
            0x00,                         /* topic tags */
            0x01,                         /* allow auto topic creation (default true) */
            0x00,                         /* include topic authorized operations */
            0x00);                        /* tags */

    int32_t replicas[1] = {1};
    struct metadata_response_broker broker;
    metadata_response_broker_init(&broker);
    broker.node_id = 1;
    broker.host = kstr_from_cstr("h");
    broker.port = 9092;
    struct metadata_response_partition part;
    metadata_response_partition_init(&part);
    part.leader_id = 1;
    part.leader_epoch = 5;
    part.replica_nodes_count = 1;
    part.replica_nodes = replicas;
    part.isr_nodes_count = 1;
    part.isr_nodes = replicas;
    struct metadata_response_topic rt;
    metadata_response_topic_init(&rt);
    rt.name = kstr_from_cstr("foo");
    rt.topic_id = uuid_1_16;
    rt.partitions_count = 1;
    rt.partitions = &part;
    rt.topic_authorized_operations = 0xff8;
    struct metadata_response resp;
    metadata_response_init(&resp);
    resp.brokers_count = 1;
    resp.brokers = &broker;
    resp.cluster_id = kstr_from_cstr("c");
    resp.controller_id = 1;
    resp.topics_count = 1;
    resp.topics = &rt;
    FIXTURE("MetadataResponse v1", metadata_response, 1, &resp,
            0x00, 0x00, 0x00, 0x01,       /* brokers */
            0x00, 0x00, 0x00, 0x01,       /* node id */
            0x00, 0x01, 'h',              /* host */
            0x00, 0x00, 0x23, 0x84,       /* port 9092 */
            0xff, 0xff,                   /* rack: null */
            0x00, 0x00, 0x00, 0x01,       /* controller id (v1+); no cluster id before v2 */
            0x00, 0x00, 0x00, 0x01,       /* topics */
            0x00, 0x00,                   /* error code */
            0x00, 0x03, 'f', 'o', 'o',    /* name */
            0x00,                         /* is internal (v1+) */
            0x00, 0x00, 0x00, 0x01,       /* partitions */
            0x00, 0x00,                   /* error code */
            0x00, 0x00, 0x00, 0x00,       /* partition index */
            0x00, 0x00, 0x00, 0x01,       /* leader; no leader epoch before v7 */
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* replicas [1] */
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01); /* isr [1] */
    FIXTURE("MetadataResponse v12", metadata_response, 12, &resp,
            0x00, 0x00, 0x00, 0x00,       /* throttle time */
            0x02,                         /* brokers: compact, 1 */
            0x00, 0x00, 0x00, 0x01,       /* node id */
            0x02, 'h',                    /* host */
            0x00, 0x00, 0x23, 0x84,       /* port */
            0x00,                         /* rack: compact null */
            0x00,                         /* broker tags */
            0x02, 'c',                    /* cluster id */
            0x00, 0x00, 0x00, 0x01,       /* controller id */
            0x02,                         /* topics */
            0x00, 0x00,                   /* error code */
            0x04, 'f', 'o', 'o',          /* name */
            UUID_1_16,                    /* topic id (v10+) */
            0x00,                         /* is internal */
            0x02,                         /* partitions */
            0x00, 0x00,                   /* error code */
            0x00, 0x00, 0x00, 0x00,       /* index */
            0x00, 0x00, 0x00, 0x01,       /* leader */
            0x00, 0x00, 0x00, 0x05,       /* leader epoch (v7+) */
            0x02, 0x00, 0x00, 0x00, 0x01, /* replicas */
            0x02, 0x00, 0x00, 0x00, 0x01, /* isr */
            0x01,                         /* offline replicas: empty (v5+) */
            0x00,                         /* partition tags */
            0x00, 0x00, 0x0f, 0xf8,       /* topic authorized operations (v8+) */
            0x00,                         /* topic tags; no cluster ops after v10 */
            0x00);                        /* tags */
}

static const uint8_t batch_bytes[4] = {0xde, 0xad, 0xbe, 0xef};

static void test_produce(void)
{
    struct produce_request_partition_produce_data pd;
    produce_request_partition_produce_data_init(&pd);
    pd.index = 0;
    pd.records.ptr = batch_bytes;
    pd.records.len = 4;
    struct produce_request_topic_produce_data td;
    produce_request_topic_produce_data_init(&td);
    td.name = kstr_from_cstr("t");
    td.partition_data_count = 1;
    td.partition_data = &pd;
    struct produce_request req;
    produce_request_init(&req);
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topic_data_count = 1;
    req.topic_data = &td;
    FIXTURE("ProduceRequest v3", produce_request, 3, &req,
            0xff, 0xff,                   /* transactional id: null */
            0xff, 0xff,                   /* acks -1 */
            0x00, 0x00, 0x75, 0x30,       /* timeout 30000 */
            0x00, 0x00, 0x00, 0x01,       /* topics */
            0x00, 0x01, 't',
            0x00, 0x00, 0x00, 0x01,       /* partitions */
            0x00, 0x00, 0x00, 0x00,       /* index */
            0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef); /* records: int32 size */
    FIXTURE("ProduceRequest v9", produce_request, 9, &req,
            0x00,                         /* transactional id: compact null */
            0xff, 0xff, 0x00, 0x00, 0x75, 0x30,
            0x02, 0x02, 't',              /* topics, name */
            0x02, 0x00, 0x00, 0x00, 0x00, /* partitions, index */
            0x05, 0xde, 0xad, 0xbe, 0xef, /* records: compact bytes */
            0x00, 0x00, 0x00);            /* partition, topic, request tags */

    struct produce_response_partition_produce_response pr;
    produce_response_partition_produce_response_init(&pr);
    pr.base_offset = 42;
    pr.log_start_offset = 0;
    struct produce_response_topic_produce_response tr;
    produce_response_topic_produce_response_init(&tr);
    tr.name = kstr_from_cstr("t");
    tr.partition_responses_count = 1;
    tr.partition_responses = &pr;
    struct produce_response resp;
    produce_response_init(&resp);
    resp.responses_count = 1;
    resp.responses = &tr;
    FIXTURE("ProduceResponse v3", produce_response, 3, &resp,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
            0x00, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x00, 0x00,       /* index */
            0x00, 0x00,                   /* error */
            0, 0, 0, 0, 0, 0, 0, 42,      /* base offset */
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log append time -1 (v2+) */
            0x00, 0x00, 0x00, 0x00);      /* throttle time (v1+) */
    FIXTURE("ProduceResponse v9", produce_response, 9, &resp,
            0x02, 0x02, 't', 0x02,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0, 0, 0, 0, 0, 0, 0, 42,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0, 0, 0, 0, 0, 0, 0, 0,       /* log start offset (v5+) */
            0x01,                         /* record errors: empty (v8+) */
            0x00,                         /* error message: null (v8+) */
            0x00, 0x00,                   /* partition, topic tags */
            0x00, 0x00, 0x00, 0x00,       /* throttle time */
            0x00);                        /* tags */
}

static const uint8_t fetched[3] = {1, 2, 3};

static void test_fetch(void)
{
    struct fetch_request_fetch_partition fp;
    fetch_request_fetch_partition_init(&fp);
    fp.fetch_offset = 5;
    fp.partition_max_bytes = 0x100000;
    struct fetch_request_fetch_topic ft;
    fetch_request_fetch_topic_init(&ft);
    ft.topic = kstr_from_cstr("t");
    ft.topic_id = uuid_1_16;
    ft.partitions_count = 1;
    ft.partitions = &fp;
    struct fetch_request req;
    fetch_request_init(&req);
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 0x100000;
    req.isolation_level = 1;
    req.topics_count = 1;
    req.topics = &ft;
    FIXTURE("FetchRequest v4", fetch_request, 4, &req,
            0xff, 0xff, 0xff, 0xff,       /* replica id -1 */
            0x00, 0x00, 0x01, 0xf4,       /* max wait 500 */
            0x00, 0x00, 0x00, 0x01,       /* min bytes */
            0x00, 0x10, 0x00, 0x00,       /* max bytes (v3+) */
            0x01,                         /* isolation level (v4+) */
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
            0x00, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x00, 0x00,       /* partition */
            0, 0, 0, 0, 0, 0, 0, 5,       /* fetch offset */
            0x00, 0x10, 0x00, 0x00);      /* partition max bytes */
    req.cluster_id = kstr_from_cstr("c");
    FIXTURE("FetchRequest v13", fetch_request, 13, &req,
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x00, 0x00, 0x01,
            0x00, 0x10, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x00, 0x00,       /* session id (v7+) */
            0xff, 0xff, 0xff, 0xff,       /* session epoch -1 */
            0x02, UUID_1_16,              /* topics; topic id replaces the name (v13+) */
            0x02, 0x00, 0x00, 0x00, 0x00, /* partitions, partition */
            0xff, 0xff, 0xff, 0xff,       /* current leader epoch -1 (v9+) */
            0, 0, 0, 0, 0, 0, 0, 5,
            0xff, 0xff, 0xff, 0xff,       /* last fetched epoch -1 (v12+) */
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log start offset -1 (v5+) */
            0x00, 0x10, 0x00, 0x00,
            0x00, 0x00,                   /* partition, topic tags */
            0x01,                         /* forgotten topics: empty */
            0x01,                         /* rack id: "" (v11+) */
            0x01, 0x00, 0x02, 0x02, 'c'); /* 1 tag: 0 ClusterId, 2 bytes, compact "c" */

    struct fetch_response_partition_data pd;
    fetch_response_partition_data_init(&pd);
    pd.high_watermark = 10;
    pd.last_stable_offset = 10;
    pd.log_start_offset = 0;
    pd.aborted_transactions_count = -1;
    pd.records.ptr = fetched;
    pd.records.len = 3;
    struct fetch_response_fetchable_topic_response tr;
    fetch_response_fetchable_topic_response_init(&tr);
    tr.topic = kstr_from_cstr("t");
    tr.topic_id = uuid_1_16;
    tr.partitions_count = 1;
    tr.partitions = &pd;
    struct fetch_response resp;
    fetch_response_init(&resp);
    resp.responses_count = 1;
    resp.responses = &tr;
    FIXTURE("FetchResponse v4", fetch_response, 4, &resp,
            0x00, 0x00, 0x00, 0x00,       /* throttle time */
            0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
            0x00, 0x00, 0x00, 0x01,
            0x00, 0x00, 0x00, 0x00,       /* partition index */
            0x00, 0x00,                   /* error */
            0, 0, 0, 0, 0, 0, 0, 10,      /* high watermark */
            0, 0, 0, 0, 0, 0, 0, 10,      /* last stable offset (v4+) */
            0xff, 0xff, 0xff, 0xff,       /* aborted transactions: null */
            0x00, 0x00, 0x00, 0x03, 1, 2, 3); /* records */
    pd.current_leader.leader_id = 1;
    pd.current_leader.leader_epoch = 2;
    FIXTURE("FetchResponse v13", fetch_response, 13, &resp,
            0x00, 0x00, 0x00, 0x00,       /* throttle time */
            0x00, 0x00,                   /* error code (v7+) */
            0x00, 0x00, 0x00, 0x00,       /* session id */
            0x02, UUID_1_16,              /* responses; topic id */
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0, 0, 0, 0, 0, 0, 0, 10,
            0, 0, 0, 0, 0, 0, 0, 10,
            0, 0, 0, 0, 0, 0, 0, 0,       /* log start offset (v5+) */
            0x00,                         /* aborted transactions: compact null */
            0xff, 0xff, 0xff, 0xff,       /* preferred read replica -1 (v11+) */
            0x04, 1, 2, 3,                /* records: compact */
            0x01, 0x01, 0x09,             /* 1 tag: 1 CurrentLeader, 9 bytes: */
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00,
            0x00,                         /* topic tags */
            0x00);                        /* tags */
}

int main(void)
{
    test_headers();
    test_api_versions();
    test_metadata();
    test_produce();
    test_fetch();
    printf("%d fixtures, %d failures\n", fixtures, failures);
    return failures ? 1 : 0;
}
