/*
 * kafka-consumer-groups.c - `kafka-consumer-groups.sh`: list, describe,
 * delete consumer groups and reset their committed offsets, with the flags
 * and table layouts of Kafka's ConsumerGroupCommand.
 *
 * Describe joins three sources: DescribeConsumerGroups (members and their
 * assignments), ListConsumerGroupOffsets (committed offsets) and the
 * partitions' watermarks (log-end offsets).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_reset_plan.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: server to connect to", "REQUIRED: The server(s) to connect to.",
     0, 0, NULL},
    {"command-config", TOOL_ARG_REQUIRED, "String: command config property file",
     "Property file containing configs to be passed to Admin Client and Consumer.", 0, 0, NULL},
    {"list", TOOL_ARG_NONE, NULL, "List all consumer groups.", 0, 0, NULL},
    {"describe", TOOL_ARG_NONE, NULL, "Describe consumer group and list offset lag (number of messages not yet "
                                      "processed) related to given group.", 0, 0, NULL},
    {"delete", TOOL_ARG_NONE, NULL, "Pass in groups to delete topic partition offsets and ownership information "
                                    "over the entire consumer group.", 0, 0, NULL},
    {"delete-offsets", TOOL_ARG_NONE, NULL, "Delete offsets of consumer group. Supports one consumer group at the "
                                            "time, and multiple topics.", 0, 0, NULL},
    {"reset-offsets", TOOL_ARG_NONE, NULL,
     "Reset offsets of consumer group. Supports one consumer group at the time, and instances should be "
     "inactive. Has 2 execution options: --dry-run (the default) to plan which offsets to reset, and "
     "--execute to update the offsets.", 0, 0, NULL},
    {"group", TOOL_ARG_REQUIRED, "String: consumer group", "The consumer group we wish to act on.", 0, 0, NULL},
    {"all-groups", TOOL_ARG_NONE, NULL, "Apply to all consumer groups.", 0, 0, NULL},
    {"topic", TOOL_ARG_REQUIRED, "String: topic",
     "The topic whose consumer group information should be deleted or topic whose should be included in the "
     "reset offset process. In `reset-offsets` case, partitions can be specified using this format: "
     "`topic1:0,1,2`.", 0, 0, NULL},
    {"all-topics", TOOL_ARG_NONE, NULL, "Consider all topics assigned to a group in the `reset-offsets` process.",
     0, 0, NULL},
    {"to-earliest", TOOL_ARG_NONE, NULL, "Reset offsets to earliest offset.", 0, 0, NULL},
    {"to-latest", TOOL_ARG_NONE, NULL, "Reset offsets to latest offset.", 0, 0, NULL},
    {"to-current", TOOL_ARG_NONE, NULL, "Reset offsets to current offset.", 0, 0, NULL},
    {"to-offset", TOOL_ARG_REQUIRED, "Long: offset", "Reset offsets to a specific offset.", 0, 0, NULL},
    {"to-datetime", TOOL_ARG_REQUIRED, "String: datetime",
     "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'", 0, 0, NULL},
    {"by-duration", TOOL_ARG_REQUIRED, "String: duration",
     "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'", 0, 0, NULL},
    {"shift-by", TOOL_ARG_REQUIRED, "Long: number-of-offsets",
     "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.", 0, 0, NULL},
    {"from-file", TOOL_ARG_REQUIRED, "String: path to CSV file",
     "Reset offsets to values defined in CSV file.", 0, 0, NULL},
    {"export", TOOL_ARG_NONE, NULL, "Export operation execution to a CSV file. Supported operations: reset-offsets.",
     0, 0, NULL},
    {"dry-run", TOOL_ARG_NONE, NULL, "Only show results without executing changes on Consumer Groups.", 0, 0,
     NULL},
    {"execute", TOOL_ARG_NONE, NULL, "Execute operation.", 0, 0, NULL},
    {"members", TOOL_ARG_NONE, NULL, "Describe members of the group.", 0, 0, NULL},
    {"offsets", TOOL_ARG_NONE, NULL, "Describe the group and list all topic partitions in the group along with "
                                     "their offset lag. This is the default sub-action.", 0, 0, NULL},
    {"state", TOOL_ARG_NONE, NULL, "When specified with '--describe', includes the state of the group. When "
                                   "specified with '--list', it displays the state of all groups.", 0, 0, NULL},
    {"verbose", TOOL_ARG_NONE, NULL, "Provide additional information, if any, when describing the group.", 0, 0,
     NULL},
    {"timeout", TOOL_ARG_REQUIRED, "Long: timeout (ms)",
     "The timeout that can be set for some use cases. (default: 5000)", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-consumer-groups.sh",
    "This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or "
    "reset consumer group offsets.",
    options,
};

static rd_kafka_t *rk;
static rd_kafka_queue_t *queue;
static const struct rd_kafka_metadata *cluster; /* all-topic metadata taken at start */
static int timeout_ms;
static struct tool_reset_plan reset_plan; /* --from-file */

