/*
 * log_flusher.h - the background threads that make appended data durable
 * (group commit). Network threads append to the page cache and, for
 * acks=all, call log_flusher_request(); a sync worker runs one fdatasync per
 * dirty segment, covering every batch appended meanwhile, then reports the
 * partition's new durable end offset through the callback, ON THAT WORKER
 * THREAD (the network layer turns it into an eventfd wake-up and completes
 * every acks=all produce whose last offset is below it). Several workers
 * sync different partitions side by side; one partition is synced by one
 * worker at a time, so its reports arrive in order.
 *
 * Registered partitions are also checked every 100 ms for Kafka's
 * flush.ms / flush.messages (log.flush.interval.ms/messages); with the
 * defaults (-1) nothing is flushed except on request and on segment roll.
 */
#ifndef EDDY_LOG_LOG_FLUSHER_H
#define EDDY_LOG_LOG_FLUSHER_H

#include <stddef.h>
#include <stdint.h>

struct partition_log;
struct log_flusher;

/*
 * error is 0 and durable_offset the new recovery point (offsets below it are
 * on disk), or error is KAFKA_STORAGE_ERROR (56) and the partition is offline:
 * fail the waiting requests.
 */
typedef void (*log_durable_fn)(void *ctx, struct partition_log *log, int64_t durable_offset,
                               int error);

/* Start the threads. 0 or -errno. */
int log_flusher_start(log_durable_fn callback, void *ctx, struct log_flusher **out);
/* Flush what is queued, stop and join the threads, free. */
void log_flusher_stop(struct log_flusher *flusher);

/* Attach a partition (takes a reference); its appends may then queue flushes. */
void log_flusher_register(struct log_flusher *flusher, struct partition_log *log);
void log_flusher_unregister(struct log_flusher *flusher, struct partition_log *log);

/* Queue a flush of `log` (cheap; coalesces with a pending request). Any thread. */
void log_flusher_request(struct log_flusher *flusher, struct partition_log *log);

/*
 * Page-cache drop-behind (eddy.log.page.cache.bytes). Appending into fresh
 * page-cache pages costs far more than into recycled ones (on this project's
 * VMs 1.4 against 0.1-0.2 CPU-s per GB: each new page is a host fault), so
 * the flusher keeps the newest `budget / partitions appended to lately`
 * bytes of each such log cached (at least 128 KiB), starts writeback behind
 * that and drops what is older, and the kernel hands the freed pages straight to the next
 * appends. 0 leaves the page cache to the kernel, as Kafka does.
 */
void log_flusher_set_cache_budget(struct log_flusher *flusher, uint64_t budget_bytes);

/*
 * Idle time between one fdatasync's end and the next one's start
 * (eddy.log.flush.pause.us, default 4000): frequent cache flushes stall this
 * project's VMs; 0 syncs again at once, for disks that do not. A partition
 * waits at most two pauses after it was queued.
 */
void log_flusher_set_sync_pause(struct log_flusher *flusher, int64_t pause_us);
/* Count appended bytes (any thread, lock-free); every few MiB this wakes a drop-behind pass. */
void log_flusher_note_append(struct log_flusher *flusher, size_t bytes);

/* Number of fdatasync rounds done (for tests and metrics). */
uint64_t log_flusher_rounds(struct log_flusher *flusher);

#endif
