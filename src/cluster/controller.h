/*
 * controller.h - the single-node controller: validates metadata changes with
 * Kafka's rules, commits them as records to the metadata log (which applies
 * them to the image) and then brings storage in line through hooks.
 *
 * Every function runs on the event-loop thread. Errors are Kafka error codes
 * with a message in Kafka's wording written to msg.
 *
 * Admin requests run as operations (controller_submit), one at a time in
 * arrival order. Once controller_enable_async was called, a change made inside
 * an operation is appended to the metadata log and the operation pauses; the
 * metadata log's syncer thread fsyncs it, and controller_on_synced applies it
 * to the image, brings storage in line and resumes the operation. Nothing is
 * visible before it is durable, and the event loop serves every other client
 * meanwhile (Metadata's topic auto-creation runs as an operation too).
 * Changes made outside operations (start-up, __consumer_offsets for the
 * coordinators) are durable and applied when the call returns, as before.
 */
#ifndef EDDY_CLUSTER_CONTROLLER_H
#define EDDY_CLUSTER_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/metadata_image.h"
#include "cluster/metadata_log.h"
#include "config/config.h"
#include "log/partition_log.h"

/* What the controller needs from storage; any hook may be NULL (tests). */
struct controller_storage {
    void *ctx;
    /* Create (or adopt the existing) logs of partitions `from` up to t's
     * count with this config; storage may finish them later (the broker
     * reports those partitions without a leader until then). */
    void (*create_partitions)(void *ctx, const struct topic_state *t, int32_t from,
                              const struct log_config *config);
    /* Delete the logs of a topic's partitions 0 to count-1 (data removed in the background). */
    void (*delete_partitions)(void *ctx, const char *topic, int32_t count);
    /* Push a new effective config to every partition log of t. */
    void (*set_config)(void *ctx, const struct topic_state *t, const struct log_config *config);
    /* Start-up: delete partition logs of topics the image no longer has. */
    void (*remove_orphans)(void *ctx, const struct metadata_image *img);
};

/*
 * An admin request's work, run when its turn comes. step() does the next part
 * and returns true once the request is answered; it must return false right
 * after a controller call that left a commit in flight
 * (controller_commit_pending), and is called again once that commit is
 * durable and applied.
 */
struct controller_op {
    bool (*step)(struct controller_op *op);
    struct controller_op *next;
};

/* What storage must do once a commit is applied (controller.c's business). */
struct controller_effect {
    int kind;
    struct kuuid topic_id;
    int32_t from, count;
    int8_t resource_type;
    char name[TOPIC_NAME_MAX + 1];
};

struct controller {
    struct metadata_image *image;
    const struct broker_config *config;
    struct metadata_log *log; /* NULL: changes are applied to the image only (tests) */
    struct controller_storage storage;
    bool async;  /* commits inside operations wait for the syncer */
    bool in_op;  /* an operation's step is running */
    bool pending; /* a commit is appended and waits to be durable */
    int64_t pending_end;
    struct controller_effect pending_effect;
    struct controller_op *current; /* taken off the queue; paused while a commit is in flight */
    struct controller_op *ops_head, *ops_tail;
};

struct config_kv {
    struct kstr name;
    struct kstr value; /* null: delete (AlterConfigs), or no value */
};

/* Explicit replicas of one partition (CreateTopics, CreatePartitions). */
struct replica_assignment {
    int32_t partition;
    int32_t broker_count;
    const int32_t *brokers;
};

struct topic_spec {
    struct kstr name;
    int32_t partitions;         /* -1: num.partitions */
    int16_t replication_factor; /* -1: default.replication.factor */
    int32_t assignment_count;   /* explicit replica assignment, or 0 */
    const struct replica_assignment *assignments;
    int32_t config_count;
    const struct config_kv *configs;
};

/* What CreateTopics v5+ reports about a created (or validated) topic. */
struct topic_created {
    struct kuuid id;
    int32_t partitions;
    int16_t replication_factor;
};

