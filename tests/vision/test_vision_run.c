/*
 * test_vision_run.c — images through runs (the public run API on the generated models):
 * the zoom tool crops the right pixels of a picture with known colored regions, in Thinking
 * and in Contemplating (each crop goes to the agent that asked for it, decoded once);
 * boxes in the answer become structured results; a prefix cache makes the next turn on the
 * same image skip its encoding and evaluation. Grammars force the model's text; the seeds are
 * ones where the model (random weights) chooses the branches the checks need.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "fixtures.h"
#include "test_support.h"

/* The green square of fx_picture(64, 64) is x in [40, 56), y in [8, 24). */
static const char ZOOM_GRAMMAR[] =
    "root ::= \"a\"{3} <|eom|> <|start|> \"assistant\" (call | answer)\n"
    "call ::= \" to=zoom\" <|message|> \"<atem:function_calls>\\n<atem:invoke name=\\\"zoom\\\">\\n"
    "<atem:parameter name=\\\"image\\\">1</atem:parameter>\\n<atem:parameter name=\\\"box\\\">BOX</atem:parameter>\\n"
    "</atem:invoke>\\n</atem:function_calls>\"\n"
    "answer ::= \" to=user\" <|message|> \"A green square <box label=\\\"square\\\">0.625,0.125,0.875,0.375</box>.\"\n";

static char *grammar_with_box(const char *box) {
    static char buf[2048];
    const char *at = strstr(ZOOM_GRAMMAR, "BOX");
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - ZOOM_GRAMMAR), ZOOM_GRAMMAR, box, at + 3);
    return buf;
}

typedef struct events {
    int tool_results[8];   /* per agent index + 1 */
    int zoom_results;
} events;

static void on_event(const ember_event *ev, void *user) {
    events *e = user;
    if (ev->type == EMBER_EVENT_TOOL_RESULT && ev->name && strcmp(ev->name, "zoom") == 0) {
        e->zoom_results++;
        if (ev->agent + 1 >= 0 && ev->agent + 1 < 8) e->tool_results[ev->agent + 1]++;
    }
}

static ember_engine *open_engine(void) {
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.mmproj_path = test_model("mmproj-glimmer-tiny.gguf", 1);
    p.n_threads = 2;
    ember_engine *e = NULL;
    ember_error err = {0};
    if (ember_engine_create(&p, &e, &err) != EMBER_OK) fprintf(stderr, "%s\n", err.message);
    assert_non_null(e);
    return e;
}

static ember_chat *chat_with_picture(ember_image **img) {
    uint8_t *rgb = fx_picture(64, 64);
    assert_int_equal(ember_image_from_rgb(64, 64, rgb, img, NULL), EMBER_OK);
    free(rgb);
    ember_chat *chat = ember_chat_create();
    assert_int_equal(ember_chat_add(chat, EMBER_ROLE_USER, "Where is the green square?", NULL), EMBER_OK);
    assert_int_equal(ember_chat_add_image(chat, *img, NULL), EMBER_OK);
    return chat;
}

static void assert_all_green(const ember_image *crop) {
    const uint8_t *p = ember_image_rgb(crop);
    for (int i = 0; i < ember_image_width(crop) * ember_image_height(crop); i++)
        assert_true(p[3 * i] == 0 && p[3 * i + 1] == 255 && p[3 * i + 2] == 0);
}

