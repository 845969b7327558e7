/*
 * log_pager.h - the thread that reads cold log ranges back into the page
 * cache, so that the network thread never waits for the disk.
 *
 * Drop-behind (log_flusher.h) evicts what lies beyond its budget; a consumer
 * that lags further behind would make the loop thread's batch walk and
 * sendfile fault those pages in one by one, stalling every other client.
 * Instead, a fetch first asks partition_log_cold_spans(); for a cold span it
 * hands the range here and answers once the pager has read it in (the
 * bytes still leave by sendfile: the pager's reads only warm the cache).
 */
#ifndef EDDY_LOG_LOG_PAGER_H
#define EDDY_LOG_LOG_PAGER_H

#include <stddef.h>
#include <stdint.h>

struct log_pager;
struct log_read_range;

/* Called ON THE PAGER THREAD once the ranges are in the page cache (or a read failed). */
typedef void (*log_pager_done_fn)(void *arg);

/* Start the thread. 0 or -errno. */
int log_pager_start(struct log_pager **out);
/* Finish the queued loads (their callbacks run), stop and join the thread, free. */
void log_pager_stop(struct log_pager *pager);

/*
 * Queue a load of `count` ranges; takes the ranges' segment references over
 * (the caller's copies must not be released). done(arg) follows. 0, or
 * -ENOMEM (the references are then released and done is not called).
 */
int log_pager_load(struct log_pager *pager, struct log_read_range *ranges, size_t count, log_pager_done_fn done,
                   void *arg);

/* Block until every queued load has finished and its done callback has
 * returned (shutdown: before what those callbacks reach is torn down). */
void log_pager_wait_idle(struct log_pager *pager);

/* Loads done so far (tests and metrics). */
uint64_t log_pager_loads(struct log_pager *pager);

#endif
