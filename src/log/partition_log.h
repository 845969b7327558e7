/*
 * partition_log.h - one partition's log: an ordered list of segments under
 * `<log.dir>/<topic>-<partition>/`, offset assignment, reads by offset and
 * timestamp, segment rolling, retention, DeleteRecords, flush bookkeeping and
 * crash recovery at open. Compaction lives in log_cleaner.h, the background
 * fsync thread in log_flusher.h, the set of partitions in log_manager.h.
 *
 * Threads: append/read run on network threads, flush/retention/compaction on
 * background threads. A mutex per partition guards the segment list and the
 * offsets; it is held for page-cache work only (pwrite, header walks),
 * never across fdatasync.
 *
 * Errors: functions returning int give 0 or a Kafka error code
 * (KAFKA_STORAGE_ERROR when the partition went offline after ENOSPC/EIO).
 */
#ifndef EDDY_LOG_PARTITION_LOG_H
#define EDDY_LOG_PARTITION_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOG_ERR_OFFSET_OUT_OF_RANGE 1
#define LOG_ERR_CORRUPT_MESSAGE 2
#define LOG_ERR_MESSAGE_TOO_LARGE 10
#define LOG_ERR_INVALID_TIMESTAMP 32
#define LOG_ERR_KAFKA_STORAGE_ERROR 56
#define LOG_ERR_UNKNOWN_SERVER_ERROR (-1)

#define LOG_CLEANUP_DELETE 1
#define LOG_CLEANUP_COMPACT 2

enum log_timestamp_type { LOG_TIMESTAMP_CREATE_TIME = 0, LOG_TIMESTAMP_LOG_APPEND_TIME = 1 };

/* Per-partition settings, Kafka's topic configs of the same names. -1: unlimited. */
struct log_config {
    int64_t segment_bytes;            /* segment.bytes (1 GiB) */
    int64_t segment_ms;               /* segment.ms (7 days) */
    int32_t index_interval_bytes;     /* index.interval.bytes (4096) */
    int64_t retention_ms;             /* retention.ms (7 days; -1 forever) */
    int64_t retention_bytes;          /* retention.bytes (-1) */
    int cleanup_policy;               /* LOG_CLEANUP_* flags (delete) */
    int64_t delete_retention_ms;      /* delete.retention.ms (1 day) */
    double min_cleanable_dirty_ratio; /* min.cleanable.dirty.ratio (0.5) */
    int64_t min_compaction_lag_ms;    /* min.compaction.lag.ms (0) */
    int64_t flush_messages;           /* flush.messages (-1: never by count) */
    int64_t flush_ms;                 /* flush.ms (-1: never by time) */
    int32_t max_message_bytes;        /* max.message.bytes (1048588) */
    int message_timestamp_type;       /* enum log_timestamp_type */
    int64_t timestamp_before_max_ms;  /* message.timestamp.before.max.ms (INT64_MAX) */
    int64_t timestamp_after_max_ms;   /* message.timestamp.after.max.ms (INT64_MAX) */
    int compression_type;             /* compression.type: a codec, or LOG_COMPRESSION_PRODUCER */
    int32_t compression_level;        /* compression.<that codec>.level (COMPRESSION_LEVEL_DEFAULT if none) */
    int32_t min_insync_replicas;      /* min.insync.replicas (1): kept here for acks=all produce */
    bool preallocate;                 /* preallocate (Eddy: true): the next segment's blocks ahead */
};

#define LOG_COMPRESSION_PRODUCER (-1) /* keep the producer's codec (Kafka's "producer") */

void log_config_defaults(struct log_config *config);

struct partition_log;
struct log_flusher;
struct log_segment;

struct partition_log_open_args {
    const char *dir;   /* the partition directory <log.dir>/<topic>-<partition> */
    const char *topic;
    int32_t partition;
    const struct log_config *config;
    int64_t recovery_point;   /* from recovery-point-offset-checkpoint, 0 if unknown */
    int64_t log_start_offset; /* from log-start-offset-checkpoint, 0 if unknown */
    bool clean_shutdown;      /* the log dir had .kafka_cleanshutdown */
    int64_t now_ms;
};

/* Open (creating the directory if needed) with recovery. 0 or -errno. */
int partition_log_open(const struct partition_log_open_args *args, struct partition_log **out);

