/*
 * broker.c - start-up, the run loop and graceful shutdown of a node.
 *
 * Shutdown (SIGTERM/SIGINT): stop accepting, let every connection finish the
 * requests it already sent (no new ones are read), flush storage, exit 0.
 * Connections that have not finished after a grace period are cut.
 */
#include "server/broker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_manager.h"
#include "log/log_pager.h"
#include "server/api.h"
#include "server/fetch_session.h"
#include "server/groups.h"
#include "server/partitions.h"
#include "server/session.h"
#include "server/topics.h"
#include "util/fd_budget.h"
#include "util/logger.h"

#define SHUTDOWN_GRACE_MS 10000

static struct broker *idle_owner(struct reactor_timer *t)
{
    return (struct broker *)((char *)t - offsetof(struct broker, idle_timer));
}

static void on_idle_timer(struct reactor_timer *t)
{
    struct broker *b = idle_owner(t);
    session_expire_idle(b);
    int64_t period = b->limits.max_idle_ms / 10;
    reactor_timer_start(b->reactor, t, period < 100 ? 100 : (period > 10000 ? 10000 : period));
}

static void on_producer_expiry_timer(struct reactor_timer *t)
{
    struct broker *b = (struct broker *)((char *)t - offsetof(struct broker, producer_expiry_timer));
    partitions_expire_producers(b, clock_wall_ms());
    reactor_timer_start(b->reactor, t, b->config->producer_id_expiration_check_interval_ms);
}

static int open_listeners(struct broker *b)
{
    const char *err = NULL;
    int n = listener_parse_list(b->config->listeners, b->bound, LISTENER_MAX, &err);
    if (n < 0) {
        log_error("config", "invalid value '%s' for listeners: %s", b->config->listeners, err);
        return -1;
    }
    int m = listener_parse_list(b->config->advertised_listeners, b->advertised, LISTENER_MAX, &err);
    if (m < 0) {
        log_error("config", "invalid value '%s' for advertised.listeners: %s", b->config->advertised_listeners,
                  err);
        return -1;
    }
    b->advertised_count = m;
    for (int i = 0; i < n; i++) {
        struct listener *l;
        int rc = listener_open(b->reactor, &b->bound[i], session_accept, b, &l);
        if (rc < 0) {
            log_error("net", "cannot listen on %s://%s:%d: %s", b->bound[i].name, b->bound[i].host,
                      b->bound[i].port, strerror(-rc));
            return -1;
        }
        b->listeners[b->listener_count++] = l;
        b->bound[i].port = listener_port(l);
        log_info("net", "listening on %s://%s:%d", b->bound[i].name, b->bound[i].host[0] ? b->bound[i].host : "0.0.0.0",
                 b->bound[i].port);
    }
    /* An advertised port 0 or empty host means "what we actually bound". */
    for (int i = 0; i < b->advertised_count; i++) {
        for (int j = 0; j < n; j++) {
            if (strcmp(b->advertised[i].name, b->bound[j].name) != 0)
                continue;
            if (b->advertised[i].port == 0)
                b->advertised[i].port = b->bound[j].port;
            if (b->advertised[i].host[0] == '\0')
                snprintf(b->advertised[i].host, sizeof b->advertised[i].host, "localhost");
        }
    }
    return 0;
}

const struct listener_address *broker_advertised_for(const struct broker *b, const char *listener_name)
{
    for (int i = 0; i < b->advertised_count; i++)
        if (strcmp(b->advertised[i].name, listener_name) == 0)
            return &b->advertised[i];
    return b->advertised_count ? &b->advertised[0] : NULL;
}

