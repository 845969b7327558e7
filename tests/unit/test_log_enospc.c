/*
 * test_log_enospc.c - disk trouble: appends on a 1 MiB tmpfs until the disk
 * is full. The failing append returns KAFKA_STORAGE_ERROR, the partition goes
 * offline (appends and reads refused), the partial write is cut back, and a
 * re-open finds exactly the acknowledged batches, all intact. An injected EIO
 * takes a partition offline the same way. Without permission to mount, the
 * tmpfs part is skipped (reported) and only the injected errors run.
 */
#include "log_test_util.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include "log/partition_log.h"

static struct partition_log *open_log(const char *dir, bool clean)
{
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = 64 << 20;
    struct partition_log_open_args a = {.dir = dir, .topic = "full", .partition = 0,
                                        .config = &cfg, .clean_shutdown = clean,
                                        .now_ms = test_now_ms()};
    struct partition_log *log = NULL;
    int rc = partition_log_open(&a, &log);
    if (rc != 0) {
        fprintf(stderr, "open %s: %s\n", dir, strerror(-rc));
        exit(2);
    }
    return log;
}

static int append_one(struct partition_log *log, int i)
{
    size_t len;
    uint8_t *b = test_build_batch(16, i, 1000, 1000, test_now_ms(), 0, &len);
    struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
    struct log_append_result res;
    int rc = partition_log_append(log, b, len, &o, &res);
    free(b);
    return rc;
}

static void verify_intact(struct partition_log *log, int64_t expect_end)
{
    static uint8_t buf[4 << 20];
    struct log_read_result r;
    CHECK(partition_log_read(log, 0, sizeof(buf), -1, true, &r) == 0);
    ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
    log_read_result_release(&r);
    size_t pos = 0;
    int64_t next = 0;
    while (n > 0 && pos < (size_t)n) {
        struct record_batch_header h;
        CHECK(record_batch_parse_header(buf + pos, (size_t)n - pos, &h) == 0);
        CHECK(record_batch_crc_ok(buf + pos, record_batch_total_size(&h)));
        CHECK_EQ_I64(h.base_offset, next);
        next = h.base_offset + h.last_offset_delta + 1;
        pos += record_batch_total_size(&h);
    }
    CHECK_EQ_I64(next, expect_end);
}

static void test_tmpfs(const char *root)
{
    char mnt[512], dir[600], ballast[600];
    snprintf(mnt, sizeof(mnt), "%s/mnt", root);
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        printf("SKIP tmpfs ENOSPC part: mount: %s\n", strerror(errno));
        return;
    }
    snprintf(dir, sizeof(dir), "%s/full-0", mnt);
    snprintf(ballast, sizeof(ballast), "%s/ballast", mnt);
    FILE *f = fopen(ballast, "w");
    static char zeros[128 * 1024];
    fwrite(zeros, 1, sizeof(zeros), f);
    fclose(f);

    printf("append 16 KiB batches to a 1 MiB tmpfs until it is full\n");
    struct partition_log *log = open_log(dir, true);
    int ok = 0, rc = 0;
    for (int i = 0; i < 1000; i++) {
        rc = append_one(log, i);
        if (rc != 0)
            break;
        ok++;
    }
    printf("  %d batches acknowledged, then error %d\n", ok, rc);
    CHECK(rc == LOG_ERR_KAFKA_STORAGE_ERROR);
    CHECK(ok > 10 && ok < 1000);
    CHECK(partition_log_is_offline(log));
    CHECK(append_one(log, 0) == LOG_ERR_KAFKA_STORAGE_ERROR);
    struct log_read_result r;
    CHECK(partition_log_read(log, 0, 1000, -1, true, &r) == LOG_ERR_KAFKA_STORAGE_ERROR);
    log_read_result_release(&r);
    CHECK_EQ_I64(partition_log_end_offset(log), ok * 16);
    partition_log_close(log, false);

    printf("re-open after freeing space: exactly the acknowledged batches, no cut needed\n");
    unlink(ballast);
    log = open_log(dir, false);
    CHECK_EQ_I64(partition_log_end_offset(log), ok * 16);
    verify_intact(log, ok * 16);
    CHECK(append_one(log, 0) == 0);
    partition_log_close(log, true);
    CHECK(umount(mnt) == 0);
}

static void test_injected(const char *root)
{
    printf("injected EIO on append takes the partition offline, data intact\n");
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/eio-0", root);
    struct partition_log *log = open_log(dir, true);
    for (int i = 0; i < 5; i++)
        CHECK(append_one(log, i) == 0);
    partition_log_inject_write_error(log, -EIO);
    CHECK(append_one(log, 5) == LOG_ERR_KAFKA_STORAGE_ERROR);
    CHECK(partition_log_is_offline(log));
    CHECK(partition_log_flush(log, test_now_ms()) < 0);
    partition_log_close(log, false);
    log = open_log(dir, false);
    CHECK(!partition_log_is_offline(log));
    verify_intact(log, 80);
    partition_log_close(log, true);
}

static void test_fsync_error(const char *root)
{
    printf("an fdatasync error takes the partition offline too\n");
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/fsync-0", root);
    struct partition_log *log = open_log(dir, true);
    for (int i = 0; i < 3; i++)
        CHECK(append_one(log, i) == 0);
    partition_log_inject_write_error(log, -EIO);
    CHECK(partition_log_flush(log, test_now_ms()) == -EIO);
    CHECK(partition_log_is_offline(log));
    CHECK(partition_log_recovery_point(log) == 0);
    CHECK(append_one(log, 3) == LOG_ERR_KAFKA_STORAGE_ERROR);
    partition_log_close(log, false);
}

static void test_side_file_error(const char *root)
{
    printf("a leader-epoch checkpoint that cannot be written: the flush fails, close is not clean\n");
    char dir[600], path[700];
    snprintf(dir, sizeof(dir), "%s/side-0", root);
    struct partition_log *log = open_log(dir, true);
    snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", dir);
    CHECK(mkdir(path, 0755) == 0); /* a directory where the file goes: the rename over it fails */
    size_t len;
    uint8_t *b = test_build_batch(4, 0, 10, 100, test_now_ms(), 0, &len);
    struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = 1};
    struct log_append_result res;
    CHECK(partition_log_append(log, b, len, &o, &res) == 0); /* the append itself does not touch the file */
    free(b);
    CHECK(partition_log_flush(log, test_now_ms()) < 0);
    CHECK(partition_log_recovery_point(log) == 0);
    CHECK(!partition_log_close(log, true));

    snprintf(dir, sizeof(dir), "%s/side-1", root);
    log = open_log(dir, true);
    CHECK(append_one(log, 0) == 0);
    CHECK(partition_log_close(log, true));
}

int main(void)
{
    char *root = test_make_dir("logenospc");
    test_tmpfs(root);
    test_injected(root);
    test_fsync_error(root);
    test_side_file_error(root);
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_enospc");
}
