/*
 * test_cli_terminal.c — the CLI as a person at a terminal meets it: `ember run` and
 * `ember ask` on a pseudo-terminal (forkpty), keys sent as the terminal sends them (Ctrl-C is
 * byte 0x03, which the line discipline turns into SIGINT; Ctrl-D is 0x04). Long answers come
 * from a grammar that allows thousands of tokens, so an interrupt lands mid-answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

/* Generation that goes on long enough to be interrupted (Instant opens the answer): 4000
 * words the model cannot end early (GBNF caps one repetition count, so they are nested). */
static const char LONG_GRAMMAR[] = "root ::= hundred{40}\nhundred ::= \"word \"{100}\n";

typedef struct term {
    pid_t pid;
    int fd;
    char *out;        /* everything the terminal showed */
    size_t len, cap;
} term;

static void term_start(term *t, const char *const *argv) {
    memset(t, 0, sizeof *t);
    const char *bin = getenv("EMBER_BIN");
    assert_non_null(bin);
    struct winsize ws = {.ws_row = 40, .ws_col = 120};
    t->pid = forkpty(&t->fd, NULL, NULL, &ws);
    assert_true(t->pid >= 0);
    if (t->pid == 0) {
        const char *args[64] = {bin};
        int n = 1;
        for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
        args[n] = NULL;
        setenv("TERM", "xterm", 1);
        execv(bin, (char *const *)args);
        _exit(127);
    }
    t->cap = 4096;
    t->out = calloc(1, t->cap);
}

/* Reads what arrives for up to ms; true if anything did. */
static bool term_pump(term *t, int ms) {
    struct pollfd p = {.fd = t->fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) return false;
    char buf[4096];
    ssize_t n = read(t->fd, buf, sizeof buf);
    if (n <= 0) return false;
    while (t->len + (size_t)n + 1 > t->cap) t->out = realloc(t->out, t->cap *= 2);
    memcpy(t->out + t->len, buf, (size_t)n);
    t->len += (size_t)n;
    t->out[t->len] = '\0';
    return true;
}

/* Waits until `text` appears after offset `from`; returns the offset just past it. */
static size_t term_expect(term *t, size_t from, const char *text, int seconds) {
    time_t end = time(NULL) + seconds;
    for (;;) {
        const char *hit = from <= t->len ? strstr(t->out + from, text) : NULL;
        if (hit) return (size_t)(hit - t->out) + strlen(text);
        if (time(NULL) > end) {
            fprintf(stderr, "terminal never showed \"%s\"; it showed:\n%s\n", text, t->out);
            fail();
        }
        term_pump(t, 100);
    }
}

/* Keys typed a moment after the prompt appears, as a person would: libedit switches the
 * terminal's mode after printing the prompt, and a mode switch may flush input typed before. */
static void term_send(term *t, const char *keys) {
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    assert_int_equal(write(t->fd, keys, strlen(keys)), (ssize_t)strlen(keys));
}

