/*
 * request.c — parsing and checking a chat completion request (see request.h). Every
 * failure names the field; nothing here allocates more than the body's size suggests.
 */
#include "server/request.h"
#include "chat/json_text.h"
#include "core/strbuf.h"
#include "core/utf8.h"
#include "server/schema_gbnf.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MODE_NAMES[] = {"instant", "thinking", "contemplating"};
static const char *const STRENGTH_NAMES[] = {"low", "medium", "high", "xhigh"};
static const char *const SYNTHESIS_NAMES[] = {"disputed", "always", "never"};  /* ember_synthesis order */

/* Index of text in names, or -1 (the library's parsers, without linking the library). */
static int name_index(const char *text, const char *const *names, int n) {
    for (int i = 0; text && i < n; i++)
        if (strcmp(text, names[i]) == 0) return i;
    return -1;
}

enum { MAX_MESSAGES = 4096, MAX_STOP = 4, MAX_STOP_LEN = 256, DEFAULT_THINK_CHARS = 1024 };

bool srv_fail(srv_error *err, int status, const char *type, const char *code, const char *param, const char *fmt, ...) {
    if (!err) return false;
    err->status = status;
    err->type = type;
    err->code = code;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

char *srv_error_json(const srv_error *err) {
    /* a message may quote the request (a JSON parser's excerpt, a name) cut inside a character */
    char *message = utf8_sanitize(err->message, strlen(err->message), NULL);
    char *param = utf8_sanitize(err->param, strlen(err->param), NULL);
    json_t *e = message && param
                    ? json_pack("{s:s, s:s, s:o, s:o}", "message", message,
                                "type", err->type ? err->type : "invalid_request_error",
                                "param", param[0] ? json_string(param) : json_null(),
                                "code", err->code ? json_string(err->code) : json_null())
                    : NULL;
    json_t *root = e ? json_pack("{s:o}", "error", e) : NULL;
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(root);
    free(message);
    free(param);
    return text;
}

static bool invalid(srv_error *err, const char *param, const char *fmt, const char *what) {
    return srv_fail(err, 400, "invalid_request_error", NULL, param, fmt, what);
}

static char *dup_str(json_t *v) {
    const char *s = json_string_value(v);
    return strdup(s ? s : "");
}

/* Standard base64 (padding optional, no whitespace) → bytes; false if malformed. */
static bool base64_decode(const char *in, size_t n, unsigned char **out, size_t *out_len) {
    while (n > 0 && in[n - 1] == '=') n--;
    unsigned char *buf = malloc(n / 4 * 3 + 3);
    if (!buf) return false;
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '+' ? 62 : c == '/' ? 63 : -1;
        if (v < 0) {
            free(buf);
            return false;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (unsigned char)(acc >> bits);
        }
    }
    *out = buf;
    *out_len = len;
    return true;
}

/* An image part: {"type":"image_url","image_url":{"url":"data:…"}} (or the url as a string). */
static bool parse_image(json_t *part, const char *type, const char *p, srv_message *m, int *total, srv_error *err) {
    (void)type;   /* image_url (Chat Completions) and input_image (Responses) both use image_url */
    json_t *iu = json_object_get(part, "image_url");
    const char *url = json_is_string(iu) ? json_string_value(iu) : json_string_value(json_object_get(iu, "url"));
    if (!url) return invalid(err, p, "%s needs image_url.url", p);
    if (strncmp(url, "data:", 5) != 0)
        return srv_fail(err, 400, "invalid_request_error", "unsupported_content", p,
                        "images must be data: URLs (data:image/png;base64,…); the server fetches nothing");
    const char *comma = strchr(url, ',');
    const char *b64 = comma ? strstr(url, ";base64") : NULL;
    if (!comma || !b64 || b64 > comma) return invalid(err, p, "%s: only base64 data: URLs are supported", p);
    if (++*total > SRV_MAX_IMAGES)
        return srv_fail(err, 400, "invalid_request_error", NULL, p, "a request holds at most %d images", SRV_MAX_IMAGES);
    srv_image *images = realloc(m->images, sizeof *images * (size_t)(m->n_images + 1));
    if (!images) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    m->images = images;
    srv_image *img = &m->images[m->n_images];
    if (!base64_decode(comma + 1, strlen(comma + 1), &img->data, &img->len)) img->data = NULL;
    if (!img->data || img->len == 0) {
        free(img->data);
        img->data = NULL;
        return invalid(err, p, "%s: the data: URL is not valid base64", p);
    }
    m->n_images++;
    return true;
}

