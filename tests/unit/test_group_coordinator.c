/*
 * test_group_coordinator.c - the group coordinator without a network:
 * partition hashing, the classic join/sync/heartbeat/leave state machine,
 * session expiry, static membership, the initial rebalance delay, offset
 * commits that answer only once durable, replay of the stored records,
 * deletion and offset retention. Storage is an in-memory list of batches
 * whose durability the test controls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/group_coordinator.h"
#include "protocol/errors.h"

static int failures;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
            failures++;                                                              \
        }                                                                            \
    } while (0)

/* ---- in-memory storage ---- */
#define MAX_BATCHES 256
struct stored {
    int32_t partition;
    uint8_t *batch;
    size_t len;
};
static struct stored stored[MAX_BATCHES];
static int stored_count;
static bool defer_durability;
struct pending_done {
    group_write_done_fn done;
    void *arg;
};
static struct pending_done pending[MAX_BATCHES];
static int pending_count;

static int16_t mem_append(void *ctx, int32_t partition, uint8_t *batch, size_t len, group_write_done_fn done,
                          void *arg)
{
    (void)ctx;
    if (stored_count == MAX_BATCHES) {
        free(batch);
        return KAFKA_UNKNOWN_SERVER_ERROR;
    }
    stored[stored_count++] = (struct stored){partition, batch, len};
    if (defer_durability)
        pending[pending_count++] = (struct pending_done){done, arg};
    else
        done(arg, 0);
    return 0;
}

/* Report every deferred write as done with `error` (0: durable). */
static void finish_pending(int16_t error)
{
    int n = pending_count;
    pending_count = 0;
    for (int i = 0; i < n; i++)
        pending[i].done(pending[i].arg, error);
}

static void flush_pending(void)
{
    finish_pending(0);
}

static void storage_reset(void)
{
    for (int i = 0; i < stored_count; i++)
        free(stored[i].batch);
    stored_count = 0;
    pending_count = 0;
    defer_durability = false;
}

static struct group_coordinator_config default_config(void)
{
    return (struct group_coordinator_config){
        .offsets_partitions = 50,
        .initial_rebalance_delay_ms = 0,
        .min_session_timeout_ms = 6000,
        .max_session_timeout_ms = 1800000,
        .max_group_size = 100,
        .offsets_retention_ms = 7LL * 24 * 3600 * 1000,
        .retention_check_interval_ms = 600000,
        .max_metadata_bytes = 4096,
    };
}

static struct group_coordinator *new_coordinator(const struct group_coordinator_config *cfg)
{
    struct group_storage st = {.ctx = NULL, .append = mem_append};
    struct group_coordinator *gc = NULL;
    CHECK(group_coordinator_create(cfg, &st, &gc) == 0);
    return gc;
}

/* ---- captured results ---- */
struct join_capture {
    bool called;
    int16_t error;
    int32_t generation;
    char member_id[128];
    char leader[128];
    char protocol[32];
    int32_t member_count;
    bool skip_assignment;
};

static void on_join(void *arg, const struct group_join_result *r)
{
    struct join_capture *c = arg;
    c->called = true;
    c->error = r->error;
    c->generation = r->generation;
    snprintf(c->member_id, sizeof c->member_id, "%s", r->member_id ? r->member_id : "");
    snprintf(c->leader, sizeof c->leader, "%s", r->leader_id ? r->leader_id : "");
    snprintf(c->protocol, sizeof c->protocol, "%s", r->protocol_name ? r->protocol_name : "");
    c->member_count = r->member_count;
    c->skip_assignment = r->skip_assignment;
}

struct sync_capture {
    bool called;
    int16_t error;
    char assignment[64];
};

static void on_sync(void *arg, const struct group_sync_result *r)
{
    struct sync_capture *c = arg;
    c->called = true;
    c->error = r->error;
    int n = r->assignment_len < 63 ? r->assignment_len : 63;
    if (r->assignment && n > 0)
        memcpy(c->assignment, r->assignment, (size_t)n);
    c->assignment[n > 0 ? n : 0] = '\0';
}

struct commit_capture {
    bool called;
    int16_t error;
};

static void on_commit(void *arg, int16_t error)
{
    struct commit_capture *c = arg;
    c->called = true;
    c->error = error;
}

static struct group_protocol proto_range = {{"range", 5}, {(const uint8_t *)"\0\0\0\0\0\1\0\1t", 9}};
static struct group_protocol proto_rr = {{"roundrobin", 10}, {(const uint8_t *)"\0\0\0\0\0\1\0\1t", 9}};

static void join_with(struct group_coordinator *gc, const char *group, const char *member, const char *instance,
                      bool v4, int64_t now, struct group_protocol *protocols, int32_t count, struct join_capture *c)
{
    struct group_join_params p = {
        .group_id = kstr_from_cstr(group),
        .member_id = kstr_from_cstr(member),
        .group_instance_id = kstr_from_cstr(instance),
        .protocol_type = kstr_from_cstr("consumer"),
        .client_id = kstr_from_cstr("client"),
        .client_host = kstr_from_cstr("/127.0.0.1"),
        .session_timeout_ms = 10000,
        .rebalance_timeout_ms = 30000,
        .require_known_member_id = v4,
        .protocols = protocols,
        .protocol_count = count,
    };
    memset(c, 0, sizeof *c);
    group_join(gc, &p, now, on_join, c);
}

static void join(struct group_coordinator *gc, const char *group, const char *member, const char *instance,
                 bool v4, int64_t now, struct join_capture *c)
{
    static struct group_protocol both[2];
    both[0] = proto_range;
    both[1] = proto_rr;
    join_with(gc, group, member, instance, v4, now, both, 2, c);
}

