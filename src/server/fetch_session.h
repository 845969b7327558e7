/*
 * fetch_session.h - fetch sessions (KIP-227) and the partition list a Fetch
 * request resolves to.
 *
 * A consumer that opens a session (session id 0, epoch 0) sends its whole
 * partition list once; later requests (same id, epoch+1) send only what
 * changed, and the answers list only partitions with news (records, an
 * error, or a moved high watermark / log start offset). A session left with
 * no partitions is closed (the answer carries session id 0). Which session a
 * full cache gives up for a new one: see fetch_session.c.
 */
#ifndef EDDY_SERVER_FETCH_SESSION_H
#define EDDY_SERVER_FETCH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/wire.h"

struct broker;
struct request;
struct fetch_out;

struct fetch_plan_partition {
    struct kstr topic;    /* len -1 when the request names topics by id (v13+) */
    struct kuuid topic_id;
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t current_leader_epoch;
};

struct fetch_plan_topic {
    int32_t partition_count;
    struct fetch_plan_partition *partitions;
};

/*
 * A plan owns everything it names (topic names are copied into the request):
 * a fetch that waits for data can outlive its session, which a later request
 * may close or the cache may evict. The session is found again by id when
 * the answer is ready.
 */
struct fetch_plan {
    int32_t session_id;             /* 0: sessionless */
    bool incremental;               /* answer only partitions with news */
    int32_t topic_count;
    struct fetch_plan_topic *topics;
};

/* Resolve the request (and its session) into a plan. 0 or a top-level Kafka error. */
int16_t fetch_session_plan(struct broker *b, struct request *req, struct fetch_plan *plan);
/* Before answering: drop unchanged partitions of an incremental answer, remember what was sent. */
void fetch_session_note_response(struct broker *b, const struct fetch_plan *plan, struct fetch_out *out);
void fetch_sessions_free(struct broker *b);
/* Partitions the plan reads (0: the fetch has nothing to wait for). */
int32_t fetch_plan_partition_count(const struct fetch_plan *plan);

#endif
