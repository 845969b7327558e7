/*
 * listener.c - parses listener URIs and runs the accepting sockets.
 *
 * Accepted sockets are made non-blocking with TCP_NODELAY: Kafka clients
 * pipeline small requests and latency matters more than packet count.
 */
#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/logger.h"

struct listener {
    struct reactor_watch watch;
    struct reactor *reactor;
    struct listener_address addr;
    listener_accept_fn on_accept;
    void *ctx;
    int port;
};

static int parse_one(const char *uri, struct listener_address *out, const char **err)
{
    const char *sep = strstr(uri, "://");
    if (!sep || sep == uri || (size_t)(sep - uri) >= sizeof out->name)
        return *err = "expected NAME://host:port", -1;
    memset(out, 0, sizeof *out);
    memcpy(out->name, uri, (size_t)(sep - uri));
    const char *hostport = sep + 3;
    const char *colon = strrchr(hostport, ':');
    if (!colon)
        return *err = "missing :port", -1;
    const char *host = hostport;
    size_t host_len = (size_t)(colon - hostport);
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++; /* [::1]:9092 */
        host_len -= 2;
    }
    if (host_len >= sizeof out->host)
        return *err = "host name too long", -1;
    memcpy(out->host, host, host_len);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535)
        return *err = "port must be a number from 0 to 65535", -1;
    out->port = (int)port;
    return 0;
}

int listener_parse_list(const char *text, struct listener_address *out, int max, const char **err)
{
    char copy[1024];
    if (strlen(text) >= sizeof copy)
        return *err = "listener list too long", -1;
    strcpy(copy, text);
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (count == max)
            return *err = "too many listeners", -1;
        if (parse_one(tok, &out[count], err) < 0)
            return -1;
        for (int i = 0; i < count; i++)
            if (strcmp(out[i].name, out[count].name) == 0)
                return *err = "listener name used twice", -1;
        count++;
    }
    if (count == 0)
        return *err = "no listener given", -1;
    return count;
}

static void format_peer(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(buf, len, "%s:%d", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(buf, len, "[%s]:%d", host, port);
    } else {
        snprintf(buf, len, "unknown");
    }
}

static void on_listen_event(struct reactor_watch *w, uint32_t events)
{
    (void)events;
    struct listener *l = (struct listener *)w;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(w->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warn("net", "accept on %s://%s:%d failed: %s", l->addr.name, l->addr.host,
                         l->port, strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char peer[64];
        format_peer(&ss, peer, sizeof peer);
        l->on_accept(l->ctx, fd, peer, l->addr.name);
    }
}

static int bind_first(const struct listener_address *addr)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", addr->port);
    int rc = getaddrinfo(addr->host[0] ? addr->host : NULL, port, &hints, &res);
    if (rc != 0)
        return -EADDRNOTAVAIL;
    int err = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = -errno;
        close(fd);
    }
    freeaddrinfo(res);
    return err;
}

int listener_open(struct reactor *r, const struct listener_address *addr, listener_accept_fn on_accept,
                  void *ctx, struct listener **out)
{
    int fd = bind_first(addr);
    if (fd < 0)
        return fd;
    struct listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return -ENOMEM;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    l->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    l->watch.fd = fd;
    l->watch.on_event = on_listen_event;
    l->reactor = r;
    l->addr = *addr;
    l->on_accept = on_accept;
    l->ctx = ctx;
    int rc = reactor_watch_add(r, &l->watch, REACTOR_READABLE);
    if (rc < 0) {
        close(fd);
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int listener_port(const struct listener *l)
{
    return l->port;
}

void listener_close(struct listener *l)
{
    if (!l)
        return;
    reactor_watch_remove(l->reactor, &l->watch);
    close(l->watch.fd);
    free(l);
}
