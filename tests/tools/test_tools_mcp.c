/* test_tools_mcp.c — the MCP client end to end with tests/tools/mcp_test_server.py: config
 * loading, the handshake, paged tools/list, calls, a tool error, a timeout and a crash
 * (each followed by a restart), parallel calls, and bad configs. */
#include "tools_test_util.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static char config_path[256];

static const char *server_script(void) {
    static char path[1024];
    const char *src = getenv("EMBER_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/tools/mcp_test_server.py", src ? src : ".");
    return path;
}

/* Writes a config file and returns its path (one static path per test process). */
static const char *write_config(const char *json) {
    if (!config_path[0]) snprintf(config_path, sizeof config_path, "/tmp/ember-mcp-test-%d.json", (int)getpid());
    FILE *f = fopen(config_path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    return config_path;
}

static ember_tools *mcp_tools(const char *enable) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"mcpServers\": {\"test\": {\"command\": \"python3\", \"args\": [\"%s\"],"
             " \"env\": {\"MCP_GREETING\": \"hello from env\"}},"
             " \"off\": {\"command\": \"/nonexistent\", \"disabled\": true}}}",
             server_script());
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.mcp_config_path = write_config(json);
    opt.mcp_start_timeout = 10;
    return tt_tools(&opt, enable);
}

static void lists_namespaced_tools(void **state) {
    (void)state;
    ember_tools *t = mcp_tools("mcp");
    const char *want[] = {"test.echo", "test.add", "test.env", "test.pid", "test.fail", "test.hang", "test.crash"};
    assert_int_equal(ember_tools_count(t), 7);  /* both pages of tools/list */
    for (size_t i = 0; i < 7; i++) assert_string_equal(ember_tools_name(t, i), want[i]);

    char *text = ember_tools_definitions_json(t);
    json_t *defs = json_loads(text, 0, NULL);
    free(text);
    json_t *echo = json_object_get(json_array_get(defs, 0), "function");
    assert_string_equal(json_string_value(json_object_get(echo, "name")), "test.echo");
    assert_string_equal(json_string_value(json_object_get(echo, "description")), "Echo the text back.");
    json_t *params = json_object_get(echo, "parameters");
    assert_string_equal(json_string_value(json_array_get(json_object_get(params, "required"), 0)), "text");
    /* A tool without an inputSchema gets an empty object schema. */
    json_t *pid = json_object_get(json_array_get(defs, 3), "function");
    assert_string_equal(json_string_value(json_object_get(json_object_get(pid, "parameters"), "type")), "object");
    json_decref(defs);

    ember_error err = {0};
    assert_int_equal(ember_tools_enable(t, "none", &err), EMBER_OK);
    assert_int_equal(ember_tools_enable(t, "test.echo, calculator", &err), EMBER_OK);
    assert_int_equal(ember_tools_count(t), 2);
    assert_int_equal(ember_tools_enable(t, "test.*", &err), EMBER_OK);
    assert_int_equal(ember_tools_count(t), 8);
    assert_int_equal(ember_tools_enable(t, "test.nope", &err), EMBER_ERR_NOT_FOUND);
    assert_int_equal(ember_tools_enable(t, "off.*", &err), EMBER_ERR_NOT_FOUND);
    ember_tools_destroy(t);

    t = mcp_tools("all");
    assert_int_equal(ember_tools_count(t), 10);  /* calculator, python, web_fetch + 7 */
    ember_tools_destroy(t);
}

static void calls(void **state) {
    (void)state;
    ember_tools *t = mcp_tools("mcp");
    json_t *j;
    ember_tool_result *r = tt_call(t, "test.echo", "{\"text\": \"hi there ✓\"}", 10, NULL);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "hi there ✓");
    ember_tool_result_destroy(r);

    r = tt_call(t, "test.add", "{\"a\": 2, \"b\": 3.5}", 10, &j);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "5.5");
    assert_true(json_real_value(json_object_get(json_object_get(j, "structured"), "sum")) == 5.5);
    json_decref(j);
    ember_tool_result_destroy(r);

    r = tt_call(t, "test.env", "{\"name\": \"MCP_GREETING\"}", 10, NULL);
    assert_string_equal(ember_tool_result_output(r), "hello from env");
    ember_tool_result_destroy(r);

    r = tt_call(t, "test.fail", NULL, 10, NULL);
    tt_expect_status(r, EMBER_ERR_IO);
    tt_expect_contains(ember_tool_result_error(r), "always fails");
    assert_string_equal(ember_tool_result_output(r), "this tool always fails");
    ember_tool_result_destroy(r);

    r = tt_call(t, "test.echo", "[1]", 10, NULL);
    tt_expect_status(r, EMBER_ERR_INVALID);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static long pid_of_server(ember_tools *t, json_t **j) {
    ember_tool_result *r = tt_call(t, "test.pid", "{}", 10, j);
    tt_expect_status(r, EMBER_OK);
    long pid = atol(ember_tool_result_output(r));
    ember_tool_result_destroy(r);
    assert_true(pid > 0);
    return pid;
}

