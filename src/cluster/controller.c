/*
 * controller.c - validated metadata changes, committed as metadata records.
 *
 * Pattern of every operation: check everything first (nothing is written
 * for a refused request), build the records, commit them (durable append +
 * apply to the image), then tell storage. A crash between commit and the
 * storage step is repaired by controller_start on the next boot, which
 * makes storage match the image.
 */
#include "cluster/controller.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/metadata_log.h"
#include "cluster/topic_config.h"
#include "protocol/errors.h"
#include "util/fd_budget.h"
#include "util/logger.h"

/* metadata.version written at first start (Kafka 3.9's level). */
#define EDDY_METADATA_VERSION 21
/* A sanity cap: each partition is a directory with open files. */
#define MAX_PARTITIONS_PER_REQUEST 100000

static int16_t fail(char *msg, size_t cap, int16_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return code;
}

void controller_init(struct controller *c, struct metadata_image *image, const struct broker_config *config,
                     struct metadata_log *log)
{
    memset(c, 0, sizeof *c);
    c->image = image;
    c->config = config;
    c->log = log;
}

enum effect_kind {
    EFFECT_NONE,
    EFFECT_CREATE_TOPIC,      /* topic_id: make its partition logs */
    EFFECT_DELETE_TOPIC,      /* name, count: delete its partition logs */
    EFFECT_CREATE_PARTITIONS, /* topic_id, from: make the new partition logs */
    EFFECT_ALTER_CONFIGS,     /* resource_type, name (a topic, or all for a broker), count records */
};

static void create_partition_logs(struct controller *c, const struct topic_state *t, int32_t from);
static void push_after_alter(struct controller *c, const struct controller_effect *e);

/* Storage catches up with an applied commit. */
static void apply_effect(struct controller *c, const struct controller_effect *e)
{
    struct topic_state *t = NULL;
    switch (e->kind) {
    case EFFECT_CREATE_TOPIC:
        t = metadata_topic_by_id(c->image, e->topic_id);
        if (!t)
            break;
        create_partition_logs(c, t, 0);
        char id[23];
        uuid_to_base64(t->id, id);
        log_info("controller", "created topic %s with id %s, %d partitions, replication factor %d", t->name, id,
                 t->partition_count, t->partition_count > 0 ? t->partitions[0].replica_count : 0);
        break;
    case EFFECT_DELETE_TOPIC:
        if (c->storage.delete_partitions)
            c->storage.delete_partitions(c->storage.ctx, e->name, e->count);
        log_info("controller", "deleted topic %s (%d partitions)", e->name, e->count);
        break;
    case EFFECT_CREATE_PARTITIONS:
        t = metadata_topic_by_id(c->image, e->topic_id);
        if (!t)
            break;
        create_partition_logs(c, t, e->from);
        log_info("controller", "topic %s now has %d partitions", t->name, t->partition_count);
        break;
    case EFFECT_ALTER_CONFIGS:
        push_after_alter(c, e);
        log_info("controller", "altered %d config(s) of %s '%s'", e->count,
                 e->resource_type == CONFIG_RESOURCE_TOPIC ? "topic" : "broker", e->name);
        break;
    default:
        break;
    }
}

/* The commit in flight is durable: apply it, then its effect. */
static void finish_pending(struct controller *c)
{
    c->pending = false;
    metadata_log_apply_appended(c->log, c->image);
    apply_effect(c, &c->pending_effect);
}

/*
 * The metadata log failed under changes already answered for or in flight:
 * as Kafka's brokers do when their metadata log dir fails, stop at once. The
 * log on disk is what the next start replays.
 */
static void halt_on_metadata_failure(int error)
{
    log_error("controller", "the metadata log could not be made durable (%s): halting; restart the broker to "
                            "recover from what the log holds", strerror(-error));
    fflush(NULL);
    _exit(1);
}

/* A commit outside an operation while one is in flight: that one first, on this thread. */
static void drain_pending(struct controller *c)
{
    if (!c->pending)
        return;
    int64_t durable = metadata_log_sync(c->log);
    if (durable < 0)
        halt_on_metadata_failure((int)durable);
    finish_pending(c); /* the operation resumes when the syncer reports */
}

void controller_drain(struct controller *c)
{
    if (!(c->async && c->in_op))
        drain_pending(c);
}

/*
 * Append recs and apply them with their storage effect: at once (durably)
 * outside operations, or once the syncer reports inside one (asynchronous
 * mode). 0 or -errno (then nothing changed).
 */
static int commit(struct controller *c, const struct metadata_record *recs, size_t count,
                  const struct controller_effect *effect)
{
    if (!c->log) {
        for (size_t i = 0; i < count; i++)
            metadata_record_apply(c->image, &recs[i]);
        apply_effect(c, effect);
        return 0;
    }
    if (!(c->async && c->in_op)) {
        drain_pending(c);
        int rc = metadata_log_commit(c->log, c->image, recs, count);
        if (rc == 0)
            apply_effect(c, effect);
        return rc;
    }
    int64_t end;
    int rc = metadata_log_append(c->log, recs, count, &end);
    if (rc != 0)
        return rc;
    c->pending = true;
    c->pending_end = end;
    c->pending_effect = *effect;
    metadata_log_request_sync(c->log);
    return 0;
}

