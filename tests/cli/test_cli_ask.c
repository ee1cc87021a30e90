/*
 * test_cli_ask.c — `ember ask` and `ember run` end to end on generated models. Random weights
 * produce random text, so every check that needs known text constrains sampling with a GBNF
 * grammar (tokens like <|eom|> are written in the grammar's token syntax).
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

#include "test_support.h"

/* Thinking: 30 'a's of reasoning, the channel switch, a known answer. A grammar cannot name
 * an end-of-generation token (llama.cpp allows those only once the grammar is complete), so
 * each grammar ends with the text and the model then ends its turn. */
static const char THINKING_GRAMMAR[] =
    "root ::= \"a\"{30} <|eom|> <|start|> \"assistant to=user\" <|message|> \"The answer is 4.\"\n";
static const char INSTANT_GRAMMAR[] = "root ::= \"Four.\"\n";

static json_t *ask_json(const char *const *args, test_proc *proc) {
    assert_true(test_run_ember(proc, NULL, args));
    if (proc->status != 0) fprintf(stderr, "ember failed (%d): %s\n", proc->status, proc->err);
    assert_int_equal(proc->status, 0);
    json_error_t jerr;
    json_t *root = json_loads(proc->out, 0, &jerr);
    if (!root) fprintf(stderr, "not JSON: %s\n%s\n", jerr.text, proc->out);
    assert_non_null(root);
    return root;
}

static int usage_int(json_t *root, const char *key) {
    json_t *v = json_object_get(json_object_get(root, "usage"), key);
    assert_true(json_is_integer(v));
    return (int)json_integer_value(v);
}

static void thinking_json_has_the_documented_fields(void **state) {
    (void)state;
    const char *grammar = test_temp_file(THINKING_GRAMMAR, 0);
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "thinking", "--reasoning", "high",
                          "--grammar-file", grammar, "--seed", "7", "--json", "What is 2+2?", NULL};
    test_proc proc;
    json_t *root = ask_json(args, &proc);
    assert_string_equal(json_string_value(json_object_get(root, "answer")), "The answer is 4.");
    const char *reasoning = json_string_value(json_object_get(root, "reasoning"));
    assert_int_equal(strlen(reasoning), 30);
    assert_int_equal(strspn(reasoning, "a"), 30);
    assert_string_equal(json_string_value(json_object_get(root, "mode")), "thinking");
    assert_true(usage_int(root, "prompt_tokens") > 10);
    assert_true(usage_int(root, "reasoning_tokens") >= 1);
    assert_true(usage_int(root, "answer_tokens") >= 1);
    json_t *timings = json_object_get(root, "timings");
    assert_true(json_is_number(json_object_get(timings, "prefill_tokens_per_s")));
    assert_true(json_is_number(json_object_get(timings, "decode_tokens_per_s")));
    assert_true(json_is_number(json_object_get(timings, "ttft_ms")));
    assert_true(json_real_value(json_object_get(timings, "prefill_tokens_per_s")) > 0);
    json_decref(root);
    test_proc_free(&proc);
    remove(grammar);
}

static void instant_has_no_reasoning_and_streams(void **state) {
    (void)state;
    const char *grammar = test_temp_file(INSTANT_GRAMMAR, 0);
    const char *json_args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant",
                               "--grammar-file", grammar, "--seed", "1", "--json", "2+2?", NULL};
    test_proc proc;
    json_t *root = ask_json(json_args, &proc);
    assert_string_equal(json_string_value(json_object_get(root, "answer")), "Four.");
    assert_string_equal(json_string_value(json_object_get(root, "reasoning")), "");
    assert_int_equal(usage_int(root, "reasoning_tokens"), 0);
    json_decref(root);
    test_proc_free(&proc);

    /* without --json the answer streams to stdout, nothing else does */
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant",
                          "--grammar-file", grammar, "--seed", "1", "2+2?", NULL};
    assert_true(test_run_ember(&proc, NULL, args));
    assert_int_equal(proc.status, 0);
    assert_string_equal(proc.out, "Four.\n");
    test_proc_free(&proc);
    remove(grammar);
}

