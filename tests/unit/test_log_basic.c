/*
 * test_log_basic.c - partition log: append with offset assignment, reads by
 * offset (whole batches, byte limits, high watermark), segment roll by size
 * and by time, sparse index and time index look-ups, LogAppendTime, leader
 * epoch checkpoint, partition.metadata, clean reopen and full re-scan, and
 * the max-timestamp look-up (the first record carrying the newest timestamp,
 * inside a compressed batch too, as Kafka answers it).
 */
#include "log_test_util.h"

#include <dirent.h>

#include "log/log_checkpoint.h"
#include "log/log_segment.h"
#include "log/partition_log.h"

#define BATCHES 200
#define PER_BATCH 10
#define TS0 1000000

static struct partition_log *open_log(const char *dir, const struct log_config *cfg, bool clean,
                                      int64_t rp)
{
    return test_open_log(dir, "t", cfg, clean, rp);
}

/* Read everything from `from`, check offsets run consecutively; returns batches seen. */
static int read_and_verify(struct partition_log *log, int64_t from, int64_t expect_end)
{
    static uint8_t buf[8 << 20];
    struct log_read_result r;
    int64_t next = -1;
    int batches = 0;
    int64_t offset = from;
    while (offset < expect_end) {
        int rc = partition_log_read(log, offset, 64 * 1024, -1, true, &r);
        CHECK(rc == 0);
        ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
        CHECK(n == (ssize_t)r.total_bytes && n > 0);
        log_read_result_release(&r);
        if (n <= 0)
            return batches;
        size_t pos = 0;
        while (pos < (size_t)n) {
            struct record_batch_header h;
            CHECK(record_batch_parse_header(buf + pos, (size_t)n - pos, &h) == 0);
            CHECK(record_batch_crc_ok(buf + pos, record_batch_total_size(&h)));
            if (next >= 0)
                CHECK_EQ_I64(h.base_offset, next);
            else
                CHECK(h.base_offset <= from && h.base_offset + h.last_offset_delta >= from);
            next = h.base_offset + h.last_offset_delta + 1;
            pos += record_batch_total_size(&h);
            batches++;
        }
        offset = next;
    }
    CHECK_EQ_I64(next, expect_end);
    return batches;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

static void check_file_size_multiple(const char *dir, const char *name, int unit)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CHECK(stat(path, &st) == 0);
    CHECK(st.st_size % unit == 0);
}

/* A batch of records with these timestamps (first one = base timestamp). */
static uint8_t *batch_with_timestamps(const int64_t *ts, int count, int codec, size_t *len)
{
    struct record_builder_entry recs[8];
    int64_t max = ts[0];
    for (int i = 0; i < count; i++) {
        recs[i] = (struct record_builder_entry){.offset_delta = i, .timestamp_delta = ts[i] - ts[0],
                                                .key_len = -1, .value = (const uint8_t *)"value", .value_len = 5};
        if (ts[i] > max)
            max = ts[i];
    }
    struct record_batch_header h = {.attributes = (int16_t)codec, .last_offset_delta = count - 1,
                                    .base_timestamp = ts[0], .max_timestamp = max, .producer_id = -1,
                                    .producer_epoch = -1, .base_sequence = -1, .partition_leader_epoch = -1};
    uint8_t *out = NULL;
    if (record_batch_build(&h, recs, (size_t)count, &out, len) != 0) {
        fprintf(stderr, "record_batch_build failed\n");
        exit(2);
    }
    return out;
}

static void append_timestamps(struct partition_log *log, const int64_t *ts, int count, int codec,
                              bool log_append_time, int64_t now_ms)
{
    size_t len;
    uint8_t *b = batch_with_timestamps(ts, count, codec, &len);
    struct log_append_options o = {.now_ms = now_ms, .leader_epoch = -1, .log_append_time = log_append_time};
    struct log_append_result res;
    CHECK(partition_log_append(log, b, len, &o, &res) == 0);
    free(b);
}

/* MAX_TIMESTAMP answers the first record carrying the newest timestamp, not
 * the last offset of its batch (Kafka's RecordBatch.offsetOfMaxTimestamp);
 * for a LogAppendTime batch, its base offset. */
