/*
 * admin_topics.c - CreateTopics (key 19, v0-7), DeleteTopics (key 20, v0-6)
 * and CreatePartitions (key 37, v0-3).
 *
 * The rules and the metadata records are the controller's
 * (cluster/controller.h); these handlers translate requests and answers.
 * Each topic in a request succeeds or fails on its own; in CreateTopics and
 * CreatePartitions a name that appears twice in one request fails every copy
 * with INVALID_REQUEST; DeleteTopics follows Kafka's controller (below).
 * A request's entries run one after another as a controller operation
 * (admin_run_items); the answer goes once every change is durable, so
 * timeout_ms never expires.
 */
#include <stdio.h>
#include <string.h>

#include "cluster/controller.h"
#include "cluster/topic_config.h"
#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/admin.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/request.h"

#define MSG_CAP 512

/* ---------------------------------------------------------------- CreateTopics */

static int16_t topic_spec_from_request(struct request *req, const struct create_topics_request_creatable_topic *in,
                                       struct topic_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->name = in->name;
    spec->partitions = in->num_partitions;
    spec->replication_factor = in->replication_factor;
    if (in->assignments_count > 0) {
        struct replica_assignment *a = request_alloc(req, sizeof *a * (size_t)in->assignments_count);
        if (!a)
            return KAFKA_UNKNOWN_SERVER_ERROR;
        for (int32_t i = 0; i < in->assignments_count; i++) {
            a[i].partition = in->assignments[i].partition_index;
            a[i].broker_count = in->assignments[i].broker_ids_count;
            a[i].brokers = in->assignments[i].broker_ids;
        }
        spec->assignments = a;
        spec->assignment_count = in->assignments_count;
    }
    if (in->configs_count > 0) {
        struct config_kv *kv = request_alloc(req, sizeof *kv * (size_t)in->configs_count);
        if (!kv)
            return KAFKA_UNKNOWN_SERVER_ERROR;
        for (int32_t i = 0; i < in->configs_count; i++) {
            kv[i].name = in->configs[i].name;
            kv[i].value = in->configs[i].value;
        }
        spec->configs = kv;
        spec->config_count = in->configs_count;
    }
    return 0;
}

/* v5+: every topic config with the value the new topic gets and its source. */
static void fill_created_configs(struct request *req, const struct topic_spec *spec,
                                 struct create_topics_response_creatable_topic_result *out)
{
    struct broker *b = req->broker;
    size_t count;
    const struct topic_config_def *defs = topic_config_defs(&count);
    out->configs = request_alloc(req, sizeof *out->configs * count);
    if (!out->configs)
        return;
    out->configs_count = (int32_t)count;
    for (size_t i = 0; i < count; i++) {
        struct create_topics_response_creatable_topic_configs *c = &out->configs[i];
        create_topics_response_creatable_topic_configs_init(c);
        c->name = kstr_from_cstr(defs[i].name);
        const struct config_kv *given = NULL;
        for (int32_t j = 0; j < spec->config_count && !given; j++)
            if (kstr_eq_cstr(spec->configs[j].name, defs[i].name))
                given = &spec->configs[j];
        if (given) {
            c->value = controller_topic_config_stored_value(given->name, given->value);
            c->config_source = CONFIG_SOURCE_DYNAMIC_TOPIC;
            continue;
        }
        struct config_synonym syn[TOPIC_CONFIG_MAX_SYNONYMS];
        topic_config_synonyms(b->config, &b->image, NULL, &defs[i], syn);
        c->value = admin_message(req, syn[0].value);
        if (kstr_is_null(c->value))
            c->value = kstr_from_cstr("");
        c->config_source = syn[0].source;
    }
}

static void create_one_topic(struct request *req, const struct create_topics_request *m,
                             const struct create_topics_request_creatable_topic *in, bool duplicate,
                             struct create_topics_response_creatable_topic_result *out)
{
    struct broker *b = req->broker;
    char msg[MSG_CAP] = "";
    out->name = in->name;
    if (duplicate) {
        out->error_code = KAFKA_INVALID_REQUEST;
        out->error_message = admin_message(req, "Duplicate topic name.");
        return;
    }
    /* Made by the broker with the shape its coordinator relies on (e.g.
     * offsets.topic.num.partitions); one made otherwise broke every group. */
    if (!kstr_is_null(in->name) && topic_name_is_internal(in->name.ptr, (size_t)in->name.len)) {
        snprintf(msg, sizeof msg, "%.*s is an internal topic; the broker creates it when it is first needed.",
                 (int)in->name.len, in->name.ptr);
        out->error_code = KAFKA_INVALID_REQUEST;
        out->error_message = admin_message(req, msg);
        return;
    }
    struct topic_spec spec;
    int16_t err = topic_spec_from_request(req, in, &spec);
    struct topic_created created;
    if (!err)
        err = controller_create_topic(&b->controller, &spec, m->validate_only, &created, msg, sizeof msg);
    out->error_code = err;
    out->error_message = admin_message(req, msg);
    if (err)
        return;
    out->topic_id = created.id;
    out->num_partitions = created.partitions;
    out->replication_factor = created.replication_factor;
    if (req->api_version >= 5)
        fill_created_configs(req, &spec, out);
}

