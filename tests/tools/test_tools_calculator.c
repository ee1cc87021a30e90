/* test_tools_calculator.c — the calculator's evaluator: exact big results, rationals,
 * precision, functions, and errors with positions. */
#include "tools/calculator.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Evaluates and checks the line for the model. */
static void check(const char *expr, int digits, const char *want) {
    calc_result r;
    char err[256] = "";
    bool ok = tool_calc_evaluate(expr, strlen(expr), digits, 0, &r, err, sizeof err);
    if (!ok) fail_msg("%s: unexpected error: %s", expr, err);
    if (strcmp(r.text, want) != 0) fail_msg("%s: got \"%s\", want \"%s\"", expr, r.text, want);
    tool_calc_result_free(&r);
}

/* Evaluates and expects an error containing every given fragment. */
static void check_error(const char *expr, const char *frag1, const char *frag2) {
    calc_result r;
    char err[256] = "";
    bool ok = tool_calc_evaluate(expr, strlen(expr), 0, 0, &r, err, sizeof err);
    if (ok) {
        fail_msg("%s: expected an error, got \"%s\"", expr, r.text);
        tool_calc_result_free(&r);
    }
    if (frag1 && !strstr(err, frag1)) fail_msg("%s: error \"%s\" lacks \"%s\"", expr, err, frag1);
    if (frag2 && !strstr(err, frag2)) fail_msg("%s: error \"%s\" lacks \"%s\"", expr, err, frag2);
}

static void exact_big_integers(void **state) {
    (void)state;
    check("2^200", 0, "1606938044258990275541962092341162602522202993782792835301376");
    check("2**64", 0, "18446744073709551616");
    check("50!", 0, "30414093201713378043612608166064768844377641568960512000000000000");
    check("factorial(25)", 0, "15511210043330985984000000");
    check("100!/98!", 0, "9900");
    check("(2^100 + 1) - 2^100", 0, "1");
    check("123456789123456789 * 987654321987654321", 0, "121932631356500531347203169112635269");
    check("-2^2", 0, "-4");
    check("(-2)^3", 0, "-8");
    check("3!!", 0, "720");
    check("gcd(2^40, 6^20)", 0, "1048576");
    check("lcm(4, 6, 10)", 0, "60");
    check("10 % 3", 0, "1");
    check("-7 % 3", 0, "2");
    check("1e30", 0, "1000000000000000000000000000000");
}

static void exact_rationals(void **state) {
    (void)state;
    check("1/3 + 1/6", 0, "1/2 = 0.5");
    check("0.1 + 0.2", 0, "3/10 = 0.3");
    check("(3/4)^10", 0, "59049/1048576 = 0.05631351470947265625");
    check("(3/4)^10", 5, "59049/1048576 ≈ 0.056314");
    check("1/3", 0, "1/3 ≈ 0.33333333333333333333");
    check("-7/3", 0, "-7/3 ≈ -2.3333333333333333333");
    check("2^-3", 0, "1/8 = 0.125");
    check("sqrt(16/9)", 0, "4/3 ≈ 1.3333333333333333333");
    check("(-8)^(1/3)", 0, "-2");
    check("27^(2/3)", 0, "9");
    check("abs(-3/4)", 0, "3/4 = 0.75");
    check("max(1, 2.5, 3/2)", 0, "5/2 = 2.5");
    check("min(1/3, 0.3)", 0, "3/10 = 0.3");
    check("floor(-5/2)", 0, "-3");
    check("ceil(5/2)", 0, "3");
    check("round(2.5)", 0, "3");
    check("round(-2.5)", 0, "-3");
    check("1.5e-3", 0, "3/2000 = 0.0015");
}

static void precision_and_functions(void **state) {
    (void)state;
    check("sqrt(2)", 50, "1.4142135623730950488016887242096980785696718753769");
    check("pi", 30, "3.14159265358979323846264338328");
    check("e", 25, "2.718281828459045235360287");
    check("1/7", 5, "1/7 ≈ 0.14286");
    check("sqrt(2)", 0, "1.4142135623730950488");
    check("ln(e)", 0, "1");
    check("exp(0)", 0, "1");
    check("log(1000)", 0, "3");
    check("log(8, 2)", 0, "3");
    check("log2(1/1024)", 0, "-10");
    check("log(2)", 10, "0.3010299957");
    check("sin(pi)", 0, "0");
    check("cos(0)", 0, "1");
    check("cos(pi)", 0, "-1");
    check("sin(pi/6)", 10, "0.5");
    check("tan(pi/4)", 0, "1");
    check("atan2(1, 1) * 4", 15, "3.14159265358979");
    check("pow(2, 10)", 0, "1024");
    check("2^0.5", 12, "1.41421356237");
    check("0.5!", 10, "0.8862269255");
    check("root(32, 5)", 0, "2");
    check("cbrt(2)", 8, "1.259921");  /* 1.2599210: trailing zero dropped */
    check("exp(1)^2 - exp(2)", 0, "0");
    check("2^(2^40)", 5, "8.0572e+330985980541");
    check("100000!", 5, "2.8242e+456573");
    check("(1 + 1e-25) - 1", 3, "1/10000000000000000000000000 = 1e-25");
    check("1/1024", 0, "1/1024 = 0.0009765625");
    check("sqrt(2)^2 - 2", 0, "0");              /* rounding noise is not reported */
    check("π * 2", 6, "6.28319");
}

