/* SPDX-License-Identifier: MIT */
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
    return 0;
}
