/* SPDX-License-Identifier: MIT */
/* ztool.c: a raw ZeroMQ peer for the collector tests (never a product).
 *
 *   ztool send ENDPOINT [--curve SERVER.pub CLIENT.key] FRAME...
 *       one multipart message from a DEALER; FRAME is text, @FILE (its
 *       bytes) or '#N' (N bytes of 'x'); prints the reply, or "no reply"
 *   ztool spray ENDPOINT [--curve SERVER.pub CLIENT.key] COUNT SEED
 *       COUNT corrupt messages: 1-4 frames of random bytes, or a real
 *       header and body with random bytes changed (never waits for replies;
 *       the header names sensor "spray", so even an intact one is refused)
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

static const char s_header[] =
        "{\"link\":1,\"kind\":\"events\",\"sensor\":\"spray\",\"epoch\":\"0spray\","
        "\"first\":1,\"count\":2,\"base\":1}";
static const char s_body[] =
        "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"flow\",\"schema\":1,"
        "\"site\":\"lab-branch\",\"verdict\":\"blocked\",\"rule\":\"PBX-CFG\"}\n"
        "{\"timestamp\":\"2026-11-22T04:11:30.000000+0000\",\"event_type\":\"nat_port_change\","
        "\"schema\":1,\"site\":\"lab-voip\",\"interval\":\"x\"}";

static void s_spray(void *s, int count, unsigned seed)
{
    srand(seed);
    char buf[4096];
    for (int m = 0; m < count; m++) {
        int frames = 1 + rand() % 4;
        for (int f = 0; f < frames; f++) {
            size_t len;
            if (rand() % 2) { /* a real frame, mutated */
                const char *src = f == 0 ? s_header : s_body;
                len = strlen(src);
                memcpy(buf, src, len);
                for (int k = rand() % 4; k >= 0; k--)
                    buf[rand() % len] = (char)(rand() % 256);
            } else {
                len = (size_t)(rand() % (int)sizeof buf);
                for (size_t k = 0; k < len; k++)
                    buf[k] = (char)(rand() % 256);
            }
            zmq_send(s, buf, len, f + 1 < frames ? ZMQ_SNDMORE : 0);
        }
    }
}

static int s_send(int argc, char **argv)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int i = 3, linger = 5000;
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
    if (strcmp(argv[1], "spray") == 0) {
        if (i + 2 > argc)
            return 2;
        s_spray(s, atoi(argv[i]), (unsigned)atoi(argv[i + 1]));
        zmq_close(s); /* linger: the messages leave first */
        zmq_ctx_term(ctx);
        return 0;
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
    if (argc >= 4 && (strcmp(argv[1], "send") == 0 || strcmp(argv[1], "spray") == 0))
        return s_send(argc, argv);
    if (argc == 5 && strcmp(argv[1], "sub") == 0)
        return s_sub(argv);
    fprintf(stderr, "usage: ztool send ENDPOINT [--curve SERVER.pub CLIENT.key] FRAME... | "
                    "ztool spray ENDPOINT [--curve ...] COUNT SEED | ztool sub ENDPOINT COUNT SECONDS\n");
    return 2;
}
