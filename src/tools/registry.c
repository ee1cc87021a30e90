/*
 * registry.c — ember_tools: the set of tools the model may call, their definitions, and
 * the dispatch of a call to a built-in or an MCP server.
 *
 * Invariants: the entry list is fixed at creation (built-ins first, then each MCP server's
 * tools); only `enabled` flags change, and only in ember_tools_enable, which callers must
 * not run concurrently with calls. A call reads the registry and never writes it, so calls
 * may run in parallel; each builds its own result.
 */
#include "core/error.h"
#include "tools/mcp.h"
#include "tools/tools_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tool_entry {
    char *name;                  /* as offered to the model */
    char *description;
    json_t *parameters;          /* JSON Schema object */
    const tool_builtin *builtin; /* a built-in, or NULL for an MCP tool */
    mcp_server *server;          /* the MCP tool's server */
    const char *remote_name;     /* the server's own name for it (owned by the server) */
    bool enabled;
} tool_entry;

struct ember_tools {
    tool_config cfg;             /* resolved options; strings point into the copies below */
    char *python_path, *user_agent, *search_url;
    double default_timeout;
    tool_entry *entries;
    size_t n_entries;
    mcp_server **servers;
    size_t n_servers;
};

/* ---- the built-ins ----------------------------------------------------------------- */

static const tool_builtin builtins[] = {
    {
        "calculator",
        "Evaluate a math expression exactly: big integers and fractions stay exact (2^200, "
        "1/3 + 1/6 = 1/2), other results are decimals to the requested number of significant "
        "digits. Operators: + - * / % ^ (or **) and n! with parentheses. Functions: sqrt, "
        "cbrt, root(x, n), exp, ln, log(x) (base 10), log(x, base), log2, sin, cos, tan, asin, "
        "acos, atan, atan2, sinh, cosh, tanh, pow, factorial, abs, min, max, floor, ceil, "
        "round, trunc, mod, gcd, lcm. Constants: pi, e, tau. Angles are in radians.",
        "{\"type\":\"object\",\"properties\":{"
        "\"expression\":{\"type\":\"string\",\"description\":\"the expression, e.g. (3/4)^10 or sqrt(2)*pi\"},"
        "\"precision\":{\"type\":\"integer\",\"description\":\"significant digits for decimal results (default 20, at most 10000)\"}},"
        "\"required\":[\"expression\"]}",
        tool_calculator_call,
    },
    {
        "python",
        "Run Python 3 code in an isolated sandbox and return what it prints. No network "
        "access; only the current directory (/tmp) is writable and it is discarded afterwards. "
        "Print the values you need: stdout, stderr and the exit status are returned.",
        "{\"type\":\"object\",\"properties\":{"
        "\"code\":{\"type\":\"string\",\"description\":\"a complete Python 3 program\"},"
        "\"timeout\":{\"type\":\"number\",\"description\":\"seconds of wall-clock time before the run is killed\"}},"
        "\"required\":[\"code\"]}",
        tool_python_call,
    },
    {
        "web_fetch",
        "Fetch a web page or text file by http(s) URL and return its readable text (HTML "
        "is converted to plain text), with the HTTP status and final URL. Private and local "
        "network addresses are refused.",
        "{\"type\":\"object\",\"properties\":{"
        "\"url\":{\"type\":\"string\",\"description\":\"an absolute http or https URL\"},"
        "\"max_chars\":{\"type\":\"integer\",\"description\":\"return at most this many bytes of text\"}},"
        "\"required\":[\"url\"]}",
        tool_fetch_call,
    },
    {
        "web_search",
        "Search the web. Returns a numbered list of results, each with a title, URL and "
        "snippet; fetch a URL with web_fetch to read it.",
        "{\"type\":\"object\",\"properties\":{"
        "\"query\":{\"type\":\"string\",\"description\":\"the search query\"},"
        "\"max_results\":{\"type\":\"integer\",\"description\":\"how many results to return\"}},"
        "\"required\":[\"query\"]}",
        tool_search_call,
    },
};

enum { N_BUILTINS = sizeof builtins / sizeof builtins[0] };

void ember_tools_options_init(ember_tools_options *o) {
    memset(o, 0, sizeof *o);
}

