/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "strutil.h"
#include "unit.h"

int test_cursor(void);
int test_strutil(void);

int test_cursor(void)
{
    /* 0x1234, 0xdeadbeef, then one byte */
    const uint8_t b[] = {0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x7f};
    cursor_t c = cur_make(b, sizeof b);
    uint16_t v16;
    uint32_t v32;
    uint8_t v8;
    CHECK(cur_be16(&c, &v16) && v16 == 0x1234);
    CHECK(cur_be32(&c, &v32) && v32 == 0xdeadbeef);
    CHECK(!cur_be16(&c, &v16)); /* one byte left: short read */
    CHECK(c.bad);
    CHECK(!cur_u8(&c, &v8)); /* sticky: even a fitting read fails now */
    c = cur_make(b, sizeof b);
    CHECK(cur_le16(&c, &v16) && v16 == 0x3412);
    cursor_t child;
    CHECK(cur_sub(&c, 4, &child) && child.left == 4 && c.left == 1);
    CHECK(cur_le32(&child, &v32) && v32 == 0xefbeadde);
    CHECK(!cur_skip(&child, 1) && child.bad && !c.bad);
    CHECK(!cur_sub(&c, 2, &child) && child.bad && c.bad);
    c = cur_make(b, sizeof b);
    CHECK(!cur_skip(&c, SIZE_MAX)); /* no pointer past the end is formed */
    return 0;
}

int test_strutil(void)
{
    CHECK(str_host_match("*.blob.core.windows.net", "acme.blob.core.windows.net"));
    CHECK(str_host_match("*.blob.core.windows.net", "a.b.BLOB.core.windows.net."));
    CHECK(!str_host_match("*.blob.core.windows.net", "blob.core.windows.net"));
    CHECK(!str_host_match("*.blob.core.windows.net", "evilblob.core.windows.net"));
    CHECK(str_host_match("dm.lab.example", "DM.lab.example"));
    CHECK(!str_host_match("dm.lab.example", "xdm.lab.example"));
    cidr_t c;
    ip_addr_t a;
    CHECK(cidr_parse("192.168.50.0/24", &c));
    CHECK(ip_parse("192.168.50.77", &a) && cidr_contains(&c, &a));
    CHECK(ip_parse("192.168.51.1", &a) && !cidr_contains(&c, &a));
    CHECK(cidr_parse("10.1.2.3", &c) && c.bits == 128);
    CHECK(cidr_parse("0.0.0.0/0", &c) && ip_parse("8.8.8.8", &a) && cidr_contains(&c, &a));
    CHECK(ip_parse("2001:db8::1", &a) && !cidr_contains(&c, &a)); /* v4 /0 is not v6 */
    CHECK(cidr_parse("2001:db8::/32", &c) && cidr_contains(&c, &a));
    CHECK(!cidr_parse("10.0.0.0/33", &c));
    CHECK(!cidr_parse("10.0.0.0/", &c));
    CHECK(!cidr_parse("300.1.1.1", &c));
    CHECK(!cidr_parse("2001:db8::/129", &c));
    char buf[64];
    CHECK(ip_parse("203.0.113.7", &a) && strcmp(ip_to_str(&a, buf, sizeof buf), "203.0.113.7") == 0);
    char small[4];
    CHECK(!str_copy(small, "abcdef", sizeof small) && strcmp(small, "abc") == 0);
    /* UTF-8: well-formed text as it is; each byte of a broken one U+FFFD */
    static const struct {
        const char *in;
        size_t valid;
        const char *fixed;
    } u[] = {
            {"M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x98\x80", 16, NULL},
            {"M\xfcller", 1, "M\xef\xbf\xbdller"},                 /* Latin-1 */
            {"ab\xc3", 2, "ab\xef\xbf\xbd"},                        /* cut short */
            {"\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd"},         /* overlong "/" */
            {"\xed\xa0\x80x", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"}, /* surrogate */
            {"\xf4\x90\x80\x80", 0, NULL},                           /* past U+10FFFF */
    };
    for (size_t i = 0; i < sizeof u / sizeof *u; i++) {
        size_t n = strlen(u[i].in), len = 0;
        CHECK_EQ(str_utf8_valid_len(u[i].in, n), u[i].valid);
        char *f = str_utf8_fix(u[i].in, n, &len);
        CHECK(f != NULL && len == strlen(f));
        CHECK(str_utf8_valid_len(f, len) == len);
        if (u[i].fixed)
            CHECK(strcmp(f, u[i].fixed) == 0);
        else if (u[i].valid == n)
            CHECK(strcmp(f, u[i].in) == 0);
        free(f);
    }
    return 0;
}
