/* test_cli_args.c — the CLI's argument handling and its errors: clear message, non-zero exit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "test_support.h"

static void expect(int status, const char *needle, const char *const *args) {
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, args));
    if (proc.status != status || !strstr(proc.err, needle))
        fprintf(stderr, "status %d, stderr: %s\n", proc.status, proc.err);
    assert_int_equal(proc.status, status);
    assert_non_null(strstr(proc.err, needle));
    test_proc_free(&proc);
}

static void bad_values_are_usage_errors(void **state) {
    (void)state;
    const char *m = test_model("glimmer-tiny.gguf", 0);
    expect(2, "--temp", (const char *[]){"ask", "-m", m, "--temp", "hot", "q", NULL});
    expect(2, "--mode", (const char *[]){"ask", "-m", m, "--mode", "fast", "q", NULL});
    expect(2, "--reasoning", (const char *[]){"ask", "-m", m, "--reasoning", "extreme", "q", NULL});
    expect(2, "--think-budget", (const char *[]){"ask", "-m", m, "--think-budget", "-4", "q", NULL});
    expect(2, "-c", (const char *[]){"ask", "-m", m, "-c", "12x", "q", NULL});
    expect(2, "needs a value", (const char *[]){"ask", "-m", m, "--seed", NULL});
    expect(2, "unknown option", (const char *[]){"ask", "-m", m, "--frobnicate", "q", NULL});
    expect(2, "no prompt", (const char *[]){"ask", "-m", m, NULL});
    expect(2, "no model", (const char *[]){"ask", "q", NULL});
    expect(2, "unknown command", (const char *[]){"fly", NULL});
}

static void bad_models_are_runtime_errors(void **state) {
    (void)state;
    expect(1, "no such file", (const char *[]){"ask", "-m", "/nonexistent/model.gguf", "q", NULL});
    const char *text = test_temp_file("this is not a model", 1);
    expect(1, "not a GGUF", (const char *[]){"ask", "-m", text, "q", NULL});
    expect(1, "not a GGUF", (const char *[]){"show", text, NULL});
    const char *truncated = test_temp_file("GGUF\x03\x00\x00\x00", 2);
    expect(1, "corrupt", (const char *[]){"ask", "-m", truncated, "q", NULL});
    remove(text);
    remove(truncated);
}

static void prompt_longer_than_the_context(void **state) {
    (void)state;
    char prompt[4096];
    memset(prompt, 'x', sizeof prompt - 1);
    for (size_t i = 0; i + 1 < sizeof prompt; i += 2) prompt[i] = ' ';
    prompt[sizeof prompt - 1] = '\0';
    expect(1, "context", (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "-c", "256", prompt, NULL});
}

static void bad_grammar_is_reported(void **state) {
    (void)state;
    expect(1, "grammar", (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--grammar", "root ::= (", "q", NULL});
    /* naming an end-of-generation token leaves the sampler nothing to pick: an error, no crash */
    expect(1, "end-of-generation", (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant",
                                                     "--grammar", "root ::= \"x\" <|eot|>", "q", NULL});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_values_are_usage_errors),
        cmocka_unit_test(bad_models_are_runtime_errors),
        cmocka_unit_test(prompt_longer_than_the_context),
        cmocka_unit_test(bad_grammar_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
