/*
 * test_metadata_log.c - the metadata layer without a network: record
 * framing round trips, replay into the image, the durable metadata log with
 * snapshots (restart, torn tail, damaged snapshot), meta.properties, topic
 * config validation and precedence, and the controller's Kafka rules with a
 * fake storage that records what it is told.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "cluster/controller.h"
#include "cluster/meta_properties.h"
#include "cluster/metadata_log.h"
#include "cluster/metadata_record.h"
#include "cluster/topic_config.h"
#include "log_test_util.h"
#include "protocol/errors.h"
#include "util/logger.h"

/* Defaults, with the broker log level at WARN (config_finish applies it). */
static void quiet_config(struct broker_config *cfg)
{
    const char *err;
    config_defaults(cfg);
    config_set(cfg, "eddy.log.level", "WARN", &err);
    config_finish(cfg);
}

/* ---------------------------------------------------------------- fake storage */

struct fake_storage {
    int created, deleted, configured;
    struct log_config last_config;
    char last_topic[256];
};

static void fake_create(void *ctx, const struct topic_state *t, int32_t from, const struct log_config *config)
{
    struct fake_storage *s = ctx;
    s->created += t->partition_count - from;
    s->last_config = *config;
    snprintf(s->last_topic, sizeof s->last_topic, "%s", t->name);
}

static void fake_delete(void *ctx, const char *topic, int32_t count)
{
    struct fake_storage *s = ctx;
    s->deleted += count;
    snprintf(s->last_topic, sizeof s->last_topic, "%s", topic);
}

static void fake_set_config(void *ctx, const struct topic_state *t, const struct log_config *config)
{
    struct fake_storage *s = ctx;
    s->configured++;
    s->last_config = *config;
    snprintf(s->last_topic, sizeof s->last_topic, "%s", t->name);
}

static struct broker_registration self_reg(void)
{
    struct broker_registration r;
    memset(&r, 0, sizeof r);
    r.node_id = 1;
    r.endpoint_count = 1;
    snprintf(r.endpoints[0].listener, sizeof r.endpoints[0].listener, "PLAINTEXT");
    snprintf(r.endpoints[0].host, sizeof r.endpoints[0].host, "127.0.0.1");
    r.endpoints[0].port = 9092;
    return r;
}

static struct topic_spec spec_of(const char *name, int32_t partitions, int16_t rf)
{
    struct topic_spec s;
    memset(&s, 0, sizeof s);
    s.name = kstr_from_cstr(name);
    s.partitions = partitions;
    s.replication_factor = rf;
    return s;
}

/* ---------------------------------------------------------------- records */

static void test_record_round_trip(void)
{
    struct metadata_record rec, back;
    uint8_t buf[512];
    struct arena a;
    arena_init(&a);

    metadata_record_init(&rec, METADATA_TOPIC);
    rec.u.topic.name = kstr_from_cstr("orders");
    rec.u.topic.topic_id = uuid_random();
    int n = metadata_record_encode(&rec, buf, sizeof buf);
    CHECK(n > 3 && (size_t)n == metadata_record_size(&rec));
    CHECK(buf[0] == 1 && buf[1] == METADATA_TOPIC && buf[2] == 0); /* frame version, api key, version */
    CHECK(metadata_record_decode(buf, (size_t)n, &back, &a) == 0);
    CHECK(back.type == METADATA_TOPIC && kstr_eq_cstr(back.u.topic.name, "orders"));
    CHECK(kuuid_eq(back.u.topic.topic_id, rec.u.topic.topic_id));

    int32_t replicas[] = {1};
    metadata_record_init(&rec, METADATA_PARTITION);
    rec.u.partition.topic_id = back.u.topic.topic_id;
    rec.u.partition.partition_id = 0;
    rec.u.partition.replicas = replicas;
    rec.u.partition.replicas_count = 1;
    rec.u.partition.isr = replicas;
    rec.u.partition.isr_count = 1;
    rec.u.partition.leader = 1;
    n = metadata_record_encode(&rec, buf, sizeof buf);
    CHECK(n > 0 && metadata_record_decode(buf, (size_t)n, &back, &a) == 0);
    CHECK(back.u.partition.leader == 1 && back.u.partition.replicas_count == 1 && back.u.partition.replicas[0] == 1);

    metadata_record_init(&rec, METADATA_CONFIG);
    rec.u.config.resource_type = CONFIG_RESOURCE_TOPIC;
    rec.u.config.resource_name = kstr_from_cstr("orders");
    rec.u.config.name = kstr_from_cstr("retention.ms");
    rec.u.config.value = kstr_null();
    n = metadata_record_encode(&rec, buf, sizeof buf);
    CHECK(n > 0 && metadata_record_decode(buf, (size_t)n, &back, &a) == 0);
    CHECK(kstr_is_null(back.u.config.value));

    /* Unknown record types are skippable, garbage is not. */
    uint8_t unknown[] = {1, 99, 0, 0};
    CHECK(metadata_record_decode(unknown, sizeof unknown, &back, &a) == -ENOTSUP);
    uint8_t bad_frame[] = {7, 2, 0, 0};
    CHECK(metadata_record_decode(bad_frame, sizeof bad_frame, &back, &a) == -EINVAL);
    CHECK(metadata_record_decode(buf, 2, &back, &a) == -EINVAL);
    arena_free(&a);
    printf("record framing round trips: checked\n");
}

