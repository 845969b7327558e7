/*
 * reactor.h - the event loop: epoll for sockets, a timer heap, and a
 * thread-safe queue so background threads (flusher, cleaner) can hand work
 * back to the loop thread.
 *
 * One reactor runs on one thread. Everything registered with it is called
 * on that thread only; reactor_post() is the single exception, callable from
 * any thread.
 */
#ifndef EDDY_NET_REACTOR_H
#define EDDY_NET_REACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reactor;

/* events: a mask of REACTOR_READABLE/WRITABLE/ERROR. */
#define REACTOR_READABLE 0x1u
#define REACTOR_WRITABLE 0x4u
#define REACTOR_ERROR 0x8u

struct reactor_watch {
    int fd;
    void (*on_event)(struct reactor_watch *watch, uint32_t events);
    uint32_t events; /* currently registered */
};

struct reactor_timer {
    int64_t due_ms;
    void (*on_fire)(struct reactor_timer *timer);
    size_t heap_index; /* SIZE_MAX when not scheduled */
};

int reactor_create(struct reactor **out);
void reactor_destroy(struct reactor *r);

int reactor_watch_add(struct reactor *r, struct reactor_watch *w, uint32_t events);
int reactor_watch_set(struct reactor *r, struct reactor_watch *w, uint32_t events);
void reactor_watch_remove(struct reactor *r, struct reactor_watch *w);

void reactor_timer_init(struct reactor_timer *t, void (*on_fire)(struct reactor_timer *));
/* (Re)schedule t to fire delay_ms from now. */
void reactor_timer_start(struct reactor *r, struct reactor_timer *t, int64_t delay_ms);
void reactor_timer_cancel(struct reactor *r, struct reactor_timer *t);
static inline bool reactor_timer_pending(const struct reactor_timer *t)
{
    return t->heap_index != (size_t)-1;
}

/* Work left for the end of the current loop iteration, after every ready
 * event, posted call and due timer: a connection whose responses became
 * ready one by one writes them with one writev there (as Redis writes
 * replies before it sleeps). Embed one per owner; loop thread only. */
struct reactor_deferred {
    void (*run)(struct reactor_deferred *d);
    struct reactor_deferred *prev, *next;
    bool queued;
};

/* Queue d to run once at the end of this iteration; a no-op if queued. */
void reactor_defer(struct reactor *r, struct reactor_deferred *d);
/* Take d off the queue (before its owner is freed); a no-op if not queued. */
void reactor_defer_cancel(struct reactor *r, struct reactor_deferred *d);

/* Run fn(arg) on the reactor thread soon. Safe from any thread. -ENOMEM on failure. */
int reactor_post(struct reactor *r, void (*fn)(void *arg), void *arg);

/* The same without allocating, so it cannot fail: embed a call in the object
 * it runs for, set fn and arg, post it. It must stay alive until fn has run
 * (fn may free it), and be posted again only after that. */
struct reactor_call {
    void (*fn)(void *arg);
    void *arg;
    struct reactor_call *next;
    bool allocated; /* by reactor_post: freed after it runs */
};
void reactor_post_call(struct reactor *r, struct reactor_call *call);

/* Run until reactor_stop() (at least one iteration; a stop asked for earlier counts); returns 0. */
int reactor_run(struct reactor *r);
/* Ask the loop to return after the current iteration. Safe from any thread and signal handlers. */
void reactor_stop(struct reactor *r);

/* Monotonic milliseconds, cached once per loop iteration. */
int64_t reactor_now_ms(const struct reactor *r);

/* Passes of the loop that took the stall threshold or more (logged, rate-limited), and
 * the longest pass of all. Loop thread. */
uint64_t reactor_slow_passes(const struct reactor *r);
int64_t reactor_longest_pass_ms(const struct reactor *r);
/* The stall threshold: 200 ms unless set (eddy.loop.stall.warn.ms); <= 0 restores it. */
void reactor_set_stall_warn_ms(struct reactor *r, int ms);
int reactor_stall_warn_ms(const struct reactor *r);

/* Time helpers used across the broker. */
int64_t clock_monotonic_ms(void);
int64_t clock_wall_ms(void);

#endif
