/* SPDX-License-Identifier: MIT */
/* clockhold.h: one odd timestamp never moves the packet clock.
 *
 * A frame dated more than jump_us off the clock is held until the next
 * frame says whether the clock really moved (it agrees: a step, both are
 * taken as dated) or the frame was odd (a jump: it is taken as dated at the
 * clock). Live, a held frame is believed after a second with no frame to
 * judge it by; at the end of input, if it is later than the clock. A
 * timestamp past the year 9999 is a jump at once. The pipeline holds its
 * frames so; with workers, the reader does it for all of them, so every
 * worker sees the one clock of the capture. */
#ifndef PINHOLE_CLOCKHOLD_H
#define PINHOLE_CLOCKHOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

typedef enum {
    CLOCKHOLD_AS_DATED = 0,
    CLOCKHOLD_STEP, /* the clock moved to the frame's time (forward or back) */
    CLOCKHOLD_JUMP, /* the frame's time was odd: it now reads the clock's */
} clockhold_how_t;

/* Each frame goes on here, in order, once: the caller sets its clock to
 * hdr->ts_us first on a step. */
typedef void(clockhold_fn)(void *ctx, const capture_pkt_t *hdr, const uint8_t *data,
        clockhold_how_t how);

typedef struct {
    uint64_t jump_us;
    clockhold_fn *fn;
    void *ctx;
    capture_pkt_t held;
    uint8_t *held_data; /* CAPTURE_SNAPLEN bytes, taken on the first hold */
    bool holding;
    uint64_t held_mono_us;
} clockhold_t;

void clockhold_init(clockhold_t *self, uint64_t jump_us, clockhold_fn *fn, void *ctx);
void clockhold_fini(clockhold_t *self);
/* One frame; now_us: the clock (0: none yet); mono_us: the monotonic time of
 * the last live tick (0 offline). */
void clockhold_frame(clockhold_t *self, uint64_t now_us, uint64_t mono_us,
        const capture_pkt_t *hdr, const uint8_t *data);
/* Live tick: a frame held a second or more is believed. */
void clockhold_tick(clockhold_t *self, uint64_t now_us, uint64_t mono_us);
/* End of input: a held frame is believed if later than the clock. */
void clockhold_finish(clockhold_t *self, uint64_t now_us);

#endif
