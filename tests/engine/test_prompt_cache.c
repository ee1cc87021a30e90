/*
 * test_prompt_cache.c — the engine's prompt cache across sequences (ember_engine_params.
 * prompt_cache) on a generated model: a retired sequence's cells serve the next sequence whose
 * prompt shares its prefix (only the rest is evaluated), greedy output is the same with and
 * without the cache, and evicting cached prompts under cell and sequence-id pressure leaves
 * the running streams — including one that shares the evicted prompt's cells — correct.
 *
 * "The same" for greedy runs on different KV layouts or batches: each step picks the same token
 * with the same log-probability (within float noise) until, at most, a near-tie that the other
 * summation order flips (see same_greedy). Corrupted cells change the probabilities themselves.
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
#include "test_support.h"

static ember_engine *open_engine(int n_ctx, int n_seq_max, bool cache) {
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.n_ctx = n_ctx;
    p.n_seq_max = n_seq_max;
    p.n_threads = 2;
    p.prompt_cache = cache;
    ember_engine *e = NULL;
    ember_error err = {0};
    if (ember_engine_create(&p, &e, &err) != EMBER_OK) fprintf(stderr, "%s\n", err.message);
    assert_non_null(e);
    return e;
}

enum { CELL_CTX = 256 };

static const char PROMPT[] =
    "<|begin_of_text|><|start|>user<|message|>Tell me a long story about a lighthouse keeper who counts "
    "ships and writes their names in a book every night.<|eot|>";
static const char TURN2[] =
    "<|start|>assistant to=user<|message|>Once there was a keeper.<|eot|>"
    "<|start|>user<|message|>And then what happened to the book?<|eot|><|start|>assistant to=user<|message|>";

enum { GEN_MAX = 256 };

typedef struct gen_state {
    int32_t ids[GEN_MAX];
    float logprob[GEN_MAX];
    int n;
    int limit;
} gen_state;

static ember_seq_action record(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    gen_state *g = user;
    if (g->n < GEN_MAX) g->ids[g->n] = tok->token, g->logprob[g->n] = tok->logprob;
    g->n++;
    return g->n >= g->limit ? EMBER_SEQ_PAUSE : EMBER_SEQ_CONTINUE;
}

/* A sequence that takes `text` by a reset (as every run's prompt does), then generates
 * `limit` greedy tokens (end of generation banned) into *g. */
static ember_seq *start(ember_engine *e, const char *text, int limit, gen_state *g) {
    ember_sampling s;
    ember_sampling_init(&s);
    s.temperature = 0;
    s.ignore_eos = true;
    s.confidence = true;   /* the sampled token's log-probability, for same_greedy */
    memset(g, 0, sizeof *g);
    g->limit = limit;
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, &s, &seq, NULL), EMBER_OK);
    ember_seq_set_callbacks(seq, record, NULL, g);
    assert_int_equal(ember_seq_reset_text(seq, text, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_generate(seq, NULL), EMBER_OK);
    return seq;
}

/* Two greedy runs of one input agree: the same tokens with the same log-probabilities (within
 * NOISE) up to the first step where they part, which must be a near-tie (the two picks almost
 * equally likely). Returns the steps that matched. NOISE: runs of this file on different
 * layouts and batches differ by at most 1e-3; an eviction that dropped 40 of a live stream's
 * shared prompt cells moved the next step by 0.035. */
#define NOISE 0.01f

static int same_greedy(const gen_state *a, const gen_state *b, int n) {
    assert_true(n <= GEN_MAX && a->n >= n && b->n >= n);
    for (int i = 0; i < n; i++) {
        float d = a->logprob[i] - b->logprob[i];
        if (d < 0) d = -d;
        if (d >= NOISE) fprintf(stderr, "step %d: tokens %d / %d, log-probabilities %.5f / %.5f\n", i, a->ids[i],
                               b->ids[i], a->logprob[i], b->logprob[i]);
        assert_true(d < NOISE);
        if (a->ids[i] != b->ids[i]) return i;
    }
    return n;
}

