/*
 * produce.c - Produce (key 0): validate each partition's batches, append them,
 * and answer when the acks level is met.
 *
 * Versions: advertised 0-11 so that librdkafka enables compression (it looks
 * for v0 in the range); v0-2 carry the pre-0.11 message formats, which Eddy
 * does not store, and get UNSUPPORTED_VERSION per partition, as do magic 0/1
 * batches inside newer requests.
 *
 * acks=0: no response. acks=1: answered once the batch is in the page cache.
 * acks=all: answered once an fdatasync covers the batch (group commit by the
 * flusher thread), which is Eddy's durability promise.
 * Each partition fails or succeeds on its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/partition_log.h"
#include "log/producer_state.h"
#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "protocol/record_batch.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/partitions.h"
#include "server/request.h"
#include "util/logger.h"

/* A snapshot of the producer state every minute, or sooner after this many
 * bytes appended (and at every roll), bounds what a partition's first use
 * after a crash replays (on the network thread) to rebuild it. */
#define PRODUCER_SNAPSHOT_INTERVAL_MS 60000
#define PRODUCER_SNAPSHOT_BYTES (64u << 20)

struct produce_op;

struct produce_wait {
    struct partition_waiter waiter; /* first: the waiter callback casts back */
    struct produce_op *op;
    struct produce_response_partition_produce_response *out;
};

struct produce_op {
    struct request *req;
    struct produce_response resp;
    int pending; /* acks=all partitions not yet durable */
};

static void finish_if_done(struct produce_op *op)
{
    if (op->pending > 0)
        return;
    request_respond(op->req, &op->resp);
}

static void on_partition_durable(struct partition_waiter *w, int error)
{
    struct produce_wait *wait = (struct produce_wait *)w;
    if (error) {
        wait->out->error_code = (int16_t)error;
        wait->out->base_offset = -1;
    }
    wait->op->pending--;
    finish_if_done(wait->op);
}

/* Which per-record check refused the batch, so that its records can be named. */
enum record_check { RECORD_CHECK_NONE, RECORD_CHECK_KEYS, RECORD_CHECK_TIMESTAMPS };

/* What the batches of one partition say about themselves, checked before any append. */
struct batch_scan {
    int count;
    bool has_producer;
    struct producer_batch_info producer;
    enum record_check refused_by;
    int64_t now_ms; /* the wall clock the timestamps were checked against */
};

/* A CreateTime timestamp the topic's bounds allow (-1, "none", always is).
 * Compared without subtracting a client's value (it may be INT64_MIN). */
static bool timestamp_allowed(const struct log_config *lc, int64_t ts, int64_t now)
{
    if (ts == -1)
        return true;
    return ts >= now - lc->timestamp_before_max_ms && (ts <= now || ts - now <= lc->timestamp_after_max_ms);
}

/*
 * Kafka's LogValidator.validateTimestamp for every record of a batch on a
 * CreateTime topic: each timestamp (but -1, "none") within the topic's
 * message.timestamp.before/after.max.ms of now, and no LogAppendTime flag
 * from a producer. A LogAppendTime topic stamps batches itself.
 */
static int16_t check_timestamps(const struct log_config *lc, const struct record_batch_header *h,
                                const struct record_timestamps *ts, int64_t now, const char **message)
{
    if (lc->message_timestamp_type == LOG_TIMESTAMP_LOG_APPEND_TIME)
        return KAFKA_NONE;
    if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME)
        return *message = "Producer should not set timestamp type to LogAppendTime", KAFKA_INVALID_TIMESTAMP;
    if (ts->count == 0)
        return KAFKA_NONE;
    if (!timestamp_allowed(lc, ts->min, now) || !timestamp_allowed(lc, ts->max, now))
        return *message = "Timestamp is out of the range message.timestamp.before.max.ms / after.max.ms allow",
               KAFKA_INVALID_TIMESTAMP;
    return KAFKA_NONE;
}

/* A compacted topic keeps the latest record per key, so a record without one
 * has no place in it: Kafka refuses the batch with INVALID_RECORD. Looking
 * at keys means decompressing a compressed batch, here only. */
static int16_t check_keys_for_compaction(const uint8_t *batch, size_t size, const char **message)
{
    struct record_iter it;
    int16_t err = (int16_t)record_iter_open(&it, batch, size);
    struct record r;
    int more = 0;
    while (!err && (more = record_iter_next(&it, &r)) > 0) {
        if (r.key_len < 0) {
            *message = "Compacted topic cannot accept message without key";
            err = KAFKA_INVALID_RECORD;
        }
    }
    record_iter_close(&it);
    if (!err && more < 0)
        err = KAFKA_CORRUPT_MESSAGE;
    return err;
}