struct create_topics_state {
    struct admin_items items; /* first */
    struct create_topics_response resp;
    struct kstr *names;
};

static void create_topics_item(struct admin_items *items, int32_t i)
{
    struct create_topics_state *st = (struct create_topics_state *)items;
    const struct create_topics_request *m = items->req->body;
    create_topics_response_creatable_topic_result_init(&st->resp.topics[i]);
    create_one_topic(items->req, m, &m->topics[i], admin_is_duplicate(st->names, items->count, i),
                     &st->resp.topics[i]);
}

static void create_topics_answer(struct admin_items *items)
{
    struct create_topics_state *st = (struct create_topics_state *)items;
    request_respond(items->req, &st->resp);
}

void handle_create_topics(struct request *req)
{
    const struct create_topics_request *m = req->body;
    int32_t n = m->topics_count > 0 ? m->topics_count : 0;
    struct create_topics_state *st = request_alloc(req, sizeof *st);
    struct create_topics_response empty;
    create_topics_response_init(&empty);
    if (!st) {
        request_respond(req, &empty);
        return;
    }
    st->resp = empty;
    st->resp.topics = request_alloc(req, sizeof *st->resp.topics * (size_t)(n + 1));
    st->names = request_alloc(req, sizeof *st->names * (size_t)(n + 1));
    if (!st->resp.topics || !st->names) {
        request_respond(req, &empty);
        return;
    }
    for (int32_t i = 0; i < n; i++)
        st->names[i] = m->topics[i].name;
    st->resp.topics_count = n;
    admin_run_items(&st->items, req, n, create_topics_item, create_topics_answer);
}

/* ---------------------------------------------------------------- DeleteTopics */

/*
 * Kafka's controller (ControllerApis.deleteTopics) sorts a request's entries
 * before deleting anything, and so do we:
 *  - v6 entries naming both a name and a non-zero id, or neither, are refused;
 *  - a name (or id) given more than once is refused with ONE answer, not one
 *    per copy, and none of its copies is deleted;
 *  - a name whose topic's id another entry gives is refused ("maps to an ID
 *    that was already supplied"), and that id entry gets no answer at all.
 * So the response can have fewer entries than the request, as in Kafka.
 */
enum delete_entry_kind { DELETE_BY_NAME, DELETE_BY_ID, DELETE_NEITHER, DELETE_BOTH };

struct delete_entry {
    struct kstr name;
    struct kuuid id;
    enum delete_entry_kind kind;
};

static struct delete_entry delete_entry_v6(const struct delete_topics_request_delete_topic_state *in)
{
    struct delete_entry e = {in->name, in->topic_id, DELETE_BY_NAME};
    bool has_name = !kstr_is_null(in->name);
    bool has_id = !kuuid_is_zero(in->topic_id);
    if (has_name && has_id)
        e.kind = DELETE_BOTH;
    else if (has_id)
        e.kind = DELETE_BY_ID;
    else if (!has_name)
        e.kind = DELETE_NEITHER;
    return e;
}

static bool same_delete_entry(const struct delete_entry *a, const struct delete_entry *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == DELETE_BY_NAME)
        return kstr_eq(a->name, b->name);
    return a->kind == DELETE_BY_ID && kuuid_eq(a->id, b->id);
}

/* Index of the first entry equal to entries[index] (index itself when it is the first). */
static int32_t first_copy(const struct delete_entry *entries, int32_t index)
{
    for (int32_t i = 0; i < index; i++)
        if (same_delete_entry(&entries[i], &entries[index]))
            return i;
    return index;
}

static bool has_copy(const struct delete_entry *entries, int32_t count, int32_t index)
{
    for (int32_t i = 0; i < count; i++)
        if (i != index && same_delete_entry(&entries[i], &entries[index]))
            return true;
    return false;
}

/* Does some by-id entry give this id (a duplicated one included, as in Kafka)? */
static bool id_given(const struct delete_entry *entries, int32_t count, struct kuuid id)
{
    for (int32_t i = 0; i < count; i++)
        if (entries[i].kind == DELETE_BY_ID && kuuid_eq(entries[i].id, id))
            return true;
    return false;
}

