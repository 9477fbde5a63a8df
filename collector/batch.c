/* SPDX-License-Identifier: MIT */
/* batch.c: a message's event lines read into memory of the batch's own. */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evschema.h"
#include "strutil.h"

#define BATCH_ERRLEN 160
#define BATCH_BLOCK (64u << 10)

/* The events' strings, in blocks kept from message to message (their
 * number follows the largest message's strings, which its size bounds). */
typedef struct block {
    struct block *next;
    size_t cap, used;
    char data[];
} block_t;

struct batch {
    event_parser_t *parser;
    batch_line_t *lines;
    size_t n, cap;
    block_t *blocks, *cur;
    batch_status_t status;
};

batch_t *batch_new(void)
{
    batch_t *self = calloc(1, sizeof *self);
    if (self && !(self->parser = event_parser_new()))
        batch_destroy(&self);
    return self;
}

void batch_destroy(batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    batch_t *self = *self_p;
    event_parser_destroy(&self->parser);
    for (block_t *b = self->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(self->lines);
    free(self);
    *self_p = NULL;
}

/* n bytes that stay until the next batch_parse, or NULL. */
static char *s_alloc(batch_t *self, size_t n)
{
    while (self->cur && self->cur->cap - self->cur->used < n) {
        if (!self->cur->next)
            break;
        self->cur = self->cur->next;
        self->cur->used = 0;
    }
    if (!self->cur || self->cur->cap - self->cur->used < n) {
        size_t cap = n > BATCH_BLOCK ? n : BATCH_BLOCK;
        block_t *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        *b = (block_t){.next = NULL, .cap = cap, .used = 0};
        if (self->cur) { /* after the current one: the blocks beyond it stay for later */
            b->next = self->cur->next;
            self->cur->next = b;
        } else {
            b->next = self->blocks;
            self->blocks = b;
        }
        self->cur = b;
    }
    char *p = self->cur->data + self->cur->used;
    self->cur->used += n;
    return p;
}

static const char *s_copy(batch_t *self, const char *s, size_t len)
{
    char *p = s_alloc(self, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* The event's strings, out of the parser (its next line overwrites them). */
static int s_keep(batch_t *self, event_t *ev)
{
    for (size_t f = 0; f < EVENT_NFIELDS; f++)
        if (ev->f[f].kind == EVENT_STRING &&
                !(ev->f[f].s = s_copy(self, ev->f[f].s, strlen(ev->f[f].s))))
            return -1;
    return 0;
}

static void s_line(const char *line, size_t len, uint64_t index, void *arg)
{
    batch_t *self = arg;
    batch_line_t *l = &self->lines[index];
    char err[BATCH_ERRLEN];
    *l = (batch_line_t){.line = line, .len = len};
    if (self->status != BATCH_READ)
        return;
    int rc = event_parse(self->parser, line, len, &l->ev, err, sizeof err);
    if (rc == 0 && l->ev.slow && str_utf8_valid_len(line, len) != len) {
        /* Only json-c lets bytes that are not UTF-8 through (simdjson checks
         * them): a SIP header or SNI copied raw by the sensor, a string cut
         * mid-character. Each becomes U+FFFD, on both backends (PostgreSQL
         * refuses such text, and the batch would never be acknowledged). */
        size_t flen = 0;
        char *fixed = str_utf8_fix(line, len, &flen);
        const char *kept = fixed ? s_copy(self, fixed, flen) : NULL;
        free(fixed);
        if (!kept) {
            self->status = BATCH_NOMEM;
            return;
        }
        rc = event_parse(self->parser, kept, flen, &l->ev, err, sizeof err);
        l->line = kept;
        l->len = flen;
        l->fixed = rc == 0;
    }
    if (rc == 0 ? s_keep(self, &l->ev) != 0 : !(l->err = s_copy(self, err, strlen(err))))
        self->status = BATCH_NOMEM;
}

batch_status_t batch_parse(batch_t *self, const char *body, size_t len, uint64_t count)
{
    self->n = 0;
    self->status = BATCH_READ;
    self->cur = self->blocks;
    if (self->cur)
        self->cur->used = 0;
    if (count > EVSCHEMA_MAX_BATCH)
        return self->status = BATCH_MALFORMED;
    if (count > self->cap) {
        batch_line_t *grown = realloc(self->lines, count * sizeof *grown);
        if (!grown)
            return self->status = BATCH_NOMEM;
        self->lines = grown;
        self->cap = count;
    }
    if (evschema_body_split(body, len, count, s_line, self) != 0)
        return self->status = BATCH_MALFORMED;
    if (self->status == BATCH_READ)
        self->n = count;
    return self->status;
}

batch_status_t batch_status(const batch_t *self)
{
    return self->status;
}

const batch_line_t *batch_lines(const batch_t *self, size_t *n)
{
    *n = self->n;
    return self->lines;
}
