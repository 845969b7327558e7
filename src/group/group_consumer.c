/*
 * group_consumer.c - KIP-848 consumer groups: ConsumerGroupHeartbeat with
 * server-side assignment, and ConsumerGroupDescribe.
 *
 * The group epoch moves whenever membership, a subscription or the
 * subscribed topics' metadata change; the assignor (group_assignor.c) then
 * computes a target assignment for that epoch. Each member converges on its
 * target through its own heartbeats, without a group-wide barrier:
 *   1. partitions it holds that are no longer in its target are revoked:
 *      the response leaves them out and its epoch stays until the member
 *      reports (in TopicPartitions) that it no longer owns them, or its
 *      rebalance timeout expires and it is fenced;
 *   2. then it takes the target's partitions that no other member still
 *      holds or is revoking, and its epoch becomes the target's; partitions
 *      still held elsewhere follow on a later heartbeat once released.
 * Members that stop heartbeating for group.consumer.session.timeout.ms are
 * removed. Membership is kept in memory only: after a restart members get
 * UNKNOWN_MEMBER_ID and rejoin with epoch 0 (committed offsets are durable
 * as for classic groups).
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/metadata_image.h"
#include "group/group_internal.h"
#include "protocol/errors.h"
#include "util/logger.h"

#define DEFAULT_ASSIGNOR "uniform"

void group_coordinator_set_topic_lookup(struct group_coordinator *gc, const struct group_topic_lookup *lookup)
{
    gc->topics = *lookup;
}

void group_consumer_member_free(struct consumer_member *m)
{
    free(m->id);
    free(m->instance_id);
    free(m->rack_id);
    free(m->client_id);
    free(m->client_host);
    for (int32_t i = 0; i < m->topic_count; i++)
        free(m->topics[i]);
    free(m->topics);
    for (int32_t i = 0; i < m->named_count; i++)
        free(m->named[i]);
    free(m->named);
    free(m->regex);
    free(m->assignor);
    tp_set_free(&m->assigned);
    tp_set_free(&m->revoking);
    tp_set_free(&m->target);
    free(m);
}

void group_consumer_free(struct consumer_group *cg)
{
    if (!cg)
        return;
    struct consumer_member *m = cg->members;
    while (m) {
        struct consumer_member *next = m->next;
        group_consumer_member_free(m);
        m = next;
    }
    free(cg);
}

static struct consumer_member *member_find(struct consumer_group *cg, struct kstr id)
{
    for (struct consumer_member *m = cg->members; m; m = m->next)
        if (kstr_eq_cstr(id, m->id))
            return m;
    return NULL;
}

static struct consumer_member *member_find_static(struct consumer_group *cg, struct kstr instance)
{
    if (kstr_is_null(instance))
        return NULL;
    for (struct consumer_member *m = cg->members; m; m = m->next)
        if (m->instance_id && kstr_eq_cstr(instance, m->instance_id))
            return m;
    return NULL;
}

static void unlink_member(struct consumer_group *cg, struct consumer_member *m)
{
    for (struct consumer_member **link = &cg->members; *link; link = &(*link)->next) {
        if (*link == m) {
            *link = m->next;
            cg->member_count--;
            return;
        }
    }
}

void group_consumer_forget_member(struct group *g, struct kstr member_id)
{
    struct consumer_group *cg = g->consumer;
    struct consumer_member *m = cg ? member_find(cg, member_id) : NULL;
    if (!m)
        return;
    unlink_member(cg, m);
    group_consumer_member_free(m);
    if (cg->member_count == 0)
        g->state = GROUP_EMPTY;
}

/* Remove m, bump the group epoch and record both. */
static void member_remove(struct group_coordinator *gc, struct group *g, struct consumer_member *m, int64_t now_ms)
{
    struct consumer_group *cg = g->consumer;
    struct group_batch b;
    group_batch_init(&b, now_ms);
    bool ok = group_batch_add_consumer_member_tombstones(&b, g->id, m->id) == 0;
    unlink_member(cg, m);
    group_consumer_member_free(m);
    cg->group_epoch++;
    group_set_state(g, cg->member_count ? GROUP_STABLE : GROUP_EMPTY, now_ms);
    if (ok && group_batch_add_consumer_group(&b, g) == 0)
        cg->persisted_epoch = cg->group_epoch;
    group_batch_write(gc, &b, group_partition(gc, g), NULL, NULL);
}

const char *group_consumer_state(const struct group *g)
{
    const struct consumer_group *cg = g->consumer;
    if (!cg || cg->member_count == 0)
        return "Empty";
    if (cg->group_epoch > cg->assignment_epoch)
        return "Assigning";
    for (const struct consumer_member *m = cg->members; m; m = m->next)
        if (m->epoch != cg->assignment_epoch || m->revoking.count > 0 || m->assigned.count != m->target.count)
            return "Reconciling";
    return "Stable";
}

