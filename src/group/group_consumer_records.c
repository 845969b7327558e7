/*
 * group_consumer_records.c - KIP-848 consumer groups in __consumer_offsets:
 * ConsumerGroupMetadata (key version 3: the group epoch),
 * ConsumerGroupMemberMetadata (5: a member's subscription and identity) and
 * ConsumerGroupCurrentMemberAssignment (8: its epochs, what it owns and what
 * it is revoking), written as they change and replayed at start-up.
 *
 * The target assignment (keys 6 and 7) is not stored: after loading, the
 * group epoch is bumped once so that the first heartbeat recomputes it
 * (stickily, from what members own), which also hands out partitions that
 * were between two owners at the crash. Writes are not awaited: a lost one
 * costs a member a rejoin, never a committed offset.
 */
#include <stdlib.h>
#include <string.h>

#include "group/group_internal.h"
#include "protocol/generated/internal_records.h"
#include "util/logger.h"

#define KEY_CONSUMER_GROUP 3
#define KEY_CONSUMER_MEMBER 5
#define KEY_CONSUMER_ASSIGNMENT 8

typedef size_t (*size_fn)(int16_t version, const void *m);
typedef int (*encode_fn)(struct wire_writer *w, int16_t version, const void *m);

/* int16 version + the struct, as Kafka frames internal records. NULL on failure. */
static uint8_t *frame(int16_t version, const void *m, size_fn size, encode_fn encode, size_t *len)
{
    *len = 2 + size(version, m);
    uint8_t *buf = malloc(*len);
    if (!buf)
        return NULL;
    struct wire_writer w;
    wire_writer_init(&w, buf, *len);
    wire_write_int16(&w, version);
    if (encode(&w, version, m) < 0 || w.error) {
        free(buf);
        return NULL;
    }
    return buf;
}

