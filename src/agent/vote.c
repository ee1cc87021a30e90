/* vote.c — answer normalization and the weighted vote (see vote.h and ember.h). */
#include "agent/vote.h"
#include "ember.h"
#include "core/strbuf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The span of the final answer inside free text. */
static void extract(const char *text, const char **start, size_t *len) {
    const char *boxed = strstr(text, "\\boxed{");
    if (boxed) {
        const char *p = boxed + 7;
        int depth = 1;
        const char *q = p;
        while (*q && depth) {
            if (*q == '{') depth++;
            else if (*q == '}') depth--;
            if (depth) q++;
        }
        *start = p;
        *len = (size_t)(q - p);
        return;
    }
    static const char *const cues[] = {"answer is", "Answer:", "answer:", "ANSWER:", "Final answer", "final answer"};
    const char *best = NULL;
    size_t cue_len = 0;
    for (size_t i = 0; i < sizeof cues / sizeof cues[0]; i++) {
        const char *hit = NULL, *p = text;
        while ((p = strstr(p, cues[i]))) hit = p++;
        if (hit && (!best || hit > best)) {
            best = hit;
            cue_len = strlen(cues[i]);
        }
    }
    if (best) {
        const char *p = best + cue_len;
        while (*p == ':' || *p == ' ' || *p == '\t') p++;
        *start = p;
        *len = strcspn(p, "\n");
        return;
    }
    /* the last non-empty line */
    const char *end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1])) end--;
    const char *line = end;
    while (line > text && line[-1] != '\n') line--;
    *start = line;
    *len = (size_t)(end - line);
}

static bool is_choice_letter(const char *s, size_t n, char *letter) {
    /* "b", "(b)", "b)", "b.", "option b", "choice b" */
    static const char *const prefixes[] = {"option ", "choice ", ""};
    for (size_t k = 0; k < 3; k++) {
        size_t pl = strlen(prefixes[k]);
        if (n < pl || strncmp(s, prefixes[k], pl) != 0) continue;
        const char *p = s + pl;
        size_t m = n - pl;
        if (m && *p == '(') p++, m--;
        if (m == 0 || !isalpha((unsigned char)*p) || *p > 'j') continue;
        char c = *p;
        p++, m--;
        if (m && (*p == ')' || *p == '.')) p++, m--;
        if (m == 0) {
            *letter = c;
            return true;
        }
    }
    return false;
}

/* A number at the start of s: canonical text into out; returns chars consumed or 0. */
static size_t canonical_number(const char *s, strbuf *out) {
    const char *p = s;
    strbuf digits = {0};
    if (*p == '-' || *p == '+') {
        if (*p == '-') strbuf_puts(&digits, "-");
        p++;
    }
    if (*p == '$') p++;
    bool any = false, dot = false;
    while (*p) {
        if (isdigit((unsigned char)*p)) {
            strbuf_append(&digits, p, 1);
            any = true;
        } else if (*p == ',' && any && !dot && isdigit((unsigned char)p[1])) {
            /* thousands separator */
        } else if (*p == '.' && !dot && isdigit((unsigned char)p[1])) {
            strbuf_puts(&digits, ".");
            dot = true;
        } else {
            break;
        }
        p++;
    }
    if (!any) {
        strbuf_free(&digits);
        return 0;
    }
    char *d = digits.data;
    if (dot) {  /* trailing zeros of the fraction, then a bare point */
        size_t n = digits.len;
        while (n && d[n - 1] == '0') n--;
        if (n && d[n - 1] == '.') n--;
        d[n] = '\0';
        digits.len = n;
    }
    /* leading zeros of the integer part */
    char *q = d + (d[0] == '-');
    while (q[0] == '0' && isdigit((unsigned char)q[1])) memmove(q, q + 1, strlen(q));
    if (strcmp(d, "-0") == 0) strcpy(d, "0");
    strbuf_puts(out, d);
    strbuf_free(&digits);
    return (size_t)(p - s);
}

char *vote_answer_extract(const char *text) {
    const char *start;
    size_t len;
    extract(text ? text : "", &start, &len);
    return strndup(start, len);
}