/* Content: a string, null, or an array of parts; text parts are joined with "\n", an image
 * part leaves EMBER_IMAGE_MARKER in its place (images: NULL refuses them). */
static bool parse_content(json_t *content, const char *param, char **out, srv_message *images, int *n_images,
                          srv_error *err) {
    if (!content || json_is_null(content)) {
        *out = strdup("");
        return *out != NULL;
    }
    if (json_is_string(content)) {
        if (memchr(json_string_value(content), 0, json_string_length(content)))
            return invalid(err, param, "%s must not contain NUL characters", param);
        *out = dup_str(content);
        return *out != NULL;
    }
    if (!json_is_array(content)) return invalid(err, param, "%s must be a string or an array of content parts", param);
    strbuf text = {0};
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        char p[96];
        snprintf(p, sizeof p, "%s[%zu]", param, i);
        const char *type = json_string_value(json_object_get(part, "type"));
        if (!json_is_object(part) || !type) {
            strbuf_free(&text);
            return invalid(err, p, "%s must be an object with a \"type\"", p);
        }
        bool refusal = strcmp(type, "refusal") == 0;
        if (strcmp(type, "text") == 0 || strcmp(type, "input_text") == 0 || refusal) {
            json_t *t = json_object_get(part, refusal ? "refusal" : "text");
            if (!json_is_string(t)) {
                strbuf_free(&text);
                return invalid(err, p, "%s.text must be a string", p);
            }
            if (memchr(json_string_value(t), 0, json_string_length(t))) {
                strbuf_free(&text);
                return invalid(err, p, "%s.text must not contain NUL characters", p);
            }
            if (text.len) strbuf_puts(&text, "\n");
            strbuf_append(&text, json_string_value(t), json_string_length(t));
        } else if (strcmp(type, "image_url") == 0 || strcmp(type, "input_image") == 0) {
            if (!images) {
                strbuf_free(&text);
                return srv_fail(err, 400, "invalid_request_error", "unsupported_content", p,
                                "images may come only in user and tool messages");
            }
            if (!parse_image(part, type, p, images, n_images, err)) {
                strbuf_free(&text);
                return false;
            }
            if (text.len) strbuf_puts(&text, "\n");
            strbuf_puts(&text, EMBER_IMAGE_MARKER);
        } else if (strcmp(type, "input_audio") == 0 || strcmp(type, "file") == 0) {
            strbuf_free(&text);
            return srv_fail(err, 400, "invalid_request_error", "unsupported_content", p,
                            "content of type '%.40s' is not supported", type);
        } else {
            strbuf_free(&text);
            return srv_fail(err, 400, "invalid_request_error", "unsupported_content", p,
                            "unknown content part type '%.40s'", type);
        }
    }
    if (text.failed) {
        strbuf_free(&text);
        return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    }
    *out = strbuf_take(&text);
    return *out != NULL;
}

