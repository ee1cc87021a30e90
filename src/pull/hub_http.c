/*
 * hub_http.c — requests to the Hub's API (see hub.h) and the error messages its answers turn
 * into. Blocking, one curl easy handle per request; safe to call from any thread.
 */
#include "pull/hub.h"
#include "pull/util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define HUB_JSON_LIMIT (64u << 20) /* largest API answer we accept */
#define HUB_MAX_PAGES 1000         /* a tree listing longer than this is not a model repo */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void hub_curl_global_init(void) { pthread_once(&curl_once, curl_init_once); }

ember_status hub_client_init(hub_client *client, const char *endpoint, const char *token,
                             const volatile int *cancel, ember_error *err) {
    memset(client, 0, sizeof *client);
    client->cancel = cancel;
    if (!endpoint || !*endpoint) endpoint = getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = HUB_DEFAULT_ENDPOINT;
    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)
        return ember_fail(err, EMBER_ERR_INVALID,
                         "HF_ENDPOINT must start with http:// or https:// (got '%s')", endpoint);
    if (!pull_format(client->endpoint, sizeof client->endpoint, "%s", endpoint))
        return ember_fail(err, EMBER_ERR_INVALID, "HF_ENDPOINT is too long");
    size_t n = strlen(client->endpoint);
    while (n > 0 && client->endpoint[n - 1] == '/') client->endpoint[--n] = '\0';

    if (!token || !*token) token = getenv("HF_TOKEN");
    if (token && *token) {
        for (const char *t = token; *t; t++)
            if (!isgraph((unsigned char)*t))
                return ember_fail(err, EMBER_ERR_INVALID, "HF_TOKEN contains spaces or control characters");
        if (!pull_format(client->auth_header, sizeof client->auth_header,
                         "Authorization: Bearer %s", token))
            return ember_fail(err, EMBER_ERR_INVALID, "HF_TOKEN is too long");
    }
    return EMBER_OK;
}

bool hub_curl_setup(const hub_client *client, void *curl, struct curl_slist **headers) {
    *headers = NULL;
    if (client->auth_header[0]) {
        /* libcurl drops a custom Authorization header when a redirect leaves the host, so the
         * token reaches the endpoint only, never the CDN a download is redirected to. */
        *headers = curl_slist_append(NULL, client->auth_header);
        if (!*headers) return false;
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "ember/0.1 (pull)");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A connection that moves less than 1 byte/s for a minute is dead. */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, ""); /* gzip for the JSON listings */
    return true;
}

/* Percent-encodes one path segment into out. */
static bool append_segment(char *out, size_t size, size_t *len, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
        size_t need = plain ? 1 : 3;
        if (*len + need >= size) return false;
        if (plain) {
            out[(*len)++] = (char)c;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[c >> 4];
            out[(*len)++] = hex[c & 15];
        }
    }
    out[*len] = '\0';
    return true;
}

bool hub_resolve_url(const hub_client *client, const char *repo, const char *revision,
                     const char *path, char *url, size_t size) {
    if (!pull_format(url, size, "%s/%s/resolve/%s/", client->endpoint, repo, revision))
        return false;
    size_t len = strlen(url);
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!append_segment(url, size, &len, p, n)) return false;
        if (!slash) return true;
        if (len + 1 >= size) return false;
        url[len++] = '/';
        url[len] = '\0';
        p = slash + 1;
    }
}

