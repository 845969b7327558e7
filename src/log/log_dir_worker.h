/*
 * log_dir_worker.h - a thread that creates and removes partition logs'
 * directories, so that the thread serving clients does not wait for the
 * file system.
 *
 * Creating a partition is a directory, a segment and two index files: on
 * this project's machines 0.2-2.4 ms each, nearly all of it in ext4's inode
 * allocator, so a 1,000-partition topic held the event loop for up to 1.5 s.
 * Removing one is closing its files and renaming its directory to
 * `<topic>-<partition>.<uuid>-delete` (the housekeeper deletes it later):
 * 40-100 ms for a 1,000-partition topic, mostly ext4's rename.
 *
 * A creation opens the log (partition_log_open, the topic id written) and
 * hands it back; the log manager installs it on the owner's thread
 * (log_manager.h: log_manager_create_later, log_manager_install_created). A
 * removal takes over the log (its last table reference), closes it and
 * renames its directory.
 *
 * Jobs run one at a time in the order submitted, so a partition deleted and
 * made again is made after the old directory has been renamed away. The
 * thread runs at nice 10, below the event loop. All functions but the
 * callbacks are called from one thread, the owner's.
 */
#ifndef EDDY_LOG_LOG_DIR_WORKER_H
#define EDDY_LOG_LOG_DIR_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/partition_log.h"

enum log_dir_job_kind { LOG_DIR_CREATE, LOG_DIR_REMOVE };

/* One partition to create or remove. */
struct log_dir_job {
    enum log_dir_job_kind kind;
    char *topic;
    int32_t partition;
    char *dir; /* create: <log.dir>/<topic>-<partition>; remove: the log's directory */
    /* create */
    uint8_t topic_id[16];
    bool has_topic_id;
    size_t dir_index; /* the owner's: which log dir `dir` is in */
    struct log_config config;
    /* create, finished: the open log (the taker owns it), or NULL; remove: the
     * log to close (the job owns that reference) */
    struct partition_log *log;
    int rc; /* finished: 0 or -errno */
    /* remove: the name the directory is renamed to */
    char *removed_dir;
    struct log_dir_job *next;
};

struct log_dir_worker;

struct log_dir_worker_callbacks {
    /* Finished creations wait to be taken (log_dir_worker_take_created):
     * called once the queue is empty, or every 64 creations, and not again
     * until they are taken. */
    void (*created)(void *ctx);
    /* Directories were renamed for deletion: called when the queue runs dry
     * after removals, or every 64 removals. */
    void (*removed)(void *ctx);
    void *ctx;
};

/* Start the thread; the callbacks (either may be NULL) run on it. 0 or -errno. */
int log_dir_worker_start(const struct log_dir_worker_callbacks *callbacks, struct log_dir_worker **out);
/* Stop the thread and free everything. Removals still queued are run first
 * (so no log stays open and no deleted partition comes back at the next
 * start); creations not started are dropped, logs created and not taken are
 * closed (their directories stay). */
void log_dir_worker_stop(struct log_dir_worker *worker);

/* Queue a job; the worker takes ownership of it. */
void log_dir_worker_submit(struct log_dir_worker *worker, struct log_dir_job *job);
/* The finished creations, oldest first (the caller owns the list and its logs). */
struct log_dir_job *log_dir_worker_take_created(struct log_dir_worker *worker);
/* Take back the creations of `topic` not started yet (returned, oldest
 * first) and wait for one of them that is running: when this returns, every
 * other creation of the topic is on the finished list. Removals stay queued. */
struct log_dir_job *log_dir_worker_cancel_creations(struct log_dir_worker *worker, const char *topic);
/* Creations of `topic` (NULL: of any topic) queued, running or finished and not taken. */
size_t log_dir_worker_creating(struct log_dir_worker *worker, const char *topic);
/* Removals of `topic` (NULL: of any topic) queued or running. */
size_t log_dir_worker_removing(struct log_dir_worker *worker, const char *topic);
/* Wait until no removal of `topic` is queued or running. */
void log_dir_worker_wait_removed(struct log_dir_worker *worker, const char *topic);

/* A creation of (topic, partition) in `dir`; topic_id may be NULL. NULL if out of memory. */
struct log_dir_job *log_dir_job_create(const char *topic, int32_t partition, const uint8_t topic_id[16],
                                       const struct log_config *config, const char *dir, size_t dir_index);
/* A removal of `log`, whose directory `dir` becomes `removed_dir`. NULL if
 * out of memory (the caller still owns `log`). */
struct log_dir_job *log_dir_job_remove(const char *topic, int32_t partition, struct partition_log *log,
                                       const char *dir, const char *removed_dir);
/* Run a job on the calling thread (what the worker does with it). */
void log_dir_job_run(struct log_dir_job *job);
/* Free a job; a removal's log is closed if it has not run. A creation's log
 * is not touched: the taker decides what becomes of it. */
void log_dir_job_free(struct log_dir_job *job);

#endif
