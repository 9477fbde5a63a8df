/* SPDX-License-Identifier: MIT */
/* batch.h: a message's body split into its event lines and each line read
 * (event.c) into memory of the batch's own, so that the reading can be done
 * on another thread while the message before is stored (parse_ahead.h;
 * docs/collector.md "Ingest speed").
 *
 * A batch reads nothing but its body: it holds its own parser, the events'
 * strings (copied out of the parser) and the lines made UTF-8. What it
 * read stays valid until its next batch_parse. Its memory follows the
 * largest message it read (a line's entry holds a whole event_t, about
 * 1 KiB: 4 MiB for EVSCHEMA_MAX_BATCH lines) and is kept for the next. */
#ifndef PINHOLE_BATCH_H
#define PINHOLE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* One line: read (err NULL, ev), or refused (err says why). */
typedef struct {
    const char *line; /* as stored: the body's bytes, or the batch's copy made UTF-8 */
    size_t len;
    const char *err;
    bool fixed;       /* bytes that are not UTF-8 became U+FFFD */
    event_t ev;
} batch_line_t;

typedef struct batch batch_t;

batch_t *batch_new(void);
void batch_destroy(batch_t **self_p);

/* What batch_parse made of a body. */
typedef enum {
    BATCH_READ = 0,      /* every line read or refused on its own merits */
    BATCH_MALFORMED = -1, /* not count lines: nothing read */
    BATCH_NOMEM = -2,    /* memory ran out: nothing to store (not to be acknowledged) */
} batch_status_t;

/* Reads body (len bytes, exactly count lines; it must outlive what is
 * read). Returns its status, which batch_status gives again. A line
 * refused is one that is not an event; memory running out refuses the
 * whole batch (BATCH_NOMEM), never a line: a line dropped for that would
 * be acknowledged, and lost. */
batch_status_t batch_parse(batch_t *self, const char *body, size_t len, uint64_t count);
batch_status_t batch_status(const batch_t *self);

/* The lines read by the last batch_parse (count of them, or 0). */
const batch_line_t *batch_lines(const batch_t *self, size_t *n);

#endif
