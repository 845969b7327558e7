/*
 * kafka-get-offsets.c - `kafka-get-offsets.sh` (Kafka's GetOffsetShell):
 * print "topic:partition:offset" for the latest (-1), earliest (-2) offset
 * or the first offset at or after a timestamp, sorted by topic and partition.
 * --topic is a regular expression; without it every topic is shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: HOST1:PORT1,...",
     "REQUIRED. The server(s) to connect to in the form HOST1:PORT1,HOST2:PORT2.", 0, 0, NULL},
    {"broker-list", TOOL_ARG_REQUIRED, "String: HOST1:PORT1,...", "DEPRECATED, use --bootstrap-server instead.", 0,
     0, NULL},
    {"command-config", TOOL_ARG_REQUIRED, "String: config file",
     "Property file containing configs to be passed to Consumer Client.", 0, 0, NULL},
    {"topic", TOOL_ARG_REQUIRED, "String: topic",
     "The topic to get the offsets for. It also accepts a regular expression. If not present, all authorized "
     "topics are queried.", 0, 0, NULL},
    {"partitions", TOOL_ARG_REQUIRED, "String: partition ids",
     "Comma separated list of partition ids to get the offsets for. If not present, all partitions are "
     "queried.", 0, 0, NULL},
    {"time", TOOL_ARG_REQUIRED, "String: <timestamp> / -1 or latest / -2 or earliest",
     "timestamp of the offsets before that. (default: latest)", 0, 0, NULL},
    {"exclude-internal-topics", TOOL_ARG_NONE, NULL, "By default, internal topics are included. If specified, "
                                                     "internal topics are excluded.", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-get-offsets.sh",
    "An interactive shell for getting topic-partition offsets.",
    options,
};

static int64_t parse_time(void)
{
    const char *t = tool_value(&cli, "time");
    if (!t || strcmp(t, "latest") == 0)
        return -1;
    if (strcmp(t, "earliest") == 0)
        return -2;
    int64_t v;
    if (!tool_parse_int64(t, &v) || v < -2)
        tool_args_die(&cli, "Malformed time argument %s. Please use -1 or latest / -2 or earliest / "
                            "<timestamp>", t);
    return v;
}

static bool partition_wanted(const struct tool_strlist *wanted, int32_t id)
{
    if (wanted->count == 0)
        return true;
    char s[16];
    snprintf(s, sizeof s, "%d", (int)id);
    return tool_strlist_contains(wanted, s);
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    const char *bootstrap = tool_value(&cli, "bootstrap-server");
    if (!bootstrap)
        bootstrap = tool_value(&cli, "broker-list");
    if (!bootstrap)
        tool_args_die(&cli, "Missing required argument \"[bootstrap-server]\"");
    int64_t when = parse_time();
    struct tool_strlist wanted = {0};
    if (tool_value(&cli, "partitions"))
        tool_split(tool_value(&cli, "partitions"), ',', &wanted);
    for (size_t i = 0; i < wanted.count; i++) {
        int64_t id;
        if (!tool_parse_int64(wanted.items[i], &id) || id < 0)
            tool_args_die(&cli, "Invalid partition id '%s' in --partitions", wanted.items[i]);
    }
    const char *pattern = tool_value(&cli, "topic");
    int timeout_ms = tool_default_timeout_ms();
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *rk = tool_admin_connect(bootstrap, tool_value(&cli, "command-config"), "GetOffsetShell",
                                        timeout_ms, &md);

    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (mt->err)
            continue;
        if (tool_has(&cli, "exclude-internal-topics") && tool_topic_is_internal(mt->topic))
            continue;
        if (pattern && tool_topic_matches(pattern, mt->topic) != 1 && strcmp(pattern, mt->topic) != 0)
            continue;
        for (int p = 0; p < mt->partition_cnt; p++)
            if (partition_wanted(&wanted, mt->partitions[p].id))
                rd_kafka_topic_partition_list_add(list, mt->topic, mt->partitions[p].id)->offset = when;
    }
    rd_kafka_topic_partition_list_sort(list, NULL, NULL);
    int rc = 0;
    if (list->cnt == 0) {
        /* Kafka's GetOffsetShell fails the same way (a TerseException, exit 1). */
        fprintf(stderr, "Error occurred: Could not match any topic-partitions with the specified filters\n");
        rc = 1;
    }
    if (when >= 0 && list->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list, timeout_ms);
        if (err) {
            fprintf(stderr, "Error: cannot look up offsets: %s\n", rd_kafka_err2str(err));
            rc = 1;
        }
    }
    for (int i = 0; rc == 0 && i < list->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &list->elems[i];
        if (when < 0) {
            int64_t low, high;
            rd_kafka_resp_err_t err =
                rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &low, &high, timeout_ms);
            if (err) {
                fprintf(stderr, "Error: cannot look up offsets of %s-%d: %s\n", tp->topic, (int)tp->partition,
                        rd_kafka_err2str(err));
                rc = 1;
                break;
            }
            tp->offset = when == -2 ? low : high;
        }
        /* No offset for the time (no record at or after it): Kafka leaves the partition out. */
        if (tp->offset >= 0)
            printf("%s:%d:%lld\n", tp->topic, (int)tp->partition, (long long)tp->offset);
    }
    rd_kafka_topic_partition_list_destroy(list);
    tool_strlist_free(&wanted);
    rd_kafka_metadata_destroy(md);
    tool_client_destroy(rk, rc);
    tool_args_free(&cli);
    return rc;
}
