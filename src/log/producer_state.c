/*
 * producer_state.c - sequence bookkeeping for idempotent producers, and its
 * snapshot files.
 *
 * Snapshot format (Eddy's own; Kafka's is a versioned struct of the same
 * content): "EPS1", u32 crc32c of the rest, u32 count, then per producer
 * i64 pid, i16 epoch, i64 last timestamp, u8 batch count, and per batch
 * i32 first seq, i32 last seq, i64 first offset, i64 last offset. All
 * little-endian (the file never leaves this machine's kind).
 */
#include "log/producer_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/partition_log.h"
#include "protocol/record_batch.h"
#include "util/crc32c.h"
#include "util/logger.h"

#define BUCKETS 256
#define REPLAY_SPAN (64u << 20) /* bytes of batches per read while replaying */

struct kept_batch {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
};

struct producer_entry {
    int64_t pid;
    int16_t epoch;
    int64_t last_timestamp;
    int count; /* batches kept, newest last */
    struct kept_batch batches[PRODUCER_BATCHES_KEPT];
    /* Each kept batch's max timestamp. Not in snapshots, which keep the
     * newest one's only (last_timestamp): the others load as -1. */
    int64_t batch_timestamps[PRODUCER_BATCHES_KEPT];
    struct producer_entry *next;
};

struct producer_state {
    struct partition_log *log;
    struct producer_entry *buckets[BUCKETS];
    size_t producer_count;
    int64_t last_snapshot; /* offset of the snapshot written last, -1 if none */
};

static struct producer_entry **slot_for(struct producer_state *ps, int64_t pid)
{
    uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ull;
    struct producer_entry **link = &ps->buckets[h >> 56];
    while (*link && (*link)->pid != pid)
        link = &(*link)->next;
    return link;
}

static struct producer_entry *find_or_add(struct producer_state *ps, int64_t pid)
{
    struct producer_entry **link = slot_for(ps, pid);
    if (*link)
        return *link;
    struct producer_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->pid = pid;
    e->epoch = -1;
    *link = e;
    ps->producer_count++;
    return e;
}

static int32_t next_sequence(int32_t seq)
{
    return seq == INT32_MAX ? 0 : seq + 1;
}

int producer_state_check(struct producer_state *ps, const struct producer_batch_info *b,
                         struct producer_duplicate *dup)
{
    struct producer_entry *e = *slot_for(ps, b->producer_id);
    /* As Kafka since KIP-360: a producer this partition has no state for
     * (its batches went with retention or DeleteRecords, or it expired)
     * may go on with any sequence; but on a partition that never held a
     * record it must start at 0 (Kafka 4.5, KAFKA-15591). Otherwise a
     * producer's second request, arriving first (the first one refused
     * while the partition was being created), would be appended and every
     * retry of the first refused as out of order: its records lost. */
    if (!e)
        return b->base_sequence == 0 || partition_log_end_offset(ps->log) > 0 ? 0 : 45;
    if (e->count == 0) {
        if (b->producer_epoch < e->epoch)
            return 47; /* INVALID_PRODUCER_EPOCH */
        return b->base_sequence == 0 ? 0 : 45;
    }
    if (b->producer_epoch < e->epoch)
        return 47;
    if (b->producer_epoch > e->epoch)
        return b->base_sequence == 0 ? 0 : 45; /* a new epoch restarts at 0 (KIP-360) */
    for (int i = 0; i < e->count; i++) {
        const struct kept_batch *k = &e->batches[i];
        if (k->first_seq == b->base_sequence && k->last_seq == b->last_sequence) {
            *dup = (struct producer_duplicate){k->first_offset, k->last_offset, e->batch_timestamps[i]};
            return PRODUCER_DUPLICATE;
        }
    }
    if (b->base_sequence != next_sequence(e->batches[e->count - 1].last_seq))
        return 45; /* OUT_OF_ORDER_SEQUENCE_NUMBER */
    return 0;
}