static void thinking_zoom_crops_the_right_pixels(void **state) {
    (void)state;
    ember_engine *e = open_engine();
    ember_image *img = NULL;
    ember_chat *chat = chat_with_picture(&img);
    /* normalized and pixel boxes name the same region */
    const char *boxes[] = {"[0.625, 0.125, 0.875, 0.375]", "[40, 8, 56, 24]"};
    for (int b = 0; b < 2; b++) {
        ember_run_params p;
        ember_run_params_init(&p);
        p.sampling.grammar = grammar_with_box(boxes[b]);
        p.sampling.seed = 2;
        events ev = {0};
        ember_result *r = NULL;
        ember_error err = {0};
        ember_status status = ember_run_chat(e, chat, &p, on_event, &ev, &r, &err);
        if (status != EMBER_OK) fprintf(stderr, "%s\n", err.message);
        assert_int_equal(status, EMBER_OK);
        /* the model may zoom more than once before it answers; every zoom is the same region */
        size_t n_zooms = ember_result_zoom_count(r);
        assert_true(n_zooms >= 1);
        for (size_t k = 0; k < n_zooms; k++) {
            const ember_zoom *z = ember_result_zoom(r, k);
            assert_int_equal(z->agent, -1);
            assert_int_equal(z->image, 0);
            assert_true(z->x1 == 40 && z->y1 == 8 && z->x2 == 56 && z->y2 == 24);
            assert_int_equal(ember_image_width(z->crop), 64);  /* 16x16 scaled up to the projector's 64 */
            assert_int_equal(z->tokens, 16);
            assert_all_green(z->crop);
        }
        assert_int_equal(ev.zoom_results, (int)n_zooms);
        assert_string_equal(ember_result_answer(r), "A green square <box label=\"square\">0.625,0.125,0.875,0.375</box>.");
        /* the answer's box, read into pixels */
        assert_int_equal(ember_result_box_count(r), 1);
        const ember_box *box = ember_result_box(r, 0);
        assert_string_equal(box->label, "square");
        assert_true(box->x1 == 40 && box->y1 == 8 && box->x2 == 56 && box->y2 == 24);
        assert_int_equal(ember_result_usage(r)->image_tokens, 16 + 16 * (int)n_zooms);
        char *json = ember_result_json(r);
        json_t *root = json_loads(json, 0, NULL);
        json_t *zj = json_array_get(json_object_get(root, "zooms"), 0);
        assert_int_equal(json_integer_value(json_object_get(zj, "image")), 1);
        assert_int_equal(json_integer_value(json_object_get(zj, "tokens")), 16);
        json_t *bj = json_array_get(json_object_get(root, "boxes"), 0);
        assert_string_equal(json_string_value(json_object_get(bj, "label")), "square");
        json_decref(root);
        free(json);
        ember_result_destroy(r);
    }
    /* with no_zoom the tool is not offered: the call is the caller's to run */
    ember_run_params p;
    ember_run_params_init(&p);
    p.sampling.grammar = grammar_with_box(boxes[0]);
    p.sampling.seed = 2;
    p.no_zoom = true;
    ember_result *r = NULL;
    assert_int_equal(ember_run_chat(e, chat, &p, NULL, NULL, &r, NULL), EMBER_OK);
    assert_int_equal(ember_result_zoom_count(r), 0);
    ember_result_destroy(r);
    ember_chat_destroy(chat);
    ember_image_destroy(img);
    ember_engine_destroy(e);
}

/* Every agent must zoom (the grammar has no answer branch) and may do it once: each agent's
 * crop is its own, announced for it, and decoded once — into that agent's branch, not the
 * shared prompt or the other agents (test_vision_engine checks the fork isolation itself).
 * Sampling cannot decide the outcome, so batching order under load does not either. */
