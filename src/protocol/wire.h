/* wire.h - bounds-checked primitives of the Kafka wire format.
 *
 * Readers and writers work on a [pos, end) window and carry a sticky error:
 * once a read runs past the end or meets an invalid length, `error` is set,
 * every later read returns 0/NULL/null and the caller checks `error` once at
 * the end of a struct. Writers write into a caller-sized buffer (use the
 * generated *_size functions) and set `error` instead of overflowing.
 *
 * All integers are big-endian. Varints: "uvarint" is Kafka's unsigned
 * varint (7 bits per byte, low group first), "varint"/"varlong" are the
 * zigzag-encoded signed ones used inside record batches. Classic strings
 * have an int16 length, classic bytes and arrays an int32 length, both -1 =
 * null; compact ones a uvarint of length+1, 0 = null.
 *
 * Decoded strings and bytes point into the input buffer: they are valid as
 * long as that buffer is, and strings are NOT NUL-terminated. */
#ifndef EDDY_PROTOCOL_WIRE_H
#define EDDY_PROTOCOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A string view. len -1 = null (ptr NULL). */
struct kstr {
    const char *ptr;
    int32_t len;
};

/* A byte-string view (also `records`). len -1 = null (ptr NULL). */
struct kbytes {
    const uint8_t *ptr;
    int32_t len;
};

struct kuuid {
    uint8_t bytes[16];
};

/* kstr over a NUL-terminated C string (NULL gives the null string). */
struct kstr kstr_from_cstr(const char *s);
/* True when s equals the C string c (a null kstr equals only c == NULL). */
bool kstr_eq_cstr(struct kstr s, const char *c);
/* True when both are null or both have the same bytes. */
bool kstr_eq(struct kstr a, struct kstr b);
static inline struct kstr kstr_null(void) { struct kstr s = {NULL, -1}; return s; }
static inline bool kstr_is_null(struct kstr s) { return s.len < 0; }
static inline struct kbytes kbytes_null(void) { struct kbytes b = {NULL, -1}; return b; }
bool kuuid_is_zero(struct kuuid u);
bool kuuid_eq(struct kuuid a, struct kuuid b);

/* Sticky error codes. */
enum wire_error {
    WIRE_OK = 0,
    WIRE_ERR_TRUNCATED = 1, /* read past the end of the input */
    WIRE_ERR_INVALID = 2,   /* bad length, overlong varint, null where not allowed */
    WIRE_ERR_NO_SPACE = 3,  /* writer buffer too small */
};

struct wire_reader {
    const uint8_t *pos, *end;
    int error;
};

struct wire_writer {
    uint8_t *pos, *end;
    int error;
};

static inline void wire_reader_init(struct wire_reader *r, const void *buf, size_t len)
{
    r->pos = buf;
    r->end = r->pos + len;
    r->error = WIRE_OK;
}

static inline void wire_writer_init(struct wire_writer *w, void *buf, size_t len)
{
    w->pos = buf;
    w->end = w->pos + len;
    w->error = WIRE_OK;
}

static inline size_t wire_reader_remaining(const struct wire_reader *r)
{
    return (size_t)(r->end - r->pos);
}

static inline size_t wire_writer_remaining(const struct wire_writer *w)
{
    return (size_t)(w->end - w->pos);
}

/* Mark the reader failed (keeps the first error) and consume nothing more. */
static inline void wire_reader_fail(struct wire_reader *r, int error)
{
    if (!r->error)
        r->error = error;
    r->pos = r->end;
}

static inline void wire_writer_fail(struct wire_writer *w, int error)
{
    if (!w->error)
        w->error = error;
}

/* True when n more bytes can be read; otherwise fails the reader. */
static inline bool wire_reader_has(struct wire_reader *r, size_t n)
{
    if (r->error)
        return false;
    if (wire_reader_remaining(r) < n) {
        wire_reader_fail(r, WIRE_ERR_TRUNCATED);
        return false;
    }
    return true;
}

static inline bool wire_writer_has(struct wire_writer *w, size_t n)
{
    if (w->error)
        return false;
    if (wire_writer_remaining(w) < n) {
        wire_writer_fail(w, WIRE_ERR_NO_SPACE);
        return false;
    }
    return true;
}

