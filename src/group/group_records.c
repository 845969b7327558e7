/*
 * group_records.c - the records of __consumer_offsets: encoding offset
 * commits and group metadata into record batches for the storage backend,
 * and replaying stored batches into the coordinator at start-up.
 *
 * Framing (Kafka's, see kafka-protocol/README.md): key = int16 version +
 * key struct, value = int16 version + value struct, a null value is a
 * tombstone. Key version 0/1 is an OffsetCommitKey, 2 a GroupMetadataKey;
 * later key versions (KIP-848, share groups) are skipped here.
 * We write OffsetCommitValue v3 (v1 when an explicit expiry is given, as
 * Kafka does) and GroupMetadataValue v3; replay reads versions 0-4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "group/group_internal.h"
#include "protocol/errors.h"
#include "util/logger.h"

#define KEY_OFFSET_COMMIT_V0 0
#define KEY_OFFSET_COMMIT_V1 1
#define KEY_GROUP_METADATA 2

void group_batch_init(struct group_batch *b, int64_t now_ms)
{
    memset(b, 0, sizeof *b);
    b->now_ms = now_ms;
}

void group_batch_free(struct group_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        free((void *)b->entries[i].key);
        free((void *)b->entries[i].value);
    }
    free(b->entries);
    memset(b, 0, sizeof *b);
}

/* Take ownership of key/value (value may be NULL: tombstone). */
int group_batch_push(struct group_batch *b, uint8_t *key, size_t key_len, uint8_t *value, size_t value_len)
{
    if (!key || (value_len > 0 && !value)) {
        free(key);
        free(value);
        return -ENOMEM;
    }
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct record_builder_entry *e = realloc(b->entries, cap * sizeof *e);
        if (!e) {
            free(key);
            free(value);
            return -ENOMEM;
        }
        b->entries = e;
        b->cap = cap;
    }
    struct record_builder_entry *e = &b->entries[b->count];
    memset(e, 0, sizeof *e);
    e->offset_delta = (int64_t)b->count;
    e->key = key;
    e->key_len = (int32_t)key_len;
    e->value = value;
    e->value_len = value ? (int32_t)value_len : -1;
    b->count++;
    return 0;
}

static struct kstr kstr_n(const char *s, size_t len)
{
    struct kstr k = {s, (int32_t)len};
    return k;
}

static struct kstr kstr_c(const char *s)
{
    return s ? kstr_n(s, strlen(s)) : kstr_null();
}

static uint8_t *encode_offset_key(const char *group, size_t group_len, const char *topic, size_t topic_len,
                                  int32_t partition, size_t *len)
{
    *len = 2 + 2 + group_len + 2 + topic_len + 4;
    uint8_t *buf = malloc(*len);
    if (!buf)
        return NULL;
    struct wire_writer w;
    wire_writer_init(&w, buf, *len);
    wire_write_int16(&w, KEY_OFFSET_COMMIT_V1);
    wire_write_string(&w, kstr_n(group, group_len));
    wire_write_string(&w, kstr_n(topic, topic_len));
    wire_write_int32(&w, partition);
    return buf;
}

int group_batch_add_offset(struct group_batch *b, const char *group, size_t group_len, const char *topic,
                           size_t topic_len, int32_t partition, const struct offset_entry *v)
{
    size_t key_len;
    uint8_t *key = encode_offset_key(group, group_len, topic, topic_len, partition, &key_len);
    struct kstr metadata = kstr_c(v->metadata ? v->metadata : "");
    bool with_expiry = v->expire_timestamp_ms >= 0;
    size_t value_len = 2 + 8 + (with_expiry ? 0 : 4) + wire_string_size(metadata) + 8 + (with_expiry ? 8 : 0);
    uint8_t *value = malloc(value_len);
    if (value) {
        struct wire_writer w;
        wire_writer_init(&w, value, value_len);
        wire_write_int16(&w, with_expiry ? 1 : 3);
        wire_write_int64(&w, v->offset);
        if (!with_expiry)
            wire_write_int32(&w, v->leader_epoch);
        wire_write_string(&w, metadata);
        wire_write_int64(&w, v->commit_timestamp_ms);
        if (with_expiry)
            wire_write_int64(&w, v->expire_timestamp_ms);
    }
    return group_batch_push(b, key, key_len, value, value_len);
}

int group_batch_add_offset_tombstone(struct group_batch *b, const char *group, size_t group_len,
                                     const char *topic, size_t topic_len, int32_t partition)
{
    size_t key_len;
    uint8_t *key = encode_offset_key(group, group_len, topic, topic_len, partition, &key_len);
    return group_batch_push(b, key, key_len, NULL, 0);
}

