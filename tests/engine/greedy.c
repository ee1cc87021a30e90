/* greedy.c — see greedy.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "greedy.h"
#include "test_support.h"

static ember_engine *open_greedy_engine(int n_ctx, int n_seq_max, int n_batch, int seq_cells, bool prompt_cache) {
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.n_ctx = n_ctx;
    p.n_seq_max = n_seq_max;
    p.n_batch = n_batch;
    p.kv_seq_cells = seq_cells;
    p.n_threads = 2;
    p.prompt_cache = prompt_cache;
    ember_engine *e = NULL;
    ember_error err = {0};
    if (ember_engine_create(&p, &e, &err) != EMBER_OK) fprintf(stderr, "%s\n", err.message);
    assert_non_null(e);
    return e;
}

ember_engine *greedy_engine_sized(int n_ctx, int n_seq_max, int n_batch, bool prompt_cache) {
    return open_greedy_engine(n_ctx, n_seq_max, n_batch, 0, prompt_cache);
}

ember_engine *greedy_engine(int n_ctx, int n_seq_max, bool prompt_cache) {
    return open_greedy_engine(n_ctx, n_seq_max, 0, 0, prompt_cache);
}

ember_engine *greedy_engine_split(int seq_cells, int n_seq_max, bool prompt_cache) {
    return open_greedy_engine(0, n_seq_max, 0, seq_cells, prompt_cache);
}

static ember_seq_action record(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    gen_state *g = user;
    if (g->n < GEN_MAX) g->ids[g->n] = tok->token, g->logprob[g->n] = tok->logprob;
    g->n++;
    return g->n >= g->limit ? EMBER_SEQ_PAUSE : EMBER_SEQ_CONTINUE;
}

void greedy_sampling(ember_sampling *s, gen_state *g, int limit) {
    ember_sampling_init(s);
    s->temperature = 0;
    s->ignore_eos = true;
    s->confidence = true;   /* the sampled token's log-probability, for same_greedy */
    memset(g, 0, sizeof *g);
    g->limit = limit;
}

ember_token_fn greedy_recorder(void) { return record; }

ember_seq *greedy_start(ember_engine *e, const char *text, int limit, gen_state *g) {
    ember_sampling s;
    greedy_sampling(&s, g, limit);
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, &s, &seq, NULL), EMBER_OK);
    ember_seq_set_callbacks(seq, record, NULL, g);
    assert_int_equal(ember_seq_reset_text(seq, text, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_generate(seq, NULL), EMBER_OK);
    return seq;
}

int same_greedy(const gen_state *a, const gen_state *b, int n) {
    assert_true(n <= GEN_MAX && a->n >= n && b->n >= n);
    for (int i = 0; i < n; i++) {
        float d = a->logprob[i] - b->logprob[i];
        if (d < 0) d = -d;
        if (d >= GREEDY_NOISE) fprintf(stderr, "step %d: tokens %d / %d, log-probabilities %.5f / %.5f\n", i, a->ids[i],
                                      b->ids[i], a->logprob[i], b->logprob[i]);
        assert_true(d < GREEDY_NOISE);
        if (a->ids[i] != b->ids[i]) return i;
    }
    return n;
}
