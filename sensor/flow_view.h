/* SPDX-License-Identifier: MIT */
/* flow_view.h: one finished flow as the verdict, the report and the
 * output read it.
 *
 * What a flow's end needs besides its record is worked out here once: the
 * originator's and the responder's ends (the flow's orientation), nDPI's
 * name of its application, its verdict (with the rule and roles in it) and,
 * on first use, its roles as text. The pipeline fills the view when a flow
 * ends (or a call's media is judged); the verdict is given the view's
 * application name, and the report and the event writer read the view
 * instead of working each of these out again. */
#ifndef PINHOLE_FLOW_VIEW_H
#define PINHOLE_FLOW_VIEW_H

#include "classify.h"
#include "flow.h"
#include "media.h"
#include "rules.h"
#include "verdict.h"

#define FLOW_VIEW_APP_LEN 64
#define FLOW_VIEW_ROLES_LEN 128

/* The roles of the last few role sets as text (a site has a handful of
 * role sets, and every flow names two): one per pipeline, emptied when the
 * rules change. */
#define FLOW_NAMES_SLOTS 16
typedef struct flow_names {
    const rules_t *rules;
    struct {
        bool used;
        role_set_t set;
        char text[FLOW_VIEW_ROLES_LEN];
    } slot[FLOW_NAMES_SLOTS];
} flow_names_t;

/* Empties the cache; names come from `rules` from now on. */
void flow_names_init(flow_names_t *n, const rules_t *rules);

typedef struct flow_view {
    const flow_t *f;
    const media_stream_t *ms;    /* its RTP stream, or NULL */
    const ip_addr_t *src, *dst;  /* the originator's and the responder's address */
    uint16_t sport, dport;
    uint8_t orig, resp;          /* f->d[] index of each direction */
    char app[FLOW_VIEW_APP_LEN]; /* nDPI's name ("TLS.Google"), cut to fit */
    verdict_t v;                 /* set by the pipeline once judged */
    flow_names_t *names;         /* the roles cache, or NULL */
    bool roles_done[2];
    char roles[2][FLOW_VIEW_ROLES_LEN]; /* v.roles as text, on first use */
} flow_view_t;

/* Fills the orientation and the application name of f (borrowed, with ms
 * and names: all must outlive the view; names may be NULL); the verdict is
 * left for the caller. */
void flow_view_init(flow_view_t *fv, classify_t *cls, flow_names_t *names, const flow_t *f,
        const media_stream_t *ms);
/* The roles of side (0: originator, 1: responder) as "a,b" text: worked out
 * on the first call, then kept. Valid as long as the view. */
const char *flow_view_roles(flow_view_t *fv, const rules_t *rules, int side);

#endif
