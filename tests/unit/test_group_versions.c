/*
 * test_group_versions.c - every version of every group API the broker
 * advertises gets a well-formed answer.
 *
 * Runs a real broker in-process (its event loop on a second thread, on a
 * loopback port and a temporary log dir), then for each group API and each
 * version in its advertised range sends requests filled with arbitrary valid
 * values (the generated test_fill), and checks that the connection stays
 * open and the response decodes at that version with nothing left over.
 * Arbitrary input mostly yields error codes; what matters is that no
 * version makes the broker drop the request or emit bytes a client cannot
 * parse (e.g. a null where that version has no nulls).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "protocol/generated/api_table.h"
#include "protocol/generated/messages.h"
#include "protocol/generated/test_fill.h"
#include "server/api.h"
#include "server/broker.h"

static int failures;
#define CHECK(cond, ...)                                                             \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                            \
            fprintf(stderr, "\n");                                                   \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static struct broker broker;

static void *run_broker(void *arg)
{
    (void)arg;
    broker_run(&broker);
    return NULL;
}

static int read_full(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send req at (key, version); 0 and the decoded response in *out (from arena a) if one came back whole. */
static int exchange_msg(int fd, int16_t key, int16_t version, const void *req, int32_t correlation, struct arena *a,
                        void **out)
{
    struct request_header h;
    request_header_init(&h);
    h.request_api_key = key;
    h.request_api_version = version;
    h.correlation_id = correlation;
    h.client_id = kstr_from_cstr("versions-test");
    int16_t hv = (int16_t)request_header_version(key, version);
    size_t len = request_header_size(hv, &h) + api_request_size(key, version, req);
    uint8_t *buf = malloc(len + 4);
    struct wire_writer w;
    wire_writer_init(&w, buf, len + 4);
    wire_write_int32(&w, (int32_t)len);
    request_header_encode(&w, hv, &h);
    int rc = api_request_encode(key, version, &w, req);
    if (rc < 0 || w.error) {
        fprintf(stderr, "cannot encode request %d v%d\n", key, version);
        free(buf);
        return -1;
    }
    rc = write(fd, buf, len + 4) == (ssize_t)(len + 4) ? 0 : -1;
    free(buf);
    uint8_t size_buf[4];
    if (rc == 0)
        rc = read_full(fd, size_buf, 4);
    if (rc != 0)
        return -1;
    int32_t size = (int32_t)((uint32_t)size_buf[0] << 24 | (uint32_t)size_buf[1] << 16 |
                             (uint32_t)size_buf[2] << 8 | size_buf[3]);
    uint8_t *resp = arena_alloc(a, (size_t)size + 1); /* decoded strings point into it */
    if (!resp || read_full(fd, resp, (size_t)size) != 0)
        return -1;
    struct wire_reader r;
    wire_reader_init(&r, resp, (size_t)size);
    struct response_header rh;
    response_header_init(&rh);
    void *body = arena_alloc(a, api_response_struct_size(key));
    rc = response_header_decode(&r, (int16_t)response_header_version(key, version), &rh, a);
    if (rc == 0)
        rc = api_response_decode(key, version, &r, body, a);
    if (rc == 0 && (rh.correlation_id != correlation || wire_reader_remaining(&r) != 0))
        rc = -1;
    if (out)
        *out = body;
    return rc;
}

/* A request of arbitrary valid values at (key, version). */
static int exchange(int fd, int16_t key, int16_t version, unsigned seed, int32_t correlation)
{
    struct arena a;
    arena_init(&a);
    void *req = arena_alloc(&a, api_request_struct_size(key));
    api_request_init(key, req);
    api_request_fill_test(key, req, version, &a, seed);
    int rc = exchange_msg(fd, key, version, req, correlation, &a, NULL);
    arena_free(&a);
    return rc;
}

static int32_t next_correlation = 1000;

