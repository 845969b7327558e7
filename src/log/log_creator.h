/*
 * log_creator.h - a thread that creates the logs of new partitions, so that
 * the thread serving clients does not wait for the file system.
 *
 * Creating a partition is a directory, a segment and two index files: on
 * this project's machines 0.2-2.4 ms each, nearly all of it in ext4's inode
 * allocator, so a 1,000-partition topic held the event loop for up to 1.5 s.
 * The creator opens each log (partition_log_open, the topic id written) and
 * hands it back; the log manager installs it on the caller's thread
 * (log_manager.h: log_manager_create_later, log_manager_install_created).
 *
 * Jobs run one at a time in the order submitted. All functions but the
 * on_done callback are called from one thread, the owner's.
 */
#ifndef EDDY_LOG_LOG_CREATOR_H
#define EDDY_LOG_LOG_CREATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/partition_log.h"

/* One partition to create; once finished, `log` or `rc` says how it went. */
struct log_creation {
    char *topic;
    int32_t partition;
    uint8_t topic_id[16];
    bool has_topic_id;
    size_t dir_index; /* the owner's: which log dir `dir` is in */
    char *dir;        /* <log.dir>/<topic>-<partition> */
    struct log_config config;
    struct partition_log *log; /* finished: the open log (the taker owns it), or NULL */
    int rc;                    /* finished: 0 or -errno */
    struct log_creation *next;
};

struct log_creator;

/* Start the thread. on_done(ctx) runs on it when finished jobs wait to be
 * taken: once the queue is empty, or every 64 jobs, and not again until they
 * are taken (log_creator_take_done). 0 or -errno. */
int log_creator_start(void (*on_done)(void *ctx), void *ctx, struct log_creator **out);
/* Stop the thread and free everything: jobs not started are dropped, logs
 * finished and not taken are closed (their directories stay). */
void log_creator_stop(struct log_creator *creator);

/* Queue a job; the creator takes ownership of `job` (allocated with
 * log_creation_new). */
void log_creator_submit(struct log_creator *creator, struct log_creation *job);
/* The finished jobs, oldest first (the caller owns the list and its logs). */
struct log_creation *log_creator_take_done(struct log_creator *creator);
/* Take back the jobs of `topic` not started yet (returned, oldest first) and
 * wait for one of its jobs that is running: when this returns, every other
 * job of the topic is on the finished list. */
struct log_creation *log_creator_cancel(struct log_creator *creator, const char *topic);
/* Jobs of `topic` (NULL: of any topic) queued, running or finished and not taken. */
size_t log_creator_count(struct log_creator *creator, const char *topic);

/* A job for (topic, partition) in `dir`; topic_id may be NULL. NULL if out of memory. */
struct log_creation *log_creation_new(const char *topic, int32_t partition, const uint8_t topic_id[16],
                                      const struct log_config *config, const char *dir, size_t dir_index);
/* Free a job (not its log: the taker decides what becomes of that). */
void log_creation_free(struct log_creation *job);

#endif
