/*
 * topic_config.c - the table of Kafka topic configs and their resolution.
 */
#include "cluster/topic_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/errors.h"

#define LONG_MAX_TEXT "9223372036854775807"
#define I32 -2147483648.0, 2147483647.0
#define I64 -9.3e18, 9.3e18

static const struct topic_config_def defs[] = {
    {"cleanup.policy", "log.cleanup.policy", KAFKA_CONFIG_TYPE_LIST, "delete", 0, 0, "delete,compact",
     "The retention policy of old log segments: delete, compact, or both."},
    {"compression.gzip.level", "compression.gzip.level", KAFKA_CONFIG_TYPE_INT, "-1", -1, 9, NULL,
     "The level of gzip compression when compression.type is gzip: 1 to 9, or -1 for the codec's default."},
    {"compression.lz4.level", "compression.lz4.level", KAFKA_CONFIG_TYPE_INT, "9", 1, 17, NULL,
     "The level of lz4 compression when compression.type is lz4."},
    {"compression.type", "compression.type", KAFKA_CONFIG_TYPE_STRING, "producer", 0, 0,
     "uncompressed,zstd,lz4,snappy,gzip,producer", "The final compression type of the topic's data."},
    {"compression.zstd.level", "compression.zstd.level", KAFKA_CONFIG_TYPE_INT, "3", -131072, 22, NULL,
     "The level of zstd compression when compression.type is zstd."},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms", KAFKA_CONFIG_TYPE_LONG, "86400000", 0, 9.3e18, NULL,
     "How long delete tombstones are kept on compacted topics."},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms", KAFKA_CONFIG_TYPE_LONG, "60000", 0, 9.3e18, NULL,
     "Time to wait before deleting a file from the filesystem."},
    {"flush.messages", "log.flush.interval.messages", KAFKA_CONFIG_TYPE_LONG, LONG_MAX_TEXT, 1, 9.3e18, NULL,
     "Messages written to a partition before an fsync is forced."},
    {"flush.ms", "log.flush.interval.ms", KAFKA_CONFIG_TYPE_LONG, LONG_MAX_TEXT, 0, 9.3e18, NULL,
     "Time after which an fsync of the log is forced."},
    {"follower.replication.throttled.replicas", NULL, KAFKA_CONFIG_TYPE_LIST, "", 0, 0, NULL,
     "Replicas whose log replication is throttled on the follower side."},
    {"index.interval.bytes", "log.index.interval.bytes", KAFKA_CONFIG_TYPE_INT, "4096", 0, 2147483647.0, NULL,
     "How often an entry is added to the offset index."},
    {"leader.replication.throttled.replicas", NULL, KAFKA_CONFIG_TYPE_LIST, "", 0, 0, NULL,
     "Replicas whose log replication is throttled on the leader side."},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", KAFKA_CONFIG_TYPE_LONG, LONG_MAX_TEXT, 1, 9.3e18,
     NULL, "Maximum time a message stays ineligible for compaction."},
    {"max.message.bytes", "message.max.bytes", KAFKA_CONFIG_TYPE_INT, "1048588", 0, 2147483647.0, NULL,
     "The largest record batch size allowed."},
    {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", KAFKA_CONFIG_TYPE_LONG, LONG_MAX_TEXT,
     0, 9.3e18, NULL, "How far in the future a message timestamp may be (CreateTime)."},
    {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", KAFKA_CONFIG_TYPE_LONG,
     LONG_MAX_TEXT, 0, 9.3e18, NULL, "How far in the past a message timestamp may be (CreateTime)."},
    {"message.timestamp.type", "log.message.timestamp.type", KAFKA_CONFIG_TYPE_STRING, "CreateTime", 0, 0,
     "CreateTime,LogAppendTime", "Whether record timestamps are the producer's or the broker's append time."},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", KAFKA_CONFIG_TYPE_DOUBLE, "0.5", 0, 1, NULL,
     "Dirty ratio above which the log cleaner compacts the log."},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", KAFKA_CONFIG_TYPE_LONG, "0", 0, 9.3e18, NULL,
     "Minimum time a message stays uncompacted."},
    {"min.insync.replicas", "min.insync.replicas", KAFKA_CONFIG_TYPE_INT, "1", 1, 2147483647.0, NULL,
     "Minimum in-sync replicas that must acknowledge an acks=all write."},
    {"preallocate", "log.preallocate", KAFKA_CONFIG_TYPE_BOOLEAN, "true", 0, 0, NULL,
     "Allocate a busy partition's next segment on disk ahead (Eddy's default: true; Kafka's: false)."},
    {"retention.bytes", "log.retention.bytes", KAFKA_CONFIG_TYPE_LONG, "-1", I64, NULL,
     "Maximum size a partition can grow to before old segments are discarded (-1: no limit)."},
    {"retention.ms", "log.retention.ms,log.retention.minutes,log.retention.hours", KAFKA_CONFIG_TYPE_LONG,
     "604800000", -1, 9.3e18, NULL, "Maximum time a log segment is kept before it is discarded (-1: forever)."},
    {"segment.bytes", "log.segment.bytes", KAFKA_CONFIG_TYPE_INT, "1073741824", 14, 2147483647.0, NULL,
     "The segment file size of the log."},
    {"segment.index.bytes", "log.index.size.max.bytes", KAFKA_CONFIG_TYPE_INT, "10485760", 4, 2147483647.0, NULL,
     "The size of the index that maps offsets to file positions."},
    {"segment.jitter.ms", "log.roll.jitter.ms", KAFKA_CONFIG_TYPE_LONG, "0", 0, 9.3e18, NULL,
     "Maximum random jitter subtracted from the scheduled segment roll time."},
    {"segment.ms", "log.roll.ms,log.roll.hours", KAFKA_CONFIG_TYPE_LONG, "604800000", 1, 9.3e18, NULL,
     "Time after which the log is rolled even if the segment is not full."},
    {"unclean.leader.election.enable", "unclean.leader.election.enable", KAFKA_CONFIG_TYPE_BOOLEAN, "false", 0, 0,
     NULL, "Whether replicas not in the ISR may be elected leader as a last resort."},
};

