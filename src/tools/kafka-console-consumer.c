/*
 * kafka-console-consumer.c - `kafka-console-consumer.sh`: print records to
 * standard output in the layout of Kafka's DefaultMessageFormatter
 * (print.timestamp, print.partition, print.offset, print.headers, print.key,
 * print.value, key.separator, line.separator, headers.separator,
 * null.literal), then "Processed a total of N messages" on stderr.
 *
 * With --group the consumer subscribes and commits like Kafka's. Without a
 * group Kafka would invent a throw-away "console-consumer-NNNNN" group; this
 * tool instead assigns the partitions directly, which prints the same
 * records without the group's join delay and without leaving a group behind.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: server to connect to", "REQUIRED: The server(s) to connect to.",
     0, 0, NULL},
    {"topic", TOOL_ARG_REQUIRED, "String: topic", "The topic to consume on.", 0, 0, NULL},
    {"include", TOOL_ARG_REQUIRED, "String: Java regex (String)",
     "Regular expression specifying list of topics to include for consumption.", 0, 0, NULL},
    {"whitelist", TOOL_ARG_REQUIRED, "String: Java regex (String)", "DEPRECATED, use --include instead.", 0, 0,
     NULL},
    {"partition", TOOL_ARG_REQUIRED, "Integer: partition",
     "The partition to consume from. Consumption starts from the end of the partition unless '--offset' is "
     "specified.", 0, 0, NULL},
    {"offset", TOOL_ARG_REQUIRED, "String: consume offset",
     "The offset to consume from (a non-negative number), or 'earliest' which means from beginning, or "
     "'latest' which means from end (default: latest)", 0, 0, NULL},
    {"from-beginning", TOOL_ARG_NONE, NULL,
     "If the consumer does not already have an established offset to consume from, start with the earliest "
     "message present in the log rather than the latest message.", 0, 0, NULL},
    {"group", TOOL_ARG_REQUIRED, "String: consumer group id", "The consumer group id of the consumer.", 0, 0,
     NULL},
    {"max-messages", TOOL_ARG_REQUIRED, "Integer: num_messages",
     "The maximum number of messages to consume before exiting. If not set, consumption is continual.", 0, 0,
     NULL},
    {"timeout-ms", TOOL_ARG_REQUIRED, "Integer: timeout_ms",
     "If specified, exit if no message is available for consumption for the specified interval.", 0, 0, NULL},
    {"property", TOOL_ARG_REQUIRED, "String: prop",
     "The properties to initialize the message formatter: print.timestamp, print.key, print.offset, "
     "print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, "
     "null.literal.", 0, 0, NULL},
    {"consumer-property", TOOL_ARG_REQUIRED, "String: consumer_prop",
     "A mechanism to pass user-defined properties in the form key=value to the consumer.", 0, 0, NULL},
    {"consumer.config", TOOL_ARG_REQUIRED, "String: config file",
     "Consumer config properties file. Note that [consumer-property] takes precedence over this config.", 0,
     0, NULL},
    {"isolation-level", TOOL_ARG_REQUIRED, "String",
     "Set to read_committed in order to filter out transactional messages which are not committed. Set to "
     "read_uncommitted to read all messages. (default: read_uncommitted)", 0, 0, NULL},
    {"skip-message-on-error", TOOL_ARG_NONE, NULL,
     "If there is an error when processing a message, skip it instead of halt.", 0, 0, NULL},
    {"formatter", TOOL_ARG_REQUIRED, "String: class",
     "The name of a class to use for formatting kafka messages for display. Only the default formatter, "
     "kafka.tools.DefaultMessageFormatter, is available.", 0, 0, NULL},
    {"key-deserializer", TOOL_ARG_REQUIRED, "String: deserializer for key", "Ignored: bytes are printed as is.",
     0, 0, NULL},
    {"value-deserializer", TOOL_ARG_REQUIRED, "String: deserializer for values",
     "Ignored: bytes are printed as is.", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-console-consumer.sh",
    "This tool helps to read data from Kafka topics and outputs it to standard output.",
    options,
};

struct formatter {
    bool print_timestamp, print_key, print_offset, print_partition, print_headers, print_value;
    const char *key_separator;
    const char *line_separator;
    const char *headers_separator;
    const char *null_literal;
};

/* --include (or its deprecated name --whitelist): a regex of topics. */
static const char *include_pattern;

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void apply_format_property(struct formatter *f, const char *pair)
{
    char key[128];
    const char *v;
    if (!tool_split_kv(pair, key, sizeof key, &v))
        tool_args_die(&cli, "Invalid property '%s': expected key=value", pair);
    bool on = tool_property_is_true(v);
    if (strcmp(key, "print.timestamp") == 0)
        f->print_timestamp = on;
    else if (strcmp(key, "print.key") == 0)
        f->print_key = on;
    else if (strcmp(key, "print.offset") == 0)
        f->print_offset = on;
    else if (strcmp(key, "print.partition") == 0)
        f->print_partition = on;
    else if (strcmp(key, "print.headers") == 0)
        f->print_headers = on;
    else if (strcmp(key, "print.value") == 0)
        f->print_value = on;
    else if (strcmp(key, "key.separator") == 0)
        f->key_separator = v;
    else if (strcmp(key, "line.separator") == 0)
        f->line_separator = v;
    else if (strcmp(key, "headers.separator") == 0)
        f->headers_separator = v;
    else if (strcmp(key, "null.literal") == 0)
        f->null_literal = v;
}

