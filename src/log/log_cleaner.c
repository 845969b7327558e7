/*
 * log_cleaner.c - log compaction (see log_cleaner.h for the behaviour).
 *
 * A pass over one partition:
 *   1. under the lock, take references to the inactive segments and decide
 *      the cleanable prefix (wholly below the recovery point and the high
 *      watermark, older than min.compaction.lag.ms) and the dirty part
 *      (from the cleaner checkpoint on);
 *   2. without the lock, build a key -> latest offset map of the dirty part
 *      (keys identified by two independent 64-bit hashes, like Kafka's
 *      128-bit digest), then rewrite groups of consecutive segments (up to
 *      segment.bytes) into `.cleaned` files and fsync them;
 *   3. under the lock, check the group is still in place and swap it in.
 */
#include "log/log_cleaner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/partition_log_internal.h"
#include "protocol/record_batch.h"
#include "util/logger.h"
#include "util/thread.h"

/* ---- key -> latest offset map ---- */

/* Keys mapped per pass before the dirty range is cut short (~24 B per slot, 75% load). */
#define CLEANER_MAX_KEYS (4u << 20)

struct offset_map {
    uint64_t *h1, *h2;
    int64_t *offset; /* -1: empty slot */
    size_t cap, count;
};

static uint64_t hash_fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_mix(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static void map_free(struct offset_map *m)
{
    free(m->h1);
    free(m->h2);
    free(m->offset);
    memset(m, 0, sizeof(*m));
}

static int map_init(struct offset_map *m, size_t cap)
{
    memset(m, 0, sizeof(*m));
    m->cap = cap;
    m->h1 = malloc(cap * sizeof(uint64_t));
    m->h2 = malloc(cap * sizeof(uint64_t));
    m->offset = malloc(cap * sizeof(int64_t));
    if (!m->h1 || !m->h2 || !m->offset) {
        map_free(m);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        m->offset[i] = -1;
    return 0;
}

static size_t map_slot(const struct offset_map *m, uint64_t h1, uint64_t h2)
{
    size_t i = (size_t)(h1 & (m->cap - 1));
    while (m->offset[i] >= 0 && (m->h1[i] != h1 || m->h2[i] != h2))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int map_put(struct offset_map *m, uint64_t h1, uint64_t h2, int64_t offset);

static int map_grow(struct offset_map *m)
{
    struct offset_map bigger;
    int rc = map_init(&bigger, m->cap * 2);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < m->cap; i++)
        if (m->offset[i] >= 0)
            map_put(&bigger, m->h1[i], m->h2[i], m->offset[i]);
    map_free(m);
    *m = bigger;
    return 0;
}

static int map_put(struct offset_map *m, uint64_t h1, uint64_t h2, int64_t offset)
{
    if ((m->count + 1) * 4 > m->cap * 3) {
        int rc = map_grow(m);
        if (rc != 0)
            return rc;
    }
    size_t i = map_slot(m, h1, h2);
    if (m->offset[i] < 0)
        m->count++;
    m->h1[i] = h1;
    m->h2[i] = h2;
    if (offset > m->offset[i])
        m->offset[i] = offset;
    return 0;
}

static int64_t map_get(const struct offset_map *m, const uint8_t *key, int32_t key_len)
{
    uint64_t h1 = hash_fnv1a(key, (size_t)key_len), h2 = hash_mix(key, (size_t)key_len);
    return m->offset[map_slot(m, h1, h2)];
}

/* ---- the plan of one pass ---- */

struct clean_plan {
    struct log_segment **segs; /* cleanable prefix of the inactive segments (refs) */
    size_t count;
    int64_t first_dirty;
    int64_t dirty_end; /* checkpoint after this pass */
    uint64_t clean_bytes, dirty_bytes;
    struct log_config config;
    char *dir;
};

static void plan_free(struct clean_plan *p)
{
    for (size_t i = 0; i < p->count; i++)
        log_segment_unref(p->segs[i]);
    free(p->segs);
    free(p->dir);
    memset(p, 0, sizeof(*p));
}

static int plan_make(struct partition_log *log, int64_t now_ms, struct clean_plan *p)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_lock(&log->lock);
    p->config = log->config;
    p->first_dirty = log->cleaner_checkpoint > log->log_start_offset ? log->cleaner_checkpoint
                                                                     : log->log_start_offset;
    size_t inactive = log->segment_count - 1;
    p->segs = inactive ? malloc(inactive * sizeof(*p->segs)) : NULL;
    p->dir = strdup(log->dir);
    int rc = (inactive && !p->segs) || !p->dir ? -ENOMEM : 0;
    /* Only what is durable and visible: a newer record that a crash could still lose
     * must not be the reason an older one is dropped (Kafka stops at the high watermark). */
    int64_t limit = log->recovery_point < log->high_watermark ? log->recovery_point
                                                              : log->high_watermark;
    for (size_t i = 0; rc == 0 && i < inactive; i++) {
        struct log_segment *seg = log->segments[i];
        if (seg->next_offset > limit)
            break;
        /* min.compaction.lag.ms: a segment with recent records is not cleanable yet. */
        if (p->config.min_compaction_lag_ms > 0 &&
            seg->max_timestamp > now_ms - p->config.min_compaction_lag_ms)
            break;
        p->segs[p->count++] = log_segment_ref(seg);
        if (seg->next_offset <= p->first_dirty)
            p->clean_bytes += seg->size;
        else
            p->dirty_bytes += seg->size;
    }
    bool closed = log->closed || log->offline;
    pthread_mutex_unlock(&log->lock);
    if (rc == 0 && closed)
        rc = -ESHUTDOWN;
    if (rc != 0) {
        plan_free(p);
        return rc;
    }
    p->dirty_end = p->count ? p->segs[p->count - 1]->next_offset : p->first_dirty;
    if (p->dirty_end < p->first_dirty)
        p->dirty_end = p->first_dirty;
    return 0;
}

double log_cleaner_dirty_ratio(struct partition_log *log, int64_t now_ms)
{
    struct clean_plan p;
    if (plan_make(log, now_ms, &p) != 0)
        return 0;
    uint64_t total = p.clean_bytes + p.dirty_bytes;
    double ratio = total ? (double)p.dirty_bytes / (double)total : 0;
    plan_free(&p);
    return ratio;
}

/* ---- pass 1: the offset map ---- */

static bool batch_is_copied_verbatim(const struct record_batch_header *h)
{
    return (h->attributes & (BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL)) != 0;
}

static int map_segment(struct offset_map *m, const struct log_segment *seg, int64_t first_dirty)
{
    log_segment_prefetch(seg);
    uint64_t pos = 0;
    while (pos < seg->size) {
        struct record_batch_header h;
        if (record_batch_parse_header(seg->map + pos, seg->size - pos, &h) != 0)
            return -EIO;
        size_t size = record_batch_total_size(&h);
        if (!batch_is_copied_verbatim(&h) && h.base_offset + h.last_offset_delta >= first_dirty) {
            struct record_iter it;
            if (record_iter_open(&it, seg->map + pos, size) != 0)
                return -EIO;
            struct record r;
            int rc = 0;
            while (rc == 0 && record_iter_next(&it, &r) == 1) {
                int64_t off = h.base_offset + r.offset_delta;
                if (r.key_len < 0 || off < first_dirty)
                    continue;
                rc = map_put(m, hash_fnv1a(r.key, (size_t)r.key_len),
                             hash_mix(r.key, (size_t)r.key_len), off);
            }
            record_iter_close(&it);
            if (rc != 0)
                return rc;
        }
        pos += size;
    }
    return 0;
}

/* ---- pass 2: rewriting ---- */

/* Records kept from one batch. */
struct kept {
    struct record_builder_entry *entries;
    size_t count, cap;
};

static int kept_push(struct kept *k, const struct record_builder_entry *e)
{
    if (k->count == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        void *p = realloc(k->entries, cap * sizeof(*k->entries));
        if (!p)
            return -ENOMEM;
        k->entries = p;
        k->cap = cap;
    }
    k->entries[k->count++] = *e;
    return 0;
}

/*
 * Decide the records of one batch and append the result to `out`. The
 * batch's bytes stay valid (mapping held by the segment reference).
 */
static int clean_batch(const uint8_t *batch, const struct record_batch_header *h,
                       const struct offset_map *m, const struct clean_plan *p, int64_t now_ms,
                       struct kept *k, struct log_segment *out)
{
    size_t size = record_batch_total_size(h);
    uint32_t interval = (uint32_t)p->config.index_interval_bytes;
    if (batch_is_copied_verbatim(h))
        return log_segment_append(out, batch, size, interval);
    bool has_horizon = (h->attributes & BATCH_ATTR_DELETE_HORIZON) != 0;
    bool horizon_passed = has_horizon && now_ms >= h->base_timestamp;
    struct record_iter it;
    int rc = record_iter_open(&it, batch, size);
    if (rc != 0)
        return -EIO;
    k->count = 0;
    int total = 0;
    bool kept_tombstone = false;
    struct record r;
    while (rc == 0 && record_iter_next(&it, &r) == 1) {
        total++;
        int64_t off = h->base_offset + r.offset_delta;
        if (r.key_len >= 0) {
            int64_t latest = map_get(m, r.key, r.key_len);
            if (latest > off)
                continue; /* superseded by a later record with the same key */
            if (r.value_len < 0 && horizon_passed)
                continue; /* tombstone past delete.retention.ms */
        }
        if (r.value_len < 0)
            kept_tombstone = true;
        struct record_builder_entry e = {
            .offset_delta = r.offset_delta,
            .timestamp_delta = r.timestamp_delta,
            .key = r.key, .key_len = r.key_len,
            .value = r.value, .value_len = r.value_len,
            .headers = r.headers, .headers_len = r.headers_len, .header_count = r.header_count,
        };
        rc = kept_push(k, &e);
    }
    bool stamp_horizon = kept_tombstone && !has_horizon;
    if (rc == 0 && (int)k->count == total && !stamp_horizon) {
        record_iter_close(&it);
        return log_segment_append(out, batch, size, interval);
    }
    if (rc == 0 && k->count > 0) {
        struct record_batch_header nh = *h;
        if (stamp_horizon) {
            int64_t horizon = now_ms + p->config.delete_retention_ms;
            for (size_t i = 0; i < k->count; i++) /* keep absolute record timestamps */
                k->entries[i].timestamp_delta += h->base_timestamp - horizon;
            nh.base_timestamp = horizon;
            nh.attributes = (int16_t)(nh.attributes | BATCH_ATTR_DELETE_HORIZON);
        }
        uint8_t *built = NULL;
        size_t built_len = 0;
        rc = record_batch_build(&nh, k->entries, k->count, &built, &built_len);
        if (rc == 0)
            rc = log_segment_append(out, built, built_len, interval);
        free(built);
    }
    record_iter_close(&it);
    return rc;
}

static int clean_group(struct log_segment **group, size_t n, const struct offset_map *m,
                       const struct clean_plan *p, int64_t now_ms, struct log_segment **out)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += group[i]->size;
    struct log_segment *cleaned;
    int rc = log_segment_create(p->dir, group[0]->base_offset, ".cleaned", (size_t)total + 1,
                                now_ms, &cleaned);
    if (rc != 0)
        return rc;
    struct kept k = {0};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct log_segment *seg = group[i];
        log_segment_prefetch(seg);
        uint64_t pos = 0;
        while (rc == 0 && pos < seg->size) {
            struct record_batch_header h;
            if (record_batch_parse_header(seg->map + pos, seg->size - pos, &h) != 0) {
                rc = -EIO;
                break;
            }
            rc = clean_batch(seg->map + pos, &h, m, p, now_ms, &k, cleaned);
            pos += record_batch_total_size(&h);
        }
    }
    free(k.entries);
    if (rc == 0) {
        log_segment_seal(cleaned);
        rc = log_segment_sync(cleaned);
    }
    if (rc == 0)
        rc = log_segment_sync_indexes(cleaned);
    if (rc != 0) {
        log_segment_delete_files(cleaned);
        log_segment_unref(cleaned);
        return rc;
    }
    cleaned->synced_size = cleaned->size;
    /* The group's offsets end where its last source ended, even if its tail was dropped. */
    cleaned->next_offset = group[n - 1]->next_offset;
    *out = cleaned;
    return 0;
}