static void config_resolve(ember_tools *t, const ember_tools_options *o) {
    tool_config *c = &t->cfg;
    c->python_path = t->python_path;
    c->python_cpu_seconds = o->python_cpu_seconds > 0 ? o->python_cpu_seconds : 10;
    c->python_memory_bytes = o->python_memory_bytes ? o->python_memory_bytes : (size_t)1 << 30;
    c->python_max_processes = o->python_max_processes > 0 ? o->python_max_processes : 64;
    c->python_output_bytes = o->python_output_bytes ? o->python_output_bytes : 64 << 10;
    c->python_file_bytes = o->python_file_bytes ? o->python_file_bytes : (size_t)64 << 20;
    c->fetch_max_bytes = o->fetch_max_bytes ? o->fetch_max_bytes : 4 << 20;
    c->fetch_max_redirects = o->fetch_max_redirects < 0 ? 0 : o->fetch_max_redirects ? o->fetch_max_redirects : 5;
    c->fetch_max_chars = o->fetch_max_chars ? o->fetch_max_chars : 100000;
    c->fetch_allow_loopback = o->fetch_allow_loopback;
    c->user_agent = t->user_agent;
    c->search_url = t->search_url;
    c->search_max_results = o->search_max_results > 0 ? o->search_max_results : 8;
    c->mcp_start_timeout = o->mcp_start_timeout > 0 ? o->mcp_start_timeout : 20;
    t->default_timeout = o->default_timeout > 0 ? o->default_timeout : 60;
}

