/*
 * kafka-producer-perf-test.c - `kafka-producer-perf-test.sh` (Kafka's
 * ProducerPerformance): send --num-records records of --record-size bytes
 * (or lines of --payload-file) at up to --throughput records/s, printing a
 * line every 5 s and a final summary with latency percentiles, in Kafka's
 * exact format. Latency is send-to-acknowledgement, in whole milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"topic", TOOL_ARG_REQUIRED, "TOPIC", "produce messages to this topic", 0, 0, NULL},
    {"num-records", TOOL_ARG_REQUIRED, "NUM-RECORDS", "number of messages to produce", 0, 0, NULL},
    {"record-size", TOOL_ARG_REQUIRED, "RECORD-SIZE",
     "message size in bytes. Note that you must provide exactly one of --record-size or --payload-file.", 0, 0,
     NULL},
    {"payload-file", TOOL_ARG_REQUIRED, "PAYLOAD-FILE",
     "file to read the message payloads from, one per line (see --payload-delimiter).", 0, 0, NULL},
    {"payload-delimiter", TOOL_ARG_REQUIRED, "PAYLOAD-DELIMITER",
     "provides delimiter to be used when --payload-file is provided. (default: \\n)", 0, 0, NULL},
    {"throughput", TOOL_ARG_REQUIRED, "THROUGHPUT",
     "throttle maximum message throughput to *approximately* THROUGHPUT messages/sec. Set this to -1 to "
     "disable throttling.", 0, 0, NULL},
    {"producer-props", TOOL_ARG_MULTI, "PROP-NAME=PROP-VALUE ...",
     "kafka producer related configuration properties like bootstrap.servers,client.id etc.", 0, 0, NULL},
    {"producer.config", TOOL_ARG_REQUIRED, "CONFIG-FILE", "producer config properties file.", 0, 0, NULL},
    {"bootstrap-server", TOOL_ARG_REQUIRED, "BOOTSTRAP-SERVERS",
     "The server(s) to connect to. This config takes precedence over bootstrap.servers specified via "
     "--producer.config or --producer-props.", 0, 0, NULL},
    {"print-metrics", TOOL_ARG_NONE, NULL, "print out metrics at the end of the test. (default: false)", 0, 0,
     NULL},
    {"transactional-id", TOOL_ARG_REQUIRED, "TRANSACTIONAL-ID",
     "The transactionalId to use if transaction-duration-ms is > 0.", 0, 0, NULL},
    {"transaction-duration-ms", TOOL_ARG_REQUIRED, "TRANSACTION-DURATION",
     "The max age of each transaction. Transactions are committed every this many ms. (default: 0)", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-producer-perf-test.sh",
    "This tool is used to verify the producer performance.",
    options,
};

#define REPORTING_INTERVAL_MS 5000
#define MAX_SAMPLES 500000

/* Kafka's Stats: whole-run totals, a sampled latency array, and a 5 s window. */
struct stats {
    int64_t start_ms, window_start_ms;
    int *latencies;
    int64_t sampling, index, iteration;
    int64_t count, bytes, total_latency;
    int max_latency;
    int64_t window_count, window_bytes, window_total_latency;
    int window_max_latency;
};

static struct stats stats;
static int64_t failed;

static void stats_init(struct stats *s, int64_t num_records)
{
    memset(s, 0, sizeof *s);
    s->start_ms = s->window_start_ms = tool_mono_ms();
    int64_t samples = num_records < MAX_SAMPLES ? num_records : MAX_SAMPLES;
    s->sampling = samples > 0 ? num_records / samples : 1;
    s->latencies = calloc((size_t)samples + 1, sizeof(int));
}

static void print_window(struct stats *s, int64_t now)
{
    int64_t elapsed = now - s->window_start_ms;
    if (elapsed <= 0)
        elapsed = 1;
    double recs_per_sec = 1000.0 * (double)s->window_count / (double)elapsed;
    double mb_per_sec = 1000.0 * (double)s->window_bytes / (double)elapsed / (1024.0 * 1024.0);
    printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
           (long long)s->window_count, recs_per_sec, mb_per_sec,
           s->window_count ? (double)s->window_total_latency / (double)s->window_count : 0.0,
           (double)s->window_max_latency);
    fflush(stdout);
    s->window_start_ms = now;
    s->window_count = s->window_bytes = s->window_total_latency = 0;
    s->window_max_latency = 0;
}

