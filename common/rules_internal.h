/* SPDX-License-Identifier: MIT */
/* rules_internal.h: the fields of rules_t, shared by rules.c (model and
 * matching) and rules_parse.c (loading). Not for other modules. */
#ifndef PINHOLE_RULES_INTERNAL_H
#define PINHOLE_RULES_INTERNAL_H

#include "rules.h"

typedef struct {
    int role;
    cidr_t cidr;
} local_binding_t;

typedef struct {
    char *name;
    cidr_t *cidrs;
    size_t ncidrs;
    local_binding_t *local;
    size_t nlocal;
    char **profiles; /* NULL: all */
    size_t nprofiles;
    int *waived;     /* rules left unchecked at this site (rule indexes) */
    size_t nwaived;
    int line;        /* of its entry in the inventory, for later checks */
} site_t;

/* One way of recognising a role: every criterion given must hold (a list
 * within a criterion is a choice). A role may have several bindings. */
typedef struct {
    int role;
    cidr_t *cidrs;
    size_t ncidrs;
    char **hosts;
    size_t nhosts;
    uint32_t *asns;
    size_t nasns;
    char **orgs;      /* AS organisation, case-insensitive substring */
    size_t norgs;
    char **countries; /* ISO codes */
    size_t ncountries;
    char **apps;      /* nDPI protocol names, or one part of a dotted name */
    size_t napps;
    int apps_line;    /* of `apps` in the inventory */
} binding_t;

struct rules {
    role_t roles[RULES_MAX_ROLES];
    size_t nroles;
    rule_t *rules;
    size_t nrules, caprules;
    requirement_t *reqs;
    size_t nreqs, capreqs;
    site_t *sites;
    size_t nsites;
    binding_t *bindings;
    size_t nbindings;
    char *sensor;
    char *inventory;  /* its path, for messages */
    char **profiles; /* profile ids loaded */
    size_t nprofiles;
};

#endif