void producer_state_update(struct producer_state *ps, const struct producer_batch_info *b, int64_t first_offset,
                           int64_t last_offset, int64_t timestamp)
{
    struct producer_entry *e = find_or_add(ps, b->producer_id);
    if (!e)
        return;
    if (b->producer_epoch != e->epoch) {
        e->epoch = b->producer_epoch;
        e->count = 0;
    }
    if (e->count == PRODUCER_BATCHES_KEPT) {
        memmove(&e->batches[0], &e->batches[1], (PRODUCER_BATCHES_KEPT - 1) * sizeof e->batches[0]);
        memmove(&e->batch_timestamps[0], &e->batch_timestamps[1],
                (PRODUCER_BATCHES_KEPT - 1) * sizeof e->batch_timestamps[0]);
        e->count--;
    }
    e->batch_timestamps[e->count] = timestamp;
    e->batches[e->count++] = (struct kept_batch){b->base_sequence, b->last_sequence, first_offset, last_offset};
    e->last_timestamp = timestamp;
}

size_t producer_state_expire(struct producer_state *ps, int64_t now_ms, int64_t expiration_ms)
{
    size_t removed = 0;
    for (int i = 0; i < BUCKETS; i++) {
        struct producer_entry **link = &ps->buckets[i];
        while (*link) {
            struct producer_entry *e = *link;
            if (now_ms - e->last_timestamp < expiration_ms) {
                link = &e->next;
                continue;
            }
            *link = e->next;
            free(e);
            ps->producer_count--;
            removed++;
        }
    }
    return removed;
}

void producer_state_foreach(struct producer_state *ps, void (*fn)(void *ctx, const struct producer_summary *p),
                            void *ctx)
{
    if (!ps)
        return;
    for (int i = 0; i < BUCKETS; i++)
        for (struct producer_entry *e = ps->buckets[i]; e; e = e->next) {
            struct producer_summary s = {e->pid, e->epoch, -1, e->last_timestamp, -1};
            if (e->count) {
                s.last_sequence = e->batches[e->count - 1].last_seq;
                s.last_offset = e->batches[e->count - 1].last_offset;
            }
            fn(ctx, &s);
        }
}

/* ---- snapshots ---- */

struct buffer {
    uint8_t *data;
    size_t len, cap;
};

static int put(struct buffer *buf, const void *p, size_t n)
{
    if (buf->len + n > buf->cap) {
        size_t cap = buf->cap ? buf->cap * 2 : 4096;
        while (cap < buf->len + n)
            cap *= 2;
        uint8_t *grown = realloc(buf->data, cap);
        if (!grown)
            return -ENOMEM;
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, p, n);
    buf->len += n;
    return 0;
}

static void snapshot_path(const struct producer_state *ps, int64_t offset, char *out, size_t len)
{
    snprintf(out, len, "%s/%020" PRId64 ".snapshot", partition_log_dir(ps->log), offset);
}

static int serialize(const struct producer_state *ps, struct buffer *buf)
{
    uint32_t zero = 0, count = (uint32_t)ps->producer_count;
    int rc = put(buf, "EPS1", 4) | put(buf, &zero, 4) | put(buf, &count, 4);
    for (int i = 0; i < BUCKETS && rc == 0; i++)
        for (const struct producer_entry *e = ps->buckets[i]; e && rc == 0; e = e->next) {
            uint8_t n = (uint8_t)e->count;
            rc = put(buf, &e->pid, 8) | put(buf, &e->epoch, 2) | put(buf, &e->last_timestamp, 8) | put(buf, &n, 1);
            for (int k = 0; k < e->count && rc == 0; k++)
                rc = put(buf, &e->batches[k], sizeof e->batches[k]);
        }
    if (rc)
        return -ENOMEM;
    uint32_t crc = crc32c(0, buf->data + 8, buf->len - 8);
    memcpy(buf->data + 4, &crc, 4);
    return 0;
}

/* Remove every snapshot except `keep` and `keep_too` (-1: none). */
static void remove_snapshots(const struct producer_state *ps, int64_t keep, int64_t keep_too)
{
    DIR *dir = opendir(partition_log_dir(ps->log));
    if (!dir)
        return;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t n = strlen(de->d_name);
        if (n != 29 || strcmp(de->d_name + 20, ".snapshot") != 0)
            continue;
        int64_t offset = strtoll(de->d_name, NULL, 10);
        if ((keep >= 0 && offset == keep) || (keep_too >= 0 && offset == keep_too))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", partition_log_dir(ps->log), de->d_name);
        unlink(path);
    }
    closedir(dir);
}