static void contemplating_zoom_goes_to_each_asking_agent(void **state) {
    (void)state;
    ember_engine *e = open_engine();
    ember_image *img = NULL;
    ember_chat *chat = chat_with_picture(&img);
    static char grammar[2048];
    snprintf(grammar, sizeof grammar, "%s", grammar_with_box("[0.625, 0.125, 0.875, 0.375]"));
    char *alt = strstr(grammar, " (call | answer)");
    memcpy(alt, " call           ", strlen(" (call | answer)"));
    ember_run_params p;
    ember_run_params_init(&p);
    p.mode = EMBER_MODE_CONTEMPLATING;
    p.agents = 3;
    p.early_stop = false;
    p.max_tool_steps = 1;
    p.agent_grammar = grammar;
    p.sampling.grammar = "root ::= \"I check.\" <|eom|> <|start|> \"assistant to=user\" <|message|> \"Green.\"";
    p.sampling.seed = 3;
    ember_engine_stats before, after;
    ember_engine_get_stats(e, &before);
    events ev = {0};
    ember_result *r = NULL;
    ember_error err = {0};
    ember_status status = ember_run_chat(e, chat, &p, on_event, &ev, &r, &err);
    if (status != EMBER_OK) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(status, EMBER_OK);
    ember_engine_get_stats(e, &after);
    assert_int_equal(ember_result_zoom_count(r), 3);
    int per_agent[3] = {0};
    for (size_t k = 0; k < 3; k++) {
        const ember_zoom *z = ember_result_zoom(r, k);
        assert_true(z->agent >= 0 && z->agent < 3);
        per_agent[z->agent]++;
        assert_all_green(z->crop);
    }
    for (int a = 0; a < 3; a++) {
        assert_int_equal(per_agent[a], 1);
        assert_int_equal(ev.tool_results[a + 1], 1);   /* announced for that agent */
    }
    assert_int_equal(ev.tool_results[0], 0);           /* none for the main answer */
    /* the prompt's image once, each crop once (the crops are equal: encoded once, cached) */
    assert_int_equal(after.image_tokens_evaluated - before.image_tokens_evaluated, 16 + 3 * 16);
    assert_int_equal(after.encoder_runs - before.encoder_runs, 2);
    assert_int_equal(ember_result_usage(r)->images_encoded, 2);
    assert_string_equal(ember_result_answer(r), "Green.");
    ember_result_destroy(r);
    ember_chat_destroy(chat);
    ember_image_destroy(img);
    ember_engine_destroy(e);
}

static void next_turn_reuses_the_image(void **state) {
    (void)state;
    ember_engine *e = open_engine();
    ember_image *img = NULL;
    ember_chat *chat = chat_with_picture(&img);
    ember_prefix_cache *cache = NULL;
    assert_int_equal(ember_prefix_cache_create(e, &cache, NULL), EMBER_OK);
    ember_mode modes[] = {EMBER_MODE_INSTANT, EMBER_MODE_INSTANT, EMBER_MODE_CONTEMPLATING, EMBER_MODE_CONTEMPLATING};
    int evaluated[4];
    for (int turn = 0; turn < 4; turn++) {
        ember_run_params p;
        ember_run_params_init(&p);
        p.mode = modes[turn];
        p.agents = 2;
        p.no_zoom = true;
        p.prefix_cache = cache;
        /* Contemplating's synthesizer (which a grammar always calls on) reasons first */
        p.sampling.grammar = p.mode == EMBER_MODE_INSTANT
                                 ? "root ::= \"Red.\""
                                 : "root ::= \"I check.\" <|eom|> <|start|> \"assistant to=user\" <|message|> \"Red.\"";
        p.agent_grammar = "root ::= \"b\"{4}";
        ember_result *r = NULL;
        ember_error err = {0};
        ember_status status = ember_run_chat(e, chat, &p, NULL, NULL, &r, &err);
        if (status != EMBER_OK) fprintf(stderr, "turn %d: %s\n", turn, err.message);
        assert_int_equal(status, EMBER_OK);
        evaluated[turn] = ember_result_usage(r)->prompt_tokens_evaluated;
        assert_int_equal(ember_result_usage(r)->images_encoded, turn == 0 ? 1 : 0);
        assert_int_equal(ember_result_usage(r)->image_tokens, 16);
        ember_chat_add_assistant(chat, ember_result_reasoning(r), ember_result_answer(r), NULL);
        ember_chat_add(chat, EMBER_ROLE_USER, "And now?", NULL);
        ember_result_destroy(r);
    }
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.encoder_runs, 1);
    assert_int_equal(st.image_tokens_evaluated, 16);   /* decoded once, in the first turn */
    for (int turn = 1; turn < 4; turn++) assert_true(evaluated[turn] * 3 < evaluated[0]);
    ember_prefix_cache_clear(cache);
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, 0);
    ember_prefix_cache_destroy(cache);
    ember_chat_destroy(chat);
    ember_image_destroy(img);
    ember_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thinking_zoom_crops_the_right_pixels),
        cmocka_unit_test(contemplating_zoom_goes_to_each_asking_agent),
        cmocka_unit_test(next_turn_reuses_the_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
