/* SPDX-License-Identifier: MIT */
/* event_json.h: simdjson behind a small C walker, for event.c (nothing
 * else includes it; event_json.cpp is simdjson's only home). */
#ifndef PINHOLE_EVENT_JSON_H
#define PINHOLE_EVENT_JSON_H

#include <stddef.h>

#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct event_json event_json_t;

/* A parser for documents of at most max_len bytes nested at most
 * max_depth deep (arrays and objects); NULL if out of memory. */
event_json_t *event_json_new(size_t max_len, size_t max_depth);
void event_json_destroy(event_json_t **self_p);

/* Called for each member of the top object with parent -1; its return,
 * for a member that is an object: >= 0 to be called again for each member
 * of that object with that number as parent (one level down only). Keys
 * and strings are NUL-terminated and valid until the next walk. */
typedef int (*event_json_member_fn)(void *ctx, int parent, const char *key, size_t klen,
        const event_val_t *v);

/* Reads buf (len bytes, copied: no padding needed) as strict JSON, an
 * object at the top, and walks it. Returns 0, or -1 when simdjson refuses
 * it (then nothing was called). */
int event_json_walk(event_json_t *self, const char *buf, size_t len, event_json_member_fn fn,
        void *ctx);

#ifdef __cplusplus
}
#endif

#endif