/* After a column: the key separator if another column follows, else the line separator. */
static void write_separator(const struct formatter *f, bool more_columns)
{
    fputs(more_columns ? f->key_separator : f->line_separator, stdout);
}

static void write_bytes(const struct formatter *f, const void *p, size_t len)
{
    if (!p)
        fputs(f->null_literal, stdout);
    else
        fwrite(p, 1, len, stdout);
}

static void write_headers(const struct formatter *f, const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || rd_kafka_header_cnt(hdrs) == 0) {
        fputs("NO_HEADERS", stdout);
        return;
    }
    const char *name;
    const void *value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        if (i)
            fputs(f->headers_separator, stdout);
        fputs(name, stdout);
        fputc(':', stdout);
        write_bytes(f, value, size);
    }
}

static void print_record(const struct formatter *f, const rd_kafka_message_t *m)
{
    if (f->print_timestamp) {
        rd_kafka_timestamp_type_t type;
        int64_t ts = rd_kafka_message_timestamp(m, &type);
        if (type == RD_KAFKA_TIMESTAMP_CREATE_TIME)
            printf("CreateTime:%lld", (long long)ts);
        else if (type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME)
            printf("LogAppendTime:%lld", (long long)ts);
        else
            fputs("NO_TIMESTAMP", stdout);
        write_separator(f, f->print_partition || f->print_offset || f->print_headers || f->print_key ||
                               f->print_value);
    }
    if (f->print_partition) {
        printf("Partition:%d", (int)m->partition);
        write_separator(f, f->print_offset || f->print_headers || f->print_key || f->print_value);
    }
    if (f->print_offset) {
        printf("Offset:%lld", (long long)m->offset);
        write_separator(f, f->print_headers || f->print_key || f->print_value);
    }
    if (f->print_headers) {
        write_headers(f, m);
        write_separator(f, f->print_key || f->print_value);
    }
    if (f->print_key) {
        write_bytes(f, m->key, m->key_len);
        write_separator(f, f->print_value);
    }
    if (f->print_value) {
        write_bytes(f, m->payload, m->len);
        fputs(f->line_separator, stdout);
    }
}

static void set_or_die(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    if (tool_conf_set(conf, key, value) != 0)
        exit(1);
}

