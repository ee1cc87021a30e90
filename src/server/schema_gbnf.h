/*
 * schema_gbnf.h — structured output: a JSON schema (or "any JSON object") turned into a GBNF
 * grammar for llama.cpp's grammar sampler, then wrapped for the mode and chat format so that
 * only the answer channel is constrained to the JSON.
 *
 * Supported: type (one name or an array of them) object (properties, required; other keys
 * are not generated), array (items, minItems, maxItems), string (minLength, maxLength),
 * number, integer, boolean, null, enum, const, anyOf / oneOf, a single-element allOf, and
 * $ref to "#/$defs/…" or "#/definitions/…" (recursion allowed). Ignored: format, pattern,
 * minimum/maximum and other value constraints. Refused (400): a false schema, a $ref
 * elsewhere, nesting deeper than 32, a grammar over 1 MiB.
 */
#ifndef EMBER_SERVER_SCHEMA_GBNF_H
#define EMBER_SERVER_SCHEMA_GBNF_H

#include "core/strbuf.h"
#include "server/request.h"

#include <jansson.h>

/* Appends GBNF rules to `rules` whose rule `answer` matches a JSON text valid for `schema`;
 * schema NULL means any JSON object (response_format json_object). */
bool srv_schema_gbnf(json_t *schema, strbuf *rules, srv_error *err);

/* The whole grammar for a run: `root` opens the channel for `mode` in `chat_format` and then
 * takes the rule `answer` from `rules`. Thinking, and Contemplating's synthesizer, allow up to
 * think_chars characters of reasoning (no '<') before the format's own channel switch. NULL (err set) for an unknown
 * format. */
char *srv_grammar_wrap(const char *rules, ember_mode mode, const char *chat_format, int think_chars,
                       srv_error *err);

#endif
