/*
 * json_text.h — JSON written the way the chat templates' `tojson` writes it, so prompts match
 * the text the models were trained on byte for byte: keys in their order, UTF-8 kept as is,
 * control characters as lowercase \u00xx, and every real number in its shortest form that
 * reads back to the same double (0.1 stays "0.1"; jansson's own dump would print
 * "0.10000000000000001"). Non-compact output uses Python's default separators ", " and ": ".
 */
#ifndef EMBER_CHAT_JSON_TEXT_H
#define EMBER_CHAT_JSON_TEXT_H

#include "core/strbuf.h"

#include <jansson.h>
#include <stdbool.h>

/* Appends `value` (any JSON value) to out; compact uses "," and ":" separators. False when
 * out of memory. */
bool json_text_write(strbuf *out, const json_t *value, bool compact);
/* The same as a new string (free() it); NULL when out of memory. */
char *json_text_dump(const json_t *value, bool compact);

/* The shortest "%.Ng" form of d (N = 1..17) that strtod reads back as d. */
void json_text_real(double d, char out[32]);
/* A real as the templates print a bare number (Python's str, jinja's float to string):
 * the shortest form, with ".0" when it would otherwise read as an integer. */
void json_text_real_scalar(double d, char out[32]);

#endif
