/* SPDX-License-Identifier: MIT */
/* jsonmemo.c: prepared members, kept in a small direct-mapped table. */
#include "jsonmemo.h"

#include <stdlib.h>
#include <string.h>

#define JSONMEMO_SLOTS 256 /* a power of two */

typedef struct {
    const char *key; /* the key's prepared text: its address names it */
    uint64_t id;
    char *txt;       /* the member with its comma: `,"k":"v"` */
    size_t len;
} memo_slot_t;

struct jsonmemo {
    memo_slot_t slot[JSONMEMO_SLOTS];
    jsonw_t scratch; /* writes a member's text once */
};

jsonmemo_t *jsonmemo_new(void)
{
    jsonmemo_t *self = calloc(1, sizeof *self);
    if (self)
        jsonw_init(&self->scratch);
    return self;
}

void jsonmemo_clear(jsonmemo_t *self)
{
    for (size_t i = 0; i < JSONMEMO_SLOTS; i++) {
        free(self->slot[i].txt);
        memset(&self->slot[i], 0, sizeof self->slot[i]);
    }
}

void jsonmemo_destroy(jsonmemo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    jsonmemo_t *self = *self_p;
    jsonmemo_clear(self);
    jsonw_fini(&self->scratch);
    free(self);
    *self_p = NULL;
}

static memo_slot_t *s_slot(jsonmemo_t *self, jsonw_key_t k, uint64_t id)
{
    uint64_t h = ((uint64_t)(uintptr_t)k.txt * 0x9e3779b97f4a7c15ull) ^ (id * 0xc2b2ae3d27d4eb4full);
    h ^= h >> 29;
    return &self->slot[(h * 0x9e3779b97f4a7c15ull) >> 56 & (JSONMEMO_SLOTS - 1)];
}

bool jsonmemo_write(jsonmemo_t *self, jsonw_t *w, jsonw_key_t k, uint64_t id)
{
    const memo_slot_t *s = s_slot(self, k, id);
    if (s->key != k.txt || s->id != id || !s->txt)
        return false;
    jsonw_member_k(w, (jsonw_key_t){s->txt, s->len});
    return true;
}

void jsonmemo_add(jsonmemo_t *self, jsonw_t *w, jsonw_key_t k, uint64_t id, const char *v)
{
    /* The member alone in an object, `{"k":"v"}`: its text less the braces. */
    jsonw_t *t = &self->scratch;
    jsonw_reset(t);
    jsonw_open(t, NULL);
    jsonw_str_k(t, k, v);
    jsonw_close(t);
    size_t n = 0;
    const char *m = jsonw_members_of(t, &n);
    char *txt = m ? malloc(n + 1) : NULL;
    if (!txt) { /* out of memory: written, not kept */
        jsonw_str_k(w, k, v);
        return;
    }
    txt[0] = ',';
    memcpy(txt + 1, m, n);
    memo_slot_t *s = s_slot(self, k, id);
    free(s->txt);
    s->key = k.txt;
    s->id = id;
    s->txt = txt;
    s->len = n + 1;
    jsonw_member_k(w, (jsonw_key_t){s->txt, s->len});
}

void jsonmemo_str(jsonmemo_t *self, jsonw_t *w, jsonw_key_t k, const char *v)
{
    uint64_t id = (uint64_t)(uintptr_t)v;
    if (!jsonmemo_write(self, w, k, id))
        jsonmemo_add(self, w, k, id, v);
}
