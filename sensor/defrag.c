/* SPDX-License-Identifier: MIT */
/* defrag.c: fragment reassembly.
 *
 * A datagram in progress is keyed by (version, source, destination,
 * protocol, identification). Its payload is copied at its offset into a
 * 64 KiB buffer; a bitmap of 8-byte blocks records what has arrived, and the
 * fragment without "more fragments" sets the total. When every block up to
 * the total is there, an IP header is put in front (IPv4: the first
 * fragment's, fragment fields cleared; IPv6: a plain 40-byte header) and the
 * datagram is handed back whole. Overlapping fragments: the later bytes win
 * (Linux's behaviour); we audit, we do not defend a host.
 *
 * Slots are preallocated (max_datagrams x ~66 KiB of address space, touched
 * as used). A full table evicts the oldest datagram; one older than the
 * timeout is dropped, when a fragment looks for its slot or when
 * defrag_expire runs; both are counted. Every fragment scans the slots: the
 * table is small (256 by default), so a scan costs less than a hash would
 * save. */
#include "defrag.h"

#include <stdlib.h>
#include <string.h>

#define DEFRAG_MAX 65535u
#define DEFRAG_HDR 60u
#define DEFRAG_BLOCKS (DEFRAG_MAX / 8 + 1)

typedef struct {
    bool used;
    uint8_t ver, proto;
    ip_addr_t src, dst;
    uint32_t id;
    uint64_t first_us;
    uint32_t total;          /* payload length, 0 until the last fragment */
    uint32_t hdr_len;        /* IPv4 header kept from the first fragment */
    uint8_t hdr[DEFRAG_HDR];
    uint8_t seen[DEFRAG_BLOCKS / 8 + 1];
    uint8_t buf[DEFRAG_HDR + DEFRAG_MAX];
} slot_t;

struct defrag {
    slot_t *slots;
    uint32_t max;
    uint64_t timeout_us;
    defrag_stats_t st;
};

defrag_t *defrag_new(uint32_t max_datagrams, uint64_t timeout_us)
{
    defrag_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc(max_datagrams ? max_datagrams : 1, sizeof(slot_t));
    self->max = max_datagrams;
    self->timeout_us = timeout_us;
    if (!self->slots)
        defrag_destroy(&self);
    return self;
}

void defrag_destroy(defrag_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

static bool s_same(const slot_t *s, const packet_t *p)
{
    return s->used && s->id == p->frag_id && s->ver == p->ipver && s->proto == p->proto &&
           memcmp(&s->src, &p->src, sizeof s->src) == 0 && memcmp(&s->dst, &p->dst, sizeof s->dst) == 0;
}

/* Frees a slot whose datagram is complete, abandoned or pushed out. */
static void s_free(defrag_t *self, slot_t *s)
{
    s->used = false;
    self->st.active--;
}

/* Drops s if its datagram has waited longer than the timeout. */
static void s_timeout(defrag_t *self, slot_t *s, uint64_t now_us)
{
    if (s->used && s->first_us + self->timeout_us < now_us) {
        s_free(self, s); /* too old: dropped incomplete */
        self->st.timed_out++;
    }
}

static slot_t *s_slot(defrag_t *self, const packet_t *p)
{
    slot_t *free_slot = NULL, *oldest = NULL;
    for (uint32_t i = 0; i < self->max; i++) {
        slot_t *s = &self->slots[i];
        s_timeout(self, s, p->ts_us);
        if (s_same(s, p))
            return s;
        if (!s->used && !free_slot)
            free_slot = s;
        if (s->used && (!oldest || s->first_us < oldest->first_us))
            oldest = s;
    }
    if (!free_slot) {
        free_slot = oldest;
        self->st.evicted++;
        s_free(self, oldest);
    }
    slot_t *s = free_slot;
    s->used = true;
    if (++self->st.active > self->st.peak)
        self->st.peak = self->st.active;
    s->ver = p->ipver;
    s->proto = p->proto;
    s->src = p->src;
    s->dst = p->dst;
    s->id = p->frag_id;
    s->first_us = p->ts_us;
    s->total = 0;
    s->hdr_len = 0;
    memset(s->seen, 0, sizeof s->seen);
    return s;
}

static bool s_complete(const slot_t *s)
{
    if (!s->total || (s->ver == 4 && !s->hdr_len))
        return false;
    uint32_t blocks = (s->total + 7) / 8;
    for (uint32_t b = 0; b < blocks; b++)
        if (!(s->seen[b / 8] & (1u << (b % 8))))
            return false;
    return true;
}

int defrag_add(defrag_t *self, const packet_t *p, const uint8_t **out, uint32_t *outlen)
{
    self->st.fragments++;
    uint32_t end = (uint32_t)p->frag_off + p->frag_len;
    /* Every fragment but the last carries a multiple of 8 bytes. */
    if (end > DEFRAG_MAX - DEFRAG_HDR || (p->frag_more && p->frag_len % 8) || !p->frag_data) {
        self->st.invalid++;
        return 0;
    }
    slot_t *s = s_slot(self, p);
    if (!p->frag_more) {
        if (s->total && s->total != end) {
            self->st.invalid++;
            s_free(self, s);
            return 0;
        }
        s->total = end;
    }
    if (p->frag_off == 0 && p->ipver == 4 && p->frag_hdr_len <= DEFRAG_HDR) {
        memcpy(s->hdr, p->frag_hdr, p->frag_hdr_len);
        s->hdr_len = p->frag_hdr_len;
    }
    memcpy(s->buf + DEFRAG_HDR + p->frag_off, p->frag_data, p->frag_len);
    for (uint32_t b = p->frag_off / 8; b < (end + 7) / 8; b++)
        s->seen[b / 8] |= (uint8_t)(1u << (b % 8));
    if (!s_complete(s))
        return 0;
    uint8_t *ip;
    if (s->ver == 4) {
        ip = s->buf + DEFRAG_HDR - s->hdr_len;
        memcpy(ip, s->hdr, s->hdr_len);
        uint32_t total = s->hdr_len + s->total;
        ip[2] = (uint8_t)(total >> 8);
        ip[3] = (uint8_t)total;
        ip[6] = 0; /* no more fragments, offset 0 */
        ip[7] = 0;
        *outlen = total;
    } else {
        ip = s->buf + DEFRAG_HDR - 40;
        memset(ip, 0, 40);
        ip[0] = 0x60;
        ip[4] = (uint8_t)(s->total >> 8);
        ip[5] = (uint8_t)s->total;
        ip[6] = s->proto;
        ip[7] = 64;
        memcpy(ip + 8, s->src.b, 16);
        memcpy(ip + 24, s->dst.b, 16);
        *outlen = 40 + s->total;
    }
    s_free(self, s);
    self->st.reassembled++;
    *out = ip;
    return 1;
}

void defrag_expire(defrag_t *self, uint64_t now_us)
{
    for (uint32_t i = 0; i < self->max; i++)
        s_timeout(self, &self->slots[i], now_us);
}

void defrag_stats(const defrag_t *self, defrag_stats_t *out)
{
    *out = self->st;
    out->max = self->max;
}
