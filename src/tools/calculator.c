/*
 * calculator.c — the calculator tool: a recursive-descent parser that evaluates as it parses,
 * on exact rationals while it can and on MPFR floats when it must (see calculator.h).
 *
 * Grammar (whitespace between tokens is ignored):
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/' | '%') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := postfix (('^' | '**') unary)?          right-associative; -2^2 = -4
 *   postfix := primary '!'*
 *   primary := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
 *   NUMBER  := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits]   (also ".5"); exact
 *
 * Every error names its 1-based byte position in the expression. One evaluation owns all of
 * its numbers; nothing outlives tool_calc_evaluate but the strings of the result.
 */
#include "tools/calculator.h"
#include "core/clock.h"

#include <gmp.h>
#include <mpfr.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    MAX_DEPTH = 200,                 /* nesting of parentheses, calls and unary operators */
    MAX_EXACT_BITS = 1 << 22,        /* an exact value larger than this becomes approximate */
    MAX_FACTORIAL = 100000,          /* largest n computed exactly as n! */
    MAX_DECIMAL_EXPONENT = 100000,   /* 1e±N literals beyond this are read approximately */
    MAX_OUTPUT_DIGITS = 20000,       /* exact results longer than this are shown rounded */
    MAX_TRIG_EXPONENT = 20000,       /* |x| >= 2^this is refused by sin/cos/tan */
    GUARD_BITS = 64,
};

/* A number: exact (q is valid) or approximate (f is valid). Both parts are always
 * initialized so that any number can be cleared the same way. */
typedef struct num {
    bool exact;
    mpq_t q;
    mpfr_t f;
} num;

typedef struct calc {
    const char *s;          /* the expression */
    size_t len;
    size_t pos;             /* next byte to read */
    mpfr_prec_t prec;       /* working precision of approximate values */
    int depth;
    double deadline;        /* monotonic seconds, 0 = none */
    unsigned steps;
    bool failed;
    char err[256];
} calc;

__attribute__((format(printf, 3, 4)))
static bool fail_at(calc *c, size_t pos, const char *fmt, ...) {
    if (c->failed) return false;
    c->failed = true;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, sizeof c->err, "%s at position %zu", msg, pos + 1);
    return false;
}

static void num_init(calc *c, num *n) {
    n->exact = true;
    mpq_init(n->q);
    mpfr_init2(n->f, c->prec);
}

static void num_clear(num *n) {
    mpq_clear(n->q);
    mpfr_clear(n->f);
}

static void num_swap(num *a, num *b) {
    bool e = a->exact;
    a->exact = b->exact;
    b->exact = e;
    mpq_swap(a->q, b->q);
    mpfr_swap(a->f, b->f);
}

/* The value as a float (exact values are rounded into `out`). */
static void num_to_real(const num *n, mpfr_t out) {
    if (n->exact) mpfr_set_q(out, n->q, MPFR_RNDN);
    else mpfr_set(out, n->f, MPFR_RNDN);
}

static void num_make_approx(num *n) {
    if (!n->exact) return;
    mpfr_set_q(n->f, n->q, MPFR_RNDN);
    n->exact = false;
}

static int num_sgn(const num *n) { return n->exact ? mpq_sgn(n->q) : mpfr_sgn(n->f); }

static bool num_is_integer(const num *n) {
    return n->exact ? mpz_cmp_ui(mpq_denref(n->q), 1) == 0 : mpfr_integer_p(n->f) != 0;
}

/* Compares two numbers (exact against exact stays exact). */
static int num_cmp(const num *a, const num *b) {
    if (a->exact && b->exact) return mpq_cmp(a->q, b->q);
    if (a->exact) return -mpfr_cmp_q(b->f, a->q);
    if (b->exact) return mpfr_cmp_q(a->f, b->q);
    return mpfr_cmp(a->f, b->f);
}

/* After every operation: exact values that grew too large continue approximately; an
 * approximate NaN or infinity is an error. */
static bool num_check(calc *c, num *n, size_t pos) {
    if (n->exact) {
        size_t bits = mpz_sizeinbase(mpq_numref(n->q), 2) + mpz_sizeinbase(mpq_denref(n->q), 2);
        if (bits > MAX_EXACT_BITS) num_make_approx(n);
    }
    if (!n->exact) {
        if (mpfr_nan_p(n->f)) return fail_at(c, pos, "result is not a real number");
        if (mpfr_inf_p(n->f)) return fail_at(c, pos, "result overflows");
    }
    if (c->deadline > 0 && (++c->steps & 63) == 0 && ember_now_s() > c->deadline)
        return fail_at(c, pos, "evaluation timed out");
    return true;
}

/* ---- lexing ------------------------------------------------------------------------ */

static void skip_space(calc *c) {
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
                               c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
        c->pos++;
}

