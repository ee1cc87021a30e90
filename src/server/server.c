/*
 * server.c — ember_server: the engine, the libmicrohttpd daemon (one thread per connection),
 * routing, API-key authentication, the small endpoints (/health, /v1/models, /metrics) and
 * the public key functions. Chat completions live in completion.c, conversations in
 * conversations.c.
 */
#include "server/server.h"
#include "core/error.h"
#include "core/utf8.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

enum { DEFAULT_PORT = 8080, DEFAULT_PARALLEL = 4, DEFAULT_QUEUE = 64, DEFAULT_MAX_AGENTS = EMBER_AGENTS_MAX };
static const size_t DEFAULT_MAX_BODY = 8u << 20;

/* ---- responses ------------------------------------------------------------------------- */

json_t *srv_json_text(const char *text, size_t len) {
    json_t *s = json_stringn(text, len);
    if (s) return s;
    /* invalid UTF-8: keep whole characters, replace the rest */
    size_t n = 0;
    char *clean = utf8_sanitize(text, len, &n);
    s = clean ? json_stringn(clean, n) : NULL;
    free(clean);
    return s ? s : json_string("");
}

enum MHD_Result srv_respond(srv_conn *c, int status, const char *content_type, char *body) {
    if (!body) {
        status = 500;
        content_type = "application/json";
        body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        if (!body) return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == 429 || status == 503) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == 401) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return srv_queue(c, status, r);
}

enum MHD_Result srv_queue(srv_conn *c, int status, struct MHD_Response *r) {
    enum MHD_Result ret = MHD_queue_response(c->connection, (unsigned)status, r);
    MHD_destroy_response(r);
    c->status = status;
    c->answered = true;
    return ret;
}

enum MHD_Result srv_respond_json(srv_conn *c, int status, json_t *value) {
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    return srv_respond(c, status, "application/json", text);
}

enum MHD_Result srv_respond_error(srv_conn *c, const srv_error *err) {
    return srv_respond(c, err->status, "application/json", srv_error_json(err));
}

