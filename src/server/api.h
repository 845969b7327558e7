/*
 * api.h - the table of APIs this broker serves, and their handlers.
 *
 * The table is the single source for ApiVersions: an API is advertised
 * exactly when it has a handler here, for exactly the versions listed.
 */
#ifndef EDDY_SERVER_API_H
#define EDDY_SERVER_API_H

#include <stddef.h>
#include <stdint.h>

struct request;
struct broker;

struct api_handler {
    int16_t key;
    int16_t min_version;
    int16_t max_version;
    void (*handle)(struct request *req);
};

const struct api_handler *api_handler_find(int16_t key);
const struct api_handler *api_handlers(size_t *count);

/* Handlers, one file per API family under src/server/. */
void handle_api_versions(struct request *req);
void handle_metadata(struct request *req);
void handle_produce(struct request *req);
void handle_fetch(struct request *req);
/* Shutdown: answer every waiting fetch now, with what there is. */
void fetch_answer_all_waiting(struct broker *b);
void handle_list_offsets(struct request *req);
void handle_offset_for_leader_epoch(struct request *req);
void handle_init_producer_id(struct request *req);
/* Consumer groups: src/server/groups.c, src/server/group_offsets.c */
void handle_find_coordinator(struct request *req);
void handle_join_group(struct request *req);
void handle_sync_group(struct request *req);
void handle_heartbeat(struct request *req);
void handle_leave_group(struct request *req);
void handle_list_groups(struct request *req);
void handle_describe_groups(struct request *req);
void handle_delete_groups(struct request *req);
void handle_offset_commit(struct request *req);
void handle_offset_fetch(struct request *req);
void handle_offset_delete(struct request *req);
void handle_consumer_group_heartbeat(struct request *req); /* KIP-848: src/server/group_kip848.c */
void handle_consumer_group_describe(struct request *req);

/* Admin: src/server/admin_topics.c, admin_configs.c, admin_cluster.c, admin_records.c */
void handle_create_topics(struct request *req);
void handle_delete_topics(struct request *req);
void handle_create_partitions(struct request *req);
void handle_describe_configs(struct request *req);
void handle_alter_configs(struct request *req);
void handle_incremental_alter_configs(struct request *req);
void handle_describe_cluster(struct request *req);
void handle_describe_log_dirs(struct request *req);
void handle_delete_records(struct request *req);
void handle_describe_producers(struct request *req);

/* ApiVersions answer for a version the broker does not know (KIP-511): v0 body, error 35. */
int api_versions_respond_unsupported(struct request *req);

#endif
