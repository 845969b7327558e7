/*
 * test_log_manager.c - the log manager and the flusher: partitions spread
 * over two log dirs, group commit reported through the durable callback,
 * clean shutdown (marker + Kafka-format checkpoints), reopen, recovery when
 * the marker is missing, retention by time and by size (never the active
 * segment), DeleteRecords persisted in log-start-offset-checkpoint (never
 * overwritten with an older value by a concurrent checkpoint writer), and
 * partition deletion (rename to -delete, removed in the background),
 * partitions made on the creator thread (installed, cancelled, kept at close),
 * and a flush still running when its partition is deleted and made again
 * (it must not write the old topic's files into the new directory).
 */
#include "log_test_util.h"

#include <pthread.h>
#include <stdatomic.h>

#include "log/log_manager.h"

static char dirs[2][256];
static const char *dir_list[2] = {dirs[0], dirs[1]};
static atomic_llong durable_seen;
static atomic_int durable_calls;

static void on_durable(void *ctx, struct partition_log *log, int64_t durable, int error)
{
    (void)ctx;
    (void)log;
    if (error == 0 && durable > atomic_load(&durable_seen))
        atomic_store(&durable_seen, durable);
    atomic_fetch_add(&durable_calls, 1);
}

static struct log_manager *open_mgr(void)
{
    struct log_manager_config c;
    log_manager_config_defaults(&c);
    c.log_dirs = dir_list;
    c.log_dir_count = 2;
    c.defaults.segment_bytes = 16 * 1024;
    c.on_durable = on_durable;
    c.retention_check_interval_ms = 3600000;
    c.cleaner_backoff_ms = 100;
    struct log_manager *mgr = NULL;
    int rc = log_manager_open(&c, &mgr);
    if (rc != 0) {
        fprintf(stderr, "log_manager_open: %s\n", strerror(-rc));
        exit(2);
    }
    return mgr;
}

/* The offset of "orders 0" in d0's log-start-offset-checkpoint, or -1. */
static int64_t checkpointed_start(void)
{
    char *text = test_read_text(dirs[0], "log-start-offset-checkpoint");
    const char *line = text ? strstr(text, "orders 0 ") : NULL;
    return line ? strtoll(line + 9, NULL, 10) : -1; /* text is static */
}

struct checkpoint_writer {
    struct log_manager *mgr;
    atomic_bool stop;
};

static void *write_checkpoints_until_stopped(void *arg)
{
    struct checkpoint_writer *w = arg;
    while (!atomic_load(&w->stop))
        log_manager_write_checkpoints(w->mgr);
    return NULL;
}

/* DeleteRecords one offset at a time while another thread rewrites every
 * checkpoint: the file never holds less than what was persisted before.
 * (The race this guards against, a writer reading offsets before another
 * writes newer ones and writing last, has a narrow window with this few
 * partitions; the fix reads the offsets under the checkpoint lock.) */
static void test_start_offset_never_goes_back(struct log_manager *mgr, struct partition_log *log, int moves)
{
    struct checkpoint_writer w = {.mgr = mgr};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, write_checkpoints_until_stopped, &w) == 0);
    int64_t start = partition_log_start_offset(log), persisted = start, low;
    int backwards = 0;
    for (int i = 0; i < moves && start + 1 < partition_log_high_watermark(log); i++) {
        CHECK(partition_log_delete_records(log, ++start, &low) == 0);
        CHECK(log_manager_persist_start_offsets(mgr) == 0);
        int64_t in_file = checkpointed_start();
        if (in_file < persisted)
            backwards++;
        persisted = start;
    }
    atomic_store(&w.stop, true);
    pthread_join(thread, NULL);
    printf("  %d moves beside a concurrent checkpoint writer: %d seen going back\n", moves, backwards);
    CHECK(backwards == 0);
    CHECK_EQ_I64(checkpointed_start(), start);
}

