/* SPDX-License-Identifier: MIT */
/* log.c: leveled logging to stderr. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static log_level_t s_level = LOG_LEVEL_NOTICE;
static const char *const s_names[] = {"error", "warn", "notice", "info", "config", "debug"};

void log_set_level(log_level_t level)
{
    s_level = level;
}

log_level_t log_get_level(void)
{
    return s_level;
}

void log_write(log_level_t level, const char *file, int line, const char *fmt, ...)
{
    if (level > s_level)
        return;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s_level >= LOG_LEVEL_DEBUG)
        fprintf(stderr, "pinhole: %s: %s [%s:%d]\n", s_names[level], msg, base, line);
    else
        fprintf(stderr, "pinhole: %s: %s\n", s_names[level], msg);
}

void log_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "pinhole: assertion failed: %s at %s:%d\n", expr, file, line);
    abort();
}
