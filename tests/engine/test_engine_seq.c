/*
 * test_engine_seq.c — the sequence API on a generated model: forks share the prompt's cells
 * (nothing re-evaluated), forks generate in the same decode steps, cancelling one leaves the
 * others correct and frees its cells, limits give clear errors, and a sequence operation
 * (reset, destroy) while others decode waits at most one decode step, and a prompt of many
 * batches enters in chunks while a stream keeps getting a token every step (counted in decode
 * calls, never in wall time).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "greedy.h"
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

static ember_engine *open_engine(int n_ctx) { return greedy_engine_sized(n_ctx, 0, 0, false); }

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

/* ---- no operation waits for the engine to go idle ---------------------------------------- */

typedef struct busy_state {
    ember_engine *engine;
    atomic_int tokens;
    int limit;                    /* pause after this many tokens */
    _Atomic uint64_t first_step;  /* decode calls when the first token came (0 = none yet) */
} busy_state;

static ember_seq_action busy_token(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    (void)tok;
    busy_state *b = user;
    if (atomic_load(&b->first_step) == 0) {
        ember_engine_stats st;
        ember_engine_get_stats(b->engine, &st);   /* on the scheduler thread: no lock taken */
        atomic_store(&b->first_step, st.decode_calls);
    }
    return atomic_fetch_add(&b->tokens, 1) + 1 >= b->limit ? EMBER_SEQ_PAUSE : EMBER_SEQ_CONTINUE;
}

static void nap(void) { nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL); }

