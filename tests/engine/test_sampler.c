/*
 * test_sampler.c — engine/sampler.c samples exactly what llama.cpp's own chain does with the
 * grammar first (grammar, top-k, top-p, min-p, temperature, dist — or grammar and greedy): on
 * random logits rows of two generated models' vocabularies (512 and 4096), for grammars that allow most tokens,
 * few tokens, and some in between, greedy and seeded random sampling, token by token with the
 * same seed. The sampler's shortcuts (top-k selection, asking the grammar about the largest
 * candidates before masking the whole row) must change nothing but the time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "test_support.h"

static struct llama_model *model;

/* The vocabulary of 512 takes the direct paths; the one of 4096 also the grammar's widening to
 * the 256 largest candidates (only worth it on a large vocabulary). */
static int load(const char *name) {
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    model = llama_model_load_from_file(test_model(name, 0), mp);
    return model ? 0 : -1;
}
static int setup_small(void **state) { (void)state; return load("glimmer-tiny.gguf"); }
static int setup_large(void **state) { (void)state; return load("glimmer-vocab4k.gguf"); }

static int teardown(void **state) {
    (void)state;
    llama_model_free(model);
    model = NULL;
    return 0;
}

/* The reference: llama.cpp's chain as ember built it before its shortcuts. */
static struct llama_sampler *reference_chain(const struct llama_vocab *vocab, const ember_sampling *s) {
    struct llama_sampler_chain_params cp = llama_sampler_chain_default_params();
    cp.no_perf = true;
    struct llama_sampler *chain = llama_sampler_chain_init(cp);
    if (s->grammar) llama_sampler_chain_add(chain, llama_sampler_init_grammar(vocab, s->grammar, "root"));
    if (s->temperature <= 0.0f) {
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
        return chain;
    }
    if (s->top_k > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(s->top_k));
    if (s->top_p > 0.0f && s->top_p < 1.0f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(s->top_p, 1));
    if (s->min_p > 0.0f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(s->min_p, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp(s->temperature));
    llama_sampler_chain_add(chain, llama_sampler_init_dist(s->seed));
    return chain;
}

/* Random logits: mostly noise, a few tokens far ahead (as a trained model's row looks). Ties
 * are as good as impossible (equal logits may be ordered either way, and the draw with them). */
static void random_row(float *row, int n, unsigned *rng) {
    for (int i = 0; i < n; i++) row[i] = (float)((double)rand_r(rng) / RAND_MAX * 20.0 - 10.0);
    for (int j = 0; j < 5; j++) row[rand_r(rng) % n] += 8.0f;
}

static int same_tokens(const char *grammar, float temperature, uint32_t seed, int steps) {
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    ember_engine e = {.vocab = vocab, .n_vocab = llama_vocab_n_tokens(vocab)};
    ember_sampling s;
    ember_sampling_init(&s);
    s.temperature = temperature;
    s.seed = seed;
    s.grammar = grammar;
    ember_sampler *mine = sampler_create(&e, &s, NULL);
    assert_non_null(mine);
    struct llama_sampler *ref = reference_chain(vocab, &s);
    llama_token_data *cand = malloc(sizeof *cand * (size_t)e.n_vocab);
    float *row = malloc(sizeof *row * (size_t)e.n_vocab);
    assert_non_null(cand);
    assert_non_null(row);
    unsigned rng = seed;
    int n = 0;
    for (; n < steps; n++) {
        random_row(row, e.n_vocab, &rng);
        for (int i = 0; i < e.n_vocab; i++) cand[i] = (llama_token_data){.id = i, .logit = row[i], .p = 0.0f};
        llama_token_data_array cur = {.data = cand, .size = (size_t)e.n_vocab, .selected = -1, .sorted = false};
        llama_sampler_apply(ref, &cur);
        llama_token expected = cur.selected >= 0 && !isinf(cur.data[cur.selected].logit) ? cur.data[cur.selected].id : -1;
        ember_token_info tok;
        llama_token got = sampler_sample(mine, row, &tok);
        if (got != expected) fprintf(stderr, "grammar %s, temperature %.1f, seed %u: step %d: %d, llama.cpp %d\n",
                                     grammar ? grammar : "(none)", (double)temperature, seed, n, got, expected);
        assert_int_equal(got, expected);
        if (got < 0) break;   /* the grammar is complete: nothing more may follow */
        llama_sampler_accept(ref, expected);
    }
    free(cand);
    free(row);
    llama_sampler_free(ref);
    sampler_destroy(mine);
    return n;
}

static const char *const GRAMMARS[] = {
    NULL,
    "root ::= [^\\x01]*",                         /* nearly everything */
    "root ::= [a-z]+",                            /* some tokens */
    "root ::= (\"yes\" | \"no\" | \"maybe\") \" \" [0-9]{1,3} \".\"",   /* very few */
};

static void grammar_first_tokens_and_draws(void **state) {
    (void)state;
    for (size_t g = 0; g < sizeof GRAMMARS / sizeof GRAMMARS[0]; g++)
        for (int t = 0; t < 2; t++)
            for (uint32_t seed = 1; seed <= 4; seed++) same_tokens(GRAMMARS[g], t ? 0.7f : 0.0f, seed, 200);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(grammar_first_tokens_and_draws, setup_small, teardown),
        cmocka_unit_test_setup_teardown(grammar_first_tokens_and_draws, setup_large, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
