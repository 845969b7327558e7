/*
 * groups.c - handlers of the classic group membership and administration
 * APIs: FindCoordinator (key 10), JoinGroup (11), Heartbeat (12),
 * LeaveGroup (13), SyncGroup (14), DescribeGroups (15), ListGroups (16),
 * DeleteGroups (42). They translate requests for the coordinator
 * (src/group/) and its answers back into responses; the semantics live there.
 *
 * One node: this broker coordinates every group, so FindCoordinator names
 * it, after making sure __consumer_offsets exists. It coordinates no
 * transactions (no transaction API is advertised), so a transactional id
 * gets COORDINATOR_NOT_AVAILABLE.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/authorized_operations.h"
#include "server/broker.h"
#include "server/groups.h"
#include "server/request.h"
#include "util/logger.h"

#define KEY_TYPE_GROUP 0
#define KEY_TYPE_TRANSACTION 1

/* ---- FindCoordinator ---- */

/*
 * A transactional id gets COORDINATOR_NOT_AVAILABLE, which Kafka answers while
 * no transaction coordinator is ready: naming this broker would send a
 * transactional producer on to InitProducerId, which refuses it with a fatal
 * authorization error instead of this retriable one.
 */
static int16_t coordinator_for(struct request *req, int8_t key_type, int32_t *node, struct kstr *host, int32_t *port)
{
    struct broker *b = req->broker;
    if (key_type == KEY_TYPE_TRANSACTION)
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    if (key_type != KEY_TYPE_GROUP)
        return KAFKA_INVALID_REQUEST;
    if (groups_ensure_offsets_topic(b) || !groups_coordinator(b))
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    const struct listener_address *self = broker_advertised_for(b, req->listener);
    if (!self)
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    *node = (int32_t)b->config->node_id;
    *host = kstr_from_cstr(self->host);
    *port = self->port;
    return 0;
}

void handle_find_coordinator(struct request *req)
{
    const struct find_coordinator_request *m = req->body;
    struct find_coordinator_response resp;
    find_coordinator_response_init(&resp);
    if (req->api_version < 4) {
        resp.host = kstr_from_cstr("");
        int16_t err = coordinator_for(req, m->key_type, &resp.node_id, &resp.host, &resp.port);
        if (err) { /* below v4 Kafka sends the error's standard text */
            resp.error_code = err;
            resp.node_id = -1;
            resp.host = kstr_from_cstr("");
            resp.port = -1;
            resp.error_message = kstr_from_cstr(err == KAFKA_INVALID_REQUEST ? "Unsupported key type"
                                                                              : "The coordinator is not available.");
        }
        request_respond(req, &resp);
        return;
    }
    int32_t n = m->coordinator_keys_count > 0 ? m->coordinator_keys_count : 0;
    resp.coordinators = request_alloc(req, (size_t)(n + 1) * sizeof *resp.coordinators);
    resp.coordinators_count = resp.coordinators ? n : 0;
    for (int32_t i = 0; i < resp.coordinators_count; i++) {
        struct find_coordinator_response_coordinator *c = &resp.coordinators[i];
        find_coordinator_response_coordinator_init(c);
        c->key = m->coordinator_keys[i];
        c->host = kstr_from_cstr("");
        int16_t err = coordinator_for(req, m->key_type, &c->node_id, &c->host, &c->port);
        if (err) {
            c->error_code = err;
            c->node_id = -1;
            c->host = kstr_from_cstr("");
            c->port = -1;
        }
    }
    request_respond(req, &resp);
}

/* ---- JoinGroup ---- */

static void join_answered(void *arg, const struct group_join_result *r)
{
    struct request *req = arg;
    struct join_group_response resp;
    join_group_response_init(&resp);
    resp.error_code = r->error;
    resp.generation_id = r->generation;
    bool nullable = req->api_version >= 7;
    resp.protocol_type = kstr_from_cstr(r->protocol_type);
    resp.protocol_name = kstr_from_cstr(r->protocol_name ? r->protocol_name : (nullable ? NULL : ""));
    resp.leader = kstr_from_cstr(r->leader_id ? r->leader_id : "");
    resp.member_id = kstr_from_cstr(r->member_id ? r->member_id : "");
    /* Below v9 the field does not exist: the leader assigns, and its SyncGroup
     * gets the stored assignment back, since the group is Stable. */
    resp.skip_assignment = r->skip_assignment && req->api_version >= 9;
    if (r->member_count > 0) {
        resp.members = request_alloc(req, (size_t)r->member_count * sizeof *resp.members);
        resp.members_count = resp.members ? r->member_count : 0;
        for (int32_t i = 0; i < resp.members_count; i++) {
            struct join_group_response_member *mm = &resp.members[i];
            join_group_response_member_init(mm);
            mm->member_id = kstr_from_cstr(r->members[i].member_id);
            mm->group_instance_id = kstr_from_cstr(r->members[i].group_instance_id);
            mm->metadata.ptr = r->members[i].metadata;
            mm->metadata.len = r->members[i].metadata_len;
        }
    }
    request_respond(req, &resp); /* encodes now, while the coordinator's pointers are valid */
}

