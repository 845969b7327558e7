/*
 * admin_configs.c - DescribeConfigs (key 32, v0-4), AlterConfigs (key 33,
 * v0-2) and IncrementalAlterConfigs (key 44, v0-1).
 *
 * Topic resources list every Kafka topic config with its effective value and
 * source (cluster/topic_config.h). A broker resource named after this node
 * lists every server.properties key (config/config.h); the topic configs'
 * broker synonyms (log.retention.ms, ...) are the dynamic ones and can be
 * altered, cluster-wide (resource "") or for this node, taking effect on
 * every partition at once. The resource "" describes the cluster-wide
 * dynamic defaults only, as Kafka does. Broker loggers (KIP-412) are in
 * admin_loggers.c.
 */
#include <stdio.h>
#include <string.h>

#include "cluster/controller.h"
#include "cluster/metadata_record.h"
#include "cluster/topic_config.h"
#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/admin.h"
#include "server/admin_loggers.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/request.h"

#define MSG_CAP 512

typedef struct describe_configs_response_describe_configs_resource_result config_result;
typedef struct describe_configs_response_describe_configs_synonym config_synonym_out;

struct describe_ctx {
    struct request *req;
    const struct describe_configs_request *m;
    const struct describe_configs_request_describe_configs_resource *res;
};

static bool wanted(const struct describe_ctx *d, const char *name)
{
    return admin_config_key_wanted(d->res, name);
}

static int8_t kafka_type_of(enum config_type t)
{
    switch (t) {
    case CONFIG_BOOLEAN: return KAFKA_CONFIG_TYPE_BOOLEAN;
    case CONFIG_INT: return KAFKA_CONFIG_TYPE_INT;
    case CONFIG_LONG: return KAFKA_CONFIG_TYPE_LONG;
    case CONFIG_DOUBLE: return KAFKA_CONFIG_TYPE_DOUBLE;
    case CONFIG_LIST: return KAFKA_CONFIG_TYPE_LIST;
    case CONFIG_PASSWORD: return KAFKA_CONFIG_TYPE_PASSWORD;
    default: return KAFKA_CONFIG_TYPE_STRING;
    }
}

/* Fill one entry from a synonym chain (syn[0] is the effective value). */
static void fill_entry(const struct describe_ctx *d, config_result *e, const char *name, int8_t type,
                       const char *doc, bool read_only, const struct config_synonym *syn, int count)
{
    struct request *req = d->req;
    describe_configs_response_describe_configs_resource_result_init(e);
    e->name = kstr_from_cstr(name);
    e->value = syn[0].value ? admin_message(req, syn[0].value) : kstr_null();
    if (syn[0].value && kstr_is_null(e->value))
        e->value = kstr_from_cstr("");
    e->read_only = read_only;
    e->is_default = syn[0].source == CONFIG_SOURCE_DEFAULT;
    e->config_source = syn[0].source;
    e->config_type = type;
    if (req->api_version >= 3 && d->m->include_documentation)
        e->documentation = kstr_from_cstr(doc);
    if (!d->m->include_synonyms || req->api_version < 1)
        return;
    e->synonyms = request_alloc(req, sizeof *e->synonyms * (size_t)count);
    if (!e->synonyms)
        return;
    e->synonyms_count = count;
    for (int i = 0; i < count; i++) {
        describe_configs_response_describe_configs_synonym_init(&e->synonyms[i]);
        e->synonyms[i].name = admin_message(req, syn[i].name);
        e->synonyms[i].value = syn[i].value ? admin_message(req, syn[i].value) : kstr_null();
        if (syn[i].value && kstr_is_null(e->synonyms[i].value))
            e->synonyms[i].value = kstr_from_cstr("");
        e->synonyms[i].source = syn[i].source;
    }
}

static void describe_topic(const struct describe_ctx *d, struct describe_configs_response_describe_configs_result *r)
{
    struct broker *b = d->req->broker;
    struct kstr name = d->res->resource_name;
    const struct topic_state *t =
        kstr_is_null(name) ? NULL : metadata_topic_by_name(&b->image, name.ptr, (size_t)name.len);
    if (!t) {
        r->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        r->error_message = admin_message(d->req, "The topic does not exist.");
        return;
    }
    size_t count;
    const struct topic_config_def *defs = topic_config_defs(&count);
    r->configs = request_alloc(d->req, sizeof *r->configs * count);
    if (!r->configs)
        return;
    int32_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (!wanted(d, defs[i].name))
            continue;
        struct config_synonym syn[TOPIC_CONFIG_MAX_SYNONYMS];
        int k = topic_config_synonyms(b->config, &b->image, t, &defs[i], syn);
        fill_entry(d, &r->configs[n++], defs[i].name, (int8_t)defs[i].type, defs[i].doc, false, syn, k);
    }
    r->configs_count = n;
}

