/* SPDX-License-Identifier: MIT */
/* cursor.h: a bounded read view over untrusted bytes.
 *
 * Every byte a parser reads goes through a cursor: a pointer, the bytes
 * remaining and a sticky `bad` flag. A short read returns false and marks the
 * cursor bad; every later read then fails too, so a parser can run in a
 * straight line and test `bad` where it makes decisions. Lengths are compared
 * before any pointer arithmetic, so no out-of-range pointer is ever formed. */
#ifndef PINHOLE_CURSOR_H
#define PINHOLE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} cursor_t;

static inline cursor_t cur_make(const uint8_t *p, size_t len)
{
    cursor_t c = {p, len, false};
    return c;
}

static inline bool cur_has(const cursor_t *c, size_t n)
{
    return !c->bad && c->left >= n;
}

static inline bool cur_skip(cursor_t *c, size_t n)
{
    if (!cur_has(c, n)) {
        c->bad = true;
        return false;
    }
    c->p += n;
    c->left -= n;
    return true;
}

static inline bool cur_u8(cursor_t *c, uint8_t *v)
{
    if (!cur_has(c, 1)) {
        c->bad = true;
        return false;
    }
    *v = c->p[0];
    c->p++;
    c->left--;
    return true;
}

static inline bool cur_be16(cursor_t *c, uint16_t *v)
{
    if (!cur_has(c, 2)) {
        c->bad = true;
        return false;
    }
    *v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    c->left -= 2;
    return true;
}

static inline bool cur_be32(cursor_t *c, uint32_t *v)
{
    if (!cur_has(c, 4)) {
        c->bad = true;
        return false;
    }
    *v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) | ((uint32_t)c->p[2] << 8) |
         (uint32_t)c->p[3];
    c->p += 4;
    c->left -= 4;
    return true;
}

static inline bool cur_le16(cursor_t *c, uint16_t *v)
{
    if (!cur_has(c, 2)) {
        c->bad = true;
        return false;
    }
    *v = (uint16_t)(c->p[0] | (c->p[1] << 8));
    c->p += 2;
    c->left -= 2;
    return true;
}

static inline bool cur_le32(cursor_t *c, uint32_t *v)
{
    if (!cur_has(c, 4)) {
        c->bad = true;
        return false;
    }
    *v = (uint32_t)c->p[0] | ((uint32_t)c->p[1] << 8) | ((uint32_t)c->p[2] << 16) |
         ((uint32_t)c->p[3] << 24);
    c->p += 4;
    c->left -= 4;
    return true;
}

static inline bool cur_bytes(cursor_t *c, void *out, size_t n)
{
    if (!cur_has(c, n)) {
        c->bad = true;
        return false;
    }
    memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return true;
}

/* Cuts a child view of exactly n bytes and advances past them. */
static inline bool cur_sub(cursor_t *c, size_t n, cursor_t *child)
{
    if (!cur_has(c, n)) {
        c->bad = true;
        *child = cur_make(NULL, 0);
        child->bad = true;
        return false;
    }
    *child = cur_make(c->p, n);
    c->p += n;
    c->left -= n;
    return true;
}

#endif
