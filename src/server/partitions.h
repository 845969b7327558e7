/*
 * partitions.h - the broker's per-partition runtime state beside the log:
 * what is durable, who waits for it (acks=all produce), who waits for new
 * data (long-poll fetch), and the idempotent producers' state.
 *
 * Runtimes are created on first use and looked up by partition log. All of
 * this lives on the event-loop thread; the flusher's "now durable" reports
 * are posted back to it.
 */
#ifndef EDDY_SERVER_PARTITIONS_H
#define EDDY_SERVER_PARTITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/metadata_image.h"
#include "log/partition_log.h"
#include "log/producer_state.h"

struct broker;
struct partition_runtime;

/* Something waiting on one partition: an acks=all append, or a parked fetch. */
struct partition_waiter {
    struct partition_waiter *next, *prev;
    struct partition_runtime *runtime; /* NULL when not linked */
    int64_t offset; /* durable waiters: fire once everything below offset is durable */
    void (*fire)(struct partition_waiter *w, int error);
};

struct partition_runtime {
    struct partition_log *log;
    int64_t durable_offset;
    struct partition_waiter durable_waiters; /* list heads (sentinels) */
    struct partition_waiter data_waiters;
    struct producer_state *producers;
    int64_t producer_snapshot_ms; /* when the producer state was last snapshotted */
    uint64_t bytes_since_producer_snapshot; /* appended since then */
    struct partition_runtime *hash_next;
};

/* The runtime of (topic, partition), or NULL if this node has no such log. */
struct partition_runtime *partitions_of_topic(struct broker *b, const struct topic_state *topic,
                                              int32_t partition);
struct partition_runtime *partitions_for_log(struct broker *b, struct partition_log *log);
/* Forget a runtime (its partition is being deleted); its waiters fire with error. */
void partitions_forget(struct broker *b, struct partition_log *log);
void partitions_free_all(struct broker *b);
/* producer.id.expiration.ms: forget idle producers of every partition in use. */
void partitions_expire_producers(struct broker *b, int64_t now_ms);

/* Wait until offsets < w->offset are durable (asks the flusher to flush). */
void partitions_wait_durable(struct broker *b, struct partition_runtime *rt, struct partition_waiter *w);
/* Wait for the next append (long-poll fetch). */
void partitions_wait_data(struct partition_runtime *rt, struct partition_waiter *w);
/* Unlink a waiter that has not fired (no-op if not linked). */
void partitions_cancel_wait(struct partition_waiter *w);
/* An append happened: wake data waiters. */
void partitions_notify_append(struct partition_runtime *rt);

/* The flusher callback (runs on the flusher thread; ctx is the broker). */
void partitions_on_durable(void *ctx, struct partition_log *log, int64_t durable_offset, int error);

#endif