static void sync_group(struct group_coordinator *gc, const char *group, const char *member, const char *instance,
                       int32_t gen, const struct group_assignment *a, int32_t n, int64_t now,
                       struct sync_capture *c)
{
    struct group_sync_params p = {
        .group_id = kstr_from_cstr(group),
        .member_id = kstr_from_cstr(member),
        .group_instance_id = kstr_from_cstr(instance),
        .protocol_type = kstr_null(),
        .protocol_name = kstr_null(),
        .generation = gen,
        .assignments = a,
        .assignment_count = n,
    };
    memset(c, 0, sizeof *c);
    group_sync(gc, &p, now, on_sync, c);
}

static void test_partition_hash(void)
{
    printf("partition_for: Java String.hashCode and Utils.abs\n");
    CHECK(group_java_string_hash("hello", 5) == 99162322);
    CHECK(group_java_string_hash("", 0) == 0);
    CHECK(group_java_string_hash("polygenelubricants", 18) == INT32_MIN);
    CHECK(group_partition_for("polygenelubricants", 18, 50) == 0);
    CHECK(group_java_string_hash("\xc3\xa9", 2) == 233);
    CHECK(group_java_string_hash("\xf0\x9f\x98\x80", 4) == 0xD83D * 31 + 0xDE00);
    /* "my-group".hashCode() = -1906497762; Kafka puts it on partition 12 of 50 */
    CHECK(group_java_string_hash("my-group", 8) == -1906497762);
    CHECK(group_partition_for("my-group", 8, 50) == 12);
    int32_t h = group_java_string_hash("console-consumer-1", 18);
    int32_t expect = (h < 0 ? -h : h) % 50;
    CHECK(group_partition_for("console-consumer-1", 18, 50) == expect);
}

