/*
 * session.c - creates a session per accepted socket and keeps the list the
 * broker walks for idle expiry and graceful shutdown.
 */
#include "server/session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/broker.h"
#include "util/logger.h"

static void session_on_close(struct connection *c)
{
    struct session *s = connection_user(c);
    struct broker *b = s->broker;
    if (s->prev)
        s->prev->next = s->next;
    else
        b->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    b->session_count--;
    free(s);
}

static const struct connection_callbacks session_callbacks = {
    .on_frame = request_on_frame,
    .new_slot = request_new_slot,
    .on_close = session_on_close,
};

/* socket.send.buffer.bytes and socket.receive.buffer.bytes; -1 keeps the
 * kernel's own sizing (which then grows the buffers as a connection needs).
 * The send side defaults to 256 KiB: with the kernel's sizing, a consumer on
 * loopback took 710-850 MB/s at 1.6-1.9 machine CPU-s/GB, with 256 KiB
 * 880-970 at 1.3-1.45 (bench/RESULTS.md, session 17): the fetched bytes wait
 * in a short queue and are still in the cache when the consumer reads them.
 * The receive side keeps the kernel's sizing: a fixed one made produce dearer. */
static void apply_socket_buffers(int fd, const struct broker_config *cfg)
{
    int size;
    if (cfg->socket_send_buffer_bytes > 0) {
        size = (int)cfg->socket_send_buffer_bytes;
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    if (cfg->socket_receive_buffer_bytes > 0) {
        size = (int)cfg->socket_receive_buffer_bytes;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
}

void session_accept(void *ctx, int fd, const char *peer, const char *listener_name)
{
    struct broker *b = ctx;
    if (b->shutting_down) {
        close(fd);
        return;
    }
    apply_socket_buffers(fd, b->config);
    struct session *s = calloc(1, sizeof *s);
    struct connection *c = s ? connection_create(b->reactor, fd, peer, listener_name, &session_callbacks,
                                                 &b->limits, b)
                             : NULL;
    if (!c) {
        log_warn("net", "dropping connection from %s: out of memory", peer);
        free(s);
        close(fd);
        return;
    }
    s->broker = b;
    s->conn = c;
    connection_set_user(c, s);
    s->next = b->sessions;
    if (b->sessions)
        b->sessions->prev = s;
    b->sessions = s;
    b->session_count++;
    log_debug("net", "accepted connection %llu from %s on %s", (unsigned long long)connection_id(c), peer,
              listener_name);
}

void session_note_client(struct session *s, struct kstr client_id)
{
    if (s->client_id[0] || client_id.len <= 0)
        return;
    size_t n = (size_t)client_id.len < sizeof s->client_id - 1 ? (size_t)client_id.len : sizeof s->client_id - 1;
    memcpy(s->client_id, client_id.ptr, n);
    s->client_id[n] = '\0';
}

void session_expire_idle(struct broker *b)
{
    int64_t now = reactor_now_ms(b->reactor);
    struct session *s = b->sessions;
    while (s) {
        struct session *next = s->next; /* closing frees s */
        if (connection_is_idle(s->conn) && connection_idle_ms(s->conn, now) > b->limits.max_idle_ms) {
            log_info("net", "closing connection from %s (client %s): idle for more than connections.max.idle.ms=%lld",
                     connection_peer(s->conn), s->client_id[0] ? s->client_id : "-",
                     (long long)b->limits.max_idle_ms);
            connection_close(s->conn, NULL);
        }
        s = next;
    }
}