int producer_state_snapshot(struct producer_state *ps, bool durable)
{
    int64_t end = partition_log_end_offset(ps->log);
    struct buffer buf = {0};
    int rc = serialize(ps, &buf);
    if (rc < 0)
        return rc;
    char path[4096], tmp[4200];
    snapshot_path(ps, end, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(buf.data);
        return -errno;
    }
    ssize_t written = write(fd, buf.data, buf.len);
    rc = written == (ssize_t)buf.len && (!durable || fsync(fd) == 0) ? 0 : -EIO;
    close(fd);
    free(buf.data);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    /* A snapshot written without fsync may not survive a power loss: keep
     * the one before it to fall back on (open tries it next). */
    remove_snapshots(ps, end, durable || ps->last_snapshot == end ? -1 : ps->last_snapshot);
    ps->last_snapshot = end;
    return 0;
}

static int load_snapshot(struct producer_state *ps, const uint8_t *data, size_t len)
{
    if (len < 12 || memcmp(data, "EPS1", 4) != 0)
        return -EINVAL;
    uint32_t crc, count;
    memcpy(&crc, data + 4, 4);
    memcpy(&count, data + 8, 4);
    if (crc32c(0, data + 8, len - 8) != crc)
        return -EINVAL;
    size_t pos = 12;
    for (uint32_t i = 0; i < count; i++) {
        if (pos + 19 > len)
            return -EINVAL;
        int64_t pid;
        memcpy(&pid, data + pos, 8);
        struct producer_entry *e = find_or_add(ps, pid);
        if (!e)
            return -ENOMEM;
        memcpy(&e->epoch, data + pos + 8, 2);
        memcpy(&e->last_timestamp, data + pos + 10, 8);
        int n = data[pos + 18];
        pos += 19;
        if (n > PRODUCER_BATCHES_KEPT || pos + (size_t)n * sizeof(struct kept_batch) > len)
            return -EINVAL;
        memcpy(e->batches, data + pos, (size_t)n * sizeof(struct kept_batch));
        e->count = n;
        for (int k = 0; k < n; k++)
            e->batch_timestamps[k] = k == n - 1 ? e->last_timestamp : -1;
        pos += (size_t)n * sizeof(struct kept_batch);
    }
    return 0;
}

static void forget_producers(struct producer_state *ps)
{
    for (int i = 0; i < BUCKETS; i++)
        while (ps->buckets[i]) {
            struct producer_entry *e = ps->buckets[i];
            ps->buckets[i] = e->next;
            free(e);
        }
    ps->producer_count = 0;
}

/* Newest snapshot at or below `log_end`: its offset, or -1. */
/* The newest snapshot at or below log_end. Those above it describe records
 * the log lost (a torn tail cut at recovery): as Kafka's truncateAndReload,
 * they are deleted, or a later start could load them once the log has
 * grown past them again, and take new batches for duplicates. */
static int64_t newest_snapshot(struct producer_state *ps, int64_t log_end)
{
    int64_t best = -1;
    DIR *dir = opendir(partition_log_dir(ps->log));
    if (!dir)
        return -1;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (strlen(de->d_name) != 29 || strcmp(de->d_name + 20, ".snapshot") != 0)
            continue;
        int64_t offset = strtoll(de->d_name, NULL, 10);
        if (offset > log_end) {
            char path[4096];
            snapshot_path(ps, offset, path, sizeof path);
            log_warn("log", "deleting producer snapshot %s: it is past the log end %" PRId64, path, log_end);
            if (unlink(path) != 0)
                log_warn("log", "cannot delete %s: %s", path, strerror(errno));
        } else if (offset > best) {
            best = offset;
        }
    }
    closedir(dir);
    return best;
}

