/*
 * log_segment.c - one segment of a partition log: the .log file (appended
 * with pwrite, read through a read-only shared mapping of the same page
 * cache), and its sparse .index / .timeindex kept in memory and written to
 * their files append-only. See log_segment.h for formats and locking.
 */
#include "log/log_segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/record_batch.h"
#include "util/logger.h"

#define INDEX_ENTRY_SIZE 8
#define TIMEINDEX_ENTRY_SIZE 12
#define MAP_GRANULE (1u << 20)
#define CACHE_PAGE 4096u

static uint64_t page_floor(uint64_t pos)
{
    return pos / CACHE_PAGE * CACHE_PAGE;
}

char *log_segment_file_name(const char *dir, int64_t base_offset, const char *ext,
                            const char *suffix)
{
    size_t len = strlen(dir) + strlen(ext) + strlen(suffix) + 32;
    char *name = malloc(len);
    if (!name)
        return NULL;
    snprintf(name, len, "%s/%020" PRId64 ".%s%s", dir, base_offset, ext, suffix);
    return name;
}

static int64_t file_size_of(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    return st.st_size;
}

static size_t round_up_map(size_t n)
{
    size_t len = (n + MAP_GRANULE - 1) / MAP_GRANULE * MAP_GRANULE;
    return len ? len : MAP_GRANULE;
}

