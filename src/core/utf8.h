/*
 * utf8.h — UTF-8 hygiene for model output. Tokens are bytes: a character may be split over
 * two tokens and a random-weight model emits invalid sequences. JSON (jansson) and terminals
 * need whole, valid characters, so text is checked here before it leaves the library.
 */
#ifndef EMBER_CORE_UTF8_H
#define EMBER_CORE_UTF8_H

#include <stddef.h>

/* Length of the longest prefix of s[0..len) that does not end inside an incomplete (but so
 * far valid) multi-byte sequence: the bytes after it may be completed by the next piece. */
size_t utf8_complete_prefix(const char *s, size_t len);
/* A copy of s[0..len) in which every invalid byte is replaced by U+FFFD; free() it. */
char *utf8_sanitize(const char *s, size_t len);

#endif