/* One row of the describe table. */
struct partition_row {
    char *topic;
    int32_t partition;
    int64_t committed; /* -1: none */
    int64_t log_end;   /* -1: unknown */
    const char *consumer_id, *host, *client_id;
};

static int compare_rows(const void *a, const void *b)
{
    const struct partition_row *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

/* ---- listing ---- */

/*
 * Consumer groups as "name" or "name\tSTATE" strings, sorted. Uses the
 * classic group listing (ListGroups v0 on every broker), which every broker
 * answers; only groups of the consumer protocol (or an empty one, for groups
 * that only committed offsets) are kept, as Kafka's tool does.
 */
static int collect_groups(bool with_state, struct tool_strlist *out)
{
    const struct rd_kafka_group_list *list = NULL;
    rd_kafka_resp_err_t err = rd_kafka_list_groups(rk, NULL, &list, timeout_ms);
    if (err) {
        fprintf(stderr, "Error: Executing consumer group command failed due to %s\n", rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < list->group_cnt; i++) {
        const struct rd_kafka_group_info *g = &list->groups[i];
        if (g->protocol_type && g->protocol_type[0] && strcmp(g->protocol_type, "consumer") != 0)
            continue;
        char line[512];
        if (with_state)
            snprintf(line, sizeof line, "%s\t%s", g->group, g->state && g->state[0] ? g->state : "Unknown");
        else
            snprintf(line, sizeof line, "%s", g->group);
        if (!tool_strlist_contains(out, line))
            tool_strlist_add(out, line);
    }
    rd_kafka_group_list_destroy(list);
    tool_strlist_sort(out);
    return 0;
}

static int list_groups(void)
{
    bool with_state = tool_has(&cli, "state");
    struct tool_strlist names = {0};
    if (collect_groups(with_state, &names) != 0)
        return 1;
    int width = 15;
    for (size_t i = 0; i < names.count; i++)
        width = max_int(width, (int)strcspn(names.items[i], "\t"));
    if (with_state)
        printf("%-*s %s\n", width, "GROUP", "STATE");
    for (size_t i = 0; i < names.count; i++) {
        char *tab = strchr(names.items[i], '\t');
        if (tab) {
            *tab = '\0';
            printf("%-*s %s\n", width, names.items[i], tab + 1);
        } else {
            printf("%s\n", names.items[i]);
        }
    }
    tool_strlist_free(&names);
    return 0;
}

/* ---- group descriptions and committed offsets ---- */

static rd_kafka_event_t *describe_groups(const char **groups, size_t n)
{
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout_ms);
    rd_kafka_DescribeConsumerGroups(rk, groups, n, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    return tool_admin_wait(rk, queue, timeout_ms, "consumer group command");
}

/*
 * Every partition of every non-internal topic. Offsets are asked for these
 * explicitly rather than with a null "all topics" list, which some brokers
 * mishandle in flexible OffsetFetch versions; partitions without a committed
 * offset come back as -1 and are skipped.
 */
static rd_kafka_topic_partition_list_t *all_partitions(void)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < cluster->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &cluster->topics[t];
        if (mt->err || tool_topic_is_internal(mt->topic))
            continue;
        for (int p = 0; p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(list, mt->topic, mt->partitions[p].id);
    }
    return list;
}

/* Committed offsets of a group (a list to destroy), or NULL after printing an error. */
static rd_kafka_topic_partition_list_t *committed_offsets(const char *group)
{
    rd_kafka_topic_partition_list_t *wanted = all_partitions();
    if (wanted->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(wanted);
        return rd_kafka_topic_partition_list_new(0);
    }
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, wanted);
    rd_kafka_topic_partition_list_destroy(wanted);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout_ms);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "consumer group command");
    if (!ev)
        return NULL;
    size_t n;
    const rd_kafka_group_result_t **res =
        rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    rd_kafka_topic_partition_list_t *out = NULL;
    if (n == 1 && rd_kafka_group_result_error(res[0])) {
        fprintf(stderr, "Error: Executing consumer group command failed due to %s\n",
                rd_kafka_error_string(rd_kafka_group_result_error(res[0])));
    } else if (n == 1) {
        const rd_kafka_topic_partition_list_t *parts = rd_kafka_group_result_partitions(res[0]);
        out = parts ? rd_kafka_topic_partition_list_copy(parts) : rd_kafka_topic_partition_list_new(0);
    }
    rd_kafka_event_destroy(ev);
    return out;
}

static int64_t log_end_offset(const char *topic, int32_t partition)
{
    int64_t low, high;
    if (rd_kafka_query_watermark_offsets(rk, topic, partition, &low, &high, timeout_ms))
        return -1;
    return high;
}

