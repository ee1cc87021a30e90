/* test_tools_registry.c — enabling tools, their definitions, calls by name with JSON
 * arguments, the result object and its JSON, and parallel calls. */
#include "tools_test_util.h"

#include <pthread.h>

static void enable_and_list(void **state) {
    (void)state;
    ember_tools *t = tt_tools(NULL, NULL);
    ember_error err = {0};
    assert_int_equal(ember_tools_count(t), 0);
    assert_int_equal(ember_tools_enable(t, "calculator", &err), EMBER_OK);
    assert_int_equal(ember_tools_count(t), 1);
    assert_string_equal(ember_tools_name(t, 0), "calculator");
    assert_null(ember_tools_name(t, 1));
    assert_true(ember_tools_is_enabled(t, "calculator"));
    assert_false(ember_tools_is_enabled(t, "python"));

    /* All or nothing: an unknown name changes nothing. */
    assert_int_equal(ember_tools_enable(t, "python, nope", &err), EMBER_ERR_NOT_FOUND);
    tt_expect_contains(err.message, "nope");
    assert_false(ember_tools_is_enabled(t, "python"));

    /* Without a search endpoint web_search cannot be enabled, and "all" skips it. */
    assert_int_equal(ember_tools_enable(t, "web_search", &err), EMBER_ERR_UNSUPPORTED);
    tt_expect_contains(err.message, "search endpoint");
    assert_int_equal(ember_tools_enable(t, " all ", &err), EMBER_OK);
    assert_int_equal(ember_tools_count(t), 3);
    assert_false(ember_tools_is_enabled(t, "web_search"));
    assert_int_equal(ember_tools_enable(t, "none", &err), EMBER_OK);
    assert_int_equal(ember_tools_count(t), 0);
    assert_int_equal(ember_tools_enable(t, "python,web_fetch", &err), EMBER_OK);
    assert_string_equal(ember_tools_name(t, 0), "python");
    assert_string_equal(ember_tools_name(t, 1), "web_fetch");
    assert_int_equal(ember_tools_enable(t, "mcp", &err), EMBER_OK);  /* no servers: nothing */
    assert_int_equal(ember_tools_count(t), 2);
    assert_int_equal(ember_tools_enable(t, "srv.*", &err), EMBER_ERR_NOT_FOUND);
    ember_tools_destroy(t);

    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.search_url = "http://127.0.0.1:9/search";
    t = tt_tools(&opt, "all");
    assert_int_equal(ember_tools_count(t), 4);
    assert_true(ember_tools_is_enabled(t, "web_search"));
    ember_tools_destroy(t);
    ember_tools_destroy(NULL);
}

static void definitions_are_openai_functions(void **state) {
    (void)state;
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.search_url = "http://127.0.0.1:9/search";
    opt.python_cpu_seconds = 7;
    ember_tools *t = tt_tools(&opt, "calculator,python,web_fetch,web_search");
    char *text = ember_tools_definitions_json(t);
    assert_non_null(text);
    json_error_t jerr;
    json_t *defs = json_loads(text, 0, &jerr);
    free(text);
    assert_non_null(defs);
    assert_true(json_is_array(defs));
    assert_int_equal(json_array_size(defs), 4);
    const char *names[] = {"calculator", "python", "web_fetch", "web_search"};
    const char *required[] = {"expression", "code", "url", "query"};
    for (size_t i = 0; i < 4; i++) {
        json_t *d = json_array_get(defs, i);
        assert_string_equal(json_string_value(json_object_get(d, "type")), "function");
        json_t *fn = json_object_get(d, "function");
        assert_string_equal(json_string_value(json_object_get(fn, "name")), names[i]);
        assert_true(strlen(json_string_value(json_object_get(fn, "description"))) > 20);
        json_t *params = json_object_get(fn, "parameters");
        assert_string_equal(json_string_value(json_object_get(params, "type")), "object");
        assert_true(json_is_object(json_object_get(json_object_get(params, "properties"), required[i])));
        assert_string_equal(json_string_value(json_array_get(json_object_get(params, "required"), 0)),
                            required[i]);
    }
    /* The configured limits appear in the description. */
    tt_expect_contains(json_string_value(json_object_get(json_object_get(json_array_get(defs, 1), "function"),
                                                         "description")), "7 s of CPU time");
    json_decref(defs);

    assert_int_equal(ember_tools_enable(t, "none", NULL), EMBER_OK);
    text = ember_tools_definitions_json(t);
    assert_string_equal(text, "[]");
    free(text);
    ember_tools_destroy(t);
}