/* ---- fixed-width reads (inline: they are the hot path of decoding) ---- */

static inline uint8_t wire_read_uint8(struct wire_reader *r)
{
    if (!wire_reader_has(r, 1))
        return 0;
    return *r->pos++;
}

static inline int8_t wire_read_int8(struct wire_reader *r)
{
    return (int8_t)wire_read_uint8(r);
}

static inline bool wire_read_bool(struct wire_reader *r)
{
    return wire_read_uint8(r) != 0;
}

static inline uint16_t wire_read_uint16(struct wire_reader *r)
{
    if (!wire_reader_has(r, 2))
        return 0;
    uint16_t v = (uint16_t)((uint16_t)r->pos[0] << 8 | r->pos[1]);
    r->pos += 2;
    return v;
}

static inline int16_t wire_read_int16(struct wire_reader *r)
{
    return (int16_t)wire_read_uint16(r);
}

static inline uint32_t wire_read_uint32(struct wire_reader *r)
{
    if (!wire_reader_has(r, 4))
        return 0;
    const uint8_t *p = r->pos;
    r->pos += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline int32_t wire_read_int32(struct wire_reader *r)
{
    return (int32_t)wire_read_uint32(r);
}

static inline uint64_t wire_read_uint64(struct wire_reader *r)
{
    if (!wire_reader_has(r, 8))
        return 0;
    const uint8_t *p = r->pos;
    r->pos += 8;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline int64_t wire_read_int64(struct wire_reader *r)
{
    return (int64_t)wire_read_uint64(r);
}

static inline double wire_read_float64(struct wire_reader *r)
{
    uint64_t bits = wire_read_uint64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline struct kuuid wire_read_uuid(struct wire_reader *r)
{
    struct kuuid u;
    if (!wire_reader_has(r, 16)) {
        memset(&u, 0, sizeof u);
        return u;
    }
    memcpy(u.bytes, r->pos, 16);
    r->pos += 16;
    return u;
}

/* n raw bytes (pointer into the input), or NULL on overrun (n 0 gives pos). */
static inline const uint8_t *wire_read_raw(struct wire_reader *r, size_t n)
{
    if (!wire_reader_has(r, n))
        return NULL;
    const uint8_t *p = r->pos;
    r->pos += n;
    return p;
}

static inline void wire_skip(struct wire_reader *r, size_t n)
{
    (void)wire_read_raw(r, n);
}

/* ---- variable-length reads (wire.c) ---- */

uint32_t wire_read_uvarint(struct wire_reader *r);  /* at most 5 bytes */
uint64_t wire_read_uvarlong(struct wire_reader *r); /* at most 10 bytes */
int32_t wire_read_varint(struct wire_reader *r);    /* zigzag */
int64_t wire_read_varlong(struct wire_reader *r);   /* zigzag */

/* Strings: len -1 for null; on error {NULL, -1} and error set. Lengths above
 * 32767 are invalid (Kafka's limit) for both encodings. */
struct kstr wire_read_string(struct wire_reader *r);
struct kstr wire_read_compact_string(struct wire_reader *r);
struct kbytes wire_read_bytes(struct wire_reader *r);
struct kbytes wire_read_compact_bytes(struct wire_reader *r);
/* Array element counts: -1 for null, error on other negatives. The count is
 * not checked against the remaining input; callers do that. */
int32_t wire_read_array_len(struct wire_reader *r);
int32_t wire_read_compact_array_len(struct wire_reader *r);

/* Skip a whole tagged-field section (count, then tag/length/value each). */
void wire_skip_tagged_fields(struct wire_reader *r);

/* ---- fixed-width writes ---- */

static inline void wire_write_uint8(struct wire_writer *w, uint8_t v)
{
    if (!wire_writer_has(w, 1))
        return;
    *w->pos++ = v;
}

static inline void wire_write_int8(struct wire_writer *w, int8_t v)
{
    wire_write_uint8(w, (uint8_t)v);
}

static inline void wire_write_bool(struct wire_writer *w, bool v)
{
    wire_write_uint8(w, v ? 1 : 0);
}

static inline void wire_write_uint16(struct wire_writer *w, uint16_t v)
{
    if (!wire_writer_has(w, 2))
        return;
    w->pos[0] = (uint8_t)(v >> 8);
    w->pos[1] = (uint8_t)v;
    w->pos += 2;
}

static inline void wire_write_int16(struct wire_writer *w, int16_t v)
{
    wire_write_uint16(w, (uint16_t)v);
}

static inline void wire_write_uint32(struct wire_writer *w, uint32_t v)
{
    if (!wire_writer_has(w, 4))
        return;
    w->pos[0] = (uint8_t)(v >> 24);
    w->pos[1] = (uint8_t)(v >> 16);
    w->pos[2] = (uint8_t)(v >> 8);
    w->pos[3] = (uint8_t)v;
    w->pos += 4;
}

static inline void wire_write_int32(struct wire_writer *w, int32_t v)
{
    wire_write_uint32(w, (uint32_t)v);
}

static inline void wire_write_uint64(struct wire_writer *w, uint64_t v)
{
    if (!wire_writer_has(w, 8))
        return;
    for (int i = 7; i >= 0; i--) {
        w->pos[i] = (uint8_t)v;
        v >>= 8;
    }
    w->pos += 8;
}

static inline void wire_write_int64(struct wire_writer *w, int64_t v)
{
    wire_write_uint64(w, (uint64_t)v);
}

static inline void wire_write_float64(struct wire_writer *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    wire_write_uint64(w, bits);
}

static inline void wire_write_uuid(struct wire_writer *w, struct kuuid u)
{
    if (!wire_writer_has(w, 16))
        return;
    memcpy(w->pos, u.bytes, 16);
    w->pos += 16;
}

static inline void wire_write_raw(struct wire_writer *w, const void *p, size_t n)
{
    if (!wire_writer_has(w, n))
        return;
    if (n)
        memcpy(w->pos, p, n);
    w->pos += n;
}

/* ---- variable-length writes (wire.c) ---- */

void wire_write_uvarint(struct wire_writer *w, uint32_t v);
void wire_write_uvarlong(struct wire_writer *w, uint64_t v);
void wire_write_varint(struct wire_writer *w, int32_t v);
void wire_write_varlong(struct wire_writer *w, int64_t v);
/* A string longer than 32767 bytes fails the writer with WIRE_ERR_INVALID. */
void wire_write_string(struct wire_writer *w, struct kstr s);
void wire_write_compact_string(struct wire_writer *w, struct kstr s);
void wire_write_bytes(struct wire_writer *w, struct kbytes b);
void wire_write_compact_bytes(struct wire_writer *w, struct kbytes b);
void wire_write_array_len(struct wire_writer *w, int32_t count);         /* <0: null */
void wire_write_compact_array_len(struct wire_writer *w, int32_t count); /* <0: null */

/* ---- encoded sizes ---- */

static inline size_t wire_uvarint_size(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t wire_uvarlong_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t wire_varint_size(int32_t v)
{
    return wire_uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

static inline size_t wire_varlong_size(int64_t v)
{
    return wire_uvarlong_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline size_t wire_string_size(struct kstr s)
{
    return 2 + (s.len > 0 ? (size_t)s.len : 0);
}

static inline size_t wire_compact_string_size(struct kstr s)
{
    if (s.len < 0)
        return 1;
    return wire_uvarint_size((uint32_t)s.len + 1) + (size_t)s.len;
}

static inline size_t wire_bytes_size(struct kbytes b)
{
    return 4 + (b.len > 0 ? (size_t)b.len : 0);
}

static inline size_t wire_compact_bytes_size(struct kbytes b)
{
    if (b.len < 0)
        return 1;
    return wire_uvarint_size((uint32_t)b.len + 1) + (size_t)b.len;
}

static inline size_t wire_compact_array_len_size(int32_t count)
{
    return count < 0 ? 1 : wire_uvarint_size((uint32_t)count + 1);
}

#endif
