/*
 * metadata.c - Metadata (key 3): brokers, controller, topics and partitions.
 *
 * Versions 0-12. An empty topic list means "all topics" in v0 and "none"
 * from v1 (null means all there). Unknown topics are created when
 * auto.create.topics.enable is on and the client allows it (v4+). Topics
 * are looked up by id from v12; v10-11 carry ids but refuse them.
 */
#include <string.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/authorized_operations.h"
#include "server/broker.h"
#include "server/groups.h"
#include "server/request.h"
#include "server/topics.h"
#include "util/logger.h"

static void fill_partitions(struct request *req, struct metadata_response_topic *out,
                            const struct topic_state *t)
{
    out->partitions = request_alloc(req, (size_t)t->partition_count * sizeof *out->partitions);
    out->partitions_count = out->partitions ? t->partition_count : 0;
    bool pending = topics_logs_pending(req->broker);
    for (int32_t i = 0; i < out->partitions_count; i++) {
        const struct partition_state *p = &t->partitions[i];
        struct metadata_response_partition *mp = &out->partitions[i];
        metadata_response_partition_init(mp);
        mp->partition_index = p->partition;
        mp->leader_id = p->leader;
        if (pending && !topics_partition_ready(req->broker, t, i)) { /* its log is still being made */
            mp->error_code = KAFKA_LEADER_NOT_AVAILABLE;
            mp->leader_id = -1;
        }
        mp->leader_epoch = p->leader_epoch;
        mp->replica_nodes = p->replicas;
        mp->replica_nodes_count = p->replica_count;
        mp->isr_nodes = p->isr;
        mp->isr_nodes_count = p->isr_count;
    }
}

static void fill_topic(struct request *req, struct metadata_response_topic *out, const struct topic_state *t)
{
    out->name = kstr_from_cstr(t->name);
    out->topic_id = t->id;
    out->is_internal = t->internal;
    fill_partitions(req, out, t);
}

/*
 * Auto-creation as Kafka does it: `__consumer_offsets` gets its own shape
 * (offsets.topic.num.partitions, compacted). Created with num.partitions, the
 * group coordinator's hash(group) % offsets.topic.num.partitions would point
 * most groups at partitions that do not exist.
 */
static int16_t auto_create_topic(struct broker *b, struct kstr name, struct topic_state **t)
{
    if (!kstr_eq_cstr(name, GROUPS_OFFSETS_TOPIC))
        return topics_create(b, name.ptr, (size_t)name.len, -1, -1, t, NULL);
    int16_t err = groups_ensure_offsets_topic(b);
    if (err)
        return err;
    *t = metadata_topic_by_name(&b->image, name.ptr, (size_t)name.len);
    return *t ? KAFKA_NONE : KAFKA_LEADER_NOT_AVAILABLE;
}