char *ember_answer_normalize(const char *text) {
    if (!text) return strdup("");
    const char *start;
    size_t len;
    extract(text, &start, &len);
    /* fold case and whitespace; drop markup emphasis */
    strbuf folded = {0};
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)start[i];
        if (c == '*' || c == '`' || (c == '$' && i + 1 < len && !isdigit((unsigned char)start[i + 1]))) continue;
        if (isspace(c)) {
            space = folded.len > 0;
            continue;
        }
        if (space) strbuf_puts(&folded, " ");
        space = false;
        char lc = (char)tolower(c);
        strbuf_append(&folded, &lc, 1);
    }
    const char *f = strbuf_str(&folded);
    size_t n = folded.len;
    /* surrounding punctuation */
    while (n && strchr(".,;:!?\"')]}", f[n - 1]) && !(n >= 2 && f[n - 1] == ')' && isalpha((unsigned char)f[n - 2]) &&
                                                     (n == 2 || f[n - 3] == '('))) n--;
    while (n && strchr("\"'([{", *f) && !(n >= 2 && *f == '(' && isalpha((unsigned char)f[1]))) f++, n--;
    /* an equation's right side when it is a number: "47 + 385 = 432" and "x = 5" are 432 and 5 */
    size_t eq = n;  /* just past the last '=', 0 when there is none */
    while (eq > 0 && f[eq - 1] != '=') eq--;
    if (eq > 0) {
        size_t rhs = eq;
        while (rhs < n && f[rhs] == ' ') rhs++;
        char *side = strndup(f + rhs, n - rhs);
        strbuf value = {0};
        const size_t used = side ? canonical_number(side, &value) : 0;
        const bool whole = used && strspn(side + used, " ") == strlen(side + used);
        free(side);
        if (whole) {
            strbuf_free(&folded);
            return strbuf_take(&value);
        }
        strbuf_free(&value);
    }
    strbuf out = {0};
    char letter;
    if (is_choice_letter(f, n, &letter)) {
        strbuf_append(&out, &letter, 1);
    } else {
        char *copy = strndup(f, n);
        size_t used = copy ? canonical_number(copy, &out) : 0;
        if (used) {
            /* a number followed only by a unit word ("12 cm", "5kg", "30%") is the number */
            const char *rest = copy + used;
            while (*rest == ' ') rest++;
            bool unit_only = strlen(rest) <= 12 && !strchr(rest, ' ');
            for (const char *r = rest; *r && unit_only; r++) unit_only = isalpha((unsigned char)*r) || *r == '%' || *r == '/';
            if (!unit_only) {
                strbuf_clear(&out);
                strbuf_append(&out, f, n);
            }
        } else {
            strbuf_append(&out, f, n);
        }
        free(copy);
    }
    strbuf_free(&folded);
    return strbuf_take(&out);
}

vote_outcome vote_tally(const char *const *answers, const float *weights, int n) {
    vote_outcome best = {.winner = -1};
    float total = 0;
    for (int i = 0; i < n; i++)
        if (answers[i] && answers[i][0]) total += vote_weight(weights[i]);
    float best_weight = 0;
    for (int i = 0; i < n; i++) {
        if (!answers[i] || !answers[i][0]) continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) seen = answers[j] && strcmp(answers[j], answers[i]) == 0;
        if (seen) continue;
        float w = 0;
        int count = 0;
        for (int j = i; j < n; j++) {
            if (answers[j] && strcmp(answers[j], answers[i]) == 0) {
                w += vote_weight(weights[j]);
                count++;
            }
        }
        if (w > best_weight) {
            best_weight = w;
            best = (vote_outcome){.winner = i, .share = total > 0 ? w / total : 0, .supporters = count};
        }
    }
    return best;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

float vote_quantile(const float *values, int n, float q) {
    if (n <= 0) return 0;
    float *sorted = malloc(sizeof *sorted * (size_t)n);
    if (!sorted) return values[0];
    memcpy(sorted, values, sizeof *sorted * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_float);
    float pos = q * (float)(n - 1);
    int lo = (int)pos;
    int hi = lo + 1 < n ? lo + 1 : lo;
    float v = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (float)lo);
    free(sorted);
    return v;
}
