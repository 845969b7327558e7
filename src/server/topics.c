/*
 * topics.c - broker glue for the metadata log, the controller and storage.
 */
#include "server/topics.h"

#include "server/partitions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/controller.h"
#include "cluster/meta_properties.h"
#include "cluster/metadata_log.h"
#include "cluster/topic_config.h"
#include "log/log_manager.h"
#include "protocol/errors.h"
#include "server/broker.h"
#include "server/partitions.h"
#include "util/logger.h"

#define MAX_LOG_DIRS 16

/* ---------------------------------------------------------------- storage hooks */

/*
 * Creating a partition's files takes 0.2-2.4 ms here, nearly all in ext4's
 * inode allocator: a 1,000-partition topic held the event loop, and every
 * client with it, for up to 1.6 s. The first partitions of a request are made
 * inline for up to this long (a topic of a few dozen partitions is ready when
 * CreateTopics answers, as before); the log-directory thread makes the rest, and
 * Metadata reports them without a leader until they are installed, as Kafka's
 * brokers do while they create logs. A request for more partitions than
 * INLINE_CREATION_MAX could not be ready when answered anyway: all of it goes
 * to that thread (the inline 10 ms were most of what a steady producer felt
 * while big topics were made). Internal topics are made inline: the
 * coordinators read them at once.
 */
#define INLINE_CREATION_MS 10
#define INLINE_CREATION_MAX 100

static void storage_create_partitions(void *ctx, const struct topic_state *t, int32_t from,
                                      const struct log_config *config)
{
    struct broker *b = ctx;
    if (!b->logs)
        return;
    int64_t started = clock_monotonic_ms();
    /* All of it later for a big request, and for a topic made again while its
     * old directories wait to be renamed away (inline creation would wait). */
    bool all_later = t->partition_count - from > INLINE_CREATION_MAX || log_manager_removing(b->logs, t->name) > 0;
    for (int32_t p = from; p < t->partition_count; p++) {
        int rc = -ENOTSUP;
        if (!t->internal && (all_later || clock_monotonic_ms() - started >= INLINE_CREATION_MS))
            rc = log_manager_create_later(b->logs, t->name, p, t->id.bytes, config);
        if (rc == -ENOTSUP) {
            struct partition_log *log;
            rc = log_manager_create(b->logs, t->name, p, t->id.bytes, config, &log);
            if (rc == 0)
                partition_log_set_config(log, config);
        }
        if (rc < 0)
            log_error("controller", "cannot create the log of %s-%d: %s", t->name, p, strerror(-rc));
    }
}

/* A log made on the log-directory thread: still wanted if the image has its partition, under the same topic id. */
static bool adopt_created_log(void *ctx, struct partition_log *log)
{
    struct broker *b = ctx;
    const char *topic = partition_log_topic(log);
    const struct topic_state *t = metadata_topic_by_name(&b->image, topic, strlen(topic));
    uint8_t id[16];
    if (!t || partition_log_partition(log) >= t->partition_count || !partition_log_topic_id(log, id) ||
        memcmp(id, t->id.bytes, 16) != 0)
        return false;
    struct log_config lc;
    topic_log_config(b->config, &b->image, t, &lc); /* as it is now: it may have changed meanwhile */
    partition_log_set_config(log, &lc);
    return true;
}

static void install_created_logs(void *arg)
{
    struct broker *b = arg;
    if (b->logs)
        log_manager_install_created(b->logs, adopt_created_log, b);
}

/* Creator thread: have the loop install what it made. */
static void logs_created(void *ctx)
{
    struct broker *b = ctx;
    if (reactor_post(b->reactor, install_created_logs, b) < 0)
        log_error("controller", "out of memory: new partition logs wait for the next creation to be installed");
}

bool topics_logs_pending(struct broker *b)
{
    return b->logs && log_manager_creating(b->logs, NULL) > 0;
}

bool topics_partition_ready(struct broker *b, const struct topic_state *t, int32_t partition)
{
    return !b->logs || log_manager_get(b->logs, t->name, partition) != NULL;
}

