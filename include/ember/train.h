/*
 * ember/train.h — training a small model with libllama's optimizer (AdamW), and the arithmetic
 * task family ember-nano learns. Part of libember's public API (included by ember.h).
 *
 * What training does: a model (an F32 GGUF, e.g. one ember-genmodel initialised) learns chat
 * turns rendered with ember's own chat format, so what it learns is exactly what `ember ask`
 * shows it. Examples are packed into windows of `ctx` tokens; `batch` windows make one step.
 *
 * The loss covers the assistant's tokens only (a position without a target has an all-zero
 * label row). Training runs on ember's own qwen3 graph with ggml-opt's AdamW, the optimizer
 * libllama uses: llama_opt_epoch trains through the KV cache, whose write has no backward
 * pass, so it never trains the key and value projections (see src/train/qwen3_net.h).
 *
 * Threads: ember_train blocks the calling thread; the progress callback runs on it.
 */
#ifndef EMBER_PUBLIC_TRAIN_H
#define EMBER_PUBLIC_TRAIN_H

#include "ember/run.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the arithmetic task family ------------------------------------------------------ */

/* How generated reasoning traces are written (src/train/arith.c shows both layouts). */
typedef struct ember_trace_style {
    bool columns;                /* the earlier layout: column lines alone, digits read back at
                                    the end (false: each line restates what is left and carries
                                    the digits found so far) */
    int terse_pct;               /* share of a trace's blocks that give their result on one line
                                    ("47+385=432") instead of column by column (0): the short
                                    form thought compression can learn to prefer */
    bool reorder_agents;         /* Contemplating agents with an odd-numbered approach restate
                                    the expression in another order ("=7*37-31" under
                                    "37*7-31": factors swapped, added terms last to first, then
                                    subtracted ones) and work that, so agents slip in different
                                    places and the vote can outvote a slip */
    int check_pct;               /* share of a trace's blocks followed by a check: "check", the
                                    inverse block worked column by column (1628-1480 after
                                    148+1480=1628; 22*74 after 74*22), "ok 1628" (0). Checks
                                    never change the answer: the redundant thought that thought
                                    compression can learn to leave out */
} ember_trace_style;

/* Writes `count` problems as JSONL lines {"question", "answer", "expression"} — the held-out
 * split (disjoint from anything training generates) or the train split — drawn from `seed`.
 * With `traces`, each line also has "reasoning": the step-by-step trace Thinking examples
 * teach (the format `ember train --data` reads), written as `traces` says; NULL for none.
 * With traces->reorder_agents, line i also has the "approach" of Contemplating's agent i % 8,
 * and the odd ones' traces work the reordered expression. */
EMBER_API ember_status ember_arith_write_jsonl(const char *path, uint64_t seed, int64_t count,
                                               bool held_out, const ember_trace_style *traces,
                                               ember_error *err);

/* ---- training ------------------------------------------------------------------------- */

typedef struct ember_train_progress {
    int64_t step;            /* optimizer steps done */
    int64_t steps;           /* steps this run will take */
    int64_t tokens;          /* token positions trained on so far */
    double loss;             /* mean loss over the last report interval */
    double accuracy;         /* next-token accuracy over the trained positions */
    double tokens_per_s;
    double elapsed_s;
    float lr;                /* the learning rate of the last step */
    bool checkpoint;         /* a checkpoint was just written */
} ember_train_progress;

typedef void (*ember_train_progress_fn)(const ember_train_progress *progress, void *user);

typedef struct ember_train_params {
    const char *model;           /* F32 GGUF to start from */
    const char *out;             /* the trained model (GGUF) */
    const char *checkpoint_dir;  /* checkpoints (model + state.json) to resume from; NULL = none */
    const char *data;            /* JSONL of examples {"question", "reasoning"?, "answer", "mode"?}
                                    to train on; NULL = generated arithmetic problems */
    uint64_t seed;               /* the data's seed (problems, phrasings, order) */
    int64_t examples;            /* generated problems (default 40000) */
    int thinking_pct;            /* mix of generated examples: step-by-step reasoning (70), */
    int instant_pct;             /* direct answers (20), */
    int tool_pct;                /* calculator calls (10), */
    int synthesis_pct;           /* Contemplating synthesizer briefs (0) */
    ember_trace_style trace;     /* the layout of generated reasoning traces */
    int epochs;                  /* passes over the data (1) */
    int ctx;                     /* tokens per window (256) */
    int batch;                   /* windows per optimizer step (4) */
    float lr;                    /* peak learning rate (1e-3) */
    float lr_min;                /* cosine floor (5e-5) */
    int warmup_steps;            /* linear warm-up (100) */
    float weight_decay;          /* AdamW decoupled weight decay (0.01) */
    int threads;                 /* 0 = all cores */
    int checkpoint_every;        /* steps between checkpoints (500) */
    int64_t max_steps;           /* stop after this step (the schedule still spans the whole
                                    run, as if interrupted there); 0 = run to the end */
    int context_length;          /* written into the output's metadata (the KV cells an engine
                                    shares among sequences by default); 0 = the input's */
    ember_train_progress_fn progress; /* called every few steps and at checkpoints; may be NULL */
    void *user;
    volatile int *cancel;        /* set non-zero to stop after the current step (then a final
                                    checkpoint and the output are written); may be NULL */
} ember_train_params;

