/*
 * log_manager.c - all partition logs under log.dirs: start-up with
 * recovery, create/delete, per-dir checkpoints, the housekeeper thread
 * (retention, checkpoints, removal of deleted partitions) and clean
 * shutdown. See log_manager.h.
 */
#include "log/log_manager.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/log_checkpoint.h"
#include "log/log_cleaner.h"
#include "log/log_dir_worker.h"
#include "log/partition_log_internal.h"
#include "util/fd_budget.h"
#include "util/logger.h"
#include "util/thread.h"

#define BUCKETS 1024

struct partition_entry {
    char *topic;
    int32_t partition;
    size_t dir_index;
    struct partition_log *log;
    struct partition_entry *next;
};

struct log_manager {
    pthread_rwlock_t table_lock; /* guards buckets, count, per-dir counts */
    struct partition_entry *buckets[BUCKETS];
    size_t count;
    char **dirs;
    size_t dir_count;
    size_t *dir_partitions;
    struct log_manager_config config;
    /* One checkpoint writer at a time, values read under it: a writer that read
     * before another wrote must not overwrite newer values with older ones. */
    pthread_mutex_t checkpoint_mu;
    _Atomic bool start_offsets_dirty; /* a log start offset moved since the last write */
    struct log_flusher *flusher;
    struct log_pager *pager;
    struct log_cleaner *cleaner;
    struct log_dir_worker *dir_worker; /* started by the first creation later or deletion */
    pthread_t housekeeper;
    bool housekeeper_running;
    pthread_mutex_t hk_mu;
    pthread_cond_t hk_cv;
    bool hk_stop, hk_woken;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_manager_config_defaults(struct log_manager_config *c)
{
    memset(c, 0, sizeof(*c));
    log_config_defaults(&c->defaults);
    c->retention_check_interval_ms = 300000;
    c->checkpoint_interval_ms = 60000;
    c->cleaner_backoff_ms = 15000;
    c->cleaner_enable = true;
    c->flush_pause_us = 500;
    c->recovery_threads_per_dir = 2;
}

static size_t bucket_of(const char *topic, int32_t partition)
{
    uint32_t h = 2166136261u;
    for (const char *p = topic; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ (uint32_t)partition) * 16777619u;
    return h % BUCKETS;
}

static struct partition_entry *find_locked(struct log_manager *mgr, const char *topic,
                                           int32_t partition)
{
    for (struct partition_entry *e = mgr->buckets[bucket_of(topic, partition)]; e; e = e->next)
        if (e->partition == partition && strcmp(e->topic, topic) == 0)
            return e;
    return NULL;
}

/* ---- checkpoints ---- */

static char *dir_file(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/%s", dir, name);
    return path;
}

enum checkpoint_kind { CP_RECOVERY, CP_START, CP_CLEANER };
static const char *const CHECKPOINT_FILES[] = {"recovery-point-offset-checkpoint",
                                               "log-start-offset-checkpoint",
                                               "cleaner-offset-checkpoint"};

static int64_t checkpoint_value(struct partition_log *log, enum checkpoint_kind kind)
{
    switch (kind) {
    case CP_RECOVERY:
        return partition_log_recovery_point(log);
    case CP_START:
        return partition_log_start_offset(log);
    default:
        return partition_log_cleaner_checkpoint(log);
    }
}

/* Snapshot (with references) of the partitions, optionally of one dir only. */
static struct partition_entry *snapshot(struct log_manager *mgr, ssize_t dir_index, size_t *n)
{
    pthread_rwlock_rdlock(&mgr->table_lock);
    struct partition_entry *copy = calloc(mgr->count + 1, sizeof(*copy));
    size_t k = 0;
    for (size_t b = 0; copy && b < BUCKETS; b++)
        for (struct partition_entry *e = mgr->buckets[b]; e; e = e->next) {
            if (dir_index >= 0 && e->dir_index != (size_t)dir_index)
                continue;
            copy[k] = *e;
            copy[k].log = partition_log_ref(e->log);
            k++;
        }
    pthread_rwlock_unlock(&mgr->table_lock);
    *n = k;
    return copy;
}

static void snapshot_free(struct partition_entry *copy, size_t n)
{
    for (size_t i = 0; i < n; i++)
        partition_log_unref(copy[i].log);
    free(copy);
}

static int write_dir_checkpoint_locked(struct log_manager *mgr, size_t dir_index, enum checkpoint_kind kind)
{
    size_t n;
    struct partition_entry *parts = snapshot(mgr, (ssize_t)dir_index, &n);
    if (!parts)
        return -ENOMEM;
    struct offset_checkpoint_entry *entries = calloc(n + 1, sizeof(*entries));
    int rc = entries ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        entries[i].topic = (char *)partition_log_topic(parts[i].log);
        entries[i].partition = partition_log_partition(parts[i].log);
        entries[i].offset = checkpoint_value(parts[i].log, kind);
    }
    char *path = dir_file(mgr->dirs[dir_index], CHECKPOINT_FILES[kind]);
    if (rc == 0 && !path)
        rc = -ENOMEM;
    if (rc == 0)
        rc = offset_checkpoint_write(path, entries, n);
    if (rc != 0)
        log_error("log", "Could not write %s: %s", path ? path : CHECKPOINT_FILES[kind],
                  strerror(-rc));
    free(path);
    free(entries);
    snapshot_free(parts, n);
    return rc;
}

