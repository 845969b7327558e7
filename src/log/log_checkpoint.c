/*
 * log_checkpoint.c - Kafka's checkpoint text files (see log_checkpoint.h).
 */
#include "log/log_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int log_dir_fsync(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static int fsync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int rc = log_dir_fsync(dirname(copy));
    free(copy);
    return rc;
}

/* Write tmp, (fsync,) rename over `path` (, fsync the directory). */
static int write_file(const char *path, const char *data, size_t len, bool durable)
{
    size_t tmp_len = strlen(path) + 5;
    char *tmp = malloc(tmp_len);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, tmp_len, "%s.tmp", path);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    size_t done = 0;
    while (done < len && rc == 0) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = n < 0 ? -errno : -EIO;
        else
            done += (size_t)n;
    }
    if (rc == 0 && durable && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc == 0 && durable)
        rc = fsync_parent_dir(path);
    if (rc != 0)
        unlink(tmp);
out:
    free(tmp);
    return rc;
}

int checkpoint_write_file(const char *path, const char *data, size_t len)
{
    return write_file(path, data, len, true);
}

/* Read a whole small text file into a NUL-terminated buffer. */
static int read_text(const char *path, char **out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len < cap - 1)
            break;
        cap *= 2;
        char *p = realloc(buf, cap);
        if (!p) {
            free(buf);
            buf = NULL;
        }
        buf = p;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return -ENOMEM;
    if (err) {
        free(buf);
        return -EIO;
    }
    buf[len] = 0;
    *out = buf;
    return 0;
}

/* Parse the "0\n<count>\n" head; returns the rest of the text or NULL. */
static char *parse_head(char *text, long *count)
{
    char *end;
    long version = strtol(text, &end, 10);
    if (end == text || version != 0 || *end != '\n')
        return NULL;
    char *p = end + 1;
    *count = strtol(p, &end, 10);
    if (end == p || *count < 0 || *end != '\n')
        return NULL;
    return end + 1;
}

void offset_checkpoint_free(struct offset_checkpoint_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(entries[i].topic);
    free(entries);
}

int offset_checkpoint_read(const char *path, struct offset_checkpoint_entry **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    char *text;
    int rc = read_text(path, &text);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    long n;
    char *p = parse_head(text, &n);
    struct offset_checkpoint_entry *entries = p ? calloc((size_t)n + 1, sizeof(*entries)) : NULL;
    long i = 0;
    rc = p ? (entries ? 0 : -ENOMEM) : -EINVAL;
    for (; rc == 0 && i < n; i++) {
        char *line_end = strchr(p, '\n');
        if (line_end)
            *line_end = 0;
        char *sp2 = strrchr(p, ' ');
        char *sp1 = NULL;
        if (sp2) {
            *sp2 = 0;
            sp1 = strrchr(p, ' ');
        }
        if (!sp1 || sp1 == p) {
            rc = -EINVAL;
            break;
        }
        *sp1 = 0;
        char *e1, *e2;
        long part = strtol(sp1 + 1, &e1, 10);
        long long off = strtoll(sp2 + 1, &e2, 10);
        if (*e1 || *e2 || part < 0) {
            rc = -EINVAL;
            break;
        }
        entries[i].topic = strdup(p);
        entries[i].partition = (int32_t)part;
        entries[i].offset = off;
        if (!entries[i].topic)
            rc = -ENOMEM;
        p = line_end ? line_end + 1 : p + strlen(p);
    }
    free(text);
    if (rc != 0) {
        offset_checkpoint_free(entries, (size_t)n);
        return rc;
    }
    *out = entries;
    *count = (size_t)n;
    return 0;
}

int offset_checkpoint_write(const char *path, const struct offset_checkpoint_entry *entries,
                            size_t count)
{
    size_t cap = 64;
    for (size_t i = 0; i < count; i++)
        cap += strlen(entries[i].topic) + 48;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t len = (size_t)snprintf(buf, cap, "0\n%zu\n", count);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s %" PRId32 " %" PRId64 "\n",
                                entries[i].topic, entries[i].partition, entries[i].offset);
    int rc = checkpoint_write_file(path, buf, len);
    free(buf);
    return rc;
}

