/*
 * group_internal.h - the coordinator's data structures, shared by the files
 * of src/group/ only: the group table (group_table.c), the classic
 * membership state machine (group_membership.c), committed offsets
 * (group_offsets.c) and the __consumer_offsets records (group_records.c).
 */
#ifndef EDDY_GROUP_GROUP_INTERNAL_H
#define EDDY_GROUP_GROUP_INTERNAL_H

#include "group/group_coordinator.h"
#include "protocol/record_batch.h"

enum group_state {
    GROUP_EMPTY,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD,
};

enum group_kind {
    GROUP_KIND_CLASSIC,  /* JoinGroup/SyncGroup, or offsets only */
    GROUP_KIND_CONSUMER, /* KIP-848 ConsumerGroupHeartbeat */
};

/* A set of topic partitions (KIP-848 assignments). */
struct tp {
    struct kuuid topic_id;
    int32_t partition;
};
struct tp_set {
    struct tp *items;
    int32_t count;
    int32_t cap;
};

struct consumer_member {
    char *id;
    char *instance_id; /* NULL if dynamic */
    char *rack_id;
    char *client_id;
    char *client_host;
    int32_t epoch;
    int32_t previous_epoch; /* accepted once more: the response that moved it on may be lost */
    int32_t rebalance_timeout_ms;
    char **topics; /* subscribed topic names */
    int32_t topic_count;
    char *assignor; /* the server assignor it asked for, or NULL */
    char **named;   /* the explicitly subscribed names; topics = named + regex matches */
    int32_t named_count;
    char *regex;    /* SubscribedTopicRegex, or NULL */
    struct tp_set assigned; /* what it may own now */
    struct tp_set revoking; /* taken away, not yet confirmed released */
    struct tp_set target;   /* what the assignor gave it */
    int64_t session_deadline_ms;
    bool left_temporarily; /* a static member that sent epoch -2: its instance id may be taken over */
    int64_t revoke_deadline_ms; /* -1: nothing to revoke */
    uint64_t sent_hash;         /* of the last assignment sent */
    uint64_t persisted_hash;    /* of the state last written to __consumer_offsets */
    bool sent_any;
    struct consumer_member *next;
};

struct consumer_group {
    int32_t group_epoch;
    int32_t assignment_epoch;
    uint64_t metadata_hash; /* of the subscribed topics' ids and partition counts */
    int32_t persisted_epoch; /* the group epoch last written */
    struct consumer_member *members;
    int32_t member_count;
};

struct member_protocol {
    char *name;
    uint8_t *metadata;
    int32_t metadata_len;
};

struct group_member {
    char *id;
    char *instance_id; /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    struct member_protocol *protocols;
    int32_t protocol_count;
    uint8_t *assignment;
    int32_t assignment_len;
    int64_t heartbeat_deadline_ms;
    bool is_new; /* joined during the current rebalance */
    bool awaiting_sync; /* in the current generation, but no SyncGroup from it yet */
    group_join_fn join_done; /* non-NULL: awaiting the join response */
    void *join_arg;
    group_sync_fn sync_done; /* non-NULL: awaiting the sync response */
    void *sync_arg;
    struct group_member *next;
};

/* A member id handed out with MEMBER_ID_REQUIRED, not yet used to join. */
struct pending_member {
    char *id;
    int64_t deadline_ms;
    struct pending_member *next;
};

struct offset_entry {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_timestamp_ms;
    int64_t expire_timestamp_ms; /* -1: retention applies */
    struct offset_entry *next; /* hash chain */
};

struct commit_op;

struct group {
    char *id;
    enum group_kind kind;
    struct consumer_group *consumer; /* GROUP_KIND_CONSUMER: its members; state is Empty/Stable */
    enum group_state state;
    int32_t generation;
    char *protocol_type; /* NULL: none (offsets-only group) */
    char *protocol_name;
    char *leader_id;
    struct group_member *members; /* in join order */
    int32_t member_count;
    struct pending_member *pending;
    int64_t state_timestamp_ms;  /* when the state last changed (offset retention) */
    int64_t rebalance_deadline_ms; /* PreparingRebalance: force completion then */
    bool initial_delay;           /* the rebalance is in group.initial.rebalance.delay.ms */
    int64_t initial_delay_remaining_ms;
    bool joined_during_delay;
    bool loaded;                  /* rebuilt from records; deadlines start at load end */
    struct offset_entry **offsets;
    size_t offset_buckets;
    size_t offset_count;
    /* OffsetCommits written but not yet durable. They take effect when
     * durable, so whatever removes offsets or the group in between must
     * keep memory in the order of the log (group_offsets.c). */
    struct commit_op *pending_commits;
    struct group *next; /* hash chain */
};

struct group_coordinator {
    struct group_coordinator_config config;
    struct group_storage storage;
    struct group_topic_lookup topics;
    struct group **buckets;
    size_t bucket_count;
    size_t group_count;
    int64_t next_retention_check_ms;
};

/* group_table.c */
uint64_t group_hash_bytes(const void *p, size_t len, uint64_t seed);
struct group *group_find(struct group_coordinator *gc, struct kstr id);
struct group *group_find_or_create(struct group_coordinator *gc, struct kstr id, int64_t now_ms);
void group_remove(struct group_coordinator *gc, struct group *g);
void group_set_state(struct group *g, enum group_state state, int64_t now_ms);
const char *group_state_name(enum group_state state);
char *group_strdup_kstr(struct kstr s); /* NULL for a null string */
int32_t group_partition(const struct group_coordinator *gc, const struct group *g);