static rd_kafka_conf_t *build_config(const char *bootstrap, const char *group)
{
    rd_kafka_conf_t *conf = tool_conf_new(bootstrap, "console-consumer");
    set_or_die(conf, "auto.offset.reset", tool_has(&cli, "from-beginning") ? "earliest" : "latest");
    const char *file = tool_value(&cli, "consumer.config");
    if (file && tool_conf_load_file(conf, file) != 0)
        exit(1);
    struct tool_option *props = tool_opt(&cli, "consumer-property");
    for (int i = 0; i < props->nvalues; i++)
        if (tool_conf_set_pair(conf, props->values[i]) != 0)
            exit(1);
    if (group)
        set_or_die(conf, "group.id", group);
    const char *isolation = tool_value(&cli, "isolation-level");
    if (isolation)
        set_or_die(conf, "isolation.level", isolation);
    if (tool_has(&cli, "from-beginning"))
        set_or_die(conf, "auto.offset.reset", "earliest");
    char errstr[256];
    size_t len = 0;
    if (rd_kafka_conf_get(conf, "group.id", NULL, &len) != RD_KAFKA_CONF_OK || len <= 1) {
        /* No group: nothing to commit to. */
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr);
    }
    return conf;
}

/* "earliest" | "latest" | N >= 0, as librdkafka's logical or absolute offset. */
static int64_t start_offset(void)
{
    const char *v = tool_value(&cli, "offset");
    if (!v)
        return tool_has(&cli, "from-beginning") ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    if (strcmp(v, "earliest") == 0)
        return RD_KAFKA_OFFSET_BEGINNING;
    if (strcmp(v, "latest") == 0)
        return RD_KAFKA_OFFSET_END;
    int64_t n;
    if (!tool_parse_int64(v, &n) || n < 0)
        tool_args_die(&cli, "The provided offset value '%s' is incorrect. Valid values are 'earliest', "
                            "'latest', or a non-negative long.", v);
    return n;
}

/*
 * The partitions to read when there is no subscription: --partition of
 * --topic, or every partition of the topics matching --topic / --include.
 * Waits (warning once) while the topic does not exist yet.
 */
static rd_kafka_topic_partition_list_t *partitions_to_assign(rd_kafka_t *rk, int64_t deadline_ms)
{
    const char *topic = tool_value(&cli, "topic");
    const char *include = include_pattern;
    int64_t offset = start_offset();
    bool warned = false;
    while (!interrupted) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
        if (rd_kafka_metadata(rk, 1, NULL, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int t = 0; t < md->topic_cnt; t++) {
                const rd_kafka_metadata_topic_t *mt = &md->topics[t];
                if (mt->err || mt->partition_cnt == 0)
                    continue;
                if (topic ? strcmp(mt->topic, topic) != 0 : tool_topic_matches(include, mt->topic) != 1)
                    continue;
                for (int p = 0; p < mt->partition_cnt; p++) {
                    if (tool_has(&cli, "partition") && mt->partitions[p].id != tool_int(&cli, "partition", 0))
                        continue;
                    rd_kafka_topic_partition_list_add(list, mt->topic, mt->partitions[p].id)->offset = offset;
                }
            }
            rd_kafka_metadata_destroy(md);
        }
        if (list->cnt > 0)
            return list;
        rd_kafka_topic_partition_list_destroy(list);
        if (!warned) {
            tool_log("WARN", "Topic %s%s is not available yet; waiting for it (UNKNOWN_TOPIC_OR_PARTITION)",
                     topic ? topic : include, tool_has(&cli, "partition") ? " (or the given partition)" : "");
            warned = true;
        }
        if (deadline_ms && tool_mono_ms() >= deadline_ms)
            return NULL;
        rd_kafka_poll(rk, 500);
    }
    return NULL;
}

/*
 * Where records come from: the group consumer (subscribe or assign), or,
 * without a group, librdkafka's simple consumer feeding one queue, since the
 * group consumer API refuses to run without a group id.
 */
