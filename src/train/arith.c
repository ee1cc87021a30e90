/*
 * arith.c — arithmetic problems, their phrasings and their step-by-step traces.
 *
 * The trace is written for a very small model: every token it needs sits at a fixed place a few
 * tokens back, never "the third digit of the number two lines up". Numbers are written without
 * spaces so each digit is one token, and every intermediate value is stated before it is used.
 * A column line first restates what is left of both numbers (their lowest digits struck off), so
 * the next column's digits are the last ones before the operator and before the ':'; after the
 * column's sum it writes the result digits so far, the new one in front, so the value is read
 * off the last line instead of gathered backwards. An addition "47+385":
 *
 *     47+385            the block's header
 *     4+38:7+5=12|2     what is left; units (the sum's tens digit is the carry); digits so far
 *     +3:4+8+1=13|32    tens, with the carry
 *     +:0+3+1=4|432     hundreds (a missing digit is written 0); the last column's whole sum
 *     =432              the digits, leading zeros dropped
 *
 * The earlier layout (style.columns; ember-nano's first stages trained on it) writes the column
 * lines alone ("7+5=12", "4+8+1=13", "0+3+1=4") and reads the digits back at the end, so a
 * column must find its digits by counting back in the header, where that model erred most.
 * A subtraction with a >= b borrows with "1x-y" (ten added) and "-1" on the next column; with
 * a < b it is rewritten "a-b=-(b-a)". The one product is worked first by partial products
 * (23*17: 23*7, then 23*1 shifted, then their sum), the expression is restated with the
 * product's value, and the sums and differences run left to right. A reordered trace (a
 * Contemplating agent's other order of work) writes "=" and the reordered expression under the
 * first line, then works that.
 */
#include "train/arith.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t arith_mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* A small deterministic stream over one problem's draws. */
typedef struct draw {
    uint64_t state;
} draw;

static uint64_t draw_next(draw *d) {
    d->state = arith_mix(d->state);
    return d->state;
}

static int draw_below(draw *d, int n) {
    return (int)(draw_next(d) % (uint64_t)n);
}

/* Operands: a mix of one-, two- and three-digit numbers, so short and long columns both occur. */
static int draw_operand(draw *d, int max_digits) {
    const int r = draw_below(d, 100);
    int digits = r < 15 ? 1 : r < 40 ? 2 : 3;
    if (digits > max_digits) {
        digits = r < 30 ? 1 : max_digits;
    }
    static const int limit[] = {1, 10, 100, 1000};
    return draw_below(d, limit[digits]);
}

static void draw_problem(draw *d, arith_problem *p) {
    const int r = draw_below(d, 100);
    p->n = r < 35 ? 2 : r < 70 ? 3 : 4;
    const int mul_at = draw_below(d, 100) < 50 ? draw_below(d, p->n - 1) : -1;
    for (int i = 0; i < p->n - 1; i++) {
        p->op[i] = i == mul_at ? '*' : draw_below(d, 2) ? '+' : '-';
    }
    for (int i = 0; i < p->n; i++) {
        const bool in_product = i == mul_at || i == mul_at + 1;
        p->v[i] = draw_operand(d, in_product ? 2 : 3);
    }
}

void arith_canonical(const arith_problem *p, strbuf *out) {
    strbuf_printf(out, "%d", p->v[0]);
    for (int i = 1; i < p->n; i++) {
        strbuf_printf(out, " %c %d", p->op[i - 1], p->v[i]);
    }
}

static void compact(const arith_problem *p, strbuf *out) {
    strbuf_printf(out, "%d", p->v[0]);
    for (int i = 1; i < p->n; i++) {
        strbuf_printf(out, "%c%d", p->op[i - 1], p->v[i]);
    }
}

bool arith_is_held_out(const arith_problem *p) {
    uint64_t h = 0x5EEDull;
    for (int i = 0; i < p->n; i++) {
        h = arith_mix(h ^ (uint64_t)(p->v[i] + 1) ^ ((uint64_t)(i < p->n - 1 ? p->op[i] : 0) << 16));
    }
    return h % 16 == 0;
}

void arith_problem_at(uint64_t seed, uint64_t index, bool held_out, arith_problem *p) {
    draw d = {arith_mix(seed * 0x100000001B3ull) ^ arith_mix(index * 2 + (held_out ? 1 : 0))};
    do {
        draw_problem(&d, p);
    } while (arith_is_held_out(p) != held_out);
}

struct tracer;
static int trace_terms(struct tracer *t, const arith_problem *p, bool swap, long *terms, char *signs);