static uint8_t *encode_metadata_key(const char *group, size_t group_len, size_t *len)
{
    *len = 2 + 2 + group_len;
    uint8_t *buf = malloc(*len);
    if (!buf)
        return NULL;
    struct wire_writer w;
    wire_writer_init(&w, buf, *len);
    wire_write_int16(&w, KEY_GROUP_METADATA);
    wire_write_string(&w, kstr_n(group, group_len));
    return buf;
}

static size_t metadata_value_size(const struct group *g)
{
    size_t n = 2 + wire_string_size(kstr_c(g->protocol_type ? g->protocol_type : "")) + 4 +
               wire_string_size(kstr_c(g->protocol_name)) + wire_string_size(kstr_c(g->leader_id)) + 8 + 4;
    for (const struct group_member *m = g->members; m; m = m->next) {
        const struct member_protocol *p = group_member_chosen(g, m);
        n += wire_string_size(kstr_c(m->id)) + wire_string_size(kstr_c(m->instance_id)) +
             wire_string_size(kstr_c(m->client_id)) + wire_string_size(kstr_c(m->client_host)) + 4 + 4 + 4 +
             (size_t)(p ? p->metadata_len : 0) + 4 + (size_t)m->assignment_len;
    }
    return n;
}

int group_batch_add_metadata(struct group_batch *b, const struct group *g, int64_t now_ms)
{
    size_t key_len;
    uint8_t *key = encode_metadata_key(g->id, strlen(g->id), &key_len);
    size_t value_len = metadata_value_size(g);
    uint8_t *value = malloc(value_len);
    if (value) {
        struct wire_writer w;
        wire_writer_init(&w, value, value_len);
        wire_write_int16(&w, 3);
        wire_write_string(&w, kstr_c(g->protocol_type ? g->protocol_type : ""));
        wire_write_int32(&w, g->generation);
        wire_write_string(&w, kstr_c(g->protocol_name));
        wire_write_string(&w, kstr_c(g->leader_id));
        wire_write_int64(&w, now_ms);
        wire_write_int32(&w, g->member_count);
        for (const struct group_member *m = g->members; m; m = m->next) {
            const struct member_protocol *p = group_member_chosen(g, m);
            wire_write_string(&w, kstr_c(m->id));
            wire_write_string(&w, kstr_c(m->instance_id));
            wire_write_string(&w, kstr_c(m->client_id));
            wire_write_string(&w, kstr_c(m->client_host));
            wire_write_int32(&w, m->rebalance_timeout_ms);
            wire_write_int32(&w, m->session_timeout_ms);
            struct kbytes sub = {p ? p->metadata : (const uint8_t *)"", p ? p->metadata_len : 0};
            struct kbytes asg = {m->assignment ? m->assignment : (const uint8_t *)"", m->assignment_len};
            wire_write_bytes(&w, sub);
            wire_write_bytes(&w, asg);
        }
        if (w.error) {
            free(value);
            free(key);
            return -EINVAL;
        }
    }
    return group_batch_push(b, key, key_len, value, value_len);
}

int group_batch_add_metadata_tombstone(struct group_batch *b, const char *group, size_t group_len)
{
    size_t key_len;
    uint8_t *key = encode_metadata_key(group, group_len, &key_len);
    return group_batch_push(b, key, key_len, NULL, 0);
}

static void log_write_failure(void *arg, int16_t error);

void group_batch_write(struct group_coordinator *gc, struct group_batch *b, int32_t partition,
                       group_write_done_fn done, void *arg)
{
    if (!done)
        done = log_write_failure;
    if (b->count == 0) {
        group_batch_free(b);
        if (done)
            done(arg, 0);
        return;
    }
    struct record_batch_header h;
    memset(&h, 0, sizeof h);
    h.partition_leader_epoch = -1;
    h.magic = 2;
    h.last_offset_delta = (int32_t)b->count - 1;
    h.base_timestamp = b->now_ms;
    h.max_timestamp = b->now_ms;
    h.producer_id = -1;
    h.producer_epoch = -1;
    h.base_sequence = -1;
    uint8_t *batch = NULL;
    size_t len = 0;
    int rc = record_batch_build(&h, b->entries, b->count, &batch, &len);
    group_batch_free(b);
    if (rc != 0) {
        log_error("group", "cannot build a __consumer_offsets batch: error %d", rc);
        if (done)
            done(arg, KAFKA_UNKNOWN_SERVER_ERROR);
        return;
    }
    int16_t err = gc->storage.append(gc->storage.ctx, partition, batch, len, done, arg);
    if (err != 0) {
        log_warn("group", "cannot append to __consumer_offsets-%d: error %d", partition, err);
        if (done)
            done(arg, err);
    }
}

