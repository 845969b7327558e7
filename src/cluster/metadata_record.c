/*
 * metadata_record.c - metadata record framing and replay into the image.
 */
#include "cluster/metadata_record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/logger.h"

#define FRAME_VERSION 1

/* The version Eddy writes for each type (its readers accept every valid one). */
static int16_t write_version(int16_t type)
{
    switch (type) {
    case METADATA_REGISTER_BROKER:
        return 1;
    default:
        return 0;
    }
}

void metadata_record_init(struct metadata_record *rec, int16_t type)
{
    memset(rec, 0, sizeof *rec);
    rec->type = type;
    rec->version = write_version(type);
    switch (type) {
    case METADATA_REGISTER_BROKER: register_broker_record_init(&rec->u.register_broker); break;
    case METADATA_TOPIC: topic_record_init(&rec->u.topic); break;
    case METADATA_PARTITION: partition_record_init(&rec->u.partition); break;
    case METADATA_CONFIG: config_record_init(&rec->u.config); break;
    case METADATA_PARTITION_CHANGE: partition_change_record_init(&rec->u.partition_change); break;
    case METADATA_FENCE_BROKER: fence_broker_record_init(&rec->u.fence_broker); break;
    case METADATA_UNFENCE_BROKER: unfence_broker_record_init(&rec->u.unfence_broker); break;
    case METADATA_REMOVE_TOPIC: remove_topic_record_init(&rec->u.remove_topic); break;
    case METADATA_FEATURE_LEVEL: feature_level_record_init(&rec->u.feature_level); break;
    case METADATA_NO_OP: no_op_record_init(&rec->u.no_op); break;
    default: break;
    }
}

static size_t body_size(const struct metadata_record *rec)
{
    int16_t v = rec->version;
    switch (rec->type) {
    case METADATA_REGISTER_BROKER: return register_broker_record_size(v, &rec->u.register_broker);
    case METADATA_TOPIC: return topic_record_size(v, &rec->u.topic);
    case METADATA_PARTITION: return partition_record_size(v, &rec->u.partition);
    case METADATA_CONFIG: return config_record_size(v, &rec->u.config);
    case METADATA_PARTITION_CHANGE: return partition_change_record_size(v, &rec->u.partition_change);
    case METADATA_FENCE_BROKER: return fence_broker_record_size(v, &rec->u.fence_broker);
    case METADATA_UNFENCE_BROKER: return unfence_broker_record_size(v, &rec->u.unfence_broker);
    case METADATA_REMOVE_TOPIC: return remove_topic_record_size(v, &rec->u.remove_topic);
    case METADATA_FEATURE_LEVEL: return feature_level_record_size(v, &rec->u.feature_level);
    case METADATA_NO_OP: return no_op_record_size(v, &rec->u.no_op);
    default: return 0;
    }
}

static size_t header_size(const struct metadata_record *rec)
{
    return wire_uvarint_size(FRAME_VERSION) + wire_uvarint_size((uint32_t)rec->type) +
           wire_uvarint_size((uint32_t)rec->version);
}

size_t metadata_record_size(const struct metadata_record *rec)
{
    size_t body = body_size(rec);
    return body ? header_size(rec) + body : 0;
}

static int body_encode(struct wire_writer *w, const struct metadata_record *rec)
{
    int16_t v = rec->version;
    switch (rec->type) {
    case METADATA_REGISTER_BROKER: return register_broker_record_encode(w, v, &rec->u.register_broker);
    case METADATA_TOPIC: return topic_record_encode(w, v, &rec->u.topic);
    case METADATA_PARTITION: return partition_record_encode(w, v, &rec->u.partition);
    case METADATA_CONFIG: return config_record_encode(w, v, &rec->u.config);
    case METADATA_PARTITION_CHANGE: return partition_change_record_encode(w, v, &rec->u.partition_change);
    case METADATA_FENCE_BROKER: return fence_broker_record_encode(w, v, &rec->u.fence_broker);
    case METADATA_UNFENCE_BROKER: return unfence_broker_record_encode(w, v, &rec->u.unfence_broker);
    case METADATA_REMOVE_TOPIC: return remove_topic_record_encode(w, v, &rec->u.remove_topic);
    case METADATA_FEATURE_LEVEL: return feature_level_record_encode(w, v, &rec->u.feature_level);
    case METADATA_NO_OP: return no_op_record_encode(w, v, &rec->u.no_op);
    default: return -1;
    }
}

