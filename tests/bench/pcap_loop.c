/* SPDX-License-Identifier: MIT */
/* pcap_loop.c: the bare loops the sensor is measured against.
 *   pcap_loop FILE          the libpcap read loop: every packet read and
 *                           its bytes touched once, nothing else;
 *   pcap_loop --flows FILE  the bare flow-hash loop: each IPv4 or IPv6
 *                           TCP/UDP packet's two ends put in order, hashed
 *                           as the sensor's flow table hashes them
 *                           (SipHash under a run key, common/hash.h) and
 *                           looked up in an open-addressing table (new
 *                           ones added; it doubles at half full). The cost
 *                           any flow table pays for its flows' number:
 *                           the memory the lookups touch. */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

typedef struct {
    uint8_t a[16], b[16]; /* the lower end first */
    uint16_t pa, pb;
    uint8_t proto, v6, used;
} fkey_t;

static fkey_t *s_tab;
static size_t s_mask, s_n;

static uint64_t s_hash(const fkey_t *k)
{
    if (!k->v6) { /* 13 bytes, as flow_table.c */
        uint8_t v4[13];
        memcpy(v4, k->a, 4);
        memcpy(v4 + 4, k->b, 4);
        memcpy(v4 + 8, &k->pa, 2);
        memcpy(v4 + 10, &k->pb, 2);
        v4[12] = k->proto;
        return hash_keyed(v4, sizeof v4);
    }
    return hash_keyed(k, offsetof(fkey_t, used));
}

static bool s_same(const fkey_t *x, const fkey_t *y)
{
    return memcmp(x, y, offsetof(fkey_t, used)) == 0;
}

static void s_put(const fkey_t *k, uint64_t h);

static void s_grow(void)
{
    fkey_t *old = s_tab;
    size_t n = s_mask + 1;
    s_mask = n * 2 - 1;
    s_tab = calloc(s_mask + 1, sizeof *s_tab);
    if (!s_tab) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    s_n = 0;
    for (size_t i = 0; i < n; i++)
        if (old[i].used)
            s_put(&old[i], s_hash(&old[i]));
    free(old);
}

static void s_put(const fkey_t *k, uint64_t h)
{
    for (size_t i = h & s_mask, steps = 0; steps <= s_mask; i = (i + 1) & s_mask, steps++) {
        if (!s_tab[i].used) {
            s_tab[i] = *k;
            s_tab[i].used = 1;
            if (++s_n * 2 > s_mask + 1)
                s_grow();
            return;
        }
        if (s_same(&s_tab[i], k))
            return;
    }
}

/* The packet's flow key, or false (not IPv4/IPv6 TCP/UDP over Ethernet). */
static bool s_key(const u_char *d, uint32_t len, fkey_t *k)
{
    memset(k, 0, sizeof *k);
    if (len < 14)
        return false;
    uint16_t et = (uint16_t)(d[12] << 8 | d[13]);
    const u_char *ip = d + 14, *l4;
    uint32_t left = len - 14, alen;
    if (et == 0x0800 && left >= 20) {
        uint32_t ihl = (ip[0] & 15u) * 4;
        if (left < ihl + 4)
            return false;
        k->proto = ip[9];
        alen = 4;
        memcpy(k->a, ip + 12, 4);
        memcpy(k->b, ip + 16, 4);
        l4 = ip + ihl;
    } else if (et == 0x86dd && left >= 44) {
        k->proto = ip[6];
        k->v6 = 1;
        alen = 16;
        memcpy(k->a, ip + 8, 16);
        memcpy(k->b, ip + 24, 16);
        l4 = ip + 40;
    } else {
        return false;
    }
    if (k->proto != 6 && k->proto != 17)
        return false;
    memcpy(&k->pa, l4, 2);
    memcpy(&k->pb, l4 + 2, 2);
    int c = memcmp(k->a, k->b, alen);
    if (c > 0 || (c == 0 && k->pa > k->pb)) { /* both directions: one key */
        uint8_t t[16];
        memcpy(t, k->a, 16);
        memcpy(k->a, k->b, 16);
        memcpy(k->b, t, 16);
        uint16_t p = k->pa;
        k->pa = k->pb;
        k->pb = p;
    }
    return true;
}

int main(int argc, char **argv)
{
    bool flows = argc == 3 && strcmp(argv[1], "--flows") == 0;
    const char *path = flows ? argv[2] : argc == 2 ? argv[1] : NULL;
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = path ? pcap_open_offline(path, err) : NULL;
    if (!p) {
        fprintf(stderr, "usage: pcap_loop [--flows] FILE (%s)\n", err);
        return 2;
    }
    if (flows) {
        s_mask = 1023;
        s_tab = calloc(s_mask + 1, sizeof *s_tab);
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long n = 0, sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        n++;
        sum += d[h->caplen - 1];
        fkey_t k;
        if (flows && s_key(d, h->caplen, &k))
            s_put(&k, s_hash(&k));
    }
    if (flows)
        printf("%llu packets (checksum %llu), %zu flows\n", n, sum, s_n);
    else
        printf("%llu packets (checksum %llu)\n", n, sum);
    free(s_tab);
    pcap_close(p);
    return 0;
}
