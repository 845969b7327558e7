/*
 * partition_log.c - one partition's log (see partition_log.h): the segment
 * list, offset assignment on append, reads that hand out file ranges for
 * sendfile, timestamp look-ups, rolling, retention, DeleteRecords, flush
 * bookkeeping, and crash recovery when the log is opened.
 */
#include "log/partition_log_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log/log_flusher.h"
#include "protocol/record_batch.h"
#include "util/logger.h"

#define MAP_SLACK (4u << 20) /* room above segment.bytes before a remap is needed */

void log_config_defaults(struct log_config *c)
{
    c->segment_bytes = 1073741824;
    c->segment_ms = 604800000;
    c->index_interval_bytes = 4096;
    c->retention_ms = 604800000;
    c->retention_bytes = -1;
    c->cleanup_policy = LOG_CLEANUP_DELETE;
    c->delete_retention_ms = 86400000;
    c->min_cleanable_dirty_ratio = 0.5;
    c->min_compaction_lag_ms = 0;
    c->flush_messages = -1;
    c->flush_ms = -1;
    c->max_message_bytes = 1048588;
    c->message_timestamp_type = LOG_TIMESTAMP_CREATE_TIME;
    c->timestamp_before_max_ms = INT64_MAX;
    c->timestamp_after_max_ms = INT64_MAX;
    c->compression_type = LOG_COMPRESSION_PRODUCER;
    c->compression_level = INT32_MIN; /* the codec's own default */
    c->min_insync_replicas = 1;
    c->preallocate = true;
}

static struct log_segment *active_segment(const struct partition_log *log)
{
    return log->segments[log->segment_count - 1];
}

static size_t map_hint(const struct partition_log *log)
{
    int64_t bytes = log->config.segment_bytes > 0 ? log->config.segment_bytes : 1;
    return (size_t)bytes + MAP_SLACK;
}

static int segments_push(struct partition_log *log, struct log_segment *seg)
{
    if (log->segment_count == log->segment_cap) {
        size_t cap = log->segment_cap ? log->segment_cap * 2 : 8;
        void *p = realloc(log->segments, cap * sizeof(*log->segments));
        if (!p)
            return -ENOMEM;
        log->segments = p;
        log->segment_cap = cap;
    }
    log->segments[log->segment_count++] = seg;
    return 0;
}

/* Remove and return the oldest segment (caller deletes files and unrefs). */
static struct log_segment *segments_pop_front(struct partition_log *log)
{
    struct log_segment *seg = log->segments[0];
    memmove(log->segments, log->segments + 1, (log->segment_count - 1) * sizeof(*log->segments));
    log->segment_count--;
    return seg;
}

/* Index of the last segment with base_offset <= offset (0 if none). */
static size_t segment_index_for(const struct partition_log *log, int64_t offset)
{
    size_t lo = 0, hi = log->segment_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segments[mid]->base_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : lo - 1;
}

void partition_log_go_offline_locked(struct partition_log *log, const char *what, int err)
{
    if (!log->offline)
        log_error("log",
                  "Partition %s-%" PRId32 " in dir %s is now offline: %s failed: %s",
                  log->topic, log->partition, log->dir, what, strerror(-err));
    log->offline = true;
}

/* ---- leader epochs ---- */

static char *epoch_file(const struct partition_log *log)
{
    size_t len = strlen(log->dir) + 32;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/leader-epoch-checkpoint", log->dir);
    return path;
}

/* Bring leader-epoch-checkpoint up to date with the epoch cache; caller holds side_file_lock. */
static int sync_epoch_file(struct partition_log *log)
{
    pthread_mutex_lock(&log->lock);
    uint64_t version = log->epochs_version;
    size_t count = log->epoch_count;
    struct leader_epoch_entry *copy = NULL;
    bool changed = version != log->epoch_file_version;
    if (changed && count > 0) {
        copy = malloc(count * sizeof(*copy));
        if (copy)
            memcpy(copy, log->epochs, count * sizeof(*copy));
    }
    pthread_mutex_unlock(&log->lock);
    if (!changed)
        return 0;
    char *path = epoch_file(log);
    int rc = -ENOMEM;
    if (path && (count == 0 || copy))
        rc = leader_epoch_checkpoint_write(path, copy, count);
    if (rc == 0)
        log->epoch_file_version = version;
    else
        log_warn("log", "Could not write %s/leader-epoch-checkpoint: %s", log->dir, strerror(-rc));
    free(path);
    free(copy);
    return rc;
}

/* Rewrite partition.metadata durably if it was written without fsync; caller holds side_file_lock. */
static int sync_partition_metadata(struct partition_log *log)
{
    uint8_t id[16];
    pthread_mutex_lock(&log->lock);
    bool has = log->has_topic_id;
    memcpy(id, log->topic_id, sizeof id);
    pthread_mutex_unlock(&log->lock);
    if (!has || log->topic_id_durable)
        return 0;
    int rc = partition_metadata_write(log->dir, id, true);
    if (rc == 0)
        log->topic_id_durable = true;
    else
        log_warn("log", "Could not write %s/partition.metadata: %s", log->dir, strerror(-rc));
    return rc;
}

/*
 * Make the files beside the segments durable; called without `lock`. They
 * are written with fsync, which takes milliseconds, so appends and topic
 * creation leave it to the flush (flusher thread) and to a clean close: the
 * flush runs this before it moves the recovery point, and recovery rebuilds
 * the epochs of everything above the recovery point from the batches
 * themselves. 0 or -errno.
 */
static int sync_side_files(struct partition_log *log)
{
    pthread_mutex_lock(&log->side_file_lock);
    int rc = 0;
    if (!log->dir_released) { /* cannot change while the lock is held */
        rc = sync_epoch_file(log);
        if (rc == 0)
            rc = sync_partition_metadata(log);
    }
    pthread_mutex_unlock(&log->side_file_lock);
    return rc;
}

/* fsync the directory (a prepared segment was renamed in), unless the log is closed. */
static int sync_dir(struct partition_log *log)
{
    pthread_mutex_lock(&log->side_file_lock);
    int rc = log->dir_released ? 0 : log_dir_fsync(log->dir);
    pthread_mutex_unlock(&log->side_file_lock);
    return rc;
}

/* After this, no thread writes into the directory by path (see dir_released). */
static void release_dir(struct partition_log *log)
{
    pthread_mutex_lock(&log->side_file_lock);
    log->dir_released = true;
    pthread_mutex_unlock(&log->side_file_lock);
}

/* Record that `epoch` starts at `offset` (a change bumps epochs_version). */
static void epoch_assign_locked(struct partition_log *log, int32_t epoch, int64_t offset)
{
    if (epoch < 0)
        return;
    if (log->epoch_count > 0 && log->epochs[log->epoch_count - 1].epoch >= epoch)
        return;
    void *p = realloc(log->epochs, (log->epoch_count + 1) * sizeof(*log->epochs));
    if (!p)
        return;
    log->epochs = p;
    log->epochs[log->epoch_count++] = (struct leader_epoch_entry){epoch, offset};
    log->epochs_version++;
}