static int peek(calc *c) {
    skip_space(c);
    return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static bool accept(calc *c, const char *tok) {
    skip_space(c);
    size_t n = strlen(tok);
    if (c->len - c->pos >= n && memcmp(c->s + c->pos, tok, n) == 0) {
        c->pos += n;
        return true;
    }
    return false;
}

static bool is_digit(int ch) { return ch >= '0' && ch <= '9'; }
static bool is_name_start(int ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}
static bool is_name_char(int ch) { return is_name_start(ch) || is_digit(ch); }

/* A description of the byte at pos for error messages. */
static const char *describe(calc *c, size_t pos, char buf[16]) {
    if (pos >= c->len) return "end of input";
    unsigned char ch = (unsigned char)c->s[pos];
    if (ch >= 0x21 && ch < 0x7f) snprintf(buf, 16, "'%c'", ch);
    else snprintf(buf, 16, "byte 0x%02x", ch);
    return buf;
}

/* ---- grammar ----------------------------------------------------------------------- */

static bool parse_expr(calc *c, num *out);
static bool parse_unary(calc *c, num *out);

static bool parse_number(calc *c, num *out) {
    size_t start = c->pos, p = c->pos;
    size_t int_start = p;
    while (p < c->len && is_digit(c->s[p])) p++;
    size_t int_end = p, frac_start = p, frac_end = p;
    if (p < c->len && c->s[p] == '.') {
        frac_start = ++p;
        while (p < c->len && is_digit(c->s[p])) p++;
        frac_end = p;
    }
    if (int_end == int_start && frac_end == frac_start)
        return fail_at(c, start, "syntax error: malformed number");
    long exp10 = 0;
    if (p < c->len && (c->s[p] == 'e' || c->s[p] == 'E')) {
        size_t q = p + 1;
        bool neg = false;
        if (q < c->len && (c->s[q] == '+' || c->s[q] == '-')) neg = c->s[q++] == '-';
        if (q < c->len && is_digit(c->s[q])) {
            while (q < c->len && is_digit(c->s[q])) {
                if (exp10 < 100000000) exp10 = exp10 * 10 + (c->s[q] - '0');
                q++;
            }
            if (neg) exp10 = -exp10;
            p = q;
        }
        /* "2e" or "2ex": the e is not an exponent; leave it for the caller to reject. */
    }
    c->pos = p;

    /* digits = integer part followed by fraction part; value = digits * 10^(exp10 - nfrac) */
    size_t n_int = int_end - int_start, n_frac = frac_end - frac_start;
    long scale = exp10 - (long)n_frac;
    if (scale > MAX_DECIMAL_EXPONENT || scale < -MAX_DECIMAL_EXPONENT) {
        char *lit = strndup(c->s + start, p - start);
        if (!lit) return fail_at(c, start, "out of memory");
        mpfr_strtofr(out->f, lit, NULL, 10, MPFR_RNDN);
        free(lit);
        out->exact = false;
        return num_check(c, out, start);
    }
    char *digits = malloc(n_int + n_frac + 2);
    if (!digits) return fail_at(c, start, "out of memory");
    memcpy(digits, c->s + int_start, n_int);
    memcpy(digits + n_int, c->s + frac_start, n_frac);
    digits[n_int + n_frac] = '\0';
    if (n_int + n_frac == 0) strcpy(digits, "0");
    mpz_set_str(mpq_numref(out->q), digits, 10);
    free(digits);
    mpz_set_ui(mpq_denref(out->q), 1);
    mpz_t pow10;
    mpz_init(pow10);
    mpz_ui_pow_ui(pow10, 10, (unsigned long)(scale < 0 ? -scale : scale));
    if (scale >= 0) mpz_mul(mpq_numref(out->q), mpq_numref(out->q), pow10);
    else mpz_set(mpq_denref(out->q), pow10);
    mpz_clear(pow10);
    mpq_canonicalize(out->q);
    out->exact = true;
    return num_check(c, out, start);
}

/* ---- arithmetic -------------------------------------------------------------------- */

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD } binop;

/* An approximate result within a few bits of the rounding noise of inputs of magnitude
 * 2^scale (all of its bits lost to cancellation, as in sin(pi) or exp(ln(2)) - 2) is zero
 * as far as the working precision can tell: make it zero. NOISE_BITS allows for noise that
 * accumulated over earlier operations. */
static void flush_noise(calc *c, mpfr_t x, mpfr_exp_t scale) {
    enum { NOISE_BITS = 16 };
    if (mpfr_regular_p(x) && mpfr_get_exp(x) < scale - (mpfr_exp_t)(c->prec - NOISE_BITS))
        mpfr_set_zero(x, 1);
}

static bool apply_binop(calc *c, binop op, num *a, num *b, size_t pos) {
    if ((op == OP_DIV || op == OP_MOD) && num_sgn(b) == 0)
        return fail_at(c, pos, op == OP_DIV ? "division by zero" : "modulo by zero");
    if (a->exact && b->exact) {
        switch (op) {
        case OP_ADD: mpq_add(a->q, a->q, b->q); break;
        case OP_SUB: mpq_sub(a->q, a->q, b->q); break;
        case OP_MUL: mpq_mul(a->q, a->q, b->q); break;
        case OP_DIV: mpq_div(a->q, a->q, b->q); break;
        case OP_MOD: {
            /* a - b * floor(a / b): the result has the sign of b, as in Python. */
            mpq_t t;
            mpz_t f;
            mpq_init(t);
            mpz_init(f);
            mpq_div(t, a->q, b->q);
            mpz_fdiv_q(f, mpq_numref(t), mpq_denref(t));
            mpq_set_z(t, f);
            mpq_mul(t, t, b->q);
            mpq_sub(a->q, a->q, t);
            mpq_clear(t);
            mpz_clear(f);
            break;
        }
        }
        return num_check(c, a, pos);
    }
    num_make_approx(a);
    mpfr_t y;
    mpfr_init2(y, c->prec);
    num_to_real(b, y);
    /* The larger input's magnitude, for the cancellation check below. */
    mpfr_exp_t big = mpfr_zero_p(a->f) ? mpfr_get_exp(y)
                   : mpfr_zero_p(y) ? mpfr_get_exp(a->f)
                   : mpfr_get_exp(a->f) > mpfr_get_exp(y) ? mpfr_get_exp(a->f) : mpfr_get_exp(y);
    switch (op) {
    case OP_ADD: mpfr_add(a->f, a->f, y, MPFR_RNDN); break;
    case OP_SUB: mpfr_sub(a->f, a->f, y, MPFR_RNDN); break;
    case OP_MUL: mpfr_mul(a->f, a->f, y, MPFR_RNDN); break;
    case OP_DIV: mpfr_div(a->f, a->f, y, MPFR_RNDN); break;
    case OP_MOD: {
        mpfr_t t;
        mpfr_init2(t, c->prec);
        mpfr_div(t, a->f, y, MPFR_RNDN);
        mpfr_floor(t, t);
        mpfr_mul(t, t, y, MPFR_RNDN);
        mpfr_sub(a->f, a->f, t, MPFR_RNDN);
        mpfr_clear(t);
        break;
    }
    }
    if (op == OP_ADD || op == OP_SUB) flush_noise(c, a->f, big);
    mpfr_clear(y);
    return num_check(c, a, pos);
}