int metadata_record_encode(const struct metadata_record *rec, uint8_t *buf, size_t cap)
{
    size_t size = metadata_record_size(rec);
    if (size == 0 || size > cap)
        return -EINVAL;
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_write_uvarint(&w, FRAME_VERSION);
    wire_write_uvarint(&w, (uint32_t)rec->type);
    wire_write_uvarint(&w, (uint32_t)rec->version);
    if (body_encode(&w, rec) != 0 || w.error)
        return -EINVAL;
    return (int)(w.pos - buf);
}

static int body_decode(struct wire_reader *r, struct metadata_record *rec, struct arena *a)
{
    int16_t v = rec->version;
    switch (rec->type) {
    case METADATA_REGISTER_BROKER: return register_broker_record_decode(r, v, &rec->u.register_broker, a);
    case METADATA_TOPIC: return topic_record_decode(r, v, &rec->u.topic, a);
    case METADATA_PARTITION: return partition_record_decode(r, v, &rec->u.partition, a);
    case METADATA_CONFIG: return config_record_decode(r, v, &rec->u.config, a);
    case METADATA_PARTITION_CHANGE: return partition_change_record_decode(r, v, &rec->u.partition_change, a);
    case METADATA_FENCE_BROKER: return fence_broker_record_decode(r, v, &rec->u.fence_broker, a);
    case METADATA_UNFENCE_BROKER: return unfence_broker_record_decode(r, v, &rec->u.unfence_broker, a);
    case METADATA_REMOVE_TOPIC: return remove_topic_record_decode(r, v, &rec->u.remove_topic, a);
    case METADATA_FEATURE_LEVEL: return feature_level_record_decode(r, v, &rec->u.feature_level, a);
    case METADATA_NO_OP: return no_op_record_decode(r, v, &rec->u.no_op, a);
    default: return -ENOTSUP;
    }
}

int metadata_record_decode(const uint8_t *buf, size_t len, struct metadata_record *out, struct arena *a)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    uint32_t frame = wire_read_uvarint(&r);
    uint32_t type = wire_read_uvarint(&r);
    uint32_t version = wire_read_uvarint(&r);
    if (r.error || frame != FRAME_VERSION || type > 0x7fff || version > 0x7fff)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    out->type = (int16_t)type;
    out->version = (int16_t)version;
    int rc = body_decode(&r, out, a);
    if (rc == -ENOTSUP)
        return rc;
    if (rc != 0 || r.error)
        return -EINVAL;
    return 0;
}

/* ---------------------------------------------------------------- apply */

static int apply_register_broker(struct metadata_image *img, const struct register_broker_record *m)
{
    struct broker_registration reg;
    memset(&reg, 0, sizeof reg);
    reg.node_id = m->broker_id;
    reg.epoch = m->broker_epoch;
    reg.incarnation_id = m->incarnation_id;
    reg.fenced = m->fenced;
    if (m->rack.len > 0)
        snprintf(reg.rack, sizeof reg.rack, "%.*s", (int)m->rack.len, m->rack.ptr);
    for (int32_t i = 0; i < m->end_points_count && reg.endpoint_count < BROKER_MAX_ENDPOINTS; i++) {
        const struct register_broker_record_broker_endpoint *e = &m->end_points[i];
        struct broker_endpoint *out = &reg.endpoints[reg.endpoint_count++];
        snprintf(out->listener, sizeof out->listener, "%.*s", (int)(e->name.len > 0 ? e->name.len : 0),
                 e->name.ptr ? e->name.ptr : "");
        snprintf(out->host, sizeof out->host, "%.*s", (int)(e->host.len > 0 ? e->host.len : 0),
                 e->host.ptr ? e->host.ptr : "");
        out->port = e->port;
        out->security_protocol = e->security_protocol;
    }
    return metadata_broker_register(img, &reg);
}

static int apply_fence(struct metadata_image *img, int32_t id, bool fenced)
{
    for (int32_t i = 0; i < img->broker_count; i++) {
        if (img->brokers[i].node_id == id) {
            img->brokers[i].fenced = fenced;
            return 0;
        }
    }
    return -EINVAL;
}