/* ---------------------------------------------------------------- image indexes */

static void test_image_indexes(void)
{
    enum { N = 10000 };
    struct metadata_image img;
    metadata_image_init(&img);
    static struct kuuid ids[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        ids[i] = uuid_random();
        snprintf(name, sizeof name, "topic-%d", i);
        CHECK(metadata_topic_new(&img, name, strlen(name), ids[i]) != NULL);
    }
    for (int i = 0; i < N; i += 2)
        metadata_topic_remove(&img, metadata_topic_by_id(&img, ids[i]));
    int found = 0, gone = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "topic-%d", i);
        struct topic_state *by_name = metadata_topic_by_name(&img, name, strlen(name));
        struct topic_state *by_id = metadata_topic_by_id(&img, ids[i]);
        if (i % 2 == 0) {
            gone += !by_name && !by_id;
        } else {
            found += by_name && by_name == by_id && by_name->name_len == strlen(name);
        }
    }
    CHECK(found == N / 2 && gone == N / 2 && img.topic_count == N / 2);
    CHECK(metadata_topic_colliding(&img, "topic.1", 7) == NULL);
    CHECK(metadata_topic_new(&img, "a.b_c", 5, uuid_random()) != NULL);
    CHECK(metadata_topic_colliding(&img, "a_b.c", 5) == metadata_topic_by_name(&img, "a.b_c", 5));
    metadata_image_free(&img);
    printf("image name/id indexes over %d topics with removals: checked\n", N);
}

/* ---------------------------------------------------------------- config */

