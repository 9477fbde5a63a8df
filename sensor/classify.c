/* SPDX-License-Identifier: MIT */
/* classify.c: nDPI 4.2 classification with a bounded pool of flow states.
 *
 * The slots in use are kept on a list in the order of their flows' last
 * packet. A flow that finds the pool full takes the slot of the flow nDPI
 * has waited on longest, which is given up (counted in both pool_full and
 * given_up): a run of one-packet flows (a scan, DNS) can no longer hold
 * every slot until those flows time out, while the flows still sending,
 * whose states are at the young end of the list, are left to finish. */
#include "classify.h"

#include <ndpi/ndpi_api.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "slotpool.h"
#include "strutil.h"

#define CLASSIFY_NAME_LEN 64
#define CLASSIFY_NAME_SLOTS 64

struct classify {
    struct ndpi_detection_module_struct *ndpi;
    uint8_t *slots;        /* max_slots * slot_size bytes */
    size_t slot_size;
    size_t flow_bytes;     /* SIZEOF_FLOW_STRUCT */
    slot_pool_t pool;
    uint16_t *seen;        /* packets given per slot */
    flow_t **owner;        /* the flow of each slot in use */
    uint32_t *prev, *next; /* slots in use, least recently fed first */
    uint32_t head, tail;
    uint32_t max_packets;
    uint32_t protocols; /* whose dissectors run */
    classify_stats_t st;
    /* Names of (master, app) pairs already asked for: nDPI writes each
     * with snprintf (~600 instructions), and a run sees few pairs. */
    struct {
        uint32_t pair; /* master << 16 | app */
        bool used;
        char name[CLASSIFY_NAME_LEN];
    } names[CLASSIFY_NAME_SLOTS];
};

/* Calls fn with each part of a list of names (separated by any of `seps`)
 * and nDPI's id for it (NDPI_PROTOCOL_UNKNOWN: not a name it knows); stops
 * at the first fn that returns false. An empty or overlong part is given
 * to fn as unknown, and ends it with false. */
static bool s_each_name(struct ndpi_detection_module_struct *ndpi, const char *list,
        const char *seps, bool (*fn)(void *ctx, const char *part, uint16_t id), void *ctx)
{
    char part[64];
    const char *p = list;
    do {
        size_t n = strcspn(p, seps);
        size_t k = n < sizeof part ? n : sizeof part - 1;
        memcpy(part, p, k);
        part[k] = 0;
        if (n == 0 || n >= sizeof part) { /* "" or cut short: never a name */
            fn(ctx, part, NDPI_PROTOCOL_UNKNOWN);
            return false;
        }
        if (!fn(ctx, part, ndpi_get_proto_by_name(ndpi, part)))
            return false;
        p += n + (p[n] != 0);
    } while (*p);
    return true;
}

static bool s_known(void *ctx, const char *part, uint16_t id)
{
    (void)ctx;
    (void)part;
    return id != NDPI_PROTOCOL_UNKNOWN;
}

bool classify_app_known(void *cls, const char *name)
{
    classify_t *self = cls;
    /* each dotted part: TLS.Microsoft is TLS over Microsoft */
    return s_each_name(self->ndpi, name, ".", s_known, NULL);
}

typedef struct {
    char *bad;
    size_t n;
} check_ctx_t;

static bool s_check(void *ctx, const char *part, uint16_t id)
{
    check_ctx_t *c = ctx;
    if (id == NDPI_PROTOCOL_UNKNOWN)
        str_copy(c->bad, part, c->n);
    return id != NDPI_PROTOCOL_UNKNOWN;
}

bool classify_protocols_check(void *cls, const char *list, char *bad, size_t n)
{
    classify_t *self = cls;
    check_ctx_t c = {bad, n};
    return s_each_name(self->ndpi, list, ",.", s_check, &c);
}

static bool s_enable(void *ctx, const char *part, uint16_t id)
{
    (void)part;
    if (id != NDPI_PROTOCOL_UNKNOWN)
        NDPI_ADD_PROTOCOL_TO_BITMASK(*(NDPI_PROTOCOL_BITMASK *)ctx, id);
    return id != NDPI_PROTOCOL_UNKNOWN;
}

typedef struct {
    NDPI_PROTOCOL_BITMASK on;
    check_ctx_t bad;
} cover_ctx_t;

static bool s_covered(void *ctx, const char *part, uint16_t id)
{
    cover_ctx_t *c = ctx;
    bool in = id != NDPI_PROTOCOL_UNKNOWN && NDPI_COMPARE_PROTOCOL_TO_BITMASK(c->on, id);
    if (!in)
        str_copy(c->bad.bad, part, c->bad.n);
    return in;
}

