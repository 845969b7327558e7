/*
 * metadata_image.c - the in-memory cluster picture and Kafka's topic-name rules.
 */
#include "cluster/metadata_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void metadata_image_init(struct metadata_image *img)
{
    memset(img, 0, sizeof *img);
    img->controller_id = -1;
}

void config_entry_free_all(struct config_entry **list)
{
    struct config_entry *e = *list;
    while (e) {
        struct config_entry *next = e->next;
        free(e->name);
        free(e->value);
        free(e);
        e = next;
    }
    *list = NULL;
}

static void topic_free(struct topic_state *t)
{
    for (int32_t i = 0; i < t->partition_count; i++) {
        free(t->partitions[i].replicas);
        free(t->partitions[i].isr);
    }
    free(t->partitions);
    config_entry_free_all(&t->configs);
    free(t);
}

void metadata_image_free(struct metadata_image *img)
{
    struct topic_state *t = img->topics;
    while (t) {
        struct topic_state *next = t->next;
        topic_free(t);
        t = next;
    }
    img->topics = NULL;
    img->topic_count = 0;
    free(img->by_name);
    free(img->by_id);
    img->by_name = img->by_id = NULL;
    struct config_set *set = img->broker_configs;
    while (set) {
        struct config_set *next = set->next;
        config_entry_free_all(&set->entries);
        free(set);
        set = next;
    }
    img->broker_configs = NULL;
}

const struct config_entry *metadata_broker_configs_get(const struct metadata_image *img, const char *resource,
                                                       size_t len)
{
    for (const struct config_set *set = img->broker_configs; set; set = set->next)
        if (strlen(set->resource) == len && memcmp(set->resource, resource, len) == 0)
            return set->entries;
    return NULL;
}

struct config_entry **metadata_broker_configs(struct metadata_image *img, const char *resource, size_t len,
                                              bool create)
{
    struct config_set *set;
    if (len >= sizeof set->resource)
        return NULL;
    for (set = img->broker_configs; set; set = set->next)
        if (strlen(set->resource) == len && memcmp(set->resource, resource, len) == 0)
            return &set->entries;
    if (!create)
        return NULL;
    set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    memcpy(set->resource, resource, len);
    set->next = img->broker_configs;
    img->broker_configs = set;
    return &set->entries;
}

static size_t name_bucket(const char *name, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h % METADATA_TOPIC_BUCKETS;
}

static size_t id_bucket(struct kuuid id)
{
    uint64_t v;
    memcpy(&v, id.bytes + 8, sizeof v); /* random bits of a v4 uuid */
    return (size_t)(v % METADATA_TOPIC_BUCKETS);
}

