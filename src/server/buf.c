/* buf.c — see buf.h. */
#include "server/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(srv_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) { b->failed = true; return false; }
        cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (!data) { b->failed = true; return false; }
    b->data = data;
    b->cap = cap;
    return true;
}

bool srv_buf_append(srv_buf *b, const void *data, size_t len) {
    if (!reserve(b, len)) return false;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

bool srv_buf_puts(srv_buf *b, const char *text) { return srv_buf_append(b, text, strlen(text)); }

bool srv_buf_printf(srv_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n)) return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

const char *srv_buf_str(const srv_buf *b) { return b->data ? b->data : ""; }

void srv_buf_consume(srv_buf *b, size_t n) {
    if (n >= b->len) { srv_buf_clear(b); return; }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void srv_buf_clear(srv_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void srv_buf_free(srv_buf *b) {
    free(b->data);
    *b = (srv_buf){0};
}

char *srv_buf_take(srv_buf *b) {
    char *s = b->data ? b->data : strdup("");
    *b = (srv_buf){0};
    return s;
}
