/*
 * fetch_session.c - the fetch session cache (KIP-227).
 *
 * Sessions are kept in an array of max.incremental.fetch.session.cache.slots
 * (1000 by default, as in Kafka). When it is full, a new session evicts one
 * as Kafka's FetchSessionCache does: first a stale one (unused for
 * eddy.fetch.session.eviction.ms, 120 s), else the least valuable (fewest
 * partitions) of those created longer ago than that, if it is smaller than
 * the new one; otherwise the fetch is answered without a session (id 0), so
 * that consumers do not evict each other's sessions on every fetch. Kafka
 * also ranks followers' sessions above consumers'; Eddy has no followers.
 * Each holds copies of its partitions' names, fetch positions and the last
 * high watermark / log start offset sent, which decide whether a partition
 * has news for an incremental answer. A session's partitions are read in
 * its order, and each incremental answer moves the partitions it carried to
 * the end (as Kafka does), so that when max_bytes runs out every partition
 * still gets its turn. Sessionless and full fetches keep the request's order.
 *
 * As in Kafka, where a request's partitions are a map: a partition named
 * twice is answered once, at its first place, with its last copy's fetch
 * offset; an incremental request's partitions are applied before its
 * forgotten ones (fetched and forgotten at once: gone); session ids are
 * random positive int32s, so that one client cannot guess another's.
 */
#include "server/fetch_session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/broker.h"
#include "server/fetch_encode.h"
#include "server/partition_keys.h"
#include "server/request.h"
#include "util/logger.h"

/* Partitions one session may hold. Lookups in a session are linear, so this
 * bounds the loop's work per fetch; a consumer with more partitions on this
 * broker fetches without a session (full requests), which KIP-227 allows. */
#define SESSION_MAX_PARTITIONS 2000

struct session_partition {
    char *topic; /* NULL when keyed by topic id */
    struct kuuid topic_id;
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t current_leader_epoch;
    int64_t sent_high_watermark;
    int64_t sent_log_start;
    bool answered; /* scratch: carried by the answer being noted */
};

struct fetch_session {
    int32_t id;
    int32_t next_epoch;
    int64_t created_ms;
    int64_t last_used_ms;
    bool by_id;
    int32_t count, cap;
    struct session_partition *parts;
};

struct fetch_session_cache {
    struct fetch_session **slots;
    int32_t slot_count;
    uint64_t fallback_random; /* only if getrandom() fails */
};

static struct fetch_session_cache *cache_of(struct broker *b)
{
    if (b->fetch_sessions)
        return b->fetch_sessions;
    int32_t slots = (int32_t)b->config->max_incremental_fetch_session_cache_slots;
    struct fetch_session_cache *c = calloc(1, sizeof *c);
    if (c && slots > 0 && !(c->slots = calloc((size_t)slots, sizeof *c->slots))) {
        free(c);
        return NULL;
    }
    if (c) {
        c->slot_count = slots;
        c->fallback_random = (uint64_t)clock_wall_ms();
    }
    b->fetch_sessions = c;
    return c;
}

static void session_free(struct fetch_session *s)
{
    if (!s)
        return;
    for (int32_t i = 0; i < s->count; i++)
        free(s->parts[i].topic);
    free(s->parts);
    free(s);
}

void fetch_sessions_free(struct broker *b)
{
    if (!b->fetch_sessions)
        return;
    for (int32_t i = 0; i < b->fetch_sessions->slot_count; i++)
        session_free(b->fetch_sessions->slots[i]);
    free(b->fetch_sessions->slots);
    free(b->fetch_sessions);
    b->fetch_sessions = NULL;
}

static struct fetch_session **find_slot(struct fetch_session_cache *c, int32_t id)
{
    for (int32_t i = 0; i < c->slot_count; i++)
        if (c->slots[i] && c->slots[i]->id == id)
            return &c->slots[i];
    return NULL;
}

static void evict(struct fetch_session **slot)
{
    log_debug("fetch", "fetch session %d evicted", (*slot)->id);
    session_free(*slot);
    *slot = NULL;
}

/* The least recently used session's slot if it has been unused for longer
 * than the eviction time, else NULL. */
static struct fetch_session **stale_slot(struct fetch_session_cache *c, int64_t now_ms, int64_t eviction_ms)
{
    struct fetch_session **lru = NULL;
    for (int32_t i = 0; i < c->slot_count; i++)
        if (!lru || c->slots[i]->last_used_ms < (*lru)->last_used_ms)
            lru = &c->slots[i];
    return lru && now_ms - (*lru)->last_used_ms > eviction_ms ? lru : NULL;
}