static void think_budget_closes_the_reasoning_channel(void **state) {
    (void)state;
    const char *grammar = test_temp_file(THINKING_GRAMMAR, 0);
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--think-budget", "5",
                          "--grammar-file", grammar, "--seed", "3", "--json", "--max-tokens", "200", "Q", NULL};
    test_proc proc;
    json_t *root = ask_json(args, &proc);
    assert_int_equal(usage_int(root, "reasoning_tokens"), 5);
    assert_true(json_is_true(json_object_get(root, "think_budget_reached")));
    /* The grammar still had 'a's to write; after the forced close they land on the answer
     * channel, and the model's own answer follows. */
    const char *answer = json_string_value(json_object_get(root, "answer"));
    assert_non_null(strstr(answer, "The answer is 4."));
    const char *reasoning = json_string_value(json_object_get(root, "reasoning"));
    assert_true(strlen(reasoning) < 30);
    json_decref(root);
    test_proc_free(&proc);

    /* with the cue, the injected line is part of the reasoning text but not of its count */
    const char *cue_args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--think-budget", "5", "--budget-cue",
                              "--grammar-file", grammar, "--seed", "3", "--json", "--max-tokens", "200", "Q", NULL};
    root = ask_json(cue_args, &proc);
    assert_int_equal(usage_int(root, "reasoning_tokens"), 5);
    assert_non_null(strstr(json_string_value(json_object_get(root, "reasoning")), "answer now"));
    json_decref(root);
    test_proc_free(&proc);
    remove(grammar);
}

static void max_tokens_limits_generation(void **state) {
    (void)state;
    const char *grammar = test_temp_file("root ::= \"b\"{200}\n", 0);
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant", "--max-tokens", "12",
                          "--grammar-file", grammar, "--json", "Q", NULL};
    test_proc proc;
    json_t *root = ask_json(args, &proc);
    assert_int_equal(usage_int(root, "answer_tokens"), 12);
    assert_string_equal(json_string_value(json_object_get(root, "finish_reason")), "length");
    json_decref(root);
    test_proc_free(&proc);
    remove(grammar);
}

static void second_family_chatml(void **state) {
    (void)state;
    const char *grammar = test_temp_file("root ::= \"Four.\"\n", 0);
    const char *args[] = {"ask", "-m", test_model("qwen3-tiny.gguf", 0), "--mode", "instant",
                          "--grammar-file", grammar, "--json", "2+2?", NULL};
    test_proc proc;
    json_t *root = ask_json(args, &proc);
    assert_string_equal(json_string_value(json_object_get(root, "answer")), "Four.");
    json_decref(root);
    test_proc_free(&proc);
    remove(grammar);
}

static void run_keeps_a_conversation(void **state) {
    (void)state;
    const char *grammar = test_temp_file(INSTANT_GRAMMAR, 0);
    const char *args[] = {"run", "-m", test_model("glimmer-tiny.gguf", 0), "--grammar-file", grammar, "--seed", "2", NULL};
    test_proc proc;
    assert_true(test_run_ember(&proc, "/mode instant\nfirst question\n/reasoning high\nsecond question\n/exit\n", args));
    assert_int_equal(proc.status, 0);
    assert_non_null(strstr(proc.out, "(mode: instant)"));
    const char *first = strstr(proc.out, "Four.\n");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "Four.\n"));
    test_proc_free(&proc);
    remove(grammar);
}

static void show_describes_the_model(void **state) {
    (void)state;
    const char *args[] = {"show", test_model("glimmer-tiny.gguf", 0), NULL};
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, args));
    assert_int_equal(proc.status, 0);
    assert_non_null(strstr(proc.out, "muse-glimmer"));
    assert_non_null(strstr(proc.out, "chat format"));
    assert_non_null(strstr(proc.out, "vision"));
    test_proc_free(&proc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thinking_json_has_the_documented_fields),
        cmocka_unit_test(instant_has_no_reasoning_and_streams),
        cmocka_unit_test(think_budget_closes_the_reasoning_channel),
        cmocka_unit_test(max_tokens_limits_generation),
        cmocka_unit_test(second_family_chatml),
        cmocka_unit_test(run_keeps_a_conversation),
        cmocka_unit_test(show_describes_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
