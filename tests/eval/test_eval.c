/*
 * test_eval.c — ember eval's pieces: answer matching (numbers, "= N", commas, U+2212 minus,
 * choice letters, text), dataset shapes (plain, GSM8K ####, MATH \boxed{}, choices) and their
 * errors, a real evaluation on a generated model whose answer a grammar fixes (so the score is
 * known), per-question records (on disk as each question ends), and PNG plots through PLplot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "test_support.h"

static void test_matching(void **state) {
    (void)state;
    assert_true(ember_eval_answer_matches("420", "47 + 385 - 12 = 420"));
    assert_true(ember_eval_answer_matches("-614", "49 - 663 = -614"));
    assert_true(ember_eval_answer_matches("-614", "49 \xe2\x88\x92 663 = \xe2\x88\x92" "614"));
    assert_true(ember_eval_answer_matches("1234", "The total is 1,234."));
    assert_true(ember_eval_answer_matches("2.5", "so x = 2.50"));
    assert_true(ember_eval_answer_matches("42", "First 7.\nThen 42"));
    assert_false(ember_eval_answer_matches("42", "47 + 385 - 12 = 420"));
    assert_false(ember_eval_answer_matches("42", "no number here"));
    assert_false(ember_eval_answer_matches("42", "x42 = y"));
    assert_true(ember_eval_answer_matches("B", "The answer is (B)."));
    assert_false(ember_eval_answer_matches("B", "The answer is (C)."));
    assert_true(ember_eval_answer_matches("Paris", "The answer is Paris."));
    assert_false(ember_eval_answer_matches(NULL, "1"));
}

static ember_engine *engine_for_tests(void) {
    ember_engine_params ep = {.model_path = test_model("qwen3-tiny.gguf", 0), .n_ctx = 2048, .n_threads = 2};
    ember_engine *engine = NULL;
    ember_error err = {0};
    assert_int_equal(ember_engine_create(&ep, &engine, &err), EMBER_OK);
    return engine;
}

typedef struct {
    const char *records;
    int calls, unwritten; /* progress reports, and those that found fewer records than questions done */
} records_watch;

static void count_records(const ember_eval_progress *pr, void *user) {
    records_watch *w = user;
    FILE *f = fopen(w->records, "r");
    int lines = 0;
    for (int c; f && (c = fgetc(f)) != EOF;) lines += c == '\n';
    if (f) fclose(f);
    w->calls++;
    w->unwritten += lines < pr->done;
}

static void test_forced_answers_score(void **state) {
    (void)state;
    const char *data = test_temp_file(
        "{\"question\": \"What is 40 + 2?\", \"answer\": \"42\"}\n"
        "{\"question\": \"GSM8K style\", \"answer\": \"She has 6 * 7 = <<6*7=42>>42 apples.\\n#### 42\"}\n"
        "{\"problem\": \"MATH style\", \"solution\": \"So it is $\\\\boxed{\\\\frac{1}{2}}$.\"}\n"
        "{\"question\": \"Pick\", \"choices\": [\"x\", \"y\"], \"answer\": \"B\"}\n"
        "\n"
        "{\"question\": \"What is 3 + 4?\", \"answer\": 7}\n", 0);
    const char *records = test_temp_file("", 1);
    ember_engine *engine = engine_for_tests();
    ember_run_params rp;
    ember_run_params_init(&rp);
    rp.mode = EMBER_MODE_INSTANT;
    rp.sampling.grammar = "root ::= \"The answer is 42\"";
    rp.max_tokens = 32;
    records_watch watch = {.records = records};
    ember_eval_params p = {.dataset = data, .run = &rp, .parallel = 2, .records = records, .label = "forced",
                           .progress = count_records, .user = &watch};
    ember_eval_summary s;
    ember_error err = {0};
    assert_int_equal(ember_eval_run(engine, &p, &s, &err), EMBER_OK);
    /* each question's record is on disk when its progress is reported, not when the run ends */
    assert_int_equal(watch.calls, 5);
    assert_int_equal(watch.unwritten, 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.correct, 2);
    assert_int_equal(s.errors, 0);
    assert_true(s.accuracy > 0.39 && s.accuracy < 0.41);
    assert_true(s.ci_low < 0.4 && s.ci_high > 0.4);
    assert_true(s.answer_tokens > 0 && s.latency_ms > 0);

    /* one record a question, golds as the formats give them */
    FILE *f = fopen(records, "r");
    char line[4096];
    const char *golds[] = {"42", "42", "\\frac{1}{2}", "B", "7"};
    int i = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        assert_true(i < 5);
        assert_string_equal(json_string_value(json_object_get(o, "gold")), golds[i]);
        assert_string_equal(json_string_value(json_object_get(o, "label")), "forced");
        json_decref(o);
        i++;
    }
    fclose(f);
    assert_int_equal(i, 5);

    p.limit = 1;
    p.records = NULL;
    assert_int_equal(ember_eval_run(engine, &p, &s, &err), EMBER_OK);
    assert_int_equal(s.n, 1);
    ember_engine_destroy(engine);
}

static void test_bad_datasets(void **state) {
    (void)state;
    ember_engine *engine = engine_for_tests();
    ember_run_params rp;
    ember_run_params_init(&rp);
    ember_eval_summary s;
    ember_error err = {0};
    ember_eval_params p = {.dataset = test_temp_file("{\"question\": \"a\", \"answer\": \"1\"}\nnot json\n", 0), .run = &rp};
    assert_int_equal(ember_eval_run(engine, &p, &s, &err), EMBER_ERR_FORMAT);
    assert_non_null(strstr(err.message, ":2:"));
    p.dataset = test_temp_file("{\"question\": \"no gold\"}\n", 0);
    assert_int_equal(ember_eval_run(engine, &p, &s, &err), EMBER_ERR_FORMAT);
    assert_non_null(strstr(err.message, ":1:"));
    p.dataset = test_temp_file("\n\n", 0);
    assert_int_equal(ember_eval_run(engine, &p, &s, &err), EMBER_ERR_INVALID);
    p.dataset = "/nonexistent.jsonl";
    assert_int_equal(ember_eval_run(engine, &p, &s, &err), EMBER_ERR_NOT_FOUND);
    ember_engine_destroy(engine);
}

static void test_plot(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "%s.png", test_temp_file("", 0));
    const double x1[] = {0, 40, 80, 120}, y1[] = {20, 55, 80, 90}, l1[] = {17, 50, 77, 88}, h1[] = {24, 58, 84, 93};
    const double x2[] = {0}, y2[] = {25};
    ember_plot_series series[] = {{"thinking", x1, y1, l1, h1, 4}, {"instant", x2, y2, NULL, NULL, 1}};
    ember_error err = {0};
    assert_int_equal(ember_plot_png(path, "accuracy", "tokens", "%", series, 2, &err), EMBER_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char sig[8] = {0};
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    assert_true(ftell(f) > 2000);
    fclose(f);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    remove(path);
    assert_int_equal(ember_plot_png(path, "t", "x", "y", series, 0, &err), EMBER_ERR_INVALID);
    assert_int_equal(ember_plot_png("/nonexistent/dir/p.png", "t", "x", "y", series, 1, &err), EMBER_ERR_IO);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_forced_answers_score),
        cmocka_unit_test(test_bad_datasets),
        cmocka_unit_test(test_plot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
