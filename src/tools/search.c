/*
 * search.c — the web_search tool: one query to a SearxNG-compatible JSON endpoint
 * (GET <search_url>?q=<query>&format=json) and its results as numbered text plus a
 * structured list. The endpoint is the operator's own configuration, so the address
 * policy of web_fetch does not apply to it (it is typically a SearxNG on this host).
 */
#include "tools/http.h"
#include "tools/tools_internal.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *field(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

void tool_search_call(const tool_config *cfg, const json_t *args, double deadline,
                      ember_tool_result *res) {
    if (!cfg->search_url) {
        tool_result_fail(res, EMBER_ERR_UNSUPPORTED,
                         "web_search is off: no search endpoint is configured");
        return;
    }
    const char *query;
    double max_arg = 0;
    bool has_max = false;
    if (!tool_arg_string(args, "query", true, &query, res) ||
        !tool_arg_number(args, "max_results", &max_arg, &has_max, res))
        return;
    if (!*query) {
        tool_result_fail(res, EMBER_ERR_INVALID, "the query is empty");
        return;
    }
    int max_results = cfg->search_max_results;
    if (has_max && max_arg >= 1 && max_arg < max_results) max_results = (int)max_arg;

    char *q = curl_easy_escape(NULL, query, 0);
    if (!q) {
        tool_result_fail(res, EMBER_ERR_NOMEM, "out of memory");
        return;
    }
    size_t n = strlen(cfg->search_url) + strlen(q) + 32;
    char *url = malloc(n);
    if (!url) {
        curl_free(q);
        tool_result_fail(res, EMBER_ERR_NOMEM, "out of memory");
        return;
    }
    snprintf(url, n, "%s%cq=%s&format=json", cfg->search_url,
             strchr(cfg->search_url, '?') ? '&' : '?', q);
    curl_free(q);

    http_request req = {
        .url = url,
        .max_bytes = 4u << 20,
        .max_redirects = 3,
        .check_addresses = false,
        .user_agent = cfg->user_agent,
        .accept = "application/json",
        .deadline = deadline,
    };
    http_response resp;
    char err[512];
    ember_status st = tool_http_get(&req, &resp, err, sizeof err);
    free(url);
    if (st != EMBER_OK) {
        tool_result_fail(res, st, "search endpoint: %s", err);
        return;
    }
    json_error_t jerr;
    json_t *doc = resp.status < 400 ? json_loadb(resp.body, resp.len, 0, &jerr) : NULL;
    json_t *results = json_object_get(doc, "results");
    if (resp.status >= 400 || !json_is_array(results)) {
        tool_result_fail(res, EMBER_ERR_IO, "search endpoint answered %s (HTTP %ld)",
                         resp.status >= 400 ? "with an error" : "with something other than search JSON",
                         resp.status);
        json_decref(doc);
        tool_http_response_free(&resp);
        return;
    }
    tool_http_response_free(&resp);

    json_t *list = json_array();
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    if (!list || !out) {
        json_decref(list);
        json_decref(doc);
        if (out) fclose(out);
        free(text);
        tool_result_fail(res, EMBER_ERR_NOMEM, "out of memory");
        return;
    }
    size_t i;
    json_t *item;
    int count = 0;
    json_array_foreach(results, i, item) {
        if (count >= max_results) break;
        if (!json_is_object(item)) continue;
        const char *title = field(item, "title"), *link = field(item, "url");
        const char *snippet = field(item, "content");
        if (!*link) continue;
        count++;
        fprintf(out, "%s%d. %s\n   %s\n", count > 1 ? "\n" : "", count, *title ? title : link, link);
        if (*snippet) fprintf(out, "   %s\n", snippet);
        json_t *r = json_object();
        json_object_set_new(r, "title", json_string(title));
        json_object_set_new(r, "url", json_string(link));
        json_object_set_new(r, "snippet", json_string(snippet));
        json_array_append_new(list, r);
    }
    if (count == 0) fprintf(out, "No results for \"%s\".\n", query);
    fclose(out);
    tool_result_set_output(res, text, text_len);
    free(text);
    tool_result_detail(res, "query", json_string(query));
    tool_result_detail(res, "results", list);
    json_decref(doc);
}