static int write_dir_checkpoint(struct log_manager *mgr, size_t dir_index, enum checkpoint_kind kind)
{
    pthread_mutex_lock(&mgr->checkpoint_mu);
    int rc = write_dir_checkpoint_locked(mgr, dir_index, kind);
    pthread_mutex_unlock(&mgr->checkpoint_mu);
    return rc;
}

int log_manager_write_checkpoints(struct log_manager *mgr)
{
    int rc = 0;
    for (size_t d = 0; d < mgr->dir_count; d++)
        for (int kind = CP_RECOVERY; kind <= CP_CLEANER; kind++) {
            int r = write_dir_checkpoint(mgr, d, (enum checkpoint_kind)kind);
            if (r != 0)
                rc = r;
        }
    return rc;
}

/* DeleteRecords/retention moved a log start offset. Written by
 * log_manager_persist_start_offsets: once per DeleteRecords request before it
 * is answered, and by the housekeeper after retention (one checkpoint write
 * with two fsyncs per partition stalled the loop for tens of milliseconds). */
static void start_offset_moved(void *ctx, struct partition_log *log)
{
    (void)log;
    struct log_manager *mgr = ctx;
    atomic_store(&mgr->start_offsets_dirty, true);
}

int log_manager_persist_start_offsets(struct log_manager *mgr)
{
    /* Under the lock: a caller whose move another writer picked up waits for that write. */
    pthread_mutex_lock(&mgr->checkpoint_mu);
    int rc = 0;
    if (atomic_exchange(&mgr->start_offsets_dirty, false)) {
        for (size_t d = 0; d < mgr->dir_count; d++) {
            int r = write_dir_checkpoint_locked(mgr, d, CP_START);
            if (r != 0)
                rc = r;
        }
        if (rc != 0)
            atomic_store(&mgr->start_offsets_dirty, true);
    }
    pthread_mutex_unlock(&mgr->checkpoint_mu);
    return rc;
}

/* ---- the table ---- */

static int table_add(struct log_manager *mgr, const char *topic, int32_t partition,
                     size_t dir_index, struct partition_log *log)
{
    struct partition_entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->topic = strdup(topic))) {
        free(e);
        return -ENOMEM;
    }
    e->partition = partition;
    e->dir_index = dir_index;
    e->log = log;
    size_t b = bucket_of(topic, partition);
    e->next = mgr->buckets[b];
    mgr->buckets[b] = e;
    mgr->count++;
    mgr->dir_partitions[dir_index]++;
    return 0;
}

static void attach(struct log_manager *mgr, struct partition_log *log)
{
    partition_log_set_start_offset_hook(log, start_offset_moved, mgr);
    if (mgr->flusher)
        log_flusher_register(mgr->flusher, log);
    if (mgr->cleaner)
        log_cleaner_add(mgr->cleaner, log);
}

static void detach(struct log_manager *mgr, struct partition_log *log)
{
    if (mgr->flusher)
        log_flusher_unregister(mgr->flusher, log);
    if (mgr->cleaner)
        log_cleaner_remove(mgr->cleaner, log);
}

/* "<topic>-<partition>" -> topic (malloc'd) and partition; false if not a partition dir. */
static bool parse_partition_dir(const char *name, char **topic, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1])
        return false;
    long p = 0;
    for (const char *c = dash + 1; *c; c++) {
        if (*c < '0' || *c > '9' || p > 100000000)
            return false;
        p = p * 10 + (*c - '0');
    }
    *topic = strndup(name, (size_t)(dash - name));
    *partition = (int32_t)p;
    return *topic != NULL;
}

