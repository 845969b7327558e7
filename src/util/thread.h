/* thread.h - starting the broker's helper threads (flusher, pager, cleaner,
 * housekeeper) under names that top -H, ps -L and perf show. */
#ifndef EDDY_UTIL_THREAD_H
#define EDDY_UTIL_THREAD_H

#include <pthread.h>

/* pthread_create, then name the thread `name` (at most 15 characters). 0 or -errno. */
int thread_start(pthread_t *thread, void *(*run)(void *), void *arg, const char *name);

/* Background file-system work no client waits on (making and deleting
 * partition directories, retention, checkpoints) runs at this nice value:
 * the event loop preempts it on a busy machine. */
#define THREAD_BACKGROUND_NICE 10

/* Set the calling thread's nice value (Linux's is per thread); best effort. */
void thread_set_nice(int nice);

#endif