/* Run operations until one waits for a commit or none is left. */
static void run_ops(struct controller *c)
{
    while (!c->pending && !c->in_op) {
        struct controller_op *op = c->current;
        if (!op) {
            op = c->ops_head;
            if (!op)
                return;
            c->ops_head = op->next;
            if (!c->ops_head)
                c->ops_tail = NULL;
            c->current = op;
        }
        c->in_op = true;
        bool done = op->step(op); /* once done, op may be freed with its request */
        c->in_op = false;
        if (done)
            c->current = NULL;
    }
}

void controller_submit(struct controller *c, struct controller_op *op)
{
    op->next = NULL;
    if (c->ops_tail)
        c->ops_tail->next = op;
    else
        c->ops_head = op;
    c->ops_tail = op;
    run_ops(c);
}

bool controller_busy(const struct controller *c)
{
    return c->pending || c->current || c->ops_head;
}

bool controller_commit_pending(const struct controller *c)
{
    return c->pending;
}

void controller_enable_async(struct controller *c)
{
    c->async = c->log != NULL;
}

void controller_on_synced(struct controller *c)
{
    if (!c->log)
        return;
    int error = 0;
    int64_t durable = metadata_log_durable_end(c->log, &error);
    if (error)
        halt_on_metadata_failure(error);
    if (c->pending && durable >= c->pending_end)
        finish_pending(c);
    run_ops(c);
}

void controller_finish(struct controller *c)
{
    if (c->log)
        metadata_log_stop_syncer(c->log);
    c->async = false;
    drain_pending(c);
    run_ops(c); /* the rest commit synchronously now */
}

static int16_t commit_failed(char *msg, size_t cap, int rc)
{
    return fail(msg, cap, KAFKA_UNKNOWN_SERVER_ERROR, "The metadata log could not be written: %s", strerror(-rc));
}

void controller_push_config(struct controller *c, const struct topic_state *t)
{
    if (!c->storage.set_config)
        return;
    struct log_config lc;
    topic_log_config(c->config, c->image, t, &lc);
    c->storage.set_config(c->storage.ctx, t, &lc);
}

static void create_partition_logs(struct controller *c, const struct topic_state *t, int32_t from)
{
    if (!c->storage.create_partitions)
        return;
    struct log_config lc;
    topic_log_config(c->config, c->image, t, &lc);
    c->storage.create_partitions(c->storage.ctx, t, from, &lc);
}

/* ---------------------------------------------------------------- start-up */

int controller_start(struct controller *c, const struct broker_registration *self)
{
    struct metadata_record recs[2];
    size_t n = 0;
    if (c->image->metadata_version == 0) {
        metadata_record_init(&recs[n], METADATA_FEATURE_LEVEL);
        recs[n].u.feature_level.name = kstr_from_cstr("metadata.version");
        recs[n++].u.feature_level.feature_level = EDDY_METADATA_VERSION;
    }
    const struct broker_registration *prev = metadata_broker_find(c->image, self->node_id);
    struct register_broker_record_broker_endpoint endpoints[BROKER_MAX_ENDPOINTS];
    metadata_record_init(&recs[n], METADATA_REGISTER_BROKER);
    struct register_broker_record *reg = &recs[n++].u.register_broker;
    reg->broker_id = self->node_id;
    reg->broker_epoch = prev ? prev->epoch + 1 : 1;
    reg->incarnation_id = uuid_random();
    reg->fenced = false;
    reg->rack = self->rack[0] ? kstr_from_cstr(self->rack) : kstr_null();
    reg->end_points = endpoints;
    reg->end_points_count = self->endpoint_count;
    for (int i = 0; i < self->endpoint_count; i++) {
        register_broker_record_broker_endpoint_init(&endpoints[i]);
        endpoints[i].name = kstr_from_cstr(self->endpoints[i].listener);
        endpoints[i].host = kstr_from_cstr(self->endpoints[i].host);
        endpoints[i].port = (uint16_t)self->endpoints[i].port;
        endpoints[i].security_protocol = self->endpoints[i].security_protocol;
    }
    static const struct controller_effect none = {.kind = EFFECT_NONE};
    int rc = commit(c, recs, n, &none);
    if (rc < 0)
        return rc;
    if (c->storage.remove_orphans)
        c->storage.remove_orphans(c->storage.ctx, c->image);
    for (struct topic_state *t = c->image->topics; t; t = t->next) {
        create_partition_logs(c, t, 0);
        controller_push_config(c, t);
    }
    return 0;
}

/* ---------------------------------------------------------------- topics */

int16_t controller_check_new_topic_name(const struct controller *c, struct kstr name, char *msg, size_t cap)
{
    if (kstr_is_null(name))
        return fail(msg, cap, KAFKA_INVALID_TOPIC_EXCEPTION, "Topic name is illegal, it can't be null");
    const char *bad = topic_name_check(name.ptr, (size_t)name.len);
    if (bad)
        return fail(msg, cap, KAFKA_INVALID_TOPIC_EXCEPTION, "%s", bad);
    /* Its partition directory would be the metadata log's own: as Kafka's
     * ControllerApis.createTopics, never a topic, by any path. */
    if (kstr_eq_cstr(name, METADATA_LOG_TOPIC))
        return fail(msg, cap, KAFKA_INVALID_REQUEST, "Creation of internal topic %s is prohibited.",
                    METADATA_LOG_TOPIC);
    if (metadata_topic_by_name(c->image, name.ptr, (size_t)name.len))
        return fail(msg, cap, KAFKA_TOPIC_ALREADY_EXISTS, "Topic '%.*s' already exists.", (int)name.len, name.ptr);
    const struct topic_state *other = metadata_topic_colliding(c->image, name.ptr, (size_t)name.len);
    if (other)
        return fail(msg, cap, KAFKA_INVALID_TOPIC_EXCEPTION,
                    "Topic '%.*s' collides with existing topic: %s", (int)name.len, name.ptr, other->name);
    return 0;
}

