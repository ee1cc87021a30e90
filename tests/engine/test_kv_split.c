/*
 * test_kv_split.c — the engine with a KV stream per sequence (ember_engine_params.kv_seq_cells,
 * `ember serve --kv-split`) on the generated tiny Muse Glimmer model: streams decode together
 * and give the greedy output of the unified cache, a fork and a cached prompt copy their
 * stream (the copy is the prompt: the child's output equals a fresh run's), and a sequence
 * holds at most its own stream, with an error that says so and the others unharmed.
 *
 * "The same" for greedy runs: see greedy.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "greedy.h"

enum { SEQ_CELLS = 256, STEPS = 24 };

static const char PROMPT_A[] =
    "<|begin_of_text|><|start|>user<|message|>Tell me a long story about a lighthouse keeper who counts "
    "ships and writes their names in a book every night.<|eot|><|start|>assistant to=user<|message|>";
static const char PROMPT_B[] =
    "<|begin_of_text|><|start|>user<|message|>List the rivers of Europe from the longest to the "
    "shortest, with one line about each.<|eot|><|start|>assistant to=user<|message|>";

/* Greedy tokens of `text` alone on an engine with the unified cache: the reference. */
static void unified_reference(const char *text, int steps, gen_state *out) {
    ember_engine *e = greedy_engine(2048, 2, false);
    ember_seq *seq = greedy_start(e, text, steps, out);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    ember_seq_destroy(seq);
    ember_engine_destroy(e);
}

static void expect_same(const gen_state *got, const gen_state *want, int steps) {
    assert_int_equal(got->n, steps);
    int same = same_greedy(got, want, steps);
    if (same < steps) fprintf(stderr, "greedy runs parted at a near-tie after %d tokens\n", same);
}

/* Three streams decode in the same steps; the newest has the lowest id (the batch is written
 * by id, not by admission), and each one's output is the unified cache's. */
static void streams_decode_together_as_the_unified_cache(void **state) {
    (void)state;
    gen_state ref_a, ref_b;
    unified_reference(PROMPT_A, STEPS, &ref_a);
    unified_reference(PROMPT_B, STEPS, &ref_b);

    ember_engine *e = greedy_engine_split(SEQ_CELLS, 4, false);
    assert_int_equal(ember_engine_n_ctx(e), SEQ_CELLS);
    gen_state g0, g1, g2, g3;
    ember_seq *first = greedy_start(e, PROMPT_B, 2, &g0);  /* takes id 0, then gives it up */
    assert_int_equal(ember_seq_wait_idle(first, NULL), EMBER_OK);
    ember_seq *a = greedy_start(e, PROMPT_A, STEPS, &g1);
    ember_seq_destroy(first);
    ember_seq *b = greedy_start(e, PROMPT_B, STEPS, &g2);
    ember_seq *c = greedy_start(e, PROMPT_A, STEPS, &g3);
    assert_int_equal(ember_seq_id(b), 0);
    assert_true(ember_seq_id(a) > ember_seq_id(b));
    assert_int_equal(ember_seq_wait_idle(a, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(b, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(c, NULL), EMBER_OK);
    expect_same(&g1, &ref_a, STEPS);
    expect_same(&g2, &ref_b, STEPS);
    expect_same(&g3, &ref_a, STEPS);

    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_true(st.max_batch_seqs >= 2);
    ember_seq_destroy(a);
    ember_seq_destroy(b);
    ember_seq_destroy(c);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, 0);
    ember_engine_destroy(e);
}

/* Forks of an evaluated prompt: each child's stream is a copy of the parent's (nothing is
 * evaluated again), and its greedy output is a fresh run's; the copies count as cells. */
static void forks_copy_the_stream(void **state) {
    (void)state;
    gen_state ref;
    unified_reference(PROMPT_A, STEPS, &ref);

    ember_engine *e = greedy_engine_split(SEQ_CELLS, 4, false);
    ember_seq *root = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &root, NULL), EMBER_OK);
    assert_int_equal(ember_seq_reset_text(root, PROMPT_A, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(root, NULL), EMBER_OK);
    int prompt = ember_seq_n_tokens(root);

    enum { N = 3 };
    ember_seq *kids[N];
    gen_state g[N];
    for (int i = 0; i < N; i++) {
        ember_sampling s;
        greedy_sampling(&s, &g[i], STEPS);
        assert_int_equal(ember_seq_fork(root, &s, &kids[i], NULL), EMBER_OK);
        ember_seq_set_callbacks(kids[i], greedy_recorder(), NULL, &g[i]);
    }
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, (N + 1) * prompt);
    for (int i = 0; i < N; i++) assert_int_equal(ember_seq_generate(kids[i], NULL), EMBER_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ember_seq_wait_idle(kids[i], NULL), EMBER_OK);
        assert_true(ember_seq_n_evaluated(kids[i]) < STEPS);   /* its own tokens only */
        expect_same(&g[i], &ref, STEPS);
    }
    for (int i = 0; i < N; i++) ember_seq_destroy(kids[i]);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, prompt);
    ember_seq_destroy(root);
    ember_engine_destroy(e);
}

