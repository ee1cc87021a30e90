/*
 * schema_gbnf.c — JSON schema → GBNF (see schema_gbnf.h). Each schema node becomes one rule
 * "rN"; nested nodes write their rules first, so every rule is one complete line. $refs are
 * cached by their pointer text before their body is generated, which makes recursive schemas
 * terminate. The shared primitives (ws, string, number, any value …) are appended once.
 */
#include "server/schema_gbnf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 32, MAX_RULES = 4096, MAX_GRAMMAR = 1 << 20, MAX_PROPS = 64, MAX_REPEAT = 64 };

typedef struct gen_ctx {
    strbuf *out;
    json_t *root;        /* the whole schema, for $ref */
    json_t *refs;        /* ref text → rule id */
    int n_rules;
    int depth;
    srv_error *err;
} gen_ctx;

static const char PRIMITIVES[] =
    "ws ::= [ \\t\\n]{0,4}\n"
    "value ::= object | array | string | number | boolean | null\n"
    "object ::= \"{\" ws ( string ws \":\" ws value ws ( \",\" ws string ws \":\" ws value ws )* )? \"}\"\n"
    "array ::= \"[\" ws ( value ws ( \",\" ws value ws )* )? \"]\"\n"
    "string ::= \"\\\"\" char* \"\\\"\"\n"
    "char ::= [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} )\n"
    "integer ::= \"-\"? ( [0-9] | [1-9] [0-9]{1,15} )\n"
    "number ::= integer ( \".\" [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?\n"
    "boolean ::= \"true\" | \"false\"\n"
    "null ::= \"null\"\n";

/* A GBNF string literal of the bytes (UTF-8 kept; quotes, backslashes, controls escaped). */
static void literal(strbuf *b, const char *s, size_t len) {
    strbuf_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') strbuf_printf(b, "\\%c", c);
        else if (c == '\n') strbuf_puts(b, "\\n");
        else if (c == '\r') strbuf_puts(b, "\\r");
        else if (c == '\t') strbuf_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f) strbuf_printf(b, "\\x%02X", c);
        else strbuf_append(b, &s[i], 1);
    }
    strbuf_puts(b, "\"");
}

/* The literal of a JSON value's compact text (enum and const members, object keys). */
static bool json_literal(gen_ctx *g, strbuf *b, json_t *v) {
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) return srv_fail(g->err, 400, "invalid_request_error", NULL, "response_format", "a schema value cannot be encoded");
    literal(b, text, strlen(text));
    free(text);
    return true;
}

static bool bad(gen_ctx *g, const char *fmt, const char *what) {
    return srv_fail(g->err, 400, "invalid_request_error", "invalid_json_schema", "response_format.json_schema.schema",
                    fmt, what);
}

static int gen(gen_ctx *g, json_t *schema);

static bool emit_rule(gen_ctx *g, int id, strbuf *body) {
    strbuf_printf(g->out, "r%d ::= %s\n", id, strbuf_str(body));
    strbuf_free(body);
    if (g->out->failed) return srv_fail(g->err, 500, "server_error", NULL, NULL, "out of memory");
    if (g->out->len > MAX_GRAMMAR) return bad(g, "the schema makes a grammar over 1 MiB%s", "");
    return true;
}

static int int_field(json_t *schema, const char *key, int fallback) {
    json_t *v = json_object_get(schema, key);
    if (!json_is_integer(v)) return fallback;
    json_int_t n = json_integer_value(v);
    return n < 0 ? 0 : n > 100000 ? 100000 : (int)n;
}