static void operations_do_not_wait_for_idle(void **state) {
    (void)state;
    ember_engine *e = open_engine(8192);
    enum { BUSY = 8, LIMIT = 400 };
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = "root ::= [a-z] root";   /* never complete: only the limit stops them */
    ember_seq *busy[BUSY];
    busy_state st[BUSY];
    for (int i = 0; i < BUSY; i++) {
        st[i] = (busy_state){.engine = e, .limit = LIMIT};
        s.seed = 7 + (uint32_t)i;
        assert_int_equal(ember_seq_create(e, &s, &busy[i], NULL), EMBER_OK);
        ember_seq_set_callbacks(busy[i], busy_token, NULL, &st[i]);
        assert_int_equal(ember_seq_feed_text(busy[i], PROMPT, true, NULL), EMBER_OK);
        assert_int_equal(ember_seq_generate(busy[i], NULL), EMBER_OK);
    }
    for (int i = 0; i < BUSY; i++)
        while (atomic_load(&st[i].tokens) < 5) nap();

    /* a new prompt enters through a reset (as every run's prompt does) while the 8 decode */
    ember_seq *late = NULL;
    busy_state lst = {.engine = e, .limit = 3};
    assert_int_equal(ember_seq_create(e, NULL, &late, NULL), EMBER_OK);
    ember_seq_set_callbacks(late, busy_token, NULL, &lst);
    ember_engine_stats before;
    ember_engine_get_stats(e, &before);
    assert_int_equal(ember_seq_reset_text(late, PROMPT, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_generate(late, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(late, NULL), EMBER_OK);
    uint64_t waited = atomic_load(&lst.first_step) - before.decode_calls;
    fprintf(stderr, "first token of the late prompt after %llu decode steps\n", (unsigned long long)waited);
    assert_true(waited <= 3);
    ember_seq_destroy(late);

    /* a sequence destroyed while it decodes: its cells are free before the next decode */
    ember_seq *victim = busy[0];
    int victim_tokens = ember_seq_n_tokens(victim);
    ember_engine_stats mid, after;
    ember_engine_get_stats(e, &mid);
    assert_true(mid.decode_calls < before.decode_calls + LIMIT / 2);   /* the others still decode */
    ember_seq_destroy(victim);
    ember_engine_get_stats(e, &after);
    fprintf(stderr, "destroy took %llu decode steps\n", (unsigned long long)(after.decode_calls - mid.decode_calls));
    assert_true(after.decode_calls - mid.decode_calls <= 1);
    assert_int_equal(after.seqs_active, mid.seqs_active - 1);
    /* at most one step of the 7 others was added meanwhile */
    assert_true(after.kv_cells_used <= mid.kv_cells_used - victim_tokens + 2 + BUSY);

    for (int i = 1; i < BUSY; i++) {
        ember_seq_wait_idle(busy[i], NULL);
        assert_int_equal(atomic_load(&st[i].tokens), LIMIT);
        ember_seq_destroy(busy[i]);
    }
    ember_engine_get_stats(e, &after);
    assert_int_equal(after.kv_cells_used, 0);
    ember_engine_destroy(e);
}

/* ---- a long prompt enters in chunks beside running decodes ------------------------------- */

enum { STEPS_MAX = 1024 };

typedef struct step_log {
    ember_engine *engine;
    uint64_t step[STEPS_MAX];   /* decode calls when each token came */
    atomic_int tokens;
    int limit;
} step_log;

static ember_seq_action log_step(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    (void)tok;
    step_log *l = user;
    ember_engine_stats st;
    ember_engine_get_stats(l->engine, &st);
    int n = atomic_load(&l->tokens);
    if (n < STEPS_MAX) l->step[n] = st.decode_calls;
    atomic_store(&l->tokens, n + 1);
    return n + 1 >= l->limit ? EMBER_SEQ_PAUSE : EMBER_SEQ_CONTINUE;
}

/* A prompt of many batches arrives while a stream generates: it is prefilled a chunk per step
 * beside the stream's token, so the stream gets a token in every decode step meanwhile
 * (counted in decode calls, never in wall time), and the prompt's first token comes once its
 * chunks are through. */
static void long_prompt_enters_in_chunks_beside_decodes(void **state) {
    (void)state;
    enum { N_BATCH = 64, LIMIT = 600 };
    ember_engine *e = greedy_engine_sized(4096, 0, N_BATCH, false);
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = "root ::= [a-z] root";   /* never complete: only the limit stops it */
    static step_log stream, late;
    stream = (step_log){.engine = e, .limit = LIMIT};
    late = (step_log){.engine = e, .limit = 1};
    ember_seq *running = NULL, *entering = NULL;
    assert_int_equal(ember_seq_create(e, &s, &running, NULL), EMBER_OK);
    ember_seq_set_callbacks(running, log_step, NULL, &stream);
    assert_int_equal(ember_seq_feed_text(running, PROMPT, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_generate(running, NULL), EMBER_OK);
    while (atomic_load(&stream.tokens) < 5) nap();

    char text[8192] = "";
    for (int i = 0; i < 16; i++) strcat(text, PROMPT);
    int n_long = ember_engine_count_tokens(e, text, true);
    assert_true(n_long > 8 * N_BATCH);
    assert_int_equal(ember_seq_create(e, NULL, &entering, NULL), EMBER_OK);
    ember_seq_set_callbacks(entering, log_step, NULL, &late);
    assert_int_equal(ember_seq_reset_text(entering, text, true, NULL), EMBER_OK);
    ember_engine_stats before;   /* the prompt is queued: the steps from here on carry it */
    ember_engine_get_stats(e, &before);
    assert_int_equal(ember_seq_generate(entering, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(entering, NULL), EMBER_OK);
    uint64_t first = late.step[0];
    int chunks = (int)(first - before.decode_calls);
    fprintf(stderr, "a %d-token prompt entered in %d decode steps of %d tokens\n", n_long, chunks, N_BATCH);
    /* chunked, not one batch (a step may have taken a chunk before the count was read) */
    assert_true(chunks >= n_long / N_BATCH - 1);
    assert_true(chunks <= n_long / (N_BATCH - 1) + 2);   /* a chunk in every step */

    /* the stream's tokens while it entered: one in every decode step */
    int during = 0;
    for (int i = 1; i < atomic_load(&stream.tokens) && i < STEPS_MAX; i++) {
        if (stream.step[i] <= before.decode_calls || stream.step[i] > first) continue;
        during++;
        assert_int_equal(stream.step[i] - stream.step[i - 1], 1);
    }
    fprintf(stderr, "the running stream emitted %d tokens meanwhile\n", during);
    assert_true(during >= chunks - 1);
    ember_seq_destroy(entering);
    ember_seq_cancel(running);
    ember_seq_wait_idle(running, NULL);
    ember_seq_destroy(running);
    ember_engine_destroy(e);
}

/* Bytes that are not UTF-8 (a random model writes them; an agent's text is fed back to the
 * model in Contemplating's brief): F7 BF BF BF decodes in llama.cpp to a code point above
 * U+10FFFF, whose re-encoding threw std::invalid_argument through C and aborted the process. */
static void invalid_utf8_is_tokenized(void **state) {
    (void)state;
    ember_engine *e = open_engine(512);
    static const char *const bad[] = {"\xF7\xBF\xBF\xBF", "a\xF4\x90\x80\x80z", "\xC0\xAF tail \xED\xA0\x80", "\xFF\xFE"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(ember_engine_count_tokens(e, bad[i], false) > 0);
        ember_seq *seq = NULL;
        assert_int_equal(ember_seq_create(e, NULL, &seq, NULL), EMBER_OK);
        assert_int_equal(ember_seq_feed_text(seq, bad[i], true, NULL), EMBER_OK);
        assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
        assert_int_equal(ember_seq_reset_text(seq, bad[i], false, NULL), EMBER_OK);
        assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
        ember_seq_destroy(seq);
    }
    ember_engine_destroy(e);
}

static void count_idle(ember_seq *seq, ember_status status, void *user) {
    (void)seq;
    (void)status;
    atomic_fetch_add((atomic_int *)user, 1);
}

static ember_seq_action pause_at_once(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    (void)tok;
    (void)user;
    return EMBER_SEQ_PAUSE;
}

/* The idle callback means "generation ended": evaluating fed input is not that (a paused
 * agent fed a tool result before it resumes must not look finished). */
static void idle_callback_only_for_generation(void **state) {
    (void)state;
    ember_engine *e = open_engine(1024);
    ember_seq *seq = NULL;
    atomic_int idles = 0;
    assert_int_equal(ember_seq_create(e, NULL, &seq, NULL), EMBER_OK);
    ember_seq_set_callbacks(seq, pause_at_once, count_idle, &idles);
    assert_int_equal(ember_seq_feed_text(seq, PROMPT, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    assert_int_equal(atomic_load(&idles), 0);
    assert_int_equal(ember_seq_generate(seq, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    assert_int_equal(atomic_load(&idles), 1);
    /* paused, fed more, evaluated: still no call until it generates again */
    assert_int_equal(ember_seq_feed_text(seq, " more", false, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    assert_int_equal(atomic_load(&idles), 1);
    assert_int_equal(ember_seq_generate(seq, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    assert_int_equal(atomic_load(&idles), 2);
    ember_seq_destroy(seq);
    ember_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forks_share_the_prompt_and_batch),
        cmocka_unit_test(cancelling_one_fork_leaves_the_others),
        cmocka_unit_test(limits_are_errors),
        cmocka_unit_test(bad_grammar_is_invalid),
        cmocka_unit_test(operations_do_not_wait_for_idle),
        cmocka_unit_test(long_prompt_enters_in_chunks_beside_decodes),
        cmocka_unit_test(invalid_utf8_is_tokenized),
        cmocka_unit_test(idle_callback_only_for_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