static bool parse_calls(json_t *calls, const char *param, srv_message *m, srv_error *err) {
    if (!json_is_array(calls)) return invalid(err, param, "%s must be an array", param);
    size_t n = json_array_size(calls);
    if (n == 0) return true;
    if (n > 128) return invalid(err, param, "%s has more than 128 calls", param);
    m->calls = calloc(n, sizeof *m->calls);
    if (!m->calls) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        char p[96];
        snprintf(p, sizeof p, "%s[%zu]", param, i);
        json_t *fn = json_object_get(c, "function");
        json_t *name = json_object_get(fn, "name");
        json_t *args = json_object_get(fn, "arguments");
        json_t *id = json_object_get(c, "id");
        if (!json_is_object(c) || !json_is_object(fn) || !json_is_string(name) || json_string_length(name) == 0)
            return invalid(err, p, "%s must be {\"type\":\"function\",\"function\":{\"name\",\"arguments\"}}", p);
        if (id && !json_is_string(id)) return invalid(err, p, "%s.id must be a string", p);
        if (args && !json_is_string(args) && !json_is_object(args))
            return invalid(err, p, "%s.function.arguments must be a JSON string", p);
        srv_call *call = &m->calls[m->n_calls++];
        call->name = dup_str(name);
        call->id = id ? dup_str(id) : NULL;
        if (json_is_object(args)) call->arguments = json_text_dump(args, true);
        else if (json_is_string(args) && json_string_length(args) > 0) {
            json_t *parsed = json_loads(json_string_value(args), 0, NULL);
            if (!json_is_object(parsed)) {
                json_decref(parsed);
                return invalid(err, p, "%s.function.arguments must hold a JSON object", p);
            }
            json_decref(parsed);
            call->arguments = dup_str(args);
        } else {
            call->arguments = strdup("{}");
        }
        if (!call->name || !call->arguments) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    }
    return true;
}

/* The name of the tool a tool message answers: the assistant call with its id, else "name". */
static const char *tool_name_for(const srv_request *req, const char *call_id) {
    for (int i = req->n_messages - 1; i >= 0; i--) {
        const srv_message *m = &req->messages[i];
        for (int c = 0; c < m->n_calls; c++)
            if (call_id && m->calls[c].id && strcmp(m->calls[c].id, call_id) == 0) return m->calls[c].name;
    }
    return NULL;
}

static bool parse_messages(json_t *msgs, srv_request *req, srv_error *err) {
    if (!msgs) return invalid(err, "messages", "%s is required", "messages");
    if (!json_is_array(msgs)) return invalid(err, "messages", "%s must be an array", "messages");
    size_t n = json_array_size(msgs);
    if (n == 0) return invalid(err, "messages", "%s must not be empty", "messages");
    if (n > MAX_MESSAGES) return invalid(err, "messages", "%s has more than 4096 messages", "messages");
    req->messages = calloc(n, sizeof *req->messages);
    if (!req->messages) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    size_t i;
    json_t *msg;
    int n_images = 0;
    json_array_foreach(msgs, i, msg) {
        char p[64];
        snprintf(p, sizeof p, "messages[%zu]", i);
        if (!json_is_object(msg)) return invalid(err, p, "%s must be an object", p);
        const char *role = json_string_value(json_object_get(msg, "role"));
        char pr[96], pc[96];
        snprintf(pr, sizeof pr, "%s.role", p);
        snprintf(pc, sizeof pc, "%s.content", p);
        if (!role) return invalid(err, pr, "%s must be a string", pr);
        srv_message *m = &req->messages[req->n_messages];
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) m->role = EMBER_ROLE_SYSTEM;
        else if (strcmp(role, "user") == 0) m->role = EMBER_ROLE_USER;
        else if (strcmp(role, "assistant") == 0) m->role = EMBER_ROLE_ASSISTANT;
        else if (strcmp(role, "tool") == 0) m->role = EMBER_ROLE_TOOL;
        else return invalid(err, pr, "unknown role '%.40s' (system, developer, user, assistant, tool)", role);
        req->n_messages++;
        json_t *content = json_object_get(msg, "content");
        if (m->role != EMBER_ROLE_ASSISTANT && (!content || json_is_null(content)))
            return invalid(err, pc, "%s is required", pc);
        bool may_have_images = m->role == EMBER_ROLE_USER || m->role == EMBER_ROLE_TOOL;
        if (!parse_content(content, pc, &m->content, may_have_images ? m : NULL, &n_images, err)) return false;
        if (m->role == EMBER_ROLE_ASSISTANT) {
            json_t *reasoning = json_object_get(msg, "reasoning_content");
            if (reasoning && !json_is_null(reasoning)) {
                if (!json_is_string(reasoning)) return invalid(err, p, "%s.reasoning_content must be a string", p);
                m->reasoning = dup_str(reasoning);
            }
            json_t *calls = json_object_get(msg, "tool_calls");
            char pt[96];
            snprintf(pt, sizeof pt, "%s.tool_calls", p);
            if (calls && !json_is_null(calls) && !parse_calls(calls, pt, m, err)) return false;
        }
        if (m->role == EMBER_ROLE_TOOL) {
            json_t *id = json_object_get(msg, "tool_call_id");
            json_t *name = json_object_get(msg, "name");
            if (id && !json_is_string(id)) return invalid(err, p, "%s.tool_call_id must be a string", p);
            const char *tool = tool_name_for(req, json_string_value(id));
            if (!tool && json_is_string(name) && json_string_length(name)) tool = json_string_value(name);
            if (!tool)
                return invalid(err, p, "%s: no assistant tool call has this tool_call_id (and no \"name\" is given)", p);
            m->tool_name = strdup(tool);
            if (!m->tool_name) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
        }
    }
    ember_role last = req->messages[req->n_messages - 1].role;
    if (last != EMBER_ROLE_USER && last != EMBER_ROLE_TOOL)
        return invalid(err, "messages", "the last message must be from the %s or a tool", "user");
    return true;
}