/* q^e for an exact rational and a machine integer, if the result stays a sane size. */
static bool pow_exact_int(mpq_t r, const mpq_t q, long e) {
    unsigned long ue = e < 0 ? (unsigned long)(-(e + 1)) + 1 : (unsigned long)e;
    size_t bits = mpz_sizeinbase(mpq_numref(q), 2) + mpz_sizeinbase(mpq_denref(q), 2);
    if (mpq_sgn(q) != 0 && (mpz_cmpabs_ui(mpq_numref(q), 1) != 0 ||
                            mpz_cmp_ui(mpq_denref(q), 1) != 0)) {
        if (ue != 0 && bits > MAX_EXACT_BITS / ue) return false;
    }
    mpz_pow_ui(mpq_numref(r), mpq_numref(q), ue);
    mpz_pow_ui(mpq_denref(r), mpq_denref(q), ue);
    mpq_canonicalize(r);
    if (e < 0) mpq_inv(r, r);
    return true;
}

/* The exact root of a rational: r = q^(1/k), if one exists (k >= 2, q >= 0 or k odd). */
static bool root_exact(mpq_t r, const mpq_t q, unsigned long k) {
    mpz_t n, d;
    mpz_init(n);
    mpz_init(d);
    bool ok = mpz_root(n, mpq_numref(q), k) != 0 && mpz_root(d, mpq_denref(q), k) != 0;
    if (ok) {
        mpz_set(mpq_numref(r), n);
        mpz_set(mpq_denref(r), d);
        mpq_canonicalize(r);
    }
    mpz_clear(n);
    mpz_clear(d);
    return ok;
}

static bool apply_pow(calc *c, num *a, num *b, size_t pos) {
    if (a->exact && b->exact) {
        int sa = mpq_sgn(a->q);
        if (sa == 0 && mpq_sgn(b->q) < 0)
            return fail_at(c, pos, "division by zero (0 to a negative power)");
        if (sa == 0 && mpq_sgn(b->q) == 0) {  /* 0^0 = 1, as in most languages */
            mpq_set_ui(a->q, 1, 1);
            return true;
        }
        if (sa == 0) return true;
        bool unit = mpz_cmp_ui(mpq_denref(a->q), 1) == 0 && mpz_cmpabs_ui(mpq_numref(a->q), 1) == 0;
        if (mpz_cmp_ui(mpq_denref(b->q), 1) == 0) {  /* integer exponent */
            if (unit) {
                if (sa < 0 && mpz_even_p(mpq_numref(b->q))) mpq_set_ui(a->q, 1, 1);
                return true;
            }
            if (mpz_fits_slong_p(mpq_numref(b->q))) {
                mpq_t r;
                mpq_init(r);
                bool ok = pow_exact_int(r, a->q, mpz_get_si(mpq_numref(b->q)));
                if (ok) mpq_swap(a->q, r);
                mpq_clear(r);
                if (ok) return num_check(c, a, pos);
            }
        } else if (mpz_fits_slong_p(mpq_numref(b->q)) && mpz_fits_ulong_p(mpq_denref(b->q))) {
            /* p/k exponent: exact when a has an exact k-th root. */
            unsigned long k = mpz_get_ui(mpq_denref(b->q));
            if (sa < 0 && k % 2 == 0)
                return fail_at(c, pos, "result is not a real number (even root of a negative number)");
            mpq_t r;
            mpq_init(r);
            bool ok = k <= 4096 && root_exact(r, a->q, k);
            if (ok) {
                ok = pow_exact_int(r, r, mpz_get_si(mpq_numref(b->q)));
                if (ok) mpq_swap(a->q, r);
            }
            mpq_clear(r);
            if (ok) return num_check(c, a, pos);
        }
    }
    /* Approximate. A negative base is real only for an integer exponent or, when the
     * exponent is an exact fraction with odd denominator, as the real odd root. */
    int sign = 1;
    mpfr_t x, y;
    mpfr_init2(x, c->prec);
    mpfr_init2(y, c->prec);
    num_to_real(a, x);
    num_to_real(b, y);
    if (mpfr_sgn(x) < 0 && !mpfr_integer_p(y)) {
        if (b->exact && mpz_odd_p(mpq_denref(b->q))) {
            mpfr_neg(x, x, MPFR_RNDN);
            if (mpz_odd_p(mpq_numref(b->q))) sign = -1;
        } else {
            mpfr_clear(x);
            mpfr_clear(y);
            return fail_at(c, pos, "result is not a real number (negative base, fractional power)");
        }
    }
    if (mpfr_zero_p(x) && mpfr_sgn(y) < 0) {
        mpfr_clear(x);
        mpfr_clear(y);
        return fail_at(c, pos, "division by zero (0 to a negative power)");
    }
    a->exact = false;
    mpfr_pow(a->f, x, y, MPFR_RNDN);
    if (sign < 0) mpfr_neg(a->f, a->f, MPFR_RNDN);
    mpfr_clear(x);
    mpfr_clear(y);
    return num_check(c, a, pos);
}

