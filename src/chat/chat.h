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
} chat_message;

struct ember_chat {
    chat_message *msgs;
    size_t n;
    size_t cap;
};

/* Where generation starts, i.e. what the prompt opened for the model. */
typedef enum chat_opening {
    CHAT_OPEN_HEADER,     /* a bare assistant turn: the model writes its own channel header */
    CHAT_OPEN_REASONING,  /* the reasoning channel is open (Thinking) */
    CHAT_OPEN_ANSWER,     /* the answer channel is open (Instant) */
} chat_opening;

typedef struct chat_render_opts {
    chat_opening opening;
    ember_reasoning reasoning;
    const char *system;          /* overrides a system message in the chat; NULL = none */
    const char *current_date;    /* "YYYY-MM-DD" or NULL */
    const char *tools_json;      /* JSON array of tool definitions, or NULL */
} chat_render_opts;

typedef enum chat_event_kind {
    CHAT_EVENT_REASONING,   /* text on the reasoning channel */
    CHAT_EVENT_ANSWER,      /* text on the answer channel */
    CHAT_EVENT_TOOL_CALL,   /* a complete tool message: recipient + raw body */
    CHAT_EVENT_TURN_END,    /* the model ended its turn */
} chat_event_kind;

typedef void (*chat_emit_fn)(void *user, chat_event_kind kind, const char *text, size_t len,
                             const char *recipient);

typedef struct chat_parser chat_parser;

typedef struct chat_format {
    const char *name;
    /* Renders the whole prompt, generation opening included. */
    bool (*render)(const ember_chat *chat, const chat_render_opts *opts, strbuf *out);
    /* Text that closes the reasoning channel and opens the answer (budget forcing). */
    const char *close_reasoning;
    chat_parser *(*parser_create)(chat_opening opening, chat_emit_fn emit, void *user);
} chat_format;

const chat_format *chat_format_find(const char *name);

/* Parsers, whatever their format. */
void chat_parser_feed(chat_parser *parser, const char *text, size_t len);
/* Flushes held-back text (end of generation). */
void chat_parser_finish(chat_parser *parser);
ember_channel chat_parser_channel(const chat_parser *parser);
bool chat_parser_turn_ended(const chat_parser *parser);
void chat_parser_destroy(chat_parser *parser);

#endif
