/*
 * log_flusher.c - group-commit flusher threads (see log_flusher.h).
 *
 * Requests are an intrusive FIFO of partitions (partition_log.flusher_next),
 * each queued at most once (flush_queued). The flag is cleared when a sync
 * worker picks the partition up, before it syncs, so an append that lands
 * during the fdatasync queues another round instead of being missed.
 *
 * SYNC_WORKERS threads take partitions off the queue, never one that another
 * worker is syncing (flush_in_flight), so one partition's group commit is as
 * with a single thread while many partitions sync side by side: with one
 * thread, one message to each of 5,000 partitions waited 3-15 s for its
 * acknowledgement (an fdatasync and a pause per partition, in a row). The
 * flusher's own thread runs the timers: every 100 ms flush.ms / flush.messages
 * and the preparation of busy partitions' next segments
 * (partition_log_prepare_next_segment), and every 8 MiB appended the
 * drop-behind passes.
 */
#include "log/log_flusher.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log/partition_log_internal.h"
#include "util/thread.h"

#define SCAN_INTERVAL_MS 100
#define SYNC_WORKERS 8

/*
 * Idle time kept between the end of one fdatasync and the start of the next
 * (eddy.log.flush.pause.us; default below).
 * On this project's VMs the cache flushes of the whole machine are what
 * stalls it: every thread stops for 5-15 ms at some 100 ms boundaries once
 * flushes come often enough. An unrelated process doing 4 KiB
 * write+fdatasync ~410 times a second took the end-to-end p99 of an acks=1
 * run at 10k msg/s (no fdatasync of Eddy's own) from 0.6-0.9 ms to 3.0-3.5;
 * at 90-250 a second to 0.8-2.2. Eddy's own pacing at 10k msg/s acks=all,
 * six alternating 10 s runs each: 1.5 ms between syncs (~450 a second),
 * e2e p99 2.0-3.2 ms (median 2.6) and acknowledgement p50 2.2-2.7; 2.5 ms,
 * 1.5-3.3 (1.9) and 2.6-3.2; 4 ms, 1.3-2.6 (1.6) and 3.6-4.6. The pause
 * also widens each group commit, so acks=all throughput does not suffer.
 */
#define DEFAULT_SYNC_PAUSE_NS 4000000L

/*
 * Pacing holds no partition back longer than this many pauses after it was
 * queued: when more partitions wait than the workers sync in one round (one
 * acks=all message to each of 2,000 partitions), the later rounds go back to
 * back instead of a pause apart. Measured there, p99 of the acknowledgements
 * with a 4 ms pause: 1,128 ms with every round paced, 275 ms with this
 * (503 ms with the earlier 1.5 ms pause and every round paced).
 */
#define MAX_PACED_PAUSES 2

struct log_flusher {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* the timer thread: stop, a drop-behind pass due */
    pthread_cond_t work_cv; /* sync workers: queued partitions, stop */
    pthread_t thread;
    pthread_t workers[SYNC_WORKERS];
    int worker_count;
    bool stop;
    log_durable_fn callback;
    void *ctx;
    struct partition_log *head, *tail; /* queued, each holding a reference */
    struct partition_log **registered; /* each holding a reference */
    size_t registered_count, registered_cap;
    uint64_t rounds;
    /* CLOCK_MONOTONIC end of the latest fdatasync of any worker (under mu): the
     * pause runs from it, so syncs handed from worker to worker keep it too. */
    struct timespec last_sync_end;
    _Atomic long sync_pause_ns;
    _Atomic uint64_t cache_budget;   /* 0: no drop-behind */
    _Atomic uint64_t appended_bytes; /* counts towards the next drop-behind pass */
    bool release_due;
    bool release_unfinished; /* the last pass left bytes a later one drops (flusher thread only) */
    int64_t last_release_ms;  /* flusher thread only */
};

/* Appended bytes between drop-behind passes, and the least each log keeps cached. */
#define RELEASE_EVERY_BYTES (8u << 20)
#define MIN_CACHED_PER_LOG (128u << 10)
/* A partition counts as written until this many budgets were appended after its last append. */
#define ACTIVE_BUDGETS 2
/* A pass drops only what an earlier one wrote back: when appends stop (or passes
 * coalesced behind slow fdatasyncs), the timer runs the pass that finishes. */
