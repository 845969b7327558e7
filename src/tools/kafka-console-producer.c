/*
 * kafka-console-producer.c - `kafka-console-producer.sh`: one record per
 * line of standard input, with the flags and line syntax of Kafka's
 * ConsoleProducer (parse.key / key.separator, parse.headers, null.marker).
 *
 * Configuration precedence matches Kafka: tool defaults, then the
 * --producer.config file, then --producer-property pairs, then explicitly
 * given flags (--request-required-acks, --compression-codec, --timeout, ...).
 * Exits 0 when every record was acknowledged, 1 otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: server to connect to",
     "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to.", 0, 0, NULL},
    {"broker-list", TOOL_ARG_REQUIRED, "String: broker-list", "DEPRECATED, use --bootstrap-server instead.",
     0, 0, NULL},
    {"topic", TOOL_ARG_REQUIRED, "String: topic", "REQUIRED: The topic id to produce messages to.", 0, 0, NULL},
    {"batch-size", TOOL_ARG_REQUIRED, "Integer: size",
     "Number of messages to send in a single batch if they are not being sent synchronously. (default: 16384)",
     0, 0, NULL},
    {"compression-codec", TOOL_ARG_OPTIONAL, "String: compression-codec",
     "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified without value, "
     "then it defaults to 'gzip'", 0, 0, NULL},
    {"max-block-ms", TOOL_ARG_REQUIRED, "Long: max block on send",
     "The max time that the producer will block for during a send request. (default: 60000)", 0, 0, NULL},
    {"message-send-max-retries", TOOL_ARG_REQUIRED, "Integer",
     "Brokers can fail receiving the message for multiple reasons; this is the number of retries.", 0, 0, NULL},
    {"producer-property", TOOL_ARG_REQUIRED, "String: producer_prop",
     "A mechanism to pass user-defined properties in the form key=value to the producer.", 0, 0, NULL},
    {"producer.config", TOOL_ARG_REQUIRED, "String: config file",
     "Producer config properties file. Note that [producer-property] takes precedence over this config.",
     0, 0, NULL},
    {"property", TOOL_ARG_REQUIRED, "String: prop",
     "A mechanism to pass user-defined properties in the form key=value to the message reader: "
     "parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, "
     "headers.key.separator, null.marker, ignore.error.", 0, 0, NULL},
    {"request-required-acks", TOOL_ARG_REQUIRED, "String: request required acks",
     "The required `acks` of the producer requests (default: -1)", 0, 0, NULL},
    {"request-timeout-ms", TOOL_ARG_REQUIRED, "Integer: request timeout ms",
     "The ack timeout of the producer requests. Value must be non-negative and non-zero. (default: 1500)",
     0, 0, NULL},
    {"retry-backoff-ms", TOOL_ARG_REQUIRED, "Long",
     "Before each retry, the producer refreshes the metadata of relevant topics. (default: 100)", 0, 0, NULL},
    {"sync", TOOL_ARG_NONE, NULL, "If set message send requests to the brokers are synchronously, one at a "
                                  "time as they arrive.", 0, 0, NULL},
    {"timeout", TOOL_ARG_REQUIRED, "Long: timeout_ms",
     "If set and the producer is running in asynchronous mode, this gives the maximum amount of time a "
     "message will queue awaiting sufficient batch size. (default: 1000)", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-console-producer.sh",
    "This tool helps to read data from standard input and publish it to Kafka.",
    options,
};

/* How lines become records (the --property settings). */
struct line_reader {
    bool parse_key;
    const char *key_separator;
    bool parse_headers;
    const char *headers_delimiter;
    const char *headers_separator;
    const char *headers_key_separator;
    const char *null_marker;
    bool ignore_error;
};

static const char *topic;
static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (!m->err) {
        delivered++;
        return;
    }
    failed++;
    char key[32] = "null";
    if (m->key)
        snprintf(key, sizeof key, "%zu bytes", m->key_len);
    tool_log("ERROR", "Error when sending message to topic %s with key: %s, value: %zu bytes with error: %s",
             topic, key, m->payload ? m->len : 0, rd_kafka_err2str(m->err));
}

