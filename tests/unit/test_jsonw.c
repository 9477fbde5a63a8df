/* SPDX-License-Identifier: MIT */
/* test_jsonw.c: the event writer writes the bytes json-c 0.16 writes
 * (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), which the
 * events were before it: every byte value, strings with quotes, backslash,
 * control characters and bytes that are not UTF-8, integers at their
 * limits, nesting, addresses as inet_ntop and times as gmtime + strftime. */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "output.h"
#include "unit.h"

int test_jsonw(void);

#define JC_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The writer's text equals json-c's for the object `o` (which is put). */
static int s_same(const jsonw_t *w, json_object *o)
{
    size_t n = 0, jn = 0;
    const char *t = jsonw_text(w, &n);
    const char *j = json_object_to_json_string_length(o, JC_FLAGS, &jn);
    CHECK(t != NULL);
    if (n != jn || memcmp(t, j, n) != 0) {
        fprintf(stderr, "jsonw: %.*s\njson-c: %.*s\n", (int)n, t, (int)jn, j);
        json_object_put(o);
        return 1;
    }
    json_object_put(o);
    return 0;
}

/* One string member of n bytes (the key too), each way. */
static int s_string(jsonw_t *w, const char *s, size_t n)
{
    jsonw_reset(w);
    jsonw_open(w, NULL);
    jsonw_strn(w, s, s, n);
    jsonw_close(w);
    json_object *o = json_object_new_object();
    json_object_object_add(o, s, json_object_new_string_len(s, (int)n));
    return s_same(w, o);
}

static int s_bytes(jsonw_t *w)
{
    /* every byte value alone, then in a run between plain letters */
    for (int c = 1; c < 256; c++) {
        char s[4] = {(char)c, 0, 0, 0};
        if (s_string(w, s, 1))
            return 1;
        char t[4] = {'a', (char)c, 'b', 0};
        if (s_string(w, t, 3))
            return 1;
    }
    /* every byte value at each place of a 20-byte run (the writer copies
     * runs of 8 plain bytes whole) */
    for (int c = 1; c < 256; c++) {
        for (int at = 0; at < 20; at++) {
            char r[21];
            memset(r, 'x', 20);
            r[at] = (char)c;
            if (s_string(w, r, 20))
                return 1;
        }
    }
    /* quotes, backslash, slash, controls, DEL, invalid UTF-8 (a lone
     * continuation byte, a cut sequence, an overlong form, 0xff) */
    static const char mixed[] = "say \"hi\" \\ to / the\b\f\n\r\t\x01\x1f\x7f"
                                "\x80\xc3\x28\xe2\x82\xc0\xaf\xff caf\xc3\xa9";
    if (s_string(w, mixed, sizeof mixed - 1))
        return 1;
    /* a NUL inside a value (json-c: \u0000), under a plain key */
    jsonw_reset(w);
    jsonw_open(w, NULL);
    jsonw_strn(w, "k", "a\0b", 3);
    jsonw_close(w);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "k", json_object_new_string_len("a\0b", 3));
    if (s_same(w, o))
        return 1;
    unsigned seed = 7;
    for (int i = 0; i < 2000; i++) { /* random bytes, no NUL */
        char r[40];
        size_t n = (size_t)(i % 40);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            r[k] = (char)(1 + (seed >> 16) % 255);
        }
        if (s_string(w, r, n))
            return 1;
    }
    return 0;
}

