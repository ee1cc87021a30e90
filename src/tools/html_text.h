/*
 * html_text.h — readable text from an HTML page, for web_fetch. Not a conforming HTML
 * parser: a single forward scan that is linear in the input and never fails on bad markup.
 *
 *   - <script>, <style>, <noscript>, <template>, <svg>, <head> (except its <title>) and
 *     comments are dropped with their content;
 *   - block elements (p, div, li, h1-h6, tr, br, …) become line breaks, list items get "- ";
 *   - entities are decoded: the common named ones, &#NNN; and &#xHH;;
 *   - whitespace runs collapse to one space, blank lines to one blank line; the result is
 *     trimmed and valid UTF-8 (invalid input bytes become U+FFFD).
 */
#ifndef EMBER_TOOLS_HTML_TEXT_H
#define EMBER_TOOLS_HTML_TEXT_H

#include <stddef.h>

typedef struct html_text {
    char *text;      /* the page's readable text, NUL-terminated */
    size_t len;
    char *title;     /* the <title>, whitespace-collapsed, or NULL */
} html_text;

/* Converts html[0..len). Returns 0, or -1 on allocation failure (*out is then zeroed). */
int tool_html_to_text(const char *html, size_t len, html_text *out);
void tool_html_text_free(html_text *t);

/* Decodes entities in text[0..len) without touching markup (for titles and plain strings);
 * caller frees. NULL on allocation failure. */
char *tool_html_decode_entities(const char *text, size_t len);

#endif
