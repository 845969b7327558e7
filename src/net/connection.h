/*
 * connection.h - one client connection: 4-byte size framing on input,
 * responses written back strictly in request order on output.
 *
 * Every complete frame is handed to the owner's on_frame callback together
 * with a fresh response slot already queued on the connection, so order is
 * fixed at arrival. The owner fills the slot's chunks (memory buffers or
 * file ranges sent with sendfile) whenever the answer is ready, possibly
 * much later (long-poll fetch, acks=all), and calls connection_slot_ready().
 * Responses queued behind an unfinished one wait for it.
 *
 * If the connection dies while slots are still pending, those slots are
 * orphaned (slot->conn becomes NULL); connection_slot_ready() on an orphan
 * just releases it, so owners need no special case.
 */
#ifndef EDDY_NET_CONNECTION_H
#define EDDY_NET_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/reactor.h"

struct connection;

/* A piece of a response: bytes in memory, or a range of a file. */
struct out_chunk {
    struct out_chunk *next;
    uint8_t *mem;          /* memory chunk (owned: freed when sent), or NULL */
    size_t len;            /* bytes in the chunk */
    size_t sent;           /* bytes already written */
    int fd;                /* file chunk: sent with sendfile */
    off_t file_offset;
    void (*release)(void *ctx); /* file chunk: called once sent or dropped */
    void *release_ctx;
};

struct net_slot {
    struct net_slot *next;
    struct connection *conn; /* NULL once orphaned */
    struct out_chunk *chunks, *chunks_tail;
    bool ready;
    bool silent; /* no response at all (Produce acks=0) */
    void (*release)(struct net_slot *slot); /* frees the owner's object */
};

struct connection_callbacks {
    /* A whole frame (without its size prefix), malloc'd; the callee owns it.
     * slot is already queued on the connection, from new_slot(). */
    void (*on_frame)(struct connection *c, struct net_slot *slot, uint8_t *frame, size_t len);
    /* Allocates the owner's object that embeds a net_slot. */
    struct net_slot *(*new_slot)(struct connection *c);
    void (*on_close)(struct connection *c);
};

struct connection_limits {
    size_t max_request_bytes;   /* socket.request.max.bytes */
    int64_t max_idle_ms;        /* connections.max.idle.ms */
    size_t max_pending;         /* stop reading past this many unanswered requests */
    size_t max_output_bytes;    /* ... or this many unsent response bytes */
};

struct connection *connection_create(struct reactor *r, int fd, const char *peer,
                                     const char *listener_name,
                                     const struct connection_callbacks *cb,
                                     const struct connection_limits *limits, void *owner_ctx);

/* Append a memory chunk (ownership of buf passes) or a file range to a slot. */
int net_slot_add_mem(struct net_slot *slot, uint8_t *buf, size_t len);
int net_slot_add_file(struct net_slot *slot, int fd, off_t offset, size_t len,
                      void (*release)(void *ctx), void *ctx);
/* Drop a slot's chunks without sending them (encoding failed, orphaned...). */
void net_slot_clear(struct net_slot *slot);

/* The slot's response is complete: send it when its turn comes. The slot
 * (and the owner's object around it) may be released inside this call. */
void connection_slot_ready(struct net_slot *slot);

/* Close now (pending slots are orphaned). reason is logged unless NULL. */
void connection_close(struct connection *c, const char *reason);
/* Stop reading; close once every pending response has been sent. */
void connection_close_after_flush(struct connection *c);

const char *connection_peer(const struct connection *c);
const char *connection_listener(const struct connection *c);
void *connection_owner(const struct connection *c);
int64_t connection_idle_ms(const struct connection *c, int64_t now_ms);
bool connection_is_idle(const struct connection *c);
/* The smallest round-trip time seen on the socket, in microseconds (0:
 * unknown); re-read from the kernel at most once a second. */
int64_t connection_min_rtt_us(struct connection *c, int64_t now_ms);
uint64_t connection_id(const struct connection *c);
void connection_set_user(struct connection *c, void *user);
void *connection_user(const struct connection *c);

#endif
