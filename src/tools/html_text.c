/* html_text.c — HTML to readable text in one linear scan; see html_text.h. */
#include "tools/html_text.h"
#include "core/strbuf.h"
#include "core/utf8.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Output with whitespace collapsing: pending separators are emitted lazily, before the next
 * visible character, so trailing space never accumulates. */
typedef struct sink {
    strbuf out;
    int pending;      /* 0 none, 1 space, 2 newline, 3 blank line */
} sink;

static void sink_raw(sink *s, const char *p, size_t n) {
    if (!s->out.failed) strbuf_append(&s->out, p, n);
}

static void sink_break(sink *s, int kind) {
    if (kind > s->pending) s->pending = kind;
}

/* Visible text: whitespace becomes a pending space, other bytes flush what is pending. */
static void sink_text(sink *s, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            sink_break(s, 1);
            continue;
        }
        if (s->pending && s->out.len > 0) {
            if (s->pending == 1) sink_raw(s, " ", 1);
            else if (s->pending == 2) sink_raw(s, "\n", 1);
            else sink_raw(s, "\n\n", 2);
        }
        s->pending = 0;
        size_t j = i + 1;
        while (j < n && p[j] != ' ' && p[j] != '\t' && p[j] != '\n' && p[j] != '\r' &&
               p[j] != '\f' && p[j] != '\v')
            j++;
        sink_raw(s, p + i, j - i);
        i = j - 1;
    }
}

typedef struct entity {
    const char *name;
    unsigned cp;
} entity;

static const entity entities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},        {"quot", '"'},
    {"apos", '\''},    {"nbsp", 0xA0},     {"copy", 0xA9},     {"reg", 0xAE},
    {"trade", 0x2122}, {"mdash", 0x2014},  {"ndash", 0x2013},  {"hellip", 0x2026},
    {"lsquo", 0x2018}, {"rsquo", 0x2019},  {"ldquo", 0x201C},  {"rdquo", 0x201D},
    {"laquo", 0xAB},   {"raquo", 0xBB},    {"bull", 0x2022},   {"middot", 0xB7},
    {"euro", 0x20AC},  {"pound", 0xA3},    {"yen", 0xA5},      {"cent", 0xA2},
    {"sect", 0xA7},    {"para", 0xB6},     {"deg", 0xB0},      {"plusmn", 0xB1},
    {"times", 0xD7},   {"divide", 0xF7},   {"frac12", 0xBD},   {"frac14", 0xBC},
    {"frac34", 0xBE},  {"sup2", 0xB2},     {"sup3", 0xB3},     {"micro", 0xB5},
    {"larr", 0x2190},  {"rarr", 0x2192},   {"uarr", 0x2191},   {"darr", 0x2193},
    {"harr", 0x2194},  {"le", 0x2264},     {"ge", 0x2265},     {"ne", 0x2260},
    {"asymp", 0x2248}, {"infin", 0x221E},  {"minus", 0x2212},  {"prime", 0x2032},
    {"alpha", 0x3B1},  {"beta", 0x3B2},    {"gamma", 0x3B3},   {"delta", 0x3B4},
    {"pi", 0x3C0},     {"sigma", 0x3C3},   {"mu", 0x3BC},      {"lambda", 0x3BB},
    {"thinsp", 0x2009}, {"ensp", 0x2002},  {"emsp", 0x2003},   {"zwnj", 0x200C},
    {"zwj", 0x200D},   {"shy", 0xAD},      {"iexcl", 0xA1},    {"iquest", 0xBF},
    {"eacute", 0xE9},  {"egrave", 0xE8},   {"aacute", 0xE1},   {"agrave", 0xE0},
    {"oacute", 0xF3},  {"uacute", 0xFA},   {"iacute", 0xED},   {"ntilde", 0xF1},
    {"ccedil", 0xE7},  {"auml", 0xE4},     {"ouml", 0xF6},     {"uuml", 0xFC},
    {"Auml", 0xC4},    {"Ouml", 0xD6},     {"Uuml", 0xDC},     {"szlig", 0xDF},
};

/* Decodes the entity starting at p[0] == '&'; returns the bytes consumed (0 if it is not a
 * recognized entity) and writes the UTF-8 for it to out[4], its length to *out_len. */