static int compare_entries(const void *a, const void *b)
{
    const struct offset_checkpoint_entry *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Entries sorted by compare_entries (a linear search per partition made loading quadratic). */
static int64_t checkpoint_lookup(const struct offset_checkpoint_entry *e, size_t n,
                                 const char *topic, int32_t partition, int64_t dflt)
{
    struct offset_checkpoint_entry key = {.topic = (char *)topic, .partition = partition};
    const struct offset_checkpoint_entry *found = n ? bsearch(&key, e, n, sizeof *e, compare_entries) : NULL;
    return found ? found->offset : dflt;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove `<...>-delete` directories left in every log dir. */
static void purge_deleted_dirs(struct log_manager *mgr)
{
    for (size_t d = 0; d < mgr->dir_count; d++) {
        DIR *dir = opendir(mgr->dirs[d]);
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 8 || strcmp(e->d_name + len - 7, "-delete") != 0)
                continue;
            char *path = dir_file(mgr->dirs[d], e->d_name);
            if (path && nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
                log_info("log", "Deleted log directory %s", path);
            free(path);
        }
        if (dir)
            closedir(dir);
    }
}

/* ---- loading at start-up ---- */

#define MAX_LOADERS_PER_DIR 64 /* Kafka accepts any count; more threads than this would only cost */

struct dir_checkpoints {
    struct offset_checkpoint_entry *cp[3];
    size_t n[3];
};

/* What start-up knows of one log dir. */
struct dir_scan {
    struct dir_checkpoints cps;
    bool clean; /* the clean-shutdown marker was there */
};

/* One partition directory to open. */
struct load_item {
    size_t dir_index;
    char *path;
    char *topic;
    int32_t partition;
};

struct load_plan {
    struct log_manager *mgr;
    struct dir_scan *dirs;
    struct load_item *items;
    size_t count, cap;
    atomic_size_t next;  /* the next item a loader takes */
    atomic_int fatal_rc; /* a failure that is not one partition's fault: stop */
};

static void read_dir_checkpoints(const char *root, struct dir_checkpoints *cps)
{
    for (int k = 0; k < 3; k++) {
        char *path = dir_file(root, CHECKPOINT_FILES[k]);
        int rc = path ? offset_checkpoint_read(path, &cps->cp[k], &cps->n[k]) : -ENOMEM;
        if (rc != 0)
            log_warn("log", "Ignoring unreadable %s: %s", path ? path : "?", strerror(-rc));
        else if (cps->n[k] > 1)
            qsort(cps->cp[k], cps->n[k], sizeof *cps->cp[k], compare_entries);
        free(path);
    }
}

static int plan_add(struct load_plan *plan, size_t d, char *path, char *topic, int32_t partition)
{
    if (plan->count == plan->cap) {
        size_t cap = plan->cap ? plan->cap * 2 : 64;
        struct load_item *items = realloc(plan->items, cap * sizeof *items);
        if (!items)
            return -ENOMEM;
        plan->items = items;
        plan->cap = cap;
    }
    plan->items[plan->count++] = (struct load_item){d, path, topic, partition};
    return 0;
}

/* Read dir d's checkpoints and marker and list its partition directories into the plan. */
static int scan_dir(struct load_plan *plan, size_t d)
{
    const char *root = plan->mgr->dirs[d];
    struct dir_scan *scan = &plan->dirs[d];
    char *marker = dir_file(root, LOG_CLEAN_SHUTDOWN_FILE);
    if (!marker)
        return -ENOMEM;
    scan->clean = access(marker, F_OK) == 0;
    free(marker);
    read_dir_checkpoints(root, &scan->cps);
    DIR *dir = opendir(root);
    if (!dir)
        return -errno;
    size_t found = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        char *topic;
        int32_t partition;
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(e->d_name);
        if (len >= 7 && strcmp(e->d_name + len - 7, "-delete") == 0)
            continue;
        /* The metadata log (cluster/metadata_log.h) owns this one, as in Kafka. */
        if (strcmp(e->d_name, "__cluster_metadata-0") == 0)
            continue;
        if (!parse_partition_dir(e->d_name, &topic, &partition))
            continue;
        char *path = dir_file(root, e->d_name);
        struct stat st;
        bool wanted = path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if (wanted && plan_add(plan, d, path, topic, partition) == 0) {
            found++;
            continue; /* the plan owns path and topic */
        }
        if (!path || wanted)
            rc = -ENOMEM;
        free(path);
        free(topic);
    }
    closedir(dir);
    if (!scan->clean && found > 0)
        log_warn("log", "No clean shutdown marker in %s: recovering unflushed segments", root);
    return rc;
}