int16_t group_consumer_check_commit(struct group *g, struct kstr member_id, int32_t epoch)
{
    struct consumer_member *m = g->consumer ? member_find(g->consumer, member_id) : NULL;
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    if (epoch != m->epoch)
        return KAFKA_STALE_MEMBER_EPOCH;
    return 0;
}

/* A classic group that holds only offsets becomes a consumer group. */
int16_t group_consumer_adopt(struct group *g)
{
    if (g->kind == GROUP_KIND_CONSUMER)
        return 0;
    if (g->state != GROUP_EMPTY || g->member_count > 0 || g->pending)
        return KAFKA_GROUP_ID_NOT_FOUND; /* Kafka: "is not a consumer group" */
    g->consumer = calloc(1, sizeof *g->consumer);
    char *type = strdup("consumer");
    if (!g->consumer || !type) {
        free(g->consumer);
        g->consumer = NULL;
        free(type);
        return KAFKA_UNKNOWN_SERVER_ERROR;
    }
    g->kind = GROUP_KIND_CONSUMER;
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    g->protocol_type = type;
    g->protocol_name = NULL;
    g->leader_id = NULL;
    return 0;
}

/* ---- subscriptions and the target assignment ---- */

static int compare_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An anchored POSIX extended regex over a whole topic name. */
static int regex_compile(const char *pattern, size_t len, regex_t *re)
{
    char *anchored = malloc(len + 5);
    if (!anchored)
        return -1;
    snprintf(anchored, len + 5, "^(%.*s)$", (int)len, pattern);
    int rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    return rc == 0 ? 0 : -1;
}

static bool regex_valid(struct kstr pattern)
{
    regex_t re;
    if (regex_compile(pattern.ptr, (size_t)pattern.len, &re) < 0)
        return false;
    regfree(&re);
    return true;
}

static char **copy_names(const struct kstr *names, int32_t count, int32_t *out_count)
{
    char **fresh = calloc(count > 0 ? (size_t)count : 1, sizeof *fresh);
    if (!fresh)
        return NULL;
    int32_t n = 0;
    for (int32_t i = 0; i < count; i++) {
        if (kstr_is_null(names[i]))
            continue;
        fresh[n] = group_strdup_kstr(names[i]);
        if (!fresh[n]) {
            for (int32_t k = 0; k < n; k++)
                free(fresh[k]);
            free(fresh);
            return NULL;
        }
        n++;
    }
    *out_count = n;
    return fresh;
}

struct name_list {
    char **names;
    int32_t count;
    int32_t cap;
    regex_t *re;
    bool failed;
};

static void name_list_add(struct name_list *l, const char *name)
{
    for (int32_t i = 0; i < l->count; i++)
        if (strcmp(l->names[i], name) == 0)
            return;
    if (l->count == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 16;
        char **names = realloc(l->names, (size_t)cap * sizeof *names);
        if (!names) {
            l->failed = true;
            return;
        }
        l->names = names;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        l->failed = true;
        return;
    }
    l->names[l->count++] = copy;
}

static void visit_regex(void *arg, const char *name)
{
    struct name_list *l = arg;
    if (strncmp(name, "__", 2) == 0)
        return; /* internal topics are never matched */
    if (regexec(l->re, name, 0, NULL, 0) == 0)
        name_list_add(l, name);
}

/*
 * Recompute m->topics from its named topics and its regex (matched against
 * the topics that exist now). 1 if the list changed, 0 if not, -1 on memory
 * failure.
 */
static int refresh_topics(struct group_coordinator *gc, struct consumer_member *m)
{
    struct name_list l = {0};
    for (int32_t i = 0; i < m->named_count; i++)
        name_list_add(&l, m->named[i]);
    regex_t re;
    if (m->regex && gc->topics.each && regex_compile(m->regex, strlen(m->regex), &re) == 0) {
        l.re = &re;
        gc->topics.each(gc->topics.ctx, visit_regex, &l);
        regfree(&re);
    }
    if (l.failed) {
        for (int32_t i = 0; i < l.count; i++)
            free(l.names[i]);
        free(l.names);
        return -1;
    }
    if (l.count > 1)
        qsort(l.names, (size_t)l.count, sizeof *l.names, compare_cstr);
    bool same = l.count == m->topic_count;
    for (int32_t i = 0; same && i < l.count; i++)
        same = strcmp(l.names[i], m->topics[i]) == 0;
    if (same) {
        for (int32_t i = 0; i < l.count; i++)
            free(l.names[i]);
        free(l.names);
        return 0;
    }
    for (int32_t i = 0; i < m->topic_count; i++)
        free(m->topics[i]);
    free(m->topics);
    m->topics = l.names;
    m->topic_count = l.count;
    return 1;
}

