/*
 * mcp.c — MCP stdio client: config, process lifecycle, JSON-RPC framing; see mcp.h.
 *
 * Ownership: a mcp_server owns its strings, argv/envp, tool list, process and descriptors.
 * `lock` guards the process state (pid, fds, read buffer, ids) and is held for a whole
 * start or call; name, argv, envp and the tool list never change after the first start.
 */
#define _GNU_SOURCE /* pipe2 */
#include "tools/mcp.h"
#include "core/error.h"
#include "tools/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum {
    MAX_LINE = 32 << 20,          /* longest JSON-RPC message accepted from a server */
};
#define MCP_PROTOCOL_VERSION "2025-06-18"

struct mcp_server {
    char *name;
    char *command;          /* as configured */
    char **argv;            /* NULL-terminated; argv[0] is the command */
    char **envp;            /* the child's whole environment, NULL-terminated */
    mcp_tool *tools;
    size_t n_tools;
    bool listed;            /* tools were read (at the first start) */
    pthread_mutex_t lock;
    pid_t pid;              /* -1 when not running */
    int to_fd;              /* our end of the server's stdin (a socket: writes never SIGPIPE) */
    int from_fd;            /* the server's stdout */
    char *rbuf;             /* bytes read but not yet consumed (a partial line) */
    size_t rlen, rcap;
    long next_id;
    int starts;             /* process starts so far */
};

const char *tool_mcp_server_name(const mcp_server *s) { return s->name; }
size_t tool_mcp_server_tool_count(const mcp_server *s) { return s->n_tools; }
const mcp_tool *tool_mcp_server_tool(const mcp_server *s, size_t i) { return i < s->n_tools ? &s->tools[i] : NULL; }