static bool get_bool(json_t *root, const char *key, const char *param, bool *out, srv_error *err) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_boolean(v)) return invalid(err, param, "%s must be a boolean", param);
    *out = json_is_true(v);
    return true;
}

/* An integer field in [min, max]; *given tells whether it was there. */
static bool get_int(json_t *root, const char *key, const char *param, long long min, long long max, long long *out,
                    bool *given, srv_error *err) {
    json_t *v = json_object_get(root, key);
    if (given) *given = false;
    if (!v || json_is_null(v)) return true;
    if (json_is_integer(v)) *out = json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) && fabs(json_real_value(v)) < 9e15)
        *out = (long long)json_real_value(v);
    else return invalid(err, param, "%s must be an integer", param);
    if (*out < min || *out > max)
        return srv_fail(err, 400, "invalid_request_error", NULL, param, "%s must be between %lld and %lld", param, min, max);
    if (given) *given = true;
    return true;
}

static bool get_number(json_t *root, const char *key, const char *param, double min, double max, double *out,
                       bool *given, srv_error *err) {
    json_t *v = json_object_get(root, key);
    *given = false;
    if (!v || json_is_null(v)) return true;
    if (!json_is_number(v)) return invalid(err, param, "%s must be a number", param);
    *out = json_number_value(v);
    if (!(*out >= min && *out <= max))
        return srv_fail(err, 400, "invalid_request_error", NULL, param, "%s must be between %g and %g", param, min, max);
    *given = true;
    return true;
}

static bool parse_stop(json_t *stop, srv_request *req, srv_error *err) {
    if (!stop || json_is_null(stop)) return true;
    json_t *one = json_is_string(stop) ? stop : NULL;
    if (!one && !json_is_array(stop)) return invalid(err, "stop", "%s must be a string or an array of strings", "stop");
    size_t n = one ? 1 : json_array_size(stop);
    if (n > MAX_STOP) return invalid(err, "stop", "%s holds at most 4 strings", "stop");
    if (n == 0) return true;
    req->stop = calloc(n, sizeof *req->stop);
    if (!req->stop) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *s = one ? one : json_array_get(stop, i);
        if (!json_is_string(s)) return invalid(err, "stop", "%s must be a string or an array of strings", "stop");
        size_t len = json_string_length(s);
        if (len == 0 || len > MAX_STOP_LEN || memchr(json_string_value(s), 0, len))
            return invalid(err, "stop", "%s strings must be 1 to 256 bytes (no NUL)", "stop");
        req->stop[req->n_stop++] = dup_str(s);
    }
    return true;
}

