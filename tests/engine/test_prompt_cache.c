/*
 * test_prompt_cache.c — the engine's prompt cache across sequences (ember_engine_params.
 * prompt_cache) on a generated model: a retired sequence's cells serve the next sequence whose
 * prompt shares its prefix (only the rest is evaluated), greedy output is the same with and
 * without the cache, and evicting cached prompts under cell and sequence-id pressure leaves
 * the running streams — including one that shares the evicted prompt's cells — correct.
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

enum { CELL_CTX = 256 };

static const char PROMPT[] =
    "<|begin_of_text|><|start|>user<|message|>Tell me a long story about a lighthouse keeper who counts "
    "ships and writes their names in a book every night.<|eot|>";
static const char TURN2[] =
    "<|start|>assistant to=user<|message|>Once there was a keeper.<|eot|>"
    "<|start|>user<|message|>And then what happened to the book?<|eot|><|start|>assistant to=user<|message|>";

static char *joined(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

static void follow_up_reuses_the_prefix(void **state) {
    (void)state;
    ember_engine *e = greedy_engine(2048, 4, true);
    int prompt = ember_engine_count_tokens(e, PROMPT, true);
    gen_state g1, g2;
    ember_seq *first = greedy_start(e, PROMPT, 10, &g1);
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
    ember_seq *next = greedy_start(e, second, 5, &g2);
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
    ember_seq *again = greedy_start(e, second, 5, &g3);
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
    ember_engine *e = greedy_engine(2048, 4, cache);
    gen_state g;
    ember_seq *a = greedy_start(e, first, 12, &g);
    assert_int_equal(ember_seq_wait_idle(a, NULL), EMBER_OK);
    ember_seq_retire(a);
    ember_seq *b = greedy_start(e, second, 40, out);
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
        ember_engine *e = greedy_engine(N_CTX, SEQS, false);
        for (int i = 0; i < 4; i++) {
            ember_seq *s = greedy_start(e, texts[i], GEN, &ref[i]);
            assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
            ember_seq_destroy(s);
        }
        ember_engine_destroy(e);
    }

    ember_engine *e = greedy_engine(N_CTX, SEQS, true);
    /* three cached prompts, each holding prompt + generated cells */
    gen_state g[4];
    for (int i = 0; i < 3; i++) {
        ember_seq *s = greedy_start(e, texts[i], GEN, &g[i]);
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
    streams[0] = greedy_start(e, texts[0], 10, &live[0]);
    assert_int_equal(ember_seq_wait_idle(streams[0], NULL), EMBER_OK);
    for (int i = 1; i < 4; i++) streams[i] = greedy_start(e, texts[i], GEN, &live[i]);
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
    ember_engine *e = greedy_engine(CELL_CTX, 8, false);
    int prompt = ember_engine_count_tokens(e, text[0], true);
    int stream_gen = CELL_CTX - prompt - 8;   /* leaves no room for a cached prompt beside it */
    gen_state ref, g;
    static const char STREAM[] = "<|begin_of_text|><|start|>system<|message|>Be brief.<|eot|>";
    ember_seq *s = greedy_start(e, STREAM, stream_gen, &ref);
    assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
    ember_seq_destroy(s);
    ember_engine_destroy(e);

    e = greedy_engine(CELL_CTX, 8, true);
    for (int i = 0; i < 2; i++) {   /* two cached prompts of prompt + 19 cells */
        s = greedy_start(e, text[i], 20, &g);
        assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
        ember_seq_retire(s);
    }
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cached, 2);
    assert_true(st.kv_cells_cached > prompt + 19);   /* they share the common prefix's cells */
    /* the newer cached prompt is used again: the older one is now the least recent */
    s = greedy_start(e, text[1], 2, &g);
    assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
    ember_seq_retire(s);

    s = greedy_start(e, STREAM, stream_gen, &g);
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