static void print_offsets_table(const char *group, struct partition_row *rows, size_t n)
{
    int wg = max_int(15, (int)strlen(group)), wt = 15, wp = 10, wc = 15, wh = 15;
    for (size_t i = 0; i < n; i++) {
        wt = max_int(wt, (int)strlen(rows[i].topic));
        wc = max_int(wc, (int)strlen(rows[i].consumer_id));
        wh = max_int(wh, (int)strlen(rows[i].host));
    }
    printf("\n%-*s %-*s %-*s %-15s %-15s %-15s %-*s %-*s %s\n", wg, "GROUP", wt, "TOPIC", wp, "PARTITION",
           "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh, "HOST", "CLIENT-ID");
    for (size_t i = 0; i < n; i++) {
        const struct partition_row *r = &rows[i];
        char part[16] = "-", cur[24] = "-", end[24] = "-", lag[24] = "-";
        if (r->partition >= 0)
            snprintf(part, sizeof part, "%d", (int)r->partition);
        if (r->committed >= 0)
            snprintf(cur, sizeof cur, "%lld", (long long)r->committed);
        if (r->log_end >= 0)
            snprintf(end, sizeof end, "%lld", (long long)r->log_end);
        if (r->committed >= 0 && r->log_end >= 0)
            snprintf(lag, sizeof lag, "%lld", (long long)(r->log_end - r->committed));
        printf("%-*s %-*s %-*s %-15s %-15s %-15s %-*s %-*s %s\n", wg, group, wt, r->topic, wp, part, cur, end, lag,
               wc, r->consumer_id, wh, r->host, r->client_id);
    }
}

static void add_row(struct partition_row **rows, size_t *n, const char *topic, int32_t partition,
                    const char *consumer_id, const char *host, const char *client_id)
{
    *rows = realloc(*rows, sizeof(**rows) * (*n + 1));
    struct partition_row *r = &(*rows)[(*n)++];
    r->topic = strdup(topic);
    r->partition = partition;
    r->committed = -1;
    r->log_end = -1;
    r->consumer_id = consumer_id;
    r->host = host;
    r->client_id = client_id;
}

static void describe_offsets(const char *group, const rd_kafka_ConsumerGroupDescription_t *desc,
                             const rd_kafka_topic_partition_list_t *committed)
{
    struct partition_row *rows = NULL;
    size_t n = 0;
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(desc);
    for (size_t m = 0; m < members; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(desc, m);
        const rd_kafka_topic_partition_list_t *assigned =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        const char *id = rd_kafka_MemberDescription_consumer_id(md);
        const char *host = rd_kafka_MemberDescription_host(md);
        const char *client = rd_kafka_MemberDescription_client_id(md);
        if (!assigned || assigned->cnt == 0) {
            add_row(&rows, &n, "-", -1, id, host, client);
            continue;
        }
        for (int i = 0; i < assigned->cnt; i++)
            add_row(&rows, &n, assigned->elems[i].topic, assigned->elems[i].partition, id, host, client);
    }
    for (int i = 0; committed && i < committed->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &committed->elems[i];
        bool found = false;
        for (size_t r = 0; r < n; r++) {
            if (rows[r].partition == tp->partition && strcmp(rows[r].topic, tp->topic) == 0) {
                rows[r].committed = tp->offset;
                found = true;
            }
        }
        if (!found && tp->offset >= 0) {
            add_row(&rows, &n, tp->topic, tp->partition, "-", "-", "-");
            rows[n - 1].committed = tp->offset;
        }
    }
    for (size_t r = 0; r < n; r++)
        if (rows[r].partition >= 0)
            rows[r].log_end = log_end_offset(rows[r].topic, rows[r].partition);
    qsort(rows, n, sizeof(*rows), compare_rows);
    print_offsets_table(group, rows, n);
    for (size_t r = 0; r < n; r++)
        free(rows[r].topic);
    free(rows);
}

static void describe_members(const char *group, const rd_kafka_ConsumerGroupDescription_t *desc)
{
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(desc);
    int wg = max_int(15, (int)strlen(group)), wc = 15, wh = 15, wl = 15;
    for (size_t m = 0; m < members; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(desc, m);
        wc = max_int(wc, (int)strlen(rd_kafka_MemberDescription_consumer_id(md)));
        wh = max_int(wh, (int)strlen(rd_kafka_MemberDescription_host(md)));
        wl = max_int(wl, (int)strlen(rd_kafka_MemberDescription_client_id(md)));
    }
    printf("\n%-*s %-*s %-*s %-*s %-12s\n", wg, "GROUP", wc, "CONSUMER-ID", wh, "HOST", wl, "CLIENT-ID",
           "#PARTITIONS");
    for (size_t m = 0; m < members; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(desc, m);
        const rd_kafka_topic_partition_list_t *assigned =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        printf("%-*s %-*s %-*s %-*s %-12d\n", wg, group, wc, rd_kafka_MemberDescription_consumer_id(md), wh,
               rd_kafka_MemberDescription_host(md), wl, rd_kafka_MemberDescription_client_id(md),
               assigned ? assigned->cnt : 0);
    }
}

static void describe_state(const char *group, const rd_kafka_ConsumerGroupDescription_t *desc)
{
    const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(desc);
    char coordinator[300] = "-";
    if (coord)
        snprintf(coordinator, sizeof coordinator, "%s:%d (%d)", rd_kafka_Node_host(coord),
                 (int)rd_kafka_Node_port(coord), rd_kafka_Node_id(coord));
    int wg = max_int(15, (int)strlen(group)), wc = max_int(25, (int)strlen(coordinator));
    const char *assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(desc);
    printf("\n%-*s %-*s %-20s %-20s %s\n", wg, "GROUP", wc, "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE",
           "#MEMBERS");
    printf("%-*s %-*s %-20s %-20s %d\n", wg, group, wc, coordinator, assignor && *assignor ? assignor : "",
           rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(desc)),
           (int)rd_kafka_ConsumerGroupDescription_member_count(desc));
}

