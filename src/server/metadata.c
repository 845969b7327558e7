/*
 * metadata.c - Metadata (key 3): brokers, controller, topics and partitions.
 *
 * Versions 0-12. An empty topic list means "all topics" in v0 and "none"
 * from v1 (null means all there). Unknown topics are created when
 * auto.create.topics.enable is on and the client allows it (v4+), by a
 * controller operation the answer waits for. Topics are looked up by id
 * from v12; v10-11 carry ids but refuse them.
 */
#include <stdlib.h>
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
 * `__consumer_offsets` gets its own shape (offsets.topic.num.partitions,
 * compacted), as in Kafka. Created with num.partitions, the group
 * coordinator's hash(group) % offsets.topic.num.partitions would point most
 * groups at partitions that do not exist.
 */
static int16_t ensure_offsets_topic(struct broker *b, struct kstr name, struct topic_state **t)
{
    int16_t err = groups_ensure_offsets_topic(b);
    if (err)
        return err;
    *t = metadata_topic_by_name(&b->image, name.ptr, (size_t)name.len);
    return *t ? KAFKA_NONE : KAFKA_LEADER_NOT_AVAILABLE;
}

/*
 * Every other topic is auto-created by a controller operation, and the
 * answer waits for it (struct auto_create below). `outcome` is that
 * creation's result for this topic, NULL if it was not missing on arrival.
 */
static int16_t missing_topic_error(struct broker *b, struct kstr name, const int16_t *outcome,
                                   struct topic_state **t)
{
    if (kstr_eq_cstr(name, GROUPS_OFFSETS_TOPIC))
        return ensure_offsets_topic(b, name, t);
    if (!outcome)
        return KAFKA_UNKNOWN_TOPIC_OR_PARTITION; /* it existed on arrival and was deleted since */
    return *outcome ? *outcome : KAFKA_LEADER_NOT_AVAILABLE; /* made, then deleted again */
}

/* auto.create.topics.enable, and the client allows it (always before v4). */
static bool auto_creation_allowed(const struct request *req, const struct metadata_request *m)
{
    return req->broker->config->auto_create_topics_enable && (req->api_version < 4 || m->allow_auto_topic_creation);
}

/* Answer for one requested topic: found, auto-created, or an error. */
static void resolve_topic(struct request *req, const struct metadata_request *m,
                          const struct metadata_request_topic *want, const int16_t *outcome,
                          struct metadata_response_topic *out)
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
    if (!auto_creation_allowed(req, m)) {
        out->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    int16_t err = missing_topic_error(b, want->name, outcome, &t);
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

/*
 * The answer. `outcomes` (NULL when nothing was auto-created) holds, per
 * requested topic, the auto-creation's result, and `marked` which topics
 * were missing on arrival.
 */
static void respond_metadata(struct request *req, const bool *marked, const int16_t *outcomes)
{
    const struct metadata_request *m = req->body;
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
            const int16_t *outcome = marked && marked[i] ? &outcomes[i] : NULL;
            resolve_topic(req, m, &m->topics[i], outcome, &resp.topics[i]);
        }
    }
    fill_authorized_operations(m, &resp);
    request_respond(req, &resp);
}

/*
 * Auto-creation as an operation of the controller. The answer waits for it,
 * so the client hears of the new topics once they are durable and applied,
 * and the event loop never waits for the metadata log's fsync (0.3-0.7 ms
 * idle, tens of ms while ext4's journal is busy). The operation queues
 * behind admin requests already in flight, which may make or delete the same
 * topics; only the topics missing on arrival are created, so a request that
 * saw a topic exist never makes it again after a deletion. Kafka answers
 * LEADER_NOT_AVAILABLE at once and lets the client ask again (100 ms later
 * in librdkafka); waiting a millisecond for the commit is the better deal.
 */
struct auto_create {
    struct controller_op op; /* first */
    struct request *req;
    bool *marked;      /* per requested topic: missing on arrival, to be created */
    int16_t *outcomes; /* per requested topic: the creation's error code */
    int32_t next;      /* the next requested topic to look at */
};

static bool auto_create_step(struct controller_op *op)
{
    struct auto_create *ac = (struct auto_create *)op;
    struct request *req = ac->req;
    const struct metadata_request *m = req->body;
    struct broker *b = req->broker;
    while (ac->next < m->topics_count) {
        int32_t i = ac->next++;
        struct kstr name = m->topics[i].name;
        if (!ac->marked[i] || metadata_topic_by_name(&b->image, name.ptr, (size_t)name.len))
            continue; /* made meanwhile: by an admin request ahead, or named twice here */
        char msg[256];
        ac->outcomes[i] = topics_create_in_operation(b, name.ptr, (size_t)name.len, msg, sizeof msg);
        if (ac->outcomes[i])
            log_warn("metadata", "cannot auto-create topic %.*s: %s", (int)name.len, name.ptr, msg);
        else if (controller_commit_pending(&b->controller))
            return false;
    }
    respond_metadata(req, ac->marked, ac->outcomes);
    free(ac);
    return true;
}

/* Whether a requested topic is one auto-creation would make now. */
static bool to_auto_create(const struct request *req, const struct metadata_request *m,
                           const struct metadata_request_topic *want)
{
    struct broker *b = req->broker;
    if (kstr_is_null(want->name) || kstr_eq_cstr(want->name, GROUPS_OFFSETS_TOPIC) || !auto_creation_allowed(req, m))
        return false;
    if (topic_name_check(want->name.ptr, (size_t)want->name.len))
        return false;
    return !metadata_topic_by_name(&b->image, want->name.ptr, (size_t)want->name.len);
}

/* Start the operation if some requested topic is to be auto-created; false if none is. */
static bool start_auto_create(struct request *req)
{
    const struct metadata_request *m = req->body;
    if (m->topics_count <= 0)
        return false;
    bool *marked = request_alloc(req, (size_t)m->topics_count * sizeof *marked);
    int16_t *outcomes = request_alloc(req, (size_t)m->topics_count * sizeof *outcomes);
    bool any = false;
    for (int32_t i = 0; marked && outcomes && i < m->topics_count; i++) {
        marked[i] = to_auto_create(req, m, &m->topics[i]);
        any = any || marked[i];
    }
    if (!any)
        return false;
    struct auto_create *ac = calloc(1, sizeof *ac);
    if (!ac) {
        respond_metadata(req, marked, outcomes); /* LEADER_NOT_AVAILABLE: the client asks again */
        return true;
    }
    *ac = (struct auto_create){.op.step = auto_create_step, .req = req, .marked = marked, .outcomes = outcomes};
    controller_submit(&req->broker->controller, &ac->op);
    return true;
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
    if (start_auto_create(req))
        return; /* answered when the operation ends */
    respond_metadata(req, NULL, NULL);
}
