/*
 * topics.h - creating and removing topics on this node: checks Kafka's rules,
 * updates the metadata image and the storage behind it. Used by Metadata's
 * auto-creation, CreateTopics and DeleteTopics.
 */
#ifndef EDDY_SERVER_TOPICS_H
#define EDDY_SERVER_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/metadata_image.h"

struct broker;

/*
 * Create topic `name` (not NUL-terminated) with partitions/replication
 * (-1: broker defaults). Returns a Kafka error code (0 on success) and the
 * topic in *out; *message (may be NULL) explains a refusal.
 */
int16_t topics_create(struct broker *b, const char *name, size_t len, int32_t partitions,
                      int32_t replication_factor, struct topic_state **out, const char **message);

#endif