void handle_join_group(struct request *req)
{
    const struct join_group_request *m = req->body;
    struct group_coordinator *gc = groups_coordinator(req->broker);
    if (!gc) {
        struct group_join_result r = {.error = KAFKA_COORDINATOR_NOT_AVAILABLE, .generation = -1};
        join_answered(req, &r);
        return;
    }
    int32_t n = m->protocols_count > 0 ? m->protocols_count : 0;
    struct group_protocol *protocols = request_alloc(req, (size_t)(n + 1) * sizeof *protocols);
    if (!protocols)
        n = 0;
    for (int32_t i = 0; i < n; i++) {
        protocols[i].name = m->protocols[i].name;
        protocols[i].metadata = m->protocols[i].metadata;
    }
    struct group_join_params p = {
        .group_id = m->group_id,
        .member_id = m->member_id,
        .group_instance_id = m->group_instance_id,
        .protocol_type = m->protocol_type,
        .client_id = req->client_id,
        .client_host = request_client_host(req),
        .session_timeout_ms = m->session_timeout_ms,
        .rebalance_timeout_ms = req->api_version >= 1 ? m->rebalance_timeout_ms : -1,
        .require_known_member_id = req->api_version >= 4,
        .protocols = protocols,
        .protocol_count = n,
    };
    group_join(gc, &p, groups_now_ms(), join_answered, req);
}

/* ---- SyncGroup ---- */

static void sync_answered(void *arg, const struct group_sync_result *r)
{
    struct request *req = arg;
    struct sync_group_response resp;
    sync_group_response_init(&resp);
    resp.error_code = r->error;
    resp.protocol_type = kstr_from_cstr(r->protocol_type);
    resp.protocol_name = kstr_from_cstr(r->protocol_name);
    resp.assignment.ptr = r->assignment ? r->assignment : (const uint8_t *)"";
    resp.assignment.len = r->assignment ? r->assignment_len : 0;
    request_respond(req, &resp);
}

void handle_sync_group(struct request *req)
{
    const struct sync_group_request *m = req->body;
    struct group_coordinator *gc = groups_coordinator(req->broker);
    if (!gc) {
        struct group_sync_result r = {.error = KAFKA_COORDINATOR_NOT_AVAILABLE};
        sync_answered(req, &r);
        return;
    }
    int32_t n = m->assignments_count > 0 ? m->assignments_count : 0;
    struct group_assignment *a = request_alloc(req, (size_t)(n + 1) * sizeof *a);
    if (!a)
        n = 0;
    for (int32_t i = 0; i < n; i++) {
        a[i].member_id = m->assignments[i].member_id;
        a[i].assignment = m->assignments[i].assignment;
    }
    struct group_sync_params p = {
        .group_id = m->group_id,
        .member_id = m->member_id,
        .group_instance_id = m->group_instance_id,
        .protocol_type = m->protocol_type,
        .protocol_name = m->protocol_name,
        .generation = m->generation_id,
        .assignments = a,
        .assignment_count = n,
    };
    group_sync(gc, &p, groups_now_ms(), sync_answered, req);
}

/* ---- Heartbeat ---- */

void handle_heartbeat(struct request *req)
{
    const struct heartbeat_request *m = req->body;
    struct heartbeat_response resp;
    heartbeat_response_init(&resp);
    struct group_coordinator *gc = groups_coordinator(req->broker);
    resp.error_code = gc ? group_heartbeat(gc, m->group_id, m->member_id, m->group_instance_id, m->generation_id,
                                           groups_now_ms())
                         : KAFKA_COORDINATOR_NOT_AVAILABLE;
    request_respond(req, &resp);
}

/* ---- LeaveGroup ---- */

