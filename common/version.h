/* SPDX-License-Identifier: MIT */
/* version.h: what every program prints for --version: the CMake project
 * version and, when built from a git checkout, `git describe --always
 * --dirty` at build time (common/version.cmake). */
#ifndef PINHOLE_VERSION_H
#define PINHOLE_VERSION_H

#include <stdio.h>

/* "0.1.0" or "0.1.0 (git 87b421e-dirty)"; static storage. */
const char *version_string(void);

/* Writes "PROG VERSION-STRING\n" to f (the --version output). */
void version_print(const char *prog, FILE *f);

#endif
