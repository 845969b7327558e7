/*
 * group_offsets.c - committed offsets: the per-group table, OffsetCommit
 * (validated against the group's generation, applied once its record is
 * durable), OffsetFetch, OffsetDelete, and expiry after
 * offsets.retention.minutes (Kafka 2.1+ rules: an Empty group's offsets
 * expire that long after the group became Empty; a group without a protocol
 * type, i.e. one that only stores offsets, expires each offset that long
 * after its commit, and so does a live consumer group for the topics it no
 * longer subscribes to; an explicit expire timestamp wins).
 */
#include <stdlib.h>
#include <string.h>

#include "group/group_internal.h"
#include "protocol/errors.h"
#include "util/logger.h"

static size_t offset_bucket(const struct group *g, const char *topic, size_t topic_len, int32_t partition)
{
    uint64_t h = group_hash_bytes(topic, topic_len, (uint64_t)(uint32_t)partition * 0x9E3779B97F4A7C15ull);
    return (size_t)(h % g->offset_buckets);
}

struct offset_entry *group_offset_find(const struct group *g, const char *topic, size_t topic_len,
                                       int32_t partition)
{
    if (g->offset_buckets == 0)
        return NULL;
    for (struct offset_entry *e = g->offsets[offset_bucket(g, topic, topic_len, partition)]; e; e = e->next)
        if (e->partition == partition && strlen(e->topic) == topic_len && memcmp(e->topic, topic, topic_len) == 0)
            return e;
    return NULL;
}

static void offset_entry_free(struct offset_entry *e)
{
    free(e->topic);
    free(e->metadata);
    free(e);
}

static int grow_offsets(struct group *g)
{
    size_t n = g->offset_buckets ? g->offset_buckets * 2 : 16;
    struct offset_entry **fresh = calloc(n, sizeof *fresh);
    if (!fresh)
        return g->offset_buckets ? 0 : -1;
    struct offset_entry **old = g->offsets;
    size_t old_n = g->offset_buckets;
    g->offsets = fresh;
    g->offset_buckets = n;
    for (size_t i = 0; i < old_n; i++) {
        struct offset_entry *e = old[i];
        while (e) {
            struct offset_entry *next = e->next;
            size_t b = offset_bucket(g, e->topic, strlen(e->topic), e->partition);
            e->next = fresh[b];
            fresh[b] = e;
            e = next;
        }
    }
    free(old);
    return 0;
}

int group_offset_put(struct group *g, const char *topic, size_t topic_len, int32_t partition, int64_t offset,
                     int32_t leader_epoch, const char *metadata, size_t metadata_len, int64_t commit_ts,
                     int64_t expire_ts)
{
    struct offset_entry *e = group_offset_find(g, topic, topic_len, partition);
    char *meta = malloc(metadata_len + 1);
    if (!meta)
        return -1;
    if (metadata_len > 0)
        memcpy(meta, metadata, metadata_len);
    meta[metadata_len] = '\0';
    if (!e) {
        if (g->offset_count >= g->offset_buckets && grow_offsets(g) < 0) {
            free(meta);
            return -1;
        }
        e = calloc(1, sizeof *e);
        char *name = e ? malloc(topic_len + 1) : NULL;
        if (!name) {
            free(e);
            free(meta);
            return -1;
        }
        if (topic_len > 0)
            memcpy(name, topic, topic_len);
        name[topic_len] = '\0';
        e->topic = name;
        e->partition = partition;
        size_t b = offset_bucket(g, topic, topic_len, partition);
        e->next = g->offsets[b];
        g->offsets[b] = e;
        g->offset_count++;
    }
    free(e->metadata);
    e->metadata = meta;
    e->offset = offset;
    e->leader_epoch = leader_epoch;
    e->commit_timestamp_ms = commit_ts;
    e->expire_timestamp_ms = expire_ts;
    return 0;
}

void group_offset_remove(struct group *g, const char *topic, size_t topic_len, int32_t partition)
{
    if (g->offset_buckets == 0)
        return;
    struct offset_entry **link = &g->offsets[offset_bucket(g, topic, topic_len, partition)];
    while (*link) {
        struct offset_entry *e = *link;
        if (e->partition == partition && strlen(e->topic) == topic_len && memcmp(e->topic, topic, topic_len) == 0) {
            *link = e->next;
            offset_entry_free(e);
            g->offset_count--;
            return;
        }
        link = &e->next;
    }
}

