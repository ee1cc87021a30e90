/*
 * test_trace_truth.c — arith_trace_is_true and arith_step_of, its judge of each line: the step
 * check expert iteration keeps traces by. Every trace ember writes is true; a trace with one
 * false digit column or one-line block is not, wherever the false step sits (a block, its
 * check, a product's partial line); lines that state no step (headers, restatements, sign
 * rewrites, "ok", "answer") are not judged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "train/arith.h"

static void test_written_traces_are_true(void **state) {
    (void)state;
    const ember_trace_style styles[] = {{0}, {.check_pct = 60}, {.terse_pct = 40}, {.columns = true}};
    for (size_t s = 0; s < sizeof styles / sizeof styles[0]; s++) {
        for (uint64_t i = 0; i < 300; i++) {
            arith_problem p;
            arith_problem_at(3, i, false, &p);
            strbuf trace = {0};
            arith_reasoning(&p, styles[s], i, false, &trace);
            if (!arith_trace_is_true(strbuf_str(&trace))) fail_msg("a written trace is judged false:\n%s", strbuf_str(&trace));
            strbuf_free(&trace);
        }
    }
}

static void test_false_steps(void **state) {
    (void)state;
    const char *head = "370-183+74*22\n74*2\n";
    const char *false_steps[] = {
        "4*2=8|8\n7*2=15|158\n=158\n",             /* a product's digit */
        "14+148:8+0=8|8\n1+14:4+8=13|38\n",       /* a sum's column */
        "37-18:10-3=7|7\n3-1:17-8-1=9|97\n",      /* a borrow */
        "check\n181-162:5-8=3|3\n",               /* inside a check, as sampled */
        "47+385=442\n",                           /* a one-line block */
        "18+162:7+8=15|5\n1+16:8+2+1=11|15\n+1:1+6+1=7|715\n",
    };
    for (size_t i = 0; i < sizeof false_steps / sizeof false_steps[0]; i++) {
        char trace[512];
        snprintf(trace, sizeof trace, "%s%sanswer 1815", head, false_steps[i]);
        if (arith_trace_is_true(trace)) fail_msg("a false step passed:\n%s", trace);
    }
    assert_true(arith_trace_is_true("11-56\n11-56=-(56-11)\n56-11\n5-1:6-1=5|5\n-:5-1=4|45\n=45\n=-45\nanswer -45"));
    assert_true(arith_trace_is_true("-213+1628=1628-213\nok 1628\n370-183+1628\nanswer 1815"));
    assert_true(arith_trace_is_true(""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_traces_are_true),
        cmocka_unit_test(test_false_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
