/* SPDX-License-Identifier: MIT */
/* keygen.c: pinhole-keygen [options] NAME [DIR]: a CURVE key pair for a
 * sensor or the collector (docs/link.md). Writes DIR/NAME.key (secret,
 * 0600) and DIR/NAME.pub, and prints the allow-list line for the collector.
 * NAME becomes a file name, so an option is never taken for one: options
 * are parsed first, and a NAME starting with '-' or '.' or holding a '/' is
 * refused. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "evschema.h"
#include "keys.h"
#include "receive.h"
#include "version.h"

static void s_usage(FILE *f)
{
    fprintf(f, "usage: pinhole-keygen [options] NAME [DIR]\n"
               "  writes DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (default DIR: .),\n"
               "  then prints the collector's allow-list line 'NAME PUBLIC-KEY'\n"
               "  NAME: the sensor's --sensor name (or 'collector'): 1-63 of [A-Za-z0-9._-],\n"
               "        not starting with '-' or '.'\n"
               "  -h, --help     this text\n"
               "  -V, --version  the version\n");
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    int c;
    umask(027);
    while ((c = getopt_long(argc, argv, "hV", longs, NULL)) != -1) {
        switch (c) {
            case 'h': s_usage(stdout); return 0;
            case 'V': version_print("pinhole-keygen", stdout); return 0;
            default: s_usage(stderr); return 2;
        }
    }
    if (argc - optind < 1 || argc - optind > 2) {
        s_usage(stderr);
        return 2;
    }
    const char *name = argv[optind], *dir = argc - optind == 2 ? argv[optind + 1] : ".";
    if (!evschema_is_name(name) || name[0] == '-' || name[0] == '.' || strchr(name, '/')) {
        fprintf(stderr, "pinhole-keygen: '%s' is not a key name: 1-63 of [A-Za-z0-9._-], "
                        "not starting with '-' or '.'\n", name);
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
