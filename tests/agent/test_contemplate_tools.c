/*
 * test_contemplate_tools.c — Contemplating agents call every tool the run can run, not only
 * zoom. A grammar makes each agent call (the random-weight model could not otherwise): the
 * call runs, its result goes into that agent's own branch, the agent resumes (and calls again,
 * which its one allowed round then ends). A slow tool (python sleeping) pauses only the agent
 * that called it: the others' tools run at the same time and the others keep decoding.
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
#include <time.h>

#include "ember.h"
#include "test_support.h"

#define CALL(tool, param, value)                                                                               \
    "\" to=" tool "\" <|message|> \"<atem:function_calls>\\n<atem:invoke name=\\\"" tool "\\\">\\n"             \
    "<atem:parameter name=\\\"" param "\\\">" value "</atem:parameter>\\n</atem:invoke>\\n</atem:function_calls>\"\n"

static const char CALC_GRAMMAR[] = "root ::= \"a\"{3} <|eom|> <|start|> \"assistant\" " CALL("calculator", "expression", "6*7");
static const char MIXED_GRAMMAR[] = "root ::= \"a\"{3} <|eom|> <|start|> \"assistant\" (fast | slow)\n"
                                    "fast ::= " CALL("calculator", "expression", "6*7")
                                    "slow ::= " CALL("python", "code", "import time; time.sleep(5); print(6*7)");

enum { MAX_EVENTS = 4096, AGENTS = 3 };

typedef struct timed_event {
    ember_event_type type;
    int agent;
    double t;          /* seconds since the run started */
    char name[32];
    char text[64];
} timed_event;

typedef struct timeline {
    double t0;
    timed_event ev[MAX_EVENTS];
    int n;
} timeline;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Events of one run never arrive concurrently (ember_event_fn), so no lock. */
static void on_event(const ember_event *ev, void *user) {
    timeline *tl = user;
    if (tl->n == MAX_EVENTS) return;
    timed_event *e = &tl->ev[tl->n++];
    *e = (timed_event){.type = ev->type, .agent = ev->agent, .t = now_s() - tl->t0};
    snprintf(e->name, sizeof e->name, "%s", ev->name ? ev->name : "");
    snprintf(e->text, sizeof e->text, "%s", ev->text ? ev->text : "");
}

/* The k-th (0-based) event of `type` for `agent`, or NULL. */
static const timed_event *nth(const timeline *tl, ember_event_type type, int agent, int k) {
    for (int i = 0; i < tl->n; i++)
        if (tl->ev[i].type == type && tl->ev[i].agent == agent && k-- == 0) return &tl->ev[i];
    return NULL;
}

static int count(const timeline *tl, ember_event_type type, int agent) {
    int n = 0;
    while (nth(tl, type, agent, n)) n++;
    return n;
}

static ember_engine *open_engine(void) {
    ember_engine_params p;
    ember_engine_params_init(&p);
    p.model_path = test_model("glimmer-tiny.gguf", 0);
    p.n_ctx = 8192;
    p.n_seq_max = 8;
    ember_engine *e = NULL;
    assert_int_equal(ember_engine_create(&p, &e, NULL), EMBER_OK);
    return e;
}

static ember_tools *open_tools(const char *list) {
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    ember_tools *tools = NULL;
    assert_int_equal(ember_tools_create(&opt, &tools, NULL), EMBER_OK);
    assert_int_equal(ember_tools_enable(tools, list, NULL), EMBER_OK);
    return tools;
}

static ember_result *contemplate(ember_engine *e, ember_tools *tools, const char *grammar, uint32_t seed, timeline *tl) {
    ember_chat *chat = ember_chat_create();
    assert_non_null(chat);
    assert_int_equal(ember_chat_add(chat, EMBER_ROLE_USER, "What is 6*7?", NULL), EMBER_OK);
    ember_run_params p;
    ember_run_params_init(&p);
    p.mode = EMBER_MODE_CONTEMPLATING;
    p.agents = AGENTS;
    p.early_stop = false;
    p.max_tool_steps = 1;
    p.tools = tools;
    p.agent_grammar = grammar;
    /* the synthesizer reasons, then answers */
    p.sampling.grammar = "root ::= \"I check.\" <|eom|> <|start|> \"assistant to=user\" <|message|> \"42.\"";
    p.sampling.seed = seed;
    p.current_date = "2026-01-01";
    memset(tl, 0, sizeof *tl);
    tl->t0 = now_s();
    ember_result *r = NULL;
    ember_error err = {0};
    ember_status status = ember_run_chat(e, chat, &p, on_event, tl, &r, &err);
    if (status != EMBER_OK) fprintf(stderr, "%s\n", err.message);
    assert_int_equal(status, EMBER_OK);
    ember_chat_destroy(chat);
    return r;
}

/* Every agent calls the calculator once it may: the call ran for it, its result was announced
 * for it (before it went on) and recorded with its call, and it resumed on its branch (its
 * second round is the call its step limit ends it with). */
