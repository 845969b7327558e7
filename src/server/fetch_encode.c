/*
 * fetch_encode.c - the zero-copy Fetch response writer.
 *
 * Layout per version (Kafka's FetchResponse.json): throttle_time_ms,
 * error_code and session_id (v7+), then topics (name up to v12, id from
 * v13), each with partitions: index, error, high watermark, last stable
 * offset, log start offset (v5+), aborted transactions, preferred read
 * replica (v11+), records. Flexible versions (v12+) use compact lengths and
 * an empty tagged-field section after every struct.
 */
#include "server/fetch_encode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_segment.h"
#include "net/connection.h"
#include "protocol/generated/api_table.h"
#include "server/request.h"

#define HEAD_ROOM 4096

struct piece_writer {
    struct request *req;
    uint8_t *buf;     /* current memory chunk */
    size_t cap;
    struct wire_writer w;
    size_t total;     /* bytes queued so far, memory and files */
    int error;
};

static int piece_open(struct piece_writer *pw, size_t want)
{
    pw->cap = want < HEAD_ROOM ? HEAD_ROOM : want;
    pw->buf = malloc(pw->cap);
    if (!pw->buf)
        return pw->error = -ENOMEM;
    wire_writer_init(&pw->w, pw->buf, pw->cap);
    return 0;
}

/* Close the current memory chunk and queue it. */
static void piece_close(struct piece_writer *pw)
{
    if (!pw->buf)
        return;
    size_t used = (size_t)(pw->w.pos - pw->buf);
    if (pw->w.error && !pw->error)
        pw->error = -ENOBUFS;
    pw->total += used;
    net_slot_add_mem(&pw->req->slot, pw->buf, used);
    pw->buf = NULL;
}

/* Make sure n more header bytes fit, starting a new chunk if needed. */
static struct wire_writer *room(struct piece_writer *pw, size_t n)
{
    if (pw->buf && wire_writer_remaining(&pw->w) >= n)
        return &pw->w;
    piece_close(pw);
    piece_open(pw, n);
    return &pw->w;
}

static void release_segment(void *ctx)
{
    log_segment_unref(ctx);
}

static void add_records(struct piece_writer *pw, struct log_read_result *data)
{
    piece_close(pw);
    for (size_t i = 0; i < data->range_count; i++) {
        struct log_read_range *r = &data->ranges[i];
        /* The chunk takes over the segment reference. */
        net_slot_add_file(&pw->req->slot, r->fd, r->position, r->length, release_segment, r->segment);
        pw->total += r->length;
    }
    data->range_count = 0;
    data->total_bytes = 0;
}

static void write_array_len(struct wire_writer *w, bool flexible, int32_t n)
{
    if (flexible)
        wire_write_compact_array_len(w, n);
    else
        wire_write_array_len(w, n);
}

static void write_partition(struct piece_writer *pw, int16_t version, struct fetch_out_partition *p)
{
    bool flexible = version >= 12;
    struct wire_writer *w = room(pw, 128);
    wire_write_int32(w, p->partition_index);
    wire_write_int16(w, p->error_code);
    wire_write_int64(w, p->high_watermark);
    wire_write_int64(w, p->last_stable_offset);
    if (version >= 5)
        wire_write_int64(w, p->log_start_offset);
    write_array_len(w, flexible, p->read_committed ? 0 : -1); /* aborted transactions: none */
    if (version >= 11)
        wire_write_int32(w, -1); /* preferred read replica */
    size_t bytes = p->data.total_bytes;
    if (flexible)
        wire_write_uvarint(w, (uint32_t)bytes + 1);
    else
        wire_write_int32(w, (int32_t)bytes);
    if (bytes)
        add_records(pw, &p->data);
    if (flexible)
        wire_write_uvarint(room(pw, 1), 0); /* tagged fields */
}

static void write_topic(struct piece_writer *pw, int16_t version, struct fetch_out_topic *t)
{
    bool flexible = version >= 12;
    struct wire_writer *w = room(pw, 512);
    if (version >= 13)
        wire_write_uuid(w, t->id);
    else if (flexible)
        wire_write_compact_string(w, t->name);
    else
        wire_write_string(w, t->name);
    write_array_len(w, flexible, t->partition_count);
    for (int32_t i = 0; i < t->partition_count; i++)
        write_partition(pw, version, &t->partitions[i]);
    if (flexible)
        wire_write_uvarint(room(pw, 1), 0);
}

int fetch_respond(struct request *req, struct fetch_out *out)
{
    int16_t version = req->api_version;
    bool flexible = version >= 12;
    struct piece_writer pw = {.req = req};
    if (piece_open(&pw, HEAD_ROOM) < 0)
        return pw.error;
    uint8_t *size_field = pw.buf; /* filled in once the total is known */
    struct wire_writer *w = &pw.w;
    wire_write_int32(w, 0);
    wire_write_int32(w, req->correlation_id);
    if (response_header_version(req->api_key, version) >= 1)
        wire_write_uvarint(w, 0);
    wire_write_int32(w, 0); /* throttle_time_ms */
    if (version >= 7) {
        wire_write_int16(w, out->error_code);
        wire_write_int32(w, out->session_id);
    }
    write_array_len(w, flexible, out->topic_count);
    for (int32_t i = 0; i < out->topic_count; i++)
        write_topic(&pw, version, &out->topics[i]);
    if (flexible)
        wire_write_uvarint(room(&pw, 1), 0);
    piece_close(&pw);
    if (pw.error)
        return pw.error;
    uint32_t size = (uint32_t)(pw.total - 4);
    size_field[0] = (uint8_t)(size >> 24);
    size_field[1] = (uint8_t)(size >> 16);
    size_field[2] = (uint8_t)(size >> 8);
    size_field[3] = (uint8_t)size;
    connection_slot_ready(&req->slot);
    return 0;
}