/* A whole classic group life at JoinGroup version v (other APIs at the closest version). */
static void group_life(int fd, int16_t v)
{
    struct arena a;
    arena_init(&a);
    char group[32];
    snprintf(group, sizeof group, "life-%d", v);
    static const uint8_t meta[] = {0, 0, 0, 0, 0, 1, 0, 2, 'v', 't', 0xff, 0xff, 0xff, 0xff};
    struct join_group_request_protocol proto = {kstr_from_cstr("range"), {meta, sizeof meta}};
    struct join_group_request jr;
    join_group_request_init(&jr);
    jr.group_id = kstr_from_cstr(group);
    jr.session_timeout_ms = 30000;
    jr.rebalance_timeout_ms = 30000;
    jr.member_id = kstr_from_cstr("");
    jr.protocol_type = kstr_from_cstr("consumer");
    jr.protocols = &proto;
    jr.protocols_count = 1;
    struct join_group_response *j = NULL;
    int rc = exchange_msg(fd, API_JOIN_GROUP, v, &jr, next_correlation++, &a, (void **)&j);
    CHECK(rc == 0, "JoinGroup v%d", v);
    if (rc == 0 && v >= 4) {
        CHECK(j->error_code == 79 && j->member_id.len > 0, "JoinGroup v%d asks for a member id", v);
        jr.member_id = j->member_id;
        rc = exchange_msg(fd, API_JOIN_GROUP, v, &jr, next_correlation++, &a, (void **)&j);
    }
    CHECK(rc == 0 && j->error_code == 0 && j->generation_id == 1 && j->members_count == 1 &&
              kstr_eq(j->leader, j->member_id),
          "JoinGroup v%d: the leader of generation 1", v);
    if (rc != 0 || j->error_code != 0) {
        arena_free(&a);
        return;
    }
    struct kstr member = j->member_id;
    int16_t sv = v > 5 ? 5 : v;
    struct sync_group_request_assignment asg = {member, {(const uint8_t *)"A", 1}};
    struct sync_group_request sr;
    sync_group_request_init(&sr);
    sr.group_id = jr.group_id;
    sr.generation_id = 1;
    sr.member_id = member;
    sr.assignments = &asg;
    sr.assignments_count = 1;
    if (sv >= 5) {
        sr.protocol_type = kstr_from_cstr("consumer");
        sr.protocol_name = kstr_from_cstr("range");
    }
    struct sync_group_response *sy = NULL;
    rc = exchange_msg(fd, API_SYNC_GROUP, sv, &sr, next_correlation++, &a, (void **)&sy);
    CHECK(rc == 0 && sy->error_code == 0 && sy->assignment.len == 1, "SyncGroup v%d", sv);
    for (int16_t dv = 0; dv <= 5; dv++) {
        struct describe_groups_request dr;
        describe_groups_request_init(&dr);
        dr.groups = &jr.group_id;
        dr.groups_count = 1;
        struct describe_groups_response *d = NULL;
        rc = exchange_msg(fd, API_DESCRIBE_GROUPS, dv, &dr, next_correlation++, &a, (void **)&d);
        CHECK(rc == 0 && d->groups_count == 1 && d->groups[0].members_count == 1 &&
                  kstr_eq_cstr(d->groups[0].group_state, "Stable") && d->groups[0].members[0].member_assignment.len == 1,
              "DescribeGroups v%d of a Stable group", dv);
    }
    struct heartbeat_request hr;
    heartbeat_request_init(&hr);
    hr.group_id = jr.group_id;
    hr.generation_id = 1;
    hr.member_id = member;
    struct heartbeat_response *hb = NULL;
    int16_t hv = v > 4 ? 4 : v;
    rc = exchange_msg(fd, API_HEARTBEAT, hv, &hr, next_correlation++, &a, (void **)&hb);
    CHECK(rc == 0 && hb->error_code == 0, "Heartbeat v%d", hv);
    struct leave_group_request lr;
    leave_group_request_init(&lr);
    lr.group_id = jr.group_id;
    struct leave_group_request_member_identity who;
    leave_group_request_member_identity_init(&who);
    who.member_id = member;
    int16_t lv = v > 5 ? 5 : v;
    if (lv >= 3) {
        lr.members = &who;
        lr.members_count = 1;
    } else {
        lr.member_id = member;
    }
    struct leave_group_response *lg = NULL;
    rc = exchange_msg(fd, API_LEAVE_GROUP, lv, &lr, next_correlation++, &a, (void **)&lg);
    CHECK(rc == 0 && lg->error_code == 0 && (lv < 3 || (lg->members_count == 1 && lg->members[0].error_code == 0)),
          "LeaveGroup v%d", lv);
    arena_free(&a);
}