static void add_synonym(struct config_synonym *syn, int *n, const char *name, const char *value, int8_t source)
{
    struct config_synonym *s = &syn[(*n)++];
    snprintf(s->name_buf, sizeof s->name_buf, "%s", name);
    s->name = s->name_buf;
    snprintf(s->buf, sizeof s->buf, "%s", value ? value : "");
    s->value = value ? s->buf : NULL;
    s->source = source;
}

/* The synonym chain of a broker key: dynamic (node, cluster), static, default. */
static int broker_key_synonyms(struct broker *b, const struct config_key *key, const char *node,
                               struct config_synonym *syn)
{
    int n = 0;
    bool dynamic = topic_config_by_broker_name(key->name, strlen(key->name)) != NULL;
    const char *v;
    if (dynamic && (v = config_entry_get(metadata_broker_configs_get(&b->image, node, strlen(node)), key->name)))
        add_synonym(syn, &n, key->name, v, CONFIG_SOURCE_DYNAMIC_BROKER);
    if (dynamic && (v = config_entry_get(metadata_broker_configs_get(&b->image, "", 0), key->name)))
        add_synonym(syn, &n, key->name, v, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    char buf[CONFIG_STRING_MAX];
    bool is_static = config_is_set(b->config, key->name);
    if (is_static && key->type != CONFIG_PASSWORD)
        add_synonym(syn, &n, key->name, config_value_string(b->config, key, buf, sizeof buf),
                    CONFIG_SOURCE_STATIC_BROKER);
    if (key->type == CONFIG_PASSWORD)
        v = NULL;
    else if (is_static)
        v = key->default_value;
    else /* the running value: derived keys (log.retention.ms from hours) included */
        v = config_value_string(b->config, key, buf, sizeof buf);
    add_synonym(syn, &n, key->name, v, CONFIG_SOURCE_DEFAULT);
    return n;
}

static void describe_broker(const struct describe_ctx *d, struct describe_configs_response_describe_configs_result *r)
{
    struct request *req = d->req;
    struct broker *b = req->broker;
    struct kstr name = d->res->resource_name;
    char node[16];
    snprintf(node, sizeof node, "%lld", (long long)b->config->node_id);
    if (name.len > 0 && !kstr_eq_cstr(name, node)) {
        r->error_code = KAFKA_INVALID_REQUEST;
        r->error_message = admin_message(req, "Unexpected broker id: this node describes only itself.");
        return;
    }
    if (name.len <= 0) { /* cluster-wide dynamic defaults only */
        const struct config_entry *set = metadata_broker_configs_get(&b->image, "", 0);
        r->configs = request_alloc(req, sizeof *r->configs * (config_entry_count(set) + 1));
        int32_t n = 0;
        for (const struct config_entry *e = set; e && r->configs; e = e->next) {
            if (!wanted(d, e->name))
                continue;
            struct config_synonym syn[1];
            syn[0].name = e->name;
            syn[0].value = e->value;
            syn[0].source = CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
            fill_entry(d, &r->configs[n++], e->name, KAFKA_CONFIG_TYPE_STRING, "", false, syn, 1);
        }
        r->configs_count = n;
        return;
    }
    size_t count;
    const struct config_key *keys = config_keys(&count);
    r->configs = request_alloc(req, sizeof *r->configs * count);
    if (!r->configs)
        return;
    int32_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (!wanted(d, keys[i].name))
            continue;
        struct config_synonym syn[TOPIC_CONFIG_MAX_SYNONYMS];
        int k = broker_key_synonyms(b, &keys[i], node, syn);
        bool dynamic = topic_config_by_broker_name(keys[i].name, strlen(keys[i].name)) != NULL;
        config_result *e = &r->configs[n++];
        fill_entry(d, e, keys[i].name, kafka_type_of(keys[i].type), keys[i].doc, !dynamic, syn, k);
        e->is_sensitive = keys[i].type == CONFIG_PASSWORD;
    }
    r->configs_count = n;
}

