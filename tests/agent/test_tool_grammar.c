/*
 * test_tool_grammar.c — the tool-call grammar: applied from the first token (not lazily), a
 * random-weight model can only write calls that parse, to offered tools, with their
 * parameter names; and the lazy form (with its trigger) is accepted by llama.cpp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "test_support.h"

static const char TOOLS[] =
    "[{\"type\": \"function\", \"function\": {\"name\": \"calculator\", \"description\": \"math\", \"parameters\": "
    "{\"type\": \"object\", \"properties\": {\"expression\": {\"type\": \"string\"}, \"precision\": {\"type\": \"integer\"}}}}},"
    " {\"type\": \"function\", \"function\": {\"name\": \"web.search\", \"description\": \"find\", \"parameters\": "
    "{\"type\": \"object\", \"properties\": {\"query\": {\"type\": \"string\"}}}}}]";

typedef struct collected {
    char text[16384];
    int tokens;
} collected;

static ember_seq_action collect(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    collected *c = user;
    if (tok->is_eog || ++c->tokens >= 600) return EMBER_SEQ_PAUSE;
    strncat(c->text, tok->piece, sizeof c->text - strlen(c->text) - 1);
    return EMBER_SEQ_CONTINUE;
}

static void glimmer_calls_always_parse(void **state) {
    (void)state;
    char *grammar = NULL, *trigger = NULL;
    assert_int_equal(ember_tool_grammar("muse-glimmer", TOOLS, &grammar, &trigger, NULL), EMBER_OK);
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.n_ctx = 2048;
    ember_engine *e = NULL;
    assert_int_equal(ember_engine_create(&p, &e, NULL), EMBER_OK);
    for (uint32_t seed = 1; seed <= 4; seed++) {
        ember_sampling s;
        ember_sampling_init(&s);
        s.seed = seed;
        s.temperature = 1.0f;
        s.grammar = grammar;   /* always on: the model must call */
        ember_seq *seq = NULL;
        assert_int_equal(ember_seq_create(e, &s, &seq, NULL), EMBER_OK);
        collected c = {0};
        ember_seq_set_callbacks(seq, collect, NULL, &c);
        assert_int_equal(ember_seq_feed_text(seq, "<|begin_of_text|><|start|>user<|message|>hi<|eot|><|start|>assistant",
                                             true, NULL), EMBER_OK);
        ember_seq_generate(seq, NULL);
        ember_seq_wait_idle(seq, NULL);
        ember_seq_destroy(seq);
        if (c.tokens >= 600) continue;  /* a long string argument: cut, nothing to check */
        /* " to=NAME<|message|>BODY" possibly repeated with <|eom|><|start|>assistant */
        char *msg = c.text;
        while (msg) {
            assert_memory_equal(msg, " to=", 4);
            char *sep = strstr(msg, "<|message|>");
            assert_non_null(sep);
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(sep - msg - 4), msg + 4);
            assert_true(strcmp(name, "calculator") == 0 || strcmp(name, "web.search") == 0);
            char *body = sep + strlen("<|message|>");
            char *next = strstr(body, "<|eom|><|start|>assistant");
            if (next) *next = '\0';
            char *calls = NULL;
            ember_error err = {0};
            assert_int_equal(ember_tool_calls_parse("muse-glimmer", name, body, TOOLS, &calls, &err), EMBER_OK);
            json_t *arr = json_loads(calls, 0, NULL);
            assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "name")), name);
            json_t *args = json_object_get(json_array_get(arr, 0), "arguments");
            const char *key;
            json_t *v;
            json_object_foreach(args, key, v) {
                assert_true(strcmp(key, "expression") == 0 || strcmp(key, "precision") == 0 || strcmp(key, "query") == 0);
                if (strcmp(key, "precision") == 0) assert_true(json_is_integer(v));  /* the schema's type */
            }
            json_decref(arr);
            free(calls);
            msg = next ? next + strlen("<|eom|><|start|>assistant") : NULL;
        }
    }
    /* the lazy form is accepted by llama.cpp */
    ember_sampling lazy;
    ember_sampling_init(&lazy);
    lazy.grammar = grammar;
    lazy.grammar_trigger = trigger;
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, &lazy, &seq, NULL), EMBER_OK);
    ember_seq_destroy(seq);
    ember_engine_destroy(e);
    free(grammar);
    free(trigger);
}

static void chatml_grammar_and_errors(void **state) {
    (void)state;
    char *grammar = NULL, *trigger = NULL;
    assert_int_equal(ember_tool_grammar("chatml-think", TOOLS, &grammar, &trigger, NULL), EMBER_OK);
    assert_non_null(strstr(grammar, "<tool_call>"));
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("qwen3-tiny.gguf", 0);
    p.n_ctx = 1024;
    ember_engine *e = NULL;
    assert_int_equal(ember_engine_create(&p, &e, NULL), EMBER_OK);
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = grammar;
    s.grammar_trigger = trigger;
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(e, &s, &seq, NULL), EMBER_OK);
    ember_seq_destroy(seq);
    ember_engine_destroy(e);
    free(grammar);
    free(trigger);
    assert_int_equal(ember_tool_grammar("muse-glimmer", "[]", &grammar, &trigger, NULL), EMBER_ERR_INVALID);
    assert_int_equal(ember_tool_grammar("nope", TOOLS, &grammar, &trigger, NULL), EMBER_ERR_NOT_FOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glimmer_calls_always_parse),
        cmocka_unit_test(chatml_grammar_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
