/*
 * log_append.c - storage engine benchmark: append throughput of the
 * partition log for 1 KiB records in 16 KiB batches, against a raw
 * sequential write() loop on the same directory in the same run, with and
 * without an fdatasync per batch; then recovery (full CRC scan) time per GiB.
 *
 * Usage: build/bench/log_append [dir] [MiB buffered] [MiB synced]
 * Defaults: /tmp/eddy-bench-log, 512, 16 (each run three times, alternating). Recovery runs on a warm page cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "log/log_flusher.h"
#include "log/partition_log.h"
#include "protocol/record_batch.h"

#define RECORD_SIZE 1024
#define RECORDS_PER_BATCH 15 /* 15 x ~1 KiB + overhead = ~16 KiB batch */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint8_t *make_batch(size_t *len)
{
    static uint8_t value[RECORD_SIZE];
    static char keys[RECORDS_PER_BATCH][16];
    struct record_builder_entry recs[RECORDS_PER_BATCH];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (uint8_t)(i * 31 + 7);
    for (int i = 0; i < RECORDS_PER_BATCH; i++) {
        memset(&recs[i], 0, sizeof(recs[i]));
        recs[i].offset_delta = i;
        recs[i].key_len = snprintf(keys[i], sizeof(keys[i]), "key-%d", i);
        recs[i].key = (const uint8_t *)keys[i];
        recs[i].value = value;
        recs[i].value_len = RECORD_SIZE;
    }
    struct record_batch_header h;
    memset(&h, 0, sizeof(h));
    h.last_offset_delta = RECORDS_PER_BATCH - 1;
    h.base_timestamp = h.max_timestamp = now_ms();
    h.producer_id = -1;
    h.producer_epoch = -1;
    h.base_sequence = -1;
    h.partition_leader_epoch = -1;
    uint8_t *out = NULL;
    if (record_batch_build(&h, recs, RECORDS_PER_BATCH, &out, len) != 0) {
        fprintf(stderr, "record_batch_build failed\n");
        exit(1);
    }
    return out;
}

static void rm_dir_files(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not clean %s\n", dir);
}

/* Raw sequential write loop: MB/s. */
static double raw_run(const char *dir, const uint8_t *batch, size_t len, size_t total, bool sync_each)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/raw.bin", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    size_t done = 0;
    double t0 = now_s();
    while (done < total) {
        if (write(fd, batch, len) != (ssize_t)len) {
            perror("write");
            exit(1);
        }
        if (sync_each)
            fdatasync(fd);
        done += len;
    }
    fdatasync(fd);
    double t = now_s() - t0;
    close(fd);
    unlink(path);
    return (double)done / t / 1e6;
}

static struct partition_log *open_log(const char *dir, bool clean)
{
    struct log_config cfg;
    log_config_defaults(&cfg);
    struct partition_log_open_args a = {.dir = dir, .topic = "bench", .partition = 0,
                                        .config = &cfg, .clean_shutdown = clean,
                                        .now_ms = now_ms()};
    struct partition_log *log;
    int rc = partition_log_open(&a, &log);
    if (rc != 0) {
        fprintf(stderr, "partition_log_open: %s\n", strerror(-rc));
        exit(1);
    }
    return log;
}

/* Partition log appends: MB/s. Leaves the log in place when keep is set. */
static double log_run(const char *dir, uint8_t *batch, size_t len, size_t total, bool sync_each,
                      bool keep)
{
    char pdir[1100];
    snprintf(pdir, sizeof(pdir), "%s/bench-0", dir);
    rm_dir_files(pdir);
    struct partition_log *log = open_log(pdir, true);
    struct log_append_options o = {.now_ms = now_ms(), .leader_epoch = -1};
    struct log_append_result res;
    size_t done = 0;
    double t0 = now_s();
    while (done < total) {
        if (partition_log_append(log, batch, len, &o, &res) != 0) {
            fprintf(stderr, "append failed\n");
            exit(1);
        }
        if (sync_each && partition_log_flush(log, o.now_ms) < 0) {
            fprintf(stderr, "flush failed\n");
            exit(1);
        }
        done += len;
    }
    partition_log_flush(log, o.now_ms);
    double t = now_s() - t0;
    partition_log_close(log, false); /* as after a crash: the recovery run re-scans it */
    if (!keep)
        rm_dir_files(pdir);
    return (double)done / t / 1e6;
}

/* acks=all with group commit: keep up to `inflight` batches waiting for the flusher. */
static pthread_mutex_t durable_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t durable_cv = PTHREAD_COND_INITIALIZER;
static int64_t durable_offset;

static void on_durable(void *ctx, struct partition_log *log, int64_t durable, int error)
{
    (void)ctx;
    (void)log;
    pthread_mutex_lock(&durable_mu);
    if (error == 0 && durable > durable_offset)
        durable_offset = durable;
    pthread_cond_broadcast(&durable_cv);
    pthread_mutex_unlock(&durable_mu);
}