static bool parse_effort(json_t *effort, srv_request *req, srv_error *err) {
    if (!effort || json_is_null(effort)) return true;
    const char *e = json_string_value(effort);
    if (!e) return invalid(err, "reasoning_effort", "%s must be a string", "reasoning_effort");
    if (strcmp(e, "none") == 0 || strcmp(e, "minimal") == 0) {
        req->mode = EMBER_MODE_INSTANT;
    } else if (name_index(e, STRENGTH_NAMES, 4) >= 0) {
        req->reasoning = (ember_reasoning)name_index(e, STRENGTH_NAMES, 4);
        req->mode = EMBER_MODE_THINKING;
    } else {
        return invalid(err, "reasoning_effort", "reasoning_effort must be none, minimal, low, medium, high or xhigh (got '%.40s')", e);
    }
    return true;
}

static bool parse_ember(json_t *ember, const srv_request_limits *limits, srv_request *req, srv_error *err) {
    if (!ember || json_is_null(ember)) return true;
    if (!json_is_object(ember)) return invalid(err, "ember", "%s must be an object", "ember");
    req->ember_events = true;
    json_t *mode = json_object_get(ember, "mode");
    if (mode && !json_is_null(mode)) {
        const char *m = json_string_value(mode);
        if (name_index(m, MODE_NAMES, 3) < 0)
            return invalid(err, "ember.mode", "%s must be instant, thinking or contemplating", "ember.mode");
        req->mode = (ember_mode)name_index(m, MODE_NAMES, 3);
    }
    json_t *reasoning = json_object_get(ember, "reasoning");
    if (reasoning && !json_is_null(reasoning)) {
        const char *r = json_string_value(reasoning);
        if (name_index(r, STRENGTH_NAMES, 4) < 0)
            return invalid(err, "ember.reasoning", "%s must be low, medium, high or xhigh", "ember.reasoning");
        req->reasoning = (ember_reasoning)name_index(r, STRENGTH_NAMES, 4);
    }
    long long v;
    bool given;
    if (!get_int(ember, "agents", "ember.agents", 1, limits->max_agents, &v, &given, err)) return false;
    if (given) req->agents = (int)v;
    if (!get_int(ember, "think_budget", "ember.think_budget", 0, limits->n_ctx, &v, &given, err)) return false;
    if (given) req->think_budget = (int)v;
    if (!get_bool(ember, "budget_cue", "ember.budget_cue", &req->budget_cue, err)) return false;
    if (!get_bool(ember, "early_stop", "ember.early_stop", &req->early_stop, err)) return false;
    if (!get_int(ember, "first_wave", "ember.first_wave", 1, limits->max_agents, &v, &given, err)) return false;
    if (given) req->first_wave = (int)v;
    json_t *synthesis = json_object_get(ember, "synthesis");
    if (synthesis && !json_is_null(synthesis)) {
        int k = name_index(json_string_value(synthesis), SYNTHESIS_NAMES, 3);
        if (k < 0) return invalid(err, "ember.synthesis", "%s must be disputed, always or never", "ember.synthesis");
        req->synthesis = (ember_synthesis)k;
    }
    double d;
    if (!get_number(ember, "consensus", "ember.consensus", 0.0, 1.0, &d, &given, err)) return false;
    if (given) req->consensus = (float)d;
    json_t *grammar = json_object_get(ember, "grammar");
    if (grammar && !json_is_null(grammar)) {
        if (!json_is_string(grammar) || json_string_length(grammar) == 0 || json_string_length(grammar) > (1u << 20))
            return invalid(err, "ember.grammar", "%s must be a GBNF text of at most 1 MiB", "ember.grammar");
        free(req->grammar);
        req->grammar = dup_str(grammar);
    }
    json_t *agent_grammar = json_object_get(ember, "agent_grammar");
    if (agent_grammar && !json_is_null(agent_grammar)) {
        if (!json_is_string(agent_grammar) || json_string_length(agent_grammar) == 0 ||
            json_string_length(agent_grammar) > (1u << 20))
            return invalid(err, "ember.agent_grammar", "%s must be a GBNF text of at most 1 MiB", "ember.agent_grammar");
        req->agent_grammar = dup_str(agent_grammar);
    }
    json_t *conv = json_object_get(ember, "conversation_id");
    if (conv && !json_is_null(conv)) {
        if (!json_is_string(conv) || json_string_length(conv) == 0 || json_string_length(conv) > 64)
            return invalid(err, "ember.conversation_id", "%s must be a conversation id", "ember.conversation_id");
        req->conversation_id = dup_str(conv);
    }
    bool has_parent;
    if (!get_int(ember, "parent_id", "ember.parent_id", 0, INT64_MAX, &v, &has_parent, err)) return false;
    if (has_parent) req->parent_id = v ? (int64_t)v : -1;
    if (!get_bool(ember, "regenerate", "ember.regenerate", &req->regenerate, err)) return false;
    if (req->regenerate && req->parent_id <= 0)
        return invalid(err, "ember.regenerate", "%s needs ember.parent_id (the stored message to answer again)",
                       "ember.regenerate");
    if ((req->parent_id || req->regenerate) && !req->conversation_id)
        return invalid(err, "ember.parent_id", "%s needs ember.conversation_id", "ember.parent_id");
    if (!get_bool(ember, "artifacts", "ember.artifacts", &req->artifacts, err)) return false;
    return get_bool(ember, "store", "ember.store", &req->store, err);
}

