/*
 * tool_wire.h - a raw request and its response over plain TCP, for what the
 * tools need and librdkafka 2.0 cannot send (topic ids, IncrementalAlterConfigs).
 * Plaintext listeners only; callers fall back or say so otherwise.
 */
#ifndef EDDY_TOOLS_TOOL_WIRE_H
#define EDDY_TOOLS_TOOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing request: a size prefix, a v1 header, then the body's fields. */
struct tool_wire_request {
    uint8_t *data;
    size_t len, cap;
    bool failed; /* out of memory: sticks */
};

/* Start a request with a non-flexible (v1) header: api key, version, correlation id 1, client id. */
void tool_wire_begin(struct tool_wire_request *r, int16_t api_key, int16_t api_version, const char *client_id);
void tool_wire_put_int(struct tool_wire_request *r, uint64_t value, int bytes);
/* An int16-length string; NULL is written as null (-1). */
void tool_wire_put_string(struct tool_wire_request *r, const char *s);
void tool_wire_free(struct tool_wire_request *r);

/*
 * Send `request` (its size prefix filled in here) to the first server of the
 * bootstrap list and read one response of at most max_response bytes:
 * *response (malloc'd, without its size prefix) and *response_len. 0, or -1
 * if anything failed.
 */
int tool_wire_roundtrip(const char *bootstrap, int timeout_ms, struct tool_wire_request *request,
                        size_t max_response, uint8_t **response, size_t *response_len);

#endif