static void test_join_sync_flow(void)
{
    printf("join/sync: MEMBER_ID_REQUIRED, leader election, protocol choice, assignments\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 1000000;
    struct join_capture a, b;

    join(gc, "g", "", NULL, true, now, &a);
    CHECK(a.called && a.error == KAFKA_MEMBER_ID_REQUIRED && a.member_id[0]);
    char id_a[128];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    CHECK(strncmp(id_a, "client-", 7) == 0);
    join(gc, "g", id_a, NULL, true, now, &a);
    CHECK(a.called && a.error == 0 && a.generation == 1);
    CHECK(strcmp(a.leader, id_a) == 0 && a.member_count == 1);
    CHECK(strcmp(a.protocol, "range") == 0);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("g")), "CompletingRebalance") == 0);

    struct sync_capture sa, sb;
    struct group_assignment asg1[] = {{kstr_from_cstr(id_a), {(const uint8_t *)"A1", 2}}};
    sync_group(gc, "g", id_a, NULL, 1, asg1, 1, now, &sa);
    CHECK(sa.called && sa.error == 0 && strcmp(sa.assignment, "A1") == 0);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("g")), "Stable") == 0);
    CHECK(group_heartbeat(gc, kstr_from_cstr("g"), kstr_from_cstr(id_a), kstr_null(), 1, now) == 0);

    /* A second member: the group rebalances; the first learns it from its heartbeat. */
    join(gc, "g", "", NULL, true, now, &b);
    CHECK(b.error == KAFKA_MEMBER_ID_REQUIRED);
    char id_b[128];
    snprintf(id_b, sizeof id_b, "%s", b.member_id);
    join(gc, "g", id_b, NULL, true, now, &b);
    CHECK(!b.called); /* waits for the first member */
    CHECK(group_heartbeat(gc, kstr_from_cstr("g"), kstr_from_cstr(id_a), kstr_null(), 1, now) ==
          KAFKA_REBALANCE_IN_PROGRESS);
    join(gc, "g", id_a, NULL, true, now, &a);
    CHECK(a.called && b.called);
    CHECK(a.error == 0 && b.error == 0 && a.generation == 2 && b.generation == 2);
    CHECK(a.member_count == 2 && b.member_count == 0); /* only the leader gets the members */
    CHECK(strcmp(b.leader, id_a) == 0);

    /* The follower syncs first and waits for the leader's assignment. */
    sync_group(gc, "g", id_b, NULL, 2, NULL, 0, now, &sb);
    CHECK(!sb.called);
    CHECK(group_heartbeat(gc, kstr_from_cstr("g"), kstr_from_cstr(id_b), kstr_null(), 1, now) ==
          KAFKA_ILLEGAL_GENERATION);
    struct group_assignment asg2[] = {{kstr_from_cstr(id_a), {(const uint8_t *)"A2", 2}},
                                      {kstr_from_cstr(id_b), {(const uint8_t *)"B2", 2}}};
    sync_group(gc, "g", id_a, NULL, 2, asg2, 2, now, &sa);
    CHECK(sa.called && sb.called && sa.error == 0 && sb.error == 0);
    CHECK(strcmp(sa.assignment, "A2") == 0 && strcmp(sb.assignment, "B2") == 0);

    /* Errors. */
    CHECK(group_heartbeat(gc, kstr_from_cstr("g"), kstr_from_cstr("nobody"), kstr_null(), 2, now) ==
          KAFKA_UNKNOWN_MEMBER_ID);
    CHECK(group_heartbeat(gc, kstr_from_cstr("nogroup"), kstr_from_cstr(id_a), kstr_null(), 2, now) ==
          KAFKA_UNKNOWN_MEMBER_ID);
    struct join_capture c;
    join(gc, "g", "unknown-member", NULL, true, now, &c);
    CHECK(c.error == KAFKA_UNKNOWN_MEMBER_ID);

    /* Leave: rebalance, then empty. */
    int16_t gerr;
    CHECK(group_leave(gc, kstr_from_cstr("g"), kstr_from_cstr(id_b), kstr_null(), now, &gerr) == 0);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("g")), "PreparingRebalance") == 0);
    join(gc, "g", id_a, NULL, true, now, &a);
    CHECK(a.called && a.error == 0 && a.generation == 3 && a.member_count == 1);
    CHECK(group_leave(gc, kstr_from_cstr("g"), kstr_from_cstr(id_a), kstr_null(), now, &gerr) == 0);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("g")), "Empty") == 0);
    CHECK(group_leave(gc, kstr_from_cstr("g"), kstr_from_cstr(id_a), kstr_null(), now, &gerr) ==
          KAFKA_UNKNOWN_MEMBER_ID);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_validation(void)
{
    printf("join validation: group id, session timeout, inconsistent protocols\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    struct join_capture c;
    join(gc, "", "", NULL, false, 0, &c);
    CHECK(c.error == KAFKA_INVALID_GROUP_ID);
    struct group_protocol only = {{"other", 5}, {(const uint8_t *)"", 0}};
    struct group_join_params p = {
        .group_id = kstr_from_cstr("v"),
        .member_id = kstr_from_cstr(""),
        .group_instance_id = kstr_null(),
        .protocol_type = kstr_from_cstr("consumer"),
        .client_id = kstr_from_cstr("c"),
        .client_host = kstr_from_cstr("h"),
        .session_timeout_ms = 100,
        .rebalance_timeout_ms = 1000,
        .protocols = &only,
        .protocol_count = 1,
    };
    memset(&c, 0, sizeof c);
    group_join(gc, &p, 0, on_join, &c);
    CHECK(c.error == KAFKA_INVALID_SESSION_TIMEOUT);
    join(gc, "v", "", NULL, false, 0, &c); /* v3: joins at once */
    CHECK(c.error == 0 && c.generation == 1);
    p.session_timeout_ms = 10000;
    memset(&c, 0, sizeof c);
    group_join(gc, &p, 0, on_join, &c);
    CHECK(c.error == KAFKA_INCONSISTENT_GROUP_PROTOCOL);
    p.protocol_type = kstr_from_cstr("connect");
    p.protocols = &proto_range;
    memset(&c, 0, sizeof c);
    group_join(gc, &p, 0, on_join, &c);
    CHECK(c.error == KAFKA_INCONSISTENT_GROUP_PROTOCOL);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_session_expiry(void)
{
    printf("session timeout expels a silent member and rebalances the rest\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 5000;
    struct join_capture a, b;
    join(gc, "s", "", NULL, false, now, &a);
    char id_a[128];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    struct sync_capture sa, sb;
    sync_group(gc, "s", id_a, NULL, 1, NULL, 0, now, &sa);
    join(gc, "s", "", NULL, false, now, &b); /* rebalance: a must rejoin */
    char id_b[128];
    CHECK(!b.called);
    join(gc, "s", id_a, NULL, false, now, &a);
    CHECK(a.called && b.called && a.generation == 2);
    snprintf(id_b, sizeof id_b, "%s", b.member_id);
    sync_group(gc, "s", id_a, NULL, 2, NULL, 0, now, &sa);
    sync_group(gc, "s", id_b, NULL, 2, NULL, 0, now, &sb);
    CHECK(sa.error == 0 && sb.error == 0);
    /* b heartbeats, a goes silent. */
    for (int i = 1; i <= 12; i++) {
        now += 1000;
        group_heartbeat(gc, kstr_from_cstr("s"), kstr_from_cstr(id_b), kstr_null(), 2, now);
        group_coordinator_tick(gc, now);
    }
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("s")), "PreparingRebalance") == 0);
    CHECK(group_heartbeat(gc, kstr_from_cstr("s"), kstr_from_cstr(id_b), kstr_null(), 2, now) ==
          KAFKA_REBALANCE_IN_PROGRESS);
    join(gc, "s", id_b, NULL, false, now, &b);
    CHECK(b.called && b.error == 0 && b.generation == 3 && b.member_count == 1);
    CHECK(strcmp(b.leader, id_b) == 0);
    /* A member that never rejoins is dropped when the rebalance times out. */
    sync_group(gc, "s", id_b, NULL, 3, NULL, 0, now, &sb);
    struct join_capture c;
    join(gc, "s", "", NULL, false, now, &c);
    CHECK(!c.called);
    now += 30001;
    group_coordinator_tick(gc, now);
    CHECK(c.called && c.error == 0 && c.generation == 4 && c.member_count == 1);
    group_coordinator_destroy(gc);
    storage_reset();
}

/* Generation 2 of `group` with two members: a joined alone (generation 1)
 * and synced, then b joined and a rejoined. Ids in id_a, id_b. */
static void form_generation_of_two(struct group_coordinator *gc, const char *group, const char *inst_a,
                                   const char *inst_b, bool v4, int64_t now, struct join_capture *a,
                                   struct join_capture *b, char id_a[128], char id_b[128])
{
    join(gc, group, "", inst_a, v4, now, a);
    CHECK(a->error == 0 && a->generation == 1);
    snprintf(id_a, 128, "%s", a->member_id);
    struct sync_capture s;
    sync_group(gc, group, id_a, inst_a, 1, NULL, 0, now, &s);
    join(gc, group, "", inst_b, v4, now, b);
    join(gc, group, id_a, inst_a, v4, now, a);
    snprintf(id_b, 128, "%s", b->member_id);
}

/* As Kafka's expirePendingSync: a follower that never sends SyncGroup is
 * removed after the rebalance timeout even once the leader's sync made the
 * group Stable; the others are told to rejoin. */
