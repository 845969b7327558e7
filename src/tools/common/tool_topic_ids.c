/*
 * tool_topic_ids.c - one raw Metadata v12 round trip to learn topic ids
 * (see tool_topic_ids.h for why).
 */
#include "common/tool_topic_ids.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define METADATA_API_KEY 3
#define METADATA_VERSION 12
#define MAX_RESPONSE_BYTES (64u << 20)

/* Bounds-checked reader over a response; `failed` sticks once set. */
struct wire_reader {
    const uint8_t *pos, *end;
    bool failed;
};

static bool need(struct wire_reader *r, size_t n)
{
    if (r->failed || (size_t)(r->end - r->pos) < n) {
        r->failed = true;
        return false;
    }
    return true;
}

static uint64_t read_uint(struct wire_reader *r, int bytes)
{
    if (!need(r, (size_t)bytes))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | *r->pos++;
    return v;
}

static uint64_t read_uvarint(struct wire_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (!need(r, 1))
            return 0;
        uint8_t b = *r->pos++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->failed = true;
    return 0;
}

static void skip(struct wire_reader *r, size_t n)
{
    if (need(r, n))
        r->pos += n;
}

/* Compact (nullable) string: *out points into the buffer, *len -1 for null. */
static void read_compact_string(struct wire_reader *r, const uint8_t **out, int64_t *len)
{
    uint64_t n = read_uvarint(r);
    *len = (int64_t)n - 1;
    *out = r->pos;
    if (n > 0)
        skip(r, (size_t)(n - 1));
}

/* Compact array length; 0 for a null array. */
static uint64_t read_compact_count(struct wire_reader *r)
{
    uint64_t n = read_uvarint(r);
    return n ? n - 1 : 0;
}

static void skip_tagged_fields(struct wire_reader *r)
{
    uint64_t n = read_uvarint(r);
    for (uint64_t i = 0; i < n && !r->failed; i++) {
        read_uvarint(r);
        skip(r, (size_t)read_uvarint(r));
    }
}

static void skip_int32_array(struct wire_reader *r)
{
    uint64_t n = read_compact_count(r);
    if (n > (uint64_t)(r->end - r->pos) / 4) {
        r->failed = true;
        return;
    }
    skip(r, (size_t)n * 4);
}

static void encode_topic_id(const uint8_t id[16], char out[23])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int bits = 0, n = 0;
    uint32_t acc = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | id[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0)
        out[n++] = alphabet[(acc << (6 - bits)) & 0x3f];
    out[n] = '\0';
}

static int parse_response(const uint8_t *buf, size_t len, struct tool_strlist *names, struct tool_strlist *ids)
{
    struct wire_reader r = {buf, buf + len, false};
    read_uint(&r, 4); /* correlation id */
    skip_tagged_fields(&r);
    read_uint(&r, 4); /* throttle */
    uint64_t brokers = read_compact_count(&r);
    for (uint64_t i = 0; i < brokers && !r.failed; i++) {
        const uint8_t *s;
        int64_t n;
        read_uint(&r, 4);
        read_compact_string(&r, &s, &n);
        read_uint(&r, 4);
        read_compact_string(&r, &s, &n);
        skip_tagged_fields(&r);
    }
    const uint8_t *cluster;
    int64_t cluster_len;
    read_compact_string(&r, &cluster, &cluster_len);
    read_uint(&r, 4); /* controller */
    uint64_t topics = read_compact_count(&r);
    for (uint64_t t = 0; t < topics && !r.failed; t++) {
        read_uint(&r, 2);
        const uint8_t *name;
        int64_t name_len;
        read_compact_string(&r, &name, &name_len);
        if (!need(&r, 16))
            break;
        char id[23];
        encode_topic_id(r.pos, id);
        r.pos += 16;
        read_uint(&r, 1); /* is_internal */
        uint64_t partitions = read_compact_count(&r);
        for (uint64_t p = 0; p < partitions && !r.failed; p++) {
            skip(&r, 2 + 4 + 4 + 4);
            skip_int32_array(&r);
            skip_int32_array(&r);
            skip_int32_array(&r);
            skip_tagged_fields(&r);
        }
        read_uint(&r, 4); /* authorized operations */
        skip_tagged_fields(&r);
        if (!r.failed && name_len > 0) {
            tool_strlist_add_len(names, (const char *)name, (size_t)name_len);
            tool_strlist_add(ids, id);
        }
    }
    return r.failed ? -1 : 0;
}