/* Take the request's subscription (names and/or regex, each only when given). -1 on memory failure. */
static int set_subscription(struct consumer_member *m, const struct group_consumer_heartbeat_params *p)
{
    if (p->subscribed_count >= 0) {
        int32_t n = 0;
        char **names = copy_names(p->subscribed, p->subscribed_count, &n);
        if (!names)
            return -1;
        for (int32_t i = 0; i < m->named_count; i++)
            free(m->named[i]);
        free(m->named);
        m->named = names;
        m->named_count = n;
    }
    if (!kstr_is_null(p->subscribed_regex)) {
        free(m->regex);
        m->regex = p->subscribed_regex.len > 0 ? group_strdup_kstr(p->subscribed_regex) : NULL;
        if (p->subscribed_regex.len > 0 && !m->regex)
            return -1;
    }
    return 0;
}

/* Distinct subscribed topic names of the group (pointers into members), sorted. */
static const char **distinct_topics(const struct consumer_group *cg, int32_t *count)
{
    int32_t total = 0;
    for (const struct consumer_member *m = cg->members; m; m = m->next)
        total += m->topic_count;
    const char **all = calloc(total > 0 ? (size_t)total : 1, sizeof *all);
    if (!all)
        return NULL;
    int32_t n = 0;
    for (const struct consumer_member *m = cg->members; m; m = m->next)
        for (int32_t i = 0; i < m->topic_count; i++)
            all[n++] = m->topics[i];
    qsort(all, (size_t)n, sizeof *all, compare_cstr);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (k == 0 || strcmp(all[k - 1], all[i]) != 0)
            all[k++] = all[i];
    *count = k;
    return all;
}

static bool lookup_topic(struct group_coordinator *gc, const char *name, struct kuuid *id, int32_t *partitions)
{
    return gc->topics.by_name && gc->topics.by_name(gc->topics.ctx, name, strlen(name), id, partitions);
}

static uint64_t metadata_hash(struct group_coordinator *gc, const struct consumer_group *cg)
{
    int32_t n = 0;
    const char **names = distinct_topics(cg, &n);
    uint64_t h = 0;
    for (int32_t i = 0; names && i < n; i++) {
        struct kuuid id;
        int32_t partitions = 0;
        if (!lookup_topic(gc, names[i], &id, &partitions))
            continue;
        h = group_hash_bytes(id.bytes, 16, h) ^ (uint64_t)(uint32_t)partitions;
        h = group_hash_bytes(names[i], strlen(names[i]), h);
    }
    free(names);
    return h;
}

static int compare_members(const void *a, const void *b)
{
    const struct consumer_member *x = *(const struct consumer_member *const *)a;
    const struct consumer_member *y = *(const struct consumer_member *const *)b;
    return strcmp(x->id, y->id);
}

static int compute_target(struct group_coordinator *gc, struct group *g)
{
    struct consumer_group *cg = g->consumer;
    int32_t name_count = 0;
    const char **names = distinct_topics(cg, &name_count);
    struct assignor_topic *topics = calloc((size_t)name_count + 1, sizeof *topics);
    int32_t *topic_of_name = calloc((size_t)name_count + 1, sizeof *topic_of_name);
    struct consumer_member **sorted = calloc((size_t)cg->member_count + 1, sizeof *sorted);
    struct assignor_member *am = calloc((size_t)cg->member_count + 1, sizeof *am);
    int32_t *indexes = NULL;
    int rc = -1;
    if (!names || !topics || !topic_of_name || !sorted || !am)
        goto out;
    int32_t topic_count = 0;
    for (int32_t i = 0; i < name_count; i++) {
        topic_of_name[i] = -1;
        if (lookup_topic(gc, names[i], &topics[topic_count].id, &topics[topic_count].partitions))
            topic_of_name[i] = topic_count++;
    }
    int32_t total_subs = 0, n = 0;
    for (struct consumer_member *m = cg->members; m; m = m->next) {
        sorted[n++] = m;
        total_subs += m->topic_count;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, compare_members);
    indexes = calloc((size_t)total_subs + 1, sizeof *indexes);
    if (!indexes)
        goto out;
    const char *assignor = NULL;
    int32_t used = 0;
    for (int32_t i = 0; i < n; i++) {
        struct consumer_member *m = sorted[i];
        if (m->assignor && !assignor)
            assignor = m->assignor;
        am[i].topics = &indexes[used];
        for (int32_t t = 0; t < m->topic_count; t++) {
            const char **hit = bsearch(&m->topics[t], names, (size_t)name_count, sizeof *names, compare_cstr);
            int32_t idx = hit ? topic_of_name[hit - names] : -1;
            if (idx >= 0)
                indexes[used + am[i].topic_count++] = idx;
        }
        used += am[i].topic_count;
        am[i].current = &m->assigned;
        am[i].target = &m->target;
    }
    if (!assignor)
        assignor = DEFAULT_ASSIGNOR;
    rc = group_assign(assignor, topics, topic_count, am, n);
    if (rc == 0) {
        cg->assignment_epoch = cg->group_epoch;
        log_info("group", "computed a %s assignment of group %s at epoch %d for %d members over %d topics",
                 assignor, g->id, cg->group_epoch, n, topic_count);
    }
out:
    free(indexes);
    free(am);
    free(sorted);
    free(topic_of_name);
    free(topics);
    free(names);
    return rc;
}

