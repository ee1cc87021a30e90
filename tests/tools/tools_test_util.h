/* tools_test_util.h — small helpers shared by the tools tests (header-only). */
#ifndef EMBER_TOOLS_TEST_UTIL_H
#define EMBER_TOOLS_TEST_UTIL_H

#include "ember.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static inline double tt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline ember_tools *tt_tools(const ember_tools_options *opt, const char *enable) {
    ember_tools *t = NULL;
    ember_error err = {0};
    if (ember_tools_create(opt, &t, &err) != EMBER_OK) fail_msg("ember_tools_create: %s", err.message);
    if (enable && ember_tools_enable(t, enable, &err) != EMBER_OK)
        fail_msg("ember_tools_enable(%s): %s", enable, err.message);
    return t;
}

/* Calls a tool; the result's JSON is parsed into *json when json is not NULL. */
static inline ember_tool_result *tt_call(ember_tools *t, const char *name, const char *args,
                                         double timeout, json_t **json) {
    ember_tool_result *r = NULL;
    ember_error err = {0};
    if (ember_tools_call(t, name, args, timeout, &r, &err) != EMBER_OK)
        fail_msg("ember_tools_call(%s): %s", name, err.message);
    if (json) {
        char *text = ember_tool_result_json(r);
        assert_non_null(text);
        json_error_t jerr;
        *json = json_loads(text, 0, &jerr);
        if (!*json) fail_msg("result JSON does not parse: %s: %s", jerr.text, text);
        free(text);
    }
    return r;
}

static inline void tt_expect_status(const ember_tool_result *r, ember_status want) {
    if (ember_tool_result_status(r) != want)
        fail_msg("%s: status %s, want %s (error: %s; output: %.300s)", ember_tool_result_name(r),
                 ember_status_name(ember_tool_result_status(r)), ember_status_name(want),
                 ember_tool_result_error(r) ? ember_tool_result_error(r) : "none",
                 ember_tool_result_output(r));
}

static inline void tt_expect_contains(const char *haystack, const char *needle) {
    if (!haystack || !strstr(haystack, needle))
        fail_msg("\"%.600s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}

#endif