void handle_describe_configs(struct request *req)
{
    const struct describe_configs_request *m = req->body;
    struct describe_configs_response resp;
    describe_configs_response_init(&resp);
    int32_t n = m->resources_count > 0 ? m->resources_count : 0;
    resp.results = request_alloc(req, sizeof *resp.results * (size_t)(n + 1));
    resp.results_count = resp.results ? n : 0;
    for (int32_t i = 0; i < resp.results_count; i++) {
        struct describe_configs_response_describe_configs_result *r = &resp.results[i];
        describe_configs_response_describe_configs_result_init(r);
        r->resource_type = m->resources[i].resource_type;
        r->resource_name = m->resources[i].resource_name;
        struct describe_ctx d = {req, m, &m->resources[i]};
        if (r->resource_type == CONFIG_RESOURCE_TOPIC) {
            describe_topic(&d, r);
        } else if (r->resource_type == CONFIG_RESOURCE_BROKER) {
            describe_broker(&d, r);
        } else if (r->resource_type == CONFIG_RESOURCE_BROKER_LOGGER) {
            admin_describe_broker_loggers(req, &m->resources[i], r);
        } else {
            r->error_code = KAFKA_INVALID_REQUEST;
            r->error_message = admin_message(req, "Unsupported resource type.");
        }
    }
    request_respond(req, &resp);
}

/* ---------------------------------------------------------------- AlterConfigs */

/*
 * A resource named twice in one AlterConfigs or IncrementalAlterConfigs
 * request: Kafka's broker (ConfigAdminManager.preprocess) refuses every copy
 * with INVALID_REQUEST before anything is applied, so neither copy's changes
 * are made (Eddy used to apply both, the last one winning).
 */
#define DUPLICATE_RESOURCE_MESSAGE "Each resource must appear at most once."

struct resource_key {
    int8_t type;
    struct kstr name;
};

static bool resource_repeated(const struct resource_key *keys, int32_t count, int32_t index)
{
    for (int32_t i = 0; i < count; i++)
        if (i != index && keys[i].type == keys[index].type && kstr_eq(keys[i].name, keys[index].name))
            return true;
    return false;
}

struct alter_configs_state {
    struct admin_items items; /* first */
    struct alter_configs_response resp;
    struct resource_key *keys;
};

static void alter_configs_item(struct admin_items *items, int32_t i)
{
    struct alter_configs_state *st = (struct alter_configs_state *)items;
    struct request *req = items->req;
    const struct alter_configs_request *m = req->body;
    const struct alter_configs_request_alter_configs_resource *res = &m->resources[i];
    struct alter_configs_response_alter_configs_resource_response *out = &st->resp.responses[i];
    alter_configs_response_alter_configs_resource_response_init(out);
    out->resource_type = res->resource_type;
    out->resource_name = res->resource_name;
    if (resource_repeated(st->keys, items->count, i)) {
        out->error_code = KAFKA_INVALID_REQUEST;
        out->error_message = admin_message(req, DUPLICATE_RESOURCE_MESSAGE);
        return;
    }
    if (res->resource_type == CONFIG_RESOURCE_BROKER_LOGGER) { /* KIP-412 left it to the incremental API */
        out->error_code = KAFKA_INVALID_REQUEST;
        out->error_message = admin_message(req, "Unknown resource type 8");
        return;
    }
    int32_t count = res->configs_count > 0 ? res->configs_count : 0;
    struct config_change *changes = request_alloc(req, sizeof *changes * (size_t)(count + 1));
    if (!changes) {
        out->error_code = KAFKA_UNKNOWN_SERVER_ERROR;
        return;
    }
    for (int32_t j = 0; j < count; j++) {
        changes[j].name = res->configs[j].name;
        changes[j].value = res->configs[j].value;
        changes[j].op = CONFIG_OP_SET;
    }
    char msg[MSG_CAP] = "";
    out->error_code = controller_alter_configs(&req->broker->controller, res->resource_type, res->resource_name,
                                               changes, count, true, m->validate_only, msg, sizeof msg);
    out->error_message = admin_message(req, msg);
}