/* Drop epoch entries that start at or beyond the log end (after truncation). */
static void epoch_truncate_locked(struct partition_log *log, int64_t end_offset)
{
    size_t n = log->epoch_count;
    while (log->epoch_count > 0 && log->epochs[log->epoch_count - 1].start_offset >= end_offset)
        log->epoch_count--;
    if (n != log->epoch_count)
        log->epochs_version++;
}

/* ---- open and recovery ---- */

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

static bool parse_base(const char *name, int64_t *base)
{
    if (strlen(name) < 21 || name[20] != '.')
        return false;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return true;
}

static void remove_file_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * A `<base>.log.swap` is a compacted segment whose swap was committed but not
 * finished: drop the old segments it covers and put it in place. Stale
 * `.cleaned` files are an unfinished compaction: just remove them.
 */
static int finish_interrupted_swaps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int64_t swaps[64];
    size_t nswap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t base;
        if (has_suffix(e->d_name, ".cleaned") || has_suffix(e->d_name, ".tmp") ||
            has_suffix(e->d_name, ".truncated"))
            remove_file_in(dir, e->d_name);
        else if (has_suffix(e->d_name, ".log.swap") && parse_base(e->d_name, &base) && nswap < 64)
            swaps[nswap++] = base;
    }
    closedir(d);
    for (size_t i = 0; i < nswap; i++) {
        char *swap = log_segment_file_name(dir, swaps[i], "log", ".swap");
        struct log_segment *seg = NULL;
        /* Find the last offset in the swap file by opening it under a temporary name. */
        char *live = log_segment_file_name(dir, swaps[i], "log", "");
        char *idx = log_segment_file_name(dir, swaps[i], "index", "");
        char *tidx = log_segment_file_name(dir, swaps[i], "timeindex", "");
        char *idx_swap = log_segment_file_name(dir, swaps[i], "index", ".swap");
        char *tidx_swap = log_segment_file_name(dir, swaps[i], "timeindex", ".swap");
        int rc = (swap && live && idx && tidx && idx_swap && tidx_swap) ? 0 : -ENOMEM;
        if (rc == 0) {
            unlink(idx);
            unlink(tidx);
            unlink(idx_swap);
            unlink(tidx_swap);
            if (rename(swap, live) != 0)
                rc = -errno;
        }
        if (rc == 0)
            rc = log_segment_open(dir, swaps[i], true, 0, &seg);
        if (rc == 0) {
            int64_t last = seg->next_offset;
            log_segment_unref(seg);
            DIR *d2 = opendir(dir);
            while (d2 && (e = readdir(d2)) != NULL) {
                int64_t base;
                if (parse_base(e->d_name, &base) && base > swaps[i] && base < last)
                    remove_file_in(dir, e->d_name);
            }
            if (d2)
                closedir(d2);
            log_info("log", "Completed an interrupted compaction swap of %s", live);
        }
        free(swap);
        free(live);
        free(idx);
        free(tidx);
        free(idx_swap);
        free(tidx_swap);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Sorted base offsets of the `.log` files in dir. */
static int list_segments(const char *dir, int64_t **out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int64_t *bases = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t base;
        if (!parse_base(e->d_name, &base) || strcmp(e->d_name + 20, ".log") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = realloc(bases, cap * sizeof(*bases));
            if (!p) {
                free(bases);
                closedir(d);
                return -ENOMEM;
            }
            bases = p;
        }
        bases[n++] = base;
    }
    closedir(d);
    if (n)
        qsort(bases, n, sizeof(*bases), cmp_i64);
    *out = bases;
    *count = n;
    return 0;
}

/* Rebuild epoch entries from the batches of a recovered segment. */
static void epochs_from_segment(struct partition_log *log, const struct log_segment *seg)
{
    uint64_t pos = 0;
    while (pos < seg->size) {
        struct record_batch_header h;
        if (record_batch_parse_header(seg->map + pos, seg->size - pos, &h) != 0)
            break;
        epoch_assign_locked(log, h.partition_leader_epoch, h.base_offset);
        pos += record_batch_total_size(&h);
    }
}

/*
 * A crash in the middle of a segment delete (the `.log` goes first) leaves
 * its index files behind: as Kafka's LogLoader, delete index files whose
 * segment is gone, or a later segment with the same base offset (after the
 * log was emptied) could pick them up.
 */
static void remove_orphan_indexes(const char *dir, const int64_t *bases, size_t n)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t base;
        if (!parse_base(e->d_name, &base) ||
            (strcmp(e->d_name + 20, ".index") != 0 && strcmp(e->d_name + 20, ".timeindex") != 0))
            continue;
        if (n > 0 && bsearch(&base, bases, n, sizeof *bases, cmp_i64))
            continue;
        log_info("log", "Deleting %s/%s: its segment is gone", dir, e->d_name);
        remove_file_in(dir, e->d_name);
    }
    closedir(d);
}

static int load_segments(struct partition_log *log, const struct partition_log_open_args *args)
{
    int rc = finish_interrupted_swaps(log->dir);
    int64_t *bases = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = list_segments(log->dir, &bases, &n);
    if (rc != 0)
        return rc;
    remove_orphan_indexes(log->dir, bases, n);
    /* Kafka recovers from the segment holding the recovery point onwards; after a
     * clean shutdown nothing (a clean close wrote and fsynced every index). */
    int64_t rp = args->recovery_point;
    size_t first_unflushed = n;
    for (size_t i = 0; i < n && !args->clean_shutdown; i++)
        if (i + 1 == n || bases[i + 1] > rp) {
            first_unflushed = i;
            break;
        }
    int64_t min_offset = 0;
    bool recovered_any = false;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct log_segment *seg;
        bool recover = i >= first_unflushed;
        rc = log_segment_open(log->dir, bases[i], recover, min_offset, &seg);
        if (rc != 0) {
            log_error("log", "Could not open segment %020" PRId64 " in %s: %s", bases[i], log->dir,
                      strerror(-rc));
            break;
        }
        if (segments_push(log, seg) != 0) {
            log_segment_unref(seg);
            rc = -ENOMEM;
            break;
        }
        if (recover) {
            recovered_any = true;
            epochs_from_segment(log, seg);
        }
        if (i + 1 < n) /* one file per older segment, also while loading (reopened if it stays the newest) */
            (void)log_segment_close_index_files(seg);
        min_offset = seg->next_offset;
        if (recover && seg->truncated && i + 1 < n) {
            /* Bytes were cut here: later segments would follow a hole, so they go too. */
            for (size_t j = i + 1; j < n; j++) {
                char *name = log_segment_file_name(log->dir, bases[j], "log", "");
                log_warn("log", "Deleting segment %s: it follows a truncated segment",
                         name ? name : "?");
                for (int k = 0; k < 3 && name; k++) {
                    static const char *exts[] = {"log", "index", "timeindex"};
                    free(name);
                    name = log_segment_file_name(log->dir, bases[j], exts[k], "");
                    if (name)
                        unlink(name);
                }
                free(name);
            }
            break;
        }
    }
    free(bases);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i + 1 < log->segment_count; i++)
        (void)log_segment_close_index_files(log->segments[i]);
    if (log->segment_count == 0) {
        struct log_segment *seg;
        int64_t base = args->log_start_offset > 0 ? args->log_start_offset : 0;
        rc = log_segment_create(log->dir, base, "", map_hint(log), args->now_ms, &seg);
        if (rc == 0 && segments_push(log, seg) != 0) {
            log_segment_unref(seg);
            rc = -ENOMEM;
        }
        if (rc != 0)
            return rc;
    }
    if (recovered_any) {
        /* Recovered bytes may only be in the page cache (process crash): make them durable. */
        for (size_t i = first_unflushed; i < log->segment_count; i++)
            if (log_segment_sync(log->segments[i]) != 0)
                return -errno;
    }
    return 0;
}

