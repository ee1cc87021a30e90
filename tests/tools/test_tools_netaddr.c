/* test_tools_netaddr.c — web_fetch's address classifier and literal-host parser. Pure
 * functions: no test here opens a socket or resolves a name. */
#include "tools/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

static netaddr_class v4(const char *text) {
    struct in_addr a;
    if (inet_pton(AF_INET, text, &a) != 1) fail_msg("bad test address %s", text);
    return tool_netaddr_classify_v4(ntohl(a.s_addr));
}

static netaddr_class v6(const char *text) {
    struct in6_addr a;
    if (inet_pton(AF_INET6, text, &a) != 1) fail_msg("bad test address %s", text);
    return tool_netaddr_classify_v6(a.s6_addr);
}

#define EXPECT(cls, got, text)                                                               \
    do {                                                                                     \
        netaddr_class g_ = (got);                                                            \
        if (g_ != (cls))                                                                     \
            fail_msg("%s: got %s, want %s", text, tool_netaddr_class_name(g_),                \
                     tool_netaddr_class_name(cls));                                          \
    } while (0)
#define V4(cls, text) EXPECT(cls, v4(text), text)
#define V6(cls, text) EXPECT(cls, v6(text), text)

static void classify_ipv4(void **state) {
    (void)state;
    V4(NETADDR_LOOPBACK, "127.0.0.1");
    V4(NETADDR_LOOPBACK, "127.255.255.254");
    V4(NETADDR_PRIVATE, "10.0.0.1");
    V4(NETADDR_PRIVATE, "10.255.255.255");
    V4(NETADDR_PRIVATE, "172.16.0.1");
    V4(NETADDR_PRIVATE, "172.31.255.255");
    V4(NETADDR_PUBLIC, "172.32.0.1");
    V4(NETADDR_PUBLIC, "172.15.255.255");
    V4(NETADDR_PRIVATE, "192.168.1.1");
    V4(NETADDR_SHARED, "100.64.0.1");
    V4(NETADDR_SHARED, "100.127.255.255");
    V4(NETADDR_PUBLIC, "100.128.0.1");
    V4(NETADDR_PUBLIC, "100.63.255.255");
    V4(NETADDR_LINK_LOCAL, "169.254.1.1");
    V4(NETADDR_METADATA, "169.254.169.254");
    V4(NETADDR_UNSPECIFIED, "0.0.0.0");
    V4(NETADDR_UNSPECIFIED, "0.1.2.3");
    V4(NETADDR_MULTICAST, "224.0.0.1");
    V4(NETADDR_MULTICAST, "239.255.255.255");
    V4(NETADDR_RESERVED, "240.0.0.1");
    V4(NETADDR_RESERVED, "255.255.255.255");
    V4(NETADDR_RESERVED, "192.0.2.10");
    V4(NETADDR_RESERVED, "198.18.0.1");
    V4(NETADDR_RESERVED, "198.51.100.7");
    V4(NETADDR_RESERVED, "203.0.113.9");
    V4(NETADDR_RESERVED, "192.0.0.8");
    V4(NETADDR_PUBLIC, "8.8.8.8");
    V4(NETADDR_PUBLIC, "1.1.1.1");
    V4(NETADDR_PUBLIC, "93.184.216.34");
}

static void classify_ipv6(void **state) {
    (void)state;
    V6(NETADDR_LOOPBACK, "::1");
    V6(NETADDR_UNSPECIFIED, "::");
    V6(NETADDR_LINK_LOCAL, "fe80::1");
    V6(NETADDR_LINK_LOCAL, "febf:ffff::1");
    V6(NETADDR_UNIQUE_LOCAL, "fc00::1");
    V6(NETADDR_UNIQUE_LOCAL, "fd12:3456:789a::1");
    V6(NETADDR_UNIQUE_LOCAL, "fec0::1");
    V6(NETADDR_METADATA, "fd00:ec2::254");
    V6(NETADDR_MULTICAST, "ff02::1");
    V6(NETADDR_MULTICAST, "ff0e::1234");
    V6(NETADDR_RESERVED, "2001:db8::1");
    V6(NETADDR_RESERVED, "100::1");
    V6(NETADDR_RESERVED, "2001::1");       /* Teredo */
    V6(NETADDR_RESERVED, "4000::1");       /* outside 2000::/3 */
    V6(NETADDR_PUBLIC, "2606:4700:4700::1111");
    V6(NETADDR_PUBLIC, "2001:4860:4860::8888");
}

static void classify_embedded_ipv4(void **state) {
    (void)state;
    /* IPv4-mapped */
    V6(NETADDR_LOOPBACK, "::ffff:127.0.0.1");
    V6(NETADDR_LOOPBACK, "::ffff:7f00:1");
    V6(NETADDR_PRIVATE, "::ffff:10.0.0.1");
    V6(NETADDR_PRIVATE, "::ffff:192.168.0.1");
    V6(NETADDR_METADATA, "::ffff:169.254.169.254");
    V6(NETADDR_UNSPECIFIED, "::ffff:0.0.0.0");
    V6(NETADDR_SHARED, "::ffff:100.64.1.1");
    V6(NETADDR_PUBLIC, "::ffff:8.8.8.8");
    /* IPv4-compatible (deprecated) */
    V6(NETADDR_LOOPBACK, "::127.0.0.1");
    V6(NETADDR_PRIVATE, "::10.1.2.3");
    V6(NETADDR_METADATA, "::169.254.169.254");
    /* SIIT, NAT64, 6to4 */
    V6(NETADDR_PRIVATE, "::ffff:0:10.0.0.1");
    V6(NETADDR_METADATA, "64:ff9b::169.254.169.254");
    V6(NETADDR_LOOPBACK, "64:ff9b::7f00:1");
    V6(NETADDR_PUBLIC, "64:ff9b::8.8.8.8");
    V6(NETADDR_LOOPBACK, "2002:7f00:1::");
    V6(NETADDR_METADATA, "2002:a9fe:a9fe::1");
    V6(NETADDR_PUBLIC, "2002:808:808::1");
}

