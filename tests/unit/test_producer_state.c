/*
 * test_producer_state.c - idempotent producers' state across a restart: a
 * retried batch is recognised from the state rebuilt out of the snapshot
 * and the log after it; a periodic (not fsynced) snapshot keeps the one
 * before it, and an unreadable newest snapshot falls back to that one. A log
 * with no snapshot is replayed after a crash, and starts empty after a clean
 * shutdown (as Kafka: no reading the whole log); close always snapshots.
 */
#include "log_test_util.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "log/partition_log.h"
#include "log/producer_state.h"

#define PID 4242

/* Append `count` records of producer PID starting at `sequence`; record them in ps. */
static struct producer_batch_info append_producer_batch(struct partition_log *log, struct producer_state *ps,
                                                        int count, int32_t sequence)
{
    size_t len;
    uint8_t *b = test_build_batch(count, 0, 10, 20, test_now_ms(), 0, &len);
    struct record_batch_header h;
    CHECK(record_batch_parse_header(b, len, &h) == 0);
    /* producerId (offset 43), producerEpoch (51), baseSequence (53): big-endian. */
    int64_t pid = PID;
    for (int i = 0; i < 8; i++)
        b[43 + i] = (uint8_t)(pid >> (56 - 8 * i));
    b[51] = 0;
    b[52] = 0;
    for (int i = 0; i < 4; i++)
        b[53 + i] = (uint8_t)((uint32_t)sequence >> (24 - 8 * i));
    record_batch_update_crc(b, len);
    struct producer_batch_info info = {PID, 0, sequence, sequence + count - 1, false};
    struct producer_duplicate dup;
    CHECK(producer_state_check(ps, &info, &dup) == 0);
    struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = 0};
    struct log_append_result res;
    CHECK(partition_log_append(log, b, len, &o, &res) == 0);
    producer_state_update(ps, &info, res.base_offset, res.last_offset, test_now_ms());
    free(b);
    return info;
}

static bool snapshot_exists(const char *dir, int64_t offset)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%020lld.snapshot", dir, (long long)offset);
    struct stat st;
    return stat(path, &st) == 0;
}

static void remove_snapshots(const char *dir, int64_t up_to)
{
    char path[600];
    for (int64_t offset = 0; offset <= up_to; offset++) {
        snprintf(path, sizeof path, "%s/%020lld.snapshot", dir, (long long)offset);
        unlink(path);
    }
}

static void test_no_snapshot(const char *dir)
{
    char path[600];
    struct log_config cfg;
    log_config_defaults(&cfg);
    struct partition_log *log = test_open_log(dir, "q", &cfg, true, 0);
    struct producer_state *ps;
    CHECK(producer_state_open(log, &ps) == 0);
    append_producer_batch(log, ps, 5, 0);
    struct producer_batch_info second = append_producer_batch(log, ps, 5, 5);
    producer_state_close(ps);
    CHECK(snapshot_exists(dir, 10));
    partition_log_close(log, true);
    remove_snapshots(dir, 10); /* as an older version left a log with no producer snapshot */

    printf("no snapshot after a crash: the state is rebuilt from the log\n");
    log = test_open_log(dir, "q", &cfg, false, 0);
    CHECK(producer_state_open(log, &ps) == 0);
    struct producer_duplicate dup = {-1, -1, -1};
    CHECK(producer_state_check(ps, &second, &dup) == PRODUCER_DUPLICATE);
    CHECK_EQ_I64(dup.base_offset, 5);
    producer_state_close(ps);
    partition_log_close(log, true);
    remove_snapshots(dir, 10);

    printf("no snapshot after a clean shutdown: no replay, a snapshot at the end instead\n");
    log = test_open_log(dir, "q", &cfg, true, 0);
    CHECK(producer_state_open(log, &ps) == 0);
    CHECK(producer_state_check(ps, &second, &dup) != PRODUCER_DUPLICATE);
    CHECK(snapshot_exists(dir, 10));
    producer_state_close(ps);
    partition_log_close(log, true);

    printf("close snapshots a log with no producers\n");
    snprintf(path, sizeof path, "%s-plain", dir);
    log = test_open_log(path, "q", &cfg, true, 0);
    CHECK(producer_state_open(log, &ps) == 0);
    size_t len;
    uint8_t *b = test_build_batch(7, 0, 10, 20, test_now_ms(), 0, &len);
    struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = 0};
    struct log_append_result res;
    CHECK(partition_log_append(log, b, len, &o, &res) == 0);
    free(b);
    producer_state_close(ps);
    CHECK(snapshot_exists(path, 7));
    partition_log_close(log, true);
}

/* As Kafka since KIP-360: a producer with no state here may start at any
 * sequence; producer.id.expiration.ms forgets idle producers. */
