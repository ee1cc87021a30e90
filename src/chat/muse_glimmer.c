/*
 * muse_glimmer.c — Muse Glimmer's chat format, as its chat template renders it:
 *
 *   <|begin_of_text|><|start|>system<|message|>…<|eot|>
 *   <|start|>user<|message|>…<|eot|>
 *   <|start|>assistant to=self<|message|>reasoning<|eom|>
 *   <|start|>assistant to=TOOL<|message|><atem:function_calls>…<|eom|>   (tool calls)
 *   <|start|>tool NAME<|message|><tool_output name="NAME">\n…\n</tool_output><|eot|>
 *   <|start|>assistant to=user<|message|>answer<|eot|>
 *
 * The system block carries the knowledge cutoff and date (default system prompt only), the
 * reasoning strength, tool definitions and the list of valid recipients. The generation
 * prompt is "<|start|>assistant", optionally followed by the opened channel.
 */
#include "chat/muse_glimmer.h"
#include "chat/json_text.h"
#include "chat/stream_parser.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char KNOWLEDGE_CUTOFF[] = "2026-01-04";

/* jinja's tojson: ", " and ": " separators, keys in their order, UTF-8 kept. */
static bool append_json(strbuf *out, const json_t *value) { return json_text_write(out, value, false); }

static void tool_namespace(const char *name, char *ns, size_t size) {
    size_t n = strcspn(name, ".");
    if (n >= size) n = size - 1;
    memcpy(ns, name, n);
    ns[n] = '\0';
}

/* The function object of a tool definition ({"type":"function","function":{…}} or bare). */
static json_t *tool_function(json_t *tool) {
    json_t *fn = json_object_get(tool, "function");
    return json_is_object(fn) ? fn : tool;
}

/* Namespaces in first-seen order; returns how many (at most max). */
static size_t tool_namespaces(json_t *tools, char names[][64], size_t max) {
    size_t n = 0;
    size_t i;
    json_t *tool;
    json_array_foreach(tools, i, tool) {
        const char *name = json_string_value(json_object_get(tool_function(tool), "name"));
        if (!name) continue;
        char ns[64];
        tool_namespace(name, ns, sizeof ns);
        bool seen = false;
        for (size_t k = 0; k < n; k++) seen = seen || strcmp(names[k], ns) == 0;
        if (!seen && n < max) snprintf(names[n++], 64, "%s", ns);
    }
    return n;
}

static void render_tool_defs(strbuf *out, json_t *tools) {
    strbuf_puts(out,
        "In this environment you have access to a set of tools you can use to answer the user's question.\n\n"
        "You can invoke a function by writing a \"<atem:function_calls>\" block like the following:\n"
        "<atem:function_calls>\n<atem:invoke name=\"$FUNCTION_NAME\">\n"
        "<atem:parameter name=\"$PARAMETER_NAME\">$PARAMETER_VALUE</atem:parameter>\n...\n"
        "</atem:invoke>\n</atem:function_calls>\n\n"
        "String and scalar parameters should be specified as is, while lists and objects should use JSON "
        "format. Note that spaces for string values are not stripped. The output is not expected to be "
        "valid XML and is parsed with regular expressions.\n"
        "Here are the functions available in JSONSchema format:\n"
        "// Tool metadata\n");
    char ns[32][64];
    size_t n_ns = tool_namespaces(tools, ns, 32);
    for (size_t k = 0; k < n_ns; k++) {
        json_t *name = json_string(ns[k]);
        strbuf_puts(out, "{\"name\": ");
        append_json(out, name);
        strbuf_puts(out, ", \"description\": \"\"}\n");
        json_decref(name);
    }
    strbuf_puts(out, "// Function schemas");
    size_t i;
    json_t *tool;
    json_array_foreach(tools, i, tool) {
        json_t *fn = tool_function(tool);
        json_t *desc = json_object_get(fn, "description");
        json_t *params = json_object_get(fn, "parameters");
        strbuf_puts(out, "\n{\"name\": ");
        append_json(out, json_object_get(fn, "name"));
        strbuf_puts(out, ", \"description\": ");
        if (desc) append_json(out, desc); else strbuf_puts(out, "null");
        strbuf_puts(out, ", \"parameters\": ");
        if (params) append_json(out, params); else strbuf_puts(out, "null");
        strbuf_puts(out, "}");
    }
    strbuf_puts(out,
        "\n\nHere's an example of how to call a function in the tool set:\n"
        "(If the tool namespace is not specified, invoke the function directly as `example_function_name` "
        "rather than `example_tool_name.example_function_name`)\n\n"
        "to=example_tool_name.example_function_name\n\n"
        "<atem:function_calls>\n<atem:invoke name=\"example_tool_name.example_function_name\">\n"
        "<atem:parameter name=\"example_parameter_1\">value_1</atem:parameter>\n"
        "<atem:parameter name=\"example_parameter_2\">This is the value for the second parameter\n"
        "that can span\n\"multiple\" lines\n</atem:parameter>\n"
        "</atem:invoke>\n</atem:function_calls>");
}

