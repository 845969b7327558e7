/*
 * request.c - from a frame to a handler call, and from a response message to
 * bytes queued on the connection.
 *
 * A request that cannot be understood (unknown API, a version outside what
 * we advertise, a body that does not decode) closes the connection after a
 * log line, as Kafka does: there is no well-formed way to answer it. The one
 * exception is ApiVersions at an unknown version, which gets the v0 answer
 * that tells the client what we support (KIP-511).
 */
#include "server/request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/reactor.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/session.h"
#include "util/logger.h"

#define API_VERSIONS_KEY 18

void *request_alloc(struct request *req, size_t size)
{
    return arena_alloc(&req->arena, size);
}

struct kstr request_kstr(struct request *req, const char *s)
{
    if (!s)
        return kstr_null();
    size_t n = strlen(s);
    char *copy = request_alloc(req, n + 1);
    if (!copy)
        return kstr_from_cstr("");
    memcpy(copy, s, n);
    struct kstr k = {copy, (int32_t)n};
    return k;
}

struct kstr request_client_host(struct request *req)
{
    char host[80];
    const char *peer = req->peer;
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    if (n > 1 && peer[0] == '[' && peer[n - 1] == ']') {
        peer++;
        n -= 2;
    }
    snprintf(host, sizeof host, "/%.*s", (int)n, peer);
    return request_kstr(req, host);
}

static void request_release(struct net_slot *slot)
{
    struct request *req = (struct request *)slot;
    arena_free(&req->arena);
    free(req->frame);
    free(req);
}

struct net_slot *request_new_slot(struct connection *c)
{
    (void)c;
    struct request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->slot.release = request_release;
    arena_init(&req->arena);
    return &req->slot;
}

/* Header + body into one buffer with the 4-byte size prefix, then queue it. */
static int queue_response(struct request *req, const void *response, uint8_t *raw, size_t raw_len)
{
    struct response_header header;
    response_header_init(&header);
    header.correlation_id = req->correlation_id;
    int header_version = response_header_version(req->api_key, req->api_version);
    size_t header_size = response_header_size((int16_t)header_version, &header);
    size_t body_size = response ? api_response_size(req->api_key, req->api_version, response) : raw_len;
    size_t total = 4 + header_size + body_size;
    uint8_t *buf = malloc(response ? total : 4 + header_size);
    if (!buf) {
        free(raw);
        return -ENOMEM;
    }
    struct wire_writer w;
    wire_writer_init(&w, buf, response ? total : 4 + header_size);
    wire_write_int32(&w, (int32_t)(total - 4));
    response_header_encode(&w, (int16_t)header_version, &header);
    if (response)
        api_response_encode(req->api_key, req->api_version, &w, response);
    if (w.error) {
        log_error("server", "encoding %s v%d response failed (error %d)",
                  api_info_get(req->api_key)->name, req->api_version, w.error);
        free(buf);
        free(raw);
        return -EINVAL;
    }
    net_slot_add_mem(&req->slot, buf, (size_t)(w.pos - buf));
    if (raw)
        net_slot_add_mem(&req->slot, raw, raw_len);
    return 0;
}

/* Hand the slot back; without an answer to send, the client must not wait
 * forever for one: its connection is closed (which releases the slot). */
static void finish_slot(struct request *req, int rc)
{
    if (rc < 0 && req->slot.conn) {
        req->slot.ready = true;
        connection_close(req->slot.conn, "no response could be built");
        return;
    }
    connection_slot_ready(&req->slot);
}

void request_abort(struct request *req, const char *reason)
{
    struct connection *c = req->slot.conn;
    net_slot_clear(&req->slot);
    if (!c) {
        connection_slot_ready(&req->slot); /* orphan: just released */
        return;
    }
    req->slot.ready = true; /* released by the close with the other finished slots */
    connection_close(c, reason);
}

int request_respond(struct request *req, const void *response)
{
    int rc = queue_response(req, response, NULL, 0);
    finish_slot(req, rc);
    return rc;
}

int request_respond_raw(struct request *req, uint8_t *body, size_t body_len)
{
    int rc = queue_response(req, NULL, body, body_len);
    finish_slot(req, rc);
    return rc;
}

void request_finish_silently(struct request *req)
{
    req->slot.silent = true;
    connection_slot_ready(&req->slot);
}

static void reject(struct connection *c, struct request *req, const char *why)
{
    const struct api_info *info = api_info_get(req->api_key);
    log_warn("server", "closing connection from %s (%s): %s (api %s key %d v%d, correlation id %d)",
             connection_peer(c), connection_listener(c), why, info ? info->name : "unknown",
             req->api_key, req->api_version, req->correlation_id);
    /* Nothing will ever answer this request: marked ready, the close releases
     * it with the other finished slots (an unready slot is left to its owner). */
    req->slot.ready = true;
    connection_close(c, NULL);
}

static int16_t peek_int16(const uint8_t *p)
{
    return (int16_t)((uint16_t)p[0] << 8 | p[1]);
}

static int32_t peek_int32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

void request_on_frame(struct connection *c, struct net_slot *slot, uint8_t *frame, size_t len)
{
    struct request *req = (struct request *)slot;
    struct session *session = connection_user(c);
    req->broker = session->broker;
    req->frame = frame;
    req->frame_len = len;
    req->connection_id = connection_id(c);
    snprintf(req->peer, sizeof req->peer, "%s", connection_peer(c));
    snprintf(req->listener, sizeof req->listener, "%s", connection_listener(c));
    req->received_ms = reactor_now_ms(req->broker->reactor);
    if (len < 8) {
        req->api_key = -1;
        reject(c, req, "request shorter than its header");
        return;
    }
    req->api_key = peek_int16(frame);
    req->api_version = peek_int16(frame + 2);
    req->correlation_id = peek_int32(frame + 4);

    const struct api_handler *handler = api_handler_find(req->api_key);
    if (!handler) {
        reject(c, req, "unsupported API key");
        return;
    }
    bool version_ok = req->api_version >= handler->min_version && req->api_version <= handler->max_version;
    if (!version_ok && req->api_key != API_VERSIONS_KEY) {
        reject(c, req, "unsupported API version");
        return;
    }

    /* An unknown ApiVersions version has an unknown header too: answer from the fixed prefix. */
    if (!version_ok) {
        api_versions_respond_unsupported(req);
        return;
    }

    struct wire_reader r;
    wire_reader_init(&r, frame, len);
    struct request_header header;
    request_header_init(&header);
    int header_version = request_header_version(req->api_key, req->api_version);
    if (request_header_decode(&r, (int16_t)header_version, &header, &req->arena) < 0) {
        reject(c, req, "malformed request header");
        return;
    }
    req->client_id = header.client_id;
    req->body = arena_alloc(&req->arena, api_request_struct_size(req->api_key));
    if (!req->body) {
        reject(c, req, "out of memory");
        return;
    }
    if (api_request_decode(req->api_key, req->api_version, &r, req->body, &req->arena) < 0) {
        reject(c, req, "malformed request body");
        return;
    }
    /* Bytes after a complete body are ignored, as Kafka does: librdkafka 2.0's
     * ListGroups v4 (ListConsumerGroups) ends with one. */
    if (wire_reader_remaining(&r) != 0)
        log_debug("server", "%zu bytes after the body of API key %d v%d from %s ignored",
                  wire_reader_remaining(&r), req->api_key, req->api_version, req->peer);
    session_note_client(session, req->client_id);
    handler->handle(req);
}
