/*
 * kafka-consumer-perf-test.c - `kafka-consumer-perf-test.sh` (Kafka's
 * ConsumerPerformance): consume --messages records as a group member and
 * print Kafka's comma-separated header and summary line (or one line per
 * --reporting-interval with --show-detailed-stats).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: server to connect to", "REQUIRED unless --broker-list"
                                                                            "(deprecated) is specified. The server(s) to connect to.", 0, 0, NULL},
    {"broker-list", TOOL_ARG_REQUIRED, "String: broker-list", "DEPRECATED, use --bootstrap-server instead.", 0, 0,
     NULL},
    {"topic", TOOL_ARG_REQUIRED, "String: topic", "REQUIRED: The topic to consume from.", 0, 0, NULL},
    {"messages", TOOL_ARG_REQUIRED, "Long: count", "REQUIRED: The number of messages to send or consume", 0, 0,
     NULL},
    {"group", TOOL_ARG_REQUIRED, "String: gid", "The group id to consume on. (default: perf-consumer-NNNNN)", 0, 0,
     NULL},
    {"fetch-size", TOOL_ARG_REQUIRED, "Integer: size", "The amount of data to fetch in a single request. "
                                                       "(default: 1048576)", 0, 0, NULL},
    {"from-latest", TOOL_ARG_NONE, NULL, "If the consumer does not already have an established offset to consume "
                                         "from, start with the latest message present in the log rather than the "
                                         "earliest message.", 0, 0, NULL},
    {"consumer.config", TOOL_ARG_REQUIRED, "String: config file", "Consumer config properties file.", 0, 0, NULL},
    {"command-config", TOOL_ARG_REQUIRED, "String: config file", "Consumer config properties file.", 0, 0, NULL},
    {"timeout", TOOL_ARG_REQUIRED, "Long: milliseconds", "The maximum allowed time in milliseconds between "
                                                         "returned records. (default: 10000)", 0, 0, NULL},
    {"show-detailed-stats", TOOL_ARG_NONE, NULL, "If set, stats are reported for each reporting interval as "
                                                 "configured by reporting-interval", 0, 0, NULL},
    {"reporting-interval", TOOL_ARG_REQUIRED, "Integer: interval_ms", "Interval in milliseconds at which to print "
                                                                      "progress info. (default: 5000)", 0, 0, NULL},
    {"hide-header", TOOL_ARG_NONE, NULL, "If set, skips printing the header for the stats", 0, 0, NULL},
    {"print-metrics", TOOL_ARG_NONE, NULL, "Print out the metrics.", 0, 0, NULL},
    {"threads", TOOL_ARG_REQUIRED, "Integer: count", "Ignored (Kafka deprecated it too).", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-consumer-perf-test.sh",
    "This tool helps in performance test for the full zookeeper consumer",
    options,
};

static int64_t first_assignment_ms; /* monotonic time the group assigned partitions, 0 before */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (!first_assignment_ms)
            first_assignment_ms = tool_mono_ms();
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static char *last_metrics;
static int on_statistics(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    (void)opaque;
    free(last_metrics);
    last_metrics = strndup(json, len);
    return 0;
}

static void set_or_die(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    if (tool_conf_set(conf, key, value) != 0)
        exit(1);
}

static rd_kafka_conf_t *build_config(const char *bootstrap)
{
    rd_kafka_conf_t *conf = tool_conf_new(bootstrap, "perf-consumer-client");
    set_or_die(conf, "auto.offset.reset", tool_has(&cli, "from-latest") ? "latest" : "earliest");
    const char *files[] = {tool_value(&cli, "consumer.config"), tool_value(&cli, "command-config")};
    for (size_t i = 0; i < 2; i++)
        if (files[i] && tool_conf_load_file(conf, files[i]) != 0)
            exit(1);
    char group[64];
    if (tool_value(&cli, "group")) {
        snprintf(group, sizeof group, "%s", tool_value(&cli, "group"));
    } else {
        srand((unsigned)time(NULL) ^ (unsigned)tool_mono_us());
        snprintf(group, sizeof group, "perf-consumer-%d", rand() % 100000);
    }
    set_or_die(conf, "group.id", group);
    if (tool_value(&cli, "fetch-size"))
        set_or_die(conf, "max.partition.fetch.bytes", tool_value(&cli, "fetch-size"));
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    if (tool_has(&cli, "print-metrics")) {
        set_or_die(conf, "statistics.interval.ms", "1000");
        rd_kafka_conf_set_stats_cb(conf, on_statistics);
    }
    return conf;
}

