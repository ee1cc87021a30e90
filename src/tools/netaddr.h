/*
 * netaddr.h — which network addresses web_fetch may connect to. Pure functions: nothing
 * here opens a connection or resolves a name.
 *
 * An address is classified into one category; only NETADDR_PUBLIC is allowed by default,
 * and NETADDR_LOOPBACK additionally when the caller allows loopback (tests). IPv6 forms
 * that embed an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d,
 * NAT64 64:ff9b::/96, 6to4 2002::/16) are classified by the embedded address, so that
 * ::ffff:127.0.0.1 is loopback and 2002:a9fe:a9fe:: is the metadata service.
 */
#ifndef EMBER_TOOLS_NETADDR_H
#define EMBER_TOOLS_NETADDR_H

#include <stdbool.h>
#include <stdint.h>

struct sockaddr;

typedef enum netaddr_class {
    NETADDR_PUBLIC,         /* globally routable unicast */
    NETADDR_LOOPBACK,       /* 127/8, ::1 */
    NETADDR_PRIVATE,        /* 10/8, 172.16/12, 192.168/16 */
    NETADDR_SHARED,         /* 100.64/10 carrier-grade NAT */
    NETADDR_LINK_LOCAL,     /* 169.254/16, fe80::/10 */
    NETADDR_METADATA,       /* cloud metadata: 169.254.169.254, fd00:ec2::254 */
    NETADDR_UNSPECIFIED,    /* 0.0.0.0 (and 0/8), :: */
    NETADDR_MULTICAST,      /* 224/4, ff00::/8 */
    NETADDR_UNIQUE_LOCAL,   /* fc00::/7 (and the deprecated site-local fec0::/10) */
    NETADDR_RESERVED,       /* 240/4, broadcast, 192.0.0/24, 198.18/15, documentation, … */
    NETADDR_INVALID,        /* not an IPv4 or IPv6 socket address */
} netaddr_class;

/* A short name for messages: "public", "loopback", "private", … */
const char *tool_netaddr_class_name(netaddr_class cls);

/* v4 is in host byte order (127.0.0.1 is 0x7f000001). */
netaddr_class tool_netaddr_classify_v4(uint32_t v4);
/* v6 is the 16 bytes of the address in network order. */
netaddr_class tool_netaddr_classify_v6(const uint8_t v6[16]);
/* AF_INET or AF_INET6; anything else is NETADDR_INVALID. */
netaddr_class tool_netaddr_classify_sockaddr(const struct sockaddr *sa);

/* Whether a connection to an address of this class is permitted. */
bool tool_netaddr_allowed(netaddr_class cls, bool allow_loopback);

/* Parses a URL host that is an IP literal, the way resolvers do: IPv6 with or without
 * brackets (a "%zone" suffix is ignored) and IPv4 in every inet_aton form — dotted with 1 to
 * 4 parts, each decimal, octal (leading 0) or hex (0x), e.g. "2130706433", "0x7f.1",
 * "0177.0.0.1". On success sets *family (4 or 6) and v4 or v6 and returns true; returns
 * false for host names and malformed literals. */
bool tool_netaddr_parse_literal(const char *host, int *family, uint32_t *v4, uint8_t v6[16]);

#endif