/* Everything Kafka checks of a partition's records before appending them
 * (ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords,
 * LogValidator): one batch of magic 2, base offset 0, valid records and
 * timestamps. Rewrites a CreateTime batch's maxTimestamp to the records'.
 * Unlike Kafka, zstd is taken below Produce v7: Sarama before 1.24 sends
 * every batch at v3, and the batch is as valid as at v7. */
static int16_t scan_batches(const struct log_config *lc, uint8_t *data, size_t len,
                            struct batch_scan *scan, const char **message)
{
    memset(scan, 0, sizeof *scan);
    if (len > (size_t)lc->segment_bytes)
        return *message = "Records are larger than segment.bytes", KAFKA_RECORD_LIST_TOO_LARGE;
    size_t pos = 0;
    int64_t now = clock_wall_ms();
    scan->now_ms = now;
    while (pos < len) {
        if (len - pos < RECORD_BATCH_HEADER_SIZE)
            return *message = "Record batch is truncated", KAFKA_CORRUPT_MESSAGE;
        if (data[pos + 16] == 0 || data[pos + 16] == 1)
            return *message = "Message format v0/v1 is not supported; use a client that writes record batch v2",
                   KAFKA_UNSUPPORTED_VERSION;
        struct record_batch_header h;
        if (record_batch_parse_header(data + pos, len - pos, &h) < 0)
            return *message = "Record batch is not a valid v2 batch", KAFKA_CORRUPT_MESSAGE;
        size_t size = record_batch_total_size(&h);
        if (scan->count > 0)
            return *message = "Produce requests v3 and up hold exactly one record batch per partition",
                   KAFKA_INVALID_RECORD;
        if (h.base_offset != 0)
            return *message = "The base offset of a produced record batch must be 0", KAFKA_INVALID_RECORD;
        if (h.producer_id >= 0 && h.base_sequence < 0)
            return *message = "An idempotent batch needs a sequence number", KAFKA_INVALID_RECORD;
        /* max.message.bytes: the topic's, defaulting to the broker's message.max.bytes. */
        if (size > (size_t)lc->max_message_bytes)
            return *message = "Record batch is larger than max.message.bytes", KAFKA_MESSAGE_TOO_LARGE;
        if (h.attributes & BATCH_ATTR_CONTROL)
            return *message = "Clients may not write control batches", KAFKA_INVALID_RECORD;
        if (h.attributes & BATCH_ATTR_TRANSACTIONAL)
            return *message = "Transactions are not supported yet", KAFKA_INVALID_RECORD;
        struct record_timestamps ts;
        int err = record_batch_validate_produce(data + pos, size, &ts);
        if (err)
            return *message = "Record batch failed validation", (int16_t)err;
        if (lc->cleanup_policy & LOG_CLEANUP_COMPACT) {
            int16_t key_err = check_keys_for_compaction(data + pos, size, message);
            if (key_err) {
                scan->refused_by = key_err == KAFKA_INVALID_RECORD ? RECORD_CHECK_KEYS : RECORD_CHECK_NONE;
                return key_err;
            }
        }
        int16_t ts_err = check_timestamps(lc, &h, &ts, now, message);
        if (ts_err) {
            scan->refused_by = RECORD_CHECK_TIMESTAMPS;
            return ts_err;
        }
        int64_t records_max = ts.count > 0 ? ts.max : -1;
        if (lc->message_timestamp_type == LOG_TIMESTAMP_CREATE_TIME && h.max_timestamp != records_max)
            record_batch_set_max_timestamp(data + pos, size, records_max);
        if (h.producer_id >= 0) {
            scan->has_producer = true;
            scan->producer = (struct producer_batch_info){h.producer_id, h.producer_epoch, h.base_sequence,
                                                          record_batch_last_sequence(&h), false};
        }
        scan->count++;
        pos += size;
    }
    if (scan->count == 0)
        return *message = "Produce requests v3 and up hold exactly one record batch per partition",
               KAFKA_INVALID_RECORD;
    return KAFKA_NONE;
}

/* The record at batch index `index` fails the check that refused its batch:
 * a message naming why, or a null kstr if it passes. */
