/* SPDX-License-Identifier: MIT */
/* version.c: the version line; the only file that includes the generated
 * header, so a new commit recompiles this file and relinks, nothing more. */
#include "version.h"

#include "pinhole_version.h"

const char *version_string(void)
{
    return PINHOLE_GIT_DESCRIBE[0] ? PINHOLE_VERSION " (git " PINHOLE_GIT_DESCRIBE ")"
                                   : PINHOLE_VERSION;
}

void version_print(const char *prog, FILE *f)
{
    fprintf(f, "%s %s\n", prog, version_string());
}
