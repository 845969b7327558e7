/*
 * fetch.c - Fetch (key 1) for consumers: read whole batches from the
 * partition logs and send them zero-copy; park the request when there is
 * less than min_bytes, until an append or max_wait_ms (a fetch of no
 * partitions is answered at once, as in Kafka). Ranges that drop-behind
 * evicted from the page cache are first read back in by the log's pager
 * thread, so the loop never waits for the disk.
 *
 * Versions 4-17. Fetch sessions (KIP-227) live in fetch_session.c; this file
 * answers whatever partition set the session layer hands it.
 * read_committed sees the same data as read_uncommitted until transactions
 * exist: the last stable offset is the high watermark.
 */
#include <string.h>

#include "log/log_manager.h"
#include "log/partition_log.h"
#include "net/connection.h"
#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/fetch_encode.h"
#include "server/fetch_session.h"
#include "server/partitions.h"
#include "server/request.h"
#include "util/logger.h"

/* How far eddy.fetch.response.bytes grows with a connection's round trip:
 * 1 GB/s, as bytes per microsecond. */
#define FETCH_BYTES_PER_RTT_US 1000u

struct fetch_op;

struct fetch_watch {
    struct partition_waiter waiter; /* first: the callback casts back */
    struct fetch_op *op;
};

struct fetch_op {
    struct request *req;
    struct reactor_timer timer;
    int64_t deadline_ms;
    size_t max_bytes;       /* the response's limit: response_byte_limit() */
    struct fetch_plan plan; /* what to read, from the session layer */
    struct fetch_watch *watches;
    int32_t watch_count;
    bool parked;
    bool cold_checked; /* cold spans were looked for (once per request) */
    struct reactor_call paged_in; /* posted by the pager thread (cannot fail) */
    struct fetch_op *parked_next, *parked_prev; /* broker->parked_fetches while parked */
};

static void fetch_run(struct fetch_op *op);

static const struct topic_state *find_topic(struct broker *b, const struct fetch_plan_partition *p)
{
    if (p->topic.len >= 0)
        return metadata_topic_by_name(&b->image, p->topic.ptr, (size_t)p->topic.len);
    return metadata_topic_by_id(&b->image, p->topic_id);
}

/* The partition's runtime, or NULL (unknown topic or partition, or not hosted here). */
static struct partition_runtime *plan_partition_runtime(struct broker *b, const struct fetch_plan_partition *p)
{
    return partitions_of_topic(b, find_topic(b, p), p->partition);
}

/* Read one partition into out; returns bytes read. */
static size_t read_partition(struct fetch_op *op, const struct fetch_plan_partition *p,
                             struct fetch_out_partition *out, size_t budget, bool min_one)
{
    struct request *req = op->req;
    const struct fetch_request *m = req->body;
    out->partition_index = p->partition;
    out->high_watermark = out->last_stable_offset = out->log_start_offset = -1;
    out->read_committed = m->isolation_level == 1;
    const struct topic_state *t = find_topic(req->broker, p);
    if (!t || p->partition < 0 || p->partition >= t->partition_count) {
        out->error_code = p->topic.len >= 0 ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : KAFKA_UNKNOWN_TOPIC_ID;
        return 0;
    }
    int32_t leader_epoch = t->partitions[p->partition].leader_epoch;
    if (p->current_leader_epoch >= 0 && p->current_leader_epoch != leader_epoch) {
        out->error_code = p->current_leader_epoch > leader_epoch ? KAFKA_UNKNOWN_LEADER_EPOCH
                                                                 : KAFKA_FENCED_LEADER_EPOCH;
        return 0;
    }
    struct partition_runtime *rt = partitions_of_topic(req->broker, t, p->partition);
    if (!rt) {
        out->error_code = KAFKA_NOT_LEADER_OR_FOLLOWER;
        return 0;
    }
    size_t limit = p->max_bytes < 0 ? 0 : (size_t)p->max_bytes;
    if (limit > budget)
        limit = budget;
    int rc = partition_log_read(rt->log, p->fetch_offset, limit, partition_log_high_watermark(rt->log), min_one,
                                &out->data);
    out->high_watermark = out->data.high_watermark;
    out->last_stable_offset = out->data.high_watermark;
    out->log_start_offset = out->data.log_start_offset;
    if (rc) {
        log_read_result_release(&out->data);
        out->error_code = (int16_t)rc;
        return 0;
    }
    return out->data.total_bytes;
}

static void release_reads(struct fetch_out *out)
{
    for (int32_t i = 0; i < out->topic_count; i++)
        for (int32_t j = 0; j < out->topics[i].partition_count; j++)
            log_read_result_release(&out->topics[i].partitions[j].data);
}

/* Read everything the plan asks for. Returns total bytes; *errors counts partition errors. */
static size_t read_all(struct fetch_op *op, struct fetch_out *out, int *errors)
{
    size_t budget = op->max_bytes;
    size_t total = 0;
    *errors = 0;
    for (int32_t i = 0; i < out->topic_count; i++) {
        struct fetch_out_topic *t = &out->topics[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            const struct fetch_plan_partition *p = &op->plan.topics[i].partitions[j];
            size_t got = read_partition(op, p, &t->partitions[j], budget - total, total == 0);
            total += got;
            if (total > budget)
                budget = total; /* the first batch may exceed max_bytes (KIP-74) */
            if (t->partitions[j].error_code)
                (*errors)++;
        }
    }
    return total;
}

