/*
 * kafka-topics.c - `kafka-topics.sh`: create, list, describe, alter and
 * delete topics, with the flags, output layout and exit codes of Kafka's
 * TopicCommand. --topic is a regular expression (whole-name match) for
 * every action except --create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_topic_ids.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: server to connect to",
     "REQUIRED: The Kafka server to connect to.", 0, 0, NULL},
    {"command-config", TOOL_ARG_REQUIRED, "String: command config property file",
     "Property file containing configs to be passed to Admin Client.", 0, 0, NULL},
    {"create", TOOL_ARG_NONE, NULL, "Create a new topic.", 0, 0, NULL},
    {"list", TOOL_ARG_NONE, NULL, "List all available topics.", 0, 0, NULL},
    {"describe", TOOL_ARG_NONE, NULL, "List details for the given topics.", 0, 0, NULL},
    {"alter", TOOL_ARG_NONE, NULL, "Alter the number of partitions of a topic.", 0, 0, NULL},
    {"delete", TOOL_ARG_NONE, NULL, "Delete a topic", 0, 0, NULL},
    {"topic", TOOL_ARG_REQUIRED, "String: topic",
     "The topic to create, alter, describe or delete. It also accepts a regular expression, "
     "except for --create option.", 0, 0, NULL},
    {"partitions", TOOL_ARG_REQUIRED, "Integer: # of partitions",
     "The number of partitions for the topic being created or altered.", 0, 0, NULL},
    {"replication-factor", TOOL_ARG_REQUIRED, "Integer: replication factor",
     "The replication factor for each partition in the topic being created.", 0, 0, NULL},
    {"replica-assignment", TOOL_ARG_REQUIRED,
     "String: broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , broker_id_for_part2_replica1 : ...",
     "A list of manual partition-to-broker assignments for the topic being created.", 0, 0, NULL},
    {"config", TOOL_ARG_REQUIRED, "String: name=value",
     "A topic configuration override for the topic being created.", 0, 0, NULL},
    {"if-exists", TOOL_ARG_NONE, NULL,
     "if set when altering or deleting or describing topics, the action will only execute if the "
     "topic exists.", 0, 0, NULL},
    {"if-not-exists", TOOL_ARG_NONE, NULL,
     "if set when creating topics, the action will only execute if the topic does not already exist.",
     0, 0, NULL},
    {"exclude-internal", TOOL_ARG_NONE, NULL,
     "exclude internal topics when running list or describe command.", 0, 0, NULL},
    {"under-replicated-partitions", TOOL_ARG_NONE, NULL,
     "if set when describing topics, only show under replicated partitions", 0, 0, NULL},
    {"unavailable-partitions", TOOL_ARG_NONE, NULL,
     "if set when describing topics, only show partitions whose leader is not available", 0, 0, NULL},
    {"topics-with-overrides", TOOL_ARG_NONE, NULL,
     "if set when describing topics, only show topics that have overridden configs", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-topics.sh",
    "This tool helps to create, delete, describe, or change a topic.",
    options,
};

static rd_kafka_t *rk;
static rd_kafka_queue_t *queue;
static int timeout_ms;

static int count_actions(void)
{
    static const char *actions[] = {"create", "list", "describe", "alter", "delete"};
    int n = 0;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        n += tool_has(&cli, actions[i]);
    return n;
}

/* Topics in md whose names match --topic (all topics if absent), sorted. */
static void select_topics(const struct rd_kafka_metadata *md, struct tool_strlist *out)
{
    const char *pattern = tool_value(&cli, "topic");
    bool exclude_internal = tool_has(&cli, "exclude-internal");
    for (int i = 0; i < md->topic_cnt; i++) {
        const char *name = md->topics[i].topic;
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            continue;
        if (exclude_internal && tool_topic_is_internal(name))
            continue;
        if (pattern) {
            int m = tool_topic_matches(pattern, name);
            if (m < 0) {
                fprintf(stderr, "Error while executing topic command : Invalid regular expression '%s'\n",
                        pattern);
                exit(1);
            }
            if (!m && strcmp(pattern, name) != 0)
                continue;
        }
        tool_strlist_add(out, name);
    }
    tool_strlist_sort(out);
}

static const rd_kafka_metadata_topic_t *find_topic(const struct rd_kafka_metadata *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0)
            return &md->topics[i];
    return NULL;
}

/* Kafka's check: a pattern naming no topic is an error unless --if-exists. */
static int require_some_topic(const struct tool_strlist *topics)
{
    if (topics->count > 0 || tool_has(&cli, "if-exists") || !tool_has(&cli, "topic"))
        return 0;
    fprintf(stderr, "Error while executing topic command : Topic '%s' does not exist as expected\n",
            tool_value(&cli, "topic"));
    return -1;
}

