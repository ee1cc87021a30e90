/*
 * tool_calls.c — turning a generated tool message into calls.
 *
 * Muse Glimmer writes ATEM markup addressed with to=NAME:
 *   <atem:function_calls>\n<atem:invoke name="NAME">\n
 *   <atem:parameter name="KEY">VALUE</atem:parameter>\n … </atem:invoke>\n</atem:function_calls>
 * String and scalar values are written as they are, lists and objects as JSON, so a value is
 * decoded as JSON unless the tool's schema says the parameter is a string (or it does not
 * decode). Several invokes may share one block. ChatML writes {"name": …, "arguments": {…}}.
 */
#include "ember.h"
#include "chat/json_text.h"
#include "core/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The JSON schema type of a parameter, or NULL. */
static const char *param_type(json_t *tools, const char *tool, const char *param) {
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        if (!json_is_object(fn)) fn = t;
        const char *name = json_string_value(json_object_get(fn, "name"));
        if (!name || strcmp(name, tool) != 0) continue;
        json_t *prop = json_object_get(json_object_get(json_object_get(fn, "parameters"), "properties"), param);
        return json_string_value(json_object_get(prop, "type"));
    }
    return NULL;
}

static json_t *atem_value(const char *text, size_t len, const char *type) {
    char *copy = strndup(text, len);
    if (!copy) return NULL;
    json_t *v = NULL;
    if (!type || strcmp(type, "string") != 0) v = json_loads(copy, JSON_DECODE_ANY, NULL);
    if (!v) v = json_string(copy);
    if (!v) v = json_stringn(copy, len);  /* invalid UTF-8 is refused by json_string */
    free(copy);
    return v;
}

/* Reads name="…" right after `p`; returns the position after the closing '>' or NULL. */
static const char *read_name_attr(const char *p, char *out, size_t size) {
    while (*p == ' ') p++;
    if (strncmp(p, "name=\"", 6) != 0) return NULL;
    p += 6;
    const char *end = strchr(p, '"');
    if (!end) return NULL;
    size_t n = (size_t)(end - p);
    if (n >= size) n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    p = end + 1;
    while (*p == ' ') p++;
    return *p == '>' ? p + 1 : NULL;
}

static ember_status parse_atem(const char *recipient, const char *body, json_t *tools, json_t *calls,
                               ember_error *err) {
    const char *p = body;
    while ((p = strstr(p, "<atem:invoke"))) {
        char name[256];
        const char *q = read_name_attr(p + strlen("<atem:invoke"), name, sizeof name);
        if (!q) return ember_fail(err, EMBER_ERR_FORMAT, "malformed <atem:invoke> in a tool call");
        const char *end = strstr(q, "</atem:invoke>");
        if (!end) end = q + strlen(q);  /* cut off: take what is there */
        json_t *args = json_object();
        const char *r = q;
        while ((r = strstr(r, "<atem:parameter")) && r < end) {
            char key[256];
            const char *v = read_name_attr(r + strlen("<atem:parameter"), key, sizeof key);
            if (!v) {
                json_decref(args);
                return ember_fail(err, EMBER_ERR_FORMAT, "malformed <atem:parameter> in a call to %s", name);
            }
            const char *close = strstr(v, "</atem:parameter>");
            if (!close) close = end;
            json_object_set_new(args, key, atem_value(v, (size_t)(close - v), tools ? param_type(tools, name, key) : NULL));
            r = close;
        }
        json_array_append_new(calls, json_pack("{s:s, s:o}", "name", name[0] ? name : recipient, "arguments", args));
        p = end;
    }
    if (json_array_size(calls) == 0)
        return ember_fail(err, EMBER_ERR_FORMAT, "the message to %s holds no <atem:invoke>", recipient);
    return EMBER_OK;
}

static ember_status parse_chatml(const char *body, json_t *calls, ember_error *err) {
    json_t *obj = json_loads(body, 0, NULL);
    const char *name = json_string_value(json_object_get(obj, "name"));
    json_t *args = json_object_get(obj, "arguments");
    if (json_is_string(args)) args = json_loads(json_string_value(args), 0, NULL);
    else json_incref(args);
    if (!name || !json_is_object(args)) {
        json_decref(obj);
        json_decref(args);
        return ember_fail(err, EMBER_ERR_FORMAT, "a <tool_call> must hold {\"name\": …, \"arguments\": {…}}");
    }
    json_array_append_new(calls, json_pack("{s:s, s:o}", "name", name, "arguments", args));
    json_decref(obj);
    return EMBER_OK;
}

ember_status ember_tool_calls_parse(const char *format, const char *recipient, const char *body,
                                    const char *tools_json, char **calls_json, ember_error *err) {
    *calls_json = NULL;
    if (!format || !body) return ember_fail(err, EMBER_ERR_INVALID, "no format or body");
    json_t *tools = tools_json ? json_loads(tools_json, 0, NULL) : NULL;
    json_t *calls = json_array();
    ember_status status;
    if (strcmp(format, "muse-glimmer") == 0) status = parse_atem(recipient ? recipient : "", body, tools, calls, err);
    else if (strcmp(format, "chatml-think") == 0) status = parse_chatml(body, calls, err);
    else status = ember_fail(err, EMBER_ERR_NOT_FOUND, "unknown chat format '%s'", format);
    if (status == EMBER_OK) *calls_json = json_text_dump(calls, true);
    json_decref(calls);
    json_decref(tools);
    if (status == EMBER_OK && !*calls_json) status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    return status;
}
