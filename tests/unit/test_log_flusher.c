/*
 * test_log_flusher.c - the sync workers' pacing (eddy.log.flush.pause.us):
 * a partition queued again right after its fdatasync waits out the pause,
 * and when more partitions wait than one round of workers takes, none is
 * held back more than two pauses after it was queued (the rest go back to
 * back instead of a pause apart, round after round).
 */
#include "log_test_util.h"

#include <pthread.h>

#include "log/log_flusher.h"

#define PARTITIONS 40 /* five rounds of the eight sync workers */
#define PAUSE_S 0.5

struct reports {
    pthread_mutex_t mu;
    int durable;
    double last_s;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_durable(void *ctx, struct partition_log *log, int64_t durable_offset, int error)
{
    (void)log;
    (void)durable_offset;
    struct reports *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (error == 0)
        r->durable++;
    r->last_s = mono_s();
    pthread_mutex_unlock(&r->mu);
}

/* Wait (up to 20 s) for `want` reports in all; the time of the latest. */
static double wait_reports(struct reports *r, int want)
{
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&r->mu);
        int have = r->durable;
        double last = r->last_s;
        pthread_mutex_unlock(&r->mu);
        if (have >= want)
            return last;
        usleep(1000);
    }
    CHECK(!"flush reports came in time");
    return 0;
}

static void append_and_request(struct log_flusher *flusher, struct partition_log *log)
{
    size_t len;
    uint8_t *b = test_build_batch(1, 0, 10, 100, test_now_ms(), 0, &len);
    struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = -1};
    struct log_append_result res;
    CHECK(partition_log_append(log, b, len, &o, &res) == 0);
    free(b);
    log_flusher_request(flusher, log);
}

int main(void)
{
    char *root = test_make_dir("flusher");
    struct log_config cfg;
    log_config_defaults(&cfg);
    struct reports reports = {.durable = 0};
    pthread_mutex_init(&reports.mu, NULL);
    struct log_flusher *flusher = NULL;
    CHECK(log_flusher_start(on_durable, &reports, &flusher) == 0);
    log_flusher_set_sync_pause(flusher, (int64_t)(PAUSE_S * 1e6));
    struct partition_log *logs[PARTITIONS];
    for (int i = 0; i < PARTITIONS; i++) {
        char dir[300];
        snprintf(dir, sizeof(dir), "%s/t-%d", root, i);
        logs[i] = test_open_log(dir, "t", &cfg, true, 0);
        log_flusher_register(flusher, logs[i]);
    }

    printf("a partition queued again right after its flush waits out the pause\n");
    append_and_request(flusher, logs[0]);
    double first = wait_reports(&reports, 1);
    append_and_request(flusher, logs[0]);
    double second = wait_reports(&reports, 2);
    printf("  %.3f s between the two reports\n", second - first);
    CHECK(second - first >= PAUSE_S * 0.9);

    printf("%d partitions queued at once: none waits more than two pauses\n", PARTITIONS);
    double start = mono_s();
    for (int i = 0; i < PARTITIONS; i++)
        append_and_request(flusher, logs[i]);
    double last = wait_reports(&reports, 2 + PARTITIONS);
    printf("  all durable after %.3f s (every round paced: at least %.1f s)\n", last - start,
           PAUSE_S * PARTITIONS / 8);
    CHECK(last - start >= PAUSE_S * 0.9);   /* the first round still waits */
    CHECK(last - start < PAUSE_S * 4);     /* two pauses and the fdatasyncs */

    for (int i = 0; i < PARTITIONS; i++) {
        CHECK_EQ_I64(partition_log_recovery_point(logs[i]), partition_log_end_offset(logs[i]));
        log_flusher_unregister(flusher, logs[i]);
        partition_log_close(logs[i], true);
    }
    log_flusher_stop(flusher);
    pthread_mutex_destroy(&reports.mu);
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_flusher");
}