/* Broker default for a config (num.partitions, default.replication.factor). */
static int broker_default(const struct rd_kafka_metadata *md, const char *name, int fallback)
{
    if (md->broker_cnt == 0)
        return fallback;
    char id[16];
    snprintf(id, sizeof id, "%d", md->brokers[0].id);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "topic command");
    if (!ev)
        return fallback;
    int value = fallback;
    size_t nres, nent;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
    if (nres == 1 && !rd_kafka_ConfigResource_error(rs[0])) {
        const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[0], &nent);
        for (size_t i = 0; i < nent; i++)
            if (strcmp(rd_kafka_ConfigEntry_name(es[i]), name) == 0 && rd_kafka_ConfigEntry_value(es[i]))
                value = atoi(rd_kafka_ConfigEntry_value(es[i]));
    }
    rd_kafka_event_destroy(ev);
    return value > 0 ? value : fallback;
}

/* --replica-assignment "1:2,2:3": one item per partition, broker ids separated by ':'. */
static int set_replica_assignment(rd_kafka_NewTopic_t *nt, const struct tool_strlist *parts)
{
    for (size_t p = 0; p < parts->count; p++) {
        struct tool_strlist ids = {0};
        tool_split(parts->items[p], ':', &ids);
        int32_t brokers[64];
        size_t n = 0;
        for (size_t i = 0; i < ids.count && n < 64; i++) {
            int64_t id;
            if (!tool_parse_int64(ids.items[i], &id) || id < 0) {
                tool_strlist_free(&ids);
                tool_args_die(&cli, "Invalid replica assignment '%s'", parts->items[p]);
            }
            brokers[n++] = (int32_t)id;
        }
        tool_strlist_free(&ids);
        char errstr[512];
        if (rd_kafka_NewTopic_set_replica_assignment(nt, (int32_t)p, brokers, n, errstr, sizeof errstr)) {
            fprintf(stderr, "Error while executing topic command : %s\n", errstr);
            return -1;
        }
    }
    return 0;
}

static int create_topic(const struct rd_kafka_metadata *md)
{
    const char *topic = tool_require(&cli, "topic");
    int partitions = (int)tool_int(&cli, "partitions", 0);
    int replication = (int)tool_int(&cli, "replication-factor", 0);
    if (tool_has(&cli, "partitions") && partitions < 1)
        tool_args_die(&cli, "The partitions must be greater than 0");
    if (tool_has(&cli, "replication-factor") && (replication < 1 || replication > 32767))
        tool_args_die(&cli, "The replication factor must be between 1 and 32767");
    if (strchr(topic, '.') || strchr(topic, '_'))
        printf("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore "
               "('_') could collide. To avoid issues it is best to use either, but not both.\n");
    if (find_topic(md, topic) && tool_has(&cli, "if-not-exists"))
        return 0;
    if (!partitions && !tool_has(&cli, "replica-assignment"))
        partitions = broker_default(md, "num.partitions", 1);
    if (!replication && !tool_has(&cli, "replica-assignment"))
        replication = broker_default(md, "default.replication.factor", 1);

    char errstr[512];
    const char *assignment = tool_value(&cli, "replica-assignment");
    struct tool_strlist parts = {0};
    if (assignment) {
        if (tool_has(&cli, "partitions") || tool_has(&cli, "replication-factor"))
            tool_args_die(&cli, "Option \"[replica-assignment]\" can't be used with option \"[partitions]\" or "
                                "\"[replication-factor]\"");
        tool_split(assignment, ',', &parts);
        partitions = (int)parts.count;
        replication = -1; /* librdkafka: replicas come from the assignment */
    }
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, replication, errstr, sizeof errstr);
    if (!nt) {
        fprintf(stderr, "Error while executing topic command : %s\n", errstr);
        tool_strlist_free(&parts);
        return 1;
    }
    if (set_replica_assignment(nt, &parts) != 0) {
        rd_kafka_NewTopic_destroy(nt);
        tool_strlist_free(&parts);
        return 1;
    }
    tool_strlist_free(&parts);
    struct tool_option *cfg = tool_opt(&cli, "config");
    for (int i = 0; i < cfg->nvalues; i++) {
        char key[256];
        const char *value;
        if (!tool_split_kv(cfg->values[i], key, sizeof key, &value)) {
            rd_kafka_NewTopic_destroy(nt);
            tool_args_die(&cli, "Invalid topic config: all configs to be added must be in the format "
                                "\"key=val\".");
        }
        rd_kafka_NewTopic_set_config(nt, key, value);
    }
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms);
    rd_kafka_CreateTopics(rk, &nt, 1, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "topic command");
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && tool_has(&cli, "if-not-exists"))
            continue;
        if (err) {
            const char *msg = rd_kafka_topic_result_error_string(res[i]);
            if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                fprintf(stderr, "Error while executing topic command : Topic '%s' already exists.\n", topic);
            else
                fprintf(stderr, "Error while executing topic command : %s\n",
                        msg && *msg ? msg : rd_kafka_err2str(err));
            rc = 1;
            continue;
        }
        printf("Created topic %s.\n", topic);
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

