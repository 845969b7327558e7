/*
 * fetch_encode.h - writes a Fetch response whose records stay in the segment
 * files: header fields go into small memory chunks, record bytes become file
 * chunks that the connection sends with sendfile (zero copy).
 *
 * The generated codec would need the records in memory, so this one response
 * is encoded by hand, for versions 4-17 (flexible from 12).
 */
#ifndef EDDY_SERVER_FETCH_ENCODE_H
#define EDDY_SERVER_FETCH_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "log/partition_log.h"
#include "protocol/wire.h"

struct request;

struct fetch_out_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t log_start_offset;
    bool read_committed; /* aborted transactions: empty list instead of null */
    struct log_read_result data; /* range_count 0: no records */
};

struct fetch_out_topic {
    struct kstr name;
    struct kuuid id;
    int32_t partition_count;
    struct fetch_out_partition *partitions;
};

struct fetch_out {
    int16_t error_code;
    int32_t session_id;
    int32_t topic_count;
    struct fetch_out_topic *topics;
};

/*
 * Encode `out` as the request's response and queue it. The read results'
 * segment references move into the queued chunks (released once sent).
 * 0 or -errno (the caller closes the connection).
 */
int fetch_respond(struct request *req, struct fetch_out *out);

#endif