#define DEF_COUNT (sizeof defs / sizeof defs[0])

const struct topic_config_def *topic_config_defs(size_t *count)
{
    *count = DEF_COUNT;
    return defs;
}

const struct topic_config_def *topic_config_find(const char *name, size_t len)
{
    for (size_t i = 0; i < DEF_COUNT; i++)
        if (strlen(defs[i].name) == len && memcmp(defs[i].name, name, len) == 0)
            return &defs[i];
    return NULL;
}

/* Length of the first synonym of def (0 if none). */
static size_t first_synonym_len(const struct topic_config_def *def)
{
    return def->synonyms ? strcspn(def->synonyms, ",") : 0;
}

const struct topic_config_def *topic_config_by_broker_name(const char *name, size_t len)
{
    for (size_t i = 0; i < DEF_COUNT; i++)
        if (first_synonym_len(&defs[i]) == len && len > 0 && memcmp(defs[i].synonyms, name, len) == 0)
            return &defs[i];
    return NULL;
}

/* ---------------------------------------------------------------- validation */

/* Case matters, as in Kafka's ValidString/ValidList: "Delete" would pass a
 * case-blind check and then match nothing where the value is used. */
static bool in_choices(const char *choices, const char *v, size_t len)
{
    const char *p = choices;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, v, len) == 0)
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

static const char *type_name(int type)
{
    switch (type) {
    case KAFKA_CONFIG_TYPE_INT: return "INT";
    case KAFKA_CONFIG_TYPE_LONG: return "LONG";
    case KAFKA_CONFIG_TYPE_DOUBLE: return "DOUBLE";
    case KAFKA_CONFIG_TYPE_BOOLEAN: return "BOOLEAN";
    case KAFKA_CONFIG_TYPE_LIST: return "LIST";
    default: return "STRING";
    }
}

static int16_t invalid(const struct topic_config_def *def, const char *v, size_t len, const char *why, char *msg,
                       size_t cap)
{
    snprintf(msg, cap, "Invalid value %.*s for configuration %s: %s", (int)(len > 200 ? 200 : len), v, def->name,
             why);
    return KAFKA_INVALID_CONFIG;
}

static int16_t validate_number(const struct topic_config_def *def, const char *copy, size_t len, char *msg,
                               size_t cap)
{
    char why[160];
    char *end;
    errno = 0;
    double d;
    if (def->type == KAFKA_CONFIG_TYPE_DOUBLE) {
        d = strtod(copy, &end);
    } else {
        long long ll = strtoll(copy, &end, 10);
        d = (double)ll;
        if (def->type == KAFKA_CONFIG_TYPE_INT && (ll < -2147483648LL || ll > 2147483647LL))
            errno = ERANGE;
    }
    if (end == copy || *end != '\0' || errno == ERANGE || isnan(d)) {
        snprintf(why, sizeof why, "Not a number of type %s", type_name(def->type));
        return invalid(def, copy, len, why, msg, cap);
    }
    if (d < def->min || d > def->max || (d == 0 && strcmp(def->name, "compression.gzip.level") == 0)) {
        if (strcmp(def->name, "compression.gzip.level") == 0)
            snprintf(why, sizeof why, "Value must be between 1 and 9, or -1");
        else if (def->max >= 9e18 || def->max == 2147483647.0)
            snprintf(why, sizeof why, "Value must be at least %.17g", def->min);
        else
            snprintf(why, sizeof why, "Value must be between %.17g and %.17g", def->min, def->max);
        return invalid(def, copy, len, why, msg, cap);
    }
    return 0;
}