static void check_max_timestamp_offset(const char *root)
{
    printf("max timestamp: first record carrying it\n");
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/t-2", root);
    struct log_config cfg;
    log_config_defaults(&cfg);
    struct partition_log *log = open_log(dir, &cfg, true, 0);
    int64_t off, ts;
    append_timestamps(log, (const int64_t[]){1000, 1050, 1010}, 3, 0, false, 0); /* offsets 0-2 */
    CHECK(partition_log_offset_for_timestamp(log, LOG_TIMESTAMP_MAX, &off, &ts) == 0);
    CHECK_EQ_I64(off, 1);
    CHECK_EQ_I64(ts, 1050);
    append_timestamps(log, (const int64_t[]){2990, 3000, 3000}, 3, COMPRESSION_LZ4, false, 0); /* 3-5 */
    append_timestamps(log, (const int64_t[]){2000}, 1, 0, false, 0);                           /* 6 */
    CHECK(partition_log_offset_for_timestamp(log, LOG_TIMESTAMP_MAX, &off, &ts) == 0);
    CHECK_EQ_I64(off, 4);
    CHECK_EQ_I64(ts, 3000);
    append_timestamps(log, (const int64_t[]){1, 2, 3}, 3, 0, true, 5000); /* 7-9, LogAppendTime 5000 */
    CHECK(partition_log_offset_for_timestamp(log, LOG_TIMESTAMP_MAX, &off, &ts) == 0);
    CHECK_EQ_I64(off, 7);
    CHECK_EQ_I64(ts, 5000);
    partition_log_close(log, true);
    log = open_log(dir, &cfg, false, 0); /* the recovery walk remembers it the same way */
    CHECK(partition_log_offset_for_timestamp(log, LOG_TIMESTAMP_MAX, &off, &ts) == 0);
    CHECK_EQ_I64(off, 7);
    partition_log_close(log, true);
}

/* The first batch ending at or after `offset` by brute force (sizes[] and lasts[] per batch). */
static uint64_t expected_position(const size_t *sizes, const int64_t *lasts, int n, int64_t offset)
{
    uint64_t pos = 0;
    for (int i = 0; i < n && lasts[i] < offset; i++)
        pos += sizes[i];
    return pos;
}

/* Positions come from the ring of recent batches at the tail and from the
 * index walk before it; both must agree with a brute-force walk, across
 * offset gaps (compaction) and after recovery rebuilt the ring. */
static void check_find_position(const char *root)
{
    printf("positions from the recent-batch ring and from the index\n");
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/ring-0", root);
    CHECK(mkdir(dir, 0755) == 0);
    struct log_segment *seg = NULL;
    CHECK(log_segment_create(dir, 0, "", 1 << 20, test_now_ms(), &seg) == 0);
    enum { N = 3 * LOG_RECENT_BATCHES };
    size_t sizes[N];
    int64_t lasts[N];
    for (int i = 0; i < N; i++) {
        size_t len;
        uint8_t *b = test_build_batch(5, i, 100, 100, TS0 + i, 0, &len);
        log_store_be64(b, (uint64_t)i * 10); /* offsets base..base+4, then a gap of 5 */
        CHECK(log_segment_append(seg, b, len, 512) == 0);
        sizes[i] = len;
        lasts[i] = i * 10 + 4;
        free(b);
    }
    for (int round = 0; round < 2; round++) {
        for (int64_t off = 0; off <= N * 10 + 5; off++)
            CHECK_EQ_I64(log_segment_find_position(seg, off), expected_position(sizes, lasts, N, off));
        CHECK(log_segment_recover(seg, 0) >= 0); /* the second round checks the rebuilt ring */
    }
    log_segment_unref(seg);
}