/* OffsetCommit at every version, each read back by OffsetFetch at every version. */
static void offsets_every_version(int fd)
{
    struct arena a;
    arena_init(&a);
    struct metadata_request mr;
    metadata_request_init(&mr);
    struct metadata_request_topic mt;
    metadata_request_topic_init(&mt);
    mt.name = kstr_from_cstr("vt");
    mr.topics = &mt;
    mr.topics_count = 1;
    CHECK(exchange_msg(fd, API_METADATA, 1, &mr, next_correlation++, &a, NULL) == 0, "Metadata creates vt");
    const struct api_handler *commit = api_handler_find(API_OFFSET_COMMIT);
    const struct api_handler *fetch = api_handler_find(API_OFFSET_FETCH);
    for (int16_t cv = commit->min_version; cv <= commit->max_version; cv++) {
        struct offset_commit_request_partition part;
        offset_commit_request_partition_init(&part);
        part.partition_index = 0;
        part.committed_offset = 100 + cv;
        part.committed_metadata = kstr_from_cstr("m");
        struct offset_commit_request_topic topic;
        offset_commit_request_topic_init(&topic);
        topic.name = kstr_from_cstr("vt");
        topic.partitions = &part;
        topic.partitions_count = 1;
        struct offset_commit_request cr;
        offset_commit_request_init(&cr);
        cr.group_id = kstr_from_cstr("standalone");
        cr.member_id = kstr_from_cstr("");
        cr.topics = &topic;
        cr.topics_count = 1;
        struct offset_commit_response *c = NULL;
        int rc = exchange_msg(fd, API_OFFSET_COMMIT, cv, &cr, next_correlation++, &a, (void **)&c);
        CHECK(rc == 0 && c->topics_count == 1 && c->topics[0].partitions[0].error_code == 0, "OffsetCommit v%d", cv);
        for (int16_t fv = fetch->min_version; fv <= fetch->max_version; fv++) {
            int32_t pidx = 0;
            struct offset_fetch_request fr;
            offset_fetch_request_init(&fr);
            struct offset_fetch_request_topic ft;
            offset_fetch_request_topic_init(&ft);
            struct offset_fetch_request_topics gt;
            offset_fetch_request_topics_init(&gt);
            struct offset_fetch_request_group grp;
            offset_fetch_request_group_init(&grp);
            if (fv >= 8) {
                gt.name = kstr_from_cstr("vt");
                gt.partition_indexes = &pidx;
                gt.partition_indexes_count = 1;
                grp.group_id = kstr_from_cstr("standalone");
                grp.topics = &gt;
                grp.topics_count = 1;
                fr.groups = &grp;
                fr.groups_count = 1;
            } else {
                ft.name = kstr_from_cstr("vt");
                ft.partition_indexes = &pidx;
                ft.partition_indexes_count = 1;
                fr.group_id = kstr_from_cstr("standalone");
                fr.topics = &ft;
                fr.topics_count = 1;
            }
            struct offset_fetch_response *f = NULL;
            rc = exchange_msg(fd, API_OFFSET_FETCH, fv, &fr, next_correlation++, &a, (void **)&f);
            int64_t got = -2;
            if (rc == 0 && fv >= 8 && f->groups_count == 1 && f->groups[0].topics_count == 1)
                got = f->groups[0].topics[0].partitions[0].committed_offset;
            else if (rc == 0 && fv < 8 && f->topics_count == 1)
                got = f->topics[0].partitions[0].committed_offset;
            CHECK(got == 100 + cv, "OffsetFetch v%d after OffsetCommit v%d: %lld", fv, cv, (long long)got);
        }
    }
    arena_free(&a);
}

