/*
 * utf8.h — making arbitrary bytes safe to hand on as text. Tools see program output, web
 * pages and server replies in any encoding; what they return must be valid UTF-8 (JSON
 * requires it) and must never end in half a character when cut at a size limit.
 */
#ifndef EMBER_TOOLS_UTF8_H
#define EMBER_TOOLS_UTF8_H

#include <stddef.h>

/* A NUL-terminated copy of text[0..len) with every invalid sequence (including overlong
 * forms, surrogates and NUL bytes) replaced by U+FFFD; *out_len (if not NULL) receives its
 * length. NULL on allocation failure. The caller frees it. */
char *tool_utf8_sanitize(const char *text, size_t len, size_t *out_len);

/* The largest n <= max such that text[0..n) does not end inside a UTF-8 sequence
 * (text[0..len) is assumed valid; when len <= max the answer is len). */
size_t tool_utf8_cut(const char *text, size_t len, size_t max);

/* Decodes one valid sequence at s[0..len); returns its length (1..4) and the code point, or
 * 0 when the bytes there are not a valid sequence. */
size_t tool_utf8_decode(const unsigned char *s, size_t len, unsigned *cp);

/* Encodes a code point (surrogates and values above U+10FFFF become U+FFFD) into out[4];
 * returns the byte count. */
size_t tool_utf8_encode(unsigned cp, char *out);

#endif
