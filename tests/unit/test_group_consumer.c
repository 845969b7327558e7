/*
 * test_group_consumer.c - KIP-848 consumer groups in the coordinator core:
 * the range and uniform assignors, and ConsumerGroupHeartbeat's incremental
 * reconciliation (revoke first, then take partitions once released), epochs,
 * fencing, leaving, session expiry, offset commits by member epoch and
 * ConsumerGroupDescribe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/group_coordinator.h"
#include "group/group_internal.h"
#include "protocol/errors.h"

static int failures;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static struct kuuid topic_t = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
static struct kuuid topic_u = {{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}};
static int32_t t_partitions = 6;

static bool by_name(void *ctx, const char *name, size_t len, struct kuuid *id, int32_t *partitions)
{
    (void)ctx;
    if (len == 1 && name[0] == 't') {
        *id = topic_t;
        *partitions = t_partitions;
        return true;
    }
    if (len == 1 && name[0] == 'u') {
        *id = topic_u;
        *partitions = 2;
        return true;
    }
    return false;
}

static const char *name_of(void *ctx, struct kuuid id)
{
    (void)ctx;
    return kuuid_eq(id, topic_t) ? "t" : kuuid_eq(id, topic_u) ? "u" : NULL;
}

static void each_topic(void *ctx, void (*visit)(void *arg, const char *name), void *arg)
{
    (void)ctx;
    visit(arg, "t");
    visit(arg, "u");
    visit(arg, "__consumer_offsets");
}

#define MAX_STORED 1024
static uint8_t *stored[MAX_STORED];
static size_t stored_len[MAX_STORED];
static int stored_count;

static int16_t mem_append(void *ctx, int32_t partition, uint8_t *batch, size_t len, group_write_done_fn done,
                          void *arg)
{
    (void)ctx;
    (void)partition;
    if (stored_count < MAX_STORED) {
        stored[stored_count] = batch;
        stored_len[stored_count++] = len;
    } else {
        free(batch);
    }
    done(arg, 0);
    return 0;
}

static void stored_reset(void)
{
    for (int i = 0; i < stored_count; i++)
        free(stored[i]);
    stored_count = 0;
}

static struct group_coordinator *new_coordinator(void)
{
    struct group_coordinator_config cfg = {
        .offsets_partitions = 50,
        .min_session_timeout_ms = 6000,
        .max_session_timeout_ms = 1800000,
        .max_group_size = 100,
        .offsets_retention_ms = 7LL * 24 * 3600 * 1000,
        .retention_check_interval_ms = 600000,
        .max_metadata_bytes = 4096,
        .consumer_session_timeout_ms = 45000,
        .consumer_heartbeat_interval_ms = 5000,
    };
    struct group_storage st = {.append = mem_append};
    struct group_coordinator *gc = NULL;
    CHECK(group_coordinator_create(&cfg, &st, &gc) == 0);
    struct group_topic_lookup lookup = {.by_name = by_name, .name_of = name_of, .each = each_topic};
    group_coordinator_set_topic_lookup(gc, &lookup);
    return gc;
}

/* ---- assignors ---- */

static void test_assignors(void)
{
    printf("range and uniform assignors\n");
    struct assignor_topic topics[] = {{topic_t, 7}};
    int32_t subs[] = {0};
    struct tp_set targets[3] = {{0}};
    struct assignor_member members[3];
    for (int i = 0; i < 3; i++)
        members[i] = (struct assignor_member){subs, 1, NULL, &targets[i]};
    CHECK(group_assign("range", topics, 1, members, 2) == 0);
    CHECK(targets[0].count == 4 && targets[1].count == 3);
    CHECK(targets[0].items[0].partition == 0 && targets[0].items[3].partition == 3);
    CHECK(targets[1].items[0].partition == 4);

    topics[0].partitions = 6;
    CHECK(group_assign("uniform", topics, 1, members, 3) == 0);
    CHECK(targets[0].count == 2 && targets[1].count == 2 && targets[2].count == 2);
    /* Sticky: with one member gone, the others keep what they had and split the rest. */
    struct tp_set keep0 = {0}, keep1 = {0};
    for (int i = 0; i < targets[0].count; i++)
        tp_set_add(&keep0, targets[0].items[i].topic_id, targets[0].items[i].partition);
    for (int i = 0; i < targets[1].count; i++)
        tp_set_add(&keep1, targets[1].items[i].topic_id, targets[1].items[i].partition);
    members[0].current = &keep0;
    members[1].current = &keep1;
    CHECK(group_assign("uniform", topics, 1, members, 2) == 0);
    CHECK(targets[0].count == 3 && targets[1].count == 3);
    for (int i = 0; i < keep0.count; i++)
        CHECK(tp_set_has(&targets[0], keep0.items[i].topic_id, keep0.items[i].partition));
    for (int i = 0; i < keep1.count; i++)
        CHECK(tp_set_has(&targets[1], keep1.items[i].topic_id, keep1.items[i].partition));
    /* Unbalanced current state gets rebalanced: one member held everything. */
    struct tp_set all = {0};
    for (int p = 0; p < 6; p++)
        tp_set_add(&all, topic_t, p);
    members[0].current = &all;
    members[1].current = NULL;
    members[2].current = NULL;
    CHECK(group_assign("uniform", topics, 1, members, 3) == 0);
    CHECK(targets[0].count == 2 && targets[1].count == 2 && targets[2].count == 2);
    tp_set_free(&all);
    tp_set_free(&keep0);
    tp_set_free(&keep1);
    for (int i = 0; i < 3; i++)
        tp_set_free(&targets[i]);
}

