/*
 * authorized_operations.h - the ACL operation bitfields Kafka reports when a
 * client asks for authorized operations (Metadata v8+, DescribeCluster,
 * DescribeGroups v3+, ConsumerGroupDescribe).
 *
 * Eddy has no authorizer, so, as Kafka without one, every operation a
 * resource type supports is reported as allowed. Bit n is Kafka's AclOperation
 * code n: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8,
 * CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
 */
#ifndef EDDY_SERVER_AUTHORIZED_OPERATIONS_H
#define EDDY_SERVER_AUTHORIZED_OPERATIONS_H

/* Topic: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (3576). */
#define TOPIC_AUTHORIZED_OPERATIONS                                                                               \
    ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11))

/* Cluster: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE (8096). */
#define CLUSTER_AUTHORIZED_OPERATIONS                                                                             \
    ((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12))

/* Group: READ, DELETE, DESCRIBE (328). */
#define GROUP_AUTHORIZED_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8))

#endif
