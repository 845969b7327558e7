/*
 * log_checkpoint.h - the small text files Kafka keeps beside its logs, in
 * Kafka's formats so that an operator recognises them:
 *
 *   recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 *   cleaner-offset-checkpoint (one per log dir):  "0\n<n>\n<topic> <partition> <offset>\n"...
 *   leader-epoch-checkpoint (per partition):       "0\n<n>\n<epoch> <startOffset>\n"...
 *   partition.metadata (per partition):            "version: 0\ntopic_id: <base64url uuid>\n"
 *
 * Every write goes to `<path>.tmp`, is fsynced, renamed over the target and
 * the directory fsynced, so a crash leaves either the old or the new file.
 * (partition.metadata may first be written without the fsyncs: see below.)
 */
#ifndef EDDY_LOG_LOG_CHECKPOINT_H
#define EDDY_LOG_LOG_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* fsync a directory, so that names created or renamed in it last. 0 or -errno. */
int log_dir_fsync(const char *dir);

struct offset_checkpoint_entry {
    char *topic; /* owned */
    int32_t partition;
    int64_t offset;
};

/* Read a per-dir offset checkpoint. A missing file gives 0 entries. 0 or -errno (-EINVAL: malformed). */
int offset_checkpoint_read(const char *path, struct offset_checkpoint_entry **out, size_t *count);
int offset_checkpoint_write(const char *path, const struct offset_checkpoint_entry *entries,
                            size_t count);
void offset_checkpoint_free(struct offset_checkpoint_entry *entries, size_t count);

struct leader_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
};

/* Missing file: 0 entries. 0 or -errno. *out is malloc'd (may be NULL when count is 0). */
int leader_epoch_checkpoint_read(const char *path, struct leader_epoch_entry **out,
                                 size_t *count);
int leader_epoch_checkpoint_write(const char *path, const struct leader_epoch_entry *entries,
                                  size_t count);

/* partition.metadata in `dir`. read: -ENOENT if missing, -EINVAL if malformed.
 * write with durable false skips both fsyncs: topic creation writes it so,
 * for a crash to lose it costs nothing (the partition keeps its place in the
 * metadata image), and the first flush writes it again durably. */
int partition_metadata_write(const char *dir, const uint8_t topic_id[16], bool durable);
int partition_metadata_read(const char *dir, uint8_t topic_id[16]);

/* Base64url without padding (Kafka's Uuid.toString). out must hold 23 bytes. */
void topic_id_to_string(const uint8_t id[16], char out[23]);
int topic_id_from_string(const char *s, uint8_t id[16]);

/* Atomically replace `path` with `len` bytes of `data` (tmp, fsync, rename, fsync dir). */
int checkpoint_write_file(const char *path, const char *data, size_t len);

#endif
