/*
 * config.c - the table of server.properties keys and the file parser.
 *
 * All integers are stored as int64_t whatever Kafka's type, so the table
 * needs no per-width cases.
 *
 * The file is read as Kafka reads it, with java.util.Properties.load
 * (properties.c); a key set twice keeps its last value, as in a Properties
 * map. Values are then trimmed, as Kafka's ConfigDef trims them, and checked
 * against the key's type and range, so a malformed value stops start-up with
 * the line that is wrong.
 */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/properties.h"
#include "util/logger.h"

#define OFF(field) offsetof(struct broker_config, field)
#define NO_EFFECT SIZE_MAX
#define I32 -2147483648.0, 2147483647.0
#define I64 -9.3e18, 9.3e18
#define POS 0, 9.3e18
#define POS32 0, 2147483647.0

/* Kafka's defaults. Keys with NO_EFFECT are accepted (Kafka users have them
 * in their files) but Eddy has no use for them yet. */
static const struct config_key keys[] = {
    {"node.id", CONFIG_INT, "1", OFF(node_id), 0, 2147483647.0, "The node id of this server."},
    {"broker.id", CONFIG_INT, NULL, OFF(broker_id), 0, 2147483647.0, "Alias of node.id (ZooKeeper-era name); if both are set they must be equal."},
    {"process.roles", CONFIG_LIST, "broker,controller", OFF(process_roles), 0, 0, "The roles this node plays: broker, controller or both."},
    {"listeners", CONFIG_LIST, "PLAINTEXT://localhost:9092", OFF(listeners), 0, 0, "Listener URIs to bind, e.g. PLAINTEXT://:9092."},
    {"advertised.listeners", CONFIG_LIST, NULL, OFF(advertised_listeners), 0, 0, "Listeners to publish to clients, if different from listeners."},
    {"controller.listener.names", CONFIG_LIST, "CONTROLLER", OFF(controller_listener_names), 0, 0, "Names of the listeners used by the controller."},
    {"controller.quorum.voters", CONFIG_LIST, "", OFF(controller_quorum_voters), 0, 0, "id@host:port of the controller quorum voters."},
    {"controller.quorum.bootstrap.servers", CONFIG_LIST, "", OFF(controller_quorum_bootstrap_servers), 0, 0, "host:port of controllers to bootstrap from."},
    {"inter.broker.listener.name", CONFIG_STRING, NULL, OFF(inter_broker_listener_name), 0, 0, "Listener used between brokers."},
    {"listener.security.protocol.map", CONFIG_STRING, "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", OFF(listener_security_protocol_map), 0, 0, "Listener name to security protocol."},
    {"log.dirs", CONFIG_LIST, NULL, OFF(log_dirs), 0, 0, "Directories holding the log data."},
    {"log.dir", CONFIG_STRING, "./data", NO_EFFECT, 0, 0, "Directory holding the log data, used if log.dirs is not set."},
    {"eddy.cluster.id", CONFIG_STRING, NULL, OFF(cluster_id), 0, 0, "Fixed cluster id; generated and stored in meta.properties if unset."},
    {"num.partitions", CONFIG_INT, "1", OFF(num_partitions), 1, 2147483647.0, "Default partition count of auto-created topics."},
    {"default.replication.factor", CONFIG_INT, "1", OFF(default_replication_factor), 1, 32767, "Default replication factor of auto-created topics."},
    {"min.insync.replicas", CONFIG_INT, "1", OFF(min_insync_replicas), 1, 2147483647.0, "Minimum in-sync replicas for acks=all."},
    {"auto.create.topics.enable", CONFIG_BOOLEAN, "true", OFF(auto_create_topics_enable), 0, 0, "Create unknown topics on Metadata requests."},
    {"delete.topic.enable", CONFIG_BOOLEAN, "true", OFF(delete_topic_enable), 0, 0, "Allow topic deletion."},
    {"log.retention.ms", CONFIG_LONG, NULL, OFF(log_retention_ms), -1, 9.3e18, "Retention time in ms (-1: forever)."},
    {"log.retention.minutes", CONFIG_INT, NULL, OFF(retention_minutes), -1, 2147483647.0, "Retention time in minutes."},
    {"log.retention.hours", CONFIG_INT, "168", OFF(retention_hours), -1, 2147483647.0, "Retention time in hours."},
    {"log.retention.bytes", CONFIG_LONG, "-1", OFF(log_retention_bytes), -1, 9.3e18, "Retention size per partition (-1: no limit)."},
    {"log.retention.check.interval.ms", CONFIG_LONG, "300000", OFF(log_retention_check_interval_ms), 1, 9.3e18, "How often retention is checked."},
    {"log.segment.bytes", CONFIG_INT, "1073741824", OFF(log_segment_bytes), 14, 2147483647.0, "Maximum size of a log segment."},
    {"log.roll.ms", CONFIG_LONG, NULL, OFF(log_roll_ms), 1, 9.3e18, "Maximum age of the active segment before a roll."},
    {"log.roll.hours", CONFIG_INT, "168", OFF(roll_hours), 1, 2147483647.0, "Maximum age of the active segment, in hours."},
    {"log.segment.delete.delay.ms", CONFIG_LONG, "60000", OFF(log_segment_delete_delay_ms), 0, 9.3e18, "Delay before a deleted segment's files are removed."},
    {"log.index.interval.bytes", CONFIG_INT, "4096", OFF(log_index_interval_bytes), 0, 2147483647.0, "Bytes between offset index entries."},
    {"log.index.size.max.bytes", CONFIG_INT, "10485760", OFF(log_index_size_max_bytes), 4, 2147483647.0, "Maximum size of an offset index."},
    {"log.cleanup.policy", CONFIG_LIST, "delete", OFF(log_cleanup_policy), 0, 0, "delete, compact, or both."},
    {"log.flush.interval.messages", CONFIG_LONG, "9223372036854775807", OFF(log_flush_interval_messages), 1, 9.3e18, "Messages appended before a forced flush."},
    {"log.flush.interval.ms", CONFIG_LONG, NULL, OFF(log_flush_interval_ms), 0, 9.3e18, "Maximum time data stays unflushed."},
    {"log.flush.scheduler.interval.ms", CONFIG_LONG, "9223372036854775807", OFF(log_flush_scheduler_interval_ms), 0, 9.3e18, "How often the flusher checks for work."},
    {"log.cleaner.enable", CONFIG_BOOLEAN, "true", OFF(log_cleaner_enable), 0, 0, "Run the log cleaner (compaction)."},
    {"num.recovery.threads.per.data.dir", CONFIG_INT, "2", OFF(num_recovery_threads_per_data_dir), 1, 2147483647.0, "Threads per log dir that open (and after a crash, recover) the partitions at start-up (at most 64 are started); Kafka 4.0's default."},
    {"log.cleaner.backoff.ms", CONFIG_LONG, "15000", OFF(log_cleaner_backoff_ms), 0, 9.3e18, "Cleaner sleep when there is nothing to clean."},
    {"log.cleaner.min.cleanable.ratio", CONFIG_DOUBLE, "0.5", OFF(log_cleaner_min_cleanable_ratio), 0, 1, "Dirty ratio that makes a log eligible for cleaning."},
    {"log.cleaner.min.compaction.lag.ms", CONFIG_LONG, "0", OFF(log_cleaner_min_compaction_lag_ms), 0, 9.3e18, "Minimum age of a message before it may be compacted."},
    {"log.cleaner.delete.retention.ms", CONFIG_LONG, "86400000", OFF(log_cleaner_delete_retention_ms), 0, 9.3e18, "How long tombstones are kept."},
    {"log.message.timestamp.type", CONFIG_STRING, "CreateTime", OFF(log_message_timestamp_type), 0, 0, "CreateTime or LogAppendTime."},
    {"log.message.timestamp.before.max.ms", CONFIG_LONG, "9223372036854775807", OFF(log_message_timestamp_before_max_ms), 0, 9.3e18, "How far in the past a CreateTime timestamp may be."},
    {"log.message.timestamp.after.max.ms", CONFIG_LONG, "9223372036854775807", OFF(log_message_timestamp_after_max_ms), 0, 9.3e18, "How far in the future a CreateTime timestamp may be."},
    {"compression.type", CONFIG_STRING, "producer", OFF(compression_type), 0, 0, "Codec batches are stored in: producer (as sent), uncompressed, gzip, snappy, lz4 or zstd (recompressed if sent otherwise)."},
    {"compression.gzip.level", CONFIG_INT, "-1", OFF(compression_gzip_level), -1, 9, "gzip level of batches the broker recompresses: 1 to 9, or -1 for zlib's default."},
    {"compression.lz4.level", CONFIG_INT, "9", OFF(compression_lz4_level), 1, 17, "lz4 level of batches the broker recompresses."},
    {"compression.zstd.level", CONFIG_INT, "3", OFF(compression_zstd_level), -131072, 22, "zstd level of batches the broker recompresses."},
    {"message.max.bytes", CONFIG_INT, "1048588", OFF(message_max_bytes), 0, 2147483647.0, "Largest record batch accepted."},
    {"socket.request.max.bytes", CONFIG_INT, "104857600", OFF(socket_request_max_bytes), 1, 2147483647.0, "Largest request accepted."},
    {"socket.send.buffer.bytes", CONFIG_INT, "262144", OFF(socket_send_buffer_bytes), -1, 2147483647.0, "SO_SNDBUF (-1: the kernel sizes and grows it; Kafka's default is 102400)."},
    {"socket.receive.buffer.bytes", CONFIG_INT, "-1", OFF(socket_receive_buffer_bytes), -1, 2147483647.0, "SO_RCVBUF (-1: the kernel sizes and grows it; Kafka's default is 102400)."},
    {"connections.max.idle.ms", CONFIG_LONG, "600000", OFF(connections_max_idle_ms), 0, 9.3e18, "Idle connections are closed after this."},
    {"num.network.threads", CONFIG_INT, "3", OFF(num_network_threads), 1, 1024, "Network threads (Eddy runs one event loop)."},
    {"num.io.threads", CONFIG_INT, "8", OFF(num_io_threads), 1, 1024, "I/O threads (Eddy runs one event loop)."},
    {"replica.fetch.max.bytes", CONFIG_INT, "1048576", OFF(replica_fetch_max_bytes), 0, 2147483647.0, "Bytes per partition a follower fetches."},
    {"max.incremental.fetch.session.cache.slots", CONFIG_INT, "1000", OFF(max_incremental_fetch_session_cache_slots), 0, 1000000.0, "Fetch sessions (KIP-227) kept. When full, a new session takes the place of one unused for eddy.fetch.session.eviction.ms, or else of a smaller one older than that; otherwise the fetch goes without a session. 0: no sessions, every fetch is a full one."},
    {"eddy.fetch.session.eviction.ms", CONFIG_LONG, "120000", OFF(fetch_session_eviction_ms), 0, 9.3e18, "A fetch session younger or more recently used than this is never evicted for a new one of the same size or smaller (Kafka's fixed 120 s, min.incremental.fetch.session.eviction.ms)."},
    {"fetch.max.bytes", CONFIG_INT, "57671680", OFF(fetch_max_bytes), 1024, 2147483647.0, "Most bytes a fetch response carries, whatever the consumer asks for (a first batch larger than this still goes out whole)."},
    {"eddy.fetch.response.bytes", CONFIG_INT, "1048576", OFF(fetch_response_bytes), -1, 2147483647.0, "Most bytes a fetch response carries on a connection with a short round trip; on a longer one the limit grows to what 1 GB/s carries in the connection's smallest round-trip time. A fetch whose min_bytes is larger gets Kafka's limits. Big responses cost the consumer memory and cache misses and gain nothing where the next fetch is a few microseconds away. -1: answer with as much as the fetch asks for, as Kafka does."},
    {"replica.lag.time.max.ms", CONFIG_LONG, "30000", OFF(replica_lag_time_max_ms), 0, 9.3e18, "A follower that lags longer leaves the ISR."},
    {"offsets.topic.num.partitions", CONFIG_INT, "50", OFF(offsets_topic_num_partitions), 1, 2147483647.0, "Partitions of __consumer_offsets."},
    {"offsets.topic.replication.factor", CONFIG_INT, "3", OFF(offsets_topic_replication_factor), 1, 32767, "Replication factor of __consumer_offsets."},
    {"offsets.retention.minutes", CONFIG_INT, "10080", OFF(offsets_retention_minutes), 1, 2147483647.0, "Committed offsets of empty groups expire after this."},
    {"offsets.retention.check.interval.ms", CONFIG_LONG, "600000", OFF(offsets_retention_check_interval_ms), 1, 9.3e18, "How often offsets are checked for expiry."},
    {"offsets.commit.timeout.ms", CONFIG_INT, "5000", OFF(offsets_commit_timeout_ms), 1, 2147483647.0, "Offset commit wait for replication."},
    {"group.initial.rebalance.delay.ms", CONFIG_INT, "3000", OFF(group_initial_rebalance_delay_ms), 0, 2147483647.0, "Wait for more members before the first rebalance."},
    {"group.min.session.timeout.ms", CONFIG_INT, "6000", OFF(group_min_session_timeout_ms), 0, 2147483647.0, "Smallest session timeout a member may ask for."},
    {"group.max.session.timeout.ms", CONFIG_INT, "1800000", OFF(group_max_session_timeout_ms), 0, 2147483647.0, "Largest session timeout a member may ask for."},
    {"group.max.size", CONFIG_INT, "2147483647", OFF(group_max_size), 1, 2147483647.0, "Maximum members in a group."},
    {"group.consumer.session.timeout.ms", CONFIG_INT, "45000", OFF(group_consumer_session_timeout_ms), 1, 2147483647.0, "Session timeout of members of consumer (KIP-848) groups."},
    {"group.consumer.heartbeat.interval.ms", CONFIG_INT, "5000", OFF(group_consumer_heartbeat_interval_ms), 1, 2147483647.0, "Heartbeat interval given to members of consumer (KIP-848) groups."},
    {"offset.metadata.max.bytes", CONFIG_INT, "4096", OFF(offset_metadata_max_bytes), 0, 2147483647.0, "Largest metadata string of a committed offset."},
    {"transaction.state.log.num.partitions", CONFIG_INT, "50", OFF(transaction_state_log_num_partitions), 1, 2147483647.0, "Partitions of __transaction_state."},
    {"transaction.state.log.replication.factor", CONFIG_INT, "3", OFF(transaction_state_log_replication_factor), 1, 32767, "Replication factor of __transaction_state."},
    {"transaction.state.log.min.isr", CONFIG_INT, "2", OFF(transaction_state_log_min_isr), 1, 2147483647.0, "min.insync.replicas of __transaction_state."},
    {"transaction.max.timeout.ms", CONFIG_INT, "900000", OFF(transaction_max_timeout_ms), 1, 2147483647.0, "Largest transaction timeout allowed."},
    {"transactional.id.expiration.ms", CONFIG_INT, "604800000", OFF(transactional_id_expiration_ms), 1, 2147483647.0, "Idle transactional ids expire after this."},
    {"producer.id.expiration.ms", CONFIG_INT, "86400000", OFF(producer_id_expiration_ms), 1, 2147483647.0, "Idle producer ids expire after this."},
    {"producer.id.expiration.check.interval.ms", CONFIG_INT, "600000", OFF(producer_id_expiration_check_interval_ms), 1, 2147483647.0, "How often idle producer ids are looked for."},
    {"eddy.log.page.cache.bytes", CONFIG_LONG, "268435456", OFF(log_page_cache_bytes), -1, 9.3e18, "Page cache the newest data of all partitions may hold (shared evenly by the partitions being written, at least 128 KiB each; a partition not written to for a while keeps 128 KiB); older data is written back and dropped so appends reuse its pages. -1: leave it to the kernel."},
    {"eddy.log.flush.pause.us", CONFIG_LONG, "4000", OFF(log_flush_pause_us), 0, 1000000, "Idle microseconds between one fdatasync and the next (group commit pacing; 0: none). Back-to-back cache flushes stall some virtual machines."},
    {"eddy.loop.stall.warn.ms", CONFIG_INT, "200", OFF(loop_stall_warn_ms), 1, 60000, "A pass of the event loop this long or longer is logged (at most one line per 10 s, and a count with the longest pass at shutdown): every client waited that long."},
    {"eddy.log.level", CONFIG_STRING, "INFO", OFF(log_level), 0, 0, "Broker log level: DEBUG, INFO, WARN or ERROR."},
    /* Accepted for compatibility with existing files; no effect in Eddy. */
    {"num.replica.fetchers", CONFIG_INT, "1", NO_EFFECT, 1, 2147483647.0, "Accepted; no effect yet."},
    {"background.threads", CONFIG_INT, "10", NO_EFFECT, 1, 2147483647.0, "Accepted; no effect."},
    {"queued.max.requests", CONFIG_INT, "500", NO_EFFECT, 1, 2147483647.0, "Accepted; no effect."},
    {"log.preallocate", CONFIG_BOOLEAN, "true", OFF(log_preallocate), 0, 0, "Allocate a busy partition's next segment on disk ahead (Eddy's default: true; Kafka's: false). Read per topic as preallocate."},
    {"unclean.leader.election.enable", CONFIG_BOOLEAN, "false", NO_EFFECT, 0, 0, "Accepted; no effect yet."},
    {"auto.leader.rebalance.enable", CONFIG_BOOLEAN, "true", NO_EFFECT, 0, 0, "Accepted; no effect yet."},
    {"zookeeper.connect", CONFIG_STRING, NULL, NO_EFFECT, 0, 0, "Ignored: Eddy needs no ZooKeeper."},
    {"zookeeper.connection.timeout.ms", CONFIG_INT, NULL, NO_EFFECT, 0, 2147483647.0, "Ignored: Eddy needs no ZooKeeper."},
    {"group.coordinator.rebalance.protocols", CONFIG_LIST, "classic,consumer", NO_EFFECT, 0, 0, "Accepted; both protocols are served."},
    {"metadata.log.dir", CONFIG_STRING, NULL, NO_EFFECT, 0, 0, "Accepted; the metadata log lives in the first log dir."},
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

const struct config_key *config_keys(size_t *count)
{
    *count = KEY_COUNT;
    return keys;
}

const struct config_key *config_key_find(const char *name)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

static int parse_long(const char *text, double min, double max, int64_t *out)
{
    if (*text == '\0')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end != '\0')
        return -1;
    if ((double)v < min || (double)v > max)
        return -1;
    *out = v;
    return 0;
}

