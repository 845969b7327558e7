/*
 * group_service.c - the group coordinator of this node wired to the broker:
 * its storage backend on the `__consumer_offsets` partition logs, the
 * event-loop timers that drive it, and start-up replay.
 *
 * Durability: an append goes to the partition log (page cache) and waits on
 * the partition's runtime (server/partitions.h) like an acks=all produce:
 * the flusher fdatasyncs it (group commit) and the coordinator's callback
 * runs once the batch is on disk. The partition's high watermark follows
 * the durable offset, so readers of __consumer_offsets see only durable
 * records.
 *
 * There is one broker per process, so the service is a file-level singleton
 * tied to that broker.
 */
#include <stdlib.h>
#include <string.h>

#include "log/log_manager.h"
#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "server/broker.h"
#include "server/groups.h"
#include "server/partitions.h"
#include "server/topics.h"
#include "util/logger.h"

#define TICK_INTERVAL_MS 100
#define REPLAY_READ_BYTES (1u << 20)

/* One append waiting to be durable, parked on the partition's runtime (partitions.h). */
struct durable_wait {
    struct partition_waiter waiter; /* first: the callback gets it back */
    struct group_service *service;
    struct partition_log *log;
    group_write_done_fn done;
    void *arg;
    struct durable_wait *prev, *next; /* the service's list, for shutdown */
};

struct group_service {
    struct broker *broker;
    struct group_coordinator *coordinator;
    struct reactor_timer tick_timer;
    struct durable_wait *waits;
};

static struct group_service *service;

int64_t groups_now_ms(void)
{
    return clock_wall_ms();
}

static struct partition_log *offsets_log(struct broker *b, int32_t partition)
{
    if (!b->logs)
        return NULL;
    return log_manager_get(b->logs, GROUPS_OFFSETS_TOPIC, partition);
}

int16_t groups_ensure_offsets_topic(struct broker *b)
{
    if (metadata_topic_by_name(&b->image, GROUPS_OFFSETS_TOPIC, strlen(GROUPS_OFFSETS_TOPIC)))
        return 0;
    int32_t brokers = b->image.broker_count > 0 ? b->image.broker_count : 1;
    int32_t replication = (int32_t)b->config->offsets_topic_replication_factor;
    if (replication > brokers)
        replication = brokers;
    if (replication < 1)
        replication = 1;
    const char *names[] = {"cleanup.policy", "compression.type", "segment.bytes"};
    const char *values[] = {"compact", "producer", "104857600"};
    const char *message = NULL;
    int16_t err = topics_create_with_configs(b, GROUPS_OFFSETS_TOPIC, strlen(GROUPS_OFFSETS_TOPIC),
                                             (int32_t)b->config->offsets_topic_num_partitions, replication, names,
                                             values, 3, NULL, &message);
    if (err == KAFKA_LEADER_NOT_AVAILABLE)
        return err; /* queued behind admin requests: clients retry */
    if (err && err != KAFKA_TOPIC_ALREADY_EXISTS) {
        log_error("group", "cannot create %s: error %d (%s)", GROUPS_OFFSETS_TOPIC, err, message ? message : "");
        return err;
    }
    return 0;
}

/* ---- durability ---- */

static void wait_unlink(struct group_service *s, struct durable_wait *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        s->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
}

static void on_durable(struct partition_waiter *waiter, int error)
{
    struct durable_wait *w = (struct durable_wait *)waiter;
    wait_unlink(w->service, w);
    if (!error && partition_log_high_watermark(w->log) < waiter->offset)
        partition_log_set_high_watermark(w->log, waiter->offset);
    w->done(w->arg, error ? KAFKA_KAFKA_STORAGE_ERROR : 0);
    free(w);
}