static bool apply_factorial(calc *c, num *a, size_t pos) {
    if (num_is_integer(a)) {
        if (num_sgn(a) < 0) return fail_at(c, pos, "factorial of a negative integer is undefined");
        if (a->exact && mpz_cmp_ui(mpq_numref(a->q), MAX_FACTORIAL) <= 0) {
            mpz_fac_ui(mpq_numref(a->q), mpz_get_ui(mpq_numref(a->q)));
            return num_check(c, a, pos);
        }
    }
    /* n! = Gamma(n + 1) for large or non-integer n. */
    num_make_approx(a);
    mpfr_add_ui(a->f, a->f, 1, MPFR_RNDN);
    if (mpfr_integer_p(a->f) && mpfr_sgn(a->f) <= 0)
        return fail_at(c, pos, "factorial of a negative integer is undefined");
    if (mpfr_get_exp(a->f) > 64) return fail_at(c, pos, "result overflows");
    mpfr_gamma(a->f, a->f, MPFR_RNDN);
    return num_check(c, a, pos);
}

/* ---- functions and constants ------------------------------------------------------- */

typedef enum {
    F_SQRT, F_CBRT, F_ROOT, F_EXP, F_LN, F_LOG, F_LOG10, F_LOG2, F_SIN, F_COS, F_TAN, F_ASIN,
    F_ACOS, F_ATAN, F_ATAN2, F_SINH, F_COSH, F_TANH, F_POW, F_FACT, F_ABS, F_MIN, F_MAX,
    F_FLOOR, F_CEIL, F_ROUND, F_TRUNC, F_MOD, F_GCD, F_LCM,
} func_id;

typedef struct func_def {
    const char *name;
    func_id id;
    int min_args, max_args;   /* max_args < 0: any number */
} func_def;

static const func_def funcs[] = {
    {"sqrt", F_SQRT, 1, 1},   {"cbrt", F_CBRT, 1, 1},    {"root", F_ROOT, 2, 2},
    {"exp", F_EXP, 1, 1},     {"ln", F_LN, 1, 1},        {"log", F_LOG, 1, 2},
    {"log10", F_LOG10, 1, 1}, {"log2", F_LOG2, 1, 1},    {"sin", F_SIN, 1, 1},
    {"cos", F_COS, 1, 1},     {"tan", F_TAN, 1, 1},      {"asin", F_ASIN, 1, 1},
    {"acos", F_ACOS, 1, 1},   {"atan", F_ATAN, 1, 1},    {"atan2", F_ATAN2, 2, 2},
    {"sinh", F_SINH, 1, 1},   {"cosh", F_COSH, 1, 1},    {"tanh", F_TANH, 1, 1},
    {"pow", F_POW, 2, 2},     {"factorial", F_FACT, 1, 1}, {"fact", F_FACT, 1, 1},
    {"abs", F_ABS, 1, 1},     {"min", F_MIN, 1, -1},     {"max", F_MAX, 1, -1},
    {"floor", F_FLOOR, 1, 1}, {"ceil", F_CEIL, 1, 1},    {"round", F_ROUND, 1, 1},
    {"trunc", F_TRUNC, 1, 1}, {"mod", F_MOD, 2, 2},      {"gcd", F_GCD, 2, -1},
    {"lcm", F_LCM, 2, -1},
};

/* log_b(x) exactly, when x and b are exact, b is an integer >= 2 and x = b^k for an
 * integer k (positive or negative). */
static bool log_exact(mpq_t r, const mpq_t x, const mpq_t b) {
    if (mpq_sgn(x) <= 0 || mpz_cmp_ui(mpq_denref(b), 1) != 0 || mpz_cmp_ui(mpq_numref(b), 2) < 0)
        return false;
    bool inverse = mpz_cmp_ui(mpq_numref(x), 1) == 0;
    if (!inverse && mpz_cmp_ui(mpq_denref(x), 1) != 0) return false;
    mpz_t v;
    mpz_init_set(v, inverse ? mpq_denref(x) : mpq_numref(x));
    long k = 0;
    while (mpz_cmp_ui(v, 1) > 0 && mpz_divisible_p(v, mpq_numref(b))) {
        mpz_divexact(v, v, mpq_numref(b));
        k++;
    }
    bool ok = mpz_cmp_ui(v, 1) == 0;
    mpz_clear(v);
    if (ok) mpq_set_si(r, inverse ? -k : k, 1);
    return ok;
}

static bool apply_round(calc *c, func_id id, num *a, size_t pos) {
    if (a->exact) {
        mpz_t z;
        mpz_init(z);
        mpz_ptr n = mpq_numref(a->q), d = mpq_denref(a->q);
        switch (id) {
        case F_FLOOR: mpz_fdiv_q(z, n, d); break;
        case F_CEIL: mpz_cdiv_q(z, n, d); break;
        case F_TRUNC: mpz_tdiv_q(z, n, d); break;
        default: {  /* round half away from zero: floor(|x| + 1/2) with the sign of x */
            mpq_t t;
            mpq_init(t);
            mpq_abs(t, a->q);
            mpq_t half;
            mpq_init(half);
            mpq_set_ui(half, 1, 2);
            mpq_add(t, t, half);
            mpz_fdiv_q(z, mpq_numref(t), mpq_denref(t));
            if (mpq_sgn(a->q) < 0) mpz_neg(z, z);
            mpq_clear(t);
            mpq_clear(half);
        }
        }
        mpq_set_z(a->q, z);
        mpz_clear(z);
        return true;
    }
    switch (id) {
    case F_FLOOR: mpfr_floor(a->f, a->f); break;
    case F_CEIL: mpfr_ceil(a->f, a->f); break;
    case F_TRUNC: mpfr_trunc(a->f, a->f); break;
    default: mpfr_round(a->f, a->f); break;
    }
    /* An integral float small enough to be exact becomes exact again. */
    if (mpfr_get_exp(a->f) < (mpfr_exp_t)c->prec) {
        mpz_t z;
        mpz_init(z);
        mpfr_get_z(z, a->f, MPFR_RNDN);
        mpq_set_z(a->q, z);
        mpz_clear(z);
        a->exact = true;
    }
    return num_check(c, a, pos);
}

static bool integer_args(calc *c, num *args, int n, size_t pos, const char *name) {
    for (int i = 0; i < n; i++)
        if (!args[i].exact || mpz_cmp_ui(mpq_denref(args[i].q), 1) != 0)
            return fail_at(c, pos, "%s needs exact integers", name);
    return true;
}

