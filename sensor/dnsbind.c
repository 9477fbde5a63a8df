/* SPDX-License-Identifier: MIT */
/* dnsbind.c: addresses named by DNS answers, per site, for their TTL. */
#include "dnsbind.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

typedef struct {
    char name[FLOW_HOST_LEN];
} binding_t;

struct dnsbind {
    binding_t *b;
    lrutab_t *t;
    dnsbind_stats_t st;
};

dnsbind_t *dnsbind_new(uint32_t max)
{
    dnsbind_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (max == 0)
        max = 1;
    self->b = calloc(max, sizeof(binding_t));
    self->t = lrutab_new(max, NULL, NULL);
    self->st.max = max;
    if (!self->b || !self->t)
        dnsbind_destroy(&self);
    return self;
}

void dnsbind_destroy(dnsbind_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->b);
    lrutab_destroy(&(*self_p)->t);
    free(*self_p);
    *self_p = NULL;
}

static uint64_t s_key(int site, const ip_addr_t *addr)
{
    int32_t s = site;
    return hash_keyed_more(hash_keyed(&s, sizeof s), addr->b, sizeof addr->b);
}

void dnsbind_add(dnsbind_t *self, int site, const ip_addr_t *addr, const char *name,
        uint32_t ttl_s, uint64_t now_us)
{
    uint64_t key = s_key(site, addr), deadline = now_us + (uint64_t)ttl_s * 1000000u;
    uint32_t i = lrutab_find(self->t, key);
    if (i == LRUTAB_NONE) {
        i = lrutab_add(self->t, key, deadline);
    } else {
        uint64_t old = lrutab_deadline(self->t, i);
        lrutab_touch(self->t, i, old > deadline ? old : deadline);
    }
    str_copy(self->b[i].name, name, sizeof self->b[i].name);
    self->st.bound++;
}

const char *dnsbind_lookup(const dnsbind_t *self, int site, const ip_addr_t *addr,
        uint64_t now_us)
{
    lrutab_stats_t ts;
    lrutab_stats(self->t, &ts);
    if (!ts.active) /* no binding: the keyed hash is not worth computing */
        return NULL;
    uint32_t i = lrutab_find(self->t, s_key(site, addr));
    if (i == LRUTAB_NONE || lrutab_deadline(self->t, i) < now_us)
        return NULL;
    return self->b[i].name;
}

void dnsbind_expire(dnsbind_t *self, uint64_t now_us)
{
    lrutab_expire(self->t, now_us);
}

void dnsbind_flush(dnsbind_t *self)
{
    lrutab_flush(self->t);
}

void dnsbind_count(dnsbind_t *self, bool ok)
{
    if (ok)
        self->st.answers++;
    else
        self->st.invalid++;
}

void dnsbind_stats(const dnsbind_t *self, dnsbind_stats_t *out)
{
    *out = self->st;
    lrutab_stats(self->t, &out->table);
}
