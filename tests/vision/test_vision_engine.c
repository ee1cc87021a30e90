/*
 * test_vision_engine.c — the engine's image input on the generated models (Muse Glimmer and
 * Qwen3-VL's M-RoPE): an image is queued between text, encoded once, decoded into the KV
 * cache and generated after; equal images come from the engine's cache; a reset keeps a
 * prefix with the image in it; a crop fed to one fork goes to that fork only; the prompt
 * cache reuses a retired sequence's image cells (M-RoPE positions included); errors.
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
#include "fixtures.h"
#include "test_support.h"

typedef struct gen {
    char text[256];
    int tokens;
} gen;

static ember_seq_action on_token(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    gen *g = user;
    g->tokens++;
    if (tok->is_eog) return EMBER_SEQ_PAUSE;
    strncat(g->text, tok->piece, sizeof g->text - strlen(g->text) - 1);
    return EMBER_SEQ_CONTINUE;
}

static ember_engine *open_engine_cache(const char *model, const char *mmproj, int n_ctx, bool cache) {
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.prompt_cache = cache;
    p.verbose = getenv("EMBER_TEST_VERBOSE") != NULL;
    p.model_path = test_model(model, 0);
    p.mmproj_path = mmproj ? test_model(mmproj, 1) : NULL;
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    ember_engine *e = NULL;
    ember_error err = {0};
    if (ember_engine_create(&p, &e, &err) != EMBER_OK) fprintf(stderr, "%s\n", err.message);
    assert_non_null(e);
    return e;
}

static ember_engine *open_engine(const char *model, const char *mmproj, int n_ctx) {
    return open_engine_cache(model, mmproj, n_ctx, false);
}

static ember_image *picture(int w, int h) {
    uint8_t *rgb = fx_picture(w, h);
    ember_image *img = NULL;
    assert_int_equal(ember_image_from_rgb(w, h, rgb, &img, NULL), EMBER_OK);
    free(rgb);
    return img;
}

static void generate_x(ember_seq *seq, gen *g) {
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = "root ::= \"x\"{5}";
    memset(g, 0, sizeof *g);
    assert_int_equal(ember_seq_set_sampling(seq, &s, NULL), EMBER_OK);
    ember_seq_set_callbacks(seq, on_token, NULL, g);
    assert_int_equal(ember_seq_generate(seq, NULL), EMBER_OK);
    ember_error err = {0};
    ember_status status = ember_seq_wait_idle(seq, &err);
    if (status != EMBER_OK) fprintf(stderr, "generate: %s\n", err.message);
    assert_int_equal(status, EMBER_OK);
    assert_string_equal(g->text, "xxxxx");
}

typedef struct family {
    const char *model, *mmproj, *open, *close;
} family;

static const family GLIMMER = {"glimmer-tiny.gguf", "mmproj-glimmer-tiny.gguf",
                               "<|begin_of_text|><|start|>user<|message|>",
                               "What is in the picture?<|eot|><|start|>assistant to=user<|message|>"};
static const family QWEN = {"qwen3vl-tiny.gguf", "mmproj-qwen3vl-tiny.gguf", "<|im_start|>user\n",
                            "What is in the picture?<|im_end|>\n<|im_start|>assistant\n"};

static void image_between_text(const family *f) {
    ember_engine *e = open_engine(f->model, f->mmproj, 2048);
    assert_true(ember_engine_has_vision(e));
    assert_int_equal(ember_engine_image_size(e), 64);
    ember_image *img = picture(64, 64);
    assert_int_equal(ember_engine_image_tokens(e, img), 16);

    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &seq, NULL), EMBER_OK);
    int before_text = ember_engine_count_tokens(e, f->open, true);
    assert_int_equal(ember_seq_feed_text(seq, f->open, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_feed_image(seq, img, NULL), EMBER_OK);
    assert_int_equal(ember_seq_feed_text(seq, f->close, true, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    int n = ember_seq_n_tokens(seq);
    /* the image's 16 embeddings plus the projector's begin and end markers */
    assert_int_equal(n, before_text + 16 + 2 + ember_engine_count_tokens(e, f->close, true));
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.encoder_runs, 1);
    assert_int_equal(st.image_tokens_evaluated, 16);
    assert_int_equal(st.kv_cells_used, n);
    assert_int_equal(ember_seq_n_evaluated(seq), n);
    gen g;
    generate_x(seq, &g);

    /* the same prompt through reset_media on a second sequence: the embeddings are cached */
    char prompt[512];
    snprintf(prompt, sizeof prompt, "%s%s%s", f->open, EMBER_IMAGE_MARKER, f->close);
    const ember_image *imgs[] = {img};
    ember_seq *other = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &other, NULL), EMBER_OK);
    assert_int_equal(ember_seq_reset_media(other, prompt, true, imgs, 1, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(other, NULL), EMBER_OK);
    assert_int_equal(ember_seq_n_tokens(other), n);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.encoder_runs, 1);
    assert_int_equal(st.encoder_cache_hits, 1);
    assert_int_equal(st.image_tokens_evaluated, 32);

    /* the next turn keeps the prefix with the image: neither encoded nor decoded again */
    char next[1024];
    snprintf(next, sizeof next, "%sxxxxx and more?%s", prompt, f->close);
    int evaluated = ember_seq_n_evaluated(other);
    assert_int_equal(ember_seq_reset_media(other, next, true, imgs, 1, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(other, NULL), EMBER_OK);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.encoder_runs, 1);
    assert_int_equal(st.image_tokens_evaluated, 32);
    int fresh = ember_seq_n_evaluated(other) - evaluated;
    assert_true(fresh > 0 && fresh < ember_seq_n_tokens(other) - n + 2);
    generate_x(other, &g);

    /* a different image in the same place: the prefix ends before it, and it is encoded */
    ember_image *img2 = picture(32, 64);
    const ember_image *imgs2[] = {img2};
    assert_int_equal(ember_seq_reset_media(other, prompt, true, imgs2, 1, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(other, NULL), EMBER_OK);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.encoder_runs, 2);
    generate_x(other, &g);

    ember_seq_destroy(other);
    ember_seq_destroy(seq);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, 0);
    ember_image_destroy(img2);
    ember_image_destroy(img);
    ember_engine_destroy(e);
}

