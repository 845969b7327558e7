/*
 * test_log_compaction.c - the log cleaner: latest value per key survives with
 * its original offset, tombstones survive delete.retention.ms and are then
 * dropped, min.compaction.lag.ms and the dirty ratio are honoured, compressed
 * batches are recompressed with their codec, appends keep working while a
 * pass runs, and an interrupted swap is completed at open.
 */
#include "log_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "log/log_cleaner.h"
#include "log/partition_log.h"

#define KEYS 50
#define MAX_OFFSETS 20000

static char root_dir[256];
static int64_t latest[KEYS]; /* expected latest offset per key, -1 none */
static bool tombstone[KEYS];

static struct partition_log *open_log(const char *name, const struct log_config *cfg, bool clean)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", root_dir, name);
    struct partition_log_open_args a = {.dir = dir, .topic = name, .partition = 0, .config = cfg,
                                        .clean_shutdown = clean, .now_ms = test_now_ms()};
    struct partition_log *log = NULL;
    if (partition_log_open(&a, &log) != 0)
        exit(2);
    return log;
}

/* Append one batch: records for keys key_of(offset), value "v<offset>" (or tombstones). */
static void append_keyed_from(struct partition_log *log, int count, int key_step, bool tombstones,
                              int key_first, int key_limit, int codec)
{
    int64_t base = partition_log_end_offset(log);
    struct record_builder_entry recs[256];
    char keys[256][16], values[256][24];
    for (int i = 0; i < count; i++) {
        int64_t off = base + i;
        int key = key_first + (int)((off * key_step) % key_limit);
        recs[i] = (struct record_builder_entry){0};
        recs[i].offset_delta = i;
        recs[i].timestamp_delta = i;
        recs[i].key_len = snprintf(keys[i], 16, "key%d", key);
        recs[i].key = (const uint8_t *)keys[i];
        if (tombstones) {
            recs[i].value = NULL;
            recs[i].value_len = -1;
        } else {
            recs[i].value_len = snprintf(values[i], 24, "v%" PRId64, off);
            recs[i].value = (const uint8_t *)values[i];
        }
        latest[key] = off;
        tombstone[key] = tombstones;
    }
    struct record_batch_header h = {0};
    h.attributes = (int16_t)codec;
    h.last_offset_delta = count - 1;
    h.base_timestamp = 1000 + base;
    h.max_timestamp = 1000 + base + count - 1;
    h.producer_id = -1;
    h.producer_epoch = -1;
    h.base_sequence = -1;
    uint8_t *batch;
    size_t len;
    CHECK(record_batch_build(&h, recs, (size_t)count, &batch, &len) == 0);
    struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
    struct log_append_result res;
    CHECK(partition_log_append(log, batch, len, &o, &res) == 0);
    free(batch);
}

static void append_keyed(struct partition_log *log, int count, int key_step, bool tombstones,
                         int key_limit, int codec)
{
    append_keyed_from(log, count, key_step, tombstones, 0, key_limit, codec);
}

/* The cleaner only touches durable data below the high watermark: flush, advance, clean. */
static int clean(struct partition_log *log, int64_t now_ms, bool force)
{
    CHECK(partition_log_flush(log, test_now_ms()) >= 0);
    partition_log_set_high_watermark(log, partition_log_end_offset(log));
    return log_cleaner_clean_partition(log, now_ms, force);
}

struct seen {
    int64_t count;
    int64_t max_offset[KEYS];
    int64_t copies[KEYS];
    bool is_tombstone[KEYS];
    int bad_values;
    int codec_mismatch;
    int64_t prev_offset;
};

