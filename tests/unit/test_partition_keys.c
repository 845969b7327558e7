/*
 * test_partition_keys.c - finding the partitions a request names twice
 * (Fetch answers one copy, ListOffsets refuses them all): copies end up
 * adjacent in request order, names and ids are told apart, a partition of
 * another topic or number is not a copy, and a large request sorts fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "server/partition_keys.h"

static struct partition_key by_name(const char *topic, int32_t partition, int32_t position)
{
    return (struct partition_key){{topic, (int32_t)strlen(topic)}, {{0}}, partition, position};
}

static struct partition_key by_id(uint8_t id, int32_t partition, int32_t position)
{
    struct partition_key k = {{NULL, -1}, {{0}}, partition, position};
    k.topic_id.bytes[15] = id;
    return k;
}

/* How many keys have a copy elsewhere in the (sorted) array. */
static int count_duplicated(const struct partition_key *keys, int32_t n)
{
    int dup = 0;
    for (int32_t k = 0; k < n; k++)
        dup += (k > 0 && partition_keys_same(&keys[k - 1], &keys[k])) ||
               (k + 1 < n && partition_keys_same(&keys[k], &keys[k + 1]));
    return dup;
}

static void check_names(void)
{
    struct partition_key keys[] = {by_name("a", 0, 0), by_name("b", 0, 1), by_name("a", 1, 2),
                                   by_name("a", 0, 3), by_name("ab", 0, 4), by_name("a", 0, 5)};
    int32_t n = (int32_t)(sizeof keys / sizeof keys[0]);
    partition_keys_sort(keys, n);
    CHECK(count_duplicated(keys, n) == 3, "a-0 named three times: %d duplicated", count_duplicated(keys, n));
    int32_t k = 0;
    while (k < n && !(keys[k].partition == 0 && keys[k].topic.len == 1 && keys[k].topic.ptr[0] == 'a'))
        k++;
    CHECK(k + 2 < n && keys[k].position == 0 && keys[k + 1].position == 3 && keys[k + 2].position == 5,
          "copies of a-0 adjacent in request order");
}

static void check_ids(void)
{
    struct partition_key keys[] = {by_id(1, 0, 0), by_id(2, 0, 1), by_id(1, 0, 2), by_id(1, 7, 3)};
    partition_keys_sort(keys, 4);
    CHECK(count_duplicated(keys, 4) == 2, "one partition by id named twice: %d", count_duplicated(keys, 4));
    struct partition_key empty_name = by_name("", 0, 0), id_one = by_id(1, 0, 1);
    CHECK(!partition_keys_same(&empty_name, &id_one), "an empty name is not a topic id");
}

static void check_large(void)
{
    int32_t n = 200000;
    struct partition_key *keys = malloc((size_t)n * sizeof *keys);
    if (!keys) {
        CHECK(0, "no memory");
        return;
    }
    for (int32_t i = 0; i < n; i++)
        keys[i] = by_name("topic", i % (n / 2), i); /* every partition twice */
    clock_t started = clock();
    partition_keys_sort(keys, n);
    double took = (double)(clock() - started) / CLOCKS_PER_SEC;
    CHECK(count_duplicated(keys, n) == n, "every partition twice: %d", count_duplicated(keys, n));
    CHECK(took < 2.0, "sorting %d keys took %.2f s", n, took);
    free(keys);
}

int main(void)
{
    check_names();
    check_ids();
    check_large();
    partition_keys_sort(NULL, 0);
    if (failures)
        return 1;
    printf("ok\n");
    return 0;
}
