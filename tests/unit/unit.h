/* SPDX-License-Identifier: MIT */
/* unit.h: the few assertion macros of the unit tests.
 *
 * A test is `int test_x(void)`: 0 passes. CHECK stops the test at the first
 * failure and prints where; tests create what they use and free it. */
#ifndef PINHOLE_UNIT_H
#define PINHOLE_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            return 1;                                                             \
        }                                                                         \
    } while (0)

#define CHECK_EQ(a, b)                                                                       \
    do {                                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                                  \
        if (a_ != b_) {                                                                      \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld\n",     \
                    __FILE__, __LINE__, #a, a_, #b, b_);                                     \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

#define RUN(t)             \
    do {                   \
        int rc_ = (t)();   \
        if (rc_)           \
            return rc_;    \
    } while (0)

#define RUN_ARG(t, a)       \
    do {                    \
        int rc_ = (t)(a);   \
        if (rc_)            \
            return rc_;     \
    } while (0)

/* Directory of the source tree (for shipped rules and test data). */
extern const char *unit_srcdir;

/* A name for a database file of a test's own (template: ".../name-XXXXXX";
 * no file is left there: SQLite makes it), 0 or -1. */
static inline int unit_db_name(char *path)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path);
    return 0;
}

/* The database file and SQLite's WAL files beside it, gone. */
static inline void unit_db_remove(const char *path)
{
    char aux[512];
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path);
    unlink(aux);
}

#endif
