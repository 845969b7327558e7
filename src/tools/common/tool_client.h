/*
 * tool_client.h - librdkafka clients for the command-line tools.
 *
 * Builds a client configuration the way Kafka's tools do (bootstrap server,
 * then --command-config / --producer.config files, then --producer-property
 * style k=v pairs), translating Java client property names librdkafka spells
 * differently and skipping Java-only ones with a warning. Creates clients
 * whose library logging is quiet (set EDDY_TOOLS_DEBUG=1 to see it) and
 * whose errors are remembered, so that an unreachable broker becomes one
 * clear message after a bounded time instead of a hang.
 */
#ifndef EDDY_TOOLS_TOOL_CLIENT_H
#define EDDY_TOOLS_TOOL_CLIENT_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

/*
 * Default bound (ms) for reaching the cluster and for each admin request:
 * $EDDY_TOOLS_TIMEOUT_MS if set, else 15000.
 */
int tool_default_timeout_ms(void);

/* New configuration with bootstrap.servers and client.id set. Exits on error. */
rd_kafka_conf_t *tool_conf_new(const char *bootstrap, const char *client_id);
/* Set one property (Java names translated). Returns 0, or -1 after printing why. */
int tool_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value);
/* Set "key=value". Returns 0, or -1 after printing why. */
int tool_conf_set_pair(rd_kafka_conf_t *conf, const char *pair);
/* Load a Java .properties file. Returns 0, or -1 after printing why. */
int tool_conf_load_file(rd_kafka_conf_t *conf, const char *path);

/* Create a client, taking ownership of conf. Exits with a message on failure. */
rd_kafka_t *tool_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/*
 * Wait until the cluster answers a metadata request, at most timeout_ms, and
 * give up early once every bootstrap broker has refused. On failure prints
 * "Error: ..." naming the bootstrap servers and the cause and returns -1.
 * On success, *md_out (if not NULL) receives all-topic metadata to free with
 * rd_kafka_metadata_destroy.
 */
int tool_client_connect(rd_kafka_t *rk, const char *bootstrap, int timeout_ms,
                        const struct rd_kafka_metadata **md_out);

/*
 * rd_kafka_destroy, bounded: librdkafka 2.0 can hang joining its threads after
 * some failed admin requests, so after 10 s the process ends with exit_code.
 */
void tool_client_destroy(rd_kafka_t *rk, int exit_code);

/* After a successful connect, print later client errors as WARN lines. */
void tool_client_set_verbose_errors(bool on);
/* The most recent transport/broker error text seen by any client, or "". */
const char *tool_client_last_error(void);
/* true once librdkafka reported that all brokers are down. */
bool tool_client_all_brokers_down(void);

/*
 * The usual start of an admin tool: configuration from bootstrap and an
 * optional --command-config file, a producer-type client, a bounded connect.
 * Exits 1 with a message on any failure. *md_out as for tool_client_connect.
 */
rd_kafka_t *tool_admin_connect(const char *bootstrap, const char *config_file, const char *client_id,
                               int timeout_ms, const struct rd_kafka_metadata **md_out);

/* AdminOptions with request and operation timeouts set. */
rd_kafka_AdminOptions_t *tool_admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms);
/*
 * Wait for the result of an admin call on q (serving client callbacks while
 * waiting). Returns the event, or NULL after printing a timeout message.
 * A request-level error is printed and NULL returned as well.
 */
rd_kafka_event_t *tool_admin_wait(rd_kafka_t *rk, rd_kafka_queue_t *q, int timeout_ms,
                                  const char *what);
/* The same, but an event with a request-level error is returned too, for a
 * caller that answers that error in its own words. */
rd_kafka_event_t *tool_admin_wait_result(rd_kafka_t *rk, rd_kafka_queue_t *q, int timeout_ms, const char *what);

#endif
