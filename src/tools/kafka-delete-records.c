/*
 * kafka-delete-records.c - `kafka-delete-records.sh`: delete records before
 * the given offsets, read from Kafka's JSON file format:
 *   {"partitions": [{"topic": "t", "partition": 0, "offset": 3}], "version": 1}
 * An offset of -1 means the partition's high watermark (delete everything).
 * Output as Kafka's DeleteRecordsCommand.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_args.h"
#include "common/tool_client.h"
#include "common/tool_util.h"

static struct tool_option options[] = {
    {"bootstrap-server", TOOL_ARG_REQUIRED, "String: server(s) to use for bootstrapping",
     "REQUIRED: The server to connect to.", 0, 0, NULL},
    {"command-config", TOOL_ARG_REQUIRED, "String: command config property file path",
     "A property file containing configs to be passed to Admin Client.", 0, 0, NULL},
    {"offset-json-file", TOOL_ARG_REQUIRED, "String: Offset json file path",
     "REQUIRED: The JSON file with offset per partition. The format to use is:\n"
     "{\"partitions\":\n  [{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}],\n \"version\":1\n}",
     0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-delete-records.sh",
    "This tool helps to delete records of the given partitions down to the specified offset.",
    options,
};

/* A minimal reader for the one JSON shape this tool accepts. */
struct json_reader {
    const char *p;
};

static void skip_space(struct json_reader *j)
{
    while (isspace((unsigned char)*j->p))
        j->p++;
}

static bool expect(struct json_reader *j, char c)
{
    skip_space(j);
    if (*j->p != c)
        return false;
    j->p++;
    return true;
}

/* A string without escapes other than \" and \\ (topic names have none). */
static bool read_string(struct json_reader *j, char *out, size_t len)
{
    if (!expect(j, '"'))
        return false;
    size_t n = 0;
    while (*j->p && *j->p != '"') {
        if (*j->p == '\\' && j->p[1])
            j->p++;
        if (n + 1 < len)
            out[n++] = *j->p;
        j->p++;
    }
    out[n] = '\0';
    return expect(j, '"');
}

static bool read_int(struct json_reader *j, int64_t *out)
{
    skip_space(j);
    char *end;
    errno = 0;
    long long v = strtoll(j->p, &end, 10);
    if (end == j->p || errno)
        return false;
    j->p = end;
    *out = v;
    return true;
}

/* Skip any JSON value (for keys we do not use, like "version"). */
static bool skip_value(struct json_reader *j)
{
    skip_space(j);
    char tmp[8];
    if (*j->p == '"')
        return read_string(j, tmp, sizeof tmp);
    if (*j->p == '{' || *j->p == '[') {
        int depth = 0;
        bool in_string = false;
        for (; *j->p; j->p++) {
            if (in_string) {
                if (*j->p == '\\' && j->p[1])
                    j->p++;
                else if (*j->p == '"')
                    in_string = false;
            } else if (*j->p == '"') {
                in_string = true;
            } else if (*j->p == '{' || *j->p == '[') {
                depth++;
            } else if ((*j->p == '}' || *j->p == ']') && --depth == 0) {
                j->p++;
                return true;
            }
        }
        return false;
    }
    while (*j->p && *j->p != ',' && *j->p != '}' && *j->p != ']')
        j->p++;
    return true;
}

static bool read_partition(struct json_reader *j, rd_kafka_topic_partition_list_t *list)
{
    char topic[256] = "";
    int64_t partition = -1, offset = -2;
    if (!expect(j, '{'))
        return false;
    skip_space(j);
    if (*j->p == '}') {
        j->p++;
        return false;
    }
    do {
        char key[64];
        if (!read_string(j, key, sizeof key) || !expect(j, ':'))
            return false;
        bool ok = strcmp(key, "topic") == 0       ? read_string(j, topic, sizeof topic)
                  : strcmp(key, "partition") == 0 ? read_int(j, &partition)
                  : strcmp(key, "offset") == 0    ? read_int(j, &offset)
                                                  : skip_value(j);
        if (!ok)
            return false;
    } while (expect(j, ','));
    if (!expect(j, '}') || !topic[0] || partition < 0 || offset < -1)
        return false;
    rd_kafka_topic_partition_list_add(list, topic, (int32_t)partition)->offset = offset;
    return true;
}