int log_segment_remap(struct log_segment *seg, size_t need)
{
    if (seg->map && need <= seg->map_len)
        return 0;
    size_t len = round_up_map(need + need / 8);
    void *m;
    if (seg->map)
        m = mremap((void *)seg->map, seg->map_len, len, MREMAP_MAYMOVE);
    else
        m = mmap(NULL, len, PROT_READ, MAP_SHARED, seg->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    /* The mapping serves header walks (a page or two at a time). A fault
     * otherwise reads around it by the disk's whole readahead (8 MiB on some
     * machines): opening 2,000 segments read 2 GB. Whole ranges are read with
     * sendfile, the pager's preads or log_segment_prefetch instead. */
    (void)madvise(m, len, MADV_RANDOM);
    seg->map = m;
    seg->map_len = len;
    return 0;
}

void log_segment_prefetch(const struct log_segment *seg)
{
    (void)posix_fadvise(seg->fd, 0, (off_t)seg->size, POSIX_FADV_WILLNEED);
}

static void segment_free(struct log_segment *seg)
{
    if (seg->map)
        munmap((void *)seg->map, seg->map_len);
    if (seg->fd >= 0)
        close(seg->fd);
    if (seg->index_fd >= 0)
        close(seg->index_fd);
    if (seg->timeindex_fd >= 0)
        close(seg->timeindex_fd);
    free(seg->log_path);
    free(seg->index_path);
    free(seg->timeindex_path);
    free(seg->index);
    free(seg->timeindex);
    free(seg);
}

struct log_segment *log_segment_ref(struct log_segment *seg)
{
    atomic_fetch_add(&seg->refs, 1);
    return seg;
}

void log_segment_unref(struct log_segment *seg)
{
    if (seg && atomic_fetch_sub(&seg->refs, 1) == 1)
        segment_free(seg);
}

static struct log_segment *segment_alloc(const char *dir, int64_t base_offset, const char *suffix)
{
    struct log_segment *seg = calloc(1, sizeof(*seg));
    if (!seg)
        return NULL;
    atomic_init(&seg->refs, 1);
    seg->fd = seg->index_fd = seg->timeindex_fd = -1;
    seg->base_offset = base_offset;
    seg->next_offset = base_offset;
    seg->max_timestamp = -1;
    seg->offset_of_max_timestamp = -1;
    seg->log_path = log_segment_file_name(dir, base_offset, "log", suffix);
    seg->index_path = log_segment_file_name(dir, base_offset, "index", suffix);
    seg->timeindex_path = log_segment_file_name(dir, base_offset, "timeindex", suffix);
    if (!seg->log_path || !seg->index_path || !seg->timeindex_path) {
        segment_free(seg);
        return NULL;
    }
    return seg;
}

static int open_index_files(struct log_segment *seg, int flags)
{
    seg->index_fd = open(seg->index_path, O_RDWR | O_CREAT | O_CLOEXEC | (flags & O_TRUNC), 0644);
    if (seg->index_fd < 0)
        return -errno;
    seg->timeindex_fd =
        open(seg->timeindex_path, O_RDWR | O_CREAT | O_CLOEXEC | (flags & O_TRUNC), 0644);
    if (seg->timeindex_fd < 0)
        return -errno;
    return 0;
}

static int open_files(struct log_segment *seg, int flags)
{
    seg->fd = open(seg->log_path, O_RDWR | O_CLOEXEC | flags, 0644);
    if (seg->fd < 0)
        return -errno;
    return open_index_files(seg, flags);
}

/* Index files are closed once a segment is sealed (one fd per inactive segment). */
static int ensure_index_files(struct log_segment *seg)
{
    if (seg->index_fd < 0)
        seg->index_fd = open(seg->index_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (seg->index_fd >= 0 && seg->timeindex_fd < 0)
        seg->timeindex_fd = open(seg->timeindex_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    return seg->index_fd >= 0 && seg->timeindex_fd >= 0 ? 0 : -errno;
}

int log_segment_close_index_files(struct log_segment *seg)
{
    int rc = log_segment_write_indexes(seg);
    if (seg->index_fd >= 0)
        close(seg->index_fd);
    if (seg->timeindex_fd >= 0)
        close(seg->timeindex_fd);
    seg->index_fd = seg->timeindex_fd = -1;
    return rc;
}

int log_segment_create(const char *dir, int64_t base_offset, const char *suffix, size_t map_hint,
                       int64_t now_ms, struct log_segment **out)
{
    struct log_segment *seg = segment_alloc(dir, base_offset, suffix);
    if (!seg)
        return -ENOMEM;
    int rc = open_files(seg, O_CREAT | O_TRUNC);
    if (rc == 0)
        rc = log_segment_remap(seg, map_hint);
    if (rc != 0) {
        segment_free(seg);
        return rc;
    }
    seg->created_ms = now_ms;
    *out = seg;
    return 0;
}

/* ---- preallocation ---- */

#define PREPARED_FILE_NAME "next-segment.log.tmp"

static int prepared_path(const char *dir, char *path, size_t cap)
{
    int n = snprintf(path, cap, "%s/" PREPARED_FILE_NAME, dir);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int log_segment_prepare_file(const char *dir, uint64_t bytes, int *fd_out)
{
    char path[PATH_MAX];
    int rc = prepared_path(dir, path, sizeof path);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes) != 0) {
        rc = -errno;
        close(fd);
        unlink(path);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

void log_segment_discard_prepared(const char *dir, int prepared_fd)
{
    char path[PATH_MAX];
    close(prepared_fd);
    if (prepared_path(dir, path, sizeof path) == 0)
        unlink(path);
}

int log_segment_create_prepared(const char *dir, int64_t base_offset, int prepared_fd,
                                uint64_t prepared_bytes, size_t map_hint, int64_t now_ms,
                                struct log_segment **out)
{
    char path[PATH_MAX];
    struct log_segment *seg = segment_alloc(dir, base_offset, "");
    int rc = seg ? prepared_path(dir, path, sizeof path) : -ENOMEM;
    if (rc == 0 && rename(path, seg->log_path) != 0)
        rc = -errno;
    if (rc != 0) {
        log_segment_discard_prepared(dir, prepared_fd);
        if (seg)
            segment_free(seg);
        return rc;
    }
    seg->fd = prepared_fd;
    rc = open_index_files(seg, O_CREAT | O_TRUNC);
    if (rc == 0)
        rc = log_segment_remap(seg, map_hint);
    if (rc != 0) {
        unlink(seg->log_path); /* empty: the caller creates the segment afresh */
        segment_free(seg);
        return rc;
    }
    seg->preallocated_end = prepared_bytes;
    seg->created_ms = now_ms;
    *out = seg;
    return 0;
}

int log_segment_trim_preallocation(struct log_segment *seg)
{
    /* Truncating to the current size frees the blocks beyond it (a hole punch
     * past the end of the file does nothing on ext4). */
    return ftruncate(seg->fd, (off_t)seg->size) == 0 ? 0 : -errno;
}

/* ---- in-memory indexes ---- */

static int index_push(struct log_segment *seg, uint32_t rel, uint32_t pos)
{
    if (seg->index_count == seg->index_cap) {
        size_t cap = seg->index_cap ? seg->index_cap * 2 : 64;
        void *p = realloc(seg->index, cap * sizeof(*seg->index));
        if (!p)
            return -ENOMEM;
        seg->index = p;
        seg->index_cap = cap;
    }
    seg->index[seg->index_count++] = (struct log_index_entry){rel, pos};
    return 0;
}

static int timeindex_maybe_push(struct log_segment *seg, int64_t ts, int64_t offset)
{
    if (ts < 0 || offset < seg->base_offset)
        return 0;
    if (seg->timeindex_count > 0 && ts <= seg->timeindex[seg->timeindex_count - 1].timestamp)
        return 0;
    if (seg->timeindex_count == seg->timeindex_cap) {
        size_t cap = seg->timeindex_cap ? seg->timeindex_cap * 2 : 64;
        void *p = realloc(seg->timeindex, cap * sizeof(*seg->timeindex));
        if (!p)
            return -ENOMEM;
        seg->timeindex = p;
        seg->timeindex_cap = cap;
    }
    seg->timeindex[seg->timeindex_count++] =
        (struct log_time_entry){ts, (uint32_t)(offset - seg->base_offset)};
    return 0;
}

/* Account one batch at `pos` (Kafka's LogSegment.append rule, per batch). */
static void index_batch(struct log_segment *seg, const struct record_batch_header *h,
                        uint64_t pos, uint32_t interval)
{
    int64_t last = h->base_offset + h->last_offset_delta;
    if (h->max_timestamp > seg->max_timestamp) {
        seg->max_timestamp = h->max_timestamp;
        seg->offset_of_max_timestamp = last;
    }
    if (seg->bytes_since_index > interval) {
        /* An allocation failure only makes the index sparser: lookups still work. */
        (void)index_push(seg, (uint32_t)(last - seg->base_offset), (uint32_t)pos);
        (void)timeindex_maybe_push(seg, seg->max_timestamp, seg->offset_of_max_timestamp);
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += record_batch_total_size(h);
    seg->next_offset = last + 1;
    seg->recent[seg->recent_next] = (struct log_recent_batch){h->base_offset, last, pos};
    seg->recent_next = (seg->recent_next + 1) % LOG_RECENT_BATCHES;
    if (seg->recent_count < LOG_RECENT_BATCHES)
        seg->recent_count++;
}

static int write_all_at(int fd, const uint8_t *buf, size_t len, uint64_t pos)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, buf + done, len - done, (off_t)(pos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

int log_segment_write_indexes(struct log_segment *seg)
{
    uint8_t buf[4096];
    if (seg->index_written == seg->index_count && seg->timeindex_written == seg->timeindex_count)
        return 0;
    int err = ensure_index_files(seg);
    if (err != 0)
        return err;
    while (seg->index_written < seg->index_count) {
        size_t n = 0, first = seg->index_written;
        while (seg->index_written < seg->index_count && n + INDEX_ENTRY_SIZE <= sizeof(buf)) {
            const struct log_index_entry *e = &seg->index[seg->index_written++];
            log_store_be32(buf + n, e->relative_offset);
            log_store_be32(buf + n + 4, e->position);
            n += INDEX_ENTRY_SIZE;
        }
        int rc = write_all_at(seg->index_fd, buf, n, (uint64_t)first * INDEX_ENTRY_SIZE);
        if (rc != 0) {
            seg->index_written = first;
            return rc;
        }
    }
    while (seg->timeindex_written < seg->timeindex_count) {
        size_t n = 0, first = seg->timeindex_written;
        while (seg->timeindex_written < seg->timeindex_count &&
               n + TIMEINDEX_ENTRY_SIZE <= sizeof(buf)) {
            const struct log_time_entry *e = &seg->timeindex[seg->timeindex_written++];
            log_store_be64(buf + n, (uint64_t)e->timestamp);
            log_store_be32(buf + n + 8, e->relative_offset);
            n += TIMEINDEX_ENTRY_SIZE;
        }
        int rc = write_all_at(seg->timeindex_fd, buf, n, (uint64_t)first * TIMEINDEX_ENTRY_SIZE);
        if (rc != 0) {
            seg->timeindex_written = first;
            return rc;
        }
    }
    return 0;
}

void log_segment_seal(struct log_segment *seg)
{
    (void)timeindex_maybe_push(seg, seg->max_timestamp, seg->offset_of_max_timestamp);
    (void)log_segment_write_indexes(seg);
}

int log_segment_sync_indexes(struct log_segment *seg)
{
    int rc = log_segment_write_indexes(seg);
    if (rc == 0)
        rc = ensure_index_files(seg);
    if (rc != 0)
        return rc;
    if (fdatasync(seg->index_fd) != 0 || fdatasync(seg->timeindex_fd) != 0)
        return -errno;
    return 0;
}

int log_segment_sync(struct log_segment *seg)
{
    if (fdatasync(seg->fd) != 0)
        return -errno;
    return 0;
}

/* ---- page cache ---- */

#define FOLIO_MAX_BYTES (2ull << 20) /* the largest page-cache folio on x86-64 (a PMD) */

/*
 * POSIX_FADV_DONTNEED drops only folios that lie wholly inside its range,
 * and ext4 caches a file in folios of up to 2 MiB: the one across the end of
 * a drop stays, and the next drop, starting at that end, would pass over it
 * again, for good (found: one folio of up to 64 KiB left at every boundary,
 * 5-9% of all written). Right after a drop, the cached run of pages just
 * below its end is that folio: the next drop starts at its first page.
 * (Starting every drop a whole 2 MiB back would also drop again what the
 * pager had just read back in for a lagging consumer.)
 */
static uint64_t straddler_start(const struct log_segment *seg, uint64_t to)
{
    uint64_t low = to > FOLIO_MAX_BYTES ? to - FOLIO_MAX_BYTES : 0;
    if (!seg->map || to > seg->map_len || to <= low)
        return to;
    unsigned char resident[FOLIO_MAX_BYTES / 4096];
    size_t pages = (size_t)(to - low) / 4096;
    if (mincore((void *)(seg->map + low), (size_t)(to - low), resident) != 0)
        return to;
    while (pages > 0 && (resident[pages - 1] & 1))
        pages--;
    return low + (uint64_t)pages * 4096;
}

void log_segment_note_cache_straddler(struct log_segment *seg)
{
    seg->cache_straddler_pos = straddler_start(seg, page_floor(seg->cache_dropped_pos));
}

void log_segment_unmap_cache(struct log_segment *seg, uint64_t drop_to)
{
    /* Pages this process has mapped are skipped by POSIX_FADV_DONTNEED: unmap them first. */
    uint64_t from = page_floor(seg->cache_dropped_pos), to = page_floor(drop_to);
    if (!seg->map || to <= from)
        return;
    if (to > seg->map_len)
        to = page_floor(seg->map_len);
    if (to > from)
        (void)madvise((void *)(seg->map + from), (size_t)(to - from), MADV_DONTNEED);
}

void log_segment_count_as_cold(struct log_segment *seg)
{
    seg->cache_writeback_pos = seg->size;
    seg->cache_straddler_pos = seg->size;
    atomic_store(&seg->cache_dropped_pos, seg->size);
}

bool log_segment_cache_dropped_whole(const struct log_segment *seg)
{
    return seg->cache_dropped_pos >= page_floor(seg->size);
}

bool log_segment_release_cache(struct log_segment *seg, uint64_t writeback_to, uint64_t drop_to)
{
    /* DONTNEED skips dirty pages for good: drop only what an earlier call sent to writeback. */
    if (drop_to > seg->cache_writeback_pos)
        drop_to = seg->cache_writeback_pos;
    if (writeback_to > seg->cache_writeback_pos) {
        (void)sync_file_range(seg->fd, (off_t)seg->cache_writeback_pos,
                              (off_t)(writeback_to - seg->cache_writeback_pos), SYNC_FILE_RANGE_WRITE);
        seg->cache_writeback_pos = writeback_to;
    }
    uint64_t from = page_floor(seg->cache_dropped_pos), to = page_floor(drop_to);
    if (to > from) {
        uint64_t start = seg->cache_straddler_pos < from ? seg->cache_straddler_pos : from;
        /* Pages still under writeback would be skipped too; that writeback began a pass ago. */
        (void)sync_file_range(seg->fd, (off_t)start, (off_t)(to - start), SYNC_FILE_RANGE_WAIT_BEFORE);
        (void)posix_fadvise(seg->fd, (off_t)start, (off_t)(to - start), POSIX_FADV_DONTNEED);
        seg->cache_dropped_pos = to;
        return true;
    }
    return false;
}

/* ---- append ---- */

int log_segment_append(struct log_segment *seg, const uint8_t *batches, size_t len,
                       uint32_t index_interval)
{
    uint64_t start = seg->size;
    int rc = write_all_at(seg->fd, batches, len, start);
    if (rc == 0)
        rc = log_segment_remap(seg, (size_t)(start + len));
    if (rc != 0) {
        /* Cut a partial write so the file never holds bytes we did not accept. */
        if (ftruncate(seg->fd, (off_t)start) != 0)
            log_error("log", "Could not truncate %s back to %" PRIu64 " after a failed write: %s",
                      seg->log_path, start, strerror(errno));
        return rc;
    }
    size_t pos = 0;
    while (pos < len) {
        struct record_batch_header h;
        if (record_batch_parse_header(batches + pos, len - pos, &h) != 0)
            break; /* the caller parsed these already */
        index_batch(seg, &h, start + pos, index_interval);
        pos += record_batch_total_size(&h);
    }
    seg->size = start + len;
    return 0;
}

/* ---- lookups ---- */

static uint64_t index_floor_position(const struct log_segment *seg, int64_t offset)
{
    if (offset < seg->base_offset || seg->index_count == 0)
        return 0;
    uint64_t rel = (uint64_t)(offset - seg->base_offset);
    size_t lo = 0, hi = seg->index_count; /* find last entry with rel <= target */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->index[mid].relative_offset <= rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : seg->index[lo - 1].position;
}

/* The position of the first batch ending at or after `offset`, from the ring
 * of recent batches; false if the batch may be older than the ring. */
static bool recent_position(const struct log_segment *seg, int64_t offset, uint64_t *pos)
{
    *pos = seg->size;
    for (unsigned i = 1; i <= seg->recent_count; i++) {
        const struct log_recent_batch *b =
            &seg->recent[(seg->recent_next + LOG_RECENT_BATCHES - i) % LOG_RECENT_BATCHES];
        if (b->last_offset < offset)
            return true;
        *pos = b->position;
        if (b->base_offset <= offset)
            return true;
    }
    return false;
}

uint64_t log_segment_find_position(const struct log_segment *seg, int64_t offset)
{
    uint64_t pos;
    if (recent_position(seg, offset, &pos))
        return pos;
    pos = index_floor_position(seg, offset);
    while (pos < seg->size) {
        struct record_batch_header h;
        if (record_batch_parse_header(seg->map + pos, seg->size - pos, &h) != 0)
            return seg->size;
        if (h.base_offset + h.last_offset_delta >= offset)
            return pos;
        pos += record_batch_total_size(&h);
    }
    return seg->size;
}

uint64_t log_segment_index_floor(const struct log_segment *seg, int64_t offset)
{
    return index_floor_position(seg, offset);
}

bool log_segment_range_cached(const struct log_segment *seg, uint64_t position, uint64_t len)
{
    if (!seg->map || len == 0)
        return true;
    uint64_t end = position + len;
    if (end > seg->map_len)
        end = seg->map_len;
    uint64_t from = page_floor(position);
    if (end <= from)
        return true;
    size_t pages = (size_t)((end - from + CACHE_PAGE - 1) / CACHE_PAGE);
    unsigned char small[256];
    unsigned char *vec = pages <= sizeof small ? small : malloc(pages);
    if (!vec)
        return true; /* only a hint: fall back to reading on the spot */
    bool cached = mincore((void *)(seg->map + from), (size_t)(end - from), vec) == 0;
    for (size_t i = 0; cached && i < pages; i++)
        cached = vec[i] & 1;
    if (vec != small)
        free(vec);
    return cached;
}

uint64_t log_segment_position_limit(const struct log_segment *seg, uint64_t start,
                                    int64_t limit_offset)
{
    if (seg->next_offset <= limit_offset)
        return seg->size;
    uint64_t pos = log_segment_find_position(seg, limit_offset);
    return pos < start ? start : pos;
}

static int64_t first_matching_record(const uint8_t *batch, const struct record_batch_header *h,
                                     int64_t ts, int64_t from_offset, int64_t *found_ts)
{
    size_t size = record_batch_total_size(h);
    if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME) {
        int64_t off = h->base_offset;
        if (off < from_offset)
            off = from_offset;
        *found_ts = h->max_timestamp;
        return off;
    }
    struct record_iter it;
    if (record_iter_open(&it, batch, size) != 0)
        return -1;
    struct record r;
    int64_t result = -1;
    while (record_iter_next(&it, &r) == 1) {
        int64_t off = h->base_offset + r.offset_delta;
        int64_t rts = h->base_timestamp + r.timestamp_delta;
        if (off >= from_offset && rts >= ts) {
            result = off;
            *found_ts = rts;
            break;
        }
    }
    record_iter_close(&it);
    return result;
}

int64_t log_segment_offset_for_timestamp(const struct log_segment *seg, int64_t ts,
                                         int64_t from_offset, int64_t *found_ts)
{
    if (seg->max_timestamp < ts)
        return -1;
    int64_t start = seg->base_offset;
    size_t lo = 0, hi = seg->timeindex_count; /* last entry with timestamp <= ts */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->timeindex[mid].timestamp <= ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0)
        start = seg->base_offset + seg->timeindex[lo - 1].relative_offset;
    if (start < from_offset)
        start = from_offset;
    uint64_t pos = log_segment_find_position(seg, start);
    while (pos < seg->size) {
        struct record_batch_header h;
        if (record_batch_parse_header(seg->map + pos, seg->size - pos, &h) != 0)
            return -1;
        if (h.max_timestamp >= ts && h.base_offset + h.last_offset_delta >= from_offset) {
            int64_t off = first_matching_record(seg->map + pos, &h, ts, from_offset, found_ts);
            if (off >= 0)
                return off;
        }
        pos += record_batch_total_size(&h);
    }
    return -1;
}

/* ---- recovery and index loading ---- */

static void reset_indexes(struct log_segment *seg)
{
    seg->index_count = seg->index_written = 0;
    seg->timeindex_count = seg->timeindex_written = 0;
    seg->bytes_since_index = 0;
    seg->max_timestamp = -1;
    seg->offset_of_max_timestamp = -1;
    seg->next_offset = seg->base_offset;
    seg->recent_count = seg->recent_next = 0;
}

/* Why the batch at `pos` is unacceptable, or NULL if it is fine. */
static const char *check_batch(const struct log_segment *seg, const uint8_t *p,
                               uint64_t remaining, int64_t expected,
                               struct record_batch_header *h)
{
    if (remaining < RECORD_BATCH_HEADER_SIZE)
        return "incomplete batch header";
    int32_t batch_length = (int32_t)log_load_be32(p + 8);
    if (batch_length < RECORD_BATCH_HEADER_SIZE - RECORD_BATCH_LOG_OVERHEAD)
        return "invalid batch length";
    if ((uint64_t)batch_length + RECORD_BATCH_LOG_OVERHEAD > remaining)
        return "batch runs past the end of the file (torn write)";
    if (p[16] != 2)
        return "unsupported magic";
    if (record_batch_parse_header(p, (size_t)remaining, h) != 0)
        return "unparsable batch header";
    if (!record_batch_crc_ok(p, record_batch_total_size(h)))
        return "CRC-32C mismatch";
    if (h->base_offset < expected)
        return "offsets not increasing";
    if (h->last_offset_delta < 0 || h->record_count < 0)
        return "invalid lastOffsetDelta or record count";
    if (h->base_offset + h->last_offset_delta - seg->base_offset > (int64_t)UINT32_MAX)
        return "offset too far from the segment base";
    return NULL;
}

static int read_full_at(int fd, uint8_t *buf, size_t len, uint64_t pos)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)(pos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return 0;
}

#define RECOVERY_BUFFER (8u << 20)

/*
 * Check batches from `pos` with pread into a buffer (faster than faulting
 * in a mapping page by page in a VM). Returns the position of the first bad
 * byte (or end) and sets *reason; -errno on read errors.
 */
static int64_t scan_batches(struct log_segment *seg, uint64_t end, int64_t expected,
                            const char **reason)
{
    size_t cap = RECOVERY_BUFFER;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    uint64_t pos = 0;
    *reason = NULL;
    while (pos < end && !*reason) {
        size_t n = end - pos < cap ? (size_t)(end - pos) : cap;
        int rc = read_full_at(seg->fd, buf, n, pos);
        if (rc != 0) {
            free(buf);
            return rc;
        }
        bool at_eof = pos + n == end;
        size_t off = 0;
        while (off < n) {
            size_t avail = n - off;
            if (!at_eof && avail < RECORD_BATCH_HEADER_SIZE)
                break; /* refill from this batch */
            if (avail >= RECORD_BATCH_LOG_OVERHEAD) {
                uint64_t total = (uint64_t)(int32_t)log_load_be32(buf + off + 8) + 12;
                if (!at_eof && total > avail && total <= end - (pos + off)) {
                    if (total > cap) { /* a batch bigger than the buffer */
                        uint8_t *bigger = realloc(buf, (size_t)total);
                        if (!bigger) {
                            free(buf);
                            return -ENOMEM;
                        }
                        buf = bigger;
                        cap = (size_t)total;
                    }
                    break;
                }
            }
            struct record_batch_header h;
            *reason = check_batch(seg, buf + off, avail, expected, &h);
            if (!*reason && pos + off > UINT32_MAX)
                *reason = "segment larger than 4 GiB";
            if (*reason)
                break;
            index_batch(seg, &h, pos + off, 4096);
            off += record_batch_total_size(&h);
            expected = h.base_offset + h.last_offset_delta + 1;
        }
        pos += off;
        if (off == 0 && !*reason && at_eof)
            break;
    }
    free(buf);
    return (int64_t)pos;
}

int64_t log_segment_recover(struct log_segment *seg, int64_t min_offset)
{
    int64_t file_size = file_size_of(seg->fd);
    if (file_size < 0)
        return file_size;
    int rc = log_segment_remap(seg, (size_t)file_size);
    if (rc != 0)
        return rc;
    reset_indexes(seg);
    int64_t expected = min_offset > seg->base_offset ? min_offset : seg->base_offset;
    const char *reason = NULL;
    seg->size = 0;
    int64_t good = scan_batches(seg, (uint64_t)file_size, expected, &reason);
    if (good < 0)
        return good;
    uint64_t pos = (uint64_t)good;
    seg->size = pos;
    int64_t cut = file_size - (int64_t)pos;
    if (cut > 0) {
        seg->truncated = true;
        log_warn("log",
                 "Truncating segment %s at position %" PRIu64 " (%s): %" PRId64 " bytes removed",
                 seg->log_path, pos, reason ? reason : "?", cut);
        if (ftruncate(seg->fd, (off_t)pos) != 0)
            return -errno;
    }
    seg->synced_size = 0;
    rc = ensure_index_files(seg);
    if (rc != 0)
        return rc;
    if (ftruncate(seg->index_fd, 0) != 0 || ftruncate(seg->timeindex_fd, 0) != 0)
        return -errno;
    rc = log_segment_write_indexes(seg);
    return rc != 0 ? rc : cut;
}

static int read_whole_file(int fd, uint8_t **out, size_t *out_len)
{
    int64_t size = file_size_of(fd);
    if (size < 0)
        return (int)size;
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return -ENOMEM;
    size_t done = 0;
    while (done < (size_t)size) {
        ssize_t n = pread(fd, buf + done, (size_t)size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return n < 0 ? -errno : -EIO;
        }
        done += (size_t)n;
    }
    *out = buf;
    *out_len = done;
    return 0;
}

/* Load .index and .timeindex; NULL if they are consistent with the log, else why not. */
static const char *load_indexes(struct log_segment *seg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *bad = NULL;
    reset_indexes(seg);
    if (read_whole_file(seg->index_fd, &buf, &len) != 0)
        return "unreadable index";
    if (len % INDEX_ENTRY_SIZE != 0)
        bad = "index size not a multiple of 8";
    for (size_t i = 0; !bad && i < len / INDEX_ENTRY_SIZE; i++) {
        uint32_t rel = log_load_be32(buf + i * 8), pos = log_load_be32(buf + i * 8 + 4);
        if (i > 0 && (rel <= seg->index[i - 1].relative_offset || pos <= seg->index[i - 1].position))
            bad = "index entries not increasing";
        else if (pos >= seg->size)
            bad = "index entry past the end of the log";
        else if (index_push(seg, rel, pos) != 0)
            bad = "out of memory";
    }
    free(buf);
    if (bad)
        return bad;
    if (seg->index_count > 0) {
        /* The last entry must name a batch boundary with that last offset. */
        const struct log_index_entry *e = &seg->index[seg->index_count - 1];
        struct record_batch_header h;
        if (record_batch_parse_header(seg->map + e->position, seg->size - e->position, &h) != 0 ||
            h.base_offset + h.last_offset_delta != seg->base_offset + e->relative_offset)
            return "last index entry does not point at its batch";
    }
    if (read_whole_file(seg->timeindex_fd, &buf, &len) != 0)
        return "unreadable time index";
    if (len % TIMEINDEX_ENTRY_SIZE != 0)
        bad = "time index size not a multiple of 12";
    for (size_t i = 0; !bad && i < len / TIMEINDEX_ENTRY_SIZE; i++) {
        int64_t ts = (int64_t)log_load_be64(buf + i * 12);
        uint32_t rel = log_load_be32(buf + i * 12 + 8);
        if (seg->timeindex_count > 0 &&
            (ts <= seg->timeindex[seg->timeindex_count - 1].timestamp ||
             rel < seg->timeindex[seg->timeindex_count - 1].relative_offset))
            bad = "time index entries not increasing";
        else if (ts < 0)
            bad = "negative timestamp in time index";
        else if (timeindex_maybe_push(seg, ts, seg->base_offset + rel) != 0)
            bad = "out of memory";
    }
    free(buf);
    if (bad)
        return bad;
    seg->index_written = seg->index_count;
    seg->timeindex_written = seg->timeindex_count;
    /* Walk the tail after the last index entry for next offset and max timestamp. */
    uint64_t pos = seg->index_count ? seg->index[seg->index_count - 1].position : 0;
    if (seg->timeindex_count > 0) {
        seg->max_timestamp = seg->timeindex[seg->timeindex_count - 1].timestamp;
        seg->offset_of_max_timestamp =
            seg->base_offset + seg->timeindex[seg->timeindex_count - 1].relative_offset;
    }
    seg->bytes_since_index = 0;
    while (pos < seg->size) {
        struct record_batch_header h;
        if (record_batch_parse_header(seg->map + pos, seg->size - pos, &h) != 0)
            return "unparsable batch in the log tail";
        int64_t last = h.base_offset + h.last_offset_delta;
        if (last - seg->base_offset > (int64_t)UINT32_MAX || last < seg->next_offset)
            return "offsets out of order in the log tail";
        if (h.max_timestamp > seg->max_timestamp) {
            seg->max_timestamp = h.max_timestamp;
            seg->offset_of_max_timestamp = last;
        }
        seg->bytes_since_index += record_batch_total_size(&h);
        seg->next_offset = last + 1;
        pos += record_batch_total_size(&h);
    }
    if (pos != seg->size)
        return "log tail overruns the file";
    if (seg->timeindex_count > 0 &&
        seg->base_offset + seg->timeindex[seg->timeindex_count - 1].relative_offset >=
            seg->next_offset)
        return "time index entry past the end of the log";
    return NULL;
}

int log_segment_open(const char *dir, int64_t base_offset, bool recover, int64_t min_offset,
                     struct log_segment **out)
{
    struct log_segment *seg = segment_alloc(dir, base_offset, "");
    if (!seg)
        return -ENOMEM;
    bool index_missing = access(seg->index_path, F_OK) != 0 || access(seg->timeindex_path, F_OK) != 0;
    int rc = open_files(seg, 0);
    int64_t size = rc == 0 ? file_size_of(seg->fd) : rc;
    if (size < 0) {
        segment_free(seg);
        return (int)size;
    }
    rc = log_segment_remap(seg, (size_t)size);
    if (rc != 0) {
        segment_free(seg);
        return rc;
    }
    seg->size = (uint64_t)size;
    struct stat st;
    seg->created_ms = fstat(seg->fd, &st) == 0 ? (int64_t)st.st_mtime * 1000 : 0;
    if (!recover) {
        const char *why = index_missing ? "index file missing" : load_indexes(seg);
        if (why) {
            log_warn("log", "Rebuilding indexes of %s: %s", seg->log_path, why);
            recover = true;
        }
    }
    if (recover) {
        int64_t cut = log_segment_recover(seg, min_offset);
        if (cut < 0) {
            segment_free(seg);
            return (int)cut;
        }
    }
    seg->synced_size = seg->size;
    /* Bytes written before this process started may or may not be in the page
     * cache (a reboot, the kernel's own eviction). */
    log_segment_count_as_cold(seg);
    *out = seg;
    return 0;
}

void log_segment_delete_files(struct log_segment *seg)
{
    unlink(seg->log_path);
    unlink(seg->index_path);
    unlink(seg->timeindex_path);
    seg->deleted = true;
}

static int rename_one(char **path, const char *dir, int64_t base, const char *ext,
                      const char *suffix)
{
    char *to = log_segment_file_name(dir, base, ext, suffix);
    if (!to)
        return -ENOMEM;
    if (rename(*path, to) != 0) {
        int err = -errno;
        free(to);
        return err;
    }
    free(*path);
    *path = to;
    return 0;
}

int log_segment_rename(struct log_segment *seg, const char *dir, const char *new_suffix)
{
    /* Indexes first: a .log.<suffix> file is what recovery treats as the commit point. */
    int rc = rename_one(&seg->index_path, dir, seg->base_offset, "index", new_suffix);
    if (rc == 0)
        rc = rename_one(&seg->timeindex_path, dir, seg->base_offset, "timeindex", new_suffix);
    if (rc == 0)
        rc = rename_one(&seg->log_path, dir, seg->base_offset, "log", new_suffix);
    return rc;
}