static void log_write_failure(void *arg, int16_t error)
{
    (void)arg;
    if (error)
        log_warn("group", "writing group metadata failed with error %d", error);
}

void group_store_metadata(struct group_coordinator *gc, struct group *g, int64_t now_ms,
                          group_write_done_fn done, void *arg)
{
    struct group_batch b;
    group_batch_init(&b, now_ms);
    if (group_batch_add_metadata(&b, g, now_ms) != 0) {
        group_batch_free(&b);
        log_warn("group", "cannot encode the metadata of group %s", g->id);
        if (done)
            done(arg, KAFKA_UNKNOWN_SERVER_ERROR);
        return;
    }
    group_batch_write(gc, &b, group_partition(gc, g), done ? done : log_write_failure, done ? arg : NULL);
}

/* ---- replay ---- */

/* Read a (compact in flexible versions) string / bytes / array length. */
static struct kstr read_str(struct wire_reader *r, bool flexible)
{
    return flexible ? wire_read_compact_string(r) : wire_read_string(r);
}

static struct kbytes read_bytes(struct wire_reader *r, bool flexible)
{
    return flexible ? wire_read_compact_bytes(r) : wire_read_bytes(r);
}

static char *copy_or_empty(struct kstr s)
{
    if (kstr_is_null(s))
        return NULL;
    return group_strdup_kstr(s);
}

static void replay_offset(struct group_coordinator *gc, struct wire_reader *key, const struct record *rec,
                          int64_t now_ms)
{
    struct kstr group = wire_read_string(key);
    struct kstr topic = wire_read_string(key);
    int32_t partition = wire_read_int32(key);
    if (key->error || kstr_is_null(group) || kstr_is_null(topic))
        return;
    if (rec->value_len < 0) {
        struct group *g = group_find(gc, group);
        if (!g)
            return;
        group_offset_remove(g, topic.ptr, (size_t)topic.len, partition);
        if (g->offset_count == 0 && g->state == GROUP_EMPTY && !g->protocol_type)
            group_remove(gc, g);
        return;
    }
    struct wire_reader r;
    wire_reader_init(&r, rec->value, (size_t)rec->value_len);
    int16_t version = wire_read_int16(&r);
    bool flexible = version >= 4;
    int64_t offset = wire_read_int64(&r);
    int32_t epoch = version >= 3 ? wire_read_int32(&r) : -1;
    struct kstr metadata = read_str(&r, flexible);
    int64_t commit_ts = wire_read_int64(&r);
    int64_t expire_ts = version == 1 ? wire_read_int64(&r) : -1;
    if (r.error || version < 0 || version > 4)
        return;
    struct group *g = group_find_or_create(gc, group, now_ms);
    if (!g)
        return;
    const char *meta = kstr_is_null(metadata) ? "" : metadata.ptr;
    size_t meta_len = kstr_is_null(metadata) ? 0 : (size_t)metadata.len;
    group_offset_put(g, topic.ptr, (size_t)topic.len, partition, offset, epoch, meta, meta_len, commit_ts,
                     expire_ts);
}

static void clear_members(struct group *g)
{
    struct group_member *m = g->members;
    while (m) {
        struct group_member *next = m->next;
        group_member_free(m);
        m = next;
    }
    g->members = NULL;
    g->member_count = 0;
}

static int replay_member(struct group *g, struct wire_reader *r, int16_t version, bool flexible,
                         struct group_member ***tail)
{
    struct kstr id = read_str(r, flexible);
    struct kstr instance = version >= 3 ? read_str(r, flexible) : kstr_null();
    struct kstr client_id = read_str(r, flexible);
    struct kstr client_host = read_str(r, flexible);
    int32_t rebalance_timeout = version >= 1 ? wire_read_int32(r) : -1;
    int32_t session_timeout = wire_read_int32(r);
    struct kbytes subscription = read_bytes(r, flexible);
    struct kbytes assignment = read_bytes(r, flexible);
    if (flexible)
        wire_skip_tagged_fields(r);
    if (r->error || kstr_is_null(id))
        return -1;
    struct group_member *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    m->id = group_strdup_kstr(id);
    m->instance_id = copy_or_empty(instance);
    m->client_id = group_strdup_kstr(kstr_is_null(client_id) ? kstr_from_cstr("") : client_id);
    m->client_host = group_strdup_kstr(kstr_is_null(client_host) ? kstr_from_cstr("") : client_host);
    m->session_timeout_ms = session_timeout;
    m->rebalance_timeout_ms = rebalance_timeout < 0 ? session_timeout : rebalance_timeout;
    if (g->protocol_name) {
        m->protocols = calloc(1, sizeof *m->protocols);
        if (m->protocols) {
            m->protocol_count = 1;
            m->protocols[0].name = strdup(g->protocol_name);
            int32_t n = subscription.len > 0 ? subscription.len : 0;
            m->protocols[0].metadata = malloc(n ? (size_t)n : 1);
            if (m->protocols[0].metadata && n)
                memcpy(m->protocols[0].metadata, subscription.ptr, (size_t)n);
            m->protocols[0].metadata_len = n;
        }
    }
    if (assignment.len > 0) {
        m->assignment = malloc((size_t)assignment.len);
        if (m->assignment) {
            memcpy(m->assignment, assignment.ptr, (size_t)assignment.len);
            m->assignment_len = assignment.len;
        }
    }
    if (!m->id || !m->client_id || !m->client_host) {
        group_member_free(m);
        return -1;
    }
    **tail = m;
    *tail = &m->next;
    g->member_count++;
    return 0;
}

