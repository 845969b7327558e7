/*
 * kafka-configs.c - `kafka-configs.sh`: describe and alter dynamic configs of
 * topics and brokers, with the flags and output of Kafka's ConfigCommand.
 *
 * librdkafka 2.0 has no IncrementalAlterConfigs, so --alter reads the
 * entity's current dynamic configs, applies --add-config / --delete-config
 * to them and sends the whole set with AlterConfigs (which replaces it), as
 * Kafka's tool did before incremental alters existed. Broker loggers
 * (--entity-type broker-loggers, KIP-412) can only be set incrementally:
 * that one request is sent raw (common/tool_wire.h) to the named broker,
 * plaintext listeners only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_util.h"
#include "common/tool_wire.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: server to connect to", "The Kafka server to connect to.", 0,
     0, NULL},
    {"command-config", TOOL_ARG_REQUIRED, "String: command config property file",
     "Property file containing configs to be passed to Admin Client.", 0, 0, NULL},
    {"describe", TOOL_ARG_NONE, NULL, "List configs for the given entity.", 0, 0, NULL},
    {"alter", TOOL_ARG_NONE, NULL, "Alter the configuration for the entity.", 0, 0, NULL},
    {"entity-type", TOOL_ARG_REQUIRED, "String", "Type of entity (topics/brokers/broker-loggers)", 0, 0, NULL},
    {"entity-name", TOOL_ARG_REQUIRED, "String", "Name of entity (topic name/broker id)", 0, 0, NULL},
    {"entity-default", TOOL_ARG_NONE, NULL, "Default entity name for brokers (applies to corresponding entity "
                                            "type in command line)", 0, 0, NULL},
    {"topic", TOOL_ARG_REQUIRED, "String: topic", "The topic's name.", 0, 0, NULL},
    {"broker", TOOL_ARG_REQUIRED, "String: broker id", "The broker's ID.", 0, 0, NULL},
    {"broker-defaults", TOOL_ARG_NONE, NULL, "The config defaults for all brokers.", 0, 0, NULL},
    {"add-config", TOOL_ARG_REQUIRED, "String",
     "Key Value pairs of configs to add. Square brackets can be used to group values which contain commas: "
     "'k1=v1,k2=[v1,v2,v2],k3=v3'.", 0, 0, NULL},
    {"add-config-file", TOOL_ARG_REQUIRED, "String", "Path to a properties file with configs to add.", 0, 0,
     NULL},
    {"delete-config", TOOL_ARG_REQUIRED, "String", "config keys to remove 'k1,k2'", 0, 0, NULL},
    {"all", TOOL_ARG_NONE, NULL, "List all configs for the given entity, including static configs if "
                                 "available.", 0, 0, NULL},
    {"force", TOOL_ARG_NONE, NULL, "Suppress console prompts", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-configs.sh",
    "This tool helps to manipulate and describe entity config for a topic or broker.",
    options,
};

static rd_kafka_t *rk;
static rd_kafka_queue_t *queue;
static int timeout_ms;

/* The entity named on the command line. name "" = cluster-wide broker default; NULL = all. */
struct entity {
    rd_kafka_ResourceType_t type;
    const char *name;
};

/* Kafka's BROKER_LOGGER resource type and config source, which librdkafka 2.0 does not name. */
#define RESOURCE_BROKER_LOGGER ((rd_kafka_ResourceType_t)8)
#define SOURCE_DYNAMIC_BROKER_LOGGER ((rd_kafka_ConfigSource_t)6)

static const char *entity_word(const struct entity *e)
{
    if (e->type == RESOURCE_BROKER_LOGGER)
        return "broker-logger";
    return e->type == RD_KAFKA_RESOURCE_TOPIC ? "topic" : "broker";
}

/* Which config source counts as "dynamic" for an entity. */
static rd_kafka_ConfigSource_t dynamic_source(const struct entity *e)
{
    if (e->type == RD_KAFKA_RESOURCE_TOPIC)
        return RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
    if (e->type == RESOURCE_BROKER_LOGGER)
        return SOURCE_DYNAMIC_BROKER_LOGGER;
    return e->name[0] ? RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG
                      : RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG;
}

static rd_kafka_event_t *describe_configs(const struct entity *e)
{
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(e->type, e->name);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    return tool_admin_wait(rk, queue, timeout_ms, "config command");
}