static double to_mb(int64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static double per_sec(double amount, int64_t ms)
{
    return ms > 0 ? amount * 1000.0 / (double)ms : 0.0;
}

/* One detailed-stats line covering [window_start, now]. */
static void print_interval(int64_t now_wall, int64_t total_bytes, int64_t total_msgs, int64_t window_bytes,
                           int64_t window_msgs, int64_t window_ms, int64_t rebalance_ms)
{
    char when[64];
    tool_format_time(now_wall, when, sizeof when);
    int64_t fetch_ms = window_ms - rebalance_ms;
    printf("%s, %d, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n", when, 0, to_mb(total_bytes),
           per_sec(to_mb(window_bytes), window_ms), (long long)total_msgs,
           per_sec((double)window_msgs, window_ms), (long long)rebalance_ms, (long long)fetch_ms,
           per_sec(to_mb(window_bytes), fetch_ms), per_sec((double)window_msgs, fetch_ms));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    const char *bootstrap = tool_value(&cli, "bootstrap-server");
    if (!bootstrap)
        bootstrap = tool_value(&cli, "broker-list");
    if (!bootstrap)
        tool_args_die(&cli, "Missing required argument \"[bootstrap-server]\"");
    const char *topic = tool_require(&cli, "topic");
    if (!tool_has(&cli, "messages"))
        tool_args_die(&cli, "Missing required argument \"[messages]\"");
    int64_t messages = tool_int(&cli, "messages", 0);
    int64_t timeout_ms = tool_int(&cli, "timeout", 10000);
    int64_t interval_ms = tool_int(&cli, "reporting-interval", 5000);
    if (interval_ms <= 0)
        tool_args_die(&cli, "Reporting interval must be greater than 0.");
    bool detailed = tool_has(&cli, "show-detailed-stats");

    rd_kafka_t *rk = tool_client_new(RD_KAFKA_CONSUMER, build_config(bootstrap));
    rd_kafka_poll_set_consumer(rk);
    if (tool_client_connect(rk, bootstrap, tool_default_timeout_ms(), NULL) != 0) {
        tool_client_destroy(rk, 1);
        return 1;
    }
    tool_client_set_verbose_errors(true);
    if (!tool_has(&cli, "hide-header")) {
        if (detailed)
            printf("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                   "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
        else
            printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                   "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
        fflush(stdout);
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);

    int64_t start_wall = tool_wall_ms(), start = tool_mono_ms();
    int64_t last_record = start, window_start = start;
    int64_t count = 0, bytes = 0, window_count = 0, window_bytes = 0;
    while (count < messages && tool_mono_ms() - last_record <= timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int64_t now = tool_mono_ms();
        if (m && !m->err) {
            count++;
            bytes += (int64_t)(m->len + m->key_len);
            window_count++;
            window_bytes += (int64_t)(m->len + m->key_len);
            last_record = now;
        } else if (m && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            tool_log("WARN", "%s", rd_kafka_message_errstr(m));
        }
        if (m)
            rd_kafka_message_destroy(m);
        if (detailed && now - window_start >= interval_ms) {
            /* The part of this window spent waiting for the group to assign partitions. */
            int64_t rebalance = 0;
            if (!first_assignment_ms)
                rebalance = now - window_start;
            else if (first_assignment_ms > window_start)
                rebalance = first_assignment_ms - window_start;
            print_interval(tool_wall_ms(), bytes, count, window_bytes, window_count, now - window_start, rebalance);
            window_start = now;
            window_bytes = window_count = 0;
        }
    }
    if (count < messages)
        printf("WARNING: Exiting before consuming the expected number of messages: timeout (%lld ms) exceeded. "
               "You can use the --timeout option to increase the timeout.\n", (long long)timeout_ms);
    int64_t end = tool_mono_ms(), end_wall = tool_wall_ms();
    if (!detailed) {
        char t0[64], t1[64];
        tool_format_time(start_wall, t0, sizeof t0);
        tool_format_time(end_wall, t1, sizeof t1);
        int64_t elapsed = end - start;
        int64_t rebalance = first_assignment_ms ? first_assignment_ms - start : 0;
        int64_t fetch_ms = elapsed - rebalance;
        printf("%s, %s, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n", t0, t1, to_mb(bytes),
               per_sec(to_mb(bytes), elapsed), (long long)count, per_sec((double)count, elapsed),
               (long long)rebalance, (long long)fetch_ms, per_sec(to_mb(bytes), fetch_ms),
               per_sec((double)count, fetch_ms));
    }
    if (tool_has(&cli, "print-metrics"))
        printf("\nMetric Name\tValue\nlibrdkafka-statistics\t%s\n", last_metrics ? last_metrics : "{}");
    rd_kafka_consumer_close(rk);
    tool_client_destroy(rk, 0);
    free(last_metrics);
    tool_args_free(&cli);
    return 0;
}