/* ---- reconciliation ---- */

static bool held_by_other(const struct consumer_group *cg, const struct consumer_member *self, const struct tp *t)
{
    for (const struct consumer_member *m = cg->members; m; m = m->next)
        if (m != self && (tp_set_has(&m->assigned, t->topic_id, t->partition) ||
                          tp_set_has(&m->revoking, t->topic_id, t->partition)))
            return true;
    return false;
}

/* The member reports what it owns: revocations it no longer holds are done. */
static void confirm_revocations(struct consumer_member *m, const struct group_topic_partitions *owned, int32_t count)
{
    for (int32_t i = 0; i < m->revoking.count;) {
        const struct tp *t = &m->revoking.items[i];
        bool still = false;
        for (int32_t j = 0; j < count && !still; j++) {
            if (!kuuid_eq(owned[j].topic_id, t->topic_id))
                continue;
            for (int32_t k = 0; k < owned[j].count && !still; k++)
                still = owned[j].partitions[k] == t->partition;
        }
        if (still)
            i++;
        else
            tp_set_remove_at(&m->revoking, i);
    }
}

static int reconcile(struct group_coordinator *gc, struct consumer_group *cg, struct consumer_member *m,
                     int64_t now_ms)
{
    (void)gc;
    for (int32_t i = 0; i < m->assigned.count;) {
        const struct tp *t = &m->assigned.items[i];
        if (tp_set_has(&m->target, t->topic_id, t->partition)) {
            i++;
            continue;
        }
        if (tp_set_add(&m->revoking, t->topic_id, t->partition) < 0)
            return -1;
        tp_set_remove_at(&m->assigned, i);
    }
    if (m->revoking.count > 0) {
        if (m->revoke_deadline_ms < 0)
            m->revoke_deadline_ms = now_ms + m->rebalance_timeout_ms;
        return 0; /* keeps its epoch until it lets go */
    }
    m->revoke_deadline_ms = -1;
    for (int32_t i = 0; i < m->target.count; i++) {
        const struct tp *t = &m->target.items[i];
        if (tp_set_has(&m->assigned, t->topic_id, t->partition) || held_by_other(cg, m, t))
            continue;
        if (tp_set_add(&m->assigned, t->topic_id, t->partition) < 0)
            return -1;
    }
    tp_set_sort(&m->assigned);
    if (m->epoch != cg->assignment_epoch) {
        m->previous_epoch = m->epoch;
        m->epoch = cg->assignment_epoch;
    }
    return 0;
}

static uint64_t set_hash(const struct tp_set *s)
{
    uint64_t h = (uint64_t)s->count;
    for (int32_t i = 0; i < s->count; i++) {
        h = group_hash_bytes(s->items[i].topic_id.bytes, 16, h);
        h = group_hash_bytes(&s->items[i].partition, sizeof s->items[i].partition, h);
    }
    return h;
}

