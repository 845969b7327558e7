/*
 * metadata_log.h - the local `__cluster_metadata` log: every change to the
 * cluster metadata is a batch of metadata records (cluster/metadata_record.h)
 * appended durably to `<first log dir>/__cluster_metadata-0` (a partition log
 * from src/log), and the image is rebuilt from it at start-up. This is the
 * log a future Raft quorum replicates.
 *
 * Snapshots keep replay short. Like Kafka's `<offset>-<epoch>.checkpoint`
 * files, a snapshot `<20-digit offset>-<10-digit epoch>.checkpoint` in the
 * same directory holds the whole image as metadata records (record batches,
 * magic 2, uncompressed, same framing as the log) as of log offset `offset`
 * exclusive: replay loads the newest readable snapshot and then the log from
 * `offset`. Written to a .tmp file, fsynced and renamed, so a snapshot is
 * either complete or absent (and every batch carries a CRC). After a
 * snapshot the log start moves to its offset, dropping older segments, and
 * older snapshots are deleted. The epoch is 0 until there is a quorum.
 *
 * One thread (the event loop) uses it, but for its syncer thread. A change is
 * applied to the image only once it is durable: metadata_log_commit appends,
 * fsyncs and applies in one call (start-up, and callers that need the change
 * at once); the controller's requests instead append, ask the syncer thread
 * for the fsync, and apply when it reports (metadata_log_apply_appended), so
 * the event loop never waits on the disk for them: a fsync queued behind
 * ext4's journal while big topics are deleted took up to 36 ms.
 */
#ifndef EDDY_CLUSTER_METADATA_LOG_H
#define EDDY_CLUSTER_METADATA_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/metadata_image.h"
#include "cluster/metadata_record.h"

#define METADATA_LOG_TOPIC "__cluster_metadata" /* no topic may take this name (controller.c) */
#define METADATA_LOG_DIR_NAME METADATA_LOG_TOPIC "-0"
/* Snapshot once this many records were appended since the last one. */
#define METADATA_SNAPSHOT_INTERVAL_RECORDS 2000

struct metadata_log;

/*
 * Open the log in `dir` (created if missing), load the newest snapshot and
 * replay the records after it into img (which should be empty). 0 or -errno.
 */
int metadata_log_open(const char *dir, struct metadata_image *img, struct metadata_log **out);

/*
 * Append recs as one batch, fsync it, then apply every record to img. All or
 * nothing as far as the log goes: a batch is replayed whole or not at all.
 * Takes a snapshot when enough records accumulated. 0 or -errno (then img is
 * unchanged and nothing is durable).
 */
int metadata_log_commit(struct metadata_log *ml, struct metadata_image *img, const struct metadata_record *recs,
                        size_t count);

/*
 * Append recs as one batch without fsync and without applying it; *end_offset
 * is the log end after it (durable once the syncer reports that far). At
 * most one batch waits to be applied: -EBUSY while one does. 0 or -errno
 * (then nothing was appended).
 */
int metadata_log_append(struct metadata_log *ml, const struct metadata_record *recs, size_t count,
                        int64_t *end_offset);
/* Apply the appended batch to img (call once it is durable) and snapshot when
 * due (written by the syncer thread when it runs). */
void metadata_log_apply_appended(struct metadata_log *ml, struct metadata_image *img);
/* fsync on the calling thread: the durable end offset, or -errno. */
int64_t metadata_log_sync(struct metadata_log *ml);

/*
 * The syncer thread: metadata_log_request_sync (loop thread) asks it for an
 * fsync of everything appended so far; after each fsync it calls synced(ctx)
 * ON THE SYNCER THREAD, and metadata_log_durable_end then tells how far the
 * log is durable, or the -errno of a failed fsync. Every request is followed
 * by at least one call. Stopped by metadata_log_stop_syncer or close.
 */
int metadata_log_start_syncer(struct metadata_log *ml, void (*synced)(void *ctx), void *ctx);
void metadata_log_request_sync(struct metadata_log *ml);
int64_t metadata_log_durable_end(struct metadata_log *ml, int *error);
void metadata_log_stop_syncer(struct metadata_log *ml);

/* Test hook: the next append or fsync of the log fails as if the disk returned `err`. */
void metadata_log_inject_error(struct metadata_log *ml, int err);

/* Write a snapshot of img at the current end offset and trim the log. 0 or -errno. */
int metadata_log_snapshot(struct metadata_log *ml, const struct metadata_image *img);

int64_t metadata_log_end_offset(const struct metadata_log *ml);
/* Offset of the newest snapshot, loaded at open or written since (-1: none). */
int64_t metadata_log_snapshot_offset(struct metadata_log *ml);
/* Records replayed from the log (after the snapshot) at open. */
int64_t metadata_log_replayed_records(const struct metadata_log *ml);
const char *metadata_log_dir(const struct metadata_log *ml);

void metadata_log_close(struct metadata_log *ml);

#endif
