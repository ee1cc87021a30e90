/*
 * engine_internal.h — the engine's shared state, seen by engine.c, seq.c, scheduler.c and
 * sampler.c only.
 *
 * Threading: `mu` guards every field of the engine and of its sequences. The scheduler thread
 * holds `mu` except while llama_decode runs (`decoding` is then true); a caller that must touch
 * the llama context (seq_rm, seq_cp) waits on `step_cv` until `decoding` is false — and waits
 * BEFORE changing anything, since waiting releases `mu` and the scheduler may pack a batch
 * meanwhile (a half-made fork was once prefilled that way). Token and
 * idle callbacks run on the scheduler thread with `mu` held; functions they may call detect
 * that (on_scheduler()) and do not lock again.
 *
 * KV accounting: llama.cpp shares cells between forked sequences without telling how many are
 * used, so ember counts them itself: a sequence's cells are a list of ref-counted segments; a
 * fork takes a reference on each of its parent's segments, new tokens go to a segment the
 * sequence owns alone, and a segment's cells are released when its last reference goes.
 */
#ifndef EMBER_ENGINE_INTERNAL_H
#define EMBER_ENGINE_INTERNAL_H

#include "ember.h"

#include <llama.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct kv_segment {
    int n_cells;  /* cells created into this segment */
    int refs;     /* sequences holding it */
} kv_segment;

typedef struct kv_span {
    kv_segment *seg;
    int used;     /* cells of seg this sequence sees (a prefix of the segment) */
} kv_span;

typedef struct ember_sampler ember_sampler;

struct ember_seq {
    ember_engine *engine;
    int id;                   /* llama seq id, index into engine->seqs */
    ember_sampler *sampler;

    llama_token *tokens;      /* every token of the sequence: [0, n_past) in KV, then queued */
    int n_tokens;             /* evaluated + queued */
    int cap_tokens;
    int n_past;               /* tokens already in the KV cache */
    int n_evaluated;          /* tokens this sequence itself decoded */

    kv_span *spans;           /* KV accounting, see above */
    int n_spans;

    bool generating;          /* sample after the queued input is evaluated */
    bool cancel_requested;
    bool in_batch;            /* part of the decode step now running */
    float *logits;            /* the last output row, kept when it was not sampled at once */
    bool has_logits;

    ember_token_fn on_token;
    ember_seq_idle_fn on_idle;
    void *user;
    ember_status status;      /* why it last went idle */
};

struct ember_engine {
    struct llama_model *model;
    const struct llama_vocab *vocab;
    struct llama_context *ctx;
    int n_vocab;
    int n_ctx;
    int n_batch;
    int n_seq_max;
    char chat_format[32];
    struct mtmd_context *mtmd;   /* NULL without a projector */
    bool verbose;                /* counted in the log sink's verbose_engines */

    pthread_mutex_t mu;
    pthread_cond_t work_cv;      /* scheduler waits here for work */
    pthread_cond_t step_cv;      /* a decode step ended, or a sequence went idle */
    pthread_t thread;
    bool stop;
    bool decoding;

    ember_seq **seqs;            /* by llama seq id; NULL = free id */
    struct llama_batch batch;

    ember_engine_stats stats;
};

/* True on the engine's scheduler thread (inside token/idle callbacks). */
bool engine_on_scheduler(const ember_engine *engine);
void engine_lock(ember_engine *engine);
void engine_unlock(ember_engine *engine);
/* With mu held: wait until no decode step is running. */
void engine_wait_not_decoding(ember_engine *engine);

void *scheduler_main(void *arg);

/* seq.c: with mu held */
bool seq_is_busy(const ember_seq *seq);
bool seq_push_tokens(ember_seq *seq, const llama_token *tokens, int n);
void seq_account_new_cells(ember_seq *seq, int n);
void seq_go_idle(ember_seq *seq, ember_status status);

/* sampler.c */
ember_sampler *sampler_create(ember_engine *engine, const ember_sampling *sampling,
                              ember_error *err);
void sampler_destroy(ember_sampler *sampler);
/* Samples from one logits row; fills tok (piece points into the sampler's buffer). Returns
 * -1 when the constraints allow no token at all. */
llama_token sampler_sample(ember_sampler *sampler, const float *logits, ember_token_info *tok);

#endif
