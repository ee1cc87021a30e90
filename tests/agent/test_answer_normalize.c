/* test_answer_normalize.c — how Contemplating reads and normalizes an agent's answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "ember.h"

static void check(const char *text, const char *expect) {
    char *got = ember_answer_normalize(text);
    assert_string_equal(got, expect);
    free(got);
}

static void extraction(void **state) {
    (void)state;
    check("Let me see. 6*7 is 42, so the answer is 42.", "42");
    check("Work: ...\nFinal answer: Blue Whale", "blue whale");
    check("so \\boxed{1,000.50} it is", "1000.5");
    check("first line\n\n  last line here \n", "last line here");
    check("ANSWER: **Paris**", "paris");
}

static void numbers_and_units(void **state) {
    (void)state;
    check("12 cm", "12");
    check("The answer is 5kg.", "5");
    check("30%", "30");
    check("007", "7");
    check("-0.0", "0");
    check("$1,234", "1234");
    check("3.14000", "3.14");
    check("12 apples and 3 pears", "12 apples and 3 pears");
    check("47 + 385 = 432", "432");
    check("88 * 64 - 993 + 899 = -5538", "-5538");
    check("x = 5.", "5");
    check("a = b", "a = b");
    check("2 + 2 = 4 apples and more", "2 + 2 = 4 apples and more");
}

static void choices_and_phrases(void **state) {
    (void)state;
    check("Answer: (B)", "b");
    check("option c", "c");
    check("The answer is D.", "d");
    check("  New   York  City. ", "new york city");
    check("", "");
    check("\"quoted\"", "quoted");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(extraction),
        cmocka_unit_test(numbers_and_units),
        cmocka_unit_test(choices_and_phrases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
