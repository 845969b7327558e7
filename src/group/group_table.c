/*
 * group_table.c - the coordinator object: its table of groups, their life
 * cycle (creation, states, removal), the periodic tick, and the
 * administrative views (ListGroups, DescribeGroups, DeleteGroups).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "group/group_internal.h"
#include "protocol/errors.h"
#include "util/logger.h"

#define INITIAL_BUCKETS 64

uint64_t group_hash_bytes(const void *p, size_t len, uint64_t seed)
{
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Next UTF-16 code unit(s) of a UTF-8 string; invalid bytes count as themselves. */
static size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > len) {
        *cp = 0xFFFD; /* what Java's decoder substitutes */
        return 1;
    }
    uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

int32_t group_java_string_hash(const char *s, size_t len)
{
    uint32_t h = 0;
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        i += utf8_decode(p + i, len - i, &cp);
        if (cp >= 0x10000) { /* a surrogate pair in Java's UTF-16 */
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

int32_t group_partition_for(const char *group_id, size_t len, int32_t partitions)
{
    if (partitions <= 0)
        return 0;
    int32_t h = group_java_string_hash(group_id, len);
    int32_t abs_h = h == INT32_MIN ? 0 : (h < 0 ? -h : h); /* Kafka's Utils.abs */
    return abs_h % partitions;
}

int32_t group_partition(const struct group_coordinator *gc, const struct group *g)
{
    return group_partition_for(g->id, strlen(g->id), gc->config.offsets_partitions);
}

char *group_strdup_kstr(struct kstr s)
{
    if (kstr_is_null(s))
        return NULL;
    char *out = malloc((size_t)s.len + 1);
    if (!out)
        return NULL;
    if (s.len > 0)
        memcpy(out, s.ptr, (size_t)s.len);
    out[s.len] = '\0';
    return out;
}

const char *group_state_name(enum group_state state)
{
    switch (state) {
    case GROUP_EMPTY: return "Empty";
    case GROUP_PREPARING_REBALANCE: return "PreparingRebalance";
    case GROUP_COMPLETING_REBALANCE: return "CompletingRebalance";
    case GROUP_STABLE: return "Stable";
    case GROUP_DEAD: return "Dead";
    }
    return "Unknown";
}

void group_set_state(struct group *g, enum group_state state, int64_t now_ms)
{
    if (g->state == state)
        return;
    g->state = state;
    g->state_timestamp_ms = now_ms;
}

int group_coordinator_create(const struct group_coordinator_config *config,
                             const struct group_storage *storage, struct group_coordinator **out)
{
    struct group_coordinator *gc = calloc(1, sizeof *gc);
    if (!gc)
        return -ENOMEM;
    gc->config = *config;
    if (gc->config.offsets_partitions <= 0)
        gc->config.offsets_partitions = 1;
    if (gc->config.max_metadata_bytes <= 0)
        gc->config.max_metadata_bytes = 4096;
    gc->storage = *storage;
    gc->bucket_count = INITIAL_BUCKETS;
    gc->buckets = calloc(gc->bucket_count, sizeof *gc->buckets);
    if (!gc->buckets) {
        free(gc);
        return -ENOMEM;
    }
    *out = gc;
    return 0;
}

static void group_free(struct group *g)
{
    struct group_member *m = g->members;
    while (m) {
        struct group_member *next = m->next;
        group_member_free(m);
        m = next;
    }
    struct pending_member *p = g->pending;
    while (p) {
        struct pending_member *next = p->next;
        free(p->id);
        free(p);
        p = next;
    }
    group_offsets_free(g);
    group_consumer_free(g->consumer);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    free(g);
}

void group_coordinator_destroy(struct group_coordinator *gc)
{
    if (!gc)
        return;
    for (size_t i = 0; i < gc->bucket_count; i++) {
        struct group *g = gc->buckets[i];
        while (g) {
            struct group *next = g->next;
            group_members_fail_waiting(g, KAFKA_COORDINATOR_NOT_AVAILABLE);
            group_free(g);
            g = next;
        }
    }
    free(gc->buckets);
    free(gc);
}

static size_t bucket_of(const struct group_coordinator *gc, const char *id, size_t len)
{
    return (size_t)(group_hash_bytes(id, len, 0) % gc->bucket_count);
}

struct group *group_find(struct group_coordinator *gc, struct kstr id)
{
    if (kstr_is_null(id))
        return NULL;
    size_t len = (size_t)id.len;
    for (struct group *g = gc->buckets[bucket_of(gc, id.ptr, len)]; g; g = g->next)
        if (strlen(g->id) == len && memcmp(g->id, id.ptr, len) == 0)
            return g;
    return NULL;
}

static void grow_table(struct group_coordinator *gc)
{
    size_t n = gc->bucket_count * 2;
    struct group **fresh = calloc(n, sizeof *fresh);
    if (!fresh)
        return; /* keep the longer chains */
    struct group **old = gc->buckets;
    size_t old_n = gc->bucket_count;
    gc->buckets = fresh;
    gc->bucket_count = n;
    for (size_t i = 0; i < old_n; i++) {
        struct group *g = old[i];
        while (g) {
            struct group *next = g->next;
            size_t b = bucket_of(gc, g->id, strlen(g->id));
            g->next = fresh[b];
            fresh[b] = g;
            g = next;
        }
    }
    free(old);
}

struct group *group_find_or_create(struct group_coordinator *gc, struct kstr id, int64_t now_ms)
{
    struct group *g = group_find(gc, id);
    if (g)
        return g;
    if (gc->group_count >= gc->bucket_count)
        grow_table(gc);
    g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->id = group_strdup_kstr(id);
    if (!g->id) {
        free(g);
        return NULL;
    }
    g->state = GROUP_EMPTY;
    g->state_timestamp_ms = now_ms;
    g->rebalance_deadline_ms = -1;
    size_t b = bucket_of(gc, g->id, strlen(g->id));
    g->next = gc->buckets[b];
    gc->buckets[b] = g;
    gc->group_count++;
    return g;
}

void group_remove(struct group_coordinator *gc, struct group *g)
{
    struct group **link = &gc->buckets[bucket_of(gc, g->id, strlen(g->id))];
    while (*link && *link != g)
        link = &(*link)->next;
    if (!*link)
        return;
    *link = g->next;
    gc->group_count--;
    group_members_fail_waiting(g, KAFKA_COORDINATOR_NOT_AVAILABLE);
    group_free(g);
}

void group_coordinator_tick(struct group_coordinator *gc, int64_t now_ms)
{
    for (size_t i = 0; i < gc->bucket_count; i++)
        for (struct group *g = gc->buckets[i]; g; g = g->next) {
            if (g->kind == GROUP_KIND_CONSUMER)
                group_consumer_tick(gc, g, now_ms);
            else
                group_membership_tick(gc, g, now_ms);
        }
    if (now_ms >= gc->next_retention_check_ms) {
        int64_t every = gc->config.retention_check_interval_ms > 0 ? gc->config.retention_check_interval_ms
                                                                   : 600000;
        gc->next_retention_check_ms = now_ms + every;
        group_offsets_expire(gc, now_ms);
    }
}

void group_coordinator_loaded(struct group_coordinator *gc, int64_t now_ms)
{
    for (size_t i = 0; i < gc->bucket_count; i++)
        for (struct group *g = gc->buckets[i]; g; g = g->next) {
            if (!g->loaded)
                continue;
            if (g->kind == GROUP_KIND_CONSUMER) {
                group_consumer_loaded(gc, g, now_ms);
                continue;
            }
            g->loaded = false;
            for (struct group_member *m = g->members; m; m = m->next)
                m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
        }
}

void group_list(struct group_coordinator *gc, group_list_fn visit, void *arg)
{
    for (size_t i = 0; i < gc->bucket_count; i++)
        for (struct group *g = gc->buckets[i]; g; g = g->next) {
            if (g->state == GROUP_DEAD)
                continue;
            bool consumer = g->kind == GROUP_KIND_CONSUMER;
            struct group_listing l = {
                .group_id = g->id,
                .protocol_type = g->protocol_type ? g->protocol_type : "",
                .state = consumer ? group_consumer_state(g) : group_state_name(g->state),
                .type = consumer ? "consumer" : "classic",
            };
            visit(arg, &l);
        }
}

const char *group_state_name_for(struct group_coordinator *gc, struct kstr group_id)
{
    struct group *g = group_find(gc, group_id);
    if (g && g->kind == GROUP_KIND_CONSUMER)
        return group_consumer_state(g);
    return group_state_name(g ? g->state : GROUP_DEAD);
}

void group_describe(struct group_coordinator *gc, struct kstr group_id, group_describe_fn done, void *arg)
{
    struct group_description d = {.state = "Dead", .protocol_type = "", .protocol_name = ""};
    struct group *g = group_find(gc, group_id);
    /* A KIP-848 group is not a classic one: Kafka's describeGroups answers it
     * as an unknown group (Dead, no members; ConsumerGroupDescribe describes it). */
    if (!g || g->kind == GROUP_KIND_CONSUMER) {
        done(arg, &d);
        return;
    }
    bool stable = g->state == GROUP_STABLE;
    d.state = group_state_name(g->state);
    d.protocol_type = g->protocol_type ? g->protocol_type : "";
    d.protocol_name = stable && g->protocol_name ? g->protocol_name : "";
    struct group_member_description *members = NULL;
    if (g->member_count > 0) {
        members = calloc((size_t)g->member_count, sizeof *members);
        if (!members) {
            d.error = KAFKA_UNKNOWN_SERVER_ERROR;
            done(arg, &d);
            return;
        }
    }
    int32_t n = 0;
    for (struct group_member *m = g->members; m && members; m = m->next) {
        struct group_member_description *md = &members[n++];
        md->member_id = m->id;
        md->group_instance_id = m->instance_id;
        md->client_id = m->client_id;
        md->client_host = m->client_host;
        if (stable) {
            const struct member_protocol *p = group_member_chosen(g, m);
            md->metadata = p ? p->metadata : NULL;
            md->metadata_len = p ? p->metadata_len : 0;
            md->assignment = m->assignment;
            md->assignment_len = m->assignment_len;
        }
    }
    d.members = members;
    d.member_count = n;
    done(arg, &d);
    free(members);
}

int16_t group_delete(struct group_coordinator *gc, struct kstr group_id, int64_t now_ms,
                     group_commit_fn done, void *arg)
{
    if (kstr_is_null(group_id) || group_id.len == 0)
        return KAFKA_INVALID_GROUP_ID;
    struct group *g = group_find(gc, group_id);
    if (!g || g->state == GROUP_DEAD)
        return KAFKA_GROUP_ID_NOT_FOUND;
    if (g->state != GROUP_EMPTY)
        return GROUP_ERROR_NON_EMPTY_GROUP;
    struct group_batch b;
    group_batch_init(&b, now_ms);
    int rc = 0;
    for (size_t i = 0; i < g->offset_buckets && rc == 0; i++)
        for (struct offset_entry *e = g->offsets[i]; e && rc == 0; e = e->next)
            rc = group_batch_add_offset_tombstone(&b, g->id, strlen(g->id), e->topic, strlen(e->topic),
                                                  e->partition);
    if (rc == 0)
        rc = group_batch_add_metadata_tombstone(&b, g->id, strlen(g->id));
    if (rc == 0 && g->kind == GROUP_KIND_CONSUMER)
        rc = group_batch_add_consumer_group_tombstone(&b, g->id);
    if (rc != 0) {
        group_batch_free(&b);
        return KAFKA_UNKNOWN_SERVER_ERROR;
    }
    int32_t partition = group_partition(gc, g);
    log_info("group", "deleting group %s (%zu committed offsets)", g->id, g->offset_count);
    group_remove(gc, g);
    group_batch_write(gc, &b, partition, done, arg);
    return 0;
}