static int build_out(struct fetch_op *op, struct fetch_out *out)
{
    memset(out, 0, sizeof *out);
    out->session_id = op->plan.session_id;
    out->topic_count = op->plan.topic_count;
    out->topics = request_alloc(op->req, (size_t)out->topic_count * sizeof *out->topics + 1);
    if (!out->topics)
        return -1;
    for (int32_t i = 0; i < out->topic_count; i++) {
        const struct fetch_plan_topic *pt = &op->plan.topics[i];
        struct fetch_out_topic *t = &out->topics[i];
        t->name = pt->partition_count ? pt->partitions[0].topic : kstr_null();
        t->id = pt->partition_count ? pt->partitions[0].topic_id : (struct kuuid){{0}};
        t->partition_count = pt->partition_count;
        t->partitions = request_alloc(op->req, (size_t)pt->partition_count * sizeof *t->partitions + 1);
        if (!t->partitions)
            return -1;
    }
    return 0;
}

static void unpark(struct fetch_op *op)
{
    struct broker *b = op->req->broker;
    for (int32_t i = 0; i < op->watch_count; i++)
        partitions_cancel_wait(&op->watches[i].waiter);
    reactor_timer_cancel(b->reactor, &op->timer);
    op->parked = false;
    if (op->parked_prev)
        op->parked_prev->parked_next = op->parked_next;
    else
        b->parked_fetches = op->parked_next;
    if (op->parked_next)
        op->parked_next->parked_prev = op->parked_prev;
    op->parked_next = op->parked_prev = NULL;
}

static void on_data(struct partition_waiter *w, int error)
{
    (void)error;
    struct fetch_op *op = ((struct fetch_watch *)w)->op;
    unpark(op);
    fetch_run(op);
}

static void on_timeout(struct reactor_timer *t)
{
    struct fetch_op *op = (struct fetch_op *)((char *)t - offsetof(struct fetch_op, timer));
    unpark(op);
    op->deadline_ms = 0; /* answer now with what there is */
    fetch_run(op);
}

/* Wait for an append to any partition of the plan, or the deadline. */
static void park(struct fetch_op *op)
{
    struct broker *b = op->req->broker;
    int32_t n = fetch_plan_partition_count(&op->plan);
    if (!op->watches) {
        op->watches = request_alloc(op->req, (size_t)n * sizeof *op->watches + 1);
        op->watch_count = op->watches ? n : 0;
    }
    int32_t k = 0;
    for (int32_t i = 0; i < op->plan.topic_count && op->watches; i++)
        for (int32_t j = 0; j < op->plan.topics[i].partition_count; j++) {
            const struct fetch_plan_partition *p = &op->plan.topics[i].partitions[j];
            struct partition_runtime *rt = plan_partition_runtime(b, p);
            struct fetch_watch *fw = &op->watches[k++];
            fw->op = op;
            fw->waiter.fire = on_data;
            if (rt)
                partitions_wait_data(rt, &fw->waiter);
        }
    reactor_timer_init(&op->timer, on_timeout);
    reactor_timer_start(b->reactor, &op->timer, op->deadline_ms - reactor_now_ms(b->reactor));
    op->parked = true;
    op->parked_prev = NULL;
    op->parked_next = b->parked_fetches;
    if (op->parked_next)
        op->parked_next->parked_prev = op;
    b->parked_fetches = op;
}

/* Once shutting_down is set a fetch never parks again, so this empties the
 * list: consumers hear back at once instead of holding the shutdown for
 * their max_wait_ms, and nothing waits on partitions when they are freed. */
void fetch_answer_all_waiting(struct broker *b)
{
    while (b->parked_fetches) {
        struct fetch_op *op = b->parked_fetches;
        unpark(op);
        fetch_run(op);
    }
}

/* ---- cold data: read back into the page cache off the loop first ---- */

static void on_paged_in_loop(void *arg)
{
    fetch_run(arg);
}

static void on_paged_in(void *arg) /* pager thread */
{
    struct fetch_op *op = arg;
    op->paged_in = (struct reactor_call){.fn = on_paged_in_loop, .arg = op};
    reactor_post_call(op->req->broker->reactor, &op->paged_in);
}

/* Hand the spans of the plan that drop-behind evicted to the pager. True if
 * the fetch now waits for it; it runs again once they are read in. */