static struct kstr record_refusal(struct request *req, const struct log_config *lc, enum record_check check,
                                  const struct record_batch_header *h, const struct record *r, int32_t index,
                                  int64_t now)
{
    char text[200];
    if (check == RECORD_CHECK_KEYS) {
        if (r->key_len >= 0)
            return kstr_null();
        snprintf(text, sizeof text, "Compacted topic cannot accept message without key (record %d)", (int)index);
    } else if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME) {
        snprintf(text, sizeof text, "Producer should not set timestamp type to LogAppendTime (record %d)", (int)index);
    } else {
        int64_t ts = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)r->timestamp_delta);
        if (timestamp_allowed(lc, ts, now))
            return kstr_null();
        snprintf(text, sizeof text,
                 "Timestamp %lld of record %d is out of the range message.timestamp.before.max.ms "
                 "(%lld) / after.max.ms (%lld) allow",
                 (long long)ts, (int)index, (long long)lc->timestamp_before_max_ms,
                 (long long)lc->timestamp_after_max_ms);
    }
    return request_kstr(req, text);
}

/* Name each record that made a batch fail (KIP-467's record_errors, as
 * Kafka's LogValidator lists them): the Java producer fails just those and
 * tells the rest why. Walks the records again, on this error path only. */
static void list_record_errors(struct request *req, const struct log_config *lc, const struct batch_scan *scan,
                               const uint8_t *data, size_t len, struct produce_response_partition_produce_response *out)
{
    enum record_check check = scan->refused_by;
    struct record_batch_header h;
    struct record_iter it;
    if (check == RECORD_CHECK_NONE || record_batch_parse_header(data, len, &h) != 0 || h.record_count <= 0 ||
        record_iter_open(&it, data, record_batch_total_size(&h)) != 0)
        return;
    out->record_errors = request_alloc(req, (size_t)h.record_count * sizeof *out->record_errors);
    int64_t now = scan->now_ms;
    struct record r;
    int32_t n = 0;
    for (int32_t index = 0; out->record_errors && record_iter_next(&it, &r) > 0; index++) {
        struct kstr why = record_refusal(req, lc, check, &h, &r, index, now);
        if (why.len >= 0 && n < h.record_count)
            out->record_errors[n++] = (struct produce_response_batch_index_and_error_message){index, why};
    }
    record_iter_close(&it);
    out->record_errors_count = n;
}

/*
 * compression.type other than "producer": as Kafka's LogValidator, a batch
 * in another codec is stored recompressed in the topic's. The new batch
 * lives in the request's memory; *data and *len are replaced.
 */
static int16_t recompress(struct request *req, const struct log_config *lc, uint8_t **data, size_t *len,
                          const char **message)
{
    struct record_batch_header h;
    if (record_batch_parse_header(*data, *len, &h) != 0)
        return KAFKA_CORRUPT_MESSAGE;
    if ((h.attributes & BATCH_ATTR_COMPRESSION_MASK) == lc->compression_type)
        return KAFKA_NONE;
    struct record_iter it;
    if (record_iter_open(&it, *data, *len) != 0)
        return KAFKA_CORRUPT_MESSAGE;
    struct record_builder_entry *entries = calloc(h.record_count > 0 ? (size_t)h.record_count : 1, sizeof *entries);
    struct record r;
    int32_t n = 0;
    int more = 0;
    while (entries && n < h.record_count && (more = record_iter_next(&it, &r)) > 0)
        entries[n++] = (struct record_builder_entry){r.offset_delta, r.timestamp_delta, r.key, r.key_len, r.value,
                                                     r.value_len, r.headers, r.headers_len, r.header_count};
    uint8_t *built = NULL;
    size_t built_len = 0;
    h.attributes = (int16_t)((h.attributes & ~BATCH_ATTR_COMPRESSION_MASK) | lc->compression_type);
    int rc = !entries ? -ENOMEM : more < 0 ? -EINVAL : record_batch_build_level(&h, entries, (size_t)n, lc->compression_level,
                                                                                   &built, &built_len);
    record_iter_close(&it);
    free(entries);
    if (rc != 0)
        return rc == -ENOMEM ? KAFKA_UNKNOWN_SERVER_ERROR : KAFKA_CORRUPT_MESSAGE;
    if (built_len > (size_t)lc->max_message_bytes) {
        free(built);
        return *message = "Record batch is larger than max.message.bytes once recompressed", KAFKA_MESSAGE_TOO_LARGE;
    }
    uint8_t *copy = request_alloc(req, built_len);
    if (copy)
        memcpy(copy, built, built_len);
    free(built);
    if (!copy)
        return KAFKA_UNKNOWN_SERVER_ERROR;
    *data = copy;
    *len = built_len;
    return KAFKA_NONE;
}

/* Record an appended batch in the producer state, and snapshot that state now
 * and then: also with no idempotent producer, since the replay after a crash
 * reads everything after the newest snapshot on the network thread. */
