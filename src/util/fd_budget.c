/*
 * fd_budget.c - open-descriptor headroom (see fd_budget.h). Platform code:
 * counts /proc/self/fd, which only Linux has; elsewhere it says "unknown".
 */
#include "util/fd_budget.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The size of the descriptor table (FDSize in /proc/self/status): at least
 * the number open, read in ~0.05 ms. -1 when it cannot be told. */
static int64_t fd_table_size(void)
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *at = strstr(buf, "\nFDSize:");
    return at ? strtoll(at + strlen("\nFDSize:"), NULL, 10) : -1;
}

int64_t fd_budget_available_for(int64_t needed, int64_t *limit)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return -1;
    int64_t table = fd_table_size();
    if (table >= 0 && (int64_t)rl.rlim_cur - table >= needed) {
        if (limit)
            *limit = (int64_t)rl.rlim_cur;
        return (int64_t)rl.rlim_cur - table;
    }
    return fd_budget_available(limit);
}

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
