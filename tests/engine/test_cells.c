/*
 * test_cells.c — the engine when the KV cells run out (engine/cells.c), on the generated tiny
 * model with a small context:
 *   - long generations that together outgrow the cells (each alone fits) all complete: the
 *     newest are preempted and recomputed, and every stream's greedy output equals its run
 *     alone; the cells return to zero;
 *   - idle cached prompts are evicted before any stream is preempted;
 *   - input that finds no free cell while nothing decodes (an idle sequence holds them) waits
 *     for a sequence to be freed, and after the grace is ended with EMBER_ERR_BUSY and a reason,
 *     its cells freed, the idle sequence untouched and the engine usable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "greedy.h"

enum { N_CTX = 256, STREAMS = 4, GEN = 120 };

static void prompt_text(char *buf, size_t size, int i) {
    static const char *const topics[] = {"ships", "stars", "rivers", "bread"};
    snprintf(buf, size, "<|begin_of_text|><|start|>user<|message|>Write about %s and the sea at night.<|eot|>"
             "<|start|>assistant to=user<|message|>", topics[i % 4]);
}

typedef struct stream {
    ember_seq *seq;
    gen_state g;
    ember_status status;
    ember_error err;
} stream;

static void *finish(void *arg) {
    stream *s = arg;
    s->status = ember_seq_wait_idle(s->seq, &s->err);
    ember_seq_destroy(s->seq);
    return NULL;
}

static void long_generations_outgrow_the_cells_and_all_complete(void **state) {
    (void)state;
    char text[STREAMS][256];
    for (int i = 0; i < STREAMS; i++) prompt_text(text[i], sizeof text[i], i);
    ember_engine *e = greedy_engine(N_CTX, STREAMS, false);
    int prompt = ember_engine_count_tokens(e, text[0], true);
    assert_true(prompt + GEN < N_CTX);                 /* each alone fits */
    assert_true(STREAMS * (prompt + GEN) > 2 * N_CTX); /* together they need twice the cells */

    gen_state ref[STREAMS];
    for (int i = 0; i < STREAMS; i++) {
        ember_seq *s = greedy_start(e, text[i], GEN, &ref[i]);
        assert_int_equal(ember_seq_wait_idle(s, NULL), EMBER_OK);
        ember_seq_destroy(s);
    }

    /* each stream is waited for and freed by a thread of its own, as a server's runs are */
    stream streams[STREAMS];
    pthread_t threads[STREAMS];
    for (int i = 0; i < STREAMS; i++) {
        streams[i].seq = greedy_start(e, text[i], GEN, &streams[i].g);
        assert_int_equal(pthread_create(&threads[i], NULL, finish, &streams[i]), 0);
    }
    for (int i = 0; i < STREAMS; i++) {
        pthread_join(threads[i], NULL);
        if (streams[i].status != EMBER_OK) fprintf(stderr, "stream %d: %s\n", i, streams[i].err.message);
        assert_int_equal(streams[i].status, EMBER_OK);
        assert_int_equal(streams[i].g.n, GEN);
        int same = same_greedy(&streams[i].g, &ref[i], GEN);
        if (same < GEN) fprintf(stderr, "stream %d parted from its solo run at a near-tie after %d tokens\n", i, same);
    }
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    fprintf(stderr, "%d streams of %d + %d tokens in %d cells: %llu preemptions, peak %d cells\n", STREAMS, prompt,
            GEN, N_CTX, (unsigned long long)st.preemptions, st.kv_cells_peak);
    assert_true(st.preemptions >= 1);
    assert_int_equal(st.seqs_cut, 0);
    assert_true(st.kv_cells_peak <= N_CTX);
    assert_int_equal(st.kv_cells_used, 0);
    ember_engine_destroy(e);
}

/* A prompt of `words` numbered words. */
static void long_text(char *buf, size_t size, const char *word, int words) {
    size_t n = (size_t)snprintf(buf, size, "<|begin_of_text|><|start|>user<|message|>");
    for (int i = 0; i < words && n + 32 < size; i++) n += (size_t)snprintf(buf + n, size - n, " %s%d", word, i % 10);
    snprintf(buf + n, size - n, "<|eot|><|start|>assistant to=user<|message|>");
}