static void storage_delete_partitions(void *ctx, const char *topic, int32_t count)
{
    struct broker *b = ctx;
    if (!b->logs)
        return;
    /* Logs still being made must not appear after the delete: those not
     * started are dropped, the rest installed now and deleted below. */
    bool creating = log_manager_creating(b->logs, topic) > 0;
    if (creating) {
        log_manager_cancel_creation(b->logs, topic);
        log_manager_install_created(b->logs, adopt_created_log, b);
    }
    int32_t missing = 0;
    for (int32_t p = 0; p < count; p++) {
        struct partition_log *log = log_manager_get(b->logs, topic, p);
        if (log)
            partitions_forget(b, log); /* its waiters fail; the runtime must not outlive the log */
        if (log_manager_delete(b->logs, topic, p) < 0)
            missing++;
    }
    if (missing > 0 && !creating)
        log_warn("controller", "%d of the %d partitions of %s had no log to delete", missing, count, topic);
}

static void storage_set_config(void *ctx, const struct topic_state *t, const struct log_config *config)
{
    struct broker *b = ctx;
    if (!b->logs)
        return;
    for (int32_t p = 0; p < t->partition_count; p++) {
        struct partition_log *log = log_manager_get(b->logs, t->name, p);
        if (log)
            partition_log_set_config(log, config);
    }
    if (config->cleanup_policy & LOG_CLEANUP_COMPACT)
        log_manager_wake_cleaner(b->logs);
}

struct orphan_scan {
    const struct metadata_image *img;
    size_t count, cap;
    char **topics;
    int32_t *partitions;
};

/* A partition log is an orphan when the image has no such topic/partition, or another topic id. */
static void collect_orphan(void *ctx, struct partition_log *log)
{
    struct orphan_scan *scan = ctx;
    const char *topic = partition_log_topic(log);
    int32_t partition = partition_log_partition(log);
    const struct topic_state *t = metadata_topic_by_name(scan->img, topic, strlen(topic));
    uint8_t id[16];
    bool orphan = !t || partition >= t->partition_count ||
                  (partition_log_topic_id(log, id) && memcmp(id, t->id.bytes, 16) != 0);
    if (!orphan || scan->count == scan->cap)
        return;
    char *copy = strdup(topic);
    if (!copy)
        return;
    scan->topics[scan->count] = copy;
    scan->partitions[scan->count++] = partition;
}

static void storage_remove_orphans(void *ctx, const struct metadata_image *img)
{
    struct broker *b = ctx;
    if (!b->logs)
        return;
    struct orphan_scan scan = {.img = img, .cap = log_manager_partition_count(b->logs)};
    scan.topics = calloc(scan.cap + 1, sizeof *scan.topics);
    scan.partitions = calloc(scan.cap + 1, sizeof *scan.partitions);
    if (scan.topics && scan.partitions)
        log_manager_foreach(b->logs, collect_orphan, &scan);
    for (size_t i = 0; i < scan.count; i++) {
        log_info("controller", "deleting %s-%d: its topic is not in the metadata", scan.topics[i],
                 scan.partitions[i]);
        log_manager_delete(b->logs, scan.topics[i], scan.partitions[i]);
        free(scan.topics[i]);
    }
    free(scan.topics);
    free(scan.partitions);
}

/* ---------------------------------------------------------------- adoption */

struct found_topic {
    char *name;
    int32_t partitions; /* highest partition seen + 1 */
    struct kuuid id;
};

struct adopt_scan {
    const struct metadata_image *img;
    struct found_topic *topics;
    size_t count, cap;
};

static void collect_unknown(void *ctx, struct partition_log *log)
{
    struct adopt_scan *scan = ctx;
    const char *topic = partition_log_topic(log);
    if (metadata_topic_by_name(scan->img, topic, strlen(topic)))
        return;
    struct found_topic *f = NULL;
    for (size_t i = 0; i < scan->count && !f; i++)
        if (strcmp(scan->topics[i].name, topic) == 0)
            f = &scan->topics[i];
    if (!f) {
        if (scan->count == scan->cap || !(scan->topics[scan->count].name = strdup(topic)))
            return;
        f = &scan->topics[scan->count++];
        partition_log_topic_id(log, f->id.bytes);
    }
    if (partition_log_partition(log) + 1 > f->partitions)
        f->partitions = partition_log_partition(log) + 1;
}

/*
 * An empty metadata log over a data dir that has partition logs (data from a
 * build without the metadata log, or a lost __cluster_metadata-0): record
 * those topics rather than delete them as strays.
 */