ember_status hub_http_error(const hub_client *client, const char *repo, const char *what,
                            long code, const char *x_error_code, const char *x_error_message,
                            ember_error *err) {
    bool have_token = client->auth_header[0] != '\0';
    const char *xc = x_error_code ? x_error_code : "";
    const char *xm = x_error_message ? x_error_message : "";
    bool is_repo = strcmp(what, "repository") == 0;

    if (strcmp(xc, "GatedRepo") == 0 || (code == 403 && !have_token)) {
        if (!have_token)
            return ember_fail(err, EMBER_ERR_INVALID,
                             "%s is gated: accept its terms at %s/%s and set HF_TOKEN to an "
                             "access token of that account (HTTP %ld)",
                             repo, client->endpoint, repo, code);
        return ember_fail(err, EMBER_ERR_INVALID,
                         "%s is gated and the account of HF_TOKEN has no access yet: accept its "
                         "terms at %s/%s (HTTP %ld)",
                         repo, client->endpoint, repo, code);
    }
    if (code == 401 && have_token && strcmp(xc, "RepoNotFound") != 0)
        return ember_fail(err, EMBER_ERR_INVALID,
                         "the Hub rejected HF_TOKEN (HTTP 401%s%s): check that the token is "
                         "valid", *xm ? ": " : "", xm);
    if (strcmp(xc, "RepoNotFound") == 0 || (code == 401 && is_repo) || (code == 404 && is_repo)) {
        if (!have_token)
            return ember_fail(err, EMBER_ERR_NOT_FOUND,
                             "repository %s not found on %s (check the name; if it is private "
                             "or gated, set HF_TOKEN to an access token that can read it)",
                             repo, client->endpoint);
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "repository %s not found on %s", repo,
                         client->endpoint);
    }
    if (code == 401 || code == 403)
        return ember_fail(err, EMBER_ERR_INVALID,
                         "access to %s of %s was refused (HTTP %ld%s%s); set HF_TOKEN to an "
                         "access token that can read it",
                         what, repo, code, *xm ? ": " : "", xm);
    if (strcmp(xc, "RevisionNotFound") == 0)
        return ember_fail(err, EMBER_ERR_NOT_FOUND,
                         "the revision of %s changed while pulling; run the same command again",
                         repo);
    if (code == 404 || strcmp(xc, "EntryNotFound") == 0)
        return ember_fail(err, EMBER_ERR_NOT_FOUND,
                         "%s is no longer in %s (the repository changed while pulling); run the "
                         "same command again",
                         what, repo);
    if (code == 429)
        return ember_fail(err, EMBER_ERR_IO, "the Hub is rate-limiting requests (HTTP 429); wait "
                         "a few minutes and run the same command again");
    return ember_fail(err, EMBER_ERR_IO, "the Hub answered HTTP %ld for %s of %s%s%s", code, what,
                     repo, *xm ? ": " : "", xm);
}

/* One API request's answer. */
typedef struct hub_answer {
    strbuf body;           /* response body, up to HUB_JSON_LIMIT */
    long code;               /* final HTTP status */
    char x_error_code[64];   /* X-Error-Code of the final response, or "" */
    char x_error_message[256];
    char link[2048];         /* Link header of the final response, or "" */
    const volatile int *cancel;
} hub_answer;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    hub_answer *a = user;
    if (a->cancel && *a->cancel) return 0;
    return strbuf_append(&a->body, data, size * nmemb) ? size * nmemb : 0;
}

/* Keeps the headers the Hub's answers are read by (errors, the next page's link). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *user) {
    hub_answer *a = user;
    size_t len = size * nmemb;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after a redirect) */
        a->x_error_code[0] = a->x_error_message[0] = a->link[0] = '\0';
        return len;
    }
    if (!pull_header_value(data, len, "X-Error-Code", a->x_error_code, sizeof a->x_error_code) &&
        !pull_header_value(data, len, "X-Error-Message", a->x_error_message, sizeof a->x_error_message))
        pull_header_value(data, len, "Link", a->link, sizeof a->link);
    return len;
}

static ember_status hub_get(const hub_client *client, const char *url, hub_answer *a,
                            ember_error *err) {
    hub_curl_global_init();
    memset(a, 0, sizeof *a);
    a->body.limit = HUB_JSON_LIMIT;
    a->cancel = client->cancel;
    CURL *curl = curl_easy_init();
    if (!curl) return ember_fail(err, EMBER_ERR_NOMEM, "cannot start an HTTP request");
    struct curl_slist *headers = NULL;
    char curl_err[CURL_ERROR_SIZE] = "";
    if (!hub_curl_setup(client, curl, &headers)) {
        curl_easy_cleanup(curl);
        return ember_fail(err, EMBER_ERR_NOMEM, "cannot start an HTTP request");
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->code);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    if (client->cancel && *client->cancel) {
        strbuf_free(&a->body);
        return ember_fail(err, EMBER_ERR_CANCELLED, "cancelled");
    }
    if (rc != CURLE_OK) {
        strbuf_free(&a->body);
        if (rc == CURLE_WRITE_ERROR)
            return ember_fail(err, EMBER_ERR_FORMAT, "the answer from %s is larger than %u MB",
                             client->endpoint, HUB_JSON_LIMIT >> 20);
        return ember_fail(err, EMBER_ERR_IO, "cannot reach %s: %s", client->endpoint,
                         curl_err[0] ? curl_err : curl_easy_strerror(rc));
    }
    return EMBER_OK;
}