int main(void)
{
    char *root = test_make_dir("logbasic");
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/t-0", root);
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = 64 * 1024;
    cfg.index_interval_bytes = 1024;
    int fds_before = open_fds();
    struct partition_log *log = open_log(dir, &cfg, true, 0);

    printf("append %d batches of %d records\n", BATCHES, PER_BATCH);
    for (int i = 0; i < BATCHES; i++) {
        size_t len;
        uint8_t *b = test_build_batch(PER_BATCH, i, 1000, 100, TS0 + i * PER_BATCH, 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        CHECK_EQ_I64(res.base_offset, (int64_t)i * PER_BATCH);
        CHECK_EQ_I64(res.last_offset, (int64_t)i * PER_BATCH + PER_BATCH - 1);
        free(b);
    }
    int64_t leo = BATCHES * PER_BATCH;
    CHECK_EQ_I64(partition_log_end_offset(log), leo);
    printf("segments after size rolls: %zu\n", partition_log_segment_count(log));
    CHECK(partition_log_segment_count(log) > 3);
    printf("open fds: %d for %zu segments (one per sealed segment, three for the active)\n",
           open_fds() - fds_before, partition_log_segment_count(log));
    CHECK_EQ_I64(open_fds() - fds_before, (int64_t)partition_log_segment_count(log) + 2);
    check_file_size_multiple(dir, "00000000000000000000.index", 8);
    check_file_size_multiple(dir, "00000000000000000000.timeindex", 12);
    {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof(path), "%s/00000000000000000000.index", dir);
        CHECK(stat(path, &st) == 0 && st.st_size >= 8 * 10);
    }

    printf("read everything, then from every 7th offset\n");
    CHECK(read_and_verify(log, 0, leo) == BATCHES);
    for (int64_t off = 0; off < leo; off += 7)
        read_and_verify(log, off, leo);

    printf("byte limits, min_one_batch, high watermark, out of range\n");
    struct log_read_result r;
    CHECK(partition_log_read(log, 555, 1, -1, true, &r) == 0);
    CHECK(r.range_count == 1);
    {
        uint8_t hdr[RECORD_BATCH_HEADER_SIZE];
        CHECK(pread(r.ranges[0].fd, hdr, sizeof(hdr), r.ranges[0].position) == (ssize_t)sizeof(hdr));
        struct record_batch_header h;
        CHECK(record_batch_parse_header(hdr, sizeof(hdr), &h) == -1 || 1);
        CHECK_EQ_I64((int64_t)log_load_be64(hdr), 550);
        CHECK_EQ_I64(r.total_bytes, 12 + log_load_be32(hdr + 8));
    }
    log_read_result_release(&r);
    CHECK(partition_log_read(log, 555, 1, -1, false, &r) == 0);
    CHECK(r.total_bytes == 0);
    log_read_result_release(&r);
    CHECK(partition_log_read(log, 0, 1 << 30, 100, false, &r) == 0);
    {
        static uint8_t buf[1 << 20];
        ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
        size_t pos = 0;
        int64_t last = -1;
        while (n > 0 && pos < (size_t)n) {
            struct record_batch_header h;
            record_batch_parse_header(buf + pos, (size_t)n - pos, &h);
            last = h.base_offset + h.last_offset_delta;
            pos += record_batch_total_size(&h);
        }
        CHECK_EQ_I64(last, 99);
    }
    log_read_result_release(&r);
    CHECK(partition_log_read(log, leo, 1000, -1, true, &r) == 0 && r.total_bytes == 0);
    log_read_result_release(&r);
    CHECK(partition_log_read(log, leo + 1, 1000, -1, true, &r) == LOG_ERR_OFFSET_OUT_OF_RANGE);
    log_read_result_release(&r);

    printf("timestamp look-ups\n");
    int64_t off, ts;
    for (int64_t t = 0; t < leo; t += 37) {
        CHECK(partition_log_offset_for_timestamp(log, TS0 + t, &off, &ts) == 0);
        CHECK_EQ_I64(off, t);
        CHECK_EQ_I64(ts, TS0 + t);
    }
    CHECK(partition_log_offset_for_timestamp(log, 5, &off, &ts) == 0);
    CHECK_EQ_I64(off, 0);
    CHECK(partition_log_offset_for_timestamp(log, TS0 + leo + 5, &off, &ts) == 0);
    CHECK_EQ_I64(off, -1);
    CHECK(partition_log_offset_for_timestamp(log, LOG_TIMESTAMP_LATEST, &off, &ts) == 0);
    CHECK_EQ_I64(off, leo);
    CHECK(partition_log_offset_for_timestamp(log, LOG_TIMESTAMP_EARLIEST, &off, &ts) == 0);
    CHECK_EQ_I64(off, 0);
    CHECK(partition_log_offset_for_timestamp(log, LOG_TIMESTAMP_MAX, &off, &ts) == 0);
    CHECK_EQ_I64(off, leo - 1);
    CHECK_EQ_I64(ts, TS0 + leo - 1);

    printf("LogAppendTime and leader epoch\n");
    {
        size_t len;
        uint8_t *b = test_build_batch(3, 0, 10, 10, 5, 0, &len);
        struct log_append_options o = {.now_ms = 1700000000000, .leader_epoch = 3,
                                       .log_append_time = true};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        CHECK_EQ_I64(res.log_append_time, 1700000000000);
        struct record_batch_header h;
        CHECK(record_batch_parse_header(b, len, &h) == 0);
        CHECK(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
        CHECK_EQ_I64(h.max_timestamp, 1700000000000);
        CHECK_EQ_I64(h.partition_leader_epoch, 3);
        CHECK(record_batch_crc_ok(b, len));
        free(b);
        CHECK(partition_log_offset_for_timestamp(log, 1700000000000, &off, &ts) == 0);
        CHECK_EQ_I64(off, leo);
        leo += 3;
        /* The append only changes the cache (an fsync there would stall the
         * loop); the flush writes the file before the recovery point moves. */
        char want[64];
        snprintf(want, sizeof(want), "0\n1\n3 %d\n", BATCHES * PER_BATCH);
        char *text = test_read_text(dir, "leader-epoch-checkpoint");
        CHECK(!text || strcmp(text, want) != 0);
        CHECK_EQ_I64(partition_log_flush(log, test_now_ms()), leo);
        text = test_read_text(dir, "leader-epoch-checkpoint");
        CHECK(text && strcmp(text, want) == 0);
        CHECK_EQ_I64(partition_log_latest_epoch(log), 3);
        int64_t end;
        int32_t ep;
        partition_log_end_offset_for_epoch(log, 3, &end, &ep); /* the latest: the log end */
        CHECK_EQ_I64(ep, 3);
        CHECK_EQ_I64(end, leo);
        partition_log_end_offset_for_epoch(log, 2, &end, &ep); /* below the first known: Kafka keeps it */
        CHECK_EQ_I64(ep, 2);
        CHECK_EQ_I64(end, BATCHES * PER_BATCH);
        partition_log_end_offset_for_epoch(log, 5, &end, &ep); /* above the latest: unknown (Kafka) */
        CHECK_EQ_I64(ep, -1);
        CHECK_EQ_I64(end, -1);
    }

    printf("partition.metadata\n");
    uint8_t id[16], id2[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(i * 17 + 3);
    CHECK(partition_log_set_topic_id(log, id) == 0);
    char idtext[23];
    topic_id_to_string(id, idtext);
    CHECK(strlen(idtext) == 22);
    CHECK(topic_id_from_string(idtext, id2) == 0 && memcmp(id, id2, 16) == 0);

    printf("roll by segment.ms\n");
    size_t before = partition_log_segment_count(log);
    cfg.segment_ms = 0;
    partition_log_set_config(log, &cfg);
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *b = test_build_batch(1, 0, 10, 10, TS0 + leo, 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        free(b);
        leo++;
    }
    CHECK_EQ_I64(partition_log_segment_count(log), before + 3);
    cfg.segment_ms = 604800000;

    printf("clean close and reopen\n");
    partition_log_close(log, true);
    log = open_log(dir, &cfg, true, 0);
    CHECK_EQ_I64(partition_log_end_offset(log), leo);
    CHECK(read_and_verify(log, 0, leo) == BATCHES + 4);
    CHECK(partition_log_offset_for_timestamp(log, TS0 + 777, &off, &ts) == 0);
    CHECK_EQ_I64(off, 777);
    CHECK(partition_log_topic_id(log, id2) && memcmp(id, id2, 16) == 0);
    CHECK_EQ_I64(partition_log_latest_epoch(log), 3);
    partition_log_close(log, false);

    printf("unclean reopen from recovery point 0 re-scans every segment\n");
    log = open_log(dir, &cfg, false, 0);
    CHECK_EQ_I64(partition_log_end_offset(log), leo);
    CHECK(read_and_verify(log, 0, leo) == BATCHES + 4);
    CHECK(partition_log_offset_for_timestamp(log, TS0 + 1234, &off, &ts) == 0);
    CHECK_EQ_I64(off, 1234);
    CHECK_EQ_I64(partition_log_latest_epoch(log), 3);
    partition_log_close(log, true);

    printf("truncate_to (replication): mid-log, then fully\n");
    {
        char tdir[300];
        snprintf(tdir, sizeof(tdir), "%s/t-1", root);
        struct log_config small;
        log_config_defaults(&small);
        small.segment_bytes = 8 * 1024;
        log = open_log(tdir, &small, true, 0);
        for (int i = 0; i < 50; i++) {
            size_t len;
            uint8_t *b = test_build_batch(10, i, 100, 100, TS0 + i * 10, 0, &len);
            struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = i < 25 ? 1 : 2};
            struct log_append_result res;
            CHECK(partition_log_append(log, b, len, &o, &res) == 0);
            free(b);
        }
        size_t segs_before = partition_log_segment_count(log);
        CHECK(partition_log_truncate_to(log, 255, test_now_ms()) == 0);
        CHECK_EQ_I64(partition_log_end_offset(log), 250);
        CHECK(partition_log_segment_count(log) < segs_before);
        CHECK_EQ_I64(partition_log_latest_epoch(log), 1);
        CHECK(read_and_verify(log, 0, 250) == 25);
        CHECK(partition_log_offset_for_timestamp(log, TS0 + 300, &off, &ts) == 0);
        CHECK_EQ_I64(off, -1);
        size_t len;
        uint8_t *b = test_build_batch(10, 0, 100, 100, TS0 + 9999, 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = 3};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        CHECK_EQ_I64(res.base_offset, 250);
        free(b);
        CHECK(read_and_verify(log, 0, 260) == 26);
        partition_log_close(log, true);
        log = open_log(tdir, &small, false, 0);
        CHECK_EQ_I64(partition_log_end_offset(log), 260);
        CHECK(partition_log_truncate_to(log, 0, test_now_ms()) == 0);
        CHECK_EQ_I64(partition_log_end_offset(log), 0);
        CHECK_EQ_I64(partition_log_segment_count(log), 1);
        partition_log_close(log, true);
    }

    check_max_timestamp_offset(root);
    check_find_position(root);
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_basic");
}