/* Of the sessions created longer ago than the eviction time, the one with
 * the fewest partitions (then the lowest id), if a new session of new_size
 * partitions is worth more; else NULL. Young sessions are never taken, so a
 * consumer keeps the session it just opened. */
static struct fetch_session **less_valuable_slot(struct fetch_session_cache *c, int64_t now_ms,
                                                 int64_t eviction_ms, int64_t new_size)
{
    struct fetch_session **least = NULL;
    for (int32_t i = 0; i < c->slot_count; i++) {
        const struct fetch_session *s = c->slots[i];
        if (now_ms - s->created_ms <= eviction_ms)
            continue;
        if (!least || s->count < (*least)->count || (s->count == (*least)->count && s->id < (*least)->id))
            least = &c->slots[i];
    }
    return least && new_size > (*least)->count ? least : NULL;
}

/* A slot for a new session of new_size partitions: a free one, or one
 * emptied by evicting a stale or less valuable session; NULL when there is
 * none (the fetch then goes without a session) or sessions are off. */
static struct fetch_session **free_slot(struct broker *b, struct fetch_session_cache *c, int64_t new_size)
{
    for (int32_t i = 0; i < c->slot_count; i++)
        if (!c->slots[i])
            return &c->slots[i];
    int64_t now_ms = reactor_now_ms(b->reactor), eviction_ms = b->config->fetch_session_eviction_ms;
    struct fetch_session **victim = stale_slot(c, now_ms, eviction_ms);
    if (!victim)
        victim = less_valuable_slot(c, now_ms, eviction_ms, new_size);
    if (victim)
        evict(victim);
    return victim;
}

static bool same_partition(const struct session_partition *sp, bool by_id, struct kstr topic, struct kuuid id,
                           int32_t partition)
{
    if (sp->partition != partition)
        return false;
    if (by_id)
        return kuuid_eq(sp->topic_id, id);
    return kstr_eq_cstr(topic, sp->topic);
}

static struct session_partition *session_find(struct fetch_session *s, struct kstr topic, struct kuuid id,
                                              int32_t partition)
{
    for (int32_t i = 0; i < s->count; i++)
        if (same_partition(&s->parts[i], s->by_id, topic, id, partition))
            return &s->parts[i];
    return NULL;
}

static struct session_partition *session_add(struct fetch_session *s, struct kstr topic, struct kuuid id,
                                             int32_t partition)
{
    if (s->count >= SESSION_MAX_PARTITIONS)
        return NULL;
    if (s->count == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 16;
        struct session_partition *grown = realloc(s->parts, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->parts = grown;
        s->cap = cap;
    }
    struct session_partition *sp = &s->parts[s->count];
    memset(sp, 0, sizeof *sp);
    if (!s->by_id) {
        sp->topic = strndup(topic.ptr ? topic.ptr : "", topic.len > 0 ? (size_t)topic.len : 0);
        if (!sp->topic)
            return NULL;
    }
    sp->topic_id = id;
    sp->partition = partition;
    sp->sent_high_watermark = sp->sent_log_start = -2; /* never sent: always news */
    s->count++;
    return sp;
}

/* Add the request's partitions to the session, or update their fetch
 * positions; a partition named twice takes the last position given. */
static int add_partitions(struct fetch_session *s, const struct fetch_request *m)
{
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct fetch_request_fetch_topic *t = &m->topics[i];
        for (int32_t j = 0; j < t->partitions_count; j++) {
            const struct fetch_request_fetch_partition *p = &t->partitions[j];
            struct session_partition *sp = session_find(s, t->topic, t->topic_id, p->partition);
            if (!sp)
                sp = session_add(s, t->topic, t->topic_id, p->partition);
            if (!sp)
                return -1;
            sp->fetch_offset = p->fetch_offset;
            sp->max_bytes = p->partition_max_bytes;
            sp->current_leader_epoch = p->current_leader_epoch;
        }
    }
    return 0;
}

/* Remove the request's forgotten partitions, after add_partitions as in
 * Kafka: a partition both fetched and forgotten in one request is gone. */
