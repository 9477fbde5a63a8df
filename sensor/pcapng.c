/* SPDX-License-Identifier: MIT */
/* pcapng.c: pcapng reader (draft-ietf-opsawg-pcapng).
 *
 *   block: | type 4 | total length 4 | body ... | total length 4 |
 *   SHB (0x0A0D0D0A): | byte-order magic 4 | major 2 | minor 2 | section len 8 | options |
 *   IDB (1): | linktype 2 | reserved 2 | snaplen 4 | options (if_tsresol = 9) |
 *   EPB (6): | if id 4 | ts high 4 | ts low 4 | caplen 4 | origlen 4 | data | options |
 *   SPB (3): | origlen 4 | data |
 *   OPB (2): | if id 2 | drops 2 | ts high 4 | ts low 4 | caplen 4 | origlen 4 | data |
 *
 * The byte order is set per section by the SHB magic. Every length is checked
 * against the block before it is used. */
#include "pcapng.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "err.h"

#define PCAPNG_MAX_BLOCK (16u * 1024 * 1024)
#define PCAPNG_MAX_IFACES 4096

typedef struct {
    int linktype;
    uint64_t units_per_sec; /* timestamp resolution */
    int64_t offset_sec;
} iface_t;

struct pcapng {
    FILE *f;
    bool swap; /* section in little-endian */
    uint8_t *buf;
    size_t cap;
    iface_t *ifs;
    uint32_t nifs;
    uint64_t blocks;
    char err[256];
};

static bool s_u16(cursor_t *c, bool le, uint16_t *v)
{
    return le ? cur_le16(c, v) : cur_be16(c, v);
}

static bool s_u32(cursor_t *c, bool le, uint32_t *v)
{
    return le ? cur_le32(c, v) : cur_be32(c, v);
}

static uint32_t s_raw32(const uint8_t *b, bool le)
{
    cursor_t c = cur_make(b, 4);
    uint32_t v = 0;
    s_u32(&c, le, &v);
    return v;
}

static int s_seterr(pcapng_t *self, int rc, const char *msg)
{
    snprintf(self->err, sizeof self->err, "block %llu: %s", (unsigned long long)self->blocks, msg);
    return rc;
}

/* Reads one whole block into buf; returns its type, or 0 at a clean EOF. */
static int s_read_block(pcapng_t *self, uint32_t *type, cursor_t *body)
{
    uint8_t hdr[8];
    size_t got = fread(hdr, 1, 8, self->f);
    if (got == 0)
        return 0;
    if (got < 8)
        return s_seterr(self, PINHOLE_EFORMAT, "file ends inside a block header (truncated)");
    self->blocks++;
    bool le = self->swap;
    uint32_t t = s_raw32(hdr, le);
    bool shb = t == 0x0A0D0D0A;
    uint8_t magic[4] = {0};
    /* A new section: its magic sets the byte order. It is read ahead and
     * kept, never sought back to: the file may be a pipe. */
    if (shb) {
        if (fread(magic, 1, 4, self->f) != 4)
            return s_seterr(self, PINHOLE_EFORMAT, "file ends inside a section header");
        if (memcmp(magic, "\x4d\x3c\x2b\x1a", 4) == 0)
            le = true;
        else if (memcmp(magic, "\x1a\x2b\x3c\x4d", 4) == 0)
            le = false;
        else
            return s_seterr(self, PINHOLE_EFORMAT, "bad byte-order magic in section header");
        self->swap = le;
    }
    uint32_t len = s_raw32(hdr + 4, le);
    if (len < (shb ? 16u : 12u) || len % 4 != 0 || len > PCAPNG_MAX_BLOCK)
        return s_seterr(self, PINHOLE_EFORMAT, "bad block length");
    size_t blen = len - 8, ahead = shb ? 4 : 0;
    if (blen > self->cap) {
        uint8_t *nb = realloc(self->buf, blen);
        if (!nb)
            return s_seterr(self, PINHOLE_ENOMEM, "out of memory");
        self->buf = nb;
        self->cap = blen;
    }
    if (ahead)
        memcpy(self->buf, magic, ahead);
    if (fread(self->buf + ahead, 1, blen - ahead, self->f) != blen - ahead)
        return s_seterr(self, PINHOLE_EFORMAT, "file ends inside a block (truncated)");
    if (s_raw32(self->buf + blen - 4, le) != len)
        return s_seterr(self, PINHOLE_EFORMAT, "trailing block length differs from leading");
    *type = t;
    *body = cur_make(self->buf, blen - 4);
    return 1;
}

