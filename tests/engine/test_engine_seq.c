/*
 * test_engine_seq.c — the sequence API on a generated model: forks share the prompt's cells
 * (nothing re-evaluated), forks generate in the same decode steps, cancelling one leaves the
 * others correct and frees its cells, limits give clear errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ember.h"
#include "test_support.h"

typedef struct child_state {
    char text[256];
    int tokens;
    int cancel_after;   /* 0 = never */
} child_state;

static ember_seq_action on_token(ember_seq *seq, const ember_token_info *tok, void *user) {
    child_state *c = user;
    c->tokens++;
    if (tok->is_eog) return EMBER_SEQ_PAUSE;
    strncat(c->text, tok->piece, sizeof c->text - strlen(c->text) - 1);
    if (c->cancel_after && c->tokens == c->cancel_after) ember_seq_cancel(seq);
    return EMBER_SEQ_CONTINUE;
}

static ember_engine *open_engine(int n_ctx) {
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    ember_engine *e = NULL;
    ember_error err = {0};
    if (ember_engine_create(&p, &e, &err) != EMBER_OK) fprintf(stderr, "%s\n", err.message);
    assert_non_null(e);
    return e;
}

static const char PROMPT[] =
    "<|begin_of_text|><|start|>user<|message|>Tell me a long story about a lighthouse keeper who counts "
    "ships and writes their names in a book every night.<|eot|><|start|>assistant to=self<|message|>";

static ember_seq *evaluated_prompt(ember_engine *e) {
    ember_seq *root = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &root, NULL), EMBER_OK);
    assert_int_equal(ember_seq_feed_text(root, PROMPT, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(root, NULL), EMBER_OK);
    return root;
}

static void forks_share_the_prompt_and_batch(void **state) {
    (void)state;
    ember_engine *e = open_engine(2048);
    ember_seq *root = evaluated_prompt(e);
    int prompt = ember_seq_n_tokens(root);
    ember_engine_stats before;
    ember_engine_get_stats(e, &before);
    assert_int_equal(before.tokens_evaluated, (uint64_t)prompt);
    assert_int_equal(before.kv_cells_used, prompt);

    enum { N = 4 };
    ember_seq *kids[N];
    child_state st[N];
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = "root ::= \"x\"{20}";
    for (int i = 0; i < N; i++) {
        memset(&st[i], 0, sizeof st[i]);
        s.seed = 100 + (uint32_t)i;
        assert_int_equal(ember_seq_fork(root, &s, &kids[i], NULL), EMBER_OK);
        ember_seq_set_callbacks(kids[i], on_token, NULL, &st[i]);
    }
    for (int i = 0; i < N; i++) assert_int_equal(ember_seq_generate(kids[i], NULL), EMBER_OK);
    for (int i = 0; i < N; i++) assert_int_equal(ember_seq_wait_idle(kids[i], NULL), EMBER_OK);

    ember_engine_stats after;
    ember_engine_get_stats(e, &after);
    for (int i = 0; i < N; i++) {
        assert_string_equal(st[i].text, "xxxxxxxxxxxxxxxxxxxx");
        /* the child decoded only its own tokens: the prompt was never evaluated again */
        assert_true(ember_seq_n_evaluated(kids[i]) < st[i].tokens);
    }
    uint64_t generated = after.tokens_evaluated - before.tokens_evaluated;
    assert_true(generated < (uint64_t)(N * 21));
    assert_true(after.max_batch_seqs >= 2);               /* forks decoded together */
    assert_true(after.kv_cells_peak < prompt + N * 21);    /* prefix cells are shared */
    assert_true(after.kv_cells_peak > prompt + N);

    for (int i = 0; i < N; i++) ember_seq_destroy(kids[i]);
    ember_engine_get_stats(e, &after);
    assert_int_equal(after.kv_cells_used, prompt);       /* the forks' own cells are gone */
    ember_seq_destroy(root);
    ember_engine_get_stats(e, &after);
    assert_int_equal(after.kv_cells_used, 0);
    ember_engine_destroy(e);
}

static void cancelling_one_fork_leaves_the_others(void **state) {
    (void)state;
    ember_engine *e = open_engine(2048);
    ember_seq *root = evaluated_prompt(e);
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = "root ::= \"y\"{30}";
    ember_seq *kids[3];
    child_state st[3];
    for (int i = 0; i < 3; i++) {
        memset(&st[i], 0, sizeof st[i]);
        assert_int_equal(ember_seq_fork(root, &s, &kids[i], NULL), EMBER_OK);
        ember_seq_set_callbacks(kids[i], on_token, NULL, &st[i]);
    }
    st[0].cancel_after = 5;
    for (int i = 0; i < 3; i++) ember_seq_generate(kids[i], NULL);
    ember_error err = {0};
    assert_int_equal(ember_seq_wait_idle(kids[0], &err), EMBER_ERR_CANCELLED);
    assert_int_equal(st[0].tokens, 5);
    ember_engine_stats mid;
    ember_engine_get_stats(e, &mid);
    ember_seq_destroy(kids[0]);   /* frees its cells at once, while the others may still run */
    for (int i = 1; i < 3; i++) {
        assert_int_equal(ember_seq_wait_idle(kids[i], NULL), EMBER_OK);
        assert_int_equal(strlen(st[i].text), 30);
        assert_int_equal(strspn(st[i].text, "y"), 30);
    }
    for (int i = 1; i < 3; i++) ember_seq_destroy(kids[i]);
    ember_seq_destroy(root);
    ember_engine_destroy(e);
}

static void limits_are_errors(void **state) {
    (void)state;
    ember_engine *e = open_engine(128);
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &seq, NULL), EMBER_OK);
    char big[2048];
    memset(big, 'z', sizeof big - 1);
    for (size_t i = 0; i + 1 < sizeof big; i += 2) big[i] = ' ';
    big[sizeof big - 1] = '\0';
    ember_error err = {0};
    assert_int_equal(ember_seq_feed_text(seq, big, false, &err), EMBER_ERR_CONTEXT);
    assert_non_null(strstr(err.message, "context"));
    /* nothing evaluated yet: it cannot be forked */
    ember_seq *child = NULL;
    assert_int_equal(ember_seq_fork(seq, NULL, &child, &err), EMBER_ERR_INVALID);
    assert_null(child);
    /* generation that runs into the end of the context stops with a context error */
    assert_int_equal(ember_seq_feed_text(seq, "<|begin_of_text|>hello", true, NULL), EMBER_OK);
    child_state st = {0};
    ember_seq_set_callbacks(seq, on_token, NULL, &st);
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = "root ::= \"q\"{500}";
    assert_int_equal(ember_seq_set_sampling(seq, &s, NULL), EMBER_OK);
    ember_seq_generate(seq, NULL);
    assert_int_equal(ember_seq_wait_idle(seq, &err), EMBER_ERR_CONTEXT);
    assert_true(ember_seq_n_tokens(seq) <= 128);
    ember_seq_destroy(seq);
    ember_engine_destroy(e);
}

static void bad_grammar_is_invalid(void **state) {
    (void)state;
    ember_engine *e = open_engine(256);
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = "root ::= [";
    ember_seq *seq = NULL;
    ember_error err = {0};
    assert_int_equal(ember_seq_create(e, &s, &seq, &err), EMBER_ERR_INVALID);
    assert_null(seq);
    ember_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forks_share_the_prompt_and_batch),
        cmocka_unit_test(cancelling_one_fork_leaves_the_others),
        cmocka_unit_test(limits_are_errors),
        cmocka_unit_test(bad_grammar_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