static bool parse_tools(json_t *root, srv_request *req, srv_error *err) {
    json_t *tools = json_object_get(root, "tools");
    json_t *choice = json_object_get(root, "tool_choice");
    if (choice && !json_is_null(choice)) {
        const char *c = json_string_value(choice);
        if (c && strcmp(c, "none") == 0) req->tool_choice = SRV_TOOLS_NONE;
        else if (c && strcmp(c, "auto") == 0) req->tool_choice = SRV_TOOLS_AUTO;
        else if (c && strcmp(c, "required") == 0) req->tool_choice = SRV_TOOLS_REQUIRED;
        else if (json_is_object(choice) && json_is_string(json_object_get(json_object_get(choice, "function"), "name"))) {
            req->tool_choice = SRV_TOOLS_FUNCTION;
            req->tool_choice_name = dup_str(json_object_get(json_object_get(choice, "function"), "name"));
            if (!req->tool_choice_name) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
        } else return invalid(err, "tool_choice", "%s must be none, auto, required or {\"type\":\"function\",…}", "tool_choice");
    }
    if (!tools || json_is_null(tools)) return true;
    if (!json_is_array(tools)) return invalid(err, "tools", "%s must be an array", "tools");
    if (json_array_size(tools) > 128) return invalid(err, "tools", "%s holds at most 128 tools", "tools");
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        char p[64];
        snprintf(p, sizeof p, "tools[%zu]", i);
        json_t *fn = json_object_get(t, "function");
        const char *type = json_string_value(json_object_get(t, "type"));
        const char *name = json_string_value(json_object_get(fn, "name"));
        if (!json_is_object(t) || !type || strcmp(type, "function") != 0 || !json_is_object(fn) || !name || !name[0])
            return invalid(err, p, "%s must be {\"type\":\"function\",\"function\":{\"name\",…}}", p);
        if (strlen(name) > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(name))
            return invalid(err, p, "%s: a function name is 1-64 characters of a-z, A-Z, 0-9, _, - and .", p);
        json_t *params = json_object_get(fn, "parameters");
        if (params && !json_is_object(params)) return invalid(err, p, "%s.function.parameters must be an object", p);
    }
    if (json_array_size(tools) && req->tool_choice != SRV_TOOLS_NONE) {
        req->tools_json = json_dumps(tools, JSON_COMPACT);
        if (!req->tools_json) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    }
    return true;
}

/* The tool names of a JSON array of definitions ({"type":"function","function":{…}} or bare). */
static bool names_tool(json_t *tools, const char *name) {
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *n = json_string_value(json_object_get(json_is_object(fn) ? fn : t, "name"));
        if (n && strcmp(n, name) == 0) return true;
    }
    return false;
}