static void adopt_existing_logs(struct broker *b)
{
    struct adopt_scan scan = {.img = &b->image, .cap = log_manager_partition_count(b->logs)};
    scan.topics = calloc(scan.cap + 1, sizeof *scan.topics);
    if (!scan.topics)
        return;
    log_manager_foreach(b->logs, collect_unknown, &scan);
    for (size_t i = 0; i < scan.count; i++) {
        char msg[256];
        if (controller_adopt_topic(&b->controller, scan.topics[i].name, scan.topics[i].id, scan.topics[i].partitions,
                                   msg, sizeof msg) != 0)
            log_warn("controller", "cannot adopt topic %s found on disk: %s", scan.topics[i].name, msg);
        free(scan.topics[i].name);
    }
    free(scan.topics);
}

/* ---------------------------------------------------------------- start-up */

static void on_metadata_synced(void *arg)
{
    struct broker *b = arg;
    atomic_store(&b->metadata_synced_posted, false); /* before reading: a later report posts again */
    controller_on_synced(&b->controller);
}

/* Syncer thread: one posted call at a time; it reads the newest durable offset when it runs. */
static void metadata_synced(void *ctx)
{
    struct broker *b = ctx;
    if (atomic_exchange(&b->metadata_synced_posted, true))
        return;
    reactor_post_call(b->reactor, &b->metadata_synced_call);
}

/* Admin changes no longer wait for the metadata fsync on the loop (cluster/controller.h). */
static void start_metadata_syncer(struct broker *b)
{
    b->metadata_synced_call = (struct reactor_call){.fn = on_metadata_synced, .arg = b};
    atomic_store(&b->metadata_synced_posted, false);
    int rc = metadata_log_start_syncer(b->metadata_log, metadata_synced, b);
    if (rc < 0) {
        log_warn("metadata", "no metadata syncer thread (%s): admin changes fsync on the event loop",
                 strerror(-rc));
        return;
    }
    controller_enable_async(&b->controller);
}

static int open_log_manager(struct broker *b)
{
    static char dirs_buf[CONFIG_STRING_MAX];
    static const char *dirs[MAX_LOG_DIRS];
    snprintf(dirs_buf, sizeof dirs_buf, "%s", b->config->log_dirs);
    size_t n = 0;
    for (char *save = NULL, *d = strtok_r(dirs_buf, ",", &save); d && n < MAX_LOG_DIRS;
         d = strtok_r(NULL, ",", &save)) {
        while (*d == ' ')
            d++;
        if (*d)
            dirs[n++] = d;
    }
    struct log_manager_config lmc;
    log_manager_config_defaults(&lmc);
    lmc.log_dirs = dirs;
    lmc.log_dir_count = n;
    topic_log_config(b->config, &b->image, NULL, &lmc.defaults);
    lmc.retention_check_interval_ms = b->config->log_retention_check_interval_ms;
    lmc.cleaner_backoff_ms = b->config->log_cleaner_backoff_ms;
    lmc.cleaner_enable = b->config->log_cleaner_enable;
    lmc.page_cache_bytes = b->config->log_page_cache_bytes;
    lmc.flush_pause_us = b->config->log_flush_pause_us;
    lmc.recovery_threads_per_dir = (int32_t)b->config->num_recovery_threads_per_data_dir;
    lmc.on_durable = partitions_on_durable; /* acks=all answers (server/partitions.c) */
    lmc.on_durable_ctx = b;
    lmc.on_created = logs_created;
    lmc.on_created_ctx = b;
    int rc = log_manager_open(&lmc, &b->logs);
    if (rc < 0) {
        log_error("log", "cannot open the log dirs %s: %s", b->config->log_dirs, strerror(-rc));
        return -1;
    }
    b->owns_logs = true;
    return 0;
}

static void self_registration(struct broker *b, struct broker_registration *reg)
{
    memset(reg, 0, sizeof *reg);
    reg->node_id = (int32_t)b->config->node_id;
    for (int i = 0; i < b->advertised_count && reg->endpoint_count < BROKER_MAX_ENDPOINTS; i++) {
        struct broker_endpoint *e = &reg->endpoints[reg->endpoint_count++];
        snprintf(e->listener, sizeof e->listener, "%s", b->advertised[i].name);
        snprintf(e->host, sizeof e->host, "%s", b->advertised[i].host);
        e->port = b->advertised[i].port;
        e->security_protocol = 0; /* PLAINTEXT */
    }
}

