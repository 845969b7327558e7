/*
 * partitions.c - runtime state per partition and the waiting lists that make
 * acks=all and long-poll fetch event-driven.
 */
#include "server/partitions.h"

#include <stdlib.h>
#include <string.h>

#include "log/log_flusher.h"
#include "log/log_manager.h"
#include "log/producer_state.h"
#include "net/reactor.h"
#include "protocol/errors.h"
#include "server/broker.h"
#include "util/logger.h"

#define RUNTIME_BUCKETS 4096

struct partition_table {
    struct partition_runtime *buckets[RUNTIME_BUCKETS];
};

static size_t bucket_of(const struct partition_log *log)
{
    uintptr_t p = (uintptr_t)log;
    return (size_t)((p >> 4) ^ (p >> 16)) % RUNTIME_BUCKETS;
}

static void list_init(struct partition_waiter *head)
{
    head->next = head->prev = head;
}

static struct partition_table *table_of(struct broker *b)
{
    if (!b->partitions)
        b->partitions = calloc(1, sizeof *b->partitions);
    return b->partitions;
}

struct partition_runtime *partitions_for_log(struct broker *b, struct partition_log *log)
{
    struct partition_table *table = table_of(b);
    if (!table || !log)
        return NULL;
    size_t bucket = bucket_of(log);
    for (struct partition_runtime *rt = table->buckets[bucket]; rt; rt = rt->hash_next)
        if (rt->log == log)
            return rt;
    struct partition_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->log = log;
    rt->durable_offset = partition_log_recovery_point(log);
    rt->producer_snapshot_ms = clock_monotonic_ms(); /* the first periodic snapshot a minute from now */
    list_init(&rt->durable_waiters);
    list_init(&rt->data_waiters);
    if (producer_state_open(log, &rt->producers) < 0) {
        log_error("produce", "cannot load producer state of %s-%d; idempotent producers will be re-fenced",
                  partition_log_topic(log), partition_log_partition(log));
        rt->producers = NULL;
    }
    rt->hash_next = table->buckets[bucket];
    table->buckets[bucket] = rt;
    return rt;
}

struct partition_runtime *partitions_of_topic(struct broker *b, const struct topic_state *topic,
                                              int32_t partition)
{
    if (!b->logs || !topic)
        return NULL;
    struct partition_log *log = log_manager_get(b->logs, topic->name, partition);
    return log ? partitions_for_log(b, log) : NULL;
}

/* Fire every waiter on the list as it is now; waiters added while firing
 * (a fetch that parks again) wait for the next event. */
static void fire_all(struct partition_waiter *head, int error)
{
    if (head->next == head)
        return;
    struct partition_waiter local;
    local.next = head->next;
    local.prev = head->prev;
    local.next->prev = &local;
    local.prev->next = &local;
    head->next = head->prev = head;
    while (local.next != &local) {
        struct partition_waiter *w = local.next;
        partitions_cancel_wait(w);
        w->fire(w, error);
    }
}

static void runtime_free(struct partition_runtime *rt)
{
    fire_all(&rt->durable_waiters, KAFKA_NOT_LEADER_OR_FOLLOWER);
    fire_all(&rt->data_waiters, KAFKA_NOT_LEADER_OR_FOLLOWER);
    producer_state_close(rt->producers);
    free(rt);
}

void partitions_forget(struct broker *b, struct partition_log *log)
{
    struct partition_table *table = b->partitions;
    if (!table)
        return;
    for (struct partition_runtime **link = &table->buckets[bucket_of(log)]; *link; link = &(*link)->hash_next) {
        if ((*link)->log == log) {
            struct partition_runtime *rt = *link;
            *link = rt->hash_next;
            runtime_free(rt);
            return;
        }
    }
}

/* Answer everything still waiting on any partition. A fetch answered here
 * looks its other partitions up in the table again (and may add runtimes to
 * it), so every runtime must still be there: freeing waits for a second pass. */