/* group_membership.c */
struct group_member *group_member_find(struct group *g, struct kstr id);
struct group_member *group_member_find_static(struct group *g, struct kstr instance_id);
void group_member_free(struct group_member *m);
void group_members_fail_waiting(struct group *g, int16_t error);
void group_membership_tick(struct group_coordinator *gc, struct group *g, int64_t now_ms);
/* Validation shared with offset commits: 0 or the error for (member, generation). */
int16_t group_check_member(struct group *g, struct kstr member_id, struct kstr instance_id,
                           int32_t generation);
/* The member's metadata for the group's chosen protocol (NULL if none). */
const struct member_protocol *group_member_chosen(const struct group *g, const struct group_member *m);
/* Append the group's metadata record. done (NULL: errors are only logged) runs
 * once it is durable, with 0 or the storage's Kafka error. */
void group_store_metadata(struct group_coordinator *gc, struct group *g, int64_t now_ms,
                          group_write_done_fn done, void *arg);

/* group_consumer.c (KIP-848) */
void group_consumer_free(struct consumer_group *cg);
void group_consumer_tick(struct group_coordinator *gc, struct group *g, int64_t now_ms);
const char *group_consumer_state(const struct group *g);
bool group_consumer_subscribes(const struct group *g, struct kstr topic);
/* Make an offsets-only classic group a consumer group (0), or GROUP_ID_NOT_FOUND. */
int16_t group_consumer_adopt(struct group *g);
void group_consumer_member_free(struct consumer_member *m);
void group_consumer_forget_member(struct group *g, struct kstr member_id);
void group_consumer_loaded(struct group_coordinator *gc, struct group *g, int64_t now_ms);

struct group_batch;
/* group_consumer_records.c: KIP-848 records (key versions 3, 5, 8) */
int group_batch_add_consumer_group(struct group_batch *b, const struct group *g);
int group_batch_add_consumer_group_tombstone(struct group_batch *b, const char *group);
int group_batch_add_consumer_member(struct group_batch *b, const struct group *g, const struct consumer_member *m);
int group_batch_add_consumer_member_tombstones(struct group_batch *b, const char *group, const char *member);
/* true if the key version is one of these records (then applied). */
bool group_consumer_replay_record(struct group_coordinator *gc, int16_t key_version, struct wire_reader *key,
                                  const struct record *rec, int64_t now_ms);
/* OffsetCommit validation for a consumer group: 0, UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH. */
int16_t group_consumer_check_commit(struct group *g, struct kstr member_id, int32_t epoch);

/* group_assignor.c */
struct assignor_topic {
    struct kuuid id;
    int32_t partitions;
};
struct assignor_member {
    const int32_t *topics; /* indexes into the topic table */
    int32_t topic_count;
    const struct tp_set *current; /* for stickiness, may be NULL */
    struct tp_set *target;        /* out */
};
/* members sorted by member id. "range" or anything else: uniform. 0 or -1 (memory). */
int group_assign(const char *assignor, const struct assignor_topic *topics, int32_t topic_count,
                 struct assignor_member *members, int32_t member_count);
bool group_assignor_known(struct kstr name);
int tp_set_add(struct tp_set *s, struct kuuid topic, int32_t partition);
bool tp_set_has(const struct tp_set *s, struct kuuid topic, int32_t partition);
void tp_set_remove_at(struct tp_set *s, int32_t i);
void tp_set_clear(struct tp_set *s);
void tp_set_free(struct tp_set *s);
void tp_set_sort(struct tp_set *s);

/* group_offsets.c */
struct offset_entry *group_offset_find(const struct group *g, const char *topic, size_t topic_len,
                                       int32_t partition);
int group_offset_put(struct group *g, const char *topic, size_t topic_len, int32_t partition,
                     int64_t offset, int32_t leader_epoch, const char *metadata, size_t metadata_len,
                     int64_t commit_ts, int64_t expire_ts);
void group_offset_remove(struct group *g, const char *topic, size_t topic_len, int32_t partition);
/* Frees the offsets; pending commits of the group will not apply. */
void group_offsets_free(struct group *g);
bool group_has_pending_commits(const struct group *g);
void group_offsets_expire(struct group_coordinator *gc, int64_t now_ms);

/* group_records.c: encoding of __consumer_offsets records into batches. */
struct group_batch {
    struct record_builder_entry *entries;
    size_t count;
    size_t cap;
    int64_t now_ms;
};
void group_batch_init(struct group_batch *b, int64_t now_ms);
void group_batch_free(struct group_batch *b);
/* Take ownership of key/value (value NULL: tombstone). 0 or -ENOMEM (both freed). */
int group_batch_push(struct group_batch *b, uint8_t *key, size_t key_len, uint8_t *value, size_t value_len);
int group_batch_add_offset(struct group_batch *b, const char *group, size_t group_len, const char *topic,
                           size_t topic_len, int32_t partition, const struct offset_entry *value);
int group_batch_add_offset_tombstone(struct group_batch *b, const char *group, size_t group_len,
                                     const char *topic, size_t topic_len, int32_t partition);
int group_batch_add_metadata(struct group_batch *b, const struct group *g, int64_t now_ms);
int group_batch_add_metadata_tombstone(struct group_batch *b, const char *group, size_t group_len);
/* Build and hand to storage; done is called once (0 or error). Frees the builder's records. */
void group_batch_write(struct group_coordinator *gc, struct group_batch *b, int32_t partition,
                       group_write_done_fn done, void *arg);

#endif
