/*
 * metadata_image.h - what the cluster looks like right now: the cluster id,
 * the brokers, and every topic with its id and partitions (leader, replicas,
 * ISR, leader epoch).
 *
 * Handlers read it; only the controller path changes it (topic creation,
 * deletion, partition growth). Today a single node owns it in memory; it is
 * built so that replaying the metadata log can rebuild it.
 */
#ifndef EDDY_CLUSTER_METADATA_IMAGE_H
#define EDDY_CLUSTER_METADATA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

#define TOPIC_NAME_MAX 249

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

struct topic_config_entry {
    char *name;
    char *value;
    struct topic_config_entry *next;
};

struct topic_state {
    char name[TOPIC_NAME_MAX + 1];
    struct kuuid id;
    bool internal;
    int32_t partition_count;
    struct partition_state *partitions;
    struct topic_config_entry *configs; /* per-topic overrides */
    struct topic_state *next;
};

struct broker_endpoint {
    int32_t node_id;
    char host[256];
    int32_t port;
    char listener[32];
    char rack[64];
};

struct metadata_image {
    char cluster_id[32];
    int32_t controller_id;
    int32_t broker_count;
    struct broker_endpoint brokers[16];
    struct topic_state *topics; /* singly linked, newest first */
    int32_t topic_count;
};

void metadata_image_init(struct metadata_image *img);
void metadata_image_free(struct metadata_image *img);

struct topic_state *metadata_topic_by_name(const struct metadata_image *img, const char *name, size_t len);
struct topic_state *metadata_topic_by_id(const struct metadata_image *img, struct kuuid id);

/*
 * Add a topic with every partition led by leader (single node). Returns the
 * topic, or NULL on allocation failure. The caller checked the name.
 */
struct topic_state *metadata_topic_add(struct metadata_image *img, const char *name, struct kuuid id,
                                       int32_t partitions, int32_t replication_factor, int32_t leader);
void metadata_topic_remove(struct metadata_image *img, struct topic_state *topic);

/* Kafka's topic name rules: 0 if legal, else a message naming the problem. */
const char *topic_name_check(const char *name, size_t len);

/* A random v4 uuid, never all-zero (Kafka reserves that). */
struct kuuid uuid_random(void);
/* Kafka's textual form: URL-safe base64 without padding (22 chars + NUL). */
void uuid_to_base64(struct kuuid id, char out[23]);

#endif