/* A follow-up request copies the retired one's stream and drops the part past the common
 * prefix: only the rest is evaluated, and the output is a fresh run's. */
static void a_cached_prompt_is_copied(void **state) {
    (void)state;
    static const char TURN2[] = "Once there was a keeper.<|eot|><|start|>user<|message|>And then?<|eot|>"
                                "<|start|>assistant to=user<|message|>";
    size_t n = strlen(PROMPT_A) + strlen(TURN2) + 1;
    char *second = malloc(n);
    assert_non_null(second);
    snprintf(second, n, "%s%s", PROMPT_A, TURN2);
    gen_state ref;
    unified_reference(second, STEPS, &ref);

    ember_engine *e = greedy_engine_split(SEQ_CELLS, 4, true);
    gen_state g1, g2;
    ember_seq *first = greedy_start(e, PROMPT_A, 10, &g1);
    assert_int_equal(ember_seq_wait_idle(first, NULL), EMBER_OK);
    ember_seq_retire(first);
    int prompt = ember_engine_count_tokens(e, PROMPT_A, true);
    int total = ember_engine_count_tokens(e, second, true);
    ember_seq *next = greedy_start(e, second, STEPS, &g2);
    assert_int_equal(ember_seq_wait_idle(next, NULL), EMBER_OK);
    assert_int_equal(ember_seq_n_evaluated(next), total - prompt + STEPS - 1);
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.prompt_tokens_reused, (uint64_t)prompt);
    expect_same(&g2, &ref, STEPS);
    ember_seq_destroy(next);
    ember_engine_destroy(e);
    free(second);
}

/* A sequence holds its own stream and no more: a longer prompt is refused, a generation that
 * fills the stream ends with EMBER_ERR_CONTEXT, and a stream beside it goes on unharmed. */
static void a_sequence_holds_its_stream_only(void **state) {
    (void)state;
    gen_state ref;
    unified_reference(PROMPT_B, STEPS, &ref);

    ember_engine *e = greedy_engine_split(SEQ_CELLS, 2, false);
    size_t cap = 64 * sizeof PROMPT_A;
    char *long_prompt = calloc(1, cap);
    assert_non_null(long_prompt);
    for (int i = 0; i < 8; i++) strcat(long_prompt, PROMPT_A);
    assert_true(ember_engine_count_tokens(e, long_prompt, true) > SEQ_CELLS);
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &seq, NULL), EMBER_OK);
    ember_error err = {0};
    assert_int_equal(ember_seq_reset_text(seq, long_prompt, true, &err), EMBER_ERR_CONTEXT);
    assert_non_null(strstr(err.message, "256"));
    ember_seq_destroy(seq);

    gen_state full, beside;
    ember_seq *filler = greedy_start(e, PROMPT_A, GEN_MAX, &full);   /* prompt + 256 > 256 cells */
    ember_seq *other = greedy_start(e, PROMPT_B, STEPS, &beside);
    assert_int_equal(ember_seq_wait_idle(filler, &err), EMBER_ERR_CONTEXT);
    assert_int_equal(ember_seq_n_tokens(filler), SEQ_CELLS);
    assert_int_equal(ember_seq_wait_idle(other, NULL), EMBER_OK);
    expect_same(&beside, &ref, STEPS);
    ember_seq_destroy(filler);
    ember_seq_destroy(other);
    ember_engine_destroy(e);
    free(long_prompt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streams_decode_together_as_the_unified_cache),
        cmocka_unit_test(forks_copy_the_stream),
        cmocka_unit_test(a_cached_prompt_is_copied),
        cmocka_unit_test(a_sequence_holds_its_stream_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