static void test_sync_timeout_when_stable(void)
{
    printf("a follower that never sends SyncGroup is removed after the rebalance timeout, Stable or not\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 0;
    struct join_capture a, b;
    char id_a[128], id_b[128];
    form_generation_of_two(gc, "z", NULL, NULL, false, now, &a, &b, id_a, id_b);
    struct sync_capture sa;
    CHECK(a.generation == 2 && strcmp(a.leader, id_a) == 0);
    struct group_assignment asg[] = {{kstr_from_cstr(id_a), {(const uint8_t *)"A", 1}}};
    sync_group(gc, "z", id_a, NULL, 2, asg, 1, now, &sa);
    CHECK(sa.called && sa.error == 0);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("z")), "Stable") == 0);
    /* Kafka's validateMember: an instance id no static member holds is an unknown member. */
    CHECK(group_heartbeat(gc, kstr_from_cstr("z"), kstr_from_cstr(id_a), kstr_from_cstr("nobody"), 2, now) ==
          KAFKA_UNKNOWN_MEMBER_ID);
    for (int i = 0; i < 31; i++) { /* both heartbeat; the follower never syncs */
        now += 1000;
        group_heartbeat(gc, kstr_from_cstr("z"), kstr_from_cstr(id_a), kstr_null(), 2, now);
        group_heartbeat(gc, kstr_from_cstr("z"), kstr_from_cstr(id_b), kstr_null(), 2, now);
        group_coordinator_tick(gc, now);
    }
    CHECK(group_heartbeat(gc, kstr_from_cstr("z"), kstr_from_cstr(id_b), kstr_null(), 2, now) ==
          KAFKA_UNKNOWN_MEMBER_ID);
    CHECK(group_heartbeat(gc, kstr_from_cstr("z"), kstr_from_cstr(id_a), kstr_null(), 2, now) ==
          KAFKA_REBALANCE_IN_PROGRESS);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_sync_timeout(void)
{
    printf("a leader that never sends SyncGroup is removed after the rebalance timeout\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 0;
    struct join_capture a, b;
    char id_a[128], id_b[128];
    form_generation_of_two(gc, "y", NULL, NULL, false, now, &a, &b, id_a, id_b);
    struct sync_capture sb;
    CHECK(a.generation == 2 && strcmp(a.leader, id_a) == 0);
    sync_group(gc, "y", id_b, NULL, 2, NULL, 0, now, &sb);
    for (int i = 0; i < 31; i++) { /* the leader heartbeats but never syncs */
        now += 1000;
        CHECK(group_heartbeat(gc, kstr_from_cstr("y"), kstr_from_cstr(id_a), kstr_null(), 2, now) == 0 ||
              i == 30);
        group_coordinator_tick(gc, now);
    }
    CHECK(sb.called && sb.error == KAFKA_REBALANCE_IN_PROGRESS);
    CHECK(group_heartbeat(gc, kstr_from_cstr("y"), kstr_from_cstr(id_a), kstr_null(), 2, now) ==
          KAFKA_UNKNOWN_MEMBER_ID);
    join(gc, "y", id_b, NULL, false, now, &b);
    CHECK(b.called && b.error == 0 && b.generation == 3 && strcmp(b.leader, id_b) == 0);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_static_membership(void)
{
    printf("static member rejoining with an empty id keeps its assignment without a rebalance\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 0;
    struct join_capture a, b;
    char id_a[128], id_b[128];
    form_generation_of_two(gc, "st", "inst-a", "inst-b", true, now, &a, &b, id_a, id_b);
    CHECK(a.called && b.called && a.generation == 2);
    struct sync_capture sa, sb;
    struct group_assignment asg[] = {{kstr_from_cstr(id_a), {(const uint8_t *)"PA", 2}},
                                     {kstr_from_cstr(id_b), {(const uint8_t *)"PB", 2}}};
    sync_group(gc, "st", id_b, "inst-b", 2, NULL, 0, now, &sb);
    sync_group(gc, "st", id_a, "inst-a", 2, asg, 2, now, &sa);
    CHECK(strcmp(sb.assignment, "PB") == 0);

    /* b restarts: same instance id, empty member id. */
    join(gc, "st", "", "inst-b", true, now + 100, &b);
    CHECK(b.called && b.error == 0 && b.generation == 2);
    CHECK(strcmp(b.member_id, id_b) != 0);
    CHECK(!b.skip_assignment && b.member_count == 0);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("st")), "Stable") == 0);
    sync_group(gc, "st", b.member_id, "inst-b", 2, NULL, 0, now + 100, &sb);
    CHECK(sb.error == 0 && strcmp(sb.assignment, "PB") == 0);
    /* KIP-814: the leader restarts; it gets the members but must not assign,
     * and hears so once its new member id is durable. */
    defer_durability = true;
    join(gc, "st", "", "inst-a", true, now + 200, &a);
    CHECK(!a.called && pending_count == 1);
    flush_pending();
    defer_durability = false;
    CHECK(a.called && a.error == 0 && a.generation == 2);
    CHECK(strcmp(a.leader, a.member_id) == 0 && a.skip_assignment && a.member_count == 2);
    sync_group(gc, "st", a.member_id, "inst-a", 2, NULL, 0, now + 200, &sa);
    CHECK(sa.error == 0 && strcmp(sa.assignment, "PA") == 0);
    /* The old incarnation is fenced. */
    CHECK(group_heartbeat(gc, kstr_from_cstr("st"), kstr_from_cstr(id_b), kstr_from_cstr("inst-b"), 2, now) ==
          KAFKA_FENCED_INSTANCE_ID);
    int16_t gerr;
    CHECK(group_leave(gc, kstr_from_cstr("st"), kstr_from_cstr(id_b), kstr_from_cstr("inst-b"), now, &gerr) ==
          KAFKA_FENCED_INSTANCE_ID);

    /* A failed write: the restarted member hears the error, not an assignment. */
    defer_durability = true;
    join(gc, "st", "", "inst-b", true, now + 300, &b);
    CHECK(!b.called);
    finish_pending(KAFKA_NOT_LEADER_OR_FOLLOWER);
    defer_durability = false;
    CHECK(b.called && b.error == KAFKA_NOT_COORDINATOR);
    CHECK(group_leave(gc, kstr_from_cstr("st"), kstr_from_cstr(""), kstr_from_cstr("inst-b"), now, &gerr) == 0);
    group_coordinator_destroy(gc);
    storage_reset();
}