static int list_topics(const struct rd_kafka_metadata *md)
{
    struct tool_strlist topics = {0};
    select_topics(md, &topics);
    for (size_t i = 0; i < topics.count; i++)
        printf("%s\n", topics.items[i]);
    tool_strlist_free(&topics);
    return 0;
}

/* Non-default configs of each topic, as "k=v,k2=v2" strings in topic order. */
static void describe_topic_configs(const struct tool_strlist *topics, struct tool_strlist *out)
{
    rd_kafka_ConfigResource_t **res = calloc(topics->count, sizeof(*res));
    for (size_t i = 0; i < topics->count; i++)
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topics->items[i]);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
    rd_kafka_DescribeConfigs(rk, res, topics->count, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy_array(res, topics->count);
    free(res);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "topic command");
    size_t nres = 0;
    const rd_kafka_ConfigResource_t **rs = NULL;
    if (ev)
        rs = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
    for (size_t t = 0; t < topics->count; t++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        for (size_t r = 0; r < nres; r++) {
            if (strcmp(rd_kafka_ConfigResource_name(rs[r]), topics->items[t]) != 0)
                continue;
            size_t nent;
            const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[r], &nent);
            bool first = true;
            for (size_t e = 0; e < nent; e++) {
                if (rd_kafka_ConfigEntry_is_default(es[e]))
                    continue;
                const char *v = rd_kafka_ConfigEntry_value(es[e]);
                fprintf(f, "%s%s=%s", first ? "" : ",", rd_kafka_ConfigEntry_name(es[e]), v ? v : "null");
                first = false;
            }
        }
        fclose(f);
        tool_strlist_add(out, text);
        free(text);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
}

static bool partition_selected(const rd_kafka_metadata_partition_t *p)
{
    if (tool_has(&cli, "under-replicated-partitions") && p->isr_cnt >= p->replica_cnt)
        return false;
    if (tool_has(&cli, "unavailable-partitions") && p->leader >= 0)
        return false;
    return true;
}

static void print_id_list(const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", ids[i]);
}

static int compare_partitions(const void *a, const void *b)
{
    const rd_kafka_metadata_partition_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Topic ids by name (empty when they could not be read: no TopicId is printed). */
static struct tool_strlist id_names, id_values;

static void describe_one(const rd_kafka_metadata_topic_t *t, const char *configs)
{
    bool partition_filter = tool_has(&cli, "under-replicated-partitions") ||
                            tool_has(&cli, "unavailable-partitions");
    rd_kafka_metadata_partition_t *parts = calloc((size_t)t->partition_cnt + 1, sizeof(*parts));
    memcpy(parts, t->partitions, sizeof(*parts) * (size_t)t->partition_cnt);
    qsort(parts, (size_t)t->partition_cnt, sizeof(*parts), compare_partitions);
    if (!partition_filter) {
        /* As Kafka's TopicDescription: no TopicId field for an unknown (zero) id. */
        const char *id = tool_topic_id_of(&id_names, &id_values, t->topic);
        printf("Topic: %s", t->topic);
        if (strcmp(id, TOOL_ZERO_TOPIC_ID) != 0)
            printf("\tTopicId: %s", id);
        printf("\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", t->partition_cnt,
               t->partition_cnt ? parts[0].replica_cnt : 0, configs);
    }
    for (int i = 0; i < t->partition_cnt; i++) {
        const rd_kafka_metadata_partition_t *p = &parts[i];
        if (!partition_selected(p))
            continue;
        printf("\tTopic: %s\tPartition: %d\tLeader: ", t->topic, p->id);
        if (p->leader >= 0)
            printf("%d", p->leader);
        else
            printf("none");
        printf("\tReplicas: ");
        print_id_list(p->replicas, p->replica_cnt);
        printf("\tIsr: ");
        print_id_list(p->isrs, p->isr_cnt);
        printf("\n");
    }
    free(parts);
}

static int describe_topics(const struct rd_kafka_metadata *md)
{
    struct tool_strlist topics = {0};
    select_topics(md, &topics);
    if (require_some_topic(&topics) != 0) {
        tool_strlist_free(&topics);
        return 1;
    }
    struct tool_strlist configs = {0};
    if (topics.count)
        describe_topic_configs(&topics, &configs);
    /* The raw id lookup speaks plaintext only; with a --command-config (TLS/SASL) ids stay unknown. */
    if (topics.count && !tool_has(&cli, "command-config"))
        tool_fetch_topic_ids(tool_value(&cli, "bootstrap-server"), timeout_ms, &id_names, &id_values);
    for (size_t i = 0; i < topics.count; i++) {
        if (tool_has(&cli, "topics-with-overrides") && configs.items[i][0] == '\0')
            continue;
        describe_one(find_topic(md, topics.items[i]), configs.items[i]);
    }
    tool_strlist_free(&configs);
    tool_strlist_free(&topics);
    tool_strlist_free(&id_names);
    tool_strlist_free(&id_values);
    return 0;
}

static int report_topic_results(const rd_kafka_topic_result_t **res, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
        if (!err)
            continue;
        const char *msg = rd_kafka_topic_result_error_string(res[i]);
        fprintf(stderr, "Error while executing topic command : %s\n", msg && *msg ? msg : rd_kafka_err2str(err));
        rc = 1;
    }
    return rc;
}

