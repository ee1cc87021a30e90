/*
 * test_support.h — helpers shared by the tests: paths of generated models, running the
 * ember binary and capturing its output, reading JSON.
 */
#ifndef EMBER_TEST_SUPPORT_H
#define EMBER_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

/* $EMBER_TEST_MODELS/name, in a static buffer per call slot (0..3). */
const char *test_model(const char *name, int slot);

typedef struct test_proc {
    int status;      /* exit code, or 128+signal */
    char *out;       /* stdout, NUL-terminated, malloc'd */
    char *err;       /* stderr */
} test_proc;

/* Runs $EMBER_BIN with argv (NULL-terminated, argv[0] excluded), stdin from `input` if not
 * NULL. Returns false if it could not be started. */
bool test_run_ember(test_proc *proc, const char *input, const char *const *argv);
void test_proc_free(test_proc *proc);
/* Writes text to a fresh temporary file and returns its path (static buffer per slot). */
const char *test_temp_file(const char *text, int slot);

/* GET (body NULL) or POST of a JSON body to http://127.0.0.1:PORT/PATH; returns the HTTP
 * status (0 when no answer came), *out (may be NULL) the response body to free(). */
long test_http(int port, const char *path, const char *body, char **out);

#endif