static int s_idb(pcapng_t *self, cursor_t *c)
{
    uint16_t lt, rsv;
    uint32_t snap;
    if (!s_u16(c, self->swap, &lt) || !s_u16(c, self->swap, &rsv) || !s_u32(c, self->swap, &snap))
        return s_seterr(self, PINHOLE_EFORMAT, "interface block too short");
    if (self->nifs >= PCAPNG_MAX_IFACES)
        return s_seterr(self, PINHOLE_EFORMAT, "too many interfaces");
    iface_t *ni = realloc(self->ifs, (self->nifs + 1) * sizeof *ni);
    if (!ni)
        return s_seterr(self, PINHOLE_ENOMEM, "out of memory");
    self->ifs = ni;
    iface_t *ifc = &self->ifs[self->nifs++];
    ifc->linktype = lt;
    ifc->units_per_sec = 1000000;
    ifc->offset_sec = 0;
    /* Options: | code 2 | length 2 | value, padded to 4 |, ending with code 0. */
    while (cur_has(c, 4)) {
        uint16_t code, olen;
        s_u16(c, self->swap, &code);
        s_u16(c, self->swap, &olen);
        cursor_t v;
        if (code == 0 || !cur_sub(c, olen, &v))
            break;
        cur_skip(c, (4 - olen % 4) % 4);
        uint8_t res;
        if (code == 9 && cur_u8(&v, &res)) {
            uint64_t units = 1;
            unsigned exp = res & 0x7f;
            if (exp > 19)
                return s_seterr(self, PINHOLE_EFORMAT, "timestamp resolution out of range");
            for (unsigned i = 0; i < exp; i++)
                units *= (res & 0x80) ? 2 : 10;
            ifc->units_per_sec = units;
        } else if (code == 14 && olen == 8) {
            uint32_t a, b;
            s_u32(&v, self->swap, &a);
            s_u32(&v, self->swap, &b);
            uint64_t off = self->swap ? ((uint64_t)b << 32 | a) : ((uint64_t)a << 32 | b);
            ifc->offset_sec = (int64_t)off;
        }
    }
    return 0;
}

static uint64_t s_ts_us(const iface_t *ifc, uint32_t hi, uint32_t lo)
{
    uint64_t t = ((uint64_t)hi << 32) | lo;
    uint64_t sec = t / ifc->units_per_sec, frac = t % ifc->units_per_sec;
    return (sec + (uint64_t)ifc->offset_sec) * 1000000u + frac * 1000000u / ifc->units_per_sec;
}

pcapng_t *pcapng_new(FILE *f, char *err, size_t errlen)
{
    pcapng_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->f = f;
    uint32_t type = 0;
    cursor_t body;
    int rc = s_read_block(self, &type, &body);
    if (rc <= 0 || type != 0x0A0D0D0A) {
        snprintf(err, errlen, "not a pcapng file: %s", rc < 0 ? self->err : "no section header");
        pcapng_destroy(&self);
    }
    return self;
}

void pcapng_destroy(pcapng_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->buf);
    free((*self_p)->ifs);
    free(*self_p);
    *self_p = NULL;
}

const char *pcapng_error(const pcapng_t *self)
{
    return self->err;
}

uint32_t pcapng_interfaces(const pcapng_t *self)
{
    return self->nifs;
}

static int s_packet(pcapng_t *self, cursor_t *c, uint32_t ifid, uint32_t hi, uint32_t lo,
        uint32_t caplen, uint32_t wirelen, pcapng_pkt_t *hdr, const uint8_t **data)
{
    if (ifid >= self->nifs)
        return s_seterr(self, PINHOLE_EFORMAT, "packet names an interface not described");
    if (caplen > c->left)
        return s_seterr(self, PINHOLE_EFORMAT, "captured length runs past the block");
    hdr->ts_us = s_ts_us(&self->ifs[ifid], hi, lo);
    hdr->caplen = caplen;
    hdr->wirelen = wirelen < caplen ? caplen : wirelen;
    hdr->linktype = self->ifs[ifid].linktype;
    *data = c->p;
    return 1;
}

int pcapng_next(pcapng_t *self, pcapng_pkt_t *hdr, const uint8_t **data)
{
    for (;;) {
        uint32_t type = 0;
        cursor_t c;
        int rc = s_read_block(self, &type, &c);
        if (rc <= 0)
            return rc;
        bool le = self->swap;
        uint32_t ifid, hi, lo, caplen, wirelen;
        uint16_t if16, drops;
        switch (type) {
            case 0x0A0D0D0A: /* new section: interfaces start again */
                self->nifs = 0;
                break;
            case 1:
                if ((rc = s_idb(self, &c)) < 0)
                    return rc;
                break;
            case 6:
                if (!s_u32(&c, le, &ifid) || !s_u32(&c, le, &hi) || !s_u32(&c, le, &lo) ||
                        !s_u32(&c, le, &caplen) || !s_u32(&c, le, &wirelen))
                    return s_seterr(self, PINHOLE_EFORMAT, "enhanced packet block too short");
                return s_packet(self, &c, ifid, hi, lo, caplen, wirelen, hdr, data);
            case 3:
                if (!s_u32(&c, le, &wirelen))
                    return s_seterr(self, PINHOLE_EFORMAT, "simple packet block too short");
                caplen = wirelen < c.left ? wirelen : (uint32_t)c.left;
                return s_packet(self, &c, 0, 0, 0, caplen, wirelen, hdr, data);
            case 2:
                if (!s_u16(&c, le, &if16) || !s_u16(&c, le, &drops) || !s_u32(&c, le, &hi) ||
                        !s_u32(&c, le, &lo) || !s_u32(&c, le, &caplen) || !s_u32(&c, le, &wirelen))
                    return s_seterr(self, PINHOLE_EFORMAT, "packet block too short");
                return s_packet(self, &c, if16, hi, lo, caplen, wirelen, hdr, data);
            default:
                break; /* statistics, name resolution, custom: not needed */
        }
    }
}
