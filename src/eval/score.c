/*
 * score.c — does an answer give the gold? Numbers by value, choice letters by letter, the
 * rest through ember_answer_normalize (the normalization Contemplating's vote uses).
 */
#include "eval/eval_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Parses an integer or decimal at s ("-1,234.5"; U+2212 minus too); returns its end or NULL. */
static const char *parse_number(const char *s, double *value) {
    const char *p = s;
    bool negative = false;
    if (*p == '-') negative = true, p++;
    else if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x88 && (unsigned char)p[2] == 0x92)
        negative = true, p += 3;
    if (!isdigit((unsigned char)*p)) return NULL;
    char digits[64];
    size_t n = 0;
    for (; *p && n + 1 < sizeof digits; p++) {
        if (isdigit((unsigned char)*p)) digits[n++] = *p;
        else if (*p == ',' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
                 isdigit((unsigned char)p[3]) && !isdigit((unsigned char)p[4]))
            continue;
        else if (*p == '.' && isdigit((unsigned char)p[1]) && !strchr(digits, '.')) {
            digits[n++] = '.';
            digits[n] = '\0';
        } else break;
        digits[n] = '\0';
    }
    digits[n] = '\0';
    *value = strtod(digits, NULL) * (negative ? -1 : 1);
    return p;
}

/* The number an answer gives: after its last "=" if it has one, else the last number of its
 * last non-empty line. */
bool eval_answer_number(const char *text, double *value) {
    if (!text) return false;
    const char *from = text;
    const char *eq = strrchr(text, '=');
    if (eq) from = eq + 1;
    else {
        const char *end = text + strlen(text);
        while (end > text && isspace((unsigned char)end[-1])) end--;
        const char *line = end;
        while (line > text && line[-1] != '\n') line--;
        from = line;
    }
    bool found = false;
    for (const char *p = from; *p;) {
        double v;
        const bool starts = p == from || !isalnum((unsigned char)p[-1]);
        const char *end = starts ? parse_number(p, &v) : NULL;
        if (end) {
            *value = v;
            found = true;
            p = end;
        } else {
            p++;
        }
    }
    return found;
}

static bool is_choice_letter(const char *gold) {
    return gold[0] && isalpha((unsigned char)gold[0]) && (gold[1] == '\0' || gold[1] == ')');
}

bool ember_eval_answer_matches(const char *gold, const char *answer) {
    if (!gold || !answer) return false;
    double g, a;
    const char *end = parse_number(gold, &g);
    if (end && *end == '\0') return eval_answer_number(answer, &a) && a == g;
    char *ng = ember_answer_normalize(gold);
    char *na = ember_answer_normalize(answer);
    bool same = ng && na && strcmp(ng, na) == 0;
    if (!same && is_choice_letter(gold) && na) same = tolower((unsigned char)gold[0]) == na[0] && strlen(na) == 1;
    free(ng);
    free(na);
    return same;
}