static void read_all(struct partition_log *log, struct seen *s, int codec)
{
    static uint8_t buf[32 << 20];
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < KEYS; k++)
        s->max_offset[k] = -1;
    s->prev_offset = -1;
    int64_t from = partition_log_start_offset(log), end = partition_log_end_offset(log);
    while (from < end) {
    struct log_read_result r;
    CHECK(partition_log_read(log, from, sizeof(buf), -1, true, &r) == 0);
    ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
    log_read_result_release(&r);
    CHECK(n > 0);
    if (n <= 0)
        return;
    size_t pos = 0;
    while (n > 0 && pos < (size_t)n) {
        struct record_batch_header h;
        CHECK(record_batch_parse_header(buf + pos, (size_t)n - pos, &h) == 0);
        size_t size = record_batch_total_size(&h);
        CHECK(record_batch_validate_stored(buf + pos, size) == 0);
        if ((h.attributes & 7) != codec)
            s->codec_mismatch++;
        struct record_iter it;
        CHECK(record_iter_open(&it, buf + pos, size) == 0);
        struct record rec;
        while (record_iter_next(&it, &rec) == 1) {
            int64_t off = h.base_offset + rec.offset_delta;
            CHECK(off > s->prev_offset);
            s->prev_offset = off;
            int key = atoi((const char *)rec.key + 3);
            s->count++;
            s->copies[key]++;
            if (off > s->max_offset[key]) {
                s->max_offset[key] = off;
                s->is_tombstone[key] = rec.value_len < 0;
            }
            if (rec.value_len >= 0) {
                char want[24];
                int wl = snprintf(want, sizeof(want), "v%" PRId64, off);
                if (wl != rec.value_len || memcmp(want, rec.value, (size_t)wl) != 0)
                    s->bad_values++;
            }
        }
        record_iter_close(&it);
        pos += size;
        from = h.base_offset + h.last_offset_delta + 1;
    }
    }
}

static void expect_compacted(struct partition_log *log, int codec, int key_limit)
{
    struct seen s;
    read_all(log, &s, codec);
    CHECK(s.bad_values == 0);
    CHECK(s.codec_mismatch == 0);
    for (int k = 0; k < key_limit; k++) {
        if (latest[k] < 0)
            continue;
        CHECK_EQ_I64(s.max_offset[k], latest[k]);
        CHECK_EQ_I64(s.copies[k], 1);
    }
}

static void reset_expectations(void)
{
    for (int k = 0; k < KEYS; k++) {
        latest[k] = -1;
        tombstone[k] = false;
    }
}

/* Drop every .log file of dir from the page cache (clean pages go at once). */
static void evict_logs(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        CHECK(fd >= 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
        if (fd >= 0)
            close(fd);
    }
    if (d)
        closedir(d);
}