/* Open one partition and put it in the table. */
static void load_partition(struct load_plan *plan, const struct load_item *item)
{
    struct log_manager *mgr = plan->mgr;
    const struct dir_scan *scan = &plan->dirs[item->dir_index];
    const struct dir_checkpoints *cps = &scan->cps;
    const char *topic = item->topic;
    int32_t partition = item->partition;
    struct partition_log_open_args args = {
        .dir = item->path, .topic = topic, .partition = partition, .config = &mgr->config.defaults,
        .recovery_point = checkpoint_lookup(cps->cp[CP_RECOVERY], cps->n[CP_RECOVERY], topic, partition, 0),
        .log_start_offset = checkpoint_lookup(cps->cp[CP_START], cps->n[CP_START], topic, partition, 0),
        .clean_shutdown = scan->clean, .now_ms = wall_ms()};
    struct partition_log *log;
    int rc = partition_log_open(&args, &log);
    if (rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM) {
        /* Not this partition's fault: starting with some partitions missing would
         * leave them in the metadata, failing every request, until the next restart. */
        log_error("log", "Could not load partition %s: %s%s", item->path, strerror(-rc),
                  rc == -ENOMEM ? "" : " (raise the open-file limit, ulimit -n: one file per segment, "
                                       "three for a partition's newest)");
        atomic_store(&plan->fatal_rc, rc);
        return;
    }
    if (rc != 0) {
        log_error("log", "Could not load partition %s: %s", item->path, strerror(-rc));
        return;
    }
    int64_t cleaner = checkpoint_lookup(cps->cp[CP_CLEANER], cps->n[CP_CLEANER], topic, partition, -1);
    if (cleaner >= 0)
        partition_log_set_cleaner_checkpoint(log, cleaner);
    pthread_rwlock_wrlock(&mgr->table_lock);
    rc = table_add(mgr, topic, partition, item->dir_index, log);
    pthread_rwlock_unlock(&mgr->table_lock);
    if (rc != 0) {
        atomic_store(&plan->fatal_rc, rc);
        partition_log_close(log, false);
        return;
    }
    attach(mgr, log);
}

static void *load_partitions(void *arg)
{
    struct load_plan *plan = arg;
    size_t i;
    while (atomic_load(&plan->fatal_rc) == 0 && (i = atomic_fetch_add(&plan->next, 1)) < plan->count)
        load_partition(plan, &plan->items[i]);
    return NULL;
}

/*
 * Open every partition of every log dir, num.recovery.threads.per.data.dir
 * threads per dir (Kafka's setting: recovery after a crash reads, copies and
 * CRCs every segment past the recovery point, work that threads can share),
 * then remove the clean-shutdown markers.
 */
static int load_all_dirs(struct log_manager *mgr)
{
    struct load_plan plan = {.mgr = mgr};
    plan.dirs = calloc(mgr->dir_count, sizeof *plan.dirs);
    int rc = plan.dirs ? 0 : -ENOMEM;
    for (size_t d = 0; rc == 0 && d < mgr->dir_count; d++)
        rc = scan_dir(&plan, d);
    int32_t per_dir = mgr->config.recovery_threads_per_dir;
    per_dir = per_dir < 1 ? 1 : per_dir > MAX_LOADERS_PER_DIR ? MAX_LOADERS_PER_DIR : per_dir;
    size_t threads = (size_t)per_dir * mgr->dir_count;
    if (threads > plan.count)
        threads = plan.count;
    pthread_t *ids = rc == 0 && threads > 1 ? calloc(threads, sizeof *ids) : NULL;
    size_t started = 0;
    for (size_t t = 1; ids && t < threads; t++) /* this thread is the first loader */
        if (thread_start(&ids[started], load_partitions, &plan, "eddy-recovery") == 0)
            started++;
    if (rc == 0)
        load_partitions(&plan);
    for (size_t t = 0; t < started; t++)
        pthread_join(ids[t], NULL);
    free(ids);
    if (rc == 0)
        rc = atomic_load(&plan.fatal_rc);
    for (size_t d = 0; plan.dirs && d < mgr->dir_count; d++) {
        char *marker = dir_file(mgr->dirs[d], LOG_CLEAN_SHUTDOWN_FILE);
        if (rc == 0 && plan.dirs[d].clean && (!marker || unlink(marker) != 0))
            rc = marker ? -errno : -ENOMEM;
        free(marker);
        for (int k = 0; k < 3; k++)
            offset_checkpoint_free(plan.dirs[d].cps.cp[k], plan.dirs[d].cps.n[k]);
    }
    for (size_t i = 0; i < plan.count; i++) {
        free(plan.items[i].path);
        free(plan.items[i].topic);
    }
    free(plan.items);
    free(plan.dirs);
    return rc;
}

/* ---- housekeeper thread ---- */