/* One partition's replica list: brokers registered, no duplicates, not empty. */
static int16_t check_replicas(const struct controller *c, const struct replica_assignment *a, char *msg,
                              size_t cap)
{
    if (a->broker_count <= 0)
        return fail(msg, cap, KAFKA_INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes an empty replica list.");
    for (int32_t i = 0; i < a->broker_count; i++) {
        if (!metadata_broker_find(c->image, a->brokers[i]))
            return fail(msg, cap, KAFKA_INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes broker %d, but no such broker is registered.",
                        a->brokers[i]);
        for (int32_t j = 0; j < i; j++)
            if (a->brokers[j] == a->brokers[i])
                return fail(msg, cap, KAFKA_INVALID_REPLICA_ASSIGNMENT,
                            "The manual partition assignment includes the broker %d more than once.",
                            a->brokers[i]);
    }
    return 0;
}

/* Linear in the number of assignments: a request may carry 100,000 of them. */
static int16_t check_assignments(const struct controller *c, const struct topic_spec *spec, char *msg, size_t cap)
{
    int32_t n = spec->assignment_count;
    if (n > MAX_PARTITIONS_PER_REQUEST)
        return fail(msg, cap, KAFKA_INVALID_PARTITIONS, "Number of partitions %d is above the limit of %d.", n,
                    MAX_PARTITIONS_PER_REQUEST);
    uint8_t *named = calloc((size_t)n, 1); /* per partition: named by some assignment */
    if (!named)
        return fail(msg, cap, KAFKA_UNKNOWN_SERVER_ERROR, "Out of memory checking the assignment.");
    for (int32_t i = 0; i < n; i++) {
        int32_t p = spec->assignments[i].partition;
        if (p >= 0 && p < n)
            named[p] = 1;
    }
    int16_t err = 0;
    for (int32_t i = 0; i < n && !err; i++) {
        const struct replica_assignment *a = &spec->assignments[i];
        if (!named[i])
            err = fail(msg, cap, KAFKA_INVALID_REPLICA_ASSIGNMENT,
                       "Partitions should be consecutive and start from 0, but partition %d is missing.", i);
        else
            err = check_replicas(c, a, msg, cap);
        if (!err && a->broker_count != spec->assignments[0].broker_count)
            err = fail(msg, cap, KAFKA_INVALID_REPLICA_ASSIGNMENT,
                       "All partitions should have the same number of replicas.");
    }
    /* n assignments naming every partition 0..n-1 name each exactly once: a
     * partition named twice leaves another one missing, reported above. */
    free(named);
    return err;
}

/*
 * Kafka's ConfigDef.parseType trims a number before parsing it (Java's
 * String.trim: every byte up to ' ' at either end), so " 1048576 " is
 * accepted as 1048576. We store the trimmed text, so every reader of the
 * value sees a plain number.
 */
static struct kstr trimmed_number(const struct topic_config_def *def, struct kstr value)
{
    bool numeric = def->type == KAFKA_CONFIG_TYPE_INT || def->type == KAFKA_CONFIG_TYPE_LONG ||
                   def->type == KAFKA_CONFIG_TYPE_DOUBLE;
    if (!numeric || kstr_is_null(value))
        return value;
    while (value.len > 0 && (unsigned char)value.ptr[0] <= ' ') {
        value.ptr++;
        value.len--;
    }
    while (value.len > 0 && (unsigned char)value.ptr[value.len - 1] <= ' ')
        value.len--;
    return value;
}

struct kstr controller_topic_config_stored_value(struct kstr name, struct kstr value)
{
    const struct topic_config_def *def = kstr_is_null(name) ? NULL : topic_config_find(name.ptr, (size_t)name.len);
    return def ? trimmed_number(def, value) : value;
}

static int16_t check_topic_configs(const struct config_kv *configs, int32_t count, char *msg, size_t cap)
{
    for (int32_t i = 0; i < count; i++) {
        struct kstr name = configs[i].name;
        const struct topic_config_def *def =
            kstr_is_null(name) ? NULL : topic_config_find(name.ptr, (size_t)name.len);
        if (!def)
            return fail(msg, cap, KAFKA_INVALID_CONFIG, "Unknown topic config name: %.*s",
                        (int)(name.len > 0 ? name.len : 0), name.ptr ? name.ptr : "");
        if (kstr_is_null(configs[i].value))
            return fail(msg, cap, KAFKA_INVALID_REQUEST, "Null value not supported for topic configs: %s",
                        def->name);
        struct kstr value = trimmed_number(def, configs[i].value);
        int16_t err = topic_config_validate(def, value.ptr, (size_t)value.len, msg, cap);
        if (err)
            return err;
        for (int32_t j = 0; j < i; j++)
            if (kstr_eq(configs[j].name, name))
                return fail(msg, cap, KAFKA_INVALID_REQUEST, "Duplicate topic config name: %s", def->name);
    }
    return 0;
}

/*
 * Kafka's LogConfig.validateValues: the cleaner cannot be told to keep a
 * record uncompacted (min.compaction.lag.ms) longer than the deadline that
 * forces its compaction (max.compaction.lag.ms). Each value passes its own
 * range check, so the pair is checked on the topic's resulting configs, a
 * value not given being the one the topic inherits (as Kafka merges the
 * broker's log config under the topic's).
 */
static int16_t check_compaction_lags(const char *min_lag, const char *max_lag, char *msg, size_t cap)
{
    long long min_ms = strtoll(min_lag, NULL, 10);
    long long max_ms = strtoll(max_lag, NULL, 10);
    if (min_ms <= max_ms)
        return 0;
    return fail(msg, cap, KAFKA_INVALID_CONFIG,
                "conflict topic config setting min.compaction.lag.ms (%lld) > max.compaction.lag.ms (%lld)", min_ms,
                max_ms);
}

/* A new topic's value of key: the request's, else the broker level's. */
static const char *new_topic_value(const struct controller *c, const struct topic_spec *spec, const char *key,
                                   char *buf, size_t cap)
{
    for (int32_t i = 0; i < spec->config_count; i++) {
        struct kstr v = controller_topic_config_stored_value(spec->configs[i].name, spec->configs[i].value);
        if (kstr_eq_cstr(spec->configs[i].name, key) && !kstr_is_null(v)) {
            snprintf(buf, cap, "%.*s", (int)v.len, v.ptr);
            return buf;
        }
    }
    return topic_config_value(c->config, c->image, NULL, key, buf, cap);
}

static int16_t check_new_topic_compaction_lags(const struct controller *c, const struct topic_spec *spec,
                                               char *msg, size_t cap)
{
    char min_lag[64], max_lag[64];
    return check_compaction_lags(new_topic_value(c, spec, "min.compaction.lag.ms", min_lag, sizeof min_lag),
                                 new_topic_value(c, spec, "max.compaction.lag.ms", max_lag, sizeof max_lag), msg,
                                 cap);
}

/* Each partition keeps its segment, offset index and time index open; the
 * headroom is for connections and everything else. Checked before any
 * metadata is written: running out halfway left topics in the metadata
 * without logs. (One node holds every partition today.) */
#define FILES_PER_PARTITION 3
#define FILE_HEADROOM 256

static int16_t check_file_budget(int64_t new_partitions, char *msg, size_t cap)
{
    int64_t limit = 0;
    int64_t needed = new_partitions * FILES_PER_PARTITION + FILE_HEADROOM;
    int64_t available = fd_budget_available_for(needed, &limit);
    if (available < 0 || needed <= available)
        return 0;
    return fail(msg, cap, KAFKA_POLICY_VIOLATION,
                "%" PRId64 " new partitions need about %" PRId64 " more open files, but this broker may open only %" PRId64
                " more (limit %" PRId64 ", ulimit -n); raise the limit first.",
                new_partitions, needed - FILE_HEADROOM, available > FILE_HEADROOM ? available - FILE_HEADROOM : 0,
                limit);
}

static int16_t check_topic_spec(const struct controller *c, const struct topic_spec *spec, int32_t *partitions,
                                int16_t *rf, char *msg, size_t cap)
{
    int16_t err = controller_check_new_topic_name(c, spec->name, msg, cap);
    if (err)
        return err;
    if (spec->assignment_count > 0) {
        if (spec->partitions != -1 || spec->replication_factor != -1)
            return fail(msg, cap, KAFKA_INVALID_REQUEST,
                        "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
        err = check_assignments(c, spec, msg, cap);
        if (err)
            return err;
        *partitions = spec->assignment_count;
        *rf = (int16_t)spec->assignments[0].broker_count;
    } else {
        *partitions = spec->partitions == -1 ? (int32_t)c->config->num_partitions : spec->partitions;
        *rf = spec->replication_factor == -1 ? (int16_t)c->config->default_replication_factor
                                             : spec->replication_factor;
        if (*partitions <= 0)
            return fail(msg, cap, KAFKA_INVALID_PARTITIONS,
                        "Number of partitions was set to an invalid non-positive value.");
        if (*rf <= 0)
            return fail(msg, cap, KAFKA_INVALID_REPLICATION_FACTOR,
                        "Replication factor must be larger than 0, or -1 to use the default value.");
        int32_t brokers = c->image->broker_count;
        if (*rf > brokers)
            return fail(msg, cap, KAFKA_INVALID_REPLICATION_FACTOR,
                        "Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
                        *rf, *rf, brokers);
    }
    if (*partitions > MAX_PARTITIONS_PER_REQUEST)
        return fail(msg, cap, KAFKA_INVALID_PARTITIONS, "Number of partitions %d is above the limit of %d.",
                    *partitions, MAX_PARTITIONS_PER_REQUEST);
    err = check_file_budget(*partitions, msg, cap);
    if (err)
        return err;
    err = check_topic_configs(spec->configs, spec->config_count, msg, cap);
    if (err)
        return err;
    return check_new_topic_compaction_lags(c, spec, msg, cap);
}

/*
 * Placement without an explicit assignment: rf brokers, starting at a
 * rotating offset so leaders spread (one broker today: always itself).
 */
static void place_replicas(const struct metadata_image *img, int32_t partition, int16_t rf, int32_t *out)
{
    for (int16_t r = 0; r < rf; r++)
        out[r] = img->brokers[(partition + r) % img->broker_count].node_id;
}

static void fill_partition_record(struct metadata_record *rec, struct kuuid topic_id, int32_t partition,
                                  const int32_t *replicas, int32_t count)
{
    metadata_record_init(rec, METADATA_PARTITION);
    struct partition_record *m = &rec->u.partition;
    m->topic_id = topic_id;
    m->partition_id = partition;
    m->replicas = (int32_t *)replicas;
    m->replicas_count = count;
    m->isr = (int32_t *)replicas;
    m->isr_count = count;
    m->leader = replicas[0];
    m->leader_epoch = 0;
    m->partition_epoch = 0;
}

/* Replica ids for new partitions [from, to) in one block (count*rf ints). */
static int32_t *plan_replicas(const struct metadata_image *img, int32_t from, int32_t to, int16_t rf,
                              const struct replica_assignment *assignments, int32_t assignment_count)
{
    int32_t *ids = malloc(sizeof *ids * (size_t)(to - from) * (size_t)rf + sizeof *ids);
    const struct replica_assignment **by_partition = calloc((size_t)(to - from) + 1, sizeof *by_partition);
    if (!ids || !by_partition) {
        free(ids);
        free(by_partition);
        return NULL;
    }
    for (int32_t i = 0; i < assignment_count; i++)
        if (assignments[i].partition >= from && assignments[i].partition < to)
            by_partition[assignments[i].partition - from] = &assignments[i];
    for (int32_t p = from; p < to; p++) {
        int32_t *slot = ids + (size_t)(p - from) * (size_t)rf;
        const struct replica_assignment *a = by_partition[p - from];
        if (a)
            memcpy(slot, a->brokers, sizeof *slot * (size_t)rf);
        else
            place_replicas(img, p, rf, slot);
    }
    free(by_partition);
    return ids;
}

int16_t controller_create_topic(struct controller *c, const struct topic_spec *spec, bool validate_only,
                                struct topic_created *out, char *msg, size_t cap)
{
    msg[0] = '\0';
    controller_drain(c); /* outside operations: check against the change in flight too */
    int32_t partitions = 0;
    int16_t rf = 0;
    int16_t err = check_topic_spec(c, spec, &partitions, &rf, msg, cap);
    if (err)
        return err;
    out->id = uuid_random();
    while (metadata_topic_by_id(c->image, out->id))
        out->id = uuid_random();
    out->partitions = partitions;
    out->replication_factor = rf;
    if (validate_only)
        return 0;
    size_t count = 1 + (size_t)partitions + (size_t)spec->config_count;
    struct metadata_record *recs = malloc(sizeof *recs * count);
    int32_t *replicas = plan_replicas(c->image, 0, partitions, rf, spec->assignments, spec->assignment_count);
    if (!recs || !replicas) {
        free(recs);
        free(replicas);
        return fail(msg, cap, KAFKA_UNKNOWN_SERVER_ERROR, "Out of memory.");
    }
    size_t n = 0;
    metadata_record_init(&recs[n], METADATA_TOPIC);
    recs[n].u.topic.name = spec->name;
    recs[n++].u.topic.topic_id = out->id;
    for (int32_t p = 0; p < partitions; p++)
        fill_partition_record(&recs[n++], out->id, p, replicas + (size_t)p * (size_t)rf, rf);
    for (int32_t i = 0; i < spec->config_count; i++) {
        metadata_record_init(&recs[n], METADATA_CONFIG);
        recs[n].u.config.resource_type = CONFIG_RESOURCE_TOPIC;
        recs[n].u.config.resource_name = spec->name;
        const struct config_kv *kv = &spec->configs[i];
        recs[n].u.config.name = kv->name;
        recs[n++].u.config.value = controller_topic_config_stored_value(kv->name, kv->value);
    }
    struct controller_effect effect = {.kind = EFFECT_CREATE_TOPIC, .topic_id = out->id};
    int rc = commit(c, recs, n, &effect);
    free(recs);
    free(replicas);
    if (rc < 0)
        return commit_failed(msg, cap, rc);
    return 0;
}

int16_t controller_adopt_topic(struct controller *c, const char *name, struct kuuid id, int32_t partitions,
                               char *msg, size_t cap)
{
    msg[0] = '\0';
    controller_drain(c);
    struct kstr kname = kstr_from_cstr(name);
    int16_t err = controller_check_new_topic_name(c, kname, msg, cap);
    if (err)
        return err;
    if (partitions <= 0 || partitions > MAX_PARTITIONS_PER_REQUEST)
        return fail(msg, cap, KAFKA_INVALID_PARTITIONS, "Cannot adopt %d partitions.", partitions);
    if (kuuid_is_zero(id) || metadata_topic_by_id(c->image, id))
        id = uuid_random();
    struct metadata_record *recs = malloc(sizeof *recs * ((size_t)partitions + 1));
    if (!recs)
        return fail(msg, cap, KAFKA_UNKNOWN_SERVER_ERROR, "Out of memory.");
    int32_t self = (int32_t)c->config->node_id; /* the data is on this node */
    metadata_record_init(&recs[0], METADATA_TOPIC);
    recs[0].u.topic.name = kname;
    recs[0].u.topic.topic_id = id;
    for (int32_t p = 0; p < partitions; p++)
        fill_partition_record(&recs[p + 1], id, p, &self, 1);
    static const struct controller_effect none = {.kind = EFFECT_NONE};
    int rc = commit(c, recs, (size_t)partitions + 1, &none);
    free(recs);
    if (rc < 0)
        return commit_failed(msg, cap, rc);
    log_warn("controller", "adopted topic %s (%d partitions) found on disk but missing from the metadata log", name,
             partitions);
    return 0;
}

int16_t controller_delete_topic(struct controller *c, struct topic_state *t, char *msg, size_t cap)
{
    msg[0] = '\0';
    if (!c->config->delete_topic_enable)
        return fail(msg, cap, KAFKA_TOPIC_DELETION_DISABLED, "Topic deletion is disabled.");
    if (t->internal)
        return fail(msg, cap, KAFKA_INVALID_TOPIC_EXCEPTION, "Cannot delete internal topic %s", t->name);
    struct controller_effect effect = {.kind = EFFECT_DELETE_TOPIC, .count = t->partition_count};
    snprintf(effect.name, sizeof effect.name, "%s", t->name);
    struct metadata_record rec;
    metadata_record_init(&rec, METADATA_REMOVE_TOPIC);
    rec.u.remove_topic.topic_id = t->id;
    int rc = commit(c, &rec, 1, &effect); /* frees t once applied */
    if (rc < 0)
        return commit_failed(msg, cap, rc);
    return 0;
}

int16_t controller_create_partitions(struct controller *c, struct topic_state *t, int32_t total_count,
                                     const struct replica_assignment *assignments, int32_t assignment_count,
                                     bool validate_only, char *msg, size_t cap)
{
    msg[0] = '\0';
    int32_t current = t->partition_count;
    if (total_count < current)
        return fail(msg, cap, KAFKA_INVALID_PARTITIONS,
                    "Topic currently has %d partitions, which is higher than the requested %d.", current,
                    total_count);
    if (total_count == current)
        return fail(msg, cap, KAFKA_INVALID_PARTITIONS, "Topic already has %d partitions.", current);
    if (total_count - current > MAX_PARTITIONS_PER_REQUEST)
        return fail(msg, cap, KAFKA_INVALID_PARTITIONS, "Cannot add more than %d partitions at once.",
                    MAX_PARTITIONS_PER_REQUEST);
    int16_t budget_err = check_file_budget(total_count - current, msg, cap);
    if (budget_err)
        return budget_err;
    int16_t rf = (int16_t)(current > 0 ? t->partitions[0].replica_count : 1);
    if (assignment_count >= 0) {
        if (assignment_count != total_count - current)
            return fail(msg, cap, KAFKA_INVALID_REPLICA_ASSIGNMENT,
                        "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.",
                        total_count - current, assignment_count);
        for (int32_t i = 0; i < assignment_count; i++) {
            int16_t err = check_replicas(c, &assignments[i], msg, cap);
            if (err)
                return err;
            if (assignments[i].broker_count != rf)
                return fail(msg, cap, KAFKA_INVALID_REPLICA_ASSIGNMENT,
                            "The manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s).",
                            assignments[i].broker_count, rf);
        }
    } else if (rf > c->image->broker_count) {
        return fail(msg, cap, KAFKA_INVALID_REPLICATION_FACTOR,
                    "Unable to replicate the partition %d time(s): only %d broker(s) are registered.", rf,
                    c->image->broker_count);
    }
    if (validate_only)
        return 0;
    int32_t added = total_count - current;
    struct metadata_record *recs = malloc(sizeof *recs * (size_t)added);
    int32_t *replicas = plan_replicas(c->image, current, total_count, rf, NULL, 0);
    if (!recs || !replicas) {
        free(recs);
        free(replicas);
        return fail(msg, cap, KAFKA_UNKNOWN_SERVER_ERROR, "Out of memory.");
    }
    /* Explicit assignments are in the order of the new partitions. */
    for (int32_t i = 0; i < assignment_count; i++)
        memcpy(replicas + (size_t)i * (size_t)rf, assignments[i].brokers, sizeof *replicas * (size_t)rf);
    for (int32_t p = current; p < total_count; p++)
        fill_partition_record(&recs[p - current], t->id, p, replicas + (size_t)(p - current) * (size_t)rf, rf);
    struct controller_effect effect = {.kind = EFFECT_CREATE_PARTITIONS, .topic_id = t->id, .from = current};
    int rc = commit(c, recs, (size_t)added, &effect);
    free(recs);
    free(replicas);
    if (rc < 0)
        return commit_failed(msg, cap, rc);
    return 0;
}

/* ---------------------------------------------------------------- configs */

/* Does the comma-separated list contain item? */
static bool list_has(const char *list, const char *item, size_t len)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == len && memcmp(p, item, len) == 0)
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

/* APPEND/SUBTRACT on a list value: out = current (+/-) items of value. */
static void list_edit(const char *current, struct kstr value, bool append, char *out, size_t cap)
{
    out[0] = '\0';
    size_t used = 0;
    char items[1024];
    snprintf(items, sizeof items, "%.*s", (int)(value.len > 0 ? value.len : 0), value.ptr ? value.ptr : "");
    const char *p = current;
    while (*p) {
        size_t n = strcspn(p, ",");
        bool keep = n > 0 && (append || !list_has(items, p, n));
        if (keep && used + n + 2 < cap)
            used += (size_t)snprintf(out + used, cap - used, "%s%.*s", used ? "," : "", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (!append)
        return;
    p = items;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0 && !list_has(out, p, n) && used + n + 2 < cap)
            used += (size_t)snprintf(out + used, cap - used, "%s%.*s", used ? "," : "", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
}

static const char *op_name(int8_t op)
{
    switch (op) {
    case CONFIG_OP_APPEND: return "append";
    case CONFIG_OP_SUBTRACT: return "subtract";
    case CONFIG_OP_DELETE: return "delete";
    default: return "set";
    }
}

/* Resolve a config name for a resource type: the topic config def it maps to. */
static const struct topic_config_def *resource_def(int8_t type, struct kstr name)
{
    if (kstr_is_null(name))
        return NULL;
    if (type == CONFIG_RESOURCE_TOPIC)
        return topic_config_find(name.ptr, (size_t)name.len);
    return topic_config_by_broker_name(name.ptr, (size_t)name.len);
}

struct alter_target {
    int8_t type;
    struct kstr resource;
    struct topic_state *topic;         /* TOPIC */
    const struct config_entry *current; /* the resource's overrides */
};

static int16_t resolve_target(struct controller *c, int8_t type, struct kstr name, struct alter_target *tgt,
                              char *msg, size_t cap)
{
    memset(tgt, 0, sizeof *tgt);
    tgt->type = type;
    tgt->resource = name;
    int len = name.len > 0 ? name.len : 0;
    if (type == CONFIG_RESOURCE_TOPIC) {
        tgt->topic = kstr_is_null(name) ? NULL : metadata_topic_by_name(c->image, name.ptr, (size_t)name.len);
        if (!tgt->topic)
            return fail(msg, cap, KAFKA_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%.*s' does not exist.", len,
                        name.ptr ? name.ptr : "");
        tgt->current = tgt->topic->configs;
        return 0;
    }
    if (type != CONFIG_RESOURCE_BROKER)
        return fail(msg, cap, KAFKA_INVALID_REQUEST, "Unsupported resource type %d for altering configs.", type);
    char node[16];
    snprintf(node, sizeof node, "%lld", (long long)c->config->node_id);
    if (len > 0 && !kstr_eq_cstr(name, node))
        return fail(msg, cap, KAFKA_INVALID_REQUEST,
                    "Unexpected broker id, expected %s or empty string, but received %.*s", node, len, name.ptr);
    tgt->resource.ptr = len > 0 ? name.ptr : "";
    tgt->resource.len = len;
    tgt->current = metadata_broker_configs_get(c->image, tgt->resource.ptr, (size_t)len);
    return 0;
}

/* The value a list edit starts from: the override, else the effective value. */
static const char *current_value(struct controller *c, const struct alter_target *tgt,
                                 const struct topic_config_def *def, const char *key, char *buf, size_t cap)
{
    const char *v = config_entry_get(tgt->current, key);
    if (v)
        return v;
    return topic_config_value(c->config, c->image, tgt->topic, def->name, buf, cap);
}

static int16_t check_change(struct controller *c, const struct alter_target *tgt, const struct config_change *ch,
                            char *value_out, size_t value_cap, bool *has_value, char *msg, size_t cap)
{
    const struct topic_config_def *def = resource_def(tgt->type, ch->name);
    int nlen = ch->name.len > 0 ? ch->name.len : 0;
    const char *nptr = ch->name.ptr ? ch->name.ptr : "";
    if (!def && tgt->type == CONFIG_RESOURCE_TOPIC)
        return fail(msg, cap, KAFKA_INVALID_CONFIG, "Unknown topic config name: %.*s", nlen, nptr);
    if (!def)
        return fail(msg, cap, KAFKA_INVALID_CONFIG, "Cannot update these configs dynamically: %.*s", nlen, nptr);
    char key[96];
    snprintf(key, sizeof key, "%.*s", nlen, nptr);
    *has_value = false;
    switch (ch->op) {
    case CONFIG_OP_DELETE:
        return 0;
    case CONFIG_OP_SET: {
        if (kstr_is_null(ch->value))
            return 0; /* legacy AlterConfigs: null removes the override */
        struct kstr value = trimmed_number(def, ch->value);
        if ((size_t)value.len >= value_cap)
            return fail(msg, cap, KAFKA_INVALID_CONFIG, "Value of %s is too long.", key);
        snprintf(value_out, value_cap, "%.*s", (int)value.len, value.ptr);
        break;
    }
    case CONFIG_OP_APPEND:
    case CONFIG_OP_SUBTRACT: {
        if (def->type != KAFKA_CONFIG_TYPE_LIST)
            return fail(msg, cap, KAFKA_INVALID_CONFIG, "Config value %s is not allowed for config key: %s",
                        op_name(ch->op), key);
        char buf[1024];
        const char *cur = current_value(c, tgt, def, key, buf, sizeof buf);
        list_edit(cur ? cur : "", ch->value, ch->op == CONFIG_OP_APPEND, value_out, value_cap);
        break;
    }
    default:
        return fail(msg, cap, KAFKA_INVALID_REQUEST, "Unknown config operation %d for %s.", ch->op, key);
    }
    *has_value = true;
    return topic_config_validate(def, value_out, strlen(value_out), msg, cap);
}

/*
 * A topic's value of key once the CONFIG records apply: the record's; an
 * override the records delete falls back to the broker level; a key they
 * leave alone keeps the topic's current value.
 */
static const char *altered_topic_value(struct controller *c, const struct alter_target *tgt,
                                       const struct metadata_record *recs, size_t count, const char *key, char *buf,
                                       size_t cap)
{
    for (size_t i = 0; i < count; i++) {
        const struct config_record *rec = &recs[i].u.config;
        if (!kstr_eq_cstr(rec->name, key))
            continue;
        if (kstr_is_null(rec->value))
            return topic_config_value(c->config, c->image, NULL, key, buf, cap);
        snprintf(buf, cap, "%.*s", (int)rec->value.len, rec->value.ptr);
        return buf;
    }
    return topic_config_value(c->config, c->image, tgt->topic, key, buf, cap);
}

static int16_t check_altered_compaction_lags(struct controller *c, const struct alter_target *tgt,
                                             const struct metadata_record *recs, size_t count, char *msg,
                                             size_t cap)
{
    if (tgt->type != CONFIG_RESOURCE_TOPIC)
        return 0;
    char min_lag[64], max_lag[64];
    return check_compaction_lags(
        altered_topic_value(c, tgt, recs, count, "min.compaction.lag.ms", min_lag, sizeof min_lag),
        altered_topic_value(c, tgt, recs, count, "max.compaction.lag.ms", max_lag, sizeof max_lag), msg, cap);
}

static void push_after_alter(struct controller *c, const struct controller_effect *e)
{
    if (e->resource_type == CONFIG_RESOURCE_TOPIC) {
        const struct topic_state *t = metadata_topic_by_name(c->image, e->name, strlen(e->name));
        if (t)
            controller_push_config(c, t);
        return;
    }
    for (struct topic_state *t = c->image->topics; t; t = t->next)
        controller_push_config(c, t);
}

int16_t controller_alter_configs(struct controller *c, int8_t resource_type, struct kstr resource_name,
                                 const struct config_change *changes, int32_t count, bool replace,
                                 bool validate_only, char *msg, size_t cap)
{
    msg[0] = '\0';
    controller_drain(c);
    struct alter_target tgt;
    int16_t err = resolve_target(c, resource_type, resource_name, &tgt, msg, cap);
    if (err)
        return err;
    for (int32_t i = 0; i < count; i++)
        for (int32_t j = 0; j < i; j++)
            if (kstr_eq(changes[i].name, changes[j].name))
                return fail(msg, cap, KAFKA_INVALID_REQUEST, "Error due to duplicate config keys");
    size_t max = (size_t)count + (replace ? config_entry_count(tgt.current) : 0) + 1;
    struct metadata_record *recs = calloc(max, sizeof *recs);
    char (*values)[1024] = calloc((size_t)count + 1, sizeof *values);
    if (!recs || !values) {
        free(recs);
        free(values);
        return fail(msg, cap, KAFKA_UNKNOWN_SERVER_ERROR, "Out of memory.");
    }
    size_t n = 0;
    for (int32_t i = 0; i < count && !err; i++) {
        bool has_value = false;
        err = check_change(c, &tgt, &changes[i], values[i], sizeof values[i], &has_value, msg, cap);
        if (err)
            break;
        metadata_record_init(&recs[n], METADATA_CONFIG);
        recs[n].u.config.resource_type = resource_type;
        recs[n].u.config.resource_name = tgt.resource;
        recs[n].u.config.name = changes[i].name;
        recs[n++].u.config.value = has_value ? kstr_from_cstr(values[i]) : kstr_null();
    }
    if (!err && replace) {
        /* Legacy AlterConfigs: overrides not named in the request go away. */
        for (const struct config_entry *e = tgt.current; e; e = e->next) {
            bool named = false;
            for (int32_t i = 0; i < count && !named; i++)
                named = kstr_eq_cstr(changes[i].name, e->name);
            if (named)
                continue;
            metadata_record_init(&recs[n], METADATA_CONFIG);
            recs[n].u.config.resource_type = resource_type;
            recs[n].u.config.resource_name = tgt.resource;
            recs[n].u.config.name = kstr_from_cstr(e->name);
            recs[n++].u.config.value = kstr_null();
        }
    }
    if (!err)
        err = check_altered_compaction_lags(c, &tgt, recs, n, msg, cap);
    struct controller_effect effect = {.kind = EFFECT_ALTER_CONFIGS, .resource_type = resource_type,
                                       .count = (int32_t)n};
    snprintf(effect.name, sizeof effect.name, "%.*s", (int)tgt.resource.len, tgt.resource.ptr ? tgt.resource.ptr : "");
    int rc = 0;
    if (!err && !validate_only && n > 0)
        rc = commit(c, recs, n, &effect);
    free(recs);
    free(values);
    if (err)
        return err;
    if (rc < 0)
        return commit_failed(msg, cap, rc);
    if (!validate_only && n == 0)
        apply_effect(c, &effect); /* nothing to record: the configs are pushed all the same, as before */
    return 0;
}
