/*
 * test_arith.c — the arithmetic task family through its public face (ember_arith_write_jsonl):
 * every answer is right by an independent evaluation of the expression, every line of every
 * reasoning trace is a true statement (judged by arith_step_of, which test_trace_truth checks
 * against false steps) and the trace ends in the answer, the held-out split
 * shares no problem with the train split, and the phrasings vary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "test_support.h"
#include "train/arith.h"

/* Evaluates "47 + 385 - 12" / "5 + 23 * 17" with standard precedence. */
static long evaluate(const char *expr) {
    long terms[8], value;
    char ops[8];
    int n = 0;
    const char *p = expr;
    terms[0] = strtol(p, (char **)&p, 10);
    while (*p) {
        while (*p == ' ') p++;
        const char op = *p++;
        const long v = strtol(p, (char **)&p, 10);
        if (op == '*') terms[n] *= v;
        else ops[n] = op, terms[++n] = v;
    }
    value = terms[0];
    for (int i = 1; i <= n; i++) value = ops[i - 1] == '+' ? value + terms[i] : value - terms[i];
    return value;
}

static json_t *load_lines(const char *path, size_t *n) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    json_t *arr = json_array();
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        json_array_append_new(arr, o);
    }
    fclose(f);
    *n = json_array_size(arr);
    return arr;
}

/* Writes 400 traces in `style` and checks every line; returns the number of one-line blocks
 * and adds the traces' length to *chars. */
static int check_traces(ember_trace_style style, size_t *chars) {
    const char *path = test_temp_file("", 0);
    ember_error err = {0};
    assert_int_equal(ember_arith_write_jsonl(path, 11, 400, false, &style, &err), EMBER_OK);
    size_t n;
    json_t *arr = load_lines(path, &n);
    assert_int_equal(n, 400);
    int columns = 0, one_line = 0, products = 0, negatives = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        const char *expr = json_string_value(json_object_get(o, "expression"));
        const char *answer = json_string_value(json_object_get(o, "answer"));
        const char *reasoning = json_string_value(json_object_get(o, "reasoning"));
        assert_non_null(expr);
        assert_non_null(reasoning);
        const long v = evaluate(expr);
        assert_int_equal(strtol(answer, NULL, 10), v);
        negatives += v < 0;
        products += strchr(expr, '*') != NULL;
        char *copy = strdup(reasoning), *save = NULL, *last = NULL;
        const char *digits = NULL; /* the column lines' "|digits" so far, until the "=N" line */
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            const arith_step step = arith_step_of(line);
            if (step == ARITH_FALSE_STEP) fail_msg("false step \"%s\" in the trace of %s", line, expr);
            columns += step == ARITH_COLUMN;
            one_line += step == ARITH_BLOCK;
            const char *bar = strchr(line, '|');
            if (bar) {
                /* each column puts its digits in front of the ones before */
                const size_t len = strlen(bar + 1), had = digits ? strlen(digits) : 0;
                if (len <= had || strcmp(bar + 1 + len - had, digits ? digits : "") != 0)
                    fail_msg("\"%s\" does not extend \"%s\" in the trace of %s", line, digits, expr);
                digits = bar + 1;
            } else if (digits) {
                /* the value line: the digits, leading zeros dropped */
                while (digits[0] == '0' && digits[1]) digits++;
                if (line[0] != '=' || strcmp(line + 1, digits) != 0)
                    fail_msg("\"%s\" is not the value of the digits \"%s\" in the trace of %s", line, digits, expr);
                digits = NULL;
            }
            last = line;
        }
        char want[64];
        snprintf(want, sizeof want, "answer %ld", v);
        assert_string_equal(last, want);
        *chars += strlen(reasoning);
        free(copy);
    }
    assert_true(columns > (style.terse_pct ? 600 : 2000));
    assert_true(products > 100 && negatives > 20);
    json_decref(arr);
    remove(path);
    return one_line;
}

