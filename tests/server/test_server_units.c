/*
 * test_server_units.c — the server's parts that need no HTTP: the request parser (fields,
 * mapping, every kind of 4xx), the JSON-schema → GBNF converter (each grammar is handed to
 * llama.cpp through a sequence of the generated model, which refuses one that does not
 * parse), the admission gate and the metrics text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/gate.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/schema_gbnf.h"
#include "test_support.h"

static const srv_request_limits LIMITS = {.chat_format = "muse-glimmer", .max_agents = 8, .n_ctx = 4096};

static bool parse(const char *body, srv_request *req, srv_error *err) {
    memset(err, 0, sizeof *err);
    return srv_request_parse(body, strlen(body), &LIMITS, req, err);
}

static void expect_error(const char *body, int status, const char *param, const char *needle) {
    srv_request req;
    srv_error err;
    if (parse(body, &req, &err)) {
        fprintf(stderr, "accepted: %s\n", body);
        srv_request_free(&req);
        fail();
    }
    assert_int_equal(err.status, status);
    if (param) assert_string_equal(err.param, param);
    if (needle && !strstr(err.message, needle)) {
        fprintf(stderr, "message '%s' lacks '%s'\n", err.message, needle);
        fail();
    }
    char *json = srv_error_json(&err);
    assert_non_null(strstr(json, "\"error\""));
    free(json);
}

static void request_fields_are_mapped(void **state) {
    (void)state;
    srv_request req;
    srv_error err;
    assert_true(parse("{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"sys\"},"
                      "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},"
                      "{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"r\",\"tool_calls\":[{\"id\":\"c1\","
                      "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}}]},"
                      "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"out\"}],"
                      "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_completion_tokens\":77,"
                      "\"temperature\":0.5,\"top_p\":0.9,\"seed\":-1,\"stop\":\"END\",\"reasoning_effort\":\"high\","
                      "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}],"
                      "\"user\":\"ignored\",\"frequency_penalty\":0}", &req, &err));
    assert_string_equal(req.model, "m");
    assert_int_equal(req.n_messages, 4);
    assert_int_equal(req.messages[0].role, EMBER_ROLE_SYSTEM);
    assert_string_equal(req.messages[1].content, "a\nb");
    assert_string_equal(req.messages[2].content, "");
    assert_string_equal(req.messages[2].reasoning, "r");
    assert_int_equal(req.messages[2].n_calls, 1);
    assert_string_equal(req.messages[2].calls[0].arguments, "{\"x\":1}");
    assert_string_equal(req.messages[3].tool_name, "f");
    assert_true(req.stream);
    assert_true(req.include_usage);
    assert_int_equal(req.max_tokens, 77);
    assert_true(req.has_temperature && req.has_top_p && req.has_seed);
    assert_int_equal(req.seed, UINT32_MAX);
    assert_int_equal(req.n_stop, 1);
    assert_string_equal(req.stop[0], "END");
    assert_int_equal(req.mode, EMBER_MODE_THINKING);
    assert_int_equal(req.reasoning, EMBER_REASONING_HIGH);
    assert_non_null(req.tools_json);
    assert_false(req.ember_events);
    srv_request_free(&req);

    assert_true(parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"minimal\"}", &req, &err));
    assert_int_equal(req.mode, EMBER_MODE_INSTANT);
    srv_request_free(&req);

    assert_true(parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":{\"mode\":\"contemplating\","
                      "\"agents\":3,\"think_budget\":64,\"early_stop\":false,\"consensus\":0.5,\"reasoning\":\"xhigh\","
                      "\"first_wave\":2,\"synthesis\":\"never\"},"
                      "\"tool_choice\":\"none\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}", &req, &err));
    assert_int_equal(req.mode, EMBER_MODE_CONTEMPLATING);
    assert_int_equal(req.agents, 3);
    assert_int_equal(req.think_budget, 64);
    assert_false(req.early_stop);
    assert_true(req.consensus > 0.49f && req.consensus < 0.51f);
    assert_int_equal(req.first_wave, 2);
    assert_int_equal(req.synthesis, EMBER_SYNTHESIS_NEVER);
    assert_int_equal(req.reasoning, EMBER_REASONING_XHIGH);
    assert_null(req.tools_json);   /* tool_choice none: not offered */
    assert_true(req.ember_events);
    srv_request_free(&req);

    /* an image part: decoded bytes, and the marker where it stood */
    assert_true(parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
                      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,aGVsbG8=\"}}]}]}", &req, &err));
    assert_int_equal(req.messages[0].n_images, 1);
    assert_int_equal(req.messages[0].images[0].len, 5);
    assert_memory_equal(req.messages[0].images[0].data, "hello", 5);
    assert_string_equal(req.messages[0].content, "look\n" EMBER_IMAGE_MARKER);
    srv_request_free(&req);

    /* Contemplating without a count gets the default */
    assert_true(parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":{\"mode\":\"contemplating\"}}", &req, &err));
    assert_int_equal(req.agents, 4);
    srv_request_free(&req);
}

