/*
 * chat.h — conversations and chat formats (internal).
 *
 * A chat format renders a conversation to the exact prompt text its model family was trained
 * on, and creates incremental parsers that split generated text into channels. Formats are
 * data plus a parser; the agent layer never looks at format-specific text.
 */
#ifndef EMBER_CHAT_H
#define EMBER_CHAT_H

#include "ember.h"
#include "core/strbuf.h"

typedef struct chat_tool_call {
    char *name;        /* tool name, possibly namespaced ("server.tool") */
    char *arguments;   /* JSON object text */
    char *id;          /* call id, for OpenAI clients; may be NULL */
} chat_tool_call;

typedef struct chat_message {
    ember_role role;
    char *content;            /* text (may be empty, never NULL) */
    char *reasoning;          /* assistant reasoning, or NULL */
    char *name;               /* tool role: the tool's name */
    chat_tool_call *calls;    /* assistant tool calls */
    int n_calls;
    ember_image **images;     /* user and tool messages: attached images (references) */
    int n_images;
} chat_message;

/* Images in the order a render wrote their placeholders (borrowed from the chat). */
typedef struct chat_images {
    const ember_image **items;
    size_t n;
    size_t cap;
    bool oom;
} chat_images;

struct ember_chat {
    chat_message *msgs;
    size_t n;
    size_t cap;
};

/* The public types under the names the chat layer grew up with. */
typedef ember_opening chat_opening;
#define CHAT_OPEN_HEADER EMBER_OPEN_HEADER
#define CHAT_OPEN_REASONING EMBER_OPEN_REASONING
#define CHAT_OPEN_ANSWER EMBER_OPEN_ANSWER
typedef ember_render_opts chat_render_opts;
typedef ember_parse_event chat_event_kind;
#define CHAT_EVENT_REASONING EMBER_PARSE_REASONING
#define CHAT_EVENT_ANSWER EMBER_PARSE_ANSWER
#define CHAT_EVENT_TOOL_CALL EMBER_PARSE_TOOL_CALL
#define CHAT_EVENT_TURN_END EMBER_PARSE_TURN_END
typedef ember_parse_fn chat_emit_fn;
typedef struct ember_parser chat_parser;

typedef struct chat_format {
    const char *name;
    /* Renders the whole prompt, generation opening included; appends the images to `images`
     * (may be NULL) in the order their placeholders appear. */
    bool (*render)(const ember_chat *chat, const chat_render_opts *opts, strbuf *out, chat_images *images);
    /* After a generated message that made tool calls (its text is already in the sequence):
     * closes it, renders the tool results `results[0..n)` and opens the next assistant turn
     * at `opts->opening`. Used to continue a forked agent without re-rendering its branch. */
    bool (*render_continuation)(const chat_message *results, size_t n, const chat_render_opts *opts, strbuf *out,
                                chat_images *images);
    /* What an image becomes in text renders (image_placeholder NULL). */
    const char *image_text;
    /* Text that closes the reasoning channel and opens the answer (budget forcing). */
    const char *close_reasoning;
    chat_parser *(*parser_create)(chat_opening opening, chat_emit_fn emit, void *user);
} chat_format;

const chat_format *chat_format_find(const char *name);
/* A deep copy of a conversation (the run appends its tool rounds to its own copy). */
ember_chat *chat_clone(const ember_chat *chat);
/* Sets the reasoning of the last message when it is the assistant's. */
ember_status chat_set_last_reasoning(ember_chat *chat, const char *reasoning);

/* A message's text with its images: the i-th EMBER_IMAGE_MARKER in the text is image i;
 * images beyond the markers go first; markers without an image are dropped. Each image is
 * written as opts->image_placeholder, else `image_text`, and appended to `images`. */
void chat_put_content(strbuf *out, const chat_message *m, const chat_render_opts *opts, const char *image_text,
                      chat_images *images);
void chat_images_free(chat_images *images);

/* Parsers, whatever their format. */
void chat_parser_feed(chat_parser *parser, const char *text, size_t len);
/* Flushes held-back text (end of generation). */
void chat_parser_finish(chat_parser *parser);
ember_channel chat_parser_channel(const chat_parser *parser);
bool chat_parser_turn_ended(const chat_parser *parser);
void chat_parser_destroy(chat_parser *parser);

#endif
