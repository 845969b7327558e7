/*
 * test_log_recovery.c - crash recovery: a torn tail, flipped bytes in the
 * middle of the log (truncated there, later segments dropped, a log line
 * names segment/position/bytes), a zero-filled tail, and index files that are
 * missing or corrupt (rebuilt). Every byte served afterwards passes its CRC.
 * A log whose recovered end lies below its checkpointed start offset (records
 * deleted, then the tail lost) starts over empty at the start offset, so no
 * offset is handed out twice. Index files without their segment are deleted.
 */
#include "log_test_util.h"

#include <fcntl.h>

#include "log/partition_log.h"

static struct log_config cfg;
static char dir[256];
static char stderr_path[300];

static struct partition_log *open_log(bool clean, int64_t rp)
{
    return test_open_log(dir, "r", &cfg, clean, rp);
}

/* Open while capturing stderr; returns what was logged (caller frees). */
static struct partition_log *open_captured(bool clean, int64_t rp, char **logged)
{
    fflush(stderr);
    int saved = dup(2);
    int fd = open(stderr_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    struct partition_log *log = open_log(clean, rp);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    if (pread(fd, text, (size_t)len, 0) != len)
        text[0] = 0;
    close(fd);
    fprintf(stderr, "%s", text); /* keep it visible in the test output */
    *logged = text;
    return log;
}

static void append_batches(struct partition_log *log, int n, int64_t ts0)
{
    for (int i = 0; i < n; i++) {
        size_t len;
        uint8_t *b = test_build_batch(5, i, 100, 200, ts0 + i * 5, 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        free(b);
    }
}

/* Read all from the log start; every batch must pass its CRC; returns end offset. */
static int64_t verify_all(struct partition_log *log)
{
    static uint8_t buf[16 << 20];
    struct log_read_result r;
    int64_t offset = partition_log_start_offset(log), end = partition_log_end_offset(log);
    while (offset < end) {
        CHECK(partition_log_read(log, offset, sizeof(buf), -1, true, &r) == 0);
        ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
        log_read_result_release(&r);
        CHECK(n > 0);
        if (n <= 0)
            return -1;
        size_t pos = 0;
        while (pos < (size_t)n) {
            struct record_batch_header h;
            CHECK(record_batch_parse_header(buf + pos, (size_t)n - pos, &h) == 0);
            CHECK(record_batch_crc_ok(buf + pos, record_batch_total_size(&h)));
            CHECK(record_batch_validate(buf + pos, record_batch_total_size(&h)) == 0);
            CHECK(h.base_offset <= offset || h.base_offset == offset);
            offset = h.base_offset + h.last_offset_delta + 1;
            pos += record_batch_total_size(&h);
        }
    }
    return offset;
}

static off_t file_size(const char *name)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void modify(const char *name, off_t pos, const void *bytes, size_t n, off_t truncate_to)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    if (bytes)
        CHECK(pwrite(fd, bytes, n, pos) == (ssize_t)n);
    if (truncate_to >= 0)
        CHECK(ftruncate(fd, truncate_to) == 0);
    close(fd);
}

/* Base offsets of the segment files, via the directory listing. */
static int segment_names(char names[][32], int max)
{
    int n = 0;
    for (int64_t base = 0; base < 100000 && n < max; base++) {
        char name[32];
        snprintf(name, sizeof(name), "%020" PRId64 ".log", base);
        if (file_size(name) >= 0)
            snprintf(names[n++], 32, "%s", name);
    }
    return n;
}

int main(void)
{
    char *root = test_make_dir("logrecovery");
    snprintf(dir, sizeof(dir), "%s/r-0", root);
    snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.txt", root);
    log_config_defaults(&cfg);
    cfg.segment_bytes = 32 * 1024;
    cfg.index_interval_bytes = 2048;

    struct partition_log *log = open_log(true, 0);
    append_batches(log, 100, 1000);
    int64_t leo = partition_log_end_offset(log);
    CHECK_EQ_I64(leo, 500);
    CHECK(partition_log_segment_count(log) >= 4);
    partition_log_close(log, false); /* crash: no seal, no checkpoint */

    char names[16][32];
    int nseg = segment_names(names, 16);
    printf("%d segments written\n", nseg);
    const char *last = names[nseg - 1];

    printf("torn tail: cut 30 bytes off the active segment\n");
    off_t size = file_size(last);
    modify(last, 0, NULL, 0, size - 30);
    char *logged;
    log = open_captured(false, 0, &logged);
    CHECK(strstr(logged, "Truncating segment") != NULL);
    CHECK(strstr(logged, last) != NULL);
    CHECK(strstr(logged, "bytes removed") != NULL);
    free(logged);
    CHECK_EQ_I64(partition_log_end_offset(log), 495);
    CHECK_EQ_I64(verify_all(log), 495);
    append_batches(log, 1, 5000); /* the log continues where the good data ends */
    CHECK_EQ_I64(partition_log_end_offset(log), 500);
    CHECK_EQ_I64(verify_all(log), 500);
    partition_log_close(log, false);

    printf("flipped bytes in the middle of the second segment\n");
    off_t mid = file_size(names[1]) / 2;
    uint8_t junk[4] = {0xde, 0xad, 0xbe, 0xef};
    modify(names[1], mid, junk, sizeof(junk), -1);
    log = open_captured(false, 0, &logged);
    CHECK(strstr(logged, names[1]) != NULL);
    CHECK(strstr(logged, "CRC-32C mismatch") != NULL || strstr(logged, "invalid") != NULL);
    CHECK(strstr(logged, "follows a truncated segment") != NULL);
    free(logged);
    int64_t end = partition_log_end_offset(log);
    printf("log end after the cut: %" PRId64 "\n", end);
    CHECK(end > 0 && end < 500);
    CHECK(file_size(names[nseg - 1]) < 0 || nseg <= 2); /* later segments are gone */
    CHECK_EQ_I64(verify_all(log), end);
    partition_log_close(log, true);

    printf("zero-filled tail (pre-allocated or lost data) is cut\n");
    nseg = segment_names(names, 16);
    last = names[nseg - 1];
    size = file_size(last);
    {
        uint8_t zeros[4096] = {0};
        modify(last, size, zeros, sizeof(zeros), -1);
    }
    log = open_captured(false, end, &logged);
    CHECK(strstr(logged, "4096 bytes removed") != NULL);
    free(logged);
    CHECK_EQ_I64(partition_log_end_offset(log), end);
    CHECK_EQ_I64(file_size(last), size);
    partition_log_close(log, true);

    printf("missing and corrupt index files are rebuilt\n");
    char idx[64], tidx[64];
    snprintf(idx, sizeof(idx), "%.20s.index", names[0]);
    snprintf(tidx, sizeof(tidx), "%.20s.timeindex", names[0]);
    off_t idx_size = file_size(idx);
    CHECK(idx_size > 0);
    {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, idx);
        unlink(path);
        uint8_t garbage[24];
        memset(garbage, 0x7f, sizeof(garbage));
        modify(tidx, 0, garbage, sizeof(garbage), -1);
    }
    log = open_captured(true, end, &logged);
    CHECK(strstr(logged, "Rebuilding indexes") != NULL);
    free(logged);
    CHECK_EQ_I64(file_size(idx), idx_size);
    CHECK(file_size(tidx) % 12 == 0);
    int64_t off, ts;
    CHECK(partition_log_offset_for_timestamp(log, 1000 + 42, &off, &ts) == 0);
    CHECK_EQ_I64(off, 42);
    CHECK_EQ_I64(verify_all(log), end);
    partition_log_close(log, true);