static void *housekeeper_main(void *arg)
{
    struct log_manager *mgr = arg;
    thread_set_nice(THREAD_BACKGROUND_NICE); /* deleting a big topic's directories competed with the loop */
    int64_t next_retention = wall_ms() + mgr->config.retention_check_interval_ms;
    int64_t next_checkpoint = wall_ms() + mgr->config.checkpoint_interval_ms;
    pthread_mutex_lock(&mgr->hk_mu);
    while (!mgr->hk_stop) {
        int64_t now = wall_ms();
        int64_t next = next_retention < next_checkpoint ? next_retention : next_checkpoint;
        if (!mgr->hk_woken && next > now) {
            int64_t wait = next - now;
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += wait / 1000;
            deadline.tv_nsec += (wait % 1000) * 1000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&mgr->hk_cv, &mgr->hk_mu, &deadline);
        }
        bool woken = mgr->hk_woken;
        mgr->hk_woken = false;
        if (mgr->hk_stop)
            break;
        pthread_mutex_unlock(&mgr->hk_mu);
        now = wall_ms();
        if (woken)
            purge_deleted_dirs(mgr);
        if (now >= next_retention) {
            log_manager_check_retention(mgr, now);
            log_manager_persist_start_offsets(mgr);
            purge_deleted_dirs(mgr);
            next_retention = now + mgr->config.retention_check_interval_ms;
        }
        if (now >= next_checkpoint) {
            for (size_t d = 0; d < mgr->dir_count; d++)
                write_dir_checkpoint(mgr, d, CP_RECOVERY);
            for (size_t d = 0; d < mgr->dir_count; d++)
                write_dir_checkpoint(mgr, d, CP_CLEANER);
            next_checkpoint = now + mgr->config.checkpoint_interval_ms;
        }
        pthread_mutex_lock(&mgr->hk_mu);
    }
    pthread_mutex_unlock(&mgr->hk_mu);
    return NULL;
}

int log_manager_check_retention(struct log_manager *mgr, int64_t now_ms)
{
    size_t n;
    struct partition_entry *parts = snapshot(mgr, -1, &n);
    int deleted = 0;
    for (size_t i = 0; parts && i < n; i++)
        deleted += partition_log_apply_retention(parts[i].log, now_ms);
    snapshot_free(parts, n);
    return deleted;
}

/* ---- lifecycle ---- */

static void manager_free(struct log_manager *mgr)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        struct partition_entry *e = mgr->buckets[b];
        while (e) {
            struct partition_entry *next = e->next;
            free(e->topic);
            free(e);
            e = next;
        }
    }
    for (size_t d = 0; d < mgr->dir_count; d++)
        free(mgr->dirs[d]);
    free(mgr->dirs);
    free(mgr->dir_partitions);
    pthread_rwlock_destroy(&mgr->table_lock);
    pthread_mutex_destroy(&mgr->checkpoint_mu);
    pthread_mutex_destroy(&mgr->hk_mu);
    pthread_cond_destroy(&mgr->hk_cv);
    free(mgr);
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int log_manager_open(const struct log_manager_config *config, struct log_manager **out)
{
    if (config->log_dir_count == 0)
        return -EINVAL;
    struct log_manager *mgr = calloc(1, sizeof(*mgr));
    if (!mgr)
        return -ENOMEM;
    pthread_rwlock_init(&mgr->table_lock, NULL);
    pthread_mutex_init(&mgr->checkpoint_mu, NULL);
    pthread_mutex_init(&mgr->hk_mu, NULL);
    pthread_cond_init(&mgr->hk_cv, NULL);
    mgr->config = *config;
    if (mgr->config.retention_check_interval_ms <= 0)
        mgr->config.retention_check_interval_ms = 300000;
    if (mgr->config.checkpoint_interval_ms <= 0)
        mgr->config.checkpoint_interval_ms = 60000;
    mgr->dirs = calloc(config->log_dir_count, sizeof(char *));
    mgr->dir_partitions = calloc(config->log_dir_count, sizeof(size_t));
    int rc = mgr->dirs && mgr->dir_partitions ? 0 : -ENOMEM;
    for (size_t d = 0; rc == 0 && d < config->log_dir_count; d++) {
        mgr->dirs[d] = strdup(config->log_dirs[d]);
        mgr->dir_count++;
        rc = mgr->dirs[d] ? mkdir_p(mgr->dirs[d]) : -ENOMEM;
        if (rc != 0)
            log_error("log", "Cannot use log dir %s: %s", config->log_dirs[d], strerror(-rc));
    }
    mgr->config.log_dirs = NULL;
    if (rc == 0)
        rc = log_flusher_start(config->on_durable, config->on_durable_ctx, &mgr->flusher);
    if (rc == 0)
        log_flusher_set_sync_pause(mgr->flusher, config->flush_pause_us);
    if (rc == 0 && config->page_cache_bytes > 0)
        log_flusher_set_cache_budget(mgr->flusher, (uint64_t)config->page_cache_bytes);
    if (rc == 0)
        rc = log_pager_start(&mgr->pager);
    if (rc == 0 && config->cleaner_enable)
        rc = log_cleaner_start(config->cleaner_backoff_ms, &mgr->cleaner);
    int64_t started = wall_ms();
    if (rc == 0)
        rc = load_all_dirs(mgr);
    if (rc == 0) {
        log_info("log", "Loaded %zu partitions from %zu log dir(s) in %" PRId64 " ms", mgr->count,
                 mgr->dir_count, wall_ms() - started);
        int64_t limit, left = fd_budget_available(&limit);
        if (left >= 0 && left < limit / 5)
            log_warn("log", "%" PRId64 " of %" PRId64 " open files in use after loading the logs: new segments "
                     "and connections will soon fail (raise ulimit -n)", limit - left, limit);
        rc = log_manager_write_checkpoints(mgr);
    }
    if (rc == 0) {
        purge_deleted_dirs(mgr);
        rc = thread_start(&mgr->housekeeper, housekeeper_main, mgr, "eddy-housekeep");
        mgr->housekeeper_running = rc == 0;
    }
    if (rc != 0) {
        log_manager_close(mgr);
        return rc;
    }
    *out = mgr;
    return 0;
}

