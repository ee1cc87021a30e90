/* netaddr.c — classifying IP addresses for web_fetch's connection policy; see netaddr.h. */
#include "tools/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *tool_netaddr_class_name(netaddr_class cls) {
    switch (cls) {
    case NETADDR_PUBLIC: return "public";
    case NETADDR_LOOPBACK: return "loopback";
    case NETADDR_PRIVATE: return "private";
    case NETADDR_SHARED: return "shared (carrier-grade NAT)";
    case NETADDR_LINK_LOCAL: return "link-local";
    case NETADDR_METADATA: return "cloud metadata";
    case NETADDR_UNSPECIFIED: return "unspecified";
    case NETADDR_MULTICAST: return "multicast";
    case NETADDR_UNIQUE_LOCAL: return "unique local";
    case NETADDR_RESERVED: return "reserved";
    case NETADDR_INVALID: break;
    }
    return "invalid";
}

static bool in4(uint32_t a, uint32_t net, int bits) {
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (a & mask) == (net & mask);
}

netaddr_class tool_netaddr_classify_v4(uint32_t a) {
    if (a == 0xa9fea9feu) return NETADDR_METADATA;               /* 169.254.169.254 */
    if (a == 0) return NETADDR_UNSPECIFIED;
    if (in4(a, 0x00000000u, 8)) return NETADDR_UNSPECIFIED;      /* 0/8 "this network" */
    if (in4(a, 0x7f000000u, 8)) return NETADDR_LOOPBACK;
    if (in4(a, 0x0a000000u, 8) || in4(a, 0xac100000u, 12) || in4(a, 0xc0a80000u, 16))
        return NETADDR_PRIVATE;
    if (in4(a, 0x64400000u, 10)) return NETADDR_SHARED;           /* 100.64/10 */
    if (in4(a, 0xa9fe0000u, 16)) return NETADDR_LINK_LOCAL;       /* 169.254/16 */
    if (in4(a, 0xe0000000u, 4)) return NETADDR_MULTICAST;         /* 224/4 */
    if (in4(a, 0xf0000000u, 4)) return NETADDR_RESERVED;          /* 240/4 incl. broadcast */
    if (in4(a, 0xc0000000u, 24) ||                                /* 192.0.0/24 IETF */
        in4(a, 0xc0000200u, 24) ||                                /* 192.0.2/24 TEST-NET-1 */
        in4(a, 0xc6120000u, 15) ||                                /* 198.18/15 benchmarking */
        in4(a, 0xc6336400u, 24) ||                                /* 198.51.100/24 TEST-NET-2 */
        in4(a, 0xcb007100u, 24) ||                                /* 203.0.113/24 TEST-NET-3 */
        in4(a, 0xc0586300u, 24))                                  /* 192.88.99/24 6to4 relay */
        return NETADDR_RESERVED;
    return NETADDR_PUBLIC;
}

static uint32_t v4_at(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool zeros(const uint8_t *p, int n) {
    for (int i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

netaddr_class tool_netaddr_classify_v6(const uint8_t a[16]) {
    static const uint8_t metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
                                         0,    0,    0,    0,    0, 0, 0x02, 0x54};
    if (memcmp(a, metadata, 16) == 0) return NETADDR_METADATA;    /* fd00:ec2::254 */
    if (zeros(a, 10) && a[10] == 0xff && a[11] == 0xff)           /* ::ffff:a.b.c.d mapped */
        return tool_netaddr_classify_v4(v4_at(a + 12));
    if (zeros(a, 12)) {
        if (zeros(a + 12, 3) && a[15] == 0) return NETADDR_UNSPECIFIED;   /* :: */
        if (zeros(a + 12, 3) && a[15] == 1) return NETADDR_LOOPBACK;      /* ::1 */
        return tool_netaddr_classify_v4(v4_at(a + 12));                /* ::a.b.c.d compatible */
    }
    /* ::ffff:0:a.b.c.d (SIIT translated) */
    if (zeros(a, 8) && a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0)
        return tool_netaddr_classify_v4(v4_at(a + 12));
    /* 64:ff9b::/96 NAT64 and 64:ff9b:1::/48 local-use NAT64 */
    if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) {
        if (zeros(a + 4, 8)) return tool_netaddr_classify_v4(v4_at(a + 12));
        if (a[4] == 0 && a[5] == 1) return NETADDR_RESERVED;
    }
    if (a[0] == 0x20 && a[1] == 0x02) return tool_netaddr_classify_v4(v4_at(a + 2));  /* 6to4 */
    if (a[0] == 0xff) return NETADDR_MULTICAST;                   /* ff00::/8 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return NETADDR_LINK_LOCAL;   /* fe80::/10 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return NETADDR_UNIQUE_LOCAL; /* fec0::/10 */
    if ((a[0] & 0xfe) == 0xfc) return NETADDR_UNIQUE_LOCAL;       /* fc00::/7 */
    if (a[0] == 0x01 && a[1] == 0x00 && zeros(a + 2, 6)) return NETADDR_RESERVED;  /* 100::/64 */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return NETADDR_RESERVED;                                  /* 2001:db8::/32 docs */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] == 0x00)
        return NETADDR_RESERVED;                                  /* 2001::/32 Teredo */
    if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0x00)
        return NETADDR_RESERVED;                                  /* 3fff::/20 docs */
    if ((a[0] & 0xe0) != 0x20) return NETADDR_RESERVED;           /* outside 2000::/3 */
    return NETADDR_PUBLIC;
}

