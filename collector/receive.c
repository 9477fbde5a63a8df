/* SPDX-License-Identifier: MIT */
/* receive.c: the collector's ZeroMQ sockets and ZAP handler (RFC 27). */
#include "receive.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <zmq.h>

#include "keys.h"
#include "log.h"
#include "strutil.h"

typedef struct {
    uint8_t key[32];
    char name[EVSCHEMA_NAME_LEN];
    uint64_t minute_us;        /* start of the minute its refusals are counted in */
    uint32_t refused;          /* its messages refused in that minute */
    uint64_t quarantine_us;    /* until then its messages are dropped unread */
} allowed_t;

struct receive {
    receive_cfg_t cfg;
    void *ctx, *router, *zap, *pub;
    allowed_t *allow;
    size_t nallow;
    uint64_t refused;
    uint64_t log_minute_us;    /* refusals are logged once a minute */
    uint64_t logged_refused;   /* the count when last logged */
};

static uint64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int receive_keypair(char *public_key, char *secret_key)
{
    return zmq_curve_keypair(public_key, secret_key);
}

size_t receive_allowed(const receive_t *self)
{
    return self->nallow;
}

static bool s_allow_add(receive_t *self, const char *name, const char *z85, const char *where,
        char *err, size_t errlen)
{
    if (!evschema_is_name(name) || !keys_is_z85(z85)) {
        snprintf(err, errlen, "%s: want a sensor name ([A-Za-z0-9._-]) and a 40-character Z85 key",
                where);
        return false;
    }
    allowed_t *a = realloc(self->allow, (self->nallow + 1) * sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    self->allow = a;
    a = &a[self->nallow];
    memset(a, 0, sizeof *a);
    if (!zmq_z85_decode(a->key, z85)) {
        snprintf(err, errlen, "%s: not a Z85 key", where);
        return false;
    }
    str_copy(a->name, name, sizeof a->name);
    for (size_t i = 0; i < self->nallow; i++)
        if (memcmp(self->allow[i].key, a->key, 32) == 0 || strcmp(self->allow[i].name, name) == 0) {
            snprintf(err, errlen, "%s: %s (or its key) is on the allow-list twice", where, name);
            return false;
        }
    self->nallow++;
    return true;
}

/* The allow-list: a directory of NAME.pub certificates, or a file of
 * "NAME PUBLIC-KEY" lines ('#' comments). */
static bool s_allow_load(receive_t *self, const char *path, char *err, size_t errlen)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        bool ok = true;
        while (ok && (e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 4, ".pub") != 0)
                continue;
            char file[4096], pubkey[41], name[64];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            ok = keys_load(file, pubkey, NULL, name, err, errlen) == 0;
            if (ok && !name[0])
                snprintf(name, sizeof name, "%.*s", (int)(l - 4), e->d_name);
            ok = ok && s_allow_add(self, name, pubkey, file, err, errlen);
        }
        closedir(d);
        return ok;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--allow %s: %s", path, strerror(errno));
        return false;
    }
    char line[512], name[128], key[128], where[4200];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        /* '#' starts a comment only at the start of a line or after a blank:
         * it is also a Z85 character, so keys may hold one. */
        for (char *p = line; *p; p++)
            if (*p == '#' && (p == line || *(p - 1) == ' ' || *(p - 1) == '\t')) {
                *p = '\0';
                break;
            }
        int n = sscanf(line, "%127s %127s", name, key);
        if (n <= 0)
            continue;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        ok = n == 2 && s_allow_add(self, name, key, where, err, errlen);
        if (n != 2)
            snprintf(err, errlen, "%s: want NAME PUBLIC-KEY", where);
    }
    fclose(f);
    return ok;
}

static allowed_t *s_allowed(const receive_t *self, const uint8_t *key)
{
    for (size_t i = 0; i < self->nallow; i++)
        if (memcmp(self->allow[i].key, key, 32) == 0)
            return &self->allow[i];
    return NULL;
}

static allowed_t *s_allowed_by_name(const receive_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->nallow; i++)
        if (strcmp(self->allow[i].name, name) == 0)
            return &self->allow[i];
    return NULL;
}