static ember_status add_entry(ember_tools *t, const char *name, const char *description,
                              json_t *parameters, ember_error *err) {
    tool_entry *grown = realloc(t->entries, (t->n_entries + 1) * sizeof *grown);
    if (!grown) {
        json_decref(parameters);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    t->entries = grown;
    tool_entry *e = &t->entries[t->n_entries];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    e->description = strdup(description);
    e->parameters = parameters;
    if (!e->name || !e->description || !e->parameters) {
        free(e->name);
        free(e->description);
        json_decref(e->parameters);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    t->n_entries++;
    return EMBER_OK;
}

static ember_status add_builtins(ember_tools *t, ember_error *err) {
    for (size_t i = 0; i < N_BUILTINS; i++) {
        const tool_builtin *b = &builtins[i];
        char desc[1024];
        /* The python description states the configured limits. */
        if (b->call == tool_python_call)
            snprintf(desc, sizeof desc, "%s Limits: %d s of CPU time, %zu MiB of memory.",
                     b->description, t->cfg.python_cpu_seconds, t->cfg.python_memory_bytes >> 20);
        else
            snprintf(desc, sizeof desc, "%s", b->description);
        json_error_t jerr;
        json_t *schema = json_loads(b->parameters, 0, &jerr);
        if (!schema) return ember_fail(err, EMBER_ERR_FORMAT, "tool %s: bad schema: %s", b->name, jerr.text);
        ember_status st = add_entry(t, b->name, desc, schema, err);
        if (st != EMBER_OK) return st;
        t->entries[t->n_entries - 1].builtin = b;
    }
    return EMBER_OK;
}

static ember_status add_mcp(ember_tools *t, const char *config_path, ember_error *err) {
    ember_status st = tool_mcp_config_load(config_path, &t->servers, &t->n_servers, err);
    if (st != EMBER_OK) return st;
    for (size_t i = 0; i < t->n_servers; i++) {
        mcp_server *s = t->servers[i];
        st = tool_mcp_server_start(s, t->cfg.mcp_start_timeout, err);
        if (st != EMBER_OK) return st;
        for (size_t k = 0; k < tool_mcp_server_tool_count(s); k++) {
            const mcp_tool *mt = tool_mcp_server_tool(s, k);
            size_t n = strlen(tool_mcp_server_name(s)) + strlen(mt->name) + 2;
            char *name = malloc(n);
            if (!name) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
            snprintf(name, n, "%s.%s", tool_mcp_server_name(s), mt->name);
            st = add_entry(t, name, mt->description, json_deep_copy(mt->input_schema), err);
            free(name);
            if (st != EMBER_OK) return st;
            tool_entry *e = &t->entries[t->n_entries - 1];
            e->server = s;
            e->remote_name = mt->name;
        }
    }
    return EMBER_OK;
}

ember_status ember_tools_create(const ember_tools_options *options, ember_tools **tools,
                                ember_error *err) {
    if (!tools) return ember_fail(err, EMBER_ERR_INVALID, "tools is NULL");
    *tools = NULL;
    ember_tools_options defaults;
    if (!options) {
        ember_tools_options_init(&defaults);
        options = &defaults;
    }
    ember_tools *t = calloc(1, sizeof *t);
    if (!t) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    t->python_path = strdup(options->python_path && *options->python_path ? options->python_path
                                                                          : "/usr/bin/python3");
    t->user_agent = strdup(options->user_agent && *options->user_agent ? options->user_agent
                                                                       : "ember/0.1 (+tools)");
    if (options->search_url && *options->search_url) t->search_url = strdup(options->search_url);
    if (!t->python_path || !t->user_agent || (options->search_url && *options->search_url && !t->search_url)) {
        ember_tools_destroy(t);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    config_resolve(t, options);
    ember_status st = add_builtins(t, err);
    if (st == EMBER_OK && options->mcp_config_path && *options->mcp_config_path)
        st = add_mcp(t, options->mcp_config_path, err);
    if (st != EMBER_OK) {
        ember_tools_destroy(t);
        return st;
    }
    *tools = t;
    return EMBER_OK;
}

void ember_tools_destroy(ember_tools *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_entries; i++) {
        free(t->entries[i].name);
        free(t->entries[i].description);
        json_decref(t->entries[i].parameters);
    }
    free(t->entries);
    for (size_t i = 0; i < t->n_servers; i++) tool_mcp_server_destroy(t->servers[i]);
    free(t->servers);
    free(t->python_path);
    free(t->user_agent);
    free(t->search_url);
    free(t);
}

/* ---- enabling and listing ---------------------------------------------------------- */

static tool_entry *find_entry(const ember_tools *t, const char *name, size_t len) {
    for (size_t i = 0; i < t->n_entries; i++)
        if (strlen(t->entries[i].name) == len && memcmp(t->entries[i].name, name, len) == 0)
            return &t->entries[i];
    return NULL;
}

static bool is_web_search_off(const ember_tools *t, const tool_entry *e) {
    return e->builtin && e->builtin->call == tool_search_call && !t->cfg.search_url;
}

ember_status ember_tools_enable(ember_tools *t, const char *list, ember_error *err) {
    if (!t || !list) return ember_fail(err, EMBER_ERR_INVALID, "tools or list is NULL");
    bool *want = calloc(t->n_entries + 1, sizeof *want);
    if (!want) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n_entries; i++) want[i] = t->entries[i].enabled;
    ember_status st = EMBER_OK;
    const char *p = list;
    while (*p && st == EMBER_OK) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != ',') p++;
        size_t len = (size_t)(p - start);
        while (len && isspace((unsigned char)start[len - 1])) len--;
        bool all = len == 3 && memcmp(start, "all", 3) == 0;
        bool mcp = len == 3 && memcmp(start, "mcp", 3) == 0;
        bool none = len == 4 && memcmp(start, "none", 4) == 0;
        bool server_all = len > 2 && start[len - 2] == '.' && start[len - 1] == '*';
        if (all || mcp || none) {
            for (size_t i = 0; i < t->n_entries; i++) {
                tool_entry *e = &t->entries[i];
                if (none) want[i] = false;
                else if (mcp ? e->server != NULL : !is_web_search_off(t, e)) want[i] = true;
            }
        } else if (server_all) {
            bool any = false;
            for (size_t i = 0; i < t->n_entries; i++) {
                tool_entry *e = &t->entries[i];
                if (e->server && strncmp(e->name, start, len - 1) == 0) want[i] = any = true;
            }
            bool known = false;
            for (size_t i = 0; i < t->n_servers; i++) {
                const char *sn = tool_mcp_server_name(t->servers[i]);
                if (strlen(sn) == len - 2 && memcmp(sn, start, len - 2) == 0) known = true;
            }
            if (!any && !known)
                st = ember_fail(err, EMBER_ERR_NOT_FOUND, "no MCP server named \"%.*s\"",
                                (int)(len - 2), start);
        } else {
            tool_entry *e = find_entry(t, start, len);
            if (!e) {
                st = ember_fail(err, EMBER_ERR_NOT_FOUND,
                                "unknown tool \"%.*s\" (built-in: calculator, python, web_fetch, "
                                "web_search; MCP tools are SERVER.TOOL)", (int)len, start);
            } else if (is_web_search_off(t, e)) {
                st = ember_fail(err, EMBER_ERR_UNSUPPORTED,
                                "web_search needs a search endpoint (a SearxNG-compatible URL)");
            } else {
                want[e - t->entries] = true;
            }
        }
    }
    if (st == EMBER_OK)
        for (size_t i = 0; i < t->n_entries; i++) t->entries[i].enabled = want[i];
    free(want);
    return st;
}

