/*
 * test_fd_budget.c - the open-descriptor headroom: the cheap answer (from the
 * descriptor table's size) never claims more room than the exact count, and
 * near the limit the exact count is what comes back.
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "util/fd_budget.h"

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
        printf("no finite RLIMIT_NOFILE: skipped\n");
        return 0;
    }
    int fds[300];
    for (int i = 0; i < 300; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    int64_t limit = 0, cheap_limit = 0;
    int64_t exact = fd_budget_available(&limit);
    int64_t cheap = fd_budget_available_for(1, &cheap_limit);
    CHECK(exact > 0 && exact < limit, "exact headroom %lld of %lld", (long long)exact, (long long)limit);
    CHECK(cheap_limit == limit, "same limit: %lld and %lld", (long long)cheap_limit, (long long)limit);
    CHECK(cheap >= 1 && cheap <= exact, "cheap headroom %lld is at most the exact %lld", (long long)cheap,
          (long long)exact);
    /* Asking for more than there is: counted exactly, so the refusal can say how many are left. */
    int64_t near = fd_budget_available_for(limit + 1, NULL);
    CHECK(near == exact, "near the limit the count is exact: %lld against %lld", (long long)near, (long long)exact);
    for (int i = 0; i < 300; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("fd budget: cheap bound, exact count near the limit: checked\n");
    return 0;
}
