/* SPDX-License-Identifier: MIT */
/* hash.c: keyed SipHash (libsodium) and XXH3 fingerprints (libxxhash). */
#include "hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <xxhash.h>

static uint8_t s_key[HASH_KEY_BYTES];
static uint64_t s_seed;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_draw(void)
{
    if (sodium_init() < 0) /* only fails without a random source: then abort */
        abort();
    randombytes_buf(s_key, sizeof s_key);
    randombytes_buf(&s_seed, sizeof s_seed);
}

void hash_init(void)
{
    pthread_once(&s_once, s_draw);
}

void hash_set_key(const uint8_t key[HASH_KEY_BYTES])
{
    hash_init();
    memcpy(s_key, key, sizeof s_key);
    memcpy(&s_seed, key, sizeof s_seed);
}

static uint64_t s_sip(const uint8_t key[HASH_KEY_BYTES], const void *p, size_t n)
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, p, n, key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

uint64_t hash_keyed(const void *p, size_t n)
{
    hash_init();
    return s_sip(s_key, p, n);
}

uint64_t hash_keyed_more(uint64_t h, const void *p, size_t n)
{
    hash_init();
    uint8_t k[HASH_KEY_BYTES];
    memcpy(k, s_key, sizeof k);
    for (int i = 0; i < 8; i++)
        k[i] ^= (uint8_t)(h >> (8 * i));
    return s_sip(k, p, n);
}

uint64_t hash_fingerprint(const void *p, size_t n)
{
    hash_init();
    return XXH3_64bits_withSeed(p, n, s_seed);
}