/* Applies function `def` to args[0..n); the result goes to args[0]. */
static bool apply_func(calc *c, const func_def *def, num *args, int n, size_t pos) {
    num *a = &args[0];
    switch (def->id) {
    case F_POW: return apply_pow(c, a, &args[1], pos);
    case F_FACT: return apply_factorial(c, a, pos);
    case F_MOD: return apply_binop(c, OP_MOD, a, &args[1], pos);
    case F_ABS:
        if (a->exact) mpq_abs(a->q, a->q);
        else mpfr_abs(a->f, a->f, MPFR_RNDN);
        return true;
    case F_MIN:
    case F_MAX:
        for (int i = 1; i < n; i++) {
            int cmp = num_cmp(&args[i], a);
            if ((def->id == F_MIN && cmp < 0) || (def->id == F_MAX && cmp > 0)) num_swap(a, &args[i]);
        }
        return true;
    case F_FLOOR: case F_CEIL: case F_ROUND: case F_TRUNC:
        return apply_round(c, def->id, a, pos);
    case F_GCD: case F_LCM:
        if (!integer_args(c, args, n, pos, def->name)) return false;
        for (int i = 1; i < n; i++) {
            if (def->id == F_GCD) mpz_gcd(mpq_numref(a->q), mpq_numref(a->q), mpq_numref(args[i].q));
            else mpz_lcm(mpq_numref(a->q), mpq_numref(a->q), mpq_numref(args[i].q));
            if (!num_check(c, a, pos)) return false;
            if (!a->exact) return fail_at(c, pos, "%s result too large", def->name);
        }
        return true;
    case F_SQRT: case F_CBRT: case F_ROOT: {
        unsigned long k = def->id == F_SQRT ? 2 : def->id == F_CBRT ? 3 : 0;
        if (def->id == F_ROOT) {
            num *kn = &args[1];
            if (!kn->exact || mpz_cmp_ui(mpq_denref(kn->q), 1) != 0 ||
                mpz_cmp_ui(mpq_numref(kn->q), 1) < 0 || !mpz_fits_ulong_p(mpq_numref(kn->q)))
                return fail_at(c, pos, "root(x, n) needs a positive integer n");
            k = mpz_get_ui(mpq_numref(kn->q));
        }
        if (k % 2 == 0 && num_sgn(a) < 0)
            return fail_at(c, pos, "%s of a negative number is not real",
                           k == 2 ? "square root" : "even root");
        if (a->exact) {
            mpq_t r;
            mpq_init(r);
            bool ok = k == 1 || (k <= 4096 && root_exact(r, a->q, k));
            if (ok && k != 1) mpq_swap(a->q, r);
            mpq_clear(r);
            if (ok) return true;
        }
        num_make_approx(a);
        if (k == 2) mpfr_sqrt(a->f, a->f, MPFR_RNDN);
        else mpfr_rootn_ui(a->f, a->f, k, MPFR_RNDN);
        return num_check(c, a, pos);
    }
    case F_LN: case F_LOG: case F_LOG10: case F_LOG2: {
        if (num_sgn(a) <= 0) return fail_at(c, pos, "logarithm of a non-positive number");
        mpq_t base;
        mpq_init(base);
        bool have_base = true;
        if (def->id == F_LOG10 || (def->id == F_LOG && n == 1)) mpq_set_ui(base, 10, 1);
        else if (def->id == F_LOG2) mpq_set_ui(base, 2, 1);
        else if (def->id == F_LN) have_base = false;
        if (def->id == F_LOG && n == 2) {
            num *b = &args[1];
            if (num_sgn(b) <= 0) {
                mpq_clear(base);
                return fail_at(c, pos, "logarithm base must be positive");
            }
            if (b->exact) mpq_set(base, b->q);
            else have_base = false;
            if (!b->exact || mpq_cmp_ui(base, 1, 1) == 0) {
                mpfr_t lb;
                mpfr_init2(lb, c->prec);
                num_to_real(b, lb);
                mpfr_log(lb, lb, MPFR_RNDN);
                if (mpfr_zero_p(lb)) {
                    mpfr_clear(lb);
                    mpq_clear(base);
                    return fail_at(c, pos, "logarithm base must not be 1");
                }
                num_make_approx(a);
                mpfr_log(a->f, a->f, MPFR_RNDN);
                mpfr_div(a->f, a->f, lb, MPFR_RNDN);
                mpfr_clear(lb);
                mpq_clear(base);
                return num_check(c, a, pos);
            }
        }
        if (a->exact && mpq_cmp_ui(a->q, 1, 1) == 0) {  /* log of 1 is 0 in any base */
            mpq_clear(base);
            mpq_set_ui(a->q, 0, 1);
            return true;
        }
        if (a->exact && have_base) {
            mpq_t r;
            mpq_init(r);
            bool ok = log_exact(r, a->q, base);
            if (ok) mpq_swap(a->q, r);
            mpq_clear(r);
            if (ok) {
                mpq_clear(base);
                return true;
            }
        }
        num_make_approx(a);
        if (!have_base) {
            mpfr_log(a->f, a->f, MPFR_RNDN);
        } else if (mpq_cmp_ui(base, 10, 1) == 0) {
            mpfr_log10(a->f, a->f, MPFR_RNDN);
        } else if (mpq_cmp_ui(base, 2, 1) == 0) {
            mpfr_log2(a->f, a->f, MPFR_RNDN);
        } else {
            mpfr_t lb;
            mpfr_init2(lb, c->prec);
            mpfr_set_q(lb, base, MPFR_RNDN);
            mpfr_log(lb, lb, MPFR_RNDN);
            mpfr_log(a->f, a->f, MPFR_RNDN);
            mpfr_div(a->f, a->f, lb, MPFR_RNDN);
            mpfr_clear(lb);
        }
        mpq_clear(base);
        return num_check(c, a, pos);
    }
    case F_ATAN2: {
        mpfr_t x;
        mpfr_init2(x, c->prec);
        num_to_real(&args[1], x);
        num_make_approx(a);
        mpfr_atan2(a->f, a->f, x, MPFR_RNDN);
        mpfr_clear(x);
        return num_check(c, a, pos);
    }
    default:
        break;
    }
    /* One-argument transcendental functions; f(0) = 0 (or 1) stays exact. */
    bool zero = a->exact && mpq_sgn(a->q) == 0;
    if (zero) {
        switch (def->id) {
        case F_EXP: case F_COS: case F_COSH: mpq_set_ui(a->q, 1, 1); return true;
        case F_SIN: case F_TAN: case F_ASIN: case F_ATAN: case F_SINH: case F_TANH: return true;
        default: break;
        }
    }
    num_make_approx(a);
    if ((def->id == F_SIN || def->id == F_COS || def->id == F_TAN) &&
        mpfr_get_exp(a->f) > MAX_TRIG_EXPONENT)
        return fail_at(c, pos, "argument of %s is too large", def->name);
    if ((def->id == F_ASIN || def->id == F_ACOS) && mpfr_cmpabs_ui(a->f, 1) > 0)
        return fail_at(c, pos, "%s argument must be between -1 and 1", def->name);
    /* sin(k pi) and friends: the argument's own rounding sets the noise level. */
    mpfr_exp_t scale = mpfr_regular_p(a->f) ? mpfr_get_exp(a->f) : 0;
    switch (def->id) {
    case F_EXP: mpfr_exp(a->f, a->f, MPFR_RNDN); break;
    case F_SIN: mpfr_sin(a->f, a->f, MPFR_RNDN); flush_noise(c, a->f, scale); break;
    case F_COS: mpfr_cos(a->f, a->f, MPFR_RNDN); flush_noise(c, a->f, scale); break;
    case F_TAN: mpfr_tan(a->f, a->f, MPFR_RNDN); flush_noise(c, a->f, scale); break;
    case F_ASIN: mpfr_asin(a->f, a->f, MPFR_RNDN); break;
    case F_ACOS: mpfr_acos(a->f, a->f, MPFR_RNDN); break;
    case F_ATAN: mpfr_atan(a->f, a->f, MPFR_RNDN); break;
    case F_SINH: mpfr_sinh(a->f, a->f, MPFR_RNDN); break;
    case F_COSH: mpfr_cosh(a->f, a->f, MPFR_RNDN); break;
    case F_TANH: mpfr_tanh(a->f, a->f, MPFR_RNDN); break;
    default: return fail_at(c, pos, "internal error: unhandled function %s", def->name);
    }
    return num_check(c, a, pos);
}