static void glimmer_image_between_text(void **state) {
    (void)state;
    image_between_text(&GLIMMER);
}

static void qwen3vl_image_between_text(void **state) {
    (void)state;
    image_between_text(&QWEN);
}

/* Two images in one prompt, then a crop fed to one of two forks. */
static void crop_goes_to_one_fork(const family *f) {
    ember_engine *e = open_engine(f->model, f->mmproj, 2048);
    ember_image *a = picture(64, 64), *b = picture(48, 32);
    char prompt[512];
    snprintf(prompt, sizeof prompt, "%s%s and %s %s", f->open, EMBER_IMAGE_MARKER, EMBER_IMAGE_MARKER, f->close);
    const ember_image *imgs[] = {a, b};
    ember_seq *root = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &root, NULL), EMBER_OK);
    assert_int_equal(ember_seq_reset_media(root, prompt, true, imgs, 2, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(root, NULL), EMBER_OK);
    int prompt_tokens = ember_seq_n_tokens(root);
    ember_seq *left = NULL, *right = NULL;
    assert_int_equal(ember_seq_fork(root, NULL, &left, NULL), EMBER_OK);
    assert_int_equal(ember_seq_fork(root, NULL, &right, NULL), EMBER_OK);

    ember_image *crop = NULL;
    assert_int_equal(ember_image_crop(a, 40, 8, 56, 24, &crop, NULL), EMBER_OK);
    ember_image *zoomed = NULL;
    assert_int_equal(ember_image_resize(crop, 64, 64, &zoomed, NULL), EMBER_OK);
    ember_engine_stats st0, st;
    ember_engine_get_stats(e, &st0);
    assert_int_equal(ember_seq_feed_text(left, "zoom:", false, NULL), EMBER_OK);
    assert_int_equal(ember_seq_feed_image(left, zoomed, NULL), EMBER_OK);
    assert_int_equal(ember_seq_feed_text(left, " seen.", false, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(left, NULL), EMBER_OK);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.encoder_runs, st0.encoder_runs + 1);
    assert_int_equal(st.image_tokens_evaluated, st0.image_tokens_evaluated + 16);
    /* the left fork holds the crop; the right one and the root do not */
    assert_true(ember_seq_n_tokens(left) >= prompt_tokens + 18);
    assert_int_equal(ember_seq_n_tokens(right), prompt_tokens);
    assert_int_equal(ember_seq_n_evaluated(right), 0);
    assert_int_equal(st.kv_cells_used, ember_seq_n_tokens(left));  /* shared prompt + the left's own */
    gen gl, gr;
    generate_x(left, &gl);
    generate_x(right, &gr);

    ember_seq_destroy(left);
    ember_seq_destroy(right);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, prompt_tokens);
    /* a reset that keeps the first image and drops the second */
    char shorter[512];
    snprintf(shorter, sizeof shorter, "%s%s only %s", f->open, EMBER_IMAGE_MARKER, f->close);
    assert_int_equal(ember_seq_reset_media(root, shorter, true, imgs, 1, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(root, NULL), EMBER_OK);
    gen g;
    generate_x(root, &g);
    ember_seq_destroy(root);
    ember_image_destroy(zoomed);
    ember_image_destroy(crop);
    ember_image_destroy(a);
    ember_image_destroy(b);
    ember_engine_destroy(e);
}