static const rd_kafka_ConfigResource_t *single_resource(rd_kafka_event_t *ev)
{
    size_t n;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    if (n != 1)
        return NULL;
    if (rd_kafka_ConfigResource_error(rs[0])) {
        const char *msg = rd_kafka_ConfigResource_error_string(rs[0]);
        fprintf(stderr, "Error while executing config command with args '%s': %s\n",
                rd_kafka_ConfigResource_name(rs[0]),
                msg && *msg ? msg : rd_kafka_err2str(rd_kafka_ConfigResource_error(rs[0])));
        return NULL;
    }
    return rs[0];
}

static void print_entry(const rd_kafka_ConfigEntry_t *entry)
{
    const char *value = rd_kafka_ConfigEntry_value(entry);
    bool sensitive = rd_kafka_ConfigEntry_is_sensitive(entry);
    printf("  %s=%s sensitive=%s synonyms={", rd_kafka_ConfigEntry_name(entry),
           sensitive || !value ? "null" : value, sensitive ? "true" : "false");
    size_t nsyn;
    const rd_kafka_ConfigEntry_t **syn = rd_kafka_ConfigEntry_synonyms(entry, &nsyn);
    for (size_t i = 0; i < nsyn; i++) {
        const char *sv = rd_kafka_ConfigEntry_value(syn[i]);
        printf("%s%s:%s=%s", i ? ", " : "", rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(syn[i])),
               rd_kafka_ConfigEntry_name(syn[i]), sv && !rd_kafka_ConfigEntry_is_sensitive(syn[i]) ? sv : "null");
    }
    printf("}\n");
}

static int describe_entity(const struct entity *e)
{
    rd_kafka_event_t *ev = describe_configs(e);
    if (!ev)
        return 1;
    const rd_kafka_ConfigResource_t *res = single_resource(ev);
    if (!res) {
        rd_kafka_event_destroy(ev);
        return 1;
    }
    bool all = tool_has(&cli, "all");
    if (e->type == RD_KAFKA_RESOURCE_BROKER && e->name[0] == '\0')
        printf("Default configs for brokers in the cluster are:\n");
    else
        printf("%s configs for %s %s are:\n", all ? "All" : "Dynamic", entity_word(e), e->name);
    size_t n;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
    for (size_t i = 0; i < n; i++)
        if (all || rd_kafka_ConfigEntry_source(entries[i]) == dynamic_source(e))
            print_entry(entries[i]);
    rd_kafka_event_destroy(ev);
    return 0;
}

static int describe(const struct entity *e, const struct rd_kafka_metadata *md)
{
    if (e->name)
        return describe_entity(e);
    int rc = 0;
    if (e->type == RD_KAFKA_RESOURCE_TOPIC) {
        struct tool_strlist topics = {0};
        for (int i = 0; i < md->topic_cnt; i++)
            tool_strlist_add(&topics, md->topics[i].topic);
        tool_strlist_sort(&topics);
        for (size_t i = 0; i < topics.count; i++) {
            struct entity one = {e->type, topics.items[i]};
            rc |= describe_entity(&one);
        }
        tool_strlist_free(&topics);
        return rc;
    }
    for (int i = 0; i < md->broker_cnt; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", md->brokers[i].id);
        struct entity one = {e->type, id};
        rc |= describe_entity(&one);
    }
    if (e->type == RESOURCE_BROKER_LOGGER)
        return rc;
    struct entity defaults = {e->type, ""};
    return rc | describe_entity(&defaults);
}

/* Current dynamic configs as "k=v" strings. */
static int current_dynamic(const struct entity *e, struct tool_strlist *keys, struct tool_strlist *values)
{
    rd_kafka_event_t *ev = describe_configs(e);
    if (!ev)
        return -1;
    const rd_kafka_ConfigResource_t *res = single_resource(ev);
    if (!res) {
        rd_kafka_event_destroy(ev);
        return -1;
    }
    size_t n;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_ConfigEntry_source(entries[i]) != dynamic_source(e))
            continue;
        const char *v = rd_kafka_ConfigEntry_value(entries[i]);
        tool_strlist_add(keys, rd_kafka_ConfigEntry_name(entries[i]));
        tool_strlist_add(values, v ? v : "");
    }
    rd_kafka_event_destroy(ev);
    return 0;
}

static void set_value(struct tool_strlist *keys, struct tool_strlist *values, const char *key, const char *value)
{
    for (size_t i = 0; i < keys->count; i++) {
        if (strcmp(keys->items[i], key) != 0)
            continue;
        free(values->items[i]);
        values->items[i] = strdup(value);
        return;
    }
    tool_strlist_add(keys, key);
    tool_strlist_add(values, value);
}

