/*
 * listener.h - listener URIs (`PLAINTEXT://127.0.0.1:9092`) and the
 * listening sockets that accept connections for them.
 */
#ifndef EDDY_NET_LISTENER_H
#define EDDY_NET_LISTENER_H

#include "net/reactor.h"

#define LISTENER_MAX 8

struct listener_address {
    char name[32];  /* PLAINTEXT, CONTROLLER, ... */
    char host[256]; /* empty: all interfaces */
    int port;
};

/*
 * Parse a comma-separated listener list. Returns the number parsed, or -1
 * with *err naming what is wrong.
 */
int listener_parse_list(const char *text, struct listener_address *out, int max, const char **err);

struct listener;

typedef void (*listener_accept_fn)(void *ctx, int fd, const char *peer, const char *listener_name);

/* Bind and listen. -errno on failure (the caller logs it with the address). */
int listener_open(struct reactor *r, const struct listener_address *addr, listener_accept_fn on_accept,
                  void *ctx, struct listener **out);
/* The port actually bound (useful with port 0). */
int listener_port(const struct listener *l);
void listener_close(struct listener *l);

#endif