struct record_source {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue; /* simple consumer only */
    rd_kafka_topic_partition_list_t *started;
    rd_kafka_topic_t **topics; /* one handle per started partition */
};

static int source_subscribe(struct record_source *src)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    if (include_pattern) {
        char *filter = tool_topic_filter(include_pattern);
        char *pattern = malloc(strlen(filter) + 5);
        sprintf(pattern, "^(%s)$", filter); /* librdkafka reads a leading '^' as "a regex" */
        rd_kafka_topic_partition_list_add(list, pattern, RD_KAFKA_PARTITION_UA);
        free(pattern);
        free(filter);
    } else {
        rd_kafka_topic_partition_list_add(list, tool_value(&cli, "topic"), RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(src->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) {
        fprintf(stderr, "Error: cannot subscribe: %s\n", rd_kafka_err2str(err));
        return 1;
    }
    return 0;
}

static void source_start_simple(struct record_source *src, const rd_kafka_topic_partition_list_t *list)
{
    src->queue = rd_kafka_queue_new(src->rk);
    src->started = rd_kafka_topic_partition_list_copy(list);
    src->topics = calloc((size_t)list->cnt + 1, sizeof(*src->topics));
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        src->topics[i] = rd_kafka_topic_new(src->rk, tp->topic, NULL);
        if (rd_kafka_consume_start_queue(src->topics[i], tp->partition, tp->offset, src->queue) != 0)
            tool_log("WARN", "Cannot consume %s-%d: %s", tp->topic, (int)tp->partition,
                     rd_kafka_err2str(rd_kafka_last_error()));
    }
}

static rd_kafka_message_t *source_poll(struct record_source *src, int timeout_ms)
{
    if (!src->queue)
        return rd_kafka_consumer_poll(src->rk, timeout_ms);
    rd_kafka_poll(src->rk, 0); /* error callbacks */
    return rd_kafka_consume_queue(src->queue, timeout_ms);
}

static void source_close(struct record_source *src)
{
    if (!src->queue) {
        rd_kafka_consumer_close(src->rk);
        return;
    }
    for (int i = 0; i < src->started->cnt; i++) {
        rd_kafka_consume_stop(src->topics[i], src->started->elems[i].partition);
        rd_kafka_topic_destroy(src->topics[i]);
    }
    free(src->topics);
    rd_kafka_topic_partition_list_destroy(src->started);
    rd_kafka_queue_destroy(src->queue);
}

/*
 * An error repeated poll after poll (librdkafka hands back the same one at
 * once, e.g. a consumer with no group) would flood stderr: each distinct
 * error is logged once, and an error is not activity for --timeout-ms.
 */
static int64_t consume_records(struct record_source *src, const struct formatter *fmt, int64_t max_messages,
                               int64_t timeout_ms)
{
    int64_t processed = 0;
    int64_t last_activity = tool_mono_ms();
    rd_kafka_resp_err_t last_logged = RD_KAFKA_RESP_ERR_NO_ERROR;
    while (!interrupted && (max_messages < 0 || processed < max_messages)) {
        rd_kafka_message_t *m = source_poll(src, 100);
        if (!m || m->err) {
            if (m && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && m->err != last_logged) {
                tool_log("WARN", "%s", rd_kafka_message_errstr(m));
                last_logged = m->err;
            }
            if (m)
                rd_kafka_message_destroy(m);
            fflush(stdout);
            if (timeout_ms > 0 && tool_mono_ms() - last_activity >= timeout_ms)
                break;
            continue;
        }
        print_record(fmt, m);
        processed++;
        last_activity = tool_mono_ms();
        rd_kafka_message_destroy(m);
    }
    return processed;
}

/* Only the default formatter is implemented: any other class would print
 * something else in Kafka (e.g. OffsetsMessageFormatter decodes
 * __consumer_offsets), so it is refused rather than silently replaced. */