static int truncate_fully_locked(struct partition_log *log, int64_t offset, int64_t now_ms);

int partition_log_open(const struct partition_log_open_args *args, struct partition_log **out)
{
    if (mkdir(args->dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    struct partition_log *log = calloc(1, sizeof(*log));
    if (!log)
        return -ENOMEM;
    pthread_mutex_init(&log->lock, NULL);
    pthread_mutex_init(&log->side_file_lock, NULL);
    pthread_cond_init(&log->trims_done, NULL);
    log->next_segment_fd = -1;
    atomic_init(&log->refs, 1);
    log->dir = strdup(args->dir);
    log->topic = strdup(args->topic);
    log->partition = args->partition;
    if (args->config)
        log->config = *args->config;
    else
        log_config_defaults(&log->config);
    int rc = (log->dir && log->topic) ? 0 : -ENOMEM;
    char *epoch_path = rc == 0 ? epoch_file(log) : NULL;
    if (rc == 0 && epoch_path)
        rc = leader_epoch_checkpoint_read(epoch_path, &log->epochs, &log->epoch_count);
    if (rc == -EINVAL) {
        log_warn("log", "Ignoring malformed %s", epoch_path);
        rc = 0;
    }
    free(epoch_path);
    size_t epochs_read = log->epoch_count;
    if (rc == 0)
        rc = load_segments(log, args);
    if (rc != 0) {
        partition_log_close(log, false);
        return rc;
    }
    struct log_segment *active = active_segment(log);
    /* Blocks a crash left allocated ahead of the data are unknown: trim when it rolls. */
    active->preallocated_end = active->size + 1;
    log->log_end_offset = active->next_offset;
    int64_t lso = args->log_start_offset;
    if (lso < log->segments[0]->base_offset)
        lso = log->segments[0]->base_offset;
    log->log_start_offset = lso;
    if (lso > log->log_end_offset) {
        /* Records were deleted up to lso, then a crash took the unflushed tail below
         * it: as Kafka, start over empty at lso, so no offset is handed out twice. */
        log_warn("log", "%s-%" PRId32 ": log end %" PRId64 " is below the log start offset %" PRId64
                 "; deleting the segments and starting at %" PRId64,
                 log->topic, log->partition, log->log_end_offset, lso, lso);
        if (truncate_fully_locked(log, lso, args->now_ms) != 0) {
            partition_log_close(log, false);
            return -EIO;
        }
    }
    log->recovery_point = log->log_end_offset;
    log->high_watermark = log->log_end_offset;
    log->opened_clean = args->clean_shutdown;
    log->last_flush_ms = args->now_ms;
    log->cleaner_checkpoint = log->log_start_offset;
    /* The file holds what was read; rewrite it only if recovery learnt or dropped epochs. */
    if (log->epoch_count != epochs_read)
        log->epochs_version++;
    epoch_truncate_locked(log, log->log_end_offset);
    log->has_topic_id = partition_metadata_read(log->dir, log->topic_id) == 0;
    log->topic_id_durable = log->has_topic_id;
    sync_side_files(log);
    *out = log;
    return 0;
}

struct partition_log *partition_log_ref(struct partition_log *log)
{
    atomic_fetch_add(&log->refs, 1);
    return log;
}

void partition_log_unref(struct partition_log *log)
{
    if (!log || atomic_fetch_sub(&log->refs, 1) != 1)
        return;
    for (size_t i = 0; i < log->segment_count; i++)
        log_segment_unref(log->segments[i]);
    if (log->next_segment_fd >= 0)
        log_segment_discard_prepared(log->dir, log->next_segment_fd);
    free(log->segments);
    free(log->epochs);
    free(log->dir);
    free(log->topic);
    pthread_mutex_destroy(&log->lock);
    pthread_mutex_destroy(&log->side_file_lock);
    pthread_cond_destroy(&log->trims_done);
    free(log);
}

bool partition_log_close(struct partition_log *log, bool clean)
{
    if (!log)
        return false;
    struct log_flusher *flusher = atomic_load(&log->flusher);
    if (flusher)
        log_flusher_unregister(flusher, log);
    int side_err = clean ? sync_side_files(log) : 0;
    release_dir(log);
    pthread_mutex_lock(&log->lock);
    log->closed = true;
    if (log->next_segment_fd >= 0) {
        log_segment_discard_prepared(log->dir, log->next_segment_fd);
        log->next_segment_fd = -1;
    }
    bool durable = clean && side_err == 0 && !log->offline;
    if (durable && log->segment_count > 0) {
        struct log_segment *active = active_segment(log);
        log_segment_seal(active);
        for (size_t i = 0; i < log->segment_count; i++) {
            struct log_segment *seg = log->segments[i];
            int err = seg->synced_size < seg->size ? log_segment_sync(seg) : 0;
            if (err != 0) {
                log_error("log", "fdatasync of %s failed at shutdown: %s", seg->log_path, strerror(-err));
                durable = false;
            } else {
                seg->synced_size = seg->size;
            }
        }
        if (log_segment_sync_indexes(active) != 0)
            log_warn("log", "Could not sync the indexes of %s", active->log_path);
        if (durable)
            log->recovery_point = log->log_end_offset;
    }
    pthread_mutex_unlock(&log->lock);
    partition_log_unref(log);
    return durable;
}

/* ---- append ---- */

static int roll_locked(struct partition_log *log, int64_t now_ms)
{
    struct log_segment *active = active_segment(log);
    if (active->size == 0)
        return 0;
    log_segment_seal(active);
    (void)log_segment_close_index_files(active); /* keep one fd per inactive segment */
    struct log_segment *seg;
    int rc = -1;
    if (log->next_segment_fd >= 0) {
        rc = log_segment_create_prepared(log->dir, log->log_end_offset, log->next_segment_fd,
                                         log->next_segment_bytes, map_hint(log), now_ms, &seg);
        log->next_segment_fd = -1;
        log->dir_sync_due |= rc == 0;
    }
    log->trim_due |= active->preallocated_end != 0;
    if (rc != 0)
        rc = log_segment_create(log->dir, log->log_end_offset, "", map_hint(log), now_ms, &seg);
    if (rc == 0 && segments_push(log, seg) != 0) {
        log_segment_delete_files(seg);
        log_segment_unref(seg);
        rc = -ENOMEM;
    }
    if (rc != 0) {
        partition_log_go_offline_locked(log, "creating a new segment", rc);
        return LOG_ERR_KAFKA_STORAGE_ERROR;
    }
    return 0;
}

static bool should_roll_locked(const struct partition_log *log, size_t len, int64_t last_offset,
                               int64_t now_ms)
{
    const struct log_segment *active = active_segment(log);
    if (active->size == 0)
        return false;
    if ((int64_t)(active->size + len) > log->config.segment_bytes)
        return true;
    if (active->size + len > UINT32_MAX)
        return true;
    if (last_offset - active->base_offset > (int64_t)UINT32_MAX)
        return true;
    return log->config.segment_ms >= 0 && now_ms - active->created_ms >= log->config.segment_ms;
}

/* Walk the batches of a produce buffer: count offsets, check sizes. */
static int scan_batches(const uint8_t *buf, size_t len, int32_t max_message_bytes,
                        int64_t *offset_count)
{
    size_t pos = 0;
    int64_t count = 0;
    if (len == 0)
        return LOG_ERR_CORRUPT_MESSAGE;
    while (pos < len) {
        struct record_batch_header h;
        if (record_batch_parse_header(buf + pos, len - pos, &h) != 0 || h.last_offset_delta < 0)
            return LOG_ERR_CORRUPT_MESSAGE;
        size_t size = record_batch_total_size(&h);
        if (max_message_bytes > 0 && size > (size_t)max_message_bytes)
            return LOG_ERR_MESSAGE_TOO_LARGE;
        count += (int64_t)h.last_offset_delta + 1;
        pos += size;
    }
    *offset_count = count;
    return 0;
}

/* Give the batches their offsets (and LogAppendTime). */
static void assign_offsets(uint8_t *buf, size_t len, int64_t first, int32_t epoch,
                           int64_t append_time)
{
    size_t pos = 0;
    int64_t next = first;
    while (pos < len) {
        struct record_batch_header h;
        if (record_batch_parse_header(buf + pos, len - pos, &h) != 0)
            return;
        size_t size = record_batch_total_size(&h);
        record_batch_set_base_offset(buf + pos, next);
        if (epoch >= 0)
            record_batch_set_partition_leader_epoch(buf + pos, epoch);
        if (append_time >= 0)
            record_batch_set_log_append_time(buf + pos, size, append_time);
        next += (int64_t)h.last_offset_delta + 1;
        pos += size;
    }
}

int partition_log_append(struct partition_log *log, uint8_t *batches, size_t len,
                         const struct log_append_options *opts, struct log_append_result *res)
{
    int64_t count = 0;
    pthread_mutex_lock(&log->lock);
    int rc = scan_batches(batches, len, log->config.max_message_bytes, &count);
    if (rc == 0 && (log->offline || log->closed))
        rc = LOG_ERR_KAFKA_STORAGE_ERROR;
    if (rc != 0) {
        pthread_mutex_unlock(&log->lock);
        return rc;
    }
    int64_t base = log->log_end_offset, last = base + count - 1;
    bool rolled = false;
    if (should_roll_locked(log, len, last, opts->now_ms)) {
        rc = roll_locked(log, opts->now_ms);
        rolled = rc == 0;
    }
    bool append_time = opts->log_append_time ||
                       log->config.message_timestamp_type == LOG_TIMESTAMP_LOG_APPEND_TIME;
    int64_t append_ts = append_time ? opts->now_ms : -1;
    if (rc == 0) {
        assign_offsets(batches, len, base, opts->leader_epoch, append_ts);
        int err = log->injected_error;
        log->injected_error = 0;
        struct log_segment *active = active_segment(log);
        if (err == 0)
            err = log_segment_append(active, batches, len, (uint32_t)log->config.index_interval_bytes);
        if (err != 0) {
            partition_log_go_offline_locked(log, "append", err);
            rc = LOG_ERR_KAFKA_STORAGE_ERROR;
        }
    }
    if (rc == 0) {
        log->log_end_offset = last + 1;
        epoch_assign_locked(log, opts->leader_epoch, base);
        res->base_offset = base;
        res->last_offset = last;
        res->log_append_time = append_ts;
        res->log_start_offset = log->log_start_offset;
        res->rolled = rolled;
    }
    bool flush = rc == 0 && (rolled || (log->config.flush_messages >= 0 &&
                                        log->log_end_offset - log->recovery_point >=
                                            log->config.flush_messages));
    pthread_mutex_unlock(&log->lock);
    if (flush)
        partition_log_request_flush(log);
    struct log_flusher *flusher = atomic_load(&log->flusher);
    if (rc == 0 && flusher)
        log_flusher_note_append(flusher, len);
    return rc;
}

int partition_log_roll(struct partition_log *log, int64_t now_ms)
{
    pthread_mutex_lock(&log->lock);
    int rc = log->offline ? LOG_ERR_KAFKA_STORAGE_ERROR : roll_locked(log, now_ms);
    pthread_mutex_unlock(&log->lock);
    if (rc == 0)
        partition_log_request_flush(log);
    return rc;
}

/* ---- truncation (replication) ---- */

static int truncate_fully_locked(struct partition_log *log, int64_t offset, int64_t now_ms)
{
    struct log_segment *fresh;
    while (log->segment_count > 0) {
        struct log_segment *seg = log->segments[--log->segment_count];
        log_segment_delete_files(seg);
        log_segment_unref(seg);
    }
    int rc = log_segment_create(log->dir, offset, "", map_hint(log), now_ms, &fresh);
    if (rc == 0 && segments_push(log, fresh) != 0) {
        log_segment_unref(fresh);
        rc = -ENOMEM;
    }
    if (rc != 0) {
        partition_log_go_offline_locked(log, "creating a segment after truncation", rc);
        return LOG_ERR_KAFKA_STORAGE_ERROR;
    }
    log->log_start_offset = offset;
    log->log_end_offset = offset;
    log->cleaner_checkpoint = offset;
    return 0;
}

int partition_log_truncate_to(struct partition_log *log, int64_t offset, int64_t now_ms)
{
    pthread_mutex_lock(&log->lock);
    /* A trim cuts an inactive segment at its size: none may become active meanwhile. */
    while (log->trims_running > 0)
        pthread_cond_wait(&log->trims_done, &log->lock);
    int rc = log->offline || log->closed ? LOG_ERR_KAFKA_STORAGE_ERROR : 0;
    bool start_moved = false;
    if (rc == 0 && offset < log->log_end_offset) {
        if (offset <= log->segments[0]->base_offset) {
            start_moved = offset != log->log_start_offset;
            rc = truncate_fully_locked(log, offset < 0 ? 0 : offset, now_ms);
        } else {
            size_t keep = segment_index_for(log, offset);
            bool was_active = keep + 1 == log->segment_count;
            while (log->segment_count > keep + 1) {
                struct log_segment *seg = log->segments[--log->segment_count];
                log_segment_delete_files(seg);
                log_segment_unref(seg);
            }
            struct log_segment *seg = active_segment(log);
            uint64_t pos = log_segment_find_position(seg, offset);
            int64_t cut = 0;
            if (pos < seg->size && !was_active) {
                /* The cleaner may be reading this (inactive) segment through its mapping:
                 * write the kept prefix to a new file instead of cutting the old one. */
                struct log_segment *copy = NULL;
                cut = log_segment_create(log->dir, seg->base_offset, ".truncated", map_hint(log),
                                         now_ms, &copy);
                if (cut == 0 && pos > 0)
                    cut = log_segment_append(copy, seg->map, (size_t)pos,
                                             (uint32_t)log->config.index_interval_bytes);
                if (cut == 0)
                    cut = log_segment_rename(copy, log->dir, "");
                if (cut == 0) {
                    seg->deleted = true;
                    log_segment_unref(seg);
                    log->segments[log->segment_count - 1] = copy;
                    seg = copy;
                } else if (copy) {
                    log_segment_delete_files(copy);
                    log_segment_unref(copy);
                }
            } else if (pos < seg->size) {
                if (ftruncate(seg->fd, (off_t)pos) != 0)
                    cut = -errno;
                else
                    cut = log_segment_recover(seg, seg->base_offset);
            }
            if (cut < 0) {
                partition_log_go_offline_locked(log, "truncation", (int)cut);
                rc = LOG_ERR_KAFKA_STORAGE_ERROR;
            } else {
                if (seg->synced_size > seg->size)
                    seg->synced_size = seg->size;
                log->log_end_offset = seg->next_offset;
            }
        }
        if (rc == 0) {
            log_info("log", "Truncated %s-%" PRId32 " to end offset %" PRId64, log->topic,
                     log->partition, log->log_end_offset);
            if (log->high_watermark > log->log_end_offset)
                log->high_watermark = log->log_end_offset;
            if (log->recovery_point > log->log_end_offset)
                log->recovery_point = log->log_end_offset;
            if (log->cleaner_checkpoint > log->log_end_offset)
                log->cleaner_checkpoint = log->log_end_offset;
            epoch_truncate_locked(log, log->log_end_offset);
        }
    }
    pthread_mutex_unlock(&log->lock);
    if (rc == 0)
        sync_side_files(log);
    if (start_moved && log->start_offset_hook)
        log->start_offset_hook(log->start_offset_hook_ctx, log);
    return rc;
}

/* ---- read ---- */

/* Bytes of whole batches from `start` that fit in `budget` (at least one if `min_one`). */
static uint64_t whole_batches_within(const struct log_segment *seg, uint64_t start, uint64_t end,
                                     uint64_t budget, bool min_one)
{
    if (end - start <= budget)
        return end - start;
    uint64_t pos = start;
    while (pos < end) {
        struct record_batch_header h;
        if (record_batch_parse_header(seg->map + pos, end - pos, &h) != 0)
            break;
        uint64_t size = record_batch_total_size(&h);
        if (pos - start + size > budget && !(min_one && pos == start))
            break;
        pos += size;
    }
    return pos - start;
}

int partition_log_read(struct partition_log *log, int64_t offset, size_t max_bytes,
                       int64_t max_offset, bool min_one_batch, struct log_read_result *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&log->lock);
    out->high_watermark = log->high_watermark;
    out->log_start_offset = log->log_start_offset;
    out->log_end_offset = log->log_end_offset;
    int rc = 0;
    if (log->offline || log->closed)
        rc = LOG_ERR_KAFKA_STORAGE_ERROR;
    else if (offset < log->log_start_offset || offset > log->log_end_offset)
        rc = LOG_ERR_OFFSET_OUT_OF_RANGE;
    int64_t limit = max_offset < 0 || max_offset > log->log_end_offset ? log->log_end_offset
                                                                        : max_offset;
    uint64_t budget = max_bytes;
    for (size_t i = segment_index_for(log, offset);
         rc == 0 && i < log->segment_count && out->range_count < LOG_READ_MAX_RANGES; i++) {
        struct log_segment *seg = log->segments[i];
        if (seg->base_offset >= limit)
            break;
        uint64_t start = log_segment_find_position(seg, offset);
        uint64_t end = log_segment_position_limit(seg, start, limit);
        if (start >= end) {
            if (seg->next_offset >= limit)
                break;
            continue; /* nothing at or after offset here (compaction gap) */
        }
        uint64_t take = whole_batches_within(seg, start, end, budget,
                                             min_one_batch && out->total_bytes == 0);
        if (take > 0) {
            struct log_read_range *r = &out->ranges[out->range_count++];
            r->segment = log_segment_ref(seg);
            r->fd = seg->fd;
            r->position = (off_t)start;
            r->length = (size_t)take;
            out->total_bytes += take;
            budget = budget > take ? budget - take : 0;
        }
        if (start + take < end || budget == 0)
            break;
    }
    pthread_mutex_unlock(&log->lock);
    return rc;
}

void log_read_result_release(struct log_read_result *result)
{
    for (size_t i = 0; i < result->range_count; i++)
        log_read_range_release(&result->ranges[i]);
    result->range_count = 0;
    result->total_bytes = 0;
}

/* Whether [start, start + len) of the segment was dropped by drop-behind and is not back in the cache. */
static bool segment_range_cold(const struct log_segment *seg, uint64_t start, uint64_t len)
{
    return len > 0 && start < atomic_load_explicit(&seg->cache_dropped_pos, memory_order_relaxed) &&
           !log_segment_range_cached(seg, start, len);
}

size_t partition_log_cold_spans(struct partition_log *log, int64_t offset, size_t max_bytes,
                                struct log_read_range *spans, size_t max_spans, size_t *touched)
{
    size_t count = 0;
    uint64_t read_len = 0;
    pthread_mutex_lock(&log->lock);
    if (!log->offline && !log->closed && offset >= log->log_start_offset && offset < log->log_end_offset) {
        size_t i = segment_index_for(log, offset);
        struct log_segment *seg = log->segments[i];
        /* The batch walk starts at the index entry below offset, up to an index interval early. */
        uint64_t start = log_segment_index_floor(seg, offset);
        uint64_t slack = (uint64_t)log->config.index_interval_bytes;
        /* A read goes on into the next segments while max_bytes lasts (compacted-away ones too). */
        for (;;) {
            uint64_t len = start < seg->size ? seg->size - start : 0;
            if (len > max_bytes - read_len + slack)
                len = max_bytes - read_len + slack;
            if (count < max_spans && segment_range_cold(seg, start, len))
                spans[count++] = (struct log_read_range){log_segment_ref(seg), seg->fd, (off_t)start, (size_t)len};
            read_len += len > slack ? len - slack : 0;
            slack = 0;
            if (read_len >= max_bytes || ++i >= log->segment_count)
                break;
            seg = log->segments[i];
            start = 0;
        }
    }
    pthread_mutex_unlock(&log->lock);
    if (touched)
        *touched = (size_t)(read_len < max_bytes ? read_len : max_bytes);
    return count;
}

void log_read_range_release(struct log_read_range *range)
{
    if (range->segment)
        log_segment_unref(range->segment);
    range->segment = NULL;
}

ssize_t log_read_result_copy(const struct log_read_result *result, uint8_t *buf, size_t cap)
{
    size_t done = 0;
    for (size_t i = 0; i < result->range_count; i++) {
        const struct log_read_range *r = &result->ranges[i];
        if (done + r->length > cap)
            return -ENOBUFS;
        size_t got = 0;
        while (got < r->length) {
            ssize_t n = pread(r->fd, buf + done + got, r->length - got, r->position + (off_t)got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : -EIO;
            got += (size_t)n;
        }
        done += got;
    }
    return (ssize_t)done;
}

/* ---- timestamps ---- */

/* The newest timestamp's offset, as Kafka's fetchOffsetByTimestamp answers
 * MAX_TIMESTAMP: of the first batch that reached the log's max timestamp,
 * the first record carrying it (the base offset for LogAppendTime). The
 * segments remember only the batch's last offset (appends stay cheap), so
 * the record is looked up here, decompressing the batch if need be: it is
 * the first record of the segment at or after that timestamp. Lock held. */
static int64_t offset_of_max_timestamp(struct partition_log *log, int64_t *found_ts)
{
    struct log_segment *newest = NULL;
    for (size_t i = 0; i < log->segment_count; i++) {
        struct log_segment *seg = log->segments[i];
        if (seg->offset_of_max_timestamp >= log->log_start_offset &&
            (!newest || seg->max_timestamp > newest->max_timestamp))
            newest = seg;
    }
    if (!newest || newest->max_timestamp < 0)
        return -1;
    *found_ts = newest->max_timestamp;
    int64_t record_ts;
    int64_t offset = log_segment_offset_for_timestamp(newest, newest->max_timestamp, log->log_start_offset, &record_ts);
    /* A batch whose header claims a timestamp none of its records carries:
     * fall back to the batch's last offset. */
    return offset >= 0 ? offset : newest->offset_of_max_timestamp;
}

int partition_log_offset_for_timestamp(struct partition_log *log, int64_t ts, int64_t *offset,
                                       int64_t *found_ts)
{
    *offset = -1;
    *found_ts = -1;
    pthread_mutex_lock(&log->lock);
    if (log->offline) {
        pthread_mutex_unlock(&log->lock);
        return LOG_ERR_KAFKA_STORAGE_ERROR;
    }
    if (ts == LOG_TIMESTAMP_LATEST) {
        *offset = log->log_end_offset;
    } else if (ts == LOG_TIMESTAMP_EARLIEST) {
        *offset = log->log_start_offset;
    } else if (ts == LOG_TIMESTAMP_MAX) {
        *offset = offset_of_max_timestamp(log, found_ts);
    } else if (ts >= 0) {
        for (size_t i = segment_index_for(log, log->log_start_offset); i < log->segment_count; i++) {
            int64_t off = log_segment_offset_for_timestamp(log->segments[i], ts,
                                                           log->log_start_offset, found_ts);
            if (off >= 0) {
                *offset = off;
                break;
            }
        }
    }
    pthread_mutex_unlock(&log->lock);
    return 0;
}

/* ---- retention and DeleteRecords ---- */

static int64_t segment_age_timestamp(const struct log_segment *seg)
{
    if (seg->max_timestamp >= 0)
        return seg->max_timestamp;
    struct stat st;
    return fstat(seg->fd, &st) == 0 ? (int64_t)st.st_mtime * 1000 : seg->created_ms;
}

static uint64_t total_size_locked(const struct partition_log *log)
{
    uint64_t total = 0;
    for (size_t i = 0; i < log->segment_count; i++)
        total += log->segments[i]->size;
    return total;
}

/* Which reason (if any) says the oldest segment should go. */
static const char *oldest_deletable_locked(const struct partition_log *log, int64_t now_ms,
                                           uint64_t total, bool start_offset_only)
{
    if (log->segment_count < 2)
        return NULL;
    const struct log_segment *first = log->segments[0];
    if (log->segments[1]->base_offset <= log->log_start_offset)
        return "log start offset";
    if (start_offset_only || !(log->config.cleanup_policy & LOG_CLEANUP_DELETE))
        return NULL;
    if (log->config.retention_ms >= 0 &&
        now_ms - segment_age_timestamp(first) > log->config.retention_ms)
        return "retention.ms";
    if (log->config.retention_bytes >= 0 &&
        total - first->size >= (uint64_t)log->config.retention_bytes)
        return "retention.bytes";
    return NULL;
}

/* The only segment left holds records older than retention.ms, all of them
 * committed: as Kafka, it is rolled so that it can be deleted too (else a
 * quiet topic would keep its records until segment.ms, a week, rolled it). */
static bool active_expired_locked(const struct partition_log *log, int64_t now_ms, bool start_offset_only)
{
    const struct log_segment *active = active_segment(log);
    return log->segment_count == 1 && !start_offset_only && active->size > 0 &&
           (log->config.cleanup_policy & LOG_CLEANUP_DELETE) && log->config.retention_ms >= 0 &&
           now_ms - segment_age_timestamp(active) > log->config.retention_ms &&
           log->high_watermark >= log->log_end_offset;
}

static int apply_retention(struct partition_log *log, int64_t now_ms, bool start_offset_only)
{
    int deleted = 0;
    bool moved = false;
    pthread_mutex_lock(&log->lock);
    uint64_t total = total_size_locked(log);
    const char *why;
    while (!log->offline && !log->closed) {
        why = oldest_deletable_locked(log, now_ms, total, start_offset_only);
        if (!why && active_expired_locked(log, now_ms, start_offset_only) && roll_locked(log, now_ms) == 0)
            why = oldest_deletable_locked(log, now_ms, total, start_offset_only);
        if (!why)
            break;
        struct log_segment *seg = segments_pop_front(log);
        total -= seg->size;
        log_info("log", "Deleting segment %s of %s-%" PRId32 " (%s)", seg->log_path, log->topic,
                 log->partition, why);
        log_segment_delete_files(seg);
        log_segment_unref(seg);
        deleted++;
        if (log->log_start_offset < log->segments[0]->base_offset) {
            log->log_start_offset = log->segments[0]->base_offset;
            moved = true;
        }
        if (log->cleaner_checkpoint < log->log_start_offset)
            log->cleaner_checkpoint = log->log_start_offset;
    }
    pthread_mutex_unlock(&log->lock);
    if (moved && log->start_offset_hook)
        log->start_offset_hook(log->start_offset_hook_ctx, log);
    return deleted;
}

int partition_log_apply_retention(struct partition_log *log, int64_t now_ms)
{
    return apply_retention(log, now_ms, false);
}

int partition_log_delete_records(struct partition_log *log, int64_t offset,
                                 int64_t *low_watermark)
{
    pthread_mutex_lock(&log->lock);
    int rc = 0;
    bool moved = false;
    if (offset == -1)
        offset = log->high_watermark;
    if (log->offline)
        rc = LOG_ERR_KAFKA_STORAGE_ERROR;
    else if (offset < 0 || offset > log->high_watermark)
        rc = LOG_ERR_OFFSET_OUT_OF_RANGE;
    else if (offset > log->log_start_offset) {
        log->log_start_offset = offset;
        if (log->cleaner_checkpoint < offset)
            log->cleaner_checkpoint = offset;
        moved = true;
    }
    *low_watermark = log->log_start_offset;
    pthread_mutex_unlock(&log->lock);
    if (moved && log->start_offset_hook)
        log->start_offset_hook(log->start_offset_hook_ctx, log);
    if (moved)
        apply_retention(log, 0, true);
    return rc;
}

/* ---- flush ---- */

/*
 * Give back the blocks allocated ahead beyond the data of segments that are
 * no longer active (a roll by segment.ms leaves most of a prepared file
 * unused). The flush runs it when a roll set trim_due. ftruncate frees
 * blocks, which can wait for the disk, so it runs without the lock;
 * truncate_to waits for it (see trims_running).
 */
static void trim_preallocations(struct partition_log *log)
{
    struct log_segment *todo[16];
    size_t n = 0;
    pthread_mutex_lock(&log->lock);
    for (size_t i = 0; i + 1 < log->segment_count && n < 16; i++) {
        struct log_segment *seg = log->segments[i];
        if (seg->preallocated_end != 0 && !seg->trimming) {
            seg->trimming = true;
            todo[n++] = log_segment_ref(seg);
        }
    }
    log->trim_due = n == 16; /* more wait for the next flush */
    log->trims_running += (unsigned)n;
    pthread_mutex_unlock(&log->lock);
    for (size_t i = 0; i < n; i++) {
        int err = log_segment_trim_preallocation(todo[i]);
        if (err != 0)
            log_warn("log", "Could not give back the space allocated ahead for %s: %s", todo[i]->log_path,
                     strerror(-err));
    }
    pthread_mutex_lock(&log->lock);
    for (size_t i = 0; i < n; i++) {
        todo[i]->trimming = false;
        todo[i]->preallocated_end = 0;
    }
    log->trims_running -= (unsigned)n;
    if (n > 0)
        pthread_cond_broadcast(&log->trims_done);
    pthread_mutex_unlock(&log->lock);
    for (size_t i = 0; i < n; i++)
        log_segment_unref(todo[i]);
}

int64_t partition_log_flush(struct partition_log *log, int64_t now_ms)
{
    struct log_segment *todo[16];
    uint64_t sizes[16];
    size_t n = 0;
    pthread_mutex_lock(&log->lock);
    if (log->offline || log->closed) {
        pthread_mutex_unlock(&log->lock);
        return -EIO;
    }
    bool trim_due = log->trim_due;
    bool dir_due = log->dir_sync_due;
    log->dir_sync_due = false;
    int64_t target = log->log_end_offset;
    bool partial = false;
    for (size_t i = 0; i < log->segment_count; i++) {
        struct log_segment *seg = log->segments[i];
        if (seg->synced_size >= seg->size)
            continue;
        if (n == 16) {
            partial = true; /* many rolled segments: the next pass does the rest */
            target = seg->base_offset;
            break;
        }
        sizes[n] = seg->size;
        todo[n++] = log_segment_ref(seg);
    }
    pthread_mutex_unlock(&log->lock);
    int err = 0;
    for (size_t i = 0; i < n && err == 0; i++)
        err = log_segment_sync(todo[i]);
    const char *failed = "fdatasync";
    if (log->flush_hook)
        log->flush_hook(log->flush_hook_ctx);
    if (err == 0 && dir_due && (err = sync_dir(log)) != 0) /* a prepared segment renamed in */
        failed = "fsync of the partition directory";
    if (err == 0 && (err = sync_side_files(log)) != 0) /* before the recovery point passes them */
        failed = "leader-epoch-checkpoint or partition.metadata write";
    pthread_mutex_lock(&log->lock);
    if (err == 0 && log->injected_error != 0) {
        err = log->injected_error;
        log->injected_error = 0;
    }
    if (err != 0) {
        if (!log->closed) /* else closed while its flush ran (its topic deleted): nothing to report */
            partition_log_go_offline_locked(log, failed, err);
    } else {
        for (size_t i = 0; i < n; i++)
            if (todo[i]->synced_size < sizes[i])
                todo[i]->synced_size = sizes[i];
        if (target > log->recovery_point)
            log->recovery_point = target;
        log->last_flush_ms = now_ms;
    }
    int64_t rp = log->recovery_point;
    pthread_mutex_unlock(&log->lock);
    for (size_t i = 0; i < n; i++)
        log_segment_unref(todo[i]);
    if (partial)
        partition_log_request_flush(log);
    if (trim_due)
        trim_preallocations(log);
    return err != 0 ? err : rp;
}

/* Progress below which a segment's drop-behind waits for a later pass (saves syscalls):
 * a quarter of what the partition keeps, within these bounds. */
#define CACHE_RELEASE_STEP_MIN (64u << 10)
#define CACHE_RELEASE_STEP_MAX (1u << 20)

static bool drop_pending(const struct log_segment *seg, uint64_t drop, uint64_t step)
{
    return seg->cache_writeback_pos > seg->cache_dropped_pos + step && drop > seg->cache_dropped_pos + step;
}

bool partition_log_release_cache(struct partition_log *log, uint64_t keep_bytes, bool *settled)
{
    struct log_segment *todo[16];
    uint64_t writeback_to[16], drop_to[16];
    size_t n = 0;
    uint64_t newer = 0; /* bytes in segments after the one looked at */
    uint64_t step = keep_bytes / 4;
    if (step < CACHE_RELEASE_STEP_MIN)
        step = CACHE_RELEASE_STEP_MIN;
    if (step > CACHE_RELEASE_STEP_MAX)
        step = CACHE_RELEASE_STEP_MAX;
    pthread_mutex_lock(&log->lock);
    for (size_t i = log->segment_count; i-- > 0 && n < 16 && !log->closed;) {
        struct log_segment *seg = log->segments[i];
        uint64_t keep_here = newer >= keep_bytes ? 0 : keep_bytes - newer;
        uint64_t drop = seg->size > keep_here ? seg->size - keep_here : 0;
        uint64_t wb = seg->size > keep_here / 2 ? seg->size - keep_here / 2 : 0;
        newer += seg->size;
        if (keep_here == 0 && log_segment_cache_dropped_whole(seg))
            break; /* dropped whole earlier, and so were the older ones */
        if (!drop_pending(seg, drop, step) && wb < seg->cache_writeback_pos + step && keep_here > 0)
            continue;
        log_segment_unmap_cache(seg, drop);
        writeback_to[n] = wb;
        drop_to[n] = drop;
        todo[n++] = log_segment_ref(seg);
    }
    pthread_mutex_unlock(&log->lock);
    if (settled)
        *settled = n == 0;
    bool more = n == 16; /* older segments may wait their turn */
    bool dropped[16], any = false;
    for (size_t i = 0; i < n; i++) {
        dropped[i] = log_segment_release_cache(todo[i], writeback_to[i], drop_to[i]);
        any |= dropped[i];
        more = more || drop_pending(todo[i], drop_to[i], step);
    }
    if (any) { /* the mapping may move under appends: find the folios left behind under the lock */
        pthread_mutex_lock(&log->lock);
        for (size_t i = 0; i < n; i++)
            if (dropped[i])
                log_segment_note_cache_straddler(todo[i]);
        pthread_mutex_unlock(&log->lock);
    }
    for (size_t i = 0; i < n; i++)
        log_segment_unref(todo[i]);
    return more;
}

/* ---- preallocation (flusher thread) ---- */

#define PREALLOC_MIN_FREE_BYTES (1ull << 30)
#define PREALLOC_RETRY_MS 10000

/* Whether `bytes` more leave a tenth of the file system and 1 GiB free. */
static bool room_to_preallocate(const char *dir, uint64_t bytes)
{
    struct statvfs fs;
    if (statvfs(dir, &fs) != 0)
        return false;
    uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    uint64_t total = (uint64_t)fs.f_blocks * fs.f_frsize;
    uint64_t keep = total / 10 > PREALLOC_MIN_FREE_BYTES ? total / 10 : PREALLOC_MIN_FREE_BYTES;
    return avail > bytes && avail - bytes >= keep;
}

void partition_log_prepare_next_segment(struct partition_log *log, int64_t now_ms)
{
    pthread_mutex_lock(&log->lock);
    uint64_t bytes = log->config.segment_bytes > 0 ? (uint64_t)log->config.segment_bytes : 0;
    bool wanted = log->config.preallocate && !log->offline && !log->closed && log->next_segment_fd < 0 &&
                  log->segment_count > 0 && now_ms >= log->next_segment_retry_ms &&
                  active_segment(log)->size >= bytes / 2 && bytes > 0;
    pthread_mutex_unlock(&log->lock);
    if (!wanted)
        return;
    int fd = -1;
    pthread_mutex_lock(&log->side_file_lock);
    if (log->dir_released) {
        pthread_mutex_unlock(&log->side_file_lock);
        return;
    }
    int rc = room_to_preallocate(log->dir, bytes) ? log_segment_prepare_file(log->dir, bytes, &fd) : -ENOSPC;
    pthread_mutex_lock(&log->lock);
    if (rc != 0) {
        log->next_segment_retry_ms = now_ms + PREALLOC_RETRY_MS;
    } else if (log->offline || log->closed || log->next_segment_fd >= 0) {
        log_segment_discard_prepared(log->dir, fd);
    } else {
        log->next_segment_fd = fd;
        log->next_segment_bytes = bytes;
    }
    pthread_mutex_unlock(&log->lock);
    pthread_mutex_unlock(&log->side_file_lock);
}

bool partition_log_flush_due(struct partition_log *log, int64_t now_ms)
{
    pthread_mutex_lock(&log->lock);
    bool dirty = log->log_end_offset > log->recovery_point && !log->offline;
    bool due = dirty && ((log->config.flush_ms >= 0 && now_ms - log->last_flush_ms >= log->config.flush_ms) ||
                         (log->config.flush_messages >= 0 &&
                          log->log_end_offset - log->recovery_point >= log->config.flush_messages));
    pthread_mutex_unlock(&log->lock);
    return due;
}

void partition_log_request_flush(struct partition_log *log)
{
    struct log_flusher *flusher = atomic_load(&log->flusher);
    if (flusher)
        log_flusher_request(flusher, log);
}

/* ---- accessors ---- */

#define LOCKED_GET(type, name, expr)                                                               \
    type name(struct partition_log *log)                                                           \
    {                                                                                              \
        pthread_mutex_lock(&log->lock);                                                            \
        type v = (expr);                                                                           \
        pthread_mutex_unlock(&log->lock);                                                          \
        return v;                                                                                  \
    }

LOCKED_GET(int64_t, partition_log_start_offset, log->log_start_offset)
LOCKED_GET(int64_t, partition_log_end_offset, log->log_end_offset)
LOCKED_GET(int64_t, partition_log_high_watermark, log->high_watermark)
LOCKED_GET(int64_t, partition_log_recovery_point, log->recovery_point)
LOCKED_GET(int64_t, partition_log_size_bytes, (int64_t)total_size_locked(log))
LOCKED_GET(size_t, partition_log_segment_count, log->segment_count)
LOCKED_GET(bool, partition_log_is_offline, log->offline)
LOCKED_GET(bool, partition_log_opened_clean, log->opened_clean)
LOCKED_GET(int64_t, partition_log_cleaner_checkpoint, log->cleaner_checkpoint)
LOCKED_GET(int32_t, partition_log_latest_epoch,
           log->epoch_count ? log->epochs[log->epoch_count - 1].epoch : -1)

void partition_log_set_high_watermark(struct partition_log *log, int64_t hw)
{
    pthread_mutex_lock(&log->lock);
    if (hw > log->log_end_offset)
        hw = log->log_end_offset;
    log->high_watermark = hw;
    pthread_mutex_unlock(&log->lock);
}

void partition_log_set_cleaner_checkpoint(struct partition_log *log, int64_t offset)
{
    pthread_mutex_lock(&log->lock);
    log->cleaner_checkpoint = offset;
    pthread_mutex_unlock(&log->lock);
}

void partition_log_set_config(struct partition_log *log, const struct log_config *config)
{
    pthread_mutex_lock(&log->lock);
    log->config = *config;
    pthread_mutex_unlock(&log->lock);
}

void partition_log_get_config(struct partition_log *log, struct log_config *out)
{
    pthread_mutex_lock(&log->lock);
    *out = log->config;
    pthread_mutex_unlock(&log->lock);
}

const char *partition_log_topic(const struct partition_log *log) { return log->topic; }
int32_t partition_log_partition(const struct partition_log *log) { return log->partition; }
const char *partition_log_dir(const struct partition_log *log) { return log->dir; }

int partition_log_set_topic_id(struct partition_log *log, const uint8_t topic_id[16])
{
    /* Without fsyncs: a topic of 1,000 partitions would stall the loop for a second. */
    pthread_mutex_lock(&log->side_file_lock);
    pthread_mutex_lock(&log->lock);
    memcpy(log->topic_id, topic_id, 16);
    log->has_topic_id = true;
    pthread_mutex_unlock(&log->lock);
    int rc = log->dir_released ? 0 : partition_metadata_write(log->dir, topic_id, false);
    log->topic_id_durable = false;
    pthread_mutex_unlock(&log->side_file_lock);
    return rc;
}

bool partition_log_topic_id(struct partition_log *log, uint8_t topic_id[16])
{
    pthread_mutex_lock(&log->lock);
    bool has = log->has_topic_id;
    if (has)
        memcpy(topic_id, log->topic_id, 16);
    pthread_mutex_unlock(&log->lock);
    return has;
}

/* Kafka's LeaderEpochFileCache.endOffsetFor: the latest epoch ends at the log
 * end; an older one where the next known epoch starts (an epoch below every
 * known one keeps its number, ending where the first known starts); one above
 * the latest is unknown. */
void partition_log_end_offset_for_epoch(struct partition_log *log, int32_t epoch,
                                        int64_t *end_offset, int32_t *found_epoch)
{
    *end_offset = -1;
    *found_epoch = -1;
    pthread_mutex_lock(&log->lock);
    size_t n = log->epoch_count;
    if (epoch >= 0 && n > 0 && log->epochs[n - 1].epoch == epoch) {
        *found_epoch = epoch;
        *end_offset = log->log_end_offset;
    } else if (epoch >= 0 && n > 0 && epoch < log->epochs[n - 1].epoch) {
        size_t higher = 0; /* the first known epoch above the requested one */
        while (log->epochs[higher].epoch <= epoch)
            higher++;
        *found_epoch = higher > 0 ? log->epochs[higher - 1].epoch : epoch;
        *end_offset = log->epochs[higher].start_offset;
    }
    pthread_mutex_unlock(&log->lock);
}

void partition_log_set_start_offset_hook(struct partition_log *log,
                                         partition_log_start_offset_hook hook, void *ctx)
{
    log->start_offset_hook = hook;
    log->start_offset_hook_ctx = ctx;
}

void partition_log_inject_write_error(struct partition_log *log, int err)
{
    pthread_mutex_lock(&log->lock);
    log->injected_error = err;
    pthread_mutex_unlock(&log->lock);
}

void partition_log_set_flush_hook(struct partition_log *log, void (*hook)(void *ctx), void *ctx)
{
    log->flush_hook = hook;
    log->flush_hook_ctx = ctx;
}