static void append_n(struct partition_log *log, int batches, int64_t ts0)
{
    for (int i = 0; i < batches; i++) {
        size_t len;
        uint8_t *b = test_build_batch(10, i, 100, 100, ts0 + i * 10, 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
        struct log_append_result res;
        CHECK(partition_log_append(log, b, len, &o, &res) == 0);
        free(b);
    }
}

static bool exists(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* ---- creation and deletion on the log-directory thread ---- */

static void wait_removed(struct log_manager *mgr, const char *topic)
{
    for (int i = 0; i < 1000 && log_manager_removing(mgr, topic) > 0; i++)
        usleep(2000);
    CHECK_EQ_I64((int64_t)log_manager_removing(mgr, topic), 0);
}

static atomic_int created_calls;

static void on_created(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&created_calls, 1);
}

static bool adopt_unless_doomed(void *ctx, struct partition_log *log)
{
    (void)ctx;
    return strcmp(partition_log_topic(log), "doomed") != 0;
}

/* Install what the creator has finished until `topic` has nothing in the making. */
static size_t install_all(struct log_manager *mgr, const char *topic)
{
    size_t installed = 0;
    for (int i = 0; i < 1000 && (log_manager_creating(mgr, topic) > 0 || installed == 0); i++) {
        installed += log_manager_install_created(mgr, adopt_unless_doomed, NULL);
        if (log_manager_creating(mgr, topic) > 0)
            usleep(2000);
    }
    return installed;
}

/* Log dirs "<root>/<name>0", "<root>/<name>1", ... for a manager's config. */
struct test_dirs {
    char path[2][300];
    const char *list[2];
};

/* Defaults over `count` (1 or 2) such dirs; `later`: with creation on the log-directory thread. */
static void test_config(struct log_manager_config *c, struct test_dirs *d, const char *root, const char *name,
                        size_t count, bool later)
{
    for (size_t i = 0; i < count; i++) {
        snprintf(d->path[i], sizeof d->path[i], "%s/%s%zu", root, name, i);
        d->list[i] = d->path[i];
    }
    log_manager_config_defaults(c);
    c->log_dirs = d->list;
    c->log_dir_count = count;
    c->on_durable = on_durable;
    c->on_created = later ? on_created : NULL;
}

static void test_create_later(const char *root)
{
    printf("create later: the creator thread makes the logs, the caller installs them\n");
    struct test_dirs later;
    struct log_manager_config c;
    test_config(&c, &later, root, "later", 2, true);
    struct log_manager *mgr = NULL;
    CHECK(log_manager_open(&c, &mgr) == 0);
    if (!mgr)
        return;
    uint8_t id[16] = {9};
    for (int i = 0; i < 40; i++)
        CHECK(log_manager_create_later(mgr, "wide", i, id, NULL) == 0);
    CHECK(log_manager_get(mgr, "wide", 0) == NULL || log_manager_creating(mgr, "wide") < 40);
    CHECK_EQ_I64((int64_t)install_all(mgr, "wide"), 40);
    CHECK(atomic_load(&created_calls) >= 1);
    CHECK_EQ_I64((int64_t)log_manager_creating(mgr, NULL), 0);
    struct partition_log *last = log_manager_get(mgr, "wide", 39);
    CHECK(last != NULL);
    uint8_t got[16];
    CHECK(last && partition_log_topic_id(last, got) && memcmp(got, id, 16) == 0);
    CHECK(exists(later.path[0], "wide-0") && exists(later.path[1], "wide-1")); /* spread as log_manager_create does */
    if (last) {
        append_n(last, 2, test_now_ms());
        CHECK_EQ_I64(partition_log_end_offset(last), 20);
    }

    printf("create later: a topic deleted while being made leaves no partition behind\n");
    for (int i = 0; i < 300; i++)
        CHECK(log_manager_create_later(mgr, "doomed", i, NULL, NULL) == 0);
    log_manager_cancel_creation(mgr, "doomed");
    log_manager_install_created(mgr, adopt_unless_doomed, NULL); /* not adopted: deleted */
    CHECK_EQ_I64((int64_t)log_manager_creating(mgr, "doomed"), 0);
    for (int i = 0; i < 300; i++)
        CHECK(log_manager_get(mgr, "doomed", i) == NULL);
    wait_removed(mgr, "doomed"); /* the unwanted ones were deleted: renamed on the log-directory thread */
    {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "ls %s %s | grep -q '^doomed-[0-9]*$'", later.path[0], later.path[1]);
        CHECK(system(cmd) != 0);
    }

    printf("create later: closing with logs made and not installed keeps them for the next start\n");
    int calls = atomic_load(&created_calls);
    CHECK(log_manager_create_later(mgr, "pending", 0, NULL, NULL) == 0);
    for (int i = 0; i < 500 && atomic_load(&created_calls) == calls; i++)
        usleep(2000); /* made (the finished list was empty: it calls on_created) */
    log_manager_close(mgr);
    mgr = NULL;
    CHECK(log_manager_open(&c, &mgr) == 0);
    if (!mgr)
        return;
    CHECK(log_manager_get(mgr, "pending", 0) != NULL);
    CHECK(log_manager_get(mgr, "wide", 39) != NULL);
    log_manager_close(mgr);
}

