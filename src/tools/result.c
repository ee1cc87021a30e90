/*
 * result.c — ember_tool_result: what one tool call produced, and its JSON form. A result is
 * built by exactly one call on one thread, then handed to the caller, who owns it.
 */
#include "tools/tools_internal.h"
#include "core/utf8.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int tool_ms_left(double deadline) {
    double left = (deadline - ember_now_s()) * 1000.0;
    if (left <= 0) return 0;
    if (left >= (double)INT_MAX) return INT_MAX;
    return (int)left + 1;
}

json_t *tool_json_string(const char *text, size_t len) {
    size_t n;
    char *clean = utf8_sanitize(text ? text : "", text ? len : 0, &n);
    if (!clean) return NULL;
    json_t *s = json_stringn_nocheck(clean, n);
    free(clean);
    return s;
}

ember_tool_result *tool_result_new(const char *name) {
    ember_tool_result *res = calloc(1, sizeof *res);
    if (!res) return NULL;
    res->name = utf8_sanitize(name ? name : "", name ? strlen(name) : 0, NULL);
    res->output = strdup("");
    res->details = json_object();
    if (!res->name || !res->output || !res->details) {
        ember_tool_result_destroy(res);
        return NULL;
    }
    return res;
}

bool tool_result_set_output(ember_tool_result *res, const char *text, size_t len) {
    char *clean = utf8_sanitize(text ? text : "", text ? len : 0, NULL);
    if (!clean) return false;
    free(res->output);
    res->output = clean;
    return true;
}

void tool_result_fail(ember_tool_result *res, ember_status status, const char *fmt, ...) {
    if (res->status != EMBER_OK) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    res->status = status == EMBER_OK ? EMBER_ERR_IO : status;
    free(res->error);
    res->error = utf8_sanitize(buf, strlen(buf), NULL);
}

void tool_result_detail(ember_tool_result *res, const char *key, json_t *value) {
    if (value) json_object_set_new(res->details, key, value);
}

bool tool_arg_string(const json_t *args, const char *key, bool required, const char **out,
                     ember_tool_result *res) {
    json_t *v = json_object_get(args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) tool_result_fail(res, EMBER_ERR_INVALID, "missing argument \"%s\"", key);
        return !required;
    }
    if (!json_is_string(v)) {
        tool_result_fail(res, EMBER_ERR_INVALID, "argument \"%s\" must be a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool tool_arg_number(const json_t *args, const char *key, double *out, bool *present,
                     ember_tool_result *res) {
    json_t *v = json_object_get(args, key);
    *present = false;
    if (!v || json_is_null(v)) return true;
    if (json_is_number(v)) {
        *out = json_number_value(v);
    } else if (json_is_string(v)) {
        /* Models often quote numbers; accept a string that is exactly a number. */
        const char *s = json_string_value(v);
        char *end;
        *out = strtod(s, &end);
        if (end == s || *end != '\0') {
            tool_result_fail(res, EMBER_ERR_INVALID, "argument \"%s\" must be a number", key);
            return false;
        }
    } else {
        tool_result_fail(res, EMBER_ERR_INVALID, "argument \"%s\" must be a number", key);
        return false;
    }
    *present = true;
    return true;
}

/* ---- public ------------------------------------------------------------------------- */

void ember_tool_result_destroy(ember_tool_result *res) {
    if (!res) return;
    free(res->name);
    free(res->output);
    free(res->error);
    json_decref(res->details);
    free(res);
}

const char *ember_tool_result_name(const ember_tool_result *res) { return res->name; }
ember_status ember_tool_result_status(const ember_tool_result *res) { return res->status; }
const char *ember_tool_result_output(const ember_tool_result *res) { return res->output; }
const char *ember_tool_result_error(const ember_tool_result *res) { return res->error; }
double ember_tool_result_duration_ms(const ember_tool_result *res) { return res->duration_ms; }

bool ember_tool_result_exit_status(const ember_tool_result *res, int *exit_status) {
    if (res->has_exit_status && exit_status) *exit_status = res->exit_status;
    return res->has_exit_status;
}

char *ember_tool_result_json(const ember_tool_result *res) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "name", json_string_nocheck(res->name));
    json_object_set_new(o, "ok", json_boolean(res->status == EMBER_OK));
    json_object_set_new(o, "output", json_string_nocheck(res->output));
    if (res->status != EMBER_OK) {
        json_object_set_new(o, "error", json_string_nocheck(res->error ? res->error : ""));
        json_object_set_new(o, "status", json_string(ember_status_name(res->status)));
    }
    if (res->has_exit_status) json_object_set_new(o, "exit_status", json_integer(res->exit_status));
    /* Tool-specific fields never override the common ones. */
    json_object_update_missing(o, res->details);
    json_object_set_new(o, "duration_ms", json_integer((json_int_t)(res->duration_ms + 0.5)));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}
