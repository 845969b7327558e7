/*
 * list_metadata.c - what a librdkafka application sees of a broker's
 * metadata, for test_foundation_metadata.py.
 *
 *   list_metadata BOOTSTRAP [TOPIC]
 *
 * Asks for TOPIC (all topics without it) through rd_kafka_metadata() on a
 * producer handle, which lets the broker auto-create the topic, and prints
 * one line per fact so the test can compare them:
 *   orig_broker <id> <name>
 *   broker <id> <host>:<port>
 *   topic <name> err <code> partitions <n>
 *   partition <topic> <id> err <code> leader <id> replicas <n> isrs <n>
 * Exit status 0 when the metadata call succeeded, 1 otherwise.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

static void print_metadata(const struct rd_kafka_metadata *md)
{
    printf("orig_broker %d %s\n", md->orig_broker_id, md->orig_broker_name);
    for (int i = 0; i < md->broker_cnt; i++)
        printf("broker %d %s:%d\n", md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        printf("topic %s err %d partitions %d\n", t->topic, t->err, t->partition_cnt);
        for (int p = 0; p < t->partition_cnt; p++) {
            const rd_kafka_metadata_partition_t *mp = &t->partitions[p];
            printf("partition %s %d err %d leader %d replicas %d isrs %d\n", t->topic, mp->id, mp->err,
                   mp->leader, mp->replica_cnt, mp->isr_cnt);
        }
    }
}

static rd_kafka_t *make_producer(const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "true", err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new takes conf only on success */
    }
    return rk;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP [TOPIC]\n", argv[0]);
        return 2;
    }
    rd_kafka_t *rk = make_producer(argv[1]);
    if (!rk)
        return 1;
    rd_kafka_topic_t *topic = argc == 3 ? rd_kafka_topic_new(rk, argv[2], NULL) : NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, topic == NULL, topic, &md, 10000);
    int status = 0;
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "rd_kafka_metadata: %s\n", rd_kafka_err2str(rc));
        status = 1;
    } else {
        print_metadata(md);
        rd_kafka_metadata_destroy(md);
    }
    if (topic)
        rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    return status;
}
