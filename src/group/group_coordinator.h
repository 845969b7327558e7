/*
 * group_coordinator.h - the consumer group coordinator: Kafka's classic group
 * protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets
 * (OffsetCommit, OffsetFetch, OffsetDelete), group administration
 * (ListGroups, DescribeGroups, DeleteGroups), and the records in
 * `__consumer_offsets` that make all of it durable.
 *
 * The coordinator knows nothing about sockets or the event loop, so that it
 * can be unit-tested: callers pass the current time into every call, call
 * group_coordinator_tick() periodically (session timeouts, rebalance
 * timeouts, group.initial.rebalance.delay.ms, offset retention), and give it
 * a storage backend that appends record batches to a partition of
 * `__consumer_offsets` and reports when they are durable. Start-up replays
 * the stored batches through group_coordinator_replay_batch().
 *
 * Requests that must wait (a JoinGroup until the rebalance completes, a
 * SyncGroup until the leader's assignment, an OffsetCommit until its record
 * is durable) take a completion callback; the callback may run before the
 * call returns. Pointers in a result are valid only during the callback.
 * Strings and byte arrays passed in are copied when kept, except where a
 * comment says otherwise.
 *
 * Times are wall-clock milliseconds (commit timestamps are stored and
 * compared across restarts).
 */
#ifndef EDDY_GROUP_GROUP_COORDINATOR_H
#define EDDY_GROUP_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

/* Kafka's NON_EMPTY_GROUP, missing from protocol/errors.h. */
#define GROUP_ERROR_NON_EMPTY_GROUP 68

struct group_coordinator;

struct group_coordinator_config {
    int32_t offsets_partitions;         /* offsets.topic.num.partitions */
    int64_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
    int64_t min_session_timeout_ms;     /* group.min.session.timeout.ms */
    int64_t max_session_timeout_ms;     /* group.max.session.timeout.ms */
    int32_t max_group_size;             /* group.max.size */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes * 60000 */
    int64_t retention_check_interval_ms; /* offsets.retention.check.interval.ms */
    int32_t max_metadata_bytes;         /* offset.metadata.max.bytes (4096) */
    int64_t consumer_session_timeout_ms;      /* group.consumer.session.timeout.ms (KIP-848) */
    int32_t consumer_heartbeat_interval_ms;   /* group.consumer.heartbeat.interval.ms */
};

/* What KIP-848 groups need to know about topics (assignments name topics by id). */
struct group_topic_lookup {
    void *ctx;
    /* false if there is no such topic */
    bool (*by_name)(void *ctx, const char *name, size_t len, struct kuuid *id, int32_t *partitions);
    /* the topic's name, or NULL if unknown */
    const char *(*name_of)(void *ctx, struct kuuid id);
    /* visit every topic name (regex subscriptions); may be NULL */
    void (*each)(void *ctx, void (*visit)(void *arg, const char *name), void *arg);
};

/* Storage: done(arg, 0 or a Kafka error) once the batch is durable. */
typedef void (*group_write_done_fn)(void *arg, int16_t error);
struct group_storage {
    void *ctx;
    /*
     * Append one record batch (malloc'd; ownership passes) to partition
     * `partition` of __consumer_offsets. Returns 0 and later (or at once)
     * calls done, or returns a Kafka error code without calling done.
     */
    int16_t (*append)(void *ctx, int32_t partition, uint8_t *batch, size_t len,
                      group_write_done_fn done, void *arg);
};

/* 0, or -ENOMEM. The storage struct is copied. */
int group_coordinator_create(const struct group_coordinator_config *config,
                             const struct group_storage *storage, struct group_coordinator **out);
/* Answers every waiting request with COORDINATOR_NOT_AVAILABLE, then frees. */
void group_coordinator_destroy(struct group_coordinator *gc);

/* Set how topics are looked up (copied); without it KIP-848 groups see no topics. */
void group_coordinator_set_topic_lookup(struct group_coordinator *gc, const struct group_topic_lookup *lookup);

/* abs(Java String.hashCode(group_id)) % partitions, with Kafka's Utils.abs. */
int32_t group_partition_for(const char *group_id, size_t len, int32_t partitions);
/* Java's String.hashCode over the UTF-16 units of a UTF-8 string. */
int32_t group_java_string_hash(const char *s, size_t len);

/* Apply one stored batch of __consumer_offsets (start-up). 0 or a Kafka error. */
int group_coordinator_replay_batch(struct group_coordinator *gc, const uint8_t *batch, size_t len,
                                   int64_t now_ms);
/* Call once start-up replay is over: members loaded from records get fresh session deadlines. */
void group_coordinator_loaded(struct group_coordinator *gc, int64_t now_ms);

/* Expire silent members, finish timed-out rebalances, expire old offsets. */
void group_coordinator_tick(struct group_coordinator *gc, int64_t now_ms);