EMBER_API void ember_train_params_init(ember_train_params *params);

typedef struct ember_train_report {
    int64_t steps;               /* steps taken by this run */
    int64_t resumed_at;          /* step the run resumed from (0 = fresh) */
    int64_t tokens;              /* token positions trained on */
    int64_t examples;            /* examples packed */
    int64_t skipped;             /* examples longer than a window */
    double first_loss;           /* mean loss of the first report interval */
    double last_loss;            /* mean loss of the last report interval */
    double seconds;
} ember_train_report;

/* Trains and writes params->out. A run with a checkpoint_dir that holds a state.json of the
 * same data and seed resumes after its last checkpointed step (optimizer moments restart).
 * EMBER_ERR_UNSUPPORTED when the model's weights are not F32 or it cannot be trained. */
EMBER_API ember_status ember_train(const ember_train_params *params, ember_train_report *report,
                                   ember_error *err);

/* ---- thought compression by expert iteration -------------------------------------------- */

/* One round: sample K traces per train problem with Contemplating (K agents, no early stop),
 * keep per problem the correct trace (right answer, and unless outcome_only every step true)
 * with the best score = 1 - length_penalty * tokens / the
 * mean tokens of that problem's correct traces (so the shortest correct one), train on the kept
 * traces, and measure the new model on held-out problems in Thinking mode. */
typedef struct ember_expert_params {
    const char *model;           /* the model to improve (F32 qwen3, as ember train writes) */
    const char *dir;             /* round-N.gguf, round-N.jsonl and rounds.json go here */
    int rounds;                  /* 3 */
    int problems;                /* train problems sampled per round (300) */
    int samples;                 /* traces per problem = Contemplating agents (4) */
    float temperature;           /* sampling temperature of the traces (0.8) */
    float length_penalty;        /* weight of a trace's relative length in its score (0.5) */
    bool outcome_only;           /* keep traces by their answer alone (false: every step the
                                    trace states must be true too, so no false step is taught) */
    const char *held_out;        /* JSONL to measure each round on (e.g. from ember_arith_write_jsonl) */
    int held_out_limit;          /* 0 = all */
    int threads;
    int parallel;                /* problems sampled at once (4) */
    uint64_t seed;
    ember_train_params train;    /* learning rate, ctx, batch … for each round's training
                                    (model, out, data and examples are set per round) */
    void (*progress)(const char *line, void *user); /* one line per stage; may be NULL */
    void *user;
} ember_expert_params;

EMBER_API void ember_expert_params_init(ember_expert_params *params);

typedef struct ember_expert_round {
    int round;                   /* 0 = the starting model */
    double accuracy;             /* held-out, Thinking */
    double ci_low, ci_high;
    double reasoning_tokens;     /* mean per held-out question */
    int sampled;                 /* traces sampled this round */
    int correct;                 /* of which correct */
    int false_steps;             /* of the correct ones, traces with a false step (not kept) */
    int kept;                    /* traces trained on */
    double kept_tokens;          /* mean reasoning tokens of the kept traces (estimated) */
    double sampled_tokens;       /* mean reasoning tokens of all sampled traces */
    double seconds;
} ember_expert_round;

/* Runs the rounds; rounds[0..params->rounds] are filled (round 0 measures the starting model);
 * *n_rounds says how many finished. Writes dir/rounds.json after every round; a rerun with the
 * same dir and starting model resumes after the last round there (so more rounds can follow). */
EMBER_API ember_status ember_expert_iteration(const ember_expert_params *params, ember_expert_round *rounds,
                                              int *n_rounds, ember_error *err);

#ifdef __cplusplus
}
#endif

#endif
