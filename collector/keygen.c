/* SPDX-License-Identifier: MIT */
/* keygen.c: pinhole-keygen NAME [DIR]: a CURVE key pair for a sensor or the
 * collector (docs/link.md). Writes DIR/NAME.key (secret, 0600) and
 * DIR/NAME.pub, and prints the allow-list line for the collector. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "evschema.h"
#include "keys.h"
#include "receive.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: pinhole-keygen NAME [DIR]\n"
                "  writes DIR/NAME.key (secret) and DIR/NAME.pub (default DIR: .)\n"
                "  NAME: the sensor's --sensor name (or 'collector')\n");
        return argc == 2 ? 0 : 2;
    }
    const char *name = argv[1], *dir = argc == 3 ? argv[2] : ".";
    if (!evschema_is_name(name)) {
        fprintf(stderr, "pinhole-keygen: '%s' is not 1-63 of [A-Za-z0-9._-]\n", name);
        return 2;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "pinhole-keygen: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char pub[41], sec[41], err[512];
    if (receive_keypair(pub, sec) != 0) {
        fprintf(stderr, "pinhole-keygen: this libzmq has no CURVE support\n");
        return 1;
    }
    if (keys_write(dir, name, pub, sec, err, sizeof err) != 0) {
        fprintf(stderr, "pinhole-keygen: %s\n", err);
        return 1;
    }
    printf("%s %s\n", name, pub);
    return 0;
}