size_t ember_tools_count(const ember_tools *t) {
    size_t n = 0;
    for (size_t i = 0; t && i < t->n_entries; i++) n += t->entries[i].enabled;
    return n;
}

const char *ember_tools_name(const ember_tools *t, size_t index) {
    for (size_t i = 0; t && i < t->n_entries; i++)
        if (t->entries[i].enabled && index-- == 0) return t->entries[i].name;
    return NULL;
}

bool ember_tools_is_enabled(const ember_tools *t, const char *name) {
    const tool_entry *e = t && name ? find_entry(t, name, strlen(name)) : NULL;
    return e && e->enabled;
}

char *ember_tools_definitions_json(const ember_tools *t) {
    json_t *arr = json_array();
    if (!arr) return NULL;
    for (size_t i = 0; t && i < t->n_entries; i++) {
        const tool_entry *e = &t->entries[i];
        if (!e->enabled) continue;
        json_t *fn = json_pack("{s:s, s:s, s:O}", "name", e->name, "description", e->description,
                               "parameters", e->parameters);
        json_t *def = fn ? json_pack("{s:s, s:o}", "type", "function", "function", fn) : NULL;
        if (!def || json_array_append_new(arr, def) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* ---- calls ------------------------------------------------------------------------- */

ember_status ember_tools_call(ember_tools *t, const char *name, const char *arguments,
                              double timeout_s, ember_tool_result **result, ember_error *err) {
    if (!result) return ember_fail(err, EMBER_ERR_INVALID, "result is NULL");
    *result = NULL;
    if (!t || !name) return ember_fail(err, EMBER_ERR_INVALID, "tools or name is NULL");
    double started = ember_now_s();
    double deadline = started + (timeout_s > 0 ? timeout_s : t->default_timeout);
    ember_tool_result *res = tool_result_new(name);
    if (!res) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");

    tool_entry *e = find_entry(t, name, strlen(name));
    json_t *args = NULL;
    if (!e) {
        tool_result_fail(res, EMBER_ERR_NOT_FOUND, "unknown tool \"%.200s\"", name);
    } else if (!e->enabled) {
        if (is_web_search_off(t, e))
            tool_result_fail(res, EMBER_ERR_UNSUPPORTED,
                             "web_search is off: no search endpoint is configured");
        else
            tool_result_fail(res, EMBER_ERR_NOT_FOUND, "the tool \"%s\" is not enabled", name);
    } else {
        const char *p = arguments ? arguments : "";
        while (isspace((unsigned char)*p)) p++;
        if (!*p) {
            args = json_object();
        } else {
            json_error_t jerr;
            args = json_loads(p, JSON_DECODE_ANY, &jerr);
            if (!args)
                tool_result_fail(res, EMBER_ERR_INVALID, "the arguments are not valid JSON: %s (at %d:%d)",
                                 jerr.text, jerr.line, jerr.column);
            else if (!json_is_object(args))
                tool_result_fail(res, EMBER_ERR_INVALID, "the arguments must be a JSON object");
        }
        if (json_is_object(args)) {
            if (e->builtin) e->builtin->call(&t->cfg, args, deadline, res);
            else tool_mcp_server_call(e->server, e->remote_name, args, deadline, res);
        }
    }
    json_decref(args);
    res->duration_ms = (ember_now_s() - started) * 1000.0;
    *result = res;
    return EMBER_OK;
}