static void render_recipients(strbuf *out, json_t *tools) {
    strbuf_puts(out, "# Valid recipients: \"self\"");
    if (tools) {
        char ns[32][64];
        size_t n_ns = tool_namespaces(tools, ns, 32);
        for (size_t k = 0; k < n_ns; k++) strbuf_printf(out, ", \"%s.*\"", ns[k]);
    }
    strbuf_puts(out, ", \"user\".");
}

static void render_strength(strbuf *out, ember_reasoning r) {
    strbuf_printf(out, "Reasoning strength: %s.", ember_reasoning_name(r));
}

static void render_system_tail(strbuf *out, const chat_render_opts *o, json_t *tools) {
    if (tools) {
        strbuf_puts(out, "\n\n");
        render_tool_defs(out, tools);
    }
    strbuf_puts(out, "\n\n");
    render_recipients(out, tools);
    strbuf_puts(out, "<|eot|>");
}

/* The template rewrites "Reasoning effort" to "Reasoning strength" in four casings. */
static char *normalize_system(const char *text) {
    static const char *const from[] = {"Reasoning effort", "Reasoning Effort", "reasoning effort", "REASONING EFFORT"};
    static const char *const to[] = {"Reasoning strength", "Reasoning Strength", "reasoning strength", "REASONING STRENGTH"};
    strbuf out = {0};
    const char *p = text;
    while (*p) {
        int hit = -1;
        for (int k = 0; k < 4 && hit < 0; k++)
            if (strncmp(p, from[k], strlen(from[k])) == 0) hit = k;
        if (hit >= 0) {
            strbuf_puts(&out, to[hit]);
            p += strlen(from[hit]);
        } else {
            strbuf_append(&out, p, 1);
            p++;
        }
    }
    return strbuf_take(&out);
}

static bool contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t k = 0;
        while (k < n && hay[k] && tolower((unsigned char)hay[k]) == needle[k]) k++;
        if (k == n) return true;
    }
    return false;
}

static void render_system(strbuf *out, const char *system, const chat_render_opts *o, json_t *tools) {
    char *text = normalize_system(system);
    strbuf_puts(out, "<|start|>system<|message|>");
    strbuf_puts(out, text);
    if (!contains_ci(text, "reasoning strength")) {
        strbuf_puts(out, "\n\n");
        render_strength(out, o->reasoning);
    }
    free(text);
    render_system_tail(out, o, tools);
}

static void render_default_system(strbuf *out, const chat_render_opts *o, json_t *tools) {
    strbuf_printf(out, "<|start|>system<|message|>You are a helpful AI assistant.\nKnowledge cutoff: %s.",
                  KNOWLEDGE_CUTOFF);
    char today[16];
    const char *date = o->current_date;
    if (!date) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(today, sizeof today, "%Y-%m-%d", &tm);
        date = today;
    }
    strbuf_printf(out, "\nCurrent date: %s.", date);
    strbuf_puts(out, "\n\n");
    render_strength(out, o->reasoning);
    render_system_tail(out, o, tools);
}

/* One ATEM parameter value: strings and numbers as they are (a real as the template prints a
 * float: 2.0, 0.1), the rest as JSON. */
static void render_atem_value(strbuf *out, json_t *v) {
    char num[32];
    if (json_is_string(v)) strbuf_puts(out, json_string_value(v));
    else if (json_is_real(v)) json_text_real_scalar(json_real_value(v), num), strbuf_puts(out, num);
    else if (json_is_true(v)) strbuf_puts(out, "true");
    else if (json_is_false(v)) strbuf_puts(out, "false");
    else if (json_is_null(v)) strbuf_puts(out, "null");
    else append_json(out, v);
}