static int16_t validate_list(const struct topic_config_def *def, const char *copy, size_t len, char *msg,
                             size_t cap)
{
    if (!def->choices)
        return 0;
    const char *p = copy;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        size_t item = n;
        while (item > 0 && p[item - 1] == ' ')
            item--;
        if (!in_choices(def->choices, p, item)) {
            char why[200];
            snprintf(why, sizeof why, "String must be one of: %s", def->choices);
            return invalid(def, copy, len, why, msg, cap);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int16_t topic_config_validate(const struct topic_config_def *def, const char *value, size_t len, char *msg,
                              size_t msg_cap)
{
    if (!value)
        return invalid(def, "null", 4, "null is not a valid value", msg, msg_cap);
    char copy[1024];
    if (len >= sizeof copy)
        return invalid(def, value, len, "value too long", msg, msg_cap);
    memcpy(copy, value, len);
    copy[len] = '\0';
    switch (def->type) {
    case KAFKA_CONFIG_TYPE_INT:
    case KAFKA_CONFIG_TYPE_LONG:
    case KAFKA_CONFIG_TYPE_DOUBLE:
        return validate_number(def, copy, len, msg, msg_cap);
    case KAFKA_CONFIG_TYPE_BOOLEAN:
        if (strcasecmp(copy, "true") == 0 || strcasecmp(copy, "false") == 0)
            return 0;
        return invalid(def, copy, len, "Expected value to be either true or false", msg, msg_cap);
    case KAFKA_CONFIG_TYPE_LIST:
        return validate_list(def, copy, len, msg, msg_cap);
    default:
        if (!def->choices || in_choices(def->choices, copy, len))
            return 0;
        char why[200];
        snprintf(why, sizeof why, "String must be one of: %s", def->choices);
        return invalid(def, copy, len, why, msg, msg_cap);
    }
}

/* ---------------------------------------------------------------- resolution */

/* Whether any of def's broker synonyms is set in server.properties. */
static bool static_broker_set(const struct broker_config *cfg, const struct topic_config_def *def)
{
    if (!def->synonyms)
        return false;
    const char *p = def->synonyms;
    while (*p) {
        size_t n = strcspn(p, ",");
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        if (config_key_find(name) && config_is_set(cfg, name))
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

static void add(struct config_synonym *out, int *n, const char *name, const char *value, int8_t source)
{
    struct config_synonym *s = &out[(*n)++];
    snprintf(s->name_buf, sizeof s->name_buf, "%s", name);
    s->name = s->name_buf;
    s->source = source;
    snprintf(s->buf, sizeof s->buf, "%s", value ? value : "");
    s->value = value && strlen(value) < sizeof s->buf ? s->buf : value;
}

int topic_config_synonyms(const struct broker_config *cfg, const struct metadata_image *img,
                          const struct topic_state *t, const struct topic_config_def *def,
                          struct config_synonym out[TOPIC_CONFIG_MAX_SYNONYMS])
{
    int n = 0;
    const char *v;
    if (t && (v = config_entry_get(t->configs, def->name)) != NULL)
        add(out, &n, def->name, v, CONFIG_SOURCE_DYNAMIC_TOPIC);
    char broker_buf[64];
    const char *broker_name = NULL;
    size_t syn_len = first_synonym_len(def);
    if (syn_len > 0) {
        snprintf(broker_buf, sizeof broker_buf, "%.*s", (int)syn_len, def->synonyms);
        broker_name = broker_buf;
    }
    if (broker_name && img) {
        char node[16];
        snprintf(node, sizeof node, "%lld", (long long)cfg->node_id);
        v = config_entry_get(metadata_broker_configs_get(img, node, strlen(node)), broker_name);
        if (v)
            add(out, &n, broker_name, v, CONFIG_SOURCE_DYNAMIC_BROKER);
        v = config_entry_get(metadata_broker_configs_get(img, "", 0), broker_name);
        if (v)
            add(out, &n, broker_name, v, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    }
    if (broker_name && static_broker_set(cfg, def)) {
        const struct config_key *key = config_key_find(broker_name);
        char buf[64];
        v = key ? config_value_string(cfg, key, buf, sizeof buf) : NULL;
        if (v)
            add(out, &n, broker_name, v, CONFIG_SOURCE_STATIC_BROKER);
    }
    add(out, &n, broker_name ? broker_name : def->name, def->default_value, CONFIG_SOURCE_DEFAULT);
    return n;
}

const char *topic_config_value(const struct broker_config *cfg, const struct metadata_image *img,
                               const struct topic_state *t, const char *name, char *buf, size_t cap)
{
    const struct topic_config_def *def = topic_config_find(name, strlen(name));
    if (!def)
        return NULL;
    struct config_synonym syn[TOPIC_CONFIG_MAX_SYNONYMS];
    topic_config_synonyms(cfg, img, t, def, syn);
    snprintf(buf, cap, "%s", syn[0].value ? syn[0].value : "");
    return buf;
}

static int64_t value_long(const struct broker_config *cfg, const struct metadata_image *img,
                          const struct topic_state *t, const char *name)
{
    char buf[128];
    const char *v = topic_config_value(cfg, img, t, name, buf, sizeof buf);
    return v ? strtoll(v, NULL, 10) : 0;
}

/* Kafka's Long.MAX_VALUE "never" becomes the log's -1. */
static int64_t never_as_minus_one(int64_t v)
{
    return v >= INT64_MAX ? -1 : v;
}

static int cleanup_flags(const char *v)
{
    int flags = 0;
    if (strstr(v, "delete"))
        flags |= LOG_CLEANUP_DELETE;
    if (strstr(v, "compact"))
        flags |= LOG_CLEANUP_COMPACT;
    return flags;
}

/* compression.type as a codec (the values are checked when set). */
static int compression_codec(const char *v)
{
    static const char *const names[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};
    for (int codec = 0; codec < 5; codec++)
        if (v && strcmp(v, names[codec]) == 0)
            return codec; /* record_batch.h's COMPRESSION_* numbering, as on the wire */
    return LOG_COMPRESSION_PRODUCER;
}

void topic_log_config(const struct broker_config *cfg, const struct metadata_image *img,
                      const struct topic_state *t, struct log_config *out)
{
    char buf[128];
    log_config_defaults(out);
    out->segment_bytes = value_long(cfg, img, t, "segment.bytes");
    out->segment_ms = value_long(cfg, img, t, "segment.ms");
    out->index_interval_bytes = (int32_t)value_long(cfg, img, t, "index.interval.bytes");
    out->retention_ms = value_long(cfg, img, t, "retention.ms");
    out->retention_bytes = value_long(cfg, img, t, "retention.bytes");
    out->cleanup_policy = cleanup_flags(topic_config_value(cfg, img, t, "cleanup.policy", buf, sizeof buf));
    out->delete_retention_ms = value_long(cfg, img, t, "delete.retention.ms");
    out->min_cleanable_dirty_ratio = strtod(topic_config_value(cfg, img, t, "min.cleanable.dirty.ratio", buf,
                                                               sizeof buf), NULL);
    out->min_compaction_lag_ms = value_long(cfg, img, t, "min.compaction.lag.ms");
    out->flush_messages = never_as_minus_one(value_long(cfg, img, t, "flush.messages"));
    out->flush_ms = never_as_minus_one(value_long(cfg, img, t, "flush.ms"));
    out->max_message_bytes = (int32_t)value_long(cfg, img, t, "max.message.bytes");
    const char *ts = topic_config_value(cfg, img, t, "message.timestamp.type", buf, sizeof buf);
    out->message_timestamp_type =
        strcmp(ts, "LogAppendTime") == 0 ? LOG_TIMESTAMP_LOG_APPEND_TIME : LOG_TIMESTAMP_CREATE_TIME;
    out->timestamp_before_max_ms = value_long(cfg, img, t, "message.timestamp.before.max.ms");
    out->timestamp_after_max_ms = value_long(cfg, img, t, "message.timestamp.after.max.ms");
    out->compression_type = compression_codec(topic_config_value(cfg, img, t, "compression.type", buf, sizeof buf));
    static const char *const level_names[] = {NULL, "compression.gzip.level", NULL, "compression.lz4.level",
                                              "compression.zstd.level"};
    const char *level = out->compression_type > 0 && out->compression_type < 5 ? level_names[out->compression_type] : NULL;
    if (level)
        out->compression_level = (int32_t)value_long(cfg, img, t, level);
    out->min_insync_replicas = (int32_t)value_long(cfg, img, t, "min.insync.replicas");
    out->preallocate = strcmp(topic_config_value(cfg, img, t, "preallocate", buf, sizeof buf), "false") != 0;
}