static void glimmer_crop_goes_to_one_fork(void **state) {
    (void)state;
    crop_goes_to_one_fork(&GLIMMER);
}

static void qwen3vl_crop_goes_to_one_fork(void **state) {
    (void)state;
    crop_goes_to_one_fork(&QWEN);
}

typedef struct greedy_ids {
    int32_t ids[12];
    int n;
} greedy_ids;

static ember_seq_action record_id(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    greedy_ids *g = user;
    g->ids[g->n++] = tok->token;
    return g->n == 12 ? EMBER_SEQ_PAUSE : EMBER_SEQ_CONTINUE;
}

/* A sequence reset to `text` with `img`, generating 12 greedy tokens into *g. */
static ember_seq *greedy_media(ember_engine *e, const char *text, const ember_image *img, greedy_ids *g) {
    ember_sampling s;
    ember_sampling_init(&s);
    s.temperature = 0;
    s.ignore_eos = true;
    memset(g, 0, sizeof *g);
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, &s, &seq, NULL), EMBER_OK);
    ember_seq_set_callbacks(seq, record_id, NULL, g);
    const ember_image *imgs[] = {img};
    assert_int_equal(ember_seq_reset_media(seq, text, true, imgs, 1, NULL), EMBER_OK);
    assert_int_equal(ember_seq_generate(seq, NULL), EMBER_OK);
    assert_int_equal(ember_seq_wait_idle(seq, NULL), EMBER_OK);
    return seq;
}

/* A retired sequence with an image serves the next turn: the image is not decoded again, and
 * greedy tokens after it are those of an engine without the cache (positions after an
 * M-RoPE image included). */
static void cached_prompt_keeps_the_image(const family *f) {
    char prompt[512], next[1024];
    snprintf(prompt, sizeof prompt, "%s%s%s", f->open, EMBER_IMAGE_MARKER, f->close);
    snprintf(next, sizeof next, "%sxxxxx and more?%s", prompt, f->close);
    ember_image *img = picture(64, 64);
    greedy_ids with, without, first;
    for (int cache = 1; cache >= 0; cache--) {
        ember_engine *e = open_engine_cache(f->model, f->mmproj, 2048, cache);
        ember_seq *seq = greedy_media(e, prompt, img, &first);
        int prompt_tokens = ember_seq_n_tokens(seq) - 11;  /* 12 sampled, the last not queued */
        ember_seq_retire(seq);
        ember_engine_stats st0, st;
        ember_engine_get_stats(e, &st0);
        seq = greedy_media(e, next, img, cache ? &with : &without);
        ember_engine_get_stats(e, &st);
        if (cache) {
            assert_int_equal(st.image_tokens_evaluated, st0.image_tokens_evaluated);   /* not decoded again */
            assert_int_equal(st.encoder_runs, st0.encoder_runs);                       /* nor encoded */
            assert_int_equal(st.encoder_cache_hits, st0.encoder_cache_hits);           /* nor looked up */
            int reused = (int)(st.prompt_tokens_reused - st0.prompt_tokens_reused);
            assert_true(reused >= prompt_tokens);   /* the first prompt, image included */
            assert_int_equal(ember_seq_n_evaluated(seq), ember_seq_n_tokens(seq) - reused);
        } else {
            assert_int_equal(st.image_tokens_evaluated, st0.image_tokens_evaluated + 16);
        }
        ember_seq_destroy(seq);
        ember_engine_destroy(e);
    }
    assert_int_equal(with.n, 12);
    assert_memory_equal(with.ids, without.ids, sizeof with.ids);
    ember_image_destroy(img);
}

