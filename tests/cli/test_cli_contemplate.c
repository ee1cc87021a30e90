/*
 * test_cli_contemplate.c — Contemplating end to end on a generated model, with the agents'
 * answers forced by a grammar: the prompt is evaluated once whatever N is, forks share its
 * cells, the vote is the confidence-weighted majority, early stop triggers and frees cells,
 * the second wave starts only when the first disagrees, the synthesizer is shown every
 * distinct answer and reasons before it answers.
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

#include "test_support.h"

static json_t *contemplate(const char *agent_grammar, const char *const *extra, test_proc *proc) {
    const char *grammar = test_temp_file(agent_grammar, 1);
    /* the date and strength are fixed: the system block carries them, and seeds are chosen for
     * this prompt */
    const char *args[40] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "contemplating",
                            "--agent-grammar-file", grammar, "--max-tokens", "200", "--json", "--date", "2026-01-01",
                            "--reasoning", "medium"};
    int n = 14;
    for (int i = 0; extra[i]; i++) args[n++] = extra[i];
    args[n++] = "What is 6 times 7?";
    args[n] = NULL;
    assert_true(test_run_ember(proc, NULL, args));
    remove(grammar);
    if (proc->status != 0) fprintf(stderr, "ember failed (%d): %s\n", proc->status, proc->err);
    assert_int_equal(proc->status, 0);
    json_t *root = json_loads(proc->out, 0, NULL);
    assert_non_null(root);
    return root;
}

static int usage(json_t *root, const char *key) {
    return (int)json_integer_value(json_object_get(json_object_get(root, "usage"), key));
}

static const char FORTY_TWO[] =
    "root ::= \"x\"{3,30} <|eom|> <|start|> \"assistant to=user\" <|message|> \"The answer is 42.\"\n";

static void agents_vote_and_synthesize(void **state) {
    (void)state;
    test_proc proc;
    json_t *root = contemplate(FORTY_TWO, (const char *[]){"--agents", "3", "--no-early-stop", "--synthesis", "always",
                                                           "--seed", "11", NULL}, &proc);
    json_t *agents = json_object_get(root, "agents");
    assert_int_equal(json_array_size(agents), 3);
    size_t i;
    json_t *a;
    json_array_foreach(agents, i, a) {
        assert_string_equal(json_string_value(json_object_get(a, "answer")), "The answer is 42.");
        assert_string_equal(json_string_value(json_object_get(a, "normalized_answer")), "42");
        assert_true(json_is_string(json_object_get(a, "approach")));
        assert_true(json_integer_value(json_object_get(a, "tokens")) > 0);
        assert_true(json_real_value(json_object_get(a, "confidence")) > 0);
        assert_false(json_is_true(json_object_get(a, "stopped_early")));
    }
    json_t *vote = json_object_get(root, "vote");
    assert_string_equal(json_string_value(json_object_get(vote, "answer")), "42");
    json_t *voters = json_object_get(vote, "agents");
    assert_int_equal(json_array_size(voters), 3);
    for (size_t k = 0; k < 3; k++) assert_int_equal(json_integer_value(json_array_get(voters, k)), (json_int_t)k);
    assert_int_equal(json_integer_value(json_object_get(vote, "count")), 3);
    assert_true(json_real_value(json_object_get(vote, "share")) > 0.99);
    assert_true(json_is_true(json_object_get(vote, "synthesized")));
    /* the synthesizer was shown the one distinct answer with its three supporters, and the
     * vote; it reasoned on from there before it answered */
    json_t *synthesis = json_object_get(root, "synthesis");
    const char *brief = json_string_value(json_object_get(synthesis, "brief"));
    assert_non_null(strstr(brief, "I asked 3 independent reasoners"));
    assert_non_null(strstr(brief, "\n1. 42: 3 of them (confidence up to "));
    assert_null(strstr(brief, "\n2. "));
    assert_non_null(strstr(brief, "Confidence-weighted vote: \"42\""));
    assert_true(json_is_string(json_object_get(synthesis, "reasoning")));
    assert_true(usage(root, "reasoning_tokens") > usage(root, "answer_tokens"));
    assert_int_equal(usage(root, "prompt_tokens_evaluated"), usage(root, "prompt_tokens"));
    json_decref(root);
    test_proc_free(&proc);
}

