/*
 * artifacts.c — see artifacts.h. The answer is read line by line as Markdown fences are:
 * an opening line of three or more backticks or tildes (indented at most three spaces), an
 * info string, and a closing line of the same character at least as long.
 */
#include "server/artifacts.h"
#include "core/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char PROMPT[] =
    "# Artifacts\n"
    "When the user asks for something visual or interactive (a game, a chart, a dashboard, a small "
    "site, a diagram, an interactive nutrition or muscle-activation display), write it as one "
    "complete, self-contained HTML document in a fenced code block whose info string names it:\n"
    "```html title=\"A short title\"\n<!doctype html>\n<html>…</html>\n```\n"
    "(or a standalone SVG image in a ```svg block). The user sees it running beside your answer, in "
    "a sandboxed frame without network access: put all CSS and JavaScript inline, load nothing by "
    "URL (no CDNs, web fonts or remote images: draw with inline SVG, canvas or data: URLs), and do "
    "not rely on cookies, localStorage or submitting forms. Keep the prose around it short.";

const char *srv_artifacts_prompt(void) { return PROMPT; }

bool srv_artifacts_add_prompt(srv_request *req) {
    for (int i = 0; i < req->n_messages; i++) {
        srv_message *m = &req->messages[i];
        if (m->role != EMBER_ROLE_SYSTEM) continue;
        strbuf text = {0};
        strbuf_puts(&text, m->content);
        if (m->content[0]) strbuf_puts(&text, "\n\n");
        strbuf_puts(&text, PROMPT);
        if (text.failed) {
            strbuf_free(&text);
            return false;
        }
        free(m->content);
        m->content = strbuf_take(&text);
        return true;
    }
    srv_message *grown = realloc(req->messages, sizeof *grown * (size_t)(req->n_messages + 1));
    if (!grown) return false;
    req->messages = grown;
    char *content = strdup(PROMPT);
    if (!content) return false;
    memmove(&req->messages[1], &req->messages[0], sizeof *grown * (size_t)req->n_messages);
    memset(&req->messages[0], 0, sizeof req->messages[0]);
    req->messages[0].role = EMBER_ROLE_SYSTEM;
    req->messages[0].content = content;
    req->n_messages++;
    return true;
}

/* ---- extraction ------------------------------------------------------------------------ */

typedef struct line {
    const char *start;
    size_t len;        /* without the newline */
} line;

/* The line at *pos (advancing past it); false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, line *out) {
    if (*pos >= len) return false;
    const char *nl = memchr(text + *pos, '\n', len - *pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    out->start = text + *pos;
    out->len = end - *pos;
    if (out->len && out->start[out->len - 1] == '\r') out->len--;
    *pos = nl ? end + 1 : len;
    return true;
}

/* A fence line: its character, its length and (opening) where its info string starts. */
static bool fence(const line *l, char *ch, size_t *n, const char **info, size_t *info_len) {
    size_t i = 0;
    while (i < l->len && i < 3 && l->start[i] == ' ') i++;
    if (i >= l->len || (l->start[i] != '`' && l->start[i] != '~')) return false;
    char c = l->start[i];
    size_t k = i;
    while (k < l->len && l->start[k] == c) k++;
    if (k - i < 3) return false;
    *ch = c;
    *n = k - i;
    while (k < l->len && (l->start[k] == ' ' || l->start[k] == '\t')) k++;
    *info = l->start + k;
    *info_len = l->len - k;
    /* a backtick fence's info string may not contain a backtick */
    return c != '`' || !memchr(*info, '`', *info_len);
}

static bool is_closing(const line *l, char ch, size_t n) {
    char c;
    size_t m, info_len;
    const char *info;
    if (!fence(l, &c, &m, &info, &info_len) || c != ch || m < n) return false;
    for (size_t i = 0; i < info_len; i++)
        if (info[i] != ' ' && info[i] != '\t') return false;
    return true;
}

/* The first occurrence of needle (lowercase) in hay, ignoring case. */
static const char *find_ci(const char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (strncasecmp(hay + i, needle, k) == 0) return hay + i;
    return NULL;
}

