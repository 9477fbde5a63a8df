/* SPDX-License-Identifier: MIT */
/* clockhold.c: frames far off the clock held until the next one judges them. */
#include "clockhold.h"

#include <stdlib.h>
#include <string.h>

/* The last microsecond of the year 9999: a timestamp past it (a pcapng
 * clock gone wrong) cannot be written as an event's time. */
#define CLOCKHOLD_MAX_TS_US 253402300799999999ull

void clockhold_init(clockhold_t *self, uint64_t jump_us, clockhold_fn *fn, void *ctx)
{
    memset(self, 0, sizeof *self);
    self->jump_us = jump_us;
    self->fn = fn;
    self->ctx = ctx;
}

void clockhold_fini(clockhold_t *self)
{
    free(self->held_data);
    self->held_data = NULL;
}

static bool s_far(const clockhold_t *self, uint64_t a, uint64_t b)
{
    return a > b + self->jump_us || b > a + self->jump_us;
}

/* The held frame, judged by the frame after it (NULL: none will come). */
static void s_release(clockhold_t *self, uint64_t now_us, const capture_pkt_t *next, bool believe)
{
    self->holding = false;
    if (next && !s_far(self, next->ts_us, self->held.ts_us))
        believe = true; /* the next frame agrees: the clock really moved */
    if (!believe)
        self->held.ts_us = now_us; /* taken as dated now */
    self->fn(self->ctx, &self->held, self->held_data, believe ? CLOCKHOLD_STEP : CLOCKHOLD_JUMP);
}

void clockhold_frame(clockhold_t *self, uint64_t now_us, uint64_t mono_us,
        const capture_pkt_t *hdr, const uint8_t *data)
{
    capture_pkt_t fixed;
    clockhold_how_t how = CLOCKHOLD_AS_DATED;
    if (hdr->ts_us > CLOCKHOLD_MAX_TS_US) { /* taken as dated now */
        fixed = *hdr;
        fixed.ts_us = now_us;
        hdr = &fixed;
        how = CLOCKHOLD_JUMP;
    }
    if (self->holding) {
        bool agrees = !s_far(self, hdr->ts_us, self->held.ts_us);
        s_release(self, now_us, hdr, false);
        if (agrees)
            now_us = self->held.ts_us; /* the clock stepped there */
    }
    if (now_us && s_far(self, hdr->ts_us, now_us) && hdr->caplen <= CAPTURE_SNAPLEN) {
        if (self->held_data || (self->held_data = malloc(CAPTURE_SNAPLEN))) {
            self->held = *hdr;
            memcpy(self->held_data, data, hdr->caplen);
            self->holding = true;
            self->held_mono_us = mono_us;
            return;
        }
    }
    self->fn(self->ctx, hdr, data, how);
}

void clockhold_tick(clockhold_t *self, uint64_t now_us, uint64_t mono_us)
{
    /* A doubted frame on a quiet port: a second without a frame to compare
     * with, and the wall clock agrees it is live: believe it. */
    if (self->holding && mono_us - self->held_mono_us >= 1000000u)
        s_release(self, now_us, NULL, true);
}

void clockhold_finish(clockhold_t *self, uint64_t now_us)
{
    /* The last frame, alone far off: believed if it is later (a capture can
     * end after a quiet spell; nothing is left for the clock to freeze),
     * not if it is earlier. */
    if (self->holding)
        s_release(self, now_us, NULL, self->held.ts_us > now_us);
}