static void request_errors_name_the_field(void **state) {
    (void)state;
    expect_error("", 400, "", "not valid JSON");
    expect_error("[1,2]", 400, "", "object");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"a\":1,\"a\":2}", 400, "", "JSON");
    expect_error("{}", 400, "messages", "required");
    expect_error("{\"messages\":{}}", 400, "messages", "array");
    expect_error("{\"messages\":[1]}", 400, "messages[0]", "object");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":{\"synthesis\":\"sometimes\"}}", 400,
                 "ember.synthesis", "disputed, always or never");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":{\"first_wave\":0}}", 400,
                 "ember.first_wave", NULL);
    /* structured output shapes Contemplating's synthesizer: "never" would leave it unused */
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"},"
                 "\"ember\":{\"mode\":\"contemplating\",\"synthesis\":\"never\"}}",
                 400, "ember.synthesis", "only the synthesizer");
    expect_error("{\"messages\":[{\"content\":\"x\"}]}", 400, "messages[0].role", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\"}]}", 400, "messages[0].content", "required");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}",
                 400, "messages[0].content[0]", "data: URLs");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,@@@\"}}]}]}",
                 400, "messages[0].content[0]", "base64");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,\"}}]}]}",
                 400, "messages[0].content[0]", "base64");   /* empty: found by fuzz_server_request (a leak) */
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"image_url\","
                 "\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]},{\"role\":\"user\",\"content\":\"y\"}]}",
                 400, "messages[1].content[0]", "user and tool");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]}", 400, NULL, "not supported");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"x\"}]}]}", 400, "messages[0].content[0]", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"y\"}]}", 400,
                 "messages", "last message");
    expect_error("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\",\"tool_call_id\":\"zz\"}]}", 400, "messages[0]", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":3}", 400, "model", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", 400, "max_tokens", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":99999999999}", 400, "max_tokens", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":-1}", 400, "temperature", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":\"a\"}", 400, "top_p", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":\"a\"}", 400, "seed", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"\"]}", 400, "stop", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":3}", 400, "n", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":[]}", 400, "ember", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":{\"mode\":\"dreaming\"}}", 400, "ember.mode", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":{\"agents\":9}}", 400, "ember.agents", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"ember\":{\"consensus\":2}}", 400, "ember.consensus", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}", 400, "tools", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}]}",
                 400, "tools[0]", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"maybe\"}", 400, "tool_choice", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\"}}", 400,
                 "response_format.json_schema", NULL);
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
                 "\"json_schema\":{\"schema\":{\"type\":\"object\",\"properties\":{\"a\":false}}}}}", 400, NULL, "false schema");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
                 "\"json_schema\":{\"schema\":{\"$ref\":\"#/$defs/none\"}}}}", 400, NULL, "unresolved");
    expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"x\\u0000y\"}]}", 400, NULL, NULL);  /* jansson refuses \\u0000 */
}

