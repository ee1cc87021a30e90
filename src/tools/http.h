/*
 * http.h — one HTTP(S) GET through libcurl with ember's limits, shared by web_fetch and
 * web_search. When check_addresses is set, every socket curl opens (the first connection,
 * each redirect's, each address it tries) is checked against the netaddr policy just
 * before it is created, so the address checked is the address connected to, whatever DNS
 * answered. Proxies from the environment are ignored; only http and https are spoken.
 * Reentrant: each call has its own curl handle.
 */
#ifndef EMBER_TOOLS_HTTP_H
#define EMBER_TOOLS_HTTP_H

#include "ember.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct http_request {
    const char *url;
    size_t max_bytes;          /* body bytes kept; the transfer stops after them (truncated) */
    int max_redirects;         /* redirects followed; 0 = none (a redirect is then an error) */
    bool check_addresses;      /* refuse connections the netaddr policy does not allow */
    bool allow_loopback;       /* with check_addresses: loopback is allowed too */
    const char *user_agent;    /* NULL = "ember/VERSION" */
    const char *accept;        /* Accept header, or NULL */
    double deadline;           /* monotonic seconds (ember_now_s) */
} http_request;

typedef struct http_response {
    long status;               /* HTTP status of the last response */
    char *final_url;           /* URL after redirects */
    char *content_type;        /* Content-Type as sent, or NULL */
    char *body;                /* NUL-terminated (the NUL is not counted in len) */
    size_t len;
    bool truncated;            /* the body was longer than max_bytes */
} http_response;

/* Performs the request. On failure returns EMBER_ERR_INVALID (bad URL or scheme, or a
 * refused address: the message names the address and why), EMBER_ERR_TIMEOUT or
 * EMBER_ERR_IO, with a message in err; *resp is then empty. */
ember_status tool_http_get(const http_request *req, http_response *resp, char *err, size_t err_size);
void tool_http_response_free(http_response *resp);

/* Checks a URL before any connection: scheme http or https, a host, and (when the host is
 * an IP literal in any notation) the address policy. Returns EMBER_OK or EMBER_ERR_INVALID
 * with a message. */
ember_status tool_http_check_url(const char *url, bool check_addresses, bool allow_loopback,
                            char *err, size_t err_size);

#endif
