/*
 * test_log_cache.c - page-cache drop-behind (eddy.log.page.cache.bytes):
 * after a release pass, the pages older than the kept tail are no longer
 * cached (checked with mincore on a fresh mapping of each segment file), the
 * newest ones still are, every record still reads back intact, and the
 * flusher runs passes on its own once its budget is set and enough is
 * appended, and finishes on its own once appends stop; partitions idle for
 * longer than the active window come down to the minimum. A read of dropped
 * data is reported cold (and one of the tail is not), so is a read of
 * evicted bytes a reopened log found on disk, and the pager brings a cold
 * span back into the cache.
 */
#include "log_test_util.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "log/log_flusher.h"
#include "log/log_pager.h"
#include "log/partition_log_internal.h"

#define BATCH_RECORDS 100
#define VALUE_BYTES 1000 /* about 100 KiB a batch */
#define MIB (1u << 20)

static struct partition_log *open_log(const char *dir, const struct log_config *cfg)
{
    return test_open_log(dir, "t", cfg, true, 0);
}

static void append_mib(struct partition_log *log, int mib)
{
    static int key_base;
    size_t appended = 0;
    while (appended < (size_t)mib * MIB) {
        size_t len;
        uint8_t *b = test_build_batch(BATCH_RECORDS, key_base++, 1000, VALUE_BYTES, test_now_ms(), 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        appended += len;
        free(b);
    }
}

/* Cached bytes of [from, to) of a file, by mincore on a fresh mapping. */
static uint64_t cached_bytes(const char *path, uint64_t from, uint64_t to)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    if (to > (uint64_t)st.st_size)
        to = (uint64_t)st.st_size;
    size_t pages = ((size_t)st.st_size + 4095) / 4096;
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *vec = malloc(pages);
    uint64_t cached = 0;
    if (map != MAP_FAILED && vec && mincore(map, (size_t)st.st_size, vec) == 0)
        for (uint64_t p = from / 4096; p * 4096 < to; p++)
            cached += (vec[p] & 1) ? 4096 : 0;
    free(vec);
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    close(fd);
    return cached;
}

static uint64_t segment_size(const char *dir, int64_t base)
{
    char *path = log_segment_file_name(dir, base, "log", "");
    struct stat st;
    uint64_t size = path && stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    free(path);
    return size;
}

/* Read every batch from offset 0 and check its CRC; returns the records seen. */
static int64_t read_all(struct partition_log *log)
{
    static uint8_t buf[4 << 20];
    int64_t offset = 0, end = partition_log_end_offset(log);
    while (offset < end) {
        struct log_read_result r;
        if (partition_log_read(log, offset, 1 << 20, -1, true, &r) != 0)
            break;
        ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
        log_read_result_release(&r);
        if (n <= 0)
            break;
        for (size_t pos = 0; pos < (size_t)n;) {
            struct record_batch_header h;
            CHECK(record_batch_parse_header(buf + pos, (size_t)n - pos, &h) == 0);
            CHECK(record_batch_crc_ok(buf + pos, record_batch_total_size(&h)));
            CHECK_EQ_I64(h.base_offset, offset);
            offset = h.base_offset + h.last_offset_delta + 1;
            pos += record_batch_total_size(&h);
        }
    }
    return offset;
}

/* A log of 4 MiB segments holding 12 MiB, flushed: its clean pages can be dropped. */
static struct partition_log *open_flushed_12_mib(const char *dir)
{
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = 4 * MIB;
    struct partition_log *log = open_log(dir, &cfg);
    append_mib(log, 12);
    CHECK(partition_log_flush(log, test_now_ms()) >= 0);
    return log;
}

static void test_release_pass(const char *dir)
{
    struct partition_log *log = open_flushed_12_mib(dir);
    size_t segments = partition_log_segment_count(log);
    printf("12 MiB in %zu segments; release all but the newest 2 MiB\n", segments);
    CHECK(segments >= 3);

    partition_log_release_cache(log, 2 * MIB, NULL); /* starts writeback */
    partition_log_release_cache(log, 2 * MIB, NULL); /* drops what was written back */

    /* The oldest segment is gone from the cache; all in all about the newest 2 MiB stay. */
    int64_t bases[16];
    size_t n = 0;
    pthread_mutex_lock(&log->lock);
    for (size_t i = 0; i < log->segment_count && n < 16; i++)
        bases[n++] = log->segments[i]->base_offset;
    pthread_mutex_unlock(&log->lock);
    uint64_t total_cached = 0, total = 0, oldest_cached = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = log_segment_file_name(dir, bases[i], "log", "");
        uint64_t size = segment_size(dir, bases[i]);
        uint64_t cached = cached_bytes(path, 0, size);
        if (i == 0)
            oldest_cached = cached;
        total_cached += cached;
        total += size;
        free(path);
    }
    printf("cached after the release: %" PRIu64 " of %" PRIu64 " bytes (oldest segment: %" PRIu64 ")\n",
           total_cached, total, oldest_cached);
    CHECK(oldest_cached <= 4096); /* a segment's last, partial page may stay */
    CHECK(total_cached > 0);
    CHECK(total_cached <= 2 * MIB + (n + 1) * 4096);

    printf("every record reads back after the drop\n");
    CHECK_EQ_I64(read_all(log), partition_log_end_offset(log));
    partition_log_close(log, true);
}