static void every_agent_runs_its_calculator_call(void **state) {
    (void)state;
    ember_engine *e = open_engine();
    ember_tools *tools = open_tools("calculator");
    static timeline tl;
    ember_result *r = contemplate(e, tools, CALC_GRAMMAR, 5, &tl);
    for (int a = 0; a < AGENTS; a++) {
        assert_int_equal(count(&tl, EMBER_EVENT_TOOL_CALL, a), 2);
        assert_int_equal(count(&tl, EMBER_EVENT_TOOL_RESULT, a), 1);
        const timed_event *call = nth(&tl, EMBER_EVENT_TOOL_CALL, a, 0), *result = nth(&tl, EMBER_EVENT_TOOL_RESULT, a, 0),
                          *again = nth(&tl, EMBER_EVENT_TOOL_CALL, a, 1);
        assert_string_equal(result->name, "calculator");
        assert_string_equal(result->text, "42");
        assert_true(call < result && result < again);  /* announced before the agent went on */
        assert_non_null(nth(&tl, EMBER_EVENT_AGENT_FINISHED, a, 0));
    }
    assert_int_equal(count(&tl, EMBER_EVENT_TOOL_RESULT, -1), 0);
    char *json = ember_result_json(r);
    json_t *root = json_loads(json, 0, NULL);
    json_t *calls = json_object_get(root, "tool_calls");
    assert_int_equal(json_array_size(calls), 2 * AGENTS);
    int with_output[AGENTS] = {0};
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        int a = (int)json_integer_value(json_object_get(c, "agent"));
        assert_true(a >= 0 && a < AGENTS);
        const char *out = json_string_value(json_object_get(c, "output"));
        if (out) {
            assert_string_equal(out, "42");
            with_output[a]++;
        }
    }
    for (int a = 0; a < AGENTS; a++) assert_int_equal(with_output[a], 1);
    json_t *agents = json_object_get(root, "agents");
    assert_int_equal(json_array_size(agents), AGENTS);
    assert_string_equal(ember_result_answer(r), "42.");
    json_decref(root);
    free(json);
    ember_result_destroy(r);
    /* the agents' cells are all free again */
    ember_engine_stats st;
    ember_engine_get_stats(e, &st);
    assert_int_equal(st.kv_cells_used, 0);
    ember_tools_destroy(tools);
    ember_engine_destroy(e);
}

/* Agents that call python (5 s asleep: wide enough for the calculator agents to write their
 * next call meanwhile on a loaded machine under ASan, where 2.5 s failed 3 runs in 5) and
 * agents that call the calculator, in one run: the
 * sleeps run at the same time (their call-to-result spans overlap), and a calculator agent goes
 * on decoding — its second call is written — while a python agent sleeps. Which agent takes
 * which branch is the sampler's choice, so seeds are tried until a run mixes both. */
static void a_slow_tool_stalls_only_its_own_agent(void **state) {
    (void)state;
    ember_engine *e = open_engine();
    ember_tools *tools = open_tools("calculator,python");
    static timeline tl;
    bool mixed = false;
    for (uint32_t seed = 1; seed <= 12 && !mixed; seed++) {
        ember_result *r = contemplate(e, tools, MIXED_GRAMMAR, seed, &tl);
        int slow[AGENTS], n_slow = 0, fast[AGENTS], n_fast = 0;
        for (int a = 0; a < AGENTS; a++) {
            const timed_event *result = nth(&tl, EMBER_EVENT_TOOL_RESULT, a, 0);
            assert_non_null(result);
            assert_true(strcmp(result->text, "42") == 0 || strcmp(result->text, "42\n") == 0);
            if (strcmp(result->name, "python") == 0) slow[n_slow++] = a;
            else fast[n_fast++] = a;
        }
        mixed = n_slow > 0 && n_fast > 0;
        if (mixed) {
            for (int s = 0; s < n_slow; s++) {
                assert_non_null(nth(&tl, EMBER_EVENT_TOOL_CALL, slow[s], 0));
                double asleep = nth(&tl, EMBER_EVENT_TOOL_CALL, slow[s], 0)->t;
                double woke = nth(&tl, EMBER_EVENT_TOOL_RESULT, slow[s], 0)->t;
                assert_true(woke - asleep >= 4.9);
                for (int f = 0; f < n_fast; f++) {  /* decoded on while the python agent slept */
                    const timed_event *again = nth(&tl, EMBER_EVENT_TOOL_CALL, fast[f], 1);
                    assert_non_null(again);
                    assert_true(again->t > asleep && again->t < woke);
                }
                for (int o = 0; o < n_slow; o++) {  /* the sleeps overlapped */
                    double other = nth(&tl, EMBER_EVENT_TOOL_CALL, slow[o], 0)->t;
                    assert_true(other < woke);
                }
            }
        }
        ember_result_destroy(r);
    }
    assert_true(mixed);
    ember_tools_destroy(tools);
    ember_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_agent_runs_its_calculator_call),
        cmocka_unit_test(a_slow_tool_stalls_only_its_own_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
