/* SPDX-License-Identifier: MIT */
/* batch.h: a message's body split into its event lines and each line read
 * (event.c) into memory of the batch's own, so that the reading can be done
 * on another thread while the message before is stored (parse_ahead.h;
 * docs/collector.md "Ingest speed").
 *
 * A batch reads nothing but its body: it holds its own parser, the events'
 * strings (copied out of the parser) and the lines made UTF-8. What it
 * read stays valid until its next batch_parse. */
#ifndef PINHOLE_BATCH_H
#define PINHOLE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* One line: read (rc 0, ev), or refused (rc != 0, batch_error says why). */
typedef struct {
    const char *line; /* as stored: the body's bytes, or the batch's copy made UTF-8 */
    size_t len;
    int rc;
    bool fixed;       /* bytes that are not UTF-8 became U+FFFD */
    event_t ev;
} batch_line_t;

typedef struct batch batch_t;

batch_t *batch_new(void);
void batch_destroy(batch_t **self_p);

/* Reads body (len bytes, exactly count lines; it must outlive what is
 * read). Returns 0 (a line memory ran out for is refused, and says so),
 * or -1 if the body does not hold count lines or the lines' table could
 * not be made: nothing read. */
int batch_parse(batch_t *self, const char *body, size_t len, uint64_t count);

/* The lines read by the last batch_parse (count of them, or 0). */
const batch_line_t *batch_lines(const batch_t *self, size_t *n);
/* Why line i was refused ("" if it was not). */
const char *batch_error(const batch_t *self, size_t i);

#endif
