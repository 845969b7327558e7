/*
 * partition_log_internal.h - the partition_log structure, shared only by the
 * files of src/log that work on a partition's segments (partition_log.c,
 * log_cleaner.c, log_flusher.c, log_manager.c). Not part of the public
 * interface: everything else goes through partition_log.h.
 */
#ifndef EDDY_LOG_PARTITION_LOG_INTERNAL_H
#define EDDY_LOG_PARTITION_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "log/log_checkpoint.h"
#include "log/log_segment.h"
#include "log/partition_log.h"

struct partition_log {
    pthread_mutex_t lock; /* guards everything below unless noted */
    atomic_int refs;
    char *dir;
    char *topic;
    int32_t partition;
    struct log_config config;
    struct log_segment **segments; /* ascending base offset; last is active */
    size_t segment_count, segment_cap;
    int64_t log_start_offset;
    int64_t log_end_offset;
    int64_t high_watermark;
    int64_t recovery_point; /* everything below is fsynced */
    int64_t last_flush_ms;
    int64_t cleaner_checkpoint; /* first dirty offset for compaction */
    bool offline;
    bool closed;
    bool opened_clean; /* opened after a clean shutdown */
    int injected_error; /* test hook: next append fails with this -errno */
    void (*flush_hook)(void *ctx); /* test hook, see partition_log_set_flush_hook */
    void *flush_hook_ctx;
    struct leader_epoch_entry *epochs;
    size_t epoch_count;
    uint64_t epochs_version; /* bumped whenever `epochs` changes */
    /* Serialises what other threads do in the directory by path (writes
     * of leader-epoch-checkpoint and partition.metadata, its fsync, the
     * next segment's file) with the close; taken before `lock`, never
     * inside it. Once closed, the directory may be renamed away for a topic
     * deletion and a new partition of the same name made at its path, so
     * after dir_released no other thread touches the path (the close itself
     * finishes before that rename). */
    pthread_mutex_t side_file_lock;
    bool dir_released;           /* under side_file_lock: set by the close */
    uint64_t epoch_file_version; /* under side_file_lock: the epochs_version the file holds */
    uint8_t topic_id[16];
    bool has_topic_id;
    bool topic_id_durable; /* partition.metadata fsynced (under side_file_lock) */
    partition_log_start_offset_hook start_offset_hook; /* set once before use */
    void *start_offset_hook_ctx;
    /* Owned by the flusher (its mutex), not by `lock`; read lock-free by appends. */
    _Atomic(struct log_flusher *) flusher;
    bool flush_queued;
    struct timespec flush_queued_at; /* CLOCK_MONOTONIC, when flush_queued was set */
    bool flush_in_flight; /* a sync worker is flushing it: others leave it queued */
    struct partition_log *flusher_next;
    /* The next segment's file, prepared by the flusher thread (see
     * log_segment_prepare_file); -1 if none. Under `lock`, as the rest. */
    int next_segment_fd;
    uint64_t next_segment_bytes;
    int64_t next_segment_retry_ms; /* after a failed preparation, not before this */
    bool dir_sync_due;             /* a prepared file was renamed in: the next flush syncs the directory */
    bool trim_due;                 /* an inactive segment may hold blocks allocated ahead */
    unsigned trims_running;        /* segments in log_segment_trim_preallocation */
    pthread_cond_t trims_done;
    int64_t cache_pass_end_offset; /* flusher thread only: log end at the last drop-behind pass */
    uint64_t cache_appended_mark;  /* flusher thread only: bytes appended to all logs when this one last grew */
    bool cache_settled;            /* flusher thread only: idle, and brought down to its minimum */
};

/* Take the partition offline with a log line; caller holds the lock. */
void partition_log_go_offline_locked(struct partition_log *log, const char *what, int err);

/*
 * Page-cache drop-behind (flusher thread): keep the newest `keep_bytes` of
 * the log in the page cache, start writeback of what is older than half of
 * that, and drop what is older than all of it.
 */
/* True if a further pass, with no appends in between, would drop more.
 * *settled (if not NULL): there was nothing left to write back or drop. */
bool partition_log_release_cache(struct partition_log *log, uint64_t keep_bytes, bool *settled);

/*
 * Flusher thread: once the active segment is half full (preallocate=true),
 * allocate the next segment's file ahead (see log_segment_prepare_file), if
 * the file system keeps a tenth of itself and 1 GiB free after it.
 */
void partition_log_prepare_next_segment(struct partition_log *log, int64_t now_ms);

#endif