/* A flusher with a 4 MiB drop-behind budget, and cfg for logs of 64 MiB segments. */
static struct log_flusher *start_flusher_4_mib(struct log_config *cfg)
{
    log_config_defaults(cfg);
    cfg->segment_bytes = 64 * MIB;
    struct log_flusher *flusher = NULL;
    CHECK(log_flusher_start(NULL, NULL, &flusher) == 0);
    log_flusher_set_cache_budget(flusher, 4 * MIB);
    return flusher;
}

static void test_flusher_runs_passes(const char *dir)
{
    struct log_config cfg;
    struct log_flusher *flusher = start_flusher_4_mib(&cfg);
    struct partition_log *log = open_log(dir, &cfg);
    log_flusher_register(flusher, log);
    append_mib(log, 24); /* three passes' worth */
    CHECK(partition_log_flush(log, test_now_ms()) >= 0);
    /* No more appends: the flusher's timer runs the pass that drops what the last ones wrote back. */

    char *path = log_segment_file_name(dir, 0, "log", "");
    uint64_t size = segment_size(dir, 0), cached = size;
    for (int i = 0; i < 300 && cached > 5 * MIB; i++) {
        usleep(10000);
        cached = cached_bytes(path, 0, size);
    }
    printf("flusher with a 4 MiB budget: %" PRIu64 " of %" PRIu64 " bytes cached\n", cached, size);
    CHECK(cached <= 5 * MIB);
    free(path);
    log_flusher_unregister(flusher, log);
    log_flusher_stop(flusher);
    partition_log_close(log, true);
}

static uint64_t cached_in_logs(char dirs[][300], int count, uint64_t *total)
{
    uint64_t cached = 0;
    *total = 0;
    for (int i = 0; i < count; i++) {
        char *path = log_segment_file_name(dirs[i], 0, "log", "");
        uint64_t size = segment_size(dirs[i], 0);
        cached += cached_bytes(path, 0, size);
        *total += size;
        free(path);
    }
    return cached;
}

/* A producer that sends 1 MiB batches round-robin to many partitions touches
 * only a few of them per pass; every partition written lately must still be
 * held to its share of the budget, not just those. */
static void test_many_partitions_share(const char *root)
{
    enum { LOGS = 32 };
    struct log_config cfg;
    struct log_flusher *flusher = start_flusher_4_mib(&cfg);
    struct partition_log *logs[LOGS];
    char dirs[LOGS][300];
    for (int i = 0; i < LOGS; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/m-%d", root, i);
        logs[i] = open_log(dirs[i], &cfg);
        log_flusher_register(flusher, logs[i]);
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < LOGS; i++) {
            append_mib(logs[i], 1);
            CHECK(partition_log_flush(logs[i], test_now_ms()) >= 0);
        }
    uint64_t cached = 0, total = 0;
    for (int wait = 0; wait < 200; wait++) {
        usleep(10000);
        cached = cached_in_logs(dirs, LOGS, &total);
        if (cached <= total / 3)
            break;
    }
    printf("%d partitions written 1 MiB at a time, 4 MiB budget: %" PRIu64 " of %" PRIu64 " bytes cached\n",
           LOGS, cached, total);
    CHECK(cached <= total / 3);
    for (int i = 0; i < LOGS; i++) {
        log_flusher_unregister(flusher, logs[i]);
        partition_log_close(logs[i], true);
    }
    log_flusher_stop(flusher);
}

/* librdkafka's sticky partitioner over many partitions: each takes a burst,
 * then nothing for a long while. A partition that held a large share and
 * then went idle (twice the budget appended elsewhere since) must come down
 * to the minimum, not keep its share for good: with 1000 partitions, that
 * made the page cache grow by GBs of fresh pages. */
