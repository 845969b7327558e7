/*
 * tool_client.c - client configuration, creation and bounded connection
 * checks for the command-line tools (see tool_client.h).
 */
#include "common/tool_client.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tool_util.h"
#include "config/properties.h"

#define TOOL_DEFAULT_TIMEOUT_MS 15000

/* Errors reported by librdkafka, kept so failures can say why. */
static struct {
    char last[512];
    bool all_brokers_down;
    bool verbose;
} client_errors;

int tool_default_timeout_ms(void)
{
    const char *env = getenv("EDDY_TOOLS_TIMEOUT_MS");
    int64_t v;
    if (env && tool_parse_int64(env, &v) && v > 0 && v < 3600000)
        return (int)v;
    return TOOL_DEFAULT_TIMEOUT_MS;
}

/* Java client properties and what librdkafka calls them (NULL: no equivalent). */
static const struct {
    const char *java;
    const char *librdkafka;
} property_names[] = {
    {"key.serializer", NULL},
    {"value.serializer", NULL},
    {"key.deserializer", NULL},
    {"value.deserializer", NULL},
    {"buffer.memory", NULL},
    {"max.block.ms", NULL},
    {"max.poll.records", NULL},
    {"default.api.timeout.ms", NULL},
    {"exclude.internal.topics", NULL},
    {"interceptor.classes", NULL},
    {"partitioner.class", NULL},
    {"metric.reporters", NULL},
    {"max.request.size", "message.max.bytes"},
    {"delivery.timeout.ms", "message.timeout.ms"},
    {"fetch.max.wait.ms", "fetch.wait.max.ms"},
    {"ssl.endpoint.identification.algorithm", "ssl.endpoint.identification.algorithm"},
};

/* sasl.jaas.config=... PlainLoginModule required username="u" password="p"; */
static void set_jaas_credentials(rd_kafka_conf_t *conf, const char *jaas)
{
    static const char *fields[][2] = {{"username=\"", "sasl.username"},
                                      {"password=\"", "sasl.password"}};
    for (size_t i = 0; i < 2; i++) {
        const char *start = strstr(jaas, fields[i][0]);
        if (!start)
            continue;
        start += strlen(fields[i][0]);
        const char *end = strchr(start, '"');
        if (!end)
            continue;
        char value[256];
        snprintf(value, sizeof value, "%.*s", (int)(end - start), start);
        char errstr[256];
        rd_kafka_conf_set(conf, fields[i][1], value, errstr, sizeof errstr);
    }
}

int tool_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    if (strcmp(key, "sasl.jaas.config") == 0) {
        set_jaas_credentials(conf, value);
        return 0;
    }
    for (size_t i = 0; i < sizeof property_names / sizeof property_names[0]; i++) {
        if (strcmp(key, property_names[i].java) != 0)
            continue;
        if (!property_names[i].librdkafka) {
            tool_log("WARN", "The configuration '%s' was supplied but is not used by this client.", key);
            return 0;
        }
        key = property_names[i].librdkafka;
        break;
    }
    char errstr[512];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr);
    if (res == RD_KAFKA_CONF_UNKNOWN) {
        /* Kafka's clients warn about unknown properties and carry on. */
        tool_log("WARN", "The configuration '%s' was supplied but isn't a known config.", key);
        return 0;
    }
    if (res != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "Invalid client property %s=%s: %s\n", key, value, errstr);
        return -1;
    }
    return 0;
}

int tool_conf_set_pair(rd_kafka_conf_t *conf, const char *pair)
{
    char key[256];
    const char *value;
    if (!tool_split_kv(pair, key, sizeof key, &value)) {
        fprintf(stderr, "Invalid property '%s': expected key=value\n", pair);
        return -1;
    }
    return tool_conf_set(conf, key, value);
}

/* --command-config / --producer.config / --consumer.config: read as Java
 * properties, as Kafka's tools read them (continuation lines, as in a
 * multi-line sasl.jaas.config, and `key value` lines included). */
int tool_conf_load_file(rd_kafka_conf_t *conf, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "Cannot read config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct properties props = {0};
    struct properties_error err = {0};
    int rc = properties_parse(f, &props, &err);
    fclose(f);
    if (rc != 0)
        fprintf(stderr, "Invalid config file %s, line %d: %s\n", path, err.line, err.reason);
    for (size_t i = 0; rc == 0 && i < props.count; i++)
        if (properties_is_last(&props, i) && tool_conf_set(conf, props.items[i].key, props.items[i].value) != 0)
            rc = -1;
    properties_free(&props);
    return rc;
}

static void on_client_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        client_errors.all_brokers_down = true;
        if (client_errors.last[0])
            return; /* keep the more specific transport error */
    }
    if (client_errors.verbose && strcmp(client_errors.last, reason) != 0)
        tool_log("WARN", "%s (%s)", reason, rd_kafka_err2name(err));
    snprintf(client_errors.last, sizeof client_errors.last, "%s", reason);
}

