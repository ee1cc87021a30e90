/*
 * test_train.c — ember_train on a tiny generated qwen3 model: the loss falls within a few
 * dozen steps, the written GGUF loads and generates through the engine, a cancelled run
 * resumes from its checkpoint, a JSONL dataset trains, and what cannot be trained is refused
 * with a clear error (muse-glimmer, tied output / grouped heads, a bad data line, bad sizes);
 * expert iteration runs a round on ember-nano and a rerun resumes after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember.h"
#include "test_support.h"

typedef struct losses {
    double v[256];
    int n;
    int64_t cancel_at;
    volatile int cancel;
    int checkpoints;
} losses;

static void on_progress(const ember_train_progress *p, void *user) {
    losses *l = user;
    if (p->checkpoint) l->checkpoints++;
    else if (l->n < 256) l->v[l->n++] = p->loss;
    if (l->cancel_at > 0 && p->step >= l->cancel_at) l->cancel = 1;
}

static void params_for(ember_train_params *p, const char *model, const char *out, losses *l) {
    ember_train_params_init(p);
    p->model = model;
    p->out = out;
    p->examples = 120;
    p->ctx = 256;
    p->batch = 2;
    p->lr = 3e-3f;
    p->lr_min = 1e-3f;
    p->warmup_steps = 5;
    p->threads = 2;
    p->progress = on_progress;
    p->user = l;
    p->cancel = &l->cancel;
}

static char *temp_dir(void) {
    char tmpl[] = "/tmp/ember-train-XXXXXX";
    return strdup(mkdtemp(tmpl));
}

static void test_loss_falls_and_model_runs(void **state) {
    (void)state;
    char *dir = temp_dir();
    char out[512];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    losses l = {0};
    ember_train_params p;
    params_for(&p, test_model("qwen3-train-tiny.gguf", 0), out, &l);
    ember_train_report rep;
    ember_error err = {0};
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_OK);
    assert_true(rep.steps >= 20);
    assert_true(l.n >= 2);
    print_message("loss %.4f -> %.4f over %lld steps\n", l.v[0], l.v[l.n - 1], (long long)rep.steps);
    assert_true(l.v[l.n - 1] < 0.8 * l.v[0]);
    assert_true(rep.last_loss < rep.first_loss);

    /* the written model is a qwen3 GGUF the engine runs */
    ember_engine_params ep = {.model_path = out, .n_ctx = 512, .n_threads = 2};
    ember_engine *engine = NULL;
    assert_int_equal(ember_engine_create(&ep, &engine, &err), EMBER_OK);
    ember_chat *chat = ember_chat_create();
    assert_int_equal(ember_chat_add(chat, EMBER_ROLE_USER, "What is 2 + 3?", &err), EMBER_OK);
    ember_run_params rp;
    ember_run_params_init(&rp);
    rp.mode = EMBER_MODE_INSTANT;
    rp.max_tokens = 8;
    ember_result *r = NULL;
    assert_int_equal(ember_run_chat(engine, chat, &rp, NULL, NULL, &r, &err), EMBER_OK);
    assert_true(ember_result_usage(r)->answer_tokens > 0);
    ember_result_destroy(r);
    ember_chat_destroy(chat);
    ember_engine_destroy(engine);
    free(dir);
}

/* Synthesizer briefs: unscored text (the prompt and the brief), then the scored check of the
 * candidates and the answer; they pack into windows and the loss falls (two report
 * intervals of 10 steps at least, so first and last differ). */
static void test_synthesis_examples(void **state) {
    (void)state;
    char *dir = temp_dir();
    char out[512];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    losses l = {0};
    ember_train_params p;
    params_for(&p, test_model("qwen3-train-tiny.gguf", 0), out, &l);
    p.thinking_pct = 0;
    p.instant_pct = 0;
    p.tool_pct = 0;
    p.synthesis_pct = 100;
    p.examples = 80;
    p.ctx = 2048;
    p.batch = 1;
    ember_train_report rep;
    ember_error err = {0};
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_OK);
    assert_true(rep.examples >= 70);
    assert_true(rep.steps >= 20);
    print_message("synthesis: loss %.4f -> %.4f over %lld steps\n", rep.first_loss, rep.last_loss, (long long)rep.steps);
    assert_true(rep.last_loss < rep.first_loss);
    free(dir);
}

static void test_resume_after_cancel(void **state) {
    (void)state;
    char *dir = temp_dir();
    char out[512], ckpt[512];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt", dir);
    losses l = {.cancel_at = 12};
    ember_train_params p;
    params_for(&p, test_model("qwen3-train-tiny.gguf", 0), out, &l);
    p.checkpoint_dir = ckpt;
    p.checkpoint_every = 5;
    ember_train_report rep;
    ember_error err = {0};
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_ERR_CANCELLED);
    assert_non_null(strstr(err.message, "stopped at step"));
    assert_true(access(out, F_OK) == 0); /* what was learned is written */
    const int64_t stopped = rep.steps;
    losses l2 = {0};
    p.user = &l2;
    p.cancel = &l2.cancel;
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_OK);
    assert_int_equal(rep.resumed_at, stopped);
    assert_true(rep.steps > 0);
    /* a finished run is not silently repeated */
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "finished"));
    free(dir);
}

