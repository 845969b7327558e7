/*
 * admin_loggers.c - the BROKER_LOGGER config resource (KIP-412): this node's
 * loggers and their levels, read with DescribeConfigs and changed at run time
 * with IncrementalAlterConfigs, as `kafka-configs.sh --entity-type
 * broker-loggers` does against Kafka. Changes last until the broker stops
 * (Kafka keeps them in log4j only, too); eddy.log.level sets root at start.
 *
 * The rules are Kafka's (RuntimeLoggerManager): the resource name is this
 * node's id; SET takes TRACE, DEBUG, INFO, WARN, ERROR or FATAL for a logger
 * that exists; DELETE gives a logger root's level back, never root's own;
 * APPEND and SUBTRACT are refused; one bad operation refuses the resource.
 */
#include "server/admin_loggers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/controller.h"
#include "protocol/errors.h"
#include "server/admin.h"
#include "server/broker.h"
#include "server/request.h"
#include "util/logger.h"

#define CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER 6

/* 0, or INVALID_REQUEST with Kafka's message if `name` is not this node's id. */
static int16_t check_node_id(struct request *req, struct kstr name, char *msg, size_t cap)
{
    char node[24];
    snprintf(node, sizeof node, "%lld", (long long)req->broker->config->node_id);
    if (kstr_eq_cstr(name, node))
        return KAFKA_NONE;
    char given[64], *end;
    snprintf(given, sizeof given, "%.*s", kstr_is_null(name) ? 0 : (int)name.len, kstr_is_null(name) ? "" : name.ptr);
    (void)strtoll(given, &end, 10);
    if (given[0] == '\0' || *end != '\0')
        snprintf(msg, cap, "Node id must be an integer, but it is: %s", given);
    else
        snprintf(msg, cap, "Unexpected node id. Expected %s, but received %s", node, given);
    return KAFKA_INVALID_REQUEST;
}

void admin_describe_broker_loggers(struct request *req, const struct describe_configs_request_describe_configs_resource *res,
                                   struct describe_configs_response_describe_configs_result *out)
{
    char msg[160] = "";
    out->error_code = check_node_id(req, res->resource_name, msg, sizeof msg);
    if (out->error_code) {
        out->error_message = admin_message(req, msg);
        return;
    }
    int count = 0;
    while (logger_name(count))
        count++;
    out->configs = request_alloc(req, sizeof *out->configs * (size_t)(count + 1));
    if (!out->configs) {
        out->error_code = KAFKA_UNKNOWN_SERVER_ERROR;
        return;
    }
    int32_t n = 0;
    for (int i = 0; i < count; i++) {
        const char *name = logger_name(i);
        if (!admin_config_key_wanted(res, name))
            continue;
        struct describe_configs_response_describe_configs_resource_result *e = &out->configs[n++];
        describe_configs_response_describe_configs_resource_result_init(e);
        e->name = kstr_from_cstr(name);
        e->value = kstr_from_cstr(logger_threshold_name(logger_threshold(name)));
        e->config_source = CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER;
    }
    out->configs_count = n;
}

/* Kafka's check of one operation: 0, or the error with its message. */
static int16_t check_operation(const struct incremental_alter_configs_request_alterable_config *op, const char *name,
                               char *msg, size_t cap)
{
    switch (op->config_operation) {
    case CONFIG_OP_SET:
    case CONFIG_OP_DELETE:
        if (logger_threshold(name) == -2)
            return snprintf(msg, cap, "Logger %s does not exist!", name), KAFKA_INVALID_CONFIG;
        break;
    case CONFIG_OP_APPEND:
        return snprintf(msg, cap, "APPEND operation is not allowed for the BROKER_LOGGER resource"),
               KAFKA_INVALID_REQUEST;
    case CONFIG_OP_SUBTRACT:
        return snprintf(msg, cap, "SUBTRACT operation is not allowed for the BROKER_LOGGER resource"),
               KAFKA_INVALID_REQUEST;
    default:
        return snprintf(msg, cap, "Unknown operation type %d is not allowed for the BROKER_LOGGER resource",
                        op->config_operation),
               KAFKA_INVALID_REQUEST;
    }
    if (op->config_operation == CONFIG_OP_DELETE && strcmp(name, LOGGER_ROOT) == 0)
        return snprintf(msg, cap, "Removing the log level of the root logger is not allowed"), KAFKA_INVALID_REQUEST;
    if (op->config_operation == CONFIG_OP_SET) {
        char level[16];
        snprintf(level, sizeof level, "%.*s", (int)op->value.len, op->value.ptr);
        if ((size_t)op->value.len >= sizeof level || logger_threshold_from_kafka_name(level) == -2)
            return snprintf(msg, cap,
                            "Cannot set the log level of %s to %.*s as it is not a supported log level. "
                            "Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN",
                            name, (int)op->value.len, op->value.ptr),
                   KAFKA_INVALID_CONFIG;
    }
    return KAFKA_NONE;
}

/* Duplicate names and null values, as Kafka's preprocessing refuses them for every resource type. */
static int16_t check_shape(struct request *req, const struct incremental_alter_configs_request_alter_configs_resource *res,
                           char *msg, size_t cap)
{
    for (int32_t i = 0; i < res->configs_count; i++) {
        for (int32_t j = 0; j < i; j++)
            if (kstr_eq(res->configs[i].name, res->configs[j].name))
                return snprintf(msg, cap, "Error due to duplicate config keys"), KAFKA_INVALID_REQUEST;
        if (res->configs[i].config_operation != CONFIG_OP_DELETE && kstr_is_null(res->configs[i].value)) {
            char *name = admin_cstr(req, res->configs[i].name);
            return snprintf(msg, cap, "Null value not supported for : %s", name ? name : ""), KAFKA_INVALID_REQUEST;
        }
    }
    return KAFKA_NONE;
}

int16_t admin_alter_broker_loggers(struct request *req,
                                   const struct incremental_alter_configs_request_alter_configs_resource *res,
                                   bool validate_only, char *msg, size_t cap)
{
    int16_t err = check_shape(req, res, msg, cap);
    if (!err)
        err = check_node_id(req, res->resource_name, msg, cap);
    for (int32_t i = 0; !err && i < res->configs_count; i++) {
        char *name = admin_cstr(req, res->configs[i].name);
        err = name ? check_operation(&res->configs[i], name, msg, cap) : KAFKA_INVALID_REQUEST;
    }
    if (err || validate_only)
        return err;
    for (int32_t i = 0; i < res->configs_count; i++) {
        const struct incremental_alter_configs_request_alterable_config *op = &res->configs[i];
        char *name = admin_cstr(req, op->name);
        if (op->config_operation == CONFIG_OP_DELETE) {
            logger_set_threshold(name, LOGGER_UNSET);
            log_warn("server", "Unset the log level of %s", name);
            continue;
        }
        char *level = admin_cstr(req, op->value);
        logger_set_threshold(name, logger_threshold_from_kafka_name(level));
        log_warn("server", "Updated the log level of %s to %s", name, level);
    }
    return KAFKA_NONE;
}
