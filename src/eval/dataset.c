/*
 * dataset.c — reads evaluation datasets: plain question/answer lines, GSM8K (#### gold),
 * MATH (\boxed{} gold in the solution), multiple choice (choices + a letter) — see
 * ember/eval.h. Every line is checked before anything runs; errors name the line.
 */
#include "eval/eval_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"

/* The contents of the last \boxed{…} (balanced braces), or NULL. */
static char *last_boxed(const char *s) {
    const char *at = NULL;
    for (const char *p = strstr(s, "\\boxed{"); p; p = strstr(p + 1, "\\boxed{")) at = p;
    if (!at) return NULL;
    const char *start = at + strlen("\\boxed{");
    int depth = 1;
    const char *p = start;
    for (; *p && depth > 0; p++) {
        if (*p == '{') depth++;
        else if (*p == '}') depth--;
    }
    if (depth != 0) return NULL;
    return strndup(start, (size_t)(p - 1 - start));
}

static char *trimmed(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    return strndup(s, n);
}

static char *gold_of(const json_t *obj) {
    const json_t *a = json_object_get(obj, "answer");
    if (json_is_integer(a)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(a));
        return strdup(buf);
    }
    if (json_is_real(a)) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", json_real_value(a));
        return strdup(buf);
    }
    const char *text = json_string_value(a);
    if (text) {
        const char *hashes = strstr(text, "####");
        return trimmed(hashes ? hashes + 4 : text);
    }
    const char *solution = json_string_value(json_object_get(obj, "solution"));
    return solution ? last_boxed(solution) : NULL;
}

static char *question_of(const json_t *obj) {
    const char *q = json_string_value(json_object_get(obj, "question"));
    if (!q) q = json_string_value(json_object_get(obj, "problem"));
    if (!q) return NULL;
    const json_t *choices = json_object_get(obj, "choices");
    if (!json_is_array(choices) || json_array_size(choices) == 0) return strdup(q);
    strbuf sb = {0};
    strbuf_puts(&sb, q);
    size_t i;
    const json_t *c;
    json_array_foreach(choices, i, c) {
        const char *text = json_string_value(c);
        if (!text || i >= 26) {
            strbuf_free(&sb);
            return NULL;
        }
        strbuf_printf(&sb, "\n%c) %s", (char)('A' + i), text);
    }
    return strbuf_take(&sb);
}

static char *image_of(const json_t *obj, const char *dataset) {
    const char *img = json_string_value(json_object_get(obj, "image"));
    if (!img) return NULL;
    if (img[0] == '/') return strdup(img);
    const char *slash = strrchr(dataset, '/');
    strbuf sb = {0};
    if (slash) strbuf_append(&sb, dataset, (size_t)(slash - dataset) + 1);
    strbuf_puts(&sb, img);
    return strbuf_take(&sb);
}

void eval_items_free(eval_item *items, int n) {
    for (int i = 0; items && i < n; i++) {
        free(items[i].question);
        free(items[i].gold);
        free(items[i].image);
    }
    free(items);
}

ember_status eval_items_load(const char *path, int limit, eval_item **out, int *n_out, ember_error *err) {
    *out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "r");
    if (!f) return ember_fail(err, EMBER_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    eval_item *items = NULL;
    int n = 0, cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ember_status st = EMBER_OK;
    for (long lineno = 1; st == EMBER_OK && (limit <= 0 || n < limit) && getline(&line, &line_cap, f) >= 0; lineno++) {
        if (line[strspn(line, " \t\r\n")] == '\0') continue;
        json_error_t jerr;
        json_t *obj = json_loads(line, 0, &jerr);
        if (!json_is_object(obj)) {
            st = ember_fail(err, EMBER_ERR_FORMAT, "%s:%ld: not a JSON object (%s)", path, lineno, jerr.text);
        } else if (n == cap && !(cap = cap ? cap * 2 : 64, items = realloc(items, (size_t)cap * sizeof *items))) {
            st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
        } else {
            eval_item it = {question_of(obj), gold_of(obj), image_of(obj, path)};
            if (!it.question || !it.gold || !it.gold[0]) {
                st = ember_fail(err, EMBER_ERR_FORMAT,
                                "%s:%ld: needs \"question\" (or \"problem\") and a gold answer (\"answer\", "
                                "\"answer\" with ####, or a \\boxed{} in \"solution\")", path, lineno);
                free(it.question), free(it.gold), free(it.image);
            } else {
                items[n++] = it;
            }
        }
        json_decref(obj);
    }
    free(line);
    fclose(f);
    if (st == EMBER_OK && n == 0) st = ember_fail(err, EMBER_ERR_INVALID, "%s holds no questions", path);
    if (st != EMBER_OK) {
        eval_items_free(items, n);
        return st;
    }
    *out = items;
    *n_out = n;
    return EMBER_OK;
}
