/*
 * partition_keys.c - sorting a request's partitions to find the copies of
 * one partition (see partition_keys.h).
 */
#include "server/partition_keys.h"

#include <stdlib.h>
#include <string.h>

static int compare_partitions(const struct partition_key *a, const struct partition_key *b)
{
    int c = memcmp(a->topic_id.bytes, b->topic_id.bytes, sizeof a->topic_id.bytes);
    if (c)
        return c;
    if (a->topic.len != b->topic.len)
        return a->topic.len < b->topic.len ? -1 : 1;
    if (a->topic.len > 0 && (c = memcmp(a->topic.ptr, b->topic.ptr, (size_t)a->topic.len)))
        return c;
    return a->partition < b->partition ? -1 : a->partition > b->partition;
}

static int compare_keys(const void *pa, const void *pb)
{
    const struct partition_key *a = pa, *b = pb;
    int c = compare_partitions(a, b);
    return c ? c : (a->position < b->position ? -1 : a->position > b->position);
}

void partition_keys_sort(struct partition_key *keys, int32_t n)
{
    if (n > 1)
        qsort(keys, (size_t)n, sizeof *keys, compare_keys);
}

bool partition_keys_same(const struct partition_key *a, const struct partition_key *b)
{
    return compare_partitions(a, b) == 0;
}
