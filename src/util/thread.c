/* thread.c - see thread.h. */
#include "util/thread.h"

#include <sys/resource.h>
#include <unistd.h>

int thread_start(pthread_t *thread, void *(*run)(void *), void *arg, const char *name)
{
    int rc = pthread_create(thread, NULL, run, arg);
    if (rc != 0)
        return -rc;
    pthread_setname_np(*thread, name); /* a name too long only stays unset */
    return 0;
}

void thread_set_nice(int nice)
{
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), nice);
}
