/*
 * log_manager.h - every partition log under `log.dirs`.
 *
 * Start-up: for each log dir, read Kafka's per-dir checkpoints
 * (recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 * cleaner-offset-checkpoint) and the clean-shutdown marker
 * (.kafka_cleanshutdown), open every `<topic>-<partition>` directory (with
 * recovery when the marker is missing), then remove the marker. Directories
 * ending in `-delete` are removed in the background.
 *
 * Threads owned by the manager:
 *   - the flusher (log_flusher.h): group commit, flush.ms/flush.messages;
 *   - the pager (log_pager.h): reads cold ranges back in for fetches;
 *   - the cleaner (log_cleaner.h) when log.cleaner.enable;
 *   - the log-directory thread (log_dir_worker.h), from the first creation
 *     later or deletion: makes new partitions' files, closes and renames
 *     deleted ones;
 *   - a housekeeper that every log.retention.check.interval.ms applies
 *     retention to every partition, every
 *     log.flush.offset.checkpoint.interval.ms writes the recovery-point
 *     checkpoints, and removes deleted partition directories.
 * The server only calls in; log_manager_check_retention() is public for
 * tests and admin use.
 *
 * Shutdown (log_manager_close): stop the threads, close every partition
 * cleanly (seal, fsync data and indexes), write all checkpoints, then the
 * clean-shutdown marker in every dir.
 */
#ifndef EDDY_LOG_LOG_MANAGER_H
#define EDDY_LOG_LOG_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/log_flusher.h"
#include "log/log_pager.h"
#include "log/partition_log.h"

#define LOG_CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"

struct log_manager_config {
    const char *const *log_dirs;
    size_t log_dir_count;
    struct log_config defaults;             /* for partitions opened at start-up */
    int64_t retention_check_interval_ms;    /* log.retention.check.interval.ms (300000) */
    int64_t checkpoint_interval_ms;         /* log.flush.offset.checkpoint.interval.ms (60000) */
    int64_t cleaner_backoff_ms;             /* log.cleaner.backoff.ms (15000) */
    bool cleaner_enable;                    /* log.cleaner.enable (true) */
    int64_t page_cache_bytes;               /* eddy.log.page.cache.bytes; <= 0: no drop-behind */
    int64_t flush_pause_us;                 /* eddy.log.flush.pause.us (4000) */
    int32_t recovery_threads_per_dir;       /* num.recovery.threads.per.data.dir (2; at most 64 run): loaders at start-up */
    log_durable_fn on_durable;              /* flusher callback (flusher thread) */
    void *on_durable_ctx;
    /* Logs made by log_manager_create_later wait to be installed: called on
     * the log-directory thread (log_dir_worker.h), once per batch. NULL: all
     * creation on the caller's thread. */
    void (*on_created)(void *ctx);
    void *on_created_ctx;
};

void log_manager_config_defaults(struct log_manager_config *config);

struct log_manager;

/* Open every partition under the dirs (with recovery) and start the threads. 0 or -errno. */
int log_manager_open(const struct log_manager_config *config, struct log_manager **out);
/* Clean shutdown; frees the manager. */
void log_manager_close(struct log_manager *mgr);

/* The partition, or NULL. The pointer stays valid until it is deleted or the manager closes. */
struct partition_log *log_manager_get(struct log_manager *mgr, const char *topic,
                                      int32_t partition);

/*
 * Create (or return the existing) partition in the log dir holding the fewest
 * partitions. topic_id (nullable) goes to partition.metadata; config
 * (nullable: the defaults) applies. Waits for deletions of the topic still
 * queued (log_manager_removing): the old directory must be gone first.
 * 0 or -errno.
 */
int log_manager_create(struct log_manager *mgr, const char *topic, int32_t partition,
                       const uint8_t topic_id[16], const struct log_config *config,
                       struct partition_log **out);

/*
 * Create a partition as log_manager_create does, but on the log-directory
 * thread (log_dir_worker.h), after the deletions queued before it: the caller does not wait for the file system. The log is
 * not in the table (log_manager_get) until log_manager_install_created runs
 * after config.on_created. 0 (also if the partition exists), -ENOTSUP without
 * config.on_created, or -errno.
 */
int log_manager_create_later(struct log_manager *mgr, const char *topic, int32_t partition,
                             const uint8_t topic_id[16], const struct log_config *config);
/* Install the logs the log-directory thread has made, on the calling thread. adopt(ctx,
 * log) says whether the partition is still wanted (and may set its config);
 * one that is not is deleted. Returns how many were installed. */
size_t log_manager_install_created(struct log_manager *mgr, bool (*adopt)(void *ctx, struct partition_log *log),
                                   void *ctx);
/* Drop the creations of `topic` not started and wait for the running one
 * (before deleting the topic; log_manager_install_created then settles those
 * finished). */
void log_manager_cancel_creation(struct log_manager *mgr, const char *topic);
/* Partitions of `topic` (NULL: of any) created later and not installed yet. */
size_t log_manager_creating(struct log_manager *mgr, const char *topic);

/*
 * Delete a partition: take it out of the table at once (log_manager_get
 * answers NULL), then on the log-directory thread close it and rename its
 * directory to `<topic>-<partition>.<uuid>-delete`; the housekeeper removes
 * that. 0 (queued), or -ENOENT if unknown.
 */
int log_manager_delete(struct log_manager *mgr, const char *topic, int32_t partition);
/* Deleted partitions of `topic` (NULL: of any) whose directories are not renamed yet. */
size_t log_manager_removing(struct log_manager *mgr, const char *topic);

/* Retention on every partition now. Returns the segments deleted. */
int log_manager_check_retention(struct log_manager *mgr, int64_t now_ms);

/* Write log-start-offset-checkpoint if a log start offset moved since it was
 * last written (DeleteRecords calls it before answering). 0 or -errno. */
int log_manager_persist_start_offsets(struct log_manager *mgr);

/* Write the recovery-point, log-start-offset and cleaner checkpoints of every dir. 0 or -errno. */
int log_manager_write_checkpoints(struct log_manager *mgr);

/* Call fn for every partition (with a reference held, no manager lock held). */
void log_manager_foreach(struct log_manager *mgr,
                         void (*fn)(void *ctx, struct partition_log *log), void *ctx);
size_t log_manager_partition_count(struct log_manager *mgr);

struct log_flusher *log_manager_flusher(struct log_manager *mgr);
struct log_pager *log_manager_pager(struct log_manager *mgr);
/* Wake the cleaner (e.g. after a config change to compact). */
void log_manager_wake_cleaner(struct log_manager *mgr);

#endif