static bool parse_call(calc *c, const func_def *def, size_t name_pos, num *out) {
    /* On the heap: calls nest up to MAX_DEPTH deep on threads with small stacks. */
    enum { MAX_ARGS = 64 };
    num *args = malloc(MAX_ARGS * sizeof *args);
    if (!args) return fail_at(c, name_pos, "out of memory");
    int n = 0;
    bool ok = true;
    if (peek(c) == ')') {
        ok = fail_at(c, c->pos, "%s expects %d argument%s", def->name, def->min_args,
                     def->min_args == 1 ? "" : "s");
    }
    while (ok) {
        if (n == MAX_ARGS) {
            ok = fail_at(c, c->pos, "too many arguments to %s", def->name);
            break;
        }
        num_init(c, &args[n]);
        n++;
        if (!parse_expr(c, &args[n - 1])) {
            ok = false;
            break;
        }
        if (accept(c, ",")) continue;
        if (accept(c, ")")) break;
        char d[16];
        ok = fail_at(c, c->pos, "syntax error: expected ',' or ')' but found %s",
                     describe(c, c->pos, d));
    }
    if (ok && (n < def->min_args || (def->max_args >= 0 && n > def->max_args))) {
        if (def->max_args < 0)
            ok = fail_at(c, name_pos, "%s expects at least %d arguments, got %d", def->name,
                         def->min_args, n);
        else if (def->min_args == def->max_args)
            ok = fail_at(c, name_pos, "%s expects %d argument%s, got %d", def->name,
                         def->min_args, def->min_args == 1 ? "" : "s", n);
        else
            ok = fail_at(c, name_pos, "%s expects %d to %d arguments, got %d", def->name,
                         def->min_args, def->max_args, n);
    }
    if (ok) ok = apply_func(c, def, args, n, name_pos);
    if (ok) num_swap(out, &args[0]);
    for (int i = 0; i < n; i++) num_clear(&args[i]);
    free(args);
    return ok;
}