static bool any_deleted_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q -- '-delete$'", dir);
    return system(cmd) == 0;
}

/* The housekeeper removes the renamed directories of `dir` soon after. */
static void check_deleted_dirs_go(const char *dir)
{
    for (int i = 0; i < 500 && any_deleted_dir(dir); i++)
        usleep(10000);
    CHECK(!any_deleted_dir(dir));
}

static void test_delete_later(const char *root)
{
    printf("delete: the partitions leave the table at once, their directories go on the log-directory thread\n");
    struct test_dirs churn;
    struct log_manager_config c;
    test_config(&c, &churn, root, "churn", 1, true);
    const char *dir = churn.path[0];
    struct log_manager *mgr = NULL;
    CHECK(log_manager_open(&c, &mgr) == 0);
    if (!mgr)
        return;
    enum { N = 60 };
    static const uint8_t old_id[16] = {3, 3, 3}, new_id[16] = {4, 4, 4};
    for (int i = 0; i < N; i++) {
        struct partition_log *log = NULL;
        CHECK(log_manager_create(mgr, "churn", i, old_id, NULL, &log) == 0);
        if (log)
            append_n(log, 3, test_now_ms());
    }
    for (int i = 0; i < N; i++)
        CHECK(log_manager_delete(mgr, "churn", i) == 0);
    for (int i = 0; i < N; i++)
        CHECK(log_manager_get(mgr, "churn", i) == NULL);
    CHECK(log_manager_delete(mgr, "churn", 0) == -ENOENT);

    printf("delete: made again at once, inline or later, the partitions start empty under the new id\n");
    for (int i = 0; i < N / 2; i++) {
        struct partition_log *log = NULL;
        CHECK(log_manager_create(mgr, "churn", i, new_id, NULL, &log) == 0); /* waits for the renames */
    }
    for (int i = N / 2; i < N; i++)
        CHECK(log_manager_create_later(mgr, "churn", i, new_id, NULL) == 0);
    CHECK_EQ_I64((int64_t)install_all(mgr, "churn"), N / 2);
    for (int i = 0; i < N; i++) {
        struct partition_log *log = log_manager_get(mgr, "churn", i);
        uint8_t got[16];
        CHECK(log && partition_log_end_offset(log) == 0);
        CHECK(log && partition_log_topic_id(log, got) && memcmp(got, new_id, 16) == 0);
    }
    wait_removed(mgr, NULL);
    check_deleted_dirs_go(dir); /* the housekeeper was woken to delete them */

    printf("delete: closing with deletions queued finishes them; nothing comes back at the next start\n");
    for (int i = 0; i < N; i++)
        CHECK(log_manager_delete(mgr, "churn", i) == 0);
    log_manager_close(mgr);
    mgr = NULL;
    CHECK(!exists(dir, "churn-0") && !exists(dir, "churn-59"));
    CHECK(log_manager_open(&c, &mgr) == 0);
    if (!mgr)
        return;
    CHECK_EQ_I64((int64_t)log_manager_partition_count(mgr), 0);
    check_deleted_dirs_go(dir);
    log_manager_close(mgr);
}

