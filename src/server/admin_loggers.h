/*
 * admin_loggers.h - the BROKER_LOGGER config resource (KIP-412): this node's
 * loggers, described and set at run time (admin_loggers.c).
 */
#ifndef EDDY_SERVER_ADMIN_LOGGERS_H
#define EDDY_SERVER_ADMIN_LOGGERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/generated/messages.h"

struct request;

/* DescribeConfigs of resource type 8: every logger (root first) and its effective level. */
void admin_describe_broker_loggers(struct request *req, const struct describe_configs_request_describe_configs_resource *res,
                                   struct describe_configs_response_describe_configs_result *out);
/* IncrementalAlterConfigs of resource type 8: all operations checked, then
 * applied unless validate_only. 0 or a Kafka error code (msg says why). */
int16_t admin_alter_broker_loggers(struct request *req,
                                   const struct incremental_alter_configs_request_alter_configs_resource *res,
                                   bool validate_only, char *msg, size_t cap);

#endif
