/*
 * list_offsets.c - ListOffsets (key 2) and OffsetForLeaderEpoch (key 23).
 *
 * ListOffsets: earliest (-2) is the log start offset, latest (-1) the high
 * watermark (= last stable offset until transactions exist), max timestamp
 * (-3, v7+) the first record carrying the newest timestamp (a LogAppendTime
 * batch's base offset), earliest-local (-4, v8+) the
 * same as earliest since every segment is local; anything else is the first
 * offset whose timestamp is at least the one asked for. From v1 a partition
 * named more than once is refused with INVALID_REQUEST in every copy, as
 * Kafka's handleListOffsetRequestV1AndAbove does; v0 answers every copy
 * (Kafka's v0 handler does not look for duplicates either).
 */
#include <string.h>

#include "log/partition_log.h"
#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/partition_keys.h"
#include "server/partitions.h"
#include "server/request.h"

#define EARLIEST_LOCAL_TIMESTAMP (-4)

/* Leader-epoch check shared by both APIs: 0 or the error to report. */
static int16_t check_leader_epoch(const struct partition_state *p, int32_t current_leader_epoch)
{
    if (current_leader_epoch < 0 || current_leader_epoch == p->leader_epoch)
        return KAFKA_NONE;
    return current_leader_epoch > p->leader_epoch ? KAFKA_UNKNOWN_LEADER_EPOCH : KAFKA_FENCED_LEADER_EPOCH;
}

/* The partition's runtime, or an error for it. */
static struct partition_runtime *lookup(struct request *req, struct kstr topic, int32_t partition,
                                        const struct partition_state **ps, int16_t *err)
{
    *err = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
    if (kstr_is_null(topic))
        return NULL;
    const struct topic_state *t = metadata_topic_by_name(&req->broker->image, topic.ptr, (size_t)topic.len);
    if (!t || partition < 0 || partition >= t->partition_count)
        return NULL;
    *ps = &t->partitions[partition];
    struct partition_runtime *rt = partitions_of_topic(req->broker, t, partition);
    *err = rt ? KAFKA_NONE : KAFKA_NOT_LEADER_OR_FOLLOWER;
    return rt;
}

static void list_partition(struct request *req, struct kstr topic,
                           const struct list_offsets_request_list_offsets_partition *in,
                           struct list_offsets_response_list_offsets_partition_response *out)
{
    out->partition_index = in->partition_index;
    const struct partition_state *ps = NULL;
    int16_t err;
    struct partition_runtime *rt = lookup(req, topic, in->partition_index, &ps, &err);
    if (!err)
        err = check_leader_epoch(ps, in->current_leader_epoch);
    if (err) {
        out->error_code = err;
        return;
    }
    int64_t ts = in->timestamp, offset = -1, found_ts = -1;
    if (ts == LOG_TIMESTAMP_LATEST) {
        offset = partition_log_high_watermark(rt->log);
    } else if (ts == LOG_TIMESTAMP_EARLIEST || ts == EARLIEST_LOCAL_TIMESTAMP) {
        offset = partition_log_start_offset(rt->log);
    } else if (ts < LOG_TIMESTAMP_MAX) {
        out->error_code = KAFKA_UNSUPPORTED_VERSION;
        return;
    } else {
        int rc = partition_log_offset_for_timestamp(rt->log, ts, &offset, &found_ts);
        if (rc) {
            out->error_code = (int16_t)rc;
            return;
        }
    }
    out->offset = offset;
    out->timestamp = found_ts;
    out->leader_epoch = offset >= 0 ? ps->leader_epoch : -1;
    if (req->api_version == 0) {
        out->old_style_offsets = request_alloc(req, sizeof *out->old_style_offsets);
        out->old_style_offsets_count = out->old_style_offsets && offset >= 0 && in->max_num_offsets > 0 ? 1 : 0;
        if (out->old_style_offsets_count)
            out->old_style_offsets[0] = offset;
    }
}

/* For each position of the request (counting across topics), whether its
 * partition is named more than once. NULL: no memory. */
static bool *find_duplicates(struct request *req, const struct list_offsets_request *m)
{
    int32_t n = 0;
    for (int32_t i = 0; i < m->topics_count; i++)
        n += m->topics[i].partitions_count > 0 ? m->topics[i].partitions_count : 0;
    struct partition_key *keys = request_alloc(req, (size_t)n * sizeof *keys + 1);
    bool *duplicate = request_alloc(req, (size_t)n * sizeof *duplicate + 1);
    if (!keys || !duplicate)
        return NULL;
    int32_t at = 0;
    for (int32_t i = 0; i < m->topics_count; i++)
        for (int32_t j = 0; j < m->topics[i].partitions_count; j++, at++)
            keys[at] = (struct partition_key){m->topics[i].name, {{0}}, m->topics[i].partitions[j].partition_index, at};
    partition_keys_sort(keys, n);
    for (int32_t k = 0; k < n; k++)
        duplicate[keys[k].position] = (k > 0 && partition_keys_same(&keys[k - 1], &keys[k])) ||
                                      (k + 1 < n && partition_keys_same(&keys[k], &keys[k + 1]));
    return duplicate;
}