struct topic_state *metadata_topic_by_name(const struct metadata_image *img, const char *name, size_t len)
{
    if (!img->by_name)
        return NULL;
    for (struct topic_state *t = img->by_name[name_bucket(name, len)]; t; t = t->name_next)
        if (t->name_len == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

struct topic_state *metadata_topic_by_id(const struct metadata_image *img, struct kuuid id)
{
    if (!img->by_id)
        return NULL;
    for (struct topic_state *t = img->by_id[id_bucket(id)]; t; t = t->id_next)
        if (memcmp(t->id.bytes, id.bytes, 16) == 0)
            return t;
    return NULL;
}

static char unify_dot(char c)
{
    return c == '.' ? '_' : c;
}

struct topic_state *metadata_topic_colliding(const struct metadata_image *img, const char *name, size_t len)
{
    for (struct topic_state *t = img->topics; t; t = t->next) {
        if (strlen(t->name) != len)
            continue;
        size_t i = 0;
        while (i < len && unify_dot(t->name[i]) == unify_dot(name[i]))
            i++;
        if (i == len)
            return t;
    }
    return NULL;
}

bool topic_name_is_internal(const char *name, size_t len)
{
    static const char *const internal[] = {"__consumer_offsets", "__transaction_state", "__share_group_state"};
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
        if (strlen(internal[i]) == len && memcmp(internal[i], name, len) == 0)
            return true;
    return false;
}

struct topic_state *metadata_topic_new(struct metadata_image *img, const char *name, size_t len, struct kuuid id)
{
    if (len > TOPIC_NAME_MAX)
        return NULL;
    if (!img->by_name) {
        img->by_name = calloc(METADATA_TOPIC_BUCKETS, sizeof *img->by_name);
        img->by_id = calloc(METADATA_TOPIC_BUCKETS, sizeof *img->by_id);
        if (!img->by_name || !img->by_id) {
            free(img->by_name);
            free(img->by_id);
            img->by_name = img->by_id = NULL;
            return NULL;
        }
    }
    struct topic_state *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    t->name_len = len;
    t->id = id;
    t->internal = topic_name_is_internal(name, len);
    t->next = img->topics;
    img->topics = t;
    size_t nb = name_bucket(name, len), ib = id_bucket(id);
    t->name_next = img->by_name[nb];
    img->by_name[nb] = t;
    t->id_next = img->by_id[ib];
    img->by_id[ib] = t;
    img->topic_count++;
    return t;
}

static int32_t *copy_ids(const int32_t *ids, int32_t count)
{
    int32_t *out = malloc(sizeof *out * (size_t)(count > 0 ? count : 1));
    if (out && count > 0)
        memcpy(out, ids, sizeof *out * (size_t)count);
    return out;
}

int metadata_partition_set(struct topic_state *t, int32_t index, int32_t leader, int32_t leader_epoch,
                           int32_t partition_epoch, const int32_t *replicas, int32_t replica_count,
                           const int32_t *isr, int32_t isr_count)
{
    if (index < 0 || index > t->partition_count)
        return -EINVAL;
    int32_t *r = copy_ids(replicas, replica_count);
    int32_t *s = copy_ids(isr, isr_count);
    if (!r || !s) {
        free(r);
        free(s);
        return -ENOMEM;
    }
    if (index == t->partition_count) {
        struct partition_state *grown = realloc(t->partitions, sizeof *grown * (size_t)(index + 1));
        if (!grown) {
            free(r);
            free(s);
            return -ENOMEM;
        }
        t->partitions = grown;
        memset(&grown[index], 0, sizeof grown[index]);
        t->partition_count++;
    }
    struct partition_state *p = &t->partitions[index];
    free(p->replicas);
    free(p->isr);
    p->partition = index;
    p->leader = leader;
    p->leader_epoch = leader_epoch;
    p->partition_epoch = partition_epoch;
    p->replicas = r;
    p->replica_count = replica_count;
    p->isr = s;
    p->isr_count = isr_count;
    return 0;
}

struct topic_state *metadata_topic_add(struct metadata_image *img, const char *name, struct kuuid id,
                                       int32_t partitions, int32_t replication_factor, int32_t leader)
{
    (void)replication_factor; /* one node: the only replica is the leader */
    struct topic_state *t = metadata_topic_new(img, name, strlen(name), id);
    if (!t)
        return NULL;
    for (int32_t i = 0; i < partitions; i++) {
        if (metadata_partition_set(t, i, leader, 0, 0, &leader, 1, &leader, 1) < 0) {
            metadata_topic_remove(img, t);
            return NULL;
        }
    }
    return t;
}

static void unlink_indexes(struct metadata_image *img, struct topic_state *topic)
{
    struct topic_state **link = &img->by_name[name_bucket(topic->name, topic->name_len)];
    while (*link && *link != topic)
        link = &(*link)->name_next;
    if (*link)
        *link = topic->name_next;
    link = &img->by_id[id_bucket(topic->id)];
    while (*link && *link != topic)
        link = &(*link)->id_next;
    if (*link)
        *link = topic->id_next;
}

void metadata_topic_remove(struct metadata_image *img, struct topic_state *topic)
{
    for (struct topic_state **link = &img->topics; *link; link = &(*link)->next) {
        if (*link == topic) {
            *link = topic->next;
            unlink_indexes(img, topic);
            img->topic_count--;
            topic_free(topic);
            return;
        }
    }
}

const char *config_entry_get(const struct config_entry *list, const char *name)
{
    for (const struct config_entry *e = list; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e->value;
    return NULL;
}

size_t config_entry_count(const struct config_entry *list)
{
    size_t n = 0;
    for (; list; list = list->next)
        n++;
    return n;
}

int config_entry_set(struct config_entry **list, const char *name, size_t name_len, const char *value,
                     size_t value_len)
{
    struct config_entry **link = list;
    while (*link && !(strlen((*link)->name) == name_len && memcmp((*link)->name, name, name_len) == 0))
        link = &(*link)->next;
    if (!value) {
        struct config_entry *gone = *link;
        if (gone) {
            *link = gone->next;
            free(gone->name);
            free(gone->value);
            free(gone);
        }
        return 0;
    }
    char *copy = strndup(value, value_len);
    if (!copy)
        return -ENOMEM;
    if (*link) {
        free((*link)->value);
        (*link)->value = copy;
        return 0;
    }
    struct config_entry *e = calloc(1, sizeof *e);
    char *name_copy = strndup(name, name_len);
    if (!e || !name_copy) {
        free(e);
        free(name_copy);
        free(copy);
        return -ENOMEM;
    }
    e->name = name_copy;
    e->value = copy;
    *link = e; /* appended: entries keep the order they were set in */
    return 0;
}

int metadata_broker_register(struct metadata_image *img, const struct broker_registration *reg)
{
    for (int32_t i = 0; i < img->broker_count; i++) {
        if (img->brokers[i].node_id == reg->node_id) {
            img->brokers[i] = *reg;
            return 0;
        }
    }
    if (img->broker_count >= METADATA_MAX_BROKERS)
        return -ENOSPC;
    img->brokers[img->broker_count++] = *reg;
    return 0;
}

const struct broker_registration *metadata_broker_find(const struct metadata_image *img, int32_t node_id)
{
    for (int32_t i = 0; i < img->broker_count; i++)
        if (img->brokers[i].node_id == node_id)
            return &img->brokers[i];
    return NULL;
}

const struct broker_endpoint *broker_endpoint_for(const struct broker_registration *reg, const char *listener)
{
    if (reg->endpoint_count == 0)
        return NULL;
    for (int i = 0; i < reg->endpoint_count && listener; i++)
        if (strcmp(reg->endpoints[i].listener, listener) == 0)
            return &reg->endpoints[i];
    return &reg->endpoints[0];
}

const char *topic_name_check(const char *name, size_t len)
{
    if (len == 0)
        return "Topic name is illegal, it can't be empty";
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return "Topic name cannot be \".\" or \"..\"";
    if (len > TOPIC_NAME_MAX)
        return "Topic name is illegal, it can't be longer than 249 characters";
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '-';
        if (!legal)
            return "Topic name is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
    }
    return NULL;
}

struct kuuid uuid_random(void)
{
    struct kuuid id;
    do {
        if (getrandom(id.bytes, sizeof id.bytes, 0) != (ssize_t)sizeof id.bytes)
            for (size_t i = 0; i < sizeof id.bytes; i++)
                id.bytes[i] = (uint8_t)rand();
        id.bytes[6] = (uint8_t)((id.bytes[6] & 0x0f) | 0x40);
        id.bytes[8] = (uint8_t)((id.bytes[8] & 0x3f) | 0x80);
    } while (kuuid_is_zero(id));
    return id;
}

void uuid_to_base64(struct kuuid id, char out[23])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int o = 0;
    for (int i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id.bytes[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)id.bytes[i + 1] << 8;
        if (i + 2 < 16)
            v |= id.bytes[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < 16)
            out[o++] = alphabet[(v >> 6) & 63];
        if (i + 2 < 16)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
}
