/* thread.c - see thread.h. */
#include "util/thread.h"

int thread_start(pthread_t *thread, void *(*run)(void *), void *arg, const char *name)
{
    int rc = pthread_create(thread, NULL, run, arg);
    if (rc != 0)
        return -rc;
    pthread_setname_np(*thread, name); /* a name too long only stays unset */
    return 0;
}
