/*
 * tool_grammar.c — constraining tool calls while they are generated.
 *
 * The lazy grammar (ember_tool_grammar) stays off while the model reasons and answers, and
 * switches on when the generated text opens a tool message (Muse Glimmer:
 * "<|start|>assistant to=NAME<|message|>" with NAME not self/user; ChatML: "<tool_call>").
 * From there the model can only write a well-formed call to an offered tool: ATEM markup with
 * that tool's parameter names, or ChatML's {"name", "arguments"} JSON with those keys. Values
 * follow the parameter's schema type (integer, number, boolean; strings as text without '<'
 * in ATEM, as JSON strings in ChatML; anything else as JSON). Required parameters are not
 * enforced. The forced grammars (tool_grammar.h) reuse the same call rules.
 */
#include "agent/tool_grammar.h"
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
    "integer ::= \"-\"? ([0-9] | [1-9] [0-9]{0,15}) ws\n"
    "boolean ::= (\"true\" | \"false\") ws\n"
    "ws ::= \"\" | \" \" | \"\\n\" [ \\t]{0,8}\n";

/* Reasoning text in a forced Thinking round: anything but the format's closing marker. */
static const char GLIMMER_THINK[] = "think ::= ( [^<] | \"<\" [^|] )*\n";     /* no "<|": no <|eom|> */
static const char CHATML_THINK[] = "think ::= ( [^<] | \"<\" ( [^/] | \"/\" [^t] ) )*\n";  /* no "</t" */

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

/* A GBNF literal of text as a JSON string ("name" with JSON's escapes). */
static void json_literal(strbuf *out, const char *text) {
    json_t *s = json_string(text);
    char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    literal(out, quoted ? quoted : "\"\"");
    free(quoted);
    json_decref(s);
}

static const char *fn_name(json_t *tool, json_t **fn_out) {
    json_t *fn = json_object_get(tool, "function");
    if (!json_is_object(fn)) fn = tool;
    *fn_out = fn;
    return json_string_value(json_object_get(fn, "name"));
}

/* The rule a parameter's value follows; strings differ by format (ATEM writes them bare). */
static const char *value_rule(json_t *schema, bool atem) {
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (!type) return "value";
    if (strcmp(type, "string") == 0) return atem ? "text" : "string";
    if (strcmp(type, "integer") == 0) return "integer";
    if (strcmp(type, "number") == 0) return "number";
    if (strcmp(type, "boolean") == 0) return "boolean";
    if (strcmp(type, "object") == 0) return "object";
    if (strcmp(type, "array") == 0) return "array";
    return "value";
}

/* One alternative per parameter, its name then its value: ATEM's <atem:parameter name="KEY">
 * VALUE</atem:parameter>, or ChatML's "KEY": VALUE. Ends the rule's line. */
static void param_alternatives(strbuf *g, json_t *props, bool atem) {
    const char *key;
    json_t *schema;
    bool first = true;
    json_object_foreach(props, key, schema) {
        if (!first) strbuf_puts(g, " | ");
        first = false;
        if (atem) {
            strbuf open = {0};
            strbuf_printf(&open, "<atem:parameter name=\"%s\">", key);
            literal(g, strbuf_str(&open));
            strbuf_free(&open);
            strbuf_printf(g, " %s \"</atem:parameter>\\n\"", value_rule(schema, true));
        } else {
            json_literal(g, key);
            strbuf_printf(g, " ws \":\" ws %s", value_rule(schema, false));
        }
    }
    strbuf_puts(g, "\n");
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
    param_alternatives(g, props, true);
}

/* ChatML: "NAME", "arguments": {…} for one tool; its keys and value types when it has a
 * schema with properties, any object otherwise. */
static void chatml_call_rule(strbuf *g, size_t index, const char *name, json_t *fn) {
    json_t *params = json_object_get(fn, "parameters");
    json_t *props = json_object_get(params, "properties");
    strbuf_printf(g, "call%zu ::= ", index);
    json_literal(g, name);
    strbuf_puts(g, " \", \\\"arguments\\\": \" ");
    if (!json_is_object(props)) {
        strbuf_puts(g, "object\n");
        return;
    }
    if (json_object_size(props) == 0) {
        strbuf_puts(g, "\"{\" ws \"}\" ws\n");
        return;
    }
    strbuf_printf(g, "\"{\" ws ( kv%zu ( \",\" ws kv%zu )* )? \"}\" ws\nkv%zu ::= ", index, index, index);
    param_alternatives(g, props, false);
}

typedef enum tool_format { FORMAT_GLIMMER, FORMAT_CHATML, FORMAT_UNKNOWN } tool_format;

static tool_format format_of(const char *format) {
    if (format && strcmp(format, "muse-glimmer") == 0) return FORMAT_GLIMMER;
    if (format && strcmp(format, "chatml-think") == 0) return FORMAT_CHATML;
    return FORMAT_UNKNOWN;
}

/* Writes `call` (one well-formed call to one of the tools, or to `only`) and `calls` (one or
 * more of them, as the format separates them); returns how many tools the calls may name. */