void handle_list_offsets(struct request *req)
{
    const struct list_offsets_request *m = req->body;
    struct list_offsets_response resp;
    list_offsets_response_init(&resp);
    int32_t topics = m->topics_count > 0 ? m->topics_count : 0;
    resp.topics = request_alloc(req, (size_t)topics * sizeof *resp.topics + 1);
    resp.topics_count = resp.topics ? topics : 0;
    bool *duplicate = req->api_version >= 1 ? find_duplicates(req, m) : NULL;
    if (req->api_version >= 1 && !duplicate) {
        request_abort(req, "out of memory");
        return;
    }
    int32_t position = 0;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        const struct list_offsets_request_list_offsets_topic *in = &m->topics[i];
        struct list_offsets_response_list_offsets_topic_response *out = &resp.topics[i];
        list_offsets_response_list_offsets_topic_response_init(out);
        out->name = in->name;
        int32_t parts = in->partitions_count > 0 ? in->partitions_count : 0;
        out->partitions = request_alloc(req, (size_t)parts * sizeof *out->partitions + 1);
        out->partitions_count = out->partitions ? parts : 0;
        const bool *duplicate_here = duplicate ? duplicate + position : NULL;
        position += parts;
        for (int32_t j = 0; j < out->partitions_count; j++) {
            list_offsets_response_list_offsets_partition_response_init(&out->partitions[j]);
            if (duplicate_here && duplicate_here[j]) {
                out->partitions[j].partition_index = in->partitions[j].partition_index;
                out->partitions[j].error_code = KAFKA_INVALID_REQUEST;
                continue;
            }
            list_partition(req, in->name, &in->partitions[j], &out->partitions[j]);
        }
    }
    request_respond(req, &resp);
}

static void epoch_partition(struct request *req, struct kstr topic,
                            const struct offset_for_leader_epoch_request_offset_for_leader_partition *in,
                            struct offset_for_leader_epoch_response_epoch_end_offset *out)
{
    out->partition = in->partition;
    const struct partition_state *ps = NULL;
    int16_t err;
    struct partition_runtime *rt = lookup(req, topic, in->partition, &ps, &err);
    if (!err)
        err = check_leader_epoch(ps, in->current_leader_epoch);
    if (err) {
        out->error_code = err;
        return;
    }
    int64_t end_offset;
    int32_t found_epoch;
    int32_t latest = partition_log_latest_epoch(rt->log);
    if (in->leader_epoch > latest && in->leader_epoch <= ps->leader_epoch) {
        /* Kafka records the leader's epoch at the log end when it is elected;
         * here epochs are recorded by appends, so those after the latest
         * recorded one (and the current one) start at the log end. */
        found_epoch = in->leader_epoch == ps->leader_epoch || latest < 0 ? in->leader_epoch : latest;
        end_offset = partition_log_end_offset(rt->log);
    } else {
        partition_log_end_offset_for_epoch(rt->log, in->leader_epoch, &end_offset, &found_epoch);
    }
    out->leader_epoch = found_epoch;
    out->end_offset = end_offset;
}

void handle_offset_for_leader_epoch(struct request *req)
{
    const struct offset_for_leader_epoch_request *m = req->body;
    struct offset_for_leader_epoch_response resp;
    offset_for_leader_epoch_response_init(&resp);
    int32_t topics = m->topics_count > 0 ? m->topics_count : 0;
    resp.topics = request_alloc(req, (size_t)topics * sizeof *resp.topics + 1);
    resp.topics_count = resp.topics ? topics : 0;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        const struct offset_for_leader_epoch_request_offset_for_leader_topic *in = &m->topics[i];
        struct offset_for_leader_epoch_response_offset_for_leader_topic_result *out = &resp.topics[i];
        offset_for_leader_epoch_response_offset_for_leader_topic_result_init(out);
        out->topic = in->topic;
        int32_t parts = in->partitions_count > 0 ? in->partitions_count : 0;
        out->partitions = request_alloc(req, (size_t)parts * sizeof *out->partitions + 1);
        out->partitions_count = out->partitions ? parts : 0;
        for (int32_t j = 0; j < out->partitions_count; j++) {
            offset_for_leader_epoch_response_epoch_end_offset_init(&out->partitions[j]);
            epoch_partition(req, in->topic, &in->partitions[j], &out->partitions[j]);
        }
    }
    request_respond(req, &resp);
}