static void call_results_and_json(void **state) {
    (void)state;
    ember_tools *t = tt_tools(NULL, "calculator");
    json_t *j;
    ember_tool_result *r = tt_call(t, "calculator", "{\"expression\": \"2^70 / 4\", \"precision\": \"30\"}", 0, &j);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "295147905179352825856");
    assert_string_equal(ember_tool_result_name(r), "calculator");
    assert_null(ember_tool_result_error(r));
    int code = 99;
    assert_false(ember_tool_result_exit_status(r, &code));
    assert_int_equal(code, 99);
    assert_true(ember_tool_result_duration_ms(r) >= 0);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "name")), "calculator");
    assert_string_equal(json_string_value(json_object_get(j, "output")), "295147905179352825856");
    assert_string_equal(json_string_value(json_object_get(j, "exact")), "295147905179352825856");
    assert_null(json_object_get(j, "error"));
    assert_null(json_object_get(j, "exit_status"));
    assert_true(json_is_integer(json_object_get(j, "duration_ms")));
    json_decref(j);
    ember_tool_result_destroy(r);

    r = tt_call(t, "calculator", "{\"expression\": \"1/(2-2)\"}", 0, &j);
    tt_expect_status(r, EMBER_ERR_INVALID);
    tt_expect_contains(ember_tool_result_error(r), "division by zero at position 2");
    assert_true(json_is_false(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "invalid");
    tt_expect_contains(json_string_value(json_object_get(j, "error")), "division by zero");
    json_decref(j);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void call_errors_are_results(void **state) {
    (void)state;
    ember_tools *t = tt_tools(NULL, "calculator");
    struct {
        const char *name, *args;
        ember_status status;
        const char *message;
    } cases[] = {
        {"nope", "{}", EMBER_ERR_NOT_FOUND, "unknown tool"},
        {"python", "{\"code\": \"print(1)\"}", EMBER_ERR_NOT_FOUND, "not enabled"},
        {"web_search", "{\"query\": \"x\"}", EMBER_ERR_UNSUPPORTED, "no search endpoint"},
        {"calculator", "{\"expression\": ", EMBER_ERR_INVALID, "not valid JSON"},
        {"calculator", "[1, 2]", EMBER_ERR_INVALID, "must be a JSON object"},
        {"calculator", "\"2+2\"", EMBER_ERR_INVALID, "must be a JSON object"},
        {"calculator", "{}", EMBER_ERR_INVALID, "missing argument \"expression\""},
        {"calculator", "", EMBER_ERR_INVALID, "missing argument"},
        {"calculator", "{\"expression\": 5}", EMBER_ERR_INVALID, "must be a string"},
        {"calculator", "{\"expression\": \"1\", \"precision\": 0.5}", EMBER_ERR_INVALID, "precision"},
        {"calculator", "{\"expression\": \"1\", \"precision\": \"many\"}", EMBER_ERR_INVALID, "number"},
        {"calculator", "{\"expression\": \"1\", \"precision\": 99999}", EMBER_ERR_INVALID, "precision"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ember_tool_result *r = tt_call(t, cases[i].name, cases[i].args, 5, NULL);
        tt_expect_status(r, cases[i].status);
        tt_expect_contains(ember_tool_result_error(r), cases[i].message);
        char *json = ember_tool_result_json(r);
        assert_non_null(json);
        free(json);
        ember_tool_result_destroy(r);
    }
    /* Invalid UTF-8 in a name still gives valid JSON. */
    ember_tool_result *r = tt_call(t, "bad\xff", "{}", 5, NULL);
    char *json = ember_tool_result_json(r);
    assert_non_null(json);
    free(json);
    ember_tool_result_destroy(r);

    ember_error err = {0};
    assert_int_equal(ember_tools_call(t, "calculator", "{}", 0, NULL, &err), EMBER_ERR_INVALID);
    assert_int_equal(ember_tools_call(NULL, "calculator", "{}", 0, &r, &err), EMBER_ERR_INVALID);
    assert_null(r);
    ember_tools_destroy(t);
}

typedef struct worker {
    ember_tools *tools;
    int index;
    int failures;
} worker;

static void *calc_worker(void *arg) {
    worker *w = arg;
    for (int i = 0; i < 50; i++) {
        char args[128], want[64];
        int n = w->index * 1000 + i;
        snprintf(args, sizeof args, "{\"expression\": \"%d^2 - %d + sqrt(%d^2)\"}", n, n, n);
        snprintf(want, sizeof want, "%lld", (long long)n * n);
        ember_tool_result *r = NULL;
        if (ember_tools_call(w->tools, "calculator", args, 10, &r, NULL) != EMBER_OK ||
            strcmp(ember_tool_result_output(r), want) != 0)
            w->failures++;
        ember_tool_result_destroy(r);
    }
    return NULL;
}

static void parallel_calls(void **state) {
    (void)state;
    ember_tools *t = tt_tools(NULL, "calculator");
    enum { N = 8 };
    pthread_t th[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){.tools = t, .index = i};
        assert_int_equal(pthread_create(&th[i], NULL, calc_worker, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    ember_tools_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enable_and_list),
        cmocka_unit_test(definitions_are_openai_functions),
        cmocka_unit_test(call_results_and_json),
        cmocka_unit_test(call_errors_are_results),
        cmocka_unit_test(parallel_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