static int s_nested(jsonw_t *w)
{
    static const int64_t ints[] = {0, 1, -1, 9, 10, 99, 100, 65535, -65536, 4294967296LL,
        INT64_MAX, INT64_MIN, INT64_MIN + 1, 9007199254740991LL};
    jsonw_reset(w);
    jsonw_open(w, NULL);
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char k[8];
        snprintf(k, sizeof k, "i%zu", i);
        jsonw_int(w, k, ints[i]);
        json_object_object_add(o, k, json_object_new_int64(ints[i]));
    }
    jsonw_open(w, "empty");
    jsonw_close(w);
    json_object_object_add(o, "empty", json_object_new_object());
    jsonw_open(w, "a");
    jsonw_open(w, "b");
    jsonw_str(w, "c", "d");
    jsonw_close(w);
    jsonw_raw(w, "ms", "1.250", 5);
    jsonw_close(w);
    jsonw_str(w, "z", "");
    jsonw_close(w);
    CHECK_EQ(w->depth, 0);
    json_object *a = json_object_new_object(), *b = json_object_new_object();
    json_object_object_add(b, "c", json_object_new_string("d"));
    json_object_object_add(a, "b", b);
    json_object_object_add(a, "ms", json_object_new_double_s(1.25, "1.250"));
    json_object_object_add(o, "a", a);
    json_object_object_add(o, "z", json_object_new_string(""));
    return s_same(w, o);
}

static int s_ips(jsonw_t *w)
{
    static const char *ips[] = {"0.0.0.0", "10.0.0.1", "192.168.100.255", "255.255.255.255",
        "1.20.199.9", "::", "::1", "2001:db8::1", "fe80::1:0:0:1", "2001:db8:0:0:1:0:0:1",
        "::102:304", "1:2:3:4:5:6:7:8", "2001:0:0:1::"};
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
        ip_addr_t a;
        CHECK(ip_parse(ips[i], &a));
        char want[INET6_ADDRSTRLEN];
        jsonw_reset(w);
        jsonw_open(w, NULL);
        jsonw_ip(w, "ip", &a);
        jsonw_close(w);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ip", json_object_new_string(ip_to_str(&a, want, sizeof want)));
        if (s_same(w, o))
            return 1;
    }
    for (unsigned b = 0; b < 256; b++) { /* every byte value in every place */
        char txt[16], want[INET6_ADDRSTRLEN];
        snprintf(txt, sizeof txt, "%u.%u.%u.%u", b, (b * 7) & 255, 255 - b, (b * 13 + 5) & 255);
        ip_addr_t a;
        CHECK(ip_parse(txt, &a));
        jsonw_reset(w);
        jsonw_open(w, NULL);
        jsonw_ip_k(w, JSONW_K("ip"), &a);
        jsonw_close(w);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ip", json_object_new_string(ip_to_str(&a, want, sizeof want)));
        if (s_same(w, o))
            return 1;
    }
    return 0;
}

/* The times as they were written before: gmtime_r, strftime, snprintf;
 * both as output_time writes them and as a member of an event (which keeps
 * the last second's text: times in a row share it, or not). */
static int s_times(jsonw_t *w)
{
    static const uint64_t ts[] = {0, 1, 999999, 1700000000123456ull, 951782400000000ull,
        951868799999999ull, 4107542400000000ull, 253402300799999999ull, 253402300800000000ull,
        1709251199000000ull, 1709164800000001ull};
    uint64_t seed = 1;
    for (int i = 0; i < 20000 + (int)(sizeof ts / sizeof ts[0]); i++) {
        uint64_t t;
        if (i < (int)(sizeof ts / sizeof ts[0])) {
            t = ts[i];
        } else {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            t = (seed >> 11) % 4102444800000000ull; /* up to 2100 */
        }
        time_t sec = (time_t)(t / 1000000u);
        struct tm tm;
        CHECK(gmtime_r(&sec, &tm) != NULL);
        char base[32], want[64], got[64];
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want, sizeof want, "%s.%06u+0000", base, (unsigned)(t % 1000000u));
        output_time(t, got, sizeof got);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "time %llu: %s, expected %s\n", (unsigned long long)t, got, want);
            return 1;
        }
        for (int again = 0; again < 2; again++) { /* the same second, then 1 us on */
            jsonw_reset(w);
            jsonw_open(w, NULL);
            jsonw_time(w, "t", t);
            jsonw_close(w);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "t", json_object_new_string(want));
            if (s_same(w, o))
                return 1;
            t++;
            sec = (time_t)(t / 1000000u);
            CHECK(gmtime_r(&sec, &tm) != NULL);
            strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(want, sizeof want, "%s.%06u+0000", base, (unsigned)(t % 1000000u));
        }
    }
    char small[8];
    CHECK(strcmp(output_time(0, small, sizeof small), "1970-01") == 0);
    return 0;
}

