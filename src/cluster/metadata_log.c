/*
 * metadata_log.c - the durable metadata log and its snapshots (see the header
 * for the file layout).
 */
#include "cluster/metadata_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/log_checkpoint.h"
#include "log/partition_log.h"
#include "protocol/record_batch.h"
#include "util/logger.h"
#include "util/thread.h"

#define READ_CHUNK_BYTES (1u << 20)
#define SNAPSHOT_BATCH_RECORDS 1000
#define SNAPSHOT_SUFFIX ".checkpoint"

/* The thread that fsyncs appends for metadata_log_request_sync. */
struct syncer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, requested, stop;
    int64_t durable_end; /* offsets below it are on disk */
    int error;           /* -errno of a failed fsync (sticky) */
    uint8_t *snapshot_buf; /* a snapshot to write (snapshot_in_background), or NULL */
    size_t snapshot_len, snapshot_records;
    int64_t snapshot_offset;
    void (*synced)(void *ctx);
    void *ctx;
};

struct metadata_log {
    char *dir;
    struct partition_log *log;
    int64_t snapshot_offset;        /* -1: none */
    int64_t records_since_snapshot;
    int64_t replayed;
    uint8_t *unapplied; /* the batch appended and not yet applied (metadata_log_append) */
    size_t unapplied_len;
    size_t unapplied_count;
    struct syncer syncer;
};

static int64_t wall_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The metadata log never expires data by time or size: snapshots trim it. */
static void metadata_log_config(struct log_config *c)
{
    log_config_defaults(c);
    c->segment_bytes = 8 << 20;
    c->retention_ms = -1;
    c->retention_bytes = -1;
    c->max_message_bytes = 64 << 20;
}

/* ---------------------------------------------------------------- replay */

/* Check every batch of buf (length and CRC) before any is applied. */
static bool batches_valid(const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        struct record_batch_header h;
        if (record_batch_parse_header(buf + pos, len - pos, &h) != 0)
            return false;
        size_t size = record_batch_total_size(&h);
        if (size > len - pos || !record_batch_crc_ok(buf + pos, size))
            return false;
        pos += size;
    }
    return true;
}

static void apply_record_bytes(struct metadata_image *img, const uint8_t *value, int32_t len, int64_t offset,
                               struct arena *a)
{
    struct metadata_record rec;
    if (len < 0) {
        log_warn("metadata", "skipping metadata record at offset %" PRId64 " with no value", offset);
        return;
    }
    int rc = metadata_record_decode(value, (size_t)len, &rec, a);
    if (rc == 0)
        rc = metadata_record_apply(img, &rec);
    if (rc == -ENOTSUP)
        log_debug("metadata", "ignoring metadata record type %d at offset %" PRId64, rec.type, offset);
    else if (rc != 0)
        log_warn("metadata", "skipping metadata record type %d at offset %" PRId64 ": %s", rec.type, offset,
                 strerror(-rc));
}

/*
 * Apply the records of the (already validated) batches in buf whose offsets
 * are >= *next_offset; *next_offset ends after the last batch. Returns the
 * number of records applied.
 */
static int64_t apply_batches(const uint8_t *buf, size_t len, struct metadata_image *img, int64_t *next_offset)
{
    int64_t applied = 0;
    struct arena a;
    arena_init(&a);
    size_t pos = 0;
    while (pos < len) {
        struct record_batch_header h;
        if (record_batch_parse_header(buf + pos, len - pos, &h) != 0)
            break;
        size_t size = record_batch_total_size(&h);
        struct record_iter it;
        if (!(h.attributes & BATCH_ATTR_CONTROL) && record_iter_open(&it, buf + pos, size) == 0) {
            struct record r;
            while (record_iter_next(&it, &r) == 1) {
                int64_t offset = h.base_offset + r.offset_delta;
                if (offset < *next_offset)
                    continue;
                apply_record_bytes(img, r.value, r.value_len, offset, &a);
                applied++;
            }
            record_iter_close(&it);
        }
        arena_reset(&a);
        int64_t after = h.base_offset + h.last_offset_delta + 1;
        if (after > *next_offset)
            *next_offset = after;
        pos += size;
    }
    arena_free(&a);
    return applied;
}