static void apply_reader_property(struct line_reader *r, const char *pair)
{
    char key[128];
    const char *v;
    if (!tool_split_kv(pair, key, sizeof key, &v))
        tool_args_die(&cli, "Invalid property '%s': expected key=value", pair);
    if (strcmp(key, "parse.key") == 0)
        r->parse_key = strcmp(v, "true") == 0;
    else if (strcmp(key, "key.separator") == 0)
        r->key_separator = v;
    else if (strcmp(key, "parse.headers") == 0)
        r->parse_headers = strcmp(v, "true") == 0;
    else if (strcmp(key, "headers.delimiter") == 0)
        r->headers_delimiter = v;
    else if (strcmp(key, "headers.separator") == 0)
        r->headers_separator = v;
    else if (strcmp(key, "headers.key.separator") == 0)
        r->headers_key_separator = v;
    else if (strcmp(key, "null.marker") == 0)
        r->null_marker = v;
    else if (strcmp(key, "ignore.error") == 0)
        r->ignore_error = strcmp(v, "true") == 0;
}

static const char *compression_codec(void)
{
    const char *codec = tool_value(&cli, "compression-codec");
    if (!codec)
        return NULL;
    if (*codec == '\0')
        return "gzip";
    static const char *known[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(codec, known[i]) == 0)
            return codec;
    tool_args_die(&cli, "Unknown compression codec '%s': use none, gzip, snappy, lz4 or zstd", codec);
}

static void set_or_die(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    if (tool_conf_set(conf, key, value) != 0)
        exit(1);
}

/* Explicit flags override the files and pairs; absent ones left the defaults. */
static void apply_flags(rd_kafka_conf_t *conf)
{
    static const struct {
        const char *flag;
        const char *property;
    } flag_properties[] = {
        {"request-required-acks", "acks"},
        {"request-timeout-ms", "request.timeout.ms"},
        {"message-send-max-retries", "retries"},
        {"retry-backoff-ms", "retry.backoff.ms"},
        {"timeout", "linger.ms"},
        {"batch-size", "batch.size"},
    };
    for (size_t i = 0; i < sizeof flag_properties / sizeof flag_properties[0]; i++) {
        const char *v = tool_value(&cli, flag_properties[i].flag);
        if (v)
            set_or_die(conf, flag_properties[i].property, v);
    }
    const char *codec = compression_codec();
    if (codec)
        set_or_die(conf, "compression.codec", codec);
    if (tool_has(&cli, "sync"))
        set_or_die(conf, "linger.ms", "0");
}

static rd_kafka_conf_t *build_config(const char *bootstrap)
{
    rd_kafka_conf_t *conf = tool_conf_new(bootstrap, "console-producer");
    set_or_die(conf, "acks", "-1");
    set_or_die(conf, "linger.ms", "1000");
    set_or_die(conf, "message.timeout.ms", "60000");
    const char *file = tool_value(&cli, "producer.config");
    if (file && tool_conf_load_file(conf, file) != 0)
        exit(1);
    struct tool_option *props = tool_opt(&cli, "producer-property");
    for (int i = 0; i < props->nvalues; i++)
        if (tool_conf_set_pair(conf, props->values[i]) != 0)
            exit(1);
    apply_flags(conf);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    return conf;
}

/* Cut `s` at the first `sep`; returns the rest after it, or NULL if absent. */
static char *cut(char *s, const char *sep)
{
    char *at = strstr(s, sep);
    if (!at)
        return NULL;
    *at = '\0';
    return at + strlen(sep);
}

static bool is_null(const struct line_reader *r, const char *s)
{
    return r->null_marker && strcmp(s, r->null_marker) == 0;
}