static int try_load(struct producer_state *ps, int64_t offset)
{
    char path[4096];
    snapshot_path(ps, offset, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = size > 0 ? malloc((size_t)size) : NULL;
    int rc = data && fread(data, 1, (size_t)size, f) == (size_t)size ? load_snapshot(ps, data, (size_t)size) : -EIO;
    free(data);
    fclose(f);
    return rc;
}

/* Feed the producer batches of one read's ranges into the state, reading
 * only their headers. Returns the offset after the last batch seen. */
static int64_t replay_ranges(struct producer_state *ps, const struct log_read_result *res, int64_t from,
                             int64_t offset)
{
    int64_t next = offset;
    for (size_t i = 0; i < res->range_count; i++) {
        const struct log_read_range *r = &res->ranges[i];
        off_t pos = r->position, stop = r->position + (off_t)r->length;
        while (pos + RECORD_BATCH_HEADER_SIZE <= stop) {
            uint8_t header[RECORD_BATCH_HEADER_SIZE];
            struct record_batch_header h;
            /* The read returned whole batches: the header's length is bounded by the range. */
            if (pread(r->fd, header, sizeof header, pos) != (ssize_t)sizeof header ||
                record_batch_parse_header(header, (size_t)(stop - pos), &h) != 0)
                return next;
            int64_t last = h.base_offset + h.last_offset_delta;
            if (h.producer_id >= 0 && !(h.attributes & BATCH_ATTR_CONTROL) && last >= from) {
                struct producer_batch_info info = {h.producer_id, h.producer_epoch, h.base_sequence,
                                                   record_batch_last_sequence(&h),
                                                   (h.attributes & BATCH_ATTR_TRANSACTIONAL) != 0};
                producer_state_update(ps, &info, h.base_offset, last, h.max_timestamp);
            }
            next = last + 1;
            pos += (off_t)record_batch_total_size(&h);
        }
    }
    return next;
}

/* Feed every producer batch in [from, log end) into the state. Only batch
 * headers are read: batches of any size, without copying their records. */
static int replay(struct producer_state *ps, int64_t from)
{
    int64_t offset = from, end = partition_log_end_offset(ps->log);
    while (offset < end) {
        struct log_read_result res;
        int rc = partition_log_read(ps->log, offset, REPLAY_SPAN, -1, true, &res);
        int64_t next = rc == 0 ? replay_ranges(ps, &res, from, offset) : offset;
        log_read_result_release(&res);
        if (rc != 0)
            return rc;
        if (next <= offset)
            return -EIO; /* a header that does not parse: recovery should have cut it */
        offset = next;
    }
    return 0;
}

int producer_state_open(struct partition_log *log, struct producer_state **out)
{
    struct producer_state *ps = calloc(1, sizeof *ps);
    if (!ps)
        return -ENOMEM;
    ps->log = log;
    ps->last_snapshot = -1;
    int64_t end = partition_log_end_offset(log);
    int64_t from = partition_log_start_offset(log);
    /* The newest snapshot, or the one before it if the newest is unreadable;
     * none below the log start (the log after it is gone, so it cannot be replayed). */
    int64_t snap = newest_snapshot(ps, end);
    if (snap < from)
        snap = -1;
    if (snap < 0 && partition_log_opened_clean(log) && from < end) {
        /* As Kafka does: a cleanly closed log without snapshots (written by a
         * version that took them only for idempotent producers) had none worth
         * keeping. Replaying it would read the whole log on first use. */
        log_info("log", "%s-%d has no producer snapshot after a clean shutdown: no producer state to rebuild",
                 partition_log_topic(log), partition_log_partition(log));
        producer_state_snapshot(ps, false);
        *out = ps;
        return 0;
    }
    for (int tries = 0; snap >= 0 && tries < 2; tries++) {
        if (try_load(ps, snap) == 0) {
            from = snap;
            ps->last_snapshot = snap;
            break;
        }
        log_warn("log", "producer snapshot %020" PRId64 ".snapshot of %s-%d is unreadable; "
                 "using an older one or the log", snap, partition_log_topic(log), partition_log_partition(log));
        forget_producers(ps);
        snap = snap > 0 ? newest_snapshot(ps, snap - 1) : -1;
        if (snap < from)
            snap = -1;
    }
    if (from < end)
        replay(ps, from);
    *out = ps;
    return 0;
}

void producer_state_close(struct producer_state *ps)
{
    if (!ps)
        return;
    /* Even with no producers: the next open then replays nothing. That one
     * needs no fsync (an fsync per partition made shutdown seconds longer): if
     * it is lost, the older snapshot it keeps, or none after a clean shutdown,
     * leads to the same empty state. */
    bool changed = ps->producer_count > 0 || ps->last_snapshot != partition_log_end_offset(ps->log);
    if (changed && !partition_log_is_offline(ps->log))
        producer_state_snapshot(ps, ps->producer_count > 0);
    for (int i = 0; i < BUCKETS; i++) {
        struct producer_entry *e = ps->buckets[i];
        while (e) {
            struct producer_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(ps);
}
