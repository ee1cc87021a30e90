/*
 * buf.h — srv_buf, the server's growable byte string. A zeroed srv_buf is empty and valid;
 * `data` is NUL-terminated after any successful append. An append that cannot allocate
 * leaves the string as it was, sets `failed` and returns false, so a caller may append many
 * times and check once.
 */
#ifndef EMBER_SERVER_BUF_H
#define EMBER_SERVER_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct srv_buf {
    char *data;    /* NULL until the first append */
    size_t len;    /* bytes, excluding the NUL */
    size_t cap;    /* allocated bytes */
    bool failed;   /* an append ran out of memory */
} srv_buf;

bool srv_buf_append(srv_buf *b, const void *data, size_t len);
bool srv_buf_puts(srv_buf *b, const char *text);
bool srv_buf_printf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents, never NULL ("" when empty). */
const char *srv_buf_str(const srv_buf *b);
/* Drops the first n bytes. */
void srv_buf_consume(srv_buf *b, size_t n);
void srv_buf_clear(srv_buf *b);
void srv_buf_free(srv_buf *b);
/* Hands the string to the caller (free() it; never NULL unless out of memory). */
char *srv_buf_take(srv_buf *b);

#endif