/* Group a sorted set by topic. *parts and *ints are malloc'd (free both). Returns the topic count or -1. */
static int32_t to_topic_partitions(struct group_coordinator *gc, const struct tp_set *s,
                                   struct group_topic_partitions **parts, int32_t **ints)
{
    struct tp_set copy = {0};
    for (int32_t i = 0; i < s->count; i++)
        if (tp_set_add(&copy, s->items[i].topic_id, s->items[i].partition) < 0) {
            tp_set_free(&copy);
            return -1;
        }
    tp_set_sort(&copy);
    *parts = calloc((size_t)copy.count + 1, sizeof **parts);
    *ints = calloc((size_t)copy.count + 1, sizeof **ints);
    if (!*parts || !*ints) {
        free(*parts);
        free(*ints);
        tp_set_free(&copy);
        return -1;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < copy.count; i++) {
        (*ints)[i] = copy.items[i].partition;
        if (n == 0 || !kuuid_eq((*parts)[n - 1].topic_id, copy.items[i].topic_id)) {
            struct group_topic_partitions *p = &(*parts)[n++];
            p->topic_id = copy.items[i].topic_id;
            p->topic_name = gc->topics.name_of ? gc->topics.name_of(gc->topics.ctx, p->topic_id) : NULL;
            p->partitions = &(*ints)[i];
        }
        (*parts)[n - 1].count++;
    }
    tp_set_free(&copy);
    return n;
}

/* ---- persistence ---- */

static uint64_t member_state_hash(const struct consumer_member *m)
{
    uint64_t h = set_hash(&m->assigned) ^ (set_hash(&m->revoking) * 31);
    h = group_hash_bytes(&m->epoch, sizeof m->epoch, h);
    h = group_hash_bytes(&m->previous_epoch, sizeof m->previous_epoch, h);
    h = group_hash_bytes(&m->rebalance_timeout_ms, sizeof m->rebalance_timeout_ms, h);
    for (int32_t i = 0; i < m->named_count; i++)
        h = group_hash_bytes(m->named[i], strlen(m->named[i]) + 1, h);
    if (m->regex)
        h = group_hash_bytes(m->regex, strlen(m->regex), h ^ 1);
    if (m->assignor)
        h = group_hash_bytes(m->assignor, strlen(m->assignor), h ^ 2);
    if (m->instance_id)
        h = group_hash_bytes(m->instance_id, strlen(m->instance_id), h ^ 3);
    return h | 1; /* never 0, the value of a member never written */
}

/* Write what changed in this heartbeat: the group epoch, the member's record. */
static void persist(struct group_coordinator *gc, struct group *g, struct consumer_member *m, int64_t now_ms)
{
    struct consumer_group *cg = g->consumer;
    uint64_t h = member_state_hash(m);
    bool group_changed = cg->group_epoch != cg->persisted_epoch;
    if (!group_changed && h == m->persisted_hash)
        return;
    struct group_batch b;
    group_batch_init(&b, now_ms);
    int rc = group_changed ? group_batch_add_consumer_group(&b, g) : 0;
    if (rc == 0 && h != m->persisted_hash)
        rc = group_batch_add_consumer_member(&b, g, m);
    if (rc != 0) {
        group_batch_free(&b);
        return;
    }
    cg->persisted_epoch = cg->group_epoch;
    m->persisted_hash = h;
    group_batch_write(gc, &b, group_partition(gc, g), NULL, NULL);
}

void group_consumer_loaded(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    struct consumer_group *cg = g->consumer;
    g->loaded = false;
    if (!cg)
        return;
    for (struct consumer_member *m = cg->members; m; m = m->next) {
        refresh_topics(gc, m);
        m->session_deadline_ms = now_ms + gc->config.consumer_session_timeout_ms;
        m->revoke_deadline_ms = -1;
        m->persisted_hash = member_state_hash(m);
        m->sent_any = false;
    }
    /* The target is not stored: one new epoch makes the next heartbeat recompute it. */
    cg->metadata_hash = metadata_hash(gc, cg);
    cg->assignment_epoch = cg->group_epoch;
    cg->persisted_epoch = cg->group_epoch;
    if (cg->member_count > 0)
        cg->group_epoch++;
    g->state = cg->member_count ? GROUP_STABLE : GROUP_EMPTY;
}

/* ---- ConsumerGroupHeartbeat ---- */

static void answer(group_consumer_heartbeat_fn done, void *arg, int16_t error, const char *message,
                   const char *member_id, int32_t epoch)
{
    struct group_consumer_heartbeat_result r = {
        .error = error, .error_message = message, .member_id = member_id, .member_epoch = epoch};
    done(arg, &r);
}

static char *new_member_id(void)
{
    char id[23];
    uuid_to_base64(uuid_random(), id);
    return strdup(id);
}