/* Prepared keys (JSONW_K) write what the same keys as strings do, first
 * in their object or not, nested, with every kind of value. */
static int s_keyed(jsonw_t *w)
{
    static const int64_t ints[] = {0, 1, 9, 10, 99, 100, 999, 1000, 65535, -1, -10, -100,
        4294967295LL, 4294967296LL, 999999999999LL, 1000000000000LL, 9007199254740991LL,
        999999999999999999LL, 1000000000000000000LL, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    ip_addr_t v4, v6;
    CHECK(ip_parse("192.168.1.20", &v4) && ip_parse("2001:db8::7", &v6));
    jsonw_t x;
    jsonw_init(&x);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        jsonw_reset(w);
        jsonw_reset(&x);
        jsonw_open(w, NULL);
        jsonw_open(&x, NULL);
        jsonw_int_k(w, JSONW_K("n"), ints[i]);
        jsonw_int(&x, "n", ints[i]);
        jsonw_open_k(w, JSONW_K("an_object_with_a_long_key_name"));
        jsonw_open(&x, "an_object_with_a_long_key_name");
        jsonw_str_k(w, JSONW_K("s"), "a \"quoted\" value\n");
        jsonw_str(&x, "s", "a \"quoted\" value\n");
        jsonw_strn_k(w, JSONW_K("sn"), "1:wCb3OG7yAFWelaUydu0D+125CLM=", 30);
        jsonw_strn(&x, "sn", "1:wCb3OG7yAFWelaUydu0D+125CLM=", 30);
        jsonw_str_k(w, JSONW_K("null"), NULL);
        jsonw_str(&x, "null", NULL);
        jsonw_close(w);
        jsonw_close(&x);
        jsonw_open_k(w, JSONW_K("e"));
        jsonw_open(&x, "e");
        jsonw_close(w);
        jsonw_close(&x);
        jsonw_ip_k(w, JSONW_K("src_ip"), &v4);
        jsonw_ip(&x, "src_ip", &v4);
        jsonw_ip_k(w, JSONW_K("dest_ip"), &v6);
        jsonw_ip(&x, "dest_ip", &v6);
        jsonw_time_k(w, JSONW_K("t"), 1700000000123456ull + (uint64_t)i * 999999u);
        jsonw_time(&x, "t", 1700000000123456ull + (uint64_t)i * 999999u);
        jsonw_raw_k(w, JSONW_K("raw"), "1.250", 5);
        jsonw_raw(&x, "raw", "1.250", 5);
        jsonw_fixed3_k(w, JSONW_K("ms"), (double)ints[i] / 1000.0);
        char txt[32];
        int tn = snprintf(txt, sizeof txt, "%.3f", (double)ints[i] / 1000.0);
        jsonw_raw(&x, "ms", txt, tn > 0 && tn < 32 ? (size_t)tn : 0);
        jsonw_close(w);
        jsonw_close(&x);
        size_t n = 0, xn = 0;
        const char *t = jsonw_text(w, &n), *xt = jsonw_text(&x, &xn);
        CHECK(t && xt);
        if (n != xn || memcmp(t, xt, n) != 0) {
            fprintf(stderr, "keyed: %.*s\nstring keys: %.*s\n", (int)n, t, (int)xn, xt);
            jsonw_fini(&x);
            return 1;
        }
    }
    /* members written once and added to other objects */
    jsonw_reset(&x);
    jsonw_open(&x, NULL);
    jsonw_int(&x, "schema", 3);
    jsonw_str(&x, "sensor", "a\"b");
    jsonw_close(&x);
    size_t mn = 0;
    const char *m = jsonw_members_of(&x, &mn);
    CHECK(m != NULL);
    jsonw_reset(w);
    jsonw_open(w, NULL);
    jsonw_members(w, m, mn);
    jsonw_int_k(w, JSONW_K("after"), 1);
    jsonw_member_k(w, JSONW_M("m", "\"v\""));
    jsonw_open_k(w, JSONW_K("o"));
    jsonw_members(w, m, mn);
    jsonw_close(w);
    jsonw_close(w);
    size_t n = 0;
    const char *t = jsonw_text(w, &n);
    static const char want[] = "{\"schema\":3,\"sensor\":\"a\\\"b\",\"after\":1,\"m\":\"v\","
                               "\"o\":{\"schema\":3,\"sensor\":\"a\\\"b\"}}";
    jsonw_fini(&x);
    CHECK(t && n == sizeof want - 1 && memcmp(t, want, n) == 0);
    return 0;
}