netaddr_class tool_netaddr_classify_sockaddr(const struct sockaddr *sa) {
    if (!sa) return NETADDR_INVALID;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return tool_netaddr_classify_v4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return tool_netaddr_classify_v6(in6->sin6_addr.s6_addr);
    }
    return NETADDR_INVALID;
}

bool tool_netaddr_allowed(netaddr_class cls, bool allow_loopback) {
    return cls == NETADDR_PUBLIC || (allow_loopback && cls == NETADDR_LOOPBACK);
}

/* One inet_aton part: decimal, 0-prefixed octal or 0x-prefixed hex; false if malformed. */
static bool parse_part(const char *s, size_t n, uint64_t *out) {
    if (n == 0) return false;
    int base = 10;
    if (n > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16, s += 2, n -= 2;
        if (n == 0) { *out = 0; return true; }  /* "0x" alone is 0, as inet_aton reads it */
    } else if (n > 1 && s[0] == '0') {
        base = 8, s++, n--;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d;
        char ch = s[i];
        if (ch >= '0' && ch <= '9') d = ch - '0';
        else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
        else return false;
        if (d >= base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
        if (v > 0xffffffffu) return false;
    }
    *out = v;
    return true;
}

static bool parse_v4_any(const char *s, uint32_t *out) {
    uint64_t parts[4];
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 4 || !parse_part(p, len, &parts[n])) return false;
        n++;
        if (!dot) break;
        p = dot + 1;
        if (*p == '\0') break;  /* a trailing dot is allowed, as in "127.0.0.1." */
    }
    /* a.b.c.d; a.b.c (c: 16 bits); a.b (b: 24 bits); a (32 bits) */
    uint64_t v;
    switch (n) {
    case 1: v = parts[0]; break;
    case 2:
        if (parts[0] > 0xff || parts[1] > 0xffffff) return false;
        v = parts[0] << 24 | parts[1];
        break;
    case 3:
        if (parts[0] > 0xff || parts[1] > 0xff || parts[2] > 0xffff) return false;
        v = parts[0] << 24 | parts[1] << 16 | parts[2];
        break;
    default:
        for (int i = 0; i < 4; i++)
            if (parts[i] > 0xff) return false;
        v = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3];
    }
    *out = (uint32_t)v;
    return true;
}

bool tool_netaddr_parse_literal(const char *host, int *family, uint32_t *v4, uint8_t v6[16]) {
    if (!host || !*host) return false;
    char buf[96];
    size_t n = strlen(host);
    if (host[0] == '[') {
        if (n < 3 || host[n - 1] != ']') return false;
        host++, n -= 2;
    }
    if (n >= sizeof buf) return false;
    memcpy(buf, host, n);
    buf[n] = '\0';
    if (strchr(buf, ':')) {
        char *zone = strchr(buf, '%');
        if (zone) *zone = '\0';
        struct in6_addr a;
        if (inet_pton(AF_INET6, buf, &a) != 1) return false;
        memcpy(v6, a.s6_addr, 16);
        *family = 6;
        return true;
    }
    if (!parse_v4_any(buf, v4)) return false;
    *family = 4;
    return true;
}