/* "{ ws KV , ws KV … }": required properties first in schema order, then optional ones. */
static bool gen_object(gen_ctx *g, json_t *schema, strbuf *body) {
    json_t *props = json_object_get(schema, "properties");
    if (!json_is_object(props) || json_object_size(props) == 0) {
        strbuf_puts(body, "object");
        return true;
    }
    if (json_object_size(props) > MAX_PROPS) return bad(g, "an object has more than 64 properties%s", "");
    json_t *required = json_object_get(schema, "required");
    if (required && !json_is_array(required)) return bad(g, "\"required\" must be an array%s", "");
    strbuf req = {0}, opt_kv[MAX_PROPS];
    int n_opt = 0, n_req = 0;
    const char *key;
    json_t *sub;
    bool ok = true;
    json_object_foreach(props, key, sub) {
        bool is_required = false;
        size_t i;
        json_t *r;
        json_array_foreach(required, i, r) is_required = is_required || (json_is_string(r) && strcmp(json_string_value(r), key) == 0);
        int id = gen(g, sub);
        if (id < 0) { ok = false; break; }
        strbuf kv = {0};
        json_t *k = json_string(key);
        ok = k && json_literal(g, &kv, k);
        json_decref(k);
        if (!ok) { strbuf_free(&kv); break; }
        strbuf_printf(&kv, " ws \":\" ws r%d ws", id);
        if (is_required) {
            strbuf_printf(&req, "%s%s", n_req ? " \",\" ws " : "", strbuf_str(&kv));
            n_req++;
            strbuf_free(&kv);
        } else {
            opt_kv[n_opt++] = kv;
        }
    }
    if (ok) {
        strbuf_puts(body, "\"{\" ws ");
        if (n_req) {
            strbuf_puts(body, strbuf_str(&req));
            for (int i = 0; i < n_opt; i++) strbuf_printf(body, " ( \",\" ws %s )?", strbuf_str(&opt_kv[i]));
        } else if (n_opt) {
            /* the first present optional property has no comma; the ones after it do */
            strbuf_puts(body, "(");
            for (int i = 0; i < n_opt; i++) {
                strbuf_printf(body, " %s%s", i ? "| " : "", strbuf_str(&opt_kv[i]));
                for (int j = i + 1; j < n_opt; j++) strbuf_printf(body, " ( \",\" ws %s )?", strbuf_str(&opt_kv[j]));
            }
            strbuf_puts(body, " )?");
        }
        strbuf_puts(body, " \"}\"");
    }
    strbuf_free(&req);
    for (int i = 0; i < n_opt; i++) strbuf_free(&opt_kv[i]);
    return ok;
}

static bool gen_array(gen_ctx *g, json_t *schema, strbuf *body) {
    json_t *items = json_object_get(schema, "items");
    int item;
    if (items && !json_is_object(items) && !json_is_boolean(items)) return bad(g, "\"items\" must be a schema%s", "");
    if (items && json_is_object(items)) {
        item = gen(g, items);
        if (item < 0) return false;
    } else {
        item = -1;
    }
    char it[32];
    if (item >= 0) snprintf(it, sizeof it, "r%d ws", item);
    else snprintf(it, sizeof it, "value ws");
    int min = int_field(schema, "minItems", 0);
    int max = int_field(schema, "maxItems", -1);
    if (min > MAX_REPEAT) return bad(g, "minItems above 64 is not supported%s", "");
    if (max > MAX_REPEAT) max = -1;
    if (max >= 0 && max < min) return bad(g, "maxItems is below minItems%s", "");
    strbuf_puts(body, "\"[\" ws ");
    if (max == 0) {
        /* only [] */
    } else if (min == 0) {
        if (max < 0) strbuf_printf(body, "( %s ( \",\" ws %s )* )?", it, it);
        else strbuf_printf(body, "( %s ( \",\" ws %s ){0,%d} )?", it, it, max - 1);
    } else {
        if (max < 0) strbuf_printf(body, "%s ( \",\" ws %s ){%d,}", it, it, min - 1);
        else strbuf_printf(body, "%s ( \",\" ws %s ){%d,%d}", it, it, min - 1, max - 1);
    }
    strbuf_puts(body, " \"]\"");
    return true;
}