static int describe_group(const rd_kafka_ConsumerGroupDescription_t *desc)
{
    const char *group = rd_kafka_ConsumerGroupDescription_group_id(desc);
    const rd_kafka_error_t *err = rd_kafka_ConsumerGroupDescription_error(desc);
    if (err) {
        fprintf(stderr, "Error: Executing consumer group command failed due to %s\n", rd_kafka_error_string(err));
        return 1;
    }
    rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(desc);
    if (state == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
        /* Kafka's printError: stderr, and the command still exits 0. */
        fprintf(stderr, "Error: Consumer group '%s' does not exist.\n", group);
        return 0;
    }
    if (tool_has(&cli, "state")) {
        describe_state(group, desc);
        return 0;
    }
    /* Notes go to stderr as in Kafka, so stdout holds only the table. */
    if (state == RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE ||
        state == RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE)
        fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", group);
    else if (rd_kafka_ConsumerGroupDescription_member_count(desc) == 0)
        fprintf(stderr, "\nConsumer group '%s' has no active members.\n", group);
    if (tool_has(&cli, "members")) {
        describe_members(group, desc);
        return 0;
    }
    rd_kafka_topic_partition_list_t *committed = committed_offsets(group);
    if (!committed)
        return 1;
    describe_offsets(group, desc, committed);
    rd_kafka_topic_partition_list_destroy(committed);
    return 0;
}

/* --group values, or every group for --all-groups. */
static void target_groups(struct tool_strlist *out)
{
    struct tool_option *g = tool_opt(&cli, "group");
    for (int i = 0; i < g->nvalues; i++)
        tool_strlist_add(out, g->values[i]);
    if (tool_has(&cli, "all-groups") && collect_groups(false, out) != 0)
        exit(1);
}

static int describe(void)
{
    struct tool_strlist groups = {0};
    target_groups(&groups);
    if (groups.count == 0) {
        tool_strlist_free(&groups);
        return 0;
    }
    rd_kafka_event_t *ev = describe_groups((const char **)groups.items, groups.count);
    tool_strlist_free(&groups);
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_ConsumerGroupDescription_t **descs =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        rc |= describe_group(descs[i]);
    rd_kafka_event_destroy(ev);
    return rc;
}

/* ---- deletion ---- */

static int delete_groups(void)
{
    struct tool_strlist groups = {0};
    target_groups(&groups);
    if (groups.count == 0) {
        tool_strlist_free(&groups);
        return 0;
    }
    rd_kafka_DeleteGroup_t **del = calloc(groups.count, sizeof(*del));
    for (size_t i = 0; i < groups.count; i++)
        del[i] = rd_kafka_DeleteGroup_new(groups.items[i]);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS, timeout_ms);
    rd_kafka_DeleteGroups(rk, del, groups.count, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteGroup_destroy_array(del, groups.count);
    free(del);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "consumer group command");
    if (!ev) {
        tool_strlist_free(&groups);
        return 1;
    }
    size_t n;
    const rd_kafka_group_result_t **res =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
    int failures = 0;
    for (size_t i = 0; i < n; i++)
        failures += rd_kafka_group_result_error(res[i]) != NULL;
    if (failures == 0) {
        printf("Deletion of requested consumer groups (");
        for (size_t i = 0; i < n; i++)
            printf("%s'%s'", i ? ", " : "", rd_kafka_group_result_name(res[i]));
        printf(") was successful.\n");
    } else {
        printf("Deletion of some consumer groups failed:\n");
        for (size_t i = 0; i < n; i++) {
            const rd_kafka_error_t *e = rd_kafka_group_result_error(res[i]);
            if (e)
                printf("* Group '%s' could not be deleted due to: %s\n", rd_kafka_group_result_name(res[i]),
                       rd_kafka_error_string(e));
        }
        bool any_ok = (size_t)failures < n;
        if (any_ok) {
            printf("\nThese consumer groups were deleted successfully: ");
            bool first = true;
            for (size_t i = 0; i < n; i++) {
                if (rd_kafka_group_result_error(res[i]))
                    continue;
                printf("%s'%s'", first ? "" : ", ", rd_kafka_group_result_name(res[i]));
                first = false;
            }
            printf("\n");
        }
    }
    rd_kafka_event_destroy(ev);
    tool_strlist_free(&groups);
    return failures ? 1 : 0;
}

/* ---- offset reset ---- */

