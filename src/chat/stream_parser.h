/*
 * stream_parser.h — the machinery every format's incremental parser shares: generated text
 * arrives in arbitrary pieces; the parser looks for the format's markers (special-token text
 * such as "<|eom|>") in the current state's list and never emits text that might be the start
 * of a marker split across pieces — it holds that suffix back until the next piece decides.
 *
 * A format supplies a small state machine (stream_rules): for each state its markers, what
 * to do with plain text, and what a marker does. The parser owns its buffers.
 */
#ifndef EMBER_CHAT_STREAM_PARSER_H
#define EMBER_CHAT_STREAM_PARSER_H

#include "chat/chat.h"

typedef struct stream_rules {
    /* NULL-terminated markers to look for in `state`. */
    const char *const *(*markers)(int state);
    /* Plain text seen in the current state. */
    void (*on_text)(chat_parser *p, const char *text, size_t len);
    /* A marker of the current state's list was seen (the pointer is the list's entry). */
    void (*on_marker)(chat_parser *p, const char *marker);
} stream_rules;

struct ember_parser {
    const stream_rules *rules;
    int state;                /* the format's own state numbers */
    ember_channel channel;    /* channel of the text now being produced */
    bool turn_ended;
    bool channel_fresh;       /* nothing emitted yet on this channel message */
    strbuf pending;           /* text not yet consumed (held-back marker prefixes) */
    strbuf header;            /* format use: a message header being read */
    strbuf body;              /* format use: a tool message's body */
    char recipient[128];      /* format use: the tool a message is addressed to */
    chat_emit_fn emit;
    void *user;
};

chat_parser *stream_parser_create(const stream_rules *rules, int state, ember_channel channel,
                                  chat_emit_fn emit, void *user);
/* Emits text on the parser's current channel (tool text goes to `body`). */
void stream_parser_emit_text(chat_parser *p, const char *text, size_t len);
/* Ends a tool message: emits CHAT_EVENT_TOOL_CALL with the recipient and body. */
void stream_parser_end_tool(chat_parser *p);

#endif
