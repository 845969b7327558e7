/*
 * tool_wire.c - raw requests for the tools (see tool_wire.h): build one,
 * connect to the first bootstrap server, one round trip.
 */
#include "common/tool_wire.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void put_bytes(struct tool_wire_request *r, const void *src, size_t n)
{
    if (r->failed)
        return;
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        while (cap < r->len + n)
            cap *= 2;
        uint8_t *grown = realloc(r->data, cap);
        if (!grown) {
            r->failed = true;
            return;
        }
        r->data = grown;
        r->cap = cap;
    }
    memcpy(r->data + r->len, src, n);
    r->len += n;
}

void tool_wire_put_int(struct tool_wire_request *r, uint64_t value, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
    put_bytes(r, b, (size_t)bytes);
}

void tool_wire_put_string(struct tool_wire_request *r, const char *s)
{
    if (!s) {
        tool_wire_put_int(r, 0xffff, 2);
        return;
    }
    size_t n = strlen(s);
    if (n > 0x7fff) {
        r->failed = true;
        return;
    }
    tool_wire_put_int(r, n, 2);
    put_bytes(r, s, n);
}

void tool_wire_begin(struct tool_wire_request *r, int16_t api_key, int16_t api_version, const char *client_id)
{
    memset(r, 0, sizeof *r);
    tool_wire_put_int(r, 0, 4); /* the size, filled in when sent */
    tool_wire_put_int(r, (uint16_t)api_key, 2);
    tool_wire_put_int(r, (uint16_t)api_version, 2);
    tool_wire_put_int(r, 1, 4); /* correlation id */
    tool_wire_put_string(r, client_id);
}

void tool_wire_free(struct tool_wire_request *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
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

static bool write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

int tool_wire_roundtrip(const char *bootstrap, int timeout_ms, struct tool_wire_request *request,
                        size_t max_response, uint8_t **response, size_t *response_len)
{
    char host[512], port[512];
    if (request->failed || request->len < 4 || !bootstrap ||
        first_server(bootstrap, host, sizeof host, port, sizeof port) != 0)
        return -1;
    uint32_t body = (uint32_t)(request->len - 4);
    for (int i = 0; i < 4; i++)
        request->data[i] = (uint8_t)(body >> (24 - 8 * i));
    int fd = connect_to(host, port, timeout_ms);
    if (fd < 0)
        return -1;
    int rc = -1;
    uint8_t size_be[4];
    if (write_all(fd, request->data, request->len) && read_exact(fd, size_be, 4)) {
        uint32_t size = (uint32_t)size_be[0] << 24 | (uint32_t)size_be[1] << 16 | (uint32_t)size_be[2] << 8 |
                        size_be[3];
        uint8_t *buf = size <= max_response ? malloc(size ? size : 1) : NULL;
        if (buf && read_exact(fd, buf, size)) {
            *response = buf;
            *response_len = size;
            rc = 0;
        } else {
            free(buf);
        }
    }
    close(fd);
    return rc;
}