/* ---- pass 3: the swap ---- */

static int swap_in(struct partition_log *log, struct log_segment **group, size_t n,
                   struct log_segment *cleaned)
{
    pthread_mutex_lock(&log->lock);
    size_t at = 0;
    while (at < log->segment_count && log->segments[at] != group[0])
        at++;
    bool in_place = !log->closed && !log->offline && at + n < log->segment_count;
    for (size_t i = 0; in_place && i < n; i++)
        in_place = log->segments[at + i] == group[i];
    int rc = in_place ? 0 : -EAGAIN;
    if (rc == 0)
        rc = log_segment_rename(cleaned, log->dir, ".swap"); /* commit point: X.log.swap */
    if (rc == 0)
        log_segment_count_as_cold(cleaned); /* drop-behind stops at the older segments it already dropped */
    if (rc == 0) {
        for (size_t i = 1; i < n; i++)
            log_segment_delete_files(group[i]);
        rc = log_segment_rename(cleaned, log->dir, "");
        if (rc != 0)
            log_error("log", "Compaction swap of %s failed half-way (%s); it completes at restart",
                      cleaned->log_path, strerror(-rc));
        (void)log_segment_close_index_files(cleaned); /* written and synced already */
        group[0]->deleted = true; /* its names now belong to the cleaned segment */
        log->segments[at] = cleaned;
        memmove(log->segments + at + 1, log->segments + at + n,
                (log->segment_count - at - n) * sizeof(*log->segments));
        log->segment_count -= n - 1;
        for (size_t i = 0; i < n; i++)
            log_segment_unref(group[i]); /* the list's references */
        rc = 0;
    }
    pthread_mutex_unlock(&log->lock);
    return rc;
}

