/*
 * admin_cluster.c - DescribeCluster (key 60, v0-1) and DescribeLogDirs
 * (key 35, v0-4): the registered brokers, and which partitions live in
 * which log dir with their sizes.
 */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "log/log_manager.h"
#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/admin.h"
#include "server/api.h"
#include "server/authorized_operations.h"
#include "server/broker.h"
#include "server/request.h"

#define MAX_LOG_DIRS 16

/* Kafka's EndpointType ids (v1+): which kind of listener the client believes it reached. */
enum endpoint_type { ENDPOINT_TYPE_BROKER = 1, ENDPOINT_TYPE_CONTROLLER = 2 };

/*
 * Kafka's check of the endpoint type a v1 request names (v0 cannot name one):
 * an unknown type is UNSUPPORTED_ENDPOINT_TYPE, a known one that is not this
 * listener's kind (a broker listener) MISMATCHED_ENDPOINT_TYPE. Returns the
 * error, 0 if the type is right, and the message to send with it.
 */
static int16_t check_endpoint_type(struct request *req, int8_t type, struct kstr *message)
{
    if (type == ENDPOINT_TYPE_BROKER)
        return 0;
    if (type != ENDPOINT_TYPE_CONTROLLER) {
        char text[64];
        snprintf(text, sizeof text, "Unsupported endpoint type %d", type);
        *message = admin_message(req, text);
        return KAFKA_UNSUPPORTED_ENDPOINT_TYPE;
    }
    *message = admin_message(req, "The request was sent to an endpoint of type BROKER, but we wanted an "
                                  "endpoint of type CONTROLLER");
    return KAFKA_MISMATCHED_ENDPOINT_TYPE;
}

void handle_describe_cluster(struct request *req)
{
    const struct describe_cluster_request *m = req->body;
    struct broker *b = req->broker;
    const struct metadata_image *img = &b->image;
    struct describe_cluster_response resp;
    describe_cluster_response_init(&resp);
    /* An error answer carries only the code and message, every other field at its default. */
    resp.error_code = check_endpoint_type(req, m->endpoint_type, &resp.error_message);
    if (resp.error_code) {
        request_respond(req, &resp);
        return;
    }
    resp.cluster_id = kstr_from_cstr(img->cluster_id);
    resp.controller_id = img->controller_id;
    if (m->include_cluster_authorized_operations)
        resp.cluster_authorized_operations = CLUSTER_AUTHORIZED_OPERATIONS;
    resp.brokers = request_alloc(req, sizeof *resp.brokers * (size_t)(img->broker_count + 1));
    int32_t n = 0;
    for (int32_t i = 0; i < img->broker_count && resp.brokers; i++) {
        const struct broker_registration *reg = &img->brokers[i];
        const struct broker_endpoint *e = broker_endpoint_for(reg, req->listener);
        if (reg->fenced || !e)
            continue;
        struct describe_cluster_response_describe_cluster_broker *out = &resp.brokers[n++];
        describe_cluster_response_describe_cluster_broker_init(out);
        out->broker_id = reg->node_id;
        out->host = kstr_from_cstr(e->host);
        out->port = e->port;
        out->rack = reg->rack[0] ? kstr_from_cstr(reg->rack) : kstr_null();
    }
    resp.brokers_count = n;
    request_respond(req, &resp);
}

/* ---------------------------------------------------------------- DescribeLogDirs */

typedef struct describe_log_dirs_response_describe_log_dirs_result dir_result;
typedef struct describe_log_dirs_response_describe_log_dirs_topic dir_topic;

/* Split log.dirs into up to MAX_LOG_DIRS names in request memory. */
static int split_dirs(struct request *req, const char *list, char **out)
{
    int n = 0;
    const char *p = list;
    while (*p && n < MAX_LOG_DIRS) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0)
            break;
        out[n] = admin_cstr(req, (struct kstr){p, (int32_t)len});
        if (out[n])
            n++;
        p += strcspn(p, ",");
    }
    return n;
}

/* Is the partition directory path directly inside dir? */
static bool in_dir(const char *path, const char *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return false;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return (size_t)(slash - path) == len && memcmp(path, dir, len) == 0;
}

static bool topic_wanted(const struct describe_log_dirs_request *m, const char *topic, int32_t partition)
{
    if (m->topics_count < 0)
        return true;
    for (int32_t i = 0; i < m->topics_count; i++) {
        if (!kstr_eq_cstr(m->topics[i].topic, topic))
            continue;
        for (int32_t j = 0; j < m->topics[i].partitions_count; j++)
            if (m->topics[i].partitions[j] == partition)
                return true;
    }
    return false;
}

static void fill_dir(struct request *req, const struct describe_log_dirs_request *m, const char *dir,
                     dir_result *out)
{
    struct broker *b = req->broker;
    describe_log_dirs_response_describe_log_dirs_result_init(out);
    out->log_dir = kstr_from_cstr(dir);
    struct statvfs fs;
    if (statvfs(dir, &fs) == 0) {
        out->total_bytes = (int64_t)fs.f_blocks * (int64_t)fs.f_frsize;
        out->usable_bytes = (int64_t)fs.f_bavail * (int64_t)fs.f_frsize;
    }
    out->topics = request_alloc(req, sizeof *out->topics * (size_t)(b->image.topic_count + 1));
    if (!out->topics || !b->logs)
        return;
    int32_t nt = 0;
    for (const struct topic_state *t = b->image.topics; t; t = t->next) {
        dir_topic *dt = &out->topics[nt];
        describe_log_dirs_response_describe_log_dirs_topic_init(dt);
        dt->name = kstr_from_cstr(t->name);
        dt->partitions = request_alloc(req, sizeof *dt->partitions * (size_t)(t->partition_count + 1));
        if (!dt->partitions)
            continue;
        int32_t np = 0;
        for (int32_t p = 0; p < t->partition_count; p++) {
            struct partition_log *log = log_manager_get(b->logs, t->name, p);
            if (!log || !topic_wanted(m, t->name, p) || !in_dir(partition_log_dir(log), dir))
                continue;
            describe_log_dirs_response_describe_log_dirs_partition_init(&dt->partitions[np]);
            dt->partitions[np].partition_index = p;
            dt->partitions[np].partition_size = partition_log_size_bytes(log);
            dt->partitions[np].offset_lag = 0;
            np++;
        }
        dt->partitions_count = np;
        if (np > 0)
            nt++;
    }
    out->topics_count = nt;
}

void handle_describe_log_dirs(struct request *req)
{
    const struct describe_log_dirs_request *m = req->body;
    struct broker *b = req->broker;
    struct describe_log_dirs_response resp;
    describe_log_dirs_response_init(&resp);
    char *dirs[MAX_LOG_DIRS];
    int n = split_dirs(req, b->config->log_dirs, dirs);
    resp.results = request_alloc(req, sizeof *resp.results * (size_t)(n + 1));
    resp.results_count = resp.results ? n : 0;
    for (int i = 0; i < resp.results_count; i++)
        fill_dir(req, m, dirs[i], &resp.results[i]);
    request_respond(req, &resp);
}
