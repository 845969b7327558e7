/*
 * log_segment.h - one segment of a partition log: `<base>.log` with its
 * sparse `.index` and `.timeindex`, in Kafka's on-disk formats.
 *
 *   .index      entries of 8 bytes: relative offset u32 BE, file position u32 BE
 *               (the entry names the LAST offset of the batch at that position,
 *               as Kafka does)
 *   .timeindex  entries of 12 bytes: timestamp i64 BE, relative offset u32 BE
 *
 * Index files are written append-only (never preallocated), so a crash can
 * only leave a short or zero-filled tail; both are caught by the sanity check
 * on open and the index is then rebuilt from the log.
 *
 * Locking: a segment has no lock of its own. The owning partition_log's mutex
 * serialises appends, truncation and index changes. An inactive segment is
 * immutable, so holders of a reference may read it without the lock. The
 * reference count keeps fd and mapping alive after the files were deleted
 * (a fetch being sent while retention removes the segment).
 */
#ifndef EDDY_LOG_LOG_SEGMENT_H
#define EDDY_LOG_LOG_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct log_index_entry {
    uint32_t relative_offset;
    uint32_t position;
};

struct log_time_entry {
    int64_t timestamp;
    uint32_t relative_offset;
};

/* One of the latest appended batches (see log_segment.recent). */
struct log_recent_batch {
    int64_t base_offset;
    int64_t last_offset;
    uint64_t position;
};

#define LOG_RECENT_BATCHES 16

struct log_segment {
    atomic_int refs;
    int64_t base_offset;
    char *log_path;
    char *index_path;
    char *timeindex_path;
    int fd;
    int index_fd;
    int timeindex_fd;
    const uint8_t *map; /* read-only MAP_SHARED view of the .log file */
    size_t map_len;
    uint64_t size;        /* bytes of checked, readable data */
    uint64_t synced_size; /* bytes known to be on stable storage */
    int64_t next_offset;  /* last offset + 1 held here (base_offset if empty) */
    int64_t max_timestamp; /* -1 if none */
    int64_t offset_of_max_timestamp; /* last offset of the first batch reaching it (as in the time index) */
    int64_t created_ms;   /* wall clock at creation (segment.ms roll) */
    uint64_t bytes_since_index;
    struct log_index_entry *index;
    size_t index_count, index_cap, index_written;
    struct log_time_entry *timeindex;
    size_t timeindex_count, timeindex_cap, timeindex_written;
    /* A ring of the latest batches appended (or recovered), so that a fetch at
     * the tail finds its position without reading batch headers through the
     * mapping: the first read of each freshly appended page there is a page
     * fault, 2,500 a second at 10 MB/s. */
    struct log_recent_batch recent[LOG_RECENT_BATCHES];
    unsigned recent_count, recent_next;
    bool deleted;
    bool truncated; /* recovery cut bytes off this segment */
    /* Page-cache drop-behind progress (log_segment_release_cache), written by the
     * flusher thread only; the dropped position is read by fetches too. */
    uint64_t cache_writeback_pos;
    _Atomic uint64_t cache_dropped_pos;
    uint64_t cache_straddler_pos; /* start of the folio the last drop passed over, <= cache_dropped_pos */
    /* End of the blocks allocated ahead for this file (a prepared segment,
     * see log_segment_prepare_file), 0 if none or already trimmed. Under the
     * owning partition_log's lock, as is `trimming`. */
    uint64_t preallocated_end;
    bool trimming; /* log_segment_trim_preallocation is running (without the lock) */
};

/* Segment file names: `<dir>/<20-digit base>.<ext>`. Caller frees. */
char *log_segment_file_name(const char *dir, int64_t base_offset, const char *ext,
                            const char *suffix);

/*
 * Create empty segment files (truncating stale ones). `suffix` is appended to
 * every file name ("" for a live segment, ".cleaned" for the cleaner's
 * output). Returns 0 or -errno.
 */
int log_segment_create(const char *dir, int64_t base_offset, const char *suffix, size_t map_hint,
                       int64_t now_ms, struct log_segment **out);

/*
 * Preallocation. When ext4 allocates a segment's blocks at writeback, it
 * holds the file's block-map lock while it reads a block bitmap back from
 * disk, and an append to that file waits behind it: the event loop stood
 * still for up to 0.5 s at a time under a 1 KiB produce at 700 MB/s on this
 * project's VMs. So a background thread allocates the blocks of a busy
 * partition's next segment ahead (fallocate, file size kept at 0) and the
 * roll renames that file into place: appends then land in blocks that exist.
 *
 * log_segment_prepare_file: create `<dir>/next-segment.log.tmp` (a name that
 * start-up removes with the other .tmp files) with `bytes` allocated; its fd
 * in *fd_out. 0 or -errno (nothing left behind).
 * log_segment_create_prepared: as log_segment_create, but the .log file is
 * the prepared one, renamed to the segment's name. Takes `prepared_fd` in
 * every case: on failure it is closed and the file removed.
 * log_segment_discard_prepared: close and remove an unused prepared file.
 * log_segment_trim_preallocation: give back the blocks beyond the data of a
 * segment that is no longer active (ftruncate to its size). Called without
 * the lock, with `trimming` set under it; returns 0 or -errno.
 */
int log_segment_prepare_file(const char *dir, uint64_t bytes, int *fd_out);
int log_segment_create_prepared(const char *dir, int64_t base_offset, int prepared_fd,
                                uint64_t prepared_bytes, size_t map_hint, int64_t now_ms,
                                struct log_segment **out);