static bool parse_primary(calc *c, num *out) {
    int ch = peek(c);
    size_t start = c->pos;
    if (is_digit(ch) || ch == '.') return parse_number(c, out);
    if (ch == '(') {
        c->pos++;
        if (!parse_expr(c, out)) return false;
        if (!accept(c, ")")) {
            char d[16];
            return fail_at(c, c->pos, "syntax error: expected ')' but found %s",
                           describe(c, c->pos, d));
        }
        return true;
    }
    /* π (U+03C0) is pi. */
    if (c->len - c->pos >= 2 && (unsigned char)c->s[c->pos] == 0xCF &&
        (unsigned char)c->s[c->pos + 1] == 0x80) {
        c->pos += 2;
        mpfr_const_pi(out->f, MPFR_RNDN);
        out->exact = false;
        return true;
    }
    if (is_name_start(ch)) {
        size_t end = c->pos;
        while (end < c->len && is_name_char(c->s[end])) end++;
        size_t n = end - start;
        char name[32];
        bool fits = n < sizeof name;
        if (fits) {
            for (size_t i = 0; i < n; i++) {
                char k = c->s[start + i];
                name[i] = (char)(k >= 'A' && k <= 'Z' ? k - 'A' + 'a' : k);
            }
            name[n] = '\0';
        } else {
            snprintf(name, sizeof name, "%.*s…", 24, c->s + start);
        }
        c->pos = end;
        if (accept(c, "(")) {
            if (fits)
                for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
                    if (strcmp(funcs[i].name, name) == 0) return parse_call(c, &funcs[i], start, out);
            return fail_at(c, start, "unknown function '%s'", name);
        }
        if (fits && strcmp(name, "pi") == 0) {
            mpfr_const_pi(out->f, MPFR_RNDN);
            out->exact = false;
            return true;
        }
        if (fits && strcmp(name, "tau") == 0) {
            mpfr_const_pi(out->f, MPFR_RNDN);
            mpfr_mul_ui(out->f, out->f, 2, MPFR_RNDN);
            out->exact = false;
            return true;
        }
        if (fits && strcmp(name, "e") == 0) {
            mpfr_set_ui(out->f, 1, MPFR_RNDN);
            mpfr_exp(out->f, out->f, MPFR_RNDN);
            out->exact = false;
            return true;
        }
        if (fits)
            for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
                if (strcmp(funcs[i].name, name) == 0)
                    return fail_at(c, c->pos, "syntax error: expected '(' after %s", name);
        return fail_at(c, start, "unknown name '%s'", name);
    }
    char d[16];
    if (ch < 0) return fail_at(c, start, "syntax error: unexpected end of expression");
    return fail_at(c, start, "syntax error: unexpected %s", describe(c, start, d));
}

static bool parse_postfix(calc *c, num *out) {
    if (!parse_primary(c, out)) return false;
    for (;;) {
        skip_space(c);
        size_t pos = c->pos;
        /* "!" but not the start of "!=" (which is not an operator here anyway). */
        if (pos < c->len && c->s[pos] == '!') {
            c->pos++;
            if (!apply_factorial(c, out, pos)) return false;
        } else {
            return true;
        }
    }
}

static bool parse_power(calc *c, num *out) {
    if (!parse_postfix(c, out)) return false;
    skip_space(c);
    size_t pos = c->pos;
    if (accept(c, "^") || accept(c, "**")) {
        num e;
        num_init(c, &e);
        bool ok = parse_unary(c, &e) && apply_pow(c, out, &e, pos);
        num_clear(&e);
        return ok;
    }
    return true;
}

static bool parse_unary(calc *c, num *out) {
    skip_space(c);
    size_t pos = c->pos;
    if (++c->depth > MAX_DEPTH) return fail_at(c, pos, "expression nested too deeply");
    bool ok;
    if (accept(c, "-")) {
        ok = parse_unary(c, out);
        if (ok) {
            if (out->exact) mpq_neg(out->q, out->q);
            else mpfr_neg(out->f, out->f, MPFR_RNDN);
        }
    } else if (accept(c, "+")) {
        ok = parse_unary(c, out);
    } else {
        ok = parse_power(c, out);
    }
    c->depth--;
    return ok;
}

static bool parse_term(calc *c, num *out) {
    if (!parse_unary(c, out)) return false;
    for (;;) {
        skip_space(c);
        size_t pos = c->pos;
        binop op;
        if (c->len - pos >= 2 && c->s[pos] == '*' && c->s[pos + 1] == '*') return true;
        if (accept(c, "*")) op = OP_MUL;
        else if (accept(c, "/")) op = OP_DIV;
        else if (accept(c, "%")) op = OP_MOD;
        else return true;
        num rhs;
        num_init(c, &rhs);
        bool ok = parse_unary(c, &rhs) && apply_binop(c, op, out, &rhs, pos);
        num_clear(&rhs);
        if (!ok) return false;
    }
}

static bool parse_expr(calc *c, num *out) {
    if (++c->depth > MAX_DEPTH) return fail_at(c, c->pos, "expression nested too deeply");
    bool ok = parse_term(c, out);
    while (ok) {
        skip_space(c);
        size_t pos = c->pos;
        binop op;
        if (accept(c, "+")) op = OP_ADD;
        else if (accept(c, "-")) op = OP_SUB;
        else break;
        num rhs;
        num_init(c, &rhs);
        ok = parse_term(c, &rhs) && apply_binop(c, op, out, &rhs, pos);
        num_clear(&rhs);
    }
    c->depth--;
    return ok;
}

/* ---- output ------------------------------------------------------------------------ */

/* Decimal text for the value 0.d[0..nd) × 10^e (d: significant digits, no sign), trailing
 * zeros dropped: fixed notation for moderate exponents, otherwise "d.ddde+N". `digits` is
 * the requested precision (it widens the fixed range). Caller frees. */
static char *format_digits(bool neg, const char *d, size_t nd, long e, int digits) {
    while (nd > 1 && d[nd - 1] == '0') nd--;
    bool fixed = e > -6 && e <= (digits > 21 ? digits : 21);
    size_t cap = fixed ? nd + (size_t)(e > 0 ? e : -e) + 8 : nd + 32;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (fixed) {
        if (e <= 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (long i = 0; i < -e; i++) out[o++] = '0';
            memcpy(out + o, d, nd);
            o += nd;
        } else if ((size_t)e >= nd) {
            memcpy(out + o, d, nd);
            o += nd;
            for (size_t i = nd; i < (size_t)e; i++) out[o++] = '0';
        } else {
            memcpy(out + o, d, (size_t)e);
            o += (size_t)e;
            out[o++] = '.';
            memcpy(out + o, d + e, nd - (size_t)e);
            o += nd - (size_t)e;
        }
        out[o] = '\0';
    } else {
        out[o++] = d[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, d + 1, nd - 1);
            o += nd - 1;
        }
        snprintf(out + o, cap - o, "e%+ld", e - 1);
    }
    return out;
}