static int read_whole_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    if (!buf)
        return -ENOMEM;
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* ---------------------------------------------------------------- snapshots */

static bool parse_snapshot_name(const char *name, int64_t *offset)
{
    long long off;
    int epoch, used = 0;
    if (sscanf(name, "%20lld-%10d%n", &off, &epoch, &used) != 2)
        return false;
    if (strcmp(name + used, SNAPSHOT_SUFFIX) != 0 || off < 0)
        return false;
    *offset = off;
    return true;
}

/* Offsets of the snapshots in dir, newest first. Returns the count (<= cap). */
static size_t list_snapshots(const char *dir, int64_t *offsets, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        int64_t off;
        if (parse_snapshot_name(e->d_name, &off))
            offsets[n++] = off;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort, descending: a handful of files */
        for (size_t j = i; j > 0 && offsets[j] > offsets[j - 1]; j--) {
            int64_t t = offsets[j];
            offsets[j] = offsets[j - 1];
            offsets[j - 1] = t;
        }
    return n;
}

static void snapshot_path(const char *dir, int64_t offset, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%020" PRId64 "-%010d" SNAPSHOT_SUFFIX, dir, offset, 0);
}

/* Load the newest valid snapshot into img. Its offset, or -1 if none. */
static int64_t load_newest_snapshot(const char *dir, struct metadata_image *img)
{
    int64_t offsets[64];
    size_t n = list_snapshots(dir, offsets, 64);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snapshot_path(dir, offsets[i], path, sizeof path);
        uint8_t *buf = NULL;
        size_t len = 0;
        if (read_whole_file(path, &buf, &len) != 0)
            continue;
        if (!batches_valid(buf, len)) {
            log_warn("metadata", "ignoring damaged snapshot %s", path);
            free(buf);
            continue;
        }
        int64_t next = 0;
        int64_t records = apply_batches(buf, len, img, &next);
        free(buf);
        log_info("metadata", "loaded snapshot %s (%" PRId64 " records)", path, records);
        return offsets[i];
    }
    return -1;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Encode recs[0..count) into batch bytes with offsets starting at base. malloc'd. */
static int build_batch(const struct metadata_record *recs, size_t count, int64_t base, uint8_t **out,
                       size_t *out_len)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        size_t s = metadata_record_size(&recs[i]);
        if (s == 0)
            return -EINVAL;
        total += s;
    }
    uint8_t *values = malloc(total ? total : 1);
    struct record_builder_entry *entries = calloc(count ? count : 1, sizeof *entries);
    int rc = (values && entries) ? 0 : -ENOMEM;
    size_t pos = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        int n = metadata_record_encode(&recs[i], values + pos, total - pos);
        if (n < 0) {
            rc = n;
            break;
        }
        entries[i].offset_delta = (int64_t)i;
        entries[i].key_len = -1;
        entries[i].value = values + pos;
        entries[i].value_len = n;
        pos += (size_t)n;
    }
    if (rc == 0) {
        int64_t now = wall_clock_ms();
        struct record_batch_header h = {
            .base_offset = base,
            .magic = 2,
            .last_offset_delta = (int32_t)(count - 1),
            .base_timestamp = now,
            .max_timestamp = now,
            .producer_id = -1,
            .producer_epoch = -1,
            .base_sequence = -1,
        };
        rc = record_batch_build(&h, entries, count, out, out_len);
    }
    free(values);
    free(entries);
    return rc;
}

/* The whole snapshot: recs as batches of SNAPSHOT_BATCH_RECORDS, in one malloc'd buffer. */
static int encode_snapshot(const struct metadata_record *recs, size_t count, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i += SNAPSHOT_BATCH_RECORDS) {
        size_t n = count - i < SNAPSHOT_BATCH_RECORDS ? count - i : SNAPSHOT_BATCH_RECORDS;
        uint8_t *batch;
        size_t batch_len;
        rc = build_batch(recs + i, n, (int64_t)i, &batch, &batch_len);
        if (rc != 0)
            break;
        uint8_t *grown = realloc(buf, len + batch_len);
        if (grown) {
            memcpy(grown + len, batch, batch_len);
            buf = grown;
            len += batch_len;
        } else {
            rc = -ENOMEM;
        }
        free(batch);
    }
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int write_snapshot_file(const char *dir, int64_t offset, const uint8_t *buf, size_t len)
{
    char path[4096], tmp[4200];
    snapshot_path(dir, offset, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, buf, len);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    return log_dir_fsync(dir);
}