void handle_leave_group(struct request *req)
{
    const struct leave_group_request *m = req->body;
    struct leave_group_response resp;
    leave_group_response_init(&resp);
    struct group_coordinator *gc = groups_coordinator(req->broker);
    int64_t now = groups_now_ms();
    if (req->api_version < 3) {
        int16_t group_error = 0;
        resp.error_code = gc ? group_leave(gc, m->group_id, m->member_id, kstr_null(), now, &group_error)
                             : KAFKA_COORDINATOR_NOT_AVAILABLE;
        request_respond(req, &resp);
        return;
    }
    if (!gc) {
        resp.error_code = KAFKA_COORDINATOR_NOT_AVAILABLE;
        request_respond(req, &resp);
        return;
    }
    int32_t n = m->members_count > 0 ? m->members_count : 0;
    resp.members = request_alloc(req, (size_t)(n + 1) * sizeof *resp.members);
    resp.members_count = resp.members ? n : 0;
    for (int32_t i = 0; i < resp.members_count; i++) {
        const struct leave_group_request_member_identity *who = &m->members[i];
        struct leave_group_response_member_response *out = &resp.members[i];
        leave_group_response_member_response_init(out);
        out->member_id = who->member_id;
        out->group_instance_id = who->group_instance_id;
        int16_t group_error = 0;
        out->error_code = group_leave(gc, m->group_id, who->member_id, who->group_instance_id, now, &group_error);
        if (group_error) {
            resp.error_code = group_error;
            resp.members_count = 0;
            break;
        }
    }
    request_respond(req, &resp);
}

/* ---- ListGroups ---- */

struct list_ctx {
    struct request *req;
    const struct list_groups_request *filter;
    struct list_groups_response *resp;
    int32_t cap; /* 0 while counting */
};

static bool state_wanted(const struct list_groups_request *m, int16_t version, const char *state)
{
    if (version < 4 || m->states_filter_count <= 0)
        return true;
    for (int32_t i = 0; i < m->states_filter_count; i++) {
        struct kstr s = m->states_filter[i];
        if (!kstr_is_null(s) && strlen(state) == (size_t)s.len && strncasecmp(state, s.ptr, (size_t)s.len) == 0)
            return true;
    }
    return false;
}

static bool type_wanted(const struct list_groups_request *m, int16_t version, const char *type)
{
    if (version < 5 || m->types_filter_count <= 0)
        return true;
    for (int32_t i = 0; i < m->types_filter_count; i++) {
        struct kstr s = m->types_filter[i];
        if (!kstr_is_null(s) && strlen(type) == (size_t)s.len && strncasecmp(s.ptr, type, (size_t)s.len) == 0)
            return true;
    }
    return false;
}

static void list_visit(void *arg, const struct group_listing *g)
{
    struct list_ctx *c = arg;
    if (!state_wanted(c->filter, c->req->api_version, g->state) ||
        !type_wanted(c->filter, c->req->api_version, g->type))
        return;
    if (c->cap == 0) {
        c->resp->groups_count++;
        return;
    }
    if (c->resp->groups_count >= c->cap)
        return;
    struct list_groups_response_listed_group *out = &c->resp->groups[c->resp->groups_count++];
    list_groups_response_listed_group_init(out);
    out->group_id = kstr_from_cstr(g->group_id);
    out->protocol_type = kstr_from_cstr(g->protocol_type);
    out->group_state = kstr_from_cstr(g->state);
    out->group_type = kstr_from_cstr(g->type);
}

void handle_list_groups(struct request *req)
{
    struct list_groups_response resp;
    list_groups_response_init(&resp);
    struct group_coordinator *gc = groups_coordinator(req->broker);
    if (!gc) {
        resp.error_code = KAFKA_COORDINATOR_NOT_AVAILABLE;
        request_respond(req, &resp);
        return;
    }
    struct list_ctx c = {.req = req, .filter = req->body, .resp = &resp, .cap = 0};
    group_list(gc, list_visit, &c);
    int32_t n = resp.groups_count;
    resp.groups_count = 0;
    resp.groups = request_alloc(req, (size_t)(n + 1) * sizeof *resp.groups);
    if (resp.groups && n > 0) {
        c.cap = n;
        group_list(gc, list_visit, &c);
    }
    request_respond(req, &resp);
}

/* ---- DescribeGroups ---- */

struct describe_ctx {
    struct request *req;
    struct describe_groups_response_described_group *out;
};