/* ---- schema → GBNF, checked by llama.cpp itself ----------------------------------------- */

static ember_engine *engine;

static int setup_engine(void **state) {
    (void)state;
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.n_ctx = 512;
    p.n_threads = 1;
    ember_error err = {0};
    if (ember_engine_create(&p, &engine, &err) != EMBER_OK) {
        fprintf(stderr, "engine: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown_engine(void **state) {
    (void)state;
    ember_engine_destroy(engine);
    return 0;
}

/* The grammar of a json_schema request in `mode`; llama.cpp must accept it. */
/* Error messages quote the request (the JSON parser's excerpt, a function's name) and may cut
 * it inside a character: the error's JSON is still made, with U+FFFD there. */
static void error_messages_cut_inside_a_character(void **state) {
    (void)state;
    expect_error("{\"messages\":\"q\\\xe3\x82\xa2\"}", 400, NULL, "not valid JSON");
    srv_request req;
    srv_error err;
    char body[512], name[80];
    memset(name, 'a', 63);
    snprintf(name + 63, sizeof name - 63, "\xc3\xa9");  /* "é" across the message's 64-byte cut */
    snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
             "\"function\":{\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"%s\"}}}", name);
    assert_true(parse(body, &req, &err));
    assert_int_equal(req.tool_choice, SRV_TOOLS_FUNCTION);
    assert_false(srv_request_check_tool_choice(&req, NULL, &err));
    assert_int_equal(err.status, 400);
    assert_string_equal(err.param, "tool_choice");
    char *json = srv_error_json(&err);
    assert_non_null(json);
    assert_true(strstr(json, "\\ufffd") || strstr(json, "\\uFFFD"));
    free(json);
    assert_false(srv_request_check_tool_choice(&req, "[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", &err));
    srv_request_free(&req);
}

static void check_schema(const char *schema, ember_mode mode) {
    char body[4096];
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"%s\","
             "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"t\",\"schema\":%s}}}",
             mode == EMBER_MODE_INSTANT ? "none" : "low", schema);
    srv_request req;
    srv_error err;
    if (!parse(body, &req, &err)) {
        fprintf(stderr, "refused %s: %s\n", schema, err.message);
        fail();
    }
    assert_non_null(req.grammar);
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = req.grammar;
    ember_seq *seq = NULL;
    ember_error eerr = {0};
    ember_status st = ember_seq_create(engine, &s, &seq, &eerr);
    if (st != EMBER_OK) fprintf(stderr, "llama.cpp refused the grammar of %s:\n%s\n", schema, req.grammar);
    assert_int_equal(st, EMBER_OK);
    ember_seq_destroy(seq);
    srv_request_free(&req);
}

static void schemas_become_grammars_llama_accepts(void **state) {
    (void)state;
    static const char *const schemas[] = {
        "{}",
        "{\"type\":\"object\"}",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"]}",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"boolean\"},\"c\":{\"type\":\"null\"}}}",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]}",
        "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4},\"minItems\":1,\"maxItems\":3}",
        "{\"type\":\"array\",\"minItems\":2}",
        "{\"enum\":[\"red\",\"green\",1,null,{\"k\":\"v\\\"q\"}]}",
        "{\"const\":\"fixed\\n\"}",
        "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
        "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"array\",\"items\":{\"type\":\"number\"}}]}",
        "{\"type\":[\"string\",\"null\"]}",
        "{\"allOf\":[{\"type\":\"integer\"}]}",
        "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
        "\"next\":{\"anyOf\":[{\"$ref\":\"#/$defs/node\"},{\"type\":\"null\"}]}},\"required\":[\"v\"]}},\"$ref\":\"#/$defs/node\"}",
        "{\"definitions\":{\"x\":{\"type\":\"string\",\"format\":\"date\"}},\"type\":\"object\",\"properties\":{\"d\":{\"$ref\":\"#/definitions/x\"}}}",
        "{\"properties\":{\"ünïcödé key\":{\"type\":\"string\"}}}",
        "{\"type\":\"string\",\"minLength\":3}",
    };
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        check_schema(schemas[i], EMBER_MODE_INSTANT);
        check_schema(schemas[i], EMBER_MODE_THINKING);
    }
    /* json_object and a raw ember.grammar */
    srv_request req;
    srv_error err;
    assert_true(parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"}}", &req, &err));
    ember_sampling s;
    ember_sampling_init(&s);
    s.grammar = req.grammar;
    ember_seq *seq = NULL;
    assert_int_equal(ember_seq_create(engine, &s, &seq, NULL), EMBER_OK);
    ember_seq_destroy(seq);
    srv_request_free(&req);
}