static size_t group_end(const struct clean_plan *p, size_t start)
{
    uint64_t bytes = p->segs[start]->size;
    size_t end = start + 1;
    while (end < p->count) {
        const struct log_segment *next = p->segs[end];
        if (bytes + next->size > (uint64_t)p->config.segment_bytes ||
            next->next_offset - p->segs[start]->base_offset > (int64_t)UINT32_MAX)
            break;
        bytes += next->size;
        end++;
    }
    return end;
}

int log_cleaner_clean_partition(struct partition_log *log, int64_t now_ms, bool force)
{
    struct clean_plan p;
    int rc = plan_make(log, now_ms, &p);
    if (rc != 0)
        return rc == -ESHUTDOWN ? 0 : rc;
    uint64_t total = p.clean_bytes + p.dirty_bytes;
    bool worth = p.count > 0 && (p.config.cleanup_policy & LOG_CLEANUP_COMPACT) &&
                 (force || (p.dirty_bytes > 0 && (double)p.dirty_bytes / (double)total >=
                                                     p.config.min_cleanable_dirty_ratio));
    if (!worth) {
        plan_free(&p);
        return 0;
    }
    struct offset_map m;
    rc = map_init(&m, 1024);
    for (size_t i = 0; rc == 0 && i < p.count; i++) {
        if (p.segs[i]->next_offset <= p.first_dirty)
            continue;
        if (m.count >= CLEANER_MAX_KEYS && i > 0) {
            /* Like Kafka's dedupe buffer: clean up to here, the rest next pass. */
            for (size_t j = i; j < p.count; j++)
                log_segment_unref(p.segs[j]);
            p.count = i;
            p.dirty_end = p.segs[i - 1]->next_offset;
            break;
        }
        rc = map_segment(&m, p.segs[i], p.first_dirty);
    }
    int swapped = 0;
    uint64_t before = 0, after = 0;
    for (size_t start = 0; rc == 0 && start < p.count;) {
        size_t end = group_end(&p, start);
        struct log_segment *cleaned = NULL;
        rc = clean_group(p.segs + start, end - start, &m, &p, now_ms, &cleaned);
        if (rc == 0) {
            uint64_t in = 0;
            for (size_t i = start; i < end; i++)
                in += p.segs[i]->size;
            uint64_t out_size = cleaned->size;
            int src = swap_in(log, p.segs + start, end - start, cleaned);
            if (src == 0) {
                swapped++;
                before += in;
                after += out_size;
            } else {
                log_segment_delete_files(cleaned);
                log_segment_unref(cleaned);
                if (src != -EAGAIN)
                    rc = src;
                else
                    break; /* the log changed under us (retention, close): next time */
            }
        }
        start = end;
    }
    map_free(&m);
    if (rc == 0 && swapped > 0) {
        pthread_mutex_lock(&log->lock);
        if (log->cleaner_checkpoint < p.dirty_end)
            log->cleaner_checkpoint = p.dirty_end;
        pthread_mutex_unlock(&log->lock);
        log_info("log",
                 "Compacted %s-%" PRId32 ": %d segment group(s), %" PRIu64 " -> %" PRIu64 " bytes",
                 log->topic, log->partition, swapped, before, after);
    } else if (rc != 0) {
        log_warn("log", "Compaction of %s-%" PRId32 " failed: %s", log->topic, log->partition,
                 strerror(-rc));
    }
    plan_free(&p);
    return rc != 0 ? rc : swapped;
}