static void detach_pending_commits(struct group *g);

void group_offsets_free(struct group *g)
{
    detach_pending_commits(g);
    for (size_t i = 0; i < g->offset_buckets; i++) {
        struct offset_entry *e = g->offsets[i];
        while (e) {
            struct offset_entry *next = e->next;
            offset_entry_free(e);
            e = next;
        }
    }
    free(g->offsets);
    g->offsets = NULL;
    g->offset_buckets = 0;
    g->offset_count = 0;
}

/* ---- OffsetCommit ---- */

/*
 * A commit takes effect in memory when its record is durable, but a
 * DeleteGroups, an OffsetDelete or offset expiry takes effect at once and
 * writes its tombstones after the commit's record. To leave memory as a
 * replay of the log would (the commit first, then the tombstones), a
 * pending commit is registered with its group, as Kafka keeps
 * pendingOffsetCommits: deleting the group detaches it (it applies nothing),
 * deleting an offset drops that partition from it, and expiry leaves alone
 * the partitions it will write.
 */
struct commit_op {
    struct group *group; /* NULL once the group is gone */
    struct commit_op *next_pending;
    struct group_offset_commit_partition *parts;
    bool *dropped; /* per part: its offset was deleted while pending */
    int32_t count;
    int64_t now_ms;
    int64_t expire_ts;
    group_commit_fn done;
    void *arg;
};

static void detach_pending_commits(struct group *g)
{
    for (struct commit_op *op = g->pending_commits; op; op = op->next_pending)
        op->group = NULL;
    g->pending_commits = NULL;
}

static void unlink_pending_commit(struct commit_op *op)
{
    if (!op->group)
        return;
    struct commit_op **link = &op->group->pending_commits;
    while (*link && *link != op)
        link = &(*link)->next_pending;
    if (*link)
        *link = op->next_pending;
    op->group = NULL;
}

static bool part_matches(const struct group_offset_commit_partition *p, const char *topic, size_t topic_len,
                         int32_t partition)
{
    return p->partition == partition && (size_t)p->topic.len == topic_len && memcmp(p->topic.ptr, topic, topic_len) == 0;
}

/* True if a pending commit of g will write this partition's offset. */
static bool commit_pending_for(const struct group *g, const char *topic, size_t topic_len, int32_t partition)
{
    for (const struct commit_op *op = g->pending_commits; op; op = op->next_pending)
        for (int32_t i = 0; i < op->count; i++)
            if (!op->parts[i].error && !op->dropped[i] && part_matches(&op->parts[i], topic, topic_len, partition))
                return true;
    return false;
}

/* An OffsetDelete of this partition outranks the commits still pending. */
static void drop_pending_commits(struct group *g, const char *topic, size_t topic_len, int32_t partition)
{
    for (struct commit_op *op = g->pending_commits; op; op = op->next_pending)
        for (int32_t i = 0; i < op->count; i++)
            if (part_matches(&op->parts[i], topic, topic_len, partition))
                op->dropped[i] = true;
}

bool group_has_pending_commits(const struct group *g)
{
    return g->pending_commits != NULL;
}

/* Kafka turns storage failures into errors a consumer retries against the coordinator. */
static int16_t commit_error_for(int16_t storage_error)
{
    switch (storage_error) {
    case KAFKA_NOT_LEADER_OR_FOLLOWER: return KAFKA_NOT_COORDINATOR;
    case KAFKA_MESSAGE_TOO_LARGE:
    case KAFKA_RECORD_LIST_TOO_LARGE: return KAFKA_INVALID_COMMIT_OFFSET_SIZE;
    default: return KAFKA_COORDINATOR_NOT_AVAILABLE;
    }
}

static void commit_written(void *arg, int16_t error)
{
    struct commit_op *op = arg;
    if (error)
        error = commit_error_for(error);
    struct group *g = op->group; /* NULL: deleted meanwhile, its tombstones follow this record */
    unlink_pending_commit(op);
    for (int32_t i = 0; i < op->count; i++) {
        struct group_offset_commit_partition *p = &op->parts[i];
        if (p->error)
            continue;
        if (error) {
            p->error = error;
            continue;
        }
        if (!g || op->dropped[i])
            continue;
        struct kstr meta = kstr_is_null(p->metadata) ? kstr_from_cstr("") : p->metadata;
        if (group_offset_put(g, p->topic.ptr, (size_t)p->topic.len, p->partition, p->offset, p->leader_epoch,
                             meta.ptr, (size_t)meta.len, op->now_ms, op->expire_ts) < 0)
            p->error = KAFKA_UNKNOWN_SERVER_ERROR;
    }
    op->done(op->arg, 0);
    free(op->dropped);
    free(op);
}

