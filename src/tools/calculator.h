/*
 * calculator.h — the calculator tool's evaluator, free of JSON so that tests and the fuzzer
 * can drive it directly.
 *
 * Numbers are exact rationals (GMP mpq) for as long as the operations allow: + - * / %,
 * integer powers, factorials, abs/min/max/floor/ceil/round, and roots or logarithms whose
 * result is exact. Anything else (sqrt(2), sin, pi, …) makes the value approximate: an MPFR
 * float carried with guard bits beyond the requested significant digits. Sizes are bounded
 * (exact values up to ~4 million bits, factorials up to 100000!), so no input can exhaust
 * memory or run for long. Thread-safe: no global state is kept (MPFR's per-thread constant
 * caches are freed after each evaluation).
 */
#ifndef EMBER_TOOLS_CALCULATOR_H
#define EMBER_TOOLS_CALCULATOR_H

#include <stdbool.h>
#include <stddef.h>

enum {
    CALC_DEFAULT_DIGITS = 20,     /* significant digits when the caller gives none */
    CALC_MAX_DIGITS = 10000,      /* most significant digits one may ask for */
    CALC_MAX_INPUT = 100000,      /* longest expression accepted, in bytes */
};

typedef struct calc_result {
    char *text;          /* the line for the model: "42", "3/10 = 0.3", "1/3 ≈ 0.333…", "1.414…" */
    char *exact;         /* the exact value ("42", "-1/3"), or NULL when approximate or too long */
    char *decimal;       /* decimal form at the requested significant digits */
    bool approximate;    /* the value is not exact (an irrational or rounded result) */
} calc_result;

/* Evaluates expr[0..len) with `digits` significant digits for decimals (0 = default).
 * deadline is an absolute CLOCK_MONOTONIC time in seconds, or 0 for none. On failure
 * returns false and writes a message to err (e.g. "division by zero at position 3",
 * "syntax error at position 5: expected ')'"); *out is then zeroed. */
bool tool_calc_evaluate(const char *expr, size_t len, int digits, double deadline, calc_result *out,
                   char *err, size_t err_size);
void tool_calc_result_free(calc_result *r);

#endif