static size_t write_calls(strbuf *g, tool_format format, json_t *tools, const char *only) {
    size_t i, n = 0;
    json_t *tool, *fn;
    if (format == FORMAT_GLIMMER) {
        strbuf_puts(g, "calls ::= call ( <|eom|> \"<|start|>assistant\" call )*\ncall ::= ");
    } else {
        strbuf_puts(g, "calls ::= call ( \"\\n\" call )*\n");
        strbuf_puts(g, "call ::= \"<tool_call>\" ws \"{\\\"name\\\": \" ( ");
    }
    json_array_foreach(tools, i, tool) {
        const char *name = fn_name(tool, &fn);
        if (!name || (only && strcmp(name, only) != 0)) continue;
        strbuf_printf(g, "%scall%zu", n++ ? " | " : "", i);
    }
    if (format == FORMAT_CHATML) strbuf_puts(g, " ) \"}\" ws \"</tool_call>\"");
    strbuf_puts(g, "\n");
    json_array_foreach(tools, i, tool) {
        const char *name = fn_name(tool, &fn);
        if (!name || (only && strcmp(name, only) != 0)) continue;
        if (format == FORMAT_GLIMMER) atem_call_rule(g, i, name, fn);
        else chatml_call_rule(g, i, name, fn);
    }
    if (format == FORMAT_GLIMMER) strbuf_puts(g, "text ::= [^<]*\n");
    strbuf_puts(g, JSON_RULES);
    return n;
}

static json_t *load_tools(const char *tools_json, ember_error *err) {
    json_t *tools = json_loads(tools_json ? tools_json : "", 0, NULL);
    if (json_is_array(tools) && json_array_size(tools) > 0) return tools;
    json_decref(tools);
    ember_fail(err, EMBER_ERR_INVALID, "no tool definitions to constrain");
    return NULL;
}

ember_status ember_tool_grammar(const char *format, const char *tools_json, char **grammar, char **trigger,
                                ember_error *err) {
    *grammar = NULL;
    *trigger = NULL;
    json_t *tools = load_tools(tools_json, err);
    if (!tools) return EMBER_ERR_INVALID;
    tool_format f = format_of(format);
    if (f == FORMAT_UNKNOWN) {
        json_decref(tools);
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "unknown chat format '%s'", format ? format : "");
    }
    strbuf g = {0};
    /* Muse Glimmer: the grammar starts at " to=" (several calls may follow, one message each);
     * ChatML: at "<tool_call>" (one call; the model may write another after it, lazily again) */
    strbuf_puts(&g, f == FORMAT_GLIMMER ? "root ::= calls\n" : "root ::= call\n");
    write_calls(&g, f, tools, NULL);
    *trigger = strdup(f == FORMAT_GLIMMER
                          ? "(?:^|<\\|start\\|>assistant)( to=(?!self<\\|message\\|>)(?!user<\\|message\\|>)[^<]*<\\|message\\|>)"
                          : "(<tool_call>)");
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

ember_status tool_force_plan(const char *format, const char *tools_json, const char *name, bool reasoning,
                             tool_force *out, ember_error *err) {
    memset(out, 0, sizeof *out);
    json_t *tools = load_tools(tools_json, err);
    if (!tools) return ember_fail(err, EMBER_ERR_INVALID, "tool_choice asks for a tool call, but no tools are offered");
    tool_format f = format_of(format);
    if (f == FORMAT_UNKNOWN) {
        json_decref(tools);
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "unknown chat format '%s'", format ? format : "");
    }
    strbuf whole = {0}, calls = {0};
    strbuf_puts(&calls, "root ::= calls\n");
    size_t n = write_calls(&calls, f, tools, name);
    json_decref(tools);
    if (n == 0) {
        strbuf_free(&calls);
        return ember_fail(err, EMBER_ERR_INVALID, "tool_choice names the function '%.200s', which is not an offered tool",
                          name ? name : "");
    }
    if (reasoning) {
        out->opening = EMBER_OPEN_REASONING;
        if (f == FORMAT_GLIMMER) {
            strbuf_puts(&whole, "root ::= think <|eom|> \"<|start|>assistant\" calls\n");
            strbuf_puts(&whole, GLIMMER_THINK);
            out->close = "<|eom|><|start|>assistant";
            out->reasoning_end = "<|";
        } else {
            strbuf_puts(&whole, "root ::= think \"</think>\" [\\n]{0,2} calls\n");
            strbuf_puts(&whole, CHATML_THINK);
            out->close = "\n</think>\n\n";
            out->reasoning_end = "</t";
        }
        /* the call rules after the root */
        strbuf_puts(&whole, strbuf_str(&calls) + strlen("root ::= calls\n"));
    } else {
        out->opening = f == FORMAT_GLIMMER ? EMBER_OPEN_HEADER : EMBER_OPEN_ANSWER;
        strbuf_puts(&whole, strbuf_str(&calls));
    }
    out->grammar = strbuf_take(&whole);
    out->call_grammar = strbuf_take(&calls);
    if (!out->grammar || !out->call_grammar) {
        tool_force_free(out);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    return EMBER_OK;
}

void tool_force_free(tool_force *f) {
    free(f->grammar);
    free(f->call_grammar);
    memset(f, 0, sizeof *f);
}
