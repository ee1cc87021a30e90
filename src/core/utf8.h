/*
 * utf8.h — making bytes safe to hand on as text. Model tokens are bytes (a character may be
 * split over two tokens, a random-weight model emits invalid sequences); tools see program
 * output, web pages and server replies in any encoding. JSON (jansson) and terminals need
 * whole, valid characters, so text is checked here before it leaves the library. Pure
 * functions.
 */
#ifndef EMBER_CORE_UTF8_H
#define EMBER_CORE_UTF8_H

#include <stddef.h>

/* Decodes one valid sequence at s[0..len); returns its length (1..4) and the code point, or
 * 0 when the bytes there are not a valid sequence (overlong forms and surrogates included). */
size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp);

/* Encodes a code point (surrogates and values above U+10FFFF become U+FFFD) into out[4];
 * returns the byte count. */
size_t utf8_encode(unsigned cp, char *out);

/* Length of the longest prefix of s[0..len) that does not end inside an incomplete (but so
 * far valid) multi-byte sequence: the bytes after it may be completed by the next piece. */
size_t utf8_complete_prefix(const char *s, size_t len);

/* A NUL-terminated copy of s[0..len) with every invalid sequence (and every NUL byte)
 * replaced by U+FFFD; *out_len (if not NULL) receives its length. NULL on allocation
 * failure. The caller frees it. */
char *utf8_sanitize(const char *s, size_t len, size_t *out_len);

/* The largest n <= max such that text[0..n) does not end inside a UTF-8 sequence
 * (text[0..len) is assumed valid; when len <= max the answer is len). */
size_t utf8_cut(const char *text, size_t len, size_t max);

#endif
