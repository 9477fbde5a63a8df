/* SPDX-License-Identifier: MIT */
/* geo.h: network owner (ASN, organisation) and country of an address from a
 * MaxMind-format database (GeoLite2-ASN, GeoLite2-Country/City, or one built
 * with MaxMind's writer). The only module that includes libmaxminddb. */
#ifndef PINHOLE_GEO_H
#define PINHOLE_GEO_H

#include <stddef.h>
#include <stdint.h>

#include "strutil.h"

typedef struct geo geo_t;

typedef struct {
    uint32_t asn;        /* 0: unknown */
    char org[64];
    char country[3];     /* ISO code, "" if unknown */
} geo_info_t;

/* Opens one or more databases (the ASN and the country data may be in
 * different files). NULL with a message in err on failure. */
geo_t *geo_new(const char *const *paths, size_t npaths, char *err, size_t errlen);
void geo_destroy(geo_t **self_p);
/* Fills *out (zeroed when nothing is known). Accepts self == NULL. */
void geo_lookup(geo_t *self, const ip_addr_t *addr, geo_info_t *out);

#endif