bool classify_protocols_cover(void *cls, const char *list, const char *names, char *bad,
        size_t n)
{
    classify_t *self = cls;
    cover_ctx_t c = {.bad = {bad, n}};
    NDPI_BITMASK_RESET(c.on);
    if (!s_each_name(self->ndpi, list, ",.", s_enable, &c.on)) {
        str_copy(bad, "(the list)", n);
        return false;
    }
    return !*names || s_each_name(self->ndpi, names, ",.", s_covered, &c);
}

classify_t *classify_new(uint32_t max_slots, uint32_t max_packets, const char *protocols)
{
    classify_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (!self->ndpi) {
        free(self);
        return NULL;
    }
    NDPI_PROTOCOL_BITMASK on;
    if (protocols) {
        NDPI_BITMASK_RESET(on);
        if (!s_each_name(self->ndpi, protocols, ",.", s_enable, &on)) {
            ndpi_exit_detection_module(self->ndpi);
            free(self);
            return NULL;
        }
    } else {
        NDPI_BITMASK_SET_ALL(on);
    }
    ndpi_set_protocol_detection_bitmask2(self->ndpi, &on);
    for (uint32_t id = 0; id < NDPI_MAX_SUPPORTED_PROTOCOLS; id++)
        self->protocols += NDPI_ISSET(&on, id) != 0;
    ndpi_finalize_initialization(self->ndpi);
    self->slot_size = (SIZEOF_FLOW_STRUCT + 15) & ~(size_t)15;
    self->flow_bytes = SIZEOF_FLOW_STRUCT;
    self->max_packets = max_packets;
    self->slots = calloc(max_slots, self->slot_size); /* pages touched as used */
    self->seen = calloc(max_slots, sizeof(uint16_t));
    self->owner = calloc(max_slots, sizeof(flow_t *));
    self->prev = calloc(max_slots, sizeof(uint32_t));
    self->next = calloc(max_slots, sizeof(uint32_t));
    self->head = self->tail = FLOW_NONE;
    if (!self->slots || !self->seen || !self->owner || !self->prev || !self->next ||
            slot_pool_init(&self->pool, max_slots) != 0)
        classify_destroy(&self);
    return self;
}

void classify_destroy(classify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    classify_t *self = *self_p;
    if (self->ndpi)
        ndpi_exit_detection_module(self->ndpi);
    free(self->slots);
    slot_pool_fini(&self->pool);
    free(self->seen);
    free(self->owner);
    free(self->prev);
    free(self->next);
    free(self);
    *self_p = NULL;
}

uint32_t classify_protocols(const classify_t *self)
{
    return self->protocols;
}

static struct ndpi_flow_struct *s_slot(classify_t *self, uint32_t i)
{
    return (struct ndpi_flow_struct *)(void *)(self->slots + (size_t)i * self->slot_size);
}

static void s_unlink(classify_t *self, uint32_t i)
{
    uint32_t p = self->prev[i], n = self->next[i];
    if (p != FLOW_NONE)
        self->next[p] = n;
    else
        self->head = n;
    if (n != FLOW_NONE)
        self->prev[n] = p;
    else
        self->tail = p;
}

static void s_append(classify_t *self, uint32_t i)
{
    self->prev[i] = self->tail;
    self->next[i] = FLOW_NONE;
    if (self->tail != FLOW_NONE)
        self->next[self->tail] = i;
    else
        self->head = i;
    self->tail = i;
}

/* Frees nDPI's own allocations for the flow and gives its slot back. */
static void s_give(classify_t *self, flow_t *f)
{
    ndpi_free_flow_data(s_slot(self, f->ndpi));
    s_unlink(self, f->ndpi);
    self->owner[f->ndpi] = NULL;
    slot_pool_give(&self->pool, f->ndpi);
    f->ndpi = FLOW_NONE;
}

static uint32_t s_take(classify_t *self, flow_t *f)
{
    uint32_t i = slot_pool_take(&self->pool);
    if (i == SLOT_NONE && self->head != FLOW_NONE) {
        /* Full: the flow waited on longest is given up for this one. */
        flow_t *old = self->owner[self->head];
        PINHOLE_ASSERT(old && old->ndpi == self->head);
        self->st.pool_full++;
        classify_finish(self, old);
        i = slot_pool_take(&self->pool);
    }
    if (i == SLOT_NONE)
        return FLOW_NONE;
    /* A size known only at run time: libc's vector memset, not an inline
     * `rep stos` of 86 words. */
    memset(s_slot(self, i), 0, self->flow_bytes);
    self->seen[i] = 0;
    self->owner[i] = f;
    s_append(self, i);
    return i;
}

static bool s_is(ndpi_protocol proto, uint16_t id)
{
    return proto.app_protocol == id || proto.master_protocol == id;
}

