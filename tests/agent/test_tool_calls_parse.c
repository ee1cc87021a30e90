/* test_tool_calls_parse.c — generated tool messages into calls, for both formats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ember.h"

static void check(const char *format, const char *recipient, const char *body, const char *tools, const char *expect) {
    char *calls = NULL;
    ember_error err = {0};
    assert_int_equal(ember_tool_calls_parse(format, recipient, body, tools, &calls, &err), EMBER_OK);
    assert_string_equal(calls, expect);
    free(calls);
}

static void atem_forms(void **state) {
    (void)state;
    const char *one = "<atem:function_calls>\n<atem:invoke name=\"calc\">\n<atem:parameter name=\"x\">2^100</atem:parameter>\n"
                      "</atem:invoke>\n</atem:function_calls>";
    check("muse-glimmer", "calc", one, NULL, "[{\"name\":\"calc\",\"arguments\":{\"x\":\"2^100\"}}]");
    /* JSON values decode unless the schema says string */
    const char *typed = "<atem:function_calls>\n<atem:invoke name=\"f\">\n<atem:parameter name=\"n\">42</atem:parameter>\n"
                        "<atem:parameter name=\"s\">42</atem:parameter>\n<atem:parameter name=\"l\">[1, 2]</atem:parameter>\n"
                        "<atem:parameter name=\"b\">true</atem:parameter>\n</atem:invoke>\n</atem:function_calls>";
    const char *tools = "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
                        "\"properties\":{\"s\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"}}}}}]";
    check("muse-glimmer", "f", typed, tools, "[{\"name\":\"f\",\"arguments\":{\"n\":42,\"s\":\"42\",\"l\":[1,2],\"b\":true}}]");
    /* several invokes in one block; multi-line string values keep their spaces */
    const char *two = "<atem:function_calls>\n<atem:invoke name=\"a\">\n<atem:parameter name=\"t\"> two\nlines </atem:parameter>\n"
                      "</atem:invoke>\n<atem:invoke name=\"b\">\n</atem:invoke>\n</atem:function_calls>";
    check("muse-glimmer", "a", two, NULL,
          "[{\"name\":\"a\",\"arguments\":{\"t\":\" two\\nlines \"}},{\"name\":\"b\",\"arguments\":{}}]");
}

static void chatml_form(void **state) {
    (void)state;
    check("chatml-think", "", "\n{\"name\": \"f\", \"arguments\": {\"q\": \"x\"}}\n", NULL,
          "[{\"name\":\"f\",\"arguments\":{\"q\":\"x\"}}]");
    check("chatml-think", "", "{\"name\": \"f\", \"arguments\": \"{\\\"q\\\": 1}\"}", NULL,
          "[{\"name\":\"f\",\"arguments\":{\"q\":1}}]");
}

static void not_a_call(void **state) {
    (void)state;
    char *calls = (char *)"x";
    ember_error err = {0};
    assert_int_equal(ember_tool_calls_parse("muse-glimmer", "calc", "just words", NULL, &calls, &err), EMBER_ERR_FORMAT);
    assert_null(calls);
    assert_int_equal(ember_tool_calls_parse("chatml-think", "", "{\"nom\": 1}", NULL, &calls, &err), EMBER_ERR_FORMAT);
    assert_int_equal(ember_tool_calls_parse("muse-glimmer", "c", "<atem:invoke nam", NULL, &calls, &err), EMBER_ERR_FORMAT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atem_forms),
        cmocka_unit_test(chatml_form),
        cmocka_unit_test(not_a_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
