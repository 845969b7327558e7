/*
 * producer_state.h - idempotent producers' state of one partition: for each
 * producer id its epoch and the sequence numbers and offsets of its last
 * five batches, so that a retried batch is recognised and acknowledged with
 * its original offsets instead of being appended twice.
 *
 * The state is snapshotted beside the segments (`<end offset>.snapshot`) on
 * clean close, when the log rolls, and periodically while idempotent
 * producers write; it is rebuilt at open from the newest usable snapshot
 * plus the batches after it, so idempotence survives kill -9 and a restart
 * reads no more of the log than the active segment. A cleanly closed log
 * without any snapshot starts empty, as in Kafka.
 */
#ifndef EDDY_LOG_PRODUCER_STATE_H
#define EDDY_LOG_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct partition_log;
struct producer_state;

#define PRODUCER_BATCHES_KEPT 5

/* Load (snapshot + replay of the log tail). 0 or -errno. */
int producer_state_open(struct partition_log *log, struct producer_state **out);
/* Snapshot at the log end offset and free. NULL is fine. */
void producer_state_close(struct producer_state *ps);
/* Write a snapshot now (at the log end offset). Not durable (no fsync: the
 * periodic snapshots run on the network thread) keeps the previous snapshot
 * as well, for open to fall back on. 0 or -errno. */
int producer_state_snapshot(struct producer_state *ps, bool durable);

/* producer.id.expiration.ms: forget producers whose last batch's timestamp
 * is that old, as Kafka's removeExpiredProducers (their next batch may then
 * start at any sequence). Returns how many were forgotten. */
size_t producer_state_expire(struct producer_state *ps, int64_t now_ms, int64_t expiration_ms);

struct producer_batch_info {
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t last_sequence;
    bool transactional;
};

/*
 * Check a batch before it is appended. Returns 0 (append it),
 * PRODUCER_DUPLICATE with the original's terms in *dup, or a Kafka error:
 * INVALID_PRODUCER_EPOCH (47), OUT_OF_ORDER_SEQUENCE_NUMBER (45).
 * A producer with no state here may start at any sequence, as in Kafka,
 * except on a partition that never held a record: there at 0 only.
 */
#define PRODUCER_DUPLICATE 1000
struct producer_duplicate {
    int64_t base_offset, last_offset;
    int64_t timestamp; /* the batch's max timestamp as stored (its LogAppendTime), -1 if not known */
};
int producer_state_check(struct producer_state *ps, const struct producer_batch_info *batch,
                         struct producer_duplicate *dup);
/* Record an appended batch. */
void producer_state_update(struct producer_state *ps, const struct producer_batch_info *batch,
                           int64_t first_offset, int64_t last_offset, int64_t timestamp);

/* For DescribeProducers: visit every producer. */
struct producer_summary {
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t last_sequence;
    int64_t last_timestamp;
    int64_t last_offset;
};
void producer_state_foreach(struct producer_state *ps, void (*fn)(void *ctx, const struct producer_summary *p),
                            void *ctx);

#endif
