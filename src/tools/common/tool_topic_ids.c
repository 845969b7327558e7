/*
 * tool_topic_ids.c - one raw Metadata v12 round trip to learn topic ids
 * (see tool_topic_ids.h for why).
 */
#include "common/tool_topic_ids.h"

#include "common/tool_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int tool_fetch_topic_ids(const char *bootstrap, int timeout_ms, struct tool_strlist *names,
                         struct tool_strlist *ids)
{
    /* Metadata v12 is flexible: after the v1 header, its empty tagged fields. */
    struct tool_wire_request req;
    tool_wire_begin(&req, METADATA_API_KEY, METADATA_VERSION, "adminclient-1");
    tool_wire_put_int(&req, 0, 1); /* header tagged fields */
    tool_wire_put_int(&req, 0, 1); /* topics: null = all */
    tool_wire_put_int(&req, 0, 1); /* allow_auto_topic_creation */
    tool_wire_put_int(&req, 0, 1); /* include_topic_authorized_operations */
    tool_wire_put_int(&req, 0, 1); /* body tagged fields */
    uint8_t *buf;
    size_t size;
    int rc = tool_wire_roundtrip(bootstrap, timeout_ms, &req, MAX_RESPONSE_BYTES, &buf, &size);
    tool_wire_free(&req);
    if (rc == 0) {
        rc = parse_response(buf, size, names, ids);
        free(buf);
    }
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