static int store_value(struct broker_config *cfg, const struct config_key *key, const char *value,
                       const char **err)
{
    if (key->offset == NO_EFFECT)
        return 0;
    char *field = (char *)cfg + key->offset;
    int64_t n;
    switch (key->type) {
    case CONFIG_BOOLEAN:
        if (strcasecmp(value, "true") == 0)
            *(bool *)field = true;
        else if (strcasecmp(value, "false") == 0)
            *(bool *)field = false;
        else
            return *err = "expected true or false", -1;
        return 0;
    case CONFIG_INT:
    case CONFIG_LONG:
        if (parse_long(value, key->min, key->max, &n) < 0)
            return *err = "expected an integer in range", -1;
        *(int64_t *)field = n;
        return 0;
    case CONFIG_DOUBLE: {
        char *end;
        double d = strtod(value, &end);
        if (*value == '\0' || *end != '\0' || isnan(d) || d < key->min || d > key->max)
            return *err = "expected a number in range", -1;
        *(double *)field = d;
        return 0;
    }
    case CONFIG_STRING:
    case CONFIG_LIST:
    case CONFIG_PASSWORD:
        if (strlen(value) >= CONFIG_STRING_MAX)
            return *err = "value too long", -1;
        strcpy(field, value);
        return 0;
    }
    return *err = "unknown type", -1;
}

