/*
 * list_consumer_groups.c - librdkafka's admin ListConsumerGroups (ListGroups
 * v4 with a states filter), as newer tools and clients call it.
 *
 * Usage: list_consumer_groups BOOTSTRAP
 * Prints "group<TAB>state" per group and exits 0, or names the error and
 * exits 1 (any per-broker error counts).
 */
#include <stdio.h>

#include <librdkafka/rdkafka.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: list_consumer_groups BOOTSTRAP\n");
        return 2;
    }
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    rd_kafka_ListConsumerGroups(rk, NULL, queue);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, 15000);
    int rc = 0;
    if (!ev) {
        fprintf(stderr, "no answer within 15 s\n");
        rc = 1;
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "ListConsumerGroups: %s\n", rd_kafka_event_error_string(ev));
        rc = 1;
    } else {
        const rd_kafka_ListConsumerGroups_result_t *result = rd_kafka_event_ListConsumerGroups_result(ev);
        size_t valid_count, error_count;
        const rd_kafka_ConsumerGroupListing_t **valid =
            rd_kafka_ListConsumerGroups_result_valid(result, &valid_count);
        const rd_kafka_error_t **errors = rd_kafka_ListConsumerGroups_result_errors(result, &error_count);
        for (size_t i = 0; i < error_count; i++) {
            fprintf(stderr, "broker error: %s\n", rd_kafka_error_string(errors[i]));
            rc = 1;
        }
        for (size_t i = 0; i < valid_count; i++)
            printf("%s\t%s\n", rd_kafka_ConsumerGroupListing_group_id(valid[i]),
                   rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(valid[i])));
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
    return rc;
}
