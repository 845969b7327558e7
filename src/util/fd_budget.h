/*
 * fd_budget.h - how many more files this process may open (RLIMIT_NOFILE
 * minus what is open now), so that work needing many descriptors can be
 * refused up front instead of failing halfway.
 */
#ifndef EDDY_UTIL_FD_BUDGET_H
#define EDDY_UTIL_FD_BUDGET_H

#include <stdint.h>

/* Descriptors still available, the soft limit itself in *limit (if not
 * NULL); -1 when it cannot be told (no /proc, no limit). */
int64_t fd_budget_available(int64_t *limit);

/*
 * The same when the caller only needs to know whether `needed` more fit:
 * counting /proc/self/fd takes ~7 ms with 9,000 descriptors open (three per
 * partition), so the size of the descriptor table (an upper bound on those
 * open) is tried first, and the count is made only near the limit. The
 * result is exact when below `needed`, else possibly a lower bound.
 */
int64_t fd_budget_available_for(int64_t needed, int64_t *limit);

/* Raise the soft open-file limit to the hard one (every partition keeps three
 * files open; a distribution's default soft limit of 1024 is ~250
 * partitions). Returns the soft limit now in force, or -1. */
int64_t fd_budget_raise(void);

#endif
