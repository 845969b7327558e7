/*
 * group_assignor.c - the server-side assignors of KIP-848 consumer groups:
 *
 *   range    per topic, the members subscribed to it (sorted by member id)
 *            get contiguous ranges of partitions, the first ones one more
 *            when the count does not divide evenly (Kafka's RangeAssignor);
 *   uniform  spread every subscribed partition as evenly as possible,
 *            keeping partitions where they are (stickiness) as long as that
 *            does not unbalance the group: a member keeps at most
 *            floor(P/M) of its partitions, a few keep one more, and the rest
 *            go one by one to the least loaded subscribed member.
 *
 * Pure functions over the topic table and the members' subscriptions; the
 * result is written into each member's target set.
 */
#include <stdlib.h>
#include <string.h>

#include "group/group_internal.h"

int tp_set_add(struct tp_set *s, struct kuuid topic, int32_t partition)
{
    if (s->count == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 8;
        struct tp *items = realloc(s->items, (size_t)cap * sizeof *items);
        if (!items)
            return -1;
        s->items = items;
        s->cap = cap;
    }
    s->items[s->count].topic_id = topic;
    s->items[s->count].partition = partition;
    s->count++;
    return 0;
}

bool tp_set_has(const struct tp_set *s, struct kuuid topic, int32_t partition)
{
    for (int32_t i = 0; i < s->count; i++)
        if (s->items[i].partition == partition && kuuid_eq(s->items[i].topic_id, topic))
            return true;
    return false;
}

void tp_set_remove_at(struct tp_set *s, int32_t i)
{
    s->items[i] = s->items[--s->count];
}

void tp_set_clear(struct tp_set *s)
{
    s->count = 0;
}

void tp_set_free(struct tp_set *s)
{
    free(s->items);
    memset(s, 0, sizeof *s);
}

static int compare_tp(const void *a, const void *b)
{
    const struct tp *x = a, *y = b;
    int c = memcmp(x->topic_id.bytes, y->topic_id.bytes, 16);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

void tp_set_sort(struct tp_set *s)
{
    if (s->count > 1)
        qsort(s->items, (size_t)s->count, sizeof *s->items, compare_tp);
}

static bool subscribed(const struct assignor_member *m, int32_t topic)
{
    for (int32_t i = 0; i < m->topic_count; i++)
        if (m->topics[i] == topic)
            return true;
    return false;
}

static int assign_range(const struct assignor_topic *topics, int32_t topic_count, struct assignor_member *members,
                        int32_t member_count)
{
    for (int32_t t = 0; t < topic_count; t++) {
        int32_t subs = 0;
        for (int32_t i = 0; i < member_count; i++)
            subs += subscribed(&members[i], t);
        if (subs == 0)
            continue;
        int32_t per = topics[t].partitions / subs;
        int32_t extra = topics[t].partitions % subs;
        int32_t next = 0, k = 0;
        for (int32_t i = 0; i < member_count; i++) {
            if (!subscribed(&members[i], t))
                continue;
            int32_t n = per + (k++ < extra ? 1 : 0);
            for (int32_t p = next; p < next + n; p++)
                if (tp_set_add(members[i].target, topics[t].id, p) < 0)
                    return -1;
            next += n;
        }
    }
    return 0;
}

static int topic_index(const struct assignor_topic *topics, int32_t topic_count, struct kuuid id)
{
    for (int32_t t = 0; t < topic_count; t++)
        if (kuuid_eq(topics[t].id, id))
            return t;
    return -1;
}

static int assign_uniform(const struct assignor_topic *topics, int32_t topic_count, struct assignor_member *members,
                          int32_t member_count)
{
    int64_t total = 0;
    for (int32_t t = 0; t < topic_count; t++) {
        bool any = false;
        for (int32_t i = 0; i < member_count && !any; i++)
            any = subscribed(&members[i], t);
        if (any)
            total += topics[t].partitions;
    }
    if (total == 0 || member_count == 0)
        return 0;
    /* taken[t][p]: offsets into one flat array */
    int64_t *base = calloc((size_t)topic_count + 1, sizeof *base);
    if (!base)
        return -1;
    for (int32_t t = 0; t < topic_count; t++)
        base[t + 1] = base[t] + topics[t].partitions;
    bool *taken = calloc((size_t)base[topic_count] + 1, sizeof *taken);
    if (!taken) {
        free(base);
        return -1;
    }
    int64_t floor_quota = total / member_count;
    int64_t extras = total % member_count;
    int rc = 0;
    /* Stickiness: keep current partitions up to floor(P/M), then a few up to floor+1. */
    for (int round = 0; round < 2 && rc == 0; round++) {
        for (int32_t i = 0; i < member_count && rc == 0; i++) {
            struct assignor_member *m = &members[i];
            int64_t limit = round == 0 ? floor_quota : floor_quota + 1;
            if (round == 1 && (extras == 0 || m->target->count != floor_quota))
                continue;
            bool took_extra = false;
            for (int32_t j = 0; m->current && j < m->current->count && m->target->count < limit; j++) {
                const struct tp *cur = &m->current->items[j];
                int t = topic_index(topics, topic_count, cur->topic_id);
                if (t < 0 || cur->partition >= topics[t].partitions || !subscribed(m, t) ||
                    taken[base[t] + cur->partition])
                    continue;
                taken[base[t] + cur->partition] = true;
                rc = tp_set_add(m->target, cur->topic_id, cur->partition);
                took_extra = round == 1;
            }
            if (took_extra)
                extras--;
        }
    }
    /* The rest, one by one, to the least loaded subscribed member. */
    for (int32_t t = 0; t < topic_count && rc == 0; t++) {
        for (int32_t p = 0; p < topics[t].partitions && rc == 0; p++) {
            if (taken[base[t] + p])
                continue;
            struct assignor_member *best = NULL;
            for (int32_t i = 0; i < member_count; i++)
                if (subscribed(&members[i], t) && (!best || members[i].target->count < best->target->count))
                    best = &members[i];
            if (!best)
                continue;
            taken[base[t] + p] = true;
            rc = tp_set_add(best->target, topics[t].id, p);
        }
    }
    free(taken);
    free(base);
    return rc;
}

int group_assign(const char *assignor, const struct assignor_topic *topics, int32_t topic_count,
                 struct assignor_member *members, int32_t member_count)
{
    for (int32_t i = 0; i < member_count; i++)
        tp_set_clear(members[i].target);
    int rc;
    if (assignor && strcmp(assignor, "range") == 0)
        rc = assign_range(topics, topic_count, members, member_count);
    else
        rc = assign_uniform(topics, topic_count, members, member_count);
    for (int32_t i = 0; i < member_count; i++)
        tp_set_sort(members[i].target);
    return rc;
}

bool group_assignor_known(struct kstr name)
{
    return kstr_eq_cstr(name, "uniform") || kstr_eq_cstr(name, "range");
}