/* A member joining (epoch 0); NULL with *error set if it cannot. */
static struct consumer_member *member_join(struct group_coordinator *gc, struct group *g, const struct group_consumer_heartbeat_params *p,
                                           int64_t now_ms, int16_t *error)
{
    struct consumer_group *cg = g->consumer;
    struct consumer_member *m = member_find_static(cg, p->instance_id);
    *error = KAFKA_UNKNOWN_SERVER_ERROR;
    if (m && !m->left_temporarily && !kstr_eq_cstr(p->member_id, m->id)) {
        /* As Kafka: the instance id is still in use; its holder must leave (epoch -2) or time out first. */
        *error = KAFKA_UNRELEASED_INSTANCE_ID;
        return NULL;
    }
    char *id = p->member_id.len > 0 ? group_strdup_kstr(p->member_id) : new_member_id();
    if (!id)
        return NULL;
    if (m) { /* a static member comes back: it takes over its predecessor's assignment */
        log_info("group", "static member %s of group %s rejoined as %s", m->instance_id, g->id, id);
        free(m->id);
        m->id = id;
        m->left_temporarily = false;
        return m;
    }
    struct consumer_member *old = member_find(cg, p->member_id);
    if (old)
        member_remove(gc, g, old, now_ms); /* epoch 0 with a known id: start over */
    m = calloc(1, sizeof *m);
    if (!m) {
        free(id);
        return NULL;
    }
    m->id = id;
    m->instance_id = group_strdup_kstr(p->instance_id);
    m->rack_id = group_strdup_kstr(p->rack_id);
    m->client_id = group_strdup_kstr(kstr_is_null(p->client_id) ? kstr_from_cstr("") : p->client_id);
    m->client_host = group_strdup_kstr(kstr_is_null(p->client_host) ? kstr_from_cstr("") : p->client_host);
    m->revoke_deadline_ms = -1;
    m->rebalance_timeout_ms = 300000;
    if (!m->client_id || !m->client_host) {
        group_consumer_member_free(m);
        return NULL;
    }
    struct consumer_member **tail = &cg->members;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    cg->member_count++;
    group_set_state(g, GROUP_STABLE, now_ms); /* the caller bumps the group epoch */
    log_info("group", "member %s joined consumer group %s (group epoch %d)", m->id, g->id, cg->group_epoch);
    return m;
}

static bool is_empty(struct kstr s)
{
    return !kstr_is_null(s) && s.len == 0;
}

/* Which member the request is for: v1 clients always name themselves, v0 ones once they have joined. */
static const char *invalid_ids(const struct group_consumer_heartbeat_params *p)
{
    bool needs_member_id = p->api_version >= 1 || p->member_epoch > 0 || p->member_epoch == -1 ||
                           p->member_epoch == -2; /* the static leave finds its member by id here */
    if (needs_member_id && (kstr_is_null(p->member_id) || p->member_id.len == 0))
        return "MemberId can't be empty.";
    if (kstr_is_null(p->group_id) || p->group_id.len == 0)
        return "GroupId can't be empty.";
    if (is_empty(p->instance_id))
        return "InstanceId can't be empty.";
    if (is_empty(p->rack_id))
        return "RackId can't be empty.";
    return NULL;
}

/* A (re-)join (epoch 0) states everything afresh and owns nothing yet; -2 is a static member's leave. */
static const char *invalid_for_epoch(const struct group_consumer_heartbeat_params *p)
{
    if (p->member_epoch == 0) {
        if (p->rebalance_timeout_ms == -1)
            return "RebalanceTimeoutMs must be provided in first request.";
        if (p->owned_count != 0) /* null (-1) or some partitions */
            return "TopicPartitions must be empty when (re-)joining.";
        if (p->subscribed_count < 0 && kstr_is_null(p->subscribed_regex))
            return "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.";
        return NULL;
    }
    if (p->member_epoch == -2 && kstr_is_null(p->instance_id))
        return "InstanceId can't be null.";
    if (p->member_epoch < -2)
        return "MemberEpoch is invalid.";
    return NULL;
}

/* Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid, in its order, then the regex Eddy compiles. */
static int16_t validate(const struct group_consumer_heartbeat_params *p, const char **message)
{
    *message = invalid_ids(p);
    if (!*message)
        *message = invalid_for_epoch(p);
    if (*message)
        return KAFKA_INVALID_REQUEST;
    if (!kstr_is_null(p->server_assignor) && !group_assignor_known(p->server_assignor)) {
        *message = "ServerAssignor is not one of: uniform, range.";
        return KAFKA_UNSUPPORTED_ASSIGNOR;
    }
    if (!kstr_is_null(p->subscribed_regex) && p->subscribed_regex.len > 0 && !regex_valid(p->subscribed_regex)) {
        *message = "SubscribedTopicRegex is not a valid regular expression.";
        return KAFKA_INVALID_REQUEST;
    }
    return 0;
}