static size_t decode_entity(const char *p, size_t n, char out[4], size_t *out_len) {
    if (n < 3 || p[0] != '&') return 0;
    if (p[1] == '#') {
        size_t i = 2;
        unsigned long v = 0;
        bool hex = i < n && (p[i] == 'x' || p[i] == 'X');
        if (hex) i++;
        size_t digits = 0;
        for (; i < n && digits < 8; i++, digits++) {
            char c = p[i];
            int d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
            else break;
            v = v * (hex ? 16 : 10) + (unsigned long)d;
        }
        if (digits == 0) return 0;
        if (i < n && p[i] == ';') i++;
        if (v == 0 || v > 0x10FFFF) v = 0xFFFD;
        *out_len = utf8_encode((unsigned)v, out);
        return i;
    }
    size_t i = 1;
    while (i < n && i < 12 && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                               (p[i] >= '0' && p[i] <= '9')))
        i++;
    size_t name_len = i - 1;
    if (name_len == 0) return 0;
    for (size_t k = 0; k < sizeof entities / sizeof entities[0]; k++) {
        if (strlen(entities[k].name) == name_len && memcmp(entities[k].name, p + 1, name_len) == 0) {
            *out_len = utf8_encode(entities[k].cp, out);
            return i < n && p[i] == ';' ? i + 1 : i;
        }
    }
    return 0;
}

/* Appends text with entities decoded (nbsp becomes an ordinary space). */
static void sink_decoded(sink *s, const char *p, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '&') continue;
        char u[4];
        size_t ulen, used = decode_entity(p + i, n - i, u, &ulen);
        if (!used) continue;
        sink_text(s, p + start, i - start);
        if (ulen == 2 && (unsigned char)u[0] == 0xC2 && (unsigned char)u[1] == 0xA0) sink_text(s, " ", 1);
        else sink_text(s, u, ulen);
        i += used - 1;
        start = i + 1;
    }
    sink_text(s, p + start, n - start);
}

char *tool_html_decode_entities(const char *text, size_t len) {
    sink s = {0};
    sink_decoded(&s, text, len);
    sink_raw(&s, "", 0);
    if (s.out.failed) {
        free(s.out.data);
        return NULL;
    }
    return s.out.data;
}

static bool name_is(const char *name, size_t n, const char *want) {
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static bool in_list(const char *name, size_t n, const char *const *list) {
    for (; *list; list++)
        if (name_is(name, n, *list)) return true;
    return false;
}

/* Elements dropped together with their content. */
static const char *const raw_skip[] = {"script", "style", "noscript", "template", "svg",
                                       "iframe", "object", "canvas", "math", NULL};
/* Elements that start or end a line; the paragraph-like ones leave a blank line. */
static const char *const blocks[] = {"br", "div", "li", "tr", "dt", "dd", "section",
                                     "article", "header", "footer", "nav", "aside", "main",
                                     "ul", "ol", "dl", "table", "thead", "tbody", "form",
                                     "figure", "figcaption", "address", "hr", "option", NULL};
static const char *const paragraphs[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6",
                                         "blockquote", "pre", NULL};

/* Finds the end of a tag starting at p[i] == '<', honoring quoted attribute values;
 * returns the index just past '>' (or n). */
static size_t tag_end(const char *p, size_t n, size_t i) {
    char quote = 0;
    for (i++; i < n; i++) {
        char c = p[i];
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '>') {
            return i + 1;
        }
    }
    return n;
}

/* Finds "</name" (case-insensitive) at or after i; returns its index or n. */
static size_t find_close(const char *p, size_t n, size_t i, const char *name, size_t name_len) {
    for (; i + 2 + name_len <= n; i++) {
        if (p[i] == '<' && p[i + 1] == '/' && strncasecmp(p + i + 2, name, name_len) == 0) {
            char after = i + 2 + name_len < n ? p[i + 2 + name_len] : '>';
            if (after == '>' || after == ' ' || after == '\t' || after == '\n' || after == '\r' ||
                after == '/')
                return i;
        }
    }
    return n;
}

static char *collapse(const char *p, size_t n) {
    sink s = {0};
    sink_decoded(&s, p, n);
    sink_raw(&s, "", 0);
    if (s.out.failed) {
        free(s.out.data);
        return NULL;
    }
    return s.out.data;
}