    printf("an index entry that points past the log is caught\n");
    {
        uint8_t bad[8] = {0, 0, 0, 1, 0x7f, 0, 0, 0};
        modify(idx, idx_size, bad, sizeof(bad), -1);
    }
    log = open_captured(true, end, &logged);
    CHECK(strstr(logged, "Rebuilding indexes") != NULL);
    free(logged);
    CHECK_EQ_I64(file_size(idx), idx_size);
    CHECK_EQ_I64(verify_all(log), end);
    partition_log_close(log, true);

    printf("index files whose segment is gone (a crash mid-delete) are deleted\n");
    {
        uint8_t entry[8] = {0};
        char path[1024];
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof(path), "%s/%020" PRId64 "%s", dir, end + 50, k ? ".timeindex" : ".index");
            int fd = open(path, O_RDWR | O_CREAT, 0644);
            CHECK(fd >= 0 && write(fd, entry, sizeof entry) == (ssize_t)sizeof entry);
            close(fd);
        }
        log = open_captured(true, end, &logged);
        CHECK(strstr(logged, "its segment is gone") != NULL);
        free(logged);
        char orphan[32];
        snprintf(orphan, sizeof orphan, "%020" PRId64 ".index", end + 50);
        CHECK(file_size(orphan) < 0 && file_size(idx) == idx_size);
        partition_log_close(log, true);
    }

    printf("a log end below the checkpointed log start offset: start over at the start offset\n");
    {
        struct partition_log_open_args a = {.dir = dir, .topic = "r", .partition = 0, .config = &cfg,
                                            .recovery_point = 0, .log_start_offset = end + 100,
                                            .now_ms = test_now_ms()};
        CHECK(partition_log_open(&a, &log) == 0);
        CHECK_EQ_I64(partition_log_start_offset(log), end + 100);
        CHECK_EQ_I64(partition_log_end_offset(log), end + 100);
        CHECK_EQ_I64(partition_log_segment_count(log), 1);
        append_batches(log, 1, 7000);
        struct log_read_result r;
        CHECK(partition_log_read(log, end + 100, 1 << 20, -1, true, &r) == 0 && r.total_bytes > 0);
        log_read_result_release(&r);
        CHECK_EQ_I64(verify_all(log), end + 105);
        partition_log_close(log, true);
        char name[32];
        snprintf(name, sizeof name, "%020" PRId64 ".log", end + 100);
        CHECK(file_size(name) > 0 && file_size(names[0]) < 0);
    }

    test_rm_rf(root);
    free(root);
    return test_finish("test_log_recovery");
}