/* First "host:port" of a bootstrap list, without a "PLAINTEXT://" style prefix. */
static int first_server(const char *bootstrap, char *host, size_t host_len, char *port, size_t port_len)
{
    const char *start = strstr(bootstrap, "://");
    start = start ? start + 3 : bootstrap;
    size_t len = strcspn(start, ",");
    char server[512];
    if (len == 0 || len >= sizeof server)
        return -1;
    memcpy(server, start, len);
    server[len] = '\0';
    char *colon = strrchr(server, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    const char *h = server;
    if (h[0] == '[') { /* [ipv6]:port */
        h++;
        char *close = strchr(server, ']');
        if (close)
            *close = '\0';
    }
    snprintf(host, host_len, "%s", h);
    snprintf(port, port_len, "%s", colon + 1);
    return 0;
}

static int connect_to(const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static bool read_exact(int fd, uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

int tool_fetch_topic_ids(const char *bootstrap, int timeout_ms, struct tool_strlist *names,
                         struct tool_strlist *ids)
{
    char host[512], port[512];
    if (!bootstrap || first_server(bootstrap, host, sizeof host, port, sizeof port) != 0)
        return -1;
    int fd = connect_to(host, port, timeout_ms);
    if (fd < 0)
        return -1;
    static const char client_id[] = "adminclient-1";
    uint8_t req[64];
    size_t n = 4;
    req[n++] = 0;
    req[n++] = METADATA_API_KEY;
    req[n++] = 0;
    req[n++] = METADATA_VERSION;
    req[n++] = 0, req[n++] = 0, req[n++] = 0, req[n++] = 1; /* correlation id */
    req[n++] = 0;
    req[n++] = (uint8_t)(sizeof client_id - 1);
    memcpy(req + n, client_id, sizeof client_id - 1);
    n += sizeof client_id - 1;
    req[n++] = 0; /* header tagged fields */
    req[n++] = 0; /* topics: null = all */
    req[n++] = 0; /* allow_auto_topic_creation */
    req[n++] = 0; /* include_topic_authorized_operations */
    req[n++] = 0; /* body tagged fields */
    uint32_t body = (uint32_t)(n - 4);
    req[0] = (uint8_t)(body >> 24), req[1] = (uint8_t)(body >> 16), req[2] = (uint8_t)(body >> 8),
    req[3] = (uint8_t)body;
    int rc = -1;
    uint8_t size_be[4];
    if (write(fd, req, n) == (ssize_t)n && read_exact(fd, size_be, 4)) {
        uint32_t size = (uint32_t)size_be[0] << 24 | (uint32_t)size_be[1] << 16 | (uint32_t)size_be[2] << 8 |
                        size_be[3];
        uint8_t *buf = size <= MAX_RESPONSE_BYTES ? malloc(size ? size : 1) : NULL;
        if (buf && read_exact(fd, buf, size))
            rc = parse_response(buf, size, names, ids);
        free(buf);
    }
    close(fd);
    if (rc != 0) {
        tool_strlist_free(names);
        tool_strlist_free(ids);
    }
    return rc;
}

const char *tool_topic_id_of(const struct tool_strlist *names, const struct tool_strlist *ids, const char *topic)
{
    for (size_t i = 0; i < names->count && i < ids->count; i++)
        if (strcmp(names->items[i], topic) == 0)
            return ids->items[i];
    return TOOL_ZERO_TOPIC_ID;
}
