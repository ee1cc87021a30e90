/* utf8.c — UTF-8 validation, repair and safe cutting (see utf8.h). */
#include "core/utf8.h"

#include <stdbool.h>
#include <stdlib.h>

size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp) {
    if (len == 0) return 0;
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, c &= 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, c &= 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return n;
}

size_t utf8_encode(unsigned cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* True when s[0..len) is the valid start of a sequence that needs more bytes than len. */
static bool incomplete_at(const unsigned char *s, size_t len) {
    unsigned char c = s[0];
    size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
    if (len >= need) return false;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return false;
    /* The second byte narrows the lead byte's range (no overlong forms, no surrogates). */
    if (len >= 2 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
                     (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)))
        return false;
    return true;
}

size_t utf8_complete_prefix(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        if (n == 0 && incomplete_at(u + i, len - i)) return i;
        i += n > 0 ? n : 1;
    }
    return len;
}

char *utf8_sanitize(const char *s, size_t len, size_t *out_len) {
    /* Each bad byte grows to at most 3 bytes (U+FFFD). */
    if (len > ((size_t)-1 - 1) / 3) return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        if (n == 0 || cp == 0) {
            o += utf8_encode(0xFFFD, out + o);
            i++;
        } else {
            for (size_t k = 0; k < n; k++) out[o++] = (char)u[i + k];
            i += n;
        }
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return out;
}

size_t utf8_cut(const char *text, size_t len, size_t max) {
    if (len <= max) return len;
    size_t n = max;
    /* Step back over continuation bytes to the start of the character that straddles. */
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    return n;
}
