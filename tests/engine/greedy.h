/*
 * greedy.h — shared by the engine's cmocka tests: an engine on the generated tiny Muse
 * Glimmer model, greedy streams that record every token with its log-probability, and the
 * comparison of two greedy runs of one input.
 *
 * "The same" for greedy runs on different KV layouts or batches: each step picks the same token
 * with the same log-probability (within GREEDY_NOISE) until, at most, a near-tie that the other
 * summation order flips. Corrupted cells change the probabilities themselves.
 */
#ifndef EMBER_TEST_GREEDY_H
#define EMBER_TEST_GREEDY_H

#include "ember.h"

enum { GEN_MAX = 256 };

typedef struct gen_state {
    int32_t ids[GEN_MAX];
    float logprob[GEN_MAX];
    int n;        /* tokens seen */
    int limit;    /* the callback pauses the sequence at this many */
} gen_state;

/* An engine of `n_ctx` cells, `n_seq_max` sequences and batches of `n_batch` tokens (0: the
 * defaults), 2 threads; asserts it opened. */
ember_engine *greedy_engine_sized(int n_ctx, int n_seq_max, int n_batch, bool prompt_cache);
ember_engine *greedy_engine(int n_ctx, int n_seq_max, bool prompt_cache);
/* The same with a KV stream of `seq_cells` cells per sequence (ember_engine_params.kv_seq_cells). */
ember_engine *greedy_engine_split(int seq_cells, int n_seq_max, bool prompt_cache);
/* The greedy sampling greedy_start uses, with `g` reset to record up to `limit` tokens. */
void greedy_sampling(ember_sampling *s, gen_state *g, int limit);
ember_token_fn greedy_recorder(void);
/* A sequence that takes `text` by a reset (as every run's prompt does), then generates `limit`
 * greedy tokens (end of generation banned) into *g; started, not waited for. */
ember_seq *greedy_start(ember_engine *e, const char *text, int limit, gen_state *g);
/* Asserts that two greedy runs agree over their first n steps (see above); returns the steps
 * whose tokens matched. Runs of these tests on different layouts and batches differ by at most
 * 1e-3; an eviction that dropped 40 of a live stream's shared prompt cells moved the next step
 * by 0.035. */
#define GREEDY_NOISE 0.01f
int same_greedy(const gen_state *a, const gen_state *b, int n);

#endif