int tool_mcp_server_restarts(mcp_server *s) {
    pthread_mutex_lock(&s->lock);
    int n = s->starts > 0 ? s->starts - 1 : 0;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void free_strv(char **v) {
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

static void server_free(mcp_server *s) {
    if (!s) return;
    free(s->name);
    free(s->command);
    free_strv(s->argv);
    free_strv(s->envp);
    for (size_t i = 0; i < s->n_tools; i++) {
        free(s->tools[i].name);
        free(s->tools[i].description);
        json_decref(s->tools[i].input_schema);
    }
    free(s->tools);
    free(s->rbuf);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- config ------------------------------------------------------------------------ */

static bool valid_server_name(const char *name) {
    if (!*name) return false;
    for (const char *p = name; *p; p++)
        if (*p == '.' || *p == ',' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '*')
            return false;
    return true;
}

/* environ with the config's variables replacing or adding entries. */
static char **build_env(json_t *env) {
    size_t n_base = 0;
    while (environ && environ[n_base]) n_base++;
    size_t n_extra = json_is_object(env) ? json_object_size(env) : 0;
    char **v = calloc(n_base + n_extra + 1, sizeof *v);
    if (!v) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < n_base; i++) {
        const char *eq = strchr(environ[i], '=');
        if (eq && n_extra) {
            char key[256];
            size_t kl = (size_t)(eq - environ[i]);
            if (kl < sizeof key) {
                memcpy(key, environ[i], kl);
                key[kl] = '\0';
                if (json_object_get(env, key)) continue;  /* overridden below */
            }
        }
        if (!(v[n++] = strdup(environ[i]))) goto fail;
    }
    const char *key;
    json_t *val;
    if (n_extra) {
        json_object_foreach(env, key, val) {
            const char *sv = json_string_value(val);
            size_t len = strlen(key) + strlen(sv) + 2;
            if (!(v[n] = malloc(len))) goto fail;
            snprintf(v[n++], len, "%s=%s", key, sv);
        }
    }
    return v;
fail:
    free_strv(v);
    return NULL;
}

static ember_status load_server(const char *name, json_t *def, mcp_server **out,
                                ember_error *err) {
    *out = NULL;
    if (!valid_server_name(name))
        return ember_fail(err, EMBER_ERR_FORMAT,
                          "MCP server name \"%s\" must be non-empty without '.', ',', '*' or spaces", name);
    if (!json_is_object(def))
        return ember_fail(err, EMBER_ERR_FORMAT, "MCP server \"%s\" must be an object", name);
    json_t *cmd = json_object_get(def, "command"), *args = json_object_get(def, "args");
    json_t *env = json_object_get(def, "env");
    if (!cmd && (json_object_get(def, "url") || json_object_get(def, "type")))
        return ember_fail(err, EMBER_ERR_UNSUPPORTED,
                          "MCP server \"%s\" is not a stdio server; only stdio servers are supported", name);
    if (!json_is_string(cmd) || !*json_string_value(cmd))
        return ember_fail(err, EMBER_ERR_FORMAT, "MCP server \"%s\" needs a \"command\" string", name);
    if (args && !json_is_array(args))
        return ember_fail(err, EMBER_ERR_FORMAT, "MCP server \"%s\": \"args\" must be an array", name);
    size_t i;
    json_t *v;
    json_array_foreach(args, i, v) {
        if (!json_is_string(v))
            return ember_fail(err, EMBER_ERR_FORMAT, "MCP server \"%s\": every arg must be a string", name);
    }
    if (env && !json_is_object(env))
        return ember_fail(err, EMBER_ERR_FORMAT, "MCP server \"%s\": \"env\" must be an object", name);
    const char *key;
    json_object_foreach(env, key, v) {
        if (!json_is_string(v) || strchr(key, '='))
            return ember_fail(err, EMBER_ERR_FORMAT,
                              "MCP server \"%s\": env \"%s\" must be a string", name, key);
    }
    mcp_server *s = calloc(1, sizeof *s);
    if (!s) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    s->pid = -1;
    s->to_fd = s->from_fd = -1;
    s->next_id = 1;
    s->name = strdup(name);
    s->command = strdup(json_string_value(cmd));
    size_t n_args = json_array_size(args);
    s->argv = calloc(n_args + 2, sizeof *s->argv);
    s->envp = build_env(env);
    bool ok = s->name && s->command && s->argv && s->envp;
    if (ok) ok = (s->argv[0] = strdup(s->command)) != NULL;
    for (i = 0; ok && i < n_args; i++)
        ok = (s->argv[i + 1] = strdup(json_string_value(json_array_get(args, i)))) != NULL;
    if (!ok) {
        server_free(s);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return EMBER_OK;
}

ember_status tool_mcp_config_load(const char *path, mcp_server ***servers, size_t *n_servers,
                             ember_error *err) {
    *servers = NULL;
    *n_servers = 0;
    if (access(path, R_OK) != 0)
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "MCP config %s: %s", path, strerror(errno));
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return ember_fail(err, EMBER_ERR_FORMAT, "MCP config %s:%d:%d: %s", path, jerr.line,
                          jerr.column, jerr.text);
    json_t *map = json_object_get(root, "mcpServers");
    if (!json_is_object(map)) {
        json_decref(root);
        return ember_fail(err, EMBER_ERR_FORMAT, "MCP config %s: no \"mcpServers\" object", path);
    }
    mcp_server **list = calloc(json_object_size(map) + 1, sizeof *list);
    if (!list) {
        json_decref(root);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    const char *name;
    json_t *def;
    ember_status st = EMBER_OK;
    json_object_foreach(map, name, def) {
        if (json_is_true(json_object_get(def, "disabled"))) continue;
        st = load_server(name, def, &list[n], err);
        if (st != EMBER_OK) break;
        n++;
    }
    json_decref(root);
    if (st != EMBER_OK) {
        for (size_t i = 0; i < n; i++) server_free(list[i]);
        free(list);
        return st;
    }
    *servers = list;
    *n_servers = n;
    return EMBER_OK;
}

/* ---- process ----------------------------------------------------------------------- */

/* Stops the process. Graceful: close its stdin and give it a moment, then SIGTERM, then
 * SIGKILL; otherwise SIGKILL at once. Leaves the server stopped (pid -1). */
static void server_stop(mcp_server *s, bool graceful) {
    if (s->to_fd >= 0) close(s->to_fd);
    s->to_fd = -1;
    if (s->pid > 0) {
        int status;
        bool gone = false;
        if (graceful) {
            gone = tool_proc_wait(s->pid, ember_now_s() + 0.5, &status);
            if (!gone) {
                kill(-s->pid, SIGTERM);
                gone = tool_proc_wait(s->pid, ember_now_s() + 0.5, &status);
            }
        }
        if (!gone) tool_proc_kill(s->pid, true);
    }
    if (s->from_fd >= 0) close(s->from_fd);
    s->from_fd = -1;
    s->pid = -1;
    s->rlen = 0;
}

static bool send_all(mcp_server *s, const char *data, size_t len, double deadline) {
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(s->to_fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ms = tool_ms_left(deadline);
            if (ms == 0) return false;
            struct pollfd p = {.fd = s->to_fd, .events = POLLOUT};
            poll(&p, 1, ms);
            continue;
        }
        return false;  /* EPIPE and friends: the server is gone */
    }
    return true;
}

/* Sends one message (a line of compact JSON). Steals `msg`. */
static bool send_message(mcp_server *s, json_t *msg, double deadline) {
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text) return false;
    size_t n = strlen(text);
    text[n] = '\n';  /* json_dumps' NUL becomes the line end; nothing reads past it */
    bool ok = send_all(s, text, n + 1, deadline);
    free(text);
    return ok;
}

typedef enum { READ_OK, READ_TIMEOUT, READ_EOF, READ_ERROR, SEND_FAILED } read_status;

/* Reads the next JSON message (lines that are not JSON are skipped: some servers log to
 * stdout). */
static read_status read_message(mcp_server *s, double deadline, json_t **msg) {
    *msg = NULL;
    for (;;) {
        char *nl = s->rlen ? memchr(s->rbuf, '\n', s->rlen) : NULL;
        if (nl) {
            size_t line = (size_t)(nl - s->rbuf);
            json_error_t jerr;
            json_t *m = line ? json_loadb(s->rbuf, line, 0, &jerr) : NULL;
            memmove(s->rbuf, nl + 1, s->rlen - line - 1);
            s->rlen -= line + 1;
            if (json_is_object(m)) {
                *msg = m;
                return READ_OK;
            }
            json_decref(m);
            continue;
        }
        if (s->rlen >= MAX_LINE) return READ_ERROR;
        int ms = tool_ms_left(deadline);
        if (ms == 0) return READ_TIMEOUT;
        struct pollfd p = {.fd = s->from_fd, .events = POLLIN};
        int r = poll(&p, 1, ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return READ_ERROR;
        if (r == 0) return READ_TIMEOUT;
        if (s->rcap - s->rlen < 65536) {
            size_t cap = s->rcap ? s->rcap * 2 : 131072;
            char *b = realloc(s->rbuf, cap);
            if (!b) return READ_ERROR;
            s->rbuf = b, s->rcap = cap;
        }
        ssize_t n = read(s->from_fd, s->rbuf + s->rlen, s->rcap - s->rlen);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return n == 0 ? READ_EOF : READ_ERROR;
        s->rlen += (size_t)n;
    }
}

/* Answers a request the server sent us: ping gets {}, anything else "method not found". */
static void answer_server_request(mcp_server *s, json_t *msg, double deadline) {
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *reply = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", json_object_get(msg, "id"));
    if (!reply) return;
    if (method && strcmp(method, "ping") == 0) {
        json_object_set_new(reply, "result", json_object());
    } else {
        json_object_set_new(reply, "error", json_pack("{s:i, s:s}", "code", -32601, "message",
                                                      "method not supported by this client"));
    }
    send_message(s, reply, deadline);
}

/* Sends a request and waits for its response (result or error object, returned in
 * *reply). Notifications and requests from the server are handled meanwhile. */
static read_status request(mcp_server *s, const char *method, json_t *params, double deadline,
                           long *id_out, json_t **reply) {
    *reply = NULL;
    long id = s->next_id++;
    if (id_out) *id_out = id;
    json_t *msg = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method);
    if (!msg) {
        json_decref(params);
        return READ_ERROR;
    }
    if (params) json_object_set_new(msg, "params", params);
    if (!send_message(s, msg, deadline)) return tool_ms_left(deadline) ? SEND_FAILED : READ_TIMEOUT;
    for (;;) {
        json_t *m;
        read_status st = read_message(s, deadline, &m);
        if (st != READ_OK) return st;
        json_t *mid = json_object_get(m, "id");
        if (json_object_get(m, "method")) {
            if (mid) answer_server_request(s, m, deadline);
            json_decref(m);
            continue;
        }
        if (json_is_integer(mid) && json_integer_value(mid) == id) {
            *reply = m;
            return READ_OK;
        }
        json_decref(m);  /* a late answer to an earlier request */
    }
}

static char *rpc_error_text(json_t *reply) {
    json_t *e = json_object_get(reply, "error");
    const char *m = json_string_value(json_object_get(e, "message"));
    char buf[600];
    snprintf(buf, sizeof buf, "error %lld: %.500s", (long long)json_integer_value(json_object_get(e, "code")),
             m ? m : "(no message)");
    return strdup(buf);
}

static ember_status read_tools(mcp_server *s, double deadline, ember_error *err) {
    json_t *cursor = NULL;
    for (int page = 0; page < 1000; page++) {
        json_t *params = json_object();
        if (cursor) json_object_set(params, "cursor", cursor);
        json_decref(cursor);
        cursor = NULL;
        json_t *reply;
        read_status st = request(s, "tools/list", params, deadline, NULL, &reply);
        if (st != READ_OK)
            return ember_fail(err, st == READ_TIMEOUT ? EMBER_ERR_TIMEOUT : EMBER_ERR_IO,
                              "MCP server \"%s\": tools/list %s", s->name,
                              st == READ_TIMEOUT ? "timed out" : "failed: the server closed its output");
        json_t *result = json_object_get(reply, "result");
        json_t *tools = json_object_get(result, "tools");
        if (!json_is_array(tools)) {
            char *e = json_object_get(reply, "error") ? rpc_error_text(reply) : NULL;
            ember_status r = ember_fail(err, EMBER_ERR_FORMAT, "MCP server \"%s\": tools/list: %s",
                                        s->name, e ? e : "no tools array in the result");
            free(e);
            json_decref(reply);
            return r;
        }
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t) {
            const char *name = json_string_value(json_object_get(t, "name"));
            if (!name || !*name) continue;
            const char *desc = json_string_value(json_object_get(t, "description"));
            json_t *schema = json_object_get(t, "inputSchema");
            mcp_tool *grown = realloc(s->tools, (s->n_tools + 1) * sizeof *grown);
            if (!grown) {
                json_decref(reply);
                return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
            }
            s->tools = grown;
            mcp_tool *mt = &s->tools[s->n_tools];
            mt->name = strdup(name);
            mt->description = strdup(desc ? desc : "");
            mt->input_schema = json_is_object(schema) ? json_deep_copy(schema)
                                                      : json_pack("{s:s, s:{}}", "type", "object", "properties");
            if (!mt->name || !mt->description || !mt->input_schema) {
                free(mt->name);
                free(mt->description);
                json_decref(mt->input_schema);
                json_decref(reply);
                return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
            }
            s->n_tools++;
        }
        json_t *next = json_object_get(result, "nextCursor");
        if (json_is_string(next) && *json_string_value(next)) cursor = json_incref(next);
        json_decref(reply);
        if (!cursor) return EMBER_OK;
    }
    json_decref(cursor);
    return ember_fail(err, EMBER_ERR_FORMAT, "MCP server \"%s\": tools/list never ends", s->name);
}

