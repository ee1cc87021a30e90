/* utf8.c — UTF-8 validation and repair (see utf8.h). */
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* Bytes in the sequence a lead byte starts, or 0 if it cannot start one. */
static int sequence_length(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* Length of a valid sequence at s (n bytes available): >0 valid, 0 invalid, -1 incomplete. */
static int valid_at(const unsigned char *s, size_t n) {
    int len = sequence_length(s[0]);
    if (len == 0) return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return -1;
        if ((s[i] & 0xC0) != 0x80) return 0;
    }
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))) return 0;
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))) return 0;
    return len;
}

size_t utf8_complete_prefix(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        int n = valid_at(u + i, len - i);
        if (n < 0) return i;
        i += n > 0 ? (size_t)n : 1;
    }
    return len;
}

char *utf8_sanitize(const char *s, size_t len) {
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int n = valid_at(u + i, len - i);
        if (n > 0 && !(n == 1 && u[i] == 0)) {
            memcpy(out + o, u + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}