enum MHD_Result srv_respond_errorf(srv_conn *c, int status, const char *type, const char *code, const char *fmt, ...) {
    srv_error err = {.status = status, .type = type, .code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    return srv_respond_error(c, &err);
}

bool srv_conn_gone(srv_conn *c) {
    if (atomic_load(&c->srv->stopping)) return true;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info) return false;
    struct pollfd p = {.fd = info->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* ---- small endpoints ------------------------------------------------------------------- */

static json_t *model_object(ember_server *s) {
    return json_pack("{s:s, s:s, s:I, s:s, s:{s:s, s:i, s:i}}", "id", s->model_id, "object", "model",
                     "created", (json_int_t)s->created, "owned_by", "ember",
                     "ember", "chat_format", s->chat_format, "n_ctx", s->n_ctx, "max_agents", s->max_agents);
}

static enum MHD_Result handle_models(srv_conn *c, const char *id) {
    ember_server *s = c->srv;
    if (id) {
        if (strcmp(id, s->model_id) != 0)
            return srv_respond_errorf(c, 404, "invalid_request_error", "model_not_found",
                                      "The model '%.200s' does not exist", id);
        return srv_respond_json(c, 200, model_object(s));
    }
    return srv_respond_json(c, 200, json_pack("{s:s, s:[o]}", "object", "list", "data", model_object(s)));
}

/* Per-replica metrics of remote engines (none in-process). */
static void render_replicas(ember_engine *engine, strbuf *out) {
    ember_replica_stats r[16];
    int n = ember_engine_replicas(engine, r, 16);
    if (n > 16) n = 16;
    static const struct {
        const char *name, *type, *help;
    } series[] = {
        {"ember_replica_up", "gauge", "1 while the remote replica answers its health check"},
        {"ember_replica_active_requests", "gauge", "requests in flight on the replica"},
        {"ember_replica_slots", "gauge", "requests the replica takes at once"},
        {"ember_replica_outstanding_tokens", "gauge", "tokens the replica's streams may still produce"},
        {"ember_replica_requests_total", "counter", "requests sent to the replica"},
        {"ember_replica_failures_total", "counter", "requests that failed on the replica (then resumed elsewhere)"},
        {"ember_replica_tokens_total", "counter", "tokens received from the replica"},
    };
    for (size_t k = 0; n > 0 && k < sizeof series / sizeof series[0]; k++) {
        strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", series[k].name, series[k].help, series[k].name, series[k].type);
        for (int i = 0; i < n; i++) {
            long long v = k == 0 ? r[i].healthy : k == 1 ? r[i].active : k == 2 ? r[i].slots
                        : k == 3 ? r[i].outstanding_tokens : k == 4 ? (long long)r[i].requests
                        : k == 5 ? (long long)r[i].failures : (long long)r[i].tokens;
            strbuf_printf(out, "%s{url=\"%s\",engine=\"%s\"} %lld\n", series[k].name, r[i].url, r[i].engine, v);
        }
    }
}

static enum MHD_Result handle_metrics(srv_conn *c) {
    ember_server *s = c->srv;
    srv_gauges g = {.n_ctx = s->kv_split ? s->n_ctx * s->n_seq_max : s->n_ctx, .parallel = s->parallel};
    srv_gate_snapshot(&s->gate, &g.runs_active, &g.seqs_reserved, &g.kv_cells_reserved, &g.queue_depth);
    ember_engine_stats stats;
    ember_engine_get_stats(s->engine, &stats);
    g.seqs_active = stats.seqs_active;
    g.kv_cells_used = stats.kv_cells_used;
    g.kv_cells_cached = stats.kv_cells_cached;
    g.seqs_cached = stats.seqs_cached;
    g.prompt_cache_evictions = stats.prompt_cache_evictions;
    g.preemptions = stats.preemptions;
    g.seqs_cut = stats.seqs_cut;
    g.decode_calls = stats.decode_calls;
    g.tokens_evaluated = stats.tokens_evaluated;
    g.tokens_sampled = stats.tokens_sampled;
    g.sample_seconds = stats.sample_ms / 1e3;
    g.callback_seconds = stats.callback_ms / 1e3;
    g.decode_seconds = stats.decode_ms / 1e3;
    g.max_batch_seqs = stats.max_batch_seqs;
    strbuf out = {0};
    srv_metrics_render(&s->metrics, &g, &out);
    render_replicas(s->engine, &out);
    return srv_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", out.failed ? (strbuf_free(&out), NULL) : strbuf_take(&out));
}

/* ---- the web app's static files --------------------------------------------------------- */

static const char *content_type(const char *path) {
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".json", "application/json"},
        {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},              {".woff", "font/woff"},
        {".ttf", "font/ttf"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0) return types[i][1];
    return "application/octet-stream";
}

/* GET of a file under web_dir: plain names only (no "..", no hidden files). */
static enum MHD_Result handle_static(srv_conn *c, const char *url) {
    const char *rel = strcmp(url, "/") == 0 ? "index.html" : url + 1;
    size_t n = strlen(rel);
    bool ok = n > 0 && n < 200 && rel[0] != '/' &&
              strspn(rel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == n &&
              !strstr(rel, "..") && !strstr(rel, "/.") && rel[0] != '.' && !strstr(rel, "//");
    char path[1400];
    int fd = -1;
    struct stat st;
    if (ok) {
        snprintf(path, sizeof path, "%s/%s", c->srv->web_dir, rel);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return srv_respond_errorf(c, 404, "invalid_request_error", "not_found", "no such file");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(rel));
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    return srv_queue(c, 200, r);
}

/* ---- authentication -------------------------------------------------------------------- */

/* Whether the request may go on: SRV_STORE_OK with c->owner naming whose data it may touch,
 * NOT_FOUND for no valid key, UNAVAILABLE when only the database could say. */
static srv_store_status authenticate(srv_conn *c) {
    ember_server *s = c->srv;
    int db_keys = srv_store_key_count(s->store);
    if (db_keys == 0 && s->n_file_keys == 0 && s->loopback) {
        snprintf(c->owner, sizeof c->owner, "local");
        return SRV_STORE_OK;
    }
    const char *auth = MHD_lookup_connection_value(c->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *key = NULL;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) key = auth + 7;
    if (!key) key = MHD_lookup_connection_value(c->connection, MHD_HEADER_KIND, "x-api-key");
    while (key && *key == ' ') key++;
    size_t len = key ? strlen(key) : 0;
    while (len && key[len - 1] == ' ') len--;
    if (len == 0 || len > 512) return db_keys < 0 ? SRV_STORE_UNAVAILABLE : SRV_STORE_NOT_FOUND;
    char hash[65];
    srv_sha256_hex(key, len, hash);
    bool found = false;
    for (int i = 0; i < s->n_file_keys; i++) {
        if (srv_equal_ct(s->file_keys[i], hash, 64) && !found) {
            found = true;
            snprintf(c->owner, sizeof c->owner, "file:%.16s", hash);
        }
    }
    if (found) return SRV_STORE_OK;
    if (db_keys < 0) return SRV_STORE_UNAVAILABLE;
    return db_keys > 0 ? srv_store_key_check(s->store, hash, c->owner, sizeof c->owner) : SRV_STORE_NOT_FOUND;
}

enum MHD_Result srv_respond_store_error(srv_conn *c, srv_store_status st) {
    if (st == SRV_STORE_UNAVAILABLE)
        return srv_respond_errorf(c, 503, "server_error", "database_unavailable",
                                  "the database cannot be reached; try again shortly");
    return srv_respond_errorf(c, 500, "server_error", "database_error", "the database failed the request");
}

/* ---- routing --------------------------------------------------------------------------- */

static enum MHD_Result route(srv_conn *c, const char *url, const char *method) {
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/health") == 0 || strcmp(url, "/v1/health") == 0) {
        if (!get) return srv_respond_errorf(c, 405, "invalid_request_error", "method_not_allowed", "use GET");
        return srv_respond_json(c, 200, json_pack("{s:s, s:s}", "status", "ok", "model", c->srv->model_id));
    }
    if (get && c->srv->web_dir && strncmp(url, "/v1/", 4) != 0 && strcmp(url, "/metrics") != 0)
        return handle_static(c, url);
    if (c->too_large)
        return srv_respond_errorf(c, 413, "invalid_request_error", "request_too_large",
                                  "the request body is larger than %zu bytes", c->srv->max_body);
    srv_store_status auth = authenticate(c);
    if (auth == SRV_STORE_NOT_FOUND)
        return srv_respond_errorf(c, 401, "authentication_error", "invalid_api_key",
                                  "a valid API key is required (Authorization: Bearer KEY)");
    if (auth != SRV_STORE_OK) return srv_respond_store_error(c, auth);
    if (strcmp(url, "/metrics") == 0) {
        if (!get) return srv_respond_errorf(c, 405, "invalid_request_error", "method_not_allowed", "use GET");
        return handle_metrics(c);
    }
    if (strcmp(url, "/v1/models") == 0 || strncmp(url, "/v1/models/", 11) == 0) {
        if (!get) return srv_respond_errorf(c, 405, "invalid_request_error", "method_not_allowed", "use GET");
        return handle_models(c, url[10] == '/' ? url + 11 : NULL);
    }
    if (strcmp(url, "/v1/ember/info") == 0) {
        if (!get) return srv_respond_errorf(c, 405, "invalid_request_error", "method_not_allowed", "use GET");
        return srv_handle_info(c);
    }
    if (strcmp(url, "/v1/chat/completions") == 0 || strcmp(url, "/chat/completions") == 0) {
        if (!post) return srv_respond_errorf(c, 405, "invalid_request_error", "method_not_allowed", "use POST");
        return srv_handle_completion(c);
    }
    if (strcmp(url, "/v1/conversations") == 0) return srv_handle_conversations(c, method, NULL);
    if (strncmp(url, "/v1/conversations/", 18) == 0 && url[18] && !strchr(url + 18, '/'))
        return srv_handle_conversations(c, method, url + 18);
    return srv_respond_errorf(c, 404, "invalid_request_error", "not_found", "no route %.10s %.200s", method, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    ember_server *s = cls;
    srv_conn *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return MHD_NO;
        c->srv = s;
        c->connection = connection;
        c->t_start = ember_now_s();
        snprintf(c->method, sizeof c->method, "%s", method);
        snprintf(c->path, sizeof c->path, "%s", url);
        *con_cls = c;
        const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > s->max_body) c->too_large = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!c->too_large && c->body.len + *upload_data_size > s->max_body) {
            c->too_large = true;
            strbuf_free(&c->body);
        }
        if (!c->too_large && !strbuf_append(&c->body, upload_data, *upload_data_size)) c->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (c->answered) return MHD_YES;
    return route(c, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    ember_server *s = cls;
    srv_conn *c = *con_cls;
    if (!c) return;
    if (c->job) srv_completion_end(c);
    if (c->status) srv_metrics_request(&s->metrics, c->status);
    if (s->log_requests)
        fprintf(stderr, "ember serve: %s %s %d %.0f ms tokens=%d key=%s%s\n", c->method, c->path, c->status,
                (ember_now_s() - c->t_start) * 1e3, c->tokens, c->owner[0] ? c->owner : "-",
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)");
    strbuf_free(&c->body);
    free(c);
    *con_cls = NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

void ember_server_params_init(ember_server_params *p) {
    memset(p, 0, sizeof *p);
    ember_engine_params_init(&p->engine);
    p->engine.prompt_cache = true;  /* a conversation's next request reuses its prefix */
    p->port = DEFAULT_PORT;
}

ember_status ember_server_default_db(char *path, size_t size, ember_error *err) {
    const char *env = getenv("EMBER_DB");
    const char *data = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && env[0]) n = snprintf(path, size, "%s", env);
    else if (data && data[0]) n = snprintf(path, size, "%s/ember/ember.db", data);
    else if (home && home[0]) n = snprintf(path, size, "%s/.local/share/ember/ember.db", home);
    else return ember_fail(err, EMBER_ERR_NOT_FOUND, "no database path: set EMBER_DB, XDG_DATA_HOME or HOME");
    if (n < 0 || (size_t)n >= size) return ember_fail(err, EMBER_ERR_INVALID, "the database path is too long");
    return EMBER_OK;
}

static ember_status open_store(const char *db_path, srv_store **store, ember_error *err) {
    char path[1024];
    if (!db_path) {
        ember_status status = ember_server_default_db(path, sizeof path, err);
        if (status != EMBER_OK) return status;
        db_path = path;
    }
    return srv_store_open(db_path, store, err);
}

static ember_status load_key_file(ember_server *s, const char *path, ember_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return ember_fail(err, EMBER_ERR_IO, "cannot read the key file %s", path);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *start = line;
        while (*start == ' ' || *start == '\t') start++;
        size_t len = strcspn(start, " \t\r\n");
        if (len == 0) continue;
        char (*keys)[65] = realloc(s->file_keys, sizeof *keys * (size_t)(s->n_file_keys + 1));
        if (!keys) {
            fclose(f);
            return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
        }
        s->file_keys = keys;
        srv_sha256_hex(start, len, s->file_keys[s->n_file_keys++]);
    }
    fclose(f);
    return EMBER_OK;
}

