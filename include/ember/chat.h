/*
 * ember/chat.h — conversations and the chat formats: prompt rendering, incremental output
 * parsing, tool calls in a format's own notation.
 *
 *   An ember_chat is a conversation: an ordered list of messages (with images and tool calls).
 *   A format ("muse-glimmer", "chatml-think") renders it to the exact prompt text the model
 *   family was trained on, and an ember_parser splits generated text back into channels.
 *
 * Threads: an ember_chat and an ember_parser are used by one thread at a time; a run reads its
 * chat until it ends (ember_run_chat returns, ember_run_wait joins), so leave it unchanged
 * meanwhile. Rendering and tool-call parsing keep no state.
 */
#ifndef EMBER_PUBLIC_CHAT_H
#define EMBER_PUBLIC_CHAT_H

#include "ember/core.h"
#include "ember/vision.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Conversations                                                                             */

typedef enum ember_role {
    EMBER_ROLE_SYSTEM,
    EMBER_ROLE_USER,
    EMBER_ROLE_ASSISTANT,
    EMBER_ROLE_TOOL,
} ember_role;

typedef struct ember_chat ember_chat;

EMBER_API ember_chat *ember_chat_create(void);
EMBER_API void ember_chat_destroy(ember_chat *chat);
/* Appends a message; text is copied. For EMBER_ROLE_TOOL, `name` is the tool's name. */
EMBER_API ember_status ember_chat_add(ember_chat *chat, ember_role role, const char *text,
                                      ember_error *err);
/* Appends an assistant message with its reasoning (either may be NULL). */
EMBER_API ember_status ember_chat_add_assistant(ember_chat *chat, const char *reasoning,
                                                const char *answer, ember_error *err);
EMBER_API ember_status ember_chat_add_tool_result(ember_chat *chat, const char *tool_name,
                                                  const char *output, ember_error *err);
/* Adds a tool call to the conversation: to the last message when it is an assistant message
 * without answer text, else to a new assistant message. `arguments` is a JSON object as text;
 * `id` (may be NULL) is the client's call id. */
EMBER_API ember_status ember_chat_add_tool_call(ember_chat *chat, const char *name,
                                                const char *arguments, const char *id,
                                                ember_error *err);
/* Attaches an image to the last message, which must be the user's (or a tool result). The
 * i-th EMBER_IMAGE_MARKER in the message's text is where the i-th image goes; images beyond
 * the markers go before the text, in order. The chat takes its own reference. */
EMBER_API ember_status ember_chat_add_image(ember_chat *chat, const ember_image *image, ember_error *err);
/* Images of the whole conversation, in prompt order (the zoom tool's and boxes' "image N"
 * counts from 1 in this order). */
EMBER_API size_t ember_chat_image_count(const ember_chat *chat);
EMBER_API const ember_image *ember_chat_image(const ember_chat *chat, size_t index);
/* Removes the last message (e.g. a user turn that could not be answered). */
EMBER_API void ember_chat_pop(ember_chat *chat);
EMBER_API void ember_chat_clear(ember_chat *chat);
EMBER_API size_t ember_chat_count(const ember_chat *chat);

/* ---------------------------------------------------------------------------------------- */
/* Modes                                                                                     */

typedef enum ember_mode {
    EMBER_MODE_INSTANT,        /* answer at once, no reasoning channel */
    EMBER_MODE_THINKING,       /* one reasoning chain, then the answer */
    EMBER_MODE_CONTEMPLATING,  /* several agents reason in parallel, then converge */
} ember_mode;

typedef enum ember_reasoning {
    EMBER_REASONING_LOW,
    EMBER_REASONING_MEDIUM,
    EMBER_REASONING_HIGH,
    EMBER_REASONING_XHIGH,
} ember_reasoning;

/* ---------------------------------------------------------------------------------------- */
/* Chat formats: prompt rendering and incremental output parsing                             */
/* The run API uses these itself; they are public for remote engines (which return raw text), */
/* for tools that inspect prompts, and for tests.                                             */