/* GET a repository's API page: EMBER_OK with the body in a->body (the caller frees it), or the
 * failure (network, or the Hub's error status as hub_http_error words it). */
static ember_status hub_get_page(const hub_client *client, const char *url, const char *repo, hub_answer *a,
                                 ember_error *err) {
    ember_status st = hub_get(client, url, a, err);
    if (st != EMBER_OK) return st;
    if (a->code == 200) return EMBER_OK;
    st = hub_http_error(client, repo, "repository", a->code, a->x_error_code, a->x_error_message, err);
    strbuf_free(&a->body);
    return st;
}

ember_status hub_get_model_info(const hub_client *client, const char *repo,
                                hub_model_info *info, ember_error *err) {
    char url[1024];
    if (!pull_format(url, sizeof url, "%s/api/models/%s", client->endpoint, repo))
        return ember_fail(err, EMBER_ERR_INVALID, "repository name too long");
    hub_answer a;
    ember_status st = hub_get_page(client, url, repo, &a, err);
    if (st != EMBER_OK) return st;
    if (hub_parse_model_info(strbuf_str(&a.body), a.body.len, info, NULL) != EMBER_OK)
        st = ember_fail(err, EMBER_ERR_FORMAT,
                       "%s did not answer with the Hub's JSON for %s (is HF_ENDPOINT a Hugging "
                       "Face Hub or mirror?)", client->endpoint, repo);
    strbuf_free(&a.body);
    return st;
}

ember_status hub_get_tree(const hub_client *client, const char *repo, const char *revision,
                          hub_file_list *list, ember_error *err) {
    char url[2048];
    if (!pull_format(url, sizeof url, "%s/api/models/%s/tree/%s?recursive=true",
                     client->endpoint, repo, revision))
        return ember_fail(err, EMBER_ERR_INVALID, "repository name too long");
    for (int page = 0; page < HUB_MAX_PAGES; page++) {
        hub_answer a;
        ember_status st = hub_get_page(client, url, repo, &a, err);
        if (st != EMBER_OK) return st;
        st = hub_parse_tree(strbuf_str(&a.body), a.body.len, list, err);
        strbuf_free(&a.body);
        if (st != EMBER_OK) return st;
        char next[2048];
        if (!hub_link_next(a.link, next, sizeof next)) return EMBER_OK;
        if (next[0] == '/') { /* relative: on the endpoint's origin */
            const char *host = strstr(client->endpoint, "://") + 3;
            const char *path = strchr(host, '/');
            int origin = path ? (int)(path - client->endpoint) : (int)strlen(client->endpoint);
            if (!pull_format(url, sizeof url, "%.*s%s", origin, client->endpoint, next))
                return ember_fail(err, EMBER_ERR_FORMAT, "the Hub's next-page link is too long");
        } else if (!pull_format(url, sizeof url, "%s", next)) {
            return ember_fail(err, EMBER_ERR_FORMAT, "the Hub's next-page link is too long");
        }
        /* Follow only pages on the same endpoint: the token must not travel elsewhere. */
        const char *host = strstr(client->endpoint, "://") + 3;
        const char *slash = strchr(host, '/');
        size_t n = slash ? (size_t)(slash - client->endpoint) : strlen(client->endpoint);
        if (strncmp(url, client->endpoint, n) != 0 || (url[n] != '/' && url[n] != '?'))
            return ember_fail(err, EMBER_ERR_FORMAT,
                             "the Hub's file list continues on another host (%.200s)", url);
    }
    return ember_fail(err, EMBER_ERR_FORMAT, "the file list of %s has more than %d pages", repo,
                     HUB_MAX_PAGES);
}