static void test_unknown_and_expired(const char *dir)
{
    printf("an unknown producer may start at any sequence (at 0 on a never-written partition); "
           "idle producers expire\n");
    struct log_config cfg;
    log_config_defaults(&cfg);
    struct partition_log *log = test_open_log(dir, "x", &cfg, true, 0);
    struct producer_state *ps;
    CHECK(producer_state_open(log, &ps) == 0);
    struct producer_batch_info unknown = {PID + 1, 0, 5, 9, false};
    struct producer_duplicate dup;
    CHECK(producer_state_check(ps, &unknown, &dup) == 45); /* KAFKA-15591 */
    append_producer_batch(log, ps, 5, 0);
    CHECK(producer_state_check(ps, &unknown, &dup) == 0);
    struct producer_batch_info gap = {PID, 0, 7, 7, false};
    CHECK(producer_state_check(ps, &gap, &dup) == 45);
    CHECK(producer_state_expire(ps, test_now_ms(), 60000) == 0);
    CHECK(producer_state_expire(ps, test_now_ms() + 60001, 60000) == 1);
    CHECK(producer_state_check(ps, &gap, &dup) == 0);
    producer_state_close(ps);
    partition_log_close(log, true);
}

/* A duplicate is answered with the original batch's stored timestamp (its
 * LogAppendTime on such a topic); after a restart only the newest batch's
 * is known, as Kafka's snapshots keep only that one. */
static void test_duplicate_timestamps(const char *dir)
{
    printf("a duplicate carries its original's timestamp\n");
    struct log_config cfg;
    log_config_defaults(&cfg);
    struct partition_log *log = test_open_log(dir, "t", &cfg, true, 0);
    struct producer_state *ps;
    CHECK(producer_state_open(log, &ps) == 0);
    struct producer_batch_info first = {PID, 0, 0, 4, false}, second = {PID, 0, 5, 9, false};
    producer_state_update(ps, &first, 0, 4, 1000);
    producer_state_update(ps, &second, 5, 9, 2000);
    struct producer_duplicate dup = {-1, -1, -1};
    CHECK(producer_state_check(ps, &first, &dup) == PRODUCER_DUPLICATE);
    CHECK_EQ_I64(dup.timestamp, 1000);
    CHECK(producer_state_check(ps, &second, &dup) == PRODUCER_DUPLICATE);
    CHECK_EQ_I64(dup.timestamp, 2000);
    CHECK_EQ_I64(dup.base_offset, 5);
    CHECK(producer_state_snapshot(ps, true) == 0);
    producer_state_close(ps);

    struct producer_state *again;
    CHECK(producer_state_open(log, &again) == 0);
    CHECK(producer_state_check(again, &second, &dup) == PRODUCER_DUPLICATE);
    CHECK_EQ_I64(dup.timestamp, 2000);
    CHECK(producer_state_check(again, &first, &dup) == PRODUCER_DUPLICATE);
    CHECK_EQ_I64(dup.timestamp, -1);
    producer_state_close(again);
    partition_log_close(log, true);
}

int main(void)
{
    char *root = test_make_dir("producerstate");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/p-0", root);
    struct log_config cfg;
    log_config_defaults(&cfg);
    struct partition_log *log = test_open_log(dir, "p", &cfg, true, 0);

    printf("periodic snapshots keep the one before; an unreadable newest falls back to it\n");
    struct producer_state *ps;
    CHECK(producer_state_open(log, &ps) == 0);
    append_producer_batch(log, ps, 5, 0);
    CHECK(producer_state_snapshot(ps, true) == 0); /* at offset 5 */
    struct producer_batch_info second = append_producer_batch(log, ps, 5, 5);
    CHECK(producer_state_snapshot(ps, false) == 0); /* at offset 10, not fsynced */
    CHECK(snapshot_exists(dir, 5) && snapshot_exists(dir, 10));

    /* A power loss left the unsynced snapshot empty; "restart": a fresh state over the log. */
    char path[600];
    snprintf(path, sizeof path, "%s/%020d.snapshot", dir, 10);
    CHECK(truncate(path, 0) == 0);
    struct producer_state *again;
    CHECK(producer_state_open(log, &again) == 0);
    struct producer_duplicate dup = {-1, -1, -1};
    CHECK(producer_state_check(again, &second, &dup) == PRODUCER_DUPLICATE);
    CHECK_EQ_I64(dup.base_offset, 5);
    CHECK_EQ_I64(dup.last_offset, 9);
    struct producer_batch_info next = {PID, 0, 10, 14, false};
    CHECK(producer_state_check(again, &next, &dup) == 0);

    printf("a durable snapshot is the only one kept\n");
    CHECK(producer_state_snapshot(again, true) == 0);
    CHECK(snapshot_exists(dir, 10) && !snapshot_exists(dir, 5));

    producer_state_close(again);
    producer_state_close(ps);
    partition_log_close(log, true);

    snprintf(dir, sizeof dir, "%s/q-0", root);
    test_no_snapshot(dir);
    snprintf(dir, sizeof dir, "%s/x-0", root);
    test_unknown_and_expired(dir);
    snprintf(dir, sizeof dir, "%s/t-0", root);
    test_duplicate_timestamps(dir);
    test_rm_rf(root);
    free(root);
    return test_finish("test_producer_state");
}