/* Kafka's rule: the current epoch, or the previous one if what the member owns is still assigned to it. */
static bool epoch_acceptable(const struct consumer_member *m, const struct group_consumer_heartbeat_params *p)
{
    if (p->member_epoch == m->epoch)
        return true;
    if (p->member_epoch != m->previous_epoch || p->member_epoch > m->epoch || p->owned_count < 0)
        return false;
    for (int32_t i = 0; i < p->owned_count; i++)
        for (int32_t k = 0; k < p->owned[i].count; k++)
            if (!tp_set_has(&m->assigned, p->owned[i].topic_id, p->owned[i].partitions[k]))
                return false;
    return true;
}

static void respond_member(struct group_coordinator *gc, struct consumer_member *m,
                           const struct group_consumer_heartbeat_params *p, group_consumer_heartbeat_fn done,
                           void *arg)
{
    struct group_consumer_heartbeat_result r = {
        .member_id = m->id,
        .member_epoch = m->epoch,
        .heartbeat_interval_ms = gc->config.consumer_heartbeat_interval_ms,
    };
    uint64_t h = set_hash(&m->assigned);
    struct group_topic_partitions *parts = NULL;
    int32_t *ints = NULL;
    if (!m->sent_any || h != m->sent_hash || p->member_epoch == 0 || p->owned_count >= 0) {
        int32_t n = to_topic_partitions(gc, &m->assigned, &parts, &ints);
        if (n >= 0) {
            r.has_assignment = true;
            r.assignment = parts;
            r.assignment_count = n;
            m->sent_any = true;
            m->sent_hash = h;
        }
    }
    done(arg, &r);
    free(parts);
    free(ints);
}

void group_consumer_heartbeat(struct group_coordinator *gc, const struct group_consumer_heartbeat_params *p,
                              int64_t now_ms, group_consumer_heartbeat_fn done, void *arg)
{
    const char *message = NULL;
    int16_t err = validate(p, &message);
    if (err) {
        answer(done, arg, err, message, NULL, 0);
        return;
    }
    struct group *g = group_find(gc, p->group_id);
    if (!g && p->member_epoch != 0) {
        answer(done, arg, KAFKA_UNKNOWN_MEMBER_ID, NULL, NULL, 0);
        return;
    }
    if (!g)
        g = group_find_or_create(gc, p->group_id, now_ms);
    if (!g) {
        answer(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, NULL, NULL, 0);
        return;
    }
    err = group_consumer_adopt(g);
    if (err) {
        answer(done, arg, err, err == KAFKA_GROUP_ID_NOT_FOUND ? "The group is not a consumer group." : NULL,
               NULL, 0);
        return;
    }
    struct consumer_group *cg = g->consumer;
    struct consumer_member *m;
    if (p->member_epoch < 0) {
        m = member_find(cg, p->member_id);
        if (!m) {
            answer(done, arg, KAFKA_UNKNOWN_MEMBER_ID, NULL, NULL, 0);
            return;
        }
        if (p->member_epoch == -2 && m->instance_id) {
            /* A static member going away for a while: its partitions wait for it until its session ends. */
            log_info("group", "static member %s of consumer group %s left temporarily", m->instance_id, g->id);
            m->left_temporarily = true;
            answer(done, arg, 0, NULL, m->id, -2);
            return;
        }
        log_info("group", "member %s left consumer group %s", m->id, g->id);
        char *id = strdup(m->id);
        member_remove(gc, g, m, now_ms);
        answer(done, arg, 0, NULL, id ? id : "", p->member_epoch);
        free(id);
        return;
    }
    if (p->member_epoch == 0) {
        int16_t error;
        m = member_join(gc, g, p, now_ms, &error);
        if (!m) {
            answer(done, arg, error,
                   error == KAFKA_UNRELEASED_INSTANCE_ID ? "The instance id is still used by another member." : NULL,
                   NULL, 0);
            return;
        }
    } else {
        m = member_find(cg, p->member_id);
        if (!m) {
            answer(done, arg, KAFKA_UNKNOWN_MEMBER_ID, NULL, NULL, 0);
            return;
        }
        if (!epoch_acceptable(m, p)) {
            answer(done, arg, KAFKA_FENCED_MEMBER_EPOCH, "The consumer group member has a stale member epoch.",
                   NULL, 0);
            return;
        }
    }
    m->session_deadline_ms = now_ms + gc->config.consumer_session_timeout_ms;
    if (p->rebalance_timeout_ms > 0)
        m->rebalance_timeout_ms = p->rebalance_timeout_ms;
    if (!kstr_is_null(p->server_assignor)) {
        free(m->assignor);
        m->assignor = group_strdup_kstr(p->server_assignor);
    }
    bool bump = p->member_epoch == 0 && m->epoch == 0; /* a new member */
    int changed = set_subscription(m, p);
    if (changed == 0)
        changed = refresh_topics(gc, m); /* named topics plus what the regex matches today */
    if (changed < 0) {
        answer(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, NULL, NULL, 0);
        return;
    }
    bump |= changed == 1;
    if (p->owned_count >= 0)
        confirm_revocations(m, p->owned, p->owned_count);
    uint64_t h = metadata_hash(gc, cg);
    if (h != cg->metadata_hash) {
        cg->metadata_hash = h;
        bump = true;
    }
    if (bump)
        cg->group_epoch++; /* one new epoch per heartbeat, whatever changed */
    if (cg->group_epoch > cg->assignment_epoch && compute_target(gc, g) < 0) {
        answer(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, NULL, NULL, 0);
        return;
    }
    if (reconcile(gc, cg, m, now_ms) < 0) {
        answer(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, NULL, NULL, 0);
        return;
    }
    persist(gc, g, m, now_ms);
    respond_member(gc, m, p, done, arg);
}