/* "k=v,k2=[a,b]" into set_value calls; brackets only group, they are not part of the value. */
static void apply_additions(const char *spec, struct tool_strlist *keys, struct tool_strlist *values)
{
    struct tool_strlist pairs = {0};
    tool_split(spec, ',', &pairs);
    for (size_t i = 0; i < pairs.count; i++) {
        char key[256];
        const char *v;
        if (!tool_split_kv(pairs.items[i], key, sizeof key, &v))
            tool_args_die(&cli, "requirement failed: Invalid entity config: all configs to be added must be in "
                                "the format \"key=val\".");
        size_t len = strlen(v);
        if (len >= 2 && v[0] == '[' && v[len - 1] == ']') {
            char *inner = strndup(v + 1, len - 2);
            set_value(keys, values, key, inner);
            free(inner);
        } else {
            set_value(keys, values, key, v);
        }
    }
    tool_strlist_free(&pairs);
}

static int apply_deletions(const char *spec, struct tool_strlist *keys, struct tool_strlist *values)
{
    struct tool_strlist names = {0};
    tool_split(spec, ',', &names);
    int rc = 0;
    for (size_t n = 0; n < names.count; n++) {
        size_t i;
        for (i = 0; i < keys->count && strcmp(keys->items[i], names.items[n]) != 0; i++)
            ;
        if (i == keys->count) {
            fprintf(stderr, "Error while executing config command with args '%s': Invalid config(s): %s\n",
                    spec, names.items[n]);
            rc = -1;
            continue;
        }
        free(keys->items[i]);
        free(values->items[i]);
        keys->items[i] = keys->items[keys->count - 1];
        values->items[i] = values->items[values->count - 1];
        keys->count--;
        values->count--;
    }
    tool_strlist_free(&names);
    return rc;
}

static int alter(const struct entity *e)
{
    if (!e->name)
        tool_args_die(&cli, "an entity name must be specified with --alter of %s", e->type == RD_KAFKA_RESOURCE_TOPIC
                                                                                       ? "topics"
                                                                                       : "brokers");
    struct tool_strlist keys = {0}, values = {0};
    if (current_dynamic(e, &keys, &values) != 0)
        return 1;
    int rc = 0;
    const char *file = tool_value(&cli, "add-config-file");
    if (file) {
        char *text = tool_read_file(file, NULL);
        if (!text) {
            fprintf(stderr, "Cannot read %s\n", file);
            tool_strlist_free(&keys);
            tool_strlist_free(&values);
            return 1;
        }
        struct tool_strlist lines = {0};
        tool_split(text, '\n', &lines);
        for (size_t i = 0; i < lines.count; i++)
            if (lines.items[i][0] != '#')
                apply_additions(lines.items[i], &keys, &values);
        tool_strlist_free(&lines);
        free(text);
    }
    if (tool_value(&cli, "add-config"))
        apply_additions(tool_value(&cli, "add-config"), &keys, &values);
    if (tool_value(&cli, "delete-config") && apply_deletions(tool_value(&cli, "delete-config"), &keys, &values))
        rc = 1;
    if (rc == 0) {
        rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(e->type, e->name);
        for (size_t i = 0; i < keys.count; i++)
            rd_kafka_ConfigResource_set_config(res, keys.items[i], values.items[i]);
        rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, timeout_ms);
        rd_kafka_AlterConfigs(rk, &res, 1, o, queue);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_ConfigResource_destroy(res);
        rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "config command");
        rc = 1;
        if (ev) {
            size_t n;
            const rd_kafka_ConfigResource_t **rs =
                rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
            rc = 0;
            for (size_t i = 0; i < n; i++) {
                if (!rd_kafka_ConfigResource_error(rs[i]))
                    continue;
                const char *msg = rd_kafka_ConfigResource_error_string(rs[i]);
                fprintf(stderr, "Error while executing config command with args '%s': %s\n", e->name,
                        msg && *msg ? msg : rd_kafka_err2str(rd_kafka_ConfigResource_error(rs[i])));
                rc = 1;
            }
            rd_kafka_event_destroy(ev);
        }
        if (rc == 0 && e->type == RD_KAFKA_RESOURCE_BROKER && e->name[0] == '\0')
            printf("Completed updating default config for brokers in the cluster.\n");
        else if (rc == 0)
            printf("Completed updating config for %s %s.\n", entity_word(e), e->name);
    }
    tool_strlist_free(&keys);
    tool_strlist_free(&values);
    return rc;
}