void muse_glimmer_render_call(strbuf *out, const char *name, const char *arguments) {
    strbuf_printf(out, "<atem:function_calls>\n<atem:invoke name=\"%s\">\n", name);
    json_t *args = json_loads(arguments ? arguments : "{}", 0, NULL);
    const char *key;
    json_t *value;
    if (json_is_object(args)) {
        json_object_foreach(args, key, value) {
            strbuf_printf(out, "<atem:parameter name=\"%s\">", key);
            render_atem_value(out, value);
            strbuf_puts(out, "</atem:parameter>\n");
        }
    }
    json_decref(args);
    strbuf_puts(out, "</atem:invoke>\n</atem:function_calls>");
}

static const char IMAGE_TEXT[] = "<|patch|>";

static void render_tool_result(strbuf *out, const chat_message *m, const chat_render_opts *o, chat_images *images) {
    strbuf_printf(out, "<|start|>tool %s<|message|><tool_output name=\"%s\">\n", m->name, m->name);
    chat_put_content(out, m, o, IMAGE_TEXT, images);
    strbuf_puts(out, "\n</tool_output><|eot|>");
}

static void render_opening(strbuf *out, const chat_render_opts *o) {
    strbuf_puts(out, "<|start|>assistant");
    if (o->opening == CHAT_OPEN_REASONING) strbuf_puts(out, " to=self<|message|>");
    else if (o->opening == CHAT_OPEN_ANSWER) strbuf_puts(out, " to=user<|message|>");
}

/* The model ended its call message (with <|eot|>, which ends generation and so is not in the
 * sequence): write that end, the results and the next opening. */
static bool render_continuation(const chat_message *results, size_t n, const chat_render_opts *o, strbuf *out,
                                chat_images *images) {
    strbuf_puts(out, "<|eot|>");
    for (size_t i = 0; i < n; i++) render_tool_result(out, &results[i], o, images);
    render_opening(out, o);
    return out->data != NULL;
}

static bool render(const ember_chat *chat, const chat_render_opts *o, strbuf *out, chat_images *images) {
    json_t *tools = NULL;
    if (o->tools_json) {
        tools = json_loads(o->tools_json, 0, NULL);
        if (!json_is_array(tools) || json_array_size(tools) == 0) {
            json_decref(tools);
            tools = NULL;
        }
    }
    strbuf_puts(out, "<|begin_of_text|>");
    const char *system = o->system;
    for (size_t i = 0; i < chat->n && !system; i++)
        if (chat->msgs[i].role == EMBER_ROLE_SYSTEM) system = chat->msgs[i].content;
    if (system) render_system(out, system, o, tools);
    else render_default_system(out, o, tools);

    for (size_t i = 0; i < chat->n; i++) {
        const chat_message *m = &chat->msgs[i];
        bool next_same = i + 1 < chat->n && chat->msgs[i + 1].role == m->role;
        const char *end = next_same ? "<|eom|>" : "<|eot|>";
        switch (m->role) {
        case EMBER_ROLE_SYSTEM:
            break;  /* rendered above (the first one; the template ignores none, ember keeps one) */
        case EMBER_ROLE_USER:
            strbuf_puts(out, "<|start|>user<|message|>");
            chat_put_content(out, m, o, IMAGE_TEXT, images);
            strbuf_puts(out, "<|eot|>");
            break;
        case EMBER_ROLE_TOOL:
            render_tool_result(out, m, o, images);
            break;
        case EMBER_ROLE_ASSISTANT:
            if (m->reasoning && m->reasoning[0])
                strbuf_printf(out, "<|start|>assistant to=self<|message|>%s<|eom|>", m->reasoning);
            if (m->n_calls > 0) {
                for (int c = 0; c < m->n_calls; c++) {
                    strbuf_printf(out, "<|start|>assistant to=%s<|message|>", m->calls[c].name);
                    muse_glimmer_render_call(out, m->calls[c].name, m->calls[c].arguments);
                    strbuf_puts(out, c == m->n_calls - 1 ? end : "<|eom|>");
                }
            } else {
                strbuf_printf(out, "<|start|>assistant to=user<|message|>%s<|eot|>", m->content);
            }
            break;
        }
    }
    render_opening(out, o);
    json_decref(tools);
    return out->data != NULL && !out->failed;
}

/* ---- parser ---------------------------------------------------------------------------- */

enum { ST_HEADER, ST_BODY, ST_BETWEEN, ST_DONE };
enum { HEADER_MAX = 160 };

static const char *const body_markers[] = {"<|eom|>", "<|eot|>", "<|end_of_text|>", "<|start|>", NULL};
static const char *const header_markers[] = {"<|message|>", "<|eom|>", "<|eot|>", "<|end_of_text|>", "<|start|>", NULL};
static const char *const between_markers[] = {"<|start|>", "<|eot|>", "<|end_of_text|>", NULL};