long arith_answer(const arith_problem *p) {
    long terms[ARITH_MAX_OPERANDS];
    char signs[ARITH_MAX_OPERANDS];
    const int n = trace_terms(NULL, p, false, terms, signs);
    long value = terms[0];
    for (int i = 1; i <= n; i++) {
        value = signs[i] == '+' ? value + terms[i] : value - terms[i];
    }
    return value;
}

void arith_answer_text(const arith_problem *p, strbuf *out) {
    arith_canonical(p, out);
    strbuf_printf(out, " = %ld", arith_answer(p));
}

/* ---- questions ----------------------------------------------------------------------- */

static const char *const question_forms[] = {
    "What is %s?", "What's %s?", "what is %s", "Compute %s.", "Calculate %s.", "Evaluate %s.",
    "Work out %s.", "Find %s.", "Find the value of %s.", "%s = ?", "%s =", "%s?",
    "How much is %s?", "Solve %s.", "Please calculate %s.", "Can you compute %s?",
    "Tell me %s.", "What does %s equal?", "What do you get for %s?", "Quick: %s",
    "Give me the result of %s.", "Determine %s.", "What is the value of %s?", "calculate %s",
    "Could you work out %s for me?", "I need the answer to %s.", "%s", "Compute: %s",
};

static const char *pick(draw *d, const char *const *options, int n) {
    return options[draw_below(d, n)];
}

void arith_question(const arith_problem *p, uint64_t variant, strbuf *out) {
    draw d = {arith_mix(variant ^ 0xA5A5A5A5ull)};
    /* One spelling per operator for the whole question, as a person writes. */
    static const char *const plus[] = {"+", "+", "+", "plus"};
    static const char *const minus[] = {"-", "-", "\xe2\x88\x92", "minus"};
    static const char *const times[] = {"\xc3\x97", "*", "x", "times", "\xc3\x97", "*", "multiplied by"};
    const char *sp = pick(&d, plus, 4);
    const char *sm = pick(&d, minus, 4);
    const char *st = pick(&d, times, 7);
    const bool tight = draw_below(&d, 4) == 0; /* "47+385" instead of "47 + 385" */
    strbuf expr = {0};
    strbuf_printf(&expr, "%d", p->v[0]);
    for (int i = 1; i < p->n; i++) {
        const char *word = p->op[i - 1] == '+' ? sp : p->op[i - 1] == '-' ? sm : st;
        const bool symbol = strlen(word) <= 3 && word[0] != 'x';
        strbuf_printf(&expr, tight && symbol ? "%s%d" : " %s %d", word, p->v[i]);
    }
    const int n_forms = (int)(sizeof(question_forms) / sizeof(question_forms[0]));
    strbuf_printf(out, pick(&d, question_forms, n_forms), strbuf_str(&expr));
    strbuf_free(&expr);
}

/* ---- traces ------------------------------------------------------------------------- */

static int digits_of(long v, int *d) {
    int n = 0;
    do {
        d[n++] = (int)(v % 10);
        v /= 10;
    } while (v > 0);
    return n;
}

/* Where a trace is written and in which layout; `d` draws which blocks go on one line. */
typedef struct tracer {
    strbuf *out;
    draw d;
    ember_trace_style style;
} tracer;

/* The local layout's restatement "rest op rest:" before column k (0 = units): both numbers
 * without their lowest k + 1 digits ("" when none are left). */
static void put_rests(const tracer *t, long a, char op, long b, int k) {
    if (t->style.columns) return;
    for (int i = 0; i <= k; i++) a /= 10, b /= 10;
    if (a > 0) strbuf_printf(t->out, "%ld", a);
    strbuf_printf(t->out, "%c", op);
    if (b > 0) strbuf_printf(t->out, "%ld", b);
    strbuf_puts(t->out, ":");
}

/* Ends a column line: in the local layout with "|" and the result digits so far, most
 * significant first (res holds n digits, least significant first). */
static void put_column_end(const tracer *t, const int *res, int n) {
    if (!t->style.columns) {
        strbuf_puts(t->out, "|");
        for (int i = n - 1; i >= 0; i--) strbuf_printf(t->out, "%d", res[i]);
    }
    strbuf_puts(t->out, "\n");
}

/* The value line "=N": the result digits, leading zeros dropped. */
static void put_value(strbuf *out, const int *res, int n) {
    while (n > 1 && res[n - 1] == 0) n--;
    strbuf_puts(out, "=");
    for (int i = n - 1; i >= 0; i--) strbuf_printf(out, "%d", res[i]);
    strbuf_puts(out, "\n");
}