static void forget_partitions(struct fetch_session *s, const struct fetch_request *m)
{
    for (int32_t i = 0; i < m->forgotten_topics_data_count; i++) {
        const struct fetch_request_forgotten_topic *f = &m->forgotten_topics_data[i];
        for (int32_t j = 0; j < f->partitions_count; j++) {
            struct session_partition *sp = session_find(s, f->topic, f->topic_id, f->partitions[j]);
            if (!sp)
                continue;
            free(sp->topic);
            int32_t at = (int32_t)(sp - s->parts);
            memmove(sp, sp + 1, (size_t)(s->count - at - 1) * sizeof *sp);
            s->count--;
        }
    }
}

/* The plan's own copy of a session's topic name (request memory). */
static int copy_topic(struct request *req, const char *topic, struct kstr *out)
{
    size_t len = strlen(topic);
    char *copy = request_alloc(req, len + 1);
    if (!copy)
        return -1;
    memcpy(copy, topic, len + 1);
    *out = kstr_from_cstr(copy);
    return 0;
}

static bool same_topic(const struct fetch_session *s, const struct session_partition *a,
                       const struct session_partition *b)
{
    return s->by_id ? kuuid_eq(a->topic_id, b->topic_id) : strcmp(a->topic, b->topic) == 0;
}

/* A session's partitions into the plan in the session's order, which decides
 * who gets the response's bytes first: each run of consecutive partitions of
 * one topic is one plan topic (a topic may come back later in the list, as
 * in Kafka's responses once the order has rotated). */
static int plan_from_session(struct request *req, struct fetch_session *s, struct fetch_plan *plan)
{
    size_t n = (size_t)s->count;
    struct fetch_plan_partition *all = request_alloc(req, n * sizeof *all + 1);
    plan->topics = request_alloc(req, n * sizeof *plan->topics + 1);
    if (!all || !plan->topics)
        return -1;
    plan->topic_count = 0;
    const struct session_partition *previous = NULL;
    size_t at = 0;
    for (int32_t i = 0; i < s->count; i++) {
        const struct session_partition *sp = &s->parts[i];
        if (!previous || !same_topic(s, previous, sp))
            plan->topics[plan->topic_count++] = (struct fetch_plan_topic){0, all + at};
        previous = sp;
        struct fetch_plan_partition *pp = &all[at++];
        plan->topics[plan->topic_count - 1].partition_count++;
        pp->topic = kstr_null();
        if (!s->by_id && copy_topic(req, sp->topic, &pp->topic) < 0)
            return -1;
        pp->topic_id = sp->topic_id;
        pp->partition = sp->partition;
        pp->fetch_offset = sp->fetch_offset;
        pp->max_bytes = sp->max_bytes;
        pp->current_leader_epoch = sp->current_leader_epoch;
    }
    return 0;
}

int32_t fetch_plan_partition_count(const struct fetch_plan *plan)
{
    int32_t n = 0;
    for (int32_t i = 0; i < plan->topic_count; i++)
        n += plan->topics[i].partition_count;
    return n;
}

static int64_t request_partition_count(const struct fetch_request *m)
{
    int64_t n = 0;
    for (int32_t i = 0; i < m->topics_count; i++)
        n += m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0;
    return n;
}

/* For each position of the request, the fetch parameters it is answered
 * with, or NULL if it is a later copy of a partition already named: one
 * answer per partition, at its first place, with the parameters of its last
 * copy (Kafka keeps the request's partitions in a map). Sorted, so a hostile
 * request of many partitions costs n log n. NULL: no memory. */
static const struct fetch_request_fetch_partition **resolve_duplicates(struct request *req,
                                                                       const struct fetch_request *m, int32_t n)
{
    bool by_id = req->api_version >= 13;
    struct partition_key *keys = request_alloc(req, (size_t)n * sizeof *keys + 1);
    const struct fetch_request_fetch_partition **flat = request_alloc(req, (size_t)n * sizeof *flat + 1);
    const struct fetch_request_fetch_partition **params = request_alloc(req, (size_t)n * sizeof *params + 1);
    if (!keys || !flat || !params)
        return NULL;
    int32_t at = 0;
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct fetch_request_fetch_topic *t = &m->topics[i];
        for (int32_t j = 0; j < t->partitions_count; j++, at++) {
            keys[at] = (struct partition_key){by_id ? kstr_null() : t->topic,
                                              by_id ? t->topic_id : (struct kuuid){{0}}, t->partitions[j].partition,
                                              at};
            flat[at] = &t->partitions[j];
        }
    }
    partition_keys_sort(keys, n);
    for (int32_t first = 0, last; first < n; first = last + 1) {
        for (last = first; last + 1 < n && partition_keys_same(&keys[first], &keys[last + 1]); last++)
            params[keys[last + 1].position] = NULL;
        params[keys[first].position] = flat[keys[last].position];
    }
    return params;
}

