/*
 * partition_keys.h - finding the partitions a request names more than once.
 *
 * Kafka reads a request's partitions into a map, so a partition named twice
 * is one entry there (Fetch), or is refused (ListOffsets). Eddy answers
 * requests in their own order, so it sorts keys instead: n log n, however
 * hostile the request.
 */
#ifndef EDDY_SERVER_PARTITION_KEYS_H
#define EDDY_SERVER_PARTITION_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/wire.h"

struct partition_key {
    struct kstr topic;     /* null when topics are named by id */
    struct kuuid topic_id; /* zero when topics are named by name */
    int32_t partition;
    int32_t position;      /* in the request, counting across topics */
};

/* Sort so that the copies of one partition are adjacent, in request order. */
void partition_keys_sort(struct partition_key *keys, int32_t n);
/* True if a and b name the same partition (whatever their positions). */
bool partition_keys_same(const struct partition_key *a, const struct partition_key *b);

#endif