/* Agents that agree need no synthesizer: the most confident one's answer is the answer. A vote
 * short of the consensus level is synthesized. */
static void agreement_needs_no_synthesis(void **state) {
    (void)state;
    test_proc proc;
    json_t *root = contemplate(FORTY_TWO, (const char *[]){"--agents", "3", "--no-early-stop", "--seed", "11", NULL}, &proc);
    assert_false(json_is_true(json_object_get(json_object_get(root, "vote"), "synthesized")));
    assert_string_equal(json_string_value(json_object_get(root, "answer")), "The answer is 42.");
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "synthesis"), "brief")), "");
    assert_int_equal(usage(root, "answer_tokens"), 0);
    json_decref(root);
    test_proc_free(&proc);

    const char *split =
        "root ::= \"y\"{2,12} <|eom|> <|start|> \"assistant to=user\" <|message|> \"Answer: \" (\"41\" | \"42\" | \"43\")\n";
    bool disputed = false;
    char s[8] = "";
    for (int seed = 1; seed <= 12 && !disputed; seed++) {
        snprintf(s, sizeof s, "%d", seed);
        root = contemplate(split, (const char *[]){"--agents", "3", "--no-early-stop", "--consensus", "1", "--seed", s, NULL},
                           &proc);
        json_t *vote = json_object_get(root, "vote");
        disputed = json_real_value(json_object_get(vote, "share")) < 0.999;
        assert_true(json_is_true(json_object_get(vote, "synthesized")) == disputed);
        const char *brief = json_string_value(json_object_get(json_object_get(root, "synthesis"), "brief"));
        assert_true(disputed ? strstr(brief, "Confidence-weighted vote") != NULL : brief[0] == '\0');
        json_decref(root);
        test_proc_free(&proc);
    }
    assert_true(disputed);
    /* the same dispute with synthesis "never": the vote's answer stands, in a supporter's words */
    root = contemplate(split, (const char *[]){"--agents", "3", "--no-early-stop", "--consensus", "1", "--synthesis", "never",
                                               "--seed", s, NULL}, &proc);
    json_t *vote = json_object_get(root, "vote");
    assert_false(json_is_true(json_object_get(vote, "synthesized")));
    char expected[32];
    snprintf(expected, sizeof expected, "Answer: %s", json_string_value(json_object_get(vote, "answer")));
    assert_string_equal(json_string_value(json_object_get(root, "answer")), expected);
    assert_int_equal(usage(root, "answer_tokens"), 0);
    json_decref(root);
    test_proc_free(&proc);
}

static void prompt_is_evaluated_once_whatever_n(void **state) {
    (void)state;
    test_proc p2, p6;
    json_t *two = contemplate(FORTY_TWO, (const char *[]){"--agents", "2", "--no-early-stop", "--seed", "3", NULL}, &p2);
    json_t *six = contemplate(FORTY_TWO, (const char *[]){"--agents", "6", "--no-early-stop", "--seed", "3", NULL}, &p6);
    int prompt = usage(two, "prompt_tokens");
    assert_int_equal(usage(two, "prompt_tokens_evaluated"), prompt);
    assert_int_equal(usage(six, "prompt_tokens_evaluated"), prompt);
    /* six agents hold the shared prefix once: six copies alone would need 6 * prompt cells */
    assert_true(usage(six, "kv_cells_peak") > prompt);
    assert_true(usage(six, "kv_cells_peak") < 6 * prompt);
    json_decref(two);
    json_decref(six);
    test_proc_free(&p2);
    test_proc_free(&p6);
}