/* The request's partitions in its order, each partition once. */
static int plan_from_request(struct request *req, const struct fetch_request *m, struct fetch_plan *plan)
{
    bool by_id = req->api_version >= 13;
    int32_t topics = m->topics_count > 0 ? m->topics_count : 0;
    const struct fetch_request_fetch_partition **params =
        resolve_duplicates(req, m, (int32_t)request_partition_count(m));
    plan->topics = request_alloc(req, (size_t)topics * sizeof *plan->topics + 1);
    if (!params || !plan->topics)
        return -1;
    plan->topic_count = 0;
    int32_t position = 0;
    for (int32_t i = 0; i < topics; i++) {
        const struct fetch_request_fetch_topic *t = &m->topics[i];
        int32_t count = t->partitions_count > 0 ? t->partitions_count : 0;
        struct fetch_plan_topic *pt = &plan->topics[plan->topic_count];
        pt->partition_count = 0;
        pt->partitions = request_alloc(req, (size_t)count * sizeof *pt->partitions + 1);
        if (!pt->partitions)
            return -1;
        for (int32_t j = 0; j < count; j++) {
            const struct fetch_request_fetch_partition *p = params[position++];
            if (!p)
                continue;
            pt->partitions[pt->partition_count++] = (struct fetch_plan_partition){
                by_id ? kstr_null() : t->topic, t->topic_id, p->partition, p->fetch_offset,
                p->partition_max_bytes, p->current_leader_epoch};
        }
        if (pt->partition_count > 0)
            plan->topic_count++;
    }
    return 0;
}

/* Kafka's are random (not guessable by another client), positive, unique. */
static int32_t new_session_id(struct fetch_session_cache *c)
{
    for (;;) {
        uint32_t r;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
            c->fallback_random = c->fallback_random * 6364136223846793005ULL + 1442695040888963407ULL;
            r = (uint32_t)(c->fallback_random >> 33);
        }
        int32_t id = (int32_t)(r & 0x7fffffff);
        if (id != 0 && !find_slot(c, id))
            return id;
    }
}

static struct fetch_session *new_session(struct broker *b, struct request *req, int64_t size)
{
    struct fetch_session_cache *c = cache_of(b);
    struct fetch_session **slot = c ? free_slot(b, c, size) : NULL;
    struct fetch_session *s = slot ? calloc(1, sizeof *s) : NULL;
    if (!s)
        return NULL;
    s->id = new_session_id(c);
    s->next_epoch = 1;
    s->by_id = req->api_version >= 13;
    s->created_ms = s->last_used_ms = reactor_now_ms(b->reactor);
    *slot = s;
    return s;
}

static void close_session(struct broker *b, int32_t id)
{
    struct fetch_session_cache *c = cache_of(b);
    struct fetch_session **slot = c ? find_slot(c, id) : NULL;
    if (slot) {
        session_free(*slot);
        *slot = NULL;
    }
}

int16_t fetch_session_plan(struct broker *b, struct request *req, struct fetch_plan *plan)
{
    const struct fetch_request *m = req->body;
    memset(plan, 0, sizeof *plan);
    bool sessions = req->api_version >= 7 && m->replica_id < 0;
    int32_t id = sessions ? m->session_id : 0, epoch = sessions ? m->session_epoch : -1;

    if (epoch == -1 || epoch == 0) { /* a full fetch; -1 closes, 0 (re)opens */
        if (id != 0)
            close_session(b, id);
        if (plan_from_request(req, m, plan) < 0)
            return KAFKA_UNKNOWN_SERVER_ERROR;
        int32_t size = fetch_plan_partition_count(plan);
        if (epoch == 0 && size <= SESSION_MAX_PARTITIONS) {
            /* A full fetch's forgotten topics mean nothing (as in Kafka). */
            struct fetch_session *s = new_session(b, req, size);
            if (s && add_partitions(s, m) == 0)
                plan->session_id = s->id;
            else if (s)
                close_session(b, s->id);
        }
        return KAFKA_NONE;
    }
    struct fetch_session_cache *c = cache_of(b);
    struct fetch_session **slot = c ? find_slot(c, id) : NULL;
    if (!slot)
        return KAFKA_FETCH_SESSION_ID_NOT_FOUND;
    struct fetch_session *s = *slot;
    if (s->by_id != (req->api_version >= 13))
        return KAFKA_FETCH_SESSION_TOPIC_ID_ERROR; /* names and ids do not mix in one session, as in Kafka */
    if (epoch != s->next_epoch)
        return KAFKA_INVALID_FETCH_SESSION_EPOCH;
    s->next_epoch = epoch == INT32_MAX ? 1 : epoch + 1;
    s->last_used_ms = reactor_now_ms(b->reactor);
    if (add_partitions(s, m) < 0) {
        /* Grown past SESSION_MAX_PARTITIONS (or out of memory): the client
         * starts over with a full fetch, which then goes without a session. */
        close_session(b, id);
        return KAFKA_FETCH_SESSION_ID_NOT_FOUND;
    }
    forget_partitions(s, m);
    if (s->count == 0) {
        /* Nothing left to fetch: Kafka closes the session and answers as a
         * sessionless fetch (id 0) of the request's own partitions. */
        close_session(b, id);
        return plan_from_request(req, m, plan) < 0 ? KAFKA_UNKNOWN_SERVER_ERROR : KAFKA_NONE;
    }
    plan->session_id = s->id;
    plan->incremental = true;
    return plan_from_session(req, s, plan) < 0 ? KAFKA_UNKNOWN_SERVER_ERROR : KAFKA_NONE;
}