int broker_start(struct broker *b, struct broker_config *cfg)
{
    memset(b, 0, sizeof *b);
    b->config = cfg;
    b->limits = (struct connection_limits){
        .max_request_bytes = (size_t)cfg->socket_request_max_bytes,
        .max_idle_ms = cfg->connections_max_idle_ms,
        .max_pending = 128,
        .max_output_bytes = 64u << 20,
    };
    int rc = reactor_create(&b->reactor);
    if (rc < 0) {
        log_error("server", "cannot create the event loop: %s", strerror(-rc));
        return -1;
    }
    reactor_set_stall_warn_ms(b->reactor, (int)cfg->loop_stall_warn_ms);
    int64_t files = fd_budget_raise();
    if (files >= 0)
        log_info("server", "may open %" PRId64 " files (RLIMIT_NOFILE), about 3 per partition", files);
    metadata_image_init(&b->image);
    b->image.controller_id = (int32_t)cfg->node_id;
    if (open_listeners(b) < 0)
        return -1;
    /* Metadata replay, log manager, broker registration: needs the advertised listeners. */
    if (topics_start(b) < 0)
        return -1;
    /* Replay __consumer_offsets before serving: done at the first group request,
     * it stalled every client for as long as the replay took (0.6 s for 80 MB). */
    if (b->logs)
        groups_coordinator(b);
    reactor_timer_init(&b->idle_timer, on_idle_timer);
    reactor_timer_start(b->reactor, &b->idle_timer, 1000);
    reactor_timer_init(&b->producer_expiry_timer, on_producer_expiry_timer);
    reactor_timer_start(b->reactor, &b->producer_expiry_timer, cfg->producer_id_expiration_check_interval_ms);
    return 0;
}

void broker_request_shutdown(struct broker *b)
{
    reactor_stop(b->reactor);
}

/* Stop reading new requests everywhere; answer what is in flight. */
static void begin_shutdown(struct broker *b)
{
    b->shutting_down = true;
    log_info("server", "shutting down: no new connections, finishing %d open ones", b->session_count);
    fetch_answer_all_waiting(b);
    for (int i = 0; i < b->listener_count; i++) {
        listener_close(b->listeners[i]);
        b->listeners[i] = NULL;
    }
    b->listener_count = 0;
    reactor_timer_cancel(b->reactor, &b->idle_timer);
    reactor_timer_cancel(b->reactor, &b->producer_expiry_timer);
    struct session *s = b->sessions;
    while (s) {
        struct session *next = s->next;
        connection_close_after_flush(s->conn);
        s = next;
    }
    b->shutdown_deadline_ms = clock_monotonic_ms() + SHUTDOWN_GRACE_MS;
}

static void on_shutdown_poll(struct reactor_timer *t)
{
    struct broker *b = (struct broker *)((char *)t - offsetof(struct broker, shutdown_timer));
    if (b->sessions == NULL || clock_monotonic_ms() >= b->shutdown_deadline_ms) {
        reactor_stop(b->reactor);
        return;
    }
    reactor_timer_start(b->reactor, t, 10);
}

int broker_run(struct broker *b)
{
    int rc = reactor_run(b->reactor); /* returns on SIGTERM/SIGINT */
    if (rc < 0) {
        log_error("server", "event loop failed: %s", strerror(-rc));
        return 1;
    }
    begin_shutdown(b);
    reactor_timer_init(&b->shutdown_timer, on_shutdown_poll);
    reactor_timer_start(b->reactor, &b->shutdown_timer, 0);
    reactor_run(b->reactor);
    struct session *s = b->sessions;
    while (s) {
        struct session *next = s->next;
        connection_close(s->conn, "shutdown grace period over");
        s = next;
    }
    reactor_timer_cancel(b->reactor, &b->shutdown_timer);
    log_info("server", "event loop: longest pass %" PRId64 " ms; %" PRIu64 " pass(es) of %d ms or more",
             reactor_longest_pass_ms(b->reactor), reactor_slow_passes(b->reactor),
             reactor_stall_warn_ms(b->reactor));
    log_info("server", "shut down cleanly");
    return 0;
}

void broker_free(struct broker *b)
{
    for (int i = 0; i < b->listener_count; i++)
        listener_close(b->listeners[i]);
    topics_finish_admin(b); /* while the logs its changes touch are open */
    /* A fetch waiting for a page-in resumes through a posted call: let those
     * calls run while the logs and partitions they read are still there. */
    if (b->logs && b->reactor) {
        log_pager_wait_idle(log_manager_pager(b->logs));
        reactor_stop(b->reactor);
        reactor_run(b->reactor);
    }
    groups_shutdown(b); /* answers commits still waiting on partition runtimes */
    partitions_free_all(b); /* snapshots producer state: before the logs close */
    fetch_sessions_free(b); /* after everything that may still answer a fetch */
    topics_stop(b);
    metadata_image_free(&b->image);
    if (b->reactor) {
        /* Run once more so deferred frees of closed connections happen. */
        reactor_stop(b->reactor);
        reactor_run(b->reactor);
        reactor_destroy(b->reactor);
    }
}
