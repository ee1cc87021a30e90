/*
 * vote.h — Contemplating's confidence-weighted vote over normalized answers.
 */
#ifndef EMBER_AGENT_VOTE_H
#define EMBER_AGENT_VOTE_H

typedef struct vote_outcome {
    int winner;        /* index of an agent that gave the winning answer, -1 if none */
    float share;       /* winning weight / total weight */
    int supporters;    /* agents that gave the winning answer */
} vote_outcome;

/* answers[i] NULL or "" = no answer (not counted). Weights are clamped to a small positive
 * (vote_weight). */
vote_outcome vote_tally(const char *const *answers, const float *weights, int n);
/* What a vote counts a confidence as: itself, or a small positive for none. */
static inline float vote_weight(float confidence) { return confidence > 1e-3f ? confidence : 1e-3f; }
/* The final answer in a text, as ember_answer_normalize finds it (a \boxed{}, "the answer is
 * …", "Answer: …", or the last line) before normalizing; free() it. */
char *vote_answer_extract(const char *text);
/* The q-quantile (0..1) of n values (sorted copy; linear interpolation). */
float vote_quantile(const float *values, int n, float q);

#endif
