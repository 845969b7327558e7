/*
 * request.h - one client request from arrival to response.
 *
 * The server decodes the header and body into a per-request arena, calls the
 * API's handler, and the handler (now or later) answers with
 * request_respond(). Everything the request owns is freed once the response
 * has been handed to the connection.
 */
#ifndef EDDY_SERVER_REQUEST_H
#define EDDY_SERVER_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "net/connection.h"
#include "protocol/wire.h"
#include "util/arena.h"

struct broker;

struct request {
    struct net_slot slot; /* first: the connection queues requests by it */
    struct broker *broker;
    uint64_t connection_id;
    char peer[64];
    char listener[32];
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    struct kstr client_id;
    uint8_t *frame; /* the whole request; decoded strings point into it */
    size_t frame_len;
    void *body;     /* the decoded request message */
    struct arena arena;
    int64_t received_ms;
};

/* Encode response (the API's response message for this version), queue it. 0 or -errno. */
int request_respond(struct request *req, const void *response);
/* Queue pre-encoded body bytes (malloc'd, ownership passes) after the response header. */
int request_respond_raw(struct request *req, uint8_t *body, size_t body_len);
/* Give up on a request that cannot be answered: close its connection (if
 * still open) and release it. The request must not be touched afterwards. */
void request_abort(struct request *req, const char *reason);
/* Finish without a response (Produce with acks=0). */
void request_finish_silently(struct request *req);
/* A copy of a C string (NULL: null) that lives as long as the request. */
struct kstr request_kstr(struct request *req, const char *s);
/* The client's host as Kafka shows it: "/<ip>" (Java's InetAddress.toString). */
struct kstr request_client_host(struct request *req);
/* Allocate zeroed memory that lives as long as the request. */
void *request_alloc(struct request *req, size_t size);
/* True once the client has gone away (the answer would be dropped). */
static inline bool request_orphaned(const struct request *req)
{
    return req->slot.conn == NULL;
}

#endif
