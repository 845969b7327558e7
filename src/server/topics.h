/*
 * topics.h - the broker's metadata and topic lifecycle: start-up (cluster id
 * from meta.properties, metadata log replay, the log manager, broker
 * registration, storage brought in line with the image), the storage hooks
 * the controller calls, and topic creation for Metadata's auto-creation and
 * the coordinators (__consumer_offsets...).
 *
 * The rules and the records live in src/cluster/controller.h; this file is
 * the glue between the broker and that layer.
 */
#ifndef EDDY_SERVER_TOPICS_H
#define EDDY_SERVER_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/metadata_image.h"
#include "log/partition_log.h"

struct broker;

/*
 * After the listeners are bound (their advertised addresses are registered):
 * read/write meta.properties, replay the metadata log into b->image, open
 * the log manager (b->logs) if nobody did, register this broker and create
 * or reconfigure partition logs to match the image. 0, or -1 after logging.
 */
int topics_start(struct broker *b);
/* Shutdown, first: finish the admin operations in flight (controller_finish). */
void topics_finish_admin(struct broker *b);
/* Close what topics_start opened (metadata log, and the log manager if it opened it). */
void topics_stop(struct broker *b);

/*
 * Create topic `name` (not NUL-terminated) with partitions/replication (-1:
 * broker defaults) and topic configs (name=value pairs, e.g.
 * cleanup.policy=compact for __consumer_offsets), or find it made. While
 * admin requests are in flight, the creation queues behind them and
 * LEADER_NOT_AVAILABLE is returned (clients retry). Returns a Kafka error
 * code (0 on success) and the topic in *out; *message (may be NULL) explains
 * a refusal (valid until the next call).
 */
int16_t topics_create_with_configs(struct broker *b, const char *name, size_t len, int32_t partitions,
                                   int32_t replication_factor, const char *const *config_names,
                                   const char *const *config_values, int32_t config_count,
                                   struct topic_state **out, const char **message);

/*
 * Inside a controller operation's step: create topic `name` (not
 * NUL-terminated) with the broker's defaults, as auto-creation does. Returns
 * a Kafka error code (message in msg); on success the change may be in
 * flight: the step then checks controller_commit_pending().
 */
int16_t topics_create_in_operation(struct broker *b, const char *name, size_t len, char *msg, size_t cap);

/* Whether any partition's log is still being made (see topics.c); when not,
 * every partition of the image has its log. */
bool topics_logs_pending(struct broker *b);
/* Whether this node has the log of t's partition (false while the log-directory
 * thread is still making it). */
bool topics_partition_ready(struct broker *b, const struct topic_state *t, int32_t partition);

/* The effective log config of topic t (topic override > broker > default). */
void topics_log_config(struct broker *b, const struct topic_state *t, struct log_config *out);

#endif
