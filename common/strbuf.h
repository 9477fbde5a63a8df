/* SPDX-License-Identifier: MIT */
/* strbuf.h: a growing text buffer (HTTP bodies, Prometheus text). */
#ifndef PINHOLE_STRBUF_H
#define PINHOLE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *buf;
    size_t len, cap;
    bool failed; /* an allocation failed: the text is cut */
} strbuf_t;

void strbuf_init(strbuf_t *sb);
void strbuf_fini(strbuf_t *sb);
void strbuf_printf(strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_append(strbuf_t *sb, const char *s, size_t n);
/* Hands the text (NUL-terminated) to the caller. */
char *strbuf_take(strbuf_t *sb, size_t *len);
/* Appends a Prometheus label value: \ " and newline escaped. */
void strbuf_label(strbuf_t *sb, const char *s);

#endif
