/*
 * admin_records.c - DeleteRecords (key 21, v0-2) and DescribeProducers
 * (key 61, v0): moving a partition's log start offset, and listing the
 * idempotent producers a partition knows.
 */
#include <string.h>

#include "log/log_manager.h"
#include "log/producer_state.h"
#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/admin.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/partitions.h"
#include "server/request.h"

/* The partition log of (topic, partition), or NULL with *error set. */
static struct partition_log *find_log(struct broker *b, struct kstr topic, int32_t partition, int16_t *error)
{
    const struct topic_state *t =
        kstr_is_null(topic) ? NULL : metadata_topic_by_name(&b->image, topic.ptr, (size_t)topic.len);
    struct partition_log *log = NULL;
    if (t && partition >= 0 && partition < t->partition_count && b->logs)
        log = log_manager_get(b->logs, t->name, partition);
    *error = log ? KAFKA_NONE : KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
    return log;
}

static int16_t kafka_error_of_log(int rc)
{
    switch (rc) {
    case 0: return KAFKA_NONE;
    case LOG_ERR_OFFSET_OUT_OF_RANGE: return KAFKA_OFFSET_OUT_OF_RANGE;
    case LOG_ERR_KAFKA_STORAGE_ERROR: return KAFKA_KAFKA_STORAGE_ERROR;
    default: return KAFKA_UNKNOWN_SERVER_ERROR;
    }
}

static void fail_moved_partitions(struct delete_records_response *resp)
{
    for (int32_t i = 0; i < resp->topics_count; i++)
        for (int32_t j = 0; j < resp->topics[i].partitions_count; j++) {
            struct delete_records_response_delete_records_partition_result *pr = &resp->topics[i].partitions[j];
            if (pr->error_code == KAFKA_NONE) {
                pr->error_code = KAFKA_KAFKA_STORAGE_ERROR;
                pr->low_watermark = -1;
            }
        }
}

void handle_delete_records(struct request *req)
{
    const struct delete_records_request *m = req->body;
    struct broker *b = req->broker;
    struct delete_records_response resp;
    delete_records_response_init(&resp);
    int32_t n = m->topics_count > 0 ? m->topics_count : 0;
    resp.topics = request_alloc(req, sizeof *resp.topics * (size_t)(n + 1));
    resp.topics_count = resp.topics ? n : 0;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        const struct delete_records_request_delete_records_topic *in = &m->topics[i];
        struct delete_records_response_delete_records_topic_result *out = &resp.topics[i];
        delete_records_response_delete_records_topic_result_init(out);
        out->name = in->name;
        int32_t np = in->partitions_count > 0 ? in->partitions_count : 0;
        out->partitions = request_alloc(req, sizeof *out->partitions * (size_t)(np + 1));
        out->partitions_count = out->partitions ? np : 0;
        for (int32_t j = 0; j < out->partitions_count; j++) {
            struct delete_records_response_delete_records_partition_result *pr = &out->partitions[j];
            delete_records_response_delete_records_partition_result_init(pr);
            pr->partition_index = in->partitions[j].partition_index;
            pr->low_watermark = -1;
            int16_t err;
            struct partition_log *log = find_log(b, in->name, pr->partition_index, &err);
            if (!log) {
                pr->error_code = err;
                continue;
            }
            struct log_config config;
            partition_log_get_config(log, &config);
            if (!(config.cleanup_policy & LOG_CLEANUP_DELETE)) {
                pr->error_code = KAFKA_POLICY_VIOLATION; /* as Kafka: compacted topics keep their head */
                continue;
            }
            int64_t low = -1;
            int rc = partition_log_delete_records(log, in->partitions[j].offset, &low);
            pr->error_code = kafka_error_of_log(rc);
            pr->low_watermark = rc == 0 ? low : -1;
        }
    }
    if (b->logs && log_manager_persist_start_offsets(b->logs) != 0)
        fail_moved_partitions(&resp); /* not durable: a restart would undo them */
    request_respond(req, &resp);
}

/* ---------------------------------------------------------------- DescribeProducers */

typedef struct describe_producers_response_partition_response partition_out;

struct producer_fill {
    struct request *req;
    partition_out *out;
    int32_t cap;
};

static void count_producer(void *ctx, const struct producer_summary *p)
{
    (void)p;
    (*(int32_t *)ctx)++;
}

static void add_producer(void *ctx, const struct producer_summary *p)
{
    struct producer_fill *f = ctx;
    if (f->out->active_producers_count >= f->cap)
        return;
    struct describe_producers_response_producer_state *s = &f->out->active_producers[f->out->active_producers_count++];
    describe_producers_response_producer_state_init(s);
    s->producer_id = p->producer_id;
    s->producer_epoch = p->producer_epoch;
    s->last_sequence = p->last_sequence;
    s->last_timestamp = p->last_timestamp;
    s->coordinator_epoch = -1;
    s->current_txn_start_offset = -1;
}

static void describe_partition(struct request *req, struct kstr topic, int32_t partition, partition_out *out)
{
    struct broker *b = req->broker;
    describe_producers_response_partition_response_init(out);
    out->partition_index = partition;
    int16_t err;
    struct partition_log *log = find_log(b, topic, partition, &err);
    if (!log) {
        out->error_code = err;
        return;
    }
    struct partition_runtime *rt = partitions_for_log(b, log);
    if (!rt || !rt->producers)
        return; /* no idempotent producer has written here yet */
    int32_t count = 0;
    producer_state_foreach(rt->producers, count_producer, &count);
    out->active_producers = request_alloc(req, sizeof *out->active_producers * (size_t)(count + 1));
    if (!out->active_producers)
        return;
    struct producer_fill fill = {req, out, count};
    producer_state_foreach(rt->producers, add_producer, &fill);
}

void handle_describe_producers(struct request *req)
{
    const struct describe_producers_request *m = req->body;
    struct describe_producers_response resp;
    describe_producers_response_init(&resp);
    int32_t n = m->topics_count > 0 ? m->topics_count : 0;
    resp.topics = request_alloc(req, sizeof *resp.topics * (size_t)(n + 1));
    resp.topics_count = resp.topics ? n : 0;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        const struct describe_producers_request_topic_request *in = &m->topics[i];
        struct describe_producers_response_topic_response *out = &resp.topics[i];
        describe_producers_response_topic_response_init(out);
        out->name = in->name;
        int32_t np = in->partition_indexes_count > 0 ? in->partition_indexes_count : 0;
        out->partitions = request_alloc(req, sizeof *out->partitions * (size_t)(np + 1));
        out->partitions_count = out->partitions ? np : 0;
        for (int32_t j = 0; j < out->partitions_count; j++)
            describe_partition(req, in->name, in->partition_indexes[j], &out->partitions[j]);
    }
    request_respond(req, &resp);
}
