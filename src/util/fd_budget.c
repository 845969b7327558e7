/*
 * fd_budget.c - open-descriptor headroom (see fd_budget.h). Platform code:
 * counts /proc/self/fd, which only Linux has; elsewhere it says "unknown".
 */
#include "util/fd_budget.h"

#include <dirent.h>
#include <sys/resource.h>

int64_t fd_budget_available(int64_t *limit)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return -1;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int64_t open_now = -1; /* the directory's own descriptor is listed too */
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (e->d_name[0] != '.')
            open_now++;
    closedir(d);
    if (limit)
        *limit = (int64_t)rl.rlim_cur;
    return (int64_t)rl.rlim_cur - open_now;
}

int64_t fd_budget_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit raised = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    return rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur;
}