static void test_idle_partition_trimmed(const char *root)
{
    enum { LOGS = 16 };
    struct log_config cfg;
    struct log_flusher *flusher = start_flusher_4_mib(&cfg); /* a pass every 8 MiB appended */
    struct partition_log *logs[LOGS];
    char dirs[LOGS][300];
    for (int i = 0; i < LOGS; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/s-%d", root, i);
        logs[i] = open_log(dirs[i], &cfg);
        log_flusher_register(flusher, logs[i]);
    }
    append_mib(logs[0], 8); /* alone: its share is the whole budget */
    CHECK(partition_log_flush(logs[0], test_now_ms()) >= 0);
    uint64_t total, first = 0;
    for (int wait = 0; wait < 300; wait++) {
        usleep(10000);
        first = cached_in_logs(dirs, 1, &total);
        if (first <= 5 * MIB)
            break;
    }
    printf("one partition written 8 MiB, 4 MiB budget: %" PRIu64 " bytes cached\n", first);
    CHECK(first >= 2 * MIB && first <= 5 * MIB);

    for (int i = 1; i < LOGS; i++) { /* 15 MiB elsewhere: the first is idle */
        append_mib(logs[i], 1);
        CHECK(partition_log_flush(logs[i], test_now_ms()) >= 0);
    }
    for (int wait = 0; wait < 300; wait++) {
        usleep(10000);
        first = cached_in_logs(dirs, 1, &total);
        if (first <= 512 * 1024)
            break;
    }
    uint64_t all = cached_in_logs(dirs, LOGS, &total);
    printf("then 1 MiB to each of %d others: %" PRIu64 " bytes of the first cached, %" PRIu64 " of %" PRIu64
           " in all\n", LOGS - 1, first, all, total);
    /* The 128 KiB minimum, plus a release step and the large folios the kernel
     * keeps whole. */
    CHECK(first <= 512 * 1024);
    for (int i = 0; i < LOGS; i++) {
        log_flusher_unregister(flusher, logs[i]);
        partition_log_close(logs[i], true);
    }
    log_flusher_stop(flusher);
}

static void on_loaded(void *arg)
{
    atomic_store((atomic_int *)arg, 1);
}

static void test_pager(const char *dir)
{
    struct partition_log *log = open_flushed_12_mib(dir);
    int64_t end = partition_log_end_offset(log);
    struct log_read_range span;
    CHECK(!partition_log_cold_spans(log, 0, MIB, &span, 1, NULL)); /* nothing dropped yet */
    partition_log_release_cache(log, 2 * MIB, NULL);
    partition_log_release_cache(log, 2 * MIB, NULL);

    CHECK(!partition_log_cold_spans(log, end - 1, MIB, &span, 1, NULL)); /* the tail stays cached */
    CHECK(partition_log_cold_spans(log, 0, MIB, &span, 1, NULL));
    CHECK(span.segment && span.position == 0 && span.length >= MIB);
    size_t span_length = span.length;
    char *path = log_segment_file_name(dir, 0, "log", "");
    CHECK(cached_bytes(path, 0, MIB) < MIB / 2);

    struct log_pager *pager = NULL;
    CHECK(log_pager_start(&pager) == 0);
    atomic_int loaded = 0;
    CHECK(log_pager_load(pager, &span, 1, on_loaded, &loaded) == 0);
    for (int i = 0; i < 500 && !atomic_load(&loaded); i++)
        usleep(10000);
    CHECK(atomic_load(&loaded));
    CHECK(cached_bytes(path, 0, MIB) == MIB);
    CHECK(!partition_log_cold_spans(log, 0, MIB, &span, 1, NULL)); /* now in the cache */
    printf("a cold span of %zu bytes at offset 0 was read back in by the pager\n", span_length);
    log_pager_stop(pager);
    CHECK_EQ_I64(read_all(log), end);
    free(path);
    partition_log_close(log, true);
}

/* Bytes written before the log was opened may be out of the cache (a restart,
 * a reboot): reads of them are checked, and reported cold when evicted. */
static void test_reopened_log_is_checked(const char *dir)
{
    struct partition_log *log = open_flushed_12_mib(dir);
    int64_t end = partition_log_end_offset(log);
    partition_log_close(log, true);
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = 4 * MIB;
    log = open_log(dir, &cfg);
    CHECK_EQ_I64(partition_log_end_offset(log), end);
    struct log_read_range span;
    CHECK(!partition_log_cold_spans(log, 0, MIB, &span, 1, NULL)); /* still cached from the appends */

    char *path = log_segment_file_name(dir, 0, "log", "");
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
    close(fd);
    CHECK(cached_bytes(path, 0, MIB) < MIB / 2);
    CHECK(partition_log_cold_spans(log, 0, MIB, &span, 1, NULL));
    CHECK(span.segment && span.position == 0 && span.length >= MIB);
    log_read_range_release(&span);
    printf("after a reopen, a read of evicted bytes written before it is reported cold\n");
    free(path);
    partition_log_close(log, true);
}

int main(void)
{
    char *root = test_make_dir("logcache");
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/t-0", root);
    test_release_pass(dir);
    snprintf(dir, sizeof(dir), "%s/u-0", root);
    test_flusher_runs_passes(dir);
    snprintf(dir, sizeof(dir), "%s/v-0", root);
    test_pager(dir);
    snprintf(dir, sizeof(dir), "%s/w-0", root);
    test_reopened_log_is_checked(dir);
    test_many_partitions_share(root);
    test_idle_partition_trimmed(root);
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_cache");
}