static void record_producer(struct partition_runtime *rt, const struct batch_scan *scan, const uint8_t *data,
                            size_t len, bool rolled)
{
    if (!rt->producers)
        return;
    struct record_batch_header h;
    if (scan->has_producer && record_batch_parse_header(data, len, &h) == 0)
        producer_state_update(rt->producers, &scan->producer, h.base_offset, h.base_offset + h.last_offset_delta,
                              h.max_timestamp);
    rt->bytes_since_producer_snapshot += len;
    int64_t now = clock_monotonic_ms();
    if (rolled || now - rt->producer_snapshot_ms >= PRODUCER_SNAPSHOT_INTERVAL_MS ||
        rt->bytes_since_producer_snapshot >= PRODUCER_SNAPSHOT_BYTES) {
        rt->producer_snapshot_ms = now;
        rt->bytes_since_producer_snapshot = 0;
        producer_state_snapshot(rt->producers, false);
    }
}

/* acks=all: answer `out` once `last_offset` is on disk. False if it cannot wait (out has the error). */
static bool wait_durable(struct produce_op *op, struct partition_runtime *rt,
                         struct produce_response_partition_produce_response *out, int64_t last_offset)
{
    if (partition_log_is_offline(rt->log)) {
        out->error_code = KAFKA_KAFKA_STORAGE_ERROR;
        out->base_offset = -1;
        return false;
    }
    struct produce_wait *wait = request_alloc(op->req, sizeof *wait);
    if (!wait) {
        out->error_code = KAFKA_UNKNOWN_SERVER_ERROR;
        out->base_offset = -1;
        return false;
    }
    wait->op = op;
    wait->out = out;
    wait->waiter.offset = last_offset + 1;
    wait->waiter.fire = on_partition_durable;
    op->pending++;
    partitions_wait_durable(op->req->broker, rt, &wait->waiter);
    return true;
}

/* Validate and append one partition's records. Fills out; returns true if acks=all must wait. */
static bool produce_partition(struct produce_op *op, const struct produce_request *m, const struct topic_state *topic,
                              const struct produce_request_partition_produce_data *in,
                              struct produce_response_partition_produce_response *out)
{
    struct request *req = op->req;
    out->index = in->index;
    out->base_offset = -1;
    if (!topic || in->index < 0 || in->index >= topic->partition_count) {
        out->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        return false;
    }
    struct partition_runtime *rt = partitions_of_topic(req->broker, topic, in->index);
    if (!rt) {
        out->error_code = KAFKA_NOT_LEADER_OR_FOLLOWER;
        return false;
    }
    const struct partition_state *ps = &topic->partitions[in->index];
    struct log_config lc;
    partition_log_get_config(rt->log, &lc);
    /* The topic's min.insync.replicas, else the dynamic or static broker value. */
    if (m->acks == -1 && ps->isr_count < lc.min_insync_replicas) {
        out->error_code = KAFKA_NOT_ENOUGH_REPLICAS;
        return false;
    }
    const char *message = NULL;
    uint8_t *data = (uint8_t *)in->records.ptr; /* the request frame is ours to rewrite */
    size_t len = in->records.len > 0 ? (size_t)in->records.len : 0;
    struct batch_scan scan;
    int16_t err = scan_batches(&lc, data, len, &scan, &message);
    if (!err && scan.has_producer && rt->producers) {
        struct producer_duplicate dup;
        int verdict = producer_state_check(rt->producers, &scan.producer, &dup);
        if (verdict == PRODUCER_DUPLICATE) {
            out->base_offset = dup.base_offset;
            out->log_start_offset = partition_log_start_offset(rt->log);
            if (lc.message_timestamp_type == LOG_TIMESTAMP_LOG_APPEND_TIME)
                out->log_append_time_ms = dup.timestamp;
            log_debug("produce", "duplicate batch from producer %lld acknowledged with its offset %lld",
                      (long long)scan.producer.producer_id, (long long)dup.base_offset);
            /* As Kafka: a retry is acknowledged on the same terms as the
             * original, which may still be waiting for its fdatasync. */
            return m->acks == -1 && wait_durable(op, rt, out, dup.last_offset);
        }
        err = (int16_t)verdict;
    }
    if (!err && lc.compression_type != LOG_COMPRESSION_PRODUCER)
        err = recompress(req, &lc, &data, &len, &message);
    if (err) {
        out->error_code = err;
        if (message)
            out->error_message = kstr_from_cstr(message);
        list_record_errors(req, &lc, &scan, data, len, out);
        return false;
    }
    struct log_append_options opts = {.now_ms = clock_wall_ms(), .leader_epoch = ps->leader_epoch};
    struct log_append_result res;
    int rc = partition_log_append(rt->log, data, len, &opts, &res);
    if (rc) {
        out->error_code = (int16_t)rc;
        return false;
    }
    record_producer(rt, &scan, data, len, res.rolled);
    partition_log_set_high_watermark(rt->log, res.last_offset + 1);
    out->base_offset = res.base_offset;
    out->log_append_time_ms = res.log_append_time;
    out->log_start_offset = res.log_start_offset;
    partitions_notify_append(rt);
    return m->acks == -1 && wait_durable(op, rt, out, res.last_offset);
}