/* ---- heartbeats ---- */

struct hb {
    int16_t error;
    char member_id[64];
    int32_t epoch;
    bool has_assignment;
    int32_t partitions[16];
    int32_t count;
};

static void on_hb(void *arg, const struct group_consumer_heartbeat_result *r)
{
    struct hb *h = arg;
    memset(h, 0, sizeof *h);
    h->error = r->error;
    snprintf(h->member_id, sizeof h->member_id, "%s", r->member_id ? r->member_id : "");
    h->epoch = r->member_epoch;
    h->has_assignment = r->has_assignment;
    for (int32_t i = 0; i < r->assignment_count; i++)
        for (int32_t j = 0; j < r->assignment[i].count && h->count < 16; j++)
            h->partitions[h->count++] = r->assignment[i].partitions[j];
}

static struct kstr subs_t[] = {{"t", 1}};

static void heartbeat(struct group_coordinator *gc, const char *member, int32_t epoch, const struct hb *owned_from,
                      int64_t now, struct hb *out)
{
    struct group_topic_partitions owned = {topic_t, "t", owned_from ? owned_from->partitions : NULL,
                                           owned_from ? owned_from->count : 0};
    struct group_consumer_heartbeat_params p = {
        .group_id = kstr_from_cstr("cg"),
        .member_id = kstr_from_cstr(member),
        .member_epoch = epoch,
        .instance_id = kstr_null(),
        .rack_id = kstr_null(),
        .client_id = kstr_from_cstr("java"),
        .client_host = kstr_from_cstr("/127.0.0.1"),
        .rebalance_timeout_ms = 30000,
        .subscribed = subs_t,
        .subscribed_count = epoch == 0 ? 1 : -1,
        .subscribed_regex = kstr_null(),
        .server_assignor = kstr_null(),
        .owned = &owned,
        .owned_count = epoch == 0 ? 0 : owned_from ? 1 : -1, /* a join owns nothing */
    };
    group_consumer_heartbeat(gc, &p, now, on_hb, out);
}

struct described {
    int16_t error;
    char state[32];
    int32_t group_epoch;
    int32_t members;
};

static void on_describe(void *arg, const struct group_consumer_description *d)
{
    struct described *x = arg;
    x->error = d->error;
    snprintf(x->state, sizeof x->state, "%s", d->state);
    x->group_epoch = d->group_epoch;
    x->members = d->member_count;
}

struct validated {
    int16_t error;
    char message[128];
};

static void on_validated(void *arg, const struct group_consumer_heartbeat_result *r)
{
    struct validated *v = arg;
    v->error = r->error;
    snprintf(v->message, sizeof v->message, "%s", r->error_message ? r->error_message : "");
}

struct classic_described {
    int16_t error;
    char state[32];
    char protocol_type[32];
    int32_t members;
};

static void on_classic_describe(void *arg, const struct group_description *d)
{
    struct classic_described *x = arg;
    x->error = d->error;
    snprintf(x->state, sizeof x->state, "%s", d->state);
    snprintf(x->protocol_type, sizeof x->protocol_type, "%s", d->protocol_type);
    x->members = d->member_count;
}

static void on_commit(void *arg, int16_t error)
{
    *(int16_t *)arg = error;
}