void log_segment_discard_prepared(const char *dir, int prepared_fd);
int log_segment_trim_preallocation(struct log_segment *seg);

/*
 * Open an existing segment. If `recover` is set, every batch is checked
 * (length, CRC-32C, increasing offsets), the file is truncated at the first
 * bad byte (logged) and the indexes are rebuilt. Otherwise the indexes are
 * loaded and sanity-checked, and rebuilt by a full scan if missing or corrupt.
 * `min_offset` is the first offset the segment may hold (previous segment's
 * end). Returns 0 or -errno.
 */
int log_segment_open(const char *dir, int64_t base_offset, bool recover, int64_t min_offset,
                     struct log_segment **out);

/*
 * Check every batch from position 0, truncate at the first bad byte, rebuild
 * the indexes. Returns the number of bytes cut (>= 0) or -errno.
 */
int64_t log_segment_recover(struct log_segment *seg, int64_t min_offset);

/*
 * Append `len` bytes of whole batches whose offsets are already assigned.
 * On a failed or short write the file is truncated back and -errno returned
 * (-ENOSPC, -EIO, ...). Index entries are added per `index_interval`.
 */
int log_segment_append(struct log_segment *seg, const uint8_t *batches, size_t len,
                       uint32_t index_interval);

/* Position of the first batch whose last offset >= offset (seg->size if none). */
uint64_t log_segment_find_position(const struct log_segment *seg, int64_t offset);
/* Where a search for `offset` starts: the index entry at or below it, without touching the data. */
uint64_t log_segment_index_floor(const struct log_segment *seg, int64_t offset);
/* Whether every page of [position, position + len) is in the page cache (mincore on our map). */
bool log_segment_range_cached(const struct log_segment *seg, uint64_t position, uint64_t len);

/* Position just past the last batch with last offset < limit_offset, scanning from start. */
uint64_t log_segment_position_limit(const struct log_segment *seg, uint64_t start,
                                    int64_t limit_offset);

/*
 * First offset >= `from_offset` whose record timestamp is >= ts, or -1.
 * *found_ts gets that record's timestamp.
 */
int64_t log_segment_offset_for_timestamp(const struct log_segment *seg, int64_t ts,
                                         int64_t from_offset, int64_t *found_ts);

/* Write index entries still in memory to the index files (no fsync). */
int log_segment_write_indexes(struct log_segment *seg);
/* Add the final time index entry (Kafka does it when a segment stops being active). */
void log_segment_seal(struct log_segment *seg);
/* Write pending entries and close the index fds (reopened on demand): sealed segments. */
int log_segment_close_index_files(struct log_segment *seg);
/* fdatasync the index files (clean shutdown, swap). */
int log_segment_sync_indexes(struct log_segment *seg);

/* Make sure the mapping covers seg->size bytes (after growth). 0 or -errno. */
int log_segment_remap(struct log_segment *seg, size_t need);

/* Unlink the files; the fd stays valid for existing references. */
void log_segment_delete_files(struct log_segment *seg);

/* fdatasync the .log file. 0 or -errno. */
int log_segment_sync(struct log_segment *seg);

/*
 * Page-cache drop-behind: start writeback of the bytes before `writeback_to`
 * (no waiting), and drop the pages before `drop_to` from the page cache, but
 * only those an earlier call already sent to writeback (DONTNEED skips dirty
 * pages, so dropping right behind the writes would miss them). Only ever
 * moves forward; a hint, so errors are ignored. The caller holds the
 * partition lock for log_segment_unmap_cache (it touches the mapping, which
 * appends may move) but not for log_segment_release_cache (syscalls on the fd).
 */
void log_segment_unmap_cache(struct log_segment *seg, uint64_t drop_to);
/* True if it dropped something. */
bool log_segment_release_cache(struct log_segment *seg, uint64_t writeback_to, uint64_t drop_to);
/* After a release that dropped: find the folio it passed over at its end, for
 * the next release to start at (reads the mapping: under the partition lock). */
void log_segment_note_cache_straddler(struct log_segment *seg);
/* True once everything but a partial last page has been dropped. */
bool log_segment_cache_dropped_whole(const struct log_segment *seg);
/* Count all of a complete segment as possibly out of the page cache (one found
 * at start-up, the cleaner's output): fetches of it check mincore first and
 * drop-behind leaves it alone. Before the segment is shared. */
void log_segment_count_as_cold(struct log_segment *seg);
/* Start reading the whole segment into the page cache (before a sequential
 * walk through the mapping, which reads only what it faults on). */
void log_segment_prefetch(const struct log_segment *seg);

/* Rename the segment's three files to `<dir>/<base>.<ext><new_suffix>`. 0 or -errno. */
int log_segment_rename(struct log_segment *seg, const char *dir, const char *new_suffix);

struct log_segment *log_segment_ref(struct log_segment *seg);
void log_segment_unref(struct log_segment *seg);

/* Big-endian helpers shared by the log module. */
static inline uint32_t log_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t log_load_be64(const uint8_t *p)
{
    return (uint64_t)log_load_be32(p) << 32 | log_load_be32(p + 4);
}
static inline void log_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void log_store_be64(uint8_t *p, uint64_t v)
{
    log_store_be32(p, (uint32_t)(v >> 32));
    log_store_be32(p + 4, (uint32_t)v);
}

#endif