static void errors_with_positions(void **state) {
    (void)state;
    check_error("1/0", "division by zero", "position 2");
    check_error("5 % 0", "modulo by zero", "position 3");
    check_error("0^-1", "division by zero", NULL);
    check_error("foo(3)", "unknown function 'foo'", "position 1");
    check_error("2 * bar", "unknown name 'bar'", "position 5");
    check_error("2 +* 3", "syntax error", "position 4");
    check_error("(1 + 2", "expected ')'", "position 7");
    check_error("1 + 2)", "unmatched ')'", "position 6");
    check_error("2 3", "missing operator", "position 3");
    check_error("", "unexpected end", NULL);
    check_error("sqrt(-1)", "negative", NULL);
    check_error("ln(0)", "non-positive", NULL);
    check_error("(-1)!", "negative integer", NULL);
    check_error("asin(2)", "between -1 and 1", NULL);
    check_error("(-2)^0.5", "not a real number", NULL);
    check_error("sqrt(1, 2)", "expects 1 argument", NULL);
    check_error("max()", "expects", NULL);
    check_error("sin", "expected '('", NULL);
    check_error("9^9^9^9", "overflows", NULL);
    check_error("sin(1e100000000)", "too large", NULL);
    check_error("1 # 2", "unexpected '#'", "position 3");

    char deep[2100];
    memset(deep, '(', 1000);
    deep[1000] = '1';
    memset(deep + 1001, ')', 1000);
    deep[2001] = '\0';
    check_error(deep, "nested too deeply", NULL);

    calc_result r;
    char err[256];
    assert_false(tool_calc_evaluate("1", 1, 20000, 0, &r, err, sizeof err));
    assert_non_null(strstr(err, "precision"));
    assert_false(tool_calc_evaluate("1", 1, -1, 0, &r, err, sizeof err));
}

static void exact_and_decimal_fields(void **state) {
    (void)state;
    calc_result r;
    char err[256];
    assert_true(tool_calc_evaluate("1/4", 3, 30, 0, &r, err, sizeof err));
    assert_string_equal(r.exact, "1/4");
    assert_string_equal(r.decimal, "0.25");
    assert_false(r.approximate);
    tool_calc_result_free(&r);
    assert_true(tool_calc_evaluate("sqrt(3)", 7, 6, 0, &r, err, sizeof err));
    assert_null(r.exact);
    assert_string_equal(r.decimal, "1.73205");
    assert_true(r.approximate);
    tool_calc_result_free(&r);
    /* Embedded NULs and bytes past len are not read. */
    assert_true(tool_calc_evaluate("2+2junk", 3, 0, 0, &r, err, sizeof err));
    assert_string_equal(r.text, "4");
    tool_calc_result_free(&r);
}

/* The deepest nesting the parser accepts, on a thread with a small stack (agent loops run
 * tools on worker threads). */
static void *deep_worker(void *arg) {
    char *expr = arg;
    calc_result r;
    char err[256];
    bool ok = tool_calc_evaluate(expr, strlen(expr), 0, 0, &r, err, sizeof err);
    if (ok) tool_calc_result_free(&r);
    return (void *)(intptr_t)(ok ? 1 : 0);
}

static void deep_nesting_small_stack(void **state) {
    (void)state;
    static char expr[8192];
    size_t n = 0;
    for (int i = 0; i < 39; i++) n += (size_t)sprintf(expr + n, "max(1, -(");  /* the most allowed */
    expr[n++] = '2';
    for (int i = 0; i < 39; i++) n += (size_t)sprintf(expr + n, "))");
    expr[n] = '\0';
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    pthread_t th;
    assert_int_equal(pthread_create(&th, &attr, deep_worker, expr), 0);
    void *ret;
    pthread_join(th, &ret);
    pthread_attr_destroy(&attr);
    assert_true(ret != NULL);

    n = 0;
    for (int i = 0; i < 150; i++) n += (size_t)sprintf(expr + n, "sqrt(");
    expr[n++] = '4';
    for (int i = 0; i < 150; i++) expr[n++] = ')';
    expr[n] = '\0';
    check_error(expr, "nested too deeply", NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_big_integers),
        cmocka_unit_test(exact_rationals),
        cmocka_unit_test(precision_and_functions),
        cmocka_unit_test(errors_with_positions),
        cmocka_unit_test(exact_and_decimal_fields),
        cmocka_unit_test(deep_nesting_small_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
