/*
 * test_reactor.c - the event loop's ordering promises that the network
 * layer builds on: deferred work runs once per queueing, after the
 * iteration's timers, in queue order; work queued while deferred work runs
 * runs in the same pass; a cancelled entry never runs. Calls posted from
 * another thread run on the loop in posting order, embedded ones included
 * (and one may free its own memory). A pass that holds the loop for 200 ms
 * or more is counted (and logged); a quick one is not.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "net/reactor.h"

static struct reactor *loop;
static char trace[64]; /* one letter per callback, in call order */

static void note(char c)
{
    size_t n = strlen(trace);
    if (n + 1 < sizeof trace)
        trace[n] = c;
}

struct tagged_deferred {
    struct reactor_deferred d; /* first: the callback casts back */
    char tag;
    struct reactor_deferred *queue_when_run; /* queued from inside the callback */
};

static void on_deferred(struct reactor_deferred *d)
{
    struct tagged_deferred *t = (struct tagged_deferred *)d;
    note(t->tag);
    if (t->queue_when_run)
        reactor_defer(loop, t->queue_when_run);
}

static struct tagged_deferred a = {.d.run = on_deferred, .tag = 'a'};
static struct tagged_deferred b = {.d.run = on_deferred, .tag = 'b'};
static struct tagged_deferred c = {.d.run = on_deferred, .tag = 'c'};

/* The timer queues work twice over, then stops the loop: all of it must
 * run in this same iteration, after the timer. */
static void on_timer(struct reactor_timer *t)
{
    (void)t;
    note('T');
    reactor_defer(loop, &a.d);
    reactor_defer(loop, &b.d);
    reactor_defer(loop, &a.d); /* already queued: no second run */
    reactor_defer(loop, &c.d);
    reactor_defer_cancel(loop, &c.d); /* cancelled: never runs */
    reactor_stop(loop);
}

static void on_posted(void *arg)
{
    note(*(const char *)arg);
}

struct owner {
    struct reactor_call call;
    char tag;
};

static void on_owner_posted(void *arg)
{
    struct owner *o = arg;
    note(o->tag);
    free(o); /* the embedded call goes with it */
    reactor_stop(loop);
}

static void *post_from_thread(void *arg)
{
    (void)arg;
    static const char x = 'x';
    reactor_post(loop, on_posted, (void *)&x);
    struct owner *o = malloc(sizeof *o);
    if (!o)
        return NULL;
    o->tag = 'y';
    o->call = (struct reactor_call){.fn = on_owner_posted, .arg = o};
    reactor_post_call(loop, &o->call);
    return NULL;
}

static void test_posted_calls(void)
{
    memset(trace, 0, sizeof trace);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, post_from_thread, NULL) == 0, "pthread_create");
    pthread_join(thread, NULL);
    reactor_run(loop);
    CHECK(strcmp(trace, "xy") == 0, "posted calls: got \"%s\", want \"xy\"", trace);
}

static void on_sleepy_timer(struct reactor_timer *t)
{
    (void)t;
    struct timespec nap = {0, 250 * 1000000L};
    nanosleep(&nap, NULL);
}

static void test_slow_pass_counted(void)
{
    struct reactor_timer timer;
    reactor_timer_init(&timer, on_sleepy_timer);
    uint64_t before = reactor_slow_passes(loop);
    reactor_stop(loop);
    reactor_run(loop); /* a quick pass */
    CHECK(reactor_slow_passes(loop) == before, "a quick pass is not counted as slow");
    reactor_timer_start(loop, &timer, 0);
    reactor_stop(loop);
    reactor_run(loop);
    CHECK(reactor_slow_passes(loop) == before + 1, "a 250 ms pass is counted as slow (%llu)",
          (unsigned long long)(reactor_slow_passes(loop) - before));
    CHECK(reactor_longest_pass_ms(loop) >= 250, "the longest pass is kept (%lld ms)",
          (long long)reactor_longest_pass_ms(loop));
    /* eddy.loop.stall.warn.ms: a higher threshold does not count it. */
    reactor_set_stall_warn_ms(loop, 1000);
    reactor_timer_start(loop, &timer, 0);
    reactor_stop(loop);
    reactor_run(loop);
    CHECK(reactor_slow_passes(loop) == before + 1, "a 250 ms pass is not slow against 1000 ms");
    reactor_set_stall_warn_ms(loop, 0);
    CHECK(reactor_stall_warn_ms(loop) == 200, "0 restores the 200 ms default (%d)", reactor_stall_warn_ms(loop));
}

int main(void)
{
    if (reactor_create(&loop) != 0) {
        printf("FAIL: reactor_create\n");
        return 1;
    }
    a.queue_when_run = &c.d; /* c, cancelled above, is queued anew by a */
    struct reactor_timer timer;
    reactor_timer_init(&timer, on_timer);
    reactor_timer_start(loop, &timer, 0);
    reactor_run(loop);
    CHECK(strcmp(trace, "Tabc") == 0, "order of callbacks: got \"%s\", want \"Tabc\"", trace);
    CHECK(!a.d.queued && !b.d.queued && !c.d.queued, "nothing left queued after the pass");

    /* A cancelled entry in the middle of the queue leaves the rest intact. */
    memset(trace, 0, sizeof trace);
    a.queue_when_run = NULL;
    reactor_defer(loop, &a.d);
    reactor_defer(loop, &b.d);
    reactor_defer(loop, &c.d);
    reactor_defer_cancel(loop, &b.d);
    reactor_defer_cancel(loop, &b.d); /* not queued: a no-op */
    reactor_stop(loop);
    reactor_run(loop);
    CHECK(strcmp(trace, "ac") == 0, "after cancelling the middle entry: got \"%s\", want \"ac\"", trace);

    test_posted_calls();
    test_slow_pass_counted();
    reactor_destroy(loop);
    if (failures)
        return 1;
    printf("test_reactor: all checks passed\n");
    return 0;
}