static void vote_is_the_weighted_majority(void **state) {
    (void)state;
    const char *grammar =
        "root ::= \"y\"{2,12} <|eom|> <|start|> \"assistant to=user\" <|message|> \"Answer: \" (\"41\" | \"42\" | \"43\")\n";
    for (int seed = 1; seed <= 2; seed++) {
        char s[8];
        snprintf(s, sizeof s, "%d", seed);
        test_proc proc;
        json_t *root = contemplate(grammar, (const char *[]){"--agents", "5", "--no-early-stop", "--seed", s, NULL}, &proc);
        const char *names[3] = {"41", "42", "43"};
        double weight[3] = {0};
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(root, "agents"), i, a) {
            const char *ans = json_string_value(json_object_get(a, "normalized_answer"));
            for (int k = 0; k < 3; k++)
                if (strcmp(ans, names[k]) == 0) weight[k] += json_real_value(json_object_get(a, "confidence"));
        }
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (weight[k] > weight[best]) best = k;
        json_t *vote = json_object_get(root, "vote");
        assert_string_equal(json_string_value(json_object_get(vote, "answer")), names[best]);
        double total = weight[0] + weight[1] + weight[2];
        assert_float_equal(json_real_value(json_object_get(vote, "share")), weight[best] / total, 1e-3);
        json_decref(root);
        test_proc_free(&proc);
    }
}

/* An agent that never leaves its reasoning still reports the answer the vote read there. */
static void answer_read_from_reasoning(void **state) {
    (void)state;
    test_proc proc;
    json_t *root = contemplate("root ::= \"x\"{3,10} \"\\nAnswer: 7\"\n",
                               (const char *[]){"--agents", "2", "--no-early-stop", "--seed", "5", NULL}, &proc);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(root, "agents"), i, a) {
        assert_string_equal(json_string_value(json_object_get(a, "answer_from")), "reasoning");
        assert_non_null(strstr(json_string_value(json_object_get(a, "reasoning")), "xxx\nAnswer: 7"));
        assert_string_equal(json_string_value(json_object_get(a, "answer")), "7");
        assert_string_equal(json_string_value(json_object_get(a, "normalized_answer")), "7");
    }
    json_t *vote = json_object_get(root, "vote");
    assert_string_equal(json_string_value(json_object_get(vote, "answer")), "7");
    assert_int_equal(json_array_size(json_object_get(vote, "agents")), 2);
    json_decref(root);
    test_proc_free(&proc);
}

static void early_stop_saves_tokens(void **state) {
    (void)state;
    const char *grammar =
        "root ::= \"z\"{1,150} <|eom|> <|start|> \"assistant to=user\" <|message|> \"The answer is 42.\"\n";
    int stopped_total = 0;
    for (int seed = 1; seed <= 3 && stopped_total == 0; seed++) {
        char s[8];
        snprintf(s, sizeof s, "%d", seed);
        test_proc proc;
        json_t *root = contemplate(grammar, (const char *[]){"--agents", "6", "--consensus", "0.5", "--seed", s, NULL}, &proc);
        int stopped = 0;
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(root, "agents"), i, a) {
            if (!json_is_true(json_object_get(a, "stopped_early"))) continue;
            stopped++;
            const char *why = json_string_value(json_object_get(a, "stop_reason"));
            assert_true(strcmp(why, "consensus") == 0 || strcmp(why, "low_confidence") == 0);
        }
        if (stopped) assert_true(usage(root, "tokens_saved") > 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(root, "vote"), "answer")), "42");
        stopped_total += stopped;
        json_decref(root);
        test_proc_free(&proc);
    }
    assert_true(stopped_total > 0);
}

/* The first wave is the confidence warm-up: all of its agents answer, and only the second
 * wave's agents stop for falling below the threshold the first set. */