static int16_t storage_append(void *ctx, int32_t partition, uint8_t *batch, size_t len, group_write_done_fn done,
                              void *arg)
{
    struct group_service *s = ctx;
    struct broker *b = s->broker;
    struct partition_log *log = offsets_log(b, partition);
    if (!log && groups_ensure_offsets_topic(b) == 0)
        log = offsets_log(b, partition);
    if (!log) {
        free(batch);
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    }
    struct partition_runtime *rt = partitions_for_log(b, log);
    struct durable_wait *w = rt ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        free(batch);
        return KAFKA_UNKNOWN_SERVER_ERROR;
    }
    struct log_append_options opts = {.now_ms = groups_now_ms(), .leader_epoch = -1, .log_append_time = false};
    struct log_append_result res;
    int rc = partition_log_append(log, batch, len, &opts, &res);
    free(batch);
    if (rc != 0) {
        free(w);
        return rc == LOG_ERR_UNKNOWN_SERVER_ERROR ? KAFKA_UNKNOWN_SERVER_ERROR : (int16_t)rc;
    }
    partitions_notify_append(rt);
    w->service = s;
    w->log = log;
    w->done = done;
    w->arg = arg;
    w->waiter.offset = res.last_offset + 1;
    w->waiter.fire = on_durable;
    w->next = s->waits;
    if (s->waits)
        s->waits->prev = w;
    s->waits = w;
    partitions_wait_durable(b, rt, &w->waiter); /* may fire at once */
    return 0;
}

/* ---- start-up replay ---- */

static void replay_partition(struct group_coordinator *gc, struct partition_log *log, int64_t now_ms)
{
    int64_t offset = partition_log_start_offset(log);
    int64_t end = partition_log_end_offset(log);
    uint8_t *buf = malloc(REPLAY_READ_BYTES);
    size_t batches = 0;
    while (buf && offset < end) {
        struct log_read_result r;
        int rc = partition_log_read(log, offset, REPLAY_READ_BYTES, -1, true, &r);
        uint8_t *data = buf;
        if (rc == 0 && r.total_bytes > REPLAY_READ_BYTES)
            data = malloc(r.total_bytes);
        ssize_t n = rc == 0 && data ? log_read_result_copy(&r, data, r.total_bytes) : -1;
        log_read_result_release(&r);
        if (n <= 0) {
            if (data != buf)
                free(data);
            break;
        }
        size_t pos = 0;
        int64_t next = offset;
        while (pos + RECORD_BATCH_LOG_OVERHEAD < (size_t)n) {
            struct record_batch_header h;
            if (record_batch_parse_header(data + pos, (size_t)n - pos, &h) < 0)
                break;
            size_t size = record_batch_total_size(&h);
            if (h.base_offset + h.last_offset_delta >= offset) {
                if (group_coordinator_replay_batch(gc, data + pos, size, now_ms) != 0)
                    log_warn("group", "skipping a damaged batch at offset %lld of %s-%d", (long long)h.base_offset,
                             GROUPS_OFFSETS_TOPIC, partition_log_partition(log));
                batches++;
            }
            next = h.base_offset + h.last_offset_delta + 1;
            pos += size;
        }
        if (data != buf)
            free(data);
        if (next <= offset)
            break; /* no progress: stop rather than loop */
        offset = next;
    }
    free(buf);
    if (batches)
        log_info("group", "loaded %zu batches of %s-%d", batches, GROUPS_OFFSETS_TOPIC, partition_log_partition(log));
    /* Everything on disk at start-up was recovered: it is what readers may see. */
    if (partition_log_high_watermark(log) < end)
        partition_log_set_high_watermark(log, end);
}

/* KIP-848 groups name topics by id: answer from the metadata image. */
static bool topic_by_name(void *ctx, const char *name, size_t len, struct kuuid *id, int32_t *partitions)
{
    struct broker *b = ctx;
    const struct topic_state *t = metadata_topic_by_name(&b->image, name, len);
    if (!t)
        return false;
    *id = t->id;
    *partitions = t->partition_count;
    return true;
}