static bool parse_host(const char *host, int port, struct sockaddr_storage *addr, bool *loopback, bool *v6) {
    memset(addr, 0, sizeof *addr);
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        *v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        *v6 = true;
        return true;
    }
    return false;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

ember_status ember_server_create(const ember_server_params *p, ember_server **out, ember_error *err) {
    *out = NULL;
    if (!p || (!p->engine.model_path && p->engine.n_engine_urls == 0))
        return ember_fail(err, EMBER_ERR_INVALID, "no model given");
    if (p->port < 0 || p->port > 65535) return ember_fail(err, EMBER_ERR_INVALID, "the port must be 0-65535");
    if (p->parallel < 0 || p->max_agents < 0 || p->default_max_tokens < 0)
        return ember_fail(err, EMBER_ERR_INVALID, "parallel, agents and token limits must not be negative");
    ember_server *s = calloc(1, sizeof *s);
    if (!s) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    s->parallel = p->parallel ? p->parallel : DEFAULT_PARALLEL;
    s->max_agents = p->max_agents ? p->max_agents : DEFAULT_MAX_AGENTS;
    if (s->max_agents > EMBER_AGENTS_MAX) s->max_agents = EMBER_AGENTS_MAX;
    s->default_max_tokens = p->default_max_tokens;
    s->max_body = p->max_body_bytes ? p->max_body_bytes : DEFAULT_MAX_BODY;
    s->log_requests = p->log_requests;
    s->created = (int64_t)time(NULL);
    s->host = strdup(p->host ? p->host : "127.0.0.1");
    s->model_id = strdup(p->model_id                ? p->model_id
                         : p->engine.model_path ? base_name(p->engine.model_path)
                                                : "ember-remote");
    s->web_dir = p->web_dir ? strdup(p->web_dir) : NULL;
    s->tools = p->tools;
    if (!s->host || !s->model_id || (p->web_dir && !s->web_dir)) {
        ember_server_destroy(s);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    struct sockaddr_storage addr;
    bool v6 = false;
    if (!parse_host(s->host, p->port, &addr, &s->loopback, &v6)) {
        ember_status st = ember_fail(err, EMBER_ERR_INVALID, "'%s' is not a numeric IPv4 or IPv6 address", s->host);
        ember_server_destroy(s);
        return st;
    }
    ember_status status = open_store(p->db_path, &s->store, err);
    if (status == EMBER_OK && p->api_keys_file) status = load_key_file(s, p->api_keys_file, err);
    if (status != EMBER_OK) {
        ember_server_destroy(s);
        return status;
    }

    ember_engine_params ep = p->engine;
    if (ep.n_seq_max == 0) ep.n_seq_max = s->parallel + s->max_agents + 1;
    if (p->kv_split && ep.kv_seq_cells == 0) ep.kv_seq_cells = ((ep.n_ctx ? ep.n_ctx : 8192) + s->parallel - 1) / s->parallel;
    s->kv_split = ep.kv_seq_cells > 0 && ep.n_engine_urls == 0;
    status = ember_engine_create(&ep, &s->engine, err);
    if (status != EMBER_OK) {
        ember_server_destroy(s);
        return status;
    }
    s->n_seq_max = ep.n_seq_max;
    s->n_ctx = ember_engine_n_ctx(s->engine);
    s->chat_format = ember_engine_chat_format(s->engine);
    int queue = p->queue == 0 ? DEFAULT_QUEUE : p->queue < 0 ? 0 : p->queue;
    /* Remote replicas hold each request in a context of its own (n_ctx each), and streams give
     * each sequence its own, not one shared cache: the gate then counts sequences and runs. */
    bool remote = ember_engine_replicas(s->engine, NULL, 0) > 0;
    srv_gate_init(&s->gate, s->parallel, queue, s->n_seq_max,
                  remote || s->kv_split ? s->n_ctx * s->n_seq_max : s->n_ctx);
    srv_metrics_init(&s->metrics);

    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (v6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, (uint16_t)p->port, NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)(s->parallel + queue + 64),
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
                                 MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        status = ember_fail(err, EMBER_ERR_IO, "cannot listen on %s:%d (in use, or not an address of this machine)",
                      s->host, p->port);
        ember_server_destroy(s);
        return status;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : p->port;
    *out = s;
    return EMBER_OK;
}

int ember_server_port(const ember_server *s) { return s ? s->port : 0; }

void ember_server_destroy(ember_server *s) {
    if (!s) return;
    atomic_store(&s->stopping, true);
    if (s->engine) srv_gate_stop(&s->gate);
    if (s->daemon) MHD_stop_daemon(s->daemon);
    if (s->engine) {
        srv_gate_destroy(&s->gate);
        srv_metrics_destroy(&s->metrics);
    }
    ember_engine_destroy(s->engine);
    srv_store_close(s->store);
    free(s->file_keys);
    free(s->host);
    free(s->model_id);
    free(s->web_dir);
    free(s);
}

/* ---- keys ------------------------------------------------------------------------------ */

ember_status ember_keys_add(const char *db_path, const char *name, char *key, size_t key_size, ember_error *err) {
    srv_store *store;
    ember_status status = open_store(db_path, &store, err);
    if (status != EMBER_OK) return status;
    status = srv_store_key_add(store, name, key, key_size, err);
    srv_store_close(store);
    return status;
}

ember_status ember_keys_list(const char *db_path, ember_key_info **keys, size_t *count, ember_error *err) {
    *keys = NULL;
    *count = 0;
    srv_store *store;
    ember_status status = open_store(db_path, &store, err);
    if (status != EMBER_OK) return status;
    status = srv_store_key_list(store, keys, count, err);
    srv_store_close(store);
    return status;
}

ember_status ember_keys_remove(const char *db_path, const char *name, ember_error *err) {
    srv_store *store;
    ember_status status = open_store(db_path, &store, err);
    if (status != EMBER_OK) return status;
    status = srv_store_key_remove(store, name, err);
    srv_store_close(store);
    return status;
}