static bool page_in_cold_spans(struct fetch_op *op)
{
    struct broker *b = op->req->broker;
    struct log_pager *pager = b->logs ? log_manager_pager(b->logs) : NULL;
    if (!pager)
        return false;
    size_t budget = op->max_bytes;
    int32_t count = 0;
    for (int32_t i = 0; i < op->plan.topic_count; i++)
        count += op->plan.topics[i].partition_count;
    struct log_read_range *spans = NULL;
    size_t n = 0;
    /* Only the partitions the response has room for: the rest are read by a later fetch. */
    for (int32_t i = 0; i < op->plan.topic_count && budget > 0; i++)
        for (int32_t j = 0; j < op->plan.topics[i].partition_count && budget > 0; j++) {
            const struct fetch_plan_partition *p = &op->plan.topics[i].partitions[j];
            struct partition_runtime *rt = plan_partition_runtime(b, p);
            size_t limit = p->max_bytes > 0 ? (size_t)p->max_bytes : 0;
            struct log_read_range found[LOG_READ_MAX_RANGES]; /* a read has at most as many segments */
            size_t touched = 0, k = 0;
            if (rt)
                k = partition_log_cold_spans(rt->log, p->fetch_offset, limit < budget ? limit : budget, found,
                                             LOG_READ_MAX_RANGES, &touched);
            budget -= touched < budget ? touched : budget;
            if (k == 0)
                continue;
            if (!spans)
                spans = request_alloc(op->req, (size_t)count * LOG_READ_MAX_RANGES * sizeof *spans);
            if (!spans) {
                while (k > 0)
                    log_read_range_release(&found[--k]);
                return false; /* read on the spot */
            }
            memcpy(spans + n, found, k * sizeof *found);
            n += k;
        }
    if (n == 0)
        return false;
    log_debug("fetch", "fetch from %s waits for %zu cold span(s) to be read in", op->req->peer, n);
    return log_pager_load(pager, spans, n, on_paged_in, op) == 0;
}

static void fetch_run(struct fetch_op *op)
{
    struct request *req = op->req;
    const struct fetch_request *m = req->body;
    if (!op->cold_checked) {
        op->cold_checked = true; /* once: what is evicted again meanwhile is read on the spot */
        if (page_in_cold_spans(op))
            return;
    }
    struct fetch_out out;
    if (build_out(op, &out) < 0) {
        request_abort(req, "out of memory");
        return;
    }
    int errors;
    size_t total = read_all(op, &out, &errors);
    /* No partitions: nothing could ever arrive, so Kafka answers at once. */
    bool enough = total >= (size_t)(m->min_bytes > 0 ? m->min_bytes : 0) || errors > 0 ||
                  fetch_plan_partition_count(&op->plan) == 0;
    bool time_left = op->deadline_ms > reactor_now_ms(req->broker->reactor);
    if (!enough && time_left && !request_orphaned(req) && !req->broker->shutting_down) {
        release_reads(&out);
        park(op);
        return;
    }
    fetch_session_note_response(req->broker, &op->plan, &out);
    if (fetch_respond(req, &out) < 0) {
        release_reads(&out);
        request_abort(req, "cannot encode fetch response");
    }
}

/* Kafka bounds a response by the fetch's max_bytes and the broker's
 * fetch.max.bytes. Eddy also keeps it to eddy.fetch.response.bytes where
 * the next fetch is only a short round trip away: a consumer parses a
 * 1 MiB response while it is still in its caches, where 16 MiB costs
 * librdkafka fresh pages and misses (measured: 2.5x the throughput at a
 * third of its CPU). On a longer path the limit grows with the round trip
 * (1 GB/s times the smallest RTT), so far consumers are not slowed. A
 * fetch whose min_bytes is above it gets Kafka's limits: whole batches
 * under a limit of min_bytes could fall short of it and wait for nothing. */
static size_t response_byte_limit(struct request *req)
{
    const struct fetch_request *m = req->body;
    const struct broker_config *cfg = req->broker->config;
    size_t limit = m->max_bytes > 0 ? (size_t)m->max_bytes : 0;
    if ((size_t)cfg->fetch_max_bytes < limit)
        limit = (size_t)cfg->fetch_max_bytes;
    if (cfg->fetch_response_bytes < 0)
        return limit;
    size_t near = (size_t)cfg->fetch_response_bytes;
    int64_t rtt_us = req->slot.conn ? connection_min_rtt_us(req->slot.conn, reactor_now_ms(req->broker->reactor)) : 0;
    if ((uint64_t)rtt_us * FETCH_BYTES_PER_RTT_US > near)
        near = (size_t)((uint64_t)rtt_us * FETCH_BYTES_PER_RTT_US);
    if (m->min_bytes > 0 && (size_t)m->min_bytes > near)
        return limit; /* whole batches up to min_bytes could still fall short of it */
    return near < limit ? near : limit;
}

void handle_fetch(struct request *req)
{
    const struct fetch_request *m = req->body;
    struct fetch_op *op = request_alloc(req, sizeof *op);
    if (!op) {
        request_abort(req, "out of memory");
        return;
    }
    op->req = req;
    op->max_bytes = response_byte_limit(req);
    op->deadline_ms = reactor_now_ms(req->broker->reactor) + (m->max_wait_ms > 0 ? m->max_wait_ms : 0);
    int16_t err = fetch_session_plan(req->broker, req, &op->plan);
    if (err) {
        struct fetch_out out = {.error_code = err};
        fetch_respond(req, &out);
        return;
    }
    fetch_run(op);
}