static void schema_details(void **state) {
    (void)state;
    strbuf rules = {0};
    srv_error err;
    json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]}", 0, NULL);
    assert_true(srv_schema_gbnf(schema, &rules, &err));
    assert_non_null(strstr(strbuf_str(&rules), "answer ::= r"));
    assert_non_null(strstr(strbuf_str(&rules), "\"\\\"a\\\"\""));   /* the key as a literal */
    json_decref(schema);
    strbuf_free(&rules);
    /* deep nesting is refused, not overflowed */
    strbuf deep = {0};
    for (int i = 0; i < 40; i++) strbuf_puts(&deep, "{\"type\":\"array\",\"items\":");
    strbuf_puts(&deep, "{}");
    for (int i = 0; i < 40; i++) strbuf_puts(&deep, "}");
    schema = json_loads(strbuf_str(&deep), 0, NULL);
    assert_false(srv_schema_gbnf(schema, &rules, &err));
    assert_int_equal(err.status, 400);
    json_decref(schema);
    strbuf_free(&rules);
    strbuf_free(&deep);
    /* an unknown format cannot be wrapped for Thinking */
    assert_null(srv_grammar_wrap("answer ::= \"x\"\n", EMBER_MODE_THINKING, "nope", 10, &err));
    char *g = srv_grammar_wrap("answer ::= \"x\"\n", EMBER_MODE_THINKING, "chatml-think", 10, &err);
    assert_non_null(strstr(g, "</think>"));
    free(g);
    /* Contemplating's synthesizer reasons before it answers too; Instant does not */
    g = srv_grammar_wrap("answer ::= \"x\"\n", EMBER_MODE_CONTEMPLATING, "muse-glimmer", 10, &err);
    assert_non_null(strstr(g, "<|eom|>"));
    free(g);
    g = srv_grammar_wrap("answer ::= \"x\"\n", EMBER_MODE_INSTANT, "muse-glimmer", 10, &err);
    assert_string_equal(g, "root ::= answer\nanswer ::= \"x\"\n");
    free(g);
}

/* ---- the gate --------------------------------------------------------------------------- */

typedef struct waiter_arg {
    srv_gate *gate;
    int seqs, cells;
    srv_gate_result result;
    int order;
    int *counter;
    pthread_mutex_t *mu;
} waiter_arg;

static void *waiter(void *p) {
    waiter_arg *a = p;
    a->result = srv_gate_enter(a->gate, a->seqs, a->cells, NULL, NULL);
    pthread_mutex_lock(a->mu);
    a->order = (*a->counter)++;
    pthread_mutex_unlock(a->mu);
    return NULL;
}

static bool always_gone(void *user) {
    (void)user;
    return true;
}