/*
 * Close. `clean`: seal the active segment, write and fsync indexes and data so
 * that the next open needs no recovery. Returns true only if that all
 * succeeded (false when `clean` is false); the caller then must not mark the
 * shutdown clean. The memory goes when the last reference (flusher, cleaner,
 * reads) is dropped.
 */
bool partition_log_close(struct partition_log *log, bool clean);
/* References for background threads; the last unref frees the memory. */
struct partition_log *partition_log_ref(struct partition_log *log);
void partition_log_unref(struct partition_log *log);

struct log_append_options {
    int64_t now_ms;
    int32_t leader_epoch; /* >= 0: stamped into each batch; -1: leave as is */
    bool log_append_time; /* force LogAppendTime (also forced by the config) */
};

struct log_append_result {
    int64_t base_offset;
    int64_t last_offset;
    int64_t log_append_time; /* -1 unless LogAppendTime was applied */
    int64_t log_start_offset;
    bool rolled; /* these batches start a new segment */
};

/*
 * Append one or more validated magic-2 batches (the records field of a
 * produce request). Offsets are assigned by rewriting baseOffset in place in
 * `batches` (and timestamps + CRC with LogAppendTime). The bytes are in the
 * page cache on return; durability is the flusher's job.
 * Returns 0, LOG_ERR_CORRUPT_MESSAGE, LOG_ERR_MESSAGE_TOO_LARGE or
 * LOG_ERR_KAFKA_STORAGE_ERROR.
 */
int partition_log_append(struct partition_log *log, uint8_t *batches, size_t len,
                         const struct log_append_options *opts, struct log_append_result *res);

/*
 * A read result: byte ranges of whole batches in segment files, for
 * sendfile(fd, &position, length). Each range holds a segment reference
 * so the file stays open until log_read_result_release.
 */
#define LOG_READ_MAX_RANGES 8
struct log_read_range {
    struct log_segment *segment;
    int fd;
    off_t position;
    size_t length;
};
struct log_read_result {
    int64_t high_watermark;
    int64_t log_start_offset;
    int64_t log_end_offset;
    size_t range_count;
    size_t total_bytes;
    struct log_read_range ranges[LOG_READ_MAX_RANGES];
};

/*
 * Read whole batches starting at the batch that holds `offset`, up to
 * `max_bytes`, only batches whose last offset < `max_offset` (the high
 * watermark for consumers; -1 means the log end offset). With `min_one_batch`
 * the first batch is returned even if larger than max_bytes (Kafka's rule for
 * the first partition of a fetch). Returns 0, LOG_ERR_OFFSET_OUT_OF_RANGE or
 * LOG_ERR_KAFKA_STORAGE_ERROR. Release the result in every case.
 */
int partition_log_read(struct partition_log *log, int64_t offset, size_t max_bytes,
                       int64_t max_offset, bool min_one_batch, struct log_read_result *out);
void log_read_result_release(struct log_read_result *result);

/*
 * Before a read on the network thread: which of the bytes a read at `offset`
 * of up to `max_bytes` would touch (in its first segment and the following
 * ones it would go on into) were dropped from the page cache by drop-behind
 * and are still out of it. Fills up to `max_spans` spans (each a segment
 * reference: release with log_read_range_release) for log_pager_load to
 * bring in off the loop, and returns how many. 0 (nothing to release) in
 * the usual case of a reader near the end, or for an offset out of range.
 * *touched (if not NULL) gets, in every case, how many bytes the read would
 * take at most (0 out of range): a fetch stops looking once its response
 * would be full.
 */
size_t partition_log_cold_spans(struct partition_log *log, int64_t offset, size_t max_bytes,
                                struct log_read_range *spans, size_t max_spans, size_t *touched);
void log_read_range_release(struct log_read_range *range);
/* Copy the ranges into buf (TLS, tests). Returns bytes copied or -errno. */
ssize_t log_read_result_copy(const struct log_read_result *result, uint8_t *buf, size_t cap);

#define LOG_TIMESTAMP_LATEST (-1)
#define LOG_TIMESTAMP_EARLIEST (-2)
#define LOG_TIMESTAMP_MAX (-3)
/*
 * ListOffsets: first offset whose record timestamp >= ts (or the special
 * values above; LOG_TIMESTAMP_MAX: the first record carrying the newest
 * timestamp, a LogAppendTime batch's base offset). *offset = -1 when there
 * is none. 0 or a Kafka error.
 */
int partition_log_offset_for_timestamp(struct partition_log *log, int64_t ts, int64_t *offset,
                                       int64_t *found_ts);