static char *joined(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

static void follow_up_reuses_the_prefix(void **state) {
    (void)state;
    ember_engine *e = open_engine(2048, 4, true);
    int prompt = ember_engine_count_tokens(e, PROMPT, true);
    gen_state g1, g2;
    ember_seq *first = start(e, PROMPT, 10, &g1);
    assert_int_equal(ember_seq_wait_idle(first, NULL), EMBER_OK);
    assert_int_equal(ember_seq_n_evaluated(first), prompt + 9);   /* the 10th token is sampled only */
    ember_seq_retire(first);

    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_active, 0);
    assert_int_equal(st.seqs_cached, 1);
    assert_int_equal(st.kv_cells_used, 0);          /* live sequences hold none */
    assert_int_equal(st.kv_cells_cached, prompt + 9);

    /* the next turn: the prompt, then text that is not what the first one generated */
    char *second = joined(PROMPT, TURN2);
    int total = ember_engine_count_tokens(e, second, true);
    ember_seq *next = start(e, second, 5, &g2);
    assert_int_equal(ember_seq_wait_idle(next, NULL), EMBER_OK);
    /* exactly the common prefix came from the cache; the rest (and 4 generated) was decoded */
    assert_int_equal(ember_seq_n_evaluated(next), total - prompt + 4);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.prompt_tokens_reused, (uint64_t)prompt);
    assert_int_equal(st.seqs_active, 1);
    assert_int_equal(st.seqs_cached, 1);
    assert_int_equal(st.kv_cells_cached, 9);        /* the first one's generated tail only */
    assert_int_equal(st.kv_cells_used, total + 4);
    ember_seq_retire(next);

    /* the same prompt again: everything but its last token (whose logits are needed) */
    gen_state g3;
    ember_seq *again = start(e, second, 5, &g3);
    assert_int_equal(ember_seq_wait_idle(again, NULL), EMBER_OK);
    assert_int_equal(ember_seq_n_evaluated(again), 1 + 4);
    same_greedy(&g3, &g2, 5);
    ember_seq_destroy(again);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_active, 0);
    /* the second turn covered the first's prompt but not its generated tail: both stay */
    assert_int_equal(st.seqs_cached, 2);
    free(second);
    ember_engine_destroy(e);
}

/* Greedy tokens of `second` after `first` was generated and retired, on a fresh engine. */
static void greedy_after(bool cache, const char *first, const char *second, gen_state *out) {
    ember_engine *e = open_engine(2048, 4, cache);
    gen_state g;
    ember_seq *a = start(e, first, 12, &g);
    assert_int_equal(ember_seq_wait_idle(a, NULL), EMBER_OK);
    ember_seq_retire(a);
    ember_seq *b = start(e, second, 40, out);
    assert_int_equal(ember_seq_wait_idle(b, NULL), EMBER_OK);
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_true(cache ? st.prompt_tokens_reused > 0 : st.prompt_tokens_reused == 0);
    ember_seq_destroy(b);
    ember_engine_destroy(e);
}

static void greedy_output_is_the_same_with_and_without_the_cache(void **state) {
    (void)state;
    char *second = joined(PROMPT, TURN2);
    gen_state with, without;
    greedy_after(true, PROMPT, second, &with);
    greedy_after(false, PROMPT, second, &without);
    assert_int_equal(with.n, 40);
    assert_int_equal(without.n, 40);
    int same = same_greedy(&with, &without, 40);
    if (same < 40) fprintf(stderr, "greedy runs parted at a near-tie after %d tokens\n", same);
    free(second);
}

/* Cached prompts fill the context; new streams need the cells and the ids: the least recently
 * used prompts go, and every stream's greedy output equals a run on an engine without cache.
 * One stream shares the cells of a cached prompt that is evicted while it generates. */
