/*
 * log_cleaner.h - log compaction (cleanup.policy=compact / compact,delete).
 *
 * A background thread keeps, for every key, only the record with the
 * highest offset, in the inactive segments of compacted partitions. Offsets
 * never change (gaps appear). Tombstones (null values) survive one pass with a
 * delete horizon of now + delete.retention.ms stamped in their batch
 * (Kafka's KIP-534 attribute bit and baseTimestamp); a later pass after the
 * horizon drops them. Only segments wholly below both the recovery point
 * (durable) and the high watermark are cleaned, so a newer record a crash
 * could still lose never causes an older one to be dropped (Kafka likewise
 * stops at the high watermark). min.compaction.lag.ms keeps recent segments out;
 * min.cleanable.dirty.ratio decides when a partition is worth a pass.
 *
 * Cleaned segments are written aside as `<base>.log.cleaned`, synced, then
 * swapped in under the partition lock (renames only), so appends and reads
 * are never blocked for the length of a pass. A crash mid-swap is finished by
 * partition_log_open (`.swap` files). Batches that lose records are rebuilt
 * with their original codec; untouched batches are copied byte for byte.
 * Transactional and control batches are copied as they are (aborted data is
 * not removed yet).
 */
#ifndef EDDY_LOG_LOG_CLEANER_H
#define EDDY_LOG_LOG_CLEANER_H

#include <stdbool.h>
#include <stdint.h>

struct partition_log;
struct log_cleaner;

/* Start the cleaner thread; it checks its partitions every `backoff_ms` or when woken. */
int log_cleaner_start(int64_t backoff_ms, struct log_cleaner **out);
void log_cleaner_stop(struct log_cleaner *cleaner);
void log_cleaner_add(struct log_cleaner *cleaner, struct partition_log *log);
void log_cleaner_remove(struct log_cleaner *cleaner, struct partition_log *log);
void log_cleaner_wake(struct log_cleaner *cleaner);

/*
 * One compaction pass over `log` on the calling thread. Without `force` it
 * runs only if the policy includes compact and the dirty ratio reaches
 * min.cleanable.dirty.ratio. Returns the number of segment groups swapped in
 * (0: nothing to do) or -errno.
 */
int log_cleaner_clean_partition(struct partition_log *log, int64_t now_ms, bool force);

/* Fraction of the cleanable bytes not yet compacted (0 if nothing is cleanable). */
double log_cleaner_dirty_ratio(struct partition_log *log, int64_t now_ms);

#endif
