/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"
#include "unit.h"

int test_rules(void);

static rules_t *s_load(const char *inventory)
{
    char path[1024], inv[1024], err[RULES_ERRLEN];
    snprintf(path, sizeof path, "%s/rules", unit_srcdir);
    snprintf(inv, sizeof inv, "%s/rules/inventory/%s", unit_srcdir, inventory);
    rules_t *rs = rules_new();
    if (rules_load_profiles(rs, path, err, sizeof err) || rules_load_inventory(rs, inv, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        rules_destroy(&rs);
    }
    return rs;
}

static int s_count_profile(const rules_t *rs, const char *profile)
{
    int n = 0;
    for (size_t i = 0; i < rules_nrules(rs); i++)
        n += strcmp(rules_rule(rs, i)->profile, profile) == 0;
    return n;
}

/* Writes text to a temp file and loads it as a profile (or inventory). */
static int s_try(const char *text, bool inventory, char *err, size_t n)
{
    char path[] = "/tmp/pinhole-rules-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return -100;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return -100;
    }
    close(fd);
    char prof[1024];
    snprintf(prof, sizeof prof, "%s/rules", unit_srcdir);
    rules_t *rs = rules_new();
    int rc = inventory ? rules_load_profiles(rs, prof, err, n) : 0;
    if (!rc)
        rc = inventory ? rules_load_inventory(rs, path, err, n) : rules_load_profiles(rs, path, err, n);
    rules_destroy(&rs);
    unlink(path);
    /* Keep only "line: message" so the check does not depend on the path. */
    char *colon = strstr(err, ".yaml:");
    if (rc && colon)
        memmove(err, colon + 6, strlen(colon + 6) + 1);
    return rc;
}

static int s_broken(void)
{
    static const struct {
        bool inventory;
        const char *text;
        const char *expect; /* "line: message" starts with this */
    } cases[] = {
            {false, "profile: x\nroles:\n  a: {name: A, location: site}\nrules:\n  - id: R1\n"
                    "    from: a\n    to: b\n    proto: tcp\n    to_ports: 443\n",
                    "7: 'to': unknown role 'b'"},
            {false, "profile: x\nroles:\n  a: {name: A, location: site}\nrules:\n  - id: R1\n"
                    "    from: a\n    to: a\n    proto: sctp\n    to_ports: 443\n"
                    "    purpose: p\n    source: s\n",
                    "8: proto must be"},
            {false, "profile: x\nroles:\n  a: {name: A, location: site}\nrules:\n  - id: R1\n"
                    "    from: a\n    to: a\n    proto: tcp\n    to_ports: 70000\n"
                    "    purpose: p\n    source: s\n",
                    "9: 'to_ports': bad port or range '70000'"},
            {false, "profile: x\nroles:\n  a: {name: A, location: site}\nrules:\n  - id: R1\n"
                    "    form: a\n", "6: unknown key 'form'"},
            {false, "profile: x\nroles: [\n", "3: YAML error"},
            {false, "profile: x\nroles:\n  a: {name: A, location: moon}\nrules: []\n",
                    "3: location must be"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/33]\n",
                    "3: 'cidrs': bad address or CIDR '10.0.0.0/33'"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/8]\nroles:\n  nobody:\n    cidrs: [1.2.3.4]\n",
                    "5: unknown role 'nobody'"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/8]\nroles:\n  waf:\n    asns: [ASxyz]\n",
                    "6: bad ASN 'ASxyz'"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/8]\n    roles:\n      waf: [10.1.1.1]\n",
                    "5: role 'waf' is a remote role"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/8]\n  - name: s\n    cidrs: [11.0.0.0/8]\n",
                    "4: site 's' is defined twice"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/8]\nroles:\n  waf:\n    - countries: [CAN]\n",
                    "6: country 'CAN' is not a two-letter ISO code"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/8]\nroles:\n  waf:\n    - asns: [1]\n    - {}\n",
                    "7: role 'waf' is bound to nothing"},
            {true, "sites:\n  - name: s\n    cidrs: [10.0.0.0/8]\nroles:\n  phone:\n    cidrs: [10.1.1.1]\n",
                    "5: role 'phone' is a site role"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[RULES_ERRLEN] = "";
        int rc = s_try(cases[i].text, cases[i].inventory, err, sizeof err);
        if (rc == 0 || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0) {
            fprintf(stderr, "broken case %zu: rc %d, got '%s', expected '%s'\n", i, rc, err,
                    cases[i].expect);
            return 1;
        }
    }
    return 0;
}

static role_set_t s_bit(const rules_t *rs, const char *role)
{
    return (role_set_t)1 << rules_role_index(rs, role);
}

