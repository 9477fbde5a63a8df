/* SPDX-License-Identifier: MIT */
/* rules.h: the expected rules table (profiles) and the user's inventory.
 *
 * Profiles (shipped in rules/) describe a vendor deployment: roles, expected
 * flows and requirements that are not port rules. The inventory (written by
 * the user) describes sites and how each role is recognised at their
 * deployment. Both load into one rules_t, which is read-only once loaded and
 * answers the questions the verdict stage asks: which site an address is in,
 * which roles an endpoint of a flow plays, and which rule a flow matches. */
#ifndef PINHOLE_RULES_H
#define PINHOLE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strutil.h"

#define RULES_MAX_ROLES 64
#define RULES_MAX_RULES 1024
#define RULES_MAX_SITES 4096
#define RULES_ERRLEN 512

typedef uint64_t role_set_t; /* bit i set: plays role i */

typedef struct {
    uint16_t lo, hi; /* inclusive; 0-65535 is "any" */
} port_range_t;

typedef enum {
    ROLE_AT_SITE = 0, /* lives at a customer site (endpoints, phones) */
    ROLE_REMOTE,      /* a cloud / provider service */
} role_location_t;

typedef struct {
    char *id;
    char *name;
    char *profile;
    role_location_t location;
} role_t;

typedef struct {
    char *id;
    char *profile;
    int from, to; /* role indexes; `from` opens the flow */
    uint8_t proto; /* 6 tcp, 17 udp */
    port_range_t from_ports, to_ports;
    bool either;   /* either side may open the flow */
    bool tls;      /* the flow must be TLS (HTTPS) */
    int primary;   /* index of the rule this row is the other end's view of */
    char *purpose;
    char *source;  /* which row of which document */
    char *document; /* the profile's `document:` (the seed file), NULL: none */
    char *seed_direction;
    char *file;
    int line;
} rule_t;

/* Requirement kinds; their names (the profiles' `kind:`) are in
 * rules_req_kind_str, the one table the loader reads too. */
typedef enum {
    REQ_CONSISTENT_NAT = 0,
    REQ_NO_SIP_ALG,
    REQ_HTTPS_ONLY,
    REQ_PORTS_OPEN,
    REQ_KIND_COUNT
} req_kind_t;

typedef struct {
    char *id;
    char *profile;
    req_kind_t kind;
    int from, to;  /* roles it applies to, -1 for any */
    char *text;
    char *source;
    char *document; /* the profile's `document:`, NULL: none */
    char **rules;  /* rule ids (for ports_open) */
    size_t nrules;
} requirement_t;

typedef struct rules rules_t;

/* Creates an empty table. The caller owns it. */
rules_t *rules_new(void);
/* Frees the table; accepts NULL and sets *self_p to NULL. */
void rules_destroy(rules_t **self_p);

/* Loads one profile file, or every *.yaml file of a directory in name order.
 * On error returns a negative PINHOLE_E* code and writes "file:line: what"
 * into err; the table must then be destroyed, never used half-read. */
int rules_load_profiles(rules_t *self, const char *path, char *err, size_t errlen);
/* Loads the inventory. Profiles must be loaded first: role names are checked. */
int rules_load_inventory(rules_t *self, const char *path, char *err, size_t errlen);

/* A new table from profile files or directories and an inventory, as the
 * sensor and the collector load them; NULL with file:line and why in err. */
rules_t *rules_load_all(const char *const *profiles, size_t nprofiles, const char *inventory,
        char *err, size_t errlen);

/* Where each site, rule and requirement of one rules set stands in another
 * (same name or id; -1 where it is gone): how a running sensor carries its
 * state over to a reloaded inventory (SIGHUP). Arrays are indexed by the
 * old set's positions. */
typedef struct {
    int *site, *rule, *req;
    size_t nsites, nrules, nreqs;          /* the old set's counts */
    size_t to_nsites, to_nrules, to_nreqs; /* the new set's */
} rules_remap_t;