int leader_epoch_checkpoint_read(const char *path, struct leader_epoch_entry **out,
                                 size_t *count)
{
    *out = NULL;
    *count = 0;
    char *text;
    int rc = read_text(path, &text);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    long n;
    char *p = parse_head(text, &n);
    struct leader_epoch_entry *entries = p ? calloc((size_t)n + 1, sizeof(*entries)) : NULL;
    rc = p ? (entries ? 0 : -ENOMEM) : -EINVAL;
    for (long i = 0; rc == 0 && i < n; i++) {
        char *e1, *e2;
        long epoch = strtol(p, &e1, 10);
        long long start = strtoll(e1, &e2, 10);
        if (e1 == p || e2 == e1 || *e1 != ' ' || (*e2 != '\n' && *e2 != 0)) {
            rc = -EINVAL;
            break;
        }
        entries[i] = (struct leader_epoch_entry){(int32_t)epoch, start};
        p = *e2 ? e2 + 1 : e2;
    }
    free(text);
    if (rc != 0) {
        free(entries);
        return rc;
    }
    *out = entries;
    *count = (size_t)n;
    return 0;
}

int leader_epoch_checkpoint_write(const char *path, const struct leader_epoch_entry *entries,
                                  size_t count)
{
    size_t cap = 64 + count * 40;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t len = (size_t)snprintf(buf, cap, "0\n%zu\n", count);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%" PRId32 " %" PRId64 "\n",
                                entries[i].epoch, entries[i].start_offset);
    int rc = checkpoint_write_file(path, buf, len);
    free(buf);
    return rc;
}

static const char BASE64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void topic_id_to_string(const uint8_t id[16], char out[23])
{
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)id[i + 1] << 8;
        if (i + 2 < 16)
            v |= id[i + 2];
        size_t chars = i + 2 < 16 ? 4 : (i + 1 < 16 ? 3 : 2);
        for (size_t c = 0; c < chars; c++)
            out[o++] = BASE64URL[(v >> (18 - 6 * c)) & 63];
    }
    out[o] = 0;
}

int topic_id_from_string(const char *s, uint8_t id[16])
{
    if (strlen(s) != 22)
        return -EINVAL;
    uint8_t bits[22];
    for (size_t i = 0; i < 22; i++) {
        const char *at = strchr(BASE64URL, s[i]);
        if (!at || !s[i])
            return -EINVAL;
        bits[i] = (uint8_t)(at - BASE64URL);
    }
    size_t o = 0;
    for (size_t i = 0; i < 22; i += 4) {
        uint32_t v = 0;
        size_t chars = i + 4 <= 22 ? 4 : 22 - i;
        for (size_t c = 0; c < 4; c++)
            v = v << 6 | (c < chars ? bits[i + c] : 0);
        for (size_t b = 0; b < chars - 1 && o < 16; b++)
            id[o++] = (uint8_t)(v >> (16 - 8 * b));
    }
    return o == 16 ? 0 : -EINVAL;
}

int partition_metadata_write(const char *dir, const uint8_t topic_id[16], bool durable)
{
    char id[23], text[64], path[4096];
    topic_id_to_string(topic_id, id);
    int len = snprintf(text, sizeof(text), "version: 0\ntopic_id: %s\n", id);
    snprintf(path, sizeof(path), "%s/partition.metadata", dir);
    return write_file(path, text, (size_t)len, durable);
}

int partition_metadata_read(const char *dir, uint8_t topic_id[16])
{
    char path[4096], *text;
    snprintf(path, sizeof(path), "%s/partition.metadata", dir);
    int rc = read_text(path, &text);
    if (rc != 0)
        return rc;
    char id[32];
    int version;
    rc = sscanf(text, "version: %d\ntopic_id: %31s", &version, id) == 2 && version == 0
             ? topic_id_from_string(id, topic_id)
             : -EINVAL;
    free(text);
    return rc;
}
