/*
 * broker.h - the running node: configuration, event loop, listeners, client
 * sessions, the metadata image, and the subsystems handlers call into.
 *
 * One event-loop thread runs every handler (Redis-style); the storage
 * engine's flusher and cleaner threads post their results back to it.
 */
#ifndef EDDY_SERVER_BROKER_H
#define EDDY_SERVER_BROKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/controller.h"
#include "cluster/metadata_image.h"
#include "config/config.h"
#include "net/connection.h"
#include "net/listener.h"
#include "net/reactor.h"

struct session;
struct partition_table;
struct fetch_session_cache;
struct fetch_op;
struct log_manager;
struct metadata_log;

struct broker {
    struct broker_config *config;
    struct reactor *reactor;
    struct listener *listeners[LISTENER_MAX];
    struct listener_address bound[LISTENER_MAX];
    int listener_count;
    struct listener_address advertised[LISTENER_MAX];
    int advertised_count;
    struct connection_limits limits;

    struct metadata_image image;
    struct metadata_log *metadata_log; /* __cluster_metadata: the image's durable source */
    struct controller controller;      /* validated metadata changes (admin APIs) */
    struct reactor_call metadata_synced_call; /* the metadata syncer's report, posted to the loop */
    atomic_bool metadata_synced_posted;
    struct log_manager *logs;          /* every partition log */
    bool owns_logs;                    /* topics_start opened b->logs (and closes it) */

    struct partition_table *partitions; /* runtime state per partition (server/partitions.h) */
    struct fetch_session_cache *fetch_sessions; /* KIP-227 (server/fetch_session.h) */
    struct fetch_op *parked_fetches;            /* fetches waiting for data or their deadline (fetch.c) */

    struct session *sessions; /* every open client connection */
    int session_count;
    struct reactor_timer idle_timer;
    struct reactor_timer producer_expiry_timer;
    struct reactor_timer shutdown_timer;
    bool shutting_down;
    int64_t shutdown_deadline_ms;
};

/* Bind listeners and prepare every subsystem. 0, or -1 after logging why. */
int broker_start(struct broker *b, struct broker_config *cfg);
/* Run until a clean shutdown completes. Returns the process exit code. */
int broker_run(struct broker *b);
/* Begin a graceful shutdown (safe from a signal handler via reactor_stop semantics). */
void broker_request_shutdown(struct broker *b);
void broker_free(struct broker *b);

/* The advertised endpoint for a listener name (the one a client connected through). */
const struct listener_address *broker_advertised_for(const struct broker *b, const char *listener_name);

#endif