/* "YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm|-hh:mm]" to ms since the epoch; local time without a zone. */
static bool parse_datetime(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return false;
    int millis = 0;
    if (*rest == '.') {
        char *end;
        millis = (int)strtol(rest + 1, &end, 10);
        if (end - (rest + 1) != 3)
            return false;
        rest = end;
    }
    int64_t secs;
    if (*rest == '\0') {
        tm.tm_isdst = -1;
        secs = (int64_t)mktime(&tm);
    } else if (*rest == 'Z' && rest[1] == '\0') {
        secs = (int64_t)timegm(&tm);
    } else if ((*rest == '+' || *rest == '-') && strlen(rest) >= 5) {
        int hh, mm;
        if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2 && sscanf(rest + 1, "%2d%2d", &hh, &mm) != 2)
            return false;
        int offset = (hh * 60 + mm) * 60 * (*rest == '+' ? 1 : -1);
        secs = (int64_t)timegm(&tm) - offset;
    } else {
        return false;
    }
    *out = secs * 1000 + millis;
    return true;
}

/* The topic's metadata, or NULL if the cluster does not have it. */
static const rd_kafka_metadata_topic_t *metadata_topic(const struct rd_kafka_metadata *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0 && !md->topics[i].err)
            return &md->topics[i];
    return NULL;
}

/*
 * Every --topic (name or name:partitions) must exist before anything is
 * computed or printed: one missing topic fails the whole command, so that
 * nothing is reset for the others either.
 */
static bool reset_topics_exist(const struct rd_kafka_metadata *md)
{
    bool ok = true;
    struct tool_option *topics = tool_opt(&cli, "topic");
    for (int t = 0; t < topics->nvalues; t++) {
        char name[256];
        snprintf(name, sizeof name, "%s", topics->values[t]);
        char *colon = strchr(name, ':');
        if (colon)
            *colon = '\0';
        if (metadata_topic(md, name))
            continue;
        fprintf(stderr, "Error: Executing consumer group command failed due to Topic '%s' does not exist\n", name);
        ok = false;
    }
    return ok;
}

/* The partitions to reset: --topic t / t:0,1 (all partitions from metadata), or --all-topics. */
static rd_kafka_topic_partition_list_t *reset_scope(const struct rd_kafka_metadata *md,
                                                    const rd_kafka_topic_partition_list_t *committed)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    if (tool_has(&cli, "all-topics")) {
        for (int i = 0; committed && i < committed->cnt; i++)
            if (committed->elems[i].offset >= 0)
                rd_kafka_topic_partition_list_add(list, committed->elems[i].topic, committed->elems[i].partition);
        return list;
    }
    struct tool_option *topics = tool_opt(&cli, "topic");
    for (int t = 0; t < topics->nvalues; t++) {
        char name[256];
        snprintf(name, sizeof name, "%s", topics->values[t]);
        char *colon = strchr(name, ':');
        if (colon) {
            *colon = '\0';
            struct tool_strlist parts = {0};
            tool_split(colon + 1, ',', &parts);
            for (size_t p = 0; p < parts.count; p++)
                rd_kafka_topic_partition_list_add(list, name, atoi(parts.items[p]));
            tool_strlist_free(&parts);
            continue;
        }
        const rd_kafka_metadata_topic_t *mt = metadata_topic(md, name);
        for (int p = 0; mt && p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(list, name, mt->partitions[p].id);
    }
    rd_kafka_topic_partition_list_sort(list, NULL, NULL);
    return list;
}

static int64_t committed_offset(const rd_kafka_topic_partition_list_t *committed, const char *topic, int32_t p)
{
    rd_kafka_topic_partition_t *tp =
        committed ? rd_kafka_topic_partition_list_find(committed, topic, p) : NULL;
    return tp ? tp->offset : -1;
}

/* The timestamp --to-datetime or --by-duration resets to. */
static int64_t reset_timestamp(void)
{
    int64_t ts;
    if (tool_has(&cli, "to-datetime")) {
        if (!parse_datetime(tool_value(&cli, "to-datetime"), &ts))
            tool_args_die(&cli, "Error parsing timestamp '%s': expected format YYYY-MM-DDTHH:mm:SS.sss",
                          tool_value(&cli, "to-datetime"));
        return ts;
    }
    int64_t duration;
    if (!tool_parse_duration_ms(tool_value(&cli, "by-duration"), &duration)) {
        fprintf(stderr, "Error: Executing consumer group command failed due to Text cannot be parsed to a "
                        "Duration: '%s'\n", tool_value(&cli, "by-duration"));
        exit(1);
    }
    return tool_wall_ms() - duration;
}