static void test_key_heavy(void)
{
    printf("key-heavy workload: latest value per key, offsets kept\n");
    reset_expectations();
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.cleanup_policy = LOG_CLEANUP_COMPACT;
    cfg.segment_bytes = 8 * 1024;
    cfg.min_cleanable_dirty_ratio = 0.01;
    cfg.delete_retention_ms = 1000;
    struct partition_log *log = open_log("kv-0", &cfg, true);
    for (int i = 0; i < 100; i++)
        append_keyed(log, 20, 7, false, KEYS, 0);
    CHECK(partition_log_roll(log, test_now_ms()) == 0);
    int64_t size_before = partition_log_size_bytes(log);
    size_t segs_before = partition_log_segment_count(log);
    int64_t now = test_now_ms();
    CHECK(log_cleaner_dirty_ratio(log, now) == 0); /* nothing durable yet */
    CHECK(partition_log_flush(log, now) >= 0);
    partition_log_set_high_watermark(log, partition_log_end_offset(log));
    CHECK(log_cleaner_dirty_ratio(log, now) > 0.99);
    CHECK(clean(log, now, false) > 0);
    printf("  the cleaned segment, once evicted, is reported cold (read through the pager)\n");
    {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/kv-0", root_dir);
        evict_logs(dir);
        struct log_read_range span;
        CHECK(partition_log_cold_spans(log, 0, 1 << 20, &span, 1, NULL));
        log_read_range_release(&span);
    }
    printf("  %" PRId64 " bytes in %zu segments -> %" PRId64 " bytes in %zu\n", size_before,
           segs_before, partition_log_size_bytes(log), partition_log_segment_count(log));
    CHECK(partition_log_size_bytes(log) < size_before / 10);
    CHECK(log_cleaner_dirty_ratio(log, now) < 0.01);
    CHECK_EQ_I64(clean(log, now, false), 0); /* nothing dirty */
    expect_compacted(log, 0, KEYS);
    CHECK_EQ_I64(partition_log_end_offset(log), 2000);

    printf("tombstones survive delete.retention.ms, then go\n");
    append_keyed(log, 10, 1, true, 10, 0); /* tombstones for key0..key9 */
    for (int i = 0; i < 5; i++)
        append_keyed_from(log, 20, 3, false, 10, KEYS - 10, 0);
    CHECK(partition_log_roll(log, test_now_ms()) == 0);
    now = test_now_ms();
    CHECK(clean(log, now, false) > 0);
    struct seen s;
    read_all(log, &s, 0);
    int tomb_seen = 0;
    for (int k = 0; k < KEYS; k++) {
        CHECK_EQ_I64(s.max_offset[k], latest[k]);
        CHECK_EQ_I64(s.copies[k], 1);
        CHECK(s.is_tombstone[k] == tombstone[k]);
        tomb_seen += s.is_tombstone[k];
    }
    printf("  %d tombstones kept after the first pass\n", tomb_seen);
    CHECK(tomb_seen > 0);
    CHECK(clean(log, now + 500, true) > 0);
    read_all(log, &s, 0);
    int still = 0;
    for (int k = 0; k < KEYS; k++)
        still += s.is_tombstone[k];
    CHECK_EQ_I64(still, tomb_seen);
    CHECK(clean(log, now + 1500, true) > 0);
    read_all(log, &s, 0);
    for (int k = 0; k < KEYS; k++) {
        if (tombstone[k])
            CHECK_EQ_I64(s.copies[k], 0);
        else
            CHECK_EQ_I64(s.max_offset[k], latest[k]);
    }
    CHECK(s.bad_values == 0);
    printf("  %zu segments after three passes (was %zu)\n", partition_log_segment_count(log),
           segs_before);
    CHECK(partition_log_segment_count(log) < segs_before);

    printf("min.compaction.lag.ms keeps recent segments out\n");
    cfg.min_compaction_lag_ms = 1000000000000LL;
    partition_log_set_config(log, &cfg);
    for (int i = 0; i < 20; i++)
        append_keyed(log, 20, 7, false, KEYS, 0);
    CHECK(partition_log_roll(log, test_now_ms()) == 0);
    CHECK_EQ_I64(clean(log, 5000, false), 0);
    cfg.min_compaction_lag_ms = 0;
    cfg.min_cleanable_dirty_ratio = 0.99;
    partition_log_set_config(log, &cfg);
    printf("dirty ratio %.3f below min.cleanable.dirty.ratio 0.99: no pass\n",
           log_cleaner_dirty_ratio(log, test_now_ms()));
    CHECK_EQ_I64(clean(log, test_now_ms(), false), 0);

    printf("reopen after compaction\n");
    partition_log_close(log, true);
    log = open_log("kv-0", &cfg, false);
    read_all(log, &s, 0);
    CHECK(s.bad_values == 0);
    for (int k = 0; k < KEYS; k++)
        CHECK_EQ_I64(s.max_offset[k], tombstone[k] ? -1 : latest[k]);
    partition_log_close(log, true);
}

static void test_compressed(int codec)
{
    printf("compressed batches, codec %d\n", codec);
    reset_expectations();
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.cleanup_policy = LOG_CLEANUP_COMPACT | LOG_CLEANUP_DELETE;
    cfg.segment_bytes = 4 * 1024;
    cfg.min_cleanable_dirty_ratio = 0.01;
    char name[32];
    snprintf(name, sizeof(name), "codec%d-0", codec);
    struct partition_log *log = open_log(name, &cfg, true);
    for (int i = 0; i < 20; i++)
        append_keyed(log, 50, 3, false, 20, codec);
    CHECK(partition_log_roll(log, test_now_ms()) == 0);
    CHECK(clean(log, test_now_ms(), false) > 0);
    expect_compacted(log, codec, 20);
    partition_log_close(log, true);
}

/* Appends until told to stop (once the cleaner has run during the appends),
 * at least min_batches and at most max_batches, so the overlap does not
 * depend on how the two threads happen to be scheduled. */
struct appender {
    struct partition_log *log;
    int min_batches, max_batches;
    int appended;
    atomic_int stop;
    atomic_int done;
};