static bool gen_string(gen_ctx *g, json_t *schema, strbuf *body) {
    (void)g;
    int min = int_field(schema, "minLength", 0);
    int max = int_field(schema, "maxLength", -1);
    if (min > 256) min = 256;
    if (max > 256) max = -1;
    if (max >= 0 && max < min) return bad(g, "maxLength is below minLength%s", "");
    if (max < 0 && min == 0) strbuf_puts(body, "string");
    else if (max < 0) strbuf_printf(body, "\"\\\"\" char{%d,} \"\\\"\"", min);
    else strbuf_printf(body, "\"\\\"\" char{%d,%d} \"\\\"\"", min, max);
    return true;
}

/* The body for one type name. */
static bool gen_type(gen_ctx *g, json_t *schema, const char *type, strbuf *body) {
    if (strcmp(type, "object") == 0) return gen_object(g, schema, body);
    if (strcmp(type, "array") == 0) return gen_array(g, schema, body);
    if (strcmp(type, "string") == 0) return gen_string(g, schema, body);
    if (strcmp(type, "number") == 0) return strbuf_puts(body, "number");
    if (strcmp(type, "integer") == 0) return strbuf_puts(body, "integer");
    if (strcmp(type, "boolean") == 0) return strbuf_puts(body, "boolean");
    if (strcmp(type, "null") == 0) return strbuf_puts(body, "null");
    return bad(g, "unknown type \"%s\"", type);
}

static int gen_ref(gen_ctx *g, const char *ref) {
    json_t *known = json_object_get(g->refs, ref);
    if (known) return (int)json_integer_value(known);
    const char *name = NULL;
    json_t *defs = NULL;
    if (strncmp(ref, "#/$defs/", 8) == 0) { defs = json_object_get(g->root, "$defs"); name = ref + 8; }
    else if (strncmp(ref, "#/definitions/", 14) == 0) { defs = json_object_get(g->root, "definitions"); name = ref + 14; }
    json_t *target = name ? json_object_get(defs, name) : NULL;
    if (!target) {
        bad(g, "unresolved $ref \"%.200s\" (only #/$defs/NAME and #/definitions/NAME)", ref);
        return -1;
    }
    /* the rule that names the target: its id is known before its body, for recursion */
    int id = ++g->n_rules;
    json_object_set_new(g->refs, ref, json_integer(id));
    int inner = gen(g, target);
    if (inner < 0) return -1;
    strbuf body = {0};
    strbuf_printf(&body, "r%d", inner);
    return emit_rule(g, id, &body) ? id : -1;
}