/* Spawns and initializes the server; the caller holds the lock. */
static ember_status server_start_locked(mcp_server *s, double timeout, ember_error *err) {
    server_stop(s, false);
    double deadline = ember_now_s() + timeout;
    char *path = tool_proc_find_program(s->command);
    if (!path)
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "MCP server \"%s\": command %s not found",
                          s->name, s->command);
    int sv[2], out[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        free(path);
        return ember_fail(err, EMBER_ERR_IO, "socketpair: %s", strerror(errno));
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        free(path);
        close(sv[0]);
        close(sv[1]);
        return ember_fail(err, EMBER_ERR_IO, "pipe: %s", strerror(errno));
    }
    shutdown(sv[0], SHUT_RD);  /* our end only writes */
    proc_spec spec = {
        .path = path,
        .argv = s->argv,
        .envp = s->envp,
        .stdin_fd = sv[1],
        .stdout_fd = out[1],
        .stderr_fd = -1,
        .new_session = true,
    };
    char msg[512];
    pid_t pid = tool_proc_spawn(&spec, msg, sizeof msg);
    free(path);
    close(sv[1]);
    close(out[1]);
    if (pid < 0) {
        close(sv[0]);
        close(out[0]);
        return ember_fail(err, EMBER_ERR_IO, "MCP server \"%s\": %s", s->name, msg);
    }
    s->pid = pid;
    s->to_fd = sv[0];
    s->from_fd = out[0];
    s->rlen = 0;
    s->starts++;

    json_t *params = json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion", MCP_PROTOCOL_VERSION,
                               "capabilities", "clientInfo", "name", "ember", "version", "0.1.0");
    json_t *reply;
    read_status st = request(s, "initialize", params, deadline, NULL, &reply);
    ember_status result = EMBER_OK;
    if (st != READ_OK) {
        int status;
        /* A server that dies shows as EOF or as a failed write, depending on timing. */
        bool exited = st != READ_TIMEOUT && tool_proc_wait(s->pid, ember_now_s() + 1.0, &status);
        if (exited) s->pid = -1;
        result = exited ? ember_fail(err, EMBER_ERR_IO, "MCP server \"%s\" exited during initialize (status %d)",
                                     s->name, status)
               : ember_fail(err, st == READ_TIMEOUT ? EMBER_ERR_TIMEOUT : EMBER_ERR_IO,
                            "MCP server \"%s\": initialize %s", s->name,
                            st == READ_TIMEOUT ? "timed out" : "failed");
    } else if (!json_is_object(json_object_get(reply, "result"))) {
        char *e = rpc_error_text(reply);
        result = ember_fail(err, EMBER_ERR_IO, "MCP server \"%s\": initialize: %s", s->name, e ? e : "");
        free(e);
    }
    json_decref(reply);
    if (result == EMBER_OK &&
        !send_message(s, json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", "notifications/initialized"),
                      deadline))
        result = ember_fail(err, EMBER_ERR_IO, "MCP server \"%s\" closed its input", s->name);
    if (result == EMBER_OK && !s->listed) {
        result = read_tools(s, deadline, err);
        if (result == EMBER_OK) s->listed = true;
    }
    if (result != EMBER_OK) server_stop(s, false);
    return result;
}