/* A float rounded to `digits` significant digits. Caller frees. */
static char *format_real(const mpfr_t x, int digits) {
    if (mpfr_zero_p(x)) return strdup("0");
    mpfr_exp_t e;
    char *ds = mpfr_get_str(NULL, &e, 10, (size_t)digits, x, MPFR_RNDN);
    if (!ds) return NULL;
    bool neg = ds[0] == '-';
    char *out = format_digits(neg, ds + neg, strlen(ds + neg), (long)e, digits);
    mpfr_free_str(ds);
    return out;
}

/* The exact decimal of a rational that has one (denominator 2^a 5^b) with at most `digits`
 * significant digits, else NULL. Caller frees. */
static char *format_terminating(const mpq_t q, int digits) {
    mpz_t d, f, n;
    mpz_init_set(d, mpq_denref(q));
    mpz_init_set_ui(f, 2);
    unsigned long a = mpz_remove(d, d, f);
    mpz_set_ui(f, 5);
    unsigned long b = mpz_remove(d, d, f);
    bool terminating = mpz_cmp_ui(d, 1) == 0;
    mpz_clear(f);
    mpz_clear(d);
    unsigned long k = a > b ? a : b;
    if (!terminating || k > (unsigned long)CALC_MAX_DIGITS * 4) return NULL;
    /* n = |q| * 10^k is an integer with no trailing zeros: its digits are significant. */
    mpz_init(n);
    mpz_ui_pow_ui(n, 10, k);
    mpz_mul(n, n, mpq_numref(q));
    mpz_divexact(n, n, mpq_denref(q));
    bool neg = mpz_sgn(n) < 0;
    mpz_abs(n, n);
    char *out = NULL;
    if (mpz_sizeinbase(n, 10) <= (size_t)digits + 1) {
        char *ds = mpz_get_str(NULL, 10, n);
        size_t nd = ds ? strlen(ds) : 0;
        if (ds && nd <= (size_t)digits) out = format_digits(neg, ds, nd, (long)nd - (long)k, digits);
        free(ds);
    }
    mpz_clear(n);
    return out;
}

static char *join3(const char *a, const char *sep, const char *b) {
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = malloc(la + ls + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, sep, ls);
    memcpy(s + la + ls, b, lb + 1);
    return s;
}

static bool make_result(calc *c, num *v, int digits, calc_result *r) {
    memset(r, 0, sizeof *r);
    if (v->exact) {
        size_t bits = mpz_sizeinbase(mpq_numref(v->q), 2) + mpz_sizeinbase(mpq_denref(v->q), 2);
        if (bits / 3.3219 > MAX_OUTPUT_DIGITS) num_make_approx(v);
    }
    if (!v->exact) {
        r->approximate = true;
        r->decimal = format_real(v->f, digits);
        r->text = r->decimal ? strdup(r->decimal) : NULL;
        return r->text != NULL;
    }
    bool integer = mpz_cmp_ui(mpq_denref(v->q), 1) == 0;
    r->exact = mpq_get_str(NULL, 10, v->q);
    if (!r->exact) return false;
    if (integer) {
        r->decimal = strdup(r->exact);
        r->text = strdup(r->exact);
        return r->decimal && r->text;
    }
    r->decimal = format_terminating(v->q, digits);
    const char *sep = " = ";
    if (!r->decimal) {
        mpfr_t x;
        mpfr_init2(x, c->prec);
        mpfr_set_q(x, v->q, MPFR_RNDN);
        r->decimal = format_real(x, digits);
        mpfr_clear(x);
        sep = " ≈ ";
    }
    if (!r->decimal) return false;
    r->text = join3(r->exact, sep, r->decimal);
    return r->text != NULL;
}

void tool_calc_result_free(calc_result *r) {
    if (!r) return;
    free(r->text);
    free(r->exact);
    free(r->decimal);
    memset(r, 0, sizeof *r);
}

bool tool_calc_evaluate(const char *expr, size_t len, int digits, double deadline, calc_result *out,
                   char *err, size_t err_size) {
    memset(out, 0, sizeof *out);
    if (digits == 0) digits = CALC_DEFAULT_DIGITS;
    if (digits < 1 || digits > CALC_MAX_DIGITS) {
        snprintf(err, err_size, "precision must be between 1 and %d digits", CALC_MAX_DIGITS);
        return false;
    }
    if (len > CALC_MAX_INPUT) {
        snprintf(err, err_size, "expression longer than %d bytes", CALC_MAX_INPUT);
        return false;
    }
    /* The widest exponent range MPFR allows, for this thread during this evaluation only. */
    mpfr_exp_t old_emin = mpfr_get_emin(), old_emax = mpfr_get_emax();
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    calc c = {.s = expr, .len = len, .deadline = deadline};
    c.prec = (mpfr_prec_t)ceil(digits * 3.32192809488736) + GUARD_BITS;
    num v;
    num_init(&c, &v);
    bool ok = parse_expr(&c, &v);
    if (ok && peek(&c) >= 0) {
        char d[16];
        size_t pos = c.pos;
        int ch = (unsigned char)c.s[pos];
        if (ch == ')') ok = fail_at(&c, pos, "syntax error: unmatched ')'");
        else if (is_digit(ch) || is_name_start(ch) || ch == '(')
            ok = fail_at(&c, pos, "syntax error: missing operator before %s", describe(&c, pos, d));
        else ok = fail_at(&c, pos, "syntax error: unexpected %s", describe(&c, pos, d));
    }
    if (ok && !make_result(&c, &v, digits, out)) {
        tool_calc_result_free(out);
        snprintf(c.err, sizeof c.err, "out of memory");
        ok = false;
    }
    num_clear(&v);
    mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
    mpfr_set_emin(old_emin);
    mpfr_set_emax(old_emax);
    if (!ok) snprintf(err, err_size, "%s", c.err);
    return ok;
}