static void classify_sockaddrs(void **state) {
    (void)state;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    assert_int_equal(tool_netaddr_classify_sockaddr((struct sockaddr *)&in), NETADDR_LOOPBACK);
    inet_pton(AF_INET, "9.9.9.9", &in.sin_addr);
    assert_int_equal(tool_netaddr_classify_sockaddr((struct sockaddr *)&in), NETADDR_PUBLIC);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    inet_pton(AF_INET6, "::ffff:169.254.169.254", &in6.sin6_addr);
    assert_int_equal(tool_netaddr_classify_sockaddr((struct sockaddr *)&in6), NETADDR_METADATA);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_int_equal(tool_netaddr_classify_sockaddr((struct sockaddr *)&un), NETADDR_INVALID);
    assert_int_equal(tool_netaddr_classify_sockaddr(NULL), NETADDR_INVALID);
}

static void policy(void **state) {
    (void)state;
    assert_true(tool_netaddr_allowed(NETADDR_PUBLIC, false));
    assert_false(tool_netaddr_allowed(NETADDR_LOOPBACK, false));
    assert_true(tool_netaddr_allowed(NETADDR_LOOPBACK, true));
    for (int c = NETADDR_PRIVATE; c <= NETADDR_INVALID; c++) {
        assert_false(tool_netaddr_allowed((netaddr_class)c, false));
        assert_false(tool_netaddr_allowed((netaddr_class)c, true));
    }
}

/* A literal host as a resolver reads it, classified. */
static netaddr_class literal(const char *host) {
    int family;
    uint32_t a4;
    uint8_t a6[16];
    if (!tool_netaddr_parse_literal(host, &family, &a4, a6)) fail_msg("%s did not parse", host);
    return family == 4 ? tool_netaddr_classify_v4(a4) : tool_netaddr_classify_v6(a6);
}

static bool parses(const char *host) {
    int family;
    uint32_t a4;
    uint8_t a6[16];
    return tool_netaddr_parse_literal(host, &family, &a4, a6);
}

static void literal_hosts(void **state) {
    (void)state;
    int family;
    uint32_t a4 = 0;
    uint8_t a6[16];
    assert_true(tool_netaddr_parse_literal("2130706433", &family, &a4, a6));
    assert_int_equal(family, 4);
    assert_int_equal(a4, 0x7f000001);
    assert_true(tool_netaddr_parse_literal("0x7f.1", &family, &a4, a6));
    assert_int_equal(a4, 0x7f000001);
    assert_true(tool_netaddr_parse_literal("0177.0.0.1", &family, &a4, a6));
    assert_int_equal(a4, 0x7f000001);
    assert_true(tool_netaddr_parse_literal("127.1", &family, &a4, a6));
    assert_int_equal(a4, 0x7f000001);
    assert_true(tool_netaddr_parse_literal("10.1.256", &family, &a4, a6));
    assert_int_equal(a4, 0x0a010100);
    EXPECT(NETADDR_LOOPBACK, literal("0x7f000001"), "0x7f000001");
    EXPECT(NETADDR_LOOPBACK, literal("017700000001"), "017700000001");
    EXPECT(NETADDR_METADATA, literal("2852039166"), "2852039166");
    EXPECT(NETADDR_METADATA, literal("0xa9.0xfe.0xa9.0xfe"), "0xa9.0xfe.0xa9.0xfe");
    EXPECT(NETADDR_PRIVATE, literal("012.0.0.1"), "012.0.0.1");
    EXPECT(NETADDR_PRIVATE, literal("10.0.0.1."), "10.0.0.1.");
    EXPECT(NETADDR_UNSPECIFIED, literal("0"), "0");
    EXPECT(NETADDR_LOOPBACK, literal("[::1]"), "[::1]");
    EXPECT(NETADDR_LOOPBACK, literal("::1"), "::1");
    EXPECT(NETADDR_LINK_LOCAL, literal("[fe80::1%eth0]"), "[fe80::1%eth0]");
    EXPECT(NETADDR_LOOPBACK, literal("[::ffff:127.0.0.1]"), "[::ffff:127.0.0.1]");
    EXPECT(NETADDR_PRIVATE, literal("[::ffff:a00:1]"), "[::ffff:a00:1]");
    EXPECT(NETADDR_PUBLIC, literal("8.8.8.8"), "8.8.8.8");

    assert_false(parses("example.com"));
    assert_false(parses("localhost"));
    assert_false(parses("1.2.3.4.5"));
    assert_false(parses("256.1.1.1"));
    assert_false(parses("08.0.0.1"));       /* 8 is not an octal digit */
    assert_false(parses("0x100000000"));
    assert_false(parses("4294967296"));
    assert_false(parses("1..2"));
    assert_false(parses(""));
    assert_false(parses("[::1"));
    assert_false(parses("[]"));
    assert_false(parses("::g"));
    assert_false(parses("1.2.3.4 "));
    assert_false(parses("127.0.0.1x"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classify_ipv4),
        cmocka_unit_test(classify_ipv6),
        cmocka_unit_test(classify_embedded_ipv4),
        cmocka_unit_test(classify_sockaddrs),
        cmocka_unit_test(policy),
        cmocka_unit_test(literal_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