/* Does a (not duplicated) by-name entry name the topic with this id? */
static bool topic_named(struct broker *b, const struct delete_entry *entries, int32_t count, struct kuuid id)
{
    for (int32_t i = 0; i < count; i++) {
        const struct delete_entry *e = &entries[i];
        if (e->kind != DELETE_BY_NAME || has_copy(entries, count, i))
            continue;
        const struct topic_state *t = metadata_topic_by_name(&b->image, e->name.ptr, (size_t)e->name.len);
        if (t && kuuid_eq(t->id, id))
            return true;
    }
    return false;
}

static void delete_refused(struct request *req, struct kstr name, struct kuuid id, int16_t error,
                           const char *message, struct delete_topics_response_deletable_topic_result *out)
{
    out->name = name;
    out->topic_id = id;
    out->error_code = error;
    out->error_message = admin_message(req, message);
}

static void delete_found_topic(struct request *req, struct topic_state *t,
                               struct delete_topics_response_deletable_topic_result *out)
{
    struct broker *b = req->broker;
    char msg[MSG_CAP] = "";
    out->name = admin_message(req, t->name);
    out->topic_id = t->id;
    out->error_code = controller_delete_topic(&b->controller, t, msg, sizeof msg);
    out->error_message = admin_message(req, msg);
}

static bool delete_by_id(struct request *req, const struct delete_entry *entries, int32_t count, int32_t index,
                         struct delete_topics_response_deletable_topic_result *out)
{
    struct broker *b = req->broker;
    const struct delete_entry *e = &entries[index];
    struct topic_state *t = metadata_topic_by_id(&b->image, e->id);
    if (!t) {
        delete_refused(req, kstr_null(), e->id, KAFKA_UNKNOWN_TOPIC_ID, "This server does not host this topic ID.",
                       out);
        return true;
    }
    if (topic_named(b, entries, count, t->id))
        return false; /* the by-name entry answers for both */
    delete_found_topic(req, t, out);
    return true;
}

static void delete_by_name(struct request *req, const struct delete_entry *entries, int32_t count, int32_t index,
                           struct delete_topics_response_deletable_topic_result *out)
{
    struct broker *b = req->broker;
    const struct delete_entry *e = &entries[index];
    struct kuuid zero = {{0}};
    struct topic_state *t = metadata_topic_by_name(&b->image, e->name.ptr, (size_t)e->name.len);
    if (!t) {
        delete_refused(req, e->name, zero, KAFKA_UNKNOWN_TOPIC_OR_PARTITION,
                       "This server does not host this topic-partition.", out);
        return;
    }
    if (id_given(entries, count, t->id)) {
        delete_refused(req, e->name, t->id, KAFKA_INVALID_REQUEST,
                       "The provided topic name maps to an ID that was already supplied.", out);
        return;
    }
    delete_found_topic(req, t, out);
}

/* Answer entries[index] into out; false when it gets no answer of its own. */
static bool delete_one_entry(struct request *req, const struct delete_entry *entries, int32_t count, int32_t index,
                             struct delete_topics_response_deletable_topic_result *out)
{
    const struct delete_entry *e = &entries[index];
    struct kuuid zero = {{0}};
    switch (e->kind) {
    case DELETE_NEITHER:
        delete_refused(req, kstr_null(), zero, KAFKA_INVALID_REQUEST, "Neither topic name nor id were specified.",
                       out);
        return true;
    case DELETE_BOTH:
        delete_refused(req, e->name, e->id, KAFKA_INVALID_REQUEST,
                       "You may not specify both topic name and topic id.", out);
        return true;
    default:
        break;
    }
    if (has_copy(entries, count, index)) {
        if (first_copy(entries, index) != index)
            return false;
        if (e->kind == DELETE_BY_ID)
            delete_refused(req, kstr_null(), e->id, KAFKA_INVALID_REQUEST, "Duplicate topic id.", out);
        else
            delete_refused(req, e->name, zero, KAFKA_INVALID_REQUEST, "Duplicate topic name.", out);
        return true;
    }
    if (e->kind == DELETE_BY_ID)
        return delete_by_id(req, entries, count, index, out);
    delete_by_name(req, entries, count, index, out);
    return true;
}

struct delete_topics_state {
    struct admin_items items; /* first */
    struct delete_topics_response resp;
    struct delete_entry *entries;
};

static void delete_topics_item(struct admin_items *items, int32_t i)
{
    struct delete_topics_state *st = (struct delete_topics_state *)items;
    struct delete_topics_response_deletable_topic_result *out = &st->resp.responses[st->resp.responses_count];
    delete_topics_response_deletable_topic_result_init(out);
    if (delete_one_entry(items->req, st->entries, items->count, i, out))
        st->resp.responses_count++;
}

