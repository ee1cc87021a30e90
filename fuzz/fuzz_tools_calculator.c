/*
 * fuzz_tools_calculator.c — the calculator's parser and evaluator on arbitrary input. The
 * first byte picks the precision; the rest is the expression. Checks: no crash, leak or
 * undefined behavior; success yields valid UTF-8 text that contains the decimal form;
 * failure yields a message with a position or a reason.
 */
#include "tools/calculator.h"
#include "core/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const char *s) {
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0) abort();
        i += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int digits = 1 + data[0] % 64;
    const char *expr = (const char *)data + 1;
    size_t len = size - 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double deadline = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + 2.0;
    calc_result r;
    char err[256];
    if (tool_calc_evaluate(expr, len, digits, deadline, &r, err, sizeof err)) {
        if (!r.text || !r.decimal) abort();
        check_utf8(r.text);
        if (!strstr(r.text, r.decimal)) abort();
        if (r.approximate != (r.exact == NULL)) abort();
        tool_calc_result_free(&r);
    } else {
        if (err[0] == '\0') abort();
        if (r.text || r.exact || r.decimal) abort();
    }
    return 0;
}
