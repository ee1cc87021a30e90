/*
 * chatml_think.c — the ChatML family with a <think> reasoning block (Qwen3, Qwen3-VL):
 *
 *   <|im_start|>system\n…<|im_end|>\n<|im_start|>user\n…<|im_end|>\n
 *   <|im_start|>assistant\n<think>\nreasoning\n</think>\n\nanswer<|im_end|>\n
 *
 * Tool calls are <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call> inside the answer;
 * tool results come back as a user turn wrapped in <tool_response>. Instant mode opens the
 * answer with an empty think block, as Qwen3's template does for enable_thinking=false.
 */
#include "chat/chatml_think.h"
#include "chat/stream_parser.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void render_tools(strbuf *out, const char *tools_json) {
    json_t *tools = json_loads(tools_json, 0, NULL);
    if (json_is_array(tools) && json_array_size(tools) > 0) {
        strbuf_puts(out, "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                         "You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
        size_t i;
        json_t *tool;
        json_array_foreach(tools, i, tool) {
            char *text = json_dumps(tool, JSON_PRESERVE_ORDER);
            if (text) strbuf_printf(out, "\n%s", text);
            free(text);
        }
        strbuf_puts(out, "\n</tools>\n\nFor each function call, return a json object with function name and "
                         "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
                         "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
    }
    json_decref(tools);
}

static const char IMAGE_TEXT[] = "<|vision_start|><|image_pad|><|vision_end|>";

static void render_tool_result(strbuf *out, const chat_message *m, const chat_render_opts *o, chat_images *images) {
    strbuf_puts(out, "<|im_start|>user\n<tool_response>\n");
    chat_put_content(out, m, o, IMAGE_TEXT, images);
    strbuf_puts(out, "\n</tool_response><|im_end|>\n");
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
    for (size_t i = 0; i < n; i++) render_tool_result(out, &results[i], o, images);
    render_opening(out, o);
    return out->data != NULL;
}

static bool render(const ember_chat *chat, const chat_render_opts *o, strbuf *out, chat_images *images) {
    const char *system = o->system;
    for (size_t i = 0; i < chat->n && !system; i++)
        if (chat->msgs[i].role == EMBER_ROLE_SYSTEM) system = chat->msgs[i].content;
    if (system || o->tools_json) {
        strbuf_printf(out, "<|im_start|>system\n%s", system ? system : "");
        if (o->tools_json) render_tools(out, o->tools_json);
        strbuf_puts(out, "<|im_end|>\n");
    }
    for (size_t i = 0; i < chat->n; i++) {
        const chat_message *m = &chat->msgs[i];
        switch (m->role) {
        case EMBER_ROLE_SYSTEM:
            break;
        case EMBER_ROLE_USER:
            strbuf_puts(out, "<|im_start|>user\n");
            chat_put_content(out, m, o, IMAGE_TEXT, images);
            strbuf_puts(out, "<|im_end|>\n");
            break;
        case EMBER_ROLE_TOOL:
            render_tool_result(out, m, o, images);
            break;
        case EMBER_ROLE_ASSISTANT:
            strbuf_puts(out, "<|im_start|>assistant\n");
            if (m->reasoning && m->reasoning[0]) strbuf_printf(out, "<think>\n%s\n</think>\n\n", m->reasoning);
            strbuf_puts(out, m->content);
            for (int c = 0; c < m->n_calls; c++) {
                strbuf_printf(out, "%s<tool_call>\n{\"name\": \"%s\", \"arguments\": %s}\n</tool_call>",
                              (c == 0 && !m->content[0]) ? "" : "\n", m->calls[c].name,
                              m->calls[c].arguments ? m->calls[c].arguments : "{}");
            }
            strbuf_puts(out, "<|im_end|>\n");
            break;
        }
    }
    render_opening(out, o);
    return out->data != NULL;
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
