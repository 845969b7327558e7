/*
 * group_offsets.c - handlers of the committed-offset APIs: OffsetCommit
 * (key 8), OffsetFetch (9) and OffsetDelete (47).
 *
 * OffsetCommit answers only once the commit's record in __consumer_offsets
 * is durable (the coordinator calls back then). Partitions of topics that do
 * not exist are refused with UNKNOWN_TOPIC_OR_PARTITION before anything is
 * written, as Kafka does.
 */
#include <string.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/groups.h"
#include "server/request.h"

static bool partition_exists(struct broker *b, struct kstr topic, int32_t partition)
{
    if (kstr_is_null(topic))
        return false;
    const struct topic_state *t = metadata_topic_by_name(&b->image, topic.ptr, (size_t)topic.len);
    return t && partition >= 0 && partition < t->partition_count;
}

/* ---- OffsetCommit ---- */

struct commit_ctx {
    struct request *req;
    struct group_offset_commit_partition *parts;
    int32_t count;
};

static void commit_answered(void *arg, int16_t error)
{
    (void)error; /* already copied into every partition */
    struct commit_ctx *c = arg;
    struct request *req = c->req;
    const struct offset_commit_request *m = req->body;
    struct offset_commit_response resp;
    offset_commit_response_init(&resp);
    int32_t topics = m->topics_count > 0 ? m->topics_count : 0;
    resp.topics = request_alloc(req, (size_t)(topics + 1) * sizeof *resp.topics);
    resp.topics_count = resp.topics ? topics : 0;
    int32_t k = 0;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        const struct offset_commit_request_topic *in = &m->topics[i];
        struct offset_commit_response_topic *out = &resp.topics[i];
        offset_commit_response_topic_init(out);
        out->name = in->name;
        int32_t n = in->partitions_count > 0 ? in->partitions_count : 0;
        out->partitions = request_alloc(req, (size_t)(n + 1) * sizeof *out->partitions);
        out->partitions_count = out->partitions ? n : 0;
        for (int32_t j = 0; j < out->partitions_count && k < c->count; j++, k++) {
            offset_commit_response_partition_init(&out->partitions[j]);
            out->partitions[j].partition_index = c->parts[k].partition;
            out->partitions[j].error_code = c->parts[k].error;
        }
    }
    request_respond(req, &resp);
}