/* group.max.size holds for members that join in two steps (MEMBER_ID_REQUIRED,
 * then again with the id): both got the id, only the first gets in. */
static void test_max_size_with_member_id_required(void)
{
    printf("group.max.size counts members that join with MEMBER_ID_REQUIRED\n");
    struct group_coordinator_config cfg = default_config();
    cfg.max_group_size = 1;
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 1000000;
    struct join_capture a, b;
    join(gc, "mx", "", NULL, true, now, &a);
    join(gc, "mx", "", NULL, true, now, &b);
    CHECK(a.error == KAFKA_MEMBER_ID_REQUIRED && b.error == KAFKA_MEMBER_ID_REQUIRED);
    char id_a[128], id_b[128];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    snprintf(id_b, sizeof id_b, "%s", b.member_id);
    join(gc, "mx", id_a, NULL, true, now, &a);
    join(gc, "mx", id_b, NULL, true, now, &b);
    CHECK(b.called && b.error == KAFKA_GROUP_MAX_SIZE_REACHED);
    CHECK(a.called && a.error == 0 && a.member_count == 1);
    group_coordinator_destroy(gc);
    storage_reset();
}

/* As Kafka: a static member rejoining a Stable group with other metadata
 * (a Java consumer's owned partitions) keeps the group Stable unless the
 * group's protocol would change. */
