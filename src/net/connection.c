/*
 * connection.c - framing, ordered response slots and output for one socket.
 *
 * Input is read into a reusable buffer; each complete frame is copied out
 * (so a request outlives later reads) and handed to the owner. A large frame
 * (a produce request, typically) is instead read straight into a buffer of
 * its own once its size is known, so its bytes are copied only by the kernel. Output is a
 * queue of chunks taken from ready slots in order: memory chunks go out with
 * writev, file chunks with sendfile, so fetched bytes never pass through user
 * space on plaintext connections.
 */
#include "net/connection.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/tcp_info.h"
#include "util/logger.h"

#define READ_CHUNK 65536
#define MAX_IOV 64
#define DIRECT_FRAME_MIN 65536 /* frames this big are read into their own buffer */

struct connection {
    struct reactor_watch watch;
    struct reactor_deferred flush_later; /* responses ready: write them before the loop sleeps */
    struct reactor *reactor;
    const struct connection_callbacks *cb;
    struct connection_limits limits;
    void *owner_ctx;
    void *user;
    uint64_t id;
    char peer[64];
    char listener[32];

    uint8_t *in;     /* unparsed input */
    size_t in_len, in_cap;
    uint8_t *direct; /* a large frame being read into its own buffer, or NULL */
    size_t direct_len, direct_have;

    struct net_slot *slots_head, *slots_tail; /* unanswered, in arrival order */
    size_t pending;
    struct out_chunk *out_head, *out_tail;    /* ready to send, in order */
    size_t out_bytes;

    int64_t last_active_ms;
    int64_t min_rtt_us;         /* cached tcp_min_rtt_us() */
    int64_t min_rtt_checked_ms; /* when it was read (0: never) */
    bool closed;
    bool draining; /* close once everything pending is sent */
    bool dispatching; /* inside dispatch_frames: a handler answering synchronously must not re-enter it */
};

static uint64_t next_connection_id = 1;

static void on_socket_event(struct reactor_watch *w, uint32_t events);
static void update_interest(struct connection *c);
static void dispatch_frames(struct connection *c);
static void on_flush_later(struct reactor_deferred *d);