/* Each element's offset: the first at or after the reset timestamp, -1 where there is none. */
static int offsets_for_reset_time(rd_kafka_topic_partition_list_t *list)
{
    int64_t ts = reset_timestamp();
    for (int i = 0; i < list->cnt; i++)
        list->elems[i].offset = ts;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list, timeout_ms);
    if (err) {
        fprintf(stderr, "Error: offsets for times failed: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/*
 * Fill each element's offset with its new value, kept within the
 * partition's offsets with Kafka's warning. A --from-file list comes with
 * the plan's offsets in it. Returns 0 or -1.
 */
static int compute_new_offsets(rd_kafka_topic_partition_list_t *list,
                               const rd_kafka_topic_partition_list_t *committed)
{
    bool by_time = tool_has(&cli, "to-datetime") || tool_has(&cli, "by-duration");
    if (by_time && offsets_for_reset_time(list) < 0)
        return -1;
    for (int i = 0; i < list->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &list->elems[i];
        int64_t low, high;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition, &low, &high, timeout_ms);
        if (err) {
            fprintf(stderr, "Error: cannot read offsets of %s-%d: %s\n", tp->topic, (int)tp->partition,
                    rd_kafka_err2str(err));
            return -1;
        }
        int64_t current = committed_offset(committed, tp->topic, tp->partition);
        int64_t target = tp->offset; /* --from-file */
        if (tool_has(&cli, "to-earliest"))
            target = low;
        else if (tool_has(&cli, "to-latest"))
            target = high;
        else if (tool_has(&cli, "to-offset"))
            target = tool_int(&cli, "to-offset", 0);
        else if (tool_has(&cli, "shift-by"))
            target = (current >= 0 ? current : low) + tool_int(&cli, "shift-by", 0);
        else if (tool_has(&cli, "to-current"))
            target = current >= 0 ? current : high;
        else if (by_time && tp->offset < 0) {
            printf("\nWarn: Partition %d from topic %s is empty. Falling back to latest known offset.\n",
                   (int)tp->partition, tp->topic);
            target = high;
        }
        if (target > high)
            fprintf(stderr, "WARN New offset (%lld) is higher than latest offset for topic partition %s-%d. Value "
                            "will be set to %lld\n", (long long)target, tp->topic, (int)tp->partition, (long long)high);
        else if (target < low)
            fprintf(stderr, "WARN New offset (%lld) is lower than earliest offset for topic partition %s-%d. Value "
                            "will be set to %lld\n", (long long)target, tp->topic, (int)tp->partition, (long long)low);
        tp->offset = target > high ? high : target < low ? low : target;
    }
    return 0;
}

/* The plan's partitions for `group`, offsets filled in; empty if the plan has none. */
static rd_kafka_topic_partition_list_t *planned_partitions(const char *group)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < reset_plan.count; i++) {
        const struct tool_reset_entry *e = &reset_plan.entries[i];
        if (strcmp(e->group, group) == 0)
            rd_kafka_topic_partition_list_add(list, e->topic, e->partition)->offset = e->offset;
    }
    rd_kafka_topic_partition_list_sort(list, NULL, NULL);
    return list;
}

static int alter_offsets(const char *group, const rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, list);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout_ms);
    rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "consumer group command");
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_group_result_t **res =
        rd_kafka_AlterConsumerGroupOffsets_result_groups(rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_group_result_error(res[i])) {
            fprintf(stderr, "Error: Executing consumer group command failed due to %s\n",
                    rd_kafka_error_string(rd_kafka_group_result_error(res[i])));
            rc = 1;
        }
        const rd_kafka_topic_partition_list_t *parts = rd_kafka_group_result_partitions(res[i]);
        for (int p = 0; parts && p < parts->cnt; p++) {
            if (!parts->elems[p].err)
                continue;
            fprintf(stderr, "Error: cannot reset %s-%d: %s\n", parts->elems[p].topic, (int)parts->elems[p].partition,
                    rd_kafka_err2str(parts->elems[p].err));
            rc = 1;
        }
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

/* The plan: Kafka's table, or with --export its CSV (the group column only
 * when not exactly one --group was named). */
static void print_new_offsets(const char *group, const rd_kafka_topic_partition_list_t *list)
{
    bool export = tool_has(&cli, "export");
    bool one_group = tool_opt(&cli, "group")->nvalues == 1;
    if (!export)
        printf("\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        if (export)
            tool_reset_plan_write(stdout, one_group ? NULL : group, tp->topic, tp->partition, tp->offset);
        else
            printf("%-30s %-30s %-10d %-15lld\n", group, tp->topic, (int)tp->partition, (long long)tp->offset);
    }
}

/* Read --from-file into reset_plan; exits with the problem if it cannot. */
static void load_reset_plan(void)
{
    const char *path = tool_value(&cli, "from-file");
    char *text = tool_read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "Error: Executing consumer group command failed due to %s: %s\n", path, strerror(errno));
        exit(1);
    }
    struct tool_option *groups = tool_opt(&cli, "group");
    char error[512];
    int rc = tool_reset_plan_parse(text, path, groups->nvalues == 1 ? groups->values[0] : NULL, &reset_plan,
                                   error, sizeof error);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "Error: Executing consumer group command failed due to %s\n", error);
        exit(1);
    }
}

