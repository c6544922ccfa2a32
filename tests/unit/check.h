/*
 * check — the unit tests' tiny harness: TAP-like output, a failure count, and a nonzero exit if
 * anything failed. Each test file is one executable (one ctest test) with a main that calls
 * its cases through RUN() and ends with `return check_done();`.
 */
#ifndef SWARM_TESTS_CHECK_H
#define SWARM_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            printf("not ok %d - %s:%d: %s\n", check_count, __FILE__, __LINE__, #cond);             \
        }                                                                                          \
    } while (0)

#define CHECK_INT(got, want)                                                                       \
    do {                                                                                           \
        long long check_g_ = (long long)(got), check_w_ = (long long)(want);                       \
        check_count++;                                                                             \
        if (check_g_ != check_w_) {                                                                \
            check_failures++;                                                                      \
            printf("not ok %d - %s:%d: %s == %lld, want %lld\n", check_count, __FILE__, __LINE__,  \
                   #got, check_g_, check_w_);                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *check_g_ = (got), *check_w_ = (want);                                          \
        check_count++;                                                                             \
        if (check_g_ == NULL || strcmp(check_g_, check_w_) != 0) {                                 \
            check_failures++;                                                                      \
            printf("not ok %d - %s:%d: %s == \"%s\", want \"%s\"\n", check_count, __FILE__,        \
                   __LINE__, #got, check_g_ ? check_g_ : "(null)", check_w_);                      \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int check_before_ = check_failures;                                                        \
        fn();                                                                                      \
        printf("%s %s\n", check_failures == check_before_ ? "ok" : "FAILED", #fn);                 \
    } while (0)

static inline int check_done(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures == 0 && check_count > 0 ? 0 : 1;
}

#endif