/* Closing a partition cleanly fsyncs its newest segment and indexes: with
 * thousands of partitions, one after another took seconds. */
#define CLOSE_THREADS 4

struct close_stripe {
    struct partition_entry *parts;
    size_t n, first;
    atomic_bool *all_clean;
};

static void *close_stripe(void *arg)
{
    struct close_stripe *s = arg;
    for (size_t i = s->first; i < s->n; i += CLOSE_THREADS)
        if (!partition_log_close(s->parts[i].log, true)) /* drops the table's reference */
            atomic_store(s->all_clean, false);
    return NULL;
}

static bool close_all_partitions(struct partition_entry *parts, size_t n)
{
    atomic_bool all_clean = true;
    struct close_stripe stripes[CLOSE_THREADS];
    pthread_t threads[CLOSE_THREADS];
    bool started[CLOSE_THREADS] = {false};
    for (size_t t = 0; t < CLOSE_THREADS; t++) {
        stripes[t] = (struct close_stripe){parts, n, t, &all_clean};
        started[t] = t > 0 && thread_start(&threads[t], close_stripe, &stripes[t], "eddy-close") == 0;
    }
    for (size_t t = 0; t < CLOSE_THREADS; t++)
        if (!started[t])
            close_stripe(&stripes[t]); /* this thread's own stripe, or one no thread took */
    for (size_t t = 0; t < CLOSE_THREADS; t++)
        if (started[t])
            pthread_join(threads[t], NULL);
    return atomic_load(&all_clean);
}

void log_manager_close(struct log_manager *mgr)
{
    if (!mgr)
        return;
    /* Queued deletions finish; logs made and not installed are closed: loaded again at start. */
    log_dir_worker_stop(mgr->dir_worker);
    mgr->dir_worker = NULL;
    if (mgr->housekeeper_running) {
        pthread_mutex_lock(&mgr->hk_mu);
        mgr->hk_stop = true;
        pthread_cond_signal(&mgr->hk_cv);
        pthread_mutex_unlock(&mgr->hk_mu);
        pthread_join(mgr->housekeeper, NULL);
    }
    log_cleaner_stop(mgr->cleaner);
    mgr->cleaner = NULL;
    log_pager_stop(mgr->pager);
    mgr->pager = NULL;
    log_flusher_stop(mgr->flusher);
    mgr->flusher = NULL;
    /* Close every partition cleanly (fsync), then checkpoints, then the markers. */
    size_t n;
    struct partition_entry *parts = snapshot(mgr, -1, &n);
    bool all_clean = parts != NULL && close_all_partitions(parts, n);
    if (log_manager_write_checkpoints(mgr) != 0)
        all_clean = false;
    snapshot_free(parts, n);
    for (size_t d = 0; all_clean && d < mgr->dir_count; d++) {
        char *marker = dir_file(mgr->dirs[d], LOG_CLEAN_SHUTDOWN_FILE);
        if (marker && checkpoint_write_file(marker, "", 0) != 0)
            log_error("log", "Could not write %s", marker);
        free(marker);
    }
    manager_free(mgr);
}

/* ---- partitions ---- */

struct partition_log *log_manager_get(struct log_manager *mgr, const char *topic,
                                      int32_t partition)
{
    pthread_rwlock_rdlock(&mgr->table_lock);
    struct partition_entry *e = find_locked(mgr, topic, partition);
    struct partition_log *log = e ? e->log : NULL;
    pthread_rwlock_unlock(&mgr->table_lock);
    return log;
}

/* Under table_lock. */
static size_t least_used_dir(const struct log_manager *mgr)
{
    size_t d = 0;
    for (size_t i = 1; i < mgr->dir_count; i++)
        if (mgr->dir_partitions[i] < mgr->dir_partitions[d])
            d = i;
    return d;
}

static char *partition_dir(const struct log_manager *mgr, size_t d, const char *topic, int32_t partition)
{
    char name[512];
    snprintf(name, sizeof(name), "%s-%" PRId32, topic, partition);
    return dir_file(mgr->dirs[d], name);
}