static void test_static_rejoin_new_metadata(void)
{
    printf("static member rejoining with new metadata: no rebalance unless the protocol changes\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    struct join_capture a, b;
    char id_a[128], id_b[128];
    form_generation_of_two(gc, "sm", "inst-a", "inst-b", true, 0, &a, &b, id_a, id_b);
    CHECK(a.called && b.called && a.generation == 2);
    struct sync_capture sa, sb;
    struct group_assignment asg[] = {{kstr_from_cstr(id_a), {(const uint8_t *)"PA", 2}},
                                     {kstr_from_cstr(id_b), {(const uint8_t *)"PB", 2}}};
    sync_group(gc, "sm", id_b, "inst-b", 2, NULL, 0, 0, &sb);
    sync_group(gc, "sm", id_a, "inst-a", 2, asg, 2, 0, &sa);

    struct group_protocol changed[2] = {{{"range", 5}, {(const uint8_t *)"owned:0,1", 9}}, proto_rr};
    join_with(gc, "sm", "", "inst-b", true, 100, changed, 2, &b);
    CHECK(b.called && b.error == 0 && b.generation == 2);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("sm")), "Stable") == 0);
    CHECK(group_heartbeat(gc, kstr_from_cstr("sm"), kstr_from_cstr(id_a), kstr_from_cstr("inst-a"), 2, 100) == 0);

    struct group_protocol rr_only[1] = {proto_rr};
    join_with(gc, "sm", "", "inst-b", true, 200, rr_only, 1, &b);
    CHECK(!b.called); /* waits for the rebalance its protocol change starts */
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("sm")), "PreparingRebalance") == 0);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_initial_delay(void)
{
    printf("group.initial.rebalance.delay.ms: members arriving together rebalance once\n");
    struct group_coordinator_config cfg = default_config();
    cfg.initial_rebalance_delay_ms = 3000;
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 0;
    struct join_capture a, b;
    join(gc, "d", "", NULL, false, now, &a);
    CHECK(!a.called);
    now += 2000;
    group_coordinator_tick(gc, now);
    join(gc, "d", "", NULL, false, now, &b);
    now += 1500;
    group_coordinator_tick(gc, now); /* first delay over, but b joined during it: wait again */
    CHECK(!a.called && !b.called);
    now += 3000;
    group_coordinator_tick(gc, now);
    CHECK(a.called && b.called && a.generation == 1 && b.generation == 1);
    CHECK(a.member_count + b.member_count == 2);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void commit(struct group_coordinator *gc, const char *group, const char *member, int32_t gen,
                   struct group_offset_commit_partition *parts, int32_t n, int64_t now, struct commit_capture *c)
{
    struct group_offset_commit_params p = {
        .group_id = kstr_from_cstr(group),
        .member_id = kstr_from_cstr(member),
        .group_instance_id = kstr_null(),
        .generation = gen,
        .expire_timestamp_ms = -1,
        .partitions = parts,
        .partition_count = n,
    };
    memset(c, 0, sizeof *c);
    group_offset_commit(gc, &p, now, on_commit, c);
}

struct fetch_all_capture {
    int count;
    char topics[8][32];
    int64_t offsets[8];
};

static void on_offset(void *arg, const struct group_offset *o)
{
    struct fetch_all_capture *c = arg;
    if (c->count < 8) {
        snprintf(c->topics[c->count], 32, "%s", o->topic);
        c->offsets[c->count] = o->offset;
    }
    c->count++;
}

static void test_offsets_and_replay(void)
{
    printf("offset commits answer once durable, survive replay, group metadata too\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 1000;
    struct commit_capture cc;
    struct group_offset_commit_partition parts[3] = {
        {kstr_from_cstr("t"), 0, 42, 3, kstr_from_cstr("meta"), 0},
        {kstr_from_cstr("t"), 1, 7, -1, kstr_null(), 0},
        {kstr_from_cstr("u"), 0, 9, -1, kstr_from_cstr(""), KAFKA_UNKNOWN_TOPIC_OR_PARTITION},
    };
    defer_durability = true;
    commit(gc, "standalone", "", -1, parts, 3, now, &cc);
    CHECK(!cc.called);
    struct group_offset o;
    group_offset_fetch(gc, kstr_from_cstr("standalone"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == -1); /* not applied before it is durable */
    flush_pending();
    CHECK(cc.called && cc.error == 0 && parts[0].error == 0 && parts[1].error == 0);
    CHECK(parts[2].error == KAFKA_UNKNOWN_TOPIC_OR_PARTITION);
    defer_durability = false;
    group_offset_fetch(gc, kstr_from_cstr("standalone"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == 42 && o.leader_epoch == 3 && strcmp(o.metadata, "meta") == 0);
    CHECK(stored[0].partition == group_partition_for("standalone", 10, 50));

    /* A managed group: commits need the right generation. */
    struct join_capture a;
    join(gc, "managed", "", NULL, false, now, &a);
    char id_a[128];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    struct sync_capture sa;
    struct group_assignment asg[] = {{kstr_from_cstr(id_a), {(const uint8_t *)"ASG", 3}}};
    sync_group(gc, "managed", id_a, NULL, 1, asg, 1, now, &sa);
    struct group_offset_commit_partition mp[1] = {{kstr_from_cstr("t"), 2, 100, -1, kstr_null(), 0}};
    commit(gc, "managed", id_a, 7, mp, 1, now, &cc);
    CHECK(cc.called && cc.error == KAFKA_ILLEGAL_GENERATION && mp[0].error == KAFKA_ILLEGAL_GENERATION);
    /* A partition the broker refused already (a topic that does not exist) keeps its own error. */
    struct group_offset_commit_partition two[2] = {{kstr_from_cstr("t"), 2, 100, -1, kstr_null(), 0},
                                                   {kstr_from_cstr("gone"), 0, 1, -1, kstr_null(),
                                                    KAFKA_UNKNOWN_TOPIC_OR_PARTITION}};
    commit(gc, "managed", id_a, 7, two, 2, now, &cc);
    CHECK(two[0].error == KAFKA_ILLEGAL_GENERATION && two[1].error == KAFKA_UNKNOWN_TOPIC_OR_PARTITION);
    mp[0].error = 0;
    commit(gc, "managed", "", -1, mp, 1, now, &cc);
    CHECK(cc.error == KAFKA_UNKNOWN_MEMBER_ID);
    mp[0].error = 0;
    commit(gc, "managed", id_a, 1, mp, 1, now, &cc);
    CHECK(cc.called && cc.error == 0 && mp[0].error == 0);
    struct group_offset_commit_partition big[1] = {{kstr_from_cstr("t"), 3, 1, -1, {NULL, 5000}, 0}};
    static char blob[5000];
    big[0].metadata.ptr = blob;
    commit(gc, "managed", id_a, 1, big, 1, now, &cc);
    CHECK(big[0].error == KAFKA_OFFSET_METADATA_TOO_LARGE);

    struct fetch_all_capture fa = {0};
    CHECK(group_offset_fetch_all(gc, kstr_from_cstr("standalone"), on_offset, &fa) == 2);
    CHECK(fa.offsets[0] == 42 && fa.offsets[1] == 7);

    /* Replay everything into a fresh coordinator. */
    struct group_coordinator *again = new_coordinator(&cfg);
    for (int i = 0; i < stored_count; i++)
        CHECK(group_coordinator_replay_batch(again, stored[i].batch, stored[i].len, now) == 0);
    group_coordinator_loaded(again, now);
    group_offset_fetch(again, kstr_from_cstr("standalone"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == 42 && o.leader_epoch == 3 && strcmp(o.metadata, "meta") == 0);
    group_offset_fetch(again, kstr_from_cstr("managed"), kstr_from_cstr("t"), 2, &o);
    CHECK(o.offset == 100);
    CHECK(strcmp(group_state_name_for(again, kstr_from_cstr("managed")), "Stable") == 0);
    CHECK(group_heartbeat(again, kstr_from_cstr("managed"), kstr_from_cstr(id_a), kstr_null(), 1, now) == 0);
    sync_group(again, "managed", id_a, NULL, 1, NULL, 0, now, &sa);
    CHECK(sa.error == 0 && strcmp(sa.assignment, "ASG") == 0);

    /* Delete: refused while members are there; the tombstones replay too. */
    CHECK(group_delete(again, kstr_from_cstr("managed"), now, on_commit, &cc) == GROUP_ERROR_NON_EMPTY_GROUP);
    CHECK(group_delete(again, kstr_from_cstr("nope"), now, on_commit, &cc) == KAFKA_GROUP_ID_NOT_FOUND);
    memset(&cc, 0, sizeof cc);
    CHECK(group_delete(again, kstr_from_cstr("standalone"), now, on_commit, &cc) == 0);
    CHECK(cc.called && cc.error == 0);
    group_offset_fetch(again, kstr_from_cstr("standalone"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == -1);

    struct group_coordinator *third = new_coordinator(&cfg);
    for (int i = 0; i < stored_count; i++)
        group_coordinator_replay_batch(third, stored[i].batch, stored[i].len, now);
    group_offset_fetch(third, kstr_from_cstr("standalone"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == -1);
    group_offset_fetch(third, kstr_from_cstr("managed"), kstr_from_cstr("t"), 2, &o);
    CHECK(o.offset == 100);

    group_coordinator_destroy(third);
    group_coordinator_destroy(again);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_retention(void)
{
    printf("offsets.retention: an empty group's offsets expire, then the group goes\n");
    struct group_coordinator_config cfg = default_config();
    cfg.offsets_retention_ms = 60000;
    cfg.retention_check_interval_ms = 1000;
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 100000;
    struct commit_capture cc;
    struct group_offset_commit_partition parts[1] = {{kstr_from_cstr("t"), 0, 5, -1, kstr_null(), 0}};
    commit(gc, "old", "", -1, parts, 1, now, &cc);
    group_coordinator_tick(gc, now + 30000);
    struct group_offset o;
    group_offset_fetch(gc, kstr_from_cstr("old"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == 5);
    group_coordinator_tick(gc, now + 61000);
    group_offset_fetch(gc, kstr_from_cstr("old"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == -1);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("old")), "Dead") == 0);
    group_coordinator_destroy(gc);
    storage_reset();
}

/* KIP-496: a Stable consumer group keeps the offsets of the topics its
 * members subscribe to; the others expire after the retention from commit. */
static void test_retention_of_unsubscribed_topics(void)
{
    printf("offsets.retention: a live consumer group loses only its unsubscribed topics' offsets\n");
    struct group_coordinator_config cfg = default_config();
    cfg.offsets_retention_ms = 60000;
    cfg.retention_check_interval_ms = 1000;
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 100000;
    struct join_capture a;
    join(gc, "live", "", "inst", true, now, &a);
    CHECK(a.error == 0 && a.generation == 1);
    struct sync_capture s;
    struct group_assignment asg[] = {{kstr_from_cstr(a.member_id), {(const uint8_t *)"A", 1}}};
    sync_group(gc, "live", a.member_id, "inst", 1, asg, 1, now, &s);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("live")), "Stable") == 0);
    struct commit_capture cc;
    struct group_offset_commit_partition parts[2] = {{kstr_from_cstr("t"), 0, 5, -1, kstr_null(), 0},
                                                     {kstr_from_cstr("gone"), 0, 7, -1, kstr_null(), 0}};
    commit(gc, "live", a.member_id, 1, parts, 2, now, &cc);
    for (int64_t t = now + 5000; t <= now + 61000; t += 5000) {
        CHECK(group_heartbeat(gc, kstr_from_cstr("live"), kstr_from_cstr(a.member_id), kstr_from_cstr("inst"), 1,
                              t) == 0);
        group_coordinator_tick(gc, t);
    }
    struct group_offset o;
    group_offset_fetch(gc, kstr_from_cstr("live"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == 5);
    group_offset_fetch(gc, kstr_from_cstr("live"), kstr_from_cstr("gone"), 0, &o);
    CHECK(o.offset == -1);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("live")), "Stable") == 0);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_offset_delete(void)
{
    printf("OffsetDelete: refused for subscribed topics of a live consumer group\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    struct join_capture a;
    join(gc, "od", "", NULL, false, 0, &a); /* subscription metadata lists topic "t" */
    char id_a[128];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    struct sync_capture sa;
    sync_group(gc, "od", id_a, NULL, 1, NULL, 0, 0, &sa);
    struct commit_capture cc;
    struct group_offset_commit_partition parts[2] = {{kstr_from_cstr("t"), 0, 5, -1, kstr_null(), 0},
                                                     {kstr_from_cstr("x"), 0, 6, -1, kstr_null(), 0}};
    commit(gc, "od", id_a, 1, parts, 2, 0, &cc);
    CHECK(cc.error == 0);
    struct group_offset_delete_partition del[2] = {{kstr_from_cstr("t"), 0, 0}, {kstr_from_cstr("x"), 0, 0}};
    memset(&cc, 0, sizeof cc);
    CHECK(group_offset_delete(gc, kstr_from_cstr("od"), del, 2, 0, on_commit, &cc) == 0);
    CHECK(del[0].error == KAFKA_GROUP_SUBSCRIBED_TO_TOPIC && del[1].error == 0);
    struct group_offset o;
    group_offset_fetch(gc, kstr_from_cstr("od"), kstr_from_cstr("x"), 0, &o);
    CHECK(o.offset == -1);
    CHECK(group_offset_delete(gc, kstr_from_cstr("zz"), del, 2, 0, on_commit, &cc) == KAFKA_GROUP_ID_NOT_FOUND);
    group_coordinator_destroy(gc);
    storage_reset();
}

static void test_sync_waits_for_store(void)
{
    printf("the leader's SyncGroup is answered once the assignment is durable; a failed write rebalances\n");
    struct group_coordinator_config cfg = default_config();
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 1000000;
    struct join_capture a, b;
    join(gc, "w", "", NULL, false, now, &a);
    char id_a[128], id_b[128];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    join(gc, "w", "", NULL, false, now, &b); /* starts a rebalance; answered with a's rejoin */
    join(gc, "w", id_a, NULL, false, now, &a);
    CHECK(a.called && b.called && a.generation == 2 && b.generation == 2);
    snprintf(id_b, sizeof id_b, "%s", b.member_id);

    defer_durability = true;
    struct sync_capture sa, sb;
    struct group_assignment asg[] = {{kstr_from_cstr(id_a), {(const uint8_t *)"A", 1}},
                                     {kstr_from_cstr(id_b), {(const uint8_t *)"B", 1}}};
    sync_group(gc, "w", id_a, NULL, 2, asg, 2, now, &sa);
    CHECK(!sa.called && pending_count == 1);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("w")), "CompletingRebalance") == 0);
    sync_group(gc, "w", id_b, NULL, 2, NULL, 0, now, &sb); /* the follower waits as well */
    CHECK(!sb.called);
    flush_pending();
    CHECK(sa.called && sa.error == 0 && strcmp(sa.assignment, "A") == 0);
    CHECK(sb.called && sb.error == 0 && strcmp(sb.assignment, "B") == 0);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("w")), "Stable") == 0);

    /* Next generation: the write fails; both members hear it and the group rebalances. */
    join(gc, "w", id_a, NULL, false, now, &a);
    join(gc, "w", id_b, NULL, false, now, &b);
    CHECK(a.called && b.called && a.generation == 3);
    sync_group(gc, "w", id_b, NULL, 3, NULL, 0, now, &sb);
    sync_group(gc, "w", id_a, NULL, 3, asg, 2, now, &sa);
    CHECK(!sa.called && !sb.called);
    finish_pending(KAFKA_NOT_LEADER_OR_FOLLOWER);
    CHECK(sa.called && sa.error == KAFKA_NOT_COORDINATOR);
    CHECK(sb.called && sb.error == KAFKA_NOT_COORDINATOR);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("w")), "PreparingRebalance") == 0);
    defer_durability = false;
    group_coordinator_destroy(gc);
    storage_reset();
}

