/* SPDX-License-Identifier: MIT */
/* hash.h: keyed hashing for every table that traffic fills, and packet
 * fingerprints.
 *
 * Tables keyed by what the network sends (flows, Call-IDs, phones, media
 * endpoints, fragments...) hash with SipHash-2-4 (libsodium's
 * crypto_shorthash) under a key drawn at random once per run, so nobody
 * on the wire can craft keys that collide (hash flooding). Fingerprints of
 * whole packets (true-copy de-duplication) use XXH3 with a per-run seed:
 * about ten times faster per byte, and a collision there only costs the
 * sender its own packet. */
#ifndef PINHOLE_HASH_H
#define PINHOLE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_KEY_BYTES 16

/* Draws the per-run key (done by the first hash call if not before;
 * thread-safe). */
void hash_init(void);
/* Sets the key: for tests and fuzzing that must be reproducible. */
void hash_set_key(const uint8_t key[HASH_KEY_BYTES]);

/* SipHash-2-4 of p[0..n) under the run's key. */
uint64_t hash_keyed(const void *p, size_t n);
/* Continues a keyed hash with more bytes: the previous value is folded into
 * the key, so hash_keyed_more(hash_keyed(a), b) names the pair (a, b). */
uint64_t hash_keyed_more(uint64_t h, const void *p, size_t n);

/* XXH3-64 fingerprint of p[0..n) with the run's seed. */
uint64_t hash_fingerprint(const void *p, size_t n);

#endif