/* One double through jsonw_format_fixed3 and snprintf("%.3f"). */
static int s_fixed3_one(double v)
{
    char want[JSONW_FIXED3_LEN], got[JSONW_FIXED3_LEN + 1];
    int wn = snprintf(want, sizeof want, "%.3f", v);
    size_t want_n = wn > 0 && wn < (int)sizeof want ? (size_t)wn : 0;
    size_t n = jsonw_format_fixed3(v, got);
    if (n != want_n || memcmp(got, want, n) != 0) {
        fprintf(stderr, "fixed3 %a: '%.*s', snprintf '%.*s'\n", v, (int)n, got, (int)want_n, want);
        return 1;
    }
    return 0;
}

/* The three-decimal numbers (jitter, delays) are snprintf's "%.3f" to the
 * byte: halves (exact ones, as 0.0625, and the decimal ones that are not
 * exact in binary, as 0.0005), both signs, zeros, tiny and subnormal,
 * the largest the fast path takes and past it, NaN, infinities, values
 * too long for the buffer, random bit patterns and random milliseconds. */
static int s_fixed3(void)
{
    static const double edge[] = {0.0, -0.0, 0.0005, 0.0015, 0.0025, -0.0005, 0.0625, 0.1875,
        0.3125, 1.0625, 2.5e-4, 1e-300, -1e-300, 4.9e-324, -4.9e-324, 2.2250738585072014e-308,
        0.9995, 0.99949999999999994, 999.9995, 1e15, 1125899906842623.5, 1125899906842624.0,
        -1125899906842623.5, 1125899906842625.0, 9007199254740993.0, 1e20, 1e26, 1e27, 1e300,
        -1e27, 1.7976931348623157e308, 123.456, -123.4565, 0.001, 0.0001, -0.0001};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        if (s_fixed3_one(edge[i]))
            return 1;
    if (s_fixed3_one((double)NAN) || s_fixed3_one(-(double)NAN) || s_fixed3_one((double)INFINITY) ||
            s_fixed3_one(-(double)INFINITY))
        return 1;
    for (int64_t k = -200000; k <= 200000; k++) { /* every k/2000 and k/16 */
        if (s_fixed3_one((double)k / 2000.0) || s_fixed3_one((double)k / 16.0))
            return 1;
        if (s_fixed3_one((double)k * 0.0005 + 0.00049999999999999))
            return 1;
    }
    uint64_t seed = 3;
    for (int i = 0; i < 1000000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        double v;
        if (i % 2) { /* any bit pattern */
            uint64_t bits = seed ^ (seed >> 29);
            memcpy(&v, &bits, sizeof v);
        } else { /* what a jitter or a response time looks like */
            v = (double)(seed >> 11) / (double)(1ull << 53) * (i % 4 ? 1000.0 : 1e9);
        }
        if (s_fixed3_one(v))
            return 1;
    }
    return 0;
}

int test_jsonw(void)
{
    jsonw_t w;
    jsonw_init(&w);
    int rc = s_bytes(&w) || s_nested(&w) || s_ips(&w) || s_times(&w) || s_keyed(&w) || s_fixed3();
    /* too deep: failed, and no text */
    jsonw_reset(&w);
    for (int i = 0; i < JSONW_DEPTH + 1; i++)
        jsonw_open(&w, i ? "x" : NULL);
    size_t n;
    if (!rc && jsonw_text(&w, &n) != NULL)
        rc = 1;
    jsonw_fini(&w);
    CHECK(w.buf == NULL);
    return rc;
}
