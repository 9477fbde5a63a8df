/* SPDX-License-Identifier: MIT */
/* rules_parse.c: loads profiles and the inventory from YAML (libyaml).
 *
 * Every value is checked where it is read, and every error names the file,
 * the line and what is wrong. Unknown keys are refused, so a typo never
 * silently drops a rule. A failed load leaves the table unusable: callers
 * destroy it, so the sensor never runs on a half-read table. */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "err.h"
#include "rules_internal.h"

typedef struct {
    yaml_document_t doc;
    const char *file;
    char *err;
    size_t errlen;
} ctx_t;

static int s_fail(ctx_t *c, const yaml_node_t *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int s_fail(ctx_t *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[RULES_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%zu: %s", c->file, n ? n->start_mark.line + 1 : 1, msg);
    return PINHOLE_EINVAL;
}

static yaml_node_t *s_node(ctx_t *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static const char *s_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Checks that every key of a mapping is in `allowed` (NULL-terminated). */
static int s_check_keys(ctx_t *c, yaml_node_t *map, const char *const *allowed)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return s_fail(c, map, "expected a mapping");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = s_node(c, p->key);
        const char *key = s_scalar(k);
        bool ok = false;
        for (size_t i = 0; key && allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok)
            return s_fail(c, k, "unknown key '%s'", key ? key : "?");
    }
    return 0;
}

static yaml_node_t *s_get(ctx_t *c, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = s_scalar(s_node(c, p->key));
        if (k && strcmp(k, key) == 0)
            return s_node(c, p->value);
    }
    return NULL;
}

/* A required (or optional, when out may stay NULL) string value, duplicated. */
static int s_get_str(ctx_t *c, yaml_node_t *map, const char *key, bool required, char **out)
{
    yaml_node_t *n = s_get(c, map, key);
    *out = NULL;
    if (!n) {
        if (required)
            return s_fail(c, map, "missing '%s'", key);
        return 0;
    }
    const char *v = s_scalar(n);
    if (!v || (required && !*v))
        return s_fail(c, n, "'%s' must be a non-empty string", key);
    *out = strdup(v);
    return *out ? 0 : PINHOLE_ENOMEM;
}

/* A scalar or a sequence of scalars, as a list of nodes. */
static int s_list(ctx_t *c, yaml_node_t *n, const char *key, yaml_node_t ***items, size_t *count)
{
    *items = NULL;
    *count = 0;
    if (!n)
        return 0;
    if (n->type == YAML_SCALAR_NODE) {
        *items = malloc(sizeof(yaml_node_t *));
        if (!*items)
            return PINHOLE_ENOMEM;
        (*items)[0] = n;
        *count = 1;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return s_fail(c, n, "'%s' must be a value or a list", key);
    size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *items = calloc(len ? len : 1, sizeof(yaml_node_t *));
    if (!*items)
        return PINHOLE_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *it = s_node(c, n->data.sequence.items.start[i]);
        if (!s_scalar(it)) {
            free(*items);
            *items = NULL;
            return s_fail(c, it, "'%s' entries must be plain values", key);
        }
        (*items)[i] = it;
    }
    *count = len;
    return 0;
}

static int s_parse_ports(ctx_t *c, yaml_node_t *n, const char *key, port_range_t *out)
{
    out->lo = 0;
    out->hi = 65535;
    if (!n)
        return 0;
    const char *v = s_scalar(n);
    if (!v)
        return s_fail(c, n, "'%s' must be a port, a range lo-hi or 'any'", key);
    if (strcmp(v, "any") == 0)
        return 0;
    char *end = NULL;
    errno = 0;
    long lo = strtol(v, &end, 10), hi = lo;
    bool ok = end != v;
    if (ok && *end == '-') {
        const char *h = end + 1;
        hi = strtol(h, &end, 10);
        ok = end != h;
    }
    if (!ok || *end != '\0' || errno || lo < 1 || hi > 65535 || lo > hi)
        return s_fail(c, n, "'%s': bad port or range '%s' (1-65535, lo-hi)", key, v);
    out->lo = (uint16_t)lo;
    out->hi = (uint16_t)hi;
    return 0;
}