static void the_first_wave_sets_the_threshold(void **state) {
    (void)state;
    const char *grammar =
        "root ::= \"w\"{70,160} <|eom|> <|start|> \"assistant to=user\" <|message|> \"Answer: \" (\"41\" | \"42\" | \"43\")\n";
    int cut = 0;
    for (int seed = 1; seed <= 6 && cut == 0; seed++) {
        char s[8];
        snprintf(s, sizeof s, "%d", seed);
        test_proc proc;
        json_t *root = contemplate(grammar, (const char *[]){"--agents", "8", "--keep-fraction", "0.1", "--max-tokens",
                                                             "300", "--seed", s, NULL}, &proc);
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(root, "agents"), i, a) {
            const char *why = json_string_value(json_object_get(a, "stop_reason"));
            if (i < 4) assert_string_equal(why, "finished");
            else cut += strcmp(why, "low_confidence") == 0;
        }
        json_decref(root);
        test_proc_free(&proc);
    }
    assert_true(cut > 0);
}

/* Early stop starts two of four agents; the other two start only if these two disagree. */
static void second_wave_starts_only_without_consensus(void **state) {
    (void)state;
    const char *grammar =
        "root ::= \"y\"{2,12} <|eom|> <|start|> \"assistant to=user\" <|message|> \"Answer: \" (\"41\" | \"42\" | \"43\")\n";
    bool seen_agreement = false, seen_dispute = false;
    for (int seed = 1; seed <= 12 && !(seen_agreement && seen_dispute); seed++) {
        char s[8];
        snprintf(s, sizeof s, "%d", seed);
        test_proc proc;
        json_t *root = contemplate(grammar, (const char *[]){"--agents", "4", "--first-wave", "2", "--consensus", "1",
                                                             "--seed", s, NULL}, &proc);
        json_t *agents = json_object_get(root, "agents");
        assert_int_equal(json_array_size(agents), 4);
        const char *first = json_string_value(json_object_get(json_array_get(agents, 0), "normalized_answer"));
        const char *second = json_string_value(json_object_get(json_array_get(agents, 1), "normalized_answer"));
        bool agree = strcmp(first, second) == 0;
        for (size_t i = 2; i < 4; i++) {
            json_t *a = json_array_get(agents, i);
            int tokens = (int)json_integer_value(json_object_get(a, "tokens"));
            if (agree) {
                assert_int_equal(tokens, 0);
                assert_true(json_is_true(json_object_get(a, "stopped_early")));
                assert_string_equal(json_string_value(json_object_get(a, "stop_reason")), "consensus");
            } else {
                assert_true(tokens > 0);
            }
        }
        if (agree) assert_string_equal(json_string_value(json_object_get(json_object_get(root, "vote"), "answer")), first);
        seen_agreement = seen_agreement || agree;
        seen_dispute = seen_dispute || !agree;
        json_decref(root);
        test_proc_free(&proc);
    }
    assert_true(seen_agreement);
    assert_true(seen_dispute);
}

/* A grammar for the final answer (structured output) binds the synthesizer only, so with one
 * the synthesizer writes the answer even when the agents agree; with synthesis "never" the
 * grammar could shape nothing, and the run refuses it. */
static void a_grammar_always_synthesizes(void **state) {
    (void)state;
    const char *final = test_temp_file(
        "root ::= \"I check.\" <|eom|> <|start|> \"assistant to=user\" <|message|> \"{\\\"answer\\\": 42}\"\n", 2);
    test_proc proc;
    json_t *root = contemplate(FORTY_TWO, (const char *[]){"--agents", "3", "--no-early-stop", "--seed", "11",
                                                           "--grammar-file", final, NULL}, &proc);
    json_t *vote = json_object_get(root, "vote");
    assert_true(json_real_value(json_object_get(vote, "share")) > 0.99);  /* they agree */
    assert_true(json_is_true(json_object_get(vote, "synthesized")));
    assert_string_equal(json_string_value(json_object_get(root, "answer")), "{\"answer\": 42}");
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "synthesis"), "reasoning")), "I check.");
    json_decref(root);
    test_proc_free(&proc);

    const char *agents = test_temp_file(FORTY_TWO, 3);
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "contemplating", "--agents", "2",
                          "--agent-grammar-file", agents, "--grammar-file", final, "--synthesis", "never",
                          "--max-tokens", "50", "What is 6 times 7?", NULL};
    assert_true(test_run_ember(&proc, NULL, args));
    assert_int_not_equal(proc.status, 0);
    assert_non_null(strstr(proc.err, "synthesis 'never'"));
    test_proc_free(&proc);
    remove(final);
    remove(agents);
}