/* The offset of ("t", 0) in group id after replaying everything stored into a fresh coordinator. */
static int64_t replayed_offset(const struct group_coordinator_config *cfg, const char *id, int64_t now)
{
    struct group_coordinator *fresh = new_coordinator(cfg);
    for (int i = 0; i < stored_count; i++)
        CHECK(group_coordinator_replay_batch(fresh, stored[i].batch, stored[i].len, now) == 0);
    struct group_offset o;
    group_offset_fetch(fresh, kstr_from_cstr(id), kstr_from_cstr("t"), 0, &o);
    group_coordinator_destroy(fresh);
    return o.offset;
}

static int64_t live_offset(struct group_coordinator *gc, const char *id)
{
    struct group_offset o;
    group_offset_fetch(gc, kstr_from_cstr(id), kstr_from_cstr("t"), 0, &o);
    return o.offset;
}

static void test_pending_commit_vs_removal(void)
{
    printf("a commit still being written does not bring back a group or offset deleted meanwhile\n");
    struct group_coordinator_config cfg = default_config();
    cfg.offsets_retention_ms = 60000;
    cfg.retention_check_interval_ms = 1000;
    struct group_coordinator *gc = new_coordinator(&cfg);
    int64_t now = 100000;
    struct commit_capture cc, dc;
    struct group_offset_commit_partition first[1] = {{kstr_from_cstr("t"), 0, 5, -1, kstr_null(), 0}};
    struct group_offset_commit_partition later[1] = {{kstr_from_cstr("t"), 0, 42, -1, kstr_null(), 0}};

    /* DeleteGroups after a commit that is not durable yet: the log has the
     * commit, then the tombstones; memory must say the same. */
    commit(gc, "dg", "", -1, first, 1, now, &cc);
    defer_durability = true;
    commit(gc, "dg", "", -1, later, 1, now, &cc);
    memset(&dc, 0, sizeof dc);
    CHECK(group_delete(gc, kstr_from_cstr("dg"), now, on_commit, &dc) == 0);
    flush_pending();
    CHECK(cc.called && cc.error == 0 && later[0].error == 0 && dc.called && dc.error == 0);
    CHECK(live_offset(gc, "dg") == -1);
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("dg")), "Dead") == 0);
    CHECK(replayed_offset(&cfg, "dg", now) == -1);

    /* OffsetDelete of the partition: the same. */
    defer_durability = false;
    first[0].error = later[0].error = 0;
    commit(gc, "od", "", -1, first, 1, now, &cc);
    defer_durability = true;
    commit(gc, "od", "", -1, later, 1, now, &cc);
    struct group_offset_delete_partition del[1] = {{kstr_from_cstr("t"), 0, 0}};
    CHECK(group_offset_delete(gc, kstr_from_cstr("od"), del, 1, now, on_commit, &dc) == 0);
    flush_pending();
    CHECK(cc.called && cc.error == 0 && del[0].error == 0);
    CHECK(live_offset(gc, "od") == -1 && replayed_offset(&cfg, "od", now) == -1);

    /* Expiry leaves alone an offset a pending commit is about to replace. */
    defer_durability = false;
    first[0].error = later[0].error = 0;
    commit(gc, "ex", "", -1, first, 1, now, &cc);
    defer_durability = true;
    commit(gc, "ex", "", -1, later, 1, now + 61000, &cc);
    group_coordinator_tick(gc, now + 61000);
    flush_pending();
    CHECK(cc.called && cc.error == 0);
    CHECK(live_offset(gc, "ex") == 42 && replayed_offset(&cfg, "ex", now + 61000) == 42);

    defer_durability = false;
    group_coordinator_destroy(gc);
    storage_reset();
}

int main(void)
{
    test_partition_hash();
    test_join_sync_flow();
    test_validation();
    test_session_expiry();
    test_sync_timeout();
    test_static_membership();
    test_static_rejoin_new_metadata();
    test_sync_timeout_when_stable();
    test_max_size_with_member_id_required();
    test_initial_delay();
    test_offsets_and_replay();
    test_retention();
    test_retention_of_unsubscribed_topics();
    test_offset_delete();
    test_sync_waits_for_store();
    test_pending_commit_vs_removal();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all group coordinator checks passed\n");
    return 0;
}