static void stats_record(struct stats *s, int latency, size_t bytes)
{
    s->count++;
    s->bytes += (int64_t)bytes;
    s->total_latency += latency;
    if (latency > s->max_latency)
        s->max_latency = latency;
    s->window_count++;
    s->window_bytes += (int64_t)bytes;
    s->window_total_latency += latency;
    if (latency > s->window_max_latency)
        s->window_max_latency = latency;
    if (s->iteration % s->sampling == 0 && s->index < MAX_SAMPLES)
        s->latencies[s->index++] = latency;
    s->iteration++;
    int64_t now = tool_mono_ms();
    if (now - s->window_start_ms >= REPORTING_INTERVAL_MS)
        print_window(s, now);
}

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void print_total(struct stats *s)
{
    int64_t elapsed = tool_mono_ms() - s->start_ms;
    if (elapsed <= 0)
        elapsed = 1;
    double recs_per_sec = 1000.0 * (double)s->count / (double)elapsed;
    double mb_per_sec = 1000.0 * (double)s->bytes / (double)elapsed / (1024.0 * 1024.0);
    qsort(s->latencies, (size_t)s->index, sizeof(int), compare_ints);
    int p[4] = {0, 0, 0, 0};
    static const double quantiles[4] = {0.5, 0.95, 0.99, 0.999};
    for (int i = 0; i < 4 && s->index > 0; i++) {
        int64_t at = (int64_t)(quantiles[i] * (double)s->index);
        p[i] = s->latencies[at < s->index ? at : s->index - 1];
    }
    printf("%lld records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
           "%d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
           (long long)s->count, recs_per_sec, mb_per_sec,
           s->count ? (double)s->total_latency / (double)s->count : 0.0, (double)s->max_latency, p[0], p[1], p[2],
           p[3]);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        failed++;
        if (failed <= 10)
            tool_log("ERROR", "Error when sending message to topic %s: %s", rd_kafka_topic_name(m->rkt),
                     rd_kafka_err2str(m->err));
        return;
    }
    int64_t sent_us = (int64_t)(intptr_t)m->_private;
    int latency = (int)((tool_mono_us() - sent_us) / 1000);
    stats_record(&stats, latency, m->len);
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

/* Payloads: one random A-Z record of --record-size, or the lines of --payload-file. */
static void load_payloads(struct tool_strlist *payloads, int64_t *record_size)
{
    const char *file = tool_value(&cli, "payload-file");
    if (!file) {
        *record_size = tool_int(&cli, "record-size", 0);
        if (*record_size <= 0)
            tool_args_die(&cli, "--record-size must be positive");
        char *p = malloc((size_t)*record_size + 1);
        srand((unsigned)time(NULL));
        for (int64_t i = 0; i < *record_size; i++)
            p[i] = (char)('A' + rand() % 26);
        p[*record_size] = '\0';
        tool_strlist_add_len(payloads, p, (size_t)*record_size);
        free(p);
        return;
    }
    char *text = tool_read_file(file, NULL);
    if (!text) {
        fprintf(stderr, "Error: cannot read payload file %s\n", file);
        exit(1);
    }
    const char *delim = tool_value(&cli, "payload-delimiter");
    if (!delim)
        delim = "\n";
    for (char *at = text; *at;) {
        char *end = strstr(at, delim);
        size_t len = end ? (size_t)(end - at) : strlen(at);
        if (len)
            tool_strlist_add_len(payloads, at, len);
        at += len + (end ? strlen(delim) : 0);
    }
    free(text);
    if (payloads->count == 0) {
        fprintf(stderr, "Error: File does not contain any payloads\n");
        exit(1);
    }
    printf("Number of messages read: %zu\n", payloads->count);
}

