/* SPDX-License-Identifier: MIT */
/* keys.h: CURVE key files (docs/link.md), in CZMQ's certificate format:
 *
 *   metadata
 *       name = "branch-inside"
 *   curve
 *       public-key = "<40 Z85 characters>"
 *       secret-key = "<40 Z85 characters>"   (the .key file only)
 *
 * No ZeroMQ here: the keys are text; making them is receive.c's. */
#ifndef PINHOLE_KEYS_H
#define PINHOLE_KEYS_H

#include <stddef.h>

#define KEYS_Z85_LEN 40

/* Reads a certificate. public_key: 41 bytes; secret_key (41 bytes) and
 * name (64 bytes) may be NULL; a secret key is required when asked for.
 * Returns 0, or PINHOLE_EINVAL with file:line and what is wrong in err.
 * When the secret key is asked for, a file that group or others may read
 * is refused (err names it and says to run chmod 600). */
int keys_load(const char *path, char *public_key, char *secret_key, char *name, char *err,
        size_t errlen);

/* Writes DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (0644), those
 * modes whatever the umask; never overwrites. Returns 0 or
 * PINHOLE_EIO with why. */
int keys_write(const char *dir, const char *name, const char *public_key,
        const char *secret_key, char *err, size_t errlen);

/* True if s is 40 characters of the Z85 alphabet. */
int keys_is_z85(const char *s);

#endif