/* IncrementalAlterConfigs v0 for one BROKER_LOGGER resource, sent raw:
 * --add-config "logger=LEVEL,..." as SET, --delete-config "logger,..." as
 * DELETE. Like Kafka's tool, names not among the broker's loggers are
 * refused before anything is sent. */
#define INCREMENTAL_ALTER_CONFIGS_KEY 44
#define OP_SET 0
#define OP_DELETE 1

/* 0 if every name is one of the broker's loggers; else each stranger is named. */
static int check_logger_names(const struct entity *e, const struct tool_strlist *known,
                              const struct tool_strlist *names)
{
    int rc = 0;
    for (size_t i = 0; i < names->count; i++) {
        size_t k;
        for (k = 0; k < known->count && strcmp(known->items[k], names->items[i]) != 0; k++)
            ;
        if (k == known->count) {
            fprintf(stderr, "Error while executing config command with args '%s': Invalid broker logger(s): %s\n",
                    e->name, names->items[i]);
            rc = 1;
        }
    }
    return rc;
}

static int send_logger_changes(const struct entity *e, const char *bootstrap, const struct tool_strlist *set_names,
                               const struct tool_strlist *set_levels, const struct tool_strlist *deleted)
{
    struct tool_wire_request req;
    tool_wire_begin(&req, INCREMENTAL_ALTER_CONFIGS_KEY, 0, "adminclient-1");
    tool_wire_put_int(&req, 1, 4); /* one resource */
    tool_wire_put_int(&req, (uint64_t)RESOURCE_BROKER_LOGGER, 1);
    tool_wire_put_string(&req, e->name);
    tool_wire_put_int(&req, set_names->count + deleted->count, 4);
    for (size_t i = 0; i < set_names->count; i++) {
        tool_wire_put_string(&req, set_names->items[i]);
        tool_wire_put_int(&req, OP_SET, 1);
        tool_wire_put_string(&req, set_levels->items[i]);
    }
    for (size_t i = 0; i < deleted->count; i++) {
        tool_wire_put_string(&req, deleted->items[i]);
        tool_wire_put_int(&req, OP_DELETE, 1);
        tool_wire_put_string(&req, NULL);
    }
    tool_wire_put_int(&req, 0, 1); /* validate_only */
    uint8_t *resp;
    size_t len;
    int rc = tool_wire_roundtrip(bootstrap, timeout_ms, &req, 1u << 20, &resp, &len);
    tool_wire_free(&req);
    if (rc != 0) {
        fprintf(stderr, "Error while executing config command with args '%s': no answer from %s (broker "
                        "loggers are set over a plaintext listener only)\n", e->name, bootstrap);
        return 1;
    }
    /* correlation id, throttle time, one response: error code, error message */
    int16_t err = len >= 16 ? (int16_t)(resp[12] << 8 | resp[13]) : -1;
    int msg_len = len >= 16 ? (int16_t)(resp[14] << 8 | resp[15]) : 0;
    if (err != 0)
        fprintf(stderr, "Error while executing config command with args '%s': %.*s\n", e->name,
                msg_len > 0 && (size_t)msg_len <= len - 16 ? msg_len : 0, (const char *)resp + 16);
    free(resp);
    return err != 0;
}

/* host:port of broker `id` from the cluster's metadata; the bootstrap list if it is not there. */
static const char *broker_address(const struct rd_kafka_metadata *md, const char *id, const char *bootstrap,
                                  char *buf, size_t cap)
{
    for (int i = 0; md && i < md->broker_cnt; i++) {
        char own[16];
        snprintf(own, sizeof own, "%d", md->brokers[i].id);
        if (strcmp(own, id) != 0)
            continue;
        bool v6 = strchr(md->brokers[i].host, ':') != NULL;
        snprintf(buf, cap, v6 ? "[%s]:%d" : "%s:%d", md->brokers[i].host, md->brokers[i].port);
        return buf;
    }
    return bootstrap;
}

