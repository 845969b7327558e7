/*
 * reactor.c - epoll loop with a binary-heap timer queue and an eventfd for
 * cross-thread posts. Timers and posts are processed on every iteration, so
 * a long-poll fetch timeout and a flusher's "now durable" notice are both
 * ordinary callbacks on the loop thread. Deferred work (connections with
 * responses to write) runs last, just before the loop sleeps again.
 *
 * Every client waits while one pass runs, so a pass over the stall threshold
 * (STALL_WARN_MS unless reactor_set_stall_warn_ms) is
 * logged (at most one line per STALL_LOG_INTERVAL_MS, with the count and
 * the longest since the last line): a file system that blocks a write, say.
 */
#include "net/reactor.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/logger.h"

#define MAX_EVENTS 256
#define STALL_WARN_MS 200
#define STALL_LOG_INTERVAL_MS 10000

struct reactor {
    int epoll_fd;
    struct reactor_watch wakeup; /* eventfd */
    atomic_int stopping; /* set from other threads and signal handlers (lock-free: both safe) */
    int64_t now_ms;

    struct reactor_timer **heap;
    size_t heap_len, heap_cap;

    pthread_mutex_t post_lock;
    struct reactor_call *posted_head, *posted_tail;

    struct reactor_deferred *deferred_head, *deferred_tail; /* loop thread only */

    /* Passes over stall_warn_ms (loop thread only). */
    int stall_warn_ms;
    uint64_t slow_passes;
    int64_t longest_pass_ms;
    uint64_t unlogged_slow_passes;
    int64_t unlogged_longest_ms;
    int64_t last_stall_log_ms;
};

int64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t reactor_now_ms(const struct reactor *r)
{
    return r->now_ms;
}

static void drain_wakeup(struct reactor_watch *w, uint32_t events)
{
    (void)events;
    uint64_t value;
    while (read(w->fd, &value, sizeof value) > 0) {
    }
}

int reactor_create(struct reactor **out)
{
    struct reactor *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    r->wakeup.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->epoll_fd < 0 || r->wakeup.fd < 0) {
        int err = -errno;
        reactor_destroy(r);
        return err;
    }
    pthread_mutex_init(&r->post_lock, NULL);
    r->wakeup.on_event = drain_wakeup;
    r->now_ms = clock_monotonic_ms();
    r->stall_warn_ms = STALL_WARN_MS;
    int rc = reactor_watch_add(r, &r->wakeup, REACTOR_READABLE);
    if (rc < 0) {
        reactor_destroy(r);
        return rc;
    }
    *out = r;
    return 0;
}

void reactor_destroy(struct reactor *r)
{
    if (!r)
        return;
    if (r->epoll_fd >= 0)
        close(r->epoll_fd);
    if (r->wakeup.fd >= 0)
        close(r->wakeup.fd);
    struct reactor_call *call = r->posted_head;
    while (call) {
        struct reactor_call *next = call->next;
        if (call->allocated)
            free(call);
        call = next;
    }
    pthread_mutex_destroy(&r->post_lock);
    free(r->heap);
    free(r);
}

static uint32_t to_epoll(uint32_t events)
{
    uint32_t e = 0;
    if (events & REACTOR_READABLE)
        e |= EPOLLIN | EPOLLRDHUP;
    if (events & REACTOR_WRITABLE)
        e |= EPOLLOUT;
    return e;
}

int reactor_watch_add(struct reactor *r, struct reactor_watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
        return -errno;
    w->events = events;
    return 0;
}

int reactor_watch_set(struct reactor *r, struct reactor_watch *w, uint32_t events)
{
    if (events == w->events)
        return 0;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(r->epoll_fd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return -errno;
    w->events = events;
    return 0;
}

void reactor_watch_remove(struct reactor *r, struct reactor_watch *w)
{
    epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
    w->events = 0;
}

/* ---- timers: a binary min-heap ordered by due_ms ---- */

static void heap_swap(struct reactor *r, size_t a, size_t b)
{
    struct reactor_timer *t = r->heap[a];
    r->heap[a] = r->heap[b];
    r->heap[b] = t;
    r->heap[a]->heap_index = a;
    r->heap[b]->heap_index = b;
}

static void heap_up(struct reactor *r, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (r->heap[parent]->due_ms <= r->heap[i]->due_ms)
            return;
        heap_swap(r, i, parent);
        i = parent;
    }
}