static void test_heartbeat_flow(void)
{
    printf("ConsumerGroupHeartbeat: join, incremental hand-over, fencing, leave, expiry\n");
    struct group_coordinator *gc = new_coordinator();
    int64_t now = 1000;
    struct hb a, b, tmp;
    heartbeat(gc, "", 0, NULL, now, &a);
    CHECK(a.error == 0 && a.member_id[0] && a.epoch == 1 && a.has_assignment && a.count == 6);
    char id_a[64];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);

    heartbeat(gc, id_a, 1, NULL, now, &tmp);
    CHECK(tmp.error == 0 && tmp.epoch == 1 && !tmp.has_assignment); /* unchanged: not resent */

    heartbeat(gc, "", 0, NULL, now, &b);
    char id_b[64];
    snprintf(id_b, sizeof id_b, "%s", b.member_id);
    CHECK(b.error == 0 && b.count == 0); /* its partitions are still held by a */
    CHECK(b.epoch == 2);

    struct described d;
    group_consumer_describe(gc, kstr_from_cstr("cg"), on_describe, &d);
    CHECK(d.error == 0 && d.members == 2 && strcmp(d.state, "Reconciling") == 0);

    /* a must give up half; it keeps epoch 1 until it confirms. */
    heartbeat(gc, id_a, 1, NULL, now, &a);
    CHECK(a.error == 0 && a.epoch == 1 && a.has_assignment && a.count == 3);
    heartbeat(gc, id_b, 2, NULL, now, &b);
    CHECK(b.count == 0); /* not released yet */
    heartbeat(gc, id_a, 1, &a, now, &a); /* owns only the 3 it kept */
    CHECK(a.error == 0 && a.epoch == 2 && a.count == 3);
    heartbeat(gc, id_b, 2, NULL, now, &b);
    CHECK(b.error == 0 && b.epoch == 2 && b.has_assignment && b.count == 3);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            CHECK(a.partitions[i] != b.partitions[j]);
    group_consumer_describe(gc, kstr_from_cstr("cg"), on_describe, &d);
    CHECK(strcmp(d.state, "Stable") == 0);
    /* The classic DescribeGroups does not describe a KIP-848 group: Dead, no members, as Kafka. */
    struct classic_described cd;
    group_describe(gc, kstr_from_cstr("cg"), on_classic_describe, &cd);
    CHECK(cd.error == 0 && strcmp(cd.state, "Dead") == 0 && cd.protocol_type[0] == 0 && cd.members == 0);

    /* Fencing and commits by member epoch. */
    heartbeat(gc, id_b, 1, NULL, now, &tmp);
    CHECK(tmp.error == KAFKA_FENCED_MEMBER_EPOCH);
    heartbeat(gc, id_b, 3, NULL, now, &tmp);
    CHECK(tmp.error == KAFKA_FENCED_MEMBER_EPOCH);
    /* The previous epoch is accepted when what it owns is still its own (a lost response). */
    heartbeat(gc, id_a, 1, &a, now, &tmp);
    CHECK(tmp.error == 0 && tmp.epoch == 2 && tmp.has_assignment && tmp.count == 3);
    heartbeat(gc, id_a, 1, NULL, now, &tmp);
    CHECK(tmp.error == KAFKA_FENCED_MEMBER_EPOCH);
    heartbeat(gc, "nobody", 2, NULL, now, &tmp);
    CHECK(tmp.error == KAFKA_UNKNOWN_MEMBER_ID);
    struct group_offset_commit_partition part = {kstr_from_cstr("t"), 0, 5, -1, kstr_null(), 0};
    struct group_offset_commit_params cp = {kstr_from_cstr("cg"), kstr_from_cstr(id_a), kstr_null(), 1, -1, &part, 1};
    int16_t err = -7;
    group_offset_commit(gc, &cp, now, on_commit, &err);
    CHECK(err == KAFKA_STALE_MEMBER_EPOCH);
    part.error = 0;
    cp.generation = 2;
    group_offset_commit(gc, &cp, now, on_commit, &err);
    CHECK(err == 0 && part.error == 0);
    struct group_offset o;
    group_offset_fetch(gc, kstr_from_cstr("cg"), kstr_from_cstr("t"), 0, &o);
    CHECK(o.offset == 5);

    /* A classic JoinGroup cannot take over a live consumer group. */
    CHECK(strcmp(group_state_name_for(gc, kstr_from_cstr("cg")), "Stable") == 0);

    /* b leaves: a gets everything back at a new epoch. */
    heartbeat(gc, id_b, -1, NULL, now, &tmp);
    CHECK(tmp.error == 0 && tmp.epoch == -1);
    heartbeat(gc, id_a, 2, &a, now, &a);
    CHECK(a.error == 0 && a.epoch == 3 && a.count == 6);

    /* Growing the topic bumps the group epoch and assigns the new partitions. */
    t_partitions = 8;
    heartbeat(gc, id_a, 3, NULL, now, &a);
    CHECK(a.error == 0 && a.epoch == 4 && a.count == 8);
    t_partitions = 6;
    heartbeat(gc, id_a, 4, NULL, now, &a);
    CHECK(a.error == 0 && a.epoch == 4 && a.count == 6); /* 6 and 7 are gone: nothing to revoke from others */

    /* Silence: after the session timeout the member is gone and the group is empty. */
    group_coordinator_tick(gc, now + 46000);
    group_consumer_describe(gc, kstr_from_cstr("cg"), on_describe, &d);
    CHECK(d.members == 0 && strcmp(d.state, "Empty") == 0);
    heartbeat(gc, id_a, 4, NULL, now + 46000, &tmp);
    CHECK(tmp.error == KAFKA_UNKNOWN_MEMBER_ID);

    /* Validation. */
    struct group_consumer_heartbeat_params bad = {
        .group_id = kstr_from_cstr("cg"), .member_id = kstr_from_cstr(""), .member_epoch = 0,
        .instance_id = kstr_null(), .rack_id = kstr_null(), .subscribed_count = -1,
        .subscribed_regex = kstr_null(), .server_assignor = kstr_null(), .owned_count = -1};
    group_consumer_heartbeat(gc, &bad, now, on_hb, &tmp);
    CHECK(tmp.error == KAFKA_INVALID_REQUEST);
    bad.subscribed = subs_t;
    bad.subscribed_count = 1;
    bad.owned_count = 0;
    bad.server_assignor = kstr_from_cstr("sticky");
    group_consumer_heartbeat(gc, &bad, now, on_hb, &tmp);
    CHECK(tmp.error == KAFKA_UNSUPPORTED_ASSIGNOR);
    group_consumer_describe(gc, kstr_from_cstr("nope"), on_describe, &d);
    CHECK(d.error == KAFKA_GROUP_ID_NOT_FOUND);
    group_coordinator_destroy(gc);
}