/* acks=0: no answer, but as Kafka a failure closes the connection, the only
 * way such a client can notice (its next send fails and it reconnects). */
static void finish_without_acks(struct produce_op *op)
{
    for (int32_t i = 0; i < op->resp.responses_count; i++) {
        const struct produce_response_topic_produce_response *tr = &op->resp.responses[i];
        for (int32_t j = 0; j < tr->partition_responses_count; j++) {
            const struct produce_response_partition_produce_response *pr = &tr->partition_responses[j];
            if (pr->error_code == KAFKA_NONE)
                continue;
            char reason[160];
            snprintf(reason, sizeof reason, "produce with acks=0 failed with error %d on %.*s-%d", pr->error_code,
                     tr->name.len > 0 ? (int)tr->name.len : 0, tr->name.ptr ? tr->name.ptr : "", pr->index);
            request_abort(op->req, reason);
            return;
        }
    }
    request_finish_silently(op->req);
}

static const struct topic_state *produce_topic(struct request *req, struct kstr name, int16_t *topic_error)
{
    *topic_error = KAFKA_NONE;
    if (kstr_is_null(name) || topic_name_check(name.ptr, (size_t)name.len)) {
        *topic_error = KAFKA_INVALID_TOPIC_EXCEPTION;
        return NULL;
    }
    const struct topic_state *t = metadata_topic_by_name(&req->broker->image, name.ptr, (size_t)name.len);
    if (t && t->internal) {
        *topic_error = KAFKA_INVALID_TOPIC_EXCEPTION; /* clients may not write internal topics */
        return NULL;
    }
    if (!t)
        *topic_error = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
    return t;
}

void handle_produce(struct request *req)
{
    const struct produce_request *m = req->body;
    struct produce_op *op = request_alloc(req, sizeof *op);
    if (!op) {
        request_abort(req, "out of memory");
        return;
    }
    op->req = req;
    produce_response_init(&op->resp);
    int16_t request_error = KAFKA_NONE;
    if (req->api_version < 3)
        request_error = KAFKA_UNSUPPORTED_VERSION;
    else if (m->acks != 0 && m->acks != 1 && m->acks != -1)
        request_error = KAFKA_INVALID_REQUIRED_ACKS;
    else if (!kstr_is_null(m->transactional_id))
        request_error = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

    int32_t topics = m->topic_data_count > 0 ? m->topic_data_count : 0;
    op->resp.responses = request_alloc(req, (size_t)topics * sizeof *op->resp.responses + 1);
    op->resp.responses_count = topics;
    op->pending = 1; /* held while appending, so an early durable report cannot answer too soon */
    for (int32_t i = 0; i < topics; i++) {
        const struct produce_request_topic_produce_data *td = &m->topic_data[i];
        struct produce_response_topic_produce_response *tr = &op->resp.responses[i];
        produce_response_topic_produce_response_init(tr);
        tr->name = td->name;
        int32_t parts = td->partition_data_count > 0 ? td->partition_data_count : 0;
        tr->partition_responses = request_alloc(req, (size_t)parts * sizeof *tr->partition_responses + 1);
        tr->partition_responses_count = parts;
        int16_t topic_error = request_error;
        const struct topic_state *topic = topic_error ? NULL : produce_topic(req, td->name, &topic_error);
        for (int32_t j = 0; j < parts; j++) {
            struct produce_response_partition_produce_response *pr = &tr->partition_responses[j];
            produce_response_partition_produce_response_init(pr);
            if (topic_error) {
                pr->index = td->partition_data[j].index;
                pr->error_code = topic_error;
                pr->base_offset = -1;
                continue;
            }
            produce_partition(op, m, topic, &td->partition_data[j], pr);
        }
    }
    if (m->acks == 0) {
        finish_without_acks(op);
        return;
    }
    op->pending--;
    finish_if_done(op);
}