static void test_topic_config(void)
{
    struct broker_config cfg;
    quiet_config(&cfg);
    char msg[256];
    const struct topic_config_def *d = topic_config_find("retention.ms", 12);
    CHECK(d && topic_config_validate(d, "1000", 4, msg, sizeof msg) == 0);
    CHECK(topic_config_validate(d, "-1", 2, msg, sizeof msg) == 0);
    CHECK(topic_config_validate(d, "-2", 2, msg, sizeof msg) == KAFKA_INVALID_CONFIG);
    CHECK(topic_config_validate(d, "12x", 3, msg, sizeof msg) == KAFKA_INVALID_CONFIG);
    CHECK(strstr(msg, "retention.ms") != NULL);
    d = topic_config_find("cleanup.policy", 14);
    CHECK(topic_config_validate(d, "compact,delete", 14, msg, sizeof msg) == 0);
    CHECK(topic_config_validate(d, "compact,shred", 13, msg, sizeof msg) == KAFKA_INVALID_CONFIG);
    d = topic_config_find("min.cleanable.dirty.ratio", 25);
    CHECK(topic_config_validate(d, "0.7", 3, msg, sizeof msg) == 0);
    CHECK(topic_config_validate(d, "1.5", 3, msg, sizeof msg) == KAFKA_INVALID_CONFIG);
    d = topic_config_find("message.timestamp.type", 22);
    CHECK(topic_config_validate(d, "LogAppendTime", 13, msg, sizeof msg) == 0);
    CHECK(topic_config_validate(d, "Whenever", 8, msg, sizeof msg) == KAFKA_INVALID_CONFIG);
    CHECK(topic_config_find("no.such", 7) == NULL);
    CHECK(topic_config_by_broker_name("log.retention.ms", 16) == topic_config_find("retention.ms", 12));

    /* Precedence: topic > dynamic broker > static broker > default. */
    struct metadata_image img;
    metadata_image_init(&img);
    struct topic_state *t = metadata_topic_add(&img, "t", uuid_random(), 1, 1, 1);
    struct log_config lc;
    topic_log_config(&cfg, &img, t, &lc);
    CHECK_EQ_I64(lc.retention_ms, 604800000);
    CHECK_EQ_I64(lc.flush_messages, -1); /* Long.MAX_VALUE: never */
    CHECK(lc.cleanup_policy == LOG_CLEANUP_DELETE);
    const char *err;
    CHECK(config_set(&cfg, "log.retention.hours", "1", &err) == 0);
    cfg.log_retention_ms = -2;
    config_finish(&cfg);
    topic_log_config(&cfg, &img, t, &lc);
    CHECK_EQ_I64(lc.retention_ms, 3600000);
    config_entry_set(metadata_broker_configs(&img, "", 0, true), "log.retention.ms", 16, "5000", 4);
    topic_log_config(&cfg, &img, t, &lc);
    CHECK_EQ_I64(lc.retention_ms, 5000);
    config_entry_set(metadata_broker_configs(&img, "1", 1, true), "log.retention.ms", 16, "6000", 4);
    topic_log_config(&cfg, &img, t, &lc);
    CHECK_EQ_I64(lc.retention_ms, 6000);
    config_entry_set(&t->configs, "retention.ms", 12, "7000", 4);
    config_entry_set(&t->configs, "cleanup.policy", 14, "compact", 7);
    topic_log_config(&cfg, &img, t, &lc);
    CHECK_EQ_I64(lc.retention_ms, 7000);
    CHECK(lc.cleanup_policy == LOG_CLEANUP_COMPACT);
    struct config_synonym syn[TOPIC_CONFIG_MAX_SYNONYMS];
    int n = topic_config_synonyms(&cfg, &img, t, topic_config_find("retention.ms", 12), syn);
    CHECK(n == 5);
    CHECK(syn[0].source == CONFIG_SOURCE_DYNAMIC_TOPIC && strcmp(syn[0].value, "7000") == 0);
    CHECK(syn[1].source == CONFIG_SOURCE_DYNAMIC_BROKER && strcmp(syn[1].name, "log.retention.ms") == 0);
    CHECK(syn[2].source == CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    CHECK(syn[3].source == CONFIG_SOURCE_STATIC_BROKER && strcmp(syn[3].value, "3600000") == 0);
    CHECK(syn[4].source == CONFIG_SOURCE_DEFAULT && strcmp(syn[4].value, "604800000") == 0);
    metadata_image_free(&img);
    printf("topic config validation and precedence: checked\n");
}

/* ---------------------------------------------------------------- controller rules */

static void test_controller_rules(void)
{
    struct broker_config cfg;
    quiet_config(&cfg);
    struct metadata_image img;
    metadata_image_init(&img);
    struct controller c;
    controller_init(&c, &img, &cfg, NULL);
    struct fake_storage fs = {0};
    c.storage = (struct controller_storage){&fs, fake_create, fake_delete, fake_set_config, NULL};
    struct broker_registration self = self_reg();
    CHECK(controller_start(&c, &self) == 0);
    CHECK(img.broker_count == 1 && img.metadata_version > 0);

    char msg[512];
    struct topic_created out;
    struct topic_spec s = spec_of("a.b", 3, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == 0);
    CHECK(fs.created == 3 && out.partitions == 3);
    s = spec_of("a_b", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_INVALID_TOPIC_EXCEPTION);
    CHECK(strstr(msg, "collides") != NULL);
    s = spec_of("a.b", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_TOPIC_ALREADY_EXISTS);
    s = spec_of("bad/name", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_INVALID_TOPIC_EXCEPTION);
    s = spec_of("..", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_INVALID_TOPIC_EXCEPTION);
    s = spec_of("ok", 0, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_INVALID_PARTITIONS);
    s = spec_of("ok", 1, 2);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_INVALID_REPLICATION_FACTOR);
    s = spec_of("ok", 1, 0);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_INVALID_REPLICATION_FACTOR);
    s = spec_of("ok", -1, -1);
    CHECK(controller_create_topic(&c, &s, true, &out, msg, sizeof msg) == 0);
    CHECK(out.partitions == 1 && out.replication_factor == 1 && !metadata_topic_by_name(&img, "ok", 2));

    int32_t b1[] = {1}, b2[] = {2}, b11[] = {1, 1};
    struct replica_assignment asg[2] = {{0, 1, b1}, {1, 1, b1}};
    s = spec_of("assigned", -1, -1);
    s.assignments = asg;
    s.assignment_count = 2;
    CHECK(controller_create_topic(&c, &s, true, &out, msg, sizeof msg) == 0 && out.partitions == 2);
    asg[1].brokers = b2;
    CHECK(controller_create_topic(&c, &s, true, &out, msg, sizeof msg) == KAFKA_INVALID_REPLICA_ASSIGNMENT);
    asg[1].brokers = b11;
    asg[1].broker_count = 2;
    CHECK(controller_create_topic(&c, &s, true, &out, msg, sizeof msg) == KAFKA_INVALID_REPLICA_ASSIGNMENT);
    asg[1] = (struct replica_assignment){2, 1, b1};
    CHECK(controller_create_topic(&c, &s, true, &out, msg, sizeof msg) == KAFKA_INVALID_REPLICA_ASSIGNMENT);
    s.partitions = 2;
    CHECK(controller_create_topic(&c, &s, true, &out, msg, sizeof msg) == KAFKA_INVALID_REQUEST);

    struct config_kv kv[] = {{kstr_from_cstr("segment.bytes"), kstr_from_cstr("1048576")}};
    s = spec_of("configured", 1, 1);
    s.configs = kv;
    s.config_count = 1;
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == 0);
    CHECK_EQ_I64(fs.last_config.segment_bytes, 1048576);
    kv[0].value = kstr_null();
    s = spec_of("nullcfg", 1, 1);
    s.configs = kv;
    s.config_count = 1;
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_INVALID_REQUEST);

    /* Incremental alter: SET, APPEND/SUBTRACT on a list, DELETE; live push. */
    struct topic_state *t = metadata_topic_by_name(&img, "configured", 10);
    struct config_change ch[2] = {
        {kstr_from_cstr("retention.ms"), kstr_from_cstr("1234"), CONFIG_OP_SET},
        {kstr_from_cstr("cleanup.policy"), kstr_from_cstr("compact"), CONFIG_OP_APPEND},
    };
    int before = fs.configured;
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_TOPIC, kstr_from_cstr("configured"), ch, 2, false, false,
                                   msg, sizeof msg) == 0);
    CHECK(fs.configured == before + 1 && fs.last_config.retention_ms == 1234);
    CHECK(fs.last_config.cleanup_policy == (LOG_CLEANUP_DELETE | LOG_CLEANUP_COMPACT));
    CHECK(strcmp(config_entry_get(t->configs, "cleanup.policy"), "delete,compact") == 0);
    ch[0] = (struct config_change){kstr_from_cstr("cleanup.policy"), kstr_from_cstr("delete"), CONFIG_OP_SUBTRACT};
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_TOPIC, kstr_from_cstr("configured"), ch, 1, false, false,
                                   msg, sizeof msg) == 0);
    CHECK(strcmp(config_entry_get(t->configs, "cleanup.policy"), "compact") == 0);
    ch[0] = (struct config_change){kstr_from_cstr("retention.ms"), kstr_from_cstr("1"), CONFIG_OP_APPEND};
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_TOPIC, kstr_from_cstr("configured"), ch, 1, false, false,
                                   msg, sizeof msg) == KAFKA_INVALID_CONFIG);
    ch[0] = (struct config_change){kstr_from_cstr("retention.ms"), kstr_null(), CONFIG_OP_DELETE};
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_TOPIC, kstr_from_cstr("configured"), ch, 1, false, false,
                                   msg, sizeof msg) == 0);
    CHECK(config_entry_get(t->configs, "retention.ms") == NULL);
    CHECK_EQ_I64(fs.last_config.retention_ms, 604800000);
    ch[0] = (struct config_change){kstr_from_cstr("segment.bytes"), kstr_from_cstr("99"), CONFIG_OP_SET};
    ch[1] = ch[0];
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_TOPIC, kstr_from_cstr("configured"), ch, 2, false, false,
                                   msg, sizeof msg) == KAFKA_INVALID_REQUEST);
    ch[0] = (struct config_change){kstr_from_cstr("log.segment.bytes"), kstr_from_cstr("2000000"), CONFIG_OP_SET};
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_BROKER, kstr_from_cstr(""), ch, 1, false, false, msg,
                                   sizeof msg) == 0);
    struct log_config lc;
    topic_log_config(&cfg, &img, metadata_topic_by_name(&img, "a.b", 3), &lc);
    CHECK_EQ_I64(lc.segment_bytes, 2000000);
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_BROKER, kstr_from_cstr("7"), ch, 1, false, false, msg,
                                   sizeof msg) == KAFKA_INVALID_REQUEST);

    /* Partitions and deletion. */
    t = metadata_topic_by_name(&img, "a.b", 3);
    CHECK(controller_create_partitions(&c, t, 2, NULL, -1, false, msg, sizeof msg) == KAFKA_INVALID_PARTITIONS);
    CHECK(controller_create_partitions(&c, t, 3, NULL, -1, false, msg, sizeof msg) == KAFKA_INVALID_PARTITIONS);
    CHECK(controller_create_partitions(&c, t, 5, asg, 1, false, msg, sizeof msg) == KAFKA_INVALID_REPLICA_ASSIGNMENT);
    CHECK(controller_create_partitions(&c, t, 5, NULL, -1, false, msg, sizeof msg) == 0);
    CHECK(t->partition_count == 5 && t->partitions[4].leader == 1);
    int deleted = fs.deleted;
    CHECK(controller_delete_topic(&c, t, msg, sizeof msg) == 0);
    CHECK(fs.deleted == deleted + 5 && !metadata_topic_by_name(&img, "a.b", 3));
    s = spec_of("a_b", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == 0); /* no collision any more */
    s = spec_of("__consumer_offsets", 2, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == 0);
    t = metadata_topic_by_name(&img, "__consumer_offsets", 18);
    CHECK(t && t->internal);
    CHECK(controller_delete_topic(&c, t, msg, sizeof msg) == KAFKA_INVALID_TOPIC_EXCEPTION);
    cfg.delete_topic_enable = false;
    t = metadata_topic_by_name(&img, "a_b", 3);
    CHECK(controller_delete_topic(&c, t, msg, sizeof msg) == KAFKA_TOPIC_DELETION_DISABLED);
    metadata_image_free(&img);
    printf("controller rules (names, collisions, partitions, replicas, configs, deletion): checked\n");
}