int receive_check(const receive_cfg_t *cfg, size_t *allowed, char *err, size_t errlen)
{
    *allowed = 0;
    if (cfg->plain)
        return 0;
    receive_t self;
    memset(&self, 0, sizeof self);
    char pub[41], sec[41];
    bool ok = !keys_load(cfg->key_path, pub, sec, NULL, err, errlen) &&
              s_allow_load(&self, cfg->allow_path, err, errlen);
    *allowed = self.nallow;
    free(self.allow);
    sodium_memzero(sec, sizeof sec);
    return ok ? 0 : -1;
}

receive_t *receive_new(const receive_cfg_t *cfg, char *err, size_t errlen)
{
    receive_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    char pub[41], sec[41];
    if (!cfg->plain) {
        if (keys_load(cfg->key_path, pub, sec, NULL, err, errlen) ||
                !s_allow_load(self, cfg->allow_path, err, errlen))
            goto fail;
        if (!self->nallow)
            log_warn("the allow-list %s is empty: no sensor can connect", cfg->allow_path);
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto zfail;
    if (!cfg->plain) {
        /* The ZAP handler must be bound before the socket it guards. */
        self->zap = zmq_socket(self->ctx, ZMQ_REP);
        if (!self->zap || zmq_bind(self->zap, "inproc://zeromq.zap.01") != 0)
            goto zfail;
    }
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (!self->router)
        goto zfail;
    /* Per connection: a sensor has at most 8 batches in flight, and each
     * queued message is at most maxmsg bytes: 256 of them bound what one
     * peer can make the collector hold (refused ones are read at once). */
    int one = 1, zero = 0, hwm = 256, ka_idle = EVSCHEMA_KEEPALIVE_IDLE_S;
    int hb = EVSCHEMA_HEARTBEAT_MS, hb_to = EVSCHEMA_HEARTBEAT_TIMEOUT_MS;
    int64_t maxmsg = (int64_t)cfg->max_message * 2; /* beyond this libzmq drops the link */
    zmq_setsockopt(self->router, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->router, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb);
    zmq_setsockopt(self->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to);
    zmq_setsockopt(self->router, ZMQ_TCP_KEEPALIVE, &one, sizeof one);
    zmq_setsockopt(self->router, ZMQ_TCP_KEEPALIVE_IDLE, &ka_idle, sizeof ka_idle);
    zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (!cfg->plain) {
        if (zmq_setsockopt(self->router, ZMQ_CURVE_SERVER, &one, sizeof one) ||
                zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, sec, 40) ||
                zmq_setsockopt(self->router, ZMQ_ZAP_DOMAIN, "pinhole", 7))
            goto zfail;
    }
    if (zmq_bind(self->router, cfg->bind) != 0) {
        snprintf(err, errlen, "--listen %s: %s", cfg->bind, zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (cfg->alert_bind) {
        self->pub = zmq_socket(self->ctx, ZMQ_PUB);
        if (!self->pub || zmq_setsockopt(self->pub, ZMQ_LINGER, &zero, sizeof zero) ||
                zmq_bind(self->pub, cfg->alert_bind) != 0) {
            snprintf(err, errlen, "--alert-publish %s: %s", cfg->alert_bind, zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    return self;
zfail:
    snprintf(err, errlen, "collector sockets: %s", zmq_strerror(zmq_errno()));
fail:
    receive_destroy(&self);
    return NULL;
}

void receive_destroy(receive_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    receive_t *self = *self_p;
    if (self->router)
        zmq_close(self->router);
    if (self->zap)
        zmq_close(self->zap);
    if (self->pub)
        zmq_close(self->pub);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->allow);
    free(self);
    *self_p = NULL;
}

/* One ZAP request (RFC 27): CURVE with a key on the allow-list passes,
 * with the sensor's name as the User-Id every message then carries. */
static void s_zap(receive_t *self)
{
    zmq_msg_t f[7];
    int n = 0, more = 1;
    while (more && n < 7) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], self->zap, 0) < 0) {
            zmq_msg_close(&f[n]);
            break;
        }
        more = zmq_msg_more(&f[n]);
        n++;
    }
    while (more) { /* drain what does not belong */
        zmq_msg_t x;
        zmq_msg_init(&x);
        zmq_msg_recv(&x, self->zap, 0);
        more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
    const char *name = NULL;
    bool curve = n == 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0;
    const allowed_t *al = curve && zmq_msg_size(&f[6]) == 32 ? s_allowed(self, zmq_msg_data(&f[6])) : NULL;
    const char *text = "key not on the allow-list";
    if (al && al->quarantine_us > s_mono_us())
        text = "key quarantined: too many bad messages"; /* no reconnection for a while */
    else if (al)
        name = al->name;
    if (!al) {
        char z85[41] = "?";
        if (curve && zmq_msg_size(&f[6]) == 32)
            zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        log_warn("refused a sensor whose key %s is not on the allow-list", z85);
    }
    /* version, request id, status code, status text, user id, metadata */
    const char *code = name ? "200" : "400";
    if (name)
        text = "OK";
    zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE);
    if (n > 1)
        zmq_send(self->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
        zmq_send(self->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(self->zap, code, 3, ZMQ_SNDMORE);
    zmq_send(self->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(self->zap, name ? name : "", name ? strlen(name) : 0, ZMQ_SNDMORE);
    zmq_send(self->zap, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

/* Counts and logs (the first 20, then at powers of two) a refused message. */
/* A refused message: counted (by the caller, in memory: no transaction,
 * no fsync for garbage), logged at most once a minute. */
static int s_refuse(receive_t *self, const char *reason, const char **out, const char *what,
        const char *detail)
{
    self->refused++;
    uint64_t now = s_mono_us();
    if (!self->log_minute_us || now - self->log_minute_us >= RECEIVE_MINUTE_US) {
        log_warn("refused a message (%s): %s%s (%llu refused in the last minute, %llu in all)",
                reason, what, detail, (unsigned long long)(self->refused - self->logged_refused),
                (unsigned long long)self->refused);
        self->log_minute_us = now;
        self->logged_refused = self->refused;
    }
    *out = reason;
    return -1;
}

/* A sensor key whose messages keep being refused (garbage from an allowed
 * key: a bug or an attack) is quarantined: its messages are dropped unread
 * and its reconnections refused for RECEIVE_QUARANTINE_US. ZeroMQ's ROUTER
 * cannot close one peer's connection; dropping unread is as cheap. */
static void s_count_bad(allowed_t *al)
{
    uint64_t now = s_mono_us();
    if (now - al->minute_us >= RECEIVE_MINUTE_US) {
        al->minute_us = now;
        al->refused = 0;
    }
    if (++al->refused == RECEIVE_BAD_PER_MINUTE) {
        al->quarantine_us = now + RECEIVE_QUARANTINE_US;
        log_warn("sensor %s: %u bad messages within a minute: its messages are dropped and its "
                 "reconnections refused for %llu s", al->name, (unsigned)al->refused,
                (unsigned long long)(RECEIVE_QUARANTINE_US / 1000000u));
    }
}

/* Reads one ROUTER message into msg; -1 if refused. */
static int s_read(receive_t *self, receive_msg_t *msg, const char **reason)
{
    zmq_msg_t f[3];
    int n = 0, more = 1;
    size_t total = 0;
    while (more) {
        zmq_msg_t x;
        zmq_msg_init(&x);
        if (zmq_msg_recv(&x, self->router, 0) < 0) {
            zmq_msg_close(&x);
            break;
        }
        more = zmq_msg_more(&x);
        total += zmq_msg_size(&x);
        if (n < 3)
            f[n] = x;
        else
            zmq_msg_close(&x);
        n++;
    }
    int kept = n < 3 ? n : 3;
    int rc = 1;
    char err[160] = "";
    const char *user = kept >= 2 ? zmq_msg_gets(&f[1], "User-Id") : NULL;
    allowed_t *al = self->cfg.plain ? NULL : s_allowed_by_name(self, user);
    if (al && al->quarantine_us > s_mono_us()) {
        *reason = "quarantined"; /* dropped unread */
        self->refused++;
        rc = -1;
    } else if (n < 2 || n > 3) {
        rc = s_refuse(self, "frames", reason, "frames: ", n < 2 ? "too few" : "too many");
    } else if (total > self->cfg.max_message) {
        snprintf(err, sizeof err, "%zu bytes", total);
        rc = s_refuse(self, "oversized", reason, "message of ", err);
    } else if (evschema_header_parse(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &msg->h, err,
                       sizeof err) != 0) {
        rc = s_refuse(self, "malformed", reason, "header: ", err);
    } else if (msg->h.kind == EVSCHEMA_ACK || (msg->h.kind == EVSCHEMA_EVENTS) != (n == 3)) {
        evschema_header_fini(&msg->h);
        rc = s_refuse(self, "frames", reason, "frames do not fit the kind", "");
    } else if (!self->cfg.plain && (!user || strcmp(user, msg->h.sensor) != 0)) {
        rc = s_refuse(self, "unauthorized", reason, "sensor name does not match its key: ",
                msg->h.sensor);
        evschema_header_fini(&msg->h);
    }
    if (rc < 0 && al && strcmp(*reason, "quarantined") != 0)
        s_count_bad(al);
    if (kept >= 1) {
        msg->peer_len = zmq_msg_size(&f[0]) < sizeof msg->peer ? zmq_msg_size(&f[0]) : 0;
        memcpy(msg->peer, zmq_msg_data(&f[0]), msg->peer_len);
    }
    for (int i = 0; i < kept; i++) {
        if (i == 2 && rc == 1 && (msg->frame = malloc(sizeof f[2]))) {
            zmq_msg_init(msg->frame); /* the body is the message's now */
            zmq_msg_move(msg->frame, &f[2]);
            zmq_msg_close(&f[2]);
            msg->body = zmq_msg_data(msg->frame);
            msg->body_len = zmq_msg_size(msg->frame);
        } else if (i == 2 && rc == 1) {
            zmq_msg_close(&f[i]);
            evschema_header_fini(&msg->h);
            rc = s_refuse(self, "memory", reason, "out of memory", "");
        } else {
            zmq_msg_close(&f[i]);
        }
    }
    return rc;
}

int receive_next(receive_t *self, int timeout_ms, receive_msg_t *msg, const char **reason)
{
    memset(msg, 0, sizeof *msg);
    zmq_pollitem_t items[] = {{self->router, 0, ZMQ_POLLIN, 0}, {self->zap, 0, ZMQ_POLLIN, 0}};
    int nitems = self->zap ? 2 : 1;
    for (;;) {
        if (zmq_poll(items, nitems, timeout_ms) <= 0)
            return 0;
        if (nitems == 2 && (items[1].revents & ZMQ_POLLIN))
            s_zap(self);
        if (items[0].revents & ZMQ_POLLIN)
            return s_read(self, msg, reason);
        timeout_ms = 0; /* only ZAP work: look once more, then return */
    }
}

void receive_msg_fini(receive_msg_t *msg)
{
    evschema_header_fini(&msg->h);
    if (msg->frame) {
        zmq_msg_close(msg->frame);
        free(msg->frame);
        msg->frame = NULL;
    }
}

void receive_ack(receive_t *self, const receive_msg_t *msg, uint64_t acked, bool resend)
{
    evschema_header_t h;
    memset(&h, 0, sizeof h);
    h.kind = EVSCHEMA_ACK;
    str_copy(h.epoch, msg->h.epoch, sizeof h.epoch);
    h.acked = acked;
    h.resend = resend;
    char buf[256];
    int n = evschema_header_encode(&h, buf, sizeof buf);
    if (n < 0 || !msg->peer_len)
        return;
    zmq_send(self->router, msg->peer, msg->peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->router, buf, (size_t)n, ZMQ_DONTWAIT);
}

void receive_alert(receive_t *self, const char *json)
{
    if (self->pub)
        zmq_send(self->pub, json, strlen(json), ZMQ_DONTWAIT);
}