/* The sum of the numbers written just before each occurrence of `phrase` in `text`. */
static int counts_before(const char *text, const char *phrase) {
    int sum = 0;
    for (const char *p = strstr(text, phrase); p; p = strstr(p + 1, phrase)) {
        const char *q = p;
        while (q > text && q[-1] >= '0' && q[-1] <= '9') q--;
        sum += atoi(q);
    }
    return sum;
}

/* Many agents whose reasoning runs to the token limit: the synthesizer's brief (every answer
 * and an excerpt of every reasoning) once outgrew the context after all agents had finished
 * ("5489 tokens do not fit the context"); it is now cut to the room the context has left. */
static void many_agents_brief_fits_the_room(void **state) {
    (void)state;
    test_proc proc;
    json_t *root = contemplate("root ::= [a-z ]{600,3000}\n",
                               (const char *[]){"--agents", "16", "--no-early-stop", "--synthesis", "always", "--seed", "3", "-c", "3072",
                                                "--max-tokens", "100", NULL}, &proc);
    assert_int_equal(json_array_size(json_object_get(root, "agents")), 16);
    const char *brief = json_string_value(json_object_get(json_object_get(root, "synthesis"), "brief"));
    assert_non_null(brief);
    assert_non_null(strstr(brief, "I asked 16 independent reasoners"));
    /* every agent is accounted for: as a supporter of a listed answer or as stopped */
    assert_int_equal(counts_before(brief, " of them (confidence up to ") + counts_before(brief, " stopped without an answer"),
                     16);
    assert_true(usage(root, "prompt_tokens") > 0);
    json_decref(root);
    test_proc_free(&proc);
}

/* The brief keeps to the model's training context (4096 for the generated model) even when the
 * run's is four times larger: the 16 agents' longest excerpts (320 bytes each) would fit 16384
 * cells, but past the positions a model was trained on they are noise to it, so a shorter
 * size (excerpts of 160 bytes) is shown. */
static void brief_keeps_to_the_training_context(void **state) {
    (void)state;
    test_proc proc;
    json_t *root = contemplate("root ::= [a-z ]{600,3000}\n",
                               (const char *[]){"--agents", "16", "--no-early-stop", "--synthesis", "always", "--seed", "3", "-c", "16384",
                                                "--max-tokens", "100", NULL}, &proc);
    const char *brief = json_string_value(json_object_get(json_object_get(root, "synthesis"), "brief"));
    assert_non_null(brief);
    int excerpts = 0;
    for (const char *p = strstr(brief, "reasoning excerpt: "); p; p = strstr(p + 1, "reasoning excerpt: ")) {
        const char *end = strchr(p, '\n');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        excerpts++;
        assert_true(len < 200);  /* "reasoning excerpt: …" and at most 160 bytes */
    }
    assert_true(excerpts > 0);
    json_decref(root);
    test_proc_free(&proc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agents_vote_and_synthesize),
        cmocka_unit_test(agreement_needs_no_synthesis),
        cmocka_unit_test(a_grammar_always_synthesizes),
        cmocka_unit_test(prompt_is_evaluated_once_whatever_n),
        cmocka_unit_test(vote_is_the_weighted_majority),
        cmocka_unit_test(answer_read_from_reasoning),
        cmocka_unit_test(early_stop_saves_tokens),
        cmocka_unit_test(second_wave_starts_only_without_consensus),
        cmocka_unit_test(the_first_wave_sets_the_threshold),
        cmocka_unit_test(many_agents_brief_fits_the_room),
        cmocka_unit_test(brief_keeps_to_the_training_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