/* Whole characters of text (at most max bytes, stopping before a newline), trimmed. */
static json_t *title_text(const char *text, size_t n, size_t max) {
    while (n && (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')) text++, n--;
    const char *nl = memchr(text, '\n', n);
    if (nl) n = (size_t)(nl - text);
    if (n > max) {
        n = max;
        while (n && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    }
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\r')) n--;
    if (n == 0) return NULL;
    json_t *s = json_stringn(text, n);
    return s;   /* NULL for invalid UTF-8: the default title is used */
}

/* title="…" (or '…') in an info string. */
static json_t *info_title(const char *info, size_t n) {
    const char *at = find_ci(info, n, "title=");
    if (!at) return NULL;
    const char *v = at + 6, *end = info + n;
    if (v >= end) return NULL;
    char quote = *v;
    if (quote == '"' || quote == '\'') {
        v++;
        const char *close = memchr(v, quote, (size_t)(end - v));
        return close ? title_text(v, (size_t)(close - v), 120) : NULL;
    }
    const char *space = v;
    while (space < end && *space != ' ' && *space != '\t') space++;
    return title_text(v, (size_t)(space - v), 120);
}

/* <title>…</title> of a document. */
static json_t *document_title(const char *doc, size_t n) {
    const char *open = find_ci(doc, n, "<title>");
    if (!open) return NULL;
    const char *text = open + 7;
    const char *close = find_ci(text, n - (size_t)(text - doc), "</title>");
    return close ? title_text(text, (size_t)(close - text), 120) : NULL;
}

/* The artifact type of a block with this language and body, or NULL. */
static const char *artifact_type(const char *lang, size_t lang_len, const char *body, size_t n) {
    size_t i = 0;
    while (i < n && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) i++;
    const char *doc = body + i;
    size_t rest = n - i;
    bool html = (lang_len == 4 && strncasecmp(lang, "html", 4) == 0) || (lang_len == 3 && strncasecmp(lang, "htm", 3) == 0);
    bool svg = lang_len == 3 && strncasecmp(lang, "svg", 3) == 0;
    bool xml = lang_len == 3 && strncasecmp(lang, "xml", 3) == 0;
    if (html) {
        if ((rest >= 9 && strncasecmp(doc, "<!doctype", 9) == 0) || (rest >= 5 && strncasecmp(doc, "<html", 5) == 0))
            return "html";
        return NULL;
    }
    if (svg || xml) {
        if (rest >= 5 && strncasecmp(doc, "<?xml", 5) == 0) {
            const char *end = memchr(doc, '>', rest);
            if (!end) return NULL;
            rest -= (size_t)(end + 1 - doc);
            doc = end + 1;
            while (rest && (*doc == ' ' || *doc == '\t' || *doc == '\r' || *doc == '\n')) doc++, rest--;
        }
        if (rest >= 4 && strncasecmp(doc, "<svg", 4) == 0 && find_ci(doc, rest, "</svg>")) return "svg";
    }
    return NULL;
}

json_t *srv_artifacts_extract(const char *answer, size_t len) {
    json_t *list = json_array();
    if (!list) return NULL;
    size_t pos = 0;
    line l;
    while (json_array_size(list) < SRV_ARTIFACTS_MAX && next_line(answer, len, &pos, &l)) {
        char ch;
        size_t n, info_len;
        const char *info;
        if (!fence(&l, &ch, &n, &info, &info_len)) continue;
        size_t lang_len = 0;
        while (lang_len < info_len && info[lang_len] != ' ' && info[lang_len] != '\t' && info[lang_len] != '{')
            lang_len++;
        size_t body_start = pos, body_end = pos;
        bool closed = false;
        while (next_line(answer, len, &pos, &l)) {
            if (is_closing(&l, ch, n)) {
                closed = true;
                break;
            }
            body_end = pos;
        }
        if (!closed) break;   /* an unfinished block (a stopped or cut answer) is no artifact */
        const char *body = answer + body_start;
        size_t body_len = body_end - body_start;
        if (body_len && body[body_len - 1] == '\n') body_len--;
        const char *type = artifact_type(info, lang_len, body, body_len);
        if (!type) continue;
        json_t *content = json_stringn(body, body_len);
        if (!content) continue;   /* not UTF-8: nothing a browser should run */
        json_t *title = info_title(info + lang_len, info_len - lang_len);
        if (!title) title = document_title(body, body_len);
        if (!title) title = json_string(strcmp(type, "svg") == 0 ? "SVG image" : "HTML document");
        json_t *a = json_pack("{s:s, s:o, s:o}", "type", type, "title", title, "content", content);
        if (!a || json_array_append_new(list, a) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}
