/*
 * topic_config.h - Kafka's topic configs: names, types, defaults, broker
 * synonyms, validation, and the effective value of each for a topic.
 *
 * Precedence, as in Kafka: a topic override (DYNAMIC_TOPIC_CONFIG) beats a
 * dynamic config of this broker (DYNAMIC_BROKER_CONFIG, resource "<node
 * id>"), which beats the cluster-wide dynamic default (resource ""), which
 * beats server.properties (STATIC_BROKER_CONFIG), which beats Kafka's
 * default (DEFAULT_CONFIG). Dynamic broker values are stored under the
 * broker synonym's name (log.retention.ms, ...).
 *
 * topic_log_config() is what storage code calls to get a partition's
 * effective struct log_config.
 */
#ifndef EDDY_CLUSTER_TOPIC_CONFIG_H
#define EDDY_CLUSTER_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/metadata_image.h"
#include "config/config.h"
#include "log/partition_log.h"

/* DescribeConfigs config sources beyond config.h's DEFAULT (5) and STATIC_BROKER (4). */
#define CONFIG_SOURCE_DYNAMIC_TOPIC 1
#define CONFIG_SOURCE_DYNAMIC_BROKER 2
#define CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER 3

/* DescribeConfigs v3+ config types. */
enum kafka_config_type {
    KAFKA_CONFIG_TYPE_BOOLEAN = 1,
    KAFKA_CONFIG_TYPE_STRING = 2,
    KAFKA_CONFIG_TYPE_INT = 3,
    KAFKA_CONFIG_TYPE_LONG = 5,
    KAFKA_CONFIG_TYPE_DOUBLE = 6,
    KAFKA_CONFIG_TYPE_LIST = 7,
    KAFKA_CONFIG_TYPE_PASSWORD = 9,
};

struct topic_config_def {
    const char *name;
    const char *synonyms;      /* broker keys, comma-separated, first = the one that holds the value; NULL: none */
    int type;                  /* enum kafka_config_type */
    const char *default_value; /* Kafka's default */
    double min, max;           /* numeric range */
    const char *choices;       /* comma-separated valid values of a string/list; NULL: any */
    const char *doc;
};

const struct topic_config_def *topic_config_defs(size_t *count);
const struct topic_config_def *topic_config_find(const char *name, size_t len);
/* The topic config whose first broker synonym is name (log.retention.ms -> retention.ms). */
const struct topic_config_def *topic_config_by_broker_name(const char *name, size_t len);

/*
 * Check a value for def. 0, or KAFKA_INVALID_CONFIG with Kafka's wording in
 * msg ("Invalid value x for configuration retention.ms: Not a number of type LONG").
 */
int16_t topic_config_validate(const struct topic_config_def *def, const char *value, size_t len, char *msg,
                              size_t msg_cap);

#define TOPIC_CONFIG_MAX_SYNONYMS 5
struct config_synonym {
    const char *name;  /* the key the value is set under */
    const char *value; /* may point into buf */
    int8_t source;     /* CONFIG_SOURCE_* */
    char name_buf[64];
    char buf[1024]; /* long enough for any config value (CONFIG_STRING_MAX) */
};

/*
 * Every place def's value is set for topic t (NULL: no topic level), highest
 * precedence first, always ending with the default. out[0] is the
 * effective value. Returns the count (>= 1).
 */
int topic_config_synonyms(const struct broker_config *cfg, const struct metadata_image *img,
                          const struct topic_state *t, const struct topic_config_def *def,
                          struct config_synonym out[TOPIC_CONFIG_MAX_SYNONYMS]);

/* The effective value of topic config `name` for t, into buf. NULL for an unknown name. */
const char *topic_config_value(const struct broker_config *cfg, const struct metadata_image *img,
                               const struct topic_state *t, const char *name, char *buf, size_t cap);

/*
 * THE function for storage and produce code: the effective log config of
 * topic t's partitions (t NULL: the broker-level defaults).
 */
void topic_log_config(const struct broker_config *cfg, const struct metadata_image *img,
                      const struct topic_state *t, struct log_config *out);

#endif