static void test_answers_and_traces(void **state) {
    (void)state;
    size_t full = 0, terse = 0, columns = 0;
    assert_int_equal(check_traces((ember_trace_style){0}, &full), 0);
    /* the same problems with 40 % of their blocks on one line: shorter, as true */
    const int one_line = check_traces((ember_trace_style){.terse_pct = 40}, &terse);
    assert_true(one_line > 200);
    assert_true(terse < full * 85 / 100);
    /* the earlier layout: column lines alone, shorter still */
    assert_int_equal(check_traces((ember_trace_style){.columns = true}, &columns), 0);
    assert_true(columns < full * 85 / 100);
}

static int by_char(const void *x, const void *y) { return *(const char *)x - *(const char *)y; }

/* Agents with odd approaches restate the expression in the other order: the same value, the
 * same operands, products' factors swapped and added terms before subtracted ones. */
static void test_reordered_agents(void **state) {
    (void)state;
    size_t chars = 0;
    ember_trace_style style = {.reorder_agents = true};
    check_traces(style, &chars);
    const char *path = test_temp_file("", 0);
    assert_int_equal(ember_arith_write_jsonl(path, 11, 400, false, &style, NULL), EMBER_OK);
    size_t n;
    json_t *arr = load_lines(path, &n);
    int moved = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        const char *reasoning = json_string_value(json_object_get(o, "reasoning"));
        const char *approach = json_string_value(json_object_get(o, "approach"));
        assert_non_null(approach);
        const char *second = strchr(reasoning, '\n') + 1;
        if (i % 2 == 0) {
            assert_true(second[0] != '=');
            continue;
        }
        char first[64], other[64];
        snprintf(first, sizeof first, "%.*s", (int)(second - 1 - reasoning), reasoning);
        assert_int_equal(second[0], '=');
        snprintf(other, sizeof other, "%.*s", (int)strcspn(second + 1, "\n"), second + 1);
        assert_int_equal(evaluate(other), evaluate(first));
        /* no subtracted term before an added one, and the same digits in all */
        const char *minus = strchr(other, '-');
        assert_true(!minus || !strchr(minus, '+'));
        char a[64], b[64];
        size_t na = 0, nb = 0;
        for (const char *c = first; *c; c++) if (isdigit((unsigned char)*c)) a[na++] = *c;
        for (const char *c = other; *c; c++) if (isdigit((unsigned char)*c)) b[nb++] = *c;
        qsort(a, na, 1, by_char);
        qsort(b, nb, 1, by_char);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        moved += strcmp(first, other) != 0;
    }
    assert_true(moved > 150);
    json_decref(arr);
    remove(path);
}

/* With --check, a share of the blocks is followed by "check", the inverse block and "ok N":
 * the inverse of a sum or difference starts from the block's value N, a product's check is the
 * factors swapped and comes to N again, and the trace goes on from N. Checks only add length. */
