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
        r->parse_key = tool_property_is_true(v);
    else if (strcmp(key, "key.separator") == 0)
        r->key_separator = v;
    else if (strcmp(key, "parse.headers") == 0)
        r->parse_headers = tool_property_is_true(v);
    else if (strcmp(key, "headers.delimiter") == 0)
        r->headers_delimiter = v;
    else if (strcmp(key, "headers.separator") == 0)
        r->headers_separator = v;
    else if (strcmp(key, "headers.key.separator") == 0)
        r->headers_key_separator = v;
    else if (strcmp(key, "null.marker") == 0)
        r->null_marker = v;
    else if (strcmp(key, "ignore.error") == 0)
        r->ignore_error = tool_property_is_true(v);
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

/*
 * Kafka's LineMessageReader refuses settings where one separator could be
 * read as another; the same checks, with its messages.
 */
static void check_reader_separators(const struct line_reader *r)
{
    const struct {
        const char *a_name, *a, *b_name, *b;
    } pairs[] = {
        {"headers.delimiter", r->headers_delimiter, "headers.separator", r->headers_separator},
        {"headers.delimiter", r->headers_delimiter, "headers.key.separator", r->headers_key_separator},
        {"headers.separator", r->headers_separator, "headers.key.separator", r->headers_key_separator},
        {"null.marker", r->null_marker, "key.separator", r->key_separator},
        {"null.marker", r->null_marker, "headers.separator", r->headers_separator},
        {"null.marker", r->null_marker, "headers.delimiter", r->headers_delimiter},
        {"null.marker", r->null_marker, "headers.key.separator", r->headers_key_separator},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (pairs[i].a && pairs[i].b && strcmp(pairs[i].a, pairs[i].b) == 0) {
            tool_log("ERROR", "%s and %s may not be equal", pairs[i].a_name, pairs[i].b_name);
            exit(1);
        }
    }
}

/* Part of a line, by length: a line may hold NUL bytes, which are kept. */
struct span {
    char *p; /* not const: librdkafka's producev takes non-const pointers */
    size_t len;
};

/* Offset of the first `sep` in s at or after `from`, or -1. */
static ssize_t find_in(struct span s, size_t from, const char *sep)
{
    if (from > s.len)
        return -1;
    const char *at = memmem(s.p + from, s.len - from, sep, strlen(sep));
    return at ? at - s.p : -1;
}

static bool span_is_null(const struct line_reader *r, struct span s)
{
    return r->null_marker && s.len == strlen(r->null_marker) && memcmp(s.p, r->null_marker, s.len) == 0;
}

/* One "key:value" header pair into hdrs. Returns 0 or -1 with an error logged. */
static int add_header_pair(const struct line_reader *r, struct span pair, rd_kafka_headers_t *hdrs, long line_no)
{
    ssize_t at = find_in(pair, 0, r->headers_key_separator);
    if (at < 0) {
        if (r->ignore_error) {
            rd_kafka_header_add(hdrs, pair.p, (ssize_t)pair.len, NULL, 0);
            return 0;
        }
        tool_log("ERROR", "No header key separator found in pair '%.*s' on line number %ld", (int)pair.len,
                 pair.p, line_no);
        return -1;
    }
    struct span key = {pair.p, (size_t)at};
    size_t value_from = (size_t)at + strlen(r->headers_key_separator);
    struct span value = {pair.p + value_from, pair.len - value_from};
    if (span_is_null(r, key)) {
        tool_log("ERROR", "Header keys should not be equal to the null marker '%s' as they can't be null",
                 r->null_marker);
        return -1;
    }
    if (span_is_null(r, value))
        rd_kafka_header_add(hdrs, key.p, (ssize_t)key.len, NULL, 0);
    else
        rd_kafka_header_add(hdrs, key.p, (ssize_t)key.len, value.p, (ssize_t)value.len);
    return 0;
}

/*
 * Split "k:v,k2:v2" as Java's String.split does: trailing empty pairs are
 * dropped, but an empty text is one (empty) pair.
 */
static int parse_headers(const struct line_reader *r, struct span text, rd_kafka_headers_t *hdrs, long line_no)
{
    size_t sep_len = strlen(r->headers_separator);
    size_t end = text.len;
    while (text.len > 0 && end >= sep_len && memcmp(text.p + end - sep_len, r->headers_separator, sep_len) == 0)
        end -= sep_len; /* trailing separators would only give empty pairs */
    struct span rest = {text.p, end};
    size_t from = 0;
    for (;;) {
        ssize_t at = find_in(rest, from, r->headers_separator);
        size_t stop = at < 0 ? rest.len : (size_t)at;
        struct span pair = {rest.p + from, stop - from};
        if (add_header_pair(r, pair, hdrs, line_no) != 0)
            return -1;
        if (at < 0)
            return 0;
        from = stop + sep_len;
    }
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/*
 * The part of `line` from `from` up to `sep` (LineMessageReader's parse()):
 * *next is where the rest starts. Returns 1 when found, 0 when absent and
 * ignore.error is set, -1 (error logged) when absent otherwise.
 */
static int take_until(const struct line_reader *r, struct span line, size_t from, const char *sep,
                      const char *sep_name, long line_no, struct span *part, size_t *next)
{
    ssize_t at = find_in(line, from, sep);
    if (at < 0) {
        if (r->ignore_error)
            return 0;
        tool_log("ERROR", "No %s found on line number %ld: '%.*s'", sep_name, line_no, (int)line.len, line.p);
        return -1;
    }
    *part = (struct span){line.p + from, (size_t)at - from};
    *next = (size_t)at + strlen(sep);
    return 1;
}

static void send_record(rd_kafka_t *rk, const struct span *key, const struct span *value, rd_kafka_headers_t *hdrs)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key ? key->p : NULL, key ? key->len : 0),
            RD_KAFKA_V_VALUE(value ? value->p : NULL, value ? value->len : 0), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_END);
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
        return; /* on success librdkafka owns hdrs */
    }
}

/*
 * Send one line as a record, split as Kafka's LineMessageReader does:
 * [headers <headers.delimiter>] [key <key.separator>] value. Returns 0, or
 * -1 for a line that cannot be parsed (the tool then stops reading, but
 * still delivers earlier lines).
 */
static int produce_line(rd_kafka_t *rk, const struct line_reader *r, struct span line, long line_no)
{
    size_t pos = 0;
    struct span headers, key, value;
    int has_headers = 0, has_key = 0;
    if (r->parse_headers) {
        has_headers = take_until(r, line, 0, r->headers_delimiter, "headers delimiter", line_no, &headers, &pos);
        if (has_headers < 0)
            return -1;
    }
    if (r->parse_key) {
        has_key = take_until(r, line, pos, r->key_separator, "key separator", line_no, &key, &pos);
        if (has_key < 0)
            return -1;
    }
    value = (struct span){line.p + pos, line.len - pos};
    rd_kafka_headers_t *hdrs = NULL;
    if (has_headers > 0 && !span_is_null(r, headers)) {
        hdrs = rd_kafka_headers_new(8);
        if (parse_headers(r, headers, hdrs, line_no) != 0) {
            rd_kafka_headers_destroy(hdrs);
            return -1;
        }
    }
    bool key_is_null = has_key <= 0 || span_is_null(r, key);
    send_record(rk, key_is_null ? NULL : &key, span_is_null(r, value) ? NULL : &value, hdrs);
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
    check_reader_separators(&reader);

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
        if (produce_line(rk, &reader, (struct span){line, (size_t)n}, ++line_no) != 0) {
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