int log_manager_create(struct log_manager *mgr, const char *topic, int32_t partition,
                       const uint8_t topic_id[16], const struct log_config *config,
                       struct partition_log **out)
{
    if (mgr->dir_worker) /* a deleted partition's directory must be renamed away first */
        log_dir_worker_wait_removed(mgr->dir_worker, topic);
    pthread_rwlock_wrlock(&mgr->table_lock);
    struct partition_entry *e = find_locked(mgr, topic, partition);
    if (e) {
        *out = e->log;
        pthread_rwlock_unlock(&mgr->table_lock);
        return 0;
    }
    size_t d = least_used_dir(mgr);
    char *path = partition_dir(mgr, d, topic, partition);
    struct partition_log_open_args args = {.dir = path, .topic = topic, .partition = partition,
                                           .config = config ? config : &mgr->config.defaults,
                                           .clean_shutdown = true, .now_ms = wall_ms()};
    struct partition_log *log = NULL;
    int rc = path ? partition_log_open(&args, &log) : -ENOMEM;
    if (rc == 0 && topic_id)
        rc = partition_log_set_topic_id(log, topic_id);
    if (rc == 0)
        rc = table_add(mgr, topic, partition, d, log);
    pthread_rwlock_unlock(&mgr->table_lock);
    free(path);
    if (rc != 0) {
        if (log)
            partition_log_close(log, false);
        return rc;
    }
    attach(mgr, log);
    *out = log;
    return 0;
}

/* ---- creation and deletion off the caller's thread ---- */

static void logs_created(void *ctx)
{
    struct log_manager *mgr = ctx;
    if (mgr->config.on_created)
        mgr->config.on_created(mgr->config.on_created_ctx);
}

static void wake_housekeeper(struct log_manager *mgr)
{
    pthread_mutex_lock(&mgr->hk_mu);
    mgr->hk_woken = true;
    pthread_cond_signal(&mgr->hk_cv);
    pthread_mutex_unlock(&mgr->hk_mu);
}

static void logs_removed(void *ctx)
{
    wake_housekeeper(ctx); /* it deletes the renamed directories */
}

static int start_dir_worker(struct log_manager *mgr)
{
    if (mgr->dir_worker)
        return 0;
    struct log_dir_worker_callbacks callbacks = {.created = logs_created, .removed = logs_removed, .ctx = mgr};
    return log_dir_worker_start(&callbacks, &mgr->dir_worker);
}

int log_manager_create_later(struct log_manager *mgr, const char *topic, int32_t partition,
                             const uint8_t topic_id[16], const struct log_config *config)
{
    if (!mgr->config.on_created)
        return -ENOTSUP;
    int rc = start_dir_worker(mgr);
    if (rc != 0)
        return rc;
    pthread_rwlock_wrlock(&mgr->table_lock);
    if (find_locked(mgr, topic, partition)) {
        pthread_rwlock_unlock(&mgr->table_lock);
        return 0;
    }
    size_t d = least_used_dir(mgr);
    char *path = partition_dir(mgr, d, topic, partition);
    struct log_dir_job *job =
        path ? log_dir_job_create(topic, partition, topic_id, config ? config : &mgr->config.defaults, path, d) : NULL;
    free(path);
    if (job)
        mgr->dir_partitions[d]++; /* held for it, so that the next ones spread over the dirs */
    pthread_rwlock_unlock(&mgr->table_lock);
    if (!job)
        return -ENOMEM;
    log_dir_worker_submit(mgr->dir_worker, job);
    return 0;
}

static void release_dir(struct log_manager *mgr, size_t d)
{
    pthread_rwlock_wrlock(&mgr->table_lock);
    mgr->dir_partitions[d]--;
    pthread_rwlock_unlock(&mgr->table_lock);
}

/* Put a finished log in the table; false if it must go (its partition exists already). */
static bool install(struct log_manager *mgr, struct log_dir_job *job)
{
    pthread_rwlock_wrlock(&mgr->table_lock);
    mgr->dir_partitions[job->dir_index]--;
    int rc = find_locked(mgr, job->topic, job->partition) ? -EEXIST
                                                          : table_add(mgr, job->topic, job->partition, job->dir_index, job->log);
    pthread_rwlock_unlock(&mgr->table_lock);
    if (rc != 0)
        return false;
    attach(mgr, job->log);
    return true;
}

size_t log_manager_install_created(struct log_manager *mgr, bool (*adopt)(void *ctx, struct partition_log *log),
                                   void *ctx)
{
    if (!mgr->dir_worker)
        return 0;
    size_t installed = 0;
    struct log_dir_job *job = log_dir_worker_take_created(mgr->dir_worker);
    while (job) {
        struct log_dir_job *next = job->next;
        if (!job->log) {
            log_error("log", "Could not create %s: %s", job->dir, strerror(-job->rc));
            release_dir(mgr, job->dir_index);
        } else {
            bool wanted = adopt(ctx, job->log);
            if (!install(mgr, job))
                partition_log_close(job->log, false); /* made inline meanwhile: keep that one's files */
            else if (wanted)
                installed++;
            else /* its topic went (or came back as another) while it was being made */
                (void)log_manager_delete(mgr, job->topic, job->partition);
        }
        log_dir_job_free(job);
        job = next;
    }
    return installed;
}