static int validate_enum(const char *key, const char *value, const char **err)
{
    if (strcmp(key, "log.message.timestamp.type") == 0 && strcmp(value, "CreateTime") != 0 &&
        strcmp(value, "LogAppendTime") != 0)
        return *err = "expected CreateTime or LogAppendTime", -1;
    if (strcmp(key, "log.cleanup.policy") == 0) {
        char copy[CONFIG_STRING_MAX];
        snprintf(copy, sizeof copy, "%s", value);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            tok = trim(tok);
            if (strcmp(tok, "delete") != 0 && strcmp(tok, "compact") != 0)
                return *err = "expected delete, compact or delete,compact", -1;
        }
    }
    if (strcmp(key, "eddy.log.level") == 0 && logger_level_from_name(value) < 0)
        return *err = "expected DEBUG, INFO, WARN or ERROR", -1;
    if (strcmp(key, "compression.gzip.level") == 0 && strcmp(value, "0") == 0)
        return *err = "expected 1 to 9, or -1", -1;
    if (strcmp(key, "compression.type") == 0 && strcmp(value, "producer") != 0 &&
        strcmp(value, "uncompressed") != 0 && strcmp(value, "gzip") != 0 && strcmp(value, "snappy") != 0 &&
        strcmp(value, "lz4") != 0 && strcmp(value, "zstd") != 0)
        return *err = "expected producer, uncompressed, gzip, snappy, lz4 or zstd", -1;
    return 0;
}

