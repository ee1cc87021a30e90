/*
 * ember/run.h — answering a chat: modes (Instant, Thinking, Contemplating), events, results.
 *
 *   An ember_run answers a chat in one of three modes and reports what happens as a stream of
 *   typed events (ember_event); when it ends it holds an ember_result, which also serializes to
 *   the JSON that `ember ask --json` prints.
 *
 * Threads: see ember_event_fn for where events arrive; ember_run_cancel may be called from any
 * thread (a signal handler's thread included, not the handler itself); a result belongs to the
 * caller and is read by one thread at a time. A prefix cache serves one run at a time.
 */
#ifndef EMBER_PUBLIC_RUN_H
#define EMBER_PUBLIC_RUN_H

#include "ember/core.h"
#include "ember/engine.h"
#include "ember/chat.h"
#include "ember/vision.h"

struct ember_tools;  /* ember/tools.h */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Runs: modes, events, results                                                              */

EMBER_API const char *ember_mode_name(ember_mode mode);
EMBER_API const char *ember_reasoning_name(ember_reasoning reasoning);
/* Parse "instant"/"thinking"/"contemplating" and "low"/…/"xhigh"; false if unknown. */
EMBER_API bool ember_mode_parse(const char *text, ember_mode *mode);
EMBER_API bool ember_reasoning_parse(const char *text, ember_reasoning *reasoning);

/* The most Contemplating agents a run may have: the CLI (--agents, /agents), the server's
 * --max-agents and its default, and the web app (through GET /v1/models) all use this one. */
#define EMBER_AGENTS_MAX 64

/* The approach hint Contemplating gives agent `index` (0-based): its reasoning opens with
 * "Approach: <hint>\n". Public so that training data can show a model the same line. */
EMBER_API void ember_contemplate_approach(int index, char *out, size_t size);

/* Whether and which tool the model must call (OpenAI's tool_choice). A forced choice holds for
 * the run's first generation only (from its first token; Thinking may reason first), then
 * the model decides again; it cannot be combined with sampling.grammar. */
typedef enum ember_tool_choice {
    EMBER_TOOL_CHOICE_AUTO,       /* the model decides (the default) */
    EMBER_TOOL_CHOICE_NONE,       /* no tool is offered (zoom included) */
    EMBER_TOOL_CHOICE_REQUIRED,   /* the model calls one or more of the offered tools */
    EMBER_TOOL_CHOICE_FUNCTION,   /* the model calls tool_choice_name */
} ember_tool_choice;

/* When Contemplating's synthesizer writes the final answer. */
typedef enum ember_synthesis {
    EMBER_SYNTHESIS_DISPUTED,     /* when the vote falls short of `consensus`; otherwise the
                                     most confident agreeing agent's answer stands (default) */
    EMBER_SYNTHESIS_ALWAYS,       /* after every vote */
    EMBER_SYNTHESIS_NEVER,        /* the vote's answer stands whatever its share (sampling) */
} ember_synthesis;
/* "disputed", "always", "never". */
EMBER_API bool ember_synthesis_parse(const char *text, ember_synthesis *synthesis);