static void *append_thread(void *arg)
{
    struct appender *a = arg;
    while (a->appended < a->max_batches && (a->appended < a->min_batches || !atomic_load(&a->stop))) {
        append_keyed(a->log, 20, 7, false, KEYS, 0);
        a->appended++;
    }
    atomic_store(&a->done, 1);
    return NULL;
}

static void test_concurrent(void)
{
    printf("appends and reads keep going while the cleaner runs\n");
    reset_expectations();
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.cleanup_policy = LOG_CLEANUP_COMPACT;
    cfg.segment_bytes = 4 * 1024;
    cfg.min_cleanable_dirty_ratio = 0.01;
    struct partition_log *log = open_log("conc-0", &cfg, true);
    struct appender a = {.log = log, .min_batches = 400, .max_batches = 50000};
    atomic_init(&a.stop, 0);
    atomic_init(&a.done, 0);
    pthread_t t;
    pthread_create(&t, NULL, append_thread, &a);
    int passes = 0;
    while (!atomic_load(&a.done)) {
        if (clean(log, test_now_ms(), true) > 0)
            passes++;
        if (passes >= 2)
            atomic_store(&a.stop, 1);
    }
    pthread_join(t, NULL);
    printf("  %d passes during the appends\n", passes);
    CHECK(passes > 0);
    struct seen s;
    read_all(log, &s, 0);
    CHECK(s.bad_values == 0);
    for (int k = 0; k < KEYS; k++)
        CHECK_EQ_I64(s.max_offset[k], latest[k]);
    CHECK_EQ_I64(partition_log_end_offset(log), (int64_t)a.appended * 20);
    partition_log_close(log, true);
}

static void copy_file(const char *from, const char *to, bool append)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        CHECK(write(out, buf, (size_t)n) == n);
    close(in);
    close(out);
}

static void test_interrupted_swap(void)
{
    printf("an interrupted swap is completed at open\n");
    reset_expectations();
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.cleanup_policy = LOG_CLEANUP_COMPACT;
    cfg.segment_bytes = 2 * 1024;
    struct partition_log *log = open_log("swap-0", &cfg, true);
    for (int i = 0; i < 20; i++)
        append_keyed(log, 10, 1, false, KEYS, 0);
    int64_t end = partition_log_end_offset(log);
    CHECK(partition_log_segment_count(log) >= 3);
    partition_log_close(log, true);
    char dir[512], a[700], b[700], swap[700], stray[700];
    snprintf(dir, sizeof(dir), "%s/swap-0", root_dir);
    /* Find the first two segments. */
    int64_t bases[2];
    int found = 0;
    for (int64_t base = 0; base < end && found < 2; base++) {
        snprintf(a, sizeof(a), "%s/%020" PRId64 ".log", dir, base);
        if (access(a, F_OK) == 0)
            bases[found++] = base;
    }
    CHECK(found == 2);
    snprintf(a, sizeof(a), "%s/%020" PRId64 ".log", dir, bases[0]);
    snprintf(b, sizeof(b), "%s/%020" PRId64 ".log", dir, bases[1]);
    snprintf(swap, sizeof(swap), "%s/%020" PRId64 ".log.swap", dir, bases[0]);
    snprintf(stray, sizeof(stray), "%s/%020" PRId64 ".log.cleaned", dir, bases[1]);
    copy_file(a, swap, false);
    copy_file(b, swap, true); /* the "cleaned" group: both segments' batches */
    copy_file(b, stray, false);
    log = open_log("swap-0", &cfg, true);
    CHECK(access(b, F_OK) != 0);
    CHECK(access(swap, F_OK) != 0);
    CHECK(access(stray, F_OK) != 0);
    CHECK(access(a, F_OK) == 0);
    CHECK_EQ_I64(partition_log_end_offset(log), end);
    struct seen s;
    read_all(log, &s, 0);
    CHECK(s.bad_values == 0);
    CHECK_EQ_I64(s.count, end);
    partition_log_close(log, true);
}

int main(void)
{
    char *root = test_make_dir("logcompact");
    snprintf(root_dir, sizeof(root_dir), "%s", root);
    test_key_heavy();
    for (int codec = 1; codec <= 4; codec++)
        test_compressed(codec);
    test_concurrent();
    test_interrupted_swap();
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_compaction");
}