static void heap_down(struct reactor *r, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, smallest = i;
        if (left < r->heap_len && r->heap[left]->due_ms < r->heap[smallest]->due_ms)
            smallest = left;
        if (right < r->heap_len && r->heap[right]->due_ms < r->heap[smallest]->due_ms)
            smallest = right;
        if (smallest == i)
            return;
        heap_swap(r, i, smallest);
        i = smallest;
    }
}

void reactor_timer_init(struct reactor_timer *t, void (*on_fire)(struct reactor_timer *))
{
    t->on_fire = on_fire;
    t->due_ms = 0;
    t->heap_index = (size_t)-1;
}

void reactor_timer_cancel(struct reactor *r, struct reactor_timer *t)
{
    size_t i = t->heap_index;
    if (i == (size_t)-1)
        return;
    t->heap_index = (size_t)-1;
    r->heap_len--;
    if (i == r->heap_len)
        return;
    r->heap[i] = r->heap[r->heap_len];
    r->heap[i]->heap_index = i;
    heap_up(r, i);
    heap_down(r, r->heap[i]->heap_index);
}

void reactor_timer_start(struct reactor *r, struct reactor_timer *t, int64_t delay_ms)
{
    reactor_timer_cancel(r, t);
    if (r->heap_len == r->heap_cap) {
        size_t cap = r->heap_cap ? r->heap_cap * 2 : 64;
        struct reactor_timer **heap = realloc(r->heap, cap * sizeof *heap);
        if (!heap)
            abort(); /* a timer that silently never fires would be worse */
        r->heap = heap;
        r->heap_cap = cap;
    }
    t->due_ms = r->now_ms + (delay_ms < 0 ? 0 : delay_ms);
    t->heap_index = r->heap_len;
    r->heap[r->heap_len++] = t;
    heap_up(r, t->heap_index);
}

static void fire_due_timers(struct reactor *r)
{
    while (r->heap_len > 0 && r->heap[0]->due_ms <= r->now_ms) {
        struct reactor_timer *t = r->heap[0];
        reactor_timer_cancel(r, t);
        t->on_fire(t);
    }
}

static int next_timeout_ms(const struct reactor *r)
{
    if (atomic_load(&r->stopping))
        return 0; /* the last pass: do what is ready, do not wait */
    if (r->heap_len == 0)
        return 1000;
    int64_t wait = r->heap[0]->due_ms - r->now_ms;
    if (wait < 0)
        return 0;
    return wait > 1000 ? 1000 : (int)wait;
}

/* ---- cross-thread posts ---- */

int reactor_post(struct reactor *r, void (*fn)(void *arg), void *arg)
{
    struct reactor_call *call = malloc(sizeof *call);
    if (!call)
        return -ENOMEM;
    *call = (struct reactor_call){.fn = fn, .arg = arg, .allocated = true};
    reactor_post_call(r, call);
    return 0;
}

void reactor_post_call(struct reactor *r, struct reactor_call *call)
{
    call->next = NULL;
    pthread_mutex_lock(&r->post_lock);
    bool was_empty = r->posted_head == NULL;
    if (r->posted_tail)
        r->posted_tail->next = call;
    else
        r->posted_head = call;
    r->posted_tail = call;
    pthread_mutex_unlock(&r->post_lock);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t ignored = write(r->wakeup.fd, &one, sizeof one);
        (void)ignored;
    }
}

