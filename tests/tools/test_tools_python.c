/* test_tools_python.c — the python tool's sandbox: it runs code and reports stdout, stderr
 * and the exit status; it has no network (not even the host's loopback), cannot write
 * outside its private tmp dir, is killed at its time and CPU limits, and its output is cut
 * at the configured size. */
#include "tools_test_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static ember_tools *python_tools(void) {
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.python_output_bytes = 1000;
    opt.python_cpu_seconds = 2;
    opt.python_max_processes = 16;
    opt.python_memory_bytes = (size_t)512 << 20;
    return tt_tools(&opt, "python");
}

/* Runs code (as a JSON-escaped string built here) and returns the result and its JSON. */
static ember_tool_result *run(ember_tools *t, const char *code, double timeout, json_t **j) {
    json_t *args = json_pack("{s:s}", "code", code);
    char *text = json_dumps(args, 0);
    json_decref(args);
    ember_tool_result *r = tt_call(t, "python", text, timeout, j);
    free(text);
    return r;
}

static void runs_code(void **state) {
    (void)state;
    ember_tools *t = python_tools();
    json_t *j;
    ember_tool_result *r = run(t, "import math\nprint(6 * 7)\nprint(math.factorial(20))\n", 20, &j);
    tt_expect_status(r, EMBER_OK);
    assert_string_equal(ember_tool_result_output(r), "42\n2432902008176640000\n");
    int code = -1;
    assert_true(ember_tool_result_exit_status(r, &code));
    assert_int_equal(code, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "exit_status")), 0);
    assert_string_equal(json_string_value(json_object_get(j, "stdout")), "42\n2432902008176640000\n");
    assert_string_equal(json_string_value(json_object_get(j, "stderr")), "");
    assert_true(json_is_false(json_object_get(j, "truncated")));
    json_decref(j);
    ember_tool_result_destroy(r);

    r = run(t, "import sys\nprint('partial')\nprint('oops', file=sys.stderr)\nsys.exit(3)\n", 20, &j);
    tt_expect_status(r, EMBER_OK);  /* the tool worked; the program failed */
    assert_true(ember_tool_result_exit_status(r, &code));
    assert_int_equal(code, 3);
    assert_string_equal(ember_tool_result_output(r), "partial\n[stderr]\noops\n[exit status 3]\n");
    assert_string_equal(json_string_value(json_object_get(j, "stderr")), "oops\n");
    json_decref(j);
    ember_tool_result_destroy(r);

    r = run(t, "raise ValueError('bad value')\n", 20, NULL);
    assert_true(ember_tool_result_exit_status(r, &code));
    assert_int_equal(code, 1);
    tt_expect_contains(ember_tool_result_output(r), "ValueError: bad value");
    ember_tool_result_destroy(r);

    r = run(t, "print('caf\\xe9', '\\u2713')\n", 20, NULL);
    assert_string_equal(ember_tool_result_output(r), "café ✓\n");
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void no_network(void **state) {
    (void)state;
    /* A listener on the host's loopback, outside the sandbox. */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(lfd, 8), 0);
    socklen_t len = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &len);
    char code[1024];
    snprintf(code, sizeof code,
             "import socket\n"
             "try:\n"
             "    s = socket.create_connection(('127.0.0.1', %d), timeout=2)\n"
             "    print('connected')\n"
             "except OSError as e:\n"
             "    print('blocked:', e.errno)\n"
             "try:\n"
             "    socket.getaddrinfo('example.com', 80)\n"
             "    print('resolved')\n"
             "except OSError as e:\n"
             "    print('no dns')\n"
             "import os\n"
             "print(sorted(os.listdir('/sys/class/net')) if os.path.exists('/sys/class/net') else 'no sys')\n",
             ntohs(addr.sin_port));
    ember_tools *t = python_tools();
    ember_tool_result *r = run(t, code, 20, NULL);
    tt_expect_status(r, EMBER_OK);
    tt_expect_contains(ember_tool_result_output(r), "blocked:");
    tt_expect_contains(ember_tool_result_output(r), "no dns");
    assert_null(strstr(ember_tool_result_output(r), "connected"));
    /* Nothing ever reached the listener. */
    int c = accept(lfd, NULL, NULL);
    assert_int_equal(c, -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(lfd);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void no_writes_outside_tmp(void **state) {
    (void)state;
    char host_dir[] = "/tmp/ember-test-host-XXXXXX";
    assert_non_null(mkdtemp(host_dir));
    char code[2048];
    snprintf(code, sizeof code,
             "import os\n"
             "for path in ['%s/escape', '/usr/escape', '/etc/escape', '/escape', '/root/escape',\n"
             "             '/proc/escape', '/dev/escape', '/dev/shm/escape', '/usr/lib/escape',\n"
             "             '/var/tmp/escape', '%s/escape']:\n"
             "    try:\n"
             "        open(path, 'w').write('x')\n"
             "        print('WROTE', path)\n"
             "    except OSError as e:\n"
             "        print('denied', path, type(e).__name__)\n"
             "open('/tmp/mine.txt', 'w').write('mine')\n"
             "print('tmp ok', open('/tmp/mine.txt').read(), os.getcwd())\n"
             "print('home exists' if os.path.exists('/home') else 'no home')\n",
             host_dir, getenv("EMBER_SOURCE_DIR") ? getenv("EMBER_SOURCE_DIR") : "/work");
    ember_tools *t = python_tools();
    ember_tool_result *r = run(t, code, 20, NULL);
    tt_expect_status(r, EMBER_OK);
    const char *out = ember_tool_result_output(r);
    assert_null(strstr(out, "WROTE"));
    tt_expect_contains(out, "tmp ok mine /tmp");
    tt_expect_contains(out, "no home");
    ember_tool_result_destroy(r);
    char escape[128];
    snprintf(escape, sizeof escape, "%s/escape", host_dir);
    struct stat st;
    assert_int_equal(stat(escape, &st), -1);
    rmdir(host_dir);

    /* The private tmp dir does not outlive its run. */
    r = run(t, "import os\nprint(os.path.exists('/tmp/mine.txt'))\n", 20, NULL);
    assert_string_equal(ember_tool_result_output(r), "False\n");
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void killed_at_time_limit(void **state) {
    (void)state;
    ember_tools *t = python_tools();
    double t0 = tt_now();
    /* Sleeping uses no CPU: only the wall-clock deadline stops it, children included. */
    ember_tool_result *r = run(t, "import os, time\nprint('started', flush=True)\nif os.fork() == 0:\n"
                                  "    os.setsid()\n    time.sleep(60)\ntime.sleep(60)\n", 1.0, NULL);
    double elapsed = tt_now() - t0;
    tt_expect_status(r, EMBER_ERR_TIMEOUT);
    tt_expect_contains(ember_tool_result_error(r), "time limit");
    tt_expect_contains(ember_tool_result_output(r), "started");
    int code = 0;
    assert_true(ember_tool_result_exit_status(r, &code));
    assert_int_equal(code, 137);
    assert_true(elapsed >= 0.9 && elapsed < 3.0);
    ember_tool_result_destroy(r);

    /* The "timeout" argument can shorten the call's limit. */
    t0 = tt_now();
    r = run(t, "while True: pass\n", 30, NULL);  /* CPU limit: 2 s */
    elapsed = tt_now() - t0;
    tt_expect_status(r, EMBER_ERR_TIMEOUT);
    tt_expect_contains(ember_tool_result_error(r), "CPU time limit");
    assert_true(elapsed < 6.0);
    ember_tool_result_destroy(r);

    t0 = tt_now();
    r = tt_call(t, "python", "{\"code\": \"import time\\ntime.sleep(30)\", \"timeout\": 0.5}", 30, NULL);
    tt_expect_status(r, EMBER_ERR_TIMEOUT);
    assert_true(tt_now() - t0 < 2.5);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void output_truncated(void **state) {
    (void)state;
    ember_tools *t = python_tools();
    json_t *j;
    ember_tool_result *r = run(t, "import sys\nprint('x' * 100000)\nprint('e' * 5000, file=sys.stderr)\n", 20, &j);
    tt_expect_status(r, EMBER_OK);
    tt_expect_contains(ember_tool_result_output(r), "[stdout truncated: 1000 of 100001 bytes shown]");
    tt_expect_contains(ember_tool_result_output(r), "[stderr truncated: 1000 of 5001 bytes shown]");
    assert_int_equal(strlen(json_string_value(json_object_get(j, "stdout"))), 1000);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    ember_tool_result_destroy(r);

    /* Cut inside a multi-byte character: still valid UTF-8 in the JSON. */
    r = run(t, "print('é' * 2000)\n", 20, &j);
    assert_non_null(j);
    json_decref(j);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void resource_limits(void **state) {
    (void)state;
    ember_tools *t = python_tools();
    ember_tool_result *r = run(t, "try:\n    b = bytearray(2 << 30)\n    print('allocated')\n"
                                  "except MemoryError:\n    print('memory limited')\n", 20, NULL);
    assert_string_equal(ember_tool_result_output(r), "memory limited\n");
    ember_tool_result_destroy(r);

    r = run(t, "import os, time\nn = 0\nfor i in range(100):\n    try:\n        pid = os.fork()\n"
               "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
               "    n += 1\nprint('forked', n)\n", 20, NULL);
    tt_expect_status(r, EMBER_OK);
    const char *out = ember_tool_result_output(r);
    tt_expect_contains(out, "forked ");
    int n = atoi(strstr(out, "forked ") + 7);
    assert_true(n < 16);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

static void missing_interpreter(void **state) {
    (void)state;
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    opt.python_path = "/usr/bin/no-such-python";
    ember_tools *t = tt_tools(&opt, "python");
    ember_tool_result *r = tt_call(t, "python", "{\"code\": \"print(1)\"}", 10, NULL);
    tt_expect_status(r, EMBER_ERR_UNSUPPORTED);
    tt_expect_contains(ember_tool_result_error(r), "no-such-python");
    ember_tool_result_destroy(r);
    r = tt_call(t, "python", "{\"code\": 1}", 10, NULL);
    tt_expect_status(r, EMBER_ERR_INVALID);
    ember_tool_result_destroy(r);
    ember_tools_destroy(t);
}

typedef struct job {
    ember_tools *t;
    int n;
    bool ok;
} job;

static void *python_job(void *arg) {
    job *jb = arg;
    char args[128], want[32];
    snprintf(args, sizeof args, "{\"code\": \"import time\\ntime.sleep(0.3)\\nprint(%d * 3)\"}", jb->n);
    snprintf(want, sizeof want, "%d\n", jb->n * 3);
    ember_tool_result *r = NULL;
    jb->ok = ember_tools_call(jb->t, "python", args, 20, &r, NULL) == EMBER_OK &&
             ember_tool_result_status(r) == EMBER_OK && strcmp(ember_tool_result_output(r), want) == 0;
    ember_tool_result_destroy(r);
    return NULL;
}

static void parallel_runs(void **state) {
    (void)state;
    ember_tools *t = python_tools();
    pthread_t th[3];
    job jobs[3];
    double t0 = tt_now();
    for (int i = 0; i < 3; i++) {
        jobs[i] = (job){.t = t, .n = i + 1};
        pthread_create(&th[i], NULL, python_job, &jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_true(jobs[i].ok);
    }
    assert_true(tt_now() - t0 < 5.0);
    ember_tools_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_code),
        cmocka_unit_test(no_network),
        cmocka_unit_test(no_writes_outside_tmp),
        cmocka_unit_test(killed_at_time_limit),
        cmocka_unit_test(output_truncated),
        cmocka_unit_test(resource_limits),
        cmocka_unit_test(missing_interpreter),
        cmocka_unit_test(parallel_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