ember_status tool_mcp_server_start(mcp_server *s, double timeout, ember_error *err) {
    pthread_mutex_lock(&s->lock);
    ember_status st = server_start_locked(s, timeout, err);
    pthread_mutex_unlock(&s->lock);
    return st;
}

void tool_mcp_server_destroy(mcp_server *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    server_stop(s, true);
    pthread_mutex_unlock(&s->lock);
    server_free(s);
}

/* ---- calls ------------------------------------------------------------------------- */

/* The text of a tools/call result's content list. */
static char *content_text(json_t *content) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    size_t i;
    json_t *c;
    bool first = true;
    json_array_foreach(content, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (!type) continue;
        if (!first) fputc('\n', f);
        first = false;
        if (strcmp(type, "text") == 0) {
            const char *t = json_string_value(json_object_get(c, "text"));
            fputs(t ? t : "", f);
        } else if (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) {
            const char *mime = json_string_value(json_object_get(c, "mimeType"));
            const char *data = json_string_value(json_object_get(c, "data"));
            fprintf(f, "[%s: %s, %zu bytes]", type, mime ? mime : "unknown type",
                    data ? strlen(data) / 4 * 3 : 0);
        } else if (strcmp(type, "resource") == 0) {
            json_t *r = json_object_get(c, "resource");
            const char *t = json_string_value(json_object_get(r, "text"));
            const char *uri = json_string_value(json_object_get(r, "uri"));
            if (t) fputs(t, f);
            else fprintf(f, "[resource: %s]", uri ? uri : "?");
        } else if (strcmp(type, "resource_link") == 0) {
            const char *uri = json_string_value(json_object_get(c, "uri"));
            fprintf(f, "[resource link: %s]", uri ? uri : "?");
        } else {
            fprintf(f, "[%s content]", type);
        }
    }
    fclose(f);
    return text;
}

