/*
 * check.h - the CHECK(cond, message...) macro of the unit tests that need
 * nothing else (the storage tests use log_test_util.h): a failed check is
 * printed with its place and counted in `failures`, and the test goes on.
 */
#ifndef EDDY_TESTS_CHECK_H
#define EDDY_TESTS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

#endif
