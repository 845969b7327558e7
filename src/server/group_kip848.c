/*
 * group_kip848.c - handlers of the KIP-848 consumer group APIs:
 * ConsumerGroupHeartbeat (key 68) and ConsumerGroupDescribe (key 69). The
 * protocol (epochs, server-side assignment, reconciliation) lives in
 * src/group/group_consumer.c; this file only translates.
 */
#include <stdio.h>
#include <string.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/authorized_operations.h"
#include "server/broker.h"
#include "server/groups.h"
#include "server/request.h"

/* ---- ConsumerGroupHeartbeat ---- */

static void heartbeat_answered(void *arg, const struct group_consumer_heartbeat_result *r)
{
    struct request *req = arg;
    struct consumer_group_heartbeat_response resp;
    consumer_group_heartbeat_response_init(&resp);
    resp.error_code = r->error;
    resp.error_message = request_kstr(req, r->error_message);
    resp.member_id = request_kstr(req, r->member_id);
    resp.member_epoch = r->member_epoch;
    resp.heartbeat_interval_ms = r->heartbeat_interval_ms;
    if (!r->error && r->has_assignment) {
        struct consumer_group_heartbeat_response_assignment *a = request_alloc(req, sizeof *a);
        if (a) {
            consumer_group_heartbeat_response_assignment_init(a);
            a->topic_partitions = request_alloc(req, (size_t)(r->assignment_count + 1) * sizeof *a->topic_partitions);
            a->topic_partitions_count = a->topic_partitions ? r->assignment_count : 0;
            for (int32_t i = 0; i < a->topic_partitions_count; i++) {
                struct consumer_group_heartbeat_response_topic_partitions *t = &a->topic_partitions[i];
                consumer_group_heartbeat_response_topic_partitions_init(t);
                t->topic_id = r->assignment[i].topic_id;
                t->partitions = request_alloc(req, (size_t)(r->assignment[i].count + 1) * sizeof *t->partitions);
                t->partitions_count = t->partitions ? r->assignment[i].count : 0;
                if (t->partitions)
                    memcpy(t->partitions, r->assignment[i].partitions,
                           (size_t)t->partitions_count * sizeof *t->partitions);
            }
            resp.assignment = a;
        }
    }
    request_respond(req, &resp);
}

void handle_consumer_group_heartbeat(struct request *req)
{
    const struct consumer_group_heartbeat_request *m = req->body;
    struct group_coordinator *gc = groups_coordinator(req->broker);
    if (!gc) {
        struct group_consumer_heartbeat_result r = {.error = KAFKA_COORDINATOR_NOT_AVAILABLE};
        heartbeat_answered(req, &r);
        return;
    }
    int32_t owned_count = m->topic_partitions_count;
    struct group_topic_partitions *owned = NULL;
    if (owned_count > 0) {
        owned = request_alloc(req, (size_t)owned_count * sizeof *owned);
        if (!owned)
            owned_count = 0;
        for (int32_t i = 0; i < owned_count; i++) {
            owned[i].topic_id = m->topic_partitions[i].topic_id;
            owned[i].partitions = m->topic_partitions[i].partitions;
            owned[i].count = m->topic_partitions[i].partitions_count > 0 ? m->topic_partitions[i].partitions_count : 0;
        }
    }
    struct group_consumer_heartbeat_params p = {
        .api_version = req->api_version,
        .group_id = m->group_id,
        .member_id = m->member_id,
        .member_epoch = m->member_epoch,
        .instance_id = m->instance_id,
        .rack_id = m->rack_id,
        .client_id = req->client_id,
        .client_host = request_client_host(req),
        .rebalance_timeout_ms = m->rebalance_timeout_ms,
        .subscribed = m->subscribed_topic_names,
        .subscribed_count = m->subscribed_topic_names_count,
        .subscribed_regex = req->api_version >= 1 ? m->subscribed_topic_regex : kstr_null(),
        .server_assignor = m->server_assignor,
        .owned = owned,
        .owned_count = owned_count,
    };
    group_consumer_heartbeat(gc, &p, groups_now_ms(), heartbeat_answered, req);
}

/* ---- ConsumerGroupDescribe ---- */

