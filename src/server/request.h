/*
 * request.h — a POST /v1/chat/completions body, parsed and checked. Parsing touches no
 * engine: it turns untrusted JSON into plain C data (the fuzz target drives it directly)
 * and says exactly what is wrong, as an OpenAI error (status, type, code, param, message).
 *
 * Mapping: reasoning_effort "none"/"minimal" → Instant; "low"…"xhigh" → Thinking with that
 * strength; the "ember" object may choose any mode (Contemplating with its agents, budget,
 * early stop and consensus). response_format json_schema/json_object becomes a GBNF grammar
 * wrapped for the chosen mode and chat format (see schema_gbnf.h).
 */
#ifndef EMBER_SERVER_REQUEST_H
#define EMBER_SERVER_REQUEST_H

#include "ember.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An OpenAI-style error: {"error": {"message", "type", "param", "code"}} with an HTTP status. */
typedef struct srv_error {
    int status;              /* HTTP status: 400, 401, 404, 413, 429, 500, 503 … */
    const char *type;        /* "invalid_request_error", "authentication_error", "server_error" … */
    const char *code;        /* e.g. "context_length_exceeded", or NULL */
    char param[96];          /* the offending field ("messages[1].content"), or empty */
    char message[512];
} srv_error;

/* Fills err and returns false, for `return srv_fail(…)` in parsers. */
bool srv_fail(srv_error *err, int status, const char *type, const char *code, const char *param,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The error as the JSON body OpenAI sends; free() it. */
char *srv_error_json(const srv_error *err);

typedef struct srv_call {
    char *id;                /* the client's call id, or NULL */
    char *name;
    char *arguments;         /* JSON object as text */
} srv_call;

typedef struct srv_image {
    unsigned char *data;     /* the encoded file (PNG, JPEG …) from a data: URL */
    size_t len;
} srv_image;

typedef struct srv_message {
    ember_role role;
    char *content;           /* text parts joined by "\n"; "" when absent; an image part is
                                EMBER_IMAGE_MARKER where it stood */
    char *reasoning;         /* assistant reasoning_content, or NULL */
    char *tool_name;         /* tool messages: the called tool's name */
    srv_call *calls;         /* assistant tool_calls */
    int n_calls;
    srv_image *images;       /* user and tool messages: image parts, in order */
    int n_images;
} srv_message;

typedef enum srv_format_kind {
    SRV_FORMAT_TEXT,
    SRV_FORMAT_JSON_OBJECT,
    SRV_FORMAT_JSON_SCHEMA,
} srv_format_kind;

typedef enum srv_tool_choice {
    SRV_TOOLS_AUTO,          /* the model decides (the default when tools are given) */
    SRV_TOOLS_NONE,          /* tools are not offered */
    SRV_TOOLS_REQUIRED,      /* the model must call one (a grammar from the first token) */
    SRV_TOOLS_FUNCTION,      /* the model must call tool_choice_name */
} srv_tool_choice;

typedef struct srv_request {
    char *model;             /* as sent, or NULL */
    srv_message *messages;
    int n_messages;
    bool stream;
    bool include_usage;      /* stream_options.include_usage */
    int max_tokens;          /* max_completion_tokens or max_tokens; 0 = not set */
    bool has_temperature, has_top_p, has_seed;
    bool ignore_eos;         /* generate max_tokens whatever the model says (as vLLM, llama-server) */
    float temperature;
    float top_p;
    uint32_t seed;
    char **stop;             /* stop strings */
    int n_stop;
    srv_format_kind format;
    char *grammar;           /* GBNF for the run (structured output or ember.grammar), or NULL */
    char *agent_grammar;     /* ember.agent_grammar: GBNF for every Contemplating agent, or NULL
                                (ember.grammar then constrains the synthesized answer only) */
    ember_mode mode;
    ember_reasoning reasoning;
    int think_budget;        /* 0 = none */
    bool budget_cue;
    int agents;              /* Contemplating */
    bool early_stop;
    float consensus;         /* 0 = the library's default */
    int first_wave;          /* 0 = the library's default */
    ember_synthesis synthesis;
    char *tools_json;        /* the client's tool definitions (JSON array), or NULL */
    srv_tool_choice tool_choice;
    char *tool_choice_name;  /* SRV_TOOLS_FUNCTION: {"type":"function","function":{"name"}} */
    char *conversation_id;   /* ember.conversation_id: append to this stored conversation */
    bool store;              /* ember.store: keep this exchange in a new conversation */
    int64_t parent_id;       /* ember.parent_id: the stored message this turn follows (a
                                branch); 0 = the conversation's head (not given), -1 = none:
                                the turn is a first message (given as 0) */
    bool regenerate;         /* ember.regenerate: the last message is parent_id itself; only
                                the new answer is stored (a sibling of the earlier ones) */
    bool artifacts;          /* ember.artifacts: tell the model how to write artifacts and
                                return those in the answer (artifacts.h) */
    bool ember_events;       /* the client sent an "ember" object: stream ember's own events */
} srv_request;

typedef struct srv_request_limits {
    const char *chat_format; /* the engine's format ("muse-glimmer", "chatml-think") */
    int max_agents;          /* most Contemplating agents */
    int n_ctx;               /* the engine's context (bounds ember.think_budget) */
} srv_request_limits;

/* Image parts are data: URLs ("data:image/png;base64,…"); the server fetches nothing. */
enum { SRV_MAX_IMAGES = 16 };

/* Parses and checks a request body (any bytes). On failure the request is left empty and
 * err says why (always a 4xx). */
bool srv_request_parse(const char *body, size_t len, const srv_request_limits *limits,
                       srv_request *req, srv_error *err);
void srv_request_free(srv_request *req);
/* A required or named tool_choice: tools are offered (the request's or the server's built-ins,
 * a JSON array or NULL), the name is one of them, the mode is not Contemplating and no other
 * grammar is asked for; else a 400 on "tool_choice". */
bool srv_request_check_tool_choice(const srv_request *req, const char *server_tools_json, srv_error *err);

#endif
