/*
 * hub.h — the Hugging Face Hub's API as ember uses it (also any mirror with the same layout).
 *
 * The data:
 *   1. GET {endpoint}/api/models/{owner}/{name} answers a JSON object with the repository's
 *      id, "sha" (the commit of main), "gated" (false, "auto" or "manual") and "siblings"
 *      ([{"rfilename": path}]). Errors carry the headers X-Error-Code (RepoNotFound,
 *      GatedRepo, RevisionNotFound, EntryNotFound) and X-Error-Message. Unauthenticated
 *      requests for a missing or private repository answer 401, not 404.
 *   2. GET {endpoint}/api/models/{owner}/{name}/tree/{revision}?recursive=true answers a JSON
 *      array of entries {"type": "file"|"directory", "path", "size", "oid" (git blob SHA-1),
 *      "lfs": {"oid" (SHA-256 of the bytes), "size", "pointerSize"}}. Long listings continue on
 *      the page named by the Link header's rel="next" URL.
 *   3. GET {endpoint}/{owner}/{name}/resolve/{revision}/{path} answers the file, usually by a
 *      redirect to a CDN that honours Range requests.
 *
 * Parsing (hub_json.c) is pure and fuzzed; requests (hub_http.c) go through libcurl.
 */
#ifndef EMBER_PULL_HUB_H
#define EMBER_PULL_HUB_H

#include "ember.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One file of a repository listing. */
typedef struct hub_file {
    char *path;          /* repository path, checked by pull_path_is_safe(); owned */
    uint64_t size;       /* bytes */
    char sha256[65];     /* lowercase hex SHA-256 (LFS files), or "" */
    char git_oid[41];    /* lowercase hex git blob id, or "" */
} hub_file;

typedef struct hub_file_list {
    hub_file *items;   /* owned; each item's path too */
    size_t count;
    size_t cap;
} hub_file_list;

void hub_file_list_free(hub_file_list *list);

/* What the model-info endpoint tells us. */
typedef struct hub_model_info {
    char sha[41];        /* commit of the default branch, or "" when not given */
    bool gated;          /* the repository asks users to accept terms before downloading */
} hub_model_info;

/* Parses a model-info response. Fails with EMBER_ERR_FORMAT when it is not a JSON object. */
ember_status hub_parse_model_info(const char *json, size_t len, hub_model_info *info,
                                  ember_error *err);

/* Parses one tree page and appends its files to `list` (directories are skipped, and so are
 * entries whose path is unsafe or whose size or hashes are malformed). Fails with
 * EMBER_ERR_FORMAT when the body is not a JSON array, EMBER_ERR_NOMEM on allocation. */
ember_status hub_parse_tree(const char *json, size_t len, hub_file_list *list,
                            ember_error *err);

/* Finds the rel="next" URL in a Link header value; false when there is none or it does not
 * fit in `size`. */
bool hub_link_next(const char *link, char *url, size_t size);

/* A connection to one endpoint. */
typedef struct hub_client {
    char endpoint[512];        /* without a trailing slash */
    char auth_header[1100];    /* "Authorization: Bearer …", or "" without a token */
    const volatile int *cancel; /* stop when nonzero; may be NULL */
} hub_client;

/* Fills the client from explicit values or $HF_ENDPOINT / $HF_TOKEN. */
ember_status hub_client_init(hub_client *client, const char *endpoint, const char *token,
                             const volatile int *cancel, ember_error *err);

/* GET api/models/{repo}. */
ember_status hub_get_model_info(const hub_client *client, const char *repo,
                                hub_model_info *info, ember_error *err);

/* GET the whole recursive tree of `repo` at `revision`, following pagination. */
ember_status hub_get_tree(const hub_client *client, const char *repo, const char *revision,
                          hub_file_list *list, ember_error *err);

/* The download URL of a file (path segments percent-encoded). */
bool hub_resolve_url(const hub_client *client, const char *repo, const char *revision,
                     const char *path, char *url, size_t size);

/* Turns an HTTP failure into an ember_error with a message that says what to do.
 * `what` names the request ("repository", or a file path); `code` is the HTTP status,
 * `x_error_code` and `x_error_message` the Hub's headers (may be empty). */
ember_status hub_http_error(const hub_client *client, const char *repo, const char *what,
                            long code, const char *x_error_code, const char *x_error_message,
                            ember_error *err);

/* Applies the settings every ember request to the Hub shares (user agent, timeouts, the
 * token header list, redirects) to a curl easy handle; `headers` receives the list the
 * caller frees with curl_slist_free_all after the transfer. */
struct curl_slist;
bool hub_curl_setup(const hub_client *client, void *curl, struct curl_slist **headers);

/* One-time libcurl initialization, safe to call from any thread. */
void hub_curl_global_init(void);

#endif