int config_set(struct broker_config *cfg, const char *key_name, const char *value, const char **err)
{
    const struct config_key *key = config_key_find(key_name);
    if (!key)
        return *err = "unknown key", -1;
    if (validate_enum(key_name, value, err) < 0)
        return -1;
    if (store_value(cfg, key, value, err) < 0)
        return -1;
    size_t index = (size_t)(key - keys);
    if (index < sizeof cfg->explicitly_set)
        cfg->explicitly_set[index] = 1;
    return 0;
}

bool config_is_set(const struct broker_config *cfg, const char *name)
{
    const struct config_key *key = config_key_find(name);
    if (!key)
        return false;
    size_t index = (size_t)(key - keys);
    return index < sizeof cfg->explicitly_set && cfg->explicitly_set[index];
}

void config_defaults(struct broker_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->log_retention_ms = -2;  /* "unset": derived from hours/minutes in config_finish */
    cfg->retention_minutes = -2;
    cfg->log_roll_ms = -2;
    cfg->log_flush_interval_ms = -1;
    const char *err;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (!keys[i].default_value)
            continue;
        if (store_value(cfg, &keys[i], keys[i].default_value, &err) < 0)
            log_error("config", "bad built-in default for %s", keys[i].name);
    }
}

/*
 * node.id and broker.id name one thing. Kafka (KafkaConfig.populateSynonyms)
 * fills in whichever is missing from the other, so broker.id alone sets the
 * node id, and refuses the two set to different values rather than pick one.
 */