static double group_commit_run(const char *dir, uint8_t *batch, size_t len, size_t total,
                               int inflight, uint64_t *rounds)
{
    char pdir[1100];
    snprintf(pdir, sizeof(pdir), "%s/bench-0", dir);
    rm_dir_files(pdir);
    durable_offset = 0;
    struct log_flusher *flusher;
    if (log_flusher_start(on_durable, NULL, &flusher) != 0)
        exit(1);
    struct partition_log *log = open_log(pdir, true);
    log_flusher_register(flusher, log);
    struct log_append_options o = {.now_ms = now_ms(), .leader_epoch = -1};
    struct log_append_result res;
    size_t done = 0;
    double t0 = now_s();
    while (done < total) {
        if (partition_log_append(log, batch, len, &o, &res) != 0)
            exit(1);
        partition_log_request_flush(log);
        done += len;
        int64_t allowed_behind = (int64_t)inflight * RECORDS_PER_BATCH;
        pthread_mutex_lock(&durable_mu);
        while (res.last_offset + 1 - durable_offset >= allowed_behind)
            pthread_cond_wait(&durable_cv, &durable_mu);
        pthread_mutex_unlock(&durable_mu);
    }
    pthread_mutex_lock(&durable_mu);
    while (durable_offset < res.last_offset + 1)
        pthread_cond_wait(&durable_cv, &durable_mu);
    pthread_mutex_unlock(&durable_mu);
    double t = now_s() - t0;
    *rounds = log_flusher_rounds(flusher);
    log_flusher_stop(flusher);
    partition_log_close(log, true);
    rm_dir_files(pdir);
    return (double)done / t / 1e6;
}

static double best(double a, double b) { return a > b ? a : b; }

/* Evict the partition's files from the page cache (as after a machine crash). */
static void drop_cache(const char *pdir)
{
    DIR *d = opendir(pdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", pdir, e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    if (d)
        closedir(d);
}

/* Open the unclean log with a full scan and print the time per GiB. */
static void recovery_run(const char *pdir, const char *label)
{
    double t0 = now_s(), c0 = cpu_s();
    struct partition_log *log = open_log(pdir, false);
    double t = now_s() - t0, c = cpu_s() - c0;
    int64_t bytes = partition_log_size_bytes(log);
    partition_log_close(log, false);
    double gib = (double)bytes / 1073741824.0;
    printf("recovery, %s (CRC + index rebuild): %.1f MiB in %.3f s = %.2f s per GiB "
           "(%.2f CPU-s per GiB)\n", label, (double)bytes / 1048576.0, t, t / gib, c / gib);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp/eddy-bench-log";
    size_t buffered_mib = argc > 2 ? (size_t)atol(argv[2]) : 512;
    size_t synced_mib = argc > 3 ? (size_t)atol(argv[3]) : 16;
    mkdir(dir, 0755);
    size_t len;
    uint8_t *batch = make_batch(&len);
    printf("batch: %d records x %d B = %zu B on disk; dir %s\n", RECORDS_PER_BATCH, RECORD_SIZE,
           len, dir);

    /* Alternate the two writers and keep the best of three: the machine is shared. */
    size_t total = buffered_mib << 20;
    double raw_b = 0, log_b = 0;
    for (int round = 0; round < 3; round++) {
        raw_b = best(raw_b, raw_run(dir, batch, len, total, false));
        log_b = best(log_b, log_run(dir, batch, len, total, false, round == 2));
    }
    printf("buffered (+1 final fdatasync), %zu MiB, best of 3: raw write %.0f MB/s, "
           "partition log %.0f MB/s, ratio %.2f\n", buffered_mib, raw_b, log_b, log_b / raw_b);

    /* Recovery: the last run left an unclean log of `total` bytes behind. */
    char pdir[1100];
    snprintf(pdir, sizeof(pdir), "%s/bench-0", dir);
    drop_cache(pdir);
    recovery_run(pdir, "cold cache");
    recovery_run(pdir, "warm cache");
    rm_dir_files(pdir);

    size_t synced = synced_mib << 20;
    double raw_s = 0, log_s = 0;
    for (int round = 0; round < 3; round++) {
        raw_s = best(raw_s, raw_run(dir, batch, len, synced, true));
        log_s = best(log_s, log_run(dir, batch, len, synced, true, false));
    }
    printf("fdatasync per batch, %zu MiB, best of 3: raw write %.1f MB/s, partition log %.1f MB/s, "
           "ratio %.2f\n", synced_mib, raw_s, log_s, log_s / raw_s);
    for (int inflight = 1; inflight <= 16; inflight *= 4) {
        uint64_t rounds = 0;
        double gc = group_commit_run(dir, batch, len, synced, inflight, &rounds);
        printf("acks=all group commit, %d batch(es) in flight: %.1f MB/s (%.2f x per-batch sync), "
               "%" PRIu64 " fdatasyncs for %zu batches\n", inflight, gc, gc / log_s, rounds,
               synced / len + 1);
    }
    free(batch);
    rmdir(dir);
    return 0;
}