static const char *const *markers(int state) {
    switch (state) {
    case ST_HEADER: return header_markers;
    case ST_BODY: return body_markers;
    default: return between_markers;
    }
}

/* Text where no channel is open is still the model's output: deliver it as answer. */
static void emit_stray(chat_parser *p, const char *text, size_t len) {
    ember_channel saved = p->channel;
    p->channel = EMBER_CHANNEL_ANSWER;
    stream_parser_emit_text(p, text, len);
    p->channel = saved;
}

static void open_channel_from_header(chat_parser *p) {
    const char *h = strbuf_str(&p->header);
    while (*h == ' ') h++;
    if (strncmp(h, "assistant", 9) == 0) h += 9;
    const char *to = strstr(h, "to=");
    char recipient[128] = "user";
    if (to) {
        to += 3;
        size_t n = strcspn(to, " \t\n");
        if (n >= sizeof recipient) n = sizeof recipient - 1;
        memcpy(recipient, to, n);
        recipient[n] = '\0';
    }
    if (strcmp(recipient, "self") == 0) {
        p->channel = EMBER_CHANNEL_REASONING;
    } else if (strcmp(recipient, "user") == 0 || recipient[0] == '\0') {
        p->channel = EMBER_CHANNEL_ANSWER;
    } else {
        p->channel = EMBER_CHANNEL_TOOL;
        snprintf(p->recipient, sizeof p->recipient, "%s", recipient);
    }
    p->channel_fresh = true;
    strbuf_clear(&p->header);
    p->state = ST_BODY;
}

static void on_text(chat_parser *p, const char *text, size_t len) {
    switch (p->state) {
    case ST_HEADER:
        strbuf_append(&p->header, text, len);
        if (p->header.len > HEADER_MAX) {  /* not a header after all */
            p->channel = EMBER_CHANNEL_ANSWER;
            p->state = ST_BODY;
            stream_parser_emit_text(p, strbuf_str(&p->header), p->header.len);
            strbuf_clear(&p->header);
        }
        break;
    case ST_BODY:
        stream_parser_emit_text(p, text, len);
        break;
    default:
        emit_stray(p, text, len);
        break;
    }
}

static void end_message(chat_parser *p) {
    if (p->channel == EMBER_CHANNEL_TOOL) stream_parser_end_tool(p);
}

static void end_turn(chat_parser *p) {
    p->state = ST_DONE;
    p->turn_ended = true;
    p->emit(p->user, CHAT_EVENT_TURN_END, "", 0, NULL);
}

static void on_marker(chat_parser *p, const char *marker) {
    bool is_start = strcmp(marker, "<|start|>") == 0;
    bool is_eom = strcmp(marker, "<|eom|>") == 0;
    switch (p->state) {
    case ST_HEADER:
        if (strcmp(marker, "<|message|>") == 0) {
            open_channel_from_header(p);
            return;
        }
        /* a header cut short: what was read is stray text */
        emit_stray(p, strbuf_str(&p->header), p->header.len);
        strbuf_clear(&p->header);
        if (is_start) return;  /* a new header begins */
        if (is_eom) p->state = ST_BETWEEN;
        else end_turn(p);
        return;
    case ST_BODY:
        end_message(p);
        if (is_start) p->state = ST_HEADER;
        else if (is_eom) p->state = ST_BETWEEN;
        else end_turn(p);
        return;
    default:
        if (is_start) {
            p->state = ST_HEADER;
            p->turn_ended = false;
        } else if (p->state != ST_DONE) {
            end_turn(p);
        }
        return;
    }
}

static const stream_rules rules = {markers, on_text, on_marker};

static chat_parser *parser_create(chat_opening opening, chat_emit_fn emit, void *user) {
    switch (opening) {
    case CHAT_OPEN_REASONING: return stream_parser_create(&rules, ST_BODY, EMBER_CHANNEL_REASONING, emit, user);
    case CHAT_OPEN_ANSWER: return stream_parser_create(&rules, ST_BODY, EMBER_CHANNEL_ANSWER, emit, user);
    default: return stream_parser_create(&rules, ST_HEADER, EMBER_CHANNEL_ANSWER, emit, user);
    }
}

const chat_format muse_glimmer_format = {
    .name = "muse-glimmer",
    .render = render,
    .render_continuation = render_continuation,
    .image_text = IMAGE_TEXT,
    .close_reasoning = "<|eom|><|start|>assistant to=user<|message|>",
    .parser_create = parser_create,
};
