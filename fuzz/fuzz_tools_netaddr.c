/*
 * fuzz_tools_netaddr.c — the literal-host parser web_fetch uses before connecting, on
 * arbitrary strings. Checks: no crash; an accepted IPv4 literal classifies the same as its
 * dotted-quad form re-parsed; an accepted IPv6 literal round-trips through its bytes.
 */
#include "tools/netaddr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char host[128];
    if (size >= sizeof host) return 0;
    memcpy(host, data, size);
    host[size] = '\0';
    int family;
    uint32_t v4;
    uint8_t v6[16];
    if (!tool_netaddr_parse_literal(host, &family, &v4, v6)) return 0;
    if (family == 4) {
        char dotted[16];
        snprintf(dotted, sizeof dotted, "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 255, (v4 >> 8) & 255, v4 & 255);
        int f2;
        uint32_t again;
        if (!tool_netaddr_parse_literal(dotted, &f2, &again, v6) || f2 != 4 || again != v4) abort();
        if (tool_netaddr_classify_v4(v4) != tool_netaddr_classify_v4(again)) abort();
    } else if (family == 6) {
        char text[INET6_ADDRSTRLEN];
        if (!inet_ntop(AF_INET6, v6, text, sizeof text)) abort();
        int f2;
        uint8_t again[16];
        if (!tool_netaddr_parse_literal(text, &f2, &v4, again) || f2 != 6 || memcmp(again, v6, 16) != 0) abort();
        (void)tool_netaddr_classify_v6(v6);
    } else {
        abort();
    }
    return 0;
}