typedef enum ember_channel {
    EMBER_CHANNEL_REASONING,
    EMBER_CHANNEL_ANSWER,
    EMBER_CHANNEL_TOOL,
} ember_channel;

typedef enum ember_opening {
    EMBER_OPEN_HEADER,     /* a bare assistant turn: the model writes its own channel header */
    EMBER_OPEN_REASONING,  /* the reasoning channel is opened by the prompt (Thinking) */
    EMBER_OPEN_ANSWER,     /* the answer channel is opened by the prompt (Instant) */
} ember_opening;

typedef struct ember_render_opts {
    ember_opening opening;
    ember_reasoning reasoning;
    const char *system;        /* overrides the chat's system message; NULL = none */
    const char *current_date;  /* "YYYY-MM-DD", or NULL for today */
    const char *tools_json;    /* JSON array of OpenAI-style tool definitions, or NULL */
    const char *image_placeholder; /* written where an image goes; NULL = the format's own
                                      (Muse Glimmer <|patch|>, ChatML <|vision_start|><|image_pad|>
                                      <|vision_end|>); runs use EMBER_IMAGE_MARKER */
} ember_render_opts;

/* Renders the chat to the prompt text of `format` ("muse-glimmer", "chatml-think");
 * *prompt is the caller's to free(). */
EMBER_API ember_status ember_chat_render(const ember_chat *chat, const char *format,
                                         const ember_render_opts *opts, char **prompt,
                                         ember_error *err);

typedef enum ember_parse_event {
    EMBER_PARSE_REASONING,   /* text on the reasoning channel */
    EMBER_PARSE_ANSWER,      /* text on the answer channel */
    EMBER_PARSE_TOOL_CALL,   /* a whole tool message: recipient (may be "") and raw body */
    EMBER_PARSE_TURN_END,    /* the model ended its turn */
} ember_parse_event;

typedef void (*ember_parse_fn)(void *user, ember_parse_event kind, const char *text, size_t len,
                               const char *recipient);

typedef struct ember_parser ember_parser;

EMBER_API ember_status ember_parser_create(const char *format, ember_opening opening,
                                           ember_parse_fn on_parse, void *user,
                                           ember_parser **parser, ember_error *err);
/* Feeds generated text in pieces of any size; markers split across pieces are held back. */
EMBER_API void ember_parser_feed(ember_parser *parser, const char *text, size_t len);
/* Flushes held-back text at the end of generation. */
EMBER_API void ember_parser_finish(ember_parser *parser);
EMBER_API ember_channel ember_parser_channel(const ember_parser *parser);
EMBER_API bool ember_parser_turn_ended(const ember_parser *parser);
EMBER_API void ember_parser_destroy(ember_parser *parser);

/* ---------------------------------------------------------------------------------------- */
/* Tool calls in a chat format                                                               */

/* A lazy grammar that makes every tool call the model starts well-formed for the offered
 * tools (see ember_sampling.grammar_trigger). Runs apply it by themselves when tools are
 * offered and no grammar is given; it is public for remote engines and tests. free() both. */
EMBER_API ember_status ember_tool_grammar(const char *format, const char *tools_json,
                                          char **grammar, char **trigger, ember_error *err);

/* A generated tool message → calls. `format` is the chat format, `recipient` the message's
 * recipient (Muse Glimmer's to=NAME, may be "" for ChatML), `body` its raw text (ATEM markup
 * or ChatML's JSON), `tools_json` the offered definitions (NULL = none; string-typed
 * parameters then stay strings). On success *calls_json is a JSON array of
 * {"name", "arguments": {…}}; free() it. EMBER_ERR_FORMAT when the body is not a call. */
EMBER_API ember_status ember_tool_calls_parse(const char *format, const char *recipient,
                                              const char *body, const char *tools_json,
                                              char **calls_json, ember_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_CHAT_H */