static void fill_assignment(struct request *req, struct consumer_group_describe_response_assignment *out,
                            const struct group_topic_partitions *in, int32_t count)
{
    consumer_group_describe_response_assignment_init(out);
    out->topic_partitions = request_alloc(req, (size_t)(count + 1) * sizeof *out->topic_partitions);
    out->topic_partitions_count = out->topic_partitions ? count : 0;
    for (int32_t i = 0; i < out->topic_partitions_count; i++) {
        struct consumer_group_describe_response_topic_partitions *t = &out->topic_partitions[i];
        consumer_group_describe_response_topic_partitions_init(t);
        t->topic_id = in[i].topic_id;
        t->topic_name = request_kstr(req, in[i].topic_name ? in[i].topic_name : "");
        t->partitions = request_alloc(req, (size_t)(in[i].count + 1) * sizeof *t->partitions);
        t->partitions_count = t->partitions ? in[i].count : 0;
        if (t->partitions)
            memcpy(t->partitions, in[i].partitions, (size_t)t->partitions_count * sizeof *t->partitions);
    }
}

struct describe_ctx {
    struct request *req;
    struct consumer_group_describe_response_described_group *out;
};

static void describe_answered(void *arg, const struct group_consumer_description *d)
{
    struct describe_ctx *c = arg;
    struct request *req = c->req;
    struct consumer_group_describe_response_described_group *out = c->out;
    out->error_code = d->error;
    out->error_message = request_kstr(req, d->error_message);
    out->group_state = request_kstr(req, d->state);
    out->group_epoch = d->group_epoch;
    out->assignment_epoch = d->assignment_epoch;
    out->assignor_name = request_kstr(req, d->assignor ? d->assignor : "");
    out->members = request_alloc(req, (size_t)(d->member_count + 1) * sizeof *out->members);
    out->members_count = out->members ? d->member_count : 0;
    for (int32_t i = 0; i < out->members_count; i++) {
        const struct group_consumer_member_description *md = &d->members[i];
        struct consumer_group_describe_response_member *mm = &out->members[i];
        consumer_group_describe_response_member_init(mm);
        mm->member_id = request_kstr(req, md->member_id);
        mm->instance_id = request_kstr(req, md->instance_id);
        mm->rack_id = request_kstr(req, md->rack_id);
        mm->member_epoch = md->member_epoch;
        mm->client_id = request_kstr(req, md->client_id);
        mm->client_host = request_kstr(req, md->client_host);
        mm->subscribed_topic_names = request_alloc(req, (size_t)(md->subscribed_count + 1) * sizeof(struct kstr));
        mm->subscribed_topic_names_count = mm->subscribed_topic_names ? md->subscribed_count : 0;
        for (int32_t k = 0; k < mm->subscribed_topic_names_count; k++)
            mm->subscribed_topic_names[k] = request_kstr(req, md->subscribed[k]);
        fill_assignment(req, &mm->assignment, md->assignment, md->assignment_count);
        fill_assignment(req, &mm->target_assignment, md->target, md->target_count);
    }
}

void handle_consumer_group_describe(struct request *req)
{
    const struct consumer_group_describe_request *m = req->body;
    struct consumer_group_describe_response resp;
    consumer_group_describe_response_init(&resp);
    struct group_coordinator *gc = groups_coordinator(req->broker);
    int32_t n = m->group_ids_count > 0 ? m->group_ids_count : 0;
    resp.groups = request_alloc(req, (size_t)(n + 1) * sizeof *resp.groups);
    resp.groups_count = resp.groups ? n : 0;
    for (int32_t i = 0; i < resp.groups_count; i++) {
        struct consumer_group_describe_response_described_group *out = &resp.groups[i];
        consumer_group_describe_response_described_group_init(out);
        out->group_id = m->group_ids[i];
        out->group_state = kstr_from_cstr("");
        out->assignor_name = kstr_from_cstr("");
        if (m->include_authorized_operations)
            out->authorized_operations = GROUP_AUTHORIZED_OPERATIONS;
        if (!gc) {
            out->error_code = KAFKA_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        if (kstr_is_null(m->group_ids[i]) || m->group_ids[i].len == 0) {
            out->error_code = KAFKA_INVALID_GROUP_ID;
            continue;
        }
        struct describe_ctx c = {req, out};
        group_consumer_describe(gc, m->group_ids[i], describe_answered, &c);
    }
    request_respond(req, &resp);
}