bool srv_request_check_tool_choice(const srv_request *req, const char *server_tools_json, srv_error *err) {
    if (req->tool_choice != SRV_TOOLS_REQUIRED && req->tool_choice != SRV_TOOLS_FUNCTION) return true;
    if (req->mode == EMBER_MODE_CONTEMPLATING)
        return invalid(err, "tool_choice", "%s \"required\" or a named function needs Instant or Thinking mode "
                       "(Contemplating's agents call tools on their own)", "tool_choice");
    if (req->grammar)
        return invalid(err, "tool_choice", "%s \"required\" or a named function cannot be combined with "
                       "response_format or ember.grammar", "tool_choice");
    json_t *mine = req->tools_json ? json_loads(req->tools_json, 0, NULL) : NULL;
    json_t *server = server_tools_json ? json_loads(server_tools_json, 0, NULL) : NULL;
    bool ok = true;
    if (json_array_size(mine) + json_array_size(server) == 0)
        ok = invalid(err, "tool_choice", "%s asks for a tool call, but no tools are offered (give \"tools\")",
                     "tool_choice");
    else if (req->tool_choice == SRV_TOOLS_FUNCTION && !names_tool(mine, req->tool_choice_name) &&
             !names_tool(server, req->tool_choice_name))
        ok = srv_fail(err, 400, "invalid_request_error", NULL, "tool_choice",
                      "tool_choice names the function '%.64s', which is not among the offered tools",
                      req->tool_choice_name);
    json_decref(mine);
    json_decref(server);
    return ok;
}

static bool parse_response_format(json_t *rf, const srv_request_limits *limits, srv_request *req, srv_error *err) {
    if (!rf || json_is_null(rf)) return true;
    const char *type = json_string_value(json_object_get(rf, "type"));
    if (!json_is_object(rf) || !type)
        return invalid(err, "response_format", "%s must be an object with a \"type\"", "response_format");
    json_t *schema = NULL;
    if (strcmp(type, "text") == 0) return true;
    if (strcmp(type, "json_object") == 0) {
        req->format = SRV_FORMAT_JSON_OBJECT;
    } else if (strcmp(type, "json_schema") == 0) {
        json_t *js = json_object_get(rf, "json_schema");
        if (!json_is_object(js))
            return invalid(err, "response_format.json_schema", "%s must be an object", "response_format.json_schema");
        schema = json_object_get(js, "schema");
        if (!json_is_object(schema))
            return invalid(err, "response_format.json_schema.schema", "%s must be an object", "response_format.json_schema.schema");
        req->format = SRV_FORMAT_JSON_SCHEMA;
    } else {
        return invalid(err, "response_format.type", "response_format.type must be text, json_object or json_schema (got '%.40s')", type);
    }
    if (req->grammar) return invalid(err, "response_format", "%s and ember.grammar cannot be combined", "response_format");
    strbuf rules = {0};
    if (!srv_schema_gbnf(schema, &rules, err)) {
        strbuf_free(&rules);
        return false;
    }
    int think_chars = req->think_budget > 0 ? req->think_budget * 4 : DEFAULT_THINK_CHARS;
    req->grammar = srv_grammar_wrap(strbuf_str(&rules), req->mode, limits->chat_format, think_chars, err);
    strbuf_free(&rules);
    if (req->grammar && req->mode == EMBER_MODE_THINKING) req->think_budget = 0; /* the grammar bounds it */
    return req->grammar != NULL;
}

