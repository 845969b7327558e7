/*
 * meta_properties.h - Kafka's `meta.properties` in every log dir:
 *
 *   version=1
 *   cluster.id=<22-char base64 uuid>
 *   node.id=<node id>
 *
 * The first start generates the cluster id (or takes eddy.cluster.id) and
 * writes the file into each log dir; later starts reuse it and refuse a log
 * dir that belongs to another cluster or another node, as Kafka does.
 */
#ifndef EDDY_CLUSTER_META_PROPERTIES_H
#define EDDY_CLUSTER_META_PROPERTIES_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_ID_MAX 64

/*
 * For the comma-separated log_dirs (created if missing): read or write
 * meta.properties. configured_cluster_id may be NULL or "". On success
 * cluster_id holds the id. 0, or -1 after logging why.
 */
int meta_properties_ensure(const char *log_dirs, int32_t node_id, const char *configured_cluster_id,
                           char cluster_id[CLUSTER_ID_MAX]);

/* The first directory of a comma-separated log.dirs list, into out. 0 or -ENAMETOOLONG/-EINVAL. */
int log_dirs_first(const char *log_dirs, char *out, size_t cap);

/* mkdir -p. 0 or -errno. */
int make_dirs(const char *path);

#endif
