/* SPDX-License-Identifier: MIT */
/* flow_view.c: a finished flow's orientation, application and roles, once. */
#include "flow_view.h"

#include <string.h>

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

void flow_view_init(flow_view_t *fv, classify_t *cls, const flow_t *f, const media_stream_t *ms)
{
    s_ends(fv, f);
    fv->ms = ms;
    classify_app_name(cls, f, fv->app, sizeof fv->app);
    memset(&fv->v, 0, sizeof fv->v);
}

const char *flow_view_roles(flow_view_t *fv, const rules_t *rules, int side)
{
    if (!fv->roles_done[side]) {
        rules_roles_str(rules, fv->v.roles[side], fv->roles[side], sizeof fv->roles[side]);
        fv->roles_done[side] = true;
    }
    return fv->roles[side];
}