/* Remember what a partition's answer told the client; true if it was news
 * (then it is marked answered, for rotate_answered_to_end). */
static bool note_partition(struct fetch_session *s, const struct fetch_plan_partition *pp,
                           const struct fetch_out_partition *op)
{
    struct session_partition *sp = session_find(s, pp->topic, pp->topic_id, pp->partition);
    bool news = op->data.total_bytes > 0 || op->error_code != 0;
    if (!sp)
        return true;
    if (sp->sent_high_watermark != op->high_watermark || sp->sent_log_start != op->log_start_offset)
        news = true;
    sp->sent_high_watermark = op->high_watermark;
    sp->sent_log_start = op->log_start_offset;
    /* After an error the client must hear about the partition again once
     * the error clears, even if its high watermark did not move (Kafka's
     * CachedPartition forgets it the same way). */
    if (op->error_code != 0)
        sp->sent_high_watermark = -1;
    sp->answered = news;
    return news;
}

/* Move the partitions an incremental answer carried to the end of the
 * session's order, keeping the relative order on both sides (as Kafka's
 * IncrementalFetchContext does): when max_bytes runs out before the end of
 * the list, the partitions that got nothing are read first next time, so no
 * partition starves behind busier ones. */
static void rotate_answered_to_end(struct fetch_session *s)
{
    struct session_partition *rotated = malloc((size_t)s->count * sizeof *rotated + 1);
    if (!rotated)
        return; /* the order stays as it was: still correct, only less fair */
    int32_t at = 0;
    for (int32_t i = 0; i < s->count; i++)
        if (!s->parts[i].answered)
            rotated[at++] = s->parts[i];
    for (int32_t i = 0; i < s->count; i++)
        if (s->parts[i].answered)
            rotated[at++] = s->parts[i];
    memcpy(s->parts, rotated, (size_t)s->count * sizeof *rotated);
    free(rotated);
}

void fetch_session_note_response(struct broker *b, const struct fetch_plan *plan, struct fetch_out *out)
{
    /* Not cache_of(): a fetch answered at shutdown must not recreate the cache. */
    struct fetch_session **slot = plan->session_id != 0 && b->fetch_sessions
                                      ? find_slot(b->fetch_sessions, plan->session_id)
                                      : NULL;
    if (!slot)
        return; /* sessionless, or the session went while the fetch waited: a full answer */
    struct fetch_session *s = *slot;
    for (int32_t i = 0; i < s->count; i++)
        s->parts[i].answered = false;
    for (int32_t i = 0; i < out->topic_count; i++) {
        struct fetch_out_topic *t = &out->topics[i];
        int32_t keep = 0;
        for (int32_t j = 0; j < t->partition_count; j++) {
            bool news = note_partition(s, &plan->topics[i].partitions[j], &t->partitions[j]);
            if (news || !plan->incremental)
                t->partitions[keep++] = t->partitions[j];
            else
                log_read_result_release(&t->partitions[j].data);
        }
        t->partition_count = keep;
    }
    if (plan->incremental)
        rotate_answered_to_end(s);
    int32_t keep_topics = 0;
    for (int32_t i = 0; i < out->topic_count; i++)
        if (out->topics[i].partition_count > 0 || !plan->incremental)
            out->topics[keep_topics++] = out->topics[i];
    out->topic_count = keep_topics;
}