static int apply_topic(struct metadata_image *img, const struct topic_record *m)
{
    if (m->name.len <= 0 || m->name.len > TOPIC_NAME_MAX)
        return -EINVAL;
    if (metadata_topic_by_id(img, m->topic_id) || metadata_topic_by_name(img, m->name.ptr, (size_t)m->name.len))
        return -EINVAL;
    return metadata_topic_new(img, m->name.ptr, (size_t)m->name.len, m->topic_id) ? 0 : -ENOMEM;
}

static int apply_partition(struct metadata_image *img, const struct partition_record *m)
{
    struct topic_state *t = metadata_topic_by_id(img, m->topic_id);
    if (!t || m->partition_id < 0 || m->partition_id > t->partition_count)
        return -EINVAL;
    return metadata_partition_set(t, m->partition_id, m->leader, m->leader_epoch, m->partition_epoch, m->replicas,
                                  m->replicas_count, m->isr, m->isr_count);
}

static int apply_partition_change(struct metadata_image *img, const struct partition_change_record *m)
{
    struct topic_state *t = metadata_topic_by_id(img, m->topic_id);
    if (!t || m->partition_id < 0 || m->partition_id >= t->partition_count)
        return -EINVAL;
    const struct partition_state *p = &t->partitions[m->partition_id];
    int32_t leader = p->leader, leader_epoch = p->leader_epoch;
    if (m->leader != -2) {
        leader = m->leader;
        leader_epoch++;
    }
    const int32_t *replicas = m->replicas_count >= 0 ? m->replicas : p->replicas;
    int32_t replica_count = m->replicas_count >= 0 ? m->replicas_count : p->replica_count;
    const int32_t *isr = m->isr_count >= 0 ? m->isr : p->isr;
    int32_t isr_count = m->isr_count >= 0 ? m->isr_count : p->isr_count;
    return metadata_partition_set(t, m->partition_id, leader, leader_epoch, p->partition_epoch + 1, replicas,
                                  replica_count, isr, isr_count);
}

static int apply_config(struct metadata_image *img, const struct config_record *m)
{
    if (m->name.len <= 0 || m->resource_name.len < 0)
        return -EINVAL;
    const char *value = m->value.len >= 0 ? (m->value.ptr ? m->value.ptr : "") : NULL;
    size_t value_len = m->value.len >= 0 ? (size_t)m->value.len : 0;
    struct config_entry **list = NULL;
    if (m->resource_type == CONFIG_RESOURCE_TOPIC) {
        struct topic_state *t = metadata_topic_by_name(img, m->resource_name.ptr, (size_t)m->resource_name.len);
        if (!t)
            return -EINVAL;
        list = &t->configs;
    } else if (m->resource_type == CONFIG_RESOURCE_BROKER) {
        list = metadata_broker_configs(img, m->resource_name.ptr ? m->resource_name.ptr : "",
                                       (size_t)m->resource_name.len, value != NULL);
        if (!list)
            return value ? -ENOMEM : 0;
    } else {
        return -EINVAL;
    }
    return config_entry_set(list, m->name.ptr, (size_t)m->name.len, value, value_len);
}

static int apply_remove_topic(struct metadata_image *img, const struct remove_topic_record *m)
{
    struct topic_state *t = metadata_topic_by_id(img, m->topic_id);
    if (!t)
        return -EINVAL;
    metadata_topic_remove(img, t);
    return 0;
}

static int apply_feature_level(struct metadata_image *img, const struct feature_level_record *m)
{
    if (kstr_eq_cstr(m->name, "metadata.version"))
        img->metadata_version = m->feature_level;
    return 0;
}

int metadata_record_apply(struct metadata_image *img, const struct metadata_record *rec)
{
    switch (rec->type) {
    case METADATA_REGISTER_BROKER: return apply_register_broker(img, &rec->u.register_broker);
    case METADATA_TOPIC: return apply_topic(img, &rec->u.topic);
    case METADATA_PARTITION: return apply_partition(img, &rec->u.partition);
    case METADATA_CONFIG: return apply_config(img, &rec->u.config);
    case METADATA_PARTITION_CHANGE: return apply_partition_change(img, &rec->u.partition_change);
    case METADATA_FENCE_BROKER: return apply_fence(img, rec->u.fence_broker.id, true);
    case METADATA_UNFENCE_BROKER: return apply_fence(img, rec->u.unfence_broker.id, false);
    case METADATA_REMOVE_TOPIC: return apply_remove_topic(img, &rec->u.remove_topic);
    case METADATA_FEATURE_LEVEL: return apply_feature_level(img, &rec->u.feature_level);
    case METADATA_NO_OP: return 0;
    default: return -ENOTSUP;
    }
}