static int lock_until(pthread_mutex_t *m, double deadline) {
    struct timespec ts = ember_time_after(CLOCK_REALTIME, deadline - ember_now_s());
    return pthread_mutex_timedlock(m, &ts);
}

void tool_mcp_server_call(mcp_server *s, const char *tool, const json_t *args, double deadline,
                     ember_tool_result *res) {
    if (lock_until(&s->lock, deadline) != 0) {
        tool_result_fail(res, EMBER_ERR_TIMEOUT,
                         "MCP server \"%s\" was busy with another call until the time limit", s->name);
        return;
    }
    int status;
    json_t *reply = NULL;
    long id = 0;
    read_status st = SEND_FAILED;
    /* A server that died since the last call is restarted, and a request that could not
     * even be sent (it died just now) is sent once more to a fresh server. */
    for (int attempt = 0; attempt < 2 && st == SEND_FAILED; attempt++) {
        if (s->pid > 0 && tool_proc_wait(s->pid, 0, &status)) {
            s->pid = -1;
            server_stop(s, false);
        }
        if (s->pid < 0 || attempt > 0) {
            ember_error err = {0};
            if (server_start_locked(s, deadline - ember_now_s(), &err) != EMBER_OK) {
                tool_result_fail(res, err.status, "could not restart: %s", err.message);
                pthread_mutex_unlock(&s->lock);
                return;
            }
            tool_result_detail(res, "restarted", json_true());
        }
        json_t *params = json_pack("{s:s, s:O}", "name", tool, "arguments", (json_t *)args);
        st = request(s, "tools/call", params, deadline, &id, &reply);
    }
    if (st == READ_TIMEOUT) {
        send_message(s, json_pack("{s:s, s:s, s:{s:I, s:s}}", "jsonrpc", "2.0", "method",
                                  "notifications/cancelled", "params", "requestId", (json_int_t)id,
                                  "reason", "timeout"),
                     ember_now_s() + 0.1);
        server_stop(s, false);
        tool_result_fail(res, EMBER_ERR_TIMEOUT,
                         "MCP server \"%s\" did not answer %s in time; it was stopped and will be "
                         "restarted by the next call", s->name, tool);
    } else if (st != READ_OK) {
        bool exited = tool_proc_wait(s->pid, ember_now_s() + 0.5, &status);
        if (exited) s->pid = -1;
        server_stop(s, false);
        if (exited)
            tool_result_fail(res, EMBER_ERR_IO,
                             "MCP server \"%s\" exited (status %d) during the call; it will be "
                             "restarted by the next call", s->name, status);
        else
            tool_result_fail(res, EMBER_ERR_IO, "MCP server \"%s\": the connection failed", s->name);
    } else if (json_object_get(reply, "error")) {
        char *e = rpc_error_text(reply);
        tool_result_fail(res, EMBER_ERR_IO, "MCP server \"%s\": %s", s->name, e ? e : "error");
        free(e);
    } else {
        json_t *result = json_object_get(reply, "result");
        char *text = content_text(json_object_get(result, "content"));
        if (text) tool_result_set_output(res, text, strlen(text));
        json_t *structured = json_object_get(result, "structuredContent");
        if (structured) tool_result_detail(res, "structured", json_incref(structured));
        if (json_is_true(json_object_get(result, "isError")))
            tool_result_fail(res, EMBER_ERR_IO, "%.900s", text && *text ? text : "the tool reported an error");
        free(text);
    }
    json_decref(reply);
    pthread_mutex_unlock(&s->lock);
}