void log_manager_cancel_creation(struct log_manager *mgr, const char *topic)
{
    if (!mgr->dir_worker)
        return;
    struct log_dir_job *job = log_dir_worker_cancel_creations(mgr->dir_worker, topic);
    while (job) {
        struct log_dir_job *next = job->next;
        release_dir(mgr, job->dir_index);
        log_dir_job_free(job);
        job = next;
    }
}

size_t log_manager_creating(struct log_manager *mgr, const char *topic)
{
    return mgr->dir_worker ? log_dir_worker_creating(mgr->dir_worker, topic) : 0;
}

size_t log_manager_removing(struct log_manager *mgr, const char *topic)
{
    return mgr->dir_worker ? log_dir_worker_removing(mgr->dir_worker, topic) : 0;
}

/* "<dir>/<topic>-<partition>" -> "<dir>/<topic>-<partition>.<uuid>-delete" (malloc'd), as Kafka names them. */
static char *deletion_name(const char *dir)
{
    uint8_t uuid[16];
    if (getrandom(uuid, sizeof(uuid), 0) != (ssize_t)sizeof(uuid))
        memset(uuid, 0, sizeof(uuid));
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", uuid[i]);
    size_t len = strlen(dir) + 48;
    char *to = malloc(len);
    if (!to)
        return NULL;
    /* The last component must fit NAME_MAX (255) even for 249-char topic
     * names: keep at most 215 chars of "<topic>-<partition>" before the
     * 40-char ".<uuid>-delete" suffix, as Kafka truncates too. */
    const char *slash = strrchr(dir, '/');
    int parent = slash ? (int)(slash - dir + 1) : 0;
    snprintf(to, len, "%.*s%.215s.%s-delete", parent, dir, dir + parent, hex);
    return to;
}

int log_manager_delete(struct log_manager *mgr, const char *topic, int32_t partition)
{
    pthread_rwlock_wrlock(&mgr->table_lock);
    struct partition_entry **link = &mgr->buckets[bucket_of(topic, partition)];
    while (*link && !((*link)->partition == partition && strcmp((*link)->topic, topic) == 0))
        link = &(*link)->next;
    struct partition_entry *e = *link;
    if (e) {
        *link = e->next;
        mgr->count--;
        mgr->dir_partitions[e->dir_index]--;
    }
    pthread_rwlock_unlock(&mgr->table_lock);
    if (!e)
        return -ENOENT;
    struct partition_log *log = e->log;
    detach(mgr, log);
    char *removed_dir = deletion_name(partition_log_dir(log));
    struct log_dir_job *job =
        removed_dir ? log_dir_job_remove(topic, partition, log, partition_log_dir(log), removed_dir) : NULL;
    free(removed_dir);
    free(e->topic);
    free(e);
    if (!job) {
        /* The next start deletes the directory: its topic is not in the metadata. */
        log_error("log", "out of memory: partition %s-%" PRId32 " closed, its directory left", topic, partition);
        partition_log_close(log, false);
        return -ENOMEM;
    }
    if (start_dir_worker(mgr) == 0) {
        log_dir_worker_submit(mgr->dir_worker, job);
        return 0;
    }
    log_dir_job_run(job); /* no thread to hand it to: here, as before there was one */
    int rc = job->rc;
    log_dir_job_free(job);
    wake_housekeeper(mgr);
    return rc;
}

void log_manager_foreach(struct log_manager *mgr,
                         void (*fn)(void *ctx, struct partition_log *log), void *ctx)
{
    size_t n;
    struct partition_entry *parts = snapshot(mgr, -1, &n);
    for (size_t i = 0; parts && i < n; i++)
        fn(ctx, parts[i].log);
    snapshot_free(parts, n);
}

size_t log_manager_partition_count(struct log_manager *mgr)
{
    pthread_rwlock_rdlock(&mgr->table_lock);
    size_t n = mgr->count;
    pthread_rwlock_unlock(&mgr->table_lock);
    return n;
}

struct log_flusher *log_manager_flusher(struct log_manager *mgr)
{
    return mgr->flusher;
}

struct log_pager *log_manager_pager(struct log_manager *mgr)
{
    return mgr->pager;
}

void log_manager_wake_cleaner(struct log_manager *mgr)
{
    if (mgr->cleaner)
        log_cleaner_wake(mgr->cleaner);
}
