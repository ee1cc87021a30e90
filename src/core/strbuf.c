/* strbuf.c — growable strings (see strbuf.h). */
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool strbuf_reserve(strbuf *sb, size_t extra) {
    if (extra > (size_t)-1 / 2 - sb->len || (sb->limit && sb->len + extra > sb->limit)) {
        sb->failed = true;
        return false;
    }
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap) return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) cap *= 2;
    char *data = realloc(sb->data, cap);
    if (!data) {
        sb->failed = true;
        return false;
    }
    sb->data = data;
    sb->cap = cap;
    return true;
}

bool strbuf_append(strbuf *sb, const void *data, size_t len) {
    if (!strbuf_reserve(sb, len)) return false;
    if (len) memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
    return true;
}

bool strbuf_puts(strbuf *sb, const char *text) { return strbuf_append(sb, text, strlen(text)); }

bool strbuf_printf(strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->failed = true;
        return false;
    }
    if (!strbuf_reserve(sb, (size_t)n)) return false;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
    return true;
}

const char *strbuf_str(const strbuf *sb) { return sb->data ? sb->data : ""; }

void strbuf_consume(strbuf *sb, size_t n) {
    if (n >= sb->len) {
        strbuf_clear(sb);
        return;
    }
    memmove(sb->data, sb->data + n, sb->len - n);
    sb->len -= n;
    sb->data[sb->len] = '\0';
}

void strbuf_clear(strbuf *sb) {
    sb->len = 0;
    if (sb->data) sb->data[0] = '\0';
}

void strbuf_free(strbuf *sb) {
    free(sb->data);
    *sb = (strbuf){.limit = sb->limit};
}

char *strbuf_take(strbuf *sb) {
    char *data = sb->data;
    if (!data) data = calloc(1, 1);
    *sb = (strbuf){.limit = sb->limit};
    return data;
}
