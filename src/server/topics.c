/*
 * topics.c - topic creation with Kafka's checks.
 */
#include "server/topics.h"

#include <string.h>

#include "protocol/errors.h"
#include "server/broker.h"
#include "util/logger.h"

int16_t topics_create(struct broker *b, const char *name, size_t len, int32_t partitions,
                      int32_t replication_factor, struct topic_state **out, const char **message)
{
    const char *unused;
    if (!message)
        message = &unused;
    *message = NULL;
    const char *bad_name = topic_name_check(name, len);
    if (bad_name) {
        *message = bad_name;
        return KAFKA_INVALID_TOPIC_EXCEPTION;
    }
    if (metadata_topic_by_name(&b->image, name, len)) {
        *message = "Topic already exists.";
        return KAFKA_TOPIC_ALREADY_EXISTS;
    }
    if (partitions == -1)
        partitions = (int32_t)b->config->num_partitions;
    if (replication_factor == -1)
        replication_factor = (int32_t)b->config->default_replication_factor;
    if (partitions <= 0) {
        *message = "Number of partitions must be larger than 0.";
        return KAFKA_INVALID_PARTITIONS;
    }
    int32_t brokers = b->image.broker_count > 0 ? b->image.broker_count : 1;
    if (replication_factor <= 0 || replication_factor > brokers) {
        *message = "Replication factor must be larger than 0 and not larger than the number of brokers.";
        return KAFKA_INVALID_REPLICATION_FACTOR;
    }
    char copy[TOPIC_NAME_MAX + 1];
    memcpy(copy, name, len);
    copy[len] = '\0';
    struct topic_state *t = metadata_topic_add(&b->image, copy, uuid_random(), partitions, replication_factor,
                                               (int32_t)b->config->node_id);
    if (!t) {
        *message = "Out of memory.";
        return KAFKA_UNKNOWN_SERVER_ERROR;
    }
    char id[23];
    uuid_to_base64(t->id, id);
    log_info("controller", "created topic %s with id %s, %d partitions, replication factor %d", copy, id,
             partitions, replication_factor);
    if (out)
        *out = t;
    return KAFKA_NONE;
}