int main(void)
{
    char dir[] = "/tmp/eddy-group-versions-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    static struct broker_config cfg;
    config_defaults(&cfg);
    const char *err = NULL;
    const char *settings[][2] = {
        {"listeners", "PLAINTEXT://127.0.0.1:0"},
        {"log.dirs", dir},
        {"node.id", "1"},
        {"process.roles", "broker,controller"},
        {"group.initial.rebalance.delay.ms", "0"},
        {"offsets.topic.num.partitions", "3"},
        {"eddy.log.level", "ERROR"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (config_set(&cfg, settings[i][0], settings[i][1], &err) < 0) {
            fprintf(stderr, "config %s: %s\n", settings[i][0], err ? err : "?");
            return 1;
        }
    if (config_finish(&cfg) < 0 || broker_start(&broker, &cfg) < 0) {
        fprintf(stderr, "broker did not start\n");
        return 1;
    }
    int port = broker.bound[0].port;
    pthread_t thread;
    pthread_create(&thread, NULL, run_broker, NULL);

    static const int16_t keys[] = {
        API_FIND_COORDINATOR, API_JOIN_GROUP,  API_HEARTBEAT,     API_LEAVE_GROUP,
        API_SYNC_GROUP,       API_DESCRIBE_GROUPS, API_LIST_GROUPS, API_DELETE_GROUPS,
        API_OFFSET_COMMIT,    API_OFFSET_FETCH, API_OFFSET_DELETE, API_CONSUMER_GROUP_HEARTBEAT,
        API_CONSUMER_GROUP_DESCRIBE,
    };
    int fd = connect_to(port);
    CHECK(fd >= 0, "connect to 127.0.0.1:%d", port);
    int32_t correlation = 1;
    int exchanges = 0;
    const char *seeds_env = getenv("EDDY_GROUP_VERSION_SEEDS"); /* more arbitrary requests per version */
    unsigned seeds = seeds_env ? (unsigned)atoi(seeds_env) : 3;
    if (fd >= 0) {
        printf("a classic group's life at every JoinGroup version\n");
        for (int16_t v = 0; v <= api_handler_find(API_JOIN_GROUP)->max_version; v++)
            group_life(fd, v);
        printf("OffsetCommit x OffsetFetch at every version\n");
        offsets_every_version(fd);
    }
    for (size_t k = 0; fd >= 0 && k < sizeof keys / sizeof keys[0]; k++) {
        const struct api_handler *h = api_handler_find(keys[k]);
        CHECK(h != NULL, "API %d is advertised", keys[k]);
        if (!h)
            continue;
        printf("%s versions %d-%d\n", api_info_get(keys[k])->name, h->min_version, h->max_version);
        for (int16_t v = h->min_version; v <= h->max_version; v++) {
            for (unsigned seed = 0; seed < seeds; seed++) {
                int rc = exchange(fd, keys[k], v, seed, correlation++);
                exchanges++;
                CHECK(rc == 0, "%s v%d seed %u: no well-formed response", api_info_get(keys[k])->name, v, seed);
                if (rc != 0) { /* the connection may be gone: start a new one */
                    close(fd);
                    fd = connect_to(port);
                }
            }
        }
    }
    if (fd >= 0)
        close(fd);
    broker_request_shutdown(&broker);
    pthread_join(thread, NULL);
    broker_free(&broker);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("%d exchanges, every group API version answered well-formed\n", exchanges);
    return 0;
}
