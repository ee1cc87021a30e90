/*
 * adapter.h — what differs between the remote engines ember drives: llama-server, vLLM and
 * SGLang. One row per engine (adapter.c), no engine test anywhere else.
 *
 * ember renders every prompt itself and asks for a raw completion of that text, streamed,
 * so its channels, budget forcing and tool-call parsing work as in-process. Per engine:
 *   - the completion endpoint and the fields of the request (token limit, how many top
 *     log-probabilities per token, grammar, special tokens kept in the output text);
 *   - the shape of one streamed event (llama-server's native `content` +
 *     `completion_probabilities`, or OpenAI's `choices[0].text` + `logprobs`);
 *   - tokenize and health endpoints.
 * Images: llama-server takes them with the raw prompt (`multimodal_data`, base64 PNG, one
 * media marker per image: the server's own, from /props); vLLM and SGLang take images only through chat completions, which would
 * hand prompt rendering to the engine, so ember refuses images on those (documented).
 */
#ifndef EMBER_BACKEND_ADAPTER_H
#define EMBER_BACKEND_ADAPTER_H

#include "ember.h"

#include <jansson.h>
#include <stdbool.h>

/* One token (or a piece of text) of a streamed answer. */
typedef struct remote_token {
    const char *piece;        /* text (points into the event JSON) */
    int32_t id;               /* the token id, -1 when the engine does not say */
    float logprob;            /* of the sampled token; 0 when absent */
    float top_logprob_mean;   /* mean of the top-k log-probabilities; 0 when absent */
} remote_token;

typedef enum remote_finish {
    REMOTE_FINISH_NONE = 0,   /* more to come */
    REMOTE_FINISH_EOS,        /* the model ended its turn (an end-of-generation token) */
    REMOTE_FINISH_LENGTH,     /* the request's token limit */
    REMOTE_FINISH_OTHER,      /* a stop string or anything else */
} remote_finish;

/* What one streamed event says. */
typedef struct remote_event {
    remote_token tokens[8];
    int n_tokens;
    remote_finish finish;
    int prompt_tokens;        /* the prompt's length, -1 when absent */
    int prompt_evaluated;     /* of those, evaluated (not from the prefix cache), -1 when absent */
    const char *error;        /* the engine reported an error */
} remote_event;

/* One completion request, engine-neutral. */
typedef struct remote_request {
    const char *prompt;
    const char *model;        /* the served model's name (vLLM/SGLang want it) */
    const ember_sampling *sampling;
    int max_tokens;
    int top_logprobs;         /* top log-probabilities per token (confidence) */
    const char *const *keep_tokens; /* special tokens the output text must show, NULL-ended */
    const char *const *images_base64; /* one per media marker in prompt (the replica's marker) */
    int n_images;
} remote_request;

typedef struct remote_adapter {
    const char *name;              /* "llama-server", "vllm", "sglang" */
    const char *completions_path;  /* raw completions, streamed */
    const char *tokenize_path;
    const char *health_path;
    bool images;                   /* takes images with the raw prompt */
    bool lazy_grammar;             /* grammars that switch on at a trigger pattern */
    json_t *(*request)(const remote_request *req);
    /* `add_special`: as the completions endpoint tokenizes a prompt (a BOS added when the
     * model asks for one); without, the text's own tokens. */
    json_t *(*tokenize_request)(const char *text, const char *model, bool add_special);
    /* Tokens counted in a tokenize response; -1 when it is not one. */
    int (*tokenize_count)(json_t *response);
    /* Parses one streamed event; false when it is not an event of this engine. */
    bool (*parse_event)(json_t *event, remote_event *out);
} remote_adapter;

extern const remote_adapter remote_llama_server;
extern const remote_adapter remote_vllm;
extern const remote_adapter remote_sglang;

/* The adapter named `name` ("llama-server", "llama.cpp", "vllm", "sglang"), or NULL. */
const remote_adapter *remote_adapter_find(const char *name);

#endif
