/*
 * meta_properties.c - reading and writing meta.properties (see the header).
 */
#include "cluster/meta_properties.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/metadata_image.h"
#include "util/logger.h"

struct meta_properties {
    char cluster_id[CLUSTER_ID_MAX];
    long node_id; /* -1: absent */
};

int make_dirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        buf[i] = saved;
    }
    return 0;
}

int log_dirs_first(const char *log_dirs, char *out, size_t cap)
{
    while (*log_dirs == ' ')
        log_dirs++;
    size_t n = strcspn(log_dirs, ",");
    while (n > 0 && log_dirs[n - 1] == ' ')
        n--;
    if (n == 0)
        return -EINVAL;
    if (n >= cap)
        return -ENAMETOOLONG;
    memcpy(out, log_dirs, n);
    out[n] = '\0';
    return 0;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* 0 read, 1 absent, -1 unreadable. */
static int read_props(const char *path, struct meta_properties *out)
{
    memset(out, 0, sizeof *out);
    out->node_id = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 1 : -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        trim(line);
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *value = eq + 1;
        if (strcmp(line, "cluster.id") == 0)
            snprintf(out->cluster_id, sizeof out->cluster_id, "%s", value);
        else if (strcmp(line, "node.id") == 0 || strcmp(line, "broker.id") == 0)
            out->node_id = strtol(value, NULL, 10);
    }
    fclose(f);
    return 0;
}

static int write_props(const char *dir, const char *cluster_id, int32_t node_id)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/meta.properties", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "#\n#Written by eddy\nnode.id=%d\nversion=1\ncluster.id=%s\n", node_id, cluster_id);
    int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
    fclose(f);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    return rc;
}

/* Check or adopt one dir's properties. 0 or -1 (logged). */
static int check_dir(const char *dir, int32_t node_id, char cluster_id[CLUSTER_ID_MAX])
{
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.properties", dir);
    struct meta_properties p;
    int rc = read_props(path, &p);
    if (rc < 0) {
        log_error("server", "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (rc == 1 || p.cluster_id[0] == '\0')
        return 1;
    if (p.node_id >= 0 && p.node_id != node_id) {
        log_error("server", "%s belongs to node.id %ld but this node is node.id %d", path, p.node_id, node_id);
        return -1;
    }
    if (cluster_id[0] && strcmp(cluster_id, p.cluster_id) != 0) {
        log_error("server", "%s has cluster.id %s, expected %s", path, p.cluster_id, cluster_id);
        return -1;
    }
    snprintf(cluster_id, CLUSTER_ID_MAX, "%s", p.cluster_id);
    return 0;
}

int meta_properties_ensure(const char *log_dirs, int32_t node_id, const char *configured_cluster_id,
                           char cluster_id[CLUSTER_ID_MAX])
{
    snprintf(cluster_id, CLUSTER_ID_MAX, "%s", configured_cluster_id ? configured_cluster_id : "");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", log_dirs);
    /* First pass: learn the id from any dir that has one, checking they agree. */
    for (char *save = NULL, *dir = strtok_r(dirs, ",", &save); dir; dir = strtok_r(NULL, ",", &save)) {
        while (*dir == ' ')
            dir++;
        if (*dir == '\0')
            continue;
        int rc = make_dirs(dir);
        if (rc < 0) {
            log_error("server", "cannot create log dir %s: %s", dir, strerror(-rc));
            return -1;
        }
        if (check_dir(dir, node_id, cluster_id) < 0)
            return -1;
    }
    bool generated = cluster_id[0] == '\0';
    if (generated)
        uuid_to_base64(uuid_random(), cluster_id);
    snprintf(dirs, sizeof dirs, "%s", log_dirs);
    for (char *save = NULL, *dir = strtok_r(dirs, ",", &save); dir; dir = strtok_r(NULL, ",", &save)) {
        while (*dir == ' ')
            dir++;
        if (*dir == '\0')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/meta.properties", dir);
        struct meta_properties p;
        if (read_props(path, &p) == 0 && p.cluster_id[0])
            continue;
        int rc = write_props(dir, cluster_id, node_id);
        if (rc < 0) {
            log_error("server", "cannot write %s: %s", path, strerror(-rc));
            return -1;
        }
    }
    if (generated)
        log_info("server", "formatted log dirs %s with new cluster id %s", log_dirs, cluster_id);
    return 0;
}
