/*
 * log_pager.c - page-in thread for cold log ranges (see log_pager.h).
 *
 * A FIFO of loads under one mutex. Each range is read with pread into a
 * scratch buffer: unlike readahead(2) or POSIX_FADV_WILLNEED, a read returns
 * only once the pages are in the cache, which is what the caller waits for.
 */
#include "log/log_pager.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log_segment.h"
#include "log/partition_log.h"
#include "util/logger.h"
#include "util/thread.h"

#define SCRATCH_BYTES (256u << 10)

struct pager_load {
    struct pager_load *next;
    log_pager_done_fn done;
    void *arg;
    size_t count;
    struct log_read_range ranges[]; /* each holding a segment reference */
};

struct log_pager {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop;
    struct pager_load *head, *tail;
    bool running;       /* a load taken off the queue has not finished yet */
    pthread_cond_t idle; /* signalled when the queue is empty and nothing runs */
    uint64_t loads;
    uint8_t *scratch;
};

static void read_range(struct log_pager *p, const struct log_read_range *r)
{
    size_t done = 0;
    while (done < r->length) {
        size_t want = r->length - done < SCRATCH_BYTES ? r->length - done : SCRATCH_BYTES;
        ssize_t n = pread(r->fd, p->scratch, want, r->position + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* The fetch reads again on the loop and reports what it finds. */
            if (n < 0)
                log_warn("log", "page-in of %s at %lld failed: %s", r->segment->log_path,
                         (long long)r->position, strerror(errno));
            return;
        }
        done += (size_t)n;
    }
}

static void run_load(struct log_pager *p, struct pager_load *load)
{
    for (size_t i = 0; i < load->count; i++) {
        read_range(p, &load->ranges[i]);
        log_read_range_release(&load->ranges[i]);
    }
    load->done(load->arg);
    free(load);
}

static void *pager_main(void *arg)
{
    struct log_pager *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        struct pager_load *load = p->head;
        if (!load)
            break; /* stopping, and nothing is left */
        p->head = load->next;
        if (!p->head)
            p->tail = NULL;
        p->running = true;
        pthread_mutex_unlock(&p->mu);
        run_load(p, load);
        pthread_mutex_lock(&p->mu);
        p->running = false;
        p->loads++;
        if (!p->head)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int log_pager_start(struct log_pager **out)
{
    struct log_pager *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->scratch = malloc(SCRATCH_BYTES);
    if (!p->scratch) {
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->idle, NULL);
    int rc = thread_start(&p->thread, pager_main, p, "eddy-pager");
    if (rc != 0) {
        pthread_cond_destroy(&p->idle);
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p->scratch);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void log_pager_stop(struct log_pager *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->scratch);
    free(p);
}

int log_pager_load(struct log_pager *p, struct log_read_range *ranges, size_t count, log_pager_done_fn done,
                   void *arg)
{
    struct pager_load *load = malloc(sizeof *load + count * sizeof *ranges);
    if (!load) {
        for (size_t i = 0; i < count; i++)
            log_read_range_release(&ranges[i]);
        return -ENOMEM;
    }
    load->next = NULL;
    load->done = done;
    load->arg = arg;
    load->count = count;
    memcpy(load->ranges, ranges, count * sizeof *ranges);
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = load;
    else
        p->head = load;
    p->tail = load;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void log_pager_wait_idle(struct log_pager *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    while (p->head || p->running)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

uint64_t log_pager_loads(struct log_pager *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t n = p->loads;
    pthread_mutex_unlock(&p->mu);
    return n;
}