static int s_open(ctx_t *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(c->err, c->errlen, "%s: cannot open: %s", path, strerror(errno));
        return PINHOLE_EIO;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = 0;
    if (!yaml_parser_load(&parser, &c->doc)) {
        snprintf(c->err, c->errlen, "%s:%zu: YAML error: %s %s", path,
                parser.problem_mark.line + 1, parser.problem ? parser.problem : "",
                parser.context ? parser.context : "");
        rc = PINHOLE_EFORMAT;
    } else if (!yaml_document_get_root_node(&c->doc)) {
        snprintf(c->err, c->errlen, "%s:1: empty file", path);
        yaml_document_delete(&c->doc);
        rc = PINHOLE_EFORMAT;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Profiles                                                            */

static int s_role_ref(ctx_t *c, rules_t *rs, yaml_node_t *map, const char *key, const char *profile,
        bool optional, int *out)
{
    yaml_node_t *n = s_get(c, map, key);
    *out = -1;
    if (!n)
        return optional ? 0 : s_fail(c, map, "missing '%s'", key);
    const char *v = s_scalar(n);
    if (!v)
        return s_fail(c, n, "'%s' must be a role id", key);
    if (optional && strcmp(v, "any") == 0)
        return 0;
    int r = rules_role_index(rs, v);
    if (r < 0 || strcmp(rs->roles[r].profile, profile) != 0)
        return s_fail(c, n, "'%s': unknown role '%s' in profile '%s'", key, v, profile);
    *out = r;
    return 0;
}

static int s_parse_roles(ctx_t *c, rules_t *rs, yaml_node_t *roles, const char *profile)
{
    static const char *const keys[] = {"name", "location", NULL};
    if (!roles || roles->type != YAML_MAPPING_NODE)
        return s_fail(c, roles, "'roles' must be a mapping of role id to its description");
    for (yaml_node_pair_t *p = roles->data.mapping.pairs.start; p < roles->data.mapping.pairs.top;
            p++) {
        yaml_node_t *k = s_node(c, p->key), *v = s_node(c, p->value);
        const char *id = s_scalar(k);
        if (!id || !*id)
            return s_fail(c, k, "a role id must be a string");
        if (rules_role_index(rs, id) >= 0)
            return s_fail(c, k, "role '%s' is defined twice (role ids are global)", id);
        if (rs->nroles >= RULES_MAX_ROLES)
            return s_fail(c, k, "too many roles (at most %d)", RULES_MAX_ROLES);
        int rc = s_check_keys(c, v, keys);
        if (rc)
            return rc;
        role_t *r = &rs->roles[rs->nroles];
        char *loc = NULL;
        if ((rc = s_get_str(c, v, "location", true, &loc)))
            return rc;
        if (strcmp(loc, "site") == 0)
            r->location = ROLE_AT_SITE;
        else if (strcmp(loc, "remote") == 0)
            r->location = ROLE_REMOTE;
        else {
            free(loc);
            return s_fail(c, s_get(c, v, "location"), "location must be 'site' or 'remote'");
        }
        free(loc);
        if ((rc = s_get_str(c, v, "name", true, &r->name)))
            return rc;
        r->id = strdup(id);
        r->profile = strdup(profile);
        rs->nroles++;
        if (!r->id || !r->profile)
            return PINHOLE_ENOMEM;
    }
    return 0;
}

static int s_parse_rule(ctx_t *c, rules_t *rs, yaml_node_t *n, const char *profile,
        const char *document)
{
    static const char *const keys[] = {"id", "from", "to", "proto", "from_ports", "to_ports",
            "initiator", "app", "purpose", "source", "seed_direction", "same_flow_as", NULL};
    int rc = s_check_keys(c, n, keys);
    if (rc)
        return rc;
    if (rs->nrules >= RULES_MAX_RULES)
        return s_fail(c, n, "too many rules (at most %d)", RULES_MAX_RULES);
    if (rs->nrules == rs->caprules) {
        size_t cap = rs->caprules ? rs->caprules * 2 : 32;
        rule_t *nr = realloc(rs->rules, cap * sizeof *nr);
        if (!nr)
            return PINHOLE_ENOMEM;
        rs->rules = nr;
        rs->caprules = cap;
    }
    rule_t *r = &rs->rules[rs->nrules];
    memset(r, 0, sizeof *r);
    r->primary = (int)rs->nrules;
    r->line = (int)n->start_mark.line + 1;
    rs->nrules++; /* counted now so that destroy frees what is filled in */
    if (!(r->file = strdup(c->file)) || !(r->profile = strdup(profile)) ||
            (document && !(r->document = strdup(document))))
        return PINHOLE_ENOMEM;
    if ((rc = s_get_str(c, n, "id", true, &r->id)))
        return rc;
    if (rules_rule_index(rs, r->id) != (int)rs->nrules - 1)
        return s_fail(c, s_get(c, n, "id"), "rule id '%s' is used twice", r->id);
    if ((rc = s_role_ref(c, rs, n, "from", profile, false, &r->from)) ||
            (rc = s_role_ref(c, rs, n, "to", profile, false, &r->to)))
        return rc;
    char *s = NULL;
    if ((rc = s_get_str(c, n, "proto", true, &s)))
        return rc;
    r->proto = strcmp(s, "tcp") == 0 ? 6 : strcmp(s, "udp") == 0 ? 17 : 0;
    free(s);
    if (!r->proto)
        return s_fail(c, s_get(c, n, "proto"), "proto must be 'tcp' or 'udp'");
    if ((rc = s_parse_ports(c, s_get(c, n, "from_ports"), "from_ports", &r->from_ports)) ||
            (rc = s_parse_ports(c, s_get(c, n, "to_ports"), "to_ports", &r->to_ports)))
        return rc;
    if (!s_get(c, n, "to_ports"))
        return s_fail(c, n, "rule '%s': missing 'to_ports'", r->id);
    if ((rc = s_get_str(c, n, "initiator", false, &s)))
        return rc;
    if (s && strcmp(s, "either") == 0)
        r->either = true;
    else if (s && strcmp(s, "from") != 0) {
        free(s);
        return s_fail(c, s_get(c, n, "initiator"), "initiator must be 'from' or 'either'");
    }
    free(s);
    if ((rc = s_get_str(c, n, "app", false, &s)))
        return rc;
    if (s && strcmp(s, "tls") == 0)
        r->tls = true;
    else if (s) {
        free(s);
        return s_fail(c, s_get(c, n, "app"), "app must be 'tls' (or absent)");
    }
    free(s);
    if ((rc = s_get_str(c, n, "purpose", true, &r->purpose)) ||
            (rc = s_get_str(c, n, "source", true, &r->source)) ||
            (rc = s_get_str(c, n, "seed_direction", false, &r->seed_direction)))
        return rc;
    if ((rc = s_get_str(c, n, "same_flow_as", false, &s)))
        return rc;
    if (s) {
        int p = rules_rule_index(rs, s);
        free(s);
        if (p < 0 || p == (int)rs->nrules - 1)
            return s_fail(c, s_get(c, n, "same_flow_as"),
                    "same_flow_as must name a rule defined above");
        r->primary = rs->rules[p].primary;
    }
    return 0;
}

static int s_parse_req(ctx_t *c, rules_t *rs, yaml_node_t *n, const char *profile,
        const char *document)
{
    static const char *const keys[] = {"id", "kind", "from", "to", "rules", "text", "source", NULL};
    int rc = s_check_keys(c, n, keys);
    if (rc)
        return rc;
    if (rs->nreqs == rs->capreqs) {
        size_t cap = rs->capreqs ? rs->capreqs * 2 : 8;
        requirement_t *nq = realloc(rs->reqs, cap * sizeof *nq);
        if (!nq)
            return PINHOLE_ENOMEM;
        rs->reqs = nq;
        rs->capreqs = cap;
    }
    requirement_t *q = &rs->reqs[rs->nreqs++];
    memset(q, 0, sizeof *q);
    if (!(q->profile = strdup(profile)) || (document && !(q->document = strdup(document))))
        return PINHOLE_ENOMEM;
    char *kind = NULL;
    if ((rc = s_get_str(c, n, "id", true, &q->id)) || (rc = s_get_str(c, n, "kind", true, &kind)))
        return rc;
    size_t k = 0;
    while (k < REQ_KIND_COUNT && strcmp(rules_req_kind_str((req_kind_t)k), kind) != 0)
        k++;
    free(kind);
    if (k == REQ_KIND_COUNT) {
        char all[128];
        size_t off = 0;
        for (size_t i = 0; i < REQ_KIND_COUNT && off < sizeof all; i++)
            off += (size_t)snprintf(all + off, sizeof all - off, "%s%s", i ? ", " : "",
                    rules_req_kind_str((req_kind_t)i));
        return s_fail(c, s_get(c, n, "kind"), "kind must be one of %s", all);
    }
    q->kind = (req_kind_t)k;
    if ((rc = s_role_ref(c, rs, n, "from", profile, true, &q->from)) ||
            (rc = s_role_ref(c, rs, n, "to", profile, true, &q->to)) ||
            (rc = s_get_str(c, n, "text", true, &q->text)) ||
            (rc = s_get_str(c, n, "source", true, &q->source)))
        return rc;
    yaml_node_t **items;
    size_t count;
    if ((rc = s_list(c, s_get(c, n, "rules"), "rules", &items, &count)))
        return rc;
    q->rules = calloc(count ? count : 1, sizeof(char *));
    for (size_t i = 0; q->rules && i < count; i++) {
        if (rules_rule_index(rs, s_scalar(items[i])) < 0) {
            rc = s_fail(c, items[i], "requirement '%s' names unknown rule '%s'", q->id,
                    s_scalar(items[i]));
            break;
        }
        q->rules[q->nrules++] = strdup(s_scalar(items[i]));
    }
    free(items);
    if (!q->rules)
        return PINHOLE_ENOMEM;
    if (!rc && q->kind == REQ_PORTS_OPEN && q->nrules == 0)
        rc = s_fail(c, n, "a ports_open requirement must list its 'rules'");
    return rc;
}

static int s_load_profile(rules_t *rs, const char *path, char *err, size_t errlen)
{
    static const char *const keys[] = {"profile", "title", "document", "roles", "rules",
            "requirements", NULL};
    ctx_t c = {.file = path, .err = err, .errlen = errlen};
    int rc = s_open(&c, path);
    if (rc)
        return rc;
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    char *profile = NULL, *document = NULL;
    if ((rc = s_check_keys(&c, root, keys)) ||
            (rc = s_get_str(&c, root, "profile", true, &profile)) ||
            (rc = s_get_str(&c, root, "document", false, &document)))
        goto fail;
    for (size_t i = 0; i < rs->nprofiles; i++)
        if (strcmp(rs->profiles[i], profile) == 0) {
            rc = s_fail(&c, s_get(&c, root, "profile"), "profile '%s' is loaded twice", profile);
            goto fail;
        }
    char **np = realloc(rs->profiles, (rs->nprofiles + 1) * sizeof(char *));
    if (!np) {
        rc = PINHOLE_ENOMEM;
        goto fail;
    }
    rs->profiles = np;
    rs->profiles[rs->nprofiles++] = strdup(profile);
    if ((rc = s_parse_roles(&c, rs, s_get(&c, root, "roles"), profile)))
        goto fail;
    yaml_node_t *rules = s_get(&c, root, "rules");
    if (!rules || rules->type != YAML_SEQUENCE_NODE) {
        rc = s_fail(&c, rules ? rules : root, "'rules' must be a list of rules");
        goto fail;
    }
    for (yaml_node_item_t *it = rules->data.sequence.items.start;
            it < rules->data.sequence.items.top; it++)
        if ((rc = s_parse_rule(&c, rs, s_node(&c, *it), profile, document)))
            goto fail;
    yaml_node_t *reqs = s_get(&c, root, "requirements");
    if (reqs && reqs->type != YAML_SEQUENCE_NODE) {
        rc = s_fail(&c, reqs, "'requirements' must be a list");
        goto fail;
    }
    for (yaml_node_item_t *it = reqs ? reqs->data.sequence.items.start : NULL;
            reqs && it < reqs->data.sequence.items.top; it++)
        if ((rc = s_parse_req(&c, rs, s_node(&c, *it), profile, document)))
            goto fail;
fail:
    free(document);
    free(profile);
    yaml_document_delete(&c.doc);
    return rc;
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rules_load_profiles(rules_t *self, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return PINHOLE_EIO;
    }
    if (!S_ISDIR(st.st_mode))
        return s_load_profile(self, path, err, errlen);
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return PINHOLE_EIO;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char **nn = realloc(names, (n + 1) * sizeof(char *));
        if (!nn) {
            rc = PINHOLE_ENOMEM;
            break;
        }
        names = nn;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(char *), s_cmp_str);
    for (size_t i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        if (!rc)
            rc = s_load_profile(self, full, err, errlen);
        free(names[i]);
    }
    free(names);
    if (!rc && n == 0) {
        snprintf(err, errlen, "%s: no *.yaml profile in this directory", path);
        rc = PINHOLE_EINVAL;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Inventory                                                           */

static int s_parse_cidrs(ctx_t *c, yaml_node_t *n, const char *key, cidr_t **out, size_t *count)
{
    yaml_node_t **items;
    size_t len;
    int rc = s_list(c, n, key, &items, &len);
    if (rc)
        return rc;
    *out = calloc(len ? len : 1, sizeof(cidr_t));
    *count = 0;
    for (size_t i = 0; *out && i < len; i++) {
        if (!cidr_parse(s_scalar(items[i]), &(*out)[i])) {
            rc = s_fail(c, items[i], "'%s': bad address or CIDR '%s'", key, s_scalar(items[i]));
            break;
        }
        (*count)++;
    }
    free(items);
    return *out ? rc : PINHOLE_ENOMEM;
}

static int s_inv_role(ctx_t *c, rules_t *rs, yaml_node_t *k, int *role)
{
    const char *id = s_scalar(k);
    *role = id ? rules_role_index(rs, id) : -1;
    if (*role < 0)
        return s_fail(c, k, "unknown role '%s' (not in any loaded profile)", id ? id : "?");
    return 0;
}

/* Two CIDRs share addresses when the shorter holds the longer's network. */
static bool s_overlap(const cidr_t *a, const cidr_t *b)
{
    return a->bits <= b->bits ? cidr_contains(a, &b->addr) : cidr_contains(b, &a->addr);
}

/* A CIDR inside one of the site's. */
static bool s_within(const site_t *s, const cidr_t *x)
{
    for (size_t i = 0; i < s->ncidrs; i++)
        if (s->cidrs[i].bits <= x->bits && cidr_contains(&s->cidrs[i], &x->addr))
            return true;
    return false;
}

/* `remote:` addresses that belong to the site though they lie outside its
 * networks (its public NAT address seen from outside, a home worker's
 * phone): its flows and role bindings, like `cidrs`, marked as such. */
static int s_parse_remote(ctx_t *c, site_t *s, yaml_node_t *n)
{
    if (!n)
        return 0;
    cidr_t *r = NULL;
    size_t nr = 0;
    int rc = s_parse_cidrs(c, n, "remote", &r, &nr);
    cidr_t *all = rc ? NULL : realloc(s->cidrs, (s->ncidrs + nr) * sizeof *all);
    if (!rc && !all)
        rc = PINHOLE_ENOMEM;
    if (!rc) {
        memcpy(all + s->ncidrs, r, nr * sizeof *r);
        s->cidrs = all;
        s->ncidrs += nr;
    }
    free(r);
    return rc;
}

/* No address may belong to two sites: which site a flow is judged for would
 * depend on the order of the file. */
static int s_check_overlap(ctx_t *c, const rules_t *rs, const site_t *s, yaml_node_t *n)
{
    char a[64], b[64];
    for (size_t j = 0; j + 1 < rs->nsites; j++)
        for (size_t x = 0; x < s->ncidrs; x++)
            for (size_t y = 0; y < rs->sites[j].ncidrs; y++)
                if (s_overlap(&s->cidrs[x], &rs->sites[j].cidrs[y])) {
                    ip_to_str(&s->cidrs[x].addr, a, sizeof a);
                    ip_to_str(&rs->sites[j].cidrs[y].addr, b, sizeof b);
                    return s_fail(c, n, "site '%s': %s (cidr %zu) overlaps %s of site '%s': an "
                                        "address belongs to one site only; split the ranges",
                            s->name, a, x + 1, b, rs->sites[j].name);
                }
    return 0;
}

/* `waive: [RULE, ...]`: rules left unchecked at the site (reported so). */
static int s_parse_waive(ctx_t *c, rules_t *rs, site_t *s, yaml_node_t *n)
{
    yaml_node_t **items;
    size_t len;
    int rc = s_list(c, n, "waive", &items, &len);
    if (rc || !len) {
        free(items);
        return rc;
    }
    s->waived = calloc(len, sizeof(int));
    for (size_t i = 0; s->waived && i < len && !rc; i++) {
        int r = rules_rule_index(rs, s_scalar(items[i]));
        if (r < 0)
            rc = s_fail(c, items[i], "site '%s': waive: unknown rule '%s' (not in any loaded "
                                     "profile)", s->name, s_scalar(items[i]));
        else
            s->waived[s->nwaived++] = r;
    }
    free(items);
    return s->waived ? rc : PINHOLE_ENOMEM;
}

static int s_parse_site(ctx_t *c, rules_t *rs, yaml_node_t *n)
{
    static const char *const keys[] = {"name", "cidrs", "remote", "roles", "profiles", "waive", NULL};
    int rc = s_check_keys(c, n, keys);
    if (rc)
        return rc;
    if (rs->nsites >= RULES_MAX_SITES)
        return s_fail(c, n, "too many sites (at most %d)", RULES_MAX_SITES);
    site_t *s = &rs->sites[rs->nsites++];
    if ((rc = s_get_str(c, n, "name", true, &s->name)))
        return rc;
    for (size_t i = 0; i + 1 < rs->nsites; i++)
        if (strcmp(rs->sites[i].name, s->name) == 0)
            return s_fail(c, s_get(c, n, "name"), "site '%s' is defined twice", s->name);
    yaml_node_t *cidrs = s_get(c, n, "cidrs");
    if (!cidrs)
        return s_fail(c, n, "site '%s': missing 'cidrs'", s->name);
    if ((rc = s_parse_cidrs(c, cidrs, "cidrs", &s->cidrs, &s->ncidrs)) ||
            (rc = s_parse_remote(c, s, s_get(c, n, "remote"))) ||
            (rc = s_check_overlap(c, rs, s, cidrs)) ||
            (rc = s_parse_waive(c, rs, s, s_get(c, n, "waive"))))
        return rc;
    s->line = (int)n->start_mark.line + 1;
    yaml_node_t **items;
    size_t len;
    if ((rc = s_list(c, s_get(c, n, "profiles"), "profiles", &items, &len)))
        return rc;
    if (len) {
        s->profiles = calloc(len, sizeof(char *));
        for (size_t i = 0; s->profiles && i < len && !rc; i++) {
            const char *p = s_scalar(items[i]);
            bool known = false;
            for (size_t j = 0; j < rs->nprofiles && !known; j++)
                known = strcmp(rs->profiles[j], p) == 0;
            if (!known)
                rc = s_fail(c, items[i], "site '%s': unknown profile '%s'", s->name, p);
            else
                s->profiles[s->nprofiles++] = strdup(p);
        }
    }
    free(items);
    if (rc)
        return rc;
    yaml_node_t *roles = s_get(c, n, "roles");
    if (!roles)
        return 0;
    if (roles->type != YAML_MAPPING_NODE)
        return s_fail(c, roles, "site roles must map a site role to its addresses");
    for (yaml_node_pair_t *p = roles->data.mapping.pairs.start; p < roles->data.mapping.pairs.top;
            p++) {
        int role;
        cidr_t *cl = NULL;
        size_t nc = 0;
        if ((rc = s_inv_role(c, rs, s_node(c, p->key), &role)))
            return rc;
        if (rs->roles[role].location != ROLE_AT_SITE)
            return s_fail(c, s_node(c, p->key),
                    "role '%s' is a remote role: bind it under the top-level 'roles'",
                    rs->roles[role].id);
        rc = s_parse_cidrs(c, s_node(c, p->value), "roles", &cl, &nc);
        for (size_t i = 0; !rc && i < nc; i++)
            if (!s_within(s, &cl[i])) {
                char a[64];
                rc = s_fail(c, s_node(c, p->value),
                        "site '%s': role '%s' address %s lies outside the site's cidrs: add it "
                        "to the site's 'cidrs' (or to its 'remote' list if it is the site's "
                        "though elsewhere), or bind a remote role under the top-level 'roles'", s->name, rs->roles[role].id, ip_to_str(&cl[i].addr, a, sizeof a));
            }
        local_binding_t *nl = rc ? NULL : realloc(s->local, (s->nlocal + nc) * sizeof *nl);
        if (!rc && nl) {
            s->local = nl;
            for (size_t i = 0; i < nc; i++)
                s->local[s->nlocal++] = (local_binding_t){role, cl[i]};
        }
        free(cl);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_strv(ctx_t *c, yaml_node_t *map, const char *key, char ***out, size_t *n)
{
    yaml_node_t **items;
    size_t len;
    int rc = s_list(c, s_get(c, map, key), key, &items, &len);
    if (rc)
        return rc;
    *out = calloc(len ? len : 1, sizeof(char *));
    for (size_t i = 0; *out && i < len; i++)
        if (((*out)[*n] = strdup(s_scalar(items[i]))))
            (*n)++;
    free(items);
    return *out ? 0 : PINHOLE_ENOMEM;
}

/* A host name or "*." and one: letters, digits, '-' and dots, no scheme,
 * port or path (what TLS SNI and HTTP Host carry). */
static bool s_host_pattern(const char *h)
{
    if (strncmp(h, "*.", 2) == 0)
        h += 2;
    size_t label = 0, n = 0;
    for (const char *p = h; *p; p++, n++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
        if (*p == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (!ok || ++label > 63) {
            return false;
        }
    }
    return n > 0 && n <= 253;
}

/* One binding of a role: a mapping whose criteria must all hold. */
static int s_parse_binding(ctx_t *c, rules_t *rs, int role, yaml_node_t *v)
{
    static const char *const keys[] = {"cidrs", "hosts", "asns", "orgs", "countries", "apps", NULL};
    binding_t *b = &rs->bindings[rs->nbindings++];
    b->role = role;
    int rc;
    if ((rc = s_check_keys(c, v, keys)) ||
            (rc = s_parse_cidrs(c, s_get(c, v, "cidrs"), "cidrs", &b->cidrs, &b->ncidrs)) ||
            (rc = s_strv(c, v, "hosts", &b->hosts, &b->nhosts)) ||
            (rc = s_strv(c, v, "orgs", &b->orgs, &b->norgs)) ||
            (rc = s_strv(c, v, "countries", &b->countries, &b->ncountries)) ||
            (rc = s_strv(c, v, "apps", &b->apps, &b->napps)))
        return rc;
    yaml_node_t **items;
    size_t len;
    if ((rc = s_list(c, s_get(c, v, "asns"), "asns", &items, &len)))
        return rc;
    b->asns = calloc(len ? len : 1, sizeof(uint32_t));
    for (size_t i = 0; b->asns && i < len && !rc; i++) {
        const char *a = s_scalar(items[i]);
        if (strncasecmp(a, "AS", 2) == 0)
            a += 2;
        char *end = NULL;
        unsigned long asn = strtoul(a, &end, 10);
        if (end == a || *end || asn == 0 || asn > 0xffffffffUL)
            rc = s_fail(c, items[i], "bad ASN '%s'", s_scalar(items[i]));
        else
            b->asns[b->nasns++] = (uint32_t)asn;
    }
    free(items);
    for (size_t i = 0; !rc && i < b->nhosts; i++)
        if (!s_host_pattern(b->hosts[i]))
            rc = s_fail(c, s_get(c, v, "hosts"), "host pattern '%s' is not a host name: write the "
                                                 "name alone, e.g. 'dm.example.com' or "
                                                 "'*.example.com' (no scheme, port or path)",
                    b->hosts[i]);
    yaml_node_t *apps = s_get(c, v, "apps");
    b->apps_line = apps ? (int)apps->start_mark.line + 1 : 0;
    for (size_t i = 0; !rc && i < b->ncountries; i++)
        if (strlen(b->countries[i]) != 2)
            rc = s_fail(c, s_get(c, v, "countries"), "country '%s' is not a two-letter ISO code",
                    b->countries[i]);
    if (!rc && b->ncidrs + b->nhosts + b->nasns + b->norgs + b->ncountries + b->napps == 0)
        rc = s_fail(c, v, "role '%s' is bound to nothing: give cidrs, hosts, asns, orgs, "
                          "countries or apps", rs->roles[role].id);
    return rc;
}

/* A role's value: one binding (a mapping) or several (a list of them). */
static int s_parse_role_bindings(ctx_t *c, rules_t *rs, yaml_node_t *k, yaml_node_t *v)
{
    int role, rc;
    if ((rc = s_inv_role(c, rs, k, &role)))
        return rc;
    if (rs->roles[role].location == ROLE_AT_SITE)
        return s_fail(c, k, "role '%s' is a site role: bind it under its site's 'roles'",
                rs->roles[role].id);
    if (v && v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
            if ((rc = s_parse_binding(c, rs, role, s_node(c, *it))))
                return rc;
        return 0;
    }
    return s_parse_binding(c, rs, role, v);
}

static size_t s_count_bindings(ctx_t *c, yaml_node_t *roles)
{
    size_t n = 0;
    for (yaml_node_pair_t *p = roles->data.mapping.pairs.start; p < roles->data.mapping.pairs.top; p++) {
        yaml_node_t *v = s_node(c, p->value);
        n += v && v->type == YAML_SEQUENCE_NODE
                     ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                     : 1;
    }
    return n;
}

static bool s_role_bound(const rules_t *rs, int role)
{
    if (rs->roles[role].location == ROLE_AT_SITE)
        return true; /* a site role not listed is every host of the site */
    for (size_t i = 0; i < rs->nbindings; i++)
        if (rs->bindings[i].role == role)
            return true;
    return false;
}

/* Every remote role a rule needs is bound, at every site the rule applies
 * to, unless the site waives the rule: else the rule's failures would be
 * judged unexpected and the site could pass with its flows blocked. */
static int s_check_bound(ctx_t *c, const rules_t *rs)
{
    for (size_t s = 0; s < rs->nsites; s++)
        for (size_t r = 0; r < rs->nrules; r++) {
            const rule_t *rule = &rs->rules[r];
            if (!rules_applies_to_site(rs, s, r) || rules_waived(rs, s, r))
                continue;
            int miss = !s_role_bound(rs, rule->from) ? rule->from
                       : !s_role_bound(rs, rule->to) ? rule->to : -1;
            if (miss < 0)
                continue;
            snprintf(c->err, c->errlen,
                    "%s:%d: site '%s': rule %s (profile %s) needs role '%s', which the "
                    "inventory does not bind: bind it under the top-level 'roles' (cidrs, hosts "
                    "or asns), or write 'waive: [%s]' under the site to leave that rule "
                    "unchecked there", c->file, rs->sites[s].line, rs->sites[s].name, rule->id,
                    rule->profile, rs->roles[miss].id, rule->id);
            return PINHOLE_EINVAL;
        }
    return 0;
}

int rules_load_inventory(rules_t *self, const char *path, char *err, size_t errlen)
{
    static const char *const keys[] = {"sensor", "sites", "roles", NULL};
    ctx_t c = {.file = path, .err = err, .errlen = errlen};
    int rc = s_open(&c, path);
    if (rc)
        return rc;
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if ((rc = s_check_keys(&c, root, keys)) ||
            (rc = s_get_str(&c, root, "sensor", false, &self->sensor)))
        goto fail;
    yaml_node_t *sites = s_get(&c, root, "sites");
    if (!sites || sites->type != YAML_SEQUENCE_NODE) {
        rc = s_fail(&c, sites ? sites : root, "'sites' must be a list of sites");
        goto fail;
    }
    size_t ns = (size_t)(sites->data.sequence.items.top - sites->data.sequence.items.start);
    if (ns == 0) {
        rc = s_fail(&c, sites, "the inventory has no site: list at least one under 'sites' "
                               "(name and cidrs)");
        goto fail;
    }
    self->sites = calloc(ns ? ns : 1, sizeof(site_t));
    if (!self->sites) {
        rc = PINHOLE_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < ns && !rc; i++)
        rc = s_parse_site(&c, self, s_node(&c, sites->data.sequence.items.start[i]));
    if (rc)
        goto fail;
    yaml_node_t *roles = s_get(&c, root, "roles");
    if (roles && roles->type != YAML_MAPPING_NODE) {
        rc = s_fail(&c, roles, "'roles' must map a role id to its binding");
        goto fail;
    }
    if (roles) {
        size_t nb = s_count_bindings(&c, roles);
        self->bindings = calloc(nb ? nb : 1, sizeof(binding_t));
        if (!self->bindings) {
            rc = PINHOLE_ENOMEM;
            goto fail;
        }
        for (yaml_node_pair_t *p = roles->data.mapping.pairs.start;
                !rc && p < roles->data.mapping.pairs.top; p++)
            rc = s_parse_role_bindings(&c, self, s_node(&c, p->key), s_node(&c, p->value));
    }
    if (!rc)
        rc = s_check_bound(&c, self);
    if (!rc && !(self->inventory = strdup(path)))
        rc = PINHOLE_ENOMEM;
fail:
    yaml_document_delete(&c.doc);
    return rc;
}