int topics_start(struct broker *b)
{
    char cluster_id[CLUSTER_ID_MAX];
    if (meta_properties_ensure(b->config->log_dirs, (int32_t)b->config->node_id, b->config->cluster_id,
                               cluster_id) < 0)
        return -1;
    char first[4096], dir[4200];
    if (log_dirs_first(b->config->log_dirs, first, sizeof first) < 0) {
        log_error("config", "log.dirs '%s' names no directory", b->config->log_dirs);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/%s", first, METADATA_LOG_DIR_NAME);
    int rc = metadata_log_open(dir, &b->image, &b->metadata_log);
    if (rc < 0) {
        log_error("metadata", "cannot open the metadata log %s: %s", dir, strerror(-rc));
        return -1;
    }
    snprintf(b->image.cluster_id, sizeof b->image.cluster_id, "%s", cluster_id);
    b->image.controller_id = (int32_t)b->config->node_id;
    if (!b->logs && open_log_manager(b) < 0)
        return -1;
    controller_init(&b->controller, &b->image, b->config, b->metadata_log);
    b->controller.storage = (struct controller_storage){
        .ctx = b,
        .create_partitions = storage_create_partitions,
        .delete_partitions = storage_delete_partitions,
        .set_config = storage_set_config,
        .remove_orphans = storage_remove_orphans,
    };
    bool fresh_metadata =
        metadata_log_end_offset(b->metadata_log) == 0 && metadata_log_snapshot_offset(b->metadata_log) < 0;
    if (fresh_metadata && b->logs) {
        adopt_existing_logs(b);
        /* A new metadata log has no history to call anything stray: keep what could not be adopted. */
        b->controller.storage.remove_orphans = NULL;
    }
    struct broker_registration self;
    self_registration(b, &self);
    /* Partitions the image has and the disk lacks (a crash while a big topic
     * was being made) are made like new ones: the broker serves the rest meanwhile. */
    rc = controller_start(&b->controller, &self);
    b->controller.storage.remove_orphans = storage_remove_orphans;
    if (rc < 0) {
        log_error("metadata", "cannot register this broker in the metadata log: %s", strerror(-rc));
        return -1;
    }
    log_info("metadata", "cluster %s: %d topic(s), %d broker(s)", b->image.cluster_id, b->image.topic_count,
             b->image.broker_count);
    start_metadata_syncer(b);
    return 0;
}

void topics_finish_admin(struct broker *b)
{
    controller_finish(&b->controller);
}

void topics_stop(struct broker *b)
{
    b->controller.log = NULL; /* a syncer report still posted finds nothing to do */
    if (b->owns_logs && b->logs) {
        log_manager_close(b->logs);
        b->logs = NULL;
    }
    if (b->metadata_log) {
        metadata_log_close(b->metadata_log);
        b->metadata_log = NULL;
    }
}

/* ---------------------------------------------------------------- creation */

#define AUTO_CREATE_MAX_CONFIGS 16

/* Build the spec (-1: broker defaults; at most AUTO_CREATE_MAX_CONFIGS configs) and ask the controller. */
static int16_t create_topic(struct broker *b, const char *name, size_t len, int32_t partitions,
                            int32_t replication_factor, const char *const *config_names,
                            const char *const *config_values, int32_t config_count, struct topic_created *created,
                            char *msg, size_t cap)
{
    struct config_kv kv[AUTO_CREATE_MAX_CONFIGS];
    if (config_count > AUTO_CREATE_MAX_CONFIGS)
        config_count = AUTO_CREATE_MAX_CONFIGS;
    for (int32_t i = 0; i < config_count; i++) {
        kv[i].name = kstr_from_cstr(config_names[i]);
        kv[i].value = kstr_from_cstr(config_values[i]);
    }
    struct topic_spec spec = {
        .name = {name, (int32_t)len},
        .partitions = partitions,
        .replication_factor = (int16_t)replication_factor,
        .configs = kv,
        .config_count = config_count,
    };
    return controller_create_topic(&b->controller, &spec, false, created, msg, cap);
}

/*
 * A creation outside operations (the coordinators' __consumer_offsets) that
 * found the controller busy with admin requests: it queues behind them as an operation of its own (the topic may well be one
 * they make), and the caller answers LEADER_NOT_AVAILABLE, which clients
 * retry. Draining the change in flight instead would fsync on the loop and
 * free topics the caller's answer may already point at.
 */
struct auto_create_op {
    struct controller_op op; /* first */
    struct broker *broker;
    bool started;
    char name[TOPIC_NAME_MAX + 1];
    int32_t partitions, replication_factor, config_count;
    char *config_names[AUTO_CREATE_MAX_CONFIGS], *config_values[AUTO_CREATE_MAX_CONFIGS];
};

static void auto_create_op_free(struct auto_create_op *ac)
{
    for (int32_t i = 0; i < ac->config_count; i++) {
        free(ac->config_names[i]);
        free(ac->config_values[i]);
    }
    free(ac);
}

static bool auto_create_step(struct controller_op *op)
{
    struct auto_create_op *ac = (struct auto_create_op *)op;
    struct broker *b = ac->broker;
    size_t len = strlen(ac->name);
    if (!ac->started && !metadata_topic_by_name(&b->image, ac->name, len)) {
        ac->started = true;
        char msg[512];
        struct topic_created created;
        int16_t err = create_topic(b, ac->name, len, ac->partitions, ac->replication_factor,
                                   (const char *const *)ac->config_names, (const char *const *)ac->config_values,
                                   ac->config_count, &created, msg, sizeof msg);
        if (err)
            log_warn("controller", "cannot auto-create topic %s: %s", ac->name, msg);
        if (controller_commit_pending(&b->controller))
            return false;
    }
    auto_create_op_free(ac);
    return true;
}

static int16_t queue_auto_create(struct broker *b, const char *name, size_t len, int32_t partitions,
                                 int32_t replication_factor, const char *const *config_names,
                                 const char *const *config_values, int32_t config_count)
{
    struct auto_create_op *ac = calloc(1, sizeof *ac);
    if (!ac)
        return KAFKA_LEADER_NOT_AVAILABLE;
    ac->op.step = auto_create_step;
    ac->broker = b;
    memcpy(ac->name, name, len);
    ac->partitions = partitions;
    ac->replication_factor = replication_factor;
    for (int32_t i = 0; i < config_count && i < AUTO_CREATE_MAX_CONFIGS; i++) {
        ac->config_names[i] = strdup(config_names[i]);
        ac->config_values[i] = strdup(config_values[i]);
        ac->config_count = i + 1;
        if (!ac->config_names[i] || !ac->config_values[i]) {
            auto_create_op_free(ac);
            return KAFKA_LEADER_NOT_AVAILABLE;
        }
    }
    controller_submit(&b->controller, &ac->op);
    return KAFKA_LEADER_NOT_AVAILABLE;
}

int16_t topics_create_with_configs(struct broker *b, const char *name, size_t len, int32_t partitions,
                                   int32_t replication_factor, const char *const *config_names,
                                   const char *const *config_values, int32_t config_count,
                                   struct topic_state **out, const char **message)
{
    static char msg[512];
    const char *unused;
    if (!message)
        message = &unused;
    *message = NULL;
    struct topic_state *existing = metadata_topic_by_name(&b->image, name, len);
    if (existing) {
        if (out)
            *out = existing;
        return KAFKA_NONE;
    }
    if (controller_busy(&b->controller) && len <= TOPIC_NAME_MAX) {
        *message = "The topic is being created.";
        return queue_auto_create(b, name, len, partitions, replication_factor, config_names, config_values,
                                 config_count);
    }
    struct topic_created created;
    int16_t err = create_topic(b, name, len, partitions, replication_factor, config_names, config_values,
                               config_count, &created, msg, sizeof msg);
    if (err) {
        *message = msg;
        return err;
    }
    if (out)
        *out = metadata_topic_by_id(&b->image, created.id);
    return KAFKA_NONE;
}

int16_t topics_create_in_operation(struct broker *b, const char *name, size_t len, char *msg, size_t cap)
{
    struct topic_created created;
    return create_topic(b, name, len, -1, -1, NULL, NULL, 0, &created, msg, cap);
}

void topics_log_config(struct broker *b, const struct topic_state *t, struct log_config *out)
{
    topic_log_config(b->config, &b->image, t, out);
}
