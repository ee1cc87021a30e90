/*
 * fetch.c — the web_fetch tool: GET an http(s) URL under the address policy (http.h) and
 * return readable text: HTML is reduced to text (html_text.h), other text types are passed
 * through, binary content is refused. Reentrant.
 */
#define _GNU_SOURCE /* strcasestr */
#include "tools/html_text.h"
#include "tools/http.h"
#include "tools/tools_internal.h"
#include "core/utf8.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The media type of a Content-Type value, lowercased, without parameters. */
static void media_type(const char *content_type, char *out, size_t n) {
    size_t i = 0;
    if (content_type) {
        while (*content_type == ' ') content_type++;
        for (; content_type[i] && content_type[i] != ';' && content_type[i] != ' ' && i + 1 < n; i++)
            out[i] = (char)tolower((unsigned char)content_type[i]);
    }
    out[i] = '\0';
}

static bool is_latin1_charset(const char *content_type) {
    if (!content_type) return false;
    const char *cs = strcasestr(content_type, "charset=");
    if (!cs) return false;
    cs += 8;
    if (*cs == '"') cs++;
    return strncasecmp(cs, "iso-8859-1", 10) == 0 || strncasecmp(cs, "latin1", 6) == 0 ||
           strncasecmp(cs, "windows-1252", 12) == 0 || strncasecmp(cs, "us-ascii", 8) == 0;
}

/* Latin-1 bytes as UTF-8; caller frees. */
static char *latin1_to_utf8(const char *s, size_t n, size_t *out_len) {
    char *out = malloc(n * 2 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += utf8_encode((unsigned char)s[i], out + o);
    out[o] = '\0';
    *out_len = o;
    return out;
}

static bool looks_like_html(const char *body, size_t len) {
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i])) i++;
    if (len - i >= 3 && memcmp(body + i, "\xEF\xBB\xBF", 3) == 0) i += 3;
    return (len - i >= 9 && strncasecmp(body + i, "<!doctype", 9) == 0) ||
           (len - i >= 5 && strncasecmp(body + i, "<html", 5) == 0) ||
           (len - i >= 4 && strncasecmp(body + i, "<!--", 4) == 0);
}

static bool is_textual(const char *type) {
    return strncmp(type, "text/", 5) == 0 || strstr(type, "json") || strstr(type, "xml") ||
           strstr(type, "javascript") || strcmp(type, "application/x-www-form-urlencoded") == 0;
}

void tool_fetch_call(const tool_config *cfg, const json_t *args, double deadline,
                     ember_tool_result *res) {
    const char *url;
    double max_chars_arg = 0;
    bool has_max = false;
    if (!tool_arg_string(args, "url", true, &url, res) ||
        !tool_arg_number(args, "max_chars", &max_chars_arg, &has_max, res))
        return;
    size_t max_chars = cfg->fetch_max_chars;
    if (has_max && max_chars_arg >= 1 && max_chars_arg < (double)max_chars) max_chars = (size_t)max_chars_arg;

    http_request req = {
        .url = url,
        .max_bytes = cfg->fetch_max_bytes,
        .max_redirects = cfg->fetch_max_redirects,
        .check_addresses = true,
        .allow_loopback = cfg->fetch_allow_loopback,
        .user_agent = cfg->user_agent,
        .accept = "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
        .deadline = deadline,
    };
    http_response resp;
    char err[512];
    ember_status st = tool_http_get(&req, &resp, err, sizeof err);
    if (st != EMBER_OK) {
        tool_result_fail(res, st, "%s", err);
        return;
    }
    tool_result_detail(res, "url", tool_json_string(url, strlen(url)));
    tool_result_detail(res, "final_url", tool_json_string(resp.final_url, strlen(resp.final_url)));
    tool_result_detail(res, "http_status", json_integer(resp.status));
    if (resp.content_type)
        tool_result_detail(res, "content_type",
                           tool_json_string(resp.content_type, strlen(resp.content_type)));

    char type[128];
    media_type(resp.content_type, type, sizeof type);
    bool html = strcmp(type, "text/html") == 0 || strcmp(type, "application/xhtml+xml") == 0 ||
                ((!type[0] || strcmp(type, "text/plain") == 0) && looks_like_html(resp.body, resp.len));
    bool binary = memchr(resp.body, '\0', resp.len < 4096 ? resp.len : 4096) != NULL;
    if (!html && (binary || (type[0] && !is_textual(type)))) {
        tool_result_fail(res, EMBER_ERR_UNSUPPORTED, "the response is %s, not text (%zu bytes)",
                         type[0] ? type : "binary data", resp.len);
        tool_http_response_free(&resp);
        return;
    }

    char *body = resp.body;
    size_t body_len = resp.len;
    char *converted = NULL;
    if (is_latin1_charset(resp.content_type)) {
        converted = latin1_to_utf8(resp.body, resp.len, &body_len);
        if (converted) body = converted;
        else body_len = resp.len;
    }
    char *text = NULL;
    size_t text_len = 0;
    if (html) {
        html_text ht;
        if (tool_html_to_text(body, body_len, &ht) == 0) {
            text = ht.text, text_len = ht.len;
            if (ht.title) tool_result_detail(res, "title", tool_json_string(ht.title, strlen(ht.title)));
            free(ht.title);
        }
    } else {
        text = utf8_sanitize(body, body_len, &text_len);
    }
    free(converted);
    bool truncated = resp.truncated;
    if (!text) {
        tool_result_fail(res, EMBER_ERR_NOMEM, "out of memory");
    } else {
        size_t keep = utf8_cut(text, text_len, max_chars);
        if (keep < text_len) truncated = true;
        tool_result_set_output(res, text, keep);
        tool_result_detail(res, "truncated", json_boolean(truncated));
        if (resp.status >= 400)
            tool_result_fail(res, EMBER_ERR_IO, "HTTP status %ld from %.200s", resp.status,
                             resp.final_url);
    }
    free(text);
    tool_http_response_free(&resp);
}