/* a+b for a, b >= 0, column by column; the last column's carry is its sum's tens digit. */
static long trace_add(const tracer *t, long a, long b) {
    int da[8] = {0}, db[8] = {0}, res[9] = {0};
    const int na = digits_of(a, da), nb = digits_of(b, db);
    const int n = na > nb ? na : nb;
    strbuf_printf(t->out, "%ld+%ld\n", a, b);
    int carry = 0;
    for (int i = 0; i < n; i++) {
        const int s = da[i] + db[i] + carry;
        put_rests(t, a, '+', b, i);
        strbuf_printf(t->out, carry ? "%d+%d+1=%d" : "%d+%d=%d", da[i], db[i], s);
        res[i] = s % 10;
        carry = s / 10;
        const bool whole = i == n - 1 && carry; /* the last column writes its whole sum */
        if (whole) res[n] = carry;
        put_column_end(t, res, whole ? n + 1 : i + 1);
    }
    put_value(t->out, res, n + (carry ? 1 : 0));
    return a + b;
}

/* a-b for a >= b >= 0, column by column with borrows. */
static long trace_sub(const tracer *t, long a, long b) {
    int da[8] = {0}, db[8] = {0}, res[8] = {0};
    const int n = digits_of(a, da);
    digits_of(b, db);
    strbuf_printf(t->out, "%ld-%ld\n", a, b);
    int borrow = 0;
    for (int i = 0; i < n; i++) {
        const int x = da[i] - borrow;
        const bool lend = x < db[i];
        const int r = x + (lend ? 10 : 0) - db[i];
        put_rests(t, a, '-', b, i);
        strbuf_printf(t->out, "%s%d-%d%s=%d", lend ? "1" : "", da[i], db[i], borrow ? "-1" : "", r);
        res[i] = r;
        put_column_end(t, res, i + 1);
        borrow = lend;
    }
    put_value(t->out, res, n);
    return a - b;
}

/* a*b for 0 <= a, b <= 99: one partial product per digit of b, then their sum. */
static long trace_mul(const tracer *t, long a, long b) {
    int da[4] = {0}, db[4] = {0};
    const int na = digits_of(a, da), nb = digits_of(b, db);
    strbuf_printf(t->out, "%ld*%ld\n", a, b);
    long partial[2] = {0, 0};
    for (int j = 0; j < nb; j++) {
        int res[4] = {0};
        strbuf_printf(t->out, "%ld*%d\n", a, db[j]);
        int carry = 0;
        for (int i = 0; i < na; i++) {
            const int s = da[i] * db[j] + carry;
            if (carry) strbuf_printf(t->out, "%d*%d+%d=%d", da[i], db[j], carry, s);
            else strbuf_printf(t->out, "%d*%d=%d", da[i], db[j], s);
            res[i] = s % 10;
            carry = s / 10;
            const bool whole = i == na - 1 && carry;
            if (whole) res[na] = carry;
            put_column_end(t, res, whole ? na + 1 : i + 1);
        }
        put_value(t->out, res, na + (carry ? 1 : 0));
        partial[j] = a * db[j];
        if (j == 1) {
            partial[1] *= 10;
            strbuf_printf(t->out, "=%ld\n", partial[1]);
        }
    }
    if (nb == 2) {
        trace_add(t, partial[0], partial[1]);
    }
    return a * b;
}

/* a op b (op '+', '-' with a >= b, or '*'): column by column, or a share of the blocks
 * (style.terse_pct, drawn per block) on one line ("47+385=432") - the short form expert
 * iteration can learn to keep where it is right; then perhaps a check, the redundant thought
 * it can learn to drop. */
static long trace_block(tracer *t, long a, char op, long b) {
    long r;
    if (t->style.terse_pct > 0 && draw_below(&t->d, 100) < t->style.terse_pct) {
        r = op == '+' ? a + b : op == '-' ? a - b : a * b;
        strbuf_printf(t->out, "%ld%c%ld=%ld\n", a, op, b, r);
    } else {
        r = op == '+' ? trace_add(t, a, b) : op == '-' ? trace_sub(t, a, b) : trace_mul(t, a, b);
    }
    /* a share of the blocks (style.check_pct) checked by the inverse block: r-b, r+b or b*a */
    if (t->style.check_pct > 0 && draw_below(&t->d, 100) < t->style.check_pct) {
        strbuf_puts(t->out, "check\n");
        if (op == '+') trace_sub(t, r, b);
        else if (op == '-') trace_add(t, r, b);
        else trace_mul(t, b, a);
        strbuf_printf(t->out, "ok %ld\n", r);
    }
    return r;
}

