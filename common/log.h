/* SPDX-License-Identifier: MIT */
/* log.h: leveled logging to stderr with file:line, and the invariant assert.
 *
 * Per-packet problems are counted (stats), not logged; these macros are for
 * configuration, startup and end-of-run messages. */
#ifndef PINHOLE_LOG_H
#define PINHOLE_LOG_H

#include <stdarg.h>

typedef enum {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_NOTICE,
    LOG_LEVEL_INFO,
    LOG_LEVEL_CONFIG,
    LOG_LEVEL_DEBUG,
} log_level_t;

/* Messages above this level are dropped. Default: LOG_LEVEL_NOTICE. */
void log_set_level(log_level_t level);
log_level_t log_get_level(void);

void log_write(log_level_t level, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_notice(...) log_write(LOG_LEVEL_NOTICE, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_config(...) log_write(LOG_LEVEL_CONFIG, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* Programmer invariants only; stays on in release builds. */
void log_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define PINHOLE_ASSERT(e) ((e) ? (void)0 : log_assert_fail(#e, __FILE__, __LINE__))

#endif