static void replay_group(struct group_coordinator *gc, struct wire_reader *key, const struct record *rec,
                         int64_t now_ms)
{
    struct kstr id = wire_read_string(key);
    if (key->error || kstr_is_null(id))
        return;
    struct group *g = group_find(gc, id);
    if (rec->value_len < 0) {
        if (!g)
            return;
        if (g->offset_count == 0) {
            group_remove(gc, g);
            return;
        }
        clear_members(g);
        free(g->protocol_type);
        free(g->protocol_name);
        free(g->leader_id);
        g->protocol_type = g->protocol_name = g->leader_id = NULL;
        group_set_state(g, GROUP_EMPTY, now_ms);
        return;
    }
    struct wire_reader r;
    wire_reader_init(&r, rec->value, (size_t)rec->value_len);
    int16_t version = wire_read_int16(&r);
    bool flexible = version >= 4;
    struct kstr protocol_type = read_str(&r, flexible);
    int32_t generation = wire_read_int32(&r);
    struct kstr protocol = read_str(&r, flexible);
    struct kstr leader = read_str(&r, flexible);
    int64_t state_ts = version >= 2 ? wire_read_int64(&r) : -1;
    int32_t count = flexible ? wire_read_compact_array_len(&r) : wire_read_array_len(&r);
    if (r.error || version < 0 || version > 4)
        return;
    if (!g)
        g = group_find_or_create(gc, id, now_ms);
    if (!g)
        return;
    clear_members(g);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    g->protocol_type = protocol_type.len > 0 ? group_strdup_kstr(protocol_type) : NULL;
    g->protocol_name = copy_or_empty(protocol);
    g->leader_id = copy_or_empty(leader);
    g->generation = generation;
    struct group_member **tail = &g->members;
    for (int32_t i = 0; i < count; i++)
        if (replay_member(g, &r, version, flexible, &tail) < 0)
            break;
    g->state = g->member_count > 0 ? GROUP_STABLE : GROUP_EMPTY;
    g->state_timestamp_ms = state_ts >= 0 ? state_ts : now_ms;
    g->loaded = true;
    for (struct group_member *m = g->members; m; m = m->next)
        m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
}

int group_coordinator_replay_batch(struct group_coordinator *gc, const uint8_t *batch, size_t len,
                                   int64_t now_ms)
{
    struct record_batch_header h;
    if (record_batch_parse_header(batch, len, &h) < 0)
        return KAFKA_CORRUPT_MESSAGE;
    if (h.attributes & BATCH_ATTR_CONTROL)
        return 0; /* transaction markers: transactional offset commits are not supported yet */
    struct record_iter it;
    int rc = record_iter_open(&it, batch, record_batch_total_size(&h));
    if (rc != 0)
        return rc;
    struct record rec;
    while ((rc = record_iter_next(&it, &rec)) == 1) {
        if (rec.key_len < 2)
            continue;
        struct wire_reader key;
        wire_reader_init(&key, rec.key, (size_t)rec.key_len);
        int16_t key_version = wire_read_int16(&key);
        if (key_version == KEY_OFFSET_COMMIT_V0 || key_version == KEY_OFFSET_COMMIT_V1)
            replay_offset(gc, &key, &rec, now_ms);
        else if (key_version == KEY_GROUP_METADATA)
            replay_group(gc, &key, &rec, now_ms);
        else
            group_consumer_replay_record(gc, key_version, &key, &rec, now_ms);
    }
    record_iter_close(&it);
    return rc < 0 ? KAFKA_CORRUPT_MESSAGE : 0;
}