/* ---- JoinGroup ---- */
struct group_protocol {
    struct kstr name;
    struct kbytes metadata;
};

struct group_join_params {
    struct kstr group_id;
    struct kstr member_id;         /* "" on a first join */
    struct kstr group_instance_id; /* null unless static membership */
    struct kstr protocol_type;
    struct kstr client_id;
    struct kstr client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* -1: the session timeout (JoinGroup v0) */
    bool require_known_member_id; /* JoinGroup v4+ */
    const struct group_protocol *protocols;
    int32_t protocol_count;
};

struct group_join_member {
    const char *member_id;
    const char *group_instance_id; /* NULL if dynamic */
    const uint8_t *metadata;
    int32_t metadata_len;
};

struct group_join_result {
    int16_t error;
    int32_t generation;
    const char *protocol_type; /* NULL if none */
    const char *protocol_name; /* NULL if none */
    const char *leader_id;
    const char *member_id;
    const struct group_join_member *members; /* only for the leader */
    int32_t member_count;
    bool skip_assignment; /* KIP-814: a static leader rejoined a Stable group; it must not assign */
};

typedef void (*group_join_fn)(void *arg, const struct group_join_result *result);
void group_join(struct group_coordinator *gc, const struct group_join_params *params, int64_t now_ms,
                group_join_fn done, void *arg);

/* ---- SyncGroup ---- */
struct group_assignment {
    struct kstr member_id;
    struct kbytes assignment;
};

struct group_sync_params {
    struct kstr group_id;
    struct kstr member_id;
    struct kstr group_instance_id;
    struct kstr protocol_type; /* null: not checked (SyncGroup < v5) */
    struct kstr protocol_name; /* null: not checked */
    int32_t generation;
    const struct group_assignment *assignments;
    int32_t assignment_count;
};

struct group_sync_result {
    int16_t error;
    const char *protocol_type;
    const char *protocol_name;
    const uint8_t *assignment;
    int32_t assignment_len;
};

typedef void (*group_sync_fn)(void *arg, const struct group_sync_result *result);
void group_sync(struct group_coordinator *gc, const struct group_sync_params *params, int64_t now_ms,
                group_sync_fn done, void *arg);

/* ---- Heartbeat and LeaveGroup: immediate answers (Kafka error codes) ---- */
int16_t group_heartbeat(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
                        struct kstr group_instance_id, int32_t generation, int64_t now_ms);
/*
 * Remove one member (identified by member id, or by instance id for a
 * static member). Returns the member's error; *group_error gets an error
 * that concerns the whole group (COORDINATOR_NOT_AVAILABLE...) or 0.
 */
int16_t group_leave(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
                    struct kstr group_instance_id, int64_t now_ms, int16_t *group_error);

/* ---- Offsets ---- */
struct group_offset_commit_partition {
    struct kstr topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    struct kstr metadata;
    int16_t error; /* in: nonzero to skip (already refused); out: the result */
};

struct group_offset_commit_params {
    struct kstr group_id;
    struct kstr member_id;
    struct kstr group_instance_id;
    int32_t generation; /* -1: a commit outside group management */
    int64_t expire_timestamp_ms; /* -1: retention applies */
    /* Must stay valid until done is called (the request owns it). */
    struct group_offset_commit_partition *partitions;
    int32_t partition_count;
};

/* error: the group-level error (also copied into every partition), or 0. */
typedef void (*group_commit_fn)(void *arg, int16_t error);
void group_offset_commit(struct group_coordinator *gc, const struct group_offset_commit_params *params,
                         int64_t now_ms, group_commit_fn done, void *arg);

struct group_offset {
    const char *topic;
    int32_t partition;
    int64_t offset; /* -1: nothing committed */
    int32_t leader_epoch;
    const char *metadata; /* NULL when nothing committed */
};

/* Look up one committed offset; out->offset is -1 if there is none. */
void group_offset_fetch(struct group_coordinator *gc, struct kstr group_id, struct kstr topic,
                        int32_t partition, struct group_offset *out);
/* Visit every committed offset of a group, sorted by topic then partition. Returns the count. */
typedef void (*group_offset_visit_fn)(void *arg, const struct group_offset *offset);
int32_t group_offset_fetch_all(struct group_coordinator *gc, struct kstr group_id,
                               group_offset_visit_fn visit, void *arg);

struct group_offset_delete_partition {
    struct kstr topic;
    int32_t partition;
    int16_t error; /* out */
};

/*
 * OffsetDelete: returns the group-level error; partition errors are set
 * (GROUP_SUBSCRIBED_TO_TOPIC for topics a live consumer group subscribes to).
 * The tombstones are appended; done runs once they are durable (not called
 * when the returned error is nonzero).
 */