/* s op v with a signed running value s and v >= 0; writes the rewrite line when signs demand. */
static long trace_step(tracer *t, long s, char op, long v) {
    strbuf *out = t->out;
    if (s >= 0 && op == '+') {
        return trace_block(t, s, '+', v);
    }
    if (s >= 0) { /* s - v */
        if (s >= v) {
            return trace_block(t, s, '-', v);
        }
        strbuf_printf(out, "%ld-%ld=-(%ld-%ld)\n", s, v, v, s);
        const long r = trace_block(t, v, '-', s);
        strbuf_printf(out, "=-%ld\n", r);
        return -r;
    }
    const long m = -s;
    if (op == '-') {
        strbuf_printf(out, "-%ld-%ld=-(%ld+%ld)\n", m, v, m, v);
        const long r = trace_block(t, m, '+', v);
        strbuf_printf(out, "=-%ld\n", r);
        return -r;
    }
    strbuf_printf(out, "-%ld+%ld=%ld-%ld\n", m, v, v, m);
    if (v >= m) {
        return trace_block(t, v, '-', m);
    }
    strbuf_printf(out, "%ld-%ld=-(%ld-%ld)\n", v, m, m, v);
    const long r = trace_block(t, m, '-', v);
    strbuf_printf(out, "=-%ld\n", r);
    return -r;
}

void arith_reordered(const arith_problem *p, arith_problem *q) {
    /* the additive terms as operand ranges [first, last] with their signs */
    int first[ARITH_MAX_OPERANDS], last[ARITH_MAX_OPERANDS];
    char sign[ARITH_MAX_OPERANDS];
    int n = 0;
    first[0] = last[0] = 0, sign[0] = '+';
    for (int i = 1; i < p->n; i++) {
        if (p->op[i - 1] == '*') {
            last[n] = i;
        } else {
            n++;
            first[n] = last[n] = i, sign[n] = p->op[i - 1];
        }
    }
    q->n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = n; k >= 0; k--) {
            if ((sign[k] == '+') != (pass == 0)) continue;
            for (int i = last[k]; i >= first[k]; i--) {
                if (q->n > 0) q->op[q->n - 1] = i < last[k] ? '*' : sign[k];
                q->v[q->n++] = p->v[i];
            }
        }
    }
}

bool arith_agent_reorders(ember_trace_style style, int approach_index) {
    return style.reorder_agents && approach_index % 2 == 1;
}

/* The expression's additive terms (terms[0] the first) and the sign before each (signs[0] is
 * '+'), each product worked in the trace where it stands (its factors swapped when `swap`;
 * t NULL: computed, not traced); returns the index of the last term. */
static int trace_terms(tracer *t, const arith_problem *p, bool swap, long *terms, char *signs) {
    int n = 0;
    terms[0] = p->v[0];
    signs[0] = '+';
    for (int i = 1; i < p->n; i++) {
        if (p->op[i - 1] == '*') {
            terms[n] = !t   ? terms[n] * p->v[i]
                       : swap ? trace_block(t, p->v[i], '*', terms[n])
                              : trace_block(t, terms[n], '*', p->v[i]);
        } else {
            signs[++n] = p->op[i - 1];
            terms[n] = p->v[i];
        }
    }
    return n;
}

void arith_reasoning(const arith_problem *p, ember_trace_style style, uint64_t variant, bool reordered,
                     strbuf *out) {
    tracer t = {out, {arith_mix(variant ^ 0x7E25Eull)}, style};
    long terms[ARITH_MAX_OPERANDS];
    char signs[ARITH_MAX_OPERANDS];
    compact(p, out);
    strbuf_puts(out, "\n");
    arith_problem other;
    if (reordered) {
        arith_reordered(p, &other);
        p = &other;
        strbuf_puts(out, "=");
        compact(p, out);
        strbuf_puts(out, "\n");
    }
    const int n = trace_terms(&t, p, false, terms, signs);
    const bool product = n + 1 < p->n;
    long s = terms[0];
    for (int i = 1; i <= n; i++) {
        if (n - i >= 1 && (i > 1 || product)) {
            /* two or more steps left: restate them with the values known so far */
            strbuf_printf(out, "%ld", s);
            for (int k = i; k <= n; k++) {
                strbuf_printf(out, "%c%ld", signs[k], terms[k]);
            }
            strbuf_puts(out, "\n");
        }
        s = trace_step(&t, s, signs[i], terms[i]);
    }
    strbuf_printf(out, "answer %ld", s);
}

