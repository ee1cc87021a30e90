/*
 * synthesis.c — training examples for Contemplating's synthesizer. A run's synthesizer forks
 * the prompt (reasoning channel open), is fed the brief (the agents' distinct answers,
 * confidences, reasoning excerpts and the confidence-weighted vote; agent/brief.c) as its
 * reasoning so far, reasons on, and writes the final answer. A model that never saw a brief
 * answers noise there, so ember train writes the same text from simulated agents: each is
 * right with a probability drawn per example, its excerpt is the problem's real trace (a
 * wrong one ends on its wrong value, the slips ember-nano makes: a sign, a hundred, a digit),
 * some agents stop early on low confidence without an answer, and the vote is tallied as the
 * run tallies it. The synthesizer's reasoning checks the candidates in the brief's order
 * (arith_verification: additions and one product, not the sign decisions the agents slip
 * on) and answers the first that checks, or the vote's winner when none does; the answer is
 * written as the agents write theirs ("47 + 385 = 432"). Checking is easier than solving, so
 * agents that disagree converge on the right answer even when most of them are wrong.
 */
#include "train/examples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/brief.h"
#include "agent/result.h"
#include "agent/vote.h"
#include "core/error.h"

enum { MAX_AGENTS = 8 };

static long wrong_value(long v, uint64_t r) {
    static const long deltas[] = {1, 10, 100, 2, 20, 9, 11, 1000, 200, 4};
    if (r % 11 == 10 && v != 0) return -v;
    const long d = deltas[r % 11 % 10];
    return (r >> 4) % 2 ? v + d : v - d;
}

/* The trace with its last read-back ("=V") and "answer V" replaced by value w. */
static void trace_ending_in(const char *trace, long w, strbuf *out) {
    const char *last = NULL;
    for (const char *p = trace; (p = strstr(p, "\n=")); p++) last = p;
    if (last) strbuf_append(out, trace, (size_t)(last - trace));
    strbuf_printf(out, "\n=%ld\nanswer %ld", w, w);
}

static float uniform(uint64_t r, float lo, float hi) {
    return lo + (hi - lo) * (float)(r % 10000) / 10000.0f;
}

ember_status train_example_synthesis(const train_kit *kit, const arith_problem *p, uint64_t variant,
                                     train_example *ex, ember_error *err) {
    memset(ex, 0, sizeof *ex);
    strbuf question = {0}, expr = {0}, trace = {0}, check = {0}, final = {0};
    arith_question(p, variant, &question);
    arith_canonical(p, &expr);
    arith_reasoning(p, kit->trace, variant, false, &trace);
    const long value = arith_answer(p);

    uint64_t r = arith_mix(variant ^ 0x5157ull);
    const int n = 2 + (int)(r % (MAX_AGENTS - 1));
    const float p_right = uniform(r >> 8, 0.25f, 0.9f);
    result_agent agents[MAX_AGENTS];
    const char *answers[MAX_AGENTS];
    float weights[MAX_AGENTS];
    memset(agents, 0, sizeof agents);
    bool any_finished = false;
    for (int i = 0; i < n; i++) {
        r = arith_mix(r + (uint64_t)i);
        result_agent *a = &agents[i];
        const bool right = uniform(r, 0, 1) < p_right;
        const long v = right ? value : wrong_value(value, r >> 16);
        /* the last agent finishes when none did, so the vote has a winner; one stopped early
         * has no answer (neither the brief nor the vote reads a cut one) */
        const bool early = (r >> 40) % 100 < 15 && (any_finished || i < n - 1);
        if (!early) {
            strbuf answer = {0};
            strbuf_printf(&answer, "%s = %ld", strbuf_str(&expr), v);
            a->normalized = ember_answer_normalize(strbuf_str(&answer));
            strbuf_free(&answer);
        }
        if (right) strbuf_puts(&a->reasoning, strbuf_str(&trace));
        else trace_ending_in(strbuf_str(&trace), v, &a->reasoning);
        a->finished = !early;
        a->stopped_early = early;
        a->stop_reason = early ? "low_confidence" : "finished";
        a->confidence = early ? uniform(r >> 20, 9.4f, 10.1f) : uniform(r >> 20, 10.0f, 10.9f);  /* ember-nano's range */
        answers[i] = a->finished ? a->normalized : NULL;
        weights[i] = a->confidence;
        any_finished |= a->finished;
    }
    const vote_outcome v = vote_tally(answers, weights, n);
    /* the longer briefs mostly, as a run with room shows them */
    static const int size_of[] = {2, 2, 2, 3, 3, 3, 4, 5};
    char *brief = brief_write(agents, n, v, size_of[(r >> 24) % 8]);
    const char *listed[MAX_AGENTS];
    long candidates[MAX_AGENTS];
    const int k = brief_answers(agents, n, listed);
    for (int j = 0; j < k; j++) candidates[j] = strtol(listed[j], NULL, 10);
    if (brief && k >= 0 && v.winner >= 0) {
        const long chosen = arith_verification(p, candidates, k, strtol(agents[v.winner].normalized, NULL, 10),
                                               kit->trace, variant, &check);
        strbuf_printf(&final, "%s%s%s = %ld%s", strbuf_str(&check), TRAIN_CLOSE_REASONING, strbuf_str(&expr), chosen,
                      TRAIN_TURN_END);
    }
    for (int i = 0; i < n; i++) {
        free(agents[i].normalized);
        strbuf_free(&agents[i].reasoning);
    }

    ember_status st = final.len ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    char *prompt = NULL;
    if (st == EMBER_OK) st = train_render_question(strbuf_str(&question), EMBER_OPEN_REASONING, &prompt, err);
    if (st == EMBER_OK) {
        ex->seg[0] = (train_segment){prompt, 0.0f};
        ex->seg[1] = (train_segment){brief, 0.0f};
        ex->seg[2] = (train_segment){strbuf_take(&final), 1.0f};
        ex->n = 3;
        prompt = brief = NULL;
        if (!ex->seg[2].text) {
            train_example_free(ex);
            st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
        }
    }
    free(prompt);
    free(brief);
    strbuf_free(&question);
    strbuf_free(&expr);
    strbuf_free(&trace);
    strbuf_free(&check);
    strbuf_free(&final);
    return st;
}
