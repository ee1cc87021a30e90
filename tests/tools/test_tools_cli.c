/* test_tools_cli.c — `ember tool`: runs the real binary ($EMBER_BIN) and reads its JSON.
 * Skipped when the binary has not been built. */
#include "tools_test_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct run_out {
    int status;
    char out[65536];
    char err[8192];
} run_out;

static void drain(int fd, char *buf, size_t cap) {
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)n;
    buf[len] = '\0';
}

/* Runs `ember tool ARGS...`; stdout and stderr are captured through temporary files. */
static void run_tool(run_out *o, const char *const *args) {
    const char *bin = getenv("EMBER_BIN");
    const char *argv[16] = {bin, "tool"};
    int n = 2;
    for (; args[n - 2]; n++) argv[n] = args[n - 2];
    argv[n] = NULL;
    char out_path[] = "/tmp/ember-cli-out-XXXXXX", err_path[] = "/tmp/ember-cli-err-XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path);
    assert_true(out >= 0 && err >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    waitpid(pid, &status, 0);
    o->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    lseek(out, 0, SEEK_SET);
    lseek(err, 0, SEEK_SET);
    drain(out, o->out, sizeof o->out);
    drain(err, o->err, sizeof o->err);
    close(out);
    close(err);
    unlink(out_path);
    unlink(err_path);
}

static json_t *parse(const run_out *o) {
    json_error_t jerr;
    json_t *j = json_loads(o->out, 0, &jerr);
    if (!j) fail_msg("output is not JSON (%s): %s / %s", jerr.text, o->out, o->err);
    return j;
}

static int have_binary(void **state) {
    (void)state;
    const char *bin = getenv("EMBER_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        print_message("EMBER_BIN (%s) not built: skipping\n", bin ? bin : "unset");
        return -1;
    }
    return 0;
}

static void calculator_json(void **state) {
    (void)state;
    static run_out o;
    run_tool(&o, (const char *const[]){"calculator", "{\"expression\": \"2^100 + 1/2\"}", NULL});
    assert_int_equal(o.status, 0);
    json_t *j = parse(&o);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "exact")), "2535301200456458802993406410753/2");
    json_decref(j);

    run_tool(&o, (const char *const[]){"calculator", "{\"expression\": \"1/0\"}", NULL});
    assert_int_equal(o.status, 1);
    j = parse(&o);
    assert_true(json_is_false(json_object_get(j, "ok")));
    tt_expect_contains(json_string_value(json_object_get(j, "error")), "division by zero");
    json_decref(j);
}

static void errors_and_usage(void **state) {
    (void)state;
    static run_out o;
    run_tool(&o, (const char *const[]){NULL});
    assert_int_equal(o.status, 2);
    tt_expect_contains(o.err, "usage");
    run_tool(&o, (const char *const[]){"--bogus", "calculator", NULL});
    assert_int_equal(o.status, 2);
    run_tool(&o, (const char *const[]){"nope", "{}", NULL});
    assert_int_equal(o.status, 1);
    json_t *j = parse(&o);
    tt_expect_contains(json_string_value(json_object_get(j, "error")), "unknown tool");
    json_decref(j);
    run_tool(&o, (const char *const[]){"web_search", "{\"query\": \"x\"}", NULL});
    assert_int_equal(o.status, 1);
    j = parse(&o);
    tt_expect_contains(json_string_value(json_object_get(j, "error")), "no search endpoint");
    json_decref(j);
    run_tool(&o, (const char *const[]){"web_fetch", "{\"url\": \"http://127.0.0.1:9/\"}", NULL});
    assert_int_equal(o.status, 1);
    j = parse(&o);
    tt_expect_contains(json_string_value(json_object_get(j, "error")), "loopback");
    json_decref(j);
    run_tool(&o, (const char *const[]){"--mcp-config", "/no/such/file.json", "x.y", NULL});
    assert_int_equal(o.status, 1);
    tt_expect_contains(o.err, "MCP config");
}

static void list_and_mcp(void **state) {
    (void)state;
    static run_out o;
    run_tool(&o, (const char *const[]){"--list", "--search-url", "http://127.0.0.1:9/search", NULL});
    assert_int_equal(o.status, 0);
    json_t *j = parse(&o);
    assert_int_equal(json_array_size(j), 4);
    json_decref(j);

    char config[] = "/tmp/ember-cli-mcp-XXXXXX";
    int fd = mkstemp(config);
    assert_true(fd >= 0);
    char json[1024];
    int n = snprintf(json, sizeof json, "{\"mcpServers\": {\"t\": {\"command\": \"python3\", \"args\": [\"%s/tests/tools/mcp_test_server.py\"]}}}",
                     getenv("EMBER_SOURCE_DIR") ? getenv("EMBER_SOURCE_DIR") : ".");
    assert_int_equal(write(fd, json, (size_t)n), n);
    close(fd);
    run_tool(&o, (const char *const[]){"--mcp-config", config, "t.echo", "{\"text\": \"via cli\"}", NULL});
    assert_int_equal(o.status, 0);
    j = parse(&o);
    assert_string_equal(json_string_value(json_object_get(j, "output")), "via cli");
    json_decref(j);
    run_tool(&o, (const char *const[]){"--mcp-config", config, "--timeout", "0.3", "t.hang", "{}", NULL});
    assert_int_equal(o.status, 1);
    j = parse(&o);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "timeout");
    json_decref(j);
    unlink(config);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calculator_json),
        cmocka_unit_test(errors_and_usage),
        cmocka_unit_test(list_and_mcp),
    };
    return cmocka_run_group_tests(tests, have_binary, NULL);
}