typedef struct ember_run_params {
    ember_mode mode;
    ember_reasoning reasoning;   /* strength written into the system block */
    int think_budget;            /* most reasoning tokens before the channel is closed; 0 = none */
    bool budget_cue;             /* before closing, inject a one-line "conclude now" cue */
    int max_tokens;              /* most generated tokens (reasoning + answer); 0 = to context */
    ember_sampling sampling;
    const char *system;          /* system prompt, or NULL for the model's default */
    const char *current_date;    /* "YYYY-MM-DD" for the system block, or NULL for today */
    /* Contemplating */
    int agents;                  /* parallel agents, 1..EMBER_AGENTS_MAX; 0 = 4 */
    bool early_stop;             /* confidence threshold and consensus stopping */
    float keep_fraction;         /* agents scoring below this quantile of finishers stop (0.9) */
    float consensus;             /* stop everyone once the weighted vote share reaches this, with at
                                    least this share of the started agents behind it (1: all agree,
                                    as early-stopping self-consistency stops on a unanimous window) */
    int first_wave;              /* early stop: agents that start at once (0 = half, at least 2);
                                    the others start only if these reach no consensus */
    ember_synthesis synthesis;   /* when a synthesizer writes the answer (disputed votes) */
    int confidence_window;       /* tokens in the sliding confidence window (0 = 64) */
    const char *agent_grammar;   /* GBNF for every agent's generation, or NULL */
    /* Tools */
    struct ember_tools *tools;   /* built-in/MCP tools the run may call itself, or NULL */
    const char *tools_json;      /* more tool definitions (a JSON array) whose calls end the run
                                    with finish_reason "tool_calls" for the caller to run */
    int max_tool_steps;          /* most generate → tools → continue rounds (0 = 8) */
    ember_tool_choice tool_choice;   /* Instant and Thinking (Contemplating: auto or none) */
    const char *tool_choice_name;    /* EMBER_TOOL_CHOICE_FUNCTION: an offered tool's name */
    double tool_timeout_s;       /* per call (0 = the registry's default) */
    /* Vision */
    bool no_zoom;                /* do not offer the built-in zoom tool (offered in Thinking and
                                    Contemplating when the chat has images and the engine has
                                    vision) */
    struct ember_prefix_cache *prefix_cache; /* keep the prompt's sequence between runs of one
                                    conversation (see ember_prefix_cache_create), or NULL */
} ember_run_params;

EMBER_API void ember_run_params_init(ember_run_params *params);

typedef enum ember_event_type {
    EMBER_EVENT_REASONING_DELTA,  /* text on the reasoning channel */
    EMBER_EVENT_ANSWER_DELTA,     /* text on the answer channel */
    EMBER_EVENT_TOOL_CALL,        /* a complete tool call: name, arguments (JSON) */
    EMBER_EVENT_TOOL_RESULT,      /* a tool's output: name, text */
    EMBER_EVENT_AGENT_STARTED,    /* agent index, approach */
    EMBER_EVENT_AGENT_DELTA,      /* agent index, text, channel */
    EMBER_EVENT_AGENT_FINISHED,   /* agent index, answer, confidence, tokens, stop reason */
    EMBER_EVENT_VOTE,             /* the winning answer and its weighted share */
    EMBER_EVENT_BUDGET_REACHED,   /* the think budget closed the reasoning channel */
    EMBER_EVENT_USAGE,            /* token counts so far */
    EMBER_EVENT_ERROR,            /* a recoverable or final error; text holds the message */
    EMBER_EVENT_DONE,             /* the run ended; nothing follows */
} ember_event_type;

typedef struct ember_usage {
    int prompt_tokens;            /* tokens in the rendered prompt */
    int prompt_tokens_evaluated;  /* prompt tokens actually decoded (forks share, caches hit) */
    int reasoning_tokens;         /* tokens generated on reasoning channels (all agents) */
    int answer_tokens;            /* tokens generated on the answer channel */
    int tokens_saved;             /* Contemplating: tokens early stop avoided (estimated) */
    int kv_cells_peak;            /* most KV cells the run held at once */
    int image_tokens;             /* image embeddings in the prompt and zoomed crops */
    int images_encoded;           /* images the run sent through the encoder (not cached) */
} ember_usage;

typedef struct ember_timings {
    double prefill_tokens_per_s;
    double decode_tokens_per_s;
    double ttft_ms;               /* start of the run to the first answer token */
    double total_ms;
} ember_timings;

typedef struct ember_event {
    ember_event_type type;
    int agent;                    /* agent index in Contemplating, -1 otherwise */
    ember_channel channel;        /* for deltas */
    const char *text;             /* delta text, answer, tool output, error message, approach */
    const char *name;             /* tool name */
    const char *arguments;        /* tool arguments as JSON */
    float confidence;             /* agent score, vote share */
    int tokens;                   /* agent tokens */
    const char *stop_reason;      /* "finished", "low_confidence", "consensus", "cancelled", "budget" */
    bool synthesized;             /* EMBER_EVENT_VOTE: a synthesizer writes the answer next (false:
                                     the agents agreed and the winner's answer follows as is) */
    const ember_usage *usage;     /* for EMBER_EVENT_USAGE and EMBER_EVENT_DONE */
} ember_event;

/* Called on the engine's scheduler thread (deltas) or the run's thread (tools, done);
 * never concurrently for one run. The event and its strings live only during the call. */