/* Parse the file; NULL on a malformed document. */
static rd_kafka_topic_partition_list_t *parse_offsets(const char *text)
{
    struct json_reader j = {text};
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    bool found = false;
    if (!expect(&j, '{'))
        goto malformed;
    do {
        char key[64];
        if (!read_string(&j, key, sizeof key) || !expect(&j, ':'))
            goto malformed;
        if (strcmp(key, "partitions") != 0) {
            if (!skip_value(&j))
                goto malformed;
            continue;
        }
        found = true;
        if (!expect(&j, '['))
            goto malformed;
        skip_space(&j);
        if (*j.p != ']') {
            do {
                if (!read_partition(&j, list))
                    goto malformed;
            } while (expect(&j, ','));
        }
        if (!expect(&j, ']'))
            goto malformed;
    } while (expect(&j, ','));
    if (!expect(&j, '}') || !found)
        goto malformed;
    return list;
malformed:
    rd_kafka_topic_partition_list_destroy(list);
    return NULL;
}

static const char *duplicate_partition(const rd_kafka_topic_partition_list_t *list)
{
    for (int i = 0; i < list->cnt; i++)
        for (int k = i + 1; k < list->cnt; k++)
            if (list->elems[i].partition == list->elems[k].partition &&
                strcmp(list->elems[i].topic, list->elems[k].topic) == 0)
                return list->elems[i].topic;
    return NULL;
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    const char *bootstrap = tool_require(&cli, "bootstrap-server");
    const char *path = tool_require(&cli, "offset-json-file");
    char *text = tool_read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "Error: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    rd_kafka_topic_partition_list_t *list = parse_offsets(text);
    free(text);
    if (!list) {
        fprintf(stderr, "Error: the offset JSON file %s is malformed. The format to use is:\n"
                        "{\"partitions\":\n  [{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}],\n"
                        " \"version\":1\n}\n", path);
        return 1;
    }
    const char *dup = duplicate_partition(list);
    if (dup) {
        fprintf(stderr, "Offset json file contains duplicate topic partitions: %s\n", dup);
        rd_kafka_topic_partition_list_destroy(list);
        return 1;
    }
    int timeout_ms = tool_default_timeout_ms();
    rd_kafka_t *rk = tool_admin_connect(bootstrap, tool_value(&cli, "command-config"), "adminclient-1",
                                        timeout_ms, NULL);
    for (int i = 0; i < list->cnt; i++)
        if (list->elems[i].offset == -1)
            list->elems[i].offset = RD_KAFKA_OFFSET_END;
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    printf("Executing records delete operation\n");
    fflush(stdout);
    rd_kafka_DeleteRecords_t *del = rd_kafka_DeleteRecords_new(list);
    rd_kafka_AdminOptions_t *o = tool_admin_options(rk, RD_KAFKA_ADMIN_OP_DELETERECORDS, timeout_ms);
    rd_kafka_DeleteRecords(rk, &del, 1, o, queue);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteRecords_destroy(del);
    rd_kafka_topic_partition_list_destroy(list);
    int rc = 1;
    rd_kafka_event_t *ev = tool_admin_wait(rk, queue, timeout_ms, "records delete operation");
    if (ev) {
        const rd_kafka_topic_partition_list_t *res =
            rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
        printf("Records delete operation completed:\n");
        rc = 0;
        for (int i = 0; res && i < res->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &res->elems[i];
            if (tp->err) {
                printf("partition: %s-%d\terror: %s\n", tp->topic, (int)tp->partition, rd_kafka_err2str(tp->err));
                rc = 1;
            } else {
                printf("partition: %s-%d\tlow_watermark: %lld\n", tp->topic, (int)tp->partition,
                       (long long)tp->offset);
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(queue);
    tool_client_destroy(rk, rc);
    tool_args_free(&cli);
    return rc;
}