void handle_offset_commit(struct request *req)
{
    const struct offset_commit_request *m = req->body;
    struct broker *b = req->broker;
    int64_t now = groups_now_ms();
    int32_t total = 0;
    for (int32_t i = 0; i < m->topics_count; i++)
        total += m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0;
    struct commit_ctx *c = request_alloc(req, sizeof *c);
    struct group_offset_commit_partition *parts = request_alloc(req, (size_t)(total + 1) * sizeof *parts);
    if (!c || !parts) {
        struct offset_commit_response resp;
        offset_commit_response_init(&resp);
        request_respond(req, &resp);
        return;
    }
    c->req = req;
    c->parts = parts;
    c->count = total;
    int32_t k = 0;
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct offset_commit_request_topic *t = &m->topics[i];
        for (int32_t j = 0; j < t->partitions_count; j++, k++) {
            const struct offset_commit_request_partition *p = &t->partitions[j];
            parts[k].topic = t->name;
            parts[k].partition = p->partition_index;
            parts[k].offset = p->committed_offset;
            parts[k].leader_epoch = req->api_version >= 6 ? p->committed_leader_epoch : -1;
            parts[k].metadata = p->committed_metadata;
            if (!partition_exists(b, t->name, p->partition_index))
                parts[k].error = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    struct group_coordinator *gc = groups_coordinator(b);
    if (!gc) {
        for (int32_t i = 0; i < total; i++)
            if (!parts[i].error)
                parts[i].error = KAFKA_COORDINATOR_NOT_AVAILABLE;
        commit_answered(c, KAFKA_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    int64_t expire = -1;
    if (req->api_version >= 2 && req->api_version <= 4 && m->retention_time_ms >= 0)
        expire = m->retention_time_ms > INT64_MAX - now ? INT64_MAX : now + m->retention_time_ms;
    struct group_offset_commit_params p = {
        .group_id = m->group_id,
        .member_id = req->api_version >= 1 ? m->member_id : kstr_from_cstr(""),
        .group_instance_id = req->api_version >= 7 ? m->group_instance_id : kstr_null(),
        .generation = req->api_version >= 1 ? m->generation_id_or_member_epoch : -1,
        .expire_timestamp_ms = expire,
        .partitions = parts,
        .partition_count = total,
    };
    group_offset_commit(gc, &p, now, commit_answered, c);
}

/* ---- OffsetFetch ---- */

/* The answer for one group: the requested partitions, or every committed one. */
struct fetched_topic {
    struct kstr name;
    int32_t count;
    struct offset_fetch_response_partitions *partitions; /* v8+ layout; converted for older versions */
};

struct fetch_all_ctx {
    struct request *req;
    struct fetched_topic *topics;
    int32_t topic_count;
    int32_t topic_cap;
    struct offset_fetch_response_partitions *slots;
    int32_t used;
    int32_t cap; /* 0 while counting */
};

static void fetch_all_visit(void *arg, const struct group_offset *o)
{
    struct fetch_all_ctx *c = arg;
    if (c->cap == 0) {
        c->used++;
        return;
    }
    if (c->used >= c->cap)
        return;
    struct fetched_topic *t = c->topic_count ? &c->topics[c->topic_count - 1] : NULL;
    if (!t || !kstr_eq_cstr(t->name, o->topic)) {
        if (c->topic_count >= c->topic_cap)
            return;
        t = &c->topics[c->topic_count++];
        t->name = kstr_from_cstr(o->topic);
        t->count = 0;
        t->partitions = &c->slots[c->used];
    }
    struct offset_fetch_response_partitions *p = &c->slots[c->used++];
    offset_fetch_response_partitions_init(p);
    p->partition_index = o->partition;
    p->committed_offset = o->offset;
    p->committed_leader_epoch = o->leader_epoch;
    p->metadata = kstr_from_cstr(o->metadata ? o->metadata : "");
    t->count++;
}

/* Every committed offset of a group. */
static int32_t fetch_all(struct request *req, struct group_coordinator *gc, struct kstr group,
                         struct fetched_topic **out)
{
    struct fetch_all_ctx c = {.req = req};
    group_offset_fetch_all(gc, group, fetch_all_visit, &c);
    int32_t n = c.used;
    *out = NULL;
    if (n == 0)
        return 0;
    c.slots = request_alloc(req, (size_t)n * sizeof *c.slots);
    c.topics = request_alloc(req, (size_t)n * sizeof *c.topics);
    if (!c.slots || !c.topics)
        return 0;
    c.cap = n;
    c.topic_cap = n;
    c.used = 0;
    group_offset_fetch_all(gc, group, fetch_all_visit, &c);
    *out = c.topics;
    return c.topic_count;
}

/* The requested partitions of one topic. */
static void fetch_some(struct request *req, struct group_coordinator *gc, struct kstr group, struct kstr topic,
                       const int32_t *partitions, int32_t count, struct fetched_topic *out)
{
    out->name = topic;
    out->count = count > 0 ? count : 0;
    out->partitions = request_alloc(req, (size_t)(out->count + 1) * sizeof *out->partitions);
    if (!out->partitions) {
        out->count = 0;
        return;
    }
    for (int32_t i = 0; i < out->count; i++) {
        struct offset_fetch_response_partitions *p = &out->partitions[i];
        offset_fetch_response_partitions_init(p);
        struct group_offset o;
        group_offset_fetch(gc, group, topic, partitions[i], &o);
        p->partition_index = partitions[i];
        p->committed_offset = o.offset;
        p->committed_leader_epoch = o.leader_epoch;
        p->metadata = kstr_from_cstr(o.metadata ? o.metadata : "");
    }
}

/* Fill `topics` (v8 layout) for one group; returns the topic count. */
static int32_t fetch_group(struct request *req, struct group_coordinator *gc, struct kstr group, int32_t want_count,
                           const struct kstr *names, const int32_t *const *partitions, const int32_t *partition_counts,
                           struct fetched_topic **topics)
{
    if (want_count < 0)
        return fetch_all(req, gc, group, topics);
    *topics = request_alloc(req, (size_t)(want_count + 1) * sizeof **topics);
    if (!*topics)
        return 0;
    for (int32_t i = 0; i < want_count; i++)
        fetch_some(req, gc, group, names[i], partitions[i], partition_counts[i], &(*topics)[i]);
    return want_count;
}

static void respond_fetch_v8(struct request *req, struct group_coordinator *gc)
{
    const struct offset_fetch_request *m = req->body;
    struct offset_fetch_response resp;
    offset_fetch_response_init(&resp);
    int32_t n = m->groups_count > 0 ? m->groups_count : 0;
    resp.groups = request_alloc(req, (size_t)(n + 1) * sizeof *resp.groups);
    resp.groups_count = resp.groups ? n : 0;
    for (int32_t g = 0; g < resp.groups_count; g++) {
        const struct offset_fetch_request_group *in = &m->groups[g];
        struct offset_fetch_response_group *out = &resp.groups[g];
        offset_fetch_response_group_init(out);
        out->group_id = in->group_id;
        if (!gc) {
            out->error_code = KAFKA_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        int32_t want = in->topics_count;
        struct kstr *names = NULL;
        const int32_t **parts = NULL;
        int32_t *counts = NULL;
        if (want > 0) {
            names = request_alloc(req, (size_t)want * sizeof *names);
            parts = request_alloc(req, (size_t)want * sizeof *parts);
            counts = request_alloc(req, (size_t)want * sizeof *counts);
            if (!names || !parts || !counts)
                want = 0;
            for (int32_t i = 0; i < want; i++) {
                names[i] = in->topics[i].name;
                parts[i] = in->topics[i].partition_indexes;
                counts[i] = in->topics[i].partition_indexes_count;
            }
        }
        struct fetched_topic *topics = NULL;
        int32_t tc = fetch_group(req, gc, in->group_id, want, names, parts, counts, &topics);
        out->topics = request_alloc(req, (size_t)(tc + 1) * sizeof *out->topics);
        out->topics_count = out->topics ? tc : 0;
        for (int32_t i = 0; i < out->topics_count; i++) {
            offset_fetch_response_topics_init(&out->topics[i]);
            out->topics[i].name = topics[i].name;
            out->topics[i].partitions = topics[i].partitions;
            out->topics[i].partitions_count = topics[i].count;
        }
    }
    request_respond(req, &resp);
}

void handle_offset_fetch(struct request *req)
{
    const struct offset_fetch_request *m = req->body;
    struct group_coordinator *gc = groups_coordinator(req->broker);
    if (req->api_version >= 8) {
        respond_fetch_v8(req, gc);
        return;
    }
    struct offset_fetch_response resp;
    offset_fetch_response_init(&resp);
    if (!gc) {
        resp.error_code = KAFKA_COORDINATOR_NOT_AVAILABLE;
        request_respond(req, &resp);
        return;
    }
    int32_t want = m->topics_count;
    struct kstr *names = NULL;
    const int32_t **parts = NULL;
    int32_t *counts = NULL;
    if (want > 0) {
        names = request_alloc(req, (size_t)want * sizeof *names);
        parts = request_alloc(req, (size_t)want * sizeof *parts);
        counts = request_alloc(req, (size_t)want * sizeof *counts);
        if (!names || !parts || !counts)
            want = 0;
        for (int32_t i = 0; i < want; i++) {
            names[i] = m->topics[i].name;
            parts[i] = m->topics[i].partition_indexes;
            counts[i] = m->topics[i].partition_indexes_count;
        }
    }
    struct fetched_topic *topics = NULL;
    int32_t tc = fetch_group(req, gc, m->group_id, want, names, parts, counts, &topics);
    resp.topics = request_alloc(req, (size_t)(tc + 1) * sizeof *resp.topics);
    resp.topics_count = resp.topics ? tc : 0;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        struct offset_fetch_response_topic *t = &resp.topics[i];
        offset_fetch_response_topic_init(t);
        t->name = topics[i].name;
        t->partitions = request_alloc(req, (size_t)(topics[i].count + 1) * sizeof *t->partitions);
        t->partitions_count = t->partitions ? topics[i].count : 0;
        for (int32_t j = 0; j < t->partitions_count; j++) {
            const struct offset_fetch_response_partitions *src = &topics[i].partitions[j];
            struct offset_fetch_response_partition *dst = &t->partitions[j];
            offset_fetch_response_partition_init(dst);
            dst->partition_index = src->partition_index;
            dst->committed_offset = src->committed_offset;
            dst->committed_leader_epoch = src->committed_leader_epoch;
            dst->metadata = src->metadata;
        }
    }
    request_respond(req, &resp);
}

/* ---- OffsetDelete ---- */

struct delete_ctx {
    struct request *req;
    struct offset_delete_response resp;
    struct group_offset_delete_partition *parts;
};

static void offsets_deleted(void *arg, int16_t error)
{
    (void)error;
    struct delete_ctx *c = arg;
    int32_t k = 0;
    for (int32_t i = 0; i < c->resp.topics_count; i++)
        for (int32_t j = 0; j < c->resp.topics[i].partitions_count; j++, k++)
            c->resp.topics[i].partitions[j].error_code = c->parts[k].error;
    request_respond(c->req, &c->resp);
}

void handle_offset_delete(struct request *req)
{
    const struct offset_delete_request *m = req->body;
    struct delete_ctx *c = request_alloc(req, sizeof *c);
    if (!c) {
        struct offset_delete_response resp;
        offset_delete_response_init(&resp);
        resp.error_code = KAFKA_UNKNOWN_SERVER_ERROR;
        request_respond(req, &resp);
        return;
    }
    c->req = req;
    offset_delete_response_init(&c->resp);
    int32_t total = 0;
    for (int32_t i = 0; i < m->topics_count; i++)
        total += m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0;
    c->parts = request_alloc(req, (size_t)(total + 1) * sizeof *c->parts);
    int32_t topics = m->topics_count > 0 ? m->topics_count : 0;
    c->resp.topics = request_alloc(req, (size_t)(topics + 1) * sizeof *c->resp.topics);
    if (!c->parts || !c->resp.topics) {
        c->resp.error_code = KAFKA_UNKNOWN_SERVER_ERROR;
        request_respond(req, &c->resp);
        return;
    }
    c->resp.topics_count = topics;
    int32_t k = 0;
    for (int32_t i = 0; i < topics; i++) {
        const struct offset_delete_request_topic *t = &m->topics[i];
        struct offset_delete_response_topic *out = &c->resp.topics[i];
        offset_delete_response_topic_init(out);
        out->name = t->name;
        int32_t n = t->partitions_count > 0 ? t->partitions_count : 0;
        out->partitions = request_alloc(req, (size_t)(n + 1) * sizeof *out->partitions);
        out->partitions_count = out->partitions ? n : 0;
        for (int32_t j = 0; j < out->partitions_count; j++, k++) {
            offset_delete_response_partition_init(&out->partitions[j]);
            out->partitions[j].partition_index = t->partitions[j].partition_index;
            c->parts[k].topic = t->name;
            c->parts[k].partition = t->partitions[j].partition_index;
            if (!partition_exists(req->broker, t->name, c->parts[k].partition))
                c->parts[k].error = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    struct group_coordinator *gc = groups_coordinator(req->broker);
    int16_t err = gc ? group_offset_delete(gc, m->group_id, c->parts, k, groups_now_ms(), offsets_deleted, c)
                     : KAFKA_COORDINATOR_NOT_AVAILABLE;
    if (err) {
        c->resp.error_code = err;
        c->resp.topics_count = 0;
        request_respond(req, &c->resp);
    }
}
