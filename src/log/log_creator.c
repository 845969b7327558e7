/*
 * log_creator.c - the thread that creates new partition logs (see
 * log_creator.h): a queue of jobs in, a list of finished jobs out, one mutex.
 */
#include "log/log_creator.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/logger.h"
#include "util/thread.h"

#define DONE_BATCH 64

struct log_creator {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;     /* a job was queued, or stop */
    pthread_cond_t finished; /* the running job finished */
    struct log_creation *queue_head, *queue_tail;
    struct log_creation *running;
    struct log_creation *done_head, *done_tail;
    size_t done_count;
    bool notified; /* on_done ran for what is on the finished list */
    bool stop;
    void (*on_done)(void *ctx);
    void *ctx;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct log_creation *log_creation_new(const char *topic, int32_t partition, const uint8_t topic_id[16],
                                      const struct log_config *config, const char *dir, size_t dir_index)
{
    struct log_creation *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->topic = strdup(topic);
    job->dir = strdup(dir);
    if (!job->topic || !job->dir) {
        log_creation_free(job);
        return NULL;
    }
    job->partition = partition;
    job->has_topic_id = topic_id != NULL;
    if (topic_id)
        memcpy(job->topic_id, topic_id, 16);
    job->config = *config;
    job->dir_index = dir_index;
    return job;
}

void log_creation_free(struct log_creation *job)
{
    if (!job)
        return;
    free(job->topic);
    free(job->dir);
    free(job);
}

static void create(struct log_creation *job)
{
    struct partition_log_open_args args = {.dir = job->dir, .topic = job->topic, .partition = job->partition,
                                           .config = &job->config, .clean_shutdown = true, .now_ms = wall_ms()};
    job->rc = partition_log_open(&args, &job->log);
    if (job->rc == 0 && job->has_topic_id)
        job->rc = partition_log_set_topic_id(job->log, job->topic_id);
    if (job->rc != 0 && job->log) {
        partition_log_close(job->log, false);
        job->log = NULL;
    }
}

static void *creator_main(void *arg)
{
    struct log_creator *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->stop && !c->queue_head)
            pthread_cond_wait(&c->work, &c->mu);
        if (c->stop)
            break;
        struct log_creation *job = c->queue_head;
        c->queue_head = job->next;
        if (!c->queue_head)
            c->queue_tail = NULL;
        job->next = NULL;
        c->running = job;
        pthread_mutex_unlock(&c->mu);
        create(job);
        pthread_mutex_lock(&c->mu);
        c->running = NULL;
        if (c->done_tail)
            c->done_tail->next = job;
        else
            c->done_head = job;
        c->done_tail = job;
        c->done_count++;
        pthread_cond_broadcast(&c->finished);
        /* One wake-up of the owner per batch: when the queue runs dry, or
         * every DONE_BATCH logs so that a long run shows progress. */
        bool batch_ends = !c->queue_head || c->done_count >= DONE_BATCH;
        if (batch_ends && !c->notified && c->on_done) {
            c->notified = true;
            pthread_mutex_unlock(&c->mu); /* the callback may take its own locks */
            c->on_done(c->ctx);
            pthread_mutex_lock(&c->mu);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int log_creator_start(void (*on_done)(void *ctx), void *ctx, struct log_creator **out)
{
    struct log_creator *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->finished, NULL);
    c->on_done = on_done;
    c->ctx = ctx;
    int rc = thread_start(&c->thread, creator_main, c, "eddy-creator");
    if (rc != 0) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->work);
        pthread_cond_destroy(&c->finished);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void free_list(struct log_creation *job, bool close_logs)
{
    while (job) {
        struct log_creation *next = job->next;
        if (close_logs && job->log)
            partition_log_close(job->log, true);
        log_creation_free(job);
        job = next;
    }
}

void log_creator_stop(struct log_creator *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    free_list(c->queue_head, false);
    free_list(c->done_head, true);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->finished);
    free(c);
}

void log_creator_submit(struct log_creator *c, struct log_creation *job)
{
    job->next = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->queue_tail)
        c->queue_tail->next = job;
    else
        c->queue_head = job;
    c->queue_tail = job;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
}

struct log_creation *log_creator_take_done(struct log_creator *c)
{
    pthread_mutex_lock(&c->mu);
    struct log_creation *done = c->done_head;
    c->done_head = c->done_tail = NULL;
    c->done_count = 0;
    c->notified = false;
    pthread_mutex_unlock(&c->mu);
    return done;
}

struct log_creation *log_creator_cancel(struct log_creator *c, const char *topic)
{
    struct log_creation *taken = NULL, **taken_tail = &taken;
    pthread_mutex_lock(&c->mu);
    struct log_creation **link = &c->queue_head;
    c->queue_tail = NULL;
    while (*link) {
        struct log_creation *job = *link;
        if (strcmp(job->topic, topic) == 0) {
            *link = job->next;
            job->next = NULL;
            *taken_tail = job;
            taken_tail = &job->next;
        } else {
            c->queue_tail = job;
            link = &job->next;
        }
    }
    while (c->running && strcmp(c->running->topic, topic) == 0)
        pthread_cond_wait(&c->finished, &c->mu);
    pthread_mutex_unlock(&c->mu);
    return taken;
}

static size_t count_list(const struct log_creation *job, const char *topic)
{
    size_t n = 0;
    for (; job; job = job->next)
        n += !topic || strcmp(job->topic, topic) == 0;
    return n;
}

size_t log_creator_count(struct log_creator *c, const char *topic)
{
    pthread_mutex_lock(&c->mu);
    size_t n = count_list(c->queue_head, topic) + count_list(c->running, topic) + count_list(c->done_head, topic);
    pthread_mutex_unlock(&c->mu);
    return n;
}