static void delete_topics_answer(struct admin_items *items)
{
    struct delete_topics_state *st = (struct delete_topics_state *)items;
    request_respond(items->req, &st->resp);
}

void handle_delete_topics(struct request *req)
{
    const struct delete_topics_request *m = req->body;
    bool v6 = req->api_version >= 6;
    int32_t n = v6 ? m->topics_count : m->topic_names_count;
    if (n < 0)
        n = 0;
    struct delete_topics_state *st = request_alloc(req, sizeof *st);
    struct delete_topics_response empty;
    delete_topics_response_init(&empty);
    if (!st) {
        request_respond(req, &empty);
        return;
    }
    st->resp = empty;
    st->resp.responses = request_alloc(req, sizeof *st->resp.responses * (size_t)(n + 1));
    st->entries = request_alloc(req, sizeof *st->entries * (size_t)(n + 1));
    if (!st->resp.responses || !st->entries) {
        request_respond(req, &empty);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        if (v6) {
            st->entries[i] = delete_entry_v6(&m->topics[i]);
        } else {
            st->entries[i] = (struct delete_entry){m->topic_names[i], {{0}}, DELETE_BY_NAME};
            if (kstr_is_null(st->entries[i].name))
                st->entries[i].kind = DELETE_NEITHER;
        }
    }
    admin_run_items(&st->items, req, n, delete_topics_item, delete_topics_answer);
}

/* ---------------------------------------------------------------- CreatePartitions */

static void create_partitions_one(struct request *req, const struct create_partitions_request *m,
                                  const struct create_partitions_request_create_partitions_topic *in,
                                  bool duplicate, struct create_partitions_response_create_partitions_topic_result *out)
{
    struct broker *b = req->broker;
    char msg[MSG_CAP] = "";
    out->name = in->name;
    if (duplicate) {
        out->error_code = KAFKA_INVALID_REQUEST;
        out->error_message = admin_message(req, "Duplicate topic name.");
        return;
    }
    struct topic_state *t =
        kstr_is_null(in->name) ? NULL : metadata_topic_by_name(&b->image, in->name.ptr, (size_t)in->name.len);
    if (!t) {
        out->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = admin_message(req, "The topic does not exist.");
        return;
    }
    struct replica_assignment *a = NULL;
    int32_t count = in->assignments_count;
    if (count > 0) {
        a = request_alloc(req, sizeof *a * (size_t)count);
        if (!a) {
            out->error_code = KAFKA_UNKNOWN_SERVER_ERROR;
            return;
        }
        for (int32_t i = 0; i < count; i++) {
            a[i].partition = t->partition_count + i;
            a[i].broker_count = in->assignments[i].broker_ids_count;
            a[i].brokers = in->assignments[i].broker_ids;
        }
    }
    out->error_code =
        controller_create_partitions(&b->controller, t, in->count, a, count, m->validate_only, msg, sizeof msg);
    out->error_message = admin_message(req, msg);
}

struct create_partitions_state {
    struct admin_items items; /* first */
    struct create_partitions_response resp;
    struct kstr *names;
};

static void create_partitions_item(struct admin_items *items, int32_t i)
{
    struct create_partitions_state *st = (struct create_partitions_state *)items;
    const struct create_partitions_request *m = items->req->body;
    create_partitions_response_create_partitions_topic_result_init(&st->resp.results[i]);
    create_partitions_one(items->req, m, &m->topics[i], admin_is_duplicate(st->names, items->count, i),
                          &st->resp.results[i]);
}

static void create_partitions_answer(struct admin_items *items)
{
    struct create_partitions_state *st = (struct create_partitions_state *)items;
    request_respond(items->req, &st->resp);
}

void handle_create_partitions(struct request *req)
{
    const struct create_partitions_request *m = req->body;
    int32_t n = m->topics_count > 0 ? m->topics_count : 0;
    struct create_partitions_state *st = request_alloc(req, sizeof *st);
    struct create_partitions_response empty;
    create_partitions_response_init(&empty);
    if (!st) {
        request_respond(req, &empty);
        return;
    }
    st->resp = empty;
    st->resp.results = request_alloc(req, sizeof *st->resp.results * (size_t)(n + 1));
    st->names = request_alloc(req, sizeof *st->names * (size_t)(n + 1));
    if (!st->resp.results || !st->names) {
        request_respond(req, &empty);
        return;
    }
    for (int32_t i = 0; i < n; i++)
        st->names[i] = m->topics[i].name;
    st->resp.results_count = n;
    admin_run_items(&st->items, req, n, create_partitions_item, create_partitions_answer);
}