static int reset_group(const rd_kafka_ConsumerGroupDescription_t *desc, const struct rd_kafka_metadata *md)
{
    const char *group = rd_kafka_ConsumerGroupDescription_group_id(desc);
    rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(desc);
    if (state != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY && state != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
        fprintf(stderr, "Error: Assignments can only be reset if the group '%s' is inactive, but the current "
                        "state is %s.\n", group, rd_kafka_consumer_group_state_name(state));
        return 1;
    }
    rd_kafka_topic_partition_list_t *committed = committed_offsets(group);
    rd_kafka_topic_partition_list_t *list =
        tool_has(&cli, "from-file") ? planned_partitions(group) : reset_scope(md, committed);
    bool unplanned = tool_has(&cli, "from-file") && list->cnt == 0;
    if (unplanned)
        printf("\nError: No reset plan for group %s found\n", group);
    int rc = compute_new_offsets(list, committed) ? 1 : 0;
    if (rc == 0 && !unplanned) {
        print_new_offsets(group, list);
        if (tool_has(&cli, "execute") && list->cnt > 0)
            rc = alter_offsets(group, list);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (committed)
        rd_kafka_topic_partition_list_destroy(committed);
    return rc;
}

static int reset_offsets(const struct rd_kafka_metadata *md)
{
    static const char *specs[] = {"to-earliest", "to-latest", "to-current", "to-offset", "to-datetime",
                                  "by-duration", "shift-by", "from-file"};
    int nspecs = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        nspecs += tool_has(&cli, specs[i]);
    if (nspecs != 1)
        tool_args_die(&cli, "Option \"[reset-offsets]\" takes one of these options: --to-datetime, --by-period, "
                            "--to-earliest, --to-latest, --shift-by, --from-file, --to-current, --to-offset");
    if (tool_has(&cli, "topic") && tool_has(&cli, "all-topics"))
        tool_args_die(&cli, "Option \"[reset-offsets]\" takes one of these options: --all-topics, --topic");
    if (!tool_has(&cli, "topic") && !tool_has(&cli, "all-topics") && !tool_has(&cli, "from-file"))
        tool_args_die(&cli, "One of the reset scopes should be defined: --all-topics, --topic.");
    if (tool_has(&cli, "dry-run") && tool_has(&cli, "execute"))
        tool_args_die(&cli, "Option \"[execute]\" can't be used with option \"[dry-run]\"");
    if (!reset_topics_exist(md))
        return 1;
    if (tool_has(&cli, "from-file"))
        load_reset_plan();
    if (!tool_has(&cli, "dry-run") && !tool_has(&cli, "execute"))
        printf("WARN: No action will be performed as the --execute option is missing. In a future major release, "
               "the default behavior of this command will be to prompt the user before executing the reset "
               "rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting "
               "this command and want to keep the current default behavior without prompting.\n");
    struct tool_strlist groups = {0};
    target_groups(&groups);
    if (groups.count == 0) {
        tool_strlist_free(&groups);
        return 0;
    }
    rd_kafka_event_t *ev = describe_groups((const char **)groups.items, groups.count);
    tool_strlist_free(&groups);
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_ConsumerGroupDescription_t **descs =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        rc |= reset_group(descs[i], md);
    if (tool_has(&cli, "export"))
        printf("\n"); /* Kafka println()s the joined rows */
    rd_kafka_event_destroy(ev);
    tool_reset_plan_free(&reset_plan);
    return rc;
}

/* The first error of a DeleteConsumerGroupOffsets result: the group's, else
 * the first partition's (Kafka's all() fails with it). */
static rd_kafka_resp_err_t delete_offsets_error(const rd_kafka_group_result_t *res)
{
    const rd_kafka_error_t *e = rd_kafka_group_result_error(res);
    if (e)
        return rd_kafka_error_code(e);
    const rd_kafka_topic_partition_list_t *parts = rd_kafka_group_result_partitions(res);
    for (int i = 0; parts && i < parts->cnt; i++)
        if (parts->elems[i].err)
            return parts->elems[i].err;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static void print_delete_offsets_outcome(const char *group, rd_kafka_resp_err_t err)
{
    struct tool_option *topics = tool_opt(&cli, "topic");
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        printf("Request succeed for deleting offsets with topic ");
        for (int t = 0; t < topics->nvalues; t++)
            printf("%s%s", t ? ", " : "", topics->values[t]);
        printf(" group %s\n", group);
        break;
    case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
        fprintf(stderr, "Error: '%s' is not valid.\n", group);
        break;
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
        fprintf(stderr, "Error: '%s' does not exist.\n", group);
        break;
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        fprintf(stderr, "Error: Access to '%s' is not authorized.\n", group);
        break;
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
        fprintf(stderr, "Error: Deleting offsets of a consumer group '%s' is forbidden if the group is not empty.\n",
                group);
        break;
    case RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        fprintf(stderr, "Error: Encounter some partition level error, see the follow-up details:\n");
        break;
    default:
        fprintf(stderr, "Error: Encounter some unknown error: %s\n", rd_kafka_err2name(err));
    }
}

/*
 * --delete-offsets: OffsetDelete of one group's committed offsets for the
 * --topic partitions (a topic alone means all its partitions), printed as
 * Kafka's ConsumerGroupCommand prints it: an outcome line, then a row per
 * partition. Like Kafka, it exits 0 once the request was answered, even with
 * errors (they are printed).
 */
static int delete_offsets(const struct rd_kafka_metadata *md)
{
    const char *group = tool_value(&cli, "group");
    rd_kafka_topic_partition_list_t *list = reset_scope(md, NULL);
    rd_kafka_topic_partition_list_t *rows = rd_kafka_topic_partition_list_copy(list);
    struct tool_option *topics = tool_opt(&cli, "topic");
    for (int t = 0; t < topics->nvalues; t++) /* a topic the cluster lacks: one row, partition -1 */
        if (!strchr(topics->values[t], ':') && !metadata_topic(md, topics->values[t]))
            rd_kafka_topic_partition_list_add(rows, topics->values[t], -1)->err =
                RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_group_result_t *res = NULL;
    if (list->cnt > 0) {
        rd_kafka_DeleteConsumerGroupOffsets_t *del = rd_kafka_DeleteConsumerGroupOffsets_new(group, list);
        rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS, timeout_ms);
        rd_kafka_DeleteConsumerGroupOffsets(rk, &del, 1, o, queue);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_DeleteConsumerGroupOffsets_destroy(del);
        ev = tool_admin_wait_result(rk, queue, timeout_ms, "consumer group command");
        if (!ev) {
            rd_kafka_topic_partition_list_destroy(rows);
            rd_kafka_topic_partition_list_destroy(list);
            return 1;
        }
        size_t n = 0;
        const rd_kafka_group_result_t **all =
            rd_kafka_event_error(ev) ? NULL
                                     : rd_kafka_DeleteConsumerGroupOffsets_result_groups(
                                           rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
        res = n > 0 ? all[0] : NULL;
    }
    /* librdkafka fails the whole event on a group-level error (an unknown group, say). */
    rd_kafka_resp_err_t request_err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t err = request_err ? request_err : res ? delete_offsets_error(res) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!err && rows->cnt > list->cnt)
        err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    print_delete_offsets_outcome(group, err);
    const rd_kafka_error_t *whole = res ? rd_kafka_group_result_error(res) : NULL;
    const rd_kafka_topic_partition_list_t *answers = res ? rd_kafka_group_result_partitions(res) : NULL;
    rd_kafka_topic_partition_list_sort(rows, NULL, NULL);
    printf("\n%-30s %-15s %-15s\n", "TOPIC", "PARTITION", "STATUS");
    for (int i = 0; i < rows->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &rows->elems[i];
        const rd_kafka_topic_partition_t *answer =
            answers ? rd_kafka_topic_partition_list_find(answers, tp->topic, tp->partition) : NULL;
        rd_kafka_resp_err_t row_err = tp->err                 ? tp->err
                                      : answer && answer->err ? answer->err
                                      : whole                 ? rd_kafka_error_code(whole)
                                                              : request_err;
        char status[300] = "Successful";
        if (row_err)
            snprintf(status, sizeof status, "Error: %s", rd_kafka_err2str(row_err));
        printf("%-30s %-15d %-15s\n", tp->topic, (int)tp->partition, status);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_topic_partition_list_destroy(rows);
    rd_kafka_topic_partition_list_destroy(list);
    return 0;
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    const char *bootstrap = tool_require(&cli, "bootstrap-server");
    int actions = tool_has(&cli, "list") + tool_has(&cli, "describe") + tool_has(&cli, "delete") +
                  tool_has(&cli, "reset-offsets") + tool_has(&cli, "delete-offsets");
    if (actions != 1)
        tool_args_die(&cli, "Command must include exactly one action: --list, --describe, --delete, "
                            "--reset-offsets, --delete-offsets");
    if (tool_has(&cli, "delete-offsets") && (!tool_has(&cli, "group") || !tool_has(&cli, "topic")))
        tool_args_die(&cli, "Option \"[delete-offsets]\" takes the following options: [group], [topic]");
    if (!tool_has(&cli, "list") && !tool_has(&cli, "group") && !tool_has(&cli, "all-groups"))
        tool_args_die(&cli, "Option \"[%s]\" takes one of these options: [all-groups], [group]",
                      tool_has(&cli, "describe") ? "describe" : tool_has(&cli, "delete") ? "delete" : "reset-offsets");
    timeout_ms = (int)tool_int(&cli, "timeout", 5000);
    if (timeout_ms <= 0)
        tool_args_die(&cli, "The timeout must be positive");
    int connect_ms = tool_default_timeout_ms();

    const struct rd_kafka_metadata *md = NULL;
    rk = tool_admin_connect(bootstrap, tool_value(&cli, "command-config"), "adminclient-1",
                            connect_ms, &md);
    cluster = md;
    queue = rd_kafka_queue_new(rk);
    int rc;
    if (tool_has(&cli, "list"))
        rc = list_groups();
    else if (tool_has(&cli, "describe"))
        rc = describe();
    else if (tool_has(&cli, "delete"))
        rc = delete_groups();
    else if (tool_has(&cli, "delete-offsets"))
        rc = delete_offsets(md);
    else
        rc = reset_offsets(md);
    rd_kafka_metadata_destroy(md);
    rd_kafka_queue_destroy(queue);
    tool_client_destroy(rk, rc);
    tool_args_free(&cli);
    return rc;
}