static void timeout_then_restart(void **state) {
    (void)state;
    ember_tools *t = mcp_tools("mcp");
    json_t *j;
    long pid1 = pid_of_server(t, NULL);
    double t0 = tt_now();
    ember_tool_result *r = tt_call(t, "test.hang", "{\"seconds\": 60}", 0.5, NULL);
    double elapsed = tt_now() - t0;
    tt_expect_status(r, EMBER_ERR_TIMEOUT);
    tt_expect_contains(ember_tool_result_error(r), "did not answer");
    assert_true(elapsed >= 0.45 && elapsed < 2.0);
    ember_tool_result_destroy(r);
    assert_int_equal(kill((pid_t)pid1, 0), -1);  /* the hung server was stopped */

    long pid2 = pid_of_server(t, &j);
    assert_true(pid2 != pid1);
    assert_true(json_is_true(json_object_get(j, "restarted")));
    json_decref(j);
    /* No restart when the server is healthy. */
    assert_int_equal(pid_of_server(t, &j), pid2);
    assert_null(json_object_get(j, "restarted"));
    json_decref(j);
    ember_tools_destroy(t);
}

static void crash_then_restart(void **state) {
    (void)state;
    ember_tools *t = mcp_tools("mcp");
    long pid1 = pid_of_server(t, NULL);
    ember_tool_result *r = tt_call(t, "test.crash", "{}", 10, NULL);
    tt_expect_status(r, EMBER_ERR_IO);
    tt_expect_contains(ember_tool_result_error(r), "exited (status 3)");
    ember_tool_result_destroy(r);
    json_t *j;
    long pid2 = pid_of_server(t, &j);
    assert_true(pid2 != pid1);
    assert_true(json_is_true(json_object_get(j, "restarted")));
    json_decref(j);

    /* Killed between calls: the next call restarts it transparently. */
    kill((pid_t)pid2, SIGKILL);
    usleep(100 * 1000);
    r = tt_call(t, "test.echo", "{\"text\": \"back\"}", 10, NULL);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "back");
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

typedef struct caller {
    ember_tools *t;
    int n;
    int failures;
} caller;

static void *echo_caller(void *arg) {
    caller *c = arg;
    for (int i = 0; i < 20; i++) {
        char args[64], want[32];
        snprintf(want, sizeof want, "%d-%d", c->n, i);
        snprintf(args, sizeof args, "{\"text\": \"%s\"}", want);
        ember_tool_result *r = NULL;
        if (ember_tools_call(c->t, "test.echo", args, 10, &r, NULL) != EMBER_OK ||
            strcmp(ember_tool_result_output(r), want) != 0)
            c->failures++;
        ember_tool_result_destroy(r);
    }
    return NULL;
}

static void parallel_calls_take_turns(void **state) {
    (void)state;
    ember_tools *t = mcp_tools("mcp");
    pthread_t th[4];
    caller c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (caller){.t = t, .n = i};
        pthread_create(&th[i], NULL, echo_caller, &c[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].failures, 0);
    }
    ember_tools_destroy(t);
}

static void bad_configs(void **state) {
    (void)state;
    struct {
        const char *json;
        ember_status status;
        const char *message;
    } cases[] = {
        {"{not json", EMBER_ERR_FORMAT, "MCP config"},
        {"{\"servers\": {}}", EMBER_ERR_FORMAT, "mcpServers"},
        {"{\"mcpServers\": {\"a.b\": {\"command\": \"x\"}}}", EMBER_ERR_FORMAT, "name"},
        {"{\"mcpServers\": {\"s\": {\"args\": []}}}", EMBER_ERR_FORMAT, "command"},
        {"{\"mcpServers\": {\"s\": {\"command\": \"x\", \"args\": [1]}}}", EMBER_ERR_FORMAT, "arg"},
        {"{\"mcpServers\": {\"s\": {\"command\": \"x\", \"env\": {\"A\": 1}}}}", EMBER_ERR_FORMAT, "env"},
        {"{\"mcpServers\": {\"s\": {\"url\": \"http://127.0.0.1:1/mcp\"}}}", EMBER_ERR_UNSUPPORTED, "stdio"},
        {"{\"mcpServers\": {\"s\": {\"command\": \"/no/such/program\"}}}", EMBER_ERR_NOT_FOUND, "not found"},
        {"{\"mcpServers\": {\"s\": {\"command\": \"true\"}}}", EMBER_ERR_IO, "exited during initialize"},
        {"{\"mcpServers\": {\"s\": {\"command\": \"sleep\", \"args\": [\"30\"]}}}", EMBER_ERR_TIMEOUT, "timed out"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ember_tools_options opt;
        ember_tools_options_init(&opt);
        opt.mcp_config_path = write_config(cases[i].json);
        opt.mcp_start_timeout = 0.5;
        ember_tools *t = NULL;
        ember_error err = {0};
        ember_status st = ember_tools_create(&opt, &t, &err);
        if (st != cases[i].status)
            fail_msg("%s: status %s, want %s (%s)", cases[i].json, ember_status_name(st),
                     ember_status_name(cases[i].status), err.message);
        tt_expect_contains(err.message, cases[i].message);
        assert_null(t);
    }
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.mcp_config_path = "/no/such/config.json";
    ember_tools *t = NULL;
    ember_error err = {0};
    assert_int_equal(ember_tools_create(&opt, &t, &err), EMBER_ERR_NOT_FOUND);
    unlink(config_path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lists_namespaced_tools),
        cmocka_unit_test(calls),
        cmocka_unit_test(timeout_then_restart),
        cmocka_unit_test(crash_then_restart),
        cmocka_unit_test(parallel_calls_take_turns),
        cmocka_unit_test(bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
