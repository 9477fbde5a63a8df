/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pcapng.h"
#include "unit.h"

int test_pcapng(void);

typedef struct {
    uint8_t b[1024];
    size_t n;
    bool be;
} buf_t;

static void s_u16(buf_t *w, uint16_t v)
{
    w->b[w->n++] = (uint8_t)(w->be ? v >> 8 : v);
    w->b[w->n++] = (uint8_t)(w->be ? v : v >> 8);
}

static void s_u32(buf_t *w, uint32_t v)
{
    if (w->be) {
        s_u16(w, (uint16_t)(v >> 16));
        s_u16(w, (uint16_t)v);
    } else {
        s_u16(w, (uint16_t)v);
        s_u16(w, (uint16_t)(v >> 16));
    }
}

/* Writes a block: type, length, body (padded), length. */
static void s_block(buf_t *w, uint32_t type, const buf_t *body)
{
    size_t pad = (4 - body->n % 4) % 4;
    uint32_t len = (uint32_t)(12 + body->n + pad);
    s_u32(w, type);
    s_u32(w, len);
    memcpy(w->b + w->n, body->b, body->n);
    w->n += body->n;
    memset(w->b + w->n, 0, pad);
    w->n += pad;
    s_u32(w, len);
}

static void s_shb(buf_t *w)
{
    buf_t body = {.be = w->be};
    s_u32(&body, 0x1A2B3C4D); /* byte-order magic, in the section's order */
    s_u16(&body, 1);
    s_u16(&body, 0);
    s_u32(&body, 0xffffffff); /* section length unknown */
    s_u32(&body, 0xffffffff);
    s_block(w, 0x0A0D0D0A, &body);
}

static void s_idb(buf_t *w, uint16_t linktype, int tsresol)
{
    buf_t body = {.be = w->be};
    s_u16(&body, linktype);
    s_u16(&body, 0);
    s_u32(&body, 65535);
    if (tsresol >= 0) { /* if_tsresol option, then opt_endofopt */
        s_u16(&body, 9);
        s_u16(&body, 1);
        body.b[body.n++] = (uint8_t)tsresol;
        body.n += 3;
        s_u32(&body, 0);
    }
    s_block(w, 1, &body);
}

static void s_epb(buf_t *w, uint32_t ifid, uint64_t ts, const char *data)
{
    buf_t body = {.be = w->be};
    uint32_t len = (uint32_t)strlen(data);
    s_u32(&body, ifid);
    s_u32(&body, (uint32_t)(ts >> 32));
    s_u32(&body, (uint32_t)ts);
    s_u32(&body, len);
    s_u32(&body, len + 10); /* the wire had more than was captured */
    memcpy(body.b + body.n, data, len);
    body.n += len;
    s_block(w, 6, &body);
}

static int s_read_all(const buf_t *w, size_t len, int *npkts, int *lts, uint64_t *ts)
{
    FILE *f = fmemopen((void *)(uintptr_t)w->b, len, "rb");
    char err[256];
    pcapng_t *ng = pcapng_new(f, err, sizeof err);
    int rc = ng ? 0 : PINHOLE_EFORMAT;
    *npkts = 0;
    while (ng) {
        pcapng_pkt_t h;
        const uint8_t *d;
        rc = pcapng_next(ng, &h, &d);
        if (rc != 1)
            break;
        lts[*npkts] = h.linktype;
        ts[*npkts] = h.ts_us;
        (*npkts)++;
    }
    pcapng_destroy(&ng);
    fclose(f);
    return rc;
}

int test_pcapng(void)
{
    buf_t w = {.be = false};
    size_t bounds[8], nb = 0;
    s_shb(&w);
    bounds[nb++] = w.n;
    s_idb(&w, 1, -1);   /* Ethernet, microseconds */
    bounds[nb++] = w.n;
    s_idb(&w, 276, 9);  /* SLL2, nanoseconds */
    bounds[nb++] = w.n;
    s_epb(&w, 0, 1700000000123456ull, "frame-on-ethernet");
    bounds[nb++] = w.n;
    s_epb(&w, 1, 1700000000123456789ull, "frame-on-sll2");
    bounds[nb++] = w.n;
    w.be = true; /* a second section, big-endian: interfaces start again */
    s_shb(&w);
    bounds[nb++] = w.n;
    s_idb(&w, 101, -1);
    bounds[nb++] = w.n;
    s_epb(&w, 0, 5, "raw-ip");
    int n, lts[8];
    uint64_t ts[8];
    CHECK_EQ(s_read_all(&w, w.n, &n, lts, ts), 0);
    CHECK_EQ(n, 3);
    CHECK_EQ(lts[0], 1);
    CHECK_EQ(lts[1], 276);
    CHECK_EQ(lts[2], 101);
    CHECK_EQ(ts[0], 1700000000123456ull);
    CHECK_EQ(ts[1], 1700000000123456ull); /* ns scaled to us */
    CHECK_EQ(ts[2], 5);
    /* Cut anywhere: never a crash; a cut inside a block is an error, never
     * a silent clean end, and the packets before it were delivered. */
    for (size_t cut = bounds[0] + 1; cut < w.n; cut++) {
        int rc = s_read_all(&w, cut, &n, lts, ts);
        bool boundary = false;
        for (size_t i = 0; i < nb; i++)
            boundary |= bounds[i] == cut;
        CHECK(n <= 3);
        CHECK(boundary ? rc == 0 : rc < 0);
        CHECK(cut < bounds[3] || n >= 1);
    }
    /* A packet on an interface that was never described is refused. */
    buf_t bad = {.be = false};
    s_shb(&bad);
    s_idb(&bad, 1, -1);
    s_epb(&bad, 3, 1, "x");
    CHECK(s_read_all(&bad, bad.n, &n, lts, ts) < 0);
    /* A block length that is not a multiple of 4 is refused. */
    bad.n = 0;
    s_shb(&bad);
    bad.b[4] = 27;
    CHECK(s_read_all(&bad, bad.n, &n, lts, ts) < 0);
    return 0;
}
