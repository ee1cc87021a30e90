/* json_text.c — JSON as the chat templates write it (see json_text.h). */
#include "chat/json_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_text_real(double d, char out[32]) {
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, 32, "%.*g", precision, d);
        if (strtod(out, NULL) == d) return;
    }
}

void json_text_real_scalar(double d, char out[32]) {
    json_text_real(d, out);
    if (!strpbrk(out, ".eEni")) strcat(out, ".0");
}

static bool write_string(strbuf *out, const char *s, size_t len) {
    bool ok = strbuf_puts(out, "\"");
    size_t run = 0;  /* bytes since the last escape, copied in one append */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char hex[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(hex, sizeof hex, "\\u%04x", c);
                esc = hex;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        ok = ok && strbuf_append(out, s + i - run, run) && strbuf_puts(out, esc);
        run = 0;
    }
    ok = ok && strbuf_append(out, s + len - run, run);
    return ok && strbuf_puts(out, "\"");
}

bool json_text_write(strbuf *out, const json_t *value, bool compact) {
    const char *item_sep = compact ? "," : ", ";
    const char *key_sep = compact ? ":" : ": ";
    char num[32];
    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        bool ok = strbuf_puts(out, "{");
        const char *key;
        json_t *item;
        bool first = true;
        json_object_foreach((json_t *)value, key, item) {
            if (!first) ok = ok && strbuf_puts(out, item_sep);
            first = false;
            ok = ok && write_string(out, key, strlen(key)) && strbuf_puts(out, key_sep) &&
                 json_text_write(out, item, compact);
        }
        return ok && strbuf_puts(out, "}");
    }
    case JSON_ARRAY: {
        bool ok = strbuf_puts(out, "[");
        for (size_t i = 0; i < json_array_size(value); i++) {
            if (i) ok = ok && strbuf_puts(out, item_sep);
            ok = ok && json_text_write(out, json_array_get(value, i), compact);
        }
        return ok && strbuf_puts(out, "]");
    }
    case JSON_STRING:
        return write_string(out, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        return strbuf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    case JSON_REAL:
        json_text_real(json_real_value(value), num);
        return strbuf_puts(out, num);
    case JSON_TRUE: return strbuf_puts(out, "true");
    case JSON_FALSE: return strbuf_puts(out, "false");
    default: return strbuf_puts(out, "null");
    }
}

char *json_text_dump(const json_t *value, bool compact) {
    strbuf out = {0};
    if (!json_text_write(&out, value, compact)) {
        strbuf_free(&out);
        return NULL;
    }
    return strbuf_take(&out);
}