int tool_html_to_text(const char *html, size_t len, html_text *out) {
    memset(out, 0, sizeof *out);
    sink s = {0};
    const char *p = html;
    size_t n = len, i = 0, text_start = 0;
    bool in_head = false;
    while (i < n) {
        if (p[i] != '<') {
            i++;
            continue;
        }
        /* Only '<' followed by a letter, '/', '!' or '?' starts markup; "a < b" is text. */
        char next = i + 1 < n ? p[i + 1] : ' ';
        if (!((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || next == '/' ||
              next == '!' || next == '?')) {
            i++;
            continue;
        }
        /* Text before this '<'. */
        if (!in_head) sink_decoded(&s, p + text_start, i - text_start);
        text_start = i;
        if (i + 3 < n && memcmp(p + i, "<!--", 4) == 0) {
            const char *end = NULL;
            for (size_t k = i + 4; k + 2 < n; k++)
                if (p[k] == '-' && p[k + 1] == '-' && p[k + 2] == '>') {
                    end = p + k;
                    break;
                }
            i = end ? (size_t)(end - p) + 3 : n;
            text_start = i;
            continue;
        }
        if (i + 1 < n && (p[i + 1] == '!' || p[i + 1] == '?')) {  /* doctype, CDATA, PI */
            if (i + 8 < n && memcmp(p + i, "<![CDATA[", 9) == 0) {
                size_t k = i + 9;
                while (k + 2 < n && memcmp(p + k, "]]>", 3) != 0) k++;
                if (!in_head) sink_text(&s, p + i + 9, (k < n ? k : n) - (i + 9));
                i = k + 3 < n ? k + 3 : n;
            } else {
                i = tag_end(p, n, i);
            }
            text_start = i;
            continue;
        }
        bool closing = i + 1 < n && p[i + 1] == '/';
        size_t name_start = i + (closing ? 2 : 1), k = name_start;
        while (k < n && ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= 'A' && p[k] <= 'Z') ||
                         (p[k] >= '0' && p[k] <= '9')))
            k++;
        size_t name_len = k - name_start;
        if (name_len == 0 || !((p[name_start] >= 'a' && p[name_start] <= 'z') ||
                               (p[name_start] >= 'A' && p[name_start] <= 'Z'))) {
            /* "</ " or "</3": not a tag; keep it as text (text_start stays at the '<'). */
            i++;
            continue;
        }
        const char *name = p + name_start;
        size_t end = tag_end(p, n, i);
        if (!closing && in_list(name, name_len, raw_skip)) {
            size_t close = find_close(p, n, end, name, name_len);
            i = close < n ? tag_end(p, n, close) : n;
        } else if (!closing && name_is(name, name_len, "title")) {
            size_t close = find_close(p, n, end, name, name_len);
            if (!out->title) out->title = collapse(p + end, (close < n ? close : n) - end);
            i = close < n ? tag_end(p, n, close) : n;
        } else {
            if (name_is(name, name_len, "head")) in_head = !closing;
            else if (name_is(name, name_len, "body")) in_head = false;
            bool para = in_list(name, name_len, paragraphs);
            bool block = !para && in_list(name, name_len, blocks);
            if (para || block) in_head = false;  /* a page that never closed its head */
            if (para) {
                sink_break(&s, 3);
            } else if (block) {
                sink_break(&s, 2);
                if (!closing && name_is(name, name_len, "li")) {
                    if (s.out.len > 0) sink_raw(&s, "\n", 1);
                    s.pending = 0;
                    sink_raw(&s, "- ", 2);
                }
            } else if (name_is(name, name_len, "td") || name_is(name, name_len, "th")) {
                if (!closing) sink_text(&s, " ", 1);
            }
            i = end;
        }
        text_start = i;
    }
    if (!in_head && text_start < n) sink_decoded(&s, p + text_start, n - text_start);
    sink_raw(&s, "", 0);
    if (s.out.failed) {
        free(s.out.data);
        tool_html_text_free(out);
        return -1;
    }
    /* Strip leading whitespace, then make sure the text is valid UTF-8. */
    size_t start = 0;
    while (start < s.out.len && (s.out.data[start] == ' ' || s.out.data[start] == '\n')) start++;
    out->text = utf8_sanitize(s.out.data + start, s.out.len - start, &out->len);
    free(s.out.data);
    if (out->title) {
        char *t = utf8_sanitize(out->title, strlen(out->title), NULL);
        free(out->title);
        out->title = t;
        if (!t) {
            tool_html_text_free(out);
            return -1;
        }
        if (!*t) {
            free(out->title);
            out->title = NULL;
        }
    }
    if (!out->text) {
        tool_html_text_free(out);
        return -1;
    }
    return 0;
}

void tool_html_text_free(html_text *t) {
    if (!t) return;
    free(t->text);
    free(t->title);
    memset(t, 0, sizeof *t);
}