static void glimmer_cached_prompt_keeps_the_image(void **state) {
    (void)state;
    cached_prompt_keeps_the_image(&GLIMMER);
}

static void qwen3vl_cached_prompt_keeps_the_image(void **state) {
    (void)state;
    cached_prompt_keeps_the_image(&QWEN);
}

static void errors_are_clear(void **state) {
    (void)state;
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.n_threads = 2;
    ember_engine *e = NULL;
    ember_error err = {0};
    p.mmproj_path = "/nonexistent/mmproj.gguf";
    assert_int_equal(ember_engine_create(&p, &e, &err), EMBER_ERR_NOT_FOUND);
    p.mmproj_path = test_model("qwen3-tiny.gguf", 1);   /* a language model, not a projector */
    assert_int_equal(ember_engine_create(&p, &e, &err), EMBER_ERR_FORMAT);
    assert_non_null(strstr(err.message, "projector"));
#if !defined(__SANITIZE_ADDRESS__)
    /* Another model's projector. Not under ASan: mtmd_init_from_file refuses it by throwing
     * from mtmd_context's constructor after it made the clip context, which then leaks
     * (llama.cpp de3ff815ea7d, mtmd.cpp "mismatch between text model ... and mmproj"). */
    p.mmproj_path = test_model("mmproj-qwen3vl-tiny.gguf", 1);
    assert_int_equal(ember_engine_create(&p, &e, &err), EMBER_ERR_ENGINE);
    assert_non_null(strstr(err.message, "projector"));
    assert_null(e);
#endif

    /* without a projector: images are refused with a hint */
    e = open_engine("glimmer-tiny.gguf", NULL, 256);
    assert_false(ember_engine_has_vision(e));
    ember_image *img = picture(64, 64);
    assert_int_equal(ember_engine_image_tokens(e, img), -1);
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, NULL, &seq, NULL), EMBER_OK);
    assert_int_equal(ember_seq_feed_image(seq, img, &err), EMBER_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "--mmproj"));
    ember_seq_destroy(seq);
    ember_engine_destroy(e);

    /* a context too small for the image; a marker count that does not match */
    e = open_engine("glimmer-tiny.gguf", "mmproj-glimmer-tiny.gguf", 64);
    assert_int_equal(ember_seq_create(e, NULL, &seq, NULL), EMBER_OK);
    ember_image *big = picture(256, 256);   /* 256 tokens */
    assert_int_equal(ember_seq_feed_image(seq, big, &err), EMBER_ERR_CONTEXT);
    const ember_image *two[] = {img, img};
    assert_int_equal(ember_seq_reset_media(seq, "one " EMBER_IMAGE_MARKER " only", true, two, 2, &err),
                     EMBER_ERR_FORMAT);
    ember_seq_destroy(seq);
    ember_engine_destroy(e);

    /* the image token cap scales large images down */
    p.mmproj_path = test_model("mmproj-glimmer-tiny.gguf", 1);
    p.image_max_tokens = 16;
    assert_int_equal(ember_engine_create(&p, &e, &err), EMBER_OK);
    assert_true(ember_engine_image_tokens(e, big) <= 16);
    ember_engine_destroy(e);
    ember_image_destroy(big);
    ember_image_destroy(img);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glimmer_image_between_text),
        cmocka_unit_test(qwen3vl_image_between_text),
        cmocka_unit_test(glimmer_crop_goes_to_one_fork),
        cmocka_unit_test(qwen3vl_crop_goes_to_one_fork),
        cmocka_unit_test(glimmer_cached_prompt_keeps_the_image),
        cmocka_unit_test(qwen3vl_cached_prompt_keeps_the_image),
        cmocka_unit_test(errors_are_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