static void test_checked_blocks(void **state) {
    (void)state;
    size_t plain = 0, checked = 0;
    check_traces((ember_trace_style){0}, &plain);
    const ember_trace_style style = {.check_pct = 60};
    check_traces(style, &checked);
    assert_true(checked > plain * 130 / 100);
    const char *path = test_temp_file("", 0);
    assert_int_equal(ember_arith_write_jsonl(path, 11, 400, false, &style, NULL), EMBER_OK);
    size_t n;
    json_t *arr = load_lines(path, &n);
    int checks = 0, blocks_unchecked = 0;
    for (size_t i = 0; i < n; i++) {
        const char *reasoning = json_string_value(json_object_get(json_array_get(arr, i), "reasoning"));
        char *copy = strdup(reasoning), *save = NULL;
        char *lines[256];
        int m = 0;
        for (char *line = strtok_r(copy, "\n", &save); line && m < 256; line = strtok_r(NULL, "\n", &save))
            lines[m++] = line;
        for (int k = 1; k + 1 < m; k++) {
            if (strcmp(lines[k], "check") != 0) {
                /* a value line followed by the next step, not by a check */
                blocks_unchecked += lines[k][0] == '=' && strcmp(lines[k + 1], "check") != 0;
                continue;
            }
            checks++;
            /* the checked block's value: its "=N" line or the one-line block's "...=N" */
            const char *eq = strrchr(lines[k - 1], '=');
            assert_non_null(eq);
            const long value = strtol(eq + 1, NULL, 10);
            long x, y;
            char op;
            assert_int_equal(sscanf(lines[k + 1], "%ld%c%ld", &x, &op, &y), 3);
            int end = k + 1;
            while (end < m && strncmp(lines[end], "ok ", 3) != 0) end++;
            assert_true(end < m);
            assert_int_equal(strtol(lines[end] + 3, NULL, 10), value);
            const long result = strtol(lines[end - 1] + 1, NULL, 10);
            assert_int_equal(lines[end - 1][0], '=');
            assert_int_equal(result, op == '+' ? x + y : op == '-' ? x - y : x * y);
            /* the checked block before it, worth N: a+b=N is checked by N-b, a-b=N by N+b,
             * a*b=N by b*a (its "a op b" line, or the one-line block's "a op b=N") */
            const char block_op = op == '-' ? '+' : op == '+' ? '-' : '*';
            bool found = false;
            for (int j = k - 1; j >= 0 && !found; j--) {
                long a, b;
                char o;
                int used = 0;
                if (strchr(lines[j], '|') || sscanf(lines[j], "%ld%c%ld%n", &a, &o, &b, &used) != 3 || o != block_op)
                    continue; /* column lines are not blocks */
                const long v = o == '+' ? a + b : o == '-' ? a - b : a * b;
                const bool inverse = o == '*' ? x == b && y == a && result == v : x == v && y == b && result == a;
                found = v == value && inverse && (lines[j][used] == '\0' || lines[j][used] == '=');
            }
            if (!found) fail_msg("the check at line %d checks no block before it:\n%s", k, reasoning);
            k = end;
        }
        free(copy);
    }
    assert_true(checks > 300);
    assert_true(blocks_unchecked > 150);
    json_decref(arr);
    remove(path);
}

/* The sums of the added and of the subtracted terms of "47 + 385 - 5 * 12". */
static void sides(const char *expr, long *plus, long *minus) {
    long term = strtol(expr, (char **)&expr, 10);
    char sign = '+';
    *plus = *minus = 0;
    for (;;) {
        while (*expr == ' ') expr++;
        const char op = *expr ? *expr++ : '\0';
        const long v = op ? strtol(expr, (char **)&expr, 10) : 0;
        if (op == '*') {
            term *= v;
            continue;
        }
        *(sign == '+' ? plus : minus) += term;
        if (!op) return;
        term = v, sign = op;
    }
}

/* The value of the "name N" line of a verification trace. */
static long side_of(const char *trace, const char *name) {
    char key[16];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr(trace, key);
    assert_non_null(at);
    return strtol(at + strlen(key), NULL, 10);
}

/* Contemplating's synthesizer checks candidates by additions: the first right one is chosen
 * whatever its place, a wrong one never, every step is true, and the sides add up. */
static void test_verification(void **state) {
    (void)state;
    for (uint64_t i = 0; i < 400; i++) {
        arith_problem p;
        arith_problem_at(3, i, i % 2, &p);
        strbuf expr = {0}, trace = {0};
        arith_canonical(&p, &expr);
        const long value = evaluate(strbuf_str(&expr));
        assert_int_equal(arith_answer(&p), value);
        const long wrong[3] = {value + 100, -value - 1, value - 200};
        long cands[4];
        const int at = (int)(i % 4);  /* where the right answer stands, 3 = absent */
        for (int j = 0, w = 0; j < 4; j++) cands[j] = j == at ? value : wrong[w++ % 3];
        const int n = at == 3 ? 3 : 4;
        const long chosen = arith_verification(&p, cands, n, 12345, (ember_trace_style){0}, i, &trace);
        const char *t = strbuf_str(&trace);
        assert_int_equal(chosen, at == 3 ? 12345 : value);
        if (!arith_trace_is_true(t)) fail_msg("a false step:\n%s", t);
        long plus, minus;
        sides(strbuf_str(&expr), &plus, &minus);
        assert_int_equal(plus - minus, value);
        assert_int_equal(side_of(t, "plus"), plus);
        assert_int_equal(side_of(t, "minus"), minus);
        /* one verdict per candidate checked, "yes" only on the right one */
        int verdicts = 0, yes = 0;
        for (const char *l = strstr(t, " vs "); l; l = strstr(l + 1, " vs ")) {
            const char *line = l;
            while (line > t && line[-1] != '\n') line--;
            long got, other;
            char word[8];
            assert_int_equal(sscanf(line, "%ld vs %ld %7s", &got, &other, word), 3);
            assert_string_equal(word, got == other ? "yes" : "no");
            verdicts++;
            yes += got == other;
        }
        assert_int_equal(verdicts, at == 3 ? 3 : at + 1);
        assert_int_equal(yes, at == 3 ? 0 : 1);
        char tail[32];
        snprintf(tail, sizeof tail, "answer %ld", chosen);
        assert_string_equal(t + trace.len - strlen(tail), tail);
        if (at == 3) assert_non_null(strstr(t, "\nnone\n"));
        strbuf_free(&expr);
        strbuf_free(&trace);
    }
}

