/*
 * tool_grammar.c — constraining tool-call arguments while they are generated.
 *
 * The grammar is lazy: it stays off while the model reasons and answers, and switches on when
 * the generated text opens a tool message (Muse Glimmer: "<|start|>assistant to=NAME<|message|>"
 * with NAME not self/user; ChatML: "<tool_call>"). From there the model can only write a
 * well-formed call to an offered tool: ATEM markup with that tool's parameter names, string
 * parameters as text without '<', the others as JSON; or ChatML's {"name", "arguments"} JSON.
 */
#include "ember.h"
#include "core/error.h"
#include "core/strbuf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char JSON_RULES[] =
    "value ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
    "object ::= \"{\" ws ( string \":\" ws value (\",\" ws string \":\" ws value)* )? \"}\" ws\n"
    "array ::= \"[\" ws ( value (\",\" ws value)* )? \"]\" ws\n"
    "string ::= \"\\\"\" ( [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\bfnrt/] | \"u\" [0-9a-fA-F]{4}) )* \"\\\"\" ws\n"
    "number ::= \"-\"? ([0-9] | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? ws\n"
    "ws ::= \"\" | \" \" | \"\\n\" [ \\t]{0,8}\n";

/* A GBNF string literal for text (quotes and backslashes escaped). */
static void literal(strbuf *out, const char *text) {
    strbuf_puts(out, "\"");
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\') strbuf_append(out, "\\", 1);
        if (*p == '\n') strbuf_puts(out, "\\n");
        else strbuf_append(out, p, 1);
    }
    strbuf_puts(out, "\"");
}

static const char *fn_name(json_t *tool, json_t **fn_out) {
    json_t *fn = json_object_get(tool, "function");
    if (!json_is_object(fn)) fn = tool;
    *fn_out = fn;
    return json_string_value(json_object_get(fn, "name"));
}

static void atem_call_rule(strbuf *g, size_t index, const char *name, json_t *fn) {
    json_t *props = json_object_get(json_object_get(fn, "parameters"), "properties");
    strbuf_printf(g, "call%zu ::= ", index);
    strbuf msg = {0};
    strbuf_printf(&msg, " to=%s", name);
    literal(g, strbuf_str(&msg));
    strbuf_clear(&msg);
    strbuf_printf(&msg, "<|message|><atem:function_calls>\n<atem:invoke name=\"%s\">\n", name);
    strbuf_puts(g, " ");
    literal(g, strbuf_str(&msg));
    strbuf_free(&msg);
    size_t n_props = json_object_size(props);
    if (n_props) strbuf_printf(g, " ( arg%zu )*", index);
    strbuf_puts(g, " \"</atem:invoke>\\n</atem:function_calls>\"\n");
    if (!n_props) return;
    strbuf_printf(g, "arg%zu ::= ", index);
    const char *key;
    json_t *schema;
    bool first = true;
    json_object_foreach(props, key, schema) {
        if (!first) strbuf_puts(g, " | ");
        first = false;
        strbuf open = {0};
        strbuf_printf(&open, "<atem:parameter name=\"%s\">", key);
        literal(g, strbuf_str(&open));
        strbuf_free(&open);
        const char *type = json_string_value(json_object_get(schema, "type"));
        strbuf_puts(g, type && strcmp(type, "string") == 0 ? " text" : " value");
        strbuf_puts(g, " \"</atem:parameter>\\n\"");
    }
    strbuf_puts(g, "\n");
}

ember_status ember_tool_grammar(const char *format, const char *tools_json, char **grammar, char **trigger,
                                ember_error *err) {
    *grammar = NULL;
    *trigger = NULL;
    json_t *tools = json_loads(tools_json ? tools_json : "", 0, NULL);
    if (!json_is_array(tools) || json_array_size(tools) == 0) {
        json_decref(tools);
        return ember_fail(err, EMBER_ERR_INVALID, "no tool definitions to constrain");
    }
    strbuf g = {0};
    size_t i;
    json_t *tool, *fn;
    if (format && strcmp(format, "muse-glimmer") == 0) {
        strbuf_puts(&g, "root ::= call ( <|eom|> \"<|start|>assistant\" call )*\ncall ::= ");
        json_array_foreach(tools, i, tool) strbuf_printf(&g, "%scall%zu", i ? " | " : "", i);
        strbuf_puts(&g, "\ntext ::= [^<]*\n");
        json_array_foreach(tools, i, tool) {
            const char *name = fn_name(tool, &fn);
            if (name) atem_call_rule(&g, i, name, fn);
        }
        *trigger = strdup("(?:^|<\\|start\\|>assistant)( to=(?!self<\\|message\\|>)(?!user<\\|message\\|>)[^<]*<\\|message\\|>)");
    } else if (format && strcmp(format, "chatml-think") == 0) {
        strbuf_puts(&g, "root ::= \"<tool_call>\" ws \"{\\\"name\\\": \" ( ");
        json_array_foreach(tools, i, tool) {
            const char *name = fn_name(tool, &fn);
            if (!name) continue;
            strbuf quoted = {0};
            strbuf_printf(&quoted, "\"%s\"", name);
            if (i) strbuf_puts(&g, " | ");
            literal(&g, strbuf_str(&quoted));
            strbuf_free(&quoted);
        }
        strbuf_puts(&g, " ) \", \\\"arguments\\\": \" object \"}\" ws \"</tool_call>\"\n");
        *trigger = strdup("(<tool_call>)");
    } else {
        json_decref(tools);
        strbuf_free(&g);
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "unknown chat format '%s'", format ? format : "");
    }
    strbuf_puts(&g, JSON_RULES);
    json_decref(tools);
    *grammar = strbuf_take(&g);
    if (!*grammar || !*trigger) {
        free(*grammar);
        free(*trigger);
        *grammar = *trigger = NULL;
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    return EMBER_OK;
}
