/*
 * config.h - the broker's configuration: Kafka's server.properties keys with
 * Kafka's defaults and meanings.
 *
 * Every key Eddy understands is in one table (config.c) with its type,
 * default and valid range. Loading a file warns about keys nobody knows and
 * refuses malformed values, naming the key and the value. The table is also
 * what DescribeConfigs reports for a broker, with each value's source.
 */
#ifndef EDDY_CONFIG_CONFIG_H
#define EDDY_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_STRING_MAX 1024

struct broker_config {
    int64_t node_id;
    int64_t broker_id; /* broker.id, node.id's ZooKeeper-era synonym; equal to node_id after config_finish */
    char process_roles[CONFIG_STRING_MAX];
    char listeners[CONFIG_STRING_MAX];
    char advertised_listeners[CONFIG_STRING_MAX]; /* empty: same as listeners */
    char controller_listener_names[CONFIG_STRING_MAX];
    char controller_quorum_voters[CONFIG_STRING_MAX];
    char controller_quorum_bootstrap_servers[CONFIG_STRING_MAX];
    char inter_broker_listener_name[CONFIG_STRING_MAX];
    char listener_security_protocol_map[CONFIG_STRING_MAX];
    char log_dirs[CONFIG_STRING_MAX]; /* comma-separated; log.dir if unset */
    char cluster_id[CONFIG_STRING_MAX]; /* eddy extension: fixed cluster id */

    int64_t num_partitions;
    int64_t default_replication_factor;
    int64_t min_insync_replicas;
    bool auto_create_topics_enable;
    bool delete_topic_enable;

    int64_t log_retention_ms;     /* -1: forever; from log.retention.{ms,minutes,hours} */
    int64_t log_retention_bytes;  /* -1: no size limit */
    int64_t log_retention_check_interval_ms;
    int64_t log_segment_bytes;
    int64_t log_roll_ms;          /* from log.roll.{ms,hours} */
    int64_t log_segment_delete_delay_ms;
    int64_t log_index_interval_bytes;
    int64_t log_index_size_max_bytes;
    char log_cleanup_policy[CONFIG_STRING_MAX];
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms; /* -1: not set */
    int64_t log_flush_scheduler_interval_ms;
    bool log_cleaner_enable;
    int64_t log_page_cache_bytes;
    int64_t log_flush_pause_us;
    int64_t loop_stall_warn_ms;
    bool log_preallocate; /* read per topic (preallocate) through topic_config */
    int64_t log_cleaner_backoff_ms;
    int64_t num_recovery_threads_per_data_dir;
    double log_cleaner_min_cleanable_ratio;
    int64_t log_cleaner_min_compaction_lag_ms;
    int64_t log_cleaner_delete_retention_ms;
    char log_message_timestamp_type[CONFIG_STRING_MAX];
    int64_t log_message_timestamp_before_max_ms;
    int64_t log_message_timestamp_after_max_ms;
    char compression_type[CONFIG_STRING_MAX];
    int64_t compression_gzip_level; /* KIP-390; read per topic through topic_config */
    int64_t compression_lz4_level;
    int64_t compression_zstd_level;

    int64_t message_max_bytes;
    int64_t socket_request_max_bytes;
    int64_t socket_send_buffer_bytes;
    int64_t socket_receive_buffer_bytes;
    int64_t connections_max_idle_ms;
    int64_t num_network_threads;
    int64_t num_io_threads;
    int64_t replica_fetch_max_bytes;
    int64_t max_incremental_fetch_session_cache_slots;
    int64_t fetch_session_eviction_ms;
    int64_t fetch_max_bytes;
    int64_t fetch_response_bytes;
    int64_t replica_lag_time_max_ms;

    int64_t offsets_topic_num_partitions;
    int64_t offsets_topic_replication_factor;
    int64_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int64_t offsets_commit_timeout_ms;
    int64_t group_initial_rebalance_delay_ms;
    int64_t group_min_session_timeout_ms;
    int64_t group_max_session_timeout_ms;
    int64_t group_max_size;
    int64_t group_consumer_session_timeout_ms;   /* KIP-848 groups */
    int64_t group_consumer_heartbeat_interval_ms;
    int64_t offset_metadata_max_bytes;
    int64_t transaction_state_log_num_partitions;
    int64_t transaction_state_log_replication_factor;
    int64_t transaction_state_log_min_isr;
    int64_t transaction_max_timeout_ms;
    int64_t transactional_id_expiration_ms;
    int64_t producer_id_expiration_ms;
    int64_t producer_id_expiration_check_interval_ms;

    char log_level[CONFIG_STRING_MAX]; /* eddy extension: DEBUG|INFO|WARN|ERROR */

    /* Which table entries the file set (index into config_keys()). */
    unsigned char explicitly_set[192];
    /* log.retention.{hours,minutes,ms} and log.roll.{hours,ms}: Kafka lets the finer one win. */
    int64_t retention_hours, retention_minutes, roll_hours;
};

enum config_type {
    CONFIG_BOOLEAN,
    CONFIG_INT,
    CONFIG_LONG,
    CONFIG_DOUBLE,
    CONFIG_STRING,
    CONFIG_LIST,
    CONFIG_PASSWORD,
};

/* Where a value came from, as DescribeConfigs reports it. */
enum config_source {
    CONFIG_SOURCE_DEFAULT = 5,        /* DEFAULT_CONFIG */
    CONFIG_SOURCE_STATIC_BROKER = 4,  /* STATIC_BROKER_CONFIG: server.properties */
};

struct config_key {
    const char *name;
    enum config_type type;
    const char *default_value; /* NULL: no default (null) */
    size_t offset;             /* into struct broker_config; SIZE_MAX: accepted, no effect */
    double min, max;           /* numeric range (inclusive) */
    const char *doc;
};

/* Fill cfg with Kafka's defaults. */
void config_defaults(struct broker_config *cfg);

/*
 * Read a server.properties file into cfg (which holds defaults first).
 * Returns 0, or -1 after printing an error that names the key and value
 * (or the file and line). Unknown keys are warned about, not fatal.
 */
int config_load_file(struct broker_config *cfg, const char *path);

/* Set one key from text, as a file line would. -1 (with *err set) if invalid or unknown. */
int config_set(struct broker_config *cfg, const char *key, const char *value, const char **err);

/* Derive dependent values after loading (retention hours -> ms, node.id from broker.id, ...).
 * -1 (logged) on inconsistency, such as node.id and broker.id set to different values. */
int config_finish(struct broker_config *cfg);

/* The table of every key, for DescribeConfigs. */
const struct config_key *config_keys(size_t *count);
const struct config_key *config_key_find(const char *name);

/* The current value of key as text (Kafka's rendering); NULL for a null value. */
const char *config_value_string(const struct broker_config *cfg, const struct config_key *key,
                                char *buf, size_t buflen);
/* Whether key was set by the file (STATIC_BROKER_CONFIG) rather than defaulted. */
bool config_is_set(const struct broker_config *cfg, const char *name);

#endif
