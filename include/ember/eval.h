/*
 * ember/eval.h — measuring a model on a dataset: every question through a mode (Instant,
 * Thinking with a budget, Contemplating with N agents), with tools, scored against the gold
 * answer; and plots of the results. Part of libember's public API (included by ember.h).
 *
 * Datasets are JSONL, one object a line:
 *   {"question": "...", "answer": "42"}                       plain (answer a string or number)
 *   {"question": "...", "answer": "...#### 42"}               GSM8K: the gold is after ####
 *   {"problem": "...", "solution": "...\\boxed{42}..."}        MATH: the last \boxed{} is gold
 *   {"question": "...", "choices": ["...", ...], "answer": "B"}  multiple choice (letters)
 *   "image": "path.png" adds an image (relative to the dataset's folder).
 *
 * Threads: ember_eval_run blocks; it keeps up to `parallel` questions in flight on the engine
 * (their sequences batch together) and calls `progress` from the calling thread.
 */
#ifndef EMBER_PUBLIC_EVAL_H
#define EMBER_PUBLIC_EVAL_H

#include "ember/run.h"

#ifdef __cplusplus
extern "C" {
#endif

/* True when a model's answer text gives the gold answer: numbers compare by value (the last
 * number in the answer's final line or after its last "=", commas and a trailing unit
 * ignored), choice letters by letter, anything else by ember_answer_normalize. */
EMBER_API bool ember_eval_answer_matches(const char *gold, const char *answer);

typedef struct ember_eval_progress {
    int done;                /* questions finished */
    int total;
    int correct;
    double elapsed_s;
} ember_eval_progress;

typedef void (*ember_eval_progress_fn)(const ember_eval_progress *progress, void *user);

typedef struct ember_eval_params {
    const char *dataset;         /* JSONL path */
    int limit;                   /* first N questions; 0 = all */
    const ember_run_params *run; /* mode, agents, budget, tools, sampling for every question */
    int parallel;                /* questions in flight at once (1); latency is per question */
    const char *records;         /* append one JSON line per question here; NULL = none */
    const char *label;           /* a name for this configuration in records */
    ember_eval_progress_fn progress;
    void *user;
    volatile int *cancel;        /* non-zero: stop starting questions, finish the ones running */
} ember_eval_params;

typedef struct ember_eval_summary {
    int n;                       /* questions run */
    int correct;                 /* final answers that match the gold */
    int vote_correct;            /* Contemplating: vote winners that match the gold */
    int errors;                  /* runs that failed (counted wrong) */
    double accuracy;             /* correct / n */
    double ci_low, ci_high;      /* 95 % Wilson interval of the accuracy */
    double vote_accuracy;        /* vote_correct / n (Contemplating), else = accuracy */
    double reasoning_tokens;     /* mean per question (all agents in Contemplating) */
    double answer_tokens;        /* mean per question */
    double latency_ms;           /* mean wall time per question */
    double latency_p50_ms;
    double tokens_saved;         /* mean per question (Contemplating early stop) */
    double seconds;              /* wall time of the whole evaluation */
} ember_eval_summary;

/* Runs the dataset. Bad lines fail the evaluation before anything runs (the message names
 * the line); a question whose run fails counts as wrong and is recorded with its error. */
EMBER_API ember_status ember_eval_run(ember_engine *engine, const ember_eval_params *params,
                                      ember_eval_summary *summary, ember_error *err);

/* ---- plots ------------------------------------------------------------------------------ */

typedef struct ember_plot_series {
    const char *label;
    const double *x;
    const double *y;
    const double *y_low;         /* error bars: lower and upper ends (absolute), or NULL */
    const double *y_high;
    int n;
} ember_plot_series;

/* Writes a line plot (points joined, one colour per series, a legend) as a PNG through
 * PLplot's cairo driver. EMBER_ERR_UNSUPPORTED when PLplot has no PNG device here. */
EMBER_API ember_status ember_plot_png(const char *path, const char *title, const char *x_label,
                                      const char *y_label, const ember_plot_series *series,
                                      int n_series, ember_error *err);

#ifdef __cplusplus
}
#endif

#endif
