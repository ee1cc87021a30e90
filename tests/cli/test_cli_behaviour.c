/*
 * test_cli_behaviour.c — what a new user runs into: empty prompts, settings shown without an
 * argument, the one agent limit, projectors found and described, Thinking that always
 * answers, `ember eval`'s progress in a log, and `ember serve --log` lines that say what happened.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ember.h"
#include "test_support.h"

static void blank_prompts_are_usage_errors(void **state) {
    (void)state;
    const char *prompts[] = {"", "   ", " \t\n "};
    for (size_t i = 0; i < 3; i++) {
        test_proc proc;
        assert_true(test_run_ember(&proc, NULL, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0),
                                                                  prompts[i], NULL}));
        assert_int_equal(proc.status, 2);
        assert_non_null(strstr(proc.err, "the prompt is empty"));
        test_proc_free(&proc);
    }
    /* from standard input too */
    test_proc proc;
    assert_true(test_run_ember(&proc, "  \n\n",
                               (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "-", NULL}));
    assert_int_equal(proc.status, 2);
    test_proc_free(&proc);
}

static void settings_without_an_argument_show_value_and_usage(void **state) {
    (void)state;
    test_proc proc;
    assert_true(test_run_ember(&proc, "/mode\n/reasoning\n/image\n/agents\n/budget\n/mode instant\n/mode\n/exit\n",
                               (const char *[]){"run", "-m", test_model("glimmer-tiny.gguf", 0), NULL}));
    assert_int_equal(proc.status, 0);
    assert_null(strstr(proc.out, "unknown command"));
    assert_non_null(strstr(proc.out, "mode: thinking\nusage: /mode instant|thinking|contemplating\n"));
    assert_non_null(strstr(proc.out, "reasoning strength: high\nusage: /reasoning low|medium|high|xhigh\n"));
    assert_non_null(strstr(proc.out, "images attached to the next message: 0\nusage: /image PATH\n"));
    assert_non_null(strstr(proc.out, "contemplating agents: 4\nusage: /agents N (1-64)\n"));
    assert_non_null(strstr(proc.out, "usage: /budget N"));
    assert_non_null(strstr(proc.out, "mode: instant\n"));
    test_proc_free(&proc);
}

static void one_agent_limit(void **state) {
    (void)state;
    assert_int_equal(EMBER_AGENTS_MAX, 64);
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode",
                                                              "contemplating", "--agents", "65", "Hi", NULL}));
    assert_int_equal(proc.status, 2);
    test_proc_free(&proc);
    assert_true(test_run_ember(&proc, "/agents 65\n/agents 64\n/agents\n/exit\n",
                               (const char *[]){"run", "-m", test_model("glimmer-tiny.gguf", 0), NULL}));
    assert_non_null(strstr(proc.out, "contemplating agents: 64\n"));
    test_proc_free(&proc);
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"serve", "-m", test_model("glimmer-tiny.gguf", 0),
                                                              "--max-agents", "65", NULL}));
    assert_int_equal(proc.status, 2);
    test_proc_free(&proc);
}

/* A model and its projector under new names in a fresh folder. */
static void place(const char *dir, const char *from, const char *as) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, as);
    assert_int_equal(symlink(from, path), 0);
}

static void projectors_are_found_by_name_and_described(void **state) {
    (void)state;
    char dir[] = "/tmp/ember-mmproj-XXXXXX";
    assert_non_null(mkdtemp(dir));
    place(dir, test_model("glimmer-tiny.gguf", 0), "tiny.gguf");
    place(dir, test_model("mmproj-glimmer-tiny.gguf", 0), "tiny-mmproj.gguf");
    char model[1100], projector[1100];
    snprintf(model, sizeof model, "%s/tiny.gguf", dir);
    snprintf(projector, sizeof projector, "%s/tiny-mmproj.gguf", dir);

    ember_model_info info;
    assert_int_equal(ember_model_inspect(model, &info, NULL), EMBER_OK);
    assert_true(info.has_vision);
    assert_string_equal(info.mmproj_path, projector);

    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"show", projector, NULL}));
    assert_int_equal(proc.status, 0);
    assert_string_equal(proc.err, "");
    assert_non_null(strstr(proc.out, "vision projector"));
    assert_non_null(strstr(proc.out, "image size"));
    test_proc_free(&proc);
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"show", "--json", projector, NULL}));
    assert_int_equal(proc.status, 0);
    json_t *root = json_loads(proc.out, 0, NULL);
    assert_non_null(root);
    assert_true(json_is_true(json_object_get(root, "projector")));
    assert_true(json_integer_value(json_object_get(root, "image_size")) > 0);
    json_decref(root);
    test_proc_free(&proc);
    /* a projector is still not a model to chat with */
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"ask", "-m", projector, "Hi", NULL}));
    assert_int_equal(proc.status, 1);
    assert_non_null(strstr(proc.err, "vision projector"));
    test_proc_free(&proc);

    unlink(model);
    unlink(projector);
    rmdir(dir);
}

