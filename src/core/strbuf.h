/*
 * strbuf.h — a growable NUL-terminated byte string. The buffer owns `data`; a zeroed strbuf
 * is empty and valid. Appends report allocation failure by returning false and leave the
 * string as it was.
 */
#ifndef EMBER_CORE_STRBUF_H
#define EMBER_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *data;   /* NUL-terminated when len > 0 or after any append; may be NULL when empty */
    size_t len;   /* bytes, excluding the NUL */
    size_t cap;   /* allocated bytes */
} strbuf;

bool strbuf_append(strbuf *sb, const char *text, size_t len);
bool strbuf_puts(strbuf *sb, const char *text);
bool strbuf_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents, never NULL ("" when empty). */
const char *strbuf_str(const strbuf *sb);
void strbuf_clear(strbuf *sb);
void strbuf_free(strbuf *sb);
/* Hands the buffer to the caller (free() it) and leaves the strbuf empty. */
char *strbuf_take(strbuf *sb);

#endif