static void input_without_a_free_cell_is_ended_after_the_grace(void **state) {
    (void)state;
    static char big[2048], other[2048];
    long_text(big, sizeof big, "lamp", 32);
    long_text(other, sizeof other, "wave", 22);
    ember_engine *e = greedy_engine(N_CTX, 4, false);
    int n_big = ember_engine_count_tokens(e, big, true);
    int n_other = ember_engine_count_tokens(e, other, true);
    fprintf(stderr, "prompts of %d and %d tokens in %d cells\n", n_big, n_other, N_CTX);
    assert_true(n_big + 8 < N_CTX && n_other + 8 < N_CTX && n_big + n_other > N_CTX);

    gen_state ref, h, g;
    ember_seq *seq = greedy_start(e, big, 6, &ref);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    ember_seq_destroy(seq);

    /* an idle sequence holds most cells: it paused after one token */
    ember_seq *idle = greedy_start(e, big, 1, &h);
    assert_int_equal(ember_seq_wait_idle(idle, NULL), EMBER_OK);
    /* a prompt that does not fit beside it: nothing decodes, so nothing will free a cell */
    ember_seq *late = greedy_start(e, other, 8, &g);
    ember_error err = {0};
    assert_int_equal(ember_seq_wait_idle(late, &err), EMBER_ERR_BUSY);
    assert_non_null(strstr(err.message, "ran out of cells"));
    assert_int_equal(g.n, 0);
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cut, 1);
    assert_int_equal(st.kv_cells_used, n_big);   /* its partial prompt freed, the idle one's kept */
    ember_seq_destroy(late);

    /* the idle sequence is whole: resumed, it generates what a run alone did (a paused
     * sequence samples the token it paused on again) */
    h.n = 0;
    h.limit = 6;
    assert_int_equal(ember_seq_generate(idle, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(idle, NULL), EMBER_OK);
    same_greedy(&h, &ref, 6);

    /* a prompt waiting for cells goes on when the holder is freed within the grace */
    ember_seq *waiting = greedy_start(e, other, 4, &g);
    struct timespec pause = {.tv_nsec = 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    ember_seq_destroy(idle);
    assert_int_equal(ember_seq_wait_idle(waiting, NULL), EMBER_OK);
    assert_int_equal(g.n, 4);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cut, 1);
    ember_seq_destroy(waiting);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, 0);
    ember_engine_destroy(e);
}

/* Idle cached prompts reserve nothing: when streams need their cells, they are evicted, and
 * no stream is preempted while one is left. */
static void cached_prompts_go_before_any_stream_is_preempted(void **state) {
    (void)state;
    enum { GEN2 = 60 };
    static char cached_text[2048];
    long_text(cached_text, sizeof cached_text, "bell", 20);
    ember_engine *e = greedy_engine(N_CTX, 4, true);
    gen_state g;
    ember_seq *seq = greedy_start(e, cached_text, 10, &g);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    ember_seq_retire(seq);
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.seqs_cached, 1);
    int cached = st.kv_cells_cached;

    char text[2][256];
    stream streams[2];
    pthread_t threads[2];
    int need = 0;
    for (int i = 0; i < 2; i++) {
        prompt_text(text[i], sizeof text[i], i);
        need += ember_engine_count_tokens(e, text[i], true) + GEN2;
    }
    assert_true(need <= N_CTX && need + cached > N_CTX);   /* they fit only without the cached prompt */
    for (int i = 0; i < 2; i++) {
        streams[i].seq = greedy_start(e, text[i], GEN2, &streams[i].g);
        assert_int_equal(pthread_create(&threads[i], NULL, finish, &streams[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(streams[i].status, EMBER_OK);
        assert_int_equal(streams[i].g.n, GEN2);
    }
    ember_engine_get_stats(e, &st);
    fprintf(stderr, "a cached prompt of %d cells, streams needing %d of %d: %llu evicted, %llu preempted\n", cached, need,
            N_CTX, (unsigned long long)st.prompt_cache_evictions, (unsigned long long)st.preemptions);
    assert_int_equal(st.prompt_cache_evictions, 1);
    assert_int_equal(st.preemptions, 0);
    assert_int_equal(st.seqs_cut, 0);
    ember_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_generations_outgrow_the_cells_and_all_complete),
        cmocka_unit_test(input_without_a_free_cell_is_ended_after_the_grace),
        cmocka_unit_test(cached_prompts_go_before_any_stream_is_preempted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