static void delete_older_snapshots(const char *dir, int64_t keep)
{
    int64_t offsets[64];
    size_t n = list_snapshots(dir, offsets, 64);
    for (size_t i = 0; i < n; i++) {
        if (offsets[i] >= keep)
            continue;
        char path[4096];
        snapshot_path(dir, offsets[i], path, sizeof path);
        unlink(path);
    }
}

/* The image as of `offset`, encoded on the loop (the image is the loop's). */
static int snapshot_bytes(const struct metadata_image *img, uint8_t **buf, size_t *len, size_t *records)
{
    struct arena a;
    arena_init(&a);
    struct metadata_record *recs;
    int rc = metadata_image_to_records(img, &a, &recs, records);
    if (rc == 0)
        rc = encode_snapshot(recs, *records, buf, len);
    arena_free(&a);
    return rc;
}

/* Write the snapshot, then trim the log and older snapshots behind it. Any thread. */
static int store_snapshot(struct metadata_log *ml, int64_t offset, const uint8_t *buf, size_t len, size_t records)
{
    int rc = write_snapshot_file(ml->dir, offset, buf, len);
    if (rc != 0) {
        log_error("metadata", "cannot write a metadata snapshot in %s: %s", ml->dir, strerror(-rc));
        return rc;
    }
    pthread_mutex_lock(&ml->syncer.mu);
    ml->snapshot_offset = offset;
    pthread_mutex_unlock(&ml->syncer.mu);
    int64_t low;
    partition_log_delete_records(ml->log, offset, &low);
    delete_older_snapshots(ml->dir, offset);
    log_info("metadata", "wrote metadata snapshot at offset %" PRId64 " (%zu records)", offset, records);
    return 0;
}

int metadata_log_snapshot(struct metadata_log *ml, const struct metadata_image *img)
{
    int64_t offset = partition_log_end_offset(ml->log);
    uint8_t *buf = NULL;
    size_t len = 0, records = 0;
    int rc = snapshot_bytes(img, &buf, &len, &records);
    if (rc == 0)
        rc = store_snapshot(ml, offset, buf, len, records);
    else
        log_error("metadata", "cannot encode a metadata snapshot: %s", strerror(-rc));
    free(buf);
    if (rc == 0)
        ml->records_since_snapshot = 0;
    return rc;
}

/*
 * A snapshot written by the syncer thread: its fsync, like the log's, can
 * wait tens of ms behind ext4's journal. One at a time; a due snapshot that
 * finds one in flight waits for the next commit.
 */
