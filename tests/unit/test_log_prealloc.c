/*
 * test_log_prealloc.c - segment preallocation (preallocate, Eddy's default):
 * once the active segment is half full, the flusher's pass prepares the next
 * segment's file with its blocks allocated and its size still 0; the roll
 * renames it into place, so the new segment's appends land in blocks that
 * exist; the flush after the roll gives back what a segment that is no
 * longer active did not use (a roll by time leaves most of it). Nothing is
 * prepared while the active segment is less than half full or with
 * preallocate=false; a close removes an unused prepared file, start-up
 * removes one a crash left behind, the records survive a crash and a
 * recovery scan, and the active segment's blocks a crash left allocated
 * ahead are given back when it rolls.
 */
#include "log_test_util.h"

#include <fcntl.h>

#include "log/log_segment.h"
#include "log/partition_log_internal.h"

#define MIB (1u << 20)
#define SEGMENT_BYTES (4 * MIB)
#define PREPARED "next-segment.log.tmp"

static void append_kib(struct partition_log *log, size_t kib)
{
    static int key_base;
    size_t appended = 0;
    while (appended < kib * 1024) {
        size_t len;
        uint8_t *b = test_build_batch(60, key_base++, 1000, 1000, test_now_ms(), 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        appended += len;
        free(b);
    }
}

/* st_size and allocated bytes of dir/name; false if it does not exist. */
static bool file_space(const char *dir, const char *name, int64_t *size, int64_t *allocated)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return false;
    *size = st.st_size;
    *allocated = (int64_t)st.st_blocks * 512;
    return true;
}

static bool segment_space(const char *dir, int64_t base, int64_t *size, int64_t *allocated)
{
    char name[64];
    snprintf(name, sizeof name, "%020" PRId64 ".log", base);
    return file_space(dir, name, size, allocated);
}

static struct partition_log *open_log(const char *dir, bool preallocate)
{
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = SEGMENT_BYTES;
    cfg.preallocate = preallocate;
    return test_open_log(dir, "t", &cfg, true, 0);
}

/* Fill the active segment past half, prepare, then append until it rolls. */
static int64_t roll_into_prepared(const char *dir, struct partition_log *log)
{
    int64_t size, allocated;
    append_kib(log, SEGMENT_BYTES / 1024 / 2 + 64);
    partition_log_prepare_next_segment(log, test_now_ms());
    CHECK(file_space(dir, PREPARED, &size, &allocated));
    CHECK_EQ_I64(size, 0);
    CHECK(allocated >= (int64_t)SEGMENT_BYTES);
    size_t segments = partition_log_segment_count(log);
    int64_t base = -1;
    while (partition_log_segment_count(log) == segments) {
        base = partition_log_end_offset(log); /* where a roll before this append starts */
        append_kib(log, 1);
    }
    CHECK(!file_space(dir, PREPARED, &size, &allocated));
    return base;
}

static void test_roll_uses_prepared_file(const char *dir)
{
    struct partition_log *log = open_log(dir, true);
    int64_t size, allocated;
    append_kib(log, 512);
    partition_log_prepare_next_segment(log, test_now_ms());
    CHECK(!file_space(dir, PREPARED, &size, &allocated)); /* less than half full */

    int64_t second = roll_into_prepared(dir, log);
    CHECK(segment_space(dir, second, &size, &allocated));
    CHECK(size > 0 && size < (int64_t)SEGMENT_BYTES);
    CHECK(allocated >= (int64_t)SEGMENT_BYTES); /* appends land in blocks allocated ahead */
    printf("the roll renamed the prepared file into place: %" PRId64 " bytes of data in %" PRId64
           " allocated\n", size, allocated);

    int64_t third = roll_into_prepared(dir, log);
    CHECK(third > second);
    CHECK(partition_log_flush(log, test_now_ms()) >= 0);
    CHECK(segment_space(dir, second, &size, &allocated));
    CHECK(allocated < size + 64 * 1024); /* the rolled segment gave back what it did not use */
    CHECK(segment_space(dir, third, &size, &allocated));
    CHECK(allocated >= (int64_t)SEGMENT_BYTES);

    /* A crash, then recovery scans every batch (CRC, offsets) of every segment. */
    int64_t end = partition_log_end_offset(log);
    partition_log_close(log, false);
    struct log_config cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = SEGMENT_BYTES;
    log = test_open_log(dir, "t", &cfg, false, 0);
    CHECK_EQ_I64(partition_log_end_offset(log), end);
    printf("after a crash, recovery finds all %" PRId64 " records\n", end);
    /* The blocks the crash left allocated ahead are given back once that segment rolls. */
    CHECK(partition_log_roll(log, test_now_ms()) == 0);
    CHECK(partition_log_flush(log, test_now_ms()) >= 0);
    CHECK(segment_space(dir, third, &size, &allocated));
    CHECK(size > 0 && allocated < size + 64 * 1024);
    partition_log_close(log, true);
}

static void test_roll_by_time_is_trimmed(const char *dir)
{
    struct partition_log *log = open_log(dir, true);
    int64_t size, allocated;
    int64_t base = roll_into_prepared(dir, log);
    append_kib(log, 64);
    CHECK(partition_log_roll(log, test_now_ms()) == 0); /* as segment.ms would */
    CHECK(partition_log_flush(log, test_now_ms()) >= 0);
    CHECK(segment_space(dir, base, &size, &allocated));
    CHECK(size > 0 && allocated < size + 64 * 1024);
    printf("a segment rolled early keeps %" PRId64 " allocated bytes for %" PRId64 " of data\n",
           allocated, size);
    partition_log_close(log, true);
}

static void test_off_and_leftovers(const char *dir)
{
    int64_t size, allocated;
    struct partition_log *log = open_log(dir, false);
    append_kib(log, SEGMENT_BYTES / 1024 / 2 + 64);
    partition_log_prepare_next_segment(log, test_now_ms());
    CHECK(!file_space(dir, PREPARED, &size, &allocated));
    partition_log_close(log, true);

    log = open_log(dir, true);
    partition_log_prepare_next_segment(log, test_now_ms());
    CHECK(file_space(dir, PREPARED, &size, &allocated));
    partition_log_close(log, true);
    CHECK(!file_space(dir, PREPARED, &size, &allocated)); /* a close removes it */

    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, PREPARED);
    int fd = open(path, O_CREAT | O_WRONLY, 0644); /* as a crash leaves it */
    CHECK(fd >= 0 && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, MIB) == 0);
    close(fd);
    log = open_log(dir, true);
    CHECK(!file_space(dir, PREPARED, &size, &allocated)); /* start-up removes it */
    partition_log_close(log, true);
    printf("preallocate=false prepares nothing; close and start-up remove a prepared file\n");
}

int main(void)
{
    char *root = test_make_dir("logprealloc");
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/t-0", root);
    test_roll_uses_prepared_file(dir);
    snprintf(dir, sizeof(dir), "%s/u-0", root);
    test_roll_by_time_is_trimmed(dir);
    snprintf(dir, sizeof(dir), "%s/v-0", root);
    test_off_and_leftovers(dir);
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_prealloc");
}
