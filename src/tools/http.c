/* http.c — a bounded, address-checked HTTP GET over libcurl; see http.h. */
#include "tools/http.h"
#include "tools/netaddr.h"
#include "tools/tools_internal.h"

#include <curl/curl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_status = CURLE_OK;

static void curl_init(void) { curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct http_ctx {
    const http_request *req;
    http_response *resp;
    strbuf body;                /* the body so far, up to req->max_bytes */
    char refused[160];          /* why the last refused socket was refused */
} http_ctx;

static void describe_sockaddr(const struct sockaddr *sa, char *buf, size_t n) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    snprintf(buf, n, "%s", ip);
}

static curl_socket_t open_socket(void *user, curlsocktype purpose, struct curl_sockaddr *addr) {
    http_ctx *ctx = user;
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    if (ctx->req->check_addresses) {
        netaddr_class cls = tool_netaddr_classify_sockaddr(&addr->addr);
        if (!tool_netaddr_allowed(cls, ctx->req->allow_loopback)) {
            char ip[INET6_ADDRSTRLEN];
            describe_sockaddr(&addr->addr, ip, sizeof ip);
            snprintf(ctx->refused, sizeof ctx->refused,
                     "refused to connect to %s: a %s address", ip, tool_netaddr_class_name(cls));
            return CURL_SOCKET_BAD;
        }
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    http_ctx *ctx = user;
    http_response *r = ctx->resp;
    size_t n = size * nmemb;
    size_t room = ctx->req->max_bytes > ctx->body.len ? ctx->req->max_bytes - ctx->body.len : 0;
    size_t take = n < room ? n : room;
    if (take && !strbuf_append(&ctx->body, data, take)) return 0;
    if (take < n) {
        r->truncated = true;
        return 0;  /* stop the transfer: CURLE_WRITE_ERROR, which tool_http_get expects */
    }
    return n;
}

ember_status tool_http_check_url(const char *url, bool check_addresses, bool allow_loopback,
                            char *err, size_t err_size) {
    pthread_once(&curl_once, curl_init);
    CURLU *u = curl_url();
    if (!u) {
        snprintf(err, err_size, "out of memory");
        return EMBER_ERR_NOMEM;
    }
    char *scheme = NULL, *host = NULL;
    ember_status st = EMBER_OK;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        snprintf(err, err_size, "not a valid absolute URL: %.200s", url);
        st = EMBER_ERR_INVALID;
    } else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        snprintf(err, err_size, "only http and https URLs can be fetched, not %.20s", scheme);
        st = EMBER_ERR_INVALID;
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        snprintf(err, err_size, "the URL has no host: %.200s", url);
        st = EMBER_ERR_INVALID;
    } else if (check_addresses) {
        int family;
        uint32_t v4;
        uint8_t v6[16];
        if (tool_netaddr_parse_literal(host, &family, &v4, v6)) {
            netaddr_class cls = family == 4 ? tool_netaddr_classify_v4(v4) : tool_netaddr_classify_v6(v6);
            if (!tool_netaddr_allowed(cls, allow_loopback)) {
                snprintf(err, err_size, "refused to connect to %.100s: a %s address", host,
                         tool_netaddr_class_name(cls));
                st = EMBER_ERR_INVALID;
            }
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return st;
}

ember_status tool_http_get(const http_request *req, http_response *resp, char *err, size_t err_size) {
    memset(resp, 0, sizeof *resp);
    pthread_once(&curl_once, curl_init);
    if (curl_init_status != CURLE_OK) {
        snprintf(err, err_size, "libcurl failed to initialize: %s",
                 curl_easy_strerror(curl_init_status));
        return EMBER_ERR_IO;
    }
    ember_status st = tool_http_check_url(req->url, req->check_addresses, req->allow_loopback, err,
                                     err_size);
    if (st != EMBER_OK) return st;
    int ms = tool_ms_left(req->deadline);
    if (ms <= 0) {
        snprintf(err, err_size, "timed out before the request was sent");
        return EMBER_ERR_TIMEOUT;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, err_size, "out of memory");
        return EMBER_ERR_NOMEM;
    }
    http_ctx ctx = {.req = req, .resp = resp};
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    if (req->accept) {
        char line[256];
        snprintf(line, sizeof line, "Accept: %s", req->accept);
        headers = curl_slist_append(headers, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)(req->max_redirects > 0 ? req->max_redirects : 0));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)ms);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, req->user_agent ? req->user_agent : "ember/0.1");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    /* Connections are never shared between calls: each call has its own handle. */
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);

    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_WRITE_ERROR && resp->truncated) rc = CURLE_OK;
    if (rc == CURLE_OK) {
        char *s = NULL;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &s) == CURLE_OK && s)
            resp->final_url = strdup(s);
        s = NULL;
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK && s)
            resp->content_type = strdup(s);
        resp->len = ctx.body.len;
        resp->body = strbuf_take(&ctx.body);
        if (!resp->body || !resp->final_url) {
            snprintf(err, err_size, "out of memory");
            st = EMBER_ERR_NOMEM;
        }
    } else if (ctx.refused[0] && (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                                  rc == CURLE_OPERATION_TIMEDOUT)) {
        char *s = NULL;
        curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &s);
        snprintf(err, err_size, "%s (while fetching %.200s)", ctx.refused, s ? s : req->url);
        st = EMBER_ERR_INVALID;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, err_size, "timed out after %d ms", ms);
        st = EMBER_ERR_TIMEOUT;
    } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
        snprintf(err, err_size, "too many redirects (at most %d are followed)",
                 req->max_redirects > 0 ? req->max_redirects : 0);
        st = EMBER_ERR_IO;
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
        snprintf(err, err_size, "redirected to a URL that is not http or https");
        st = EMBER_ERR_INVALID;
    } else {
        snprintf(err, err_size, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
        st = EMBER_ERR_IO;
    }
    strbuf_free(&ctx.body);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (st != EMBER_OK) tool_http_response_free(resp);
    return st;
}

void tool_http_response_free(http_response *resp) {
    if (!resp) return;
    free(resp->final_url);
    free(resp->content_type);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}