/*
 * DeleteRecords: move the log start offset to `offset` (-1: the high
 * watermark), persisted through the start-offset hook, and drop segments that
 * are wholly below it. LOG_ERR_OFFSET_OUT_OF_RANGE if beyond the high watermark.
 * *low_watermark gets the new log start offset.
 */
int partition_log_delete_records(struct partition_log *log, int64_t offset,
                                 int64_t *low_watermark);

/* Retention by time/size (delete policy) and by log start offset. Returns segments deleted. */
int partition_log_apply_retention(struct partition_log *log, int64_t now_ms);

/*
 * Replication: cut the log so that it ends before `offset` (at the start of
 * the batch holding it, as Kafka does). Segments wholly above go; the leader
 * epoch cache, high watermark and recovery point follow. An offset at or
 * below the first segment's base empties the log and restarts it at
 * `offset`. The cut segment is re-scanned (rare: leader changes).
 * Returns 0 or a Kafka error.
 */
int partition_log_truncate_to(struct partition_log *log, int64_t offset, int64_t now_ms);

/* Roll the active segment now if it is not empty (tests, admin). 0 or a Kafka error. */
int partition_log_roll(struct partition_log *log, int64_t now_ms);

/*
 * fdatasync everything appended so far; returns the new recovery point (the
 * durable end offset) or -errno (the partition then goes offline).
 */
int64_t partition_log_flush(struct partition_log *log, int64_t now_ms);
/* Ask the attached flusher (if any) to flush soon (acks=all). */
void partition_log_request_flush(struct partition_log *log);
/* true if flush.messages / flush.ms say a flush is due. */
bool partition_log_flush_due(struct partition_log *log, int64_t now_ms);

void partition_log_set_config(struct partition_log *log, const struct log_config *config);
void partition_log_get_config(struct partition_log *log, struct log_config *out);

int64_t partition_log_start_offset(struct partition_log *log);
int64_t partition_log_end_offset(struct partition_log *log);
int64_t partition_log_high_watermark(struct partition_log *log);
void partition_log_set_high_watermark(struct partition_log *log, int64_t hw);
int64_t partition_log_recovery_point(struct partition_log *log);
int64_t partition_log_size_bytes(struct partition_log *log);
size_t partition_log_segment_count(struct partition_log *log);
bool partition_log_is_offline(struct partition_log *log);
/* The log directory was shut down cleanly when this log was opened. */
bool partition_log_opened_clean(struct partition_log *log);
const char *partition_log_topic(const struct partition_log *log);
int32_t partition_log_partition(const struct partition_log *log);
const char *partition_log_dir(const struct partition_log *log);

/* Topic id (partition.metadata). get returns false if none is recorded. */
int partition_log_set_topic_id(struct partition_log *log, const uint8_t topic_id[16]);
bool partition_log_topic_id(struct partition_log *log, uint8_t topic_id[16]);

/* Leader epochs (leader-epoch-checkpoint): latest epoch, -1 if none. */
int32_t partition_log_latest_epoch(struct partition_log *log);
/*
 * OffsetForLeaderEpoch: end offset of `epoch` (start of the next larger epoch,
 * or LEO for the latest) and the largest epoch <= the requested one.
 * Both -1 if unknown.
 */
void partition_log_end_offset_for_epoch(struct partition_log *log, int32_t epoch,
                                        int64_t *end_offset, int32_t *found_epoch);

/* Called (outside the partition lock) whenever the log start offset moves. */
typedef void (*partition_log_start_offset_hook)(void *ctx, struct partition_log *log);
void partition_log_set_start_offset_hook(struct partition_log *log,
                                         partition_log_start_offset_hook hook, void *ctx);

/* Cleaner bookkeeping: first offset not yet compacted (cleaner-offset-checkpoint). */
int64_t partition_log_cleaner_checkpoint(struct partition_log *log);
void partition_log_set_cleaner_checkpoint(struct partition_log *log, int64_t offset);

/* Test hook: make the next append or flush fail as if the disk returned `err` (-ENOSPC, -EIO). */
void partition_log_inject_write_error(struct partition_log *log, int err);

/* Test hook: partition_log_flush calls hook(ctx) once its fdatasyncs are
 * done, before it touches the directory (NULL: none). */
void partition_log_set_flush_hook(struct partition_log *log, void (*hook)(void *ctx), void *ctx);

#endif