#define FRAME(version, m, type, len) \
    frame(version, m, (size_fn)type##_size, (encode_fn)type##_encode, len)

static uint8_t *group_key(const char *group, size_t *len)
{
    struct consumer_group_metadata_key k;
    consumer_group_metadata_key_init(&k);
    k.group_id = kstr_from_cstr(group);
    return FRAME(KEY_CONSUMER_GROUP, &k, consumer_group_metadata_key, len);
}

static uint8_t *member_key(const char *group, const char *member, size_t *len)
{
    struct consumer_group_member_metadata_key k;
    consumer_group_member_metadata_key_init(&k);
    k.group_id = kstr_from_cstr(group);
    k.member_id = kstr_from_cstr(member);
    return FRAME(KEY_CONSUMER_MEMBER, &k, consumer_group_member_metadata_key, len);
}

static uint8_t *assignment_key(const char *group, const char *member, size_t *len)
{
    struct consumer_group_current_member_assignment_key k;
    consumer_group_current_member_assignment_key_init(&k);
    k.group_id = kstr_from_cstr(group);
    k.member_id = kstr_from_cstr(member);
    return FRAME(KEY_CONSUMER_ASSIGNMENT, &k, consumer_group_current_member_assignment_key, len);
}

int group_batch_add_consumer_group(struct group_batch *b, const struct group *g)
{
    size_t key_len, value_len;
    uint8_t *key = group_key(g->id, &key_len);
    struct consumer_group_metadata_value v;
    consumer_group_metadata_value_init(&v);
    v.epoch = g->consumer ? g->consumer->group_epoch : 0;
    uint8_t *value = FRAME(0, &v, consumer_group_metadata_value, &value_len);
    return group_batch_push(b, key, key_len, value, value_len);
}

int group_batch_add_consumer_group_tombstone(struct group_batch *b, const char *group)
{
    size_t key_len;
    uint8_t *key = group_key(group, &key_len);
    return group_batch_push(b, key, key_len, NULL, 0);
}

/* tp_set -> the record's topic/partitions array (arena memory). */
static struct consumer_group_current_member_assignment_value_topic_partitions *
to_record_partitions(const struct tp_set *set, struct arena *a, int32_t *count)
{
    struct tp_set sorted = {0};
    for (int32_t i = 0; i < set->count; i++)
        if (tp_set_add(&sorted, set->items[i].topic_id, set->items[i].partition) < 0) {
            tp_set_free(&sorted);
            return NULL;
        }
    tp_set_sort(&sorted);
    struct consumer_group_current_member_assignment_value_topic_partitions *out =
        arena_alloc(a, (size_t)(sorted.count + 1) * sizeof *out);
    int32_t *ints = arena_alloc(a, (size_t)(sorted.count + 1) * sizeof *ints);
    int32_t n = 0;
    for (int32_t i = 0; out && ints && i < sorted.count; i++) {
        ints[i] = sorted.items[i].partition;
        if (n == 0 || !kuuid_eq(out[n - 1].topic_id, sorted.items[i].topic_id)) {
            consumer_group_current_member_assignment_value_topic_partitions_init(&out[n]);
            out[n].topic_id = sorted.items[i].topic_id;
            out[n].partitions = &ints[i];
            n++;
        }
        out[n - 1].partitions_count++;
    }
    tp_set_free(&sorted);
    *count = n;
    return out && ints ? out : NULL;
}

int group_batch_add_consumer_member(struct group_batch *b, const struct group *g, const struct consumer_member *m)
{
    struct arena a;
    arena_init(&a);
    size_t key_len, value_len;
    struct consumer_group_member_metadata_value mv;
    consumer_group_member_metadata_value_init(&mv);
    mv.instance_id = kstr_from_cstr(m->instance_id);
    mv.rack_id = kstr_from_cstr(m->rack_id);
    mv.client_id = kstr_from_cstr(m->client_id);
    mv.client_host = kstr_from_cstr(m->client_host);
    mv.subscribed_topic_names = arena_alloc(&a, (size_t)(m->named_count + 1) * sizeof(struct kstr));
    mv.subscribed_topic_names_count = mv.subscribed_topic_names ? m->named_count : 0;
    for (int32_t i = 0; i < mv.subscribed_topic_names_count; i++)
        mv.subscribed_topic_names[i] = kstr_from_cstr(m->named[i]);
    mv.subscribed_topic_regex = kstr_from_cstr(m->regex);
    mv.rebalance_timeout_ms = m->rebalance_timeout_ms;
    mv.server_assignor = kstr_from_cstr(m->assignor);
    uint8_t *key = member_key(g->id, m->id, &key_len);
    uint8_t *value = FRAME(0, &mv, consumer_group_member_metadata_value, &value_len);
    int rc = group_batch_push(b, key, key_len, value, value_len);

    struct consumer_group_current_member_assignment_value av;
    consumer_group_current_member_assignment_value_init(&av);
    av.member_epoch = m->epoch;
    av.previous_member_epoch = m->previous_epoch;
    av.state = (int8_t)(m->revoking.count ? 1 : 0); /* Kafka: 0 stable, 1 unrevoked partitions */
    av.assigned_partitions = to_record_partitions(&m->assigned, &a, &av.assigned_partitions_count);
    av.partitions_pending_revocation =
        to_record_partitions(&m->revoking, &a, &av.partitions_pending_revocation_count);
    if (rc == 0) {
        key = assignment_key(g->id, m->id, &key_len);
        value = av.assigned_partitions && av.partitions_pending_revocation
                    ? FRAME(0, &av, consumer_group_current_member_assignment_value, &value_len)
                    : NULL;
        rc = value ? group_batch_push(b, key, key_len, value, value_len) : (free(key), -1);
    }
    arena_free(&a);
    return rc;
}

int group_batch_add_consumer_member_tombstones(struct group_batch *b, const char *group, const char *member)
{
    size_t key_len;
    uint8_t *key = member_key(group, member, &key_len);
    int rc = group_batch_push(b, key, key_len, NULL, 0);
    if (rc == 0) {
        key = assignment_key(group, member, &key_len);
        rc = group_batch_push(b, key, key_len, NULL, 0);
    }
    return rc;
}

/* ---- replay ---- */

static struct consumer_member *replay_member_of(struct group_coordinator *gc, struct kstr group, struct kstr member,
                                                int64_t now_ms, bool create)
{
    struct group *g = create ? group_find_or_create(gc, group, now_ms) : group_find(gc, group);
    if (!g || group_consumer_adopt(g) != 0)
        return NULL;
    struct consumer_group *cg = g->consumer;
    for (struct consumer_member *m = cg->members; m; m = m->next)
        if (kstr_eq_cstr(member, m->id))
            return m;
    if (!create)
        return NULL;
    struct consumer_member *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->id = group_strdup_kstr(member);
    m->client_id = strdup("");
    m->client_host = strdup("");
    m->revoke_deadline_ms = -1;
    m->rebalance_timeout_ms = 300000;
    if (!m->id || !m->client_id || !m->client_host) {
        group_consumer_member_free(m);
        return NULL;
    }
    m->next = cg->members;
    cg->members = m;
    cg->member_count++;
    g->state = GROUP_STABLE;
    g->loaded = true;
    return m;
}

static char *dup_or_null(struct kstr s)
{
    return kstr_is_null(s) ? NULL : group_strdup_kstr(s);
}

static void replay_member_metadata(struct group_coordinator *gc, struct kstr group, struct kstr member,
                                   const struct record *rec, int64_t now_ms, struct arena *a)
{
    if (rec->value_len < 0) {
        struct group *g = group_find(gc, group);
        if (g && g->kind == GROUP_KIND_CONSUMER)
            group_consumer_forget_member(g, member);
        return;
    }
    struct wire_reader r;
    wire_reader_init(&r, rec->value, (size_t)rec->value_len);
    int16_t version = wire_read_int16(&r);
    struct consumer_group_member_metadata_value v;
    consumer_group_member_metadata_value_init(&v);
    if (version != 0 || consumer_group_member_metadata_value_decode(&r, 0, &v, a) < 0)
        return;
    struct consumer_member *m = replay_member_of(gc, group, member, now_ms, true);
    if (!m)
        return;
    free(m->instance_id);
    free(m->rack_id);
    free(m->client_id);
    free(m->client_host);
    free(m->regex);
    free(m->assignor);
    m->instance_id = dup_or_null(v.instance_id);
    m->rack_id = dup_or_null(v.rack_id);
    m->client_id = group_strdup_kstr(kstr_is_null(v.client_id) ? kstr_from_cstr("") : v.client_id);
    m->client_host = group_strdup_kstr(kstr_is_null(v.client_host) ? kstr_from_cstr("") : v.client_host);
    m->regex = dup_or_null(v.subscribed_topic_regex);
    m->assignor = dup_or_null(v.server_assignor);
    if (v.rebalance_timeout_ms > 0)
        m->rebalance_timeout_ms = v.rebalance_timeout_ms;
    for (int32_t i = 0; i < m->named_count; i++)
        free(m->named[i]);
    free(m->named);
    m->named = calloc((size_t)(v.subscribed_topic_names_count > 0 ? v.subscribed_topic_names_count : 0) + 1,
                      sizeof *m->named);
    m->named_count = 0;
    for (int32_t i = 0; m->named && i < v.subscribed_topic_names_count; i++) {
        char *name = group_strdup_kstr(v.subscribed_topic_names[i]);
        if (name)
            m->named[m->named_count++] = name;
    }
}

static void load_partitions(struct tp_set *set,
                            const struct consumer_group_current_member_assignment_value_topic_partitions *tps,
                            int32_t count)
{
    tp_set_clear(set);
    for (int32_t i = 0; i < count; i++)
        for (int32_t k = 0; k < tps[i].partitions_count; k++)
            tp_set_add(set, tps[i].topic_id, tps[i].partitions[k]);
    tp_set_sort(set);
}

static void replay_member_assignment(struct group_coordinator *gc, struct kstr group, struct kstr member,
                                     const struct record *rec, int64_t now_ms, struct arena *a)
{
    if (rec->value_len < 0)
        return; /* the member metadata tombstone removes the member */
    struct wire_reader r;
    wire_reader_init(&r, rec->value, (size_t)rec->value_len);
    int16_t version = wire_read_int16(&r);
    struct consumer_group_current_member_assignment_value v;
    consumer_group_current_member_assignment_value_init(&v);
    if (version != 0 || consumer_group_current_member_assignment_value_decode(&r, 0, &v, a) < 0)
        return;
    struct consumer_member *m = replay_member_of(gc, group, member, now_ms, true);
    if (!m)
        return;
    m->epoch = v.member_epoch;
    m->previous_epoch = v.previous_member_epoch;
    load_partitions(&m->assigned, v.assigned_partitions, v.assigned_partitions_count);
    load_partitions(&m->revoking, v.partitions_pending_revocation, v.partitions_pending_revocation_count);
}

static void replay_group_epoch(struct group_coordinator *gc, struct kstr group, const struct record *rec,
                               int64_t now_ms, struct arena *a)
{
    if (rec->value_len < 0) {
        struct group *g = group_find(gc, group);
        if (g && g->kind == GROUP_KIND_CONSUMER && (!g->consumer || g->consumer->member_count == 0) &&
            g->offset_count == 0)
            group_remove(gc, g);
        return;
    }
    struct wire_reader r;
    wire_reader_init(&r, rec->value, (size_t)rec->value_len);
    int16_t version = wire_read_int16(&r);
    struct consumer_group_metadata_value v;
    consumer_group_metadata_value_init(&v);
    if (version != 0 || consumer_group_metadata_value_decode(&r, 0, &v, a) < 0)
        return;
    struct group *g = group_find_or_create(gc, group, now_ms);
    if (!g || group_consumer_adopt(g) != 0)
        return;
    g->consumer->group_epoch = v.epoch;
    g->loaded = true;
}

bool group_consumer_replay_record(struct group_coordinator *gc, int16_t key_version, struct wire_reader *key,
                                  const struct record *rec, int64_t now_ms)
{
    if (key_version != KEY_CONSUMER_GROUP && key_version != KEY_CONSUMER_MEMBER &&
        key_version != KEY_CONSUMER_ASSIGNMENT)
        return false;
    struct arena a;
    arena_init(&a);
    if (key_version == KEY_CONSUMER_GROUP) {
        struct consumer_group_metadata_key k;
        consumer_group_metadata_key_init(&k);
        if (consumer_group_metadata_key_decode(key, KEY_CONSUMER_GROUP, &k, &a) == 0 && !kstr_is_null(k.group_id))
            replay_group_epoch(gc, k.group_id, rec, now_ms, &a);
    } else if (key_version == KEY_CONSUMER_MEMBER) {
        struct consumer_group_member_metadata_key k;
        consumer_group_member_metadata_key_init(&k);
        if (consumer_group_member_metadata_key_decode(key, KEY_CONSUMER_MEMBER, &k, &a) == 0 &&
            !kstr_is_null(k.group_id) && !kstr_is_null(k.member_id))
            replay_member_metadata(gc, k.group_id, k.member_id, rec, now_ms, &a);
    } else {
        struct consumer_group_current_member_assignment_key k;
        consumer_group_current_member_assignment_key_init(&k);
        if (consumer_group_current_member_assignment_key_decode(key, KEY_CONSUMER_ASSIGNMENT, &k, &a) == 0 &&
            !kstr_is_null(k.group_id) && !kstr_is_null(k.member_id))
            replay_member_assignment(gc, k.group_id, k.member_id, rec, now_ms, &a);
    }
    arena_free(&a);
    return true;
}