static void static_heartbeat(struct group_coordinator *gc, const char *member, const char *instance, int32_t epoch,
                             int64_t now, struct hb *out)
{
    struct group_topic_partitions none = {topic_t, "t", NULL, 0};
    struct group_consumer_heartbeat_params p = {
        .group_id = kstr_from_cstr("sg"), .member_id = kstr_from_cstr(member), .member_epoch = epoch,
        .instance_id = kstr_from_cstr(instance), .rack_id = kstr_null(), .client_id = kstr_from_cstr("c"),
        .client_host = kstr_from_cstr("h"), .rebalance_timeout_ms = 30000, .subscribed = subs_t,
        .subscribed_count = epoch == 0 ? 1 : -1, .subscribed_regex = kstr_null(), .server_assignor = kstr_null(),
        .owned = &none, .owned_count = epoch == 0 ? 0 : -1};
    group_consumer_heartbeat(gc, &p, now, on_hb, out);
}

static void test_static_leave(void)
{
    printf("static member leaving with epoch -2 gets its partitions back when it returns; "
           "its instance id is not taken while it is there\n");
    struct group_coordinator *gc = new_coordinator();
    struct hb a, b, tmp;
    static_heartbeat(gc, "", "ia", 0, 0, &a);
    static_heartbeat(gc, "", "ib", 0, 0, &b);
    char id_a[64], id_b[64];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    snprintf(id_b, sizeof id_b, "%s", b.member_id);
    heartbeat(gc, "", 0, NULL, 0, &tmp); /* unrelated group "cg" */
    static_heartbeat(gc, id_a, "ia", 1, 0, &a);
    CHECK(a.count == 3);
    struct hb owned_a = a;
    struct group_topic_partitions owned = {topic_t, "t", owned_a.partitions, owned_a.count};
    struct group_consumer_heartbeat_params p = {
        .group_id = kstr_from_cstr("sg"), .member_id = kstr_from_cstr(id_a), .member_epoch = 1,
        .instance_id = kstr_from_cstr("ia"), .rack_id = kstr_null(), .subscribed_count = -1,
        .subscribed_regex = kstr_null(), .server_assignor = kstr_null(), .owned = &owned, .owned_count = 1};
    group_consumer_heartbeat(gc, &p, 0, on_hb, &a);
    static_heartbeat(gc, id_b, "ib", 2, 0, &b);
    CHECK(b.count == 3 && b.epoch == 2);
    /* As Kafka: while ib's holder is in the group, another consumer cannot take the instance id. */
    static_heartbeat(gc, "", "ib", 0, 0, &tmp);
    CHECK(tmp.error == KAFKA_UNRELEASED_INSTANCE_ID);
    static_heartbeat(gc, id_b, "ib", 2, 0, &tmp);
    CHECK(tmp.error == 0);
    static_heartbeat(gc, id_b, "ib", -2, 0, &tmp);
    CHECK(tmp.error == 0 && tmp.epoch == -2);
    struct hb again;
    static_heartbeat(gc, "", "ib", 0, 1000, &again);
    CHECK(again.error == 0 && again.epoch == 2 && again.count == 3);
    for (int i = 0; i < 3; i++)
        CHECK(again.partitions[i] == b.partitions[i]);
    CHECK(strcmp(again.member_id, id_b) != 0);
    group_coordinator_destroy(gc);
}