#define RELEASE_FINISH_MS 500

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec timespec_add_ns(struct timespec t, long ns)
{
    t.tv_nsec += ns % 1000000000L;
    t.tv_sec += ns / 1000000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool timespec_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Sleep out what is left of the pause since the latest fdatasync ended, but
 * not past MAX_PACED_PAUSES pauses after the partition was queued. */
static void pause_after_last_sync(struct log_flusher *f, struct timespec queued_at)
{
    long pause = atomic_load(&f->sync_pause_ns);
    if (pause <= 0)
        return;
    pthread_mutex_lock(&f->mu);
    struct timespec due = timespec_add_ns(f->last_sync_end, pause);
    pthread_mutex_unlock(&f->mu);
    struct timespec latest = timespec_add_ns(queued_at, pause * MAX_PACED_PAUSES);
    if (timespec_before(latest, due))
        due = latest;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
        ;
}

static void flush_one(struct log_flusher *f, struct partition_log *log, struct timespec queued_at)
{
    pause_after_last_sync(f, queued_at);
    int64_t rp = partition_log_flush(log, now_ms());
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    pthread_mutex_lock(&f->mu);
    if (timespec_before(f->last_sync_end, end))
        f->last_sync_end = end;
    f->rounds++;
    pthread_mutex_unlock(&f->mu);
    if (f->callback)
        f->callback(f->ctx, log, rp >= 0 ? rp : -1, rp >= 0 ? 0 : LOG_ERR_KAFKA_STORAGE_ERROR);
}

/* Snapshot the registered partitions, each with a reference; caller frees and unrefs. */
static struct partition_log **registered_copy(struct log_flusher *f, size_t *count)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->registered_count;
    struct partition_log **copy = n ? malloc(n * sizeof(*copy)) : NULL;
    for (size_t i = 0; copy && i < n; i++)
        copy[i] = partition_log_ref(f->registered[i]);
    pthread_mutex_unlock(&f->mu);
    *count = copy ? n : 0;
    return copy;
}

/* flush.ms / flush.messages for registered partitions: queue the due ones.
 * Also prepare the next segment of those whose active one is half full. */
static void scan_due(struct log_flusher *f)
{
    size_t n;
    struct partition_log **copy = registered_copy(f, &n);
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        if (partition_log_flush_due(copy[i], now))
            log_flusher_request(f, copy[i]);
        partition_log_prepare_next_segment(copy[i], now);
        partition_log_unref(copy[i]);
    }
    free(copy);
}

/* The first queued partition no other worker is syncing, taken off the queue
 * (its queue reference passes to the caller); NULL if none. Caller holds mu. */
static struct partition_log *take_next_locked(struct log_flusher *f)
{
    struct partition_log **link = &f->head, *prev = NULL;
    while (*link && (*link)->flush_in_flight) {
        prev = *link;
        link = &(*link)->flusher_next;
    }
    struct partition_log *log = *link;
    if (!log)
        return NULL;
    *link = log->flusher_next;
    if (f->tail == log)
        f->tail = prev;
    log->flusher_next = NULL;
    log->flush_queued = false;
    log->flush_in_flight = true;
    return log;
}