static int reconcile_node_id(struct broker_config *cfg)
{
    bool node_set = config_is_set(cfg, "node.id"), broker_set = config_is_set(cfg, "broker.id");
    if (node_set && broker_set && cfg->node_id != cfg->broker_id) {
        log_error("config", "node.id (%lld) and broker.id (%lld) differ: you must set `node.id` to the same value as "
                  "`broker.id` (broker.id is the old name of node.id)",
                  (long long)cfg->node_id, (long long)cfg->broker_id);
        return -1;
    }
    if (broker_set)
        cfg->node_id = cfg->broker_id;
    else
        cfg->broker_id = cfg->node_id;
    return 0;
}

int config_finish(struct broker_config *cfg)
{
    if (reconcile_node_id(cfg) < 0)
        return -1;
    if (cfg->log_retention_ms == -2) {
        if (cfg->retention_minutes != -2)
            cfg->log_retention_ms = cfg->retention_minutes < 0 ? -1 : cfg->retention_minutes * 60000;
        else
            cfg->log_retention_ms = cfg->retention_hours < 0 ? -1 : cfg->retention_hours * 3600000;
    }
    if (cfg->log_roll_ms == -2)
        cfg->log_roll_ms = cfg->roll_hours * 3600000;
    if (cfg->log_dirs[0] == '\0') {
        const struct config_key *dir = config_key_find("log.dir");
        snprintf(cfg->log_dirs, sizeof cfg->log_dirs, "%s", dir->default_value);
    }
    if (cfg->advertised_listeners[0] == '\0')
        snprintf(cfg->advertised_listeners, sizeof cfg->advertised_listeners, "%s", cfg->listeners);
    if (cfg->group_min_session_timeout_ms > cfg->group_max_session_timeout_ms) {
        log_error("config", "group.min.session.timeout.ms (%lld) is above group.max.session.timeout.ms (%lld)",
                  (long long)cfg->group_min_session_timeout_ms,
                  (long long)cfg->group_max_session_timeout_ms);
        return -1;
    }
    logger_set_level(logger_level_from_name(cfg->log_level));
    return 0;
}

