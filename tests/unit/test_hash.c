/* SPDX-License-Identifier: MIT */
/* test_hash.c: keyed SipHash against the reference vector, chaining, and
 * fingerprints. */
#include "hash.h"

#include <string.h>

#include "unit.h"

int test_hash(void);

int test_hash(void)
{
    /* SipHash-2-4 reference (Aumasson & Bernstein, appendix A): key bytes
     * 00..0f, message bytes 00..0e (15 bytes) -> a129ca6149be45e5. */
    uint8_t key[HASH_KEY_BYTES], msg[15];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    hash_set_key(key);
    CHECK(hash_keyed(msg, sizeof msg) == 0xa129ca6149be45e5ull);
    /* Chaining names the pair, in order. */
    uint64_t ab = hash_keyed_more(hash_keyed("a", 1), "b", 1);
    uint64_t ba = hash_keyed_more(hash_keyed("b", 1), "a", 1);
    CHECK(ab != ba);
    CHECK(ab == hash_keyed_more(hash_keyed("a", 1), "b", 1));
    CHECK(hash_keyed("ab", 2) != ab);
    /* Another key, other values. */
    uint64_t before = hash_keyed(msg, sizeof msg), fp = hash_fingerprint(msg, sizeof msg);
    key[0] ^= 1;
    hash_set_key(key);
    CHECK(hash_keyed(msg, sizeof msg) != before);
    CHECK(hash_fingerprint(msg, sizeof msg) != fp);
    /* Fingerprints: one byte apart, different. */
    uint8_t pkt[1500];
    memset(pkt, 0x5a, sizeof pkt);
    uint64_t f1 = hash_fingerprint(pkt, sizeof pkt);
    pkt[1499] ^= 1;
    CHECK(hash_fingerprint(pkt, sizeof pkt) != f1);
    return 0;
}
