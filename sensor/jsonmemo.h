/* SPDX-License-Identifier: MIT */
/* jsonmemo.h: prepared members for values that repeat.
 *
 * Many members of the events take their value from a short list: a word of
 * an enum (the verdict, how a role was found, the transport), a rule's or
 * a site's id, a role set's names, an application's name. The memo keeps
 * the text of such a member, `,"verdict":"allowed"`, under its key and an
 * identity of its value, so the next event copies it whole instead of
 * measuring the value and checking it for escapes (and, for role sets,
 * naming the roles) again.
 *
 * The identity is the caller's: the address of a string that never
 * changes while it is in use (a literal; a rules string until the rules
 * are replaced, when the caller clears the memo), or a number that names
 * the value (a role set, an nDPI protocol pair). One identity must always
 * stand for the same text under the same key. */
#ifndef PINHOLE_JSONMEMO_H
#define PINHOLE_JSONMEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "jsonw.h"

typedef struct jsonmemo jsonmemo_t;

jsonmemo_t *jsonmemo_new(void);
void jsonmemo_destroy(jsonmemo_t **self_p);
/* Forgets every member (the rules the identities pointed into are gone). */
void jsonmemo_clear(jsonmemo_t *self);
/* Writes the member under key k whose value has identity id, if the memo
 * has it; false if not (the caller then gives the value to jsonmemo_add). */
bool jsonmemo_write(jsonmemo_t *self, jsonw_t *w, jsonw_key_t k, uint64_t id);
/* Writes the string member (k, v) and keeps its text under (k, id). */
void jsonmemo_add(jsonmemo_t *self, jsonw_t *w, jsonw_key_t k, uint64_t id, const char *v);
/* The two: a string member whose value's identity is its address. */
void jsonmemo_str(jsonmemo_t *self, jsonw_t *w, jsonw_key_t k, const char *v);

#endif