static int16_t commit_check(struct group_coordinator *gc, const struct group_offset_commit_params *p,
                            int64_t now_ms, struct group **out)
{
    if (kstr_is_null(p->group_id) || p->group_id.len == 0)
        return KAFKA_INVALID_GROUP_ID;
    struct group *g = group_find(gc, p->group_id);
    *out = g;
    if (!g)
        return p->generation < 0 ? 0 : KAFKA_ILLEGAL_GENERATION;
    if (g->state == GROUP_DEAD)
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    if (p->generation < 0 && g->state == GROUP_EMPTY)
        return 0; /* offsets managed outside the group protocol */
    if (g->kind == GROUP_KIND_CONSUMER)
        return group_consumer_check_commit(g, p->member_id, p->generation);
    int16_t err = group_check_member(g, p->member_id, p->group_instance_id, p->generation);
    if (err)
        return err;
    if (g->state == GROUP_COMPLETING_REBALANCE)
        return KAFKA_REBALANCE_IN_PROGRESS;
    struct group_member *m = group_member_find(g, p->member_id);
    if (m && !m->join_done && !m->sync_done)
        m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
    return 0;
}

/* A group-level error for every partition that has none of its own yet (as
 * Kafka, a topic that does not exist stays UNKNOWN_TOPIC_OR_PARTITION). */
static void fail_all(struct group_offset_commit_partition *parts, int32_t count, int16_t error)
{
    for (int32_t i = 0; i < count; i++)
        if (!parts[i].error)
            parts[i].error = error;
}

