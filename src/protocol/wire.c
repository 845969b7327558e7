/* wire.c - variable-length primitives of the Kafka wire format (wire.h). */
#include "protocol/wire.h"

#define WIRE_STRING_MAX 0x7fff

struct kstr kstr_from_cstr(const char *s)
{
    struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
    return k;
}

bool kstr_eq_cstr(struct kstr s, const char *c)
{
    if (s.len < 0 || !c)
        return s.len < 0 && !c;
    size_t n = strlen(c);
    return (size_t)s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

bool kstr_eq(struct kstr a, struct kstr b)
{
    if (a.len < 0 || b.len < 0)
        return a.len < 0 && b.len < 0;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

bool kuuid_is_zero(struct kuuid u)
{
    for (int i = 0; i < 16; i++)
        if (u.bytes[i])
            return false;
    return true;
}

bool kuuid_eq(struct kuuid a, struct kuuid b)
{
    return memcmp(a.bytes, b.bytes, 16) == 0;
}

/* ---- reads ---- */

uint32_t wire_read_uvarint(struct wire_reader *r)
{
    uint32_t v = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
        if (!wire_reader_has(r, 1))
            return 0;
        uint8_t b = *r->pos++;
        /* The fifth byte may only carry the top 4 bits. */
        if (shift == 28 && b > 0x0f) {
            wire_reader_fail(r, WIRE_ERR_INVALID);
            return 0;
        }
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    wire_reader_fail(r, WIRE_ERR_INVALID);
    return 0;
}

uint64_t wire_read_uvarlong(struct wire_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
        if (!wire_reader_has(r, 1))
            return 0;
        uint8_t b = *r->pos++;
        if (shift == 63 && b > 0x01) {
            wire_reader_fail(r, WIRE_ERR_INVALID);
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    wire_reader_fail(r, WIRE_ERR_INVALID);
    return 0;
}

int32_t wire_read_varint(struct wire_reader *r)
{
    uint32_t u = wire_read_uvarint(r);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t wire_read_varlong(struct wire_reader *r)
{
    uint64_t u = wire_read_uvarlong(r);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

static struct kstr string_body(struct wire_reader *r, int64_t len)
{
    struct kstr s = {NULL, -1};
    if (r->error)
        return s;
    if (len < -1 || len > WIRE_STRING_MAX) {
        wire_reader_fail(r, WIRE_ERR_INVALID);
        return s;
    }
    if (len == -1)
        return s;
    const uint8_t *p = wire_read_raw(r, (size_t)len);
    if (!p)
        return s;
    s.ptr = (const char *)p;
    s.len = (int32_t)len;
    return s;
}

struct kstr wire_read_string(struct wire_reader *r)
{
    return string_body(r, wire_read_int16(r));
}

struct kstr wire_read_compact_string(struct wire_reader *r)
{
    return string_body(r, (int64_t)wire_read_uvarint(r) - 1);
}

static struct kbytes bytes_body(struct wire_reader *r, int64_t len)
{
    struct kbytes b = {NULL, -1};
    if (r->error)
        return b;
    if (len < -1 || len > INT32_MAX) {
        wire_reader_fail(r, WIRE_ERR_INVALID);
        return b;
    }
    if (len == -1)
        return b;
    const uint8_t *p = wire_read_raw(r, (size_t)len);
    if (!p)
        return b;
    b.ptr = p;
    b.len = (int32_t)len;
    return b;
}

struct kbytes wire_read_bytes(struct wire_reader *r)
{
    return bytes_body(r, wire_read_int32(r));
}

struct kbytes wire_read_compact_bytes(struct wire_reader *r)
{
    return bytes_body(r, (int64_t)wire_read_uvarint(r) - 1);
}

static int32_t array_len(struct wire_reader *r, int64_t n)
{
    if (r->error)
        return -1;
    if (n < -1 || n > INT32_MAX) {
        wire_reader_fail(r, WIRE_ERR_INVALID);
        return -1;
    }
    return (int32_t)n;
}

int32_t wire_read_array_len(struct wire_reader *r)
{
    return array_len(r, wire_read_int32(r));
}

int32_t wire_read_compact_array_len(struct wire_reader *r)
{
    return array_len(r, (int64_t)wire_read_uvarint(r) - 1);
}

/* ---- writes ---- */

void wire_write_uvarint(struct wire_writer *w, uint32_t v)
{
    size_t n = wire_uvarint_size(v);
    if (!wire_writer_has(w, n))
        return;
    while (v >= 0x80) {
        *w->pos++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w->pos++ = (uint8_t)v;
}

void wire_write_uvarlong(struct wire_writer *w, uint64_t v)
{
    size_t n = wire_uvarlong_size(v);
    if (!wire_writer_has(w, n))
        return;
    while (v >= 0x80) {
        *w->pos++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w->pos++ = (uint8_t)v;
}

void wire_write_varint(struct wire_writer *w, int32_t v)
{
    wire_write_uvarint(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void wire_write_varlong(struct wire_writer *w, int64_t v)
{
    wire_write_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void wire_write_string(struct wire_writer *w, struct kstr s)
{
    if (s.len < 0) {
        wire_write_int16(w, -1);
        return;
    }
    if (s.len > WIRE_STRING_MAX) {
        wire_writer_fail(w, WIRE_ERR_INVALID);
        return;
    }
    wire_write_int16(w, (int16_t)s.len);
    wire_write_raw(w, s.ptr, (size_t)s.len);
}

void wire_write_compact_string(struct wire_writer *w, struct kstr s)
{
    if (s.len < 0) {
        wire_write_uvarint(w, 0);
        return;
    }
    if (s.len > WIRE_STRING_MAX) {
        wire_writer_fail(w, WIRE_ERR_INVALID);
        return;
    }
    wire_write_uvarint(w, (uint32_t)s.len + 1);
    wire_write_raw(w, s.ptr, (size_t)s.len);
}

void wire_write_bytes(struct wire_writer *w, struct kbytes b)
{
    if (b.len < 0) {
        wire_write_int32(w, -1);
        return;
    }
    wire_write_int32(w, b.len);
    wire_write_raw(w, b.ptr, (size_t)b.len);
}

void wire_write_compact_bytes(struct wire_writer *w, struct kbytes b)
{
    if (b.len < 0) {
        wire_write_uvarint(w, 0);
        return;
    }
    wire_write_uvarint(w, (uint32_t)b.len + 1);
    wire_write_raw(w, b.ptr, (size_t)b.len);
}

void wire_write_array_len(struct wire_writer *w, int32_t count)
{
    wire_write_int32(w, count < 0 ? -1 : count);
}

void wire_write_compact_array_len(struct wire_writer *w, int32_t count)
{
    wire_write_uvarint(w, count < 0 ? 0 : (uint32_t)count + 1);
}

void wire_skip_tagged_fields(struct wire_reader *r)
{
    uint32_t count = wire_read_uvarint(r);
    /* Each field takes at least two bytes, so a bogus count ends at the input's end. */
    for (uint32_t i = 0; i < count && !r->error; i++) {
        (void)wire_read_uvarint(r); /* tag */
        uint32_t len = wire_read_uvarint(r);
        wire_skip(r, len);
    }
}