typedef void (*ember_event_fn)(const ember_event *event, void *user);

typedef struct ember_run ember_run;
typedef struct ember_result ember_result;

/* Answers as Contemplating votes on them: the final answer is taken from the text (a \boxed{},
 * "the answer is …", "Answer: …", or the last line), then normalized: case and whitespace
 * folded, surrounding punctuation dropped, numbers canonical (1,000.50 -> 1000.5; a unit after
 * a number dropped), choice letters reduced ("(B)", "option b" -> "b"). free() the result. */
EMBER_API char *ember_answer_normalize(const char *text);

/* Answers the chat (whose last message is the user's) and blocks until done. The result is
 * the caller's to destroy; it exists even when the run failed part-way (what was generated
 * is kept), in which case the status says why. */
EMBER_API ember_status ember_run_chat(ember_engine *engine, const ember_chat *chat,
                                      const ember_run_params *params, ember_event_fn on_event,
                                      void *user, ember_result **result, ember_error *err);

/* The same, on a thread of its own; ember_run_wait joins it. */
EMBER_API ember_status ember_run_start(ember_engine *engine, const ember_chat *chat,
                                       const ember_run_params *params, ember_event_fn on_event,
                                       void *user, ember_run **run, ember_error *err);
/* Stops generation of every sequence of the run soon; what was generated is kept. */
EMBER_API void ember_run_cancel(ember_run *run);
EMBER_API ember_status ember_run_wait(ember_run *run, ember_result **result, ember_error *err);
EMBER_API void ember_run_destroy(ember_run *run);

/* A conversation's prompt cache. A run normally frees its sequences when it ends; with a
 * prefix cache (ember_run_params.prefix_cache) it leaves the prompt's sequence in the cache
 * instead, and the next run of the same conversation starts from it: only what follows the
 * common prefix (the new turn) is evaluated, and images in the prefix are neither encoded nor
 * evaluated again. Contemplating's agents fork that sequence. One run uses a cache at a time
 * (a second, concurrent run simply does without). The cache holds KV cells until cleared or
 * destroyed; destroy it before its engine. */
typedef struct ember_prefix_cache ember_prefix_cache;
EMBER_API ember_status ember_prefix_cache_create(ember_engine *engine, ember_prefix_cache **cache,
                                                 ember_error *err);
/* Frees the kept sequence (e.g. when the conversation is cleared). */
EMBER_API void ember_prefix_cache_clear(ember_prefix_cache *cache);
EMBER_API void ember_prefix_cache_destroy(ember_prefix_cache *cache);

/* One use of the built-in zoom tool. */
typedef struct ember_zoom {
    int agent;                    /* -1 for the main answer, else the Contemplating agent */
    int image;                    /* 0-based index into the conversation's images */
    double x1, y1, x2, y2;        /* the region in pixels of the original image */
    int tokens;                   /* image tokens the crop took in the context */
    const ember_image *crop;      /* the crop as the model saw it (small ones scaled up);
                                     owned by the result */
} ember_zoom;

EMBER_API void ember_result_destroy(ember_result *result);
EMBER_API const char *ember_result_answer(const ember_result *result);
EMBER_API const char *ember_result_reasoning(const ember_result *result);
EMBER_API ember_mode ember_result_mode(const ember_result *result);
/* "stop", "length", "tool_calls", "cancelled" or "error". */
EMBER_API const char *ember_result_finish_reason(const ember_result *result);
EMBER_API const ember_usage *ember_result_usage(const ember_result *result);
EMBER_API const ember_timings *ember_result_timings(const ember_result *result);
/* The zooms the run made, in order, and the boxes read from the final answer. */
EMBER_API size_t ember_result_zoom_count(const ember_result *result);
EMBER_API const ember_zoom *ember_result_zoom(const ember_result *result, size_t index);
EMBER_API size_t ember_result_box_count(const ember_result *result);
EMBER_API const ember_box *ember_result_box(const ember_result *result, size_t index);
/* The result as JSON (answer, reasoning, mode, usage, timings, and per mode agents, vote,
 * synthesis); the caller frees the string with free(). */
EMBER_API char *ember_result_json(const ember_result *result);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_RUN_H */