/* Answer for one requested topic: found, auto-created, or an error. */
static void resolve_topic(struct request *req, const struct metadata_request *m,
                          const struct metadata_request_topic *want, struct metadata_response_topic *out)
{
    struct broker *b = req->broker;
    struct topic_state *t = NULL;
    if (kstr_is_null(want->name)) {
        t = metadata_topic_by_id(&b->image, want->topic_id);
        if (!t) {
            out->topic_id = want->topic_id;
            out->name = kstr_null();
            out->error_code = KAFKA_UNKNOWN_TOPIC_ID;
            return;
        }
        fill_topic(req, out, t);
        return;
    }
    out->name = want->name;
    t = metadata_topic_by_name(&b->image, want->name.ptr, (size_t)want->name.len);
    if (t) {
        fill_topic(req, out, t);
        return;
    }
    if (topic_name_check(want->name.ptr, (size_t)want->name.len)) {
        out->error_code = KAFKA_INVALID_TOPIC_EXCEPTION;
        return;
    }
    bool client_allows = req->api_version < 4 || m->allow_auto_topic_creation;
    if (!b->config->auto_create_topics_enable || !client_allows) {
        out->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    int16_t err = auto_create_topic(b, want->name, &t);
    if (err == KAFKA_INVALID_REPLICATION_FACTOR)
        err = KAFKA_LEADER_NOT_AVAILABLE; /* as Kafka reports a topic it cannot place */
    if (err) {
        out->error_code = err;
        return;
    }
    fill_topic(req, out, t);
}

/* Registered, unfenced brokers, each at its endpoint for the listener the client used. */
static void fill_brokers(struct request *req, struct metadata_response *resp)
{
    struct broker *b = req->broker;
    const struct metadata_image *img = &b->image;
    resp->brokers = request_alloc(req, sizeof *resp->brokers * (size_t)(img->broker_count + 1));
    if (!resp->brokers)
        return;
    int32_t n = 0;
    for (int32_t i = 0; i < img->broker_count; i++) {
        const struct broker_registration *reg = &img->brokers[i];
        const struct broker_endpoint *e = broker_endpoint_for(reg, req->listener);
        if (reg->fenced || !e)
            continue;
        struct metadata_response_broker *out = &resp->brokers[n++];
        metadata_response_broker_init(out);
        out->node_id = reg->node_id;
        out->host = kstr_from_cstr(e->host);
        out->port = e->port;
        out->rack = reg->rack[0] ? kstr_from_cstr(reg->rack) : kstr_null();
    }
    resp->brokers_count = n;
}

/*
 * v8+: the operations the client may perform, when it asks (no authorizer:
 * all of them, as Kafka without one). Kafka fills them for every topic it
 * looked up by name, found or not, but not for unknown topic ids. The cluster
 * flag exists in v8-10 only; the codec leaves it false elsewhere.
 */
static void fill_authorized_operations(const struct metadata_request *m, struct metadata_response *resp)
{
    if (m->include_cluster_authorized_operations)
        resp->cluster_authorized_operations = CLUSTER_AUTHORIZED_OPERATIONS;
    if (!m->include_topic_authorized_operations)
        return;
    for (int32_t i = 0; i < resp->topics_count; i++)
        if (resp->topics[i].error_code != KAFKA_UNKNOWN_TOPIC_ID)
            resp->topics[i].topic_authorized_operations = TOPIC_AUTHORIZED_OPERATIONS;
}

/*
 * v10-11 carry topic ids, but lookups by id begin at v12, and the response's
 * names are not nullable there: Kafka refuses a null name or a non-zero id
 * with INVALID_REQUEST. Returns the reason, or NULL if the request is valid.
 */
static const char *invalid_topic_ids(int16_t version, const struct metadata_request *m)
{
    if (version < 10 || version >= 12)
        return NULL;
    for (int32_t i = 0; i < m->topics_count; i++) {
        if (kstr_is_null(m->topics[i].name))
            return "Topic name can not be null";
        if (!kuuid_is_zero(m->topics[i].topic_id))
            return "Topic IDs are not supported in requests";
    }
    return NULL;
}

/* Kafka's error answer: every requested topic with the error, no brokers, no cluster id or controller. */
static void respond_error(struct request *req, const struct metadata_request *m, int16_t error)
{
    struct metadata_response resp;
    metadata_response_init(&resp);
    resp.topics = request_alloc(req, (size_t)(m->topics_count + 1) * sizeof *resp.topics);
    resp.topics_count = resp.topics && m->topics_count > 0 ? m->topics_count : 0;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        metadata_response_topic_init(&resp.topics[i]);
        resp.topics[i].error_code = error;
        resp.topics[i].name = kstr_is_null(m->topics[i].name) ? kstr_from_cstr("") : m->topics[i].name;
        resp.topics[i].topic_id = m->topics[i].topic_id;
    }
    request_respond(req, &resp);
}

void handle_metadata(struct request *req)
{
    const struct metadata_request *m = req->body;
    const char *invalid = invalid_topic_ids(req->api_version, m);
    if (invalid) {
        log_debug("metadata", "invalid request: %s for version %d", invalid, req->api_version);
        respond_error(req, m, KAFKA_INVALID_REQUEST);
        return;
    }
    struct broker *b = req->broker;
    struct metadata_response resp;
    metadata_response_init(&resp);
    fill_brokers(req, &resp);
    resp.cluster_id = kstr_from_cstr(b->image.cluster_id[0] ? b->image.cluster_id : NULL);
    resp.controller_id = b->image.controller_id;

    bool all_topics = m->topics_count < 0 || (req->api_version == 0 && m->topics_count == 0);
    if (all_topics) {
        resp.topics = request_alloc(req, (size_t)(b->image.topic_count + 1) * sizeof *resp.topics);
        int32_t n = 0;
        for (struct topic_state *t = b->image.topics; t && resp.topics; t = t->next) {
            metadata_response_topic_init(&resp.topics[n]);
            fill_topic(req, &resp.topics[n++], t);
        }
        resp.topics_count = n;
    } else {
        resp.topics = request_alloc(req, (size_t)(m->topics_count + 1) * sizeof *resp.topics);
        resp.topics_count = resp.topics ? m->topics_count : 0;
        for (int32_t i = 0; i < resp.topics_count; i++) {
            metadata_response_topic_init(&resp.topics[i]);
            resolve_topic(req, m, &m->topics[i], &resp.topics[i]);
        }
    }
    fill_authorized_operations(m, &resp);
    request_respond(req, &resp);
}