static int alter_broker_loggers(const struct entity *e, const char *bootstrap)
{
    struct tool_strlist known = {0}, levels = {0}, set_names = {0}, set_levels = {0}, deleted = {0};
    if (current_dynamic(e, &known, &levels) != 0)
        return 1;
    if (tool_value(&cli, "add-config"))
        apply_additions(tool_value(&cli, "add-config"), &set_names, &set_levels);
    if (tool_value(&cli, "delete-config"))
        tool_split(tool_value(&cli, "delete-config"), ',', &deleted);
    int rc = check_logger_names(e, &known, &set_names) | check_logger_names(e, &known, &deleted);
    if (rc == 0)
        rc = send_logger_changes(e, bootstrap, &set_names, &set_levels, &deleted);
    if (rc == 0)
        printf("Completed updating config for broker-logger %s.\n", e->name);
    tool_strlist_free(&known);
    tool_strlist_free(&levels);
    tool_strlist_free(&set_names);
    tool_strlist_free(&set_levels);
    tool_strlist_free(&deleted);
    return rc;
}

static struct entity parse_entity(void)
{
    struct entity e = {RD_KAFKA_RESOURCE_UNKNOWN, NULL};
    const char *type = tool_value(&cli, "entity-type");
    if (tool_has(&cli, "topic")) {
        type = "topics";
        e.name = tool_value(&cli, "topic");
    } else if (tool_has(&cli, "broker")) {
        type = "brokers";
        e.name = tool_value(&cli, "broker");
    } else if (tool_has(&cli, "broker-defaults")) {
        type = "brokers";
        e.name = "";
    }
    if (!type)
        tool_args_die(&cli, "At least one entity type must be specified");
    if (strcmp(type, "topics") == 0)
        e.type = RD_KAFKA_RESOURCE_TOPIC;
    else if (strcmp(type, "brokers") == 0)
        e.type = RD_KAFKA_RESOURCE_BROKER;
    else if (strcmp(type, "broker-loggers") == 0)
        e.type = RESOURCE_BROKER_LOGGER;
    else
        tool_args_die(&cli, "Invalid entity type %s, the entity type must be one of topics, brokers, broker-loggers",
                      type);
    if (tool_value(&cli, "entity-name"))
        e.name = tool_value(&cli, "entity-name");
    if (tool_has(&cli, "entity-default")) {
        if (e.type != RD_KAFKA_RESOURCE_BROKER)
            tool_args_die(&cli, "--entity-default is only supported for brokers here");
        e.name = "";
    }
    if (e.type == RESOURCE_BROKER_LOGGER && tool_has(&cli, "entity-default"))
        tool_args_die(&cli, "--entity-default is only supported for brokers here");
    if ((e.type == RD_KAFKA_RESOURCE_BROKER || e.type == RESOURCE_BROKER_LOGGER) && e.name && e.name[0]) {
        int64_t id;
        if (!tool_parse_int64(e.name, &id))
            tool_args_die(&cli, "The entity name for brokers must be a valid integer broker id, found: %s", e.name);
    }
    return e;
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    if (tool_has(&cli, "describe") + tool_has(&cli, "alter") != 1)
        tool_args_die(&cli, "Command must include exactly one action: --describe, --alter");
    const char *bootstrap = tool_require(&cli, "bootstrap-server");
    struct entity e = parse_entity();
    if (tool_has(&cli, "alter") && !tool_has(&cli, "add-config") && !tool_has(&cli, "add-config-file") &&
        !tool_has(&cli, "delete-config"))
        tool_args_die(&cli, "At least one of --add-config, --add-config-file, or --delete-config must be "
                            "specified with --alter");
    if (tool_has(&cli, "alter") && e.type == RESOURCE_BROKER_LOGGER && !e.name)
        tool_args_die(&cli, "an entity name must be specified with --alter of broker-loggers");
    if (tool_has(&cli, "describe") && e.type == RD_KAFKA_RESOURCE_TOPIC && !e.name && tool_has(&cli, "entity-name"))
        e.name = tool_value(&cli, "entity-name");
    timeout_ms = tool_default_timeout_ms();
    const struct rd_kafka_metadata *md = NULL;
    rk = tool_admin_connect(bootstrap, tool_value(&cli, "command-config"), "adminclient-1", timeout_ms, &md);
    queue = rd_kafka_queue_new(rk);
    int rc;
    char address[300];
    if (tool_has(&cli, "describe"))
        rc = describe(&e, md);
    else if (e.type == RESOURCE_BROKER_LOGGER)
        rc = alter_broker_loggers(&e, broker_address(md, e.name, bootstrap, address, sizeof address));
    else
        rc = alter(&e);
    rd_kafka_metadata_destroy(md);
    rd_kafka_queue_destroy(queue);
    tool_client_destroy(rk, rc);
    tool_args_free(&cli);
    return rc;
}