/* One side of a verification: its terms summed by blocks when there are several, then the
 * side's line ("plus 145"); 0 with no terms. */
static long verify_side(tracer *t, const char *name, const long *terms, int n) {
    long s = n > 0 ? terms[0] : 0;
    for (int i = 1; i < n; i++) s = trace_block(t, s, '+', terms[i]);
    strbuf_printf(t->out, "%s %ld\n", name, s);
    return s;
}

long arith_verification(const arith_problem *p, const long *candidates, int n, long fallback, ember_trace_style style,
                        uint64_t variant, strbuf *out) {
    style.check_pct = 0;
    tracer t = {out, {arith_mix(variant ^ 0x5E21F1ull)}, style};
    long terms[ARITH_MAX_OPERANDS], added[ARITH_MAX_OPERANDS], subtracted[ARITH_MAX_OPERANDS];
    char signs[ARITH_MAX_OPERANDS];
    int n_added = 0, n_subtracted = 0;
    compact(p, out);
    strbuf_puts(out, "\n");
    /* the product worked with its factors swapped: another path than the agents' */
    const int last = trace_terms(&t, p, true, terms, signs);
    for (int k = 0; k <= last; k++) {
        if (signs[k] == '+') added[n_added++] = terms[k];
        else subtracted[n_subtracted++] = terms[k];
    }
    const long plus = verify_side(&t, "plus", added, n_added);
    const long minus = verify_side(&t, "minus", subtracted, n_subtracted);
    for (int i = 0; i < n; i++) {
        const long c = candidates[i];
        /* c = plus - minus  <=>  minus + c = plus (c >= 0)  or  plus + |c| = minus (c < 0) */
        const long base = c >= 0 ? minus : plus, other = c >= 0 ? plus : minus, add = c >= 0 ? c : -c;
        strbuf_printf(out, "check %ld\n", c);
        const long got = base == 0 ? add : add == 0 ? base : trace_block(&t, base, '+', add);
        const bool same = got == other;
        strbuf_printf(out, "%ld vs %ld %s\n", got, other, same ? "yes" : "no");
        if (same) {
            strbuf_printf(out, "answer %ld", c);
            return c;
        }
    }
    strbuf_printf(out, "none\nanswer %ld", fallback);
    return fallback;
}

arith_step arith_step_of(const char *text) {
    char line[160], tail;
    const char *colon = strchr(text, ':');
    snprintf(line, sizeof line, "%s", colon ? colon + 1 : text);
    line[strcspn(line, "|")] = '\0';
    int a, b, k, c;
    bool column = true, right = false;
    long x, y, z;
    char op;
    if (sscanf(line, "%d+%d+%d=%d%c", &a, &b, &k, &c, &tail) == 4 && a < 10 && b < 10) right = a + b + k == c;
    else if (sscanf(line, "%d+%d=%d%c", &a, &b, &c, &tail) == 3 && a < 10 && b < 10) right = a + b == c;
    else if (sscanf(line, "%d*%d+%d=%d%c", &a, &b, &k, &c, &tail) == 4 && a < 10) right = a * b + k == c;
    else if (sscanf(line, "%d*%d=%d%c", &a, &b, &c, &tail) == 3 && a < 10) right = a * b == c;
    else if (sscanf(line, "%d-%d-1=%d%c", &a, &b, &c, &tail) == 3 && a < 20) right = a - b - 1 == c && c >= 0;
    else if (sscanf(line, "%d-%d=%d%c", &a, &b, &c, &tail) == 3 && a < 20) right = a - b == c && c >= 0;
    else if (sscanf(line, "%ld%c%ld=%ld%c", &x, &op, &y, &z, &tail) == 4 && strchr("+-*", op))
        column = false, right = (op == '+' ? x + y : op == '-' ? x - y : x * y) == z;
    else
        return ARITH_NO_STEP;
    return !right ? ARITH_FALSE_STEP : column ? ARITH_COLUMN : ARITH_BLOCK;
}

bool arith_trace_is_true(const char *reasoning) {
    for (const char *line = reasoning; line && *line;) {
        const char *end = strchr(line, '\n');
        const size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[160];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        if (arith_step_of(buf) == ARITH_FALSE_STEP) return false;
        line = end ? end + 1 : NULL;
    }
    return true;
}