static void *sync_worker_main(void *arg)
{
    struct log_flusher *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        struct partition_log *log = take_next_locked(f);
        struct timespec queued_at = log ? log->flush_queued_at : (struct timespec){0, 0};
        if (!log) {
            if (f->stop && !f->head)
                break; /* what was queued before the stop is flushed */
            pthread_cond_wait(&f->work_cv, &f->mu);
            continue;
        }
        pthread_mutex_unlock(&f->mu);
        flush_one(f, log, queued_at);
        pthread_mutex_lock(&f->mu);
        /* Queued again meanwhile: this worker comes back for it (no wake-up went out). */
        log->flush_in_flight = false;
        if (f->stop && !f->head)
            pthread_cond_broadcast(&f->work_cv); /* the others may finish */
        pthread_mutex_unlock(&f->mu);
        partition_log_unref(log);
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/*
 * The budget is shared by the partitions appended to while the last
 * ACTIVE_BUDGETS budgets' worth of bytes were, and each of them is held to
 * its share on every pass: a producer spreading 1 MB batches over 1000
 * partitions touches only a few per pass, and counting just those gave each
 * a share so large that nothing was ever dropped. A partition idle for
 * longer is brought down to MIN_CACHED_PER_LOG and then left alone until it
 * is appended to again. (Before, it kept what it had: with librdkafka's
 * sticky partitioner over 1000 partitions each one takes a burst of some MiB
 * about every 10 s, so nearly all were idle, each kept its last share, most
 * of it never written back, and the page cache grew by GBs of fresh pages:
 * 55% of the broker's CPU went into copying into them.)
 */
static bool log_cache_idle(const struct partition_log *log, uint64_t appended, uint64_t budget)
{
    return appended - log->cache_appended_mark >= ACTIVE_BUDGETS * budget;
}

static bool release_cache_pass(struct log_flusher *f)
{
    size_t n, active = 0;
    struct partition_log **logs = registered_copy(f, &n);
    uint64_t budget = atomic_load(&f->cache_budget);
    uint64_t appended = atomic_load(&f->appended_bytes);
    for (size_t i = 0; i < n; i++) {
        struct partition_log *log = logs[i];
        int64_t end = partition_log_end_offset(log);
        if (end != log->cache_pass_end_offset) {
            log->cache_pass_end_offset = end;
            log->cache_appended_mark = appended;
            log->cache_settled = false;
        }
        bool idle = log_cache_idle(log, appended, budget);
        if (end == 0 || (idle && log->cache_settled)) {
            partition_log_unref(log);
            logs[i] = NULL;
            continue;
        }
        active += !idle;
    }
    uint64_t keep = active ? budget / active : budget;
    if (keep < MIN_CACHED_PER_LOG)
        keep = MIN_CACHED_PER_LOG;
    bool unfinished = false;
    for (size_t i = 0; i < n; i++) {
        struct partition_log *log = logs[i];
        if (!log)
            continue;
        bool idle = log_cache_idle(log, appended, budget), settled = false;
        unfinished |= partition_log_release_cache(log, idle ? MIN_CACHED_PER_LOG : keep, &settled);
        if (idle) {
            log->cache_settled = settled;
            unfinished |= !settled; /* the timer's pass finishes it if appends stop */
        }
        partition_log_unref(log);
    }
    free(logs);
    return unfinished;
}

static void *flusher_main(void *arg)
{
    struct log_flusher *f = arg;
    int64_t next_scan = now_ms() + SCAN_INTERVAL_MS;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        if (!f->stop && !f->release_due) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += SCAN_INTERVAL_MS * 1000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&f->cv, &f->mu, &deadline);
        }
        if (f->stop)
            break;
        bool finish = f->release_unfinished && now_ms() - f->last_release_ms >= RELEASE_FINISH_MS;
        if (f->release_due || finish) {
            f->release_due = false;
            pthread_mutex_unlock(&f->mu);
            f->release_unfinished = release_cache_pass(f);
            f->last_release_ms = now_ms();
            pthread_mutex_lock(&f->mu);
        }
        if (now_ms() >= next_scan) {
            pthread_mutex_unlock(&f->mu);
            scan_due(f);
            next_scan = now_ms() + SCAN_INTERVAL_MS;
            pthread_mutex_lock(&f->mu);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Workers flush what is queued, then all threads exit and are joined. */
static void stop_threads(struct log_flusher *f, bool timer_thread)
{
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_signal(&f->cv);
    pthread_cond_broadcast(&f->work_cv);
    pthread_mutex_unlock(&f->mu);
    if (timer_thread)
        pthread_join(f->thread, NULL);
    for (int i = 0; i < f->worker_count; i++)
        pthread_join(f->workers[i], NULL);
}

int log_flusher_start(log_durable_fn callback, void *ctx, struct log_flusher **out)
{
    struct log_flusher *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    atomic_init(&f->sync_pause_ns, DEFAULT_SYNC_PAUSE_NS);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_cond_init(&f->work_cv, NULL);
    f->callback = callback;
    f->ctx = ctx;
    int rc = 0;
    for (int i = 0; rc == 0 && i < SYNC_WORKERS; i++) {
        rc = thread_start(&f->workers[i], sync_worker_main, f, "eddy-sync");
        if (rc == 0)
            f->worker_count++;
    }
    bool timer_thread = false;
    if (rc == 0) {
        rc = thread_start(&f->thread, flusher_main, f, "eddy-flusher");
        timer_thread = rc == 0;
    }
    if (rc != 0) {
        stop_threads(f, timer_thread);
        pthread_cond_destroy(&f->work_cv);
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void log_flusher_stop(struct log_flusher *f)
{
    if (!f)
        return;
    stop_threads(f, true);
    for (size_t i = 0; i < f->registered_count; i++) {
        f->registered[i]->flusher = NULL;
        partition_log_unref(f->registered[i]);
    }
    free(f->registered);
    pthread_cond_destroy(&f->work_cv);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void log_flusher_register(struct log_flusher *f, struct partition_log *log)
{
    pthread_mutex_lock(&f->mu);
    if (f->registered_count == f->registered_cap) {
        size_t cap = f->registered_cap ? f->registered_cap * 2 : 16;
        void *p = realloc(f->registered, cap * sizeof(*f->registered));
        if (!p) {
            pthread_mutex_unlock(&f->mu);
            return;
        }
        f->registered = p;
        f->registered_cap = cap;
    }
    f->registered[f->registered_count++] = partition_log_ref(log);
    log->flusher = f;
    pthread_mutex_unlock(&f->mu);
}

void log_flusher_unregister(struct log_flusher *f, struct partition_log *log)
{
    struct partition_log *drop_registered = NULL, *drop_queued = NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->registered_count; i++) {
        if (f->registered[i] == log) {
            drop_registered = log;
            f->registered[i] = f->registered[--f->registered_count];
            break;
        }
    }
    if (log->flush_queued) {
        struct partition_log **link = &f->head, *prev = NULL;
        while (*link && *link != log) {
            prev = *link;
            link = &(*link)->flusher_next;
        }
        if (*link) {
            *link = log->flusher_next;
            if (f->tail == log)
                f->tail = prev;
            log->flusher_next = NULL;
            log->flush_queued = false;
            drop_queued = log;
        }
    }
    log->flusher = NULL;
    pthread_mutex_unlock(&f->mu);
    partition_log_unref(drop_registered);
    partition_log_unref(drop_queued);
}

void log_flusher_request(struct log_flusher *f, struct partition_log *log)
{
    pthread_mutex_lock(&f->mu);
    if (!log->flush_queued && !f->stop) {
        log->flush_queued = true;
        clock_gettime(CLOCK_MONOTONIC, &log->flush_queued_at);
        log->flusher_next = NULL;
        partition_log_ref(log);
        if (f->tail)
            f->tail->flusher_next = log;
        else
            f->head = log;
        f->tail = log;
        if (!log->flush_in_flight) /* else its worker takes it when done */
            pthread_cond_signal(&f->work_cv);
    }
    pthread_mutex_unlock(&f->mu);
}

void log_flusher_set_sync_pause(struct log_flusher *f, int64_t pause_us)
{
    atomic_store(&f->sync_pause_ns, (long)(pause_us < 0 ? 0 : pause_us) * 1000L);
}

void log_flusher_set_cache_budget(struct log_flusher *f, uint64_t budget_bytes)
{
    atomic_store(&f->cache_budget, budget_bytes);
}

void log_flusher_note_append(struct log_flusher *f, size_t bytes)
{
    if (atomic_load_explicit(&f->cache_budget, memory_order_relaxed) == 0)
        return;
    uint64_t before = atomic_fetch_add_explicit(&f->appended_bytes, bytes, memory_order_relaxed);
    if (before / RELEASE_EVERY_BYTES == (before + bytes) / RELEASE_EVERY_BYTES)
        return;
    pthread_mutex_lock(&f->mu);
    f->release_due = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

uint64_t log_flusher_rounds(struct log_flusher *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t r = f->rounds;
    pthread_mutex_unlock(&f->mu);
    return r;
}