int16_t group_offset_delete(struct group_coordinator *gc, struct kstr group_id,
                            struct group_offset_delete_partition *partitions, int32_t count,
                            int64_t now_ms, group_commit_fn done, void *arg);

/* ---- KIP-848 consumer groups: ConsumerGroupHeartbeat, ConsumerGroupDescribe ---- */
struct group_topic_partitions {
    struct kuuid topic_id;
    const char *topic_name; /* results only; NULL if unknown */
    const int32_t *partitions;
    int32_t count;
};

struct group_consumer_heartbeat_params {
    int16_t api_version;     /* of the ConsumerGroupHeartbeat request: v1+ always names the member */
    struct kstr group_id;
    struct kstr member_id;   /* "" to join (v0); v1 clients choose their own id */
    int32_t member_epoch;    /* 0 join, -1 leave, -2 static leave, else the current epoch */
    struct kstr instance_id;
    struct kstr rack_id;
    struct kstr client_id;
    struct kstr client_host;
    int32_t rebalance_timeout_ms; /* -1: unchanged */
    const struct kstr *subscribed; /* names */
    int32_t subscribed_count;      /* -1: unchanged */
    struct kstr subscribed_regex;  /* null: unchanged; "" clears; POSIX ERE over whole names */
    struct kstr server_assignor;   /* null: unchanged */
    const struct group_topic_partitions *owned;
    int32_t owned_count; /* -1: unchanged (null); must be 0 when joining (epoch 0) */
};

struct group_consumer_heartbeat_result {
    int16_t error;
    const char *error_message;
    const char *member_id;
    int32_t member_epoch;
    int32_t heartbeat_interval_ms;
    bool has_assignment; /* sent only when it changed (or on a full request) */
    const struct group_topic_partitions *assignment;
    int32_t assignment_count;
};

typedef void (*group_consumer_heartbeat_fn)(void *arg, const struct group_consumer_heartbeat_result *r);
void group_consumer_heartbeat(struct group_coordinator *gc, const struct group_consumer_heartbeat_params *p,
                              int64_t now_ms, group_consumer_heartbeat_fn done, void *arg);

struct group_consumer_member_description {
    const char *member_id;
    const char *instance_id;
    const char *rack_id;
    int32_t member_epoch;
    const char *client_id;
    const char *client_host;
    const char *const *subscribed;
    int32_t subscribed_count;
    const struct group_topic_partitions *assignment;
    int32_t assignment_count;
    const struct group_topic_partitions *target;
    int32_t target_count;
};

struct group_consumer_description {
    int16_t error; /* GROUP_ID_NOT_FOUND for unknown or classic groups */
    const char *error_message;
    const char *state; /* "Empty", "Assigning", "Reconciling", "Stable" */
    int32_t group_epoch;
    int32_t assignment_epoch;
    const char *assignor;
    const struct group_consumer_member_description *members;
    int32_t member_count;
};

typedef void (*group_consumer_describe_fn)(void *arg, const struct group_consumer_description *d);
void group_consumer_describe(struct group_coordinator *gc, struct kstr group_id, group_consumer_describe_fn done,
                             void *arg);

/* ---- Administration ---- */
struct group_listing {
    const char *group_id;
    const char *protocol_type; /* "" if none */
    const char *state;         /* "Empty", "Stable", ... */
    const char *type;          /* "classic" or "consumer" */
};
typedef void (*group_list_fn)(void *arg, const struct group_listing *group);
void group_list(struct group_coordinator *gc, group_list_fn visit, void *arg);

struct group_member_description {
    const char *member_id;
    const char *group_instance_id; /* NULL if dynamic */
    const char *client_id;
    const char *client_host;
    const uint8_t *metadata; /* for the chosen protocol; only when Stable */
    int32_t metadata_len;
    const uint8_t *assignment; /* only when Stable */
    int32_t assignment_len;
};

struct group_description {
    int16_t error;
    const char *state; /* "Dead" for an unknown group or a KIP-848 (non-classic) one */
    const char *protocol_type;
    const char *protocol_name; /* "" unless Stable */
    const struct group_member_description *members;
    int32_t member_count;
};
typedef void (*group_describe_fn)(void *arg, const struct group_description *group);
void group_describe(struct group_coordinator *gc, struct kstr group_id, group_describe_fn done,
                    void *arg);

/*
 * DeleteGroups for one group: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or 0
 * after appending tombstones for its metadata and offsets (done runs once
 * durable; only called when 0 is returned).
 */
int16_t group_delete(struct group_coordinator *gc, struct kstr group_id, int64_t now_ms,
                     group_commit_fn done, void *arg);

/* Kafka's name for a state, as in DescribeGroups and ListGroups. */
const char *group_state_name_for(struct group_coordinator *gc, struct kstr group_id);

#endif