struct connection *connection_create(struct reactor *r, int fd, const char *peer,
                                     const char *listener_name,
                                     const struct connection_callbacks *cb,
                                     const struct connection_limits *limits, void *owner_ctx)
{
    struct connection *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->watch.fd = fd;
    c->watch.on_event = on_socket_event;
    c->flush_later.run = on_flush_later;
    c->reactor = r;
    c->cb = cb;
    c->limits = *limits;
    c->owner_ctx = owner_ctx;
    c->id = next_connection_id++;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    snprintf(c->listener, sizeof c->listener, "%s", listener_name);
    c->last_active_ms = reactor_now_ms(r);
    if (reactor_watch_add(r, &c->watch, REACTOR_READABLE) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

const char *connection_peer(const struct connection *c) { return c->peer; }
const char *connection_listener(const struct connection *c) { return c->listener; }
void *connection_owner(const struct connection *c) { return c->owner_ctx; }
uint64_t connection_id(const struct connection *c) { return c->id; }
void connection_set_user(struct connection *c, void *user) { c->user = user; }
void *connection_user(const struct connection *c) { return c->user; }

int64_t connection_idle_ms(const struct connection *c, int64_t now_ms)
{
    return now_ms - c->last_active_ms;
}

/* Read at most once a second: it is asked for on every fetch, and the
 * minimum only moves when the path changes. */
int64_t connection_min_rtt_us(struct connection *c, int64_t now_ms)
{
    if (c->min_rtt_checked_ms == 0 || now_ms - c->min_rtt_checked_ms >= 1000) {
        int64_t rtt = tcp_min_rtt_us(c->watch.fd);
        c->min_rtt_us = rtt > 0 ? rtt : 0;
        c->min_rtt_checked_ms = now_ms > 0 ? now_ms : 1;
    }
    return c->min_rtt_us;
}

bool connection_is_idle(const struct connection *c)
{
    return c->pending == 0 && c->out_head == NULL;
}

/* ---- chunks and slots ---- */

static void chunk_free(struct out_chunk *chunk)
{
    free(chunk->mem);
    if (chunk->release)
        chunk->release(chunk->release_ctx);
    free(chunk);
}

static void chunk_list_free(struct out_chunk *chunk)
{
    while (chunk) {
        struct out_chunk *next = chunk->next;
        chunk_free(chunk);
        chunk = next;
    }
}

static int slot_append(struct net_slot *slot, struct out_chunk *chunk)
{
    chunk->next = NULL;
    if (slot->chunks_tail)
        slot->chunks_tail->next = chunk;
    else
        slot->chunks = chunk;
    slot->chunks_tail = chunk;
    return 0;
}

int net_slot_add_mem(struct net_slot *slot, uint8_t *buf, size_t len)
{
    struct out_chunk *chunk = calloc(1, sizeof *chunk);
    if (!chunk) {
        free(buf);
        return -ENOMEM;
    }
    chunk->mem = buf;
    chunk->len = len;
    chunk->fd = -1;
    return slot_append(slot, chunk);
}

int net_slot_add_file(struct net_slot *slot, int fd, off_t offset, size_t len,
                      void (*release)(void *ctx), void *ctx)
{
    struct out_chunk *chunk = calloc(1, sizeof *chunk);
    if (!chunk) {
        if (release)
            release(ctx);
        return -ENOMEM;
    }
    chunk->fd = fd;
    chunk->file_offset = offset;
    chunk->len = len;
    chunk->release = release;
    chunk->release_ctx = ctx;
    return slot_append(slot, chunk);
}

void net_slot_clear(struct net_slot *slot)
{
    chunk_list_free(slot->chunks);
    slot->chunks = slot->chunks_tail = NULL;
}

/* Move the chunks of every ready slot at the head of the queue to output. */
static void collect_ready_slots(struct connection *c)
{
    while (c->slots_head && c->slots_head->ready) {
        struct net_slot *slot = c->slots_head;
        c->slots_head = slot->next;
        if (!c->slots_head)
            c->slots_tail = NULL;
        c->pending--;
        for (struct out_chunk *chunk = slot->chunks; chunk; chunk = chunk->next)
            c->out_bytes += chunk->len;
        if (slot->chunks) {
            if (c->out_tail)
                c->out_tail->next = slot->chunks;
            else
                c->out_head = slot->chunks;
            c->out_tail = slot->chunks_tail;
        }
        slot->chunks = slot->chunks_tail = NULL;
        slot->conn = NULL;
        slot->release(slot);
    }
}

/* ---- output ---- */

static void drop_sent_chunks(struct connection *c)
{
    while (c->out_head && c->out_head->sent == c->out_head->len) {
        struct out_chunk *chunk = c->out_head;
        c->out_head = chunk->next;
        if (!c->out_head)
            c->out_tail = NULL;
        chunk_free(chunk);
    }
}

/* Write as much as the socket takes. 0: all sent or would block; -1: error. */
static int flush_output(struct connection *c)
{
    while (c->out_head) {
        struct out_chunk *chunk = c->out_head;
        ssize_t n;
        if (!chunk->mem && chunk->fd >= 0) {
            off_t offset = chunk->file_offset + (off_t)chunk->sent;
            n = sendfile(c->watch.fd, chunk->fd, &offset, chunk->len - chunk->sent);
            if (n == 0) {
                log_warn("net", "file behind a response to %s shrank; closing", c->peer);
                return -1;
            }
        } else {
            struct iovec iov[MAX_IOV];
            int count = 0;
            for (struct out_chunk *m = chunk; m && m->mem && count < MAX_IOV; m = m->next)
                iov[count++] = (struct iovec){m->mem + m->sent, m->len - m->sent};
            n = writev(c->watch.fd, iov, count);
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            if (errno != EPIPE && errno != ECONNRESET)
                log_warn("net", "write to %s failed: %s", c->peer, strerror(errno));
            return -1;
        }
        c->out_bytes -= (size_t)n;
        for (struct out_chunk *m = chunk; n > 0; m = m->next) {
            size_t take = m->len - m->sent < (size_t)n ? m->len - m->sent : (size_t)n;
            m->sent += take;
            n -= (ssize_t)take;
        }
        drop_sent_chunks(c);
    }
    return 0;
}

static void schedule_free(void *arg)
{
    struct connection *c = arg;
    free(c->in);
    free(c->direct);
    free(c);
}

void connection_close(struct connection *c, const char *reason)
{
    if (c->closed)
        return;
    c->closed = true;
    if (reason)
        log_info("net", "closing connection %llu from %s (%s): %s", (unsigned long long)c->id,
                 c->peer, c->listener, reason);
    reactor_watch_remove(c->reactor, &c->watch);
    reactor_defer_cancel(c->reactor, &c->flush_later);
    close(c->watch.fd);
    for (struct net_slot *slot = c->slots_head; slot;) {
        struct net_slot *next = slot->next;
        slot->conn = NULL; /* orphan: released when its owner finishes it */
        slot->next = NULL;
        if (slot->ready) {
            net_slot_clear(slot);
            slot->release(slot);
        }
        slot = next;
    }
    c->slots_head = c->slots_tail = NULL;
    chunk_list_free(c->out_head);
    c->out_head = c->out_tail = NULL;
    if (c->cb->on_close)
        c->cb->on_close(c);
    /* Freed after this loop iteration: epoll may still hold events for it. */
    if (reactor_post(c->reactor, schedule_free, c) < 0)
        log_error("net", "out of memory; leaking a closed connection");
}

void connection_close_after_flush(struct connection *c)
{
    c->draining = true;
    if (c->pending == 0 && !c->out_head)
        connection_close(c, NULL);
    else
        update_interest(c);
}

static bool input_paused(const struct connection *c)
{
    return c->draining || c->pending >= c->limits.max_pending ||
           c->out_bytes >= c->limits.max_output_bytes;
}

static void update_interest(struct connection *c)
{
    uint32_t events = 0;
    if (!input_paused(c))
        events |= REACTOR_READABLE;
    /* A queued flush writes before the loop sleeps: no need to ask epoll. */
    if (c->out_head && !c->flush_later.queued)
        events |= REACTOR_WRITABLE;
    if (reactor_watch_set(c->reactor, &c->watch, events) < 0)
        connection_close(c, "epoll_ctl failed");
}

void connection_slot_ready(struct net_slot *slot)
{
    slot->ready = true;
    struct connection *c = slot->conn;
    if (!c) {
        net_slot_clear(slot);
        slot->release(slot);
        return;
    }
    if (c->slots_head != slot)
        return; /* an earlier response is still being worked on */
    collect_ready_slots(c);
    /* Responses often become ready in runs (a group commit acknowledges
     * every produce it covers): write them together, once per iteration. */
    reactor_defer(c->reactor, &c->flush_later);
}

static void on_flush_later(struct reactor_deferred *d)
{
    struct connection *c = (struct connection *)((char *)d - offsetof(struct connection, flush_later));
    if (c->closed)
        return;
    if (flush_output(c) < 0) {
        connection_close(c, NULL);
        return;
    }
    if (c->draining && c->pending == 0 && !c->out_head) {
        connection_close(c, NULL);
        return;
    }
    /* Frames held back at max_pending are already in the input buffer: no
     * socket event will come for them, so this answer is their cue. */
    dispatch_frames(c);
    if (!c->closed)
        update_interest(c);
}

/* ---- input ---- */

static int32_t read_be32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* Queue a slot for `frame` (malloc'd; the owner takes it) and hand it over. */
static void deliver_frame(struct connection *c, uint8_t *frame, size_t size)
{
    struct net_slot *slot = c->cb->new_slot(c);
    if (!slot) {
        free(frame);
        connection_close(c, "out of memory");
        return;
    }
    slot->conn = c;
    slot->next = NULL;
    if (c->slots_tail)
        c->slots_tail->next = slot;
    else
        c->slots_head = slot;
    c->slots_tail = slot;
    c->pending++;
    c->cb->on_frame(c, slot, frame, size);
}

/* Move the start of a large frame at `pos` into its own buffer; the rest is read there. */
static bool start_direct_frame(struct connection *c, size_t pos, size_t size)
{
    size_t have = c->in_len - pos - 4;
    uint8_t *frame = malloc(size);
    if (!frame)
        return false;
    memcpy(frame, c->in + pos + 4, have);
    c->direct = frame;
    c->direct_len = size;
    c->direct_have = have;
    return true;
}

/* Hand every complete frame in the input buffer to the owner. */
static void dispatch_frames(struct connection *c)
{
    if (c->dispatching)
        return; /* the outer call's loop picks up where this one would start */
    c->dispatching = true;
    size_t pos = 0;
    while (!c->closed && !c->direct && !input_paused(c) && c->in_len - pos >= 4) {
        int32_t size = read_be32(c->in + pos);
        if (size < 0 || (size_t)size > c->limits.max_request_bytes) {
            log_warn("net", "request of %d bytes from %s exceeds socket.request.max.bytes (%zu); closing",
                     size, c->peer, c->limits.max_request_bytes);
            connection_close(c, NULL);
            return;
        }
        if (c->in_len - pos - 4 < (size_t)size) {
            if ((size_t)size >= DIRECT_FRAME_MIN && start_direct_frame(c, pos, (size_t)size))
                pos = c->in_len;
            break;
        }
        uint8_t *frame = malloc(size ? (size_t)size : 1);
        if (!frame) {
            connection_close(c, "out of memory");
            return;
        }
        memcpy(frame, c->in + pos + 4, (size_t)size);
        pos += 4 + (size_t)size;
        deliver_frame(c, frame, (size_t)size);
    }
    c->dispatching = false;
    if (c->closed)
        return;
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

static int ensure_input_room(struct connection *c)
{
    size_t want = c->in_len + READ_CHUNK;
    if (c->in_len >= 4) {
        /* Grow once to the whole frame instead of many times. */
        size_t frame = (size_t)(uint32_t)read_be32(c->in) + 4;
        if (frame > want && frame <= c->limits.max_request_bytes + 4)
            want = frame;
    }
    if (want <= c->in_cap)
        return 0;
    uint8_t *grown = realloc(c->in, want);
    if (!grown)
        return -ENOMEM;
    c->in = grown;
    c->in_cap = want;
    return 0;
}

/* A direct frame got its last bytes: hand it over. */
static void finish_direct_frame(struct connection *c)
{
    uint8_t *frame = c->direct;
    size_t size = c->direct_len;
    c->direct = NULL;
    c->direct_len = c->direct_have = 0;
    deliver_frame(c, frame, size);
}

/*
 * A request that waits for something (acks=all for its fdatasync, a fetch
 * long-polling) leaves the segment that carried it unacknowledged: Linux
 * holds the ACK back to send it with the response. A client with Nagle's
 * algorithm on (librdkafka's default) keeps its next small request until
 * that ACK comes, so each produce would wait for the previous one's group
 * commit (measured: e2e p50 1.0 ms at 10k msg/s with acks=all, 0.3-0.5 with the
 * ACK sent at once). TCP_QUICKACK sends it now; the kernel clears the flag
 * by itself, hence once per read.
 */
static void acknowledge_input_now(struct connection *c)
{
    int one = 1;
    (void)setsockopt(c->watch.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* Read what the socket has and hand over complete frames; true if bytes came. */
static bool read_input(struct connection *c)
{
    bool got = false;
    for (int rounds = 0; rounds < 16 && !c->closed && !input_paused(c); rounds++) {
        uint8_t *dst;
        size_t room;
        if (c->direct) {
            dst = c->direct + c->direct_have;
            room = c->direct_len - c->direct_have;
        } else {
            if (ensure_input_room(c) < 0) {
                connection_close(c, "out of memory");
                return false;
            }
            dst = c->in + c->in_len;
            room = c->in_cap - c->in_len;
        }
        ssize_t n = read(c->watch.fd, dst, room);
        if (n == 0) {
            connection_close(c, NULL); /* peer closed: routine, not worth a line */
            return false;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return got;
            if (errno == ECONNRESET)
                connection_close(c, NULL);
            else
                connection_close(c, strerror(errno));
            return false;
        }
        got = true;
        c->last_active_ms = reactor_now_ms(c->reactor);
        if (c->direct) {
            c->direct_have += (size_t)n;
            if (c->direct_have == c->direct_len) {
                /* Answer a big request before reading the next: its
                 * response goes out at the end of this iteration, not after
                 * up to 15 more reads of further frames. A producer sent its
                 * answers in runs keeps more requests in flight, and
                 * librdkafka then re-faults its freed batch buffers (1 KiB
                 * produce: 664-787 MB/s before, 684-1,037 after, in five
                 * alternating runs; bench/RESULTS.md, session 10). */
                finish_direct_frame(c);
                return got;
            }
        } else {
            c->in_len += (size_t)n;
            dispatch_frames(c);
        }
        if ((size_t)n < room)
            return got; /* the socket is drained for now */
    }
    return got;
}

static void on_socket_event(struct reactor_watch *w, uint32_t events)
{
    struct connection *c = (struct connection *)w;
    if (c->closed)
        return;
    if (events & REACTOR_WRITABLE) {
        if (flush_output(c) < 0) {
            connection_close(c, NULL);
            return;
        }
        c->last_active_ms = reactor_now_ms(c->reactor);
        if (c->draining && c->pending == 0 && !c->out_head) {
            connection_close(c, NULL);
            return;
        }
    }
    if ((events & REACTOR_READABLE) && !input_paused(c) && read_input(c) && !c->closed &&
        c->pending > 0)
        acknowledge_input_now(c);
    if (!c->closed && (events & REACTOR_ERROR) && !(events & REACTOR_READABLE))
        connection_close(c, "socket error");
    if (!c->closed) {
        dispatch_frames(c); /* frames held back while paused */
        if (!c->closed)
            update_interest(c);
    }
}