static void test_parallel_load(const char *root)
{
    printf("start-up: num.recovery.threads.per.data.dir loaders recover every partition of every dir\n");
    struct test_dirs load;
    struct log_manager_config c;
    test_config(&c, &load, root, "load", 2, false);
    struct log_manager *mgr = NULL;
    CHECK(log_manager_open(&c, &mgr) == 0);
    if (!mgr)
        return;
    enum { N = 80 };
    for (int i = 0; i < N; i++) {
        struct partition_log *log = NULL;
        CHECK(log_manager_create(mgr, "load", i, NULL, NULL, &log) == 0);
        if (log)
            append_n(log, 1 + i % 7, test_now_ms());
    }
    log_manager_close(mgr);
    for (int d = 0; d < 2; d++) { /* as after a crash: every segment is scanned */
        char marker[700];
        snprintf(marker, sizeof marker, "%s/.kafka_cleanshutdown", load.path[d]);
        CHECK(unlink(marker) == 0);
    }
    c.recovery_threads_per_dir = 3;
    mgr = NULL;
    CHECK(log_manager_open(&c, &mgr) == 0);
    if (!mgr)
        return;
    CHECK_EQ_I64((int64_t)log_manager_partition_count(mgr), N);
    for (int i = 0; i < N; i++) {
        struct partition_log *log = log_manager_get(mgr, "load", i);
        CHECK(log && partition_log_end_offset(log) == 10 * (1 + i % 7));
    }
    log_manager_close(mgr);
    CHECK(exists(load.path[0], ".kafka_cleanshutdown") && exists(load.path[1], ".kafka_cleanshutdown"));
}

/* ---- a topic deleted and made again while the old log's flush runs ---- */

struct recreate_during_flush {
    struct log_manager *mgr;
    const char *dir;
    bool deleted, created;
    char metadata_after_create[512];
    bool epoch_file_after_create;
};

/* The flush hook: the partition is deleted (directory renamed away) and made
 * again at the same path while the old log's flush is in its fdatasyncs. */
static void delete_and_recreate(void *arg)
{
    struct recreate_during_flush *r = arg;
    static const uint8_t new_id[16] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    struct partition_log *fresh = NULL;
    r->deleted = log_manager_delete(r->mgr, "again", 0) == 0;
    r->created = log_manager_create(r->mgr, "again", 0, new_id, NULL, &fresh) == 0;
    const char *text = test_read_text(r->dir, "again-0/partition.metadata");
    snprintf(r->metadata_after_create, sizeof r->metadata_after_create, "%s", text ? text : "");
    r->epoch_file_after_create = exists(r->dir, "again-0/leader-epoch-checkpoint");
}