static void describe_answered(void *arg, const struct group_description *d)
{
    struct describe_ctx *c = arg;
    struct request *req = c->req;
    struct describe_groups_response_described_group *out = c->out;
    out->error_code = d->error;
    out->group_state = request_kstr(req, d->state);
    out->protocol_type = request_kstr(req, d->protocol_type);
    out->protocol_data = request_kstr(req, d->protocol_name);
    out->members = request_alloc(req, (size_t)(d->member_count + 1) * sizeof *out->members);
    out->members_count = out->members ? d->member_count : 0;
    for (int32_t i = 0; i < out->members_count; i++) {
        const struct group_member_description *md = &d->members[i];
        struct describe_groups_response_described_group_member *mm = &out->members[i];
        describe_groups_response_described_group_member_init(mm);
        mm->member_id = request_kstr(req, md->member_id);
        mm->group_instance_id = request_kstr(req, md->group_instance_id);
        mm->client_id = request_kstr(req, md->client_id);
        mm->client_host = request_kstr(req, md->client_host);
        uint8_t *meta = request_alloc(req, (size_t)md->metadata_len + 1);
        uint8_t *asg = request_alloc(req, (size_t)md->assignment_len + 1);
        if (meta && md->metadata_len > 0)
            memcpy(meta, md->metadata, (size_t)md->metadata_len);
        if (asg && md->assignment_len > 0)
            memcpy(asg, md->assignment, (size_t)md->assignment_len);
        mm->member_metadata.ptr = meta ? meta : (const uint8_t *)"";
        mm->member_metadata.len = meta ? md->metadata_len : 0;
        mm->member_assignment.ptr = asg ? asg : (const uint8_t *)"";
        mm->member_assignment.len = asg ? md->assignment_len : 0;
    }
}

void handle_describe_groups(struct request *req)
{
    const struct describe_groups_request *m = req->body;
    struct describe_groups_response resp;
    describe_groups_response_init(&resp);
    struct group_coordinator *gc = groups_coordinator(req->broker);
    int32_t n = m->groups_count > 0 ? m->groups_count : 0;
    resp.groups = request_alloc(req, (size_t)(n + 1) * sizeof *resp.groups);
    resp.groups_count = resp.groups ? n : 0;
    for (int32_t i = 0; i < resp.groups_count; i++) {
        struct describe_groups_response_described_group *out = &resp.groups[i];
        describe_groups_response_described_group_init(out);
        out->group_id = m->groups[i];
        out->group_state = kstr_from_cstr("");
        out->protocol_type = kstr_from_cstr("");
        out->protocol_data = kstr_from_cstr("");
        if (req->api_version >= 3 && m->include_authorized_operations)
            out->authorized_operations = GROUP_AUTHORIZED_OPERATIONS;
        if (!gc) {
            out->error_code = KAFKA_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        if (kstr_is_null(m->groups[i]) || m->groups[i].len == 0) {
            out->error_code = KAFKA_INVALID_GROUP_ID;
            continue;
        }
        struct describe_ctx c = {req, out};
        group_describe(gc, m->groups[i], describe_answered, &c);
    }
    request_respond(req, &resp);
}

/* ---- DeleteGroups ---- */

struct delete_ctx {
    struct request *req;
    struct delete_groups_response resp;
    int32_t outstanding; /* durable writes still awaited, +1 while the handler runs */
};

static void delete_step(void *arg, int16_t error)
{
    (void)error; /* the in-memory deletion already happened; a failed write is logged by storage */
    struct delete_ctx *c = arg;
    if (--c->outstanding == 0)
        request_respond(c->req, &c->resp);
}

void handle_delete_groups(struct request *req)
{
    const struct delete_groups_request *m = req->body;
    struct delete_ctx *c = request_alloc(req, sizeof *c);
    if (!c) {
        struct delete_groups_response resp;
        delete_groups_response_init(&resp);
        request_respond(req, &resp);
        return;
    }
    c->req = req;
    delete_groups_response_init(&c->resp);
    struct group_coordinator *gc = groups_coordinator(req->broker);
    int32_t n = m->groups_names_count > 0 ? m->groups_names_count : 0;
    c->resp.results = request_alloc(req, (size_t)(n + 1) * sizeof *c->resp.results);
    c->resp.results_count = c->resp.results ? n : 0;
    c->outstanding = 1;
    int64_t now = groups_now_ms();
    for (int32_t i = 0; i < c->resp.results_count; i++) {
        struct delete_groups_response_deletable_group_result *r = &c->resp.results[i];
        delete_groups_response_deletable_group_result_init(r);
        r->group_id = m->groups_names[i];
        if (!gc) {
            r->error_code = KAFKA_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        c->outstanding++;
        r->error_code = group_delete(gc, m->groups_names[i], now, delete_step, c);
        if (r->error_code)
            c->outstanding--;
    }
    delete_step(c, 0);
}