/* log.dir is NO_EFFECT in the table but feeds log.dirs when that is absent. */
static void apply_log_dir(struct broker_config *cfg, const char *value)
{
    if (!config_is_set(cfg, "log.dirs"))
        snprintf(cfg->log_dirs, sizeof cfg->log_dirs, "%s", value);
}

/* Java's String.trim, which ConfigDef applies to every value: any byte up to
 * and including ' ' goes, at both ends (in place). */
static char *java_trim(char *s)
{
    while (*s && (unsigned char)*s <= ' ')
        s++;
    char *end = s + strlen(s);
    while (end > s && (unsigned char)end[-1] <= ' ')
        *--end = '\0';
    return s;
}

#define UNKNOWN_KEY_SHOWN 200

/* Apply one line of the file. -1 (logged) if its value is invalid. */
static int apply_property(struct broker_config *cfg, const char *path, const struct property *p)
{
    if (!config_key_find(p->key)) {
        /* A key can be any length; the log line cannot, so a long one is cut and its length said. */
        int len = (int)strnlen(p->key, INT_MAX);
        if (len > UNKNOWN_KEY_SHOWN)
            log_warn("config", "%s:%d: unknown config key '%.*s...' (%d bytes) is ignored", path, p->line,
                     UNKNOWN_KEY_SHOWN, p->key, len);
        else
            log_warn("config", "%s:%d: unknown config key '%s' is ignored", path, p->line, p->key);
        return 0;
    }
    char *value = java_trim(p->value);
    const char *err = NULL;
    if (config_set(cfg, p->key, value, &err) < 0) {
        log_error("config", "%s:%d: invalid value '%s' for %s: %s", path, p->line, value, p->key, err);
        return -1;
    }
    if (strcmp(p->key, "log.dir") == 0)
        apply_log_dir(cfg, value);
    return 0;
}