struct validation_case {
    const char *what;
    int16_t api_version;
    const char *member_id;
    int32_t epoch;
    const char *instance_id;
    const char *rack_id;
    int32_t rebalance_timeout_ms;
    int32_t owned_count;
    int32_t subscribed_count;
    const char *message; /* NULL: valid */
};

/* Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid, rule by rule, with its messages. */
static void test_heartbeat_validation(void)
{
    printf("ConsumerGroupHeartbeat validation: Kafka's rules and messages, by api version and epoch\n");
    static const struct validation_case cases[] = {
        {"v0 join", 0, "", 0, NULL, NULL, 30000, 0, 1, NULL},
        {"v1 join, own id", 1, "m-1", 0, NULL, NULL, 30000, 0, 1, NULL},
        {"v1 join, empty id", 1, "", 0, NULL, NULL, 30000, 0, 1, "MemberId can't be empty."},
        {"v0 heartbeat, empty id", 0, "", 3, NULL, NULL, -1, -1, -1, "MemberId can't be empty."},
        {"v0 leave, empty id", 0, "", -1, NULL, NULL, -1, -1, -1, "MemberId can't be empty."},
        {"empty instance id", 0, "", 0, "", NULL, 30000, 0, 1, "InstanceId can't be empty."},
        {"empty rack id", 0, "", 0, NULL, "", 30000, 0, 1, "RackId can't be empty."},
        {"join without rebalance timeout", 0, "", 0, NULL, NULL, -1, 0, 1,
         "RebalanceTimeoutMs must be provided in first request."},
        {"join, null TopicPartitions", 0, "", 0, NULL, NULL, 30000, -1, 1,
         "TopicPartitions must be empty when (re-)joining."},
        {"join owning partitions", 0, "", 0, NULL, NULL, 30000, 1, 1, "TopicPartitions must be empty when (re-)joining."},
        {"join without subscription", 0, "", 0, NULL, NULL, 30000, 0, -1,
         "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining."},
        {"static leave without instance id", 1, "m-1", -2, NULL, NULL, -1, -1, -1, "InstanceId can't be null."},
        {"epoch -3", 1, "m-1", -3, NULL, NULL, -1, -1, -1, "MemberEpoch is invalid."},
    };
    struct group_coordinator *gc = new_coordinator();
    struct group_topic_partitions owned = {topic_t, "t", NULL, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct validation_case *c = &cases[i];
        char group[32];
        snprintf(group, sizeof group, "vg-%zu", i);
        struct group_consumer_heartbeat_params p = {
            .api_version = c->api_version, .group_id = kstr_from_cstr(group), .member_id = kstr_from_cstr(c->member_id),
            .member_epoch = c->epoch, .instance_id = kstr_from_cstr(c->instance_id), .rack_id = kstr_from_cstr(c->rack_id),
            .client_id = kstr_from_cstr("c"), .client_host = kstr_from_cstr("h"),
            .rebalance_timeout_ms = c->rebalance_timeout_ms, .subscribed = subs_t,
            .subscribed_count = c->subscribed_count, .subscribed_regex = kstr_null(), .server_assignor = kstr_null(),
            .owned = &owned, .owned_count = c->owned_count};
        struct validated r = {-1, ""};
        group_consumer_heartbeat(gc, &p, 0, on_validated, &r);
        bool as_expected = c->message ? r.error == KAFKA_INVALID_REQUEST && strcmp(r.message, c->message) == 0
                                      : r.error == 0;
        CHECK(as_expected);
        if (!as_expected)
            fprintf(stderr, "  case \"%s\": error %d, message \"%s\"\n", c->what, r.error, r.message);
    }
    group_coordinator_destroy(gc);
}