static const char *topic_name_of(void *ctx, struct kuuid id)
{
    struct broker *b = ctx;
    const struct topic_state *t = metadata_topic_by_id(&b->image, id);
    return t ? t->name : NULL;
}

static void each_topic(void *ctx, void (*visit)(void *arg, const char *name), void *arg)
{
    struct broker *b = ctx;
    for (const struct topic_state *t = b->image.topics; t; t = t->next)
        visit(arg, t->name);
}

static void on_tick(struct reactor_timer *t)
{
    (void)t;
    if (!service)
        return;
    group_coordinator_tick(service->coordinator, groups_now_ms());
    reactor_timer_start(service->broker->reactor, &service->tick_timer, TICK_INTERVAL_MS);
}

static struct group_service *service_start(struct broker *b)
{
    const struct broker_config *cfg = b->config;
    struct group_service *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->broker = b;
    struct group_coordinator_config gcfg = {
        .offsets_partitions = (int32_t)cfg->offsets_topic_num_partitions,
        .initial_rebalance_delay_ms = cfg->group_initial_rebalance_delay_ms,
        .min_session_timeout_ms = cfg->group_min_session_timeout_ms,
        .max_session_timeout_ms = cfg->group_max_session_timeout_ms,
        .max_group_size = (int32_t)cfg->group_max_size,
        .offsets_retention_ms = cfg->offsets_retention_minutes * 60000,
        .retention_check_interval_ms = cfg->offsets_retention_check_interval_ms,
        .max_metadata_bytes = (int32_t)cfg->offset_metadata_max_bytes,
        .consumer_session_timeout_ms = cfg->group_consumer_session_timeout_ms,
        .consumer_heartbeat_interval_ms = (int32_t)cfg->group_consumer_heartbeat_interval_ms,
    };
    struct group_storage storage = {.ctx = s, .append = storage_append};
    if (group_coordinator_create(&gcfg, &storage, &s->coordinator) != 0) {
        free(s);
        return NULL;
    }
    struct group_topic_lookup lookup = {
        .ctx = b, .by_name = topic_by_name, .name_of = topic_name_of, .each = each_topic};
    group_coordinator_set_topic_lookup(s->coordinator, &lookup);
    int64_t now = groups_now_ms();
    const struct topic_state *t =
        metadata_topic_by_name(&b->image, GROUPS_OFFSETS_TOPIC, strlen(GROUPS_OFFSETS_TOPIC));
    for (int32_t p = 0; t && p < t->partition_count; p++) {
        struct partition_log *log = offsets_log(b, p);
        if (log)
            replay_partition(s->coordinator, log, now);
    }
    group_coordinator_loaded(s->coordinator, groups_now_ms());
    if (t)
        log_info("group", "group coordinator loaded %s in %lld ms", GROUPS_OFFSETS_TOPIC,
                 (long long)(groups_now_ms() - now));
    reactor_timer_init(&s->tick_timer, on_tick);
    reactor_timer_start(b->reactor, &s->tick_timer, TICK_INTERVAL_MS);
    return s;
}

struct group_coordinator *groups_coordinator(struct broker *b)
{
    if (service && service->broker == b)
        return service->coordinator;
    if (service)
        return NULL; /* a second broker in one process is not supported */
    service = service_start(b);
    return service ? service->coordinator : NULL;
}

void groups_shutdown(struct broker *b)
{
    struct group_service *s = service;
    if (!s || s->broker != b)
        return;
    service = NULL;
    reactor_timer_cancel(b->reactor, &s->tick_timer);
    while (s->waits) {
        struct durable_wait *w = s->waits;
        wait_unlink(s, w);
        partitions_cancel_wait(&w->waiter);
        w->done(w->arg, KAFKA_COORDINATOR_NOT_AVAILABLE);
        free(w);
    }
    group_coordinator_destroy(s->coordinator);
    free(s);
}
