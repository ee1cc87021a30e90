/*
 * chatml_think.c — the ChatML family with a <think> reasoning block (Qwen3, Qwen3-VL):
 *
 *   <|im_start|>system\n…<|im_end|>\n<|im_start|>user\n…<|im_end|>\n
 *   <|im_start|>assistant\n<think>\nreasoning\n</think>\n\nanswer<|im_end|>\n
 *
 * Tool calls are <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call> inside the answer
 * (arguments re-serialized as the template's tojson does); consecutive tool results come back
 * as one user turn of <tool_response> blocks. As in Qwen3's template, reasoning is kept only
 * for assistant turns after the last user query (earlier turns show their answer alone), and a
 * system message counts only first in the conversation. Instant mode opens the answer with an
 * empty think block, as the template does for enable_thinking=false.
 */
#include "chat/chatml_think.h"
#include "chat/json_text.h"
#include "chat/stream_parser.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The offered tools, or NULL when there are none. */
static json_t *load_tools(const char *tools_json) {
    json_t *tools = tools_json ? json_loads(tools_json, 0, NULL) : NULL;
    if (json_is_array(tools) && json_array_size(tools) > 0) return tools;
    json_decref(tools);
    return NULL;
}

static void render_tools(strbuf *out, const json_t *tools) {
    strbuf_puts(out, "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                     "You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
    for (size_t i = 0; i < json_array_size(tools); i++) {
        strbuf_puts(out, "\n");
        json_text_write(out, json_array_get(tools, i), false);
    }
    strbuf_puts(out, "\n</tools>\n\nFor each function call, return a json object with function name and "
                     "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
                     "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
}

/* A call's arguments as the template writes them: a JSON object through tojson; text that
 * is not JSON as it is. */
static void render_arguments(strbuf *out, const char *arguments) {
    json_t *args = json_loads(arguments ? arguments : "{}", JSON_DECODE_ANY, NULL);
    if (args) json_text_write(out, args, false);
    else strbuf_puts(out, arguments);
    json_decref(args);
}

/* `text` without the `chars` at its start (lead) and/or end (trail), as Python's strip. */
static void put_stripped(strbuf *out, const char *text, const char *chars, bool lead, bool trail) {
    size_t start = 0, end = strlen(text);
    while (lead && start < end && strchr(chars, text[start])) start++;
    while (trail && end > start && strchr(chars, text[end - 1])) end--;
    strbuf_append(out, text + start, end - start);
}

static const char IMAGE_TEXT[] = "<|vision_start|><|image_pad|><|vision_end|>";

/* Consecutive tool results share one user turn; `first`/`last` say where this one stands. */
static void render_tool_result(strbuf *out, const chat_message *m, bool first, bool last, const chat_render_opts *o,
                               chat_images *images) {
    if (first) strbuf_puts(out, "<|im_start|>user");
    strbuf_puts(out, "\n<tool_response>\n");
    chat_put_content(out, m, o, IMAGE_TEXT, images);
    strbuf_puts(out, "\n</tool_response>");
    if (last) strbuf_puts(out, "<|im_end|>\n");
}

static void render_opening(strbuf *out, const chat_render_opts *o) {
    strbuf_puts(out, "<|im_start|>assistant\n");
    if (o->opening == CHAT_OPEN_REASONING) strbuf_puts(out, "<think>\n");
    else if (o->opening == CHAT_OPEN_ANSWER) strbuf_puts(out, "<think>\n\n</think>\n\n");
}

/* The model ended its message after </tool_call> with <|im_end|> (not in the sequence). */
static bool render_continuation(const chat_message *results, size_t n, const chat_render_opts *o, strbuf *out,
                                chat_images *images) {
    strbuf_puts(out, "<|im_end|>\n");
    for (size_t i = 0; i < n; i++) render_tool_result(out, &results[i], i == 0, i + 1 == n, o, images);
    render_opening(out, o);
    return out->data != NULL;
}

/* Index of the last user message that is a query (not a <tool_response> wrapper), as the
 * template's last_query_index: the conversation's last index when there is none. */
static size_t last_query_index(const ember_chat *chat) {
    for (size_t k = chat->n; k-- > 0;) {
        const chat_message *m = &chat->msgs[k];
        if (m->role != EMBER_ROLE_USER) continue;
        size_t len = strlen(m->content);
        bool wrapped = strncmp(m->content, "<tool_response>", 15) == 0 && len >= 16 &&
                       strcmp(m->content + len - 16, "</tool_response>") == 0;
        if (!wrapped) return k;
    }
    return chat->n ? chat->n - 1 : 0;
}

static void render_assistant(strbuf *out, const chat_message *m, bool with_reasoning) {
    const char *reasoning = m->reasoning ? m->reasoning : "";
    strbuf_puts(out, "<|im_start|>assistant\n");
    if (with_reasoning) {
        strbuf_puts(out, "<think>\n");
        put_stripped(out, reasoning, "\n", true, true);
        strbuf_puts(out, "\n</think>\n\n");
        put_stripped(out, m->content, "\n", true, false);
    } else {
        strbuf_puts(out, m->content);
    }
    for (int c = 0; c < m->n_calls; c++) {
        strbuf_printf(out, "%s<tool_call>\n{\"name\": \"%s\", \"arguments\": ", (c == 0 && !m->content[0]) ? "" : "\n",
                      m->calls[c].name);
        render_arguments(out, m->calls[c].arguments);
        strbuf_puts(out, "}\n</tool_call>");
    }
    strbuf_puts(out, "<|im_end|>\n");
}

static bool render(const ember_chat *chat, const chat_render_opts *o, strbuf *out, chat_images *images) {
    /* Only a system message that opens the conversation is the system block (or the override). */
    bool first_is_system = chat->n > 0 && chat->msgs[0].role == EMBER_ROLE_SYSTEM;
    const char *system = o->system ? o->system : first_is_system ? chat->msgs[0].content : NULL;
    json_t *tools = load_tools(o->tools_json);
    if (tools) {
        strbuf_puts(out, "<|im_start|>system\n");
        if (system) strbuf_printf(out, "%s\n\n", system);
        render_tools(out, tools);
        strbuf_puts(out, "<|im_end|>\n");
    } else if (system) {
        strbuf_printf(out, "<|im_start|>system\n%s<|im_end|>\n", system);
    }
    json_decref(tools);
    size_t last_query = last_query_index(chat);
    for (size_t i = 0; i < chat->n; i++) {
        const chat_message *m = &chat->msgs[i];
        switch (m->role) {
        case EMBER_ROLE_SYSTEM:
            if (i == 0) break;  /* the system block above */
            strbuf_printf(out, "<|im_start|>system\n%s<|im_end|>\n", m->content);
            break;
        case EMBER_ROLE_USER:
            strbuf_puts(out, "<|im_start|>user\n");
            chat_put_content(out, m, o, IMAGE_TEXT, images);
            strbuf_puts(out, "<|im_end|>\n");
            break;
        case EMBER_ROLE_TOOL: {
            bool first = i == 0 || chat->msgs[i - 1].role != EMBER_ROLE_TOOL;
            bool last = i + 1 == chat->n || chat->msgs[i + 1].role != EMBER_ROLE_TOOL;
            render_tool_result(out, m, first, last, o, images);
            break;
        }
        case EMBER_ROLE_ASSISTANT: {
            bool has_reasoning = m->reasoning && m->reasoning[0];
            render_assistant(out, m, i > last_query && (i + 1 == chat->n || has_reasoning));
            break;
        }
        }
    }
    render_opening(out, o);
    return out->data != NULL && !out->failed;
}

/* ---- parser ---------------------------------------------------------------------------- */

enum { ST_REASONING, ST_ANSWER, ST_TOOL, ST_DONE };

static const char *const reasoning_markers[] = {"</think>", "<|im_end|>", "<|endoftext|>", NULL};
static const char *const answer_markers[] = {"<think>", "<tool_call>", "<|im_end|>", "<|endoftext|>", NULL};
static const char *const tool_markers[] = {"</tool_call>", "<|im_end|>", "<|endoftext|>", NULL};
static const char *const done_markers[] = {NULL};

static const char *const *markers(int state) {
    switch (state) {
    case ST_REASONING: return reasoning_markers;
    case ST_ANSWER: return answer_markers;
    case ST_TOOL: return tool_markers;
    default: return done_markers;
    }
}

static void on_text(chat_parser *p, const char *text, size_t len) {
    if (p->state == ST_DONE) {
        p->channel = EMBER_CHANNEL_ANSWER;
    }
    /* The template puts newlines around the think block; they are layout, not content. */
    if (p->channel_fresh && p->channel != EMBER_CHANNEL_TOOL) {
        while (len && (*text == '\n' || *text == ' ')) text++, len--;
    }
    stream_parser_emit_text(p, text, len);
}

static void set_state(chat_parser *p, int state) {
    p->state = state;
    p->channel = state == ST_REASONING ? EMBER_CHANNEL_REASONING
               : state == ST_TOOL ? EMBER_CHANNEL_TOOL : EMBER_CHANNEL_ANSWER;
    p->channel_fresh = true;
}

static void on_marker(chat_parser *p, const char *marker) {
    if (strcmp(marker, "</think>") == 0) set_state(p, ST_ANSWER);
    else if (strcmp(marker, "<think>") == 0) set_state(p, ST_REASONING);
    else if (strcmp(marker, "<tool_call>") == 0) set_state(p, ST_TOOL);
    else if (strcmp(marker, "</tool_call>") == 0) {
        p->recipient[0] = '\0';
        stream_parser_end_tool(p);
        set_state(p, ST_ANSWER);
    } else {  /* <|im_end|> or <|endoftext|> */
        if (p->state == ST_TOOL) stream_parser_end_tool(p);
        p->state = ST_DONE;
        p->turn_ended = true;
        p->emit(p->user, CHAT_EVENT_TURN_END, "", 0, NULL);
    }
}

static const stream_rules rules = {markers, on_text, on_marker};

static chat_parser *parser_create(chat_opening opening, chat_emit_fn emit, void *user) {
    if (opening == CHAT_OPEN_REASONING)
        return stream_parser_create(&rules, ST_REASONING, EMBER_CHANNEL_REASONING, emit, user);
    return stream_parser_create(&rules, ST_ANSWER, EMBER_CHANNEL_ANSWER, emit, user);
}

const chat_format chatml_think_format = {
    .name = "chatml-think",
    .render = render,
    .render_continuation = render_continuation,
    .image_text = IMAGE_TEXT,
    .close_reasoning = "\n</think>\n\n",
    .parser_create = parser_create,
};