void group_offset_commit(struct group_coordinator *gc, const struct group_offset_commit_params *p, int64_t now_ms,
                         group_commit_fn done, void *arg)
{
    struct group *g;
    int16_t err = commit_check(gc, p, now_ms, &g);
    if (err) {
        fail_all(p->partitions, p->partition_count, err);
        done(arg, err);
        return;
    }
    struct group_batch b;
    group_batch_init(&b, now_ms);
    int rc = 0;
    for (int32_t i = 0; i < p->partition_count && rc == 0; i++) {
        struct group_offset_commit_partition *part = &p->partitions[i];
        if (part->error)
            continue;
        if (!kstr_is_null(part->metadata) && part->metadata.len > gc->config.max_metadata_bytes) {
            part->error = KAFKA_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        struct offset_entry v = {
            .offset = part->offset,
            .leader_epoch = part->leader_epoch,
            .metadata = (char *)"",
            .commit_timestamp_ms = now_ms,
            .expire_timestamp_ms = p->expire_timestamp_ms,
        };
        char *meta = kstr_is_null(part->metadata) ? NULL : group_strdup_kstr(part->metadata);
        if (meta)
            v.metadata = meta;
        rc = group_batch_add_offset(&b, p->group_id.ptr, (size_t)p->group_id.len, part->topic.ptr,
                                    (size_t)part->topic.len, part->partition, &v);
        free(meta);
    }
    /* The group exists from the commit on, as in Kafka (a commit outside the group protocol creates it). */
    if (!g)
        g = group_find_or_create(gc, p->group_id, now_ms);
    struct commit_op *op = rc == 0 && g ? calloc(1, sizeof *op) : NULL;
    if (op)
        op->dropped = calloc((size_t)(p->partition_count > 0 ? p->partition_count : 1), sizeof *op->dropped);
    if (!op || !op->dropped) {
        if (op)
            free(op);
        group_batch_free(&b);
        fail_all(p->partitions, p->partition_count, KAFKA_UNKNOWN_SERVER_ERROR);
        done(arg, KAFKA_UNKNOWN_SERVER_ERROR);
        return;
    }
    op->group = g;
    op->next_pending = g->pending_commits;
    g->pending_commits = op;
    op->parts = p->partitions;
    op->count = p->partition_count;
    op->now_ms = now_ms;
    op->expire_ts = p->expire_timestamp_ms;
    op->done = done;
    op->arg = arg;
    int32_t partition = group_partition_for(p->group_id.ptr, (size_t)p->group_id.len, gc->config.offsets_partitions);
    group_batch_write(gc, &b, partition, commit_written, op);
}

/* ---- OffsetFetch ---- */

void group_offset_fetch(struct group_coordinator *gc, struct kstr group_id, struct kstr topic, int32_t partition,
                        struct group_offset *out)
{
    memset(out, 0, sizeof *out);
    out->partition = partition;
    out->offset = -1;
    out->leader_epoch = -1;
    struct group *g = group_find(gc, group_id);
    if (!g || kstr_is_null(topic))
        return;
    struct offset_entry *e = group_offset_find(g, topic.ptr, (size_t)topic.len, partition);
    if (!e)
        return;
    out->topic = e->topic;
    out->offset = e->offset;
    out->leader_epoch = e->leader_epoch;
    out->metadata = e->metadata;
}

static int compare_entries(const void *a, const void *b)
{
    const struct offset_entry *x = *(const struct offset_entry *const *)a;
    const struct offset_entry *y = *(const struct offset_entry *const *)b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

int32_t group_offset_fetch_all(struct group_coordinator *gc, struct kstr group_id, group_offset_visit_fn visit,
                               void *arg)
{
    struct group *g = group_find(gc, group_id);
    if (!g || g->offset_count == 0)
        return 0;
    struct offset_entry **all = malloc(g->offset_count * sizeof *all);
    if (!all)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < g->offset_buckets; i++)
        for (struct offset_entry *e = g->offsets[i]; e; e = e->next)
            all[n++] = e;
    qsort(all, n, sizeof *all, compare_entries);
    for (size_t i = 0; i < n; i++) {
        struct group_offset o = {
            .topic = all[i]->topic,
            .partition = all[i]->partition,
            .offset = all[i]->offset,
            .leader_epoch = all[i]->leader_epoch,
            .metadata = all[i]->metadata,
        };
        visit(arg, &o);
    }
    free(all);
    return (int32_t)n;
}

/* ---- OffsetDelete ---- */

/* Does a consumer-protocol subscription (ConsumerProtocolSubscription) list topic? */
static bool subscription_has(const uint8_t *meta, int32_t len, struct kstr topic)
{
    struct wire_reader r;
    wire_reader_init(&r, meta, len > 0 ? (size_t)len : 0);
    (void)wire_read_int16(&r); /* version; the topics array comes first in every version */
    int32_t n = wire_read_array_len(&r);
    if (r.error)
        return true; /* unreadable: be safe, treat as subscribed */
    for (int32_t i = 0; i < n; i++) {
        struct kstr t = wire_read_string(&r);
        if (r.error)
            return true;
        if (kstr_eq(t, topic))
            return true;
    }
    return false;
}

static bool group_subscribes(const struct group *g, struct kstr topic)
{
    for (const struct group_member *m = g->members; m; m = m->next) {
        const struct member_protocol *p = group_member_chosen(g, m);
        if (!p)
            return true;
        if (subscription_has(p->metadata, p->metadata_len, topic))
            return true;
    }
    return false;
}

int16_t group_offset_delete(struct group_coordinator *gc, struct kstr group_id,
                            struct group_offset_delete_partition *parts, int32_t count, int64_t now_ms,
                            group_commit_fn done, void *arg)
{
    if (kstr_is_null(group_id) || group_id.len == 0)
        return KAFKA_INVALID_GROUP_ID;
    struct group *g = group_find(gc, group_id);
    if (!g || g->state == GROUP_DEAD)
        return KAFKA_GROUP_ID_NOT_FOUND;
    bool consumer = g->protocol_type && strcmp(g->protocol_type, "consumer") == 0;
    if (g->state != GROUP_EMPTY && !consumer)
        return GROUP_ERROR_NON_EMPTY_GROUP;
    struct group_batch b;
    group_batch_init(&b, now_ms);
    for (int32_t i = 0; i < count; i++) {
        struct group_offset_delete_partition *p = &parts[i];
        if (p->error)
            continue;
        bool subscribed = g->kind == GROUP_KIND_CONSUMER ? group_consumer_subscribes(g, p->topic)
                                                         : group_subscribes(g, p->topic);
        if (g->state != GROUP_EMPTY && subscribed) {
            p->error = KAFKA_GROUP_SUBSCRIBED_TO_TOPIC;
            continue;
        }
        if (!group_offset_find(g, p->topic.ptr, (size_t)p->topic.len, p->partition))
            continue;
        if (group_batch_add_offset_tombstone(&b, g->id, strlen(g->id), p->topic.ptr, (size_t)p->topic.len,
                                             p->partition) != 0) {
            p->error = KAFKA_UNKNOWN_SERVER_ERROR;
            continue;
        }
        group_offset_remove(g, p->topic.ptr, (size_t)p->topic.len, p->partition);
        drop_pending_commits(g, p->topic.ptr, (size_t)p->topic.len, p->partition);
    }
    group_batch_write(gc, &b, group_partition(gc, g), done, arg);
    return 0;
}

/* ---- retention ---- */

/* Kafka's offsetExpirationCondition: the time an offset's retention counts
 * from, or false while the group's state keeps it. A live consumer group
 * keeps only the offsets of topics it subscribes to (KIP-496). */
static bool expiry_base(const struct group *g, const struct offset_entry *e, int64_t *base)
{
    struct kstr topic = kstr_from_cstr(e->topic);
    if (g->kind == GROUP_KIND_CONSUMER) {
        *base = e->commit_timestamp_ms;
        return !group_consumer_subscribes(g, topic);
    }
    if (!g->protocol_type) { /* a group that only stores offsets */
        *base = e->commit_timestamp_ms;
        return true;
    }
    if (g->state == GROUP_EMPTY) {
        *base = g->state_timestamp_ms;
        return true;
    }
    *base = e->commit_timestamp_ms;
    return g->state == GROUP_STABLE && strcmp(g->protocol_type, "consumer") == 0 && !group_subscribes(g, topic);
}

static bool offset_expired(const struct group_coordinator *gc, const struct group *g, const struct offset_entry *e,
                           int64_t now_ms)
{
    if (e->expire_timestamp_ms >= 0)
        return now_ms >= e->expire_timestamp_ms;
    int64_t base;
    return expiry_base(g, e, &base) && gc->config.offsets_retention_ms > 0 &&
           now_ms - base >= gc->config.offsets_retention_ms;
}

static void expire_group(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    struct group_batch b;
    group_batch_init(&b, now_ms);
    size_t expired = 0;
    for (size_t i = 0; i < g->offset_buckets; i++) {
        struct offset_entry **link = &g->offsets[i];
        while (*link) {
            struct offset_entry *e = *link;
            if (!offset_expired(gc, g, e, now_ms) ||
                commit_pending_for(g, e->topic, strlen(e->topic), e->partition) ||
                group_batch_add_offset_tombstone(&b, g->id, strlen(g->id), e->topic, strlen(e->topic),
                                                 e->partition) != 0) {
                link = &e->next;
                continue;
            }
            *link = e->next;
            offset_entry_free(e);
            g->offset_count--;
            expired++;
        }
    }
    int32_t partition = group_partition(gc, g);
    bool drop_group = g->state == GROUP_EMPTY && g->offset_count == 0 && g->member_count == 0 &&
                      g->pending == NULL && g->pending_commits == NULL;
    if (drop_group && group_batch_add_metadata_tombstone(&b, g->id, strlen(g->id)) != 0)
        drop_group = false;
    if (expired)
        log_info("group", "expired %zu offsets of group %s", expired, g->id);
    if (drop_group) {
        log_info("group", "group %s is empty with no offsets: removed", g->id);
        group_remove(gc, g);
    }
    group_batch_write(gc, &b, partition, NULL, NULL);
}

void group_offsets_expire(struct group_coordinator *gc, int64_t now_ms)
{
    /* Collect first: expire_group may remove the group from its chain. */
    size_t n = gc->group_count;
    if (n == 0)
        return;
    struct group **all = malloc(n * sizeof *all);
    if (!all)
        return;
    size_t k = 0;
    for (size_t i = 0; i < gc->bucket_count; i++)
        for (struct group *g = gc->buckets[i]; g && k < n; g = g->next)
            all[k++] = g;
    for (size_t i = 0; i < k; i++)
        expire_group(gc, all[i], now_ms);
    free(all);
}