static void run_posted_calls(struct reactor *r)
{
    pthread_mutex_lock(&r->post_lock);
    struct reactor_call *call = r->posted_head;
    r->posted_head = r->posted_tail = NULL;
    pthread_mutex_unlock(&r->post_lock);
    while (call) {
        struct reactor_call *next = call->next;
        bool allocated = call->allocated; /* fn may free an embedded call */
        call->fn(call->arg);
        if (allocated)
            free(call);
        call = next;
    }
}

void reactor_defer(struct reactor *r, struct reactor_deferred *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    d->prev = r->deferred_tail;
    if (r->deferred_tail)
        r->deferred_tail->next = d;
    else
        r->deferred_head = d;
    r->deferred_tail = d;
}

void reactor_defer_cancel(struct reactor *r, struct reactor_deferred *d)
{
    if (!d->queued)
        return;
    if (d->prev)
        d->prev->next = d->next;
    else
        r->deferred_head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        r->deferred_tail = d->prev;
    d->prev = d->next = NULL;
    d->queued = false;
}

/* Work queued while running deferred work runs in the same pass: a flush
 * that frees room for held-back requests may answer them at once. */
static void run_deferred(struct reactor *r)
{
    while (r->deferred_head) {
        struct reactor_deferred *d = r->deferred_head;
        reactor_defer_cancel(r, d);
        d->run(d);
    }
}

void reactor_stop(struct reactor *r)
{
    atomic_store(&r->stopping, 1);
    uint64_t one = 1;
    ssize_t ignored = write(r->wakeup.fd, &one, sizeof one);
    (void)ignored;
}

uint64_t reactor_slow_passes(const struct reactor *r)
{
    return r->slow_passes;
}

int64_t reactor_longest_pass_ms(const struct reactor *r)
{
    return r->longest_pass_ms;
}

void reactor_set_stall_warn_ms(struct reactor *r, int ms)
{
    r->stall_warn_ms = ms > 0 ? ms : STALL_WARN_MS;
}

int reactor_stall_warn_ms(const struct reactor *r)
{
    return r->stall_warn_ms;
}

static void note_pass_time(struct reactor *r)
{
    int64_t took = clock_monotonic_ms() - r->now_ms;
    if (took > r->longest_pass_ms)
        r->longest_pass_ms = took;
    if (took < r->stall_warn_ms)
        return;
    r->slow_passes++;
    r->unlogged_slow_passes++;
    if (took > r->unlogged_longest_ms)
        r->unlogged_longest_ms = took;
    int64_t now = r->now_ms + took;
    if (r->last_stall_log_ms != 0 && now - r->last_stall_log_ms < STALL_LOG_INTERVAL_MS)
        return;
    log_warn("net", "The event loop spent %" PRId64 " ms in one pass (the longest of %" PRIu64
             " pass(es) of %d ms or more since the last such line): every client waited meanwhile",
             r->unlogged_longest_ms, r->unlogged_slow_passes, r->stall_warn_ms);
    r->last_stall_log_ms = now;
    r->unlogged_slow_passes = 0;
    r->unlogged_longest_ms = 0;
}

int reactor_run(struct reactor *r)
{
    struct epoll_event events[MAX_EVENTS];
    /* A stop asked for before this call (a signal during start-up, or a
     * caller wanting one pass for deferred frees) ends the loop after one
     * iteration instead of being forgotten. */
    do {
        int n = epoll_wait(r->epoll_fd, events, MAX_EVENTS, next_timeout_ms(r));
        r->now_ms = clock_monotonic_ms();
        if (n < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < n; i++) {
            struct reactor_watch *w = events[i].data.ptr;
            uint32_t e = 0;
            if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
                e |= REACTOR_READABLE;
            if (events[i].events & EPOLLOUT)
                e |= REACTOR_WRITABLE;
            if (events[i].events & (EPOLLERR | EPOLLHUP))
                e |= REACTOR_ERROR;
            w->on_event(w, e);
        }
        run_posted_calls(r);
        fire_due_timers(r);
        run_deferred(r);
        note_pass_time(r);
    } while (!atomic_load(&r->stopping));
    atomic_store(&r->stopping, 0);
    return 0;
}
