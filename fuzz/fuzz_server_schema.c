/*
 * fuzz_server_schema.c — libFuzzer target for the JSON-schema → GBNF converter: any JSON
 * text as a schema (recursive $refs, deep nesting, huge enums), wrapped for every mode.
 */
#include "server/schema_gbnf.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *schema = json_loadb((const char *)data, size, 0, NULL);
    if (!schema) return 0;
    strbuf rules = {0};
    srv_error err;
    if (srv_schema_gbnf(schema, &rules, &err)) {
        for (int mode = 0; mode < 3; mode++) {
            char *g = srv_grammar_wrap(strbuf_str(&rules), (ember_mode)mode, "muse-glimmer", 64, &err);
            if (!g) abort();
            free(g);
        }
    } else if (err.status < 400) {
        abort();
    }
    strbuf_free(&rules);
    json_decref(schema);
    return 0;
}
