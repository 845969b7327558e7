/*
 * groups.h - the broker side of the group coordinator: the one coordinator
 * instance of this node, its storage in the `__consumer_offsets` partition
 * logs, its timers, and start-up replay. The group API handlers
 * (src/server/groups.c, src/server/group_offsets.c) reach the coordinator
 * through groups_coordinator().
 *
 * The service starts at broker start-up (before the listeners are served),
 * replaying `__consumer_offsets` if it exists; the topic itself is created at
 * the first group request. Every function runs on the event-loop thread.
 */
#ifndef EDDY_SERVER_GROUPS_H
#define EDDY_SERVER_GROUPS_H

#include <stdint.h>

#include "group/group_coordinator.h"

struct broker;
struct partition_log;

#define GROUPS_OFFSETS_TOPIC "__consumer_offsets"

/* The coordinator, started (and replayed) on first call (broker start-up); NULL if storage is unavailable. */
struct group_coordinator *groups_coordinator(struct broker *b);

/*
 * Create `__consumer_offsets` if it does not exist yet
 * (offsets.topic.num.partitions partitions, cleanup.policy=compact,
 * replication min(offsets.topic.replication.factor, brokers)).
 * 0 or a Kafka error code.
 */
int16_t groups_ensure_offsets_topic(struct broker *b);

/* Answer waiting requests and free the coordinator (broker shutdown). */
void groups_shutdown(struct broker *b);

/* Wall-clock now, as the coordinator wants it. */
int64_t groups_now_ms(void);

#endif
