/* SPDX-License-Identifier: MIT */
/* geo.c: ASN and country lookups with libmaxminddb. */
#include "geo.h"

#include <maxminddb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GEO_MAX_DBS 4

struct geo {
    MMDB_s db[GEO_MAX_DBS];
    size_t ndb;
};

geo_t *geo_new(const char *const *paths, size_t npaths, char *err, size_t errlen)
{
    geo_t *self = calloc(1, sizeof *self);
    if (!self || npaths > GEO_MAX_DBS) {
        snprintf(err, errlen, "%s", self ? "too many MaxMind databases (at most 4)" : "out of memory");
        free(self);
        return NULL;
    }
    for (size_t i = 0; i < npaths; i++) {
        int rc = MMDB_open(paths[i], MMDB_MODE_MMAP, &self->db[i]);
        if (rc != MMDB_SUCCESS) {
            snprintf(err, errlen, "%s: %s", paths[i], MMDB_strerror(rc));
            geo_destroy(&self);
            return NULL;
        }
        self->ndb++;
    }
    return self;
}

void geo_destroy(geo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t i = 0; i < (*self_p)->ndb; i++)
        MMDB_close(&(*self_p)->db[i]);
    free(*self_p);
    *self_p = NULL;
}

static void s_copy(MMDB_entry_s *e, char *out, size_t n, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, path) == MMDB_SUCCESS && d.has_data &&
            d.type == MMDB_DATA_TYPE_UTF8_STRING) {
        size_t len = d.data_size < n - 1 ? d.data_size : n - 1;
        memcpy(out, d.utf8_string, len);
        out[len] = '\0';
    }
}

void geo_lookup(geo_t *self, const ip_addr_t *addr, geo_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (!self)
        return;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (ip_is_v4(addr)) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, addr->b + 12, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, addr->b, 16);
    }
    static const char *const asn_path[] = {"autonomous_system_number", NULL};
    static const char *const org_path[] = {"autonomous_system_organization", NULL};
    static const char *const cc_path[] = {"country", "iso_code", NULL};
    for (size_t i = 0; i < self->ndb; i++) {
        int mmerr = 0;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&self->db[i], (struct sockaddr *)&ss, &mmerr);
        if (mmerr != MMDB_SUCCESS || !r.found_entry)
            continue;
        MMDB_entry_data_s d;
        if (!out->asn && MMDB_aget_value(&r.entry, &d, asn_path) == MMDB_SUCCESS && d.has_data &&
                d.type == MMDB_DATA_TYPE_UINT32)
            out->asn = d.uint32;
        if (!out->org[0])
            s_copy(&r.entry, out->org, sizeof out->org, org_path);
        if (!out->country[0])
            s_copy(&r.entry, out->country, sizeof out->country, cc_path);
    }
}