/* Copies what we keep off the nDPI state and returns the slot. */
static void s_release(classify_t *self, flow_t *f, ndpi_protocol proto)
{
    struct ndpi_flow_struct *nf = s_slot(self, f->ndpi);
    f->app = proto.app_protocol;
    f->master = proto.master_protocol;
    if (s_is(proto, NDPI_PROTOCOL_HTTP) || s_is(proto, NDPI_PROTOCOL_HTTP_CONNECT) ||
            s_is(proto, NDPI_PROTOCOL_HTTP_PROXY))
        f->flags |= FLOW_F_HTTP;
    else if (s_is(proto, NDPI_PROTOCOL_TLS) || s_is(proto, NDPI_PROTOCOL_QUIC) ||
             s_is(proto, NDPI_PROTOCOL_DTLS))
        f->flags |= FLOW_F_SNI;
    /* nDPI also fills host_server_name from DNS questions, mDNS and LLMNR
     * names, DHCP host names, NetBIOS...: none of them names the server of
     * this flow, and a role taken from them would be wrong. Only a
     * ClientHello's SNI and an HTTP Host are kept. */
    if (nf->host_server_name[0] && (f->flags & (FLOW_F_HTTP | FLOW_F_SNI))) {
        str_copy(f->host, (const char *)nf->host_server_name, sizeof f->host);
        f->flags &= (uint16_t)~FLOW_F_HOST_DNS; /* the flow's own name wins */
    }
    s_give(self, f);
    f->flags |= FLOW_F_CLASSIFIED;
}

void classify_packet(classify_t *self, flow_t *f, const packet_t *p)
{
    if ((f->flags & FLOW_F_CLASSIFIED) || !p->l3 || p->l3_len == 0)
        return;
    if (f->ndpi == FLOW_NONE) {
        f->ndpi = s_take(self, f);
        if (f->ndpi == FLOW_NONE) { /* a pool of no slots */
            self->st.pool_full++;
            f->flags |= FLOW_F_CLASSIFIED; /* never retried: the count says so */
            return;
        }
    } else if (self->tail != f->ndpi) { /* fed again: the young end of the list */
        s_unlink(self, f->ndpi);
        s_append(self, f->ndpi);
    }
    struct ndpi_flow_struct *nf = s_slot(self, f->ndpi);
    uint16_t len = p->l3_len > 65535 ? 65535 : (uint16_t)p->l3_len;
    ndpi_protocol proto = ndpi_detection_process_packet(self->ndpi, nf, p->l3, len, p->ts_us / 1000);
    self->st.packets++;
    self->seen[f->ndpi]++;
    bool known = proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
                 proto.master_protocol != NDPI_PROTOCOL_UNKNOWN;
    if (known && !ndpi_extra_dissection_possible(self->ndpi, nf)) {
        self->st.classified++;
        s_release(self, f, proto);
    } else if (self->seen[f->ndpi] >= self->max_packets) {
        classify_finish(self, f);
    }
}

void classify_finish(classify_t *self, flow_t *f)
{
    if (f->ndpi == FLOW_NONE)
        return;
    uint8_t guessed = 0;
    ndpi_protocol proto = ndpi_detection_giveup(self->ndpi, s_slot(self, f->ndpi), 1, &guessed);
    self->st.given_up++;
    s_release(self, f, proto);
}

void classify_mark_rtp(classify_t *self, flow_t *f)
{
    if (f->ndpi != FLOW_NONE)
        s_give(self, f);
    f->app = NDPI_PROTOCOL_RTP;
    f->master = NDPI_PROTOCOL_UNKNOWN;
    f->flags |= FLOW_F_CLASSIFIED | FLOW_F_MEDIA;
}

const char *classify_app_name(classify_t *self, const flow_t *f, char *buf, size_t n)
{
    ndpi_protocol proto = {f->master, f->app, NDPI_PROTOCOL_CATEGORY_UNSPECIFIED};
    if (n != CLASSIFY_NAME_LEN)
        return ndpi_protocol2name(self->ndpi, proto, buf, (u_int)n);
    uint32_t pair = (uint32_t)f->master << 16 | f->app;
    size_t i = (size_t)((pair * 0x9e3779b9u) >> 26) & (CLASSIFY_NAME_SLOTS - 1);
    if (!self->names[i].used || self->names[i].pair != pair) {
        ndpi_protocol2name(self->ndpi, proto, self->names[i].name, CLASSIFY_NAME_LEN);
        self->names[i].pair = pair;
        self->names[i].used = true;
    }
    memcpy(buf, self->names[i].name, CLASSIFY_NAME_LEN);
    return buf;
}

bool classify_is_http(const flow_t *f)
{
    return (f->flags & FLOW_F_HTTP) != 0;
}

void classify_stats(const classify_t *self, classify_stats_t *out)
{
    *out = self->st;
    out->slots_in_use = self->pool.used;
    out->slots_peak = self->pool.peak;
}