/* ---------------------------------------------------------------- the log */

static bool images_equal(const struct metadata_image *a, const struct metadata_image *b)
{
    if (a->topic_count != b->topic_count || a->broker_count != b->broker_count ||
        a->metadata_version != b->metadata_version)
        return false;
    for (const struct topic_state *t = a->topics; t; t = t->next) {
        const struct topic_state *u = metadata_topic_by_id(b, t->id);
        if (!u || strcmp(t->name, u->name) != 0 || t->partition_count != u->partition_count)
            return false;
        if (config_entry_count(t->configs) != config_entry_count(u->configs))
            return false;
        for (const struct config_entry *e = t->configs; e; e = e->next) {
            const char *v = config_entry_get(u->configs, e->name);
            if (!v || strcmp(v, e->value) != 0)
                return false;
        }
        for (int32_t p = 0; p < t->partition_count; p++)
            if (t->partitions[p].leader != u->partitions[p].leader ||
                t->partitions[p].replica_count != u->partitions[p].replica_count)
                return false;
    }
    return true;
}

/* Open dir into a fresh image with a controller; start it (registers the broker). */
static struct metadata_log *open_with_controller(const char *dir, struct metadata_image *img, struct controller *c,
                                                 const struct broker_config *cfg)
{
    metadata_image_init(img);
    struct metadata_log *ml = NULL;
    CHECK(metadata_log_open(dir, img, &ml) == 0);
    controller_init(c, img, cfg, ml);
    struct broker_registration self = self_reg();
    CHECK(controller_start(c, &self) == 0);
    return ml;
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0, sl = strlen(suffix);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len >= sl && strcmp(e->d_name + len - sl, suffix) == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_log_replay_and_snapshots(void)
{
    char *root = test_make_dir("mdlog");
    char dir[300];
    snprintf(dir, sizeof dir, "%.200s/%s", root, METADATA_LOG_DIR_NAME);
    struct broker_config cfg;
    quiet_config(&cfg);
    char msg[512];
    struct topic_created out;

    struct metadata_image img, img2;
    struct controller c, c2;
    struct metadata_log *ml = open_with_controller(dir, &img, &c, &cfg);
    struct topic_spec s = spec_of("alpha", 4, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == 0);
    struct kuuid alpha_id = out.id;
    s = spec_of("beta", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == 0);
    struct config_change ch = {kstr_from_cstr("retention.ms"), kstr_from_cstr("42"), CONFIG_OP_SET};
    CHECK(controller_alter_configs(&c, CONFIG_RESOURCE_TOPIC, kstr_from_cstr("alpha"), &ch, 1, false, false, msg,
                                   sizeof msg) == 0);
    CHECK(controller_delete_topic(&c, metadata_topic_by_name(&img, "beta", 4), msg, sizeof msg) == 0);
    int64_t end = metadata_log_end_offset(ml);
    metadata_log_close(ml); /* like kill -9 as far as the image goes: nothing else was written */

    struct metadata_log *ml2 = open_with_controller(dir, &img2, &c2, &cfg);
    CHECK(metadata_log_replayed_records(ml2) == end);
    CHECK(metadata_topic_by_name(&img2, "beta", 4) == NULL);
    struct topic_state *a2 = metadata_topic_by_name(&img2, "alpha", 5);
    CHECK(a2 && kuuid_eq(a2->id, alpha_id) && a2->partition_count == 4);
    CHECK(a2 && strcmp(config_entry_get(a2->configs, "retention.ms"), "42") == 0);
    CHECK(img2.brokers[0].epoch == img.brokers[0].epoch + 1); /* a new registration per start */
    metadata_log_close(ml2);
    metadata_image_free(&img2);

    /* A torn tail (half a batch) is dropped by recovery; everything before stays. */
    char seg[700];
    snprintf(seg, sizeof seg, "%s/00000000000000000000.log", dir);
    int fd = open(seg, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    uint8_t junk[40] = {0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 1, 0};
    CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    close(fd);
    ml2 = open_with_controller(dir, &img2, &c2, &cfg);
    CHECK(metadata_topic_by_name(&img2, "alpha", 5) != NULL);

    /* Enough records trigger a snapshot; replay then starts from it. */
    s = spec_of("wide", METADATA_SNAPSHOT_INTERVAL_RECORDS + 10, 1);
    CHECK(controller_create_topic(&c2, &s, false, &out, msg, sizeof msg) == 0);
    CHECK(metadata_log_snapshot_offset(ml2) > 0);
    CHECK(count_files(dir, ".checkpoint") == 1);
    s = spec_of("after-snapshot", 2, 1);
    CHECK(controller_create_topic(&c2, &s, false, &out, msg, sizeof msg) == 0);
    metadata_log_close(ml2);

    struct metadata_image img3;
    struct controller c3;
    struct metadata_log *ml3 = open_with_controller(dir, &img3, &c3, &cfg);
    CHECK(metadata_log_snapshot_offset(ml3) > 0);
    CHECK(metadata_log_replayed_records(ml3) < 10);
    CHECK(images_equal(&img2, &img3));
    CHECK(metadata_topic_by_name(&img3, "wide", 4)->partition_count == METADATA_SNAPSHOT_INTERVAL_RECORDS + 10);
    metadata_log_close(ml3);
    metadata_image_free(&img3);

    /* A damaged snapshot is ignored: the log still holds everything (same segment). */
    char cmd[900];
    snprintf(cmd, sizeof cmd, "for f in %s/*.checkpoint; do printf 'XXXX' | dd of=$f bs=1 seek=30 conv=notrunc 2>/dev/null; done",
             dir);
    CHECK(system(cmd) == 0);
    ml3 = open_with_controller(dir, &img3, &c3, &cfg);
    CHECK(metadata_log_replayed_records(ml3) > METADATA_SNAPSHOT_INTERVAL_RECORDS); /* the whole log */
    CHECK(images_equal(&img2, &img3));
    CHECK(count_files(dir, ".checkpoint") == 1); /* the long replay wrote a fresh snapshot */
    metadata_log_close(ml3);
    metadata_image_free(&img3);
    metadata_image_free(&img2);
    metadata_image_free(&img);
    test_rm_rf(root);
    free(root);
    printf("metadata log: replay, torn tail, snapshots, damaged snapshot: checked\n");
}

static void test_meta_properties(void)
{
    char *root = test_make_dir("metaprops");
    char dirs[600], id1[CLUSTER_ID_MAX], id2[CLUSTER_ID_MAX];
    snprintf(dirs, sizeof dirs, "%s/a,%s/b/c", root, root);
    CHECK(meta_properties_ensure(dirs, 3, NULL, id1) == 0);
    CHECK(strlen(id1) == 22);
    CHECK(meta_properties_ensure(dirs, 3, "", id2) == 0);
    CHECK(strcmp(id1, id2) == 0);
    CHECK(meta_properties_ensure(dirs, 4, NULL, id2) < 0);          /* another node's dirs */
    CHECK(meta_properties_ensure(dirs, 3, "someOtherId", id2) < 0); /* another cluster */
    char first[256];
    CHECK(log_dirs_first(dirs, first, sizeof first) == 0 && strstr(first, "/a") != NULL);
    test_rm_rf(root);
    free(root);
    printf("meta.properties: generated, reused, mismatches refused: checked\n");
}

/* ---- asynchronous commits: operations pause until the syncer reports ---- */

/* An operation creating one topic per step, then "answering". */
struct create_op {
    struct controller_op op; /* first */
    struct controller *c;
    const char *names[3];
    int32_t partitions; /* per topic; 0: 2 */
    int next, steps;
    int16_t errors[3];
    bool answered;
};

static bool create_op_step(struct controller_op *op)
{
    struct create_op *co = (struct create_op *)op;
    co->steps++;
    while (co->next < 3 && co->names[co->next]) {
        char msg[256];
        struct topic_created out;
        struct topic_spec s = spec_of(co->names[co->next], co->partitions ? co->partitions : 2, 1);
        co->errors[co->next++] = controller_create_topic(co->c, &s, false, &out, msg, sizeof msg);
        if (controller_commit_pending(co->c))
            return false;
    }
    co->answered = true;
    return true;
}

static void ignore_synced(void *ctx)
{
    (void)ctx;
}

/* What the event loop does on the syncer's report, once the commit in flight (if any) is durable. */
static void deliver_report(struct controller *c)
{
    int error = 0;
    for (int i = 0; i < 5000 && c->pending && metadata_log_durable_end(c->log, &error) < c->pending_end; i++)
        usleep(1000);
    controller_on_synced(c);
}

static void test_async_commits(void)
{
    char *root = test_make_dir("mdasync");
    char dir[300];
    snprintf(dir, sizeof dir, "%.200s/%s", root, METADATA_LOG_DIR_NAME);
    struct broker_config cfg;
    quiet_config(&cfg);
    struct metadata_image img;
    struct controller c;
    struct fake_storage st = {0};
    struct metadata_log *ml = open_with_controller(dir, &img, &c, &cfg);
    c.storage = (struct controller_storage){.ctx = &st, .create_partitions = fake_create,
                                            .delete_partitions = fake_delete};
    CHECK(metadata_log_start_syncer(ml, ignore_synced, NULL) == 0);
    controller_enable_async(&c);

    /* Two operations: the second waits for the first; nothing is visible before it is durable. */
    struct create_op a = {.op.step = create_op_step, .c = &c, .names = {"a1", "a2"}};
    struct create_op b = {.op.step = create_op_step, .c = &c, .names = {"a1", "b1"}};
    controller_submit(&c, &a.op);
    controller_submit(&c, &b.op);
    CHECK(controller_commit_pending(&c) && a.steps == 1 && b.steps == 0);
    CHECK(metadata_topic_by_name(&img, "a1", 2) == NULL && st.created == 0);

    /* A change outside operations (auto-creation) is checked after the one in
     * flight is applied: the same name is refused, not recorded twice. */
    char msg[256];
    struct topic_created out;
    struct topic_spec s = spec_of("a1", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == KAFKA_TOPIC_ALREADY_EXISTS);
    CHECK(metadata_topic_by_name(&img, "a1", 2) && metadata_topic_by_name(&img, "a1", 2)->partition_count == 2);
    s = spec_of("auto", 1, 1);
    CHECK(controller_create_topic(&c, &s, false, &out, msg, sizeof msg) == 0);
    CHECK(metadata_topic_by_name(&img, "a1", 2) && metadata_topic_by_name(&img, "auto", 4) && st.created == 3);
    CHECK(a.steps == 1); /* it resumes on the syncer's report, not inside someone else's call */

    deliver_report(&c); /* a1's report: a resumes and commits a2 */
    CHECK(a.steps == 2 && !a.answered && controller_commit_pending(&c));
    deliver_report(&c); /* a2 durable: a answers; b runs, a1 exists, b1 in flight */
    CHECK(a.answered && a.errors[0] == 0 && a.errors[1] == 0);
    CHECK(b.steps == 1 && b.errors[0] == KAFKA_TOPIC_ALREADY_EXISTS && controller_commit_pending(&c));

    /* A snapshot falls due: the syncer thread writes it. */
    deliver_report(&c); /* b1 durable: b answers */
    struct create_op w = {.op.step = create_op_step, .c = &c, .names = {"wide"},
                          .partitions = METADATA_SNAPSHOT_INTERVAL_RECORDS};
    controller_submit(&c, &w.op);
    deliver_report(&c);
    CHECK(b.answered && w.answered && metadata_topic_by_name(&img, "wide", 4));
    for (int i = 0; i < 5000 && metadata_log_snapshot_offset(ml) < 0; i++)
        usleep(1000);
    CHECK(metadata_log_snapshot_offset(ml) == metadata_log_end_offset(ml));

    /* Shutdown finishes what is in flight and queued, synchronously. */
    struct create_op d = {.op.step = create_op_step, .c = &c, .names = {"d1", "d2", "d3"}};
    controller_submit(&c, &d.op);
    controller_finish(&c);
    CHECK(d.answered && metadata_topic_by_name(&img, "b1", 2) && metadata_topic_by_name(&img, "d3", 2));
    CHECK(st.created == 2 * 6 + 1 + METADATA_SNAPSHOT_INTERVAL_RECORDS);
    metadata_log_close(ml);

    /* Everything answered was durable: a restart has it all, from the snapshot on. */
    struct metadata_image img2;
    struct controller c2;
    struct metadata_log *ml2 = open_with_controller(dir, &img2, &c2, &cfg);
    CHECK(img2.topic_count == 8 && metadata_log_snapshot_offset(ml2) > 0);
    CHECK(metadata_log_replayed_records(ml2) < 10);
    metadata_log_close(ml2);
    metadata_image_free(&img2);
    metadata_image_free(&img);
    test_rm_rf(root);
    free(root);
    printf("metadata log: asynchronous commits, operation order, drain, snapshot on the syncer, finish: checked\n");
}

/*
 * A metadata fsync that fails under a change in flight stops the broker (as
 * Kafka's brokers do when their metadata log dir fails): the change cannot be
 * answered for, nor taken back from the log. In a child process; the syncer
 * thread is not started, so the fsync that fails is the drain's.
 */
static void test_failed_sync_halts(void)
{
    char *root = test_make_dir("mdhalt");
    char dir[300];
    snprintf(dir, sizeof dir, "%.200s/%s", root, METADATA_LOG_DIR_NAME);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct broker_config cfg;
        quiet_config(&cfg);
        struct metadata_image img;
        struct controller c;
        struct metadata_log *ml = open_with_controller(dir, &img, &c, &cfg);
        controller_enable_async(&c);
        struct create_op a = {.op.step = create_op_step, .c = &c, .names = {"h1"}};
        controller_submit(&c, &a.op);
        if (!controller_commit_pending(&c))
            _exit(3);
        metadata_log_inject_error(ml, -EIO);
        controller_drain(&c); /* fsyncs here, fails: must not return */
        _exit(2);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    test_rm_rf(root);
    free(root);
    printf("metadata log: a failed fsync under a change in flight halts: checked\n");
}

int main(void)
{
    logger_set_level(LOGGER_WARN);
    test_record_round_trip();
    test_image_indexes();
    test_topic_config();
    test_controller_rules();
    test_log_replay_and_snapshots();
    test_async_commits();
    test_failed_sync_halts();
    test_meta_properties();
    if (test_failures) {
        printf("%d failure(s)\n", test_failures);
        return 1;
    }
    printf("all metadata checks passed\n");
    return 0;
}