static void test_delete_during_flush(const char *root)
{
    printf("a partition deleted and made again while its flush runs: the flush leaves the new one alone\n");
    struct test_dirs again;
    struct log_manager_config c;
    test_config(&c, &again, root, "again", 1, false);
    const char *dir = again.path[0];
    struct log_manager *mgr = NULL;
    CHECK(log_manager_open(&c, &mgr) == 0);
    if (!mgr)
        return;
    static const uint8_t old_id[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    struct partition_log *old = NULL;
    CHECK(log_manager_create(mgr, "again", 0, old_id, NULL, &old) == 0);
    if (!old)
        return;
    /* Files the flush will write: the epoch (appended in epoch 3) and the
     * topic id (written without fsync at creation). */
    CHECK(test_append_one(old, 10, 3) == 0);

    struct recreate_during_flush r = {.mgr = mgr, .dir = dir};
    partition_log_ref(old);
    partition_log_set_flush_hook(old, delete_and_recreate, &r);
    (void)partition_log_flush(old, test_now_ms());
    CHECK(r.deleted && r.created);
    const char *text = test_read_text(dir, "again-0/partition.metadata");
    CHECK(text && strcmp(text, r.metadata_after_create) == 0); /* not the old topic id */
    CHECK(exists(dir, "again-0/leader-epoch-checkpoint") == r.epoch_file_after_create);
    partition_log_unref(old);
    log_manager_close(mgr);
}

int main(void)
{
    char *root = test_make_dir("logmgr");
    snprintf(dirs[0], sizeof(dirs[0]), "%s/d0", root);
    snprintf(dirs[1], sizeof(dirs[1]), "%s/d1", root);

    printf("create partitions across two dirs\n");
    struct log_manager *mgr = open_mgr();
    struct partition_log *p[4];
    uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (int i = 0; i < 4; i++)
        CHECK(log_manager_create(mgr, "orders", i, id, NULL, &p[i]) == 0);
    CHECK(log_manager_get(mgr, "orders", 2) == p[2]);
    CHECK(log_manager_get(mgr, "orders", 9) == NULL);
    CHECK(exists(dirs[0], "orders-0") && exists(dirs[1], "orders-1"));
    CHECK(exists(dirs[0], "orders-0/partition.metadata"));

    printf("group commit: the durable callback covers the appends\n");
    for (int i = 0; i < 50; i++) {
        append_n(p[0], 1, test_now_ms());
        partition_log_request_flush(p[0]);
    }
    int64_t leo0 = partition_log_end_offset(p[0]);
    for (int i = 0; i < 500 && atomic_load(&durable_seen) < leo0; i++)
        usleep(2000);
    CHECK_EQ_I64(atomic_load(&durable_seen), leo0);
    CHECK_EQ_I64(partition_log_recovery_point(p[0]), leo0);
    printf("  50 flush requests -> %" PRIu64 " fdatasync rounds\n",
           log_flusher_rounds(log_manager_flusher(mgr)));
    CHECK(log_flusher_rounds(log_manager_flusher(mgr)) <= 50);

    printf("flush.messages triggers a flush without a request\n");
    struct log_config cfg;
    partition_log_get_config(p[1], &cfg);
    cfg.flush_messages = 20;
    partition_log_set_config(p[1], &cfg);
    append_n(p[1], 3, test_now_ms());
    for (int i = 0; i < 500 && partition_log_recovery_point(p[1]) < 30; i++)
        usleep(2000);
    CHECK_EQ_I64(partition_log_recovery_point(p[1]), 30);
    cfg.flush_messages = -1;
    cfg.flush_ms = 50;
    partition_log_set_config(p[1], &cfg);
    append_n(p[1], 1, test_now_ms());
    for (int i = 0; i < 500 && partition_log_recovery_point(p[1]) < 40; i++)
        usleep(2000);
    CHECK_EQ_I64(partition_log_recovery_point(p[1]), 40);

    printf("retention by time: old segments go, the active one stays while it holds recent records\n");
    append_n(p[2], 99, 1000);            /* timestamps from 1970 */
    append_n(p[2], 1, test_now_ms());    /* the newest batch is recent */
    size_t segs = partition_log_segment_count(p[2]);
    CHECK(segs > 3);
    int deleted = log_manager_check_retention(mgr, test_now_ms());
    CHECK_EQ_I64(deleted, (int64_t)segs - 1);
    CHECK_EQ_I64(partition_log_segment_count(p[2]), 1);
    CHECK(partition_log_start_offset(p[2]) > 0);
    CHECK_EQ_I64(partition_log_end_offset(p[2]), 1000);

    printf("retention by time: an expired active segment is rolled and deleted too (as Kafka)\n");
    {
        struct partition_log *quiet;
        CHECK(log_manager_create(mgr, "quiet", 0, NULL, NULL, &quiet) == 0);
        append_n(quiet, 3, 1000);
        partition_log_set_high_watermark(quiet, partition_log_end_offset(quiet));
        CHECK_EQ_I64(partition_log_segment_count(quiet), 1);
        CHECK_EQ_I64(log_manager_check_retention(mgr, test_now_ms()), 1);
        CHECK_EQ_I64(partition_log_start_offset(quiet), 30);
        CHECK_EQ_I64(partition_log_end_offset(quiet), 30);
        append_n(quiet, 1, test_now_ms()); /* the log goes on at the next offset */
        CHECK_EQ_I64(partition_log_end_offset(quiet), 40);
        CHECK(log_manager_delete(mgr, "quiet", 0) == 0);
    }

    printf("retention by size\n");
    partition_log_get_config(p[3], &cfg);
    cfg.retention_bytes = 40 * 1024;
    cfg.retention_ms = -1;
    partition_log_set_config(p[3], &cfg);
    append_n(p[3], 100, test_now_ms());
    int64_t before = partition_log_size_bytes(p[3]);
    CHECK(log_manager_check_retention(mgr, test_now_ms()) > 0);
    int64_t after = partition_log_size_bytes(p[3]);
    printf("  %" PRId64 " -> %" PRId64 " bytes (retention.bytes 40960)\n", before, after);
    CHECK(after <= 40 * 1024 + 16 * 1024 && after >= 40 * 1024 - 16 * 1024);

    printf("DeleteRecords moves the log start offset and persists it\n");
    partition_log_set_high_watermark(p[0], partition_log_end_offset(p[0]));
    int64_t low;
    CHECK(partition_log_delete_records(p[0], 10000, &low) == LOG_ERR_OFFSET_OUT_OF_RANGE);
    CHECK(partition_log_delete_records(p[0], 255, &low) == 0);
    CHECK_EQ_I64(low, 255);
    CHECK(log_manager_persist_start_offsets(mgr) == 0);
    char *text = test_read_text(dirs[0], "log-start-offset-checkpoint");
    CHECK(text && strstr(text, "orders 0 255\n") != NULL);
    struct log_read_result r;
    CHECK(partition_log_read(p[0], 100, 1000, -1, true, &r) == LOG_ERR_OFFSET_OUT_OF_RANGE);
    log_read_result_release(&r);
    CHECK(partition_log_read(p[0], 255, 1000, -1, true, &r) == 0 && r.total_bytes > 0);
    log_read_result_release(&r);
    int64_t off, ts;
    CHECK(partition_log_offset_for_timestamp(p[0], LOG_TIMESTAMP_EARLIEST, &off, &ts) == 0);
    CHECK_EQ_I64(off, 255);
    CHECK(partition_log_start_offset(p[0]) == 255);

    printf("log-start-offset-checkpoint never goes back\n");
    test_start_offset_never_goes_back(mgr, p[0], 150);
    int64_t start0 = partition_log_start_offset(p[0]);
    CHECK(partition_log_read(p[0], 255, 1000, -1, true, &r) == LOG_ERR_OFFSET_OUT_OF_RANGE);
    log_read_result_release(&r);

    printf("a fetch keeps its segment open while retention deletes it\n");
    CHECK(partition_log_read(p[3], partition_log_start_offset(p[3]), 1000, -1, true, &r) == 0);
    partition_log_get_config(p[3], &cfg);
    cfg.retention_bytes = 0;
    partition_log_set_config(p[3], &cfg);
    CHECK(log_manager_check_retention(mgr, test_now_ms()) > 0);
    {
        uint8_t buf[4096];
        ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
        CHECK(n > 0);
        struct record_batch_header h;
        CHECK(n > 0 && record_batch_parse_header(buf, (size_t)n, &h) == 0);
        CHECK(n > 0 && record_batch_crc_ok(buf, record_batch_total_size(&h)));
    }
    log_read_result_release(&r);

    printf("the cleaner thread compacts a partition switched to cleanup.policy=compact\n");
    {
        struct partition_log *c;
        CHECK(log_manager_create(mgr, "compacted", 0, NULL, NULL, &c) == 0);
        for (int i = 0; i < 60; i++) {
            size_t len;
            uint8_t *b = test_build_batch(10, i * 10, 20, 100, test_now_ms(), 0, &len);
            struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
            struct log_append_result res;
            CHECK(partition_log_append(c, b, len, &o, &res) == 0);
            free(b);
        }
        CHECK(partition_log_roll(c, test_now_ms()) == 0);
        CHECK(partition_log_flush(c, test_now_ms()) >= 0);
        partition_log_set_high_watermark(c, partition_log_end_offset(c));
        int64_t before_size = partition_log_size_bytes(c);
        partition_log_get_config(c, &cfg);
        cfg.cleanup_policy = LOG_CLEANUP_COMPACT;
        partition_log_set_config(c, &cfg);
        log_manager_wake_cleaner(mgr);
        for (int i = 0; i < 500 && partition_log_size_bytes(c) >= before_size / 5; i++)
            usleep(10000);
        printf("  %" PRId64 " -> %" PRId64 " bytes\n", before_size, partition_log_size_bytes(c));
        CHECK(partition_log_size_bytes(c) < before_size / 5);
        CHECK(log_manager_delete(mgr, "compacted", 0) == 0);
    }

    printf("clean shutdown writes the marker and Kafka-format checkpoints\n");
    int64_t leo[4];
    for (int i = 0; i < 4; i++)
        leo[i] = partition_log_end_offset(p[i]);
    log_manager_close(mgr);
    CHECK(exists(dirs[0], ".kafka_cleanshutdown") && exists(dirs[1], ".kafka_cleanshutdown"));
    text = test_read_text(dirs[0], "recovery-point-offset-checkpoint");
    CHECK(text && strncmp(text, "0\n2\n", 4) == 0);
    char want[64];
    snprintf(want, sizeof(want), "orders 0 %" PRId64 "\n", leo[0]);
    CHECK(text && strstr(text, want) != NULL);

    printf("reopen: partitions back, marker removed\n");
    mgr = open_mgr();
    CHECK(!exists(dirs[0], ".kafka_cleanshutdown"));
    CHECK_EQ_I64(log_manager_partition_count(mgr), 4);
    for (int i = 0; i < 4; i++) {
        p[i] = log_manager_get(mgr, "orders", i);
        CHECK(p[i] != NULL);
        if (p[i])
            CHECK_EQ_I64(partition_log_end_offset(p[i]), leo[i]);
    }
    CHECK_EQ_I64(partition_log_start_offset(p[0]), start0);
    uint8_t id2[16];
    CHECK(partition_log_topic_id(p[1], id2) && memcmp(id, id2, 16) == 0);
    log_manager_close(mgr);

    printf("no marker: recovery runs and the data is intact\n");
    char marker[512];
    snprintf(marker, sizeof(marker), "%s/.kafka_cleanshutdown", dirs[0]);
    unlink(marker);
    mgr = open_mgr();
    p[0] = log_manager_get(mgr, "orders", 0);
    CHECK(p[0] && partition_log_end_offset(p[0]) == leo[0]);

    printf("delete a partition: renamed to -delete, removed in the background\n");
    CHECK(log_manager_delete(mgr, "orders", 0) == 0);
    CHECK(log_manager_get(mgr, "orders", 0) == NULL);
    wait_removed(mgr, "orders");
    CHECK(!exists(dirs[0], "orders-0"));
    check_deleted_dirs_go(dirs[0]);
    CHECK(log_manager_delete(mgr, "orders", 0) == -ENOENT);
    log_manager_close(mgr);

    test_create_later(root);
    test_delete_later(root);
    test_parallel_load(root);
    test_delete_during_flush(root);
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_manager");
}