/* Kafka's IncrementalAlterConfigs operations. */
enum config_op { CONFIG_OP_SET = 0, CONFIG_OP_DELETE = 1, CONFIG_OP_APPEND = 2, CONFIG_OP_SUBTRACT = 3 };

struct config_change {
    struct kstr name;
    struct kstr value;
    int8_t op; /* enum config_op */
};

void controller_init(struct controller *c, struct metadata_image *image, const struct broker_config *config,
                     struct metadata_log *log);

/*
 * First start: write the metadata.version feature. Every start: register
 * this broker (new epoch, endpoints). Then make storage match the image:
 * create missing partition logs and push every topic's effective config.
 * 0 or -errno.
 */
int controller_start(struct controller *c, const struct broker_registration *self);

/* Kafka's topic name checks for a new topic (legal name, existing, '.'/'_' collision). */
int16_t controller_check_new_topic_name(const struct controller *c, struct kstr name, char *msg, size_t cap);

/*
 * The text a topic config's value is stored (and reported) as: numbers
 * without surrounding whitespace, as Kafka parses them; anything else as given.
 */
struct kstr controller_topic_config_stored_value(struct kstr name, struct kstr value);

int16_t controller_create_topic(struct controller *c, const struct topic_spec *spec, bool validate_only,
                                struct topic_created *out, char *msg, size_t cap);
/* DeleteTopics for one topic. */
int16_t controller_delete_topic(struct controller *c, struct topic_state *t, char *msg, size_t cap);
/*
 * CreatePartitions: grow t to total_count partitions. assignments (count < 0:
 * none) give the replicas of each new partition, in order.
 */
int16_t controller_create_partitions(struct controller *c, struct topic_state *t, int32_t total_count,
                                     const struct replica_assignment *assignments, int32_t assignment_count,
                                     bool validate_only, char *msg, size_t cap);
/*
 * Alter the configs of a resource (CONFIG_RESOURCE_TOPIC / _BROKER). With
 * `replace` (legacy AlterConfigs) the resource's overrides become exactly the
 * given SET changes; otherwise each change is applied incrementally.
 */
int16_t controller_alter_configs(struct controller *c, int8_t resource_type, struct kstr resource_name,
                                 const struct config_change *changes, int32_t count, bool replace,
                                 bool validate_only, char *msg, size_t cap);

/*
 * Record a topic whose partition logs exist on disk but which the metadata
 * does not know (first start with an empty metadata log over existing data):
 * `partitions` partitions led by this node, with the given id (all-zero:
 * a new one). 0, or a Kafka error with msg.
 */
int16_t controller_adopt_topic(struct controller *c, const char *name, struct kuuid id, int32_t partitions,
                               char *msg, size_t cap);

/* Queue op; it runs at once when nothing is ahead of it. */
void controller_submit(struct controller *c, struct controller_op *op);
/* Operations are queued or running: a change made outside them now would have to drain. */
bool controller_busy(const struct controller *c);
/*
 * Outside operations: apply the change in flight now (fsync on this thread),
 * so that what follows sees it. Inside an operation: nothing. Creating a
 * topic or altering configs outside an operation does this first, which may
 * free topics the image held: a caller holding any should check
 * controller_busy first.
 */
void controller_drain(struct controller *c);
/* A commit is in flight: the running operation must return from its step. */
bool controller_commit_pending(const struct controller *c);
/* From now on commits inside operations are asynchronous (the metadata log's syncer is running). */
void controller_enable_async(struct controller *c);
/* The syncer reported: apply what is durable, resume operations. A failed fsync halts the process. */
void controller_on_synced(struct controller *c);
/* Shutdown: finish the commit in flight and every queued operation synchronously. */
void controller_finish(struct controller *c);

/* Push the effective config to t's partition logs (after any change that may affect it). */
void controller_push_config(struct controller *c, const struct topic_state *t);

#endif