static int gen(gen_ctx *g, json_t *schema) {
    if (g->n_rules >= MAX_RULES) { bad(g, "the schema is too large%s", ""); return -1; }
    if (g->depth >= MAX_DEPTH) { bad(g, "the schema nests deeper than 32%s", ""); return -1; }
    if (json_is_true(schema)) schema = NULL;
    else if (json_is_false(schema)) { bad(g, "a false schema allows nothing%s", ""); return -1; }
    else if (!json_is_object(schema)) { bad(g, "a schema must be an object%s", ""); return -1; }

    json_t *ref = json_object_get(schema, "$ref");
    if (json_is_string(ref)) return gen_ref(g, json_string_value(ref));

    g->depth++;
    int id = ++g->n_rules;
    strbuf body = {0};
    bool ok = true;
    json_t *en = json_object_get(schema, "enum");
    json_t *cst = json_object_get(schema, "const");
    json_t *any = json_object_get(schema, "anyOf");
    if (!any) any = json_object_get(schema, "oneOf");
    json_t *all = json_object_get(schema, "allOf");
    json_t *type = json_object_get(schema, "type");
    if (!schema) {
        strbuf_puts(&body, "value");
    } else if (cst) {
        ok = json_literal(g, &body, cst);
    } else if (en) {
        if (!json_is_array(en) || json_array_size(en) == 0) ok = bad(g, "\"enum\" must be a non-empty array%s", "");
        size_t i;
        json_t *v;
        json_array_foreach(en, i, v) {
            if (!ok) break;
            if (i) strbuf_puts(&body, " | ");
            ok = json_literal(g, &body, v);
        }
    } else if (any) {
        if (!json_is_array(any) || json_array_size(any) == 0) ok = bad(g, "\"anyOf\" must be a non-empty array%s", "");
        size_t i;
        json_t *v;
        json_array_foreach(any, i, v) {
            if (!ok) break;
            int sub = gen(g, v);
            if (sub < 0) ok = false;
            else strbuf_printf(&body, "%sr%d", i ? " | " : "", sub);
        }
    } else if (all) {
        if (!json_is_array(all) || json_array_size(all) != 1) ok = bad(g, "allOf with other than one schema is not supported%s", "");
        int sub = ok ? gen(g, json_array_get(all, 0)) : -1;
        if (sub < 0) ok = false;
        else strbuf_printf(&body, "r%d", sub);
    } else if (json_is_string(type)) {
        ok = gen_type(g, schema, json_string_value(type), &body);
    } else if (json_is_array(type) && json_array_size(type) > 0) {
        size_t i;
        json_t *t;
        json_array_foreach(type, i, t) {
            if (!ok) break;
            if (!json_is_string(t)) { ok = bad(g, "\"type\" must hold names%s", ""); break; }
            strbuf one = {0};
            ok = gen_type(g, schema, json_string_value(t), &one);
            if (ok) strbuf_printf(&body, "%s( %s )", i ? " | " : "", strbuf_str(&one));
            strbuf_free(&one);
        }
    } else if (type) {
        ok = bad(g, "\"type\" must be a name or an array of names%s", "");
    } else if (json_object_get(schema, "properties")) {
        ok = gen_object(g, schema, &body);
    } else if (json_object_get(schema, "items")) {
        ok = gen_array(g, schema, &body);
    } else {
        strbuf_puts(&body, "value");
    }
    g->depth--;
    if (!ok) {
        strbuf_free(&body);
        return -1;
    }
    return emit_rule(g, id, &body) ? id : -1;
}

bool srv_schema_gbnf(json_t *schema, strbuf *rules, srv_error *err) {
    if (!schema) {
        strbuf_puts(rules, "answer ::= object\n");
    } else {
        gen_ctx g = {.out = rules, .root = schema, .refs = json_object(), .err = err};
        if (!g.refs) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
        int id = gen(&g, schema);
        json_decref(g.refs);
        if (id < 0) return false;
        strbuf_printf(rules, "answer ::= r%d\n", id);
    }
    strbuf_puts(rules, PRIMITIVES);
    if (rules->failed) return srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    return true;
}

char *srv_grammar_wrap(const char *rules, ember_mode mode, const char *chat_format, int think_chars, srv_error *err) {
    strbuf g = {0};
    if (mode == EMBER_MODE_INSTANT) {
        /* Instant opens the answer channel; Thinking and Contemplating's synthesizer reason first */
        strbuf_puts(&g, "root ::= answer\n");
    } else {
        if (think_chars < 0) think_chars = 0;
        if (think_chars > 4096) think_chars = 4096;
        if (chat_format && strcmp(chat_format, "muse-glimmer") == 0) {
            strbuf_printf(&g, "root ::= [^<]{0,%d} <|eom|> <|start|> \"assistant to=user\" <|message|> answer\n",
                           think_chars);
        } else if (chat_format && strcmp(chat_format, "chatml-think") == 0) {
            strbuf_printf(&g, "root ::= [^<]{0,%d} \"</think>\" [\\n]{0,2} answer\n", think_chars);
        } else {
            srv_fail(err, 400, "invalid_request_error", NULL, "response_format",
                     "structured output with reasoning is not available for the chat format '%s'",
                     chat_format ? chat_format : "?");
            return NULL;
        }
    }
    strbuf_puts(&g, rules);
    if (g.failed) {
        strbuf_free(&g);
        srv_fail(err, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    return strbuf_take(&g);
}
