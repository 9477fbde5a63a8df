/* SPDX-License-Identifier: MIT */
/* flow_view.c: a finished flow's orientation, application and roles, once. */
#include "flow_view.h"

#include <string.h>

#include "strutil.h"

static void s_ends(flow_view_t *fv, const flow_t *f)
{
    int o = f->orig;
    fv->f = f;
    fv->orig = (uint8_t)o;
    fv->resp = (uint8_t)!o;
    fv->src = o ? &f->key.b : &f->key.a;
    fv->dst = o ? &f->key.a : &f->key.b;
    fv->sport = o ? f->key.pb : f->key.pa;
    fv->dport = o ? f->key.pa : f->key.pb;
    fv->roles_done[0] = fv->roles_done[1] = false;
}

void flow_names_init(flow_names_t *n, const rules_t *rules)
{
    n->rules = rules;
    for (size_t i = 0; i < FLOW_NAMES_SLOTS; i++)
        n->slot[i].used = false;
}

/* The text of a role set, from the cache (filled on a miss). */
static const char *s_names(flow_names_t *n, const rules_t *rules, role_set_t set)
{
    if (n->rules != rules)
        flow_names_init(n, rules);
    uint64_t h = set * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(h >> 60) & (FLOW_NAMES_SLOTS - 1);
    if (!n->slot[i].used || n->slot[i].set != set) {
        rules_roles_str(rules, set, n->slot[i].text, sizeof n->slot[i].text);
        n->slot[i].set = set;
        n->slot[i].used = true;
    }
    return n->slot[i].text;
}

void flow_view_init(flow_view_t *fv, classify_t *cls, flow_names_t *names, const flow_t *f,
        const media_stream_t *ms)
{
    s_ends(fv, f);
    fv->names = names;
    fv->ms = ms;
    classify_app_name(cls, f, fv->app, sizeof fv->app);
    memset(&fv->v, 0, sizeof fv->v);
}

const char *flow_view_roles(flow_view_t *fv, const rules_t *rules, int side)
{
    if (!fv->roles_done[side]) {
        if (fv->names)
            str_copy(fv->roles[side], s_names(fv->names, rules, fv->v.roles[side]),
                    sizeof fv->roles[side]);
        else
            rules_roles_str(rules, fv->v.roles[side], fv->roles[side], sizeof fv->roles[side]);
        fv->roles_done[side] = true;
    }
    return fv->roles[side];
}
