/*
 * strbuf.h — the growable NUL-terminated byte string every module uses. The buffer owns
 * `data`; a zeroed strbuf is empty and valid (set `limit` to bound it). An append that cannot
 * allocate, or that would pass the limit, leaves the string as it was, sets `failed` and
 * returns false, so a caller may append many times and check once.
 */
#ifndef EMBER_CORE_STRBUF_H
#define EMBER_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *data;    /* NUL-terminated after any append; NULL while nothing was appended */
    size_t len;    /* bytes, excluding the NUL */
    size_t cap;    /* allocated bytes */
    size_t limit;  /* most bytes it may hold; 0 = no limit (kept by clear, free and take) */
    bool failed;   /* an append ran out of memory or past the limit */
} strbuf;

bool strbuf_append(strbuf *sb, const void *data, size_t len);
bool strbuf_puts(strbuf *sb, const char *text);
bool strbuf_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents, never NULL ("" when empty). */
const char *strbuf_str(const strbuf *sb);
/* Drops the first n bytes. */
void strbuf_consume(strbuf *sb, size_t n);
void strbuf_clear(strbuf *sb);
void strbuf_free(strbuf *sb);
/* Hands the buffer to the caller (free() it; NULL only when out of memory) and leaves the
 * strbuf empty. */
char *strbuf_take(strbuf *sb);

#endif
