/*
 * test_pull_cli.c — `ember pull`, `ember list` and `ember rm` as a user runs them, against
 * the fake Hub (HF_ENDPOINT) with a temporary store (EMBER_MODELS). Skips when $EMBER_BIN
 * was not built.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_hub.h"

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static fake_hub *hub;
static char models[256];
static const char *ember_bin;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path);
}

static int setup(void **state) {
    ember_bin = getenv("EMBER_BIN");
    hub = fake_hub_start();
    snprintf(models, sizeof models, "/tmp/ember-pull-cli-XXXXXX");
    if (!hub || !mkdtemp(models)) return -1;
    setenv("EMBER_MODELS", models, 1);
    setenv("HF_ENDPOINT", fake_hub_url(hub), 1);
    unsetenv("HF_TOKEN");
    return 0;
}

static int teardown(void **state) {
    fake_hub_stop(hub);
    nftw(models, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

typedef struct run_result {
    int status;      /* exit status */
    char out[8192];  /* stdout */
    char err[8192];  /* stderr */
} run_result;

static void slurp(const char *path, char *out, size_t size) {
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(out, 1, size - 1, fp) : 0;
    out[n] = '\0';
    if (fp) fclose(fp);
}

/* Runs `ember ARGS` (stdin from /dev/null, stderr to a file: not a terminal). */
static void run(run_result *r, const char *args) {
    char out_path[300], err_path[300], cmd[2048];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", models);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", models);
    snprintf(cmd, sizeof cmd, "'%s' %s </dev/null >'%s' 2>'%s'", ember_bin, args, out_path, err_path);
    int st = system(cmd);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out_path, r->out, sizeof r->out);
    slurp(err_path, r->err, sizeof r->err);
    unlink(out_path);
    unlink(err_path);
}

/* Starts `ember pull SPEC`, sends SIGINT after `seconds`, and collects what it printed. */
static void run_interrupted(run_result *r, const char *spec, double seconds) {
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", models);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", models);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out, 1);
        dup2(err, 2);
        execl(ember_bin, ember_bin, "pull", spec, (char *)NULL);
        _exit(127);
    }
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out_path, r->out, sizeof r->out);
    slurp(err_path, r->err, sizeof r->err);
}

static bool have_cli(void) {
    if (ember_bin && access(ember_bin, X_OK) == 0) return true;
    fprintf(stderr, "EMBER_BIN not built: skipping\n");
    return false;
}

static void test_pull_list_rm(void **state) {
    if (!have_cli()) skip();
    run_result *r = malloc(sizeof *r);

    run(r, "pull test/Tiny-GGUF");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "pulled test/Tiny-GGUF:Q4_K_M"));
    assert_non_null(strstr(r->out, "with vision"));
    /* plain progress lines: stderr is a file here */
    assert_non_null(strstr(r->err, "pulling test/Tiny-GGUF"));
    assert_non_null(strstr(r->err, "Tiny-Q4_K_M.gguf: downloading"));
    assert_non_null(strstr(r->err, "Tiny-Q4_K_M.gguf: 307 KB verified"));
    assert_null(strstr(r->err, "\r"));

    run(r, "pull test/Split-GGUF:Q4_K_M --quiet");
    assert_int_equal(r->status, 0);
    assert_string_equal(r->err, "");
    assert_non_null(strstr(r->out, "first of its parts"));

    run(r, "list");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "NAME"));
    assert_non_null(strstr(r->out, "LAST USED"));
    assert_non_null(strstr(r->out, "test/Split-GGUF:Q4_K_M"));
    assert_non_null(strstr(r->out, "test/Tiny-GGUF:Q4_K_M"));
    assert_non_null(strstr(r->out, "never"));

    run(r, "list --json");
    assert_int_equal(r->status, 0);
    json_error_t jerr;
    json_t *list = json_loads(r->out, 0, &jerr);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 2);
    json_t *split = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(split, "name")), "test/Split-GGUF:Q4_K_M");
    assert_int_equal(json_integer_value(json_object_get(split, "parts")), 3);
    assert_true(json_is_false(json_object_get(split, "vision")));
    assert_true(json_is_true(json_object_get(json_array_get(list, 1), "vision")));
    json_decref(list);

    run(r, "rm Tiny test/Split-GGUF:Q4_K_M");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "removed test/Tiny-GGUF:Q4_K_M"));
    assert_non_null(strstr(r->out, "removed test/Split-GGUF:Q4_K_M"));

    run(r, "list --json");
    assert_string_equal(r->out, "[]\n");
    run(r, "list");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->err, "no models pulled yet"));
    free(r);
}

static void test_errors(void **state) {
    if (!have_cli()) skip();
    run_result *r = malloc(sizeof *r);
    run(r, "pull test/NoQ4-GGUF:Q4_K_M");
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "ember pull: test/NoQ4-GGUF has no GGUF for quantization 'Q4_K_M'; available: F16, Q2_K, Q8_0"));
    run(r, "pull test/Missing-GGUF");
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "not found"));
    run(r, "pull test/Gated-GGUF");
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "HF_TOKEN"));
    run(r, "pull");
    assert_int_equal(r->status, 2);
    run(r, "pull a b");
    assert_int_equal(r->status, 2);
    run(r, "pull --retries x test/Tiny-GGUF");
    assert_int_equal(r->status, 2);
    run(r, "rm test/Nothing-GGUF:Q4_K_M");
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "no pulled model named"));
    run(r, "rm");
    assert_int_equal(r->status, 2);
    run(r, "list --bogus");
    assert_int_equal(r->status, 2);
    run(r, "pull --help");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "HF_TOKEN"));

    /* an interrupted pull says how to resume; the same command then finishes it */
    fake_hub_drop_after(hub, "Tiny-Q8_0.gguf", 200 * 1024);
    run(r, "pull test/Tiny-GGUF:Q8_0 --retries 0");
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "run the same command again to resume"));
    run(r, "pull test/Tiny-GGUF:Q8_0");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->err, "resuming at"));
    free(r);
}

static void test_ctrl_c_then_resume(void **state) {
    if (!have_cli()) skip();
    run_result *r = malloc(sizeof *r);
    fake_hub_throttle(hub, 80 * 1024); /* Split-Q8_0 (200 KB) takes ~2.5 s */
    run_interrupted(r, "test/Split-GGUF:Q8_0", 1.2);
    fake_hub_throttle(hub, 0);
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "cancelled"));
    assert_non_null(strstr(r->err, "run the same command again to resume"));
    assert_non_null(strstr(r->err, "/s, ETA ")); /* plain progress lines with speed and ETA */
    run(r, "pull test/Split-GGUF:Q8_0");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->err, "Split-Q8_0.gguf: downloading 205 KB, resuming at"));
    char range[64];
    fake_hub_last_range(hub, "Split-Q8_0.gguf", range, sizeof range);
    assert_true(strncmp(range, "bytes=", 6) == 0);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pull_list_rm),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ctrl_c_then_resume),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
