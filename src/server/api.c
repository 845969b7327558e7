/*
 * api.c - the APIs Eddy serves and the versions it advertises.
 *
 * Ranges follow ../shared/kafka-protocol/CLIENTS.md: wide enough for
 * librdkafka, kafka-python, kafkajs and the Java client, and never wider than
 * what the handler really implements.
 */
#include "server/api.h"

#include "protocol/generated/api_table.h"

static const struct api_handler handlers[] = {
    {API_PRODUCE, 0, 11, handle_produce},
    {API_FETCH, 4, 17, handle_fetch},
    {API_LIST_OFFSETS, 0, 8, handle_list_offsets},
    {API_OFFSET_FOR_LEADER_EPOCH, 0, 4, handle_offset_for_leader_epoch},
    {API_INIT_PRODUCER_ID, 0, 4, handle_init_producer_id},
    {API_METADATA, 0, 12, handle_metadata},
    {API_API_VERSIONS, 0, 4, handle_api_versions},
    {API_CREATE_TOPICS, 0, 7, handle_create_topics},
    {API_DELETE_TOPICS, 0, 6, handle_delete_topics},
    {API_DELETE_RECORDS, 0, 2, handle_delete_records},
    {API_DESCRIBE_CONFIGS, 0, 4, handle_describe_configs},
    {API_ALTER_CONFIGS, 0, 2, handle_alter_configs},
    {API_DESCRIBE_LOG_DIRS, 0, 4, handle_describe_log_dirs},
    {API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {API_INCREMENTAL_ALTER_CONFIGS, 0, 1, handle_incremental_alter_configs},
    {API_DESCRIBE_CLUSTER, 0, 1, handle_describe_cluster},
    {API_DESCRIBE_PRODUCERS, 0, 0, handle_describe_producers},
    {API_OFFSET_COMMIT, 0, 8, handle_offset_commit},
    {API_OFFSET_FETCH, 0, 8, handle_offset_fetch},
    {API_FIND_COORDINATOR, 0, 5, handle_find_coordinator},
    {API_JOIN_GROUP, 0, 9, handle_join_group},
    {API_HEARTBEAT, 0, 4, handle_heartbeat},
    {API_LEAVE_GROUP, 0, 5, handle_leave_group},
    {API_SYNC_GROUP, 0, 5, handle_sync_group},
    {API_DESCRIBE_GROUPS, 0, 5, handle_describe_groups},
    {API_LIST_GROUPS, 0, 5, handle_list_groups},
    {API_DELETE_GROUPS, 0, 2, handle_delete_groups},
    {API_OFFSET_DELETE, 0, 0, handle_offset_delete},
    {API_CONSUMER_GROUP_HEARTBEAT, 0, 1, handle_consumer_group_heartbeat},
    {API_CONSUMER_GROUP_DESCRIBE, 0, 0, handle_consumer_group_describe},
};

const struct api_handler *api_handlers(size_t *count)
{
    *count = sizeof handlers / sizeof handlers[0];
    return handlers;
}

const struct api_handler *api_handler_find(int16_t key)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].key == key)
            return &handlers[i];
    return NULL;
}
