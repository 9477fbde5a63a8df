/* SPDX-License-Identifier: MIT */
/* fuzz_rules.c: the profile and inventory loaders. The input is written to a
 * file (the loaders read files) and loaded as a profile; when the first byte
 * is odd, as an inventory on top of the shipped profiles. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/pinhole-fuzz-rules-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    char err[RULES_ERRLEN];
    rules_t *rs = rules_new();
    if (data[0] & 1) {
        if (rules_load_profiles(rs, PINHOLE_SRCDIR "/rules", err, sizeof err) == 0)
            rules_load_inventory(rs, path, err, sizeof err);
    } else {
        rules_load_profiles(rs, path, err, sizeof err);
    }
    rules_destroy(&rs);
    unlink(path);
    return 0;
}