static rd_kafka_conf_t *build_config(const char **bootstrap)
{
    rd_kafka_conf_t *conf = tool_conf_new(NULL, "perf-producer-client");
    const char *file = tool_value(&cli, "producer.config");
    if (file && tool_conf_load_file(conf, file) != 0)
        exit(1);
    struct tool_option *props = tool_opt(&cli, "producer-props");
    for (int i = 0; i < props->nvalues; i++)
        if (tool_conf_set_pair(conf, props->values[i]) != 0)
            exit(1);
    if (*bootstrap && tool_conf_set(conf, "bootstrap.servers", *bootstrap) != 0)
        exit(1);
    static char configured[1024];
    size_t len = sizeof configured;
    if (rd_kafka_conf_get(conf, "bootstrap.servers", configured, &len) != RD_KAFKA_CONF_OK || !configured[0])
        tool_args_die(&cli, "Either --bootstrap-server, --producer-props bootstrap.servers=... or "
                            "--producer.config must be specified.");
    *bootstrap = configured;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (tool_has(&cli, "print-metrics")) {
        tool_conf_set(conf, "statistics.interval.ms", "1000");
        rd_kafka_conf_set_stats_cb(conf, on_statistics);
    }
    return conf;
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    const char *topic = tool_require(&cli, "topic");
    int64_t num_records = tool_int(&cli, "num-records", -1);
    if (!tool_has(&cli, "num-records"))
        tool_args_die(&cli, "argument --num-records is required");
    if (!tool_has(&cli, "throughput"))
        tool_args_die(&cli, "argument --throughput is required");
    int64_t throughput = tool_int(&cli, "throughput", -1);
    if (tool_has(&cli, "record-size") == tool_has(&cli, "payload-file"))
        tool_args_die(&cli, "exactly one of --record-size or --payload-file must be specified");
    if (tool_has(&cli, "transaction-duration-ms") || tool_has(&cli, "transactional-id"))
        tool_args_die(&cli, "transactions are not supported by this tool yet");
    if (num_records < 0)
        tool_args_die(&cli, "--num-records must be non-negative");
    struct tool_strlist payloads = {0};
    int64_t record_size = 0;
    load_payloads(&payloads, &record_size);
    const char *bootstrap = tool_value(&cli, "bootstrap-server");
    rd_kafka_t *rk = tool_client_new(RD_KAFKA_PRODUCER, build_config(&bootstrap));
    if (tool_client_connect(rk, bootstrap, tool_default_timeout_ms(), NULL) != 0) {
        tool_client_destroy(rk, 1);
        tool_strlist_free(&payloads);
        tool_args_free(&cli);
        return 1;
    }
    tool_client_set_verbose_errors(true);

    stats_init(&stats, num_records);
    int64_t start_us = tool_mono_us();
    for (int64_t i = 0; i < num_records; i++) {
        const char *payload = payloads.items[payloads.count == 1 ? 0 : (size_t)rand() % payloads.count];
        size_t len = payloads.count == 1 && record_size ? (size_t)record_size : strlen(payload);
        for (;;) {
            int64_t now = tool_mono_us();
            rd_kafka_resp_err_t err =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)payload, len),
                                  RD_KAFKA_V_OPAQUE((void *)(intptr_t)now), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (err) {
                fprintf(stderr, "Error: cannot produce to %s: %s\n", topic, rd_kafka_err2str(err));
                num_records = i;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
        if (throughput > 0) {
            /* Sleep until the schedule of `throughput` records per second allows the next one. */
            int64_t due_us = start_us + (i + 1) * 1000000 / throughput;
            while (tool_mono_us() < due_us) {
                int64_t wait_ms = (due_us - tool_mono_us()) / 1000;
                rd_kafka_poll(rk, wait_ms > 0 ? (int)wait_ms : 0);
            }
        }
    }
    rd_kafka_flush(rk, 300000);
    print_total(&stats);
    if (tool_has(&cli, "print-metrics")) {
        rd_kafka_poll(rk, 1100);
        printf("\nMetric Name\tValue\nlibrdkafka-statistics\t%s\n", last_metrics ? last_metrics : "{}");
    }
    int rc = failed || rd_kafka_outq_len(rk) > 0 ? 1 : 0;
    tool_client_destroy(rk, rc);
    free(stats.latencies);
    free(last_metrics);
    tool_strlist_free(&payloads);
    tool_args_free(&cli);
    return rc;
}
