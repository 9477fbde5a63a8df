/* SPDX-License-Identifier: MIT */
/* ztool.c: a raw ZeroMQ peer for the collector tests (never a product).
 *
 *   ztool send ENDPOINT [--curve SERVER.pub CLIENT.key] FRAME...
 *       one multipart message from a DEALER; FRAME is text, @FILE (its
 *       bytes) or '#N' (N bytes of 'x'); prints the reply, or "no reply"
 *   ztool sub ENDPOINT COUNT SECONDS
 *       subscribes to everything; prints up to COUNT messages, one a line */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "keys.h"

static char *s_frame(const char *arg, size_t *len)
{
    if (arg[0] == '#') {
        *len = strtoul(arg + 1, NULL, 10);
        char *b = malloc(*len + 1);
        memset(b, 'x', *len);
        return b;
    }
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "rb");
        if (!f)
            return NULL;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *b = malloc((size_t)n + 1);
        *len = fread(b, 1, (size_t)n, f);
        fclose(f);
        return b;
    }
    *len = strlen(arg);
    return strdup(arg);
}

static int s_send(int argc, char **argv)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int i = 3, linger = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (argc > 5 && strcmp(argv[3], "--curve") == 0) {
        char spub[41], cpub[41], csec[41], err[256];
        if (keys_load(argv[4], spub, NULL, NULL, err, sizeof err) ||
                keys_load(argv[5], cpub, csec, NULL, err, sizeof err)) {
            fprintf(stderr, "ztool: %s\n", err);
            return 2;
        }
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, spub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cpub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, csec, 40);
        i = 6;
    }
    if (zmq_connect(s, argv[2]) != 0) {
        fprintf(stderr, "ztool: %s\n", zmq_strerror(zmq_errno()));
        return 2;
    }
    for (; i < argc; i++) {
        size_t len = 0;
        char *b = s_frame(argv[i], &len);
        if (!b)
            return 2;
        zmq_send(s, b, len, i + 1 < argc ? ZMQ_SNDMORE : 0);
        free(b);
    }
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 1500) > 0) {
        char buf[1024];
        int n = zmq_recv(s, buf, sizeof buf - 1, 0);
        printf("%.*s\n", n < 0 ? 0 : n > 1023 ? 1023 : n, buf);
    } else {
        printf("no reply\n");
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

static int s_sub(char **argv)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_SUB);
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(s, argv[2]);
    int count = atoi(argv[3]), ms = atoi(argv[4]) * 1000;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof ms);
    printf("subscribed\n");
    fflush(stdout);
    char buf[65536];
    for (int i = 0; i < count; i++) {
        int n = zmq_recv(s, buf, sizeof buf - 1, 0);
        if (n < 0)
            break;
        printf("%.*s\n", n > 65535 ? 65535 : n, buf);
        fflush(stdout);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "send") == 0)
        return s_send(argc, argv);
    if (argc == 5 && strcmp(argv[1], "sub") == 0)
        return s_sub(argv);
    fprintf(stderr, "usage: ztool send ENDPOINT [--curve SERVER.pub CLIENT.key] FRAME... | "
                    "ztool sub ENDPOINT COUNT SECONDS\n");
    return 2;
}