bool srv_request_parse(const char *body, size_t len, const srv_request_limits *limits, srv_request *req,
                       srv_error *err) {
    memset(req, 0, sizeof *req);
    req->mode = EMBER_MODE_THINKING;
    req->reasoning = EMBER_REASONING_HIGH;  /* Muse Glimmer's template default */
    req->early_stop = true;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return srv_fail(err, 400, "invalid_request_error", "invalid_json", NULL,
                        "the body is not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    bool ok = true;
    long long v;
    bool given;
    double d;
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(root)) ok = invalid(err, NULL, "the body must be a JSON %s", "object");
    else if (model && !json_is_null(model) && !json_is_string(model)) ok = invalid(err, "model", "%s must be a string", "model");
    else if (model && !(req->model = dup_str(model))) ok = srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    ok = ok && parse_messages(json_object_get(root, "messages"), req, err);
    ok = ok && get_bool(root, "stream", "stream", &req->stream, err);
    if (ok) {
        json_t *so = json_object_get(root, "stream_options");
        if (so && !json_is_null(so) && !json_is_object(so)) ok = invalid(err, "stream_options", "%s must be an object", "stream_options");
        else if (so) ok = get_bool(so, "include_usage", "stream_options.include_usage", &req->include_usage, err);
    }
    /* a limit beyond the context is not an error: the run's share of the context caps it */
    ok = ok && get_int(root, "max_tokens", "max_tokens", 1, INT32_MAX, &v, &given, err);
    if (ok && given) req->max_tokens = (int)v;
    ok = ok && get_int(root, "max_completion_tokens", "max_completion_tokens", 1, INT32_MAX, &v, &given, err);
    if (ok && given) req->max_tokens = (int)v;
    ok = ok && get_int(root, "n", "n", 1, 1, &v, NULL, err);
    ok = ok && get_number(root, "temperature", "temperature", 0.0, 2.0, &d, &req->has_temperature, err);
    if (ok && req->has_temperature) req->temperature = (float)d;
    ok = ok && get_number(root, "top_p", "top_p", 0.0, 1.0, &d, &req->has_top_p, err);
    if (ok && req->has_top_p) req->top_p = (float)d;
    ok = ok && get_int(root, "seed", "seed", -(1LL << 62), 1LL << 62, &v, &req->has_seed, err);
    if (ok && req->has_seed) req->seed = (uint32_t)(unsigned long long)v;
    ok = ok && get_bool(root, "ignore_eos", "ignore_eos", &req->ignore_eos, err);
    ok = ok && parse_stop(json_object_get(root, "stop"), req, err);
    ok = ok && parse_effort(json_object_get(root, "reasoning_effort"), req, err);
    ok = ok && parse_ember(json_object_get(root, "ember"), limits, req, err);
    ok = ok && parse_tools(root, req, err);
    ok = ok && parse_response_format(json_object_get(root, "response_format"), limits, req, err);
    if (ok && req->mode == EMBER_MODE_CONTEMPLATING && req->grammar && req->synthesis == EMBER_SYNTHESIS_NEVER)
        ok = invalid(err, "ember.synthesis", "%s 'never' lets an agent's answer stand, which no grammar or "
                     "response_format shapes (only the synthesizer's answer follows it): use disputed or always",
                     "ember.synthesis");
    if (ok && req->mode == EMBER_MODE_CONTEMPLATING && req->agents == 0) req->agents = limits->max_agents < 4 ? limits->max_agents : 4;
    json_decref(root);
    if (!ok) srv_request_free(req);
    return ok;
}

void srv_request_free(srv_request *req) {
    if (!req) return;
    free(req->model);
    for (int i = 0; i < req->n_messages; i++) {
        srv_message *m = &req->messages[i];
        free(m->content);
        free(m->reasoning);
        free(m->tool_name);
        for (int k = 0; k < m->n_images; k++) free(m->images[k].data);
        free(m->images);
        for (int c = 0; c < m->n_calls; c++) {
            free(m->calls[c].id);
            free(m->calls[c].name);
            free(m->calls[c].arguments);
        }
        free(m->calls);
    }
    free(req->messages);
    for (int i = 0; i < req->n_stop; i++) free(req->stop[i]);
    free(req->stop);
    free(req->grammar);
    free(req->agent_grammar);
    free(req->tool_choice_name);
    free(req->tools_json);
    free(req->conversation_id);
    memset(req, 0, sizeof *req);
}
