/* SPDX-License-Identifier: MIT */
/* strbuf.c: a growing text buffer. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(strbuf_t *sb)
{
    memset(sb, 0, sizeof *sb);
}

void strbuf_fini(strbuf_t *sb)
{
    free(sb->buf);
    memset(sb, 0, sizeof *sb);
}

static bool s_reserve(strbuf_t *sb, size_t n)
{
    if (sb->failed)
        return false;
    if (sb->len + n + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 4096;
    while (cap < sb->len + n + 1)
        cap *= 2;
    char *b = realloc(sb->buf, cap);
    if (!b) {
        sb->failed = true;
        return false;
    }
    sb->buf = b;
    sb->cap = cap;
    return true;
}

void strbuf_append(strbuf_t *sb, const char *s, size_t n)
{
    if (!s_reserve(sb, n))
        return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_printf(strbuf_t *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !s_reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *strbuf_take(strbuf_t *sb, size_t *len)
{
    if (!s_reserve(sb, 0)) {
        strbuf_fini(sb);
        return NULL;
    }
    char *b = sb->buf;
    if (len)
        *len = sb->len;
    memset(sb, 0, sizeof *sb);
    return b;
}

void strbuf_label(strbuf_t *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            strbuf_printf(sb, "\\%c", *s);
        else if (*s == '\n')
            strbuf_append(sb, "\\n", 2);
        else
            strbuf_append(sb, s, 1);
    }
}
