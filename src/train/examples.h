/*
 * examples.h — a training example as text segments: what the prompt shows (no loss) and what
 * the assistant writes (trained), rendered with ember's own chat format so training sees the
 * exact text a run shows the model. Internal to src/train.
 */
#ifndef EMBER_TRAIN_EXAMPLES_H
#define EMBER_TRAIN_EXAMPLES_H

#include <jansson.h>
#include <stdbool.h>

#include "ember.h"
#include "train/arith.h"

#define TRAIN_MAX_SEGMENTS 6

/* ember's chat format for the qwen3 architecture: a turn's end and the reasoning channel's
 * close as the stream parser expects them. */
#define TRAIN_TURN_END "<|im_end|>"
#define TRAIN_CLOSE_REASONING "\n</think>\n\n"

/* The first reasoning line restates the question as an expression: the one place the trace
 * reads the question. Few tokens carry that skill, so they weigh more (measured: at equal
 * weight a 3.4M model reached 80 % token accuracy while still misreading the question). */
#define TRAIN_RESTATE_WEIGHT 4.0f

typedef struct train_segment {
    char *text;     /* owned */
    float weight;   /* the loss weight of its tokens: 0 = not trained (the prompt, tool turns),
                       1 = the assistant wrote it, more where reading the question is learned */
} train_segment;

typedef struct train_example {
    train_segment seg[TRAIN_MAX_SEGMENTS];
    int n;
    int restart;    /* > 0: segments from this index on are a sequence of their own (the
                       re-rendered conversation does not extend the first one's text) */
} train_example;

typedef enum train_style {
    TRAIN_STYLE_THINKING,   /* reasoning trace, then the answer */
    TRAIN_STYLE_INSTANT,    /* the answer at once */
    TRAIN_STYLE_TOOL,       /* a calculator call, its result, then the answer */
    TRAIN_STYLE_SYNTHESIS,  /* Contemplating's synthesizer: a brief on agents, then the answer */
} train_style;

/* What examples need from the outside: the calculator (real outputs in tool examples) and
 * its definition as runs offer it. */
typedef struct train_kit {
    ember_tools *calculator;
    char *tools_json;
    ember_trace_style trace; /* how reasoning traces are written (arith_reasoning) */
} train_kit;

ember_status train_kit_init(train_kit *kit, ember_error *err);
void train_kit_free(train_kit *kit);

ember_status train_example_arith(const train_kit *kit, const arith_problem *p, uint64_t variant,
                                 train_style style, train_example *ex, ember_error *err);
/* One user question rendered as a run renders it, with the given opening; free() *prompt. */
ember_status train_render_question(const char *question, ember_opening opening, char **prompt, ember_error *err);
/* The synthesizer's example (synthesis.c): simulated agents' brief → the vote's answer. */
ember_status train_example_synthesis(const train_kit *kit, const arith_problem *p, uint64_t variant,
                                     train_example *ex, ember_error *err);
/* {"question", "reasoning"?, "answer", "mode"?: "thinking"|"instant", "approach"?: a
 * Contemplating agent's approach hint, shown as the run shows it (not trained)} */
ember_status train_example_json(const json_t *obj, train_example *ex, ember_error *err);
void train_example_free(train_example *ex);

#endif