static void eviction_keeps_streams_correct(void **state) {
    (void)state;
    enum { N_CTX = 512, SEQS = 4, GEN = 30 };
    static const char *const topics[] = {"ships", "stars", "rivers", "bread"};
    char *texts[4];
    for (int i = 0; i < 4; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "<|begin_of_text|><|start|>user<|message|>Write about %s, then about %s "
                 "and the sea at night, slowly and with care.<|eot|><|start|>assistant to=user<|message|>",
                 topics[i], topics[(i + 1) % 4]);
        texts[i] = strdup(buf);
    }
    /* reference: each text's greedy continuation without any cache */
    gen_state ref[4];
    {
        ember_engine *e = open_engine(N_CTX, SEQS, false);
        for (int i = 0; i < 4; i++) {
            ember_seq *s = start(e, texts[i], GEN, &ref[i]);
            assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
            ember_seq_destroy(s);
        }
        ember_engine_destroy(e);
    }

    ember_engine *e = open_engine(N_CTX, SEQS, true);
    /* three cached prompts, each holding prompt + generated cells */
    gen_state g[4];
    for (int i = 0; i < 3; i++) {
        ember_seq *s = start(e, texts[i], GEN, &g[i]);
        assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
        same_greedy(&g[i], &ref[i], GEN);
        ember_seq_retire(s);
    }
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cached, 3);
    int cached_cells = st.kv_cells_cached;
    assert_true(cached_cells > 0);

    /* stream 0 again: it starts from its cached prompt (sharing its cells) and pauses after
     * 10 tokens; three more streams take the other ids, so every cached prompt is evicted,
     * stream 0's last; then all four run to the end together */
    gen_state live[4];
    ember_seq *streams[4];
    streams[0] = start(e, texts[0], 10, &live[0]);
    assert_int_equal(ember_seq_wait_idle(streams[0], NULL), EMBER_OK);
    for (int i = 1; i < 4; i++) streams[i] = start(e, texts[i], GEN, &live[i]);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cached, 0);
    assert_true(st.prompt_cache_evictions >= 3);
    live[0].n = 9;   /* a paused sequence drops the token it paused on and samples it again */
    live[0].limit = GEN;
    assert_int_equal(ember_seq_generate(streams[0], NULL), EMBER_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ember_seq_wait_idle(streams[i], NULL), EMBER_OK);
        assert_int_equal(live[i].n, GEN);
        same_greedy(&live[i], &ref[i], GEN);
    }
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cached, 0);             /* 4 live streams take every id */
    assert_true(st.prompt_tokens_reused > 0);
    for (int i = 0; i < 4; i++) ember_seq_destroy(streams[i]);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, 0);
    assert_int_equal(st.kv_cells_cached, 0);
    ember_engine_destroy(e);
    for (int i = 0; i < 4; i++) free(texts[i]);
}

/* Cells, not ids, run out: a stream needs the cells the cached prompts hold; the least
 * recently used prompt goes first and the stream's output is the uncached one's. */
static void cell_pressure_evicts_lru(void **state) {
    (void)state;
    char text[3][1024];
    for (int i = 0; i < 3; i++)
        snprintf(text[i], sizeof text[i], "%s<|start|>user<|message|>variant %d<|eot|>", PROMPT, i);
    ember_engine *e = open_engine(CELL_CTX, 8, false);
    int prompt = ember_engine_count_tokens(e, text[0], true);
    int stream_gen = CELL_CTX - prompt - 8;   /* leaves no room for a cached prompt beside it */
    gen_state ref, g;
    static const char STREAM[] = "<|begin_of_text|><|start|>system<|message|>Be brief.<|eot|>";
    ember_seq *s = start(e, STREAM, stream_gen, &ref);
    assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
    ember_seq_destroy(s);
    ember_engine_destroy(e);

    e = open_engine(CELL_CTX, 8, true);
    for (int i = 0; i < 2; i++) {   /* two cached prompts of prompt + 19 cells */
        s = start(e, text[i], 20, &g);
        assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
        ember_seq_retire(s);
    }
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cached, 2);
    assert_true(st.kv_cells_cached > prompt + 19);   /* they share the common prefix's cells */
    /* the newer cached prompt is used again: the older one is now the least recent */
    s = start(e, text[1], 2, &g);
    assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
    ember_seq_retire(s);

    s = start(e, STREAM, stream_gen, &g);
    assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
    assert_int_equal(g.n, stream_gen);
    same_greedy(&g, &ref, stream_gen);
    ember_engine_get_stats(e, &st);
    fprintf(stderr, "prompt %d cells, stream %d tokens: %d cached prompts left, %llu evicted\n", prompt, stream_gen,
            st.seqs_cached, (unsigned long long)st.prompt_cache_evictions);
    assert_true(st.prompt_cache_evictions >= 1);
    assert_true(st.kv_cells_used + st.kv_cells_cached <= CELL_CTX);
    ember_seq_destroy(s);
    ember_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(follow_up_reuses_the_prefix),
        cmocka_unit_test(greedy_output_is_the_same_with_and_without_the_cache),
        cmocka_unit_test(eviction_keeps_streams_correct),
        cmocka_unit_test(cell_pressure_evicts_lru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
