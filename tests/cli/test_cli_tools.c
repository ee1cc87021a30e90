/*
 * test_cli_tools.c — the tool loop end to end: a grammar forces a Muse Glimmer ATEM call to
 * the calculator (or, by the model's choice, an answer); ember runs the tool, appends the
 * result as a tool turn, and the run continues to an answer. The seed is one where the model
 * calls first; the date is fixed because the system block carries it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static const char GRAMMAR[] =
    "root ::= \"a\"{3} <|eom|> <|start|> \"assistant\" (call | answer)\n"
    "call ::= \" to=calculator\" <|message|> \"<atem:function_calls>\\n<atem:invoke name=\\\"calculator\\\">\\n"
    "<atem:parameter name=\\\"expression\\\">2^100</atem:parameter>\\n</atem:invoke>\\n</atem:function_calls>\"\n"
    "answer ::= \" to=user\" <|message|> \"Done.\"\n";

static void calculator_round_trip(void **state) {
    (void)state;
    const char *grammar = test_temp_file(GRAMMAR, 0);
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--tools", "calculator", "--grammar-file",
                          grammar, "--seed", "1", "--date", "2026-01-01", "--json", "What is 2^100?", NULL};
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, args));
    if (proc.status) fprintf(stderr, "%s\n", proc.err);
    assert_int_equal(proc.status, 0);
    json_t *root = json_loads(proc.out, 0, NULL);
    assert_non_null(root);
    json_t *calls = json_object_get(root, "tool_calls");
    assert_true(json_array_size(calls) >= 1);
    json_t *first = json_array_get(calls, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "calculator");
    assert_string_equal(json_string_value(json_object_get(json_object_get(first, "arguments"), "expression")), "2^100");
    assert_string_equal(json_string_value(json_object_get(first, "output")), "1267650600228229401496703205376");
    /* the run went on after the tool and ended with the model's answer */
    assert_string_equal(json_string_value(json_object_get(root, "finish_reason")), "stop");
    assert_string_equal(json_string_value(json_object_get(root, "answer")), "Done.");
    /* later rounds reuse the cached prefix: far less than the prompt again per round */
    json_t *usage = json_object_get(root, "usage");
    int prompt = (int)json_integer_value(json_object_get(usage, "prompt_tokens"));
    int evaluated = (int)json_integer_value(json_object_get(usage, "prompt_tokens_evaluated"));
    assert_true(evaluated < prompt + (int)json_array_size(calls) * 400);
    assert_true(evaluated > prompt);
    json_decref(root);
    test_proc_free(&proc);

    /* the tool results are shown on stderr while streaming */
    const char *plain[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--tools", "calculator", "--grammar-file",
                           grammar, "--seed", "1", "--date", "2026-01-01", "What is 2^100?", NULL};
    assert_true(test_run_ember(&proc, NULL, plain));
    assert_int_equal(proc.status, 0);
    assert_non_null(strstr(proc.err, "1267650600228229401496703205376"));
    assert_string_equal(proc.out, "Done.\n");
    test_proc_free(&proc);
    remove(grammar);
}

static void unknown_tool_is_a_usage_error(void **state) {
    (void)state;
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--tools", "teleport", "q", NULL};
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, args));
    assert_int_equal(proc.status, 2);
    assert_non_null(strstr(proc.err, "teleport"));
    test_proc_free(&proc);
}

/* --tool-choice NAME: no grammar of the test's, yet the random model's first round is a call to
 * that tool (the forced grammar), which the run then runs; a name not offered is an error. */
static void tool_choice_forces_the_first_round(void **state) {
    (void)state;
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "-t", "1", "--tools", "calculator",
                          "--tool-choice", "calculator", "--mode", "instant", "--max-tool-steps", "1",
                          "--max-tokens", "1500", "--seed", "5", "--date", "2026-01-01", "--json", "2+2?", NULL};
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, args));
    if (proc.status) fprintf(stderr, "%s\n", proc.err);
    assert_int_equal(proc.status, 0);
    json_t *root = json_loads(proc.out, 0, NULL);
    assert_non_null(root);
    json_t *first = json_array_get(json_object_get(root, "tool_calls"), 0);
    assert_non_null(first);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "calculator");
    assert_true(json_is_object(json_object_get(first, "arguments")));
    assert_non_null(json_string_value(json_object_get(first, "output")));  /* the run ran it */
    json_decref(root);
    test_proc_free(&proc);

    const char *wrong[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--tools", "calculator", "--tool-choice",
                           "teleport", "q", NULL};
    assert_true(test_run_ember(&proc, NULL, wrong));
    assert_int_not_equal(proc.status, 0);
    assert_non_null(strstr(proc.err, "'teleport', which is not an offered tool"));
    test_proc_free(&proc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calculator_round_trip),
        cmocka_unit_test(unknown_tool_is_a_usage_error),
        cmocka_unit_test(tool_choice_forces_the_first_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
