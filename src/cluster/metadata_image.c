/*
 * metadata_image.c - the in-memory cluster picture and Kafka's topic-name rules.
 */
#include "cluster/metadata_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void metadata_image_init(struct metadata_image *img)
{
    memset(img, 0, sizeof *img);
    img->controller_id = -1;
}

static void topic_free(struct topic_state *t)
{
    for (int32_t i = 0; i < t->partition_count; i++) {
        free(t->partitions[i].replicas);
        free(t->partitions[i].isr);
    }
    free(t->partitions);
    struct topic_config_entry *e = t->configs;
    while (e) {
        struct topic_config_entry *next = e->next;
        free(e->name);
        free(e->value);
        free(e);
        e = next;
    }
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
}

struct topic_state *metadata_topic_by_name(const struct metadata_image *img, const char *name, size_t len)
{
    for (struct topic_state *t = img->topics; t; t = t->next)
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

struct topic_state *metadata_topic_by_id(const struct metadata_image *img, struct kuuid id)
{
    for (struct topic_state *t = img->topics; t; t = t->next)
        if (memcmp(t->id.bytes, id.bytes, 16) == 0)
            return t;
    return NULL;
}

struct topic_state *metadata_topic_add(struct metadata_image *img, const char *name, struct kuuid id,
                                       int32_t partitions, int32_t replication_factor, int32_t leader)
{
    (void)replication_factor; /* one node: the only replica is the leader */
    struct topic_state *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->id = id;
    t->internal = name[0] == '_' && name[1] == '_';
    t->partition_count = partitions;
    t->partitions = calloc((size_t)partitions, sizeof *t->partitions);
    if (!t->partitions) {
        free(t);
        return NULL;
    }
    for (int32_t i = 0; i < partitions; i++) {
        struct partition_state *p = &t->partitions[i];
        p->partition = i;
        p->leader = leader;
        p->replicas = malloc(sizeof *p->replicas);
        p->isr = malloc(sizeof *p->isr);
        if (!p->replicas || !p->isr) {
            t->partition_count = i + 1;
            topic_free(t);
            return NULL;
        }
        p->replicas[0] = p->isr[0] = leader;
        p->replica_count = p->isr_count = 1;
    }
    t->next = img->topics;
    img->topics = t;
    img->topic_count++;
    return t;
}

void metadata_topic_remove(struct metadata_image *img, struct topic_state *topic)
{
    for (struct topic_state **link = &img->topics; *link; link = &(*link)->next) {
        if (*link == topic) {
            *link = topic->next;
            img->topic_count--;
            topic_free(topic);
            return;
        }
    }
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