static int delete_topics(const struct rd_kafka_metadata *md)
{
    struct tool_strlist topics = {0};
    tool_require(&cli, "topic");
    select_topics(md, &topics);
    int rc = require_some_topic(&topics) ? 1 : 0;
    if (rc || topics.count == 0) {
        tool_strlist_free(&topics);
        return rc;
    }
    rd_kafka_DeleteTopic_t **del = calloc(topics.count, sizeof(*del));
    for (size_t i = 0; i < topics.count; i++)
        del[i] = rd_kafka_DeleteTopic_new(topics.items[i]);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout_ms);
    rd_kafka_DeleteTopics(rk, del, topics.count, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteTopic_destroy_array(del, topics.count);
    free(del);
    tool_strlist_free(&topics);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "topic command");
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    rc = report_topic_results(res, n);
    rd_kafka_event_destroy(ev);
    return rc;
}

static int alter_topics(const struct rd_kafka_metadata *md)
{
    tool_require(&cli, "topic");
    if (tool_has(&cli, "config"))
        tool_args_die(&cli, "Option \"[config]\" can't be used with option \"[alter]\"; "
                            "use kafka-configs.sh to change topic configs");
    int partitions = (int)tool_int(&cli, "partitions", 0);
    if (!tool_has(&cli, "partitions"))
        tool_args_die(&cli, "Missing required argument \"[partitions]\"");
    if (partitions < 1)
        tool_args_die(&cli, "The partitions must be greater than 0");
    struct tool_strlist topics = {0};
    select_topics(md, &topics);
    int rc = require_some_topic(&topics) ? 1 : 0;
    if (rc || topics.count == 0) {
        tool_strlist_free(&topics);
        return rc;
    }
    rd_kafka_NewPartitions_t **np = calloc(topics.count, sizeof(*np));
    char errstr[512];
    for (size_t i = 0; i < topics.count; i++)
        np[i] = rd_kafka_NewPartitions_new(topics.items[i], (size_t)partitions, errstr, sizeof errstr);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout_ms);
    rd_kafka_CreatePartitions(rk, np, topics.count, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewPartitions_destroy_array(np, topics.count);
    free(np);
    tool_strlist_free(&topics);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "topic command");
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
    rc = report_topic_results(res, n);
    rd_kafka_event_destroy(ev);
    return rc;
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    if (count_actions() != 1)
        tool_args_die(&cli, "Command must include exactly one action: --list, --describe, --create, "
                            "--alter or --delete");
    const char *bootstrap = tool_require(&cli, "bootstrap-server");
    if (tool_has(&cli, "if-not-exists") && !tool_has(&cli, "create"))
        tool_args_die(&cli, "Option \"[if-not-exists]\" can't be used without option \"[create]\"");
    if (tool_has(&cli, "replication-factor") && !tool_has(&cli, "create"))
        tool_args_die(&cli, "Option \"[replication-factor]\" can't be used without option \"[create]\"");
    if (tool_has(&cli, "create") || tool_has(&cli, "alter") || tool_has(&cli, "delete"))
        tool_require(&cli, "topic");

    timeout_ms = tool_default_timeout_ms();
    const struct rd_kafka_metadata *md = NULL;
    rk = tool_admin_connect(bootstrap, tool_value(&cli, "command-config"), "adminclient-1", timeout_ms, &md);
    queue = rd_kafka_queue_new(rk);

    int rc;
    if (tool_has(&cli, "create"))
        rc = create_topic(md);
    else if (tool_has(&cli, "list"))
        rc = list_topics(md);
    else if (tool_has(&cli, "describe"))
        rc = describe_topics(md);
    else if (tool_has(&cli, "delete"))
        rc = delete_topics(md);
    else
        rc = alter_topics(md);

    rd_kafka_metadata_destroy(md);
    rd_kafka_queue_destroy(queue);
    tool_client_destroy(rk, rc);
    tool_args_free(&cli);
    return rc;
}