/* ---- the thread ---- */

struct log_cleaner {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop, woken;
    int64_t backoff_ms;
    struct partition_log **logs; /* references */
    size_t count, cap;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *cleaner_main(void *arg)
{
    struct log_cleaner *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        size_t n = c->count;
        struct partition_log **copy = n ? malloc(n * sizeof(*copy)) : NULL;
        for (size_t i = 0; copy && i < n; i++)
            copy[i] = partition_log_ref(c->logs[i]);
        pthread_mutex_unlock(&c->mu);
        for (size_t i = 0; copy && i < n; i++) {
            pthread_mutex_lock(&c->mu);
            bool stop = c->stop;
            pthread_mutex_unlock(&c->mu);
            if (!stop)
                log_cleaner_clean_partition(copy[i], wall_ms(), false);
            partition_log_unref(copy[i]);
        }
        free(copy);
        pthread_mutex_lock(&c->mu);
        if (c->stop)
            break;
        if (!c->woken) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += c->backoff_ms / 1000;
            deadline.tv_nsec += (c->backoff_ms % 1000) * 1000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&c->cv, &c->mu, &deadline);
        }
        c->woken = false;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int log_cleaner_start(int64_t backoff_ms, struct log_cleaner **out)
{
    struct log_cleaner *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->backoff_ms = backoff_ms > 0 ? backoff_ms : 15000;
    int rc = thread_start(&c->thread, cleaner_main, c, "eddy-cleaner");
    if (rc != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void log_cleaner_stop(struct log_cleaner *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    for (size_t i = 0; i < c->count; i++)
        partition_log_unref(c->logs[i]);
    free(c->logs);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void log_cleaner_add(struct log_cleaner *c, struct partition_log *log)
{
    pthread_mutex_lock(&c->mu);
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        void *p = realloc(c->logs, cap * sizeof(*c->logs));
        if (!p) {
            pthread_mutex_unlock(&c->mu);
            return;
        }
        c->logs = p;
        c->cap = cap;
    }
    c->logs[c->count++] = partition_log_ref(log);
    pthread_mutex_unlock(&c->mu);
}

void log_cleaner_remove(struct log_cleaner *c, struct partition_log *log)
{
    struct partition_log *drop = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->count; i++)
        if (c->logs[i] == log) {
            drop = log;
            c->logs[i] = c->logs[--c->count];
            break;
        }
    pthread_mutex_unlock(&c->mu);
    partition_log_unref(drop);
}

void log_cleaner_wake(struct log_cleaner *c)
{
    pthread_mutex_lock(&c->mu);
    c->woken = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}
