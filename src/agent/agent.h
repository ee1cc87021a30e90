/*
 * agent.h — one generating branch of a run: a sequence, its chat parser, its token counts,
 * its confidence and its output. Instant and Thinking runs have one agent; Contemplating has
 * N plus a synthesizer. An agent's token callback runs on the scheduler thread; everything
 * else on the run's thread while the agent is idle.
 */
#ifndef EMBER_AGENT_AGENT_H
#define EMBER_AGENT_AGENT_H

#include "agent/result.h"
#include "chat/chat.h"
#include "core/clock.h"

#include <pthread.h>
#include <stdatomic.h>

enum { RUN_MAX_SEQS = 72 };  /* 64 agents + root + synthesizer, with room */

typedef struct run_ctx {
    ember_engine *engine;
    const chat_format *format;
    ember_run_params params;
    ember_event_fn on_event;
    void *user;
    ember_result *result;
    double t_start;          /* ms, monotonic */
    double t_first_token;    /* prompt evaluated */
    double t_first_answer;
    atomic_bool cancelled;
    int kv_cells_peak;
    char *tools_json;        /* every tool offered to the model (registry + caller), or NULL */
    /* The run's live sequences, so that a cancel from another thread stops them at once
     * (even mid-prefill). Guarded by seqs_mu; the run's thread adds and removes. */
    pthread_mutex_t seqs_mu;
    ember_seq *seqs[RUN_MAX_SEQS];
    /* Guards the result's zooms and image usage, which Contemplating's tool rounds update
     * from several threads at once; also held while an agent feeds its crops (one at a time). */
    pthread_mutex_t result_mu;
    /* Vision */
    const ember_image **images;  /* the conversation's images in prompt order (the chat's) */
    int n_images;
    bool zoom;                   /* the built-in zoom tool is offered */
    bool cache_taken;            /* the prompt sequence came from params.prefix_cache */
} run_ctx;

typedef struct agent {
    run_ctx *run;
    int index;                  /* agent number in Contemplating, -1 for the main answer */
    ember_seq *seq;
    chat_parser *parser;
    strbuf *reasoning;          /* where this agent's channels are collected */
    strbuf *answer;
    strbuf hold;                /* bytes of an unfinished UTF-8 character */
    ember_channel hold_channel;
    int reasoning_tokens;
    int answer_tokens;
    int generated;
    int prompt_evaluated;       /* tokens the sequence decoded before its first sample */
    int max_tokens;             /* 0 = no limit */
    int think_budget;           /* 0 = none */
    bool ignore_eos;            /* the run's sampling.ignore_eos: only the token limit ends it */
    bool budget_reached;
    bool ended_in_reasoning;    /* the model ended its turn with the reasoning channel open */
    bool saw_tool_call;
    char *calls_json;           /* the calls of this generation round, a JSON array, or NULL */
    const char *stop_reason;    /* set when the agent stops itself */
    /* DeepConf confidence: sliding mean of per-token confidence, its minimum = the score */
    float *window;
    int window_size;
    int window_fill;
    int window_pos;
    double window_sum;
    float lowest;
    /* Contemplating's tools: the agent paused for its round of calls to run (scheduler thread
     * sets it, the run clears it while the agent is idle); the tool results to record and
     * announce as events on the scheduler thread, before the agent's next token. */
    bool tools_wanted;
    ember_event *deferred;       /* TOOL_RESULT events; their strings are owned here */
    int n_deferred;
    /* A forced tool call after reasoning (tool_grammar.h): budget forcing feeds call_close and
     * switches to call_sampling instead of opening the answer, unless the model already ended
     * its reasoning (reasoning_end seen in the last bytes, `tail`). */
    const char *call_close;
    const char *reasoning_end;
    const ember_sampling *call_sampling;
    bool reasoning_closed;
    char tail[16];
    /* Mode hooks, all called on the scheduler thread from the token callback: */
    void (*on_token)(struct agent *agent);     /* after the token was parsed */
    bool (*should_stop)(struct agent *agent);  /* true stops the agent (set stop_reason) */
    void (*on_stop)(struct agent *agent);      /* the agent stopped itself */
    void *mode;                                /* the mode's own state */
} agent;

/* Creates (parent NULL) or forks a sequence that the run's cancel reaches. */
ember_status run_seq_open(run_ctx *run, ember_seq *parent, const ember_sampling *sampling, ember_seq **seq,
                          ember_error *err);
/* Forgets and destroys one (NULL is fine). */
void run_seq_close(run_ctx *run, ember_seq *seq);
/* Cancels every live sequence of the run (any thread). */
void run_cancel_all(run_ctx *run);
/* The prompt's sequence: the prefix cache's when the run has one (its sampler set to
 * `sampling`), else a new one. run_prompt_seq_done gives it back to the cache (ok) or
 * destroys it; without a prefix cache it retires it (ok: the engine's prompt cache, when
 * on, keeps its cells for a later run) or destroys it. */
ember_status run_prompt_seq(run_ctx *run, const ember_sampling *sampling, ember_seq **seq, ember_error *err);
void run_prompt_seq_done(run_ctx *run, ember_seq *seq, bool ok);
/* Renders the chat with image markers and queues it on `seq` (keeping the cached prefix). */
ember_status run_reset_prompt(run_ctx *run, ember_seq *seq, const ember_chat *chat, chat_opening opening,
                              ember_error *err);

/* The zoom tool: is `name` the run's own zoom; run one zoom for `agent_index` (records it in
 * the result; *text is the tool result for the model, malloc'd, also on failure). */
struct zoom_outcome;
bool run_is_zoom(const run_ctx *run, const char *name);
ember_status run_zoom(run_ctx *run, int agent_index, const char *arguments, struct zoom_outcome *out, char **text);

/* prefix_cache.c */
bool prefix_cache_take(ember_prefix_cache *cache, ember_seq **seq);
void prefix_cache_give(ember_prefix_cache *cache, ember_seq *seq);
void run_emit(run_ctx *run, const ember_event *ev);

/* Sets up an agent on an existing sequence; the parser starts at `opening`. */
bool agent_init(agent *a, run_ctx *run, int index, ember_seq *seq, chat_opening opening,
                strbuf *reasoning, strbuf *answer);
void agent_free(agent *a);
/* Generates until the turn ends, a limit or a tool call; blocks the calling thread. */
ember_status agent_generate(agent *a, ember_error *err);
/* Makes budget forcing lead to a forced call (strings and sampling outlive the agent). */
void agent_force_call(agent *a, const char *close, const char *reasoning_end, const ember_sampling *call_sampling);
/* Adds an idle callback (scheduler thread) beside the agent's token callback; user = a. */
void agent_set_idle(agent *a, ember_seq_idle_fn on_idle);
/* A new parser at `opening` and a clean round (after a tool round fed to its sequence). */
bool agent_restart(agent *a, chat_opening opening);
/* Queues a TOOL_RESULT event for the agent's next token (copies the strings). */
void agent_defer_result(agent *a, const char *name, const char *arguments, const char *text);
/* Always answering (Thinking, Contemplating's synthesizer): when the model ended its turn
 * inside the reasoning channel with tokens left and the run not cancelled, closes the channel
 * and opens the answer as budget forcing does (the end-of-turn token was never fed), sets
 * *forced and generates on; otherwise does nothing. */
ember_status agent_ensure_answer(agent *a, bool *forced, ember_error *err);
/* Flushes the parser and held UTF-8 bytes (after the agent stopped). */
void agent_flush(agent *a);
/* Current confidence score (lowest window mean so far; the running mean before a window fills). */
float agent_confidence(const agent *a);

#endif