static void alter_configs_answer(struct admin_items *items)
{
    struct alter_configs_state *st = (struct alter_configs_state *)items;
    request_respond(items->req, &st->resp);
}

void handle_alter_configs(struct request *req)
{
    const struct alter_configs_request *m = req->body;
    int32_t n = m->resources_count > 0 ? m->resources_count : 0;
    struct alter_configs_state *st = request_alloc(req, sizeof *st);
    struct alter_configs_response empty;
    alter_configs_response_init(&empty);
    if (!st) {
        request_respond(req, &empty);
        return;
    }
    st->resp = empty;
    st->resp.responses = request_alloc(req, sizeof *st->resp.responses * (size_t)(n + 1));
    st->keys = request_alloc(req, sizeof *st->keys * (size_t)(n + 1));
    if (!st->resp.responses || !st->keys) {
        request_respond(req, &empty);
        return;
    }
    st->resp.responses_count = n;
    for (int32_t i = 0; i < n; i++)
        st->keys[i] = (struct resource_key){m->resources[i].resource_type, m->resources[i].resource_name};
    admin_run_items(&st->items, req, n, alter_configs_item, alter_configs_answer);
}

struct incremental_alter_state {
    struct admin_items items; /* first */
    struct incremental_alter_configs_response resp;
    struct resource_key *keys;
};

static void incremental_alter_item(struct admin_items *items, int32_t i)
{
    struct incremental_alter_state *st = (struct incremental_alter_state *)items;
    struct request *req = items->req;
    const struct incremental_alter_configs_request *m = req->body;
    const struct incremental_alter_configs_request_alter_configs_resource *res = &m->resources[i];
    struct incremental_alter_configs_response_alter_configs_resource_response *out = &st->resp.responses[i];
    incremental_alter_configs_response_alter_configs_resource_response_init(out);
    out->resource_type = res->resource_type;
    out->resource_name = res->resource_name;
    if (resource_repeated(st->keys, items->count, i)) {
        out->error_code = KAFKA_INVALID_REQUEST;
        out->error_message = admin_message(req, DUPLICATE_RESOURCE_MESSAGE);
        return;
    }
    char msg[MSG_CAP] = "";
    if (res->resource_type == CONFIG_RESOURCE_BROKER_LOGGER) {
        out->error_code = admin_alter_broker_loggers(req, res, m->validate_only, msg, sizeof msg);
        out->error_message = admin_message(req, msg);
        return;
    }
    int32_t count = res->configs_count > 0 ? res->configs_count : 0;
    struct config_change *changes = request_alloc(req, sizeof *changes * (size_t)(count + 1));
    if (!changes) {
        out->error_code = KAFKA_UNKNOWN_SERVER_ERROR;
        return;
    }
    for (int32_t j = 0; j < count; j++) {
        changes[j].name = res->configs[j].name;
        changes[j].value = res->configs[j].value;
        changes[j].op = res->configs[j].config_operation;
    }
    out->error_code = controller_alter_configs(&req->broker->controller, res->resource_type, res->resource_name,
                                               changes, count, false, m->validate_only, msg, sizeof msg);
    out->error_message = admin_message(req, msg);
}

static void incremental_alter_answer(struct admin_items *items)
{
    struct incremental_alter_state *st = (struct incremental_alter_state *)items;
    request_respond(items->req, &st->resp);
}

void handle_incremental_alter_configs(struct request *req)
{
    const struct incremental_alter_configs_request *m = req->body;
    int32_t n = m->resources_count > 0 ? m->resources_count : 0;
    struct incremental_alter_state *st = request_alloc(req, sizeof *st);
    struct incremental_alter_configs_response empty;
    incremental_alter_configs_response_init(&empty);
    if (!st) {
        request_respond(req, &empty);
        return;
    }
    st->resp = empty;
    st->resp.responses = request_alloc(req, sizeof *st->resp.responses * (size_t)(n + 1));
    st->keys = request_alloc(req, sizeof *st->keys * (size_t)(n + 1));
    if (!st->resp.responses || !st->keys) {
        request_respond(req, &empty);
        return;
    }
    st->resp.responses_count = n;
    for (int32_t i = 0; i < n; i++)
        st->keys[i] = (struct resource_key){m->resources[i].resource_type, m->resources[i].resource_name};
    admin_run_items(&st->items, req, n, incremental_alter_item, incremental_alter_answer);
}