static void test_regex(void)
{
    printf("regex subscriptions match existing topics, never internal ones\n");
    struct group_coordinator *gc = new_coordinator();
    struct hb out;
    struct group_consumer_heartbeat_params p = {
        .group_id = kstr_from_cstr("rg"), .member_id = kstr_from_cstr(""), .member_epoch = 0,
        .instance_id = kstr_null(), .rack_id = kstr_null(), .subscribed_count = -1,
        .subscribed_regex = kstr_from_cstr(".*"), .server_assignor = kstr_from_cstr("range"), .owned_count = 0};
    group_consumer_heartbeat(gc, &p, 0, on_hb, &out);
    CHECK(out.error == 0 && out.epoch == 1 && out.count == 8);
    p.group_id = kstr_from_cstr("rg2");
    p.subscribed_regex = kstr_from_cstr("u");
    group_consumer_heartbeat(gc, &p, 0, on_hb, &out);
    CHECK(out.error == 0 && out.count == 2);
    p.subscribed_regex = kstr_from_cstr("([");
    group_consumer_heartbeat(gc, &p, 0, on_hb, &out);
    CHECK(out.error == KAFKA_INVALID_REQUEST);
    group_coordinator_destroy(gc);
}

static void test_replay(void)
{
    printf("consumer groups survive a restart: members keep their ids, epochs and partitions\n");
    stored_reset();
    struct group_coordinator *gc = new_coordinator();
    struct hb a, b, c, tmp;
    heartbeat(gc, "", 0, NULL, 0, &a);
    heartbeat(gc, "", 0, NULL, 0, &b);
    heartbeat(gc, "", 0, NULL, 0, &c);
    char id_a[64], id_b[64], id_c[64];
    snprintf(id_a, sizeof id_a, "%s", a.member_id);
    snprintf(id_b, sizeof id_b, "%s", b.member_id);
    snprintf(id_c, sizeof id_c, "%s", c.member_id);
    heartbeat(gc, id_a, a.epoch, NULL, 0, &a);
    heartbeat(gc, id_a, a.epoch, &a, 0, &a); /* revocations confirmed */
    heartbeat(gc, id_b, b.epoch, &b, 0, &b);
    heartbeat(gc, id_c, c.epoch, &c, 0, &c);
    heartbeat(gc, id_b, b.epoch, &b, 0, &b);
    heartbeat(gc, id_c, c.epoch, &c, 0, &c);
    CHECK(a.count == 2 && b.count == 2 && c.count == 2);
    heartbeat(gc, id_c, -1, NULL, 0, &tmp); /* c leaves for good */
    heartbeat(gc, id_a, a.epoch, &a, 0, &a);
    heartbeat(gc, id_b, b.epoch, &b, 0, &b);
    heartbeat(gc, id_a, a.epoch, &a, 0, &a);
    heartbeat(gc, id_b, b.epoch, &b, 0, &b);
    CHECK(a.count == 3 && b.count == 3);
    int32_t epoch_a = a.epoch;
    group_coordinator_destroy(gc);

    struct group_coordinator *again = new_coordinator();
    for (int i = 0; i < stored_count; i++)
        CHECK(group_coordinator_replay_batch(again, stored[i], stored_len[i], 0) == 0);
    group_coordinator_loaded(again, 100);
    struct described d;
    group_consumer_describe(again, kstr_from_cstr("cg"), on_describe, &d);
    CHECK(d.error == 0 && d.members == 2);
    heartbeat(again, id_a, epoch_a, &a, 100, &tmp);
    CHECK(tmp.error == 0 && tmp.epoch > epoch_a && tmp.count == 3);
    for (int i = 0; i < 3; i++)
        CHECK(tmp.partitions[i] == a.partitions[i]);
    heartbeat(again, id_c, 5, NULL, 100, &tmp);
    CHECK(tmp.error == KAFKA_UNKNOWN_MEMBER_ID);
    group_coordinator_destroy(again);
    stored_reset();
}

int main(void)
{
    test_replay();
    test_regex();
    test_assignors();
    test_heartbeat_flow();
    test_static_leave();
    test_heartbeat_validation();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    stored_reset();
    printf("all consumer group checks passed\n");
    return 0;
}