static void thinking_always_answers(void **state) {
    (void)state;
    /* the grammar ends inside the reasoning channel, so the model must end its turn there */
    const char *grammar = test_temp_file("root ::= \"a\"{20}\n", 0);
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode",
                                                              "thinking", "--grammar-file", grammar, "--json",
                                                              "--max-tokens", "60", "Hi", NULL}));
    assert_int_equal(proc.status, 0);
    json_t *root = json_loads(proc.out, 0, NULL);
    assert_non_null(root);
    assert_true(json_is_true(json_object_get(root, "answer_forced")));
    assert_string_equal(json_string_value(json_object_get(root, "reasoning")), "aaaaaaaaaaaaaaaaaaaa");
    assert_true(json_integer_value(json_object_get(json_object_get(root, "usage"), "answer_tokens")) >= 1);
    json_decref(root);
    test_proc_free(&proc);
    remove(grammar);
}

static void eval_progress_reaches_a_log(void **state) {
    (void)state;
    char data[20 * 48] = "";
    for (int i = 0; i < 20; i++)
        snprintf(data + strlen(data), sizeof data - strlen(data), "{\"question\": \"%d + 1?\", \"answer\": \"%d\"}\n",
                 i, i + 1);
    const char *path = test_temp_file(data, 0);
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"eval", "-m", test_model("qwen3-tiny.gguf", 0), "--data",
                                                              path, "--mode", "instant", "--max-tokens", "2", "-c",
                                                              "512", NULL}));
    assert_int_equal(proc.status, 0);
    /* stderr is a pipe here, as when a long run is logged: a plain line at each tenth */
    assert_null(strchr(proc.err, '\r'));
    int lines = 0, done;
    for (char *line = strtok(proc.err, "\n"); line; line = strtok(NULL, "\n")) {
        const char *bar_end = strstr(line, "] ");
        if (bar_end && sscanf(bar_end + 2, "%d/20 correct", &done) == 1) assert_int_equal(done, 2 * ++lines);
    }
    assert_int_equal(lines, 10);
    assert_non_null(strstr(proc.out, "configuration"));
    test_proc_free(&proc);
    remove(path);
}

static void serve_log_says_what_happened(void **state) {
    (void)state;
    char db[] = "/tmp/ember-log-XXXXXX";
    int dbfd = mkstemp(db);
    close(dbfd);
    unlink(db);
    int out[2], err[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        const char *bin = getenv("EMBER_BIN");
        execl(bin, bin, "serve", "-m", test_model("glimmer-tiny.gguf", 0), "--port", "0", "--db", db, "--log",
              "-c", "1024", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    FILE *so = fdopen(out[0], "r");
    char line[512] = "";
    assert_non_null(fgets(line, sizeof line, so));
    const char *colon = strrchr(strstr(line, "http://"), ':');
    assert_non_null(colon);
    int port = atoi(colon + 1);
    assert_int_equal(test_http(port, "/health", NULL, NULL), 200);
    assert_int_equal(test_http(port, "/v1/chat/completions",
                             "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"reasoning_effort\":\"none\","
                             "\"max_tokens\":4}", NULL),
                     200);
    assert_int_equal(test_http(port, "/v1/nothing", NULL, NULL), 404);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    fclose(so);
    FILE *se = fdopen(err[0], "r");
    char log[8192] = "";
    size_t n = fread(log, 1, sizeof log - 1, se);
    log[n] = '\0';
    fclose(se);
    unlink(db);
    char wal[64];
    snprintf(wal, sizeof wal, "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", db);
    unlink(wal);
    /* method, path, status, duration, tokens, key */
    assert_non_null(strstr(log, "ember serve: GET /health 200 "));
    const char *found = strstr(log, "ember serve: POST /v1/chat/completions 200 ");
    assert_non_null(found);
    char completion[256];
    snprintf(completion, sizeof completion, "%.*s", (int)strcspn(found, "\n"), found);
    assert_non_null(strstr(completion, " ms tokens="));
    assert_null(strstr(completion, " ms tokens=0 "));  /* the completion's tokens are counted */
    assert_non_null(strstr(completion, "key=local"));
    assert_non_null(strstr(log, "ember serve: GET /v1/nothing 404 "));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blank_prompts_are_usage_errors),
        cmocka_unit_test(settings_without_an_argument_show_value_and_usage),
        cmocka_unit_test(one_agent_limit),
        cmocka_unit_test(projectors_are_found_by_name_and_described),
        cmocka_unit_test(thinking_always_answers),
        cmocka_unit_test(eval_progress_reaches_a_log),
        cmocka_unit_test(serve_log_says_what_happened),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
