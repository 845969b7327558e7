/*
 * metadata_image.h - what the cluster looks like right now: the cluster id,
 * the registered brokers, every topic with its id, partitions (leader,
 * replicas, ISR, leader epoch) and config overrides, and the dynamic broker
 * configs.
 *
 * Handlers read it; only replaying metadata records changes it
 * (metadata_record_apply in cluster/metadata_record.h), both at start-up
 * from the metadata log and when the controller commits new records, so the
 * image is always exactly what the log says.
 */
#ifndef EDDY_CLUSTER_METADATA_IMAGE_H
#define EDDY_CLUSTER_METADATA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

#define TOPIC_NAME_MAX 249
#define METADATA_MAX_BROKERS 16
#define BROKER_MAX_ENDPOINTS 4
#define METADATA_TOPIC_BUCKETS 4096

struct partition_state {
    int32_t partition;
    int32_t leader;
    int32_t leader_epoch;
    int32_t partition_epoch;
    int32_t replica_count;
    int32_t *replicas;
    int32_t isr_count;
    int32_t *isr;
};

/* A config override: a topic's, or a dynamic broker config. */
struct config_entry {
    char *name;
    char *value;
    struct config_entry *next;
};

/* Dynamic broker configs of one resource: "" (cluster-wide default) or a node id. */
struct config_set {
    char resource[16];
    struct config_entry *entries;
    struct config_set *next;
};

struct topic_state {
    char name[TOPIC_NAME_MAX + 1];
    size_t name_len;
    struct kuuid id;
    bool internal;
    int32_t partition_count;
    struct partition_state *partitions;
    struct config_entry *configs; /* per-topic overrides */
    struct topic_state *next;
    struct topic_state *name_next, *id_next; /* hash chains of the image's lookup indexes */
};

struct broker_endpoint {
    char listener[32];
    char host[256];
    int32_t port;
    int16_t security_protocol;
};

struct broker_registration {
    int32_t node_id;
    int64_t epoch;
    struct kuuid incarnation_id;
    char rack[64]; /* "" when none */
    bool fenced;
    int endpoint_count;
    struct broker_endpoint endpoints[BROKER_MAX_ENDPOINTS];
};

struct metadata_image {
    char cluster_id[64];
    int32_t controller_id;
    int32_t broker_count;
    struct broker_registration brokers[METADATA_MAX_BROKERS];
    struct topic_state *topics; /* singly linked, newest first */
    int32_t topic_count;
    struct topic_state **by_name; /* hash indexes (METADATA_TOPIC_BUCKETS), allocated with the first topic */
    struct topic_state **by_id;
    struct config_set *broker_configs; /* dynamic broker configs, one set per resource */
    int16_t metadata_version;                    /* FeatureLevelRecord metadata.version, 0 if none */
};

void metadata_image_init(struct metadata_image *img);
void metadata_image_free(struct metadata_image *img);

struct topic_state *metadata_topic_by_name(const struct metadata_image *img, const char *name, size_t len);
struct topic_state *metadata_topic_by_id(const struct metadata_image *img, struct kuuid id);
/* A topic whose name equals name once '.' and '_' are treated as the same character. */
struct topic_state *metadata_topic_colliding(const struct metadata_image *img, const char *name, size_t len);

/*
 * Add a topic with no partitions yet (partitions come with
 * metadata_partition_set). Returns the topic, or NULL on allocation failure.
 * The caller checked the name.
 */
struct topic_state *metadata_topic_new(struct metadata_image *img, const char *name, size_t len, struct kuuid id);
/*
 * Set partition `index` of t (growing the array as needed, which must stay
 * dense: index <= partition_count). Replicas and ISR are copied. 0 or -ENOMEM.
 */
int metadata_partition_set(struct topic_state *t, int32_t index, int32_t leader, int32_t leader_epoch,
                           int32_t partition_epoch, const int32_t *replicas, int32_t replica_count,
                           const int32_t *isr, int32_t isr_count);

/*
 * Convenience for tests: a topic with every partition led by leader
 * (single node). NULL on allocation failure.
 */
struct topic_state *metadata_topic_add(struct metadata_image *img, const char *name, struct kuuid id,
                                       int32_t partitions, int32_t replication_factor, int32_t leader);
void metadata_topic_remove(struct metadata_image *img, struct topic_state *topic);

/* Config overrides. get: NULL if not set. set with value NULL deletes. 0 or -ENOMEM. */
const char *config_entry_get(const struct config_entry *list, const char *name);
int config_entry_set(struct config_entry **list, const char *name, size_t name_len, const char *value,
                     size_t value_len);
size_t config_entry_count(const struct config_entry *list);
void config_entry_free_all(struct config_entry **list);

/*
 * The dynamic broker configs of resource ("" = cluster default, "<node id>"
 * = one broker). With create, an empty set is added if missing. NULL if
 * absent (or out of memory, or the name is too long).
 */
struct config_entry **metadata_broker_configs(struct metadata_image *img, const char *resource, size_t len,
                                              bool create);

/* Read-only lookup of the same (NULL list when absent). */
const struct config_entry *metadata_broker_configs_get(const struct metadata_image *img, const char *resource,
                                                       size_t len);

/* Add or replace a broker registration. 0, or -ENOSPC when the table is full. */
int metadata_broker_register(struct metadata_image *img, const struct broker_registration *reg);
const struct broker_registration *metadata_broker_find(const struct metadata_image *img, int32_t node_id);
/* The broker's endpoint for a listener name, else its first one; NULL if none. */
const struct broker_endpoint *broker_endpoint_for(const struct broker_registration *reg, const char *listener);

/* Kafka's topic name rules: 0 if legal, else a message naming the problem. */
const char *topic_name_check(const char *name, size_t len);
/* Names starting with "__" are Kafka's internal topics (__consumer_offsets, ...). */
bool topic_name_is_internal(const char *name, size_t len);

/* A random v4 uuid, never all-zero (Kafka reserves that). */
struct kuuid uuid_random(void);
/* Kafka's textual form: URL-safe base64 without padding (22 chars + NUL). */
void uuid_to_base64(struct kuuid id, char out[23]);

#endif