rules_remap_t *rules_remap_new(const rules_t *from, const rules_t *to);
void rules_remap_destroy(rules_remap_t **self_p);
/* The new index of old site `site` (-1: none, or gone). */
int rules_remap_site(const rules_remap_t *m, int site);
/* The new index of old rule `rule` (-1: none, or gone). */
int rules_remap_rule(const rules_remap_t *m, int rule);

size_t rules_nroles(const rules_t *self);
const role_t *rules_role(const rules_t *self, size_t i);
int rules_role_index(const rules_t *self, const char *id);
/* Index of the rule with this id, or -1. */
int rules_rule_index(const rules_t *self, const char *id);
size_t rules_nrules(const rules_t *self);
const rule_t *rules_rule(const rules_t *self, size_t i);
size_t rules_nreqs(const rules_t *self);
const requirement_t *rules_req(const rules_t *self, size_t i);
size_t rules_nsites(const rules_t *self);
const char *rules_site_name(const rules_t *self, size_t i);
/* Sensor name from the inventory, or NULL. */
const char *rules_sensor_name(const rules_t *self);
/* True if the inventory binds any role by ASN (so a MaxMind DB is useful). */
bool rules_uses_asn(const rules_t *self);
/* True if some role binding's `hosts` pattern matches the name. */
bool rules_host_known(const rules_t *self, const char *host);

/* Site whose CIDRs hold the address (longest prefix), or -1. */
int rules_site_of(const rules_t *self, const ip_addr_t *addr);
/* What is known of one end of a flow when its roles are resolved. */
typedef struct {
    const ip_addr_t *addr;
    uint32_t asn;          /* network owner, 0: unknown */
    const char *org;       /* AS organisation, NULL: unknown */
    const char *country;   /* ISO code, NULL: unknown */
    const char *host;      /* TLS SNI / HTTP Host (the server's name), NULL */
    const char *app;       /* nDPI protocol name ("TLS.Microsoft"), NULL */
} role_query_t;

/* Roles an end plays: site-local bindings when it is inside `site`, plus
 * every global binding all of whose criteria it meets (see
 * pinhole-rules(5)). */
role_set_t rules_roles_of(const rules_t *self, int site, const role_query_t *q);
/* Writes role ids joined by ',' into buf; "" for none. */
const char *rules_roles_str(const rules_t *self, role_set_t set, char *buf, size_t n);

/* The rule a flow opened by (src roles, sport) towards (dst roles, dport)
 * matches, or -1. The most specific (narrowest port ranges) wins. */
int rules_match(const rules_t *self, uint8_t proto, role_set_t src, uint16_t sport,
        role_set_t dst, uint16_t dport);

typedef enum {
    NEAR_NONE = 0,
    NEAR_PORT,      /* roles and transport match, the port does not */
    NEAR_DIRECTION, /* the rule exists the other way round */
    NEAR_TRANSPORT, /* roles and port match over the other transport */
} near_kind_t;

/* For a flow that matches no rule: the nearest rule, or -1. */
int rules_nearest(const rules_t *self, uint8_t proto, role_set_t src, uint16_t sport,
        role_set_t dst, uint16_t dport, near_kind_t *why);
const char *rules_near_str(near_kind_t why);

/* True if the rule applies to the site: its profile is one the site uses
 * (all by default) and one of its ends is a role located at a site. */
bool rules_applies_to_site(const rules_t *self, size_t site, size_t rule);
/* True when the site's inventory entry waives the rule (`waive:`): it is
 * reported not_checked there, never verified. */
bool rules_waived(const rules_t *self, size_t site, size_t rule);
/* Checks every `apps` name of the inventory with known() (the sensor asks
 * nDPI). -1 with "FILE:LINE: ..." in err for the first unknown one. */
int rules_check_apps(const rules_t *self, bool (*known)(void *ctx, const char *name), void *ctx,
        char *err, size_t errlen);

const char *rules_req_kind_str(req_kind_t k);

#endif