static void on_client_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    static int debug = -1;
    if (debug < 0)
        debug = getenv("EDDY_TOOLS_DEBUG") != NULL;
    if (debug)
        fprintf(stderr, "%%%d|%s| %s\n", level, fac, buf);
}

rd_kafka_conf_t *tool_conf_new(const char *bootstrap, const char *client_id)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    if ((bootstrap && rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr)) ||
        (client_id && rd_kafka_conf_set(conf, "client.id", client_id, errstr, sizeof errstr))) {
        fprintf(stderr, "Error: %s\n", errstr);
        exit(1);
    }
    rd_kafka_conf_set_error_cb(conf, on_client_error);
    rd_kafka_conf_set_log_cb(conf, on_client_log);
    return conf;
}

rd_kafka_t *tool_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "Error: cannot create client: %s\n", errstr);
        exit(1);
    }
    return rk;
}

int tool_client_connect(rd_kafka_t *rk, const char *bootstrap, int timeout_ms,
                        const struct rd_kafka_metadata **md_out)
{
    int64_t deadline = tool_mono_ms() + timeout_ms;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    for (;;) {
        int64_t left = deadline - tool_mono_ms();
        if (left <= 0)
            break;
        const struct rd_kafka_metadata *md = NULL;
        err = rd_kafka_metadata(rk, 1, NULL, &md, (int)(left < 1000 ? left : 1000));
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md_out)
                *md_out = md;
            else
                rd_kafka_metadata_destroy(md);
            client_errors.all_brokers_down = false;
            return 0;
        }
        rd_kafka_poll(rk, 0); /* serve error callbacks */
        if (client_errors.all_brokers_down)
            break;
    }
    const char *why = client_errors.last[0] ? client_errors.last : rd_kafka_err2str(err);
    fprintf(stderr, "Error: cannot reach a Kafka broker at %s within %d ms: %s\n",
            bootstrap ? bootstrap : "(no bootstrap servers)", timeout_ms, why);
    return -1;
}

rd_kafka_t *tool_admin_connect(const char *bootstrap, const char *config_file, const char *client_id,
                               int timeout_ms, const struct rd_kafka_metadata **md_out)
{
    rd_kafka_conf_t *conf = tool_conf_new(bootstrap, client_id);
    if (config_file && tool_conf_load_file(conf, config_file) != 0) {
        rd_kafka_conf_destroy(conf);
        exit(1);
    }
    rd_kafka_t *rk = tool_client_new(RD_KAFKA_PRODUCER, conf);
    if (tool_client_connect(rk, bootstrap, timeout_ms, md_out) != 0) {
        tool_client_destroy(rk, 1);
        exit(1);
    }
    return rk;
}

static volatile sig_atomic_t destroy_exit_code;

static void on_destroy_timeout(int sig)
{
    (void)sig;
    _exit(destroy_exit_code);
}

void tool_client_destroy(rd_kafka_t *rk, int exit_code)
{
    destroy_exit_code = exit_code;
    fflush(stdout); /* the timeout below ends the process with _exit */
    signal(SIGALRM, on_destroy_timeout);
    alarm(10);
    rd_kafka_destroy(rk);
    alarm(0);
}

void tool_client_set_verbose_errors(bool on)
{
    client_errors.verbose = on;
}

const char *tool_client_last_error(void)
{
    return client_errors.last;
}

bool tool_client_all_brokers_down(void)
{
    return client_errors.all_brokers_down;
}

rd_kafka_AdminOptions_t *tool_admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms)
{
    rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(rk, op);
    char errstr[256];
    rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr, sizeof errstr);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS || op == RD_KAFKA_ADMIN_OP_DELETERECORDS)
        rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof errstr);
    return options;
}

rd_kafka_event_t *tool_admin_wait_result(rd_kafka_t *rk, rd_kafka_queue_t *q, int timeout_ms, const char *what)
{
    int64_t deadline = tool_mono_ms() + timeout_ms + 1000;
    while (tool_mono_ms() < deadline) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 200);
        rd_kafka_poll(rk, 0);
        if (ev)
            return ev;
    }
    fprintf(stderr, "Error while executing %s: timed out after %d ms%s%s\n", what, timeout_ms,
            client_errors.last[0] ? ": " : "", client_errors.last);
    return NULL;
}

rd_kafka_event_t *tool_admin_wait(rd_kafka_t *rk, rd_kafka_queue_t *q, int timeout_ms,
                                  const char *what)
{
    rd_kafka_event_t *ev = tool_admin_wait_result(rk, q, timeout_ms, what);
    if (ev && rd_kafka_event_error(ev)) {
        fprintf(stderr, "Error while executing %s: %s\n", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}