int config_load_file(struct broker_config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        log_error("config", "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    struct properties props = {0};
    struct properties_error perr;
    int rc = properties_parse(f, &props, &perr);
    fclose(f);
    if (rc < 0)
        log_error("config", "%s:%d: %s", path, perr.line, perr.reason);
    for (size_t i = 0; rc == 0 && i < props.count; i++)
        if (properties_is_last(&props, i))
            rc = apply_property(cfg, path, &props.items[i]);
    properties_free(&props);
    return rc;
}

const char *config_value_string(const struct broker_config *cfg, const struct config_key *key,
                                char *buf, size_t buflen)
{
    if (key->offset == NO_EFFECT)
        return key->default_value;
    const char *field = (const char *)cfg + key->offset;
    switch (key->type) {
    case CONFIG_BOOLEAN:
        return *(const bool *)field ? "true" : "false";
    case CONFIG_INT:
    case CONFIG_LONG: {
        long long v = *(const int64_t *)field;
        if (v == -2)
            return NULL; /* derived key left unset (log.retention.minutes...) */
        snprintf(buf, buflen, "%lld", v);
        return buf;
    }
    case CONFIG_DOUBLE:
        snprintf(buf, buflen, "%g", *(const double *)field);
        return buf;
    case CONFIG_PASSWORD:
        return NULL;
    case CONFIG_STRING:
    case CONFIG_LIST:
        return field[0] ? field : (key->default_value ? field : NULL);
    }
    return NULL;
}