static void check_formatter(const char *formatter)
{
    static const char *const known[] = {"kafka.tools.DefaultMessageFormatter",
                                        "org.apache.kafka.tools.consumer.DefaultMessageFormatter"};
    if (!formatter)
        return;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(formatter, known[i]) == 0)
            return;
    tool_args_die(&cli, "The formatter class %s is not available: only kafka.tools.DefaultMessageFormatter is",
                  formatter);
}

static void validate_flags(void)
{
    if (!tool_has(&cli, "bootstrap-server"))
        tool_args_die(&cli, "Missing required argument \"[bootstrap-server]\"");
    int sources = tool_has(&cli, "topic") + (tool_has(&cli, "include") || tool_has(&cli, "whitelist"));
    if (sources != 1)
        tool_args_die(&cli, "Exactly one of include/topic is required.");
    if (tool_has(&cli, "partition") && !tool_has(&cli, "topic"))
        tool_args_die(&cli, "The topic is required when partition is specified.");
    if (tool_has(&cli, "offset") && !tool_has(&cli, "partition"))
        tool_args_die(&cli, "The partition is required when offset is specified.");
    if (tool_has(&cli, "offset") && tool_has(&cli, "from-beginning"))
        tool_args_die(&cli, "Options from-beginning and offset cannot be specified together.");
    if (tool_int(&cli, "partition", 0) < 0)
        tool_args_die(&cli, "The partition must be a non-negative number.");
    if (tool_has(&cli, "group") && tool_has(&cli, "partition"))
        tool_args_die(&cli, "Options group and partition cannot be specified together.");
    check_formatter(tool_value(&cli, "formatter"));
    start_offset();
    tool_int(&cli, "max-messages", 0);
    tool_int(&cli, "timeout-ms", 0);
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    validate_flags();
    const char *bootstrap = tool_value(&cli, "bootstrap-server");
    const char *group = tool_value(&cli, "group");
    include_pattern = tool_value(&cli, "include");
    if (!include_pattern)
        include_pattern = tool_value(&cli, "whitelist");
    struct formatter fmt = {false, false, false, false, false, true, "\t", "\n", ",", "null"};
    struct tool_option *props = tool_opt(&cli, "property");
    for (int i = 0; i < props->nvalues; i++)
        apply_format_property(&fmt, props->values[i]);
    int64_t max_messages = tool_int(&cli, "max-messages", -1);
    int64_t timeout_ms = tool_int(&cli, "timeout-ms", 0);

    rd_kafka_t *rk = tool_client_new(RD_KAFKA_CONSUMER, build_config(bootstrap, group));
    if (group)
        rd_kafka_poll_set_consumer(rk);
    if (tool_client_connect(rk, bootstrap, tool_default_timeout_ms(), NULL) != 0) {
        tool_client_destroy(rk, 1);
        return 1;
    }
    tool_client_set_verbose_errors(true);
    tool_on_interrupt(on_signal);

    struct record_source src = {rk, NULL, NULL, 0};
    int64_t started = tool_mono_ms();
    int rc = 0;
    bool has_source = true;
    if (group && !tool_has(&cli, "partition")) {
        rc = source_subscribe(&src);
    } else {
        rd_kafka_topic_partition_list_t *list = partitions_to_assign(rk, timeout_ms > 0 ? started + timeout_ms : 0);
        /* No partition before --timeout-ms (or an interrupt): nothing to read, as Kafka's timeout. */
        has_source = list != NULL;
        if (list) {
            if (group)
                rd_kafka_assign(rk, list);
            else
                source_start_simple(&src, list);
            rd_kafka_topic_partition_list_destroy(list);
        }
    }

    int64_t processed = rc == 0 && has_source ? consume_records(&src, &fmt, max_messages, timeout_ms) : 0;
    fflush(stdout);
    fprintf(stderr, "Processed a total of %lld messages\n", (long long)processed);
    source_close(&src);
    tool_client_destroy(rk, rc);
    tool_args_free(&cli);
    return rc;
}
