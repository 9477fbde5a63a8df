/* SPDX-License-Identifier: MIT */
/* parse_ahead.h: messages' event lines read (batch.h) on a thread of their
 * own, in the order they were handed over, so that the next message is
 * read while the one before is stored: reading is a third of ingest's work,
 * storing the rest (docs/collector.md "Ingest speed").
 *
 * The store's thread hands a batch over with its body (parse_ahead_submit),
 * goes on with what it holds, and takes the batch back when it needs it
 * (parse_ahead_wait). At most `depth` batches are handed over at a time.
 * Nothing else is shared: the reader sees only the batch and its body. */
#ifndef PINHOLE_PARSE_AHEAD_H
#define PINHOLE_PARSE_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"

typedef struct parse_ahead parse_ahead_t;

/* NULL if the thread or the batches could not be made. */
parse_ahead_t *parse_ahead_new(size_t depth);
/* Waits for what was handed over, then ends the thread. */
void parse_ahead_destroy(parse_ahead_t **self_p);

/* A batch to hand over, or NULL if depth are handed over already. */
batch_t *parse_ahead_free(parse_ahead_t *self);
/* Hands b over to read body (count lines; it stays valid until taken). */
void parse_ahead_submit(parse_ahead_t *self, batch_t *b, const char *body, size_t len,
        uint64_t count);
/* Waits until b is read: batch_parse's result. b stays the caller's until
 * parse_ahead_release. */
int parse_ahead_wait(parse_ahead_t *self, batch_t *b);
void parse_ahead_release(parse_ahead_t *self, batch_t *b);

#endif