/* ---------------------------------------------------------------- image -> records */

static size_t image_record_count(const struct metadata_image *img)
{
    size_t n = 1 + (size_t)img->broker_count;
    for (const struct config_set *set = img->broker_configs; set; set = set->next)
        n += config_entry_count(set->entries);
    for (const struct topic_state *t = img->topics; t; t = t->next)
        n += 1 + (size_t)t->partition_count + config_entry_count(t->configs);
    return n;
}

static void broker_to_record(const struct broker_registration *reg, struct metadata_record *rec, struct arena *a)
{
    metadata_record_init(rec, METADATA_REGISTER_BROKER);
    struct register_broker_record *m = &rec->u.register_broker;
    m->broker_id = reg->node_id;
    m->broker_epoch = reg->epoch;
    m->incarnation_id = reg->incarnation_id;
    m->fenced = reg->fenced;
    m->rack = reg->rack[0] ? kstr_from_cstr(reg->rack) : kstr_null();
    m->end_points = arena_alloc_array(a, (size_t)reg->endpoint_count + 1, sizeof *m->end_points);
    m->end_points_count = m->end_points ? reg->endpoint_count : 0;
    for (int32_t i = 0; i < m->end_points_count; i++) {
        register_broker_record_broker_endpoint_init(&m->end_points[i]);
        m->end_points[i].name = kstr_from_cstr(reg->endpoints[i].listener);
        m->end_points[i].host = kstr_from_cstr(reg->endpoints[i].host);
        m->end_points[i].port = (uint16_t)reg->endpoints[i].port;
        m->end_points[i].security_protocol = reg->endpoints[i].security_protocol;
    }
}

static void config_to_record(int8_t type, const char *resource, const struct config_entry *e,
                             struct metadata_record *rec)
{
    metadata_record_init(rec, METADATA_CONFIG);
    rec->u.config.resource_type = type;
    rec->u.config.resource_name = kstr_from_cstr(resource);
    rec->u.config.name = kstr_from_cstr(e->name);
    rec->u.config.value = kstr_from_cstr(e->value);
}

static void partition_to_record(const struct topic_state *t, const struct partition_state *p,
                                struct metadata_record *rec)
{
    metadata_record_init(rec, METADATA_PARTITION);
    struct partition_record *m = &rec->u.partition;
    m->topic_id = t->id;
    m->partition_id = p->partition;
    m->leader = p->leader;
    m->leader_epoch = p->leader_epoch;
    m->partition_epoch = p->partition_epoch;
    m->replicas = p->replicas;
    m->replicas_count = p->replica_count;
    m->isr = p->isr;
    m->isr_count = p->isr_count;
}

int metadata_image_to_records(const struct metadata_image *img, struct arena *a, struct metadata_record **out,
                              size_t *count)
{
    struct metadata_record *recs = arena_alloc_array(a, image_record_count(img), sizeof *recs);
    if (!recs)
        return -ENOMEM;
    size_t n = 0;
    metadata_record_init(&recs[n], METADATA_FEATURE_LEVEL);
    recs[n].u.feature_level.name = kstr_from_cstr("metadata.version");
    recs[n++].u.feature_level.feature_level = img->metadata_version;
    for (int32_t i = 0; i < img->broker_count; i++)
        broker_to_record(&img->brokers[i], &recs[n++], a);
    for (const struct config_set *set = img->broker_configs; set; set = set->next)
        for (const struct config_entry *e = set->entries; e; e = e->next)
            config_to_record(CONFIG_RESOURCE_BROKER, set->resource, e, &recs[n++]);
    for (const struct topic_state *t = img->topics; t; t = t->next) {
        metadata_record_init(&recs[n], METADATA_TOPIC);
        recs[n].u.topic.name = kstr_from_cstr(t->name);
        recs[n++].u.topic.topic_id = t->id;
        for (int32_t i = 0; i < t->partition_count; i++)
            partition_to_record(t, &t->partitions[i], &recs[n++]);
        for (const struct config_entry *e = t->configs; e; e = e->next)
            config_to_record(CONFIG_RESOURCE_TOPIC, t->name, e, &recs[n++]);
    }
    *out = recs;
    *count = n;
    return 0;
}