/* Waits for the program to end (reading its last output); returns its exit status. */
static int term_wait(term *t, int seconds) {
    time_t end = time(NULL) + seconds;
    int status;
    for (;;) {
        term_pump(t, 50);
        pid_t r = waitpid(t->pid, &status, WNOHANG);
        if (r == t->pid) break;
        if (time(NULL) > end) {
            kill(t->pid, SIGKILL);
            waitpid(t->pid, &status, 0);
            fprintf(stderr, "the program did not end; it showed:\n%s\n", t->out);
            fail();
        }
    }
    while (term_pump(t, 50)) {}
    close(t->fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void term_free(term *t) { free(t->out); }

static int stat_prompt_tokens(const char *line) {
    const char *p = strstr(line, "prompt_tokens=");
    assert_non_null(p);
    return atoi(p + 14);
}

static void run_ctrl_c_cancels_the_answer_and_keeps_the_conversation(void **state) {
    (void)state;
    const char *grammar = test_temp_file(LONG_GRAMMAR, 0);
    term t;
    term_start(&t, (const char *[]){"run", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant",
                                    "--grammar-file", grammar, "--max-tokens", "5000", "--stats", "--date", "2026-01-01", NULL});
    size_t at = term_expect(&t, 0, ">>> ", 60);
    term_send(&t, "first question\r");
    at = term_expect(&t, at, "word word word", 60);
    term_send(&t, "\x03");
    size_t stats1 = term_expect(&t, at, "[stats]", 30);
    int prompt1 = stat_prompt_tokens(t.out + stats1);
    at = term_expect(&t, at, "(cancelled)", 30);
    at = term_expect(&t, at, ">>> ", 30);
    /* the program goes on, and the next turn's prompt holds the first question and the
     * words answered before the interrupt */
    term_send(&t, "second question\r");
    at = term_expect(&t, at, "word word word", 60);
    term_send(&t, "\x03");
    size_t stats2 = term_expect(&t, at, "[stats]", 30);
    int prompt2 = stat_prompt_tokens(t.out + stats2);
    assert_true(prompt2 > prompt1 + 6);
    at = term_expect(&t, at, "(cancelled)", 30);
    term_expect(&t, at, ">>> ", 30);
    term_send(&t, "\x04");
    assert_int_equal(term_wait(&t, 30), 0);
    term_free(&t);
    remove(grammar);
}

static void run_ctrl_c_on_an_empty_line_leaves(void **state) {
    (void)state;
    term t;
    term_start(&t, (const char *[]){"run", "-m", test_model("glimmer-tiny.gguf", 0), NULL});
    term_expect(&t, 0, ">>> ", 60);
    term_send(&t, "\x03");
    assert_int_equal(term_wait(&t, 30), 0);
    term_free(&t);
}

static void run_ctrl_c_drops_a_typed_line_and_twice_leaves(void **state) {
    (void)state;
    term t;
    term_start(&t, (const char *[]){"run", "-m", test_model("glimmer-tiny.gguf", 0), NULL});
    size_t at = term_expect(&t, 0, ">>> ", 60);
    term_send(&t, "half a thought");
    at = term_expect(&t, at, "half a thought", 10);
    term_send(&t, "\x03");
    at = term_expect(&t, at, "^C", 10);
    term_expect(&t, at, ">>> ", 10);  /* a new prompt: still running */
    term_send(&t, "\x03");
    assert_int_equal(term_wait(&t, 30), 0);
    term_free(&t);
}

static void run_ctrl_d_ends_the_line(void **state) {
    (void)state;
    term t;
    term_start(&t, (const char *[]){"run", "-m", test_model("glimmer-tiny.gguf", 0), NULL});
    size_t at = term_expect(&t, 0, ">>> ", 60);
    term_send(&t, "\x04");
    assert_int_equal(term_wait(&t, 30), 0);
    /* the shell's prompt must not land after ">>> ": the terminal's last output ends a line */
    assert_true(t.len > at);
    assert_int_equal(t.out[t.len - 1], '\n');
    term_free(&t);
}

static void ask_ctrl_c_cancels_with_status_130(void **state) {
    (void)state;
    const char *grammar = test_temp_file(LONG_GRAMMAR, 0);
    term t;
    term_start(&t, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant",
                                    "--grammar-file", grammar, "--max-tokens", "5000", "Talk for a while.", NULL});
    size_t at = term_expect(&t, 0, "word word word", 60);
    term_send(&t, "\x03");
    assert_int_equal(term_wait(&t, 30), 130);
    assert_null(strstr(t.out + at, "ember ask:"));  /* a clean stop, not an error */
    assert_int_equal(t.out[t.len - 1], '\n');
    term_free(&t);
    remove(grammar);
}

static void control_characters_are_escaped_on_a_terminal(void **state) {
    (void)state;
    /* an answer that would clear the screen and ring the bell if printed raw */
    const char *grammar = test_temp_file("root ::= \"A\\x1b[2JB\\x07C\\x1b]0;owned\\x07\"\n", 0);
    term t;
    term_start(&t, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant",
                                    "--grammar-file", grammar, "Hi", NULL});
    assert_int_equal(term_wait(&t, 60), 0);
    assert_non_null(strstr(t.out, "A\\x1b[2JB\\x07C\\x1b]0;owned\\x07"));
    assert_null(strstr(t.out, "\x1b[2J"));
    term_free(&t);
    /* not a terminal (a pipe, or --json): the text as the model wrote it */
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode",
                                                              "instant", "--grammar-file", grammar, "Hi", NULL}));
    assert_int_equal(proc.status, 0);
    assert_non_null(strstr(proc.out, "A\x1b[2JB\x07" "C"));
    test_proc_free(&proc);
    remove(grammar);
}

static void thinking_shows_a_live_status_line(void **state) {
    (void)state;
    const char *grammar = test_temp_file(
        "root ::= \"a\"{200} <|eom|> <|start|> \"assistant to=user\" <|message|> \"Done.\"\n", 0);
    term t;
    term_start(&t, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "thinking",
                                    "--grammar-file", grammar, "Think.", NULL});
    assert_int_equal(term_wait(&t, 60), 0);
    assert_non_null(strstr(t.out, "thinking… "));
    assert_non_null(strstr(t.out, " tokens, "));
    assert_non_null(strstr(t.out, "Done."));
    term_free(&t);
    /* with --show-reasoning the reasoning itself is shown instead */
    term_start(&t, (const char *[]){"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "thinking",
                                    "--grammar-file", grammar, "--show-reasoning", "Think.", NULL});
    assert_int_equal(term_wait(&t, 60), 0);
    assert_null(strstr(t.out, "thinking… "));
    assert_non_null(strstr(t.out, "aaaaaaaaaa"));
    term_free(&t);
    remove(grammar);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_ctrl_c_cancels_the_answer_and_keeps_the_conversation),
        cmocka_unit_test(run_ctrl_c_on_an_empty_line_leaves),
        cmocka_unit_test(run_ctrl_c_drops_a_typed_line_and_twice_leaves),
        cmocka_unit_test(run_ctrl_d_ends_the_line),
        cmocka_unit_test(ask_ctrl_c_cancels_with_status_130),
        cmocka_unit_test(control_characters_are_escaped_on_a_terminal),
        cmocka_unit_test(thinking_shows_a_live_status_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