static void gate_admits_in_order_and_refuses_when_full(void **state) {
    (void)state;
    srv_gate g;
    srv_gate_init(&g, 2, 2, 8, 1000);
    assert_int_equal(srv_gate_enter(&g, 1, 400, NULL, NULL), SRV_GATE_ENTERED);
    assert_int_equal(srv_gate_enter(&g, 1, 400, NULL, NULL), SRV_GATE_ENTERED);
    /* both slots taken: two may wait, in order; the third is refused */
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int counter = 0;
    waiter_arg a = {&g, 1, 500, 0, -1, &counter, &mu}, b = {&g, 1, 100, 0, -1, &counter, &mu};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, waiter, &a);
    while (1) {
        int runs, seqs, cells, waiting;
        srv_gate_snapshot(&g, &runs, &seqs, &cells, &waiting);
        if (waiting == 1) break;
        usleep(1000);
    }
    pthread_create(&tb, NULL, waiter, &b);
    while (1) {
        int runs, seqs, cells, waiting;
        srv_gate_snapshot(&g, &runs, &seqs, &cells, &waiting);
        if (waiting == 2) break;
        usleep(1000);
    }
    assert_int_equal(srv_gate_enter(&g, 1, 1, NULL, NULL), SRV_GATE_FULL);
    /* one leaves: 600 cells free, a (500) goes first even though b (100) would also fit later */
    srv_gate_leave(&g, 1, 400);
    pthread_join(ta, NULL);
    assert_int_equal(a.result, SRV_GATE_ENTERED);
    assert_int_equal(a.order, 0);
    srv_gate_leave(&g, 1, 400);
    pthread_join(tb, NULL);
    assert_int_equal(b.result, SRV_GATE_ENTERED);
    srv_gate_leave(&g, 1, 500);
    srv_gate_leave(&g, 1, 100);
    int runs, seqs, cells, waiting;
    srv_gate_snapshot(&g, &runs, &seqs, &cells, &waiting);
    assert_int_equal(runs + seqs + cells + waiting, 0);
    /* a waiter whose client left gives up */
    assert_int_equal(srv_gate_enter(&g, 1, 1000, NULL, NULL), SRV_GATE_ENTERED);
    assert_int_equal(srv_gate_enter(&g, 1, 1, always_gone, NULL), SRV_GATE_GONE);
    srv_gate_stop(&g);
    assert_int_equal(srv_gate_enter(&g, 1, 1, NULL, NULL), SRV_GATE_GONE);
    srv_gate_destroy(&g);
}

static void metrics_render_prometheus_text(void **state) {
    (void)state;
    srv_metrics m;
    srv_metrics_init(&m);
    srv_metrics_request(&m, 200);
    srv_metrics_request(&m, 200);
    srv_metrics_request(&m, 429);
    srv_metrics_observe(&m, SRV_HIST_TTFT, 0.02);
    srv_metrics_observe(&m, SRV_HIST_TTFT, 1000);
    srv_metrics_tokens(&m, 10, 6, 3, 4);
    srv_gauges g = {.queue_depth = 2, .seqs_active = 1, .n_ctx = 4096};
    strbuf out = {0};
    srv_metrics_render(&m, &g, &out);
    const char *t = strbuf_str(&out);
    assert_non_null(strstr(t, "ember_http_requests_total{code=\"200\"} 2\n"));
    assert_non_null(strstr(t, "ember_http_requests_total{code=\"429\"} 1\n"));
    assert_non_null(strstr(t, "ember_ttft_seconds_bucket{le=\"0.025\"} 1\n"));
    assert_non_null(strstr(t, "ember_ttft_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(t, "ember_ttft_seconds_count 2\n"));
    assert_non_null(strstr(t, "ember_completion_tokens_total 7\n"));
    assert_non_null(strstr(t, "ember_prompt_tokens_cached_total 6\n"));
    assert_non_null(strstr(t, "ember_queue_depth 2\n"));
    assert_non_null(strstr(t, "# TYPE ember_decode_seconds_per_delta histogram\n"));
    strbuf_free(&out);
    srv_metrics_destroy(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_fields_are_mapped),
        cmocka_unit_test(request_errors_name_the_field),
        cmocka_unit_test(error_messages_cut_inside_a_character),
        cmocka_unit_test(schema_details),
        cmocka_unit_test(gate_admits_in_order_and_refuses_when_full),
        cmocka_unit_test(metrics_render_prometheus_text),
        cmocka_unit_test_setup_teardown(schemas_become_grammars_llama_accepts, setup_engine, teardown_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