void group_consumer_tick(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    struct consumer_group *cg = g->consumer;
    if (!cg)
        return;
    struct consumer_member *m = cg->members;
    while (m) {
        struct consumer_member *next = m->next;
        bool expired = now_ms >= m->session_deadline_ms;
        bool stuck = m->revoke_deadline_ms >= 0 && now_ms >= m->revoke_deadline_ms;
        if (expired || stuck) {
            log_info("group", "member %s of consumer group %s %s: removed", m->id, g->id,
                     expired ? "missed its session timeout" : "did not revoke its partitions in time");
            member_remove(gc, g, m, now_ms);
        }
        m = next;
    }
}

/* ---- ConsumerGroupDescribe ---- */

void group_consumer_describe(struct group_coordinator *gc, struct kstr group_id, group_consumer_describe_fn done,
                             void *arg)
{
    struct group_consumer_description d = {.state = "Dead", .assignor = DEFAULT_ASSIGNOR};
    struct group *g = group_find(gc, group_id);
    if (!g || g->kind != GROUP_KIND_CONSUMER || !g->consumer) {
        d.error = KAFKA_GROUP_ID_NOT_FOUND;
        d.error_message = g ? "The group is not a consumer group." : "The group does not exist.";
        done(arg, &d);
        return;
    }
    struct consumer_group *cg = g->consumer;
    d.state = group_consumer_state(g);
    d.group_epoch = cg->group_epoch;
    d.assignment_epoch = cg->assignment_epoch;
    for (struct consumer_member *m = cg->members; m; m = m->next)
        if (m->assignor) {
            d.assignor = m->assignor;
            break;
        }
    int32_t n = cg->member_count;
    struct group_consumer_member_description *members = calloc((size_t)n + 1, sizeof *members);
    void **owned = calloc((size_t)n * 4 + 1, sizeof *owned); /* per member: 2 part arrays, 2 int arrays */
    if (!members || !owned) {
        free(members);
        free(owned);
        d.error = KAFKA_UNKNOWN_SERVER_ERROR;
        done(arg, &d);
        return;
    }
    int32_t i = 0;
    for (struct consumer_member *m = cg->members; m && i < n; m = m->next, i++) {
        struct group_consumer_member_description *md = &members[i];
        md->member_id = m->id;
        md->instance_id = m->instance_id;
        md->rack_id = m->rack_id;
        md->member_epoch = m->epoch;
        md->client_id = m->client_id;
        md->client_host = m->client_host;
        md->subscribed = (const char *const *)m->topics;
        md->subscribed_count = m->topic_count;
        struct group_topic_partitions *a = NULL, *t = NULL;
        int32_t *ai = NULL, *ti = NULL;
        md->assignment_count = to_topic_partitions(gc, &m->assigned, &a, &ai);
        md->target_count = to_topic_partitions(gc, &m->target, &t, &ti);
        if (md->assignment_count < 0)
            md->assignment_count = 0;
        if (md->target_count < 0)
            md->target_count = 0;
        md->assignment = a;
        md->target = t;
        owned[4 * i] = a;
        owned[4 * i + 1] = ai;
        owned[4 * i + 2] = t;
        owned[4 * i + 3] = ti;
    }
    d.members = members;
    d.member_count = i;
    done(arg, &d);
    for (int32_t k = 0; k < 4 * i; k++)
        free(owned[k]);
    free(owned);
    free(members);
}

bool group_consumer_subscribes(const struct group *g, struct kstr topic)
{
    if (!g->consumer)
        return false;
    for (const struct consumer_member *m = g->consumer->members; m; m = m->next)
        for (int32_t i = 0; i < m->topic_count; i++)
            if (kstr_eq_cstr(topic, m->topics[i]))
                return true;
    return false;
}