static void test_splits_are_disjoint(void **state) {
    (void)state;
    const char *train = test_temp_file("", 0), *held = test_temp_file("", 1);
    assert_int_equal(ember_arith_write_jsonl(train, 1, 4000, false, NULL, NULL), EMBER_OK);
    assert_int_equal(ember_arith_write_jsonl(held, 1, 300, true, NULL, NULL), EMBER_OK);
    size_t nt, nh;
    json_t *t = load_lines(train, &nt), *h = load_lines(held, &nh);
    json_t *seen = json_object();
    for (size_t i = 0; i < nt; i++)
        json_object_set_new(seen, json_string_value(json_object_get(json_array_get(t, i), "expression")), json_true());
    for (size_t i = 0; i < nh; i++) {
        const char *e = json_string_value(json_object_get(json_array_get(h, i), "expression"));
        if (json_object_get(seen, e)) fail_msg("held-out problem %s is in the train split", e);
    }
    json_decref(seen), json_decref(t), json_decref(h);
}

static void test_phrasings_vary(void **state) {
    (void)state;
    const char *path = test_temp_file("", 0);
    assert_int_equal(ember_arith_write_jsonl(path, 5, 300, false, NULL, NULL), EMBER_OK);
    size_t n;
    json_t *arr = load_lines(path, &n);
    int times_sign = 0, star = 0, x = 0, words = 0, minus_sign = 0, forms = 0;
    char firsts[64][16] = {{0}};
    for (size_t i = 0; i < n; i++) {
        const char *q = json_string_value(json_object_get(json_array_get(arr, i), "question"));
        times_sign += strstr(q, "\xc3\x97") != NULL;
        star += strstr(q, "*") != NULL;
        x += strstr(q, " x ") != NULL;
        words += strstr(q, "plus") || strstr(q, "minus") || strstr(q, "times");
        minus_sign += strstr(q, "\xe2\x88\x92") != NULL;
        char first[16] = "";
        sscanf(q, "%15s", first);
        int k = 0;
        while (k < forms && strcmp(firsts[k], first) != 0) k++;
        if (k == forms && forms < 64) snprintf(firsts[forms++], sizeof firsts[0], "%s", first);
    }
    assert_true(times_sign > 0 && star > 0 && x > 0 && words > 0 && minus_sign > 0);
    assert_true(forms >= 10);
    json_decref(arr);
}

static void test_bad_path(void **state) {
    (void)state;
    ember_error err = {0};
    assert_int_equal(ember_arith_write_jsonl("/nonexistent/dir/x.jsonl", 1, 3, false, NULL, &err), EMBER_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/dir/x.jsonl"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_and_traces),
        cmocka_unit_test(test_reordered_agents),
        cmocka_unit_test(test_checked_blocks),
        cmocka_unit_test(test_verification),
        cmocka_unit_test(test_splits_are_disjoint),
        cmocka_unit_test(test_phrasings_vary),
        cmocka_unit_test(test_bad_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