static void test_jsonl_data(void **state) {
    (void)state;
    char *dir = temp_dir();
    char out[512], data[512];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    ember_error err = {0};
    assert_int_equal(ember_arith_write_jsonl(data, 3, 30, false, &(ember_trace_style){0}, &err), EMBER_OK);
    losses l = {0};
    ember_train_params p;
    params_for(&p, test_model("qwen3-train-tiny.gguf", 0), out, &l);
    p.data = data;
    ember_train_report rep;
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_OK);
    assert_int_equal(rep.examples + rep.skipped, 30);

    FILE *f = fopen(data, "w");
    fputs("{\"question\": \"a\", \"answer\": \"b\"}\n{\"question\": 3}\n", f);
    fclose(f);
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_ERR_FORMAT);
    assert_non_null(strstr(err.message, ":2:"));
    free(dir);
}

static void test_refusals(void **state) {
    (void)state;
    losses l = {0};
    ember_train_params p;
    ember_train_report rep;
    ember_error err = {0};
    params_for(&p, test_model("glimmer-tiny.gguf", 0), "/tmp/ember-never.gguf", &l);
    p.examples = 4;
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "muse-glimmer"));
    params_for(&p, test_model("qwen3-tiny.gguf", 0), "/tmp/ember-never.gguf", &l);
    p.examples = 4;
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_ERR_UNSUPPORTED);
    params_for(&p, test_model("qwen3-train-tiny.gguf", 0), "/tmp/ember-never.gguf", &l);
    p.ctx = 4;
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_ERR_INVALID);
    /* every example longer than the window: said so, not "a finished run" */
    params_for(&p, test_model("qwen3-train-tiny.gguf", 0), "/tmp/ember-never.gguf", &l);
    p.examples = 4;
    p.thinking_pct = 0;
    p.instant_pct = 0;
    p.tool_pct = 100;
    p.ctx = 64;
    assert_int_equal(ember_train(&p, &rep, &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "raise --ctx"));
    params_for(&p, "/nonexistent.gguf", "/tmp/ember-never.gguf", &l);
    assert_int_not_equal(ember_train(&p, &rep, &err), EMBER_OK);
    assert_true(access("/tmp/ember-never.gguf", F_OK) != 0);
}

typedef struct lines_seen {
    int resumed;
    int measured;
} lines_seen;

static void on_expert_line(const char *line, void *user) {
    lines_seen *l = user;
    l->resumed += strstr(line, "resuming after round 1") != NULL;
    l->measured += strstr(line, "measuring") != NULL;
}

/* Expert iteration with ember-nano (the model ember trains, which answers for real): a round
 * samples, keeps correct traces, trains and measures; a rerun asking for one more round goes on
 * from round 1's model instead of starting over. */
static void test_expert_rounds_resume(void **state) {
    (void)state;
    char *dir = temp_dir(), model[1024], held[512], round_dir[512], path[600];
    snprintf(model, sizeof model, "%s/models/ember-nano.gguf", getenv("EMBER_SOURCE_DIR"));
    snprintf(held, sizeof held, "%s/held.jsonl", dir);
    snprintf(round_dir, sizeof round_dir, "%s/rounds", dir);
    ember_error err = {0};
    assert_int_equal(ember_arith_write_jsonl(held, 1, 2, true, NULL, &err), EMBER_OK);
    lines_seen seen = {0};
    ember_expert_params p;
    ember_expert_params_init(&p);
    p.model = model;
    p.dir = round_dir;
    p.held_out = held;
    p.rounds = 1;
    p.problems = 2;
    p.samples = 2;
    p.parallel = 2;
    p.threads = 2;
    p.progress = on_expert_line;
    p.user = &seen;
    ember_expert_round rounds[4], again[4];
    int n = 0;
    assert_int_equal(ember_expert_iteration(&p, rounds, &n, &err), EMBER_OK);
    assert_int_equal(n, 2);
    assert_int_equal(rounds[1].sampled, 4);
    assert_true(rounds[1].kept >= 1 && rounds[1].kept <= 2 && rounds[1].correct >= rounds[1].kept);
    assert_true(rounds[1].kept_tokens > 20);
    snprintf(path, sizeof path, "%s/round-1.gguf", round_dir);
    assert_true(access(path, R_OK) == 0);
    assert_int_equal(seen.measured, 1);
    p.rounds = 2;
    assert_int_equal(ember_expert_iteration(&p, again, &n, &err), EMBER_OK);
    assert_int_equal(n, 3);
    assert_int_equal(seen.resumed, 1);
    assert_int_equal(seen.measured, 1); /* round 0 was not measured again */
    assert_true(again[0].accuracy == rounds[0].accuracy && again[1].kept == rounds[1].kept);
    assert_true(again[1].seconds == rounds[1].seconds);
    snprintf(path, sizeof path, "%s/round-2.gguf", round_dir);
    assert_true(access(path, R_OK) == 0);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls_and_model_runs),
        cmocka_unit_test(test_synthesis_examples),
        cmocka_unit_test(test_resume_after_cancel),
        cmocka_unit_test(test_jsonl_data),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_expert_rounds_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
