/* SPDX-License-Identifier: MIT */
/* flowflood.h: IPv6 addresses whose flows all collide under the flow
 * table's old, unkeyed hash (before it used hash_keyed), for the hash-flood
 * benchmark (gen_pcap flood) and the flow table's unit test.
 *
 * The old hash loaded the 40-byte flow key as five host-order 64-bit words
 * w0..w4 (w0, w1: the lower address a; w2, w3: address b; w4: the ports and
 * the protocol) and ran
 *     h = H0;  for each word: h = g(h ^ w)  with  g(x) = xs(x * M),
 *     xs(x) = x ^ (x >> 32)
 * and took the low bits of h as the bucket. Each g is a bijection of 64-bit
 * words: M is odd, so it has an inverse modulo 2^64, and xs is its own
 * inverse (x >> 32 >> 32 is 0). So the state after two words can be set at
 * will: take any w0 (here 2001:db8: and a 32-bit counter), compute
 * s1 = g(H0 ^ w0), and choose w1 = s1 ^ g^-1(T). Then g(s1 ^ w1) = T for
 * every counter. With b, the ports and the protocol the same in every flow,
 * all the keys end in the same 64-bit hash: one bucket for every table size,
 * the default 2^20 buckets included, and one chain of every flow.
 * (Little-endian hosts: the words are loaded as the old hash loaded them.) */
#ifndef PINHOLE_FLOWFLOOD_H
#define PINHOLE_FLOWFLOOD_H

#include <stdint.h>
#include <string.h>

#define FLOOD_H0 0x9e3779b97f4a7c15ull
#define FLOOD_M 0xff51afd7ed558ccdull
#define FLOOD_TARGET 0x0123456789abcdefull /* any value: the state after a */

/* One round of the old hash. */
static inline uint64_t flood_step(uint64_t h, uint64_t w)
{
    h = (h ^ w) * FLOOD_M;
    return h ^ (h >> 32);
}

/* The old flow-table hash of a 40-byte key. */
static inline uint64_t flood_old_hash(const void *key)
{
    uint64_t w[5], h = FLOOD_H0;
    memcpy(w, key, sizeof w);
    for (int i = 0; i < 5; i++)
        h = flood_step(h, w[i]);
    return h;
}

/* The inverse of an odd m modulo 2^64 (Newton: each round doubles the
 * correct low bits, from 3). */
static inline uint64_t flood_inverse(uint64_t m)
{
    uint64_t x = m;
    for (int i = 0; i < 5; i++)
        x *= 2 - m * x;
    return x;
}

/* Address number i (2001:db8:<i>:...), below 2001:db8:ffff:ffff:: for
 * every i < 2^32 - 1, so it is the key's side a against that address. */
static inline void flood_addr(uint32_t i, uint8_t a[16])
{
    uint64_t w0 = 0xb80d0120ull | (uint64_t)i << 32; /* bytes 20 01 0d b8 i0..i3 */
    uint64_t t = FLOOD_TARGET ^ (FLOOD_TARGET >> 32);       /* xs^-1(T) */
    uint64_t w1 = flood_step(FLOOD_H0, w0) ^ t * flood_inverse(FLOOD_M);
    memcpy(a, &w0, 8);
    memcpy(a + 8, &w1, 8);
}

#endif