static void snapshot_in_background(struct metadata_log *ml, const struct metadata_image *img)
{
    struct syncer *s = &ml->syncer;
    pthread_mutex_lock(&s->mu);
    bool busy = s->snapshot_buf != NULL;
    pthread_mutex_unlock(&s->mu);
    if (busy)
        return;
    uint8_t *buf = NULL;
    size_t len = 0, records = 0;
    int rc = snapshot_bytes(img, &buf, &len, &records);
    if (rc != 0) {
        log_error("metadata", "cannot encode a metadata snapshot: %s", strerror(-rc));
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->snapshot_buf = buf;
    s->snapshot_len = len;
    s->snapshot_records = records;
    s->snapshot_offset = partition_log_end_offset(ml->log);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    ml->records_since_snapshot = 0;
}

/* ---------------------------------------------------------------- log */

static int replay_log(struct metadata_log *ml, struct metadata_image *img, int64_t from)
{
    int64_t offset = from;
    int64_t start = partition_log_start_offset(ml->log);
    if (offset < start) {
        log_error("metadata", "metadata log %s starts at %" PRId64 " but no snapshot covers offsets below it",
                  ml->dir, start);
        offset = start;
    }
    int64_t end = partition_log_end_offset(ml->log);
    while (offset < end) {
        struct log_read_result res;
        int rc = partition_log_read(ml->log, offset, READ_CHUNK_BYTES, -1, true, &res);
        if (rc != 0 || res.total_bytes == 0) {
            log_read_result_release(&res);
            if (rc != 0)
                log_error("metadata", "cannot read metadata log %s at %" PRId64 ": error %d", ml->dir, offset, rc);
            return rc ? -EIO : 0;
        }
        uint8_t *buf = malloc(res.total_bytes);
        ssize_t n = buf ? log_read_result_copy(&res, buf, res.total_bytes) : -ENOMEM;
        log_read_result_release(&res);
        if (n < 0) {
            free(buf);
            return (int)n;
        }
        int64_t before = offset;
        ml->replayed += apply_batches(buf, (size_t)n, img, &offset);
        free(buf);
        if (offset <= before)
            return -EIO; /* no progress: never loop forever on a bad read */
    }
    return 0;
}

int metadata_log_open(const char *dir, struct metadata_image *img, struct metadata_log **out)
{
    struct metadata_log *ml = calloc(1, sizeof *ml);
    if (!ml)
        return -ENOMEM;
    pthread_mutex_init(&ml->syncer.mu, NULL);
    pthread_cond_init(&ml->syncer.cv, NULL);
    ml->dir = strdup(dir);
    if (!ml->dir) {
        metadata_log_close(ml);
        return -ENOMEM;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        int rc = -errno;
        metadata_log_close(ml);
        return rc;
    }
    ml->snapshot_offset = load_newest_snapshot(dir, img);
    struct log_config config;
    metadata_log_config(&config);
    struct partition_log_open_args args = {
        .dir = dir,
        .topic = "__cluster_metadata",
        .partition = 0,
        .config = &config,
        .recovery_point = 0,
        .log_start_offset = ml->snapshot_offset > 0 ? ml->snapshot_offset : 0,
        .clean_shutdown = false,
        .now_ms = wall_clock_ms(),
    };
    int rc = partition_log_open(&args, &ml->log);
    if (rc == 0)
        rc = replay_log(ml, img, ml->snapshot_offset > 0 ? ml->snapshot_offset : 0);
    if (rc != 0) {
        metadata_log_close(ml);
        return rc;
    }
    ml->records_since_snapshot = ml->replayed;
    ml->syncer.durable_end = partition_log_end_offset(ml->log);
    log_info("metadata", "metadata log %s: snapshot at %" PRId64 ", replayed %" PRId64 " records, end offset %" PRId64,
             dir, ml->snapshot_offset, ml->replayed, partition_log_end_offset(ml->log));
    *out = ml;
    return 0;
}

int metadata_log_append(struct metadata_log *ml, const struct metadata_record *recs, size_t count,
                        int64_t *end_offset)
{
    if (ml->unapplied)
        return -EBUSY;
    *end_offset = partition_log_end_offset(ml->log);
    if (count == 0)
        return 0;
    uint8_t *batch;
    size_t len;
    int rc = build_batch(recs, count, 0, &batch, &len);
    if (rc != 0)
        return rc;
    struct log_append_options opts = {.now_ms = wall_clock_ms(), .leader_epoch = -1, .log_append_time = false};
    struct log_append_result res;
    rc = partition_log_append(ml->log, batch, len, &opts, &res);
    if (rc != 0) {
        free(batch);
        log_error("metadata", "cannot append to the metadata log: error %d", rc);
        return -EIO;
    }
    ml->unapplied = batch;
    ml->unapplied_len = len;
    ml->unapplied_count = count;
    *end_offset = partition_log_end_offset(ml->log);
    return 0;
}

/* Remember how far the log is durable; a failure sticks (the log is offline). */
static void note_synced(struct syncer *s, int64_t durable)
{
    pthread_mutex_lock(&s->mu);
    if (durable < 0 && s->error == 0)
        s->error = (int)durable;
    if (durable > s->durable_end)
        s->durable_end = durable;
    pthread_mutex_unlock(&s->mu);
}

int64_t metadata_log_sync(struct metadata_log *ml)
{
    int64_t durable = partition_log_flush(ml->log, wall_clock_ms());
    if (durable < 0)
        log_error("metadata", "cannot fsync the metadata log: %s", strerror((int)-durable));
    note_synced(&ml->syncer, durable);
    return durable;
}

void metadata_log_apply_appended(struct metadata_log *ml, struct metadata_image *img)
{
    if (!ml->unapplied)
        return;
    int64_t from = -1; /* every record of the batch */
    apply_batches(ml->unapplied, ml->unapplied_len, img, &from);
    free(ml->unapplied);
    ml->unapplied = NULL;
    partition_log_set_high_watermark(ml->log, partition_log_end_offset(ml->log));
    ml->records_since_snapshot += (int64_t)ml->unapplied_count;
    if (ml->records_since_snapshot < METADATA_SNAPSHOT_INTERVAL_RECORDS)
        return;
    if (ml->syncer.running)
        snapshot_in_background(ml, img);
    else
        metadata_log_snapshot(ml, img);
}

int metadata_log_commit(struct metadata_log *ml, struct metadata_image *img, const struct metadata_record *recs,
                        size_t count)
{
    int64_t end;
    int rc = metadata_log_append(ml, recs, count, &end);
    if (rc != 0 || count == 0)
        return rc;
    int64_t durable = metadata_log_sync(ml);
    if (durable < 0) {
        free(ml->unapplied); /* never applied: the image stays as it was */
        ml->unapplied = NULL;
        return (int)durable;
    }
    metadata_log_apply_appended(ml, img);
    return 0;
}

/* ---------------------------------------------------------------- syncer */

static void *syncer_main(void *arg)
{
    struct metadata_log *ml = arg;
    struct syncer *s = &ml->syncer;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->requested && !s->snapshot_buf && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->requested) {
            s->requested = false;
            pthread_mutex_unlock(&s->mu);
            metadata_log_sync(ml);
            s->synced(s->ctx);
            pthread_mutex_lock(&s->mu);
        } else if (s->snapshot_buf) {
            uint8_t *buf = s->snapshot_buf;
            size_t len = s->snapshot_len, records = s->snapshot_records;
            int64_t offset = s->snapshot_offset;
            pthread_mutex_unlock(&s->mu);
            store_snapshot(ml, offset, buf, len, records);
            free(buf);
            pthread_mutex_lock(&s->mu);
            s->snapshot_buf = NULL; /* only now: the loop queues no second one meanwhile */
        } else {
            break; /* stopping, nothing left to do */
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int metadata_log_start_syncer(struct metadata_log *ml, void (*synced)(void *ctx), void *ctx)
{
    struct syncer *s = &ml->syncer;
    if (s->running)
        return -EALREADY;
    s->synced = synced;
    s->ctx = ctx;
    s->stop = false;
    s->requested = false;
    int rc = thread_start(&s->thread, syncer_main, ml, "eddy-metasync");
    if (rc == 0)
        s->running = true;
    return rc;
}

void metadata_log_request_sync(struct metadata_log *ml)
{
    struct syncer *s = &ml->syncer;
    pthread_mutex_lock(&s->mu);
    s->requested = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int64_t metadata_log_durable_end(struct metadata_log *ml, int *error)
{
    struct syncer *s = &ml->syncer;
    pthread_mutex_lock(&s->mu);
    int64_t durable = s->durable_end;
    *error = s->error;
    pthread_mutex_unlock(&s->mu);
    return durable;
}

void metadata_log_stop_syncer(struct metadata_log *ml)
{
    struct syncer *s = &ml->syncer;
    if (!s->running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->running = false;
}

void metadata_log_inject_error(struct metadata_log *ml, int err)
{
    partition_log_inject_write_error(ml->log, err);
}

int64_t metadata_log_end_offset(const struct metadata_log *ml)
{
    return partition_log_end_offset(ml->log);
}

int64_t metadata_log_snapshot_offset(struct metadata_log *ml)
{
    pthread_mutex_lock(&ml->syncer.mu);
    int64_t offset = ml->snapshot_offset;
    pthread_mutex_unlock(&ml->syncer.mu);
    return offset;
}

int64_t metadata_log_replayed_records(const struct metadata_log *ml)
{
    return ml->replayed;
}

const char *metadata_log_dir(const struct metadata_log *ml)
{
    return ml->dir;
}

void metadata_log_close(struct metadata_log *ml)
{
    if (!ml)
        return;
    metadata_log_stop_syncer(ml);
    if (ml->log)
        partition_log_close(ml->log, true);
    free(ml->unapplied);
    pthread_mutex_destroy(&ml->syncer.mu);
    pthread_cond_destroy(&ml->syncer.cv);
    free(ml->dir);
    free(ml);
}