int test_rules(void)
{
    rules_t *rs = s_load("lab.yaml");
    CHECK(rs);
    /* Every row of both seed tables: the 16 rows of the device-manager table,
     * and for the hosted PBX the 4 strict-firewall rows and the 8445-8447 note. */
    CHECK_EQ(s_count_profile(rs, "device-manager"), 16);
    CHECK_EQ(s_count_profile(rs, "hosted-pbx"), 5);
    CHECK_EQ(rules_nreqs(rs), 5);
    CHECK_EQ(rules_nsites(rs), 2);
    /* Mirror rows point at the primary view of their flow. */
    int waf1 = -1, ep2 = -1;
    for (size_t i = 0; i < rules_nrules(rs); i++) {
        if (strcmp(rules_rule(rs, i)->id, "DM-WAF-1") == 0)
            waf1 = (int)i;
        if (strcmp(rules_rule(rs, i)->id, "DM-EP-2") == 0)
            ep2 = (int)i;
    }
    CHECK(waf1 >= 0 && ep2 >= 0 && rules_rule(rs, (size_t)waf1)->primary == ep2);

    ip_addr_t phone, blob, dm, pbx;
    ip_parse("192.168.50.10", &phone);
    ip_parse("198.51.100.7", &blob);
    ip_parse("203.0.113.10", &dm);
    ip_parse("203.0.113.40", &pbx);
    int site = rules_site_of(rs, &phone);
    CHECK_EQ(site, 0);
    CHECK_EQ(rules_site_of(rs, &blob), -1);
    role_query_t q = {.addr = &phone};
    role_set_t src = rules_roles_of(rs, site, &q);
    CHECK(src & s_bit(rs, "endpoint") && src & s_bit(rs, "phone"));
    /* By SNI pattern, by ASN, by CIDR. */
    q = (role_query_t){.addr = &blob, .host = "x.blob.core.windows.net"};
    CHECK(rules_roles_of(rs, -1, &q) == s_bit(rs, "blob"));
    q = (role_query_t){.addr = &blob, .asn = 64500};
    CHECK(rules_roles_of(rs, -1, &q) == s_bit(rs, "waf"));
    q = (role_query_t){.addr = &blob, .host = "blob.core.windows.net.evil"};
    CHECK(rules_roles_of(rs, -1, &q) == 0);
    /* A binding's criteria must all hold: the storage network and TLS. */
    q = (role_query_t){.addr = &blob, .asn = 64501, .app = "TLS.Microsoft"};
    CHECK(rules_roles_of(rs, -1, &q) == s_bit(rs, "blob"));
    q = (role_query_t){.addr = &blob, .asn = 64501, .app = "HTTP"};
    CHECK(rules_roles_of(rs, -1, &q) == 0);
    q = (role_query_t){.addr = &blob, .asn = 64501};
    CHECK(rules_roles_of(rs, -1, &q) == 0);
    q = (role_query_t){.addr = &dm};
    CHECK(rules_roles_of(rs, -1, &q) & s_bit(rs, "device_manager"));
    q = (role_query_t){.addr = &pbx};
    role_set_t dst = rules_roles_of(rs, -1, &q);
    int r = rules_match(rs, 6, src, 40000, dst, 8446);
    CHECK(r >= 0 && strcmp(rules_rule(rs, (size_t)r)->id, "PBX-CFG") == 0);
    CHECK_EQ(rules_match(rs, 6, src, 40000, dst, 8448), -1);
    near_kind_t why;
    r = rules_nearest(rs, 6, src, 40000, dst, 8448, &why);
    CHECK(r >= 0 && why == NEAR_PORT);
    /* The other way round: the provider opening 8445 towards the phone. */
    CHECK_EQ(rules_match(rs, 6, dst, 40000, src, 8445), -1);
    r = rules_nearest(rs, 6, dst, 40000, src, 8445, &why);
    CHECK(r >= 0 && why == NEAR_DIRECTION);
    /* UDP to the proxy, and the proxy's replies (the inbound row). */
    role_set_t proxy = s_bit(rs, "outbound_proxy");
    r = rules_match(rs, 17, src, 5060, proxy, 5065);
    CHECK(r >= 0 && strcmp(rules_rule(rs, (size_t)r)->id, "PBX-SIP-OUT") == 0);
    r = rules_match(rs, 17, proxy, 5065, src, 5060);
    CHECK(r >= 0 && strcmp(rules_rule(rs, (size_t)r)->id, "PBX-SIP-IN") == 0);
    rules_destroy(&rs);
    CHECK(rs == NULL);
    RUN(s_broken);
    return 0;
}