/* Add "k:v,k2:v2" to hdrs. Returns 0 or -1 with an error printed. */
static int parse_headers(const struct line_reader *r, char *text, rd_kafka_headers_t *hdrs, long line_no)
{
    while (text && *text) {
        char *next = cut(text, r->headers_separator);
        char *value = cut(text, r->headers_key_separator);
        if (is_null(r, text)) {
            tool_log("ERROR", "Header keys should not be equal to the null marker '%s' as they can't be null",
                     r->null_marker);
            return -1;
        }
        if (value && is_null(r, value))
            value = NULL;
        rd_kafka_header_add(hdrs, text, -1, value, value ? -1 : 0);
        (void)line_no;
        text = next;
    }
    return 0;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/*
 * Send one line as a record. Returns 0, or -1 for a line that cannot be
 * parsed (the tool then stops reading, but still delivers earlier lines).
 */
static int produce_line(rd_kafka_t *rk, const struct line_reader *r, char *line, long line_no)
{
    rd_kafka_headers_t *hdrs = NULL;
    char *rest = line;
    if (r->parse_headers) {
        char *after = cut(rest, r->headers_delimiter);
        if (!after) {
            if (r->ignore_error)
                return 0;
            tool_log("ERROR", "No headers delimiter found on line number %ld: '%s'", line_no, line);
            return -1;
        }
        hdrs = rd_kafka_headers_new(8);
        if (parse_headers(r, rest, hdrs, line_no) != 0) {
            rd_kafka_headers_destroy(hdrs);
            return -1;
        }
        rest = after;
    }
    char *key = NULL, *value = rest;
    if (r->parse_key) {
        char *after = cut(rest, r->key_separator);
        if (!after && !r->ignore_error) {
            tool_log("ERROR", "No key separator found on line number %ld: '%s'", line_no, line);
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            return -1;
        }
        if (after) {
            key = rest;
            value = after;
        }
    }
    if (key && is_null(r, key))
        key = NULL;
    if (is_null(r, value))
        value = NULL;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE(value, value ? strlen(value) : 0),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 100);
            continue;
        }
        if (err) {
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            failed++;
            tool_log("ERROR", "Error when sending message to topic %s: %s", topic, rd_kafka_err2str(err));
        }
        break; /* on success librdkafka owns hdrs */
    }
    return 0;
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    const char *bootstrap = tool_value(&cli, "bootstrap-server");
    if (!bootstrap)
        bootstrap = tool_value(&cli, "broker-list");
    if (!bootstrap)
        tool_args_die(&cli, "Missing required argument \"[bootstrap-server]\"");
    topic = tool_require(&cli, "topic");

    struct line_reader reader = {false, "\t", false, "\t", ",", ":", NULL, false};
    struct tool_option *props = tool_opt(&cli, "property");
    for (int i = 0; i < props->nvalues; i++)
        apply_reader_property(&reader, props->values[i]);

    rd_kafka_t *rk = tool_client_new(RD_KAFKA_PRODUCER, build_config(bootstrap));
    if (tool_client_connect(rk, bootstrap, tool_default_timeout_ms(), NULL) != 0) {
        tool_client_destroy(rk, 1);
        return 1;
    }
    tool_client_set_verbose_errors(true);
    tool_on_interrupt(on_signal);

    bool prompt = isatty(STDIN_FILENO);
    bool sync = tool_has(&cli, "sync");
    char *line = NULL;
    size_t cap = 0;
    long line_no = 0;
    for (;;) {
        if (prompt) {
            fputc('>', stdout);
            fflush(stdout);
        }
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0 || interrupted)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (produce_line(rk, &reader, line, ++line_no) != 0) {
            failed++;
            break;
        }
        if (sync)
            rd_kafka_flush(rk, 60000);
        rd_kafka_poll(rk, 0);
    }
    free(line);
    rd_kafka_flush(rk, 120000);
    int unsent = rd_kafka_outq_len(rk);
    if (unsent > 0)
        tool_log("ERROR", "%d messages were not delivered before the producer closed", unsent);
    int rc = failed || unsent > 0 ? 1 : 0;
    tool_client_destroy(rk, rc);
    tool_args_free(&cli);
    return rc;
}
