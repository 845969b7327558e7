/*
 * session.h - the broker's view of one client connection: which broker it
 * belongs to, the client's id, and its place in the broker's session list
 * (used for idle expiry and shutdown).
 */
#ifndef EDDY_SERVER_SESSION_H
#define EDDY_SERVER_SESSION_H

#include "net/connection.h"
#include "protocol/wire.h"

struct broker;

struct session {
    struct broker *broker;
    struct connection *conn;
    struct session *prev, *next;
    char client_id[128];
};

/* Accept callback for listeners: wraps the socket in a connection + session. */
void session_accept(void *broker, int fd, const char *peer, const char *listener_name);
void session_note_client(struct session *s, struct kstr client_id);
/* Close sessions idle longer than connections.max.idle.ms. */
void session_expire_idle(struct broker *b);

/* Frame and slot callbacks, in request.c. */
void request_on_frame(struct connection *c, struct net_slot *slot, uint8_t *frame, size_t len);
struct net_slot *request_new_slot(struct connection *c);

#endif