static void fire_every_waiter(struct partition_table *table)
{
    for (size_t i = 0; i < RUNTIME_BUCKETS; i++) {
        for (struct partition_runtime *rt = table->buckets[i]; rt; rt = rt->hash_next) {
            fire_all(&rt->durable_waiters, KAFKA_NOT_LEADER_OR_FOLLOWER);
            fire_all(&rt->data_waiters, KAFKA_NOT_LEADER_OR_FOLLOWER);
        }
    }
}

void partitions_free_all(struct broker *b)
{
    struct partition_table *table = b->partitions;
    if (!table)
        return;
    fire_every_waiter(table);
    for (size_t i = 0; i < RUNTIME_BUCKETS; i++) {
        struct partition_runtime *rt = table->buckets[i];
        while (rt) {
            struct partition_runtime *next = rt->hash_next;
            runtime_free(rt);
            rt = next;
        }
    }
    free(table);
    b->partitions = NULL;
}

void partitions_expire_producers(struct broker *b, int64_t now_ms)
{
    struct partition_table *table = b->partitions;
    if (!table)
        return;
    size_t expired = 0;
    for (size_t i = 0; i < RUNTIME_BUCKETS; i++)
        for (struct partition_runtime *rt = table->buckets[i]; rt; rt = rt->hash_next)
            if (rt->producers)
                expired += producer_state_expire(rt->producers, now_ms, b->config->producer_id_expiration_ms);
    if (expired)
        log_info("produce", "forgot %zu idle producer ids (producer.id.expiration.ms)", expired);
}

static void link_waiter(struct partition_waiter *head, struct partition_runtime *rt,
                        struct partition_waiter *w)
{
    w->runtime = rt;
    w->prev = head->prev;
    w->next = head;
    head->prev->next = w;
    head->prev = w;
}

void partitions_cancel_wait(struct partition_waiter *w)
{
    if (!w->runtime)
        return;
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->runtime = NULL;
}

void partitions_wait_durable(struct broker *b, struct partition_runtime *rt, struct partition_waiter *w)
{
    if (rt->durable_offset >= w->offset) {
        w->fire(w, 0);
        return;
    }
    link_waiter(&rt->durable_waiters, rt, w);
    log_flusher_request(log_manager_flusher(b->logs), rt->log);
}

void partitions_wait_data(struct partition_runtime *rt, struct partition_waiter *w)
{
    link_waiter(&rt->data_waiters, rt, w);
}

void partitions_notify_append(struct partition_runtime *rt)
{
    fire_all(&rt->data_waiters, 0);
}

/* ---- durability reports: flusher thread -> loop thread ---- */

struct durable_report {
    struct broker *broker;
    struct partition_log *log; /* a reference is held until handled */
    int64_t durable_offset;
    int error;
};

static void handle_durable_report(void *arg)
{
    struct durable_report *report = arg;
    struct partition_table *table = report->broker->partitions;
    struct partition_runtime *rt = NULL;
    if (table)
        for (rt = table->buckets[bucket_of(report->log)]; rt && rt->log != report->log; rt = rt->hash_next) {
        }
    if (rt) {
        if (report->error) {
            fire_all(&rt->durable_waiters, report->error);
        } else {
            if (report->durable_offset > rt->durable_offset)
                rt->durable_offset = report->durable_offset;
            struct partition_waiter *head = &rt->durable_waiters;
            for (struct partition_waiter *w = head->next; w != head;) {
                struct partition_waiter *next = w->next;
                if (w->offset <= rt->durable_offset) {
                    partitions_cancel_wait(w);
                    w->fire(w, 0);
                }
                w = next;
            }
        }
    }
    partition_log_unref(report->log);
    free(report);
}

void partitions_on_durable(void *ctx, struct partition_log *log, int64_t durable_offset, int error)
{
    struct broker *b = ctx;
    struct durable_report *report = malloc(sizeof *report);
    if (!report) {
        log_error("produce", "out of memory reporting durability of %s-%d", partition_log_topic(log),
                  partition_log_partition(log));
        return;
    }
    report->broker = b;
    report->log = partition_log_ref(log);
    report->durable_offset = durable_offset;
    report->error = error;
    if (reactor_post(b->reactor, handle_durable_report, report) < 0) {
        partition_log_unref(log);
        free(report);
    }
}
